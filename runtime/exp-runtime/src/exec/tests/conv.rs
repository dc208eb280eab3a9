//! Convolutions: forward against a direct `f64` loop and backward against finite
//! differences, on Candle's native path and on the im2col path it falls back to.

use super::super::conv::{conv, conv_on, ConvPath, ConvSpec};
use super::*;

/// Direct 2-d convolution of `[N, C, H, W]` with `[O, C / G, KH, KW]` plus bias, in `f64`.
pub(super) fn naive(x: &Tensor, w: &Tensor, b: &Tensor, spec: &ConvSpec) -> Vec<f64> {
    let (n, c, h, wd) = x.dims4().unwrap();
    let (o, cg, kh, kw) = w.dims4().unwrap();
    let (xs, ws, bs) = (vals(x), vals(w), vals(b));
    let (s, p, d) = (&spec.stride, &spec.padding, &spec.dilation);
    let oh = (h + 2 * p[0] - d[0] * (kh - 1) - 1) / s[0] + 1;
    let ow = (wd + 2 * p[1] - d[1] * (kw - 1) - 1) / s[1] + 1;
    let per_group = o / spec.groups;
    let mut out = Vec::new();
    for img in 0..n {
        for oc in 0..o {
            let g = oc / per_group;
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc = bs[oc];
                    for ic in 0..cg {
                        let ch = g * cg + ic;
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let y = (oy * s[0] + ky * d[0]) as isize - p[0] as isize;
                                let xx = (ox * s[1] + kx * d[1]) as isize - p[1] as isize;
                                if y < 0 || xx < 0 || y >= h as isize || xx >= wd as isize {
                                    continue;
                                }
                                let xv = xs[((img * c + ch) * h + y as usize) * wd + xx as usize];
                                acc += xv * ws[((oc * cg + ic) * kh + ky) * kw + kx];
                            }
                        }
                    }
                    out.push(acc);
                }
            }
        }
    }
    assert_eq!(c, cg * spec.groups);
    out
}

fn spec(stride: [usize; 2], padding: [usize; 2], dilation: [usize; 2], groups: usize) -> ConvSpec {
    ConvSpec { stride: stride.to_vec(), padding: padding.to_vec(), dilation: dilation.to_vec(), groups }
}

#[test]
fn two_d_convolutions_match_the_direct_loop_and_finite_differences() {
    // (input [N, C, H, W], out channels, kernel, spec): symmetric calls take Candle's kernels,
    // the rest (per-axis sizes, or remainders that differ between axes) the im2col path.
    let cases = [
        ([2, 3, 6, 6], 4, [3, 3], spec([1, 1], [1, 1], [1, 1], 1)),
        ([1, 3, 8, 8], 4, [3, 3], spec([2, 2], [1, 1], [1, 1], 1)),
        ([2, 4, 7, 7], 6, [3, 3], spec([2, 2], [1, 1], [2, 2], 2)),
        ([1, 2, 5, 6], 3, [3, 3], spec([2, 2], [0, 0], [1, 1], 1)),
        ([1, 2, 6, 7], 2, [3, 5], spec([1, 1], [1, 2], [1, 1], 1)),
        ([2, 4, 7, 6], 4, [2, 3], spec([2, 1], [1, 0], [1, 2], 4)),
    ];
    for (shape, out, k, spec) in cases {
        let x = rand(&shape, 1);
        let w = rand(&[out, shape[1] / spec.groups, k[0], k[1]], 2);
        let b = rand(&[out], 3);
        for path in [ConvPath::Unfold, ConvPath::Candle] {
            let y = conv_on(path, &x, &w, Some(&b), &spec).unwrap();
            let what = format!("{path:?} conv2d {shape:?} -> {out} k {k:?} {spec:?}");
            assert_close(&vals(&y), &naive(&x, &w, &b, &spec), 1e-12, &what);
            grad_check(&what, &|t| conv_on(path, &t[0], &t[1], Some(&t[2]), &spec), &[x.clone(), w.clone(), b.clone()]);
        }
    }
}

#[test]
fn one_d_convolutions_match_the_direct_loop_and_finite_differences() {
    // (input [N, C, L], out channels, kernel, stride, padding, dilation, groups)
    let cases = [(2, 3, 10, 4, 3, 1, 1, 1, 1), (1, 4, 11, 2, 3, 2, 2, 2, 2), (2, 2, 9, 3, 4, 3, 0, 1, 1)];
    for (n, c, l, o, k, s, p, d, g) in cases {
        let spec1 = ConvSpec { stride: vec![s], padding: vec![p], dilation: vec![d], groups: g };
        let x = rand(&[n, c, l], 4);
        let w = rand(&[o, c / g, k], 5);
        let b = rand(&[o], 6);
        // The same convolution as a 2-d one over a height of 1.
        let spec2 = spec([1, s], [0, p], [1, d], g);
        let want = naive(&x.unsqueeze(2).unwrap(), &w.unsqueeze(2).unwrap(), &b, &spec2);
        for path in [ConvPath::Unfold, ConvPath::Candle] {
            let y = conv_on(path, &x, &w, Some(&b), &spec1).unwrap();
            let what = format!("{path:?} conv1d {:?} -> {o} k {k} {spec1:?}", [n, c, l]);
            assert_eq!(y.dims(), [n, o, (l + 2 * p - d * (k - 1) - 1) / s + 1]);
            assert_close(&vals(&y), &want, 1e-12, &what);
            grad_check(
                &what,
                &|t| conv_on(path, &t[0], &t[1], Some(&t[2]), &spec1),
                &[x.clone(), w.clone(), b.clone()],
            );
        }
    }
}

#[test]
fn convolution_without_bias_and_bad_shapes() {
    let x = rand(&[1, 4, 5, 5], 1);
    let w = rand(&[2, 2, 3, 3], 2);
    let s = spec([1, 1], [0, 0], [1, 1], 2);
    let zero = Tensor::zeros(2, DType::F64, &Device::Cpu).unwrap();
    assert_close(&vals(&conv(&x, &w, None, &s).unwrap()), &naive(&x, &w, &zero, &s), 1e-12, "no bias");
    let err = conv(&x, &w, None, &spec([1, 1], [0, 0], [1, 1], 1)).unwrap_err();
    assert!(err.message.contains("do not match"), "{}", err.message);
    let err = conv(&x, &rand(&[2, 4, 7, 7], 1), None, &spec([1, 1], [0, 0], [1, 1], 1)).unwrap_err();
    assert!(err.message.contains("exceeds"), "{}", err.message);
    // Sizes that would divide by zero are errors, not panics.
    for bad in [spec([1, 1], [0, 0], [1, 1], 0), spec([0, 1], [0, 0], [1, 1], 2), spec([1, 1], [0, 0], [1, 0], 2)] {
        let err = conv(&x, &w, None, &bad).unwrap_err();
        assert!(err.message.contains("must be positive"), "{}", err.message);
    }
}

#[test]
fn a_second_backward_recomputes_the_columns_and_agrees() {
    let x = Var::from_tensor(&rand(&[2, 3, 5, 6], 1)).unwrap();
    let w = Var::from_tensor(&rand(&[4, 3, 3, 3], 2)).unwrap();
    let b = Var::from_tensor(&rand(&[4], 3)).unwrap();
    let y = conv(x.as_tensor(), w.as_tensor(), Some(b.as_tensor()), &spec([1, 2], [1, 0], [1, 1], 1)).unwrap();
    let loss = (y * rand(&[2, 4, 5, 2], 4)).unwrap().sum_all().unwrap();
    // The first backward uses the forward's columns, the second has to unfold again.
    let (first, second) = (loss.backward().unwrap(), loss.backward().unwrap());
    for v in [&x, &w, &b] {
        assert_eq!(vals(first.get(v).unwrap()), vals(second.get(v).unwrap()));
    }
}
