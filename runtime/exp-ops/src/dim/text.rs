//! The text form of [`Dim`]: a deterministic printer with minimal parentheses and the
//! parser that reads it back (`2 * p`, `(H - 1) / 2 + 1`, `B`).
//!
//! Grammar, loosest first: `expr = term (("+" | "-") term)*`,
//! `term = unary (("*" | "/") unary)*`, `unary = "-" unary | INT | IDENT | "(" expr ")"`.
//! `/` is floor division and `*` and `/` associate to the left, so the printer must
//! parenthesize a floor division that is not the first factor of a product.
//! Unary minus binds tighter than `/`, because `floor(-a / 2)` is not `-floor(a / 2)`;
//! the printer therefore writes `-(a / 2)` for the latter.

use std::fmt::{self, Display, Formatter, Write};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Atom, Dim, Monomial};

impl Display for Dim {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.terms.is_empty() {
            return f.write_str("0");
        }
        // The constant term sorts first in the map but reads best last: `H + 1`.
        let symbolic = self.terms.iter().filter(|(m, _)| !m.is_const());
        let constant = self.terms.iter().filter(|(m, _)| m.is_const());
        for (i, (mono, &coeff)) in symbolic.chain(constant).enumerate() {
            match (i, coeff < 0) {
                (0, true) => f.write_char('-')?,
                (0, false) => {}
                (_, true) => f.write_str(" - ")?,
                (_, false) => f.write_str(" + ")?,
            }
            write_term(f, mono, coeff.unsigned_abs(), i == 0 && coeff < 0)?;
        }
        Ok(())
    }
}

/// Writes `magnitude * mono`; `after_unary_minus` forbids a bare leading floor division.
fn write_term(f: &mut Formatter<'_>, mono: &Monomial, magnitude: u64, after_unary_minus: bool) -> fmt::Result {
    if mono.is_const() {
        return write!(f, "{magnitude}");
    }
    let mut first = true;
    if magnitude != 1 {
        write!(f, "{magnitude}")?;
        first = false;
    }
    let factors = mono.0.iter().flat_map(|(atom, exp)| std::iter::repeat_n(atom, *exp as usize));
    for atom in factors {
        if !first {
            f.write_str(" * ")?;
        }
        let bare_ok = first && !after_unary_minus;
        match atom {
            Atom::Sym(name) => f.write_str(name)?,
            Atom::FloorDiv(num, den) if bare_ok => write_floor_div(f, num, den)?,
            Atom::FloorDiv(num, den) => {
                f.write_char('(')?;
                write_floor_div(f, num, den)?;
                f.write_char(')')?;
            }
        }
        first = false;
    }
    Ok(())
}

fn write_floor_div(f: &mut Formatter<'_>, num: &Dim, den: &Dim) -> fmt::Result {
    if num.terms.len() > 1 {
        write!(f, "({num}) / ")?;
    } else {
        write!(f, "{num} / ")?;
    }
    // Only a positive constant or a lone symbol survives `x / d * y` without parentheses.
    let bare = den.as_symbol().is_some() || den.as_const().is_some_and(|c| c >= 0);
    if bare {
        write!(f, "{den}")
    } else {
        write!(f, "({den})")
    }
}

impl Dim {
    /// Parses the text form that `Display` prints (and any other well-formed expression
    /// over integers, identifiers, `+ - * /` and parentheses).
    pub fn parse(text: &str) -> Result<Dim, String> {
        let mut parser = Parser { text, pos: 0 };
        let dim = parser.expr()?;
        parser.skip_ws();
        match parser.peek() {
            None => Ok(dim),
            Some(c) => Err(format!("unexpected `{c}` at offset {} in dimension `{text}`", parser.pos)),
        }
    }
}

/// A recursive-descent parser over the bytes of one dimension expression.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek().filter(|c| c.is_whitespace()) {
            self.pos += c.len_utf8();
        }
    }

    /// Consumes `c` (after whitespace) when it comes next.
    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        let found = self.peek() == Some(c);
        if found {
            self.pos += c.len_utf8();
        }
        found
    }

    fn expr(&mut self) -> Result<Dim, String> {
        let mut acc = self.term()?;
        loop {
            if self.eat('+') {
                acc = acc + self.term()?;
            } else if self.eat('-') {
                acc = acc - self.term()?;
            } else {
                return Ok(acc);
            }
        }
    }

    fn term(&mut self) -> Result<Dim, String> {
        let mut acc = self.unary()?;
        loop {
            if self.eat('*') {
                acc = acc * self.unary()?;
            } else if self.eat('/') {
                acc = acc.div_floor(&self.unary()?);
            } else {
                return Ok(acc);
            }
        }
    }

    fn unary(&mut self) -> Result<Dim, String> {
        if self.eat('-') {
            return Ok(-self.unary()?);
        }
        if self.eat('(') {
            let inner = self.expr()?;
            return if self.eat(')') { Ok(inner) } else { Err(self.expected("`)`")) };
        }
        self.skip_ws();
        match self.peek() {
            Some(c) if c.is_ascii_digit() => self.integer(),
            Some(c) if c.is_ascii_alphabetic() || c == '_' => Ok(Dim::symbol(self.take_while(is_ident_char))),
            _ => Err(self.expected("a dimension")),
        }
    }

    fn integer(&mut self) -> Result<Dim, String> {
        let digits = self.take_while(|c| c.is_ascii_digit() || c == '_');
        let clean: String = digits.chars().filter(|&c| c != '_').collect();
        clean.parse::<i64>().map(Dim::constant).map_err(|_| format!("integer `{digits}` is too large for a dimension"))
    }

    fn take_while(&mut self, pred: impl Fn(char) -> bool) -> &str {
        let start = self.pos;
        while let Some(c) = self.peek().filter(|&c| pred(c)) {
            self.pos += c.len_utf8();
        }
        &self.text[start..self.pos]
    }

    fn expected(&self, what: &str) -> String {
        match self.peek() {
            Some(c) => format!("expected {what}, found `{c}` in dimension `{}`", self.text),
            None => format!("expected {what}, found end of dimension `{}`", self.text),
        }
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl fmt::Debug for Dim {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "Dim({self})")
    }
}

/// Dims serialize as their text form, which is what people read in the JSON IR.
impl Serialize for Dim {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dim {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dim, D::Error> {
        let text = String::deserialize(d)?;
        Dim::parse(&text).map_err(serde::de::Error::custom)
    }
}
