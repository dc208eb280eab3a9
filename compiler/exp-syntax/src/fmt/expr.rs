//! Expressions as documents, with the fewest parentheses that keep the tree the same.
//!
//! Precedence levels follow grammar/README.md: 1 lambda, 2 `if`, 3 `or`, 4 `and`, 5 `not`,
//! 6 comparisons, 7 `..`, 8 `>>`, 9 `+ -`, 10 `* / %`, 11 negation, 12 `^`, 13 postfix,
//! 14 primaries. A child is parenthesized when its level is below what its position needs.
//! Every binary operator, `^` included, is written with spaces around it; `..` without.
//! Number literals keep their source spelling (`20_000`, `1e-3`) when it still denotes the
//! same value.

use super::doc::{text, Doc};
use crate::ast::{Arg, BinOp, Expr, ExprKind, Let, UnOp, Unit};

/// The document for `e` in a position that accepts any expression.
pub(crate) fn expr(e: &Expr, src: &str) -> Doc {
    at(e, 0, src)
}

fn level(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Lambda { .. } => 1,
        ExprKind::If { .. } => 2,
        ExprKind::Binary { op, .. } => bin_level(*op),
        ExprKind::Unary { op: UnOp::Not, .. } => 5,
        ExprKind::Range { .. } => 7,
        ExprKind::Unary { op: UnOp::Neg, .. } => 11,
        ExprKind::Call { .. } | ExprKind::Field { .. } | ExprKind::Index { .. } => 13,
        _ => 14,
    }
}

fn bin_level(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 3,
        BinOp::And => 4,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 6,
        BinOp::Then => 8,
        BinOp::Add | BinOp::Sub => 9,
        BinOp::Mul | BinOp::Div | BinOp::Rem => 10,
        BinOp::Pow => 12,
    }
}

/// `e` where its level must be at least `min`.
fn at(e: &Expr, min: u8, src: &str) -> Doc {
    let doc = bare(e, src);
    if level(e) < min {
        Doc::Concat(vec![text("("), doc, text(")")])
    } else {
        doc
    }
}

fn bare(e: &Expr, src: &str) -> Doc {
    match &e.kind {
        ExprKind::Int(v) => text(int_literal(e, *v, src)),
        ExprKind::Float(v) => text(float_literal(e, *v, src)),
        ExprKind::Bool(b) => text(if *b { "true" } else { "false" }),
        ExprKind::Str(s) => text(quote(s)),
        ExprKind::Name(id) => text(&id.name),
        ExprKind::Quantity { value, unit } => text(format!("{} {}", flat(value, src), unit_text(e, value, *unit, src))),
        ExprKind::Field { base, field } => {
            let number = matches!(base.kind, ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Quantity { .. });
            let base = if number { at(base, 15, src) } else { at(base, 13, src) };
            Doc::Concat(vec![base, text("."), text(&field.name)])
        }
        ExprKind::Index { base, index } => Doc::Concat(vec![at(base, 13, src), text("["), expr(index, src), text("]")]),
        ExprKind::Call { callee, args } => Doc::Concat(vec![at(callee, 13, src), call_args(args, src)]),
        ExprKind::Unary { op: UnOp::Neg, expr } => Doc::Concat(vec![text("-"), at(expr, 11, src)]),
        ExprKind::Unary { op: UnOp::Not, expr } => Doc::Concat(vec![text("not "), at(expr, 5, src)]),
        ExprKind::Binary { op, lhs, rhs } => binary(*op, lhs, rhs, src),
        ExprKind::If { .. } => Doc::Group(if_parts(e, src)),
        ExprKind::Tuple(items) if items.len() == 1 => Doc::Concat(vec![text("("), expr(&items[0], src), text(",)")]),
        ExprKind::Tuple(items) => seq("(", items.iter().map(|i| expr(i, src)).collect(), ")"),
        ExprKind::List(items) => seq("[", items.iter().map(|i| expr(i, src)).collect(), "]"),
        ExprKind::Range { start, end } => Doc::Concat(vec![at(start, 8, src), text(".."), at(end, 8, src)]),
        ExprKind::Comprehension { .. } => {
            let inner = Doc::Indent(vec![Doc::SoftLine, generator(e, src)]);
            Doc::Group(vec![text("["), inner, Doc::SoftLine, text("]")])
        }
        ExprKind::Lambda { params, body } => {
            let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
            let head = if names.len() == 1 { names[0].to_string() } else { format!("({})", names.join(", ")) };
            Doc::Concat(vec![text(head), text(" => "), expr(body, src)])
        }
        ExprKind::Repeat { count, body } => {
            Doc::Group(vec![text("repeat "), at(count, 3, src), text(" "), braced(body, src)])
        }
        ExprKind::Block { lets, result } => Doc::Group(block_parts(lets, result, src)),
    }
}

/// The one-line text of `e` (used inside atomic pieces such as quantities).
fn flat(e: &Expr, src: &str) -> String {
    super::doc::render(&expr(e, src), 0, 0)
}

/// `e for x in xs`, without brackets: the body of a comprehension or a generator argument.
fn generator(e: &Expr, src: &str) -> Doc {
    let ExprKind::Comprehension { expr: element, var, iter } = &e.kind else {
        return expr(e, src);
    };
    Doc::Concat(vec![expr(element, src), Doc::Line, text(format!("for {} in ", var.name)), expr(iter, src)])
}

/// A chain of one binary level, broken before the operators when it does not fit.
fn binary(op: BinOp, lhs: &Expr, rhs: &Expr, src: &str) -> Doc {
    let lvl = bin_level(op);
    let (lhs_min, rhs_min) = match op {
        BinOp::Pow => (lvl + 1, lvl),
        _ if lvl == 6 => (lvl + 1, lvl + 1),
        _ => (lvl, lvl + 1),
    };
    // A prefix operator on the right needs no parentheses: nothing on its left can bind it.
    let rhs_doc = match &rhs.kind {
        ExprKind::Unary { op: UnOp::Neg, .. } if lvl >= 8 => bare(rhs, src),
        ExprKind::Unary { op: UnOp::Not, .. } if lvl <= 4 => bare(rhs, src),
        _ => at(rhs, rhs_min, src),
    };
    let tail = vec![Doc::Line, text(format!("{} ", op.text())), rhs_doc];
    // Left-associative chains are flattened so that all their operators break together.
    let mut parts = match &lhs.kind {
        ExprKind::Binary { op: inner, lhs: l, rhs: r } if bin_level(*inner) == lvl && lhs_min == lvl => {
            match binary(*inner, l, r, src) {
                Doc::Group(parts) => parts,
                other => vec![other],
            }
        }
        _ => vec![at(lhs, lhs_min, src), Doc::Indent(Vec::new())],
    };
    if let Some(Doc::Indent(rest)) = parts.last_mut() {
        rest.extend(tail);
    }
    Doc::Group(parts)
}

/// `if c { a } else if d { b } else { c }` as the parts of one group.
fn if_parts(e: &Expr, src: &str) -> Vec<Doc> {
    let ExprKind::If { cond, then, otherwise } = &e.kind else {
        return vec![braced(e, src)];
    };
    let mut parts = vec![text("if "), at(cond, 3, src), text(" "), braced(then, src), text(" else ")];
    match &otherwise.kind {
        ExprKind::If { .. } => parts.extend(if_parts(otherwise, src)),
        _ => parts.push(braced(otherwise, src)),
    }
    parts
}

/// The braces of an `if` branch or `repeat` body. A `Block` with `let`s is written as the
/// braces themselves (the parser folds them the same way); anything else goes inside.
fn braced(e: &Expr, src: &str) -> Doc {
    match &e.kind {
        ExprKind::Block { lets, result } if !lets.is_empty() => Doc::Concat(block_parts(lets, result, src)),
        _ => Doc::Concat(vec![text("{"), Doc::Indent(vec![Doc::Line, expr(e, src)]), Doc::Line, text("}")]),
    }
}

/// `{ let a = e; result }`: one line when it fits, one statement per line otherwise.
fn block_parts(lets: &[Let], result: &Expr, src: &str) -> Vec<Doc> {
    let mut inner = Vec::new();
    for (i, l) in lets.iter().enumerate() {
        // On separate lines the `;` is dropped, unless the result would continue the last
        // `let` (`let v = a` then `(b, c).f` reads as the call `a(b, c).f`).
        let semi = if i + 1 == lets.len() && continues(result, src) { text(";") } else { Doc::IfFlat(";") };
        inner.extend([Doc::Line, let_doc(l, src), semi]);
    }
    inner.extend([Doc::Line, expr(result, src)]);
    vec![text("{"), Doc::Indent(inner), Doc::Line, text("}")]
}

/// Whether `e`, written at the start of a line, would continue the expression on the line
/// before: it starts with `(` or `[` (a call or an index) or `-` (a subtraction).
pub(crate) fn continues(e: &Expr, src: &str) -> bool {
    flat(e, src).starts_with(['(', '[', '-'])
}

/// `let name = value`.
pub(crate) fn let_doc(l: &Let, src: &str) -> Doc {
    Doc::Concat(vec![text(format!("let {} = ", l.name.name)), expr(&l.value, src)])
}

/// `(a, k: v)`; a lone comprehension argument is written as a generator, without brackets.
fn call_args(args: &[Arg], src: &str) -> Doc {
    let lone = args.len() == 1;
    let docs = args
        .iter()
        .map(|a| {
            let value = match &a.value.kind {
                ExprKind::Comprehension { .. } if lone => generator(&a.value, src),
                _ => expr(&a.value, src),
            };
            match &a.name {
                Some(name) => Doc::Concat(vec![text(format!("{}: ", name.name)), value]),
                None => value,
            }
        })
        .collect();
    seq("(", docs, ")")
}

/// A bracketed, comma-separated sequence: flat, or one element per line with a trailing comma.
pub(crate) fn seq(open: &str, items: Vec<Doc>, close: &str) -> Doc {
    if items.is_empty() {
        return text(format!("{open}{close}"));
    }
    let mut inner = vec![Doc::SoftLine];
    let n = items.len();
    for (i, item) in items.into_iter().enumerate() {
        inner.push(item);
        if i + 1 < n {
            inner.extend([text(","), Doc::Line]);
        }
    }
    inner.push(Doc::IfBreak(","));
    Doc::Group(vec![text(open), Doc::Indent(inner), Doc::SoftLine, text(close)])
}

/// A string literal with `"`, `\`, newline and tab escaped.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The source spelling of an integer if it still reads as `v`, else its decimal form.
fn int_literal(e: &Expr, v: i64, src: &str) -> String {
    let written = src.get(e.span.range()).unwrap_or("");
    let digits: String = written.chars().filter(|&c| c != '_').collect();
    let well_formed =
        written.starts_with(|c: char| c.is_ascii_digit()) && written.chars().all(|c| c.is_ascii_digit() || c == '_');
    if well_formed && digits.parse::<i64>() == Ok(v) {
        written.to_string()
    } else {
        v.to_string()
    }
}

/// The source spelling of a float if it still reads as `v`, else Rust's shortest form (which
/// always has a `.` or an exponent, so it reads back as a float).
fn float_literal(e: &Expr, v: f64, src: &str) -> String {
    let written = src.get(e.span.range()).unwrap_or("");
    let digits: String = written.chars().filter(|&c| c != '_').collect();
    let well_formed = written.starts_with(|c: char| c.is_ascii_digit())
        && written.contains(['.', 'e', 'E'])
        && written.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'));
    match digits.parse::<f64>() {
        Ok(x) if well_formed && x.to_bits() == v.to_bits() => written.to_string(),
        _ => format!("{v:?}"),
    }
}

/// The unit as written (`step` or `steps`) when the source still says this unit, else the
/// plural. `Bytes(k)` is 1024^k bytes: `KiB`, `MiB`, `GiB`.
fn unit_text(e: &Expr, value: &Expr, unit: Unit, src: &str) -> &'static str {
    let written = src.get(value.span.end as usize..e.span.end as usize).unwrap_or("").trim();
    let canonical = match unit {
        Unit::Steps => ["steps", "step"],
        Unit::Epochs => ["epochs", "epoch"],
        Unit::Samples => ["samples", "sample"],
        Unit::Probes => ["probes", "probe"],
        Unit::Bytes(0 | 1) => ["KiB", "KiB"],
        Unit::Bytes(2) => ["MiB", "MiB"],
        Unit::Bytes(_) => ["GiB", "GiB"],
    };
    if written == canonical[1] {
        canonical[1]
    } else {
        canonical[0]
    }
}
