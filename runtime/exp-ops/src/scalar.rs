//! Scalar ops: the elementwise primitives of scalar `fn`s, optimizer update rules and
//! schedules, declared once in the `scalar_ops!` table below (Candle `op.rs` style).
//!
//! Each row gives the variant, the language/IR name, the arity, whether the language can
//! call it by name (`exp(x)`; operators such as `+` and `if` reach the others), and its
//! `f64` semantics. Booleans are `0.0` and `1.0`; any nonzero value counts as true.
//! Derivative rules are in [`ScalarOp::derivative`], as expression trees a symbolic
//! differentiator can splice in. Tests: `scalar_tests.rs`, against finite differences.

use std::f64::consts::PI;

use serde::{Deserialize, Serialize};

fn truth(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

macro_rules! scalar_ops {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal, $arity:literal, $callable:literal, |$a:ident| $eval:expr;)*) => {
        /// An elementwise primitive on `f64` values.
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
        pub enum ScalarOp {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ScalarOp {
            /// Every scalar op, in table order.
            pub const ALL: &'static [ScalarOp] = &[$(ScalarOp::$variant),*];

            /// The lowercase name the language and the IR use (`"add"`, `"select"`).
            pub fn name(self) -> &'static str {
                match self { $(ScalarOp::$variant => $name,)* }
            }

            /// Number of arguments.
            pub fn arity(self) -> usize {
                match self { $(ScalarOp::$variant => $arity,)* }
            }

            /// The op's description, from the table.
            pub fn doc(self) -> &'static str {
                match self { $(ScalarOp::$variant => concat!($($doc),*),)* }
            }

            /// Whether the language can call the op by its name, like `exp(x)`.
            pub fn is_callable(self) -> bool {
                match self { $(ScalarOp::$variant => $callable,)* }
            }

            fn apply(self, args: &[f64]) -> f64 {
                match self { $(ScalarOp::$variant => { let $a = args; $eval })* }
            }
        }
    };
}

scalar_ops! {
    /// `a + b`.
    Add = "add", 2, false, |a| a[0] + a[1];
    /// `a - b`.
    Sub = "sub", 2, false, |a| a[0] - a[1];
    /// `a * b`.
    Mul = "mul", 2, false, |a| a[0] * a[1];
    /// `a / b`.
    Div = "div", 2, false, |a| a[0] / a[1];
    /// `a ^ b`.
    Pow = "pow", 2, false, |a| a[0].powf(a[1]);
    /// `-a`.
    Neg = "neg", 1, false, |a| -a[0];
    /// `e ^ a`.
    Exp = "exp", 1, true, |a| a[0].exp();
    /// Natural logarithm.
    Log = "log", 1, true, |a| a[0].ln();
    /// `ln(1 + a)`, accurate for small `a`.
    Log1p = "log1p", 1, true, |a| a[0].ln_1p();
    /// `e ^ a - 1`, accurate for small `a`.
    Expm1 = "expm1", 1, true, |a| a[0].exp_m1();
    /// Square root.
    Sqrt = "sqrt", 1, true, |a| a[0].sqrt();
    /// Absolute value.
    Abs = "abs", 1, true, |a| a[0].abs();
    /// Hyperbolic tangent.
    Tanh = "tanh", 1, true, |a| a[0].tanh();
    /// Logistic function `1 / (1 + e ^ -a)`.
    Sigmoid = "sigmoid", 1, true, |a| sigmoid(a[0]);
    /// Sine.
    Sin = "sin", 1, true, |a| a[0].sin();
    /// Cosine.
    Cos = "cos", 1, true, |a| a[0].cos();
    /// Gauss error function.
    Erf = "erf", 1, true, |a| libm::erf(a[0]);
    /// Complementary error function `1 - erf(a)`, accurate where it is small.
    Erfc = "erfc", 1, true, |a| libm::erfc(a[0]);
    /// Smaller argument (`a` on ties).
    Min = "min", 2, true, |a| if a[0] <= a[1] { a[0] } else { a[1] };
    /// Larger argument (`a` on ties).
    Max = "max", 2, true, |a| if a[0] >= a[1] { a[0] } else { a[1] };
    /// `a < b`.
    Lt = "lt", 2, false, |a| truth(a[0] < a[1]);
    /// `a <= b`.
    Le = "le", 2, false, |a| truth(a[0] <= a[1]);
    /// `a > b`.
    Gt = "gt", 2, false, |a| truth(a[0] > a[1]);
    /// `a >= b`.
    Ge = "ge", 2, false, |a| truth(a[0] >= a[1]);
    /// `a == b`.
    Eq = "eq", 2, false, |a| truth(a[0] == a[1]);
    /// `a != b`.
    Ne = "ne", 2, false, |a| truth(a[0] != a[1]);
    /// Logical and.
    And = "and", 2, false, |a| truth(a[0] != 0.0 && a[1] != 0.0);
    /// Logical or.
    Or = "or", 2, false, |a| truth(a[0] != 0.0 || a[1] != 0.0);
    /// Logical not.
    Not = "not", 1, false, |a| truth(a[0] == 0.0);
    /// `if c { x } else { y }` on values: `select(c, x, y)`.
    Select = "select", 3, false, |a| if a[0] != 0.0 { a[1] } else { a[2] };
    /// Largest integer not above `a`.
    Floor = "floor", 1, true, |a| a[0].floor();
    /// `-1`, `0` or `1` by the sign of `a` (`0` at zero, unlike `f64::signum`).
    Sign = "sign", 1, true, |a| if a[0] > 0.0 { 1.0 } else if a[0] < 0.0 { -1.0 } else { a[0] };
}

/// A partial derivative as an expression over the op's arguments and result.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub enum DExpr {
    /// The op's argument with this index.
    Arg(usize),
    /// The op's result, reused so that `d exp(x) = exp(x)` costs nothing.
    Result,
    /// A constant.
    Const(f64),
    /// An op applied to sub-expressions.
    Op(ScalarOp, Vec<DExpr>),
}

impl DExpr {
    /// Evaluates the expression for the given arguments and result.
    pub fn eval(&self, args: &[f64], result: f64) -> f64 {
        match self {
            DExpr::Arg(i) => args.get(*i).copied().unwrap_or(f64::NAN),
            DExpr::Result => result,
            DExpr::Const(v) => *v,
            DExpr::Op(op, xs) => {
                let vals: Vec<f64> = xs.iter().map(|x| x.eval(args, result)).collect();
                op.eval(&vals)
            }
        }
    }
}

fn arg(i: usize) -> DExpr {
    DExpr::Arg(i)
}

fn k(v: f64) -> DExpr {
    DExpr::Const(v)
}

fn op(o: ScalarOp, xs: Vec<DExpr>) -> DExpr {
    DExpr::Op(o, xs)
}

/// `select(cond, 1, 0)`: the indicator used to route gradients through min, max, select.
fn indicator(cond: DExpr) -> DExpr {
    op(ScalarOp::Select, vec![cond, k(1.0), k(0.0)])
}

impl ScalarOp {
    /// The op named `name` (`"exp"` gives [`ScalarOp::Exp`]).
    pub fn from_name(name: &str) -> Option<ScalarOp> {
        ScalarOp::ALL.iter().copied().find(|op| op.name() == name)
    }

    /// Applies the op; `NaN` when `args` does not have [`ScalarOp::arity`] values.
    pub fn eval(self, args: &[f64]) -> f64 {
        if args.len() == self.arity() {
            self.apply(args)
        } else {
            f64::NAN
        }
    }

    /// The partial derivative with respect to argument `i`, or `None` when the op is
    /// piecewise constant in it (comparisons, logic, `floor`, `sign`, the condition of
    /// `select`) so no gradient flows, or when `i` is out of range.
    ///
    /// Ties route the whole gradient to one side, matching the evaluation: `min` and `max`
    /// send it to `a`. `abs` uses `sign`, so its derivative at zero is zero as in PyTorch.
    /// The rules avoid cancellation, so the derivative keeps its relative accuracy in `f32`
    /// where the function saturates: `e^x` for `expm1`, `sigmoid(x) sigmoid(-x)` for
    /// `sigmoid`, `4 sigmoid(2x) sigmoid(-2x)` for `tanh`.
    pub fn derivative(self, i: usize) -> Option<DExpr> {
        use ScalarOp::*;
        let (a, b) = (arg(0), arg(1));
        let d = match (self, i) {
            (Add, 0 | 1) | (Sub, 0) => k(1.0),
            (Sub, 1) | (Neg, 0) => k(-1.0),
            (Mul, 0) => b,
            (Mul, 1) => a,
            (Div, 0) => op(Div, vec![k(1.0), b]),
            (Div, 1) => op(Neg, vec![op(Div, vec![DExpr::Result, b])]),
            (Pow, 0) => op(Mul, vec![b.clone(), op(Pow, vec![a, op(Sub, vec![b, k(1.0)])])]),
            (Pow, 1) => op(Mul, vec![DExpr::Result, op(Log, vec![a])]),
            (Exp, 0) => DExpr::Result,
            (Log, 0) => op(Div, vec![k(1.0), a]),
            (Log1p, 0) => op(Div, vec![k(1.0), op(Add, vec![k(1.0), a])]),
            // e^x, not expm1(x) + 1, which cancels to 0 for negative x.
            (Expm1, 0) => op(Exp, vec![a]),
            (Sqrt, 0) => op(Div, vec![k(0.5), DExpr::Result]),
            (Abs, 0) => op(Sign, vec![a]),
            // 1 - tanh^2 = 4 sigmoid(2x) sigmoid(-2x): `1 - tanh^2` cancels where tanh is near 1.
            (Tanh, 0) => op(
                Mul,
                vec![
                    k(4.0),
                    op(
                        Mul,
                        vec![
                            op(Sigmoid, vec![op(Mul, vec![k(2.0), a.clone()])]),
                            op(Sigmoid, vec![op(Mul, vec![k(-2.0), a])]),
                        ],
                    ),
                ],
            ),
            // sigmoid(x) (1 - sigmoid(x)) = sigmoid(x) sigmoid(-x), without the cancellation.
            (Sigmoid, 0) => op(Mul, vec![DExpr::Result, op(Sigmoid, vec![op(Neg, vec![a])])]),
            (Sin, 0) => op(Cos, vec![a]),
            (Cos, 0) => op(Neg, vec![op(Sin, vec![a])]),
            (Erf, 0) => op(Mul, vec![k(2.0 / PI.sqrt()), op(Exp, vec![op(Neg, vec![op(Mul, vec![a.clone(), a])])])]),
            (Erfc, 0) => op(Mul, vec![k(-2.0 / PI.sqrt()), op(Exp, vec![op(Neg, vec![op(Mul, vec![a.clone(), a])])])]),
            (Min, 0) => indicator(op(Le, vec![a, b])),
            (Min, 1) => indicator(op(Gt, vec![a, b])),
            (Max, 0) => indicator(op(Ge, vec![a, b])),
            (Max, 1) => indicator(op(Lt, vec![a, b])),
            (Select, 1) => indicator(arg(0)),
            (Select, 2) => indicator(op(Not, vec![arg(0)])),
            _ => return None,
        };
        Some(d)
    }
}

/// The logistic function, written so that neither branch overflows.
fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let z = x.exp();
        z / (1.0 + z)
    }
}

#[cfg(test)]
#[path = "scalar_tests.rs"]
mod tests;
