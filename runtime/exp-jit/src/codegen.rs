//! Lowering of a [`ScalarFn`] to one cranelift function that processes four `f32` lanes
//! (`F32X4`) per iteration.
//!
//! The generated function is
//! `extern "C" fn(ins: *const *const f32, masks: *const usize, outs: *const *mut f32, n: usize)`:
//! `n` is a multiple of 4, input `i` of lane group at byte offset `off` is read at
//! `ins[i] + (off & masks[i])`, so a mask of `0` broadcasts a 4-wide splat buffer (a scalar
//! input) and a mask of `!0` streams a slice. Outputs are stored at `outs[j] + off`.
//! Conditionals are branch-free: `fcmp` masks, `bitselect`, and `band` with `1.0`.

use std::collections::HashMap;

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, AbiParam, FuncRef, InstBuilder, MemFlagsData, Signature, Value};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::JITModule;
use cranelift_module::{FuncId, Linkage, Module};
use exp_ir::{InstOp, Operand, ScalarFn, ScalarId};
use exp_ops::ScalarOp;

use crate::math::{self, Libcall};
use crate::JitError;

const V: types::Type = types::F32X4;
const VI: types::Type = types::I32X4;

/// Checks that every operand is defined before use and every op has its arity.
pub(crate) fn validate(f: &ScalarFn) -> Result<(), JitError> {
    let invalid = |reason: String| JitError::Invalid { name: f.name.clone(), reason };
    let mut defined = std::collections::HashSet::new();
    let check = |defined: &std::collections::HashSet<ScalarId>, op: &Operand| match op {
        Operand::Input(i) if (*i as usize) < f.inputs.len() => Ok(()),
        Operand::Input(i) => Err(invalid(format!("reads input #{i} of {}", f.inputs.len()))),
        Operand::Value(id) if defined.contains(id) => Ok(()),
        Operand::Value(id) => Err(invalid(format!("reads v{} before it is defined", id.0))),
    };
    for inst in &f.body {
        if inst.args.len() != inst.op.arity() {
            return Err(invalid(format!(
                "v{} has {} operands, expected {}",
                inst.result.0,
                inst.args.len(),
                inst.op.arity()
            )));
        }
        for a in &inst.args {
            check(&defined, a)?;
        }
        if !defined.insert(inst.result) {
            return Err(invalid(format!("v{} is defined twice", inst.result.0)));
        }
    }
    f.outputs.iter().try_for_each(|o| check(&defined, &o.value))
}

/// The libcalls `f` needs (ops without an inline polynomial, and `pow` without a small
/// constant integer exponent).
pub(crate) fn libcalls(f: &ScalarFn) -> Vec<Libcall> {
    let consts = constants(f);
    let mut out = Vec::new();
    for inst in &f.body {
        let InstOp::Op(op) = &inst.op else { continue };
        let call = match op {
            ScalarOp::Pow if small_int_exponent(&consts, &inst.args[1]).is_none() => Libcall::Pow,
            ScalarOp::Log => Libcall::Log,
            ScalarOp::Log1p => Libcall::Log1p,
            ScalarOp::Sin => Libcall::Sin,
            ScalarOp::Cos => Libcall::Cos,
            _ => continue,
        };
        if !out.contains(&call) {
            out.push(call);
        }
    }
    out
}

fn constants(f: &ScalarFn) -> HashMap<ScalarId, f64> {
    f.body
        .iter()
        .filter_map(|i| match i.op {
            InstOp::Const(c) => Some((i.result, c)),
            InstOp::Op(_) => None,
        })
        .collect()
}

/// The exponent when it is a constant integer small enough for repeated multiplication.
fn small_int_exponent(consts: &HashMap<ScalarId, f64>, exp: &Operand) -> Option<i32> {
    let Operand::Value(id) = exp else { return None };
    let c = *consts.get(id)?;
    (c.fract() == 0.0 && c.abs() <= 8.0).then_some(c as i32)
}

/// Declares and defines the kernel for `f` in `module`; `imports` are the declared libcalls.
pub(crate) fn define(module: &mut JITModule, f: &ScalarFn, imports: &[(Libcall, FuncId)]) -> Result<FuncId, String> {
    let ptr = module.target_config().pointer_type();
    let mut sig = module.make_signature();
    sig.params.extend([AbiParam::new(ptr), AbiParam::new(ptr), AbiParam::new(ptr), AbiParam::new(ptr)]);
    let id = module.declare_function("kernel", Linkage::Export, &sig).map_err(|e| e.to_string())?;
    let mut ctx = module.make_context();
    ctx.func.signature = sig;
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
    let calls: HashMap<Libcall, FuncRef> =
        imports.iter().map(|(c, fid)| (*c, module.declare_func_in_func(*fid, b.func))).collect();

    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let [ins, masks, outs, n] = b.block_params(entry).try_into().map_err(|_| "bad kernel params")?;
    let flags = MemFlagsData::new().with_notrap();
    let used: Vec<u32> = (0..f.inputs.len() as u32)
        .filter(|i| {
            f.body
                .iter()
                .flat_map(|x| &x.args)
                .chain(f.outputs.iter().map(|o| &o.value))
                .any(|a| *a == Operand::Input(*i))
        })
        .collect();
    let mut bases = Vec::new();
    for &i in &used {
        let off = 8 * i as i32;
        bases.push((b.ins().load(ptr, flags, ins, off), b.ins().load(ptr, flags, masks, off)));
    }
    let obases: Vec<Value> = (0..f.outputs.len()).map(|j| b.ins().load(ptr, flags, outs, 8 * j as i32)).collect();
    let two = b.ins().iconst(ptr, 2);
    let bytes = b.ins().ishl(n, two);
    let zero = b.ins().iconst(ptr, 0);
    let header = b.create_block();
    let off = b.append_block_param(header, ptr);
    let body = b.create_block();
    let exit = b.create_block();
    b.ins().jump(header, &[zero.into()]);

    b.switch_to_block(header);
    let more = b.ins().icmp(IntCC::UnsignedLessThan, off, bytes);
    b.ins().brif(more, body, &[], exit, &[]);

    b.switch_to_block(body);
    let mut inputs = HashMap::new();
    for (&i, &(base, mask)) in used.iter().zip(&bases) {
        let o = b.ins().band(off, mask);
        let addr = b.ins().iadd(base, o);
        inputs.insert(i, b.ins().load(V, flags, addr, 0));
    }
    let consts = constants(f);
    let mut lw = Lower { b: &mut b, calls: &calls };
    let mut values: HashMap<ScalarId, Value> = HashMap::new();
    let read = |values: &HashMap<ScalarId, Value>, op: &Operand| match op {
        Operand::Input(i) => inputs[i],
        Operand::Value(id) => values[id],
    };
    for inst in &f.body {
        let args: Vec<Value> = inst.args.iter().map(|a| read(&values, a)).collect();
        let v = match inst.op {
            InstOp::Const(c) => lw.splat(c as f32),
            InstOp::Op(ScalarOp::Pow) => match small_int_exponent(&consts, &inst.args[1]) {
                Some(k) => lw.powi(args[0], k),
                None => lw.lanes(Libcall::Pow, &args),
            },
            InstOp::Op(op) => lw.op(op, &args),
        };
        values.insert(inst.result, v);
    }
    for (o, &base) in f.outputs.iter().zip(&obases) {
        let v = read(&values, &o.value);
        let addr = lw.b.ins().iadd(base, off);
        lw.b.ins().store(flags, v, addr, 0);
    }
    let sixteen = b.ins().iconst(ptr, 16);
    let next = b.ins().iadd(off, sixteen);
    b.ins().jump(header, &[next.into()]);

    b.switch_to_block(exit);
    b.ins().return_(&[]);
    b.seal_all_blocks();
    b.finalize(module.target_config());
    module.define_function(id, &mut ctx).map_err(|e| format!("{e:?}"))?;
    module.clear_context(&mut ctx);
    Ok(id)
}

/// The signature of a libcall: `f32` arguments to one `f32`.
pub(crate) fn libcall_signature(module: &JITModule, arity: usize) -> Signature {
    let mut sig = module.make_signature();
    sig.params.extend((0..arity).map(|_| AbiParam::new(types::F32)));
    sig.returns.push(AbiParam::new(types::F32));
    sig
}

/// Emits vector instructions for the ops of one lane group.
pub(crate) struct Lower<'a, 'b> {
    pub(crate) b: &'a mut FunctionBuilder<'b>,
    calls: &'a HashMap<Libcall, FuncRef>,
}

impl Lower<'_, '_> {
    /// A vector with every lane `c`.
    pub(crate) fn splat(&mut self, c: f32) -> Value {
        let s = self.b.ins().f32const(c);
        self.b.ins().splat(V, s)
    }

    /// A vector with every lane the `i32` `c`.
    pub(crate) fn splat_int(&mut self, c: i32) -> Value {
        let s = self.b.ins().iconst(types::I32, i64::from(c));
        self.b.ins().splat(VI, s)
    }

    /// All-ones lanes where `a cc b` holds, as `F32X4` bits.
    pub(crate) fn mask(&mut self, cc: FloatCC, a: Value, b: Value) -> Value {
        let m = self.b.ins().fcmp(cc, a, b);
        self.b.ins().bitcast(V, MemFlagsData::new(), m)
    }

    /// `mask ? a : b` per lane.
    pub(crate) fn sel(&mut self, mask: Value, a: Value, b: Value) -> Value {
        self.b.ins().bitselect(mask, a, b)
    }

    /// `1.0` where the mask is set, `0.0` elsewhere.
    fn truth(&mut self, mask: Value) -> Value {
        let one = self.splat(1.0);
        self.b.ins().band(mask, one)
    }

    /// The nonzero test used for booleans (`NaN` counts as true, as in the op table).
    fn nonzero(&mut self, a: Value) -> Value {
        let zero = self.splat(0.0);
        self.mask(FloatCC::NotEqual, a, zero)
    }

    /// Reinterprets float lanes as integer lanes and back.
    pub(crate) fn as_ints(&mut self, a: Value) -> Value {
        self.b.ins().bitcast(VI, MemFlagsData::new(), a)
    }

    /// Reinterprets integer lanes as float lanes.
    pub(crate) fn as_floats(&mut self, a: Value) -> Value {
        self.b.ins().bitcast(V, MemFlagsData::new(), a)
    }

    fn op(&mut self, op: ScalarOp, a: &[Value]) -> Value {
        use ScalarOp::*;
        let cmp = |s: &mut Self, cc| {
            let m = s.mask(cc, a[0], a[1]);
            s.truth(m)
        };
        match op {
            Add => self.b.ins().fadd(a[0], a[1]),
            Sub => self.b.ins().fsub(a[0], a[1]),
            Mul => self.b.ins().fmul(a[0], a[1]),
            Div => self.b.ins().fdiv(a[0], a[1]),
            Neg => self.b.ins().fneg(a[0]),
            Abs => self.b.ins().fabs(a[0]),
            Sqrt => self.b.ins().sqrt(a[0]),
            Floor => self.b.ins().floor(a[0]),
            Min | Max => {
                let cc = if op == Min { FloatCC::LessThanOrEqual } else { FloatCC::GreaterThanOrEqual };
                let m = self.mask(cc, a[0], a[1]);
                self.sel(m, a[0], a[1])
            }
            Lt => cmp(self, FloatCC::LessThan),
            Le => cmp(self, FloatCC::LessThanOrEqual),
            Gt => cmp(self, FloatCC::GreaterThan),
            Ge => cmp(self, FloatCC::GreaterThanOrEqual),
            Eq => cmp(self, FloatCC::Equal),
            Ne => cmp(self, FloatCC::NotEqual),
            And | Or => {
                let (x, y) = (self.nonzero(a[0]), self.nonzero(a[1]));
                let m = if op == And { self.b.ins().band(x, y) } else { self.b.ins().bor(x, y) };
                self.truth(m)
            }
            Not => {
                let zero = self.splat(0.0);
                let m = self.mask(FloatCC::Equal, a[0], zero);
                self.truth(m)
            }
            Select => {
                let m = self.nonzero(a[0]);
                self.sel(m, a[1], a[2])
            }
            Sign => {
                let (zero, one, minus) = (self.splat(0.0), self.splat(1.0), self.splat(-1.0));
                let neg = self.mask(FloatCC::LessThan, a[0], zero);
                let inner = self.sel(neg, minus, a[0]);
                let pos = self.mask(FloatCC::GreaterThan, a[0], zero);
                self.sel(pos, one, inner)
            }
            Exp => math::exp(self, a[0]),
            Tanh => math::tanh(self, a[0]),
            Sigmoid => math::sigmoid(self, a[0]),
            Log => self.lanes(Libcall::Log, a),
            Log1p => self.lanes(Libcall::Log1p, a),
            Expm1 => math::expm1(self, a[0]),
            Erfc => math::erfc(self, a[0]),
            Sin => self.lanes(Libcall::Sin, a),
            Cos => self.lanes(Libcall::Cos, a),
            Erf => math::erf(self, a[0]),
            Pow => self.lanes(Libcall::Pow, a),
        }
    }

    /// `x ^ k` for a small integer `k` by binary exponentiation; negative `k` uses `(1/x)^|k|`
    /// so that results near the ends of the `f32` range overflow and underflow like `powf`.
    fn powi(&mut self, x: Value, k: i32) -> Value {
        let mut base = if k < 0 {
            let one = self.splat(1.0);
            self.b.ins().fdiv(one, x)
        } else {
            x
        };
        let (mut n, mut acc) = (k.unsigned_abs(), None);
        while n > 0 {
            if n & 1 == 1 {
                acc = Some(match acc {
                    None => base,
                    Some(r) => self.b.ins().fmul(r, base),
                });
            }
            n >>= 1;
            if n > 0 {
                base = self.b.ins().fmul(base, base);
            }
        }
        acc.unwrap_or_else(|| self.splat(1.0))
    }

    /// Calls the registered Rust function for `call` once per lane.
    fn lanes(&mut self, call: Libcall, a: &[Value]) -> Value {
        let fr = self.calls[&call];
        let mut out = a[0];
        for lane in 0..4u8 {
            let args: Vec<Value> = a.iter().map(|&v| self.b.ins().extractlane(v, lane)).collect();
            let inst = self.b.ins().call(fr, &args);
            let r = self.b.inst_results(inst)[0];
            out = self.b.ins().insertlane(out, r, lane);
        }
        out
    }
}
