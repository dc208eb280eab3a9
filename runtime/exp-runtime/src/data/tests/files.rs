//! IDX, CIFAR-10 and CSV loaders on files written by the tests, and the bundled digits.

use super::*;
use crate::data::{load, load_cifar10, load_idx};
use flate2::write::GzEncoder;
use std::io::Write;

fn idx_bytes(dims: &[u32], values: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend(d.to_be_bytes());
    }
    out.extend(values);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Writes a 2x3-pixel IDX dataset: `n_train` and `n_test` images, pixel `i` of image `k` = `10k + i`.
fn write_idx(dir: &TempDir, n_train: u32, n_test: u32, gz: bool) {
    for (prefix, n) in [("train", n_train), ("t10k", n_test)] {
        let pixels: Vec<u8> = (0..n).flat_map(|k| (0..6).map(move |i| (10 * k + i) as u8)).collect();
        let labels: Vec<u8> = (0..n).map(|k| (k % 3) as u8).collect();
        let files = [
            (format!("{prefix}-images-idx3-ubyte"), idx_bytes(&[n, 2, 3], &pixels)),
            (format!("{prefix}-labels-idx1-ubyte"), idx_bytes(&[n], &labels)),
        ];
        for (name, bytes) in files {
            if gz {
                dir.write(&format!("{name}.gz"), &gzip(&bytes));
            } else {
                dir.write(&name, &bytes);
            }
        }
    }
}

#[test]
fn idx_reads_plain_and_gzipped_files() {
    for gz in [false, true] {
        let dir = TempDir::new("idx");
        write_idx(&dir, 5, 2, gz);
        let s = load_idx(dir.path(), &[1, 2, 3], 3).unwrap();
        assert_eq!((s.train.n, s.test.n), (5, 2));
        assert_eq!(s.train.sample_shape, vec![1, 2, 3]);
        assert_eq!(&s.train.x[6..12], &[10.0, 11.0, 12.0, 13.0, 14.0, 15.0]);
        assert_eq!(s.train.y, vec![0, 1, 2, 0, 1]);
        assert_eq!(s.test.y, vec![0, 1]);
    }
}

#[test]
fn idx_through_a_plan_with_scale() {
    let dir = TempDir::new("idx-plan");
    write_idx(&dir, 4, 2, false);
    let base = dir.path().join("exp");
    std::fs::create_dir(&base).unwrap();
    let mut p =
        plan("idx", vec![("dir", string("..")), ("shape", shape_value(&[2, 3])), ("classes", int(3))], &[2, 3], 3);
    p.transforms.push(transform("scale", vec![("factor", float(0.5))], 50));
    let s = load(&p, &base, 0).unwrap();
    assert_eq!(s.train.x[7], 5.5);
    p.x_shape = shape(&[6]);
    assert_err(load(&p, &base, 0), &["shape [2, 3]", "[6]"], Some(ORIGIN));
    p.x_shape = shape(&[2, 3]);
    p.target = Target::Classes(2);
    assert_err(load(&p, &base, 0), &["label 2"], Some(ORIGIN));
}

#[test]
fn idx_errors_name_the_file() {
    let dir = TempDir::new("idx-bad");
    write_idx(&dir, 4, 2, false);
    let images = "train-images-idx3-ubyte";
    let good = std::fs::read(dir.path().join(images)).unwrap();
    let check = |bytes: &[u8], parts: &[&str]| {
        dir.write(images, bytes);
        assert_err(load_idx(dir.path(), &[1, 2, 3], 3), parts, None);
    };
    check(&good[..good.len() - 1], &[images, "truncated", "24 bytes", "found 23"]);
    check(&good[..3], &[images, "truncated"]);
    check(&[&[1, 2][..], &good[2..]].concat(), &[images, "magic number", "01 02"]);
    check(&[&good[..2], &[0x0D][..], &good[3..]].concat(), &[images, "type code 0x0d"]);
    check(&[&good[..], &[0][..]].concat(), &[images, "25 bytes of data"]);
    check(&[0x1f, 0x8b, 1, 2, 3], &[images, "not valid gzip"]);
    dir.write(images, &good);
    assert_err(load_idx(dir.path(), &[1, 7], 3), &[images, "6 pixels", "[1, 7]"], None);
    assert_err(load_idx(dir.path(), &[2, 3], 2), &["train-labels-idx1-ubyte", "label 2", "outside 0..2"], None);
    dir.write("train-labels-idx1-ubyte", &idx_bytes(&[3], &[0, 1, 2]));
    assert_err(load_idx(dir.path(), &[2, 3], 3), &["train-labels-idx1-ubyte", "shape [3]", "4 images"], None);
    std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte")).unwrap();
    dir.write("train-labels-idx1-ubyte", &idx_bytes(&[4], &[0, 1, 2, 0]));
    assert_err(load_idx(dir.path(), &[2, 3], 3), &["cannot find the file", "t10k-labels-idx1-ubyte"], None);
    let missing = dir.path().join("nowhere");
    assert_err(load_idx(&missing, &[2, 3], 3), &["cannot find the directory", "nowhere"], None);
    // Through a plan the error also carries the declaration's origin.
    let p =
        plan("idx", vec![("dir", string("nowhere")), ("shape", shape_value(&[2, 3])), ("classes", int(3))], &[2, 3], 3);
    assert_err(load(&p, dir.path(), 0), &["nowhere"], Some(ORIGIN));
}

#[test]
fn bundled_digits_load_like_the_quickstart() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart");
    let mut p = plan(
        "idx",
        vec![("dir", string("../data/digits")), ("shape", shape_value(&[1, 8, 8])), ("classes", int(10))],
        &[1, 8, 8],
        10,
    );
    p.transforms.push(transform("scale", vec![("factor", float(1.0 / 255.0))], 60));
    let s = load(&p, &base, 0).unwrap();
    assert_eq!((s.train.n, s.test.n), (1500, 297));
    assert_eq!(s.train.sample_shape, vec![1, 8, 8]);
    assert_eq!(s.train.x.len(), 1500 * 64);
    for ds in [&s.train, &s.test] {
        let mut seen = [false; 10];
        ds.y.iter().for_each(|&c| seen[c as usize] = true);
        assert!(seen.iter().all(|&b| b), "all ten digits occur");
        assert!(ds.x.iter().all(|&v| (0.0..=1.0).contains(&v)));
        assert!(ds.x.contains(&1.0), "some pixel is at full intensity");
    }
}

fn cifar_records(labels: &[u8]) -> Vec<u8> {
    labels
        .iter()
        .enumerate()
        .flat_map(|(k, &l)| std::iter::once(l).chain((0..3072).map(move |i| ((i + k) % 251) as u8)))
        .collect()
}

#[test]
fn cifar10_reads_consecutive_batches() {
    let dir = TempDir::new("cifar");
    dir.write("data_batch_1.bin", &cifar_records(&[3, 9]));
    dir.write("data_batch_2.bin", &cifar_records(&[0]));
    dir.write("data_batch_4.bin", &cifar_records(&[1])); // not read: batch 3 is missing
    dir.write("test_batch.bin", &cifar_records(&[7, 7, 2]));
    let s = load_cifar10(dir.path()).unwrap();
    assert_eq!((s.train.n, s.test.n), (3, 3));
    assert_eq!(s.train.y, vec![3, 9, 0]);
    assert_eq!(s.train.sample_shape, vec![3, 32, 32]);
    assert_eq!(s.train.x[3072 + 5], 6.0);
    let p = plan("cifar10", vec![("dir", string("."))], &[3, 32, 32], 10);
    assert_eq!(load(&p, dir.path(), 0).unwrap(), s);

    dir.write("test_batch.bin", &cifar_records(&[7])[..3000]);
    assert_err(load_cifar10(dir.path()), &["test_batch.bin", "truncated"], None);
    dir.write("test_batch.bin", &cifar_records(&[12]));
    assert_err(load_cifar10(dir.path()), &["test_batch.bin", "label 12"], None);
    std::fs::remove_file(dir.path().join("data_batch_1.bin")).unwrap();
    assert_err(load_cifar10(dir.path()), &["cannot find the file", "data_batch_1.bin"], None);
}

fn csv_plan(text_args: Vec<(&str, Value)>, shape: &[usize], classes: u64) -> DataPlan {
    let mut args = vec![
        ("path", string("t.csv")),
        ("label", string("kind")),
        ("shape", shape_value(&[shape[0] as i64])),
        ("classes", int(classes as i64)),
    ];
    args.extend(text_args);
    plan("csv", args, shape, classes)
}

#[test]
fn csv_reads_labels_by_name_and_splits() {
    let dir = TempDir::new("csv");
    let rows: String = (0..10).map(|i| format!("{i}.5; {}; \"{}\"\n", i % 3, -i)).collect();
    dir.write("t.csv", format!("\u{feff}a; kind; b\n\n{rows}").as_bytes());
    let p = csv_plan(vec![("delimiter", string(";")), ("train_fraction", float(0.7))], &[2], 3);
    let s = load(&p, dir.path(), 0).unwrap();
    assert_eq!((s.train.n, s.test.n), (7, 3));
    let mut rows: Vec<(f32, f32, u32)> = Vec::new();
    for ds in [&s.train, &s.test] {
        rows.extend((0..ds.n).map(|i| (ds.x[2 * i], ds.x[2 * i + 1], ds.y[i])));
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(rows[4], (4.5, -4.0, 1));
    assert_eq!(load(&p, dir.path(), 0).unwrap(), s);
    let mut other = p.clone();
    let exp_ops::DataSource::Csv { seed, .. } = &mut other.source else { panic!("a csv plan") };
    *seed = 1;
    assert_ne!(load(&other, dir.path(), 0).unwrap().train.x, s.train.x);

    dir.write("h.csv", b"1,0.5,2\n0,1.5,3\n2,2.5,4\n1,3.5,5\n");
    let q = plan(
        "csv",
        vec![
            ("path", string("h.csv")),
            ("label", string("0")),
            ("shape", shape_value(&[2])),
            ("classes", int(3)),
            ("header", Value::Bool(false)),
        ],
        &[2],
        3,
    );
    let s = load(&q, dir.path(), 0).unwrap();
    assert_eq!(s.train.n + s.test.n, 4);
    assert_eq!(s.train.y.iter().chain(&s.test.y).map(|&c| c as usize).sum::<usize>(), 4);
}

#[test]
fn csv_errors_point_at_the_line_and_column() {
    let dir = TempDir::new("csv-bad");
    let p = csv_plan(vec![], &[2], 3);
    let check = |text: &str, parts: &[&str]| {
        dir.write("t.csv", text.as_bytes());
        assert_err(load(&p, dir.path(), 0), parts, Some(ORIGIN));
    };
    check("a,b,c\n1,2,3\n", &["t.csv", "no column `kind`", "`a`, `b`, `c`"]);
    check("a,kind,b\n1,2,3\n4,5\n", &["line 3", "2 fields", "header has 3"]);
    check("a,kind,b\n1,2,x\n", &["line 2", "column `b`", "`x` is not a finite number"]);
    check("a,kind,b\n1,2.5,3\n", &["line 2", "label `2.5`"]);
    check("a,kind,b,c\n1,2,3,4\n", &["t.csv", "3 feature columns", "[2]"]);
    check("a,kind,b\n", &["t.csv", "no data rows"]);
    check("a,kind,b\n1,7,3\n1,0,3\n1,0,3\n", &["t.csv", "label 7", "outside 0..3"]);
    std::fs::remove_file(dir.path().join("t.csv")).unwrap();
    assert_err(load(&p, dir.path(), 0), &["cannot find the file", "t.csv"], Some(ORIGIN));
}
