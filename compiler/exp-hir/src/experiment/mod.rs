//! Experiments: fields (with `extends` and overrides), the model applied to the data,
//! the loss against the model's output, probes, stop rules and estimates.

use std::sync::Arc;

use exp_db::{Db, SourceFile};
use exp_diagnostics::Code;
use exp_syntax::ast::{ExpStmt, Expr, ItemKind};
use exp_syntax::Span;

pub mod overrides;
pub mod probes;
pub mod record;
pub mod sweep;
pub mod training;

use crate::diag::{did_you_mean, HDiag, Loc};
pub use crate::eval::value::Provenance;
use crate::eval::value::{DataV, TVal, Val};
use crate::eval::Cx;
use crate::names::items::{lookup, DefKind};
use crate::names::scope::resolve;
use crate::types::{Ty, UnitKind};
use overrides::{apply_override, config_entries};
use probes::{check_probes, ProbeSpec, StopSpec};

/// A field assignment: `path = expr`, with where it was written.
#[derive(Clone, Debug)]
pub struct FieldDef {
    /// The dotted path.
    pub path: Vec<String>,
    /// The value expression (spans relative to `at.item`).
    pub expr: Expr,
    /// The whole statement's location; `at.item` is the item the expression belongs to.
    pub at: Loc,
    /// Where it came from.
    pub provenance: Provenance,
    /// The file whose names the expression uses (for `--set`, the experiment's file).
    pub scope: SourceFile,
}

/// One resolved configuration value, for the IR and `config.json`.
#[derive(Clone, Debug)]
pub struct ConfigEntry {
    /// Dotted path such as `optimizer.lr`.
    pub path: String,
    /// The value, as text that reads back in the language.
    pub text: String,
    /// The value itself.
    pub value: ConfigValue,
    /// Where it came from.
    pub provenance: Provenance,
}

/// A configuration value as plain data.
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigValue {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A string.
    Str(String),
    /// A number with a unit (bytes already scaled).
    Quantity(f64, UnitKind),
    /// A list.
    List(Vec<ConfigValue>),
    /// A tuple.
    Tuple(Vec<ConfigValue>),
    /// Anything else (a model, a call), as the text that reads back in the language.
    Text(String),
}

impl ConfigValue {
    /// The plain form of a value.
    pub fn of(v: &Val) -> ConfigValue {
        match v {
            Val::Int(d) => d.as_const().map_or_else(|| ConfigValue::Text(d.to_string()), ConfigValue::Int),
            Val::Float(x) => ConfigValue::Float(*x),
            Val::Bool(b) => ConfigValue::Bool(*b),
            Val::Str(s) => ConfigValue::Str(s.clone()),
            Val::Qty(x, u) => ConfigValue::Quantity(*x, *u),
            Val::List(items) => ConfigValue::List(items.iter().map(ConfigValue::of).collect()),
            Val::Tuple(items) => ConfigValue::Tuple(items.iter().map(ConfigValue::of).collect()),
            other => ConfigValue::Text(other.to_string()),
        }
    }
}

/// The known experiment fields, their types, and whether they must be given.
pub const FIELDS: &[(&str, &str, bool)] = &[
    ("seed", "Int", false),
    ("data", "Data", true),
    ("model", "Block", true),
    ("loss", "Loss", true),
    ("optimizer", "Optimizer", true),
    ("batch", "Int", true),
    ("train", "Steps or Epochs", true),
    ("eval_batch", "Int", false),
    ("clip", "Float", false),
    ("memory_limit", "Bytes", false),
    ("shuffle", "Bool", false),
    ("init", "Fn", false),
];

fn field_ty(name: &str) -> Option<Ty> {
    Some(match name {
        "seed" | "batch" | "eval_batch" => Ty::Int,
        "data" => Ty::Data,
        "model" => Ty::Block,
        "loss" => Ty::Loss,
        "optimizer" => Ty::Optimizer,
        "clip" => Ty::Float,
        "memory_limit" => Ty::Qty(UnitKind::Bytes),
        "shuffle" => Ty::Bool,
        "init" => Ty::Fn,
        "train" => Ty::Any,
        _ => return None,
    })
}

/// Memory and compute estimates for the declared batch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Estimates {
    /// Trainable parameter elements.
    pub params: u64,
    /// Bytes of parameters (f32).
    pub param_bytes: u64,
    /// Bytes of gradients.
    pub grad_bytes: u64,
    /// Bytes of optimizer state.
    pub state_bytes: u64,
    /// Bytes of activations kept for backward at the declared batch.
    pub activation_bytes: u64,
    /// FLOPs of one training step (forward + backward, backward counted as twice forward).
    pub flops_per_step: u64,
}

impl Estimates {
    /// Total bytes (saturating).
    pub fn total_bytes(&self) -> u64 {
        [self.grad_bytes, self.state_bytes, self.activation_bytes]
            .iter()
            .fold(self.param_bytes, |a, b| a.saturating_add(*b))
    }
}

/// An experiment, fully elaborated.
#[derive(Debug)]
pub struct Elaborated {
    /// Its name.
    pub name: String,
    /// The file that declares it.
    pub file: SourceFile,
    /// Every evaluated field, by root name.
    pub fields: Vec<(String, Val, Loc)>,
    /// The dataset.
    pub data: Option<Arc<DataV>>,
    /// The model graph.
    pub graph: crate::model::graph::Graph,
    /// The model's output.
    pub output: Option<TVal>,
    /// Probes in declaration order.
    pub probes: Vec<ProbeSpec>,
    /// Stop rules.
    pub stops: Vec<StopSpec>,
    /// Resolved configuration with provenance.
    pub config: Vec<ConfigEntry>,
    /// Estimates, when the model elaborated.
    pub estimates: Option<Estimates>,
    /// Problems found.
    pub diags: Vec<HDiag>,
    /// The typed record lowering reads, when there are no errors.
    pub experiment: Option<record::Experiment>,
}

impl Elaborated {
    /// The value of a root field.
    pub fn field(&self, name: &str) -> Option<&Val> {
        self.fields.iter().find(|(n, _, _)| n == name).map(|(_, v, _)| v)
    }

    /// Whether elaboration found errors.
    pub fn has_errors(&self) -> bool {
        self.diags.iter().any(|d| d.severity == exp_diagnostics::Severity::Error)
    }
}

/// The statements of an experiment and of the experiments it extends, base first.
pub(crate) struct Collected {
    pub fields: Vec<FieldDef>,
    pub probe_blocks: Vec<(Loc, Expr, Vec<(String, Expr, Span)>)>,
    pub stops: Vec<(Loc, Expr, Option<Expr>)>,
}

fn collect(
    db: &dyn Db,
    file: SourceFile,
    key: &str,
    diags: &mut Vec<HDiag>,
    chain: &mut Vec<(SourceFile, String)>,
) -> Collected {
    let mut out = Collected { fields: Vec::new(), probe_blocks: Vec::new(), stops: Vec::new() };
    let Some(item) = lookup(db, file, key) else {
        return out;
    };
    let ast = item.ast(db).clone();
    let ItemKind::Experiment(e) = &ast.kind else {
        return out;
    };
    let at = |span| Loc { file, item: Some(key.to_string()), span };
    chain.push((file, key.to_string()));
    let own = if chain.len() == 1 { Provenance::Declaration } else { Provenance::Extends(e.name.name.clone()) };
    if let Some(base) = &e.extends {
        match resolve(db, file, &base.name) {
            Some(def) if def.kind == DefKind::Experiment => {
                if chain.iter().any(|(f, k)| *f == def.file && *k == def.key) {
                    diags.push(
                        HDiag::new(
                            Code::ExtendsCycle,
                            format!("`{}` extends itself through `{}`", e.name.name, base.name),
                            at(base.span),
                            "cycle closes here",
                        )
                        .with_help("remove one `extends` from the cycle"),
                    );
                } else {
                    let inherited = collect(db, def.file, &def.key, diags, chain);
                    out = inherited;
                }
            }
            Some(def) => diags.push(HDiag::new(
                Code::TypeMismatch,
                format!("`{}` is a {}, not an experiment", base.name, def.kind.keyword()),
                at(base.span),
                "cannot extend this",
            )),
            None => {
                let help = crate::names::scope::unknown_name_help(db, file, &base.name, &[]);
                diags.push(
                    HDiag::new(
                        Code::UnknownName,
                        format!("unknown experiment `{}`", base.name),
                        at(base.span),
                        "not found",
                    )
                    .with_help_opt(help),
                );
            }
        }
    }
    let mut seen: Vec<(Vec<String>, Span)> = Vec::new();
    for st in &e.body {
        match st {
            ExpStmt::Field { path, value, span } => {
                let p: Vec<String> = path.iter().map(|i| i.name.clone()).collect();
                if let Some((_, first)) = seen.iter().find(|(q, _)| *q == p) {
                    diags.push(
                        HDiag::new(
                            Code::DuplicateField,
                            format!("field `{}` is set twice", p.join(".")),
                            at(*span),
                            "set again here",
                        )
                        .with_secondary(at(*first), "first set here"),
                    );
                    continue;
                }
                seen.push((p.clone(), *span));
                out.fields.push(FieldDef {
                    path: p,
                    expr: value.clone(),
                    at: at(*span),
                    provenance: own.clone(),
                    scope: file,
                });
            }
            ExpStmt::Probes { every, probes, span } => {
                let entries = probes.iter().map(|(n, e)| (n.name.clone(), e.clone(), n.span)).collect();
                out.probe_blocks.push((at(*span), every.clone(), entries));
            }
            ExpStmt::Stop { cond, for_count, span } => out.stops.push((at(*span), cond.clone(), for_count.clone())),
        }
    }
    chain.pop();
    out
}

pub use overrides_input::Overrides;

mod overrides_input {
    // Salsa generates the constructor and getters without doc comments.
    #![allow(missing_docs)]
    use super::FieldDef;

    /// Command-line overrides of one run (`--set path=value`), as a salsa input so that the
    /// elaboration of an experiment with them is a query like the one without.
    #[salsa::input(debug)]
    pub struct Overrides {
        /// The overriding fields, in the order given.
        #[returns(ref)]
        pub fields: Vec<FieldDef>,
    }
}

/// The elaboration of an experiment item as written: its diagnostics and, when it has none,
/// its typed record.
///
/// Cached per item, so `check` and `run` elaborate an experiment once; no equality (the
/// value holds the whole model graph), so every query reading it re-runs when it does.
#[salsa::tracked(returns(ref), no_eq)]
pub fn elaborated<'db>(db: &'db dyn Db, item: crate::names::items::ItemDef<'db>) -> Arc<Elaborated> {
    Arc::new(elaborate(db, item.file(db), item.key(db), &[]))
}

/// The elaboration of an experiment item with command-line overrides.
#[salsa::tracked(returns(ref), no_eq)]
pub fn elaborated_with<'db>(
    db: &'db dyn Db,
    item: crate::names::items::ItemDef<'db>,
    overrides: Overrides,
) -> Arc<Elaborated> {
    Arc::new(elaborate(db, item.file(db), item.key(db), overrides.fields(db)))
}

/// Elaborates the experiment `key` of `file` with command-line overrides appended; not
/// cached (sweeps check many points of one experiment this way). Prefer [`elaborated`].
pub fn elaborate(db: &dyn Db, file: SourceFile, key: &str, cli: &[FieldDef]) -> Elaborated {
    let mut diags = Vec::new();
    let mut col = collect(db, file, key, &mut diags, &mut Vec::new());
    col.fields.extend(cli.iter().cloned());
    let mut cx = Cx::new(db, file, key);
    cx.diags = diags;
    let mut fields: Vec<(String, Val, Loc)> = Vec::new();
    let mut origins: Vec<(String, Provenance)> = Vec::new();
    // A field set under a misspelt name, or in an experiment whose `extends` chain is a
    // cycle, is not reported missing too: the one error says what to fix.
    let cyclic = cx.diags.iter().any(|d| d.code == Code::ExtendsCycle);
    let mut misspelt: Vec<&str> = Vec::new();
    // Root fields: the last assignment wins (extensions and `--set` come later).
    for f in col.fields.iter().filter(|f| f.path.len() == 1) {
        let root = &f.path[0];
        let Some(ty) = field_ty(root) else {
            let names: Vec<&str> = FIELDS.iter().map(|(n, _, _)| *n).collect();
            let code = if f.provenance == Provenance::CommandLine { Code::InvalidOverride } else { Code::UnknownField };
            let help = did_you_mean(root, names.iter().copied())
                .unwrap_or_else(|| format!("the fields are {}", names.join(", ")));
            misspelt.extend(crate::diag::closest(root, names.iter().copied()));
            cx.error(
                HDiag::new(code, format!("experiments have no field `{root}`"), path_loc(f), "unknown field")
                    .with_help(help),
            );
            continue;
        };
        let item = f.at.item.clone().unwrap_or_default();
        let v = cx.in_scope(f.at.file, &item, f.scope, Vec::new(), |cx| {
            let v = cx.eval(&f.expr);
            cx.coerce(v, &ty, f.expr.span, root, "experiment")
        });
        let loc = Loc { file: f.at.file, item: f.at.item.clone(), span: f.expr.span };
        fields.retain(|(n, _, _)| n != root);
        origins.retain(|(n, _)| n != root);
        fields.push((root.clone(), v, loc));
        origins.push((root.clone(), f.provenance.clone()));
    }
    for f in col.fields.iter().filter(|f| f.path.len() > 1) {
        let root = &f.path[0];
        match fields.iter().position(|(n, _, _)| n == root) {
            Some(i) => {
                let v = fields[i].1.clone();
                fields[i].1 = apply_override(&mut cx, v, &f.path[1..], f);
            }
            None => {
                let code =
                    if f.provenance == Provenance::CommandLine { Code::InvalidOverride } else { Code::UnknownField };
                cx.error(
                    HDiag::new(
                        code,
                        format!("cannot set `{}`: the experiment has no `{root}` to refine", f.path.join(".")),
                        path_loc(f),
                        "nothing to refine",
                    )
                    .with_help(format!("set `{root}` first")),
                );
            }
        }
    }
    let at_item = Loc {
        file,
        item: Some(key.to_string()),
        span: lookup(db, file, key).map(|i| i.ast(db).name().map_or(i.ast(db).span, |n| n.span)).unwrap_or_default(),
    };
    for (name, ty, required) in FIELDS {
        if *required && !cyclic && !misspelt.contains(name) && !fields.iter().any(|(n, _, _)| n == name) {
            cx.error(
                HDiag::new(
                    Code::MissingField,
                    format!("experiment is missing `{name}`"),
                    at_item.clone(),
                    format!("no `{name}` here"),
                )
                .with_help(format!("add `{name} = ...` ({ty})")),
            );
        }
    }
    let mut el = Elaborated {
        name: key.to_string(),
        file,
        fields,
        data: None,
        graph: Default::default(),
        output: None,
        probes: Vec::new(),
        stops: Vec::new(),
        config: Vec::new(),
        estimates: None,
        diags: Vec::new(),
        experiment: None,
    };
    training::check_training(&mut cx, &mut el);
    check_probes(&mut cx, &mut el, &col);
    el.config = config_entries(&el.fields, &origins);
    el.graph = std::mem::take(&mut cx.graph);
    let clean = !cx.diags.iter().any(|d| d.severity == exp_diagnostics::Severity::Error);
    if clean {
        el.experiment = record::build(&mut cx, &el);
    }
    el.diags = cx.diags;
    el
}

fn path_loc(f: &FieldDef) -> Loc {
    f.at.clone()
}
