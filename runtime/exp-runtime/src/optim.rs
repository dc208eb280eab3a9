//! Optimizers from their IR update rules: explicit per-parameter state, hyperparameters that
//! may follow schedules, gradient clipping, and one step applied with the update function
//! composed from Candle ops (`scalar::eval_scalar`).

use std::collections::BTreeMap;

use candle_core::{DType, Device, Tensor};
use exp_ir::{GradClip, HyperValue, Program, ScalarFn, StateInit};

use crate::rng::Rng;
use crate::{Result, RunError};

/// Where training is, for schedules: the inputs of every schedule function.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Steps completed before the current one.
    pub step: u64,
    /// Epochs completed.
    pub epoch: u64,
    /// Total steps of the run.
    pub total_steps: u64,
}

/// The values of the optimizer's hyperparameters at `progress`, in IR order.
pub fn hyper_values(program: &Program, progress: Progress) -> Result<Vec<f64>> {
    let mut out = Vec::new();
    for h in &program.optimizer.hypers {
        out.push(match &h.value {
            HyperValue::Const(c) => *c,
            HyperValue::Schedule(name) => schedule_value(program, name, progress)?,
        });
    }
    Ok(out)
}

/// Evaluates a schedule with the IR's reference scalar interpreter.
pub fn schedule_value(program: &Program, name: &str, p: Progress) -> Result<f64> {
    let sched = program.schedule(name).ok_or_else(|| RunError::new(format!("unknown schedule `{name}`")))?;
    let f = function(program, &sched.function)?;
    let progress = if p.total_steps == 0 { 0.0 } else { p.step as f64 / p.total_steps as f64 };
    let inputs: Vec<f64> = f
        .inputs
        .iter()
        .map(|i| match i.as_str() {
            "step" => p.step as f64,
            "epoch" => p.epoch as f64,
            "progress" => progress,
            _ => p.total_steps as f64,
        })
        .collect();
    let out = f.eval(&inputs).map_err(|e| RunError::at(format!("schedule `{name}` failed: {e}"), sched.origin))?;
    out.first().copied().ok_or_else(|| RunError::at(format!("schedule `{name}` has no output"), sched.origin))
}

/// A function of the program by name.
pub fn function<'p>(program: &'p Program, name: &str) -> Result<&'p ScalarFn> {
    program.function(name).ok_or_else(|| RunError::new(format!("the IR has no function `{name}`")))
}

/// The optimizer: per-parameter state slots, created on the first step.
#[derive(Debug, Default)]
pub struct OptimizerState {
    /// State tensors by parameter name, one per state slot in IR order.
    pub slots: BTreeMap<String, Vec<Tensor>>,
    /// Run the update rule as one compiled kernel per parameter (F32 on the CPU) instead of
    /// composing Candle ops; the composed path remains for other dtypes and devices.
    pub jit: bool,
    /// How many parameter updates ran as compiled kernels (for tests and the log).
    pub fused_updates: u64,
    /// Compiled update kernels by which inputs were scalars (the same for every step).
    kernels: BTreeMap<Vec<bool>, std::sync::Arc<exp_jit::Kernel>>,
}

/// A rank-0 tensor of `x` in the parameter's dtype (F32 in training; tests use F64).
fn scalar(x: f64, like: &Tensor) -> Result<Tensor> {
    Ok(Tensor::new(x, like.device())?.to_dtype(like.dtype())?)
}

impl OptimizerState {
    /// An empty state; `jit` selects compiled update kernels where they apply.
    pub fn new(jit: bool) -> OptimizerState {
        OptimizerState { jit, ..OptimizerState::default() }
    }

    fn init(program: &Program, p: &Tensor, g: &Tensor) -> Result<Vec<Tensor>> {
        program
            .optimizer
            .state
            .iter()
            .map(|s| {
                Ok(match s.init {
                    StateInit::Zeros => p.zeros_like()?,
                    StateInit::Const(c) => (p.zeros_like()? + c)?,
                    StateInit::CopyGrad => g.copy()?,
                    StateInit::CopyParam => p.copy()?,
                })
            })
            .collect()
    }

    /// Applies one update to `p` with gradient `g` at 1-based step `t`; returns the new value.
    pub fn update(
        &mut self,
        program: &Program,
        name: &str,
        p: &Tensor,
        g: &Tensor,
        t: u64,
        hypers: &[f64],
        noise: &mut Rng,
    ) -> Result<Tensor> {
        let f = function(program, &program.optimizer.update)?;
        if !self.slots.contains_key(name) {
            let init = Self::init(program, p, g)?;
            self.slots.insert(name.to_string(), init);
        }
        let state = &self.slots[name];
        let mut inputs = Vec::with_capacity(f.inputs.len());
        for input in &f.inputs {
            inputs.push(match input.as_str() {
                "p" => p.clone(),
                "g" => g.clone(),
                "t" => scalar(t as f64, p)?,
                // Only rules that draw noise (gradient_noise) pay for the draws.
                "noise" if reads_input(f, "noise") => normal_like(p, noise)?.to_dtype(p.dtype())?,
                "noise" => scalar(0.0, p)?,
                other => {
                    if let Some(i) = program.optimizer.hypers.iter().position(|h| h.name == other) {
                        scalar(hypers[i], p)?
                    } else if let Some(i) = program.optimizer.state.iter().position(|s| s.name == other) {
                        state[i].clone()
                    } else {
                        return Err(RunError::at(
                            format!("update rule reads unknown input `{other}`"),
                            program.optimizer.origin,
                        ));
                    }
                }
            });
        }
        let outputs = match self.jit.then(|| fused(f, &inputs, p, &mut self.kernels)).transpose()?.flatten() {
            Some(out) => {
                self.fused_updates += 1;
                out
            }
            None => crate::scalar::eval_scalar(f, &inputs)?,
        };
        let mut new_p = None;
        let mut new_state = state.clone();
        for (out, value) in f.outputs.iter().zip(outputs) {
            let value = value.broadcast_as(p.shape())?.contiguous()?;
            if out.name == "p" {
                new_p = Some(value);
            } else if let Some(i) = program.optimizer.state.iter().position(|s| s.name == out.name) {
                new_state[i] = value;
            }
        }
        self.slots.insert(name.to_string(), new_state);
        new_p.ok_or_else(|| RunError::at("the update rule does not write `p`", program.optimizer.origin))
    }
}

/// A standard-normal tensor shaped like `like`, from the runtime's seeded generator.
pub fn normal_like(like: &Tensor, rng: &mut Rng) -> Result<Tensor> {
    let n = like.elem_count();
    let data: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
    Ok(Tensor::from_vec(data, like.shape(), &Device::Cpu)?.to_device(like.device())?)
}

/// Clips gradients as the IR says; returns the global gradient norm before clipping.
pub fn clip(clip: &GradClip, grads: &mut [Tensor]) -> Result<f64> {
    let mut sq = 0.0f64;
    for g in grads.iter() {
        sq += g.to_dtype(DType::F64)?.sqr()?.sum_all()?.to_scalar::<f64>()?;
    }
    let norm = sq.sqrt();
    match clip {
        GradClip::None => {}
        GradClip::Norm(c) => {
            if norm > *c {
                let k = c / (norm + 1e-6);
                for g in grads.iter_mut() {
                    *g = (&*g * k)?;
                }
            }
        }
        GradClip::Value(c) => {
            for g in grads.iter_mut() {
                *g = g.clamp(-*c as f32, *c as f32)?;
            }
        }
    }
    Ok(norm)
}

/// Whether any instruction or output of `f` reads the input called `name`.
fn reads_input(f: &ScalarFn, name: &str) -> bool {
    let Some(i) = f.inputs.iter().position(|n| n == name) else { return false };
    let input = exp_ir::Operand::Input(i as u32);
    f.body.iter().any(|inst| inst.args.contains(&input)) || f.outputs.iter().any(|o| o.value == input)
}

/// Runs the update rule as one compiled kernel over the parameter's elements: all inputs and
/// outputs in one pass, no temporaries. `None` when the kernel does not apply (not F32 on the
/// CPU, or a function the JIT cannot compile), so the caller composes Candle ops instead.
fn fused(
    f: &ScalarFn,
    inputs: &[Tensor],
    like: &Tensor,
    cache: &mut BTreeMap<Vec<bool>, std::sync::Arc<exp_jit::Kernel>>,
) -> Result<Option<Vec<Tensor>>> {
    if like.dtype() != DType::F32 || !like.device().is_cpu() || inputs.iter().any(|t| t.dtype() != DType::F32) {
        return Ok(None);
    }
    let scalars: Vec<Option<f64>> =
        inputs.iter().map(|t| if t.rank() == 0 { t.to_scalar::<f32>().ok().map(f64::from) } else { None }).collect();
    let (body, uniforms) = hoist(f, &scalars);
    let mask: Vec<bool> = scalars.iter().map(Option::is_some).collect();
    let kernel = match cache.get(&mask) {
        Some(k) => k.clone(),
        None => {
            let Ok(k) = exp_jit::kernel(&body) else { return Ok(None) };
            cache.insert(mask, k.clone());
            k
        }
    };
    let n = like.elem_count();
    let tensors: Vec<Tensor> = inputs
        .iter()
        .map(|t| if t.rank() == 0 { Ok(t.clone()) } else { t.contiguous() })
        .collect::<candle_core::Result<_>>()?;
    let guards: Vec<_> = tensors.iter().map(|t| t.storage_and_layout()).collect();
    let mut ins = Vec::with_capacity(tensors.len() + uniforms.len());
    for ((storage, layout), t) in guards.iter().zip(&tensors) {
        let candle_core::Storage::Cpu(cpu) = &**storage else { return Ok(None) };
        let data = cpu.as_slice::<f32>()?;
        if t.rank() == 0 {
            ins.push(exp_jit::Input::Scalar(data[layout.start_offset()]));
        } else {
            match layout.contiguous_offsets() {
                Some((a, b)) if b - a == n => ins.push(exp_jit::Input::Slice(&data[a..b])),
                _ => return Ok(None),
            }
        }
    }
    ins.extend(uniforms.iter().map(|u| exp_jit::Input::Scalar(*u as f32)));
    let mut outs: Vec<Vec<f32>> = vec![vec![0f32; n]; f.outputs.len()];
    {
        let mut refs: Vec<&mut [f32]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        kernel
            .run_parallel(&ins, &mut refs, threads)
            .map_err(|e| RunError::new(format!("the compiled update rule failed: {e}")))?;
    }
    drop(guards);
    Ok(Some(
        outs.into_iter()
            .map(|v| Tensor::from_vec(v, like.shape(), &Device::Cpu))
            .collect::<candle_core::Result<_>>()?,
    ))
}

/// Splits `f` into what depends only on its scalar inputs (hyperparameters, the step count),
/// computed once here in f64 like the reference interpreter, and a per-element kernel that
/// reads those values as extra scalar inputs (`uniform0`, ...). The kernel's body does not
/// depend on the scalar values, so it compiles once and is reused every step.
fn hoist(f: &ScalarFn, scalars: &[Option<f64>]) -> (ScalarFn, Vec<f64>) {
    use exp_ir::{InstOp, Operand};
    use std::collections::HashMap;
    let mut known: HashMap<exp_ir::ScalarId, f64> = HashMap::new();
    let value = |known: &HashMap<exp_ir::ScalarId, f64>, op: &Operand| match op {
        Operand::Input(i) => scalars.get(*i as usize).copied().flatten(),
        Operand::Value(id) => known.get(id).copied(),
    };
    for inst in &f.body {
        let args: Option<Vec<f64>> = inst.args.iter().map(|a| value(&known, a)).collect();
        if let Some(args) = args {
            let v = match &inst.op {
                InstOp::Const(c) => *c,
                InstOp::Op(op) => op.eval(&args),
            };
            known.insert(inst.result, v);
        }
    }
    // Constants stay in the kernel (a constant exponent compiles to multiplications); computed
    // uniform values become inputs.
    let consts: std::collections::HashSet<exp_ir::ScalarId> =
        f.body.iter().filter(|i| matches!(i.op, InstOp::Const(_))).map(|i| i.result).collect();
    known.retain(|id, _| !consts.contains(id));
    // Uniform values read by a varying instruction or an output become kernel inputs.
    let mut inputs = f.inputs.clone();
    let mut uniforms: Vec<f64> = Vec::new();
    let mut remap: HashMap<exp_ir::ScalarId, Operand> = HashMap::new();
    let mut use_uniform = |id: &exp_ir::ScalarId, inputs: &mut Vec<String>, uniforms: &mut Vec<f64>| {
        *remap.entry(*id).or_insert_with(|| {
            inputs.push(format!("uniform{}", uniforms.len()));
            uniforms.push(known[id]);
            Operand::Input((inputs.len() - 1) as u32)
        })
    };
    let mut body = Vec::new();
    for inst in &f.body {
        if known.contains_key(&inst.result) {
            continue;
        }
        let args = inst
            .args
            .iter()
            .map(|a| match a {
                Operand::Value(id) if known.contains_key(id) => use_uniform(id, &mut inputs, &mut uniforms),
                other => *other,
            })
            .collect();
        body.push(exp_ir::Inst { result: inst.result, op: inst.op.clone(), args });
    }
    let outputs = f
        .outputs
        .iter()
        .map(|o| exp_ir::FnOutput {
            name: o.name.clone(),
            value: match &o.value {
                Operand::Value(id) if known.contains_key(id) => use_uniform(id, &mut inputs, &mut uniforms),
                other => *other,
            },
        })
        .collect();
    (ScalarFn { name: f.name.clone(), inputs, body, outputs, origin: f.origin }, uniforms)
}
