//! The content hash that names a run.
//!
//! The hash is the first 16 hex digits of the SHA-256 of the printed program with its hash line
//! blanked (`hash -`).
//! Because the text form holds everything (config, seeds, data, parameters and initializers,
//! functions, graph, loss, optimizer, schedules, training plan, estimates, and origins), any
//! change of recipe changes the hash and therefore the run name; the text is canonical, so the
//! hash does not depend on id allocation or on anything else the printer normalizes away.
//! Origins are included on purpose: moving a declaration in its file is rare, and a stale
//! origin would make runtime errors point at the wrong line.

use crate::print::print_with_hash;
use crate::Program;
use sha2::{Digest, Sha256};

/// Number of hex digits kept from the SHA-256 digest.
pub const HASH_LEN: usize = 16;

impl Program {
    /// The content hash of this program, ignoring the stored [`Program::hash`].
    pub fn compute_hash(&self) -> String {
        let digest = Sha256::digest(print_with_hash(self, "").as_bytes());
        digest.iter().take(HASH_LEN / 2).map(|b| format!("{b:02x}")).collect()
    }

    /// Stores [`Program::compute_hash`] in [`Program::hash`]; call it last, after lowering and
    /// any passes, since every later change invalidates it.
    pub fn seal(&mut self) {
        self.hash = self.compute_hash();
    }
}
