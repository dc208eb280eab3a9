//! The initializers of `std.init`, chosen with an experiment's `init = ...`, and their fan
//! rule: how one initializer becomes the [`InitSpec`] of each parameter of the model.
//!
//! The rule, as `stdlib/init.exp` documents it: weights (of `linear`, the convolutions and
//! `attention`) and embedding tables take the initializer's distribution, with fans computed
//! as PyTorch's `_calculate_fan_in_and_fan_out` does (`fan_in = shape[1] * receptive field`,
//! `fan_out = shape[0] * receptive field`, the receptive field being the product of
//! `shape[2..]`); biases start at 0 and normalization gains at 1; `pytorch_default` keeps each
//! layer's own default. Then `scale` multiplies every parameter. Buffers are not parameters
//! and keep their own initial values.

use serde::{Deserialize, Serialize};

use super::arg::{ArgError, Constraint};
use super::Validate;
use crate::layer::{Distribution, InitSpec};
use crate::{builtins, choice, Dim};

choice! {
    /// Which fan a Kaiming initializer divides by.
    pub enum FanMode {
        /// The inputs feeding each output unit: preserves the variance of the forward pass.
        FanIn = "fan_in",
        /// The outputs fed by each input unit: preserves the variance of the backward pass.
        FanOut = "fan_out",
    }
}

builtins! {
    /// A parameter initializer of `std.init`.
    pub enum Initializer: Initializer {
        /// Each layer's PyTorch default (`kaiming_uniform(a = sqrt(5))` weights,
        /// `U(-1/sqrt(fan_in), 1/sqrt(fan_in))` biases, `N(0, 1)` embeddings, norm gains 1).
        PytorchDefault = "pytorch_default" {
            /// Multiplies every initial parameter.
            scale: Float = Float(1.0), in Constraint::POSITIVE;
        },
        /// `U(-b, b)`, `b = gain * sqrt(6 / (fan_in + fan_out))`.
        XavierUniform = "xavier_uniform" {
            /// The gain.
            gain: Float = Float(1.0);
            /// Multiplies every initial parameter.
            scale: Float = Float(1.0), in Constraint::POSITIVE;
        },
        /// `N(0, std^2)`, `std = gain * sqrt(2 / (fan_in + fan_out))`.
        XavierNormal = "xavier_normal" {
            /// The gain.
            gain: Float = Float(1.0);
            /// Multiplies every initial parameter.
            scale: Float = Float(1.0), in Constraint::POSITIVE;
        },
        /// `U(-b, b)`, `b = sqrt(3) * sqrt(2 / (1 + a^2)) / sqrt(fan)`.
        KaimingUniform = "kaiming_uniform" {
            /// The negative slope of the leaky ReLU the gain is for (0 for ReLU).
            a: Float = Float(0.0);
            /// The fan divided by.
            mode: Choice(FanMode) = Str("fan_in");
            /// Multiplies every initial parameter.
            scale: Float = Float(1.0), in Constraint::POSITIVE;
        },
        /// `N(0, std^2)`, `std = sqrt(2 / (1 + a^2)) / sqrt(fan)`.
        KaimingNormal = "kaiming_normal" {
            /// The negative slope of the leaky ReLU the gain is for (0 for ReLU).
            a: Float = Float(0.0);
            /// The fan divided by.
            mode: Choice(FanMode) = Str("fan_in");
            /// Multiplies every initial parameter.
            scale: Float = Float(1.0), in Constraint::POSITIVE;
        },
        /// `N(0, 1 / fan_in)`, for `selu` networks.
        LecunNormal = "lecun_normal" {
            /// Multiplies every initial parameter.
            scale: Float = Float(1.0), in Constraint::POSITIVE;
        },
        /// A (semi-)orthogonal matrix times `gain` (Saxe et al., 2014).
        Orthogonal = "orthogonal" {
            /// The gain.
            gain: Float = Float(1.0);
            /// Multiplies every initial parameter.
            scale: Float = Float(1.0), in Constraint::POSITIVE;
        },
        /// `N(mean, std^2)`, whatever the fan.
        Gaussian = "gaussian" {
            /// The standard deviation.
            std: Float = Float(0.01), in Constraint::NON_NEGATIVE;
            /// The mean.
            mean: Float = Float(0.0);
            /// Multiplies every initial parameter.
            scale: Float = Float(1.0), in Constraint::POSITIVE;
        },
        /// `U(low, high)`, whatever the fan.
        Uniform = "uniform" {
            /// The lower bound.
            low: Float = Float(-0.05);
            /// The upper bound.
            high: Float = Float(0.05);
            /// Multiplies every initial parameter.
            scale: Float = Float(1.0), in Constraint::POSITIVE;
        },
    }
}

impl Validate for Initializer {
    fn validate(&self) -> Result<(), ArgError> {
        match self {
            Initializer::Uniform { low, high, .. } if low > high => {
                Err(ArgError::range(self.name(), "low", format!("at most `high` ({high})")))
            }
            _ => Ok(()),
        }
    }
}

/// What a parameter is to its layer, which decides how an initializer treats it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum ParamRole {
    /// A weight matrix or convolution kernel `[out, in, k...]`.
    Weight,
    /// An embedding table `[vocab, dim]`.
    Table,
    /// An additive bias.
    Bias,
    /// The gain of a normalization layer.
    NormGain,
    /// The bias of a normalization layer.
    NormBias,
    /// A buffer such as a running statistic: not trained, never re-initialized.
    Buffer,
}

/// `(fan_in, fan_out)` of a tensor of rank 2 or more, as PyTorch computes them.
pub fn fans(shape: &[i64]) -> (f64, f64) {
    let receptive: i64 = shape.iter().skip(2).product();
    let at = |i: usize| shape.get(i).copied().unwrap_or(1) as f64;
    (at(1) * receptive as f64, at(0) * receptive as f64)
}

/// `1 / sqrt(x)`, or 0 for an empty tensor's zero fan (PyTorch's convention).
fn inv_sqrt(x: f64) -> f64 {
    if x > 0.0 {
        1.0 / x.sqrt()
    } else {
        0.0
    }
}

/// The gain `sqrt(2 / (1 + a^2))` of a leaky ReLU with negative slope `a`.
fn leaky_gain(a: f64) -> f64 {
    (2.0 / (1.0 + a * a)).sqrt()
}

impl Initializer {
    /// The `scale` every initial parameter is multiplied by.
    pub fn scale(&self) -> f64 {
        match self {
            Initializer::PytorchDefault { scale }
            | Initializer::XavierUniform { scale, .. }
            | Initializer::XavierNormal { scale, .. }
            | Initializer::KaimingUniform { scale, .. }
            | Initializer::KaimingNormal { scale, .. }
            | Initializer::LecunNormal { scale }
            | Initializer::Orthogonal { scale, .. }
            | Initializer::Gaussian { scale, .. }
            | Initializer::Uniform { scale, .. } => *scale,
        }
    }

    /// The initializer of one parameter of constant `shape` whose layer's own default is
    /// `default` (see the module docs for the rule).
    pub fn param_init(&self, role: ParamRole, shape: &[i64], default: &InitSpec) -> InitSpec {
        let base = match (self, role) {
            (_, ParamRole::Buffer) => return default.clone(),
            (Initializer::PytorchDefault { .. }, _) => default.clone(),
            (_, ParamRole::Bias | ParamRole::NormBias) => InitSpec::Zeros,
            (_, ParamRole::NormGain) => InitSpec::Ones,
            (_, ParamRole::Weight | ParamRole::Table) => self.weight_init(shape, default),
        };
        base.scaled(self.scale())
    }

    /// The distribution of a weight or table before scaling.
    fn weight_init(&self, shape: &[i64], default: &InitSpec) -> InitSpec {
        let (fan_in, fan_out) = fans(shape);
        let fan = |mode: &FanMode| if *mode == FanMode::FanIn { fan_in } else { fan_out };
        let symmetric = |b: f64| InitSpec::Uniform { low: -b, high: b };
        let normal = |std: f64| InitSpec::Normal { mean: 0.0, std };
        match self {
            Initializer::PytorchDefault { .. } => default.clone(),
            Initializer::XavierUniform { gain, .. } => InitSpec::XavierUniform {
                gain: *gain,
                fan_in: Dim::constant(fan_in as i64),
                fan_out: Dim::constant(fan_out as i64),
            },
            Initializer::XavierNormal { gain, .. } => normal(gain * inv_sqrt((fan_in + fan_out) / 2.0)),
            Initializer::KaimingUniform { a, mode: FanMode::FanIn, .. } => {
                InitSpec::KaimingUniform { a: *a, fan_in: Dim::constant(fan_in as i64) }
            }
            Initializer::KaimingUniform { a, mode, .. } => {
                symmetric(3f64.sqrt() * leaky_gain(*a) * inv_sqrt(fan(mode)))
            }
            Initializer::KaimingNormal { a, mode, .. } => normal(leaky_gain(*a) * inv_sqrt(fan(mode))),
            Initializer::LecunNormal { .. } => normal(inv_sqrt(fan_in)),
            Initializer::Orthogonal { gain, .. } => InitSpec::Orthogonal { gain: *gain },
            Initializer::Gaussian { std, mean, .. } => InitSpec::Normal { mean: *mean, std: *std },
            Initializer::Uniform { low, high, .. } => InitSpec::Uniform { low: *low, high: *high },
        }
    }
}

impl InitSpec {
    /// The initializer whose samples are `s` times this one's, for a positive `s`; fans must
    /// be constants when `s != 1` (they are, once a parameter's shape is known).
    pub fn scaled(&self, s: f64) -> InitSpec {
        if s == 1.0 {
            return self.clone();
        }
        match self {
            InitSpec::Zeros => InitSpec::Zeros,
            InitSpec::Ones => InitSpec::Constant(s),
            InitSpec::Constant(c) => InitSpec::Constant(c * s),
            InitSpec::Normal { mean, std } => InitSpec::Normal { mean: mean * s, std: std * s },
            InitSpec::Uniform { low, high } => InitSpec::Uniform { low: low * s, high: high * s },
            InitSpec::XavierUniform { gain, fan_in, fan_out } => {
                InitSpec::XavierUniform { gain: gain * s, fan_in: fan_in.clone(), fan_out: fan_out.clone() }
            }
            InitSpec::Orthogonal { gain } => InitSpec::Orthogonal { gain: gain * s },
            InitSpec::KaimingUniform { .. } | InitSpec::BiasUniform { .. } => match self.resolve(&Default::default()) {
                Some(Distribution::Uniform { low, high }) => InitSpec::Uniform { low: low * s, high: high * s },
                _ => self.clone(),
            },
        }
    }
}
