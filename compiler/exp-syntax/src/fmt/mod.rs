//! The canonical formatter: 4-space indentation, one statement per line, lines of at most
//! 100 columns where a break is possible, and every `//` comment kept.
//!
//! Layout rules (see also `expr.rs` for expressions):
//! - items are separated by one blank line when either is more than one line long or has
//!   docs; two one-line items keep the user's choice (none or one blank line), so runs of
//!   `use` lines or `= builtin` declarations stay together;
//! - inside bodies, at most one blank line is kept where the user had any;
//! - `;` separators are dropped, named arguments are written `name: value`, a braced
//!   declaration body is written without `=`, and the file ends with one newline.
//!
//! Comments are attached to statements (an item, an experiment/optimizer/sweep statement, a
//! probe entry, a `let` of a braced body): a comment before one is printed on its own line
//! before it; a comment after one on the same line stays at the end of its line; a comment
//! after a `{` on the same line stays there; a comment inside a statement (inside a
//! multi-line expression) moves to its own line before that statement. Comments never move
//! across statements, which makes the layout idempotent.
//!
//! A file with syntax errors is returned unchanged: the tree is incomplete, and formatting it
//! would drop the broken items.

mod doc;
mod expr;
mod items;

use crate::ast::{Comment, File};

/// Formats `file`, which must be the parse of `text` (the source supplies comments and the
/// spelling of number literals). Returns `text` unchanged if `file` has errors.
pub fn format(file: &File, text: &str) -> String {
    if !file.errors.is_empty() {
        return text.to_string();
    }
    let mut f = Formatter { src: text, comments: &file.comments, next: 0, last_end: 0, out: String::new() };
    f.file(file);
    let mut out = f.out.trim_end().to_string();
    out.push('\n');
    if out.trim().is_empty() {
        return String::new();
    }
    out
}

/// The formatter's state: where it is in the comments and what it has written.
struct Formatter<'a> {
    src: &'a str,
    comments: &'a [Comment],
    /// The next comment not yet written.
    next: usize,
    /// Source offset just after the last thing written, to detect the user's blank lines.
    last_end: usize,
    out: String,
}

impl Formatter<'_> {
    /// Writes `line` (which may hold several lines already indented after the first) at
    /// `indent`.
    fn line(&mut self, indent: usize, line: &str) {
        self.out.extend(std::iter::repeat_n(' ', indent));
        self.out.push_str(line);
        self.out.push('\n');
    }

    /// Whether the source has a blank line between offsets `a` and `b`.
    fn blank_between(&self, a: usize, b: usize) -> bool {
        let Some(gap) = self.src.get(a.min(b)..b) else {
            return false;
        };
        let mut lines = gap.split('\n');
        lines.next();
        // The last piece is the start of the line holding `b`, not a whole line.
        let whole: Vec<&str> = lines.collect();
        whole.len() >= 2 && whole[..whole.len() - 1].iter().any(|l| l.trim().is_empty())
    }

    /// A blank line before something starting at `start`, if the user had one there.
    fn keep_blank(&mut self, start: usize, first: bool) {
        if !first && self.blank_between(self.last_end, start) {
            self.out.push('\n');
        }
    }

    /// Writes every comment that starts before `pos` on its own line at `indent`.
    fn comments_before(&mut self, pos: usize, indent: usize, first: &mut bool) {
        while let Some(c) = self.comments.get(self.next).filter(|c| (c.span.start as usize) < pos) {
            let (start, end) = (c.span.start as usize, c.span.end as usize);
            let text = c.text.trim_end().to_string();
            self.keep_blank(start, *first);
            self.line(indent, &text);
            self.next += 1;
            self.last_end = self.last_end.max(end);
            *first = false;
        }
    }

    /// After something ending at `end` was written: a comment on the same source line goes
    /// at the end of the last output line.
    fn trailing(&mut self, end: usize) {
        self.last_end = self.last_end.max(end);
        let Some(c) = self.comments.get(self.next) else {
            return;
        };
        let start = c.span.start as usize;
        // Only separators may stand between: in `a = 1; b = 2 // c` the comment is `b`'s.
        let same_line = start >= end
            && self
                .src
                .get(end..start)
                .is_some_and(|gap| gap.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | ';' | ',')));
        if same_line {
            if self.out.ends_with('\n') {
                self.out.pop();
            }
            self.out.push(' ');
            self.out.push_str(c.text.trim_end());
            self.out.push('\n');
            self.next += 1;
            self.last_end = c.span.end as usize;
        }
    }
}
