//! Shape inference for convolutions and pools: PyTorch's sliding-window output sizes,
//! weight layouts `[out, in / groups, k...]`, and their costs.

use super::infer::{c, expect_divisible, expect_positive, expect_rank, info, product, weight_and_bias, zero};
use super::{Conv, LayerInfo, Pool};
use crate::error::Rank;
use crate::registry::arg::{ArgError, ArgKind, ArgProblem};
use crate::{Dim, Shape, ShapeError};

const SPATIAL_NAMES: [[&str; 2]; 2] = [["output length", ""], ["output height", "output width"]];

/// `floor((size + 2 * pad - dil * (k - 1) - 1) / stride) + 1`, PyTorch's formula.
fn window_out(size: &Dim, k: &Dim, stride: &Dim, pad: &Dim, dil: &Dim) -> Dim {
    let span = dil.clone() * (k.clone() - c(1));
    (size.clone() + c(2) * pad.clone() - span - c(1)).div_floor(stride) + c(1)
}

/// Output sizes of the spatial axes `x[2..]`, each checked positive when constant.
fn spatial_out(op: &str, x: &Shape, k: &[Dim], s: &[Dim], p: &[Dim], d: &[Dim]) -> Result<Vec<Dim>, ShapeError> {
    let n = k.len();
    (0..n)
        .map(|i| {
            let size = window_out(&x.0[2 + i], &k[i], &s[i], &p[i], &d[i]);
            expect_positive(op, SPATIAL_NAMES[n - 1][i], &size)?;
            Ok(size)
        })
        .collect()
}

/// Ops deserialized from IR could disagree on how many spatial axes they have; report it
/// rather than index out of bounds.
fn expect_spatial_lens(op: &str, n: usize, args: &[(&str, &Vec<Dim>)]) -> Result<(), ShapeError> {
    match args.iter().find(|(_, v)| v.len() != n) {
        Some((name, _)) => Err(ShapeError::BadArg(ArgError::new(
            op,
            name,
            ArgProblem::WrongKind { expected: if n == 1 { ArgKind::Int } else { ArgKind::IntOrPair } },
        ))),
        None => Ok(()),
    }
}

fn spatial_layout(n: usize) -> &'static str {
    if n == 1 {
        "[B, C, L]"
    } else {
        "[B, C, H, W]"
    }
}

pub(super) fn conv(op: &str, x: &Shape, conv: &Conv) -> Result<LayerInfo, ShapeError> {
    let n = conv.kernel.len();
    expect_rank(op, x, Rank::Exactly(n + 2), spatial_layout(n))?;
    let (batch, in_c, out_c) = (&x.0[0], &x.0[1], &conv.out_channels);
    expect_divisible(op, "input channels", in_c, "groups", &conv.groups)?;
    expect_divisible(op, "output channels", out_c, "groups", &conv.groups)?;
    expect_spatial_lens(op, n, &[("stride", &conv.stride), ("padding", &conv.padding), ("dilation", &conv.dilation)])?;
    let spatial = spatial_out(op, x, &conv.kernel, &conv.stride, &conv.padding, &conv.dilation)?;
    let group_in = in_c.div_floor(&conv.groups);
    let fan_in = group_in.clone() * product(&conv.kernel);
    let mut weight = vec![out_c.clone(), group_in];
    weight.extend(conv.kernel.iter().cloned());
    let params = weight_and_bias(Shape(weight), fan_in.clone(), out_c, conv.bias);
    let flops = c(2) * batch.clone() * out_c.clone() * product(&spatial) * fan_in;
    let mut output = vec![batch.clone(), out_c.clone()];
    output.extend(spatial);
    Ok(info(Shape(output), params, flops, x.numel()))
}

pub(super) fn pool(op: &str, x: &Shape, pool: &Pool, is_max: bool) -> Result<LayerInfo, ShapeError> {
    let n = pool.kernel.len();
    expect_rank(op, x, Rank::Exactly(n + 2), spatial_layout(n))?;
    expect_spatial_lens(op, n, &[("stride", &pool.stride), ("padding", &pool.padding)])?;
    let ones = vec![c(1); n];
    let spatial = spatial_out(op, x, &pool.kernel, &pool.stride, &pool.padding, &ones)?;
    let mut output = Shape(x.0[..2].to_vec());
    output.0.extend(spatial);
    let flops = output.numel() * product(&pool.kernel);
    // Max pooling keeps its input and the argmax indices; average pooling needs neither.
    let saved = if is_max { x.numel() + output.numel() } else { zero() };
    Ok(info(output, vec![], flops, saved))
}
