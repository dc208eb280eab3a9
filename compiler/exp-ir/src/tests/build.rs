//! Small builders that play the part of lowering in tests: layers are built from the op table,
//! so parameter shapes, initializers and result shapes are the ones lowering would produce.

use crate::*;
use exp_ops::{LayerOp, ScalarOp, Shape};

/// Parses a shape literal.
pub fn shape(text: &str) -> Shape {
    Shape::parse(text).unwrap()
}

/// `origin(0, 10, 20)` is `@0:10..20`.
pub fn origin(file: u32, start: u32, end: u32) -> Option<Origin> {
    Some(Origin { file, start, end })
}

/// Builds a scalar function instruction by instruction.
pub struct FnBuilder {
    func: ScalarFn,
}

impl FnBuilder {
    /// A function `name(inputs...)`.
    pub fn new(name: &str, inputs: &[&str], origin: Option<Origin>) -> FnBuilder {
        let inputs = inputs.iter().map(|s| s.to_string()).collect();
        FnBuilder { func: ScalarFn { name: name.into(), inputs, body: Vec::new(), outputs: Vec::new(), origin } }
    }

    /// The input called `name`.
    pub fn arg(&self, name: &str) -> Operand {
        Operand::Input(self.func.input_index(name).unwrap())
    }

    fn push(&mut self, op: InstOp, args: Vec<Operand>) -> Operand {
        // Ids count down from a large number so tests show that printing renumbers them.
        let result = ScalarId(1000 - self.func.body.len() as u32);
        self.func.body.push(Inst { result, op, args });
        Operand::Value(result)
    }

    /// `const x`.
    pub fn c(&mut self, x: f64) -> Operand {
        self.push(InstOp::Const(x), Vec::new())
    }

    /// `op args...`.
    pub fn op(&mut self, op: ScalarOp, args: &[Operand]) -> Operand {
        self.push(InstOp::Op(op), args.to_vec())
    }

    /// Adds the output `name = value`.
    pub fn ret(mut self, name: &str, value: Operand) -> FnBuilder {
        self.func.outputs.push(FnOutput { name: name.into(), value });
        self
    }

    /// The finished function.
    pub fn done(self) -> ScalarFn {
        self.func
    }
}

/// Builds the graph, parameters and buffers of a program.
pub struct ModelBuilder {
    /// The graph so far.
    pub graph: Graph,
    /// Parameters of the layers added so far.
    pub params: Vec<Param>,
    /// Buffers of the layers added so far.
    pub buffers: Vec<Param>,
    next: u32,
}

impl ModelBuilder {
    /// An empty model.
    pub fn new() -> ModelBuilder {
        let graph = Graph { inputs: Vec::new(), nodes: Vec::new(), outputs: Vec::new() };
        ModelBuilder { graph, params: Vec::new(), buffers: Vec::new(), next: 7 }
    }

    fn fresh(&mut self) -> ValueId {
        // Sparse ids, so tests show that printing renumbers them.
        self.next += 3;
        ValueId(self.next)
    }

    /// Adds the graph input `%name`.
    pub fn input(&mut self, name: &str, dtype: DType, shape_text: &str) -> ValueId {
        let id = self.fresh();
        let ty = TensorType { dtype, shape: shape(shape_text) };
        self.graph.inputs.push(GraphInput { id, name: name.into(), ty });
        id
    }

    fn ty(&self, id: ValueId) -> TensorType {
        self.graph.type_of(id).unwrap().clone()
    }

    /// Adds a generic node whose result type is `ty`.
    pub fn node(&mut self, op: NodeOp, operands: &[ValueId], ty: TensorType, origin: Option<Origin>) -> ValueId {
        let result = self.fresh();
        self.graph.nodes.push(Node { result, op, operands: operands.to_vec(), ty, origin });
        result
    }

    /// Adds a node with the type of `like`.
    pub fn same(&mut self, op: NodeOp, operands: &[ValueId], like: ValueId, origin: Option<Origin>) -> ValueId {
        let ty = self.ty(like);
        self.node(op, operands, ty, origin)
    }

    /// Adds the layer `op` on `x`, with parameters named `prefix.role` as the op table lays them out.
    pub fn layer(&mut self, prefix: &str, op: LayerOp, x: ValueId, origin: Option<Origin>) -> ValueId {
        let info = op.infer(&self.ty(x).shape).unwrap();
        let mut refs = Vec::new();
        for (specs, buffer) in [(&info.params, false), (&info.buffers, true)] {
            for spec in specs {
                let name = format!("{prefix}.{}", spec.name);
                refs.push(ParamRef { role: spec.name.clone(), name: name.clone() });
                let param =
                    Param { name, shape: spec.shape.clone(), dtype: DType::F32, init: spec.init.clone(), origin };
                if buffer { &mut self.buffers } else { &mut self.params }.push(param);
            }
        }
        let call = LayerCall::from_op(&op, refs).unwrap();
        let ty = TensorType { dtype: DType::F32, shape: info.output };
        self.node(NodeOp::Layer(call), &[x], ty, origin)
    }
}

/// Estimates consistent with the program's parameters and optimizer state, as the verifier
/// checks them; activations and FLOPs are plausible constants.
pub fn estimates(program: &Program, activations: u64, flops_per_step: u64) -> Estimates {
    let size = |ps: &[Param]| -> u64 { ps.iter().map(|p| p.shape.numel().as_const().unwrap() as u64).sum() };
    let param_count = size(&program.params);
    let params = 4 * param_count;
    let buffers = 4 * size(&program.buffers);
    let optimizer_state = params * program.optimizer.state.len() as u64;
    let total = params + buffers + params + optimizer_state + activations;
    let memory = Memory { params, buffers, grads: params, optimizer_state, activations, total };
    Estimates { param_count, memory, flops_per_step }
}

/// Recomputes the estimates after a test mutated the parameters, keeping the other fields.
pub fn fix_estimates(program: &mut Program) {
    let e = program.estimates;
    program.estimates = estimates(program, e.memory.activations, e.flops_per_step);
}
