//! Scalar code with every name resolved: the form `exp-hir` hands to lowering.
//!
//! Function bodies, schedules, optimizer update rules, derived probes and stop conditions
//! are checked by [`super::ScalarCx`], which builds these trees in the same walk. Names are
//! gone: a local is a [`SExpr::Local`], a primitive an [`SExpr::Op`] of the scalar op table,
//! `normal(...)` a [`SExpr::Noise`] draw, and a call of a function written in the language a
//! [`SExpr::Call`] holding that function's own resolved definition, which lowering inlines.
//! Lowering therefore needs neither the syntax tree nor name resolution.

use std::sync::Arc;

use exp_ops::ScalarOp;

use crate::diag::Loc;

/// A resolved scalar expression.
#[derive(Clone, Debug, PartialEq)]
pub enum SExpr {
    /// A number: a literal, a boolean as 0 or 1, a quantity in its base unit.
    Num(f64),
    /// A value bound by name: a parameter, a `let`, a state slot, `p`, `g`, `t`, a schedule's
    /// `step`, `epoch`, `total` or `progress`, or a probe in a derived probe.
    Local(String),
    /// A primitive of the scalar op table applied to its operands.
    Op(ScalarOp, Vec<SExpr>),
    /// A fresh standard normal draw per element and call (from `normal(mean, std)`).
    Noise,
    /// A call of a function written in the language: its definition, and the written
    /// arguments in written order, each with the index of its parameter (the others take
    /// their defaults).
    Call(Arc<ScalarFnDef>, Vec<(usize, SExpr)>),
    /// `let name = value` in `body`.
    Let(String, Box<SExpr>, Box<SExpr>),
    /// A tuple, such as `betas`.
    Tuple(Vec<SExpr>),
    /// Field `i` of a tuple (`betas.0`).
    Field(Box<SExpr>, usize),
    /// Code with an error, already reported; never lowered.
    Error,
}

impl SExpr {
    /// The number this expression always has, if it uses only numbers and pure ops.
    pub fn constant(&self) -> Option<f64> {
        match self {
            SExpr::Num(x) => Some(*x),
            SExpr::Op(op, args) => {
                let xs: Option<Vec<f64>> = args.iter().map(SExpr::constant).collect();
                Some(op.eval(&xs?))
            }
            _ => None,
        }
    }

    /// The names of the locals it reads, in first-use order, without duplicates (bodies of
    /// called functions have their own locals and are not entered).
    pub fn locals(&self) -> Vec<String> {
        fn walk(e: &SExpr, bound: &mut Vec<String>, out: &mut Vec<String>) {
            match e {
                SExpr::Local(n) if !bound.contains(n) && !out.contains(n) => out.push(n.clone()),
                SExpr::Op(_, xs) | SExpr::Tuple(xs) => xs.iter().for_each(|x| walk(x, bound, out)),
                SExpr::Call(_, xs) => xs.iter().for_each(|(_, x)| walk(x, bound, out)),
                SExpr::Let(n, v, body) => {
                    walk(v, bound, out);
                    bound.push(n.clone());
                    walk(body, bound, out);
                    bound.pop();
                }
                SExpr::Field(x, _) => walk(x, bound, out),
                SExpr::Num(_) | SExpr::Local(_) | SExpr::Noise | SExpr::Error => {}
            }
        }
        let mut out = Vec::new();
        walk(self, &mut Vec::new(), &mut out);
        out
    }

    /// Whether an error was reported inside it.
    pub fn has_error(&self) -> bool {
        match self {
            SExpr::Error => true,
            SExpr::Op(_, xs) | SExpr::Tuple(xs) => xs.iter().any(SExpr::has_error),
            SExpr::Call(f, xs) => f.has_error() || xs.iter().any(|(_, x)| x.has_error()),
            SExpr::Let(_, v, b) => v.has_error() || b.has_error(),
            SExpr::Field(x, _) => x.has_error(),
            SExpr::Num(_) | SExpr::Local(_) | SExpr::Noise => false,
        }
    }
}

/// A scalar function, schedule or primitive, resolved: its parameters with their defaults
/// (which may read earlier parameters) and its body.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalarFnDef {
    /// The declared name.
    pub name: String,
    /// Parameters in order, with their resolved defaults.
    pub params: Vec<(String, Option<SExpr>)>,
    /// The body, over the parameters (and, for schedules, `step`, `epoch`, `total` and
    /// `progress`).
    pub body: SExpr,
    /// The declaration's name, for origins.
    pub at: Loc,
}

impl ScalarFnDef {
    /// Whether an error was reported inside it.
    pub fn has_error(&self) -> bool {
        self.body.has_error() || self.params.iter().filter_map(|(_, d)| d.as_ref()).any(SExpr::has_error)
    }
}

/// How an optimizer's state slot starts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StateStart {
    /// All zeros.
    Zeros,
    /// A constant.
    Const(f64),
    /// A copy of the first gradient.
    CopyGrad,
    /// A copy of the parameter.
    CopyParam,
}

/// One statement of an update rule.
#[derive(Clone, Debug, PartialEq)]
pub enum RuleStmt {
    /// `state a = ..., b = ...`.
    State(Vec<(String, StateStart)>),
    /// `let x = e`.
    Let(String, SExpr),
    /// `p = e`, `g = e` or `slot = e`.
    Assign(String, SExpr),
    /// `base`: applies the wrapped optimizer passed as this parameter.
    Apply(String),
}

/// An optimizer declaration, resolved: its hyperparameters and its update rule.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerDef {
    /// The declared name.
    pub name: String,
    /// Hyperparameter names in order; those of type `Optimizer` are wrapped optimizers.
    pub params: Vec<String>,
    /// The statements, in order.
    pub body: Vec<RuleStmt>,
    /// The declaration's name, for origins.
    pub at: Loc,
}

impl OptimizerDef {
    /// Whether an error was reported inside it.
    pub fn has_error(&self) -> bool {
        self.body.iter().any(|s| match s {
            RuleStmt::Let(_, e) | RuleStmt::Assign(_, e) => e.has_error(),
            RuleStmt::State(_) | RuleStmt::Apply(_) => false,
        })
    }
}
