//! The parsing strategy: one pest call for a clean file, one per item chunk otherwise.
//!
//! pest has no error recovery: it stops at the first error. Recovery therefore happens
//! around it. The scan (`scan.rs`) cuts the file into item chunks; when the whole-file parse
//! fails, every chunk is parsed alone with `item_alone`, so each broken item yields exactly
//! one error and every other item still parses. Spans of a chunk's nodes are shifted to
//! file offsets by `Ctx::offset`.

use pest::Parser;

use crate::ast::{Expr, File, SyntaxError};
use crate::build::{self, Ctx};
use crate::errors::{from_pest, Input};
use crate::grammar::{ExpParser, Rule};
use crate::scan::scan;

/// See [`crate::parse`].
pub(crate) fn parse_file(text: &str) -> File {
    let scan = scan(text);
    let mut file = File { comments: scan.comments, ..File::default() };
    // Chunks with scan problems are never handed to pest: unterminated strings give poor
    // messages there, and too-deep nesting would strain its recursion.
    if scan.chunks.iter().all(|c| c.problem.is_none()) {
        if let Ok(pairs) = ExpParser::parse(Rule::file, text) {
            let cx = Ctx { offset: 0 };
            let items = pairs.flat_map(|file| file.into_inner()).filter(|p| p.as_rule() == Rule::item);
            for pair in items {
                match build::item(cx, pair) {
                    Ok(item) => file.items.push(item),
                    Err(error) => file.errors.push(error),
                }
            }
            return file;
        }
    }
    for chunk in scan.chunks.iter().filter(|c| c.is_relevant()) {
        if let Some(problem) = &chunk.problem {
            file.errors.push(problem.clone());
            continue;
        }
        let cx = Ctx { offset: chunk.start };
        match ExpParser::parse(Rule::item_alone, &text[chunk.start..chunk.end]) {
            Ok(pairs) => {
                let items = pairs.flat_map(|p| p.into_inner()).filter(|p| p.as_rule() == Rule::item);
                for pair in items {
                    match build::item(cx, pair) {
                        Ok(item) => file.items.push(item),
                        Err(error) => file.errors.push(error),
                    }
                }
            }
            Err(error) => file.errors.push(from_pest(error, text, chunk.start, Input::Item)),
        }
    }
    file
}

/// See [`crate::parse_expr`].
pub(crate) fn parse_expr(text: &str) -> Result<Expr, SyntaxError> {
    if let Some(problem) = scan(text).chunks.into_iter().find_map(|c| c.problem) {
        return Err(problem);
    }
    let pairs = ExpParser::parse(Rule::expr_alone, text).map_err(|e| from_pest(e, text, 0, Input::Expr))?;
    let cx = Ctx { offset: 0 };
    let outer = pairs.into_iter().next();
    let expr = outer.and_then(|p| p.into_inner().find(|p| p.as_rule() == Rule::expr));
    match expr {
        Some(pair) => build::expr(cx, pair, 0),
        None => Err(SyntaxError {
            span: crate::Span::point(0),
            message: "internal parser error: no expression".into(),
            help: Some("this is a bug in expc; please report it".into()),
        }),
    }
}
