//! The pest parser derived from `grammar/exp.pest`, and how its rules read in error messages.
//!
//! The `Rule` enum is generated; this module is private so that pest types never leak into
//! the public API (the AST is owned and pest-free, so the parser can be replaced later).

use pest_derive::Parser;

/// The parser generated from the grammar file, loaded by a path relative to `src/`.
#[derive(Parser)]
#[grammar = "../../../grammar/exp.pest"]
pub(crate) struct ExpParser;

/// How an expected rule takes part in an error message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Weight {
    /// A token that would fix the error (`)`, `=`, a name, ...): always listed.
    Main,
    /// A token that could merely continue what came before (an operator, `(` of a call,
    /// `;`): listed only when nothing better is expected, since it is rarely the fix.
    Minor,
}

/// The phrase for a rule in "expected ..." messages, and how much it matters.
pub(crate) fn describe(rule: Rule) -> (&'static str, Weight) {
    use Rule as R;
    use Weight::{Main, Minor};
    let main = match rule {
        R::expr
        | R::logic
        | R::comparison
        | R::range
        | R::arith
        | R::primary
        | R::apply_stmt
        | R::lambda
        | R::if_expr
        | R::list
        | R::paren
        | R::repeat_expr
        | R::not_op
        | R::neg_op
        | R::expr_alone => "an expression",
        R::ident | R::word | R::lambda_params => "a name",
        R::path | R::field_name => "a field name",
        R::type_expr | R::list_type | R::tuple_type => "a type",
        R::quantity => "a quantity such as `100 steps`",
        R::int | R::float => "a number",
        R::string => "a string",
        R::arg => "an argument",
        R::param | R::params => "a parameter",
        R::signature | R::tensor_sig => "a signature",
        R::dims => "`[`",
        R::use_path => "a module path",
        R::use_names | R::block_expr => "`{`",
        R::item
        | R::item_alone
        | R::file
        | R::decl
        | R::decl_kw
        | R::use_item
        | R::optimizer_item
        | R::experiment_item
        | R::sweep_item => "an item",
        R::exp_stmt
        | R::opt_stmt
        | R::sweep_stmt
        | R::probes_stmt
        | R::stop_stmt
        | R::field_stmt
        | R::state_stmt
        | R::assign_stmt
        | R::objective
        | R::axis
        | R::setting => "a statement",
        R::let_stmt => "`let`",
        R::probe_entry => "a probe `name = value`",
        R::state_slot => "a state slot `name = value`",
        R::lparen => "`(`",
        R::rparen => "`)`",
        R::lbrack => "`[`",
        R::rbrack => "`]`",
        R::lbrace => "`{`",
        R::rbrace => "`}`",
        R::comma => "`,`",
        R::colon => "`:`",
        R::assign | R::body_eq => "`=`",
        R::arrow => "`->`",
        R::use_glob => "`*`",
        _ => match keyword_text(rule) {
            Some(text) => text,
            None => return (minor_text(rule), Minor),
        },
    };
    (main, Main)
}

/// Tokens that could only continue what came before; rarely the fix for an error.
fn minor_text(rule: Rule) -> &'static str {
    use Rule as R;
    match rule {
        R::EOI => "the end of the item",
        R::semi => "`;`",
        R::doc_comment => "a doc comment",
        R::unit => "a unit",
        R::kw_for | R::comp_clause => "`for`",
        // Binary operators, postfix openers, `=>` and the named-argument colon.
        _ => "an operator",
    }
}

/// Keywords: their text in backticks.
fn keyword_text(rule: Rule) -> Option<&'static str> {
    use Rule as R;
    Some(match rule {
        R::kw_use => "`use`",
        R::kw_fn => "`fn`",
        R::kw_block => "`block`",
        R::kw_data => "`data`",
        R::kw_loss => "`loss`",
        R::kw_optimizer => "`optimizer`",
        R::kw_schedule => "`schedule`",
        R::kw_probe => "`probe`",
        R::kw_metric => "`metric`",
        R::kw_experiment => "`experiment`",
        R::kw_sweep => "`sweep`",
        R::kw_extends => "`extends`",
        R::kw_over => "`over`",
        R::kw_in => "`in`",
        R::kw_every => "`every`",
        R::kw_when => "`when`",
        R::kw_repeat => "`repeat`",
        R::kw_builtin => "`builtin`",
        R::kw_let => "`let`",
        R::kw_state => "`state`",
        R::kw_if => "`if`",
        R::kw_else => "`else`",
        R::kw_true => "`true`",
        R::kw_false => "`false`",
        R::kw_stop => "`stop`",
        R::kw_maximize => "`maximize`",
        R::kw_minimize => "`minimize`",
        _ => return None,
    })
}

/// Whether the rule is one of the keywords that start an item.
pub(crate) fn starts_item(rule: Rule) -> bool {
    use Rule as R;
    matches!(
        rule,
        R::kw_use
            | R::decl_kw
            | R::kw_fn
            | R::kw_block
            | R::kw_data
            | R::kw_loss
            | R::kw_schedule
            | R::kw_probe
            | R::kw_metric
            | R::kw_optimizer
            | R::kw_experiment
            | R::kw_sweep
    )
}

/// The reserved words of the language, as listed in grammar/README.md. Item keywords are
/// not reserved: they start an item only at the top level and are names elsewhere.
pub(crate) const KEYWORDS: [&str; 20] = [
    "extends", "over", "in", "every", "when", "for", "repeat", "builtin", "let", "state", "if", "else", "and", "or",
    "not", "true", "false", "stop", "maximize", "minimize",
];

/// The keywords that begin a top-level item.
pub(crate) const ITEM_KEYWORDS: [&str; 11] =
    ["use", "fn", "block", "data", "loss", "optimizer", "schedule", "probe", "metric", "experiment", "sweep"];

/// Whether `word` is a keyword.
pub(crate) fn is_keyword(word: &str) -> bool {
    KEYWORDS.contains(&word)
}
