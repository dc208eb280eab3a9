//! The registry of diagnostic codes.
//!
//! Every diagnostic the compiler can emit has one stable kebab-case code. The code is what
//! users see in `error[shape-mismatch]`, write in test annotations, and pass to
//! `expc explain`, so a code is never renamed or reused once published. The whole registry is
//! one table below: adding a code means adding one row here and one page in `docs/`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Severity;

/// Declares the `Code` enum and its lookup tables from one list of rows, so that the variant,
/// its spelling, its severity, its summary and its page can never drift apart.
macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, $severity:ident, $summary:literal;)*) => {
        /// A stable diagnostic code; see the module documentation.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum Code {
            $($(#[$doc])* $variant,)*
        }

        impl Code {
            /// Every code, in registry order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The kebab-case spelling, as shown to users and accepted by `expc explain`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// One line that says what the code means, for listings and the language server.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }

            /// The severity a diagnostic with this code has unless its producer says otherwise.
            pub fn default_severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }

            /// The Markdown page for this code (`docs/<code>.md`), embedded at build time so
            /// that `expc explain` works from a lone binary.
            pub fn page(self) -> &'static str {
                match self { $(Code::$variant => include_str!(concat!("../docs/", $name, ".md")),)* }
            }
        }
    };
}

codes! {
    /// The text does not follow the grammar.
    SyntaxError = "syntax-error", Error, "the text does not follow the grammar of `.exp` files";
    /// A name that nothing declares or imports.
    UnknownName = "unknown-name", Error, "a name is used that is neither declared nor imported";
    /// A `use` of a module that does not exist.
    UnknownModule = "unknown-module", Error, "a `use` names a module that does not exist";
    /// Access to or setting of a field the value does not have.
    UnknownField = "unknown-field", Error, "a field is named that the value or declaration does not have";
    /// A required field left unset.
    MissingField = "missing-field", Error, "a required field of an experiment or record is not set";
    /// The same field set twice.
    DuplicateField = "duplicate-field", Error, "the same field is set more than once";
    /// A named argument the callee does not take.
    UnknownArgument = "unknown-argument", Error, "a named argument is not a parameter of the callee";
    /// A parameter without a default that the call does not give.
    MissingArgument = "missing-argument", Error, "a parameter without a default is not given a value";
    /// The same parameter given twice.
    DuplicateArgument = "duplicate-argument", Error, "a parameter is given more than one value in one call";
    /// Too many or too few positional arguments.
    WrongArity = "wrong-arity", Error, "a call passes a different number of positional arguments than the callee takes";
    /// A value of another type than the context requires.
    TypeMismatch = "type-mismatch", Error, "a value has a different type from the one required here";
    /// Tensor shapes that do not fit together.
    ShapeMismatch = "shape-mismatch", Error, "the output shape of one layer does not fit the input of the next";
    /// Quantities in different units of training time combined.
    UnitMismatch = "unit-mismatch", Error, "quantities in different units of training time are combined or compared";
    /// Two declarations with one name in one scope.
    DuplicateDefinition = "duplicate-definition", Error, "two declarations in one scope have the same name";
    /// Modules that import each other.
    ImportCycle = "import-cycle", Error, "modules import each other in a cycle";
    /// Experiments that extend each other.
    ExtendsCycle = "extends-cycle", Error, "experiments extend each other in a cycle";
    /// A probe name that no probe block declares.
    UnknownProbe = "unknown-probe", Error, "a stop rule, sweep objective or plot names a probe the experiment does not declare";
    /// A sweep axis whose values are empty or unusable.
    InvalidSweepDomain = "invalid-sweep-domain", Error, "a sweep axis has no values, or values its field cannot take";
    /// A run whose static memory estimate does not fit.
    MemoryLimitExceeded = "memory-limit-exceeded", Error, "the estimated memory of a run exceeds the memory available to it";
    /// A bad `--set path=value` on the command line.
    InvalidOverride = "invalid-override", Error, "a `--set path=value` override cannot be applied to the experiment";
    /// A call of something that is not a function, block or constructor.
    NotCallable = "not-callable", Error, "a value that is not a function, block or constructor is called";
    /// A value of the right type but outside its allowed range.
    InvalidValue = "invalid-value", Error, "a value has the right type but is outside the range allowed here";
    /// A function or block that calls itself.
    RecursiveDefinition = "recursive-definition", Error, "a function or block calls itself, directly or through others";
    /// A definition with errors of its own used by an experiment.
    BrokenDefinition = "broken-definition", Error, "an experiment uses a function, schedule or optimizer whose definition has errors";
    /// An optimizer rule that assigns to something it may not.
    InvalidAssignment = "invalid-assignment", Error, "an optimizer rule assigns to something other than `p`, `g` or a declared state";
    /// A stdlib `builtin` whose signature disagrees with the op table.
    BuiltinMismatch = "builtin-mismatch", Error, "a `builtin` declaration disagrees with the runtime's op table";
    /// A data source whose files are missing, unreadable or not as declared.
    InvalidDataSource = "invalid-data-source", Error, "a data source's files are missing, unreadable, or disagree with its declaration";
    /// An import that nothing uses.
    UnusedImport = "unused-import", Warning, "an imported name is never used";
    /// A command line that names an experiment or sweep the file does not declare.
    UnknownExperiment = "unknown-experiment", Error, "the command line names an experiment or sweep that the file does not declare";
    /// A run failed after it started: a non-finite loss or gradient, a tensor operation that
    /// failed, or a file the run needed.
    RuntimeError = "runtime-error", Error, "a run failed after it started, at the declaration that caused it";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a string that is not a known code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown diagnostic code `{0}`")]
pub struct UnknownCode(pub String);

impl FromStr for Code {
    type Err = UnknownCode;

    /// Parses the kebab-case spelling; a linear scan is fine for a table this small.
    fn from_str(s: &str) -> Result<Code, UnknownCode> {
        Code::ALL.iter().copied().find(|code| code.as_str() == s).ok_or_else(|| UnknownCode(s.to_owned()))
    }
}

/// The page for a code given as text, as `expc explain CODE` needs it; `None` if no such code.
pub fn explain(code: &str) -> Option<String> {
    code.trim().parse::<Code>().ok().map(|code| code.page().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn as_str_and_from_str_round_trip() {
        for &code in Code::ALL {
            assert_eq!(code.as_str().parse::<Code>(), Ok(code));
            assert_eq!(code.to_string(), code.as_str());
        }
        assert_eq!("shape_mismatch".parse::<Code>(), Err(UnknownCode("shape_mismatch".into())));
    }

    #[test]
    fn codes_are_kebab_case_and_unique() {
        let mut seen = HashSet::new();
        for &code in Code::ALL {
            let name = code.as_str();
            let words_ok = name.split('-').all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()));
            assert!(words_ok, "`{name}` is not kebab-case");
            assert!(seen.insert(name), "`{name}` appears twice");
        }
    }

    #[test]
    fn serde_uses_the_kebab_spelling() {
        for &code in Code::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), serde_json::json!(code.as_str()));
        }
    }

    #[test]
    fn summaries_are_one_lowercase_line_without_full_stop() {
        for &code in Code::ALL {
            let s = code.summary();
            assert!(!s.contains('\n') && !s.ends_with('.'), "summary of `{code}`: {s}");
            assert!(s.starts_with(|c: char| c.is_lowercase() || c == '`'), "summary of `{code}`: {s}");
        }
    }

    #[test]
    fn only_unused_import_is_a_warning_by_default() {
        let warnings: Vec<_> = Code::ALL.iter().filter(|c| c.default_severity() == Severity::Warning).collect();
        assert_eq!(warnings, [&Code::UnusedImport]);
    }

    #[test]
    fn every_page_has_its_title_sections_and_an_example() {
        for &code in Code::ALL {
            let page = code.page();
            let title = format!("# {code}\n");
            assert!(page.starts_with(&title), "page of `{code}` must start with `{title}`");
            for section in ["## What it means", "## Why it is an error", "## Example", "## How to fix"] {
                assert!(page.contains(section), "page of `{code}` lacks `{section}`");
            }
            assert!(page.contains("```exp\n"), "page of `{code}` lacks an ```exp example");
            // Examples are whole programs (a test runs them), so a page is a screen or so.
            let lines = page.lines().count();
            assert!((10..=60).contains(&lines), "page of `{code}` has {lines} lines");
        }
    }

    #[test]
    fn every_page_belongs_to_a_code() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/docs");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let code = name.strip_suffix(".md").unwrap_or(&name);
            assert!(code.parse::<Code>().is_ok(), "`docs/{name}` is not the page of any code");
        }
    }

    #[test]
    fn explain_finds_pages_by_name_only() {
        assert_eq!(explain("unit-mismatch").as_deref(), Some(Code::UnitMismatch.page()));
        assert_eq!(explain(" unused-import\n").as_deref(), Some(Code::UnusedImport.page()));
        assert_eq!(explain("UnitMismatch"), None);
        assert_eq!(explain(""), None);
    }
}
