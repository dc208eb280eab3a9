//! Lowering: an elaborated experiment (from `exp-hir`) to an IR [`exp_ir::Program`].
//!
//! The semantic model has already checked everything and recorded the model graph; this
//! crate turns that into the IR's plain data: origins as file indices and byte ranges,
//! scalar code as SSA functions, the optimizer with explicit state, the training plan and
//! the estimates, then seals the program with its content hash. Lowering a checked
//! experiment does not fail; [`LowerError`] reports a broken invariant (a compiler bug).

mod optim;
mod plan;
mod scalar;

use std::collections::BTreeMap;

use exp_db::Db;
use exp_hir::{Applied, Elaborated, Loc, Val};
use exp_ir::{Origin, Program, ScalarFn};

/// A broken invariant found while lowering a checked experiment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LowerError(pub String);

impl std::fmt::Display for LowerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "lowering failed: {}", self.0)
    }
}

/// The state of lowering one experiment.
pub struct Lowering<'a> {
    /// The database.
    pub db: &'a dyn Db,
    files: Vec<String>,
    functions: Vec<ScalarFn>,
    schedules: Vec<exp_ir::Schedule>,
    fn_names: BTreeMap<String, String>,
}

impl<'a> Lowering<'a> {
    /// The IR origin of a location, registering its file.
    pub fn origin(&mut self, loc: &Loc) -> Option<Origin> {
        let (path, span) = exp_hir::absolute(self.db, loc);
        let idx = match self.files.iter().position(|f| *f == path) {
            Some(i) => i,
            None => {
                self.files.push(path);
                self.files.len() - 1
            }
        };
        Some(Origin { file: idx as u32, start: span.start, end: span.end })
    }

    /// Adds a function unless an identical one exists; returns its name.
    fn add_function(
        &mut self,
        base: &str,
        key: String,
        build: impl FnOnce(&mut Self, &str) -> Result<ScalarFn, LowerError>,
    ) -> Result<String, LowerError> {
        if let Some(name) = self.fn_names.get(&key) {
            return Ok(name.clone());
        }
        let mut name = base.to_string();
        let mut n = 1;
        while self.functions.iter().any(|f| f.name == name) || self.fn_names.values().any(|v| *v == name) {
            n += 1;
            name = format!("{base}_{n}");
        }
        self.fn_names.insert(key, name.clone());
        let f = build(self, &name)?;
        self.functions.push(f);
        Ok(name)
    }

    /// The function of an elementwise activation with its bound hyperparameters.
    pub fn activation(&mut self, a: &Applied) -> Result<String, LowerError> {
        let key =
            format!("act {}:{} {}", a.def.file.path(self.db), a.def.key, Val::Decl(std::sync::Arc::new(a.clone())));
        let db = self.db;
        let at = a.at.clone();
        let a = a.clone();
        self.add_function(&a.name.clone(), key, move |lw, name| {
            let mut b = scalar::FnBuilder::new(["x".to_string()]);
            let x = b.input("x");
            let mut vals = vec![Some(scalar::SVal::Op(x))];
            for (n, v) in &a.args {
                let c = plan::const_of(v)
                    .ok_or_else(|| LowerError(format!("argument `{n}` of `{}` is not a number", a.name)))?;
                vals.push(Some(scalar::SVal::Op(b.konst(c))));
            }
            let scalar::SVal::Op(out) = scalar::apply_fn(db, &mut b, &a.def, vals, 0)? else {
                return Err(LowerError("activation returns a tuple".into()));
            };
            let origin = lw.origin(&at);
            Ok(b.finish(name, vec![("y".into(), out)], origin))
        })
    }

    /// The schedule for hyperparameter `path`; returns the schedule's name.
    pub fn schedule(&mut self, path: &str, a: &Applied) -> Result<String, LowerError> {
        let name = format!("sched_{}", path.replace('.', "_"));
        let fname = plan::schedule_fn(self, &name, a)?;
        let origin = self.origin(&a.at);
        self.schedules.push(exp_ir::Schedule { name: name.clone(), function: fname, origin });
        Ok(name)
    }
}

/// Lowers a checked experiment to a sealed, verified IR program.
pub fn lower(db: &dyn Db, el: &Elaborated) -> Result<Program, LowerError> {
    let mut lw =
        Lowering { db, files: Vec::new(), functions: Vec::new(), schedules: Vec::new(), fn_names: BTreeMap::new() };
    let mut program = plan::program(&mut lw, el)?;
    program.files = lw.files;
    program.functions = lw.functions;
    program.schedules = lw.schedules;
    program.seal();
    Ok(program)
}

/// The IR of an experiment item as written (no command-line overrides), or why there is
/// none: the checker's diagnostics when it has errors, or a broken invariant.
///
/// A salsa query keyed on the item: editing another item leaves it cached, and an edit that
/// does not change the recipe produces an equal program, so its readers are reused.
#[salsa::tracked(returns(ref))]
pub fn lowered_experiment<'db>(
    db: &'db dyn Db,
    item: exp_hir::ItemDef<'db>,
) -> Result<std::sync::Arc<Program>, LoweringFailed> {
    let el = exp_hir::elaborate(db, item.file(db), item.key(db), &[]);
    if el.has_errors() {
        return Err(LoweringFailed::Diagnostics(el.diags.len()));
    }
    let program = lower(db, &el).map_err(LoweringFailed::Bug)?;
    match exp_ir::verify(&program) {
        Ok(()) => Ok(std::sync::Arc::new(program)),
        Err(errs) => Err(LoweringFailed::Bug(LowerError(
            errs.iter()
                .map(|e| format!("[{}] {}: {}", e.rule.code(), e.location, e.message))
                .collect::<Vec<_>>()
                .join("; "),
        ))),
    }
}

/// Why [`lowered_experiment`] has no program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoweringFailed {
    /// The experiment has this many errors; `check_item` reports them.
    Diagnostics(usize),
    /// Lowering or verification failed on a checked experiment: a compiler bug.
    Bug(LowerError),
}
