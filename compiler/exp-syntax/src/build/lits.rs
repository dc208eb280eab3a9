//! Literal tokens: numbers, strings and units, with the checks the grammar leaves to us.

use super::{Ctx, Pair, Res};
use crate::ast::Unit;

/// The value of an `int` token; `20_000` is 20000. Overflow is a syntax error.
pub(crate) fn int(cx: Ctx, pair: &Pair<'_>) -> Res<i64> {
    let digits: String = pair.as_str().chars().filter(|&c| c != '_').collect();
    digits.parse::<i64>().map_err(|_| {
        cx.error(
            pair,
            "integer literal is too large",
            Some(format!("the largest integer is {}; write a float such as `1e19` for larger values", i64::MAX)),
        )
    })
}

/// The value of a `float` token. A literal too large for `f64` is a syntax error rather
/// than a silent infinity.
pub(crate) fn float(cx: Ctx, pair: &Pair<'_>) -> Res<f64> {
    let text: String = pair.as_str().chars().filter(|&c| c != '_').collect();
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(cx.error(pair, "float literal is out of range", Some("the largest float is about `1.8e308`".into()))),
    }
}

/// The value of a `string` token with escapes resolved; an unknown escape is an error
/// pointing at the backslash.
pub(crate) fn string(cx: Ctx, pair: &Pair<'_>) -> Res<String> {
    let raw = pair.as_str();
    let inner = &raw[1..raw.len().saturating_sub(1).max(1)];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let escaped = chars.next().map(|(_, e)| e);
        match escaped {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            other => {
                let at = cx.span(pair).start as usize + 1 + i;
                let len = 1 + other.map_or(0, char::len_utf8);
                let shown = other.map_or(String::new(), String::from);
                return Err(crate::ast::SyntaxError {
                    span: crate::Span::new(at, at + len),
                    message: format!("unknown escape `\\{shown}` in string"),
                    help: Some("the escapes are `\\\"`, `\\\\`, `\\n` and `\\t`".into()),
                });
            }
        }
    }
    Ok(out)
}

/// The unit a `unit` token names. `KiB`, `MiB` and `GiB` are `Bytes(1)`, `Bytes(2)` and
/// `Bytes(3)`: the power of 1024, which the checker applies.
pub(crate) fn unit(text: &str) -> Option<Unit> {
    Some(match text {
        "steps" | "step" => Unit::Steps,
        "epochs" | "epoch" => Unit::Epochs,
        "samples" | "sample" => Unit::Samples,
        "probes" | "probe" => Unit::Probes,
        "KiB" => Unit::Bytes(1),
        "MiB" => Unit::Bytes(2),
        "GiB" => Unit::Bytes(3),
        _ => return None,
    })
}

/// A doc comment line without its `///` and the one space that conventionally follows.
pub(crate) fn doc_line(text: &str) -> &str {
    let text = text.strip_prefix("///").unwrap_or(text).trim_end_matches('\r');
    text.strip_prefix(' ').unwrap_or(text)
}
