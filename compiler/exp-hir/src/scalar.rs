//! Checking of scalar code: `fn` bodies, optimizer update rules and schedules.
//!
//! Scalar code computes one number per element (or per step, for schedules). Its types are
//! `Float`, `Bool`, tuples of them, and quantities with units, so that `step < warmup`
//! checks while `step < 5 epochs` is a unit mismatch.

use exp_db::{Db, SourceFile};
use exp_diagnostics::Code;
use exp_syntax::ast::{BinOp, DeclKind, Expr, ExprKind, ItemKind, UnOp};
use exp_syntax::Span;

use crate::diag::{HDiag, Loc};
use crate::items::{lookup, DefKind};
use crate::scope::resolve;
use crate::types::UnitKind;

/// The type of a scalar value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum STy {
    /// A plain number.
    Float,
    /// A truth value.
    Bool,
    /// A number with a unit.
    Qty(UnitKind),
    /// A tuple, such as `betas`.
    Tuple(Vec<STy>),
    /// A wrapped optimizer, usable only as a statement (`base`).
    Optimizer,
    /// After an error: accepted everywhere so one mistake gives one diagnostic.
    Unknown,
}

impl std::fmt::Display for STy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            STy::Float => write!(f, "Float"),
            STy::Bool => write!(f, "Bool"),
            STy::Qty(u) => write!(f, "{}", u.type_name()),
            STy::Tuple(ts) => {
                let parts: Vec<String> = ts.iter().map(|t| t.to_string()).collect();
                write!(f, "({})", parts.join(", "))
            }
            STy::Optimizer => write!(f, "Optimizer"),
            STy::Unknown => write!(f, "_"),
        }
    }
}

/// A checking context for one scalar body.
pub struct ScalarCx<'a> {
    db: &'a dyn Db,
    file: SourceFile,
    item: String,
    /// The item being checked, to report recursion.
    self_name: Option<String>,
    env: Vec<(String, STy)>,
    /// Problems found so far.
    pub diags: Vec<HDiag>,
}

impl<'a> ScalarCx<'a> {
    /// A context for the item `item` of `file`.
    pub fn new(db: &'a dyn Db, file: SourceFile, item: &str, self_name: Option<&str>) -> ScalarCx<'a> {
        ScalarCx {
            db,
            file,
            item: item.to_string(),
            self_name: self_name.map(str::to_string),
            env: Vec::new(),
            diags: Vec::new(),
        }
    }

    /// A location in the item being checked.
    pub fn loc(&self, span: Span) -> Loc {
        Loc { file: self.file, item: Some(self.item.clone()), span }
    }

    /// Binds a local name (the most recent binding wins).
    pub fn bind(&mut self, name: &str, ty: STy) {
        self.env.push((name.to_string(), ty));
    }

    /// The type of a local name.
    pub fn local(&self, name: &str) -> Option<&STy> {
        self.env.iter().rev().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    fn error(&mut self, d: HDiag) -> STy {
        self.diags.push(d);
        STy::Unknown
    }

    /// Checks an expression and returns its type.
    pub fn expr(&mut self, e: &Expr) -> STy {
        match &e.kind {
            ExprKind::Int(_) | ExprKind::Float(_) => STy::Float,
            ExprKind::Bool(_) => STy::Bool,
            ExprKind::Quantity { unit, .. } => STy::Qty(UnitKind::of(*unit)),
            ExprKind::Name(id) => self.name(&id.name, id.span),
            ExprKind::Field { base, field } => self.field(base, field),
            ExprKind::Call { callee, args } => self.call(e, callee, args),
            ExprKind::Unary { op, expr } => {
                let t = self.expr(expr);
                match (op, &t) {
                    (_, STy::Unknown) => STy::Unknown,
                    (UnOp::Neg, STy::Float | STy::Qty(_)) => t,
                    (UnOp::Not, STy::Bool) => STy::Bool,
                    (UnOp::Neg, _) => self.mismatch(expr.span, "a number", &t),
                    (UnOp::Not, _) => self.mismatch(expr.span, "`Bool`", &t),
                }
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(e.span, *op, lhs, rhs),
            ExprKind::If { cond, then, otherwise } => {
                let c = self.expr(cond);
                if !matches!(c, STy::Bool | STy::Unknown) {
                    self.mismatch(cond.span, "`Bool`", &c);
                }
                let a = self.expr(then);
                let b = self.expr(otherwise);
                self.join(a, b, otherwise.span)
            }
            ExprKind::Tuple(items) => STy::Tuple(items.iter().map(|x| self.expr(x)).collect()),
            ExprKind::Block { lets, result } => {
                let mark = self.env.len();
                for l in lets {
                    let t = self.expr(&l.value);
                    self.bind(&l.name.name, t);
                }
                let t = self.expr(result);
                self.env.truncate(mark);
                t
            }
            ExprKind::Str(_)
            | ExprKind::Index { .. }
            | ExprKind::List(_)
            | ExprKind::Range { .. }
            | ExprKind::Comprehension { .. }
            | ExprKind::Lambda { .. }
            | ExprKind::Repeat { .. } => self.error(
                HDiag::new(Code::TypeMismatch, "this is not a scalar expression", self.loc(e.span), "not allowed here")
                    .with_help("scalar code (functions, update rules, schedules) computes one number from numbers"),
            ),
        }
    }

    fn mismatch(&mut self, span: Span, expected: &str, found: &STy) -> STy {
        let d = HDiag::new(
            Code::TypeMismatch,
            format!("expected {expected}, found `{found}`"),
            self.loc(span),
            format!("this is `{found}`"),
        );
        self.error(d)
    }

    fn join(&mut self, a: STy, b: STy, span: Span) -> STy {
        match (&a, &b) {
            (STy::Unknown, _) => b,
            (_, STy::Unknown) => a,
            _ if a == b => a,
            (STy::Qty(x), STy::Qty(y)) => self.unit_mismatch(span, *x, *y),
            _ => self.mismatch(span, &format!("`{a}` like the other branch"), &b),
        }
    }

    fn unit_mismatch(&mut self, span: Span, a: UnitKind, b: UnitKind) -> STy {
        let d = HDiag::new(
            Code::UnitMismatch,
            format!("`{}` and `{}` cannot be combined", a.type_name(), b.type_name()),
            self.loc(span),
            format!("this is in {}", b.word()),
        )
        .with_help(format!("express both in {}", a.word()));
        self.error(d)
    }

    fn name(&mut self, name: &str, span: Span) -> STy {
        if let Some(t) = self.local(name) {
            return t.clone();
        }
        match resolve(self.db, self.file, name) {
            Some(def) if def.kind == DefKind::Fn => {
                let n = fn_arity(self.db, def.file, &def.key);
                if n == 0 {
                    STy::Float
                } else {
                    self.error(
                        HDiag::new(
                            Code::TypeMismatch,
                            format!("`{name}` is a function, not a number"),
                            self.loc(span),
                            "call it here",
                        )
                        .with_help(format!("write `{name}(...)` with {n} argument(s)")),
                    )
                }
            }
            Some(def) => self.error(HDiag::new(
                Code::TypeMismatch,
                format!("`{name}` is a {}, which cannot be used in scalar code", def.kind.keyword()),
                self.loc(span),
                "not a number",
            )),
            None => {
                let locals: Vec<String> = self.env.iter().map(|(n, _)| n.clone()).collect();
                let d = crate::scope::unknown_name(self.db, self.file, name, &locals, self.loc(span));
                self.error(d)
            }
        }
    }

    fn field(&mut self, base: &Expr, field: &exp_syntax::ast::Ident) -> STy {
        match self.expr(base) {
            STy::Unknown => STy::Unknown,
            STy::Tuple(items) => match field.name.parse::<usize>().ok().and_then(|i| items.get(i).cloned()) {
                Some(t) => t,
                None => self.error(
                    HDiag::new(
                        Code::UnknownField,
                        format!("no field `{}` on a {}-tuple", field.name, items.len()),
                        self.loc(field.span),
                        "unknown field",
                    )
                    .with_help(format!("tuple fields are `.0` to `.{}`", items.len().saturating_sub(1))),
                ),
            },
            other => self.error(HDiag::new(
                Code::UnknownField,
                format!("`{other}` has no field `{}`", field.name),
                self.loc(field.span),
                "unknown field",
            )),
        }
    }

    fn call(&mut self, e: &Expr, callee: &Expr, args: &[exp_syntax::ast::Arg]) -> STy {
        let ExprKind::Name(id) = &callee.kind else {
            return self.error(HDiag::new(
                Code::NotCallable,
                "only functions can be called in scalar code",
                self.loc(callee.span),
                "not a function",
            ));
        };
        for a in args {
            let t = self.expr(&a.value);
            if !matches!(t, STy::Float | STy::Bool | STy::Unknown) {
                self.mismatch(a.value.span, "a number", &t);
            }
        }
        if self.local(&id.name).is_some() {
            return self.error(HDiag::new(
                Code::NotCallable,
                format!("`{}` is a value, not a function", id.name),
                self.loc(callee.span),
                "not a function",
            ));
        }
        let direct = self.self_name.as_deref() == Some(id.name.as_str());
        if direct || self.reaches_self(&id.name) {
            let me = self.self_name.clone().unwrap_or_default();
            let msg = if direct {
                format!("`{me}` calls itself")
            } else {
                format!("`{me}` calls itself through `{}`", id.name)
            };
            return self.error(
                HDiag::new(Code::RecursiveDefinition, msg, self.loc(e.span), "recursive call")
                    .with_help("functions are expanded inline into kernels, so they cannot be recursive"),
            );
        }
        let Some(def) = resolve(self.db, self.file, &id.name) else {
            return self.name(&id.name, id.span);
        };
        if def.kind != DefKind::Fn {
            return self.error(HDiag::new(
                Code::NotCallable,
                format!("`{}` is a {}, not a scalar function", id.name, def.kind.keyword()),
                self.loc(callee.span),
                "not a function",
            ));
        }
        let Some(params) = fn_params(self.db, def.file, &def.key) else {
            return STy::Float;
        };
        let mut filled = vec![false; params.len()];
        let mut positional = 0;
        for a in args {
            let idx = match &a.name {
                Some(n) => match params.iter().position(|(p, _)| *p == n.name) {
                    Some(i) => i,
                    None => {
                        let help = crate::diag::did_you_mean(&n.name, params.iter().map(|(p, _)| p.as_str()));
                        self.error(
                            HDiag::new(
                                Code::UnknownArgument,
                                format!("`{}` has no parameter `{}`", id.name, n.name),
                                self.loc(n.span),
                                "unknown argument",
                            )
                            .with_help_opt(help),
                        );
                        continue;
                    }
                },
                None => {
                    positional += 1;
                    positional - 1
                }
            };
            match filled.get_mut(idx) {
                Some(slot) if !*slot => *slot = true,
                Some(_) => {
                    self.error(HDiag::new(
                        Code::DuplicateArgument,
                        format!("`{}` is given twice", params[idx].0),
                        self.loc(a.span),
                        "given again here",
                    ));
                }
                None => {
                    self.error(
                        HDiag::new(
                            Code::WrongArity,
                            format!("`{}` takes {} argument(s), found {}", id.name, params.len(), positional),
                            self.loc(a.span),
                            "extra argument",
                        )
                        .with_help(format!(
                            "the parameters are ({})",
                            params.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>().join(", ")
                        )),
                    );
                }
            }
        }
        for (i, (p, has_default)) in params.iter().enumerate() {
            if !filled[i] && !has_default {
                self.error(HDiag::new(
                    Code::MissingArgument,
                    format!("missing argument `{p}` of `{}`", id.name),
                    self.loc(e.span),
                    format!("`{p}` is not given"),
                ));
            }
        }
        STy::Float
    }

    /// Whether calling `name` leads back to the function being checked (indirect recursion,
    /// which inlining could never finish).
    fn reaches_self(&self, name: &str) -> bool {
        let Some(me) = self.self_name.as_deref() else { return false };
        let mut stack = vec![(self.file, name.to_string())];
        let mut seen: Vec<(SourceFile, String)> = Vec::new();
        while let Some((file, n)) = stack.pop() {
            let Some(def) = resolve(self.db, file, &n) else { continue };
            if def.kind != DefKind::Fn || seen.iter().any(|(f, k)| *f == def.file && *k == def.key) || seen.len() > 256
            {
                continue;
            }
            if def.file == self.file && def.key == me && !seen.is_empty() {
                return true;
            }
            seen.push((def.file, def.key.clone()));
            let Some(item) = lookup(self.db, def.file, &def.key) else { continue };
            if let ItemKind::Decl(d) = &item.ast(self.db).kind {
                if let exp_syntax::ast::Body::Expr(body) = &d.body {
                    let params: Vec<&str> = d.params.iter().flatten().map(|p| p.name.name.as_str()).collect();
                    let mut names = Vec::new();
                    crate::probes::names_in(body, &mut names);
                    callees(body, &mut names);
                    for (callee, _) in names.into_iter().filter(|(c, _)| !params.contains(&c.as_str())) {
                        if def.file == self.file && callee == me {
                            return true;
                        }
                        stack.push((def.file, callee));
                    }
                }
            }
        }
        false
    }

    fn binary(&mut self, span: Span, op: BinOp, lhs: &Expr, rhs: &Expr) -> STy {
        let a = self.expr(lhs);
        let b = self.expr(rhs);
        if matches!(a, STy::Unknown) || matches!(b, STy::Unknown) {
            return if is_comparison(op) || matches!(op, BinOp::And | BinOp::Or) { STy::Bool } else { STy::Unknown };
        }
        use STy::*;
        match op {
            BinOp::And | BinOp::Or => {
                for (t, e) in [(&a, lhs), (&b, rhs)] {
                    if *t != Bool {
                        self.mismatch(e.span, "`Bool`", t);
                    }
                }
                Bool
            }
            _ if is_comparison(op) => match (&a, &b) {
                (Float, Float) | (Bool, Bool) => Bool,
                (Qty(x), Qty(y)) if x == y => Bool,
                (Qty(x), Qty(y)) => {
                    self.unit_mismatch(rhs.span, *x, *y);
                    Bool
                }
                (Qty(u), Float) | (Float, Qty(u)) => {
                    let at = if matches!(a, Float) { lhs.span } else { rhs.span };
                    self.error(
                        HDiag::new(
                            Code::UnitMismatch,
                            format!("cannot compare `{}` with a plain number", u.type_name()),
                            self.loc(at),
                            "this number has no unit",
                        )
                        .with_help(format!("give the number a unit, e.g. `100 {}`", u.word())),
                    );
                    Bool
                }
                _ => self.mismatch(rhs.span, &format!("`{a}`"), &b),
            },
            BinOp::Add | BinOp::Sub => match (&a, &b) {
                (Float, Float) => Float,
                (Qty(x), Qty(y)) if x == y => Qty(*x),
                (Qty(x), Qty(y)) => self.unit_mismatch(span, *x, *y),
                (Qty(u), Float) | (Float, Qty(u)) => self.error(
                    HDiag::new(
                        Code::UnitMismatch,
                        format!("cannot add a plain number to `{}`", u.type_name()),
                        self.loc(span),
                        "mixes a unit with a plain number",
                    )
                    .with_help(format!("give the number a unit, e.g. `100 {}`", u.word())),
                ),
                _ => self.arith_mismatch(span, op, &a, &b),
            },
            BinOp::Mul => match (&a, &b) {
                (Float, Float) => Float,
                (Qty(u), Float) | (Float, Qty(u)) => Qty(*u),
                (Qty(x), Qty(y)) => self.error(
                    HDiag::new(
                        Code::UnitMismatch,
                        format!("cannot multiply `{}` by `{}`", x.type_name(), y.type_name()),
                        self.loc(span),
                        "product of two quantities",
                    )
                    .with_help("divide quantities of the same unit to get a plain number"),
                ),
                _ => self.arith_mismatch(span, op, &a, &b),
            },
            BinOp::Div => match (&a, &b) {
                (Float, Float) => Float,
                (Qty(x), Qty(y)) if x == y => Float,
                (Qty(u), Float) => Qty(*u),
                (Qty(x), Qty(y)) => self.unit_mismatch(span, *x, *y),
                (Float, Qty(u)) => self.error(
                    HDiag::new(
                        Code::UnitMismatch,
                        format!("cannot divide a plain number by `{}`", u.type_name()),
                        self.loc(span),
                        "per-unit values are not supported",
                    )
                    .with_help("divide two quantities of the same unit to get a plain number"),
                ),
                _ => self.arith_mismatch(span, op, &a, &b),
            },
            BinOp::Rem | BinOp::Pow => match (&a, &b) {
                (Float, Float) => Float,
                (Qty(u), Qty(v)) if op == BinOp::Rem && u == v => Qty(*u),
                _ => self.arith_mismatch(span, op, &a, &b),
            },
            BinOp::Then | BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                self.error(HDiag::new(
                    Code::TypeMismatch,
                    "`>>` composes blocks and cannot be used in scalar code",
                    self.loc(span),
                    "not a scalar operator",
                ))
            }
        }
    }

    fn arith_mismatch(&mut self, span: Span, op: BinOp, a: &STy, b: &STy) -> STy {
        let code =
            if matches!((a, b), (STy::Qty(_), _) | (_, STy::Qty(_))) { Code::UnitMismatch } else { Code::TypeMismatch };
        self.error(HDiag::new(
            code,
            format!("cannot apply `{}` to `{a}` and `{b}`", op.text()),
            self.loc(span),
            "unsupported operands",
        ))
    }
}

fn is_comparison(op: BinOp) -> bool {
    matches!(op, BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge)
}

/// Parameter names of a `fn` declaration, with whether each has a default.
pub fn fn_params(db: &dyn Db, file: SourceFile, key: &str) -> Option<Vec<(String, bool)>> {
    let item = lookup(db, file, key)?;
    let ItemKind::Decl(d) = &item.ast(db).kind else {
        return None;
    };
    if d.kind != DeclKind::Fn {
        return None;
    }
    Some(d.params.iter().flatten().map(|p| (p.name.name.clone(), p.default.is_some())).collect())
}

fn fn_arity(db: &dyn Db, file: SourceFile, key: &str) -> usize {
    fn_params(db, file, key).map_or(0, |ps| ps.iter().filter(|(_, d)| !d).count())
}

/// The names called in an expression (callees are not in `names_in`, which collects values).
fn callees(e: &Expr, out: &mut Vec<(String, Span)>) {
    match &e.kind {
        ExprKind::Call { callee, args } => {
            if let ExprKind::Name(id) = &callee.kind {
                out.push((id.name.clone(), id.span));
            }
            args.iter().for_each(|a| callees(&a.value, out));
        }
        ExprKind::Unary { expr, .. } => callees(expr, out),
        ExprKind::Binary { lhs, rhs, .. } => {
            callees(lhs, out);
            callees(rhs, out);
        }
        ExprKind::If { cond, then, otherwise } => {
            callees(cond, out);
            callees(then, out);
            callees(otherwise, out);
        }
        ExprKind::Block { lets, result } => {
            lets.iter().for_each(|l| callees(&l.value, out));
            callees(result, out);
        }
        ExprKind::Tuple(xs) => xs.iter().for_each(|x| callees(x, out)),
        _ => {}
    }
}
