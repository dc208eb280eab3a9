//! The content hash that names a run.
//!
//! The hash is the first 16 hex digits of the SHA-256 of the printed *recipe*: the program with
//! its hash blanked, and with what says where things were written rather than what they are
//! removed — the file table, every origin, and the provenance of config values.
//! Everything else (config values, seeds, data, parameters and initializers, functions,
//! graph, loss, optimizer, schedules, training plan, estimates) is in it, so any change of
//! recipe changes the run name, while reformatting a file, adding a comment, or restating a
//! default on the command line does not. The text is canonical, so the hash does not depend
//! on id allocation or on anything else the printer normalizes away. A resumed run uses the
//! origins of the program it was resumed with, so they are never stale.

use crate::print::print_with_hash;
use crate::Program;
use sha2::{Digest, Sha256};

/// Number of hex digits kept from the SHA-256 digest.
pub const HASH_LEN: usize = 16;

impl Program {
    /// The content hash of this program, ignoring the stored [`Program::hash`].
    pub fn compute_hash(&self) -> String {
        let digest = Sha256::digest(print_with_hash(&self.recipe(), "").as_bytes());
        digest.iter().take(HASH_LEN / 2).map(|b| format!("{b:02x}")).collect()
    }

    /// A copy without the file table, origins and config provenance: what the hash covers.
    pub fn recipe(&self) -> Program {
        let mut p = self.clone();
        p.files.clear();
        for c in &mut p.config {
            c.provenance = crate::Provenance::Default;
        }
        p.data.origin = None;
        p.data.transforms.iter_mut().for_each(|t| t.origin = None);
        p.params.iter_mut().chain(p.buffers.iter_mut()).for_each(|x| x.origin = None);
        p.functions.iter_mut().for_each(|f| f.origin = None);
        p.graph.nodes.iter_mut().for_each(|n| n.origin = None);
        p.loss.origin = None;
        p.optimizer.origin = None;
        p.schedules.iter_mut().for_each(|s| s.origin = None);
        p.train.probes.iter_mut().for_each(|x| x.origin = None);
        p.train.stop_rules.iter_mut().for_each(|x| x.origin = None);
        p
    }

    /// Stores [`Program::compute_hash`] in [`Program::hash`]; call it last, after lowering and
    /// any passes, since every later change invalidates it.
    pub fn seal(&mut self) {
        self.hash = self.compute_hash();
    }
}
