//! The training loop: data, model, loss, backward, optimizer, probes, stop rules,
//! checkpoints, and the files of the run directory.
//!
//! Determinism: every random draw comes from a generator seeded from the IR's derived seeds,
//! and every generator's state is checkpointed, so the same IR, seed, device and thread
//! count give the same metrics and weights, and a resumed run ends bit-identical to an
//! uninterrupted one.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use candle_core::{Device, Tensor};
use exp_ir::{Frequency, Program};

use crate::checkpoint::{self, TrainState};
use crate::data::{batch_tensors, Batches, Splits};
use crate::exec::{Mode, Model};
use crate::optim::{clip, hyper_values, sum_of_squares, OptimizerState, Progress};
use crate::probes::{check_stops, evaluate, fires};
use crate::rng::Rng;
use crate::rundir::RunDir;
use crate::store::RunStore;
use crate::{Result, RunError};

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The directory of the `.exp` file: data paths are relative to it.
    pub base_dir: PathBuf,
    /// Where the run's files go (a directory on disk: [`crate::store::FsStore`]).
    pub store: Arc<dyn RunStore>,
    /// Continue from the run directory's latest checkpoint.
    pub resume: bool,
    /// Steps between checkpoints (0: only at the end and on interruption).
    pub checkpoint_every: u64,
    /// Set from another thread (Ctrl-C) to stop after the current step with a checkpoint.
    pub interrupt: Arc<AtomicBool>,
    /// Stop after this many steps in total, as if interrupted (for tests and dry runs).
    pub max_steps: Option<u64>,
    /// Initial parameters from a safetensors file, matched by name (`--init-from`).
    pub init_from: Option<PathBuf>,
    /// Use compiled kernels where they apply (`--no-jit` turns them off).
    pub jit: bool,
    /// Where the model, batches and optimizer state live (`--device`).
    pub device: Device,
}

/// Why a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// Every step of `train` ran.
    Completed,
    /// The stop rule with this index (into the IR's `stop_rules`) held.
    StopRule(usize),
    /// Interrupted (Ctrl-C, or `--max-steps` reached) after writing a checkpoint to resume from.
    Interrupted,
}

/// `completed`, `stop rule N` (counted from 1, as written) or `interrupted`: the words of
/// `summary.json` and the run's last line.
impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ended::Completed => f.write_str("completed"),
            Ended::StopRule(i) => write!(f, "stop rule {}", i + 1),
            Ended::Interrupted => f.write_str("interrupted"),
        }
    }
}

impl serde::Serialize for Ended {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What a run did.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Steps completed.
    pub steps: u64,
    /// Epochs completed.
    pub epochs: u64,
    /// Why it ended.
    pub ended: Ended,
    /// The latest value of every probe.
    pub probes: BTreeMap<String, f64>,
    /// Wall time of this process's part of the run, in seconds.
    pub wall_seconds: f64,
    /// Training steps per second in this process.
    pub steps_per_second: f64,
}

/// Receives progress; the driver draws a progress bar or prints lines.
pub trait Observer {
    /// A message for the log (model summary, resume notes).
    fn message(&mut self, line: &str);
    /// After each step.
    fn step(&mut self, step: u64, total: u64, loss: f64);
    /// After each probe event.
    fn probes(&mut self, step: u64, values: &[(String, f64)]);
}

/// Trains `program`, writing the run directory; returns the summary.
///
/// The run takes place on a thread of the global rayon pool: the parallel parts of a step
/// (products, kernels, pools) then split their work with the thread that reaches them, rather
/// than handing all of it to the pool and sleeping while it runs.
pub fn train(program: &Program, opts: &RunOptions, obs: &mut (dyn Observer + Send)) -> Result<Summary> {
    rayon::scope(|_| {
        let mut run = TrainLoop::start(program, opts, obs)?;
        let started = Instant::now();
        let first = run.step;
        let ended = run.run(obs)?;
        run.finish(ended, first, started.elapsed().as_secs_f64())
    })
}

/// One run in progress: everything a step changes, and everything a checkpoint saves.
struct TrainLoop<'a> {
    program: &'a Program,
    opts: &'a RunOptions,
    dir: RunDir,
    splits: Splits,
    /// Steps per epoch.
    spe: u64,
    /// Steps in the whole run.
    total: u64,
    model: Model,
    opt: OptimizerState,
    batches: Batches,
    dropout_rng: Rng,
    noise_rng: Rng,
    /// Consecutive probe events each stop rule has held for.
    stop_counts: Vec<u32>,
    /// Optimizer steps completed.
    step: u64,
    /// The latest value of every probe.
    latest: BTreeMap<String, f64>,
    /// The rows of `metrics.jsonl` so far.
    rows: Vec<String>,
}

impl<'a> TrainLoop<'a> {
    /// Loads the data, builds and initializes the model (from `--init-from` or the latest
    /// checkpoint when resuming).
    fn start(program: &'a Program, opts: &'a RunOptions, obs: &mut dyn Observer) -> Result<TrainLoop<'a>> {
        let dir = RunDir::new(opts.store.clone());
        // Generated data depends on the source's own `seed` argument only, so sweeping the
        // experiment's seed varies initialization and order but keeps the data fixed.
        let data_seed = exp_ir::derive_seed(0, exp_ir::SeedPurpose::Data);
        let splits = crate::data::load(&program.data, &opts.base_dir, data_seed)?;
        let batch = program.data.batch.max(1) as usize;
        let spe = (splits.train.n.div_ceil(batch)).max(1) as u64;
        let total = match program.train.length {
            Frequency::Steps(n) => n,
            Frequency::Epochs(e) => e * spe,
        };
        let mut model = Model::init(program, &mut Rng::new(program.seeds.init))?;
        model.to_device(&opts.device)?;
        if opts.jit {
            model.compile_elementwise(program);
        }
        if let Some(path) = &opts.init_from {
            let n = init_from(&mut model, path)?;
            obs.message(&format!("initialized {n} tensors from `{}`", path.display()));
        }
        let batches = Batches::for_plan(&program.data, &splits.train, program.seeds.shuffle)?;
        let mut run = TrainLoop {
            program,
            opts,
            dir,
            splits,
            spe,
            total,
            model,
            opt: OptimizerState::new(opts.jit),
            batches,
            dropout_rng: Rng::new(program.seeds.dropout),
            noise_rng: Rng::new(program.seeds.noise),
            stop_counts: vec![0; program.train.stop_rules.len()],
            step: 0,
            latest: BTreeMap::new(),
            rows: Vec::new(),
        };
        if opts.resume {
            run.resume(obs)?;
        }
        obs.message(&format!(
            "{} parameters, {} steps ({} per epoch), batch {batch}",
            program.estimates.param_count, total, spe
        ));
        Ok(run)
    }

    /// Restores the latest checkpoint: parameters, optimizer state, generators, the data
    /// position, stop-rule counts and the metrics rows up to it.
    fn resume(&mut self, obs: &mut dyn Observer) -> Result<()> {
        let Some((step, name)) = self.dir.latest_checkpoint()? else { return Ok(()) };
        let bytes = self.dir.read(&name)?.ok_or_else(|| RunError::new(format!("`{name}` vanished")))?;
        let (tensors, state) = checkpoint::decode(&bytes, &self.dir.locate(&name))?;
        let state =
            state.ok_or_else(|| RunError::new(format!("`{}` has no training state", self.dir.locate(&name))))?;
        if state.hash != self.program.hash {
            return Err(RunError::new(format!(
                "the checkpoint belongs to IR `{}`, but this experiment is `{}`",
                state.hash, self.program.hash
            )));
        }
        restore(&mut self.model, &mut self.opt, self.program, tensors)?;
        self.batches = serde_json::from_value(state.batches)
            .map_err(|e| RunError::new(format!("bad data position in checkpoint: {e}")))?;
        (self.dropout_rng, self.noise_rng, self.stop_counts, self.step) =
            (state.dropout_rng, state.noise_rng, state.stop_counts, step);
        self.rows = read_rows(&self.dir, step)?;
        obs.message(&format!("resumed from step {step}"));
        self.dir.log(&format!("resumed from step {step}"));
        Ok(())
    }

    /// Steps until the run's length, a stop rule or an interruption ends it.
    fn run(&mut self, obs: &mut dyn Observer) -> Result<Ended> {
        while self.step < self.total {
            if self.opts.interrupt.load(Ordering::SeqCst) || self.opts.max_steps.is_some_and(|m| self.step >= m) {
                self.checkpoint()?;
                return Ok(Ended::Interrupted);
            }
            self.train_step(obs)?;
            if let Some(rule) = self.probe(obs)? {
                self.checkpoint()?;
                return Ok(Ended::StopRule(rule));
            }
            if self.opts.checkpoint_every > 0 && self.step.is_multiple_of(self.opts.checkpoint_every) {
                self.checkpoint()?;
            }
        }
        Ok(Ended::Completed)
    }

    /// One optimizer step on the next batch. A non-finite loss or gradient writes a
    /// checkpoint of the last finite state and fails at the op that produced it.
    fn train_step(&mut self, obs: &mut dyn Observer) -> Result<()> {
        let program = self.program;
        let idx = self.batches.next_batch();
        let (x, y) = batch_tensors(&self.splits.train, &idx, self.model.device())?;
        let rng_before = self.dropout_rng.clone();
        let pass = self.model.train_forward(program, &x, &mut self.dropout_rng)?;
        let loss = crate::loss::loss(&program.loss, pass.output(), &y)?;
        let lv = loss.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
        let at_step = self.step + 1;
        if !lv.is_finite() {
            self.checkpoint()?;
            let help = format!(
                "the last finite state is in `{}`; try a smaller learning rate",
                self.dir.locate(&RunDir::checkpoint(self.step))
            );
            // Replay the step's forward pass to name the first op whose output went non-finite.
            let err = match self.model.first_non_finite(program, &x, Mode::Train, &mut rng_before.clone()) {
                Err(e) => RunError::at(format!("{} at step {at_step}", e.message), e.origin),
                Ok(_) => RunError::at(format!("the loss became {lv} at step {at_step}"), program.loss.origin),
            };
            return Err(err.with_help(help));
        }
        let grads = pass.gradients(&self.model, &loss)?;
        let params = self.model.params();
        let mut gs: Vec<Tensor> = Vec::with_capacity(params.len());
        let mut sq = 0.0;
        for ((name, var), g) in params.iter().zip(grads) {
            let g = match g {
                Some(g) => g,
                None => var.as_tensor().zeros_like()?,
            };
            let s = sum_of_squares(&g)?;
            if !s.is_finite() {
                self.checkpoint()?;
                return Err(RunError::new(format!("the gradient of `{name}` became non-finite at step {at_step}")));
            }
            sq += s;
            gs.push(g);
        }
        clip(&program.optimizer.clip, &mut gs, sq.sqrt())?;
        let progress = Progress { step: self.step, epoch: self.step / self.spe, total_steps: self.total };
        let hypers = hyper_values(program, progress)?;
        for ((name, var), g) in params.iter().zip(&gs) {
            self.opt.step(program, name, var, g, at_step, &hypers, &mut self.noise_rng)?;
        }
        self.step += 1;
        obs.step(self.step, self.total, lv);
        Ok(())
    }

    /// Takes the probes due after this step, records them, and returns the stop rule that
    /// now holds, if any.
    fn probe(&mut self, obs: &mut dyn Observer) -> Result<Option<usize>> {
        let (program, step, epoch) = (self.program, self.step, self.step / self.spe);
        let epoch_done = step.is_multiple_of(self.spe);
        let firing: Vec<_> = program.train.probes.iter().filter(|p| fires(p, step, epoch, epoch_done)).collect();
        if firing.is_empty() {
            return Ok(None);
        }
        let values = evaluate(program, &self.model, &self.splits, &firing, &mut self.latest)?;
        self.rows.push(row(step, epoch, &values));
        write_metrics(&self.dir, program, &self.rows)?;
        obs.probes(step, &values);
        let parts: Vec<String> = values.iter().map(|(n, v)| format!("{n} {v}")).collect();
        self.dir.log(&format!("step {step} epoch {epoch}: {}", parts.join(", ")));
        Ok(check_stops(program, &self.latest, &values, &mut self.stop_counts))
    }

    /// The training state a checkpoint saves besides tensors; `batches` is `null` in the
    /// final weights, which are not resumed from.
    fn state(&self, batches: serde_json::Value) -> TrainState {
        TrainState {
            hash: self.program.hash.clone(),
            step: self.step,
            epoch: self.step / self.spe,
            batches,
            dropout_rng: self.dropout_rng.clone(),
            noise_rng: self.noise_rng.clone(),
            stop_counts: self.stop_counts.clone(),
        }
    }

    /// Writes `checkpoints/step-N.safetensors`: parameters, buffers, optimizer state and
    /// the training state, enough for a bit-identical resume.
    fn checkpoint(&self) -> Result<()> {
        let batches = serde_json::to_value(&self.batches).map_err(|e| RunError::new(e.to_string()))?;
        let mut tensors = self.model.tensors();
        for (p, slots) in self.opt.state()? {
            for (slot, t) in self.program.optimizer.state.iter().zip(slots) {
                tensors.push((format!("optim.{p}.{}", slot.name), t.clone()));
            }
        }
        self.dir.write(&RunDir::checkpoint(self.step), &checkpoint::encode(&tensors, &self.state(batches))?)
    }

    /// Writes the final weights (unless interrupted: the checkpoint is what to continue
    /// from), the log's last line and `summary.json`.
    fn finish(self, ended: Ended, first: u64, wall: f64) -> Result<Summary> {
        if ended != Ended::Interrupted {
            let params: Vec<(String, Tensor)> =
                self.model.params().into_iter().map(|(n, v)| (n, v.as_tensor().clone())).collect();
            let bytes = checkpoint::encode(&params, &self.state(serde_json::Value::Null))?;
            self.dir.write("final.safetensors", &bytes)?;
        }
        self.dir.log(&format!("ended ({ended}) after {} steps", self.step));
        let done = self.step - first;
        let summary = Summary {
            steps: self.step,
            epochs: self.step / self.spe,
            ended,
            probes: self.latest,
            wall_seconds: wall,
            steps_per_second: if wall > 0.0 { done as f64 / wall } else { 0.0 },
        };
        let json = serde_json::to_string_pretty(&summary).map_err(|e| RunError::new(e.to_string()))?;
        self.dir.write("summary.json", json.as_bytes())?;
        Ok(summary)
    }
}

/// Loads every tensor of `path` whose name is a parameter or buffer of the model, after
/// checking all their shapes; returns how many were loaded.
fn init_from(model: &mut Model, path: &std::path::Path) -> Result<usize> {
    let (tensors, _) = checkpoint::load(path)?;
    let mut wrong = Vec::new();
    let mut matched = Vec::new();
    for (name, t) in tensors {
        match model.get(&name) {
            Some(v) if v.dims() == t.dims() => matched.push((name, t)),
            Some(v) => wrong.push(format!("`{name}` is {:?} in the file but {:?} in the model", t.dims(), v.dims())),
            None => {}
        }
    }
    if !wrong.is_empty() {
        return Err(RunError::new(format!("cannot initialize from `{}`: {}", path.display(), wrong.join("; "))));
    }
    if matched.is_empty() {
        return Err(RunError::new(format!("`{}` has no tensor named like a parameter of this model", path.display()))
            .with_help("parameters are named as in the IR, e.g. `model.0.weight`; see `expc ir`"));
    }
    let n = matched.len();
    for (name, t) in matched {
        model.load(&name, t)?;
    }
    Ok(n)
}

fn restore(
    model: &mut Model,
    opt: &mut OptimizerState,
    program: &Program,
    tensors: Vec<(String, Tensor)>,
) -> Result<()> {
    let mut slots: BTreeMap<String, Vec<Option<Tensor>>> = BTreeMap::new();
    for (name, t) in tensors {
        if let Some(rest) = name.strip_prefix("optim.") {
            let Some((param, slot)) = rest.rsplit_once('.') else { continue };
            let Some(i) = program.optimizer.state.iter().position(|s| s.name == slot) else { continue };
            let entry = slots.entry(param.to_string()).or_insert_with(|| vec![None; program.optimizer.state.len()]);
            entry[i] = Some(t);
        } else {
            model.load(&name, t)?;
        }
    }
    for (param, s) in slots {
        let s: Option<Vec<Tensor>> = s.into_iter().collect();
        let s = s.ok_or_else(|| RunError::new(format!("the checkpoint lacks optimizer state of `{param}`")))?;
        let s = s.into_iter().map(|t| t.to_device(model.device())).collect::<candle_core::Result<_>>()?;
        opt.set_state(&param, s);
    }
    Ok(())
}

fn fmt_value(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        "null".into()
    }
}

fn row(step: u64, epoch: u64, values: &[(String, f64)]) -> String {
    let mut s = format!("{{\"step\": {step}, \"epoch\": {epoch}");
    for (n, v) in values {
        s.push_str(&format!(", {}: {}", serde_json::to_string(n).unwrap_or_default(), fmt_value(*v)));
    }
    s.push('}');
    s
}

/// The metrics rows already written, up to `step` (a resumed run continues from there).
fn read_rows(dir: &RunDir, step: u64) -> Result<Vec<String>> {
    let bytes = dir.read("metrics.jsonl")?.unwrap_or_default();
    Ok(String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v.get("step").and_then(|s| s.as_u64()))
                .is_some_and(|s| s <= step)
        })
        .map(str::to_string)
        .collect())
}

/// Rewrites `metrics.jsonl` and `metrics.csv` (both atomically).
fn write_metrics(dir: &RunDir, program: &Program, rows: &[String]) -> Result<()> {
    let mut jsonl = rows.join("\n");
    jsonl.push('\n');
    dir.write("metrics.jsonl", jsonl.as_bytes())?;
    let names: Vec<&str> = program.train.probes.iter().map(|p| p.name.as_str()).collect();
    let mut csv = format!("step,epoch,{}\n", names.join(","));
    for r in rows {
        let v: serde_json::Value = serde_json::from_str(r).map_err(|e| RunError::new(e.to_string()))?;
        let cell =
            |k: &str| v.get(k).map(|x| if x.is_null() { String::new() } else { x.to_string() }).unwrap_or_default();
        let cells: Vec<String> = names.iter().map(|n| cell(n)).collect();
        csv.push_str(&format!("{},{},{}\n", cell("step"), cell("epoch"), cells.join(",")));
    }
    dir.write("metrics.csv", csv.as_bytes())
}
