//! Compiled elementwise functions against the composed path: every standard-library
//! activation inside a small model, forward outputs and every parameter gradient.

use super::super::{Mode, Model};
use super::*;

/// Output and parameter gradients of one forward and backward pass on `x`.
fn pass(program: &Program, jit: bool, x: &Tensor) -> (Vec<f64>, Vec<Vec<f64>>, usize) {
    let mut m = Model::init(program, &mut Rng::new(program.seeds.init)).unwrap();
    let compiled = if jit { m.compile_elementwise(program) } else { 0 };
    let y = m.forward(program, x, Mode::Train, &mut Rng::new(1)).unwrap();
    // A loss that weighs every output differently, so every gradient entry is exercised.
    let w = rand(y.dims(), 9).to_dtype(DType::F32).unwrap();
    let grads = (y.clone() * w).unwrap().sum_all().unwrap().backward().unwrap();
    let g = m.params().iter().map(|(_, v)| vals(grads.get(v).unwrap())).collect();
    (vals(&y), g, compiled)
}

#[test]
fn compiled_activations_match_the_composed_path() {
    for act in ["relu", "leaky_relu", "gelu", "gelu_tanh", "softplus", "silu", "elu", "selu", "tanh", "sigmoid"] {
        let p = lower(&images(1, 4, 4), &format!("flatten >> linear(32) >> {act} >> linear(3)"));
        // Inputs large enough that pre-activations cover both sides of every kink and tail.
        let x = (rand(&[16, 1, 4, 4], 3) * 8.0).unwrap().to_dtype(DType::F32).unwrap();
        let (y0, g0, _) = pass(&p, false, &x);
        let (y1, g1, compiled) = pass(&p, true, &x);
        assert_eq!(compiled, 1, "{act}: the activation should compile");
        assert_close(&y1, &y0, 1e-5, &format!("{act} forward"));
        for (i, (a, b)) in g1.iter().zip(&g0).enumerate() {
            assert_close(a, b, 1e-5, &format!("{act} gradient of parameter {i}"));
        }
    }
}
