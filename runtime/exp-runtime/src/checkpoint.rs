//! Checkpoints in safetensors: parameters and buffers under their IR names, optimizer state
//! under `optim.<param>.<slot>`, and the rest of the training state (step, epoch, generator
//! states, data position, the IR hash) as JSON in the file's metadata.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use safetensors::tensor::{Dtype, TensorView};
use serde::{Deserialize, Serialize};

use crate::{Result, RunError};

/// Everything besides tensors that an exact resume needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// The IR hash of the run.
    pub hash: String,
    /// Optimizer steps completed.
    pub step: u64,
    /// Epochs completed.
    pub epoch: u64,
    /// The data stream's position and generator.
    pub batches: serde_json::Value,
    /// The dropout generator.
    pub dropout_rng: crate::rng::Rng,
    /// The optimizer-noise generator.
    pub noise_rng: crate::rng::Rng,
    /// Consecutive probe events each stop rule has held for.
    pub stop_counts: Vec<u32>,
}

/// Tensors and state as the bytes of a safetensors file.
pub fn encode(tensors: &[(String, Tensor)], state: &TrainState) -> Result<Vec<u8>> {
    let mut data: Vec<(String, Vec<u8>, Vec<usize>)> = Vec::new();
    for (name, t) in tensors {
        let t = t.to_dtype(DType::F32)?.flatten_all()?;
        let bytes: Vec<u8> = t.to_vec1::<f32>()?.iter().flat_map(|x| x.to_le_bytes()).collect();
        data.push((name.clone(), bytes, tensors_shape(tensors, name)));
    }
    let views: Vec<(String, TensorView<'_>)> = data
        .iter()
        .map(|(n, b, s)| TensorView::new(Dtype::F32, s.clone(), b).map(|v| (n.clone(), v)))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| RunError::new(format!("cannot encode checkpoint: {e}")))?;
    let meta = HashMap::from([(
        "expc.state".to_string(),
        serde_json::to_string(state).map_err(|e| RunError::new(e.to_string()))?,
    )]);
    safetensors::serialize(views, Some(meta)).map_err(|e| RunError::new(format!("cannot encode checkpoint: {e}")))
}

fn tensors_shape(tensors: &[(String, Tensor)], name: &str) -> Vec<usize> {
    tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t.dims().to_vec()).unwrap_or_default()
}

/// The tensors and, if present, the training state of a safetensors file read from a user's
/// path (`--init-from`).
pub fn load(path: &Path) -> Result<Checkpoint> {
    decode(&crate::store::read_input(path)?, &path.display().to_string())
}

/// A checkpoint's tensors, sorted by name, and its training state if it has one.
pub type Checkpoint = (Vec<(String, Tensor)>, Option<TrainState>);

/// Decodes the bytes of a checkpoint; `what` names it in errors.
pub fn decode(bytes: &[u8], what: &str) -> Result<Checkpoint> {
    let bad = |e: String| RunError::new(format!("`{what}` is not a valid safetensors file: {e}"));
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
    let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
    let mut out = Vec::new();
    for (name, view) in st.tensors() {
        let t = match view.dtype() {
            Dtype::F32 => {
                let xs: Vec<f32> =
                    view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
                Tensor::from_vec(xs, view.shape(), &Device::Cpu)?
            }
            other => return Err(bad(format!("tensor `{name}` has dtype {other:?}; expected F32"))),
        };
        out.push((name, t));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    let state = match meta.metadata().as_ref().and_then(|m| m.get("expc.state")) {
        Some(s) => Some(serde_json::from_str(s).map_err(|e| bad(format!("bad training state: {e}")))?),
        None => None,
    };
    Ok((out, state))
}
