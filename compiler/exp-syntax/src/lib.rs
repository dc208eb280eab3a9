//! Parsing of `.exp` source into a typed AST with byte spans, and the canonical formatter.
//!
//! This crate knows nothing about salsa, types or tensors: the formatter and editor
//! highlighting are built on it alone. Parsing never panics and never stops at the
//! first error: it returns the items it could read plus one error per broken item.
//!
//! How a file is parsed (see `scan.rs` and `recover.rs`):
//! 1. a cheap scan collects the `//` comments, cuts the file into top-level item chunks and
//!    finds problems pest reports badly (unterminated strings, nesting too deep to parse);
//! 2. a clean file is parsed in one pest call (the fast path);
//! 3. otherwise each chunk is parsed alone, so that one broken item costs one error and the
//!    items around it still parse.
//!
//! The grammar is `grammar/exp.pest`; its prose reference is `grammar/README.md`.
//! Unit tests live in `src/tests/`; the data-driven corpus is `tests/parse/{ok,err}` in the
//! workspace, run by `tests/src/parse.rs`.

mod build;
mod dump;
mod errors;
mod fmt;
mod grammar;
mod recover;
mod scan;
mod span;

#[cfg(test)]
mod tests;

pub mod ast;

pub use dump::{dump, dump_without_spans};
pub use fmt::format;
pub use span::{line_col, Span};

/// The deepest nesting the parser accepts, counted in brackets and in expression levels.
///
/// Every later phase walks the AST recursively, so a limit here keeps all of them safe from
/// stack overflows; real experiments nest a handful of levels deep.
pub const MAX_NESTING: usize = 256;

/// Parses a whole `.exp` file.
///
/// Never panics and never stops at the first error: `File::items` holds every item that
/// parsed (including those after a broken one), `File::errors` one error per broken item,
/// and `File::comments` every `//` comment.
pub fn parse(text: &str) -> ast::File {
    recover::parse_file(text)
}

/// The byte ranges of the file's top-level chunks: each holds one item (with its doc
/// comment and the comments before it) as the recovery scan cuts the file. Parsing each
/// chunk's text alone with [`parse`] gives the file's items with chunk-relative spans, which
/// is what lets the compiler re-parse only the chunk an edit touched.
pub fn item_chunks(text: &str) -> Vec<std::ops::Range<usize>> {
    scan::scan(text).chunks.iter().filter(|c| c.is_relevant()).map(|c| c.start..c.end).collect()
}

/// Parses one expression, e.g. the value of `--set optimizer.lr=3e-4` on the command line.
///
/// Spans are relative to `text`. Returns the first syntax error if `text` is not exactly one
/// expression (surrounding whitespace and comments are allowed).
pub fn parse_expr(text: &str) -> Result<ast::Expr, ast::SyntaxError> {
    recover::parse_expr(text)
}
