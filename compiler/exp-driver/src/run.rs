//! `expc run`: compile an experiment, then train it with the runtime, writing the run
//! directory. Runtime errors are reported at the `.exp` source through the IR's origins.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use candle_core::Device;
use exp_db::RootDb;
use exp_diagnostics::{render, Code, Diagnostic, RenderStyle};
use exp_runtime::train::{train, Observer, RunOptions, Summary};

use crate::commands::{compile, Format, Outcome};

/// Options of `expc run`.
#[derive(Clone, Debug, Default)]
pub struct RunArgs {
    /// The `.exp` file.
    pub file: PathBuf,
    /// The experiment, when the file declares several.
    pub experiment: Option<String>,
    /// `--set path=value` overrides.
    pub sets: Vec<String>,
    /// `--seed N`, a shorthand for `--set seed=N`.
    pub seed: Option<u64>,
    /// `--out DIR`: the run directory exactly.
    pub out: Option<PathBuf>,
    /// `--resume RUN_DIR`: continue a run from its latest checkpoint.
    pub resume: Option<PathBuf>,
    /// Steps between checkpoints.
    pub checkpoint_every: Option<u64>,
    /// Stop after this many steps, with a checkpoint, as if interrupted.
    pub max_steps: Option<u64>,
    /// Initial parameters from a safetensors file (`--init-from`).
    pub init_from: Option<PathBuf>,
    /// Compose Candle ops instead of running compiled kernels (`--no-jit`).
    pub no_jit: bool,
    /// `--device`: `cpu` (the default), `cuda`, `cuda:N`, `metal` or `metal:N`.
    pub device: Option<String>,
}

/// Opens the device named by `--device`, or says why it cannot.
pub fn open_device(spec: Option<&str>) -> Result<Device, String> {
    let spec = spec.unwrap_or("cpu");
    let (kind, ordinal) = match spec.split_once(':') {
        Some((k, n)) => (k, n.parse::<usize>().map_err(|_| format!("`{spec}`: the device number must be an integer"))?),
        None => (spec, 0),
    };
    let built = |feature: &str| {
        format!(
            "this expc was built without {feature} support; build it with `cargo build --release --features {}` \
             (for CUDA without a local toolkit, see bench/gpu/build_cuda.sh), or use `--device cpu`",
            feature.to_lowercase()
        )
    };
    match kind {
        "cpu" => Ok(Device::Cpu),
        "cuda" if cfg!(feature = "cuda") => {
            Device::new_cuda(ordinal).map_err(|e| format!("cannot open CUDA device {ordinal}: {e}"))
        }
        "metal" if cfg!(feature = "metal") => {
            Device::new_metal(ordinal).map_err(|e| format!("cannot open Metal device {ordinal}: {e}"))
        }
        "cuda" => Err(built("CUDA")),
        "metal" => Err(built("Metal")),
        _ => Err(format!("unknown device `{spec}`; expected `cpu`, `cuda`, `cuda:N`, `metal` or `metal:N`")),
    }
}

/// Progress on a terminal: a bar with steps/s, the loss and the latest probes.
struct Bar {
    bar: indicatif::ProgressBar,
    probes: String,
}

impl Observer for Bar {
    fn message(&mut self, line: &str) {
        self.bar.println(line);
    }
    fn step(&mut self, step: u64, total: u64, loss: f64) {
        if self.bar.length() != Some(total) {
            self.bar.set_length(total);
        }
        self.bar.set_position(step);
        if step % 10 == 0 || step == total {
            self.bar.set_message(format!("loss {loss:.4}{}", self.probes));
        }
    }
    fn probes(&mut self, _step: u64, values: &[(String, f64)]) {
        self.probes = values.iter().map(|(n, v)| format!("  {n} {v:.4}")).collect();
    }
}

/// Progress when not on a terminal: plain periodic lines.
struct Lines {
    every: u64,
    quiet: bool,
}

impl Observer for Lines {
    fn message(&mut self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }
    fn step(&mut self, step: u64, total: u64, loss: f64) {
        if !self.quiet && (step % self.every == 0 || step == total) {
            eprintln!("step {step}/{total}  loss {loss:.4}");
        }
    }
    fn probes(&mut self, step: u64, values: &[(String, f64)]) {
        if !self.quiet {
            let parts: Vec<String> = values.iter().map(|(n, v)| format!("{n} {v:.4}")).collect();
            eprintln!("step {step}  {}", parts.join("  "));
        }
    }
}

/// The model summary printed at the start: each node, its output shape and parameter count,
/// then totals and the memory estimate.
pub fn model_summary(program: &exp_ir::Program) -> String {
    let mut out = format!("{} ({})\n", program.name, program.hash);
    for n in &program.graph.nodes {
        let count: u64 = match &n.op {
            exp_ir::NodeOp::Layer(call) => call
                .params
                .iter()
                .filter_map(|r| program.params.iter().find(|p| p.name == r.name))
                .map(|p| p.shape.numel().as_const().unwrap_or(0) as u64)
                .sum(),
            _ => 0,
        };
        let name = match &n.op {
            exp_ir::NodeOp::Elementwise { function } => function.clone(),
            op => op.name().to_string(),
        };
        let params = if count > 0 { format!("{count:>10}") } else { String::new() };
        out.push_str(&format!("  {name:<16} {:<24}{params}\n", n.ty.shape.to_string()));
    }
    let m = &program.estimates.memory;
    out.push_str(&format!(
        "  {} parameters; estimated memory {:.1} MiB at batch {} (params {:.1}, grads {:.1}, optimizer {:.1}, activations {:.1})\n",
        program.estimates.param_count,
        m.total as f64 / 1048576.0,
        program.data.batch,
        m.params as f64 / 1048576.0,
        m.grads as f64 / 1048576.0,
        m.optimizer_state as f64 / 1048576.0,
        m.activations as f64 / 1048576.0,
    ));
    out
}

/// `expc run`.
pub fn run(args: &RunArgs, interrupt: Arc<AtomicBool>, quiet: bool) -> Outcome {
    let mut out = Outcome::default();
    let device = match open_device(args.device.as_deref()) {
        Ok(d) => d,
        Err(msg) => return Outcome { stderr: format!("error: {msg}\n"), code: 2, ..Outcome::default() },
    };
    let mut db = RootDb::default();
    let mut sets = args.sets.clone();
    if let Some(seed) = args.seed {
        sets.push(format!("seed={seed}"));
    }
    let program = match compile(&mut db, &args.file, args.experiment.as_deref(), &sets, Format::Human) {
        Ok(p) => p,
        Err(out) => return *out,
    };
    let run_dir = match (&args.resume, &args.out) {
        (Some(dir), _) => dir.clone(),
        (None, Some(dir)) => dir.clone(),
        (None, None) => default_dir(&program.name, &program.hash),
    };
    if args.resume.is_some() {
        if let Err(msg) = same_recipe(&run_dir, &program) {
            return Outcome {
                stderr: format!("error: cannot resume `{}`: {msg}\n", run_dir.display()),
                code: 1,
                ..Outcome::default()
            };
        }
    }
    let store = match exp_runtime::store::FsStore::create(&run_dir) {
        Ok(s) => Arc::new(s),
        Err(e) => return Outcome { stderr: runtime_error(&db, &program, &e), code: 1, ..Outcome::default() },
    };
    let dir = exp_runtime::rundir::RunDir::new(store.clone());
    if args.resume.is_none() {
        if let Err(e) = prepare(&dir, &program) {
            return Outcome { stderr: runtime_error(&db, &program, &e), code: 1, ..Outcome::default() };
        }
    }
    let base_dir = args.file.parent().map(Path::to_path_buf).unwrap_or_default();
    let opts = RunOptions {
        base_dir,
        store,
        resume: args.resume.is_some(),
        checkpoint_every: args.checkpoint_every.unwrap_or(0),
        interrupt,
        max_steps: args.max_steps,
        init_from: args.init_from.clone(),
        jit: !args.no_jit,
        device,
    };
    let summary = model_summary(&program);
    let _ = dir.write("model.txt", summary.as_bytes());
    let result = if std::io::stderr().is_terminal() && !quiet {
        eprint!("{summary}");
        let style = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {per_sec} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        let bar = indicatif::ProgressBar::new(0).with_style(style);
        let mut obs = Bar { bar: bar.clone(), probes: String::new() };
        let r = train(&program, &opts, &mut obs);
        bar.finish_and_clear();
        r
    } else {
        if !quiet {
            eprint!("{summary}");
        }
        train(&program, &opts, &mut Lines { every: 100, quiet })
    };
    match result {
        Ok(s) => {
            out.stdout = summary_text(&s, &run_dir);
            out
        }
        Err(e) => {
            out.stderr = runtime_error(&db, &program, &e);
            out.code = 1;
            out
        }
    }
}

fn default_dir(name: &str, hash: &str) -> PathBuf {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    PathBuf::from("runs").join(name).join(format!("{secs}-{}", &hash[..8.min(hash.len())]))
}

/// Writes `ir.expir` and `config.json` before training starts.
fn prepare(dir: &exp_runtime::rundir::RunDir, program: &exp_ir::Program) -> exp_runtime::Result<()> {
    dir.write("ir.expir", exp_ir::print(program).as_bytes())?;
    let config: Vec<serde_json::Value> = program
        .config
        .iter()
        .map(|c| serde_json::json!({ "path": c.path, "value": format!("{:?}", c.value), "provenance": format!("{:?}", c.provenance) }))
        .collect();
    let json = serde_json::json!({ "experiment": program.name, "hash": program.hash, "config": config });
    dir.write("config.json", format!("{json:#}\n").as_bytes())
}

/// Refuses to resume a run of a different recipe, saying what changed.
fn same_recipe(dir: &Path, program: &exp_ir::Program) -> Result<(), String> {
    let store = exp_runtime::store::FsStore::open(dir);
    let bytes = exp_runtime::store::RunStore::read(&store, "ir.expir")
        .map_err(|e| format!("cannot read its `ir.expir` ({e})"))?
        .ok_or("no `ir.expir` there")?;
    let text = String::from_utf8_lossy(&bytes);
    let old = exp_ir::parse(&text).map_err(|e| format!("its `ir.expir` does not parse: {}", e.message))?;
    if old.hash == program.hash {
        return Ok(());
    }
    let mut changes = Vec::new();
    for c in &program.config {
        match old.config.iter().find(|o| o.path == c.path) {
            Some(o) if o.value != c.value => changes.push(format!("`{}` was {:?}, now {:?}", c.path, o.value, c.value)),
            None => changes.push(format!("`{}` is new", c.path)),
            _ => {}
        }
    }
    for p in &program.params {
        match old.params.iter().find(|o| o.name == p.name) {
            Some(o) if o.shape != p.shape => {
                changes.push(format!("parameter `{}` was {}, now {}", p.name, o.shape, p.shape))
            }
            None => changes.push(format!("parameter `{}` is new", p.name)),
            _ => {}
        }
    }
    if changes.is_empty() {
        changes.push("the IR differs".into());
    }
    Err(format!("the experiment changed since that run: {}", changes.join("; ")))
}

fn summary_text(s: &Summary, dir: &Path) -> String {
    let probes: Vec<String> = s.probes.iter().map(|(n, v)| format!("{n} {v:.4}")).collect();
    format!(
        "run {} after {} steps ({} epochs), {:.1} steps/s\n{}\nrun directory: {}\n",
        s.ended,
        s.steps,
        s.epochs,
        s.steps_per_second,
        probes.join("  "),
        dir.display()
    )
}

/// A runtime error rendered at its `.exp` source when the IR knows where it came from.
fn runtime_error(db: &RootDb, program: &exp_ir::Program, e: &exp_runtime::RunError) -> String {
    let Some(origin) = e.origin else {
        return format!(
            "error: {}\n{}",
            e.message,
            e.help.as_ref().map(|h| format!("  help: {h}\n")).unwrap_or_default()
        );
    };
    let file = program.files.get(origin.file as usize).cloned().unwrap_or_default();
    let span = exp_syntax::Span::new(origin.start as usize, origin.end as usize);
    let (code, label) = match e.kind {
        exp_runtime::ErrorKind::Data => (Code::InvalidDataSource, "while loading this"),
        exp_runtime::ErrorKind::Run => (Code::RuntimeError, "while running this"),
    };
    let mut d = Diagnostic::error(code, e.message.clone(), file.as_str(), span, label);
    if let Some(h) = &e.help {
        d = d.with_help(h.clone());
    }
    let _ = Ordering::SeqCst;
    render(&[d], &crate::sources::sources(db), RenderStyle::default())
}
