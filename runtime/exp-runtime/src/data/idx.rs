//! Image loaders: MNIST-style IDX files and CIFAR-10 binary batches, plus the file reading
//! (with transparent gzip) that the other loaders share.
//!
//! IDX: a big-endian header `0x00 0x00 <dtype> <ndim>`, then `ndim` big-endian `u32` sizes, then
//! the values in C order. Only dtype `0x08` (unsigned byte) is read, as floats in 0..255.
//! CIFAR-10: records of one label byte and 3072 pixel bytes (1024 red, 1024 green, 1024 blue,
//! row-major 32x32), read as floats in 0..255 with sample shape `[3, 32, 32]`.

use super::{Dataset, Splits};
use crate::error::{Result, RunError};
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};

pub(super) use crate::store::read_input as read_file;
use crate::store::{input_exists, missing};

/// `bytes` decompressed when they start with the gzip magic `1f 8b` (or the name ends in `.gz`).
pub(super) fn maybe_gunzip(bytes: Vec<u8>, path: &Path) -> Result<Vec<u8>> {
    let gz_name = path.extension().is_some_and(|e| e == "gz");
    if !bytes.starts_with(&[0x1f, 0x8b]) && !gz_name {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    GzDecoder::new(bytes.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| RunError::new(format!("`{}` is not valid gzip data: {e}", path.display())))?;
    Ok(out)
}

/// Reads `dir/name`, or `dir/name.gz` when only that exists; returns the bytes and the path used.
fn read_maybe_gz(dir: &Path, name: &str) -> Result<(Vec<u8>, PathBuf)> {
    let plain = dir.join(name);
    let gz = dir.join(format!("{name}.gz"));
    let path = if !input_exists(&plain) && input_exists(&gz) { gz } else { plain };
    if !input_exists(&path) {
        let e = missing(&path);
        let help = format!("an `idx` directory holds `{name}` (or `{name}.gz`) and its three companions");
        return Err(if e.message.contains("directory") { e } else { e.with_help(help) });
    }
    let bytes = maybe_gunzip(read_file(&path)?, &path)?;
    Ok((bytes, path))
}

/// An IDX array: its dimensions and its `u8` values.
struct Idx {
    dims: Vec<usize>,
    values: Vec<u8>,
}

fn parse_idx(bytes: &[u8], path: &Path) -> Result<Idx> {
    let name = path.display();
    if bytes.len() < 4 {
        return Err(RunError::new(format!(
            "`{name}` is truncated: {} bytes, too short for an IDX header",
            bytes.len()
        )));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(RunError::new(format!(
            "`{name}` is not an IDX file: its magic number starts {:02x} {:02x}, expected 00 00",
            bytes[0], bytes[1]
        ))
        .with_help("expected MNIST-style files such as `train-images-idx3-ubyte`"));
    }
    if bytes[2] != 0x08 {
        return Err(RunError::new(format!(
            "`{name}` has IDX type code 0x{:02x}; only 0x08 (unsigned bytes) is supported",
            bytes[2]
        )));
    }
    let ndim = usize::from(bytes[3]);
    let header = 4 + 4 * ndim;
    if ndim == 0 || bytes.len() < header {
        return Err(RunError::new(format!("`{name}` is truncated or has an invalid IDX header ({ndim} dimensions)")));
    }
    let dims: Vec<usize> =
        bytes[4..header].chunks(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize).collect();
    let numel = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let found = bytes.len() - header;
    match numel {
        Some(expected) if expected == found => Ok(Idx { dims, values: bytes[header..].to_vec() }),
        Some(expected) if expected > found => Err(RunError::new(format!(
            "`{name}` is truncated: its header {dims:?} promises {expected} bytes of data, found {found}"
        ))),
        _ => Err(RunError::new(format!(
            "`{name}` has {found} bytes of data, but its header {dims:?} describes {}",
            numel.map_or("more than fit in memory".to_string(), |e| e.to_string())
        ))),
    }
}

/// Reads one IDX split: `<prefix>-images-idx3-ubyte` and `<prefix>-labels-idx1-ubyte`.
fn idx_split(dir: &Path, prefix: &str, shape: &[usize], classes: usize) -> Result<Dataset> {
    let (img_bytes, img_path) = read_maybe_gz(dir, &format!("{prefix}-images-idx3-ubyte"))?;
    let (lab_bytes, lab_path) = read_maybe_gz(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
    let images = parse_idx(&img_bytes, &img_path)?;
    let labels = parse_idx(&lab_bytes, &lab_path)?;
    let n = images.dims[0];
    let per_image: usize = images.dims[1..].iter().product();
    let want: usize = shape.iter().product();
    if per_image != want {
        return Err(RunError::new(format!(
            "`{}` holds images of {:?} = {per_image} pixels, but the declared shape {shape:?} has {want}",
            img_path.display(),
            &images.dims[1..]
        ))
        .with_help(format!(
            "declare a shape with {per_image} elements, e.g. `shape: [1, {}]`",
            images.dims[1..].iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
        )));
    }
    if labels.dims.len() != 1 || labels.dims[0] != n {
        return Err(RunError::new(format!(
            "`{}` holds labels of shape {:?}, but `{}` holds {n} images",
            lab_path.display(),
            labels.dims,
            img_path.display()
        )));
    }
    if let Some((i, &bad)) = labels.values.iter().enumerate().find(|(_, &l)| usize::from(l) >= classes) {
        return Err(RunError::new(format!(
            "label {bad} at index {i} of `{}` is outside 0..{classes}",
            lab_path.display()
        ))
        .with_help(format!(
            "declare `classes: {}` or check the file",
            labels.values.iter().max().map_or(0, |m| *m as usize + 1)
        )));
    }
    Ok(Dataset {
        x: images.values.iter().map(|&v| f32::from(v)).collect(),
        y: labels.values.iter().map(|&l| u32::from(l)).collect(),
        n,
        sample_shape: shape.to_vec(),
        ..Dataset::default()
    })
}

/// Loads MNIST-style IDX files from `dir`: `train-*` files form `.train`, `t10k-*` files
/// `.test` (each may instead be gzipped with a `.gz` suffix). Pixels are read as floats in
/// 0..255; `shape` must have as many elements as an image and labels must lie in `0..classes`.
pub fn load_idx(dir: &Path, shape: &[usize], classes: usize) -> Result<Splits> {
    Ok(Splits { train: idx_split(dir, "train", shape, classes)?, test: idx_split(dir, "t10k", shape, classes)? })
}

const CIFAR_RECORD: usize = 1 + 3 * 32 * 32;

fn cifar_batch(path: &Path, ds: &mut Dataset) -> Result<()> {
    let bytes = maybe_gunzip(read_file(path)?, path)?;
    if bytes.is_empty() || bytes.len() % CIFAR_RECORD != 0 {
        return Err(RunError::new(format!(
            "`{}` is truncated or not a CIFAR-10 batch: {} bytes is not a multiple of the {CIFAR_RECORD}-byte record",
            path.display(),
            bytes.len()
        )));
    }
    for (i, rec) in bytes.chunks(CIFAR_RECORD).enumerate() {
        if rec[0] >= 10 {
            return Err(RunError::new(format!(
                "record {i} of `{}` has label {}, outside 0..10: not a CIFAR-10 batch",
                path.display(),
                rec[0]
            ))
            .with_help("CIFAR-100 batches have two label bytes and are not supported"));
        }
        ds.y.push(u32::from(rec[0]));
        ds.x.extend(rec[1..].iter().map(|&v| f32::from(v)));
        ds.n += 1;
    }
    Ok(())
}

/// Loads the CIFAR-10 binary version from `dir`: `data_batch_1.bin`, `data_batch_2.bin`, ...
/// (consecutive from 1, at least one) form `.train` and `test_batch.bin` forms `.test`.
/// Samples are `[3, 32, 32]` floats in 0..255 (channel-major, as stored); 10 classes.
///
/// The stdlib does not declare a source for it yet; [`super::load`] accepts
/// `data cifar10(dir: String) = builtin` (sample `[3, 32, 32]`, classes 10).
pub fn load_cifar10(dir: &Path) -> Result<Splits> {
    let empty = || Dataset { sample_shape: vec![3, 32, 32], ..Dataset::default() };
    let mut train = empty();
    cifar_batch(&dir.join("data_batch_1.bin"), &mut train)?;
    for k in 2.. {
        let path = dir.join(format!("data_batch_{k}.bin"));
        if !input_exists(&path) {
            break;
        }
        cifar_batch(&path, &mut train)?;
    }
    let mut test = empty();
    cifar_batch(&dir.join("test_batch.bin"), &mut test)?;
    Ok(Splits { train, test })
}
