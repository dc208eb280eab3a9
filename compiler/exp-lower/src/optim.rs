//! Optimizers: hyperparameters (constants or schedules), state slots, and the update rule
//! as one scalar function. Wrappers such as `gradient_noise(base: adam(...))` are inlined:
//! the wrapper's statements run, and `base` runs the wrapped optimizer's statements at that
//! point, with its hyperparameters and state prefixed `base.`.

use exp_db::Db;
use exp_hir::{Applied, Val};
use exp_ir::{Hyper, HyperValue, Operand, StateInit, StateSlot};
use exp_syntax::ast::{ExprKind, ItemKind, OptStmt};

use crate::scalar::{lower_expr, FnBuilder, SVal, Scope};
use crate::{LowerError, Lowering};

/// State of the update rule being built: the current value of `p`, `g` and each slot.
struct Rule {
    b: FnBuilder,
    current: Vec<(String, Operand)>,
    hypers: Vec<Hyper>,
    state: Vec<StateSlot>,
}

/// Lowers the optimizer: returns its hyperparameters, state and update function.
pub fn lower_optimizer(
    lw: &mut Lowering<'_>,
    opt: &Applied,
) -> Result<(Vec<Hyper>, Vec<StateSlot>, exp_ir::ScalarFn), LowerError> {
    let mut r = Rule {
        b: FnBuilder::new(["p", "g", "t", "noise"].map(String::from)),
        current: Vec::new(),
        hypers: Vec::new(),
        state: Vec::new(),
    };
    let p = r.b.input("p");
    let g = r.b.input("g");
    r.current.push(("p".into(), p));
    r.current.push(("g".into(), g));
    inline(lw, &mut r, opt, "", 0)?;
    let mut outputs = vec![("p".to_string(), value(&r, "p")?)];
    for s in &r.state {
        outputs.push((s.name.clone(), value(&r, &s.name)?));
    }
    let origin = lw.origin(&opt.at);
    let f = r.b.finish("update", outputs, origin);
    Ok((r.hypers, r.state, f))
}

fn value(r: &Rule, name: &str) -> Result<Operand, LowerError> {
    r.current
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, o)| *o)
        .ok_or_else(|| LowerError(format!("`{name}` is never set")))
}

fn hyper_val(
    lw: &mut Lowering<'_>,
    r: &mut Rule,
    path: &str,
    v: &Val,
    depth: usize,
) -> Result<Option<SVal>, LowerError> {
    Ok(Some(match v {
        Val::Tuple(items) => {
            let mut out = Vec::new();
            for (i, it) in items.iter().enumerate() {
                match hyper_val(lw, r, &format!("{path}_{i}"), it, depth)? {
                    Some(s) => out.push(s),
                    None => return Ok(None),
                }
            }
            SVal::Tuple(out)
        }
        Val::Decl(a) if a.kind() == exp_hir::DefKind::Optimizer => return Ok(None),
        _ => {
            let hv = match v {
                Val::Float(x) => HyperValue::Const(*x),
                Val::Int(d) => HyperValue::Const(
                    d.as_const().ok_or_else(|| LowerError(format!("`{path}` is not a number")))? as f64,
                ),
                Val::Bool(b) => HyperValue::Const(if *b { 1.0 } else { 0.0 }),
                Val::Qty(x, _) => HyperValue::Const(*x),
                Val::Decl(a) if a.kind() == exp_hir::DefKind::Schedule => HyperValue::Schedule(lw.schedule(path, a)?),
                other => return Err(LowerError(format!("hyperparameter `{path}` is `{}`", other.type_name()))),
            };
            r.hypers.push(Hyper { name: path.to_string(), value: hv });
            SVal::Op(r.b.input(path))
        }
    }))
}

fn inline(lw: &mut Lowering<'_>, r: &mut Rule, opt: &Applied, prefix: &str, depth: usize) -> Result<(), LowerError> {
    if depth > 8 {
        return Err(LowerError("optimizers wrap each other too deeply".into()));
    }
    let db: &dyn Db = lw.db;
    let item =
        exp_hir::items::lookup(db, opt.def.file, &opt.def.key).ok_or_else(|| LowerError("lost optimizer".into()))?;
    let ast = item.ast(db).clone();
    let ItemKind::Optimizer(o) = &ast.kind else {
        return Err(LowerError(format!("`{}` is not an optimizer", opt.name)));
    };
    let mut scope = Scope { file: opt.def.file, env: Vec::new() };
    let mut wrapped: Vec<(String, Applied)> = Vec::new();
    for (name, v) in &opt.args {
        let path = format!("{prefix}{name}");
        match hyper_val(lw, r, &path, v, depth)? {
            Some(s) => scope.env.push((name.clone(), s)),
            None => {
                if let Val::Decl(a) = v {
                    wrapped.push((name.clone(), (**a).clone()));
                }
            }
        }
    }
    let t = r.b.input("t");
    scope.env.push(("t".into(), SVal::Op(t)));
    let mut slots: Vec<String> = Vec::new();
    for st in &o.body {
        let cur = |r: &Rule, n: &str| value(r, n);
        for n in ["p", "g"] {
            let v = cur(r, n)?;
            scope.env.push((n.into(), SVal::Op(v)));
        }
        for s in &slots {
            let v = cur(r, &format!("{prefix}{s}"))?;
            scope.env.push((s.clone(), SVal::Op(v)));
        }
        match st {
            OptStmt::State(items, _) => {
                for (id, init) in items {
                    let full = format!("{prefix}{}", id.name);
                    let init = match &init.kind {
                        ExprKind::Int(0) => StateInit::Zeros,
                        ExprKind::Float(x) if *x == 0.0 => StateInit::Zeros,
                        ExprKind::Int(i) => StateInit::Const(*i as f64),
                        ExprKind::Float(x) => StateInit::Const(*x),
                        ExprKind::Name(n) if n.name == "g" => StateInit::CopyGrad,
                        ExprKind::Name(n) if n.name == "p" => StateInit::CopyParam,
                        _ => {
                            return Err(LowerError(format!("state `{}` must start as a constant, `g` or `p`", id.name)))
                        }
                    };
                    r.state.push(StateSlot { name: full.clone(), init });
                    let input = r.b.input(&full);
                    r.current.push((full, input));
                    slots.push(id.name.clone());
                }
            }
            OptStmt::Let(id, e, _) => {
                let v = lower_expr(db, &mut r.b, &mut scope, e, 0)?;
                scope.env.push((id.name.clone(), v));
            }
            OptStmt::Assign(id, e, _) => {
                let v = lower_expr(db, &mut r.b, &mut scope, e, 0)?;
                let SVal::Op(v) = v else {
                    return Err(LowerError("a tuple assigned".into()));
                };
                let target =
                    if id.name == "p" || id.name == "g" { id.name.clone() } else { format!("{prefix}{}", id.name) };
                r.current.push((target, v));
            }
            OptStmt::Apply(e, _) => {
                let ExprKind::Name(n) = &e.kind else {
                    return Err(LowerError("apply of a non-name".into()));
                };
                let (_, base) = wrapped
                    .iter()
                    .find(|(w, _)| *w == n.name)
                    .ok_or_else(|| LowerError(format!("`{}` is not a wrapped optimizer", n.name)))?
                    .clone();
                inline(lw, r, &base, &format!("{prefix}{}_", n.name), depth + 1)?;
            }
        }
    }
    Ok(())
}
