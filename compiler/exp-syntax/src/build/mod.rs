//! Building the owned AST from pest pairs.
//!
//! The grammar guarantees the shape of the pairs, but "never panics" is an invariant of the
//! crate, so a shape the builder does not expect becomes an internal `SyntaxError` instead of
//! an `unwrap` panic. Checks that the grammar cannot express (integer overflow, unknown string
//! escapes, generator arguments, nesting depth) are made here and reported as syntax errors.

mod exprs;
mod items;
mod lits;

pub(crate) use exprs::expr;
pub(crate) use items::item;

use pest::iterators::{Pair as PestPair, Pairs};

use crate::ast::{Ident, SyntaxError};
use crate::grammar::Rule;
use crate::Span;

/// A pest pair of this grammar.
pub(crate) type Pair<'i> = PestPair<'i, Rule>;

/// The builder's result type: an AST node, or the one error of its item.
pub(crate) type Res<T> = Result<T, SyntaxError>;

/// Where the parsed text sits in the file: recovery parses chunks of it alone.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ctx {
    /// Byte offset of the parsed text in the file, added to every span.
    pub offset: usize,
}

impl Ctx {
    /// The pair's span in file coordinates, without trailing whitespace and comments.
    pub fn span(self, pair: &Pair<'_>) -> Span {
        Span::new(pair.as_span().start() + self.offset, token_end(pair) + self.offset)
    }

    /// The pair's text as an identifier.
    pub fn ident(self, pair: &Pair<'_>) -> Ident {
        Ident { name: pair.as_str().to_string(), span: self.span(pair) }
    }

    /// An error at the pair.
    pub fn error(self, pair: &Pair<'_>, message: impl Into<String>, help: Option<String>) -> SyntaxError {
        SyntaxError { span: self.span(pair), message: message.into(), help }
    }

    /// The error for a pair shape the grammar should have ruled out.
    pub fn internal(self, pair: &Pair<'_>) -> SyntaxError {
        let rule = pair.as_rule();
        self.error(
            pair,
            format!("internal parser error: unexpected `{rule:?}`"),
            Some("this is a bug in expc; please report it with this file".into()),
        )
    }
}

/// Where the last token of `pair` ends.
///
/// pest's span of a rule that ends in an optional or repeated part includes the implicit
/// whitespace and comments skipped before that part failed to match (`seed = 0 // c` would
/// cover the comment). The last token's end is the real end: every literal of the grammar is
/// inside an atomic rule or a rule of its own, so a non-atomic rule always ends with a child.
fn token_end(pair: &Pair<'_>) -> usize {
    let mut p = pair.clone();
    while let Some(last) = p.clone().into_inner().next_back() {
        if last.as_rule() == Rule::EOI {
            break;
        }
        p = last;
    }
    p.as_span().end()
}

/// The children of a pair, without the tokens that carry no information (punctuation and
/// most keywords), with `expect` that reports a missing child instead of panicking.
pub(crate) struct Kids<'i> {
    it: Pairs<'i, Rule>,
    cx: Ctx,
    parent: Pair<'i>,
}

impl<'i> Kids<'i> {
    /// The meaningful children of `pair`.
    pub fn of(cx: Ctx, pair: Pair<'i>) -> Kids<'i> {
        Kids { it: pair.clone().into_inner(), cx, parent: pair }
    }

    /// The next meaningful child, if any.
    pub fn next(&mut self) -> Option<Pair<'i>> {
        self.it.by_ref().find(|p| !is_noise(p.as_rule()))
    }

    /// The next meaningful child, which the grammar guarantees.
    pub fn expect(&mut self) -> Res<Pair<'i>> {
        match self.next() {
            Some(p) => Ok(p),
            None => Err(self.cx.internal(&self.parent)),
        }
    }

    /// The rule of the next meaningful child, without consuming it.
    pub fn peek(&self) -> Option<Rule> {
        self.it.clone().find(|p| !is_noise(p.as_rule())).map(|p| p.as_rule())
    }

    /// The next child if it has this rule.
    pub fn eat(&mut self, rule: Rule) -> Option<Pair<'i>> {
        if self.peek() == Some(rule) {
            self.next()
        } else {
            None
        }
    }

    /// The remaining meaningful children.
    pub fn rest(self) -> impl Iterator<Item = Pair<'i>> {
        self.it.filter(|p| !is_noise(p.as_rule()))
    }
}

/// Tokens whose presence is implied by the pair they are in.
fn is_noise(rule: Rule) -> bool {
    use Rule as R;
    matches!(
        rule,
        R::lparen
            | R::rparen
            | R::lbrack
            | R::rbrack
            | R::lbrace
            | R::rbrace
            | R::comma
            | R::colon
            | R::semi
            | R::dot
            | R::assign
            | R::body_eq
            | R::arrow
            | R::fat_arrow
            | R::call_open
            | R::index_open
            | R::arg_colon
            | R::kw_use
            | R::kw_optimizer
            | R::kw_experiment
            | R::kw_sweep
            | R::kw_extends
            | R::kw_over
            | R::kw_in
            | R::kw_every
            | R::kw_when
            | R::kw_for
            | R::kw_repeat
            | R::kw_let
            | R::kw_state
            | R::kw_if
            | R::kw_else
            | R::kw_stop
            | R::kw_probe
            | R::EOI
    )
}

/// Whether `word` is a unit of quantities (`steps`, `GiB`, ...).
pub(crate) fn is_unit(word: &str) -> bool {
    lits::unit(word).is_some()
}
