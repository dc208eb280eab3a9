//! Shared helpers for the data-driven test suites live in `src/main.rs`.
