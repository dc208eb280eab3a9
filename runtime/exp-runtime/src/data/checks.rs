//! The checks of loaded data against the plan, the conversion of file arrays to a
//! [`Dataset`], and the transforms.

use super::{Array, Dataset, Splits};
use crate::error::{Result, RunError};
use exp_ir::{DType, DataPlan, Origin, Target};
use exp_ops::Transform;

/// The sample shape as plain sizes, or an error when a dim is symbolic or negative.
fn const_shape(shape: &exp_ops::Shape, origin: Option<Origin>) -> Result<Vec<usize>> {
    shape
        .0
        .iter()
        .map(|d| d.as_const().and_then(|v| usize::try_from(v).ok()))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| RunError::at(format!("the data's sample shape {shape} is not a list of sizes"), origin))
}

/// Builds a dataset from an input array `[N, shape...]` and a label or target array.
///
/// `x` may also be flat, `[N, product(shape)]`. For classes, `y` is `[N]` or `[N, 1]` of
/// integral values in `0..classes`; for regression, `[N, shape...]` (or flat) of that target shape.
pub(super) fn from_arrays(
    x: Array,
    y: Array,
    shape: &[usize],
    target: &Target,
    x_name: &str,
    y_name: &str,
) -> Result<Dataset> {
    let n = *x
        .shape
        .first()
        .ok_or_else(|| RunError::new(format!("{x_name} holds a scalar, expected one row per sample")))?;
    check_rows(&x.shape, shape, x_name, "input")?;
    if y.shape.first() != Some(&n) {
        return Err(RunError::new(format!("{x_name} has {n} samples but {y_name} has shape {:?}", y.shape))
            .with_help("inputs and targets need the same number of rows"));
    }
    let mut ds = Dataset { x: x.data, n, sample_shape: shape.to_vec(), ..Dataset::default() };
    match target {
        Target::Classes(_) => {
            check_rows(&y.shape, &[], y_name, "label")?;
            ds.y = labels_from_f32(&y.data, y_name)?;
        }
        Target::Regression(s) => {
            let s = const_shape(s, None)?;
            check_rows(&y.shape, &s, y_name, "target")?;
            ds.targets = y.data;
            ds.target_shape = Some(s);
        }
    }
    Ok(ds)
}

/// Checks that an array `[N, ...]` holds rows of `shape` (exactly, or flattened).
fn check_rows(array: &[usize], shape: &[usize], name: &str, what: &str) -> Result<()> {
    let rest = &array[1.min(array.len())..];
    let numel: usize = shape.iter().product();
    let flat = rest.len() == 1 && rest[0] == numel;
    if rest == shape || flat || (numel == 1 && rest.is_empty()) {
        return Ok(());
    }
    Err(RunError::new(format!("{name} holds {what}s of shape {rest:?}, but the declaration says {shape:?}"))
        .with_help(format!("declare `shape: {rest:?}`, or reshape the array to [N, {}]", numel)))
}

/// Class ids from float values: integral and non-negative.
fn labels_from_f32(values: &[f32], name: &str) -> Result<Vec<u32>> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if v >= 0.0 && v.fract() == 0.0 && v < u32::MAX as f32 {
                Ok(v as u32)
            } else {
                Err(RunError::new(format!("label {v} at row {i} of {name} is not a class id"))
                    .with_help("class labels must be integers 0, 1, 2, ..."))
            }
        })
        .collect()
}

/// Checks the loaded splits against the sample shape, input type and target of the plan.
pub(super) fn check_plan(plan: &DataPlan, splits: &Splits, what: &str) -> Result<()> {
    let origin = plan.origin;
    let want = const_shape(&plan.x_shape, origin)?;
    for (name, ds) in [("train", &splits.train), ("test", &splits.test)] {
        if ds.sample_shape != want {
            return Err(RunError::at(
                format!(
                    "{what} gives `.{name}` samples of shape {:?}, but the model expects {want:?}",
                    ds.sample_shape
                ),
                origin,
            )
            .with_help("make the declared `shape` match the samples in the source"));
        }
        match (plan.x_dtype, ds.ids.is_some()) {
            (DType::I64, false) => {
                return Err(RunError::at(
                    format!("{what} gives float inputs, but the plan expects integer tokens (`x i64`)"),
                    origin,
                ))
            }
            (DType::F32, true) => {
                return Err(RunError::at(
                    format!("{what} gives integer tokens, but the plan expects float inputs (`x f32`)"),
                    origin,
                )
                .with_help("feed token inputs to `embed(vocab, dim)`"))
            }
            _ => {}
        }
        match (&plan.target, &ds.target_shape) {
            (Target::Classes(k), None) => {
                if let Some(&bad) = ds.y.iter().find(|&&c| u64::from(c) >= *k) {
                    let max = ds.y.iter().max().copied().unwrap_or(bad);
                    return Err(RunError::at(format!("{what} has label {bad} in `.{name}`, outside 0..{k}"), origin)
                        .with_help(format!("declare `classes: {}` or fix the labels", max + 1)));
                }
            }
            (Target::Regression(s), Some(got)) => {
                if const_shape(s, origin)? != *got {
                    return Err(RunError::at(
                        format!("{what} gives targets of shape {got:?}, but the plan expects {s}"),
                        origin,
                    ));
                }
            }
            (Target::Classes(_), Some(_)) => {
                return Err(RunError::at(
                    format!("{what} gives regression targets, but the plan expects class labels"),
                    origin,
                ))
            }
            (Target::Regression(_), None) => {
                return Err(RunError::at(
                    format!("{what} gives class labels, but the plan expects regression targets"),
                    origin,
                )
                .with_help("use a classification loss with this source"))
            }
        }
    }
    Ok(())
}

/// Applies one transform to the float inputs of `ds`.
pub(super) fn apply_transform(t: &exp_ir::TransformStep, ds: &mut Dataset, what: &str) -> Result<()> {
    if ds.ids.is_some() {
        return Err(RunError::at(
            format!("transform `{}` needs float inputs, but {what} gives integer tokens", t.op.name()),
            t.origin,
        ));
    }
    match &t.op {
        Transform::Scale { factor } => {
            let f = *factor as f32;
            ds.x.iter_mut().for_each(|v| *v *= f);
        }
        Transform::Normalize { mean, std } => {
            let (mean, inv) = (*mean as f32, (1.0 / std) as f32);
            ds.x.iter_mut().for_each(|v| *v = (*v - mean) * inv);
        }
    }
    Ok(())
}
