//! The training losses of `std.losses`, as differentiable Candle expressions returning a
//! rank-0 tensor.
//!
//! What the training loop passes as `target`:
//! - classification data (`target classes C`): class ids, `U32` or `I64` (`U8` works too),
//!   one per row of the logits (`[B]` for logits `[B, C]`). `cross_entropy` needs them;
//!   `mse`, `bce` and `kl` turn them into one-hot rows of width `C` (the logits' last axis).
//! - regression data: `F32` values with as many elements as the logits (reshaped to the
//!   logits' shape): the target itself for `mse` and `bce` (probabilities in `[0, 1]`), and a
//!   distribution over the last axis for `kl`.
//!
//! Means: `cross_entropy` and `kl` average over rows (every axis but the last, i.e. the batch
//! for `[B, C]` logits; `kl` is PyTorch's `reduction="batchmean"`), `mse` and `bce` over every
//! element, all as PyTorch computes them.

use crate::error::{Result, RunError};
use candle_core::{DType, Tensor, D};
use exp_ir::{Loss, LossKind, Value};

/// The mean loss of `logits` against `target` (see the module docs for the target's form).
pub fn loss(kind: &Loss, logits: &Tensor, target: &Tensor) -> Result<Tensor> {
    let name = kind.kind.name();
    let at = |e: RunError| RunError {
        message: format!("loss `{name}`: {}", e.message),
        origin: e.origin.or(kind.origin),
        help: e.help,
    };
    compute(kind, logits, target).map_err(at)
}

fn compute(kind: &Loss, logits: &Tensor, target: &Tensor) -> Result<Tensor> {
    if !logits.dtype().is_float() || logits.rank() == 0 {
        return Err(RunError::new(format!(
            "needs float logits with a class axis, got {:?} {:?}",
            logits.dtype(),
            logits.dims()
        )));
    }
    let classes = logits.dim(D::Minus1)?;
    let rows = logits.elem_count() / classes.max(1);
    let ids = is_ids(target);
    match kind.kind {
        LossKind::CrossEntropy => {
            if !ids {
                return Err(RunError::new(format!("needs integer class ids as targets, got {:?}", target.dtype()))
                    .with_help("cross_entropy applies to data with `target classes`; use `mse` for regression"));
            }
            let eps = label_smoothing(kind)?;
            let q = one_hot(target, rows, classes, logits.dtype())?.affine(1.0 - eps, eps / classes as f64)?;
            let logp = log_softmax(&logits.reshape((rows, classes))?)?;
            Ok(q.mul(&logp)?.sum_all()?.affine(-1.0 / rows as f64, 0.0)?)
        }
        LossKind::Mse => {
            let y = dense(target, logits, rows, classes)?;
            Ok(logits.sub(&y)?.sqr()?.mean_all()?)
        }
        LossKind::Bce => {
            // max(z, 0) - z y + log(1 + e^-|z|). Candle's relu and abs both take derivative 1
            // at 0, which sums to the exact sigmoid(0) - y there.
            let y = dense(target, logits, rows, classes)?;
            let soft = logits.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?;
            Ok(logits.relu()?.sub(&logits.mul(&y)?)?.add(&soft)?.mean_all()?)
        }
        LossKind::Kl => {
            let q = dense(target, logits, rows, classes)?.reshape((rows, classes))?;
            let logp = log_softmax(&logits.reshape((rows, classes))?)?;
            // q log q with 0 log 0 = 0: the log of q where positive, of 1 elsewhere.
            let positive = q.gt(0f64)?;
            let log_q = positive.where_cond(&q, &q.ones_like()?)?.log()?;
            let terms = q.mul(&log_q.sub(&logp)?)?;
            Ok(terms.sum_all()?.affine(1.0 / rows as f64, 0.0)?)
        }
    }
}

fn is_ids(t: &Tensor) -> bool {
    matches!(t.dtype(), DType::U8 | DType::U32 | DType::I64)
}

fn label_smoothing(kind: &Loss) -> Result<f64> {
    let value = kind.args.iter().find(|(n, _)| n == "label_smoothing").map(|(_, v)| v);
    let eps = match value {
        None => 0.0,
        Some(Value::Float(x)) => *x,
        Some(Value::Int(i)) => *i as f64,
        Some(other) => return Err(RunError::new(format!("`label_smoothing` is `{other}`, not a number"))),
    };
    if !(0.0..=1.0).contains(&eps) {
        return Err(RunError::new(format!("`label_smoothing` must be in [0, 1], got {eps}")));
    }
    Ok(eps)
}

/// `x - logsumexp(x)` over the last axis, with the max shift detached (it cancels).
fn log_softmax(x: &Tensor) -> Result<Tensor> {
    let shifted = x.broadcast_sub(&x.max_keepdim(D::Minus1)?.detach())?;
    let lse = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?;
    Ok(shifted.broadcast_sub(&lse)?)
}

/// One-hot rows `[rows, classes]` of the ids in `target`, checked to be in `0..classes`.
fn one_hot(target: &Tensor, rows: usize, classes: usize, dtype: DType) -> Result<Tensor> {
    let ids = target.flatten_all()?.to_dtype(DType::I64)?;
    if ids.elem_count() != rows {
        return Err(RunError::new(format!("{rows} rows of logits but {} class ids", ids.elem_count())));
    }
    if rows > 0 {
        let (lo, hi) = (ids.min(0)?.to_scalar::<i64>()?, ids.max(0)?.to_scalar::<i64>()?);
        if lo < 0 || hi >= classes as i64 {
            return Err(RunError::new(format!(
                "class ids must be in 0..{classes}, found {}",
                if lo < 0 { lo } else { hi }
            )));
        }
    }
    let range = Tensor::arange(0i64, classes as i64, target.device())?;
    Ok(ids.unsqueeze(1)?.broadcast_eq(&range.unsqueeze(0)?)?.to_dtype(dtype)?)
}

/// The target as values of the logits' shape: one-hot rows for class ids, else `target`
/// reshaped (it must have as many elements).
fn dense(target: &Tensor, logits: &Tensor, rows: usize, classes: usize) -> Result<Tensor> {
    if is_ids(target) {
        return Ok(one_hot(target, rows, classes, logits.dtype())?.reshape(logits.shape())?);
    }
    if target.elem_count() != logits.elem_count() {
        return Err(RunError::new(format!("targets {:?} do not match outputs {:?}", target.dims(), logits.dims())));
    }
    Ok(target.to_dtype(logits.dtype())?.reshape(logits.shape())?.detach())
}

#[cfg(test)]
#[path = "loss_tests.rs"]
mod tests;
