//! Tests of the executor: each layer op's forward against a naive `f64` loop written here,
//! its backward against central finite differences in `F64`, and whole models lowered from
//! small `.exp` programs by the real compiler (a dev-dependency only).

mod conv;
mod jit;
mod layers;
mod model;
mod pool;
mod tape;

use crate::error::Result;
use crate::rng::Rng;
use candle_core::{DType, Device, Tensor, Var};
use exp_ir::Program;

/// An `F64` tensor of uniform values in `[-1, 1)`.
fn rand(shape: &[usize], seed: u64) -> Tensor {
    let mut rng = Rng::new(seed);
    let n = shape.iter().product();
    Tensor::from_vec((0..n).map(|_| rng.uniform_in(-1.0, 1.0)).collect::<Vec<f64>>(), shape, &Device::Cpu).unwrap()
}

/// The elements of `t`, row-major, as `f64`.
fn vals(t: &Tensor) -> Vec<f64> {
    t.flatten_all().unwrap().to_dtype(DType::F64).unwrap().to_vec1().unwrap()
}

fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{what}: element {i} is {g}, want {w}");
    }
}

/// Checks the gradient of `sum(w * f(inputs))` (fixed random `w`) with respect to every
/// element of every input against central differences, in `F64`.
fn grad_check(what: &str, f: &dyn Fn(&[Tensor]) -> Result<Tensor>, inputs: &[Tensor]) {
    let vars: Vec<Var> = inputs.iter().map(|t| Var::from_tensor(&t.to_dtype(DType::F64).unwrap()).unwrap()).collect();
    let plain: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let y = f(&plain).unwrap();
    let w = rand(y.dims(), 99);
    let objective =
        |xs: &[Tensor]| -> f64 { f(xs).unwrap().mul(&w).unwrap().sum_all().unwrap().to_scalar::<f64>().unwrap() };
    let grads = y.mul(&w).unwrap().sum_all().unwrap().backward().unwrap();
    let h = 1e-6;
    for (i, var) in vars.iter().enumerate() {
        let got = grads.get(var).map(vals).unwrap_or_else(|| vec![0.0; var.elem_count()]);
        let base = vals(var.as_tensor());
        for j in 0..base.len() {
            let at = |delta: f64| {
                let mut xs: Vec<Tensor> = vars.iter().map(|v| v.as_detached_tensor()).collect();
                let mut v = base.clone();
                v[j] += delta;
                xs[i] = Tensor::from_vec(v, var.shape(), &Device::Cpu).unwrap();
                objective(&xs)
            };
            let fd = (at(h) - at(-h)) / (2.0 * h);
            assert!(
                (got[j] - fd).abs() <= 1e-6 * (1.0 + fd.abs()),
                "{what}: d/d input{i}[{j}] autograd {}, finite differences {fd}",
                got[j]
            );
        }
    }
}

/// Lowers a one-experiment program with `data` and `model` through the real compiler.
fn lower(data: &str, model: &str) -> Program {
    let text = format!(
        "use std.data.{{idx, gaussian_mixture, modular}}\ndata d = {data}\n\
         experiment item {{\n    data = d\n    model = {model}\n    loss = cross_entropy\n    \
         optimizer = sgd(lr: 0.1)\n    batch = 8\n    train = 20 steps\n}}\n"
    );
    let mut db = exp_db::RootDb::default();
    let file = db.set_file("item.exp", &text);
    // Each program uses one of the imported sources; the others are unused on purpose.
    let diags: Vec<_> = exp_hir::file_diagnostics(&db, file).into_iter().filter(|d| d.is_error()).collect();
    assert!(diags.is_empty(), "{text}\n{diags:?}");
    let item = exp_hir::items::lookup(&db, file, "item").expect("the experiment exists");
    match exp_lower::lowered(&db, item, None) {
        Ok(program) => (**program).clone(),
        Err(e) => panic!("{text}\n{e:?}"),
    }
}

/// Image data `[C, H, W]` for [`lower`].
fn images(c: usize, h: usize, w: usize) -> String {
    format!(r#"idx(dir: "unused", shape: [{c}, {h}, {w}], classes: 3)"#)
}
