//! Items and their statements: `use`, declarations, optimizers, experiments and sweeps.

use super::exprs::{block_expr, expr, let_stmt, quantity};
use super::{lits, Ctx, Kids, Pair, Res};
use crate::ast::*;
use crate::grammar::Rule;

/// An `item` pair: doc comments, then one item.
pub(crate) fn item(cx: Ctx, pair: Pair<'_>) -> Res<Item> {
    let mut docs = Vec::new();
    let mut kind_pair = None;
    for p in pair.clone().into_inner() {
        match p.as_rule() {
            Rule::doc_comment => docs.push(lits::doc_line(p.as_str()).to_string()),
            Rule::semi | Rule::EOI => {}
            _ => kind_pair = Some(p),
        }
    }
    let p = kind_pair.ok_or_else(|| cx.internal(&pair))?;
    let span = cx.span(&p);
    let kind = match p.as_rule() {
        Rule::use_item => ItemKind::Use(use_item(cx, p)?),
        Rule::decl => ItemKind::Decl(decl(cx, p)?),
        Rule::optimizer_item => ItemKind::Optimizer(optimizer(cx, p)?),
        Rule::experiment_item => ItemKind::Experiment(experiment(cx, p)?),
        Rule::sweep_item => ItemKind::Sweep(sweep(cx, p)?),
        _ => return Err(cx.internal(&p)),
    };
    let docs = if docs.is_empty() { None } else { Some(docs.join("\n")) };
    Ok(Item { docs, kind, span })
}

fn use_item(cx: Ctx, pair: Pair<'_>) -> Res<UseDecl> {
    let mut kids = Kids::of(cx, pair);
    let src = kids.expect()?;
    let source = match src.as_rule() {
        Rule::string => UseSource::File(StrLit { value: lits::string(cx, &src)?, span: cx.span(&src) }),
        _ => UseSource::Path(Kids::of(cx, src).rest().map(|w| cx.ident(&w)).collect()),
    };
    let (names, glob) = match kids.next() {
        Some(p) if p.as_rule() == Rule::use_glob => (None, true),
        Some(p) => (Some(Kids::of(cx, p).rest().map(|w| cx.ident(&w)).collect()), false),
        None => (None, false),
    };
    Ok(UseDecl { source, names, glob })
}

fn decl(cx: Ctx, pair: Pair<'_>) -> Res<Decl> {
    let mut kids = Kids::of(cx, pair.clone());
    let kw = kids.expect()?;
    let kind = match kw.clone().into_inner().next().map(|k| k.as_rule()) {
        Some(Rule::kw_fn) => DeclKind::Fn,
        Some(Rule::kw_block) => DeclKind::Block,
        Some(Rule::kw_data) => DeclKind::Data,
        Some(Rule::kw_loss) => DeclKind::Loss,
        Some(Rule::kw_schedule) => DeclKind::Schedule,
        Some(Rule::kw_probe) => DeclKind::Probe,
        Some(Rule::kw_metric) => DeclKind::Metric,
        _ => return Err(cx.internal(&kw)),
    };
    let name = cx.ident(&kids.expect()?);
    let params = kids.eat(Rule::params).map(|p| params(cx, p)).transpose()?;
    let signature = kids.eat(Rule::signature).map(|p| signature(cx, p)).transpose()?;
    let body_pair = kids.expect()?;
    let body = match body_pair.as_rule() {
        Rule::kw_builtin => Body::Builtin(cx.span(&body_pair)),
        Rule::expr => Body::Expr(expr(cx, body_pair, 0)?),
        Rule::block_expr => Body::Expr(block_expr(cx, body_pair, 0)?),
        _ => return Err(cx.internal(&body_pair)),
    };
    Ok(Decl { kind, name, params, signature, body })
}

/// A `params` pair: `(name: Type = default, ...)`.
fn params(cx: Ctx, pair: Pair<'_>) -> Res<Vec<Param>> {
    Kids::of(cx, pair).rest().map(|p| param(cx, p)).collect()
}

fn param(cx: Ctx, pair: Pair<'_>) -> Res<Param> {
    let span = cx.span(&pair);
    let mut kids = Kids::of(cx, pair);
    let name = cx.ident(&kids.expect()?);
    let ty = kids.eat(Rule::type_expr).map(|p| type_expr(cx, p)).transpose()?;
    let default = kids.eat(Rule::expr).map(|p| expr(cx, p, 0)).transpose()?;
    Ok(Param { name, ty, default, span })
}

/// A `type_expr` pair. `(T)` is `T`; `(T,)` is a one-element tuple, as in expressions.
fn type_expr(cx: Ctx, pair: Pair<'_>) -> Res<TypeExpr> {
    let inner = Kids::of(cx, pair).expect()?;
    let span = cx.span(&inner);
    match inner.as_rule() {
        Rule::ident => Ok(TypeExpr::Named(cx.ident(&inner))),
        Rule::list_type => {
            let elem = type_expr(cx, Kids::of(cx, inner).expect()?)?;
            Ok(TypeExpr::List(Box::new(elem), span))
        }
        Rule::tuple_type => {
            let raw: Vec<_> = inner.clone().into_inner().collect();
            let trailing_comma = raw.len() >= 2 && raw[raw.len() - 2].as_rule() == Rule::comma;
            let mut elems = Kids::of(cx, inner).rest().map(|p| type_expr(cx, p)).collect::<Res<Vec<_>>>()?;
            if elems.len() == 1 && !trailing_comma {
                return Ok(elems.remove(0));
            }
            Ok(TypeExpr::Tuple(elems, span))
        }
        _ => Err(cx.internal(&inner)),
    }
}

fn signature(cx: Ctx, pair: Pair<'_>) -> Res<Signature> {
    let inner = Kids::of(cx, pair).expect()?;
    if inner.as_rule() == Rule::type_expr {
        return Ok(Signature::Type(type_expr(cx, inner)?));
    }
    let span = cx.span(&inner);
    let mut kids = Kids::of(cx, inner);
    let input = dims(cx, kids.expect()?)?;
    let output = dims(cx, kids.expect()?)?;
    Ok(Signature::Tensor { input, output, span })
}

fn dims(cx: Ctx, pair: Pair<'_>) -> Res<Vec<Expr>> {
    Kids::of(cx, pair).rest().map(|p| expr(cx, p, 0)).collect()
}

fn optimizer(cx: Ctx, pair: Pair<'_>) -> Res<OptimizerDecl> {
    let mut kids = Kids::of(cx, pair);
    let name = cx.ident(&kids.expect()?);
    let params = kids.eat(Rule::params).map(|p| params(cx, p)).transpose()?.unwrap_or_default();
    let body = kids.rest().map(|p| opt_stmt(cx, p)).collect::<Res<_>>()?;
    Ok(OptimizerDecl { name, params, body })
}

fn opt_stmt(cx: Ctx, pair: Pair<'_>) -> Res<OptStmt> {
    let p = Kids::of(cx, pair).expect()?;
    let span = cx.span(&p);
    match p.as_rule() {
        Rule::state_stmt => {
            let slots = Kids::of(cx, p).rest().map(|slot| named_value(cx, slot)).collect::<Res<_>>()?;
            Ok(OptStmt::State(slots, span))
        }
        Rule::let_stmt => {
            let l = let_stmt(cx, p, 0)?;
            Ok(OptStmt::Let(l.name, l.value, l.span))
        }
        Rule::assign_stmt => {
            let (name, value) = named_value(cx, p)?;
            Ok(OptStmt::Assign(name, value, span))
        }
        Rule::apply_stmt => Ok(OptStmt::Apply(expr(cx, Kids::of(cx, p).expect()?, 0)?, span)),
        _ => Err(cx.internal(&p)),
    }
}

/// `name = value` shapes: state slots, assignments, probe entries, sweep settings.
fn named_value(cx: Ctx, pair: Pair<'_>) -> Res<(Ident, Expr)> {
    let mut kids = Kids::of(cx, pair);
    let name = cx.ident(&kids.expect()?);
    let value = expr(cx, kids.expect()?, 0)?;
    Ok((name, value))
}

fn experiment(cx: Ctx, pair: Pair<'_>) -> Res<ExperimentDecl> {
    let mut kids = Kids::of(cx, pair);
    let name = cx.ident(&kids.expect()?);
    let extends = kids.eat(Rule::ident).map(|p| cx.ident(&p));
    let body = kids.rest().map(|p| exp_stmt(cx, p)).collect::<Res<_>>()?;
    Ok(ExperimentDecl { name, extends, body })
}

fn exp_stmt(cx: Ctx, pair: Pair<'_>) -> Res<ExpStmt> {
    let p = Kids::of(cx, pair).expect()?;
    let span = cx.span(&p);
    let rule = p.as_rule();
    let mut kids = Kids::of(cx, p.clone());
    match rule {
        Rule::probes_stmt => {
            let every = quantity(cx, kids.expect()?)?;
            let probes = kids.rest().map(|e| named_value(cx, e)).collect::<Res<_>>()?;
            Ok(ExpStmt::Probes { every, probes, span })
        }
        Rule::stop_stmt => {
            let cond = expr(cx, kids.expect()?, 0)?;
            let for_count = kids.next().map(|q| quantity(cx, q)).transpose()?;
            Ok(ExpStmt::Stop { cond, for_count, span })
        }
        Rule::field_stmt => {
            let path = path(cx, kids.expect()?);
            let value = expr(cx, kids.expect()?, 0)?;
            Ok(ExpStmt::Field { path, value, span })
        }
        _ => Err(cx.internal(&p)),
    }
}

fn path(cx: Ctx, pair: Pair<'_>) -> Vec<Ident> {
    Kids::of(cx, pair).rest().map(|w| cx.ident(&w)).collect()
}

fn sweep(cx: Ctx, pair: Pair<'_>) -> Res<SweepDecl> {
    let mut kids = Kids::of(cx, pair);
    let name = cx.ident(&kids.expect()?);
    let base = cx.ident(&kids.expect()?);
    let body = kids.rest().map(|p| sweep_stmt(cx, p)).collect::<Res<_>>()?;
    Ok(SweepDecl { name, base, body })
}

fn sweep_stmt(cx: Ctx, pair: Pair<'_>) -> Res<SweepStmt> {
    let p = Kids::of(cx, pair).expect()?;
    let span = cx.span(&p);
    let rule = p.as_rule();
    let mut kids = Kids::of(cx, p.clone());
    match rule {
        Rule::objective => {
            let maximize = kids.expect()?.as_rule() == Rule::kw_maximize;
            let probe = cx.ident(&kids.expect()?);
            Ok(SweepStmt::Objective { maximize, probe, span })
        }
        Rule::axis => {
            let path = path(cx, kids.expect()?);
            let domain = expr(cx, kids.expect()?, 0)?;
            Ok(SweepStmt::Axis { path, domain, span })
        }
        Rule::setting => {
            let (name, value) = named_value(cx, p)?;
            Ok(SweepStmt::Setting { name, value, span })
        }
        _ => Err(cx.internal(&p)),
    }
}
