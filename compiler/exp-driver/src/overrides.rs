//! `--set path=value` on the command line: parsed with the language's expression parser
//! and checked exactly like an override written in an `extends` experiment.

use exp_db::RootDb;
use exp_hir::{FieldDef, Loc, Provenance};
use exp_syntax::Span;

/// Parses each `path=value` into a field override backed by a small source file named
/// `<--set N>`, so that diagnostics about it show the text with a label; names in the values
/// resolve in `scope`, the experiment's file.
pub fn parse_set(db: &mut RootDb, sets: &[String], scope: exp_db::SourceFile) -> Result<Vec<FieldDef>, String> {
    let mut out = Vec::new();
    for (i, s) in sets.iter().enumerate() {
        let Some((path, value)) = s.split_once('=') else {
            return Err(format!("`--set {s}` needs the form `path=value`, e.g. `--set optimizer.lr=3e-4`"));
        };
        let path: Vec<String> = path.trim().split('.').map(|p| p.trim().to_string()).collect();
        if path.iter().any(|p| p.is_empty() || !p.chars().all(|c| c.is_alphanumeric() || c == '_')) {
            return Err(format!("`--set {s}`: `{}` is not a dotted path of names", path.join(".")));
        }
        // The file holds the whole option, so a label can point at the path or the value;
        // the value is parsed behind blanks that stand for `path=`, which keeps its spans
        // where the value is in the option.
        let name = format!("<--set {}>", i + 1);
        let file = db.set_file(&name, s);
        let at_value = s.len() - value.len();
        let expr = match exp_syntax::parse_expr(&format!("{}{value}", " ".repeat(at_value))) {
            Ok(e) => e,
            Err(e) => return Err(format!("`--set {s}`: {}", e.message)),
        };
        let span = Span::new(0, at_value - 1);
        out.push(FieldDef {
            path,
            expr,
            at: Loc { file, item: None, span },
            provenance: Provenance::CommandLine,
            scope,
        });
    }
    Ok(out)
}
