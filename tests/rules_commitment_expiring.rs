//! `commitment-expiring`: fire and no-fire cases, from billing (a one-time purchase's
//! ChargePeriodEnd) and from the APIs alone, with the savings computed by hand.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use costscope::analysis::rules::{Engine, Finding, RuleSet};
use costscope::model::commitments::{
    CommitmentCharge, CommitmentData, CommitmentDay, CommitmentInfo, LiveCommitment,
    LiveCommitments, LiveKind,
};
use costscope::model::{BillingSummary, Currency, Money, Snapshot};
use costscope::pricing::catalog::PriceCatalog;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
}

fn m(s: &str) -> Money {
    Money::parse(s).unwrap()
}

/// A reservation billed for `days` days from 2026-10-01: each day `used` amortized, `unused`
/// idle, covering usage whose ListCost is `list` (None: the export has no ListCost), its
/// term ending `term_end`.
fn billed(
    id: &str,
    days: u32,
    used: &str,
    unused: &str,
    list: Option<&str>,
    term_end: NaiveDate,
) -> BillingSummary {
    let mut rows = Vec::new();
    for d in 0..days {
        let day = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap() + Duration::days(i64::from(d));
        let row = |charge, cost: &str, list: Option<Money>| CommitmentDay {
            commitment_id: id.into(),
            day,
            charge,
            currency: Currency::usd(),
            billed_cost: Money::ZERO,
            effective_cost: Some(m(cost)),
            list_cost: list,
            rows: 1,
        };
        rows.push(row(CommitmentCharge::Used, used, list.map(m)));
        if unused != "0" {
            rows.push(row(CommitmentCharge::Unused, unused, None));
        }
    }
    let info = CommitmentInfo {
        name: "ri-web".into(),
        category: "Usage".into(),
        kind: "Reserved Instance".into(),
        provider: "AWS".into(),
        account_id: "222222222222".into(),
        region: "us-east-1".into(),
        unit: "Hours".into(),
        usage_rows: u64::from(days),
        purchase_rows: 1,
        term_end: Some(term_end),
    };
    BillingSummary {
        first_day: NaiveDate::from_ymd_opt(2026, 10, 1),
        last_day: NaiveDate::from_ymd_opt(2026, 10, days),
        commitments: CommitmentData {
            days: rows,
            info: [(id.to_string(), info)].into_iter().collect(),
            compute: Vec::new(),
            service_category_known: true,
        },
        ..Default::default()
    }
}

fn plan(id: &str, kind: LiveKind, ends_in_days: i64, hourly: Option<&str>) -> LiveCommitment {
    LiveCommitment {
        id: id.into(),
        kind,
        plan_type: if kind == LiveKind::SavingsPlan { "Compute".into() } else { "m5.large".into() },
        account_id: "222222222222".into(),
        region: if kind == LiveKind::SavingsPlan { String::new() } else { "us-east-1".into() },
        term_start: Some(now() - Duration::days(365 - ends_in_days)),
        term_end: Some(now() + Duration::days(ends_in_days)),
        term_years: Some(1),
        payment_option: "No Upfront".into(),
        state: "active".into(),
        currency: Currency::usd(),
        hourly_commitment: hourly.map(m),
        instance_count: (kind == LiveKind::ReservedInstance).then_some(2),
        upfront: None,
        recurring_hourly: hourly.map(m),
    }
}

fn expiring(s: &Snapshot) -> Vec<Finding> {
    let engine =
        Engine::new(RuleSet::builtin().unwrap(), Arc::new(PriceCatalog::builtin().unwrap()));
    let mut found: Vec<Finding> = engine
        .evaluate(s, &[])
        .findings
        .into_iter()
        .filter(|f| f.rule_id == "commitment-expiring")
        .collect();
    found.sort_by(|a, b| a.resource_id.cmp(&b.resource_id));
    found
}

#[test]
fn a_billed_reservation_ending_within_30_days_fires_with_what_renewing_keeps_saving() {
    let mut s = Snapshot::empty(now());
    // Ends 2026-11-21: 20 days after the snapshot.
    let end = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    s.billing = Some(billed("ri-1", 10, "1.4", "0.1", Some("2.304"), end));
    let found = expiring(&s);
    assert_eq!(found.len(), 1, "{found:?}");
    let f = &found[0];
    assert_eq!(f.resource_id, "ri-1");
    assert_eq!(f.action, "renew-or-replace");
    // Over 10 days: on demand 23.04 (70.08 a month), cost 14 + 1 = 15 → 8.04 per 240 hours
    // × 730 = 24.455.
    assert_eq!(f.estimated_monthly_savings.round_dp(3), m("24.455"));
    assert!(f.evidence.contains("ends on 2026-11-21, in 20 days"), "{}", f.evidence);
    assert!(f.evidence.contains("ListCost 23.04"), "{}", f.evidence);
    assert!(f.evidence.contains("usage worth 70.08 a month at on-demand prices"), "{}", f.evidence);
}

#[test]
fn a_reservation_ending_later_or_already_ended_does_not_fire() {
    let mut s = Snapshot::empty(now());
    s.billing = Some(billed(
        "ri-later",
        10,
        "1.4",
        "0",
        Some("2.304"),
        NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(), // 31 days: one past the limit
    ));
    assert!(expiring(&s).is_empty());
    s.billing = Some(billed(
        "ri-ended",
        10,
        "1.4",
        "0",
        Some("2.304"),
        NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
    ));
    assert!(expiring(&s).is_empty());
}

#[test]
fn the_days_before_param_moves_the_limit() {
    let mut s = Snapshot::empty(now());
    s.billing = Some(billed(
        "ri-later",
        10,
        "1.4",
        "0",
        Some("2.304"),
        NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
    ));
    let mut rules = RuleSet::builtin().unwrap();
    let rule = rules.rules.iter_mut().find(|r| r.id == "commitment-expiring").unwrap();
    rule.params.insert("days_before".into(), costscope::analysis::rules::rule::Param::Number(31.0));
    let engine = Engine::new(rules, Arc::new(PriceCatalog::builtin().unwrap()));
    let eval = engine.evaluate(&s, &[]);
    assert!(eval.findings.iter().any(|f| f.rule_id == "commitment-expiring"));
}

#[test]
fn without_list_cost_or_billing_the_savings_are_computed_from_the_plan_or_not_at_all() {
    let mut s = Snapshot::empty(now());
    // No ListCost: the discount is unknown.
    s.billing = Some(billed(
        "ri-nolist",
        10,
        "1.4",
        "0",
        None,
        NaiveDate::from_ymd_opt(2026, 11, 11).unwrap(),
    ));
    s.live_commitments = Some(LiveCommitments {
        commitments: vec![
            // A Savings Plan only the API knows: 2 an hour, 1-year no upfront (29 % in
            // commitments.toml) → 2 × 0.29 / 0.71 × 730 = 596.338.
            plan("arn:sp-1", LiveKind::SavingsPlan, 5, Some("2")),
            // A reservation only the API knows: its on-demand equivalent is unknown.
            plan("arn:ri-2", LiveKind::ReservedInstance, 25, None),
            // Ends in 40 days: no.
            plan("arn:sp-3", LiveKind::SavingsPlan, 40, Some("1")),
        ],
        ..Default::default()
    });
    let found = expiring(&s);
    let ids: Vec<&str> = found.iter().map(|f| f.resource_id.as_str()).collect();
    assert_eq!(ids, ["arn:ri-2", "arn:sp-1", "ri-nolist"]);
    assert_eq!(found[1].estimated_monthly_savings.round_dp(3), m("596.338"));
    assert!(found[1].evidence.contains("assuming the plan is fully used"), "{}", found[1].evidence);
    assert!(found[0].evidence.contains("2 × m5.large in us-east-1"), "{}", found[0].evidence);
    for f in [&found[0], &found[2]] {
        assert!(f.estimated_monthly_savings.is_zero(), "{f:?}");
        assert!(f.evidence.contains("savings not computed"), "{}", f.evidence);
    }
}
