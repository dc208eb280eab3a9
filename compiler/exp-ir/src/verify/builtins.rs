//! The `bad-builtin` rule: every typed builtin rebuilds from its own arguments, and the data,
//! the loss and the probes agree with each other.

use super::{Cx, Rule};
use crate::graph::NodeOp;
use crate::types::{DType, ProbeKind, Target};
use exp_ops::{Builtin, Dim, LayerOp, Shape, TargetKind};

/// `Ok` when `op` is what the registry builds from its own arguments.
fn rebuilds<T: Builtin>(op: &T) -> Result<(), String> {
    let args = op.to_args().into_iter().map(|(n, v)| (n.to_string(), v)).collect();
    match T::from_args(op.name(), &args) {
        Ok(back) if back == *op => Ok(()),
        Ok(back) => Err(format!("`{}` reads back as `{back:?}`", op.name())),
        Err(e) => Err(e.to_string()),
    }
}

fn layer_rebuilds(op: &LayerOp) -> Result<(), String> {
    match LayerOp::from_args(op.name(), &op.to_args()) {
        Ok(back) if back == *op => Ok(()),
        Ok(_) => Err(format!("`{}` reads back differently", op.name())),
        Err(e) => Err(e.to_string()),
    }
}

/// The IR's target as the registry's.
pub(super) fn target_kind(target: &Target) -> Option<TargetKind> {
    Some(match target {
        Target::Classes(n) => TargetKind::Classes(i64::try_from(*n).ok()?),
        Target::Regression(shape) => {
            TargetKind::Values(shape.0.iter().map(Dim::as_const).collect::<Option<Vec<i64>>>()?)
        }
    })
}

pub(super) fn check_builtins(cx: &mut Cx<'_>) {
    let p = cx.program;
    let d = &p.data;
    let report = |cx: &mut Cx<'_>, at: &str, r: Result<(), String>, origin| {
        if let Err(message) = r {
            cx.error(Rule::BadBuiltin, at, message, origin);
        }
    };
    report(cx, "data", rebuilds(&d.source), d.origin);
    for t in &d.transforms {
        report(cx, "data", rebuilds(&t.op), t.origin);
    }
    report(cx, "loss", rebuilds(&p.loss.op), p.loss.origin);
    for (i, node) in p.graph.nodes.iter().enumerate() {
        if let NodeOp::Layer(call) = &node.op {
            report(cx, &format!("graph %{i}"), layer_rebuilds(&call.op), node.origin);
        }
    }
    let target = target_kind(&d.target);
    for probe in &p.train.probes {
        let at = format!("probe {}", probe.name);
        let rebuilt = match &probe.kind {
            ProbeKind::Builtin(op) => rebuilds(op),
            ProbeKind::Metric(op) => rebuilds(op),
            ProbeKind::Derived { .. } => Ok(()),
        };
        report(cx, &at, rebuilt, probe.origin);
        let measures = match (&probe.kind, &target) {
            (ProbeKind::Builtin(op), Some(t)) => op.check_target(t),
            (ProbeKind::Metric(op), Some(t)) => op.check_target(t),
            _ => Ok(()),
        };
        if let Err(e) = measures {
            cx.error(Rule::TypeMismatch, &at, e.to_string(), probe.origin);
        }
    }
    check_schema(cx);
}

/// The data section states the source's schema (transforms today keep it), and the loss
/// accepts its target: `type-mismatch` otherwise. The splits belong to `unknown-split`.
fn check_schema(cx: &mut Cx<'_>) {
    let p = cx.program;
    let d = &p.data;
    let schema = d.source.schema();
    let sample = Shape::new(schema.sample.iter().map(|&s| Dim::constant(s)));
    let dtype = if schema.tokens.is_some() { DType::I64 } else { DType::F32 };
    let constant = d.x_shape.0.iter().all(|s| s.as_const().is_some());
    if constant && (d.x_shape != sample || d.x_dtype != dtype) {
        let message = format!(
            "`{}` gives samples `{}{sample}`, the data section says `{}{}`",
            d.source.name(),
            dtype.name(),
            d.x_dtype.name(),
            d.x_shape
        );
        cx.error(Rule::TypeMismatch, "data", message, d.origin);
    }
    let target = target_kind(&d.target);
    if target.as_ref().is_some_and(|t| *t != schema.target) {
        let message = format!("`{}` gives other targets than the data section states", d.source.name());
        cx.error(Rule::TypeMismatch, "data", message, d.origin);
    }
    let splits: Vec<&str> = d.splits.iter().map(String::as_str).collect();
    if splits != schema.splits {
        let message = format!(
            "`{}` gives the splits {}, the data section lists {}",
            d.source.name(),
            schema.splits.join(", "),
            splits.join(", ")
        );
        cx.error(Rule::UnknownSplit, "data", message, d.origin);
    }
    if let Some(Err(e)) = target.map(|t| p.loss.op.expected_output(&t)) {
        cx.error(Rule::TypeMismatch, "loss", format!("`{}` {e}", p.loss.op.name()), p.loss.origin);
    }
}
