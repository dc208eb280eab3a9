//! The evaluator's own combinators: `sum`, `fold`, `concat` and `len`.
//!
//! They take lists of blocks or tensors and lambdas, which no declaration in the language
//! can type, so they are part of the evaluator rather than builtins in the standard library.

use exp_diagnostics::Code;
use exp_ops::Dim;
use exp_syntax::ast::Arg;
use exp_syntax::Span;

use crate::diag::HDiag;
use crate::eval::value::{TVal, Val};
use crate::eval::Cx;
use crate::model::graph::{Node, NodeOp};

/// Calls intrinsic `name`.
pub fn call(cx: &mut Cx<'_>, name: &str, span: Span, args: &[Arg]) -> Val {
    let vals: Vec<Val> = args.iter().map(|a| cx.eval(&a.value)).collect();
    if vals.iter().any(|v| matches!(v, Val::Unknown)) {
        return Val::Unknown;
    }
    let want = match name {
        "sum" | "len" => 1,
        "fold" => 3,
        _ => 2,
    };
    if vals.len() != want && !(name == "concat" && vals.len() == 1) {
        return cx.error(HDiag::new(
            Code::WrongArity,
            format!("`{name}` takes {want} argument(s), found {}", vals.len()),
            cx.loc(span),
            "called here",
        ));
    }
    match name {
        "len" => match &vals[0] {
            Val::List(items) => Val::Int(Dim::constant(items.len() as i64)),
            v => cx.type_error(args[0].value.span, "a list", v),
        },
        "sum" => sum(cx, span, &vals[0], args[0].value.span),
        "fold" => {
            let (Val::List(items), Val::Lambda(f)) = (&vals[0], &vals[2]) else {
                return cx.error(HDiag::new(
                    Code::TypeMismatch,
                    "`fold` takes a list, an initial value and a two-argument function",
                    cx.loc(span),
                    "called here",
                ));
            };
            let mut acc = vals[1].clone();
            for it in items {
                acc = cx.call_closure(f, vec![acc, it.clone()], span);
                if matches!(acc, Val::Unknown) {
                    return acc;
                }
            }
            acc
        }
        _ => concat(cx, span, &vals),
    }
}

fn tensors(cx: &mut Cx<'_>, v: &Val, span: Span) -> Option<Vec<TVal>> {
    let Val::List(items) = v else {
        cx.type_error(span, "a list of tensors", v);
        return None;
    };
    let mut out = Vec::new();
    for it in items {
        match it {
            Val::Tensor(t) => out.push(t.clone()),
            Val::Unknown => return None,
            other => {
                cx.type_error(span, "a list of tensors", other);
                return None;
            }
        }
    }
    Some(out)
}

fn sum(cx: &mut Cx<'_>, span: Span, list: &Val, lspan: Span) -> Val {
    if let Val::List(items) = list {
        if items.iter().all(|i| matches!(i, Val::Int(_) | Val::Float(_))) {
            return items.iter().cloned().fold(Val::Int(Dim::constant(0)), |acc, x| {
                crate::eval::arith::binary(cx, span, exp_syntax::ast::BinOp::Add, acc, x, span, span)
            });
        }
    }
    let Some(ts) = tensors(cx, list, lspan) else {
        return Val::Unknown;
    };
    let Some(first) = ts.first() else {
        return cx.error(HDiag::new(Code::InvalidValue, "`sum` of an empty list", cx.loc(span), "nothing to add"));
    };
    let mut acc = Val::Tensor(first.clone());
    for t in &ts[1..] {
        acc =
            crate::eval::arith::binary(cx, span, exp_syntax::ast::BinOp::Add, acc, Val::Tensor(t.clone()), span, span);
    }
    acc
}

fn concat(cx: &mut Cx<'_>, span: Span, vals: &[Val]) -> Val {
    let Some(ts) = tensors(cx, &vals[0], span) else {
        return Val::Unknown;
    };
    let axis = match vals.get(1) {
        None => ts.first().map_or(1, |t| t.shape.rank().saturating_sub(1)),
        Some(Val::Int(d)) => match d.as_const().and_then(|a| usize::try_from(a).ok()) {
            Some(a) => a,
            None => {
                return cx.error(HDiag::new(
                    Code::InvalidValue,
                    "`concat` needs a constant, non-negative axis",
                    cx.loc(span),
                    "bad axis",
                ))
            }
        },
        Some(v) => return cx.type_error(span, "`Int` axis", v),
    };
    let shapes: Vec<_> = ts.iter().map(|t| t.shape.clone()).collect();
    match exp_ops::concat(&shapes, axis) {
        Ok(shape) => {
            let node = Node {
                op: NodeOp::Concat(axis),
                inputs: ts.iter().map(|t| t.node).collect(),
                params: vec![],
                shape,
                ids: false,
                at: cx.loc(span),
            };
            Val::Tensor(cx.graph.push(node))
        }
        Err(e) => cx.error(HDiag::new(Code::ShapeMismatch, e.to_string(), cx.loc(span), "cannot concatenate")),
    }
}
