//! Optimizers from their IR update rules: explicit per-parameter state, hyperparameters that
//! may follow schedules, gradient clipping, and one step applied either by the update function
//! composed from Candle ops (`scalar::eval_scalar`, the reference) or, on `f32` CPU
//! parameters, as one compiled kernel that overwrites the parameter and its state in place
//! ([`OptimizerState::step`]): no buffer is allocated after the first step.

use std::collections::BTreeMap;

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, DType, Device, InplaceOp2, Layout, Tensor, Var};
use exp_ir::{GradClip, HyperValue, Program, ScalarFn, StateInit};
use std::sync::{Arc, Mutex};

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
    /// State tensors by parameter name, one per state slot in IR order, for the composed path.
    slots: BTreeMap<String, Vec<Tensor>>,
    /// The same for parameters updated in place: their shape and plain buffers the kernel
    /// overwrites.
    host: BTreeMap<String, (Vec<usize>, Vec<Vec<f32>>)>,
    /// Run the update rule as one compiled kernel per parameter (F32 on the CPU) instead of
    /// composing Candle ops; the composed path remains for other dtypes and devices.
    pub jit: bool,
    /// How many parameter updates ran as compiled kernels (for tests and the log).
    pub fused_updates: u64,
    /// Compiled update kernels by which inputs were scalars (the same for every step).
    kernels: BTreeMap<Vec<bool>, Arc<exp_jit::Kernel>>,
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

    /// Every parameter's state tensors, one per state slot in IR order (for checkpoints).
    pub fn state(&self) -> Result<Vec<(String, Vec<Tensor>)>> {
        let mut all: Vec<(String, Vec<Tensor>)> = self.slots.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        for (name, (shape, bufs)) in &self.host {
            let ts = bufs
                .iter()
                .map(|b| Tensor::new(b.as_slice(), &Device::Cpu)?.reshape(shape.as_slice()))
                .collect::<candle_core::Result<_>>()?;
            all.push((name.clone(), ts));
        }
        all.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(all)
    }

    /// Sets the state of parameter `name` (from a checkpoint); the tensors are reshaped to
    /// the parameter's shape on its next step.
    pub fn set_state(&mut self, name: &str, slots: Vec<Tensor>) {
        self.host.remove(name);
        self.slots.insert(name.to_string(), slots);
    }

    /// Applies one update to the parameter `var` with gradient `g` at 1-based step `t`: in
    /// place with one compiled kernel when the JIT is on and the parameter is `f32` on the
    /// CPU, else through [`OptimizerState::update`] and `Var::set`.
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &mut self,
        program: &Program,
        name: &str,
        var: &Var,
        g: &Tensor,
        t: u64,
        hypers: &[f64],
        noise: &mut Rng,
    ) -> Result<()> {
        if self.jit && self.step_in_place(program, name, var, g, t, hypers, noise)? {
            self.fused_updates += 1;
            return Ok(());
        }
        if let Some((_, bufs)) = self.host.remove(name) {
            let ts = bufs
                .into_iter()
                .map(|b| Tensor::from_vec(b, var.shape(), &Device::Cpu)?.to_device(var.device()))
                .collect::<candle_core::Result<_>>()?;
            self.slots.insert(name.to_string(), ts);
        }
        let new = self.update(program, name, var.as_tensor(), g, t, hypers, noise)?;
        var.set(&new)?;
        Ok(())
    }

    /// The in-place step; `false` when it does not apply.
    #[allow(clippy::too_many_arguments)]
    fn step_in_place(
        &mut self,
        program: &Program,
        name: &str,
        var: &Var,
        g: &Tensor,
        t: u64,
        hypers: &[f64],
        noise: &mut Rng,
    ) -> Result<bool> {
        let p = var.as_tensor();
        if p.dtype() != DType::F32 || g.dtype() != DType::F32 || !p.device().is_cpu() || g.dims() != p.dims() {
            return Ok(false);
        }
        let f = function(program, &program.optimizer.update)?;
        let opt = &program.optimizer;
        let out_index = |n: &str| f.outputs.iter().position(|o| o.name == n);
        // Each input: a scalar, a slice, or an output read in place.
        let mut scalars = Vec::with_capacity(f.inputs.len());
        let mut sources = Vec::with_capacity(f.inputs.len());
        let draws_noise = reads_input(f, "noise");
        for input in &f.inputs {
            let (scalar, source) = match input.as_str() {
                "p" => (None, Source::Output(out_index("p"))),
                "g" => (None, Source::Grad),
                "t" => (Some(t as f64), Source::Scalar),
                "noise" if draws_noise => (None, Source::Noise),
                "noise" => (Some(0.0), Source::Scalar),
                other => match opt.hypers.iter().position(|h| h.name == other) {
                    Some(i) => (Some(hypers[i]), Source::Scalar),
                    None if opt.state.iter().any(|s| s.name == other) => (None, Source::Output(out_index(other))),
                    None => return Err(RunError::at(format!("update rule reads unknown input `{other}`"), opt.origin)),
                },
            };
            if matches!(source, Source::Output(None)) {
                return Ok(false);
            }
            scalars.push(scalar);
            sources.push(source);
        }
        // Every output is the parameter or a state slot, each written once.
        let targets: Option<Vec<Target>> = f
            .outputs
            .iter()
            .map(|o| match o.name.as_str() {
                "p" => Some(Target::Param),
                s => opt.state.iter().position(|slot| slot.name == s).map(Target::Slot),
            })
            .collect();
        let Some(targets) = targets else { return Ok(false) };
        let mut seen = targets.clone();
        seen.sort();
        seen.dedup();
        if seen.len() != targets.len() || seen.len() != opt.state.len() + 1 {
            return Ok(false);
        }
        let Some((kernel, uniforms)) = compiled(f, &scalars, &mut self.kernels) else { return Ok(false) };
        if !self.host.contains_key(name) {
            let init = match self.slots.remove(name) {
                Some(ts) => ts,
                None => Self::init(program, p, g)?,
            };
            let bufs = init
                .iter()
                .map(|t| t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>())
                .collect::<candle_core::Result<Vec<_>>>()?;
            if bufs.iter().any(|b| b.len() != p.elem_count()) {
                return Err(RunError::new(format!("the optimizer state of `{name}` does not match its shape")));
            }
            self.host.insert(name.to_string(), (p.dims().to_vec(), bufs));
        }
        let noise = draws_noise.then(|| (0..p.elem_count()).map(|_| noise.normal() as f32).collect::<Vec<f32>>());
        let state = &mut self.host.get_mut(name).expect("inserted above").1;
        let op = InPlace {
            kernel,
            sources,
            scalars: scalars.iter().map(|s| s.map(|v| v as f32)).collect(),
            uniforms: uniforms.iter().map(|u| *u as f32).collect(),
            targets,
            noise,
            state: Mutex::new(state),
        };
        p.inplace_op2(&g.contiguous()?, &op)?;
        Ok(true)
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

/// Where an input of the in-place kernel comes from.
#[derive(Clone, Copy, Debug)]
enum Source {
    /// A hoisted scalar (hyperparameter, step, zero noise).
    Scalar,
    /// The gradient.
    Grad,
    /// The noise buffer.
    Noise,
    /// The current value of this output (the parameter or a state slot).
    Output(Option<usize>),
}

/// What an output of the update rule overwrites.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Param,
    Slot(usize),
}

/// One in-place optimizer step for one parameter: the parameter is the op's destination, the
/// gradient its source, the state buffers borrowed.
struct InPlace<'a> {
    kernel: Arc<exp_jit::Kernel>,
    sources: Vec<Source>,
    scalars: Vec<Option<f32>>,
    uniforms: Vec<f32>,
    targets: Vec<Target>,
    noise: Option<Vec<f32>>,
    state: Mutex<&'a mut Vec<Vec<f32>>>,
}

impl InplaceOp2 for InPlace<'_> {
    fn name(&self) -> &'static str {
        "exp-optimizer-step"
    }

    fn cpu_fwd(&self, s1: &mut CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> candle_core::Result<()> {
        let (CpuStorage::F32(p), CpuStorage::F32(g)) = (s1, s2) else {
            candle_core::bail!("the compiled optimizer step needs f32, got {:?}", s2.dtype())
        };
        let (Some((pa, pb)), Some((ga, gb))) = (l1.contiguous_offsets(), l2.contiguous_offsets()) else {
            candle_core::bail!("the compiled optimizer step needs contiguous tensors")
        };
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut param = Some(&mut p[pa..pb]);
        let mut slots: Vec<Option<&mut [f32]>> = state.iter_mut().map(|b| Some(b.as_mut_slice())).collect();
        let mut outputs: Vec<&mut [f32]> = Vec::with_capacity(self.targets.len());
        for t in &self.targets {
            let out = match t {
                Target::Param => param.take(),
                Target::Slot(i) => slots.get_mut(*i).and_then(Option::take),
            };
            outputs.push(out.ok_or_else(|| candle_core::Error::Msg("an output is written twice".into()))?);
        }
        let g = &g[ga..gb];
        let mut args: Vec<exp_jit::Arg<'_>> = self
            .sources
            .iter()
            .zip(&self.scalars)
            .map(|(s, v)| match s {
                Source::Scalar => exp_jit::Arg::Input(exp_jit::Input::Scalar(v.unwrap_or(0.0))),
                Source::Grad => exp_jit::Arg::Input(exp_jit::Input::Slice(g)),
                Source::Noise => exp_jit::Arg::Input(exp_jit::Input::Slice(self.noise.as_deref().unwrap_or(&[]))),
                Source::Output(j) => exp_jit::Arg::Output(j.unwrap_or(usize::MAX)),
            })
            .collect();
        args.extend(self.uniforms.iter().map(|u| exp_jit::Arg::Input(exp_jit::Input::Scalar(*u))));
        self.kernel
            .run_in_place(&args, &mut outputs, rayon::current_num_threads())
            .map_err(|e| candle_core::Error::Msg(format!("the compiled update rule failed: {e}")))
    }
}

/// A standard-normal tensor shaped like `like`, from the runtime's seeded generator.
pub fn normal_like(like: &Tensor, rng: &mut Rng) -> Result<Tensor> {
    let n = like.elem_count();
    let data: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
    Ok(Tensor::from_vec(data, like.shape(), &Device::Cpu)?.to_device(like.device())?)
}

/// The sum of squares of `t`'s elements, accumulated in `f64`: infinite or NaN exactly when
/// some element is (an `f32` squared cannot overflow an `f64`), so one pass both checks a
/// gradient and feeds the global norm.
pub fn sum_of_squares(t: &Tensor) -> Result<f64> {
    if t.dtype() == DType::F32 && t.device().is_cpu() {
        let t = t.contiguous()?;
        let (storage, layout) = t.storage_and_layout();
        if let (candle_core::Storage::Cpu(CpuStorage::F32(v)), Some((a, b))) = (&*storage, layout.contiguous_offsets())
        {
            // Eight independent lanes, so the loop vectorizes; the order is fixed, so the
            // result does not depend on anything but the data.
            let v = &v[a..b];
            let mut lanes = [0f64; 8];
            let chunks = v.chunks_exact(8);
            let tail: f64 = chunks.remainder().iter().map(|&x| f64::from(x) * f64::from(x)).sum();
            for c in chunks {
                for (l, &x) in lanes.iter_mut().zip(c) {
                    *l += f64::from(x) * f64::from(x);
                }
            }
            return Ok(lanes.iter().sum::<f64>() + tail);
        }
    }
    Ok(t.to_dtype(DType::F64)?.sqr()?.sum_all()?.to_scalar::<f64>()?)
}

/// Clips gradients as the IR says, given their global norm.
pub fn clip(clip: &GradClip, grads: &mut [Tensor], norm: f64) -> Result<()> {
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
    Ok(())
}

/// Whether any instruction or output of `f` reads the input called `name`.
fn reads_input(f: &ScalarFn, name: &str) -> bool {
    let Some(i) = f.inputs.iter().position(|n| n == name) else { return false };
    let input = exp_ir::Operand::Input(i as u32);
    f.body.iter().any(|inst| inst.args.contains(&input)) || f.outputs.iter().any(|o| o.value == input)
}

/// The update rule's per-element kernel for inputs that are scalars where `scalars` has a
/// value, with the hoisted scalar part's values; compiled once per pattern of scalar inputs
/// (the same every step). `None` when the JIT cannot compile it.
fn compiled(
    f: &ScalarFn,
    scalars: &[Option<f64>],
    cache: &mut BTreeMap<Vec<bool>, Arc<exp_jit::Kernel>>,
) -> Option<(Arc<exp_jit::Kernel>, Vec<f64>)> {
    let (body, uniforms) = hoist(f, scalars);
    let mask: Vec<bool> = scalars.iter().map(Option::is_some).collect();
    let kernel = match cache.get(&mask) {
        Some(k) => k.clone(),
        None => {
            let k = exp_jit::kernel(&body).ok()?;
            cache.insert(mask, k.clone());
            k
        }
    };
    Some((kernel, uniforms))
}

/// Runs the update rule as one compiled kernel over the parameter's elements: all inputs and
/// outputs in one pass, no temporaries. `None` when the kernel does not apply (not F32 on the
/// CPU, or a function the JIT cannot compile), so the caller composes Candle ops instead.
fn fused(
    f: &ScalarFn,
    inputs: &[Tensor],
    like: &Tensor,
    cache: &mut BTreeMap<Vec<bool>, Arc<exp_jit::Kernel>>,
) -> Result<Option<Vec<Tensor>>> {
    if like.dtype() != DType::F32 || !like.device().is_cpu() || inputs.iter().any(|t| t.dtype() != DType::F32) {
        return Ok(None);
    }
    let scalars: Vec<Option<f64>> =
        inputs.iter().map(|t| if t.rank() == 0 { t.to_scalar::<f32>().ok().map(f64::from) } else { None }).collect();
    let Some((kernel, uniforms)) = compiled(f, &scalars, cache) else { return Ok(None) };
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
    let outs = kernel
        .run_new(&ins, n, rayon::current_num_threads())
        .map_err(|e| RunError::new(format!("the compiled update rule failed: {e}")))?;
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
    // Division by a uniform value becomes multiplication by its reciprocal, computed here:
    // a division per element costs several multiplications (the update rules of Adam and
    // AdamW divide by the square root of a bias correction), and the results differ by at
    // most an ulp.
    let mut reciprocals: HashMap<exp_ir::ScalarId, Operand> = HashMap::new();
    let mut body = Vec::new();
    for inst in &f.body {
        if known.contains_key(&inst.result) {
            continue;
        }
        let (op, args) = match (&inst.op, inst.args.as_slice()) {
            (InstOp::Op(exp_ops::ScalarOp::Div), [x, Operand::Value(d)]) if known.contains_key(d) => {
                let r = *reciprocals.entry(*d).or_insert_with(|| {
                    inputs.push(format!("uniform{}", uniforms.len()));
                    uniforms.push(1.0 / known[d]);
                    Operand::Input((inputs.len() - 1) as u32)
                });
                (InstOp::Op(exp_ops::ScalarOp::Mul), vec![*x, r])
            }
            _ => (inst.op.clone(), inst.args.clone()),
        };
        let args = args
            .into_iter()
            .map(|a| match a {
                Operand::Value(id) if known.contains_key(&id) => use_uniform(&id, &mut inputs, &mut uniforms),
                other => other,
            })
            .collect();
        body.push(exp_ir::Inst { result: inst.result, op, args });
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
