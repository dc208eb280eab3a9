//! The run directory: every file a run writes, each written atomically (temporary file, then
//! rename), so an interrupted or crashed run never leaves a half-written file behind.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Result, RunError};

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, synced, then
/// renamed over the destination.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    let fail = |e: std::io::Error| RunError::new(format!("cannot write `{}`: {e}", path.display()));
    let mut f = fs::File::create(&tmp).map_err(fail)?;
    f.write_all(bytes).map_err(fail)?;
    f.sync_all().map_err(fail)?;
    drop(f);
    fs::rename(&tmp, path).map_err(fail)
}

/// The layout of one run's directory.
#[derive(Clone, Debug)]
pub struct RunDir {
    /// The directory itself.
    pub root: PathBuf,
}

impl RunDir {
    /// Creates the directory (and `checkpoints/`), and checks that it is writable before any
    /// training starts.
    pub fn create(root: &Path) -> Result<RunDir> {
        let fail = |e: std::io::Error| {
            RunError::new(format!("cannot create the run directory `{}`: {e}", root.display()))
                .with_help("choose another place with `--out DIR`")
        };
        fs::create_dir_all(root.join("checkpoints")).map_err(fail)?;
        let probe = root.join(".write-test");
        fs::write(&probe, b"ok").map_err(fail)?;
        fs::remove_file(&probe).map_err(fail)?;
        Ok(RunDir { root: root.to_path_buf() })
    }

    /// A file of the run.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// The checkpoint written after `step`.
    pub fn checkpoint(&self, step: u64) -> PathBuf {
        self.root.join("checkpoints").join(format!("step-{step}.safetensors"))
    }

    /// The latest checkpoint, by step number.
    pub fn latest_checkpoint(&self) -> Option<(u64, PathBuf)> {
        let entries = fs::read_dir(self.root.join("checkpoints")).ok()?;
        entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let step = name.strip_prefix("step-")?.strip_suffix(".safetensors")?.parse().ok()?;
                Some((step, e.path()))
            })
            .max_by_key(|(s, _)| *s)
    }

    /// Appends a line to `log.txt` (best effort: logging never stops a run).
    pub fn log(&self, line: &str) {
        if let Ok(mut f) = fs::OpenOptions::new().create(true).append(true).open(self.path("log.txt")) {
            let _ = writeln!(f, "{line}");
        }
    }
}
