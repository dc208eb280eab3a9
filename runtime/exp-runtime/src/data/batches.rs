//! The training batch stream and the conversion of a batch to tensors.
//!
//! [`Batches`] walks a split of `n` samples in epochs: each epoch is one permutation of `0..n`
//! (the identity when shuffling is off), cut into batches of the fixed size, the last one
//! partial. Epoch `e`'s permutation is a Fisher–Yates shuffle drawn from the generator state at
//! the start of that epoch; the state after the shuffle starts epoch `e + 1`. Its serialized
//! form ([`BatchState`]: sizes, epoch, position and that generator state) is all a checkpoint
//! needs to resume the exact stream; the permutation is recomputed on resume.

use super::Dataset;
use crate::error::{Result, RunError};
use crate::rng::Rng;
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// The serializable state of a [`Batches`] stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchState {
    /// Samples in the split.
    pub n: usize,
    /// Samples per batch (the last batch of an epoch may be smaller).
    pub batch: usize,
    /// Whether each epoch is a fresh permutation.
    pub shuffle: bool,
    /// The epoch of the next batch, from 0.
    pub epoch: u64,
    /// Position of the next batch within the epoch's order.
    pub position: usize,
    /// Generator state at the start of the current epoch, before its shuffle.
    pub rng: Rng,
}

/// A deterministic stream of index batches over one split; see the module docs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "BatchState", into = "BatchState")]
pub struct Batches {
    state: BatchState,
    /// The current epoch's order; empty until needed.
    order: Vec<usize>,
    /// The generator state after the current epoch's shuffle.
    next_rng: Rng,
}

impl Batches {
    /// A stream over `n` samples in batches of `batch`, reshuffled every epoch when `shuffle`,
    /// from the generator seeded with `seed` (the IR's `shuffle` seed).
    pub fn new(n: usize, batch: usize, shuffle: bool, seed: u64) -> Result<Batches> {
        let rng = Rng::new(seed);
        Batches::try_from(BatchState { n, batch, shuffle, epoch: 0, position: 0, rng })
    }

    /// The stream for a plan's training split: its batch size and shuffle flag.
    pub fn for_plan(plan: &exp_ir::DataPlan, train: &Dataset, shuffle_seed: u64) -> Result<Batches> {
        let batch = usize::try_from(plan.batch).unwrap_or(usize::MAX);
        Batches::new(train.n, batch, plan.shuffle, shuffle_seed).map_err(|mut e| {
            e.origin = plan.origin;
            e
        })
    }

    /// The state to store in a checkpoint.
    pub fn state(&self) -> &BatchState {
        &self.state
    }

    /// The epoch of the next batch, from 0.
    pub fn epoch(&self) -> u64 {
        self.state.epoch
    }

    /// Batches per epoch: `ceil(n / batch)`.
    pub fn batches_per_epoch(&self) -> usize {
        self.state.n.div_ceil(self.state.batch)
    }

    fn ensure_order(&mut self) {
        if self.order.len() != self.state.n {
            let mut rng = self.state.rng.clone();
            self.order = (0..self.state.n).collect();
            if self.state.shuffle {
                rng.shuffle(&mut self.order);
            }
            self.next_rng = rng;
        }
    }

    /// The sample indices of the next batch; moves to the next epoch after its last batch.
    pub fn next_batch(&mut self) -> Vec<usize> {
        self.ensure_order();
        let s = &mut self.state;
        let end = (s.position + s.batch).min(s.n);
        let out = self.order[s.position..end].to_vec();
        s.position = end;
        if s.position == s.n {
            s.epoch += 1;
            s.position = 0;
            s.rng = self.next_rng.clone();
            self.order.clear();
        }
        out
    }
}

impl TryFrom<BatchState> for Batches {
    type Error = RunError;

    fn try_from(state: BatchState) -> Result<Batches> {
        if state.n == 0 {
            return Err(RunError::new("the training split is empty, so there is nothing to batch"));
        }
        if state.batch == 0 {
            return Err(RunError::new("the batch size must be at least 1"));
        }
        if state.position >= state.n {
            return Err(RunError::new(format!(
                "saved batch position {} is past the end of a split of {} samples",
                state.position, state.n
            )));
        }
        let next_rng = state.rng.clone();
        Ok(Batches { state, order: Vec::new(), next_rng })
    }
}

impl From<Batches> for BatchState {
    fn from(b: Batches) -> BatchState {
        b.state
    }
}

/// Consecutive batches `0..size`, `size..2 size`, ... covering `0..n` once, for evaluation.
pub fn sequential_batches(n: usize, size: usize) -> impl Iterator<Item = Vec<usize>> {
    let size = size.max(1);
    (0..n).step_by(size).map(move |start| (start..(start + size).min(n)).collect())
}

/// The samples `idx` of `ds` as tensors on `device`: inputs `[b, sample_shape...]` (`F32`, or
/// `U32` token ids) and targets, `U32` class ids `[b]` or `F32` `[b, target_shape...]`.
pub fn batch_tensors(ds: &Dataset, idx: &[usize], device: &Device) -> Result<(Tensor, Tensor)> {
    if let Some(&bad) = idx.iter().find(|&&i| i >= ds.n) {
        return Err(RunError::new(format!("batch index {bad} is out of range for a split of {} samples", ds.n)));
    }
    let b = idx.len();
    let gather = |len: usize, data: &[f32]| super::gather_rows(data, len, idx);
    let len = ds.sample_len();
    let x_shape: Vec<usize> = std::iter::once(b).chain(ds.sample_shape.iter().copied()).collect();
    let x = match &ds.ids {
        Some(ids) => Tensor::from_vec(super::gather_rows(ids, len, idx), x_shape, device)?,
        None => Tensor::from_vec(gather(len, &ds.x), x_shape, device)?,
    };
    let y = match &ds.target_shape {
        Some(shape) => {
            let t_shape: Vec<usize> = std::iter::once(b).chain(shape.iter().copied()).collect();
            Tensor::from_vec(gather(ds.target_len(), &ds.targets), t_shape, device)?
        }
        None => Tensor::from_vec(idx.iter().map(|&i| ds.y[i]).collect::<Vec<u32>>(), b, device)?,
    };
    Ok((x, y))
}
