//! The argument vocabulary of builtins: what kind of value an argument takes, its default,
//! the constraint its value must meet, and the reader that resolves one call's arguments.
//!
//! The vocabulary is plain on purpose (no checker or tensor types): the checker maps each
//! [`ArgKind`] to its own types, and the IR stores [`ArgValue`]s as its own values.

use std::collections::BTreeMap;
use std::fmt::{self, Display, Formatter};

use serde::{Deserialize, Serialize};

use super::BuiltinSpec;
use crate::Dim;

/// The kind of value an argument accepts, as the language sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ArgKind {
    /// An integer, possibly a symbolic size.
    Int,
    /// A float (an integer literal is accepted).
    Float,
    /// A boolean.
    Bool,
    /// An integer or a pair of integers (`3` or `(3, 3)`), for 2-d kernels and strides.
    IntOrPair,
    /// A list of integers, such as a shape.
    Ints,
    /// A string.
    Str,
    /// One of a closed set of strings (an initializer's `mode`, a generator's `op`).
    Choice(&'static [&'static str]),
    /// A split of the experiment's data (`digits.test`), passed by name.
    Split,
}

impl Display for ArgKind {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            ArgKind::Int => f.write_str("an int"),
            ArgKind::Float => f.write_str("a float"),
            ArgKind::Bool => f.write_str("a bool"),
            ArgKind::IntOrPair => f.write_str("an int or a pair of ints"),
            ArgKind::Ints => f.write_str("a list of ints"),
            ArgKind::Str => f.write_str("a string"),
            ArgKind::Choice(names) => write!(f, "one of {}", quoted(names)),
            ArgKind::Split => f.write_str("a data split"),
        }
    }
}

/// `"a", "b"`: a list of string choices as they are written in the language.
pub fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
}

/// The default of an optional argument; `const`-friendly so tables can be static.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum ArgDefault {
    /// An integer default.
    Int(i64),
    /// A float default.
    Float(f64),
    /// A boolean default.
    Bool(bool),
    /// A string default (also for choices).
    Str(&'static str),
    /// The value of another argument of the same call (a pool's `stride` is its `kernel`).
    SameAs(&'static str),
}

impl Display for ArgDefault {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            ArgDefault::Int(v) => write!(f, "{v}"),
            ArgDefault::Float(v) => write!(f, "{v:?}"),
            ArgDefault::Bool(v) => write!(f, "{v}"),
            ArgDefault::Str(v) => write!(f, "\"{v}\""),
            ArgDefault::SameAs(v) => write!(f, "`{v}`"),
        }
    }
}

/// A bound of a [`Constraint`]: a number and whether it is allowed itself.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Bound {
    /// The bound.
    pub value: f64,
    /// Whether the bound itself is allowed.
    pub inclusive: bool,
}

/// What values a numeric argument may take. For integer lists (shapes, kernel pairs) it
/// applies to every entry. Symbolic sizes are checked once they are known.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Constraint {
    /// The lower bound, if any.
    pub min: Option<Bound>,
    /// The upper bound, if any.
    pub max: Option<Bound>,
}

impl Constraint {
    /// Any value.
    pub const ANY: Constraint = Constraint { min: None, max: None };
    /// Greater than zero (at least 1 for integers).
    pub const POSITIVE: Constraint = Constraint::above(0.0);
    /// Zero or more.
    pub const NON_NEGATIVE: Constraint = Constraint::at_least(0.0);
    /// A probability or fraction, `[0, 1]`.
    pub const UNIT: Constraint = Constraint::closed(0.0, 1.0);
    /// A fraction that leaves both parts non-empty, `(0, 1)`.
    pub const OPEN_UNIT: Constraint = Constraint::open(0.0, 1.0);

    /// `x >= min`.
    pub const fn at_least(min: f64) -> Constraint {
        Constraint { min: Some(Bound { value: min, inclusive: true }), max: None }
    }

    /// `x > min`.
    pub const fn above(min: f64) -> Constraint {
        Constraint { min: Some(Bound { value: min, inclusive: false }), max: None }
    }

    /// `min <= x <= max`.
    pub const fn closed(min: f64, max: f64) -> Constraint {
        Constraint {
            min: Some(Bound { value: min, inclusive: true }),
            max: Some(Bound { value: max, inclusive: true }),
        }
    }

    /// `min <= x < max`.
    pub const fn half_open(min: f64, max: f64) -> Constraint {
        Constraint {
            min: Some(Bound { value: min, inclusive: true }),
            max: Some(Bound { value: max, inclusive: false }),
        }
    }

    /// `min < x < max`.
    pub const fn open(min: f64, max: f64) -> Constraint {
        Constraint {
            min: Some(Bound { value: min, inclusive: false }),
            max: Some(Bound { value: max, inclusive: false }),
        }
    }

    /// Whether the constraint allows anything.
    pub fn is_any(&self) -> bool {
        self.min.is_none() && self.max.is_none()
    }

    /// Whether `x` meets the constraint; `NaN` never does unless the constraint is
    /// [`Constraint::ANY`].
    pub fn allows(&self, x: f64) -> bool {
        let low = self.min.is_none_or(|b| if b.inclusive { x >= b.value } else { x > b.value });
        let high = self.max.is_none_or(|b| if b.inclusive { x <= b.value } else { x < b.value });
        self.is_any() || (low && high)
    }

    /// The constraint in words, for messages: "positive", "in [0, 1)", "at least 2".
    pub fn describe(&self) -> String {
        match (self.min, self.max) {
            (None, None) => "any number".into(),
            (Some(Bound { value: 0.0, inclusive: false }), None) => "positive".into(),
            (Some(Bound { value: 0.0, inclusive: true }), None) => "non-negative".into(),
            (Some(b), None) => format!("{} {}", if b.inclusive { "at least" } else { "greater than" }, number(b.value)),
            (None, Some(b)) => format!("{} {}", if b.inclusive { "at most" } else { "less than" }, number(b.value)),
            (Some(lo), Some(hi)) => format!(
                "in {}{}, {}{}",
                if lo.inclusive { '[' } else { '(' },
                number(lo.value),
                number(hi.value),
                if hi.inclusive { ']' } else { ')' }
            ),
        }
    }
}

/// A number as written in messages: integral values without a fractional part.
fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// One argument of a builtin as seen from the language.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct ArgSpec {
    /// The argument name.
    pub name: &'static str,
    /// The kind of value it takes.
    pub kind: ArgKind,
    /// The default, or `None` when the argument is required.
    pub default: Option<ArgDefault>,
    /// What values it may take.
    pub constraint: Constraint,
}

/// A value passed for an argument. Integers are [`Dim`]s because a block parameter such
/// as `classes` may stay symbolic while the block body is checked.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub enum ArgValue {
    /// An integer or symbolic size.
    Int(Dim),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A tuple or list of integers.
    Ints(Vec<Dim>),
    /// A string, a choice, or the name of a data split.
    Str(String),
}

impl ArgValue {
    /// A constant integer argument.
    pub fn int(value: i64) -> ArgValue {
        ArgValue::Int(Dim::constant(value))
    }

    /// A list of constant integers.
    pub fn ints(values: &[i64]) -> ArgValue {
        ArgValue::Ints(values.iter().map(|&v| Dim::constant(v)).collect())
    }

    /// The value of a default, `None` for [`ArgDefault::SameAs`].
    pub fn of_default(d: ArgDefault) -> Option<ArgValue> {
        Some(match d {
            ArgDefault::Int(v) => ArgValue::int(v),
            ArgDefault::Float(v) => ArgValue::Float(v),
            ArgDefault::Bool(v) => ArgValue::Bool(v),
            ArgDefault::Str(v) => ArgValue::Str(v.to_string()),
            ArgDefault::SameAs(_) => return None,
        })
    }

    /// The numbers a constraint applies to: the value itself, or every entry of a list.
    /// Symbolic sizes are left out (they are checked once known).
    fn numbers(&self) -> Vec<f64> {
        match self {
            ArgValue::Int(d) => d.as_const().map(|v| v as f64).into_iter().collect(),
            ArgValue::Float(x) => vec![*x],
            ArgValue::Ints(ds) => ds.iter().filter_map(Dim::as_const).map(|v| v as f64).collect(),
            ArgValue::Bool(_) | ArgValue::Str(_) => Vec::new(),
        }
    }
}

/// Named arguments of one call.
pub type ArgMap = BTreeMap<String, ArgValue>;

/// Why an argument of a builtin was rejected.
#[derive(Clone, PartialEq, Debug)]
pub enum ArgProblem {
    /// A required argument was not given.
    Missing,
    /// The builtin has no argument of that name.
    Unknown,
    /// The value has the wrong kind (a float where an int is expected, a triple for a pair).
    WrongKind {
        /// The kind the builtin declares.
        expected: ArgKind,
    },
    /// The value is outside the range the builtin accepts, described in words (`in [0, 1)`).
    OutOfRange {
        /// The accepted range, e.g. "in [0, 1)" or "at most half of `kernel`".
        expected: String,
    },
    /// A string that is not one of the allowed choices.
    NotAChoice {
        /// The value given.
        found: String,
        /// The allowed values.
        allowed: &'static [&'static str],
    },
    /// A size that must be known is still symbolic.
    NotConstant,
}

/// An argument error of a builtin call: which builtin, which argument, what is wrong.
#[derive(Clone, PartialEq, Debug)]
pub struct ArgError {
    /// The builtin's language name.
    pub builtin: String,
    /// The argument name (empty when the builtin itself is unknown).
    pub arg: String,
    /// What is wrong.
    pub problem: ArgProblem,
}

impl ArgError {
    /// An error about argument `arg` of `builtin`.
    pub fn new(builtin: &str, arg: &str, problem: ArgProblem) -> ArgError {
        ArgError { builtin: builtin.to_string(), arg: arg.to_string(), problem }
    }

    /// An out-of-range error with a description of the accepted range.
    pub fn range(builtin: &str, arg: &str, expected: impl Into<String>) -> ArgError {
        ArgError::new(builtin, arg, ArgProblem::OutOfRange { expected: expected.into() })
    }
}

impl Display for ArgError {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let (op, name) = (&self.builtin, &self.arg);
        match &self.problem {
            ArgProblem::Missing => write!(f, "`{op}` is missing its argument `{name}`"),
            ArgProblem::Unknown => write!(f, "`{op}` has no argument `{name}`"),
            ArgProblem::WrongKind { expected } => write!(f, "`{op}` argument `{name}` expects {expected}"),
            ArgProblem::OutOfRange { expected } => write!(f, "`{op}` argument `{name}` must be {expected}"),
            ArgProblem::NotAChoice { found, allowed } => {
                write!(f, "`{op}` argument `{name}` must be one of {}, found \"{found}\"", quoted(allowed))
            }
            ArgProblem::NotConstant => write!(f, "`{op}` argument `{name}` must be a known number"),
        }
    }
}

impl std::error::Error for ArgError {}

/// A Rust type a typed builtin stores an argument as.
pub trait ArgType: Sized {
    /// Reads the value; `None` when it has another kind or is symbolic.
    fn read(v: &ArgValue) -> Option<Self>;
    /// Writes the value back.
    fn write(&self) -> ArgValue;
}

impl ArgType for i64 {
    fn read(v: &ArgValue) -> Option<Self> {
        match v {
            ArgValue::Int(d) => d.as_const(),
            _ => None,
        }
    }
    fn write(&self) -> ArgValue {
        ArgValue::int(*self)
    }
}

impl ArgType for f64 {
    fn read(v: &ArgValue) -> Option<Self> {
        match v {
            ArgValue::Float(x) => Some(*x),
            ArgValue::Int(d) => d.as_const().map(|v| v as f64),
            _ => None,
        }
    }
    fn write(&self) -> ArgValue {
        ArgValue::Float(*self)
    }
}

impl ArgType for bool {
    fn read(v: &ArgValue) -> Option<Self> {
        match v {
            ArgValue::Bool(b) => Some(*b),
            _ => None,
        }
    }
    fn write(&self) -> ArgValue {
        ArgValue::Bool(*self)
    }
}

impl ArgType for String {
    fn read(v: &ArgValue) -> Option<Self> {
        match v {
            ArgValue::Str(s) => Some(s.clone()),
            _ => None,
        }
    }
    fn write(&self) -> ArgValue {
        ArgValue::Str(self.clone())
    }
}

impl ArgType for Vec<i64> {
    fn read(v: &ArgValue) -> Option<Self> {
        match v {
            ArgValue::Ints(ds) => ds.iter().map(Dim::as_const).collect(),
            _ => None,
        }
    }
    fn write(&self) -> ArgValue {
        ArgValue::ints(self)
    }
}

/// Resolves the arguments of one call against its table row: defaults, kinds, constraints.
pub struct ArgReader<'a> {
    spec: BuiltinSpec,
    given: &'a ArgMap,
}

impl<'a> ArgReader<'a> {
    /// A reader for a call of `spec`; fails on an argument the row does not have.
    pub fn new(spec: BuiltinSpec, given: &'a ArgMap) -> Result<ArgReader<'a>, ArgError> {
        if let Some(extra) = given.keys().find(|k| spec.arg(k).is_none()) {
            return Err(ArgError::new(spec.name, extra, ArgProblem::Unknown));
        }
        Ok(ArgReader { spec, given })
    }

    /// The builtin's row.
    pub fn spec(&self) -> BuiltinSpec {
        self.spec
    }

    fn spec_of(&self, name: &str) -> ArgSpec {
        *self.spec.arg(name).unwrap_or_else(|| panic!("`{}` has no argument `{name}` in its row", self.spec.name))
    }

    /// The given or default value of `name`, checked against its kind and constraint.
    pub fn value(&self, name: &str) -> Result<ArgValue, ArgError> {
        let spec = self.spec_of(name);
        let v = match (self.given.get(name), spec.default) {
            (Some(v), _) => v.clone(),
            (None, Some(ArgDefault::SameAs(other))) => self.value(other)?,
            (None, Some(d)) => ArgValue::of_default(d).expect("not `SameAs`"),
            (None, None) => return Err(ArgError::new(self.spec.name, name, ArgProblem::Missing)),
        };
        check_value(self.spec.name, &spec, &v)?;
        Ok(v)
    }

    /// The argument `name` as a typed value.
    pub fn get<T: ArgType>(&self, name: &str) -> Result<T, ArgError> {
        let v = self.value(name)?;
        T::read(&v).ok_or_else(|| {
            let symbolic = match &v {
                ArgValue::Int(d) => d.as_const().is_none(),
                ArgValue::Ints(ds) => ds.iter().any(|d| d.as_const().is_none()),
                _ => false,
            };
            let problem = if symbolic {
                ArgProblem::NotConstant
            } else {
                ArgProblem::WrongKind { expected: self.spec_of(name).kind }
            };
            ArgError::new(self.spec.name, name, problem)
        })
    }
}

/// Whether `v` suits the kind of `spec`: exact for most kinds; an int for a float; an int
/// or a list for [`ArgKind::IntOrPair`]; any string for a split.
pub fn kind_accepts(kind: ArgKind, v: &ArgValue) -> bool {
    matches!(
        (kind, v),
        (ArgKind::Int, ArgValue::Int(_))
            | (ArgKind::Float, ArgValue::Float(_) | ArgValue::Int(_))
            | (ArgKind::Bool, ArgValue::Bool(_))
            | (ArgKind::IntOrPair, ArgValue::Int(_) | ArgValue::Ints(_))
            | (ArgKind::Ints, ArgValue::Ints(_))
            | (ArgKind::Str | ArgKind::Split | ArgKind::Choice(_), ArgValue::Str(_))
    )
}

/// Checks one value against its row: kind, choices and numeric constraint. Symbolic sizes
/// pass the constraint (they are checked again once known).
pub fn check_value(builtin: &str, spec: &ArgSpec, v: &ArgValue) -> Result<(), ArgError> {
    if !kind_accepts(spec.kind, v) {
        return Err(ArgError::new(builtin, spec.name, ArgProblem::WrongKind { expected: spec.kind }));
    }
    if let (ArgKind::Choice(allowed), ArgValue::Str(s)) = (spec.kind, v) {
        if !allowed.contains(&s.as_str()) {
            return Err(ArgError::new(builtin, spec.name, ArgProblem::NotAChoice { found: s.clone(), allowed }));
        }
    }
    if v.numbers().iter().any(|x| !spec.constraint.allows(*x)) {
        let expected = match v {
            ArgValue::Ints(_) => format!("a list of {} numbers", spec.constraint.describe()),
            _ => spec.constraint.describe(),
        };
        return Err(ArgError::range(builtin, spec.name, expected));
    }
    Ok(())
}

/// Checks a whole call against its row without building a typed value: every given value
/// (kinds, choices, constraints) and every required argument present. Symbolic sizes pass.
pub fn check_call(spec: BuiltinSpec, given: &ArgMap) -> Result<(), ArgError> {
    let reader = ArgReader::new(spec, given)?;
    for a in spec.args {
        reader.value(a.name)?;
    }
    Ok(())
}

/// A closed set of strings as a Rust enum, for [`ArgKind::Choice`] arguments.
pub trait Choice: Sized + Copy + 'static {
    /// Every value, in declaration order.
    const ALL: &'static [Self];
    /// Every value's name, in the same order.
    const NAMES: &'static [&'static str];
    /// The name of this value.
    fn as_str(self) -> &'static str;
    /// The value named `name`.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == name)
    }
}

/// Declares a [`Choice`] enum: `choice! { /// doc \n pub enum FanMode { FanIn = "fan_in", ... } }`.
#[macro_export]
macro_rules! choice {
    ($(#[doc = $doc:literal])* pub enum $name:ident { $($(#[doc = $vdoc:literal])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
        pub enum $name { $($(#[doc = $vdoc])* $variant),+ }

        impl $crate::Choice for $name {
            const ALL: &'static [Self] = &[$($name::$variant),+];
            const NAMES: &'static [&'static str] = &[$($text),+];
            fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl $crate::ArgType for $name {
            fn read(v: &$crate::ArgValue) -> Option<Self> {
                match v {
                    $crate::ArgValue::Str(s) => <Self as $crate::Choice>::from_name(s),
                    _ => None,
                }
            }
            fn write(&self) -> $crate::ArgValue {
                $crate::ArgValue::Str(<Self as $crate::Choice>::as_str(*self).to_string())
            }
        }
    };
}
