//! Moving every span of an item by a fixed amount.
//!
//! Items are stored with spans relative to their own start, so that typing in one item
//! leaves every other item's stored AST equal and salsa can reuse their results.

use exp_syntax::ast::*;
use exp_syntax::Span;

/// Subtracts `base` from every span in `item` (spans before `base` cannot occur).
pub(crate) fn make_relative(item: &mut Item, base: u32) {
    walk_item(item, &mut |s: &mut Span| {
        s.start = s.start.saturating_sub(base);
        s.end = s.end.saturating_sub(base);
    });
}

fn walk_item(item: &mut Item, f: &mut dyn FnMut(&mut Span)) {
    f(&mut item.span);
    match &mut item.kind {
        ItemKind::Use(u) => {
            match &mut u.source {
                UseSource::Path(ids) => ids.iter_mut().for_each(|i| f(&mut i.span)),
                UseSource::File(s) => f(&mut s.span),
            }
            for id in u.names.iter_mut().flatten() {
                f(&mut id.span);
            }
        }
        ItemKind::Decl(d) => {
            f(&mut d.name.span);
            for p in d.params.iter_mut().flatten() {
                walk_param(p, f);
            }
            match &mut d.signature {
                Some(Signature::Tensor { input, output, span }) => {
                    f(span);
                    input.iter_mut().chain(output.iter_mut()).for_each(|e| walk_expr(e, f));
                }
                Some(Signature::Type(t)) => walk_type(t, f),
                None => {}
            }
            match &mut d.body {
                Body::Builtin(s) => f(s),
                Body::Expr(e) => walk_expr(e, f),
            }
        }
        ItemKind::Optimizer(o) => {
            f(&mut o.name.span);
            o.params.iter_mut().for_each(|p| walk_param(p, f));
            o.body.iter_mut().for_each(|s| walk_opt_stmt(s, f));
        }
        ItemKind::Experiment(e) => {
            f(&mut e.name.span);
            if let Some(b) = &mut e.extends {
                f(&mut b.span);
            }
            e.body.iter_mut().for_each(|s| walk_exp_stmt(s, f));
        }
        ItemKind::Sweep(s) => {
            f(&mut s.name.span);
            f(&mut s.base.span);
            s.body.iter_mut().for_each(|st| walk_sweep_stmt(st, f));
        }
    }
}

fn walk_param(p: &mut Param, f: &mut dyn FnMut(&mut Span)) {
    f(&mut p.span);
    f(&mut p.name.span);
    if let Some(t) = &mut p.ty {
        walk_type(t, f);
    }
    if let Some(d) = &mut p.default {
        walk_expr(d, f);
    }
}

fn walk_type(t: &mut TypeExpr, f: &mut dyn FnMut(&mut Span)) {
    match t {
        TypeExpr::Named(id) => f(&mut id.span),
        TypeExpr::List(inner, span) => {
            f(span);
            walk_type(inner, f);
        }
        TypeExpr::Tuple(items, span) => {
            f(span);
            items.iter_mut().for_each(|t| walk_type(t, f));
        }
    }
}

fn walk_opt_stmt(s: &mut OptStmt, f: &mut dyn FnMut(&mut Span)) {
    match s {
        OptStmt::State(slots, span) => {
            f(span);
            for (id, e) in slots {
                f(&mut id.span);
                walk_expr(e, f);
            }
        }
        OptStmt::Let(id, e, span) | OptStmt::Assign(id, e, span) => {
            f(span);
            f(&mut id.span);
            walk_expr(e, f);
        }
        OptStmt::Apply(e, span) => {
            f(span);
            walk_expr(e, f);
        }
    }
}

fn walk_exp_stmt(s: &mut ExpStmt, f: &mut dyn FnMut(&mut Span)) {
    match s {
        ExpStmt::Field { path, value, span } => {
            f(span);
            path.iter_mut().for_each(|i| f(&mut i.span));
            walk_expr(value, f);
        }
        ExpStmt::Probes { every, probes, span } => {
            f(span);
            walk_expr(every, f);
            for (id, e) in probes {
                f(&mut id.span);
                walk_expr(e, f);
            }
        }
        ExpStmt::Stop { cond, for_count, span } => {
            f(span);
            walk_expr(cond, f);
            if let Some(c) = for_count {
                walk_expr(c, f);
            }
        }
    }
}

fn walk_sweep_stmt(s: &mut SweepStmt, f: &mut dyn FnMut(&mut Span)) {
    match s {
        SweepStmt::Axis { path, domain, span } => {
            f(span);
            path.iter_mut().for_each(|i| f(&mut i.span));
            walk_expr(domain, f);
        }
        SweepStmt::Objective { probe, span, .. } => {
            f(span);
            f(&mut probe.span);
        }
        SweepStmt::Setting { name, value, span } => {
            f(span);
            f(&mut name.span);
            walk_expr(value, f);
        }
    }
}

fn walk_expr(e: &mut Expr, f: &mut dyn FnMut(&mut Span)) {
    f(&mut e.span);
    match &mut e.kind {
        ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Bool(_) | ExprKind::Str(_) => {}
        ExprKind::Quantity { value, .. } => walk_expr(value, f),
        ExprKind::Name(id) => f(&mut id.span),
        ExprKind::Field { base, field } => {
            walk_expr(base, f);
            f(&mut field.span);
        }
        ExprKind::Index { base, index } => {
            walk_expr(base, f);
            walk_expr(index, f);
        }
        ExprKind::Call { callee, args } => {
            walk_expr(callee, f);
            for a in args {
                f(&mut a.span);
                if let Some(n) = &mut a.name {
                    f(&mut n.span);
                }
                walk_expr(&mut a.value, f);
            }
        }
        ExprKind::Unary { expr, .. } => walk_expr(expr, f),
        ExprKind::Binary { lhs, rhs, .. } => {
            walk_expr(lhs, f);
            walk_expr(rhs, f);
        }
        ExprKind::If { cond, then, otherwise } => {
            walk_expr(cond, f);
            walk_expr(then, f);
            walk_expr(otherwise, f);
        }
        ExprKind::Tuple(xs) | ExprKind::List(xs) => xs.iter_mut().for_each(|x| walk_expr(x, f)),
        ExprKind::Range { start, end } => {
            walk_expr(start, f);
            walk_expr(end, f);
        }
        ExprKind::Comprehension { expr, var, iter } => {
            walk_expr(expr, f);
            f(&mut var.span);
            walk_expr(iter, f);
        }
        ExprKind::Lambda { params, body } => {
            params.iter_mut().for_each(|p| f(&mut p.span));
            walk_expr(body, f);
        }
        ExprKind::Repeat { count, body } => {
            walk_expr(count, f);
            walk_expr(body, f);
        }
        ExprKind::Block { lets, result } => {
            for l in lets {
                f(&mut l.span);
                f(&mut l.name.span);
                walk_expr(&mut l.value, f);
            }
            walk_expr(result, f);
        }
    }
}
