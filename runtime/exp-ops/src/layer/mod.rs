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

use crate::registry::arg::{ArgKind, ArgSpec, Constraint};
use crate::registry::{BuiltinKind, BuiltinSpec};

pub use infer::infer;
pub use op::{Conv, LayerOp, Pool};
pub use params::{Distribution, InitSpec, LayerInfo, ParamSpec};

/// Builds an [`ArgSpec`]: `arg!(name: Kind)` is required, `arg!(name: Kind = Default(v))`
/// has a default; either may end with `, in CONSTRAINT`.
macro_rules! arg {
    ($name:ident : $kind:ident $(= $def:ident($val:expr))? $(, in $con:expr)?) => {
        ArgSpec {
            name: stringify!($name),
            kind: ArgKind::$kind,
            default: crate::__arg_default!($($def($val))?),
            constraint: crate::__arg_constraint!($($con)?),
        }
    };
}

/// Sizes and counts: at least 1.
const SIZE: Constraint = Constraint::POSITIVE;
/// Paddings: at least 0.
const PAD: Constraint = Constraint::NON_NEGATIVE;

/// Arguments shared by `conv1d` and `conv2d`, which differ only in the kind of the
/// size arguments (a plain int in 1-d, an int or pair in 2-d).
macro_rules! conv_args {
    ($k:ident) => {
        &[
            arg!(out: Int, in SIZE),
            arg!(kernel: $k, in SIZE),
            arg!(stride: $k = Int(1), in SIZE),
            arg!(padding: $k = Int(0), in PAD),
            arg!(dilation: $k = Int(1), in SIZE),
            arg!(groups: Int = Int(1), in SIZE),
            arg!(bias: Bool = Bool(true)),
        ]
    };
}

macro_rules! pool_args {
    ($k:ident) => {
        &[arg!(kernel: $k, in SIZE), arg!(stride: $k = SameAs("kernel"), in SIZE), arg!(padding: $k = Int(0), in PAD)]
    };
}

/// A layer row.
const fn row(name: &'static str, doc: &'static str, args: &'static [ArgSpec]) -> BuiltinSpec {
    BuiltinSpec { name, kind: BuiltinKind::Layer, doc, args, returns: None }
}

const LAYER_OPS: &[BuiltinSpec] = &[
    row(
        "linear",
        "Affine map of the last axis: `[B, ..., in] -> [B, ..., out]`.",
        &[arg!(out: Int, in SIZE), arg!(bias: Bool = Bool(true))],
    ),
    row("conv1d", "1-d convolution: `[B, C, L] -> [B, out, L']`.", conv_args!(Int)),
    row("conv2d", "2-d convolution: `[B, C, H, W] -> [B, out, H', W']`.", conv_args!(IntOrPair)),
    row("max_pool1d", "1-d max pooling over `[B, C, L]`.", pool_args!(Int)),
    row("max_pool2d", "2-d max pooling over `[B, C, H, W]`.", pool_args!(IntOrPair)),
    row("avg_pool1d", "1-d average pooling over `[B, C, L]`.", pool_args!(Int)),
    row("avg_pool2d", "2-d average pooling over `[B, C, H, W]`.", pool_args!(IntOrPair)),
    row("global_avg_pool", "Mean over every spatial axis: `[B, C, ...] -> [B, C]`.", &[]),
    row("flatten", "Flattens every axis after the batch: `[B, ...] -> [B, n]`.", &[]),
    row("reshape", "Reshapes the axes after the batch to `shape`; one entry may be `-1`.", &[arg!(shape: Ints)]),
    row(
        "embed",
        "Embedding lookup of integer ids: `[B, ...] -> [B, ..., dim]`, or `[B, n * dim]` with `concat`.",
        &[arg!(vocab: Int, in SIZE), arg!(dim: Int, in SIZE), arg!(concat: Bool = Bool(false))],
    ),
    row(
        "layer_norm",
        "Layer normalization over the last axis.",
        &[arg!(eps: Float = Float(1e-5), in Constraint::POSITIVE), arg!(affine: Bool = Bool(true))],
    ),
    row(
        "batch_norm",
        "Batch normalization over the channel axis 1, with running statistics.",
        &[
            arg!(eps: Float = Float(1e-5), in Constraint::POSITIVE),
            arg!(momentum: Float = Float(0.1), in Constraint::UNIT),
            arg!(affine: Bool = Bool(true)),
        ],
    ),
    row(
        "dropout",
        "Zeroes each element with probability `rate` while training, scaling the rest.",
        &[arg!(rate: Float = Float(0.5), in Constraint::half_open(0.0, 1.0))],
    ),
    row(
        "attention",
        "Multi-head self-attention: `[B, T, dim] -> [B, T, dim]`.",
        &[arg!(heads: Int, in SIZE), arg!(dim: Int, in SIZE), arg!(bias: Bool = Bool(true))],
    ),
    row("identity", "Returns its input unchanged.", &[]),
];

/// Every layer op the language can call, in a fixed order (the docs list them this way).
///
/// Elementwise application of a scalar `fn` (`>> relu`) is not in this table: it is
/// [`LayerOp::Elementwise`], built by the checker from the function itself.
pub fn layer_ops() -> &'static [BuiltinSpec] {
    LAYER_OPS
}

/// The table row for the language name `name`.
pub fn layer_op(name: &str) -> Option<&'static BuiltinSpec> {
    LAYER_OPS.iter().find(|spec| spec.name == name)
}
