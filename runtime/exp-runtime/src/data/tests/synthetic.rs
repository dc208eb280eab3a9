//! The generators: sizes, labels, balance, determinism, and the plan checks around them.

use super::*;
use crate::data::synthetic::{gaussian_mixture, mod_inverse, modular, teacher_student, two_spirals};
use crate::data::{load, source_seed, Dataset, Splits};

fn pairs(ds: &Dataset) -> Vec<(u32, u32, u32)> {
    let ids = ds.ids.as_ref().expect("modular gives ids");
    (0..ds.n).map(|i| (ids[2 * i], ids[2 * i + 1], ds.y[i])).collect()
}

fn all_pairs(s: &Splits) -> Vec<(u32, u32, u32)> {
    let mut all = pairs(&s.train);
    all.extend(pairs(&s.test));
    all.sort_unstable();
    all
}

#[test]
fn modular_labels_are_correct_for_every_op() {
    let p = 7u32;
    use exp_ops::ModularOp::*;
    for (op, count) in [(Add, 49), (Sub, 49), (Mul, 49), (Div, 42)] {
        let s = modular(p as usize, op, 0.4, 1).unwrap();
        assert_eq!(s.train.n + s.test.n, count, "{op:?}");
        assert_eq!(s.train.n, (0.4f64 * count as f64).round() as usize, "{op:?}");
        assert!(s.train.x.is_empty() && s.train.sample_shape == vec![2]);
        let all = all_pairs(&s);
        let distinct: std::collections::BTreeSet<_> = all.iter().map(|&(a, b, _)| (a, b)).collect();
        assert_eq!(distinct.len(), count, "{op:?}: every pair exactly once");
        for (a, b, c) in all {
            let ok = match op {
                Add => (a + b) % p == c,
                Sub => (c + b) % p == a,
                Mul => a * b % p == c,
                Div => b != 0 && c * b % p == a,
            };
            assert!(ok && a < p && b < p && c < p, "{a} {op:?} {b} mod {p} labelled {c}");
        }
    }
}

#[test]
fn modular_division_keeps_only_invertible_divisors() {
    // mod 8 only the odd numbers have inverses.
    let s = modular(8, exp_ops::ModularOp::Div, 0.5, 0).unwrap();
    let all = all_pairs(&s);
    assert_eq!(all.len(), 8 * 4);
    assert!(all.iter().all(|&(a, b, c)| b % 2 == 1 && c * b % 8 == a));
    assert_eq!(mod_inverse(3, 7), Some(5));
    assert_eq!(mod_inverse(4, 8), None);
    assert_eq!(mod_inverse(0, 7), None);
}

#[test]
fn modular_split_depends_on_the_seed_only() {
    let a = modular(11, exp_ops::ModularOp::Add, 0.5, 3).unwrap();
    assert_eq!(a, modular(11, exp_ops::ModularOp::Add, 0.5, 3).unwrap());
    let b = modular(11, exp_ops::ModularOp::Add, 0.5, 4).unwrap();
    assert_ne!(a.train.ids, b.train.ids);
    assert_eq!(all_pairs(&a), all_pairs(&b));
    assert!(modular(11, exp_ops::ModularOp::Add, 1.0, 0).unwrap_err().message.contains("train_fraction"));
}

fn class_counts(s: &Splits, classes: usize) -> Vec<usize> {
    let mut counts = vec![0; classes];
    for &c in s.train.y.iter().chain(&s.test.y) {
        counts[c as usize] += 1;
    }
    counts
}

#[test]
fn gaussian_mixture_is_balanced_deterministic_and_unit_variance() {
    let s = gaussian_mixture(3, 4, 4000, 5.0, 0.75, 9).unwrap();
    assert_eq!((s.train.n, s.test.n), (3000, 1000));
    assert_eq!(s.train.sample_shape, vec![3]);
    assert_eq!(s.train.x.len(), 3000 * 3);
    // Uniform classes: 1000 expected each, standard deviation ~27.
    assert!(class_counts(&s, 4).iter().all(|&c| (880..1120).contains(&c)), "{:?}", class_counts(&s, 4));
    assert_eq!(s, gaussian_mixture(3, 4, 4000, 5.0, 0.75, 9).unwrap());
    assert_ne!(s.train.x, gaussian_mixture(3, 4, 4000, 5.0, 0.75, 10).unwrap().train.x);
    // Within a class the noise is N(0, I): per-class, per-coordinate variance near 1.
    for c in 0..4u32 {
        let rows: Vec<&[f32]> =
            (0..s.train.n).filter(|&i| s.train.y[i] == c).map(|i| &s.train.x[3 * i..3 * i + 3]).collect();
        for d in 0..3 {
            let m = rows.iter().map(|r| f64::from(r[d])).sum::<f64>() / rows.len() as f64;
            let v = rows.iter().map(|r| (f64::from(r[d]) - m).powi(2)).sum::<f64>() / rows.len() as f64;
            assert!((v - 1.0).abs() < 0.2, "class {c} dim {d} variance {v}");
        }
    }
}

#[test]
fn teacher_student_is_deterministic_and_noise_changes_only_labels() {
    let s = teacher_student(10, 32, 5, 3000, 0.0, 0.8, 2).unwrap();
    assert_eq!((s.train.n, s.test.n), (2400, 600));
    assert_eq!(s.train.x.len(), 2400 * 10);
    assert!(s.train.y.iter().chain(&s.test.y).all(|&c| c < 5));
    let counts = class_counts(&s, 5);
    assert!(counts.iter().filter(|&&c| c > 0).count() >= 2, "a teacher uses several classes: {counts:?}");
    assert_eq!(s, teacher_student(10, 32, 5, 3000, 0.0, 0.8, 2).unwrap());
    assert_ne!(s.train.x, teacher_student(10, 32, 5, 3000, 0.0, 0.8, 3).unwrap().train.x);
    let noisy = teacher_student(10, 32, 5, 3000, 1.0, 0.8, 2).unwrap();
    assert_eq!(s.train.x, noisy.train.x, "the inputs do not depend on the noise level");
    let flipped = s.train.y.iter().zip(&noisy.train.y).filter(|(a, b)| a != b).count();
    assert!(flipped > 0 && flipped < s.train.n, "logit noise flips some labels: {flipped}");
    // Inputs are N(0, 1).
    let m = s.train.x.iter().map(|&v| f64::from(v)).sum::<f64>() / s.train.x.len() as f64;
    let v = s.train.x.iter().map(|&v| (f64::from(v) - m).powi(2)).sum::<f64>() / s.train.x.len() as f64;
    assert!(m.abs() < 0.05 && (v - 1.0).abs() < 0.05, "mean {m} variance {v}");
}

#[test]
fn two_spirals_lie_on_their_arms() {
    let turns = 1.5;
    let s = two_spirals(1001, 0.0, turns, 0.8, 5).unwrap();
    assert_eq!(class_counts(&s, 2), vec![501, 500]);
    assert_eq!(s.train.n, 801);
    for ds in [&s.train, &s.test] {
        for i in 0..ds.n {
            let (x, y) = (f64::from(ds.x[2 * i]), f64::from(ds.x[2 * i + 1]));
            let r = x.hypot(y);
            assert!(r <= 1.0 + 1e-6);
            // theta = 2 pi turns r + pi c (mod 2 pi).
            let want = std::f64::consts::TAU * turns * r + std::f64::consts::PI * f64::from(ds.y[i]);
            let diff = (y.atan2(x) - want).rem_euclid(std::f64::consts::TAU);
            assert!(diff.min(std::f64::consts::TAU - diff) < 1e-4 / r.max(1e-3), "point {i}: off by {diff}");
        }
    }
    assert_eq!(s, two_spirals(1001, 0.0, turns, 0.8, 5).unwrap());
    assert_ne!(s.train.x, two_spirals(1001, 0.0, turns, 0.8, 6).unwrap().train.x);
    assert_ne!(s.train.x, two_spirals(1001, 0.1, turns, 0.8, 5).unwrap().train.x);
}

#[test]
fn load_combines_data_seed_and_source_seed() {
    let p = |seed| plan("two_spirals", vec![("n", int(100)), ("seed", int(seed))], &[2], 2);
    let base = Path::new(".");
    let a = load(&p(0), base, 1).unwrap();
    assert_eq!(a, two_spirals(100, 0.0, 1.0, 0.8, source_seed(1, 0)).unwrap());
    assert_eq!(a, load(&p(0), base, 1).unwrap());
    assert_ne!(a, load(&p(1), base, 1).unwrap());
    assert_ne!(a, load(&p(0), base, 2).unwrap());
}

#[test]
fn load_checks_generators_against_the_plan() {
    let base = Path::new(".");
    let mut grok = plan("modular", vec![("p", int(7)), ("op", string("add")), ("train_fraction", float(0.5))], &[2], 7);
    grok.x_dtype = DType::I64;
    let s = load(&grok, base, 0).unwrap();
    assert_eq!(s.train.n + s.test.n, 49);

    let mut few = grok.clone();
    few.target = Target::Classes(5);
    assert_err(load(&few, base, 0), &["`modular`", "outside 0..5"], Some(ORIGIN));
    let mut wide = grok.clone();
    wide.x_shape = shape(&[3]);
    assert_err(load(&wide, base, 0), &["shape [2]", "[3]"], Some(ORIGIN));
    let mut floats = grok.clone();
    floats.x_dtype = DType::F32;
    assert_err(load(&floats, base, 0), &["integer tokens"], Some(ORIGIN));
    let mut scaled = grok.clone();
    scaled.transforms.push(transform("scale", vec![("factor", float(2.0))], 40));
    assert_err(load(&scaled, base, 0), &["needs float inputs"], Some(Origin { file: 0, start: 40, end: 45 }));
    // A plan built without the registry's checks (a program from JSON that skipped the
    // verifier) is still refused, not indexed blindly.
    let mut bad_p = grok;
    let exp_ops::DataSource::Modular { p, .. } = &mut bad_p.source else { panic!("a modular plan") };
    *p = 1;
    assert_err(load(&bad_p, base, 0), &["`modular`", "2 <= p"], Some(ORIGIN));

    let blobs = plan("gaussian_mixture", vec![("dim", int(2)), ("classes", int(3)), ("n", int(50))], &[2], 3);
    let mut reg = blobs;
    reg.target = Target::Regression(shape(&[1]));
    assert_err(load(&reg, base, 0), &["class labels", "regression"], Some(ORIGIN));
}

#[test]
fn transforms_apply_in_order() {
    let mut p = plan("gaussian_mixture", vec![("dim", int(2)), ("classes", int(2)), ("n", int(20))], &[2], 2);
    let raw = load(&p, Path::new("."), 0).unwrap();
    p.transforms.push(transform("scale", vec![("factor", float(2.0))], 30));
    p.transforms.push(transform("normalize", vec![("mean", float(1.0)), ("std", float(4.0))], 40));
    let t = load(&p, Path::new("."), 0).unwrap();
    for (a, b) in raw.train.x.iter().chain(&raw.test.x).zip(t.train.x.iter().chain(&t.test.x)) {
        assert!(((a * 2.0 - 1.0) / 4.0 - b).abs() < 1e-6);
    }
}
