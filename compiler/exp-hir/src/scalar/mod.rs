//! Scalar code: `fn` bodies, schedules and optimizer update rules, checked and resolved once
//! per item by salsa queries ([`scalar_fn`], [`schedule_fn`], [`optimizer_rule`]), and the
//! resolved forms lowering reads ([`resolved`]).
//!
//! Each query returns the resolved definition together with the item's diagnostics, so the
//! walk that checks an item is the walk that resolves it; `check_item` reports those
//! diagnostics, and lowering reads the definitions.

mod check;
pub mod resolved;

use std::sync::Arc;

use exp_db::Db;
use exp_diagnostics::Code;
use exp_ops::{BuiltinKind, ScalarFn, ScalarOp};
use exp_syntax::ast::{Body, Decl, DeclKind, ExprKind, ItemKind, OptStmt, OptimizerDecl};

pub use check::{STy, ScalarCx};
pub use resolved::{OptimizerDef, RuleStmt, SExpr, ScalarFnDef, StateStart};

use crate::diag::{HDiag, Loc};
use crate::names::items::ItemDef;
use crate::names::scope::DefRef;
use crate::types::{Ty, UnitKind};

/// A builtin `fn`: a scalar primitive, or a builtin of another kind declared with `fn`
/// (an initializer), which scalar code cannot call.
pub(crate) enum Builtin {
    /// A primitive of the scalar op table, or `normal`.
    Primitive(ScalarFn),
    /// A builtin of another kind.
    Other(BuiltinKind),
}

/// What the `= builtin` function `def` is, from the registry; `None` for a function written
/// in the language.
pub(crate) fn builtin_fn(db: &dyn Db, def: &DefRef) -> Option<Builtin> {
    let info = crate::names::decls::decl_info(db, def)?;
    if !matches!(info.body, Some(Body::Builtin(_))) {
        return None;
    }
    Some(match ScalarFn::from_name(&def.key) {
        Some(f) => Builtin::Primitive(f),
        None => Builtin::Other(exp_ops::lookup(&def.key).map_or(BuiltinKind::ScalarFn, |s| s.kind)),
    })
}

/// A resolved function, schedule or update rule, with the diagnostics of its item.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved<T> {
    /// The definition; meaningful for lowering only when `diags` is empty.
    pub def: Arc<T>,
    /// Problems found in the item.
    pub diags: Vec<HDiag>,
}

/// The type a scalar parameter is bound to.
fn param_sty(t: Option<&exp_syntax::ast::TypeExpr>) -> STy {
    fn conv(t: &Ty) -> STy {
        match t {
            Ty::Bool => STy::Bool,
            Ty::Qty(u) => STy::Qty(*u),
            Ty::Tuple(ts) => STy::Tuple(ts.iter().map(conv).collect()),
            Ty::Optimizer => STy::Optimizer,
            _ => STy::Float,
        }
    }
    match t.map(crate::types::ty_of) {
        Some(Ok(t)) => conv(&t),
        _ => STy::Float,
    }
}

/// Binds the parameters of `d` in `cx`, resolving each default with the earlier parameters
/// in scope.
fn params(cx: &mut ScalarCx<'_>, d: &Decl) -> Vec<(String, Option<SExpr>)> {
    let mut out = Vec::new();
    for p in d.params.iter().flatten() {
        let default = p.default.as_ref().map(|e| cx.expr(e).1);
        cx.bind(&p.name.name, param_sty(p.ty.as_ref()));
        out.push((p.name.name.clone(), default));
    }
    out
}

fn loc_of(db: &dyn Db, item: ItemDef<'_>, span: exp_syntax::Span) -> Loc {
    Loc { file: item.file(db), item: Some(item.key(db).clone()), span }
}

/// The body of a scalar primitive over its parameters.
fn primitive_body(f: ScalarFn, params: &[(String, Option<SExpr>)]) -> SExpr {
    let local = |i: usize| params.get(i).map_or(SExpr::Error, |(n, _)| SExpr::Local(n.clone()));
    match f {
        ScalarFn::Op(op) => SExpr::Op(op, (0..op.arity()).map(local).collect()),
        ScalarFn::Normal => {
            SExpr::Op(ScalarOp::Add, vec![local(0), SExpr::Op(ScalarOp::Mul, vec![local(1), SExpr::Noise])])
        }
    }
}

/// A scalar function (`fn`), checked and resolved; `None` for other items and for builtin
/// functions of other kinds (initializers). A primitive's body is its op over its parameters.
///
/// Cached per item: a function called from many others is resolved once, and its callers
/// hold its definition rather than its name.
#[salsa::tracked(returns(ref), cycle_result = scalar_fn_cycle)]
pub fn scalar_fn<'db>(db: &'db dyn Db, item: ItemDef<'db>) -> Option<Resolved<ScalarFnDef>> {
    let ast = item.ast(db);
    let ItemKind::Decl(d) = &ast.kind else { return None };
    if d.kind != DeclKind::Fn {
        return None;
    }
    let (file, key) = (item.file(db), item.key(db).clone());
    let mut cx = ScalarCx::new(db, file, &key, Some(&d.name.name));
    let params = params(&mut cx, d);
    let body = match &d.body {
        Body::Builtin(_) => match ScalarFn::from_name(&d.name.name) {
            Some(f) => primitive_body(f, &params),
            None => return None,
        },
        Body::Expr(body) => {
            let (t, body_expr) = cx.expr(body);
            if !matches!(t, STy::Float | STy::Unknown) {
                let d = HDiag::new(
                    Code::TypeMismatch,
                    format!("a function must compute a `Float`, found `{t}`"),
                    cx.loc(body.span),
                    "the body's value",
                );
                cx.diags.push(d);
            }
            body_expr
        }
    };
    let def = ScalarFnDef { name: d.name.name.clone(), params, body, at: loc_of(db, item, d.name.span) };
    Some(Resolved { def: Arc::new(def), diags: cx.diags })
}

fn scalar_fn_cycle<'db>(_: &'db dyn Db, _: salsa::Id, _: ItemDef<'db>) -> Option<Resolved<ScalarFnDef>> {
    None
}

/// The variables a schedule's body sees besides its parameters, with their types; they
/// shadow items of the same name.
pub const SCHEDULE_VARIABLES: [(&str, STy); 4] = [
    ("step", STy::Qty(UnitKind::Steps)),
    ("epoch", STy::Qty(UnitKind::Epochs)),
    ("total", STy::Qty(UnitKind::Steps)),
    ("progress", STy::Float),
];

/// A schedule, checked and resolved; `None` for other items.
#[salsa::tracked(returns(ref))]
pub fn schedule_fn<'db>(db: &'db dyn Db, item: ItemDef<'db>) -> Option<Resolved<ScalarFnDef>> {
    let ast = item.ast(db);
    let ItemKind::Decl(d) = &ast.kind else { return None };
    let (DeclKind::Schedule, Body::Expr(body)) = (d.kind, &d.body) else { return None };
    let (file, key) = (item.file(db), item.key(db).clone());
    let mut cx = ScalarCx::new(db, file, &key, Some(&d.name.name));
    let params = params(&mut cx, d);
    for (n, t) in SCHEDULE_VARIABLES {
        cx.bind(n, t);
    }
    let (t, body_expr) = cx.expr(body);
    if !matches!(t, STy::Float | STy::Unknown) {
        let d = HDiag::new(
            Code::TypeMismatch,
            format!("a schedule must compute a plain `Float`, found `{t}`"),
            cx.loc(body.span),
            "the schedule's value",
        )
        .with_help("divide by a quantity of the same unit to get a plain number");
        cx.diags.push(d);
    }
    let def = ScalarFnDef { name: d.name.name.clone(), params, body: body_expr, at: loc_of(db, item, d.name.span) };
    Some(Resolved { def: Arc::new(def), diags: cx.diags })
}

/// Names bound in every update rule.
const RULE_NAMES: [&str; 4] = ["p", "g", "t", "noise"];

/// An optimizer, checked and resolved; `None` for other items.
#[salsa::tracked(returns(ref))]
pub fn optimizer_rule<'db>(db: &'db dyn Db, item: ItemDef<'db>) -> Option<Resolved<OptimizerDef>> {
    let ast = item.ast(db);
    let ItemKind::Optimizer(o) = &ast.kind else { return None };
    let (file, key) = (item.file(db), item.key(db).clone());
    let mut cx = ScalarCx::new(db, file, &key, None);
    for p in &o.params {
        cx.bind(&p.name.name, param_sty(p.ty.as_ref()));
    }
    for (n, t) in [("p", STy::Float), ("g", STy::Float), ("t", STy::Float)] {
        cx.bind(n, t);
    }
    let body = rule_body(&mut cx, o);
    let def = OptimizerDef {
        name: o.name.name.clone(),
        params: o.params.iter().map(|p| p.name.name.clone()).collect(),
        body,
        at: loc_of(db, item, o.name.span),
    };
    Some(Resolved { def: Arc::new(def), diags: cx.diags })
}

/// Checks and resolves the statements of an update rule.
fn rule_body(cx: &mut ScalarCx<'_>, o: &OptimizerDecl) -> Vec<RuleStmt> {
    let mut state: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for st in &o.body {
        match st {
            OptStmt::State(slots, _) => {
                let mut starts = Vec::new();
                for (id, init) in slots {
                    let start = state_start(cx, &id.name, init);
                    let taken = state.contains(&id.name)
                        || RULE_NAMES.contains(&id.name.as_str())
                        || o.params.iter().any(|p| p.name.name == id.name);
                    if taken {
                        let d = HDiag::new(
                            Code::DuplicateDefinition,
                            format!("`{}` is already defined in this optimizer", id.name),
                            cx.loc(id.span),
                            "defined again here",
                        )
                        .with_help(
                            "state slots need names of their own, distinct from `p`, `g`, `t` and the hyperparameters",
                        );
                        cx.diags.push(d);
                    }
                    state.push(id.name.clone());
                    cx.bind(&id.name, STy::Float);
                    starts.push((id.name.clone(), start));
                }
                out.push(RuleStmt::State(starts));
            }
            OptStmt::Let(id, e, _) => {
                let (t, v) = cx.expr(e);
                cx.bind(&id.name, t);
                out.push(RuleStmt::Let(id.name.clone(), v));
            }
            OptStmt::Assign(id, e, span) => {
                let (t, v) = cx.expr(e);
                if !(id.name == "p" || id.name == "g" || state.contains(&id.name)) {
                    let d = HDiag::new(
                        Code::InvalidAssignment,
                        format!("cannot assign to `{}`", id.name),
                        cx.loc(id.span),
                        "not `p`, `g` or a state slot",
                    )
                    .with_help(if cx.local(&id.name).is_some() {
                        format!("declare it as state (`state {} = 0`) to keep it across steps, or use `let`", id.name)
                    } else {
                        format!("use `let {} = ...` for a local value", id.name)
                    });
                    cx.diags.push(d);
                } else if !matches!(t, STy::Float | STy::Unknown) {
                    let d = HDiag::new(
                        Code::TypeMismatch,
                        format!("`{}` must be assigned a `Float`, found `{t}`", id.name),
                        cx.loc(*span),
                        "assigned here",
                    );
                    cx.diags.push(d);
                }
                out.push(RuleStmt::Assign(id.name.clone(), v));
            }
            OptStmt::Apply(e, _) => {
                let target = match &e.kind {
                    ExprKind::Name(id) if cx.local(&id.name) == Some(&STy::Optimizer) => Some(id.name.clone()),
                    _ => None,
                };
                match target {
                    Some(name) => out.push(RuleStmt::Apply(name)),
                    None => {
                        let d = HDiag::new(
                            Code::TypeMismatch,
                            "only a wrapped optimizer can be applied as a statement",
                            cx.loc(e.span),
                            "not an `Optimizer` parameter",
                        )
                        .with_help("declare a parameter `base: Optimizer` and write `base` on its own line");
                        cx.diags.push(d);
                    }
                }
            }
        }
    }
    out
}

/// How a state slot starts: a constant (folded), or a copy of `g` or `p`.
fn state_start(cx: &mut ScalarCx<'_>, name: &str, init: &exp_syntax::ast::Expr) -> StateStart {
    let (t, v) = cx.expr(init);
    if !matches!(t, STy::Float | STy::Unknown) {
        let d = HDiag::new(
            Code::TypeMismatch,
            format!("state `{name}` must start as a number, found `{t}`"),
            cx.loc(init.span),
            "initial value",
        );
        cx.diags.push(d);
        return StateStart::Zeros;
    }
    match (&v, v.constant()) {
        (_, Some(0.0)) => StateStart::Zeros,
        (_, Some(c)) => StateStart::Const(c),
        (SExpr::Local(n), _) if n == "g" => StateStart::CopyGrad,
        (SExpr::Local(n), _) if n == "p" => StateStart::CopyParam,
        (SExpr::Error, _) => StateStart::Zeros,
        _ => {
            let d = HDiag::new(
                Code::InvalidValue,
                format!("state `{name}` must start as a constant, `g` or `p`"),
                cx.loc(init.span),
                "computed from other values",
            )
            .with_help("initialise it to a number, or to `g` or `p`, and compute on the first step (`t == 1`)");
            cx.diags.push(d);
            StateStart::Zeros
        }
    }
}

/// The diagnostics of checking a `fn`, `schedule` or `optimizer` item (its queries').
pub(crate) fn item_diags(db: &dyn Db, item: ItemDef<'_>) -> Option<Vec<HDiag>> {
    if let Some(r) = scalar_fn(db, item) {
        return Some(r.diags.clone());
    }
    if let Some(r) = schedule_fn(db, item) {
        return Some(r.diags.clone());
    }
    optimizer_rule(db, item).as_ref().map(|r| r.diags.clone())
}
