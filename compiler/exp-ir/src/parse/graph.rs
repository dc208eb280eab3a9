//! Parsing of the `functions` and `graph` sections: the two SSA parts of the text form.
//!
//! Value names map to fresh ids in order of first mention, so a use before its definition
//! parses (the verifier reports it) and printing renumbers the result canonically.

use super::{origin_end, parse_tensor_type, Lines, Res};
use crate::graph::{Graph, GraphInput, LayerCall, Node, NodeOp, ParamRef, ValueId};
use crate::names::{is_ident, is_scalar_value_name};
use crate::parse::cursor::Cursor;
use crate::scalar::{FnOutput, Inst, InstOp, Operand, ScalarFn, ScalarId};
use crate::types::Args;
use crate::value::Value;
use exp_ops::ScalarOp;
use std::collections::HashMap;

/// Fresh ids for names, in order of first mention.
struct Ids<'a> {
    ids: HashMap<&'a str, u32>,
}

impl<'a> Ids<'a> {
    fn new() -> Ids<'a> {
        Ids { ids: HashMap::new() }
    }

    fn get(&mut self, name: &'a str) -> u32 {
        let next = u32::try_from(self.ids.len()).unwrap_or(u32::MAX);
        *self.ids.entry(name).or_insert(next)
    }
}

pub(super) fn parse_functions(lines: &mut Lines<'_>) -> Res<Vec<ScalarFn>> {
    lines.header("functions")?.expect_end()?;
    let mut functions = Vec::new();
    while let Some(mut c) = lines.item() {
        c.keyword("fn")?;
        functions.push(parse_function(lines, c)?);
    }
    Ok(functions)
}

/// Reads `(a, b)`: identifiers in parentheses.
fn ident_list(c: &mut Cursor<'_>) -> Res<Vec<String>> {
    c.expect("(")?;
    let mut names = Vec::new();
    if c.eat(")") {
        return Ok(names);
    }
    loop {
        names.push(c.ident()?.to_string());
        if c.eat(")") {
            return Ok(names);
        }
        c.expect(",")?;
    }
}

fn parse_function<'a>(lines: &mut Lines<'a>, mut c: Cursor<'a>) -> Res<ScalarFn> {
    let name = c.ident()?.to_string();
    let inputs = ident_list(&mut c)?;
    c.expect("->")?;
    let output_names = ident_list(&mut c)?;
    let origin = c.origin()?;
    c.expect("{")?;
    c.expect_end()?;
    let mut func = ScalarFn { name, inputs, body: Vec::new(), outputs: Vec::new(), origin };
    let mut ids = Ids::new();
    loop {
        let mut c = lines.any_line("`return`")?;
        if c.eat_keyword("return") {
            func.outputs = parse_returns(&mut c, &func, &mut ids)?;
            break;
        }
        func.body.push(parse_inst(&mut c, &func, &mut ids)?);
    }
    let names: Vec<&String> = func.outputs.iter().map(|o| &o.name).collect();
    if names != output_names.iter().collect::<Vec<_>>() {
        return Err(c.error(format!("`return` names {names:?} differ from the signature's {output_names:?}")));
    }
    let mut c = lines.any_line("`}`")?;
    c.expect("}")?;
    c.expect_end()?;
    Ok(func)
}

fn parse_inst<'a>(c: &mut Cursor<'a>, func: &ScalarFn, ids: &mut Ids<'a>) -> Res<Inst> {
    let name = c.word()?;
    if !is_scalar_value_name(name) {
        return Err(c.error(format!("expected a value name like `v0` or `return`, found `{name}`")));
    }
    let result = ScalarId(ids.get(name));
    c.expect("=")?;
    let op_name = c.ident()?;
    if op_name == "const" {
        let value = c.f64()?;
        c.expect_end()?;
        return Ok(Inst { result, op: InstOp::Const(value), args: Vec::new() });
    }
    let op = ScalarOp::from_name(op_name).ok_or_else(|| c.error(format!("unknown scalar op `{op_name}`")))?;
    let mut args = Vec::new();
    while !c.at_end() {
        if !args.is_empty() {
            c.expect(",")?;
        }
        args.push(parse_operand(c, func, ids)?);
    }
    Ok(Inst { result, op: InstOp::Op(op), args })
}

fn parse_operand<'a>(c: &mut Cursor<'a>, func: &ScalarFn, ids: &mut Ids<'a>) -> Res<Operand> {
    let name = c.word()?;
    if is_scalar_value_name(name) {
        return Ok(Operand::Value(ScalarId(ids.get(name))));
    }
    func.input_index(name)
        .map(Operand::Input)
        .ok_or_else(|| c.error(format!("`{name}` is not an input of `{}`", func.name)))
}

fn parse_returns<'a>(c: &mut Cursor<'a>, func: &ScalarFn, ids: &mut Ids<'a>) -> Res<Vec<FnOutput>> {
    let mut outputs = Vec::new();
    loop {
        let name = c.ident()?.to_string();
        c.expect("=")?;
        outputs.push(FnOutput { name, value: parse_operand(c, func, ids)? });
        if c.at_end() {
            return Ok(outputs);
        }
        c.expect(",")?;
    }
}

pub(super) fn parse_graph(lines: &mut Lines<'_>) -> Res<Graph> {
    lines.header("graph")?.expect_end()?;
    let mut ids = Ids::new();
    let mut graph = Graph { inputs: Vec::new(), nodes: Vec::new(), outputs: Vec::new() };
    let mut returned = false;
    while let Some(mut c) = lines.item() {
        if returned {
            return Err(c.error("expected the end of the graph after `return`"));
        }
        if c.eat_keyword("input") {
            let name = c.value_ref()?;
            if !is_ident(name) {
                return Err(c.error(format!("input name `%{name}` must be an identifier; numbers are for nodes")));
            }
            c.expect(":")?;
            let ty = parse_tensor_type(&mut c)?;
            c.expect_end()?;
            graph.inputs.push(GraphInput { id: ValueId(ids.get(name)), name: name.to_string(), ty });
        } else if c.eat_keyword("return") {
            while !c.at_end() {
                if !graph.outputs.is_empty() {
                    c.expect(",")?;
                }
                graph.outputs.push(ValueId(ids.get(c.value_ref()?)));
            }
            returned = true;
        } else {
            graph.nodes.push(parse_node(&mut c, &mut ids)?);
        }
    }
    if !returned {
        return Err(lines.peek().map_or_else(
            || lines.eof_error("`return` in the graph"),
            |(n, _)| super::ParseError { line: n, column: 1, message: "expected `return` to end the graph".into() },
        ));
    }
    Ok(graph)
}

/// The operands and `key: value` attributes of a node, then its `{role: param}` references.
struct CallItems {
    operands: Vec<ValueId>,
    attrs: Args,
    params: Vec<ParamRef>,
}

fn parse_node<'a>(c: &mut Cursor<'a>, ids: &mut Ids<'a>) -> Res<Node> {
    let result = ValueId(ids.get(c.value_ref()?));
    c.expect("=")?;
    let op_name = c.ident()?;
    let function = if op_name == "elementwise" {
        c.expect("@")?;
        Some(c.ident()?.to_string())
    } else {
        None
    };
    let items = parse_call_items(c, ids)?;
    c.expect(":")?;
    let ty = parse_tensor_type(c)?;
    let origin = origin_end(c)?;
    let op = node_op(c, op_name, function, items.attrs, items.params)?;
    Ok(Node { result, op, operands: items.operands, ty, origin })
}

fn parse_call_items<'a>(c: &mut Cursor<'a>, ids: &mut Ids<'a>) -> Res<CallItems> {
    let mut items = CallItems { operands: Vec::new(), attrs: Vec::new(), params: Vec::new() };
    c.expect("(")?;
    let mut first = true;
    while !c.eat(")") {
        if !std::mem::take(&mut first) {
            c.expect(",")?;
        }
        if c.peek_is('%') {
            items.operands.push(ValueId(ids.get(c.value_ref()?)));
        } else {
            let key = c.ident()?.to_string();
            c.expect(":")?;
            items.attrs.push((key, c.value()?));
        }
    }
    if c.eat("{") {
        let mut first = true;
        while !c.eat("}") {
            if !std::mem::take(&mut first) {
                c.expect(",")?;
            }
            let role = c.path()?.to_string();
            c.expect(":")?;
            items.params.push(ParamRef { role, name: c.path()?.to_string() });
        }
    }
    Ok(items)
}

/// Builds the node op named `name`; generic ops take exactly their own attribute.
fn node_op(c: &Cursor<'_>, name: &str, function: Option<String>, attrs: Args, params: Vec<ParamRef>) -> Res<NodeOp> {
    let generic = |attr: Option<&str>| -> Res<Option<Value>> {
        let keys: Vec<&str> = attrs.iter().map(|(k, _)| k.as_str()).collect();
        if !params.is_empty() || keys != attr.into_iter().collect::<Vec<_>>() {
            let wanted = attr.map_or("no attributes".to_string(), |a| format!("exactly `{a}`"));
            return Err(c.error(format!("`{name}` takes {wanted} and no parameters")));
        }
        Ok(attrs.first().map(|(_, v)| v.clone()))
    };
    match (name, function) {
        ("add", _) => generic(None).map(|_| NodeOp::Add),
        ("mul", _) => generic(None).map(|_| NodeOp::Mul),
        ("elementwise", Some(function)) => generic(None).map(|_| NodeOp::Elementwise { function }),
        ("concat", _) => match generic(Some("axis"))? {
            Some(Value::Int(axis)) => u32::try_from(axis)
                .map(|axis| NodeOp::Concat { axis })
                .map_err(|_| c.error(format!("concat axis {axis} is out of range"))),
            _ => Err(c.error("concat `axis` must be an integer")),
        },
        ("scale", _) => match generic(Some("factor"))? {
            Some(Value::Float(factor)) => Ok(NodeOp::Scale { factor }),
            _ => Err(c.error("scale `factor` must be a float")),
        },
        _ => match crate::builtin::layer_of(name, &attrs) {
            Ok(op) => Ok(NodeOp::Layer(LayerCall { op, params })),
            Err(e) => Err(c.error(e)),
        },
    }
}
