//! The scalar primitives of `std.scalar` as registry rows: every op of the scalar op table
//! that the language can call by name (`exp(x)`, `max(a, b)`), and `normal`, the Gaussian
//! noise primitive. Their semantics and derivatives live in the op table (`scalar.rs`).

use super::arg::{ArgDefault, ArgKind, ArgSpec, Constraint};
use super::{BuiltinKind, BuiltinSpec};
use crate::ScalarOp;

/// A float argument without default.
const fn float(name: &'static str) -> ArgSpec {
    ArgSpec { name, kind: ArgKind::Float, default: None, constraint: Constraint::ANY }
}

/// The parameters of a one-argument primitive.
const UNARY: &[ArgSpec] = &[float("x")];
/// The parameters of a two-argument primitive.
const BINARY: &[ArgSpec] = &[float("a"), float("b")];
/// The parameters of `normal`.
const NORMAL: &[ArgSpec] = &[
    ArgSpec { name: "mean", kind: ArgKind::Float, default: Some(ArgDefault::Float(0.0)), constraint: Constraint::ANY },
    ArgSpec {
        name: "std",
        kind: ArgKind::Float,
        default: Some(ArgDefault::Float(1.0)),
        constraint: Constraint::NON_NEGATIVE,
    },
];

/// A scalar primitive the language calls by name.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ScalarFn {
    /// An op of the scalar op table applied to its arguments.
    Op(ScalarOp),
    /// `normal(mean, std)`: a fresh Gaussian sample per element and call, `mean + std * z`.
    Normal,
}

impl ScalarFn {
    /// Every primitive, table ops first.
    pub fn all() -> Vec<ScalarFn> {
        let ops = ScalarOp::ALL.iter().copied().filter(|op| op.is_callable()).map(ScalarFn::Op);
        ops.chain([ScalarFn::Normal]).collect()
    }

    /// The primitive named `name`.
    pub fn from_name(name: &str) -> Option<ScalarFn> {
        ScalarFn::all().into_iter().find(|f| f.name() == name)
    }

    /// Its language name.
    pub fn name(self) -> &'static str {
        match self {
            ScalarFn::Op(op) => op.name(),
            ScalarFn::Normal => "normal",
        }
    }

    /// Its registry row.
    pub fn spec(self) -> BuiltinSpec {
        let (args, doc) = match self {
            ScalarFn::Op(op) => (if op.arity() == 1 { UNARY } else { BINARY }, op.doc()),
            ScalarFn::Normal => (NORMAL, "A fresh Gaussian sample `N(mean, std^2)` per element and call."),
        };
        BuiltinSpec { name: self.name(), kind: BuiltinKind::ScalarFn, doc, args, returns: None }
    }

    /// Every row.
    pub fn specs() -> Vec<BuiltinSpec> {
        ScalarFn::all().into_iter().map(ScalarFn::spec).collect()
    }
}
