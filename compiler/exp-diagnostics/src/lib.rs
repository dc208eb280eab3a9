//! Diagnostics of the `.exp` compiler: the data type, the registry of codes, and rendering.
//!
//! Every phase reports problems as [`Diagnostic`] values, which are plain data with a stable
//! [`Code`]. Turning them into text happens only here: [`render`] for people (through miette,
//! which no other crate depends on) and [`to_json`] for tools. [`explain`] returns the
//! Markdown page of a code for `expc explain`.
//!
//! This crate knows spans and file names but nothing of parsing, salsa or the file system:
//! source text comes in through [`SourceLookup`].
//!
//! To add a diagnostic code, add one row to the table in `code.rs` and write its page as
//! `docs/<code>.md` with the sections the other pages have; the crate's tests check that every
//! code has a well-formed page and every page belongs to a code.

mod code;
mod diagnostic;
mod json;
mod render;

pub use code::{explain, Code, UnknownCode};
pub use diagnostic::{Diagnostic, FileName, Label, Severity};
pub use json::to_json;
pub use render::{render, RenderStyle, SourceLookup};
