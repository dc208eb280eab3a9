//! The training plan: data, parameters, the graph, loss, optimizer, probes, stop rules,
//! configuration and estimates, from the experiment's typed record.

use exp_hir::{
    Cmp, ConfigValue, Every, Experiment, Measure, NodeOp as HOp, Provenance as HProv, SExpr, ScheduleCall, StopCond,
    UnitKind,
};
use exp_ir::{
    ConfigEntry, DType, DataPlan, Estimates, Frequency, GradClip, Graph, GraphInput, LayerCall, Loss, Memory, Node,
    NodeOp, Number, Optimizer, Param, ParamRef, Probe, ProbeKind, Program, Provenance, Seeds, StopRule, Target,
    TensorType, TrainingPlan, TransformStep, Unit, Value, ValueId,
};
use exp_ops::{Dim, Shape, TargetKind};

use crate::scalar::{lower, FnBuilder, SVal};
use crate::{LowerError, Lowering};

/// The IR value of a configuration value.
fn value(v: &ConfigValue) -> Value {
    match v {
        ConfigValue::Int(i) => Value::Int(*i),
        ConfigValue::Float(x) => Value::Float(*x),
        ConfigValue::Bool(b) => Value::Bool(*b),
        ConfigValue::Str(s) | ConfigValue::Text(s) => Value::Str(s.clone()),
        ConfigValue::Quantity(x, UnitKind::Probes) => Value::Int(*x as i64),
        ConfigValue::Quantity(x, u) => {
            let unit = match u {
                UnitKind::Steps => Unit::Steps,
                UnitKind::Epochs => Unit::Epochs,
                UnitKind::Samples => Unit::Samples,
                UnitKind::Bytes | UnitKind::Probes => Unit::Bytes,
            };
            let amount = if x.fract() == 0.0 && x.abs() < 9e15 { Number::Int(*x as i64) } else { Number::Float(*x) };
            Value::Quantity { amount, unit }
        }
        ConfigValue::List(items) => Value::List(items.iter().map(value).collect()),
        ConfigValue::Tuple(items) => Value::Tuple(items.iter().map(value).collect()),
    }
}

fn tensor(shape: &Shape, ids: bool) -> TensorType {
    TensorType { dtype: if ids { DType::I64 } else { DType::F32 }, shape: shape.clone() }
}

fn frequency(every: Every) -> Frequency {
    match every {
        Every::Steps(n) => Frequency::Steps(n),
        Every::Epochs(n) => Frequency::Epochs(n),
    }
}

fn constant_shape(shape: &Shape) -> Result<Vec<i64>, LowerError> {
    shape.0.iter().map(Dim::as_const).collect::<Option<_>>().ok_or_else(|| LowerError(format!("shape `{shape}`")))
}

/// Builds everything but the file table, functions and schedules (owned by [`Lowering`]).
pub fn program(lw: &mut Lowering<'_>, e: &Experiment) -> Result<Program, LowerError> {
    let data = &e.data;
    let mut transforms = Vec::new();
    for t in &data.transforms {
        transforms.push(TransformStep { op: t.value.clone(), origin: lw.origin(&t.at) });
    }
    let target = match &data.schema.target {
        TargetKind::Classes(c) => Target::Classes(*c as u64),
        TargetKind::Values(shape) => Target::Regression(Shape::new(shape.iter().map(|&d| Dim::constant(d)))),
    };
    let data_plan = DataPlan {
        source: data.source.value.clone(),
        x_shape: Shape::new(data.schema.sample.iter().map(|&d| Dim::constant(d))),
        x_dtype: if data.schema.tokens.is_some() { DType::I64 } else { DType::F32 },
        target,
        splits: data.schema.splits.iter().map(|s| s.to_string()).collect(),
        transforms,
        batch: e.batch,
        shuffle: e.shuffle,
        origin: lw.origin(&data.source.at),
    };
    let mut params = Vec::new();
    for p in &e.graph.params {
        let init = e.init.param_init(p.role, &constant_shape(&p.shape)?, &p.init);
        params.push(Param {
            name: p.name.clone(),
            shape: p.shape.clone(),
            dtype: DType::F32,
            init,
            origin: lw.origin(&p.at),
        });
    }
    let mut buffers = Vec::new();
    for p in &e.graph.buffers {
        let (shape, init) = (p.shape.clone(), p.init.clone());
        buffers.push(Param { name: p.name.clone(), shape, dtype: DType::F32, init, origin: lw.origin(&p.at) });
    }
    let graph = graph(lw, e)?;
    let loss = Loss { op: e.loss.value.clone(), origin: lw.origin(&e.loss.at) };
    let (hypers, state, update) = crate::optim::lower_optimizer(lw, &e.optimizer)?;
    let update_name = update.name.clone();
    lw.functions.push(update);
    let clip = e.clip.map_or(GradClip::None, GradClip::Norm);
    let optimizer = Optimizer {
        name: e.optimizer.name.clone(),
        hypers,
        state,
        update: update_name,
        clip,
        origin: lw.origin(&e.optimizer.at),
    };
    let train = training(lw, e)?;
    let mut config: Vec<ConfigEntry> = e
        .config
        .iter()
        .map(|c| ConfigEntry {
            path: c.path.clone(),
            value: value(&c.value),
            provenance: match &c.provenance {
                HProv::Default => Provenance::Default,
                HProv::Declaration => Provenance::Declaration,
                HProv::Extends(n) => Provenance::Extends(n.clone()),
                HProv::CommandLine => Provenance::CommandLine,
            },
        })
        .collect();
    config.sort_by(|a, b| a.path.cmp(&b.path));
    config.dedup_by(|a, b| a.path == b.path);
    let est = &e.estimates;
    let buffer_bytes = e
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
        name: e.name.clone(),
        hash: String::new(),
        files: Vec::new(),
        config,
        seeds: Seeds::from_base(e.seed),
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

fn graph(lw: &mut Lowering<'_>, e: &Experiment) -> Result<Graph, LowerError> {
    let mut inputs = Vec::new();
    let mut nodes = Vec::new();
    for (i, n) in e.graph.nodes.iter().enumerate() {
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
            HOp::Act(act) => NodeOp::Elementwise { function: lw.activation(act)? },
            HOp::Add => NodeOp::Add,
            HOp::Mul => NodeOp::Mul,
            HOp::Scale(c) => NodeOp::Scale { factor: *c },
            HOp::Concat(axis) => NodeOp::Concat { axis: *axis as u32 },
        };
        nodes.push(Node { result: id, op, operands, ty, origin: lw.origin(&n.at) });
    }
    Ok(Graph { inputs, nodes, outputs: vec![ValueId(e.output.node as u32)] })
}

fn training(lw: &mut Lowering<'_>, e: &Experiment) -> Result<TrainingPlan, LowerError> {
    let steps_per_epoch = e.data.schema.train_size.map(|n| n.div_ceil(e.batch).max(1));
    let length = frequency(e.length);
    let total_steps = match length {
        Frequency::Steps(n) => Some(n),
        Frequency::Epochs(epochs) => steps_per_epoch.map(|s| s * epochs),
    };
    let names: Vec<&str> = e.probes.iter().map(|p| p.name.as_str()).collect();
    let mut probes = Vec::new();
    for p in &e.probes {
        let origin = lw.origin(&p.at);
        let kind = match &p.measure {
            Measure::Probe(op) => ProbeKind::Builtin(op.clone()),
            Measure::Metric(op) => ProbeKind::Metric(op.clone()),
            Measure::Derived(expr) => {
                let (function, inputs) = derived(lw, &names, &format!("probe_{}", p.name), expr, &p.at)?;
                ProbeKind::Derived { function, inputs }
            }
        };
        probes.push(Probe { name: p.name.clone(), kind, every: frequency(p.every), origin });
    }
    let mut stop_rules = Vec::new();
    for (i, s) in e.stops.iter().enumerate() {
        let origin = lw.origin(&s.at);
        let (probe, cmp, threshold) = match &s.cond {
            StopCond::Compare { probe, cmp, threshold } => (probe.clone(), comparison(*cmp), *threshold),
            StopCond::Expr(expr) => {
                // A compound condition becomes a derived probe that is 1 when it holds.
                let name = format!("stop_{i}");
                let (function, inputs) = derived(lw, &names, &name, expr, &s.at)?;
                let every = probes.last().map_or(Frequency::Steps(1), |p: &Probe| p.every);
                probes.push(Probe { name: name.clone(), kind: ProbeKind::Derived { function, inputs }, every, origin });
                (name, exp_ir::Comparison::Ge, 0.5)
            }
        };
        stop_rules.push(StopRule { probe, cmp, threshold, count: s.count as u32, origin });
    }
    Ok(TrainingPlan { length, total_steps, steps_per_epoch, eval_batch: e.eval_batch, probes, stop_rules })
}

fn comparison(cmp: Cmp) -> exp_ir::Comparison {
    match cmp {
        Cmp::Lt => exp_ir::Comparison::Lt,
        Cmp::Le => exp_ir::Comparison::Le,
        Cmp::Gt => exp_ir::Comparison::Gt,
        Cmp::Ge => exp_ir::Comparison::Ge,
    }
}

/// A scalar function of probe values, for derived probes and compound stop conditions; its
/// inputs are the probes it reads, in first-use order.
fn derived(
    lw: &mut Lowering<'_>,
    probes: &[&str],
    name: &str,
    expr: &SExpr,
    at: &exp_hir::Loc,
) -> Result<(String, Vec<String>), LowerError> {
    let inputs: Vec<String> = expr.locals().into_iter().filter(|n| probes.contains(&n.as_str())).collect();
    let mut b = FnBuilder::new(inputs.clone());
    let mut env = Vec::new();
    for n in &inputs {
        let op = b.input(n);
        env.push((n.clone(), SVal::Op(op)));
    }
    let out = lower(&mut b, &mut env, expr)?.one()?;
    let origin = lw.origin(at);
    let f = b.finish(name, vec![("value".into(), out)], origin);
    let fname = f.name.clone();
    lw.functions.push(f);
    Ok((fname, inputs))
}

/// Lowers a schedule applied to its arguments; returns the function's name.
pub fn schedule_fn(lw: &mut Lowering<'_>, name: &str, s: &ScheduleCall) -> Result<String, LowerError> {
    let mut b = FnBuilder::new(exp_ir::SCHEDULE_INPUTS.map(String::from));
    let mut env = Vec::new();
    for ((param, _), c) in s.def.params.iter().zip(&s.args) {
        let op = b.konst(*c);
        env.push((param.clone(), SVal::Op(op)));
    }
    for (var, input) in [("step", "step"), ("epoch", "epoch"), ("progress", "progress"), ("total", "total_steps")] {
        let op = b.input(input);
        env.push((var.into(), SVal::Op(op)));
    }
    let out = lower(&mut b, &mut env, &s.def.body)?.one()?;
    let origin = lw.origin(&s.at);
    let f = b.finish(name, vec![("value".into(), out)], origin);
    lw.functions.push(f);
    Ok(name.to_string())
}
