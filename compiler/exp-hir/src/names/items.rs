//! The item index: one tracked entity per top-level item, with item-relative spans.
//!
//! `file_items` re-runs on every edit of a file, but it re-creates each [`ItemDef`] with the
//! same identity (file + key) and compares the stored AST field. Items are parsed per chunk
//! (`exp_db::parse_chunk`, memoized by the chunk's text) with chunk-relative spans, so only
//! the item whose text changed gets a new `ast` value, and only queries that read that item
//! re-execute. Unchanged items share the same `Arc`, so the comparison is a pointer check.

use exp_db::{Db, ItemAst, SourceFile};
use exp_syntax::ast::{self, DeclKind, ItemKind};
use std::collections::BTreeMap;

/// One top-level item of one file.
#[salsa::tracked(debug)]
pub struct ItemDef<'db> {
    /// The file that defines it.
    #[returns(copy)]
    pub file: SourceFile,
    /// Its name; `use#N` for the N-th `use`; `name#N` for the N-th duplicate of a name.
    #[returns(ref)]
    pub key: String,
    /// Byte offset of the item's chunk in its file: add it to the AST's relative spans.
    #[tracked]
    #[returns(copy)]
    pub offset: u32,
    /// The item's AST with spans relative to `offset`.
    #[tracked]
    #[returns(ref)]
    pub ast: ItemAst,
}

/// What kind of thing a name defines; the part of an item other items may depend on cheaply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DefKind {
    /// `fn`
    Fn,
    /// `block`
    Block,
    /// `data`
    Data,
    /// `loss`
    Loss,
    /// `schedule`
    Schedule,
    /// `probe`
    Probe,
    /// `metric`
    Metric,
    /// `optimizer`
    Optimizer,
    /// `experiment`
    Experiment,
    /// `sweep`
    Sweep,
}

impl DefKind {
    /// The keyword that declares this kind of item.
    pub fn keyword(self) -> &'static str {
        match self {
            DefKind::Fn => "fn",
            DefKind::Block => "block",
            DefKind::Data => "data",
            DefKind::Loss => "loss",
            DefKind::Schedule => "schedule",
            DefKind::Probe => "probe",
            DefKind::Metric => "metric",
            DefKind::Optimizer => "optimizer",
            DefKind::Experiment => "experiment",
            DefKind::Sweep => "sweep",
        }
    }

    /// The kind of a declaration keyword.
    pub fn of_decl(kind: DeclKind) -> DefKind {
        match kind {
            DeclKind::Fn => DefKind::Fn,
            DeclKind::Block => DefKind::Block,
            DeclKind::Data => DefKind::Data,
            DeclKind::Loss => DefKind::Loss,
            DeclKind::Schedule => DefKind::Schedule,
            DeclKind::Probe => DefKind::Probe,
            DeclKind::Metric => DefKind::Metric,
        }
    }

    /// The kind of a parsed item; `None` for `use`.
    pub fn of(item: &ast::Item) -> Option<DefKind> {
        Some(match &item.kind {
            ItemKind::Use(_) => return None,
            ItemKind::Decl(d) => DefKind::of_decl(d.kind),
            ItemKind::Optimizer(_) => DefKind::Optimizer,
            ItemKind::Experiment(_) => DefKind::Experiment,
            ItemKind::Sweep(_) => DefKind::Sweep,
        })
    }
}

/// The items of a file, in source order.
#[salsa::tracked(returns(ref))]
pub fn file_items<'db>(db: &'db dyn Db, file: SourceFile) -> Vec<ItemDef<'db>> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut uses = 0;
    let mut out = Vec::new();
    for (start, chunk) in exp_db::file_chunks(db, file) {
        for item in &exp_db::parse_chunk(db, *chunk).items {
            let key = match item.name() {
                Some(name) => {
                    let n = seen.entry(name.name.clone()).or_default();
                    *n += 1;
                    if *n == 1 {
                        name.name.clone()
                    } else {
                        format!("{}#{}", name.name, n)
                    }
                }
                None => {
                    uses += 1;
                    format!("use#{uses}")
                }
            };
            out.push(ItemDef::new(db, file, key, *start, item.clone()));
        }
    }
    out
}

/// The syntax errors of a file, with absolute spans.
pub fn syntax_errors(db: &dyn Db, file: SourceFile) -> Vec<exp_syntax::ast::SyntaxError> {
    let mut out = Vec::new();
    for (start, chunk) in exp_db::file_chunks(db, file) {
        for e in &exp_db::parse_chunk(db, *chunk).errors {
            out.push(exp_syntax::ast::SyntaxError { span: e.span.shift(*start as usize), ..e.clone() });
        }
    }
    out
}

/// The names a file defines and their kinds: what importers and callers depend on.
///
/// Re-runs on every edit of the file but is usually equal to its previous value, so salsa
/// backdates it and name resolution elsewhere is reused.
#[salsa::tracked(returns(ref))]
pub fn item_names(db: &dyn Db, file: SourceFile) -> BTreeMap<String, DefKind> {
    let mut names = BTreeMap::new();
    for item in file_items(db, file) {
        let ast = item.ast(db);
        if let (Some(name), Some(kind)) = (ast.name(), DefKind::of(ast)) {
            names.entry(name.name.clone()).or_insert(kind);
        }
    }
    names
}

/// The item with this key in this file.
pub fn lookup<'db>(db: &'db dyn Db, file: SourceFile, key: &str) -> Option<ItemDef<'db>> {
    file_items(db, file).iter().copied().find(|it| it.key(db) == key)
}

/// The keys of a file's experiments, in source order.
pub fn experiments(db: &dyn Db, file: SourceFile) -> Vec<String> {
    file_items(db, file)
        .iter()
        .filter(|it| DefKind::of(it.ast(db)) == Some(DefKind::Experiment))
        .map(|it| it.key(db).clone())
        .collect()
}
