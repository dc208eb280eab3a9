//! The JSON form of diagnostics, through the public API only.

use std::collections::BTreeMap;
use std::sync::Arc;

use exp_diagnostics::{to_json, Code, Diagnostic};
use exp_syntax::Span;
use serde_json::json;

/// Multi-byte characters before and inside the spans, so byte offsets, character columns and
/// UTF-16 columns all differ.
const MAIN: &str = "// données: 😀\nexperiment é {\n    model = mlp(größe: 10)\n}\n";
const NN: &str = "block mlp(width: Int = 128, classes: Int): [B, D] -> [B, classes] {\n    linear(classes)\n}\n";

fn sources() -> BTreeMap<String, Arc<str>> {
    BTreeMap::from([("main.exp".to_owned(), Arc::from(MAIN)), ("std/nn.exp".to_owned(), Arc::from(NN))])
}

fn span_of(text: &str, needle: &str) -> Span {
    let start = text.find(needle).expect("needle in text");
    Span::new(start, start + needle.len())
}

#[test]
fn positions_are_one_based_character_columns() {
    let d = Diagnostic::error(
        Code::UnknownArgument,
        "`mlp` has no parameter `größe`",
        "main.exp",
        span_of(MAIN, "größe"),
        "unknown argument",
    )
    .with_secondary("std/nn.exp", span_of(NN, "mlp"), "`mlp` is declared here")
    .with_secondary("main.exp", span_of(MAIN, "é {"), "in experiment `é`")
    .with_help("the parameters of `mlp` are `width` and `classes`");
    assert_eq!(
        to_json(&d, &sources()),
        json!({
            "code": "unknown-argument",
            "severity": "error",
            "file": "main.exp",
            "line": 3,
            "column": 17,
            "end_line": 3,
            "end_column": 22,
            "message": "`mlp` has no parameter `größe`",
            "help": "the parameters of `mlp` are `width` and `classes`",
            "labels": [
                {"file": "std/nn.exp", "line": 1, "column": 7, "end_line": 1, "end_column": 10,
                 "message": "`mlp` is declared here"},
                {"file": "main.exp", "line": 2, "column": 12, "end_line": 2, "end_column": 15,
                 "message": "in experiment `é`"},
            ],
        })
    );
}

#[test]
fn warnings_without_help_or_labels_and_spans_across_lines() {
    let d = Diagnostic::new(Code::UnusedImport, "unused import `x`", "main.exp", span_of(MAIN, "😀\nexp"), "");
    let value = to_json(&d, &sources());
    assert_eq!(value["severity"], "warning");
    assert_eq!(value["help"], serde_json::Value::Null);
    assert_eq!(value["labels"], json!([]));
    assert_eq!((&value["line"], &value["column"]), (&json!(1), &json!(13)));
    assert_eq!((&value["end_line"], &value["end_column"]), (&json!(2), &json!(4)));
    let mut keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    let expected =
        ["code", "column", "end_column", "end_line", "file", "help", "labels", "line", "message", "severity"];
    assert_eq!(keys, expected);
}

#[test]
fn unknown_files_give_null_positions() {
    let d = Diagnostic::error(Code::InvalidOverride, "no field `lr` in `quick`", "<command line>", Span::new(6, 8), "")
        .with_secondary("gone.exp", Span::new(0, 1), "declared here");
    let value = to_json(&d, &sources());
    assert_eq!(value["file"], "<command line>");
    assert_eq!(value["line"], serde_json::Value::Null);
    assert_eq!(value["end_column"], serde_json::Value::Null);
    assert_eq!(value["labels"][0]["column"], serde_json::Value::Null);
    assert_eq!(value["labels"][0]["message"], "declared here");
}
