//! Diagnostics as the semantic model produces them: located by item and item-relative span.
//!
//! Query results must not hold absolute offsets, or every edit above an item would change
//! them and defeat reuse. [`HDiag`] says "this span of that item"; [`to_diagnostic`] adds the
//! item's current offset when the diagnostics are finally reported.

use exp_db::{Db, SourceFile};
use exp_diagnostics::{Code, Diagnostic, Severity};
use exp_syntax::Span;

use crate::names::items;

/// A place in the sources: a span relative to an item, or absolute when `item` is `None`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Loc {
    /// The file.
    pub file: SourceFile,
    /// The key of the item the span is relative to.
    pub item: Option<String>,
    /// The span.
    pub span: Span,
}

/// A diagnostic with item-relative locations.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HDiag {
    /// The stable code.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// The headline.
    pub message: String,
    /// The primary location.
    pub primary: Loc,
    /// The primary label's text.
    pub label: String,
    /// Secondary labels.
    pub secondary: Vec<(Loc, String)>,
    /// The help line.
    pub help: Option<String>,
}

impl HDiag {
    /// An error with the code's default severity.
    pub fn new(code: Code, message: impl Into<String>, at: Loc, label: impl Into<String>) -> HDiag {
        HDiag {
            code,
            severity: code.default_severity(),
            message: message.into(),
            primary: at,
            label: label.into(),
            secondary: Vec::new(),
            help: None,
        }
    }

    /// Adds a secondary label.
    pub fn with_secondary(mut self, at: Loc, label: impl Into<String>) -> HDiag {
        self.secondary.push((at, label.into()));
        self
    }

    /// Sets the help line.
    pub fn with_help(mut self, help: impl Into<String>) -> HDiag {
        self.help = Some(help.into());
        self
    }

    /// Sets the help line if there is one.
    pub fn with_help_opt(mut self, help: Option<String>) -> HDiag {
        self.help = help;
        self
    }
}

/// The file path and absolute span of a location.
pub fn absolute(db: &dyn Db, loc: &Loc) -> (String, Span) {
    let offset = loc.item.as_deref().and_then(|key| items::lookup(db, loc.file, key)).map_or(0, |it| it.offset(db));
    (loc.file.path(db).clone(), loc.span.shift(offset as usize))
}

/// Converts to the reportable form with absolute spans.
pub fn to_diagnostic(db: &dyn Db, d: &HDiag) -> Diagnostic {
    let (file, span) = absolute(db, &d.primary);
    let mut out = Diagnostic::error(d.code, d.message.clone(), file.as_str(), span, d.label.clone());
    out.severity = d.severity;
    for (loc, label) in &d.secondary {
        let (file, span) = absolute(db, loc);
        out = out.with_secondary(file.as_str(), span, label.clone());
    }
    if let Some(help) = &d.help {
        out = out.with_help(help.clone());
    }
    out
}

/// Edit distance between two names (insertions, deletions, substitutions and swaps of
/// adjacent characters each cost one), for "did you mean" suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for j in 0..=b.len() {
        d[0][j] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The closest candidate to `name`, if one is close enough to be a plausible typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

/// "did you mean `x`?" for the closest candidate.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    closest(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_pick_the_nearest_plausible_name() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(closest("reul", ["relu", "gelu", "tanh"]), Some("relu"));
        assert_eq!(closest("adamw", ["adam", "sgd"]), Some("adam"));
        assert_eq!(closest("xyz", ["relu", "gelu"]), None);
    }
}
