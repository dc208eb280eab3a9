//! Fuzz target: `exp_syntax::parse` never panics (nor overflows the stack) on any UTF-8 text,
//! and whatever parses cleanly formats to text that parses again and is a fixed point of the
//! formatter. `parse_expr` is exercised on the same input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let file = exp_syntax::parse(text);
    if file.errors.is_empty() {
        let out = exp_syntax::format(&file, text);
        let again = exp_syntax::parse(&out);
        assert!(again.errors.is_empty(), "formatted text does not parse: {:?}\n{out}", again.errors);
        assert_eq!(exp_syntax::format(&again, &out), out, "formatting is not idempotent");
    }
    let _ = exp_syntax::parse_expr(text);
});
