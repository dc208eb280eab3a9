//! NumPy `.npy` / `.npz` and safetensors loaders on files written by the tests.

use super::*;
use crate::data::{load, load_safetensors, read_npy, read_npz, Array};
use flate2::write::DeflateEncoder;
use std::io::Write;

fn npy(descr: &str, shape: &[usize], data: &[u8], fortran: bool) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = if shape.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let order = if fortran { "True" } else { "False" };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn i64s(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn npy_reads_every_supported_dtype() {
    let dir = TempDir::new("npy-types");
    let want = [0.0f32, 1.0, 2.0, 3.0, 100.0, 7.0];
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("<f4", f32s(&want)),
        ("<f8", want.iter().flat_map(|&x| f64::from(x).to_le_bytes()).collect()),
        ("|u1", want.iter().map(|&x| x as u8).collect()),
        ("|i1", want.iter().map(|&x| x as i8 as u8).collect()),
        ("<i2", want.iter().flat_map(|&x| (x as i16).to_le_bytes()).collect()),
        ("<i4", want.iter().flat_map(|&x| (x as i32).to_le_bytes()).collect()),
        ("<i8", i64s(&want.map(|x| x as i64))),
        ("<u4", want.iter().flat_map(|&x| (x as u32).to_le_bytes()).collect()),
    ];
    for (descr, data) in cases {
        let path = dir.write("a.npy", &npy(descr, &[2, 3], &data, false));
        assert_eq!(read_npy(&path).unwrap(), Array { shape: vec![2, 3], data: want.to_vec() }, "{descr}");
    }
    let path = dir.write("b.npy", &npy("|b1", &[3], &[1, 0, 1], false));
    assert_eq!(read_npy(&path).unwrap().data, vec![1.0, 0.0, 1.0]);
    let path = dir.write("c.npy", &npy("<i8", &[], &i64s(&[-3]), false));
    assert_eq!(read_npy(&path).unwrap(), Array { shape: vec![], data: vec![-3.0] });
}

/// Six samples: row `k` of `x` is all `k`, label `k % 3`.
fn write_xy(dir: &TempDir, x_shape: &[usize]) {
    let per: usize = x_shape[1..].iter().product();
    let x: Vec<f32> = (0..6).flat_map(|k| std::iter::repeat_n(k as f32, per)).collect();
    dir.write("x.npy", &npy("<f4", x_shape, &f32s(&x), false));
    dir.write("y.npy", &npy("<i8", &[6], &i64s(&[0, 1, 2, 0, 1, 2]), false));
}

fn npy_plan(x: &str, y: &str) -> DataPlan {
    let args = vec![
        ("x", string(x)),
        ("y", string(y)),
        ("shape", shape_value(&[2, 2])),
        ("classes", int(3)),
        ("train_fraction", float(0.5)),
    ];
    plan("npy", args, &[2, 2], 3)
}

#[test]
fn npy_source_keeps_rows_and_labels_together() {
    for x_shape in [[6, 2, 2].as_slice(), &[6, 4]] {
        let dir = TempDir::new("npy-plan");
        write_xy(&dir, x_shape);
        let s = load(&npy_plan("x.npy", "y.npy"), dir.path(), 0).unwrap();
        assert_eq!((s.train.n, s.test.n), (3, 3));
        assert_eq!(s.train.sample_shape, vec![2, 2]);
        let mut rows = Vec::new();
        for ds in [&s.train, &s.test] {
            for i in 0..ds.n {
                let row = &ds.x[4 * i..4 * i + 4];
                assert!(row.iter().all(|&v| v == row[0]));
                assert_eq!(row[0] as u32 % 3, ds.y[i]);
                rows.push(row[0] as u32);
            }
        }
        rows.sort_unstable();
        assert_eq!(rows, vec![0, 1, 2, 3, 4, 5]);
    }
}

#[test]
fn npy_regression_targets() {
    let dir = TempDir::new("npy-reg");
    write_xy(&dir, &[6, 2, 2]);
    dir.write(
        "t.npy",
        &npy("<f8", &[6, 1], &(0..6).flat_map(|k| (k as f64 * 0.5).to_le_bytes()).collect::<Vec<_>>(), false),
    );
    let mut p = npy_plan("x.npy", "t.npy");
    p.target = Target::Regression(shape(&[1]));
    let s = load(&p, dir.path(), 0).unwrap();
    assert_eq!(s.train.target_shape, Some(vec![1]));
    assert!(s.train.y.is_empty());
    for i in 0..s.train.n {
        assert_eq!(s.train.targets[i], s.train.x[4 * i] * 0.5);
    }
}

#[test]
fn npy_errors_name_the_file() {
    let dir = TempDir::new("npy-bad");
    write_xy(&dir, &[6, 2, 2]);
    let p = npy_plan("x.npy", "y.npy");
    let good = std::fs::read(dir.path().join("x.npy")).unwrap();
    let check = |bytes: &[u8], parts: &[&str]| {
        dir.write("x.npy", bytes);
        assert_err(load(&p, dir.path(), 0), parts, Some(ORIGIN));
    };
    check(&good[..good.len() - 4], &["x.npy", "truncated", "needs 96 bytes", "found 92"]);
    check(&good[..20], &["x.npy", "truncated header"]);
    check(b"PK\x03\x04 not numpy", &["x.npy", "wrong magic number"]);
    check(&npy(">f4", &[6, 2, 2], &[0; 96], false), &["x.npy", "big-endian"]);
    check(&npy("<f4", &[6, 2, 2], &[0; 96], true), &["x.npy", "Fortran order", "ascontiguousarray"]);
    check(&npy("<c8", &[6, 2, 2], &[0; 192], false), &["x.npy", "`<c8`", "not supported"]);
    check(&npy("<f4", &[6, 3], &[0; 72], false), &["x.npy", "inputs of shape [3]", "[2, 2]"]);
    check(&npy("<f4", &[5, 2, 2], &[0; 80], false), &["x.npy", "5 samples", "y.npy"]);
    dir.write("x.npy", &good);
    dir.write("y.npy", &npy("<f4", &[6], &f32s(&[0.0, 1.0, 0.5, 0.0, 1.0, 2.0]), false));
    assert_err(load(&p, dir.path(), 0), &["label 0.5", "y.npy"], Some(ORIGIN));
    dir.write("y.npy", &npy("<i8", &[6], &i64s(&[0, 1, 2, 0, 1, 5]), false));
    assert_err(load(&p, dir.path(), 0), &["x.npy", "y.npy", "label 5", "outside 0..3", "classes: 6"], Some(ORIGIN));
    std::fs::remove_file(dir.path().join("y.npy")).unwrap();
    assert_err(load(&p, dir.path(), 0), &["cannot find the file", "y.npy"], Some(ORIGIN));
}

/// A zip archive; members are `(name, bytes, deflate, zip64 sizes)`.
fn zip(members: &[(&str, &[u8], bool, bool)]) -> Vec<u8> {
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for &(name, data, deflate, zip64) in members {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let body = if deflate {
            let mut e = DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        } else {
            data.to_vec()
        };
        let sizes: [u32; 2] = if zip64 { [u32::MAX; 2] } else { [body.len() as u32, data.len() as u32] };
        let mut extra = Vec::new();
        if zip64 {
            extra.extend(1u16.to_le_bytes());
            extra.extend(16u16.to_le_bytes());
            extra.extend((data.len() as u64).to_le_bytes());
            extra.extend((body.len() as u64).to_le_bytes());
        }
        let method: u16 = if deflate { 8 } else { 0 };
        let offset = out.len() as u32;
        out.extend(0x0403_4b50u32.to_le_bytes());
        out.extend([20, 0, 0, 0]);
        out.extend(method.to_le_bytes());
        out.extend([0; 4]);
        out.extend(crc.sum().to_le_bytes());
        sizes.iter().for_each(|s| out.extend(s.to_le_bytes()));
        out.extend((name.len() as u16).to_le_bytes());
        out.extend((extra.len() as u16).to_le_bytes());
        out.extend(name.as_bytes());
        out.extend(&extra);
        out.extend(&body);
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend([20, 0, 20, 0, 0, 0]);
        central.extend(method.to_le_bytes());
        central.extend([0; 4]);
        central.extend(crc.sum().to_le_bytes());
        sizes.iter().for_each(|s| central.extend(s.to_le_bytes()));
        central.extend((name.len() as u16).to_le_bytes());
        central.extend((extra.len() as u16).to_le_bytes());
        central.extend([0; 6]);
        central.extend(0u32.to_le_bytes());
        central.extend(offset.to_le_bytes());
        central.extend(name.as_bytes());
        central.extend(&extra);
    }
    let (count, at) = (members.len() as u16, out.len() as u32);
    out.extend(&central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0; 4]);
    out.extend(count.to_le_bytes());
    out.extend(count.to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(at.to_le_bytes());
    out.extend([0; 2]);
    out
}

#[test]
fn npz_members_stored_deflated_and_zip64() {
    let dir = TempDir::new("npz");
    let x: Vec<f32> = (0..24).map(|k| (k / 4) as f32).collect();
    let xb = npy("<f4", &[6, 2, 2], &f32s(&x), false);
    let yb = npy("<i8", &[6], &i64s(&[0, 1, 2, 0, 1, 2]), false);
    let archive = zip(&[("x.npy", &xb, false, false), ("y.npy", &yb, true, true), ("labels.npy", &yb, true, false)]);
    let path = dir.write("d.npz", &archive);
    assert_eq!(read_npz(&path, "x").unwrap().data, x);
    assert_eq!(read_npz(&path, "y.npy").unwrap().data, vec![0.0, 1.0, 2.0, 0.0, 1.0, 2.0]);
    let a = load(&npy_plan("d.npz", "d.npz"), dir.path(), 0).unwrap();
    let b = load(&npy_plan("d.npz:x", "d.npz:labels"), dir.path(), 0).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.train.n + a.test.n, 6);

    assert_err(read_npz(&path, "z"), &["d.npz", "no array `z`", "x, y, labels"], None);
    let mut bad = archive.clone();
    let at = archive.windows(4).rposition(|w| w == b"PK\x03\x04").unwrap() + 30 + "labels.npy".len() + 5;
    bad[at] ^= 0x55;
    let path = dir.write("d.npz", &bad);
    assert_err(read_npz(&path, "labels"), &["d.npz", "not a valid .npz", "`labels.npy`"], None);
    let path = dir.write("d.npz", &archive[..archive.len() - 30]);
    assert_err(read_npz(&path, "x"), &["d.npz", "end-of-central-directory"], None);
}

#[test]
fn safetensors_loads_named_tensors() {
    use candle_core::{Device, Tensor};
    let dir = TempDir::new("st");
    let x = Tensor::arange(0f32, 24.0, &Device::Cpu).unwrap().reshape((6, 2, 2)).unwrap();
    let y = Tensor::new(&[0i64, 1, 2, 0, 1, 2], &Device::Cpu).unwrap();
    let half = x.to_dtype(candle_core::DType::F16).unwrap();
    let map: std::collections::HashMap<String, Tensor> =
        [("inputs".to_string(), x), ("labels".to_string(), y), ("half".to_string(), half)].into();
    let path = dir.path().join("d.safetensors");
    candle_core::safetensors::save(&map, &path).unwrap();
    let (xa, ya) = load_safetensors(&path, "inputs", "labels").unwrap();
    assert_eq!(xa.shape, vec![6, 2, 2]);
    assert_eq!(xa.data, (0..24).map(|v| v as f32).collect::<Vec<_>>());
    assert_eq!(ya, Array { shape: vec![6], data: vec![0.0, 1.0, 2.0, 0.0, 1.0, 2.0] });
    assert_eq!(load_safetensors(&path, "half", "labels").unwrap().0, xa);

    let args = vec![
        ("path", string("d.safetensors")),
        ("x", string("inputs")),
        ("y", string("labels")),
        ("shape", shape_value(&[2, 2])),
        ("classes", int(3)),
        ("train_fraction", float(0.5)),
    ];
    let s = load(&plan("safetensors", args, &[2, 2], 3), dir.path(), 0).unwrap();
    assert_eq!((s.train.n, s.test.n), (3, 3));
    assert!((0..3).all(|i| (s.train.x[4 * i] / 4.0) as u32 % 3 == s.train.y[i]));

    assert_err(
        load_safetensors(&path, "inputs", "targets"),
        &["d.safetensors", "no tensor `targets`", "`half`, `inputs`, `labels`"],
        None,
    );
    let path = dir.write("bad.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}");
    assert_err(load_safetensors(&path, "x", "y"), &["bad.safetensors", "not a valid safetensors file"], None);
}
