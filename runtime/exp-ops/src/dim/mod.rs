//! Symbolic dimensions: integer expressions over named symbols in a canonical form.
//!
//! A [`Dim`] is a polynomial with `i64` coefficients whose variables are *atoms*: named
//! symbols (`B`, `p`, `H`) and opaque floor divisions `num / den` of two normalized dims.
//! Every constructor and operator normalizes, so two dims are equal exactly when their
//! canonical forms are structurally equal: `p + p == 2 * p`, `H / 2 / 2 == H / 4`.
//!
//! Assumptions that the simplifier relies on, because shapes are sizes:
//! symbols stand for positive integers, so dividing by a symbol never divides by zero and
//! nested floor divisions by positive divisors may be merged.
//! Coefficients saturate at the `i64` bounds instead of panicking; sizes that large are
//! rejected by the memory estimates long before they matter.
//!
//! The text form (printing and parsing) lives in `text.rs`; tests live in `tests.rs`.

#[cfg(test)]
mod tests;
mod text;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Add, Mul, Neg, Sub};

/// An integer expression over named symbols, always kept in canonical form.
///
/// Build dims with [`Dim::constant`], [`Dim::symbol`], the `+ - *` operators and
/// [`Dim::div_floor`]; compare them with `==`; print them with `Display` and read them
/// back with [`Dim::parse`]. `Dim::default()` is the constant `0`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dim {
    /// Monomial → nonzero coefficient; the constant term is the empty monomial.
    terms: BTreeMap<Monomial, i64>,
}

/// A product of atoms with positive exponents, sorted by atom; empty means the constant 1.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
struct Monomial(Vec<(Atom, u32)>);

/// An indivisible variable of the polynomial.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Atom {
    /// A named symbol such as `B`.
    Sym(String),
    /// `floor(num / den)` that could not be simplified further.
    FloorDiv(Box<Dim>, Box<Dim>),
}

impl Monomial {
    fn is_const(&self) -> bool {
        self.0.is_empty()
    }

    fn mul(&self, other: &Monomial) -> Monomial {
        let mut exps: BTreeMap<Atom, u32> = self.0.iter().cloned().collect();
        for (atom, e) in &other.0 {
            let slot = exps.entry(atom.clone()).or_insert(0);
            *slot = slot.saturating_add(*e);
        }
        Monomial(exps.into_iter().collect())
    }

    /// `self / other` when every atom of `other` occurs in `self` at least as often.
    fn checked_div(&self, other: &Monomial) -> Option<Monomial> {
        let mut exps: BTreeMap<Atom, u32> = self.0.iter().cloned().collect();
        for (atom, e) in &other.0 {
            let have = exps.get_mut(atom)?;
            *have = have.checked_sub(*e)?;
            if *have == 0 {
                exps.remove(atom);
            }
        }
        Some(Monomial(exps.into_iter().collect()))
    }
}

impl Dim {
    /// The constant `value`.
    pub fn constant(value: i64) -> Dim {
        Dim::from_term(Monomial::default(), value)
    }

    /// The named symbol `name` (a size fixed per run, such as the batch size `B`).
    pub fn symbol(name: &str) -> Dim {
        Dim::from_atom(Atom::Sym(name.to_string()))
    }

    fn from_term(mono: Monomial, coeff: i64) -> Dim {
        let mut terms = BTreeMap::new();
        if coeff != 0 {
            terms.insert(mono, coeff);
        }
        Dim { terms }
    }

    fn from_atom(atom: Atom) -> Dim {
        Dim::from_term(Monomial(vec![(atom, 1)]), 1)
    }

    /// The value of a dim without symbols, or `None` when it mentions any.
    pub fn as_const(&self) -> Option<i64> {
        match self.terms.len() {
            0 => Some(0),
            1 => self.terms.get(&Monomial::default()).copied(),
            _ => None,
        }
    }

    /// The symbol name when the dim is exactly one symbol (like `B`), else `None`.
    pub fn as_symbol(&self) -> Option<&str> {
        let (mono, coeff) = self.single_term()?;
        match (coeff, mono.0.as_slice()) {
            (1, [(Atom::Sym(name), 1)]) => Some(name),
            _ => None,
        }
    }

    fn single_term(&self) -> Option<(&Monomial, i64)> {
        let mut it = self.terms.iter();
        let (mono, coeff) = it.next()?;
        it.next().is_none().then_some((mono, *coeff))
    }

    /// Adds `coeff * mono` to `self`, dropping the term when it cancels.
    fn add_term(&mut self, mono: Monomial, coeff: i64) {
        let slot = self.terms.entry(mono.clone()).or_insert(0);
        *slot = slot.saturating_add(coeff);
        if *slot == 0 {
            self.terms.remove(&mono);
        }
    }

    fn scale(&self, factor: i64) -> Dim {
        let mut out = Dim::default();
        for (mono, coeff) in &self.terms {
            out.add_term(mono.clone(), coeff.saturating_mul(factor));
        }
        out
    }

    /// `floor(self / den)`, simplified where that is exact (see the module doc).
    ///
    /// Division by the constant zero is kept symbolically; [`Dim::eval`] reports it as
    /// `None`, and the layer checks report it as an error before it gets that far.
    pub fn div_floor(&self, den: &Dim) -> Dim {
        if self.terms.is_empty() {
            return Dim::default();
        }
        match den.single_term() {
            Some((mono, coeff)) if coeff < 0 => self.neg().div_floor(&Dim::from_term(mono.clone(), -coeff)),
            Some((mono, coeff)) => self.div_by_monomial(mono, coeff),
            None if self == den => Dim::constant(1),
            None => Dim::from_atom(Atom::FloorDiv(Box::new(self.clone()), Box::new(den.clone()))),
        }
    }

    /// `floor(self / (c * m))` for a positive coefficient `c` and a monomial `m`.
    ///
    /// Terms divisible by `c * m` move out of the floor exactly, since
    /// `floor((c*m*q + r) / (c*m)) = q + floor(r / (c*m))` for integer `q`.
    /// Leftover coefficients keep a fixed residue (`[0, c)` for symbolic terms, `(-c, 0]` for
    /// the constant) so the split is canonical; the constant convention keeps conv-style
    /// formulas readable: `(H - 1) / 2 + 1`.
    fn div_by_monomial(&self, m: &Monomial, c: i64) -> Dim {
        let mut quotient = Dim::default();
        let mut rest = Dim::default();
        for (mono, &coeff) in &self.terms {
            match mono.checked_div(m) {
                Some(q_mono) => {
                    let r = if mono.is_const() { -(-coeff).rem_euclid(c) } else { coeff.rem_euclid(c) };
                    quotient.add_term(q_mono, (coeff - r) / c);
                    rest.add_term(mono.clone(), r);
                }
                None => rest.add_term(mono.clone(), coeff),
            }
        }
        match rest.as_const() {
            Some(r) if m.is_const() => return quotient + Dim::constant(floor_div_i64(r, c).unwrap_or(0)),
            Some(0) => return quotient,
            _ => {}
        }
        let g = rest.terms.values().fold(c, |g, &k| gcd(g, k));
        let (rest, c) = (rest.scale_div(g), c / g);
        if c == 1 && m.is_const() {
            return quotient + rest;
        }
        quotient + rest.floor_atom(Dim::from_term(m.clone(), c))
    }

    /// Exact division of every coefficient by `g`, which divides them all.
    fn scale_div(&self, g: i64) -> Dim {
        let terms = self.terms.iter().map(|(m, k)| (m.clone(), k / g)).collect();
        Dim { terms }
    }

    /// Wraps `floor(self / den)` as an atom, merging `floor(floor(a / b) / den)` into
    /// `floor(a / (b * den))`. That identity (`floor(floor(y) / d) = floor(y / d)`) needs
    /// `den` to be a positive integer, which holds when it is a positive multiple of
    /// symbols; a floor-division factor could be negative, so it blocks the merge.
    fn floor_atom(self, den: Dim) -> Dim {
        let den_positive =
            den.single_term().is_some_and(|(m, c)| c > 0 && m.0.iter().all(|(atom, _)| matches!(atom, Atom::Sym(_))));
        if let Some((mono, 1)) = self.single_term().filter(|_| den_positive) {
            if let [(Atom::FloorDiv(a, b), 1)] = mono.0.as_slice() {
                return a.div_floor(&(b.as_ref().clone() * den));
            }
        }
        Dim::from_atom(Atom::FloorDiv(Box::new(self), Box::new(den)))
    }

    /// The symbols the dim mentions, including those inside floor divisions.
    pub fn symbols(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        self.collect_symbols(&mut out);
        out
    }

    fn collect_symbols(&self, out: &mut BTreeSet<String>) {
        for (atom, _) in self.terms.keys().flat_map(|m| &m.0) {
            match atom {
                Atom::Sym(name) => {
                    out.insert(name.clone());
                }
                Atom::FloorDiv(num, den) => {
                    num.collect_symbols(out);
                    den.collect_symbols(out);
                }
            }
        }
    }

    /// Replaces symbols by dims (symbols missing from `env` stay) and renormalizes.
    pub fn substitute(&self, env: &BTreeMap<String, Dim>) -> Dim {
        self.fold(&mut |atom| match atom {
            Atom::Sym(name) => env.get(name).cloned().unwrap_or_else(|| Dim::symbol(name)),
            Atom::FloorDiv(num, den) => num.substitute(env).div_floor(&den.substitute(env)),
        })
    }

    /// The integer value under `env`; `None` on an unknown symbol, a division by zero or
    /// an overflow.
    pub fn eval(&self, env: &BTreeMap<String, i64>) -> Option<i64> {
        let mut total: i64 = 0;
        for (mono, &coeff) in &self.terms {
            let mut product = coeff;
            for (atom, exp) in &mono.0 {
                let v = match atom {
                    Atom::Sym(name) => *env.get(name)?,
                    Atom::FloorDiv(num, den) => floor_div_i64(num.eval(env)?, den.eval(env)?)?,
                };
                product = product.checked_mul(v.checked_pow(*exp)?)?;
            }
            total = total.checked_add(product)?;
        }
        Some(total)
    }

    /// Rebuilds the dim with each atom replaced by `f(atom)`, renormalizing on the way.
    fn fold(&self, f: &mut impl FnMut(&Atom) -> Dim) -> Dim {
        let mut out = Dim::default();
        for (mono, &coeff) in &self.terms {
            let mut term = Dim::constant(coeff);
            for (atom, exp) in &mono.0 {
                let value = f(atom);
                for _ in 0..*exp {
                    term = term * value.clone();
                }
            }
            out = out + term;
        }
        out
    }
}

/// Floor division on integers (rounding toward negative infinity), `None` on zero or overflow.
pub(crate) fn floor_div_i64(num: i64, den: i64) -> Option<i64> {
    let q = num.checked_div(den)?;
    let inexact = num.checked_rem(den)? != 0;
    Some(if inexact && ((num < 0) != (den < 0)) { q - 1 } else { q })
}

fn gcd(a: i64, b: i64) -> i64 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    i64::try_from(a).unwrap_or(i64::MAX)
}

impl Add for Dim {
    type Output = Dim;
    fn add(mut self, rhs: Dim) -> Dim {
        for (mono, coeff) in rhs.terms {
            self.add_term(mono, coeff);
        }
        self
    }
}

impl Neg for Dim {
    type Output = Dim;
    fn neg(self) -> Dim {
        self.scale(-1)
    }
}

impl Neg for &Dim {
    type Output = Dim;
    fn neg(self) -> Dim {
        self.scale(-1)
    }
}

impl Sub for Dim {
    type Output = Dim;
    fn sub(self, rhs: Dim) -> Dim {
        self + -rhs
    }
}

impl Mul for Dim {
    type Output = Dim;
    fn mul(self, rhs: Dim) -> Dim {
        let mut out = Dim::default();
        for (m1, k1) in &self.terms {
            for (m2, k2) in &rhs.terms {
                out.add_term(m1.mul(m2), k1.saturating_mul(*k2));
            }
        }
        out
    }
}

impl From<i64> for Dim {
    fn from(value: i64) -> Dim {
        Dim::constant(value)
    }
}
