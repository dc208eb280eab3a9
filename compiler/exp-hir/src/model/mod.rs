//! Applying blocks to tensors: shape inference through every layer and combinator, with the
//! builtin calls ([`builtin`]), data values (`data`) and the recorded graph (`graph`).

pub mod builtin;
pub(crate) mod data;
pub(crate) mod graph;

use std::collections::BTreeMap;

use exp_diagnostics::Code;
use exp_ops::{Rank, Shape, ShapeError};
use exp_syntax::ast::{Body, Expr, ExprKind, Signature};

use crate::diag::{HDiag, Loc};
use crate::eval::value::{Applied, BlockV, TVal, Val};
use crate::eval::{is_builtin, Cx};
use crate::model::graph::{ActCall, Node, NodeOp, ParamRec};
use crate::names::decls::decl_info;

/// Applies a block to a tensor, recording nodes and parameters; returns the output tensor
/// or [`Val::Unknown`] after an error.
pub fn apply(cx: &mut Cx<'_>, b: &BlockV, x: TVal, at: Loc) -> Val {
    match b {
        BlockV::Decl(a) => apply_decl(cx, a, x),
        BlockV::Act(a) => {
            let Some(act) = act_call(cx, a) else { return Val::Unknown };
            let node = Node {
                op: NodeOp::Act(act),
                inputs: vec![x.node],
                params: vec![],
                shape: x.shape.clone(),
                ids: false,
                at: a.at.clone(),
            };
            cx.graph.flops = cx.graph.flops.clone() + x.shape.numel();
            cx.graph.saved = cx.graph.saved.clone() + x.shape.numel();
            Val::Tensor(cx.graph.push(node))
        }
        BlockV::Seq(items) => {
            let mut cur = Val::Tensor(x);
            for (i, it) in items.iter().enumerate() {
                let Val::Tensor(t) = cur else {
                    return Val::Unknown;
                };
                let named = matches!(it, BlockV::Named(..));
                if !named {
                    cx.graph.enter(&i.to_string());
                }
                cur = apply(cx, it, t, at.clone());
                if !named {
                    cx.graph.leave();
                }
            }
            cur
        }
        BlockV::Repeat(n, body, rat) => {
            match n.as_const() {
                Some(n) if n < 0 => cx.error(HDiag::new(
                    Code::InvalidValue,
                    format!("cannot repeat a block {n} times"),
                    rat.clone(),
                    "negative count",
                )),
                Some(n) if n > 10_000 => cx.error(HDiag::new(
                    Code::InvalidValue,
                    format!("cannot repeat a block {n} times"),
                    rat.clone(),
                    "more than 10000 copies",
                )),
                Some(n) => {
                    let mut cur = Val::Tensor(x);
                    for i in 0..n {
                        let Val::Tensor(t) = cur else {
                            return Val::Unknown;
                        };
                        cx.graph.enter(&i.to_string());
                        cur = apply(cx, body, t, rat.clone());
                        cx.graph.leave();
                    }
                    cur
                }
                None => {
                    cx.graph.enter("0");
                    let out = apply(cx, body, x.clone(), rat.clone());
                    cx.graph.leave();
                    if let Val::Tensor(t) = &out {
                        if t.shape != x.shape {
                            return cx.error(
                            HDiag::new(Code::ShapeMismatch, format!("a repeated block must keep its input shape: `{}` became `{}`", x.shape, t.shape), rat.clone(), "repeated a symbolic number of times")
                                .with_help("only shape-preserving blocks can be repeated a number of times that is not known yet"),
                        );
                        }
                    }
                    out
                }
            }
        }
        BlockV::Lambda(c) => cx.call_closure(c, vec![Val::Tensor(x)], c.at.span),
        BlockV::Named(name, inner) => {
            cx.graph.enter(name);
            let out = apply(cx, inner, x, at);
            cx.graph.leave();
            out
        }
        BlockV::Opaque(_) => Val::Unknown,
    }
}

/// The resolved call of a scalar function used as a block, or `None` after an error.
fn act_call(cx: &mut Cx<'_>, a: &Applied) -> Option<ActCall> {
    let item = crate::names::items::lookup(cx.db, a.def.file, &a.def.key)?;
    let resolved = crate::scalar::scalar_fn(cx.db, item).as_ref()?;
    if !resolved.diags.is_empty() {
        cx.error(broken_definition(a, &resolved.def.at));
        return None;
    }
    let mut args = Vec::new();
    for (_, v) in &a.args {
        args.push(match v {
            Val::Unknown => return None,
            v => crate::eval::value::number(v),
        });
    }
    Some(ActCall { name: a.name.clone(), def: resolved.def.clone(), args, at: a.at.clone() })
}

/// "`name` cannot be used: its definition has errors", at the use, pointing at the definition.
pub(crate) fn broken_definition(a: &Applied, def: &Loc) -> HDiag {
    HDiag::new(Code::BrokenDefinition, format!("`{}` has errors in its definition", a.name), a.at.clone(), "used here")
        .with_secondary(def.clone(), "defined here")
        .with_help(format!("fix the errors reported on `{}` first", a.name))
}

fn apply_decl(cx: &mut Cx<'_>, a: &Applied, x: TVal) -> Val {
    let Some(info) = decl_info(cx.db, &a.def) else {
        return Val::Unknown;
    };
    if is_builtin(&info) {
        return apply_layer(cx, a, x);
    }
    if cx.instantiating.contains(&a.def) {
        return cx.error(
            HDiag::new(
                Code::RecursiveDefinition,
                format!("block `{}` contains itself", a.name),
                a.at.clone(),
                "recursive use",
            )
            .with_help("use `repeat n { ... }` to stack copies of a block"),
        );
    }
    let mut env: Vec<(String, Val)> = Vec::new();
    for (name, v) in &a.args {
        let v = match v {
            Val::Block(b) => Val::Block(BlockV::Named(name.clone(), Box::new(b.clone()))),
            Val::List(items) if items.iter().all(|i| matches!(i, Val::Block(_))) => Val::List(
                items
                    .iter()
                    .map(|i| match i {
                        Val::Block(BlockV::Named(n, b)) => Val::Block(BlockV::Named(format!("{name}.{n}"), b.clone())),
                        Val::Block(b) => Val::Block(BlockV::Named(name.clone(), Box::new(b.clone()))),
                        other => other.clone(),
                    })
                    .collect(),
            ),
            other => other.clone(),
        };
        env.push((name.clone(), v));
    }
    cx.instantiating.push(a.def.clone());
    let def = a.def.clone();
    let out = cx.in_item(def.file, &def.key, env, |cx| {
        if let Some(Signature::Tensor { input, .. }) = &info.signature {
            if !bind_signature(cx, a, input, &x.shape) {
                return Val::Unknown;
            }
        }
        let Some(Body::Expr(body)) = &info.body else {
            return Val::Unknown;
        };
        let v = cx.eval(body);
        let Some(b) = cx.to_block(v, body.span) else {
            return Val::Unknown;
        };
        let out = apply(cx, &b, x, a.at.clone());
        if let (Some(Signature::Tensor { output, .. }), Val::Tensor(t)) = (&info.signature, &out) {
            check_output(cx, a, output, &t.shape);
        }
        out
    });
    cx.instantiating.pop();
    out
}

/// Matches the actual input shape against a block's declared input, binding the dimension
/// names that are not parameters (`B`, `D`). Reports at the call site.
fn bind_signature(cx: &mut Cx<'_>, a: &Applied, dims: &[Expr], actual: &Shape) -> bool {
    if dims.len() != actual.rank() {
        cx.error(
            HDiag::new(
                Code::ShapeMismatch,
                format!("`{}` expects a rank-{} input, found `{actual}`", a.name, dims.len()),
                a.at.clone(),
                format!("input is `{actual}`"),
            )
            .with_secondary(cx.loc(dims[0].span.cover(dims[dims.len() - 1].span)), "declared input shape"),
        );
        return false;
    }
    for (e, d) in dims.iter().zip(&actual.0) {
        if let ExprKind::Name(id) = &e.kind {
            if !cx.env.iter().any(|(n, _)| n == &id.name) {
                cx.bind(&id.name, Val::Int(d.clone()));
                continue;
            }
        }
        match cx.eval(e) {
            Val::Int(want) if want != *d => {
                cx.error(
                    HDiag::new(
                        Code::ShapeMismatch,
                        format!("`{}` expects input dimension `{want}`, found `{d}` (input `{actual}`)", a.name),
                        a.at.clone(),
                        format!("input is `{actual}`"),
                    )
                    .with_secondary(cx.loc(e.span), format!("declared as `{want}`")),
                );
                return false;
            }
            _ => {}
        }
    }
    true
}

fn check_output(cx: &mut Cx<'_>, a: &Applied, dims: &[Expr], actual: &Shape) {
    let mut want = Vec::new();
    for e in dims {
        match cx.eval(e) {
            Val::Int(d) => want.push(d),
            _ => return,
        }
    }
    let want = Shape::new(want);
    if want != *actual && !reported_by_block(cx, a, dims) {
        let span = dims.first().map(|f| f.span.cover(dims[dims.len() - 1].span)).unwrap_or_default();
        cx.error(
            HDiag::new(
                Code::ShapeMismatch,
                format!("the body of `{}` produces `{actual}`, but its signature declares `{want}`", a.name),
                cx.loc(span),
                format!("declared `{want}`"),
            )
            .with_secondary(a.at.clone(), "instantiated here"),
        );
    }
}

fn apply_layer(cx: &mut Cx<'_>, a: &Applied, x: TVal) -> Val {
    let mut args = BTreeMap::new();
    for (name, v) in &a.args {
        match builtin::arg_value(v) {
            Some(av) => {
                args.insert(name.clone(), av);
            }
            None if matches!(v, Val::Unknown) => return Val::Unknown,
            None => {
                return cx.error(HDiag::new(
                    Code::TypeMismatch,
                    format!("argument `{name}` of `{}` must be a number, a bool or a list of ints", a.name),
                    a.at.clone(),
                    "here",
                ))
            }
        }
    }
    let built = exp_ops::LayerOp::from_args(&a.name_of_op(), &args).and_then(|op| Ok((op.infer(&x.shape)?, op)));
    let (info, op) = match built {
        Ok(built) => built,
        Err(e) => {
            let code = if matches!(e, ShapeError::BadArg { .. }) { Code::InvalidValue } else { Code::ShapeMismatch };
            return cx.error(
                HDiag::new(code, e.to_string(), a.at.clone(), format!("input is `{}`", x.shape))
                    .with_help_opt(shape_help(&e)),
            );
        }
    };
    let mut params = Vec::new();
    for (specs, buffer) in [(&info.params, false), (&info.buffers, true)] {
        for p in specs {
            let rec = ParamRec {
                name: cx.graph.full_name(&p.name),
                shape: p.shape.clone(),
                init: p.init.clone(),
                role: p.role,
                at: a.at.clone(),
            };
            match cx.graph.param(rec, buffer) {
                Ok(full) => params.push((p.name.clone(), full)),
                Err(old) => {
                    let msg = format!(
                        "parameter `{}` is used with shape `{}` and `{old}`",
                        cx.graph.full_name(&p.name),
                        p.shape
                    );
                    return cx.error(HDiag::new(
                        Code::ShapeMismatch,
                        msg,
                        a.at.clone(),
                        "shared parameter with a different shape",
                    ));
                }
            }
        }
    }
    cx.graph.flops = cx.graph.flops.clone() + info.flops.clone();
    cx.graph.saved = cx.graph.saved.clone() + info.activations.clone();
    let ids = false;
    let node = Node { op: NodeOp::Layer(op), inputs: vec![x.node], params, shape: info.output, ids, at: a.at.clone() };
    Val::Tensor(cx.graph.push(node))
}

impl Applied {
    /// The op-table name of a builtin block: its declared name.
    pub fn name_of_op(&self) -> String {
        self.def.key.clone()
    }
}

/// Whether the block's own check already reports its signature's output, so an instance of
/// the same mistake is not reported again at every use.
fn reported_by_block(cx: &Cx<'_>, a: &Applied, dims: &[Expr]) -> bool {
    let Some(item) = crate::names::items::lookup(cx.db, a.def.file, &a.def.key) else { return false };
    let span = dims.first().map(|f| f.span.cover(dims[dims.len() - 1].span)).unwrap_or_default();
    crate::check::check_item(cx.db, item).iter().any(|d| d.code == Code::ShapeMismatch && d.primary.span == span)
}

/// A fix for a layer's shape error, when one is likely.
fn shape_help(e: &ShapeError) -> Option<String> {
    Some(match e {
        ShapeError::RankMismatch { expected, found, layout, .. } => {
            let want = match expected {
                Rank::Exactly(n) | Rank::AtLeast(n) | Rank::Between(n, _) => *n,
            };
            if found.rank() < want {
                format!("give the input the layout `{layout}` first, e.g. with `reshape([...])`")
            } else {
                "use `flatten` (or `global_avg_pool`) first to drop the extra axes".to_string()
            }
        }
        ShapeError::NonPositive { .. } => {
            "the input is too small for this kernel and stride: use a smaller kernel, or padding".into()
        }
        ShapeError::DimMismatch { .. } => "the layer's declared size must match the incoming features".into(),
        ShapeError::NotDivisible { .. } => "choose sizes that divide evenly".into(),
        _ => return None,
    })
}
