//! Inputs and targets stored as two tensors of one safetensors file.
//!
//! The stdlib has no source for it yet; [`super::load`] accepts the declaration
//! `data safetensors(path: String, x: String, y: String, shape: [Int], classes: Int,
//! train_fraction: Float = 0.8, seed: Int = 0) = builtin`, which reads tensor `x` (`[N, shape...]`)
//! and tensor `y` (`N` class labels) and splits the rows at random like `npy`.

use super::idx::read_file;
use super::Array;
use crate::error::{Result, RunError};
use candle_core::safetensors::Load;
use candle_core::{DType, Device};
use safetensors::SafeTensors;
use std::path::Path;

/// Reads tensors `x_key` (inputs) and `y_key` (labels or targets) of the safetensors file at
/// `path`, converted to `f32` from any dtype Candle reads (floats of 16 to 64 bits, `u8`, `u32`,
/// `i16`, `i32`, `i64`).
pub fn load_safetensors(path: &Path, x_key: &str, y_key: &str) -> Result<(Array, Array)> {
    let bytes = read_file(path)?;
    let name = path.display();
    let file = SafeTensors::deserialize(&bytes)
        .map_err(|e| RunError::new(format!("`{name}` is not a valid safetensors file: {e}")))?;
    let read = |key: &str| -> Result<Array> {
        let view = file.tensor(key).map_err(|_| {
            let mut names = file.names();
            names.sort_unstable();
            let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            RunError::new(format!("`{name}` has no tensor `{key}`")).with_help(format!("it holds {}", list.join(", ")))
        })?;
        let convert = || -> candle_core::Result<Vec<f32>> {
            view.load(&Device::Cpu)?.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()
        };
        let data = convert()
            .map_err(|e| RunError::new(format!("cannot read tensor `{key}` ({:?}) of `{name}`: {e}", view.dtype())))?;
        Ok(Array { shape: view.shape().to_vec(), data })
    };
    Ok((read(x_key)?, read(y_key)?))
}
