//! Shared helpers for the data-driven suites in `src/main.rs`: finding corpus files,
//! loading sources into a database, and rendering diagnostics stably for snapshots.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use exp_db::RootDb;
use exp_diagnostics::{Diagnostic, RenderStyle};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is inside the workspace").to_path_buf()
}

/// The `.exp` files of a corpus directory (relative to `tests/`), sorted.
pub fn corpus(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "exp"))
        .collect();
    out.sort();
    out
}

/// A database holding `text` as the file `name`, plus any sibling files it imports by
/// relative path from `dir`.
pub fn db_with(name: &str, text: &str, dir: Option<&Path>) -> (RootDb, exp_db::SourceFile) {
    let mut db = RootDb::default();
    let file = db.set_file(name, text);
    let mut queue = vec![file];
    while let Some(f) = queue.pop() {
        for rel in exp_hir::scope::relative_imports(&db, f) {
            if db.file(&rel).is_some() {
                continue;
            }
            let Some(dir) = dir else { continue };
            let on_disk = dir.join(rel.rsplit('/').next().unwrap_or(&rel));
            if let Ok(t) = std::fs::read_to_string(on_disk) {
                queue.push(db.set_file(&rel, &t));
            }
        }
    }
    (db, file)
}

/// The verified IR of an experiment through the lowering query (which elaborates through the
/// cached elaboration), or the failure as text.
pub fn lowered(db: &RootDb, file: exp_db::SourceFile, experiment: &str) -> Result<exp_ir::Program, String> {
    let item = exp_hir::items::lookup(db, file, experiment).ok_or_else(|| format!("no experiment `{experiment}`"))?;
    match exp_lower::lowered(db, item, None) {
        Ok(p) => Ok((**p).clone()),
        Err(e) => Err(format!("`{experiment}`: {e:?}")),
    }
}

/// All source texts of a database, for rendering.
pub fn sources(db: &RootDb) -> HashMap<String, Arc<str>> {
    exp_driver::sources(db)
}

/// Diagnostics rendered without colour at a fixed width, for snapshots.
pub fn render(db: &RootDb, diags: &[Diagnostic]) -> String {
    exp_diagnostics::render(diags, &sources(db), RenderStyle { color: false, unicode: true, width: 100 })
}

/// The file name of a path, for snapshot names.
pub fn stem(p: &Path) -> String {
    p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Tokens of the language (keywords, names, numbers, quantities, punctuation, comments): the
/// alphabet of the random-text and mutation tests.
pub const TOKENS: &[&str] = &[
    "fn",
    "block",
    "data",
    "loss",
    "experiment",
    "sweep",
    "optimizer",
    "schedule",
    "probe",
    "use",
    "every",
    "stop",
    "when",
    "for",
    "in",
    "if",
    "else",
    "let",
    "state",
    "repeat",
    "builtin",
    "extends",
    "over",
    "maximize",
    "minimize",
    "not",
    "and",
    "or",
    "true",
    "false",
    "x",
    "f",
    "g",
    "p",
    "seed",
    "0",
    "1",
    "-1",
    "2.5",
    "1e-3",
    "20_000",
    ".0",
    ".1",
    "steps",
    "epochs",
    "GiB",
    "\"s\"",
    "\"",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    ";",
    ".",
    "..",
    "=",
    "==",
    "<",
    ">=",
    "=>",
    "->",
    ">>",
    "+",
    "-",
    "*",
    "/",
    "%",
    "^",
    "\n",
    "//",
    "//c\n",
    "///d\n",
];
