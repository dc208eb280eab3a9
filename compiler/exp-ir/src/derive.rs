//! Symbolic reverse-mode differentiation of scalar functions: from `f(x1, ..., xn) -> y` it
//! builds the vector-Jacobian product `f.vjp(x1, ..., xn, dy) -> (dx1, ..., dxn)`, another
//! [`ScalarFn`], so that any backend that runs scalar functions (the JIT, the composed path)
//! runs the backward too.
//!
//! The result recomputes `f`'s body, then walks it backwards: each instruction's adjoint
//! times the op's partial derivative ([`ScalarOp::derivative`], an expression over the op's
//! arguments and result) is added to its arguments' adjoints. Ops that are piecewise constant
//! in an argument (comparisons, `floor`, a `select` condition) pass it nothing, as in every
//! autograd. Inputs that receive no gradient get the constant 0.
//!
//! A gradient that passed through a `select` branch (or `min`/`max`) is exactly zero where the
//! branch was not taken, and the untaken branch may overflow there: in `select(x > 0, x,
//! exp(x) - 1)` at `x = 100` in `f32`, `exp`'s partial is `inf`, and `0 * inf` would turn the
//! gradient into NaN. Such masked gradients are therefore multiplied as `select(adj, adj *
//! partial, 0)`, which keeps an exact zero zero, and every gradient computed from them is
//! masked too. Unmasked ones (most of any function) use a plain product.

use crate::scalar::{FnOutput, Inst, InstOp, Operand, ScalarFn, ScalarId};
use exp_ops::{DExpr, ScalarOp};
use std::collections::{HashMap, HashSet};

/// The name of the output of [`vjp`] holding the gradient of input `input`.
pub fn grad_name(input: &str) -> String {
    format!("d{input}")
}

/// The vector-Jacobian product of `f`, which must have exactly one output: inputs are `f`'s
/// followed by `dy` (the gradient of the output; `dy_` if `f` has an input `dy`), outputs are `d<input>` for every input in
/// order. `None` when `f` has several outputs or refers to undefined values.
pub fn vjp(f: &ScalarFn) -> Option<ScalarFn> {
    let [out] = f.outputs.as_slice() else { return None };
    let mut b = Builder { body: f.body.clone(), next: f.body.iter().map(|i| i.result.0 + 1).max().unwrap_or(0) };
    let consts: HashMap<ScalarId, f64> = f
        .body
        .iter()
        .filter_map(|i| match i.op {
            InstOp::Const(c) => Some((i.result, c)),
            InstOp::Op(_) => None,
        })
        .collect();
    let dy = Operand::Input(u32::try_from(f.inputs.len()).ok()?);
    let mut adjoint: HashMap<Operand, Operand> = HashMap::from([(out.value, dy)]);
    let mut masked: HashSet<Operand> = HashSet::new();
    for inst in f.body.iter().rev() {
        let InstOp::Op(op) = inst.op else { continue };
        let Some(&adj) = adjoint.get(&Operand::Value(inst.result)) else { continue };
        if inst.args.len() != op.arity() {
            return None;
        }
        for (i, &arg) in inst.args.iter().enumerate() {
            let constant = matches!(arg, Operand::Value(id) if consts.contains_key(&id));
            let Some(partial) = op.derivative(i).filter(|_| !constant) else { continue };
            let gate = matches!(op, ScalarOp::Select | ScalarOp::Min | ScalarOp::Max);
            let adj_masked = masked.contains(&adj);
            let partial = b.expr(&partial, &inst.args, inst.result);
            let term = b.mul(adj, partial, adj_masked);
            let prev = adjoint.get(&arg).copied();
            let sum = match prev {
                Some(prev) => b.op(ScalarOp::Add, vec![prev, term]),
                None => term,
            };
            if gate || adj_masked || prev.is_some_and(|p| masked.contains(&p)) {
                masked.insert(sum);
            }
            adjoint.insert(arg, sum);
        }
    }
    let outputs = (0..f.inputs.len())
        .map(|i| {
            let value = match adjoint.get(&Operand::Input(i as u32)) {
                Some(&v) => v,
                None => b.constant(0.0),
            };
            FnOutput { name: grad_name(&f.inputs[i]), value }
        })
        .collect();
    let mut inputs = f.inputs.clone();
    let mut seed = String::from("dy");
    while inputs.contains(&seed) {
        seed.push('_');
    }
    inputs.push(seed);
    Some(ScalarFn { name: format!("{}.vjp", f.name), inputs, body: b.body, outputs, origin: f.origin })
}

/// Appends instructions with fresh ids.
struct Builder {
    body: Vec<Inst>,
    next: u32,
}

impl Builder {
    fn push(&mut self, op: InstOp, args: Vec<Operand>) -> Operand {
        let result = ScalarId(self.next);
        self.next += 1;
        self.body.push(Inst { result, op, args });
        Operand::Value(result)
    }

    fn constant(&mut self, c: f64) -> Operand {
        self.push(InstOp::Const(c), Vec::new())
    }

    fn op(&mut self, op: ScalarOp, args: Vec<Operand>) -> Operand {
        self.push(InstOp::Op(op), args)
    }

    /// `adj * partial`, skipping the product when the partial is the constant 1; when
    /// `masked`, an exact zero `adj` gives zero whatever the partial.
    fn mul(&mut self, adj: Operand, partial: Partial, masked: bool) -> Operand {
        match partial {
            Partial::One => adj,
            Partial::MinusOne => self.op(ScalarOp::Neg, vec![adj]),
            Partial::Value(v) => {
                let product = self.op(ScalarOp::Mul, vec![adj, v]);
                if !masked {
                    return product;
                }
                let zero = self.constant(0.0);
                self.op(ScalarOp::Select, vec![adj, product, zero])
            }
        }
    }

    /// Emits a partial derivative expression for an instruction with these arguments.
    fn expr(&mut self, e: &DExpr, args: &[Operand], result: ScalarId) -> Partial {
        match e {
            DExpr::Const(c) if *c == 1.0 => Partial::One,
            DExpr::Const(c) if *c == -1.0 => Partial::MinusOne,
            _ => Partial::Value(self.emit(e, args, result)),
        }
    }

    fn emit(&mut self, e: &DExpr, args: &[Operand], result: ScalarId) -> Operand {
        match e {
            DExpr::Arg(i) => args[*i],
            DExpr::Result => Operand::Value(result),
            DExpr::Const(c) => self.constant(*c),
            DExpr::Op(op, xs) => {
                let xs = xs.iter().map(|x| self.emit(x, args, result)).collect();
                self.op(*op, xs)
            }
        }
    }
}

/// A partial derivative, with the constants that need no multiplication singled out.
enum Partial {
    One,
    MinusOne,
    Value(Operand),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(result: u32, op: ScalarOp, args: Vec<Operand>) -> Inst {
        Inst { result: ScalarId(result), op: InstOp::Op(op), args }
    }

    /// `f(x, y, z) = x * y + sin(x)`: `df/dx = y + cos x`, `df/dy = x`, and `z` is unused.
    #[test]
    fn vjp_of_a_two_input_function_is_the_analytic_gradient() {
        let (x, y) = (Operand::Input(0), Operand::Input(1));
        let v = |i| Operand::Value(ScalarId(i));
        let f = ScalarFn {
            name: "f".into(),
            inputs: vec!["x".into(), "y".into(), "z".into()],
            body: vec![
                inst(0, ScalarOp::Mul, vec![x, y]),
                inst(1, ScalarOp::Sin, vec![x]),
                inst(2, ScalarOp::Add, vec![v(0), v(1)]),
            ],
            outputs: vec![FnOutput { name: "out".into(), value: v(2) }],
            origin: None,
        };
        let g = vjp(&f).unwrap();
        assert_eq!(g.name, "f.vjp");
        assert_eq!(g.inputs, ["x", "y", "z", "dy"]);
        let renamed = ScalarFn { inputs: vec!["x".into(), "dy".into(), "z".into()], ..f.clone() };
        assert_eq!(vjp(&renamed).unwrap().inputs, ["x", "dy", "z", "dy_"]);
        assert_eq!(g.outputs.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["dx", "dy", "dz"]);
        for (a, b, dy) in [(0.3, -1.2, 1.0), (2.0, 0.5, -3.0), (-1.5, 4.0, 0.25)] {
            let got = g.eval(&[a, b, 7.0, dy]).unwrap();
            assert!((got[0] - dy * (b + f64::cos(a))).abs() < 1e-12, "{got:?}");
            assert!((got[1] - dy * a).abs() < 1e-12, "{got:?}");
            assert_eq!(got[2], 0.0);
        }
    }

    #[test]
    fn functions_with_several_outputs_have_no_vjp() {
        let f = ScalarFn {
            name: "two".into(),
            inputs: vec!["x".into()],
            body: vec![],
            outputs: vec![
                FnOutput { name: "a".into(), value: Operand::Input(0) },
                FnOutput { name: "b".into(), value: Operand::Input(0) },
            ],
            origin: None,
        };
        assert!(vjp(&f).is_none());
    }
}
