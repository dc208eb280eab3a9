//! Transcendental functions for the JIT: inline `F32X4` polynomials for `exp`, `expm1`,
//! `tanh`, `sigmoid`, `erf` and `erfc`, and per-lane calls into Rust for `log`, `log1p`,
//! `sin`, `cos` and general `pow`.
//!
//! The polynomials follow Cephes `expf`/`tanhf`: Cody–Waite range reduction with the
//! `1.5 * 2^23` magic-number rounding, clamps as `fcmp` + `bitselect` (cranelift's
//! `fmin`/`fmax` are slower, TOOLCHAIN.md §4.2), and `2^k` applied as two exponent-field
//! factors so that results down to the subnormal range come out right.
//! The libcalls evaluate the op table's own `f64` semantics and round, so they match
//! [`exp_ir::ScalarFn::eval`] exactly (one call per lane, about 4× slower than a polynomial).

use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use exp_ops::ScalarOp;

use crate::codegen::Lower;

/// A Rust function the generated code calls per lane.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Libcall {
    /// `powf`, for exponents that are not small constant integers.
    Pow,
    /// Natural logarithm.
    Log,
    /// `ln(1 + x)`.
    Log1p,
    /// Sine.
    Sin,
    /// Cosine.
    Cos,
}

impl Libcall {
    /// The symbol name, the number of `f32` arguments and the address.
    pub(crate) fn symbol(self) -> (&'static str, usize, *const u8) {
        match self {
            Libcall::Pow => ("exp_jit_pow", 2, rt_pow as *const u8),
            Libcall::Log => ("exp_jit_log", 1, rt_log as *const u8),
            Libcall::Log1p => ("exp_jit_log1p", 1, rt_log1p as *const u8),
            Libcall::Sin => ("exp_jit_sin", 1, rt_sin as *const u8),
            Libcall::Cos => ("exp_jit_cos", 1, rt_cos as *const u8),
        }
    }

    /// Every libcall, for registering the symbols.
    pub(crate) const ALL: [Libcall; 5] = [Libcall::Pow, Libcall::Log, Libcall::Log1p, Libcall::Sin, Libcall::Cos];
}

/// The op table's `f64` result, rounded (no allocation: this runs once per lane).
fn eval1(op: ScalarOp, a: f32) -> f32 {
    op.eval(&[f64::from(a)]) as f32
}

extern "C" fn rt_pow(a: f32, b: f32) -> f32 {
    ScalarOp::Pow.eval(&[f64::from(a), f64::from(b)]) as f32
}

extern "C" fn rt_log(a: f32) -> f32 {
    eval1(ScalarOp::Log, a)
}

extern "C" fn rt_log1p(a: f32) -> f32 {
    eval1(ScalarOp::Log1p, a)
}

extern "C" fn rt_sin(a: f32) -> f32 {
    eval1(ScalarOp::Sin, a)
}

extern "C" fn rt_cos(a: f32) -> f32 {
    eval1(ScalarOp::Cos, a)
}

/// Horner evaluation of `c[0] * x^(n-1) + ... + c[n-1]`.
fn horner(lw: &mut Lower<'_, '_>, x: Value, coeffs: &[f32]) -> Value {
    let mut acc = lw.splat(coeffs[0]);
    for &c in &coeffs[1..] {
        let m = lw.b.ins().fmul(acc, x);
        let k = lw.splat(c);
        acc = lw.b.ins().fadd(m, k);
    }
    acc
}

/// `exp(x)`: about 1 ulp from a correctly rounded result; `inf` above 88.72, `0` below -103.9,
/// `NaN` for `NaN`.
pub(crate) fn exp(lw: &mut Lower<'_, '_>, x: Value) -> Value {
    let (hi, lo) = (lw.splat(89.0), lw.splat(-104.0));
    let over = lw.mask(FloatCC::GreaterThan, x, hi);
    let x = lw.sel(over, hi, x);
    let under = lw.mask(FloatCC::LessThan, x, lo);
    let x = lw.sel(under, lo, x);
    // k = round(x / ln 2) by adding and subtracting 1.5 * 2^23.
    let (log2e, magic) = (lw.splat(std::f32::consts::LOG2_E), lw.splat(12_582_912.0));
    let scaled = lw.b.ins().fmul(x, log2e);
    let t = lw.b.ins().fadd(scaled, magic);
    let k = lw.b.ins().fsub(t, magic);
    // r = x - k ln 2 with ln 2 split so that k * C1 is exact.
    let (c1, c2) = (lw.splat(0.693_359_4), lw.splat(-2.121_944_4e-4));
    let kc1 = lw.b.ins().fmul(k, c1);
    let r = lw.b.ins().fsub(x, kc1);
    let kc2 = lw.b.ins().fmul(k, c2);
    let r = lw.b.ins().fsub(r, kc2);
    let coeffs = [1.987_569_1e-4, 1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 5e-1];
    let p = horner(lw, r, &coeffs);
    let r2 = lw.b.ins().fmul(r, r);
    let p = lw.b.ins().fmul(p, r2);
    let p = lw.b.ins().fadd(p, r);
    let one = lw.splat(1.0);
    let p = lw.b.ins().fadd(p, one);
    // 2^k = 2^k1 * 2^k2 with k1 = k >> 1, each built in the exponent field.
    let (ti, mi) = (lw.as_ints(t), lw.as_ints(magic));
    let ki = lw.b.ins().isub(ti, mi);
    let one_i = lw.b.ins().iconst(types::I32, 1);
    let k1 = lw.b.ins().sshr(ki, one_i);
    let k2 = lw.b.ins().isub(ki, k1);
    let (bias, shift) = (lw.splat_int(127), lw.b.ins().iconst(types::I32, 23));
    let mut out = p;
    for half in [k1, k2] {
        let biased = lw.b.ins().iadd(half, bias);
        let bits = lw.b.ins().ishl(biased, shift);
        let scale = lw.as_floats(bits);
        out = lw.b.ins().fmul(out, scale);
    }
    out
}

/// `expm1(x) = e^x - 1`: up to `|x| = 1` the Taylor series `x (1 + x/2! + ... + x^10/11!)`,
/// whose first omitted term is under 2.6e-8 of the result there, so small `x` keeps its
/// relative accuracy; above, `exp(x) - 1`, which loses at most a factor `e / (e - 1)` of
/// `exp`'s error. `inf` above 88.72, `-1` below -17, `NaN` for `NaN`.
pub(crate) fn expm1(lw: &mut Lower<'_, '_>, x: Value) -> Value {
    // 1/11!, 1/10!, ..., 1/2!, 1/1!
    let mut coeffs = [0f32; 11];
    let mut factorial = 1f64;
    for k in 1..=11 {
        factorial *= k as f64;
        coeffs[11 - k] = (1.0 / factorial) as f32;
    }
    let p = horner(lw, x, &coeffs);
    let small = lw.b.ins().fmul(p, x);
    let e = exp(lw, x);
    let one = lw.splat(1.0);
    let big = lw.b.ins().fsub(e, one);
    let ax = lw.b.ins().fabs(x);
    let is_small = lw.mask(FloatCC::LessThanOrEqual, ax, one);
    lw.sel(is_small, small, big)
}

/// `tanh(x)`: an odd polynomial below `|x| = 0.625`, `1 - 2 / (exp(2|x|) + 1)` with the sign
/// of `x` above.
pub(crate) fn tanh(lw: &mut Lower<'_, '_>, x: Value) -> Value {
    let z = lw.b.ins().fmul(x, x);
    let coeffs = [-5.704_988_7e-3, 2.063_909e-2, -5.373_971_6e-2, 1.333_144_2e-1, -3.333_328e-1];
    let p = horner(lw, z, &coeffs);
    let pz = lw.b.ins().fmul(p, z);
    let pzx = lw.b.ins().fmul(pz, x);
    let small = lw.b.ins().fadd(pzx, x);
    let ax = lw.b.ins().fabs(x);
    let two_ax = lw.b.ins().fadd(ax, ax);
    let e = exp(lw, two_ax);
    let (one, two) = (lw.splat(1.0), lw.splat(2.0));
    let e1 = lw.b.ins().fadd(e, one);
    let q = lw.b.ins().fdiv(two, e1);
    let big = lw.b.ins().fsub(one, q);
    let sign_bit = lw.splat(-0.0);
    let sign = lw.b.ins().band(x, sign_bit);
    let big = lw.b.ins().bor(big, sign);
    let cut = lw.splat(0.625);
    let is_small = lw.mask(FloatCC::LessThan, ax, cut);
    lw.sel(is_small, small, big)
}

/// `sigmoid(x)`: with `z = exp(-|x|)`, `1 / (1 + z)` for `x >= 0` and `z / (1 + z)` below,
/// as the op table writes it so that neither side overflows.
pub(crate) fn sigmoid(lw: &mut Lower<'_, '_>, x: Value) -> Value {
    let ax = lw.b.ins().fabs(x);
    let nax = lw.b.ins().fneg(ax);
    let z = exp(lw, nax);
    let one = lw.splat(1.0);
    let d = lw.b.ins().fadd(one, z);
    let s = lw.b.ins().fdiv(one, d);
    let zs = lw.b.ins().fmul(z, s);
    let zero = lw.splat(0.0);
    let pos = lw.mask(FloatCC::GreaterThanOrEqual, x, zero);
    lw.sel(pos, s, zs)
}

/// `erfc(|x|)` for `ax = |x|` by the Chebyshev fit of Numerical Recipes (`erfcc`,
/// fractional error below 1.2e-7 for every `ax >= 0`): `t exp(-ax^2 + P(t))`,
/// `t = 1 / (1 + ax / 2)`. It underflows to 0 from `ax ≈ 10`, as `f32` does.
fn erfc_abs(lw: &mut Lower<'_, '_>, ax: Value) -> Value {
    let z = lw.b.ins().fmul(ax, ax);
    let (one, half) = (lw.splat(1.0), lw.splat(0.5));
    let d = lw.b.ins().fmul(ax, half);
    let d = lw.b.ins().fadd(d, one);
    let t = lw.b.ins().fdiv(one, d);
    let fitted = [
        0.170_872_77,
        -0.822_152_23,
        1.488_515_9,
        -1.135_204,
        0.278_868_07,
        -0.186_288_06,
        0.096_784_18,
        0.374_091_96,
        1.000_023_7,
        -1.265_512_2,
    ];
    let q = horner(lw, t, &fitted);
    let arg = lw.b.ins().fsub(q, z);
    let e = exp(lw, arg);
    lw.b.ins().fmul(t, e)
}

/// `erf(x)`, odd: below `|x| = 0.5` the Taylor series through `x^15` (its first omitted term
/// is under 1e-9 there); above, `1 - erfc(|x|)` ([`erfc_abs`]). `±1` from `|x| ≈ 4` on, where
/// `exp` underflows; `NaN` for `NaN`.
pub(crate) fn erf(lw: &mut Lower<'_, '_>, x: Value) -> Value {
    let ax = lw.b.ins().fabs(x);
    let z = lw.b.ins().fmul(ax, ax);
    let taylor = [
        -1.492_565e-5,
        1.205_533_3e-4,
        -8.548_327e-4,
        5.223_977_6e-3,
        -2.686_617e-2,
        1.128_379_2e-1,
        -3.761_263_9e-1,
        std::f32::consts::FRAC_2_SQRT_PI,
    ];
    let p = horner(lw, z, &taylor);
    let small = lw.b.ins().fmul(p, ax);
    let erfc = erfc_abs(lw, ax);
    let (one, half) = (lw.splat(1.0), lw.splat(0.5));
    let big = lw.b.ins().fsub(one, erfc);
    let is_small = lw.mask(FloatCC::LessThan, ax, half);
    let r = lw.sel(is_small, small, big);
    let sign_bit = lw.splat(-0.0);
    let sign = lw.b.ins().band(x, sign_bit);
    lw.b.ins().bor(r, sign)
}

/// `erfc(x) = 1 - erf(x)` without the cancellation of `1 - erf` for large `x`: `erfc(|x|)`
/// ([`erfc_abs`]) for `x >= 0`, `2 - erfc(|x|)` below; `NaN` for `NaN`.
pub(crate) fn erfc(lw: &mut Lower<'_, '_>, x: Value) -> Value {
    let ax = lw.b.ins().fabs(x);
    let pos = erfc_abs(lw, ax);
    let two = lw.splat(2.0);
    let neg = lw.b.ins().fsub(two, pos);
    let zero = lw.splat(0.0);
    let nonneg = lw.mask(FloatCC::GreaterThanOrEqual, x, zero);
    let nan = lw.mask(FloatCC::Unordered, x, x);
    let r = lw.sel(nonneg, pos, neg);
    lw.sel(nan, x, r)
}
