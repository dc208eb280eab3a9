//! Probes (measurements during training) and stop rules: names are checked wherever they
//! are used, frequencies carry units, and derived probes are scalar expressions of others.

use std::sync::Arc;

use exp_diagnostics::Code;
use exp_syntax::ast::Expr;

use super::training::MAX_COUNT;
use crate::diag::{did_you_mean, HDiag, Loc};
use crate::eval::value::{Applied, Val};
use crate::eval::Cx;
use crate::experiment::{Collected, Elaborated};
use crate::model::builtin::BuiltinOp;
use crate::names::items::DefKind;
use crate::types::UnitKind;
use exp_ops::MeasureError;

/// What a probe measures.
#[derive(Clone, Debug)]
pub enum ProbeKind {
    /// A `probe` or `metric` declaration applied to its arguments (e.g. `on: digits.test`).
    Measure(Arc<Applied>),
    /// A scalar expression over earlier probes (`gap = train_acc - test_acc`).
    Derived(Expr),
}

/// One probe of an experiment.
#[derive(Clone, Debug)]
pub struct ProbeSpec {
    /// Its name, as used in stop rules and metrics files.
    pub name: String,
    /// What it measures.
    pub kind: ProbeKind,
    /// How often: a count and its unit (steps or epochs).
    pub every: (u64, UnitKind),
    /// The probe entry's location (its expression's item is `at.item`).
    pub at: Loc,
}

/// A stop rule.
#[derive(Clone, Debug)]
pub struct StopSpec {
    /// The condition over probe names.
    pub cond: Expr,
    /// Consecutive probe events it must hold for.
    pub for_count: u64,
    /// The rule's location.
    pub at: Loc,
}

/// Checks probe blocks and stop rules, filling `el.probes` and `el.stops`.
pub(crate) fn check_probes(cx: &mut Cx<'_>, el: &mut Elaborated, col: &Collected) {
    let mut probes: Vec<ProbeSpec> = Vec::new();
    for (at, every, entries) in &col.probe_blocks {
        let item = at.item.clone().unwrap_or_default();
        let freq = cx.in_item(at.file, &item, Vec::new(), |cx| cx.eval(every));
        let every_q = match freq {
            Val::Qty(x, u @ (UnitKind::Steps | UnitKind::Epochs)) if x >= 1.0 && x.fract() == 0.0 && x <= MAX_COUNT => {
                Some((x as u64, u))
            }
            Val::Qty(_, u @ (UnitKind::Steps | UnitKind::Epochs)) => {
                cx.error(HDiag::new(
                    Code::InvalidValue,
                    format!("probe frequency must be a whole number of {} between 1 and {MAX_COUNT:e}", u.word()),
                    Loc { span: every.span, ..at.clone() },
                    "invalid frequency",
                ));
                None
            }
            Val::Unknown => None,
            v => {
                cx.error(
                    HDiag::new(
                        Code::UnitMismatch,
                        format!("probe frequency must be in steps or epochs, found `{}`", v.type_name()),
                        Loc { span: every.span, ..at.clone() },
                        "needs `steps` or `epochs`",
                    )
                    .with_help("write e.g. `probe every 100 steps { ... }`"),
                );
                None
            }
        };
        for (name, expr, nspan) in entries {
            let nloc = Loc { span: *nspan, ..at.clone() };
            let env: Vec<(String, Val)> = probes.iter().map(|p| (p.name.clone(), Val::Float(0.0))).collect();
            let v = cx.in_item(at.file, &item, env, |cx| cx.eval(expr));
            let kind = match v {
                Val::Decl(a) if matches!(a.kind(), DefKind::Probe | DefKind::Metric) => {
                    if !check_measure(cx, el, &a, name) {
                        continue;
                    }
                    ProbeKind::Measure(a)
                }
                Val::Float(_) | Val::Int(_) => ProbeKind::Derived(expr.clone()),
                Val::Unknown => continue,
                v => {
                    cx.error(HDiag::new(
                        Code::TypeMismatch,
                        format!("probe `{name}` must be a measurement or a number, found `{}`", v.type_name()),
                        Loc { span: expr.span, ..at.clone() },
                        "not a measurement",
                    ));
                    continue;
                }
            };
            if let Some(old) = probes.iter().position(|p| &p.name == name) {
                if probes[old].at.item == nloc.item {
                    cx.error(
                        HDiag::new(
                            Code::DuplicateDefinition,
                            format!("probe `{name}` is defined twice"),
                            nloc,
                            "defined again here",
                        )
                        .with_secondary(probes[old].at.clone(), "first defined here"),
                    );
                    continue;
                }
                probes.remove(old);
            }
            if let Some(every) = every_q {
                probes.push(ProbeSpec { name: name.clone(), kind, every, at: nloc });
            }
        }
    }
    let names: Vec<String> = probes.iter().map(|p| p.name.clone()).collect();
    for (at, cond, for_count) in &col.stops {
        let item = at.item.clone().unwrap_or_default();
        let mut unknown = Vec::new();
        crate::names::scope::names_in(cond, &mut unknown);
        let mut ok = true;
        for (n, span) in unknown.into_iter().filter(|(n, _)| !names.contains(n)) {
            ok = false;
            let help = did_you_mean(&n, names.iter().map(String::as_str)).or_else(|| {
                if names.is_empty() {
                    Some("declare probes with `probe every N steps { name = ... }`".into())
                } else {
                    Some(format!(
                        "the probes are {}",
                        names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                    ))
                }
            });
            cx.error(
                HDiag::new(
                    Code::UnknownProbe,
                    format!("unknown probe `{n}`"),
                    Loc { span, ..at.clone() },
                    "not a probe of this experiment",
                )
                .with_help_opt(help),
            );
        }
        if !ok {
            continue;
        }
        let env: Vec<(String, Val)> = names.iter().map(|n| (n.clone(), Val::Float(0.0))).collect();
        let v = cx.in_item(at.file, &item, env.clone(), |cx| cx.eval(cond));
        if !matches!(v, Val::Bool(_) | Val::Unknown) {
            cx.error(HDiag::new(
                Code::TypeMismatch,
                format!("a stop condition must be `Bool`, found `{}`", v.type_name()),
                Loc { span: cond.span, ..at.clone() },
                "not a condition",
            ));
            continue;
        }
        let count = match for_count {
            None => 1,
            Some(e) => match cx.in_item(at.file, &item, Vec::new(), |cx| cx.eval(e)) {
                Val::Qty(x, UnitKind::Probes) if (1.0..=1e6).contains(&x) && x.fract() == 0.0 => x as u64,
                Val::Int(d) if d.as_const().is_some_and(|n| (1..=1_000_000).contains(&n)) => {
                    d.as_const().unwrap_or(1) as u64
                }
                v @ (Val::Qty(_, UnitKind::Probes) | Val::Int(_)) => {
                    cx.error(HDiag::new(
                        Code::InvalidValue,
                        format!("`for` needs a whole number of probe events between 1 and 1000000, found `{v}`"),
                        Loc { span: e.span, ..at.clone() },
                        "invalid count",
                    ));
                    continue;
                }
                Val::Unknown => continue,
                v => {
                    cx.error(HDiag::new(
                        Code::UnitMismatch,
                        format!("`for` counts probe events, found `{v}`"),
                        Loc { span: e.span, ..at.clone() },
                        "expected e.g. `3 probes`",
                    ));
                    continue;
                }
            },
        };
        el.stops.push(StopSpec { cond: cond.clone(), for_count: count, at: at.clone() });
    }
    el.probes = probes;
}

/// Checks a built-in probe or metric against the experiment's data: it measures the data
/// the experiment trains on, and that data's targets suit it. Reports and returns `false`
/// otherwise.
fn check_measure(cx: &mut Cx<'_>, el: &Elaborated, a: &Applied, name: &str) -> bool {
    let Some(data) = &el.data else { return true };
    for (_, v) in &a.args {
        let Val::Split(d, split) = v else { continue };
        if let (Some(theirs), Some(ours)) = (&d.name, &data.name) {
            if theirs != ours {
                cx.error(
                    HDiag::new(
                        Code::TypeMismatch,
                        format!("probe `{name}` reads `{theirs}.{split}`, but the experiment trains on `{ours}`"),
                        a.at.clone(),
                        format!("a split of `{theirs}`"),
                    )
                    .with_help(format!("probes measure the experiment's data: write `on: {ours}.{split}`")),
                );
                return false;
            }
        }
    }
    let checked = match &a.op {
        Some(BuiltinOp::Probe(p)) => p.check_target(&data.schema.target),
        Some(BuiltinOp::Metric(m)) => m.check_target(&data.schema.target),
        _ => Ok(()),
    };
    let Err(e) = checked else { return true };
    let code = match e {
        MeasureError::NeedsClasses { .. } => Code::TypeMismatch,
        MeasureError::TooFewClasses { .. } => Code::InvalidValue,
    };
    let dname = data.name.as_deref().unwrap_or("the data");
    cx.error(HDiag::new(code, e.to_string(), a.at.clone(), format!("measures `{dname}`")));
    false
}
