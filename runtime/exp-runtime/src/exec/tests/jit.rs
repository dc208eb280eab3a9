//! Compiled elementwise functions against the composed path: every standard-library
//! activation inside a small model, forward outputs and every parameter gradient, both fused
//! into the linear layer before it and as an op of its own.

use super::super::{Mode, Model};
use super::*;

/// Output and parameter gradients of one forward and backward pass on `x`.
fn pass(program: &Program, jit: bool, x: &Tensor) -> (Vec<f64>, Vec<Vec<f64>>, (usize, usize)) {
    let mut m = Model::init(program, &mut Rng::new(program.seeds.init)).unwrap();
    let compiled = if jit { (m.compile_elementwise(program), m.fused_layers()) } else { (0, 0) };
    let y = m.forward(program, x, Mode::Train, &mut Rng::new(1)).unwrap();
    // A loss that weighs every output differently, so every gradient entry is exercised.
    let w = rand(y.dims(), 9).to_dtype(DType::F32).unwrap();
    let grads = (y.clone() * w).unwrap().sum_all().unwrap().backward().unwrap();
    let g = m.params().iter().map(|(_, v)| vals(grads.get(v).unwrap())).collect();
    (vals(&y), g, compiled)
}

#[test]
fn compiled_activations_match_the_composed_path() {
    let acts = ["relu", "leaky_relu", "gelu", "gelu_tanh", "softplus", "silu", "elu", "selu", "tanh", "sigmoid"];
    for (act, bias) in acts.iter().flat_map(|a| [(a, true), (a, false)]) {
        // With a bias the activation is fused into the layer; without, it is an op of its own.
        let model = format!("flatten >> linear(32, bias: {bias}) >> {act} >> linear(3)");
        let p = lower(&images(1, 4, 4), &model);
        // Inputs large enough that pre-activations cover both sides of every kink and tail.
        let x = (rand(&[16, 1, 4, 4], 3) * 8.0).unwrap().to_dtype(DType::F32).unwrap();
        let (y0, g0, _) = pass(&p, false, &x);
        let (y1, g1, compiled) = pass(&p, true, &x);
        assert_eq!(compiled, (1, usize::from(bias)), "{model}: compiled functions, fused layers");
        assert_close(&y1, &y0, 1e-5, &format!("{act} forward"));
        for (i, (a, b)) in g1.iter().zip(&g0).enumerate() {
            assert_close(a, b, 1e-5, &format!("{act} gradient of parameter {i}"));
        }
    }
}

#[test]
fn a_second_backward_through_a_fused_layer_recomputes_its_product() {
    for model in
        ["flatten >> linear(8) >> selu >> linear(3)", "conv2d(2, 3, padding: 1) >> selu >> flatten >> linear(3)"]
    {
        let p = lower(&images(1, 4, 4), model);
        let mut m = Model::init(&p, &mut Rng::new(p.seeds.init)).unwrap();
        m.compile_elementwise(&p);
        assert_eq!(m.fused_layers(), 1, "{model}");
        let x = (rand(&[4, 1, 4, 4], 3) * 3.0).unwrap().to_dtype(DType::F32).unwrap();
        let y = m.forward(&p, &x, Mode::Train, &mut Rng::new(1)).unwrap();
        let loss = (y * rand(&[4, 3], 9).to_dtype(DType::F32).unwrap()).unwrap().sum_all().unwrap();
        let (first, second) = (loss.backward().unwrap(), loss.backward().unwrap());
        for (name, v) in m.params() {
            assert_eq!(vals(first.get(&v).unwrap()), vals(second.get(&v).unwrap()), "{model}: {name}");
        }
    }
}

/// The gradient of a plain sum reaches an activation as one broadcast value; the compiled
/// backward reads it as a scalar and must agree with the composed path.
#[test]
fn a_broadcast_output_gradient_is_read_as_a_scalar() {
    let p = lower(&images(1, 4, 4), "flatten >> linear(8) >> selu >> linear(3)");
    let f = p.functions.iter().find(|f| f.name.starts_with("selu")).unwrap();
    let x = Var::from_tensor(&(rand(&[5, 7], 4) * 3.0).unwrap().to_dtype(DType::F32).unwrap()).unwrap();
    let grad = |jit: bool| {
        let y = super::super::elementwise(f, x.as_tensor(), jit).unwrap();
        vals(y.sum_all().unwrap().affine(2.5, 0.0).unwrap().backward().unwrap().get(&x).unwrap())
    };
    assert_close(&grad(true), &grad(false), 1e-6, "selu gradient of 2.5 * sum");
}

/// A convolution with its activation fused matches the composed path, forward and every
/// parameter gradient, with stride and padding; without a bias nothing is fused.
#[test]
fn compiled_activations_after_convolutions_match_the_composed_path() {
    for (act, bias) in ["relu", "gelu", "selu"].iter().flat_map(|a| [(a, true), (a, false)]) {
        let model = format!("conv2d(4, 3, stride: 2, padding: 1, bias: {bias}) >> {act} >> flatten >> linear(3)");
        let p = lower(&images(2, 7, 6), &model);
        let x = (rand(&[3, 2, 7, 6], 5) * 4.0).unwrap().to_dtype(DType::F32).unwrap();
        let (y0, g0, _) = pass(&p, false, &x);
        let (y1, g1, compiled) = pass(&p, true, &x);
        assert_eq!(compiled, (1, usize::from(bias)), "{model}: compiled functions, fused layers");
        assert_close(&y1, &y0, 1e-5, &format!("{model} forward"));
        for (i, (a, b)) in g1.iter().zip(&g0).enumerate() {
            assert_close(a, b, 1e-5, &format!("{model} gradient of parameter {i}"));
        }
    }
}

#[test]
fn the_compiled_input_gradient_matches_autograd_through_the_composed_function() {
    let p = lower(
        &images(1, 4, 4),
        "flatten >> linear(8) >> selu >> linear(8) >> gelu >> linear(8) >> softplus >> linear(3)",
    );
    let x = (rand(&[4, 33], 6) * 6.0).unwrap().to_dtype(DType::F32).unwrap();
    let full = rand(&[4, 33], 7).to_dtype(DType::F32).unwrap();
    let scalar = Tensor::new(0.75f32, &Device::Cpu).unwrap().broadcast_as((4, 33)).unwrap();
    for name in ["selu", "gelu", "softplus"] {
        let f = p.function(name).unwrap();
        for dy in [&full, &scalar] {
            let compiled = vals(&super::super::elementwise_vjp(f, &x, dy, true).unwrap());
            let composed = vals(&super::super::elementwise_vjp(f, &x, dy, false).unwrap());
            assert_close(&compiled, &composed, 1e-5, name);
        }
    }
}
