//! `costscope budgets` on the sample: each budget's actual equals what `costs` sums for its
//! scope, statuses follow the amounts, `--fail-on-budget` gates, and a bad budget names its line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_costscope")).args(args).output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code(), text(out.stdout).replace("\r\n", "\n"), text(out.stderr))
}

/// The billed cost of `key` in `costs --sample --by BY --format csv`.
fn cost_of(by: &str, key: &str) -> String {
    let (_, out, _) = run(&["costs", "--sample", "--by", by, "--format", "csv"]);
    let line = out.lines().find(|l| l.starts_with(&format!("{key},"))).unwrap();
    line.split(',').nth(1).unwrap().to_string()
}

const CONFIG: &str = r#"
[[budget]]
name = "whole bill"
amount = "50000"

[[budget]]
name = "compute"
amount = "15000"
scope = { service = "Amazon Elastic Compute Cloud" }

[[budget]]
name = "team web"
amount = "6000"
scope = { "tag:team" = "web" }
alerts = [{ at = 90, of = "forecast" }, { at = 100, of = "actual" }]
"#;

#[test]
fn each_budget_sums_its_scope_and_the_gate_fails_on_a_breach() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("costscope.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let config = config.to_str().unwrap();
    let (code, csv, err) = run(&["budgets", "--sample", "--config", config]);
    assert_eq!(code, Some(0), "{err}");
    let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
    let field = |row: &[&str], i: usize| row[i].to_string();
    // budget,scope,period,period_start,period_end,as_of,currency,amount,actual,...,status(14)
    let total: String = {
        let (_, out, _) = run(&["costs", "--sample", "--by", "provider", "--format", "csv"]);
        out.lines().nth(1).unwrap().split(',').nth(1).unwrap().to_string()
    };
    assert_eq!(field(&rows[0], 8), total);
    assert_eq!(field(&rows[1], 8), cost_of("service", "Amazon Elastic Compute Cloud"));
    assert_eq!(field(&rows[2], 8), cost_of("tag:team", "web"));
    // The sample is one whole month: the forecast is what was billed.
    for row in &rows {
        assert_eq!(row[10], row[8], "{row:?}");
        assert_eq!((row[2], row[3], row[4]), ("month", "2026-10-01", "2026-10-31"));
    }
    // 34,182.73 of 50,000 (68 %): ok; EC2 15,701.13 of 15,000: over; web 4,945.03 of 6,000
    // (82 %, under its 90 % forecast alert): ok.
    let statuses: Vec<&str> = rows.iter().map(|r| r[14]).collect();
    assert_eq!(statuses, ["ok", "over", "ok"]);
    assert_eq!(rows[1][15], "80% of forecast; 100% of actual");
    let (code, _, _) = run(&["budgets", "--sample", "--config", config, "--fail-on-budget"]);
    assert_eq!(code, Some(4));
    let (code, md, _) = run(&["budgets", "--sample", "--config", config, "--format", "markdown"]);
    assert_eq!(code, Some(0));
    assert!(
        md.contains(
            "| compute | month 2026-10-01..2026-10-31 | 15,000.00 USD | 15,701.13 (104.7 %)"
        ),
        "{md}"
    );
    let (_, json, _) = run(&["budgets", "--sample", "--config", config, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["budgets"][1]["status"], "over");
    assert_eq!(v["budgets"][2]["scope"]["tag:team"], "web");
}

#[test]
fn a_bad_budget_is_exit_2_naming_file_and_line_and_no_budget_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[[budget]]\nname = \"x\"\namount = \"-5\"\n").unwrap();
    let (code, _, err) = run(&["budgets", "--sample", "--config", config.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("bad.toml:3"), "{err}");
    let empty = dir.path().join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    let (code, _, err) = run(&["budgets", "--sample", "--config", empty.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no [[budget]]"), "{err}");
}

/// The report (read at the full grain, so tag budgets make it read the billing once more at
/// the budgets' grain) carries the same evaluations as `costscope budgets`, and its headline
/// counts them by status.
#[test]
fn the_report_carries_the_budgets_the_command_evaluates() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("costscope.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let config = config.to_str().unwrap();
    let (_, json, _) = run(&["budgets", "--sample", "--config", config, "--format", "json"]);
    let command: serde_json::Value = serde_json::from_str(&json).unwrap();
    let (code, json, err) = run(&["report", "--sample", "--config", config, "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["budgets"], command["budgets"]);
    let warnings = report["warnings"].as_array().unwrap();
    assert!(warnings.iter().all(|w| !w.as_str().unwrap().starts_with("budgets")), "{warnings:?}");
    let (_, md, _) = run(&["report", "--sample", "--config", config, "--format", "markdown"]);
    let over = command["budgets"].as_array().unwrap().iter().filter(|b| b["status"] == "over");
    assert_eq!(over.count(), 1);
    assert!(md.contains("- Budgets: **1 over**, 2 ok"), "{md}");
    assert!(md.contains("\n## Budgets\n"), "{md}");
    assert!(md.contains("\n### team web (tag:team=web)\n"), "{md}");
    // Without budgets in the config the report has no budget section.
    let (_, md, _) = run(&["report", "--sample", "--format", "markdown"]);
    assert!(!md.contains("Budgets"), "{md}");
}
