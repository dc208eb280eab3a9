//! Syntax errors: messages, help lines, positions, and recovery around broken items.

use super::check_table;
use crate::{line_col, parse, parse_expr};

/// Every error of `text` as `line:col message | help`, then the names of the items kept.
fn report(text: &str) -> String {
    let file = parse(text);
    let mut lines: Vec<String> = file
        .errors
        .iter()
        .map(|e| {
            let (l, c) = line_col(text, e.span.start as usize);
            format!("{l}:{c} {} | {}", e.message, e.help.as_deref().unwrap_or("-"))
        })
        .collect();
    let names: Vec<&str> = file.items.iter().filter_map(|i| i.name()).map(|n| n.name.as_str()).collect();
    lines.push(format!("items [{}]", names.join(", ")));
    lines.join("; ")
}

#[test]
fn messages_name_the_expected_tokens() {
    check_table(
        &[
            ("fn f(x) = (x + 1;", "1:17 expected `)` or `,`, found `;` | -; items []"),
            ("fn f(x) = (x + 1", "1:17 unexpected end of file | expected `)` or `,`; items []"),
            ("fn f(x) x + 1", "1:9 expected `{`, `:` or `=`, found `x` | add `=` before the body; items []"),
            ("fn f(x) = 1 + ", "1:15 unexpected end of file | expected an expression; items []"),
            ("fn f(x) = f(a b)", "1:15 expected `)` or `,`, found `b` | -; items []"),
            ("data d = idx(dir: \"x\",, y)", "1:23 expected `)` or an argument, found `,` | -; items []"),
            (
                "fn f(x) = if x { 1 }",
                "1:21 unexpected end of file | an `if` needs an `else` branch: `if c { a } else { b }`; items []",
            ),
        ],
        report,
    );
}

#[test]
fn help_lines_guess_common_mistakes() {
    check_table(
        &[
            (
                "fn f(x) = a < b < c",
                "1:17 comparison operators cannot be chained | combine comparisons with `and`: `a < b and b < c`; items []",
            ),
            ("sweep s over e { seed in 0..5..6 }", "1:30 ranges cannot be chained | put the inner range in parentheses; items []"),
            (
                "experiment a {\n  probe every steps { a = 1 }\n}",
                "2:15 expected a quantity such as `100 steps`, found `steps` | a quantity needs a number before `steps`, e.g. `100 steps`; items []",
            ),
            ("fn if(x) = x", "1:4 expected a name, found keyword `if` | `if` is a keyword and cannot be used as a name; items []"),
            (
                "experiment a { model = state }",
                "1:24 expected an expression, found keyword `state` | `state` is a keyword and cannot be used as a name; items []",
            ),
            ("experiment a {\n  batch: 64\n}", "2:8 expected `=`, found `:` | use `=` to set a value; items []"),
            ("experiment a {\n  stop when acc = 1\n}", "2:17 expected `}` or a statement, found `=` | use `==` to compare values; items []"),
            (
                "fn f(x) = x + if x { 1 } else { 2 }",
                "1:15 expected an expression, found keyword `if` | an `if` expression must be in parentheses here: `(if c { a } else { b })`; items []",
            ),
            ("fn f(x) = 3. + 1", "1:14 expected a field name, found `+` | a float needs a digit after the dot, e.g. `3.0`; items []"),
            (
                "optimizer o(lr) {\n  p = p - lr * g\n  /// the step\n}",
                "3:3 expected `}` or a statement, found a doc comment | doc comments (`///`) can only come right before an item; use `//` here; items []",
            ),
            (
                "fn f(x) = g(a for a in b, 1)",
                "1:13 a generator must be the only argument of a call | put it in brackets to pass a list: `[e for x in xs]`; items []",
            ),
        ],
        report,
    );
}

#[test]
fn literal_errors_point_inside_the_literal() {
    check_table(
        &[
            ("fn f(x) = \"a\\qb\"", "1:13 unknown escape `\\q` in string | the escapes are `\\\"`, `\\\\`, `\\n` and `\\t`; items []"),
            (
                "fn f(x) = 99999999999999999999",
                "1:11 integer literal is too large | the largest integer is 9223372036854775807; write a float such as `1e19` for larger values; items []",
            ),
            ("fn f(x) = 1e999", "1:11 float literal is out of range | the largest float is about `1.8e308`; items []"),
            (
                "experiment a {\n  x = \"abc\n}",
                "2:7 unterminated string | add the closing `\"`; a string cannot span lines; items []",
            ),
        ],
        report,
    );
}

#[test]
fn recovery_keeps_the_items_around_a_broken_one() {
    check_table(
        &[
            ("fn f(x) = x\n}\nfn g(y) = y", "2:1 expected an item, found `}` | this `}` has no matching `{`; items [f, g]"),
            (
                "fn f(x) = (x +\nfn g(y) = y\nfn h(x = 1\n",
                "2:1 expected an expression, found `fn` | this line starts a new item, so the item before it is unfinished; \
                 4:1 unexpected end of file | expected `)` or `,`; items [g]",
            ),
            (
                "experiment a {\n  x = 1\n\nexperiment b { y = 2 }",
                "4:1 expected `}` or a statement, found `experiment` | add `}` to close the item before this one; items [b]",
            ),
            (
                "x = 5\nfn g(y) = y",
                "1:1 expected an item, found `x` | an item starts with one of `use`, `fn`, `block`, `data`, `loss`, \
                 `optimizer`, `schedule`, `probe`, `metric`, `experiment`, `sweep`; items [g]",
            ),
            ("fn a() = 1\n/// dangling", "2:13 unexpected end of file | a doc comment must be followed by the item it documents; items [a]"),
            ("fn a() = 99999999999999999999\nfn b() = 2", "1:10 integer literal is too large | the largest integer is 9223372036854775807; write a float such as `1e19` for larger values; items [b]"),
        ],
        report,
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = |open: &str, close: &str, n: usize| format!("fn f(x) = {}x{}", open.repeat(n), close.repeat(n));
    let inputs = [
        deep("(", ")", 300),
        deep("[", "]", 100_000),
        deep("f(", ")", 300),
        deep("{", "}", 300),
        format!("fn f(x) = {}x", "x => ".repeat(10_000)),
        format!("fn f(x) = {}x", "-".repeat(100_000)),
        format!("fn f(x) = {}x", "not ".repeat(10_000)),
        format!("fn f(x) = x{}", " ^ 2".repeat(10_000)),
        format!("fn f(x) = x{}", " + 2".repeat(10_000)),
        format!("fn f(x) = x{}", ".a".repeat(10_000)),
        format!("fn f(x) = if a {{ 1 }}{} else {{ 2 }}", " else if b { 1 }".repeat(10_000)),
    ];
    for text in inputs {
        let file = parse(&text);
        assert_eq!(file.errors.len(), 1, "{:?}", &text[..40]);
        assert!(file.errors[0].message.contains("nested"), "{}", file.errors[0].message);
    }
    // Within the limit, nesting parses.
    assert!(parse(&deep("(", ")", 100)).errors.is_empty());
}

#[test]
fn parse_expr_reports_one_error() {
    assert_eq!(parse_expr("1 +").unwrap_err().message, "unexpected end of file");
    assert_eq!(parse_expr("a < b < c").unwrap_err().message, "comparison operators cannot be chained");
    assert_eq!(parse_expr("\"abc").unwrap_err().message, "unterminated string");
    assert_eq!(parse_expr("99999999999999999999").unwrap_err().message, "integer literal is too large");
    assert_eq!(parse_expr(" 3e-4 // comment\n").map(|e| e.span), Ok(crate::Span::new(1, 5)));
}
