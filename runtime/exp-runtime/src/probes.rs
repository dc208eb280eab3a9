//! Probes: measurements taken during training, on a split or on the model, and derived
//! probes computed from others; plus the stop rules that read them.

use std::collections::BTreeMap;

use candle_core::{DType, Tensor, D};
use exp_ir::{Comparison, Frequency, Probe, ProbeKind, Program};
use exp_ops::{Metric, Probe as BuiltinProbe};

use crate::data::{batch_tensors, Dataset, Splits};
use crate::exec::Model;
use crate::{Result, RunError};

/// Whether a probe fires after `step` steps, `epoch_done` telling whether an epoch just ended.
pub fn fires(p: &Probe, step: u64, epoch: u64, epoch_done: bool) -> bool {
    match p.every {
        Frequency::Steps(n) => n > 0 && step % n == 0,
        Frequency::Epochs(n) => epoch_done && n > 0 && epoch % n == 0,
    }
}

/// Evaluates the probes that fire now, in IR order; derived probes see the values of the
/// probes before them (this event's value if it fired, else the latest known one).
pub fn evaluate(
    program: &Program,
    model: &Model,
    splits: &Splits,
    firing: &[&Probe],
    latest: &mut BTreeMap<String, f64>,
) -> Result<Vec<(String, f64)>> {
    let mut out = Vec::new();
    for p in firing {
        let v = match &p.kind {
            ProbeKind::Builtin(op) => match op {
                BuiltinProbe::WeightNorm {} => weight_norm(model)?,
                BuiltinProbe::Accuracy { on } => over_split(program, model, split(splits, on, p)?, Measure::TopK(1))?,
                BuiltinProbe::Loss { on } => over_split(program, model, split(splits, on, p)?, Measure::Loss)?,
            },
            ProbeKind::Metric(op) => match op {
                Metric::TopK { k, on } => {
                    let k = usize::try_from(*k).unwrap_or(usize::MAX);
                    over_split(program, model, split(splits, on, p)?, Measure::TopK(k))?
                }
            },
            ProbeKind::Derived { function, inputs } => {
                let f = crate::optim::function(program, function)?;
                let xs: Vec<f64> = inputs.iter().map(|i| latest.get(i).copied().unwrap_or(f64::NAN)).collect();
                f.eval(&xs)
                    .map_err(|e| RunError::at(format!("probe `{}` failed: {e}", p.name), p.origin))?
                    .first()
                    .copied()
                    .unwrap_or(f64::NAN)
            }
        };
        latest.insert(p.name.clone(), v);
        out.push((p.name.clone(), v));
    }
    Ok(out)
}

/// The split named `name`.
fn split<'a>(splits: &'a Splits, name: &str, p: &Probe) -> Result<&'a Dataset> {
    splits
        .get(name)
        .ok_or_else(|| RunError::at(format!("probe `{}` reads an unknown split `{name}`", p.name), p.origin))
}

/// The global L2 norm of the parameters, accumulated in `f64`.
fn weight_norm(model: &Model) -> Result<f64> {
    let mut sq = 0.0;
    for (_, v) in model.params() {
        sq += v.as_tensor().to_dtype(DType::F64)?.sqr()?.sum_all()?.to_scalar::<f64>()?;
    }
    Ok(sq.sqrt())
}

/// What [`over_split`] averages over the samples of a split.
enum Measure {
    /// Whether the target is among the `k` largest outputs.
    TopK(usize),
    /// The experiment's loss.
    Loss,
}

/// The mean of `measure` over every sample of `ds`, in evaluation batches.
fn over_split(program: &Program, model: &Model, ds: &Dataset, measure: Measure) -> Result<f64> {
    let batch = program.train.eval_batch.max(1) as usize;
    let (mut total, mut n) = (0.0f64, 0usize);
    let mut start = 0;
    while start < ds.n {
        let idx: Vec<usize> = (start..(start + batch).min(ds.n)).collect();
        start += batch;
        let (x, y) = batch_tensors(ds, &idx, model.device())?;
        let out = model.evaluate(program, &x)?;
        total += match measure {
            Measure::TopK(k) => top_k_hits(&out, &y, k)?,
            Measure::Loss => {
                let l = crate::loss::loss(&program.loss, &out, &y)?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
                l * idx.len() as f64
            }
        };
        n += idx.len();
    }
    Ok(total / n.max(1) as f64)
}

/// How many rows have their target among the `k` largest outputs.
fn top_k_hits(out: &Tensor, y: &Tensor, k: usize) -> Result<f64> {
    let out = out.flatten_from(1)?;
    if k <= 1 {
        let pred = out.argmax(D::Minus1)?.to_dtype(DType::U32)?;
        let y = y.to_dtype(DType::U32)?;
        return Ok(pred.eq(&y)?.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?);
    }
    let rows = out.to_dtype(DType::F32)?.to_vec2::<f32>()?;
    let ys = y.to_dtype(DType::U32)?.to_vec1::<u32>()?;
    Ok(rows
        .iter()
        .zip(ys)
        .filter(|(row, y)| {
            let target = row.get(*y as usize).copied().unwrap_or(f32::NEG_INFINITY);
            row.iter().filter(|v| **v > target).count() < k
        })
        .count() as f64)
}

/// Updates the stop rules' consecutive counts with this event's values; returns the index
/// of a rule that now stops the run.
pub fn check_stops(
    program: &Program,
    values: &BTreeMap<String, f64>,
    fired: &[(String, f64)],
    counts: &mut [u32],
) -> Option<usize> {
    for (i, rule) in program.train.stop_rules.iter().enumerate() {
        if !fired.iter().any(|(n, _)| *n == rule.probe) {
            continue;
        }
        let v = values.get(&rule.probe).copied().unwrap_or(f64::NAN);
        let holds = match rule.cmp {
            Comparison::Lt => v < rule.threshold,
            Comparison::Le => v <= rule.threshold,
            Comparison::Gt => v > rule.threshold,
            Comparison::Ge => v >= rule.threshold,
        };
        counts[i] = if holds { counts[i] + 1 } else { 0 };
        if counts[i] >= rule.count {
            return Some(i);
        }
    }
    None
}
