//! NumPy arrays: `.npy` files (format versions 1 to 3) and members of `.npz` archives.
//!
//! Supported element types, little-endian (or byte-sized): `f4`, `f8`, `i1`, `i2`, `i4`, `i8`,
//! `u1`, `u2`, `u4`, `u8` and `b1`, all converted to `f32`. Arrays must be in C order; big-endian,
//! Fortran-order and structured arrays are refused with a hint on how to re-save them.
//!
//! In the `npy` source, a path `file.npz:name` reads member `name` of an archive, and a bare
//! `file.npz` reads the member named after the argument (`x` or `y`).

use super::idx::{maybe_gunzip, read_file};
use super::zip;
use super::Array;
use crate::error::{Result, RunError};
use std::path::{Path, PathBuf};

/// Reads the `.npy` file at `path`.
pub fn read_npy(path: &Path) -> Result<Array> {
    parse(&maybe_gunzip(read_file(path)?, path)?, &format!("`{}`", path.display()))
}

/// Reads array `name` (member `name.npy`) of the `.npz` archive at `path`.
pub fn read_npz(path: &Path, name: &str) -> Result<Array> {
    let bytes = zip::read_member(&read_file(path)?, name, path)?;
    parse(&bytes, &format!("`{}` (array `{name}`)", path.display()))
}

/// Reads an `npy` source argument: a `.npy` file, `file.npz` (member `default_member`) or
/// `file.npz:member`.
pub(super) fn read_path(path: &Path, default_member: &str) -> Result<Array> {
    let text = path.to_string_lossy();
    if let Some(at) = text.rfind(".npz:") {
        let (file, member) = text.split_at(at + 4);
        return read_npz(&PathBuf::from(file), &member[1..]);
    }
    if path.extension().is_some_and(|e| e == "npz") {
        return read_npz(path, default_member);
    }
    read_npy(path)
}

/// The value of `'key': ` in the header dict, up to the next top-level `,` or `}`.
fn header_field<'h>(header: &'h str, key: &str) -> Option<&'h str> {
    let start = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[start..].trim_start().strip_prefix(':')?.trim_start();
    let mut depth = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' | '}' if depth == 0 => return Some(rest[..i].trim()),
            _ => {}
        }
    }
    None
}

/// Parses the bytes of a `.npy` file; `name` names it in errors.
fn parse(bytes: &[u8], name: &str) -> Result<Array> {
    let bad = |what: String| RunError::new(format!("{name} is not a valid .npy file: {what}"));
    if !bytes.starts_with(b"\x93NUMPY") {
        return Err(bad("wrong magic number (expected `\\x93NUMPY`)".into()));
    }
    let (len_bytes, start) = match bytes.get(6) {
        Some(1) => (2, 10),
        Some(2 | 3) => (4, 12),
        Some(v) => return Err(bad(format!("unknown format version {v}"))),
        None => return Err(bad("truncated header".into())),
    };
    let header_len = match bytes.get(8..8 + len_bytes) {
        Some(&[a, b]) => usize::from(u16::from_le_bytes([a, b])),
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]) as usize,
        _ => return Err(bad("truncated header".into())),
    };
    let header = bytes.get(start..start + header_len).ok_or_else(|| bad("truncated header".into()))?;
    let header = String::from_utf8_lossy(header);
    let field = |key: &str| header_field(&header, key).ok_or_else(|| bad(format!("header has no `{key}`")));
    let descr = field("descr")?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    if field("fortran_order")? != "False" {
        return Err(RunError::new(format!("{name} is stored in Fortran order"))
            .with_help("re-save it with `np.save(path, np.ascontiguousarray(a))`"));
    }
    let shape_text = field("shape")?;
    let shape = shape_text
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| bad(format!("cannot read the shape `{shape_text}`")))?;
    let (order, kind, size) = {
        let mut chars = descr.chars();
        let order = chars.next().unwrap_or(' ');
        let kind = chars.next().unwrap_or(' ');
        (order, kind, chars.as_str().parse::<usize>().unwrap_or(0))
    };
    let decode: fn(&[u8]) -> f32 = match (kind, size) {
        ('f', 4) => |b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        ('f', 8) => |b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32,
        ('i', 1) => |b| f32::from(b[0] as i8),
        ('i', 2) => |b| f32::from(i16::from_le_bytes([b[0], b[1]])),
        ('i', 4) => |b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32,
        ('i', 8) => |b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32,
        ('u', 1) | ('b', 1) => |b| f32::from(b[0]),
        ('u', 2) => |b| f32::from(u16::from_le_bytes([b[0], b[1]])),
        ('u', 4) => |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32,
        ('u', 8) => |b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32,
        _ => {
            return Err(RunError::new(format!("{name} has element type `{descr}`, which is not supported"))
                .with_help("save the array as float32, float64, or an integer or bool type"))
        }
    };
    if order == '>' && size > 1 {
        return Err(RunError::new(format!("{name} is big-endian (`{descr}`)"))
            .with_help(format!("re-save it with `a.astype('<{kind}{size}')`")));
    }
    let numel = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let data = &bytes[(start + header_len).min(bytes.len())..];
    match numel.and_then(|n| n.checked_mul(size)) {
        Some(want) if want == data.len() => Ok(Array { shape, data: data.chunks_exact(size).map(decode).collect() }),
        Some(want) if want > data.len() => Err(RunError::new(format!(
            "{name} is truncated: shape {shape:?} of `{descr}` needs {want} bytes of data, found {}",
            data.len()
        ))),
        _ => Err(RunError::new(format!(
            "{name} has {} bytes of data, more than its shape {shape:?} of `{descr}` describes",
            data.len()
        ))),
    }
}
