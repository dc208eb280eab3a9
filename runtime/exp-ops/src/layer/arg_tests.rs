//! Layer-op tests of argument handling (defaults, kinds, ranges, the table) and of the
//! wording of every kind of shape error.

use std::collections::BTreeMap;

use super::tests::{args, call, dim, int, s};
use super::*;
use crate::{ArgDefault, ArgKind, ArgProblem, ArgValue, BuiltinSpec, Dim, ReshapeProblem, ShapeError};

#[test]
fn error_messages() {
    let conv = |list: &[(&str, ArgValue)], input| call("conv2d", list, input).unwrap_err().to_string();
    let k = |v| ("kernel", int(v));
    let out = ("out", int(4));
    let table = [
        (conv(&[out.clone(), k(3)], "[B, 784]"), "`conv2d` expects a rank-4 input `[B, C, H, W]`, found `[B, 784]`"),
        (conv(&[out.clone(), k(5)], "[B, 1, 3, 3]"), "`conv2d` needs a positive output height, found `-1`"),
        (
            conv(&[out.clone(), k(3), ("groups", int(3))], "[B, 3, 9, 9]"),
            "`conv2d` needs output channels `4` to be divisible by groups `3`",
        ),
        (conv(&[out.clone(), k(0)], "[B, 1, 9, 9]"), "`conv2d` needs a positive argument `kernel`, found `0`"),
        (
            conv(&[out.clone(), ("kernel", ArgValue::ints(&[1, 2, 3]))], "[B, 1, 9, 9]"),
            "`conv2d` argument `kernel` expects an int or a pair of ints",
        ),
        (
            conv(&[out.clone(), ("kernel", ArgValue::Float(3.0))], "[B, 1, 9, 9]"),
            "`conv2d` argument `kernel` expects an int or a pair of ints",
        ),
        (
            conv(&[out.clone(), k(3), ("padding", int(-1))], "[B, 1, 9, 9]"),
            "`conv2d` argument `padding` must be non-negative",
        ),
        (conv(&[k(3)], "[B, 1, 9, 9]"), "`conv2d` is missing its argument `out`"),
        (conv(&[out.clone(), k(3), ("size", int(1))], "[B, 1, 9, 9]"), "`conv2d` has no argument `size`"),
        (
            call("linear", &[("out", int(3))], "[B]").unwrap_err().to_string(),
            "`linear` expects a rank-2 or higher input `[B, ..., in]`, found `[B]`",
        ),
        (
            call("batch_norm", &[], "[B, 1, 2, 3, 4, 5]").unwrap_err().to_string(),
            "`batch_norm` expects a rank-2 to rank-5 input `[B, C, ...]`, found `[B, 1, 2, 3, 4, 5]`",
        ),
        (
            call("max_pool2d", &[k(2), ("padding", int(2))], "[B, 1, 8, 8]").unwrap_err().to_string(),
            "`max_pool2d` argument `padding` must be at most half of `kernel`",
        ),
        (
            call("dropout", &[("rate", ArgValue::Float(1.0))], "[B, 3]").unwrap_err().to_string(),
            "`dropout` argument `rate` must be in [0, 1)",
        ),
        (
            call("attention", &[("heads", int(3)), ("dim", int(100))], "[B, T, 100]").unwrap_err().to_string(),
            "`attention` needs model dimension `100` to be divisible by heads `3`",
        ),
        (
            call("attention", &[("heads", int(2)), ("dim", int(128))], "[B, T, 64]").unwrap_err().to_string(),
            "`attention` expects axis 2 of its input to be `128`, found `64` in `[B, T, 64]`",
        ),
        (
            call("reshape", &[("shape", ArgValue::ints(&[28, 29]))], "[B, 784]").unwrap_err().to_string(),
            "cannot reshape `[B, 784]` to `[B, 28, 29]`: the element counts differ",
        ),
        (call("relu6", &[], "[B]").unwrap_err().to_string(), "unknown layer op `relu6`"),
    ];
    for (got, want) in table {
        assert_eq!(got, want);
    }
}

#[test]
fn reshape_rules() {
    let reshape = |target: &[i64], input| call("reshape", &[("shape", ArgValue::ints(target))], input);
    let problem = |r: Result<LayerInfo, ShapeError>| match r {
        Err(ShapeError::BadReshape { problem, .. }) => problem,
        other => panic!("{other:?}"),
    };
    assert_eq!(problem(reshape(&[-1, -1], "[B, 4]")), ReshapeProblem::SeveralInferred);
    assert_eq!(problem(reshape(&[0, 4], "[B, 4]")), ReshapeProblem::NonPositiveEntry(Dim::constant(0)));
    assert_eq!(problem(reshape(&[-1, 3], "[B, 4]")), ReshapeProblem::CountMismatch);
    // `D` might be a multiple of 4, but the checker cannot know, so it refuses.
    assert_eq!(problem(reshape(&[-1, 4], "[B, D]")), ReshapeProblem::CountMismatch);
    assert_eq!(reshape(&[-1, 4], "[B, 4 * D]").unwrap().output, s("[B, D, 4]"));
}

#[test]
fn every_op_builds_and_its_args_round_trip() {
    let required = |spec: &BuiltinSpec| -> BTreeMap<String, ArgValue> {
        let value = |kind| match kind {
            ArgKind::Ints => ArgValue::ints(&[-1]),
            ArgKind::Float => ArgValue::Float(0.5),
            ArgKind::Bool => ArgValue::Bool(true),
            ArgKind::Int | ArgKind::IntOrPair => int(2),
            other => panic!("no layer takes {other}"),
        };
        spec.args.iter().filter(|a| a.default.is_none()).map(|a| (a.name.to_string(), value(a.kind))).collect()
    };
    for spec in layer_ops() {
        let op = LayerOp::from_args(spec.name, &required(spec)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(op.name(), spec.name);
        let full = op.to_args();
        assert_eq!(
            full.keys().map(String::as_str).collect::<Vec<_>>().len(),
            spec.args.len(),
            "{}: every argument printed",
            spec.name
        );
        assert_eq!(LayerOp::from_args(spec.name, &full).unwrap(), op);
        let json = serde_json::to_string(&op).unwrap();
        assert_eq!(serde_json::from_str::<LayerOp>(&json).unwrap(), op);
    }
}

#[test]
fn table_lists_the_language_names() {
    let names: Vec<_> = layer_ops().iter().map(|s| s.name).collect();
    let expected = [
        "linear",
        "conv1d",
        "conv2d",
        "max_pool1d",
        "max_pool2d",
        "avg_pool1d",
        "avg_pool2d",
        "global_avg_pool",
        "flatten",
        "reshape",
        "embed",
        "layer_norm",
        "batch_norm",
        "dropout",
        "attention",
        "identity",
    ];
    assert_eq!(names, expected);
    assert!(layer_ops().iter().all(|s| !s.doc.is_empty()));
    let pool = layer_op("max_pool2d").unwrap();
    assert_eq!(pool.args[1].default, Some(ArgDefault::SameAs("kernel")));
    let stride = LayerOp::from_args("max_pool2d", &args(&[("kernel", ArgValue::ints(&[2, 3]))])).unwrap();
    assert_eq!(stride.to_args()["stride"], ArgValue::ints(&[2, 3]), "stride defaults to the kernel");
}

#[test]
fn elementwise_and_deserialized_ops() {
    let relu = LayerOp::Elementwise { name: "relu".into() };
    let info = relu.infer(&s("[B, 10]")).unwrap();
    assert_eq!((info.output, info.flops), (s("[B, 10]"), dim("10 * B")));
    assert!(relu.to_args().is_empty());
    // An op read from IR with a 2-d kernel but 1-d stride is reported, not indexed blindly.
    let LayerOp::Conv2d(mut conv) =
        LayerOp::from_args("conv2d", &args(&[("out", int(2)), ("kernel", int(3))])).unwrap()
    else {
        panic!()
    };
    conv.stride.pop();
    let err = LayerOp::Conv2d(conv).infer(&s("[B, 1, 8, 8]")).unwrap_err();
    assert!(
        matches!(err, ShapeError::BadArg(crate::ArgError { ref arg, problem: ArgProblem::WrongKind { .. }, .. }) if arg == "stride"),
        "{err:?}"
    );
}
