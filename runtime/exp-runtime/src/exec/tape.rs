//! A training forward pass that records how to take each node's backward, and that backward:
//! the gradients of the parameters from the gradient of the model's output, without Candle's
//! autograd.
//!
//! Candle's autograd sums every gradient into a fresh zero tensor (`zeros_like`, then `add`)
//! and walks a graph it builds op by op. In a model made of a chain of layers each gradient has
//! one producer, so that is a memset and two extra passes over every activation per step. The
//! tape calls each op's backward directly and hands gradients on as they are, summing only
//! where a value has several consumers. Values that depend on no parameter (the data input,
//! or a pool applied to it) get no gradient at all.
//!
//! It covers `f32` graphs on the CPU whose nodes all have a direct backward: linear and 1-d or
//! 2-d convolution (with or without a fused activation), embedding, layer and batch
//! normalization, compiled one-input elementwise functions, max, average and global average
//! pools, flatten, reshape, identity, dropout, add, mul, scale and concat. [`Model::train_forward`](super::Model::train_forward) uses it for such graphs and
//! Candle's autograd for the others; both give the same gradients (tested).

use super::conv::{planned, ConvSpec};
use super::dense::Dense;
use super::jit::Compiled;
use super::pool::{pool_op, Pool2d, PoolKind};
use super::{concrete, layers, norm, Model};
use crate::error::{Result, RunError};
use crate::rng::Rng;
use candle_core::{DType, Device, Shape, Tensor};
use exp_ir::{LayerCall, Node, NodeOp, Program, ValueId};
use exp_ops::{Dim, LayerOp};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// What a forward pass recorded for the backward.
pub(crate) struct Tape {
    steps: Vec<Step>,
    /// The value whose gradient starts the backward.
    output: ValueId,
    /// How many parameters the model has.
    params: usize,
}

/// One node (or a layer and its fused activation).
struct Step {
    /// Where each operand's gradient goes; `None` for operands that need none.
    operands: Vec<Option<ValueId>>,
    result: ValueId,
    back: Back,
}

/// How a step turns its output gradient into its operands' and parameters' gradients.
enum Back {
    /// A linear layer on `x` reshaped to `[rows, in]`; `bias` is `None` for a layer without
    /// one (a zero bias runs in its place).
    Dense { op: Dense, x: Tensor, w: Tensor, b: Tensor, shape: Shape, weight: usize, bias: Option<usize> },
    /// A convolution on `x` in the op's 2-d shapes; `w` the weight in those shapes.
    Conv { op: super::convop::Conv2d, x: Tensor, w: Tensor, b: Tensor, one_d: bool, weight: usize, bias: Option<usize> },
    /// A compiled elementwise function of `x`.
    Act { f: Arc<Compiled>, x: Tensor },
    /// An embedding lookup of the flat `ids` in a table of shape `table`.
    Embed { ids: Tensor, table: Shape, weight: usize },
    /// A pool of `x` (4-d; a 1-d pool's output gradient gets an axis 2 of size 1).
    Pool { op: Pool2d, x: Tensor, one_d: bool },
    /// A layer or batch normalization, its weight and bias by position when it has them.
    Norm { saved: norm::Saved, w: Option<Tensor>, weight: Option<usize>, bias: Option<usize> },
    /// The mean over every axis after the first two of an input of shape `Shape`.
    Mean(Shape),
    /// A change of shape from `Shape`.
    Reshape(Shape),
    /// Multiplication by a fixed tensor (a dropout mask).
    Mask(Tensor),
    /// `factor * x`.
    Scale(f64),
    /// The broadcast sum of the operands, whose shapes these are.
    Add(Vec<Shape>),
    /// The broadcast product of two operands.
    Mul(Tensor, Tensor),
    /// Concatenation along `axis` of operands of these sizes along it.
    Concat { axis: usize, sizes: Vec<usize> },
}

impl Model {
    /// Whether the tape covers every node of `program`'s graph on this model (its kernels
    /// compiled, on the CPU, everything `f32`).
    pub(crate) fn tape_covers(&self, program: &Program) -> bool {
        let params_f32 = self.params.iter().all(|(_, v)| v.dtype() == DType::F32);
        self.device.is_cpu() && params_f32 && program.graph.inputs.len() == 1 && {
            program.graph.nodes.iter().all(|node| match &node.op {
                NodeOp::Layer(call) => matches!(
                    call.op,
                    LayerOp::Linear { .. }
                        | LayerOp::Conv1d(_)
                        | LayerOp::Conv2d(_)
                        | LayerOp::MaxPool1d(_)
                        | LayerOp::MaxPool2d(_)
                        | LayerOp::AvgPool1d(_)
                        | LayerOp::AvgPool2d(_)
                        | LayerOp::Flatten
                        | LayerOp::Reshape { .. }
                        | LayerOp::Dropout { .. }
                        | LayerOp::Embedding { .. }
                        | LayerOp::GlobalAvgPool
                        | LayerOp::LayerNorm { .. }
                        | LayerOp::BatchNorm { .. }
                        | LayerOp::Identity
                ),
                NodeOp::Elementwise { function } => self.kernels.contains_key(function) && node.operands.len() == 1,
                NodeOp::Add | NodeOp::Mul | NodeOp::Scale { .. } | NodeOp::Concat { .. } => true,
            })
        }
    }

    /// Runs the graph on `x` in training mode, recording the tape; only for graphs that
    /// [`Model::tape_covers`]. Returns the first output and the tape.
    pub(crate) fn forward_taped(&self, program: &Program, x: &Tensor, rng: &mut Rng) -> Result<(Tensor, Tape)> {
        let graph = &program.graph;
        let input = &graph.inputs[0];
        self.check_input(program, x)?;
        let mut values: HashMap<ValueId, Tensor> = HashMap::with_capacity(graph.nodes.len() + 1);
        values.insert(input.id, x.detach());
        // Values that depend on a parameter, and so need a gradient.
        let mut needs: HashSet<ValueId> = HashSet::new();
        let mut steps = Vec::with_capacity(graph.nodes.len());
        let mut skip = false;
        for (i, node) in graph.nodes.iter().enumerate() {
            if std::mem::take(&mut skip) {
                continue;
            }
            let args = operands(node, &values)?;
            let act = self.fused.get(&i).filter(|_| args.len() == 1);
            let (y, back) = self.taped_node(node, &args, act, rng).map_err(|e| in_node(node, e))?;
            let result = match act {
                Some(_) => {
                    skip = true;
                    graph.nodes[i + 1].result
                }
                None => node.result,
            };
            let operands: Vec<Option<ValueId>> =
                node.operands.iter().map(|id| needs.contains(id).then_some(*id)).collect();
            if operands.iter().any(Option::is_some) || back.has_params() {
                needs.insert(result);
                steps.push(Step { operands, result, back });
            }
            values.insert(result, y);
        }
        let output = *graph.outputs.first().ok_or_else(|| RunError::new("the graph returns no value"))?;
        let y = values.remove(&output).ok_or_else(|| RunError::new("the graph returns no defined value"))?;
        Ok((y, Tape { steps, output, params: self.params.len() }))
    }

    /// One node's output and its backward; `act` is the activation of the next node when it is
    /// fused into this one (a linear layer or a convolution).
    fn taped_node(
        &self,
        node: &Node,
        args: &[&Tensor],
        act: Option<&Arc<Compiled>>,
        rng: &mut Rng,
    ) -> Result<(Tensor, Back)> {
        let one = || match args {
            [x] => Ok(*x),
            _ => Err(RunError::new(format!("takes one operand, got {}", args.len()))),
        };
        match &node.op {
            NodeOp::Layer(call) => self.taped_layer(call, one()?, act, rng),
            NodeOp::Elementwise { function } => {
                let f =
                    self.kernels.get(function).ok_or_else(|| RunError::new(format!("`{function}` is not compiled")))?;
                let x = one()?;
                let y = f.apply(x).ok_or_else(|| RunError::new("a compiled function needs f32 CPU input"))??;
                Ok((y, Back::Act { f: Arc::clone(f), x: x.clone() }))
            }
            NodeOp::Scale { factor } => Ok((one()?.affine(*factor, 0.0)?, Back::Scale(*factor))),
            NodeOp::Add => {
                let (first, rest) = args.split_first().ok_or_else(|| RunError::new("takes operands"))?;
                let y = rest.iter().try_fold((*first).clone(), |acc, t| acc.broadcast_add(t))?;
                Ok((y, Back::Add(args.iter().map(|t| t.shape().clone()).collect())))
            }
            NodeOp::Mul => match args {
                [a, b] => Ok((a.broadcast_mul(b)?, Back::Mul((*a).clone(), (*b).clone()))),
                _ => Err(RunError::new(format!("takes 2 operands, got {}", args.len()))),
            },
            NodeOp::Concat { axis } => {
                let axis = *axis as usize;
                let sizes = args.iter().map(|t| t.dim(axis)).collect::<candle_core::Result<_>>()?;
                Ok((Tensor::cat(args, axis)?, Back::Concat { axis, sizes }))
            }
        }
    }

    fn taped_layer(
        &self,
        call: &LayerCall,
        x: &Tensor,
        act: Option<&Arc<Compiled>>,
        rng: &mut Rng,
    ) -> Result<(Tensor, Back)> {
        let param = |role: &str| -> Option<usize> {
            let name = &call.params.iter().find(|p| p.role == role)?.name;
            match self.index.get(name) {
                Some((false, i)) => Some(*i),
                _ => None,
            }
        };
        let tensor = |i: usize| self.params[i].1.as_detached_tensor();
        let ints = |ds: &[Dim]| concrete(ds).ok_or_else(|| RunError::new("has a symbolic size"));
        // The weight's position and value.
        let weight = || {
            let at = param("weight").ok_or_else(|| RunError::new("has no `weight` parameter"))?;
            Ok::<_, RunError>((tensor(at), at))
        };
        let bias = param("bias");
        // A missing bias is a zero one; its gradient is dropped.
        let bias_or_zero = |out: usize| match bias {
            Some(i) => Ok::<Tensor, RunError>(tensor(i)),
            None => Ok(Tensor::zeros(out, DType::F32, &Device::Cpu)?),
        };
        let op = &call.op;
        match op {
            LayerOp::Linear { .. } => {
                let (w, at) = weight()?;
                let (x2, shape) = layers::linear_rows(x, &w)?;
                let x2 = x2.contiguous()?;
                let b = bias_or_zero(w.dim(0)?)?;
                let op = act.map_or_else(Dense::new, |a| Dense::with_activation(Arc::clone(a)));
                let y = x2.apply_op3_no_bwd(&w, &b, &op)?;
                let back = Back::Dense { op, x: x2, w, b, shape: x.shape().clone(), weight: at, bias };
                Ok((y.reshape(shape)?, back))
            }
            LayerOp::Conv1d(c) | LayerOp::Conv2d(c) => {
                let (w, at) = weight()?;
                let groups = ints(std::slice::from_ref(&c.groups))?[0];
                let spec = ConvSpec {
                    stride: ints(&c.stride)?,
                    padding: ints(&c.padding)?,
                    dilation: ints(&c.dilation)?,
                    groups,
                };
                let p = planned(x, &w, &spec, act)?;
                let b = bias_or_zero(p.op.out_channels)?;
                let y = p.x.apply_op3_no_bwd(&p.w, &b, &p.op)?;
                let y = if p.one_d { y.squeeze(2)? } else { y };
                let back = Back::Conv { op: p.op, x: p.x, w: p.w, b, one_d: p.one_d, weight: at, bias };
                Ok((y, back))
            }
            LayerOp::MaxPool1d(p) | LayerOp::MaxPool2d(p) | LayerOp::AvgPool1d(p) | LayerOp::AvgPool2d(p) => {
                let is_max = matches!(op, LayerOp::MaxPool1d(_) | LayerOp::MaxPool2d(_));
                let kind = if is_max { PoolKind::Max } else { PoolKind::Avg };
                let (pool, one_d) = pool_op(x, kind, &ints(&p.kernel)?, &ints(&p.stride)?, &ints(&p.padding)?)?;
                let x4 = if one_d { x.unsqueeze(2)? } else { x.clone() }.contiguous()?;
                let y = x4.apply_op1_no_bwd(&pool)?;
                let y = if one_d { y.squeeze(2)? } else { y };
                Ok((y, Back::Pool { op: pool, x: x4, one_d }))
            }
            LayerOp::Embedding { concat, .. } => {
                let (w, at) = weight()?;
                let ids = layers::embedding_ids(x, w.dim(0)?)?;
                let y = layers::embedded(x.dims(), &w.embedding(&ids)?, *concat)?;
                Ok((y, Back::Embed { ids, table: w.shape().clone(), weight: at }))
            }
            LayerOp::GlobalAvgPool => Ok((layers::global_avg_pool(x)?, Back::Mean(x.shape().clone()))),
            LayerOp::LayerNorm { eps, .. } => {
                let (at, w, b) = (param("weight"), param("weight").map(tensor), param("bias").map(tensor));
                let (y, saved) = norm::layer_norm_saving(x, w.as_ref(), b.as_ref(), *eps)?;
                Ok((y, Back::Norm { saved, w, weight: at, bias: param("bias") }))
            }
            LayerOp::BatchNorm { eps, momentum, .. } => {
                let stat = |role: &str| {
                    let name = &call.params.iter().find(|p| p.role == role)?.name;
                    self.get(name)
                };
                let (Some(mean), Some(var)) = (stat("running_mean"), stat("running_var")) else {
                    return Err(RunError::new("has no running statistics"));
                };
                let (at, w, b) = (param("weight"), param("weight").map(tensor), param("bias").map(tensor));
                let running = norm::Running { mean, var };
                let (y, saved) = norm::batch_norm_train(x, w.as_ref(), b.as_ref(), running, *eps, *momentum)?;
                Ok((y, Back::Norm { saved, w, weight: at, bias: param("bias") }))
            }
            LayerOp::Flatten => Ok((layers::flatten(x)?, Back::Reshape(x.shape().clone()))),
            LayerOp::Reshape { shape } => {
                let dims = shape.iter().map(|d| d.as_const().ok_or_else(|| RunError::new("has a symbolic size")));
                let y = layers::reshape(x, &dims.collect::<Result<Vec<_>>>()?)?;
                Ok((y, Back::Reshape(x.shape().clone())))
            }
            LayerOp::Identity => Ok((x.clone(), Back::Reshape(x.shape().clone()))),
            LayerOp::Dropout { rate } => match layers::dropout_mask(x, *rate, rng)? {
                Some(mask) => Ok((x.mul(&mask)?, Back::Mask(mask))),
                None => Ok((x.clone(), Back::Reshape(x.shape().clone()))),
            },
            other => Err(RunError::new(format!("`{}` has no direct backward", other.name()))),
        }
    }
}

/// A step's operand gradients (where wanted) and parameter gradients by index.
type StepGrads = (Vec<Option<Tensor>>, Vec<(usize, Tensor)>);

impl Back {
    fn has_params(&self) -> bool {
        match self {
            Back::Dense { .. } | Back::Conv { .. } | Back::Embed { .. } => true,
            Back::Norm { weight, bias, .. } => weight.is_some() || bias.is_some(),
            _ => false,
        }
    }

    /// The operands' gradients (where `want`), and the parameters' gradients by index, from
    /// the output gradient `dy`.
    fn run(self, dy: Tensor, want: &[bool]) -> Result<StepGrads> {
        let wants = |i: usize| want.get(i).copied().unwrap_or(false);
        let mut params = Vec::new();
        let grads = match self {
            Back::Dense { op, x, w, b, shape, weight, bias } => {
                let rows = x.dim(0)?;
                let dy = dy.reshape((rows, dy.elem_count() / rows.max(1)))?;
                let (dx, dw, db) = op.grads(&x, &w, &b, &dy, wants(0))?;
                params.push((weight, dw));
                if let Some(i) = bias {
                    params.push((i, db));
                }
                vec![dx.map(|dx| dx.reshape(shape)).transpose()?]
            }
            Back::Conv { op, x, w, b, one_d, weight, bias } => {
                let dy = if one_d { dy.unsqueeze(2)? } else { dy };
                let (dx, dw, db) = op.grads(&x, &w, &b, &dy, wants(0))?;
                let dw = if one_d { dw.squeeze(2)? } else { dw };
                params.push((weight, dw));
                if let Some(i) = bias {
                    params.push((i, db));
                }
                vec![match (dx, one_d) {
                    (Some(dx), true) => Some(dx.squeeze(2)?),
                    (dx, _) => dx,
                }]
            }
            Back::Act { f, x } => vec![Some(f.vjp(&x, &dy)?)],
            Back::Embed { ids, table, weight } => {
                // Each looked-up row's gradient adds onto its id's row; ids get none.
                let dy = dy.reshape((ids.elem_count(), table.dims()[1]))?;
                params.push((weight, Tensor::zeros(table, dy.dtype(), dy.device())?.index_add(&ids, &dy, 0)?));
                vec![None]
            }
            Back::Pool { op, x, one_d } => {
                let dy = if one_d { dy.unsqueeze(2)? } else { dy };
                let dx = op.grad(&x, &dy)?;
                vec![Some(if one_d { dx.squeeze(2)? } else { dx })]
            }
            Back::Norm { saved, w, weight, bias } => {
                let (dx, dw, db) = norm::norm_backward(&dy, &saved, w.as_ref())?;
                params.extend(weight.map(|i| (i, dw)));
                params.extend(bias.map(|i| (i, db)));
                vec![Some(dx)]
            }
            Back::Mean(shape) => {
                // Every element of a `[B, C, n]` window gets `1/n` of its mean's gradient.
                let (b, c) = (shape.dims()[0], shape.dims()[1]);
                let n = shape.elem_count() / (b * c).max(1);
                let dx = dy.affine(1.0 / n.max(1) as f64, 0.0)?.unsqueeze(2)?.broadcast_as((b, c, n))?;
                vec![Some(dx.contiguous()?.reshape(shape)?)]
            }
            Back::Reshape(shape) => vec![Some(dy.reshape(shape)?)],
            Back::Mask(mask) => vec![Some(dy.mul(&mask)?)],
            Back::Scale(factor) => vec![Some(dy.affine(factor, 0.0)?)],
            Back::Add(shapes) => shapes
                .iter()
                .enumerate()
                .map(|(i, s)| wants(i).then(|| sum_to(&dy, s)).transpose())
                .collect::<Result<_>>()?,
            Back::Mul(a, b) => vec![
                wants(0).then(|| sum_to(&dy.broadcast_mul(&b)?, a.shape())).transpose()?,
                wants(1).then(|| sum_to(&dy.broadcast_mul(&a)?, b.shape())).transpose()?,
            ],
            Back::Concat { axis, sizes } => {
                let mut start = 0;
                let mut out = Vec::with_capacity(sizes.len());
                for (i, n) in sizes.into_iter().enumerate() {
                    out.push(wants(i).then(|| dy.narrow(axis, start, n)).transpose()?);
                    start += n;
                }
                out
            }
        };
        Ok((grads, params))
    }
}

impl Tape {
    /// The gradient of every parameter (by position in [`Model::params`]; `None` for those
    /// the output does not depend on) from the gradient `dy` of the output.
    pub(crate) fn backward(self, dy: Tensor) -> Result<Vec<Option<Tensor>>> {
        let mut grads: HashMap<ValueId, Tensor> = HashMap::new();
        grads.insert(self.output, dy);
        let mut params: Vec<Option<Tensor>> = vec![None; self.params];
        for step in self.steps.into_iter().rev() {
            let Some(dy) = grads.remove(&step.result) else { continue };
            let want: Vec<bool> = step.operands.iter().map(Option::is_some).collect();
            let (inputs, ps) = step.back.run(dy, &want)?;
            for (id, g) in step.operands.iter().zip(inputs) {
                if let (Some(id), Some(g)) = (id, g) {
                    let sum = accumulate(grads.remove(id), g)?;
                    grads.insert(*id, sum);
                }
            }
            for (i, g) in ps {
                params[i] = Some(accumulate(params[i].take(), g)?);
            }
        }
        Ok(params)
    }
}

/// `g`, plus what `sum` already holds.
fn accumulate(sum: Option<Tensor>, g: Tensor) -> Result<Tensor> {
    Ok(match sum {
        Some(s) => s.add(&g)?,
        None => g,
    })
}

/// The gradient `g` of a broadcast result reduced to an operand of shape `shape`: summed over
/// the leading axes broadcasting added and the axes it stretched from 1.
fn sum_to(g: &Tensor, shape: &Shape) -> Result<Tensor> {
    let dims = shape.dims();
    let extra = g
        .rank()
        .checked_sub(dims.len())
        .ok_or_else(|| RunError::new(format!("a gradient of shape {:?} cannot reduce to {dims:?}", g.dims())))?;
    let mut g = g.clone();
    for _ in 0..extra {
        g = g.sum(0)?;
    }
    for (axis, &d) in dims.iter().enumerate() {
        if d == 1 && g.dim(axis)? != 1 {
            g = g.sum_keepdim(axis)?;
        }
    }
    Ok(g)
}

/// The values `node` reads.
pub(super) fn operands<'v>(node: &Node, values: &'v HashMap<ValueId, Tensor>) -> Result<Vec<&'v Tensor>> {
    let read = |id| values.get(id).ok_or_else(|| RunError::at("a node reads an undefined value", node.origin));
    node.operands.iter().map(read).collect()
}

/// `e` with the node's name in front and its origin when it has none.
pub(super) fn in_node(node: &Node, e: RunError) -> RunError {
    RunError {
        message: format!("`{}`: {}", node.op.name(), e.message),
        origin: e.origin.or(node.origin),
        help: e.help,
        kind: e.kind,
    }
}
