//! A 2-d convolution with bias as one Candle custom op on the CPU, built on [`Unfold`]:
//! forward, the columns `[C·KH·KW, N·OH·OW]` and one product per image (in parallel over
//! images) written straight into `[N, O, OH, OW]` on top of the bias; backward, the output
//! gradient transposed to `[O, N·OH·OW]`, then one product for the weight gradient, one for
//! the column gradient (folded back onto the input, only when the input needs a gradient)
//! and a row sum for the bias. Groups are blocks of rows of both operands.
//!
//! The columns are kept from the forward for the backward (Candle calls `bwd` on the op it
//! recorded). Composed from an unfolding op and a matrix product, the same convolution made
//! autograd accumulate the whole column gradient into a fresh zero tensor, the largest
//! buffer of a small CNN's step.

use super::dense::gemm_err;
use super::im2col::Unfold;
use super::jit::{Compiled, Epilogue};
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Shape, Tensor, WithDType};
use exp_jit::gemm::{matmul, Element, View};
use rayon::prelude::*;
use std::sync::Arc;
use std::sync::Mutex;

fn contiguous<'a, T>(v: &'a [T], l: &Layout) -> candle_core::Result<&'a [T]> {
    super::dense::contiguous(v, l, "the convolution")
}

/// `[N, C, H, W] x [O, C / G, KH, KW] x [O] -> [N, O, OH, OW]`.
pub(crate) struct Conv2d {
    pub plan: Unfold,
    pub groups: usize,
    pub out_channels: usize,
    /// The forward's columns.
    saved: Mutex<Option<CpuStorage>>,
    /// A compiled activation applied to the output (`f32` only).
    act: Option<Epilogue>,
}

impl Conv2d {
    pub(crate) fn new(plan: Unfold, groups: usize, out_channels: usize) -> Conv2d {
        Conv2d { plan, groups, out_channels, saved: Mutex::new(None), act: None }
    }

    /// The convolution with `act` applied to its output in the same op.
    pub(crate) fn with_activation(plan: Unfold, groups: usize, out_channels: usize, act: Arc<Compiled>) -> Conv2d {
        Conv2d { act: Some(Epilogue::new(act)), ..Conv2d::new(plan, groups, out_channels) }
    }

    /// Sizes: output pixels per image, column rows per group, output channels per group.
    fn sizes(&self) -> (usize, usize, usize) {
        let u = &self.plan;
        (u.out[0] * u.out[1], u.rows() / self.groups, self.out_channels / self.groups)
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
        let dy = match &self.act {
            None => dy.clone(),
            Some(act) => act.grad(dy, || {
                let plain = Conv2d::new(self.plan.clone(), self.groups, self.out_channels);
                x.contiguous()?.apply_op3_no_bwd(&w.contiguous()?, &b.contiguous()?, &plain)
            })?,
        };
        let dy = &dy;
        let saved = self.saved.lock().unwrap_or_else(|e| e.into_inner()).take();
        let cols = match saved {
            Some(c) => Tensor::from_storage(
                candle_core::Storage::Cpu(c),
                (self.plan.rows(), self.plan.cols()),
                candle_core::op::BackpropOp::none(),
                false,
            ),
            None => x.contiguous()?.apply_op1_no_bwd(&super::im2col::Im2Col(self.plan.clone()))?,
        };
        // [N, O, P] -> [O, N * P].
        let (n, o) = (self.plan.n, self.out_channels);
        let dyt = dy.reshape((n, o, self.sizes().0))?.transpose(0, 1)?.contiguous()?.reshape((o, self.plan.cols()))?;
        let grads = Grads { conv: self, input };
        let dw = dyt.apply_op2_no_bwd(&cols, &GradOp::Weight(&grads))?.reshape(w.shape())?;
        let db = dyt.apply_op1_no_bwd(&RowSum)?;
        let dx = match grads.input {
            true => Some(dyt.apply_op2_no_bwd(&w.contiguous()?, &GradOp::Input(&grads))?),
            false => None,
        };
        Ok((dx, dw, db))
    }

    fn forward<T: Element + WithDType>(&self, x: &[T], w: &[T], b: &[T]) -> candle_core::Result<(Vec<T>, Vec<T>)> {
        let u = &self.plan;
        let (p, kg, og) = self.sizes();
        let np = u.cols();
        let mut cols = vec![T::zero(); u.rows() * np];
        u.unfold(x, &mut cols);
        let mut y = vec![T::zero(); u.n * self.out_channels * p];
        y.par_chunks_mut(self.out_channels * p).enumerate().try_for_each(|(n, yn)| {
            for (o, row) in yn.chunks_mut(p.max(1)).enumerate() {
                row.fill(b[o]);
            }
            for g in 0..self.groups {
                let wg = View { data: &w[g * og * kg..], rows: og, cols: kg, row_stride: kg, col_stride: 1 };
                let cg = View { data: &cols[g * kg * np + n * p..], rows: kg, cols: p, row_stride: np, col_stride: 1 };
                matmul(&mut yn[g * og * p..(g + 1) * og * p], true, wg, cg, 1).map_err(gemm_err)?;
            }
            Ok::<(), candle_core::Error>(())
        })?;
        Ok((y, cols))
    }
}

fn store<T: WithDType>(v: Vec<T>) -> CpuStorage {
    T::to_cpu_storage_owned(v)
}

impl CustomOp3 for Conv2d {
    fn name(&self) -> &'static str {
        "exp-conv2d"
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
        let u = &self.plan;
        let want = [u.n, u.c, u.h, u.w];
        let wshape = [self.out_channels, u.c / self.groups, u.kernel[0], u.kernel[1]];
        if l1.dims() != want || l2.dims() != wshape || l3.dims() != [self.out_channels] {
            candle_core::bail!("conv2d planned for {want:?} and {wshape:?}, got {:?} and {:?}", l1.dims(), l2.dims())
        }
        let (y, cols) = match (s1, s2, s3) {
            (CpuStorage::F32(x), CpuStorage::F32(w), CpuStorage::F32(b)) => {
                let (z, c) = self.forward(contiguous(x, l1)?, contiguous(w, l2)?, contiguous(b, l3)?)?;
                let y = match &self.act {
                    Some(act) => act.apply(z)?,
                    None => z,
                };
                (store(y), store(c))
            }
            (CpuStorage::F64(_), _, _) if self.act.is_some() => {
                candle_core::bail!("a fused activation runs on f32 only")
            }
            (CpuStorage::F64(x), CpuStorage::F64(w), CpuStorage::F64(b)) => {
                let (y, c) = self.forward(contiguous(x, l1)?, contiguous(w, l2)?, contiguous(b, l3)?)?;
                (store(y), store(c))
            }
            _ => candle_core::bail!("conv2d supports f32 or f64 throughout, got {:?}", s1.dtype()),
        };
        *self.saved.lock().unwrap_or_else(|e| e.into_inner()) = Some(cols);
        Ok((y, Shape::from((u.n, self.out_channels, u.out[0], u.out[1]))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (dx, dw, db) = self.grads(x, w, b, dy, x.track_op())?;
        Ok((dx, Some(dw), Some(db)))
    }
}

/// What the backward products need to know.
struct Grads<'a> {
    conv: &'a Conv2d,
    input: bool,
}

/// The backward's two products, from the transposed output gradient `[O, N·P]`.
enum GradOp<'a> {
    /// With the columns `[K, N·P]`: the weight gradient `[O, K / G]` (groups stacked).
    Weight(&'a Grads<'a>),
    /// With the weight `[O, K / G]`: the column gradient, folded onto `[N, C, H, W]`.
    Input(&'a Grads<'a>),
}

impl GradOp<'_> {
    fn run<T: Element + WithDType>(&self, dyt: &[T], other: &[T]) -> candle_core::Result<Vec<T>> {
        let (GradOp::Weight(g) | GradOp::Input(g)) = self;
        let c = g.conv;
        let (_, kg, og) = c.sizes();
        let np = c.plan.cols();
        let threads = rayon::current_num_threads();
        let dy_g = |gi: usize| View { data: &dyt[gi * og * np..], rows: og, cols: np, row_stride: np, col_stride: 1 };
        match self {
            GradOp::Weight(_) => {
                let mut dw = vec![T::zero(); c.out_channels * kg];
                for gi in 0..c.groups {
                    let cols = View { data: &other[gi * kg * np..], rows: kg, cols: np, row_stride: np, col_stride: 1 };
                    matmul(&mut dw[gi * og * kg..(gi + 1) * og * kg], false, dy_g(gi), cols.t(), threads)
                        .map_err(gemm_err)?;
                }
                Ok(dw)
            }
            GradOp::Input(_) => {
                let mut dcols = vec![T::zero(); c.plan.rows() * np];
                for gi in 0..c.groups {
                    let wg = View { data: &other[gi * og * kg..], rows: og, cols: kg, row_stride: kg, col_stride: 1 };
                    matmul(&mut dcols[gi * kg * np..(gi + 1) * kg * np], false, wg.t(), dy_g(gi), threads)
                        .map_err(gemm_err)?;
                }
                let u = &c.plan;
                let mut dx = vec![T::zero(); u.n * u.c * u.h * u.w];
                u.fold(&dcols, &mut dx);
                Ok(dx)
            }
        }
    }
}

impl CustomOp2 for GradOp<'_> {
    fn name(&self) -> &'static str {
        "exp-conv2d-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (GradOp::Weight(g) | GradOp::Input(g)) = self;
        let u = &g.conv.plan;
        let shape = match self {
            GradOp::Weight(_) => Shape::from((g.conv.out_channels, g.conv.sizes().1)),
            GradOp::Input(_) => Shape::from((u.n, u.c, u.h, u.w)),
        };
        let out = match (s1, s2) {
            (CpuStorage::F32(a), CpuStorage::F32(b)) => store(self.run(contiguous(a, l1)?, contiguous(b, l2)?)?),
            (CpuStorage::F64(a), CpuStorage::F64(b)) => store(self.run(contiguous(a, l1)?, contiguous(b, l2)?)?),
            _ => candle_core::bail!("conv2d gradient supports f32 or f64, got {:?}", s1.dtype()),
        };
        Ok((out, shape))
    }
}

/// Sums `[O, M]` over its columns: the bias gradient.
struct RowSum;

/// Row sums, each over eight interleaved partial sums so that the additions pipeline (a
/// single running sum waits on every add).
fn row_sum<T: WithDType>(v: &[T], rows: usize) -> Vec<T> {
    let m = v.len() / rows.max(1);
    (0..rows)
        .map(|r| {
            let row = &v[r * m..(r + 1) * m];
            let mut lanes = [T::zero(); 8];
            let chunks = row.chunks_exact(8);
            let tail = chunks.remainder().iter().fold(T::zero(), |a, &x| a + x);
            for c in chunks {
                for (l, &x) in lanes.iter_mut().zip(c) {
                    *l += x;
                }
            }
            lanes.iter().fold(tail, |a, &x| a + x)
        })
        .collect()
}

impl CustomOp1 for RowSum {
    fn name(&self) -> &'static str {
        "exp-conv2d-bias-grad"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let &[rows, _] = l.dims() else { candle_core::bail!("bias gradient expects a matrix, got {:?}", l.dims()) };
        let out = match s {
            CpuStorage::F32(v) => store(row_sum(contiguous(v, l)?, rows)),
            CpuStorage::F64(v) => store(row_sum(contiguous(v, l)?, rows)),
            _ => candle_core::bail!("bias gradient supports f32 or f64, got {:?}", s.dtype()),
        };
        Ok((out, Shape::from(rows)))
    }
}
