//! What a layer op allocates: parameters and buffers with PyTorch's layouts and default
//! initializers, and the [`LayerInfo`] summary that shape inference returns.
//!
//! Initializers keep their fans as [`Dim`]s, because a block may be checked before its
//! sizes are known; [`InitSpec::resolve`] computes the concrete distribution once they are.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::registry::ParamRole;
use crate::{Dim, Shape};

/// How a tensor is initialized, following PyTorch's `nn` defaults.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub enum InitSpec {
    /// All zeros.
    Zeros,
    /// All ones.
    Ones,
    /// Every element equals the value (a norm gain under `init = ...(scale: s)`).
    Constant(f64),
    /// Normal with the given mean and standard deviation (`nn.Embedding` uses `N(0, 1)`).
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// Uniform on `[low, high)`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// `kaiming_uniform_(w, a)` with leaky-ReLU gain: `U(-b, b)`,
    /// `b = sqrt(6 / ((1 + a^2) * fan_in))`. PyTorch's linear and conv weights use
    /// `a = sqrt(5)`, which gives `b = 1 / sqrt(fan_in)`.
    KaimingUniform {
        /// Negative slope of the leaky ReLU the gain is computed for.
        a: f64,
        /// Inputs feeding each output unit.
        fan_in: Dim,
    },
    /// PyTorch's linear and conv bias default: `U(-b, b)` with `b = 1 / sqrt(fan_in)`
    /// (and `b = 0` when `fan_in` is zero).
    BiasUniform {
        /// Inputs feeding each output unit.
        fan_in: Dim,
    },
    /// `xavier_uniform_(w, gain)`: `U(-b, b)`, `b = gain * sqrt(6 / (fan_in + fan_out))`.
    XavierUniform {
        /// Gain factor.
        gain: f64,
        /// Inputs per output unit.
        fan_in: Dim,
        /// Outputs per input unit.
        fan_out: Dim,
    },
    /// `orthogonal_(w, gain)`: the weight, viewed as a `[rows, cols]` matrix with
    /// `rows = shape[0]`, is `gain` times a (semi-)orthogonal matrix drawn from the QR
    /// decomposition of a standard normal matrix (Saxe et al., 2014).
    Orthogonal {
        /// Gain factor.
        gain: f64,
    },
}

/// A concrete distribution, once every fan is known.
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
pub enum Distribution {
    /// Every element equals the value.
    Constant(f64),
    /// Uniform on `[low, high)`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// Normal with mean and standard deviation.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// A (semi-)orthogonal matrix scaled by `gain`; not elementwise, so the sampler needs the
    /// whole shape.
    Orthogonal {
        /// Gain factor.
        gain: f64,
    },
}

impl InitSpec {
    /// PyTorch's default for linear and conv weights: `kaiming_uniform_(w, a = sqrt(5))`.
    pub fn torch_default_weight(fan_in: Dim) -> InitSpec {
        InitSpec::KaimingUniform { a: 5f64.sqrt(), fan_in }
    }

    /// The concrete distribution under `env`; `None` when a fan mentions an unknown symbol.
    pub fn resolve(&self, env: &BTreeMap<String, i64>) -> Option<Distribution> {
        let symmetric = |b: f64| Distribution::Uniform { low: -b, high: b };
        // An empty tensor has no fan; PyTorch then uses a zero bound instead of dividing by 0.
        let inv_sqrt = |x: f64| if x > 0.0 { 1.0 / x.sqrt() } else { 0.0 };
        Some(match self {
            InitSpec::Zeros => Distribution::Constant(0.0),
            InitSpec::Ones => Distribution::Constant(1.0),
            InitSpec::Constant(c) => Distribution::Constant(*c),
            InitSpec::Normal { mean, std } => Distribution::Normal { mean: *mean, std: *std },
            InitSpec::Uniform { low, high } => Distribution::Uniform { low: *low, high: *high },
            InitSpec::KaimingUniform { a, fan_in } => {
                let fan = fan_in.eval(env)? as f64 * (1.0 + a * a) / 6.0;
                symmetric(inv_sqrt(fan))
            }
            InitSpec::BiasUniform { fan_in } => symmetric(inv_sqrt(fan_in.eval(env)? as f64)),
            InitSpec::XavierUniform { gain, fan_in, fan_out } => {
                let fans = (fan_in.eval(env)? + fan_out.eval(env)?) as f64;
                symmetric(gain * inv_sqrt(fans / 6.0))
            }
            InitSpec::Orthogonal { gain } => Distribution::Orthogonal { gain: *gain },
        })
    }

    /// The same initializer with symbols in its fans replaced.
    pub fn substitute(&self, env: &BTreeMap<String, Dim>) -> InitSpec {
        match self {
            InitSpec::KaimingUniform { a, fan_in } => {
                InitSpec::KaimingUniform { a: *a, fan_in: fan_in.substitute(env) }
            }
            InitSpec::BiasUniform { fan_in } => InitSpec::BiasUniform { fan_in: fan_in.substitute(env) },
            InitSpec::XavierUniform { gain, fan_in, fan_out } => InitSpec::XavierUniform {
                gain: *gain,
                fan_in: fan_in.substitute(env),
                fan_out: fan_out.substitute(env),
            },
            other => other.clone(),
        }
    }
}

/// One parameter or buffer of a layer, named as in PyTorch's `state_dict` (`weight`,
/// `bias`, `running_mean`, `in_proj_weight`, `out_proj.weight`).
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct ParamSpec {
    /// Name within the layer.
    pub name: String,
    /// What the tensor is to its layer (weight, bias, norm gain, buffer ...).
    pub role: ParamRole,
    /// Shape in PyTorch's layout (`[out, in]` for linear weights).
    pub shape: Shape,
    /// Initializer.
    pub init: InitSpec,
}

impl ParamSpec {
    /// A parameter named `name`.
    pub fn new(name: &str, role: ParamRole, shape: Shape, init: InitSpec) -> ParamSpec {
        ParamSpec { name: name.to_string(), role, shape, init }
    }

    /// The same parameter with symbols in its shape and initializer replaced.
    pub fn substitute(&self, env: &BTreeMap<String, Dim>) -> ParamSpec {
        let shape = Shape(self.shape.0.iter().map(|d| d.substitute(env)).collect());
        ParamSpec { name: self.name.clone(), role: self.role, shape, init: self.init.substitute(env) }
    }
}

/// The result of shape inference for one layer op.
///
/// FLOPs count one multiply-add as 2 FLOPs for linear, conv and attention matrix products
/// (bias additions and the softmax are not counted); pools count one FLOP per window
/// element, norms 5 per element (mean, variance, normalize, scale, shift), dropout and
/// elementwise functions 1 per element, and pure data movement 0.
/// `activations` counts the elements autograd keeps alive for the backward pass, beyond
/// the parameters, following what PyTorch saves (the input of a linear layer, a dropout
/// mask, attention probabilities).
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct LayerInfo {
    /// Output shape.
    pub output: Shape,
    /// Trainable parameters.
    pub params: Vec<ParamSpec>,
    /// Non-trainable state saved in checkpoints (batch-norm running statistics).
    pub buffers: Vec<ParamSpec>,
    /// FLOPs of one forward pass, in terms of the input's symbols.
    pub flops: Dim,
    /// Elements saved for backward.
    pub activations: Dim,
}

impl LayerInfo {
    /// Total number of trainable parameter elements.
    pub fn param_count(&self) -> Dim {
        self.params.iter().fold(Dim::constant(0), |acc, p| acc + p.shape.numel())
    }
}

#[cfg(test)]
mod tests {
    //! Parameter layouts and initializers of real layers, against PyTorch's defaults.

    use std::collections::BTreeMap;

    use super::super::tests::{call, dim, int, s};
    use super::*;

    #[test]
    fn parameter_layouts_and_initializers() {
        let linear = call("linear", &[("out", int(10))], "[B, 784]").unwrap();
        assert_eq!(
            linear.params[0],
            ParamSpec::new("weight", ParamRole::Weight, s("[10, 784]"), InitSpec::torch_default_weight(dim("784")))
        );
        assert_eq!(
            linear.params[1],
            ParamSpec::new("bias", ParamRole::Bias, s("[10]"), InitSpec::BiasUniform { fan_in: dim("784") })
        );
        let env = BTreeMap::new();
        let bound = 1.0 / 28.0;
        for p in &linear.params {
            let Some(Distribution::Uniform { low, high }) = p.init.resolve(&env) else { panic!("{p:?}") };
            assert!((high - bound).abs() < 1e-12 && (low + bound).abs() < 1e-12, "{}: {high}", p.name);
        }
        let conv = call("conv2d", &[("out", int(16)), ("kernel", int(3)), ("groups", int(2))], "[B, 4, 8, 8]").unwrap();
        assert_eq!(conv.params[0].shape, s("[16, 2, 3, 3]"));
        assert_eq!(conv.params[0].init, InitSpec::torch_default_weight(dim("18")));
        let names = |info: &LayerInfo| info.params.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
        let attn = call("attention", &[("heads", int(8)), ("dim", int(512))], "[B, T, 512]").unwrap();
        assert_eq!(names(&attn), ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]);
        let xavier = 6f64.sqrt() / (512.0f64 + 1536.0).sqrt();
        let Some(Distribution::Uniform { low, high }) = attn.params[0].init.resolve(&env) else { panic!() };
        assert!((high - xavier).abs() < 1e-15 && low == -high, "{high} vs {xavier}");
        assert_eq!(attn.params[3].init, InitSpec::Zeros);
        let bn = call("batch_norm", &[], "[B, 16, 8, 8]").unwrap();
        assert_eq!(names(&bn), ["weight", "bias"]);
        assert_eq!(
            bn.buffers.iter().map(|p| (p.name.as_str(), &p.init)).collect::<Vec<_>>(),
            [("running_mean", &InitSpec::Zeros), ("running_var", &InitSpec::Ones)]
        );
        let embed = call("embed", &[("vocab", int(97)), ("dim", int(8))], "[B, 2]").unwrap();
        assert_eq!(embed.params[0].init.resolve(&env), Some(Distribution::Normal { mean: 0.0, std: 1.0 }));
    }

    #[test]
    fn symbolic_initializers_resolve_after_substitution() {
        let info = call("linear", &[("out", int(3))], "[B, D]").unwrap();
        assert_eq!(info.params[0].init.resolve(&BTreeMap::new()), None, "fan_in `D` is unknown");
        let concrete = info.params[0].substitute(&[("D".to_string(), Dim::constant(16))].into());
        assert_eq!(concrete.shape, s("[3, 16]"));
        assert_eq!(concrete.init.resolve(&BTreeMap::new()), Some(Distribution::Uniform { low: -0.25, high: 0.25 }));
        let empty = InitSpec::BiasUniform { fan_in: Dim::constant(0) };
        assert_eq!(empty.resolve(&BTreeMap::new()), Some(Distribution::Uniform { low: -0.0, high: 0.0 }));
    }
}
