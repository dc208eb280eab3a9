//! The one integration-test binary: every data-driven suite is a module here.
//! Snapshots live in `tests/snapshots/`; run with `CI=true` so a missing snapshot fails.

mod check;
mod docs;
mod driver;
mod fmt;
mod incremental;
mod init;
mod ir;
mod lint;
mod numerics;
mod optim;
mod parse;
mod robust;
mod run;
