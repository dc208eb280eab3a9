//! Items and statements, one per line, with their comments (see the rules in `mod.rs`).

use super::doc::{render, text, Doc, INDENT};
use super::expr::{continues, expr, let_doc, quote, seq};
use super::Formatter;
use crate::ast::*;
use crate::Span;

/// A statement of some body, for the one loop that lays out all bodies.
#[derive(Clone, Copy)]
enum Stmt<'a> {
    Opt(&'a OptStmt),
    Exp(&'a ExpStmt),
    Sweep(&'a SweepStmt),
    Probe(&'a Ident, &'a Expr),
    Let(&'a Let),
    Result(&'a Expr),
}

impl Stmt<'_> {
    fn span(self) -> Span {
        match self {
            Stmt::Opt(
                OptStmt::State(_, s) | OptStmt::Let(_, _, s) | OptStmt::Assign(_, _, s) | OptStmt::Apply(_, s),
            ) => *s,
            Stmt::Exp(ExpStmt::Field { span, .. } | ExpStmt::Probes { span, .. } | ExpStmt::Stop { span, .. }) => *span,
            Stmt::Sweep(
                SweepStmt::Axis { span, .. } | SweepStmt::Objective { span, .. } | SweepStmt::Setting { span, .. },
            ) => *span,
            Stmt::Probe(name, value) => name.span.cover(value.span),
            Stmt::Let(l) => l.span,
            Stmt::Result(e) => e.span,
        }
    }
}

impl Formatter<'_> {
    /// All items, with the blank-line rule between them, then the comments after the last.
    pub(super) fn file(&mut self, file: &File) {
        let mut prev_big = false;
        for (i, item) in file.items.iter().enumerate() {
            let first_comment = self.comments.get(self.next).map(|c| c.span.start as usize);
            let lead_start =
                first_comment.filter(|&s| s < item.span.start as usize).unwrap_or(item.span.start as usize);
            let user_blank = i > 0 && self.blank_between(self.last_end, lead_start);
            let outer = std::mem::take(&mut self.out);
            let mut first = true;
            self.comments_before(self.lead_limit(item), 0, &mut first);
            let mark = self.out.len();
            self.item(item, first);
            let written = std::mem::replace(&mut self.out, outer);
            let big = written[mark..].trim().contains('\n');
            if i > 0 && (user_blank || big || prev_big) {
                self.out.push('\n');
            }
            self.out.push_str(&written);
            prev_big = big;
        }
        let mut first = file.items.is_empty();
        self.comments_before(usize::MAX, 0, &mut first);
    }

    /// Comments before this offset are written before the item: everything before the `{`
    /// of a braced item, everything inside a one-statement item.
    fn lead_limit(&self, item: &Item) -> usize {
        let end = item.span.end as usize;
        match &item.kind {
            ItemKind::Decl(Decl { body: Body::Expr(e @ Expr { kind: ExprKind::Block { .. }, .. }), .. }) => {
                e.span.start as usize
            }
            ItemKind::Optimizer(o) => self.open_brace(o.name.span.end as usize, end),
            ItemKind::Experiment(x) => self.open_brace(x.extends.as_ref().unwrap_or(&x.name).span.end as usize, end),
            ItemKind::Sweep(s) => self.open_brace(s.base.span.end as usize, end),
            _ => end,
        }
    }

    /// The offset of the `{` that opens a body, searching from `from` and skipping comments,
    /// strings and bracketed parameter lists; `fallback` if there is none.
    fn open_brace(&self, from: usize, fallback: usize) -> usize {
        let b = self.src.as_bytes();
        let (mut i, mut depth) = (from, 0usize);
        while i < b.len() {
            match b[i] {
                b'/' if b.get(i + 1) == Some(&b'/') => {
                    i = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |n| i + n);
                    continue;
                }
                b'"' => {
                    i += 1;
                    while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                        i += if b[i] == b'\\' { 2 } else { 1 };
                    }
                }
                b'(' | b'[' => depth += 1,
                b')' | b']' => depth = depth.saturating_sub(1),
                b'{' if depth == 0 => return i,
                _ => {}
            }
            i += 1;
        }
        fallback
    }

    fn item(&mut self, item: &Item, first: bool) {
        self.keep_blank(item.span.start as usize, first);
        if let Some(docs) = &item.docs {
            for l in docs.split('\n') {
                let l = if l.is_empty() { "///".to_string() } else { format!("/// {l}") };
                self.line(0, &l);
            }
        }
        let end = item.span.end as usize;
        match &item.kind {
            ItemKind::Use(u) => self.leaf(0, use_doc(u), end),
            ItemKind::Decl(d) => self.decl(d, end),
            ItemKind::Optimizer(o) => {
                let mut head = vec![text(format!("optimizer {}", o.name.name))];
                if !o.params.is_empty() {
                    head.push(self.params(&o.params));
                }
                let open = self.open_brace(o.name.span.end as usize, end);
                self.body(0, Doc::Concat(head), open, end, o.body.iter().map(Stmt::Opt).collect());
            }
            ItemKind::Experiment(x) => {
                let mut head = format!("experiment {}", x.name.name);
                if let Some(base) = &x.extends {
                    head.push_str(&format!(" extends {}", base.name));
                }
                let open = self.lead_limit(item);
                self.body(0, text(head), open, end, x.body.iter().map(Stmt::Exp).collect());
            }
            ItemKind::Sweep(s) => {
                let head = text(format!("sweep {} over {}", s.name.name, s.base.name));
                let open = self.lead_limit(item);
                self.body(0, head, open, end, s.body.iter().map(Stmt::Sweep).collect());
            }
        }
    }

    fn decl(&mut self, d: &Decl, end: usize) {
        let mut head = vec![text(format!("{} {}", d.kind.keyword(), d.name.name))];
        if let Some(params) = &d.params {
            head.push(self.params(params));
        }
        match &d.signature {
            Some(Signature::Tensor { input, output, .. }) => {
                head.extend([text(": "), self.dims(input), text(" -> "), self.dims(output)])
            }
            Some(Signature::Type(ty)) => head.push(text(format!(": {}", type_text(ty)))),
            None => {}
        }
        match &d.body {
            Body::Builtin(_) => {
                head.push(text(" = builtin"));
                self.leaf(0, Doc::Concat(head), end);
            }
            Body::Expr(e @ Expr { kind: ExprKind::Block { lets, result }, .. }) => {
                let mut stmts: Vec<Stmt<'_>> = lets.iter().map(Stmt::Let).collect();
                stmts.push(Stmt::Result(result));
                self.body(0, Doc::Concat(head), e.span.start as usize, e.span.end as usize, stmts);
                self.trailing(end);
            }
            Body::Expr(e) => {
                let body = Doc::Indent(vec![Doc::Line, expr(e, self.src)]);
                self.leaf(0, Doc::Group(vec![Doc::Concat(head), text(" ="), body]), end);
            }
        }
    }

    fn params(&self, params: &[Param]) -> Doc {
        let docs = params
            .iter()
            .map(|p| {
                let mut parts = vec![text(&p.name.name)];
                if let Some(ty) = &p.ty {
                    parts.push(text(format!(": {}", type_text(ty))));
                }
                if let Some(default) = &p.default {
                    parts.extend([text(" = "), expr(default, self.src)]);
                }
                Doc::Concat(parts)
            })
            .collect();
        seq("(", docs, ")")
    }

    fn dims(&self, dims: &[Expr]) -> Doc {
        seq("[", dims.iter().map(|d| expr(d, self.src)).collect(), "]")
    }

    /// A one-statement line (possibly broken over several) ending at source offset `end`.
    fn leaf(&mut self, indent: usize, doc: Doc, end: usize) {
        self.leaf_semi(indent, doc, end, false);
    }

    /// [`Formatter::leaf`], ended by `;` when `semi` is set.
    fn leaf_semi(&mut self, indent: usize, doc: Doc, end: usize, semi: bool) {
        let mut rendered = render(&doc, indent, indent);
        if semi {
            rendered.push(';');
        }
        self.line(indent, &rendered);
        self.trailing(end);
    }

    /// `header {`, the statements one per line, `}`; `header {}` when there is nothing inside.
    fn body(&mut self, indent: usize, header: Doc, open: usize, close_end: usize, stmts: Vec<Stmt<'_>>) {
        let header = render(&header, indent, indent);
        let close = close_end.saturating_sub(1);
        let comment_inside = self.comments.get(self.next).is_some_and(|c| (c.span.start as usize) < close);
        if stmts.is_empty() && !comment_inside {
            self.line(indent, &format!("{header} {{}}"));
            self.trailing(close_end);
            return;
        }
        self.line(indent, &format!("{header} {{"));
        self.trailing(open + 1);
        let mut first = true;
        for (i, &s) in stmts.iter().enumerate() {
            // A `;` keeps the next statement from continuing this one (see `continues`).
            let semi = stmts.get(i + 1).is_some_and(|&next| self.continues(next));
            self.stmt(indent + INDENT, s, &mut first, semi);
        }
        self.comments_before(close, indent + INDENT, &mut first);
        self.line(indent, "}");
        self.trailing(close_end);
    }

    /// Whether the statement starts like the continuation of an expression.
    fn continues(&self, s: Stmt<'_>) -> bool {
        match s {
            Stmt::Opt(OptStmt::Apply(e, _)) | Stmt::Result(e) => continues(e, self.src),
            _ => false,
        }
    }

    fn stmt(&mut self, indent: usize, s: Stmt<'_>, first: &mut bool, semi: bool) {
        let span = s.span();
        if let Stmt::Exp(ExpStmt::Probes { every, probes, .. }) = s {
            let open = self.open_brace(every.span.end as usize, span.start as usize);
            self.comments_before(open, indent, first);
            self.keep_blank(span.start as usize, *first);
            *first = false;
            let head = Doc::Concat(vec![text("probe every "), expr(every, self.src)]);
            let entries = probes.iter().map(|(n, v)| Stmt::Probe(n, v)).collect();
            self.body(indent, head, open, span.end as usize, entries);
            return;
        }
        self.comments_before(span.end as usize, indent, first);
        self.keep_blank(span.start as usize, *first);
        *first = false;
        let doc = self.stmt_doc(s);
        self.leaf_semi(indent, doc, span.end as usize, semi);
    }

    fn stmt_doc(&self, s: Stmt<'_>) -> Doc {
        let src = self.src;
        let assign = |name: &str, value: &Expr| Doc::Concat(vec![text(format!("{name} = ")), expr(value, src)]);
        match s {
            Stmt::Opt(OptStmt::State(slots, _)) => {
                let mut parts = vec![text("state ")];
                for (i, (name, value)) in slots.iter().enumerate() {
                    if i > 0 {
                        parts.push(text(", "));
                    }
                    parts.push(assign(&name.name, value));
                }
                Doc::Concat(parts)
            }
            Stmt::Opt(OptStmt::Let(name, value, _)) => assign(&format!("let {}", name.name), value),
            Stmt::Opt(OptStmt::Assign(name, value, _)) | Stmt::Probe(name, value) => assign(&name.name, value),
            Stmt::Opt(OptStmt::Apply(e, _)) | Stmt::Result(e) => expr(e, src),
            Stmt::Let(l) => let_doc(l, src),
            Stmt::Exp(ExpStmt::Field { path, value, .. }) => assign(&dotted(path), value),
            Stmt::Exp(ExpStmt::Stop { cond, for_count, .. }) => {
                let mut parts = vec![text("stop when "), expr(cond, src)];
                if let Some(count) = for_count {
                    parts.extend([text(" for "), expr(count, src)]);
                }
                Doc::Concat(parts)
            }
            Stmt::Exp(ExpStmt::Probes { every, .. }) => Doc::Concat(vec![text("probe every "), expr(every, src)]),
            Stmt::Sweep(SweepStmt::Axis { path, domain, .. }) => {
                Doc::Concat(vec![text(format!("{} in ", dotted(path))), expr(domain, src)])
            }
            Stmt::Sweep(SweepStmt::Objective { maximize, probe, .. }) => {
                text(format!("{} {}", if *maximize { "maximize" } else { "minimize" }, probe.name))
            }
            Stmt::Sweep(SweepStmt::Setting { name, value, .. }) => assign(&name.name, value),
        }
    }
}

fn use_doc(u: &UseDecl) -> Doc {
    let mut s = String::from("use ");
    match &u.source {
        UseSource::Path(path) => s.push_str(&dotted(path)),
        UseSource::File(f) => s.push_str(&quote(&f.value)),
    }
    if let Some(names) = &u.names {
        let names: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
        s.push_str(&format!(".{{{}}}", names.join(", ")));
    } else if u.glob {
        s.push_str(".*");
    }
    text(s)
}

fn type_text(ty: &TypeExpr) -> String {
    match ty {
        TypeExpr::Named(id) => id.name.clone(),
        TypeExpr::List(inner, _) => format!("[{}]", type_text(inner)),
        TypeExpr::Tuple(items, _) if items.len() == 1 => format!("({},)", type_text(&items[0])),
        TypeExpr::Tuple(items, _) => {
            format!("({})", items.iter().map(type_text).collect::<Vec<_>>().join(", "))
        }
    }
}

fn dotted(path: &[Ident]) -> String {
    path.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(".")
}
