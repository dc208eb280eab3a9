//! Name resolution across files: a file's own items, its `use` imports, and the prelude.
//!
//! Resolution reads only [`item_names`] of other files, never their bodies, so editing a
//! body elsewhere does not invalidate any scope.

use std::collections::BTreeMap;

use exp_db::{Db, SourceFile};
use exp_diagnostics::Code;
use exp_syntax::ast::{ItemKind, UseSource};

use crate::diag::{did_you_mean, HDiag, Loc};
use crate::names::items::{file_items, item_names, DefKind};

/// What a name refers to: an item of some file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DefRef {
    /// The defining file.
    pub file: SourceFile,
    /// The item's key in that file.
    pub key: String,
    /// What kind of item it is.
    pub kind: DefKind,
}

/// The names visible at the top level of a file (the prelude aside).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Scope {
    /// Own items and explicit imports; own items shadow imports.
    pub names: BTreeMap<String, DefRef>,
    /// Files imported, in source order (standard-library modules included).
    pub imports: Vec<(SourceFile, String)>,
    /// Problems found in the `use` items.
    pub diags: Vec<HDiag>,
}

/// Resolves the `use` items of a file and builds its scope.
#[salsa::tracked(returns(ref))]
pub fn file_scope(db: &dyn Db, file: SourceFile) -> Scope {
    let mut scope = Scope::default();
    for item in file_items(db, file) {
        let ItemKind::Use(u) = &item.ast(db).kind else {
            continue;
        };
        let at = |span| Loc { file, item: Some(item.key(db).clone()), span };
        let (module, single) = match &u.source {
            UseSource::Path(ids) if u.names.is_none() && !u.glob && ids.len() > 1 => {
                let (last, module) = ids.split_last().expect("len > 1");
                (module.to_vec(), Some(last.clone()))
            }
            UseSource::Path(ids) => (ids.clone(), None),
            UseSource::File(_) => (Vec::new(), None),
        };
        let target = match &u.source {
            UseSource::Path(_) => {
                let name = module.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(".");
                let span = module.first().map(|f| f.span.cover(module.last().unwrap_or(f).span));
                match stdlib_module(db, &name) {
                    Some(f) => f,
                    None => {
                        let mods = stdlib_modules(db);
                        scope.diags.push(
                            HDiag::new(
                                Code::UnknownModule,
                                format!("unknown module `{name}`"),
                                at(span.unwrap_or(item.ast(db).span)),
                                "no such module",
                            )
                            .with_help_opt(
                                did_you_mean(&name, mods.iter().map(String::as_str)).or_else(|| {
                                    Some(format!("the standard library's modules are {}", mods.join(", ")))
                                }),
                            ),
                        );
                        continue;
                    }
                }
            }
            UseSource::File(s) => match relative_file(db, file, &s.value) {
                Some(f) => f,
                None => {
                    scope.diags.push(
                        HDiag::new(
                            Code::UnknownModule,
                            format!("cannot find file `{}`", s.value),
                            at(s.span),
                            "no such file",
                        )
                        .with_help("paths in `use \"...\"` are relative to the importing file"),
                    );
                    continue;
                }
            },
        };
        scope.imports.push((target, item.key(db).clone()));
        let available = item_names(db, target);
        let wanted: Vec<_> = match (&u.names, single) {
            (Some(names), _) => names.clone(),
            (None, Some(one)) => vec![one],
            (None, None) => {
                for (name, kind) in available {
                    scope.names.insert(name.clone(), DefRef { file: target, key: name.clone(), kind: *kind });
                }
                continue;
            }
        };
        for id in wanted {
            match available.get(&id.name) {
                Some(kind) => {
                    scope.names.insert(id.name.clone(), DefRef { file: target, key: id.name.clone(), kind: *kind });
                }
                None => scope.diags.push(
                    HDiag::new(
                        Code::UnknownName,
                        format!(
                            "`{}` is not defined in `{}`",
                            id.name,
                            target.module(db).clone().unwrap_or_else(|| target.path(db).clone())
                        ),
                        at(id.span),
                        "not found in this module",
                    )
                    .with_help_opt(did_you_mean(&id.name, available.keys().map(String::as_str))),
                ),
            }
        }
    }
    for (name, kind) in item_names(db, file) {
        scope.names.insert(name.clone(), DefRef { file, key: name.clone(), kind: *kind });
    }
    scope
}

/// Looks a name up at the top level of `file`: own items, imports, then the prelude.
pub fn resolve(db: &dyn Db, file: SourceFile, name: &str) -> Option<DefRef> {
    if let Some(def) = file_scope(db, file).names.get(name) {
        return Some(def.clone());
    }
    let ws = db.workspace();
    for module in ws.prelude(db) {
        if let Some(target) = stdlib_module(db, module) {
            if let Some(kind) = item_names(db, target).get(name) {
                return Some(DefRef { file: target, key: name.to_string(), kind: *kind });
            }
        }
    }
    None
}

/// Every name visible at the top level of `file`, for suggestions.
pub fn visible_names(db: &dyn Db, file: SourceFile) -> Vec<String> {
    let mut names: Vec<String> = file_scope(db, file).names.keys().cloned().collect();
    let ws = db.workspace();
    for module in ws.prelude(db) {
        if let Some(target) = stdlib_module(db, module) {
            names.extend(item_names(db, target).keys().cloned());
        }
    }
    names
}

/// The help line for an unknown name: a close visible name, or the module that defines it.
pub fn unknown_name_help(db: &dyn Db, file: SourceFile, name: &str, extra: &[String]) -> Option<String> {
    let mut names = visible_names(db, file);
    names.extend(extra.iter().cloned());
    if let Some(help) = did_you_mean(name, names.iter().map(String::as_str)) {
        return Some(help);
    }
    for f in db.workspace().stdlib(db) {
        if item_names(db, *f).contains_key(name) {
            let module = f.module(db).clone().unwrap_or_default();
            return Some(format!("`{name}` is defined in `{module}`: add `use {module}.{name}`"));
        }
    }
    None
}

/// The `unknown-name` diagnostic for `name` at `at`, with the best help line.
pub fn unknown_name(db: &dyn Db, file: SourceFile, name: &str, locals: &[String], at: Loc) -> HDiag {
    let help = unknown_name_help(db, file, name, locals);
    HDiag::new(Code::UnknownName, format!("unknown name `{name}`"), at, "not found in this scope").with_help_opt(help)
}

/// The standard-library file of a module path such as `std.optim`.
pub fn stdlib_module(db: &dyn Db, module: &str) -> Option<SourceFile> {
    db.workspace().stdlib(db).iter().copied().find(|f| f.module(db).as_deref() == Some(module))
}

fn stdlib_modules(db: &dyn Db) -> Vec<String> {
    db.workspace().stdlib(db).iter().filter_map(|f| f.module(db).clone()).collect()
}

/// Joins a relative import path onto the importing file's directory, resolving `.` and `..`.
pub fn join_relative(importer: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = importer.split('/').collect();
    parts.pop();
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != ".." && !p.is_empty()) => {
                parts.pop();
            }
            _ => parts.push(seg),
        }
    }
    parts.join("/")
}

fn relative_file(db: &dyn Db, importer: SourceFile, rel: &str) -> Option<SourceFile> {
    let path = join_relative(importer.path(db), rel);
    db.workspace().files(db).iter().copied().find(|f| f.path(db) == &path)
}

/// The relative files a file imports, as joined paths: what the driver must load.
pub fn relative_imports(db: &dyn Db, file: SourceFile) -> Vec<String> {
    let mut out = Vec::new();
    for item in file_items(db, file) {
        if let ItemKind::Use(u) = &item.ast(db).kind {
            if let UseSource::File(s) = &u.source {
                out.push(join_relative(file.path(db), &s.value));
            }
        }
    }
    out
}

/// Finds an import cycle through `file`, reporting it at the `use` that starts it.
pub fn import_cycle(db: &dyn Db, file: SourceFile) -> Option<HDiag> {
    for (target, key) in &file_scope(db, file).imports {
        let mut path = vec![*target];
        if reaches(db, *target, file, &mut path, 0) {
            let chain: Vec<String> = std::iter::once(file).chain(path).map(|f| format!("`{}`", f.path(db))).collect();
            let item = crate::names::items::lookup(db, file, key)?;
            let span = item.ast(db).span;
            return Some(
                HDiag::new(
                    Code::ImportCycle,
                    "import cycle",
                    Loc { file, item: Some(key.clone()), span },
                    "this import leads back to this file",
                )
                .with_help(format!(
                    "the cycle is {}; move the shared items into a file that both import",
                    chain.join(" -> ")
                )),
            );
        }
    }
    None
}

fn reaches(db: &dyn Db, from: SourceFile, goal: SourceFile, path: &mut Vec<SourceFile>, depth: usize) -> bool {
    if from == goal {
        return true;
    }
    if depth > 64 {
        return false;
    }
    for (next, _) in &file_scope(db, from).imports {
        if path.contains(next) && *next != goal {
            continue;
        }
        path.push(*next);
        if reaches(db, *next, goal, path, depth + 1) {
            return true;
        }
        path.pop();
    }
    false
}

/// Free names in an expression, with spans (the expressions of stop rules are flat).
pub fn names_in(e: &exp_syntax::ast::Expr, out: &mut Vec<(String, exp_syntax::Span)>) {
    use exp_syntax::ast::ExprKind;
    match &e.kind {
        ExprKind::Name(id) => out.push((id.name.clone(), id.span)),
        ExprKind::Unary { expr, .. } => names_in(expr, out),
        ExprKind::Binary { lhs, rhs, .. } => {
            names_in(lhs, out);
            names_in(rhs, out);
        }
        ExprKind::If { cond, then, otherwise } => {
            names_in(cond, out);
            names_in(then, out);
            names_in(otherwise, out);
        }
        ExprKind::Call { args, .. } => args.iter().for_each(|a| names_in(&a.value, out)),
        ExprKind::Tuple(xs) | ExprKind::List(xs) => xs.iter().for_each(|x| names_in(x, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::join_relative;

    #[test]
    fn relative_paths_join_onto_the_importer_directory() {
        assert_eq!(join_relative("examples/a/main.exp", "lib.exp"), "examples/a/lib.exp");
        assert_eq!(join_relative("examples/a/main.exp", "../common/x.exp"), "examples/common/x.exp");
        assert_eq!(join_relative("main.exp", "./x.exp"), "x.exp");
    }
}
