//! The `expc` commands run in-process (`exp_driver::check/ir/estimate/fmt/explain`): exit
//! codes, the JSON diagnostic format, `explain` pages, experiment selection, estimates
//! against sizes computed by hand, `--set` overrides with their provenance, and determinism
//! of the IR text and its hash.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use exp_diagnostics::Code;
use exp_driver::{Format, Outcome};
use exp_tests::root;
use serde_json::Value;

/// A fresh directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("exp-tests-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir can be created");
        TempDir(dir)
    }

    /// Writes `text` to `rel` (creating parent directories) and returns the full path.
    pub(crate) fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn quickstart() -> PathBuf {
    root().join("examples/quickstart/main.exp")
}

fn grokking() -> PathBuf {
    root().join("examples/grokking/main.exp")
}

/// The path as the driver names it in diagnostics.
fn shown(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

fn sets(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

/// The JSON diagnostics of an outcome, one object per stdout line.
fn json_lines(out: &Outcome) -> Vec<Value> {
    out.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

/// The one JSON error of a failed command run with `--message-format json` (warnings, such as
/// an import left unused by the mistake, are skipped).
fn one_diagnostic(out: &Outcome) -> Value {
    assert_eq!(out.code, 1, "expected exit 1: {out:?}");
    let lines: Vec<Value> = json_lines(out).into_iter().filter(|d| d["severity"] == "error").collect();
    assert_eq!(lines.len(), 1, "expected exactly one diagnostic: {out:?}");
    lines.into_iter().next().unwrap()
}

fn ir(path: &Path, experiment: Option<&str>, set: &[&str]) -> Outcome {
    exp_driver::ir(&path.to_path_buf(), experiment, &sets(set), false, Format::Json)
}

fn ir_ok(path: &Path, experiment: Option<&str>, set: &[&str]) -> String {
    let out = ir(path, experiment, set);
    assert_eq!(out.code, 0, "ir {} {experiment:?} {set:?} failed: {out:?}", path.display());
    assert!(out.stderr.is_empty(), "{out:?}");
    out.stdout
}

/// The config line of `path` in an IR text: (value, provenance comment).
fn config_entry(ir: &str, path: &str) -> (String, String) {
    let prefix = format!("  {path} = ");
    let line = ir
        .lines()
        .skip_while(|l| *l != "config")
        .take_while(|l| !l.is_empty())
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no config entry `{path}` in\n{ir}"));
    let (value, from) = line[prefix.len()..].rsplit_once("  # ").expect("a provenance comment");
    (value.to_string(), from.to_string())
}

/// The lines of the section that starts with a line beginning with `head`, up to a blank line.
fn section<'a>(ir: &'a str, head: &str) -> Vec<&'a str> {
    ir.lines().skip_while(|l| !l.starts_with(head)).take_while(|l| !l.is_empty()).collect()
}

fn hash_line(ir: &str) -> &str {
    ir.lines().find(|l| l.starts_with("hash ")).expect("a hash line")
}

/// A clean experiment over synthetic data: `linear(8) >> relu >> linear(3)` on 4 features.
const BLOBS: &str = "use std.data.gaussian_mixture
data blobs = gaussian_mixture(dim: 4, classes: 3, n: 60)

experiment small {
    data = blobs
    model = linear(8) >> relu >> linar(3)
    loss = cross_entropy
    optimizer = sgd(lr: 0.1)
    batch = 8
    train = 20 steps
}
";

fn blobs_clean() -> String {
    BLOBS.replace("linar", "linear")
}

// ---- check ----

#[test]
fn check_exit_codes() {
    let out = exp_driver::check(&[quickstart()], Format::Human);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("checked 1 file(s): no problems"), "{out:?}");

    let dir = TempDir::new("check-codes");
    let bad = dir.write("bad.exp", BLOBS);
    let out = exp_driver::check(std::slice::from_ref(&bad), Format::Human);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("unknown-name") && out.stderr.contains("1 error(s), 0 warning(s)"), "{out:?}");

    let missing = dir.path().join("missing.exp");
    let out = exp_driver::check(std::slice::from_ref(&missing), Format::Human);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.starts_with("error: cannot read") && out.stderr.contains("missing.exp"), "{out:?}");

    // A missing path next to a clean one is still a usage error.
    let out = exp_driver::check(&[quickstart(), missing], Format::Human);
    assert_eq!(out.code, 2, "{out:?}");

    // Errors in one of several files fail the whole check.
    let out = exp_driver::check(&[quickstart(), bad], Format::Json);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(json_lines(&out).len(), 1);
}

#[test]
fn check_searches_directories_for_exp_files() {
    let dir = TempDir::new("check-dirs");
    dir.write("good.exp", &blobs_clean());
    dir.write("notes.txt", "this is not an .exp file {{{");
    dir.write("nested/deeper/also_good.exp", "fn double(x) = 2 * x\n");
    let out = exp_driver::check(&[dir.path().to_path_buf()], Format::Human);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("checked 2 file(s): no problems"), "{out:?}");

    let bad = dir.write("nested/bad.exp", BLOBS);
    let out = exp_driver::check(&[dir.path().to_path_buf()], Format::Json);
    let d = one_diagnostic(&out);
    assert_eq!(d["file"], shown(&bad));
    assert_eq!(d["code"], "unknown-name");

    let empty = TempDir::new("check-empty");
    let out = exp_driver::check(&[empty.path().to_path_buf()], Format::Human);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("no `.exp` files"), "{out:?}");

    // Every example checks cleanly as a directory, and all of them are found.
    let examples = root().join("examples");
    let count = std::fs::read_dir(&examples).unwrap().flatten().filter(|e| e.path().join("main.exp").exists()).count();
    let out = exp_driver::check(&[examples], Format::Human);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains(&format!("checked {count} file(s): no problems")), "{out:?}");
}

#[test]
fn check_follows_relative_imports() {
    let dir = TempDir::new("check-imports");
    dir.write("lib/common.exp", "block head(n: Int) = linear(n)\n");
    let main =
        dir.write("main.exp", &format!("use \"lib/common.exp\"\n{}", blobs_clean().replace("linear(3)", "head(3)")));
    let out = exp_driver::check(std::slice::from_ref(&main), Format::Human);
    assert_eq!(out.code, 0, "{out:?}");
    // The imported file is part of the IR's files, after the main file.
    let text = ir_ok(&main, None, &[]);
    let files = section(&text, "files");
    assert_eq!(files[1], format!("  0 {:?}", shown(&main)), "{text}");
    assert_eq!(files[2], format!("  1 {:?}", shown(&dir.path().join("lib/common.exp"))), "{text}");
    // A broken imported block is reported in the imported file.
    let lib = dir.write("lib/common.exp", "block head(n: Int) = lineer(n)\n");
    let out = exp_driver::check(std::slice::from_ref(&main), Format::Json);
    let d = one_diagnostic(&out);
    assert_eq!((d["file"].as_str().unwrap(), d["code"].as_str().unwrap()), (shown(&lib).as_str(), "unknown-name"));
}

// ---- JSON diagnostics ----

const JSON_KEYS: [&str; 10] =
    ["code", "severity", "file", "line", "column", "end_line", "end_column", "message", "help", "labels"];

fn assert_keys(d: &Value) {
    let mut keys: Vec<&str> = d.as_object().expect("an object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut want = JSON_KEYS.to_vec();
    want.sort_unstable();
    assert_eq!(keys, want, "{d}");
}

#[test]
fn json_diagnostics_have_the_documented_fields_and_positions() {
    let dir = TempDir::new("json");
    // `linar` is on line 6, columns 34..39 (1-based; the end is just past the last character).
    let bad = dir.write("bad.exp", BLOBS);
    let out = exp_driver::check(std::slice::from_ref(&bad), Format::Json);
    assert!(out.stderr.is_empty(), "JSON mode prints nothing for people: {out:?}");
    let d = one_diagnostic(&out);
    assert_keys(&d);
    assert_eq!(d["code"], "unknown-name");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["file"], shown(&bad));
    assert_eq!(
        (&d["line"], &d["column"], &d["end_line"], &d["end_column"]),
        (&6.into(), &34.into(), &6.into(), &39.into())
    );
    assert_eq!(d["message"], "unknown name `linar`");
    assert_eq!(d["help"], "did you mean `linear`?");
    assert_eq!(d["labels"], Value::Array(vec![]));

    // Columns count characters, not bytes: `scal` starts at character 63 of line 2, which
    // would be column 66 in bytes (three two-byte letters before it).
    let line2 = "data d = idx(dir: \"dätä/ü\", shape: [1, 8, 8], classes: 10) >> scal(1.0)";
    assert_eq!(line2.find("scal(").unwrap() + 1, 66);
    let text = format!("use std.data.{{idx, scale}}\n{line2}\n");
    let uni = dir.write("unicode.exp", &text);
    let d = one_diagnostic(&exp_driver::check(&[uni], Format::Json));
    assert_keys(&d);
    assert_eq!((&d["line"], &d["column"], &d["end_column"]), (&2.into(), &63.into(), &67.into()), "{d}");

    // Secondary labels carry positions too, and a missing help is null.
    let dup = dir.write("dup.exp", "fn f(x) = x\n\nfn f(x) = x + 1\n");
    let d = one_diagnostic(&exp_driver::check(&[dup], Format::Json));
    assert_keys(&d);
    assert_eq!(
        (&d["code"], &d["line"], &d["column"], &d["end_column"]),
        (&"duplicate-definition".into(), &3.into(), &4.into(), &5.into())
    );
    let labels = d["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 1, "{d}");
    let mut keys: Vec<&str> = labels[0].as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["column", "end_column", "end_line", "file", "line", "message"]);
    assert_eq!((&labels[0]["line"], &labels[0]["column"]), (&1.into(), &4.into()), "{d}");

    // Several diagnostics: one line each, in file order.
    let two = dir.write("two.exp", "fn f(x) = y\nfn g(x) = f(x, x)\nfn h(x) = z\n");
    let out = exp_driver::check(&[two], Format::Json);
    assert_eq!(out.code, 1);
    let lines = json_lines(&out);
    let got: Vec<(u64, String)> =
        lines.iter().map(|d| (d["line"].as_u64().unwrap(), d["code"].as_str().unwrap().to_string())).collect();
    assert_eq!(
        got,
        [(1, "unknown-name".to_string()), (2, "wrong-arity".to_string()), (3, "unknown-name".to_string())],
        "{}",
        out.stdout
    );
    for d in &lines {
        assert_keys(d);
    }
}

// ---- explain ----

#[test]
fn explain_has_a_page_for_every_code() {
    assert!(Code::ALL.len() >= 28);
    for code in Code::ALL {
        let out = exp_driver::explain(code.as_str());
        assert_eq!(out.code, 0, "{code}: {out:?}");
        assert_eq!(out.stdout.lines().next(), Some(format!("# {code}").as_str()), "{code}");
        assert!(out.stdout.lines().count() > 3, "{code}: the page is only a title");
        assert!(out.stderr.is_empty());
    }
    let out = exp_driver::explain("shape_mismatch");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("unknown code `shape_mismatch`"), "{out:?}");
    for code in Code::ALL {
        assert!(out.stderr.contains(code.as_str()), "the listing lacks {code}: {}", out.stderr);
    }
}

// ---- experiment selection ----

#[test]
fn unknown_experiment_lists_the_experiments() {
    let out = ir(&grokking(), Some("grokk"), &[]);
    let d = one_diagnostic(&out);
    assert_eq!(d["code"], "unknown-experiment");
    assert_eq!(d["help"], "the experiments are `grok`, `no_decay`");
    assert!(out.stdout.lines().count() == 1 && !out.stdout.contains("expir"));

    let out = exp_driver::estimate(&quickstart(), Some("nope"), &[], true, Format::Json);
    let d = one_diagnostic(&out);
    assert_eq!(d["code"], "unknown-experiment");
    assert_eq!(d["help"], "the experiments are `quickstart`");

    // Several experiments and none named.
    for out in [ir(&grokking(), None, &[]), exp_driver::estimate(&grokking(), None, &[], true, Format::Json)] {
        let d = one_diagnostic(&out);
        assert_eq!(d["code"], "unknown-experiment");
        assert!(d["message"].as_str().unwrap().contains("declares 2 experiments"), "{d}");
        assert_eq!(d["help"], "the experiments are `grok`, `no_decay`");
    }

    // A file without experiments.
    let dir = TempDir::new("no-exp");
    let lib = dir.write("lib.exp", "fn double(x) = 2 * x\n");
    let d = one_diagnostic(&ir(&lib, None, &[]));
    assert_eq!(d["code"], "unknown-experiment");

    // Naming one of several works; a file with errors is reported before selection.
    assert!(ir_ok(&grokking(), Some("no_decay"), &[]).contains("\nexperiment no_decay\n"));
    let bad = dir.write("bad.exp", BLOBS);
    let d = one_diagnostic(&ir(&bad, Some("small"), &[]));
    assert_eq!(d["code"], "unknown-name");
    let out = ir(&dir.path().join("missing.exp"), None, &[]);
    assert_eq!(out.code, 2, "{out:?}");
}

// ---- estimate ----

fn estimate_json(path: &Path, experiment: Option<&str>, set: &[&str]) -> Value {
    let out = exp_driver::estimate(&path.to_path_buf(), experiment, &sets(set), true, Format::Json);
    assert_eq!(out.code, 0, "{out:?}");
    serde_json::from_str(&out.stdout).expect("estimate --json prints JSON")
}

#[test]
fn estimate_matches_hand_computed_sizes() {
    // quickstart on [1, 8, 8]: conv 1 -> 32 and conv 32 -> 32 (3x3, padding 1, with bias), a
    // 2x2 max pool to [32, 4, 4], flatten to 512, linear 512 -> 10 with bias.
    let params: u64 = (32 * 9 + 32) + (32 * 32 * 9 + 32) + (512 * 10 + 10);
    assert_eq!(params, 14_698);
    let e = estimate_json(&quickstart(), None, &[]);
    assert_eq!(e["experiment"], "quickstart");
    assert_eq!(e["batch"], 64);
    assert_eq!(e["params"], params);
    let m = &e["memory"];
    let cat = |k: &str| m[k].as_u64().unwrap_or_else(|| panic!("memory.{k} missing: {e}"));
    // f32 parameters and gradients; AdamW keeps two moments per parameter.
    assert_eq!(cat("params"), 4 * params);
    assert_eq!(cat("grads"), 4 * params);
    assert_eq!(cat("optimizer_state"), 2 * 4 * params);
    assert_eq!(cat("total"), cat("params") + cat("grads") + cat("optimizer_state") + cat("activations"));
    assert!(cat("activations") > 0);
    assert!(e["flops_per_step"].as_u64().unwrap() > 0);

    // Activations scale with the batch; parameters do not.
    let e16 = estimate_json(&quickstart(), None, &["batch=16"]);
    assert_eq!(e16["batch"], 16);
    assert_eq!(e16["params"], params);
    assert_eq!(e16["memory"]["activations"].as_u64().unwrap() * 4, cat("activations"));
    assert_eq!(e16["memory"]["params"], m["params"]);

    // A small model of our own: linear 4 -> 8 and 8 -> 3 with biases.
    let dir = TempDir::new("estimate");
    let small = dir.write("small.exp", &blobs_clean());
    let e = estimate_json(&small, None, &[]);
    assert_eq!(e["params"], (4 * 8 + 8) + (8 * 3 + 3));

    // The human form shows the same numbers.
    let out = exp_driver::estimate(&quickstart(), None, &[], false, Format::Human);
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with("experiment quickstart\n"), "{}", out.stdout);
    assert!(out.stdout.contains("parameters       14_698\n"), "{}", out.stdout);
    assert!(out.stdout.contains("memory at batch 64\n"), "{}", out.stdout);
}

// ---- --set and provenance ----

#[test]
fn set_overrides_batch_and_hyperparameters() {
    let base = ir_ok(&quickstart(), None, &[]);
    assert_eq!(config_entry(&base, "batch"), ("64".into(), "from declaration".into()));
    assert!(section(&base, "data ").contains(&"  batch 64"), "{base}");

    let text = ir_ok(&quickstart(), None, &["batch=16"]);
    assert_eq!(config_entry(&text, "batch"), ("16".into(), "from --set".into()));
    let data = section(&text, "data ");
    assert!(data.contains(&"  batch 16") && !data.contains(&"  batch 64"), "{}", data.join("\n"));
    // Everything else keeps its provenance.
    assert_eq!(config_entry(&text, "seed"), ("0".into(), "from declaration".into()));

    let text = ir_ok(&quickstart(), None, &["optimizer.lr=3e-4"]);
    assert_eq!(config_entry(&text, "optimizer.lr"), ("0.0003".into(), "from --set".into()));
    assert!(text.lines().any(|l| l.trim() == "hyper lr = 0.0003"), "{text}");
    assert!(!text.contains("fn sched_lr("), "a constant lr needs no schedule function:\n{text}");
    assert_eq!(config_entry(&text, "optimizer.weight_decay"), ("0.01".into(), "from declaration".into()));

    // A nested override inside the schedule.
    let text = ir_ok(&quickstart(), None, &["optimizer.lr.base=0.004"]);
    assert_eq!(config_entry(&text, "optimizer.lr.base"), ("0.004".into(), "from --set".into()));
    assert_eq!(config_entry(&text, "optimizer.lr.warmup"), ("20 steps".into(), "from declaration".into()));

    // The last of two overrides of one path wins.
    let text = ir_ok(&quickstart(), None, &["batch=16", "batch=32"]);
    assert_eq!(config_entry(&text, "batch"), ("32".into(), "from --set".into()));
}

#[test]
fn set_reports_bad_overrides() {
    let d = one_diagnostic(&ir(&quickstart(), None, &["optimizer.lrr=1"]));
    assert_eq!(d["code"], "invalid-override");
    assert_eq!(d["file"], "<--set 1>");
    assert!(d["help"].as_str().unwrap().contains("did you mean `lr`"), "{d}");
    // The label is on the path, in the option's text.
    assert_eq!((&d["line"], &d["column"], &d["end_column"]), (&1.into(), &1.into(), &14.into()));

    // The diagnostic points into the override that is wrong, not the first one.
    let d = one_diagnostic(&ir(&quickstart(), None, &["seed=3", "optimizer.lrr=1"]));
    assert_eq!((&d["code"], &d["file"]), (&"invalid-override".into(), &"<--set 2>".into()));

    let d = one_diagnostic(&ir(&quickstart(), None, &["batch=true"]));
    assert_eq!(d["code"], "type-mismatch");
    assert_eq!(
        (&d["file"], &d["line"], &d["column"], &d["end_column"]),
        (&"<--set 1>".into(), &1.into(), &7.into(), &11.into())
    );

    let d = one_diagnostic(&ir(&quickstart(), None, &["bogus=1"]));
    assert_eq!(d["code"], "invalid-override");
    assert!(d["help"].as_str().unwrap().contains("batch"), "{d}");

    let d = one_diagnostic(&exp_driver::estimate(&quickstart(), None, &sets(&["batch=0"]), true, Format::Json));
    assert_eq!(d["code"], "invalid-value");

    for bad in ["nonsense", "=3", "batch.=3", "optimizer..lr=1", "batch=(", "batch=1 2"] {
        let out = ir(&quickstart(), None, &[bad]);
        assert_eq!(out.code, 2, "--set {bad}: {out:?}");
        assert!(out.stdout.is_empty() && out.stderr.starts_with("error: "), "--set {bad}: {out:?}");
    }
    assert!(ir(&quickstart(), None, &["nonsense"]).stderr.contains("path=value"));
}

#[test]
fn extends_provenance() {
    let text = ir_ok(&grokking(), Some("no_decay"), &[]);
    for inherited in ["batch", "data", "model", "optimizer.lr", "optimizer.betas", "seed", "train"] {
        assert_eq!(config_entry(&text, inherited).1, "from extends grok", "{inherited}");
    }
    assert_eq!(config_entry(&text, "optimizer.weight_decay"), ("0.0".into(), "from declaration".into()));
    assert_eq!(config_entry(&text, "optimizer.eps").1, "from default");
    assert!(text.lines().any(|l| l.trim() == "hyper weight_decay = 0.0"), "{text}");

    let grok = ir_ok(&grokking(), Some("grok"), &[]);
    assert_eq!(config_entry(&grok, "optimizer.weight_decay"), ("1.0".into(), "from declaration".into()));
    assert_eq!(config_entry(&grok, "batch").1, "from declaration");

    // --set on an extension wins over both.
    let text = ir_ok(&grokking(), Some("no_decay"), &["optimizer.weight_decay=0.5", "batch=128"]);
    assert_eq!(config_entry(&text, "optimizer.weight_decay"), ("0.5".into(), "from --set".into()));
    assert_eq!(config_entry(&text, "batch"), ("128".into(), "from --set".into()));
    assert_eq!(config_entry(&text, "train").1, "from extends grok");
}

// ---- determinism ----

#[test]
fn ir_is_deterministic_and_the_hash_follows_every_value() {
    let a = ir_ok(&quickstart(), None, &[]);
    let b = ir_ok(&quickstart(), None, &[]);
    assert_eq!(a, b, "two runs of `ir` differ");
    let parsed = exp_ir::parse(&a).expect("the printed IR parses");
    assert_eq!(hash_line(&a), format!("hash {}", parsed.compute_hash()), "the hash line is the content hash");
    assert_eq!(parsed.hash, parsed.compute_hash());

    let mut seen = std::collections::BTreeMap::new();
    seen.insert(hash_line(&a).to_string(), "(none)".to_string());
    for set in [
        "seed=1",
        "batch=65",
        "train=41 epochs",
        "optimizer.weight_decay=0.02",
        "optimizer.lr.base=0.004",
        "optimizer.lr.warmup=21 steps",
        "optimizer.betas=(0.9, 0.99)",
        "loss.label_smoothing=0.1",
        "model=flatten >> mlp(width: 64, depth: 2, classes: 10)",
    ] {
        let text = ir_ok(&quickstart(), None, &[set]);
        assert_eq!(text, ir_ok(&quickstart(), None, &[set]), "--set {set}: two runs differ");
        if let Some(other) = seen.insert(hash_line(&text).to_string(), set.to_string()) {
            panic!("--set {set} gives the same hash as {other}");
        }
    }

    // The JSON form names the same hash.
    let out = exp_driver::ir(&quickstart(), None, &[], true, Format::Json);
    assert_eq!(out.code, 0);
    let json = exp_ir::from_json(&out.stdout).expect("ir --json reads back");
    assert_eq!(format!("hash {}", json.hash), hash_line(&a));
}

/// `--set` values name things of the experiment's file, like values written in it.
#[test]
fn set_values_resolve_names_in_the_experiments_file() {
    let path = exp_tests::root().join("examples/quickstart/main.exp");
    let out = exp_driver::ir(&path, None, &sets(&["data=digits >> scale(2.0)"]), false, Format::Json);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("transform scale(factor: 2.0)"), "{}", out.stdout);
}
