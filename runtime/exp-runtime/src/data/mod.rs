//! Data sources: the generators and file loaders behind `std.data`, the transforms, and the
//! batch stream the training loop draws from.
//!
//! [`load`] turns the IR's [`DataPlan`] into two in-memory [`Dataset`]s, `train` and `test`:
//!
//! - generators ([`synthetic`]): `modular`, `gaussian_mixture`, `teacher_student`, `two_spirals`;
//! - files: `idx` (MNIST IDX, optionally gzipped), `csv`, `npy` (`.npy`, or a member of an
//!   `.npz` written `file.npz:name`), `cifar10` and `safetensors`.
//!
//! The source is the registry's typed [`DataSource`], matched exhaustively here: its
//! arguments were checked against their constraints when the IR was built.
//!
//! **Seeds.** A source with a `seed` argument (every generator, and the random splits of `csv`,
//! `npy` and `safetensors`) draws from one [`Rng`] seeded with [`source_seed`]`(data_seed, seed)`
//! = `splitmix64(data_seed ^ splitmix64(seed))`. The same pair always gives the same data and
//! split; changing either changes both. Passing a constant `data_seed` (for example
//! `derive_seed(0, SeedPurpose::Data)`) keeps the data fixed while a sweep varies the
//! experiment's seed, as `stdlib/data.exp` promises.
//!
//! **Random splits.** A `train_fraction` split shuffles the indices `0..n` with a second
//! generator, seeded with [`split_seed`] of the source seed, and puts the first
//! `round(train_fraction * n)` into `train`, in shuffled order, and the rest into `test`; both
//! must be non-empty.
//!
//! **Checks.** After loading, every split's sample shape must equal `plan.x_shape`, integer token
//! inputs must come with `x i64`, labels must lie in `0..n` for `Target::Classes(n)` and
//! regression targets must have the declared shape. Failures are errors that name the source
//! or file and carry `plan.origin` (or a transform's origin), with a help line: never panics.
//! Transforms then apply in order to the float inputs of both splits.

mod batches;
mod checks;
mod csv;
mod idx;
mod numpy;
mod safetensors;
pub mod synthetic;
mod zip;

#[cfg(test)]
mod tests;

use crate::error::{Result, RunError};
use crate::rng::Rng;
use checks::{apply_transform, check_plan, from_arrays};
use exp_ir::DataPlan;
use exp_ops::DataSource;
use std::path::Path;

pub use batches::{batch_tensors, sequential_batches, BatchState, Batches};
pub use idx::{load_cifar10, load_idx};
pub use numpy::{read_npy, read_npz};
pub use safetensors::load_safetensors;

/// One split held in memory, samples in rows.
///
/// Inputs are either floats in `x` (`n * sample_len` values, C order) or, for token inputs such
/// as `modular`'s pairs, integer ids in `ids` (then `x` is empty). Targets are either class ids
/// in `y` (`target_shape` is `None`) or regression values in `targets`
/// (`n * product(target_shape)` values; then `y` is empty).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dataset {
    /// Float inputs, `n * product(sample_shape)` values; empty when `ids` is set.
    pub x: Vec<f32>,
    /// Integer token inputs, `n * product(sample_shape)` ids, for integer-input sources.
    pub ids: Option<Vec<u32>>,
    /// Class ids, one per sample, for classification; empty for regression.
    pub y: Vec<u32>,
    /// Regression targets, `n * product(target_shape)` values; empty for classification.
    pub targets: Vec<f32>,
    /// Per-sample shape of the regression targets; `None` for classification.
    pub target_shape: Option<Vec<usize>>,
    /// Number of samples.
    pub n: usize,
    /// Shape of one input sample, without the batch dimension.
    pub sample_shape: Vec<usize>,
}

impl Dataset {
    /// Values per input sample: the product of `sample_shape`.
    pub fn sample_len(&self) -> usize {
        self.sample_shape.iter().product()
    }

    /// Values per regression target (0 for classification).
    pub fn target_len(&self) -> usize {
        self.target_shape.as_ref().map_or(0, |s| s.iter().product())
    }

    /// The samples at `idx`, in that order (indices must be `< n`).
    pub fn subset(&self, idx: &[usize]) -> Dataset {
        let gather = |data: &[f32], len: usize| gather_rows(data, len, idx);
        let len = self.sample_len();
        let tlen = self.target_len();
        Dataset {
            x: if self.ids.is_some() { Vec::new() } else { gather(&self.x, len) },
            ids: self.ids.as_ref().map(|ids| gather_rows(ids, len, idx)),
            y: if self.target_shape.is_some() { Vec::new() } else { idx.iter().map(|&i| self.y[i]).collect() },
            targets: gather(&self.targets, tlen),
            target_shape: self.target_shape.clone(),
            n: idx.len(),
            sample_shape: self.sample_shape.clone(),
        }
    }
}

/// Rows `idx` (each `len` elements) of `data`, concatenated: sized up front and filled by
/// slice copies, since this runs for every batch.
pub(crate) fn gather_rows<T: Copy>(data: &[T], len: usize, idx: &[usize]) -> Vec<T> {
    let mut out = Vec::with_capacity(idx.len() * len);
    for &i in idx {
        out.extend_from_slice(&data[i * len..(i + 1) * len]);
    }
    out
}

/// The two splits a source provides: `.train` (batched for training) and `.test`.
#[derive(Debug, Clone, PartialEq)]
pub struct Splits {
    /// The training split.
    pub train: Dataset,
    /// The held-out split.
    pub test: Dataset,
}

impl Splits {
    /// The split named `name`.
    pub fn get(&self, name: &str) -> Option<&Dataset> {
        match name {
            "train" => Some(&self.train),
            "test" => Some(&self.test),
            _ => None,
        }
    }
}

/// An n-dimensional array read from a file, values converted to `f32`, C order.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// `product(shape)` values.
    pub data: Vec<f32>,
}

/// The generator seed of a source: `splitmix64(data_seed ^ splitmix64(seed))`.
pub fn source_seed(data_seed: u64, seed: i64) -> u64 {
    use exp_ir::seed::splitmix64;
    splitmix64(data_seed ^ splitmix64(seed as u64))
}

/// Loads both splits of `plan`, checks them against the plan and applies its transforms.
///
/// `base_dir` is the directory of the `.exp` file (relative paths in the arguments start there);
/// `data_seed` seeds the generators and random splits as described in the module docs.
/// Every error is marked as the data's ([`ErrorKind::Data`](crate::ErrorKind::Data)).
pub fn load(plan: &DataPlan, base_dir: &Path, data_seed: u64) -> Result<Splits> {
    let (mut splits, what) = load_source(plan, base_dir, data_seed).map_err(|e| e.in_data(plan.origin))?;
    check_plan(plan, &splits, &what).map_err(|e| e.in_data(plan.origin))?;
    for t in &plan.transforms {
        for ds in [&mut splits.train, &mut splits.test] {
            apply_transform(t, ds, &what).map_err(|e| e.in_data(t.origin.or(plan.origin)))?;
        }
    }
    Ok(splits)
}

/// Runs the plan's source; returns the splits and how to name the source in errors.
fn load_source(plan: &DataPlan, base: &Path, data_seed: u64) -> Result<(Splits, String)> {
    let seed = |s: i64| source_seed(data_seed, s);
    let path = |p: &str| base.join(p);
    let what = |p: &Path| format!("`{}`", p.display());
    let count = |name: &str, v: i64| {
        usize::try_from(v).map_err(|_| RunError::new(format!("`{name}` must be a count, found {v}")))
    };
    let shape = |s: &[i64]| s.iter().map(|&d| count("shape", d)).collect::<Result<Vec<usize>>>();
    Ok(match &plan.source {
        DataSource::Modular { p, op, train_fraction, seed: s } => {
            (synthetic::modular(count("p", *p)?, *op, *train_fraction, seed(*s))?, "`modular`".into())
        }
        DataSource::GaussianMixture { dim, classes, n, spread, seed: s, train_fraction } => {
            let (dim, k, n) = (count("dim", *dim)?, count("classes", *classes)?, count("n", *n)?);
            let ds = synthetic::gaussian_mixture(dim, k, n, *spread, *train_fraction, seed(*s))?;
            (ds, "`gaussian_mixture`".into())
        }
        DataSource::TeacherStudent { dim, hidden, n, noise, seed: s, classes, train_fraction } => {
            let (dim, hidden, n) = (count("dim", *dim)?, count("hidden", *hidden)?, count("n", *n)?);
            let k = count("classes", *classes)?;
            let ds = synthetic::teacher_student(dim, hidden, k, n, *noise, *train_fraction, seed(*s))?;
            (ds, "`teacher_student`".into())
        }
        DataSource::TwoSpirals { n, noise, turns, seed: s, train_fraction } => {
            let ds = synthetic::two_spirals(count("n", *n)?, *noise, *turns, *train_fraction, seed(*s))?;
            (ds, "`two_spirals`".into())
        }
        DataSource::Idx { dir, shape: sample, classes } => {
            let dir = path(dir);
            (load_idx(&dir, &shape(sample)?, count("classes", *classes)?)?, what(&dir))
        }
        DataSource::Cifar10 { dir } => {
            let dir = path(dir);
            (load_cifar10(&dir)?, what(&dir))
        }
        DataSource::Csv { path: p, label, shape: sample, header, delimiter, train_fraction, seed: s, .. } => {
            let p = path(p);
            let opts = csv::Options { label: label.clone(), header: *header, delimiter: delimiter.clone() };
            let ds = csv::read(&p, &opts, &shape(sample)?, &plan.target)?;
            (random_split(ds, *train_fraction, seed(*s))?, what(&p))
        }
        DataSource::Npy { x, y, shape: sample, train_fraction, seed: s, .. } => {
            let (px, py) = (path(x), path(y));
            let (x, y) = (numpy::read_path(&px, "x")?, numpy::read_path(&py, "y")?);
            let ds = from_arrays(x, y, &shape(sample)?, &plan.target, &what(&px), &what(&py))?;
            (random_split(ds, *train_fraction, seed(*s))?, format!("{} with {}", what(&px), what(&py)))
        }
        DataSource::Safetensors { path: p, x, y, shape: sample, train_fraction, seed: s, .. } => {
            let p = path(p);
            let (x, y) = load_safetensors(&p, x, y)?;
            let w = what(&p);
            let ds = from_arrays(x, y, &shape(sample)?, &plan.target, &w, &w)?;
            (random_split(ds, *train_fraction, seed(*s))?, w)
        }
    })
}

/// The seed of the train/test shuffle of a source whose generator seed is `seed`:
/// `splitmix64(seed ^ fnv1a64("split"))`, so the split is independent of the generated values.
pub fn split_seed(seed: u64) -> u64 {
    exp_ir::seed::splitmix64(seed ^ exp_ir::seed::fnv1a64(b"split"))
}

/// Splits `ds` at random: see "Random splits" in the module docs.
pub(crate) fn random_split(ds: Dataset, train_fraction: f64, seed: u64) -> Result<Splits> {
    let n = ds.n;
    if !(train_fraction > 0.0 && train_fraction < 1.0) {
        return Err(RunError::new(format!(
            "`train_fraction` must lie strictly between 0 and 1, found {train_fraction}"
        )));
    }
    let k = (train_fraction * n as f64).round() as usize;
    if k == 0 || k == n {
        return Err(RunError::new(format!(
            "`train_fraction: {train_fraction}` of {n} samples leaves `.{}` empty",
            if k == 0 { "train" } else { "test" }
        ))
        .with_help("use more samples or a train_fraction further from 0 and 1"));
    }
    let mut order: Vec<usize> = (0..n).collect();
    Rng::new(split_seed(seed)).shuffle(&mut order);
    Ok(Splits { train: ds.subset(&order[..k]), test: ds.subset(&order[k..]) })
}
