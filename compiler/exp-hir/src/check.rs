//! Per-item checking (`check_item`, one salsa query per item) and the file's diagnostics.

use exp_db::{Db, SourceFile};
use exp_diagnostics::{Code, Diagnostic};
use exp_ops::{ArgDefault, ArgKind, Dim, Shape};
use exp_syntax::ast::{Body, Decl, DeclKind, ExprKind, ItemKind, OptStmt, OptimizerDecl, Signature};

use crate::decls::{decl_signature, ParamInfo};
use crate::diag::{to_diagnostic, HDiag, Loc};
use crate::eval::Cx;
use crate::graph::{Node, NodeOp};
use crate::items::{file_items, ItemDef};
use crate::scalar::{STy, ScalarCx};
use crate::scope::{file_scope, import_cycle};
use crate::types::{Ty, UnitKind};
use crate::value::{BlockV, Val};

/// Initializers: builtin `fn`s selected by name in `init = ...`, not scalar functions.
pub const INITIALIZERS: &[&str] = &[
    "pytorch_default",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "lecun_normal",
    "orthogonal",
    "gaussian",
    "uniform",
];

/// Builtins of the other declaration kinds that the runtime provides.
pub const BUILTIN_LOSSES: &[&str] = &["cross_entropy", "mse", "bce", "kl"];
/// Built-in probes.
pub const BUILTIN_PROBES: &[&str] = &["accuracy", "loss", "weight_norm"];
/// Built-in metrics.
pub const BUILTIN_METRICS: &[&str] = &["top_k"];
/// Built-in data sources and transforms.
pub const BUILTIN_DATA: &[&str] = &[
    "modular",
    "gaussian_mixture",
    "teacher_student",
    "two_spirals",
    "idx",
    "cifar10",
    "csv",
    "npy",
    "safetensors",
    "scale",
    "normalize",
];

/// Checks one item. Reads the item's own AST and, through name resolution, only the
/// signatures (and, for experiments, the bodies) of what it uses.
#[salsa::tracked(returns(ref))]
pub fn check_item<'db>(db: &'db dyn Db, item: ItemDef<'db>) -> Vec<HDiag> {
    let ast = item.ast(db).clone();
    let file = item.file(db);
    let key = item.key(db).clone();
    let mut diags = decl_signature(db, item).as_ref().map(|(_, d)| d.clone()).unwrap_or_default();
    match &ast.kind {
        ItemKind::Use(_) => {}
        ItemKind::Decl(d) => diags.extend(check_decl(db, file, &key, d)),
        ItemKind::Optimizer(o) => diags.extend(check_optimizer(db, file, &key, o)),
        ItemKind::Experiment(_) => diags.extend(crate::experiment::elaborate(db, file, &key, &[]).diags),
        ItemKind::Sweep(s) => diags.extend(crate::sweep::check_sweep(db, file, &key, s)),
    }
    diags
}

/// All diagnostics of a file, with absolute spans, in source order.
pub fn file_diagnostics(db: &dyn Db, file: SourceFile) -> Vec<Diagnostic> {
    let path = file.path(db).clone();
    let mut out: Vec<Diagnostic> = crate::items::syntax_errors(db, file)
        .iter()
        .map(|e| {
            let d = Diagnostic::error(Code::SyntaxError, e.message.clone(), path.as_str(), e.span, "here");
            match &e.help {
                Some(h) => d.with_help(h.clone()),
                None => d,
            }
        })
        .collect();
    let mut hdiags: Vec<HDiag> = file_scope(db, file).diags.clone();
    hdiags.extend(import_cycle(db, file));
    hdiags.extend(crate::unused::unused_imports(db, file));
    let items = file_items(db, file);
    for item in items {
        let key = item.key(db);
        if let Some((name, _)) = key.split_once('#').filter(|_| !key.starts_with("use#")) {
            let ast = item.ast(db);
            let span = ast.name().map_or(ast.span, |n| n.span);
            let first = items.iter().find(|i| i.key(db) == name);
            let mut d = HDiag::new(
                Code::DuplicateDefinition,
                format!("`{name}` is defined more than once"),
                Loc { file, item: Some(key.clone()), span },
                "defined again here",
            )
            .with_help("rename one of the definitions");
            if let Some(first) = first {
                let fspan = first.ast(db).name().map_or(first.ast(db).span, |n| n.span);
                d = d.with_secondary(Loc { file, item: Some(name.to_string()), span: fspan }, "first defined here");
            }
            hdiags.push(d);
        }
        hdiags.extend(check_item(db, *item).iter().cloned());
    }
    let mut seen = std::collections::HashSet::new();
    out.extend(hdiags.iter().filter(|d| seen.insert((*d).clone())).map(|d| to_diagnostic(db, d)));
    out.sort_by_key(|d| (d.primary.file.to_string(), d.primary.span.start));
    out
}

fn check_decl(db: &dyn Db, file: SourceFile, key: &str, d: &Decl) -> Vec<HDiag> {
    let at = |span| Loc { file, item: Some(key.to_string()), span };
    if let Body::Builtin(span) = d.body {
        return check_builtin(db, file, key, d, at(span));
    }
    let Body::Expr(body) = &d.body else {
        return vec![];
    };
    match d.kind {
        DeclKind::Fn => {
            let mut cx = ScalarCx::new(db, file, key, Some(&d.name.name));
            for p in d.params.iter().flatten() {
                let ty = match p.ty.as_ref().map(crate::types::ty_of) {
                    Some(Ok(Ty::Bool)) => STy::Bool,
                    _ => STy::Float,
                };
                cx.bind(&p.name.name, ty);
            }
            let t = cx.expr(body);
            if !matches!(t, STy::Float | STy::Unknown) {
                let d = HDiag::new(
                    Code::TypeMismatch,
                    format!("a function must compute a `Float`, found `{t}`"),
                    cx.loc(body.span),
                    "the body's value",
                );
                cx.diags.push(d);
            }
            cx.diags
        }
        DeclKind::Schedule => {
            let mut cx = ScalarCx::new(db, file, key, Some(&d.name.name));
            for p in d.params.iter().flatten() {
                cx.bind(&p.name.name, scalar_ty(p.ty.as_ref()));
            }
            for (n, t) in [
                ("step", STy::Qty(UnitKind::Steps)),
                ("epoch", STy::Qty(UnitKind::Epochs)),
                ("total", STy::Qty(UnitKind::Steps)),
                ("progress", STy::Float),
            ] {
                cx.bind(n, t);
            }
            let t = cx.expr(body);
            if !matches!(t, STy::Float | STy::Unknown) {
                let d = HDiag::new(
                    Code::TypeMismatch,
                    format!("a schedule must compute a plain `Float`, found `{t}`"),
                    cx.loc(body.span),
                    "the schedule's value",
                )
                .with_help("divide by a quantity of the same unit to get a plain number");
                cx.diags.push(d);
            }
            cx.diags
        }
        _ => check_generic(db, file, key, d),
    }
}

fn scalar_ty(t: Option<&exp_syntax::ast::TypeExpr>) -> STy {
    fn conv(t: &Ty) -> STy {
        match t {
            Ty::Bool => STy::Bool,
            Ty::Qty(u) => STy::Qty(*u),
            Ty::Tuple(ts) => STy::Tuple(ts.iter().map(conv).collect()),
            Ty::Optimizer => STy::Optimizer,
            _ => STy::Float,
        }
    }
    match t.map(crate::types::ty_of) {
        Some(Ok(t)) => conv(&t),
        _ => STy::Float,
    }
}

/// A placeholder value for a parameter while a declaration is checked on its own.
fn placeholder(cx: &mut Cx<'_>, p: &ParamInfo, file: SourceFile, key: &str, earlier: &[(String, Val)]) -> Val {
    if let Some(d) = &p.default {
        let v = cx.in_item(file, key, earlier.to_vec(), |cx| cx.eval(d));
        return cx.coerce(v, &p.ty, d.span, &p.name, key);
    }
    match &p.ty {
        Ty::Int => Val::Int(Dim::symbol(&p.name)),
        Ty::Float => Val::Float(1.0),
        Ty::Bool => Val::Bool(false),
        Ty::Block => Val::Block(BlockV::Named(p.name.clone(), Box::new(BlockV::Opaque(p.name.clone())))),
        Ty::List(inner) if **inner == Ty::Block => Val::List(vec![Val::Block(BlockV::Named(
            format!("{}.0", p.name),
            Box::new(BlockV::Opaque(p.name.clone())),
        ))]),
        _ => Val::Unknown,
    }
}

/// Checks a block, data, loss, probe or metric declaration with placeholder arguments; a
/// block with a tensor signature is applied to a symbolic input of that shape.
fn check_generic(db: &dyn Db, file: SourceFile, key: &str, d: &Decl) -> Vec<HDiag> {
    let Some((info, _)) = decl_signature(db, crate::items::lookup(db, file, key).expect("checked item exists")).clone()
    else {
        return vec![];
    };
    let mut cx = Cx::new(db, file, key);
    let mut env = Vec::new();
    for p in info.params.iter().flatten() {
        let v = placeholder(&mut cx, p, file, key, &env);
        env.push((p.name.clone(), v));
    }
    let Body::Expr(body) = &d.body else {
        return vec![];
    };
    cx.env = env;
    let v = cx.eval(body);
    if d.kind == DeclKind::Block {
        let Some(block) = cx.to_block(v, body.span) else {
            return cx.diags;
        };
        if let Some(Signature::Tensor { input, output, .. }) = &d.signature {
            let mut dims = Vec::new();
            for e in input {
                match &e.kind {
                    ExprKind::Name(id) if !cx.env.iter().any(|(n, _)| n == &id.name) => {
                        cx.bind(&id.name, Val::Int(Dim::symbol(&id.name)));
                        dims.push(Dim::symbol(&id.name));
                    }
                    _ => match cx.eval(e) {
                        Val::Int(dim) => dims.push(dim),
                        _ => return cx.diags,
                    },
                }
            }
            let x = cx.graph.push(Node {
                op: NodeOp::Input,
                inputs: vec![],
                params: vec![],
                shape: Shape::new(dims),
                ids: false,
                at: cx.loc(d.name.span),
            });
            let at = cx.loc(d.name.span);
            let out = crate::model::apply(&mut cx, &block, x, at);
            if let Val::Tensor(t) = out {
                let want: Vec<Dim> =
                    output.iter().filter_map(|e| if let Val::Int(d) = cx.eval(e) { Some(d) } else { None }).collect();
                if want.len() == output.len() && Shape::new(want.clone()) != t.shape {
                    let span = output[0].span.cover(output[output.len() - 1].span);
                    let want = Shape::new(want);
                    cx.error(HDiag::new(
                        Code::ShapeMismatch,
                        format!(
                            "the body of `{}` produces `{}`, but its signature declares `{want}`",
                            d.name.name, t.shape
                        ),
                        cx.loc(span),
                        format!("declared `{want}`"),
                    ));
                }
            }
        }
    } else if d.kind == DeclKind::Data && !matches!(v, Val::Data(_) | Val::Unknown) {
        cx.type_error(body.span, "a dataset", &v);
    }
    cx.diags
}

fn check_builtin(db: &dyn Db, file: SourceFile, key: &str, d: &Decl, at: Loc) -> Vec<HDiag> {
    let name = d.name.name.as_str();
    let known = match d.kind {
        DeclKind::Fn => {
            exp_ops::builtin_function(name).is_some()
                || exp_ops::builtin_constant(name).is_some()
                || name == "normal"
                || INITIALIZERS.contains(&name)
        }
        DeclKind::Block => return check_layer_builtin(db, file, key, d, at),
        DeclKind::Loss => BUILTIN_LOSSES.contains(&name),
        DeclKind::Probe => BUILTIN_PROBES.contains(&name),
        DeclKind::Metric => BUILTIN_METRICS.contains(&name),
        DeclKind::Data => BUILTIN_DATA.contains(&name),
        DeclKind::Schedule => false,
    };
    if !known {
        return vec![HDiag::new(
            Code::BuiltinMismatch,
            format!("there is no built-in {} `{name}`", d.kind.keyword()),
            at,
            "declared as builtin",
        )
        .with_help("only the standard library's primitives can be `builtin`; write the body in the language")];
    }
    let params: Vec<&exp_syntax::ast::Param> = d.params.iter().flatten().collect();
    let mut out = Vec::new();
    // Scalar primitives are inlined into kernels by arity: the declaration must match it.
    let arity = match d.kind {
        DeclKind::Fn if name == "normal" => Some((2, true)),
        DeclKind::Fn => exp_ops::builtin_function(name)
            .map(|op| (op.arity(), false))
            .or(exp_ops::builtin_constant(name).map(|_| (0, false))),
        _ => None,
    };
    if let Some((n, defaults)) = arity {
        let has_defaults = params.iter().all(|p| p.default.is_some());
        if params.len() != n || (defaults && !has_defaults) || (!defaults && params.iter().any(|p| p.default.is_some()))
        {
            let want = if defaults {
                format!("{n} parameters with defaults")
            } else {
                format!("{n} parameter(s) without defaults")
            };
            out.push(
                HDiag::new(
                    Code::BuiltinMismatch,
                    format!("the primitive `{name}` takes {want}"),
                    at.clone(),
                    "declared as builtin",
                )
                .with_help(format!("declare it with {want}")),
            );
        }
    }
    // Defaults are values the runtime reads: they must check like any expression.
    let mut cx = Cx::new(db, file, key);
    let info = crate::items::lookup(db, file, key).and_then(|it| decl_signature(db, it).clone()).map(|(i, _)| i);
    for (p, pi) in params.iter().zip(info.iter().flat_map(|i| i.params.iter().flatten())) {
        if let Some(e) = &p.default {
            let v = cx.eval(e);
            cx.coerce(v, &pi.ty, e.span, &pi.name, name);
        }
    }
    out.extend(cx.diags);
    out
}

fn check_layer_builtin(db: &dyn Db, file: SourceFile, key: &str, d: &Decl, at: Loc) -> Vec<HDiag> {
    let name = d.name.name.as_str();
    let Some(spec) = exp_ops::layer_op(name) else {
        return vec![HDiag::new(
            Code::BuiltinMismatch,
            format!("there is no built-in layer `{name}`"),
            at,
            "declared as builtin",
        )
        .with_help(format!(
            "the layers are {}",
            exp_ops::layer_ops().iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
        ))];
    };
    let params: Vec<_> = d.params.iter().flatten().collect();
    let mut out = Vec::new();
    let names: Vec<&str> = params.iter().map(|p| p.name.name.as_str()).collect();
    let want: Vec<&str> = spec.args.iter().map(|a| a.name).collect();
    if names != want {
        out.push(
            HDiag::new(
                Code::BuiltinMismatch,
                format!(
                    "`{name}` declares parameters ({}), but the op table has ({})",
                    names.join(", "),
                    want.join(", ")
                ),
                at,
                "declared as builtin",
            )
            .with_help(format!("declare `block {name}({})`", want.join(", "))),
        );
        return out;
    }
    let mut cx = Cx::new(db, file, key);
    for (p, a) in params.iter().zip(spec.args) {
        let ploc = Loc { file, item: Some(key.to_string()), span: p.span };
        let same_as = matches!((&a.default, p.default.as_ref().map(|e| &e.kind)), (Some(ArgDefault::SameAs(o)), Some(ExprKind::Name(id))) if id.name == *o);
        let default = if same_as { None } else { p.default.as_ref().map(|e| cx.eval(e)) };
        let ok = same_as
            || match (&a.default, &default) {
                (None, None) => true,
                (Some(ArgDefault::Int(i)), Some(Val::Int(d))) => d.as_const() == Some(*i),
                (Some(ArgDefault::Float(x)), Some(Val::Float(y))) => x == y,
                (Some(ArgDefault::Float(x)), Some(Val::Int(d))) => d.as_const().map(|v| v as f64) == Some(*x),
                (Some(ArgDefault::Bool(x)), Some(Val::Bool(y))) => x == y,
                _ => false,
            };
        let kind_ok = match (a.kind, p.ty.as_ref().map(crate::types::ty_of)) {
            (_, None) => true,
            (ArgKind::Int | ArgKind::IntOrPair, Some(Ok(Ty::Int))) => true,
            (ArgKind::Float, Some(Ok(Ty::Float))) => true,
            (ArgKind::Bool, Some(Ok(Ty::Bool))) => true,
            (ArgKind::Ints | ArgKind::IntOrPair, Some(Ok(Ty::Shape))) => true,
            _ => false,
        };
        if !ok || !kind_ok {
            let want = match a.default {
                None => "no default".to_string(),
                Some(ArgDefault::SameAs(o)) => format!("no default (it defaults to `{o}`)"),
                Some(d) => format!("default `{d:?}`"),
            };
            out.push(HDiag::new(
                Code::BuiltinMismatch,
                format!("parameter `{}` of `{name}` disagrees with the op table", a.name),
                ploc,
                format!("the op table says {} with {want}", a.kind),
            ));
        }
    }
    out.extend(cx.diags);
    out
}

fn check_optimizer(db: &dyn Db, file: SourceFile, key: &str, o: &OptimizerDecl) -> Vec<HDiag> {
    let mut cx = ScalarCx::new(db, file, key, None);
    for p in &o.params {
        cx.bind(&p.name.name, scalar_ty(p.ty.as_ref()));
    }
    for (n, t) in [("p", STy::Float), ("g", STy::Float), ("t", STy::Float)] {
        cx.bind(n, t);
    }
    let mut state: Vec<String> = Vec::new();
    for st in &o.body {
        match st {
            OptStmt::State(slots, _) => {
                for (id, init) in slots {
                    let t = cx.expr(init);
                    if !matches!(t, STy::Float | STy::Unknown) {
                        let d = HDiag::new(
                            Code::TypeMismatch,
                            format!("state `{}` must start as a number, found `{t}`", id.name),
                            cx.loc(init.span),
                            "initial value",
                        );
                        cx.diags.push(d);
                    }
                    let taken = state.contains(&id.name)
                        || ["p", "g", "t", "noise"].contains(&id.name.as_str())
                        || o.params.iter().any(|p| p.name.name == id.name);
                    if taken {
                        let d = HDiag::new(
                            Code::DuplicateDefinition,
                            format!("`{}` is already defined in this optimizer", id.name),
                            cx.loc(id.span),
                            "defined again here",
                        )
                        .with_help(
                            "state slots need names of their own, distinct from `p`, `g`, `t` and the hyperparameters",
                        );
                        cx.diags.push(d);
                    }
                    state.push(id.name.clone());
                    cx.bind(&id.name, STy::Float);
                }
            }
            OptStmt::Let(id, e, _) => {
                let t = cx.expr(e);
                cx.bind(&id.name, t);
            }
            OptStmt::Assign(id, e, span) => {
                let t = cx.expr(e);
                if !(id.name == "p" || id.name == "g" || state.contains(&id.name)) {
                    let d = HDiag::new(
                        Code::InvalidAssignment,
                        format!("cannot assign to `{}`", id.name),
                        cx.loc(id.span),
                        "not `p`, `g` or a state slot",
                    )
                    .with_help(if cx.local(&id.name).is_some() {
                        format!("declare it as state (`state {} = 0`) to keep it across steps, or use `let`", id.name)
                    } else {
                        format!("use `let {} = ...` for a local value", id.name)
                    });
                    cx.diags.push(d);
                } else if !matches!(t, STy::Float | STy::Unknown) {
                    let d = HDiag::new(
                        Code::TypeMismatch,
                        format!("`{}` must be assigned a `Float`, found `{t}`", id.name),
                        cx.loc(*span),
                        "assigned here",
                    );
                    cx.diags.push(d);
                }
            }
            OptStmt::Apply(e, _) => {
                let ok = matches!(&e.kind, ExprKind::Name(id) if cx.local(&id.name) == Some(&STy::Optimizer));
                if !ok {
                    let d = HDiag::new(
                        Code::TypeMismatch,
                        "only a wrapped optimizer can be applied as a statement",
                        cx.loc(e.span),
                        "not an `Optimizer` parameter",
                    )
                    .with_help("declare a parameter `base: Optimizer` and write `base` on its own line");
                    cx.diags.push(d);
                }
            }
        }
    }
    cx.diags
}
