//! Declaration signatures: parameters with their types and defaults, cached per item.

use std::sync::Arc;

use exp_db::Db;
use exp_diagnostics::Code;
use exp_syntax::ast::{Body, Expr, ItemKind, Signature};

use crate::diag::{HDiag, Loc};
use crate::names::items::{lookup, ItemDef};
use crate::names::scope::DefRef;
use crate::types::{ty_of, Ty, TYPE_NAMES};

/// One declared parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamInfo {
    /// Its name.
    pub name: String,
    /// Its type (`Any` when not written).
    pub ty: Ty,
    /// Its default, evaluated in the declaring item when needed.
    pub default: Option<Expr>,
}

/// What callers need to know about a declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct DeclInfo {
    /// Parameters; `None` when the declaration has no parameter list.
    pub params: Option<Vec<ParamInfo>>,
    /// The body (`None` for optimizers, whose body is statements).
    pub body: Option<Body>,
    /// The tensor signature of a block.
    pub signature: Option<Signature>,
    /// The declaration's name, for "declared here" labels.
    pub loc: Loc,
}

/// The signature and body of a declaration, with problems in its parameter types.
#[salsa::tracked(returns(ref))]
pub fn decl_signature<'db>(db: &'db dyn Db, item: ItemDef<'db>) -> Option<(Arc<DeclInfo>, Vec<HDiag>)> {
    let ast = item.ast(db);
    let at = |span| Loc { file: item.file(db), item: Some(item.key(db).clone()), span };
    let mut diags = Vec::new();
    let mut convert = |params: &[exp_syntax::ast::Param]| -> Vec<ParamInfo> {
        let mut seen: Vec<&str> = Vec::new();
        params
            .iter()
            .map(|p| {
                if seen.contains(&p.name.name.as_str()) {
                    diags.push(HDiag::new(
                        Code::DuplicateDefinition,
                        format!("parameter `{}` is declared twice", p.name.name),
                        at(p.name.span),
                        "declared again here",
                    ));
                }
                seen.push(&p.name.name);
                let ty = match p.ty.as_ref().map(ty_of) {
                    None => Ty::Any,
                    Some(Ok(t)) => t,
                    Some(Err(id)) => {
                        diags.push(
                            HDiag::new(
                                Code::UnknownName,
                                format!("unknown type `{}`", id.name),
                                at(id.span),
                                "not a type",
                            )
                            .with_help_opt(crate::diag::did_you_mean(&id.name, TYPE_NAMES.iter().copied())),
                        );
                        Ty::Any
                    }
                };
                ParamInfo { name: p.name.name.clone(), ty, default: p.default.clone() }
            })
            .collect()
    };
    let info = match &ast.kind {
        ItemKind::Decl(d) => DeclInfo {
            params: d.params.as_deref().map(&mut convert),
            body: Some(d.body.clone()),
            signature: d.signature.clone(),
            loc: at(d.name.span),
        },
        ItemKind::Optimizer(o) => {
            DeclInfo { params: Some(convert(&o.params)), body: None, signature: None, loc: at(o.name.span) }
        }
        _ => return None,
    };
    Some((Arc::new(info), diags))
}

/// The [`DeclInfo`] of a resolved name.
pub fn decl_info(db: &dyn Db, def: &DefRef) -> Option<Arc<DeclInfo>> {
    let item = lookup(db, def.file, &def.key)?;
    decl_signature(db, item).as_ref().map(|(info, _)| info.clone())
}
