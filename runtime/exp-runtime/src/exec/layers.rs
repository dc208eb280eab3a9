//! The layer ops that are a few Candle ops each: linear, multi-head self-attention, shape
//! ops, global average pooling, embedding and dropout. Convolutions, pools and norms have
//! their own modules.

use super::dense::Dense;
use super::jit::Compiled;
use crate::error::{Result, RunError};
use crate::rng::Rng;
use candle_core::{DType, Tensor, D};
use std::sync::Arc;

/// `x Wᵀ + b` over the last axis of `x` (`[..., in]`), with PyTorch's `[out, in]` weight.
pub(crate) fn linear(x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor> {
    let (x2, shape) = linear_rows(x, w)?;
    let y = match b {
        Some(b) if x.device().is_cpu() => x2.contiguous()?.apply_op3(w, b, super::dense::Dense::new())?,
        Some(b) => x2.matmul(&w.t()?)?.broadcast_add(b)?,
        None => x2.matmul(&w.t()?)?,
    };
    Ok(y.reshape(shape)?)
}

/// `x` (`[..., in]`) as rows `[n, in]` for the `[out, in]` weight `w`, and the shape of the
/// layer's output, `[..., out]`.
pub(crate) fn linear_rows(x: &Tensor, w: &Tensor) -> Result<(Tensor, Vec<usize>)> {
    let (out, input) = w.dims2()?;
    let Some((last, lead)) = x.dims().split_last() else {
        return Err(RunError::new("linear needs an input of rank 1 or more"));
    };
    if *last != input {
        return Err(RunError::new(format!("linear expects {input} input features, got shape {:?}", x.dims())));
    }
    let rows: usize = lead.iter().product();
    let mut shape = lead.to_vec();
    shape.push(out);
    Ok((x.reshape((rows, input))?, shape))
}

/// `act(linear(x))` as one op (the activation in the product's epilogue), for `f32` on the
/// CPU; `None` elsewhere, where the two run separately.
pub(crate) fn linear_act(x: &Tensor, w: &Tensor, b: &Tensor, act: &Arc<Compiled>) -> Result<Option<Tensor>> {
    let (out, input) = w.dims2()?;
    let Some((last, lead)) = x.dims().split_last() else { return Ok(None) };
    if *last != input || !x.device().is_cpu() || x.dtype() != DType::F32 || w.dtype() != DType::F32 {
        return Ok(None);
    }
    let rows: usize = lead.iter().product();
    let y = x.reshape((rows, input))?.contiguous()?.apply_op3(w, b, Dense::with_activation(Arc::clone(act)))?;
    let mut shape = lead.to_vec();
    shape.push(out);
    Ok(Some(y.reshape(shape)?))
}

/// Softmax over the last axis, `exp(x - max) / sum`, with the max detached (it cancels).
pub(crate) fn softmax_last(x: &Tensor) -> Result<Tensor> {
    let max = x.max_keepdim(D::Minus1)?.detach();
    let e = x.broadcast_sub(&max)?.exp()?;
    Ok(e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?)
}

/// The parameters of `nn.MultiheadAttention`.
pub(crate) struct AttentionParams<'a> {
    /// Packed query, key and value projection `[3D, D]`.
    pub in_w: &'a Tensor,
    /// Its bias `[3D]`.
    pub in_b: Option<&'a Tensor>,
    /// Output projection `[D, D]`.
    pub out_w: &'a Tensor,
    /// Its bias `[D]`.
    pub out_b: Option<&'a Tensor>,
}

/// Self-attention of `nn.MultiheadAttention(dim, heads, batch_first=True)` on `[B, T, D]`,
/// without mask or dropout: `softmax(Q Kᵀ / sqrt(D / heads)) V` per head, then the output
/// projection.
pub(crate) fn attention(x: &Tensor, heads: usize, p: &AttentionParams<'_>) -> Result<Tensor> {
    let (b, t, d) = x.dims3()?;
    if heads == 0 || d % heads != 0 {
        return Err(RunError::new(format!("{heads} heads do not divide the model dimension {d}")));
    }
    let hd = d / heads;
    let qkv = linear(x, p.in_w, p.in_b)?;
    let split = |i: usize| -> Result<Tensor> {
        Ok(qkv.narrow(2, i * d, d)?.reshape((b, t, heads, hd))?.transpose(1, 2)?.contiguous()?)
    };
    let (q, k, v) = (split(0)?, split(1)?, split(2)?);
    let scores = q.matmul(&k.t()?)?.affine(1.0 / (hd as f64).sqrt(), 0.0)?;
    let context = softmax_last(&scores)?.matmul(&v)?;
    let merged = context.transpose(1, 2)?.reshape((b, t, d))?;
    linear(&merged, p.out_w, p.out_b)
}

/// `[B, ...] -> [B, n]`.
pub(crate) fn flatten(x: &Tensor) -> Result<Tensor> {
    Ok(x.flatten_from(1)?)
}

/// The axes after the batch become `shape`, one entry of which may be `-1`.
pub(crate) fn reshape(x: &Tensor, shape: &[i64]) -> Result<Tensor> {
    let batch = x.dim(0)?;
    let count = x.elem_count() / batch.max(1);
    let known: i64 = shape.iter().filter(|v| **v != -1).product();
    let dims: Vec<usize> = std::iter::once(Ok(batch))
        .chain(shape.iter().map(|v| match *v {
            -1 if known > 0 => Ok(count / known as usize),
            v if v > 0 => Ok(v as usize),
            _ => Err(RunError::new(format!("bad reshape target {shape:?}"))),
        }))
        .collect::<Result<_>>()?;
    if dims[1..].iter().product::<usize>() != count {
        return Err(RunError::new(format!("cannot reshape {:?} to [B, {shape:?}]", x.dims())));
    }
    Ok(x.reshape(dims)?)
}

/// The mean over every axis after the first two: `[B, C, ...] -> [B, C]`.
pub(crate) fn global_avg_pool(x: &Tensor) -> Result<Tensor> {
    if x.rank() < 3 {
        return Err(RunError::new(format!("global average pooling needs [B, C, ...], got {:?}", x.dims())));
    }
    Ok(x.flatten_from(2)?.mean(2)?)
}

/// Looks up integer ids (`U8`, `U32` or `I64`; integral floats are converted) in the
/// `[vocab, dim]` table: `[B, ...] -> [B, ..., dim]`, or `[B, n * dim]` with `concat`.
pub(crate) fn embed(ids: &Tensor, table: &Tensor, concat: bool) -> Result<Tensor> {
    let flat = embedding_ids(ids, table.dim(0)?)?;
    embedded(ids.dims(), &table.embedding(&flat)?, concat)
}

/// `ids` as one flat integer tensor, after checking that each indexes a table of `vocab`
/// rows.
pub(crate) fn embedding_ids(ids: &Tensor, vocab: usize) -> Result<Tensor> {
    let ids = match ids.dtype() {
        DType::U8 | DType::U32 | DType::I64 => ids.clone(),
        _ => ids.to_dtype(DType::I64)?,
    };
    let flat = ids.flatten_all()?;
    if flat.elem_count() > 0 {
        let as_i64 = flat.to_dtype(DType::I64)?;
        let (lo, hi) = (as_i64.min(0)?.to_scalar::<i64>()?, as_i64.max(0)?.to_scalar::<i64>()?);
        if lo < 0 || hi >= vocab as i64 {
            return Err(RunError::new(format!(
                "embedding ids must be in 0..{vocab}, found {}",
                if lo < 0 { lo } else { hi }
            )));
        }
    }
    Ok(flat)
}

/// The looked-up `rows` (`[n, dim]`) of ids of shape `dims`, as the layer's output:
/// `[..., dim]`, or `[B, n * dim / B]` with `concat`.
pub(crate) fn embedded(dims: &[usize], rows: &Tensor, concat: bool) -> Result<Tensor> {
    let mut shape = dims.to_vec();
    if concat {
        let batch = shape.first().copied().unwrap_or(1);
        return Ok(rows.reshape((batch, rows.elem_count() / batch.max(1)))?);
    }
    shape.push(rows.dim(1)?);
    Ok(rows.reshape(shape)?)
}

/// Inverted dropout: each element is zeroed with probability `rate` (one draw per element
/// from `rng`, row-major) and the rest scaled by `1 / (1 - rate)`.
pub(crate) fn dropout(x: &Tensor, rate: f64, rng: &mut Rng) -> Result<Tensor> {
    match dropout_mask(x, rate, rng)? {
        Some(mask) => Ok(x.mul(&mask)?),
        None => Ok(x.clone()),
    }
}

/// The mask [`dropout`] multiplies `x` by: `0` or `1 / (1 - rate)` per element; `None` when
/// `rate` drops nothing.
pub(crate) fn dropout_mask(x: &Tensor, rate: f64, rng: &mut Rng) -> Result<Option<Tensor>> {
    if rate <= 0.0 {
        return Ok(None);
    }
    let keep = 1.0 / (1.0 - rate);
    let mask: Vec<f32> = (0..x.elem_count()).map(|_| if rng.uniform() < rate { 0.0 } else { keep as f32 }).collect();
    Ok(Some(Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())?))
}
