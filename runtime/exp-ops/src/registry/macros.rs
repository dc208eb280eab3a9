//! The `builtins!` macro: one declaration gives a kind's typed enum, its registry rows and
//! the conversions between the two, so a row and its variant cannot disagree.
//!
//! ```text
//! builtins! {
//!     /// The training losses.
//!     pub enum Loss: Loss {
//!         /// Softmax cross-entropy.
//!         CrossEntropy = "cross_entropy" {
//!             /// Weight of the uniform target.
//!             label_smoothing: Float = Float(0.0), in Constraint::UNIT;
//!         },
//!     }
//! }
//! ```
//!
//! An argument is `name: Kind` (required) or `name: Kind = Default(value)`, optionally
//! followed by `, in CONSTRAINT`. Kinds map to Rust types: `Int` → `i64`, `Float` → `f64`,
//! `Bool` → `bool`, `Str` and `Split` → `String`, `Ints` → `Vec<i64>`, `Choice(T)` → `T`
//! (a [`choice!`](crate::choice) enum). The enum must implement
//! [`Validate`](crate::registry::Validate).

/// The Rust type of an argument kind.
#[doc(hidden)]
#[macro_export]
macro_rules! __arg_ty {
    (Int) => { i64 };
    (Float) => { f64 };
    (Bool) => { bool };
    (Str) => { String };
    (Split) => { String };
    (Ints) => { Vec<i64> };
    (Choice($t:ty)) => { $t };
}

/// The [`ArgKind`](crate::ArgKind) of an argument kind.
#[doc(hidden)]
#[macro_export]
macro_rules! __arg_kind {
    (Choice($t:ty)) => {
        $crate::ArgKind::Choice(<$t as $crate::Choice>::NAMES)
    };
    ($k:ident) => {
        $crate::ArgKind::$k
    };
}

/// An optional default.
#[doc(hidden)]
#[macro_export]
macro_rules! __arg_default {
    () => {
        None
    };
    ($d:ident($v:expr)) => {
        Some($crate::ArgDefault::$d($v))
    };
}

/// An optional constraint.
#[doc(hidden)]
#[macro_export]
macro_rules! __arg_constraint {
    () => {
        $crate::Constraint::ANY
    };
    ($c:expr) => {
        $c
    };
}

/// An optional return kind.
#[doc(hidden)]
#[macro_export]
macro_rules! __returns {
    () => {
        None
    };
    ($k:ident) => {
        Some($crate::ArgKind::$k)
    };
}

/// Declares a kind's typed enum and its registry rows; see the module docs.
#[macro_export]
macro_rules! builtins {
    (
        $(#[doc = $doc:literal])*
        pub enum $name:ident: $kind:ident $(-> $ret:ident)? {
            $(
                $(#[doc = $vdoc:literal])*
                $variant:ident = $text:literal {
                    $(
                        $(#[doc = $adoc:literal])*
                        $arg:ident : $akind:ident $(($choice:ty))? $(= $def:ident($dval:expr))? $(, in $con:expr)?;
                    )*
                }
            ),+ $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(
                $(#[doc = $vdoc])*
                $variant {
                    $(
                        $(#[doc = $adoc])*
                        $arg: $crate::__arg_ty!($akind $(($choice))?),
                    )*
                },
            )+
        }

        impl $name {
            const RETURNS: Option<$crate::ArgKind> = $crate::__returns!($($ret)?);

            const SPECS: &'static [$crate::BuiltinSpec] = &[
                $(
                    $crate::BuiltinSpec {
                        name: $text,
                        kind: $crate::BuiltinKind::$kind,
                        doc: concat!($($vdoc, "\n"),*),
                        args: &[
                            $(
                                $crate::ArgSpec {
                                    name: stringify!($arg),
                                    kind: $crate::__arg_kind!($akind $(($choice))?),
                                    default: $crate::__arg_default!($($def($dval))?),
                                    constraint: $crate::__arg_constraint!($($con)?),
                                },
                            )*
                        ],
                        returns: Self::RETURNS,
                    },
                )+
            ];

            /// The language name of this value's row.
            pub fn name(&self) -> &'static str {
                match self {
                    $($name::$variant { .. } => $text,)+
                }
            }

            /// The row of this value.
            pub fn spec(&self) -> $crate::BuiltinSpec {
                let name = self.name();
                *Self::SPECS.iter().find(|s| s.name == name).expect("every variant has a row")
            }
        }

        impl $crate::Builtin for $name {
            const KIND: $crate::BuiltinKind = $crate::BuiltinKind::$kind;

            fn specs() -> &'static [$crate::BuiltinSpec] {
                Self::SPECS
            }

            fn name(&self) -> &'static str {
                $name::name(self)
            }

            fn from_args(name: &str, given: &$crate::ArgMap) -> Result<Self, $crate::ArgError> {
                let Some(spec) = Self::SPECS.iter().find(|s| s.name == name) else {
                    return Err($crate::ArgError::new(name, "", $crate::ArgProblem::Unknown));
                };
                let reader = $crate::registry::arg::ArgReader::new(*spec, given)?;
                let value = match name {
                    $(
                        $text => $name::$variant {
                            $($arg: reader.get(stringify!($arg))?,)*
                        },
                    )+
                    _ => return Err($crate::ArgError::new(name, "", $crate::ArgProblem::Unknown)),
                };
                $crate::registry::Validate::validate(&value)?;
                Ok(value)
            }

            fn to_args(&self) -> Vec<(&'static str, $crate::ArgValue)> {
                match self {
                    $(
                        $name::$variant { $($arg,)* } => vec![
                            $((stringify!($arg), $crate::ArgType::write($arg)),)*
                        ],
                    )+
                }
            }
        }
    };
}
