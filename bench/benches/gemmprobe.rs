//! The matrix product behind the dense and convolution ops (`exp_jit::gemm`, on the gemm
//! crate) at the shapes of the MLP benchmark, on 1 and 2 threads: median of 50, in GFLOPS.
//!
//! Run: `RAYON_NUM_THREADS=2 cargo bench -p exp-bench --bench gemmprobe`.

use exp_jit::gemm::{matmul, View};
use std::time::Instant;
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
fn main() {
    for (m, k, n) in [(128usize, 784usize, 512usize), (128, 512, 512), (512, 128, 784), (64, 784, 128)] {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32).collect();
        let mut c = vec![0f32; m * n];
        for threads in [1, 2] {
            let mut ts = Vec::new();
            for _ in 0..50 {
                let t = Instant::now();
                matmul(&mut c, false, View::row_major(&a, m, k), View::row_major(&b, k, n), threads).unwrap();
                ts.push(t.elapsed().as_secs_f64() * 1e6);
            }
            ts.sort_by(|a, b| a.total_cmp(b));
            println!(
                "{m}x{k}x{n} threads {threads}: {:.0} us ({:.1} GFLOPS)",
                ts[25],
                2.0 * (m * k * n) as f64 / ts[25] / 1e3
            );
        }
    }
}
