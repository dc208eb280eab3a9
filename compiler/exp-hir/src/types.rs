//! Types of values in experiments and declarations, and how written types map to them.

use std::fmt;

use exp_syntax::ast::{TypeExpr, Unit};

/// The type of a value the checker reasons about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    /// Integers; also the type of tensor dimensions.
    Int,
    /// Floating-point numbers. A [`Ty::Schedule`] is accepted where a `Float` is expected.
    Float,
    /// Booleans.
    Bool,
    /// Strings.
    Str,
    /// A quantity with a unit: steps, epochs, samples, probes or bytes.
    Qty(UnitKind),
    /// A list of shape dimensions, `[1, 8, 8]`.
    Shape,
    /// A tensor-to-tensor building block.
    Block,
    /// A scalar function.
    Fn,
    /// A dataset.
    Data,
    /// One split of a dataset, such as `digits.test`.
    Split,
    /// An optimizer.
    Optimizer,
    /// A schedule.
    Schedule,
    /// A loss.
    Loss,
    /// A probe.
    Probe,
    /// A metric.
    Metric,
    /// A list.
    List(Box<Ty>),
    /// A tuple.
    Tuple(Vec<Ty>),
    /// Anything: an unannotated parameter, or the result of an earlier error.
    Any,
}

/// Units without the byte scale: the unit *kind* is what types compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UnitKind {
    /// Optimizer steps.
    Steps,
    /// Epochs.
    Epochs,
    /// Samples.
    Samples,
    /// Probe events.
    Probes,
    /// Bytes of memory.
    Bytes,
}

impl UnitKind {
    /// The kind of a written unit.
    pub fn of(unit: Unit) -> UnitKind {
        match unit {
            Unit::Steps => UnitKind::Steps,
            Unit::Epochs => UnitKind::Epochs,
            Unit::Samples => UnitKind::Samples,
            Unit::Probes => UnitKind::Probes,
            Unit::Bytes(_) => UnitKind::Bytes,
        }
    }

    /// The plural word, as written after a number.
    pub fn word(self) -> &'static str {
        match self {
            UnitKind::Steps => "steps",
            UnitKind::Epochs => "epochs",
            UnitKind::Samples => "samples",
            UnitKind::Probes => "probes",
            UnitKind::Bytes => "bytes",
        }
    }

    /// The type name used in declarations.
    pub fn type_name(self) -> &'static str {
        match self {
            UnitKind::Steps => "Steps",
            UnitKind::Epochs => "Epochs",
            UnitKind::Samples => "Samples",
            UnitKind::Probes => "Probes",
            UnitKind::Bytes => "Bytes",
        }
    }
}

/// The names of the built-in types, for suggestions.
pub const TYPE_NAMES: &[&str] = &[
    "Int",
    "Float",
    "Bool",
    "String",
    "Steps",
    "Epochs",
    "Samples",
    "Probes",
    "Bytes",
    "Shape",
    "Block",
    "Fn",
    "Data",
    "Split",
    "Optimizer",
    "Schedule",
    "Loss",
    "Probe",
    "Metric",
];

/// Converts a written type; `Err` carries the unknown name.
pub fn ty_of(t: &TypeExpr) -> Result<Ty, &exp_syntax::ast::Ident> {
    Ok(match t {
        TypeExpr::Named(id) => match id.name.as_str() {
            "Int" => Ty::Int,
            "Float" => Ty::Float,
            "Bool" => Ty::Bool,
            "String" => Ty::Str,
            "Steps" => Ty::Qty(UnitKind::Steps),
            "Epochs" => Ty::Qty(UnitKind::Epochs),
            "Samples" => Ty::Qty(UnitKind::Samples),
            "Probes" => Ty::Qty(UnitKind::Probes),
            "Bytes" => Ty::Qty(UnitKind::Bytes),
            "Shape" => Ty::Shape,
            "Block" => Ty::Block,
            "Fn" => Ty::Fn,
            "Data" => Ty::Data,
            "Split" => Ty::Split,
            "Optimizer" => Ty::Optimizer,
            "Schedule" => Ty::Schedule,
            "Loss" => Ty::Loss,
            "Probe" => Ty::Probe,
            "Metric" => Ty::Metric,
            _ => return Err(id),
        },
        TypeExpr::List(inner, _) => match ty_of(inner)? {
            Ty::Int => Ty::Shape,
            inner => Ty::List(Box::new(inner)),
        },
        TypeExpr::Tuple(items, _) => Ty::Tuple(items.iter().map(ty_of).collect::<Result<_, _>>()?),
    })
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Int => write!(f, "Int"),
            Ty::Float => write!(f, "Float"),
            Ty::Bool => write!(f, "Bool"),
            Ty::Str => write!(f, "String"),
            Ty::Qty(u) => write!(f, "{}", u.type_name()),
            Ty::Shape => write!(f, "[Int]"),
            Ty::Block => write!(f, "Block"),
            Ty::Fn => write!(f, "Fn"),
            Ty::Data => write!(f, "Data"),
            Ty::Split => write!(f, "Split"),
            Ty::Optimizer => write!(f, "Optimizer"),
            Ty::Schedule => write!(f, "Schedule"),
            Ty::Loss => write!(f, "Loss"),
            Ty::Probe => write!(f, "Probe"),
            Ty::Metric => write!(f, "Metric"),
            Ty::List(t) => write!(f, "[{t}]"),
            Ty::Tuple(ts) => {
                write!(f, "(")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{t}")?;
                }
                write!(f, ")")
            }
            Ty::Any => write!(f, "_"),
        }
    }
}
