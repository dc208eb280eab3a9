//! Registry tests: names, every row's typed round trip, every constraint enforced, the
//! semantic hooks against values worked out by hand from PyTorch's formulas.

use std::collections::BTreeMap;

use super::arg::{check_call, Bound};
use super::*;
use crate::{Dim, Distribution, InitSpec, LayerOp, ScalarOp, Shape};

/// A value of `spec` that meets its kind and constraint.
fn valid(spec: &ArgSpec) -> ArgValue {
    let c = spec.constraint;
    let number = match (c.min, c.max) {
        (Some(lo), Some(hi)) => (lo.value + hi.value) / 2.0,
        (Some(lo), None) if lo.inclusive => lo.value,
        (Some(lo), None) => lo.value + 1.0,
        (None, Some(hi)) => hi.value - 1.0,
        (None, None) => 0.5,
    };
    match spec.kind {
        ArgKind::Int | ArgKind::IntOrPair => ArgValue::int(number.ceil() as i64),
        ArgKind::Float => ArgValue::Float(number),
        ArgKind::Bool => ArgValue::Bool(true),
        ArgKind::Ints => ArgValue::ints(&[number.ceil() as i64, 1.max(number.ceil() as i64)]),
        ArgKind::Str => ArgValue::Str("x".into()),
        ArgKind::Choice(names) => ArgValue::Str(names[names.len() - 1].into()),
        ArgKind::Split => ArgValue::Str("test".into()),
    }
}

/// A value of `spec`'s kind that breaks its constraint, if it has one.
fn invalid(spec: &ArgSpec) -> Option<ArgValue> {
    let outside = |b: Bound, below: bool| {
        let step = if b.inclusive { 1.0 } else { 0.0 };
        if below {
            b.value - step
        } else {
            b.value + step
        }
    };
    let x = match (spec.constraint.min, spec.constraint.max) {
        (Some(lo), _) => outside(lo, true),
        (None, Some(hi)) => outside(hi, false),
        (None, None) => return None,
    };
    Some(match spec.kind {
        ArgKind::Int | ArgKind::IntOrPair => ArgValue::int(x.floor() as i64),
        ArgKind::Ints => ArgValue::ints(&[3, x.floor() as i64]),
        _ => ArgValue::Float(x),
    })
}

/// Every argument of `spec` given a valid value.
fn full(spec: &BuiltinSpec) -> ArgMap {
    spec.args.iter().map(|a| (a.name.to_string(), valid(a))).collect()
}

/// Builds the typed value of a row of any kind; the error in words.
fn build(spec: &BuiltinSpec, args: &ArgMap) -> Result<Vec<(String, ArgValue)>, String> {
    fn typed<T: Builtin>(name: &str, args: &ArgMap) -> Result<Vec<(String, ArgValue)>, String> {
        let v = T::from_args(name, args).map_err(|e| e.to_string())?;
        assert_eq!(v.name(), name);
        let back: ArgMap = v.to_args().into_iter().map(|(n, a)| (n.to_string(), a)).collect();
        assert_eq!(T::from_args(name, &back).as_ref(), Ok(&v), "{name}: to_args reads back");
        Ok(v.to_args().into_iter().map(|(n, a)| (n.to_string(), a)).collect())
    }
    match spec.kind {
        BuiltinKind::Layer => {
            let op = LayerOp::from_args(spec.name, args).map_err(|e| e.to_string())?;
            Ok(op.to_args().into_iter().collect())
        }
        BuiltinKind::ScalarFn => check_call(*spec, args).map(|()| Vec::new()).map_err(|e| e.to_string()),
        BuiltinKind::Initializer => typed::<Initializer>(spec.name, args),
        BuiltinKind::Loss => typed::<Loss>(spec.name, args),
        BuiltinKind::Probe => typed::<Probe>(spec.name, args),
        BuiltinKind::Metric => typed::<Metric>(spec.name, args),
        BuiltinKind::DataSource => typed::<DataSource>(spec.name, args),
        BuiltinKind::Transform => typed::<Transform>(spec.name, args),
    }
}

#[test]
fn names_are_unique_across_kinds_and_every_kind_has_rows() {
    let all = builtins();
    let mut names: Vec<&str> = all.iter().map(|s| s.name).collect();
    names.sort();
    let before = names.len();
    names.dedup();
    assert_eq!(names.len(), before, "a name is used twice");
    for kind in BuiltinKind::ALL {
        assert!(!of_kind(kind).is_empty(), "{kind:?} has no rows");
    }
    assert_eq!(lookup("top_k").map(|s| s.kind), Some(BuiltinKind::Metric));
    assert_eq!(lookup("exp").map(|s| s.args.len()), Some(1));
    assert_eq!(lookup("max").map(|s| s.args.iter().map(|a| a.name).collect::<Vec<_>>()), Some(vec!["a", "b"]));
    assert_eq!(ScalarFn::from_name("exp"), Some(ScalarFn::Op(ScalarOp::Exp)));
    assert_eq!(ScalarFn::from_name("add"), None, "operators are not callable by name");
    for spec in &all {
        let args: Vec<&str> = spec.args.iter().map(|a| a.name).collect();
        let mut unique = args.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), args.len(), "{}: an argument is listed twice", spec.name);
        assert_eq!(spec.returns.is_some(), matches!(spec.kind, BuiltinKind::Probe | BuiltinKind::Metric));
    }
}

#[test]
fn every_row_builds_from_valid_arguments_and_round_trips() {
    for spec in builtins() {
        let args = full(&spec);
        let built = build(&spec, &args).unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        if spec.kind != BuiltinKind::ScalarFn {
            assert_eq!(built.len(), spec.args.len(), "{}: every argument written back", spec.name);
        }
        // Required arguments alone also build (defaults fill the rest).
        let required: ArgMap =
            spec.args.iter().filter(|a| a.default.is_none()).map(|a| (a.name.to_string(), valid(a))).collect();
        build(&spec, &required).unwrap_or_else(|e| panic!("{} with defaults: {e}", spec.name));
    }
    let loss = Loss::CrossEntropy { label_smoothing: 0.1 };
    let json = serde_json::to_string(&loss).unwrap();
    assert_eq!(serde_json::from_str::<Loss>(&json).unwrap(), loss);
}

#[test]
fn every_constraint_is_enforced_and_missing_or_unknown_arguments_are_refused() {
    let mut checked = 0;
    for spec in builtins() {
        for a in spec.args {
            let mut args = full(&spec);
            if a.default.is_none() {
                args.remove(a.name);
                let e = build(&spec, &args).expect_err(&format!("{} without `{}`", spec.name, a.name));
                assert!(e.contains("missing") && e.contains(a.name), "{e}");
            }
            let Some(bad) = invalid(a) else { continue };
            let mut args = full(&spec);
            args.insert(a.name.to_string(), bad.clone());
            let e = build(&spec, &args).expect_err(&format!("{}({}: {bad:?})", spec.name, a.name));
            assert!(e.contains(a.name), "{}: {e}", spec.name);
            checked += 1;
        }
        let mut args = full(&spec);
        args.insert("no_such_argument".into(), ArgValue::int(1));
        assert!(build(&spec, &args).unwrap_err().contains("has no argument `no_such_argument`"));
    }
    assert!(checked >= 40, "only {checked} constraints checked");
}

#[test]
fn constraints_read_as_words() {
    let cases = [
        (Constraint::POSITIVE, "positive"),
        (Constraint::NON_NEGATIVE, "non-negative"),
        (Constraint::UNIT, "in [0, 1]"),
        (Constraint::half_open(0.0, 1.0), "in [0, 1)"),
        (Constraint::OPEN_UNIT, "in (0, 1)"),
        (Constraint::at_least(2.0), "at least 2"),
        (Constraint::above(0.5), "greater than 0.5"),
    ];
    for (c, words) in cases {
        assert_eq!(c.describe(), words);
    }
    assert!(!Constraint::POSITIVE.allows(0.0) && Constraint::POSITIVE.allows(1e-300));
    assert!(!Constraint::UNIT.allows(f64::NAN) && Constraint::ANY.allows(f64::NAN));
}

#[test]
fn choices_name_the_allowed_values() {
    let args: ArgMap = [("mode".to_string(), ArgValue::Str("fan_avg".into()))].into();
    let e = Initializer::from_args("kaiming_normal", &args).unwrap_err();
    assert_eq!(e.problem, ArgProblem::NotAChoice { found: "fan_avg".into(), allowed: FanMode::NAMES });
    assert_eq!(
        e.to_string(),
        "`kaiming_normal` argument `mode` must be one of \"fan_in\", \"fan_out\", found \"fan_avg\""
    );
    let ok: ArgMap = [("mode".to_string(), ArgValue::Str("fan_out".into()))].into();
    assert_eq!(
        Initializer::from_args("kaiming_normal", &ok).unwrap(),
        Initializer::KaimingNormal { a: 0.0, mode: FanMode::FanOut, scale: 1.0 }
    );
}

#[test]
fn losses_need_the_output_their_targets_call_for() {
    let b = |rest: &str| Shape::parse(&format!("[B, {rest}]")).unwrap();
    let ce = Loss::CrossEntropy { label_smoothing: 0.0 };
    assert_eq!(ce.expected_output(&TargetKind::Classes(10)), Ok(b("10")));
    assert_eq!(ce.expected_output(&TargetKind::Values(vec![3])), Err(LossTargetError::NeedsClasses));
    assert_eq!(Loss::Kl {}.expected_output(&TargetKind::Classes(4)), Ok(b("4")));
    assert_eq!(Loss::Bce {}.expected_output(&TargetKind::Classes(2)), Ok(b("1")));
    assert_eq!(Loss::Bce {}.expected_output(&TargetKind::Classes(3)), Err(LossTargetError::BinaryOnly { classes: 3 }));
    assert_eq!(Loss::Bce {}.expected_output(&TargetKind::Values(vec![5])), Ok(b("5")));
    assert_eq!(Loss::Mse {}.expected_output(&TargetKind::Classes(7)), Ok(b("7")));
    assert_eq!(Loss::Mse {}.expected_output(&TargetKind::Values(vec![2, 3])), Ok(b("2, 3")));
}

fn source(name: &str, args: &[(&str, ArgValue)]) -> Result<DataSource, ArgError> {
    let map: ArgMap = args.iter().map(|(n, v)| (n.to_string(), v.clone())).collect();
    DataSource::from_args(name, &map)
}

#[test]
fn data_sources_state_their_schema() {
    let int = ArgValue::int;
    let m = source("modular", &[("p", int(97)), ("train_fraction", ArgValue::Float(0.4))]).unwrap();
    let s = m.schema();
    assert_eq!((s.sample, s.tokens, s.target.clone()), (vec![2], Some(97), TargetKind::Classes(97)));
    // round(0.4 * 97^2) = round(3763.6)
    assert_eq!(s.train_size, Some(3764));
    // For `div`, only the `b` invertible mod p: 12 * phi(12) = 12 * 4 pairs, half in train.
    let div = source("modular", &[("p", int(12)), ("op", ArgValue::Str("div".into()))]).unwrap();
    assert_eq!(div.generated_samples(), Some(48));
    assert_eq!(div.schema().train_size, Some(24));
    let spirals = source("two_spirals", &[("n", int(101))]).unwrap().schema();
    assert_eq!((spirals.sample, spirals.target, spirals.train_size), (vec![2], TargetKind::Classes(2), Some(81)));
    let cifar = source("cifar10", &[("dir", ArgValue::Str("d".into()))]).unwrap().schema();
    assert_eq!((cifar.sample, cifar.target, cifar.train_size), (vec![3, 32, 32], TargetKind::Classes(10), None));
    let idx = [("dir", ArgValue::Str("d".into())), ("shape", ArgValue::ints(&[1, 8, 8])), ("classes", int(10))];
    assert_eq!(source("idx", &idx).unwrap().schema().sample, vec![1, 8, 8]);
    // A split that leaves a part empty is refused before anything runs.
    let e = source(
        "gaussian_mixture",
        &[("dim", int(2)), ("classes", int(2)), ("n", int(4)), ("train_fraction", ArgValue::Float(0.9))],
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "`gaussian_mixture` argument `train_fraction` must be in [0.125, 0.875) with 4 samples, so that \
         `.train` and `.test` are both non-empty"
    );
    let bad = [("dir", ArgValue::Str("d".into())), ("shape", ArgValue::ints(&[1, 0])), ("classes", int(10))];
    assert_eq!(
        source("idx", &bad).unwrap_err().to_string(),
        "`idx` argument `shape` must be a list of positive numbers"
    );
}

#[test]
fn transforms_keep_the_schema_of_float_data_and_refuse_tokens() {
    let floats = source("two_spirals", &[("n", ArgValue::int(10))]).unwrap().schema();
    let scale = Transform::Scale { factor: 2.0 };
    assert_eq!(scale.apply(&floats), Ok(floats.clone()));
    let tokens = source("modular", &[("p", ArgValue::int(5))]).unwrap().schema();
    assert_eq!(scale.apply(&tokens), Err(TransformError::NeedsFloatInputs));
    let e = Transform::from_args(
        "normalize",
        &[("mean".into(), ArgValue::Float(0.0)), ("std".into(), ArgValue::Float(0.0))].into(),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "`normalize` argument `std` must be positive");
}

#[test]
fn probes_and_metrics_know_their_split_and_targets() {
    let acc = Probe::Accuracy { on: "test".into() };
    assert_eq!(acc.split(), Some("test"));
    assert_eq!(Probe::WeightNorm {}.split(), None);
    assert!(acc.check_target(&TargetKind::Values(vec![1])).is_err());
    assert!(Probe::Loss { on: "train".into() }.check_target(&TargetKind::Values(vec![1])).is_ok());
    let top5 = Metric::TopK { k: 5, on: "test".into() };
    assert!(top5.check_target(&TargetKind::Classes(10)).is_ok());
    let e = top5.check_target(&TargetKind::Classes(3)).unwrap_err();
    assert_eq!(e, MeasureError::TooFewClasses { k: 5, classes: 3 });
    assert_eq!(e.to_string(), "`top_k` with `k: 5` needs at least 5 classes, but the data has 3");
}

/// `param_init` of `init` for a weight `[out, in, k...]`.
fn weight(init: &Initializer, shape: &[i64]) -> InitSpec {
    let default = InitSpec::KaimingUniform { a: 5f64.sqrt(), fan_in: Dim::constant(shape[1..].iter().product()) };
    init.param_init(ParamRole::Weight, shape, &default)
}

fn approx(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

#[test]
fn initializers_follow_the_fan_rule_of_pytorch() {
    // A conv weight [16, 8, 3, 3]: fan_in = 8 * 9 = 72, fan_out = 16 * 9 = 144.
    let conv = [16, 8, 3, 3];
    let normal_std = |i: &InitSpec| match i.resolve(&BTreeMap::new()) {
        Some(Distribution::Normal { mean, std }) => (mean, std),
        other => panic!("{other:?}"),
    };
    let bound = |i: &InitSpec| match i.resolve(&BTreeMap::new()) {
        Some(Distribution::Uniform { low, high }) => {
            assert!(approx(low, -high));
            high
        }
        other => panic!("{other:?}"),
    };
    let fan_out = FanMode::FanOut;
    // torch.nn.init.kaiming_normal_(w, mode="fan_out"): std = sqrt(2) / sqrt(144)
    let kn = Initializer::KaimingNormal { a: 0.0, mode: fan_out, scale: 1.0 };
    assert!(approx(normal_std(&weight(&kn, &conv)).1, 2f64.sqrt() / 12.0));
    // kaiming_uniform_(w, a=1, mode="fan_in"): bound = sqrt(3) * sqrt(2 / 2) / sqrt(72)
    let ku = Initializer::KaimingUniform { a: 1.0, mode: FanMode::FanIn, scale: 1.0 };
    assert!(approx(bound(&weight(&ku, &conv)), 3f64.sqrt() / 72f64.sqrt()));
    let ku_out = Initializer::KaimingUniform { a: 0.0, mode: fan_out, scale: 1.0 };
    assert!(approx(bound(&weight(&ku_out, &conv)), 6f64.sqrt() / 12.0));
    // xavier_normal_(w, gain=2): std = 2 * sqrt(2 / (72 + 144))
    let xn = Initializer::XavierNormal { gain: 2.0, scale: 1.0 };
    assert!(approx(normal_std(&weight(&xn, &conv)).1, 2.0 * (2.0 / 216f64).sqrt()));
    let xu = Initializer::XavierUniform { gain: 1.0, scale: 1.0 };
    assert!(approx(bound(&weight(&xu, &conv)), (6.0 / 216f64).sqrt()));
    let lecun = Initializer::LecunNormal { scale: 1.0 };
    assert!(approx(normal_std(&weight(&lecun, &conv)).1, 1.0 / 72f64.sqrt()));
    assert_eq!(weight(&Initializer::Orthogonal { gain: 1.5, scale: 2.0 }, &conv), InitSpec::Orthogonal { gain: 3.0 });
    // An embedding table [vocab, dim] has fan_in = dim, fan_out = vocab.
    let table = lecun.param_init(ParamRole::Table, &[97, 4], &InitSpec::Normal { mean: 0.0, std: 1.0 });
    assert!(approx(normal_std(&table).1, 0.5));
}

#[test]
fn biases_norms_buffers_and_scale() {
    let default_bias = InitSpec::BiasUniform { fan_in: Dim::constant(4) };
    let g = Initializer::Gaussian { std: 0.1, mean: 0.0, scale: 1.0 };
    assert_eq!(g.param_init(ParamRole::Bias, &[3], &default_bias), InitSpec::Zeros);
    assert_eq!(g.param_init(ParamRole::NormGain, &[3], &InitSpec::Ones), InitSpec::Ones);
    assert_eq!(g.param_init(ParamRole::NormBias, &[3], &InitSpec::Zeros), InitSpec::Zeros);
    // `pytorch_default` keeps every default, then scales it: biases are not zeroed.
    let big = Initializer::PytorchDefault { scale: 8.0 };
    assert_eq!(big.param_init(ParamRole::Bias, &[3], &default_bias), InitSpec::Uniform { low: -4.0, high: 4.0 });
    assert_eq!(big.param_init(ParamRole::NormGain, &[3], &InitSpec::Ones), InitSpec::Constant(8.0));
    let w = weight(&big, &[10, 25]);
    let Some(Distribution::Uniform { high, .. }) = w.resolve(&BTreeMap::new()) else { panic!("{w:?}") };
    assert!(approx(high, 8.0 / 5.0), "kaiming_uniform(a = sqrt(5)) bound 1/sqrt(25), times 8: {high}");
    let table = big.param_init(ParamRole::Table, &[5, 2], &InitSpec::Normal { mean: 0.0, std: 1.0 });
    assert_eq!(table, InitSpec::Normal { mean: 0.0, std: 8.0 });
    // Buffers are never re-initialized or scaled.
    assert_eq!(big.param_init(ParamRole::Buffer, &[3], &InitSpec::Ones), InitSpec::Ones);
    let u = Initializer::Uniform { low: -0.1, high: 0.3, scale: 2.0 };
    assert_eq!(weight(&u, &[2, 2]), InitSpec::Uniform { low: -0.2, high: 0.6 });
    let e = Initializer::from_args(
        "uniform",
        &[("low".into(), ArgValue::Float(1.0)), ("high".into(), ArgValue::Float(0.0))].into(),
    );
    assert_eq!(e.unwrap_err().to_string(), "`uniform` argument `low` must be at most `high` (0)");
}
