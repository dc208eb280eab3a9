//! Every file the runtime touches goes through this module: a run's own files through the
//! [`RunStore`] trait, and the inputs a user names (data files, `--init-from`) through
//! [`read_input`]. Nothing else in the runtime calls `std::fs`, so a test can run a whole
//! training on a store that fails the way disks do (full, read-only, gone half-way) and check
//! that the run reports it and loses nothing.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::{Result, RunError};

/// The files of one run, named by `/`-separated paths relative to the run directory
/// (`metrics.jsonl`, `checkpoints/step-100.safetensors`).
pub trait RunStore: Send + Sync + Debug {
    /// Replaces the file `name` with `bytes` atomically: a reader sees the old file or the
    /// new one, never a part.
    fn write(&self, name: &str, bytes: &[u8]) -> io::Result<()>;
    /// The file `name`, or `None` if there is none.
    fn read(&self, name: &str) -> io::Result<Option<Vec<u8>>>;
    /// Appends `line` and a newline to the file `name`.
    fn append(&self, name: &str, line: &str) -> io::Result<()>;
    /// The names of the files directly inside the directory `dir` (empty if it does not exist).
    fn list(&self, dir: &str) -> io::Result<Vec<String>>;
    /// Where the file `name` is, for messages.
    fn locate(&self, name: &str) -> String;
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, synced, then
/// renamed over the destination.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    let written = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    match written {
        Ok(()) => fs::rename(&tmp, path),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// A run directory on disk.
#[derive(Debug)]
pub struct FsStore {
    root: PathBuf,
}

impl FsStore {
    /// Creates the directory (and `checkpoints/`), and checks that it is writable before any
    /// training starts.
    pub fn create(root: &Path) -> Result<FsStore> {
        let fail = |e: io::Error| {
            RunError::new(format!("cannot create the run directory `{}`: {e}", root.display()))
                .with_help("choose another place with `--out DIR`")
        };
        fs::create_dir_all(root.join("checkpoints")).map_err(fail)?;
        let probe = root.join(".write-test");
        fs::write(&probe, b"ok").map_err(fail)?;
        fs::remove_file(&probe).map_err(fail)?;
        Ok(FsStore { root: root.to_path_buf() })
    }

    /// An existing run directory, to read (`--resume`); nothing is created.
    pub fn open(root: &Path) -> FsStore {
        FsStore { root: root.to_path_buf() }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, name: &str) -> PathBuf {
        name.split('/').fold(self.root.clone(), |p, part| p.join(part))
    }
}

impl RunStore for FsStore {
    fn write(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.path(name);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        write_atomic(&path, bytes)
    }

    fn read(&self, name: &str) -> io::Result<Option<Vec<u8>>> {
        match fs::read(self.path(name)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn append(&self, name: &str, line: &str) -> io::Result<()> {
        let mut f = fs::OpenOptions::new().create(true).append(true).open(self.path(name))?;
        writeln!(f, "{line}")
    }

    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        match fs::read_dir(self.path(dir)) {
            Ok(entries) => Ok(entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    fn locate(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
}

/// A run directory in memory: for tests, and for runs whose files nobody keeps.
#[derive(Debug, Default)]
pub struct MemStore {
    files: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemStore {
    /// The names of every file, sorted.
    pub fn names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        // A panic while holding the lock cannot leave a half-written file: each operation
        // replaces or extends one entry.
        self.files.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl RunStore for MemStore {
    fn write(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        self.lock().insert(name.to_string(), bytes.to_vec());
        Ok(())
    }

    fn read(&self, name: &str) -> io::Result<Option<Vec<u8>>> {
        Ok(self.lock().get(name).cloned())
    }

    fn append(&self, name: &str, line: &str) -> io::Result<()> {
        let mut files = self.lock();
        let f = files.entry(name.to_string()).or_default();
        f.extend_from_slice(line.as_bytes());
        f.push(b'\n');
        Ok(())
    }

    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        let prefix = format!("{dir}/");
        Ok(self
            .lock()
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter(|k| !k.contains('/'))
            .map(String::from)
            .collect())
    }

    fn locate(&self, name: &str) -> String {
        format!("<memory>/{name}")
    }
}

/// The whole input file at `path` (a data file, a checkpoint to start from); a missing file
/// or directory is reported as such.
pub fn read_input(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => missing(path),
        _ => RunError::new(format!("cannot read `{}`: {e}", path.display())),
    })
}

/// Whether an input file exists.
pub fn input_exists(path: &Path) -> bool {
    path.exists()
}

/// The error for an input that does not exist: names the directory when that is what is
/// missing.
pub fn missing(path: &Path) -> RunError {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.is_dir());
    match dir {
        Some(d) => RunError::new(format!("cannot find the directory `{}`", d.display())),
        None => RunError::new(format!("cannot find the file `{}`", path.display())),
    }
    .with_help("paths in a data declaration are relative to the `.exp` file")
}
