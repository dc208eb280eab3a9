//! Verifier rules on names, the header sections, data, parameters, the training plan and the
//! estimates.

use super::{Cx, Rule};
use crate::graph::{NodeOp, GENERIC_OPS};
use crate::init::init_fans;
use crate::names::{is_ident, is_path, is_scalar_value_name};
use crate::scalar::UPDATE_INPUTS;
use crate::seed::SeedPurpose;
use crate::types::{Frequency, Origin, ProbeKind, Provenance, Target};
use exp_ops::Shape;

/// Reports `name` under `malformed-name` unless `ok`.
fn name(cx: &mut Cx<'_>, at: &str, name: &str, ok: bool) {
    if !ok {
        cx.error(Rule::MalformedName, at, format!("`{name}` cannot be printed here as a bare name"), None);
    }
}

pub(super) fn check_names(cx: &mut Cx<'_>) {
    let p = cx.program;
    name(cx, "header", &p.name, is_ident(&p.name));
    for entry in &p.config {
        name(cx, "config", &entry.path, is_path(&entry.path));
        if let Provenance::Extends(parent) = &entry.provenance {
            name(cx, "config", parent, is_path(parent));
        }
    }
    for split in &p.data.splits {
        name(cx, "data", split, is_ident(split));
    }
    for param in p.params.iter().chain(&p.buffers) {
        name(cx, "params", &param.name, is_path(&param.name));
    }
    for func in &p.functions {
        let at = format!("fn {}", func.name);
        name(cx, &at, &func.name, is_ident(&func.name));
        for input in &func.inputs {
            name(cx, &at, input, is_ident(input) && !is_scalar_value_name(input));
        }
        for out in &func.outputs {
            name(cx, &at, &out.name, is_ident(&out.name));
        }
        cx.unique(&at, func.inputs.iter().map(String::as_str));
        cx.unique(&at, func.outputs.iter().map(|o| o.name.as_str()));
    }
    check_graph_names(cx);
    check_plan_names(cx);
}

fn check_graph_names(cx: &mut Cx<'_>) {
    let p = cx.program;
    for input in &p.graph.inputs {
        name(cx, "graph", &input.name, is_ident(&input.name));
    }
    for node in &p.graph.nodes {
        if let NodeOp::Layer(call) = &node.op {
            let op = call.op.name();
            name(cx, "graph", op, is_ident(op) && !GENERIC_OPS.contains(&op));
            for r in &call.params {
                name(cx, "graph", &r.role, is_path(&r.role));
            }
        }
    }
    cx.unique("graph", p.graph.inputs.iter().map(|i| i.name.as_str()));
    cx.unique("params", p.params.iter().chain(&p.buffers).map(|x| x.name.as_str()));
    cx.unique("functions", p.functions.iter().map(|f| f.name.as_str()));
    cx.unique("data", p.data.splits.iter().map(String::as_str));
}

fn check_plan_names(cx: &mut Cx<'_>) {
    let p = cx.program;
    for s in &p.schedules {
        name(cx, "schedules", &s.name, is_ident(&s.name));
    }
    let opt = &p.optimizer;
    name(cx, "optimizer", &opt.name, is_ident(&opt.name));
    for n in opt.hypers.iter().map(|h| &h.name).chain(opt.state.iter().map(|s| &s.name)) {
        name(cx, "optimizer", n, is_ident(n));
    }
    for probe in &p.train.probes {
        name(cx, "train", &probe.name, is_ident(&probe.name));
    }
    cx.unique("schedules", p.schedules.iter().map(|s| s.name.as_str()));
    let opt_names = opt.hypers.iter().map(|h| h.name.as_str()).chain(opt.state.iter().map(|s| s.name.as_str()));
    cx.unique("optimizer", UPDATE_INPUTS.into_iter().chain(opt_names));
    cx.unique("train", p.train.probes.iter().map(|x| x.name.as_str()));
}

/// Config order, seeds and origins.
pub(super) fn check_header(cx: &mut Cx<'_>) {
    let p = cx.program;
    for pair in p.config.windows(2) {
        if pair[0].path >= pair[1].path {
            cx.error(
                Rule::ConfigOrder,
                "config",
                format!("`{}` must come after `{}`", pair[0].path, pair[1].path),
                None,
            );
        }
    }
    for purpose in SeedPurpose::ALL {
        let want = crate::seed::derive_seed(p.seeds.base, purpose);
        if p.seeds.get(purpose) != want {
            cx.error(
                Rule::SeedMismatch,
                "seeds",
                format!("`{}` is not derived from base {}", purpose.name(), p.seeds.base),
                None,
            );
        }
    }
    for origin in all_origins(cx) {
        if origin.file as usize >= p.files.len() || origin.start > origin.end {
            cx.error(Rule::OriginRange, "origins", format!("`{origin}` is not a range of a listed file"), Some(origin));
        }
    }
}

fn all_origins(cx: &Cx<'_>) -> Vec<Origin> {
    let p = cx.program;
    let mut out = vec![p.data.origin, p.loss.origin, p.optimizer.origin];
    out.extend(p.data.transforms.iter().map(|t| t.origin));
    out.extend(p.params.iter().chain(&p.buffers).map(|x| x.origin));
    out.extend(p.functions.iter().map(|f| f.origin));
    out.extend(p.graph.nodes.iter().map(|n| n.origin));
    out.extend(p.schedules.iter().map(|s| s.origin));
    out.extend(p.train.probes.iter().map(|x| x.origin));
    out.extend(p.train.stop_rules.iter().map(|r| r.origin));
    out.into_iter().flatten().collect()
}

fn positive(cx: &mut Cx<'_>, at: &str, what: &str, n: u64) {
    if n == 0 {
        cx.error(Rule::NonPositive, at, format!("{what} must be positive"), None);
    }
}

/// Reports a shape that is not made of non-negative constants.
fn constant_shape(cx: &mut Cx<'_>, at: &str, shape: &Shape, origin: Option<Origin>) {
    if !shape.0.iter().all(|d| d.as_const().is_some_and(|c| c >= 0)) {
        cx.error(Rule::SymbolUse, at, format!("shape `{shape}` must be made of non-negative constants"), origin);
    }
}

pub(super) fn check_data_and_params(cx: &mut Cx<'_>) {
    let p = cx.program;
    let d = &p.data;
    positive(cx, "data", "the batch size", d.batch);
    constant_shape(cx, "data", &d.x_shape, d.origin);
    match &d.target {
        Target::Classes(n) => positive(cx, "data", "the number of classes", *n),
        Target::Regression(shape) => constant_shape(cx, "data", shape, d.origin),
    }
    if !d.splits.iter().any(|s| s == "train") {
        cx.error(Rule::UnknownSplit, "data", "the data has no `train` split", d.origin);
    }
    for param in p.params.iter().chain(&p.buffers) {
        let at = format!("param {}", param.name);
        constant_shape(cx, &at, &param.shape, param.origin);
        if init_fans(&param.init).iter().any(|f| f.as_const().is_none()) {
            cx.error(Rule::SymbolUse, &at, "initializer fans must be constants", param.origin);
        }
    }
}

pub(super) fn check_train(cx: &mut Cx<'_>) {
    let p = cx.program;
    let t = &p.train;
    let (Frequency::Steps(length) | Frequency::Epochs(length)) = t.length;
    positive(cx, "train", "the training length", length);
    if let Some(n) = t.total_steps {
        positive(cx, "train", "the total number of steps", n);
    }
    if let Some(n) = t.steps_per_epoch {
        positive(cx, "train", "the number of steps per epoch", n);
    }
    positive(cx, "train", "the evaluation batch size", t.eval_batch);
    check_length(cx);
    for (i, probe) in t.probes.iter().enumerate() {
        let at = format!("probe {}", probe.name);
        let (Frequency::Steps(n) | Frequency::Epochs(n)) = probe.every;
        positive(cx, &at, "the probe frequency", n);
        if let Some(split) = probe.split().filter(|s| !p.data.splits.iter().any(|d| d == s)) {
            cx.error(Rule::UnknownSplit, &at, format!("the data has no split `{split}`"), probe.origin);
        }
        let ProbeKind::Derived { function, inputs } = &probe.kind else {
            continue;
        };
        for input in inputs.iter().filter(|x| !t.probes[..i].iter().any(|q| &q.name == *x)) {
            cx.error(
                Rule::UnknownProbe,
                &at,
                format!("`{input}` is not a probe declared before this one"),
                probe.origin,
            );
        }
        let Some(func) = p.functions.iter().find(|f| &f.name == function) else {
            cx.error(Rule::UnknownFunction, &at, format!("no function `@{function}`"), probe.origin);
            continue;
        };
        if func.inputs.len() != inputs.len() || func.outputs.len() != 1 {
            let message =
                format!("a derived probe passes one probe per input of `@{function}`, which needs one output");
            cx.error(Rule::DerivedProbe, &at, message, probe.origin);
        }
    }
    for rule in &t.stop_rules {
        if !t.probes.iter().any(|q| q.name == rule.probe) {
            cx.error(Rule::UnknownProbe, "stop rule", format!("no probe `{}`", rule.probe), rule.origin);
        }
        positive(cx, "stop rule", "the `for` count", u64::from(rule.count));
    }
}

/// The step counts agree with the declared length, where both are known; a zero count was
/// reported as `non-positive` and is not judged again.
fn check_length(cx: &mut Cx<'_>) {
    let t = &cx.program.train;
    let (Frequency::Steps(length) | Frequency::Epochs(length)) = t.length;
    if [Some(length), t.total_steps, t.steps_per_epoch].contains(&Some(0)) {
        return;
    }
    let (want, why) = match (t.length, t.steps_per_epoch) {
        (Frequency::Steps(n), _) => (Some(n), format!("the length is {n} steps")),
        (Frequency::Epochs(e), Some(s)) => (e.checked_mul(s), format!("the length is {e} epochs of {s} steps")),
        // The runtime counts the steps once it has read the data.
        (Frequency::Epochs(_), None) => return,
    };
    if want.is_none() || t.total_steps != want {
        let overflow = if want.is_none() { ", which overflows" } else { "" };
        let message = format!("total_steps is {}, but {why}{overflow}", crate::print::optional(t.total_steps));
        cx.error(Rule::TrainLength, "train", message, None);
    }
}

pub(super) fn check_estimates(cx: &mut Cx<'_>) {
    let p = cx.program;
    let e = &p.estimates;
    let sizes: Option<Vec<i64>> = p.params.iter().map(|x| x.shape.numel().as_const()).collect();
    let count = sizes.and_then(|s| s.into_iter().try_fold(0u64, |acc, n| acc.checked_add(u64::try_from(n).ok()?)));
    if count.is_some_and(|c| c != e.param_count) {
        let message = format!("param_count is {}, but the parameters hold {}", e.param_count, count.unwrap_or(0));
        cx.error(Rule::EstimateMismatch, "estimates", message, None);
    }
    let m = &e.memory;
    let sum =
        [m.params, m.buffers, m.grads, m.optimizer_state, m.activations].into_iter().try_fold(0u64, u64::checked_add);
    if sum != Some(m.total) {
        cx.error(
            Rule::EstimateMismatch,
            "estimates",
            format!("memory.total is {}, not the sum of its categories", m.total),
            None,
        );
    }
}
