//! The formatter on the real files of the repository (examples, stdlib, the check and parse
//! corpora): idempotent, keeps every `//` comment, keeps the tree, keeps programs clean and
//! their IR the same; and `expc fmt` with and without `--check` on files on disk.
//!
//! The IR hash includes origins (`@file:start..end`, see `exp-ir/src/hash.rs`), which move
//! when formatting moves text, so IRs are compared with the origins into the formatted file
//! blanked; the hash must be unchanged where the formatter leaves a file as it is.

use std::path::{Path, PathBuf};

use exp_db::{Db, RootDb};
use exp_syntax::ast::File;
use exp_syntax::{dump_without_spans, format, parse};
use exp_tests::{db_with, render, root};

use crate::driver::TempDir;

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|e| e == "exp") {
            out.push(p);
        }
    }
}

/// The `.exp` files below `dir` (relative to the workspace root), sorted.
fn files(dir: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(&root().join(dir), &mut out);
    out.sort();
    assert!(!out.is_empty(), "no .exp files under {dir}");
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap().to_string_lossy().replace('\\', "/")
}

fn comments(f: &File) -> Vec<String> {
    f.comments.iter().map(|c| c.text.trim_end().to_string()).collect()
}

/// Formats `text` and checks the properties every file must keep; returns the formatted text.
fn format_checked(name: &str, text: &str) -> String {
    let file = parse(text);
    let once = format(&file, text);
    if !file.errors.is_empty() {
        assert_eq!(once, text, "{name}: a file with syntax errors formats to itself");
        return once;
    }
    let again = parse(&once);
    assert!(again.errors.is_empty(), "{name}: the formatted text does not parse: {:?}\n{once}", again.errors);
    let twice = format(&again, &once);
    assert_eq!(twice, once, "{name}: formatting is not idempotent");
    assert_eq!(comments(&again), comments(&file), "{name}: comments changed\n{once}");
    // Every comment of the source, found by text rather than through the parser.
    for line in text.lines() {
        if let Some(i) = line.find("//") {
            let comment = line[i..].trim_end();
            if !line[..i].contains('"') && !comment.starts_with("///") {
                assert!(once.contains(comment), "{name}: lost the comment {comment:?}\n{once}");
            }
        }
    }
    assert_eq!(dump_without_spans(&again), dump_without_spans(&file), "{name}: formatting changed the tree\n{once}");
    assert!(once.ends_with('\n') && !once.ends_with("\n\n"), "{name}: the file ends with one newline");
    assert!(!once.contains('\t') && once.lines().all(|l| l == l.trim_end()), "{name}: tabs or trailing spaces");
    once
}

#[test]
fn formatting_real_files_keeps_trees_and_comments() {
    let mut count = 0;
    let mut changed = 0;
    for dir in ["examples", "stdlib", "tests/check", "tests/parse/ok"] {
        for path in files(dir) {
            let text = std::fs::read_to_string(&path).unwrap();
            let out = format_checked(&rel(&path), &text);
            count += 1;
            changed += usize::from(out != text);
        }
    }
    assert!(count >= 90, "expected the examples, stdlib and both corpora, found {count} files");
    // Some files are written by hand in another layout, so the formatter has work to do.
    assert!(changed > 0, "no file changed: the test would not see a formatter that does nothing");
}

fn lower(db: &RootDb, file: exp_db::SourceFile, experiment: &str) -> String {
    let program = exp_tests::lowered(db, file, experiment).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(program.hash, program.compute_hash());
    exp_ir::print(&program)
}

/// The IR text with the hash line and the origins into file `index` blanked.
fn without_origins(ir: &str, index: usize) -> String {
    let marker = format!("@{index}:");
    ir.lines()
        .filter(|l| !l.starts_with("hash "))
        .map(|l| {
            l.split(' ')
                .map(|w| match w.strip_prefix(&marker) {
                    Some(range) if range.contains("..") => "@_",
                    _ => w,
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The index of `path` in the IR's `files` section.
fn file_index(ir: &str, path: &str) -> usize {
    let quoted = format!("{path:?}");
    ir.lines()
        .skip_while(|l| *l != "files")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            let (i, p) = l.trim().split_once(' ')?;
            (p == quoted).then(|| i.parse().unwrap())
        })
        .unwrap_or_else(|| panic!("{path} is not among the files of\n{ir}"))
}

#[test]
fn formatted_examples_check_cleanly_and_lower_to_the_same_ir() {
    let mut lowered = 0;
    for path in files("examples") {
        let name = rel(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        let formatted = format_checked(&name, &text);
        let (db, file) = db_with(&name, &text, path.parent());
        let (fdb, ffile) = db_with(&name, &formatted, path.parent());
        let diags = exp_hir::file_diagnostics(&fdb, ffile);
        assert!(diags.is_empty(), "{name} formatted has diagnostics:\n{}\n{formatted}", render(&fdb, &diags));
        let exps = exp_hir::items::experiments(&db, file);
        assert_eq!(exp_hir::items::experiments(&fdb, ffile), exps, "{name}: formatting changed the experiments");
        for exp in exps {
            let before = lower(&db, file, &exp);
            let after = lower(&fdb, ffile, &exp);
            let index = file_index(&before, &name);
            assert_eq!(
                without_origins(&after, index),
                without_origins(&before, index),
                "{name} {exp}: the formatted file lowers to a different IR"
            );
            if formatted == text {
                assert_eq!(after, before, "{name} {exp}: an unchanged file must give the same hash");
            }
            lowered += 1;
        }
    }
    assert!(lowered >= 10, "expected every experiment of every example, lowered {lowered}");
}

#[test]
fn formatted_stdlib_checks_cleanly_and_keeps_the_examples_ir() {
    // The examples' IR against the stdlib as written.
    let examples: Vec<(String, String, PathBuf)> = files("examples")
        .into_iter()
        .map(|p| (rel(&p), std::fs::read_to_string(&p).unwrap(), p.parent().unwrap().to_path_buf()))
        .collect();
    let baseline = |db: &mut RootDb| -> Vec<String> {
        let mut out = Vec::new();
        for (name, text, _) in &examples {
            let file = db.set_file(name, text);
            for exp in exp_hir::items::experiments(db, file) {
                out.push(lower(db, file, &exp));
            }
        }
        out
    };
    let mut db = RootDb::default();
    let before = baseline(&mut db);
    let mut changed = 0;
    for path in files("stdlib") {
        let name = rel(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        let formatted = format_checked(&name, &text);
        // As a user file, the formatted module checks cleanly.
        let (udb, ufile) = db_with(&name, &formatted, path.parent());
        let diags = exp_hir::file_diagnostics(&udb, ufile);
        assert!(diags.is_empty(), "{name} formatted has diagnostics:\n{}", render(&udb, &diags));
        if formatted == text {
            continue;
        }
        changed += 1;
        // As the standard library itself, it gives the examples the same IR up to origins.
        let std_path = format!("std/{}", path.file_name().unwrap().to_string_lossy());
        let mut sdb = RootDb::default();
        let std_file = sdb.workspace().stdlib(&sdb).iter().copied().find(|f| *f.path(&sdb) == std_path);
        let std_file = std_file.unwrap_or_else(|| panic!("{std_path} is not an embedded stdlib file"));
        assert_eq!(std_file.text(&sdb), &text, "{std_path}: the embedded text differs from {name}");
        {
            use salsa::Setter;
            std_file.set_text(&mut sdb).to(formatted.clone());
        }
        let diags = exp_hir::file_diagnostics(&sdb, std_file);
        assert!(diags.is_empty(), "{std_path} formatted, as the stdlib, has diagnostics:\n{}", render(&sdb, &diags));
        let after = baseline(&mut sdb);
        for (b, a) in before.iter().zip(&after) {
            if !b.contains(&format!("{std_path:?}")) {
                assert_eq!(a, b, "{std_path}: an IR that does not use it changed");
                continue;
            }
            let index = file_index(b, &std_path);
            assert_eq!(without_origins(a, index), without_origins(b, index), "{std_path}: the IR changed");
        }
    }
    assert!(changed > 0, "no stdlib file changes under the formatter; the second half tests nothing");
}

// ---- expc fmt ----

const UNFORMATTED: &str = "// a comment that stays\nfn  double( x )=2*x // trailing\nfn   square(x) = x^2;\n";

#[test]
fn fmt_check_lists_then_rewrites() {
    let dir = TempDir::new("fmt");
    let ugly = dir.write("ugly.exp", UNFORMATTED);
    let want = format(&parse(UNFORMATTED), UNFORMATTED);
    assert_ne!(want, UNFORMATTED);
    assert!(want.contains("fn double(x) = 2 * x // trailing\n") && want.contains("x ^ 2\n"), "{want}");
    let tidy = dir.write("sub/tidy.exp", &want);
    let shown = ugly.to_string_lossy().replace('\\', "/");

    // --check lists only the unformatted file, exit 1, and writes nothing.
    let out = exp_driver::fmt(&[dir.path().to_path_buf()], true);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, format!("{shown}\n"));
    assert_eq!(std::fs::read_to_string(&ugly).unwrap(), UNFORMATTED, "--check must not write");

    // Without --check the file is rewritten in the canonical form, with no temp file left.
    let out = exp_driver::fmt(std::slice::from_ref(&ugly), false);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    assert_eq!(std::fs::read_to_string(&ugly).unwrap(), want);
    let mut left = Vec::new();
    walk(dir.path(), &mut left);
    assert_eq!(left.len(), 2, "{left:?}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "a temp file was left behind");

    // Now everything is formatted.
    let out = exp_driver::fmt(&[dir.path().to_path_buf()], true);
    assert_eq!(out, exp_driver::Outcome::default(), "a second --check passes");
    assert_eq!(std::fs::read_to_string(&tidy).unwrap(), want);

    // A file with syntax errors is reported and left alone, with or without --check.
    let broken_text = "fn f(x) = (x\n";
    let broken = dir.write("broken.exp", broken_text);
    for check_only in [true, false] {
        let out = exp_driver::fmt(std::slice::from_ref(&broken), check_only);
        assert_eq!(out.code, 1, "{out:?}");
        assert!(out.stderr.contains("syntax errors"), "{out:?}");
        assert_eq!(std::fs::read_to_string(&broken).unwrap(), broken_text);
    }
    let out = exp_driver::fmt(&[dir.path().join("missing.exp")], true);
    assert_eq!(out.code, 2, "{out:?}");
}
