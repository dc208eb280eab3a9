//! The salsa database: source files as inputs, and the parse query.
//!
//! Everything the compiler knows flows from two kinds of inputs: [`SourceFile`]s (user files
//! and the embedded standard library, which go through the same pipeline) and the
//! [`Workspace`] that lists them. This crate does no file IO: the driver reads files and
//! hands their text in, so tests run on in-memory sources.
//!
//! Diagnostics are returned as part of query results (the ty approach), not accumulated:
//! accumulators walk the whole dependency tree and were measured slower for editor use.

use std::sync::{Arc, Mutex};

use exp_syntax::ast;

/// A source file: its path as the user named it (or `std/optim.exp` for the standard library),
/// its text, and, for standard-library files, the module path (`std.optim`).
#[salsa::input(debug)]
pub struct SourceFile {
    /// The file's path, used in diagnostics and to resolve relative `use "..."` imports.
    #[returns(ref)]
    pub path: String,
    /// The file's text.
    #[returns(ref)]
    pub text: String,
    /// The module path for standard-library files; `None` for user files.
    #[returns(ref)]
    pub module: Option<String>,
}

/// The set of files the compiler can see: user files and standard-library modules.
#[salsa::input(debug)]
pub struct Workspace {
    /// User files, including those reached through relative `use "..."` imports.
    #[returns(ref)]
    pub files: Vec<SourceFile>,
    /// The standard library, one file per module.
    #[returns(ref)]
    pub stdlib: Vec<SourceFile>,
    /// Modules imported into every file without a `use`.
    #[returns(ref)]
    pub prelude: Vec<String>,
}

/// The database trait every compiler query takes.
#[salsa::db]
pub trait Db: salsa::Database {
    /// The workspace input (there is exactly one per database).
    fn workspace(&self) -> Workspace;
}

/// Parses a file into an owned AST plus its syntax errors.
///
/// The result changes whenever the text does (spans move), so equality is not worth checking:
/// downstream queries cut the AST into per-item pieces with item-relative spans, and those
/// pieces are what stays equal across edits elsewhere in the file.
#[salsa::tracked(returns(ref), no_eq)]
pub fn parse(db: &dyn Db, file: SourceFile) -> Arc<ast::File> {
    Arc::new(exp_syntax::parse(file.text(db)))
}

/// The concrete database used by the driver, the language server and tests.
///
/// It can record which queries executed, which is how the incremental tests prove that an
/// edit inside one item does not re-check the others.
#[salsa::db]
#[derive(Clone)]
pub struct RootDb {
    storage: salsa::Storage<Self>,
    workspace: Option<Workspace>,
    log: Arc<Mutex<Option<Vec<String>>>>,
}

impl Default for RootDb {
    fn default() -> Self {
        let log: Arc<Mutex<Option<Vec<String>>>> = Arc::default();
        let sink = log.clone();
        let storage = salsa::Storage::new(Some(Box::new(move |event: salsa::Event| {
            if let salsa::EventKind::WillExecute { database_key } = event.kind {
                if let Some(entries) = sink.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
                    entries.push(format!("{database_key:?}"));
                }
            }
        })));
        let mut db = RootDb { storage, workspace: None, log };
        let stdlib = exp_stdlib::FILES
            .iter()
            .map(|(module, path, text)| {
                SourceFile::new(&db, path.to_string(), text.to_string(), Some(module.to_string()))
            })
            .collect();
        let prelude = exp_stdlib::PRELUDE.iter().map(|m| m.to_string()).collect();
        db.workspace = Some(Workspace::new(&db, Vec::new(), stdlib, prelude));
        db
    }
}

#[salsa::db]
impl salsa::Database for RootDb {}

#[salsa::db]
impl Db for RootDb {
    fn workspace(&self) -> Workspace {
        self.workspace.expect("the workspace is created in RootDb::default")
    }
}

impl RootDb {
    /// Adds a user file (or replaces the text of one with the same path) and returns it.
    pub fn set_file(&mut self, path: &str, text: &str) -> SourceFile {
        use salsa::Setter;
        let ws = self.workspace();
        if let Some(file) = ws.files(self).iter().copied().find(|f| f.path(self) == path) {
            if file.text(self) != text {
                file.set_text(self).to(text.to_string());
            }
            return file;
        }
        let file = SourceFile::new(self, path.to_string(), text.to_string(), None);
        let mut files = ws.files(self).clone();
        files.push(file);
        ws.set_files(self).to(files);
        file
    }

    /// The user file with this path, if it was added.
    pub fn file(&self, path: &str) -> Option<SourceFile> {
        self.workspace().files(self).iter().copied().find(|f| f.path(self) == path)
    }

    /// Starts recording executed queries, dropping anything recorded before.
    pub fn start_logging(&self) {
        *self.log.lock().unwrap_or_else(|e| e.into_inner()) = Some(Vec::new());
    }

    /// The queries executed since [`RootDb::start_logging`] or the previous call, in order,
    /// as `query_name(id)` strings.
    pub fn take_log(&self) -> Vec<String> {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.as_mut().map(std::mem::take).unwrap_or_default()
    }
}
