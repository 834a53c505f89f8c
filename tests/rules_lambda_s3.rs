//! The Lambda and S3 rules of the default pack: for each, resources where it must fire (savings
//! checked against figures computed by hand from `rules/prices/lambda.toml` and `s3.toml`,
//! us-east-1) and near misses where it must not.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common_rules;

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common_rules::{evaluate, find, money};
use costscope::model::inventory::{Architecture, LambdaFunction, S3Bucket};
use costscope::model::utilization::UtilizationSummary;
use costscope::model::{Money, Snapshot, Tags};
use costscope::source::focus::{FocusOptions, read_focus_reader};

const ACCOUNT: &str = "222222222222";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
}

fn full_tags() -> Tags {
    [("team", "data"), ("env", "prod"), ("cost-center", "cc-1")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}")
}

fn function(name: &str, memory_mb: u64, timeout_seconds: u64) -> LambdaFunction {
    LambdaFunction {
        id: function_arn(name),
        name: name.into(),
        account_id: ACCOUNT.into(),
        region: "us-east-1".into(),
        memory_mb,
        timeout_seconds,
        architecture: Architecture::X86_64,
        runtime: "python3.12".into(),
        package_type: "Zip".into(),
        last_modified: Some(now() - Duration::days(200)),
        tags: full_tags(),
    }
}

/// 30 days of Lambda metrics: invocations, average and longest duration (ms).
fn invoked(name: &str, invocations: f64, avg_ms: f64, max_ms: f64) -> UtilizationSummary {
    UtilizationSummary {
        resource_id: function_arn(name),
        lookback_days: 30,
        days_covered: 30,
        data_points: if invocations > 0.0 { 720 } else { 0 },
        invocations_total: Some(invocations),
        errors_total: Some(0.0),
        duration_total_ms: Some(invocations * avg_ms),
        duration_max_ms: (invocations > 0.0).then_some(max_ms),
        ..Default::default()
    }
}

fn bucket(name: &str) -> S3Bucket {
    S3Bucket {
        id: format!("arn:aws:s3:::{name}"),
        name: name.into(),
        account_id: ACCOUNT.into(),
        region: "us-east-1".into(),
        create_time: Some(now() - Duration::days(400)),
        lifecycle_rules: Some(0),
        lifecycle_rules_enabled: Some(0),
        intelligent_tiering_configs: Some(0),
        tags: full_tags(),
    }
}

/// Daily storage: Standard GB on the last and the first day, the days between, objects.
fn stored(name: &str, gb: f64, first_gb: f64, span: u32, objects: f64) -> UtilizationSummary {
    let standard = |gb: f64| [("StandardStorage".to_string(), gb * 1e9)].into_iter().collect();
    UtilizationSummary {
        resource_id: format!("arn:aws:s3:::{name}"),
        lookback_days: 30,
        days_covered: span + 1,
        data_points: span + 1,
        storage_bytes: standard(gb),
        storage_bytes_first: standard(first_gb),
        storage_days_span: Some(span),
        objects: Some(objects),
        ..Default::default()
    }
}

/// Savings computed in the rule's expression are rounded to 10^-6 from a double: equal to the
/// hand figure within that last digit.
fn about(actual: Money, expected: &str) {
    let diff = (actual.to_f64() - money(expected).to_f64()).abs();
    assert!(diff <= 1.01e-6, "{} is not {expected}", actual.display_2dp());
}

fn focus_bill(service: &str, id: &str, per_day: &str, days: u32) -> String {
    let mut csv = String::from(
        "BilledCost,EffectiveCost,ListCost,BillingCurrency,BillingAccountId,SubAccountId,\
         ProviderName,ServiceName,RegionId,ResourceId,ResourceType,ChargeCategory,\
         ChargePeriodStart,ChargePeriodEnd,Tags\n",
    );
    for day in 1..=days {
        csv.push_str(&format!(
            "{per_day},{per_day},{per_day},USD,111111111111,{ACCOUNT},AWS,{service},us-east-1,\
             {id},Function,Usage,2026-10-{day:02}T00:00:00Z,2026-10-{:02}T00:00:00Z,{{}}\n",
            day + 1
        ));
    }
    csv
}

#[test]
fn lambda_graviton_prices_the_measured_gb_seconds_on_arm64() {
    let mut s = Snapshot::empty(now());
    let mut arm = function("arm", 1024, 30);
    arm.architecture = Architecture::Arm64;
    let mut go = function("go", 1024, 30);
    go.runtime = "go1.x".into();
    let mut image = function("image", 1024, 30);
    (image.package_type, image.runtime) = ("Image".into(), String::new());
    s.inventory.lambda_functions = vec![function("api", 1024, 30), arm, go, image];
    for name in ["api", "arm", "go", "image"] {
        s.utilization.push(invoked(name, 3e6, 200.0, 900.0));
    }
    let eval = evaluate(&s);
    let f = find(&eval, "lambda-graviton", &function_arn("api")).expect("x86_64 python3.12");
    // 3,000,000 × 200 ms = 600,000 s in 30 days; × 730 / 24 / 30 = 608,333.33 s a month at
    // 1 GB: 608,333.33 GB-s × (0.0000166667 − 0.0000133334 = 0.0000033333) = 2.0277575.
    about(f.estimated_monthly_savings, "2.027758");
    // Current cost from the table: 608,333,334 ms × 1 GB × 0.0000166667 / 1000 = 10.13889…
    // + 3,041,667 requests × 0.20 / 1M = 0.6083334: 10.747243.
    assert_eq!(f.current_monthly_cost.map(|m| m.round_dp(6)), Some(money("10.747243")));
    assert_eq!((f.action.as_str(), f.target.as_deref()), ("modernize", Some("arm64")));
    assert!(f.evidence.contains("608333.33 GB-seconds a month"), "{}", f.evidence);
    assert!(f.evidence.contains("10.14 on x86_64 and 8.11 on arm64"), "{}", f.evidence);
    for (name, why) in
        [("arm", "already arm64"), ("go", "go1.x has no arm64"), ("image", "container image")]
    {
        assert!(find(&eval, "lambda-graviton", &function_arn(name)).is_none(), "{why}");
    }
}

#[test]
fn lambda_overprovisioned_memory_halves_memory_far_under_the_timeout() {
    let mut s = Snapshot::empty(now());
    s.inventory.lambda_functions =
        vec![function("etl", 3008, 900), function("slow", 3008, 10), function("small", 1024, 900)];
    s.utilization.push(invoked("etl", 100_000.0, 2000.0, 4000.0));
    s.utilization.push(invoked("slow", 100_000.0, 2000.0, 9000.0));
    s.utilization.push(invoked("small", 100_000.0, 2000.0, 4000.0));
    let eval = evaluate(&s);
    let f = find(&eval, "lambda-overprovisioned-memory", &function_arn("etl")).expect("etl");
    // 100,000 × 2,000 ms = 200,000 s in 30 days: 202,777.78 s a month. 3008 MB → max(1024,
    // 1504) = 1504 MB: 202,777.78 × 1504 / 1024 GB × 0.0000166667 = 4.963841 saved (of 9.927682).
    about(f.estimated_monthly_savings, "4.963841");
    assert_eq!(f.target.as_deref(), Some("1504 MB"));
    assert_eq!(f.confidence.to_string(), "low");
    assert!(f.evidence.contains("longest invocation 4000 ms of a 900 s timeout"), "{}", f.evidence);
    assert!(f.evidence.contains("assuming the duration does not grow"), "{}", f.evidence);
    assert!(
        find(&eval, "lambda-overprovisioned-memory", &function_arn("slow")).is_none(),
        "9 s of a 10 s timeout"
    );
    assert!(
        find(&eval, "lambda-overprovisioned-memory", &function_arn("small")).is_none(),
        "at the 1024 MB floor"
    );
}

#[test]
fn lambda_unused_fires_after_30_days_without_invocations() {
    let mut s = Snapshot::empty(now());
    let mut fresh = function("fresh", 256, 30);
    fresh.last_modified = Some(now() - Duration::days(10));
    s.inventory.lambda_functions =
        vec![function("old-cron", 256, 30), fresh, function("rare", 256, 30)];
    s.utilization.push(invoked("old-cron", 0.0, 0.0, 0.0));
    s.utilization.push(invoked("fresh", 0.0, 0.0, 0.0));
    s.utilization.push(invoked("rare", 1.0, 50.0, 50.0));
    let eval = evaluate(&s);
    let f = find(&eval, "lambda-unused", &function_arn("old-cron")).expect("never invoked");
    // No billing by function: an idle function costs nothing on demand, so nothing to show.
    assert_eq!(f.estimated_monthly_savings, Money::ZERO);
    assert_eq!(f.action, "delete");
    assert!(f.evidence.contains("no invocations in 30 days; last changed 200 days ago"));
    assert!(
        f.evidence.contains("savings not computed: an idle function costs nothing on demand"),
        "{}",
        f.evidence
    );
    assert!(find(&eval, "lambda-unused", &function_arn("fresh")).is_none(), "changed 10 days ago");
    assert!(find(&eval, "lambda-unused", &function_arn("rare")).is_none(), "invoked once");
}

#[test]
fn lambda_unused_saves_what_billing_shows_for_the_function() {
    let id = function_arn("provisioned");
    // 10 days at 0.50 (provisioned concurrency): 5.00 over 240 h, 15.208333 a 730-hour month.
    let csv = focus_bill("AWS Lambda", &id, "0.50", 10);
    let mut s = Snapshot::empty(now());
    s.billing = Some(
        read_focus_reader(csv.as_bytes(), Path::new("bill.csv"), FocusOptions::default()).unwrap(),
    );
    s.inventory.lambda_functions = vec![function("provisioned", 512, 30)];
    s.utilization.push(invoked("provisioned", 0.0, 0.0, 0.0));
    let eval = evaluate(&s);
    let f = find(&eval, "lambda-unused", &id).unwrap();
    assert_eq!(f.current_monthly_cost, Some(money("15.208333")));
    assert_eq!(f.estimated_monthly_savings, money("15.208333"));
    assert!(f.evidence.contains("from billing (10 days billed)"), "{}", f.evidence);
}

#[test]
fn s3_no_lifecycle_moves_the_old_bytes_to_standard_ia() {
    let mut s = Snapshot::empty(now());
    let mut with_rule = bucket("with-rule");
    (with_rule.lifecycle_rules, with_rule.lifecycle_rules_enabled) = (Some(1), Some(1));
    let mut tiered = bucket("tiered");
    tiered.intelligent_tiering_configs = Some(1);
    let mut unknown = bucket("unknown");
    unknown.lifecycle_rules = None;
    s.inventory.s3_buckets = vec![
        bucket("lake"),
        bucket("young"),
        bucket("thumbs"),
        with_rule,
        tiered,
        unknown,
        bucket("small"),
    ];
    s.utilization.push(stored("lake", 800.0, 500.0, 45, 2e6));
    s.utilization.push(stored("young", 800.0, 500.0, 10, 2e6));
    s.utilization.push(stored("thumbs", 500.0, 500.0, 45, 1e8));
    for name in ["with-rule", "tiered", "unknown"] {
        s.utilization.push(stored(name, 800.0, 500.0, 45, 2e6));
    }
    s.utilization.push(stored("small", 90.0, 90.0, 45, 2e6));
    let eval = evaluate(&s);
    let f = find(&eval, "s3-no-lifecycle", "arn:aws:s3:::lake").expect("800 GB, 45 days");
    // 500 GB were there 45 days ago (≥ 30): 500 × (0.023 − 0.0125) = 5.25 a month. Current cost
    // from the table: 800 GB × 0.023 = 18.40 (storage only).
    assert_eq!(f.estimated_monthly_savings, money("5.25"));
    assert_eq!(f.current_monthly_cost, Some(money("18.4")));
    assert_eq!(f.resource_type, "s3_bucket");
    assert_eq!(
        f.target.as_deref(),
        Some("Standard-IA after 30 days; abort incomplete multipart uploads after 7 days")
    );
    assert!(f.evidence.contains("800 GB in S3 Standard (2000000 objects)"), "{}", f.evidence);
    // 2,000,000 transitions × 0.01 / 1000 = 20.00 once.
    assert!(f.evidence.contains("≈ 20 once"), "{}", f.evidence);

    let young = find(&eval, "s3-no-lifecycle", "arn:aws:s3:::young").expect("fires, not priced");
    assert_eq!(young.estimated_monthly_savings, Money::ZERO);
    assert!(
        young.evidence.contains("savings not computed: the size history covers 10 days"),
        "{}",
        young.evidence
    );
    let thumbs = find(&eval, "s3-no-lifecycle", "arn:aws:s3:::thumbs").expect("small objects");
    assert_eq!(thumbs.estimated_monthly_savings, Money::ZERO);
    assert!(thumbs.evidence.contains("objects average 5 KB"), "{}", thumbs.evidence);
    for (name, why) in [
        ("with-rule", "has a lifecycle rule"),
        ("tiered", "Intelligent-Tiering configured"),
        ("unknown", "lifecycle not read"),
        ("small", "90 GB, under 100"),
    ] {
        assert!(find(&eval, "s3-no-lifecycle", &format!("arn:aws:s3:::{name}")).is_none(), "{why}");
    }
}

#[test]
fn a_bucket_billed_by_its_bare_name_takes_its_cost_from_billing() {
    // AWS's own exports name a bucket without the ARN. 10 days at 1.00: 30.416667 a month.
    let csv = focus_bill("Amazon Simple Storage Service", "billed-lake", "1.00", 10);
    let mut s = Snapshot::empty(now());
    s.billing = Some(
        read_focus_reader(csv.as_bytes(), Path::new("bill.csv"), FocusOptions::default()).unwrap(),
    );
    s.inventory.s3_buckets = vec![bucket("billed-lake")];
    s.utilization.push(stored("billed-lake", 800.0, 500.0, 45, 2e6));
    let eval = evaluate(&s);
    let f = find(&eval, "s3-no-lifecycle", "arn:aws:s3:::billed-lake").unwrap();
    assert_eq!(f.current_monthly_cost, Some(money("30.416667")));
    assert_eq!(f.estimated_monthly_savings, money("5.25"));
}
