//! Lowering scalar code (function bodies, update rules, schedules, derived probes) from the
//! AST to SSA scalar functions: calls to user functions are inlined, builtins become ops,
//! `if` becomes `select` (both sides are computed, as the JIT will do).

use exp_db::{Db, SourceFile};
use exp_ir::{FnOutput, Inst, InstOp, Operand, ScalarFn, ScalarId};
use exp_ops::ScalarOp;
use exp_syntax::ast::{BinOp, Body, DeclKind, Expr, ExprKind, ItemKind, UnOp, Unit};

use crate::LowerError;

/// A scalar value during lowering: an operand, or a tuple of them (`betas`).
#[derive(Clone, Debug)]
pub enum SVal {
    /// One number.
    Op(Operand),
    /// A tuple.
    Tuple(Vec<SVal>),
}

/// Builds one scalar function. Instructions are hash-consed: a constant or an op applied to
/// the same operands is emitted once (every op is pure; randomness is the `noise` input).
#[derive(Default)]
pub struct FnBuilder {
    /// Named inputs, in order.
    pub inputs: Vec<String>,
    body: Vec<Inst>,
    seen: std::collections::HashMap<(String, Vec<Operand>), Operand>,
}

impl FnBuilder {
    /// A builder with these inputs.
    pub fn new(inputs: impl IntoIterator<Item = String>) -> FnBuilder {
        FnBuilder { inputs: inputs.into_iter().collect(), body: Vec::new(), seen: Default::default() }
    }

    /// The operand of a named input, adding the input if it is new.
    pub fn input(&mut self, name: &str) -> Operand {
        let i = match self.inputs.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                self.inputs.push(name.to_string());
                self.inputs.len() - 1
            }
        };
        Operand::Input(i as u32)
    }

    fn push(&mut self, op: InstOp, args: Vec<Operand>) -> Operand {
        let key = match &op {
            InstOp::Const(x) => (format!("const {}", x.to_bits()), Vec::new()),
            InstOp::Op(o) => (o.name().to_string(), args.clone()),
        };
        if let Some(v) = self.seen.get(&key) {
            return *v;
        }
        let id = ScalarId(self.body.len() as u32);
        self.body.push(Inst { result: id, op, args });
        self.seen.insert(key, Operand::Value(id));
        Operand::Value(id)
    }

    /// A constant.
    pub fn konst(&mut self, x: f64) -> Operand {
        self.push(InstOp::Const(x), vec![])
    }

    /// An op applied to operands.
    pub fn op(&mut self, op: ScalarOp, args: Vec<Operand>) -> Operand {
        self.push(InstOp::Op(op), args)
    }

    /// The finished function.
    pub fn finish(self, name: &str, outputs: Vec<(String, Operand)>, origin: Option<exp_ir::Origin>) -> ScalarFn {
        ScalarFn {
            name: name.to_string(),
            inputs: self.inputs,
            body: self.body,
            outputs: outputs.into_iter().map(|(name, value)| FnOutput { name, value }).collect(),
            origin,
        }
    }
}

/// A lowering context for one body: where its names resolve, and what they are bound to.
pub struct Scope {
    /// The file whose names the body uses.
    pub file: SourceFile,
    /// Local bindings, most recent last.
    pub env: Vec<(String, SVal)>,
}

impl Scope {
    fn get(&self, name: &str) -> Option<SVal> {
        self.env.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }
}

fn one(v: SVal) -> Result<Operand, LowerError> {
    match v {
        SVal::Op(o) => Ok(o),
        SVal::Tuple(_) => Err(LowerError("a tuple used as a number".into())),
    }
}

/// Lowers an expression to an operand.
pub fn lower_expr(db: &dyn Db, b: &mut FnBuilder, s: &mut Scope, e: &Expr, depth: usize) -> Result<SVal, LowerError> {
    if depth > 64 {
        return Err(LowerError("scalar functions nest too deeply".into()));
    }
    Ok(match &e.kind {
        ExprKind::Int(i) => SVal::Op(b.konst(*i as f64)),
        ExprKind::Float(x) => SVal::Op(b.konst(*x)),
        ExprKind::Bool(v) => SVal::Op(b.konst(if *v { 1.0 } else { 0.0 })),
        ExprKind::Quantity { value, unit } => {
            let x = match value.kind {
                ExprKind::Int(i) => i as f64,
                ExprKind::Float(x) => x,
                _ => return Err(LowerError("quantity without a number".into())),
            };
            let scale = if let Unit::Bytes(k) = unit { 1024f64.powi(*k.min(&3) as i32) } else { 1.0 };
            SVal::Op(b.konst(x * scale))
        }
        ExprKind::Name(id) => match s.get(&id.name) {
            Some(v) => v,
            None => call(db, b, s, &id.name, &[], depth)?,
        },
        ExprKind::Field { base, field } => match lower_expr(db, b, s, base, depth + 1)? {
            SVal::Tuple(items) => field
                .name
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get(i).cloned())
                .ok_or_else(|| LowerError(format!("no tuple field `{}`", field.name)))?,
            SVal::Op(_) => return Err(LowerError(format!("field `{}` of a number", field.name))),
        },
        ExprKind::Call { callee, args } => {
            let ExprKind::Name(id) = &callee.kind else {
                return Err(LowerError("call of a non-name".into()));
            };
            call(db, b, s, &id.name, args, depth)?
        }
        ExprKind::Unary { op, expr } => {
            let x = one(lower_expr(db, b, s, expr, depth + 1)?)?;
            SVal::Op(b.op(if *op == UnOp::Neg { ScalarOp::Neg } else { ScalarOp::Not }, vec![x]))
        }
        ExprKind::Binary { op, lhs, rhs } => {
            let x = one(lower_expr(db, b, s, lhs, depth + 1)?)?;
            let y = one(lower_expr(db, b, s, rhs, depth + 1)?)?;
            SVal::Op(binary(b, *op, x, y)?)
        }
        ExprKind::If { cond, then, otherwise } => {
            let c = one(lower_expr(db, b, s, cond, depth + 1)?)?;
            let t = one(lower_expr(db, b, s, then, depth + 1)?)?;
            let f = one(lower_expr(db, b, s, otherwise, depth + 1)?)?;
            SVal::Op(b.op(ScalarOp::Select, vec![c, t, f]))
        }
        ExprKind::Tuple(items) => {
            SVal::Tuple(items.iter().map(|x| lower_expr(db, b, s, x, depth + 1)).collect::<Result<_, _>>()?)
        }
        ExprKind::Block { lets, result } => {
            let mark = s.env.len();
            for l in lets {
                let v = lower_expr(db, b, s, &l.value, depth + 1)?;
                s.env.push((l.name.name.clone(), v));
            }
            let v = lower_expr(db, b, s, result, depth + 1)?;
            s.env.truncate(mark);
            v
        }
        _ => return Err(LowerError("not a scalar expression".into())),
    })
}

fn binary(b: &mut FnBuilder, op: BinOp, x: Operand, y: Operand) -> Result<Operand, LowerError> {
    let sop = match op {
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
            // x % y = x - y * floor(x / y): the sign follows y, like Python.
            let q = b.op(ScalarOp::Div, vec![x, y]);
            let f = b.op(ScalarOp::Floor, vec![q]);
            let m = b.op(ScalarOp::Mul, vec![y, f]);
            return Ok(b.op(ScalarOp::Sub, vec![x, m]));
        }
        BinOp::Then => return Err(LowerError("`>>` in scalar code".into())),
    };
    Ok(b.op(sop, vec![x, y]))
}

/// Lowers a call to a builtin or user function (user functions are inlined).
fn call(
    db: &dyn Db,
    b: &mut FnBuilder,
    s: &mut Scope,
    name: &str,
    args: &[exp_syntax::ast::Arg],
    depth: usize,
) -> Result<SVal, LowerError> {
    let def = exp_hir::scope::resolve(db, s.file, name).ok_or_else(|| LowerError(format!("unknown name `{name}`")))?;
    let item =
        exp_hir::items::lookup(db, def.file, &def.key).ok_or_else(|| LowerError(format!("lost item `{name}`")))?;
    let ast = item.ast(db).clone();
    let ItemKind::Decl(d) = &ast.kind else {
        return Err(LowerError(format!("`{name}` is not a function")));
    };
    if d.kind != DeclKind::Fn {
        return Err(LowerError(format!("`{name}` is not a function")));
    }
    let params = d.params.clone().unwrap_or_default();
    let mut vals: Vec<Option<SVal>> = vec![None; params.len()];
    let mut positional = 0;
    for a in args {
        let idx = match &a.name {
            Some(n) => params
                .iter()
                .position(|p| p.name.name == n.name)
                .ok_or_else(|| LowerError(format!("no parameter `{}`", n.name)))?,
            None => {
                positional += 1;
                positional - 1
            }
        };
        let v = lower_expr(db, b, s, &a.value, depth + 1)?;
        *vals.get_mut(idx).ok_or_else(|| LowerError("too many arguments".into()))? = Some(v);
    }
    apply_fn(db, b, &def, vals, depth)
}

/// Inlines the function `def` applied to argument values in parameter order (`None` for a
/// parameter left to its default).
pub fn apply_fn(
    db: &dyn Db,
    b: &mut FnBuilder,
    def: &exp_hir::DefRef,
    vals: Vec<Option<SVal>>,
    depth: usize,
) -> Result<SVal, LowerError> {
    let item =
        exp_hir::items::lookup(db, def.file, &def.key).ok_or_else(|| LowerError(format!("lost item `{}`", def.key)))?;
    let ast = item.ast(db).clone();
    let ItemKind::Decl(d) = &ast.kind else {
        return Err(LowerError(format!("`{}` is not a function", def.key)));
    };
    let params = d.params.clone().unwrap_or_default();
    let mut inner = Scope { file: def.file, env: Vec::new() };
    let mut vals = vals.into_iter();
    for p in &params {
        let v = match (vals.next().flatten(), &p.default) {
            (Some(v), _) => v,
            (None, Some(d)) => lower_expr(db, b, &mut inner, d, depth + 1)?,
            (None, None) => return Err(LowerError(format!("missing argument `{}`", p.name.name))),
        };
        inner.env.push((p.name.name.clone(), v));
    }
    match &d.body {
        Body::Builtin(_) => builtin(b, &def.key, &inner),
        Body::Expr(body) => lower_expr(db, b, &mut inner, body, depth + 1),
    }
}

fn builtin(b: &mut FnBuilder, name: &str, s: &Scope) -> Result<SVal, LowerError> {
    let args: Vec<Operand> = s.env.iter().map(|(_, v)| one(v.clone())).collect::<Result<_, _>>()?;
    if name == "normal" {
        // normal(mean, std) = mean + std * noise, with `noise` a standard normal draw per element.
        let noise = b.input("noise");
        let scaled = b.op(ScalarOp::Mul, vec![args[1], noise]);
        return Ok(SVal::Op(b.op(ScalarOp::Add, vec![args[0], scaled])));
    }
    if let Some(c) = exp_ops::builtin_constant(name) {
        return Ok(SVal::Op(b.konst(c)));
    }
    let op = exp_ops::builtin_function(name).ok_or_else(|| LowerError(format!("`{name}` is not a scalar builtin")))?;
    if op.arity() != args.len() {
        return Err(LowerError(format!("`{name}` takes {} arguments", op.arity())));
    }
    Ok(SVal::Op(b.op(op, args)))
}
