//! The `expc` command line: the only place of the compiler with file IO, exit codes and
//! terminal output. Every command is a function returning an [`Outcome`], so tests run
//! commands in-process and compare what a user would see.

mod commands;
mod load;
mod overrides;
mod process;
mod run;
mod sources;

pub use commands::{check, compile, compile_source, estimate, explain, fmt, ir, Format, Outcome};
pub use overrides::parse_set;
pub use process::process_settings;
pub use run::{open_device, run, RunArgs};
pub use sources::sources;
