//! Values of the elaborator: what experiment-level and block-level expressions evaluate to.

use std::fmt;
use std::sync::Arc;

use exp_ops::{Dim, Shape};
use exp_syntax::ast::Expr;

use crate::diag::Loc;
use crate::names::items::DefKind;
use crate::names::scope::DefRef;
use crate::types::UnitKind;

/// A value. Integers are [`Dim`]s so that block parameters can stay symbolic while a block
/// is checked on its own.
#[derive(Clone, Debug)]
pub enum Val {
    /// An integer or symbolic size.
    Int(Dim),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A string.
    Str(String),
    /// A quantity: `20_000 steps`, `2 GiB` (bytes), ...
    Qty(f64, UnitKind),
    /// A tuple.
    Tuple(Vec<Val>),
    /// A list.
    List(Vec<Val>),
    /// A declaration applied to (some of) its arguments: an optimizer, a loss, a schedule,
    /// a probe, a metric, or a scalar function not yet used as a block.
    Decl(Arc<Applied>),
    /// A block.
    Block(BlockV),
    /// A dataset.
    Data(Arc<DataV>),
    /// One split of a dataset.
    Split(Arc<DataV>, String),
    /// A tensor flowing through a model while it is elaborated.
    Tensor(TVal),
    /// A lambda.
    Lambda(Arc<Closure>),
    /// The result of an error, accepted everywhere so that one mistake gives one diagnostic.
    Unknown,
}

/// A declaration with bound arguments.
#[derive(Clone, Debug)]
pub struct Applied {
    /// The declaration.
    pub def: DefRef,
    /// Its name as referenced.
    pub name: String,
    /// Arguments by parameter name, in parameter order; defaults filled in.
    pub args: Vec<(String, Val)>,
    /// Where each argument came from, parallel to `args`.
    pub origins: Vec<ArgOrigin>,
    /// Where it was referenced or called.
    pub at: Loc,
    /// The registry's typed value, for a builtin of a kind that has one, once every argument
    /// is known.
    pub op: Option<crate::model::builtin::BuiltinOp>,
}

impl Applied {
    /// The value of an argument.
    pub fn arg(&self, name: &str) -> Option<&Val> {
        self.args.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The kind of the declaration.
    pub fn kind(&self) -> DefKind {
        self.def.kind
    }
}

/// Where an argument value came from.
#[derive(Clone, Debug, PartialEq)]
pub enum ArgOrigin {
    /// The parameter's default.
    Default,
    /// Written at the call.
    Written(Loc),
    /// Set by an override (`optimizer.lr = ...` in an extension, or `--set`).
    Override(Loc, Provenance),
}

/// Where a configuration value came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Provenance {
    /// A parameter default.
    Default,
    /// Written in the experiment itself.
    Declaration,
    /// Written in the named base experiment.
    Extends(String),
    /// Given with `--set` on the command line.
    CommandLine,
}

/// A block value: something that maps a tensor to a tensor.
#[derive(Clone, Debug)]
pub enum BlockV {
    /// A `block` declaration (builtin layer or user block) with bound arguments.
    Decl(Arc<Applied>),
    /// A scalar function applied elementwise.
    Act(Arc<Applied>),
    /// Blocks in sequence (`a >> b`).
    Seq(Vec<BlockV>),
    /// `repeat n { body }`: `n` copies, each with its own parameters.
    Repeat(Dim, Box<BlockV>, Loc),
    /// `x => ...`.
    Lambda(Arc<Closure>),
    /// A block bound to a name (a `let` or a parameter): its parameters are named after it.
    Named(String, Box<BlockV>),
    /// A block whose behaviour is unknown (a `Block` parameter while a block is checked alone).
    Opaque(String),
}

/// A lambda with its captured environment.
#[derive(Debug)]
pub struct Closure {
    /// Parameter names.
    pub params: Vec<String>,
    /// The body (item-relative spans).
    pub body: Expr,
    /// The location context of the body: file and item.
    pub at: Loc,
    /// Captured bindings.
    pub env: Vec<(String, Val)>,
}

/// A tensor during elaboration: the graph node that produces it, and its shape.
#[derive(Clone, Debug, PartialEq)]
pub struct TVal {
    /// The node index in the model graph.
    pub node: usize,
    /// The shape, with symbolic batch `B`.
    pub shape: Shape,
    /// True for integer token ids.
    pub ids: bool,
}

/// A dataset: a source with its transforms, and its schema.
#[derive(Clone, Debug)]
pub struct DataV {
    /// The source declaration and arguments.
    pub source: Arc<Applied>,
    /// Transforms applied in order.
    pub transforms: Vec<Arc<Applied>>,
    /// The shape of one input example.
    pub sample: Shape,
    /// True when inputs are integer token ids.
    pub ids: bool,
    /// The number of classes, for classification data.
    pub classes: Option<Dim>,
    /// The shape of one target, for regression data.
    pub target: Option<Shape>,
    /// Splits the source provides.
    pub splits: Vec<String>,
    /// The name of the `data` item, when it has one.
    pub name: Option<String>,
    /// The schema the source promises, after the transforms.
    pub schema: exp_ops::Schema,
}

impl DataV {
    /// The typed data source.
    pub fn source_op(&self) -> Option<&exp_ops::DataSource> {
        match &self.source.op {
            Some(crate::model::builtin::BuiltinOp::Source(s)) => Some(s),
            _ => None,
        }
    }
}

impl Val {
    /// A short description of the value's type, for messages.
    pub fn type_name(&self) -> String {
        match self {
            Val::Int(_) => "Int".into(),
            Val::Float(_) => "Float".into(),
            Val::Bool(_) => "Bool".into(),
            Val::Str(_) => "String".into(),
            Val::Qty(_, u) => u.type_name().into(),
            Val::Tuple(items) => format!("({})", items.iter().map(Val::type_name).collect::<Vec<_>>().join(", ")),
            Val::List(items) => match items.first() {
                Some(first) => format!("[{}]", first.type_name()),
                None => "[_]".into(),
            },
            Val::Decl(a) => match a.kind() {
                DefKind::Fn => "Fn".into(),
                DefKind::Block => "Block".into(),
                DefKind::Data => "Data".into(),
                DefKind::Loss => "Loss".into(),
                DefKind::Schedule => "Schedule".into(),
                DefKind::Probe => "Probe".into(),
                DefKind::Metric => "Metric".into(),
                DefKind::Optimizer => "Optimizer".into(),
                DefKind::Experiment => "Experiment".into(),
                DefKind::Sweep => "Sweep".into(),
            },
            Val::Block(_) => "Block".into(),
            Val::Data(_) => "Data".into(),
            Val::Split(..) => "Split".into(),
            Val::Tensor(t) => format!("Tensor{}", t.shape),
            Val::Lambda(_) => "lambda".into(),
            Val::Unknown => "_".into(),
        }
    }
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Int(d) => write!(f, "{d}"),
            Val::Float(x) => write!(f, "{}", fmt_float(*x)),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Str(s) => write!(f, "{s:?}"),
            Val::Qty(x, u) => write!(f, "{} {}", fmt_float(*x), u.word()),
            Val::Tuple(items) => {
                let parts: Vec<String> = items.iter().map(|v| v.to_string()).collect();
                if parts.len() == 1 {
                    write!(f, "({},)", parts[0])
                } else {
                    write!(f, "({})", parts.join(", "))
                }
            }
            Val::List(items) => {
                let parts: Vec<String> = items.iter().map(|v| v.to_string()).collect();
                write!(f, "[{}]", parts.join(", "))
            }
            Val::Decl(a) => write_applied(f, a),
            Val::Block(b) => write!(f, "{b}"),
            Val::Data(d) => match &d.name {
                Some(n) => write!(f, "{n}"),
                None => write_applied(f, &d.source),
            },
            Val::Split(d, s) => write!(f, "{}.{s}", d.name.as_deref().unwrap_or("data")),
            Val::Tensor(t) => write!(f, "tensor{}", t.shape),
            Val::Lambda(_) => write!(f, "<lambda>"),
            Val::Unknown => write!(f, "_"),
        }
    }
}

fn write_applied(f: &mut fmt::Formatter<'_>, a: &Applied) -> fmt::Result {
    let parts: Vec<String> = a.args.iter().map(|(n, v)| format!("{n}: {v}")).collect();
    write!(f, "{}({})", a.name, parts.join(", "))
}

impl fmt::Display for BlockV {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockV::Decl(a) | BlockV::Act(a) => write_applied(f, a),
            BlockV::Seq(bs) => {
                let parts: Vec<String> = bs.iter().map(|b| b.to_string()).collect();
                write!(f, "{}", parts.join(" >> "))
            }
            BlockV::Repeat(n, b, _) => write!(f, "repeat {n} {{ {b} }}"),
            BlockV::Lambda(_) => write!(f, "<lambda>"),
            BlockV::Named(n, _) => write!(f, "{n}"),
            BlockV::Opaque(n) => write!(f, "{n}"),
        }
    }
}

/// The number a value stands for in scalar code: floats, integers, booleans as 0 or 1,
/// quantities in their base unit; `None` for anything else or a symbolic size.
pub fn number(v: &Val) -> Option<f64> {
    match v {
        Val::Float(x) => Some(*x),
        Val::Int(d) => d.as_const().map(|i| i as f64),
        Val::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Val::Qty(x, _) => Some(*x),
        _ => None,
    }
}

/// Formats a float so that it reads back as the same float and always looks like one.
pub fn fmt_float(x: f64) -> String {
    let s = format!("{x:?}");
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}
