//! Every item kind, checked on the span-free dump; spans and comments checked directly.

use crate::ast::*;
use crate::{dump, dump_without_spans, parse, Span};

/// The span-free dump of a file that must parse cleanly.
fn tree(text: &str) -> String {
    let file = parse(text);
    assert!(file.errors.is_empty(), "{text}: {:?}", file.errors);
    dump_without_spans(&file)
}

#[test]
fn use_forms() {
    let got = tree("use std.probes.{accuracy, loss}\nuse std.optim.adamw\nuse std.data.*\nuse \"lib/c.exp\"\nuse \"lib/c.exp\".{mlp,}\nuse \"m.exp\".*");
    let want = "\
use
  path `std`.`probes`
  names `accuracy`, `loss`
use
  path `std`.`optim`.`adamw`
use
  path `std`.`data`
  glob
use
  file \"lib/c.exp\"
use
  file \"lib/c.exp\"
  names `mlp`
use
  file \"m.exp\"
  glob
";
    assert_eq!(got, want);
}

#[test]
fn declarations() {
    let got = tree(
        "/// Doc.\n///\n///   indented\nfn selu(x) = builtin\n\
         block b(fs: [Block], pair: (Float, Float) = (1, 2), one: (Int,)): [B, 2 * p] -> [B, p] { x }\n\
         data d = idx()\ndata e() = builtin\nloss l = builtin\nschedule s(w: Steps = 0 steps) = step\n\
         probe acc(on: Split): Float = builtin\nmetric m: [Int] = builtin",
    );
    let want = "\
fn `selu`
  docs \"Doc.\\n\\n  indented\"
  param `x`
  builtin
block `b`
  param `fs`: [`Block`]
  param `pair`: (`Float`, `Float`)
    Tuple
      Int 1
      Int 2
  param `one`: (`Int`)
  signature
    input
      Name `B`
      Binary Mul
        Int 2
        Name `p`
    output
      Name `B`
      Name `p`
  Block
    Name `x`
data `d`
  Call
    Name `idx`
data `e`
  params ()
  builtin
loss `l`
  builtin
schedule `s`
  param `w`: `Steps`
    Quantity Steps
      Int 0
  Name `step`
probe `acc`
  param `on`: `Split`
  signature `Float`
  builtin
metric `m`
  signature [`Int`]
  builtin
";
    assert_eq!(got, want);
}

#[test]
fn optimizer_statements() {
    let got = tree("optimizer o(lr: Float = 0.1, base: Optimizer) {\n state m = 0, v = 1\n let d = g * lr; p = p - d\n base\n}\noptimizer bare { p = p }");
    let want = "\
optimizer `o`
  param `lr`: `Float`
    Float 0.1
  param `base`: `Optimizer`
  state
    slot `m`
      Int 0
    slot `v`
      Int 1
  let `d`
    Binary Mul
      Name `g`
      Name `lr`
  assign `p`
    Binary Sub
      Name `p`
      Name `d`
  apply
    Name `base`
optimizer `bare`
  assign `p`
    Name `p`
";
    assert_eq!(got, want);
}

#[test]
fn experiment_and_sweep_statements() {
    let got = tree(
        "experiment e extends base {\n optimizer.lr = 3e-4; data = d\n probe every 10 steps { acc = a(); }\n stop when acc > 0.5\n}\n\
         sweep s over e { optimizer.lr in [1, 2]; jobs = 4; minimize loss_value; maximize acc }",
    );
    let want = "\
experiment `e` extends `base`
  field `optimizer`.`lr`
    Float 0.0003
  field `data`
    Name `d`
  probe every
    Quantity Steps
      Int 10
    probe `acc`
      Call
        Name `a`
  stop when
    Binary Gt
      Name `acc`
      Float 0.5
sweep `s` over `e`
  axis `optimizer`.`lr`
    List
      Int 1
      Int 2
  setting `jobs`
    Int 4
  minimize `loss_value`
  maximize `acc`
";
    assert_eq!(got, want);
}

#[test]
fn spans_cover_exactly_the_written_text() {
    let text = "/// Doc.\nfn f(x) { let y = x // c\n y }\nexperiment e {\n  seed = 0 // s\n}\n";
    let file = parse(text);
    assert!(file.errors.is_empty());
    let slice = |s: Span| &text[s.range()];
    assert_eq!(slice(file.items[0].span), "fn f(x) { let y = x // c\n y }");
    let ItemKind::Decl(d) = &file.items[0].kind else { panic!("not a decl") };
    let Body::Expr(block) = &d.body else { panic!("builtin") };
    assert_eq!(slice(block.span), "{ let y = x // c\n y }");
    let ExprKind::Block { lets, .. } = &block.kind else { panic!("not a block") };
    assert_eq!(slice(lets[0].span), "let y = x");
    let ItemKind::Experiment(x) = &file.items[1].kind else { panic!("not an experiment") };
    let ExpStmt::Field { span, .. } = &x.body[0] else { panic!("not a field") };
    assert_eq!(slice(*span), "seed = 0");
    assert!(dump(&file).contains("let `y`@23..24 @19..28"), "{}", dump(&file));
}

#[test]
fn comments_are_collected_but_docs_and_strings_are_not() {
    let text = "// one\r\n/// doc\n//// four\nfn f() = \"// not a comment\" // two\n";
    let file = parse(text);
    assert!(file.errors.is_empty());
    let texts: Vec<&str> = file.comments.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, ["// one", "//// four", "// two"]);
    assert_eq!(file.comments[0].span, Span::new(0, 6));
    assert_eq!(file.items[0].docs.as_deref(), Some("doc"));
}

#[test]
fn keywords_are_allowed_where_no_binding_is_made() {
    // Field paths, names after `.`, `use` paths and sweep settings may be keywords.
    let text = "use std.data.{loss}\nexperiment e { data = x.data; optimizer.lr = 1 }\nsweep s over e { loss in [a]; state = 1 }";
    assert!(parse(text).errors.is_empty());
    // Item keywords are names outside item headers.
    for good in ["fn data() = 1", "probe loss(on: Split): Float = builtin", "fn f() = loss(on: data.test)"] {
        assert!(parse(good).errors.is_empty(), "{good}");
    }
    for bad in ["fn in() = 1", "fn f(if) = 1", "fn f() = x => let", "fn f() = [x for in in xs]"] {
        assert_eq!(parse(bad).errors.len(), 1, "{bad}");
    }
}

#[test]
fn empty_and_comment_only_files_have_no_items() {
    for text in ["", "\n\n", "// just a comment\n", "  \t\r\n"] {
        let file = parse(text);
        assert!(file.items.is_empty() && file.errors.is_empty(), "{text:?}");
    }
}
