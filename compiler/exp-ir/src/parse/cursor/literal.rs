//! Literals: numbers, strings and values (see [`crate::Value`]), read by the cursor.
//!
//! Number text is cut by hand (not by `str::parse` on the rest of the line) so that `120..135`
//! reads as an integer followed by `..`, and `0.weight` as `0` followed by a path; only the cut
//! text goes to Rust's exact float parser.

use super::{Cursor, Res, MAX_VALUE_DEPTH};
use crate::value::{Number, Unit, Value};

impl<'a> Cursor<'a> {
    /// The text of the next number (`-12`, `0.5`, `1e-8`, `-inf`, `nan`), consumed.
    fn number_text(&mut self) -> Res<&'a str> {
        self.skip_ws();
        let rest = self.rest();
        let unsigned = rest.strip_prefix('-').unwrap_or(rest);
        let sign = rest.len() - unsigned.len();
        let len = if unsigned.starts_with("inf") || (sign == 0 && unsigned.starts_with("nan")) {
            3
        } else {
            numeric_len(unsigned)
        };
        let word_continues =
            unsigned.get(len..).is_some_and(|r| r.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'));
        if len == 0 || (word_continues && !unsigned[..len].contains(|c: char| c.is_ascii_digit())) {
            return Err(self.unexpected("a number"));
        }
        self.pos += sign + len;
        Ok(&rest[..sign + len])
    }

    /// Consumes an unsigned integer.
    pub(crate) fn u64(&mut self) -> Res<u64> {
        let start = self.pos;
        let text = self.number_text()?;
        text.parse().map_err(|_| {
            self.pos = start;
            self.error(format!("expected a non-negative integer, found `{text}`"))
        })
    }

    /// Consumes an unsigned integer that fits in 32 bits.
    pub(crate) fn u32(&mut self) -> Res<u32> {
        let start = self.pos;
        let n = self.u64()?;
        u32::try_from(n).map_err(|_| {
            self.pos = start;
            self.error(format!("`{n}` does not fit in 32 bits"))
        })
    }

    /// Consumes a float (which must have a `.`, an exponent, or be `inf`/`nan`).
    pub(crate) fn f64(&mut self) -> Res<f64> {
        let start = self.pos;
        match self.number()? {
            Number::Float(x) => Ok(x),
            Number::Int(_) => {
                self.pos = start;
                Err(self.error("expected a float (with `.` or an exponent), found an integer"))
            }
        }
    }

    /// Consumes an integer or float.
    pub(crate) fn number(&mut self) -> Res<Number> {
        self.skip_ws();
        let start = self.pos;
        let text = self.number_text()?;
        let is_float = text.contains(['.', 'e', 'E', 'i', 'n']);
        let parsed = if is_float { parse_float(text).map(Number::Float) } else { text.parse().ok().map(Number::Int) };
        parsed.ok_or_else(|| {
            self.pos = start;
            self.error(format!("`{text}` is not a valid number"))
        })
    }

    /// Consumes a double-quoted string literal with the escapes the printer writes.
    pub(crate) fn string(&mut self) -> Res<String> {
        self.expect("\"")?;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next().map(|(_, e)| e) {
                    Some('"') => out.push('"'),
                    Some('\\') => out.push('\\'),
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('r') => out.push('\r'),
                    Some('u') => {
                        out.push(unicode_escape(&mut chars).ok_or_else(|| self.error("bad `\\u{...}` escape"))?)
                    }
                    _ => return Err(self.error("unknown escape in string")),
                },
                c => out.push(c),
            }
        }
        Err(self.error("unterminated string"))
    }

    /// Consumes a value (see [`Value`]).
    pub(crate) fn value(&mut self) -> Res<Value> {
        self.value_at_depth(0)
    }

    fn value_at_depth(&mut self, depth: u32) -> Res<Value> {
        if depth > MAX_VALUE_DEPTH {
            return Err(self.error("values nest too deeply"));
        }
        self.skip_ws();
        let rest = self.rest();
        if rest.starts_with('"') {
            return self.string().map(Value::Str);
        }
        if self.eat("[") {
            return self.value_items("]", depth).map(|(items, _)| Value::List(items));
        }
        if self.eat("(") {
            let (items, trailing_comma) = self.value_items(")", depth)?;
            if items.len() == 1 && !trailing_comma {
                return Err(self.error("a one-element tuple needs a trailing comma: `(x,)`"));
            }
            return Ok(Value::Tuple(items));
        }
        match self.peek_word() {
            Some("true") => self.keyword("true").map(|_| Value::Bool(true)),
            Some("false") => self.keyword("false").map(|_| Value::Bool(false)),
            _ => self.number_value(),
        }
    }

    /// A number, optionally followed by a unit word that makes it a quantity.
    fn number_value(&mut self) -> Res<Value> {
        let amount = self.number()?;
        if let Some(unit) = self.peek_word().and_then(Unit::from_name) {
            self.pos += unit.name().len();
            return Ok(Value::Quantity { amount, unit });
        }
        Ok(match amount {
            Number::Int(i) => Value::Int(i),
            Number::Float(x) => Value::Float(x),
        })
    }

    /// Items up to `close`; returns whether a trailing comma was present (only tuples allow it).
    fn value_items(&mut self, close: &str, depth: u32) -> Res<(Vec<Value>, bool)> {
        let mut items = Vec::new();
        if self.eat(close) {
            return Ok((items, false));
        }
        loop {
            items.push(self.value_at_depth(depth + 1)?);
            if self.eat(close) {
                return Ok((items, false));
            }
            self.expect(",")?;
            if close == ")" && self.eat(close) {
                return Ok((items, true));
            }
        }
    }
}

/// Length of `digits ("." digits)? ([eE] [+-]? digits)?` at the start of `s`.
fn numeric_len(s: &str) -> usize {
    let digits =
        |from: usize| s.get(from..).map_or(0, |r| r.len() - r.trim_start_matches(|c: char| c.is_ascii_digit()).len());
    let mut len = digits(0);
    if len == 0 {
        return 0;
    }
    if s[len..].starts_with('.') && digits(len + 1) > 0 {
        len += 1 + digits(len + 1);
    }
    if s[len..].starts_with(['e', 'E']) {
        let sign = usize::from(s[len + 1..].starts_with(['+', '-']));
        let exp = digits(len + 1 + sign);
        if exp > 0 {
            len += 1 + sign + exp;
        }
    }
    len
}

fn parse_float(text: &str) -> Option<f64> {
    match text {
        "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

/// Reads `{hex}` after `\u`.
fn unicode_escape(chars: &mut std::str::CharIndices<'_>) -> Option<char> {
    if chars.next()?.1 != '{' {
        return None;
    }
    let mut code = 0u32;
    for _ in 0..7 {
        let (_, c) = chars.next()?;
        if c == '}' {
            return char::from_u32(code);
        }
        code = code.checked_mul(16)?.checked_add(c.to_digit(16)?)?;
    }
    None
}
