//! The salsa inputs and interned values. Salsa generates constructors, getters and
//! setters for them, which carry no doc comments; the items themselves are documented.
#![allow(missing_docs)]

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

/// The text of one top-level chunk of a file, interned: equal texts are one id, so a chunk
/// whose text did not change is not parsed again, wherever it moved.
#[salsa::interned(debug)]
pub struct Chunk<'db> {
    /// The chunk's text.
    #[returns(ref)]
    pub text: String,
}
