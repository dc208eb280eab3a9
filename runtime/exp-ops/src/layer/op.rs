//! [`LayerOp`]: one call of a layer op with every argument resolved and defaulted, built
//! from the language's named arguments and turned back into them for the IR text form.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::args::{bad_arg, Args};
use super::layer_op;
use crate::registry::arg::{ArgProblem, ArgValue};
use crate::{Dim, ShapeError};

/// Arguments of a convolution; the vectors have one entry per spatial axis.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Conv {
    /// Output channels.
    pub out_channels: Dim,
    /// Kernel size per spatial axis.
    pub kernel: Vec<Dim>,
    /// Stride per spatial axis.
    pub stride: Vec<Dim>,
    /// Zero padding on each side, per spatial axis.
    pub padding: Vec<Dim>,
    /// Dilation per spatial axis.
    pub dilation: Vec<Dim>,
    /// Number of channel groups; divides both channel counts.
    pub groups: Dim,
    /// Whether the op has a bias.
    pub bias: bool,
}

/// Arguments of a max or average pool; one entry per spatial axis.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Pool {
    /// Window size.
    pub kernel: Vec<Dim>,
    /// Stride (defaults to the window size).
    pub stride: Vec<Dim>,
    /// Implicit padding on each side (at most half the window, as in PyTorch).
    pub padding: Vec<Dim>,
}

/// A layer op call with every argument resolved; see [`super::layer_ops`] for the names.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub enum LayerOp {
    /// `linear`: `[B, ..., in] -> [B, ..., out]`.
    Linear {
        /// Output features.
        out: Dim,
        /// Whether the op has a bias.
        bias: bool,
    },
    /// `conv1d` over `[B, C, L]`.
    Conv1d(Conv),
    /// `conv2d` over `[B, C, H, W]`.
    Conv2d(Conv),
    /// `max_pool1d`.
    MaxPool1d(Pool),
    /// `max_pool2d`.
    MaxPool2d(Pool),
    /// `avg_pool1d`.
    AvgPool1d(Pool),
    /// `avg_pool2d`.
    AvgPool2d(Pool),
    /// `global_avg_pool`: `[B, C, ...] -> [B, C]`.
    GlobalAvgPool,
    /// `flatten`: `[B, ...] -> [B, n]`.
    Flatten,
    /// `reshape`: the axes after the batch become `shape` (one entry may be `-1`).
    Reshape {
        /// Target sizes of the non-batch axes.
        shape: Vec<Dim>,
    },
    /// `embed`: integer ids to vectors.
    Embedding {
        /// Number of distinct ids.
        vocab: Dim,
        /// Embedding width.
        dim: Dim,
        /// Whether to flatten the embedded positions into one axis.
        concat: bool,
    },
    /// `layer_norm` over the last axis.
    LayerNorm {
        /// Added to the variance.
        eps: f64,
        /// Whether it has a learned scale and shift.
        affine: bool,
    },
    /// `batch_norm` over axis 1.
    BatchNorm {
        /// Added to the variance.
        eps: f64,
        /// Weight of the newest batch in the running statistics.
        momentum: f64,
        /// Whether it has a learned scale and shift.
        affine: bool,
    },
    /// `dropout`.
    Dropout {
        /// Drop probability in `[0, 1)`.
        rate: f64,
    },
    /// `attention`: multi-head self-attention on `[B, T, dim]`.
    MultiHeadAttention {
        /// Number of heads; divides `dim`.
        heads: Dim,
        /// Model width.
        dim: Dim,
        /// Whether the projections have biases.
        bias: bool,
    },
    /// `identity`.
    Identity,
    /// A scalar `fn` applied to every element; `name` is the function's name.
    Elementwise {
        /// The scalar function's name, for messages and the IR.
        name: String,
    },
}

impl LayerOp {
    /// The language name (`"conv2d"`); `"elementwise"` for [`LayerOp::Elementwise`].
    pub fn name(&self) -> &'static str {
        match self {
            LayerOp::Linear { .. } => "linear",
            LayerOp::Conv1d(_) => "conv1d",
            LayerOp::Conv2d(_) => "conv2d",
            LayerOp::MaxPool1d(_) => "max_pool1d",
            LayerOp::MaxPool2d(_) => "max_pool2d",
            LayerOp::AvgPool1d(_) => "avg_pool1d",
            LayerOp::AvgPool2d(_) => "avg_pool2d",
            LayerOp::GlobalAvgPool => "global_avg_pool",
            LayerOp::Flatten => "flatten",
            LayerOp::Reshape { .. } => "reshape",
            LayerOp::Embedding { .. } => "embed",
            LayerOp::LayerNorm { .. } => "layer_norm",
            LayerOp::BatchNorm { .. } => "batch_norm",
            LayerOp::Dropout { .. } => "dropout",
            LayerOp::MultiHeadAttention { .. } => "attention",
            LayerOp::Identity => "identity",
            LayerOp::Elementwise { .. } => "elementwise",
        }
    }

    /// Builds the op `name` from named arguments, filling defaults and checking kinds and
    /// constant ranges. Positional arguments must be named by the caller, from the table.
    pub fn from_args(name: &str, args: &BTreeMap<String, ArgValue>) -> Result<LayerOp, ShapeError> {
        let spec = layer_op(name).ok_or_else(|| ShapeError::UnknownOp { name: name.to_string() })?;
        if let Some(extra) = args.keys().find(|k| !spec.args.iter().any(|a| a.name == k.as_str())) {
            return Err(bad_arg(spec.name, extra, ArgProblem::Unknown));
        }
        let a = Args { spec, given: args };
        // A row without a case below is a bug caught by the `every_op_builds` test.
        let op = match name {
            "linear" => LayerOp::Linear { out: a.int("out")?, bias: a.bool("bias")? },
            "conv1d" => LayerOp::Conv1d(a.conv(1)?),
            "conv2d" => LayerOp::Conv2d(a.conv(2)?),
            "max_pool1d" => LayerOp::MaxPool1d(a.pool(1)?),
            "max_pool2d" => LayerOp::MaxPool2d(a.pool(2)?),
            "avg_pool1d" => LayerOp::AvgPool1d(a.pool(1)?),
            "avg_pool2d" => LayerOp::AvgPool2d(a.pool(2)?),
            "global_avg_pool" => LayerOp::GlobalAvgPool,
            "flatten" => LayerOp::Flatten,
            "reshape" => LayerOp::Reshape { shape: a.ints("shape", None)? },
            "embed" => LayerOp::Embedding { vocab: a.int("vocab")?, dim: a.int("dim")?, concat: a.bool("concat")? },
            "layer_norm" => LayerOp::LayerNorm { eps: a.float("eps")?, affine: a.bool("affine")? },
            "batch_norm" => {
                LayerOp::BatchNorm { eps: a.float("eps")?, momentum: a.float("momentum")?, affine: a.bool("affine")? }
            }
            "dropout" => LayerOp::Dropout { rate: a.float("rate")? },
            "attention" => {
                LayerOp::MultiHeadAttention { heads: a.int("heads")?, dim: a.int("dim")?, bias: a.bool("bias")? }
            }
            "identity" => LayerOp::Identity,
            // A table row without a case here is a bug caught by the `every_op_builds` test.
            _ => return Err(ShapeError::UnknownOp { name: name.to_string() }),
        };
        Ok(op)
    }

    /// The fully-defaulted named arguments, such that `from_args(name(), to_args())` gives
    /// back the same op; the IR prints these. Empty for [`LayerOp::Elementwise`].
    pub fn to_args(&self) -> BTreeMap<String, ArgValue> {
        let mut out = BTreeMap::new();
        let mut put = |name: &str, v: ArgValue| {
            out.insert(name.to_string(), v);
        };
        match self {
            LayerOp::Linear { out, bias } => {
                put("out", ArgValue::Int(out.clone()));
                put("bias", ArgValue::Bool(*bias));
            }
            LayerOp::Conv1d(c) | LayerOp::Conv2d(c) => {
                put("out", ArgValue::Int(c.out_channels.clone()));
                put("groups", ArgValue::Int(c.groups.clone()));
                put("bias", ArgValue::Bool(c.bias));
                for (name, v) in
                    [("kernel", &c.kernel), ("stride", &c.stride), ("padding", &c.padding), ("dilation", &c.dilation)]
                {
                    put(name, spatial_value(v));
                }
            }
            LayerOp::MaxPool1d(p) | LayerOp::MaxPool2d(p) | LayerOp::AvgPool1d(p) | LayerOp::AvgPool2d(p) => {
                for (name, v) in [("kernel", &p.kernel), ("stride", &p.stride), ("padding", &p.padding)] {
                    put(name, spatial_value(v));
                }
            }
            LayerOp::Reshape { shape } => put("shape", ArgValue::Ints(shape.clone())),
            LayerOp::Embedding { vocab, dim, concat } => {
                put("vocab", ArgValue::Int(vocab.clone()));
                put("dim", ArgValue::Int(dim.clone()));
                put("concat", ArgValue::Bool(*concat));
            }
            LayerOp::LayerNorm { eps, affine } => {
                put("eps", ArgValue::Float(*eps));
                put("affine", ArgValue::Bool(*affine));
            }
            LayerOp::BatchNorm { eps, momentum, affine } => {
                put("eps", ArgValue::Float(*eps));
                put("momentum", ArgValue::Float(*momentum));
                put("affine", ArgValue::Bool(*affine));
            }
            LayerOp::Dropout { rate } => put("rate", ArgValue::Float(*rate)),
            LayerOp::MultiHeadAttention { heads, dim, bias } => {
                put("heads", ArgValue::Int(heads.clone()));
                put("dim", ArgValue::Int(dim.clone()));
                put("bias", ArgValue::Bool(*bias));
            }
            LayerOp::GlobalAvgPool | LayerOp::Flatten | LayerOp::Identity | LayerOp::Elementwise { .. } => {}
        }
        out
    }
}

/// A size equal along every spatial axis prints as one int (`kernel: 3`), as it is usually
/// written; a 2-d size that differs by axis as a pair.
fn spatial_value(v: &[Dim]) -> ArgValue {
    match v {
        [first, rest @ ..] if rest.iter().all(|d| d == first) => ArgValue::Int(first.clone()),
        _ => ArgValue::Ints(v.to_vec()),
    }
}
