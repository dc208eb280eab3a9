//! Tests of the scalar op table: names, evaluation, and every derivative rule against
//! central finite differences.

use super::*;

#[test]
fn names_round_trip_and_are_unique() {
    for &op in ScalarOp::ALL {
        assert_eq!(ScalarOp::from_name(op.name()), Some(op));
        assert_eq!(op.name(), op.name().to_lowercase());
    }
    let mut names: Vec<_> = ScalarOp::ALL.iter().map(|op| op.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), ScalarOp::ALL.len());
    assert_eq!(ScalarOp::from_name("relu"), None);
}

#[test]
fn builtin_functions_are_exactly_the_documented_list() {
    let expected = [
        "exp", "log", "log1p", "expm1", "sqrt", "abs", "tanh", "sigmoid", "sin", "cos", "erf", "erfc", "min", "max",
        "floor", "sign",
    ];
    let mut callable: Vec<_> = ScalarOp::ALL.iter().filter(|op| op.is_callable()).map(|op| op.name()).collect();
    let mut expected = expected.to_vec();
    callable.sort_unstable();
    expected.sort_unstable();
    assert_eq!(callable, expected);
    assert!(ScalarOp::from_name("max").is_some_and(|op| op.is_callable()));
    assert!(ScalarOp::from_name("add").is_some_and(|op| !op.is_callable()));
}

#[test]
fn evaluation() {
    use ScalarOp::*;
    let cases: &[(ScalarOp, &[f64], f64)] = &[
        (Add, &[2.0, 3.0], 5.0),
        (Sub, &[2.0, 3.0], -1.0),
        (Div, &[3.0, 2.0], 1.5),
        (Pow, &[2.0, 10.0], 1024.0),
        (Neg, &[2.0], -2.0),
        (Sqrt, &[9.0], 3.0),
        (Abs, &[-2.5], 2.5),
        (Min, &[1.0, -1.0], -1.0),
        (Max, &[1.0, -1.0], 1.0),
        (Lt, &[1.0, 2.0], 1.0),
        (Le, &[2.0, 2.0], 1.0),
        (Gt, &[1.0, 2.0], 0.0),
        (Ge, &[1.0, 2.0], 0.0),
        (Eq, &[2.0, 2.0], 1.0),
        (Ne, &[2.0, 2.0], 0.0),
        (And, &[1.0, 0.0], 0.0),
        (Or, &[1.0, 0.0], 1.0),
        (Not, &[0.0], 1.0),
        (Select, &[1.0, 7.0, 8.0], 7.0),
        (Select, &[0.0, 7.0, 8.0], 8.0),
        (Floor, &[-1.5], -2.0),
        (Sign, &[-3.0], -1.0),
        (Sign, &[0.0], 0.0),
        (Sigmoid, &[0.0], 0.5),
    ];
    for (op, args, want) in cases {
        assert_eq!(op.eval(args), *want, "{}({args:?})", op.name());
    }
    assert!(Add.eval(&[1.0]).is_nan(), "wrong arity gives NaN");
    assert!((Sigmoid.eval(&[-800.0])).abs() < 1e-300, "no overflow for very negative inputs");
}

/// `log1p`, `expm1` and `erfc` keep their relative accuracy where the naive formulas lose it:
/// at tiny arguments (`log(1 + x)`, `exp(x) - 1`) and in the tail (`1 - erf(x)`). Reference
/// values: `math.log1p`, `math.expm1` and `math.erfc` of Python 3.11.
#[test]
fn accurate_primitives_match_reference_values() {
    use ScalarOp::*;
    let table: &[(ScalarOp, f64, f64)] = &[
        (Log1p, 1e-10, 9.999999999500001e-11),
        (Log1p, -0.5, -std::f64::consts::LN_2),
        (Log1p, 1e300, 690.7755278982137),
        (Expm1, 1e-10, 1.00000000005e-10),
        (Expm1, -1e-6, -9.999995000001667e-07),
        (Expm1, 1.0, 1.718281828459045),
        (Erfc, 0.5, 0.4795001221869535),
        (Erfc, 2.0, 0.004677734981047265),
        (Erfc, 3.0, 2.2090496998585438e-05),
        (Erfc, 5.0, 1.5374597944280351e-12),
        (Erfc, 10.0, 2.088487583762545e-45),
        (Erfc, 26.0, 5.663192408856143e-296),
        (Erfc, -3.0, 1.9999779095030015),
    ];
    for &(op, x, want) in table {
        let got = op.eval(&[x]);
        assert!((got - want).abs() <= 1e-14 * want.abs(), "{}({x}) = {got:e}, expected {want:e}", op.name());
    }
    assert_eq!(Erfc.eval(&[30.0]), 0.0);
    assert!(Erfc.eval(&[f64::NAN]).is_nan());
}

#[test]
fn erf_matches_reference_values() {
    // Reference values from the DLMF tables of erf.
    let table = [
        (0.0, 0.0),
        (0.5, 0.520_499_877_813_046_5),
        (1.0, 0.842_700_792_949_714_9),
        (2.0, 0.995_322_265_018_952_7),
        (3.5, 0.999_999_256_901_627_7),
    ];
    let erf = |x: f64| ScalarOp::Erf.eval(&[x]);
    for (x, want) in table {
        assert!((erf(x) - want).abs() < 1e-14, "erf({x}) = {} != {want}", erf(x));
        assert!((erf(-x) + want).abs() < 1e-14);
    }
    assert_eq!(erf(7.0), 1.0);
    assert!(erf(f64::NAN).is_nan());
}

/// Points where each differentiable op is smooth (positive bases for `pow` and `log`,
/// arguments above -1 for `log1p`, distinct arguments for `min` and `max`).
fn sample_points(op: ScalarOp) -> Vec<Vec<f64>> {
    use ScalarOp::*;
    match op {
        Log | Sqrt | Pow => vec![vec![0.7, 1.3], vec![2.5, -0.4], vec![1.1, 3.0]],
        Log1p => vec![vec![0.3], vec![-0.8], vec![1e-9], vec![2.5]],
        Select => vec![vec![1.0, 0.3, -2.0], vec![0.0, 0.3, -2.0]],
        _ => vec![vec![0.3, -1.2], vec![-0.8, 0.45], vec![1.7, 2.2], vec![-2.1, -0.6]],
    }
}

#[test]
fn derivatives_match_finite_differences() {
    let h = 1e-6;
    let mut checked = 0;
    for &op in ScalarOp::ALL {
        for point in sample_points(op) {
            let args = &point[..op.arity()];
            let result = op.eval(args);
            for i in 0..op.arity() {
                let Some(rule) = op.derivative(i) else {
                    continue;
                };
                let (mut up, mut down) = (args.to_vec(), args.to_vec());
                up[i] += h;
                down[i] -= h;
                let numeric = (op.eval(&up) - op.eval(&down)) / (2.0 * h);
                let symbolic = rule.eval(args, result);
                let tol = 1e-6 * (1.0 + numeric.abs());
                assert!(
                    (numeric - symbolic).abs() < tol,
                    "d {}/d arg{i} at {args:?}: {symbolic} vs {numeric}",
                    op.name()
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 60, "only {checked} derivative checks ran");
}

#[test]
fn piecewise_constant_ops_have_no_derivative() {
    use ScalarOp::*;
    for op in [Lt, Le, Gt, Ge, Eq, Ne, And, Or, Not, Floor, Sign] {
        assert!((0..op.arity()).all(|i| op.derivative(i).is_none()), "{}", op.name());
    }
    assert!(Select.derivative(0).is_none());
    assert!(Add.derivative(2).is_none(), "out-of-range argument");
    let differentiable =
        [Add, Sub, Mul, Div, Pow, Neg, Exp, Log, Log1p, Expm1, Sqrt, Abs, Tanh, Sigmoid, Sin, Cos, Erf, Erfc, Min, Max];
    for op in differentiable {
        assert!((0..op.arity()).all(|i| op.derivative(i).is_some()), "{}", op.name());
    }
}

#[test]
fn ties_send_the_whole_gradient_to_one_side() {
    for op in [ScalarOp::Min, ScalarOp::Max] {
        let args = [1.0, 1.0];
        let result = op.eval(&args);
        let da = op.derivative(0).unwrap().eval(&args, result);
        let db = op.derivative(1).unwrap().eval(&args, result);
        assert_eq!((da, db), (1.0, 0.0), "{}", op.name());
    }
    assert_eq!(ScalarOp::Abs.derivative(0).unwrap().eval(&[0.0], 0.0), 0.0);
}
