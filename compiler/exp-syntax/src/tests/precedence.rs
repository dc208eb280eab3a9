//! Precedence and associativity, checked on s-expressions of `parse_expr` results.

use super::{check_table, sexpr};
use crate::parse_expr;

fn parsed(text: &str) -> String {
    match parse_expr(text) {
        Ok(e) => sexpr(&e),
        Err(e) => format!("error: {}", e.message),
    }
}

#[test]
fn operators_follow_the_table() {
    check_table(
        &[
            ("-x ^ 2", "(neg (^ x 2))"),
            ("2 ^ 3 ^ 2", "(^ 2 (^ 3 2))"),
            ("1 - 2 - 3", "(- (- 1 2) 3)"),
            ("a >> b >> c", "(>> (>> a b) c)"),
            ("1 + 2 * 3", "(+ 1 (* 2 3))"),
            ("(1 + 2) * 3", "(* (+ 1 2) 3)"),
            ("5 % 3 * 2 / 4", "(/ (* (% 5 3) 2) 4)"),
            ("-a * b", "(* (neg a) b)"),
            ("a * -b", "(* a (neg b))"),
            ("2 ^ -1", "(^ 2 (neg 1))"),
            ("--x", "(neg (neg x))"),
            ("x >> f + 1", "(>> x (+ f 1))"),
            ("a or b and c", "(or a (and b c))"),
            ("a and b or c", "(or (and a b) c)"),
            ("not a == b", "(not (== a b))"),
            ("not a and b", "(and (not a) b)"),
            ("not not a", "(not (not a))"),
            ("a < b + 1", "(< a (+ b 1))"),
            ("a != b", "(!= a b)"),
            ("a <= b and b >= c", "(and (<= a b) (>= b c))"),
            ("0..n + 1", "(.. 0 (+ n 1))"),
            ("a..b == c", "(== (.. a b) c)"),
            ("a >> b > c", "(> (>> a b) c)"),
        ],
        parsed,
    );
}

#[test]
fn lambdas_and_ifs_are_loosest() {
    check_table(
        &[
            ("x => x + 1", "(fn (x) (+ x 1))"),
            ("(z, f) => z + f(z)", "(fn (z f) (+ z (call f z)))"),
            ("x => y => x * y", "(fn (x) (fn (y) (* x y)))"),
            ("() => 1", "(fn () 1)"),
            ("if a { b } else if c { d } else { e }", "(if a b (if c d e))"),
            ("if a { let x = 1; x } else { 2 }", "(if a (block (let x 1) x) 2)"),
            ("if a { { b } } else { c }", "(if a (block b) c)"),
            ("x => if x { 1 } else { 2 }", "(fn (x) (if x 1 2))"),
            ("1 + (if a { 1 } else { 2 })", "(+ 1 (if a 1 2))"),
            ("f(x => x, 1)", "(call f (fn (x) x) 1)"),
        ],
        parsed,
    );
}

#[test]
fn postfix_binds_tightest() {
    check_table(
        &[
            ("f(x)(y).z[0]", "(index (. (call (call f x) y) z) 0)"),
            ("betas.0", "(. betas 0)"),
            ("m.0.1", "(. (. m 0) 1)"),
            ("-f(x).y ^ 2", "(neg (^ (. (call f x) y) 2))"),
            ("f(k: 1, 2)", "(call f k:1 2)"),
            ("f()", "(call f)"),
            ("(a + b).c", "(. (+ a b) c)"),
            ("x.data", "(. x data)"),
        ],
        parsed,
    );
}

#[test]
fn primaries() {
    check_table(
        &[
            ("(a)", "a"),
            ("(a,)", "(tuple a)"),
            ("()", "(tuple)"),
            ("(a, b,)", "(tuple a b)"),
            ("[]", "[]"),
            ("[1, 2,]", "[1 2]"),
            ("[x * x for x in 0..3]", "(comp (* x x) x (.. 0 3))"),
            ("sum(f(x) for f in fs)", "(call sum (comp (call f x) f fs))"),
            ("{ let a = 1; let b = 2 a + b }", "(block (let a 1) (let b 2) (+ a b))"),
            ("{ a }", "(block a)"),
            ("repeat 2 { a >> b }", "(repeat 2 (>> a b))"),
            ("repeat n { let l = linear(n); l }", "(repeat n (block (let l (call linear n)) l))"),
            ("\"a\\\"b\\\\c\\n\\t\"", "\"a\\\"b\\\\c\\n\\t\""),
            ("true and false", "(and true false)"),
            ("20_000", "20000"),
            ("1e-3", "0.001"),
            ("1.5e6", "1500000.0"),
            ("0.5", "0.5"),
        ],
        parsed,
    );
}

#[test]
fn quantities_take_a_literal_and_a_unit_on_its_line() {
    check_table(
        &[
            ("20_000 steps", "(qty 20000 Steps)"),
            ("1 step", "(qty 1 Steps)"),
            ("5 epochs", "(qty 5 Epochs)"),
            ("1 epoch", "(qty 1 Epochs)"),
            ("100 samples", "(qty 100 Samples)"),
            ("1 sample", "(qty 1 Samples)"),
            ("3 probes", "(qty 3 Probes)"),
            ("1 probe", "(qty 1 Probes)"),
            ("512 KiB", "(qty 512 Bytes(1))"),
            ("64 MiB", "(qty 64 Bytes(2))"),
            ("2.5 GiB", "(qty 2.5 Bytes(3))"),
            ("100steps", "(qty 100 Steps)"),
            ("-5 steps", "(neg (qty 5 Steps))"),
            ("2 * 100 steps", "(* 2 (qty 100 Steps))"),
            ("step * 2", "(* step 2)"),
            ("5\nsteps", "error: expected an operator or the end of the expression, found `steps`"),
            ("n steps", "error: expected an operator or the end of the expression, found `steps`"),
            ("5 stepsize", "error: expected a unit, an operator or the end of the expression, found `stepsize`"),
        ],
        parsed,
    );
}
