//! `costscope trends` on a small two-month FOCUS file: every figure checked against sums worked
//! out by hand from the rows below.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

const HEADER: &str = "BilledCost,EffectiveCost,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,ServiceName,SubAccountId,ChargeCategory";

fn row(day: &str, cost: &str, service: &str) -> String {
    format!("{cost},{cost},{day}T00:00:00Z,{day}T01:00:00Z,USD,{service},111122223333,Usage")
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_costscope")).args(args).output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code(), text(out.stdout), text(out.stderr))
}

#[test]
fn month_to_date_against_the_same_days_of_the_month_before() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("two-months.csv");
    let rows = [
        row("2026-10-01", "100.50", "EC2"),
        row("2026-10-09", "20", "EC2"),
        // After the 10th of October: outside the comparison with 1–10 November.
        row("2026-10-25", "5000", "EC2"),
        row("2026-10-03", "7.25", "S3"),
        row("2026-11-01", "150", "EC2"),
        row("2026-11-10", "0.50", "EC2"),
        row("2026-11-04", "12", "Lambda"),
    ];
    std::fs::write(&file, format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap();
    let path = file.to_str().unwrap();
    let (code, out, err) = run(&["trends", "--focus", path, "--format", "csv"]);
    assert_eq!(code, Some(0), "{err}");
    let out = out.replace("\r\n", "\n");
    // EC2 120.50 → 150.50 (+30, +24.8963 %), S3 7.25 → 0 (vanished), Lambda 0 → 12 (new);
    // ordered by the size of the change.
    let spans = "2026-10-01,2026-10-10,2026-11-01,2026-11-10";
    let want = format!(
        "service,currency,previous_cost,current_cost,change,change_ratio,movement,previous_from,previous_to,current_from,current_to\n\
         EC2,USD,120.5,150.5,30,0.248963,changed,{spans}\n\
         Lambda,USD,0,12,12,,new,{spans}\n\
         S3,USD,7.25,0,-7.25,-1,vanished,{spans}\n"
    );
    assert_eq!(out, want);
    // Totals 127.75 → 162.50: +34.75, +27.2016 %.
    let (_, json, _) = run(&["trends", "--focus", path, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let usd = &v["currencies"][0];
    assert_eq!(usd["previous_total"], "127.75");
    assert_eq!(usd["current_total"], "162.5");
    assert_eq!(usd["change_ratio"], "0.272016");
    assert_eq!(usd["top_up"], serde_json::json!(["EC2", "Lambda"]));
    assert_eq!(usd["top_down"], serde_json::json!(["S3"]));
    let (_, md, _) = run(&["trends", "--focus", path, "--format", "markdown"]);
    assert!(md.contains("# Trends by service: month over month"), "{md}");
    assert!(md.contains("| EC2 | 120.50 | 150.50 | +30.00 | +24.9 % |  |"), "{md}");
    assert!(md.contains("| Lambda | 0.00 | 12.00 | +12.00 | — | new |"), "{md}");
    // A week compares 4–10 November with 28 October – 3 November: EC2 0.50 against 150.
    let (_, week, _) = run(&["trends", "--focus", path, "--period", "week", "--format", "csv"]);
    assert!(
        week.contains(
            "EC2,USD,150,0.5,-149.5,-0.996667,changed,2026-10-28,2026-11-03,2026-11-04,2026-11-10"
        ),
        "{week}"
    );
}

#[test]
fn too_little_data_for_the_period_asked_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("short.csv");
    std::fs::write(&file, format!("{HEADER}\n{}\n", row("2026-11-10", "1", "EC2"))).unwrap();
    let (code, _, err) = run(&["trends", "--focus", file.to_str().unwrap(), "--period", "month"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("needs billing from 2026-10-01"), "{err}");
    let (code, out, err) = run(&["trends", "--sample", "--by", "day"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(err.contains("other than day"), "{err}");
}
