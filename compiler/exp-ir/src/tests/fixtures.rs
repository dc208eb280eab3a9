//! Three realistic programs written by hand, as lowering would produce them: an MLP with AdamW
//! and a cosine schedule, a CNN with batch norm, dropout and a residual, and a gradient-noise
//! SGD on modular arithmetic with token embeddings and a multiplicative gate.

use super::build::*;
use crate::*;
use exp_ops::{DataSource, Dim, LayerOp, ScalarOp::*};

/// All fixtures, sealed.
pub fn all() -> Vec<Program> {
    vec![mlp_adamw(), cnn_batchnorm(), noisy_sgd()]
}

fn relu(origin: Option<Origin>) -> ScalarFn {
    let mut f = FnBuilder::new("relu", &["x"], origin);
    let zero = f.c(0.0);
    let y = f.op(Max, &[f.arg("x"), zero]);
    f.ret("y", y).done()
}

fn linear(out: i64) -> LayerOp {
    LayerOp::Linear { out: Dim::constant(out), bias: true }
}

fn config(entries: &[(&str, Value, Provenance)]) -> Vec<ConfigEntry> {
    entries
        .iter()
        .map(|(p, v, prov)| ConfigEntry { path: p.to_string(), value: v.clone(), provenance: prov.clone() })
        .collect()
}

fn steps(n: i64) -> Value {
    Value::Quantity { amount: Number::Int(n), unit: Unit::Steps }
}

fn probe(name: &str, kind: ProbeKind, every: Frequency, at: u32) -> Probe {
    Probe { name: name.into(), kind, every, origin: origin(0, at, at + 30) }
}

fn accuracy(split: &str) -> ProbeKind {
    ProbeKind::Builtin(exp_ops::Probe::Accuracy { on: split.into() })
}

fn cross_entropy(at: u32, to: u32) -> Loss {
    Loss { op: exp_ops::Loss::CrossEntropy { label_smoothing: 0.0 }, origin: origin(0, at, to) }
}

/// Assembles a program and fills in consistent estimates and the hash.
#[allow(clippy::too_many_arguments)]
fn finish(
    name: &str,
    config: Vec<ConfigEntry>,
    data: DataPlan,
    model: ModelBuilder,
    functions: Vec<ScalarFn>,
    loss: Loss,
    schedules: Vec<Schedule>,
    optimizer: Optimizer,
    train: TrainingPlan,
) -> Program {
    let files = vec![format!("examples/{name}/main.exp"), "<std>/optim.exp".to_string()];
    let zero = Estimates {
        param_count: 0,
        memory: Memory { params: 0, buffers: 0, grads: 0, optimizer_state: 0, activations: 0, total: 0 },
        flops_per_step: 0,
    };
    let mut p = Program {
        name: name.into(),
        hash: String::new(),
        files,
        config,
        seeds: Seeds::from_base(0),
        data,
        params: model.params,
        buffers: model.buffers,
        functions,
        graph: model.graph,
        loss,
        schedules,
        optimizer,
        train,
        estimates: zero,
    };
    p.estimates = estimates(&p, 1_204_224, 52_480_000);
    p.seal();
    p
}

/// An MLP on MNIST with AdamW, a cosine learning-rate schedule and gradient-norm clipping.
pub fn mlp_adamw() -> Program {
    let mut m = ModelBuilder::new();
    let x = m.input("x", DType::F32, "[B, 1, 28, 28]");
    let h = m.layer("model.flatten", LayerOp::Flatten, x, origin(0, 120, 127));
    let h = m.layer("model.layers.0", linear(128), h, origin(0, 131, 142));
    let h = m.same(NodeOp::Elementwise { function: "relu".into() }, &[h], h, origin(0, 146, 150));
    let y = m.layer("model.layers.1", linear(10), h, origin(0, 154, 164));
    m.graph.outputs.push(y);

    let mut cos = FnBuilder::new("cosine_lr", &["progress"], origin(1, 40, 120));
    let pi = cos.c(std::f64::consts::PI);
    let angle = cos.op(Mul, &[pi, cos.arg("progress")]);
    let c = cos.op(Cos, &[angle]);
    let one = cos.c(1.0);
    let sum = cos.op(Add, &[one, c]);
    let half_lr = cos.c(0.0005);
    let lr = cos.op(Mul, &[half_lr, sum]);
    let cosine = cos.ret("value", lr).done();

    let inputs = ["p", "g", "t", "lr", "beta1", "beta2", "eps", "weight_decay", "m", "v"];
    let mut f = FnBuilder::new("adamw_update", &inputs, origin(1, 200, 700));
    let [p, g, t, lr, b1, b2, eps, wd, mm, v] = inputs.map(|n| f.arg(n));
    let one = f.c(1.0);
    let (a, omb1) = (f.op(Mul, &[b1, mm]), f.op(Sub, &[one, b1]));
    let b = f.op(Mul, &[omb1, g]);
    let m2 = f.op(Add, &[a, b]);
    let (c, omb2, gg) = (f.op(Mul, &[b2, v]), f.op(Sub, &[one, b2]), f.op(Mul, &[g, g]));
    let d = f.op(Mul, &[omb2, gg]);
    let v2 = f.op(Add, &[c, d]);
    let (b1t, b2t) = (f.op(Pow, &[b1, t]), f.op(Pow, &[b2, t]));
    let (bc1, bc2) = (f.op(Sub, &[one, b1t]), f.op(Sub, &[one, b2t]));
    let (mhat, vhat) = (f.op(Div, &[m2, bc1]), f.op(Div, &[v2, bc2]));
    let sq = f.op(Sqrt, &[vhat]);
    let den = f.op(Add, &[sq, eps]);
    let upd = f.op(Div, &[mhat, den]);
    let decay = f.op(Mul, &[wd, p]);
    let step = f.op(Add, &[upd, decay]);
    let scaled = f.op(Mul, &[lr, step]);
    let p2 = f.op(Sub, &[p, scaled]);
    let adamw = f.ret("p", p2).ret("m", m2).ret("v", v2).done();

    let hyper = |name: &str, x: f64| Hyper { name: name.into(), value: HyperValue::Const(x) };
    let optimizer = Optimizer {
        name: "adamw".into(),
        hypers: vec![
            Hyper { name: "lr".into(), value: HyperValue::Schedule("lr_cos".into()) },
            hyper("beta1", 0.9),
            hyper("beta2", 0.999),
            hyper("eps", 1e-8),
            hyper("weight_decay", 0.01),
        ],
        state: vec![
            StateSlot { name: "m".into(), init: StateInit::Zeros },
            StateSlot { name: "v".into(), init: StateInit::Zeros },
        ],
        update: "adamw_update".into(),
        clip: GradClip::Norm(1.0),
        origin: origin(0, 200, 260),
    };
    let data = DataPlan {
        source: DataSource::Idx { dir: "data/mnist".into(), shape: vec![1, 28, 28], classes: 10 },
        x_shape: shape("[1, 28, 28]"),
        x_dtype: DType::F32,
        target: Target::Classes(10),
        splits: vec!["train".into(), "test".into()],
        transforms: vec![TransformStep {
            op: exp_ops::Transform::Normalize { mean: 0.1307, std: 0.3081 },
            origin: origin(0, 60, 100),
        }],
        batch: 128,
        shuffle: true,
        origin: origin(0, 10, 100),
    };
    // MNIST is read from IDX files, so the step counts are known only at run time.
    let train = TrainingPlan {
        length: Frequency::Epochs(10),
        total_steps: None,
        steps_per_epoch: None,
        eval_batch: 1000,
        probes: vec![
            probe(
                "train_loss",
                ProbeKind::Builtin(exp_ops::Probe::Loss { on: "train".into() }),
                Frequency::Steps(100),
                300,
            ),
            probe("test_acc", accuracy("test"), Frequency::Epochs(1), 340),
        ],
        stop_rules: vec![StopRule {
            probe: "test_acc".into(),
            cmp: Comparison::Ge,
            threshold: 0.98,
            count: 2,
            origin: origin(0, 380, 410),
        }],
    };
    let config = config(&[
        ("batch", Value::Int(128), Provenance::Declaration),
        ("optimizer.betas", Value::Tuple(vec![Value::Float(0.9), Value::Float(0.999)]), Provenance::Default),
        ("optimizer.lr", Value::Float(0.001), Provenance::Default),
        ("optimizer.weight_decay", Value::Float(0.01), Provenance::CommandLine),
        ("seed", Value::Int(0), Provenance::Extends("mnist_base".into())),
        ("train", Value::Quantity { amount: Number::Int(10), unit: Unit::Epochs }, Provenance::Declaration),
    ]);
    let loss = cross_entropy(170, 190);
    let schedules = vec![Schedule { name: "lr_cos".into(), function: "cosine_lr".into(), origin: origin(0, 100, 118) }];
    finish("mlp_adamw", config, data, m, vec![relu(origin(1, 0, 30)), cosine, adamw], loss, schedules, optimizer, train)
}

/// A CNN on CIFAR-10 with batch norm, a scaled residual, dropout, momentum SGD, value clipping
/// and a derived probe.
pub fn cnn_batchnorm() -> Program {
    let mut m = ModelBuilder::new();
    let x = m.input("images", DType::F32, "[B, 3, 32, 32]");
    let conv = exp_ops::Conv {
        out_channels: Dim::constant(16),
        kernel: vec![Dim::constant(3); 2],
        stride: vec![Dim::constant(1); 2],
        padding: vec![Dim::constant(1); 2],
        dilation: vec![Dim::constant(1); 2],
        groups: Dim::constant(1),
        bias: false,
    };
    let h = m.layer("model.conv", LayerOp::Conv2d(conv), x, origin(0, 200, 230));
    let bn = LayerOp::BatchNorm { eps: 1e-5, momentum: 0.1, affine: true };
    let h = m.layer("model.bn", bn, h, origin(0, 234, 246));
    let r = m.same(NodeOp::Elementwise { function: "relu".into() }, &[h], h, origin(0, 250, 254));
    let s = m.same(NodeOp::Scale { factor: 0.5 }, &[r], r, origin(0, 258, 270));
    let h = m.same(NodeOp::Add, &[r, s], r, origin(0, 258, 280));
    let pool = exp_ops::Pool {
        kernel: vec![Dim::constant(2); 2],
        stride: vec![Dim::constant(2); 2],
        padding: vec![Dim::constant(0); 2],
    };
    let h = m.layer("model.pool", LayerOp::MaxPool2d(pool), h, origin(0, 284, 300));
    let h = m.layer("model.drop", LayerOp::Dropout { rate: 0.25 }, h, origin(0, 304, 317));
    let h = m.layer("model.flatten", LayerOp::Flatten, h, origin(0, 321, 328));
    let y = m.layer("model.head", linear(10), h, origin(0, 332, 342));
    m.graph.outputs.push(y);

    let inputs = ["p", "g", "lr", "momentum", "buf"];
    let mut f = FnBuilder::new("sgd_momentum", &inputs, origin(1, 800, 900));
    let [p, g, lr, mom, buf] = inputs.map(|n| f.arg(n));
    let a = f.op(Mul, &[mom, buf]);
    let buf2 = f.op(Add, &[a, g]);
    let step = f.op(Mul, &[lr, buf2]);
    let p2 = f.op(Sub, &[p, step]);
    let sgd = f.ret("p", p2).ret("buf", buf2).done();
    let mut gap = FnBuilder::new("acc_gap", &["train_acc", "test_acc"], origin(0, 420, 450));
    let d = gap.op(Sub, &[gap.arg("train_acc"), gap.arg("test_acc")]);
    let gap = gap.ret("gap", d).done();

    let optimizer = Optimizer {
        name: "sgd".into(),
        hypers: vec![
            Hyper { name: "lr".into(), value: HyperValue::Const(0.1) },
            Hyper { name: "momentum".into(), value: HyperValue::Const(0.9) },
        ],
        state: vec![StateSlot { name: "buf".into(), init: StateInit::CopyGrad }],
        update: "sgd_momentum".into(),
        clip: GradClip::Value(5.0),
        origin: origin(0, 350, 380),
    };
    let t = |op: exp_ops::Transform, at: u32| TransformStep { op, origin: origin(0, at, at + 20) };
    let data = DataPlan {
        source: DataSource::Cifar10 { dir: "data/cifar-10 \"binary\"".into() },
        x_shape: shape("[3, 32, 32]"),
        x_dtype: DType::F32,
        target: Target::Classes(10),
        splits: vec!["train".into(), "test".into()],
        transforms: vec![
            t(exp_ops::Transform::Scale { factor: 1.0 / 255.0 }, 40),
            t(exp_ops::Transform::Normalize { mean: 0.5, std: 0.25 }, 70),
        ],
        batch: 64,
        shuffle: true,
        origin: origin(0, 10, 120),
    };
    let every = Frequency::Epochs(1);
    let derived = Probe {
        name: "gap".into(),
        kind: ProbeKind::Derived { function: "acc_gap".into(), inputs: vec!["train_acc".into(), "test_acc".into()] },
        every,
        origin: origin(0, 460, 490),
    };
    let train = TrainingPlan {
        length: Frequency::Epochs(10),
        total_steps: Some(7820),
        steps_per_epoch: Some(782),
        eval_batch: 500,
        probes: vec![
            probe("train_acc", accuracy("train"), every, 390),
            probe("test_acc", accuracy("test"), every, 400),
            derived,
        ],
        stop_rules: vec![StopRule {
            probe: "gap".into(),
            cmp: Comparison::Gt,
            threshold: 0.2,
            count: 3,
            origin: origin(0, 500, 530),
        }],
    };
    let config = config(&[
        (
            "data.augment",
            Value::List(vec![Value::Str("scale".into()), Value::Str("normalize".into())]),
            Provenance::Declaration,
        ),
        ("optimizer.lr", Value::Float(0.1), Provenance::Declaration),
        ("seed", Value::Int(0), Provenance::Default),
    ]);
    let loss = cross_entropy(345, 348);
    finish("cnn_batchnorm", config, data, m, vec![relu(origin(1, 0, 30)), sgd, gap], loss, Vec::new(), optimizer, train)
}

/// Plain SGD wrapped in gradient noise (Neelakantan et al., 2015) on modular addition, with a
/// linear warm-up schedule, token embeddings, a multiplicative gate and a concatenating skip
/// connection.
pub fn noisy_sgd() -> Program {
    let mut m = ModelBuilder::new();
    let x = m.input("tokens", DType::I64, "[B, 2]");
    let embed = LayerOp::Embedding { vocab: Dim::constant(97), dim: Dim::constant(32), concat: true };
    let e = m.layer("model.embed", embed, x, origin(0, 150, 175));
    let h = m.layer("model.hidden", linear(64), e, origin(0, 179, 189));
    let h = m.same(NodeOp::Elementwise { function: "gelu".into() }, &[h], h, origin(0, 193, 197));
    // A multiplicative gate by the embeddings, which have the hidden width.
    let h = m.same(NodeOp::Mul, &[h, e], h, origin(0, 193, 201));
    let cat_ty = TensorType { dtype: DType::F32, shape: shape("[B, 128]") };
    let h = m.node(NodeOp::Concat { axis: 1 }, &[h, e], cat_ty, origin(0, 201, 215));
    let y = m.layer("model.out", linear(97), h, origin(0, 219, 229));
    m.graph.outputs.push(y);

    let mut f = FnBuilder::new("gelu", &["x"], origin(1, 0, 80));
    let x_ = f.arg("x");
    let (half, inv_sqrt2, one) = (f.c(0.5), f.c(std::f64::consts::FRAC_1_SQRT_2), f.c(1.0));
    let z = f.op(Mul, &[x_, inv_sqrt2]);
    let erf = f.op(Erf, &[z]);
    let s = f.op(Add, &[one, erf]);
    let hx = f.op(Mul, &[half, x_]);
    let y_ = f.op(Mul, &[hx, s]);
    let gelu = f.ret("y", y_).done();

    let inputs = ["p", "g", "t", "noise", "lr", "eta", "gamma"];
    let mut f = FnBuilder::new("noisy_sgd_update", &inputs, origin(1, 100, 400));
    let [p, g, t, noise, lr, eta, gamma] = inputs.map(|n| f.arg(n));
    let one = f.c(1.0);
    let t1 = f.op(Add, &[one, t]);
    let decay = f.op(Pow, &[t1, gamma]);
    let var = f.op(Div, &[eta, decay]);
    let sigma = f.op(Sqrt, &[var]);
    let n = f.op(Mul, &[noise, sigma]);
    let g2 = f.op(Add, &[g, n]);
    let step = f.op(Mul, &[lr, g2]);
    let p2 = f.op(Sub, &[p, step]);
    let update = f.ret("p", p2).done();

    let mut f = FnBuilder::new("warmup", &["step"], origin(0, 60, 110));
    let (hundred, one, peak) = (f.c(100.0), f.c(1.0), f.c(0.01));
    let r = f.op(Div, &[f.arg("step"), hundred]);
    let frac = f.op(Min, &[r, one]);
    let lr = f.op(Mul, &[frac, peak]);
    let warmup = f.ret("value", lr).done();

    let optimizer = Optimizer {
        name: "gradient_noise".into(),
        hypers: vec![
            Hyper { name: "lr".into(), value: HyperValue::Schedule("warmup".into()) },
            Hyper { name: "eta".into(), value: HyperValue::Const(0.3) },
            Hyper { name: "gamma".into(), value: HyperValue::Const(0.55) },
        ],
        state: Vec::new(),
        update: "noisy_sgd_update".into(),
        clip: GradClip::None,
        origin: origin(0, 240, 300),
    };
    let data = DataPlan {
        source: DataSource::Modular { p: 97, op: exp_ops::ModularOp::Add, train_fraction: 0.4, seed: 1 },
        x_shape: shape("[2]"),
        x_dtype: DType::I64,
        target: Target::Classes(97),
        splits: vec!["train".into(), "test".into()],
        transforms: Vec::new(),
        batch: 512,
        shuffle: true,
        origin: origin(0, 0, 58),
    };
    let every = Frequency::Steps(250);
    let train = TrainingPlan {
        length: Frequency::Steps(20_000),
        total_steps: Some(20_000),
        steps_per_epoch: Some(8),
        eval_batch: 4096,
        probes: vec![
            probe("train_acc", accuracy("train"), every, 310),
            probe("test_acc", accuracy("test"), every, 345),
        ],
        stop_rules: vec![StopRule {
            probe: "test_acc".into(),
            cmp: Comparison::Ge,
            threshold: 0.99,
            count: 3,
            origin: origin(0, 380, 420),
        }],
    };
    let config = config(&[
        ("optimizer.base", Value::Str("sgd".into()), Provenance::Declaration),
        ("optimizer.eta", Value::Float(0.3), Provenance::Default),
        ("optimizer.gamma", Value::Float(0.55), Provenance::Default),
        ("seed", Value::Int(0), Provenance::Declaration),
        ("train", steps(20_000), Provenance::Declaration),
    ]);
    let loss = cross_entropy(230, 236);
    let schedules = vec![Schedule { name: "warmup".into(), function: "warmup".into(), origin: origin(0, 60, 110) }];
    let functions = vec![gelu, update, warmup];
    finish("noisy_sgd", config, data, m, functions, loss, schedules, optimizer, train)
}
