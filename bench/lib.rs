//! Benchmarks of `expc`; see `README.md` in this folder for what they measure and the results.
