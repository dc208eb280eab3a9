//! Whole models lowered from `.exp` by the compiler: initialization, the bookkeeping API,
//! forward passes against references built from the naive loops, and errors.

use super::super::conv::ConvSpec;
use super::super::pool::PoolKind;
use super::super::{Mode, Model};
use super::layers::naive_linear;
use super::*;
use exp_ir::NodeOp;

fn model(program: &Program) -> Model {
    Model::init(program, &mut Rng::new(program.seeds.init)).unwrap()
}

fn weight(m: &Model, name: &str) -> Tensor {
    m.get(name).unwrap_or_else(|| panic!("no `{name}`")).as_tensor().clone()
}

/// A random F32 batch for the program's input (ids below `vocab` for integer inputs).
fn batch(program: &Program, b: usize, vocab: usize) -> Tensor {
    let input = &program.graph.inputs[0];
    let mut dims = vec![b];
    dims.extend(input.ty.shape.0[1..].iter().map(|d| d.as_const().unwrap() as usize));
    if input.ty.dtype == exp_ir::DType::I64 {
        let n: usize = dims.iter().product();
        let mut rng = Rng::new(5);
        let ids: Vec<i64> = (0..n).map(|_| rng.below(vocab as u64) as i64).collect();
        return Tensor::from_vec(ids, dims, &Device::Cpu).unwrap();
    }
    rand(&dims, 8).to_dtype(DType::F32).unwrap()
}

#[test]
fn init_draws_params_then_buffers_in_program_order() {
    let p = lower(&images(3, 8, 8), "batch_norm >> flatten >> linear(3)");
    let m = model(&p);
    let names: Vec<String> = m.params().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, p.params.iter().map(|q| q.name.clone()).collect::<Vec<_>>());
    let all: Vec<String> = m.tensors().into_iter().map(|(n, _)| n).collect();
    let want: Vec<String> = p.params.iter().chain(&p.buffers).map(|q| q.name.clone()).collect();
    assert_eq!(all, want);
    assert_eq!(vals(&weight(&m, "model.0.running_var")), vec![1.0; 3]);
    assert_eq!(vals(&weight(&m, "model.0.running_mean")), vec![0.0; 3]);
    let w = vals(&weight(&m, "model.2.weight"));
    let bound = 1.0 / 192f64.sqrt();
    assert!(w.iter().all(|v| v.abs() <= bound) && w.iter().any(|v| v.abs() > 0.9 * bound));
    assert_eq!(weight(&m, "model.2.weight").dtype(), DType::F32);
    assert_eq!(w, vals(&weight(&model(&p), "model.2.weight")), "the init seed fixes the weights");
}

#[test]
fn load_checks_shapes_and_overwrites_in_place() {
    let p = lower(&images(3, 8, 8), "batch_norm >> flatten >> linear(3)");
    let mut m = model(&p);
    let alias = m.get("model.2.bias").unwrap().clone();
    m.load("model.2.bias", Tensor::new(&[1f64, 2.0, 3.0], &Device::Cpu).unwrap()).unwrap();
    assert_eq!(vals(alias.as_tensor()), [1.0, 2.0, 3.0]);
    assert_eq!(alias.dtype(), DType::F32);
    m.load("model.0.running_mean", Tensor::new(&[4f32, 5.0, 6.0], &Device::Cpu).unwrap()).unwrap();
    assert_eq!(vals(&weight(&m, "model.0.running_mean")), [4.0, 5.0, 6.0]);
    let err = m.load("model.2.bias", Tensor::zeros(4, DType::F32, &Device::Cpu).unwrap()).unwrap_err();
    assert!(err.message.contains("shape"), "{}", err.message);
    assert!(m.load("model.9.bias", Tensor::zeros(3, DType::F32, &Device::Cpu).unwrap()).is_err());
    assert!(m.get("nothing").is_none());
}

#[test]
fn generic_nodes_and_elementwise_functions_match_a_hand_computation() {
    let model_text = "linear(4) >> (x => 0.5 * x + x * x) >> (x => concat([x, x], axis: 1)) \
                      >> residual(linear(8) >> gelu) >> linear(3)";
    let p = lower("gaussian_mixture(dim: 4, classes: 3, n: 60)", model_text);
    let ops: Vec<&str> = p.graph.nodes.iter().map(|n| n.op.name()).collect();
    for op in ["scale", "mul", "add", "concat", "elementwise"] {
        assert!(ops.contains(&op), "{op} missing from {ops:?}");
    }
    let m = model(&p);
    let x = batch(&p, 5, 0);
    let y = m.forward(&p, &x, Mode::Train, &mut Rng::new(0)).unwrap();
    let lin = |v: &[f64], layer: &str, input: usize, out: usize| {
        let w = vals(&weight(&m, &format!("model.{layer}.weight")));
        naive_linear(v, &w, Some(&vals(&weight(&m, &format!("model.{layer}.bias")))), input, out)
    };
    let gelu = p.function("gelu").unwrap();
    let h = lin(&vals(&x), "0", 4, 4);
    let h: Vec<f64> = h.iter().map(|v| 0.5 * v + v * v).collect();
    let h: Vec<f64> = h.chunks(4).flat_map(|r| [r, r].concat()).collect();
    let f = lin(&h, "3.f.0", 8, 8);
    let h: Vec<f64> = h.iter().zip(&f).map(|(a, b)| a + gelu.eval(&[*b]).unwrap()[0]).collect();
    let want = lin(&h, "4", 8, 3);
    assert_eq!(y.dims(), [5, 3]);
    assert_close(&vals(&y), &want, 1e-5, "generic nodes");
}

#[test]
fn a_cnn_matches_the_naive_layers() {
    let p = lower(
        &images(2, 9, 9),
        "conv2d(4, 3, stride: 2, padding: 1) >> batch_norm >> max_pool2d(2) >> flatten >> linear(3)",
    );
    let m = model(&p);
    let x = batch(&p, 3, 0);
    let y = m.forward(&p, &x, Mode::Train, &mut Rng::new(0)).unwrap();
    let spec = ConvSpec { stride: vec![2, 2], padding: vec![1, 1], dilation: vec![1, 1], groups: 1 };
    let c = super::conv::naive(&x, &weight(&m, "model.0.weight"), &weight(&m, "model.0.bias"), &spec);
    // Batch norm with batch statistics over [3, 4, 5, 5] (fresh weight 1, bias 0).
    let per = 25;
    let stats: Vec<(f64, f64)> = (0..4)
        .map(|ch| {
            let v: Vec<f64> = (0..3).flat_map(|i| c[(i * 4 + ch) * per..(i * 4 + ch + 1) * per].to_vec()).collect();
            let mean = v.iter().sum::<f64>() / 75.0;
            (mean, v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / 75.0)
        })
        .collect();
    let bn: Vec<f64> = c
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let (mean, var) = stats[(i / per) % 4];
            (v - mean) / (var + 1e-5).sqrt()
        })
        .collect();
    let bn = Tensor::from_vec(bn, (3, 4, 5, 5), &Device::Cpu).unwrap();
    let pooled = super::pool::naive(&bn, PoolKind::Max, [2, 2], [2, 2], [0, 0]);
    let w = vals(&weight(&m, "model.4.weight"));
    let want = naive_linear(&pooled, &w, Some(&vals(&weight(&m, "model.4.bias"))), 16, 3);
    assert_close(&vals(&y), &want, 1e-4, "cnn");
    let rm = vals(&weight(&m, "model.1.running_mean"));
    assert_close(&rm, &stats.iter().map(|s| 0.1 * s.0).collect::<Vec<_>>(), 1e-5, "running mean updated");
    // Evaluation uses the running statistics: a different output, no further update.
    let e = m.forward(&p, &x, Mode::Eval, &mut Rng::new(0)).unwrap();
    assert!(vals(&e).iter().zip(vals(&y)).any(|(a, b)| (a - b).abs() > 1e-3));
    assert_eq!(vals(&weight(&m, "model.1.running_mean")), rm);
}

#[test]
fn every_layer_op_runs_forward_and_backward() {
    let vectors = "gaussian_mixture(dim: 4, classes: 3, n: 60)";
    let signal = r#"idx(dir: "unused", shape: [2, 16], classes: 3)"#;
    let tokens = r#"idx(dir: "unused", shape: [4, 8], classes: 3)"#;
    let cases: &[(&str, &str)] = &[
        (vectors, "linear(8) >> linear(3)"),
        (signal, "conv1d(4, 3, padding: 1) >> flatten >> linear(3)"),
        (&images(3, 8, 8), "conv2d(4, 3, stride: 2, padding: 1, groups: 1) >> flatten >> linear(3)"),
        (&images(4, 7, 7), "conv2d(4, 3, padding: 2, dilation: 2, groups: 2) >> flatten >> linear(3)"),
        (signal, "max_pool1d(2) >> flatten >> linear(3)"),
        (signal, "avg_pool1d(4, stride: 2) >> flatten >> linear(3)"),
        (&images(3, 8, 8), "max_pool2d(3, stride: 2, padding: 1) >> flatten >> linear(3)"),
        (&images(3, 8, 8), "avg_pool2d(2) >> flatten >> linear(3)"),
        (&images(3, 8, 8), "global_avg_pool >> linear(3)"),
        (&images(3, 8, 8), "reshape([3, 64]) >> flatten >> linear(3)"),
        ("modular(p: 11)", "embed(11, 4) >> flatten >> linear(11)"),
        ("modular(p: 11)", "embed(11, 4, concat: true) >> linear(11)"),
        (tokens, "layer_norm >> flatten >> linear(3)"),
        (&images(3, 8, 8), "batch_norm >> flatten >> linear(3)"),
        (vectors, "dropout(0.1) >> linear(3)"),
        (tokens, "attention(heads: 2, dim: 8) >> flatten >> linear(3)"),
        (vectors, "identity >> linear(3)"),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (data, text) in cases {
        let p = lower(data, text);
        seen.extend(p.graph.nodes.iter().map(|n| n.op.name().to_string()));
        let m = model(&p);
        let x = batch(&p, 6, 11);
        for mode in [Mode::Train, Mode::Eval] {
            let y = m.forward(&p, &x, mode, &mut Rng::new(1)).unwrap_or_else(|e| panic!("{text}: {}", e.message));
            let classes = if data.starts_with("modular") { 11 } else { 3 };
            assert_eq!(y.dims(), [6, classes], "{text}");
            let grads = y.sqr().unwrap().sum_all().unwrap().backward().unwrap();
            for (name, var) in m.params() {
                let g = grads.get(&var).unwrap_or_else(|| panic!("{text}: no gradient for {name}"));
                assert_eq!(g.dims(), var.dims());
                assert!(vals(g).iter().all(|v| v.is_finite()), "{text}: {name}");
            }
        }
    }
    let expected = [
        "attention",
        "avg_pool1d",
        "avg_pool2d",
        "batch_norm",
        "conv1d",
        "conv2d",
        "dropout",
        "embed",
        "flatten",
        "global_avg_pool",
        "identity",
        "layer_norm",
        "linear",
        "max_pool1d",
        "max_pool2d",
        "reshape",
    ];
    assert_eq!(seen.iter().map(String::as_str).collect::<Vec<_>>(), expected);
}

#[test]
fn dropout_depends_on_mode_and_rng() {
    let p = lower("gaussian_mixture(dim: 4, classes: 3, n: 60)", "dropout(0.5) >> linear(3)");
    let m = model(&p);
    let x = batch(&p, 64, 0);
    let run = |mode, seed| vals(&m.forward(&p, &x, mode, &mut Rng::new(seed)).unwrap());
    assert_eq!(run(Mode::Train, 1), run(Mode::Train, 1));
    assert_ne!(run(Mode::Train, 1), run(Mode::Train, 2));
    assert_eq!(run(Mode::Eval, 1), run(Mode::Eval, 2));
    let plain =
        naive_linear(&vals(&x), &vals(&weight(&m, "model.1.weight")), Some(&vals(&weight(&m, "model.1.bias"))), 4, 3);
    assert_close(&run(Mode::Eval, 3), &plain, 1e-5, "eval dropout is the identity");
}

#[test]
fn errors_name_the_node_and_carry_its_origin() {
    let p = lower("modular(p: 11)", "embed(11, 4) >> flatten >> linear(11)");
    let m = model(&p);
    let ids = Tensor::new(&[[3i64, 11]], &Device::Cpu).unwrap();
    let err = m.forward(&p, &ids, Mode::Eval, &mut Rng::new(0)).unwrap_err();
    let embed = p.graph.nodes.iter().find(|n| matches!(&n.op, NodeOp::Layer(c) if c.op.name() == "embed")).unwrap();
    assert_eq!(err.origin, embed.origin);
    assert!(err.origin.is_some());
    assert!(err.message.starts_with("`embed`") && err.message.contains("0..11"), "{}", err.message);
    let wrong = Tensor::zeros((2, 3), DType::I64, &Device::Cpu).unwrap();
    let err = m.forward(&p, &wrong, Mode::Eval, &mut Rng::new(0)).unwrap_err();
    assert!(err.message.contains("expects input"), "{}", err.message);
}

#[test]
fn evaluate_matches_the_tracked_eval_forward() {
    // Batch norm takes its one-pass path when nothing is tracked; the composed path is the
    // reference. Running statistics made non-trivial by two training forwards first.
    for text in [
        "conv2d(4, 3, padding: 1) >> batch_norm >> relu >> dropout(0.5) >> flatten >> linear(3)",
        "batch_norm(affine: false) >> flatten >> linear(3)",
    ] {
        let p = lower(&images(3, 6, 5), text);
        let mut m = model(&p);
        // A gain and shift other than their initial 1 and 0.
        for (i, role) in ["weight", "bias"].into_iter().enumerate() {
            let name = format!("model.1.{role}");
            if m.get(&name).is_some() {
                m.load(&name, rand(&[4], 20 + i as u64)).unwrap();
            }
        }
        for seed in [1, 2] {
            let x = rand(&[5, 3, 6, 5], seed).affine(3.0, 1.0).unwrap().to_dtype(DType::F32).unwrap();
            m.forward(&p, &x, Mode::Train, &mut Rng::new(seed)).unwrap();
        }
        let x = rand(&[4, 3, 6, 5], 9).to_dtype(DType::F32).unwrap();
        let fast = m.evaluate(&p, &x).unwrap();
        let reference = m.forward(&p, &x, Mode::Eval, &mut Rng::new(0)).unwrap();
        assert_close(&vals(&fast), &vals(&reference), 1e-5, text);
        assert!(!fast.track_op(), "{text}: evaluation records nothing for a backward");
    }
}
