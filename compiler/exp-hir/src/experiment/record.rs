//! The typed experiment record: what a checked experiment is, field by field, in the types
//! lowering needs and nothing else.
//!
//! Elaboration works on values ([`Val`]) so that it can check anything the language can
//! write; once an experiment has no errors, [`build`] turns its fields into this record: the
//! registry's typed builtins, resolved scalar code ([`crate::scalar`]), plain numbers and
//! locations. Lowering reads only the record, so it never evaluates, resolves or matches a
//! field by name.

use std::sync::Arc;

use exp_diagnostics::Code;
use exp_ops::{DataSource, Initializer, Loss, Metric, Probe, Schema, Transform};
use exp_syntax::ast::{BinOp, ExprKind};

use super::probes::{ProbeKind, ProbeSpec, StopSpec};
use super::{ConfigEntry, Elaborated, Estimates};
use crate::diag::{HDiag, Loc};
use crate::eval::value::{Applied, TVal, Val};
use crate::eval::Cx;
use crate::model::builtin::BuiltinOp;
use crate::model::graph::Graph;
use crate::names::items::DefKind;
use crate::scalar::{OptimizerDef, SExpr, STy, ScalarCx, ScalarFnDef};
use crate::types::UnitKind;

/// A value and where it was written.
#[derive(Clone, Debug)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub at: Loc,
}

/// A checked experiment, ready for lowering.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// Its name.
    pub name: String,
    /// The base seed.
    pub seed: u64,
    /// The data.
    pub data: DataRecord,
    /// The model graph, with every layer's typed op and every parameter.
    pub graph: Graph,
    /// The model's output tensor.
    pub output: TVal,
    /// The loss.
    pub loss: Located<Loss>,
    /// The optimizer with its hyperparameters, wrappers inlined by lowering.
    pub optimizer: OptimizerCall,
    /// The initializer every parameter is drawn with.
    pub init: Initializer,
    /// Training batch size.
    pub batch: u64,
    /// Evaluation batch size.
    pub eval_batch: u64,
    /// How long to train.
    pub length: Every,
    /// Global gradient-norm clipping threshold, if any.
    pub clip: Option<f64>,
    /// Whether the training split is reshuffled every epoch.
    pub shuffle: bool,
    /// Probes in declaration order.
    pub probes: Vec<ProbeRecord>,
    /// Stop rules.
    pub stops: Vec<StopRecord>,
    /// Every configuration value with its provenance.
    pub config: Vec<ConfigEntry>,
    /// Size and cost estimates.
    pub estimates: Estimates,
}

/// The data of an experiment: the source, its transforms and the resulting schema.
#[derive(Clone, Debug)]
pub struct DataRecord {
    /// The data source with every argument.
    pub source: Located<DataSource>,
    /// The transforms, in order.
    pub transforms: Vec<Located<Transform>>,
    /// What the data looks like after the transforms.
    pub schema: Schema,
}

/// A count of steps or epochs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Every {
    /// Optimizer steps.
    Steps(u64),
    /// Passes over the training split.
    Epochs(u64),
}

/// An optimizer applied to its hyperparameters.
#[derive(Clone, Debug)]
pub struct OptimizerCall {
    /// The name it was referenced by.
    pub name: String,
    /// Its resolved update rule.
    pub def: Arc<OptimizerDef>,
    /// Each hyperparameter's value, in declaration order.
    pub hypers: Vec<(String, HyperArg)>,
    /// Where it was written.
    pub at: Loc,
}

/// The value of an optimizer hyperparameter.
#[derive(Clone, Debug)]
pub enum HyperArg {
    /// A constant.
    Number(f64),
    /// A tuple (`betas`).
    Tuple(Vec<HyperArg>),
    /// A schedule of training progress.
    Schedule(ScheduleCall),
    /// A wrapped optimizer (`base` of `gradient_noise`).
    Optimizer(Box<OptimizerCall>),
}

/// A schedule applied to its arguments.
#[derive(Clone, Debug)]
pub struct ScheduleCall {
    /// Its resolved definition.
    pub def: Arc<ScalarFnDef>,
    /// The value of each parameter, in order.
    pub args: Vec<f64>,
    /// Where it was written.
    pub at: Loc,
}

/// One probe of the experiment.
#[derive(Clone, Debug)]
pub struct ProbeRecord {
    /// Its name.
    pub name: String,
    /// What it measures.
    pub measure: Measure,
    /// How often.
    pub every: Every,
    /// Where it was declared.
    pub at: Loc,
}

/// What a probe measures.
#[derive(Clone, Debug)]
pub enum Measure {
    /// A built-in probe.
    Probe(Probe),
    /// A built-in metric.
    Metric(Metric),
    /// A number computed from earlier probes, which its locals name.
    Derived(SExpr),
}

/// A stop rule.
#[derive(Clone, Debug)]
pub struct StopRecord {
    /// When it holds.
    pub cond: StopCond,
    /// Consecutive probe events it must hold for.
    pub count: u64,
    /// Where it was written.
    pub at: Loc,
}

/// The condition of a stop rule.
#[derive(Clone, Debug)]
pub enum StopCond {
    /// `probe cmp threshold`.
    Compare {
        /// The probe.
        probe: String,
        /// The comparison.
        cmp: Cmp,
        /// The number compared with.
        threshold: f64,
    },
    /// Any other condition over probes, 1 when it holds.
    Expr(SExpr),
}

/// A comparison of a simple stop rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// The record of an elaborated experiment without errors; `None` (with diagnostics in `cx`)
/// when a definition it uses has errors of its own.
pub(crate) fn build(cx: &mut Cx<'_>, el: &Elaborated) -> Option<Experiment> {
    let field = |name: &str| el.field(name);
    let int = |name: &str| match field(name) {
        Some(Val::Int(d)) => d.as_const().and_then(|v| u64::try_from(v).ok()),
        _ => None,
    };
    let data = el.data.as_ref()?;
    let source = match &data.source.op {
        Some(BuiltinOp::Source(s)) => Located { value: s.clone(), at: data.source.at.clone() },
        _ => return None,
    };
    let mut transforms = Vec::new();
    for t in &data.transforms {
        let Some(BuiltinOp::Transform(op)) = &t.op else { return None };
        transforms.push(Located { value: op.clone(), at: t.at.clone() });
    }
    let loss = match field("loss") {
        Some(Val::Decl(a)) => match &a.op {
            Some(BuiltinOp::Loss(l)) => Located { value: l.clone(), at: a.at.clone() },
            _ => return None,
        },
        _ => return None,
    };
    let init = match field("init") {
        Some(Val::Decl(a)) => match &a.op {
            Some(BuiltinOp::Init(i)) => i.clone(),
            _ => return None,
        },
        _ => Initializer::PytorchDefault { scale: 1.0 },
    };
    let optimizer = match field("optimizer") {
        Some(Val::Decl(a)) => optimizer_call(cx, a, 0)?,
        _ => return None,
    };
    let batch = int("batch")?;
    let length = match field("train") {
        Some(Val::Qty(x, UnitKind::Steps)) => Every::Steps(*x as u64),
        Some(Val::Qty(x, UnitKind::Epochs)) => Every::Epochs(*x as u64),
        _ => return None,
    };
    let clip = match field("clip") {
        Some(v) => crate::eval::value::number(v),
        None => None,
    };
    let probes = probes(cx, &el.probes)?;
    let stops = stops(cx, &el.probes, &el.stops)?;
    Some(Experiment {
        name: el.name.clone(),
        seed: int("seed").unwrap_or(0),
        data: DataRecord { source, transforms, schema: data.schema.clone() },
        graph: el.graph.clone(),
        output: el.output.clone()?,
        loss,
        optimizer,
        init,
        batch,
        eval_batch: int("eval_batch").unwrap_or(batch),
        length,
        clip,
        shuffle: !matches!(field("shuffle"), Some(Val::Bool(false))),
        probes,
        stops,
        config: el.config.clone(),
        estimates: el.estimates.clone().unwrap_or_default(),
    })
}

/// How deeply optimizers may wrap each other.
const MAX_WRAPPING: usize = 8;

/// An optimizer call with its hyperparameters resolved; `None` after an error.
fn optimizer_call(cx: &mut Cx<'_>, a: &Applied, depth: usize) -> Option<OptimizerCall> {
    if depth > MAX_WRAPPING {
        cx.error(HDiag::new(Code::InvalidValue, "optimizers wrap each other too deeply", a.at.clone(), "here"));
        return None;
    }
    let item = crate::names::items::lookup(cx.db, a.def.file, &a.def.key)?;
    let rule = crate::scalar::optimizer_rule(cx.db, item).as_ref()?;
    if !rule.diags.is_empty() {
        cx.error(crate::model::broken_definition(a, &rule.def.at));
        return None;
    }
    let mut hypers = Vec::new();
    for (name, v) in &a.args {
        hypers.push((name.clone(), hyper(cx, v, depth)?));
    }
    Some(OptimizerCall { name: a.name.clone(), def: rule.def.clone(), hypers, at: a.at.clone() })
}

fn hyper(cx: &mut Cx<'_>, v: &Val, depth: usize) -> Option<HyperArg> {
    Some(match v {
        Val::Tuple(items) => HyperArg::Tuple(items.iter().map(|i| hyper(cx, i, depth)).collect::<Option<_>>()?),
        Val::Decl(a) if a.kind() == DefKind::Optimizer => {
            HyperArg::Optimizer(Box::new(optimizer_call(cx, a, depth + 1)?))
        }
        Val::Decl(a) if a.kind() == DefKind::Schedule => HyperArg::Schedule(schedule_call(cx, a)?),
        v => HyperArg::Number(crate::eval::value::number(v)?),
    })
}

fn schedule_call(cx: &mut Cx<'_>, a: &Applied) -> Option<ScheduleCall> {
    let item = crate::names::items::lookup(cx.db, a.def.file, &a.def.key)?;
    let resolved = crate::scalar::schedule_fn(cx.db, item).as_ref()?;
    if !resolved.diags.is_empty() {
        cx.error(crate::model::broken_definition(a, &resolved.def.at));
        return None;
    }
    let args = a.args.iter().map(|(_, v)| crate::eval::value::number(v)).collect::<Option<Vec<f64>>>()?;
    Some(ScheduleCall { def: resolved.def.clone(), args, at: a.at.clone() })
}

fn every((n, unit): (u64, UnitKind)) -> Every {
    match unit {
        UnitKind::Epochs => Every::Epochs(n),
        _ => Every::Steps(n),
    }
}

/// Resolves scalar code over probe names (a derived probe or a stop condition) in the item
/// it was written in; `None` with diagnostics when it is not scalar code.
fn over_probes(cx: &mut Cx<'_>, names: &[&str], expr: &exp_syntax::ast::Expr, at: &Loc) -> Option<SExpr> {
    let item = at.item.clone().unwrap_or_default();
    let mut scx = ScalarCx::new(cx.db, at.file, &item, None);
    for n in names {
        scx.bind(n, STy::Float);
    }
    let (_, e) = scx.expr(expr);
    let clean = scx.diags.is_empty();
    cx.diags.extend(scx.diags);
    clean.then_some(e)
}

fn probes(cx: &mut Cx<'_>, specs: &[ProbeSpec]) -> Option<Vec<ProbeRecord>> {
    let mut out = Vec::new();
    for (i, p) in specs.iter().enumerate() {
        let measure = match &p.kind {
            ProbeKind::Measure(a) => match &a.op {
                Some(BuiltinOp::Probe(op)) => Measure::Probe(op.clone()),
                Some(BuiltinOp::Metric(op)) => Measure::Metric(op.clone()),
                _ => return None,
            },
            ProbeKind::Derived(expr) => {
                let earlier: Vec<&str> = specs[..i].iter().map(|q| q.name.as_str()).collect();
                Measure::Derived(over_probes(cx, &earlier, expr, &p.at)?)
            }
        };
        out.push(ProbeRecord { name: p.name.clone(), measure, every: every(p.every), at: p.at.clone() });
    }
    Some(out)
}

fn stops(cx: &mut Cx<'_>, probes: &[ProbeSpec], specs: &[StopSpec]) -> Option<Vec<StopRecord>> {
    let names: Vec<&str> = probes.iter().map(|p| p.name.as_str()).collect();
    let mut out = Vec::new();
    for s in specs {
        let cond = match simple(&s.cond) {
            Some(c) => c,
            None => StopCond::Expr(over_probes(cx, &names, &s.cond, &s.at)?),
        };
        out.push(StopRecord { cond, count: s.for_count, at: s.at.clone() });
    }
    Some(out)
}

/// `probe < 0.5` and the like, written as a probe, a comparison and a number.
fn simple(cond: &exp_syntax::ast::Expr) -> Option<StopCond> {
    let ExprKind::Binary { op, lhs, rhs } = &cond.kind else { return None };
    let cmp = match op {
        BinOp::Lt => Cmp::Lt,
        BinOp::Le => Cmp::Le,
        BinOp::Gt => Cmp::Gt,
        BinOp::Ge => Cmp::Ge,
        _ => return None,
    };
    let threshold = match rhs.kind {
        ExprKind::Float(x) => x,
        ExprKind::Int(x) => x as f64,
        _ => return None,
    };
    let ExprKind::Name(probe) = &lhs.kind else { return None };
    Some(StopCond::Compare { probe: probe.name.clone(), cmp, threshold })
}
