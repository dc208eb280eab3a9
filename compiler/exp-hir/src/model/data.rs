//! Datasets: a source's schema (example shape, classes, splits), from its registry row, and
//! transforms chained with `>>`.
//!
//! The schema is what lets the checker test the model against the data before anything is
//! loaded: the model's input is `[B] ++ sample`, and a classification loss needs an output
//! of `[B, classes]`. The runtime checks real files against the same schema.

use std::sync::Arc;

use exp_diagnostics::Code;
use exp_ops::{Dim, Schema, Shape, TargetKind};
use exp_syntax::ast::Body;
use exp_syntax::Span;

use crate::diag::HDiag;
use crate::eval::value::{Applied, DataV, Val};
use crate::eval::{is_builtin, Cx};
use crate::model::builtin::BuiltinOp;
use crate::names::decls::DeclInfo;
use crate::names::items::DefKind;

/// The value of an applied `data` declaration: a dataset, or a transform waiting for `>>`.
pub fn data_value(cx: &mut Cx<'_>, a: Applied, info: &DeclInfo) -> Val {
    if is_builtin(info) {
        return match a.op.clone() {
            Some(BuiltinOp::Transform(_)) => Val::Decl(Arc::new(a)),
            Some(BuiltinOp::Source(source)) => {
                let schema = source.schema();
                dataset(a, schema)
            }
            // Arguments not known yet: a declaration checked with symbolic parameters.
            _ => Val::Unknown,
        };
    }
    let Some(Body::Expr(body)) = &info.body else {
        return Val::Unknown;
    };
    let env = a.args.clone();
    let def = a.def.clone();
    match cx.in_item(def.file, &def.key, env, |cx| cx.eval(body)) {
        v @ (Val::Data(_) | Val::Unknown) => v,
        Val::Decl(t) if matches!(t.op, Some(BuiltinOp::Transform(_))) => Val::Decl(t),
        v => cx.type_error(info.loc.span, "a dataset", &v),
    }
}

/// The dataset of a source with its schema.
fn dataset(a: Applied, schema: Schema) -> Val {
    let dims = |v: &[i64]| Shape::new(v.iter().map(|&d| Dim::constant(d)));
    let (classes, target) = match &schema.target {
        TargetKind::Classes(c) => (Some(Dim::constant(*c)), None),
        TargetKind::Values(shape) => (None, Some(dims(shape))),
    };
    Val::Data(Arc::new(DataV {
        source: Arc::new(a),
        transforms: Vec::new(),
        sample: dims(&schema.sample),
        ids: schema.tokens.is_some(),
        classes,
        target,
        splits: schema.splits.iter().map(|s| s.to_string()).collect(),
        name: None,
        schema,
    }))
}

/// `data >> transform`.
pub fn transform(cx: &mut Cx<'_>, d: Arc<DataV>, t: Val, span: Span) -> Val {
    let a = match t {
        Val::Unknown => return Val::Unknown,
        Val::Decl(a) if a.kind() == DefKind::Data => a,
        v => return not_a_transform(cx, &v, span),
    };
    let Some(BuiltinOp::Transform(op)) = &a.op else {
        // A transform whose arguments are not known yet, or a dataset after `>>`.
        return if a.op.is_none() { Val::Unknown } else { not_a_transform(cx, &Val::Decl(a.clone()), span) };
    };
    match op.apply(&d.schema) {
        Ok(schema) => {
            let mut d = (*d).clone();
            d.schema = schema;
            d.transforms.push(a.clone());
            d.name = None;
            Val::Data(Arc::new(d))
        }
        Err(e) => cx.error(
            HDiag::new(
                Code::TypeMismatch,
                format!("`{}` cannot transform this data: {e}", a.name),
                cx.loc(span),
                "transform of float inputs",
            )
            .with_help("token inputs go to `embed(vocab, dim)` unchanged"),
        ),
    }
}

fn not_a_transform(cx: &mut Cx<'_>, v: &Val, span: Span) -> Val {
    let names: Vec<String> =
        exp_ops::registry::of_kind(exp_ops::BuiltinKind::Transform).iter().map(|t| format!("`{}`", t.name)).collect();
    cx.error(
        HDiag::new(
            Code::TypeMismatch,
            format!("expected a data transform after `>>`, found `{}`", v.type_name()),
            cx.loc(span),
            "not a transform",
        )
        .with_help(format!("the transforms are {}", names.join(", "))),
    )
}
