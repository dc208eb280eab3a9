//! Max and average pooling in 1-d and 2-d as a Candle `CustomOp1` with a hand-written
//! backward, because Candle's own pool backward is wrong (max pooling scales the gradient by
//! `1/k²` and misaligns it for odd sizes) or missing (kernel ≠ stride).
//!
//! Semantics are PyTorch's with `ceil_mode = false`: max pooling pads with `-inf` and sends
//! each window's gradient to its first maximum (a `NaN` counts as the maximum); average
//! pooling counts padding (`count_include_pad = true`), so it always divides by the window
//! size. A 1-d pool runs as a 2-d pool over a height of 1. `F32` and `F64`, computed on the
//! CPU.

use super::dense::contiguous;
use crate::error::{Result, RunError};
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, CustomOp2, Device, Layout, Shape, Tensor, WithDType};
use rayon::prelude::*;

/// Which reduction a pool applies to each window.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum PoolKind {
    /// The largest element.
    Max,
    /// The mean over the window, padding included.
    Avg,
}

/// A 2-d pool over contiguous `[N, C, H, W]` input.
pub(crate) struct Pool2d {
    kind: PoolKind,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    /// The forward's argmax (each window's index within its plane), kept for the backward
    /// (Candle calls `bwd` on the same op).
    saved: std::sync::Mutex<Option<Vec<u32>>>,
}

/// Sizes of one application: input planes and their input and output sizes.
struct Geometry {
    planes: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
}

impl Pool2d {
    fn geometry(&self, dims: &[usize]) -> candle_core::Result<Geometry> {
        let [n, c, h, w] = dims else { candle_core::bail!("pooling expects [N, C, H, W], got {dims:?}") };
        let out = |size: usize, i: usize| {
            let span = size + 2 * self.padding[i];
            if span < self.kernel[i] {
                candle_core::bail!("pooling window {} is larger than the padded input {span}", self.kernel[i])
            }
            Ok((span - self.kernel[i]) / self.stride[i] + 1)
        };
        Ok(Geometry { planes: n * c, h: *h, w: *w, oh: out(*h, 0)?, ow: out(*w, 1)? })
    }

    /// Calls `visit(output index, input indices of the window)` for every window, the input
    /// indices clipped to the unpadded input, in row-major order.
    fn windows(&self, g: &Geometry, mut visit: impl FnMut(usize, &mut dyn Iterator<Item = usize>)) {
        let range = |o: usize, i: usize, size: usize| {
            let start = (o * self.stride[i]) as isize - self.padding[i] as isize;
            let end = (start + self.kernel[i] as isize).min(size as isize);
            start.max(0) as usize..end.max(0) as usize
        };
        for p in 0..g.planes {
            for oy in 0..g.oh {
                let rows = range(oy, 0, g.h);
                for ox in 0..g.ow {
                    let cols = range(ox, 1, g.w);
                    let base = p * g.h * g.w;
                    let mut idx = rows.clone().flat_map(|y| cols.clone().map(move |x| base + y * g.w + x));
                    visit((p * g.oh + oy) * g.ow + ox, &mut idx);
                }
            }
        }
    }

    /// Each window's first maximum (`NaN` wins) and its index within the plane, per output
    /// element: the same windows as [`Pool2d::windows`], split over planes (this runs on every
    /// forward of a max pool).
    fn argmax<T: WithDType>(&self, g: &Geometry, x: &[T]) -> candle_core::Result<(Vec<T>, Vec<u32>)> {
        if u32::try_from(g.h * g.w).is_err() {
            candle_core::bail!("a pooled plane of {}x{} is too large", g.h, g.w)
        }
        let per = g.oh * g.ow;
        let mut top = vec![T::zero(); g.planes * per];
        let mut at = vec![0u32; g.planes * per];
        let pair = self.kernel == [2, 2] && self.stride == [2, 2] && self.padding == [0, 0];
        let plane = g.h * g.w;
        let chunks = top.par_chunks_mut(per.max(1)).zip(at.par_chunks_mut(per.max(1)));
        chunks.enumerate().for_each(|(p, (top, at))| {
            let x = &x[p * plane..(p + 1) * plane];
            for oy in 0..g.oh {
                let row = oy * g.ow..(oy + 1) * g.ow;
                let (top, at) = (&mut top[row.clone()], &mut at[row]);
                // The usual 2x2 pool: one pass over two input rows that vectorizes; a row with a
                // NaN is redone below, since plain comparisons do not see NaNs.
                if !(pair && max2x2_row(x, g.w, oy, top, at)) {
                    for (ox, (t, a)) in top.iter_mut().zip(at.iter_mut()).enumerate() {
                        (*t, *a) = self.first_max(x, g, oy, ox);
                    }
                }
            }
        });
        Ok((top, at))
    }

    /// The first maximum of window (`oy`, `ox`) of `plane` and its index in the plane, in
    /// row-major order, the window clipped to the unpadded input; a NaN is the maximum and
    /// the first one wins, as in PyTorch.
    fn first_max<T: WithDType>(&self, plane: &[T], g: &Geometry, oy: usize, ox: usize) -> (T, u32) {
        let range = |o: usize, i: usize, size: usize| {
            let start = (o * self.stride[i]) as isize - self.padding[i] as isize;
            let end = (start + self.kernel[i] as isize).min(size as isize);
            start.max(0) as usize..end.max(0) as usize
        };
        let (rows, cols) = (range(oy, 0, g.h), range(ox, 1, g.w));
        let mut best = rows.start * g.w + cols.start;
        let mut top = plane[best];
        if is_nan(top) {
            return (top, best as u32);
        }
        for y in rows {
            let start = y * g.w + cols.start;
            for (i, &v) in plane[start..y * g.w + cols.end].iter().enumerate() {
                let i = start + i;
                if is_nan(v) {
                    return (v, i as u32);
                }
                if v > top {
                    (best, top) = (i, v);
                }
            }
        }
        (top, best as u32)
    }

    fn forward<T: WithDType>(&self, g: &Geometry, x: &[T]) -> candle_core::Result<Vec<T>> {
        match self.kind {
            PoolKind::Max => {
                let (top, at) = self.argmax(g, x)?;
                *self.saved.lock().unwrap_or_else(|e| e.into_inner()) = Some(at);
                Ok(top)
            }
            PoolKind::Avg => {
                let mut out = vec![T::from_f64(0.0); g.planes * g.oh * g.ow];
                let area = (self.kernel[0] * self.kernel[1]) as f64;
                self.windows(g, |o, idx| out[o] = T::from_f64(idx.map(|i| x[i].to_f64()).sum::<f64>() / area));
                Ok(out)
            }
        }
    }

    /// The input gradient from the output gradient `grad`.
    fn backward<T: WithDType>(&self, g: &Geometry, x: &[T], grad: &[T]) -> candle_core::Result<Vec<T>> {
        let mut out = vec![T::zero(); x.len()];
        match self.kind {
            PoolKind::Max => {
                let saved = self.saved.lock().unwrap_or_else(|e| e.into_inner()).take();
                let at = match saved.filter(|v| v.len() == grad.len()) {
                    Some(at) => at,
                    None => self.argmax(g, x)?.1,
                };
                let (plane, per) = (g.h * g.w, g.oh * g.ow);
                let chunks =
                    out.par_chunks_mut(plane.max(1)).zip(at.par_chunks(per.max(1)).zip(grad.par_chunks(per.max(1))));
                chunks.for_each(|(out, (at, grad))| {
                    for (&i, &d) in at.iter().zip(grad) {
                        out[i as usize] += d;
                    }
                });
            }
            PoolKind::Avg => {
                let area = T::from_f64((self.kernel[0] * self.kernel[1]) as f64);
                self.windows(g, |o, idx| idx.for_each(|i| out[i] += grad[o] / area));
            }
        }
        Ok(out)
    }
}

impl Pool2d {
    /// The gradient of the input `x` (`[N, C, H, W]`) from the output gradient `dy`.
    pub(crate) fn grad(&self, x: &Tensor, dy: &Tensor) -> candle_core::Result<Tensor> {
        x.contiguous()?.apply_op2_no_bwd(&dy.contiguous()?, &PoolBackward(self))
    }
}

/// The backward of a [`Pool2d`] as an op over the pool's input and output gradient, reading
/// both in place.
struct PoolBackward<'a>(&'a Pool2d);

impl CustomOp2 for PoolBackward<'_> {
    fn name(&self) -> &'static str {
        "exp-pool-backward"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = self.0.geometry(l1.dims())?;
        let (name, shape) = (self.name(), l1.shape().clone());
        let dx = match (s1, s2) {
            (CpuStorage::F32(x), CpuStorage::F32(dy)) => {
                CpuStorage::F32(self.0.backward(&g, contiguous(x, l1, name)?, contiguous(dy, l2, name)?)?)
            }
            (CpuStorage::F64(x), CpuStorage::F64(dy)) => {
                CpuStorage::F64(self.0.backward(&g, contiguous(x, l1, name)?, contiguous(dy, l2, name)?)?)
            }
            _ => candle_core::bail!("pooling supports f32 and f64, got {:?}", s1.dtype()),
        };
        Ok((dx, shape))
    }
}

impl CustomOp1 for Pool2d {
    fn name(&self) -> &'static str {
        match self.kind {
            PoolKind::Max => "exp-max-pool",
            PoolKind::Avg => "exp-avg-pool",
        }
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = self.geometry(layout.dims())?;
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("pooling needs contiguous input")
        };
        let shape = Shape::from(vec![layout.dims()[0], layout.dims()[1], g.oh, g.ow]);
        let out = match storage {
            CpuStorage::F32(v) => CpuStorage::F32(self.forward(&g, &v[start..end])?),
            CpuStorage::F64(v) => CpuStorage::F64(self.forward(&g, &v[start..end])?),
            other => candle_core::bail!("pooling supports f32 and f64, got {:?}", other.dtype()),
        };
        Ok((out, shape))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(self.grad(arg, grad)?))
    }
}

#[allow(clippy::eq_op)]
fn is_nan<T: PartialEq>(v: T) -> bool {
    v != v
}

/// The 2x2 windows at stride 2 over rows `2 oy` and `2 oy + 1` of a plane of width `w`: each
/// window's maximum into `top` and its index in the plane into `at`, ties to the first in
/// row-major order. Plain comparisons and selects, so the loop vectorizes; they do not see
/// NaNs, so this returns `false`, for the caller to redo the row, when one of the rows holds
/// one.
#[inline(always)]
fn max2x2_row<T: WithDType>(plane: &[T], w: usize, oy: usize, top: &mut [T], at: &mut [u32]) -> bool {
    let n = top.len().min(at.len());
    let r0 = &plane[2 * oy * w..][..2 * n];
    let r1 = &plane[(2 * oy + 1) * w..][..2 * n];
    let (mut nan, mut base, w) = (false, (2 * oy * w) as u32, w as u32);
    for ((t, a), (p, q)) in top[..n].iter_mut().zip(&mut at[..n]).zip(r0.chunks_exact(2).zip(r1.chunks_exact(2))) {
        let (a0, a1, b0, b1) = (p[0], p[1], q[0], q[1]);
        nan |= is_nan(a0) | is_nan(a1) | is_nan(b0) | is_nan(b1);
        let (upper, ut) = if a1 > a0 { (a1, 1) } else { (a0, 0) };
        let (lower, lt) = if b1 > b0 { (b1, w + 1) } else { (b0, w) };
        let (m, k) = if lower > upper { (lower, lt) } else { (upper, ut) };
        (*t, *a) = (m, base + k);
        base += 2;
    }
    !nan
}

/// Pools `x` (`[N, C, L]` with one-entry sizes, `[N, C, H, W]` with two).
pub(crate) fn pool(
    x: &Tensor,
    kind: PoolKind,
    kernel: &[usize],
    stride: &[usize],
    padding: &[usize],
) -> Result<Tensor> {
    let (op, one_d) = pool_op(x, kind, kernel, stride, padding)?;
    // The op runs on the CPU; elsewhere the input makes a (differentiable) round trip, which
    // is slow but right, unlike Candle's own max-pool backward.
    let device = x.device().clone();
    let x4 = if one_d { x.unsqueeze(2)? } else { x.clone() };
    let y = x4.to_device(&Device::Cpu)?.contiguous()?.apply_op1(op)?.to_device(&device)?;
    Ok(if one_d { y.squeeze(2)? } else { y })
}

/// The pool op for `x`, after checking the sizes, and whether it is a 1-d pool (which runs
/// over `x` with an axis 2 of size 1 inserted).
pub(crate) fn pool_op(
    x: &Tensor,
    kind: PoolKind,
    kernel: &[usize],
    stride: &[usize],
    padding: &[usize],
) -> Result<(Pool2d, bool)> {
    let n = kernel.len();
    if !(1..=2).contains(&n) || stride.len() != n || padding.len() != n || x.rank() != n + 2 {
        return Err(RunError::new(format!("a {n}-d pool cannot apply to shape {:?}", x.dims())));
    }
    if kernel.iter().chain(stride).any(|v| *v == 0) || kernel.iter().zip(padding).any(|(k, p)| 2 * p > *k) {
        return Err(RunError::new("pooling needs positive sizes and padding at most half the window"));
    }
    let pad2 = |v: &[usize], fill| if n == 1 { [fill, v[0]] } else { [v[0], v[1]] };
    let op = Pool2d {
        kind,
        kernel: pad2(kernel, 1),
        stride: pad2(stride, 1),
        padding: pad2(padding, 0),
        saved: Default::default(),
    };
    Ok((op, n == 1))
}
