//! The generators of `std.data`: deterministic synthetic datasets.
//!
//! Each takes its already combined `seed` (see [`super::source_seed`]) and draws from one
//! [`Rng`] seeded with it, in the order documented on the function; the train/test split then
//! shuffles with a second generator, [`super::split_seed`]`(seed)`, so the split is independent of the
//! values drawn. The definitions:
//!
//! - `modular`: every pair `(a, b)`, `a` in `0..p`, `b` in `0..p` (for `div`, the `b` in `1..p`
//!   invertible mod `p`), label `a op b mod p`; inputs are the token ids `[a, b]`.
//! - `gaussian_mixture`: class means `mu_c ~ N(0, spread^2 I)`; each sample draws its class
//!   uniformly, then `x = mu_c + N(0, I)`.
//! - `teacher_student`: `x ~ N(0, I)`, label `argmax(W2 relu(W1 x + b1) + b2 + noise * N(0, I))`,
//!   teacher weights and biases `U(-1/sqrt(fan_in), 1/sqrt(fan_in))` (PyTorch's default `Linear`).
//! - `two_spirals`: `ceil(n/2)` points of class 0 and `floor(n/2)` of class 1; a point draws
//!   `t = sqrt(u)`, `u ~ U(0, 1)` (uniform density along the arm), angle
//!   `theta = 2 pi turns t + pi c` and radius `t`, so it lies at `t (cos theta, sin theta)`, plus
//!   `N(0, noise^2)` per coordinate: the arms wind out from the origin to radius 1, class 1 being
//!   class 0 rotated by half a turn.

use super::{random_split as split, Dataset, Splits};
use crate::error::{Result, RunError};
use crate::rng::Rng;
use exp_ops::ModularOp;

fn check_nonnegative(name: &str, v: f64) -> Result<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(RunError::new(format!("`{name}` must be a finite number >= 0, found {v}")))
    }
}

/// The modular-arithmetic dataset for `op`.
///
/// Uses no random values except the split. Inputs are ids `[a, b]`, sample shape `[2]`.
pub fn modular(p: usize, op: ModularOp, train_fraction: f64, seed: u64) -> Result<Splits> {
    let p64 = u64::try_from(p).ok().filter(|&p| p >= 2 && p <= u64::from(u32::MAX));
    let Some(p64) = p64 else {
        return Err(RunError::new(format!("`modular` needs 2 <= p < 2^32, found {p}")));
    };
    let f: fn(u64, u64, u64) -> Option<u64> = match op {
        ModularOp::Add => |a, b, p| Some((a + b) % p),
        ModularOp::Sub => |a, b, p| Some((a + p - b) % p),
        ModularOp::Mul => |a, b, p| Some(a * b % p),
        ModularOp::Div => |a, b, p| mod_inverse(b, p).map(|inv| a * inv % p),
    };
    let (mut ids, mut y) = (Vec::new(), Vec::new());
    for a in 0..p64 {
        for b in 0..p64 {
            if let Some(label) = f(a, b, p64) {
                ids.extend([a as u32, b as u32]);
                y.push(label as u32);
            }
        }
    }
    let ds = Dataset { n: y.len(), ids: Some(ids), y, sample_shape: vec![2], ..Dataset::default() };
    split(ds, train_fraction, seed)
}

/// The inverse of `b` modulo `p`, when `gcd(b, p) = 1` and `b != 0`.
pub fn mod_inverse(b: u64, p: u64) -> Option<u64> {
    let (mut r0, mut r1) = (i128::from(p), i128::from(b % p));
    let (mut t0, mut t1) = (0i128, 1i128);
    while r1 != 0 {
        let q = r0 / r1;
        (r0, r1) = (r1, r0 - q * r1);
        (t0, t1) = (t1, t0 - q * t1);
    }
    (r0 == 1).then(|| t0.rem_euclid(i128::from(p)) as u64)
}

/// A Gaussian mixture in `dim` dimensions with `classes` classes and `n` samples.
///
/// Draw order: the `classes * dim` mean coordinates (times `spread`), then per sample its class
/// (`below(classes)`) and its `dim` noise values.
pub fn gaussian_mixture(
    dim: usize,
    classes: usize,
    n: usize,
    spread: f64,
    train_fraction: f64,
    seed: u64,
) -> Result<Splits> {
    check_nonnegative("spread", spread)?;
    let mut rng = Rng::new(seed);
    let means: Vec<f64> = (0..classes * dim).map(|_| spread * rng.normal()).collect();
    let mut x = Vec::with_capacity(n * dim);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let c = rng.below(classes as u64) as usize;
        x.extend(means[c * dim..(c + 1) * dim].iter().map(|m| (m + rng.normal()) as f32));
        y.push(c as u32);
    }
    split(Dataset { x, y, n, sample_shape: vec![dim], ..Dataset::default() }, train_fraction, seed)
}

/// A random teacher network `linear(hidden) >> relu >> linear(classes)` labelling Gaussian inputs.
///
/// Draw order: `W1` (`hidden x dim`, row-major), `b1`, `W2` (`classes x hidden`), `b2`; then per
/// sample its `dim` inputs and `classes` logit-noise values (drawn even when `noise` is 0, so
/// the inputs do not depend on `noise`). Ties in the argmax go to the lowest class.
pub fn teacher_student(
    dim: usize,
    hidden: usize,
    classes: usize,
    n: usize,
    noise: f64,
    train_fraction: f64,
    seed: u64,
) -> Result<Splits> {
    check_nonnegative("noise", noise)?;
    let mut rng = Rng::new(seed);
    let mut uniform = |count: usize, fan_in: usize| -> Vec<f64> {
        let bound = 1.0 / (fan_in as f64).sqrt();
        (0..count).map(|_| rng.uniform_in(-bound, bound)).collect()
    };
    let (w1, b1) = (uniform(hidden * dim, dim), uniform(hidden, dim));
    let (w2, b2) = (uniform(classes * hidden, hidden), uniform(classes, hidden));
    let mut x = Vec::with_capacity(n * dim);
    let mut y = Vec::with_capacity(n);
    let mut h = vec![0.0; hidden];
    for _ in 0..n {
        let xi: Vec<f64> = (0..dim).map(|_| rng.normal()).collect();
        for (j, hj) in h.iter_mut().enumerate() {
            let z: f64 = b1[j] + w1[j * dim..(j + 1) * dim].iter().zip(&xi).map(|(w, v)| w * v).sum::<f64>();
            *hj = z.max(0.0);
        }
        let mut best = (0, f64::NEG_INFINITY);
        for c in 0..classes {
            let z = b2[c] + w2[c * hidden..(c + 1) * hidden].iter().zip(&h).map(|(w, v)| w * v).sum::<f64>();
            let z = z + noise * rng.normal();
            if z > best.1 {
                best = (c, z);
            }
        }
        x.extend(xi.iter().map(|&v| v as f32));
        y.push(best.0 as u32);
    }
    split(Dataset { x, y, n, sample_shape: vec![dim], ..Dataset::default() }, train_fraction, seed)
}

/// Two interleaved spirals of `n` points in the plane.
///
/// Draw order: per point (class 0 first), `u`, then the two noise values.
pub fn two_spirals(n: usize, noise: f64, turns: f64, train_fraction: f64, seed: u64) -> Result<Splits> {
    check_nonnegative("noise", noise)?;
    if !(turns.is_finite() && turns > 0.0) {
        return Err(RunError::new(format!("`turns` must be a positive number, found {turns}")));
    }
    let mut rng = Rng::new(seed);
    let n0 = n - n / 2;
    let mut x = Vec::with_capacity(2 * n);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = usize::from(i >= n0);
        let t = rng.uniform().sqrt();
        let theta = std::f64::consts::TAU * turns * t + std::f64::consts::PI * c as f64;
        let (px, py) = (t * theta.cos(), t * theta.sin());
        x.push((px + noise * rng.normal()) as f32);
        x.push((py + noise * rng.normal()) as f32);
        y.push(c as u32);
    }
    split(Dataset { x, y, n, sample_shape: vec![2], ..Dataset::default() }, train_fraction, seed)
}
