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

mod inputs;

pub use inputs::{Chunk, SourceFile, Workspace};

/// The database trait every compiler query takes.
#[salsa::db]
pub trait Db: salsa::Database {
    /// The workspace input (there is exactly one per database).
    fn workspace(&self) -> Workspace;
}

/// Parses a whole file into an owned AST plus its syntax errors (for tools that want the
/// file as one tree, such as the formatter). The checker works from [`file_chunks`].
#[salsa::tracked(returns(ref), no_eq)]
pub fn parse(db: &dyn Db, file: SourceFile) -> Arc<ast::File> {
    Arc::new(exp_syntax::parse(file.text(db)))
}

/// An item as parsed from its chunk, with spans relative to the chunk's start. Equality
/// checks the pointer first: an unchanged chunk hands out the same `Arc` every revision.
#[derive(Clone, Debug)]
pub struct ItemAst(pub Arc<ast::Item>);

impl PartialEq for ItemAst {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl std::ops::Deref for ItemAst {
    type Target = ast::Item;
    fn deref(&self) -> &ast::Item {
        &self.0
    }
}

/// The items and syntax errors of one chunk, spans relative to the chunk.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ChunkParse {
    /// The items, each shared so that downstream copies are cheap.
    pub items: Vec<ItemAst>,
    /// Syntax errors.
    pub errors: Vec<ast::SyntaxError>,
}

/// Parses one chunk. Memoized by the chunk's text.
#[salsa::tracked(returns(ref))]
pub fn parse_chunk<'db>(db: &'db dyn Db, chunk: Chunk<'db>) -> Arc<ChunkParse> {
    let file = exp_syntax::parse(chunk.text(db));
    Arc::new(ChunkParse { items: file.items.into_iter().map(|i| ItemAst(Arc::new(i))).collect(), errors: file.errors })
}

/// The chunks of a file with their start offsets. Re-runs on every edit (a cheap scan);
/// only chunks with new text are parsed again.
#[salsa::tracked(returns(ref))]
pub fn file_chunks<'db>(db: &'db dyn Db, file: SourceFile) -> Vec<(u32, Chunk<'db>)> {
    let text = file.text(db);
    exp_syntax::item_chunks(text).into_iter().map(|r| (r.start as u32, Chunk::new(db, text[r].to_string()))).collect()
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
