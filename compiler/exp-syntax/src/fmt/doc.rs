//! A small Wadler-style pretty printer: documents with groups that lay out flat when they fit
//! in the line width and break their lines otherwise.
//!
//! Only expressions and declaration headers use it; statements are laid out one per line
//! by `items.rs`. The algorithm is the usual one (as in prettier): a group is printed flat if
//! it, plus whatever follows it up to the next line break, fits in the remaining width.

/// The line width the formatter aims for.
pub(crate) const WIDTH: usize = 100;

/// The indentation step.
pub(crate) const INDENT: usize = 4;

/// A document to lay out.
#[derive(Clone, Debug)]
pub(crate) enum Doc {
    /// Literal text without newlines.
    Text(String),
    /// A space when flat, a newline when broken.
    Line,
    /// Nothing when flat, a newline when broken.
    SoftLine,
    /// Text printed only when the enclosing group is broken (a trailing comma).
    IfBreak(&'static str),
    /// Text printed only when the enclosing group is flat (`;` between `let`s on one line).
    IfFlat(&'static str),
    /// The contents, one indentation step deeper after each newline.
    Indent(Vec<Doc>),
    /// Contents laid out flat if they fit, broken otherwise.
    Group(Vec<Doc>),
    /// Contents in sequence.
    Concat(Vec<Doc>),
}

/// Text.
pub(crate) fn text(s: impl Into<String>) -> Doc {
    Doc::Text(s.into())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flat,
    Break,
}

/// Lays out `doc` starting at column `col`, with `indent` as the indentation of its broken
/// lines before any `Indent`.
pub(crate) fn render(doc: &Doc, indent: usize, col: usize) -> String {
    let mut out = String::new();
    let mut col = col;
    let mut stack: Vec<(usize, Mode, &Doc)> = vec![(indent, Mode::Break, doc)];
    while let Some((ind, mode, doc)) = stack.pop() {
        match doc {
            Doc::Text(s) => {
                out.push_str(s);
                col += s.chars().count();
            }
            Doc::Line | Doc::SoftLine if mode == Mode::Break => {
                out.push('\n');
                out.extend(std::iter::repeat_n(' ', ind));
                col = ind;
            }
            Doc::Line => {
                out.push(' ');
                col += 1;
            }
            Doc::SoftLine => {}
            Doc::IfBreak(s) | Doc::IfFlat(s) => {
                if (mode == Mode::Break) == matches!(doc, Doc::IfBreak(_)) {
                    out.push_str(s);
                    col += s.len();
                }
            }
            Doc::Indent(docs) => stack.extend(docs.iter().rev().map(|d| (ind + INDENT, mode, d))),
            Doc::Concat(docs) => stack.extend(docs.iter().rev().map(|d| (ind, mode, d))),
            Doc::Group(docs) => {
                let flat = mode == Mode::Flat || fits(WIDTH as isize - col as isize, docs, &stack);
                let mode = if flat { Mode::Flat } else { Mode::Break };
                stack.extend(docs.iter().rev().map(|d| (ind, mode, d)));
            }
        }
    }
    out
}

/// Whether `docs` laid out flat, followed by `rest` up to its first line break, fits in
/// `width` columns.
fn fits(mut width: isize, docs: &[Doc], rest: &[(usize, Mode, &Doc)]) -> bool {
    let mut todo: Vec<(Mode, &Doc)> = docs.iter().rev().map(|d| (Mode::Flat, d)).collect();
    let mut rest = rest.iter().rev();
    loop {
        if width < 0 {
            return false;
        }
        let (mode, doc) = match todo.pop() {
            Some(next) => next,
            None => match rest.next() {
                Some(&(_, mode, doc)) => (mode, doc),
                None => return true,
            },
        };
        match doc {
            Doc::Text(s) => width -= s.chars().count() as isize,
            Doc::Line | Doc::SoftLine if mode == Mode::Break => return true,
            Doc::Line => width -= 1,
            Doc::SoftLine => {}
            Doc::IfBreak(s) if mode == Mode::Break => width -= s.len() as isize,
            Doc::IfFlat(s) if mode == Mode::Flat => width -= s.len() as isize,
            Doc::IfBreak(_) | Doc::IfFlat(_) => {}
            Doc::Indent(ds) | Doc::Concat(ds) | Doc::Group(ds) => {
                todo.extend(ds.iter().rev().map(|d| (mode, d)));
            }
        }
    }
}
