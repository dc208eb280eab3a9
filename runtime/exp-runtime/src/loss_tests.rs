//! Losses against values computed by hand from their definitions, their gradients against
//! finite differences, and the errors for wrong targets.

use super::*;
use candle_core::{Device, Var};
use exp_ir::Origin;

/// The loss of kind `k`; `smoothing` sets cross-entropy's label smoothing.
fn kind(k: Kind, smoothing: Option<f64>) -> Loss {
    let op = match (k, smoothing) {
        (Kind::CrossEntropy { .. }, Some(s)) => Kind::CrossEntropy { label_smoothing: s },
        (k, _) => k,
    };
    Loss { op, origin: Some(Origin { file: 0, start: 3, end: 9 }) }
}

const CE: Kind = Kind::CrossEntropy { label_smoothing: 0.0 };

fn t2(rows: &[&[f64]]) -> Tensor {
    Tensor::new(rows.iter().map(|r| r.to_vec()).collect::<Vec<_>>(), &Device::Cpu).unwrap()
}

fn ids(v: &[u32]) -> Tensor {
    Tensor::new(v, &Device::Cpu).unwrap()
}

fn value(k: &Loss, logits: &Tensor, target: &Tensor) -> f64 {
    let l = loss(k, logits, target).unwrap();
    assert_eq!(l.rank(), 0);
    l.to_dtype(DType::F64).unwrap().to_scalar().unwrap()
}

fn near(got: f64, want: f64) {
    assert!((got - want).abs() < 1e-10 * (1.0 + want.abs()), "got {got}, want {want}");
}

/// Autograd against central differences for the gradient with respect to the logits.
fn check_grad(k: &Loss, logits: &Tensor, target: &Tensor) {
    let var = Var::from_tensor(logits).unwrap();
    let g = loss(k, var.as_tensor(), target).unwrap().backward().unwrap();
    let got: Vec<f64> = g.get(&var).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    let base: Vec<f64> = logits.flatten_all().unwrap().to_vec1().unwrap();
    for j in 0..base.len() {
        let at = |d: f64| {
            let mut v = base.clone();
            v[j] += d;
            value(k, &Tensor::from_vec(v, logits.shape(), &Device::Cpu).unwrap(), target)
        };
        let fd = (at(1e-6) - at(-1e-6)) / 2e-6;
        assert!((got[j] - fd).abs() < 1e-6, "{:?}: d/dz[{j}] autograd {}, finite differences {fd}", k.op, got[j]);
    }
}

#[test]
fn cross_entropy_with_and_without_label_smoothing() {
    let z = t2(&[&[1.0, 2.0, 3.0], &[1.0, 1.0, 1.0]]);
    let y = ids(&[2, 0]);
    // Row 0: logsumexp = 3 + ln(1 + e^-1 + e^-2); row 1: every class has log-probability -ln 3.
    let lse0 = 3.0 + (1.0 + (-1f64).exp() + (-2f64).exp()).ln();
    let nll = ((lse0 - 3.0) + 3f64.ln()) / 2.0;
    near(value(&kind(CE, None), &z, &y), nll);
    near(value(&kind(CE, Some(0.0)), &z, &y), nll);
    // With smoothing s the target is (1 - s) onehot + s / C, so the loss is
    // (1 - s) nll + s * mean over classes of -log p.
    let uniform = ((lse0 - 2.0) + 3f64.ln()) / 2.0;
    near(value(&kind(CE, Some(0.1)), &z, &y), 0.9 * nll + 0.1 * uniform);
    check_grad(&kind(CE, Some(0.1)), &z, &y);
    // I64 ids work too; a large logit does not overflow.
    let big = t2(&[&[1000.0, 0.0]]);
    near(value(&kind(CE, None), &big, &Tensor::new(&[1i64], &Device::Cpu).unwrap()), 1000.0);
}

#[test]
fn mse_on_one_hot_ids_and_on_values() {
    let z = t2(&[&[0.5, -1.0], &[2.0, 0.0]]);
    // One-hot [[0, 1], [1, 0]]: squared differences 0.25, 4, 1, 0.
    near(value(&kind(Kind::Mse {}, None), &z, &ids(&[1, 0])), 5.25 / 4.0);
    let target = Tensor::new(&[[1f32], [3.0]], &Device::Cpu).unwrap();
    let out = t2(&[&[0.0], &[1.0]]);
    near(value(&kind(Kind::Mse {}, None), &out, &target), (1.0 + 4.0) / 2.0);
    near(value(&kind(Kind::Mse {}, None), &out, &target.flatten_all().unwrap()), 2.5);
    check_grad(&kind(Kind::Mse {}, None), &z, &ids(&[1, 0]));
    let err = loss(&kind(Kind::Mse {}, None), &z, &Tensor::new(&[1f32, 2.0, 3.0], &Device::Cpu).unwrap()).unwrap_err();
    assert!(err.message.contains("do not match"), "{}", err.message);
}

#[test]
fn bce_with_logits_is_stable_and_exact() {
    let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
    let z = t2(&[&[0.0], &[2.0], &[-3.0]]);
    let y = Tensor::new(&[[1f64], [0.0], [0.5]], &Device::Cpu).unwrap();
    let want = [(0.0, 1.0), (2.0, 0.0), (-3.0, 0.5)]
        .iter()
        .map(|(z, y)| -(y * sigmoid(*z).ln() + (1.0 - y) * (1.0 - sigmoid(*z)).ln()))
        .sum::<f64>()
        / 3.0;
    near(value(&kind(Kind::Bce {}, None), &z, &y), want);
    check_grad(&kind(Kind::Bce {}, None), &z, &y);
    // At z = 0 exactly the gradient is (sigmoid(0) - y) / n.
    let var = Var::new(&[[0f64]], &Device::Cpu).unwrap();
    let g = loss(&kind(Kind::Bce {}, None), var.as_tensor(), &Tensor::new(&[[1f64]], &Device::Cpu).unwrap()).unwrap();
    let g = g.backward().unwrap().get(&var).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap();
    assert_eq!(g, [-0.5]);
    // Saturated logits stay finite: both cost 100.
    let far = t2(&[&[100.0], &[-100.0]]);
    near(value(&kind(Kind::Bce {}, None), &far, &Tensor::new(&[[0f64], [1.0]], &Device::Cpu).unwrap()), 100.0);
    // Class ids become one-hot rows (multi-label style).
    let two = t2(&[&[0.0, 0.0]]);
    near(value(&kind(Kind::Bce {}, None), &two, &ids(&[1])), 2f64.ln());
}

#[test]
fn kl_against_distributions_and_ids() {
    let z = t2(&[&[0.0, 1.0, 2.0], &[1.0, 1.0, -1.0]]);
    let q = t2(&[&[0.5, 0.5, 0.0], &[0.2, 0.3, 0.5]]);
    let logp = |row: [f64; 3]| {
        let lse = row.iter().map(|v| v.exp()).sum::<f64>().ln();
        row.map(|v| v - lse)
    };
    let (p0, p1) = (logp([0.0, 1.0, 2.0]), logp([1.0, 1.0, -1.0]));
    let row0 = 0.5 * (0.5f64.ln() - p0[0]) + 0.5 * (0.5f64.ln() - p0[1]);
    let row1 = [0.2f64, 0.3, 0.5].iter().zip(p1).map(|(q, lp)| q * (q.ln() - lp)).sum::<f64>();
    near(value(&kind(Kind::Kl {}, None), &z, &q), (row0 + row1) / 2.0);
    check_grad(&kind(Kind::Kl {}, None), &z, &q);
    // With one-hot targets KL equals cross-entropy.
    let y = ids(&[2, 1]);
    near(value(&kind(Kind::Kl {}, None), &z, &y), value(&kind(CE, None), &z, &y));
}

#[test]
fn wrong_targets_are_reported_at_the_loss() {
    let z = t2(&[&[0.0, 1.0]]);
    let err = loss(&kind(CE, None), &z, &t2(&[&[1.0]])).unwrap_err();
    assert!(err.message.starts_with("loss `cross_entropy`") && err.message.contains("class ids"), "{}", err.message);
    assert_eq!(err.origin, Some(Origin { file: 0, start: 3, end: 9 }));
    assert!(err.help.is_some());
    let err = loss(&kind(CE, None), &z, &ids(&[2])).unwrap_err();
    assert!(err.message.contains("0..2"), "{}", err.message);
    let err = loss(&kind(CE, None), &z, &ids(&[0, 1])).unwrap_err();
    assert!(err.message.contains("1 rows of logits but 2 class ids"), "{}", err.message);
}

/// The fused cross-entropy op and the composed one agree in value and gradient, in f32 and
/// f64, with and without label smoothing, ids as u32 and i64.
#[test]
fn fused_cross_entropy_matches_the_composed_ops() {
    let mut rng = crate::rng::Rng::new(3);
    let (rows, classes) = (7, 5);
    let z: Vec<f64> = (0..rows * classes).map(|_| rng.uniform_in(-6.0, 6.0)).collect();
    let ids: Vec<u32> = (0..rows).map(|i| (i * 3 % classes) as u32).collect();
    for dtype in [DType::F32, DType::F64] {
        for eps in [0.0, 0.1] {
            for target in [Tensor::new(ids.as_slice(), &Device::Cpu).unwrap(), ids64(&ids)] {
                let run = |fused: bool| {
                    let var = Var::from_vec(z.clone(), (rows, classes), &Device::Cpu).unwrap();
                    let x = var.as_tensor().to_dtype(dtype).unwrap();
                    let l = match fused {
                        true => loss(&kind(CE, Some(eps)), &x, &target).unwrap(),
                        false => cross_entropy_composed(&x, &target, eps, rows, classes).unwrap(),
                    };
                    let g = l.backward().unwrap().get(&var).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap();
                    (l.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap(), g)
                };
                let ((a, ga), (b, gb)) = (run(true), run(false));
                let tol = if dtype == DType::F32 { 1e-5 } else { 1e-12 };
                assert!((a - b).abs() <= tol * b.abs().max(1.0), "{dtype:?} eps {eps}: {a} vs {b}");
                for (x, y) in ga.iter().zip(&gb) {
                    assert!((x - y).abs() <= tol, "{dtype:?} eps {eps}: gradient {x} vs {y}");
                }
            }
        }
    }
}

fn ids64(v: &[u32]) -> Tensor {
    Tensor::new(v.iter().map(|&i| i64::from(i)).collect::<Vec<_>>(), &Device::Cpu).unwrap()
}
