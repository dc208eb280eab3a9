//! Argument resolution for [`super::LayerOp::from_args`]: defaults and constraints from the
//! op's registry row, kind checks, and the cross-argument checks of pools.

use super::{Conv, Pool};
use crate::registry::arg::{check_value, ArgDefault, ArgError, ArgKind, ArgMap, ArgProblem, ArgValue, Constraint};
use crate::registry::BuiltinSpec;
use crate::{Dim, ShapeError};

pub(super) fn bad_arg(op: &str, name: &str, problem: ArgProblem) -> ShapeError {
    ShapeError::BadArg(ArgError::new(op, name, problem))
}

/// Looks up arguments of one call, applying the row's defaults and constraints.
pub(super) struct Args<'a> {
    pub(super) spec: &'static BuiltinSpec,
    pub(super) given: &'a ArgMap,
}

impl Args<'_> {
    /// The given or default value of `name`, with its declared kind, checked against the
    /// row's constraint. A positive size below 1 reads "needs a positive argument".
    fn value(&self, name: &str) -> Result<(ArgValue, ArgKind), ShapeError> {
        let spec = self.spec.arg(name).expect("argument names come from the table");
        let value = match (self.given.get(name), spec.default) {
            (Some(v), _) => v.clone(),
            (None, Some(ArgDefault::SameAs(other))) => self.value(other)?.0,
            (None, Some(d)) => ArgValue::of_default(d).expect("not `SameAs`"),
            (None, None) => return Err(bad_arg(self.spec.name, name, ArgProblem::Missing)),
        };
        match check_value(self.spec.name, spec, &value) {
            Err(ArgError { problem: ArgProblem::OutOfRange { .. }, .. }) if spec.constraint == Constraint::POSITIVE => {
                let bad = match &value {
                    ArgValue::Ints(ds) => ds.iter().find(|d| d.as_const().is_some_and(|v| v < 1)).cloned(),
                    ArgValue::Int(d) => Some(d.clone()),
                    _ => None,
                };
                Err(ShapeError::NonPositive {
                    op: self.spec.name.to_string(),
                    what: format!("argument `{name}`"),
                    value: bad.unwrap_or_default(),
                })
            }
            Err(e) => Err(ShapeError::BadArg(e)),
            Ok(()) => Ok((value, spec.kind)),
        }
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

    /// A float; an integer literal is accepted as a float.
    pub(super) fn float(&self, name: &str) -> Result<f64, ShapeError> {
        match self.value(name)? {
            (ArgValue::Float(v), _) => Ok(v),
            (ArgValue::Int(d), kind) => Ok(d.as_const().ok_or_else(|| self.wrong_kind(name, kind))? as f64),
            (_, kind) => Err(self.wrong_kind(name, kind)),
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

    /// An integer (its constraint, usually "positive", is the row's).
    pub(super) fn int(&self, name: &str) -> Result<Dim, ShapeError> {
        match self.value(name)? {
            (ArgValue::Int(d), _) => Ok(d),
            (_, kind) => Err(self.wrong_kind(name, kind)),
        }
    }

    pub(super) fn conv(&self, n: usize) -> Result<Conv, ShapeError> {
        Ok(Conv {
            out_channels: self.int("out")?,
            kernel: self.ints("kernel", Some(n))?,
            stride: self.ints("stride", Some(n))?,
            padding: self.ints("padding", Some(n))?,
            dilation: self.ints("dilation", Some(n))?,
            groups: self.int("groups")?,
            bias: self.bool("bias")?,
        })
    }

    pub(super) fn pool(&self, n: usize) -> Result<Pool, ShapeError> {
        let pool = Pool {
            kernel: self.ints("kernel", Some(n))?,
            stride: self.ints("stride", Some(n))?,
            padding: self.ints("padding", Some(n))?,
        };
        // PyTorch rejects padding beyond half the window: such windows could be all padding.
        let too_much = pool.kernel.iter().zip(&pool.padding).any(|(k, p)| match (k.as_const(), p.as_const()) {
            (Some(k), Some(p)) => 2 * p > k,
            _ => false,
        });
        if too_much {
            return Err(ShapeError::BadArg(ArgError::range(self.spec.name, "padding", "at most half of `kernel`")));
        }
        Ok(pool)
    }
}
