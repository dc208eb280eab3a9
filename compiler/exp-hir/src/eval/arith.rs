//! Arithmetic on elaborator values: integers (symbolic sizes), floats, quantities with
//! units, and tensors (residual sums, gating products, scaling).
//!
//! Division of two integers is exact when it can be: `6 / 3` is the `Int` 2, `1 / 255` is a
//! `Float`, and a symbolic `H / 2` is floor division, as in shape signatures.

use exp_diagnostics::Code;
use exp_ops::{broadcast_add, Dim};
use exp_syntax::ast::BinOp;
use exp_syntax::Span;

use crate::diag::HDiag;
use crate::eval::value::Val;
use crate::eval::Cx;
use crate::model::graph::{Node, NodeOp};
use crate::types::UnitKind;

/// Evaluates `a op b` (composition `>>` is handled by the evaluator).
pub fn binary(cx: &mut Cx<'_>, span: Span, op: BinOp, a: Val, b: Val, ls: Span, rs: Span) -> Val {
    use Val::*;
    match (a, b) {
        (Unknown, _) | (_, Unknown) => Unknown,
        (Bool(x), Bool(y)) => match op {
            BinOp::And => Bool(x && y),
            BinOp::Or => Bool(x || y),
            BinOp::Eq => Bool(x == y),
            BinOp::Ne => Bool(x != y),
            _ => cx.type_error(span, "numbers", &Bool(x)),
        },
        (a @ Bool(_), _) | (_, a @ Bool(_)) if matches!(op, BinOp::And | BinOp::Or) => {
            cx.type_error(span, "`Bool`", &a)
        }
        (Int(x), Int(y)) => ints(cx, span, op, x, y, rs),
        (Int(x), Float(y)) => match x.as_const() {
            Some(x) => floats(cx, span, op, x as f64, y),
            None => Unknown,
        },
        (Float(x), Int(y)) => match y.as_const() {
            Some(y) => floats(cx, span, op, x, y as f64),
            None => Unknown,
        },
        (Float(x), Float(y)) => floats(cx, span, op, x, y),
        (Qty(x, u), Qty(y, v)) => quantities(cx, span, op, (x, u), (y, v), rs),
        (Qty(x, u), n @ (Int(_) | Float(_))) => qty_num(cx, span, op, x, u, n, rs, false),
        (n @ (Int(_) | Float(_)), Qty(y, u)) => qty_num(cx, span, op, y, u, n, ls, true),
        (Tensor(x), Tensor(y)) => match op {
            BinOp::Add | BinOp::Mul => match broadcast_add(&x.shape, &y.shape) {
                Ok(shape) => {
                    let node = Node {
                        op: if op == BinOp::Add { NodeOp::Add } else { NodeOp::Mul },
                        inputs: vec![x.node, y.node],
                        params: vec![],
                        shape: shape.clone(),
                        ids: false,
                        at: cx.loc(span),
                    };
                    cx.graph.flops = cx.graph.flops.clone() + shape.numel();
                    Tensor(cx.graph.push(node))
                }
                Err(e) => cx.error(
                    HDiag::new(
                        Code::ShapeMismatch,
                        format!(
                            "cannot {} tensors of shapes `{}` and `{}`",
                            if op == BinOp::Add { "add" } else { "multiply" },
                            x.shape,
                            y.shape
                        ),
                        cx.loc(span),
                        e.to_string(),
                    )
                    .with_help("a residual connection needs the block to keep its input shape"),
                ),
            },
            _ => cx.error(HDiag::new(
                Code::TypeMismatch,
                format!("tensors support `+` and `*`, not `{}`", op.text()),
                cx.loc(span),
                "unsupported tensor operator",
            )),
        },
        (Float(c), Tensor(t)) | (Tensor(t), Float(c)) if op == BinOp::Mul => {
            let node = Node {
                op: NodeOp::Scale(c),
                inputs: vec![t.node],
                params: vec![],
                shape: t.shape.clone(),
                ids: false,
                at: cx.loc(span),
            };
            Tensor(cx.graph.push(node))
        }
        (Str(x), Str(y)) if matches!(op, BinOp::Eq | BinOp::Ne) => Bool((x == y) == (op == BinOp::Eq)),
        (a, b) => {
            let d = HDiag::new(
                Code::TypeMismatch,
                format!("cannot apply `{}` to `{}` and `{}`", op.text(), a.type_name(), b.type_name()),
                cx.loc(span),
                "unsupported operands",
            );
            cx.error(d)
        }
    }
}

fn ints(cx: &mut Cx<'_>, span: Span, op: BinOp, x: Dim, y: Dim, rs: Span) -> Val {
    let consts = (x.as_const(), y.as_const());
    match op {
        BinOp::Add => Val::Int(x + y),
        BinOp::Sub => Val::Int(x - y),
        BinOp::Mul => Val::Int(x * y),
        BinOp::Div | BinOp::Rem => match consts {
            (_, Some(0)) => cx.error(HDiag::new(Code::InvalidValue, "division by zero", cx.loc(rs), "this is zero")),
            (Some(a), Some(b)) if op == BinOp::Rem => Val::Int(Dim::constant(a.rem_euclid(b))),
            (Some(a), Some(b)) if a % b == 0 => Val::Int(Dim::constant(a / b)),
            (Some(a), Some(b)) => Val::Float(a as f64 / b as f64),
            _ if op == BinOp::Div => Val::Int(x.div_floor(&y)),
            _ => Val::Unknown,
        },
        BinOp::Pow => match consts {
            (Some(a), Some(b)) if (0..63).contains(&b) => {
                a.checked_pow(b as u32).map_or(Val::Float((a as f64).powf(b as f64)), |v| Val::Int(Dim::constant(v)))
            }
            (Some(a), Some(b)) => Val::Float((a as f64).powf(b as f64)),
            _ => Val::Unknown,
        },
        BinOp::Eq => Val::Bool(x == y),
        BinOp::Ne => Val::Bool(x != y),
        _ => match consts {
            (Some(a), Some(b)) => Val::Bool(compare(op, a as f64, b as f64)),
            _ => {
                let _ = span;
                Val::Unknown
            }
        },
    }
}

fn compare(op: BinOp, a: f64, b: f64) -> bool {
    match op {
        BinOp::Lt => a < b,
        BinOp::Le => a <= b,
        BinOp::Gt => a > b,
        BinOp::Ge => a >= b,
        BinOp::Eq => a == b,
        _ => a != b,
    }
}

fn floats(cx: &mut Cx<'_>, span: Span, op: BinOp, x: f64, y: f64) -> Val {
    match op {
        BinOp::Add => Val::Float(x + y),
        BinOp::Sub => Val::Float(x - y),
        BinOp::Mul => Val::Float(x * y),
        BinOp::Div => Val::Float(x / y),
        BinOp::Rem => Val::Float(x.rem_euclid(y)),
        BinOp::Pow => Val::Float(x.powf(y)),
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => Val::Bool(compare(op, x, y)),
        BinOp::And | BinOp::Or | BinOp::Then => cx.type_error(span, "`Bool`", &Val::Float(x)),
    }
}

fn quantities(
    cx: &mut Cx<'_>,
    span: Span,
    op: BinOp,
    (x, u): (f64, UnitKind),
    (y, v): (f64, UnitKind),
    rs: Span,
) -> Val {
    if u != v {
        return cx.error(
            HDiag::new(
                Code::UnitMismatch,
                format!("`{}` and `{}` cannot be combined", u.type_name(), v.type_name()),
                cx.loc(rs),
                format!("this is in {}", v.word()),
            )
            .with_help(format!("express both in {}", u.word()))
            .with_secondary(cx.loc(span), "in this expression"),
        );
    }
    match op {
        BinOp::Add => Val::Qty(x + y, u),
        BinOp::Sub => Val::Qty(x - y, u),
        BinOp::Div => Val::Float(x / y),
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => Val::Bool(compare(op, x, y)),
        _ => cx.error(HDiag::new(
            Code::UnitMismatch,
            format!("cannot apply `{}` to two quantities", op.text()),
            cx.loc(span),
            "unsupported on quantities",
        )),
    }
}

#[allow(clippy::too_many_arguments)]
fn qty_num(cx: &mut Cx<'_>, span: Span, op: BinOp, q: f64, u: UnitKind, n: Val, nspan: Span, num_first: bool) -> Val {
    let k = match n {
        Val::Int(d) => match d.as_const() {
            Some(i) => i as f64,
            None => return Val::Unknown,
        },
        Val::Float(x) => x,
        _ => return Val::Unknown,
    };
    match (op, num_first) {
        (BinOp::Mul, _) => Val::Qty(q * k, u),
        (BinOp::Div, false) => Val::Qty(q / k, u),
        _ => cx.error(
            HDiag::new(
                Code::UnitMismatch,
                format!("cannot combine `{}` with a plain number using `{}`", u.type_name(), op.text()),
                cx.loc(nspan),
                "this number has no unit",
            )
            .with_help(format!("give the number a unit, e.g. `{} {}`", crate::eval::value::fmt_float(k), u.word()))
            .with_secondary(cx.loc(span), "in this expression"),
        ),
    }
}
