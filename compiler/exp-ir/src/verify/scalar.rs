//! Verifier rules on scalar functions, the optimizer and schedules.

use super::{Cx, Rule};
use crate::scalar::{GradClip, HyperValue, Operand, ScalarFn, ScalarId, SCHEDULE_INPUTS, UPDATE_INPUTS};
use std::collections::HashSet;

pub(super) fn check_functions(cx: &mut Cx<'_>) {
    for func in &cx.program.functions {
        check_function(cx, func);
    }
}

fn check_function(cx: &mut Cx<'_>, func: &ScalarFn) {
    let at = format!("fn {}", func.name);
    let mut defined: HashSet<ScalarId> = HashSet::new();
    let check_use = |cx: &mut Cx<'_>, defined: &HashSet<ScalarId>, op: &Operand, what: &str| match op {
        Operand::Input(i) if *i as usize >= func.inputs.len() => {
            cx.error(
                Rule::SsaUndefined,
                &at,
                format!("{what} reads input #{i}, but there are {}", func.inputs.len()),
                func.origin,
            );
        }
        Operand::Value(id) if !defined.contains(id) => {
            cx.error(Rule::SsaUndefined, &at, format!("{what} uses a value before its definition"), func.origin);
        }
        _ => {}
    };
    for (i, inst) in func.body.iter().enumerate() {
        let what = format!("v{i}");
        for arg in &inst.args {
            check_use(cx, &defined, arg, &what);
        }
        if inst.args.len() != inst.op.arity() {
            let message = format!("{what} gives {} operands to an op of arity {}", inst.args.len(), inst.op.arity());
            cx.error(Rule::ScalarArity, &at, message, func.origin);
        }
        if !defined.insert(inst.result) {
            cx.error(Rule::SsaRedefined, &at, format!("{what} redefines an earlier value"), func.origin);
        }
    }
    if func.outputs.is_empty() {
        cx.error(Rule::FnOutputs, &at, "the function has no outputs", func.origin);
    }
    for out in &func.outputs {
        check_use(cx, &defined, &out.value, &format!("output `{}`", out.name));
    }
}

fn find_fn<'p>(cx: &mut Cx<'p>, at: &str, name: &str) -> Option<&'p ScalarFn> {
    let found = cx.program.functions.iter().find(|f| f.name == name);
    if found.is_none() {
        cx.error(Rule::UnknownFunction, at, format!("no function `@{name}`"), None);
    }
    found
}

pub(super) fn check_optimizer(cx: &mut Cx<'_>) {
    let program = cx.program;
    let opt = &program.optimizer;
    let at = format!("optimizer {}", opt.name);
    for h in &opt.hypers {
        if let HyperValue::Schedule(s) = &h.value {
            if !program.schedules.iter().any(|sch| &sch.name == s) {
                cx.error(
                    Rule::UnknownSchedule,
                    &at,
                    format!("hyperparameter `{}` uses unknown schedule `{s}`", h.name),
                    opt.origin,
                );
            }
        }
    }
    if let GradClip::Norm(c) | GradClip::Value(c) = opt.clip {
        if c.is_nan() || c <= 0.0 {
            cx.error(Rule::NonPositive, &at, format!("clipping threshold {c} is not positive"), opt.origin);
        }
    }
    if let Some(rule) = find_fn(cx, &at, &opt.update) {
        let state = opt.state.iter().map(|s| s.name.as_str());
        let readable: HashSet<&str> =
            UPDATE_INPUTS.into_iter().chain(opt.hypers.iter().map(|h| h.name.as_str())).chain(state.clone()).collect();
        for input in rule.inputs.iter().filter(|i| !readable.contains(i.as_str())) {
            cx.error(
                Rule::UpdateRule,
                &at,
                format!("update rule reads `{input}`, which is no input, hyperparameter or state"),
                opt.origin,
            );
        }
        let written: HashSet<&str> = rule.outputs.iter().map(|o| o.name.as_str()).collect();
        let required: HashSet<&str> = std::iter::once("p").chain(state).collect();
        let mut missing: Vec<&&str> = required.difference(&written).collect();
        let mut extra: Vec<&&str> = written.difference(&required).collect();
        missing.sort();
        extra.sort();
        if !missing.is_empty() || !extra.is_empty() {
            let message =
                format!("update rule must write exactly `p` and the state; missing {missing:?}, extra {extra:?}");
            cx.error(Rule::UpdateRule, &at, message, opt.origin);
        }
    }
    for sch in &program.schedules {
        let at = format!("schedule {}", sch.name);
        let Some(func) = find_fn(cx, &at, &sch.function) else {
            continue;
        };
        let bad_input = func.inputs.iter().find(|i| !SCHEDULE_INPUTS.contains(&i.as_str()));
        if bad_input.is_some() || func.outputs.len() != 1 {
            let message = format!("`@{}` must read only {SCHEDULE_INPUTS:?} and have one output", func.name);
            cx.error(Rule::ScheduleFn, &at, message, sch.origin);
        }
    }
}
