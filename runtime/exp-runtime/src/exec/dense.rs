//! `linear` with a bias as one Candle custom op on the CPU: `y = x · wᵀ + b` is the bias
//! copied into each output row and one accumulating product; the backward is two products
//! (`dx = dy · w`, `dw = dyᵀ · x`, transposes as strides, no copies) and a column sum.
//!
//! Composed from Candle ops the same layer records three nodes (matrix product, transpose,
//! broadcast add), each of whose gradients Candle accumulates into a fresh zero tensor, and
//! sums the bias gradient over a strided axis; one node with hand-written gradients avoids
//! all of that. `F32` and `F64` (the latter for the finite-difference tests).

use super::jit::{Compiled, Epilogue};
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Shape, Tensor, WithDType};
use exp_jit::gemm::{matmul, Element, View};
use std::sync::Arc;

fn threads() -> usize {
    rayon::current_num_threads()
}

/// The elements of a contiguous layout over `v`.
pub(super) fn contiguous<'a, T>(v: &'a [T], l: &Layout, what: &str) -> candle_core::Result<&'a [T]> {
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => candle_core::bail!("{what} needs contiguous inputs"),
    }
}

pub(super) fn gemm_err(e: exp_jit::gemm::ShapeError) -> candle_core::Error {
    candle_core::Error::Msg(e.to_string())
}

/// `[rows, in] x [out, in] x [out] -> [rows, out]`, optionally followed by a compiled
/// one-input activation (`f32` only): then the product is kept for the backward, which
/// applies the activation's derivative to the output gradient before the three products.
#[derive(Default)]
pub(crate) struct Dense {
    act: Option<Epilogue>,
}

impl Dense {
    /// The plain layer.
    pub(crate) fn new() -> Dense {
        Dense::default()
    }

    /// The layer with `act` fused into its output.
    pub(crate) fn with_activation(act: Arc<Compiled>) -> Dense {
        Dense { act: Some(Epilogue::new(act)) }
    }

    /// The gradients of the input (when `input` is set), the weight and the bias from the
    /// output gradient `dy`.
    pub(crate) fn grads(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        dy: &Tensor,
        input: bool,
    ) -> candle_core::Result<(Option<Tensor>, Tensor, Tensor)> {
        let dy = dy.contiguous()?;
        let dy = match &self.act {
            None => dy,
            Some(act) => {
                act.grad(&dy, || x.contiguous()?.apply_op3_no_bwd(&w.contiguous()?, &b.contiguous()?, &Dense::new()))?
            }
        };
        let dx = match input {
            true => Some(dy.apply_op2_no_bwd(&w.contiguous()?, &Product::GradInput)?),
            false => None,
        };
        let dw = dy.apply_op2_no_bwd(&x.contiguous()?, &Product::GradWeight)?;
        let db = dy.apply_op1_no_bwd(&ColumnSum)?;
        Ok((dx, dw, db))
    }

    fn forward<T: Element + WithDType>(
        x: &[T],
        w: &[T],
        b: &[T],
        (rows, input, out): (usize, usize, usize),
    ) -> candle_core::Result<Vec<T>> {
        let mut y = Vec::with_capacity(rows * out);
        for _ in 0..rows {
            y.extend_from_slice(b);
        }
        let xv = View::row_major(x, rows, input);
        let wt = View::row_major(w, out, input).t();
        matmul(&mut y, true, xv, wt, threads()).map_err(gemm_err)?;
        Ok(y)
    }
}

impl CustomOp3 for Dense {
    fn name(&self) -> &'static str {
        "exp-dense"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (&[rows, input], &[out, win], &[bn]) = (l1.dims(), l2.dims(), l3.dims()) else {
            candle_core::bail!("dense expects [rows, in], [out, in], [out]")
        };
        if win != input || bn != out {
            candle_core::bail!("dense: input {:?}, weight {:?}, bias {:?}", l1.dims(), l2.dims(), l3.dims())
        }
        let sizes = (rows, input, out);
        let y = match (s1, s2, s3) {
            (CpuStorage::F32(x), CpuStorage::F32(w), CpuStorage::F32(b)) => {
                let z = Self::forward(
                    contiguous(x, l1, self.name())?,
                    contiguous(w, l2, self.name())?,
                    contiguous(b, l3, self.name())?,
                    sizes,
                )?;
                CpuStorage::F32(match &self.act {
                    Some(act) => act.apply(z)?,
                    None => z,
                })
            }
            (CpuStorage::F64(_), _, _) if self.act.is_some() => {
                candle_core::bail!("a fused activation runs on f32 only")
            }
            (CpuStorage::F64(x), CpuStorage::F64(w), CpuStorage::F64(b)) => CpuStorage::F64(Self::forward(
                contiguous(x, l1, self.name())?,
                contiguous(w, l2, self.name())?,
                contiguous(b, l3, self.name())?,
                sizes,
            )?),
            _ => candle_core::bail!("dense supports f32 or f64 throughout, got {:?}", s1.dtype()),
        };
        Ok((y, Shape::from((rows, out))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        // The first layer's input is data: its gradient would be a product as large as the
        // forward's, thrown away.
        let (dx, dw, db) = self.grads(x, w, b, dy, x.track_op())?;
        Ok((dx, Some(dw), Some(db)))
    }
}

/// The two products of the backward, from `dy` (`[rows, out]`) and a second operand.
enum Product {
    /// `dy · w` with `w` `[out, in]`: the input gradient `[rows, in]`.
    GradInput,
    /// `dyᵀ · x` with `x` `[rows, in]`: the weight gradient `[out, in]`.
    GradWeight,
}

impl Product {
    fn run<T: Element + WithDType>(
        &self,
        dy: &[T],
        other: &[T],
        rows: usize,
        out: usize,
        input: usize,
    ) -> candle_core::Result<Vec<T>> {
        let dyv = View::row_major(dy, rows, out);
        let (a, b, len) = match self {
            Product::GradInput => (dyv, View::row_major(other, out, input), rows * input),
            Product::GradWeight => (dyv.t(), View::row_major(other, rows, input), out * input),
        };
        let mut dst = vec![T::ZERO; len];
        matmul(&mut dst, false, a, b, threads()).map_err(gemm_err)?;
        Ok(dst)
    }
}

impl CustomOp2 for Product {
    fn name(&self) -> &'static str {
        "exp-dense-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (&[rows, out], &[r2, c2]) = (l1.dims(), l2.dims()) else {
            candle_core::bail!("dense gradient expects matrices, got {:?} and {:?}", l1.dims(), l2.dims())
        };
        let (input, shape) = match self {
            Product::GradInput if r2 == out => (c2, Shape::from((rows, c2))),
            Product::GradWeight if r2 == rows => (c2, Shape::from((out, c2))),
            _ => candle_core::bail!("dense gradient: {:?} does not match {:?}", l2.dims(), l1.dims()),
        };
        let g = match (s1, s2) {
            (CpuStorage::F32(dy), CpuStorage::F32(o)) => CpuStorage::F32(self.run(
                contiguous(dy, l1, self.name())?,
                contiguous(o, l2, self.name())?,
                rows,
                out,
                input,
            )?),
            (CpuStorage::F64(dy), CpuStorage::F64(o)) => CpuStorage::F64(self.run(
                contiguous(dy, l1, self.name())?,
                contiguous(o, l2, self.name())?,
                rows,
                out,
                input,
            )?),
            _ => candle_core::bail!("dense gradient supports f32 or f64, got {:?}", s1.dtype()),
        };
        Ok((g, shape))
    }
}

/// Sums `[rows, out]` over its rows: the bias gradient.
struct ColumnSum;

fn column_sum<T: WithDType>(v: &[T], rows: usize, out: usize) -> Vec<T> {
    let mut acc = vec![T::zero(); out];
    if out == 0 {
        return acc;
    }
    for row in v.chunks_exact(out).take(rows) {
        for (a, &x) in acc.iter_mut().zip(row) {
            *a += x;
        }
    }
    acc
}

impl CustomOp1 for ColumnSum {
    fn name(&self) -> &'static str {
        "exp-dense-bias-grad"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let &[rows, out] = l.dims() else { candle_core::bail!("bias gradient expects a matrix, got {:?}", l.dims()) };
        let g = match s {
            CpuStorage::F32(v) => CpuStorage::F32(column_sum(contiguous(v, l, self.name())?, rows, out)),
            CpuStorage::F64(v) => CpuStorage::F64(column_sum(contiguous(v, l, self.name())?, rows, out)),
            _ => candle_core::bail!("bias gradient supports f32 or f64, got {:?}", s.dtype()),
        };
        Ok((g, Shape::from(out)))
    }
}
