//! Commitments from FOCUS: the specification's own commitment scenarios give the utilization
//! and coverage their rows describe, generated files give hand-computed purchase advice, bad
//! data gives messages, and the two commitment rules fire and stay silent where they should.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common_rules;

use std::path::{Path, PathBuf};

use costscope::analysis::commitments::{
    CommitmentParams, CommitmentsReport, CoverageBasis, analyse,
};
use costscope::model::{BillingSummary, Grain, Money};
use costscope::pricing::{CommitmentRates, Payment};
use costscope::source::focus::{FocusOptions, read_focus_files};

fn m(s: &str) -> Money {
    Money::parse(s).unwrap()
}

fn spec(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/focus-spec")
        .join(format!("commitment_discount_{name}.csv"))
}

fn read(path: &Path) -> BillingSummary {
    read_focus_files(
        &[path.to_path_buf()],
        FocusOptions { grain: Grain::FULL, ..Default::default() },
    )
    .unwrap()
}

fn analysed(path: &Path, params: &CommitmentParams) -> CommitmentsReport {
    analyse(&read(path), &CommitmentRates::builtin().unwrap(), params)
}

fn spec_report(name: &str) -> CommitmentsReport {
    analysed(&spec(name), &CommitmentParams::default())
}

/// (used, unused, utilization) of the only commitment.
fn utilization(r: &CommitmentsReport) -> (Money, Money, Option<Money>) {
    assert_eq!(r.commitments.len(), 1, "{:?}", r.commitments);
    let c = &r.commitments[0];
    assert_eq!(c.id, "<my-commitment-discount-id>");
    (c.used, c.unused, c.utilization)
}

/// (covered, on demand, coverage, basis) of the only coverage group.
fn coverage(r: &CommitmentsReport) -> (Money, Money, Option<Money>, CoverageBasis) {
    assert_eq!(r.coverage.len(), 1, "{:?}", r.coverage);
    let c = &r.coverage[0];
    (c.covered, c.on_demand, c.coverage, c.basis)
}

#[test]
fn usage_scenarios_give_the_utilization_and_coverage_the_spec_describes() {
    // 1: one hour fully used (EffectiveCost 1.00, Used).
    let r = spec_report("scenarios__commitment_discount_usage_scenario_1");
    assert_eq!(utilization(&r), (m("1"), m("0"), Some(m("1"))));
    assert_eq!(coverage(&r), (m("1"), m("0"), Some(m("1")), CoverageBasis::EffectiveCost));
    // 2: nothing used: the Unused row carries the whole hour; no usage to cover.
    let r = spec_report("scenarios__commitment_discount_usage_scenario_2");
    assert_eq!(utilization(&r), (m("0"), m("1"), Some(m("0"))));
    assert!(r.coverage.is_empty());
    // 0 % for the hour: 1.00 unused over an hour is 730 / 24 × 1.00 a month = 30.416667.
    assert_eq!(r.commitments[0].unused_monthly, m("30.416667"));
    // 3: 0.75 used, 0.25 unused → 75 %.
    let r = spec_report("scenarios__commitment_discount_usage_scenario_3");
    assert_eq!(utilization(&r), (m("0.75"), m("0.25"), Some(m("0.75"))));
    // 4: the commitment covers 1.00, and 0.50 more ran on demand: coverage 1 / 1.5.
    let r = spec_report("scenarios__commitment_discount_usage_scenario_4");
    assert_eq!(utilization(&r), (m("1"), m("0"), Some(m("1"))));
    assert_eq!(coverage(&r), (m("1"), m("0.5"), Some(m("0.666667")), CoverageBasis::EffectiveCost));
    // The scope's totals: 1.00 covered (no ListCost, so at EffectiveCost) and 0.50 on demand;
    // no provider named, so no advice, and the reason says so.
    assert_eq!(r.scopes[0].covered_total, m("1"));
    assert_eq!(r.scopes[0].on_demand_total, m("0.5"));
    let why = r.scopes[0].no_advice.as_deref().unwrap();
    assert!(why.contains("names no provider"), "{why}");
    // No ServiceCategory column: the report says every usage row counted as compute.
    assert!(r.notes.iter().any(|n| n.contains("ServiceCategory")), "{:?}", r.notes);
}

#[test]
fn flexibility_scenarios_value_coverage_at_list_prices() {
    // A small-VM commitment (0.50 an hour, recurring) fully used by a third of a large VM; the
    // rest of the large VM (list 2.25) ran on demand. At list prices: 3.00 / (3.00 + 2.25).
    let r = spec_report(
        "flexibility__one_hundred_percent_utilization_with_commitment_discount_flexibility_with_1_resource",
    );
    assert_eq!(utilization(&r), (m("0.5"), m("0"), Some(m("1"))));
    assert_eq!(r.commitments[0].purchase_recurring, m("0.5"));
    assert_eq!(coverage(&r), (m("3"), m("2.25"), Some(m("0.571429")), CoverageBasis::ListCost));
    // Two medium VMs share an XL commitment: 1.00 + 1.00 used of 2.00, all usage covered.
    let r = spec_report(
        "flexibility__one_hundred_percent_utilization_with_commitment_discount_flexibility_with_2_resources",
    );
    assert_eq!(utilization(&r), (m("2"), m("0"), Some(m("1"))));
    assert_eq!(coverage(&r), (m("4"), m("0"), Some(m("1")), CoverageBasis::ListCost));
    let r = spec_report(
        "flexibility__one_hundred_percent_utilization_without_commitment_discount_flexibility",
    );
    assert_eq!(utilization(&r), (m("1.5"), m("0"), Some(m("1"))));
    // A large-VM commitment nothing used, while a medium VM ran on demand: 0 % either way.
    let r = spec_report(
        "flexibility__zero_percent_utilization_without_commitment_discount_flexibility",
    );
    assert_eq!(utilization(&r), (m("0"), m("1.5"), Some(m("0"))));
    assert_eq!(coverage(&r), (m("0"), m("2"), Some(m("0")), CoverageBasis::ListCost));
    // 1.50 unused in the day observed → 1.50 × 730 / 24 = 45.625 a month.
    assert_eq!(r.commitments[0].unused_monthly, m("45.625"));
}

#[test]
fn purchase_scenarios_give_the_fee_and_the_term_end_but_no_utilization() {
    // 1: 8,760 paid once for a year: the term ends at the purchase row's ChargePeriodEnd.
    let r = spec_report("scenarios__commitment_discount_purchase_scenario_1");
    let c = &r.commitments[0];
    assert_eq!(c.purchase_one_time, m("8760"));
    assert_eq!(c.term_end, chrono::NaiveDate::from_ymd_opt(2024, 1, 1));
    assert_eq!(c.utilization, None);
    assert!(c.problems.iter().any(|p| p.contains("no usage row")), "{:?}", c.problems);
    // 2: three recurring 1.00 fees (one row's ChargePeriodEnd says hour 30: ignored, only a
    // one-time purchase's end is read).
    let r = spec_report("scenarios__commitment_discount_purchase_scenario_2");
    assert_eq!(r.commitments[0].purchase_recurring, m("3"));
    assert_eq!(r.commitments[0].term_end, None);
    // 3: partial upfront: 4,380 once and 0.50 three times.
    let r = spec_report("scenarios__commitment_discount_purchase_scenario_3");
    assert_eq!(r.commitments[0].purchase_one_time, m("4380"));
    assert_eq!(r.commitments[0].purchase_recurring, m("1.5"));
}

const HEADER: &str = "BilledCost,EffectiveCost,ListCost,BillingCurrency,ProviderName,ServiceName,ServiceCategory,SubAccountId,RegionId,ResourceId,ResourceType,ChargeCategory,ChargeFrequency,PricingCategory,CommitmentDiscountId,CommitmentDiscountStatus,ChargePeriodStart,ChargePeriodEnd\n";

/// One day of hourly rows: `on_demand[h]` of EC2 on demand in hour h, plus a volume (not
/// eligible) and an ECR repository (not eligible) every hour.
fn hourly_file(dir: &Path, on_demand: &[&str; 24]) -> PathBuf {
    let mut text = HEADER.to_string();
    for (h, cost) in on_demand.iter().enumerate() {
        let start = format!("2026-10-01T{h:02}:00:00Z");
        let end = if h == 23 {
            "2026-10-02T00:00:00Z".to_string()
        } else {
            format!("2026-10-01T{:02}:00:00Z", h + 1)
        };
        text += &format!(
            "{cost},{cost},{cost},USD,AWS,Amazon Elastic Compute Cloud,Compute,222222222222,us-east-1,i-1,Instance,Usage,Usage-Based,Standard,,,{start},{end}\n"
        );
        text += &format!(
            "5,5,5,USD,AWS,Amazon Elastic Compute Cloud,Compute,222222222222,us-east-1,vol-1,Volume,Usage,Usage-Based,Standard,,,{start},{end}\n"
        );
        text += &format!(
            "7,7,7,USD,AWS,Amazon EC2 Container Registry (ECR),Compute,222222222222,us-east-1,repo,Repository,Usage,Usage-Based,Standard,,,{start},{end}\n"
        );
    }
    let path = dir.join("hourly.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn purchase_advice_follows_the_hourly_baseline() {
    let dir = tempfile::tempdir().unwrap();
    // 20 hours at 10 and 4 night hours at 2: the p10 of 24 hours is the 3rd lowest (nearest
    // rank ceil(2.4) = 3): 2 an hour.
    let mut hours = ["10"; 24];
    for h in [0, 1, 2, 3] {
        hours[h] = "2";
    }
    let path = hourly_file(dir.path(), &hours);
    let r = analysed(&path, &CommitmentParams::default());
    let scope = &r.scopes[0];
    assert_eq!(scope.id, "AWS compute (USD)");
    assert_eq!(scope.granularity, "hourly");
    assert_eq!(scope.on_demand_per_hour.len(), 24);
    // Volumes and ECR are not eligible: only the instance's 20 × 10 + 4 × 2 = 208 counts.
    assert_eq!(scope.on_demand_total, m("208"));
    let a = scope.advice.as_ref().unwrap();
    assert_eq!(a.baseline_per_hour, m("2"));
    // 1-year no upfront, 29 % off: commit 2 × 0.71 = 1.42 an hour; save 2 × 0.29 × 730 = 423.4.
    assert_eq!(a.commitment_per_hour, m("1.42"));
    assert_eq!(a.monthly_savings, m("423.4"));
    assert_eq!(a.break_even_utilization, m("0.71"));
    assert_eq!(a.upfront, m("0"));
    assert_eq!(a.payback_months, None);

    // All upfront, 33 % off: commit 1.34 an hour, 1.34 × 8,760 = 11,738.40 paid now, which
    // the 2 × 730 = 1,460 a month no longer paid on demand repays in 8.04 months.
    let params = CommitmentParams { payment: Payment::AllUpfront, ..CommitmentParams::default() };
    let a = analysed(&path, &params).scopes[0].advice.clone().unwrap();
    assert_eq!(a.commitment_per_hour, m("1.34"));
    assert_eq!(a.upfront, m("11738.4"));
    assert_eq!(a.payback_months, Some(m("8.04")));

    // The p50 is the 12th lowest: 10 an hour.
    let params = CommitmentParams { baseline_percentile: 50.0, ..CommitmentParams::default() };
    let a = analysed(&path, &params).scopes[0].advice.clone().unwrap();
    assert_eq!(a.baseline_per_hour, m("10"));
}

#[test]
fn no_steady_usage_means_no_advice_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    // Three busy hours, idle otherwise: the p10 is zero.
    let mut hours = ["0"; 24];
    for h in [9, 10, 11] {
        hours[h] = "40";
    }
    let path = hourly_file(dir.path(), &hours);
    let r = analysed(&path, &CommitmentParams::default());
    assert!(r.scopes[0].advice.is_none());
    let why = r.scopes[0].no_advice.as_deref().unwrap();
    assert!(why.contains("p10") && why.contains("zero"), "{why}");
}

#[test]
fn bad_commitment_data_gets_messages_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    // A commitment with usage rows but no purchase, and a negative Unused correction.
    let rows = [
        "0,3,3,USD,AWS,Amazon Elastic Compute Cloud,Compute,1,us-east-1,i-1,Instance,Usage,Usage-Based,Committed,sp-1,Used,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z",
        "0,-1,0,USD,AWS,Savings Plans for AWS Compute usage,Compute,1,,sp-1,Savings Plan,Usage,Usage-Based,Committed,sp-1,Unused,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z",
    ];
    std::fs::write(&path, format!("{HEADER}{}\n", rows.join("\n"))).unwrap();
    let r = analysed(&path, &CommitmentParams::default());
    let c = &r.commitments[0];
    assert!(c.problems.iter().any(|p| p.contains("no purchase row")), "{:?}", c.problems);
    assert!(c.problems.iter().any(|p| p.contains("negative")), "{:?}", c.problems);
    // 3 used of 3 - 1 = 2: the used share is capped by nothing; reported as computed.
    assert_eq!(c.used, m("3"));
    assert_eq!(c.unused, m("-1"));
    assert_eq!(c.unused_monthly, m("0"));
}

#[test]
fn commitment_rules_fire_with_hand_computed_savings_and_stay_silent_otherwise() {
    use common_rules::{evaluate_billing, find};
    // Zero utilization: 1.50 unused in the day → 45.625 a month unused.
    let findings = evaluate_billing(read(&spec(
        "flexibility__zero_percent_utilization_without_commitment_discount_flexibility",
    )));
    let f = find(&findings, "commitment-underutilized", "<my-commitment-discount-id>").unwrap();
    assert_eq!(f.estimated_monthly_savings, m("45.625"));
    assert!(f.evidence.contains("used 0%"), "{}", f.evidence);
    // Fully used: silent.
    let findings = evaluate_billing(read(&spec("scenarios__commitment_discount_usage_scenario_1")));
    assert!(find(&findings, "commitment-underutilized", "<my-commitment-discount-id>").is_none());

    // Steady on-demand EC2: 2 an hour at least → 423.4 a month on a 1-year no-upfront plan.
    let dir = tempfile::tempdir().unwrap();
    let mut hours = ["10"; 24];
    for h in [0, 1, 2, 3] {
        hours[h] = "2";
    }
    let findings = evaluate_billing(read(&hourly_file(dir.path(), &hours)));
    let f = find(&findings, "commitment-purchase", "AWS compute (USD)").unwrap();
    assert_eq!(f.estimated_monthly_savings, m("423.4"));
    assert_eq!(f.target.as_deref(), Some("1.42 USD/hour 1-year no_upfront plan"));
    // Bursty usage: the baseline is zero, nothing to buy.
    let mut hours = ["0"; 24];
    for h in [9, 10, 11] {
        hours[h] = "40";
    }
    let findings = evaluate_billing(read(&hourly_file(dir.path(), &hours)));
    assert!(find(&findings, "commitment-purchase", "AWS compute (USD)").is_none());
}

fn costscope() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("costscope").unwrap();
    cmd.env("XDG_CONFIG_HOME", "/nonexistent-costscope-test")
        .env("XDG_DATA_HOME", "/nonexistent-costscope-test");
    cmd
}

/// What a successful run printed.
fn stdout_of(args: &[&str]) -> String {
    let out = costscope().args(args).assert().success().get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn the_commitments_command_prints_each_table_in_each_format() {
    let text = stdout_of(&["commitments", "--sample", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "commitment_id");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    // The savings plan and the two reservations, by id.
    assert_eq!(rows.len(), 3);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let plan = rows.iter().find(|r| r[col("name")] == *"compute-sp-2025").unwrap();
    // The sample's plan over September and October: 675.91584 + 898.87104 used, 281.68416 +
    // 90.64896 unused (sums of the CSV's EffectiveCost by status, in samples/README.md), and
    // the unused part per month, not per two months: 372.33312 × 730 / (24 × 61).
    assert_eq!(&plan[col("used")], "1574.78688");
    assert_eq!(&plan[col("unused")], "372.33312");
    assert_eq!(&plan[col("utilization_percent")], "80.8778");
    assert_eq!(&plan[col("unused_monthly")], "185.657908");
    // A reservation paid upfront: 522 / 365 a day for 61 days, all used; its term end from the
    // purchase row.
    let ri = rows.iter().find(|r| r[col("name")] == *"ri-batch-m5-large").unwrap();
    assert_eq!(&ri[col("used")], "87.2383561643");
    assert_eq!(&ri[col("term_end")], "2026-11-21");

    let coverage =
        stdout_of(&["commitments", "--sample", "--format", "csv", "--table", "coverage"]);
    assert!(coverage.starts_with("provider,service,account_id,region,covered,on_demand"));
    assert!(coverage.contains("AWS,Amazon Elastic Compute Cloud,222222222222,us-east-1,"));

    let purchase =
        stdout_of(&["commitments", "--sample", "--format", "csv", "--table", "purchase"]);
    assert!(purchase.contains("AWS compute (USD),AWS,daily,"), "{purchase}");

    let json = stdout_of(&["commitments", "--sample", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["commitments"][0]["kind"], "Reserved Instance");
    assert_eq!(v["commitments"][2]["kind"], "Compute Savings Plan");
    // p10 (7th lowest of 61 days, an October day) 178.9379232634 / 24 = 7.455746802641666667 an hour × 0.29 × 730.
    assert_eq!(v["scopes"][0]["advice"]["monthly_savings"], "1578.381598");

    costscope()
        .args(["commitments", "--sample", "--format", "markdown"])
        .assert()
        .success()
        .stdout(predicates::str::contains("## What to buy"))
        .stdout(predicates::str::contains("compute-sp-2025"));

    // Without billing (the sample's inventory snapshot alone) there is nothing to analyse:
    // bad usage, exit 2, and the message says what to give.
    costscope()
        .args(["commitments", "--snapshot"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/snapshot.json"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--focus"));
}

#[test]
fn the_report_carries_commitments_in_json_and_markdown() {
    let json = stdout_of(&["report", "--sample", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["commitments"]["commitments"].as_array().unwrap().len(), 3);
    costscope()
        .args(["report", "--sample", "--format", "markdown"])
        .assert()
        .success()
        .stdout(predicates::str::contains("## Commitments"))
        .stdout(predicates::str::contains("### What to buy"));
}
