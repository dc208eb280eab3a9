//! Formatting choices: minimal parentheses, spacing, breaking, comments and blank lines.

use super::check_table;
use crate::{format, parse};

/// Formats a file that must parse cleanly.
fn formatted(text: &str) -> String {
    let file = parse(text);
    assert!(file.errors.is_empty(), "{text}: {:?}", file.errors);
    format(&file, text)
}

/// Formats `fn f() = <expr>` and returns the expression part.
fn expr(text: &str) -> String {
    let out = formatted(&format!("fn f() = {text}"));
    out.trim_end().trim_start_matches("fn f() = ").to_string()
}

#[test]
fn parentheses_are_minimal() {
    check_table(
        &[
            ("((a + b)) * c", "(a + b) * c"),
            ("a - (b - c)", "a - (b - c)"),
            ("(a - b) - c", "a - b - c"),
            ("(a ^ b) ^ c", "(a ^ b) ^ c"),
            ("a ^ (b ^ c)", "a ^ b ^ c"),
            ("(-x) ^ 2", "(-x) ^ 2"),
            ("-(x ^ 2)", "-x ^ 2"),
            ("2 ^ (-x)", "2 ^ -x"),
            ("a * (-b)", "a * -b"),
            ("-(a * b)", "-(a * b)"),
            ("(a < b) == c", "(a < b) == c"),
            ("(a..b)..c", "(a..b)..c"),
            ("not (a and b)", "not (a and b)"),
            ("a and (not b)", "a and not b"),
            ("(not a) == b", "(not a) == b"),
            ("-(not a)", "-(not a)"),
            ("(x => x)(1)", "(x => x)(1)"),
            ("f((x => x))", "f(x => x)"),
            ("(if a { b } else { c }) + 1", "(if a { b } else { c }) + 1"),
            ("(a + b).c", "(a + b).c"),
            ("(1).x", "(1).x"),
            ("(1.5).x", "(1.5).x"),
            ("(5 steps).x", "(5 steps).x"),
            ("(a >> b) >> c", "a >> b >> c"),
            ("a >> (b >> c)", "a >> (b >> c)"),
            ("(a or b) and c", "(a or b) and c"),
            ("[(a, b), (a,), ()]", "[(a, b), (a,), ()]"),
        ],
        expr,
    );
}

#[test]
fn literals_keep_their_spelling() {
    check_table(
        &[
            ("20_000 + 1e-3 + 1.5E6 + 007", "20_000 + 1e-3 + 1.5E6 + 007"),
            ("1 step + 2 epoch + 5 probes", "1 step + 2 epoch + 5 probes"),
            ("100steps", "100 steps"),
            ("\"tab\\t quote\\\" nl\\n bs\\\\\"", "\"tab\\t quote\\\" nl\\n bs\\\\\""),
            ("sum([f(x) for f in fs])", "sum(f(x) for f in fs)"),
            ("f(k : 1 , 2 ,)", "f(k: 1, 2)"),
            ("a..b", "a..b"),
            ("x + { let a = 1\n a }", "x + { let a = 1; a }"),
        ],
        expr,
    );
}

#[test]
fn layout_of_items_and_bodies() {
    let text = "use a.b\nuse a.c\n\n\n\nfn f(x) = x;fn g(x) = x\n/// d\nfn h() = 1\nexperiment e {seed = 0;\n\n\n batch = 2\n probe every 5 steps {a = 1}}\nexperiment empty extends e {}\nblock b = { x }";
    let want = "\
use a.b
use a.c

fn f(x) = x
fn g(x) = x

/// d
fn h() = 1

experiment e {
    seed = 0

    batch = 2
    probe every 5 steps {
        a = 1
    }
}

experiment empty extends e {}

block b {
    x
}
";
    assert_eq!(formatted(text), want);
}

#[test]
fn long_lines_break_at_commas_and_operators() {
    let text = "experiment e { model = aaaaaaaaaaaaaaaaaaaa(1) >> bbbbbbbbbbbbbbbbbbbbbbbbbbb(2) >> ccccccccccccccccccccccccccc(3) >> dddddddddd }";
    let want = "\
experiment e {
    model = aaaaaaaaaaaaaaaaaaaa(1)
        >> bbbbbbbbbbbbbbbbbbbbbbbbbbb(2)
        >> ccccccccccccccccccccccccccc(3)
        >> dddddddddd
}
";
    assert_eq!(formatted(text), want);
    let text = "fn f() = g(aaaaaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, cccccccccccccccccccccccccccccccccccc, d)";
    let want = "\
fn f() =
    g(
        aaaaaaaaaaaaaaaaaaaaaaaaa,
        bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,
        cccccccccccccccccccccccccccccccccccc,
        d,
    )
";
    assert_eq!(formatted(text), want);
}

#[test]
fn comments_stay_with_their_statements() {
    let text = "experiment e { // head\n  // lead\n  a = f(1, // inner\n 2) // trail\n  b = 1; c = 2 // of c\n  // last\n} // after\n// end\n";
    let want = "\
experiment e { // head
    // lead
    // inner
    a = f(1, 2) // trail
    b = 1
    c = 2 // of c
    // last
} // after
// end
";
    assert_eq!(formatted(text), want);
    assert_eq!(formatted(want), want);
}

#[test]
fn files_with_errors_are_returned_unchanged() {
    let text = "fn f( = \n";
    let file = parse(text);
    assert!(!file.errors.is_empty());
    assert_eq!(format(&file, text), text);
}

#[test]
fn deep_but_accepted_nesting_formats() {
    // Deep enough to matter for recursion in the builder, the formatter and the dump, shallow
    // enough for pest's own stack guard in a debug test thread.
    let n = 120;
    let texts = [
        format!("fn f(x) = {}x{}", "(x + ".repeat(n), ")".repeat(n)),
        format!("fn f(x) = {}x{}", "[".repeat(n), "]".repeat(n)),
        format!("fn f(x) = {}x{}", "g(".repeat(n), ")".repeat(n)),
        format!("fn f(x) = {}x", "y => ".repeat(2 * n)),
        format!("fn f(x) = x{}", " - 1".repeat(2 * n)),
    ];
    for text in texts {
        let file = parse(&text);
        assert!(file.errors.is_empty(), "{:?}", file.errors);
        let out = format(&file, &text);
        let again = parse(&out);
        assert!(again.errors.is_empty(), "{:?}", again.errors);
        assert_eq!(crate::dump_without_spans(&again), crate::dump_without_spans(&file));
    }
}
