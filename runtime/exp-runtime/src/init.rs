//! Initial values of parameters and buffers from their [`InitSpec`], drawn from the runtime's
//! seedable [`Rng`] (never Candle's CPU generator) as `F32` tensors on the CPU.
//!
//! Elements are drawn in row-major order, one generator call each (two for nothing), so a
//! seed fixes every weight. `Orthogonal` follows PyTorch's `orthogonal_`: the tensor is viewed
//! as a `[rows, cols]` matrix (`rows = shape[0]`), a standard normal matrix of that size is
//! drawn, transposed when `rows < cols`, factored as `Q R` (Gram–Schmidt in `f64`, which gives
//! the `R` with a positive diagonal, the same `Q` as PyTorch's sign correction), transposed
//! back and scaled by `gain`.

use crate::error::{Result, RunError};
use crate::rng::Rng;
use candle_core::{Device, Tensor};
use exp_ops::{Distribution, InitSpec};
use std::collections::BTreeMap;

/// A tensor of `shape` initialized by `init`, `F32` on the CPU.
pub fn init_tensor(init: &InitSpec, shape: &[usize], rng: &mut Rng) -> Result<Tensor> {
    let dist = init
        .resolve(&BTreeMap::new())
        .ok_or_else(|| RunError::new(format!("initializer `{init:?}` has a symbolic fan")))?;
    let n: usize = shape.iter().product();
    let values: Vec<f32> = match dist {
        Distribution::Constant(c) => return Ok(Tensor::full(c as f32, shape, &Device::Cpu)?),
        Distribution::Uniform { low, high } => (0..n).map(|_| rng.uniform_in(low, high) as f32).collect(),
        Distribution::Normal { mean, std } => (0..n).map(|_| (mean + std * rng.normal()) as f32).collect(),
        Distribution::Orthogonal { gain } => orthogonal(shape, gain, rng)?,
    };
    Ok(Tensor::from_vec(values, shape, &Device::Cpu)?)
}

/// The values of `orthogonal_(w, gain)` for a tensor of `shape`, row-major.
fn orthogonal(shape: &[usize], gain: f64, rng: &mut Rng) -> Result<Vec<f32>> {
    if shape.len() < 2 {
        return Err(RunError::new(format!(
            "orthogonal initialization needs a tensor with 2 or more dimensions, got shape {shape:?}"
        )));
    }
    let rows = shape[0];
    let cols: usize = shape[1..].iter().product();
    if rows == 0 || cols == 0 {
        return Ok(Vec::new());
    }
    let normal: Vec<f64> = (0..rows * cols).map(|_| rng.normal()).collect();
    // The tall matrix `a` (m x k, m >= k) whose Q is taken, stored by columns.
    let tall = rows >= cols;
    let (m, k) = if tall { (rows, cols) } else { (cols, rows) };
    let mut q: Vec<Vec<f64>> = (0..k)
        .map(|j| (0..m).map(|i| if tall { normal[i * cols + j] } else { normal[j * cols + i] }).collect())
        .collect();
    for j in 0..k {
        let (done, rest) = q.split_at_mut(j);
        let v = &mut rest[0];
        // Two passes of modified Gram–Schmidt keep Q orthogonal to rounding error.
        for _ in 0..2 {
            for u in done.iter() {
                let r: f64 = u.iter().zip(v.iter()).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(u).for_each(|(x, u)| *x -= r * u);
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm == 0.0 {
            return Err(RunError::new("orthogonal initialization drew a rank-deficient matrix"));
        }
        v.iter_mut().for_each(|x| *x /= norm);
    }
    // W = gain * Q (rows >= cols) or gain * Q^T; Q's column j is `q[j]`.
    let mut out = vec![0f32; rows * cols];
    for (j, col) in q.iter().enumerate() {
        for (i, x) in col.iter().enumerate() {
            let (r, c) = if tall { (i, j) } else { (j, i) };
            out[r * cols + c] = (gain * x) as f32;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use exp_ops::Dim;

    fn values(init: &InitSpec, shape: &[usize], seed: u64) -> Vec<f32> {
        init_tensor(init, shape, &mut Rng::new(seed)).unwrap().flatten_all().unwrap().to_vec1().unwrap()
    }

    fn mean_std(xs: &[f32]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().map(|x| *x as f64).sum::<f64>() / n;
        let var = xs.iter().map(|x| (*x as f64 - mean).powi(2)).sum::<f64>() / n;
        (mean, var.sqrt())
    }

    #[test]
    fn elementwise_initializers_have_their_distributions() {
        let d = Dim::constant;
        let shape = [200, 300];
        // (initializer, expected bound of a symmetric uniform, or mean and std of a normal)
        let kaiming = InitSpec::KaimingUniform { a: 5f64.sqrt(), fan_in: d(300) };
        let uniforms = [
            (kaiming, 1.0 / 300f64.sqrt()),
            (InitSpec::KaimingUniform { a: 0.0, fan_in: d(300) }, (6.0 / 300f64).sqrt()),
            (InitSpec::BiasUniform { fan_in: d(300) }, 1.0 / 300f64.sqrt()),
            (InitSpec::XavierUniform { gain: 2.0, fan_in: d(300), fan_out: d(200) }, 2.0 * (6.0 / 500f64).sqrt()),
            (InitSpec::Uniform { low: -0.25, high: 0.25 }, 0.25),
        ];
        for (init, bound) in uniforms {
            let xs = values(&init, &shape, 7);
            let (mean, std) = mean_std(&xs);
            let max = xs.iter().fold(0f64, |m, x| m.max(x.abs() as f64));
            assert!(max <= bound && max > 0.999 * bound, "{init:?}: max |x| {max} vs bound {bound}");
            assert!(mean.abs() < 0.01 * bound, "{init:?}: mean {mean}");
            let want = bound / 3f64.sqrt();
            assert!((std / want - 1.0).abs() < 0.01, "{init:?}: std {std} vs {want}");
        }
        let xs = values(&InitSpec::Uniform { low: 1.0, high: 3.0 }, &[10_000], 1);
        assert!(xs.iter().all(|x| (1.0..3.0).contains(x)));
        let xs = values(&InitSpec::Normal { mean: 0.5, std: 0.02 }, &shape, 3);
        let (mean, std) = mean_std(&xs);
        assert!((mean - 0.5).abs() < 5e-4 && (std / 0.02 - 1.0).abs() < 0.01, "normal: {mean} {std}");
        assert_eq!(values(&InitSpec::Zeros, &[2, 3], 0), vec![0.0; 6]);
        assert_eq!(values(&InitSpec::Ones, &[4], 0), vec![1.0; 4]);
        assert_eq!(values(&InitSpec::BiasUniform { fan_in: d(0) }, &[3], 0), vec![0.0; 3]);
    }

    #[test]
    fn same_seed_same_values_and_shapes_are_kept() {
        let init = InitSpec::KaimingUniform { a: 5f64.sqrt(), fan_in: Dim::constant(12) };
        assert_eq!(values(&init, &[4, 3, 2, 2], 9), values(&init, &[4, 3, 2, 2], 9));
        assert_ne!(values(&init, &[4, 3, 2, 2], 9), values(&init, &[4, 3, 2, 2], 10));
        let t = init_tensor(&init, &[4, 3, 2, 2], &mut Rng::new(1)).unwrap();
        assert_eq!((t.dims(), t.dtype()), (&[4usize, 3, 2, 2][..], candle_core::DType::F32));
        let symbolic = InitSpec::BiasUniform { fan_in: Dim::symbol("n") };
        assert!(init_tensor(&symbolic, &[3], &mut Rng::new(1)).unwrap_err().message.contains("symbolic"));
    }

    /// `W Wᵀ` (or `Wᵀ W` when W is tall) as a dense `k x k` matrix.
    fn gram(w: &[f32], rows: usize, cols: usize) -> Vec<Vec<f64>> {
        let at = |r: usize, c: usize| w[r * cols + c] as f64;
        if rows <= cols {
            (0..rows).map(|i| (0..rows).map(|j| (0..cols).map(|c| at(i, c) * at(j, c)).sum()).collect()).collect()
        } else {
            (0..cols).map(|i| (0..cols).map(|j| (0..rows).map(|r| at(r, i) * at(r, j)).sum()).collect()).collect()
        }
    }

    #[test]
    fn orthogonal_rows_or_columns_are_orthonormal_times_gain() {
        for (shape, gain) in [(vec![8, 8], 1.0), (vec![5, 12], 2.0), (vec![12, 5], 0.5), (vec![6, 2, 3, 3], 1.5)] {
            let w = values(&InitSpec::Orthogonal { gain }, &shape, 11);
            let (rows, cols) = (shape[0], shape[1..].iter().product());
            let g = gram(&w, rows, cols);
            for (i, row) in g.iter().enumerate() {
                for (j, x) in row.iter().enumerate() {
                    let want = if i == j { gain * gain } else { 0.0 };
                    assert!((x - want).abs() < 1e-5, "{shape:?}: gram[{i}][{j}] = {x}, want {want}");
                }
            }
            assert_eq!(w, values(&InitSpec::Orthogonal { gain }, &shape, 11));
        }
        let err = init_tensor(&InitSpec::Orthogonal { gain: 1.0 }, &[5], &mut Rng::new(0)).unwrap_err();
        assert!(err.message.contains("2 or more dimensions"), "{}", err.message);
    }

    #[test]
    fn orthogonal_matches_the_sign_corrected_qr() {
        // For a square normal matrix A, PyTorch's Q satisfies A = Q R with diag(R) > 0, so
        // R = Qᵀ A must be upper triangular with a positive diagonal.
        let n = 6;
        let mut rng = Rng::new(5);
        let a: Vec<f64> = (0..n * n).map(|_| rng.normal()).collect();
        let q = values(&InitSpec::Orthogonal { gain: 1.0 }, &[n, n], 5);
        for i in 0..n {
            for j in 0..n {
                let r: f64 = (0..n).map(|k| q[k * n + i] as f64 * a[k * n + j]).sum();
                if i > j {
                    assert!(r.abs() < 1e-5, "R[{i}][{j}] = {r}");
                } else if i == j {
                    assert!(r > 0.0, "R[{i}][{i}] = {r}");
                }
            }
        }
    }
}
