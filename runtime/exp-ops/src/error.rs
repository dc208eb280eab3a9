//! Shape errors as data. The checker attaches spans and codes; this crate only says what
//! is wrong, naming the op and the shapes involved, in rustc's lowercase style.

use std::fmt::{self, Display, Formatter};

use crate::{ArgError, Dim, Shape};

/// The ranks an op accepts for its input.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Rank {
    /// Exactly this many axes.
    Exactly(usize),
    /// At least this many axes.
    AtLeast(usize),
    /// Between the two bounds, inclusive.
    Between(usize, usize),
}

impl Rank {
    /// Whether `rank` is accepted.
    pub fn accepts(self, rank: usize) -> bool {
        match self {
            Rank::Exactly(n) => rank == n,
            Rank::AtLeast(n) => rank >= n,
            Rank::Between(lo, hi) => (lo..=hi).contains(&rank),
        }
    }
}

impl Display for Rank {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Rank::Exactly(n) => write!(f, "rank-{n}"),
            Rank::AtLeast(n) => write!(f, "rank-{n} or higher"),
            Rank::Between(lo, hi) => write!(f, "rank-{lo} to rank-{hi}"),
        }
    }
}

/// What is wrong with a `reshape` target.
#[derive(Clone, PartialEq, Debug)]
pub enum ReshapeProblem {
    /// More than one entry is `-1`.
    SeveralInferred,
    /// An entry is a constant that is zero or negative (other than a single `-1`).
    NonPositiveEntry(Dim),
    /// The element counts provably differ, or cannot be shown equal.
    CountMismatch,
}

/// A shape or argument error from a layer op or a combinator.
#[derive(Clone, PartialEq, Debug)]
pub enum ShapeError {
    /// The input has a rank the op does not accept; `layout` names the axes (`[B, C, H, W]`).
    RankMismatch {
        /// Language name of the op.
        op: String,
        /// The accepted ranks.
        expected: Rank,
        /// The expected layout, for the message.
        layout: String,
        /// The input shape.
        found: Shape,
    },
    /// One axis of the input has the wrong size.
    DimMismatch {
        /// Language name of the op.
        op: String,
        /// The axis, counted from 0.
        axis: usize,
        /// The size the op needs there.
        expected: Dim,
        /// The input shape.
        found: Shape,
    },
    /// A size that must be positive is a constant `<= 0` (an output height, a kernel).
    NonPositive {
        /// Language name of the op.
        op: String,
        /// What the size is, in words ("output height", "argument `kernel`").
        what: String,
        /// The offending size.
        value: Dim,
    },
    /// A constant size is not a multiple of another (channels and groups, dim and heads).
    NotDivisible {
        /// Language name of the op.
        op: String,
        /// What is divided, in words ("input channels").
        what: String,
        /// Its size.
        value: Dim,
        /// What divides it, in words ("groups").
        by: String,
        /// The divisor.
        divisor: Dim,
    },
    /// `reshape` cannot produce the target from the input.
    BadReshape {
        /// The input shape.
        input: Shape,
        /// The requested non-batch axes, with at most one `-1`.
        target: Vec<Dim>,
        /// What is wrong.
        problem: ReshapeProblem,
    },
    /// An argument is missing, unknown, of the wrong kind or out of range.
    BadArg(ArgError),
    /// No layer op has this name.
    UnknownOp {
        /// The name asked for.
        name: String,
    },
    /// The two shapes of an addition neither match nor broadcast.
    Broadcast {
        /// Left operand.
        left: Shape,
        /// Right operand.
        right: Shape,
    },
    /// Two shapes cannot be concatenated along `axis`.
    ConcatMismatch {
        /// The concatenation axis.
        axis: usize,
        /// The first shape.
        first: Shape,
        /// The first shape that disagrees with it.
        other: Shape,
    },
    /// Concatenation of an empty list.
    EmptyConcat,
    /// An axis argument is out of range for the shape.
    AxisOutOfRange {
        /// Language name of the op.
        op: String,
        /// The axis asked for.
        axis: usize,
        /// The shape it indexes.
        found: Shape,
    },
}

impl Display for ShapeError {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            ShapeError::RankMismatch { op, expected, layout, found } => {
                write!(f, "`{op}` expects a {expected} input `{layout}`, found `{found}`")
            }
            ShapeError::DimMismatch { op, axis, expected, found } => {
                let got = found.0.get(*axis).map_or_else(|| "nothing".to_string(), |d| format!("`{d}`"));
                write!(f, "`{op}` expects axis {axis} of its input to be `{expected}`, found {got} in `{found}`")
            }
            ShapeError::NonPositive { op, what, value } => {
                write!(f, "`{op}` needs a positive {what}, found `{value}`")
            }
            ShapeError::NotDivisible { op, what, value, by, divisor } => {
                write!(f, "`{op}` needs {what} `{value}` to be divisible by {by} `{divisor}`")
            }
            ShapeError::BadReshape { input, target, problem } => write_reshape(f, input, target, problem),
            ShapeError::BadArg(e) => e.fmt(f),
            ShapeError::UnknownOp { name } => write!(f, "unknown layer op `{name}`"),
            ShapeError::Broadcast { left, right } => {
                write!(f, "cannot add `{left}` and `{right}`: the shapes do not broadcast")
            }
            ShapeError::ConcatMismatch { axis, first, other } => {
                write!(f, "cannot concatenate `{first}` and `{other}` along axis {axis}")
            }
            ShapeError::EmptyConcat => f.write_str("cannot concatenate an empty list of tensors"),
            ShapeError::AxisOutOfRange { op, axis, found } => {
                write!(f, "`{op}` axis {axis} is out of range for `{found}`")
            }
        }
    }
}

fn write_reshape(f: &mut Formatter<'_>, input: &Shape, target: &[Dim], problem: &ReshapeProblem) -> fmt::Result {
    let mut full = vec![input.0.first().cloned().unwrap_or_default()];
    full.extend(target.iter().cloned());
    let target = Shape(full);
    write!(f, "cannot reshape `{input}` to `{target}`: ")?;
    match problem {
        ReshapeProblem::SeveralInferred => f.write_str("only one size may be `-1`"),
        ReshapeProblem::NonPositiveEntry(d) => write!(f, "size `{d}` is not positive"),
        ReshapeProblem::CountMismatch => f.write_str("the element counts differ"),
    }
}

impl std::error::Error for ShapeError {}
