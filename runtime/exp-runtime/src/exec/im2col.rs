//! Unfolding for the CPU convolution ([`super::convop::Conv2d`]): `im2col` and its adjoint
//! `col2im` on slices, and `im2col` as a Candle op for the convolution's backward when the
//! forward's columns are gone.
//!
//! Columns are laid out `[C * KH * KW, N * OH * OW]`: row `(c * KH + ky) * KW + kx`, column
//! `(n * OH + oy) * OW + ox`. With `G` groups the rows of group `g` are a contiguous block, so
//! the same buffer reshapes to `[G, C / G * KH * KW, N * OH * OW]` for a batched product with
//! the weight reshaped to `[G, O / G, C / G * KH * KW]`; the weight gradient is then a single
//! product reducing over `N * OH * OW`.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, Layout, Shape, WithDType};
use rayon::prelude::*;

/// Sizes of one unfolding of contiguous `[N, C, H, W]` input.
#[derive(Clone, Debug)]
pub(crate) struct Unfold {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
    pub out: [usize; 2],
}

impl Unfold {
    pub(crate) fn rows(&self) -> usize {
        self.c * self.kernel[0] * self.kernel[1]
    }

    pub(crate) fn cols(&self) -> usize {
        self.n * self.out[0] * self.out[1]
    }

    /// For kernel tap `k` on axis `axis`, the input coordinate read by output coordinate `o`,
    /// or `None` where it falls in the padding.
    #[inline]
    fn source(&self, axis: usize, o: usize, k: usize) -> Option<usize> {
        let at = (o * self.stride[axis] + k * self.dilation[axis]) as isize - self.padding[axis] as isize;
        let size = if axis == 0 { self.h } else { self.w };
        (0..size as isize).contains(&at).then_some(at as usize)
    }

    /// The range of output columns `ox` whose tap `kx` reads inside the input, so the inner
    /// loops run without bounds tests.
    fn inside(&self, kx: usize) -> std::ops::Range<usize> {
        let (s, p, d, ow) = (self.stride[1], self.padding[1] as isize, self.dilation[1], self.out[1]);
        let off = (kx * d) as isize - p;
        // First ox with ox * s + off >= 0, and one past the last with ox * s + off < w.
        let lo = if off >= 0 { 0 } else { ((-off) as usize).div_ceil(s) };
        let hi = if self.w as isize - off <= 0 { 0 } else { ((self.w as isize - off) as usize).div_ceil(s).min(ow) };
        lo.min(hi)..hi
    }

    /// Fills `cols` (`rows * cols`, zeroed) from `x`.
    pub(crate) fn unfold<T: WithDType>(&self, x: &[T], cols: &mut [T]) {
        let [kh, kw] = self.kernel;
        let [oh, ow] = self.out;
        let (hw, plane) = (self.h * self.w, self.c * self.h * self.w);
        cols.par_chunks_mut(self.cols()).enumerate().for_each(|(row, out)| {
            let (c, ky, kx) = (row / (kh * kw), row / kw % kh, row % kw);
            let inside = self.inside(kx);
            let (s, off) = (self.stride[1], (kx * self.dilation[1]) as isize - self.padding[1] as isize);
            // Stride 1 and output as wide as the input ("same" padding): the rows an image
            // contributes are consecutive in both `x` and `out`, so one block copy moves them
            // all; the columns that wrap around a row edge are zeroed after.
            if self.stride == [1, 1] && ow == self.w {
                let rows: Vec<usize> = (0..oh).filter(|&oy| self.source(0, oy, ky).is_some()).collect();
                let (Some(&lo), Some(&hi)) = (rows.first(), rows.last()) else { return };
                let y_lo = self.source(0, lo, ky).unwrap_or(0);
                for n in 0..self.n {
                    let src = &x[n * plane + c * hw..][..hw];
                    let dst = &mut out[(n * oh + lo) * ow..(n * oh + hi + 1) * ow];
                    let start = (y_lo * self.w) as isize + off;
                    let (a, b) = (start.max(0), (start + dst.len() as isize).min(hw as isize));
                    if a < b {
                        let at = (a - start) as usize;
                        dst[at..at + (b - a) as usize].copy_from_slice(&src[a as usize..b as usize]);
                    }
                    for row in dst.chunks_mut(ow) {
                        row[..inside.start].fill(T::zero());
                        row[inside.end..].fill(T::zero());
                    }
                }
                return;
            }
            for n in 0..self.n {
                for oy in 0..oh {
                    let Some(y) = self.source(0, oy, ky) else { continue };
                    let src = &x[n * plane + c * hw + y * self.w..][..self.w];
                    let dst = &mut out[(n * oh + oy) * ow..][..ow];
                    if s == 1 {
                        let start = (inside.start as isize + off) as usize;
                        dst[inside.clone()].copy_from_slice(&src[start..start + inside.len()]);
                    } else {
                        for ox in inside.clone() {
                            dst[ox] = src[(ox as isize * s as isize + off) as usize];
                        }
                    }
                }
            }
        });
    }

    /// Adds `cols` back onto `dx` (`[N, C, H, W]`, zeroed): the adjoint of [`Unfold::unfold`].
    pub(crate) fn fold<T: WithDType>(&self, cols: &[T], dx: &mut [T]) {
        let [kh, kw] = self.kernel;
        let [oh, ow] = self.out;
        let hw = self.h * self.w;
        let ncols = self.cols();
        // One task per channel: every row of channel `c` writes only `dx[:, c]`.
        let mut planes: Vec<(usize, &mut [T])> = dx.chunks_mut(hw).enumerate().collect();
        planes.par_iter_mut().for_each(|(i, plane)| {
            let (n, c) = (*i / self.c, *i % self.c);
            for ky in 0..kh {
                for kx in 0..kw {
                    let row = (c * kh + ky) * kw + kx;
                    let inside = self.inside(kx);
                    let (s, off) = (self.stride[1], (kx * self.dilation[1]) as isize - self.padding[1] as isize);
                    for oy in 0..oh {
                        let Some(y) = self.source(0, oy, ky) else { continue };
                        let src = &cols[row * ncols + (n * oh + oy) * ow..][..ow];
                        let dst = &mut plane[y * self.w..][..self.w];
                        if s == 1 {
                            let start = (inside.start as isize + off) as usize;
                            for (d, v) in dst[start..start + inside.len()].iter_mut().zip(&src[inside.clone()]) {
                                *d += *v;
                            }
                        } else {
                            for ox in inside.clone() {
                                let at = (ox as isize * s as isize + off) as usize;
                                dst[at] += src[ox];
                            }
                        }
                    }
                }
            }
        });
    }
}

/// Runs `f` on the contiguous `f32` or `f64` data of `storage`.
fn on_floats(
    storage: &CpuStorage,
    layout: &Layout,
    what: &str,
    f32s: impl FnOnce(&[f32]) -> Vec<f32>,
    f64s: impl FnOnce(&[f64]) -> Vec<f64>,
) -> candle_core::Result<CpuStorage> {
    let Some((start, end)) = layout.contiguous_offsets() else { candle_core::bail!("{what} needs contiguous input") };
    Ok(match storage {
        CpuStorage::F32(v) => CpuStorage::F32(f32s(&v[start..end])),
        CpuStorage::F64(v) => CpuStorage::F64(f64s(&v[start..end])),
        other => candle_core::bail!("{what} supports f32 and f64, got {:?}", other.dtype()),
    })
}

/// `[N, C, H, W]` → columns (no backward: [`Unfold::fold`] is used directly).
pub(crate) struct Im2Col(pub Unfold);

impl CustomOp1 for Im2Col {
    fn name(&self) -> &'static str {
        "exp-im2col"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let u = &self.0;
        if layout.dims() != [u.n, u.c, u.h, u.w] {
            candle_core::bail!("im2col planned for {:?}, got {:?}", [u.n, u.c, u.h, u.w], layout.dims())
        }
        let len = u.rows() * u.cols();
        let out = on_floats(
            storage,
            layout,
            "im2col",
            |x| {
                let mut cols = vec![0f32; len];
                u.unfold(x, &mut cols);
                cols
            },
            |x| {
                let mut cols = vec![0f64; len];
                u.unfold(x, &mut cols);
                cols
            },
        )?;
        Ok((out, Shape::from((u.rows(), u.cols()))))
    }
}
