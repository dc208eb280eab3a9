//! The tape against Candle's autograd: for models of every node kind the tape covers, the
//! output and every parameter's gradient of one training step agree; models it does not
//! cover fall back to autograd.

use super::super::Model;
use super::*;

/// The output and parameter gradients of one training step on `x`, through the tape when
/// `tape` is set (kernels compiled) and through Candle's autograd of the composed path when
/// not; and whether the tape ran.
fn step(program: &Program, tape: bool, x: &Tensor) -> (Vec<f64>, Vec<Vec<f64>>, bool) {
    let mut m = Model::init(program, &mut Rng::new(program.seeds.init)).unwrap();
    if tape {
        m.compile_elementwise(program);
    }
    let pass = m.train_forward(program, x, &mut Rng::new(1)).unwrap();
    let y = pass.output().clone();
    // A loss that weighs every output differently, so every gradient entry is exercised.
    let w = rand(y.dims(), 9).to_dtype(DType::F32).unwrap();
    let loss = (y.clone() * w).unwrap().sum_all().unwrap();
    let grads = pass.gradients(&m, &loss).unwrap();
    let g = grads.iter().map(|g| vals(g.as_ref().expect("every parameter gets a gradient"))).collect();
    (vals(&y), g, m.taped())
}

#[test]
fn tape_gradients_match_autograd_for_every_covered_node() {
    let vectors = "gaussian_mixture(dim: 4, classes: 3, n: 60)";
    let signal = r#"idx(dir: "unused", shape: [2, 16], classes: 3)"#;
    let cases: &[(&str, &str, &[usize])] = &[
        (vectors, "linear(8) >> relu >> linear(8, bias: false) >> tanh >> linear(3)", &[6, 4]),
        (
            &images(2, 8, 8),
            "conv2d(4, 3, padding: 1) >> relu >> max_pool2d(2) >> flatten >> dropout(0.3) >> linear(3)",
            &[5, 2, 8, 8],
        ),
        (
            &images(2, 9, 7),
            "conv2d(4, 3, stride: 2, bias: false) >> gelu >> avg_pool2d(2) >> flatten >> identity >> linear(3)",
            &[3, 2, 9, 7],
        ),
        (
            &images(4, 7, 7),
            "conv2d(4, 3, padding: 2, dilation: 2, groups: 2) >> selu >> max_pool2d(3, stride: 2, padding: 1) \
             >> reshape([4, 16]) >> flatten >> linear(3)",
            &[3, 4, 7, 7],
        ),
        (
            signal,
            "conv1d(4, 3, padding: 1) >> silu >> max_pool1d(2) >> avg_pool1d(3, stride: 1, padding: 1) \
             >> flatten >> linear(3)",
            &[4, 2, 16],
        ),
        // Scale, mul, add with a value used twice, concat, and a residual.
        (
            vectors,
            "linear(4) >> (x => 0.5 * x + x * x) >> (x => concat([x, x], axis: 1)) \
             >> residual(linear(8) >> gelu) >> linear(3)",
            &[5, 4],
        ),
        (&images(3, 8, 7), "conv2d(4, 3, padding: 1) >> relu >> global_avg_pool >> linear(3)", &[4, 3, 8, 7]),
        // The first node reads the data: the pool gets no gradient, only the layer after it.
        (&images(1, 8, 8), "max_pool2d(2) >> flatten >> linear(3)", &[3, 1, 8, 8]),
    ];
    for (data, text, shape) in cases {
        let p = lower(data, text);
        let x = (rand(shape, 4) * 3.0).unwrap().to_dtype(DType::F32).unwrap();
        let (y0, g0, taped0) = step(&p, false, &x);
        let (y1, g1, taped1) = step(&p, true, &x);
        assert!(!taped0 && taped1, "{text}: the tape runs only with compiled kernels");
        assert_close(&y1, &y0, 1e-5, &format!("{text}: output"));
        assert_eq!(g1.len(), g0.len());
        for (i, (a, b)) in g1.iter().zip(&g0).enumerate() {
            assert_close(a, b, 1e-5, &format!("{text}: gradient of parameter {i}"));
        }
    }
}

#[test]
fn embedding_gradients_sum_over_repeated_ids() {
    // 6 samples of 2 ids below 11, with repeats, so rows of the table gather several gradients.
    let ids: Vec<i64> = vec![3, 3, 0, 10, 3, 7, 7, 3, 10, 0, 5, 5];
    let x = Tensor::from_vec(ids, (6, 2), &Device::Cpu).unwrap();
    for text in
        ["embed(11, 4) >> flatten >> linear(8) >> gelu >> linear(11)", "embed(11, 4, concat: true) >> linear(11)"]
    {
        let p = lower("modular(p: 11)", text);
        let (y0, g0, _) = step(&p, false, &x);
        let (y1, g1, taped) = step(&p, true, &x);
        assert!(taped, "{text}");
        assert_close(&y1, &y0, 1e-5, &format!("{text}: output"));
        for (i, (a, b)) in g1.iter().zip(&g0).enumerate() {
            assert_close(a, b, 1e-5, &format!("{text}: gradient of parameter {i}"));
        }
        // Rows no id selects get exactly zero.
        let table = &g1[0];
        assert!((0..4).all(|j| table[4 + j] == 0.0 && table[8 * 4 + j] == 0.0), "{text}");
    }
}

#[test]
fn normalization_gradients_and_running_statistics_match_autograd() {
    let tokens = r#"idx(dir: "unused", shape: [4, 8], classes: 3)"#;
    for (data, text, shape) in [
        (images(3, 6, 5), "conv2d(4, 3, padding: 1) >> batch_norm >> relu >> flatten >> linear(3)", vec![4, 3, 6, 5]),
        (images(3, 6, 5), "batch_norm(affine: false) >> flatten >> linear(3)", vec![4, 3, 6, 5]),
        (tokens.to_string(), "linear(8) >> layer_norm >> gelu >> flatten >> linear(3)", vec![5, 4, 8]),
        (tokens.to_string(), "layer_norm(affine: false) >> flatten >> linear(3)", vec![5, 4, 8]),
    ] {
        let p = lower(&data, text);
        let x = (rand(&shape, 2) * 2.0).unwrap().to_dtype(DType::F32).unwrap();
        let (y0, g0, _) = step(&p, false, &x);
        let (y1, g1, taped) = step(&p, true, &x);
        assert!(taped, "{text}");
        assert_close(&y1, &y0, 1e-5, &format!("{text}: output"));
        assert_eq!(g1.len(), g0.len());
        for (i, (a, b)) in g1.iter().zip(&g0).enumerate() {
            assert_close(a, b, 1e-4, &format!("{text}: gradient of parameter {i}"));
        }
        // The running statistics are updated once, alike on both paths.
        let buffers = |tape: bool| {
            let mut m = Model::init(&p, &mut Rng::new(p.seeds.init)).unwrap();
            if tape {
                m.compile_elementwise(&p);
            }
            m.train_forward(&p, &x, &mut Rng::new(1)).unwrap();
            p.buffers.iter().map(|b| vals(m.get(&b.name).unwrap().as_tensor())).collect::<Vec<_>>()
        };
        for (a, b) in buffers(true).iter().zip(&buffers(false)) {
            assert_close(a, b, 1e-6, &format!("{text}: running statistics"));
        }
    }
}

#[test]
fn graphs_the_tape_does_not_cover_use_autograd() {
    let tokens = r#"idx(dir: "unused", shape: [4, 8], classes: 3)"#;
    for (data, text, shape) in
        [(tokens.to_string(), "attention(heads: 2, dim: 8) >> flatten >> linear(3)", vec![4, 4, 8])]
    {
        let p = lower(&data, text);
        let x = rand(&shape, 2).to_dtype(DType::F32).unwrap();
        let (y0, g0, _) = step(&p, false, &x);
        let (y1, g1, taped) = step(&p, true, &x);
        assert!(!taped, "{text}");
        assert_close(&y1, &y0, 1e-5, text);
        for (a, b) in g1.iter().zip(&g0) {
            assert_close(a, b, 1e-5, text);
        }
    }
}
