//! The parser of the text form: the inverse of [`crate::print()`].
//!
//! It reads line by line: a section header starts at column 0, the lines of its items are
//! indented, and sections must come in the printed order.
//! It never panics, on any input: all slicing goes through the line cursor, which only
//! advances over whole characters, and nesting is bounded.
//! It is deliberately lenient about what the verifier checks (undefined values, duplicate names,
//! missing parameters) so that a broken program can still be read and then verified; it is
//! strict about syntax, and reports the first syntax error with its line and column.
//! Graph values and scalar values get fresh ids in the order they are first mentioned.

pub(crate) mod cursor;
mod graph;
mod plan;

use crate::seed::{SeedPurpose, Seeds};
use crate::types::*;
use cursor::Cursor;
use std::fmt;

/// A syntax error in IR text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// What was wrong, in the style `expected X, found Y`.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for ParseError {}

type Res<T> = Result<T, ParseError>;

/// Parses IR text written by [`crate::print()`].
pub fn parse(text: &str) -> Result<Program, ParseError> {
    let mut lines = Lines::new(text);
    let program = parse_program(&mut lines)?;
    match lines.peek() {
        None => Ok(program),
        Some((n, _)) => Err(ParseError { line: n, column: 1, message: "unexpected text after `estimates`".into() }),
    }
}

fn parse_program(lines: &mut Lines<'_>) -> Res<Program> {
    let mut c = lines.header("expir")?;
    let version = c.u32()?;
    if version != FORMAT_VERSION {
        return Err(c.error(format!("unsupported IR version {version}, expected {FORMAT_VERSION}")));
    }
    c.expect_end()?;
    let mut c = lines.header("experiment")?;
    let name = c.ident()?.to_string();
    c.expect_end()?;
    let hash = parse_hash(&mut lines.header("hash")?)?;
    let files = parse_files(lines)?;
    let config = parse_config(lines)?;
    let seeds = parse_seeds(lines)?;
    let data = parse_data(lines)?;
    let params = parse_params(lines, "params")?;
    let buffers = parse_params(lines, "buffers")?;
    let functions = graph::parse_functions(lines)?;
    let graph = graph::parse_graph(lines)?;
    let loss = plan::parse_loss(lines)?;
    let schedules = plan::parse_schedules(lines)?;
    let optimizer = plan::parse_optimizer(lines)?;
    let train = plan::parse_train(lines)?;
    let estimates = plan::parse_estimates(lines)?;
    Ok(Program {
        name,
        hash,
        files,
        config,
        seeds,
        data,
        params,
        buffers,
        functions,
        graph,
        loss,
        schedules,
        optimizer,
        train,
        estimates,
    })
}

/// The input split into lines, with a position; blank lines are skipped everywhere.
pub(crate) struct Lines<'a> {
    lines: Vec<&'a str>,
    next: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Lines<'a> {
        // A `\r` before each `\n` is dropped, so files checked out with CRLF endings still parse.
        Lines { lines: text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect(), next: 0 }
    }

    /// The next non-blank line and its 1-based number, without consuming it.
    fn peek(&mut self) -> Option<(u32, &'a str)> {
        while self.lines.get(self.next).is_some_and(|l| l.trim().is_empty()) {
            self.next += 1;
        }
        let line = self.lines.get(self.next)?;
        Some((u32::try_from(self.next + 1).unwrap_or(u32::MAX), line))
    }

    fn eof_error(&self, expected: &str) -> ParseError {
        let line = u32::try_from(self.lines.len()).unwrap_or(u32::MAX);
        ParseError { line, column: 1, message: format!("unexpected end of input, expected {expected}") }
    }

    /// Consumes the next line, which must start with the section keyword `kw` at column 0.
    pub(crate) fn header(&mut self, kw: &str) -> Res<Cursor<'a>> {
        let (n, line) = self.peek().ok_or_else(|| self.eof_error(&format!("`{kw}`")))?;
        let mut c = Cursor::new(line, n);
        if line.starts_with([' ', '\t']) {
            return Err(c.error(format!("expected section `{kw}` at the start of the line")));
        }
        c.keyword(kw)?;
        self.next += 1;
        Ok(c)
    }

    /// Consumes the next line if it is indented (an item of the current section).
    pub(crate) fn item(&mut self) -> Option<Cursor<'a>> {
        let (n, line) = self.peek()?;
        if !line.starts_with([' ', '\t']) {
            return None;
        }
        self.next += 1;
        Some(Cursor::new(line, n))
    }

    /// Consumes the next line, which must be an item starting with keyword `kw`.
    pub(crate) fn expect_item(&mut self, kw: &str) -> Res<Cursor<'a>> {
        let Some(mut c) = self.item() else {
            return Err(match self.peek() {
                Some((n, _)) => ParseError { line: n, column: 1, message: format!("expected an indented `{kw}` line") },
                None => self.eof_error(&format!("`{kw}`")),
            });
        };
        c.keyword(kw)?;
        Ok(c)
    }

    /// The next item's first word, without consuming anything.
    pub(crate) fn peek_item_word(&mut self) -> Option<&'a str> {
        let (n, line) = self.peek()?;
        if !line.starts_with([' ', '\t']) {
            return None;
        }
        Cursor::new(line, n).peek_word()
    }

    /// Consumes the next line whatever its indentation (function bodies).
    pub(crate) fn any_line(&mut self, expected: &str) -> Res<Cursor<'a>> {
        let (n, line) = self.peek().ok_or_else(|| self.eof_error(expected))?;
        self.next += 1;
        Ok(Cursor::new(line, n))
    }
}

/// Reads `name(k: v, ...)` as the typed builtin `T`, checked by the registry.
pub(crate) fn builtin_call<T: exp_ops::Builtin>(c: &mut Cursor<'_>) -> Res<T> {
    let name = c.ident()?;
    let args = parse_args(c)?;
    crate::builtin::builtin_of(name, &args).map_err(|e| c.error(e))
}

/// Parses the `name(k: v, ...)` argument list after a name.
pub(crate) fn parse_args(c: &mut Cursor<'_>) -> Res<Args> {
    c.expect("(")?;
    let mut args = Vec::new();
    if c.eat(")") {
        return Ok(args);
    }
    loop {
        let key = c.ident()?.to_string();
        c.expect(":")?;
        args.push((key, c.value()?));
        if c.eat(")") {
            return Ok(args);
        }
        c.expect(",")?;
    }
}

/// Reads `f32` or `i64`.
pub(crate) fn parse_dtype(c: &mut Cursor<'_>) -> Res<DType> {
    let word = c.ident()?;
    DType::from_name(word).ok_or_else(|| c.error(format!("unknown dtype `{word}`, expected `f32` or `i64`")))
}

/// Reads `f32[B, 10]`.
pub(crate) fn parse_tensor_type(c: &mut Cursor<'_>) -> Res<TensorType> {
    let dtype = parse_dtype(c)?;
    Ok(TensorType { dtype, shape: c.shape()? })
}

/// Reads an optional origin and then the end of the line.
pub(crate) fn origin_end(c: &mut Cursor<'_>) -> Res<Option<Origin>> {
    let origin = c.origin()?;
    c.expect_end()?;
    Ok(origin)
}

fn parse_hash(c: &mut Cursor<'_>) -> Res<String> {
    let token = c.token();
    let is_hex = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if token != "-" && !is_hex {
        return Err(c.error(format!("expected a lowercase hex hash or `-`, found `{token}`")));
    }
    c.expect_end()?;
    Ok(if token == "-" { String::new() } else { token.to_string() })
}

fn parse_files(lines: &mut Lines<'_>) -> Res<Vec<String>> {
    lines.header("files")?.expect_end()?;
    let mut files = Vec::new();
    while let Some(mut c) = lines.item() {
        let index = c.u64()?;
        if index != files.len() as u64 {
            return Err(c.error(format!("expected file index {}, found {index}", files.len())));
        }
        files.push(c.string()?);
        c.expect_end()?;
    }
    Ok(files)
}

fn parse_config(lines: &mut Lines<'_>) -> Res<Vec<ConfigEntry>> {
    lines.header("config")?.expect_end()?;
    let mut config = Vec::new();
    while let Some(mut c) = lines.item() {
        let path = c.path()?.to_string();
        c.expect("=")?;
        let value = c.value()?;
        c.expect("#")?;
        c.keyword("from")?;
        let provenance = if c.eat("--set") {
            Provenance::CommandLine
        } else {
            match c.word()? {
                "default" => Provenance::Default,
                "declaration" => Provenance::Declaration,
                "extends" => Provenance::Extends(c.path()?.to_string()),
                other => return Err(c.error(format!("unknown provenance `{other}`"))),
            }
        };
        c.expect_end()?;
        config.push(ConfigEntry { path, value, provenance });
    }
    Ok(config)
}

fn parse_seeds(lines: &mut Lines<'_>) -> Res<Seeds> {
    let mut c = lines.header("seeds")?;
    let base = c.u64()?;
    c.expect_end()?;
    // Start from the derivation so every field is set; each stored seed then overwrites it, and
    // the verifier, not the parser, judges whether they agree.
    let mut seeds = Seeds::from_base(base);
    for purpose in SeedPurpose::ALL {
        let mut c = lines.expect_item(purpose.name())?;
        *seeds.get_mut(purpose) = c.u64()?;
        c.expect_end()?;
    }
    Ok(seeds)
}

fn parse_data(lines: &mut Lines<'_>) -> Res<DataPlan> {
    let mut c = lines.header("data")?;
    let source = builtin_call(&mut c)?;
    let origin = origin_end(&mut c)?;
    let mut c = lines.expect_item("x")?;
    let x = parse_tensor_type(&mut c)?;
    c.expect_end()?;
    let mut c = lines.expect_item("target")?;
    let target = match c.word()? {
        "classes" => Target::Classes(c.u64()?),
        "regression" => Target::Regression(c.shape()?),
        other => return Err(c.error(format!("expected `classes` or `regression`, found `{other}`"))),
    };
    c.expect_end()?;
    let mut c = lines.expect_item("splits")?;
    let mut splits = Vec::new();
    while !c.at_end() {
        if !splits.is_empty() {
            c.expect(",")?;
        }
        splits.push(c.ident()?.to_string());
    }
    let mut transforms = Vec::new();
    while lines.peek_item_word() == Some("transform") {
        let mut c = lines.expect_item("transform")?;
        let op = builtin_call(&mut c)?;
        transforms.push(TransformStep { op, origin: origin_end(&mut c)? });
    }
    let batch = u64_item(lines, "batch")?;
    let mut c = lines.expect_item("shuffle")?;
    let shuffle = match c.word()? {
        "true" => true,
        "false" => false,
        other => return Err(c.error(format!("expected `true` or `false`, found `{other}`"))),
    };
    c.expect_end()?;
    let (x_dtype, x_shape) = (x.dtype, x.shape);
    Ok(DataPlan { source, x_shape, x_dtype, target, splits, transforms, batch, shuffle, origin })
}

/// Reads an item line `kw N`.
pub(crate) fn u64_item(lines: &mut Lines<'_>, kw: &str) -> Res<u64> {
    let mut c = lines.expect_item(kw)?;
    let n = c.u64()?;
    c.expect_end()?;
    Ok(n)
}

fn parse_params(lines: &mut Lines<'_>, header: &str) -> Res<Vec<Param>> {
    lines.header(header)?.expect_end()?;
    let mut params = Vec::new();
    while let Some(mut c) = lines.item() {
        let name = c.path()?.to_string();
        c.expect(":")?;
        let ty = parse_tensor_type(&mut c)?;
        c.expect("=")?;
        let init = crate::init::parse_init(&mut c)?;
        let origin = origin_end(&mut c)?;
        params.push(Param { name, shape: ty.shape, dtype: ty.dtype, init, origin });
    }
    Ok(params)
}
