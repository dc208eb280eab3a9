//! What names mean: the per-item index of each file ([`items`]), scopes and imports
//! ([`scope`]), the signatures of declarations ([`decls`]) and unused imports ([`unused`]).

pub(crate) mod decls;
// Salsa generates `ItemDef`'s constructor and getters without doc comments.
#[allow(missing_docs)]
pub mod items;
pub mod scope;
pub(crate) mod unused;
