//! Executes `exp-ir` programs on Candle: parameters and their initializers, the model graph
//! forward and backward, elementwise scalar functions composed from Candle ops, losses,
//! optimizers from their IR update rules, data sources, and the training loop.
//!
//! The runtime reads only the IR: it never sees syntax, the semantic model or salsa. Every
//! error it reports carries the IR origin of the node or declaration that caused it, so the
//! driver can point at the `.exp` source. Random numbers come from [`rng::Rng`], never from
//! Candle's unseedable CPU generator. Files are read and written only through [`store`]: the
//! run directory behind the [`store::RunStore`] trait, inputs through [`store::read_input`].
//! Tests live beside each module and in `tests/src/run*.rs`.

pub mod checkpoint;
pub mod data;
pub mod error;
pub mod exec;
pub mod init;
pub mod loss;
pub mod optim;
pub mod probes;
pub mod rng;
pub mod rundir;
pub mod scalar;
pub mod store;
pub mod train;

pub use error::{ErrorKind, Result, RunError};
