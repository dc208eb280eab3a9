//! The semantic model of `.exp` programs: name resolution, types, units and tensor shapes.
//!
//! Everything is computed by salsa queries keyed on per-item entities ([`items::ItemDef`])
//! whose ASTs carry item-relative spans, so an edit inside one item re-checks only that item
//! and the items that use it. Experiments are checked by elaborating them (`experiment`):
//! the same walk that finds type, unit and shape errors records the model graph that
//! lowering turns into IR. Diagnostics are returned by queries, never accumulated.
//!
//! The modules by role: `types` (the types and units of the language), `names` (items,
//! scopes, imports, declaration signatures), [`scalar`] (scalar code checked and resolved into
//! trees for lowering), `eval` (expressions to typed values: arithmetic, coercions,
//! intrinsics), `model` (blocks applied to shapes, builtin calls, data values, the recorded
//! graph) and `experiment` (elaboration, probes, sweeps, training estimates, and the typed
//! record lowering reads); `check` and `diag` tie them to diagnostics. Each uses only those
//! before it, except that `eval` and `model` call each other (applying a block infers shapes,
//! and inferring shapes evaluates the block's body) and that `model` asks `check` whether a
//! block already reported its own error. Tests live in the workspace's `tests/` crate
//! (`check/`, `incremental`).

mod check;
mod diag;
mod eval;
mod experiment;
mod model;
mod names;
pub mod scalar;
mod types;

pub use model::builtin;
pub use names::{items, scope};

pub use check::{check_item, file_diagnostics, file_diagnostics_except};
pub use diag::{absolute, to_diagnostic, HDiag, Loc};
pub use eval::value::{fmt_float, Applied, ArgOrigin, BlockV, DataV, TVal, Val};
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
pub use model::builtin::BuiltinOp;
pub use model::graph::{ActCall, Graph, Node, NodeOp, ParamRec};
pub use names::decls::{decl_info, DeclInfo, ParamInfo};
pub use names::items::{file_items, DefKind, ItemDef};
pub use names::scope::names_in;
pub use names::scope::DefRef;
pub use scalar::{OptimizerDef, RuleStmt, SExpr, ScalarFnDef, StateStart};
pub use types::{Ty, UnitKind};
