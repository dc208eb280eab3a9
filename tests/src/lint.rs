//! Rules about the source itself that the compiler cannot enforce.

use exp_tests::root;

/// The checker, lowering and the runtime never match a builtin by its name: they match the
/// typed value the registry builds (`exp_ops::Loss`, `Probe`, `LayerOp`, ...), so renaming or
/// adding a builtin cannot leave a string comparison behind. `"loss"` is also the experiment
/// field and the item keyword; those lines are allowed by what they say.
#[test]
fn no_builtin_name_is_a_string_literal_outside_the_registry() {
    let names: Vec<String> = exp_ops::registry::builtins().iter().map(|s| s.name.to_string()).collect();
    assert!(names.len() >= 50, "{} builtins", names.len());
    let allowed = |line: &str| line.contains("Ty::Loss") || line.contains("DefKind::Loss") || line.contains("\"Loss\"");
    let allowed = |line: &str| allowed(line) || line.contains("field(\"loss\")");
    let mut hits = Vec::new();
    for krate in ["compiler/exp-hir/src", "compiler/exp-lower/src", "runtime/exp-runtime/src"] {
        let mut stack = vec![root().join(krate)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                let file = path.file_name().unwrap().to_string_lossy().into_owned();
                if path.is_dir() {
                    if file != "tests" {
                        stack.push(path);
                    }
                    continue;
                }
                if !file.ends_with(".rs") || file.ends_with("_tests.rs") || file == "tests.rs" {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                // Unit tests sit at the end of a file, after `#[cfg(test)]`.
                let code = text.split("#[cfg(test)]").next().unwrap_or_default();
                for (i, line) in code.lines().enumerate() {
                    let trimmed = line.trim_start();
                    if trimmed.starts_with("//") || allowed(line) {
                        continue;
                    }
                    for name in &names {
                        if line.contains(&format!("\"{name}\"")) {
                            hits.push(format!("{}:{}: `{name}` in {}", path.display(), i + 1, line.trim()));
                        }
                    }
                }
            }
        }
    }
    assert!(hits.is_empty(), "builtin names matched as strings:\n{}", hits.join("\n"));
}
