//! The elaborator's expression evaluator: experiment- and block-level expressions to values
//! (`value`), with arithmetic (`arith`), coercions to declared types (`coerce`) and the
//! built-in functions of expressions (`intrinsics`).
//!
//! Checking an experiment *is* evaluating it: names resolve, calls bind arguments to
//! parameters, values are checked against declared types, and applying the model to the
//! data's input shape infers every tensor shape. The same walk records the model graph that
//! lowering turns into IR, so the checker and the compiler cannot disagree.

pub(crate) mod arith;
pub(crate) mod coerce;
pub(crate) mod intrinsics;
pub(crate) mod value;

use std::sync::Arc;

use exp_db::{Db, SourceFile};
use exp_diagnostics::Code;
use exp_ops::Dim;
use exp_syntax::ast::{Arg, BinOp, Body, Expr, ExprKind, UnOp, Unit};
use exp_syntax::Span;

use crate::diag::{did_you_mean, HDiag, Loc};
use crate::eval::value::{Applied, ArgOrigin, BlockV, Closure, Val};
use crate::model::graph::Graph;
use crate::names::decls::{decl_info, DeclInfo};
use crate::names::items::DefKind;
use crate::names::scope::{resolve, DefRef};
use crate::types::UnitKind;

/// Names the evaluator provides itself: list combinators over blocks and tensors.
pub const INTRINSICS: &[&str] = &["sum", "fold", "concat", "len"];

/// How deeply blocks, functions and lambdas may call each other while one experiment is
/// evaluated (expression nesting itself is bounded by the parser).
const MAX_DEPTH: usize = 64;

/// A location context: the file and item whose relative spans are being evaluated, and the
/// file whose names are in scope (the same file, except for `--set` values, which live in
/// their own small file but name things of the experiment's file).
#[derive(Clone, Debug)]
pub(crate) struct Frame {
    pub file: SourceFile,
    pub item: String,
    pub scope: SourceFile,
}

/// The evaluation context.
pub struct Cx<'a> {
    /// The database.
    pub db: &'a dyn Db,
    /// Problems found so far.
    pub diags: Vec<HDiag>,
    /// The model graph being built.
    pub graph: Graph,
    pub(crate) frames: Vec<Frame>,
    pub(crate) env: Vec<(String, Val)>,
    pub(crate) instantiating: Vec<DefRef>,
}

impl<'a> Cx<'a> {
    /// A context evaluating inside item `item` of `file`.
    pub fn new(db: &'a dyn Db, file: SourceFile, item: &str) -> Cx<'a> {
        Cx {
            db,
            diags: Vec::new(),
            graph: Graph::default(),
            frames: vec![Frame { file, item: item.to_string(), scope: file }],
            env: Vec::new(),
            instantiating: Vec::new(),
        }
    }

    pub(crate) fn frame(&self) -> &Frame {
        self.frames.last().expect("there is always a frame")
    }

    /// A location in the current item.
    pub fn loc(&self, span: Span) -> Loc {
        let f = self.frame();
        Loc { file: f.file, item: Some(f.item.clone()), span }
    }

    /// Records a diagnostic and returns [`Val::Unknown`].
    pub fn error(&mut self, d: HDiag) -> Val {
        self.diags.push(d);
        Val::Unknown
    }

    /// Binds a local name.
    pub fn bind(&mut self, name: &str, v: Val) {
        self.env.push((name.to_string(), v));
    }

    fn local(&self, name: &str) -> Option<Val> {
        self.env.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    /// Runs `f` in the context of another item with a fresh environment.
    pub(crate) fn in_item<T>(
        &mut self,
        file: SourceFile,
        item: &str,
        env: Vec<(String, Val)>,
        f: impl FnOnce(&mut Self) -> T,
    ) -> T {
        self.in_scope(file, item, file, env, f)
    }

    /// Like [`Cx::in_item`], resolving names in `scope` instead of `file`.
    pub(crate) fn in_scope<T>(
        &mut self,
        file: SourceFile,
        item: &str,
        scope: SourceFile,
        env: Vec<(String, Val)>,
        f: impl FnOnce(&mut Self) -> T,
    ) -> T {
        self.frames.push(Frame { file, item: item.to_string(), scope });
        let saved = std::mem::replace(&mut self.env, env);
        let out = f(self);
        self.env = saved;
        self.frames.pop();
        out
    }

    /// Evaluates an expression.
    pub fn eval(&mut self, e: &Expr) -> Val {
        if self.frames.len() > MAX_DEPTH {
            return self.error(HDiag::new(
                Code::RecursiveDefinition,
                "blocks and functions call each other too deeply",
                self.loc(e.span),
                "here",
            ));
        }
        match &e.kind {
            ExprKind::Int(i) => Val::Int(Dim::constant(*i)),
            ExprKind::Float(x) => Val::Float(*x),
            ExprKind::Bool(b) => Val::Bool(*b),
            ExprKind::Str(s) => Val::Str(s.clone()),
            ExprKind::Quantity { value, unit } => self.quantity(value, *unit),
            ExprKind::Name(id) => self.name(&id.name, id.span),
            ExprKind::Field { base, field } => {
                let b = self.eval(base);
                self.field(b, &field.name, field.span)
            }
            ExprKind::Index { base, index } => {
                let b = self.eval(base);
                let i = self.eval(index);
                self.index(b, i, index.span)
            }
            ExprKind::Call { callee, args } => self.call(e.span, callee, args),
            ExprKind::Unary { op, expr } => {
                let v = self.eval(expr);
                match (op, v) {
                    (UnOp::Neg, Val::Int(d)) => Val::Int(-d),
                    (UnOp::Neg, Val::Float(x)) => Val::Float(-x),
                    (UnOp::Not, Val::Bool(b)) => Val::Bool(!b),
                    (_, Val::Unknown) => Val::Unknown,
                    (_, v) => self.type_error(expr.span, if *op == UnOp::Not { "`Bool`" } else { "a number" }, &v),
                }
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(e.span, *op, lhs, rhs),
            ExprKind::If { cond, then, otherwise } => match self.eval(cond) {
                Val::Bool(true) => self.eval(then),
                Val::Bool(false) => self.eval(otherwise),
                Val::Unknown => Val::Unknown,
                v => self.type_error(cond.span, "`Bool`", &v),
            },
            ExprKind::Tuple(items) => Val::Tuple(items.iter().map(|x| self.eval(x)).collect()),
            ExprKind::List(items) => Val::List(items.iter().map(|x| self.eval(x)).collect()),
            ExprKind::Range { start, end } => self.range(start, end),
            ExprKind::Comprehension { expr, var, iter } => match self.eval(iter) {
                Val::List(items) => {
                    let mut out = Vec::new();
                    for it in items {
                        self.bind(&var.name, it);
                        out.push(self.eval(expr));
                        self.env.pop();
                    }
                    Val::List(out)
                }
                Val::Unknown => Val::Unknown,
                v => self.type_error(iter.span, "a list or range", &v),
            },
            ExprKind::Lambda { params, body } => Val::Lambda(Arc::new(Closure {
                params: params.iter().map(|p| p.name.clone()).collect(),
                body: (**body).clone(),
                at: self.loc(e.span),
                env: self.env.clone(),
            })),
            ExprKind::Repeat { count, body } => {
                let n = self.eval(count);
                let b = self.eval(body);
                let b = self.to_block(b, body.span);
                match (n, b) {
                    (Val::Int(d), Some(b)) => Val::Block(BlockV::Repeat(d, Box::new(b), self.loc(e.span))),
                    (Val::Unknown, _) | (_, None) => Val::Unknown,
                    (v, _) => self.type_error(count.span, "`Int`", &v),
                }
            }
            ExprKind::Block { lets, result } => {
                let mark = self.env.len();
                for l in lets {
                    let v = self.eval(&l.value);
                    let v = match v {
                        Val::Block(b) => Val::Block(BlockV::Named(l.name.name.clone(), Box::new(b))),
                        other => other,
                    };
                    self.bind(&l.name.name, v);
                }
                let v = self.eval(result);
                self.env.truncate(mark);
                v
            }
        }
    }

    /// A type error: "expected X, found `T`".
    pub fn type_error(&mut self, span: Span, expected: &str, found: &Val) -> Val {
        let d = HDiag::new(
            Code::TypeMismatch,
            format!("expected {expected}, found `{}`", found.type_name()),
            self.loc(span),
            format!("this is `{}`", found.type_name()),
        );
        self.error(d)
    }

    fn quantity(&mut self, value: &Expr, unit: Unit) -> Val {
        let x = match value.kind {
            ExprKind::Int(i) => i as f64,
            ExprKind::Float(x) => x,
            _ => return self.type_error(value.span, "a number literal", &Val::Unknown),
        };
        match unit {
            Unit::Bytes(scale) => Val::Qty(x * f64::from(1u32 << (10 * scale.min(3))), UnitKind::Bytes),
            u => Val::Qty(x, UnitKind::of(u)),
        }
    }

    fn range(&mut self, start: &Expr, end: &Expr) -> Val {
        let (a, b) = (self.eval(start), self.eval(end));
        match (&a, &b) {
            (Val::Int(a), Val::Int(b)) => match (a.as_const(), b.as_const()) {
                (Some(a), Some(b)) if b - a <= 1_000_000 => {
                    Val::List((a..b).map(|i| Val::Int(Dim::constant(i))).collect())
                }
                (Some(_), Some(_)) => self.error(HDiag::new(
                    Code::InvalidValue,
                    "range is too long",
                    self.loc(start.span.cover(end.span)),
                    "more than a million values",
                )),
                _ => self.error(HDiag::new(
                    Code::InvalidValue,
                    "range bounds must be known numbers",
                    self.loc(start.span.cover(end.span)),
                    "symbolic bound",
                )),
            },
            (Val::Unknown, _) | (_, Val::Unknown) => Val::Unknown,
            (Val::Int(_), v) => self.type_error(end.span, "`Int`", &v.clone()),
            (v, _) => self.type_error(start.span, "`Int`", &v.clone()),
        }
    }

    fn name(&mut self, name: &str, span: Span) -> Val {
        if let Some(v) = self.local(name) {
            return v;
        }
        let file = self.frame().scope;
        match resolve(self.db, file, name) {
            Some(def) => self.reference(def, name, span),
            None if INTRINSICS.contains(&name) => self.error(
                HDiag::new(
                    Code::NotCallable,
                    format!("`{name}` must be called"),
                    self.loc(span),
                    "a built-in combinator",
                )
                .with_help(format!("write `{name}(...)`")),
            ),
            None => {
                let locals: Vec<String> = self.env.iter().map(|(n, _)| n.clone()).collect();
                let d = crate::names::scope::unknown_name(self.db, file, name, &locals, self.loc(span));
                self.error(d)
            }
        }
    }

    /// The value of a bare reference to a declaration.
    fn reference(&mut self, def: DefRef, name: &str, span: Span) -> Val {
        if matches!(def.kind, DefKind::Experiment | DefKind::Sweep) {
            let article = if def.kind == DefKind::Experiment { "an" } else { "a" };
            return self.error(
                HDiag::new(Code::TypeMismatch, format!("`{name}` is {article} {}, not a value", def.kind.keyword()), self.loc(span), "used as a value")
                    .with_help("experiments and sweeps cannot be used inside expressions; refer to the data, model or optimizer they declare instead"),
            );
        }
        let Some(info) = decl_info(self.db, &def) else { return Val::Unknown };
        if info.params.is_none() {
            return self.declared_value(&def, &info, name, span);
        }
        self.apply_decl(def, &info, name, span, &[])
    }

    /// The value of a parameterless declaration such as `data mod97 = ...`: its body.
    fn declared_value(&mut self, def: &DefRef, info: &DeclInfo, name: &str, span: Span) -> Val {
        if self.instantiating.contains(def) {
            return self.error(HDiag::new(
                Code::RecursiveDefinition,
                format!("`{name}` is defined in terms of itself"),
                self.loc(span),
                "recursive reference",
            ));
        }
        let Some(Body::Expr(body)) = &info.body else {
            return self.apply_decl(def.clone(), info, name, span, &[]);
        };
        self.instantiating.push(def.clone());
        let v = self.in_item(def.file, &def.key, Vec::new(), |cx| cx.eval(body));
        self.instantiating.pop();
        match v {
            Val::Data(d) if d.name.is_none() => {
                let mut d = (*d).clone();
                d.name = Some(name.to_string());
                Val::Data(Arc::new(d))
            }
            Val::Block(b) if def.kind == DefKind::Block => Val::Block(BlockV::Named(name.to_string(), Box::new(b))),
            v => v,
        }
    }

    fn call(&mut self, span: Span, callee: &Expr, args: &[Arg]) -> Val {
        if let ExprKind::Name(id) = &callee.kind {
            if self.local(&id.name).is_none()
                && INTRINSICS.contains(&id.name.as_str())
                && resolve(self.db, self.frame().scope, &id.name).is_none()
            {
                return crate::eval::intrinsics::call(self, &id.name, span, args);
            }
            if self.local(&id.name).is_none() {
                if let Some(def) = resolve(self.db, self.frame().scope, &id.name) {
                    if let Some(info) = decl_info(self.db, &def) {
                        if info.params.is_some() {
                            return self.call_decl(def, &info, &id.name, span, args);
                        }
                    }
                }
            }
        }
        let f = self.eval(callee);
        self.call_value(f, span, args)
    }

    /// Calls a value (a block on a tensor, a lambda, a declaration with more arguments).
    pub fn call_value(&mut self, f: Val, span: Span, args: &[Arg]) -> Val {
        match f {
            Val::Unknown => {
                for a in args {
                    self.eval(&a.value);
                }
                Val::Unknown
            }
            Val::Lambda(c) => {
                let vals: Vec<Val> = args.iter().map(|a| self.eval(&a.value)).collect();
                self.call_closure(&c, vals, span)
            }
            Val::Block(b) => {
                let [arg] = args else {
                    return self.error(HDiag::new(
                        Code::WrongArity,
                        format!("a block takes one tensor, found {} arguments", args.len()),
                        self.loc(span),
                        "block applied here",
                    ));
                };
                match self.eval(&arg.value) {
                    Val::Tensor(t) => crate::model::apply(self, &b, t, self.loc(span)),
                    Val::Unknown => Val::Unknown,
                    v => self.type_error(arg.value.span, "a tensor", &v),
                }
            }
            Val::Decl(a) if a.kind() == DefKind::Fn => match args {
                [arg] if arg.name.is_none() => match self.eval(&arg.value) {
                    Val::Tensor(t) => crate::model::apply(self, &BlockV::Act(a), t, self.loc(span)),
                    Val::Unknown => Val::Unknown,
                    v => self.type_error(arg.value.span, "a tensor", &v),
                },
                _ => self.error(HDiag::new(
                    Code::NotCallable,
                    format!("`{}` is already applied", a.name),
                    self.loc(span),
                    "called again",
                )),
            },
            other => self.error(HDiag::new(
                Code::NotCallable,
                format!("a value of type `{}` cannot be called", other.type_name()),
                self.loc(span),
                "not callable",
            )),
        }
    }

    /// Applies a lambda to values.
    pub fn call_closure(&mut self, c: &Closure, vals: Vec<Val>, span: Span) -> Val {
        if vals.len() != c.params.len() {
            return self.error(HDiag::new(
                Code::WrongArity,
                format!("this function takes {} argument(s), found {}", c.params.len(), vals.len()),
                self.loc(span),
                "called here",
            ));
        }
        let mut env = c.env.clone();
        env.extend(c.params.iter().cloned().zip(vals));
        let item = c.at.item.clone().unwrap_or_default();
        self.in_item(c.at.file, &item, env, |cx| cx.eval(&c.body))
    }

    /// Calls a declaration with written arguments.
    fn call_decl(&mut self, def: DefRef, info: &DeclInfo, name: &str, span: Span, args: &[Arg]) -> Val {
        if def.kind == DefKind::Fn && args.len() == 1 && args[0].name.is_none() {
            if let v @ Val::Tensor(_) = self.eval(&args[0].value) {
                let f = self.apply_decl(def, info, name, span, &[]);
                let Val::Decl(a) = f else { return Val::Unknown };
                let Val::Tensor(t) = v else { unreachable!() };
                return crate::model::apply(self, &BlockV::Act(a), t, self.loc(span));
            }
        }
        self.apply_decl(def, info, name, span, args)
    }

    /// Binds arguments to a declaration's parameters, checks them, and builds its value.
    pub(crate) fn apply_decl(&mut self, def: DefRef, info: &DeclInfo, name: &str, span: Span, args: &[Arg]) -> Val {
        let params = info.params.clone().unwrap_or_default();
        let is_fn = def.kind == DefKind::Fn;
        let mut slots: Vec<Option<(Val, ArgOrigin)>> = vec![None; params.len()];
        // A scalar function's first parameter is its input, supplied elementwise later.
        let first = usize::from(is_fn && !params.is_empty());
        let mut positional = first;
        for a in args {
            let idx = match &a.name {
                Some(n) => match params.iter().position(|p| p.name == n.name) {
                    Some(i) => i,
                    None => {
                        self.eval(&a.value);
                        let help = did_you_mean(&n.name, params.iter().map(|p| p.name.as_str())).or_else(|| {
                            Some(format!(
                                "the parameters of `{name}` are: {}",
                                params.iter().map(|p| format!("`{}`", p.name)).collect::<Vec<_>>().join(", ")
                            ))
                        });
                        self.error(
                            HDiag::new(
                                Code::UnknownArgument,
                                format!("`{name}` has no parameter `{}`", n.name),
                                self.loc(n.span),
                                "unknown argument",
                            )
                            .with_help_opt(help)
                            .with_secondary(info.loc.clone(), "declared here"),
                        );
                        continue;
                    }
                },
                None => {
                    positional += 1;
                    positional - 1
                }
            };
            let v = self.eval(&a.value);
            if idx >= params.len() {
                self.error(
                    HDiag::new(
                        Code::WrongArity,
                        format!("`{name}` takes {} argument(s), found more", params.len() - first),
                        self.loc(a.span),
                        "extra argument",
                    )
                    .with_secondary(info.loc.clone(), "declared here"),
                );
                continue;
            }
            if slots[idx].is_some() {
                self.error(HDiag::new(
                    Code::DuplicateArgument,
                    format!("argument `{}` is given twice", params[idx].name),
                    self.loc(a.span),
                    "given again here",
                ));
                continue;
            }
            let v = self.coerce(v, &params[idx].ty, a.value.span, &params[idx].name, name);
            slots[idx] = Some((v, ArgOrigin::Written(self.loc(a.value.span))));
        }
        let mut bound = Vec::new();
        let mut origins = Vec::new();
        for (i, p) in params.iter().enumerate() {
            let (v, origin) = match slots[i].take() {
                Some(s) => s,
                None if is_fn && i == 0 => continue,
                None => match &p.default {
                    Some(d) => {
                        // Defaults may refer to earlier parameters (`stride: Int = kernel`).
                        let env = bound.clone();
                        let v = self.in_item(def.file, &def.key, env, |cx| cx.eval(d));
                        let v = self.coerce(v, &p.ty, span, &p.name, name);
                        (v, ArgOrigin::Default)
                    }
                    None => {
                        self.error(
                            HDiag::new(
                                Code::MissingArgument,
                                format!("missing argument `{}` of `{name}`", p.name),
                                self.loc(span),
                                format!("`{}` is required", p.name),
                            )
                            .with_secondary(info.loc.clone(), "declared here")
                            .with_help(format!("add `{}: ...` ({})", p.name, p.ty)),
                        );
                        (Val::Unknown, ArgOrigin::Default)
                    }
                },
            };
            bound.push((p.name.clone(), v));
            origins.push(origin);
        }
        let applied = Applied { def, name: name.to_string(), args: bound, origins, at: self.loc(span), op: None };
        self.finish(applied, info)
    }

    /// Turns an applied declaration into the value of its kind: a builtin gets its typed
    /// value from the registry (a rejected argument makes it [`Val::Unknown`]), and a loss,
    /// probe or metric written in the language is its body with the arguments bound.
    pub(crate) fn finish(&mut self, mut applied: Applied, info: &DeclInfo) -> Val {
        if is_builtin(info) {
            match crate::model::builtin::build(self, &applied) {
                Ok(op) => applied.op = op,
                Err(()) => return Val::Unknown,
            }
        } else if matches!(applied.def.kind, DefKind::Loss | DefKind::Probe | DefKind::Metric) {
            return self.body_value(&applied, info);
        }
        match applied.def.kind {
            DefKind::Block => Val::Block(BlockV::Decl(Arc::new(applied))),
            DefKind::Data => crate::model::data::data_value(self, applied, info),
            _ => Val::Decl(Arc::new(applied)),
        }
    }

    /// The body of a declaration written in the language, evaluated with its arguments bound.
    fn body_value(&mut self, a: &Applied, info: &DeclInfo) -> Val {
        let Some(Body::Expr(body)) = &info.body else { return Val::Unknown };
        if self.instantiating.contains(&a.def) {
            return self.error(HDiag::new(
                Code::RecursiveDefinition,
                format!("`{}` is defined in terms of itself", a.name),
                a.at.clone(),
                "recursive reference",
            ));
        }
        self.instantiating.push(a.def.clone());
        let def = a.def.clone();
        let v = self.in_item(def.file, &def.key, a.args.clone(), |cx| cx.eval(body));
        self.instantiating.pop();
        v
    }

    /// Converts a value to a block: blocks, scalar functions (elementwise) and lambdas.
    pub fn to_block(&mut self, v: Val, span: Span) -> Option<BlockV> {
        match v {
            Val::Block(b) => Some(b),
            Val::Decl(a) if a.kind() == DefKind::Fn => Some(BlockV::Act(a)),
            Val::Lambda(c) => Some(BlockV::Lambda(c)),
            Val::Unknown => None,
            v => {
                self.type_error(span, "a block", &v);
                None
            }
        }
    }

    fn field(&mut self, base: Val, field: &str, span: Span) -> Val {
        match base {
            Val::Unknown => Val::Unknown,
            Val::Data(d) => {
                if d.splits.iter().any(|s| s == field) {
                    Val::Split(d, field.to_string())
                } else {
                    let help = did_you_mean(field, d.splits.iter().map(String::as_str))
                        .unwrap_or_else(|| format!("the splits are {}", d.splits.join(", ")));
                    self.error(
                        HDiag::new(
                            Code::UnknownField,
                            format!("dataset has no split `{field}`"),
                            self.loc(span),
                            "unknown split",
                        )
                        .with_help(help),
                    )
                }
            }
            Val::Tuple(items) => match field.parse::<usize>().ok().and_then(|i| items.get(i).cloned()) {
                Some(v) => v,
                None => self.error(HDiag::new(
                    Code::UnknownField,
                    format!("no field `{field}` on a {}-tuple", items.len()),
                    self.loc(span),
                    "unknown field",
                )),
            },
            Val::Decl(a) => match a.arg(field) {
                Some(v) => v.clone(),
                None => {
                    let help = did_you_mean(field, a.args.iter().map(|(n, _)| n.as_str()));
                    self.error(
                        HDiag::new(
                            Code::UnknownField,
                            format!("`{}` has no parameter `{field}`", a.name),
                            self.loc(span),
                            "unknown field",
                        )
                        .with_help_opt(help),
                    )
                }
            },
            v => self.error(HDiag::new(
                Code::UnknownField,
                format!("`{}` has no field `{field}`", v.type_name()),
                self.loc(span),
                "unknown field",
            )),
        }
    }

    fn index(&mut self, base: Val, index: Val, span: Span) -> Val {
        match (base, index) {
            (Val::Unknown, _) | (_, Val::Unknown) => Val::Unknown,
            (Val::List(items), Val::Int(i)) => {
                match i.as_const().and_then(|i| usize::try_from(i).ok()).and_then(|i| items.get(i).cloned()) {
                    Some(v) => v,
                    None => self.error(HDiag::new(
                        Code::InvalidValue,
                        format!("index `{i}` is out of range for a list of {}", items.len()),
                        self.loc(span),
                        "out of range",
                    )),
                }
            }
            (Val::List(_), v) => self.type_error(span, "`Int`", &v),
            (v, _) => self.type_error(span, "a list", &v),
        }
    }

    fn binary(&mut self, span: Span, op: BinOp, lhs: &Expr, rhs: &Expr) -> Val {
        let a = self.eval(lhs);
        if op == BinOp::Then {
            return self.compose(a, rhs, span);
        }
        let b = self.eval(rhs);
        crate::eval::arith::binary(self, span, op, a, b, lhs.span, rhs.span)
    }

    fn compose(&mut self, a: Val, rhs: &Expr, span: Span) -> Val {
        match a {
            Val::Data(d) => {
                let b = self.eval(rhs);
                crate::model::data::transform(self, d, b, rhs.span)
            }
            Val::Tensor(t) => {
                let b = self.eval(rhs);
                match self.to_block(b, rhs.span) {
                    Some(b) => crate::model::apply(self, &b, t, self.loc(span)),
                    None => Val::Unknown,
                }
            }
            a => {
                let b = self.eval(rhs);
                let (Some(x), Some(y)) = (self.to_block(a, span), self.to_block(b, rhs.span)) else {
                    return Val::Unknown;
                };
                let mut items = Vec::new();
                for it in [x, y] {
                    match it {
                        BlockV::Seq(inner) => items.extend(inner),
                        other => items.push(other),
                    }
                }
                Val::Block(BlockV::Seq(items))
            }
        }
    }
}

/// Whether a declaration is a builtin.
pub(crate) fn is_builtin(info: &DeclInfo) -> bool {
    matches!(info.body, Some(Body::Builtin(_)))
}
