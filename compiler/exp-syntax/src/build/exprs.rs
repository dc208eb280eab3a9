//! Expressions: the grammar layers (lambda, `if`, comparison, range) and the two Pratt
//! parsers that fold the flat operator sequences (`logic`: `or and not`; `arith`: `>> + - * /
//! % ^`, negation and the postfix call, field and index).
//!
//! `level` is the depth of the node being built below its statement. Every function that
//! creates a node passes `level + 1` to its children, and a flat operator sequence reserves one
//! level per operator (a chain of n `+` is n nodes deep). Past [`MAX_NESTING`] the builder
//! stops with a syntax error, which bounds the recursion of this builder and of every later
//! walk over the tree.

use std::sync::OnceLock;

use pest::pratt_parser::{Assoc, Op, PrattParser};

use super::{lits, Ctx, Kids, Pair, Res};
use crate::ast::{Arg, BinOp, Expr, ExprKind, Let, UnOp};
use crate::grammar::Rule;
use crate::{Span, MAX_NESTING};

fn logic_pratt() -> &'static PrattParser<Rule> {
    static P: OnceLock<PrattParser<Rule>> = OnceLock::new();
    P.get_or_init(|| {
        PrattParser::new()
            .op(Op::infix(Rule::or_op, Assoc::Left))
            .op(Op::infix(Rule::and_op, Assoc::Left))
            .op(Op::prefix(Rule::not_op))
    })
}

fn arith_pratt() -> &'static PrattParser<Rule> {
    static P: OnceLock<PrattParser<Rule>> = OnceLock::new();
    P.get_or_init(|| {
        PrattParser::new()
            .op(Op::infix(Rule::then_op, Assoc::Left))
            .op(Op::infix(Rule::add_op, Assoc::Left) | Op::infix(Rule::sub_op, Assoc::Left))
            .op(Op::infix(Rule::mul_op, Assoc::Left)
                | Op::infix(Rule::div_op, Assoc::Left)
                | Op::infix(Rule::rem_op, Assoc::Left))
            .op(Op::prefix(Rule::neg_op))
            .op(Op::infix(Rule::pow_op, Assoc::Right))
            .op(Op::postfix(Rule::call) | Op::postfix(Rule::index) | Op::postfix(Rule::field))
    })
}

/// An `expr` pair: a lambda, an `if`, or an operator expression.
pub(crate) fn expr(cx: Ctx, pair: Pair<'_>, level: usize) -> Res<Expr> {
    guard(cx, &pair, level)?;
    let inner = descend(Kids::of(cx, pair).expect()?);
    match inner.as_rule() {
        Rule::lambda => lambda(cx, inner, level),
        Rule::if_expr => if_expr(cx, inner, level),
        Rule::logic => logic(cx, inner, level),
        Rule::comparison => comparison(cx, inner, level),
        Rule::range => range(cx, inner, level),
        Rule::arith => arith(cx, inner, level),
        Rule::primary => primary(cx, inner, level),
        _ => Err(cx.internal(&inner)),
    }
}

/// Skips the operator layers that hold a single operand (most of them: a plain `x` is a
/// `logic` holding a `comparison` holding a `range` holding an `arith` holding a `primary`).
/// Besides saving work, this keeps the builder's native stack per nesting level small, which
/// is what bounds how deep an expression can nest before `MAX_NESTING` applies.
fn descend(mut pair: Pair<'_>) -> Pair<'_> {
    while matches!(pair.as_rule(), Rule::logic | Rule::comparison | Rule::range | Rule::arith) {
        let mut inner = pair.clone().into_inner();
        match (inner.next(), inner.next()) {
            (Some(only), None) => pair = only,
            _ => break,
        }
    }
    pair
}

/// Refuses nesting beyond [`MAX_NESTING`], pointing at where the too-deep part starts.
fn guard(cx: Ctx, pair: &Pair<'_>, level: usize) -> Res<()> {
    if level <= MAX_NESTING {
        return Ok(());
    }
    Err(crate::ast::SyntaxError {
        span: Span::point(cx.span(pair).start as usize),
        message: format!("expression is nested more than {MAX_NESTING} levels deep"),
        help: Some("split it into smaller named parts".into()),
    })
}

fn lambda(cx: Ctx, pair: Pair<'_>, level: usize) -> Res<Expr> {
    let span = cx.span(&pair);
    let mut kids = Kids::of(cx, pair);
    let params = Kids::of(cx, kids.expect()?).rest().map(|p| cx.ident(&p)).collect();
    let body = expr(cx, kids.expect()?, level + 1)?;
    Ok(Expr { kind: ExprKind::Lambda { params, body: Box::new(body) }, span })
}

fn if_expr(cx: Ctx, pair: Pair<'_>, level: usize) -> Res<Expr> {
    guard(cx, &pair, level)?;
    let span = cx.span(&pair);
    let mut kids = Kids::of(cx, pair);
    let cond = logic(cx, kids.expect()?, level + 1)?;
    let then = branch(cx, kids.expect()?, level + 1)?;
    let other = kids.expect()?;
    let otherwise = match other.as_rule() {
        Rule::if_expr => if_expr(cx, other, level + 1)?,
        _ => branch(cx, other, level + 1)?,
    };
    let kind = ExprKind::If { cond: Box::new(cond), then: Box::new(then), otherwise: Box::new(otherwise) };
    Ok(Expr { kind, span })
}

/// The braces of an `if` branch or a `repeat` body: without `let`s, the braces are part of
/// the construct and the branch is the inner expression; with `let`s it is a `Block`.
fn branch(cx: Ctx, pair: Pair<'_>, level: usize) -> Res<Expr> {
    let block = block_expr(cx, pair, level)?;
    match block.kind {
        ExprKind::Block { lets, result } if lets.is_empty() => Ok(*result),
        kind => Ok(Expr { kind, span: block.span }),
    }
}

/// A braced body `{ let a = e; result }`, always as an `ExprKind::Block` (braces included in
/// the span).
pub(crate) fn block_expr(cx: Ctx, pair: Pair<'_>, level: usize) -> Res<Expr> {
    let span = cx.span(&pair);
    let mut lets = Vec::new();
    let mut result = None;
    for p in Kids::of(cx, pair.clone()).rest() {
        match p.as_rule() {
            Rule::let_stmt => lets.push(let_stmt(cx, p, level + 1)?),
            Rule::expr => result = Some(expr(cx, p, level + 1)?),
            _ => return Err(cx.internal(&p)),
        }
    }
    let result = result.ok_or_else(|| cx.internal(&pair))?;
    Ok(Expr { kind: ExprKind::Block { lets, result: Box::new(result) }, span })
}

/// `let name = value`.
pub(crate) fn let_stmt(cx: Ctx, pair: Pair<'_>, level: usize) -> Res<Let> {
    let span = cx.span(&pair);
    let mut kids = Kids::of(cx, pair);
    let name = cx.ident(&kids.expect()?);
    let value = expr(cx, kids.expect()?, level)?;
    Ok(Let { name, value, span })
}

/// A `logic` pair: `not`, `and`, `or` over comparisons.
pub(crate) fn logic(cx: Ctx, pair: Pair<'_>, level: usize) -> Res<Expr> {
    let pairs = pair.clone().into_inner();
    let ops = pairs.clone().filter(|p| p.as_rule() != Rule::comparison).count();
    if ops == 0 {
        return comparison(cx, Kids::of(cx, pair).expect()?, level);
    }
    guard(cx, &pair, level + ops)?;
    let inner = level + ops;
    logic_pratt()
        .map_primary(move |p| comparison(cx, p, inner))
        .map_prefix(move |op, rhs| Ok(unary(UnOp::Not, cx.span(&op), rhs?)))
        .map_infix(move |lhs, op, rhs| {
            let bin = if op.as_rule() == Rule::or_op { BinOp::Or } else { BinOp::And };
            Ok(binary(bin, lhs?, rhs?))
        })
        .parse(pairs)
}

fn comparison(cx: Ctx, pair: Pair<'_>, level: usize) -> Res<Expr> {
    let mut it = pair.clone().into_inner();
    match (it.next(), it.next(), it.next()) {
        (Some(lhs), None, None) => range(cx, lhs, level),
        (Some(lhs), Some(op), Some(rhs)) => {
            let op = match op.as_rule() {
                Rule::eq_op => BinOp::Eq,
                Rule::ne_op => BinOp::Ne,
                Rule::le_op => BinOp::Le,
                Rule::ge_op => BinOp::Ge,
                Rule::lt_op => BinOp::Lt,
                Rule::gt_op => BinOp::Gt,
                _ => return Err(cx.internal(&op)),
            };
            Ok(binary(op, range(cx, lhs, level + 1)?, range(cx, rhs, level + 1)?))
        }
        _ => Err(cx.internal(&pair)),
    }
}

fn range(cx: Ctx, pair: Pair<'_>, level: usize) -> Res<Expr> {
    let mut it = pair.clone().into_inner();
    match (it.next(), it.next(), it.next()) {
        (Some(lhs), None, None) => arith(cx, lhs, level),
        (Some(lhs), Some(_), Some(rhs)) => {
            let start = arith(cx, lhs, level + 1)?;
            let end = arith(cx, rhs, level + 1)?;
            let span = start.span.cover(end.span);
            Ok(Expr { kind: ExprKind::Range { start: Box::new(start), end: Box::new(end) }, span })
        }
        _ => Err(cx.internal(&pair)),
    }
}

fn arith(cx: Ctx, pair: Pair<'_>, level: usize) -> Res<Expr> {
    let pairs = pair.clone().into_inner();
    let ops = pairs.clone().filter(|p| p.as_rule() != Rule::primary).count();
    if ops == 0 {
        return primary(cx, Kids::of(cx, pair).expect()?, level);
    }
    // Pratt recursion is as deep as the prefix and `^` operators; the guard also bounds it.
    guard(cx, &pair, level + ops)?;
    let inner = level + ops;
    arith_pratt()
        .map_primary(move |p| primary(cx, p, inner))
        .map_prefix(move |op, rhs| Ok(unary(UnOp::Neg, cx.span(&op), rhs?)))
        .map_postfix(move |lhs, op| postfix(cx, lhs?, op, inner))
        .map_infix(move |lhs, op, rhs| {
            let bin = match op.as_rule() {
                Rule::then_op => BinOp::Then,
                Rule::add_op => BinOp::Add,
                Rule::sub_op => BinOp::Sub,
                Rule::mul_op => BinOp::Mul,
                Rule::div_op => BinOp::Div,
                Rule::rem_op => BinOp::Rem,
                Rule::pow_op => BinOp::Pow,
                _ => return Err(cx.internal(&op)),
            };
            Ok(binary(bin, lhs?, rhs?))
        })
        .parse(pairs)
}

fn unary(op: UnOp, op_span: Span, operand: Expr) -> Expr {
    let span = op_span.cover(operand.span);
    Expr { kind: ExprKind::Unary { op, expr: Box::new(operand) }, span }
}

fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    let span = lhs.span.cover(rhs.span);
    Expr { kind: ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, span }
}

fn postfix(cx: Ctx, base: Expr, op: Pair<'_>, level: usize) -> Res<Expr> {
    let span = base.span.cover(cx.span(&op));
    let base = Box::new(base);
    let kind = match op.as_rule() {
        Rule::call => ExprKind::Call { callee: base, args: args(cx, op, level)? },
        Rule::index => {
            let index = expr(cx, Kids::of(cx, op).expect()?, level)?;
            ExprKind::Index { base, index: Box::new(index) }
        }
        Rule::field => ExprKind::Field { base, field: cx.ident(&Kids::of(cx, op).expect()?) },
        _ => return Err(cx.internal(&op)),
    };
    Ok(Expr { kind, span })
}

/// Call arguments; a generator (`sum(e for x in xs)`) must be the only one.
fn args(cx: Ctx, call: Pair<'_>, level: usize) -> Res<Vec<Arg>> {
    let arg_pairs: Vec<_> = Kids::of(cx, call).rest().collect();
    let count = arg_pairs.len();
    let mut out = Vec::with_capacity(count);
    for pair in arg_pairs {
        let span = cx.span(&pair);
        let mut kids = Kids::of(cx, pair.clone());
        let name = kids.eat(Rule::ident).map(|p| cx.ident(&p));
        let mut value = expr(cx, kids.expect()?, level)?;
        if let Some(clause) = kids.eat(Rule::comp_clause) {
            if count > 1 {
                return Err(cx.error(
                    &pair,
                    "a generator must be the only argument of a call",
                    Some("put it in brackets to pass a list: `[e for x in xs]`".into()),
                ));
            }
            let gen_span = value.span.cover(cx.span(&clause));
            value = comprehension(cx, value, clause, gen_span, level)?;
        }
        out.push(Arg { name, value, span });
    }
    Ok(out)
}

fn comprehension(cx: Ctx, element: Expr, clause: Pair<'_>, span: Span, level: usize) -> Res<Expr> {
    let mut kids = Kids::of(cx, clause);
    let var = cx.ident(&kids.expect()?);
    let iter = expr(cx, kids.expect()?, level)?;
    let kind = ExprKind::Comprehension { expr: Box::new(element), var, iter: Box::new(iter) };
    Ok(Expr { kind, span })
}

fn primary(cx: Ctx, pair: Pair<'_>, level: usize) -> Res<Expr> {
    let p = Kids::of(cx, pair).expect()?;
    let span = cx.span(&p);
    let kind = match p.as_rule() {
        Rule::quantity => return quantity(cx, p),
        Rule::float => ExprKind::Float(lits::float(cx, &p)?),
        Rule::int => ExprKind::Int(lits::int(cx, &p)?),
        Rule::string => ExprKind::Str(lits::string(cx, &p)?),
        Rule::kw_true => ExprKind::Bool(true),
        Rule::kw_false => ExprKind::Bool(false),
        Rule::ident => ExprKind::Name(cx.ident(&p)),
        Rule::block_expr => return block_expr(cx, p, level),
        Rule::paren => return paren(cx, p, level),
        Rule::list => return list(cx, p, level),
        Rule::repeat_expr => {
            let mut kids = Kids::of(cx, p);
            let count = logic(cx, kids.expect()?, level + 1)?;
            let body = branch(cx, kids.expect()?, level + 1)?;
            ExprKind::Repeat { count: Box::new(count), body: Box::new(body) }
        }
        _ => return Err(cx.internal(&p)),
    };
    Ok(Expr { kind, span })
}

/// A `quantity` pair: a number literal and its unit.
pub(crate) fn quantity(cx: Ctx, pair: Pair<'_>) -> Res<Expr> {
    let span = cx.span(&pair);
    let mut kids = Kids::of(cx, pair.clone());
    let number = kids.expect()?;
    let value_kind = match number.as_rule() {
        Rule::float => ExprKind::Float(lits::float(cx, &number)?),
        _ => ExprKind::Int(lits::int(cx, &number)?),
    };
    let value = Expr { kind: value_kind, span: cx.span(&number) };
    let unit_pair = kids.expect()?;
    let unit = lits::unit(unit_pair.as_str()).ok_or_else(|| cx.internal(&unit_pair))?;
    Ok(Expr { kind: ExprKind::Quantity { value: Box::new(value), unit }, span })
}

/// `(e)` is `e` itself; `()`, `(a,)` and `(a, b)` are tuples.
fn paren(cx: Ctx, pair: Pair<'_>, level: usize) -> Res<Expr> {
    let span = cx.span(&pair);
    let raw: Vec<_> = pair.clone().into_inner().collect();
    let trailing_comma = raw.len() >= 2 && raw[raw.len() - 2].as_rule() == Rule::comma;
    let mut items = Vec::new();
    for p in Kids::of(cx, pair).rest() {
        items.push(expr(cx, p, level + 1)?);
    }
    if items.len() == 1 && !trailing_comma {
        return Ok(items.remove(0));
    }
    Ok(Expr { kind: ExprKind::Tuple(items), span })
}

/// `[a, b]` or the comprehension `[e for x in xs]`.
fn list(cx: Ctx, pair: Pair<'_>, level: usize) -> Res<Expr> {
    let span = cx.span(&pair);
    let mut items = Vec::new();
    for p in Kids::of(cx, pair).rest() {
        if p.as_rule() == Rule::comp_clause {
            let element = items.pop().ok_or_else(|| cx.internal(&p))?;
            return comprehension(cx, element, p, span, level + 1);
        }
        items.push(expr(cx, p, level + 1)?);
    }
    Ok(Expr { kind: ExprKind::List(items), span })
}
