//! The monthly review on the bundled sample (September and October 2026): `trends`, `anomalies`
//! and `budgets --sample` against sums computed here straight from the CSV, and the events
//! planted in October (src/samplegen/planted.rs) found, with nothing else.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_costscope")).args(args).output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code(), text(out.stdout).replace("\r\n", "\n"), text(out.stderr))
}

fn stdout_of(args: &[&str]) -> String {
    let (code, out, err) = run(args);
    assert_eq!(code, Some(0), "{args:?}: {err}");
    out
}

/// A decimal as an integer of 10^-18 units (the sample has at most 10 decimals).
fn scaled(text: &str) -> i128 {
    let (neg, digits) = text.strip_prefix('-').map_or((false, text), |d| (true, d));
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let v = int.parse::<i128>().unwrap() * 10i128.pow(18)
        + format!("{frac:0<18}").parse::<i128>().unwrap();
    if neg { -v } else { v }
}

fn show(v: i128) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    let (int, frac) = (a / 10u128.pow(18), a % 10u128.pow(18));
    if frac == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{}", format!("{frac:018}").trim_end_matches('0'))
    }
}

struct Row {
    billed: i128,
    day: String,
    service: String,
    account: String,
    resource: String,
    category: String,
    frequency: String,
    team: Option<String>,
}

fn sample_rows() -> Vec<Row> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/focus-2026-09-10.csv.gz");
    let bytes = std::fs::read(path).unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut text).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (billed, start, service, account, resource, category, tags, frequency) = (
        col("BilledCost"),
        col("ChargePeriodStart"),
        col("ServiceName"),
        col("SubAccountId"),
        col("ResourceId"),
        col("ChargeCategory"),
        col("Tags"),
        col("ChargeFrequency"),
    );
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let team = if r[tags].is_empty() || &r[tags] == "NULL" {
                None
            } else {
                let v: serde_json::Value = serde_json::from_str(&r[tags]).unwrap();
                v.get("team").and_then(|t| t.as_str()).map(str::to_string)
            };
            Row {
                billed: scaled(&r[billed]),
                day: r[start][..10].to_string(),
                service: r[service].to_string(),
                account: r[account].to_string(),
                resource: r[resource].to_string(),
                category: r[category].to_string(),
                frequency: r[frequency].to_string(),
                team,
            }
        })
        .collect()
}

fn csv_records(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers.iter().zip(r.iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect()
        })
        .collect()
}

const PROD: &str = "222222222222";
const CLOUDFRONT: &str = "Amazon CloudFront";
const RDS: &str = "Amazon Relational Database Service";
const NEW_DB: &str = "arn:aws:rds:us-east-1:222222222222:db:ml-feature-store-prod";

#[test]
fn trends_compare_october_with_september_to_the_last_digit() {
    let mut by_month: BTreeMap<(String, bool), i128> = BTreeMap::new();
    let mut days = BTreeSet::new();
    for r in sample_rows() {
        days.insert(r.day.clone());
        *by_month.entry((r.service, r.day.starts_with("2026-10"))).or_default() += r.billed;
    }
    // Two whole months, every day present.
    assert_eq!(days.len(), 30 + 31);
    assert_eq!(
        (days.first().unwrap().as_str(), days.last().unwrap().as_str()),
        ("2026-09-01", "2026-10-31")
    );
    let out = stdout_of(&["trends", "--sample", "--period", "month", "--format", "csv"]);
    let rows = csv_records(&out);
    let services: BTreeSet<&String> = by_month.keys().map(|(s, _)| s).collect();
    assert_eq!(rows.len(), services.len());
    for row in &rows {
        let service = &row["service"];
        let previous = by_month.get(&(service.clone(), false)).copied().unwrap_or(0);
        let current = by_month.get(&(service.clone(), true)).copied().unwrap_or(0);
        assert_eq!(row["previous_cost"], show(previous), "{service}");
        assert_eq!(row["current_cost"], show(current), "{service}");
        assert_eq!(row["change"], show(current - previous), "{service}");
        assert_eq!(
            (row["previous_from"].as_str(), row["previous_to"].as_str()),
            ("2026-09-01", "2026-09-30")
        );
        assert_eq!(
            (row["current_from"].as_str(), row["current_to"].as_str()),
            ("2026-10-01", "2026-10-31")
        );
    }
    // The one-time purchase is a new group, and the biggest mover.
    assert_eq!(rows[0]["service"], "AWS Marketplace");
    assert_eq!((rows[0]["movement"].as_str(), rows[0]["current_cost"].as_str()), ("new", "3600"));
    // October = September's 31,848.43 plus 8,443.92 (the planted events among them).
    let total = |october: bool| -> i128 {
        by_month.iter().filter(|((_, o), _)| *o == october).map(|(_, v)| v).sum()
    };
    assert_eq!(show(total(false)), "31848.4252063247");
    assert_eq!(show(total(true)), "40292.3459706334");
    for format in ["json", "markdown"] {
        let text = stdout_of(&["trends", "--sample", "--format", format]);
        assert!(text.contains("AWS Marketplace"), "{format}");
    }
}

#[test]
fn anomalies_find_the_planted_spike_and_new_database_and_nothing_else() {
    let rows = sample_rows();
    // Usage of (service, prod) on a day, summed here.
    let usage = |service: &str, day: &str| -> i128 {
        rows.iter()
            .filter(|r| r.service == service && r.account == PROD && r.day == day)
            .filter(|r| r.category == "Usage")
            .map(|r| r.billed)
            .sum()
    };
    let out = stdout_of(&["anomalies", "--sample", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let found: Vec<(String, String, String)> = v["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["day"].as_str().unwrap().to_string(),
                a["group"]["service"].as_str().unwrap().to_string(),
                a["resources"][0]["resource_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let spiked = found.iter().find(|(_, s, _)| s == CLOUDFRONT).unwrap().2.clone();
    let mut planted = vec![
        ("2026-10-27".to_string(), CLOUDFRONT.to_string(), spiked.clone()),
        ("2026-10-28".to_string(), CLOUDFRONT.to_string(), spiked.clone()),
    ];
    // The database bills 96 a day from 20 October. The baseline is the median of the same
    // weekday over the 4 weeks before: it holds the old level to the 28th; from the 29th the
    // week before already carries the database, the spread widens and 96 is under 3 MADs.
    for d in 20..=28 {
        planted.push((format!("2026-10-{d}"), RDS.to_string(), NEW_DB.to_string()));
    }
    let mut sorted = found.clone();
    sorted.sort();
    planted.sort();
    assert_eq!(sorted, planted);
    for a in v["anomalies"].as_array().unwrap() {
        let (day, service) = (a["day"].as_str().unwrap(), a["group"]["service"].as_str().unwrap());
        assert_eq!(a["group"]["account_id"], PROD);
        assert_eq!(a["actual"].as_str().unwrap(), show(usage(service, day)), "{day} {service}");
    }
    // The spike's rows: 640 and 384 on top of the distribution's usage, which is in its own
    // rows of the same resource; the top mover's increase includes them.
    let first = &v["anomalies"].as_array().unwrap()[0];
    assert_eq!(
        (first["day"].as_str(), first["group"]["service"].as_str()),
        (Some("2026-10-27"), Some(CLOUDFRONT))
    );
    let increase = scaled(first["resources"][0]["increase"].as_str().unwrap());
    assert!(increase > scaled("640") && increase < scaled("650"), "{increase}");
    // RDS: exactly the new instance's 96 a day (4.00 an hour), on an unchanged baseline.
    let rds =
        v["anomalies"].as_array().unwrap().iter().find(|a| a["group"]["service"] == RDS).unwrap();
    assert_eq!(rds["resources"][0]["increase"], "96");
    assert_eq!(
        show(scaled(rds["actual"].as_str().unwrap()) - scaled(rds["expected"].as_str().unwrap())),
        "96"
    );

    // The one-time purchase is listed apart, with the other charges that are not usage.
    let purchase: Vec<&serde_json::Value> = v["non_usage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["group"]["service"] == "AWS Marketplace")
        .collect();
    assert_eq!(purchase.len(), 1);
    assert_eq!(
        (purchase[0]["day"].as_str(), purchase[0]["charge_category"].as_str()),
        (Some("2026-10-15"), Some("Purchase"))
    );
    let one_time: Vec<&Row> = rows.iter().filter(|r| r.service == "AWS Marketplace").collect();
    assert_eq!(one_time.len(), 1);
    assert_eq!(one_time[0].frequency, "One-Time");
    assert_eq!(purchase[0]["billed_cost"].as_str().unwrap(), show(one_time[0].billed));
    assert!(!found.iter().any(|(_, s, _)| s == "AWS Marketplace"));

    let csv = stdout_of(&["anomalies", "--sample", "--format", "csv"]);
    assert_eq!(csv.lines().count(), 1 + planted.len());
    let md = stdout_of(&["anomalies", "--sample", "--format", "markdown"]);
    assert!(
        md.contains(&format!("| 2026-10-27 | {CLOUDFRONT} / acme-prod (222222222222) |")),
        "{md}"
    );
    assert!(
        md.contains(
            "| 2026-10-15 | AWS Marketplace / acme-prod (222222222222) | Purchase | 3,600.00 USD |"
        ),
        "{md}"
    );
    // The gate for cron.
    let (code, _, _) = run(&["anomalies", "--sample", "--fail-on-anomaly"]);
    assert_eq!(code, Some(4));
}

#[test]
fn budgets_on_the_sample_use_its_config_and_show_team_ml_over() {
    let dir = tempfile::tempdir().unwrap();
    // A config without budgets: the sample's own are used.
    let config = dir.path().join("costscope.toml");
    std::fs::write(&config, "").unwrap();
    let config = config.to_str().unwrap();
    let rows = sample_rows();
    let october = |team: Option<&str>| -> i128 {
        rows.iter()
            .filter(|r| r.day.starts_with("2026-10"))
            .filter(|r| team.is_none() || r.team.as_deref() == team)
            .map(|r| r.billed)
            .sum()
    };
    let out = stdout_of(&["budgets", "--sample", "--config", config]);
    let got = csv_records(&out);
    let want = [
        ("acme", "all", None, "42000", "at_risk"),
        ("team ml", "tag:team=ml", Some("ml"), "2500", "over"),
        ("team data", "tag:team=data", Some("data"), "15000", "ok"),
        ("team web", "tag:team=web", Some("web"), "7000", "ok"),
    ];
    assert_eq!(got.len(), want.len());
    for (row, (name, scope, team, amount, status)) in got.iter().zip(want) {
        assert_eq!((row["budget"].as_str(), row["scope"].as_str()), (name, scope));
        assert_eq!(row["amount"], amount);
        let actual = october(team);
        assert_eq!(row["actual"], show(actual), "{name}");
        // October is whole: the forecast is the actual.
        assert_eq!(row["forecast"], row["actual"], "{name}");
        assert_eq!(row["variance"], show(actual - scaled(amount)), "{name}");
        assert_eq!(row["status"], status, "{name}");
        assert_eq!(
            (row["period_start"].as_str(), row["period_end"].as_str()),
            ("2026-10-01", "2026-10-31")
        );
    }
    // ml: 4,192.95 of 2,500, of which the new database's 1,192 (40 + 12 × 96) and the spike's
    // 1,024 (640 + 384), both tagged team=ml.
    assert_eq!(show(october(Some("ml"))), "4192.9522094159");
    let db: i128 = rows.iter().filter(|r| r.resource == NEW_DB).map(|r| r.billed).sum();
    assert_eq!(show(db), "1192");
    let (code, _, _) = run(&["budgets", "--sample", "--config", config, "--fail-on-budget"]);
    assert_eq!(code, Some(4));
    let md = stdout_of(&["budgets", "--sample", "--config", config, "--format", "markdown"]);
    assert!(
        md.contains("| team ml | month 2026-10-01..2026-10-31 | 2,500.00 USD | 4,192.95 (167.7 %)"),
        "{md}"
    );
    let json = stdout_of(&["budgets", "--sample", "--config", config, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["budgets"][1]["status"], "over");
}

/// The report's chargeback is `allocate`'s over the same period with the sample's
/// `[allocation] key`, and its teams, unallocated and idle lines add up to the bill, which is
/// the billed spend of `costs`, to the last digit.
#[test]
fn the_reports_chargeback_is_allocates_and_adds_up_to_the_bill() {
    let report: serde_json::Value =
        serde_json::from_str(&stdout_of(&["report", "--sample", "--format", "json"])).unwrap();
    let allocate: serde_json::Value =
        serde_json::from_str(&stdout_of(&["allocate", "--sample", "--format", "json"])).unwrap();
    let in_report = &report["allocation"];
    assert_eq!(in_report["key"], "team", "the sample's [allocation] key");
    assert_eq!(in_report["currencies"], allocate["currencies"]);
    let usd = &in_report["currencies"][0];
    let money = |v: &serde_json::Value| scaled(v.as_str().unwrap());
    let teams: i128 =
        usd["teams"].as_array().unwrap().iter().map(|t| money(&t["total_cost"])).sum();
    let bill = money(&usd["bill"]);
    assert_eq!(teams + money(&usd["unallocated"]) + money(&usd["idle"]), bill);
    assert_eq!(bill, money(&report["spend"][0]["billed_cost"]), "the bill is the billed spend");
    let names: Vec<&str> =
        usd["teams"].as_array().unwrap().iter().map(|t| t["team"].as_str().unwrap()).collect();
    for team in ["data", "web", "payments", "platform", "ml", "search", "growth"] {
        assert!(names.contains(&team), "{team} missing from {names:?}");
    }
}
