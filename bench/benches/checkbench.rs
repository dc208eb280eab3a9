//! Front-end benchmark: generates a large `.exp` file and measures a cold check and a
//! re-check after a one-character edit inside one item's body.
//!
//! Run: `cargo bench -p exp-bench --bench checkbench -- [LINES] [RUNS]`
//! (defaults 5000 lines, 11 runs). Prints medians and ranges in milliseconds.

use std::time::Instant;

use exp_db::RootDb;

/// A file of roughly `lines` lines: scalar functions, blocks, schedules and experiments.
fn generate(lines: usize) -> String {
    let mut out = String::from("use std.data.gaussian_mixture\nuse std.probes.accuracy\n\n");
    let mut i = 0;
    while out.lines().count() < lines {
        out.push_str(&format!(
            "/// Function {i}.\nfn act{i}(x) = if x > 0.0 {{ x * {i}.5 }} else {{ 0.01 * x }}\n\n\
             block net{i}(width: Int = {w}, classes: Int): [B, D] -> [B, classes] {{\n    linear(width) >> act{i} >> linear(width) >> relu >> linear(classes)\n}}\n\n\
             schedule warm{i}(base: Float) = if step < 100 steps {{ base * (step / 100 steps) }} else {{ base }}\n\n\
             data blobs{i} = gaussian_mixture(dim: 8, classes: 4, n: 400, seed: {i})\n\n\
             experiment e{i} {{\n    data = blobs{i}\n    model = net{i}(classes: 4)\n    loss = cross_entropy\n    optimizer = adamw(lr: warm{i}(base: 1e-3))\n    batch = 32\n    train = 200 steps\n    probe every 50 steps {{ acc = accuracy(on: blobs{i}.test) }}\n    stop when acc >= 0.95 for 2 probes\n}}\n\n",
            w = 16 + i % 7
        ));
        i += 1;
    }
    out
}

fn check(db: &RootDb) -> usize {
    let file = db.file("bench.exp").expect("file added");
    exp_hir::file_diagnostics(db, file).len()
}

fn stats(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(|a, b| a.total_cmp(b));
    (xs[xs.len() / 2], xs[0], xs[xs.len() - 1])
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let lines = args.first().copied().unwrap_or(5000);
    let runs = args.get(1).copied().unwrap_or(11);
    let text = generate(lines);
    // The edit: one character inside the body of a function in the middle of the file.
    let mid = text.len() / 2;
    let at = mid + text[mid..].find(".5 }").expect("a function body after the middle");
    let mut edited = text.clone();
    edited.replace_range(at + 1..at + 2, "7");
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let mut db = RootDb::default();
        db.set_file("bench.exp", &text);
        let t = Instant::now();
        let n = check(&db);
        cold.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(n, 0, "the generated file must check cleanly");
        for (k, version) in [&edited, &text].into_iter().enumerate() {
            db.set_file("bench.exp", version);
            let t = Instant::now();
            let n = check(&db);
            if k == 0 {
                warm.push(t.elapsed().as_secs_f64() * 1e3);
            }
            assert_eq!(n, 0);
        }
    }
    let (c, c0, c1) = stats(cold);
    let (w, w0, w1) = stats(warm);
    println!("file: {} lines, {} bytes, {runs} runs", text.lines().count(), text.len());
    println!("cold check:            median {c:.1} ms  (range {c0:.1}..{c1:.1})");
    println!("re-check after 1 char: median {w:.1} ms  (range {w0:.1}..{w1:.1})");
}
