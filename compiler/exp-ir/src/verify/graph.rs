//! Verifier rules on the model graph: SSA, arity, types, layers and parameter references.

use super::{Cx, Rule};
use crate::graph::{LayerCall, Node, NodeOp, ValueId};
use crate::types::{DType, Param, TensorType};
use exp_ops::{broadcast_add, concat, Shape};
use std::collections::{HashMap, HashSet};

/// The batch symbol, the only symbol graph shapes may mention.
const BATCH: &str = "B";

pub(super) fn check_graph(cx: &mut Cx<'_>) {
    let program = cx.program;
    let graph = &program.graph;
    if graph.inputs.is_empty() || graph.outputs.is_empty() {
        cx.error(Rule::GraphIo, "graph", "the graph needs at least one input and one output", None);
    }
    check_io_types(cx);
    let names = crate::print::graph_names(graph);
    let show = |id: &ValueId| names.get(id).map_or_else(|| format!("%?{}", id.0), |n| format!("%{n}"));
    let mut defined: HashMap<ValueId, &TensorType> = HashMap::new();
    for input in &graph.inputs {
        check_symbols(cx, &format!("graph input %{}", input.name), &input.ty.shape, None);
        if defined.insert(input.id, &input.ty).is_some() {
            cx.error(Rule::SsaRedefined, "graph", format!("`{}` is defined more than once", show(&input.id)), None);
        }
    }
    let mut used = HashSet::new();
    for (i, node) in graph.nodes.iter().enumerate() {
        let at = format!("graph %{i}");
        check_symbols(cx, &at, &node.ty.shape, node.origin);
        let mut operand_types = Vec::new();
        for id in &node.operands {
            match defined.get(id) {
                Some(ty) => operand_types.push(*ty),
                None => {
                    cx.error(Rule::SsaUndefined, &at, format!("uses `{}` before its definition", show(id)), node.origin)
                }
            }
        }
        // Type rules need every operand's type; a missing one was reported just above.
        let types = (operand_types.len() == node.operands.len()).then_some(operand_types.as_slice());
        check_node(cx, &at, node, types, &mut used);
        if defined.insert(node.result, &node.ty).is_some() {
            cx.error(
                Rule::SsaRedefined,
                &at,
                format!("`{}` is defined more than once", show(&node.result)),
                node.origin,
            );
        }
    }
    for id in &graph.outputs {
        if !defined.contains_key(id) {
            cx.error(Rule::SsaUndefined, "graph return", format!("returns undefined `{}`", show(id)), None);
        }
    }
    for p in program.params.iter().chain(&program.buffers) {
        if !used.contains(p.name.as_str()) {
            cx.error(Rule::UnusedParam, format!("param {}", p.name), "no node reads it", p.origin);
        }
    }
}

/// The first input is a batch of data samples, and with cross-entropy on class labels the first
/// output is a batch of class logits.
fn check_io_types(cx: &mut Cx<'_>) {
    let p = cx.program;
    let batch = || exp_ops::Dim::symbol(BATCH);
    if let Some(input) = p.graph.inputs.first() {
        let want = Shape(std::iter::once(batch()).chain(p.data.x_shape.0.iter().cloned()).collect());
        if input.ty.shape != want || input.ty.dtype != p.data.x_dtype {
            let message = format!(
                "input is `{}{}`, but the data gives `{}{want}`",
                input.ty.dtype.name(),
                input.ty.shape,
                p.data.x_dtype.name()
            );
            cx.error(Rule::TypeMismatch, format!("graph input %{}", input.name), message, p.data.origin);
        }
    }
    let output = p.graph.outputs.first().and_then(|id| p.graph.type_of(*id));
    let target = super::builtins::target_kind(&p.data.target);
    if let (Some(out), Some(Ok(want))) = (output, target.map(|t| p.loss.op.expected_output(&t))) {
        if out.shape != want {
            let message =
                format!("`{}` needs outputs `{want}` for the data, the model gives `{}`", p.loss.op.name(), out.shape);
            cx.error(Rule::TypeMismatch, "graph return", message, p.loss.origin);
        }
    }
}

fn check_symbols(cx: &mut Cx<'_>, at: &str, shape: &Shape, origin: Option<crate::Origin>) {
    // Sorted, so the symbol named in the message does not depend on hashing.
    let symbols: std::collections::BTreeSet<String> = shape.0.iter().flat_map(|d| d.symbols()).collect();
    if let Some(other) = symbols.iter().find(|s| s.as_str() != BATCH) {
        cx.error(
            Rule::SymbolUse,
            at,
            format!("shape `{shape}` mentions `{other}`; only `{BATCH}` may stay symbolic"),
            origin,
        );
    }
}

fn check_node<'p>(
    cx: &mut Cx<'p>,
    at: &str,
    node: &'p Node,
    types: Option<&[&TensorType]>,
    used: &mut HashSet<&'p str>,
) {
    let n = node.operands.len();
    let arity_ok = match &node.op {
        NodeOp::Add => n >= 2,
        NodeOp::Mul => n == 2,
        NodeOp::Concat { .. } => n >= 1,
        NodeOp::Scale { .. } | NodeOp::Layer(_) => n == 1,
        NodeOp::Elementwise { function } => match check_elementwise_fn(cx, at, node, function) {
            Some(fits) => fits,
            // An unknown function was reported; its arity and types cannot be judged.
            None => return,
        },
    };
    if !arity_ok {
        cx.error(Rule::NodeArity, at, format!("`{}` cannot take {n} operands", node.op.name()), node.origin);
    }
    if let NodeOp::Layer(call) = &node.op {
        used.extend(call.params.iter().map(|r| r.name.as_str()));
    }
    let Some(types) = types.filter(|_| arity_ok) else {
        return;
    };
    let expected = match &node.op {
        NodeOp::Add => same_dtype(node, types, None).and_then(|_| fold_broadcast(types)),
        NodeOp::Mul | NodeOp::Elementwise { .. } => {
            same_dtype(node, types, Some(DType::F32)).and_then(|_| fold_broadcast(types))
        }
        NodeOp::Scale { .. } => same_dtype(node, types, Some(DType::F32)).map(|_| types[0].shape.clone()),
        NodeOp::Concat { axis } => same_dtype(node, types, None).and_then(|_| {
            let shapes: Vec<Shape> = types.iter().map(|t| t.shape.clone()).collect();
            concat(&shapes, *axis as usize).map_err(|e| e.to_string())
        }),
        NodeOp::Layer(call) => check_layer(cx, at, node, call, &types[0].shape),
    };
    match expected {
        Ok(shape) if shape != node.ty.shape => {
            let message = format!("result shape is `{}`, but the operands give `{shape}`", node.ty.shape);
            cx.error(Rule::TypeMismatch, at, message, node.origin);
        }
        Ok(_) => {}
        Err(message) if message.is_empty() => {}
        Err(message) => cx.error(Rule::TypeMismatch, at, message, node.origin),
    }
}

/// Checks the function of an elementwise node; returns whether the operand count fits it, or
/// `None` when the function does not exist.
fn check_elementwise_fn(cx: &mut Cx<'_>, at: &str, node: &Node, name: &str) -> Option<bool> {
    let Some(func) = cx.program.functions.iter().find(|f| f.name == name) else {
        cx.error(Rule::UnknownFunction, at, format!("no function `@{name}`"), node.origin);
        return None;
    };
    if func.outputs.len() != 1 {
        cx.error(
            Rule::NodeArity,
            at,
            format!("`@{name}` has {} outputs, elementwise needs one", func.outputs.len()),
            node.origin,
        );
    }
    Some(func.inputs.len() == node.operands.len())
}

/// Operands and result share one dtype (`want`, if given).
fn same_dtype(node: &Node, types: &[&TensorType], want: Option<DType>) -> Result<(), String> {
    let want = want.unwrap_or(node.ty.dtype);
    match types.iter().map(|t| t.dtype).chain([node.ty.dtype]).find(|d| *d != want) {
        Some(d) => Err(format!("`{}` mixes dtypes `{}` and `{}`", node.op.name(), d.name(), want.name())),
        None => Ok(()),
    }
}

fn fold_broadcast(types: &[&TensorType]) -> Result<Shape, String> {
    let mut shape = types[0].shape.clone();
    for ty in &types[1..] {
        shape = broadcast_add(&shape, &ty.shape).map_err(|e| e.to_string())?;
    }
    Ok(shape)
}

/// Checks a layer against the op table and returns its inferred output shape.
/// An `Err("")` means the problem was already reported under another rule.
fn check_layer(cx: &mut Cx<'_>, at: &str, node: &Node, call: &LayerCall, input: &Shape) -> Result<Shape, String> {
    let op = &call.op;
    let info = op.infer(input).map_err(|e| e.to_string())?;
    let program = cx.program;
    let expected =
        info.params.iter().map(|s| (s, &program.params)).chain(info.buffers.iter().map(|s| (s, &program.buffers)));
    let expected: Vec<_> = expected.collect();
    for (spec, pool) in &expected {
        let Some(r) = call.params.iter().find(|r| r.role == spec.name) else {
            cx.error(Rule::BadLayer, at, format!("`{}` reads no `{}`", op.name(), spec.name), node.origin);
            continue;
        };
        match find_param(pool, &r.name) {
            Some(p) if p.shape != spec.shape => {
                let message = format!(
                    "`{}` has shape `{}`, `{}` expects `{}` for `{}`",
                    p.name,
                    p.shape,
                    op.name(),
                    spec.shape,
                    r.role
                );
                cx.error(Rule::TypeMismatch, at, message, node.origin);
            }
            Some(_) => {}
            None if find_param(&program.params, &r.name).or(find_param(&program.buffers, &r.name)).is_some() => {
                cx.error(
                    Rule::BadLayer,
                    at,
                    format!("`{}` is in the wrong list for role `{}`", r.name, r.role),
                    node.origin,
                );
            }
            None => cx.error(Rule::UnknownParam, at, format!("no parameter or buffer `{}`", r.name), node.origin),
        }
    }
    for r in call.params.iter().filter(|r| !expected.iter().any(|(s, _)| s.name == r.role)) {
        cx.error(Rule::BadLayer, at, format!("`{}` has no parameter role `{}`", op.name(), r.role), node.origin);
    }
    Ok(info.output)
}

fn find_param<'p>(pool: &'p [Param], name: &str) -> Option<&'p Param> {
    pool.iter().find(|p| p.name == name)
}
