//! What rule tests share: the built-in pack evaluated on a snapshot, and a finding by rule
//! and resource.

#![allow(dead_code)]

use std::sync::Arc;

use costscope::analysis::rules::{Engine, Evaluation, Finding, RuleSet};
use costscope::model::{BillingSummary, Money, Snapshot};
use costscope::pricing::catalog::PriceCatalog;

/// The built-in rules and catalog over `snapshot`; evaluation errors fail the test.
pub fn evaluate(snapshot: &Snapshot) -> Evaluation {
    let engine =
        Engine::new(RuleSet::builtin().unwrap(), Arc::new(PriceCatalog::builtin().unwrap()));
    let required: Vec<String> = ["team", "env", "cost-center"].map(String::from).to_vec();
    let eval = engine.evaluate(snapshot, &required);
    assert!(eval.errors.is_empty(), "evaluation errors: {:?}", eval.errors);
    eval
}

/// The built-in pack on billing alone.
pub fn evaluate_billing(billing: BillingSummary) -> Evaluation {
    let mut snapshot = Snapshot::empty(chrono::Utc::now());
    snapshot.billing = Some(billing);
    evaluate(&snapshot)
}

pub fn find<'a>(eval: &'a Evaluation, rule: &str, id: &str) -> Option<&'a Finding> {
    eval.findings.iter().find(|f| f.rule_id == rule && f.resource_id == id)
}

pub fn money(s: &str) -> Money {
    Money::parse(s).unwrap()
}
