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
mod overrides;
mod probes;
mod scalar;
pub mod scope;
mod sweep;
mod training;
mod types;
mod unused;
mod value;

pub use builtin::BuiltinOp;
pub use check::{check_item, file_diagnostics};
pub use decls::{decl_info, DeclInfo, ParamInfo};
pub use diag::{absolute, to_diagnostic, HDiag, Loc};
pub use experiment::{elaborate, ConfigEntry, Elaborated, Estimates, FieldDef, Provenance, FIELDS};
pub use graph::{Graph, Node, NodeOp, ParamRec};
pub use items::{file_items, DefKind, ItemDef};
pub use probes::{names_in, ProbeKind, ProbeSpec, StopSpec};
pub use scope::DefRef;
pub use sweep::{axes, Axis};
pub use training::bytes;
pub use types::{Ty, UnitKind};
pub use value::{fmt_float, Applied, ArgOrigin, BlockV, DataV, TVal, Val};
