//! The abstract syntax tree: owned, independent of pest, every node with a byte span.
//!
//! The tree is deliberately close to the surface syntax (the formatter prints it back),
//! and deliberately free of meaning: whether `relu` names a function or a block, or
//! whether `[B, D]` is a shape or a list, is decided by the semantic model.

use crate::Span;

/// One parsed source file: the items that parsed, and one error per item that did not.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct File {
    /// Items in source order, including the good items after a broken one.
    pub items: Vec<Item>,
    /// Syntax errors; empty when the file parsed cleanly.
    pub errors: Vec<SyntaxError>,
    /// Every `//` comment (not `///` docs, which belong to items), for the formatter.
    pub comments: Vec<Comment>,
}

/// A syntax error at one place, with what the parser expected there.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SyntaxError {
    /// Where the parser stopped (often empty: a point).
    pub span: Span,
    /// The headline, e.g. "expected `)`, found `;`".
    pub message: String,
    /// A hint for the fix, when the parser can guess it.
    pub help: Option<String>,
}

/// A `// ...` comment; `text` excludes the slashes' line ending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// The span of the whole comment, slashes included.
    pub span: Span,
    /// The comment text, slashes included.
    pub text: String,
}

/// A name as written, with its span.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    /// The identifier text.
    pub name: String,
    /// Where it is written.
    pub span: Span,
}

/// A top-level item with its doc comment.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// The `///` lines before the item, without the slashes, joined by newlines.
    pub docs: Option<String>,
    /// What kind of item.
    pub kind: ItemKind,
    /// The whole item, doc comment excluded.
    pub span: Span,
}

/// The kinds of top-level items.
#[derive(Clone, Debug, PartialEq)]
pub enum ItemKind {
    /// `use std.optim.{adam, sgd}` or `use "common.exp"`.
    Use(UseDecl),
    /// `fn`, `block`, `data`, `loss`, `schedule`, `probe`, `metric` declarations.
    Decl(Decl),
    /// `optimizer name(params) { statements }`.
    Optimizer(OptimizerDecl),
    /// `experiment name [extends base] { ... }`.
    Experiment(ExperimentDecl),
    /// `sweep name over experiment { ... }`.
    Sweep(SweepDecl),
}

impl Item {
    /// The name the item defines, if it defines one (`use` does not).
    pub fn name(&self) -> Option<&Ident> {
        match &self.kind {
            ItemKind::Use(_) => None,
            ItemKind::Decl(d) => Some(&d.name),
            ItemKind::Optimizer(o) => Some(&o.name),
            ItemKind::Experiment(e) => Some(&e.name),
            ItemKind::Sweep(s) => Some(&s.name),
        }
    }
}

/// `use` sources: a module path (`std.probes`) or a relative file (`"lib/common.exp"`).
#[derive(Clone, Debug, PartialEq)]
pub enum UseSource {
    /// A dotted path. The semantic model decides where the module ends and the item begins:
    /// in `use std.probes.accuracy`, `std.probes` is the module and `accuracy` the item.
    Path(Vec<Ident>),
    /// A file path relative to the importing file.
    File(StrLit),
}

/// What a `use` brings in.
#[derive(Clone, Debug, PartialEq)]
pub struct UseDecl {
    /// Where from.
    pub source: UseSource,
    /// `.{a, b}`: these names; `None` with a path: the path's last segment;
    /// `None` with a file, or `.*`: everything.
    pub names: Option<Vec<Ident>>,
    /// Whether it ends in `.*`.
    pub glob: bool,
}

/// A string literal with its span; `value` has escapes resolved.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StrLit {
    /// The unescaped value.
    pub value: String,
    /// Where it is written, quotes included.
    pub span: Span,
}

/// Which keyword introduced a [`Decl`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeclKind {
    /// `fn`: a scalar, elementwise function.
    Fn,
    /// `block`: a tensor-to-tensor building block of models.
    Block,
    /// `data`: a data source, or a dataset built from one.
    Data,
    /// `loss`: a training objective.
    Loss,
    /// `schedule`: a scalar function of training progress.
    Schedule,
    /// `probe`: a measurement taken during training.
    Probe,
    /// `metric`: a per-batch evaluation of outputs against targets.
    Metric,
}

impl DeclKind {
    /// The keyword as written.
    pub fn keyword(self) -> &'static str {
        match self {
            DeclKind::Fn => "fn",
            DeclKind::Block => "block",
            DeclKind::Data => "data",
            DeclKind::Loss => "loss",
            DeclKind::Schedule => "schedule",
            DeclKind::Probe => "probe",
            DeclKind::Metric => "metric",
        }
    }
}

/// `kind name[(params)] [: signature] body`, the shape shared by most declarations.
#[derive(Clone, Debug, PartialEq)]
pub struct Decl {
    /// The introducing keyword.
    pub kind: DeclKind,
    /// The declared name.
    pub name: Ident,
    /// `None` when written without parentheses (`data mod97 = ...`).
    pub params: Option<Vec<Param>>,
    /// `: [B, D] -> [B, classes]` for blocks, `: Float` for probes and metrics.
    pub signature: Option<Signature>,
    /// `= builtin`, `= expr`, or a braced body.
    pub body: Body,
}

/// A declared parameter: `name[: Type][= default]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// The parameter's name.
    pub name: Ident,
    /// The declared type, if written.
    pub ty: Option<TypeExpr>,
    /// The default value, if written.
    pub default: Option<Expr>,
    /// The whole parameter.
    pub span: Span,
}

/// A written type.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeExpr {
    /// `Int`, `Float`, `Block`, `Optimizer`, ...
    Named(Ident),
    /// `[Block]`: a list of the inner type.
    List(Box<TypeExpr>, Span),
    /// `(Float, Float)`.
    Tuple(Vec<TypeExpr>, Span),
}

impl TypeExpr {
    /// Where the type is written.
    pub fn span(&self) -> Span {
        match self {
            TypeExpr::Named(id) => id.span,
            TypeExpr::List(_, span) | TypeExpr::Tuple(_, span) => *span,
        }
    }
}

/// The signature after a declaration's parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum Signature {
    /// `: [B, D] -> [B, classes]`: input and output shapes, each dim an expression.
    Tensor {
        /// Input dimensions.
        input: Vec<Expr>,
        /// Output dimensions.
        output: Vec<Expr>,
        /// The whole signature.
        span: Span,
    },
    /// `: Float`: the type of a value.
    Type(TypeExpr),
}

/// A declaration's body.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// `= builtin`: a primitive backed by the op table.
    Builtin(Span),
    /// `= expr` or `{ let ...; expr }` (the latter as an [`ExprKind::Block`]).
    Expr(Expr),
}

/// `optimizer name(params) { statements }`: a per-parameter update rule with explicit state.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerDecl {
    /// The optimizer's name.
    pub name: Ident,
    /// Hyperparameters (and, for wrappers, a base optimizer).
    pub params: Vec<Param>,
    /// The update rule.
    pub body: Vec<OptStmt>,
}

/// One statement of an optimizer's update rule.
#[derive(Clone, Debug, PartialEq)]
pub enum OptStmt {
    /// `state m = 0, v = 0`: state slots with their initial values.
    State(Vec<(Ident, Expr)>, Span),
    /// `let name = expr`: a local.
    Let(Ident, Expr, Span),
    /// `target = expr`: assigns `p`, `g` or a state slot.
    Assign(Ident, Expr, Span),
    /// A bare expression, e.g. `base`: applies a wrapped optimizer at this point.
    Apply(Expr, Span),
}

/// `experiment name [extends base] { statements }`.
#[derive(Clone, Debug, PartialEq)]
pub struct ExperimentDecl {
    /// The experiment's name.
    pub name: Ident,
    /// The experiment this one extends.
    pub extends: Option<Ident>,
    /// Fields, probe blocks and stop rules in source order.
    pub body: Vec<ExpStmt>,
}

/// One statement of an experiment.
#[derive(Clone, Debug, PartialEq)]
pub enum ExpStmt {
    /// `path = value`, e.g. `batch = 64` or, in an extension, `optimizer.lr = 3e-4`.
    Field {
        /// The dotted path being set.
        path: Vec<Ident>,
        /// The value.
        value: Expr,
        /// The whole statement.
        span: Span,
    },
    /// `probe every 250 steps { name = expr ... }`.
    Probes {
        /// The frequency, a quantity.
        every: Expr,
        /// Named probe expressions.
        probes: Vec<(Ident, Expr)>,
        /// The whole statement.
        span: Span,
    },
    /// `stop when cond [for 3 probes]`.
    Stop {
        /// The condition over probe names.
        cond: Expr,
        /// How many consecutive probes the condition must hold.
        for_count: Option<Expr>,
        /// The whole statement.
        span: Span,
    },
}

/// `sweep name over experiment { axes and settings }`.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepDecl {
    /// The sweep's name.
    pub name: Ident,
    /// The experiment swept over.
    pub base: Ident,
    /// Axes and settings in source order.
    pub body: Vec<SweepStmt>,
}

/// One statement of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub enum SweepStmt {
    /// `path in domain`: one axis of the grid.
    Axis {
        /// The experiment value being varied.
        path: Vec<Ident>,
        /// A list, a range, or a call such as `logspace(1e-4, 1e-2, 5)`.
        domain: Expr,
        /// The whole statement.
        span: Span,
    },
    /// `maximize probe` / `minimize probe`: the sweep's objective.
    Objective {
        /// True for `maximize`.
        maximize: bool,
        /// The probe name.
        probe: Ident,
        /// The whole statement.
        span: Span,
    },
    /// `name = value`, e.g. `jobs = 4`.
    Setting {
        /// The setting's name.
        name: Ident,
        /// Its value.
        value: Expr,
        /// The whole statement.
        span: Span,
    },
}

/// An expression with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it is written.
    pub span: Span,
}

/// Units of quantities: training time, memory, and probe counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    /// Optimizer steps (`steps`, `step`).
    Steps,
    /// Passes over the training split (`epochs`, `epoch`).
    Epochs,
    /// Training examples seen (`samples`).
    Samples,
    /// Consecutive probe events (`probes`), used by stop rules.
    Probes,
    /// Bytes, written with `KiB`, `MiB`, `GiB` (the value is scaled to bytes by the checker).
    Bytes(u32),
}

/// Binary operators, from loosest to tightest: `or`; `and`; comparisons; `..`; `>>`;
/// `+ -`; `* / %`; `^` (right-associative, tighter than unary minus).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `or`
    Or,
    /// `and`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `>>`: composition of blocks or data transforms, left to right.
    Then,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
    /// `^`
    Pow,
}

impl BinOp {
    /// The operator as written.
    pub fn text(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Then => ">>",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::Pow => "^",
        }
    }
}

/// Prefix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// `-x`
    Neg,
    /// `not x`
    Not,
}

/// A call argument, positional or named (`lr: 1e-3`).
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    /// The name, for a named argument.
    pub name: Option<Ident>,
    /// The value.
    pub value: Expr,
    /// The whole argument.
    pub span: Span,
}

/// A `let name = value` inside a braced body.
#[derive(Clone, Debug, PartialEq)]
pub struct Let {
    /// The bound name.
    pub name: Ident,
    /// The value.
    pub value: Expr,
    /// The whole statement.
    pub span: Span,
}

/// The kinds of expressions.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// `42`, `20_000`.
    Int(i64),
    /// `1e-3`, `0.5`.
    Float(f64),
    /// `true`, `false`.
    Bool(bool),
    /// `"text"`.
    Str(String),
    /// `20_000 steps`, `5 epochs`, `2 GiB`: a number literal followed by a unit.
    Quantity {
        /// The number, an `Int` or `Float` expression.
        value: Box<Expr>,
        /// The unit.
        unit: Unit,
    },
    /// A name.
    Name(Ident),
    /// `base.field`; tuple fields are written `betas.0`.
    Field {
        /// The expression before the dot.
        base: Box<Expr>,
        /// The field name (digits for tuple fields).
        field: Ident,
    },
    /// `base[index]`.
    Index {
        /// The indexed expression.
        base: Box<Expr>,
        /// The index.
        index: Box<Expr>,
    },
    /// `callee(args)`.
    Call {
        /// The called expression.
        callee: Box<Expr>,
        /// Arguments in source order.
        args: Vec<Arg>,
    },
    /// `-x`, `not x`.
    Unary {
        /// The operator.
        op: UnOp,
        /// The operand.
        expr: Box<Expr>,
    },
    /// `lhs op rhs`.
    Binary {
        /// The operator.
        op: BinOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `if cond { a } else { b }`; `else if` nests.
    If {
        /// The condition.
        cond: Box<Expr>,
        /// The value when true.
        then: Box<Expr>,
        /// The value when false.
        otherwise: Box<Expr>,
    },
    /// `(a, b)`; a one-element tuple is written `(a,)`.
    Tuple(Vec<Expr>),
    /// `[a, b]`: a list, or a shape where a shape is expected.
    List(Vec<Expr>),
    /// `a..b`: the integers from `a` up to, not including, `b`.
    Range {
        /// First value.
        start: Box<Expr>,
        /// One past the last value.
        end: Box<Expr>,
    },
    /// `[expr for name in iter]`, or a generator argument `sum(f(x) for f in fs)`.
    Comprehension {
        /// The element expression.
        expr: Box<Expr>,
        /// The loop variable.
        var: Ident,
        /// What it ranges over.
        iter: Box<Expr>,
    },
    /// `x => body` or `(z, f) => body`.
    Lambda {
        /// Parameter names.
        params: Vec<Ident>,
        /// The body.
        body: Box<Expr>,
    },
    /// `repeat n { block }`: `n` copies of a block in sequence, each with its own parameters.
    Repeat {
        /// The number of copies.
        count: Box<Expr>,
        /// The repeated block.
        body: Box<Expr>,
    },
    /// `{ let a = ...; result }`: local bindings, then a result.
    Block {
        /// The `let` statements.
        lets: Vec<Let>,
        /// The final expression.
        result: Box<Expr>,
    },
}
