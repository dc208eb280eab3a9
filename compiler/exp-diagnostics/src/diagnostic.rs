//! The diagnostic data type.
//!
//! A diagnostic is plain data: a code, a severity, a headline, one primary label, any number of
//! secondary labels and at most one help line. Producers build it with the methods below and
//! never format output themselves; `render` and `to_json` are the only consumers that turn it
//! into text. It derives `Eq` and `Hash` because salsa stores diagnostics in query results and
//! compares them to decide whether dependents must re-run.

use std::sync::Arc;

use exp_syntax::Span;
use serde::{Deserialize, Serialize};

use crate::Code;

/// The name of a source file as the user wrote it on the command line, or `std/<path>.exp` for
/// a file of the standard library. Shared, because every label of a file repeats it.
pub type FileName = Arc<str>;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The program cannot be run; `expc check` exits with status 1.
    Error,
    /// Worth fixing, but the program is still checked, lowered and run.
    Warning,
}

impl Severity {
    /// The lowercase word used in headers and JSON: `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A span of one file together with the text shown under it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Label {
    /// The file the span points into.
    pub file: FileName,
    /// Byte range in that file's text.
    pub span: Span,
    /// Short lowercase text shown at the span, e.g. "declared here"; may be empty.
    pub message: String,
}

impl Label {
    /// Makes a label.
    pub fn new(file: impl Into<FileName>, span: Span, message: impl Into<String>) -> Label {
        Label { file: file.into(), span, message: message.into() }
    }
}

/// One problem found in the user's program; see the module documentation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// The stable code, which also selects the `expc explain` page.
    pub code: Code,
    /// Whether this stops the run.
    pub severity: Severity,
    /// Terse lowercase headline, names in backticks, no full stop.
    pub message: String,
    /// The one place the problem is reported at.
    pub primary: Label,
    /// Related places, e.g. "declared here", possibly in other files.
    pub secondary: Vec<Label>,
    /// At most one help line, which quotes the fix when it is known.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with the code's default severity.
    pub fn new(
        code: Code,
        message: impl Into<String>,
        file: impl Into<FileName>,
        span: Span,
        label: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.default_severity(),
            message: message.into(),
            primary: Label::new(file, span, label),
            secondary: Vec::new(),
            help: None,
        }
    }

    /// An error, whatever the code's default severity.
    pub fn error(
        code: Code,
        message: impl Into<String>,
        file: impl Into<FileName>,
        span: Span,
        label: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic { severity: Severity::Error, ..Diagnostic::new(code, message, file, span, label) }
    }

    /// A warning, whatever the code's default severity.
    pub fn warning(
        code: Code,
        message: impl Into<String>,
        file: impl Into<FileName>,
        span: Span,
        label: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::new(code, message, file, span, label) }
    }

    /// Adds a secondary label; labels keep the order in which they were added.
    pub fn with_secondary(mut self, file: impl Into<FileName>, span: Span, message: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label::new(file, span, message));
        self
    }

    /// Sets the help line. A diagnostic has at most one, so a second call replaces the first
    /// rather than piling up advice.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Whether this diagnostic is an error (and so makes `expc check` fail).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_set_severity() {
        let span = Span::new(0, 3);
        let d = Diagnostic::new(Code::UnusedImport, "unused import `x`", "a.exp", span, "");
        assert_eq!(d.severity, Severity::Warning);
        assert!(!d.is_error());
        let d = Diagnostic::error(Code::UnusedImport, "unused import `x`", "a.exp", span, "");
        assert_eq!(d.severity, Severity::Error);
        let d = Diagnostic::warning(Code::TypeMismatch, "m", "a.exp", span, "");
        assert_eq!(d.severity, Severity::Warning);
        assert_eq!(Diagnostic::new(Code::TypeMismatch, "m", "a.exp", span, "").severity, Severity::Error);
    }

    #[test]
    fn builders_keep_order_and_one_help_line() {
        let d = Diagnostic::error(Code::UnknownField, "m", "a.exp", Span::new(1, 2), "here")
            .with_secondary("b.exp", Span::new(3, 4), "first")
            .with_secondary("a.exp", Span::new(5, 6), "second")
            .with_help("old")
            .with_help("new");
        let messages: Vec<_> = d.secondary.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(messages, ["first", "second"]);
        assert_eq!(&*d.secondary[0].file, "b.exp");
        assert_eq!(d.help.as_deref(), Some("new"));
        assert_eq!(d.primary, Label::new("a.exp", Span::new(1, 2), "here"));
    }

    #[test]
    fn equality_sees_every_field() {
        let base = Diagnostic::error(Code::UnknownName, "m", "a.exp", Span::new(1, 2), "l");
        assert_eq!(base, base.clone());
        assert_ne!(base, base.clone().with_help("h"));
        assert_ne!(base, base.clone().with_secondary("a.exp", Span::new(0, 0), ""));
        assert_ne!(base, Diagnostic::error(Code::UnknownName, "m", "a.exp", Span::new(1, 3), "l"));
    }
}
