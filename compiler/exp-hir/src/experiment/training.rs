//! The training setup of an experiment: the model applied to the data, the loss against
//! the model's output, batch and length, and the static estimates with the memory limit.

use std::collections::BTreeMap;

use exp_diagnostics::Code;
use exp_ops::{Dim, LossTargetError, Shape};
use exp_syntax::ast::{ItemKind, OptStmt};

use crate::diag::{HDiag, Loc};
use crate::eval::value::{Applied, Val};
use crate::eval::Cx;
use crate::experiment::{Elaborated, Estimates};
use crate::model::builtin::BuiltinOp;
use crate::model::graph::{Node, NodeOp};
use crate::names::items::lookup;
use crate::types::UnitKind;

/// The largest count of steps, epochs or probe events the checker accepts: far beyond any
/// real run, and small enough that products of counts cannot overflow.
pub const MAX_COUNT: f64 = 1e9;

/// Checks data, model, loss, batch and length, and computes estimates.
pub fn check_training(cx: &mut Cx<'_>, el: &mut Elaborated) {
    let data = match el.field("data") {
        Some(Val::Data(d)) => Some(d.clone()),
        _ => None,
    };
    el.data = data.clone();
    let batch = positive_int(cx, el, "batch");
    positive_int(cx, el, "eval_batch");
    if let Some((Val::Qty(x, u), loc)) = field_with_loc(el, "train") {
        if !matches!(u, UnitKind::Steps | UnitKind::Epochs) {
            cx.error(
                HDiag::new(
                    Code::UnitMismatch,
                    format!("`train` is measured in steps or epochs, found {}", u.word()),
                    loc,
                    "wrong unit",
                )
                .with_help("write e.g. `train = 5 epochs` or `train = 20_000 steps`"),
            );
        } else if x <= 0.0 || x.fract() != 0.0 || x > MAX_COUNT {
            cx.error(HDiag::new(
                Code::InvalidValue,
                format!("`train` must be a whole number of {} between 1 and {MAX_COUNT:e}", u.word()),
                loc,
                "invalid length",
            ));
        }
    } else if let Some((v, loc)) = field_with_loc(el, "train") {
        if !matches!(v, Val::Unknown) {
            cx.error(
                HDiag::new(
                    Code::UnitMismatch,
                    format!("`train` needs a unit, found `{}`", v.type_name()),
                    loc,
                    "no unit",
                )
                .with_help(format!("write `train = {v} steps` or `train = {v} epochs`")),
            );
        }
    }
    if let Some((v, loc)) = field_with_loc(el, "init") {
        match v {
            Val::Decl(a) if matches!(a.op, Some(BuiltinOp::Init(_))) => {}
            Val::Unknown => {}
            v => {
                cx.error(
                    HDiag::new(
                        Code::TypeMismatch,
                        format!("`init` expects an initializer, found `{v}`"),
                        loc,
                        "not an initializer",
                    )
                    .with_help(format!("the initializers are {}", initializer_names())),
                );
            }
        }
    }
    let (Some(data), Some((Val::Block(model), model_loc))) = (data, field_with_loc(el, "model")) else {
        return;
    };
    let mut input = vec![Dim::symbol("B")];
    input.extend(data.sample.0.iter().cloned());
    let data_loc =
        el.fields.iter().find(|(n, _, _)| n == "data").map(|(_, _, l)| l.clone()).unwrap_or_else(|| model_loc.clone());
    let x = cx.graph.push(Node {
        op: NodeOp::Input,
        inputs: vec![],
        params: vec![],
        shape: Shape::new(input),
        ids: data.ids,
        at: data_loc.clone(),
    });
    let out = crate::model::apply(cx, &model, x, model_loc.clone());
    let Val::Tensor(out) = out else { return };
    el.output = Some(out.clone());
    if let Some(Val::Decl(loss)) = el.field("loss").cloned() {
        check_loss(cx, &loss, &out.shape, &data, &model_loc, &data_loc);
    }
    if let Some(b) = batch {
        let est = estimates(cx, el, b);
        // A saturated estimate means sizes beyond 2^64: no machine runs that, and the IR could
        // not state its memory.
        let sizes = [est.params, est.total_bytes(), est.flops_per_step, est.activation_bytes];
        if sizes.contains(&u64::MAX) {
            cx.error(
                HDiag::new(
                    Code::InvalidValue,
                    "the model is too large to size: its memory or FLOPs exceed 2^64",
                    model_loc.clone(),
                    "this model",
                )
                .with_help("check the data's `shape` and the layer sizes for a misplaced digit"),
            );
            return;
        }
        check_memory(cx, el, &est);
        el.estimates = Some(est);
    }
}

fn field_with_loc(el: &Elaborated, name: &str) -> Option<(Val, Loc)> {
    el.fields.iter().find(|(n, _, _)| n == name).map(|(_, v, l)| (v.clone(), l.clone()))
}

fn positive_int(cx: &mut Cx<'_>, el: &Elaborated, name: &str) -> Option<i64> {
    let (v, loc) = field_with_loc(el, name)?;
    let Val::Int(d) = v else { return None };
    match d.as_const() {
        Some(n) if n > 0 => Some(n),
        Some(n) => {
            cx.error(HDiag::new(
                Code::InvalidValue,
                format!("`{name}` must be positive, found {n}"),
                loc,
                "not positive",
            ));
            None
        }
        None => None,
    }
}

/// The registry's initializers, for help lines.
fn initializer_names() -> String {
    exp_ops::registry::of_kind(exp_ops::BuiltinKind::Initializer).iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

/// Checks the model's output against what the loss needs for the data's targets (the loss's
/// target rule in the registry).
fn check_loss(
    cx: &mut Cx<'_>,
    loss: &Applied,
    out: &Shape,
    data: &crate::eval::value::DataV,
    model_loc: &Loc,
    data_loc: &Loc,
) {
    let Some(BuiltinOp::Loss(op)) = &loss.op else { return };
    let dname = data.name.clone().unwrap_or_else(|| "the data".into());
    let expected = match op.expected_output(&data.schema.target) {
        Ok(shape) => shape,
        Err(LossTargetError::NeedsClasses) => {
            cx.error(
                HDiag::new(
                    Code::TypeMismatch,
                    format!("`{}` needs classification data, but `{dname}` has no classes", loss.name),
                    loss.at.clone(),
                    "classification loss",
                )
                .with_secondary(data_loc.clone(), "regression data")
                .with_help("use `mse` for regression targets"),
            );
            return;
        }
        Err(LossTargetError::BinaryOnly { classes }) => {
            cx.error(
                HDiag::new(
                    Code::TypeMismatch,
                    format!("`{}` is for two classes, but `{dname}` has {classes}", loss.name),
                    loss.at.clone(),
                    "binary loss",
                )
                .with_help("use `cross_entropy` for more than two classes"),
            );
            return;
        }
    };
    if *out != expected {
        let what = match &data.classes {
            Some(c) => format!("the {c} classes of `{dname}`"),
            None => format!("the targets of `{dname}`"),
        };
        cx.error(
            HDiag::new(
                Code::ShapeMismatch,
                format!("`{}` needs the model to output `{expected}` for {what}, found `{out}`", loss.name),
                model_loc.clone(),
                format!("outputs `{out}`"),
            )
            .with_secondary(data_loc.clone(), format!("`{dname}` is declared here"))
            .with_help(format!(
                "make the last layer produce `{}` features",
                expected.0.last().map(|d| d.to_string()).unwrap_or_default()
            )),
        );
    }
}

/// Counts the optimizer's state slots per parameter, through wrappers.
fn state_slots(cx: &Cx<'_>, opt: &Applied, depth: usize) -> u64 {
    let Some(item) = lookup(cx.db, opt.def.file, &opt.def.key) else {
        return 0;
    };
    let ast = item.ast(cx.db).clone();
    let ItemKind::Optimizer(o) = &ast.kind else {
        return 0;
    };
    let own: usize = o.body.iter().map(|s| if let OptStmt::State(slots, _) = s { slots.len() } else { 0 }).sum();
    let inner: u64 = if depth > 8 {
        0
    } else {
        opt.args
            .iter()
            .map(|(_, v)| {
                if let Val::Decl(a) = v {
                    if a.kind() == crate::names::items::DefKind::Optimizer {
                        state_slots(cx, a, depth + 1)
                    } else {
                        0
                    }
                } else {
                    0
                }
            })
            .sum()
    };
    own as u64 + inner
}

fn estimates(cx: &Cx<'_>, el: &Elaborated, batch: i64) -> Estimates {
    // Saturating arithmetic: an absurd model gets an absurd but finite estimate (which a
    // memory limit then refuses), never an overflow.
    let env = BTreeMap::from([("B".to_string(), batch)]);
    let eval = |d: &Dim| d.eval(&env).map_or(u64::MAX, |v| v.max(0) as u64);
    let params = cx.graph.params.iter().map(|p| eval(&p.shape.numel())).fold(0u64, u64::saturating_add);
    let slots = match el.field("optimizer") {
        Some(Val::Decl(o)) => state_slots(cx, o, 0),
        _ => 0,
    };
    let outputs = cx.graph.nodes.iter().map(|n| eval(&n.shape.numel())).fold(0u64, u64::saturating_add);
    let bytes = params.saturating_mul(4);
    Estimates {
        params,
        param_bytes: bytes,
        grad_bytes: bytes,
        state_bytes: bytes.saturating_mul(slots),
        activation_bytes: eval(&cx.graph.saved).saturating_add(outputs).saturating_mul(4),
        flops_per_step: eval(&cx.graph.flops).saturating_mul(3),
    }
}

fn check_memory(cx: &mut Cx<'_>, el: &Elaborated, est: &Estimates) {
    let Some((Val::Qty(limit, UnitKind::Bytes), loc)) = field_with_loc(el, "memory_limit") else {
        return;
    };
    let total = est.total_bytes() as f64;
    if total > limit {
        cx.error(
            HDiag::new(Code::MemoryLimitExceeded, format!("estimated memory {} exceeds the limit of {}", bytes(total), bytes(limit)), loc, "limit set here").with_help(format!(
                "parameters {}, gradients {}, optimizer state {}, activations {} at the declared batch; a smaller `batch` reduces activations",
                bytes(est.param_bytes as f64),
                bytes(est.grad_bytes as f64),
                bytes(est.state_bytes as f64),
                bytes(est.activation_bytes as f64)
            )),
        );
    }
}

/// Human-readable bytes, in binary units.
pub fn bytes(n: f64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut x = n;
    let mut u = 0;
    while x >= 1024.0 && u < UNITS.len() - 1 {
        x /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{x:.0} B")
    } else {
        format!("{x:.1} {}", UNITS[u])
    }
}
