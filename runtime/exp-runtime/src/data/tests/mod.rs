//! Tests of the data layer: generators, file loaders (on files written into temporary
//! directories), plan checks, transforms and the batch stream.

mod batches;
mod files;
mod formats;
mod synthetic;

use exp_ir::{DType, DataPlan, Origin, Target, TransformStep, Value};
use exp_ops::{Dim, Shape};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The origin every test plan carries, to check that errors report it.
const ORIGIN: Origin = Origin { file: 0, start: 10, end: 20 };

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let k = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("expc-data-{tag}-{}-{k}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).expect("write temp file");
        path
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn int(v: i64) -> Value {
    Value::Int(v)
}

fn float(v: f64) -> Value {
    Value::Float(v)
}

fn string(v: &str) -> Value {
    Value::Str(v.to_string())
}

fn shape_value(dims: &[i64]) -> Value {
    Value::List(dims.iter().map(|&d| Value::Int(d)).collect())
}

fn shape(dims: &[usize]) -> Shape {
    Shape::new(dims.iter().map(|&d| Dim::constant(d as i64)))
}

/// Named IR arguments.
fn named(args: Vec<(&str, Value)>) -> exp_ir::Args {
    args.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// A data plan for `source` with float inputs of `x_shape` and `classes` classes.
fn plan(source: &str, args: Vec<(&str, Value)>, x_shape: &[usize], classes: u64) -> DataPlan {
    DataPlan {
        source: exp_ir::builtin_of(source, &named(args)).unwrap_or_else(|e| panic!("{e}")),
        x_shape: shape(x_shape),
        x_dtype: DType::F32,
        target: Target::Classes(classes),
        splits: vec!["train".into(), "test".into()],
        transforms: Vec::new(),
        batch: 4,
        shuffle: true,
        origin: Some(ORIGIN),
    }
}

fn transform(name: &str, args: Vec<(&str, Value)>, start: u32) -> TransformStep {
    TransformStep {
        op: exp_ir::builtin_of(name, &named(args)).unwrap_or_else(|e| panic!("{e}")),
        origin: Some(Origin { file: 0, start, end: start + 5 }),
    }
}

/// Asserts that `r` failed with `origin` and a message (or help line) containing all `parts`.
#[track_caller]
fn assert_err<T: std::fmt::Debug>(r: crate::Result<T>, parts: &[&str], origin: Option<Origin>) {
    let e = r.expect_err("expected an error");
    let text = format!("{} / help: {}", e.message, e.help.as_deref().unwrap_or(""));
    for p in parts {
        assert!(text.contains(p), "error {text:?} lacks {p:?}");
    }
    assert_eq!(e.origin, origin, "origin of {:?}", e.message);
}
