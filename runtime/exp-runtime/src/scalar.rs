//! Elementwise evaluation of IR scalar functions over tensors, by composing Candle ops.
//!
//! This is the reference path (a JIT comes later): every instruction becomes one or a few
//! Candle ops, so gradients flow through Candle's autograd wherever the op table gives a
//! derivative ([`exp_ops::ScalarOp::derivative`]), with the same tie rules: `min` and `max`
//! route the whole gradient to their first argument on ties (built with `where_cond`, not
//! Candle's `maximum`, which splits ties), and `abs` has derivative `sign(x)`, zero at zero.
//! Comparisons, logic, `floor`, `sign` and `select`'s condition are piecewise constant and
//! detached. Comparisons give `1.0`/`0.0` in the inputs' float type.
//!
//! Inputs broadcast against each other (a scalar hyperparameter is a rank-0 or shape-`[1]`
//! tensor); every output has the broadcast shape of all inputs (a view when the value itself
//! is smaller). Constants stay `f64` until they meet a tensor, and instructions whose operands
//! are all constants are folded with the op table's `f64` semantics.

use crate::error::{Result, RunError};
use candle_core::{DType, Device, Shape, Tensor};
use exp_ir::{InstOp, Operand, ScalarFn, ScalarId};
use exp_ops::ScalarOp;
use std::collections::HashMap;

/// A value during evaluation: a folded constant or a tensor.
#[derive(Clone)]
enum Val {
    Const(f64),
    T(Tensor),
}

/// What every tensor of one evaluation shares: dtype, device and the full broadcast shape.
struct Ctx {
    dtype: DType,
    device: Device,
    shape: Shape,
}

impl Ctx {
    /// A constant as a rank-0 tensor of the evaluation's dtype.
    fn scalar(&self, c: f64) -> Result<Tensor> {
        Ok(Tensor::new(c, &self.device)?.to_dtype(self.dtype)?)
    }

    /// `v` as a tensor of exactly `shape` (a broadcast view where possible).
    fn expand(&self, v: &Val, shape: &Shape) -> Result<Tensor> {
        let t = match v {
            Val::Const(c) => self.scalar(*c)?,
            Val::T(t) => t.clone(),
        };
        if t.shape() == shape {
            Ok(t)
        } else {
            Ok(t.broadcast_as(shape.clone())?)
        }
    }

    /// The broadcast shape of the tensors among `vals` (a constant broadcasts to anything).
    fn common_shape(&self, vals: &[&Val]) -> Result<Shape> {
        let mut shape = Shape::from(());
        for v in vals {
            if let Val::T(t) = v {
                shape = shape.broadcast_shape_binary_op(t.shape(), "scalar fn")?;
            }
        }
        Ok(shape)
    }

    /// The operands as tensors of one common shape.
    fn aligned<const N: usize>(&self, vals: [&Val; N]) -> Result<[Tensor; N]> {
        let shape = self.common_shape(&vals)?;
        let mut out = Vec::with_capacity(N);
        for v in vals {
            out.push(self.expand(v, &shape)?);
        }
        Ok(out.try_into().unwrap_or_else(|_| unreachable!("N tensors were pushed")))
    }

    /// A 0/1 mask in the float dtype, detached.
    fn mask(&self, m: Tensor) -> Result<Tensor> {
        Ok(m.to_dtype(self.dtype)?.detach())
    }

    /// `c` as a `U8` condition: nonzero counts as true.
    fn truth(&self, c: &Val, shape: &Shape) -> Result<Tensor> {
        Ok(self.expand(c, shape)?.ne(0f64)?)
    }
}

/// Runs `f` elementwise over `inputs` (one per function input, by position, broadcasting
/// against each other) and returns its outputs in `f.outputs` order, each of the inputs'
/// broadcast shape and float dtype (`F32` when there are no inputs).
pub fn eval_scalar(f: &ScalarFn, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
    let fail = |msg: String| RunError::at(msg, f.origin);
    if inputs.len() != f.inputs.len() {
        return Err(fail(format!("`{}` takes {} inputs, got {}", f.name, f.inputs.len(), inputs.len())));
    }
    let (dtype, device) = match inputs.first() {
        Some(t) => (t.dtype(), t.device().clone()),
        None => (DType::F32, Device::Cpu),
    };
    if let Some(bad) = inputs.iter().find(|t| t.dtype() != dtype || !t.dtype().is_float()) {
        return Err(fail(format!("`{}` needs float inputs of one dtype, got {:?}", f.name, bad.dtype())));
    }
    let mut shape = Shape::from(());
    for t in inputs {
        shape = shape.broadcast_shape_binary_op(t.shape(), "scalar fn").map_err(|_| {
            fail(format!("the inputs of `{}` do not broadcast: {:?} and {:?}", f.name, shape, t.shape()))
        })?;
    }
    let ctx = Ctx { dtype, device, shape };
    let mut values: HashMap<ScalarId, Val> = HashMap::with_capacity(f.body.len());
    // Rank-0 inputs outside autograd (an optimizer's hyperparameters and step) are read as
    // constants, so everything computed from them alone (bias corrections, `t == 1`) folds
    // to numbers and a `select` on them picks its branch instead of masking whole tensors.
    let mut consts: Vec<Option<f64>> = Vec::with_capacity(inputs.len());
    for t in inputs {
        consts.push(if t.rank() == 0 && !t.track_op() {
            Some(t.to_dtype(DType::F64)?.to_scalar::<f64>()?)
        } else {
            None
        });
    }
    let read = |values: &HashMap<ScalarId, Val>, op: &Operand| -> Result<Val> {
        match op {
            Operand::Input(i) => inputs.get(*i as usize).map(|t| match consts[*i as usize] {
                Some(c) => Val::Const(c),
                None => Val::T(t.clone()),
            }),
            Operand::Value(id) => values.get(id).cloned(),
        }
        .ok_or_else(|| fail(format!("`{}` reads an undefined value", f.name)))
    };
    // Only what an output depends on: a derived function repeats the whole forward body,
    // whose result it often does not read.
    let mut live: std::collections::HashSet<ScalarId> =
        f.outputs.iter().filter_map(|o| if let Operand::Value(v) = o.value { Some(v) } else { None }).collect();
    for inst in f.body.iter().rev() {
        if live.contains(&inst.result) {
            live.extend(inst.args.iter().filter_map(|a| if let Operand::Value(v) = a { Some(*v) } else { None }));
        }
    }
    for inst in f.body.iter().filter(|i| live.contains(&i.result)) {
        let args = inst.args.iter().map(|a| read(&values, a)).collect::<Result<Vec<_>>>()?;
        let value = match &inst.op {
            InstOp::Const(c) => Val::Const(*c),
            InstOp::Op(op) if op.arity() == args.len() => apply(&ctx, *op, &args)
                .map_err(|e| fail(format!("in `{}`, `{}` failed: {}", f.name, op.name(), e.message)))?,
            InstOp::Op(op) => return Err(fail(format!("`{}` gets {} operands", op.name(), args.len()))),
        };
        values.insert(inst.result, value);
    }
    f.outputs.iter().map(|o| ctx.expand(&read(&values, &o.value)?, &ctx.shape)).collect()
}

/// Applies the one-input function `f` to `x` by composed ops, differentiably.
///
/// When `x` is tracked and `f`'s symbolic derivative `vjp` ([`exp_ir::derive::vjp`]) is
/// given, the value is `f` at the detached input and the gradient is the derivative composed
/// too, attached as `y + (x - x.detach()) * d` with `d` detached: the first term has no
/// gradient and the second is exactly zero, so the value is `f(x)` and `dy/dx = d`. This is
/// what the compiled path does, and for the same reason: Candle's autograd through the
/// composed function multiplies the zero gradient of an untaken `if` branch by that branch's
/// derivative, which overflows (`softplus` above 88.7 in `f32`: `0 * inf = NaN`); the derived
/// VJP selects instead. Where the derivative itself is not finite the gradient is 0.
pub fn eval_unary(f: &ScalarFn, vjp: Option<&ScalarFn>, x: &Tensor) -> Result<Tensor> {
    let one = |mut out: Vec<Tensor>| -> Result<Tensor> {
        match out.len() {
            1 => Ok(out.remove(0)),
            n => Err(RunError::at(format!("`{}` returns {n} values, not one", f.name), f.origin)),
        }
    };
    let Some(vjp) = vjp.filter(|_| x.track_op()) else {
        return one(eval_scalar(f, std::slice::from_ref(x))?);
    };
    let xd = x.detach();
    // The derived function repeats `f`'s body, so one evaluation with `f`'s output added to
    // its own gives both; the output gradient is a rank-0 constant 1, so the derivative's
    // products with it fold.
    let (Some(y_out), [d_out]) = (f.outputs.first(), vjp.outputs.as_slice()) else {
        return Err(RunError::at(format!("`{}` has no single-output derivative", f.name), f.origin));
    };
    let joint = ScalarFn { outputs: vec![y_out.clone(), d_out.clone()], ..vjp.clone() };
    let dy = Tensor::new(1f64, xd.device())?.to_dtype(xd.dtype())?;
    let [y, d]: [Tensor; 2] = eval_scalar(&joint, &[xd.clone(), dy])?
        .try_into()
        .map_err(|_| RunError::at(format!("`{}` and its derivative did not evaluate", f.name), f.origin))?;
    let finite = d.abs()?.lt(f64::INFINITY)?;
    let d = finite.where_cond(&d, &d.zeros_like()?)?.detach();
    Ok(y.add(&x.sub(&xd)?.mul(&d)?)?)
}

/// One instruction.
fn apply(ctx: &Ctx, op: ScalarOp, args: &[Val]) -> Result<Val> {
    use ScalarOp::*;
    use Val::{Const as C, T};
    if args.iter().all(|a| matches!(a, C(_))) {
        let xs: Vec<f64> = args.iter().map(|a| if let C(c) = a { *c } else { unreachable!() }).collect();
        return Ok(C(op.eval(&xs)));
    }
    let t = |x: Tensor| Ok(T(x));
    match (op, args) {
        (Add, [T(a), C(c)] | [C(c), T(a)]) if *c == 0.0 => t(a.clone()),
        (Add, [T(a), C(c)] | [C(c), T(a)]) => t(a.affine(1.0, *c)?),
        (Add, [T(a), T(b)]) => t(a.broadcast_add(b)?),
        (Sub, [T(a), C(c)]) => t(a.affine(1.0, -*c)?),
        (Sub, [C(c), T(b)]) => t(b.affine(-1.0, *c)?),
        (Sub, [T(a), T(b)]) => t(a.broadcast_sub(b)?),
        (Mul, [T(a), C(c)] | [C(c), T(a)]) if *c == 1.0 => t(a.clone()),
        (Mul, [T(a), C(c)] | [C(c), T(a)]) => t(a.affine(*c, 0.0)?),
        (Mul, [T(a), T(b)]) => t(a.broadcast_mul(b)?),
        (Div, [T(a), C(c)]) => t(a.affine(1.0 / *c, 0.0)?),
        (Div, [C(c), T(b)]) => t(b.recip()?.affine(*c, 0.0)?),
        (Div, [T(a), T(b)]) => t(a.broadcast_div(b)?),
        (Pow, [a, b]) => t(pow(ctx, a, b)?),
        (Neg, [T(a)]) => t(a.neg()?),
        (Exp, [T(a)]) => t(a.exp()?),
        (Log, [T(a)]) => t(a.log()?),
        (Log1p | Expm1 | Erfc | Sigmoid, [T(a)]) if a.device().is_cpu() => t(a.apply_op1(Exact(op))?),
        (Log1p, [T(a)]) => t(log1p(a)?),
        (Expm1, [T(a)]) => t(expm1(a)?),
        (Sqrt, [T(a)]) => t(a.sqrt()?),
        (Abs, [T(a)]) => t(abs(a)?),
        (Tanh, [T(a)]) => t(a.tanh()?),
        (Sigmoid, [T(a)]) => t(candle_nn::ops::sigmoid(a)?),
        (Sin, [T(a)]) => t(a.sin()?),
        (Cos, [T(a)]) => t(a.cos()?),
        (Erf, [T(a)]) => t(a.erf()?),
        (Erfc, [T(a)]) => t(erfc(a)?),
        (Floor, [T(a)]) => t(a.floor()?.detach()),
        (Sign, [T(a)]) => t(a.sign()?.detach()),
        (Min | Max, [a, b]) => {
            let [x, y] = ctx.aligned([a, b])?;
            let first = if op == Min { x.le(&y)? } else { x.ge(&y)? };
            t(first.where_cond(&x, &y)?)
        }
        (Lt | Le | Gt | Ge | Eq | Ne, [a, b]) => {
            let [x, y] = ctx.aligned([a, b])?;
            let m = match op {
                Lt => x.lt(&y)?,
                Le => x.le(&y)?,
                Gt => x.gt(&y)?,
                Ge => x.ge(&y)?,
                Eq => x.eq(&y)?,
                _ => x.ne(&y)?,
            };
            t(ctx.mask(m)?)
        }
        (And | Or, [a, b]) => {
            let shape = ctx.common_shape(&[a, b])?;
            let (x, y) = (ctx.mask(ctx.truth(a, &shape)?)?, ctx.mask(ctx.truth(b, &shape)?)?);
            t(if op == And { x.mul(&y)? } else { ctx.mask(x.add(&y)?.ne(0f64)?)? })
        }
        (Not, [a]) => {
            let shape = ctx.common_shape(&[a])?;
            t(ctx.mask(ctx.expand(a, &shape)?.eq(0f64)?)?)
        }
        (Select, [C(c), a, b]) => Ok(if *c != 0.0 { a.clone() } else { b.clone() }),
        (Select, [c, a, b]) => {
            let shape = ctx.common_shape(&[c, a, b])?;
            t(ctx.truth(c, &shape)?.where_cond(&ctx.expand(a, &shape)?, &ctx.expand(b, &shape)?)?)
        }
        _ => Err(RunError::new(format!("`{}` got {} operands", op.name(), args.len()))),
    }
}

/// A one-argument op with the op table's own `f64` semantics, element by element, on the
/// CPU: for the primitives Candle has no kernel for (`log1p`, `expm1`, `erfc`), and for
/// `sigmoid`, whose Candle kernel `1 / (1 + e^-x)` underflows to 0 from `x = -88.7` in `f32`
/// where the true value is still representable. Its backward is the op table's derivative,
/// composed. Other devices compose the forward ([`log1p`], [`expm1`], [`erfc`], Candle's
/// `sigmoid`).
struct Exact(ScalarOp);

impl candle_core::CustomOp1 for Exact {
    fn name(&self) -> &'static str {
        "exp-exact-unary"
    }

    fn cpu_fwd(
        &self,
        storage: &candle_core::CpuStorage,
        layout: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, Shape)> {
        use candle_core::CpuStorage as S;
        let op = self.0;
        let Some((a, b)) = layout.contiguous_offsets() else {
            candle_core::bail!("`{}` needs a contiguous input", op.name())
        };
        let out = match storage {
            S::F32(v) => S::F32(map_exact(&v[a..b], |x| op.eval(&[f64::from(x)]) as f32)),
            S::F64(v) => S::F64(map_exact(&v[a..b], |x| op.eval(&[x]))),
            other => candle_core::bail!(
                "`{}` needs float input, got {:?}",
                op.name(),
                candle_core::backend::BackendStorage::dtype(other)
            ),
        };
        Ok((out, layout.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let Some(rule) = self.0.derivative(0) else { return Ok(None) };
        let ctx = Ctx { dtype: arg.dtype(), device: arg.device().clone(), shape: arg.shape().clone() };
        let d = partial(&ctx, &rule, &arg.detach(), &res.detach()).map_err(|e| candle_core::Error::Msg(e.message))?;
        Ok(Some(grad.mul(&ctx.expand(&d, arg.shape()).map_err(|e| candle_core::Error::Msg(e.message))?)?))
    }
}

/// `f` of every element, split over the rayon pool from 32k elements (as the compiled
/// kernels are).
fn map_exact<T: Copy + Send + Sync + Default>(xs: &[T], f: impl Fn(T) -> T + Sync) -> Vec<T> {
    use rayon::prelude::*;
    const CHUNK: usize = 8192;
    let mut out = vec![T::default(); xs.len()];
    let fill = |(o, i): (&mut [T], &[T])| o.iter_mut().zip(i).for_each(|(o, &x)| *o = f(x));
    if xs.len() < 4 * CHUNK {
        fill((&mut out, xs));
    } else {
        out.par_chunks_mut(CHUNK).zip(xs.par_chunks(CHUNK)).for_each(fill);
    }
    out
}

/// A derivative rule of the op table evaluated on tensors.
fn partial(ctx: &Ctx, e: &exp_ops::DExpr, arg: &Tensor, res: &Tensor) -> Result<Val> {
    Ok(match e {
        exp_ops::DExpr::Arg(_) => Val::T(arg.clone()),
        exp_ops::DExpr::Result => Val::T(res.clone()),
        exp_ops::DExpr::Const(c) => Val::Const(*c),
        exp_ops::DExpr::Op(op, xs) => {
            let args = xs.iter().map(|x| partial(ctx, x, arg, res)).collect::<Result<Vec<_>>>()?;
            apply(ctx, *op, &args)?
        }
    })
}

/// `ln(1 + x)` by Kahan's correction: with `u = 1 + x` rounded, `log(u) * x / (u - 1)` is
/// accurate to a few ulps where `log` is (Goldberg, 1991, theorem 4); `x` itself where `u`
/// rounds to 1, and `u` where it is infinite. Computed detached: [`eval_unary`] gives the
/// gradient.
fn log1p(x: &Tensor) -> Result<Tensor> {
    let u = x.affine(1.0, 1.0)?;
    let d = u.affine(1.0, -1.0)?;
    let corrected = u.log()?.mul(&x.div(&d)?)?;
    let r = d.eq(0f64)?.where_cond(x, &corrected)?;
    Ok(u.eq(f64::INFINITY)?.where_cond(&u, &r)?)
}

/// `e^x - 1` by Kahan's correction: with `u = e^x` rounded, `(u - 1) * x / log(u)`; `x`
/// itself where `u` rounds to 1, -1 where `u - 1` does, and `u` where it is infinite.
fn expm1(x: &Tensor) -> Result<Tensor> {
    let u = x.exp()?;
    let um1 = u.affine(1.0, -1.0)?;
    let corrected = um1.mul(&x.div(&u.log()?)?)?;
    let r = u.eq(1f64)?.where_cond(x, &corrected)?;
    let r = um1.eq(-1f64)?.where_cond(&um1, &r)?;
    Ok(u.eq(f64::INFINITY)?.where_cond(&u, &r)?)
}

/// `erfc(x)` by the Chebyshev fit of Numerical Recipes (`erfcc`, fractional error below
/// 1.2e-7): `t exp(-x^2 + P(t))`, `t = 1 / (1 + |x| / 2)`, for `x >= 0`, and `2 - erfc(-x)`
/// below; the JIT evaluates the same fit.
fn erfc(x: &Tensor) -> Result<Tensor> {
    const P: [f64; 10] = [
        0.17087277,
        -0.82215223,
        1.48851587,
        -1.13520398,
        0.27886807,
        -0.18628806,
        0.09678418,
        0.37409196,
        1.00002368,
        -1.26551223,
    ];
    let ax = x.abs()?;
    let t = ax.affine(0.5, 1.0)?.recip()?;
    let mut q = t.affine(P[0], P[1])?;
    for c in &P[2..] {
        q = q.mul(&t)?.affine(1.0, *c)?;
    }
    let pos = t.mul(&q.sub(&ax.sqr()?)?.exp()?)?;
    let neg = pos.affine(-1.0, 2.0)?;
    Ok(x.ge(0f64)?.where_cond(&pos, &neg)?)
}

/// `|x|` whose derivative is `sign(x)`, zero at zero as the op table says (Candle's own
/// `abs` gives +1 there).
fn abs(x: &Tensor) -> Result<Tensor> {
    Ok(x.mul(&x.sign()?.detach())?)
}

/// `x^n` for an integer `n`, by repeated squaring, so negative bases work and the gradient
/// is exact.
fn powi(x: &Tensor, n: i64) -> Result<Tensor> {
    if n == 0 {
        return Ok(x.ones_like()?);
    }
    let (mut base, mut e, mut acc): (Tensor, u64, Option<Tensor>) = (x.clone(), n.unsigned_abs(), None);
    loop {
        if e & 1 == 1 {
            acc = Some(match acc {
                None => base.clone(),
                Some(a) => a.mul(&base)?,
            });
        }
        e >>= 1;
        if e == 0 {
            break;
        }
        base = base.sqr()?;
    }
    let pos = acc.expect("n != 0 sets a bit");
    Ok(if n < 0 { pos.recip()? } else { pos })
}

/// `a ^ b` with `f64::powf` semantics: negative bases with integer exponents, `x^0 = 1`,
/// `0^b` for either sign of `b`.
fn pow(ctx: &Ctx, a: &Val, b: &Val) -> Result<Tensor> {
    match (a, b) {
        (Val::T(x), Val::Const(e)) if e.fract() == 0.0 && e.abs() <= 64.0 => powi(x, *e as i64),
        (Val::T(x), Val::Const(e)) => Ok(x.powf(*e)?),
        (Val::Const(c), Val::T(y)) if *c > 0.0 && c.is_finite() => Ok(y.affine(c.ln(), 0.0)?.exp()?),
        _ => general_pow(ctx, a, b),
    }
}

/// `exp(b * ln|a|)`, times the sign of `a` for odd integer `b` and `NaN` for a negative `a`
/// with a non-integer `b`; `1` where `b = 0` (or `a = 1` with `b = NaN`), as `f64::powf`.
fn general_pow(ctx: &Ctx, a: &Val, b: &Val) -> Result<Tensor> {
    let [x, y] = ctx.aligned([a, b])?;
    let magnitude = y.mul(&abs(&x)?.log()?)?.exp()?;
    let d = y.detach();
    let is_int = d.floor()?.eq(&d)?;
    let odd = d.affine(0.5, 0.0)?.floor()?.affine(-2.0, 0.0)?.add(&d)?.eq(1f64)?;
    let (one, minus, nan) = (d.ones_like()?, d.ones_like()?.neg()?, d.ones_like()?.affine(f64::NAN, 0.0)?);
    let negative = odd.where_cond(&minus, &one)?;
    let factor = x.detach().lt(0f64)?.where_cond(&is_int.where_cond(&negative, &nan)?, &one)?;
    let value = magnitude.mul(&factor)?;
    let unit = d.eq(0f64)?.add(&x.detach().eq(1f64)?.mul(&d.ne(&d)?)?)?.ne(0u8)?;
    Ok(unit.where_cond(&one, &value)?)
}

#[cfg(test)]
#[path = "scalar_tests.rs"]
mod tests;
