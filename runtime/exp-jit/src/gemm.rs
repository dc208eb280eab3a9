//! A safe matrix product on the `gemm` crate (the one Candle's CPU backend uses), for the
//! runtime's fused layers: operands are strided views, so transposed operands cost nothing,
//! and the product can accumulate into its output (a bias already written there).
//!
//! Every view is checked against its slice before the unchecked call.

use gemm::Parallelism;

/// Element types the product supports.
pub trait Element: Copy + 'static + private::Sealed {
    /// The additive identity.
    const ZERO: Self;
    /// The multiplicative identity.
    const ONE: Self;
}

impl Element for f32 {
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;
}

impl Element for f64 {
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
}

mod private {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A `rows × cols` matrix inside `data`: element `(r, c)` is `data[r * row_stride + c *
/// col_stride]`. A row-major matrix has strides `(cols, 1)`; its transpose is the same data
/// with the sizes and strides swapped.
#[derive(Clone, Copy, Debug)]
pub struct View<'a, T> {
    /// The elements.
    pub data: &'a [T],
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Step between rows.
    pub row_stride: usize,
    /// Step between columns.
    pub col_stride: usize,
}

impl<'a, T> View<'a, T> {
    /// A row-major `rows × cols` matrix.
    pub fn row_major(data: &'a [T], rows: usize, cols: usize) -> View<'a, T> {
        View { data, rows, cols, row_stride: cols, col_stride: 1 }
    }

    /// The transpose (no copy).
    pub fn t(self) -> View<'a, T> {
        View { rows: self.cols, cols: self.rows, row_stride: self.col_stride, col_stride: self.row_stride, ..self }
    }

    fn fits(&self) -> bool {
        if self.rows == 0 || self.cols == 0 {
            return true;
        }
        let last = (self.rows - 1).checked_mul(self.row_stride).zip((self.cols - 1).checked_mul(self.col_stride));
        matches!(last.and_then(|(a, b)| a.checked_add(b)), Some(i) if i < self.data.len())
            && isize::try_from(self.row_stride.max(self.col_stride)).is_ok()
    }
}

/// Products with fewer multiply-adds than this run on the calling thread.
pub const PARALLEL_MIN_MACS: usize = 1 << 17;

/// Why a product was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("matrix product: {0}")]
pub struct ShapeError(String);

/// `dst = a · b` (or `dst += a · b` when `accumulate`), `dst` row-major `a.rows × b.cols`,
/// split over up to `threads` threads of the global rayon pool.
pub fn matmul<T: Element>(
    dst: &mut [T],
    accumulate: bool,
    a: View<'_, T>,
    b: View<'_, T>,
    threads: usize,
) -> Result<(), ShapeError> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if b.rows != k {
        return Err(ShapeError(format!("{}x{} times {}x{}", a.rows, a.cols, b.rows, b.cols)));
    }
    if dst.len() != m * n {
        return Err(ShapeError(format!("output holds {} elements, the product {m}x{n}", dst.len())));
    }
    if !a.fits() || !b.fits() {
        return Err(ShapeError("a view reaches past its data".into()));
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        if !accumulate {
            dst.fill(T::ZERO);
        }
        return Ok(());
    }
    // Below a few µs of single-core work, waking another thread costs more than it saves
    // (measured on the MLPs of bench/train, from a thread of the pool). Above it the gemm crate
    // splits the output's tiles over the threads, each element computed as the
    // single-threaded product computes it, so no result depends on `threads` (tested here and
    // on a whole training run). Splitting the rows into one band per thread instead was as
    // fast, but changed the last bits of the result with the thread count.
    let macs = m * n * k;
    let split = threads > 1 && macs >= PARALLEL_MIN_MACS && n >= MIN_SPLIT_COLS;
    let parallelism = if split { Parallelism::Rayon(threads) } else { Parallelism::None };
    product(dst, accumulate, a, b, parallelism);
    Ok(())
}

/// Fewest output columns for the gemm crate to split a product over threads: with fewer
/// (a 10-class head) its split costs more than it saves.
const MIN_SPLIT_COLS: usize = 64;

/// [`matmul`] with the views already checked.
fn product<T: Element>(dst: &mut [T], accumulate: bool, a: View<'_, T>, b: View<'_, T>, parallelism: Parallelism) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    debug_assert!(a.fits() && b.fits() && b.rows == k && dst.len() == m * n);
    // SAFETY: `fits` checked that every element the views address lies inside their slices
    // and that the strides fit `isize`; `dst` is a distinct `&mut` slice of exactly `m * n`
    // elements addressed row-major; `T` is `f32` or `f64`, both supported by `gemm`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &View<'_, f64>, b: &View<'_, f64>) -> Vec<f64> {
        let at = |v: &View<'_, f64>, r: usize, c: usize| v.data[r * v.row_stride + c * v.col_stride];
        let mut out = Vec::new();
        for r in 0..a.rows {
            for c in 0..b.cols {
                out.push((0..a.cols).map(|k| at(a, r, k) * at(b, k, c)).sum());
            }
        }
        out
    }

    #[test]
    fn strided_products_match_the_direct_loop() {
        let x: Vec<f64> = (0..35).map(|i| f64::from(i) * 0.37 - 4.0).collect();
        let y: Vec<f64> = (0..42).map(|i| f64::from(i % 11) * -0.21 + 1.0).collect();
        // 5x7 · 7x6, then the same operands read transposed: (7x5)ᵀ and (6x7)ᵀ.
        let cases = [
            (View::row_major(&x, 5, 7), View::row_major(&y, 7, 6)),
            (View::row_major(&x, 7, 5).t(), View::row_major(&y, 6, 7).t()),
            (View::row_major(&x, 5, 7), View::row_major(&y, 6, 7).t()),
        ];
        for (a, b) in cases {
            let want = naive(&a, &b);
            for threads in [1, 2] {
                let mut got = vec![f64::NAN; 30];
                matmul(&mut got, false, a, b, threads).unwrap();
                assert!(got.iter().zip(&want).all(|(g, w)| (g - w).abs() < 1e-12), "{got:?} vs {want:?}");
                // Accumulating adds onto what is there.
                let mut acc = vec![1.5; 30];
                matmul(&mut acc, true, a, b, threads).unwrap();
                assert!(acc.iter().zip(&want).all(|(g, w)| (g - w - 1.5).abs() < 1e-12));
            }
        }
    }

    #[test]
    fn split_products_match_the_direct_loop_whatever_the_thread_count() {
        // Over the split threshold, each with either operand read transposed; the last has too
        // few columns to be split. Every thread count gives the same bits.
        for (m, k, n) in [(70, 40, 90), (5, 90, 600), (64, 300, 10)] {
            assert!(m * n * k >= PARALLEL_MIN_MACS);
            let x: Vec<f32> = (0..m * k).map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0).collect();
            let y: Vec<f32> = (0..k * n).map(|i| ((i * 53) % 97) as f32 / 40.0 - 1.2).collect();
            for (ta, tb) in [(false, false), (true, false), (false, true)] {
                let a = if ta { View::row_major(&x, k, m).t() } else { View::row_major(&x, m, k) };
                let b = if tb { View::row_major(&y, n, k).t() } else { View::row_major(&y, k, n) };
                let at = |v: &View<'_, f32>, r: usize, c: usize| f64::from(v.data[r * v.row_stride + c * v.col_stride]);
                let runs: Vec<Vec<f32>> = [1, 2, 3]
                    .into_iter()
                    .map(|threads| {
                        let mut got = vec![0.5; m * n];
                        matmul(&mut got, true, a, b, threads).unwrap();
                        got
                    })
                    .collect();
                for (i, g) in runs[0].iter().enumerate() {
                    let want = 0.5 + (0..k).map(|j| at(&a, i / n, j) * at(&b, j, i % n)).sum::<f64>();
                    assert!((f64::from(*g) - want).abs() < 1e-3, "{m}x{k}x{n}: {g} vs {want}");
                }
                assert!(runs.iter().all(|r| r == &runs[0]), "{m}x{k}x{n}: the thread count changed a result");
            }
        }
    }

    #[test]
    fn mismatched_or_overreaching_views_are_refused() {
        let x = vec![1f32; 12];
        let mut out = vec![0f32; 9];
        let a = View::row_major(&x, 3, 4);
        assert!(matmul(&mut out, false, a, View::row_major(&x, 3, 4), 1).is_err());
        assert!(matmul(&mut out[..8], false, a, a.t(), 1).is_err());
        let over = View { data: &x[..11], rows: 3, cols: 4, row_stride: 4, col_stride: 1 };
        assert!(matmul(&mut out, false, over, a.t(), 1).is_err());
        matmul(&mut out, false, a, a.t(), 1).unwrap();
        assert_eq!(out, vec![4.0; 9]);
    }
}
