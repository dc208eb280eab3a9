//! The standard library's `.exp` sources, embedded.
//!
//! The sources live in `stdlib/` at the repository root, one module per file
//! (`stdlib/optim.exp` is the module `std.optim`); see `stdlib/README.md` for the conventions.
//! They go through the same pipeline as user code: `exp-db` turns each entry of [`FILES`] into
//! an ordinary source file, and imports the modules of [`PRELUDE`] into every file.
//! This crate only embeds text: no parsing, no IO.

/// One embedded file: (module path, file name, text), e.g.
/// `("std.optim", "std/optim.exp", "...")`. The file name is what diagnostics show.
pub type StdFile = (&'static str, &'static str, &'static str);

/// Every standard-library module, sorted by module path.
pub const FILES: &[StdFile] = &[
    ("std.activations", "std/activations.exp", include_str!("../../../stdlib/activations.exp")),
    ("std.data", "std/data.exp", include_str!("../../../stdlib/data.exp")),
    ("std.init", "std/init.exp", include_str!("../../../stdlib/init.exp")),
    ("std.losses", "std/losses.exp", include_str!("../../../stdlib/losses.exp")),
    ("std.metrics", "std/metrics.exp", include_str!("../../../stdlib/metrics.exp")),
    ("std.nn", "std/nn.exp", include_str!("../../../stdlib/nn.exp")),
    ("std.optim", "std/optim.exp", include_str!("../../../stdlib/optim.exp")),
    ("std.probes", "std/probes.exp", include_str!("../../../stdlib/probes.exp")),
    ("std.scalar", "std/scalar.exp", include_str!("../../../stdlib/scalar.exp")),
    ("std.schedules", "std/schedules.exp", include_str!("../../../stdlib/schedules.exp")),
];

/// The modules imported into every file without a `use`, in import order. The others
/// (`std.data`, `std.probes`, `std.metrics`) need a `use`.
pub const PRELUDE: &[&str] =
    &["std.scalar", "std.activations", "std.nn", "std.init", "std.losses", "std.optim", "std.schedules"];

/// The embedded file of a module, by module path (`"std.optim"`).
pub fn module(path: &str) -> Option<&'static StdFile> {
    FILES.iter().find(|(module, _, _)| *module == path)
}

/// The embedded file with a given file name (`"std/optim.exp"`).
pub fn file(name: &str) -> Option<&'static StdFile> {
    FILES.iter().find(|(_, file, _)| *file == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    /// The `stdlib/` directory, read at test time.
    fn stdlib_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../stdlib")
    }

    /// Every `.exp` file of `stdlib/`, by file stem, with its text.
    fn on_disk() -> BTreeMap<String, String> {
        let mut files = BTreeMap::new();
        for entry in std::fs::read_dir(stdlib_dir()).expect("stdlib/ exists") {
            let path = entry.expect("readable entry").path();
            if path.extension().is_some_and(|e| e == "exp") {
                let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
                files.insert(stem, std::fs::read_to_string(&path).expect("readable file"));
            }
        }
        files
    }

    #[test]
    fn files_match_the_directory() {
        let disk = on_disk();
        let embedded: BTreeMap<String, String> = FILES
            .iter()
            .map(|(module, file, text)| {
                let stem = module.strip_prefix("std.").expect("module paths start with std.");
                assert_eq!(*file, format!("std/{stem}.exp"), "file name of {module}");
                (stem.to_string(), text.to_string())
            })
            .collect();
        assert_eq!(embedded.len(), FILES.len(), "a module is listed twice");
        assert_eq!(
            embedded.keys().collect::<Vec<_>>(),
            disk.keys().collect::<Vec<_>>(),
            "FILES must list exactly the .exp files of stdlib/"
        );
        assert_eq!(embedded, disk, "embedded text differs from stdlib/ (rebuild)");
        let mut sorted: Vec<_> = FILES.iter().map(|f| f.0).collect();
        sorted.sort_unstable();
        assert_eq!(sorted, FILES.iter().map(|f| f.0).collect::<Vec<_>>(), "FILES is sorted");
    }

    #[test]
    fn prelude_names_embedded_modules() {
        for m in PRELUDE {
            assert!(module(m).is_some(), "prelude module {m} is not embedded");
        }
        for m in ["std.data", "std.probes", "std.metrics"] {
            assert!(module(m).is_some() && !PRELUDE.contains(&m), "{m} needs a `use`");
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(module("std.optim").map(|f| f.1), Some("std/optim.exp"));
        assert_eq!(file("std/nn.exp").map(|f| f.0), Some("std.nn"));
        assert!(module("std.nope").is_none());
        assert!(file("std/nope.exp").is_none());
    }

    const KEYWORDS: &[&str] = &["fn", "block", "data", "loss", "optimizer", "schedule", "probe", "metric"];

    /// Every item (a line starting with a declaring keyword) has a `///` doc comment right
    /// before it that contains an `Example:` line.
    #[test]
    fn every_item_is_documented_with_an_example() {
        for (module, _, text) in FILES {
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let first = line.split_whitespace().next().unwrap_or("");
                if !KEYWORDS.contains(&first) || line.starts_with(' ') {
                    continue;
                }
                let docs: Vec<&str> = lines[..i].iter().rev().take_while(|l| l.starts_with("///")).copied().collect();
                assert!(!docs.is_empty(), "{module}, line {}: `{line}` has no /// docs", i + 1);
                assert!(
                    docs.iter().any(|d| d.starts_with("/// Example: `")),
                    "{module}, line {}: `{line}` has no `/// Example:` line",
                    i + 1
                );
            }
        }
    }

    /// `= builtin` is reserved for primitives: the composite items must stay in the language.
    #[test]
    fn composites_are_written_in_the_language() {
        let written = [
            ("std.activations", "fn relu("),
            ("std.activations", "fn selu("),
            ("std.nn", "block mlp("),
            ("std.nn", "block sequential_residual("),
            ("std.nn", "block parallel_residual("),
            ("std.optim", "optimizer adan("),
            ("std.optim", "optimizer gradient_noise("),
            ("std.schedules", "schedule cosine("),
        ];
        for (m, head) in written {
            let text = module(m).unwrap().2;
            let start = text.find(head).unwrap_or_else(|| panic!("{m}: no `{head}`"));
            let item = &text[start..];
            let end = item.find("\n\n").unwrap_or(item.len());
            assert!(!item[..end].contains("builtin"), "{m}: `{head}` must not be a builtin");
        }
    }
}
