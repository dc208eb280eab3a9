//! Pooling: forward against a naive loop, the gradient cases Candle gets wrong, and finite
//! differences for every shape of window.

use super::super::pool::{pool, PoolKind};
use super::*;

/// PyTorch's pooling of `[N, C, H, W]` by direct loops (`count_include_pad` for averages).
pub(super) fn naive(x: &Tensor, kind: PoolKind, k: [usize; 2], s: [usize; 2], p: [usize; 2]) -> Vec<f64> {
    let (n, c, h, w) = x.dims4().unwrap();
    let xs = vals(x);
    let oh = (h + 2 * p[0] - k[0]) / s[0] + 1;
    let ow = (w + 2 * p[1] - k[1]) / s[1] + 1;
    let mut out = Vec::new();
    for plane in 0..n * c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut acc = if kind == PoolKind::Max { f64::NEG_INFINITY } else { 0.0 };
                for ky in 0..k[0] {
                    for kx in 0..k[1] {
                        let (y, xx) =
                            ((oy * s[0] + ky) as isize - p[0] as isize, (ox * s[1] + kx) as isize - p[1] as isize);
                        if y < 0 || xx < 0 || y >= h as isize || xx >= w as isize {
                            continue;
                        }
                        let v = xs[plane * h * w + y as usize * w + xx as usize];
                        acc = if kind == PoolKind::Max { acc.max(v) } else { acc + v };
                    }
                }
                out.push(if kind == PoolKind::Max { acc } else { acc / (k[0] * k[1]) as f64 });
            }
        }
    }
    out
}

#[test]
fn max_pool_gradient_goes_to_the_maximum_with_weight_one() {
    // PERF.md pitfall 5: Candle's own max_pool2d backward gives [0, 0, 0, 0.25] here.
    let x = Var::new(&[[[[1f32, 2.0], [3.0, 4.0]]]], &Device::Cpu).unwrap();
    let y = pool(x.as_tensor(), PoolKind::Max, &[2, 2], &[2, 2], &[0, 0]).unwrap();
    assert_eq!(vals(&y), [4.0]);
    let g = y.sum_all().unwrap().backward().unwrap();
    assert_eq!(vals(g.get(&x).unwrap()), [0.0, 0.0, 0.0, 1.0]);
}

#[test]
fn odd_sizes_route_every_window_once() {
    // 11 x 11 -> 5 x 5: the last row and column belong to no window.
    let x = Var::from_tensor(&rand(&[1, 1, 11, 11], 1).to_dtype(DType::F32).unwrap()).unwrap();
    let y = pool(x.as_tensor(), PoolKind::Max, &[2, 2], &[2, 2], &[0, 0]).unwrap();
    assert_eq!(y.dims(), [1, 1, 5, 5]);
    assert_close(&vals(&y), &naive(x.as_tensor(), PoolKind::Max, [2, 2], [2, 2], [0, 0]), 0.0, "forward");
    let g = vals(y.sum_all().unwrap().backward().unwrap().get(&x).unwrap());
    assert_eq!(g.iter().sum::<f64>(), 25.0);
    assert!(g.iter().all(|v| *v == 0.0 || *v == 1.0));
    assert!((0..11).all(|i| g[10 * 11 + i] == 0.0 && g[i * 11 + 10] == 0.0), "row and column 10 are never pooled");
}

#[test]
fn two_d_pools_match_the_naive_loop_and_finite_differences() {
    // (kernel, stride, padding, input H x W)
    let cases = [
        ([2, 2], [2, 2], [0, 0], [6, 6]),
        ([3, 3], [2, 2], [1, 1], [7, 5]),
        ([3, 2], [1, 2], [1, 0], [5, 6]),
        ([2, 3], [3, 1], [0, 1], [7, 4]),
    ];
    for kind in [PoolKind::Max, PoolKind::Avg] {
        for (k, s, p, [h, w]) in cases {
            let x = rand(&[2, 3, h, w], 7);
            let y = pool(&x, kind, &k, &s, &p).unwrap();
            let what = format!("{kind:?} k {k:?} s {s:?} p {p:?} on {h}x{w}");
            assert_close(&vals(&y), &naive(&x, kind, k, s, p), 1e-12, &what);
            grad_check(&what, &|xs| pool(&xs[0], kind, &k, &s, &p), &[x]);
        }
    }
}

#[test]
fn one_d_pools_match_the_naive_loop_and_finite_differences() {
    for kind in [PoolKind::Max, PoolKind::Avg] {
        for (k, s, p, len) in [(2, 2, 0, 16), (4, 2, 0, 16), (3, 2, 1, 9), (3, 1, 1, 5)] {
            let x = rand(&[2, 3, len], 3);
            let y = pool(&x, kind, &[k], &[s], &[p]).unwrap();
            assert_eq!(y.dims(), [2, 3, (len + 2 * p - k) / s + 1]);
            let want = naive(&x.unsqueeze(2).unwrap(), kind, [1, k], [1, s], [0, p]);
            let what = format!("{kind:?}1d k {k} s {s} p {p} on {len}");
            assert_close(&vals(&y), &want, 1e-12, &what);
            grad_check(&what, &|xs| pool(&xs[0], kind, &[k], &[s], &[p]), &[x]);
        }
    }
}

#[test]
fn overlapping_average_windows_share_gradient() {
    // avg_pool1d(kernel 4, stride 2) on 8 values: 3 windows; inner elements sit in two.
    let x = Var::new(&[[[0f32, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]]], &Device::Cpu).unwrap();
    let y = pool(x.as_tensor(), PoolKind::Avg, &[4], &[2], &[0]).unwrap();
    assert_eq!(vals(&y), [1.5, 3.5, 5.5]);
    let g = vals(y.sum_all().unwrap().backward().unwrap().get(&x).unwrap());
    assert_eq!(g, [0.25, 0.25, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25]);
}

#[test]
fn max_pool_ties_and_nans_follow_pytorch() {
    let x = Var::new(&[[[[5f32, 5.0], [1.0, 5.0]]]], &Device::Cpu).unwrap();
    let y = pool(x.as_tensor(), PoolKind::Max, &[2, 2], &[2, 2], &[0, 0]).unwrap();
    let g = vals(y.sum_all().unwrap().backward().unwrap().get(&x).unwrap());
    assert_eq!(g, [1.0, 0.0, 0.0, 0.0], "the first maximum takes the gradient");
    let x = Tensor::new(&[[[1f32, f32::NAN, 3.0, 2.0]]], &Device::Cpu).unwrap();
    let y = vals(&pool(&x, PoolKind::Max, &[2], &[2], &[0]).unwrap());
    assert!(y[0].is_nan() && y[1] == 3.0, "{y:?}");
    // In 2-d, with and without padding (the two argmax paths): the first NaN in row-major
    // order takes the gradient, later larger values and NaNs do not. Both pools have four
    // windows; the two top ones share their first NaN (index 1), the lower left starts with
    // the other NaN (index 3), the lower right holds no NaN (9 at index 4).
    let x = Var::new(&[[[[3f32, f32::NAN, 7.0], [f32::NAN, 9.0, 1.0], [0.0, 2.0, 4.0]]]], &Device::Cpu).unwrap();
    for (k, s, p, want) in [
        (2, 1, 0, [0.0, 2.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]),
        (3, 2, 1, [0.0, 2.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]),
    ] {
        let y = pool(x.as_tensor(), PoolKind::Max, &[k, k], &[s, s], &[p, p]).unwrap();
        let g = vals(y.sum_all().unwrap().backward().unwrap().get(&x).unwrap());
        assert_eq!(g, want, "kernel {k} stride {s} padding {p}");
    }
    let bad = pool(&x.as_tensor().flatten_from(2).unwrap(), PoolKind::Max, &[2], &[2], &[2]).unwrap_err();
    assert!(bad.message.contains("at most half"), "{}", bad.message);
}

#[test]
fn the_vectorized_two_by_two_pool_keeps_ties_and_nans_exact() {
    // 2x2 at stride 2 on 4x7: windows with ties across and within rows, a NaN in a window of
    // the lower row of windows (that row is redone exactly), and an odd trailing column.
    #[rustfmt::skip]
    let x = Var::new(&[[[
        [5f32, 5.0, 1.0, 2.0, 0.0, 9.0, 7.0],
        [5.0, 5.0, 2.0, 2.0, 9.0, 9.0, 8.0],
        [1.0, f32::NAN, 3.0, 3.0, -1.0, -2.0, 0.0],
        [f32::NAN, 0.0, 4.0, 3.0, -3.0, -1.0, 0.0],
    ]]], &Device::Cpu).unwrap();
    let y = pool(x.as_tensor(), PoolKind::Max, &[2, 2], &[2, 2], &[0, 0]).unwrap();
    let got = vals(&y);
    assert_eq!([got[0], got[1], got[2], got[4], got[5]], [5.0, 2.0, 9.0, 4.0, -1.0]);
    assert!(got[3].is_nan(), "{got:?}");
    let g = vals(y.sum_all().unwrap().backward().unwrap().get(&x).unwrap());
    #[rustfmt::skip]
    let want = [
        1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0,
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0,
        0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0,
    ];
    assert_eq!(g, want);
}
