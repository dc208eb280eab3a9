//! A reference interpreter for scalar functions, and lookups by name on a [`Program`].
//!
//! The interpreter evaluates in `f64` with the op table's semantics; it is what the JIT is tested
//! against and what the runtime can use for schedules and derived probes, which run once per
//! step rather than per element.

use crate::scalar::{InstOp, Operand, ScalarFn, ScalarId, Schedule};
use crate::types::{Param, Probe, Program};
use std::collections::HashMap;

impl ScalarFn {
    /// Evaluates the function on `inputs` (one per input, by position) and returns its outputs
    /// in order. Fails on a wrong input count or on a program the verifier would reject.
    pub fn eval(&self, inputs: &[f64]) -> Result<Vec<f64>, String> {
        if inputs.len() != self.inputs.len() {
            return Err(format!("`{}` takes {} inputs, got {}", self.name, self.inputs.len(), inputs.len()));
        }
        let mut values: HashMap<ScalarId, f64> = HashMap::with_capacity(self.body.len());
        let read = |values: &HashMap<ScalarId, f64>, op: &Operand| match op {
            Operand::Input(i) => inputs.get(*i as usize).copied(),
            Operand::Value(id) => values.get(id).copied(),
        };
        for inst in &self.body {
            let args: Option<Vec<f64>> = inst.args.iter().map(|a| read(&values, a)).collect();
            let args = args.ok_or_else(|| format!("`{}` reads an undefined value", self.name))?;
            let value = match &inst.op {
                InstOp::Const(c) => *c,
                InstOp::Op(op) if op.arity() == args.len() => op.eval(&args),
                InstOp::Op(op) => return Err(format!("`{}` gets {} operands", op.name(), args.len())),
            };
            values.insert(inst.result, value);
        }
        let outputs = self.outputs.iter().map(|o| read(&values, &o.value));
        outputs.collect::<Option<_>>().ok_or_else(|| format!("`{}` returns an undefined value", self.name))
    }
}

impl Program {
    /// The scalar function called `name`.
    pub fn function(&self, name: &str) -> Option<&ScalarFn> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// The parameter or buffer called `name`.
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().chain(&self.buffers).find(|p| p.name == name)
    }

    /// The schedule called `name`.
    pub fn schedule(&self, name: &str) -> Option<&Schedule> {
        self.schedules.iter().find(|s| s.name == name)
    }

    /// The probe called `name`.
    pub fn probe(&self, name: &str) -> Option<&Probe> {
        self.train.probes.iter().find(|p| p.name == name)
    }
}

#[cfg(test)]
mod tests {
    use crate::tests::fixtures::{mlp_adamw, noisy_sgd};

    #[test]
    fn cosine_schedule_decays_from_the_base_rate() {
        let p = mlp_adamw();
        let f = p.function(&p.schedule("lr_cos").unwrap().function).unwrap();
        assert_eq!(f.eval(&[0.0]).unwrap(), vec![0.001]);
        assert!(f.eval(&[1.0]).unwrap()[0].abs() < 1e-18);
        assert!(f.eval(&[]).is_err());
    }

    #[test]
    fn adamw_first_step_matches_the_formula() {
        let p = mlp_adamw();
        let f = p.function("adamw_update").unwrap();
        // p, g, t, lr, beta1, beta2, eps, weight_decay, m, v
        let out = f.eval(&[1.0, 0.5, 1.0, 0.001, 0.9, 0.999, 1e-8, 0.01, 0.0, 0.0]).unwrap();
        let (b1, b2) = (0.9f64, 0.999f64);
        let (m, v) = ((1.0 - b1) * 0.5, (1.0 - b2) * (0.5 * 0.5));
        let update = (m / (1.0 - b1)) / ((v / (1.0 - b2)).sqrt() + 1e-8) + 0.01 * 1.0;
        assert_eq!(out, vec![1.0 - 0.001 * update, m, v]);
    }

    #[test]
    fn gradient_noise_is_read_from_the_noise_input() {
        let p = noisy_sgd();
        let f = p.function(&p.optimizer.update).unwrap();
        let step = |noise: f64| f.eval(&[1.0, 0.0, 0.0, noise, 0.1, 0.3, 0.55]).unwrap()[0];
        assert_eq!(step(0.0), 1.0);
        assert_eq!(step(1.0), 1.0 - 0.1 * 0.3f64.sqrt());
        let mut broken = f.clone();
        broken.outputs[0].value = crate::Operand::Value(crate::ScalarId(12345));
        assert!(broken.eval(&[0.0; 7]).is_err());
    }
}
