//! A debug printer for the AST: one node per line, indented by two spaces, with spans.
//!
//! The dump is complete (every field of every node appears), so two files whose dumps
//! without spans are equal have equal trees modulo spans; the formatter's round-trip tests
//! rely on this instead of a separate span-blind comparison.

use std::fmt::Write;

use crate::ast::*;
use crate::Span;

/// The tree of `file` with spans (`@start..end`), then its comments and errors.
pub fn dump(file: &File) -> String {
    Dumper { out: String::new(), spans: true }.file(file)
}

/// [`dump`] without spans: equal for trees that differ only in where they were written.
pub fn dump_without_spans(file: &File) -> String {
    Dumper { out: String::new(), spans: false }.file(file)
}

struct Dumper {
    out: String,
    spans: bool,
}

impl Dumper {
    fn line(&mut self, depth: usize, text: &str, span: Option<Span>) {
        self.out.push_str(&"  ".repeat(depth));
        self.out.push_str(text);
        if let (true, Some(span)) = (self.spans, span) {
            let _ = write!(self.out, " @{span:?}");
        }
        self.out.push('\n');
    }

    fn file(mut self, file: &File) -> String {
        for item in &file.items {
            self.item(item);
        }
        for c in &file.comments {
            self.line(0, &format!("comment {:?}", c.text), Some(c.span));
        }
        for e in &file.errors {
            self.line(0, &format!("error {:?} help {:?}", e.message, e.help), Some(e.span));
        }
        self.out
    }

    /// An identifier inline: `` `x`@3..4 ``.
    fn id(&self, id: &Ident) -> String {
        if self.spans {
            format!("`{}`@{:?}", id.name, id.span)
        } else {
            format!("`{}`", id.name)
        }
    }

    /// Identifiers inline, joined by `sep`.
    fn ids(&self, ids: &[Ident], sep: &str) -> String {
        ids.iter().map(|i| self.id(i)).collect::<Vec<_>>().join(sep)
    }

    fn item(&mut self, item: &Item) {
        let head = match &item.kind {
            ItemKind::Use(_) => "use".to_string(),
            ItemKind::Decl(d) => format!("{} {}", d.kind.keyword(), self.id(&d.name)),
            ItemKind::Optimizer(o) => format!("optimizer {}", self.id(&o.name)),
            ItemKind::Experiment(e) => match &e.extends {
                Some(base) => format!("experiment {} extends {}", self.id(&e.name), self.id(base)),
                None => format!("experiment {}", self.id(&e.name)),
            },
            ItemKind::Sweep(s) => format!("sweep {} over {}", self.id(&s.name), self.id(&s.base)),
        };
        self.line(0, &head, Some(item.span));
        if let Some(docs) = &item.docs {
            self.line(1, &format!("docs {docs:?}"), None);
        }
        match &item.kind {
            ItemKind::Use(u) => self.use_decl(u),
            ItemKind::Decl(d) => self.decl(d),
            ItemKind::Optimizer(o) => {
                self.params(&o.params);
                o.body.iter().for_each(|s| self.opt_stmt(s));
            }
            ItemKind::Experiment(e) => e.body.iter().for_each(|s| self.exp_stmt(s)),
            ItemKind::Sweep(s) => s.body.iter().for_each(|s| self.sweep_stmt(s)),
        }
    }

    fn use_decl(&mut self, u: &UseDecl) {
        match &u.source {
            UseSource::Path(path) => self.line(1, &format!("path {}", self.ids(path, ".")), None),
            UseSource::File(s) => self.line(1, &format!("file {:?}", s.value), Some(s.span)),
        }
        if let Some(names) = &u.names {
            self.line(1, &format!("names {}", self.ids(names, ", ")), None);
        }
        if u.glob {
            self.line(1, "glob", None);
        }
    }

    fn decl(&mut self, d: &Decl) {
        match &d.params {
            Some(params) if params.is_empty() => self.line(1, "params ()", None),
            Some(params) => self.params(params),
            None => {}
        }
        match &d.signature {
            Some(Signature::Tensor { input, output, span }) => {
                self.line(1, "signature", Some(*span));
                self.exprs(2, "input", None, input);
                self.exprs(2, "output", None, output);
            }
            Some(Signature::Type(ty)) => self.line(1, &format!("signature {}", self.ty(ty)), None),
            None => {}
        }
        match &d.body {
            Body::Builtin(span) => self.line(1, "builtin", Some(*span)),
            Body::Expr(e) => self.expr(1, e),
        }
    }

    fn params(&mut self, params: &[Param]) {
        for p in params {
            let ty = p.ty.as_ref().map_or(String::new(), |t| format!(": {}", self.ty(t)));
            self.line(1, &format!("param {}{ty}", self.id(&p.name)), Some(p.span));
            if let Some(default) = &p.default {
                self.expr(2, default);
            }
        }
    }

    /// A type inline, e.g. `` [`Block`@4..9]@3..10 ``.
    fn ty(&self, ty: &TypeExpr) -> String {
        let at = |span: &Span| {
            if self.spans {
                format!("@{span:?}")
            } else {
                String::new()
            }
        };
        match ty {
            TypeExpr::Named(id) => self.id(id),
            TypeExpr::List(inner, span) => format!("[{}]{}", self.ty(inner), at(span)),
            TypeExpr::Tuple(items, span) => {
                let items: Vec<_> = items.iter().map(|t| self.ty(t)).collect();
                format!("({}){}", items.join(", "), at(span))
            }
        }
    }

    fn opt_stmt(&mut self, stmt: &OptStmt) {
        match stmt {
            OptStmt::State(slots, span) => {
                self.line(1, "state", Some(*span));
                for (name, value) in slots {
                    self.binding(2, "slot", name, value);
                }
            }
            OptStmt::Let(name, value, span) => self.binding_at(1, "let", name, value, *span),
            OptStmt::Assign(name, value, span) => self.binding_at(1, "assign", name, value, *span),
            OptStmt::Apply(e, span) => {
                self.line(1, "apply", Some(*span));
                self.expr(2, e);
            }
        }
    }

    fn binding(&mut self, depth: usize, label: &str, name: &Ident, value: &Expr) {
        self.line(depth, &format!("{label} {}", self.id(name)), None);
        self.expr(depth + 1, value);
    }

    fn binding_at(&mut self, depth: usize, label: &str, name: &Ident, value: &Expr, span: Span) {
        self.line(depth, &format!("{label} {}", self.id(name)), Some(span));
        self.expr(depth + 1, value);
    }

    fn exp_stmt(&mut self, stmt: &ExpStmt) {
        match stmt {
            ExpStmt::Field { path, value, span } => {
                self.line(1, &format!("field {}", self.ids(path, ".")), Some(*span));
                self.expr(2, value);
            }
            ExpStmt::Probes { every, probes, span } => {
                self.line(1, "probe every", Some(*span));
                self.expr(2, every);
                for (name, value) in probes {
                    self.binding(2, "probe", name, value);
                }
            }
            ExpStmt::Stop { cond, for_count, span } => {
                self.line(1, "stop when", Some(*span));
                self.expr(2, cond);
                if let Some(count) = for_count {
                    self.line(2, "for", None);
                    self.expr(3, count);
                }
            }
        }
    }

    fn sweep_stmt(&mut self, stmt: &SweepStmt) {
        match stmt {
            SweepStmt::Axis { path, domain, span } => {
                self.line(1, &format!("axis {}", self.ids(path, ".")), Some(*span));
                self.expr(2, domain);
            }
            SweepStmt::Objective { maximize, probe, span } => {
                let word = if *maximize { "maximize" } else { "minimize" };
                self.line(1, &format!("{word} {}", self.id(probe)), Some(*span));
            }
            SweepStmt::Setting { name, value, span } => self.binding_at(1, "setting", name, value, *span),
        }
    }

    fn exprs(&mut self, depth: usize, label: &str, span: Option<Span>, exprs: &[Expr]) {
        self.line(depth, label, span);
        for e in exprs {
            self.expr(depth + 1, e);
        }
    }

    fn expr(&mut self, depth: usize, e: &Expr) {
        let d = depth + 1;
        let span = Some(e.span);
        match &e.kind {
            ExprKind::Int(v) => self.line(depth, &format!("Int {v}"), span),
            ExprKind::Float(v) => self.line(depth, &format!("Float {v:?}"), span),
            ExprKind::Bool(v) => self.line(depth, &format!("Bool {v}"), span),
            ExprKind::Str(v) => self.line(depth, &format!("Str {v:?}"), span),
            ExprKind::Name(id) => self.line(depth, &format!("Name {}", self.id(id)), None),
            ExprKind::Quantity { value, unit } => {
                self.line(depth, &format!("Quantity {unit:?}"), span);
                self.expr(d, value);
            }
            ExprKind::Field { base, field } => {
                self.line(depth, &format!("Field {}", self.id(field)), span);
                self.expr(d, base);
            }
            ExprKind::Index { base, index } => {
                self.line(depth, "Index", span);
                self.expr(d, base);
                self.expr(d, index);
            }
            ExprKind::Call { callee, args } => {
                self.line(depth, "Call", span);
                self.expr(d, callee);
                for arg in args {
                    let label = arg.name.as_ref().map_or("arg".to_string(), |n| format!("arg {}", self.id(n)));
                    self.line(d, &label, Some(arg.span));
                    self.expr(d + 1, &arg.value);
                }
            }
            ExprKind::Unary { op, expr } => {
                self.line(depth, &format!("Unary {op:?}"), span);
                self.expr(d, expr);
            }
            ExprKind::Binary { op, lhs, rhs } => {
                self.line(depth, &format!("Binary {op:?}"), span);
                self.expr(d, lhs);
                self.expr(d, rhs);
            }
            ExprKind::If { cond, then, otherwise } => {
                self.line(depth, "If", span);
                for part in [cond, then, otherwise] {
                    self.expr(d, part);
                }
            }
            ExprKind::Tuple(items) => self.exprs(depth, "Tuple", span, items),
            ExprKind::List(items) => self.exprs(depth, "List", span, items),
            ExprKind::Range { start, end } => {
                self.line(depth, "Range", span);
                self.expr(d, start);
                self.expr(d, end);
            }
            ExprKind::Comprehension { expr, var, iter } => {
                self.line(depth, &format!("Comprehension for {}", self.id(var)), span);
                self.expr(d, expr);
                self.expr(d, iter);
            }
            ExprKind::Lambda { params, body } => {
                self.line(depth, &format!("Lambda ({})", self.ids(params, ", ")), span);
                self.expr(d, body);
            }
            ExprKind::Repeat { count, body } => {
                self.line(depth, "Repeat", span);
                self.expr(d, count);
                self.expr(d, body);
            }
            ExprKind::Block { lets, result } => {
                self.line(depth, "Block", span);
                for l in lets {
                    self.binding_at(d, "let", &l.name, &l.value, l.span);
                }
                self.expr(d, result);
            }
        }
    }
}
