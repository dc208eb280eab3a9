//! Shape inference for layer ops: output shapes, parameters, FLOPs and saved activations,
//! with PyTorch's output-size formulas and parameter layouts.
//!
//! Checks that need numbers (a positive output size, channels divisible by groups) fire
//! only on constants; a symbolic size is accepted and checked again once it is known.
//! Convolutions and pools, which share the window arithmetic, are in `spatial.rs`.

use std::collections::BTreeMap;

use super::spatial::{conv, pool};
use super::{InitSpec, LayerInfo, LayerOp, ParamSpec};
use crate::error::{Rank, ReshapeProblem};
use crate::registry::arg::ArgValue;
use crate::registry::ParamRole;
use crate::{Dim, Shape, ShapeError};

/// Builds the op `name` from `args` ([`LayerOp::from_args`]) and infers it on `input`.
pub fn infer(name: &str, args: &BTreeMap<String, ArgValue>, input: &Shape) -> Result<LayerInfo, ShapeError> {
    LayerOp::from_args(name, args)?.infer(input)
}

impl LayerOp {
    /// Output shape, parameters, buffers, FLOPs and activations of this op on `input`.
    pub fn infer(&self, input: &Shape) -> Result<LayerInfo, ShapeError> {
        let x = input;
        match self {
            LayerOp::Linear { out, bias } => linear(x, out, *bias),
            LayerOp::Conv1d(c) => conv(self.name(), x, c),
            LayerOp::Conv2d(c) => conv(self.name(), x, c),
            LayerOp::MaxPool1d(p) | LayerOp::MaxPool2d(p) => pool(self.name(), x, p, true),
            LayerOp::AvgPool1d(p) | LayerOp::AvgPool2d(p) => pool(self.name(), x, p, false),
            LayerOp::GlobalAvgPool => {
                expect_rank("global_avg_pool", x, Rank::AtLeast(3), "[B, C, ...]")?;
                let out = Shape(x.0[..2].to_vec());
                Ok(info(out, vec![], x.numel(), zero()))
            }
            LayerOp::Flatten => {
                expect_rank("flatten", x, Rank::AtLeast(2), "[B, ...]")?;
                Ok(info(Shape(vec![x.0[0].clone(), product(&x.0[1..])]), vec![], zero(), zero()))
            }
            LayerOp::Reshape { shape } => Ok(info(reshape(x, shape)?, vec![], zero(), zero())),
            LayerOp::Embedding { vocab, dim, concat } => embedding(x, vocab, dim, *concat),
            LayerOp::LayerNorm { affine, .. } => layer_norm(x, *affine),
            LayerOp::BatchNorm { affine, .. } => batch_norm(x, *affine),
            LayerOp::Dropout { .. } => Ok(info(x.clone(), vec![], x.numel(), x.numel())),
            LayerOp::MultiHeadAttention { heads, dim, bias } => attention(x, heads, dim, *bias),
            LayerOp::Identity => Ok(info(x.clone(), vec![], zero(), zero())),
            LayerOp::Elementwise { .. } => Ok(info(x.clone(), vec![], x.numel(), x.numel())),
        }
    }
}

pub(super) fn zero() -> Dim {
    Dim::constant(0)
}

pub(super) fn c(v: i64) -> Dim {
    Dim::constant(v)
}

pub(super) fn product(dims: &[Dim]) -> Dim {
    dims.iter().cloned().fold(c(1), |acc, d| acc * d)
}

pub(super) fn info(output: Shape, params: Vec<ParamSpec>, flops: Dim, activations: Dim) -> LayerInfo {
    LayerInfo { output, params, buffers: vec![], flops, activations }
}

pub(super) fn expect_rank(op: &str, x: &Shape, expected: Rank, layout: &str) -> Result<(), ShapeError> {
    if expected.accepts(x.rank()) {
        return Ok(());
    }
    Err(ShapeError::RankMismatch { op: op.into(), expected, layout: layout.into(), found: x.clone() })
}

/// Fails when `size` is a constant `<= 0`.
pub(super) fn expect_positive(op: &str, what: &str, size: &Dim) -> Result<(), ShapeError> {
    match size.as_const() {
        Some(v) if v <= 0 => Err(ShapeError::NonPositive { op: op.into(), what: what.into(), value: size.clone() }),
        _ => Ok(()),
    }
}

/// Fails when both sizes are constants and `divisor` does not divide `value`.
pub(super) fn expect_divisible(op: &str, what: &str, value: &Dim, by: &str, divisor: &Dim) -> Result<(), ShapeError> {
    match (value.as_const(), divisor.as_const()) {
        (Some(v), Some(d)) if d != 0 && v % d != 0 => Err(ShapeError::NotDivisible {
            op: op.into(),
            what: what.into(),
            value: value.clone(),
            by: by.into(),
            divisor: divisor.clone(),
        }),
        _ => Ok(()),
    }
}

/// Weight `[out, fan_in...]` and optional bias `[out]` with PyTorch's default init.
pub(super) fn weight_and_bias(weight: Shape, fan_in: Dim, out: &Dim, bias: bool) -> Vec<ParamSpec> {
    let mut params =
        vec![ParamSpec::new("weight", ParamRole::Weight, weight, InitSpec::torch_default_weight(fan_in.clone()))];
    if bias {
        params.push(ParamSpec::new(
            "bias",
            ParamRole::Bias,
            Shape(vec![out.clone()]),
            InitSpec::BiasUniform { fan_in },
        ));
    }
    params
}

fn linear(x: &Shape, out: &Dim, bias: bool) -> Result<LayerInfo, ShapeError> {
    expect_rank("linear", x, Rank::AtLeast(2), "[B, ..., in]")?;
    let (input, rows) = x.0.split_last().expect("rank checked above");
    let mut output = x.clone();
    *output.0.last_mut().expect("rank checked above") = out.clone();
    let params = weight_and_bias(Shape(vec![out.clone(), input.clone()]), input.clone(), out, bias);
    let flops = c(2) * product(rows) * input.clone() * out.clone();
    Ok(info(output, params, flops, x.numel()))
}

/// Non-batch axes of `x` become `target`, whose single `-1` entry (if any) is inferred.
/// Symbolic counts must be provably equal: the checker never guesses a symbol's value.
fn reshape(x: &Shape, target: &[Dim]) -> Result<Shape, ShapeError> {
    let fail = |problem| ShapeError::BadReshape { input: x.clone(), target: target.to_vec(), problem };
    expect_rank("reshape", x, Rank::AtLeast(1), "[B, ...]")?;
    let count = product(&x.0[1..]);
    let mut inferred = None;
    for (i, d) in target.iter().enumerate() {
        match d.as_const() {
            Some(-1) if inferred.is_some() => return Err(fail(ReshapeProblem::SeveralInferred)),
            Some(-1) => inferred = Some(i),
            Some(v) if v <= 0 => return Err(fail(ReshapeProblem::NonPositiveEntry(d.clone()))),
            _ => {}
        }
    }
    let mut dims = target.to_vec();
    let known = product(
        &target.iter().enumerate().filter(|(i, _)| Some(*i) != inferred).map(|(_, d)| d.clone()).collect::<Vec<_>>(),
    );
    if let Some(i) = inferred {
        dims[i] = count.div_floor(&known);
    }
    if product(&dims) != count {
        return Err(fail(ReshapeProblem::CountMismatch));
    }
    let mut out = vec![x.0[0].clone()];
    out.extend(dims);
    Ok(Shape(out))
}

fn embedding(x: &Shape, vocab: &Dim, dim: &Dim, concat: bool) -> Result<LayerInfo, ShapeError> {
    expect_rank("embed", x, Rank::AtLeast(1), "[B, ...]")?;
    let output = if concat {
        Shape(vec![x.0[0].clone(), product(&x.0[1..]) * dim.clone()])
    } else {
        let mut out = x.clone();
        out.0.push(dim.clone());
        out
    };
    let init = InitSpec::Normal { mean: 0.0, std: 1.0 };
    let params = vec![ParamSpec::new("weight", ParamRole::Table, Shape(vec![vocab.clone(), dim.clone()]), init)];
    // A lookup does no arithmetic; backward needs only the ids to scatter gradients.
    Ok(info(output, params, zero(), x.numel()))
}

/// Scale and shift of a norm over `features`: weight ones, bias zeros (PyTorch's defaults).
fn affine_params(features: &Dim, affine: bool) -> Vec<ParamSpec> {
    if !affine {
        return vec![];
    }
    let shape = Shape(vec![features.clone()]);
    vec![
        ParamSpec::new("weight", ParamRole::NormGain, shape.clone(), InitSpec::Ones),
        ParamSpec::new("bias", ParamRole::NormBias, shape, InitSpec::Zeros),
    ]
}

fn layer_norm(x: &Shape, affine: bool) -> Result<LayerInfo, ShapeError> {
    expect_rank("layer_norm", x, Rank::AtLeast(2), "[B, ..., D]")?;
    let (features, rows) = x.0.split_last().expect("rank checked above");
    // Backward keeps the input plus one mean and one inverse deviation per row.
    let saved = x.numel() + c(2) * product(rows);
    Ok(info(x.clone(), affine_params(features, affine), c(5) * x.numel(), saved))
}

fn batch_norm(x: &Shape, affine: bool) -> Result<LayerInfo, ShapeError> {
    expect_rank("batch_norm", x, Rank::Between(2, 5), "[B, C, ...]")?;
    let channels = &x.0[1];
    let saved = x.numel() + c(2) * channels.clone();
    let mut out = info(x.clone(), affine_params(channels, affine), c(5) * x.numel(), saved);
    let shape = Shape(vec![channels.clone()]);
    out.buffers = vec![
        ParamSpec::new("running_mean", ParamRole::Buffer, shape.clone(), InitSpec::Zeros),
        ParamSpec::new("running_var", ParamRole::Buffer, shape, InitSpec::Ones),
    ];
    Ok(out)
}

/// Self-attention with `nn.MultiheadAttention`'s parameters: a packed `[3D, D]` input
/// projection (Xavier-uniform, zero bias) and a `[D, D]` output projection (linear default
/// weight, zero bias).
fn attention(x: &Shape, heads: &Dim, dim: &Dim, bias: bool) -> Result<LayerInfo, ShapeError> {
    let op = "attention";
    expect_rank(op, x, Rank::Exactly(3), "[B, T, D]")?;
    if &x.0[2] != dim {
        return Err(ShapeError::DimMismatch { op: op.into(), axis: 2, expected: dim.clone(), found: x.clone() });
    }
    expect_divisible(op, "model dimension", dim, "heads", heads)?;
    let (b, t, d) = (x.0[0].clone(), x.0[1].clone(), dim.clone());
    let three_d = c(3) * d.clone();
    let mut params = vec![ParamSpec::new(
        "in_proj_weight",
        ParamRole::Weight,
        Shape(vec![three_d.clone(), d.clone()]),
        InitSpec::XavierUniform { gain: 1.0, fan_in: d.clone(), fan_out: three_d.clone() },
    )];
    if bias {
        params.push(ParamSpec::new("in_proj_bias", ParamRole::Bias, Shape(vec![three_d]), InitSpec::Zeros));
    }
    params.push(ParamSpec::new(
        "out_proj.weight",
        ParamRole::Weight,
        Shape(vec![d.clone(), d.clone()]),
        InitSpec::torch_default_weight(d.clone()),
    ));
    if bias {
        params.push(ParamSpec::new("out_proj.bias", ParamRole::Bias, Shape(vec![d.clone()]), InitSpec::Zeros));
    }
    let btd = b.clone() * t.clone() * d.clone();
    // Four D x D projections, then Q K^T and P V, each 2 * B * T * T * D.
    let flops = c(8) * btd.clone() * d + c(4) * btd.clone() * t.clone();
    // Saved: the input, Q, K, V, the context fed to the output projection, and the
    // attention probabilities of every head.
    let saved = c(5) * btd + heads.clone() * b * t.clone() * t;
    Ok(info(x.clone(), params, flops, saved))
}
