//! The standard library's activations and their derivatives against PyTorch in float64, on
//! a grid from -1e4 to 1e4 through the tiny, the overflow thresholds of `exp` in `f32` (±88,
//! ±89) and the large (`tests/fixtures/activations/`, written by `make_fixture.py` there).
//!
//! Each function runs on both paths a model can take: compiled (the JIT kernel forward, its
//! compiled derivative backward) and composed (Candle ops, which `--no-jit` and every device
//! other than the CPU run), in `f32` as models do, and the composed path in `f64` too. The
//! error is relative, `|got - want| <= 1e-6 |want|`, except where the reference is below the
//! smallest normal number of the evaluation's type (a zero of the function, or a value that
//! type cannot hold with relative precision): there the error must be below that number.

use candle_core::{DType, Device, Tensor, Var};
use exp_runtime::exec::{elementwise, elementwise_vjp};

/// The largest relative error accepted, as the issue that added this test asks.
const TOL: f64 = 1e-6;

struct Fixture {
    x: Vec<f64>,
    functions: Vec<(String, Vec<f64>, Vec<f64>)>,
}

fn fixture() -> Fixture {
    let path = exp_tests::root().join("tests/fixtures/activations/activations.json");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let floats =
        |v: &serde_json::Value| -> Vec<f64> { v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect() };
    let functions = json["functions"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, f)| (name.clone(), floats(&f["y"]), floats(&f["dy"])))
        .collect();
    Fixture { x: floats(&json["x"]), functions }
}

/// The IR function of the standard-library activation `name`, lowered through the compiler.
fn activation(name: &str) -> exp_ir::ScalarFn {
    let text = format!(
        "use std.data.gaussian_mixture\ndata d = gaussian_mixture(dim: 4, classes: 3, n: 60)\n\
         experiment e {{\n    data = d\n    model = linear(4) >> {name} >> linear(3)\n    loss = cross_entropy\n    \
         optimizer = sgd(lr: 0.1)\n    batch = 8\n    train = 1 steps\n}}\n"
    );
    let program = exp_driver::compile_source("act.exp", &text, "e").unwrap_or_else(|e| panic!("{e}"));
    let exp_ir::NodeOp::Elementwise { function } = &program.graph.nodes[1].op else { panic!("{name} is not node 1") };
    program.function(function).unwrap().clone()
}

/// `(value, derivative)` of `f` at `x` in `dtype`, compiled (`jit`) or composed.
fn evaluate(f: &exp_ir::ScalarFn, x: &[f64], dtype: DType, jit: bool) -> (Vec<f64>, Vec<f64>) {
    let t = Tensor::new(x, &Device::Cpu).unwrap().to_dtype(dtype).unwrap();
    let var = Var::from_tensor(&t).unwrap();
    let y = elementwise(f, var.as_tensor(), jit).unwrap();
    let dy = elementwise_vjp(f, &t, &t.ones_like().unwrap(), jit).unwrap();
    let back = |t: Tensor| t.to_dtype(DType::F64).unwrap().to_vec1::<f64>().unwrap();
    (back(y), back(dy))
}

/// The error of `got` against `want` under the rule of the module docs, as a multiple of the
/// accepted error (so at most 1 passes).
fn error(got: f64, want: f64, tiny: f64) -> f64 {
    if want.abs() < tiny {
        (got - want).abs() / tiny
    } else {
        (got - want).abs() / (TOL * want.abs())
    }
}

#[test]
fn activations_and_derivatives_match_pytorch_in_float64() {
    let fx = fixture();
    assert!(fx.functions.len() >= 12 && fx.x.len() >= 25);
    let paths =
        [("compiled f32", DType::F32, true), ("composed f32", DType::F32, false), ("composed f64", DType::F64, false)];
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for (name, ys, dys) in &fx.functions {
        let f = activation(name);
        for (path, dtype, jit) in paths {
            let tiny = if dtype == DType::F32 { f64::from(f32::MIN_POSITIVE) } else { f64::MIN_POSITIVE };
            let x: Vec<f64> = fx.x.clone();
            let (got, dgot) = evaluate(&f, &x, dtype, jit);
            let mut worst = (0f64, 0f64);
            for i in 0..x.len() {
                for (what, g, w) in [("value", got[i], ys[i]), ("derivative", dgot[i], dys[i])] {
                    let e = error(g, w, tiny);
                    // NaN errors fail too.
                    if e.is_nan() || e > 1.0 {
                        failures.push(format!("{name} {what} at {} ({path}): {g:e}, PyTorch {w:e}", x[i]));
                    }
                    let rel = if w.abs() < tiny { 0.0 } else { (g - w).abs() / w.abs() };
                    if what == "value" {
                        worst.0 = worst.0.max(rel)
                    } else {
                        worst.1 = worst.1.max(rel)
                    }
                }
            }
            report.push(format!("{name:<11} {path:<13} value {:.1e}  derivative {:.1e}", worst.0, worst.1));
        }
    }
    // The measured errors, for the record (`cargo test -p exp-tests activations -- --nocapture`).
    println!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{} point(s) off:\n{}", failures.len(), failures.join("\n"));
}
