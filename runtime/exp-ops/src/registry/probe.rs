//! The probes of `std.probes` and the metrics of `std.metrics`: what each measures, which
//! split it reads, and what it needs of the data's targets. Every one returns a `Float`.

use super::arg::Constraint;
use super::data::TargetKind;
use super::Validate;
use crate::builtins;

builtins! {
    /// A built-in measurement taken while training.
    pub enum Probe: Probe -> Float {
        /// The fraction of samples of a split whose largest logit is at the true class.
        Accuracy = "accuracy" {
            /// The split.
            on: Split;
        },
        /// The experiment's loss averaged over every sample of a split.
        Loss = "loss" {
            /// The split.
            on: Split;
        },
        /// The global L2 norm of all parameters.
        WeightNorm = "weight_norm" {},
    }
}

builtins! {
    /// A built-in evaluation of a model's outputs against a split's targets.
    pub enum Metric: Metric -> Float {
        /// The fraction of samples whose true class is among the `k` largest logits.
        TopK = "top_k" {
            /// How many of the largest logits count.
            k: Int = Int(5), in Constraint::POSITIVE;
            /// The split.
            on: Split;
        },
    }
}

impl Validate for Probe {}
impl Validate for Metric {}

/// Why a probe or metric cannot measure a dataset.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum MeasureError {
    /// It compares outputs with class ids, but the data has real-valued targets.
    NeedsClasses {
        /// The probe or metric.
        name: &'static str,
    },
    /// `top_k` with more candidates than the data has classes.
    TooFewClasses {
        /// The `k` asked for.
        k: i64,
        /// The data's classes.
        classes: i64,
    },
}

impl std::fmt::Display for MeasureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MeasureError::NeedsClasses { name } => write!(f, "`{name}` needs classification data"),
            MeasureError::TooFewClasses { k, classes } => {
                write!(f, "`top_k` with `k: {k}` needs at least {k} classes, but the data has {classes}")
            }
        }
    }
}

/// What a measurement needs of the data's targets.
fn needs_classes(name: &'static str, target: &TargetKind) -> Result<(), MeasureError> {
    match target {
        TargetKind::Classes(_) => Ok(()),
        TargetKind::Values(_) => Err(MeasureError::NeedsClasses { name }),
    }
}

impl Probe {
    /// The split the probe reads, if any.
    pub fn split(&self) -> Option<&str> {
        match self {
            Probe::Accuracy { on } | Probe::Loss { on } => Some(on),
            Probe::WeightNorm {} => None,
        }
    }

    /// Whether the probe can measure data with these targets; the error says why not.
    pub fn check_target(&self, target: &TargetKind) -> Result<(), MeasureError> {
        match self {
            Probe::Accuracy { .. } => needs_classes("accuracy", target),
            Probe::Loss { .. } | Probe::WeightNorm {} => Ok(()),
        }
    }
}

impl Metric {
    /// The split the metric reads.
    pub fn split(&self) -> Option<&str> {
        match self {
            Metric::TopK { on, .. } => Some(on),
        }
    }

    /// Whether the metric can measure data with these targets; the error says why not.
    pub fn check_target(&self, target: &TargetKind) -> Result<(), MeasureError> {
        match (self, target) {
            (Metric::TopK { k, .. }, TargetKind::Classes(c)) if k > c => {
                Err(MeasureError::TooFewClasses { k: *k, classes: *c })
            }
            (Metric::TopK { .. }, _) => needs_classes("top_k", target),
        }
    }
}
