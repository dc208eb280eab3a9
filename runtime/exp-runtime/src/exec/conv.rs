//! 1-d and 2-d convolutions with PyTorch's layouts (`[out, in / groups, k...]` weights) and
//! per-axis stride, padding and dilation. A 1-d convolution runs as a 2-d one of height 1.
//!
//! On the CPU every convolution is one custom op ([`Conv2d`]): an unfolding and gemm products
//! forward and backward, where Candle's CPU kernels loop directly (its `conv_transpose2d` for
//! the input gradient was the slowest op of a small CNN). Other devices use Candle's `conv2d`
//! kernels where their backward is right and compose simpler ops where it is not.
//!
//! Two Candle bugs are worked around (both checked by the tests, against a direct loop and
//! finite differences):
//! - `conv2d`'s backward computes the input gradient with one `output_padding` derived from
//!   the height, so its shape is wrong when height and width leave different remainders after
//!   striding. Here the input is padded explicitly and the never-read trailing rows and
//!   columns are narrowed off first, so both remainders are zero.
//! - `conv1d` ignores the copy it makes of a non-contiguous kernel, and its backward passes
//!   exactly such a kernel (the transposed output gradient), so its weight gradient is wrong
//!   for batches of more than one. A 1-d convolution therefore runs as a 2-d one of height 1.
//!
//! Calls whose stride or dilation differ between the axes (which Candle's ops cannot express)
//! are composed from padding, narrowing, reshapes and one matrix product (im2col).

use super::convop::Conv2d;
use super::im2col::Unfold;
use super::jit::Compiled;
use crate::error::{Result, RunError};
use candle_core::{DType, Tensor};
use std::sync::Arc;

/// Sizes of one convolution, one entry per spatial axis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ConvSpec {
    /// Step between windows.
    pub stride: Vec<usize>,
    /// Zero padding on both sides.
    pub padding: Vec<usize>,
    /// Spacing of kernel taps.
    pub dilation: Vec<usize>,
    /// Channel groups.
    pub groups: usize,
}

/// PyTorch's output size of a sliding window.
fn out_size(size: usize, k: usize, s: usize, p: usize, d: usize) -> Result<usize> {
    let span = d * (k - 1) + 1;
    if size + 2 * p < span {
        return Err(RunError::new(format!("the kernel span {span} exceeds the padded input {}", size + 2 * p)));
    }
    Ok((size + 2 * p - span) / s + 1)
}

/// How a convolution is computed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ConvPath {
    /// [`Im2Col`] and a matrix product: CPU only, the fast path there.
    Unfold,
    /// Candle's `conv2d` (with the workarounds above): any device.
    Candle,
}

/// Convolves `x` (`[N, C, L]` or `[N, C, H, W]`) with `w`, adding `bias` per output channel.
pub(crate) fn conv(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, spec: &ConvSpec) -> Result<Tensor> {
    let path = if x.device().is_cpu() { ConvPath::Unfold } else { ConvPath::Candle };
    conv_on(path, x, w, bias, spec)
}

/// `act(conv(x))` as one op for a 2-d convolution with bias on `f32` CPU tensors; `None`
/// otherwise, where the two run separately.
pub(crate) fn conv_act(
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    spec: &ConvSpec,
    act: &Arc<Compiled>,
) -> Result<Option<Tensor>> {
    if spec.stride.len() != 2 || !x.device().is_cpu() || x.dtype() != DType::F32 {
        return Ok(None);
    }
    let p = planned(x, w, spec, Some(act))?;
    Ok(Some(p.x.apply_op3(&p.w, b, p.op)?))
}

/// A convolution as one [`Conv2d`] op on the CPU, with its operands in the op's shapes.
pub(crate) struct Planned {
    /// The op, `act` in its epilogue when given.
    pub op: Conv2d,
    /// The input, contiguous `[N, C, H, W]` (a 1-d input with a height of 1).
    pub x: Tensor,
    /// The weight, contiguous `[O, C / G, kh, kw]`.
    pub w: Tensor,
    /// Whether the convolution is 1-d: the op's output has an extra axis 2 of size 1.
    pub one_d: bool,
}

/// Checks and plans the convolution of `x` by `w` as a [`Conv2d`] op, a 1-d one as a 2-d
/// one over a height of 1.
pub(crate) fn planned(x: &Tensor, w: &Tensor, spec: &ConvSpec, act: Option<&Arc<Compiled>>) -> Result<Planned> {
    let one_d = spec.stride.len() == 1;
    let (x, w, spec, outs) = as_2d(x, w, spec)?;
    let (plan, o) = plan(&x, &w, &spec, &outs)?;
    let op = match act {
        Some(act) => Conv2d::with_activation(plan, spec.groups, o, Arc::clone(act)),
        None => Conv2d::new(plan, spec.groups, o),
    };
    Ok(Planned { op, x: x.contiguous()?, w: w.contiguous()?, one_d })
}

/// Checks the convolution and returns it as a 2-d one (a 1-d one over a height of 1): input,
/// weight, sizes and output sizes.
fn as_2d(x: &Tensor, w: &Tensor, spec: &ConvSpec) -> Result<(Tensor, Tensor, ConvSpec, Vec<usize>)> {
    let outs = output_sizes(x, w, spec)?;
    if spec.stride.len() == 2 {
        return Ok((x.clone(), w.clone(), spec.clone(), outs));
    }
    let ConvSpec { stride: s, padding: p, dilation: d, groups } = spec;
    let spec =
        ConvSpec { stride: vec![s[0], s[0]], padding: vec![0, p[0]], dilation: vec![d[0], d[0]], groups: *groups };
    Ok((x.unsqueeze(2)?, w.unsqueeze(2)?, spec, vec![1, outs[0]]))
}

/// Checks that `x`, `w` and `spec` make a 1-d or 2-d convolution, and returns its output's
/// spatial sizes.
fn output_sizes(x: &Tensor, w: &Tensor, spec: &ConvSpec) -> Result<Vec<usize>> {
    let n = spec.stride.len();
    let ConvSpec { stride: s, padding: p, dilation: d, groups } = spec;
    if !(1..=2).contains(&n) || x.rank() != n + 2 || w.rank() != n + 2 || p.len() != n || d.len() != n {
        return Err(RunError::new(format!(
            "a {n}-d convolution cannot apply to {:?} with weight {:?}",
            x.dims(),
            w.dims()
        )));
    }
    if *groups == 0 || s.iter().chain(d).any(|v| *v == 0) {
        return Err(RunError::new(format!("stride {s:?}, dilation {d:?} and groups {groups} must be positive")));
    }
    if x.dim(1)? != w.dim(1)? * groups || w.dim(0)? % groups != 0 {
        return Err(RunError::new(format!(
            "input {:?} and weight {:?} do not match with {groups} groups",
            x.dims(),
            w.dims()
        )));
    }
    (0..n).map(|i| out_size(x.dim(2 + i)?, w.dim(2 + i)?, s[i], p[i], d[i])).collect()
}

/// [`conv`] on a chosen path.
pub(crate) fn conv_on(
    path: ConvPath,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    spec: &ConvSpec,
) -> Result<Tensor> {
    if path == ConvPath::Unfold {
        let p = planned(x, w, spec, None)?;
        // A missing bias is a zero one.
        let b = match bias {
            Some(b) => b.clone(),
            None => Tensor::zeros(p.op.out_channels, w.dtype(), w.device())?,
        };
        let y = p.x.apply_op3(&p.w, &b, p.op)?;
        return Ok(if p.one_d { y.squeeze(2)? } else { y });
    }
    let n = spec.stride.len();
    let (x, w, spec, outs) = as_2d(x, w, spec)?;
    let y = candle_conv2d(&x, &w, &spec, &outs)?;
    let y = if n == 1 { y.squeeze(2)? } else { y };
    match bias {
        Some(b) => {
            let mut shape = vec![1; n + 2];
            shape[1] = b.dim(0)?;
            Ok(y.broadcast_add(&b.reshape(shape)?)?)
        }
        None => Ok(y),
    }
}

/// A 2-d convolution whose output has spatial sizes `outs`.
fn candle_conv2d(x: &Tensor, w: &Tensor, spec: &ConvSpec, outs: &[usize]) -> Result<Tensor> {
    let same = |v: &[usize]| v[0] == v[1];
    if !(same(&spec.stride) && same(&spec.dilation)) {
        return im2col_2d(x, w, spec, outs);
    }
    let (s, d, p) = (spec.stride[0], spec.dilation[0], &spec.padding);
    // The extent of the padded input that some window reads, per axis.
    let covered = |i: usize| -> Result<usize> { Ok((outs[i] - 1) * s + d * (w.dim(2 + i)? - 1) + 1) };
    let unread = |i: usize| -> Result<usize> { Ok(x.dim(2 + i)? + 2 * p[i] - covered(i)?) };
    if p[0] == p[1] && unread(0)? == unread(1)? {
        return Ok(x.conv2d(w, p[0], s, d, spec.groups)?);
    }
    let mut padded = x.clone();
    for (i, pad) in p.iter().enumerate() {
        padded = padded.pad_with_zeros(2 + i, *pad, *pad)?.narrow(2 + i, 0, covered(i)?)?;
    }
    Ok(padded.conv2d(w, 0, s, d, spec.groups)?)
}

/// The unfolding of a 2-d convolution, and its output channels.
fn plan(x: &Tensor, w: &Tensor, spec: &ConvSpec, outs: &[usize]) -> Result<(Unfold, usize)> {
    let (n, c, h, wd) = x.dims4()?;
    let (o, _, kh, kw) = w.dims4()?;
    let two = |v: &[usize]| [v[0], v[1]];
    let plan = Unfold {
        n,
        c,
        h,
        w: wd,
        kernel: [kh, kw],
        stride: two(&spec.stride),
        padding: two(&spec.padding),
        dilation: two(&spec.dilation),
        out: two(outs),
    };
    Ok((plan, o))
}

/// Rows `start, start + step, ...` (`count` of them) of `x` along `axis`, by narrowing,
/// padding to a multiple of `step` and keeping the first of each group of `step`.
fn strided(x: &Tensor, axis: usize, start: usize, step: usize, count: usize) -> Result<Tensor> {
    if step == 1 {
        return Ok(x.narrow(axis, start, count)?);
    }
    let avail = x.dim(axis)? - start;
    let len = avail.min(step * count);
    let part = x.narrow(axis, start, len)?.pad_with_zeros(axis, 0, step * count - len)?;
    let mut dims = part.dims().to_vec();
    dims[axis] = count;
    dims.insert(axis + 1, step);
    Ok(part.reshape(dims)?.narrow(axis + 1, 0, 1)?.squeeze(axis + 1)?)
}

/// A 2-d convolution as im2col and a batched matrix product.
fn im2col_2d(x: &Tensor, w: &Tensor, spec: &ConvSpec, outs: &[usize]) -> Result<Tensor> {
    let (b, c) = (x.dim(0)?, x.dim(1)?);
    let (o, kh, kw) = (w.dim(0)?, w.dim(2)?, w.dim(3)?);
    let (oh, ow, g) = (outs[0], outs[1], spec.groups);
    let padded =
        x.pad_with_zeros(2, spec.padding[0], spec.padding[0])?.pad_with_zeros(3, spec.padding[1], spec.padding[1])?;
    let mut taps = Vec::with_capacity(kh * kw);
    for i in 0..kh {
        let rows = strided(&padded, 2, i * spec.dilation[0], spec.stride[0], oh)?;
        for j in 0..kw {
            taps.push(strided(&rows, 3, j * spec.dilation[1], spec.stride[1], ow)?);
        }
    }
    // [B, C, kh * kw, oh, ow] -> [B, G, C / G * kh * kw, oh * ow], matching the weight's
    // [O, C / G, kh, kw] -> [G, O / G, C / G * kh * kw].
    let cols = Tensor::stack(&taps, 2)?.reshape((b, g, c / g * kh * kw, oh * ow))?;
    let wm = w.reshape((g, o / g, c / g * kh * kw))?;
    let y = wm.broadcast_left(b)?.contiguous()?.matmul(&cols)?;
    Ok(y.reshape((b, o, oh, ow))?)
}
