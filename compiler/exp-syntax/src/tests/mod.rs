//! Unit tests of the parser and formatter, table-driven with inline expectations.
//!
//! The file corpus (`tests/parse/{ok,err}/*.exp`, snapshot-tested with insta) lives in the
//! workspace `tests/` crate; these tests pin the small, precise facts: precedence, units,
//! spans, recovery, and formatting choices.

mod docs;
mod errors;
mod fmt;
mod items;
mod precedence;

use crate::ast::{Expr, ExprKind};

/// A compact s-expression of an expression, e.g. `(neg (^ x 2))`.
pub(crate) fn sexpr(e: &Expr) -> String {
    let list = |head: &str, parts: Vec<String>| {
        let mut s = format!("({head}");
        for p in parts {
            s.push(' ');
            s.push_str(&p);
        }
        s.push(')');
        s
    };
    match &e.kind {
        ExprKind::Int(v) => v.to_string(),
        ExprKind::Float(v) => format!("{v:?}"),
        ExprKind::Bool(v) => v.to_string(),
        ExprKind::Str(v) => format!("{v:?}"),
        ExprKind::Name(id) => id.name.clone(),
        ExprKind::Quantity { value, unit } => list("qty", vec![sexpr(value), format!("{unit:?}")]),
        ExprKind::Field { base, field } => list(".", vec![sexpr(base), field.name.clone()]),
        ExprKind::Index { base, index } => list("index", vec![sexpr(base), sexpr(index)]),
        ExprKind::Call { callee, args } => {
            let mut parts = vec![sexpr(callee)];
            for a in args {
                parts.push(match &a.name {
                    Some(n) => format!("{}:{}", n.name, sexpr(&a.value)),
                    None => sexpr(&a.value),
                });
            }
            list("call", parts)
        }
        ExprKind::Unary { op, expr } => {
            list(if *op == crate::ast::UnOp::Neg { "neg" } else { "not" }, vec![sexpr(expr)])
        }
        ExprKind::Binary { op, lhs, rhs } => list(op.text(), vec![sexpr(lhs), sexpr(rhs)]),
        ExprKind::If { cond, then, otherwise } => list("if", vec![sexpr(cond), sexpr(then), sexpr(otherwise)]),
        ExprKind::Tuple(items) => list("tuple", items.iter().map(sexpr).collect()),
        ExprKind::List(items) => format!("[{}]", items.iter().map(sexpr).collect::<Vec<_>>().join(" ")),
        ExprKind::Range { start, end } => list("..", vec![sexpr(start), sexpr(end)]),
        ExprKind::Comprehension { expr, var, iter } => list("comp", vec![sexpr(expr), var.name.clone(), sexpr(iter)]),
        ExprKind::Lambda { params, body } => {
            let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
            list("fn", vec![format!("({})", names.join(" ")), sexpr(body)])
        }
        ExprKind::Repeat { count, body } => list("repeat", vec![sexpr(count), sexpr(body)]),
        ExprKind::Block { lets, result } => {
            let mut parts: Vec<String> =
                lets.iter().map(|l| format!("(let {} {})", l.name.name, sexpr(&l.value))).collect();
            parts.push(sexpr(result));
            list("block", parts)
        }
    }
}

/// Checks a table of `(input, expected)` pairs with `f`, reporting every mismatch at once.
pub(crate) fn check_table(cases: &[(&str, &str)], f: impl Fn(&str) -> String) {
    let mut failures = Vec::new();
    for (input, expected) in cases {
        let got = f(input);
        if got != *expected {
            failures.push(format!("input:    {input}\nexpected: {expected}\ngot:      {got}\n"));
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}
