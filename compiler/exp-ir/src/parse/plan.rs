//! Parsing of the training-plan sections: `loss`, `schedules`, `optimizer`, `train` and
//! `estimates`.

use super::{builtin_call, origin_end, parse_args, u64_item, Lines, Res};
use crate::parse::cursor::Cursor;
use crate::scalar::{GradClip, Hyper, HyperValue, Optimizer, Schedule, StateInit, StateSlot};
use crate::types::{Comparison, Estimates, Frequency, Loss, Memory, Probe, ProbeKind, StopRule, TrainingPlan};
use exp_ops::{ArgKind, Builtin, Metric};

pub(super) fn parse_loss(lines: &mut Lines<'_>) -> Res<Loss> {
    let mut c = lines.header("loss")?;
    let op = builtin_call(&mut c)?;
    Ok(Loss { op, origin: origin_end(&mut c)? })
}

pub(super) fn parse_schedules(lines: &mut Lines<'_>) -> Res<Vec<Schedule>> {
    lines.header("schedules")?.expect_end()?;
    let mut schedules = Vec::new();
    while let Some(mut c) = lines.item() {
        c.keyword("schedule")?;
        let name = c.ident()?.to_string();
        c.expect("=")?;
        let function = fn_ref(&mut c)?;
        schedules.push(Schedule { name, function, origin: origin_end(&mut c)? });
    }
    Ok(schedules)
}

/// Reads `@name`.
fn fn_ref(c: &mut Cursor<'_>) -> Res<String> {
    c.expect("@")?;
    Ok(c.ident()?.to_string())
}

pub(super) fn parse_optimizer(lines: &mut Lines<'_>) -> Res<Optimizer> {
    let mut c = lines.header("optimizer")?;
    let name = c.ident()?.to_string();
    let origin = origin_end(&mut c)?;
    let mut hypers = Vec::new();
    while lines.peek_item_word() == Some("hyper") {
        let mut c = lines.expect_item("hyper")?;
        let name = c.ident()?.to_string();
        c.expect("=")?;
        let value = if c.eat_keyword("schedule") {
            HyperValue::Schedule(c.ident()?.to_string())
        } else {
            HyperValue::Const(c.f64()?)
        };
        c.expect_end()?;
        hypers.push(Hyper { name, value });
    }
    let mut state = Vec::new();
    while lines.peek_item_word() == Some("state") {
        let mut c = lines.expect_item("state")?;
        let name = c.ident()?.to_string();
        c.expect("=")?;
        state.push(StateSlot { name, init: parse_state_init(&mut c)? });
        c.expect_end()?;
    }
    let mut c = lines.expect_item("update")?;
    let update = fn_ref(&mut c)?;
    c.expect_end()?;
    let mut c = lines.expect_item("clip")?;
    let clip = match c.word()? {
        "none" => GradClip::None,
        "norm" => GradClip::Norm(c.f64()?),
        "value" => GradClip::Value(c.f64()?),
        other => return Err(c.error(format!("expected `none`, `norm` or `value`, found `{other}`"))),
    };
    c.expect_end()?;
    Ok(Optimizer { name, hypers, state, update, clip, origin })
}

fn parse_state_init(c: &mut Cursor<'_>) -> Res<StateInit> {
    Ok(match c.word()? {
        "zeros" => StateInit::Zeros,
        "const" => StateInit::Const(c.f64()?),
        "copy" => match c.word()? {
            "g" => StateInit::CopyGrad,
            "p" => StateInit::CopyParam,
            other => return Err(c.error(format!("expected `copy g` or `copy p`, found `copy {other}`"))),
        },
        other => return Err(c.error(format!("expected `zeros`, `const` or `copy`, found `{other}`"))),
    })
}

pub(super) fn parse_train(lines: &mut Lines<'_>) -> Res<TrainingPlan> {
    lines.header("train")?.expect_end()?;
    let mut c = lines.expect_item("length")?;
    let length = parse_frequency(&mut c)?;
    c.expect_end()?;
    let total_steps = optional_u64_item(lines, "steps")?;
    let steps_per_epoch = optional_u64_item(lines, "steps_per_epoch")?;
    let eval_batch = u64_item(lines, "eval_batch")?;
    let (probes, stop_rules) = (Vec::new(), Vec::new());
    let mut plan = TrainingPlan { length, total_steps, steps_per_epoch, eval_batch, probes, stop_rules };
    while lines.peek_item_word() == Some("probe") {
        let mut c = lines.expect_item("probe")?;
        plan.probes.push(parse_probe(&mut c)?);
    }
    while lines.peek_item_word() == Some("stop") {
        let mut c = lines.expect_item("stop")?;
        plan.stop_rules.push(parse_stop_rule(&mut c)?);
    }
    Ok(plan)
}

fn parse_probe(c: &mut Cursor<'_>) -> Res<Probe> {
    let name = c.ident()?.to_string();
    c.expect("=")?;
    let kind = if c.eat_keyword("expr") {
        let function = fn_ref(c)?;
        c.expect("(")?;
        let mut inputs = Vec::new();
        while !c.eat(")") {
            if !inputs.is_empty() {
                c.expect(",")?;
            }
            inputs.push(c.ident()?.to_string());
        }
        ProbeKind::Derived { function, inputs }
    } else {
        let op = c.ident()?;
        let mut args = parse_args(c)?;
        if c.eat_keyword("on") {
            let split = c.ident()?.to_string();
            let key = crate::builtin::arg_of_kind::<exp_ops::Probe>(op, ArgKind::Split)
                .or(crate::builtin::arg_of_kind::<Metric>(op, ArgKind::Split))
                .ok_or_else(|| c.error(format!("`{op}` reads no split")))?;
            args.push((key.to_string(), crate::Value::Str(split)));
        }
        let known = |specs: &[exp_ops::BuiltinSpec]| specs.iter().any(|s| s.name == op);
        let built = if known(exp_ops::Probe::specs()) {
            crate::builtin::builtin_of(op, &args).map(ProbeKind::Builtin)
        } else if known(Metric::specs()) {
            crate::builtin::builtin_of(op, &args).map(ProbeKind::Metric)
        } else {
            Err(format!("unknown probe or metric `{op}`"))
        };
        built.map_err(|e| c.error(e))?
    };
    c.keyword("every")?;
    let every = parse_frequency(c)?;
    Ok(Probe { name, kind, every, origin: origin_end(c)? })
}

/// Reads `100 steps` or `1 epochs`.
fn parse_frequency(c: &mut Cursor<'_>) -> Res<Frequency> {
    let n = c.u64()?;
    match c.word()? {
        "steps" => Ok(Frequency::Steps(n)),
        "epochs" => Ok(Frequency::Epochs(n)),
        other => Err(c.error(format!("expected `steps` or `epochs`, found `{other}`"))),
    }
}

/// Reads an item line `kw N`, or `kw -` for a count known only when the data is read.
fn optional_u64_item(lines: &mut Lines<'_>, kw: &str) -> Res<Option<u64>> {
    let mut c = lines.expect_item(kw)?;
    let n = if c.eat("-") { None } else { Some(c.u64()?) };
    c.expect_end()?;
    Ok(n)
}

fn parse_stop_rule(c: &mut Cursor<'_>) -> Res<StopRule> {
    c.keyword("when")?;
    let probe = c.ident()?.to_string();
    let cmp = Comparison::ALL
        .into_iter()
        .find(|cmp| c.eat(cmp.symbol()))
        .ok_or_else(|| c.error("expected `<`, `<=`, `>` or `>=`"))?;
    let threshold = c.f64()?;
    c.keyword("for")?;
    let count = c.u32()?;
    Ok(StopRule { probe, cmp, threshold, count, origin: origin_end(c)? })
}

pub(super) fn parse_estimates(lines: &mut Lines<'_>) -> Res<Estimates> {
    lines.header("estimates")?.expect_end()?;
    let param_count = u64_item(lines, "param_count")?;
    let memory = Memory {
        params: u64_item(lines, "memory.params")?,
        buffers: u64_item(lines, "memory.buffers")?,
        grads: u64_item(lines, "memory.grads")?,
        optimizer_state: u64_item(lines, "memory.optimizer_state")?,
        activations: u64_item(lines, "memory.activations")?,
        total: u64_item(lines, "memory.total")?,
    };
    let flops_per_step = u64_item(lines, "flops_per_step")?;
    Ok(Estimates { param_count, memory, flops_per_step })
}
