//! Tests of `Dim`: algebraic identities, the text form, substitution and evaluation, and a
//! randomized check that normalization preserves values.

use std::collections::BTreeMap;

use super::*;

fn d(text: &str) -> Dim {
    Dim::parse(text).unwrap_or_else(|e| panic!("{e}"))
}

fn sym(name: &str) -> Dim {
    Dim::symbol(name)
}

fn k(v: i64) -> Dim {
    Dim::constant(v)
}

#[test]
fn algebraic_identities() {
    let (p, h, b) = (sym("p"), sym("H"), sym("B"));
    assert_eq!(k(2) * p.clone(), p.clone() + p.clone());
    assert_eq!((h.clone() + k(2) - k(3)).div_floor(&k(1)) + k(1), h);
    assert_eq!(h.div_floor(&k(2)).div_floor(&k(2)), h.div_floor(&k(4)));
    assert_eq!(k(3) * k(4) + k(1), k(13));
    assert_eq!(k(0) * p.clone(), k(0));
    assert_eq!(p.clone() - p.clone(), k(0));
    assert_eq!(b.clone() + p.clone(), p.clone() + b.clone());
    assert_eq!(b.clone() * p.clone(), p.clone() * b.clone());
    assert_eq!((p.clone() + k(1)) * (p.clone() - k(1)), p.clone() * p.clone() - k(1));
    assert_eq!((k(4) * p.clone() + k(6)).div_floor(&k(2)), k(2) * p.clone() + k(3));
    assert_eq!(k(7).div_floor(&k(2)), k(3));
    assert_eq!(k(-7).div_floor(&k(2)), k(-4), "floor rounds toward negative infinity");
    assert_eq!((k(2) * b.clone() * p.clone()).div_floor(&p), k(2) * b.clone());
    assert_eq!(h.div_floor(&h), k(1));
    assert_eq!((h.clone() + p.clone()).div_floor(&p), h.div_floor(&p) + k(1));
}

#[test]
fn conv_formulas_simplify() {
    // (H + 2 * pad - dil * (k - 1) - 1) / stride + 1 for common settings.
    assert_eq!(d("(H + 2 * 1 - 1 * (3 - 1) - 1) / 1 + 1"), d("H"));
    assert_eq!(d("(H - 2) / 2 + 1"), d("H / 2"));
    assert_eq!(d("(H - 3) / 2 + 1"), d("(H - 1) / 2"));
    assert_eq!(d("(H + 1) / 2"), d("(H - 1) / 2 + 1"));
    assert_eq!(d("(H + 1) / 2").to_string(), "(H - 1) / 2 + 1");
    assert_eq!(d("(2 * H) / 4"), d("H / 2"), "common factors cancel");
    assert_eq!(d("(3 * H) / 2").to_string(), "H + H / 2");
    assert_eq!(d("28 / 2 / 2"), k(7));
}

#[test]
fn display_forms() {
    let cases = [
        ("B", "B"),
        ("p + p", "2 * p"),
        ("0 - p", "-p"),
        ("1 - p", "-p + 1"),
        ("3 - 2 * p", "-2 * p + 3"),
        ("(H - 1) / 2 + 1", "(H - 1) / 2 + 1"),
        ("B * C * H * W", "B * C * H * W"),
        ("W * H * C * B", "B * C * H * W"),
        ("0", "0"),
        ("-5", "-5"),
        ("3 * (H / 2)", "3 * (H / 2)"),
        ("0 - H / 2", "-(H / 2)"),
        ("W - H / 2", "W - H / 2"),
        ("(H / 2) * W", "W * (H / 2)"),
        ("H / (p * q)", "H / (p * q)"),
        ("H / (p + 1)", "H / (p + 1)"),
        ("(0 - H) / p", "-H / p"),
        ("p * p", "p * p"),
        ("(H / n) / 2", "H / (2 * n)"),
        ("H / n / (p + 1)", "H / n / (p + 1)"),
        ("(H / 3) * (H / 3)", "H / 3 * (H / 3)"),
        ("H / 0", "H / 0"),
        ("  1_000 * x_1 ", "1000 * x_1"),
    ];
    for (input, want) in cases {
        let dim = d(input);
        assert_eq!(dim.to_string(), want, "display of `{input}`");
        assert_eq!(d(want), dim, "`{want}` parses back to the same dim");
    }
}

#[test]
fn parse_errors() {
    for bad in ["", "B +", "(B", "B)", "2 ** 3", "B # 1", "99999999999999999999"] {
        assert!(Dim::parse(bad).is_err(), "`{bad}` should not parse");
    }
    assert_eq!(Dim::parse("(B").unwrap_err(), "expected `)`, found end of dimension `(B`");
}

#[test]
fn eval_substitute_symbols() {
    let dim = d("(H - 1) / 2 + 1 + B * W");
    let env: BTreeMap<String, i64> = [("H", 28), ("B", 2), ("W", 3)].map(|(s, v)| (s.to_string(), v)).into();
    assert_eq!(dim.eval(&env), Some(13 + 1 + 6));
    assert_eq!(d("H / 0").eval(&env), None);
    assert_eq!(d("Q + 1").eval(&env), None);
    assert_eq!(dim.symbols().into_iter().collect::<Vec<_>>(), ["B", "H", "W"]);
    let subst: BTreeMap<String, Dim> = [("H".to_string(), d("2 * p + 1")), ("W".to_string(), k(4))].into();
    assert_eq!(dim.substitute(&subst), d("p + 1 + 4 * B"));
    assert_eq!(d("(H - 3) / 2 + 1").substitute(&[("H".to_string(), k(28))].into()), k(13));
    assert_eq!(d("B").as_symbol(), Some("B"));
    assert_eq!(d("2 * B").as_symbol(), None);
    assert_eq!(d("2 * B").as_const(), None);
    assert_eq!(d("4 - 4").as_const(), Some(0));
    assert_eq!(d("i64max").eval(&[("i64max".to_string(), i64::MAX)].into()), Some(i64::MAX));
    assert_eq!(d("x * x").eval(&[("x".to_string(), i64::MAX)].into()), None, "overflow is None");
}

#[test]
fn serde_as_text() {
    let json = serde_json::to_string(&d("(H - 1) / 2 + 1")).unwrap();
    assert_eq!(json, r#""(H - 1) / 2 + 1""#);
    assert_eq!(serde_json::from_str::<Dim>(&json).unwrap(), d("(H - 1) / 2 + 1"));
    assert!(serde_json::from_str::<Dim>(r#""B +""#).is_err());
}

/// An unnormalized expression, evaluated directly as the reference.
#[derive(Debug)]
enum Raw {
    Const(i64),
    Sym(usize),
    Add(Box<Raw>, Box<Raw>),
    Sub(Box<Raw>, Box<Raw>),
    Mul(Box<Raw>, Box<Raw>),
    Div(Box<Raw>, Box<Raw>),
}

const SYMS: [&str; 3] = ["a", "b", "c"];

/// A 64-bit linear congruential generator (Knuth's MMIX constants), enough for test data.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }

    fn raw(&mut self, depth: u32) -> Raw {
        let leaf = depth == 0 || self.below(3) == 0;
        if leaf {
            return if self.below(2) == 0 {
                Raw::Const(self.below(9) as i64 - 3)
            } else {
                Raw::Sym(self.below(3) as usize)
            };
        }
        let (l, r) = (Box::new(self.raw(depth - 1)), Box::new(self.raw(depth - 1)));
        match self.below(5) {
            0 => Raw::Add(l, r),
            1 => Raw::Sub(l, r),
            2 => Raw::Mul(l, r),
            _ => Raw::Div(l, r),
        }
    }
}

impl Raw {
    fn eval(&self, vals: &[i64; 3]) -> Option<i64> {
        match self {
            Raw::Const(v) => Some(*v),
            Raw::Sym(i) => Some(vals[*i]),
            Raw::Add(l, r) => l.eval(vals)?.checked_add(r.eval(vals)?),
            Raw::Sub(l, r) => l.eval(vals)?.checked_sub(r.eval(vals)?),
            Raw::Mul(l, r) => l.eval(vals)?.checked_mul(r.eval(vals)?),
            Raw::Div(l, r) => floor_div_i64(l.eval(vals)?, r.eval(vals)?),
        }
    }

    fn build(&self) -> Dim {
        match self {
            Raw::Const(v) => k(*v),
            Raw::Sym(i) => sym(SYMS[*i]),
            Raw::Add(l, r) => l.build() + r.build(),
            Raw::Sub(l, r) => l.build() - r.build(),
            Raw::Mul(l, r) => l.build() * r.build(),
            Raw::Div(l, r) => l.build().div_floor(&r.build()),
        }
    }
}

#[test]
fn normalization_preserves_values() {
    let mut rng = Lcg(0x5eed);
    let mut compared = 0;
    for _ in 0..3000 {
        let raw = rng.raw(4);
        let dim = raw.build();
        let text = dim.to_string();
        let reparsed = Dim::parse(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reparsed, dim, "print/parse of {raw:?} via `{text}`");
        assert_eq!(reparsed.to_string(), text);
        for _ in 0..4 {
            // Symbols are sizes, so they are positive; see the module doc.
            let vals = [1 + rng.below(9) as i64, 1 + rng.below(9) as i64, 1 + rng.below(9) as i64];
            let Some(want) = raw.eval(&vals) else {
                continue;
            };
            let env = SYMS.iter().zip(vals).map(|(s, v)| (s.to_string(), v)).collect();
            assert_eq!(dim.eval(&env), Some(want), "{raw:?} normalized to `{text}` at {vals:?}");
            compared += 1;
        }
    }
    assert!(compared > 5000, "only {compared} comparisons");
}
