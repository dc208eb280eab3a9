//! Datasets: the schema (example shape, classes, splits) of each built-in source, and
//! transforms chained with `>>`.
//!
//! The schema is what lets the checker test the model against the data before anything is
//! loaded: the model's input is `[B] ++ sample`, and a classification loss needs an output
//! of `[B, classes]`. The runtime checks real files against the same schema.

use std::sync::Arc;

use exp_diagnostics::Code;
use exp_ops::{Dim, Shape};
use exp_syntax::ast::Body;
use exp_syntax::Span;

use crate::decls::DeclInfo;
use crate::diag::HDiag;
use crate::eval::{is_builtin, Cx};
use crate::items::DefKind;
use crate::value::{Applied, DataV, Val};

/// Built-in data declarations that transform a dataset rather than produce one.
pub const TRANSFORMS: &[&str] = &["scale", "normalize"];

/// The value of an applied `data` declaration.
pub fn data_value(cx: &mut Cx<'_>, a: Applied, info: &DeclInfo) -> Val {
    if is_builtin(info) {
        if TRANSFORMS.contains(&a.def.key.as_str()) {
            return Val::Decl(Arc::new(a));
        }
        return source(cx, a);
    }
    let Some(Body::Expr(body)) = &info.body else {
        return Val::Unknown;
    };
    let env = a.args.clone();
    let def = a.def.clone();
    match cx.in_item(def.file, &def.key, env, |cx| cx.eval(body)) {
        v @ (Val::Data(_) | Val::Unknown) => v,
        v => cx.type_error(info.loc.span, "a dataset", &v),
    }
}

fn int_arg(a: &Applied, name: &str) -> Option<Dim> {
    match a.arg(name)? {
        Val::Int(d) => Some(d.clone()),
        _ => None,
    }
}

fn source(cx: &mut Cx<'_>, a: Applied) -> Val {
    if a.args.iter().any(|(_, v)| matches!(v, Val::Unknown)) {
        return Val::Unknown;
    }
    let key = a.def.key.as_str();
    let (sample, ids, classes, target) = match key {
        "modular" => (Shape::new([Dim::constant(2)]), true, int_arg(&a, "p"), None),
        "two_spirals" => (Shape::new([Dim::constant(2)]), false, Some(Dim::constant(2)), None),
        "cifar10" => (Shape::new([3, 32, 32].map(Dim::constant)), false, Some(Dim::constant(10)), None),
        _ => {
            let sample =
                match (a.arg("shape"), int_arg(&a, "dim").or_else(|| int_arg(&a, "features"))) {
                    (Some(Val::List(items)), _) => {
                        let dims: Option<Vec<Dim>> =
                            items.iter().map(|i| if let Val::Int(d) = i { Some(d.clone()) } else { None }).collect();
                        match dims {
                            Some(d) => Shape::new(d),
                            None => return Val::Unknown,
                        }
                    }
                    (_, Some(d)) => Shape::new([d]),
                    _ => return cx.error(
                        HDiag::new(
                            Code::InvalidDataSource,
                            format!("cannot tell the example shape of `{key}`"),
                            a.at.clone(),
                            "no `shape` or `dim` argument",
                        )
                        .with_help(
                            "data sources declare `shape: [..]` or `dim: N` so the model can be checked before loading",
                        ),
                    ),
                };
            let classes = int_arg(&a, "classes");
            let target = if classes.is_none() {
                Some(Shape::new([int_arg(&a, "outputs").unwrap_or_else(|| Dim::constant(1))]))
            } else {
                None
            };
            (sample, false, classes, target)
        }
    };
    if let Some(c) = classes.as_ref().and_then(Dim::as_const) {
        if c < 2 {
            return cx.error(HDiag::new(
                Code::InvalidValue,
                format!("a classification dataset needs at least 2 classes, found {c}"),
                a.at.clone(),
                "too few classes",
            ));
        }
    }
    if let Some(n) = int_arg(&a, "n").and_then(|n| n.as_const()) {
        if !(1..=1_000_000_000).contains(&n) {
            return cx.error(HDiag::new(
                Code::InvalidValue,
                format!("a generated dataset needs between 1 and 1e9 examples, found {n}"),
                a.at.clone(),
                "invalid size",
            ));
        }
    }
    for d in &sample.0 {
        if d.as_const().is_some_and(|v| v <= 0) {
            return cx.error(HDiag::new(
                Code::InvalidValue,
                format!("example shape `{sample}` has a non-positive dimension"),
                a.at.clone(),
                "invalid shape",
            ));
        }
    }
    let splits = vec!["train".to_string(), "test".to_string()];
    Val::Data(Arc::new(DataV {
        source: Arc::new(a),
        transforms: Vec::new(),
        sample,
        ids,
        classes,
        target,
        splits,
        name: None,
    }))
}

/// `data >> transform`.
pub fn transform(cx: &mut Cx<'_>, d: Arc<DataV>, t: Val, span: Span) -> Val {
    match t {
        Val::Unknown => Val::Unknown,
        Val::Decl(a) if a.kind() == DefKind::Data && TRANSFORMS.contains(&a.def.key.as_str()) => {
            let mut d = (*d).clone();
            d.transforms.push(a);
            d.name = None;
            Val::Data(Arc::new(d))
        }
        v => cx.error(
            HDiag::new(
                Code::TypeMismatch,
                format!("expected a data transform after `>>`, found `{}`", v.type_name()),
                cx.loc(span),
                "not a transform",
            )
            .with_help(format!(
                "the transforms are {}",
                TRANSFORMS.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
            )),
        ),
    }
}
