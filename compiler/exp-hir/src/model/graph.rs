//! The model graph recorded while a model is elaborated.

use std::sync::Arc;

use exp_ops::{Dim, InitSpec, LayerOp, ParamRole, Shape};

use crate::diag::Loc;
use crate::eval::value::TVal;
use crate::scalar::ScalarFnDef;

/// What a node computes.
#[derive(Clone, Debug)]
pub enum NodeOp {
    /// The model input.
    Input,
    /// A layer from the op table, every argument resolved and defaulted.
    Layer(LayerOp),
    /// A scalar function applied elementwise, with its bound hyperparameters.
    Act(ActCall),
    /// Elementwise sum of the inputs (broadcasting).
    Add,
    /// Elementwise product of two inputs.
    Mul,
    /// Multiplication by a constant.
    Scale(f64),
    /// Concatenation along an axis.
    Concat(usize),
}

/// A scalar function applied elementwise: its resolved definition, and the value of each of
/// its parameters after the input (`None` while a block is checked with symbolic arguments).
#[derive(Clone, Debug)]
pub struct ActCall {
    /// The function's name as referenced, for messages.
    pub name: String,
    /// Its resolved definition.
    pub def: Arc<ScalarFnDef>,
    /// The values of the parameters after the first, in order.
    pub args: Vec<Option<f64>>,
    /// Where it was applied.
    pub at: Loc,
}

/// One node of the model graph.
#[derive(Clone, Debug)]
pub struct Node {
    /// What it computes.
    pub op: NodeOp,
    /// Operand nodes.
    pub inputs: Vec<usize>,
    /// Parameters used: (role in the op, full dotted name).
    pub params: Vec<(String, String)>,
    /// Result shape.
    pub shape: Shape,
    /// Whether the result holds integer ids.
    pub ids: bool,
    /// Where in the source it was written.
    pub at: Loc,
}

/// A parameter or buffer of the model.
#[derive(Clone, Debug)]
pub struct ParamRec {
    /// Stable dotted name, e.g. `model.0.weight`.
    pub name: String,
    /// Shape (constant once the experiment is elaborated).
    pub shape: Shape,
    /// The layer's own default initializer.
    pub init: InitSpec,
    /// What it is to its layer, which decides how an experiment's `init` treats it.
    pub role: ParamRole,
    /// The layer that declared it.
    pub at: Loc,
}

/// The graph with its parameters and cost counters.
#[derive(Clone, Debug)]
pub struct Graph {
    /// Nodes in definition order.
    pub nodes: Vec<Node>,
    /// Trainable parameters.
    pub params: Vec<ParamRec>,
    /// Non-trainable buffers.
    pub buffers: Vec<ParamRec>,
    /// FLOPs of one forward pass.
    pub flops: Dim,
    /// Elements saved for backward.
    pub saved: Dim,
    prefix: Vec<String>,
}

impl Default for Graph {
    fn default() -> Self {
        Graph {
            nodes: Vec::new(),
            params: Vec::new(),
            buffers: Vec::new(),
            flops: Dim::constant(0),
            saved: Dim::constant(0),
            prefix: vec!["model".into()],
        }
    }
}

impl Graph {
    /// Adds a node and returns the tensor it produces.
    pub fn push(&mut self, node: Node) -> TVal {
        let t = TVal { node: self.nodes.len(), shape: node.shape.clone(), ids: node.ids };
        self.nodes.push(node);
        t
    }

    /// Enters a naming scope (`model.0`, `model.fs.1`, ...).
    pub fn enter(&mut self, name: &str) {
        self.prefix.push(name.to_string());
    }

    /// Leaves the innermost naming scope.
    pub fn leave(&mut self) {
        self.prefix.pop();
    }

    /// The full dotted name of a parameter in the current scope.
    pub fn full_name(&self, local: &str) -> String {
        let mut parts = self.prefix.clone();
        parts.push(local.to_string());
        parts.join(".")
    }

    /// Registers a parameter; a name seen before is shared if its shape agrees.
    /// Returns the full name, or `Err` with the earlier shape on a conflict.
    pub fn param(&mut self, rec: ParamRec, buffer: bool) -> Result<String, Shape> {
        let list = if buffer { &mut self.buffers } else { &mut self.params };
        if let Some(old) = list.iter().find(|p| p.name == rec.name) {
            return if old.shape == rec.shape { Ok(rec.name) } else { Err(old.shape.clone()) };
        }
        let name = rec.name.clone();
        list.push(rec);
        Ok(name)
    }
}
