//! The command line on the bundled sample: the report, its determinism, collect/--snapshot round
//! trip, rules list/check, configuration, exit codes; and costs/tags checked against an
//! independent computation from the raw sample file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use assert_cmd::Command;
use predicates::prelude::*;

const DEFAULT_RULES: [&str; 45] = [
    "ami-unused",
    "commitment-expiring",
    "commitment-purchase",
    "commitment-underutilized",
    "dynamodb-overprovisioned",
    "ebs-gp2-to-gp3",
    "ebs-io-to-gp3",
    "ebs-io1-to-io2",
    "ebs-low-use",
    "ebs-unattached",
    "ec2-graviton",
    "ec2-idle",
    "ec2-offhours",
    "ec2-previous-generation",
    "ec2-rightsize",
    "ec2-stopped-long",
    "eip-unassociated",
    "elasticache-graviton",
    "elasticache-idle",
    "elb-idle",
    "k8s-cluster-overprovisioned",
    "k8s-loadbalancer-unused",
    "k8s-node-underutilized",
    "k8s-volume-unclaimed",
    "k8s-workload-abandoned",
    "k8s-workload-overrequested",
    "lambda-graviton",
    "lambda-overprovisioned-memory",
    "lambda-unused",
    "logs-no-retention",
    "logs-stale",
    "nat-gateway-idle",
    "opensearch-graviton",
    "opensearch-idle",
    "rds-extended-support",
    "rds-graviton",
    "rds-idle",
    "rds-previous-generation",
    "rds-rightsize",
    "rds-snapshot-orphaned",
    "redshift-idle",
    "s3-no-lifecycle",
    "snapshot-old",
    "snapshot-orphaned",
    "untagged",
];

fn costscope() -> Command {
    let mut cmd = Command::cargo_bin("costscope").unwrap();
    // Never pick up the developer's own config.
    cmd.env("XDG_CONFIG_HOME", "/nonexistent-costscope-test")
        .env("XDG_DATA_HOME", "/nonexistent-costscope-test")
        .env_remove("RUST_LOG");
    cmd
}

fn stdout_of(args: &[&str]) -> String {
    let out = costscope().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn csv_rows(text: &str) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let mut reader = csv::ReaderBuilder::new().comment(Some(b'#')).from_reader(text.as_bytes());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers.iter().cloned().zip(r.iter().map(String::from)).collect()
        })
        .collect();
    (headers, rows)
}

#[test]
fn report_on_the_sample_lists_every_default_rule_with_evidence() {
    let text = stdout_of(&["report", "--sample", "--format", "csv"]);
    let (headers, rows) = csv_rows(&text);
    assert_eq!(
        headers[..11],
        [
            "rule_id",
            "resource_id",
            "resource_type",
            "account_id",
            "region",
            "action",
            "current_monthly_cost",
            "estimated_monthly_savings",
            "currency",
            "confidence",
            "evidence"
        ]
    );
    let fired: BTreeSet<&str> = rows.iter().map(|r| r["rule_id"].as_str()).collect();
    for rule in DEFAULT_RULES {
        assert!(fired.contains(rule), "rule {rule} did not fire on the sample");
    }
    for row in &rows {
        assert!(!row["evidence"].is_empty(), "{row:?}");
        assert!(["low", "medium", "high"].contains(&row["confidence"].as_str()));
        assert!(!row["estimated_monthly_savings"].starts_with('-'), "{row:?}");
    }
    // Sorted by savings, largest first.
    let savings: Vec<f64> =
        rows.iter().map(|r| r["estimated_monthly_savings"].parse().unwrap()).collect();
    assert!(savings.windows(2).all(|w| w[0] >= w[1]));
}

#[test]
fn identical_input_gives_byte_identical_output() {
    for format in ["csv", "json", "markdown"] {
        let a = stdout_of(&["report", "--sample", "--format", format]);
        let b = stdout_of(&["report", "--sample", "--format", format]);
        assert_eq!(a, b, "{format} output differs between runs");
    }
}

#[test]
fn json_report_has_totals_rules_and_data_gaps() {
    let text = stdout_of(&["report", "--sample", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["totals"][0]["currency"], "USD");
    assert!(
        v["totals"][0]["estimated_monthly_savings"].as_str().unwrap().parse::<f64>().unwrap() > 0.0
    );
    assert!(v["by_rule"].as_array().unwrap().len() >= DEFAULT_RULES.len());
    assert!(v["insufficient_data_resources"].as_u64().unwrap() > 0);
    assert!(v["tag_coverage"]["keys"].as_array().unwrap().len() >= 3);
}

#[test]
fn markdown_report_is_readable() {
    let text = stdout_of(&["report", "--sample", "--format", "markdown"]);
    assert!(text.starts_with("# costscope report"));
    assert!(text.contains("## Top findings"));
    assert!(text.contains("## By rule"));
    assert!(!text.contains('\u{1b}'));
}

#[test]
fn collect_then_report_on_the_snapshot_gives_the_same_findings() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.json");
    costscope().args(["collect", "--sample", "--out"]).arg(&snap).assert().success();
    let from_sample = stdout_of(&["report", "--sample"]);
    let from_snapshot = stdout_of(&["report", "--snapshot", snap.to_str().unwrap()]);
    assert_eq!(from_sample, from_snapshot);
    // Every breakdown works from the snapshot as from the sources.
    for by in ["service", "account", "region", "resource", "day", "tag:team"] {
        assert_eq!(
            stdout_of(&["costs", "--sample", "--by", by]),
            stdout_of(&["costs", "--snapshot", snap.to_str().unwrap(), "--by", by]),
            "costs --by {by}"
        );
    }
    // collect is deterministic too.
    let again = dir.path().join("again.json");
    costscope().args(["collect", "--sample", "--out"]).arg(&again).assert().success();
    assert_eq!(std::fs::read(&snap).unwrap(), std::fs::read(&again).unwrap());
}

#[test]
fn rules_list_shows_every_rule_and_its_parameters() {
    let text = stdout_of(&["rules", "list"]);
    for rule in DEFAULT_RULES {
        assert!(text.contains(rule), "{rule} missing from rules list");
    }
    assert!(text.contains("max_cpu_p95_percent = 5"));
}

#[test]
fn rules_check_accepts_the_pack_and_names_file_line_and_problem() {
    costscope()
        .args(["rules", "check", "rules/pack"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("ok: {} rules valid", DEFAULT_RULES.len())));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("typo.toml"),
        "id = \"typo\"\ntitle = \"t\"\nresource = \"ebs_volume\"\naction = \"delete\"\nconfidence = \"low\"\ncondition = \"r.size_gib > 10\"\nsavings = \"r.size_gib * 0.08\"\nevidence = \"{r.sise_gib} GiB\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("broken.toml"), "id = \"broken\"\ntitle = \n").unwrap();
    costscope()
        .args(["rules", "check"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("broken.toml:2:"));
    std::fs::remove_file(dir.path().join("broken.toml")).unwrap();
    costscope()
        .args(["rules", "check"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("typo.toml:8: evidence:"));
}

#[test]
fn config_overrides_and_user_rules_change_the_findings() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("costscope.toml");
    std::fs::write(
        &config,
        "[rules.ec2-idle]\nenabled = false\n\n[rules.snapshot-old]\nmin_age_days = 100000\n",
    )
    .unwrap();
    let text = stdout_of(&["report", "--sample", "--config", config.to_str().unwrap()]);
    let (_, rows) = csv_rows(&text);
    assert!(rows.iter().all(|r| r["rule_id"] != "ec2-idle"));
    assert!(rows.iter().all(|r| r["rule_id"] != "snapshot-old"));

    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("big-volume.toml"),
        "id = \"big-volume\"\ntitle = \"Big volume\"\nresource = \"ebs_volume\"\naction = \"review\"\nconfidence = \"low\"\ncondition = \"r.size_gib >= p.min_gib\"\nsavings = \"0.0\"\nevidence = \"{r.size_gib} GiB\"\n\n[params]\nmin_gib = 500\n",
    )
    .unwrap();
    let text = stdout_of(&["report", "--sample", "--rules", rules.to_str().unwrap()]);
    let (_, rows) = csv_rows(&text);
    assert!(rows.iter().any(|r| r["rule_id"] == "big-volume"));

    std::fs::write(&config, "[rules.ec2-idle]\nmax_cpu = 1\n").unwrap();
    costscope()
        .args(["report", "--sample", "--config"])
        .arg(&config)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("costscope.toml:2: rules.ec2-idle.max_cpu"));
}

#[test]
fn configured_storage_class_prices_price_the_samples_volumes() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("costscope.toml");
    // The sample's released 500 GiB gp3 disk is priced from aws.toml (0.08 → 40.00) without it.
    std::fs::write(&config, "[kubernetes.storage_class_prices]\ngp3 = \"0.05\"\n").unwrap();
    let text = stdout_of(&["report", "--sample", "--config", config.to_str().unwrap()]);
    let (_, rows) = csv_rows(&text);
    let row = rows
        .iter()
        .find(|r| {
            r["rule_id"] == "k8s-volume-unclaimed" && r["resource_id"] == "vol-0c1a5e0d7b3f24a61"
        })
        .unwrap();
    // 500 GiB × 0.05 = 25.
    assert_eq!(row["estimated_monthly_savings"], "25");
    assert!(row["evidence"].contains("from the config (500 GiB of storage class gp3 at 0.05"));

    // A float is not a price: the file, the line and the class are named; exit 2.
    std::fs::write(&config, "[kubernetes.storage_class_prices]\n\n\"fast-ssd\" = 0.17\n").unwrap();
    costscope().args(["report", "--sample", "--config"]).arg(&config).assert().code(2).stderr(
        predicate::str::contains(
            "costscope.toml:3: kubernetes.storage_class_prices.\"fast-ssd\": write the price",
        ),
    );
}

#[test]
fn fail_on_savings_exits_4_only_above_the_limit() {
    costscope()
        .args(["report", "--sample", "--fail-on-savings", "1", "--out"])
        .arg(tempfile::tempdir().unwrap().path().join("r.csv"))
        .assert()
        .code(4);
    costscope().args(["report", "--sample", "--fail-on-savings", "100000000"]).assert().code(0);
}

#[test]
fn missing_sources_and_commands_are_usage_errors() {
    costscope()
        .args(["report"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no data source"));
    costscope().assert().code(2);
    costscope().args(["costs", "--sample", "--by", "colour"]).assert().code(2);
    costscope()
        .args(["report", "--snapshot", "/nonexistent/snap.json"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("/nonexistent/snap.json"));
}

// ---- independent computation over the raw sample file ----

/// Exact decimal → integer in units of 10^-18, written independently of costscope's Money.
fn parse_scaled(text: &str) -> i128 {
    let text = text.trim();
    let (mantissa, exp) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i32>().unwrap()),
        None => (text, 0),
    };
    let negative = mantissa.starts_with('-');
    let digits = mantissa.trim_start_matches(['-', '+']);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let mut value: i128 = 0;
    for c in int.chars().chain(frac.chars()) {
        value = value * 10 + i128::from(c.to_digit(10).unwrap());
    }
    let scale = 18 + exp - frac.len() as i32;
    assert!(scale >= 0, "too many decimals in {text}");
    value *= 10i128.pow(scale as u32);
    if negative { -value } else { value }
}

fn show_scaled(v: i128) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    let (int, frac) = (a / 10u128.pow(18), a % 10u128.pow(18));
    if frac == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{}", format!("{frac:018}").trim_end_matches('0'))
    }
}

fn sample_rows() -> Vec<BTreeMap<String, String>> {
    let bytes = std::fs::read("samples/focus-2026-09-10.csv.gz").unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut text).unwrap();
    csv_rows(&text).1
}

fn null(v: &str) -> bool {
    v.is_empty() || v == "NULL"
}

#[test]
fn costs_by_service_agree_with_an_independent_sum_to_the_last_digit() {
    let mut expected: BTreeMap<String, i128> = BTreeMap::new();
    for row in sample_rows() {
        *expected.entry(row["ServiceName"].clone()).or_default() +=
            parse_scaled(&row["BilledCost"]);
    }
    let (headers, rows) = csv_rows(&stdout_of(&["costs", "--sample", "--by", "service"]));
    assert_eq!(headers, ["service", "billed_cost", "effective_cost", "currency"]);
    let got: BTreeMap<String, String> =
        rows.iter().map(|r| (r["service"].clone(), r["billed_cost"].clone())).collect();
    let want: BTreeMap<String, String> =
        expected.iter().map(|(k, v)| (k.clone(), show_scaled(*v))).collect();
    assert_eq!(got, want);
    assert!(expected.len() >= 15, "the sample must have at least 15 services");
}

#[test]
fn tag_coverage_agrees_with_an_independent_computation() {
    let rows = sample_rows();
    let mut total: i128 = 0;
    let mut tagged: BTreeMap<&str, i128> = BTreeMap::new();
    // Latest tags per resource (the sample's resources keep their tags all month).
    let mut resource_tags: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    for row in &rows {
        let cost = parse_scaled(&row["BilledCost"]);
        let tags: serde_json::Value = if null(&row["Tags"]) {
            serde_json::json!({})
        } else {
            serde_json::from_str(&row["Tags"]).unwrap()
        };
        if !null(&row["ResourceId"]) {
            resource_tags.insert(row["ResourceId"].clone(), tags.clone());
        }
        if cost <= 0 {
            continue;
        }
        total += cost;
        for key in ["team", "env"] {
            if tags.get(key).and_then(|v| v.as_str()).is_some_and(|v| !v.trim().is_empty()) {
                *tagged.entry(key).or_default() += cost;
            }
        }
    }
    let (_, out) =
        csv_rows(&stdout_of(&["tags", "--sample", "--require", "team,env", "--format", "csv"]));
    assert_eq!(out.len(), 2);
    for row in out {
        let key = row["key"].as_str();
        assert_eq!(row["tagged_cost"], show_scaled(tagged[key]), "{key}");
        assert_eq!(row["total_cost"], show_scaled(total));
        let with_key = resource_tags
            .values()
            .filter(|t| t.get(key).and_then(|v| v.as_str()).is_some_and(|v| !v.trim().is_empty()))
            .count();
        assert_eq!(row["resources_tagged"], with_key.to_string(), "{key}");
        assert_eq!(row["resources_total"], resource_tags.len().to_string());
    }
}

#[test]
fn the_suppressions_file_leaves_findings_out_of_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let (_, rows) = csv_rows(&stdout_of(&["report", "--sample"]));
    let top = &rows[0];
    let file = dir.path().join("ignored.toml");
    std::fs::write(
        &file,
        format!(
            "[[suppression]]\nrule_id = \"{}\"\nresource_id = \"{}\"\nreason = \"reserved for month-end batch\"\ncreated = \"2026-11-01T00:00:00Z\"\n",
            top["rule_id"], top["resource_id"]
        ),
    )
    .unwrap();
    let config = dir.path().join("costscope.toml");
    std::fs::write(&config, "[suppressions]\npath = \"ignored.toml\"\n").unwrap();
    let config = config.to_str().unwrap();
    let (_, after) = csv_rows(&stdout_of(&["report", "--sample", "--config", config]));
    assert_eq!(after.len(), rows.len() - 1);
    assert!(
        !after
            .iter()
            .any(|r| r["rule_id"] == top["rule_id"] && r["resource_id"] == top["resource_id"])
    );
    let json: serde_json::Value = serde_json::from_str(&stdout_of(&[
        "report", "--sample", "--config", config, "--format", "json",
    ]))
    .unwrap();
    assert_eq!(json["suppressed"][0]["reason"], "reserved for month-end batch");

    std::fs::write(&file, "[[suppression]]\nrule_id = \"x\"\n").unwrap();
    costscope()
        .args(["report", "--sample", "--config", config])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ignored.toml:1"));
}

#[test]
fn spend_coverage_agrees_with_an_independent_sum_and_is_in_every_format() {
    // The services some default rule judges: EC2 (instances, volumes, snapshots, NAT, nodes),
    // VPC (public IPv4), the five database services, load balancers, CloudWatch Logs, Lambda,
    // S3, and the savings plan's own fee (the commitment rules).
    let judged = [
        "Savings Plans for AWS Compute usage",
        "Amazon Elastic Compute Cloud",
        "Amazon Virtual Private Cloud",
        "Amazon Relational Database Service",
        "Amazon ElastiCache",
        "Amazon OpenSearch Service",
        "Amazon Redshift",
        "Amazon DynamoDB",
        "Elastic Load Balancing",
        "Amazon CloudWatch",
        "AWS Lambda",
        "Amazon Simple Storage Service",
    ];
    let (mut total, mut covered) = (0i128, 0i128);
    for row in sample_rows() {
        let cost = parse_scaled(&row["BilledCost"]);
        total += cost;
        if judged.contains(&row["ServiceName"].as_str()) {
            covered += cost;
        }
    }
    let percent = (covered as f64 / total as f64 * 1000.0).round() / 10.0;

    let v: serde_json::Value =
        serde_json::from_str(&stdout_of(&["report", "--sample", "--format", "json"])).unwrap();
    let coverage = &v["spend_coverage"][0];
    assert_eq!(coverage["currency"], "USD");
    assert_eq!(coverage["judged_percent"].as_f64().unwrap(), percent);
    assert_eq!(coverage["billed_cost"].as_str().unwrap(), show_scaled(total));
    assert_eq!(coverage["judged_cost"].as_str().unwrap(), show_scaled(covered));
    let blind: Vec<&str> = coverage["not_judged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert_eq!(blind[0], "Amazon CloudFront", "largest first: {blind:?}");
    assert!(blind.iter().all(|s| !judged.contains(s)));

    let sentence = format!("rules cover {percent:.1} % of this period's spend; not judged: ");
    let markdown = stdout_of(&["report", "--sample", "--format", "markdown"]);
    assert!(markdown.contains(&format!("- Spend coverage (USD): {sentence}")), "{markdown}");
    // The CSV is findings only: the line goes to the log.
    let out = costscope()
        .args(["report", "--sample", "--format", "csv", "--log-level", "info"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains(&sentence));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("rules cover"));
}
