//! End-to-end runs through `expc run` in-process: determinism, exact resume, refusal to
//! resume a changed experiment, every example for a few steps, and runtime faults reported
//! at the `.exp` source.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use exp_driver::{run, RunArgs};
use exp_tests::root;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("expc-run-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn quickstart(out: &Path, extra: &[&str]) -> RunArgs {
    let mut sets = vec!["train=3epochs".to_string()];
    sets.extend(extra.iter().map(|s| s.to_string()));
    RunArgs {
        file: root().join("examples/quickstart/main.exp"),
        sets,
        out: Some(out.to_path_buf()),
        ..RunArgs::default()
    }
}

fn go(args: &RunArgs) -> exp_driver::Outcome {
    run(args, Arc::new(AtomicBool::new(false)), true)
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn runs_are_deterministic_and_resume_exactly() {
    let (a, b, c) = (temp("a"), temp("b"), temp("c"));
    for dir in [&a, &b] {
        let out = go(&quickstart(dir, &[]));
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    for file in ["metrics.jsonl", "metrics.csv", "final.safetensors", "ir.expir"] {
        assert_eq!(read(&a.join(file)), read(&b.join(file)), "{file} differs between identical runs");
    }
    let rows = String::from_utf8(read(&a.join("metrics.jsonl"))).unwrap();
    assert!(rows.lines().count() >= 1 && rows.contains("\"test_acc\""), "{rows}");
    for f in ["config.json", "summary.json", "log.txt"] {
        assert!(a.join(f).exists(), "{f} is written");
    }

    // Interrupt after 29 steps (a checkpoint is written), then resume to the end.
    let mut first = quickstart(&c, &[]);
    first.max_steps = Some(29);
    let out = go(&first);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("interrupted"), "{}", out.stdout);
    assert!(c.join("checkpoints/step-29.safetensors").exists());
    let resume = RunArgs { resume: Some(c.clone()), out: None, ..quickstart(&c, &[]) };
    let out = go(&resume);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(read(&a.join("final.safetensors")), read(&c.join("final.safetensors")), "resumed weights differ");
    assert_eq!(read(&a.join("metrics.jsonl")), read(&c.join("metrics.jsonl")), "resumed metrics differ");

    // Resuming with a different recipe is refused, naming what changed.
    let changed = RunArgs { resume: Some(c.clone()), out: None, ..quickstart(&c, &["optimizer.weight_decay=0.5"]) };
    let out = go(&changed);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("optimizer.weight_decay"), "{}", out.stderr);
    for d in [a, b, c] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn runs_do_not_depend_on_the_thread_count() {
    // The quickstart's products, pools and kernels split over however many threads there are;
    // none of the splits may change a bit of the result (the convolution gradients' products
    // are split by the gemm crate, the last batch of 28 rows is not split at all).
    let finals: Vec<Vec<u8>> = [1, 3]
        .into_iter()
        .map(|threads| {
            let dir = temp(&format!("threads-{threads}"));
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let out = pool.install(|| go(&quickstart(&dir, &[])));
            assert_eq!(out.code, 0, "{}", out.stderr);
            let bytes = read(&dir.join("final.safetensors"));
            let _ = std::fs::remove_dir_all(&dir);
            bytes
        })
        .collect();
    assert!(finals[0] == finals[1], "1 and 3 threads trained different weights");
}

#[test]
fn every_example_runs_a_few_steps() {
    let mut count = 0;
    for example in ["quickstart", "grokking", "shallow-vs-deep", "selu-deep", "gradient-noise"] {
        let file = root().join(format!("examples/{example}/main.exp"));
        let text = std::fs::read_to_string(&file).unwrap();
        let experiments: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("experiment "))
            .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
            .collect();
        for exp in experiments {
            let out_dir = temp(&format!("{example}-{exp}"));
            let args = RunArgs {
                file: file.clone(),
                experiment: Some(exp.clone()),
                sets: vec!["train=6steps".into()],
                out: Some(out_dir.clone()),
                ..RunArgs::default()
            };
            let out = go(&args);
            assert_eq!(out.code, 0, "{example}/{exp}: {}", out.stderr);
            assert!(out.stdout.contains("after 6 steps"), "{example}/{exp}: {}", out.stdout);
            let _ = std::fs::remove_dir_all(out_dir);
            count += 1;
        }
    }
    assert!(count >= 10, "ran {count} experiments");
}

/// The README's main job, in full: the quickstart on the bundled digits reaches the accuracy
/// its README reports (its stop rule ends it after 18 epochs).
#[test]
fn the_quickstart_reaches_95_percent_test_accuracy() {
    let dir = temp("quickstart-full");
    let full = RunArgs { sets: Vec::new(), ..quickstart(&dir, &[]) };
    let out = go(&full);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let summary: serde_json::Value = serde_json::from_slice(&read(&dir.join("summary.json"))).unwrap();
    let acc = summary["probes"]["test_acc"].as_f64().unwrap();
    assert!(acc >= 0.95, "test accuracy {acc}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_diverging_run_stops_at_the_loss_with_a_checkpoint() {
    let dir = temp("nan");
    let out = go(&quickstart(&dir, &["optimizer=sgd(lr: 1e30)"]));
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stderr.contains("runtime-error") && out.stderr.contains("became non-finite at step"), "{}", out.stderr);
    // The first op whose output went non-finite: a `conv2d` of the stdlib's `conv_block`.
    assert!(
        out.stderr.contains("`conv2d`") && out.stderr.contains("std/nn.exp"),
        "the error points at the op: {}",
        out.stderr
    );
    assert!(
        dir.join("checkpoints").read_dir().map(|mut d| d.next().is_some()).unwrap_or(false),
        "a checkpoint of the last finite state is written"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn missing_data_files_are_reported_at_the_declaration() {
    let dir = temp("missing");
    let exp = dir.join("m.exp");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        &exp,
        "use std.data.idx\ndata d = idx(dir: \"nowhere\", shape: [1, 8, 8], classes: 10)\n\
         experiment e {\n    data = d\n    model = flatten >> linear(10)\n    loss = cross_entropy\n    optimizer = sgd(lr: 0.1)\n    batch = 8\n    train = 2 steps\n}\n",
    )
    .unwrap();
    let out = go(&RunArgs { file: exp, out: Some(dir.join("run")), ..RunArgs::default() });
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("nowhere") && out.stderr.contains("m.exp:2"), "{}", out.stderr);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_interrupted_run_checkpoints_and_resumes_to_the_same_weights() {
    let (clean, cut) = (temp("clean"), temp("cut"));
    assert_eq!(go(&quickstart(&clean, &["train=1epochs"])).code, 0);
    // The flag Ctrl-C sets, raised before the first step: the run checkpoints step 0 and exits.
    let out = run(&quickstart(&cut, &["train=1epochs"]), Arc::new(AtomicBool::new(true)), true);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("interrupted after 0 steps"), "{}", out.stdout);
    assert!(cut.join("checkpoints/step-0.safetensors").exists());
    assert!(!cut.join("final.safetensors").exists(), "an interrupted run has no final weights yet");
    let out = go(&RunArgs { resume: Some(cut.clone()), out: None, ..quickstart(&cut, &["train=1epochs"]) });
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(read(&clean.join("final.safetensors")), read(&cut.join("final.safetensors")));
    for d in [clean, cut] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn an_unwritable_run_directory_fails_before_training() {
    let blocker = temp("blocker");
    std::fs::write(&blocker, "a file, not a directory").unwrap();
    let out = go(&quickstart(&blocker.join("run"), &[]));
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("cannot create the run directory"), "{}", out.stderr);
    let _ = std::fs::remove_file(blocker);
}

#[test]
fn unavailable_and_unknown_devices_are_refused_before_anything_runs() {
    let dir = temp("device");
    for (device, says) in [
        ("cuda", "--features cuda"),
        ("metal:1", "--features metal"),
        ("cuda:x", "must be an integer"),
        ("tpu", "unknown device `tpu`"),
    ] {
        let out = go(&RunArgs { device: Some(device.into()), ..quickstart(&dir, &[]) });
        assert_eq!(out.code, 2, "{device}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{device}: {}", out.stderr);
        assert!(!dir.exists(), "{device}: nothing is written before the device opens");
    }
}

/// A run store that behaves like a disk filling up: every write after the first `ok` fails
/// with `StorageFull`, and the files written before stay as they were.
#[derive(Debug)]
struct FillingDisk {
    files: Arc<exp_runtime::store::MemStore>,
    ok: usize,
    writes: std::sync::atomic::AtomicUsize,
}

impl exp_runtime::store::RunStore for FillingDisk {
    fn write(&self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        if self.writes.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= self.ok {
            return Err(std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left on device"));
        }
        self.files.write(name, bytes)
    }
    fn read(&self, name: &str) -> std::io::Result<Option<Vec<u8>>> {
        self.files.read(name)
    }
    fn append(&self, name: &str, line: &str) -> std::io::Result<()> {
        self.files.append(name, line)
    }
    fn list(&self, dir: &str) -> std::io::Result<Vec<String>> {
        self.files.list(dir)
    }
    fn locate(&self, name: &str) -> String {
        self.files.locate(name)
    }
}

struct Silent;

impl exp_runtime::train::Observer for Silent {
    fn message(&mut self, _: &str) {}
    fn step(&mut self, _: u64, _: u64, _: f64) {}
    fn probes(&mut self, _: u64, _: &[(String, f64)]) {}
}

/// The disk fills up in the middle of a run: the run stops with an error that says so, the
/// checkpoint written before is intact, and resuming from it (once there is space) ends with
/// the weights and metrics of a run that never failed. Runs entirely on in-memory stores.
#[test]
fn a_full_disk_stops_the_run_without_losing_the_last_checkpoint() {
    use exp_runtime::store::{MemStore, RunStore};
    let text = "use std.data.gaussian_mixture\nuse std.probes.{loss}\n\
                data d = gaussian_mixture(dim: 4, classes: 3, n: 300)\n\
                experiment e {\n    data = d\n    model = linear(16) >> relu >> linear(3)\n    loss = cross_entropy\n\
                \x20   optimizer = adam(lr: 1e-2)\n    batch = 16\n    train = 30 steps\n\
                \x20   probe every 5 steps { test_loss = loss(on: d.test) }\n}\n";
    let program = exp_driver::compile_source("disk.exp", text, "e").unwrap();
    let run_on = |store: Arc<dyn RunStore>, resume: bool| {
        let opts = exp_runtime::train::RunOptions {
            base_dir: PathBuf::new(),
            store,
            resume,
            checkpoint_every: 5,
            interrupt: Arc::new(AtomicBool::new(false)),
            max_steps: None,
            init_from: None,
            jit: true,
            device: candle_core::Device::Cpu,
        };
        exp_runtime::train::train(&program, &opts, &mut Silent)
    };
    let clean = Arc::new(MemStore::default());
    let summary = run_on(clean.clone(), false).unwrap();
    assert_eq!(summary.ended, exp_runtime::train::Ended::Completed);

    // Each probe event writes the two metrics files, then the checkpoint: the 8th write (the
    // CSV at step 15) is the first that finds the disk full.
    let files = Arc::new(MemStore::default());
    let full = FillingDisk { files: files.clone(), ok: 7, writes: Default::default() };
    let err = run_on(Arc::new(full), false).unwrap_err();
    assert!(err.message.contains("cannot write `<memory>/metrics.csv`"), "{}", err.message);
    assert!(err.help.as_deref().is_some_and(|h| h.contains("disk is full") && h.contains("--resume")), "{err:?}");
    assert_eq!(files.names().iter().filter(|n| n.starts_with("checkpoints/")).count(), 2, "{:?}", files.names());
    assert!(files.read("final.safetensors").unwrap().is_none());

    let resumed = run_on(files.clone(), true).unwrap();
    assert_eq!((resumed.steps, resumed.ended), (30, exp_runtime::train::Ended::Completed));
    for name in ["final.safetensors", "metrics.jsonl", "metrics.csv"] {
        assert_eq!(clean.read(name).unwrap(), files.read(name).unwrap(), "{name} differs after the resume");
    }
}
