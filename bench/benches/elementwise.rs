//! An activation's forward and backward on 1M and 16M elements, three ways: the composed
//! Candle ops through Candle's autograd (the reference path, `--no-jit`); the compiled kernels
//! (forward and the derived vector-Jacobian product, as one Candle custom op) through Candle's
//! autograd, which sums the input gradient into a fresh zero tensor; and the compiled kernels
//! called directly, as a taped training step runs them (`exec::elementwise_vjp`). Each is the
//! forward, the sum of the output, and the gradient of that sum with respect to the input.
//!
//! Then the JIT's compile time: every function of the program (activations, the optimizer's
//! update rule, the schedule) and each one-output function's derivative, compiled afresh
//! (no cache), median of 5.
//!
//! Run: `cargo bench -p exp-bench --bench elementwise` (release). Prints medians of 9 runs
//! per function and size; `RAYON_NUM_THREADS` sets the thread count of every path.

use std::time::Instant;

use candle_core::{Device, Tensor, Var};
use exp_runtime::exec::{elementwise, elementwise_vjp};
use exp_runtime::rng::Rng;

// The same allocator as `expc`, so allocation costs are those of a real run.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn main() {
    // The allocator and thread settings `expc` runs with.
    exp_driver::process_settings();
    let text = "use std.data.gaussian_mixture\ndata d = gaussian_mixture(dim: 4, classes: 3, n: 60)\n\
                experiment item {\n    data = d\n    model = linear(8) >> selu >> linear(8) >> gelu >> linear(8) >> silu >> linear(3)\n    \
                loss = cross_entropy\n    optimizer = sgd(lr: 0.1)\n    batch = 8\n    train = 10 steps\n}\n";
    let program = exp_driver::compile_source("item.exp", text, "item").expect("the benchmark program compiles");
    for name in ["selu", "gelu", "silu"] {
        let f = program.functions.iter().find(|f| f.name.starts_with(name)).expect("the activation is lowered");
        for n in [1usize << 20, 1 << 24] {
            let mut rng = Rng::new(1);
            let x = Var::from_tensor(
                &Tensor::from_vec((0..n).map(|_| rng.normal() as f32 * 3.0).collect::<Vec<_>>(), n, &Device::Cpu)
                    .unwrap(),
            )
            .unwrap();
            let time = |run: &dyn Fn()| {
                let times: Vec<f64> = (0..11)
                    .map(|_| {
                        let t = Instant::now();
                        run();
                        t.elapsed().as_secs_f64() * 1e3
                    })
                    .skip(2)
                    .collect();
                median(times)
            };
            let autograd = |jit: bool| {
                let y = elementwise(f, x.as_tensor(), jit).unwrap();
                let grads = y.sum_all().unwrap().backward().unwrap();
                assert!(grads.get(&x).is_some());
            };
            let composed = time(&|| autograd(false));
            let compiled = time(&|| autograd(true));
            let data = x.as_detached_tensor();
            let taped = time(&|| {
                let y = elementwise(f, &data, true).unwrap();
                let sum = y.sum_all().unwrap();
                let dy = Tensor::ones((), sum.dtype(), &Device::Cpu).unwrap().broadcast_as(y.shape()).unwrap();
                assert_eq!(elementwise_vjp(f, &data, &dy, true).unwrap().dims(), data.dims());
            });
            println!(
                "{name:<5} {:>3}M elements  composed {composed:>8.2} ms   compiled, autograd {compiled:>7.2} ms   \
                 compiled, taped {taped:>7.2} ms   speed-up {:.2}x (autograd {:.2}x)",
                n >> 20,
                composed / taped,
                composed / compiled
            );
        }
    }
    let mut fns: Vec<exp_ir::ScalarFn> = program.functions.clone();
    fns.extend(program.functions.iter().filter_map(exp_ir::derive::vjp));
    for f in &fns {
        let mut ts: Vec<f64> = (0..5)
            .map(|_| {
                let t = Instant::now();
                exp_jit::Kernel::compile(f).expect("the function compiles");
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        ts.sort_by(|a, b| a.total_cmp(b));
        println!("compile {:<24} {:>3} instructions  {:.2} ms", f.name, f.body.len(), ts[2]);
    }
}
