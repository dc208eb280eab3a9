//! Probes: measurements taken during training, on a split or on the model, and derived
//! probes computed from others; plus the stop rules that read them.

use std::collections::BTreeMap;

use candle_core::{DType, Tensor, D};
use exp_ir::{Comparison, Frequency, Probe, ProbeKind, Program};

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
            ProbeKind::Metric(metric) => {
                let split = match p.split.as_deref() {
                    Some("test") => Some(&splits.test),
                    Some("train") => Some(&splits.train),
                    None => None,
                    Some(other) => return Err(RunError::at(format!("unknown split `{other}`"), p.origin)),
                };
                measure(program, model, metric, split, p)?
            }
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

fn measure(program: &Program, model: &Model, metric: &str, split: Option<&Dataset>, p: &Probe) -> Result<f64> {
    if metric == "weight_norm" {
        let mut sq = 0.0;
        for (_, v) in model.params() {
            sq += v.as_tensor().to_dtype(DType::F64)?.sqr()?.sum_all()?.to_scalar::<f64>()?;
        }
        return Ok(sq.sqrt());
    }
    let ds = split.ok_or_else(|| RunError::at(format!("probe `{}` needs a split (`on: ...`)", p.name), p.origin))?;
    let k = p
        .args
        .iter()
        .find(|(n, _)| n == "k")
        .and_then(|(_, v)| if let exp_ir::Value::Int(k) = v { Some(*k as usize) } else { None })
        .unwrap_or(5);
    let batch = program.train.eval_batch.max(1) as usize;
    let (mut hits, mut loss_sum, mut n) = (0.0f64, 0.0f64, 0usize);
    let mut start = 0;
    while start < ds.n {
        let idx: Vec<usize> = (start..(start + batch).min(ds.n)).collect();
        start += batch;
        let (x, y) = batch_tensors(ds, &idx, model.device())?;
        let out = model.evaluate(program, &x)?;
        match metric {
            "accuracy" | "top_k" => {
                let want = if metric == "accuracy" { 1 } else { k };
                hits += top_k_hits(&out, &y, want)?;
            }
            "loss" => {
                let l = crate::loss::loss(&program.loss, &out, &y)?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
                loss_sum += l * idx.len() as f64;
            }
            other => return Err(RunError::at(format!("the runtime has no probe `{other}`"), p.origin)),
        }
        n += idx.len();
    }
    let n = n.max(1) as f64;
    Ok(if metric == "loss" { loss_sum / n } else { hits / n })
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
