//! Sweeps: the grid of experiment variants, each point checked before any is launched.

use exp_db::{Db, SourceFile};
use exp_diagnostics::Code;
use exp_syntax::ast::{Expr, ExprKind, SweepDecl, SweepStmt};
use exp_syntax::Span;

use crate::diag::{did_you_mean, HDiag, Loc};
use crate::eval::value::Val;
use crate::eval::Cx;
use crate::experiment::{elaborate, FieldDef, Provenance};
use crate::names::items::DefKind;
use crate::names::scope::{resolve, unknown_name_help};

/// Grids up to this size are checked point by point; larger ones axis by axis.
const FULL_CHECK_LIMIT: usize = 64;
/// The largest grid a sweep may declare.
const MAX_POINTS: usize = 100_000;

/// One axis of a sweep: a path and the expressions of its values.
#[derive(Clone, Debug)]
pub struct Axis {
    /// The experiment path varied.
    pub path: Vec<String>,
    /// One expression per value.
    pub values: Vec<Expr>,
    /// The axis statement.
    pub at: Loc,
}

/// Expands a sweep's axes, reporting bad domains.
pub fn axes(db: &dyn Db, file: SourceFile, key: &str, s: &SweepDecl, diags: &mut Vec<HDiag>) -> Vec<Axis> {
    let mut cx = Cx::new(db, file, key);
    let mut out = Vec::new();
    for st in &s.body {
        let SweepStmt::Axis { path, domain, span } = st else {
            continue;
        };
        let at = cx.loc(*span);
        let values = domain_values(&mut cx, domain);
        match values {
            Some(v) if v.is_empty() => cx.diags.push(
                HDiag::new(Code::InvalidSweepDomain, "empty sweep domain", cx.loc(domain.span), "no values")
                    .with_help("give at least one value, e.g. `[1e-3]` or `0..3`"),
            ),
            Some(v) => out.push(Axis { path: path.iter().map(|i| i.name.clone()).collect(), values: v, at }),
            None => {}
        }
    }
    diags.extend(cx.diags);
    out
}

fn literal(kind: ExprKind, span: Span) -> Expr {
    Expr { kind, span }
}

/// The values of a domain as expressions: list elements as written, ranges and spaces as
/// literals at the domain's span.
fn domain_values(cx: &mut Cx<'_>, domain: &Expr) -> Option<Vec<Expr>> {
    let bad = |cx: &mut Cx<'_>, msg: String, help: &str| {
        cx.diags.push(HDiag::new(Code::InvalidSweepDomain, msg, cx.loc(domain.span), "invalid domain").with_help(help));
        None
    };
    match &domain.kind {
        ExprKind::List(items) => Some(items.clone()),
        ExprKind::Range { .. } => match cx.eval(domain) {
            Val::List(vals) => Some(
                vals.iter()
                    .filter_map(|v| if let Val::Int(d) = v { d.as_const() } else { None })
                    .map(|i| literal(ExprKind::Int(i), domain.span))
                    .collect(),
            ),
            _ => None,
        },
        ExprKind::Call { callee, args } if matches!(&callee.kind, ExprKind::Name(id) if id.name == "linspace" || id.name == "logspace") =>
        {
            let ExprKind::Name(id) = &callee.kind else {
                return None;
            };
            let vals: Vec<Val> = args.iter().map(|a| cx.eval(&a.value)).collect();
            let num = |v: &Val| match v {
                Val::Int(d) => d.as_const().map(|i| i as f64),
                Val::Float(x) => Some(*x),
                _ => None,
            };
            let [a, b, n] = vals.as_slice() else {
                return bad(cx, format!("`{}` takes (start, stop, count)", id.name), "e.g. `logspace(1e-4, 1e-2, 5)`");
            };
            let (Some(a), Some(b), Some(n)) = (num(a), num(b), num(n)) else {
                return bad(cx, format!("`{}` takes numbers", id.name), "e.g. `linspace(0.0, 1.0, 5)`");
            };
            if n < 1.0 || n.fract() != 0.0 || n > 10_000.0 {
                return bad(
                    cx,
                    format!("`{}` needs a whole count between 1 and 10000, found {n}", id.name),
                    "the third argument is the number of values",
                );
            }
            if id.name == "logspace" && (a <= 0.0 || b <= 0.0) {
                return bad(
                    cx,
                    "`logspace` bounds must be positive".into(),
                    "it spaces values evenly in log scale, e.g. `logspace(1e-4, 1e-1, 4)`",
                );
            }
            let n = n as usize;
            let vals = (0..n).map(|i| {
                let f = if n == 1 { 0.0 } else { i as f64 / (n - 1) as f64 };
                if id.name == "logspace" {
                    (a.ln() + f * (b.ln() - a.ln())).exp()
                } else {
                    a + f * (b - a)
                }
            });
            Some(vals.map(|x| literal(ExprKind::Float(x), domain.span)).collect())
        }
        _ => match cx.eval(domain) {
            Val::Unknown => None,
            v => bad(
                cx,
                format!("a sweep domain must be a list, a range, `linspace` or `logspace`, found `{}`", v.type_name()),
                "e.g. `[0.1, 0.3]`, `0..5` or `logspace(1e-4, 1e-2, 3)`",
            ),
        },
    }
}

/// Checks a sweep: the experiment it sweeps, its domains, its objective, and each point.
pub fn check_sweep(db: &dyn Db, file: SourceFile, key: &str, s: &SweepDecl) -> Vec<HDiag> {
    let mut diags = Vec::new();
    let at = |span| Loc { file, item: Some(key.to_string()), span };
    let base = match resolve(db, file, &s.base.name) {
        Some(def) if def.kind == DefKind::Experiment => def,
        Some(def) => {
            return vec![HDiag::new(
                Code::TypeMismatch,
                format!("`{}` is a {}, not an experiment", s.base.name, def.kind.keyword()),
                at(s.base.span),
                "swept over",
            )]
        }
        None => {
            let help = unknown_name_help(db, file, &s.base.name, &[]);
            return vec![HDiag::new(
                Code::UnknownName,
                format!("unknown experiment `{}`", s.base.name),
                at(s.base.span),
                "not found",
            )
            .with_help_opt(help)];
        }
    };
    let axes = axes(db, file, key, s, &mut diags);
    let plain = elaborate(db, base.file, &base.key, &[]);
    let probes: Vec<String> = plain.probes.iter().map(|p| p.name.clone()).collect();
    for st in &s.body {
        match st {
            SweepStmt::Objective { probe, .. } if !probes.contains(&probe.name) => {
                let help = did_you_mean(&probe.name, probes.iter().map(String::as_str));
                diags.push(
                    HDiag::new(
                        Code::UnknownProbe,
                        format!("unknown probe `{}` in `{}`", probe.name, s.base.name),
                        at(probe.span),
                        "not a probe of the experiment",
                    )
                    .with_help_opt(help),
                );
            }
            SweepStmt::Setting { name, value, .. } => {
                let mut cx = Cx::new(db, file, key);
                match (name.name.as_str(), cx.eval(value)) {
                    ("jobs", Val::Int(d)) if d.as_const().is_some_and(|j| j > 0) => {}
                    ("jobs", v) => diags.push(HDiag::new(
                        Code::InvalidValue,
                        format!("`jobs` must be a positive integer, found `{v}`"),
                        at(value.span),
                        "invalid",
                    )),
                    ("executor", Val::Str(s)) if s == "local" || s == "slurm" => {}
                    ("executor", v) => diags.push(HDiag::new(
                        Code::InvalidValue,
                        format!("`executor` is \"local\" or \"slurm\", found `{v}`"),
                        at(value.span),
                        "invalid",
                    )),
                    (other, _) => diags.push(
                        HDiag::new(
                            Code::UnknownField,
                            format!("sweeps have no setting `{other}`"),
                            at(name.span),
                            "unknown setting",
                        )
                        .with_help_opt(did_you_mean(other, ["jobs", "executor"])),
                    ),
                }
            }
            _ => {}
        }
    }
    if plain.has_errors() {
        return diags;
    }
    let points: usize = axes.iter().map(|a| a.values.len()).product();
    if points > MAX_POINTS {
        diags.push(
            HDiag::new(
                Code::InvalidSweepDomain,
                format!("the sweep has {points} points"),
                at(s.name.span),
                "too many points",
            )
            .with_help(format!("sweeps are limited to {MAX_POINTS} points")),
        );
        return diags;
    }
    let mut seen = std::collections::HashSet::new();
    let mut check = |point: Vec<(&Axis, &Expr)>| {
        let defs: Vec<FieldDef> = point
            .iter()
            .map(|(a, e)| FieldDef {
                path: a.path.clone(),
                expr: (*e).clone(),
                at: Loc { span: a.at.span, ..a.at.clone() },
                provenance: Provenance::CommandLine,
                scope: file,
            })
            .collect();
        for d in elaborate(db, base.file, &base.key, &defs).diags {
            let d = if d.code == Code::InvalidOverride { HDiag { code: Code::InvalidSweepDomain, ..d } } else { d };
            if seen.insert(d.clone()) {
                diags.push(d);
            }
        }
    };
    if points <= FULL_CHECK_LIMIT {
        for i in 0..points {
            let mut rest = i;
            let point = axes
                .iter()
                .map(|a| {
                    let v = &a.values[rest % a.values.len()];
                    rest /= a.values.len();
                    (a, v)
                })
                .collect();
            check(point);
        }
    } else {
        for a in &axes {
            for v in &a.values {
                check(vec![(a, v)]);
            }
        }
    }
    diags
}
