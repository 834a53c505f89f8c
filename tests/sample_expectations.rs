//! The bundled sample is built so that each default rule fires where `samples/expected-findings.csv`
//! says and stays silent on its near misses: the engine must agree with every line of it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use costscope::analysis::rules::{Engine, RuleSet};
use costscope::pricing::catalog::PriceCatalog;
use costscope::source::focus::FocusOptions;

#[test]
fn the_engine_agrees_with_every_expected_finding_of_the_sample() {
    let mut snapshot = costscope::sample::snapshot().unwrap();
    snapshot.billing = Some(costscope::sample::billing(FocusOptions::default()).unwrap());
    let engine =
        Engine::new(RuleSet::builtin().unwrap(), Arc::new(PriceCatalog::builtin().unwrap()));
    let required: Vec<String> = ["team", "env", "cost-center"].map(String::from).to_vec();
    let eval = engine.evaluate(&snapshot, &required);
    assert!(eval.errors.is_empty(), "evaluation errors: {:?}", eval.errors);
    let found: BTreeSet<(&str, &str)> =
        eval.findings.iter().map(|f| (f.rule_id.as_str(), f.resource_id.as_str())).collect();

    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/expected-findings.csv"),
    )
    .unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut wrong = Vec::new();
    let mut rules_firing = BTreeSet::new();
    let mut rules_listed = BTreeSet::new();
    for record in reader.records() {
        let record = record.unwrap();
        let (rule, id, fires, why) = (&record[0], &record[1], &record[3] == "true", &record[4]);
        rules_listed.insert(rule.to_string());
        if fires {
            rules_firing.insert(rule.to_string());
        }
        if found.contains(&(rule, id)) != fires {
            wrong.push(format!("{rule} {id}: expected fires={fires} ({why})"));
        }
    }
    assert!(wrong.is_empty(), "{} disagreements:\n{}", wrong.len(), wrong.join("\n"));
    // Every rule the file speaks of fires somewhere in the sample (the Kubernetes rules are
    // checked against the cluster in tests/kube.rs), and every database rule is spoken of.
    for rule in &rules_listed {
        assert!(rules_firing.contains(rule), "{rule} never fires on the sample");
    }
    for rule in engine.rules().rules.iter().filter(|r| !r.id.starts_with("k8s-")) {
        assert!(rules_listed.contains(&rule.id), "{} has no expectation in the sample", rule.id);
    }
}
