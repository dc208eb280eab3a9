//! The model graph: SSA values with static shapes over a symbolic batch `B`.
//!
//! Value ids are opaque: lowering and passes may allocate them freely.
//! The printer renumbers node results `%0, %1, ...` in definition order and prints inputs by
//! name (`%x`), so the text never depends on how ids were allocated.

use crate::types::{Origin, TensorType};
use exp_ops::LayerOp;
use serde::{Deserialize, Serialize};

/// An SSA value of the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ValueId(pub u32);

/// The model: inputs, nodes in execution order, and outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Graph {
    /// Graph inputs (the batch of samples).
    pub inputs: Vec<GraphInput>,
    /// Nodes in definition (and execution) order.
    pub nodes: Vec<Node>,
    /// Values returned by the model; the first is what the loss consumes.
    pub outputs: Vec<ValueId>,
}

/// A graph input; printed `input %x : f32[B, 784]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphInput {
    /// Its SSA value.
    pub id: ValueId,
    /// Its name, printed as `%name`; must not be all digits, which are reserved for nodes.
    pub name: String,
    /// Its type.
    pub ty: TensorType,
}

/// One operation; printed
/// `%3 = linear(%2, weight: model.fc.weight, bias: model.fc.bias) : f32[B, 128] @0:120..135`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// The value it defines.
    pub result: ValueId,
    /// What it computes.
    pub op: NodeOp,
    /// Its tensor operands, in order.
    pub operands: Vec<ValueId>,
    /// The result's type.
    pub ty: TensorType,
    /// The `.exp` span it came from, so runtime errors point at source.
    pub origin: Option<Origin>,
}

/// The operation of a [`Node`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum NodeOp {
    /// A layer from the op table, e.g. `linear`, `conv2d`, `batch_norm`, `dropout`.
    Layer(LayerCall),
    /// Elementwise sum of operands, with broadcasting; printed `add(%a, %b)`.
    Add,
    /// Elementwise product of exactly two operands, with broadcasting; printed `mul(%a, %b)`.
    Mul,
    /// Concatenation along `axis`; printed `concat(%a, %b, axis: 1)`.
    Concat {
        /// The axis, counted from 0 (the batch axis).
        axis: u32,
    },
    /// Applies a scalar function elementwise, one operand per function input; printed
    /// `elementwise @selu(%a)`.
    Elementwise {
        /// Name of the function in [`crate::Program::functions`].
        function: String,
    },
    /// Multiplies by a constant; printed `scale(%a, factor: 0.5)`.
    Scale {
        /// The constant.
        #[serde(with = "crate::json::float")]
        factor: f64,
    },
}

/// The generic node operations' names, which layer ops therefore may not use.
pub const GENERIC_OPS: [&str; 5] = ["add", "concat", "elementwise", "mul", "scale"];

/// A layer op applied to operands, with the parameters it reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerCall {
    /// The typed op with every argument (stride, padding, rate, ...), defaults filled: the
    /// runtime matches on it directly. Printed as its name and named arguments.
    pub op: LayerOp,
    /// Parameters and buffers the op reads, by role (`weight`, `bias`, `running_mean`).
    pub params: Vec<ParamRef>,
}

/// A reference from a layer to a parameter or buffer; printed `role: dotted.name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamRef {
    /// The role in the op (`weight`, `bias`, ...).
    pub role: String,
    /// The name of a [`crate::Param`] in `params` or `buffers`.
    pub name: String,
}

impl NodeOp {
    /// The op name as printed before the operand list.
    pub fn name(&self) -> &str {
        match self {
            NodeOp::Layer(call) => call.op.name(),
            NodeOp::Add => "add",
            NodeOp::Mul => "mul",
            NodeOp::Concat { .. } => "concat",
            NodeOp::Elementwise { .. } => "elementwise",
            NodeOp::Scale { .. } => "scale",
        }
    }
}

impl Graph {
    /// The type of `id`, if an input or node defines it (the first definition wins).
    pub fn type_of(&self, id: ValueId) -> Option<&TensorType> {
        let input = self.inputs.iter().find(|i| i.id == id).map(|i| &i.ty);
        input.or_else(|| self.nodes.iter().find(|n| n.result == id).map(|n| &n.ty))
    }
}
