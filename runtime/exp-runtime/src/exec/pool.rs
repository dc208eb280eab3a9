//! Max and average pooling in 1-d and 2-d as a Candle `CustomOp1` with a hand-written
//! backward, because Candle's own pool backward is wrong (max pooling scales the gradient by
//! `1/k²` and misaligns it for odd sizes) or missing (kernel ≠ stride).
//!
//! Semantics are PyTorch's with `ceil_mode = false`: max pooling pads with `-inf` and sends
//! each window's gradient to its first maximum (a `NaN` counts as the maximum); average
//! pooling counts padding (`count_include_pad = true`), so it always divides by the window
//! size. A 1-d pool runs as a 2-d pool over a height of 1. `F32` and `F64`, computed on the
//! CPU.

use crate::error::{Result, RunError};
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, DType, Device, Layout, Shape, Tensor, WithDType};
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
struct Pool2d {
    kind: PoolKind,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    /// The forward's argmax, kept for the backward (Candle calls `bwd` on the same op).
    saved: std::sync::Mutex<Option<Vec<usize>>>,
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

    /// The index of each window's first maximum (`NaN` wins), per output element: the same
    /// windows as [`Pool2d::windows`], in plain loops split over planes (this runs on every
    /// forward and backward of a max pool).
    fn argmax<T: WithDType>(&self, g: &Geometry, x: &[T]) -> Vec<usize> {
        let mut out = vec![0; g.planes * g.oh * g.ow];
        let range = |o: usize, i: usize, size: usize| {
            let start = (o * self.stride[i]) as isize - self.padding[i] as isize;
            let end = (start + self.kernel[i] as isize).min(size as isize);
            start.max(0) as usize..end.max(0) as usize
        };
        let [kh, kw] = self.kernel;
        let [sh, sw] = self.stride;
        let unpadded = self.padding == [0, 0];
        out.par_chunks_mut(g.oh * g.ow).enumerate().for_each(|(p, out)| {
            let base = p * g.h * g.w;
            if unpadded {
                // Every window lies inside the plane: no clipping. A row of windows is done
                // together, one window element at a time across all of them, so the running
                // maxima are independent lanes rather than one dependency chain; each window
                // still sees its elements in row-major order.
                let mut top = vec![x[base]; g.ow];
                let mut tap = vec![0u32; g.ow];
                // Each tap's offset from its window's first element (no division per element).
                let offsets: Vec<usize> = (0..kh * kw).map(|t| (t / kw) * g.w + t % kw).collect();
                for oy in 0..g.oh {
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let start = base + (oy * sh + ky) * g.w + kx;
                            let t = (ky * kw + kx) as u32;
                            // The usual 2x2 pool: a compile-time stride lets the loop vectorize.
                            match sw {
                                2 => window_step(&x[start..], 2, &mut top, &mut tap, t),
                                1 => window_step(&x[start..], 1, &mut top, &mut tap, t),
                                s => window_step(&x[start..], s, &mut top, &mut tap, t),
                            }
                        }
                    }
                    let row = base + oy * sh * g.w;
                    for (ox, (b, &t)) in out[oy * g.ow..(oy + 1) * g.ow].iter_mut().zip(&tap).enumerate() {
                        *b = row + ox * sw + offsets[t as usize];
                    }
                }
                return;
            }
            for oy in 0..g.oh {
                let rows = range(oy, 0, g.h);
                for ox in 0..g.ow {
                    let cols = range(ox, 1, g.w);
                    let mut best = base + rows.start * g.w + cols.start;
                    let mut top = x[best];
                    if !is_nan(top) {
                        'window: for y in rows.clone() {
                            let row = base + y * g.w;
                            for (i, &v) in x[row + cols.start..row + cols.end].iter().enumerate() {
                                let i = row + cols.start + i;
                                // A NaN (`v != v`) becomes the maximum and stays it, as in PyTorch.
                                if v > top || is_nan(v) {
                                    (best, top) = (i, v);
                                    if is_nan(v) {
                                        break 'window;
                                    }
                                }
                            }
                        }
                    }
                    out[oy * g.ow + ox] = best;
                }
            }
        });
        out
    }

    fn forward<T: WithDType>(&self, g: &Geometry, x: &[T]) -> Vec<T> {
        match self.kind {
            PoolKind::Max => {
                let idx = self.argmax(g, x);
                let out = idx.iter().map(|&i| x[i]).collect();
                *self.saved.lock().unwrap_or_else(|e| e.into_inner()) = Some(idx);
                out
            }
            PoolKind::Avg => {
                let mut out = vec![T::from_f64(0.0); g.planes * g.oh * g.ow];
                let area = (self.kernel[0] * self.kernel[1]) as f64;
                self.windows(g, |o, idx| out[o] = T::from_f64(idx.map(|i| x[i].to_f64()).sum::<f64>() / area));
                out
            }
        }
    }

    fn backward<T: WithDType>(&self, g: &Geometry, x: &[T], grad: &[T]) -> Vec<T> {
        let mut out = vec![T::from_f64(0.0); x.len()];
        match self.kind {
            PoolKind::Max => {
                let saved = self.saved.lock().unwrap_or_else(|e| e.into_inner()).take();
                let idx = saved.filter(|v| v.len() == grad.len()).unwrap_or_else(|| self.argmax(g, x));
                for (o, i) in idx.into_iter().enumerate() {
                    out[i] += grad[o];
                }
            }
            PoolKind::Avg => {
                let area = T::from_f64((self.kernel[0] * self.kernel[1]) as f64);
                self.windows(g, |o, idx| idx.for_each(|i| out[i] += grad[o] / area));
            }
        }
        out
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
            CpuStorage::F32(v) => CpuStorage::F32(self.forward(&g, &v[start..end])),
            CpuStorage::F64(v) => CpuStorage::F64(self.forward(&g, &v[start..end])),
            other => candle_core::bail!("pooling supports f32 and f64, got {:?}", other.dtype()),
        };
        Ok((out, shape))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let g = self.geometry(arg.dims())?;
        let grad_arg = match arg.dtype() {
            DType::F32 => {
                let (x, dy) = (arg.flatten_all()?.to_vec1::<f32>()?, grad.flatten_all()?.to_vec1::<f32>()?);
                Tensor::from_vec(self.backward(&g, &x, &dy), arg.shape(), arg.device())?
            }
            DType::F64 => {
                let (x, dy) = (arg.flatten_all()?.to_vec1::<f64>()?, grad.flatten_all()?.to_vec1::<f64>()?);
                Tensor::from_vec(self.backward(&g, &x, &dy), arg.shape(), arg.device())?
            }
            other => candle_core::bail!("pooling supports f32 and f64, got {other:?}"),
        };
        Ok(Some(grad_arg))
    }
}

#[allow(clippy::eq_op)]
fn is_nan<T: PartialEq>(v: T) -> bool {
    v != v
}

/// One element of every window in a row of windows: `xs[ox * stride]` for window `ox`, which
/// is its tap `t` (taps in row-major order, tap 0 first). A larger value or the first NaN takes
/// over, and a NaN, once taken, stays, as in PyTorch; `&` and `|` rather than `&&` and `||`
/// so nothing branches on the data and the lanes are independent. Always inlined, so a
/// literal stride at the call site makes the loop vectorize.
#[inline(always)]
fn window_step<T: WithDType>(xs: &[T], stride: usize, top: &mut [T], tap: &mut [u32], t: u32) {
    let n = top.len();
    if n == 0 {
        return;
    }
    let xs = &xs[..(n - 1) * stride + 1];
    for ((m, k), c) in top.iter_mut().zip(tap.iter_mut()).zip(xs.chunks(stride)) {
        let v = c[0];
        #[allow(clippy::eq_op)]
        let take = (t == 0) | (((v > *m) | (v != v)) & (*m == *m));
        *m = if take { v } else { *m };
        *k = if take { t } else { *k };
    }
}

/// Pools `x` (`[N, C, L]` with one-entry sizes, `[N, C, H, W]` with two).
pub(crate) fn pool(
    x: &Tensor,
    kind: PoolKind,
    kernel: &[usize],
    stride: &[usize],
    padding: &[usize],
) -> Result<Tensor> {
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
    let x4 = if n == 1 { x.unsqueeze(2)? } else { x.clone() };
    // The op runs on the CPU; elsewhere the input makes a (differentiable) round trip, which
    // is slow but right, unlike Candle's own max-pool backward.
    let device = x.device().clone();
    let y = x4.to_device(&Device::Cpu)?.contiguous()?.apply_op1(op)?.to_device(&device)?;
    Ok(if n == 1 { y.squeeze(2)? } else { y })
}
