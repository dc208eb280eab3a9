//! Data sources and transforms of `std.data`, with the schema each source promises: the shape
//! of one sample, whether inputs are integer tokens, the target (classes or values), the
//! splits, and the size of the training split when it is known before anything is read.
//!
//! The schema is what lets the checker test the model against the data before loading, and
//! what the IR records; the runtime checks the loaded data against it.

use std::fmt::{self, Display, Formatter};

use super::arg::{ArgError, Constraint};
use super::Validate;
use crate::{builtins, choice};

choice! {
    /// The operation of the `modular` dataset.
    pub enum ModularOp {
        /// `a + b mod p`.
        Add = "add",
        /// `a - b mod p`.
        Sub = "sub",
        /// `a * b mod p`.
        Mul = "mul",
        /// `a * b^-1 mod p`, for the `b` invertible mod `p`.
        Div = "div",
    }
}

/// The largest number of generated samples.
const MAX_SAMPLES: f64 = 1e9;
/// `n` of a generator: at least 2 (both splits non-empty) and at most a billion.
const SAMPLES: Constraint = Constraint::closed(2.0, MAX_SAMPLES);
/// A size of at least one.
const SIZE: Constraint = Constraint::POSITIVE;
/// A class count.
const CLASSES: Constraint = Constraint::at_least(2.0);

builtins! {
    /// A data source of `std.data`: a generator or a file loader.
    pub enum DataSource: DataSource {
        /// Modular arithmetic: every pair `(a, b)` labelled `a op b mod p` (the grokking task).
        Modular = "modular" {
            /// The modulus, also the number of tokens and classes.
            p: Int, in Constraint::closed(2.0, 4_294_967_295.0);
            /// The operation.
            op: Choice(ModularOp) = Str("add");
            /// The fraction of pairs in `.train`.
            train_fraction: Float = Float(0.5), in Constraint::OPEN_UNIT;
            /// Chooses the split.
            seed: Int = Int(0);
        },
        /// A Gaussian mixture: `classes` means from `N(0, spread^2 I)`, unit-variance noise.
        GaussianMixture = "gaussian_mixture" {
            /// Input dimension.
            dim: Int, in SIZE;
            /// Number of classes.
            classes: Int, in CLASSES;
            /// Number of samples.
            n: Int, in SAMPLES;
            /// Standard deviation of the class means.
            spread: Float = Float(1.0), in Constraint::NON_NEGATIVE;
            /// Chooses the data and the split.
            seed: Int = Int(0);
            /// The fraction of samples in `.train`.
            train_fraction: Float = Float(0.8), in Constraint::OPEN_UNIT;
        },
        /// Gaussian inputs labelled by a fixed random teacher network.
        TeacherStudent = "teacher_student" {
            /// Input dimension.
            dim: Int, in SIZE;
            /// Hidden width of the teacher.
            hidden: Int, in SIZE;
            /// Number of samples.
            n: Int, in SAMPLES;
            /// Standard deviation of the teacher's logit noise.
            noise: Float = Float(0.0), in Constraint::NON_NEGATIVE;
            /// Chooses the teacher, the data and the split.
            seed: Int = Int(0);
            /// Number of classes.
            classes: Int = Int(10), in CLASSES;
            /// The fraction of samples in `.train`.
            train_fraction: Float = Float(0.8), in Constraint::OPEN_UNIT;
        },
        /// Two interleaved spirals in the plane, one per class.
        TwoSpirals = "two_spirals" {
            /// Number of points.
            n: Int, in SAMPLES;
            /// Standard deviation of the noise on each coordinate.
            noise: Float = Float(0.0), in Constraint::NON_NEGATIVE;
            /// Turns of each arm.
            turns: Float = Float(1.0), in Constraint::POSITIVE;
            /// Chooses the data and the split.
            seed: Int = Int(0);
            /// The fraction of points in `.train`.
            train_fraction: Float = Float(0.8), in Constraint::OPEN_UNIT;
        },
        /// MNIST-style IDX files in a directory.
        Idx = "idx" {
            /// The directory.
            dir: Str;
            /// The shape of one sample.
            shape: Ints, in SIZE;
            /// Number of classes.
            classes: Int, in CLASSES;
        },
        /// A CSV file of numbers with a label column.
        Csv = "csv" {
            /// The file.
            path: Str;
            /// The label column.
            label: Str;
            /// The shape of one sample.
            shape: Ints, in SIZE;
            /// Number of classes.
            classes: Int, in CLASSES;
            /// Whether the first line is a header.
            header: Bool = Bool(true);
            /// The field separator.
            delimiter: Str = Str(",");
            /// The fraction of rows in `.train`.
            train_fraction: Float = Float(0.8), in Constraint::OPEN_UNIT;
            /// Chooses the split.
            seed: Int = Int(0);
        },
        /// CIFAR-10 in its binary layout.
        Cifar10 = "cifar10" {
            /// The directory of the `.bin` files.
            dir: Str;
        },
        /// Inputs and labels in one safetensors file.
        Safetensors = "safetensors" {
            /// The file.
            path: Str;
            /// The name of the inputs tensor.
            x: Str;
            /// The name of the labels tensor.
            y: Str;
            /// The shape of one sample.
            shape: Ints, in SIZE;
            /// Number of classes.
            classes: Int, in CLASSES;
            /// The fraction of rows in `.train`.
            train_fraction: Float = Float(0.8), in Constraint::OPEN_UNIT;
            /// Chooses the split.
            seed: Int = Int(0);
        },
        /// Inputs and labels in two NumPy `.npy` files.
        Npy = "npy" {
            /// The inputs file.
            x: Str;
            /// The labels file.
            y: Str;
            /// The shape of one sample.
            shape: Ints, in SIZE;
            /// Number of classes.
            classes: Int, in CLASSES;
            /// The fraction of rows in `.train`.
            train_fraction: Float = Float(0.8), in Constraint::OPEN_UNIT;
            /// Chooses the split.
            seed: Int = Int(0);
        },
    }
}

builtins! {
    /// A transform of `std.data`, applied to the inputs of every split with `>>`.
    pub enum Transform: Transform {
        /// Multiplies every input value by `factor`.
        Scale = "scale" {
            /// The factor.
            factor: Float;
        },
        /// `(x - mean) / std` for every input value.
        Normalize = "normalize" {
            /// Subtracted first.
            mean: Float;
            /// Divided by next.
            std: Float, in Constraint::POSITIVE;
        },
    }
}

/// What a dataset's samples are labelled with.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum TargetKind {
    /// Class ids `0..n`.
    Classes(i64),
    /// Real values of this per-sample shape.
    Values(Vec<i64>),
}

/// What a data source promises about its data, known before anything is read.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Schema {
    /// The shape of one input sample.
    pub sample: Vec<i64>,
    /// Whether inputs are integer tokens (then in `0..vocab`) rather than floats.
    pub tokens: Option<i64>,
    /// The targets.
    pub target: TargetKind,
    /// The splits, in order.
    pub splits: &'static [&'static str],
    /// Samples in `.train`, when the source is generated.
    pub train_size: Option<u64>,
}

/// The splits every source provides today.
const SPLITS: &[&str] = &["train", "test"];

/// `round(fraction * n)`, the size of `.train` in a random split (as the runtime splits).
pub fn train_part(n: u64, fraction: f64) -> u64 {
    (fraction * n as f64).round() as u64
}

/// Euler's totient: the number of `b` in `1..p` invertible modulo `p`.
fn totient(p: u64) -> u64 {
    let (mut n, mut out, mut f) = (p, p, 2u64);
    while f * f <= n {
        if n % f == 0 {
            while n % f == 0 {
                n /= f;
            }
            out -= out / f;
        }
        f += 1;
    }
    if n > 1 {
        out -= out / n;
    }
    out
}

impl DataSource {
    /// The number of samples a generator produces; `None` for file sources.
    pub fn generated_samples(&self) -> Option<u64> {
        match self {
            DataSource::Modular { p, op, .. } => {
                let p = *p as u64;
                Some(if *op == ModularOp::Div { p * totient(p) } else { p * p })
            }
            DataSource::GaussianMixture { n, .. }
            | DataSource::TeacherStudent { n, .. }
            | DataSource::TwoSpirals { n, .. } => Some(*n as u64),
            _ => None,
        }
    }

    /// The fraction of samples in `.train` for sources split at random.
    pub fn train_fraction(&self) -> Option<f64> {
        match self {
            DataSource::Modular { train_fraction, .. }
            | DataSource::GaussianMixture { train_fraction, .. }
            | DataSource::TeacherStudent { train_fraction, .. }
            | DataSource::TwoSpirals { train_fraction, .. }
            | DataSource::Csv { train_fraction, .. }
            | DataSource::Safetensors { train_fraction, .. }
            | DataSource::Npy { train_fraction, .. } => Some(*train_fraction),
            DataSource::Idx { .. } | DataSource::Cifar10 { .. } => None,
        }
    }

    /// The source's schema.
    pub fn schema(&self) -> Schema {
        let classes = |c: &i64| TargetKind::Classes(*c);
        let (sample, tokens, target) = match self {
            DataSource::Modular { p, .. } => (vec![2], Some(*p), classes(p)),
            DataSource::GaussianMixture { dim, classes: c, .. } => (vec![*dim], None, classes(c)),
            DataSource::TeacherStudent { dim, classes: c, .. } => (vec![*dim], None, classes(c)),
            DataSource::TwoSpirals { .. } => (vec![2], None, TargetKind::Classes(2)),
            DataSource::Cifar10 { .. } => (vec![3, 32, 32], None, TargetKind::Classes(10)),
            DataSource::Idx { shape, classes: c, .. }
            | DataSource::Csv { shape, classes: c, .. }
            | DataSource::Safetensors { shape, classes: c, .. }
            | DataSource::Npy { shape, classes: c, .. } => (shape.clone(), None, classes(c)),
        };
        let train_size = match (self.generated_samples(), self.train_fraction()) {
            (Some(n), Some(f)) => Some(train_part(n, f)),
            _ => None,
        };
        Schema { sample, tokens, target, splits: SPLITS, train_size }
    }
}

impl Validate for DataSource {
    /// A generated dataset's random split must leave both parts non-empty.
    fn validate(&self) -> Result<(), ArgError> {
        if let (Some(n), Some(f)) = (self.generated_samples(), self.train_fraction()) {
            let k = train_part(n, f);
            if k == 0 || k == n {
                // round(f * n) is in 1..n exactly for f in [0.5 / n, (n - 0.5) / n).
                let n_ = n as f64;
                let range = Constraint::half_open(0.5 / n_, (n_ - 0.5) / n_).describe();
                return Err(ArgError::range(
                    self.name(),
                    "train_fraction",
                    format!("{range} with {n} samples, so that `.train` and `.test` are both non-empty"),
                ));
            }
        }
        Ok(())
    }
}

/// Why a transform cannot apply to a dataset.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum TransformError {
    /// The transform acts on float inputs, but the inputs are integer tokens.
    NeedsFloatInputs,
}

impl Display for TransformError {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            TransformError::NeedsFloatInputs => {
                f.write_str("it acts on float inputs, but the inputs are integer tokens")
            }
        }
    }
}

impl Transform {
    /// The schema of the data after the transform.
    pub fn apply(&self, schema: &Schema) -> Result<Schema, TransformError> {
        match self {
            Transform::Scale { .. } | Transform::Normalize { .. } => {
                if schema.tokens.is_some() {
                    return Err(TransformError::NeedsFloatInputs);
                }
                Ok(schema.clone())
            }
        }
    }
}

impl Validate for Transform {}
