//! A cheap pre-pass over the source: comments, item boundaries, and early problems.
//!
//! The scan runs before pest on every file. It
//! - collects every `//` comment for `File::comments` (pest skips them silently);
//! - cuts the file into chunks, one per top-level item, so that recovery can parse each item
//!   alone: an item starts at a line whose first token is an item keyword or `///`, at
//!   bracket depth 0; at depth > 0 (an earlier item was left open) a line that starts in
//!   column 0 with `use` or with an item keyword followed by a non-keyword name also starts
//!   one, so a missing `}` costs one error instead of swallowing the rest of the file;
//! - a `}` with nothing open starts its own chunk, which then fails alone;
//! - reports unterminated strings and brackets nested deeper than [`MAX_NESTING`] without
//!   calling pest, whose messages for them are poor and whose recursion they would strain.
//!
//! Strings and comments are skipped when counting brackets.

use crate::ast::{Comment, SyntaxError};
use crate::grammar::{is_keyword, ITEM_KEYWORDS};
use crate::{Span, MAX_NESTING};

/// The result of scanning one file.
pub(crate) struct Scan {
    /// Every `//` comment, in source order.
    pub comments: Vec<Comment>,
    /// Consecutive chunks covering the whole text.
    pub chunks: Vec<Chunk>,
}

/// A byte range of the source holding at most one item (plus comments around it).
pub(crate) struct Chunk {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// Whether anything besides whitespace and comments is in it.
    pub has_code: bool,
    /// Whether it holds a doc comment (a chunk of only docs is an error: no item follows).
    pub has_docs: bool,
    /// A problem found by the scan; pest is not run on such a chunk.
    pub problem: Option<SyntaxError>,
}

impl Chunk {
    fn new(start: usize) -> Chunk {
        Chunk { start, end: start, has_code: false, has_docs: false, problem: None }
    }

    /// Whether the chunk must be parsed (or reported) at all.
    pub fn is_relevant(&self) -> bool {
        self.has_code || self.has_docs
    }
}

/// Scans `text`; see the module documentation.
pub(crate) fn scan(text: &str) -> Scan {
    let mut s = Scanner {
        text,
        b: text.as_bytes(),
        i: 0,
        stack: Vec::new(),
        comments: Vec::new(),
        chunks: Vec::new(),
        cur: Chunk::new(0),
    };
    s.run();
    let mut last = s.cur;
    last.end = text.len();
    s.chunks.push(last);
    Scan { comments: s.comments, chunks: s.chunks }
}

struct Scanner<'t> {
    text: &'t str,
    b: &'t [u8],
    i: usize,
    /// Open brackets: the byte and where it is.
    stack: Vec<(u8, usize)>,
    comments: Vec<Comment>,
    chunks: Vec<Chunk>,
    cur: Chunk,
}

impl Scanner<'_> {
    fn run(&mut self) {
        self.line_start();
        while self.i < self.b.len() {
            match self.b[self.i] {
                b'\n' => {
                    self.i += 1;
                    self.line_start();
                }
                b' ' | b'\t' | b'\r' => self.i += 1,
                b'/' if self.b.get(self.i + 1) == Some(&b'/') => self.comment(),
                b'"' => self.string(),
                open @ (b'(' | b'[' | b'{') => self.open(open),
                close @ (b')' | b']' | b'}') => self.close(close),
                _ => {
                    self.cur.has_code = true;
                    self.i += 1;
                }
            }
        }
    }

    /// Called at the start of every line: decides whether an item starts on it.
    fn line_start(&mut self) {
        let line = self.i;
        let mut j = line;
        while j < self.b.len() && matches!(self.b[j], b' ' | b'\t' | b'\r') {
            j += 1;
        }
        if j < self.b.len() && self.item_starts_at(j, j - line) {
            if self.cur.has_code {
                self.split(j);
            }
            self.stack.clear();
        }
    }

    fn item_starts_at(&self, j: usize, col: usize) -> bool {
        let rest = &self.b[j..];
        if rest.starts_with(b"///") && !rest.starts_with(b"////") {
            return self.stack.is_empty() || col == 0;
        }
        let word = word_at(self.text, j);
        if !ITEM_KEYWORDS.contains(&word) {
            return false;
        }
        if self.stack.is_empty() {
            return true;
        }
        if col != 0 {
            return false;
        }
        // Inside an unclosed item, only a line that reads like an item header counts, so
        // that `data = mod97` or `probe every ...` in a body never starts an item.
        let mut k = j + word.len();
        while k < self.b.len() && matches!(self.b[k], b' ' | b'\t') {
            k += 1;
        }
        let next = word_at(self.text, k);
        word == "use" || (!next.is_empty() && !is_keyword(next))
    }

    fn split(&mut self, at: usize) {
        let mut done = std::mem::replace(&mut self.cur, Chunk::new(at));
        done.end = at;
        self.chunks.push(done);
    }

    fn comment(&mut self) {
        let start = self.i;
        let end = self.b[start..].iter().position(|&c| c == b'\n').map_or(self.b.len(), |n| start + n);
        let is_doc = self.b.get(start + 2) == Some(&b'/') && self.b.get(start + 3) != Some(&b'/');
        if is_doc {
            self.cur.has_docs = true;
        } else {
            let text_end = if end > start && self.b[end - 1] == b'\r' { end - 1 } else { end };
            self.comments
                .push(Comment { span: Span::new(start, text_end), text: self.text[start..text_end].to_string() });
        }
        self.i = end;
    }

    fn string(&mut self) {
        self.cur.has_code = true;
        let start = self.i;
        let mut j = start + 1;
        loop {
            match self.b.get(j) {
                Some(b'"') => {
                    self.i = j + 1;
                    return;
                }
                Some(b'\\') if !matches!(self.b.get(j + 1), None | Some(b'\n')) => j += 2,
                None | Some(b'\n') => break,
                Some(_) => j += 1,
            }
        }
        let end = if j > start && self.b.get(j - 1) == Some(&b'\r') { j - 1 } else { j };
        self.problem(SyntaxError {
            span: Span::new(start, end),
            message: "unterminated string".into(),
            help: Some("add the closing `\"`; a string cannot span lines".into()),
        });
        self.i = j;
    }

    fn open(&mut self, open: u8) {
        self.cur.has_code = true;
        if self.stack.len() == MAX_NESTING {
            self.problem(SyntaxError {
                span: Span::new(self.i, self.i + 1),
                message: format!("brackets are nested more than {MAX_NESTING} levels deep"),
                help: Some("split the expression into smaller named parts".into()),
            });
        }
        self.stack.push((open, self.i));
        self.i += 1;
    }

    fn close(&mut self, close: u8) {
        let open = match close {
            b')' => b'(',
            b']' => b'[',
            _ => b'{',
        };
        if let Some(k) = self.stack.iter().rposition(|&(o, _)| o == open) {
            self.stack.truncate(k);
        } else if close == b'}' && self.stack.is_empty() && self.cur.has_code {
            // A `}` that closes nothing: give it a chunk of its own, so that the item
            // before it still parses.
            self.split(self.i);
        }
        self.cur.has_code = true;
        self.i += 1;
    }

    /// Records the first problem of the current chunk (later ones are usually echoes).
    fn problem(&mut self, error: SyntaxError) {
        if self.cur.problem.is_none() {
            self.cur.problem = Some(error);
        }
    }
}

/// The identifier-like word starting at byte `at` (empty if none).
pub(crate) fn word_at(text: &str, at: usize) -> &str {
    let b = text.as_bytes();
    if at >= b.len() || !(b[at].is_ascii_alphabetic() || b[at] == b'_') {
        return "";
    }
    let len = b[at..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_').count();
    &text[at..at + len]
}
