//! Builtins in the IR: the typed values of the registry (`exp_ops`) and their text form.
//!
//! The IR carries every builtin as its typed value: a layer call's [`LayerOp`], the loss, the
//! data source and transforms, the built-in probes and metrics. The text form prints each as
//! its name and named arguments (`cross_entropy(label_smoothing: 0.0)`), and the parser
//! rebuilds the typed value through the registry, which checks names, kinds and constraints
//! again. Integer arguments become `Int`s and integer lists `List`s; sizes must be constants,
//! since the IR is fully resolved. Layer attributes print sorted by name, every other builtin
//! in its row's order.

use crate::graph::{LayerCall, ParamRef};
use crate::types::Args;
use crate::value::Value;
use exp_ops::{ArgKind, ArgMap, ArgValue, Builtin, Dim, LayerOp};

impl LayerCall {
    /// The call of `op` reading `params`; `None` if an argument is a symbolic size, which a
    /// resolved program cannot hold.
    pub fn from_op(op: &LayerOp, params: Vec<ParamRef>) -> Option<LayerCall> {
        layer_attrs(op)?;
        Some(LayerCall { op: op.clone(), params })
    }
}

/// The IR value of an argument; `None` for a symbolic size.
pub fn value_of_arg(v: &ArgValue) -> Option<Value> {
    let int = |d: &Dim| d.as_const().map(Value::Int);
    Some(match v {
        ArgValue::Int(d) => int(d)?,
        ArgValue::Float(x) => Value::Float(*x),
        ArgValue::Bool(b) => Value::Bool(*b),
        ArgValue::Ints(ds) => Value::List(ds.iter().map(int).collect::<Option<_>>()?),
        ArgValue::Str(s) => Value::Str(s.clone()),
    })
}

/// The argument of an IR value; lists and tuples of integers both become integer lists.
pub fn arg_of_value(name: &str, value: &Value) -> Result<ArgValue, String> {
    Ok(match value {
        Value::Int(i) => ArgValue::int(*i),
        Value::Float(x) => ArgValue::Float(*x),
        Value::Bool(b) => ArgValue::Bool(*b),
        Value::Str(s) => ArgValue::Str(s.clone()),
        Value::List(items) | Value::Tuple(items) => ArgValue::Ints(
            items
                .iter()
                .map(|v| match v {
                    Value::Int(i) => Ok(Dim::constant(*i)),
                    other => Err(format!("argument `{name}` holds `{other}`, expected integers")),
                })
                .collect::<Result<_, _>>()?,
        ),
        other => return Err(format!("argument `{name}` holds `{other}`, which no builtin argument takes")),
    })
}

/// Named IR arguments as a map of builtin arguments; fails on a repeated name.
pub fn arg_map(args: &Args) -> Result<ArgMap, String> {
    let mut out = ArgMap::new();
    for (name, value) in args {
        if out.insert(name.clone(), arg_of_value(name, value)?).is_some() {
            return Err(format!("argument `{name}` is given twice"));
        }
    }
    Ok(out)
}

/// The printed attributes of a layer op, sorted by name; `None` on a symbolic size.
pub fn layer_attrs(op: &LayerOp) -> Option<Args> {
    op.to_args().iter().map(|(k, v)| Some((k.clone(), value_of_arg(v)?))).collect()
}

/// The layer op `name` with printed attributes, checked by the op table.
pub fn layer_of(name: &str, attrs: &Args) -> Result<LayerOp, String> {
    LayerOp::from_args(name, &arg_map(attrs)?).map_err(|e| e.to_string())
}

/// The printed arguments of a typed builtin in its row's order, leaving out the arguments
/// of kind `skip` (a probe's split, printed as `on NAME`).
pub fn builtin_args<T: Builtin>(op: &T, skip: Option<ArgKind>) -> Args {
    let spec = T::specs().iter().find(|s| s.name == op.name()).copied();
    op.to_args()
        .into_iter()
        .filter(|(n, _)| skip.is_none() || spec.and_then(|s| s.arg(n)).map(|a| a.kind) != skip)
        .filter_map(|(n, v)| Some((n.to_string(), value_of_arg(&v)?)))
        .collect()
}

/// The typed builtin `name` of kind `T` from printed arguments, checked by the registry.
pub fn builtin_of<T: Builtin>(name: &str, args: &Args) -> Result<T, String> {
    T::from_args(name, &arg_map(args)?).map_err(|e| e.to_string())
}

/// The name of the argument of kind `kind` of row `name` of `T` (a probe's split argument).
pub fn arg_of_kind<T: Builtin>(name: &str, kind: ArgKind) -> Option<&'static str> {
    let spec = T::specs().iter().find(|s| s.name == name)?;
    spec.args.iter().find(|a| a.kind == kind).map(|a| a.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn conv_round_trips_through_attrs() {
        let mut args = BTreeMap::new();
        args.insert("out".to_string(), ArgValue::int(16));
        args.insert("kernel".to_string(), ArgValue::ints(&[3, 3]));
        let op = LayerOp::from_args("conv2d", &args).unwrap();
        let attrs = layer_attrs(&op).unwrap();
        let keys: Vec<&str> = attrs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["bias", "dilation", "groups", "kernel", "out", "padding", "stride"]);
        assert_eq!(layer_of("conv2d", &attrs).unwrap(), op);
    }

    #[test]
    fn symbolic_sizes_and_bad_values_are_refused() {
        let op = LayerOp::Linear { out: Dim::symbol("p"), bias: true };
        assert!(LayerCall::from_op(&op, Vec::new()).is_none());
        let attrs = vec![("out".to_string(), Value::Str("ten".into()))];
        assert!(layer_of("linear", &attrs).unwrap_err().contains("expects an int"));
        let attrs = vec![("out".to_string(), Value::Float(1.5))];
        assert!(layer_of("linear", &attrs).unwrap_err().contains("expects an int"));
    }

    #[test]
    fn builtins_print_in_row_order_and_parse_back() {
        let loss = exp_ops::Loss::CrossEntropy { label_smoothing: 0.1 };
        let args = builtin_args(&loss, None);
        assert_eq!(args, vec![("label_smoothing".to_string(), Value::Float(0.1))]);
        assert_eq!(builtin_of::<exp_ops::Loss>("cross_entropy", &args), Ok(loss));
        let probe = exp_ops::Probe::Accuracy { on: "test".into() };
        assert!(builtin_args(&probe, Some(ArgKind::Split)).is_empty());
        assert_eq!(arg_of_kind::<exp_ops::Probe>("accuracy", ArgKind::Split), Some("on"));
        let bad = vec![("label_smoothing".to_string(), Value::Float(2.0))];
        assert_eq!(
            builtin_of::<exp_ops::Loss>("cross_entropy", &bad).unwrap_err(),
            "`cross_entropy` argument `label_smoothing` must be in [0, 1]"
        );
    }
}
