//! Every initializer of `stdlib/init.exp`, chosen with `init = ...`, reaches the IR and gives
//! samples with the statistics its documentation states, on a large layer: a `[512, 256]`
//! weight (fan_in 256, fan_out 512, 131072 samples) and its `[512]` bias.
//!
//! Expected values are the formulas of the docs (and of `torch.nn.init`), worked out by hand
//! below; a sample standard deviation of 131072 values is within 1% of the true one with
//! overwhelming probability, a sample mean within a few hundredths of a standard deviation.

use exp_runtime::exec::Model;
use exp_runtime::rng::Rng;

/// The weight and bias of the first layer of a model trained with `init = {init}`.
fn first_layer(init: &str) -> (Vec<f64>, Vec<f64>) {
    let text = format!(
        "use std.data.gaussian_mixture\n\
         data d = gaussian_mixture(dim: 256, classes: 3, n: 10)\n\
         experiment e {{\n    data = d\n    model = linear(512) >> relu >> linear(3)\n    loss = cross_entropy\n    \
         optimizer = sgd(lr: 0.1)\n    batch = 4\n    train = 1 steps\n    init = {init}\n}}\n"
    );
    let program = exp_driver::compile_source("init.exp", &text, "e").unwrap_or_else(|e| panic!("{init}: {e}"));
    let model = Model::init(&program, &mut Rng::new(program.seeds.init)).unwrap();
    let values = |name: &str| -> Vec<f64> {
        let t = model.get(name).unwrap_or_else(|| panic!("no {name}")).as_tensor().flatten_all().unwrap();
        t.to_dtype(candle_core::DType::F64).unwrap().to_vec1().unwrap()
    };
    (values("model.0.weight"), values("model.0.bias"))
}

fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    (mean, (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt())
}

/// Asserts mean and standard deviation within sampling error; returns the largest `|x|`.
#[track_caller]
fn assert_stats(what: &str, xs: &[f64], mean: f64, std: f64) -> f64 {
    let (m, s) = mean_std(xs);
    let n = xs.len() as f64;
    assert!((m - mean).abs() <= 5.0 * std / n.sqrt() + 1e-12, "{what}: mean {m}, expected {mean}");
    assert!((s - std).abs() <= 0.01 * std + 1e-12, "{what}: std {s}, expected {std}");
    xs.iter().fold(0f64, |a, x| a.max(x.abs()))
}

#[test]
fn every_initializer_reaches_the_ir_with_its_documented_statistics() {
    let (fan_in, fan_out) = (256f64, 512f64);
    let sqrt3 = 3f64.sqrt();
    // (init, weight mean, weight std, bound of a uniform or None, bias all zero)
    let cases: Vec<(&str, f64, f64, Option<f64>, bool)> = vec![
        // PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), then times 8 (biases too).
        ("pytorch_default(scale: 8.0)", 0.0, 8.0 / fan_in.sqrt() / sqrt3, Some(8.0 / fan_in.sqrt()), false),
        ("pytorch_default", 0.0, 1.0 / fan_in.sqrt() / sqrt3, Some(1.0 / fan_in.sqrt()), false),
        // b = gain * sqrt(6 / (fan_in + fan_out)), then times scale.
        (
            "xavier_uniform(gain: 2.0, scale: 0.5)",
            0.0,
            (6.0 / 768f64).sqrt() / sqrt3,
            Some((6.0 / 768f64).sqrt()),
            true,
        ),
        // std = gain * sqrt(2 / (fan_in + fan_out)).
        ("xavier_normal(gain: 0.5)", 0.0, 0.5 * (2.0 / 768f64).sqrt(), None, true),
        // b = sqrt(3) * sqrt(2 / (1 + a^2)) / sqrt(fan_out) with a = 1.
        ("kaiming_uniform(a: 1.0, mode: \"fan_out\")", 0.0, 1.0 / fan_out.sqrt(), Some(sqrt3 / fan_out.sqrt()), true),
        ("kaiming_uniform", 0.0, 2f64.sqrt() / fan_in.sqrt(), Some(sqrt3 * 2f64.sqrt() / fan_in.sqrt()), true),
        // std = sqrt(2) / sqrt(fan), by mode.
        ("kaiming_normal", 0.0, 2f64.sqrt() / fan_in.sqrt(), None, true),
        ("kaiming_normal(mode: \"fan_out\", scale: 3.0)", 0.0, 3.0 * 2f64.sqrt() / fan_out.sqrt(), None, true),
        // std = 1 / sqrt(fan_in).
        ("lecun_normal", 0.0, 1.0 / fan_in.sqrt(), None, true),
        ("gaussian(std: 0.1, mean: 0.5)", 0.5, 0.1, None, true),
        // U(2 * -0.2, 2 * 0.6): mean 0.4, std 1.6 / sqrt(12).
        ("uniform(low: -0.2, high: 0.6, scale: 2.0)", 0.4, 1.6 / 12f64.sqrt(), None, true),
    ];
    for (init, mean, std, bound, zero_bias) in cases {
        let (w, b) = first_layer(init);
        let max = assert_stats(init, &w, mean, std);
        if let Some(bound) = bound {
            assert!(max <= bound && max > 0.99 * bound, "{init}: max |w| {max}, bound {bound}");
        }
        if zero_bias {
            assert!(b.iter().all(|&x| x == 0.0), "{init}: biases start at 0");
        } else {
            let bias_bound = bound.expect("default biases are uniform");
            let max = b.iter().fold(0f64, |a, x| a.max(x.abs()));
            assert!(max <= bias_bound && max > 0.9 * bias_bound, "{init}: max |b| {max}, bound {bias_bound}");
        }
    }
    let (w, b) = first_layer("uniform(low: -0.2, high: 0.6, scale: 2.0)");
    assert!(w.iter().all(|x| (-0.4..1.2).contains(x)));
    assert!(b.iter().all(|&x| x == 0.0));
}

/// `orthogonal(gain: g)` on a `[512, 256]` weight: the columns are orthogonal with norm `g`,
/// `W^T W = g^2 I` (torch.nn.init.orthogonal_), up to `f32` rounding.
#[test]
fn orthogonal_weights_are_orthogonal() {
    let (w, b) = first_layer("orthogonal(gain: 1.5, scale: 2.0)");
    let (rows, cols, g2) = (512, 256, 9.0);
    let mut worst = 0f64;
    for i in 0..cols {
        for j in 0..=i {
            let dot: f64 = (0..rows).map(|r| w[r * cols + i] * w[r * cols + j]).sum();
            let want = if i == j { g2 } else { 0.0 };
            worst = worst.max((dot - want).abs());
        }
    }
    assert!(worst < 1e-4, "W^T W differs from {g2} I by {worst}");
    assert!(b.iter().all(|&x| x == 0.0));
}
