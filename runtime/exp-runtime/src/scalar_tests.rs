//! Tests of [`eval_scalar`]: every scalar op against the op table's `f64` semantics on random
//! inputs, broadcasting and constants, and the gradient of every differentiable op against
//! central finite differences of the reference interpreter.

use super::*;
use crate::rng::Rng;
use candle_core::{Var, D};
use exp_ir::{FnOutput, Inst};

/// `fn name(a, b, ...) -> (y) { v0 = op a, b, ...; return y = v0 }`.
fn single(op: ScalarOp) -> ScalarFn {
    let inputs: Vec<String> = (0..op.arity()).map(|i| format!("a{i}")).collect();
    let args = (0..op.arity() as u32).map(Operand::Input).collect();
    ScalarFn {
        name: op.name().to_string(),
        inputs,
        body: vec![Inst { result: ScalarId(0), op: InstOp::Op(op), args }],
        outputs: vec![FnOutput { name: "y".into(), value: Operand::Value(ScalarId(0)) }],
        origin: None,
    }
}

/// Random arguments for `op`, inside its domain: positive where a log or root is taken,
/// and conditions that are often exactly zero.
fn draw(op: ScalarOp, rng: &mut Rng) -> Vec<f64> {
    use ScalarOp::*;
    let mut xs: Vec<f64> = (0..op.arity()).map(|_| rng.uniform_in(-2.0, 2.0)).collect();
    match op {
        Log | Sqrt => xs[0] = rng.uniform_in(0.1, 3.0),
        Log1p => xs[0] = rng.uniform_in(-0.9, 3.0),
        Pow => xs = vec![rng.uniform_in(0.2, 2.0), rng.uniform_in(-2.0, 2.0)],
        Div => xs[1] = rng.uniform_in(0.5, 2.0) * if rng.uniform() < 0.5 { -1.0 } else { 1.0 },
        Select | And | Or | Not => xs[0] = if rng.uniform() < 0.5 { 0.0 } else { xs[0] },
        _ => {}
    }
    if matches!(op, And | Or) {
        xs[1] = if rng.uniform() < 0.5 { 0.0 } else { xs[1] };
    }
    // Ties and equalities, so `eq`, `le`, `min`... see both outcomes.
    if op.arity() == 2 && rng.uniform() < 0.2 {
        xs[1] = xs[0];
    }
    xs
}

fn close(got: f64, want: f64, tol: f64) -> bool {
    (got.is_nan() && want.is_nan()) || got == want || (got - want).abs() <= tol * (1.0 + want.abs())
}

/// Evaluates `f` on columns of samples as F64 tensors of shape `[n]`.
fn run(f: &ScalarFn, samples: &[Vec<f64>]) -> Vec<f64> {
    let cols: Vec<Tensor> = (0..f.inputs.len())
        .map(|i| Tensor::new(samples.iter().map(|s| s[i]).collect::<Vec<_>>(), &Device::Cpu).unwrap())
        .collect();
    eval_scalar(f, &cols).unwrap()[0].to_vec1::<f64>().unwrap()
}

#[test]
fn every_op_matches_the_op_table() {
    let mut rng = Rng::new(1);
    for &op in ScalarOp::ALL {
        let f = single(op);
        let samples: Vec<Vec<f64>> = (0..200).map(|_| draw(op, &mut rng)).collect();
        let got = run(&f, &samples);
        for (s, g) in samples.iter().zip(&got) {
            let want = op.eval(s);
            assert!(close(*g, want, 1e-12), "{}({s:?}) = {g}, want {want}", op.name());
        }
    }
}

#[test]
fn pow_handles_negative_bases_zero_and_integer_exponents() {
    let f = single(ScalarOp::Pow);
    let cases: Vec<Vec<f64>> = vec![
        vec![-3.0, 2.0],
        vec![-2.0, 3.0],
        vec![-2.0, -1.0],
        vec![-2.0, 0.5],
        vec![0.0, 2.0],
        vec![0.0, 0.0],
        vec![0.0, -1.0],
        vec![5.0, 0.0],
        vec![1.0, f64::NAN],
        vec![-1.5, 4.0],
    ];
    for (s, g) in cases.iter().zip(run(&f, &cases)) {
        assert!(close(g, s[0].powf(s[1]), 1e-12), "pow({s:?}) = {g}");
    }
    // Constant exponents: integers by repeated multiplication, others by `powf`.
    for e in [2.0, 3.0, -2.0, 0.0, 1.0, 0.5, 65.0] {
        let body = vec![
            Inst { result: ScalarId(0), op: InstOp::Const(e), args: vec![] },
            Inst {
                result: ScalarId(1),
                op: InstOp::Op(ScalarOp::Pow),
                args: vec![Operand::Input(0), Operand::Value(ScalarId(0))],
            },
        ];
        let f = ScalarFn {
            body,
            inputs: vec!["x".into()],
            outputs: vec![FnOutput { name: "y".into(), value: Operand::Value(ScalarId(1)) }],
            ..single(ScalarOp::Neg)
        };
        let xs = [-1.5f64, -0.5, 0.0, 0.7, 2.0];
        let got = eval_scalar(&f, &[Tensor::new(&xs, &Device::Cpu).unwrap()]).unwrap()[0].to_vec1::<f64>().unwrap();
        for (x, g) in xs.iter().zip(got) {
            assert!(close(g, x.powf(e), 1e-12), "{x}^{e} = {g}");
        }
    }
}

/// `y = select(x > 0, x, 0.1 * x) + k` with `k` a scalar input, and a constant output.
fn leaky() -> ScalarFn {
    use Operand::{Input, Value};
    let v = |i| Value(ScalarId(i));
    let inst = |r, op, args| Inst { result: ScalarId(r), op, args };
    ScalarFn {
        name: "leaky".into(),
        inputs: vec!["x".into(), "k".into()],
        body: vec![
            inst(0, InstOp::Const(0.0), vec![]),
            inst(1, InstOp::Const(0.1), vec![]),
            inst(2, InstOp::Op(ScalarOp::Gt), vec![Input(0), v(0)]),
            inst(3, InstOp::Op(ScalarOp::Mul), vec![v(1), Input(0)]),
            inst(4, InstOp::Op(ScalarOp::Select), vec![v(2), Input(0), v(3)]),
            inst(5, InstOp::Op(ScalarOp::Add), vec![v(4), Input(1)]),
            inst(6, InstOp::Op(ScalarOp::Add), vec![v(0), v(1)]),
        ],
        outputs: vec![
            FnOutput { name: "y".into(), value: v(5) },
            FnOutput { name: "c".into(), value: v(6) },
            FnOutput { name: "mask".into(), value: v(2) },
        ],
        origin: None,
    }
}

#[test]
fn scalars_broadcast_and_constants_fold() {
    let f = leaky();
    let x = Tensor::new(&[[-1f32, 2.0, 0.0], [3.0, -4.0, 0.5]], &Device::Cpu).unwrap();
    for k in [Tensor::new(10f32, &Device::Cpu).unwrap(), Tensor::new(&[10f32], &Device::Cpu).unwrap()] {
        let out = eval_scalar(&f, &[x.clone(), k]).unwrap();
        assert_eq!(out.len(), 3);
        for o in &out {
            assert_eq!((o.dims(), o.dtype()), (&[2usize, 3][..], DType::F32));
        }
        let y = out[0].to_vec2::<f32>().unwrap();
        assert_eq!(y, [[9.9, 12.0, 10.0], [13.0, 9.6, 10.5]]);
        assert_eq!(out[1].to_vec2::<f32>().unwrap(), [[0.1f32; 3]; 2]);
        assert_eq!(out[2].to_vec2::<f32>().unwrap(), [[0f32, 1.0, 0.0], [1.0, 0.0, 1.0]]);
    }
    let err = eval_scalar(&f, std::slice::from_ref(&x)).unwrap_err();
    assert!(err.message.contains("takes 2 inputs"), "{}", err.message);
    let bad = Tensor::new(&[1f32, 2.0], &Device::Cpu).unwrap();
    let err = eval_scalar(&f, &[x, bad]).unwrap_err();
    assert!(err.message.contains("do not broadcast"), "{}", err.message);
}

/// The gradient of `sum(w * f(args))` with respect to argument `i`, by autograd on F64.
fn autograd(op: ScalarOp, samples: &[Vec<f64>], w: &[f64], i: usize) -> Vec<f64> {
    let vars: Vec<Var> = (0..op.arity())
        .map(|j| Var::new(samples.iter().map(|s| s[j]).collect::<Vec<_>>(), &Device::Cpu).unwrap())
        .collect();
    let inputs: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let y = &eval_scalar(&single(op), &inputs).unwrap()[0];
    let w = Tensor::new(w, &Device::Cpu).unwrap();
    let grads = y.mul(&w).unwrap().sum(D::Minus1).unwrap().backward().unwrap();
    match grads.get(&vars[i]) {
        Some(g) => g.to_vec1::<f64>().unwrap(),
        None => vec![0.0; samples.len()],
    }
}

#[test]
fn gradients_match_finite_differences() {
    let mut rng = Rng::new(2);
    let h = 1e-6;
    let mut checked = 0;
    for &op in ScalarOp::ALL {
        for i in 0..op.arity() {
            let Some(_) = op.derivative(i) else { continue };
            // Away from kinks (ties, the zero of abs) where the difference quotient jumps.
            let samples: Vec<Vec<f64>> = (0..100)
                .map(|_| loop {
                    let s = draw(op, &mut rng);
                    let kink =
                        (op.arity() == 2 && (s[0] - s[1]).abs() < 1e-3) || (op == ScalarOp::Abs && s[0].abs() < 1e-3);
                    if !kink {
                        break s;
                    }
                })
                .collect();
            let w: Vec<f64> = samples.iter().map(|_| rng.uniform_in(-1.0, 1.0)).collect();
            let got = autograd(op, &samples, &w, i);
            for ((s, wk), g) in samples.iter().zip(&w).zip(&got) {
                let (mut hi, mut lo) = (s.clone(), s.clone());
                hi[i] += h;
                lo[i] -= h;
                let fd = wk * (op.eval(&hi) - op.eval(&lo)) / (2.0 * h);
                assert!(close(*g, fd, 1e-6), "d{}/da{i} at {s:?}: autograd {g}, finite differences {fd}", op.name());
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 29, "every differentiable (op, argument) pair is checked");
}

#[test]
fn tie_and_kink_gradients_follow_the_op_table() {
    use ScalarOp::*;
    // (op, arguments, gradient of each argument) at points where the choice matters.
    let cases: &[(ScalarOp, &[f64], &[f64])] = &[
        (Max, &[1.0, 1.0], &[1.0, 0.0]),
        (Min, &[1.0, 1.0], &[1.0, 0.0]),
        (Abs, &[0.0], &[0.0]),
        (Abs, &[-2.0], &[-1.0]),
        (Pow, &[-3.0, 2.0], &[-6.0, f64::NAN]),
        (Select, &[0.5, 2.0, 3.0], &[0.0, 1.0, 0.0]),
    ];
    for (op, args, want) in cases {
        for i in 0..op.arity() {
            let g = autograd(*op, &[args.to_vec()], &[1.0], i)[0];
            let w = want[i];
            // The exponent's derivative at a negative base is `log(a) * a^b`, NaN in the op table;
            // any value is accepted there.
            assert!(w.is_nan() || close(g, w, 1e-12), "d{}/da{i} at {args:?} = {g}, want {w}", op.name());
        }
    }
    // Piecewise-constant ops pass no gradient and do not fail in backward.
    for op in [Floor, Sign, Lt, Eq, And, Not] {
        assert!(autograd(op, &[draw(op, &mut Rng::new(3))], &[1.0], 0).iter().all(|g| *g == 0.0));
    }
}

#[test]
fn f32_evaluation_agrees_with_f64() {
    let mut rng = Rng::new(4);
    for &op in ScalarOp::ALL {
        let samples: Vec<Vec<f64>> = (0..50).map(|_| draw(op, &mut rng)).collect();
        let cols: Vec<Tensor> = (0..op.arity())
            .map(|i| Tensor::new(samples.iter().map(|s| s[i] as f32).collect::<Vec<_>>(), &Device::Cpu).unwrap())
            .collect();
        let out = eval_scalar(&single(op), &cols).unwrap();
        assert_eq!(out[0].dtype(), DType::F32);
        for (s, g) in samples.iter().zip(out[0].to_vec1::<f32>().unwrap()) {
            let s32: Vec<f64> = s.iter().map(|x| *x as f32 as f64).collect();
            let want = op.eval(&s32);
            assert!(close(g as f64, want, 1e-5), "{}({s32:?}) = {g}, want {want}", op.name());
        }
    }
}

/// The compositions that stand in for `log1p`, `expm1` and `erfc` on devices other than the
/// CPU (Kahan's corrections and the Numerical Recipes fit) keep their relative accuracy where
/// the naive formulas lose it; checked here on the CPU against the op table's `f64` values.
#[test]
fn device_fallbacks_keep_relative_accuracy() {
    let xs: Vec<f64> =
        [-50.0, -5.0, -1.0, -0.3, -1e-4, -1e-7, -1e-9, 1e-9, 1e-7, 1e-4, 0.3, 1.0, 5.0, 20.0, 80.0].to_vec();
    type Fallback = fn(&Tensor) -> crate::Result<Tensor>;
    let cases: [(ScalarOp, Fallback, f64, f64); 3] = [
        (ScalarOp::Log1p, super::log1p, 1e-6, 1e-14),
        (ScalarOp::Expm1, super::expm1, 1e-6, 1e-14),
        (ScalarOp::Erfc, super::erfc, 1e-6, 2e-7),
    ];
    for (op, fallback, tol32, tol64) in cases {
        for (dtype, tol) in [(DType::F32, tol32), (DType::F64, tol64)] {
            let inputs: Vec<f64> = xs.iter().copied().filter(|x| op != ScalarOp::Log1p || *x > -1.0).collect();
            let t = Tensor::new(inputs.as_slice(), &Device::Cpu).unwrap().to_dtype(dtype).unwrap();
            let got = fallback(&t).unwrap().to_dtype(DType::F64).unwrap().to_vec1::<f64>().unwrap();
            let exact = t.to_dtype(DType::F64).unwrap().to_vec1::<f64>().unwrap();
            for (x, g) in exact.iter().zip(&got) {
                let want = op.eval(&[*x]);
                let tiny = if dtype == DType::F32 { f64::from(f32::MIN_POSITIVE) } else { f64::MIN_POSITIVE };
                let ok =
                    if want.abs() < tiny { (g - want).abs() <= tiny } else { (g - want).abs() <= tol * want.abs() };
                assert!(ok, "{}({x}) in {dtype:?}: {g:e}, want {want:e}", op.name());
            }
        }
    }
}
