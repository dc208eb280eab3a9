//! The `expc` binary: argument parsing and exit codes around [`exp_driver`].

use std::path::PathBuf;
use std::process::ExitCode;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::{Parser, Subcommand};
use exp_driver::Format;

// Every tensor op allocates; mimalloc keeps freed buffers instead of returning them to the OS
// (2.6x on training steps, measured in research/PERF.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "expc", version, about = "Compile, check and run deep-learning experiments written in `.exp`")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The experiment a command works on.
#[derive(clap::Args)]
struct Target {
    /// The `.exp` file.
    file: PathBuf,
    /// The experiment (optional when the file declares one).
    experiment: Option<String>,
    /// Override a value, e.g. `--set optimizer.lr=3e-4`.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    sets: Vec<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Check files (or directories of `.exp` files) and print diagnostics; exit 1 on errors.
    Check {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// `human` (default) or `json` (one object per line).
        #[arg(long, value_enum, default_value_t)]
        message_format: Format,
    },
    /// Print the IR of an experiment.
    Ir {
        #[command(flatten)]
        target: Target,
        /// Print the JSON form.
        #[arg(long)]
        json: bool,
        /// Diagnostics format.
        #[arg(long, value_enum, default_value_t)]
        message_format: Format,
    },
    /// Print parameter count, memory by category and FLOPs per step.
    Estimate {
        #[command(flatten)]
        target: Target,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Diagnostics format.
        #[arg(long, value_enum, default_value_t)]
        message_format: Format,
    },
    /// Format files in the canonical style.
    Fmt {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Only list files that are not formatted (exit 1 if any).
        #[arg(long)]
        check: bool,
    },
    /// Train an experiment, writing its run directory.
    Run {
        #[command(flatten)]
        target: Target,
        /// The base seed (shorthand for `--set seed=N`).
        #[arg(long)]
        seed: Option<u64>,
        /// The run directory (default `runs/<experiment>/<time>-<hash>/`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Continue the run in this directory from its latest checkpoint.
        #[arg(long, value_name = "RUN_DIR")]
        resume: Option<PathBuf>,
        /// Steps between checkpoints (default: only at the end, on a stop rule and on Ctrl-C).
        #[arg(long, value_name = "STEPS")]
        checkpoint_every: Option<u64>,
        /// Stop after this many steps with a checkpoint, as Ctrl-C would.
        #[arg(long, value_name = "STEPS")]
        max_steps: Option<u64>,
        /// The device: `cpu`, `cuda[:N]` or `metal[:N]` (CUDA and Metal need a build with
        /// the `cuda` or `metal` feature).
        #[arg(long, default_value = "cpu")]
        device: String,
        /// Initial parameters from a safetensors file, matched by name (shapes are checked).
        #[arg(long, value_name = "FILE")]
        init_from: Option<PathBuf>,
        /// Compose Candle ops instead of running compiled kernels (the reference path).
        #[arg(long)]
        no_jit: bool,
        /// Print only the summary.
        #[arg(long)]
        quiet: bool,
    },
    /// Explain a diagnostic code, e.g. `expc explain shape-mismatch`.
    Explain {
        /// The code.
        code: String,
    },
}

fn main() -> ExitCode {
    exp_driver::process_settings();
    std::panic::set_hook(Box::new(|info| {
        eprintln!("internal error: {info}\nthis is a bug in expc; please report it with the input that caused it");
    }));
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let out = match std::panic::catch_unwind(|| run(cli)) {
        Ok(out) => out,
        Err(_) => return ExitCode::from(101),
    };
    print!("{}", out.stdout);
    eprint!("{}", out.stderr);
    ExitCode::from(out.code as u8)
}

fn run(cli: Cli) -> exp_driver::Outcome {
    match cli.command {
        Command::Check { paths, message_format } => exp_driver::check(&paths, message_format),
        Command::Ir { target: Target { file, experiment, sets }, json, message_format } => {
            exp_driver::ir(&file, experiment.as_deref(), &sets, json, message_format)
        }
        Command::Estimate { target: Target { file, experiment, sets }, json, message_format } => {
            exp_driver::estimate(&file, experiment.as_deref(), &sets, json, message_format)
        }
        Command::Fmt { paths, check } => exp_driver::fmt(&paths, check),
        Command::Explain { code } => exp_driver::explain(&code),
        Command::Run {
            target: Target { file, experiment, sets },
            seed,
            out,
            resume,
            checkpoint_every,
            max_steps,
            device,
            init_from,
            no_jit,
            quiet,
        } => {
            let interrupt = Arc::new(AtomicBool::new(false));
            let flag = interrupt.clone();
            // A first Ctrl-C asks for a checkpoint and a clean exit; the default handler would kill.
            let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
            let args = exp_driver::RunArgs {
                file,
                experiment,
                sets,
                seed,
                out,
                resume,
                checkpoint_every,
                max_steps,
                init_from,
                no_jit,
                device: Some(device),
            };
            exp_driver::run(&args, interrupt, quiet)
        }
    }
}
