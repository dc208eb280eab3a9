//! The lexical classes of names in the text form.
//!
//! Names are printed bare, so a name outside its class would print text that does not parse
//! back; the verifier checks every name against these predicates for that reason.

/// `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An identifier followed by `.`-separated identifiers or decimal indices:
/// `optimizer.lr`, `model.layers.0.weight`.
pub fn is_path(s: &str) -> bool {
    let mut segments = s.split('.');
    let first_ok = segments.next().is_some_and(is_ident);
    first_ok && segments.all(|seg| is_ident(seg) || (!seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit())))
}

/// `v` followed by digits: the printed names of scalar SSA values, which inputs may not take.
pub fn is_scalar_value_name(s: &str) -> bool {
    s.strip_prefix('v').is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert!(is_ident("_x1") && !is_ident("1x") && !is_ident("") && !is_ident("a.b"));
        assert!(is_path("model.layers.0.weight") && is_path("lr"));
        assert!(!is_path("model..w") && !is_path("model.") && !is_path("0.w") && !is_path("a.b-c"));
        assert!(is_scalar_value_name("v12") && !is_scalar_value_name("v") && !is_scalar_value_name("vx"));
    }
}
