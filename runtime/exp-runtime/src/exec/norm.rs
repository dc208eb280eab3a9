//! Layer and batch normalization, composed from Candle ops (whose backward is right), with
//! PyTorch's semantics: biased variance for normalizing, and for batch norm running
//! statistics updated as `(1 - momentum) * running + momentum * batch`, the variance's batch
//! value unbiased (`n / (n - 1)`).

use super::Mode;
use crate::error::{Result, RunError};
use candle_core::{Tensor, Var, D};

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
pub(crate) struct Saved {
    /// The normalized input, `(x - mean) / std`.
    xhat: Tensor,
    /// `1 / std`, with the reduced axes kept.
    inv_std: Tensor,
    /// The axes the statistics reduce.
    axes: Vec<usize>,
    /// The shape the weight and bias broadcast from.
    shape: Vec<usize>,
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
    let saved = Saved { xhat, inv_std: std.recip()?, axes: axes.to_vec(), shape: shape.to_vec() };
    Ok((y, saved, [mean, var]))
}

/// The gradients of a normalization's input, weight and bias from its output gradient `dy`:
/// with `g = dy * weight`, `dx = (g - mean(g) - x̂ * mean(g * x̂)) / std`, the means over the
/// normalized axes; the weight's and bias's gradients sum `dy * x̂` and `dy` over every axis
/// they broadcast along.
pub(crate) fn norm_backward(dy: &Tensor, saved: &Saved, weight: Option<&Tensor>) -> Result<(Tensor, Tensor, Tensor)> {
    let Saved { xhat, inv_std, axes, shape } = saved;
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
/// needs.
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
    let axes: Vec<usize> = (0..x.rank()).filter(|a| *a != 1).collect();
    let n = x.elem_count() / channels.max(1);
    if n < 2 {
        return Err(RunError::new(format!(
            "batch norm in training needs more than 1 value per channel, got input {:?}",
            x.dims()
        )));
    }
    let (y, saved, [mean, var]) = normalize(x, &axes, &shape, weight, bias, eps)?;
    let update = |stat: &Var, batch: &Tensor, scale: f64| -> Result<()> {
        let batch = batch.detach().reshape(channels)?.to_dtype(stat.dtype())?;
        let next = stat.as_tensor().affine(1.0 - momentum, 0.0)?.add(&batch.affine(momentum * scale, 0.0)?)?;
        Ok(stat.set(&next)?)
    };
    update(running.mean, &mean, 1.0)?;
    update(running.var, &var, n as f64 / (n - 1) as f64)?;
    Ok((y, saved))
}
