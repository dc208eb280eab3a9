//! Documentation that runs: every diagnostic page's example produces the page's code, and
//! every `/// Example:` line of the standard library checks without a diagnostic.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use exp_diagnostics::{Code, Severity};
use exp_driver::{Format, Outcome, RunArgs};
use exp_tests::root;

use crate::driver::TempDir;

/// The codes named in rendered diagnostics (`error[code]`, `warning[code]`).
fn codes_in(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for head in ["error[", "warning["] {
        for (at, _) in text.match_indices(head) {
            let rest = &text[at + head.len()..];
            if let Some(end) = rest.find(']') {
                let code = &rest[..end];
                if code.parse::<Code>().is_ok() {
                    out.insert(code.to_string());
                }
            }
        }
    }
    out
}

/// The fenced blocks of a Markdown section, as (info string, body).
fn fences(section: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        let Some(info) = line.strip_prefix("```") else { continue };
        let body: Vec<&str> = lines.by_ref().take_while(|l| !l.starts_with("```")).collect();
        out.push((info.trim().to_string(), body.join("\n") + "\n"));
    }
    out
}

/// Runs `expc ARGS...` in-process, the way the command line would: `check`, `ir`, `estimate`
/// and `run` (whose run directory goes under `dir`).
fn expc(args: &[String], dir: &Path) -> Result<Outcome, String> {
    let (cmd, rest) = args.split_first().ok_or("empty command")?;
    let mut file = None;
    let mut experiment = None;
    let mut sets = Vec::new();
    let mut max_steps = None;
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--set" => sets.push(it.next().ok_or("`--set` without a value")?.clone()),
            "--max-steps" => max_steps = Some(it.next().and_then(|n| n.parse().ok()).ok_or("bad `--max-steps`")?),
            a if a.starts_with("--") => return Err(format!("option `{a}` is not understood by the doc test")),
            a if file.is_none() => file = Some(dir.join(a)),
            a if experiment.is_none() => experiment = Some(a.to_string()),
            a => return Err(format!("unexpected argument `{a}`")),
        }
    }
    let file: PathBuf = file.ok_or("no file named")?;
    Ok(match cmd.as_str() {
        "check" => exp_driver::check(&[file], Format::Human),
        "ir" => exp_driver::ir(&file, experiment.as_deref(), &sets, false, Format::Human),
        "estimate" => exp_driver::estimate(&file, experiment.as_deref(), &sets, false, Format::Human),
        "run" => {
            let args = RunArgs { file, experiment, sets, max_steps, out: Some(dir.join("run")), ..RunArgs::default() };
            exp_driver::run(&args, Arc::new(AtomicBool::new(false)), true)
        }
        other => return Err(format!("command `{other}` is not understood by the doc test")),
    })
}

/// Copies the bundled digits next to an example, as `data/digits`.
fn bundle_digits(dir: &TempDir) {
    let src = root().join("examples/data/digits");
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        let bytes = std::fs::read(entry.path()).unwrap();
        let to = dir.path().join("data/digits").join(entry.file_name());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, bytes).unwrap();
    }
}

/// The page's example: its `.exp` blocks (the first is `main.exp` unless its first line is a
/// `// NAME.exp` comment, as every further block's must be) and its `expc` command
/// (`expc check main.exp` when the page shows none). Runs the command and returns the codes
/// it reported and the outcome.
fn run_page_example(code: Code) -> Result<(BTreeSet<String>, Outcome), String> {
    let page = code.page();
    let example =
        page.split("## Example").nth(1).and_then(|s| s.split("\n## ").next()).ok_or("no `## Example` section")?;
    let dir = TempDir::new("page");
    bundle_digits(&dir);
    let mut command = None;
    let mut files = 0;
    for (info, body) in fences(example) {
        match info.as_str() {
            "exp" => {
                let first = body.lines().next().unwrap_or_default();
                let name = match first.strip_prefix("// ").filter(|n| n.ends_with(".exp") && !n.contains(' ')) {
                    Some(n) => n.to_string(),
                    None if files == 0 => "main.exp".to_string(),
                    None => return Err("a second `exp` block must start with `// NAME.exp`".into()),
                };
                dir.write(&name, &body);
                files += 1;
            }
            "sh" | "console" => {
                let line = body.lines().find(|l| l.trim_start().starts_with("expc ")).ok_or("no `expc` line")?;
                command = Some(line.split_whitespace().skip(1).map(str::to_string).collect::<Vec<_>>());
            }
            other => return Err(format!("a ```{other} block in the example")),
        }
    }
    if files == 0 {
        return Err("no ```exp block".into());
    }
    let command = command.unwrap_or_else(|| vec!["check".into(), "main.exp".into()]);
    let outcome = expc(&command, dir.path())?;
    Ok((codes_in(&format!("{}{}", outcome.stdout, outcome.stderr)), outcome))
}

/// Each page's example, run with the command the page shows, reports the page's code and no
/// other, with the exit status of its severity: the example is the shortest program that
/// shows the mistake, so it must not trip over anything else first.
#[test]
fn every_diagnostic_page_example_reports_its_code() {
    let mut failures = Vec::new();
    for &code in Code::ALL {
        match run_page_example(code) {
            Ok((got, outcome)) => {
                let want_exit = if code.default_severity() == Severity::Error { 1 } else { 0 };
                if got != BTreeSet::from([code.to_string()]) || outcome.code != want_exit {
                    failures.push(format!(
                        "{code}: reported {got:?}, exit {}\n{}{}",
                        outcome.code, outcome.stdout, outcome.stderr
                    ));
                }
            }
            Err(e) => failures.push(format!("{code}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{} page examples are wrong:\n{}", failures.len(), failures.join("\n"));
}

/// A setting an `/// Example:` line is checked in: data called `digits` (so probe examples can
/// name `digits.test`), what goes before a model example, and the head that maps the model's
/// output to what the loss needs.
struct Setting {
    data: &'static str,
    before: &'static str,
    head: &'static str,
}

const SETTINGS: &[Setting] = &[
    Setting {
        data: r#"idx(dir: "data/digits", shape: [1, 8, 8], classes: 10) >> scale(1.0 / 255)"#,
        before: "",
        head: "linear(10)",
    },
    Setting { data: "gaussian_mixture(dim: 20, classes: 10, n: 1_000)", before: "", head: "linear(10)" },
    Setting {
        data: "gaussian_mixture(dim: 20, classes: 10, n: 1_000)",
        before: "reshape([1, 20]) >> ",
        head: "linear(10)",
    },
    Setting { data: "gaussian_mixture(dim: 64, classes: 10, n: 1_000)", before: "", head: "linear(10)" },
    Setting { data: "modular(p: 97)", before: "", head: "linear(97)" },
    Setting { data: "two_spirals(n: 1_000)", before: "", head: "linear(1)" },
];

/// The programs an example is checked as, most literal first: a declaration on its own; a
/// field of an experiment (`model = ...` with and without a head after it); a probe binding
/// inside a `probe` block; a block expression as the model. Every setting above is tried.
fn wrappings(example: &str) -> Vec<String> {
    let imports = "use std.data.*\nuse std.probes.*\nuse std.metrics.*\n\n";
    let declaration = ["fn ", "block ", "data ", "schedule ", "metric ", "loss ", "optimizer "];
    if declaration.iter().any(|k| example.strip_prefix(k).is_some_and(|rest| !rest.trim_start().starts_with('='))) {
        return vec![format!("{imports}{example}\n")];
    }
    let field = example.split_once(" = ").map(|(lhs, rhs)| (lhs.trim(), rhs.trim()));
    let is_field = |name: &str| exp_hir::FIELDS.iter().any(|(f, _, _)| *f == name);
    let mut out = Vec::new();
    for s in SETTINGS {
        let base = |fields: &[(&str, String)], probe: Option<&str>| {
            let mut body = vec![
                ("data", "digits".to_string()),
                ("model", format!("{}flatten >> {}", s.before, s.head)),
                ("loss", if s.head == "linear(1)" { "bce" } else { "cross_entropy" }.to_string()),
                ("optimizer", "adamw(lr: 1e-3)".to_string()),
                ("batch", "64".to_string()),
                ("train", "2 epochs".to_string()),
            ];
            for (k, v) in fields {
                match body.iter_mut().find(|(f, _)| f == k) {
                    Some(slot) => slot.1 = v.clone(),
                    None => body.push((k, v.clone())),
                }
            }
            let mut text = format!("{imports}data digits = {}\n\nexperiment doc {{\n", s.data);
            for (k, v) in body {
                text.push_str(&format!("    {k} = {v}\n"));
            }
            if let Some(p) = probe {
                text.push_str(&format!("    probe every 1 epochs {{ {p} }}\n"));
            }
            text + "}\n"
        };
        match field {
            Some(("model", m)) => {
                out.push(base(&[("model", format!("{}{m}", s.before))], None));
                out.push(base(&[("model", format!("{}{m} >> flatten >> {}", s.before, s.head))], None));
            }
            Some((name, v)) if is_field(name) => out.push(base(&[(name, v.to_string())], None)),
            Some(_) => out.push(base(&[], Some(example))),
            None => out.push(base(&[("model", format!("{}{example} >> flatten >> {}", s.before, s.head))], None)),
        }
    }
    out
}

/// Every `/// Example:` line of the standard library checks without a diagnostic in at least
/// one of the settings above (imports of the non-prelude modules aside): the docs show code
/// that works, in the form the stdlib README promises.
#[test]
fn every_stdlib_example_checks() {
    let dir = TempDir::new("stdlib-examples");
    bundle_digits(&dir);
    let mut failures = Vec::new();
    let mut checked = 0;
    for (module, _, text) in exp_stdlib::FILES {
        for line in text.lines() {
            let Some(rest) = line.trim().strip_prefix("/// Example:") else { continue };
            let example = rest.trim().trim_start_matches('`').trim_end_matches('`');
            checked += 1;
            let mut best: Option<String> = None;
            for program in wrappings(example) {
                let path = dir.write("doc.exp", &program);
                let out = exp_driver::check(&[path], Format::Human);
                let codes = codes_in(&out.stderr);
                if codes.iter().all(|c| c == "unused-import") {
                    best = None;
                    break;
                }
                if best.is_none() {
                    best = Some(format!("{program}{}", out.stderr));
                }
            }
            if let Some(report) = best {
                failures.push(format!("{module}: `{example}`, first try:\n{report}"));
            }
        }
    }
    assert!(checked >= 80, "found only {checked} examples");
    assert!(failures.is_empty(), "{} stdlib examples fail:\n{}", failures.len(), failures.join("\n"));
}
