//! The parser never panics: every prefix of a printed program and many corrupted variants go
//! through it, and anything it accepts must print stably.

use super::fixtures;
use crate::*;

/// Parses `text`; when it is accepted and verifies up to its (now stale) hash, printing must be
/// stable, which is the promise the crate makes for verified programs.
fn check(text: &str) -> Result<(), ParseError> {
    let parsed = parse(text)?;
    let verified = match verify(&parsed) {
        Ok(()) => true,
        Err(errors) => errors.iter().all(|e| e.rule == Rule::HashMismatch),
    };
    let printed = print(&parsed);
    match parse(&printed) {
        Ok(again) => {
            if verified {
                assert_eq!(print(&again), printed, "unstable print of:\n{text}");
            }
        }
        Err(e) => assert!(!verified, "a verified program printed text that does not parse ({e}):\n{printed}"),
    }
    Ok(())
}

#[test]
fn every_prefix_is_handled() {
    for p in fixtures::all() {
        let text = print(&p);
        let complete_lines = text.trim_end().lines().count();
        for (cut, _) in text.char_indices() {
            let prefix = &text[..cut];
            let result = check(prefix);
            // Any prefix missing a whole line lacks a required item (the last section's lines
            // are all required), so it must be refused, at a line that exists.
            if prefix.lines().count() < complete_lines - 1 {
                let err = result.expect_err("a truncated program parsed");
                assert!(err.line as usize <= prefix.lines().count() + 1, "{err} for a {cut}-byte prefix");
            }
        }
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    let replacements: &[u8] = b"%@()[]{},:.-=#\" \n\t0z";
    let mut accepted = 0;
    for p in fixtures::all() {
        let text = print(&p).into_bytes();
        for i in 0..text.len() {
            // One corruption per byte keeps the test fast; cycling through a bit flip, an
            // invalid UTF-8 byte and the punctuation of the grammar covers each kind many times.
            let byte = match i % 3 {
                0 => text[i] ^ 0x01,
                1 => 0xFF,
                _ => replacements[(i / 3) % replacements.len()],
            };
            let mut bytes = text.clone();
            bytes[i] = byte;
            accepted += usize::from(check(&String::from_utf8_lossy(&bytes)).is_ok());
        }
    }
    // Some corruptions stay well formed (a digit changed to another digit); they exercised the
    // stable-printing check above.
    assert!(accepted > 0);
}

#[test]
fn deletions_and_duplications_never_panic() {
    let text = print(&fixtures::noisy_sgd());
    let lines: Vec<&str> = text.lines().collect();
    for i in 0..lines.len() {
        let mut without = lines.clone();
        without.remove(i);
        let _ = check(&without.join("\n"));
        let mut doubled = lines.clone();
        doubled.insert(i, lines[i]);
        let _ = check(&doubled.join("\n"));
    }
}

#[test]
fn hostile_inputs_are_refused() {
    let deep = format!(
        "expir 1\nexperiment e\nhash -\n\nfiles\n\nconfig\n  a = {}1{}  # from default\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let err = parse(&deep).unwrap_err();
    assert!(err.message.contains("nest"), "{err}");
    let dim = format!("expir 1\nexperiment e\nhash -\nfiles\nconfig\nseeds 0\n  init 1\n  shuffle 1\n  dropout 1\n  noise 1\n  augment 1\n  data 1\ndata cifar10(dir: \"d\") \n  x f32[{}B{}]\n", "(".repeat(5000), ")".repeat(5000));
    assert!(parse(&dim).unwrap_err().message.contains("nests too deeply"));
    for text in ["", "\n\n", "expir 2", "expir 99999999999999999999", "expir 1\nexperiment \u{1F600}", "\u{0}\u{FFFF}"]
    {
        assert!(parse(text).is_err(), "{text:?}");
    }
}

#[test]
fn errors_point_at_line_and_column() {
    let text = print(&fixtures::mlp_adamw()).replace("  batch 128\n", "  batch 12x8\n");
    let err = parse(&text).unwrap_err();
    let line = text.lines().position(|l| l == "  batch 12x8").unwrap() + 1;
    assert_eq!((err.line as usize, err.column), (line, 11), "{err}");
    assert_eq!(err.to_string(), format!("{line}:11: expected end of line, found `x8`"));
}
