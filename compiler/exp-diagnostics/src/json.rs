//! Diagnostics as JSON, for `--json` output, editors and test harnesses.
//!
//! Positions are 1-based lines and columns counted in characters, which is what people and
//! most tools expect; the language server converts to UTF-16 itself. The field set is part of
//! the command line's interface, so it changes only together with its consumers.

use exp_syntax::{line_col, Span};
use serde_json::{json, Value};

use crate::{Diagnostic, Label, SourceLookup};

/// One diagnostic as a JSON object with the fields `code`, `severity`, `file`, `line`,
/// `column`, `end_line`, `end_column`, `message`, `help` (null if none) and `labels`.
///
/// `labels` lists the secondary labels, each with `file`, `line`, `column`, `end_line`,
/// `end_column` and `message`. Positions are null when the file's text is unknown, because a
/// made-up position would send an editor to the wrong place.
pub fn to_json(d: &Diagnostic, sources: &dyn SourceLookup) -> Value {
    let (line, column, end_line, end_column) = position(&d.primary, sources);
    let labels: Vec<Value> = d.secondary.iter().map(|l| label_json(l, sources)).collect();
    json!({
        "code": d.code.as_str(),
        "severity": d.severity.as_str(),
        "file": &*d.primary.file,
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
        "message": d.message,
        "help": d.help,
        "labels": labels,
    })
}

fn label_json(label: &Label, sources: &dyn SourceLookup) -> Value {
    let (line, column, end_line, end_column) = position(label, sources);
    json!({
        "file": &*label.file,
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
        "message": label.message,
    })
}

/// Start and end of a label as (line, column, end line, end column), all `None` without text.
/// The end is the position just past the last character, as in LSP ranges.
fn position(label: &Label, sources: &dyn SourceLookup) -> (Option<usize>, Option<usize>, Option<usize>, Option<usize>) {
    let Some(text) = sources.source(&label.file) else {
        return (None, None, None, None);
    };
    let Span { start, end } = label.span;
    let (line, column) = line_col(&text, start as usize);
    let (end_line, end_column) = line_col(&text, end as usize);
    (Some(line), Some(column), Some(end_line), Some(end_column))
}
