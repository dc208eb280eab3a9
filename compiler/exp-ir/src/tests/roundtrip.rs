//! Round trips: print → parse → print, JSON, and the content hash.

use super::fixtures;
use crate::*;

#[test]
fn fixtures_verify() {
    for p in fixtures::all() {
        if let Err(errors) = verify(&p) {
            let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!("{} fails verification:\n{}\n{}", p.name, list.join("\n"), print(&p));
        }
    }
}

#[test]
fn print_parse_print_is_identity() {
    for p in fixtures::all() {
        let text = print(&p);
        let parsed = parse(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", p.name));
        assert_eq!(print(&parsed), text, "{}", p.name);
        // Parsing allocates ids canonically, so a second trip reproduces the data exactly.
        assert_eq!(parse(&print(&parsed)).unwrap(), parsed);
        assert_eq!(verify(&parsed), Ok(()), "{}", p.name);
        let crlf = parse(&text.replace('\n', "\r\n")).unwrap();
        assert_eq!(print(&crlf), text, "CRLF line endings");
    }
}

#[test]
fn json_round_trips_exactly() {
    for p in fixtures::all() {
        let back = from_json(&to_json(&p)).unwrap();
        assert_eq!(back, p);
        assert_eq!(print(&back), print(&p));
    }
}

#[test]
fn json_keeps_non_finite_and_awkward_floats() {
    let mut p = fixtures::mlp_adamw();
    p.train.stop_rules[0].threshold = f64::NEG_INFINITY;
    p.config[0].value = Value::List(vec![Value::Float(f64::INFINITY), Value::Float(0.1 + 0.2), Value::Float(-0.0)]);
    let back = from_json(&to_json(&p)).unwrap();
    assert_eq!(back, p);
    assert!(back.config[0].value.to_string().contains("-0.0"));
    assert!(from_json("{\"name\": 3}").is_err());
}

#[test]
fn hash_covers_the_recipe() {
    let p = fixtures::mlp_adamw();
    assert_eq!(p.hash.len(), HASH_LEN);
    assert!(p.hash.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(p.hash, p.compute_hash());
    // The stored hash is not part of what is hashed.
    let mut unsealed = p.clone();
    unsealed.hash.clear();
    assert_eq!(unsealed.compute_hash(), p.hash);
    let mut changes: Vec<Program> = Vec::new();
    let mut q = p.clone();
    q.optimizer.hypers[1].value = HyperValue::Const(0.95);
    changes.push(q);
    let mut q = p.clone();
    q.seeds = Seeds::from_base(1);
    changes.push(q);
    let mut q = p.clone();
    q.data.transforms.clear();
    changes.push(q);
    let mut q = p.clone();
    q.graph.nodes[1].ty.shape.0[1] = exp_ops::Dim::constant(7);
    changes.push(q);
    for q in changes {
        assert_ne!(q.compute_hash(), p.hash);
    }
    // Where things were written is not part of the recipe.
    let mut q = p.clone();
    q.graph.nodes[1].origin = None;
    q.files.push("moved.exp".into());
    for c in &mut q.config {
        c.provenance = crate::Provenance::CommandLine;
    }
    assert_eq!(q.compute_hash(), p.hash);
}

#[test]
fn printing_renumbers_values_in_definition_order() {
    let text = print(&fixtures::cnn_batchnorm());
    let defs: Vec<&str> =
        text.lines().filter_map(|l| l.trim().split(" = ").next().filter(|d| d.starts_with('%'))).collect();
    assert_eq!(defs, ["%0", "%1", "%2", "%3", "%4", "%5", "%6", "%7", "%8"]);
    assert!(text.contains("  input %images : f32[B, 3, 32, 32]\n"));
    assert!(text.contains("    return p = v3, buf = v1\n"), "{text}");
}
