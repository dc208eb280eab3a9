//! Snapshots of rendered diagnostics, through the public API only.

use std::collections::HashMap;
use std::sync::Arc;

use exp_diagnostics::{render, Code, Diagnostic, RenderStyle};
use exp_syntax::Span;

const MAIN: &str = "\
use std.probes.{accuracy}
experiment quick {
    batch = 64
    optimizer = adamw(lr: 1e-3, momentum: 0.9)
    batch = 128
}
";

const OPTIM: &str = "\
/// Adam with decoupled weight decay.
optimizer adamw(lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 0.01) {
    state m = 0, v = 0
}
";

fn sources() -> HashMap<&'static str, Arc<str>> {
    HashMap::from([("main.exp", Arc::from(MAIN)), ("std/optim.exp", Arc::from(OPTIM))])
}

/// The span of the `nth` occurrence (0-based) of `needle` in `text`.
fn find(text: &str, needle: &str, nth: usize) -> Span {
    let start = text.match_indices(needle).nth(nth).expect("needle in text").0;
    Span::new(start, start + needle.len())
}

fn plain(diags: &[Diagnostic]) -> String {
    render(diags, &sources(), RenderStyle { color: false, unicode: true, width: 80 })
}

#[test]
fn primary_and_secondary_in_one_file() {
    let d = Diagnostic::error(
        Code::DuplicateField,
        "field `batch` is set twice",
        "main.exp",
        find(MAIN, "batch", 1),
        "set again here",
    )
    .with_secondary("main.exp", find(MAIN, "batch", 0), "first set here")
    .with_help("remove one of the two settings");
    insta::assert_snapshot!(plain(&[d]), @r"
    error[duplicate-field]

      × field `batch` is set twice
       ╭─[main.exp:5:5]
     2 │ experiment quick {
     3 │     batch = 64
       ·     ──┬──
       ·       ╰── first set here
     4 │     optimizer = adamw(lr: 1e-3, momentum: 0.9)
     5 │     batch = 128
       ·     ──┬──
       ·       ╰── set again here
     6 │ }
       ╰────
      help: remove one of the two settings
    ");
}

#[test]
fn secondary_in_another_file() {
    let d = Diagnostic::error(
        Code::UnknownArgument,
        "`adamw` has no parameter `momentum`",
        "main.exp",
        find(MAIN, "momentum", 0),
        "unknown argument",
    )
    .with_secondary("std/optim.exp", find(OPTIM, "adamw", 0), "`adamw` is declared here")
    .with_help("the parameters of `adamw` are `lr`, `betas`, `eps` and `weight_decay`");
    insta::assert_snapshot!(plain(std::slice::from_ref(&d)), @r"
    error[unknown-argument]

      × `adamw` has no parameter `momentum`
       ╭─[main.exp:4:33]
     3 │     batch = 64
     4 │     optimizer = adamw(lr: 1e-3, momentum: 0.9)
       ·                                 ────┬───
       ·                                     ╰── unknown argument
     5 │     batch = 128
       ╰────
      help: the parameters of `adamw` are `lr`, `betas`, `eps` and `weight_decay`

      ☞ `adamw` is declared here
       ╭─[std/optim.exp:2:11]
     1 │ /// Adam with decoupled weight decay.
     2 │ optimizer adamw(lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 0.01) {
       ·           ─────
     3 │     state m = 0, v = 0
       ╰────
    ");
    let ascii = render(&[d], &sources(), RenderStyle { color: false, unicode: false, width: 80 });
    insta::assert_snapshot!(ascii, @r"
    error[unknown-argument]

      x `adamw` has no parameter `momentum`
       ,-[main.exp:4:33]
     3 |     batch = 64
     4 |     optimizer = adamw(lr: 1e-3, momentum: 0.9)
       :                                 ^^^^|^^^
       :                                     `-- unknown argument
     5 |     batch = 128
       `----
      help: the parameters of `adamw` are `lr`, `betas`, `eps` and `weight_decay`

      > `adamw` is declared here
       ,-[std/optim.exp:2:11]
     1 | /// Adam with decoupled weight decay.
     2 | optimizer adamw(lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 0.01) {
       :           ^^^^^
     3 |     state m = 0, v = 0
       `----
    ");
}

#[test]
fn warnings_and_several_diagnostics() {
    let w = Diagnostic::new(
        Code::UnusedImport,
        "unused import `accuracy`",
        "main.exp",
        find(MAIN, "accuracy", 0),
        "never used",
    );
    let e = Diagnostic::error(Code::InvalidValue, "`batch` must be positive", "main.exp", Span::point(3), "");
    let m = Diagnostic::error(Code::UnknownName, "unknown name `x`", "gone.exp", Span::new(3, 4), "here");
    insta::assert_snapshot!(plain(&[w, e, m]), @r"
    warning[unused-import]

      ⚠ unused import `accuracy`
       ╭─[main.exp:1:17]
     1 │ use std.probes.{accuracy}
       ·                 ────┬───
       ·                     ╰── never used
     2 │ experiment quick {
       ╰────

    error[invalid-value]

      × `batch` must be positive
       ╭─[main.exp:1:4]
     1 │ use std.probes.{accuracy}
       ·    ▲
     2 │ experiment quick {
       ╰────

    error[unknown-name]

      × unknown name `x`
      in `gone.exp` (source text not available)
    ");
}

#[test]
fn several_labels_in_another_file_keep_their_texts() {
    let d = Diagnostic::error(
        Code::DuplicateDefinition,
        "`adamw` is declared twice",
        "main.exp",
        find(MAIN, "adamw", 0),
        "used here",
    )
    .with_secondary("std/optim.exp", find(OPTIM, "adamw", 0), "first declaration")
    .with_secondary("std/optim.exp", find(OPTIM, "state", 0), "state of the first")
    .with_secondary("std/gone.exp", Span::new(0, 4), "second declaration");
    insta::assert_snapshot!(plain(&[d]), @r"
    error[duplicate-definition]

      × `adamw` is declared twice
       ╭─[main.exp:4:17]
     3 │     batch = 64
     4 │     optimizer = adamw(lr: 1e-3, momentum: 0.9)
       ·                 ──┬──
       ·                   ╰── used here
     5 │     batch = 128
       ╰────

      ☞ in `std/optim.exp`
       ╭─[std/optim.exp:2:11]
     1 │ /// Adam with decoupled weight decay.
     2 │ optimizer adamw(lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 0.01) {
       ·           ──┬──
       ·             ╰── first declaration
     3 │     state m = 0, v = 0
       ·     ──┬──
       ·       ╰── state of the first
     4 │ }
       ╰────

      ☞ second declaration
      in `std/gone.exp` (source text not available)
    ");
}

#[test]
fn spans_past_the_end_of_stale_text_still_render() {
    // The language server may render a diagnostic computed from a longer version of the file.
    let len = MAIN.len();
    let d = Diagnostic::error(
        Code::SyntaxError,
        "expected `}`, found end of file",
        "main.exp",
        Span::new(len + 5, len + 9),
        "here",
    );
    insta::assert_snapshot!(plain(&[d]), @r"
    error[syntax-error]

      × expected `}`, found end of file
       ╭─[main.exp:6:2]
     5 │     batch = 128
     6 │ }
       ·  ▲
       ·  ╰── here
       ╰────
    ");
}

#[test]
fn style_selects_colour_and_width() {
    let d = Diagnostic::error(
        Code::InvalidValue,
        "`batch` must be positive",
        "main.exp",
        find(MAIN, "128", 0),
        "not positive",
    )
    .with_help(
        "a batch size is a number of samples, so it must be at least 1; try `batch = 64` or any other positive integer",
    );
    let coloured = render(std::slice::from_ref(&d), &sources(), RenderStyle { color: true, unicode: true, width: 80 });
    assert!(coloured.contains("\u{1b}["), "no ANSI escape in {coloured:?}");
    let narrow = render(&[d], &sources(), RenderStyle { color: false, unicode: true, width: 40 });
    assert!(!narrow.contains('\u{1b}'));
    let help: Vec<_> = narrow.lines().skip_while(|l| !l.contains("help:")).collect();
    assert!(help.len() > 2, "help should wrap at 40 columns: {narrow}");
    assert!(help.iter().all(|l| l.chars().count() <= 40), "{narrow}");
}
