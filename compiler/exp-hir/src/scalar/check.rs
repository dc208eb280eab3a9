//! Checking of scalar code: `fn` bodies, optimizer update rules, schedules, derived probes
//! and stop conditions.
//!
//! Scalar code computes one number per element (or per step, for schedules). Its types are
//! `Float`, `Bool`, tuples of them, and quantities with units, so that `step < warmup`
//! checks while `step < 5 epochs` is a unit mismatch. The walk that checks an expression
//! also resolves it ([`SExpr`]), so lowering never looks a name up again.

use exp_db::{Db, SourceFile};
use exp_diagnostics::Code;
use exp_syntax::ast::{BinOp, DeclKind, Expr, ExprKind, ItemKind, UnOp, Unit};
use exp_syntax::Span;

use exp_ops::{ScalarFn, ScalarOp};

use super::resolved::SExpr;
use super::Builtin;
use crate::diag::{HDiag, Loc};
use crate::names::items::{lookup, DefKind};
use crate::names::scope::resolve;
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

    fn error(&mut self, d: HDiag) -> (STy, SExpr) {
        self.diags.push(d);
        (STy::Unknown, SExpr::Error)
    }

    /// Checks an expression; returns its type and its resolved form.
    pub fn expr(&mut self, e: &Expr) -> (STy, SExpr) {
        match &e.kind {
            ExprKind::Int(i) => (STy::Float, SExpr::Num(*i as f64)),
            ExprKind::Float(x) => (STy::Float, SExpr::Num(*x)),
            ExprKind::Bool(b) => (STy::Bool, SExpr::Num(if *b { 1.0 } else { 0.0 })),
            ExprKind::Quantity { value, unit } => {
                let x = match value.kind {
                    ExprKind::Int(i) => i as f64,
                    ExprKind::Float(x) => x,
                    _ => f64::NAN,
                };
                let scale = if let Unit::Bytes(k) = unit { 1024f64.powi((*k).min(3) as i32) } else { 1.0 };
                (STy::Qty(UnitKind::of(*unit)), SExpr::Num(x * scale))
            }
            ExprKind::Name(id) => self.name(&id.name, id.span),
            ExprKind::Field { base, field } => self.field(base, field),
            ExprKind::Call { callee, args } => self.call(e, callee, args),
            ExprKind::Unary { op, expr } => {
                let (t, x) = self.expr(expr);
                let out = |t| match op {
                    UnOp::Neg => (t, SExpr::Op(ScalarOp::Neg, vec![x.clone()])),
                    UnOp::Not => (t, SExpr::Op(ScalarOp::Not, vec![x.clone()])),
                };
                match (op, &t) {
                    (_, STy::Unknown) => (STy::Unknown, SExpr::Error),
                    (UnOp::Neg, STy::Float | STy::Qty(_)) => out(t.clone()),
                    (UnOp::Not, STy::Bool) => out(STy::Bool),
                    (UnOp::Neg, _) => self.mismatch(expr.span, "a number", &t),
                    (UnOp::Not, _) => self.mismatch(expr.span, "`Bool`", &t),
                }
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(e.span, *op, lhs, rhs),
            ExprKind::If { cond, then, otherwise } => {
                let (c, ce) = self.expr(cond);
                if !matches!(c, STy::Bool | STy::Unknown) {
                    self.mismatch(cond.span, "`Bool`", &c);
                }
                let (a, ae) = self.expr(then);
                let (b, be) = self.expr(otherwise);
                let (t, _) = self.join(a, b, otherwise.span);
                (t, SExpr::Op(ScalarOp::Select, vec![ce, ae, be]))
            }
            ExprKind::Tuple(items) => {
                let (tys, xs): (Vec<STy>, Vec<SExpr>) = items.iter().map(|x| self.expr(x)).unzip();
                (STy::Tuple(tys), SExpr::Tuple(xs))
            }
            ExprKind::Block { lets, result } => {
                let mark = self.env.len();
                let mut bound = Vec::new();
                for l in lets {
                    let (t, v) = self.expr(&l.value);
                    self.bind(&l.name.name, t);
                    bound.push((l.name.name.clone(), v));
                }
                let (t, mut body) = self.expr(result);
                self.env.truncate(mark);
                for (name, v) in bound.into_iter().rev() {
                    body = SExpr::Let(name, Box::new(v), Box::new(body));
                }
                (t, body)
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

    fn mismatch(&mut self, span: Span, expected: &str, found: &STy) -> (STy, SExpr) {
        let d = HDiag::new(
            Code::TypeMismatch,
            format!("expected {expected}, found `{found}`"),
            self.loc(span),
            format!("this is `{found}`"),
        );
        self.error(d)
    }

    fn join(&mut self, a: STy, b: STy, span: Span) -> (STy, SExpr) {
        match (&a, &b) {
            (STy::Unknown, _) => (b, SExpr::Error),
            (_, STy::Unknown) => (a, SExpr::Error),
            _ if a == b => (a, SExpr::Error),
            (STy::Qty(x), STy::Qty(y)) => self.unit_mismatch(span, *x, *y),
            _ => self.mismatch(span, &format!("`{a}` like the other branch"), &b),
        }
    }

    fn unit_mismatch(&mut self, span: Span, a: UnitKind, b: UnitKind) -> (STy, SExpr) {
        let d = HDiag::new(
            Code::UnitMismatch,
            format!("`{}` and `{}` cannot be combined", a.type_name(), b.type_name()),
            self.loc(span),
            format!("this is in {}", b.word()),
        )
        .with_help(format!("express both in {}", a.word()));
        self.error(d)
    }

    fn name(&mut self, name: &str, span: Span) -> (STy, SExpr) {
        if let Some(t) = self.local(name) {
            return (t.clone(), SExpr::Local(name.to_string()));
        }
        match resolve(self.db, self.file, name) {
            Some(def) if def.kind == DefKind::Fn => {
                let n = fn_arity(self.db, def.file, &def.key);
                if n == 0 {
                    let f = self.callee(&def);
                    (STy::Float, f.map_or(SExpr::Error, |f| SExpr::Call(f, Vec::new())))
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
                let d = crate::names::scope::unknown_name(self.db, self.file, name, &locals, self.loc(span));
                self.error(d)
            }
        }
    }

    /// The resolved definition of a function called from here, if it has no errors of its
    /// own (those are reported on it).
    fn callee(&self, def: &crate::names::scope::DefRef) -> Option<std::sync::Arc<super::ScalarFnDef>> {
        let item = lookup(self.db, def.file, &def.key)?;
        super::scalar_fn(self.db, item).as_ref().map(|r| r.def.clone()).filter(|d| !d.has_error())
    }

    fn field(&mut self, base: &Expr, field: &exp_syntax::ast::Ident) -> (STy, SExpr) {
        match self.expr(base) {
            (STy::Unknown, _) => (STy::Unknown, SExpr::Error),
            (STy::Tuple(items), x) => {
                match field.name.parse::<usize>().ok().and_then(|i| Some((i, items.get(i)?.clone()))) {
                    Some((i, t)) => (t, SExpr::Field(Box::new(x), i)),
                    None => self.error(
                        HDiag::new(
                            Code::UnknownField,
                            format!("no field `{}` on a {}-tuple", field.name, items.len()),
                            self.loc(field.span),
                            "unknown field",
                        )
                        .with_help(format!("tuple fields are `.0` to `.{}`", items.len().saturating_sub(1))),
                    ),
                }
            }
            (other, _) => self.error(HDiag::new(
                Code::UnknownField,
                format!("`{other}` has no field `{}`", field.name),
                self.loc(field.span),
                "unknown field",
            )),
        }
    }

    fn call(&mut self, e: &Expr, callee: &Expr, args: &[exp_syntax::ast::Arg]) -> (STy, SExpr) {
        let ExprKind::Name(id) = &callee.kind else {
            return self.error(HDiag::new(
                Code::NotCallable,
                "only functions can be called in scalar code",
                self.loc(callee.span),
                "not a function",
            ));
        };
        let mut values = Vec::new();
        for a in args {
            let (t, v) = self.expr(&a.value);
            if !matches!(t, STy::Float | STy::Bool | STy::Unknown) {
                self.mismatch(a.value.span, "a number", &t);
            }
            values.push(v);
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
            return (STy::Float, SExpr::Error);
        };
        let Some(given) = self.bind_args(&id.name, e.span, &params, args, values) else {
            return (STy::Unknown, SExpr::Error);
        };
        let builtin = super::builtin_fn(self.db, &def);
        let by_param = |given: Vec<(usize, SExpr)>| {
            let mut slots: Vec<Option<SExpr>> = vec![None; params.len()];
            for (i, v) in given {
                slots[i] = Some(v);
            }
            slots
        };
        match builtin {
            Some(Builtin::Primitive(ScalarFn::Op(op))) => {
                let operands: Option<Vec<SExpr>> = by_param(given).into_iter().collect();
                (STy::Float, operands.map_or(SExpr::Error, |xs| SExpr::Op(op, xs)))
            }
            Some(Builtin::Primitive(ScalarFn::Normal)) => (STy::Float, normal(by_param(given))),
            Some(Builtin::Other(kind)) => self.error(
                HDiag::new(
                    Code::NotCallable,
                    format!("`{}` is {} {}, not a scalar function", id.name, article(kind.noun()), kind.noun()),
                    self.loc(callee.span),
                    "not a scalar function",
                )
                .with_help("initializers are chosen with an experiment's `init = ...`"),
            ),
            None => (STy::Float, self.callee(&def).map_or(SExpr::Error, |f| SExpr::Call(f, given))),
        }
    }

    /// Matches written arguments to parameters, reporting unknown, repeated, extra and
    /// missing ones; the written values in written order with their parameter's index, or
    /// `None` after an error.
    fn bind_args(
        &mut self,
        callee: &str,
        span: Span,
        params: &[(String, bool)],
        args: &[exp_syntax::ast::Arg],
        values: Vec<SExpr>,
    ) -> Option<Vec<(usize, SExpr)>> {
        let errors = self.diags.len();
        let mut given: Vec<(usize, SExpr)> = Vec::new();
        let mut positional = 0;
        for (a, v) in args.iter().zip(values) {
            let idx = match &a.name {
                Some(n) => match params.iter().position(|(p, _)| *p == n.name) {
                    Some(i) => i,
                    None => {
                        let help = crate::diag::did_you_mean(&n.name, params.iter().map(|(p, _)| p.as_str()));
                        self.error(
                            HDiag::new(
                                Code::UnknownArgument,
                                format!("`{callee}` has no parameter `{}`", n.name),
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
            match params.get(idx) {
                Some(_) if !given.iter().any(|(i, _)| *i == idx) => given.push((idx, v)),
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
                            format!("`{callee}` takes {} argument(s), found {}", params.len(), positional),
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
            if !given.iter().any(|(j, _)| *j == i) && !has_default {
                self.error(HDiag::new(
                    Code::MissingArgument,
                    format!("missing argument `{p}` of `{callee}`"),
                    self.loc(span),
                    format!("`{p}` is not given"),
                ));
            }
        }
        (self.diags.len() == errors).then_some(given)
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
                    crate::names::scope::names_in(body, &mut names);
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

    fn binary(&mut self, span: Span, op: BinOp, lhs: &Expr, rhs: &Expr) -> (STy, SExpr) {
        let (a, x) = self.expr(lhs);
        let (b, y) = self.expr(rhs);
        let t = self.binary_type(span, op, (a, lhs), (b, rhs));
        (t, binary_expr(op, x, y))
    }

    /// The type of `lhs op rhs` from the operands' types.
    fn binary_type(&mut self, span: Span, op: BinOp, (a, lhs): (STy, &Expr), (b, rhs): (STy, &Expr)) -> STy {
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
                    self.err(
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
                _ => self.mismatch(rhs.span, &format!("`{a}`"), &b).0,
            },
            BinOp::Add | BinOp::Sub => match (&a, &b) {
                (Float, Float) => Float,
                (Qty(x), Qty(y)) if x == y => Qty(*x),
                (Qty(x), Qty(y)) => self.unit_mismatch(span, *x, *y).0,
                (Qty(u), Float) | (Float, Qty(u)) => self.err(
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
                (Qty(x), Qty(y)) => self.err(
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
                (Qty(x), Qty(y)) => self.unit_mismatch(span, *x, *y).0,
                (Float, Qty(u)) => self.err(
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
                self.err(HDiag::new(
                    Code::TypeMismatch,
                    "`>>` composes blocks and cannot be used in scalar code",
                    self.loc(span),
                    "not a scalar operator",
                ))
            }
        }
    }

    fn err(&mut self, d: HDiag) -> STy {
        self.error(d).0
    }

    fn arith_mismatch(&mut self, span: Span, op: BinOp, a: &STy, b: &STy) -> STy {
        let code =
            if matches!((a, b), (STy::Qty(_), _) | (_, STy::Qty(_))) { Code::UnitMismatch } else { Code::TypeMismatch };
        self.err(HDiag::new(
            code,
            format!("cannot apply `{}` to `{a}` and `{b}`", op.text()),
            self.loc(span),
            "unsupported operands",
        ))
    }
}

/// `mean + std * z` for `normal(mean, std)`, the defaults from its registry row.
fn normal(slots: Vec<Option<SExpr>>) -> SExpr {
    let spec = ScalarFn::Normal.spec();
    let mut args = slots.into_iter().zip(spec.args).map(|(given, arg)| match (given, arg.default) {
        (Some(v), _) => v,
        (None, Some(exp_ops::ArgDefault::Float(x))) => SExpr::Num(x),
        (None, _) => SExpr::Error,
    });
    let (mean, std) = (args.next().unwrap_or(SExpr::Error), args.next().unwrap_or(SExpr::Error));
    SExpr::Op(ScalarOp::Add, vec![mean, SExpr::Op(ScalarOp::Mul, vec![std, SExpr::Noise])])
}

/// "a" or "an" before `noun`.
fn article(noun: &str) -> &'static str {
    if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// `lhs op rhs` resolved; `%` as `x - y * floor(x / y)`, whose sign follows `y` as in Python.
fn binary_expr(op: BinOp, x: SExpr, y: SExpr) -> SExpr {
    let op2 = |op, a, b| SExpr::Op(op, vec![a, b]);
    let prim = match op {
        BinOp::Add => ScalarOp::Add,
        BinOp::Sub => ScalarOp::Sub,
        BinOp::Mul => ScalarOp::Mul,
        BinOp::Div => ScalarOp::Div,
        BinOp::Pow => ScalarOp::Pow,
        BinOp::Eq => ScalarOp::Eq,
        BinOp::Ne => ScalarOp::Ne,
        BinOp::Lt => ScalarOp::Lt,
        BinOp::Le => ScalarOp::Le,
        BinOp::Gt => ScalarOp::Gt,
        BinOp::Ge => ScalarOp::Ge,
        BinOp::And => ScalarOp::And,
        BinOp::Or => ScalarOp::Or,
        BinOp::Rem => {
            let floor = SExpr::Op(ScalarOp::Floor, vec![op2(ScalarOp::Div, x.clone(), y.clone())]);
            return op2(ScalarOp::Sub, x, op2(ScalarOp::Mul, y, floor));
        }
        BinOp::Then => return SExpr::Error,
    };
    op2(prim, x, y)
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
