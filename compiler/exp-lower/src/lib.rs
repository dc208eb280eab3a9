//! Lowering: a checked experiment's typed record ([`exp_hir::Experiment`]) to an IR
//! [`exp_ir::Program`].
//!
//! The semantic model has already checked everything, built the registry's typed builtins,
//! resolved all scalar code and recorded the model graph; this crate turns that into the IR's
//! plain data: origins as file indices and byte ranges, scalar code as SSA functions, the
//! optimizer with explicit state, the training plan and the estimates, then seals the program
//! with its content hash. It reads neither syntax nor names, and lowering a checked
//! experiment does not fail: [`LowerError`] reports a broken invariant (a compiler bug).
//!
//! [`lowered`] is the salsa query the driver calls: it elaborates (a query of `exp-hir`),
//! lowers and verifies, so one run of `expc` elaborates each experiment once.

mod optim;
mod plan;
mod scalar;

use std::collections::BTreeMap;
use std::sync::Arc;

use exp_db::Db;
use exp_hir::{ActCall, Experiment, Loc, ScheduleCall};
use exp_ir::{Origin, Program, ScalarFn};

pub use exp_hir::Overrides;

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
    /// The database, for the locations of origins.
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
    pub fn activation(&mut self, act: &ActCall) -> Result<String, LowerError> {
        let key =
            format!("act {:?} {:?}", act.def.at, act.args.iter().map(|a| a.map(f64::to_bits)).collect::<Vec<_>>());
        self.add_function(&act.name, key, |lw, name| {
            let mut b = scalar::FnBuilder::new(["x".to_string()]);
            let mut given = vec![(0, scalar::SVal::Op(b.input("x")))];
            for (i, a) in act.args.iter().enumerate() {
                let c = a.ok_or_else(|| LowerError(format!("an argument of `{}` is not a number", act.name)))?;
                given.push((i + 1, scalar::SVal::Op(b.konst(c))));
            }
            let out = scalar::inline(&mut b, &act.def, given, 0)?.one()?;
            let origin = lw.origin(&act.at);
            Ok(b.finish(name, vec![("y".into(), out)], origin))
        })
    }

    /// The schedule for hyperparameter `path`; returns the schedule's name.
    pub fn schedule(&mut self, path: &str, s: &ScheduleCall) -> Result<String, LowerError> {
        let name = format!("sched_{}", path.replace('.', "_"));
        let fname = plan::schedule_fn(self, &name, s)?;
        let origin = self.origin(&s.at);
        self.schedules.push(exp_ir::Schedule { name: name.clone(), function: fname, origin });
        Ok(name)
    }
}

/// Lowers a checked experiment to a sealed IR program (not yet verified).
pub fn lower(db: &dyn Db, experiment: &Experiment) -> Result<Program, LowerError> {
    let mut lw =
        Lowering { db, files: Vec::new(), functions: Vec::new(), schedules: Vec::new(), fn_names: BTreeMap::new() };
    let mut program = plan::program(&mut lw, experiment)?;
    program.files = lw.files;
    program.functions = lw.functions;
    program.schedules = lw.schedules;
    program.seal();
    Ok(program)
}

/// The verified IR of an experiment item, with command-line overrides if any, or why there
/// is none: the checker's diagnostics when it has errors, or a broken invariant.
///
/// A salsa query keyed on the item and the overrides; it reads the cached elaboration
/// ([`exp_hir::elaborated`] or [`exp_hir::elaborated_with`]), so checking and running one
/// experiment elaborates it once. An edit that does not change the recipe produces an equal
/// program, so its readers are reused.
#[salsa::tracked(returns(ref))]
pub fn lowered<'db>(
    db: &'db dyn Db,
    item: exp_hir::ItemDef<'db>,
    overrides: Option<Overrides>,
) -> Result<Arc<Program>, LoweringFailed> {
    let el = match overrides {
        Some(o) => exp_hir::elaborated_with(db, item, o),
        None => exp_hir::elaborated(db, item),
    };
    let Some(experiment) = &el.experiment else {
        return Err(LoweringFailed::Diagnostics(el.diags.len()));
    };
    let program = lower(db, experiment).map_err(LoweringFailed::Bug)?;
    match exp_ir::verify(&program) {
        Ok(()) => Ok(Arc::new(program)),
        Err(errs) => Err(LoweringFailed::Bug(LowerError(
            errs.iter()
                .map(|e| format!("[{}] {}: {}", e.rule.code(), e.location, e.message))
                .collect::<Vec<_>>()
                .join("; "),
        ))),
    }
}

/// Why [`lowered`] has no program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoweringFailed {
    /// The experiment has this many diagnostics; its elaboration reports them.
    Diagnostics(usize),
    /// Lowering or verification failed on a checked experiment: a compiler bug.
    Bug(LowerError),
}
