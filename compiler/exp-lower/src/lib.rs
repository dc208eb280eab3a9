//! Lowering from the semantic model to the IR.
