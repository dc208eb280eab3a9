//! The text form of initializers (`exp_ops::InitSpec`), which the op table defines without one.
//!
//! `zeros` and `ones` print bare; every other initializer prints its fields by name in a fixed
//! order: `constant(value: 8.0)`, `normal(mean: 0.0, std: 0.02)`, `uniform(low: -0.1, high: 0.1)`,
//! `kaiming_uniform(a: 2.23606797749979, fan_in: 784)`, `bias_uniform(fan_in: 784)`,
//! `xavier_uniform(gain: 1.0, fan_in: 10, fan_out: 20)`, `orthogonal(gain: 1.0)`.
//! Fans are dims; in a verified program they are constants.

use crate::parse::cursor::Cursor;
use crate::parse::ParseError;
use crate::value::format_float;
use exp_ops::{Dim, InitSpec};
use std::fmt::{self, Write};

/// The initializer's name in the text form.
pub fn init_name(init: &InitSpec) -> &'static str {
    match init {
        InitSpec::Zeros => "zeros",
        InitSpec::Ones => "ones",
        InitSpec::Constant(_) => "constant",
        InitSpec::Normal { .. } => "normal",
        InitSpec::Uniform { .. } => "uniform",
        InitSpec::KaimingUniform { .. } => "kaiming_uniform",
        InitSpec::BiasUniform { .. } => "bias_uniform",
        InitSpec::XavierUniform { .. } => "xavier_uniform",
        InitSpec::Orthogonal { .. } => "orthogonal",
    }
}

/// The fans an initializer depends on, so the verifier can require them to be constants.
pub fn init_fans(init: &InitSpec) -> Vec<&Dim> {
    match init {
        InitSpec::KaimingUniform { fan_in, .. } | InitSpec::BiasUniform { fan_in } => vec![fan_in],
        InitSpec::XavierUniform { fan_in, fan_out, .. } => vec![fan_in, fan_out],
        _ => Vec::new(),
    }
}

/// Writes the text form of `init`.
pub(crate) fn write_init(out: &mut impl Write, init: &InitSpec) -> fmt::Result {
    let f = |x: &f64| format_float(*x);
    out.write_str(init_name(init))?;
    match init {
        InitSpec::Zeros | InitSpec::Ones => Ok(()),
        InitSpec::Constant(value) => write!(out, "(value: {})", f(value)),
        InitSpec::Normal { mean, std } => write!(out, "(mean: {}, std: {})", f(mean), f(std)),
        InitSpec::Uniform { low, high } => write!(out, "(low: {}, high: {})", f(low), f(high)),
        InitSpec::KaimingUniform { a, fan_in } => write!(out, "(a: {}, fan_in: {fan_in})", f(a)),
        InitSpec::BiasUniform { fan_in } => write!(out, "(fan_in: {fan_in})"),
        InitSpec::XavierUniform { gain, fan_in, fan_out } => {
            write!(out, "(gain: {}, fan_in: {fan_in}, fan_out: {fan_out})", f(gain))
        }
        InitSpec::Orthogonal { gain } => write!(out, "(gain: {})", f(gain)),
    }
}

/// Reads what [`write_init`] writes.
pub(crate) fn parse_init(c: &mut Cursor<'_>) -> Result<InitSpec, ParseError> {
    let name = c.ident()?;
    let init = match name {
        "zeros" => return Ok(InitSpec::Zeros),
        "ones" => return Ok(InitSpec::Ones),
        "constant" => {
            c.expect("(")?;
            InitSpec::Constant(float_field(c, "value")?)
        }
        "normal" => {
            c.expect("(")?;
            InitSpec::Normal { mean: float_field(c, "mean")?, std: next_float(c, "std")? }
        }
        "uniform" => {
            c.expect("(")?;
            InitSpec::Uniform { low: float_field(c, "low")?, high: next_float(c, "high")? }
        }
        "kaiming_uniform" => {
            c.expect("(")?;
            InitSpec::KaimingUniform { a: float_field(c, "a")?, fan_in: next_dim(c, "fan_in")? }
        }
        "bias_uniform" => {
            c.expect("(")?;
            InitSpec::BiasUniform { fan_in: dim_field(c, "fan_in")? }
        }
        "xavier_uniform" => {
            c.expect("(")?;
            let gain = float_field(c, "gain")?;
            InitSpec::XavierUniform { gain, fan_in: next_dim(c, "fan_in")?, fan_out: next_dim(c, "fan_out")? }
        }
        "orthogonal" => {
            c.expect("(")?;
            InitSpec::Orthogonal { gain: float_field(c, "gain")? }
        }
        other => return Err(c.error(format!("unknown initializer `{other}`"))),
    };
    c.expect(")")?;
    Ok(init)
}

fn float_field(c: &mut Cursor<'_>, name: &str) -> Result<f64, ParseError> {
    c.keyword(name)?;
    c.expect(":")?;
    c.f64()
}

fn next_float(c: &mut Cursor<'_>, name: &str) -> Result<f64, ParseError> {
    c.expect(",")?;
    float_field(c, name)
}

fn dim_field(c: &mut Cursor<'_>, name: &str) -> Result<Dim, ParseError> {
    c.keyword(name)?;
    c.expect(":")?;
    c.dim()
}

fn next_dim(c: &mut Cursor<'_>, name: &str) -> Result<Dim, ParseError> {
    c.expect(",")?;
    dim_field(c, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_initializer_round_trips() {
        let d = Dim::constant;
        let all = [
            InitSpec::Zeros,
            InitSpec::Ones,
            InitSpec::Constant(-2.5),
            InitSpec::Normal { mean: 0.0, std: 0.02 },
            InitSpec::Uniform { low: -0.1, high: 0.25 },
            InitSpec::KaimingUniform { a: 5f64.sqrt(), fan_in: d(784) },
            InitSpec::BiasUniform { fan_in: d(3) },
            InitSpec::XavierUniform { gain: 1.5, fan_in: d(10), fan_out: d(20) },
            InitSpec::Orthogonal { gain: 2f64.sqrt() },
        ];
        for init in all {
            let mut text = String::new();
            write_init(&mut text, &init).unwrap();
            let mut c = Cursor::new(&text, 1);
            assert_eq!(parse_init(&mut c).unwrap(), init, "{text}");
        }
    }
}
