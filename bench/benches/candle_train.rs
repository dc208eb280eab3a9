//! Plain Candle side of the training-speed benchmark (`bench/train/run.sh`): the same models,
//! batch sizes, optimizer (AdamW lr 1e-3, wd 0.01) and input shapes as `models.exp` and
//! `torch_train.py`, written as a Candle user would, with `candle-nn`'s layers, its
//! `cross_entropy` and `AdamW`, and the system allocator. 8 pre-generated random batches used
//! in turn; 20 warm-up steps, then STEPS timed steps.
//!
//! Run: `cargo bench -p exp-bench --bench candle_train -- MODEL THREADS STEPS` (the thread
//! count goes to `RAYON_NUM_THREADS`, which Candle's CPU backend reads; set it before running).
//! Prints one line: `<model> <threads> <steps/s>`.

use std::time::Instant;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{
    batch_norm, conv2d, linear, AdamW, BatchNorm, BatchNormConfig, Conv2dConfig, ModuleT, Optimizer, ParamsAdamW,
    VarBuilder, VarMap,
};

enum Net {
    Mlp(Vec<candle_nn::Linear>),
    /// Two convolutions, each optionally followed by batch normalization, and a linear head.
    Cnn([(candle_nn::Conv2d, Option<BatchNorm>); 2], candle_nn::Linear),
}

impl Net {
    fn new(name: &str, vb: VarBuilder) -> candle_core::Result<(Net, usize)> {
        let pad = Conv2dConfig { padding: 1, ..Default::default() };
        Ok(match name {
            "mlp" => (
                Net::Mlp(vec![
                    linear(784, 512, vb.pp("l0"))?,
                    linear(512, 512, vb.pp("l1"))?,
                    linear(512, 10, vb.pp("l2"))?,
                ]),
                128,
            ),
            "tiny" => (
                Net::Mlp(vec![
                    linear(784, 128, vb.pp("l0"))?,
                    linear(128, 128, vb.pp("l1"))?,
                    linear(128, 10, vb.pp("l2"))?,
                ]),
                64,
            ),
            _ => {
                let norm = |c: usize, at: &str| -> candle_core::Result<Option<BatchNorm>> {
                    (name == "cnn_bn").then(|| batch_norm(c, BatchNormConfig::default(), vb.pp(at))).transpose()
                };
                let convs = [
                    (conv2d(1, 16, 3, pad, vb.pp("c0"))?, norm(16, "b0")?),
                    (conv2d(16, 32, 3, pad, vb.pp("c1"))?, norm(32, "b1")?),
                ];
                (Net::Cnn(convs, linear(32 * 7 * 7, 10, vb.pp("l"))?), 64)
            }
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Net::Mlp(ls) => {
                let h = ls[0].forward(x)?.relu()?;
                let h = ls[1].forward(&h)?.relu()?;
                ls[2].forward(&h)
            }
            Net::Cnn(convs, l) => {
                let mut h = x.reshape((x.dim(0)?, 1, 28, 28))?;
                for (conv, norm) in convs {
                    h = conv.forward(&h)?;
                    if let Some(norm) = norm {
                        h = norm.forward_t(&h, true)?;
                    }
                    h = h.relu()?.max_pool2d(2)?;
                }
                l.forward(&h.flatten_from(1)?)
            }
        }
    }
}

fn main() -> candle_core::Result<()> {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let [_, model, threads, steps] = args.as_slice() else {
        panic!("usage: candle_train MODEL THREADS STEPS, got {args:?}");
    };
    let steps: usize = steps.parse().expect("STEPS is a number");
    let device = Device::Cpu;
    let vars = VarMap::new();
    let (net, batch) = Net::new(model, VarBuilder::from_varmap(&vars, DType::F32, &device))?;
    let params = ParamsAdamW { lr: 1e-3, weight_decay: 0.01, ..Default::default() };
    let mut opt = AdamW::new(vars.all_vars(), params)?;
    let xs: Vec<Tensor> = (0..8).map(|_| Tensor::randn(0f32, 1.0, (batch, 784), &device)).collect::<Result<_, _>>()?;
    let ys: Vec<Tensor> = (0..8)
        .map(|_| Tensor::rand(0f32, 10.0, batch, &device)?.floor()?.to_dtype(DType::U32))
        .collect::<Result<_, _>>()?;
    let mut step = |i: usize| -> candle_core::Result<()> {
        let logits = net.forward(&xs[i % 8])?;
        let loss = candle_nn::loss::cross_entropy(&logits, &ys[i % 8])?;
        opt.backward_step(&loss)?;
        Ok(())
    };
    for i in 0..20 {
        step(i)?;
    }
    let t = Instant::now();
    for i in 0..steps {
        step(i)?;
    }
    println!("{model} {threads} {}", steps as f64 / t.elapsed().as_secs_f64());
    Ok(())
}
