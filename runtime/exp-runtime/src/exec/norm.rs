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
    let mean = x.mean_keepdim(D::Minus1)?;
    let centered = x.broadcast_sub(&mean)?;
    let var = centered.sqr()?.mean_keepdim(D::Minus1)?;
    let y = centered.broadcast_div(&var.affine(1.0, eps)?.sqrt()?)?;
    let features = x.dim(D::Minus1)?;
    affine(y, weight, bias, &[features])
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
    if x.rank() < 2 {
        return Err(RunError::new(format!("batch norm needs [N, C, ...], got {:?}", x.dims())));
    }
    let channels = x.dim(1)?;
    let mut shape = vec![1; x.rank()];
    shape[1] = channels;
    let (mean, var) = match mode {
        Mode::Train => {
            let axes: Vec<usize> = (0..x.rank()).filter(|a| *a != 1).collect();
            let n = x.elem_count() / channels.max(1);
            if n < 2 {
                return Err(RunError::new(format!(
                    "batch norm in training needs more than 1 value per channel, got input {:?}",
                    x.dims()
                )));
            }
            let mean = x.mean_keepdim(axes.as_slice())?;
            let var = x.broadcast_sub(&mean)?.sqr()?.mean_keepdim(axes.as_slice())?;
            let update = |stat: &Var, batch: &Tensor, scale: f64| -> Result<()> {
                let batch = batch.detach().reshape(channels)?.to_dtype(stat.dtype())?;
                let next = stat.as_tensor().affine(1.0 - momentum, 0.0)?.add(&batch.affine(momentum * scale, 0.0)?)?;
                Ok(stat.set(&next)?)
            };
            update(running.mean, &mean, 1.0)?;
            update(running.var, &var, n as f64 / (n - 1) as f64)?;
            (mean, var)
        }
        Mode::Eval => {
            let stat = |v: &Var| -> Result<Tensor> {
                Ok(v.as_detached_tensor().to_dtype(x.dtype())?.reshape(shape.as_slice())?)
            };
            (stat(running.mean)?, stat(running.var)?)
        }
    };
    let y = x.broadcast_sub(&mean)?.broadcast_div(&var.affine(1.0, eps)?.sqrt()?)?;
    affine(y, weight, bias, &shape)
}
