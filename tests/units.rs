//! `costscope units`: the sample's units in every format, each figure checked against another
//! path to it (the sample's FOCUS rows read here, `trends`, `report`'s cluster figures), a
//! count unit worked out by hand, and bad configs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Read;
use std::process::Command;

use costscope::model::Money;
use serde_json::Value;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_costscope"))
        .args(args)
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .env_remove("HOME")
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code(), text(out.stdout), text(out.stderr))
}

fn json(args: &[&str]) -> Value {
    let (code, out, err) = run(args);
    assert_eq!(code, Some(0), "{err}");
    serde_json::from_str(&out).unwrap()
}

fn m(v: &Value) -> Money {
    Money::parse(v.as_str().unwrap_or_else(|| panic!("not money: {v}"))).unwrap()
}

fn unit<'a>(report: &'a Value, per: &str) -> &'a Value {
    report["units"].as_array().unwrap().iter().find(|u| u["per"] == per).unwrap()
}

fn rows<'a>(u: &'a Value, kind: &str) -> Vec<&'a Value> {
    u["rows"].as_array().unwrap().iter().filter(|r| r["kind"] == kind).collect()
}

/// EffectiveCost per (resource id, day) from the sample's FOCUS file, read here.
fn sample_effective_by_resource_day() -> BTreeMap<(String, String), Money> {
    let name = costscope::sample::BILLING_NAME.trim_start_matches("sample:");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let col = |n: &str| headers.iter().position(|h| h == n).unwrap();
    let (id, start, effective, billed) =
        (col("ResourceId"), col("ChargePeriodStart"), col("EffectiveCost"), col("BilledCost"));
    let mut out = BTreeMap::new();
    for row in reader.records() {
        let row = row.unwrap();
        if row[id].is_empty() {
            continue;
        }
        let cost = if row[effective].is_empty() { &row[billed] } else { &row[effective] };
        *out.entry((row[id].to_string(), row[start][..10].to_string())).or_insert(Money::ZERO) +=
            Money::parse(cost).unwrap();
    }
    out
}

#[test]
fn sample_units_agree_with_the_billing_rows_trends_and_the_cluster_report() {
    let report = json(&["units", "--sample", "--format", "json"]);
    let (from, to) = (
        report["current"]["from"].as_str().unwrap().to_string(),
        report["current"]["to"].as_str().unwrap().to_string(),
    );
    let period = report["period"].as_str().unwrap();
    let in_current = |d: &str| from.as_str() <= d && d <= to.as_str();

    // Per node: a node billing knows costs the sum of its rows' EffectiveCost in the period
    // (read from the FOCUS file here); one it does not costs its monthly price prorated.
    let cluster = json(&["report", "--sample", "--format", "json"]);
    let nodes_json = cluster["clusters"][0]["nodes"].as_array().unwrap();
    let billed = sample_effective_by_resource_day();
    let days = (chrono::NaiveDate::parse_from_str(&to, "%Y-%m-%d").unwrap()
        - chrono::NaiveDate::parse_from_str(&from, "%Y-%m-%d").unwrap())
    .num_days()
        + 1;
    let node_unit = unit(&report, "node");
    let mut node_total = Money::ZERO;
    let mut from_billing = 0;
    for n in nodes_json {
        let row = rows(node_unit, "unit").into_iter().find(|r| r["unit"] == n["name"]).unwrap();
        let monthly = m(&n["costs"]["monthly"]);
        assert_eq!(m(&row["monthly_cost"]), monthly);
        let want = if n["cost_source"]["source"] == "billing" {
            from_billing += 1;
            let id = n["instance_id"].as_str().unwrap();
            billed
                .iter()
                .filter(|((r, d), _)| r == id && in_current(d))
                .map(|(_, c)| *c)
                .sum::<Money>()
        } else {
            monthly.mul_ratio(24 * i128::from(days), 730).round_dp(6)
        };
        assert_eq!(m(&row["current_cost"]), want, "{}", n["name"]);
        node_total += want;
    }
    assert!(from_billing > 0, "the sample's EKS nodes are billed by day");
    let avg = rows(node_unit, "average")[0];
    assert_eq!(m(&avg["current_cost"]), node_total);
    assert_eq!(m(&avg["current_units"]), Money::from_units(nodes_json.len() as i64));

    // Per cluster: the nodes' sum.
    let cluster_row = rows(unit(&report, "cluster"), "unit")[0];
    assert_eq!(m(&cluster_row["current_cost"]), node_total);
    assert_eq!(m(&cluster_row["monthly_cost"]), m(&cluster["clusters"][0]["costs"]["monthly"]));

    // Per namespace: the namespaces and the idle row add up to the cluster; each namespace's
    // monthly figure is the sum of its workloads' in the report.
    let ns = unit(&report, "namespace");
    let units_and_idle: Money =
        rows(ns, "unit").into_iter().chain(rows(ns, "idle")).map(|r| m(&r["current_cost"])).sum();
    assert_eq!(units_and_idle, node_total);
    let mut by_ns: BTreeMap<&str, Money> = BTreeMap::new();
    for w in cluster["clusters"][0]["workloads"].as_array().unwrap() {
        *by_ns.entry(w["namespace"].as_str().unwrap()).or_default() += m(&w["monthly_cost"]);
    }
    assert_eq!(rows(ns, "unit").len(), by_ns.len());
    for r in rows(ns, "unit") {
        assert_eq!(m(&r["monthly_cost"]), by_ns[r["unit"].as_str().unwrap()], "{}", r["unit"]);
        assert!(m(&r["current_cost"]) > Money::ZERO);
    }
    assert!(ns["basis"].as_str().unwrap().starts_with("billing: effective cost by day"));

    // Per env tag: the same periods through `trends --by tag:env`.
    let trends =
        json(&["trends", "--sample", "--by", "tag:env", "--period", period, "--format", "json"]);
    assert_eq!(trends["current"], report["current"]);
    assert_eq!(trends["previous"], report["previous"]);
    let env = unit(&report, "tag:env");
    let groups = trends["currencies"][0]["groups"].as_array().unwrap();
    assert_eq!(rows(env, "unit").len(), groups.len());
    let mut tagged = Money::ZERO;
    for g in groups {
        let row = rows(env, "unit").into_iter().find(|r| r["unit"] == g["key"]).unwrap();
        assert_eq!(m(&row["current_cost"]), m(&g["current"]), "{}", g["key"]);
        assert_eq!(m(&row["previous_cost"]), m(&g["previous"]), "{}", g["key"]);
        if g["key"] != "" {
            tagged += m(&g["current"]);
        }
    }
    let avg = rows(env, "average")[0];
    assert_eq!(m(&avg["current_cost"]), tagged);

    // The CSV has the same rows with the same figures, and the Markdown shows them.
    let (code, csv_text, err) = run(&["units", "--sample", "--format", "csv"]);
    assert_eq!(code, Some(0), "{err}");
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "unit_name",
            "per",
            "cluster",
            "unit",
            "row",
            "currency",
            "previous_cost",
            "current_cost",
            "previous_units",
            "current_units",
            "previous_per_unit",
            "current_per_unit",
            "change_ratio",
            "monthly_cost",
            "scale",
            "previous_from",
            "previous_to",
            "current_from",
            "current_to",
            "basis"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let all_rows: usize = report["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["rows"].as_array().unwrap().len())
        .sum();
    assert_eq!(records.len(), all_rows);
    let web = records.iter().find(|r| &r[1] == "namespace" && &r[3] == "web").unwrap();
    let web_json = rows(ns, "unit").into_iter().find(|r| r["unit"] == "web").unwrap();
    assert_eq!(&web[7], web_json["current_cost"].as_str().unwrap());
    assert_eq!(&web[18], to.as_str());
    let (code, md, _) = run(&["units", "--sample", "--format", "markdown"]);
    assert_eq!(code, Some(0));
    assert!(md.contains("# Unit costs"), "{md}");
    assert!(md.contains("## cost per namespace (per namespace)"), "{md}");
    assert!(md.contains("| acme-prod-eks | *(idle)* |"), "{md}");
}

const HEADER: &str = "BilledCost,EffectiveCost,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,ServiceName,SubAccountId,ChargeCategory";

#[test]
fn a_count_unit_per_thousand_requests_by_hand_and_hostile_labels_stay_inert() {
    let dir = tempfile::tempdir().unwrap();
    let focus = dir.path().join("bill.csv");
    let mut rows = vec![HEADER.to_string()];
    for d in 1..=14 {
        // 12 a day of EC2, 5 of S3 (out of scope).
        for (service, cost) in [("EC2", "12"), ("S3", "5")] {
            rows.push(format!(
                "{cost},{cost},2026-11-{d:02}T00:00:00Z,2026-11-{:02}T00:00:00Z,USD,{service},1,Usage",
                d + 1
            ));
        }
    }
    std::fs::write(&focus, rows.join("\n") + "\n").unwrap();
    // Week 1: 3,000 requests a day but none on the 2nd; week 2: 4,000 a day.
    let mut counts = String::from("day,count\n");
    for d in (1..=14).filter(|d| *d != 2) {
        counts.push_str(&format!("2026-11-{d:02},{}\n", if d <= 7 { 3000 } else { 4000 }));
    }
    std::fs::write(dir.path().join("requests.csv"), counts).unwrap();
    let config = dir.path().join("costscope.toml");
    std::fs::write(
        &config,
        "[[unit]]\nname = \"=HYPERLINK(\\\"x\\\")\"\nper = \"count\"\nfile = \"requests.csv\"\n\
         label = \"req|uests\"\nscale = 1000\nscope = { service = \"EC2\" }\n",
    )
    .unwrap();
    let (cfg, bill) = (config.to_str().unwrap(), focus.to_str().unwrap());
    let v = json(&["units", "--config", cfg, "--focus", bill, "--format", "json"]);
    assert_eq!(v["period"], "week");
    let row = &v["units"][0]["rows"][0];
    // Previous week: 6 counted days, 72 over 18,000 requests = 4 per 1,000.
    assert_eq!(
        (m(&row["previous_cost"]), m(&row["previous_units"])),
        (Money::from_units(72), Money::from_units(18000))
    );
    assert_eq!(m(&row["previous_per_unit"]), Money::from_units(4));
    // Current week: 84 over 28,000 = 3 per 1,000: −25 %.
    assert_eq!(m(&row["current_per_unit"]), Money::from_units(3));
    assert_eq!(row["change_ratio"], "-0.25");
    let notes = v["units"][0]["notes"].to_string();
    assert!(notes.contains("1 billed day(s) of the previous period"), "{notes}");
    let (code, csv_text, _) = run(&["units", "--config", cfg, "--focus", bill, "--format", "csv"]);
    assert_eq!(code, Some(0));
    let second = csv_text.lines().nth(1).unwrap();
    assert!(!second.starts_with('='), "a formula reached the sheet: {second}");
    assert!(second.contains(",4,3,-0.25,"), "{second}");
    let (_, md, _) = run(&["units", "--config", cfg, "--focus", bill, "--format", "markdown"]);
    assert!(md.contains("Cost per 1000 req\\|uests."), "{md}");
    assert!(
        md.contains("| req\\|uests | USD | 4.00 | 3.00 | -25.0 % | 84.00 | 28000 | — |"),
        "{md}"
    );
}

#[test]
fn bad_configs_exit_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("costscope.toml");
    std::fs::write(&config, "[[unit]]\nname = \"u\"\nper = \"pods\"\n").unwrap();
    let cfg = config.to_str().unwrap();
    let (code, _, err) = run(&["units", "--sample", "--config", cfg]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&format!("{cfg}:3:")) && err.contains("unknown per \"pods\""), "{err}");
    std::fs::write(dir.path().join("n.csv"), "day,count\n2026-10-01,ten\n").unwrap();
    std::fs::write(&config, "[[unit]]\nname = \"u\"\nper = \"count\"\nfile = \"n.csv\"\n").unwrap();
    let (code, _, err) = run(&["units", "--sample", "--config", cfg]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("n.csv:2: count:"), "{err}");
    std::fs::write(&config, "[tags]\nrequired = [\"team\"]\n").unwrap();
    let (code, _, err) = run(&["units", "--snapshot", "/nonexistent.json", "--config", cfg]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("has no [[unit]] table (see README: Unit costs)"), "{err}");
}
