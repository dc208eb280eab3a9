//! Turning pest's errors into rustc-style syntax errors.
//!
//! pest says where parsing stopped and which rules it tried there. This module names those
//! rules in words ("expected `)` or `,`, found `;`"), leaves out tokens that would merely
//! continue the expression (operators), and adds a `help` line when the mistake is a common
//! one (a missing `=` before a body, a keyword used as a name, a quantity without a number).

use pest::error::{Error, ErrorVariant, InputLocation};

use crate::ast::SyntaxError;
use crate::grammar::{describe, is_keyword, starts_item, Rule, Weight, ITEM_KEYWORDS};
use crate::scan::word_at;
use crate::Span;

/// What the end of pest's input is, for "expected the end of ...".
#[derive(Clone, Copy)]
pub(crate) enum Input {
    /// One item chunk of a file.
    Item,
    /// A lone expression (`parse_expr`).
    Expr,
}

/// The error for a failed pest parse of `text[offset..]`; spans are in `text` coordinates.
pub(crate) fn from_pest(err: Error<Rule>, text: &str, offset: usize, input: Input) -> SyntaxError {
    let pos = offset
        + match err.location {
            InputLocation::Pos(p) => p,
            InputLocation::Span((s, _)) => s,
        };
    match err.variant {
        ErrorVariant::ParsingError { positives, .. } => expected(text, pos, &positives, input),
        // pest's own limits: the native stack ran low (or the call budget ran out).
        ErrorVariant::CustomError { .. } => SyntaxError {
            span: Span::point(pos),
            message: "this item is nested too deeply to parse".into(),
            help: Some("split it into smaller named parts".into()),
        },
    }
}

/// The token found where parsing stopped.
struct Found<'t> {
    span: Span,
    /// The token's text (empty at the end of the file).
    text: &'t str,
    /// How a message names it: "`)`", "keyword `data`", "end of file".
    desc: String,
}

impl Found<'_> {
    fn is_eof(&self) -> bool {
        self.text.is_empty()
    }
}

fn expected(text: &str, pos: usize, positives: &[Rule], input: Input) -> SyntaxError {
    let found = token_at(text, pos);
    if let Some(error) = chained(&found, positives) {
        return error;
    }
    let list = expected_list(positives, input);
    let message = if found.is_eof() {
        "unexpected end of file".to_string()
    } else if list.is_empty() {
        format!("unexpected {}", found.desc)
    } else {
        format!("expected {list}, found {}", found.desc)
    };
    let mut help = hint(text, &found, positives, &list);
    if help.is_none() && found.is_eof() && !list.is_empty() {
        help = Some(format!("expected {list}"));
    }
    SyntaxError { span: found.span, message, help }
}

/// `a < b < c` and `a..b..c`: the grammar stops at the second operator.
fn chained(found: &Found<'_>, positives: &[Rule]) -> Option<SyntaxError> {
    let cmp = [Rule::eq_op, Rule::ne_op, Rule::le_op, Rule::ge_op, Rule::lt_op, Rule::gt_op];
    let (message, help) = match found.text {
        "<" | "<=" | ">" | ">=" | "==" | "!=" if !positives.iter().any(|r| cmp.contains(r)) => {
            ("comparison operators cannot be chained", "combine comparisons with `and`: `a < b and b < c`")
        }
        ".." if !positives.contains(&Rule::range_op) => {
            ("ranges cannot be chained", "put the inner range in parentheses")
        }
        _ => return None,
    };
    Some(SyntaxError { span: found.span, message: message.into(), help: Some(help.into()) })
}

/// "`)`, `,` or an expression": the main expectations, or the minor ones if there are no
/// main ones; several item keywords together read as "an item".
fn expected_list(positives: &[Rule], input: Input) -> String {
    let item_kws = positives.iter().filter(|r| starts_item(**r)).count();
    let mut main = Vec::new();
    let mut minor = Vec::new();
    for &rule in positives {
        let (desc, weight) = match rule {
            _ if item_kws >= 3 && starts_item(rule) => ("an item", Weight::Main),
            Rule::EOI if matches!(input, Input::Expr) => ("the end of the expression", Weight::Minor),
            _ => describe(rule),
        };
        let bucket = if weight == Weight::Main { &mut main } else { &mut minor };
        if !bucket.contains(&desc) {
            bucket.push(desc);
        }
    }
    let mut descs = if main.is_empty() { minor } else { main };
    // "the end of ..." reads best last.
    if let Some(i) = descs.iter().position(|d| d.starts_with("the end")) {
        let end = descs.remove(i);
        descs.push(end);
    }
    match descs.split_last() {
        None => String::new(),
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// A help line for the mistakes that are easy to guess.
fn hint(text: &str, found: &Found<'_>, positives: &[Rule], list: &str) -> Option<String> {
    let has = |r: Rule| positives.contains(&r);
    let wants_name = positives.iter().any(|r| matches!(r, Rule::ident | Rule::word | Rule::lambda_params | Rule::path));
    let wants_expr = positives
        .iter()
        .any(|r| matches!(r, Rule::expr | Rule::logic | Rule::comparison | Rule::range | Rule::arith | Rule::primary));
    let t = found.text;
    let start = found.span.start as usize;
    // An item keyword first on its line most likely starts the next item: the one before
    // it is unfinished, rather than the keyword being misused as a name.
    let line_start = text[..start].rsplit('\n').next().is_none_or(|l| l.trim().is_empty());
    let next_item = ITEM_KEYWORDS.contains(&t) && line_start;
    if t.starts_with("///") {
        return Some("doc comments (`///`) can only come right before an item; use `//` here".into());
    }
    if t == "if" && wants_expr {
        return Some("an `if` expression must be in parentheses here: `(if c { a } else { b })`".into());
    }
    if has(Rule::kw_else) {
        return Some(if t == "{" {
            "add `else` before this branch".into()
        } else {
            "an `if` needs an `else` branch: `if c { a } else { b }`".into()
        });
    }
    if is_keyword(t) && (wants_name || wants_expr) && !next_item {
        return Some(format!("`{t}` is a keyword and cannot be used as a name"));
    }
    if next_item && has(Rule::rbrace) {
        return Some("add `}` to close the item before this one".into());
    }
    if crate::build::is_unit(t) && (wants_expr || has(Rule::quantity)) {
        return Some(format!("a quantity needs a number before `{t}`, e.g. `100 {t}`"));
    }
    if has(Rule::body_eq) && !found.is_eof() && t != "=" {
        return Some("add `=` before the body".into());
    }
    if let Some(word) = line_start_word(text, start).filter(|_| t == "=" && has(Rule::rbrace)) {
        return Some(format!("`{word}` was read as the value of the statement above; is that value missing?"));
    }
    if t == "=" && has(Rule::eq_op) {
        return Some("use `==` to compare values".into());
    }
    if t == ":" && has(Rule::assign) {
        return Some("use `=` to set a value".into());
    }
    let before = text[..start].trim_end();
    let after_dot = before.strip_suffix('.').filter(|_| has(Rule::field_name));
    if after_dot.is_some_and(|b| b.ends_with(|c: char| c.is_ascii_digit())) {
        return Some("a float needs a digit after the dot, e.g. `3.0`".into());
    }
    if next_item {
        return Some("this line starts a new item, so the item before it is unfinished".into());
    }
    if found.is_eof() && list == "an item" && before.lines().last().is_some_and(|l| l.trim_start().starts_with("///")) {
        return Some("a doc comment must be followed by the item it documents".into());
    }
    if list == "an item" || list == "the end of the item" {
        if t == "}" {
            return Some("this `}` has no matching `{`".into());
        }
        let kws = ITEM_KEYWORDS.map(|k| format!("`{k}`")).join(", ");
        return Some(format!("an item starts with one of {kws}"));
    }
    None
}

/// The field path that starts the line holding `pos`, if the line starts with one right
/// before `pos` (as in `    seed = 1` with `pos` at the `=`).
fn line_start_word(text: &str, pos: usize) -> Option<&str> {
    let line = text[..pos].rsplit('\n').next().unwrap_or("");
    let path = line.trim();
    let is_path = !path.is_empty() && path.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    is_path.then_some(path)
}

/// Operators and punctuation longer than one character, longest first.
const MULTI: [&str; 10] = ["///", "=>", "->", ">>", ">=", "<=", "==", "!=", "..", "//"];

/// Describes the token at byte `pos` of `text`.
fn token_at(text: &str, pos: usize) -> Found<'_> {
    let pos = pos.min(text.len());
    let rest = &text[pos..];
    let (len, desc) = if rest.is_empty() {
        (0, "end of file".to_string())
    } else if let Some(m) = MULTI.iter().find(|m| rest.starts_with(**m)) {
        let desc = if *m == "///" { "a doc comment".to_string() } else { format!("`{m}`") };
        (m.len(), desc)
    } else if !word_at(text, pos).is_empty() {
        let w = word_at(text, pos);
        let desc = if is_keyword(w) { format!("keyword `{w}`") } else { format!("`{w}`") };
        (w.len(), desc)
    } else if rest.starts_with(|c: char| c.is_ascii_digit()) {
        let len = number_len(rest);
        (len, format!("`{}`", &rest[..len]))
    } else if let Some(inner) = rest.strip_prefix('"') {
        let len = inner.find(['"', '\n']).map_or(rest.len(), |n| n + 2).min(rest.len());
        (len, "a string".to_string())
    } else {
        let c = rest.chars().next().unwrap_or(' ');
        let shown = if c.is_whitespace() || c.is_control() { c.escape_unicode().to_string() } else { c.to_string() };
        (c.len_utf8(), format!("`{shown}`"))
    };
    Found { span: Span::new(pos, pos + len), text: &rest[..len], desc }
}

/// The length of the number-like run at the start of `rest` (digits, `_`, a fraction).
fn number_len(rest: &str) -> usize {
    let b = rest.as_bytes();
    let mut n = b.iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_').count();
    if b.get(n) == Some(&b'.') && b.get(n + 1).is_some_and(u8::is_ascii_digit) {
        n += 1 + b[n + 1..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_').count();
    }
    n
}
