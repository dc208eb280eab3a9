//! IR snapshots and round trips: every experiment of every example, and a small program per
//! standard-library function, schedule and optimizer. Each program must verify, print →
//! parse → print identically, and survive a JSON round trip.

use exp_db::RootDb;
use exp_hir::DefKind;
use exp_tests::{db_with, root};

/// Lowers, verifies and round-trips one experiment; returns its IR text.
fn lower(db: &RootDb, file: exp_db::SourceFile, experiment: &str) -> String {
    let program = exp_tests::lowered(db, file, experiment).unwrap_or_else(|e| panic!("{e}"));
    let text = exp_ir::print(&program);
    let parsed =
        exp_ir::parse(&text).unwrap_or_else(|e| panic!("{experiment}: printed IR does not parse: {e:?}\n{text}"));
    assert_eq!(exp_ir::print(&parsed), text, "{experiment}: print -> parse -> print differs");
    assert_eq!(parsed, program, "{experiment}: parsed IR differs from the lowered one");
    let json = exp_ir::from_json(&exp_ir::to_json(&program)).expect("JSON reads back");
    assert_eq!(json, program, "{experiment}: JSON round trip differs");
    assert_eq!(program.hash, program.compute_hash(), "{experiment}: hash is sealed");
    text
}

#[test]
fn every_example_lowers_to_stable_ir() {
    let mut count = 0;
    let mut dirs: Vec<_> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("main.exp").exists())
        .collect();
    dirs.sort();
    for dir in dirs {
        let example = dir.file_name().unwrap().to_string_lossy().into_owned();
        let name = format!("examples/{example}/main.exp");
        let text = std::fs::read_to_string(dir.join("main.exp")).unwrap();
        let (db, file) = db_with(&name, &text, Some(&dir));
        for exp in exp_hir::items::experiments(&db, file) {
            let ir = lower(&db, file, &exp);
            insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
                insta::assert_snapshot!(format!("ir__{example}__{exp}"), ir);
            });
            count += 1;
        }
    }
    assert!(count >= 5, "expected at least one experiment per example, found {count}");
}

/// Fills the required parameters of a standard-library item with plain values.
fn call(db: &RootDb, def: &exp_hir::DefRef) -> String {
    let info = exp_hir::decl_info(db, def).expect("a declaration");
    let mut args = Vec::new();
    for p in info.params.iter().flatten().filter(|p| p.default.is_none()) {
        let v = match &p.ty {
            exp_hir::Ty::Qty(exp_hir::UnitKind::Steps) => "10 steps".to_string(),
            exp_hir::Ty::Int => "2".into(),
            exp_hir::Ty::Optimizer => "sgd(lr: 0.1)".into(),
            _ => "0.1".into(),
        };
        args.push(format!("{}: {v}", p.name));
    }
    format!("{}({})", def.key, args.join(", "))
}

/// The part of `text` from the line that starts with `start` up to `end`.
fn section<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let a = text.find(&format!("\n{start}")).map_or(0, |a| a + 1);
    let b = text[a..].find(end).map_or(text.len(), |b| a + b);
    &text[a..b]
}

#[test]
fn every_stdlib_function_schedule_and_optimizer_lowers() {
    let db = RootDb::default();
    let mut out = String::new();
    let mut count = 0;
    for module in ["std.activations", "std.optim", "std.schedules"] {
        let file = exp_hir::scope::stdlib_module(&db, module).expect("module exists");
        for item in exp_hir::file_items(&db, file) {
            let ast = item.ast(&db);
            let Some(kind) = DefKind::of(ast) else { continue };
            let def = exp_hir::DefRef { file, key: item.key(&db).clone(), kind };
            let info = exp_hir::decl_info(&db, &def).unwrap();
            if matches!(info.body, Some(exp_syntax::ast::Body::Builtin(_))) {
                continue;
            }
            let (model, optimizer) = match kind {
                DefKind::Fn => (format!("linear(4) >> {} >> linear(3)", def.key), "sgd(lr: 0.1)".to_string()),
                DefKind::Optimizer => ("linear(3)".into(), call(&db, &def)),
                DefKind::Schedule => ("linear(3)".into(), format!("sgd(lr: {})", call(&db, &def))),
                _ => continue,
            };
            let program = format!(
                "use std.data.gaussian_mixture\ndata blobs = gaussian_mixture(dim: 4, classes: 3, n: 60)\n\
                 experiment item {{\n    data = blobs\n    model = {model}\n    loss = cross_entropy\n    optimizer = {optimizer}\n    batch = 8\n    train = 20 steps\n}}\n"
            );
            let mut db2 = RootDb::default();
            let f = db2.set_file("item.exp", &program);
            let diags = exp_hir::file_diagnostics(&db2, f);
            assert!(diags.is_empty(), "{module}.{}: {program}\n{diags:?}", def.key);
            let ir = lower(&db2, f, "item");
            out.push_str(&format!("==== {module}.{} ====\n", def.key));
            out.push_str(section(&ir, "functions\n", "\ngraph\n"));
            if kind == DefKind::Optimizer {
                out.push_str(section(&ir, "optimizer ", "\ntrain\n"));
            }
            out.push('\n');
            count += 1;
        }
    }
    assert!(count >= 15, "expected the activations, optimizers and schedules, found {count}");
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("ir__stdlib_items", out);
    });
}

/// One program per layer primitive of `std.nn` and per loss of `std.losses`: each must check,
/// lower, verify and round-trip; the graph sections are snapshotted.
#[test]
fn every_stdlib_layer_and_loss_lowers() {
    // (what, input shape or data, model, loss)
    let images = r#"idx(dir: "unused", shape: [3, 8, 8], classes: 3)"#;
    let signal = r#"idx(dir: "unused", shape: [2, 16], classes: 3)"#;
    let tokens = r#"idx(dir: "unused", shape: [4, 8], classes: 3)"#;
    let vectors = "gaussian_mixture(dim: 4, classes: 3, n: 60)";
    let cases: &[(&str, &str, &str, &str)] = &[
        ("linear", vectors, "linear(8) >> linear(3)", "cross_entropy"),
        ("conv1d", signal, "conv1d(4, 3, padding: 1) >> flatten >> linear(3)", "cross_entropy"),
        ("conv2d", images, "conv2d(4, 3, stride: 2, padding: 1) >> flatten >> linear(3)", "cross_entropy"),
        ("max_pool1d", signal, "max_pool1d(2) >> flatten >> linear(3)", "cross_entropy"),
        ("avg_pool1d", signal, "avg_pool1d(4, stride: 2) >> flatten >> linear(3)", "cross_entropy"),
        ("max_pool2d", images, "max_pool2d(2) >> flatten >> linear(3)", "cross_entropy"),
        ("avg_pool2d", images, "avg_pool2d(2) >> flatten >> linear(3)", "cross_entropy"),
        ("global_avg_pool", images, "global_avg_pool >> linear(3)", "cross_entropy"),
        ("reshape", images, "reshape([3, 64]) >> flatten >> linear(3)", "cross_entropy"),
        ("embed", "modular(p: 11)", "embed(11, 4) >> flatten >> linear(11)", "cross_entropy"),
        ("layer_norm", tokens, "layer_norm >> flatten >> linear(3)", "cross_entropy"),
        ("batch_norm", images, "batch_norm >> flatten >> linear(3)", "cross_entropy"),
        ("dropout", vectors, "dropout(0.1) >> linear(3)", "cross_entropy"),
        ("attention", tokens, "attention(heads: 2, dim: 8) >> flatten >> linear(3)", "cross_entropy"),
        ("identity", vectors, "identity >> linear(3)", "cross_entropy"),
        ("mse", vectors, "linear(3)", "mse"),
        ("kl", vectors, "linear(3)", "kl"),
        ("bce", "two_spirals(n: 100)", "linear(1)", "bce"),
    ];
    let mut out = String::new();
    for (what, data, model, loss) in cases {
        let program = format!(
            "use std.data.{{idx, gaussian_mixture, modular, two_spirals}}\ndata d = {data}\n\
             experiment item {{\n    data = d\n    model = {model}\n    loss = {loss}\n    optimizer = sgd(lr: 0.1)\n    batch = 8\n    train = 20 steps\n}}\n"
        );
        let mut db = RootDb::default();
        let f = db.set_file("item.exp", &program);
        // Only the source this case uses is needed; the other imports are unused on purpose.
        let diags: Vec<_> = exp_hir::file_diagnostics(&db, f).into_iter().filter(|d| d.is_error()).collect();
        assert!(diags.is_empty(), "{what}: {program}\n{}", exp_tests::render(&db, &diags));
        let ir = lower(&db, f, "item");
        out.push_str(&format!("==== {what} ====\n{}\n", section(&ir, "graph\n", "\nschedules\n")));
    }
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("ir__stdlib_layers", out);
    });
}
