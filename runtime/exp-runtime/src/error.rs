//! Runtime errors: what went wrong, and the IR origin (file and byte range of the `.exp`
//! source) of the declaration or node that caused it, so the driver can point at the source.

use exp_ir::Origin;

/// An error while running a program.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct RunError {
    /// What went wrong, in the compiler's message style (lowercase, names in backticks).
    pub message: String,
    /// Where in the source the failing declaration or node was written.
    pub origin: Option<Origin>,
    /// A fix, when one is known.
    pub help: Option<String>,
    /// Whether the data or the run itself failed.
    pub kind: ErrorKind,
}

/// What failed, for the diagnostic code the driver reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorKind {
    /// The run: a non-finite loss, a tensor operation, a file of the run directory.
    #[default]
    Run,
    /// Loading the data: a missing or corrupt file, or data that disagrees with its
    /// declaration (shape, classes, labels).
    Data,
}

impl RunError {
    /// An error without a source location.
    pub fn new(message: impl Into<String>) -> RunError {
        RunError { message: message.into(), origin: None, help: None, kind: ErrorKind::Run }
    }

    /// An error at a source location.
    pub fn at(message: impl Into<String>, origin: Option<Origin>) -> RunError {
        RunError { message: message.into(), origin, help: None, kind: ErrorKind::Run }
    }

    /// The same error, as a failure to load the data declared at `origin` (kept when the
    /// error already names a more precise place, such as a transform).
    pub fn in_data(mut self, origin: Option<Origin>) -> RunError {
        self.kind = ErrorKind::Data;
        self.origin = self.origin.or(origin);
        self
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> RunError {
        self.help = Some(help.into());
        self
    }
}

impl From<candle_core::Error> for RunError {
    fn from(e: candle_core::Error) -> RunError {
        RunError::new(format!("tensor operation failed: {e}"))
    }
}

/// The runtime's result type.
pub type Result<T> = std::result::Result<T, RunError>;
