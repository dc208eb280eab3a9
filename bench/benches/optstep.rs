//! Optimizer step on one 1M-element parameter: the update rule as one compiled kernel writing
//! the parameter and its state in place (what `expc run` does), and the same kernel writing
//! fresh buffers, against the composed Candle ops (the reference path).
//!
//! Run: `cargo bench -p exp-bench --bench optstep` (release). Prints medians of 21 steps.

use std::time::Instant;

use candle_core::{Device, Tensor, Var};
use exp_runtime::optim::{hyper_values, OptimizerState, Progress};
use exp_runtime::rng::Rng;

// The same allocator as `expc`, so allocation costs are those of a real run.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn program(optimizer: &str) -> exp_ir::Program {
    let text = format!(
        "use std.data.gaussian_mixture\ndata d = gaussian_mixture(dim: 4, classes: 3, n: 60)\n\
         experiment item {{\n    data = d\n    model = linear(3)\n    loss = cross_entropy\n    optimizer = {optimizer}\n    batch = 8\n    train = 100 steps\n}}\n"
    );
    exp_driver::compile_source("item.exp", &text, "item").expect("the benchmark program compiles")
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn main() {
    // The allocator and thread settings `expc` runs with.
    exp_driver::process_settings();
    let n = 1 << 20;
    let mut rng = Rng::new(1);
    let p0: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
    let g: Vec<f32> = (0..n).map(|_| rng.normal() as f32 * 0.01).collect();
    let g = Tensor::from_vec(g, n, &Device::Cpu).unwrap();
    for optimizer in
        ["adam(lr: 1e-3)", "adamw(lr: 1e-3)", "adan(lr: 1e-3, weight_decay: 0.02)", "sgd(lr: 0.01, momentum: 0.9)"]
    {
        let program = program(optimizer);
        let mut ms = [0.0; 3];
        for (slot, jit) in [(0, false), (1, true)] {
            let mut state = OptimizerState::new(jit);
            let mut p = Tensor::from_vec(p0.clone(), n, &Device::Cpu).unwrap();
            let mut noise = Rng::new(2);
            let mut times = Vec::new();
            for k in 0..23u64 {
                let hypers = hyper_values(&program, Progress { step: k, epoch: 0, total_steps: 100 }).unwrap();
                let t = Instant::now();
                p = state.update(&program, "w", &p, &g, k + 1, &hypers, &mut noise).unwrap();
                if k >= 2 {
                    times.push(t.elapsed().as_secs_f64() * 1e3);
                }
            }
            ms[slot] = median(times);
        }
        let mut state = OptimizerState::new(true);
        let p = Var::from_tensor(&Tensor::from_vec(p0.clone(), n, &Device::Cpu).unwrap()).unwrap();
        let mut noise = Rng::new(2);
        let mut times = Vec::new();
        for k in 0..23u64 {
            let hypers = hyper_values(&program, Progress { step: k, epoch: 0, total_steps: 100 }).unwrap();
            let t = Instant::now();
            state.step(&program, "w", &p, &g, k + 1, &hypers, &mut noise).unwrap();
            if k >= 2 {
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        ms[2] = median(times);
        println!(
            "{optimizer:<36} composed {:>6.2} ms  compiled {:>6.2} ms  in place {:>6.2} ms  speed-up {:.2}x / {:.2}x",
            ms[0],
            ms[1],
            ms[2],
            ms[0] / ms[1],
            ms[0] / ms[2]
        );
    }
}
