//! A cursor over one line of IR text: the lexical layer of the parser.
//!
//! Tokens are read on demand rather than up front because a few constructs (shapes, whose dims
//! belong to `exp_ops`' own parser) are handed over as raw text.
//! Every method either consumes input and succeeds, or reports a [`ParseError`] at the current
//! column; positions only ever advance over whole characters, so slicing cannot panic.

mod literal;

use super::ParseError;
use crate::types::Origin;
use exp_ops::{Dim, Shape};

/// Lists and tuples nest at most this deep, so hostile input cannot overflow the stack.
pub(crate) const MAX_VALUE_DEPTH: u32 = 32;

/// Position within one line.
pub(crate) struct Cursor<'a> {
    text: &'a str,
    pos: usize,
    line: u32,
}

type Res<T> = Result<T, ParseError>;

impl<'a> Cursor<'a> {
    /// A cursor at the start of `text`, which is line `line` (1-based) of the input.
    pub(crate) fn new(text: &'a str, line: u32) -> Cursor<'a> {
        Cursor { text, pos: 0, line }
    }

    /// An error at the current position.
    pub(crate) fn error(&self, message: impl Into<String>) -> ParseError {
        let column = self.text.get(..self.pos).map_or(1, |s| s.chars().count() + 1);
        ParseError { line: self.line, column: u32::try_from(column).unwrap_or(u32::MAX), message: message.into() }
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or("")
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start_matches([' ', '\t']).len();
    }

    /// An `expected X, found Y` error at the next token, quoting what comes next.
    fn unexpected(&mut self, expected: &str) -> ParseError {
        self.skip_ws();
        let found = match self.rest().chars().next() {
            None => "end of line".to_string(),
            Some(_) => format!("`{}`", self.rest().chars().take(12).collect::<String>()),
        };
        self.error(format!("expected {expected}, found {found}"))
    }

    /// Consumes `sym` if it comes next (after blanks).
    pub(crate) fn eat(&mut self, sym: &str) -> bool {
        self.skip_ws();
        if self.rest().starts_with(sym) {
            self.pos += sym.len();
            true
        } else {
            false
        }
    }

    /// Consumes `sym` or fails.
    pub(crate) fn expect(&mut self, sym: &str) -> Res<()> {
        if self.eat(sym) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{sym}`")))
        }
    }

    /// Whether only blanks remain.
    pub(crate) fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.rest().is_empty()
    }

    /// Fails unless only blanks remain.
    pub(crate) fn expect_end(&mut self) -> Res<()> {
        if self.at_end() {
            Ok(())
        } else {
            Err(self.unexpected("end of line"))
        }
    }

    /// The next word (`[A-Za-z_][A-Za-z0-9_.]*`) without consuming it.
    pub(crate) fn peek_word(&mut self) -> Option<&'a str> {
        self.skip_ws();
        let rest = self.rest();
        if !rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            return None;
        }
        let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')).unwrap_or(rest.len());
        rest.get(..len)
    }

    /// Consumes and returns the next word.
    pub(crate) fn word(&mut self) -> Res<&'a str> {
        match self.peek_word() {
            Some(w) => {
                self.pos += w.len();
                Ok(w)
            }
            None => Err(self.unexpected("a name")),
        }
    }

    /// Consumes the next run of non-blank characters (possibly empty).
    pub(crate) fn token(&mut self) -> &'a str {
        self.skip_ws();
        let rest = self.rest();
        let len = rest.find([' ', '\t']).unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    /// Consumes a graph value reference `%name` and returns `name` (digits or an identifier).
    pub(crate) fn value_ref(&mut self) -> Res<&'a str> {
        self.expect("%")?;
        let rest = self.rest();
        let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
        if len == 0 {
            return Err(self.error("expected a value name after `%`"));
        }
        self.pos += len;
        Ok(&rest[..len])
    }

    /// Whether the next character (after blanks) is `c`.
    pub(crate) fn peek_is(&mut self, c: char) -> bool {
        self.skip_ws();
        self.rest().starts_with(c)
    }

    /// Consumes a plain identifier (a word without dots).
    pub(crate) fn ident(&mut self) -> Res<&'a str> {
        let start = self.pos;
        let w = self.word()?;
        if w.contains('.') {
            self.pos = start;
            return Err(self.error(format!("expected a name without dots, found `{w}`")));
        }
        Ok(w)
    }

    /// Consumes a dotted path such as `model.layers.0.weight`.
    pub(crate) fn path(&mut self) -> Res<&'a str> {
        let start = self.pos;
        let w = self.word()?;
        if !crate::names::is_path(w) {
            self.pos = start;
            self.skip_ws();
            return Err(self.error(format!("`{w}` is not a dotted path")));
        }
        Ok(w)
    }

    /// Consumes the keyword `kw` or fails.
    pub(crate) fn keyword(&mut self, kw: &str) -> Res<()> {
        if self.peek_word() == Some(kw) {
            self.pos += kw.len();
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{kw}`")))
        }
    }

    /// Consumes the keyword `kw` if it comes next.
    pub(crate) fn eat_keyword(&mut self, kw: &str) -> bool {
        self.keyword(kw).is_ok()
    }

    /// Consumes a shape in brackets, parsed by `exp_ops`.
    pub(crate) fn shape(&mut self) -> Res<Shape> {
        self.skip_ws();
        let rest = self.rest();
        if !rest.starts_with('[') {
            return Err(self.unexpected("a shape like `[B, 10]`"));
        }
        // Dims never contain brackets, so the first `]` closes the shape.
        let end = rest.find(']').ok_or_else(|| self.error("unclosed `[` in shape"))?;
        guard_nesting(&rest[..end]).map_err(|e| self.error(e))?;
        let shape = Shape::parse(&rest[..=end]).map_err(|e| self.error(format!("bad shape: {e}")))?;
        self.pos += end + 1;
        Ok(shape)
    }

    /// Consumes one dimension expression, ending before a `,` or an unmatched `)`, parsed by
    /// `exp_ops` (initializer fans are dims).
    pub(crate) fn dim(&mut self) -> Res<Dim> {
        self.skip_ws();
        let rest = self.rest();
        let mut depth = 0u32;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    end = i;
                    break;
                }
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        guard_nesting(&rest[..end]).map_err(|e| self.error(e))?;
        let dim = Dim::parse(&rest[..end]).map_err(|e| self.error(format!("bad dimension: {e}")))?;
        self.pos += end;
        Ok(dim)
    }

    /// Consumes an origin `@file:start..end` if one comes next.
    pub(crate) fn origin(&mut self) -> Res<Option<Origin>> {
        self.skip_ws();
        if !self.rest().starts_with('@') || !self.rest()[1..].starts_with(|c: char| c.is_ascii_digit()) {
            return Ok(None);
        }
        self.pos += 1;
        let file = self.u32()?;
        self.expect(":")?;
        let start = self.u32()?;
        self.expect("..")?;
        let end = self.u32()?;
        Ok(Some(Origin { file, start, end }))
    }
}

/// Rejects dimension text nested deeper than [`MAX_VALUE_DEPTH`] before it reaches the
/// recursive parser in `exp_ops`, which recurses once per parenthesis and per unary minus.
fn guard_nesting(text: &str) -> Result<(), &'static str> {
    let (mut depth, mut minuses) = (0u32, 0u32);
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '-' => minuses += 1,
            _ => {}
        }
        if depth > MAX_VALUE_DEPTH || minuses > 8 * MAX_VALUE_DEPTH {
            return Err("dimension nests too deeply");
        }
    }
    Ok(())
}
