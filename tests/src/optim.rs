//! Optimizers against their reference implementations: every stdlib optimizer, lowered from
//! `.exp` to its IR update rule and run by the runtime, follows the parameter trajectory that
//! `torch.optim` (SGD, Adam, AdamW) or `timm.optim.Adan` (the official Adan code) computes on
//! the same problem. The fixture and the script that made it are in `tests/fixtures/optim/`.

use candle_core::{DType, Device, Tensor, Var};
use exp_runtime::optim::{hyper_values, OptimizerState, Progress};
use exp_runtime::rng::Rng;
use serde_json::Value;

const FIXTURE: &str = include_str!("../fixtures/optim/trajectories.json");

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().expect("an array").iter().map(|x| x.as_f64().expect("a number")).collect()
}

/// The IR of a one-parameter experiment using `optimizer`.
fn program(optimizer: &str) -> exp_ir::Program {
    let text = format!(
        "use std.data.gaussian_mixture\ndata d = gaussian_mixture(dim: 4, classes: 3, n: 60)\n\
         experiment item {{\n    data = d\n    model = linear(3)\n    loss = cross_entropy\n    optimizer = {optimizer}\n    batch = 8\n    train = 20 steps\n}}\n"
    );
    exp_driver::compile_source("item.exp", &text, "item").unwrap_or_else(|e| panic!("{optimizer}:\n{e}"))
}

#[test]
fn optimizers_follow_the_reference_trajectories() {
    let fixture: Value = serde_json::from_str(FIXTURE).expect("the fixture is JSON");
    let shape: Vec<usize> = fixture["shape"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect();
    let tensor = |key: &str| Tensor::from_vec(floats(&fixture[key]), shape.as_slice(), &Device::Cpu).unwrap();
    let (c, d) = (tensor("c"), tensor("d"));
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let program = program(case["optimizer"].as_str().unwrap());
        let mut state = OptimizerState::default();
        let mut p = tensor("theta0");
        let mut rng = Rng::new(0);
        for (k, want) in case["trajectory"].as_array().unwrap().iter().enumerate() {
            let g = ((&c * &p).unwrap() + &d).unwrap();
            let hypers = hyper_values(&program, Progress { step: k as u64, epoch: 0, total_steps: 20 }).unwrap();
            p = state.update(&program, "w", &p, &g, k as u64 + 1, &hypers, &mut rng).unwrap();
            assert_eq!(p.dtype(), DType::F64);
            let got = p.flatten_all().unwrap().to_vec1::<f64>().unwrap();
            for (i, (a, b)) in got.iter().zip(floats(want)).enumerate() {
                let tol = 1e-6 * b.abs().max(1e-3);
                assert!((a - b).abs() <= tol, "{name}: step {} element {i}: {a} vs reference {b}", k + 1);
            }
        }
    }
}

/// The compiled update (one kernel per parameter, scalar parts hoisted), out of place and in
/// place on a `Var`, agrees with the composed reference path in f32 on every fixture optimizer,
/// step by step.
#[test]
fn compiled_updates_agree_with_composed_ones() {
    let fixture: Value = serde_json::from_str(FIXTURE).expect("the fixture is JSON");
    let shape: Vec<usize> = fixture["shape"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect();
    let tensor = |key: &str| {
        let xs: Vec<f32> = floats(&fixture[key]).into_iter().map(|x| x as f32).collect();
        Tensor::from_vec(xs, shape.as_slice(), &Device::Cpu).unwrap()
    };
    let (c, d) = (tensor("c"), tensor("d"));
    let mut optimizers: Vec<String> =
        fixture["cases"].as_array().unwrap().iter().map(|c| c["optimizer"].as_str().unwrap().to_string()).collect();
    optimizers.push("gradient_noise(base: adam(lr: 0.01), eta: 0.1)".into());
    for optimizer in optimizers {
        let program = program(&optimizer);
        let (mut fast, mut slow) = (OptimizerState::new(true), OptimizerState::new(false));
        let mut in_place = OptimizerState::new(true);
        let (mut pf, mut ps) = (tensor("theta0"), tensor("theta0"));
        let pv = Var::from_tensor(&tensor("theta0")).unwrap();
        let (mut rf, mut rs, mut rv) = (Rng::new(5), Rng::new(5), Rng::new(5));
        for k in 0..20u64 {
            let hypers = hyper_values(&program, Progress { step: k, epoch: 0, total_steps: 20 }).unwrap();
            let gf = ((&c * &pf).unwrap() + &d).unwrap();
            let gs = ((&c * &ps).unwrap() + &d).unwrap();
            let gv = ((&c * pv.as_tensor()).unwrap() + &d).unwrap();
            pf = fast.update(&program, "w", &pf, &gf, k + 1, &hypers, &mut rf).unwrap();
            ps = slow.update(&program, "w", &ps, &gs, k + 1, &hypers, &mut rs).unwrap();
            in_place.step(&program, "w", &pv, &gv, k + 1, &hypers, &mut rv).unwrap();
            let values = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let b = values(&ps);
            for (what, a) in [("compiled", values(&pf)), ("in place", values(pv.as_tensor()))] {
                for (x, y) in a.iter().zip(&b) {
                    assert!(
                        (x - y).abs() <= 1e-5 * y.abs().max(1e-2),
                        "{optimizer}: step {}: {what} {x} vs composed {y}",
                        k + 1
                    );
                }
            }
        }
        assert_eq!(in_place.fused_updates, 20, "{optimizer}: every in-place step ran compiled");
        let state = in_place.state().unwrap();
        assert_eq!(state.len(), 1);
        assert!(state[0].1.iter().all(|t| t.dims() == shape.as_slice()), "{optimizer}: state keeps its shape");
        assert_eq!(
            (fast.fused_updates, slow.fused_updates),
            (20, 0),
            "{optimizer}: every step of the JIT side ran compiled"
        );
    }
}

/// The one-pass gradient check: the sum of squares in f64, non-finite exactly when an element
/// is, on contiguous and strided f32 tensors and (by the fallback) f64 ones.
#[test]
fn sum_of_squares_checks_and_measures_gradients() {
    use exp_runtime::optim::sum_of_squares;
    let xs: Vec<f32> = (0..1003).map(|i| ((i * 37) % 101) as f32 * 0.013 - 0.6).collect();
    let want: f64 = xs.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
    let t = Tensor::from_vec(xs.clone(), (17, 59), &Device::Cpu).unwrap();
    for (what, t) in
        [("contiguous", t.clone()), ("transposed", t.t().unwrap()), ("f64", t.to_dtype(DType::F64).unwrap())]
    {
        let got = sum_of_squares(&t).unwrap();
        assert!((got - want).abs() <= 1e-9 * want, "{what}: {got} vs {want}");
    }
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut ys = xs.clone();
        ys[500] = bad;
        assert!(!sum_of_squares(&Tensor::new(ys, &Device::Cpu).unwrap()).unwrap().is_finite(), "{bad}");
    }
    assert_eq!(sum_of_squares(&Tensor::new(&[f32::MAX], &Device::Cpu).unwrap()).unwrap(), f64::from(f32::MAX).powi(2));
}
