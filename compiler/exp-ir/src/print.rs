//! The deterministic text printer.
//!
//! The text form is line oriented: section headers start at column 0, the items of a section are
//! indented, and sections come in the fixed order of [`Program`]'s fields.
//! Everything is printed in stored order (`Vec`s, never maps), graph values are renumbered
//! `%0, %1, ...` and scalar values `v0, v1, ...` in definition order, so the text depends only on
//! the recipe.
//! Printing is total: a malformed program (say, a use of an undefined value, printed `%?7`) still
//! prints, so the verifier's errors can be read next to the text; only verified programs are
//! promised to parse back.
//! See the crate README for the grammar by example.

use crate::builtin::{builtin_args, layer_attrs};
use crate::graph::{Graph, Node, NodeOp, ValueId};
use crate::scalar::{GradClip, HyperValue, Operand, Optimizer, ScalarFn, ScalarId, StateInit};
use crate::types::{Args, Origin, Probe, ProbeKind, Program, Provenance, TensorType, FORMAT_VERSION};
use crate::types::{DataPlan, Frequency, Param, Target};
use crate::value::{format_float, write_str_literal};
use exp_ops::ArgKind;
use std::collections::HashMap;
use std::fmt::{self, Display, Formatter, Write};

/// Prints `program` in the text form, with its stored hash.
pub fn print(program: &Program) -> String {
    Printed { program, hash: &program.hash }.to_string()
}

/// Prints `program` with `hash` in place of the stored one (the hash computation prints with
/// an empty hash so the hash does not depend on itself).
pub(crate) fn print_with_hash(program: &Program, hash: &str) -> String {
    Printed { program, hash }.to_string()
}

struct Printed<'a> {
    program: &'a Program,
    hash: &'a str,
}

impl Display for Printed<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let p = self.program;
        writeln!(f, "expir {FORMAT_VERSION}")?;
        writeln!(f, "experiment {}", p.name)?;
        writeln!(f, "hash {}", if self.hash.is_empty() { "-" } else { self.hash })?;
        write_files(f, &p.files)?;
        write_config(f, p)?;
        write_seeds(f, p)?;
        write_data(f, &p.data)?;
        write_params(f, "params", &p.params)?;
        write_params(f, "buffers", &p.buffers)?;
        writeln!(f, "\nfunctions")?;
        for func in &p.functions {
            write_function(f, func)?;
        }
        write_graph(f, &p.graph)?;
        write!(f, "\nloss {}", p.loss.op.name())?;
        write_args(f, &builtin_args(&p.loss.op, None))?;
        write_origin(f, p.loss.origin)?;
        writeln!(f, "\n\nschedules")?;
        for s in &p.schedules {
            write!(f, "  schedule {} = @{}", s.name, s.function)?;
            write_origin(f, s.origin)?;
            writeln!(f)?;
        }
        write_optimizer(f, &p.optimizer)?;
        write_train(f, p)?;
        write_estimates(f, p)
    }
}

fn write_files(f: &mut Formatter<'_>, files: &[String]) -> fmt::Result {
    writeln!(f, "\nfiles")?;
    for (i, file) in files.iter().enumerate() {
        write!(f, "  {i} ")?;
        write_str_literal(f, file)?;
        writeln!(f)?;
    }
    Ok(())
}

fn write_config(f: &mut Formatter<'_>, p: &Program) -> fmt::Result {
    writeln!(f, "\nconfig")?;
    for entry in &p.config {
        write!(f, "  {} = {}  # from ", entry.path, entry.value)?;
        match &entry.provenance {
            Provenance::Default => writeln!(f, "default")?,
            Provenance::Declaration => writeln!(f, "declaration")?,
            Provenance::Extends(parent) => writeln!(f, "extends {parent}")?,
            Provenance::CommandLine => writeln!(f, "--set")?,
        }
    }
    Ok(())
}

fn write_seeds(f: &mut Formatter<'_>, p: &Program) -> fmt::Result {
    writeln!(f, "\nseeds {}", p.seeds.base)?;
    for purpose in crate::seed::SeedPurpose::ALL {
        writeln!(f, "  {} {}", purpose.name(), p.seeds.get(purpose))?;
    }
    Ok(())
}

fn write_data(f: &mut Formatter<'_>, d: &DataPlan) -> fmt::Result {
    write!(f, "\ndata {}", d.source.name())?;
    write_args(f, &builtin_args(&d.source, None))?;
    write_origin(f, d.origin)?;
    writeln!(f, "\n  x {}{}", d.x_dtype.name(), d.x_shape)?;
    match &d.target {
        Target::Classes(n) => writeln!(f, "  target classes {n}")?,
        Target::Regression(shape) => writeln!(f, "  target regression {shape}")?,
    }
    writeln!(f, "{}", spaced("  splits", &d.splits.join(", ")))?;
    for t in &d.transforms {
        write!(f, "  transform {}", t.op.name())?;
        write_args(f, &builtin_args(&t.op, None))?;
        write_origin(f, t.origin)?;
        writeln!(f)?;
    }
    writeln!(f, "  batch {}", d.batch)?;
    writeln!(f, "  shuffle {}", d.shuffle)
}

fn write_params(f: &mut Formatter<'_>, header: &str, params: &[Param]) -> fmt::Result {
    writeln!(f, "\n{header}")?;
    for param in params {
        write!(f, "  {} : {}{} = ", param.name, param.dtype.name(), param.shape)?;
        crate::init::write_init(f, &param.init)?;
        write_origin(f, param.origin)?;
        writeln!(f)?;
    }
    Ok(())
}

fn write_function(f: &mut Formatter<'_>, func: &ScalarFn) -> fmt::Result {
    let names: HashMap<ScalarId, usize> =
        func.body.iter().enumerate().map(|(i, inst)| (inst.result, i)).rev().collect();
    let operand = |op: &Operand| match op {
        Operand::Input(i) => func.inputs.get(*i as usize).cloned().unwrap_or_else(|| format!("?in{i}")),
        Operand::Value(id) => names.get(id).map_or_else(|| format!("v?{}", id.0), |n| format!("v{n}")),
    };
    let outputs: Vec<&str> = func.outputs.iter().map(|o| o.name.as_str()).collect();
    write!(f, "  fn {}({}) -> ({})", func.name, func.inputs.join(", "), outputs.join(", "))?;
    write_origin(f, func.origin)?;
    writeln!(f, " {{")?;
    for (i, inst) in func.body.iter().enumerate() {
        write!(f, "    v{i} = ")?;
        match &inst.op {
            crate::scalar::InstOp::Const(c) => write!(f, "const {}", format_float(*c))?,
            crate::scalar::InstOp::Op(op) => f.write_str(op.name())?,
        }
        for (k, arg) in inst.args.iter().enumerate() {
            write!(f, "{}{}", if k == 0 { " " } else { ", " }, operand(arg))?;
        }
        writeln!(f)?;
    }
    let rets: Vec<String> = func.outputs.iter().map(|o| format!("{} = {}", o.name, operand(&o.value))).collect();
    writeln!(f, "{}", spaced("    return", &rets.join(", ")))?;
    writeln!(f, "  }}")
}

/// Printed names of graph values: inputs by name, node results by definition index.
/// The first definition of an id wins, so a duplicate definition stays visible as a repeated
/// name rather than shifting every later number.
pub(crate) fn graph_names(graph: &Graph) -> HashMap<ValueId, String> {
    let mut names = HashMap::new();
    for input in &graph.inputs {
        names.entry(input.id).or_insert_with(|| input.name.clone());
    }
    for (i, node) in graph.nodes.iter().enumerate() {
        names.entry(node.result).or_insert_with(|| i.to_string());
    }
    names
}

fn write_graph(f: &mut Formatter<'_>, graph: &Graph) -> fmt::Result {
    let names = graph_names(graph);
    let name = |id: &ValueId| names.get(id).map_or_else(|| format!("%?{}", id.0), |n| format!("%{n}"));
    writeln!(f, "\ngraph")?;
    for input in &graph.inputs {
        writeln!(f, "  input %{} : {}", input.name, tensor_type(&input.ty))?;
    }
    for node in &graph.nodes {
        write_node(f, node, &name)?;
    }
    let outs: Vec<String> = graph.outputs.iter().map(name).collect();
    writeln!(f, "{}", spaced("  return", &outs.join(", ")))
}

/// `head rest`, or just `head` when `rest` is empty, so no line ends in a blank.
fn spaced(head: &str, rest: &str) -> String {
    if rest.is_empty() {
        head.to_string()
    } else {
        format!("{head} {rest}")
    }
}

fn write_node(f: &mut Formatter<'_>, node: &Node, name: &dyn Fn(&ValueId) -> String) -> fmt::Result {
    write!(f, "  {} = {}", name(&node.result), node.op.name())?;
    let mut items: Vec<String> = node.operands.iter().map(name).collect();
    let mut refs = Vec::new();
    match &node.op {
        NodeOp::Layer(call) => {
            let attrs = layer_attrs(&call.op).unwrap_or_default();
            items.extend(attrs.iter().map(|(k, v)| format!("{k}: {v}")));
            refs.extend(call.params.iter().map(|r| format!("{}: {}", r.role, r.name)));
        }
        NodeOp::Add | NodeOp::Mul => {}
        NodeOp::Concat { axis } => items.push(format!("axis: {axis}")),
        NodeOp::Elementwise { function } => write!(f, " @{function}")?,
        NodeOp::Scale { factor } => items.push(format!("factor: {}", format_float(*factor))),
    }
    write!(f, "({})", items.join(", "))?;
    // Parameter references get their own group: roles such as `bias` also name attributes.
    if !refs.is_empty() {
        write!(f, " {{{}}}", refs.join(", "))?;
    }
    write!(f, " : {}", tensor_type(&node.ty))?;
    write_origin(f, node.origin)?;
    writeln!(f)
}

fn write_optimizer(f: &mut Formatter<'_>, opt: &Optimizer) -> fmt::Result {
    write!(f, "\noptimizer {}", opt.name)?;
    write_origin(f, opt.origin)?;
    writeln!(f)?;
    for h in &opt.hypers {
        match &h.value {
            HyperValue::Const(c) => writeln!(f, "  hyper {} = {}", h.name, format_float(*c))?,
            HyperValue::Schedule(s) => writeln!(f, "  hyper {} = schedule {s}", h.name)?,
        }
    }
    for slot in &opt.state {
        match &slot.init {
            StateInit::Zeros => writeln!(f, "  state {} = zeros", slot.name)?,
            StateInit::Const(c) => writeln!(f, "  state {} = const {}", slot.name, format_float(*c))?,
            StateInit::CopyGrad => writeln!(f, "  state {} = copy g", slot.name)?,
            StateInit::CopyParam => writeln!(f, "  state {} = copy p", slot.name)?,
        }
    }
    writeln!(f, "  update @{}", opt.update)?;
    match &opt.clip {
        GradClip::None => writeln!(f, "  clip none"),
        GradClip::Norm(c) => writeln!(f, "  clip norm {}", format_float(*c)),
        GradClip::Value(c) => writeln!(f, "  clip value {}", format_float(*c)),
    }
}

fn write_train(f: &mut Formatter<'_>, p: &Program) -> fmt::Result {
    let t = &p.train;
    writeln!(f, "\ntrain")?;
    writeln!(f, "  length {}", frequency(t.length))?;
    writeln!(f, "  steps {}", optional(t.total_steps))?;
    writeln!(f, "  steps_per_epoch {}", optional(t.steps_per_epoch))?;
    writeln!(f, "  eval_batch {}", t.eval_batch)?;
    for probe in &t.probes {
        write_probe(f, probe)?;
    }
    for rule in &t.stop_rules {
        let threshold = format_float(rule.threshold);
        write!(f, "  stop when {} {} {threshold} for {}", rule.probe, rule.cmp.symbol(), rule.count)?;
        write_origin(f, rule.origin)?;
        writeln!(f)?;
    }
    Ok(())
}

fn write_probe(f: &mut Formatter<'_>, probe: &Probe) -> fmt::Result {
    write!(f, "  probe {} = ", probe.name)?;
    match &probe.kind {
        ProbeKind::Builtin(op) => {
            f.write_str(op.name())?;
            write_args(f, &builtin_args(op, Some(ArgKind::Split)))?;
        }
        ProbeKind::Metric(op) => {
            f.write_str(op.name())?;
            write_args(f, &builtin_args(op, Some(ArgKind::Split)))?;
        }
        ProbeKind::Derived { function, inputs } => write!(f, "expr @{function}({})", inputs.join(", "))?,
    }
    if let Some(split) = probe.split() {
        write!(f, " on {split}")?;
    }
    write!(f, " every {}", frequency(probe.every))?;
    write_origin(f, probe.origin)?;
    writeln!(f)
}

/// `100 steps` or `1 epochs`.
fn frequency(freq: Frequency) -> String {
    match freq {
        Frequency::Steps(n) => format!("{n} steps"),
        Frequency::Epochs(n) => format!("{n} epochs"),
    }
}

/// A count known at compile time, or `-` for one known only when the data is read.
pub(crate) fn optional(n: Option<u64>) -> String {
    n.map_or_else(|| "-".to_string(), |n| n.to_string())
}

fn write_estimates(f: &mut Formatter<'_>, p: &Program) -> fmt::Result {
    let e = &p.estimates;
    let m = &e.memory;
    writeln!(f, "\nestimates")?;
    writeln!(f, "  param_count {}", e.param_count)?;
    writeln!(f, "  memory.params {}", m.params)?;
    writeln!(f, "  memory.buffers {}", m.buffers)?;
    writeln!(f, "  memory.grads {}", m.grads)?;
    writeln!(f, "  memory.optimizer_state {}", m.optimizer_state)?;
    writeln!(f, "  memory.activations {}", m.activations)?;
    writeln!(f, "  memory.total {}", m.total)?;
    writeln!(f, "  flops_per_step {}", e.flops_per_step)
}

/// Writes `(k: v, ...)`; always with parentheses, so a call reads the same with or without args.
fn write_args(f: &mut Formatter<'_>, args: &Args) -> fmt::Result {
    f.write_char('(')?;
    for (i, (k, v)) in args.iter().enumerate() {
        write!(f, "{}{k}: {v}", if i == 0 { "" } else { ", " })?;
    }
    f.write_char(')')
}

fn write_origin(f: &mut Formatter<'_>, origin: Option<Origin>) -> fmt::Result {
    match origin {
        Some(o) => write!(f, " {o}"),
        None => Ok(()),
    }
}

fn tensor_type(ty: &TensorType) -> String {
    format!("{}{}", ty.dtype.name(), ty.shape)
}
