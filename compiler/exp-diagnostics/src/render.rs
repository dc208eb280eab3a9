//! Rendering diagnostics for people, through miette's graphical handler.
//!
//! This is the only module in the compiler that knows miette. Each `Diagnostic` is turned into
//! a private `Report` that implements `miette::Diagnostic`, and rendered by a handler built here
//! with an explicit theme and width. The global miette hook is never used: it probes the
//! terminal and environment, and rendered text must be stable enough for snapshot tests.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

use exp_syntax::Span;
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode, SourceSpan};

use crate::{Diagnostic, Label, Severity};

/// Gives the text of a source file by the name diagnostics use for it.
///
/// The driver implements this over its salsa database; tests use a map. A file it cannot find
/// is rendered without a snippet rather than failing, because a diagnostic must never be lost.
pub trait SourceLookup {
    /// The full text of `file`, or `None` if it is unknown.
    fn source(&self, file: &str) -> Option<Arc<str>>;
}

impl<K: Borrow<str> + Hash + Eq, S: BuildHasher> SourceLookup for HashMap<K, Arc<str>, S> {
    fn source(&self, file: &str) -> Option<Arc<str>> {
        self.get(file).cloned()
    }
}

impl<K: Borrow<str> + Ord> SourceLookup for BTreeMap<K, Arc<str>> {
    fn source(&self, file: &str) -> Option<Arc<str>> {
        self.get(file).cloned()
    }
}

/// How rendered text should look.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RenderStyle {
    /// Use ANSI colours.
    pub color: bool,
    /// Draw boxes and arrows with Unicode characters rather than ASCII.
    pub unicode: bool,
    /// Wrap text at this many columns.
    pub width: usize,
}

impl Default for RenderStyle {
    /// Unicode without colour at 100 columns: the style of snapshot tests and of output that is
    /// not a terminal.
    fn default() -> RenderStyle {
        RenderStyle { color: false, unicode: true, width: 100 }
    }
}

impl RenderStyle {
    fn theme(self) -> GraphicalTheme {
        match (self.unicode, self.color) {
            (true, true) => GraphicalTheme::unicode(),
            (true, false) => GraphicalTheme::unicode_nocolor(),
            (false, true) => GraphicalTheme::ascii(),
            (false, false) => GraphicalTheme::none(),
        }
    }
}

/// Renders diagnostics in order, separated by blank lines, with snippets read from `sources`.
pub fn render(diags: &[Diagnostic], sources: &dyn SourceLookup, style: RenderStyle) -> String {
    let mut out = String::new();
    for (i, diag) in diags.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        render_one(&mut out, diag, sources, style);
    }
    out
}

fn render_one(out: &mut String, diag: &Diagnostic, sources: &dyn SourceLookup, style: RenderStyle) {
    let (report, elsewhere) = Report::new(diag, sources);
    let handler = GraphicalReportHandler::new_themed(style.theme())
        .with_width(style.width)
        .with_links(false)
        .without_syntax_highlighting();
    write_report(out, &handler, &report, &diag.primary.file);
    // Labels in other files are rendered as notes after the main report, by us rather than
    // through miette's `related`, which prefixes each with a bare "Advice:" line.
    for (file, note) in &elsewhere {
        out.push('\n');
        write_report(out, &handler, note, file);
    }
}

fn write_report(out: &mut String, handler: &GraphicalReportHandler, report: &Report, file: &str) {
    // Writing into a String cannot fail, and miette's handler only fails on writer errors.
    let _ = handler.render_report(out, report);
    if report.source.is_none() {
        // Without the text there is no snippet to show where the problem is, so at least name
        // the file; this only happens when the driver lost a file it reported on.
        out.push_str(&format!("  in `{file}` (source text not available)\n"));
    }
}

/// A diagnostic against one file, shaped the way miette's handler reads it.
///
/// miette draws all snippets of one report from one source, so a diagnostic becomes a main
/// report for the primary file (with every label in that file) plus one note per other file
/// that secondary labels point into.
#[derive(Debug)]
struct Report {
    header: Option<String>,
    message: String,
    severity: miette::Severity,
    help: Option<String>,
    source: Option<NamedSource<Arc<str>>>,
    labels: Vec<LabeledSpan>,
}

impl Report {
    /// The main report and, in order of first mention, the notes for other files.
    fn new<'d>(diag: &'d Diagnostic, sources: &dyn SourceLookup) -> (Report, Vec<(&'d str, Report)>) {
        let file = &diag.primary.file;
        let text = sources.source(file);
        let mut labels = vec![labeled(text.as_deref(), &diag.primary, true)];
        let mut others: Vec<(&str, Vec<&Label>)> = Vec::new();
        for label in &diag.secondary {
            if label.file == *file {
                labels.push(labeled(text.as_deref(), label, false));
            } else if let Some(group) = others.iter_mut().find(|(f, _)| *f == &*label.file) {
                group.1.push(label);
            } else {
                others.push((&label.file, vec![label]));
            }
        }
        let main = Report {
            header: Some(format!("{}[{}]", diag.severity.as_str(), diag.code)),
            message: diag.message.clone(),
            severity: miette_severity(diag.severity),
            help: diag.help.clone(),
            source: text.map(|t| NamedSource::new(file, t).with_language("exp")),
            labels: labels.into_iter().flatten().collect(),
        };
        let notes = others.into_iter().map(|(f, ls)| (f, Report::note(f, &ls, sources))).collect();
        (main, notes)
    }

    /// A note for the secondary labels that point into `file`. A lone label's text becomes the
    /// note's headline, which reads better than repeating it under the snippet; several labels
    /// keep their own texts under a headline naming the file.
    fn note(file: &str, labels: &[&Label], sources: &dyn SourceLookup) -> Report {
        let text = sources.source(file);
        let (message, labels) = match labels {
            [one] if !one.message.is_empty() => {
                let bare = Label { message: String::new(), ..(*one).clone() };
                (one.message.clone(), vec![labeled(text.as_deref(), &bare, false)])
            }
            _ => (format!("in `{file}`"), labels.iter().map(|l| labeled(text.as_deref(), l, false)).collect()),
        };
        Report {
            header: None,
            message,
            severity: miette::Severity::Advice,
            help: None,
            labels: labels.into_iter().flatten().collect(),
            source: text.map(|t| NamedSource::new(file, t).with_language("exp")),
        }
    }
}

fn miette_severity(severity: Severity) -> miette::Severity {
    match severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
    }
}

/// The miette label for `label`, or `None` when the file's text is unknown (miette would print
/// a read error in place of the snippet).
fn labeled(text: Option<&str>, label: &Label, primary: bool) -> Option<LabeledSpan> {
    let span = clamp(text?, label.span);
    let message = (!label.message.is_empty()).then(|| label.message.clone());
    Some(if primary {
        LabeledSpan::new_primary_with_span(message, span)
    } else {
        LabeledSpan::new_with_span(message, span)
    })
}

/// Fits a span into `text` on character boundaries. Spans come from parses of possibly older
/// text (the language server renders while the user types), and miette refuses to render a
/// report at all if a span runs past the end.
///
/// A span at the very end of a text that ends in a newline (the usual place of "found end of
/// file") is moved onto that newline: miette would otherwise put it on the empty line after
/// it and draw no label at all.
fn clamp(text: &str, span: Span) -> SourceSpan {
    let end_of_text = if text.ends_with('\n') { text.len() - 1 } else { text.len() };
    let floor = |mut i: usize| {
        i = i.min(end_of_text);
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = floor(span.start as usize);
    let end = floor(span.end as usize).max(start);
    SourceSpan::from((start, end - start))
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.header.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        (!self.labels.is_empty()).then(|| Box::new(self.labels.iter().cloned()) as Box<dyn Iterator<Item = _>>)
    }
}
