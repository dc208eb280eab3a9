//! Source texts for rendering diagnostics: user files, overrides and the standard library.

use std::collections::HashMap;
use std::sync::Arc;

use exp_db::{Db, RootDb};

/// Every source text the database knows, by path.
pub fn sources(db: &RootDb) -> HashMap<String, Arc<str>> {
    let ws = db.workspace();
    ws.files(db)
        .iter()
        .chain(ws.stdlib(db).iter())
        .map(|f| (f.path(db).clone(), Arc::from(f.text(db).as_str())))
        .collect()
}
