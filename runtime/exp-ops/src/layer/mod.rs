//! Layer ops: tensor-to-tensor primitives with parameters, declared once in [`layer_ops`].
//!
//! The table gives each op's language name, a doc line and its arguments; the stdlib
//! declares the same ops as `block linear(out: Int, bias: Bool = true) = builtin`, and the
//! checker compares the two. [`LayerOp`] is the typed, fully-defaulted form of one call,
//! and [`LayerOp::infer`] gives its output shape, parameters, buffers, FLOPs and saved
//! activations.
//!
//! To add a layer op: add a row to `LAYER_OPS`, a variant to [`LayerOp`], a case to both
//! directions of argument conversion in `op.rs` (range checks live in `args.rs`), a case
//! to `infer.rs` (or `spatial.rs` for sliding windows), and a table-driven case to
//! `tests.rs` checked against PyTorch by hand. `every_op_builds_and_its_args_round_trip`
//! fails until the first two are consistent.

#[cfg(test)]
mod arg_tests;
mod args;
mod infer;
mod op;
mod params;
mod spatial;
#[cfg(test)]
mod tests;

use std::fmt::{self, Display, Formatter};

use serde::{Deserialize, Serialize};

use crate::Dim;

pub use infer::infer;
pub use op::{Conv, LayerOp, Pool};
pub use params::{Distribution, InitSpec, LayerInfo, ParamSpec};

/// The kind of value an argument accepts, as the language sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum ArgKind {
    /// An integer, possibly a symbolic size.
    Int,
    /// A float.
    Float,
    /// A boolean.
    Bool,
    /// An integer or a pair of integers (`3` or `(3, 3)`), for 2-d kernels and strides.
    IntOrPair,
    /// A list of integers, such as a `reshape` target.
    Ints,
}

impl Display for ArgKind {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ArgKind::Int => "an int",
            ArgKind::Float => "a float",
            ArgKind::Bool => "a bool",
            ArgKind::IntOrPair => "an int or a pair of ints",
            ArgKind::Ints => "a list of ints",
        })
    }
}

/// The default of an optional argument; `const`-friendly so the table can be static.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum ArgDefault {
    /// An integer default.
    Int(i64),
    /// A float default.
    Float(f64),
    /// A boolean default.
    Bool(bool),
    /// The value of another argument of the same call (a pool's `stride` is its `kernel`).
    SameAs(&'static str),
}

/// One argument of a layer op as seen from the language.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct ArgSpec {
    /// The argument name.
    pub name: &'static str,
    /// The kind of value it takes.
    pub kind: ArgKind,
    /// The default, or `None` when the argument is required.
    pub default: Option<ArgDefault>,
}

/// One row of the layer-op table.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct LayerOpSpec {
    /// The language name (`conv2d`).
    pub name: &'static str,
    /// A one-line description for docs and hover.
    pub doc: &'static str,
    /// The arguments, in positional order.
    pub args: &'static [ArgSpec],
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
}

/// Builds an [`ArgSpec`]: `arg!(name: Kind)` is required, `arg!(name: Kind = Default(v))`
/// has a default.
macro_rules! arg {
    ($name:ident : $kind:ident) => {
        ArgSpec { name: stringify!($name), kind: ArgKind::$kind, default: None }
    };
    ($name:ident : $kind:ident = $def:ident($val:expr)) => {
        ArgSpec { name: stringify!($name), kind: ArgKind::$kind, default: Some(ArgDefault::$def($val)) }
    };
}

/// Arguments shared by `conv1d` and `conv2d`, which differ only in the kind of the
/// size arguments (a plain int in 1-d, an int or pair in 2-d).
macro_rules! conv_args {
    ($k:ident) => {
        &[
            arg!(out: Int),
            arg!(kernel: $k),
            arg!(stride: $k = Int(1)),
            arg!(padding: $k = Int(0)),
            arg!(dilation: $k = Int(1)),
            arg!(groups: Int = Int(1)),
            arg!(bias: Bool = Bool(true)),
        ]
    };
}

macro_rules! pool_args {
    ($k:ident) => {
        &[arg!(kernel: $k), arg!(stride: $k = SameAs("kernel")), arg!(padding: $k = Int(0))]
    };
}

const LAYER_OPS: &[LayerOpSpec] = &[
    LayerOpSpec {
        name: "linear",
        doc: "Affine map of the last axis: `[B, ..., in] -> [B, ..., out]`.",
        args: &[arg!(out: Int), arg!(bias: Bool = Bool(true))],
    },
    LayerOpSpec { name: "conv1d", doc: "1-d convolution: `[B, C, L] -> [B, out, L']`.", args: conv_args!(Int) },
    LayerOpSpec {
        name: "conv2d",
        doc: "2-d convolution: `[B, C, H, W] -> [B, out, H', W']`.",
        args: conv_args!(IntOrPair),
    },
    LayerOpSpec { name: "max_pool1d", doc: "1-d max pooling over `[B, C, L]`.", args: pool_args!(Int) },
    LayerOpSpec { name: "max_pool2d", doc: "2-d max pooling over `[B, C, H, W]`.", args: pool_args!(IntOrPair) },
    LayerOpSpec { name: "avg_pool1d", doc: "1-d average pooling over `[B, C, L]`.", args: pool_args!(Int) },
    LayerOpSpec { name: "avg_pool2d", doc: "2-d average pooling over `[B, C, H, W]`.", args: pool_args!(IntOrPair) },
    LayerOpSpec { name: "global_avg_pool", doc: "Mean over every spatial axis: `[B, C, ...] -> [B, C]`.", args: &[] },
    LayerOpSpec { name: "flatten", doc: "Flattens every axis after the batch: `[B, ...] -> [B, n]`.", args: &[] },
    LayerOpSpec {
        name: "reshape",
        doc: "Reshapes the axes after the batch to `shape`; one entry may be `-1`.",
        args: &[arg!(shape: Ints)],
    },
    LayerOpSpec {
        name: "embed",
        doc: "Embedding lookup of integer ids: `[B, ...] -> [B, ..., dim]`, or `[B, n * dim]` with `concat`.",
        args: &[arg!(vocab: Int), arg!(dim: Int), arg!(concat: Bool = Bool(false))],
    },
    LayerOpSpec {
        name: "layer_norm",
        doc: "Layer normalization over the last axis.",
        args: &[arg!(eps: Float = Float(1e-5)), arg!(affine: Bool = Bool(true))],
    },
    LayerOpSpec {
        name: "batch_norm",
        doc: "Batch normalization over the channel axis 1, with running statistics.",
        args: &[arg!(eps: Float = Float(1e-5)), arg!(momentum: Float = Float(0.1)), arg!(affine: Bool = Bool(true))],
    },
    LayerOpSpec {
        name: "dropout",
        doc: "Zeroes each element with probability `rate` while training, scaling the rest.",
        args: &[arg!(rate: Float = Float(0.5))],
    },
    LayerOpSpec {
        name: "attention",
        doc: "Multi-head self-attention: `[B, T, dim] -> [B, T, dim]`.",
        args: &[arg!(heads: Int), arg!(dim: Int), arg!(bias: Bool = Bool(true))],
    },
    LayerOpSpec { name: "identity", doc: "Returns its input unchanged.", args: &[] },
];

/// Every layer op the language can call, in a fixed order (the docs list them this way).
///
/// Elementwise application of a scalar `fn` (`>> relu`) is not in this table: it is
/// [`LayerOp::Elementwise`], built by the checker from the function itself.
pub fn layer_ops() -> &'static [LayerOpSpec] {
    LAYER_OPS
}

/// The table row for the language name `name`.
pub fn layer_op(name: &str) -> Option<&'static LayerOpSpec> {
    LAYER_OPS.iter().find(|spec| spec.name == name)
}
