//! The `expc` command line.
