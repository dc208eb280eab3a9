//! The IR of `expc`: one [`Program`] per experiment, fully resolved, as pure data.
//!
//! This crate is the only interface between the compiler and the runtime: lowering produces a
//! [`Program`], the runtime executes it, and neither sees the other's types.
//! It knows nothing about syntax, salsa or Candle, and depends only on `exp_ops` (shapes, the
//! scalar and layer op tables, initializers).
//!
//! - [`types`], [`graph`], [`scalar`], [`value`], [`seed`]: the data.
//! - [`print()`] and [`parse()`]: the deterministic, versioned text form (`expir 1`), the main
//!   regression artifact; print → parse → print is the identity on verified programs.
//! - [`verify()`]: the verifier; its module doc lists every rule.
//! - [`Program::compute_hash`] and [`Program::seal`]: the content hash that names a run.
//! - [`to_json`] and [`from_json`]: the serde form (`expc ir --json`).
//! - [`ScalarFn::eval`]: the reference interpreter for scalar functions, and lookups by name
//!   such as [`Program::function`].
//!
//! Unit tests sit beside each module; the whole-program tests (round trips, one rejected
//! mutation per verifier rule, parser robustness) are in `src/tests/`, built on hand-written
//! programs in `src/tests/fixtures.rs`.

mod builtin;
pub mod derive;
mod eval;
pub mod graph;
mod hash;
pub mod init;
pub mod json;
pub mod names;
pub mod parse;
pub mod print;
pub mod scalar;
pub mod seed;
pub mod types;
pub mod value;
pub mod verify;

#[cfg(test)]
mod tests;

pub use builtin::{arg_map, arg_of_kind, arg_of_value, builtin_args, builtin_of, layer_attrs, layer_of, value_of_arg};
pub use graph::{Graph, GraphInput, LayerCall, Node, NodeOp, ParamRef, ValueId};
pub use hash::HASH_LEN;
pub use json::{from_json, to_json};
pub use parse::{parse, ParseError};
pub use print::print;
pub use scalar::{
    FnOutput, GradClip, Hyper, HyperValue, Inst, InstOp, Operand, Optimizer, ScalarFn, ScalarId, Schedule, StateInit,
    StateSlot, SCHEDULE_INPUTS, UPDATE_INPUTS,
};
pub use seed::{derive_seed, SeedPurpose, Seeds};
pub use types::*;
pub use value::{Number, Unit, Value};
pub use verify::{verify, Rule, VerifyError};
