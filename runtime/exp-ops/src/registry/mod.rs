//! The registry: one typed table row for every builtin the standard library declares with
//! `= builtin`, of every kind (layers, scalar primitives, initializers, losses, probes,
//! metrics, data sources, transforms).
//!
//! A row ([`BuiltinSpec`]) holds the language name, the arguments with their kinds, defaults
//! and value constraints, and (for probes and metrics) the kind of value it returns. Every
//! kind except layers and scalar primitives also has a typed enum built by the
//! [`builtins!`](crate::builtins) macro from the same rows ([`Loss`], [`Probe`], [`Metric`],
//! [`DataSource`], [`Transform`], [`Initializer`]): the checker builds the typed value from
//! a call's arguments (checking kinds and constraints), the IR carries it, and the runtime
//! matches it exhaustively. Each kind's semantic hook sits beside its rows: a loss's target
//! rule ([`Loss::expected_output`]), a data source's schema ([`DataSource::schema`]), a
//! probe's inputs ([`Probe::needs_classes`]), an initializer's fan rule
//! ([`Initializer::param_init`]).
//!
//! The checker compares every `= builtin` declaration of the standard library with its row
//! (`builtin-mismatch` when they disagree), so the two cannot drift apart. Names are unique
//! across the whole registry (tested), so [`lookup`] needs no kind.
//!
//! To add a builtin of a kind with a typed enum: add its row (and its hook's match arm) to
//! the kind's file here, its kernel to the runtime's exhaustive match, and its declaration to
//! `stdlib/`; `compiler/ARCHITECTURE.md` lists the files for each kind.

pub mod arg;
mod data;
mod init;
mod loss;
mod macros;
mod probe;
mod scalar;

#[cfg(test)]
mod tests;

use std::fmt::Debug;

pub use arg::{ArgDefault, ArgError, ArgKind, ArgMap, ArgProblem, ArgSpec, ArgType, ArgValue, Choice, Constraint};
pub use data::{DataSource, ModularOp, Schema, TargetKind, Transform, TransformError};
pub use init::{FanMode, Initializer, ParamRole};
pub use loss::{Loss, LossTargetError};
pub use probe::{MeasureError, Metric, Probe};
pub use scalar::ScalarFn;

/// The kinds of builtins, each declared in the standard library with its own keyword.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum BuiltinKind {
    /// A layer op (`block linear(...) = builtin`).
    Layer,
    /// A scalar primitive (`fn exp(x) = builtin`).
    ScalarFn,
    /// A parameter initializer (`fn orthogonal(...) = builtin`), chosen with `init = ...`.
    Initializer,
    /// A training loss (`loss cross_entropy(...) = builtin`).
    Loss,
    /// A probe (`probe accuracy(on: Split): Float = builtin`).
    Probe,
    /// A metric (`metric top_k(...): Float = builtin`).
    Metric,
    /// A data source (`data modular(...) = builtin`).
    DataSource,
    /// A data transform (`data scale(factor: Float) = builtin`), applied with `>>`.
    Transform,
}

impl BuiltinKind {
    /// Every kind.
    pub const ALL: [BuiltinKind; 8] = [
        BuiltinKind::Layer,
        BuiltinKind::ScalarFn,
        BuiltinKind::Initializer,
        BuiltinKind::Loss,
        BuiltinKind::Probe,
        BuiltinKind::Metric,
        BuiltinKind::DataSource,
        BuiltinKind::Transform,
    ];

    /// The keyword of the standard-library declaration (`block`, `fn`, `data`, ...).
    pub fn keyword(self) -> &'static str {
        match self {
            BuiltinKind::Layer => "block",
            BuiltinKind::ScalarFn | BuiltinKind::Initializer => "fn",
            BuiltinKind::Loss => "loss",
            BuiltinKind::Probe => "probe",
            BuiltinKind::Metric => "metric",
            BuiltinKind::DataSource | BuiltinKind::Transform => "data",
        }
    }

    /// What one builtin of this kind is called in messages.
    pub fn noun(self) -> &'static str {
        match self {
            BuiltinKind::Layer => "layer",
            BuiltinKind::ScalarFn => "scalar primitive",
            BuiltinKind::Initializer => "initializer",
            BuiltinKind::Loss => "loss",
            BuiltinKind::Probe => "probe",
            BuiltinKind::Metric => "metric",
            BuiltinKind::DataSource => "data source",
            BuiltinKind::Transform => "data transform",
        }
    }
}

/// One row of the registry.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct BuiltinSpec {
    /// The language name (`cross_entropy`).
    pub name: &'static str,
    /// Its kind.
    pub kind: BuiltinKind,
    /// What it computes, for docs and hover.
    pub doc: &'static str,
    /// The arguments, in positional order.
    pub args: &'static [ArgSpec],
    /// The kind of value a probe or metric returns; `None` for other kinds.
    pub returns: Option<ArgKind>,
}

impl BuiltinSpec {
    /// The argument `name`.
    pub fn arg(&self, name: &str) -> Option<&'static ArgSpec> {
        self.args.iter().find(|a| a.name == name)
    }
}

/// A typed builtin of one kind: an enum with one variant per row, built from a call's named
/// arguments (defaults filled, kinds and constraints checked) and turned back into them.
pub trait Builtin: Sized + Clone + PartialEq + Debug {
    /// The kind of every row.
    const KIND: BuiltinKind;
    /// The rows, in declaration order.
    fn specs() -> &'static [BuiltinSpec];
    /// The language name of this value's row.
    fn name(&self) -> &'static str;
    /// Builds the value of row `name` from named arguments.
    fn from_args(name: &str, given: &ArgMap) -> Result<Self, ArgError>;
    /// Every argument, defaults included, in the row's order: `from_args(name(), to_args())`
    /// gives back the same value.
    fn to_args(&self) -> Vec<(&'static str, ArgValue)>;
}

/// Cross-argument checks of a typed builtin (`low < high`), run after every argument has
/// met its own constraint. The default accepts everything.
pub trait Validate {
    /// Checks the value as a whole.
    fn validate(&self) -> Result<(), ArgError> {
        Ok(())
    }
}

/// Every row of the registry, kind by kind.
pub fn builtins() -> Vec<BuiltinSpec> {
    let mut out: Vec<BuiltinSpec> = crate::layer::layer_ops().to_vec();
    out.extend(ScalarFn::specs());
    out.extend_from_slice(Initializer::specs());
    out.extend_from_slice(Loss::specs());
    out.extend_from_slice(Probe::specs());
    out.extend_from_slice(Metric::specs());
    out.extend_from_slice(DataSource::specs());
    out.extend_from_slice(Transform::specs());
    out
}

/// The row named `name`, of whatever kind.
pub fn lookup(name: &str) -> Option<BuiltinSpec> {
    builtins().into_iter().find(|s| s.name == name)
}

/// The rows of one kind.
pub fn of_kind(kind: BuiltinKind) -> Vec<BuiltinSpec> {
    builtins().into_iter().filter(|s| s.kind == kind).collect()
}
