//! Runs the model graph of a [`Program`]: the [`Model`] holds its parameters and buffers, and
//! [`Model::forward`] executes the graph's nodes in order on Candle, recording the autograd
//! graph so that `loss.backward()` gives every parameter's gradient. A training step goes
//! through [`Model::train_forward`] and [`Pass::gradients`], which take the gradients from a
//! tape of direct backward calls instead (`tape.rs`) when every node has one.
//!
//! Parameters are `candle_core::Var`s keyed by their IR dotted name. Buffers (batch-norm
//! running statistics) are `Var`s too, only so that a training-mode forward can update them
//! in place through `&self` (`Var::set`, interior mutability); they never get gradients,
//! since no op reads them in a differentiable way, and [`Model::params`] does not list them.
//! Everything is `F32`.
//!
//! Layer ops live in `layers.rs` (linear, attention, shape ops, embedding, dropout),
//! `conv.rs` and `convop.rs`, `dense.rs`, `pool.rs` (hand-written backward), `jit.rs`
//! (compiled elementwise functions) and `norm.rs`. Errors carry the origin of the
//! node or declaration that caused them.

mod conv;
mod convop;
mod dense;
mod im2col;
mod jit;
mod layers;
mod norm;
mod pool;
mod tape;
#[cfg(test)]
mod tests;

use crate::error::{Result, RunError};
use crate::init::init_tensor;
use crate::rng::Rng;
use crate::scalar::{eval_scalar, eval_unary};
use candle_core::{DType, Device, Tensor, Var};
use exp_ir::{LayerCall, Node, NodeOp, Program, ValueId};
use exp_ops::{Dim, LayerOp};
use std::collections::HashMap;
use std::sync::Arc;

/// Whether a forward pass trains (batch statistics, dropout on) or evaluates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Batch norm uses and updates batch statistics; dropout drops.
    Train,
    /// Batch norm uses running statistics; dropout is the identity.
    Eval,
}

/// The parameters and buffers of a program's model.
#[derive(Debug)]
pub struct Model {
    params: Vec<(String, Var)>,
    buffers: Vec<(String, Var)>,
    /// Name to (is a buffer, position).
    index: HashMap<String, (bool, usize)>,
    /// Compiled elementwise functions by name, after [`Model::compile_elementwise`].
    kernels: HashMap<String, Arc<jit::Compiled>>,
    /// Linear and 2-d convolution nodes (by index) with a bias whose only consumer is the next
    /// node, a compiled activation: they run as one op with the activation in its epilogue.
    fused: HashMap<usize, Arc<jit::Compiled>>,
    /// Where every tensor lives.
    device: Device,
    /// Whether training steps record a [`tape::Tape`] rather than Candle's autograd graph
    /// (set by [`Model::compile_elementwise`] when the tape covers the graph).
    taped: bool,
    /// The symbolic derivative of every one-input elementwise function, for the composed path
    /// ([`crate::scalar::eval_unary`]).
    derivatives: HashMap<String, Arc<exp_ir::ScalarFn>>,
}

fn concrete(shape: &[Dim]) -> Option<Vec<usize>> {
    shape.iter().map(|d| d.as_const().and_then(|v| usize::try_from(v).ok())).collect()
}

impl Model {
    /// Draws every parameter, then every buffer, in program order from `rng` (seed it with
    /// the program's `init` seed), each by [`init_tensor`].
    pub fn init(program: &Program, rng: &mut Rng) -> Result<Model> {
        let mut model = Model {
            params: Vec::new(),
            buffers: Vec::new(),
            index: HashMap::new(),
            kernels: HashMap::new(),
            fused: HashMap::new(),
            device: Device::Cpu,
            taped: false,
            derivatives: HashMap::new(),
        };
        for node in &program.graph.nodes {
            let NodeOp::Elementwise { function } = &node.op else { continue };
            let vjp = program.function(function).filter(|f| f.inputs.len() == 1).and_then(exp_ir::derive::vjp);
            if let Some(vjp) = vjp {
                model.derivatives.insert(function.clone(), Arc::new(vjp));
            }
        }
        for (is_buffer, list) in [(false, &program.params), (true, &program.buffers)] {
            for p in list {
                let at = |msg: String| RunError::at(msg, p.origin);
                let shape = concrete(&p.shape.0).ok_or_else(|| at(format!("`{}` has a symbolic shape", p.name)))?;
                if p.dtype != exp_ir::DType::F32 {
                    return Err(at(format!("`{}` is {}, but parameters must be f32", p.name, p.dtype.name())));
                }
                let t = init_tensor(&p.init, &shape, rng).map_err(|e| at(format!("`{}`: {}", p.name, e.message)))?;
                let slot = if is_buffer { &mut model.buffers } else { &mut model.params };
                if model.index.insert(p.name.clone(), (is_buffer, slot.len())).is_some() {
                    return Err(at(format!("`{}` is declared twice", p.name)));
                }
                slot.push((p.name.clone(), Var::from_tensor(&t)?));
            }
        }
        Ok(model)
    }

    /// Moves every parameter and buffer to `device` (they are drawn on the CPU, from the
    /// runtime's seeded generator, so the initial values do not depend on the device).
    pub fn to_device(&mut self, device: &Device) -> Result<()> {
        for (_, var) in self.params.iter_mut().chain(self.buffers.iter_mut()) {
            *var = Var::from_tensor(&var.as_tensor().to_device(device)?)?;
        }
        self.device = device.clone();
        Ok(())
    }

    /// The device the model's tensors live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Compiles every one-input elementwise function of the graph, with its derivative, so
    /// that forward passes run them as kernels; functions the JIT cannot compile keep the
    /// composed path. Returns how many were compiled.
    pub fn compile_elementwise(&mut self, program: &Program) -> usize {
        for node in &program.graph.nodes {
            let NodeOp::Elementwise { function } = &node.op else { continue };
            if self.kernels.contains_key(function) {
                continue;
            }
            if let Some(c) = program.function(function).and_then(jit::Compiled::new) {
                self.kernels.insert(function.clone(), Arc::new(c));
            }
        }
        let nodes = &program.graph.nodes;
        let mut uses: HashMap<ValueId, usize> = HashMap::new();
        for id in nodes.iter().flat_map(|n| &n.operands).chain(&program.graph.outputs) {
            *uses.entry(*id).or_default() += 1;
        }
        for (i, pair) in nodes.windows(2).enumerate() {
            let (NodeOp::Layer(call), NodeOp::Elementwise { function }) = (&pair[0].op, &pair[1].op) else { continue };
            let fusable = matches!(call.op, LayerOp::Linear { .. } | LayerOp::Conv2d(_))
                && call.params.iter().any(|p| p.role == "bias");
            let only_consumer = pair[1].operands == [pair[0].result] && uses.get(&pair[0].result) == Some(&1);
            if let (true, true, Some(k)) = (fusable, only_consumer, self.kernels.get(function)) {
                self.fused.insert(i, Arc::clone(k));
            }
        }
        self.taped = self.tape_covers(program);
        self.kernels.len()
    }

    /// Whether training steps take their gradients from a tape rather than from Candle's
    /// autograd (after [`Model::compile_elementwise`]; see [`Model::train_forward`]).
    pub fn taped(&self) -> bool {
        self.taped && self.device.is_cpu()
    }

    /// Runs the graph on the batch `x` in training mode for a step whose gradients
    /// [`Pass::gradients`] then gives. After [`Model::compile_elementwise`], graphs the tape
    /// covers record each node's backward and skip Candle's autograd; others, and every graph
    /// without compiled kernels, use autograd. Both draw the same dropout masks.
    pub fn train_forward(&self, program: &Program, x: &Tensor, rng: &mut Rng) -> Result<Pass> {
        if self.taped() {
            let (y, tape) = self.forward_taped(program, x, rng)?;
            // The loss's own backward, through Candle, stops at this copy of the output.
            let output = Var::from_tensor(&y)?;
            return Ok(Pass { output: output.as_tensor().clone(), tape: Some((tape, output)) });
        }
        Ok(Pass { output: self.forward(program, x, Mode::Train, rng)?, tape: None })
    }

    /// How many linear and convolution layers run with their activation fused (after
    /// [`Model::compile_elementwise`]).
    pub fn fused_layers(&self) -> usize {
        self.fused.len()
    }

    /// The trainable parameters in program order.
    pub fn params(&self) -> Vec<(String, Var)> {
        self.params.clone()
    }

    /// The parameter or buffer called `name`.
    pub fn get(&self, name: &str) -> Option<&Var> {
        let (is_buffer, i) = *self.index.get(name)?;
        Some(if is_buffer { &self.buffers[i].1 } else { &self.params[i].1 })
    }

    /// Parameters then buffers, by name, for checkpoints. The tensors share storage with the
    /// model (no copy): the optimizer's and batch norm's in-place updates show through, so
    /// write them out before the next step.
    pub fn tensors(&self) -> Vec<(String, Tensor)> {
        self.params.iter().chain(&self.buffers).map(|(n, v)| (n.clone(), v.as_detached_tensor())).collect()
    }

    /// Overwrites the parameter or buffer `name` with `value` (converted to `F32`), which must
    /// have its shape.
    pub fn load(&mut self, name: &str, value: Tensor) -> Result<()> {
        let var = self.get(name).ok_or_else(|| RunError::new(format!("the model has no tensor `{name}`")))?;
        if var.dims() != value.dims() {
            return Err(RunError::new(format!(
                "`{name}` has shape {:?} in the model but {:?} in the checkpoint",
                var.dims(),
                value.dims()
            )));
        }
        Ok(var.set(&value.to_dtype(var.dtype())?.to_device(var.device())?)?)
    }

    /// Runs the graph on the batch `x` and returns its first output. `Mode::Train` updates
    /// batch-norm running statistics in place and draws dropout masks from `rng`.
    pub fn forward(&self, program: &Program, x: &Tensor, mode: Mode, rng: &mut Rng) -> Result<Tensor> {
        self.run_graph(program, x, mode, rng, Run { check: false, track: true })
    }

    /// Runs the graph on the batch `x` in evaluation mode without recording anything for a
    /// backward pass (what probes need): no autograd graph, and the ops that have a faster
    /// path for untracked inputs take it.
    pub fn evaluate(&self, program: &Program, x: &Tensor) -> Result<Tensor> {
        self.run_graph(program, x, Mode::Eval, &mut Rng::new(0), Run { check: false, track: false })
    }

    /// Runs the graph like [`Model::forward`], but stops at the first node whose output holds
    /// a NaN or an infinity, with an error at that node's origin; `Ok` when every output is
    /// finite. Used to say where a run diverged.
    pub fn first_non_finite(&self, program: &Program, x: &Tensor, mode: Mode, rng: &mut Rng) -> Result<Tensor> {
        self.run_graph(program, x, mode, rng, Run { check: true, track: true })
    }

    fn run_graph(&self, program: &Program, x: &Tensor, mode: Mode, rng: &mut Rng, run: Run) -> Result<Tensor> {
        let Run { check, track } = run;
        let graph = &program.graph;
        let input = self.check_input(program, x)?;
        let mut values: HashMap<ValueId, Tensor> = HashMap::with_capacity(graph.nodes.len() + 1);
        values.insert(input.id, x.clone());
        let mut skip = false;
        for (i, node) in graph.nodes.iter().enumerate() {
            if std::mem::take(&mut skip) {
                continue;
            }
            // A linear or convolution layer and its activation as one op; not when looking for
            // the first non-finite output, which must name the node.
            if let (false, Some(act), NodeOp::Layer(call), [operand]) =
                (check, self.fused.get(&i), &node.op, node.operands.as_slice())
            {
                if let Some(x) = values.get(operand) {
                    let fused = self.layer_act(call, x, act, track).map_err(|e| tape::in_node(node, e))?;
                    if let Some(y) = fused {
                        values.insert(graph.nodes[i + 1].result, y);
                        skip = true;
                        continue;
                    }
                }
            }
            let args = tape::operands(node, &values)?;
            let out = self.node(program, node, &args, (mode, track), rng).map_err(|e| tape::in_node(node, e))?;
            if check && !finite(&out)? {
                return Err(RunError::at(format!("the output of `{}` became non-finite", node.op.name()), node.origin));
            }
            values.insert(node.result, out);
        }
        let first = graph.outputs.first().and_then(|id| values.remove(id));
        first.ok_or_else(|| RunError::new("the graph returns no defined value"))
    }

    /// The graph's one input, after checking that the batch `x` fits it.
    fn check_input<'p>(&self, program: &'p Program, x: &Tensor) -> Result<&'p exp_ir::GraphInput> {
        let graph = &program.graph;
        let [input] = graph.inputs.as_slice() else {
            return Err(RunError::new(format!("the model takes {} inputs; one is supported", graph.inputs.len())));
        };
        let want = concrete(&input.ty.shape.0[1.min(input.ty.shape.0.len())..]);
        if x.rank() != input.ty.shape.0.len() || want.is_some_and(|w| Some(w.as_slice()) != x.dims().get(1..)) {
            return Err(RunError::new(format!(
                "the model expects input {}, got a batch of shape {:?}",
                input.ty.shape,
                x.dims()
            )));
        }
        Ok(input)
    }

    fn node(
        &self,
        program: &Program,
        node: &Node,
        args: &[&Tensor],
        (mode, track): (Mode, bool),
        rng: &mut Rng,
    ) -> Result<Tensor> {
        let arity = |n: usize| match args.len() == n {
            true => Ok(()),
            false => Err(RunError::new(format!("takes {n} operands, got {}", args.len()))),
        };
        match &node.op {
            NodeOp::Layer(call) => {
                arity(1)?;
                self.layer(call, args[0], (mode, track), rng)
            }
            NodeOp::Add => {
                let (first, rest) = args.split_first().ok_or_else(|| RunError::new("takes operands"))?;
                rest.iter().try_fold((*first).clone(), |acc, t| Ok(acc.broadcast_add(t)?))
            }
            NodeOp::Mul => {
                arity(2)?;
                Ok(args[0].broadcast_mul(args[1])?)
            }
            NodeOp::Concat { axis } => Ok(Tensor::cat(args, *axis as usize)?),
            NodeOp::Scale { factor } => {
                arity(1)?;
                Ok(args[0].affine(*factor, 0.0)?)
            }
            NodeOp::Elementwise { function } => {
                if let (Some(k), [x]) = (self.kernels.get(function), args) {
                    if let Some(y) = k.apply(x) {
                        return Ok(y?);
                    }
                }
                let f = program
                    .function(function)
                    .ok_or_else(|| RunError::new(format!("the program has no function `{function}`")))?;
                if let [x] = args {
                    return eval_unary(f, self.derivatives.get(function).map(|d| d.as_ref()), x);
                }
                let inputs: Vec<Tensor> = args.iter().map(|t| (*t).clone()).collect();
                let mut out = eval_scalar(f, &inputs)?;
                if out.len() != 1 {
                    return Err(RunError::new(format!("`{function}` returns {} values, not one", out.len())));
                }
                Ok(out.remove(0))
            }
        }
    }

    /// A linear or convolution layer with `act` applied, as one op; `None` when the fused op
    /// does not apply.
    fn layer_act(&self, call: &LayerCall, x: &Tensor, act: &Arc<jit::Compiled>, track: bool) -> Result<Option<Tensor>> {
        let param = |role: &str| {
            let name = &call.params.iter().find(|p| p.role == role)?.name;
            self.get(name).map(|v| value(v, track))
        };
        let (Some(w), Some(b)) = (param("weight"), param("bias")) else { return Ok(None) };
        let (w, b) = (&w, &b);
        match &call.op {
            LayerOp::Linear { .. } => layers::linear_act(x, w, b, act),
            LayerOp::Conv2d(c) => {
                let ints = |ds: &[Dim]| concrete(ds).ok_or_else(|| RunError::new("has a symbolic size"));
                let spec = conv::ConvSpec {
                    stride: ints(&c.stride)?,
                    padding: ints(&c.padding)?,
                    dilation: ints(&c.dilation)?,
                    groups: ints(std::slice::from_ref(&c.groups))?[0],
                };
                conv::conv_act(x, w, b, &spec, act)
            }
            _ => Ok(None),
        }
    }

    fn layer(&self, call: &LayerCall, x: &Tensor, (mode, track): (Mode, bool), rng: &mut Rng) -> Result<Tensor> {
        let op = &call.op;
        let var = |role: &str| -> Option<&Var> {
            let name = &call.params.iter().find(|p| p.role == role)?.name;
            self.get(name)
        };
        let opt = |role: &str| var(role).map(|v| value(v, track));
        let req = |role: &str| opt(role).ok_or_else(|| RunError::new(format!("has no `{role}` parameter")));
        let ints = |ds: &[Dim]| concrete(ds).ok_or_else(|| RunError::new("has a symbolic size"));
        let size = |d: &Dim| Ok::<usize, RunError>(ints(std::slice::from_ref(d))?[0]);
        match op {
            LayerOp::Linear { .. } => layers::linear(x, &req("weight")?, opt("bias").as_ref()),
            LayerOp::Conv1d(c) | LayerOp::Conv2d(c) => {
                let spec = conv::ConvSpec {
                    stride: ints(&c.stride)?,
                    padding: ints(&c.padding)?,
                    dilation: ints(&c.dilation)?,
                    groups: size(&c.groups)?,
                };
                conv::conv(x, &req("weight")?, opt("bias").as_ref(), &spec)
            }
            LayerOp::MaxPool1d(p) | LayerOp::MaxPool2d(p) | LayerOp::AvgPool1d(p) | LayerOp::AvgPool2d(p) => {
                let is_max = matches!(op, LayerOp::MaxPool1d(_) | LayerOp::MaxPool2d(_));
                let kind = if is_max { pool::PoolKind::Max } else { pool::PoolKind::Avg };
                pool::pool(x, kind, &ints(&p.kernel)?, &ints(&p.stride)?, &ints(&p.padding)?)
            }
            LayerOp::GlobalAvgPool => layers::global_avg_pool(x),
            LayerOp::Flatten => layers::flatten(x),
            LayerOp::Reshape { shape } => {
                let dims = shape.iter().map(|d| d.as_const().ok_or_else(|| RunError::new("has a symbolic size")));
                layers::reshape(x, &dims.collect::<Result<Vec<_>>>()?)
            }
            LayerOp::Embedding { concat, .. } => layers::embed(x, &req("weight")?, *concat),
            LayerOp::LayerNorm { eps, .. } => norm::layer_norm(x, opt("weight").as_ref(), opt("bias").as_ref(), *eps),
            LayerOp::BatchNorm { eps, momentum, .. } => {
                let stat = |role: &str| var(role).ok_or_else(|| RunError::new(format!("has no `{role}` buffer")));
                let running = norm::Running { mean: stat("running_mean")?, var: stat("running_var")? };
                norm::batch_norm(x, opt("weight").as_ref(), opt("bias").as_ref(), running, *eps, *momentum, mode)
            }
            LayerOp::Dropout { rate } => match mode {
                Mode::Train => layers::dropout(x, *rate, rng),
                Mode::Eval => Ok(x.clone()),
            },
            LayerOp::MultiHeadAttention { heads, .. } => {
                let (in_w, in_b) = (req("in_proj_weight")?, opt("in_proj_bias"));
                let (out_w, out_b) = (req("out_proj.weight")?, opt("out_proj.bias"));
                let p =
                    layers::AttentionParams { in_w: &in_w, in_b: in_b.as_ref(), out_w: &out_w, out_b: out_b.as_ref() };
                layers::attention(x, size(heads)?, &p)
            }
            LayerOp::Identity => Ok(x.clone()),
            LayerOp::Elementwise { name } => Err(RunError::new(format!("`{name}` must be an elementwise node"))),
        }
    }
}

/// How [`Model::run_graph`] runs.
#[derive(Clone, Copy)]
struct Run {
    /// Stop at the first node whose output is not finite.
    check: bool,
    /// Read the parameters as tracked variables, so that autograd sees them.
    track: bool,
}

/// A parameter's value: the variable itself when autograd must track it, else a detached
/// handle on the same storage.
fn value(v: &Var, track: bool) -> Tensor {
    match track {
        true => v.as_tensor().clone(),
        false => v.as_detached_tensor(),
    }
}

/// A training forward pass of [`Model::train_forward`], waiting for its backward.
pub struct Pass {
    output: Tensor,
    tape: Option<(tape::Tape, Var)>,
}

impl Pass {
    /// The model's output, to compute the loss from.
    pub fn output(&self) -> &Tensor {
        &self.output
    }

    /// The gradient of `loss`, computed from [`Pass::output`], for every parameter of `model`
    /// in the order of [`Model::params`]; `None` for parameters the loss does not depend on.
    pub fn gradients(self, model: &Model, loss: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let grads = loss.backward()?;
        match self.tape {
            Some((tape, output)) => match grads.get(output.as_tensor()) {
                Some(dy) => tape.backward(dy.clone()),
                None => Ok(vec![None; model.params.len()]),
            },
            None => Ok(model.params.iter().map(|(_, v)| grads.get(v.as_tensor()).cloned()).collect()),
        }
    }
}

/// Applies the one-input elementwise function `f` to `x` with autograd: as compiled forward
/// and derivative kernels when `jit` is set and `x` is an `f32` CPU tensor, else by composing
/// Candle ops. [`Model::forward`] does the same with kernels compiled once per model.
pub fn elementwise(f: &exp_ir::ScalarFn, x: &Tensor, jit: bool) -> Result<Tensor> {
    if let Some(y) = jit.then(|| jit::Compiled::new(f)).flatten().and_then(|k| Arc::new(k).apply(x)) {
        return Ok(y?);
    }
    eval_unary(f, exp_ir::derive::vjp(f).as_ref(), x)
}

/// The gradient of the input of the one-input elementwise function `f` at `x` for the output
/// gradient `dy`: the compiled derivative when `jit` is set and `x` is an `f32` CPU tensor
/// (what a taped training step runs), else Candle's autograd through the composed path
/// ([`crate::scalar::eval_unary`]).
pub fn elementwise_vjp(f: &exp_ir::ScalarFn, x: &Tensor, dy: &Tensor, jit: bool) -> Result<Tensor> {
    let compiled = jit.then(|| jit::Compiled::new(f)).flatten();
    if let (Some(k), DType::F32, true) = (compiled, x.dtype(), x.device().is_cpu()) {
        return Ok(Arc::new(k).vjp(x, dy)?);
    }
    let v = Var::from_tensor(&x.detach())?;
    let y = elementwise(f, v.as_tensor(), false)?;
    let grads = y.broadcast_mul(dy)?.sum_all()?.backward()?;
    match grads.get(v.as_tensor()) {
        Some(g) => Ok(g.clone()),
        // A function that ignores its input.
        None => Ok(x.zeros_like()?),
    }
}

/// Whether every element of `t` is finite.
fn finite(t: &Tensor) -> Result<bool> {
    if t.elem_count() == 0 {
        return Ok(true);
    }
    let m = t.to_dtype(candle_core::DType::F64)?.abs()?.max_all()?.to_scalar::<f64>()?;
    Ok(m.is_finite())
}
