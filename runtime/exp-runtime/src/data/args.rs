//! Typed access to the arguments of a data source or transform in the IR.
//!
//! Lowering fills every default, so a missing argument means the IR and the runtime disagree
//! on the source's signature; the `_or` getters still fall back for sources the stdlib does
//! not declare yet. Errors carry no origin: [`super::load`] attaches the data declaration's.

use crate::error::{Result, RunError};
use exp_ir::{Args as IrArgs, Value};

/// The arguments of the source (or transform) named `source`.
pub(super) struct Args<'a> {
    pub(super) source: &'a str,
    pub(super) args: &'a IrArgs,
}

impl Args<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        self.args.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    fn need(&self, name: &str) -> Result<&Value> {
        self.get(name).ok_or_else(|| RunError::new(format!("`{}` is missing its argument `{name}`", self.source)))
    }

    fn wrong(&self, name: &str, want: &str, v: &Value) -> RunError {
        RunError::new(format!("argument `{name}` of `{}` must be {want}, found `{v}`", self.source))
    }

    /// An integer argument.
    pub(super) fn int(&self, name: &str) -> Result<i64> {
        match self.need(name)? {
            Value::Int(i) => Ok(*i),
            v => Err(self.wrong(name, "an integer", v)),
        }
    }

    /// An integer argument, or `default` when absent.
    pub(super) fn int_or(&self, name: &str, default: i64) -> Result<i64> {
        if self.get(name).is_none() {
            return Ok(default);
        }
        self.int(name)
    }

    /// An integer argument that is a count of at least `min`.
    pub(super) fn count(&self, name: &str, min: usize) -> Result<usize> {
        let v = self.int(name)?;
        match usize::try_from(v) {
            Ok(c) if c >= min => Ok(c),
            _ => {
                Err(RunError::new(format!("argument `{name}` of `{}` must be at least {min}, found {v}", self.source)))
            }
        }
    }

    /// A float argument (an integer is accepted and converted).
    pub(super) fn float(&self, name: &str) -> Result<f64> {
        match self.need(name)? {
            Value::Float(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            v => Err(self.wrong(name, "a number", v)),
        }
    }

    /// A float argument, or `default` when absent.
    pub(super) fn float_or(&self, name: &str, default: f64) -> Result<f64> {
        if self.get(name).is_none() {
            return Ok(default);
        }
        self.float(name)
    }

    /// A string argument.
    pub(super) fn string(&self, name: &str) -> Result<String> {
        match self.need(name)? {
            Value::Str(s) => Ok(s.clone()),
            v => Err(self.wrong(name, "a string", v)),
        }
    }

    /// A string argument, or `default` when absent.
    pub(super) fn string_or(&self, name: &str, default: &str) -> Result<String> {
        if self.get(name).is_none() {
            return Ok(default.to_string());
        }
        self.string(name)
    }

    /// A boolean argument, or `default` when absent.
    pub(super) fn bool_or(&self, name: &str, default: bool) -> Result<bool> {
        match self.get(name) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(self.wrong(name, "`true` or `false`", v)),
        }
    }

    /// A shape argument: a list (or tuple) of positive integers.
    pub(super) fn shape(&self, name: &str) -> Result<Vec<usize>> {
        let v = self.need(name)?;
        let items = match v {
            Value::List(items) | Value::Tuple(items) => items,
            _ => return Err(self.wrong(name, "a list of sizes like `[1, 28, 28]`", v)),
        };
        items
            .iter()
            .map(|d| match d {
                Value::Int(i) if *i > 0 => Ok(*i as usize),
                _ => Err(self.wrong(name, "a list of positive sizes", v)),
            })
            .collect()
    }
}
