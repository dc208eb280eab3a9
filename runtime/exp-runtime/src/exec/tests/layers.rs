//! Linear, attention, norms, embedding, dropout and shape ops against naive `f64` loops and
//! finite differences.

use super::super::layers::{attention, dropout, embed, global_avg_pool, linear, reshape, AttentionParams};
use super::super::norm::{batch_norm, layer_norm, Running};
use super::super::Mode;
use super::*;

/// `x Wᵀ + b` row by row.
pub(super) fn naive_linear(x: &[f64], w: &[f64], b: Option<&[f64]>, input: usize, out: usize) -> Vec<f64> {
    x.chunks(input)
        .flat_map(|row| {
            (0..out).map(move |o| {
                let dot: f64 = row.iter().zip(&w[o * input..(o + 1) * input]).map(|(a, b)| a * b).sum();
                dot + b.map_or(0.0, |b| b[o])
            })
        })
        .collect()
}

#[test]
fn linear_maps_the_last_axis_of_any_rank() {
    let (x, w, b) = (rand(&[2, 3, 4], 1), rand(&[5, 4], 2), rand(&[5], 3));
    let y = linear(&x, &w, Some(&b)).unwrap();
    assert_eq!(y.dims(), [2, 3, 5]);
    assert_close(&vals(&y), &naive_linear(&vals(&x), &vals(&w), Some(&vals(&b)), 4, 5), 1e-12, "linear");
    grad_check("linear", &|t| linear(&t[0], &t[1], Some(&t[2])), &[x.clone(), w.clone(), b]);
    grad_check("linear without bias", &|t| linear(&t[0], &t[1], None), &[x, w]);
}

/// `nn.MultiheadAttention` self-attention, one (batch, head, query) at a time.
fn naive_attention(x: &Tensor, heads: usize, p: [&Tensor; 4]) -> Vec<f64> {
    let (b, t, d) = x.dims3().unwrap();
    let hd = d / heads;
    let qkv = naive_linear(&vals(x), &vals(p[0]), Some(&vals(p[1])), d, 3 * d);
    let at = |bi: usize, ti: usize, part: usize, j: usize| qkv[(bi * t + ti) * 3 * d + part * d + j];
    let mut context = vec![0.0; b * t * d];
    for bi in 0..b {
        for h in 0..heads {
            for qi in 0..t {
                let scores: Vec<f64> = (0..t)
                    .map(|ki| (0..hd).map(|j| at(bi, qi, 0, h * hd + j) * at(bi, ki, 1, h * hd + j)).sum::<f64>())
                    .map(|s| s / (hd as f64).sqrt())
                    .collect();
                let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let total: f64 = scores.iter().map(|s| (s - max).exp()).sum();
                for (ki, s) in scores.iter().enumerate() {
                    let prob = (s - max).exp() / total;
                    for j in 0..hd {
                        context[(bi * t + qi) * d + h * hd + j] += prob * at(bi, ki, 2, h * hd + j);
                    }
                }
            }
        }
    }
    naive_linear(&context, &vals(p[2]), Some(&vals(p[3])), d, d)
}

#[test]
fn attention_is_pytorch_multihead_self_attention() {
    let (b, t, d, heads) = (2, 3, 4, 2);
    let x = rand(&[b, t, d], 1);
    let (in_w, in_b, out_w, out_b) = (rand(&[3 * d, d], 2), rand(&[3 * d], 3), rand(&[d, d], 4), rand(&[d], 5));
    let run = |t: &[Tensor]| {
        let p = AttentionParams { in_w: &t[1], in_b: Some(&t[2]), out_w: &t[3], out_b: Some(&t[4]) };
        attention(&t[0], heads, &p)
    };
    let all = [x.clone(), in_w.clone(), in_b.clone(), out_w.clone(), out_b.clone()];
    let y = run(&all).unwrap();
    assert_eq!(y.dims(), [b, t, d]);
    assert_close(&vals(&y), &naive_attention(&x, heads, [&in_w, &in_b, &out_w, &out_b]), 1e-12, "attention");
    grad_check("attention", &run, &all);
}

#[test]
fn layer_norm_normalizes_the_last_axis() {
    let (x, w, b) = (rand(&[3, 2, 5], 1), rand(&[5], 2), rand(&[5], 3));
    let y = vals(&layer_norm(&x, Some(&w), Some(&b), 1e-5).unwrap());
    let (xs, ws, bs) = (vals(&x), vals(&w), vals(&b));
    let want: Vec<f64> = xs
        .chunks(5)
        .flat_map(|row| {
            let mean = row.iter().sum::<f64>() / 5.0;
            let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 5.0;
            let (ws, bs) = (ws.clone(), bs.clone());
            row.iter()
                .enumerate()
                .map(move |(i, v)| (v - mean) / (var + 1e-5).sqrt() * ws[i] + bs[i])
                .collect::<Vec<_>>()
        })
        .collect();
    assert_close(&y, &want, 1e-12, "layer norm");
    grad_check("layer norm", &|t| layer_norm(&t[0], Some(&t[1]), Some(&t[2]), 1e-5), &[x.clone(), w, b]);
    grad_check("layer norm without affine", &|t| layer_norm(&t[0], None, None, 1e-3), &[x]);
}

/// Per-channel (mean, biased variance) of `[N, C, ...]`.
fn channel_stats(x: &Tensor) -> Vec<(f64, f64)> {
    let (n, c) = (x.dim(0).unwrap(), x.dim(1).unwrap());
    let inner = x.elem_count() / (n * c);
    let xs = vals(x);
    (0..c)
        .map(|ch| {
            let v: Vec<f64> =
                (0..n).flat_map(|i| xs[(i * c + ch) * inner..(i * c + ch + 1) * inner].to_vec()).collect();
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            (mean, v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / v.len() as f64)
        })
        .collect()
}

#[test]
fn batch_norm_uses_batch_statistics_and_updates_running_ones() {
    let (x, w, b) = (rand(&[4, 3, 2, 2], 1), rand(&[3], 2), rand(&[3], 3));
    let (rm, rv) =
        (Var::new(&[0.5f64, 0.0, -1.0], &Device::Cpu).unwrap(), Var::new(&[1.0f64, 2.0, 0.5], &Device::Cpu).unwrap());
    let running = || Running { mean: &rm, var: &rv };
    let y = vals(&batch_norm(&x, Some(&w), Some(&b), running(), 1e-5, 0.1, Mode::Train).unwrap());
    let stats = channel_stats(&x);
    let (xs, ws, bs) = (vals(&x), vals(&w), vals(&b));
    let want: Vec<f64> = (0..xs.len())
        .map(|i| {
            let ch = (i / 4) % 3;
            (xs[i] - stats[ch].0) / (stats[ch].1 + 1e-5).sqrt() * ws[ch] + bs[ch]
        })
        .collect();
    assert_close(&y, &want, 1e-12, "train-mode batch norm");
    // PyTorch: running = 0.9 * running + 0.1 * batch, the variance unbiased over n = 16.
    let want_rm: Vec<f64> = [0.5, 0.0, -1.0].iter().zip(&stats).map(|(r, s)| 0.9 * r + 0.1 * s.0).collect();
    let want_rv: Vec<f64> =
        [1.0, 2.0, 0.5].iter().zip(&stats).map(|(r, s)| 0.9 * r + 0.1 * s.1 * 16.0 / 15.0).collect();
    assert_close(&vals(rm.as_tensor()), &want_rm, 1e-12, "running mean");
    assert_close(&vals(rv.as_tensor()), &want_rv, 1e-12, "running var");
    // Evaluation uses the running statistics and leaves them alone.
    let y = vals(&batch_norm(&x, Some(&w), Some(&b), running(), 1e-5, 0.1, Mode::Eval).unwrap());
    let want: Vec<f64> = (0..xs.len())
        .map(|i| {
            let ch = (i / 4) % 3;
            (xs[i] - want_rm[ch]) / (want_rv[ch] + 1e-5).sqrt() * ws[ch] + bs[ch]
        })
        .collect();
    assert_close(&y, &want, 1e-12, "eval-mode batch norm");
    assert_close(&vals(rm.as_tensor()), &want_rm, 0.0, "eval leaves running mean");
    let train = |t: &[Tensor]| batch_norm(&t[0], Some(&t[1]), Some(&t[2]), running(), 1e-5, 0.1, Mode::Train);
    grad_check("train-mode batch norm", &train, &[x.clone(), w.clone(), b.clone()]);
    let flat = rand(&[5, 3], 4);
    grad_check("batch norm on [N, C]", &|t| batch_norm(&t[0], None, None, running(), 1e-5, 0.1, Mode::Train), &[flat]);
    let eval = |t: &[Tensor]| batch_norm(&t[0], Some(&t[1]), Some(&t[2]), running(), 1e-5, 0.1, Mode::Eval);
    grad_check("eval-mode batch norm", &eval, &[x, w, b]);
    let single = batch_norm(&rand(&[1, 3], 5), None, None, running(), 1e-5, 0.1, Mode::Train).unwrap_err();
    assert!(single.message.contains("more than 1 value per channel"), "{}", single.message);
}

#[test]
fn embedding_looks_up_rows() {
    let table = rand(&[5, 3], 1);
    let rows = vals(&table);
    let ids = Tensor::new(&[[4i64, 0], [2, 2]], &Device::Cpu).unwrap();
    let y = embed(&ids, &table, false).unwrap();
    assert_eq!(y.dims(), [2, 2, 3]);
    let want: Vec<f64> = [4, 0, 2, 2].iter().flat_map(|i| rows[i * 3..i * 3 + 3].to_vec()).collect();
    assert_close(&vals(&y), &want, 0.0, "embed");
    let flat = embed(&ids.to_dtype(DType::U32).unwrap(), &table, true).unwrap();
    assert_eq!(flat.dims(), [2, 6]);
    assert_close(&vals(&flat), &want, 0.0, "embed with concat");
    let t = Var::from_tensor(&table).unwrap();
    let g = embed(&ids, t.as_tensor(), false).unwrap().sum_all().unwrap().backward().unwrap();
    assert_eq!(vals(g.get(&t).unwrap()), [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 2.0, 2.0, 2.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
    let err = embed(&Tensor::new(&[[5i64]], &Device::Cpu).unwrap(), &table, false).unwrap_err();
    assert!(err.message.contains("0..5"), "{}", err.message);
}

#[test]
fn dropout_is_inverted_and_reproducible() {
    let x = Tensor::ones((100, 100), DType::F32, &Device::Cpu).unwrap();
    let a = vals(&dropout(&x, 0.25, &mut Rng::new(1)).unwrap());
    assert_eq!(a, vals(&dropout(&x, 0.25, &mut Rng::new(1)).unwrap()), "the mask comes from the seed");
    assert!(a.iter().all(|v| *v == 0.0 || (*v - 1.0 / 0.75).abs() < 1e-6));
    let dropped = a.iter().filter(|v| **v == 0.0).count() as f64 / a.len() as f64;
    assert!((dropped - 0.25).abs() < 0.015, "dropped {dropped}");
    let mean = a.iter().sum::<f64>() / a.len() as f64;
    assert!((mean - 1.0).abs() < 0.02, "inverted dropout keeps the mean: {mean}");
    assert_eq!(vals(&dropout(&x, 0.0, &mut Rng::new(1)).unwrap()), vec![1.0; 10_000]);
}

#[test]
fn shape_ops() {
    let x = rand(&[2, 3, 4], 1);
    let r = reshape(&x, &[4, -1]).unwrap();
    assert_eq!(r.dims(), [2, 4, 3]);
    assert_eq!(vals(&r), vals(&x));
    assert!(reshape(&x, &[5, -1]).is_err());
    let g = global_avg_pool(&rand(&[2, 3, 2, 2], 2)).unwrap();
    let xs = vals(&rand(&[2, 3, 2, 2], 2));
    let want: Vec<f64> = xs.chunks(4).map(|c| c.iter().sum::<f64>() / 4.0).collect();
    assert_close(&vals(&g), &want, 1e-12, "global average pool");
    grad_check("global average pool", &|t| global_avg_pool(&t[0]), &[rand(&[2, 2, 3], 3)]);
}
