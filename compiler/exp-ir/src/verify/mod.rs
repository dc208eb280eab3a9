//! The IR verifier: checks the invariants that lowering and every IR pass must keep.
//!
//! It runs after lowering and after every pass in debug builds and tests, and reports every
//! violation it finds (not just the first), each tagged with its [`Rule`].
//! The rules, by code:
//!
//! - `malformed-name`: every name the text form prints bare is in its lexical class
//!   (identifiers; dotted paths for config paths, parameters and parameter roles),
//!   scalar-function inputs are not named like values (`v3`), layer ops do not take a generic
//!   op's name; so a verified program prints text that parses back.
//! - `duplicate-name`: names are unique among params and buffers together, functions, schedules,
//!   probes, graph inputs, hyperparameters and state slots together, and the inputs and the
//!   outputs of each function.
//! - `config-order`: config entries are sorted by path, strictly (hence unique), so a lowering
//!   that iterates a hash map cannot change the text.
//! - `seed-mismatch`: every derived seed equals `derive_seed(base, purpose)`.
//! - `origin-range`: every origin names an existing file and has `start <= end`.
//! - `ssa-redefined`: each graph value and each scalar value is defined once.
//! - `ssa-undefined`: each use of a graph or scalar value (operands, outputs) comes after its
//!   definition; scalar input references are in range.
//! - `graph-io`: the graph has at least one input and at least one output.
//! - `node-arity`: `add` has at least two operands, `mul` exactly two, `concat` at least one,
//!   `scale` and layers exactly one, `elementwise` one per input of its function, which has exactly one output.
//! - `type-mismatch`: result types agree with operands where checkable: `add` broadcasts
//!   with one dtype, `mul` broadcasts with one float dtype, `concat` matches non-axis dims and
//!   sums the axis with one dtype, `scale` and `elementwise` keep the (broadcast) shape with one
//!   float dtype; a layer's result shape is what the op table
//!   infers, and each parameter it reads has the shape the op table expects for its role;
//!   the first graph input is `[B] ++ data.x_shape` of the data's dtype, and the first output
//!   has the shape the loss needs for the data's target (`[B, n]` logits for cross-entropy on
//!   `n` classes); the data's sample shape, input type and target are the source's schema;
//!   the loss and every built-in probe accept the data's target.
//! - `bad-layer`: a layer reads exactly the parameters and buffers the op table lists for it.
//! - `bad-builtin`: every typed builtin (layer ops, the loss, the data source and transforms,
//!   built-in probes and metrics) rebuilds from its own arguments through the registry, so
//!   every argument meets its constraint (a program read from JSON is built without that
//!   check).
//! - `unknown-param`: every parameter reference names a param or buffer.
//! - `unused-param`: every param and buffer is read by at least one node.
//! - `unknown-function`: elementwise nodes, schedules, the update rule and derived probes name
//!   existing functions.
//! - `scalar-arity`: each instruction has as many operands as its op's arity (`const`: none).
//! - `fn-outputs`: each function has at least one output.
//! - `update-rule`: the update rule reads only `p`, `g`, `t`, `noise`, hyperparameters and state
//!   slots, and writes exactly `p` and every state slot.
//! - `schedule-fn`: a schedule's function reads only `step`, `epoch`, `progress` and
//!   `total_steps`, and has one output.
//! - `unknown-schedule`: hyperparameters name existing schedules.
//! - `unknown-probe`: stop rules name existing probes; derived probes name probes declared
//!   before them (so derived probes cannot form cycles).
//! - `derived-probe`: a derived probe passes one probe per input to a one-output function.
//! - `unknown-split`: the data has a `train` split and lists the source's splits, and each
//!   probe's split is one of the data's.
//! - `non-positive`: batch, eval batch, the training length's count, total steps and steps per
//!   epoch (where known), class count, probe frequencies and stop-rule counts are positive, and
//!   clipping thresholds are positive.
//! - `train-length`: the step counts agree with the declared length: a length of `n steps` has
//!   `total_steps` `n`; a length of `e epochs` with a known `steps_per_epoch` `s` has
//!   `total_steps` `e * s`, and with an unknown one (`-`, read from the data) is not judged.
//!   Counts already reported as `non-positive` are not judged again.
//! - `symbol-use`: parameter, buffer and data shapes and initializer fans are non-negative
//!   constants; graph shapes mention no symbol but the batch `B`.
//! - `estimate-mismatch`: `param_count` is the sum of parameter sizes and `memory.total` the
//!   sum of the memory categories.
//! - `hash-mismatch`: the stored hash equals [`Program::compute_hash`] (an unsealed program
//!   fails this rule).

mod builtins;
mod graph;
mod plan;
mod scalar;

use crate::types::{Origin, Program};
use std::collections::HashSet;
use std::fmt;

/// A verifier rule; see the module doc for what each checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// `malformed-name`.
    MalformedName,
    /// `duplicate-name`.
    DuplicateName,
    /// `config-order`.
    ConfigOrder,
    /// `seed-mismatch`.
    SeedMismatch,
    /// `origin-range`.
    OriginRange,
    /// `ssa-redefined`.
    SsaRedefined,
    /// `ssa-undefined`.
    SsaUndefined,
    /// `graph-io`.
    GraphIo,
    /// `node-arity`.
    NodeArity,
    /// `type-mismatch`.
    TypeMismatch,
    /// `bad-layer`.
    BadLayer,
    /// `bad-builtin`.
    BadBuiltin,
    /// `unknown-param`.
    UnknownParam,
    /// `unused-param`.
    UnusedParam,
    /// `unknown-function`.
    UnknownFunction,
    /// `scalar-arity`.
    ScalarArity,
    /// `fn-outputs`.
    FnOutputs,
    /// `update-rule`.
    UpdateRule,
    /// `schedule-fn`.
    ScheduleFn,
    /// `unknown-schedule`.
    UnknownSchedule,
    /// `unknown-probe`.
    UnknownProbe,
    /// `derived-probe`.
    DerivedProbe,
    /// `unknown-split`.
    UnknownSplit,
    /// `non-positive`.
    NonPositive,
    /// `train-length`.
    TrainLength,
    /// `symbol-use`.
    SymbolUse,
    /// `estimate-mismatch`.
    EstimateMismatch,
    /// `hash-mismatch`.
    HashMismatch,
}

impl Rule {
    /// The rule's kebab-case code, as listed in the module doc.
    pub fn code(self) -> &'static str {
        match self {
            Rule::MalformedName => "malformed-name",
            Rule::DuplicateName => "duplicate-name",
            Rule::ConfigOrder => "config-order",
            Rule::SeedMismatch => "seed-mismatch",
            Rule::OriginRange => "origin-range",
            Rule::SsaRedefined => "ssa-redefined",
            Rule::SsaUndefined => "ssa-undefined",
            Rule::GraphIo => "graph-io",
            Rule::NodeArity => "node-arity",
            Rule::TypeMismatch => "type-mismatch",
            Rule::BadLayer => "bad-layer",
            Rule::BadBuiltin => "bad-builtin",
            Rule::UnknownParam => "unknown-param",
            Rule::UnusedParam => "unused-param",
            Rule::UnknownFunction => "unknown-function",
            Rule::ScalarArity => "scalar-arity",
            Rule::FnOutputs => "fn-outputs",
            Rule::UpdateRule => "update-rule",
            Rule::ScheduleFn => "schedule-fn",
            Rule::UnknownSchedule => "unknown-schedule",
            Rule::UnknownProbe => "unknown-probe",
            Rule::DerivedProbe => "derived-probe",
            Rule::UnknownSplit => "unknown-split",
            Rule::NonPositive => "non-positive",
            Rule::TrainLength => "train-length",
            Rule::SymbolUse => "symbol-use",
            Rule::EstimateMismatch => "estimate-mismatch",
            Rule::HashMismatch => "hash-mismatch",
        }
    }
}

/// One violated invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    /// The rule violated.
    pub rule: Rule,
    /// Where in the IR, e.g. `graph %3`, `fn adamw`, `param model.fc.weight`.
    pub location: String,
    /// What is wrong.
    pub message: String,
    /// The `.exp` span of the offending item, when it has one.
    pub origin: Option<Origin>,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}: {}", self.rule.code(), self.location, self.message)
    }
}

impl std::error::Error for VerifyError {}

/// Checks every rule of the module doc; returns all violations, in a deterministic order.
pub fn verify(program: &Program) -> Result<(), Vec<VerifyError>> {
    let mut cx = Cx { program, errors: Vec::new() };
    plan::check_names(&mut cx);
    plan::check_header(&mut cx);
    graph::check_graph(&mut cx);
    scalar::check_functions(&mut cx);
    scalar::check_optimizer(&mut cx);
    plan::check_data_and_params(&mut cx);
    builtins::check_builtins(&mut cx);
    plan::check_train(&mut cx);
    plan::check_estimates(&mut cx);
    let hash = program.compute_hash();
    if program.hash != hash {
        let message = format!("stored hash `{}` differs from the content hash `{hash}`", program.hash);
        cx.error(Rule::HashMismatch, "header", message, None);
    }
    if cx.errors.is_empty() {
        Ok(())
    } else {
        Err(cx.errors)
    }
}

/// The verification context: the program and the errors found so far.
struct Cx<'a> {
    program: &'a Program,
    errors: Vec<VerifyError>,
}

impl Cx<'_> {
    fn error(&mut self, rule: Rule, location: impl Into<String>, message: impl Into<String>, origin: Option<Origin>) {
        self.errors.push(VerifyError { rule, location: location.into(), message: message.into(), origin });
    }

    /// Reports each name of `names` seen before, as a `duplicate-name` in `what`.
    fn unique<'n>(&mut self, what: &str, names: impl IntoIterator<Item = &'n str>) {
        let mut seen = HashSet::new();
        for name in names {
            if !seen.insert(name) {
                self.error(Rule::DuplicateName, what, format!("`{name}` is defined more than once"), None);
            }
        }
    }
}
