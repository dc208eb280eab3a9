//! The parse corpus: `tests/parse/ok/*.exp` must parse cleanly, `tests/parse/err/*.exp` must
//! not; both are snapshot-tested, and the formatter is checked on every ok file.
//!
//! - ok files: a snapshot of `exp_syntax::dump` (the tree with spans) and one of the
//!   formatted text; formatting is idempotent, keeps every `//` comment in order, and the
//!   formatted text parses to the same tree (compared as span-free dumps);
//! - err files: a snapshot of the errors (line:col, message, help) and of the names of the
//!   items that still parsed; each file has at least one error and formats to itself;
//! - properties: `parse` never panics on random text or on random edits of the ok files, and
//!   whatever parses cleanly formats idempotently to something that parses to the same tree.
//!
//! Snapshots live in `tests/snapshots/` as `parse-ok-*`, `parse-fmt-*` and `parse-err-*`.

use exp_syntax::ast::File;
use exp_syntax::{dump, dump_without_spans, format, line_col, parse};
use exp_tests::{corpus, stem};
use proptest::prelude::*;

/// Snapshot settings: files in `tests/snapshots/`, named without the module path, with the
/// input in the header so that each snapshot can be reviewed on its own.
fn snapshot(name: String, input: &str, value: String) {
    insta::with_settings!({
        snapshot_path => "../snapshots",
        prepend_module_to_snapshot => false,
        description => input,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, value);
    });
}

/// Every corpus file of `kind` with its text.
fn files(kind: &str) -> Vec<(String, String)> {
    corpus(&format!("parse/{kind}"))
        .iter()
        .map(|p| (stem(p), std::fs::read_to_string(p).expect("corpus file is readable")))
        .collect()
}

/// The span-free tree without the comment lines, which formatting may re-indent.
fn shape(file: &File) -> String {
    dump_without_spans(file).lines().filter(|l| !l.starts_with("comment ")).collect::<Vec<_>>().join("\n")
}

/// The checks every cleanly parsed text must pass; an `Err` describes the first failure.
fn check_format(text: &str, file: &File) -> Result<String, String> {
    let out = format(file, text);
    let again = parse(&out);
    if !again.errors.is_empty() {
        return Err(format!("formatted text does not parse: {:?}\n{out}", again.errors));
    }
    if shape(&again) != shape(file) {
        return Err(format!("formatting changed the tree:\n{out}"));
    }
    let texts = |f: &File| f.comments.iter().map(|c| c.text.trim_end().to_string()).collect::<Vec<_>>();
    if texts(&again) != texts(file) {
        return Err(format!("comments changed: {:?} -> {:?}\n{out}", texts(file), texts(&again)));
    }
    let twice = format(&again, &out);
    if twice != out {
        return Err(format!("formatting is not idempotent:\n{out}\n---- second pass ----\n{twice}"));
    }
    Ok(out)
}

#[test]
fn parse_ok_corpus() {
    let files = files("ok");
    assert!(files.len() >= 15, "the ok corpus should hold at least 15 files, found {}", files.len());
    for (name, text) in &files {
        let file = parse(text);
        assert!(file.errors.is_empty(), "{name}.exp should parse cleanly: {:?}", file.errors);
        assert!(!file.items.is_empty(), "{name}.exp has no items");
        snapshot(format!("parse-ok-{name}"), text, dump(&file));
        // A broken item at the end forces the per-item path, which must build the same tree
        // with the same spans as the whole-file parse.
        let broken = parse(&format!("{text}\nfn broken( = 1\n"));
        assert_eq!(broken.errors.len(), 1, "{name}.exp + a broken item: {:?}", broken.errors);
        assert!(broken.items == file.items, "{name}.exp: per-item parsing built a different tree");
        let formatted = check_format(text, &file).unwrap_or_else(|e| panic!("{name}.exp: {e}"));
        snapshot(format!("parse-fmt-{name}"), text, formatted);
    }
}

/// The errors of a file with the items that survived, as a reviewer reads them.
fn error_report(text: &str, file: &File) -> String {
    let mut out = String::new();
    for e in &file.errors {
        let (line, col) = line_col(text, e.span.start as usize);
        out.push_str(&format!("{line}:{col}: error: {}\n", e.message));
        if let Some(help) = &e.help {
            out.push_str(&format!("  help: {help}\n"));
        }
    }
    let names: Vec<&str> = file.items.iter().filter_map(|i| i.name()).map(|n| n.name.as_str()).collect();
    out.push_str(&format!("parsed items: [{}]\n", names.join(", ")));
    out
}

#[test]
fn parse_err_corpus() {
    let files = files("err");
    assert!(files.len() >= 15, "the err corpus should hold at least 15 files, found {}", files.len());
    let mut messages = std::collections::BTreeSet::new();
    for (name, text) in &files {
        let file = parse(text);
        assert!(!file.errors.is_empty(), "{name}.exp should have a syntax error");
        assert_eq!(format(&file, text), *text, "{name}.exp: a file with errors formats to itself");
        messages.insert(file.errors[0].message.clone());
        snapshot(format!("parse-err-{name}"), text, error_report(text, &file));
    }
    // The cases are distinct mistakes, so they should mostly produce distinct headlines.
    assert!(messages.len() >= 15, "only {} distinct first messages: {messages:?}", messages.len());
}

#[test]
fn two_broken_items_keep_the_good_ones() {
    let text = files("err").into_iter().find(|(n, _)| n == "two_broken_items").expect("corpus file").1;
    let file = parse(&text);
    assert_eq!(file.errors.len(), 2, "{:?}", file.errors);
    let names: Vec<&str> = file.items.iter().filter_map(|i| i.name()).map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["good", "also_good"]);
}

/// Parses `text`; if it parsed cleanly, also runs the formatter checks.
fn never_panics(text: &str) -> Result<(), TestCaseError> {
    let file = parse(text);
    if file.errors.is_empty() {
        check_format(text, &file).map_err(TestCaseError::fail)?;
    }
    Ok(())
}

/// One edit of a text: delete, insert or swap at a position (taken modulo the length).
#[derive(Clone, Debug)]
enum Edit {
    Delete(usize),
    Insert(usize, char),
    Swap(usize),
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for edit in edits {
        let n = chars.len().max(1);
        match *edit {
            Edit::Delete(i) if !chars.is_empty() => {
                chars.remove(i % n);
            }
            Edit::Insert(i, c) => chars.insert(i % (chars.len() + 1), c),
            Edit::Swap(i) if chars.len() >= 2 => {
                let i = i % (chars.len() - 1);
                chars.swap(i, i + 1);
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

fn edit() -> impl Strategy<Value = Edit> {
    let interesting = prop::sample::select(
        &['(', ')', '{', '}', '[', ']', ',', '=', '"', '\n', '/', '.', ' ', 'x', '1', '-', '<', '\\'][..],
    );
    prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), interesting).prop_map(|(i, c)| Edit::Insert(i, c)),
        (any::<usize>(), any::<char>()).prop_map(|(i, c)| Edit::Insert(i, c)),
        any::<usize>().prop_map(Edit::Swap),
    ]
}

/// Random expressions written with a parenthesis around every compound part, so that they
/// parse to trees of any shape; the formatter must then find the minimal parentheses.
fn any_expr() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(&["a", "b", "x", "1", "2.5", "1e-3", "3 steps", "\"s\"", "true", "()"][..])
        .prop_map(String::from);
    leaf.prop_recursive(5, 48, 3, |inner| {
        let op = prop::sample::select(
            &["or", "and", "==", "!=", "<", "<=", ">", ">=", ">>", "+", "-", "*", "/", "%", "^"][..],
        );
        let e = inner.clone();
        prop_oneof![
            (e.clone(), op, e.clone()).prop_map(|(l, op, r)| format!("({l} {op} {r})")),
            e.clone().prop_map(|x| format!("(-{x})")),
            e.clone().prop_map(|x| format!("(not {x})")),
            (e.clone(), e.clone()).prop_map(|(l, r)| format!("({l}..{r})")),
            e.clone().prop_map(|x| format!("(x => {x})")),
            e.clone().prop_map(|x| format!("((a, b) => {x})")),
            (e.clone(), e.clone(), e.clone()).prop_map(|(c, t, f)| format!("(if {c} {{ {t} }} else {{ {f} }})")),
            e.clone().prop_map(|x| format!("({x}).f")),
            e.clone().prop_map(|x| format!("({x}).0")),
            (e.clone(), e.clone(), e.clone()).prop_map(|(f, a, b)| format!("({f})({a}, k: {b})")),
            (e.clone(), e.clone()).prop_map(|(a, i)| format!("({a})[{i}]")),
            (e.clone(), e.clone()).prop_map(|(a, b)| format!("[{a}, {b}]")),
            (e.clone(), e.clone()).prop_map(|(a, b)| format!("({a}, {b})")),
            e.clone().prop_map(|x| format!("({x},)")),
            (e.clone(), e.clone()).prop_map(|(x, it)| format!("[{x} for x in {it}]")),
            (e.clone(), e.clone()).prop_map(|(x, it)| format!("f({x} for x in {it})")),
            (e.clone(), e.clone()).prop_map(|(n, b)| format!("(repeat {n} {{ {b} }})")),
            (e.clone(), e).prop_map(|(v, r)| format!("{{ let v = {v}; {r} }}")),
        ]
    })
}

proptest! {
    // 256 cases by default; set PROPTEST_CASES for a longer run.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn formatting_keeps_the_tree_of_random_expressions(e in any_expr()) {
        let text = format!("fn f() = {e}\nexperiment x {{ v = {e} }}\n");
        let file = parse(&text);
        prop_assert!(file.errors.is_empty(), "{text}: {:?}", file.errors);
        check_format(&text, &file).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn parse_never_panics_on_random_text(text in "\\PC{0,300}") {
        never_panics(&text)?;
    }

    #[test]
    fn parse_never_panics_on_token_soup(tokens in prop::collection::vec(prop::sample::select(exp_tests::TOKENS), 0..80)) {
        never_panics(&tokens.join(" "))?;
    }

    #[test]
    fn parse_never_panics_on_edited_ok_files(pick in any::<prop::sample::Index>(), edits in prop::collection::vec(edit(), 1..6)) {
        let files = files("ok");
        let (_, text) = pick.get(&files);
        never_panics(&apply(text, &edits))?;
    }
}
