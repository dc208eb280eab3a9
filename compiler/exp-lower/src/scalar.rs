//! Lowering resolved scalar code ([`SExpr`]) to SSA scalar functions: calls of functions
//! written in the language are inlined, `if` is already a `select` (both sides are computed,
//! as the JIT does), and randomness is the `noise` input.

use exp_hir::{SExpr, ScalarFnDef};
use exp_ir::{FnOutput, Inst, InstOp, Operand, ScalarFn, ScalarId};
use exp_ops::ScalarOp;

use crate::LowerError;

/// A scalar value during lowering: an operand, or a tuple of them (`betas`).
#[derive(Clone, Debug)]
pub enum SVal {
    /// One number.
    Op(Operand),
    /// A tuple.
    Tuple(Vec<SVal>),
}

impl SVal {
    /// The operand of a number; an error for a tuple.
    pub fn one(self) -> Result<Operand, LowerError> {
        match self {
            SVal::Op(o) => Ok(o),
            SVal::Tuple(_) => Err(LowerError("a tuple used as a number".into())),
        }
    }
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

/// Bindings of names to values, most recent last.
pub type Env = Vec<(String, SVal)>;

/// How deeply functions may be inlined into each other (the checker refuses recursion, so
/// this only bounds pathological but finite nesting).
const MAX_DEPTH: usize = 64;

/// Lowers `e` with the locals of `env`.
pub fn lower(b: &mut FnBuilder, env: &mut Env, e: &SExpr) -> Result<SVal, LowerError> {
    lower_at(b, env, e, 0)
}

fn lower_at(b: &mut FnBuilder, env: &mut Env, e: &SExpr, depth: usize) -> Result<SVal, LowerError> {
    if depth > MAX_DEPTH {
        return Err(LowerError("scalar functions nest too deeply".into()));
    }
    Ok(match e {
        SExpr::Num(x) => SVal::Op(b.konst(*x)),
        SExpr::Local(name) => env
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| LowerError(format!("`{name}` is not bound")))?,
        SExpr::Op(op, xs) => {
            let mut args = Vec::with_capacity(xs.len());
            for x in xs {
                args.push(lower_at(b, env, x, depth + 1)?.one()?);
            }
            SVal::Op(b.op(*op, args))
        }
        SExpr::Noise => SVal::Op(b.input("noise")),
        SExpr::Call(def, given) => {
            let mut values = Vec::with_capacity(given.len());
            for (i, x) in given {
                values.push((*i, lower_at(b, env, x, depth + 1)?));
            }
            inline(b, def, values, depth + 1)?
        }
        SExpr::Let(name, value, body) => {
            let v = lower_at(b, env, value, depth + 1)?;
            env.push((name.clone(), v));
            let out = lower_at(b, env, body, depth + 1);
            env.pop();
            out?
        }
        SExpr::Tuple(xs) => SVal::Tuple(xs.iter().map(|x| lower_at(b, env, x, depth + 1)).collect::<Result<_, _>>()?),
        SExpr::Field(x, i) => match lower_at(b, env, x, depth + 1)? {
            SVal::Tuple(items) => items.get(*i).cloned().ok_or_else(|| LowerError(format!("no tuple field `{i}`")))?,
            SVal::Op(_) => return Err(LowerError(format!("field `{i}` of a number"))),
        },
        SExpr::Error => return Err(LowerError("scalar code with errors".into())),
    })
}

/// Inlines `def` with the values of some of its parameters (by index); the others take their
/// defaults, which may read earlier parameters.
pub fn inline(
    b: &mut FnBuilder,
    def: &ScalarFnDef,
    given: Vec<(usize, SVal)>,
    depth: usize,
) -> Result<SVal, LowerError> {
    let mut inner: Env = Vec::new();
    for (i, (name, default)) in def.params.iter().enumerate() {
        let v = match (given.iter().find(|(j, _)| *j == i), default) {
            (Some((_, v)), _) => v.clone(),
            (None, Some(d)) => lower_at(b, &mut inner, d, depth + 1)?,
            (None, None) => return Err(LowerError(format!("missing argument `{name}` of `{}`", def.name))),
        };
        inner.push((name.clone(), v));
    }
    lower_at(b, &mut inner, &def.body, depth + 1)
}
