//! Refining call-valued fields by path (`optimizer.lr = 3e-4` in an extension, or
//! `--set optimizer.lr=3e-4`), and listing every resolved value with its provenance.

use std::sync::Arc;

use exp_diagnostics::Code;

use crate::diag::{did_you_mean, HDiag};
use crate::eval::value::{Applied, ArgOrigin, BlockV, Val};
use crate::eval::Cx;
use crate::experiment::{ConfigEntry, ConfigValue, FieldDef, Provenance};
use crate::names::decls::decl_info;

/// Replaces the argument at `path` inside `v` with the value of `f`.
pub fn apply_override(cx: &mut Cx<'_>, v: Val, path: &[String], f: &FieldDef) -> Val {
    match v {
        Val::Unknown => Val::Unknown,
        Val::Decl(a) | Val::Block(BlockV::Decl(a)) => match refine(cx, &a, path, f) {
            Some(a) => match decl_info(cx.db, &a.def) {
                Some(info) => cx.finish(a, &info),
                None => Val::Unknown,
            },
            None => Val::Unknown,
        },
        Val::Block(BlockV::Named(n, inner)) => match apply_override(cx, Val::Block(*inner), path, f) {
            Val::Block(b) => Val::Block(BlockV::Named(n, Box::new(b))),
            other => other,
        },
        Val::Data(d) => {
            let Some(a) = refine(cx, &d.source, path, f) else {
                return Val::Unknown;
            };
            let Some(info) = decl_info(cx.db, &a.def) else {
                return Val::Unknown;
            };
            let mut out = cx.finish(a, &info);
            if let Val::Data(nd) = &mut out {
                let mut nd2 = (**nd).clone();
                nd2.transforms = d.transforms.clone();
                nd2.name = d.name.clone();
                *nd = Arc::new(nd2);
            }
            out
        }
        other => {
            let code = if f.provenance == Provenance::CommandLine { Code::InvalidOverride } else { Code::UnknownField };
            cx.error(
                HDiag::new(
                    code,
                    format!(
                        "cannot set `{}`: the value is `{}`, which has no parameters",
                        f.path.join("."),
                        other.type_name()
                    ),
                    f.at.clone(),
                    "cannot refine this",
                )
                .with_help(format!("set `{}` as a whole instead", f.path[..f.path.len() - path.len()].join("."))),
            )
        }
    }
}

fn refine(cx: &mut Cx<'_>, a: &Applied, path: &[String], f: &FieldDef) -> Option<Applied> {
    let name = &path[0];
    let Some(i) = a.args.iter().position(|(n, _)| n == name) else {
        let code = if f.provenance == Provenance::CommandLine { Code::InvalidOverride } else { Code::UnknownArgument };
        let help = did_you_mean(name, a.args.iter().map(|(n, _)| n.as_str())).unwrap_or_else(|| {
            format!(
                "the parameters of `{}` are {}",
                a.name,
                a.args.iter().map(|(n, _)| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            )
        });
        cx.error(
            HDiag::new(code, format!("`{}` has no parameter `{name}`", a.name), f.at.clone(), "unknown parameter")
                .with_help(help),
        );
        return None;
    };
    let mut out = a.clone();
    if path.len() == 1 {
        let info = decl_info(cx.db, &a.def)?;
        let ty = info
            .params
            .as_ref()
            .and_then(|ps| ps.iter().find(|p| &p.name == name))
            .map(|p| p.ty.clone())
            .unwrap_or(crate::types::Ty::Any);
        let item = f.at.item.clone().unwrap_or_default();
        let v = cx.in_scope(f.at.file, &item, f.scope, Vec::new(), |cx| {
            let v = cx.eval(&f.expr);
            cx.coerce(v, &ty, f.expr.span, name, &a.name)
        });
        out.args[i].1 = v;
        out.origins[i] = ArgOrigin::Override(f.at.clone(), f.provenance.clone());
    } else {
        let inner = out.args[i].1.clone();
        out.args[i].1 = apply_override(cx, inner, &path[1..], f);
    }
    Some(out)
}

/// Every field and every argument inside call-valued fields, with provenance.
pub fn config_entries(
    fields: &[(String, Val, crate::diag::Loc)],
    origins: &[(String, Provenance)],
) -> Vec<ConfigEntry> {
    let mut out = Vec::new();
    for (name, v) in fields.iter().map(|(n, v, _)| (n, v)) {
        let prov = origins.iter().find(|(n, _)| n == name).map_or(Provenance::Declaration, |(_, p)| p.clone());
        walk(&mut out, name, v, &prov);
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn walk(out: &mut Vec<ConfigEntry>, path: &str, v: &Val, prov: &Provenance) {
    out.push(ConfigEntry {
        path: path.to_string(),
        text: v.to_string(),
        value: ConfigValue::of(v),
        provenance: prov.clone(),
    });
    let applied = match v {
        Val::Decl(a) | Val::Block(BlockV::Decl(a)) => Some(a.clone()),
        Val::Block(BlockV::Named(_, inner)) => match &**inner {
            BlockV::Decl(a) => Some(a.clone()),
            _ => None,
        },
        Val::Data(d) => Some(d.source.clone()),
        _ => None,
    };
    let Some(a) = applied else { return };
    for ((n, v), origin) in a.args.iter().zip(&a.origins) {
        let p = match origin {
            ArgOrigin::Default => Provenance::Default,
            ArgOrigin::Written(_) => prov.clone(),
            ArgOrigin::Override(_, p) => p.clone(),
        };
        walk(out, &format!("{path}.{n}"), v, &p);
    }
}
