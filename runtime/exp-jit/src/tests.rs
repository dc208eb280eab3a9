//! Kernels against the reference interpreter [`ScalarFn::eval`]: every function the standard
//! library lowers to (read from the IR snapshot), single ops on special values, the
//! polynomials' ulp error, random programs over every op, argument checks and the cache.

use super::*;
use exp_ir::{FnOutput, Inst, InstOp, Operand, ScalarId};
use exp_ops::ScalarOp;

/// A xorshift generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Every `fn` block of the printed IR in the standard-library snapshot.
fn stdlib_functions() -> Vec<ScalarFn> {
    let text = include_str!("../../../tests/snapshots/ir__stdlib_items.snap");
    let mut fns = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(head) = line.strip_prefix("fn ") else { continue };
        let (name, rest) = head.split_once('(').unwrap();
        let (params, rest) = rest.split_once(')').unwrap();
        let inputs: Vec<String> = params.split(", ").map(str::to_string).collect();
        let n_out = rest.split_once('(').unwrap().1.split(')').next().unwrap().split(", ").count();
        let operand = |s: &str| match s.strip_prefix('v').and_then(|n| n.parse().ok()) {
            Some(n) if !inputs.contains(&s.to_string()) => Operand::Value(ScalarId(n)),
            _ => Operand::Input(inputs.iter().position(|i| i == s).unwrap() as u32),
        };
        let (mut body, mut outputs) = (Vec::new(), Vec::new());
        for line in lines.by_ref().take_while(|l| *l != "}") {
            if let Some(rets) = line.strip_prefix("return ") {
                for r in rets.split(", ") {
                    let (n, v) = r.split_once(" = ").unwrap();
                    outputs.push(FnOutput { name: n.into(), value: operand(v) });
                }
                continue;
            }
            let (lhs, rhs) = line.split_once(" = ").unwrap();
            let result = ScalarId(lhs[1..].parse().unwrap());
            let (op, args) = rhs.split_once(' ').unwrap();
            let inst = match op {
                "const" => Inst { result, op: InstOp::Const(args.parse().unwrap()), args: vec![] },
                _ => Inst {
                    result,
                    op: InstOp::Op(ScalarOp::from_name(op).unwrap()),
                    args: args.split(", ").map(operand).collect(),
                },
            };
            body.push(inst);
        }
        assert_eq!(outputs.len(), n_out, "{name}");
        fns.push(ScalarFn { name: name.into(), inputs, body, outputs, origin: None });
    }
    fns
}

/// `f` evaluated in `f64` by the reference interpreter, rounded to `f32`.
fn reference(f: &ScalarFn, xs: &[f32]) -> Vec<f32> {
    let xs: Vec<f64> = xs.iter().map(|&x| f64::from(x)).collect();
    f.eval(&xs).unwrap().into_iter().map(|y| y as f32).collect()
}

/// `f` evaluated one op at a time with every result rounded to `f32`, as the kernel does.
fn stepwise(f: &ScalarFn, xs: &[f32]) -> Vec<f32> {
    let mut vals = std::collections::HashMap::new();
    let read = |vals: &std::collections::HashMap<ScalarId, f32>, o: &Operand| match o {
        Operand::Input(i) => xs[*i as usize],
        Operand::Value(v) => vals[v],
    };
    for inst in &f.body {
        let args: Vec<f64> = inst.args.iter().map(|a| f64::from(read(&vals, a))).collect();
        let y = match inst.op {
            InstOp::Const(c) => c as f32,
            InstOp::Op(op) => op.eval(&args) as f32,
        };
        vals.insert(inst.result, y);
    }
    f.outputs.iter().map(|o| read(&vals, &o.value)).collect()
}

/// Equal, both NaN, or within `tol` relative (absolute below magnitude 1).
fn close(got: f32, want: f32, tol: f32) -> bool {
    got == want || (got.is_nan() && want.is_nan()) || (got - want).abs() <= tol * want.abs().max(1.0)
}

/// Runs `f` on `n` elements, each input a slice or (by `scalars`) a broadcast scalar drawn by
/// `gen`, and checks every element against `oracle` within `tol`.
fn check(
    f: &ScalarFn,
    n: usize,
    scalars: &[bool],
    tol: f32,
    gen: &mut dyn FnMut(usize) -> f32,
    oracle: fn(&ScalarFn, &[f32]) -> Vec<f32>,
) {
    let k = kernel(f).unwrap();
    let cols: Vec<Vec<f32>> =
        (0..f.inputs.len()).map(|i| (0..if scalars[i] { 1 } else { n }).map(|_| gen(i)).collect()).collect();
    let inputs: Vec<Input<'_>> =
        cols.iter().zip(scalars).map(|(c, &s)| if s { Input::Scalar(c[0]) } else { Input::Slice(c) }).collect();
    let mut outs = vec![vec![f32::NAN; n]; f.outputs.len()];
    let mut refs: Vec<&mut [f32]> = outs.iter_mut().map(|o| o.as_mut_slice()).collect();
    k.run(&inputs, &mut refs).unwrap();
    for e in 0..n {
        let xs: Vec<f32> = cols.iter().map(|c| if c.len() == 1 && n != 1 { c[0] } else { c[e] }).collect();
        for (j, want) in oracle(f, &xs).into_iter().enumerate() {
            let got = outs[j][e];
            assert!(
                close(got, want, tol),
                "{}: output {j} at {e} of {n}, inputs {xs:?}: got {got}, want {want}",
                f.name
            );
        }
    }
}

const LENGTHS: [usize; 6] = [0, 1, 3, 4, 5, 1000];

/// An input value typical for the named input of a standard-library function.
fn typical(rng: &mut Rng, name: &str) -> f32 {
    match name {
        "x" => [rng.uniform(-10.0, 10.0), rng.uniform(-0.1, 0.1), rng.uniform(-100.0, 100.0)][rng.below(3)],
        "p" | "g" | "noise" | "m" | "buf" | "prev" | "d" => rng.uniform(-2.0, 2.0),
        "t" => (1 + rng.below(50)) as f32,
        "nesterov" | "no_prox" => rng.below(2) as f32,
        "eps" => 1e-8,
        // A schedule runs from step 0 to its total: past it `cos(pi * step / total)` has an
        // argument whose `f32` rounding alone moves the slope by more than any tolerance.
        "step" => rng.below(1000) as f32,
        "total_steps" => (1000 + rng.below(1000)) as f32,
        "epoch" => rng.below(20) as f32,
        _ => rng.uniform(0.01, 0.99),
    }
}

#[test]
fn stdlib_functions_match_the_interpreter() {
    let fns = stdlib_functions();
    assert!(fns.len() >= 17 && fns.iter().any(|f| f.outputs.len() == 5), "parsed {} functions", fns.len());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for f in &fns {
        // Schedules' inputs (`step`, `progress`) are plain numbers; everything else is typed.
        for (round, &n) in LENGTHS.iter().enumerate() {
            let scalars: Vec<bool> =
                f.inputs.iter().enumerate().map(|(i, _)| round % 2 == 1 && i % 2 == 0 && f.inputs.len() > 1).collect();
            let names = f.inputs.clone();
            let mut gen = |i: usize| typical(&mut rng, &names[i]);
            check(f, n, &scalars, 1e-6, &mut gen, reference);
            check(f, n, &scalars, 4e-7, &mut gen, stepwise);
        }
    }
}

/// Values at which ops change behaviour or overflow.
const SPECIAL: [f32; 22] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -0.5,
    2.5,
    -2.5,
    3.0,
    1e-30,
    -1e-30,
    1e30,
    -1e30,
    88.5,
    89.0,
    -87.0,
    -103.5,
    -120.0,
    1e-40,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
];

fn single(op: ScalarOp, consts: &[Option<f64>]) -> ScalarFn {
    let mut body = Vec::new();
    let mut args = Vec::new();
    for (i, c) in consts.iter().enumerate() {
        match c {
            Some(c) => {
                body.push(Inst { result: ScalarId(100 + i as u32), op: InstOp::Const(*c), args: vec![] });
                args.push(Operand::Value(ScalarId(100 + i as u32)));
            }
            None => args.push(Operand::Input(i as u32)),
        }
    }
    body.push(Inst { result: ScalarId(0), op: InstOp::Op(op), args });
    let inputs = (0..consts.len()).map(|i| format!("a{i}")).collect();
    ScalarFn {
        name: op.name().into(),
        inputs,
        body,
        outputs: vec![FnOutput { name: "y".into(), value: Operand::Value(ScalarId(0)) }],
        origin: None,
    }
}

#[test]
fn every_op_matches_on_special_values() {
    use ScalarOp::*;
    for &op in ScalarOp::ALL {
        let f = single(op, &vec![None; op.arity()]);
        let k = Kernel::compile(&f).unwrap();
        let combos: Vec<Vec<f32>> = match op.arity() {
            1 => SPECIAL.iter().map(|&a| vec![a]).collect(),
            2 => SPECIAL.iter().flat_map(|&a| SPECIAL.iter().map(move |&b| vec![a, b])).collect(),
            _ => [0.0, 1.0, -0.0, f32::NAN, 2.0]
                .iter()
                .flat_map(|&c| SPECIAL.iter().flat_map(move |&a| SPECIAL.iter().map(move |&b| vec![c, a, b])))
                .collect(),
        };
        let cols: Vec<Vec<f32>> = (0..op.arity()).map(|i| combos.iter().map(|c| c[i]).collect()).collect();
        let inputs: Vec<Input<'_>> = cols.iter().map(|c| Input::Slice(c)).collect();
        let mut out = vec![0.0; combos.len()];
        k.run(&inputs, &mut [&mut out]).unwrap();
        let tol = if matches!(op, Exp | Expm1 | Tanh | Sigmoid | Erf | Erfc) { 4e-7 } else { 0.0 };
        for (xs, &got) in combos.iter().zip(&out) {
            let want = reference(&f, xs)[0];
            let exact = got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan());
            assert!(exact || (tol > 0.0 && close(got, want, tol)), "{} {xs:?}: got {got}, want {want}", op.name());
        }
    }
}

#[test]
fn pow_by_constant_integers_and_general_exponents() {
    let mut rng = Rng(7);
    for c in [-8.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 9.0, 0.5, -1.5, 2.25] {
        let f = single(ScalarOp::Pow, &[None, Some(c)]);
        let mut gen = |_| [rng.uniform(-3.0, 3.0), SPECIAL[rng.below(SPECIAL.len())]][rng.below(2)];
        check(&f, 1000, &[false, false], 1e-6, &mut gen, reference);
    }
}

/// Max error in ulps of `op`'s kernel against the `f64` result, over a dense sweep.
fn max_ulps(op: ScalarOp, lo: f32, hi: f32) -> u32 {
    let xs: Vec<f32> = (0..200_000).map(|i| lo + (hi - lo) * i as f32 / 200_000.0).collect();
    let mut out = vec![0.0; xs.len()];
    Kernel::compile(&single(op, &[None])).unwrap().run(&[Input::Slice(&xs)], &mut [&mut out]).unwrap();
    let ulps = |a: f32, b: f32| (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32;
    xs.iter().zip(&out).map(|(&x, &y)| ulps(y, op.eval(&[f64::from(x)]) as f32)).max().unwrap()
}

#[test]
fn polynomials_are_within_a_few_ulps() {
    for (op, lo, hi, bound) in [
        (ScalarOp::Exp, -87.0, 88.7, 2),
        (ScalarOp::Exp, -1.0, 1.0, 2),
        (ScalarOp::Exp, -103.9, -87.0, 2),
        (ScalarOp::Tanh, -9.0, 9.0, 3),
        (ScalarOp::Tanh, -0.7, 0.7, 3),
        (ScalarOp::Sigmoid, -80.0, 20.0, 3),
        (ScalarOp::Erf, -0.5, 0.5, 3),
        (ScalarOp::Erf, -6.0, 6.0, 3),
    ] {
        let u = max_ulps(op, lo, hi);
        eprintln!("{} on [{lo}, {hi}]: max {u} ulps", op.name());
        assert!(u <= bound, "{} on [{lo}, {hi}]: {u} ulps", op.name());
    }
}

/// A random program over every op: `n_in` inputs, `len` instructions, two outputs.
fn random_fn(rng: &mut Rng, n_in: usize, len: usize) -> ScalarFn {
    let mut body: Vec<Inst> = Vec::new();
    let pick = |rng: &mut Rng, body: &[Inst]| {
        let k = rng.below(n_in + body.len());
        if k < n_in {
            Operand::Input(k as u32)
        } else {
            Operand::Value(body[k - n_in].result)
        }
    };
    for i in 0..len {
        let result = ScalarId(i as u32);
        if rng.below(6) == 0 {
            let c = [0.0, 1.0, -1.0, 2.0, 3.0, -2.0, 0.5, 1e-3, 7.25][rng.below(9)];
            body.push(Inst { result, op: InstOp::Const(c), args: vec![] });
        } else {
            let op = ScalarOp::ALL[rng.below(ScalarOp::ALL.len())];
            let args = (0..op.arity()).map(|_| pick(rng, &body)).collect();
            body.push(Inst { result, op: InstOp::Op(op), args });
        }
    }
    let outputs = vec![
        FnOutput { name: "y".into(), value: Operand::Value(ScalarId(len as u32 - 1)) },
        FnOutput { name: "z".into(), value: pick(rng, &body) },
    ];
    ScalarFn {
        name: "random".into(),
        inputs: (0..n_in).map(|i| format!("x{i}")).collect(),
        body,
        outputs,
        origin: None,
    }
}

#[test]
fn random_programs_match_stepwise_evaluation() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..150 {
        let len = 4 + rng.below(12);
        let f = random_fn(&mut rng, 3, len);
        let n = LENGTHS[rng.below(LENGTHS.len())];
        let scalars: Vec<bool> = (0..3).map(|_| rng.below(3) == 0).collect();
        let mut gen =
            |_| [rng.uniform(-3.0, 3.0), SPECIAL[rng.below(SPECIAL.len())], rng.below(3) as f32][rng.below(3)];
        // Only the polynomials (a few ulps) and integer powers differ from the stepwise
        // reference; a dozen ops can amplify that.
        check(&f, n, &scalars, 1e-4, &mut gen, stepwise);
    }
}

#[test]
fn bad_arguments_are_errors_and_write_nothing() {
    let f = single(ScalarOp::Add, &[None, None]);
    let k = kernel(&f).unwrap();
    let (a, b) = ([1.0f32; 5], [2.0f32; 4]);
    let mut out = [9.0f32; 5];
    assert!(matches!(k.run(&[Input::Slice(&a)], &mut [&mut out]), Err(JitError::Arity { what: "inputs", .. })));
    assert!(matches!(
        k.run(&[Input::Slice(&a), Input::Scalar(1.0)], &mut []),
        Err(JitError::Arity { what: "outputs", .. })
    ));
    let err = k.run(&[Input::Slice(&a), Input::Slice(&b)], &mut [&mut out]).unwrap_err();
    assert_eq!(err.to_string(), "kernel `add`: input 1 has 4 elements, expected 5");
    assert_eq!(out, [9.0; 5]);
    k.run(&[Input::Scalar(1.0), Input::Scalar(2.0)], &mut [&mut out]).unwrap();
    assert_eq!(out, [3.0; 5]);

    let mut broken = f.clone();
    broken.outputs[0].value = Operand::Value(ScalarId(77));
    assert!(matches!(Kernel::compile(&broken), Err(JitError::Invalid { .. })));
    broken.body[0].args.pop();
    assert!(matches!(kernel(&broken), Err(JitError::Invalid { .. })));
}

#[test]
fn the_cache_compiles_each_body_once() {
    let mut f = single(ScalarOp::Sub, &[None, Some(0.123_456)]);
    let kernels: Vec<Arc<Kernel>> = std::thread::scope(|s| {
        (0..8)
            .map(|_| s.spawn(|| kernel(&f).unwrap()))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect()
    });
    assert!(kernels.iter().all(|k| Arc::ptr_eq(k, &kernels[0])));
    f.name = "renamed".into();
    assert!(Arc::ptr_eq(&kernel(&f).unwrap(), &kernels[0]));
    if let InstOp::Const(c) = &mut f.body[0].op {
        *c = 0.5;
    }
    assert!(!Arc::ptr_eq(&kernel(&f).unwrap(), &kernels[0]));
}

/// Splitting a run over threads gives exactly the single-threaded result, for lengths that
/// are and are not multiples of the chunk size, with scalars and several outputs.
#[test]
fn parallel_runs_equal_serial_runs() {
    let fns = stdlib_functions();
    let f = fns.iter().find(|f| f.outputs.len() >= 3).expect("an update rule with state");
    let kernel = Kernel::compile(f).unwrap();
    for n in [crate::PARALLEL_MIN - 1, crate::PARALLEL_MIN + 3, 200_003] {
        let data: Vec<Vec<f32>> = (0..f.inputs.len())
            .map(|i| (0..n).map(|e| ((e * 7 + i * 13) % 101) as f32 / 50.0 - 1.0).collect())
            .collect();
        let inputs: Vec<Input<'_>> =
            data.iter().enumerate().map(|(i, d)| if i == 2 { Input::Scalar(3.0) } else { Input::Slice(d) }).collect();
        let mut serial = vec![vec![0f32; n]; f.outputs.len()];
        let mut parallel = serial.clone();
        kernel.run(&inputs, &mut serial.iter_mut().map(Vec::as_mut_slice).collect::<Vec<_>>()).unwrap();
        kernel.run_parallel(&inputs, &mut parallel.iter_mut().map(Vec::as_mut_slice).collect::<Vec<_>>(), 3).unwrap();
        for (a, b) in serial.iter().zip(&parallel) {
            assert!(a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()), "n = {n}: parallel differs from serial");
        }
    }
}

/// The derivative of every one-output standard-library function (activations, schedules):
/// the interpreted vector-Jacobian product against central finite differences of the
/// function in `f64`, and its compiled kernel against the interpreter.
#[test]
fn derived_gradients_match_finite_differences_and_compile() {
    let fns: Vec<ScalarFn> = stdlib_functions().into_iter().filter(|f| f.outputs.len() == 1).collect();
    assert!(fns.iter().any(|f| f.name.contains("selu")) && fns.len() >= 10, "{} functions", fns.len());
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for f in &fns {
        let vjp = exp_ir::derive::vjp(f).unwrap();
        assert_eq!(vjp.inputs.len(), f.inputs.len() + 1, "{}", f.name);
        let k = kernel(&vjp).unwrap();
        for _ in 0..200 {
            let xs: Vec<f64> = f.inputs.iter().map(|n| f64::from(typical(&mut rng, n))).collect();
            let dy = f64::from(rng.uniform(-2.0, 2.0));
            let mut args = xs.clone();
            args.push(dy);
            let got = vjp.eval(&args).unwrap();
            for i in 0..xs.len() {
                let h = 1e-6 * xs[i].abs().max(1.0);
                let at = |d: f64| {
                    let mut x = xs.clone();
                    x[i] += d;
                    f.eval(&x).unwrap()[0]
                };
                // Skip points within a step of a kink (relu at 0, clamps): the two one-sided
                // slopes differ there, and the op table picks one side.
                let (left, right) = ((at(0.0) - at(-h)) / h, (at(h) - at(0.0)) / h);
                if (left - right).abs() > 1e-3 * (1.0 + left.abs()) {
                    continue;
                }
                let want = dy * (at(h) - at(-h)) / (2.0 * h);
                assert!(
                    (got[i] - want).abs() <= 1e-5 * (1.0 + want.abs()),
                    "{}: d/d{} at {xs:?}, dy {dy}: derived {}, finite differences {want}",
                    f.name,
                    f.inputs[i],
                    got[i]
                );
            }
            // The compiled derivative agrees with the interpreted one.
            let cols: Vec<Vec<f32>> = args.iter().map(|&a| vec![a as f32]).collect();
            let ins: Vec<Input<'_>> = cols.iter().map(|c| Input::Slice(c)).collect();
            let mut outs = vec![vec![0f32]; xs.len()];
            let mut refs: Vec<&mut [f32]> = outs.iter_mut().map(|o| o.as_mut_slice()).collect();
            k.run(&ins, &mut refs).unwrap();
            let args32: Vec<f32> = args.iter().map(|&a| a as f32).collect();
            for (j, want) in reference(&vjp, &args32).into_iter().enumerate() {
                assert!(close(outs[j][0], want, 1e-5), "{}: compiled d{j} {} vs {want}", f.name, outs[j][0]);
            }
        }
    }
}

/// Where an activation is finite, so is its compiled derivative, even when a branch that
/// `select` did not take overflows (`exp(100)` in `f32`): a zero gradient times `inf` must not
/// become NaN.
#[test]
fn derived_gradients_stay_finite_past_overflowing_branches() {
    for f in stdlib_functions().iter().filter(|f| f.inputs == ["x"] && f.outputs.len() == 1) {
        let k = kernel(&exp_ir::derive::vjp(f).unwrap()).unwrap();
        let xs = [100f32, -100.0, 1e4, -1e4, 88.0, -88.0, 0.5];
        let mut y = vec![0f32; xs.len()];
        kernel(f).unwrap().run(&[Input::Slice(&xs)], &mut [&mut y]).unwrap();
        let mut dx = vec![0f32; xs.len()];
        k.run(&[Input::Slice(&xs), Input::Scalar(1.0)], &mut [&mut dx]).unwrap();
        for ((x, y), dx) in xs.iter().zip(&y).zip(&dx) {
            assert!(!y.is_finite() || dx.is_finite(), "{}: f({x}) = {y} but f'({x}) = {dx}", f.name);
        }
    }
}

/// Reading inputs from the outputs they are written to gives what a run on separate copies
/// gives, serially and split over threads, tails included.
#[test]
fn in_place_runs_equal_runs_on_copies() {
    let mut rng = Rng(0x5851_f42d_4c95_7f2d);
    for (round, n) in [0usize, 3, 6, 1001, PARALLEL_MIN + 7].into_iter().enumerate() {
        let f = random_fn(&mut rng, 3, 10 + round);
        let k = kernel(&f).unwrap();
        let cols: Vec<Vec<f32>> = (0..3).map(|_| (0..n).map(|_| rng.uniform(-3.0, 3.0)).collect()).collect();
        let mut want = vec![vec![0f32; n]; 2];
        {
            let ins: Vec<Input<'_>> = cols.iter().map(|c| Input::Slice(c)).collect();
            let mut refs: Vec<&mut [f32]> = want.iter_mut().map(|o| o.as_mut_slice()).collect();
            k.run(&ins, &mut refs).unwrap();
        }
        for threads in [1, 2] {
            // Inputs 0 and 2 live in outputs 1 and 0.
            let mut outs = vec![cols[2].clone(), cols[0].clone()];
            let args = [Arg::Output(1), Arg::Input(Input::Slice(&cols[1])), Arg::Output(0)];
            let mut refs: Vec<&mut [f32]> = outs.iter_mut().map(|o| o.as_mut_slice()).collect();
            k.run_in_place(&args, &mut refs, threads).unwrap();
            for (got, want) in outs.iter().zip(&want) {
                assert!(got.iter().zip(want).all(|(g, w)| g.to_bits() == w.to_bits()), "n {n}, {threads} threads");
            }
        }
    }
    let k = kernel(&random_fn(&mut rng, 3, 5)).unwrap();
    let mut outs = [vec![0f32; 4], vec![0f32; 4]];
    let mut refs: Vec<&mut [f32]> = outs.iter_mut().map(|o| o.as_mut_slice()).collect();
    let args = [Arg::Output(2), Arg::Output(0), Arg::Output(1)];
    assert!(k.run_in_place(&args, &mut refs, 1).is_err(), "output 2 does not exist");
}

/// Fresh, unzeroed output buffers hold exactly what a run into zeroed ones writes, serially
/// and split over threads; inputs of the wrong length are refused.
#[test]
fn runs_into_new_buffers_equal_runs_into_given_ones() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for n in [0usize, 1, 7, 1001, PARALLEL_MIN + 5] {
        let f = random_fn(&mut rng, 3, 12);
        let k = kernel(&f).unwrap();
        let cols: Vec<Vec<f32>> = (0..3).map(|_| (0..n).map(|_| rng.uniform(-3.0, 3.0)).collect()).collect();
        let ins: Vec<Input<'_>> =
            cols.iter().enumerate().map(|(i, c)| if i == 1 { Input::Scalar(0.5) } else { Input::Slice(c) }).collect();
        let mut want = vec![vec![0f32; n]; 2];
        let mut refs: Vec<&mut [f32]> = want.iter_mut().map(|o| o.as_mut_slice()).collect();
        k.run(&ins, &mut refs).unwrap();
        for threads in [1, 2] {
            let got = k.run_new(&ins, n, threads).unwrap();
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.len(), n);
                assert!(g.iter().zip(w).all(|(a, b)| a.to_bits() == b.to_bits()), "n {n}, {threads} threads");
            }
        }
        if n > 0 {
            assert!(k.run_new(&ins, n - 1, 1).is_err(), "inputs of {n} for {} elements", n - 1);
        }
    }
}
