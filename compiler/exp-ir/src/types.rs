//! The top-level IR data: the [`Program`] and every section except the model graph
//! ([`crate::graph`]) and the scalar functions, optimizer and schedules ([`crate::scalar`]).
//!
//! Everything here is plain data, ordered by `Vec`s so that no map iteration order can leak into
//! the printed form.
//! Sections appear in the text form in the order of the fields of [`Program`].

use crate::graph::Graph;
use crate::scalar::{Optimizer, ScalarFn, Schedule};
use crate::seed::Seeds;
use crate::value::Value;
use exp_ops::{DataSource, InitSpec, Metric, Shape};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The version printed in the header (`expir 1`); bump it on any change of the text form.
pub const FORMAT_VERSION: u32 = 1;

/// Named arguments in declaration order, every default filled in by lowering.
pub type Args = Vec<(String, Value)>;

/// One experiment, fully resolved: the unit the runtime executes and whose hash names the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Program {
    /// The experiment's name.
    pub name: String,
    /// The content hash written by [`Program::seal`]; empty before sealing.
    pub hash: String,
    /// Source files that origins index into, by position.
    pub files: Vec<String>,
    /// Resolved configuration, sorted by path.
    pub config: Vec<ConfigEntry>,
    /// The base seed and the derived seeds.
    pub seeds: Seeds,
    /// Where the training data comes from and how it is batched.
    pub data: DataPlan,
    /// Trainable parameters.
    pub params: Vec<Param>,
    /// Non-trainable state such as batch-norm running statistics.
    pub buffers: Vec<Param>,
    /// Scalar functions: activations, update rules, schedules and derived probes.
    pub functions: Vec<ScalarFn>,
    /// The model as an SSA graph.
    pub graph: Graph,
    /// The training loss.
    pub loss: Loss,
    /// Schedules that optimizer hyperparameters may refer to.
    pub schedules: Vec<Schedule>,
    /// The optimizer, with its update rule already including any wrappers.
    pub optimizer: Optimizer,
    /// Steps, probes and stop rules.
    pub train: TrainingPlan,
    /// Static estimates of size and cost.
    pub estimates: Estimates,
}

/// A byte range in a source file, the `.exp` span an IR item came from; printed `@0:120..135`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Origin {
    /// Index into [`Program::files`].
    pub file: u32,
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}:{}..{}", self.file, self.start, self.end)
    }
}

/// One resolved configuration value and where it came from; printed
/// `optimizer.lr = 0.001  # from default`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigEntry {
    /// Dotted path, e.g. `optimizer.lr`.
    pub path: String,
    /// The resolved value.
    pub value: Value,
    /// Which layer of configuration supplied it.
    pub provenance: Provenance,
}

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Provenance {
    /// A default of the declaration's parameter.
    Default,
    /// Written in the experiment itself.
    Declaration,
    /// Inherited from the named parent experiment (`extends`).
    Extends(String),
    /// Given on the command line with `--set`.
    CommandLine,
}

/// Element type of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DType {
    /// 32-bit float.
    F32,
    /// 64-bit integer, used for token ids and class labels.
    I64,
}

impl DType {
    /// The word used in the text form.
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::I64 => "i64",
        }
    }

    /// The dtype printed as `name`, if any.
    pub fn from_name(name: &str) -> Option<DType> {
        [DType::F32, DType::I64].into_iter().find(|d| d.name() == name)
    }

    /// Bytes per element, used by the memory estimates.
    pub fn size_bytes(self) -> u64 {
        match self {
            DType::F32 => 4,
            DType::I64 => 8,
        }
    }
}

/// Element type and shape of a tensor; printed `f32[B, 784]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorType {
    /// Element type.
    pub dtype: DType,
    /// Shape; only graph values may use the symbolic batch `B`.
    pub shape: Shape,
}

/// The data pipeline of the experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataPlan {
    /// The source with every argument, from the registry's data sources.
    pub source: DataSource,
    /// Shape of one input sample as the model sees it (after transforms), without the batch
    /// dimension.
    pub x_shape: Shape,
    /// Element type of inputs: `f32`, or `i64` for token ids.
    pub x_dtype: DType,
    /// What the model predicts.
    pub target: Target,
    /// Splits the source provides (`train`, `test`, ...), in source order.
    pub splits: Vec<String>,
    /// Transforms applied to each sample, in order.
    pub transforms: Vec<TransformStep>,
    /// Training batch size.
    pub batch: u64,
    /// Whether the training split is reshuffled every epoch.
    pub shuffle: bool,
    /// The `data` declaration.
    pub origin: Option<Origin>,
}

/// What a data source's targets are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Target {
    /// Class labels `0..n`.
    Classes(u64),
    /// Real-valued targets of this per-sample shape.
    Regression(Shape),
}

/// One transform of the data pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransformStep {
    /// The transform with every argument, from the registry's transforms.
    pub op: exp_ops::Transform,
    /// Where it was written.
    pub origin: Option<Origin>,
}

/// A parameter or buffer tensor of the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Param {
    /// Stable dotted name, e.g. `model.layers.0.weight`; checkpoints key on it.
    pub name: String,
    /// Concrete shape (no symbolic dimensions).
    pub shape: Shape,
    /// Element type.
    pub dtype: DType,
    /// How to initialize it.
    pub init: InitSpec,
    /// The layer that declared it.
    pub origin: Option<Origin>,
}

/// The training loss, applied to the graph's output and the batch targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Loss {
    /// The loss with every argument, from the registry's losses.
    pub op: exp_ops::Loss,
    /// Where the loss was chosen.
    pub origin: Option<Origin>,
}

/// How long to train and what to measure.
///
/// The step counts depend on the number of training examples, which for file sources (MNIST
/// IDX files, say) is known only once the runtime reads the data; they are then `None`, and the
/// runtime derives them from [`TrainingPlan::length`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingPlan {
    /// The declared training length, `Steps(n)` or `Epochs(n)`.
    pub length: Frequency,
    /// Total optimizer steps, with epochs converted; `None` when the dataset size is unknown
    /// before the data is read.
    pub total_steps: Option<u64>,
    /// Steps in one pass over the training split; `None` when the dataset size is unknown before
    /// the data is read.
    pub steps_per_epoch: Option<u64>,
    /// Batch size for evaluation passes.
    pub eval_batch: u64,
    /// Measurements, in declaration order.
    pub probes: Vec<Probe>,
    /// Early-stopping rules; training stops when any fires.
    pub stop_rules: Vec<StopRule>,
}

/// A measurement taken while training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// Unique name, used by stop rules, derived probes and the metrics files.
    pub name: String,
    /// What it measures.
    pub kind: ProbeKind,
    /// How often it runs.
    pub every: Frequency,
    /// Where it was declared.
    pub origin: Option<Origin>,
}

impl Probe {
    /// The split a built-in probe or metric reads; `None` for derived probes and probes of the
    /// model alone.
    pub fn split(&self) -> Option<&str> {
        match &self.kind {
            ProbeKind::Builtin(p) => p.split(),
            ProbeKind::Metric(m) => m.split(),
            ProbeKind::Derived { .. } => None,
        }
    }
}

/// What a probe measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProbeKind {
    /// A built-in probe of the registry (`accuracy(on: test)`), with its arguments.
    Builtin(exp_ops::Probe),
    /// A built-in metric of the registry (`top_k(k: 5, on: test)`), with its arguments.
    Metric(Metric),
    /// A value computed from other probes by a scalar function; `inputs` are probe names bound
    /// to the function's inputs by position. Printed `expr @fn(a, b)`.
    Derived {
        /// Name of the scalar function.
        function: String,
        /// Probe names, one per function input.
        inputs: Vec<String>,
    },
}

/// A number of steps or epochs: how often a probe runs, or how long training lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Frequency {
    /// Every N optimizer steps.
    Steps(u64),
    /// Every N epochs.
    Epochs(u64),
}

/// Stop training when `probe cmp threshold` holds for `count` consecutive evaluations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StopRule {
    /// The probe it watches.
    pub probe: String,
    /// The comparison.
    pub cmp: Comparison,
    /// The threshold.
    #[serde(with = "crate::json::float")]
    pub threshold: f64,
    /// Consecutive evaluations required (`for 3 probes`); at least 1.
    pub count: u32,
    /// Where the rule was written.
    pub origin: Option<Origin>,
}

/// A comparison operator of a stop rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Comparison {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Comparison {
    /// Every comparison, longest symbols first so a lexer can match greedily.
    pub const ALL: [Comparison; 4] = [Comparison::Le, Comparison::Ge, Comparison::Lt, Comparison::Gt];

    /// The operator symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
        }
    }
}

/// Static estimates computed by lowering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Estimates {
    /// Number of trainable scalars (the sum of parameter sizes).
    pub param_count: u64,
    /// Memory by category.
    pub memory: Memory,
    /// Floating-point operations of one training step (forward and backward).
    pub flops_per_step: u64,
}

/// Memory estimate in bytes, by category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    /// Parameters.
    pub params: u64,
    /// Buffers.
    pub buffers: u64,
    /// Gradients.
    pub grads: u64,
    /// Optimizer state slots.
    pub optimizer_state: u64,
    /// Activations kept for backward at the declared batch.
    pub activations: u64,
    /// The sum of the above.
    pub total: u64,
}
