//! The training loop: data, model, loss, backward, optimizer, probes, stop rules,
//! checkpoints, and the files of the run directory.
//!
//! Determinism: every random draw comes from a generator seeded from the IR's derived seeds,
//! and every generator's state is checkpointed, so the same IR, seed, device and thread
//! count give the same metrics and weights, and a resumed run ends bit-identical to an
//! uninterrupted one.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use candle_core::{Device, Tensor};
use exp_ir::{Frequency, Program};

use crate::checkpoint::{self, TrainState};
use crate::data::{batch_tensors, Batches};
use crate::exec::{Mode, Model};
use crate::optim::{clip, hyper_values, sum_of_squares, OptimizerState, Progress};
use crate::probes::{check_stops, evaluate, fires};
use crate::rng::Rng;
use crate::rundir::{write_atomic, RunDir};
use crate::{Result, RunError};

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The directory of the `.exp` file: data paths are relative to it.
    pub base_dir: PathBuf,
    /// The run directory.
    pub run_dir: PathBuf,
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

/// What a run did.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Steps completed.
    pub steps: u64,
    /// Epochs completed.
    pub epochs: u64,
    /// Why it ended: `completed`, `stop rule N`, or `interrupted`.
    pub ended: String,
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
    rayon::scope(|_| train_here(program, opts, obs))
}

fn train_here(program: &Program, opts: &RunOptions, obs: &mut (dyn Observer + Send)) -> Result<Summary> {
    let dir = RunDir::create(&opts.run_dir)?;
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
    let mut opt = OptimizerState::new(opts.jit);
    let mut batches = Batches::for_plan(&program.data, &splits.train, program.seeds.shuffle)?;
    let mut dropout_rng = Rng::new(program.seeds.dropout);
    let mut noise_rng = Rng::new(program.seeds.noise);
    let mut stop_counts = vec![0u32; program.train.stop_rules.len()];
    let mut step = 0u64;
    let mut latest: BTreeMap<String, f64> = BTreeMap::new();
    let mut rows: Vec<String> = Vec::new();
    if opts.resume {
        if let Some((s, path)) = dir.latest_checkpoint() {
            let (tensors, state) = checkpoint::load(&path)?;
            let state = state.ok_or_else(|| RunError::new(format!("`{}` has no training state", path.display())))?;
            if state.hash != program.hash {
                return Err(RunError::new(format!(
                    "the checkpoint belongs to IR `{}`, but this experiment is `{}`",
                    state.hash, program.hash
                )));
            }
            restore(&mut model, &mut opt, program, tensors)?;
            batches = serde_json::from_value(state.batches)
                .map_err(|e| RunError::new(format!("bad data position in checkpoint: {e}")))?;
            (dropout_rng, noise_rng, stop_counts, step) = (state.dropout_rng, state.noise_rng, state.stop_counts, s);
            rows = read_rows(&dir, step);
            obs.message(&format!("resumed from step {step}"));
            dir.log(&format!("resumed from step {step}"));
        }
    }
    obs.message(&format!(
        "{} parameters, {} steps ({} per epoch), batch {batch}",
        program.estimates.param_count, total, spe
    ));
    let start = Instant::now();
    let first = step;
    let mut ended = "completed".to_string();
    let save = |step: u64,
                model: &Model,
                opt: &OptimizerState,
                batches: &Batches,
                d: &Rng,
                n: &Rng,
                counts: &[u32]|
     -> Result<()> {
        let state = TrainState {
            hash: program.hash.clone(),
            step,
            epoch: step / spe,
            batches: serde_json::to_value(batches).map_err(|e| RunError::new(e.to_string()))?,
            dropout_rng: d.clone(),
            noise_rng: n.clone(),
            stop_counts: counts.to_vec(),
        };
        let mut tensors = model.tensors();
        for (p, slots) in opt.state()? {
            for (slot, t) in program.optimizer.state.iter().zip(slots) {
                tensors.push((format!("optim.{p}.{}", slot.name), t.clone()));
            }
        }
        checkpoint::save(&dir.checkpoint(step), &tensors, &state)
    };
    while step < total {
        if opts.interrupt.load(Ordering::SeqCst) || opts.max_steps.is_some_and(|m| step >= m) {
            save(step, &model, &opt, &batches, &dropout_rng, &noise_rng, &stop_counts)?;
            ended = "interrupted".into();
            break;
        }
        let idx = batches.next_batch();
        let (x, y) = batch_tensors(&splits.train, &idx, model.device())?;
        let rng_before = dropout_rng.clone();
        let pass = model.train_forward(program, &x, &mut dropout_rng)?;
        let loss = crate::loss::loss(&program.loss, pass.output(), &y)?;
        let lv = loss.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
        if !lv.is_finite() {
            save(step, &model, &opt, &batches, &dropout_rng, &noise_rng, &stop_counts)?;
            let help = format!(
                "the last finite state is in `{}`; try a smaller learning rate",
                dir.checkpoint(step).display()
            );
            // Replay the step's forward pass to name the first op whose output went non-finite.
            let err = match model.first_non_finite(program, &x, Mode::Train, &mut rng_before.clone()) {
                Err(e) => RunError::at(format!("{} at step {}", e.message, step + 1), e.origin),
                Ok(_) => RunError::at(format!("the loss became {lv} at step {}", step + 1), program.loss.origin),
            };
            return Err(err.with_help(help));
        }
        let grads = pass.gradients(&model, &loss)?;
        let params = model.params();
        let mut gs: Vec<Tensor> = Vec::with_capacity(params.len());
        let mut sq = 0.0;
        for ((name, var), g) in params.iter().zip(grads) {
            let g = match g {
                Some(g) => g,
                None => var.as_tensor().zeros_like()?,
            };
            let s = sum_of_squares(&g)?;
            if !s.is_finite() {
                save(step, &model, &opt, &batches, &dropout_rng, &noise_rng, &stop_counts)?;
                return Err(RunError::new(format!("the gradient of `{name}` became non-finite at step {}", step + 1)));
            }
            sq += s;
            gs.push(g);
        }
        clip(&program.optimizer.clip, &mut gs, sq.sqrt())?;
        let progress = Progress { step, epoch: step / spe, total_steps: total };
        let hypers = hyper_values(program, progress)?;
        for ((name, var), g) in params.iter().zip(&gs) {
            opt.step(program, name, var, g, step + 1, &hypers, &mut noise_rng)?;
        }
        step += 1;
        obs.step(step, total, lv);
        let epoch_done = step % spe == 0;
        let firing: Vec<_> = program.train.probes.iter().filter(|p| fires(p, step, step / spe, epoch_done)).collect();
        if !firing.is_empty() {
            let values = evaluate(program, &model, &splits, &firing, &mut latest)?;
            rows.push(row(step, step / spe, &values));
            write_metrics(&dir, program, &rows)?;
            obs.probes(step, &values);
            let parts: Vec<String> = values.iter().map(|(n, v)| format!("{n} {v}")).collect();
            dir.log(&format!("step {step} epoch {}: {}", step / spe, parts.join(", ")));
            if let Some(rule) = check_stops(program, &latest, &values, &mut stop_counts) {
                ended = format!("stop rule {}", rule + 1);
                save(step, &model, &opt, &batches, &dropout_rng, &noise_rng, &stop_counts)?;
                break;
            }
        }
        if opts.checkpoint_every > 0 && step % opts.checkpoint_every == 0 {
            save(step, &model, &opt, &batches, &dropout_rng, &noise_rng, &stop_counts)?;
        }
    }
    let wall = start.elapsed().as_secs_f64();
    if ended != "interrupted" {
        let params: Vec<(String, Tensor)> =
            model.params().into_iter().map(|(n, v)| (n, v.as_tensor().clone())).collect();
        let state = TrainState {
            hash: program.hash.clone(),
            step,
            epoch: step / spe,
            batches: serde_json::Value::Null,
            dropout_rng: dropout_rng.clone(),
            noise_rng: noise_rng.clone(),
            stop_counts: stop_counts.clone(),
        };
        checkpoint::save(&dir.path("final.safetensors"), &params, &state)?;
    }
    dir.log(&format!("ended ({ended}) after {step} steps"));
    let done = step - first;
    let summary = Summary {
        steps: step,
        epochs: step / spe,
        ended,
        probes: latest,
        wall_seconds: wall,
        steps_per_second: if wall > 0.0 { done as f64 / wall } else { 0.0 },
    };
    let json = serde_json::to_string_pretty(&summary).map_err(|e| RunError::new(e.to_string()))?;
    write_atomic(&dir.path("summary.json"), json.as_bytes())?;
    Ok(summary)
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
fn read_rows(dir: &RunDir, step: u64) -> Vec<String> {
    let text = std::fs::read_to_string(dir.path("metrics.jsonl")).unwrap_or_default();
    text.lines()
        .filter(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v.get("step").and_then(|s| s.as_u64()))
                .is_some_and(|s| s <= step)
        })
        .map(str::to_string)
        .collect()
}

/// Rewrites `metrics.jsonl` and `metrics.csv` (both atomically).
fn write_metrics(dir: &RunDir, program: &Program, rows: &[String]) -> Result<()> {
    let mut jsonl = rows.join("\n");
    jsonl.push('\n');
    write_atomic(&dir.path("metrics.jsonl"), jsonl.as_bytes())?;
    let names: Vec<&str> = program.train.probes.iter().map(|p| p.name.as_str()).collect();
    let mut csv = format!("step,epoch,{}\n", names.join(","));
    for r in rows {
        let v: serde_json::Value = serde_json::from_str(r).map_err(|e| RunError::new(e.to_string()))?;
        let cell =
            |k: &str| v.get(k).map(|x| if x.is_null() { String::new() } else { x.to_string() }).unwrap_or_default();
        let cells: Vec<String> = names.iter().map(|n| cell(n)).collect();
        csv.push_str(&format!("{},{},{}\n", cell("step"), cell("epoch"), cells.join(",")));
    }
    write_atomic(&dir.path("metrics.csv"), csv.as_bytes())
}
