//! Conversions between a layer node's IR attributes and the op table's typed [`LayerOp`].
//!
//! The IR stores layer attributes as plain [`Value`]s so the text form stays uniform; lowering
//! builds them from a [`LayerOp`] with [`LayerCall::from_op`], and the runtime and the verifier
//! rebuild the typed op with [`LayerCall::to_op`].
//! Integer arguments become `Int`s and integer lists become `List`s; sizes must be constants,
//! since the IR is fully resolved.

use crate::graph::{LayerCall, ParamRef};
use crate::types::Args;
use crate::value::Value;
use exp_ops::{ArgValue, Dim, LayerOp};
use std::collections::BTreeMap;

impl LayerCall {
    /// The call of `op` reading `params`, with attributes in the op table's (sorted) order.
    /// `None` if an argument is a symbolic size, which a resolved program cannot hold.
    pub fn from_op(op: &LayerOp, params: Vec<ParamRef>) -> Option<LayerCall> {
        Some(LayerCall { op: op.name().to_string(), attrs: args_to_attrs(&op.to_args())?, params })
    }

    /// The typed op, with the op table's checks of names, kinds and ranges; the error is the
    /// op table's message.
    pub fn to_op(&self) -> Result<LayerOp, String> {
        LayerOp::from_args(&self.op, &attrs_to_args(&self.attrs)?).map_err(|e| e.to_string())
    }
}

/// Converts op-table arguments to IR attributes; `None` on a symbolic size.
pub fn args_to_attrs(args: &BTreeMap<String, ArgValue>) -> Option<Args> {
    let int = |d: &Dim| d.as_const().map(Value::Int);
    args.iter()
        .map(|(name, v)| {
            let value = match v {
                ArgValue::Int(d) => int(d)?,
                ArgValue::Float(x) => Value::Float(*x),
                ArgValue::Bool(b) => Value::Bool(*b),
                ArgValue::Ints(ds) => Value::List(ds.iter().map(int).collect::<Option<_>>()?),
            };
            Some((name.clone(), value))
        })
        .collect()
}

/// Converts IR attributes to op-table arguments; lists and tuples of integers both become
/// integer lists. Fails on a value kind no layer argument has, or a repeated name.
pub fn attrs_to_args(attrs: &Args) -> Result<BTreeMap<String, ArgValue>, String> {
    let mut out = BTreeMap::new();
    for (name, value) in attrs {
        let arg = match value {
            Value::Int(i) => ArgValue::int(*i),
            Value::Float(x) => ArgValue::Float(*x),
            Value::Bool(b) => ArgValue::Bool(*b),
            Value::List(items) | Value::Tuple(items) => ArgValue::Ints(
                items
                    .iter()
                    .map(|v| match v {
                        Value::Int(i) => Ok(Dim::constant(*i)),
                        other => Err(format!("attribute `{name}` holds `{other}`, expected integers")),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            other => return Err(format!("attribute `{name}` holds `{other}`, which no layer argument takes")),
        };
        if out.insert(name.clone(), arg).is_some() {
            return Err(format!("attribute `{name}` is given twice"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_round_trips_through_attrs() {
        let mut args = BTreeMap::new();
        args.insert("out".to_string(), ArgValue::int(16));
        args.insert("kernel".to_string(), ArgValue::ints(&[3, 3]));
        let op = LayerOp::from_args("conv2d", &args).unwrap();
        let call = LayerCall::from_op(&op, Vec::new()).unwrap();
        let keys: Vec<&str> = call.attrs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["bias", "dilation", "groups", "kernel", "out", "padding", "stride"]);
        assert_eq!(call.to_op().unwrap(), op);
    }

    #[test]
    fn symbolic_sizes_and_bad_values_are_refused() {
        let op = LayerOp::Linear { out: Dim::symbol("p"), bias: true };
        assert!(LayerCall::from_op(&op, Vec::new()).is_none());
        let attrs = vec![("out".to_string(), Value::Str("ten".into()))];
        assert!(attrs_to_args(&attrs).unwrap_err().contains("no layer argument"));
    }
}
