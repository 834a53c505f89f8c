//! `costscope anomalies` on a generated five-week FOCUS file with one real spike: found on its
//! day with the excess built into the data and the resource that caused it; a small blip under
//! the floor and a big purchase are not anomalies; `--fail-on-anomaly` and `--since` gate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use chrono::{Datelike, Days, NaiveDate, Weekday};

const HEADER: &str = "BilledCost,EffectiveCost,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,ServiceName,SubAccountId,ChargeCategory,ResourceId";

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_costscope")).args(args).output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code(), text(out.stdout).replace("\r\n", "\n"), text(out.stderr))
}

/// 35 days from 2026-09-01: EC2 i-a 1000 on weekdays and 600 at weekends; on Wednesday
/// 2026-09-30 a new instance i-new adds 800. S3 20 a day, 50 on 2026-09-25 (+30, under the
/// 50 floor). A 5,000 EC2 purchase on 2026-09-20.
fn write_billing(dir: &std::path::Path) -> std::path::PathBuf {
    let mut rows = vec![HEADER.to_string()];
    let start = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
    let row = |day: NaiveDate, cost: &str, service: &str, category: &str, resource: &str| {
        format!(
            "{cost},{cost},{day}T00:00:00Z,{day}T23:59:59Z,USD,{service},111122223333,{category},{resource}"
        )
    };
    for i in 0..35 {
        let day = start.checked_add_days(Days::new(i)).unwrap();
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        rows.push(row(day, if weekend { "600" } else { "1000" }, "EC2", "Usage", "i-a"));
        let s3 = if day.to_string() == "2026-09-25" { "50" } else { "20" };
        rows.push(row(day, s3, "S3", "Usage", "bucket"));
        if day.to_string() == "2026-09-30" {
            rows.push(row(day, "800", "EC2", "Usage", "i-new"));
        }
        if day.to_string() == "2026-09-20" {
            rows.push(row(day, "5000", "EC2", "Purchase", ""));
        }
    }
    let file = dir.join("five-weeks.csv");
    std::fs::write(&file, rows.join("\n") + "\n").unwrap();
    file
}

#[test]
fn the_spike_is_found_with_its_resource_and_nothing_else_is() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_billing(dir.path());
    let path = file.to_str().unwrap();
    let (code, csv, err) = run(&["anomalies", "--focus", path, "--by", "service"]);
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "day,group,currency,actual,expected,excess,score_mads,since,top_resources"
    );
    // Wednesdays before it were all 1000: expected 1000, excess 800, a flat history (no score).
    assert_eq!(lines[1], "2026-09-30,EC2,USD,1800,1000,800,,2026-09-30,i-new +800");
    assert_eq!(lines.len(), 2, "{csv}");
    let (_, json, _) = run(&["anomalies", "--focus", path, "--by", "service", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let purchase = v["non_usage"].as_array().unwrap();
    assert_eq!(purchase.len(), 1);
    assert_eq!(
        (purchase[0]["day"].as_str(), purchase[0]["billed_cost"].as_str()),
        (Some("2026-09-20"), Some("5000"))
    );
    let (code, _, _) = run(&["anomalies", "--focus", path, "--fail-on-anomaly"]);
    assert_eq!(code, Some(4));
    // A daily cron looks at the last day only: nothing new there.
    let (code, csv, _) =
        run(&["anomalies", "--focus", path, "--fail-on-anomaly", "--since", "2026-10-05"]);
    assert_eq!(code, Some(0));
    assert_eq!(csv.lines().count(), 1, "{csv}");
    let (_, md, _) =
        run(&["anomalies", "--focus", path, "--by", "service", "--format", "markdown"]);
    assert!(
        md.contains("| 2026-09-30 | EC2 | 1,800.00 USD | 1,000.00 | +800.00 | i-new +800.00 |"),
        "{md}"
    );
}

#[test]
fn a_stricter_config_hides_the_spike_and_a_bad_one_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_billing(dir.path());
    let config = dir.path().join("costscope.toml");
    std::fs::write(&config, "[anomalies]\nmin_excess = \"900\"\n").unwrap();
    let args =
        ["anomalies", "--focus", file.to_str().unwrap(), "--config", config.to_str().unwrap()];
    let (code, csv, err) = run(&args);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(csv.lines().count(), 1, "{csv}");
    std::fs::write(&config, "[anomalies]\nwindow_days = 3\nmin_excess = \"-1\"\n").unwrap();
    let (code, _, err) = run(&args);
    assert_eq!(code, Some(2));
    assert!(err.contains("costscope.toml:3"), "{err}");
}

/// `report` reads the full grain, whose only dated figures are the daily rollup: it finds the
/// same anomalies as the command (same day, group, amounts), keeps the purchase apart, and
/// points to the command for the resources that moved. Its overview forecasts October from
/// the usage alone: the September purchase is not repeated.
#[test]
fn the_report_carries_the_anomalies_and_a_forecast_of_usage() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_billing(dir.path());
    let path = file.to_str().unwrap();
    let (_, json, _) = run(&["anomalies", "--focus", path, "--format", "json"]);
    let command: serde_json::Value = serde_json::from_str(&json).unwrap();
    let (code, json, err) = run(&["report", "--focus", path, "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let a = &report["anomalies"];
    assert_eq!(a["basis"], "daily_rollup");
    assert_eq!(
        (a["usage_separated"].as_bool(), a["resource_detail"].as_bool()),
        (Some(true), Some(false))
    );
    let strip = |list: &serde_json::Value| -> Vec<serde_json::Value> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|x| {
                let mut x = x.clone();
                x.as_object_mut().unwrap().remove("resources");
                x
            })
            .collect()
    };
    assert_eq!(strip(&a["anomalies"]), strip(&command["anomalies"]));
    assert_eq!(a["anomalies"].as_array().unwrap().len(), 1);
    assert_eq!(a["anomalies"][0]["day"], "2026-09-30");
    assert_eq!(a["anomalies"][0]["excess"], "800");
    assert_eq!(a["non_usage"], command["non_usage"]);

    // October 1–5 (Thursday to Monday): i-a 1000 on three weekdays and 600 on two weekend
    // days, S3 20 a day: 4,300 to date, all usage.
    let [ov] = report["overview"].as_array().unwrap().clone().try_into().unwrap();
    let f = &ov["forecast"];
    assert_eq!((f["as_of"].as_str(), f["days_remaining"].as_u64()), (Some("2026-10-05"), Some(26)));
    assert_eq!(
        (f["actual_to_date"].as_str(), f["actual_usage"].as_str()),
        (Some("4300"), Some("4300"))
    );
    // The September purchase may be a monthly fee: with no August in the data the model cannot
    // tell, so it expects it again on October 20 in the point estimate, unconfirmed, and leaves
    // it out of the range's low end.
    assert_eq!(f["expected_charges"], "5000");
    assert_eq!(f["expected"][0]["day"], "2026-10-20");
    assert_eq!(f["expected"][0]["confirmed"], false);
    let money = |v: &serde_json::Value| v.as_str().unwrap().parse::<f64>().unwrap();
    // The 26 days left are 19 weekdays at 1,020 and 7 weekend days at 620: 4,300 + 23,720 +
    // 5,000 = 33,020 when the weekday pattern holds and the one-day spike of September 30 is
    // not taken for a new level.
    let total = money(&f["total"]);
    assert!((total - 33_020.0).abs() < 28_020.0 * 0.01, "{total}");
    assert!(money(&f["low"]) < total - 5_000.0 + 1.0, "{f}");
    assert!(money(&f["low"]) <= total && total <= money(&f["high"]));
    assert_eq!(ov["forecast_month_end"], f["total"]);

    // The same file with FOCUS's ChargeFrequency: the purchase says it is one-time, so it is
    // not expected again, and the usage forecast is unchanged.
    let text = std::fs::read_to_string(&file).unwrap();
    let mut with_frequency = String::new();
    for (i, line) in text.lines().enumerate() {
        let frequency = match i {
            0 => "ChargeFrequency",
            _ if line.contains(",Purchase,") => "One-Time",
            _ => "Usage-Based",
        };
        with_frequency.push_str(&format!("{line},{frequency}\n"));
    }
    let marked = dir.path().join("with-frequency.csv");
    std::fs::write(&marked, with_frequency).unwrap();
    let (code, json, err) =
        run(&["report", "--focus", marked.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let g = &report["overview"][0]["forecast"];
    assert_eq!(g["expected_charges"], "0");
    assert_eq!(g["usage_remaining"], f["usage_remaining"]);
    assert!((money(&g["total"]) - (total - 5_000.0)).abs() < 0.005, "{g}");

    let (_, md, _) = run(&["report", "--focus", path, "--format", "markdown"]);
    assert!(md.contains("- Spend anomalies: **1** (largest EC2 / 111122223333 on 2026-09-30: +800.00 USD over 1,000.00 expected)"), "{md}");
    assert!(md.contains("| 2026-09-30 | EC2 / 111122223333 | 1,800.00 USD | 1,000.00 | +800.00 | (run `costscope anomalies`) |"), "{md}");
    assert!(md.contains("- Purchase: 5,000.00 USD (1 charge)"), "{md}");
    assert!(md.contains("- Forecast for the month: **"), "{md}");
}
