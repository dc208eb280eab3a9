//! Whole-program tests: round trips through text and JSON, the hash, one rejected mutation per
//! verifier rule, and parser robustness on truncated and corrupted text.
//! The programs are built by hand in `fixtures.rs` with the builders of `build.rs`.

pub(crate) mod build;
pub(crate) mod fixtures;
mod robust;
mod roundtrip;
mod rules;
mod snapshot;
