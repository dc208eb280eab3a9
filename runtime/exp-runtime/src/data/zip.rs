//! A minimal ZIP reader for `.npz` archives: finds a member through the central directory
//! (ZIP64 sizes and offsets included, as NumPy writes them) and returns its bytes, stored or
//! deflated, after checking its CRC-32. Encrypted members and other compression methods are
//! reported as unsupported.

use crate::error::{Result, RunError};
use flate2::read::DeflateDecoder;
use std::io::Read;
use std::path::Path;

const EOCD: u32 = 0x0605_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
const ZIP64_EOCD: u32 = 0x0606_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const LOCAL: u32 = 0x0403_4b50;

/// Little-endian reads that fail with a "truncated" error instead of panicking.
struct Reader<'a> {
    bytes: &'a [u8],
    path: &'a Path,
}

impl Reader<'_> {
    fn slice(&self, at: usize, len: usize) -> Result<&[u8]> {
        at.checked_add(len).and_then(|end| self.bytes.get(at..end)).ok_or_else(|| self.corrupt("truncated"))
    }
    fn u16(&self, at: usize) -> Result<u16> {
        self.slice(at, 2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&self, at: usize) -> Result<u32> {
        self.slice(at, 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&self, at: usize) -> Result<u64> {
        self.slice(at, 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    }
    fn corrupt(&self, what: &str) -> RunError {
        RunError::new(format!("`{}` is not a valid .npz (zip) archive: {what}", self.path.display()))
    }
}

/// One member as listed in the central directory.
struct Entry {
    name: String,
    method: u16,
    flags: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    local_offset: u64,
}

fn as_usize(v: u64, r: &Reader) -> Result<usize> {
    usize::try_from(v).map_err(|_| r.corrupt("an offset does not fit in memory"))
}

/// The central directory: the offset of its first entry and the number of entries.
fn directory(r: &Reader) -> Result<(usize, u64)> {
    let len = r.bytes.len();
    let lowest = len.saturating_sub(22 + 0xFFFF);
    let eocd = (lowest..len.saturating_sub(21))
        .rev()
        .find(|&i| r.u32(i).ok() == Some(EOCD))
        .ok_or_else(|| r.corrupt("no end-of-central-directory record"))?;
    let (mut count, mut offset) = (u64::from(r.u16(eocd + 10)?), u64::from(r.u32(eocd + 16)?));
    if (count == 0xFFFF || offset == 0xFFFF_FFFF) && eocd >= 20 && r.u32(eocd - 20)? == ZIP64_LOCATOR {
        let at = as_usize(r.u64(eocd - 20 + 8)?, r)?;
        if r.u32(at)? != ZIP64_EOCD {
            return Err(r.corrupt("bad ZIP64 end-of-central-directory record"));
        }
        count = r.u64(at + 32)?;
        offset = r.u64(at + 48)?;
    }
    Ok((as_usize(offset, r)?, count))
}

fn entries(r: &Reader) -> Result<Vec<Entry>> {
    let (mut at, count) = directory(r)?;
    let mut out = Vec::new();
    for _ in 0..count {
        if r.u32(at)? != CENTRAL {
            return Err(r.corrupt("bad central directory entry"));
        }
        let (name_len, extra_len, comment_len) =
            (usize::from(r.u16(at + 28)?), usize::from(r.u16(at + 30)?), usize::from(r.u16(at + 32)?));
        let name = String::from_utf8_lossy(r.slice(at + 46, name_len)?).into_owned();
        let mut e = Entry {
            name,
            flags: r.u16(at + 8)?,
            method: r.u16(at + 10)?,
            crc: r.u32(at + 16)?,
            compressed: u64::from(r.u32(at + 20)?),
            size: u64::from(r.u32(at + 24)?),
            local_offset: u64::from(r.u32(at + 42)?),
        };
        // ZIP64 extra field: the 64-bit values, in this order, of the fields saturated above.
        let extra = r.slice(at + 46 + name_len, extra_len)?;
        let mut i = 0;
        while i + 4 <= extra.len() {
            let (id, len) = (
                u16::from_le_bytes([extra[i], extra[i + 1]]),
                usize::from(u16::from_le_bytes([extra[i + 2], extra[i + 3]])),
            );
            if id == 1 {
                let field = Reader { bytes: extra.get(i + 4..i + 4 + len).unwrap_or(&[]), path: r.path };
                let mut k = 0;
                for slot in [&mut e.size, &mut e.compressed, &mut e.local_offset] {
                    if *slot == 0xFFFF_FFFF {
                        *slot = field.u64(k)?;
                        k += 8;
                    }
                }
            }
            i += 4 + len;
        }
        out.push(e);
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(out)
}

/// The contents of member `name` (or `name.npy`) of the archive `bytes`, read from `path`.
pub(super) fn read_member(bytes: &[u8], name: &str, path: &Path) -> Result<Vec<u8>> {
    let r = Reader { bytes, path };
    let all = entries(&r)?;
    let with_ext = format!("{name}.npy");
    let Some(e) = all.iter().find(|e| e.name == name || e.name == with_ext) else {
        let list: Vec<&str> = all.iter().map(|e| e.name.trim_end_matches(".npy")).collect();
        return Err(RunError::new(format!("`{}` has no array `{name}`", path.display()))
            .with_help(format!("the archive holds: {}; pick one with `file.npz:name`", list.join(", "))));
    };
    if e.flags & 1 != 0 {
        return Err(r.corrupt(&format!("member `{}` is encrypted", e.name)));
    }
    let local = as_usize(e.local_offset, &r)?;
    if r.u32(local)? != LOCAL {
        return Err(r.corrupt("bad local file header"));
    }
    let start = local + 30 + usize::from(r.u16(local + 26)?) + usize::from(r.u16(local + 28)?);
    let data = r.slice(start, as_usize(e.compressed, &r)?)?;
    let out = match e.method {
        0 => data.to_vec(),
        8 => {
            let mut out = Vec::with_capacity(as_usize(e.size, &r)?.min(1 << 30));
            DeflateDecoder::new(data)
                .read_to_end(&mut out)
                .map_err(|err| r.corrupt(&format!("member `{}` does not inflate: {err}", e.name)))?;
            out
        }
        m => {
            return Err(r.corrupt(&format!(
                "member `{}` uses compression method {m}; only stored and deflate are supported",
                e.name
            )))
        }
    };
    let mut crc = flate2::Crc::new();
    crc.update(&out);
    if out.len() as u64 != e.size || crc.sum() != e.crc {
        return Err(r.corrupt(&format!("member `{}` fails its size or CRC-32 check", e.name)));
    }
    Ok(out)
}
