//! Reading source files into the database: the only file input of the compiler.
//!
//! Files named on the command line are loaded first; files they import with
//! `use "..."` are followed transitively. Paths are kept as the user wrote them (joined
//! with `/`), so diagnostics name files the way the user knows them.

use std::path::{Path, PathBuf};

use exp_db::{RootDb, SourceFile};

/// A file that could not be read.
#[derive(Debug)]
pub struct LoadError {
    /// The path.
    pub path: String,
    /// Why.
    pub error: std::io::Error,
}

/// Expands directories into the `.exp` files below them, sorted.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<String>, LoadError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found).map_err(|error| LoadError { path: p.display().to_string(), error })?;
            found.sort();
            out.extend(found);
        } else {
            out.push(normalize(p));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "exp") {
            out.push(normalize(&path));
        }
    }
    Ok(())
}

fn normalize(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

/// Loads the named files and everything they import; returns the named files.
pub fn load(db: &mut RootDb, paths: &[String]) -> Result<Vec<SourceFile>, LoadError> {
    let mut roots = Vec::new();
    for p in paths {
        roots.push(load_one(db, p)?);
    }
    let mut queue: Vec<SourceFile> = roots.clone();
    while let Some(f) = queue.pop() {
        for rel in exp_hir::scope::relative_imports(db, f) {
            if db.file(&rel).is_none() {
                // A missing import is reported by name resolution with a span; skip it here.
                if let Ok(text) = std::fs::read_to_string(&rel) {
                    queue.push(db.set_file(&rel, &text));
                }
            }
        }
    }
    Ok(roots)
}

fn load_one(db: &mut RootDb, path: &str) -> Result<SourceFile, LoadError> {
    if let Some(f) = db.file(path) {
        return Ok(f);
    }
    let text = std::fs::read_to_string(path).map_err(|error| LoadError { path: path.to_string(), error })?;
    Ok(db.set_file(path, &text))
}
