//! Checking a value against a declared type, with the few implicit conversions the
//! language allows: `Int` to `Float`, a schedule where a `Float` is expected (the value then
//! varies per step), and a scalar function or lambda where a `Block` is expected.

use exp_diagnostics::Code;
use exp_syntax::Span;

use crate::diag::HDiag;
use crate::eval::value::{BlockV, Val};
use crate::eval::Cx;
use crate::names::items::DefKind;
use crate::types::Ty;

impl Cx<'_> {
    /// Checks `v` against `ty` for parameter `param` of `callee`, converting where allowed.
    pub fn coerce(&mut self, v: Val, ty: &Ty, span: Span, param: &str, callee: &str) -> Val {
        match self.try_coerce(v, ty) {
            Ok(v) => v,
            Err(v) => {
                let (code, help) = match (ty, &v) {
                    (Ty::Qty(u), Val::Int(_) | Val::Float(_)) => {
                        (Code::UnitMismatch, Some(format!("give the number a unit: `{v} {}`", u.word())))
                    }
                    (Ty::Qty(u), Val::Qty(_, w)) => {
                        (Code::UnitMismatch, Some(format!("`{param}` is measured in {}, not {}", u.word(), w.word())))
                    }
                    _ => (Code::TypeMismatch, None),
                };
                let d = HDiag::new(
                    code,
                    format!("`{param}` of `{callee}` expects `{ty}`, found `{}`", v.type_name()),
                    self.loc(span),
                    format!("this is `{}`", v.type_name()),
                )
                .with_help_opt(help);
                self.error(d)
            }
        }
    }

    /// `Ok` with the converted value, or `Err` with the value back.
    pub fn try_coerce(&mut self, v: Val, ty: &Ty) -> Result<Val, Val> {
        Ok(match (ty, v) {
            (_, Val::Unknown) => Val::Unknown,
            (Ty::Any, v) => v,
            (Ty::Int, v @ Val::Int(_)) => v,
            (Ty::Float, Val::Int(d)) => match d.as_const() {
                Some(i) => Val::Float(i as f64),
                None => Val::Unknown,
            },
            (Ty::Float, v @ Val::Float(_)) => v,
            (Ty::Float, Val::Decl(a)) if a.kind() == DefKind::Schedule => Val::Decl(a),
            (Ty::Bool, v @ Val::Bool(_)) => v,
            (Ty::Str, v @ Val::Str(_)) => v,
            (Ty::Qty(u), Val::Qty(x, w)) if *u == w => Val::Qty(x, w),
            (Ty::Shape, Val::List(items)) if items.iter().all(|i| matches!(i, Val::Int(_) | Val::Unknown)) => {
                Val::List(items)
            }
            (Ty::Shape, Val::Tuple(items)) if items.iter().all(|i| matches!(i, Val::Int(_) | Val::Unknown)) => {
                Val::List(items)
            }
            (Ty::Block, v @ Val::Block(_)) => v,
            (Ty::Block, Val::Decl(a)) if a.kind() == DefKind::Fn => Val::Block(BlockV::Act(a)),
            (Ty::Block, Val::Lambda(c)) => Val::Block(BlockV::Lambda(c)),
            (Ty::Fn, Val::Decl(a)) if a.kind() == DefKind::Fn => Val::Decl(a),
            (Ty::Fn, Val::Lambda(c)) => Val::Lambda(c),
            (Ty::Data, v @ Val::Data(_)) => v,
            (Ty::Split, v @ Val::Split(..)) => v,
            (Ty::Optimizer, Val::Decl(a)) if a.kind() == DefKind::Optimizer => Val::Decl(a),
            (Ty::Schedule, Val::Decl(a)) if a.kind() == DefKind::Schedule => Val::Decl(a),
            (Ty::Loss, Val::Decl(a)) if a.kind() == DefKind::Loss => Val::Decl(a),
            (Ty::Probe, Val::Decl(a)) if a.kind() == DefKind::Probe => Val::Decl(a),
            (Ty::Metric, Val::Decl(a)) if a.kind() == DefKind::Metric => Val::Decl(a),
            (Ty::List(inner), Val::List(items)) => {
                let mut out = Vec::new();
                let mut ok = true;
                for it in items {
                    match self.try_coerce(it, inner) {
                        Ok(v) => out.push(v),
                        Err(v) => {
                            ok = false;
                            out.push(v);
                        }
                    }
                }
                if !ok {
                    return Err(Val::List(out));
                }
                if **inner == Ty::Block {
                    out = out
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| match v {
                            Val::Block(b) => Val::Block(BlockV::Named(i.to_string(), Box::new(b))),
                            v => v,
                        })
                        .collect();
                }
                Val::List(out)
            }
            (Ty::Tuple(tys), Val::Tuple(items)) if tys.len() == items.len() => {
                let mut out = Vec::new();
                for (t, it) in tys.iter().zip(items) {
                    match self.try_coerce(it, t) {
                        Ok(v) => out.push(v),
                        Err(v) => return Err(v),
                    }
                }
                Val::Tuple(out)
            }
            (_, v) => return Err(v),
        })
    }
}
