//! Per-item checking (`check_item`, one salsa query per item) and the file's diagnostics.

use exp_db::{Db, SourceFile};
use exp_diagnostics::{Code, Diagnostic};
use exp_ops::{Dim, Shape};
use exp_syntax::ast::{Body, Decl, DeclKind, ExprKind, ItemKind, Signature};

use crate::diag::{to_diagnostic, HDiag, Loc};
use crate::eval::value::{BlockV, Val};
use crate::eval::Cx;
use crate::model::graph::{Node, NodeOp};
use crate::names::decls::{decl_signature, ParamInfo};
use crate::names::items::{file_items, ItemDef};
use crate::names::scope::{file_scope, import_cycle};
use crate::types::Ty;

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
        ItemKind::Optimizer(_) => diags.extend(crate::scalar::item_diags(db, item).unwrap_or_default()),
        ItemKind::Experiment(_) => diags.extend(crate::experiment::elaborated(db, item).diags.iter().cloned()),
        ItemKind::Sweep(s) => diags.extend(crate::experiment::sweep::check_sweep(db, file, &key, s)),
    }
    diags
}

/// All diagnostics of a file, with absolute spans, in source order.
pub fn file_diagnostics(db: &dyn Db, file: SourceFile) -> Vec<Diagnostic> {
    file_diagnostics_except(db, file, None)
}

/// The diagnostics of a file but those of the item `skip` (an experiment run with
/// command-line overrides, whose diagnostics come from its elaboration with them).
pub fn file_diagnostics_except(db: &dyn Db, file: SourceFile, skip: Option<&str>) -> Vec<Diagnostic> {
    let path = file.path(db).clone();
    let mut out: Vec<Diagnostic> = crate::names::items::syntax_errors(db, file)
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
    hdiags.extend(crate::names::unused::unused_imports(db, file));
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
        if skip != Some(key.as_str()) {
            hdiags.extend(check_item(db, *item).iter().cloned());
        }
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
    match d.kind {
        DeclKind::Fn | DeclKind::Schedule => match crate::names::items::lookup(db, file, key) {
            Some(item) => crate::scalar::item_diags(db, item).unwrap_or_default(),
            None => vec![],
        },
        _ => check_generic(db, file, key, d),
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
    let Some((info, _)) =
        decl_signature(db, crate::names::items::lookup(db, file, key).expect("checked item exists")).clone()
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
    crate::model::builtin::check_declaration(db, file, key, d, at)
}
