//! The training plan: data, parameters, the graph, loss, optimizer, probes, stop rules,
//! configuration and estimates.

use exp_hir::{Applied, BuiltinOp, Elaborated, NodeOp as HOp, ProbeKind as HProbe, Provenance as HProv, UnitKind, Val};
use exp_ir::{
    ConfigEntry, DType, DataPlan, Estimates, Frequency, GradClip, Graph, GraphInput, LayerCall, Loss, Memory, Node,
    NodeOp, Number, Optimizer, Param, ParamRef, Probe, ProbeKind, Program, Provenance, Seeds, StopRule, Target,
    TensorType, TrainingPlan, TransformStep, Unit, Value, ValueId,
};
use exp_ops::{Dim, Initializer, Shape, TargetKind};
use exp_syntax::ast::{BinOp, ExprKind};

use crate::scalar::{lower_expr, FnBuilder, SVal, Scope};
use crate::{LowerError, Lowering};

/// A constant number from a value, for activation hyperparameters.
pub fn const_of(v: &Val) -> Option<f64> {
    match v {
        Val::Float(x) => Some(*x),
        Val::Int(d) => d.as_const().map(|i| i as f64),
        Val::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Val::Qty(x, _) => Some(*x),
        _ => None,
    }
}

/// An IR value for a configuration or argument value; non-data values print as text.
fn value(v: &Val) -> Value {
    match v {
        Val::Int(d) => d.as_const().map_or_else(|| Value::Str(d.to_string()), Value::Int),
        Val::Float(x) => Value::Float(*x),
        Val::Bool(b) => Value::Bool(*b),
        Val::Str(s) => Value::Str(s.clone()),
        Val::Qty(x, u) => {
            let unit = match u {
                UnitKind::Steps => Unit::Steps,
                UnitKind::Epochs => Unit::Epochs,
                UnitKind::Samples => Unit::Samples,
                UnitKind::Bytes | UnitKind::Probes => Unit::Bytes,
            };
            let amount = if x.fract() == 0.0 && x.abs() < 9e15 { Number::Int(*x as i64) } else { Number::Float(*x) };
            if *u == UnitKind::Probes {
                Value::Int(*x as i64)
            } else {
                Value::Quantity { amount, unit }
            }
        }
        Val::List(items) => Value::List(items.iter().map(value).collect()),
        Val::Tuple(items) => Value::Tuple(items.iter().map(value).collect()),
        other => Value::Str(other.to_string()),
    }
}

fn int_of(v: Option<&Val>) -> Option<i64> {
    match v? {
        Val::Int(d) => d.as_const(),
        _ => None,
    }
}

fn tensor(shape: &Shape, ids: bool) -> TensorType {
    TensorType { dtype: if ids { DType::I64 } else { DType::F32 }, shape: shape.clone() }
}

/// Builds everything but the file table, functions and schedules (owned by [`Lowering`]).
pub fn program(lw: &mut Lowering<'_>, el: &Elaborated) -> Result<Program, LowerError> {
    let missing = |what: &str| LowerError(format!("checked experiment has no {what}"));
    let data = el.data.clone().ok_or_else(|| missing("data"))?;
    let batch = int_of(el.field("batch")).ok_or_else(|| missing("batch"))? as u64;
    let eval_batch = int_of(el.field("eval_batch")).map_or(batch, |b| b as u64);
    let seed = int_of(el.field("seed")).unwrap_or(0);
    let shuffle = !matches!(el.field("shuffle"), Some(Val::Bool(false)));
    let origin = lw.origin(&data.source.at);
    let mut transforms = Vec::new();
    for t in &data.transforms {
        let Some(BuiltinOp::Transform(op)) = &t.op else { return Err(missing("typed transform")) };
        transforms.push(TransformStep { op: op.clone(), origin: lw.origin(&t.at) });
    }
    let target = match &data.schema.target {
        TargetKind::Classes(c) => Target::Classes(*c as u64),
        TargetKind::Values(shape) => Target::Regression(Shape::new(shape.iter().map(|&d| Dim::constant(d)))),
    };
    let source = data.source_op().ok_or_else(|| missing("typed data source"))?.clone();
    let data_plan = DataPlan {
        source,
        x_shape: data.sample.clone(),
        x_dtype: if data.ids { DType::I64 } else { DType::F32 },
        target,
        splits: data.splits.clone(),
        transforms,
        batch,
        shuffle,
        origin,
    };
    let init = match el.field("init") {
        Some(Val::Decl(a)) => match &a.op {
            Some(BuiltinOp::Init(init)) => init.clone(),
            _ => return Err(missing("typed initializer")),
        },
        _ => Initializer::PytorchDefault { scale: 1.0 },
    };
    let mut params = Vec::new();
    for p in &el.graph.params {
        let shape: Vec<i64> =
            p.shape.0.iter().map(Dim::as_const).collect::<Option<_>>().ok_or_else(|| missing("constant shape"))?;
        let init = init.param_init(p.role, &shape, &p.init);
        params.push(Param {
            name: p.name.clone(),
            shape: p.shape.clone(),
            dtype: DType::F32,
            init,
            origin: lw.origin(&p.at),
        });
    }
    let mut buffers = Vec::new();
    for p in &el.graph.buffers {
        buffers.push(Param {
            name: p.name.clone(),
            shape: p.shape.clone(),
            dtype: DType::F32,
            init: p.init.clone(),
            origin: lw.origin(&p.at),
        });
    }
    let graph = graph(lw, el)?;
    let loss_a = match el.field("loss") {
        Some(Val::Decl(a)) => a.clone(),
        _ => return Err(missing("loss")),
    };
    let Some(BuiltinOp::Loss(op)) = &loss_a.op else { return Err(missing("typed loss")) };
    let loss = Loss { op: op.clone(), origin: lw.origin(&loss_a.at) };
    let opt_a = match el.field("optimizer") {
        Some(Val::Decl(a)) => a.clone(),
        _ => return Err(missing("optimizer")),
    };
    let (hypers, state, update) = crate::optim::lower_optimizer(lw, &opt_a)?;
    let update_name = update.name.clone();
    lw.functions.push(update);
    let clip = match el.field("clip") {
        Some(Val::Float(c)) => GradClip::Norm(*c),
        Some(Val::Int(d)) => GradClip::Norm(d.as_const().unwrap_or(0) as f64),
        _ => GradClip::None,
    };
    let optimizer =
        Optimizer { name: opt_a.name.clone(), hypers, state, update: update_name, clip, origin: lw.origin(&opt_a.at) };
    let train = training(lw, el, &data, batch, eval_batch)?;
    let config = el
        .config
        .iter()
        .map(|c| ConfigEntry {
            path: c.path.clone(),
            value: value(&c.val),
            provenance: match &c.provenance {
                HProv::Default => Provenance::Default,
                HProv::Declaration => Provenance::Declaration,
                HProv::Extends(n) => Provenance::Extends(n.clone()),
                HProv::CommandLine => Provenance::CommandLine,
            },
        })
        .collect::<Vec<_>>();
    let mut config = config;
    config.sort_by(|a, b| a.path.cmp(&b.path));
    config.dedup_by(|a, b| a.path == b.path);
    let est = el.estimates.clone().unwrap_or_default();
    let buffer_bytes = el
        .graph
        .buffers
        .iter()
        .map(|b| (b.shape.numel().as_const().unwrap_or(0).max(0) as u64).saturating_mul(4))
        .fold(0u64, u64::saturating_add);
    let memory = Memory {
        params: est.param_bytes,
        buffers: buffer_bytes,
        grads: est.grad_bytes,
        optimizer_state: est.state_bytes,
        activations: est.activation_bytes,
        total: est.total_bytes().saturating_add(buffer_bytes),
    };
    let estimates = Estimates { param_count: est.params, memory, flops_per_step: est.flops_per_step };
    Ok(Program {
        name: el.name.clone(),
        hash: String::new(),
        files: Vec::new(),
        config,
        seeds: Seeds::from_base(seed as u64),
        data: data_plan,
        params,
        buffers,
        functions: Vec::new(),
        graph,
        loss,
        schedules: Vec::new(),
        optimizer,
        train,
        estimates,
    })
}

fn graph(lw: &mut Lowering<'_>, el: &Elaborated) -> Result<Graph, LowerError> {
    let mut inputs = Vec::new();
    let mut nodes = Vec::new();
    for (i, n) in el.graph.nodes.iter().enumerate() {
        let id = ValueId(i as u32);
        let ty = tensor(&n.shape, n.ids);
        let operands = n.inputs.iter().map(|&j| ValueId(j as u32)).collect();
        let op = match &n.op {
            HOp::Input => {
                inputs.push(GraphInput { id, name: "x".into(), ty });
                continue;
            }
            HOp::Layer(op) => {
                let params =
                    n.params.iter().map(|(role, name)| ParamRef { role: role.clone(), name: name.clone() }).collect();
                let call = LayerCall::from_op(op, params)
                    .ok_or_else(|| LowerError(format!("`{}` has a symbolic argument", op.name())))?;
                NodeOp::Layer(call)
            }
            HOp::Act(a) => NodeOp::Elementwise { function: lw.activation(a)? },
            HOp::Add => NodeOp::Add,
            HOp::Mul => NodeOp::Mul,
            HOp::Scale(c) => NodeOp::Scale { factor: *c },
            HOp::Concat(axis) => NodeOp::Concat { axis: *axis as u32 },
        };
        nodes.push(Node { result: id, op, operands, ty, origin: lw.origin(&n.at) });
    }
    let out = el.output.as_ref().ok_or_else(|| LowerError("no model output".into()))?;
    Ok(Graph { inputs, nodes, outputs: vec![ValueId(out.node as u32)] })
}

fn training(
    lw: &mut Lowering<'_>,
    el: &Elaborated,
    data: &exp_hir::DataV,
    batch: u64,
    eval_batch: u64,
) -> Result<TrainingPlan, LowerError> {
    let steps_per_epoch = data.schema.train_size.map(|n| n.div_ceil(batch).max(1));
    let length = match el.field("train") {
        Some(Val::Qty(x, UnitKind::Steps)) => Frequency::Steps(*x as u64),
        Some(Val::Qty(x, UnitKind::Epochs)) => Frequency::Epochs(*x as u64),
        _ => return Err(LowerError("training length".into())),
    };
    let total_steps = match length {
        Frequency::Steps(n) => Some(n),
        Frequency::Epochs(e) => steps_per_epoch.map(|s| s * e),
    };
    let mut probes = Vec::new();
    for p in &el.probes {
        let every = match p.every {
            (n, UnitKind::Epochs) => Frequency::Epochs(n),
            (n, _) => Frequency::Steps(n),
        };
        let origin = lw.origin(&p.at);
        let kind = match &p.kind {
            HProbe::Measure(a) => match &a.op {
                Some(BuiltinOp::Probe(op)) => ProbeKind::Builtin(op.clone()),
                Some(BuiltinOp::Metric(op)) => ProbeKind::Metric(op.clone()),
                _ => return Err(LowerError(format!("probe `{}` has no typed measurement", p.name))),
            },
            HProbe::Derived(expr) => {
                let (function, inputs) = derived(lw, el, &format!("probe_{}", p.name), expr, &p.at)?;
                ProbeKind::Derived { function, inputs }
            }
        };
        probes.push(Probe { name: p.name.clone(), kind, every, origin });
    }
    let mut stop_rules = Vec::new();
    for (i, s) in el.stops.iter().enumerate() {
        let origin = lw.origin(&s.at);
        let simple = match &s.cond.kind {
            ExprKind::Binary { op, lhs, rhs } => match (&lhs.kind, cmp(*op), &rhs.kind) {
                (ExprKind::Name(n), Some(c), ExprKind::Float(x)) => Some((n.name.clone(), c, *x)),
                (ExprKind::Name(n), Some(c), ExprKind::Int(x)) => Some((n.name.clone(), c, *x as f64)),
                _ => None,
            },
            _ => None,
        };
        let (probe, cmp, threshold) = match simple {
            Some(s) => s,
            None => {
                // A compound condition becomes a derived probe that is 1 when it holds.
                let name = format!("stop_{i}");
                let (function, inputs) = derived(lw, el, &name, &s.cond, &s.at)?;
                let every = probes.last().map_or(Frequency::Steps(1), |p: &Probe| p.every);
                probes.push(Probe { name: name.clone(), kind: ProbeKind::Derived { function, inputs }, every, origin });
                (name, exp_ir::Comparison::Ge, 0.5)
            }
        };
        stop_rules.push(StopRule { probe, cmp, threshold, count: s.for_count as u32, origin });
    }
    Ok(TrainingPlan { length, total_steps, steps_per_epoch, eval_batch, probes, stop_rules })
}

fn cmp(op: BinOp) -> Option<exp_ir::Comparison> {
    Some(match op {
        BinOp::Lt => exp_ir::Comparison::Lt,
        BinOp::Le => exp_ir::Comparison::Le,
        BinOp::Gt => exp_ir::Comparison::Gt,
        BinOp::Ge => exp_ir::Comparison::Ge,
        _ => return None,
    })
}

/// A scalar function of probe values, for derived probes and compound stop conditions.
fn derived(
    lw: &mut Lowering<'_>,
    el: &Elaborated,
    name: &str,
    expr: &exp_syntax::ast::Expr,
    at: &exp_hir::Loc,
) -> Result<(String, Vec<String>), LowerError> {
    let mut names = Vec::new();
    exp_hir::names_in(expr, &mut names);
    let mut inputs: Vec<String> = Vec::new();
    for (n, _) in names {
        if el.probes.iter().any(|p| p.name == n) && !inputs.contains(&n) {
            inputs.push(n);
        }
    }
    let mut b = FnBuilder::new(inputs.clone());
    let mut scope = Scope { file: at.file, env: Vec::new() };
    for n in &inputs {
        let op = b.input(n);
        scope.env.push((n.clone(), SVal::Op(op)));
    }
    let SVal::Op(out) = lower_expr(lw.db, &mut b, &mut scope, expr, 0)? else {
        return Err(LowerError("derived probe is a tuple".into()));
    };
    let origin = lw.origin(at);
    let f = b.finish(name, vec![("value".into(), out)], origin);
    let fname = f.name.clone();
    lw.functions.push(f);
    Ok((fname, inputs))
}

/// Lowers a schedule applied to its arguments; returns the function's name.
pub fn schedule_fn(lw: &mut Lowering<'_>, name: &str, a: &Applied) -> Result<String, LowerError> {
    let item =
        exp_hir::items::lookup(lw.db, a.def.file, &a.def.key).ok_or_else(|| LowerError("lost schedule".into()))?;
    let ast = item.ast(lw.db).clone();
    let exp_syntax::ast::ItemKind::Decl(d) = &ast.kind else {
        return Err(LowerError("schedule is not a declaration".into()));
    };
    let exp_syntax::ast::Body::Expr(body) = &d.body else {
        return Err(LowerError("builtin schedule".into()));
    };
    let mut b = FnBuilder::new(exp_ir::SCHEDULE_INPUTS.map(String::from));
    let mut scope = Scope { file: a.def.file, env: Vec::new() };
    for (n, v) in &a.args {
        let c = const_of(v).ok_or_else(|| LowerError(format!("schedule argument `{n}` is not a number")))?;
        let op = b.konst(c);
        scope.env.push((n.clone(), SVal::Op(op)));
    }
    for (var, input) in [("step", "step"), ("epoch", "epoch"), ("progress", "progress"), ("total", "total_steps")] {
        let op = b.input(input);
        scope.env.push((var.into(), SVal::Op(op)));
    }
    let SVal::Op(out) = lower_expr(lw.db, &mut b, &mut scope, body, 0)? else {
        return Err(LowerError("schedule returns a tuple".into()));
    };
    let origin = lw.origin(&a.at);
    let f = b.finish(name, vec![("value".into(), out)], origin);
    lw.functions.push(f);
    Ok(name.to_string())
}
