//! Layer and batch normalization, composed from Candle ops (whose backward is right), with
//! PyTorch's semantics: biased variance for normalizing, and for batch norm running
//! statistics updated as `(1 - momentum) * running + momentum * batch`, the variance's batch
//! value unbiased (`n / (n - 1)`).

use super::Mode;
use crate::error::{Result, RunError};
use candle_core::{CpuStorage, DType, Device, Shape, Storage, Tensor, Var, D};
use rayon::prelude::*;

/// `x * weight + bias` when the norm is affine.
fn affine(y: Tensor, weight: Option<&Tensor>, bias: Option<&Tensor>, shape: &[usize]) -> Result<Tensor> {
    let y = match weight {
        Some(w) => y.broadcast_mul(&w.reshape(shape)?)?,
        None => y,
    };
    Ok(match bias {
        Some(b) => y.broadcast_add(&b.reshape(shape)?)?,
        None => y,
    })
}

/// Layer normalization over the last axis.
pub(crate) fn layer_norm(x: &Tensor, weight: Option<&Tensor>, bias: Option<&Tensor>, eps: f64) -> Result<Tensor> {
    Ok(layer_norm_saving(x, weight, bias, eps)?.0)
}

/// [`layer_norm`], with what its backward needs.
pub(crate) fn layer_norm_saving(
    x: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Result<(Tensor, Saved)> {
    let axes = vec![x.rank().saturating_sub(1)];
    let features = x.dim(D::Minus1)?;
    let (y, saved, _) = normalize(x, &axes, &[features], weight, bias, eps)?;
    Ok((y, saved))
}

/// What the backward of a normalization needs.
pub(crate) enum Saved {
    /// From the composed path.
    Composed {
        /// The normalized input, `(x - mean) / std`.
        xhat: Tensor,
        /// `1 / std`, with the reduced axes kept.
        inv_std: Tensor,
        /// The axes the statistics reduce.
        axes: Vec<usize>,
        /// The shape the weight and bias broadcast from.
        shape: Vec<usize>,
    },
    /// From [`channels`].
    Channels(Channels),
}

/// Normalizes `x` by the mean and (biased) variance over `axes`, then scales and shifts by
/// `weight` and `bias` reshaped to `shape`. Returns the output, what the backward needs, and
/// the mean and variance (reduced axes kept).
fn normalize(
    x: &Tensor,
    axes: &[usize],
    shape: &[usize],
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Result<(Tensor, Saved, [Tensor; 2])> {
    let mean = x.mean_keepdim(axes)?;
    let centered = x.broadcast_sub(&mean)?;
    let var = centered.sqr()?.mean_keepdim(axes)?;
    let std = var.affine(1.0, eps)?.sqrt()?;
    let xhat = centered.broadcast_div(&std)?;
    let y = affine(xhat.clone(), weight, bias, shape)?;
    let saved = Saved::Composed { xhat, inv_std: std.recip()?, axes: axes.to_vec(), shape: shape.to_vec() };
    Ok((y, saved, [mean, var]))
}

/// The gradients of a normalization's input, weight and bias from its output gradient `dy`:
/// with `g = dy * weight`, `dx = (g - mean(g) - x̂ * mean(g * x̂)) / std`, the means over the
/// normalized axes; the weight's and bias's gradients sum `dy * x̂` and `dy` over every axis
/// they broadcast along.
pub(crate) fn norm_backward(dy: &Tensor, saved: &Saved, weight: Option<&Tensor>) -> Result<(Tensor, Tensor, Tensor)> {
    let (xhat, inv_std, axes, shape) = match saved {
        Saved::Composed { xhat, inv_std, axes, shape } => (xhat, inv_std, axes, shape),
        Saved::Channels(c) => return c.backward(dy),
    };
    let g = match weight {
        Some(w) => dy.broadcast_mul(&w.reshape(shape.as_slice())?)?,
        None => dy.clone(),
    };
    let mean_g = g.mean_keepdim(axes.as_slice())?;
    let mean_gx = g.mul(xhat)?.mean_keepdim(axes.as_slice())?;
    let dx = g.broadcast_sub(&mean_g)?.sub(&xhat.broadcast_mul(&mean_gx)?)?.broadcast_mul(inv_std)?;
    // The axes the weight broadcasts along: those where its shape has a 1 (or that it lacks).
    let lead = dy.rank() - shape.len();
    let spread: Vec<usize> = (0..dy.rank()).filter(|&a| a < lead || shape[a - lead] == 1).collect();
    let size: usize = shape.iter().product();
    let dw = dy.mul(xhat)?.sum_keepdim(spread.as_slice())?.reshape(size)?;
    let db = dy.sum_keepdim(spread.as_slice())?.reshape(size)?;
    Ok((dx, dw, db))
}

/// The running statistics of a batch norm, updated in place in training mode.
pub(crate) struct Running<'a> {
    /// Per-channel mean.
    pub mean: &'a Var,
    /// Per-channel variance.
    pub var: &'a Var,
}

impl Running<'_> {
    /// `running = (1 - momentum) * running + momentum * batch` for the per-channel batch
    /// `mean` and biased `var` over `n` values each, the variance made unbiased first.
    fn update(&self, mean: &Tensor, var: &Tensor, n: usize, momentum: f64) -> Result<()> {
        let unbias = n as f64 / (n - 1) as f64;
        for (stat, batch, scale) in [(self.mean, mean, 1.0), (self.var, var, unbias)] {
            let batch = batch.to_dtype(stat.dtype())?.affine(momentum * scale, 0.0)?;
            stat.set(&stat.as_tensor().affine(1.0 - momentum, 0.0)?.add(&batch)?)?;
        }
        Ok(())
    }
}

/// One value per channel from `t` (`[C]`), or `fill` for each of the `c` channels without it.
fn per_channel(t: Option<&Tensor>, fill: f32, c: usize) -> Result<Vec<f32>> {
    Ok(match t {
        Some(t) => t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?,
        None => vec![fill; c],
    })
}

/// Batch normalization over channel axis 1 of `[N, C, ...]`: batch statistics in training
/// (updating `running`), running statistics in evaluation.
pub(crate) fn batch_norm(
    x: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    running: Running<'_>,
    eps: f64,
    momentum: f64,
    mode: Mode,
) -> Result<Tensor> {
    if mode == Mode::Train {
        return Ok(batch_norm_train(x, weight, bias, running, eps, momentum)?.0);
    }
    let shape = channel_shape(x)?;
    // Nothing to differentiate (a probe's forward): one pass over the planes.
    if untracked_f32_cpu(x, weight, bias) {
        return eval_channels(x, weight, bias, running, eps);
    }
    let stat =
        |v: &Var| -> Result<Tensor> { Ok(v.as_detached_tensor().to_dtype(x.dtype())?.reshape(shape.as_slice())?) };
    let (mean, var) = (stat(running.mean)?, stat(running.var)?);
    let y = x.broadcast_sub(&mean)?.broadcast_div(&var.affine(1.0, eps)?.sqrt()?)?;
    affine(y, weight, bias, &shape)
}

/// `[1, C, 1, ...]` for `x` of shape `[N, C, ...]`.
fn channel_shape(x: &Tensor) -> Result<Vec<usize>> {
    if x.rank() < 2 {
        return Err(RunError::new(format!("batch norm needs [N, C, ...], got {:?}", x.dims())));
    }
    let mut shape = vec![1; x.rank()];
    shape[1] = x.dim(1)?;
    Ok(shape)
}

/// Batch normalization with batch statistics, updating `running`; with what its backward
/// needs. When nothing is tracked for autograd (a taped step) and `x` is `f32` on the CPU, it
/// runs as loops over the channels ([`channels`]); else by composing Candle ops.
pub(crate) fn batch_norm_train(
    x: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    running: Running<'_>,
    eps: f64,
    momentum: f64,
) -> Result<(Tensor, Saved)> {
    let shape = channel_shape(x)?;
    let channels = shape[1];
    let n = x.elem_count() / channels.max(1);
    if n < 2 {
        return Err(RunError::new(format!(
            "batch norm in training needs more than 1 value per channel, got input {:?}",
            x.dims()
        )));
    }
    if untracked_f32_cpu(x, weight, bias) {
        return self::channels(x, weight, bias, running, eps, momentum);
    }
    let axes: Vec<usize> = (0..x.rank()).filter(|a| *a != 1).collect();
    let (y, saved, [mean, var]) = normalize(x, &axes, &shape, weight, bias, eps)?;
    running.update(&mean.detach().reshape(channels)?, &var.detach().reshape(channels)?, n, momentum)?;
    Ok((y, saved))
}

/// Whether `x`, `weight` and `bias` are untracked `f32` CPU tensors, for which batch norm
/// has loops of its own.
fn untracked_f32_cpu(x: &Tensor, weight: Option<&Tensor>, bias: Option<&Tensor>) -> bool {
    let tracked = [Some(x), weight, bias].into_iter().flatten().any(Tensor::track_op);
    !tracked && x.dtype() == DType::F32 && x.device().is_cpu() && x.elem_count() > 0
}

/// [`batch_norm_train`] of an `f32` CPU tensor (more than one value per channel), with loops
/// over its `[N, C, S]` view rather than Candle's reductions over several axes and broadcasts
/// from `[1, C, 1, 1]`, which made a batch-normalized CNN's step 14 times slower than the
/// same CNN without. The statistics are summed in `f64`; channels are reduced in parallel,
/// then the `N * C` planes normalized in parallel.
fn channels(
    x: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    running: Running<'_>,
    eps: f64,
    momentum: f64,
) -> Result<(Tensor, Saved)> {
    let (n, c) = (x.dim(0)?, x.dim(1)?);
    let s = x.elem_count() / (n * c).max(1);
    let m = n * s;
    let (gamma, beta) = (per_channel(weight, 1.0, c)?, per_channel(bias, 0.0, c)?);
    let x = x.contiguous()?;
    let (stats, xhat, y) = with_f32s(&x, |xs| {
        // Per channel: the mean, then the biased variance around it (two passes, as the
        // composed path and PyTorch compute it).
        let plane = |i: usize| &xs[i * s..(i + 1) * s];
        let channel = |ch: usize| (0..n).flat_map(move |b| plane(b * c + ch));
        let stats: Vec<(f64, f64)> = (0..c)
            .into_par_iter()
            .map(|ch| {
                let mean = channel(ch).map(|&v| f64::from(v)).sum::<f64>() / m as f64;
                let var = channel(ch).map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / m as f64;
                (mean, var)
            })
            .collect();
        let mut xhat = vec![0f32; xs.len()];
        let mut y = vec![0f32; xs.len()];
        xhat.par_chunks_mut(s.max(1)).zip(y.par_chunks_mut(s.max(1))).enumerate().for_each(|(i, (h, out))| {
            let (mean, var) = stats[i % c];
            let (mean, inv) = (mean as f32, (1.0 / (var + eps).sqrt()) as f32);
            let (g, b) = (gamma[i % c], beta[i % c]);
            for ((h, o), &v) in h.iter_mut().zip(out.iter_mut()).zip(plane(i)) {
                *h = (v - mean) * inv;
                *o = *h * g + b;
            }
        });
        (stats, xhat, y)
    })?;
    let batch = |f: fn(&(f64, f64)) -> f64| Tensor::from_vec(stats.iter().map(f).collect::<Vec<_>>(), c, &Device::Cpu);
    running.update(&batch(|s| s.0)?, &batch(|s| s.1)?, m, momentum)?;
    let inv_std = stats.iter().map(|&(_, var)| (1.0 / (var + eps).sqrt()) as f32).collect();
    let y = Tensor::from_vec(y, x.shape(), &Device::Cpu)?;
    let saved = Channels { xhat, inv_std, gamma, dims: (n, c, s), shape: x.shape().clone() };
    Ok((y, Saved::Channels(saved)))
}

/// Batch normalization with the running statistics of an `f32` CPU tensor, in one pass over
/// its planes: `(x - mean) / sqrt(var + eps) * weight + bias` per channel, as the composed
/// path computes it.
fn eval_channels(
    x: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    running: Running<'_>,
    eps: f64,
) -> Result<Tensor> {
    let c = x.dim(1)?;
    let s = x.elem_count() / (x.dim(0)? * c).max(1);
    let (gamma, beta) = (per_channel(weight, 1.0, c)?, per_channel(bias, 0.0, c)?);
    let (mean, var) =
        (per_channel(Some(running.mean.as_tensor()), 0.0, c)?, per_channel(Some(running.var.as_tensor()), 1.0, c)?);
    let inv: Vec<f32> = var.iter().map(|v| 1.0 / (v + eps as f32).sqrt()).collect();
    let x = x.contiguous()?;
    let y = with_f32s(&x, |xs| {
        let mut y = vec![0f32; xs.len()];
        y.par_chunks_mut(s.max(1)).zip(xs.par_chunks(s.max(1))).enumerate().for_each(|(i, (out, xs))| {
            let ch = i % c;
            for (o, &v) in out.iter_mut().zip(xs) {
                *o = (v - mean[ch]) * inv[ch] * gamma[ch] + beta[ch];
            }
        });
        y
    })?;
    Ok(Tensor::from_vec(y, x.shape(), &Device::Cpu)?)
}

/// What [`channels`] keeps for the backward.
pub(crate) struct Channels {
    xhat: Vec<f32>,
    inv_std: Vec<f32>,
    gamma: Vec<f32>,
    /// `[N, C, S]`.
    dims: (usize, usize, usize),
    shape: Shape,
}

impl Channels {
    /// `dx = gamma / std * (dy - mean(dy) - x̂ * mean(dy * x̂))` per channel; the weight's
    /// gradient is `sum(dy * x̂)` and the bias's `sum(dy)`.
    fn backward(&self, dy: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        let (n, c, s) = self.dims;
        let m = (n * s) as f64;
        let dy = dy.to_dtype(DType::F32)?.to_device(&Device::Cpu)?.contiguous()?;
        let (dx, sums) = with_f32s(&dy, |ds| {
            let sums: Vec<(f64, f64)> = (0..c)
                .into_par_iter()
                .map(|ch| {
                    (0..n).fold((0.0, 0.0), |(sd, sdh), b| {
                        let r = (b * c + ch) * s..(b * c + ch + 1) * s;
                        let (d, h) = (&ds[r.clone()], &self.xhat[r]);
                        let plain: f64 = d.iter().map(|&v| f64::from(v)).sum();
                        let scaled: f64 = d.iter().zip(h).map(|(&v, &x)| f64::from(v) * f64::from(x)).sum();
                        (sd + plain, sdh + scaled)
                    })
                })
                .collect();
            let mut dx = vec![0f32; ds.len()];
            dx.par_chunks_mut(s.max(1)).enumerate().for_each(|(i, out)| {
                let ch = i % c;
                let scale = self.gamma[ch] * self.inv_std[ch];
                let (mean_d, mean_dh) = ((sums[ch].0 / m) as f32, (sums[ch].1 / m) as f32);
                let r = i * s..(i + 1) * s;
                for ((o, &d), &h) in out.iter_mut().zip(&ds[r.clone()]).zip(&self.xhat[r]) {
                    *o = scale * (d - mean_d - h * mean_dh);
                }
            });
            (dx, sums)
        })?;
        let dw: Vec<f32> = sums.iter().map(|&(_, sdh)| sdh as f32).collect();
        let db: Vec<f32> = sums.iter().map(|&(sd, _)| sd as f32).collect();
        Ok((
            Tensor::from_vec(dx, self.shape.clone(), &Device::Cpu)?,
            Tensor::from_vec(dw, c, &Device::Cpu)?,
            Tensor::from_vec(db, c, &Device::Cpu)?,
        ))
    }
}

/// `f` of the elements of the contiguous `f32` CPU tensor `t`.
fn with_f32s<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    let (storage, layout) = t.storage_and_layout();
    match (&*storage, layout.contiguous_offsets()) {
        (Storage::Cpu(CpuStorage::F32(v)), Some((a, b))) => Ok(f(&v[a..b])),
        _ => Err(RunError::new(format!("expected a contiguous f32 CPU tensor, got {:?}", t.dtype()))),
    }
}
