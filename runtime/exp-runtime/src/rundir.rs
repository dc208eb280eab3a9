//! The run directory: the files a run writes (`metrics.jsonl`, `metrics.csv`, `log.txt`,
//! `summary.json`, `final.safetensors`, `checkpoints/step-N.safetensors`), each replaced
//! atomically through a [`RunStore`], so an interrupted or crashed run never leaves a
//! half-written file behind.

use std::io;
use std::sync::Arc;

use crate::store::RunStore;
use crate::{Result, RunError};

/// One run's files.
#[derive(Clone, Debug)]
pub struct RunDir {
    store: Arc<dyn RunStore>,
}

impl RunDir {
    /// The run directory kept by `store`.
    pub fn new(store: Arc<dyn RunStore>) -> RunDir {
        RunDir { store }
    }

    /// Replaces the file `name` atomically; a failure names the file and, for a full disk or
    /// a read-only place, what to do.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        self.store.write(name, bytes).map_err(|e| {
            let err = RunError::new(format!("cannot write `{}`: {e}", self.store.locate(name)));
            match e.kind() {
                io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => err.with_help(
                    "the disk is full; the files written before are intact: free space, then continue with `expc run --resume RUN_DIR`",
                ),
                io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
                    err.with_help("the run directory is not writable; choose another place with `--out DIR`")
                }
                _ => err,
            }
        })
    }

    /// The file `name`, or `None` if there is none.
    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>> {
        self.store.read(name).map_err(|e| RunError::new(format!("cannot read `{}`: {e}", self.store.locate(name))))
    }

    /// Appends a line to `log.txt` (best effort: logging never stops a run).
    pub fn log(&self, line: &str) {
        let _ = self.store.append("log.txt", line);
    }

    /// Where the file `name` is, for messages.
    pub fn locate(&self, name: &str) -> String {
        self.store.locate(name)
    }

    /// The name of the checkpoint written after `step`.
    pub fn checkpoint(step: u64) -> String {
        format!("checkpoints/step-{step}.safetensors")
    }

    /// The latest checkpoint, by step number, and its name.
    pub fn latest_checkpoint(&self) -> Result<Option<(u64, String)>> {
        let names = self
            .store
            .list("checkpoints")
            .map_err(|e| RunError::new(format!("cannot list `{}`: {e}", self.store.locate("checkpoints"))))?;
        Ok(names
            .iter()
            .filter_map(|n| Some((n.strip_prefix("step-")?.strip_suffix(".safetensors")?.parse::<u64>().ok()?, n)))
            .max_by_key(|(s, _)| *s)
            .map(|(s, n)| (s, format!("checkpoints/{n}"))))
    }
}
