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
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp2, DType, Layout, Shape, Tensor, WithDType, D};
use exp_ir::Loss;
use exp_ops::Loss as Kind;

/// The mean loss of `logits` against `target` (see the module docs for the target's form).
pub fn loss(kind: &Loss, logits: &Tensor, target: &Tensor) -> Result<Tensor> {
    let name = kind.op.name();
    let at = |e: RunError| RunError {
        message: format!("loss `{name}`: {}", e.message),
        origin: e.origin.or(kind.origin),
        help: e.help,
        kind: e.kind,
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
    match &kind.op {
        Kind::CrossEntropy { label_smoothing } => {
            if !ids {
                return Err(RunError::new(format!("needs integer class ids as targets, got {:?}", target.dtype()))
                    .with_help("cross_entropy applies to data with `target classes`; use `mse` for regression"));
            }
            let eps = *label_smoothing;
            if logits.device().is_cpu() && matches!(logits.dtype(), DType::F32 | DType::F64) {
                if target.elem_count() != rows {
                    return Err(RunError::new(format!("{rows} rows of logits but {} class ids", target.elem_count())));
                }
                let z = logits.reshape((rows, classes))?.contiguous()?;
                let ids = target.flatten_all()?.to_dtype(DType::I64)?;
                return Ok(z.apply_op2(&ids, CrossEntropy { eps })?);
            }
            cross_entropy_composed(logits, target, eps, rows, classes)
        }
        Kind::Mse {} => {
            let y = dense(target, logits, rows, classes)?;
            Ok(logits.sub(&y)?.sqr()?.mean_all()?)
        }
        Kind::Bce {} => {
            // max(z, 0) - z y + log(1 + e^-|z|). Candle's relu and abs both take derivative 1
            // at 0, which sums to the exact sigmoid(0) - y there.
            let y = dense(target, logits, rows, classes)?;
            let soft = logits.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?;
            Ok(logits.relu()?.sub(&logits.mul(&y)?)?.add(&soft)?.mean_all()?)
        }
        Kind::Kl {} => {
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

/// Cross-entropy composed from Candle ops (other devices; the reference in tests).
fn cross_entropy_composed(logits: &Tensor, target: &Tensor, eps: f64, rows: usize, classes: usize) -> Result<Tensor> {
    let q = one_hot(target, rows, classes, logits.dtype())?.affine(1.0 - eps, eps / classes as f64)?;
    let logp = log_softmax(&logits.reshape((rows, classes))?)?;
    Ok(q.mul(&logp)?.sum_all()?.affine(-1.0 / rows as f64, 0.0)?)
}

/// Cross-entropy with label smoothing `eps` as one op on the CPU: `[rows, classes]` logits
/// and `[rows]` class ids to the mean over rows of `logsumexp(z) - sum_c q_c z_c`, with
/// `q = (1 - eps) onehot + eps / classes`; its gradient is `(softmax(z) - q) / rows`. The
/// composed form (one-hot, log-softmax, product, sum: a dozen recorded ops) stays for other
/// devices and is what the tests compare against.
struct CrossEntropy {
    eps: f64,
}

impl CrossEntropy {
    /// Per row: the loss term, and the softmax into `probs` when given.
    fn rows<T: WithDType>(
        &self,
        z: &[T],
        ids: &[i64],
        classes: usize,
        mut probs: Option<&mut [T]>,
    ) -> candle_core::Result<f64> {
        let mut total = 0.0;
        for (r, (row, &id)) in z.chunks_exact(classes.max(1)).zip(ids).enumerate() {
            if id < 0 || id >= classes as i64 {
                candle_core::bail!("class ids must be in 0..{classes}, found {id}")
            }
            let m = row.iter().map(|v| v.to_f64()).fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = row.iter().map(|v| (v.to_f64() - m).exp()).sum();
            let lse = m + sum.ln();
            let mean: f64 = row.iter().map(|v| v.to_f64()).sum::<f64>() / classes as f64;
            total += lse - (1.0 - self.eps) * row[id as usize].to_f64() - self.eps * mean;
            if let Some(p) = probs.as_deref_mut() {
                for (o, v) in p[r * classes..(r + 1) * classes].iter_mut().zip(row) {
                    *o = T::from_f64((v.to_f64() - lse).exp());
                }
            }
        }
        Ok(total)
    }
}

fn ids_of(s: &CpuStorage, l: &Layout) -> candle_core::Result<Vec<i64>> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::I64(v), Some((a, b))) => Ok(v[a..b].to_vec()),
        _ => candle_core::bail!("cross_entropy needs contiguous i64 class ids"),
    }
}

impl CustomOp2 for CrossEntropy {
    fn name(&self) -> &'static str {
        "exp-cross-entropy"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let &[rows, classes] = l1.dims() else { candle_core::bail!("cross_entropy expects [rows, classes]") };
        let ids = ids_of(s2, l2)?;
        let Some((a, b)) = l1.contiguous_offsets() else { candle_core::bail!("cross_entropy needs contiguous logits") };
        let mean = |total: f64| total / rows.max(1) as f64;
        let out = match s1 {
            CpuStorage::F32(z) => CpuStorage::F32(vec![mean(self.rows(&z[a..b], &ids, classes, None)?) as f32]),
            CpuStorage::F64(z) => CpuStorage::F64(vec![mean(self.rows(&z[a..b], &ids, classes, None)?)]),
            other => candle_core::bail!("cross_entropy supports f32 and f64 logits, got {:?}", other.dtype()),
        };
        Ok((out, Shape::from(())))
    }

    fn bwd(
        &self,
        z: &Tensor,
        ids: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (rows, classes) = z.dims2()?;
        let g = grad.to_dtype(DType::F64)?.to_scalar::<f64>()? / rows.max(1) as f64;
        let ids: Vec<i64> = ids.to_vec1()?;
        let (on, off) = ((1.0 - self.eps + self.eps / classes as f64) * g, self.eps / classes as f64 * g);
        // (softmax - q) * g / rows, from the softmax written in place.
        let dz = match z.dtype() {
            DType::F32 => {
                let v: Vec<f32> = z.flatten_all()?.to_vec1()?;
                let mut p = vec![0f32; v.len()];
                self.rows(&v, &ids, classes, Some(&mut p))?;
                for (r, row) in p.chunks_exact_mut(classes.max(1)).enumerate() {
                    for (c, x) in row.iter_mut().enumerate() {
                        *x = (f64::from(*x) * g - if c as i64 == ids[r] { on } else { off }) as f32;
                    }
                }
                Tensor::from_vec(p, (rows, classes), z.device())?
            }
            _ => {
                let v: Vec<f64> = z.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
                let mut p = vec![0f64; v.len()];
                self.rows(&v, &ids, classes, Some(&mut p))?;
                for (r, row) in p.chunks_exact_mut(classes.max(1)).enumerate() {
                    for (c, x) in row.iter_mut().enumerate() {
                        *x = *x * g - if c as i64 == ids[r] { on } else { off };
                    }
                }
                Tensor::from_vec(p, (rows, classes), z.device())?.to_dtype(z.dtype())?
            }
        };
        Ok((Some(dz), None))
    }
}

fn is_ids(t: &Tensor) -> bool {
    matches!(t.dtype(), DType::U8 | DType::U32 | DType::I64)
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
