//! `unused-import`: explicitly imported names that no item of the file mentions.

use std::collections::HashSet;

use exp_db::{Db, SourceFile};
use exp_diagnostics::Code;
use exp_syntax::ast::{Body, ExpStmt, Expr, ExprKind, Item, ItemKind, OptStmt, Signature, SweepStmt, UseSource};

use crate::diag::{HDiag, Loc};
use crate::names::items::file_items;

/// One warning per explicitly imported name that the file never uses.
pub fn unused_imports(db: &dyn Db, file: SourceFile) -> Vec<HDiag> {
    let items = file_items(db, file);
    let mut used = HashSet::new();
    for it in items {
        names_of_item(it.ast(db), &mut used);
    }
    let mut out = Vec::new();
    for it in items {
        let ItemKind::Use(u) = &it.ast(db).kind else { continue };
        let names = match (&u.names, &u.source) {
            (Some(names), _) => names.clone(),
            (None, UseSource::Path(ids)) if !u.glob && ids.len() > 1 => vec![ids[ids.len() - 1].clone()],
            _ => continue,
        };
        // Names whose import failed are reported by resolution already.
        let scope = crate::names::scope::file_scope(db, file);
        let imported = |n: &str| scope.names.get(n).is_some_and(|d| d.file != file);
        for id in names.into_iter().filter(|id| !used.contains(&id.name) && imported(&id.name)) {
            let at = Loc { file, item: Some(it.key(db).clone()), span: id.span };
            out.push(
                HDiag::new(Code::UnusedImport, format!("`{}` is imported but never used", id.name), at, "unused")
                    .with_help("remove it from the `use`"),
            );
        }
    }
    out
}

fn names_of_item(item: &Item, out: &mut HashSet<String>) {
    match &item.kind {
        ItemKind::Use(_) => {}
        ItemKind::Decl(d) => {
            for p in d.params.iter().flatten() {
                p.default.iter().for_each(|e| names(e, out));
            }
            if let Some(Signature::Tensor { input, output, .. }) = &d.signature {
                input.iter().chain(output).for_each(|e| names(e, out));
            }
            if let Body::Expr(e) = &d.body {
                names(e, out);
            }
        }
        ItemKind::Optimizer(o) => {
            o.params.iter().filter_map(|p| p.default.as_ref()).for_each(|e| names(e, out));
            for st in &o.body {
                match st {
                    OptStmt::State(slots, _) => slots.iter().for_each(|(_, e)| names(e, out)),
                    OptStmt::Let(_, e, _) | OptStmt::Assign(_, e, _) | OptStmt::Apply(e, _) => names(e, out),
                }
            }
        }
        ItemKind::Experiment(e) => {
            if let Some(b) = &e.extends {
                out.insert(b.name.clone());
            }
            for st in &e.body {
                match st {
                    ExpStmt::Field { value, .. } => names(value, out),
                    ExpStmt::Probes { every, probes, .. } => {
                        names(every, out);
                        probes.iter().for_each(|(_, e)| names(e, out));
                    }
                    ExpStmt::Stop { cond, for_count, .. } => {
                        names(cond, out);
                        for_count.iter().for_each(|e| names(e, out));
                    }
                }
            }
        }
        ItemKind::Sweep(s) => {
            out.insert(s.base.name.clone());
            for st in &s.body {
                match st {
                    SweepStmt::Axis { domain, .. } => names(domain, out),
                    SweepStmt::Setting { value, .. } => names(value, out),
                    SweepStmt::Objective { .. } => {}
                }
            }
        }
    }
}

fn names(e: &Expr, out: &mut HashSet<String>) {
    match &e.kind {
        ExprKind::Name(id) => {
            out.insert(id.name.clone());
        }
        ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Bool(_) | ExprKind::Str(_) => {}
        ExprKind::Quantity { value, .. } => names(value, out),
        ExprKind::Field { base, .. } => names(base, out),
        ExprKind::Index { base, index } => {
            names(base, out);
            names(index, out);
        }
        ExprKind::Call { callee, args } => {
            names(callee, out);
            args.iter().for_each(|a| names(&a.value, out));
        }
        ExprKind::Unary { expr, .. } => names(expr, out),
        ExprKind::Binary { lhs, rhs, .. } | ExprKind::Range { start: lhs, end: rhs } => {
            names(lhs, out);
            names(rhs, out);
        }
        ExprKind::If { cond, then, otherwise } => {
            names(cond, out);
            names(then, out);
            names(otherwise, out);
        }
        ExprKind::Tuple(xs) | ExprKind::List(xs) => xs.iter().for_each(|x| names(x, out)),
        ExprKind::Comprehension { expr, iter, .. } => {
            names(expr, out);
            names(iter, out);
        }
        ExprKind::Lambda { body, .. } => names(body, out),
        ExprKind::Repeat { count, body } => {
            names(count, out);
            names(body, out);
        }
        ExprKind::Block { lets, result } => {
            lets.iter().for_each(|l| names(&l.value, out));
            names(result, out);
        }
    }
}
