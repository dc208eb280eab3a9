//! The op table shared by the checker, the IR, the runtime, the JIT and the docs, plus
//! the symbolic shape arithmetic they all use.
//!
//! - [`Dim`] and [`Shape`]: sizes as integer expressions over named symbols, in a canonical
//!   form so that equal sizes compare equal (`dim/`, `shape.rs`).
//! - [`ScalarOp`]: elementwise primitives with their evaluation and derivative rules, used
//!   by scalar `fn`s, optimizer update rules and schedules (`scalar.rs`).
//! - [`LayerOp`] and [`layer_ops`]: tensor primitives with parameters, their arguments,
//!   shape inference, parameter layouts, initializers and cost estimates (`layer/`).
//! - [`registry`]: one typed row for every builtin of every kind (layers, scalar primitives,
//!   initializers, losses, probes, metrics, data sources, transforms), with argument kinds,
//!   defaults and constraints, the typed enums built from those rows, and each kind's
//!   semantic hook (`registry/`).
//!
//! This crate is a leaf shared by both halves of the compiler, so it holds plain data
//! only: no Candle, cranelift, salsa or syntax types. Errors are data ([`ShapeError`]);
//! spans and diagnostic codes are added by the checker. Unit tests sit beside each module.

mod dim;
mod error;
mod layer;
pub mod registry;
mod scalar;
mod shape;

pub use dim::Dim;
pub use error::{Rank, ReshapeProblem, ShapeError};
pub use layer::{infer, layer_op, layer_ops, Conv, Distribution, InitSpec, LayerInfo, LayerOp, ParamSpec, Pool};
pub use registry::{
    builtins, lookup, ArgDefault, ArgError, ArgKind, ArgMap, ArgProblem, ArgSpec, ArgType, ArgValue, Builtin,
    BuiltinKind, BuiltinSpec, Choice, Constraint, DataSource, FanMode, Initializer, Loss, LossTargetError,
    MeasureError, Metric, ModularOp, ParamRole, Probe, ScalarFn, Schema, TargetKind, Transform, TransformError,
    Validate,
};
pub use scalar::{DExpr, ScalarOp};
pub use shape::{broadcast_add, concat, Shape};
