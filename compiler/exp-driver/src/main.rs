//! The `expc` binary: argument parsing and exit codes around [`exp_driver`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use exp_driver::Format;

#[derive(Parser)]
#[command(name = "expc", version, about = "Compile, check and run deep-learning experiments written in `.exp`")]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
        /// The `.exp` file.
        file: PathBuf,
        /// The experiment (optional when the file declares one).
        experiment: Option<String>,
        /// Override a value, e.g. `--set optimizer.lr=3e-4`.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
        /// Print the JSON form.
        #[arg(long)]
        json: bool,
        /// Diagnostics format.
        #[arg(long, value_enum, default_value_t)]
        message_format: Format,
    },
    /// Print parameter count, memory by category and FLOPs per step.
    Estimate {
        /// The `.exp` file.
        file: PathBuf,
        /// The experiment (optional when the file declares one).
        experiment: Option<String>,
        /// Override a value, e.g. `--set batch=256`.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
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
    /// Explain a diagnostic code, e.g. `expc explain shape-mismatch`.
    Explain {
        /// The code.
        code: String,
    },
}

fn main() -> ExitCode {
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
        Command::Ir { file, experiment, sets, json, message_format } => {
            exp_driver::ir(&file, experiment.as_deref(), &sets, json, message_format)
        }
        Command::Estimate { file, experiment, sets, json, message_format } => {
            exp_driver::estimate(&file, experiment.as_deref(), &sets, json, message_format)
        }
        Command::Fmt { paths, check } => exp_driver::fmt(&paths, check),
        Command::Explain { code } => exp_driver::explain(&code),
    }
}
