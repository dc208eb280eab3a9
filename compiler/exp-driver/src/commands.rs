//! The commands. Each returns what it printed and its exit code:
//! 0 success, 1 user error (diagnostics printed), 2 usage error.

use std::io::IsTerminal;
use std::path::PathBuf;

use exp_db::{RootDb, SourceFile};
use exp_diagnostics::{render, to_json, Code, Diagnostic, RenderStyle, Severity};
use exp_hir::Elaborated;

use crate::load::{expand, load};
use crate::sources::sources;

/// What a command printed, and its exit code.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The exit code.
    pub code: i32,
}

impl Outcome {
    fn usage(msg: String) -> Outcome {
        Outcome { stderr: format!("error: {msg}\n"), code: 2, ..Outcome::default() }
    }
}

/// How diagnostics are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Rendered for people, with source snippets.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

fn style() -> RenderStyle {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    RenderStyle { color, ..RenderStyle::default() }
}

/// Prints diagnostics in the chosen format; returns whether any is an error.
fn report(db: &RootDb, diags: &[Diagnostic], format: Format, out: &mut Outcome) -> bool {
    let srcs = sources(db);
    match format {
        Format::Json => {
            for d in diags {
                out.stdout.push_str(&to_json(d, &srcs).to_string());
                out.stdout.push('\n');
            }
        }
        Format::Human if !diags.is_empty() => {
            out.stderr.push_str(&render(diags, &srcs, style()));
            let errors = diags.iter().filter(|d| d.severity == Severity::Error).count();
            let warnings = diags.len() - errors;
            out.stderr.push_str(&format!("{errors} error(s), {warnings} warning(s)\n"));
        }
        Format::Human => {}
    }
    diags.iter().any(|d| d.severity == Severity::Error)
}

/// `expc check PATH...`: every diagnostic of the named files (directories are searched for
/// `.exp` files). Exit 1 on any error.
pub fn check(paths: &[PathBuf], format: Format) -> Outcome {
    let mut out = Outcome::default();
    let names = match expand(paths) {
        Ok(n) => n,
        Err(e) => return Outcome::usage(format!("cannot read `{}`: {}", e.path, e.error)),
    };
    if names.is_empty() {
        return Outcome::usage("no `.exp` files to check".into());
    }
    let mut db = RootDb::default();
    let files = match load(&mut db, &names) {
        Ok(f) => f,
        Err(e) => return Outcome::usage(format!("cannot read `{}`: {}", e.path, e.error)),
    };
    let diags: Vec<Diagnostic> = files.iter().flat_map(|f| exp_hir::file_diagnostics(&db, *f)).collect();
    let failed = report(&db, &diags, format, &mut out);
    if format == Format::Human && diags.is_empty() {
        out.stderr.push_str(&format!("checked {} file(s): no problems\n", files.len()));
    }
    out.code = i32::from(failed);
    out
}

/// One experiment of one loaded file, with its command-line overrides, checked.
pub(crate) struct Selected {
    /// The experiment's file.
    pub file: SourceFile,
    /// The experiment's name.
    pub key: String,
    /// Its `--set` overrides, when there are any.
    pub overrides: Option<exp_hir::Overrides>,
}

impl Selected {
    /// The experiment's elaboration (cached by the database).
    pub fn elaboration<'db>(&self, db: &'db RootDb) -> Option<&'db std::sync::Arc<Elaborated>> {
        let item = exp_hir::items::lookup(db, self.file, &self.key)?;
        Some(match self.overrides {
            Some(o) => exp_hir::elaborated_with(db, item, o),
            None => exp_hir::elaborated(db, item),
        })
    }

    /// The experiment's verified IR, or why there is none (a compiler bug: the experiment
    /// checked).
    pub fn program(&self, db: &RootDb) -> Result<std::sync::Arc<exp_ir::Program>, String> {
        let item = exp_hir::items::lookup(db, self.file, &self.key).ok_or("the experiment vanished")?;
        match exp_lower::lowered(db, item, self.overrides) {
            Ok(p) => Ok(p.clone()),
            Err(exp_lower::LoweringFailed::Bug(e)) => Err(format!("the IR of `{}`: {e}", self.key)),
            Err(exp_lower::LoweringFailed::Diagnostics(n)) => {
                Err(format!("`{}` has {n} diagnostic(s) but passed the check", self.key))
            }
        }
    }
}

/// Loads one file, picks one experiment and applies the overrides, then checks: the file's
/// diagnostics and the experiment's with its overrides. Reports why not, or the selection.
pub(crate) fn select(
    db: &mut RootDb,
    path: &std::path::Path,
    experiment: Option<&str>,
    sets: &[String],
    format: Format,
    out: &mut Outcome,
) -> Option<Selected> {
    let name = path.to_string_lossy().replace('\\', "/");
    let files = match load(db, &[name]) {
        Ok(f) => f,
        Err(e) => {
            *out = Outcome::usage(format!("cannot read `{}`: {}", e.path, e.error));
            return None;
        }
    };
    let file = files[0];
    let fields = match crate::overrides::parse_set(db, sets, file) {
        Ok(o) => o,
        Err(msg) => {
            *out = Outcome::usage(msg);
            return None;
        }
    };
    let key = match pick_experiment(db, file, experiment) {
        Ok(k) => k,
        Err(d) => {
            let mut diags = errors(exp_hir::file_diagnostics(db, file));
            diags.push(d);
            report(db, &diags, format, out);
            out.code = 1;
            return None;
        }
    };
    let overrides = (!fields.is_empty()).then(|| exp_hir::Overrides::new(&*db, fields));
    let selected = Selected { file, key, overrides };
    // With overrides, the experiment's own diagnostics are those of its elaboration with them
    // (a `--set` may fix a value or break one); it is elaborated once either way.
    let skip = selected.overrides.map(|_| selected.key.as_str());
    let mut diags = errors(exp_hir::file_diagnostics_except(db, file, skip));
    if selected.overrides.is_some() {
        if let Some(el) = selected.elaboration(db) {
            diags.extend(errors(el.diags.iter().map(|d| exp_hir::to_diagnostic(db, d)).collect()));
        }
    }
    if !diags.is_empty() {
        report(db, &diags, format, out);
        out.code = 1;
        return None;
    }
    Some(selected)
}

fn errors(diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    diags.into_iter().filter(|d| d.severity == Severity::Error).collect()
}

fn pick_experiment(db: &RootDb, file: SourceFile, wanted: Option<&str>) -> Result<String, Diagnostic> {
    let exps = exp_hir::items::experiments(db, file);
    let path = file.path(db).as_str();
    let span = exp_syntax::Span::point(0);
    match wanted {
        Some(w) if exps.iter().any(|e| e == w) => Ok(w.to_string()),
        Some(w) => {
            let d = Diagnostic::error(
                Code::UnknownExperiment,
                format!("no experiment `{w}` in `{path}`"),
                path,
                span,
                "in this file",
            );
            Err(d.with_help(experiments_help(&exps, "this file declares no experiment")))
        }
        None if exps.len() == 1 => Ok(exps[0].clone()),
        None => {
            let d = Diagnostic::error(
                Code::UnknownExperiment,
                format!("`{path}` declares {} experiments; name one", exps.len()),
                path,
                span,
                "in this file",
            );
            Err(d.with_help(experiments_help(&exps, "declare one with `experiment name { ... }`")))
        }
    }
}

/// The help line listing a file's experiments, or `none` when it has none.
fn experiments_help(exps: &[String], none: &str) -> String {
    if exps.is_empty() {
        return none.to_string();
    }
    format!("the experiments are {}", exps.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", "))
}

/// Loads, checks and lowers one experiment of a file with `--set` overrides, in `db`: the
/// verified IR, or what to print and the exit code. The experiment is elaborated once (its
/// check and its lowering share the database's cached elaboration).
pub fn compile(
    db: &mut RootDb,
    path: &std::path::Path,
    experiment: Option<&str>,
    sets: &[String],
    format: Format,
) -> Result<std::sync::Arc<exp_ir::Program>, Box<Outcome>> {
    let mut out = Outcome::default();
    let Some(selected) = select(db, path, experiment, sets, format, &mut out) else {
        return Err(Box::new(out));
    };
    selected.program(db).map_err(|e| Box::new(internal(e)))
}

/// `expc ir FILE [EXPERIMENT]`: the IR text, or its JSON form.
pub fn ir(path: &PathBuf, experiment: Option<&str>, sets: &[String], json: bool, format: Format) -> Outcome {
    match compile(&mut RootDb::default(), path, experiment, sets, format) {
        Ok(program) => Outcome {
            stdout: if json { exp_ir::to_json(&program) } else { exp_ir::print(&program) },
            ..Outcome::default()
        },
        Err(out) => *out,
    }
}

/// Compiles one experiment of a source text (no files, no imports of other files) to
/// verified IR, or gives the rendered diagnostics: for tests, benchmarks and tools that
/// generate `.exp` text.
pub fn compile_source(name: &str, text: &str, experiment: &str) -> Result<exp_ir::Program, String> {
    let mut db = RootDb::default();
    let file = db.set_file(name, text);
    let errors = errors(exp_hir::file_diagnostics(&db, file));
    if !errors.is_empty() {
        return Err(render(&errors, &sources(&db), RenderStyle { color: false, ..RenderStyle::default() }));
    }
    if !exp_hir::items::experiments(&db, file).iter().any(|e| e == experiment) {
        return Err(format!("no experiment `{experiment}` in `{name}`"));
    }
    let selected = Selected { file, key: experiment.to_string(), overrides: None };
    selected.program(&db).map(|p| (*p).clone())
}

fn internal(msg: String) -> Outcome {
    Outcome {
        stderr: format!(
            "internal error: {msg}\nthis is a bug in expc; please report it with the input that caused it\n"
        ),
        code: 101,
        ..Outcome::default()
    }
}

/// `expc estimate FILE [EXPERIMENT]`: parameters, memory by category, FLOPs per step.
pub fn estimate(path: &PathBuf, experiment: Option<&str>, sets: &[String], json: bool, format: Format) -> Outcome {
    let mut out = Outcome::default();
    let mut db = RootDb::default();
    let Some(selected) = select(&mut db, path, experiment, sets, format, &mut out) else {
        return out;
    };
    let Some(experiment) = selected.elaboration(&db).and_then(|el| el.experiment.as_ref()) else {
        return Outcome { stderr: "error: the model could not be sized\n".into(), code: 1, ..Outcome::default() };
    };
    let (e, batch, name) = (&experiment.estimates, experiment.batch, &experiment.name);
    if json {
        let v = serde_json::json!({
            "experiment": name,
            "batch": batch,
            "params": e.params,
            "memory": {
                "params": e.param_bytes, "grads": e.grad_bytes, "optimizer_state": e.state_bytes,
                "activations": e.activation_bytes, "total": e.total_bytes(),
            },
            "flops_per_step": e.flops_per_step,
        });
        out.stdout = format!("{v:#}\n");
    } else {
        let b = exp_hir::bytes;
        out.stdout = format!(
            "experiment {}\nparameters       {}\nmemory at batch {batch}\n  parameters     {}\n  gradients      {}\n  optimizer      {}\n  activations    {}\n  total          {}\nFLOPs per step   {}\n",
            name,
            group(e.params),
            b(e.param_bytes as f64),
            b(e.grad_bytes as f64),
            b(e.state_bytes as f64),
            b(e.activation_bytes as f64),
            b(e.total_bytes() as f64),
            group(e.flops_per_step),
        );
    }
    out
}

fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push('_');
        }
        out.push(c);
    }
    out
}

/// `expc fmt [--check] PATH...`: rewrites files in the canonical style, or with `--check`
/// lists the files that are not (exit 1).
pub fn fmt(paths: &[PathBuf], check_only: bool) -> Outcome {
    let mut out = Outcome::default();
    let names = match expand(paths) {
        Ok(n) => n,
        Err(e) => return Outcome::usage(format!("cannot read `{}`: {}", e.path, e.error)),
    };
    for name in names {
        let text = match std::fs::read_to_string(&name) {
            Ok(t) => t,
            Err(e) => return Outcome::usage(format!("cannot read `{name}`: {e}")),
        };
        let parsed = exp_syntax::parse(&text);
        if !parsed.errors.is_empty() {
            out.stderr.push_str(&format!("{name}: not formatted: it has syntax errors (see `expc check {name}`)\n"));
            out.code = 1;
            continue;
        }
        let formatted = exp_syntax::format(&parsed, &text);
        if formatted == text {
            continue;
        }
        if check_only {
            out.stdout.push_str(&format!("{name}\n"));
            out.code = 1;
        } else if let Err(e) = exp_runtime::store::write_atomic(std::path::Path::new(&name), formatted.as_bytes()) {
            out.stderr.push_str(&format!("error: cannot write `{name}`: {e}\n"));
            out.code = 1;
        }
    }
    out
}

/// `expc explain CODE`: the page for a diagnostic code.
pub fn explain(code: &str) -> Outcome {
    match exp_diagnostics::explain(code) {
        Some(page) => Outcome { stdout: page, ..Outcome::default() },
        None => {
            let codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
            Outcome::usage(format!("unknown code `{code}`; the codes are: {}", codes.join(", ")))
        }
    }
}
