//! Builtins: `= builtin` declarations checked against their registry row, and applied
//! builtins turned into the registry's typed values.
//!
//! The registry (`exp_ops::registry`) is the one place a builtin is defined; this module maps
//! its plain vocabulary to the checker's types ([`Ty`]) and values ([`Val`]), reports where
//! a declaration or a call disagrees with it, and builds the typed value ([`BuiltinOp`]) that
//! lowering hands to the IR.

use exp_db::{Db, SourceFile};
use exp_diagnostics::Code;
use exp_ops::{
    ArgDefault, ArgError, ArgKind, ArgMap, ArgProblem, ArgValue, Builtin, BuiltinKind, BuiltinSpec, DataSource,
    Initializer, Loss, Metric, Probe, Transform,
};
use exp_syntax::ast::{Decl, ExprKind, Signature};

use crate::diag::{did_you_mean, HDiag, Loc};
use crate::eval::value::{Applied, ArgOrigin, Val};
use crate::eval::Cx;
use crate::names::decls::decl_signature;
use crate::names::items::DefKind;
use crate::types::Ty;

/// A builtin call with its typed value from the registry.
#[derive(Clone, Debug, PartialEq)]
pub enum BuiltinOp {
    /// An initializer, chosen with `init = ...`.
    Init(Initializer),
    /// A loss.
    Loss(Loss),
    /// A built-in probe.
    Probe(Probe),
    /// A built-in metric.
    Metric(Metric),
    /// A data source.
    Source(DataSource),
    /// A data transform.
    Transform(Transform),
}

/// The registry row of a builtin declared with the keyword of `kind`.
pub fn row_of(kind: DefKind, name: &str) -> Option<BuiltinSpec> {
    exp_ops::lookup(name).filter(|s| s.kind.keyword() == kind.keyword())
}

/// Whether `ty`, a declared parameter type, is how the language writes `kind`.
fn type_fits(kind: ArgKind, ty: &Ty) -> bool {
    matches!(
        (kind, ty),
        (_, Ty::Any)
            | (ArgKind::Int | ArgKind::IntOrPair, Ty::Int)
            | (ArgKind::Float, Ty::Float)
            | (ArgKind::Bool, Ty::Bool)
            | (ArgKind::Str | ArgKind::Choice(_), Ty::Str)
            | (ArgKind::Ints | ArgKind::IntOrPair, Ty::Shape)
            | (ArgKind::Split, Ty::Split)
    )
}

/// The language's name of `kind`, for help lines.
fn type_name(kind: ArgKind) -> &'static str {
    match kind {
        ArgKind::Int | ArgKind::IntOrPair => "Int",
        ArgKind::Float => "Float",
        ArgKind::Bool => "Bool",
        ArgKind::Str | ArgKind::Choice(_) => "String",
        ArgKind::Ints => "[Int]",
        ArgKind::Split => "Split",
    }
}

/// Whether a declared default equals the row's.
fn default_fits(want: Option<ArgDefault>, got: Option<&Val>, written: Option<&ExprKind>) -> bool {
    match (want, got) {
        (None, None) => true,
        (Some(ArgDefault::SameAs(other)), _) => matches!(written, Some(ExprKind::Name(id)) if id.name == other),
        (Some(ArgDefault::Int(i)), Some(Val::Int(d))) => d.as_const() == Some(i),
        (Some(ArgDefault::Float(x)), Some(Val::Float(y))) => x == *y,
        (Some(ArgDefault::Float(x)), Some(Val::Int(d))) => d.as_const().map(|v| v as f64) == Some(x),
        (Some(ArgDefault::Bool(x)), Some(Val::Bool(y))) => x == *y,
        (Some(ArgDefault::Str(x)), Some(Val::Str(y))) => x == y,
        _ => false,
    }
}

/// `name(a: Int, b: Float = 0.5)`, as the row says the declaration should read.
fn declaration(spec: &BuiltinSpec) -> String {
    let params: Vec<String> = spec
        .args
        .iter()
        .map(|a| match a.default {
            None => format!("{}: {}", a.name, type_name(a.kind)),
            Some(d) => format!("{}: {} = {d}", a.name, type_name(a.kind)).replace('`', ""),
        })
        .collect();
    format!("{} {}({})", spec.kind.keyword(), spec.name, params.join(", "))
}

/// Checks a `= builtin` declaration against its registry row: the row exists for this
/// keyword, and the parameters agree in names, order, types and defaults, as does a probe's
/// or metric's declared result type.
pub(crate) fn check_declaration(db: &dyn Db, file: SourceFile, key: &str, d: &Decl, at: Loc) -> Vec<HDiag> {
    let name = d.name.name.as_str();
    let kind = DefKind::of_decl(d.kind);
    let Some(spec) = row_of(kind, name) else {
        let names: Vec<&str> =
            exp_ops::builtins().into_iter().filter(|s| s.kind.keyword() == kind.keyword()).map(|s| s.name).collect();
        let help = did_you_mean(name, names.iter().copied()).unwrap_or_else(|| {
            "only the standard library's primitives can be `builtin`; write the body in the language".into()
        });
        let noun = match kind {
            DefKind::Block => "layer",
            DefKind::Fn => "function",
            DefKind::Data => "data source or transform",
            other => other.keyword(),
        };
        return vec![HDiag::new(
            Code::BuiltinMismatch,
            format!("there is no built-in {noun} `{name}`"),
            at,
            "declared as builtin",
        )
        .with_help(help)];
    };
    let params: Vec<&exp_syntax::ast::Param> = d.params.iter().flatten().collect();
    let names: Vec<&str> = params.iter().map(|p| p.name.name.as_str()).collect();
    let want: Vec<&str> = spec.args.iter().map(|a| a.name).collect();
    if names != want || (d.params.is_none() && !spec.args.is_empty()) {
        return vec![HDiag::new(
            Code::BuiltinMismatch,
            format!(
                "`{name}` declares parameters ({}), but its registry row has ({})",
                names.join(", "),
                want.join(", ")
            ),
            at,
            "declared as builtin",
        )
        .with_help(format!("declare `{}`", declaration(&spec)))];
    }
    let mut cx = Cx::new(db, file, key);
    let mut out = Vec::new();
    let info = crate::names::items::lookup(db, file, key).and_then(|it| decl_signature(db, it).clone()).map(|(i, _)| i);
    let tys: Vec<Ty> = info.iter().flat_map(|i| i.params.iter().flatten().map(|p| p.ty.clone())).collect();
    for ((p, a), ty) in params.iter().zip(spec.args).zip(tys.iter().chain(std::iter::repeat(&Ty::Any))) {
        let written = p.default.as_ref().map(|e| &e.kind);
        let same_as = matches!(a.default, Some(ArgDefault::SameAs(_)));
        let default = if same_as { None } else { p.default.as_ref().map(|e| cx.eval(e)) };
        if matches!(default, Some(Val::Unknown)) {
            continue;
        }
        let default_ok = default_fits(a.default, default.as_ref(), written);
        if !default_ok || !type_fits(a.kind, ty) {
            let default = match a.default {
                None => "no default".to_string(),
                Some(ArgDefault::SameAs(o)) => format!("no default (it defaults to `{o}`)"),
                Some(d) => format!("default `{d}`").replace("``", "`"),
            };
            out.push(
                HDiag::new(
                    Code::BuiltinMismatch,
                    format!("parameter `{}` of `{name}` disagrees with its registry row", a.name),
                    Loc { file, item: Some(key.to_string()), span: p.span },
                    format!("the registry says {} with {default}", a.kind),
                )
                .with_help(format!("declare `{}`", declaration(&spec))),
            );
        }
    }
    if let Some(ret) = spec.returns {
        let declared = match &d.signature {
            Some(Signature::Type(t)) => crate::types::ty_of(t).ok(),
            _ => None,
        };
        if !declared.as_ref().is_some_and(|t| type_fits(ret, t)) {
            out.push(
                HDiag::new(
                    Code::BuiltinMismatch,
                    format!("`{name}` must declare that it returns `{}`", type_name(ret)),
                    at.clone(),
                    "declared as builtin",
                )
                .with_help(format!("declare `{}: {}`", declaration(&spec), type_name(ret))),
            );
        }
    }
    out.extend(cx.diags);
    out
}

/// A value as a builtin argument; `None` for values no builtin argument takes (and for
/// errors, already reported).
pub fn arg_value(v: &Val) -> Option<ArgValue> {
    Some(match v {
        Val::Int(d) => ArgValue::Int(d.clone()),
        Val::Float(x) => ArgValue::Float(*x),
        Val::Bool(b) => ArgValue::Bool(*b),
        Val::Str(s) => ArgValue::Str(s.clone()),
        Val::Split(_, s) => ArgValue::Str(s.clone()),
        Val::List(items) | Val::Tuple(items) => ArgValue::Ints(
            items
                .iter()
                .map(|i| if let Val::Int(d) = i { Some(d.clone()) } else { None })
                .collect::<Option<Vec<_>>>()?,
        ),
        _ => return None,
    })
}

/// Whether `v` is a known constant (no symbolic size).
fn is_constant(v: &ArgValue) -> bool {
    match v {
        ArgValue::Int(d) => d.as_const().is_some(),
        ArgValue::Ints(ds) => ds.iter().all(|d| d.as_const().is_some()),
        _ => true,
    }
}

/// The typed value of row `name` of kind `T` from checked arguments.
fn typed<T: Builtin>(name: &str, args: &ArgMap, wrap: fn(T) -> BuiltinOp) -> Result<BuiltinOp, ArgError> {
    T::from_args(name, args).map(wrap)
}

/// The typed value of a builtin call of a kind that has one, or `None` when the call is not
/// such a builtin or its arguments are not all known yet (a declaration checked with
/// symbolic parameters). Arguments that break their row's constraints are reported at the
/// argument; the call is then [`Val::Unknown`] for the caller (`Err`).
pub(crate) fn build(cx: &mut Cx<'_>, a: &Applied) -> Result<Option<BuiltinOp>, ()> {
    let Some(spec) = row_of(a.kind(), &a.def.key) else { return Ok(None) };
    if matches!(spec.kind, BuiltinKind::Layer | BuiltinKind::ScalarFn) {
        return Ok(None);
    }
    let mut args = ArgMap::new();
    let mut complete = true;
    for ((name, v), origin) in a.args.iter().zip(&a.origins) {
        match (v, arg_value(v)) {
            (Val::Unknown, _) => return Err(()),
            (Val::Decl(d), _) if d.kind() == DefKind::Schedule => {
                cx.error(
                    HDiag::new(
                        Code::TypeMismatch,
                        format!("`{name}` of `{}` must be a number, not a schedule", a.name),
                        arg_loc(a, origin),
                        "a schedule",
                    )
                    .with_help("schedules drive optimizer hyperparameters; give a constant here"),
                );
                return Err(());
            }
            (_, Some(value)) => {
                if let (Some(arg), true) = (spec.arg(name), is_constant(&value)) {
                    if let Err(e) = exp_ops::registry::arg::check_value(spec.name, arg, &value) {
                        report(cx, a, origin, &e);
                        return Err(());
                    }
                }
                complete &= is_constant(&value);
                args.insert(name.clone(), value);
            }
            (_, None) => complete = false,
        }
    }
    if !complete {
        return Ok(None);
    }
    let built = match spec.kind {
        BuiltinKind::Initializer => typed(spec.name, &args, BuiltinOp::Init),
        BuiltinKind::Loss => typed(spec.name, &args, BuiltinOp::Loss),
        BuiltinKind::Probe => typed(spec.name, &args, BuiltinOp::Probe),
        BuiltinKind::Metric => typed(spec.name, &args, BuiltinOp::Metric),
        BuiltinKind::DataSource => typed(spec.name, &args, BuiltinOp::Source),
        BuiltinKind::Transform => typed(spec.name, &args, BuiltinOp::Transform),
        BuiltinKind::Layer | BuiltinKind::ScalarFn => return Ok(None),
    };
    match built {
        Ok(op) => Ok(Some(op)),
        Err(e) => {
            let origin = a.args.iter().position(|(n, _)| *n == e.arg).map(|i| &a.origins[i]);
            report(cx, a, origin.unwrap_or(&ArgOrigin::Default), &e);
            Err(())
        }
    }
}

/// Where an argument came from: the written value, the override, or the call.
fn arg_loc(a: &Applied, origin: &ArgOrigin) -> Loc {
    match origin {
        ArgOrigin::Written(loc) | ArgOrigin::Override(loc, _) => loc.clone(),
        ArgOrigin::Default => a.at.clone(),
    }
}

/// Reports a rejected argument at its value, with the accepted values as help.
fn report(cx: &mut Cx<'_>, a: &Applied, origin: &ArgOrigin, e: &ArgError) {
    let help = match &e.problem {
        ArgProblem::NotAChoice { found, allowed } => Some(
            did_you_mean(found, allowed.iter().copied())
                .unwrap_or_else(|| format!("use one of {}", exp_ops::registry::arg::quoted(allowed))),
        ),
        _ => None,
    };
    let label = match origin {
        ArgOrigin::Default => format!("the default of `{}`", e.arg),
        _ => "this value".to_string(),
    };
    cx.error(HDiag::new(Code::InvalidValue, e.to_string(), arg_loc(a, origin), label).with_help_opt(help));
}
