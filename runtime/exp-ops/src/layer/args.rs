//! Argument resolution for [`super::LayerOp::from_args`]: defaults from the table, kind
//! checks, and range checks on constant values.

use std::collections::BTreeMap;

use super::{ArgDefault, ArgKind, ArgValue, Conv, LayerOpSpec, Pool};
use crate::error::ArgProblem;
use crate::{Dim, ShapeError};

pub(super) fn bad_arg(op: &str, name: &str, problem: ArgProblem) -> ShapeError {
    ShapeError::BadArg { op: op.to_string(), name: name.to_string(), problem }
}

/// Looks up arguments of one call, applying the table's defaults.
pub(super) struct Args<'a> {
    pub(super) spec: &'static LayerOpSpec,
    pub(super) given: &'a BTreeMap<String, ArgValue>,
}

impl Args<'_> {
    /// The given or default value of `name`, with its declared kind.
    fn value(&self, name: &str) -> Result<(ArgValue, ArgKind), ShapeError> {
        let spec = self.spec.args.iter().find(|a| a.name == name).expect("argument names come from the table");
        if let Some(v) = self.given.get(name) {
            return Ok((v.clone(), spec.kind));
        }
        let value = match spec.default {
            None => return Err(bad_arg(self.spec.name, name, ArgProblem::Missing)),
            Some(ArgDefault::Int(v)) => ArgValue::int(v),
            Some(ArgDefault::Float(v)) => ArgValue::Float(v),
            Some(ArgDefault::Bool(v)) => ArgValue::Bool(v),
            Some(ArgDefault::SameAs(other)) => self.value(other)?.0,
        };
        Ok((value, spec.kind))
    }

    fn wrong_kind(&self, name: &str, expected: ArgKind) -> ShapeError {
        bad_arg(self.spec.name, name, ArgProblem::WrongKind { expected })
    }

    pub(super) fn bool(&self, name: &str) -> Result<bool, ShapeError> {
        match self.value(name)? {
            (ArgValue::Bool(b), _) => Ok(b),
            (_, kind) => Err(self.wrong_kind(name, kind)),
        }
    }

    /// A float in the range `ok` describes; an integer literal is accepted as a float.
    pub(super) fn float(&self, name: &str, range: &'static str, ok: impl Fn(f64) -> bool) -> Result<f64, ShapeError> {
        let v = match self.value(name)? {
            (ArgValue::Float(v), _) => v,
            (ArgValue::Int(d), kind) => d.as_const().ok_or_else(|| self.wrong_kind(name, kind))? as f64,
            (_, kind) => return Err(self.wrong_kind(name, kind)),
        };
        if ok(v) {
            Ok(v)
        } else {
            Err(bad_arg(self.spec.name, name, ArgProblem::OutOfRange { expected: range }))
        }
    }

    /// A list of ints; with `len`, an int is repeated and a list must have that length.
    pub(super) fn ints(&self, name: &str, len: Option<usize>) -> Result<Vec<Dim>, ShapeError> {
        match (self.value(name)?, len) {
            ((ArgValue::Int(d), _), Some(n)) => Ok(vec![d; n]),
            ((ArgValue::Ints(v), _), None) => Ok(v),
            ((ArgValue::Ints(v), _), Some(n)) if v.len() == n => Ok(v),
            ((_, kind), _) => Err(self.wrong_kind(name, kind)),
        }
    }

    /// A size that must be positive when it is a constant.
    pub(super) fn positive(&self, name: &str) -> Result<Dim, ShapeError> {
        let d = match self.value(name)? {
            (ArgValue::Int(d), _) => d,
            (_, kind) => return Err(self.wrong_kind(name, kind)),
        };
        self.check_min(name, &d, 1)?;
        Ok(d)
    }

    fn check_min(&self, name: &str, d: &Dim, min: i64) -> Result<(), ShapeError> {
        match d.as_const() {
            Some(v) if v < min && min == 1 => Err(ShapeError::NonPositive {
                op: self.spec.name.to_string(),
                what: format!("argument `{name}`"),
                value: d.clone(),
            }),
            Some(v) if v < min => {
                Err(bad_arg(self.spec.name, name, ArgProblem::OutOfRange { expected: "non-negative" }))
            }
            _ => Ok(()),
        }
    }

    /// Spatial sizes: `n` entries, each at least `min`.
    fn spatial(&self, name: &str, n: usize, min: i64) -> Result<Vec<Dim>, ShapeError> {
        let v = self.ints(name, Some(n))?;
        v.iter().try_for_each(|d| self.check_min(name, d, min))?;
        Ok(v)
    }

    pub(super) fn conv(&self, n: usize) -> Result<Conv, ShapeError> {
        Ok(Conv {
            out_channels: self.positive("out")?,
            kernel: self.spatial("kernel", n, 1)?,
            stride: self.spatial("stride", n, 1)?,
            padding: self.spatial("padding", n, 0)?,
            dilation: self.spatial("dilation", n, 1)?,
            groups: self.positive("groups")?,
            bias: self.bool("bias")?,
        })
    }

    pub(super) fn pool(&self, n: usize) -> Result<Pool, ShapeError> {
        let pool = Pool {
            kernel: self.spatial("kernel", n, 1)?,
            stride: self.spatial("stride", n, 1)?,
            padding: self.spatial("padding", n, 0)?,
        };
        // PyTorch rejects padding beyond half the window: such windows could be all padding.
        let too_much = pool.kernel.iter().zip(&pool.padding).any(|(k, p)| match (k.as_const(), p.as_const()) {
            (Some(k), Some(p)) => 2 * p > k,
            _ => false,
        });
        if too_much {
            return Err(bad_arg(
                self.spec.name,
                "padding",
                ArgProblem::OutOfRange { expected: "at most half of `kernel`" },
            ));
        }
        Ok(pool)
    }
}
