//! Incrementality: an edit inside one item's body re-checks that item and the items that
//! use it, and nothing else. Salsa's executed queries are recorded and counted.

use exp_db::RootDb;

const PROGRAM: &str = r#"
use std.probes.accuracy
use std.data.gaussian_mixture

/// A scalar function nobody else uses.
fn twice(x) = 2.0 * x

fn halve(x) = x / 2.0

block net(classes: Int): [B, D] -> [B, classes] {
    flatten >> linear(32) >> relu >> linear(classes)
}

data blobs = gaussian_mixture(dim: 4, classes: 3, n: 300)

experiment small {
    data = blobs
    model = net(classes: 3)
    loss = cross_entropy
    optimizer = sgd(lr: 0.1)
    batch = 32
    train = 100 steps
    probe every 10 steps { acc = accuracy(on: blobs.test) }
}
"#;

fn executed(db: &RootDb, query: &str) -> usize {
    db.take_log().iter().filter(|l| l.starts_with(&format!("{query}("))).count()
}

fn check_all(db: &RootDb) -> usize {
    let file = db.file("main.exp").expect("file was added");
    exp_hir::file_diagnostics(db, file).len()
}

#[test]
fn editing_one_body_rechecks_only_that_item() {
    let mut db = RootDb::default();
    db.set_file("main.exp", PROGRAM);
    assert_eq!(check_all(&db), 0, "the program is clean");
    db.start_logging();
    assert_eq!(check_all(&db), 0);
    assert_eq!(executed(&db, "check_item"), 0, "nothing changed, nothing re-runs");

    // A longer body in `twice` moves every later item; their relative ASTs are unchanged.
    let first = PROGRAM.replace("2.0 * x", "2.0 * x + 0.0");
    db.set_file("main.exp", &first);
    assert_eq!(check_all(&db), 0);
    let log = db.take_log();
    let checks = log.iter().filter(|l| l.starts_with("check_item(")).count();
    assert_eq!(checks, 1, "only `twice` is re-checked, executed: {log:#?}");

    // Editing the block re-checks the block and the experiment that instantiates it.
    db.set_file("main.exp", &first.replace("linear(32)", "linear(64)"));
    assert_eq!(check_all(&db), 0);
    let log = db.take_log();
    let checks = log.iter().filter(|l| l.starts_with("check_item(")).count();
    assert_eq!(checks, 2, "the block and the experiment are re-checked, executed: {log:#?}");
}

#[test]
fn an_edit_that_breaks_an_item_reports_only_there() {
    let mut db = RootDb::default();
    db.set_file("main.exp", PROGRAM);
    check_all(&db);
    db.start_logging();
    db.set_file("main.exp", &PROGRAM.replace("x / 2.0", "x / y"));
    let file = db.file("main.exp").unwrap();
    let diags = exp_hir::file_diagnostics(&db, file);
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].code.as_str(), "unknown-name");
    assert_eq!(executed(&db, "check_item"), 1);
}

/// The checker parses each chunk alone; that must give the same items as parsing the file.
#[test]
fn chunked_parsing_agrees_with_whole_file_parsing() {
    let mut files = exp_tests::corpus("parse/ok");
    files.extend(exp_tests::corpus("parse/err"));
    files.extend(exp_tests::corpus("check"));
    assert!(files.len() > 60);
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let mut whole = exp_syntax::parse(&text);
        whole.comments.clear();
        let mut assembled = exp_syntax::ast::File::default();
        for range in exp_syntax::item_chunks(&text) {
            let part = exp_syntax::parse(&text[range.clone()]);
            assembled.items.extend(part.items);
            assembled.errors.extend(
                part.errors.into_iter().map(|e| exp_syntax::ast::SyntaxError { span: e.span.shift(range.start), ..e }),
            );
        }
        // Items are identical; errors agree in number and line, though an error at the end of
        // a chunk reads "unexpected end of file" rather than naming the next item's keyword.
        let items = |f: &exp_syntax::ast::File| {
            exp_syntax::dump_without_spans(&exp_syntax::ast::File { items: f.items.clone(), ..Default::default() })
        };
        assert_eq!(items(&assembled), items(&whole), "{}", path.display());
        let lines = |f: &exp_syntax::ast::File| {
            f.errors.iter().map(|e| exp_syntax::line_col(&text, e.span.start as usize).0).collect::<Vec<_>>()
        };
        let (a, w) = (lines(&assembled), lines(&whole));
        assert_eq!(a.len(), w.len(), "{}: syntax errors", path.display());
        for (x, y) in a.iter().zip(&w) {
            assert!(x.abs_diff(*y) <= 1, "{}: syntax error on line {x}, whole-file parse says {y}", path.display());
        }
    }
}

/// Lowering is a query too: an edit elsewhere reuses the program; an edit to the model
/// changes it, and with it the hash that names the run.
#[test]
fn lowering_is_reused_until_the_recipe_changes() {
    let mut db = RootDb::default();
    db.set_file("main.exp", PROGRAM);
    let hash = |db: &RootDb| {
        let file = db.file("main.exp").unwrap();
        let item = exp_hir::items::lookup(db, file, "small").unwrap();
        exp_lower::lowered(db, item, None).as_ref().expect("the experiment lowers").hash.clone()
    };
    let before = hash(&db);
    db.start_logging();
    db.set_file("main.exp", &PROGRAM.replace("2.0 * x", "3.0 * x"));
    assert_eq!(hash(&db), before);
    assert_eq!(executed(&db, "lowered"), 0, "an unrelated edit does not lower again");
    db.set_file("main.exp", &PROGRAM.replace("linear(32)", "linear(64)"));
    assert_ne!(hash(&db), before, "a different model is a different run");
}

/// The elaborations and lowerings that ran since logging started, for one experiment item.
fn elaborations(db: &RootDb) -> (usize, usize) {
    let log = db.take_log();
    let count = |q: &str| log.iter().filter(|l| l.starts_with(&format!("{q}("))).count();
    (count("elaborated") + count("elaborated_with"), count("lowered"))
}

/// `expc run` (and `expc ir`) check the file, then lower the experiment: one elaboration in
/// all, with or without `--set` overrides, since checking and lowering read the same query.
#[test]
fn compiling_for_a_run_elaborates_the_experiment_once() {
    let path = exp_tests::root().join("examples/grokking/main.exp");
    for sets in [vec![], vec!["batch=256".to_string(), "optimizer.lr=1e-3".to_string()]] {
        let mut db = RootDb::default();
        db.start_logging();
        let program = exp_driver::compile(&mut db, &path, Some("grok"), &sets, exp_driver::Format::Human)
            .unwrap_or_else(|o| panic!("{}", o.stderr));
        assert_eq!(program.name, "grok");
        // The file has two experiments; each is elaborated once, `grok` with its overrides.
        assert_eq!(elaborations(&db), (2, 1), "with --set {sets:?}");
    }
}
