//! The check corpus: `tests/check/*.exp`, each a program with mistakes annotated inline.
//!
//! A line that should carry a diagnostic ends with `//~ code` (several codes separated by
//! spaces). The test asserts that the diagnostics of the file are exactly those codes on
//! those lines (by the primary label's start line), and snapshots the rendered output so a
//! reviewer can judge message, labels and help together.

use std::collections::BTreeSet;

use exp_tests::{corpus, db_with, render, stem};

fn expected(text: &str) -> BTreeSet<(usize, String)> {
    let mut out = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        if let Some((_, codes)) = line.split_once("//~") {
            for c in codes.split_whitespace() {
                out.insert((i + 1, c.to_string()));
            }
        }
    }
    out
}

#[test]
fn check_corpus() {
    let files = corpus("check");
    assert!(files.len() >= 40, "the check corpus should hold at least 40 cases, found {}", files.len());
    let mut failures = Vec::new();
    let mut codes = BTreeSet::new();
    let mut snapshots = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("corpus file is readable");
        let name = format!("check/{}", path.file_name().unwrap().to_string_lossy());
        let (db, file) = db_with(&name, &text, path.parent());
        let diags: Vec<_> =
            exp_hir::file_diagnostics(&db, file).into_iter().filter(|d| d.primary.file.as_ref() == name).collect();
        let got: BTreeSet<(usize, String)> = diags
            .iter()
            .map(|d| (exp_syntax::line_col(&text, d.primary.span.start as usize).0, d.code.as_str().to_string()))
            .collect();
        let want = expected(&text);
        let rendered = render(&db, &diags);
        if got != want {
            failures.push(format!("{name}:\n  expected {want:?}\n  found    {got:?}\n{rendered}"));
        }
        codes.extend(want.into_iter().map(|(_, c)| c));
        snapshots.push((stem(path), format!("{text}\n---- diagnostics ----\n{rendered}")));
    }
    assert!(failures.is_empty(), "{} of {} check cases differ:\n{}", failures.len(), files.len(), failures.join("\n"));
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
        for (name, text) in snapshots {
            insta::assert_snapshot!(format!("check__{name}"), text);
        }
    });
    assert!(
        codes.len() >= 20,
        "the corpus should exercise at least 20 distinct codes, found {}: {codes:?}",
        codes.len()
    );
}

#[test]
fn clean_programs_have_no_diagnostics() {
    for dir in ["../examples", "../stdlib"] {
        let base = exp_tests::root().join(dir.trim_start_matches("../"));
        let mut paths = Vec::new();
        for entry in walk(&base) {
            paths.push(entry);
        }
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.strip_prefix(exp_tests::root()).unwrap().to_string_lossy().replace('\\', "/");
            let (db, file) = db_with(&name, &text, path.parent());
            let diags = exp_hir::file_diagnostics(&db, file);
            assert!(diags.is_empty(), "{name} should check cleanly:\n{}", render(&db, &diags));
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else if p.extension().is_some_and(|e| e == "exp") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Every registry row is declared `= builtin` in the standard library with its keyword, and
/// every such declaration has a row (the other direction is `clean_programs_have_no_diagnostics`).
#[test]
fn every_registry_row_is_declared_in_the_stdlib() {
    let db = exp_db::RootDb::default();
    let mut declared = BTreeSet::new();
    for module in exp_stdlib::FILES.iter().map(|(m, _, _)| *m) {
        let file = exp_hir::scope::stdlib_module(&db, module).expect("module exists");
        for item in exp_hir::file_items(&db, file) {
            let exp_syntax::ast::ItemKind::Decl(d) = &item.ast(&db).kind else { continue };
            if matches!(d.body, exp_syntax::ast::Body::Builtin(_)) {
                declared.insert((d.kind.keyword().to_string(), d.name.name.clone()));
            }
        }
    }
    let rows: BTreeSet<(String, String)> =
        exp_ops::builtins().iter().map(|s| (s.kind.keyword().to_string(), s.name.to_string())).collect();
    assert_eq!(declared, rows, "stdlib `= builtin` declarations and registry rows differ");
}

/// A standard-library declaration edited away from its registry row is a `builtin-mismatch`
/// in the standard library itself, for every kind of builtin.
#[test]
fn stdlib_declarations_that_disagree_with_the_registry_are_reported() {
    use salsa::Setter;
    // (module, text to replace, replacement)
    let edits = [
        (
            "std.losses",
            "loss cross_entropy(label_smoothing: Float = 0.0)",
            "loss cross_entropy(label_smoothing: Float = 0.1)",
        ),
        ("std.probes", "probe accuracy(on: Split): Float", "probe accuracy(on: Split): Int"),
        ("std.metrics", "metric top_k(k: Int = 5, on: Split)", "metric top_k(k: Int = 1, on: Split)"),
        ("std.data", "data modular(p: Int,", "data modular(p: Float,"),
        ("std.data", "data scale(factor: Float)", "data scale(factor: Float, bias: Float = 0.0)"),
        (
            "std.init",
            "mode: String = \"fan_in\", scale: Float = 1.0) = builtin\n\n/// He/Kaiming normal",
            "mode: String = \"fan_out\", scale: Float = 1.0) = builtin\n\n/// He/Kaiming normal",
        ),
        ("std.nn", "block dropout(rate: Float = 0.5)", "block dropout(rate: Float = 0.1)"),
        ("std.scalar", "fn exp(x) = builtin", "fn exp(x, y) = builtin"),
    ];
    for (module, from, to) in edits {
        let mut db = exp_db::RootDb::default();
        let file = exp_hir::scope::stdlib_module(&db, module).expect("module exists");
        let text = file.text(&db).clone();
        assert!(text.contains(from), "{module} no longer contains {from:?}");
        file.set_text(&mut db).to(text.replacen(from, to, 1));
        let diags = exp_hir::file_diagnostics(&db, file);
        let codes: Vec<&str> = diags.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(codes, ["builtin-mismatch"], "{module}: {to}\n{}", render(&db, &diags));
    }
}
