//! Literal values: the arguments of layers, data sources, transforms, losses and probes, and the
//! values of resolved configuration entries.
//!
//! Floats are printed in the shortest form that parses back to the same bits, and always with a
//! `.` or an exponent, so `1.0` never reads back as the integer `1`.
//! Non-finite floats print as `inf`, `-inf` and `nan`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A fully evaluated literal value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// A signed integer, printed without a decimal point.
    Int(i64),
    /// A float, printed so that it round-trips exactly.
    Float(#[serde(with = "crate::json::float")] f64),
    /// `true` or `false`.
    Bool(bool),
    /// A string, printed quoted with escapes.
    Str(String),
    /// A homogeneous or heterogeneous list, printed `[a, b]`.
    List(Vec<Value>),
    /// A tuple, printed `(a, b)`; a one-element tuple prints `(a,)` so it differs from a group.
    Tuple(Vec<Value>),
    /// An amount of training time or memory, printed `100 steps`.
    Quantity {
        /// The amount, integral or fractional (`0.5 epochs`).
        amount: Number,
        /// What the amount counts.
        unit: Unit,
    },
}

/// A number that may be integral or fractional; the amount of a [`Value::Quantity`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Number {
    /// An integral amount.
    Int(i64),
    /// A fractional amount.
    Float(#[serde(with = "crate::json::float")] f64),
}

/// The unit of a [`Value::Quantity`].
///
/// Training-time units are distinct so the checker can refuse to compare epochs with steps; the
/// IR keeps them so the runtime can convert with the resolved steps per epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Unit {
    /// Optimizer steps.
    Steps,
    /// Passes over the training split.
    Epochs,
    /// Training samples seen.
    Samples,
    /// Bytes of memory.
    Bytes,
}

impl Unit {
    /// Every unit, in a fixed order.
    pub const ALL: [Unit; 4] = [Unit::Steps, Unit::Epochs, Unit::Samples, Unit::Bytes];

    /// The word used in the text form (`steps`, `epochs`, `samples`, `bytes`).
    pub fn name(self) -> &'static str {
        match self {
            Unit::Steps => "steps",
            Unit::Epochs => "epochs",
            Unit::Samples => "samples",
            Unit::Bytes => "bytes",
        }
    }

    /// The unit named `name` in the text form, if any.
    pub fn from_name(name: &str) -> Option<Unit> {
        Unit::ALL.into_iter().find(|u| u.name() == name)
    }
}

/// Formats a float so that parsing the text yields the same `f64`.
///
/// Rust's `Debug` for `f64` already prints the shortest round-tripping digits and switches to an
/// exponent for very large or small magnitudes; the guard below only matters if that ever
/// changes, because an integral-looking float would otherwise read back as an `Int`.
pub fn format_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let mut s = format!("{x:?}");
    if !s.contains(['.', 'e', 'E']) {
        s.push_str(".0");
    }
    s
}

/// Writes `s` as a double-quoted string literal.
///
/// Only `"`, `\` and control characters are escaped, so paths and names stay readable; the
/// escape set is fixed here rather than borrowed from `escape_debug`, whose output may change
/// between Rust versions and would then change every hash.
pub fn write_str_literal(out: &mut impl fmt::Write, s: &str) -> fmt::Result {
    out.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => out.write_str("\\\"")?,
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            '\t' => out.write_str("\\t")?,
            '\r' => out.write_str("\\r")?,
            c if c.is_control() => write!(out, "\\u{{{:x}}}", c as u32)?,
            c => out.write_char(c)?,
        }
    }
    out.write_char('"')
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) => f.write_str(&format_float(*x)),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => f.write_str(&format_float(*x)),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Str(s) => write_str_literal(f, s),
            Value::List(items) => {
                f.write_str("[")?;
                write_comma_separated(f, items)?;
                f.write_str("]")
            }
            Value::Tuple(items) => {
                f.write_str("(")?;
                write_comma_separated(f, items)?;
                if items.len() == 1 {
                    f.write_str(",")?;
                }
                f.write_str(")")
            }
            Value::Quantity { amount, unit } => write!(f, "{amount} {}", unit.name()),
        }
    }
}

fn write_comma_separated(f: &mut fmt::Formatter<'_>, items: &[Value]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_keep_a_point_or_exponent() {
        assert_eq!(format_float(1.0), "1.0");
        assert_eq!(format_float(-0.0), "-0.0");
        assert_eq!(format_float(0.001), "0.001");
        assert_eq!(format_float(1e-8), "1e-8");
        assert_eq!(format_float(1e300), "1e300");
        assert_eq!(format_float(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_float(f64::NAN), "nan");
    }

    #[test]
    fn floats_round_trip_through_text() {
        for x in [0.1, 1.0 / 3.0, 1.0507009873554805, f64::MIN_POSITIVE, f64::MAX, 5e-324] {
            let back: f64 = format_float(x).parse().unwrap();
            assert_eq!(back.to_bits(), x.to_bits(), "{x}");
        }
    }

    #[test]
    fn values_print_in_text_form() {
        let v = Value::List(vec![
            Value::Tuple(vec![Value::Float(0.9)]),
            Value::Str("a\"b\n".into()),
            Value::Quantity { amount: Number::Int(100), unit: Unit::Steps },
            Value::Bool(false),
        ]);
        assert_eq!(v.to_string(), r#"[(0.9,), "a\"b\n", 100 steps, false]"#);
    }
}
