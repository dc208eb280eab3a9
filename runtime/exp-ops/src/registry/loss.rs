//! The training losses of `std.losses`, and each loss's target rule: the output shape it
//! needs from the model, given the data's targets.

use std::fmt::{self, Display, Formatter};

use super::arg::Constraint;
use super::data::TargetKind;
use super::Validate;
use crate::{builtins, Dim, Shape};

builtins! {
    /// A training loss: the model's output against the batch's targets, averaged.
    pub enum Loss: Loss {
        /// Softmax cross-entropy between logits `[B, C]` and class ids, with optional label
        /// smoothing (`torch.nn.functional.cross_entropy`).
        CrossEntropy = "cross_entropy" {
            /// The weight `s` of the uniform target: `(1 - s) onehot(y) + s / C`.
            label_smoothing: Float = Float(0.0), in Constraint::UNIT;
        },
        /// Mean squared error; class ids are compared as one-hot rows.
        Mse = "mse" {},
        /// Binary cross-entropy on logits (`binary_cross_entropy_with_logits`).
        Bce = "bce" {},
        /// `KL(q || softmax(z))` against a target distribution, `reduction="batchmean"`.
        Kl = "kl" {},
    }
}

impl Validate for Loss {}

/// Why a loss cannot be used with a dataset's targets.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum LossTargetError {
    /// The loss compares logits with classes, but the data has real-valued targets.
    NeedsClasses,
    /// The loss is binary, but the data has this many classes.
    BinaryOnly {
        /// The data's class count.
        classes: i64,
    },
}

impl Display for LossTargetError {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            LossTargetError::NeedsClasses => f.write_str("needs classification data"),
            LossTargetError::BinaryOnly { classes } => write!(f, "is for two classes, not {classes}"),
        }
    }
}

impl Loss {
    /// The output shape (batch first, symbolic `B`) the model must produce for `target`:
    /// `[B, C]` logits for `C` classes (a single logit for `bce` on two classes), or `[B, ...]`
    /// of the target's shape for real values.
    pub fn expected_output(&self, target: &TargetKind) -> Result<Shape, LossTargetError> {
        let b = Dim::symbol("B");
        let rows = |rest: &[i64]| Shape::new(std::iter::once(b.clone()).chain(rest.iter().map(|&d| Dim::constant(d))));
        match (self, target) {
            (Loss::CrossEntropy { .. } | Loss::Kl {} | Loss::Mse {}, TargetKind::Classes(c)) => Ok(rows(&[*c])),
            (Loss::CrossEntropy { .. } | Loss::Kl {}, TargetKind::Values(_)) => Err(LossTargetError::NeedsClasses),
            (Loss::Bce {}, TargetKind::Classes(2)) => Ok(rows(&[1])),
            (Loss::Bce {}, TargetKind::Classes(c)) => Err(LossTargetError::BinaryOnly { classes: *c }),
            (Loss::Bce {} | Loss::Mse {}, TargetKind::Values(shape)) => Ok(rows(shape)),
        }
    }
}
