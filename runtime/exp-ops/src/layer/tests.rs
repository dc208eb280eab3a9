//! Layer-op tests: shape inference, parameter counts and FLOPs checked
//! against results computed by hand with PyTorch's formulas. Argument handling and error
//! messages are in `arg_tests.rs`.

use std::collections::BTreeMap;

use super::*;
use crate::{ArgValue, Dim, Shape, ShapeError};

pub(super) fn s(text: &str) -> Shape {
    Shape::parse(text).unwrap()
}

pub(super) fn dim(text: &str) -> Dim {
    Dim::parse(text).unwrap()
}

pub(super) fn args(list: &[(&str, ArgValue)]) -> BTreeMap<String, ArgValue> {
    list.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

pub(super) fn call(name: &str, list: &[(&str, ArgValue)], input: &str) -> Result<LayerInfo, ShapeError> {
    infer(name, &args(list), &s(input))
}

pub(super) fn int(v: i64) -> ArgValue {
    ArgValue::int(v)
}

/// (op, arguments, input, output, parameter count).
type Case = (&'static str, Vec<(&'static str, ArgValue)>, &'static str, &'static str, &'static str);

fn cases() -> Vec<Case> {
    let sym = |t: &str| ArgValue::Int(dim(t));
    vec![
        ("linear", vec![("out", int(10))], "[B, 784]", "[B, 10]", "7850"),
        ("linear", vec![("out", int(5)), ("bias", ArgValue::Bool(false))], "[B, T, 8]", "[B, T, 5]", "40"),
        ("linear", vec![("out", sym("classes"))], "[B, D]", "[B, classes]", "D * classes + classes"),
        (
            "conv2d",
            vec![("out", int(16)), ("kernel", int(3)), ("padding", int(1))],
            "[B, 1, 28, 28]",
            "[B, 16, 28, 28]",
            "160",
        ),
        (
            "conv2d",
            vec![("out", int(32)), ("kernel", int(5)), ("stride", int(2))],
            "[B, 16, 28, 28]",
            "[B, 32, 12, 12]",
            "12832",
        ),
        (
            "conv2d",
            vec![("out", int(8)), ("kernel", ArgValue::ints(&[3, 5])), ("padding", ArgValue::ints(&[1, 2]))],
            "[B, 3, H, W]",
            "[B, 8, H, W]",
            "368",
        ),
        (
            "conv2d",
            vec![("out", int(8)), ("kernel", int(3)), ("stride", int(2))],
            "[B, 3, H, W]",
            "[B, 8, (H - 1) / 2, (W - 1) / 2]",
            "224",
        ),
        (
            "conv2d",
            vec![("out", int(6)), ("kernel", int(3)), ("dilation", int(2)), ("groups", int(2))],
            "[B, 4, 10, 10]",
            "[B, 6, 6, 6]",
            "114",
        ),
        (
            "conv2d",
            vec![("out", int(4)), ("kernel", int(1)), ("bias", ArgValue::Bool(false))],
            "[B, C, H, W]",
            "[B, 4, H, W]",
            "4 * C",
        ),
        ("conv1d", vec![("out", int(8)), ("kernel", int(3))], "[B, 3, L]", "[B, 8, L - 2]", "80"),
        ("max_pool2d", vec![("kernel", int(2))], "[B, 16, 28, 28]", "[B, 16, 14, 14]", "0"),
        (
            "max_pool2d",
            vec![("kernel", int(3)), ("stride", int(2)), ("padding", int(1))],
            "[B, 64, 112, 112]",
            "[B, 64, 56, 56]",
            "0",
        ),
        (
            "avg_pool2d",
            vec![("kernel", int(3)), ("stride", int(1)), ("padding", int(1))],
            "[B, C, H, W]",
            "[B, C, H, W]",
            "0",
        ),
        ("max_pool1d", vec![("kernel", int(2))], "[B, 4, L]", "[B, 4, L / 2]", "0"),
        ("avg_pool1d", vec![("kernel", int(3)), ("stride", int(2))], "[B, 4, 9]", "[B, 4, 4]", "0"),
        ("global_avg_pool", vec![], "[B, 64, 7, 7]", "[B, 64]", "0"),
        ("global_avg_pool", vec![], "[B, C, L]", "[B, C]", "0"),
        ("flatten", vec![], "[B, 16, 7, 7]", "[B, 784]", "0"),
        ("flatten", vec![], "[B, C, H / 2]", "[B, C * (H / 2)]", "0"),
        ("reshape", vec![("shape", ArgValue::ints(&[1, 28, 28]))], "[B, 784]", "[B, 1, 28, 28]", "0"),
        ("reshape", vec![("shape", ArgValue::ints(&[-1, 7]))], "[B, 16, 7, 7]", "[B, 112, 7]", "0"),
        ("reshape", vec![("shape", ArgValue::ints(&[-1]))], "[B, T, D]", "[B, D * T]", "0"),
        ("embed", vec![("vocab", int(97)), ("dim", int(128))], "[B, 2]", "[B, 2, 128]", "12416"),
        (
            "embed",
            vec![("vocab", int(97)), ("dim", int(128)), ("concat", ArgValue::Bool(true))],
            "[B, 2]",
            "[B, 256]",
            "12416",
        ),
        ("layer_norm", vec![], "[B, T, 512]", "[B, T, 512]", "1024"),
        ("layer_norm", vec![("affine", ArgValue::Bool(false))], "[B, D]", "[B, D]", "0"),
        ("batch_norm", vec![], "[B, 16, 28, 28]", "[B, 16, 28, 28]", "32"),
        ("dropout", vec![("rate", ArgValue::Float(0.1))], "[B, 10]", "[B, 10]", "0"),
        // nn.MultiheadAttention(512, 8) has 1,050,624 parameters.
        ("attention", vec![("heads", int(8)), ("dim", int(512))], "[B, T, 512]", "[B, T, 512]", "1050624"),
        ("attention", vec![("heads", int(4)), ("dim", sym("D"))], "[B, T, D]", "[B, T, D]", "4 * D * D + 4 * D"),
        ("identity", vec![], "[B, 3]", "[B, 3]", "0"),
    ]
}

#[test]
fn shapes_and_parameter_counts_match_pytorch() {
    for (op, list, input, output, count) in cases() {
        let info = call(op, &list, input).unwrap_or_else(|e| panic!("{op} on {input}: {e}"));
        assert_eq!(info.output, s(output), "{op} on {input}");
        assert_eq!(info.param_count(), dim(count), "{op} on {input}: parameters");
    }
}

#[test]
fn flops_and_activations() {
    let linear = call("linear", &[("out", int(10))], "[B, 784]").unwrap();
    assert_eq!(linear.flops, dim("2 * B * 784 * 10"));
    assert_eq!(linear.activations, dim("784 * B"));
    let seq = call("linear", &[("out", ArgValue::Int(dim("O")))], "[B, T, I]").unwrap();
    assert_eq!(seq.flops, dim("2 * B * T * I * O"));
    let conv = call("conv2d", &[("out", int(16)), ("kernel", int(3)), ("padding", int(1))], "[B, 1, 28, 28]").unwrap();
    assert_eq!(conv.flops, dim("2 * B * 16 * 28 * 28 * 9"));
    let pool = call("max_pool2d", &[("kernel", int(2))], "[B, 16, 28, 28]").unwrap();
    assert_eq!(pool.flops, dim("B * 16 * 14 * 14 * 4"));
    let attn = call("attention", &[("heads", int(2)), ("dim", ArgValue::Int(dim("D")))], "[B, T, D]").unwrap();
    assert_eq!(attn.flops, dim("8 * B * T * D * D + 4 * B * T * T * D"));
    assert_eq!(attn.activations, dim("5 * B * T * D + 2 * B * T * T"));
    assert_eq!(call("flatten", &[], "[B, 3, 4]").unwrap().flops, Dim::constant(0));
}
