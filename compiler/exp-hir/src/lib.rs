//! The semantic model of `.exp` programs: name resolution, types, units and tensor shapes.
//!
//! Everything is computed by salsa queries keyed on per-item entities ([`items::ItemDef`])
//! whose ASTs carry item-relative spans, so an edit inside one item re-checks only that item
//! and the items that use it. Experiments are checked by elaborating them ([`experiment`]):
//! the same walk that finds type, unit and shape errors records the model graph that
//! lowering turns into IR. Diagnostics are returned by queries, never accumulated.
//! Tests live in the workspace's `tests/` crate (`check/`, `incremental`).

mod arith;
pub mod builtin;
mod check;
mod coerce;
mod data;
mod decls;
mod diag;
mod eval;
mod experiment;
mod graph;
mod intrinsics;
// Salsa generates `ItemDef`'s constructor and getters without doc comments.
#[allow(missing_docs)]
pub mod items;
mod model;
pub mod scalar;
pub mod scope;
mod types;
mod unused;
mod value;

pub use builtin::BuiltinOp;
pub use check::{check_item, file_diagnostics, file_diagnostics_except};
pub use decls::{decl_info, DeclInfo, ParamInfo};
pub use diag::{absolute, to_diagnostic, HDiag, Loc};
pub use experiment::probes::{ProbeKind, ProbeSpec, StopSpec};
pub use experiment::record::{
    Cmp, DataRecord, Every, Experiment, HyperArg, Located, Measure, OptimizerCall, ProbeRecord, ScheduleCall, StopCond,
    StopRecord,
};
pub use experiment::sweep::{axes, Axis};
pub use experiment::training::bytes;
pub use experiment::{
    elaborate, elaborated, elaborated_with, ConfigEntry, ConfigValue, Elaborated, Estimates, FieldDef, Overrides,
    Provenance, FIELDS,
};
pub use graph::{ActCall, Graph, Node, NodeOp, ParamRec};
pub use items::{file_items, DefKind, ItemDef};
pub use scalar::{OptimizerDef, RuleStmt, SExpr, ScalarFnDef, StateStart};
pub use scope::names_in;
pub use scope::DefRef;
pub use types::{Ty, UnitKind};
pub use value::{fmt_float, Applied, ArgOrigin, BlockV, DataV, TVal, Val};
