//! Scalar functions (the input of the JIT), and the optimizer and schedules built from them.
//!
//! A scalar function is an SSA program over `ScalarOp`s from the op table (which include
//! `select`) plus `const`, with named inputs and one or more named outputs.
//! All scalar values have the runtime's float type; booleans are `0.0` and `1.0`, as the op
//! table defines them.
//! Randomness enters only through inputs: an update rule that adds gradient noise reads a
//! standard normal sample from its input named `noise`, which the runtime draws per element from
//! the `noise` seed, so functions themselves stay pure and differentiable.

use crate::types::Origin;
use exp_ops::ScalarOp;
use serde::{Deserialize, Serialize};

/// Inputs an optimizer update rule may read besides its hyperparameters and state slots:
/// the parameter `p`, its gradient `g`, the step `t` (counted from 1) and a standard normal
/// sample `noise`.
pub const UPDATE_INPUTS: [&str; 4] = ["p", "g", "t", "noise"];

/// Inputs a schedule function may read: the step (from 0), the epoch (from 0), the fraction of
/// training done in `[0, 1]`, and the total number of steps.
pub const SCHEDULE_INPUTS: [&str; 4] = ["step", "epoch", "progress", "total_steps"];

/// An SSA value inside a scalar function, printed `v0, v1, ...` after renumbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ScalarId(pub u32);

/// An elementwise function of scalars; printed `fn name(a, b) -> (y) @origin { ... }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalarFn {
    /// Unique name, referred to as `@name`.
    pub name: String,
    /// Input names, bound by position.
    pub inputs: Vec<String>,
    /// Instructions in definition order.
    pub body: Vec<Inst>,
    /// Named results, printed `return y = v3`.
    pub outputs: Vec<FnOutput>,
    /// The declaration it was lowered from.
    pub origin: Option<Origin>,
}

/// One instruction; printed `v2 = mul v0, x`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inst {
    /// The value it defines.
    pub result: ScalarId,
    /// What it computes.
    pub op: InstOp,
    /// Its operands; empty for `const`, as many as the op's arity otherwise.
    pub args: Vec<Operand>,
}

/// The operation of an [`Inst`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum InstOp {
    /// A constant; printed `const 1.5`.
    Const(#[serde(with = "crate::json::float")] f64),
    /// An op from the op table, printed by its name.
    Op(ScalarOp),
}

impl InstOp {
    /// How many operands the op takes.
    pub fn arity(&self) -> usize {
        match self {
            InstOp::Const(_) => 0,
            InstOp::Op(op) => op.arity(),
        }
    }
}

/// An operand of an instruction or output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Operand {
    /// The function input at this position, printed by its name.
    Input(u32),
    /// A value defined by an instruction.
    Value(ScalarId),
}

/// A named result of a scalar function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FnOutput {
    /// Its name; for an update rule, `p` or a state slot.
    pub name: String,
    /// The value returned.
    pub value: Operand,
}

/// The optimizer: hyperparameters, per-parameter state, and the update rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Optimizer {
    /// The declaration's name (`adamw`), for display.
    pub name: String,
    /// Hyperparameters, each a constant or a schedule.
    pub hypers: Vec<Hyper>,
    /// State slots, one tensor per parameter each.
    pub state: Vec<StateSlot>,
    /// Name of the update rule in [`crate::Program::functions`]; its inputs are drawn from
    /// [`UPDATE_INPUTS`], hyperparameters and state slots, and its outputs are `p` and every
    /// state slot.
    pub update: String,
    /// Gradient clipping applied before the update.
    pub clip: GradClip,
    /// Where the optimizer was chosen.
    pub origin: Option<Origin>,
}

/// A hyperparameter; printed `hyper lr = 0.001` or `hyper lr = schedule warmup`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hyper {
    /// The update-rule input it binds.
    pub name: String,
    /// Its value.
    pub value: HyperValue,
}

/// The value of a hyperparameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum HyperValue {
    /// A constant.
    Const(#[serde(with = "crate::json::float")] f64),
    /// The named schedule, evaluated every step.
    Schedule(String),
}

/// A state slot; printed `state m = zeros`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateSlot {
    /// Its name, an input and an output of the update rule.
    pub name: String,
    /// Its value before the first step.
    pub init: StateInit,
}

/// The initial value of a state slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StateInit {
    /// All zeros; printed `zeros`.
    Zeros,
    /// A constant everywhere; printed `const 1.0`.
    Const(#[serde(with = "crate::json::float")] f64),
    /// The first gradient (so the slot is initialized at step 1); printed `copy g`.
    CopyGrad,
    /// The initial parameter; printed `copy p`.
    CopyParam,
}

/// Gradient clipping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum GradClip {
    /// No clipping; printed `clip none`.
    None,
    /// Rescale all gradients so their global L2 norm is at most this; printed `clip norm 1.0`.
    Norm(#[serde(with = "crate::json::float")] f64),
    /// Clamp each gradient element to `[-c, c]`; printed `clip value 0.5`.
    Value(#[serde(with = "crate::json::float")] f64),
}

/// A schedule; printed `schedule warmup = @warmup_fn`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Its name, referred to by hyperparameters.
    pub name: String,
    /// The scalar function computing it: inputs from [`SCHEDULE_INPUTS`], one output.
    pub function: String,
    /// Where it was declared.
    pub origin: Option<Origin>,
}

impl ScalarFn {
    /// The position of the input called `name`.
    pub fn input_index(&self, name: &str) -> Option<u32> {
        self.inputs.iter().position(|i| i == name).and_then(|i| u32::try_from(i).ok())
    }
}
