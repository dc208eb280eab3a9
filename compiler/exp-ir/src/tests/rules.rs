//! One mutated program per verifier rule, rejected with exactly that rule.
//!
//! Each mutation starts from a verified fixture and reseals it (except for the hash rule), so
//! the expected rule is the only one that can fire; asserting the exact set also proves that
//! the rules do not overlap by accident.

use super::build::{fix_estimates, shape};
use super::fixtures::{cnn_batchnorm, mlp_adamw, noisy_sgd};
use crate::*;
use exp_ops::{InitSpec, ScalarOp};
use std::collections::BTreeSet;

fn rejects(rule: Rule, mut p: Program, mutate: impl FnOnce(&mut Program)) {
    mutate(&mut p);
    if rule != Rule::HashMismatch {
        p.seal();
    }
    let errors = verify(&p).expect_err("the mutated program must be rejected");
    let rules: BTreeSet<Rule> = errors.iter().map(|e| e.rule).collect();
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(rules, BTreeSet::from([rule]), "{}", shown.join("\n"));
    assert!(shown.iter().all(|s| s.starts_with(&format!("[{}]", rule.code()))));
}

fn layer(p: &mut Program, node: usize) -> &mut LayerCall {
    match &mut p.graph.nodes[node].op {
        NodeOp::Layer(call) => call,
        other => panic!("node {node} is {other:?}"),
    }
}

fn function<'p>(p: &'p mut Program, name: &str) -> &'p mut ScalarFn {
    p.functions.iter_mut().find(|f| f.name == name).unwrap()
}

#[test]
fn malformed_names() {
    rejects(Rule::MalformedName, mlp_adamw(), |p| p.name = "mlp-adamw".into());
    rejects(Rule::MalformedName, mlp_adamw(), |p| function(p, "relu").inputs[0] = "v0".into());
    rejects(Rule::MalformedName, mlp_adamw(), |p| p.config[0].path = "batch.".into());
}

#[test]
fn duplicate_names() {
    rejects(Rule::DuplicateName, mlp_adamw(), |p| p.train.probes[0].name = "test_acc".into());
    rejects(Rule::DuplicateName, mlp_adamw(), |p| {
        p.optimizer.hypers.push(Hyper { name: "g".into(), value: HyperValue::Const(1.0) })
    });
}

#[test]
fn config_order() {
    rejects(Rule::ConfigOrder, mlp_adamw(), |p| p.config.swap(0, 1));
}

#[test]
fn seed_mismatch() {
    rejects(Rule::SeedMismatch, mlp_adamw(), |p| p.seeds.noise ^= 1);
}

#[test]
fn origin_range() {
    rejects(Rule::OriginRange, mlp_adamw(), |p| p.loss.origin = Some(Origin { file: 9, start: 0, end: 1 }));
    rejects(Rule::OriginRange, mlp_adamw(), |p| p.graph.nodes[0].origin = Some(Origin { file: 0, start: 5, end: 4 }));
}

#[test]
fn ssa_redefined() {
    rejects(Rule::SsaRedefined, mlp_adamw(), |p| {
        let last = p.graph.nodes.last().unwrap().clone();
        p.graph.nodes.push(last);
    });
    rejects(Rule::SsaRedefined, mlp_adamw(), |p| {
        let f = function(p, "adamw_update");
        let last = f.body.last().unwrap().clone();
        f.body.push(last);
    });
}

#[test]
fn ssa_undefined() {
    rejects(Rule::SsaUndefined, mlp_adamw(), |p| p.graph.nodes.swap(1, 2));
    rejects(Rule::SsaUndefined, mlp_adamw(), |p| function(p, "relu").body.swap(0, 1));
    rejects(Rule::SsaUndefined, mlp_adamw(), |p| function(p, "relu").outputs[0].value = Operand::Input(3));
}

#[test]
fn graph_io() {
    rejects(Rule::GraphIo, mlp_adamw(), |p| p.graph.outputs.clear());
}

#[test]
fn node_arity() {
    rejects(Rule::NodeArity, cnn_batchnorm(), |p| {
        let add = p.graph.nodes.iter_mut().find(|n| n.op == NodeOp::Add).unwrap();
        add.operands.pop();
    });
    rejects(Rule::NodeArity, noisy_sgd(), |p| {
        let mul = p.graph.nodes.iter_mut().find(|n| n.op == NodeOp::Mul).unwrap();
        mul.operands.push(mul.operands[0]);
    });
    rejects(Rule::NodeArity, mlp_adamw(), |p| {
        let out = FnOutput { name: "z".into(), value: Operand::Input(0) };
        function(p, "relu").outputs.push(out);
    });
}

#[test]
fn type_mismatch() {
    rejects(Rule::TypeMismatch, mlp_adamw(), |p| p.graph.nodes[3].ty.shape = shape("[B, 11]"));
    rejects(Rule::TypeMismatch, noisy_sgd(), |p| {
        let cat = p.graph.nodes.iter_mut().find(|n| matches!(n.op, NodeOp::Concat { .. })).unwrap();
        cat.op = NodeOp::Concat { axis: 0 };
    });
    rejects(Rule::TypeMismatch, noisy_sgd(), |p| p.data.x_dtype = DType::F32);
    // `mul` needs float operands: multiplying by the token ids is refused.
    rejects(Rule::TypeMismatch, noisy_sgd(), |p| {
        let tokens = p.graph.inputs[0].id;
        p.graph.nodes.iter_mut().find(|n| n.op == NodeOp::Mul).unwrap().operands[1] = tokens;
    });
    rejects(Rule::TypeMismatch, noisy_sgd(), |p| p.data.target = Target::Classes(96));
    rejects(Rule::TypeMismatch, noisy_sgd(), |p| p.data.x_shape = shape("[3]"));
    rejects(Rule::TypeMismatch, noisy_sgd(), |p| p.loss.op = exp_ops::Loss::Bce {});
    rejects(Rule::TypeMismatch, mlp_adamw(), |p| {
        p.train.probes[0].kind = ProbeKind::Metric(exp_ops::Metric::TopK { k: 11, on: "test".into() })
    });
    rejects(Rule::TypeMismatch, cnn_batchnorm(), |p| {
        p.params.iter_mut().find(|x| x.name == "model.head.weight").unwrap().shape = shape("[10, 4095]");
        fix_estimates(p);
    });
}

#[test]
fn bad_layer() {
    rejects(Rule::BadLayer, mlp_adamw(), |p| layer(p, 1).params[1].role = "scale".into());
    rejects(Rule::BadLayer, mlp_adamw(), |p| {
        let r = ParamRef { role: "scale".into(), name: "model.layers.0.bias".into() };
        layer(p, 1).params.push(r);
    });
}

#[test]
fn unknown_param() {
    rejects(Rule::UnknownParam, mlp_adamw(), |p| {
        p.params.retain(|x| x.name != "model.layers.1.bias");
        fix_estimates(p);
    });
}

#[test]
fn unused_param() {
    rejects(Rule::UnusedParam, mlp_adamw(), |p| {
        let extra = Param {
            name: "model.extra".into(),
            shape: shape("[3]"),
            dtype: DType::F32,
            init: InitSpec::Zeros,
            origin: None,
        };
        p.params.push(extra);
        fix_estimates(p);
    });
}

#[test]
fn unknown_function() {
    rejects(Rule::UnknownFunction, mlp_adamw(), |p| p.schedules[0].function = "cosine".into());
    rejects(Rule::UnknownFunction, mlp_adamw(), |p| p.optimizer.update = "adam".into());
    rejects(Rule::UnknownFunction, mlp_adamw(), |p| {
        p.graph.nodes[2].op = NodeOp::Elementwise { function: "gelu".into() }
    });
}

#[test]
fn scalar_arity() {
    rejects(Rule::ScalarArity, mlp_adamw(), |p| {
        function(p, "relu").body[1].args.pop();
    });
    rejects(Rule::ScalarArity, mlp_adamw(), |p| function(p, "relu").body[1].op = InstOp::Op(ScalarOp::Select));
}

#[test]
fn fn_outputs() {
    rejects(Rule::FnOutputs, mlp_adamw(), |p| {
        let f = ScalarFn {
            name: "nothing".into(),
            inputs: Vec::new(),
            body: Vec::new(),
            outputs: Vec::new(),
            origin: None,
        };
        p.functions.push(f);
    });
}

#[test]
fn update_rule() {
    rejects(Rule::UpdateRule, mlp_adamw(), |p| function(p, "adamw_update").outputs.retain(|o| o.name != "m"));
    rejects(Rule::UpdateRule, mlp_adamw(), |p| function(p, "adamw_update").inputs[2] = "step".into());
}

#[test]
fn schedule_fn() {
    rejects(Rule::ScheduleFn, mlp_adamw(), |p| function(p, "cosine_lr").inputs.push("lr".into()));
}

#[test]
fn unknown_schedule() {
    rejects(Rule::UnknownSchedule, mlp_adamw(), |p| {
        p.optimizer.hypers[0].value = HyperValue::Schedule("warmup".into())
    });
}

#[test]
fn unknown_probe() {
    rejects(Rule::UnknownProbe, mlp_adamw(), |p| p.train.stop_rules[0].probe = "val_acc".into());
    // Derived probes may only read probes declared before them.
    rejects(Rule::UnknownProbe, cnn_batchnorm(), |p| p.train.probes.swap(1, 2));
}

/// Typed builtins built without the registry's checks (as serde does) are caught.
#[test]
fn bad_builtin() {
    fn dropout(p: &mut Program) -> &mut f64 {
        let rates = p.graph.nodes.iter_mut().filter_map(|n| match &mut n.op {
            NodeOp::Layer(LayerCall { op: exp_ops::LayerOp::Dropout { rate }, .. }) => Some(rate),
            _ => None,
        });
        rates.into_iter().next().expect("the CNN has dropout")
    }
    rejects(Rule::BadBuiltin, cnn_batchnorm(), |p| *dropout(p) = 1.5);
    rejects(Rule::BadBuiltin, cnn_batchnorm(), |p| p.loss.op = exp_ops::Loss::CrossEntropy { label_smoothing: 2.0 });
    rejects(Rule::BadBuiltin, cnn_batchnorm(), |p| {
        p.data.transforms[1].op = exp_ops::Transform::Normalize { mean: 0.0, std: 0.0 }
    });
    rejects(Rule::BadBuiltin, noisy_sgd(), |p| {
        p.data.source =
            exp_ops::DataSource::Modular { p: 97, op: exp_ops::ModularOp::Add, train_fraction: 1.5, seed: 1 }
    });
    rejects(Rule::BadBuiltin, mlp_adamw(), |p| {
        p.train.probes[0].kind = ProbeKind::Metric(exp_ops::Metric::TopK { k: 0, on: "test".into() })
    });
}

#[test]
fn derived_probe() {
    let drop_input = |p: &mut Program| match &mut p.train.probes[2].kind {
        ProbeKind::Derived { inputs, .. } => {
            inputs.pop();
        }
        other => panic!("{other:?}"),
    };
    rejects(Rule::DerivedProbe, cnn_batchnorm(), drop_input);
}

#[test]
fn unknown_split() {
    rejects(Rule::UnknownSplit, mlp_adamw(), |p| {
        p.train.probes[1].kind = ProbeKind::Builtin(exp_ops::Probe::Accuracy { on: "valid".into() })
    });
    rejects(Rule::UnknownSplit, mlp_adamw(), |p| p.data.splits[0] = "fit".into());
}

#[test]
fn non_positive() {
    rejects(Rule::NonPositive, cnn_batchnorm(), |p| p.train.total_steps = Some(0));
    rejects(Rule::NonPositive, cnn_batchnorm(), |p| p.train.steps_per_epoch = Some(0));
    rejects(Rule::NonPositive, mlp_adamw(), |p| p.train.length = Frequency::Epochs(0));
    rejects(Rule::NonPositive, mlp_adamw(), |p| p.data.batch = 0);
    rejects(Rule::NonPositive, mlp_adamw(), |p| p.train.probes[0].every = Frequency::Steps(0));
    rejects(Rule::NonPositive, mlp_adamw(), |p| p.optimizer.clip = GradClip::Norm(-1.0));
}

#[test]
fn train_length() {
    rejects(Rule::TrainLength, noisy_sgd(), |p| p.train.total_steps = Some(19_999));
    rejects(Rule::TrainLength, noisy_sgd(), |p| p.train.total_steps = None);
    rejects(Rule::TrainLength, cnn_batchnorm(), |p| p.train.total_steps = Some(7821));
    rejects(Rule::TrainLength, cnn_batchnorm(), |p| p.train.steps_per_epoch = Some(781));
    rejects(Rule::TrainLength, cnn_batchnorm(), |p| p.train.length = Frequency::Epochs(u64::MAX));
    // A length in steps fixes the total even when the epoch size is known only at run time.
    rejects(Rule::TrainLength, mlp_adamw(), |p| p.train.length = Frequency::Steps(100));
}

#[test]
fn symbol_use() {
    rejects(Rule::SymbolUse, mlp_adamw(), |p| p.data.target = Target::Regression(shape("[n]")));
    rejects(Rule::SymbolUse, mlp_adamw(), |p| {
        p.params[0].init = InitSpec::BiasUniform { fan_in: exp_ops::Dim::symbol("n") };
    });
}

#[test]
fn estimate_mismatch() {
    rejects(Rule::EstimateMismatch, mlp_adamw(), |p| p.estimates.param_count += 1);
    rejects(Rule::EstimateMismatch, mlp_adamw(), |p| p.estimates.memory.total -= 1);
}

#[test]
fn hash_mismatch() {
    rejects(Rule::HashMismatch, mlp_adamw(), |p| p.train.eval_batch = 999);
    rejects(Rule::HashMismatch, mlp_adamw(), |p| p.hash.clear());
}

#[test]
fn errors_carry_origins_and_codes_are_unique() {
    let mut p = mlp_adamw();
    p.graph.nodes[3].ty.shape = shape("[B, 11]");
    p.seal();
    let errors = verify(&p).unwrap_err();
    let error = errors.iter().find(|e| e.location == "graph %3").unwrap();
    assert_eq!(error.origin, p.graph.nodes[3].origin);
    assert!(error.message.contains("`[B, 11]`"), "{error}");
    let all = [
        Rule::MalformedName,
        Rule::DuplicateName,
        Rule::ConfigOrder,
        Rule::SeedMismatch,
        Rule::OriginRange,
        Rule::SsaRedefined,
        Rule::SsaUndefined,
        Rule::GraphIo,
        Rule::NodeArity,
        Rule::TypeMismatch,
        Rule::BadLayer,
        Rule::UnknownParam,
        Rule::UnusedParam,
        Rule::UnknownFunction,
        Rule::ScalarArity,
        Rule::FnOutputs,
        Rule::UpdateRule,
        Rule::ScheduleFn,
        Rule::UnknownSchedule,
        Rule::UnknownProbe,
        Rule::DerivedProbe,
        Rule::UnknownSplit,
        Rule::NonPositive,
        Rule::TrainLength,
        Rule::SymbolUse,
        Rule::EstimateMismatch,
        Rule::HashMismatch,
    ];
    let codes: BTreeSet<&str> = all.iter().map(|r| r.code()).collect();
    assert_eq!(codes.len(), all.len());
    let doc = include_str!("../verify/mod.rs");
    for code in codes {
        assert!(doc.contains(&format!("//! - `{code}`")), "rule `{code}` is missing from the verifier's module doc");
    }
}
