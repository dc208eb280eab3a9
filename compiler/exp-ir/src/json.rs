//! The serde form of a [`Program`] (`expc ir --json`).
//!
//! The JSON mirrors the Rust types one to one (serde's default externally tagged enums).
//! Two details keep it lossless: the crate enables serde_json's `float_roundtrip` so every
//! finite `f64` reads back bit for bit, and non-finite floats, which JSON numbers cannot hold,
//! are written as the strings `"inf"`, `"-inf"` and `"nan"` by the [`float`] helper.

use crate::Program;

/// Serializes `program` as pretty-printed JSON.
pub fn to_json(program: &Program) -> String {
    // Serializing plain data with string keys cannot fail; the fallback keeps this total anyway.
    serde_json::to_string_pretty(program).unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()))
}

/// Reads a program back from the JSON written by [`to_json`].
pub fn from_json(text: &str) -> Result<Program, serde_json::Error> {
    serde_json::from_str(text)
}

/// Serde helpers for `f64` fields that may hold non-finite values.
pub mod float {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes finite floats as JSON numbers and the others as `"inf"`, `"-inf"` or `"nan"`.
    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        if x.is_finite() {
            s.serialize_f64(*x)
        } else {
            s.serialize_str(&crate::value::format_float(*x))
        }
    }

    /// Reads what [`serialize`] writes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Num(f64),
            Text(String),
        }
        match Repr::deserialize(d)? {
            Repr::Num(x) => Ok(x),
            Repr::Text(t) => match t.as_str() {
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                "nan" => Ok(f64::NAN),
                _ => Err(serde::de::Error::custom(format!("expected a float, found {t:?}"))),
            },
        }
    }
}
