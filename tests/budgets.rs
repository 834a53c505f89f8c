//! `costscope budgets` on the sample: each budget's actual equals October's sum of its scope
//! (computed here from the CSV), statuses follow the amounts, `--fail-on-budget` gates, and a bad budget names its line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_costscope")).args(args).output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code(), text(out.stdout).replace("\r\n", "\n"), text(out.stderr))
}

/// October's BilledCost of the sample's rows that `keep` accepts (service, Tags cell), summed
/// exactly in 10^-10 units (the sample has at most 10 decimals), as costscope prints it.
fn october_sum(keep: impl Fn(&str, &str) -> bool) -> String {
    use std::io::Read;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/focus-2026-09-10.csv.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(&std::fs::read(path).unwrap()[..])
        .read_to_string(&mut text)
        .unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut total: i128 = 0;
    for r in reader.records() {
        let r = r.unwrap();
        // BilledCost(0), ServiceName(9), ChargePeriodStart(16), Tags(18)
        if !r[16].starts_with("2026-10") || !keep(&r[9], &r[18]) {
            continue;
        }
        let (neg, digits) = r[0].strip_prefix('-').map_or((false, &r[0]), |d| (true, d));
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let v = int.parse::<i128>().unwrap() * 10i128.pow(10)
            + format!("{frac:0<10}").parse::<i128>().unwrap();
        total += if neg { -v } else { v };
    }
    let (int, frac) = (total / 10i128.pow(10), total % 10i128.pow(10));
    let frac = format!("{frac:010}");
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") }
}

fn team_of(tags: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(tags).ok()?;
    v.get("team")?.as_str().map(str::to_string)
}

const CONFIG: &str = r#"
[[budget]]
name = "whole bill"
amount = "55000"

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
    assert_eq!(field(&rows[0], 8), october_sum(|_, _| true));
    assert_eq!(field(&rows[0], 8), "40292.3459706334");
    let ec2 = october_sum(|service, _| service == "Amazon Elastic Compute Cloud");
    assert_eq!(field(&rows[1], 8), ec2);
    assert_eq!(field(&rows[2], 8), october_sum(|_, tags| team_of(tags).as_deref() == Some("web")));
    // The budgets judge the month of the data's last day, October, which is whole: the
    // forecast is what was billed.
    for row in &rows {
        assert_eq!(row[10], row[8], "{row:?}");
        assert_eq!((row[2], row[3], row[4]), ("month", "2026-10-01", "2026-10-31"));
    }
    // 40,292.35 of 55,000 (73 %): ok; EC2 15,701.13 of 15,000: over; web 4,945.03 of 6,000
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
    // With --sample the sample's own budgets stand in (tests/sample_review.rs); a FOCUS file
    // of one's own needs [[budget]] tables.
    let focus = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/focus-2026-09-10.csv.gz");
    let (code, _, err) = run(&["budgets", "--focus", focus, "--config", empty.to_str().unwrap()]);
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
    // `--sample` brings the sample's own budgets when the config has none (team ml is over).
    let (_, md, _) = run(&["report", "--sample", "--format", "markdown"]);
    assert!(md.contains("\n### team ml (tag:team=ml)\n"), "{md}");
    // A billing file with a config without budgets: no budget section.
    let empty = dir.path().join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    let focus = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/focus-2026-09-10.csv.gz");
    let args = ["report", "--focus", focus, "--config", empty.to_str().unwrap()];
    let (_, md, _) = run(&[&args[..], &["--format", "markdown"]].concat());
    assert!(!md.contains("Budgets"), "{md}");
}
