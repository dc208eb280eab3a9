//! Optimizers: hyperparameters (constants or schedules), state slots, and the update rule
//! as one scalar function. Wrappers such as `gradient_noise(base: adam(...))` are inlined:
//! the wrapper's statements run, and `base` runs the wrapped optimizer's statements at that
//! point, with its hyperparameters and state prefixed `base_`.

use exp_hir::{HyperArg, OptimizerCall, RuleStmt, StateStart};
use exp_ir::{Hyper, HyperValue, Operand, StateInit, StateSlot};

use crate::scalar::{lower, Env, FnBuilder, SVal};
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
    opt: &OptimizerCall,
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
    inline(lw, &mut r, opt, "")?;
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

/// The value of hyperparameter `path` inside the rule: an input of the update function for
/// a number or schedule, a tuple of them, or `None` for a wrapped optimizer.
fn hyper_val(lw: &mut Lowering<'_>, r: &mut Rule, path: &str, v: &HyperArg) -> Result<Option<SVal>, LowerError> {
    let value = match v {
        HyperArg::Tuple(items) => {
            let mut out = Vec::new();
            for (i, it) in items.iter().enumerate() {
                match hyper_val(lw, r, &format!("{path}_{i}"), it)? {
                    Some(s) => out.push(s),
                    None => return Ok(None),
                }
            }
            return Ok(Some(SVal::Tuple(out)));
        }
        HyperArg::Optimizer(_) => return Ok(None),
        HyperArg::Number(x) => HyperValue::Const(*x),
        HyperArg::Schedule(s) => HyperValue::Schedule(lw.schedule(path, s)?),
    };
    r.hypers.push(Hyper { name: path.to_string(), value });
    Ok(Some(SVal::Op(r.b.input(path))))
}

fn start(s: StateStart) -> StateInit {
    match s {
        StateStart::Zeros => StateInit::Zeros,
        StateStart::Const(c) => StateInit::Const(c),
        StateStart::CopyGrad => StateInit::CopyGrad,
        StateStart::CopyParam => StateInit::CopyParam,
    }
}

fn inline(lw: &mut Lowering<'_>, r: &mut Rule, opt: &OptimizerCall, prefix: &str) -> Result<(), LowerError> {
    let mut scope: Env = Vec::new();
    let mut wrapped: Vec<(String, &OptimizerCall)> = Vec::new();
    for (name, v) in &opt.hypers {
        let path = format!("{prefix}{name}");
        match hyper_val(lw, r, &path, v)? {
            Some(s) => scope.push((name.clone(), s)),
            None => {
                if let HyperArg::Optimizer(o) = v {
                    wrapped.push((name.clone(), o));
                }
            }
        }
    }
    let t = r.b.input("t");
    scope.push(("t".into(), SVal::Op(t)));
    let mut slots: Vec<String> = Vec::new();
    for st in &opt.def.body {
        for n in ["p", "g"] {
            let v = value(r, n)?;
            scope.push((n.into(), SVal::Op(v)));
        }
        for s in &slots {
            let v = value(r, &format!("{prefix}{s}"))?;
            scope.push((s.clone(), SVal::Op(v)));
        }
        match st {
            RuleStmt::State(items) => {
                for (name, init) in items {
                    let full = format!("{prefix}{name}");
                    r.state.push(StateSlot { name: full.clone(), init: start(*init) });
                    let input = r.b.input(&full);
                    r.current.push((full, input));
                    slots.push(name.clone());
                }
            }
            RuleStmt::Let(name, e) => {
                let v = lower(&mut r.b, &mut scope, e)?;
                scope.push((name.clone(), v));
            }
            RuleStmt::Assign(name, e) => {
                let v = lower(&mut r.b, &mut scope, e)?.one()?;
                let target = if name == "p" || name == "g" { name.clone() } else { format!("{prefix}{name}") };
                r.current.push((target, v));
            }
            RuleStmt::Apply(name) => {
                let base = wrapped
                    .iter()
                    .find(|(w, _)| w == name)
                    .map(|(_, o)| *o)
                    .ok_or_else(|| LowerError(format!("`{name}` is not a wrapped optimizer")))?;
                inline(lw, r, base, &format!("{prefix}{name}_"))?;
            }
        }
    }
    Ok(())
}
