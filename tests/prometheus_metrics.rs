//! `report --format prometheus`: the real binary writes the file, a real parser of the text
//! exposition format (openmetrics-parser, which resolves escapes and rejects a repeated series
//! or inconsistent labels) reads it, and every figure is checked against the JSON report of the
//! same data. Hostile label values round-trip; the Grafana dashboard and docs/metrics.md name
//! only metrics the output has.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use assert_cmd::Command;
use chrono::{Days, NaiveDate};
use openmetrics_parser::prometheus::parse_prometheus;
use openmetrics_parser::{MetricsExposition, PrometheusType, PrometheusValue};
use serde_json::Value;

fn costscope() -> Command {
    let mut cmd = Command::cargo_bin("costscope").unwrap();
    // Never pick up the developer's own config.
    cmd.env("XDG_CONFIG_HOME", "/nonexistent-costscope-test")
        .env("XDG_DATA_HOME", "/nonexistent-costscope-test")
        .env_remove("RUST_LOG");
    cmd
}

/// Runs `report` with `args` twice, as Prometheus text into a file (the way cron does) and as
/// JSON on stdout; checks the text is the same on a second run.
fn report(dir: &Path, args: &[&str]) -> (String, Value) {
    let mut texts = Vec::new();
    for name in ["a.prom", "b.prom"] {
        let out = dir.join(name);
        let run = costscope()
            .arg("report")
            .args(args)
            .args(["--format", "prometheus", "--out", out.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        assert!(run.stdout.is_empty(), "--out leaves standard output empty");
        texts.push(std::fs::read_to_string(&out).unwrap());
    }
    assert_eq!(texts[0], texts[1], "the same input gives the same bytes");
    let json = costscope().arg("report").args(args).args(["--format", "json"]).output().unwrap();
    assert!(json.status.success(), "{}", String::from_utf8_lossy(&json.stderr));
    (texts.remove(0), serde_json::from_slice(&json.stdout).unwrap())
}

/// The parsed exposition, with lookups by label set.
struct Scrape(MetricsExposition<PrometheusType, PrometheusValue>);

type Labels = BTreeMap<String, String>;

impl Scrape {
    fn parse(text: &str) -> Scrape {
        let parsed = parse_prometheus(text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        for (name, family) in &parsed.families {
            assert!(name.starts_with("costscope_"), "{name}");
            assert_eq!(family.family_type, PrometheusType::Gauge, "{name}");
            assert!(!family.help.is_empty(), "{name} has HELP");
            for s in family.iter_samples() {
                assert!(s.timestamp.is_none(), "{name}: textfile samples carry no timestamp");
            }
        }
        Scrape(parsed)
    }

    fn names(&self) -> BTreeSet<String> {
        self.0.families.keys().cloned().collect()
    }

    fn samples(&self, name: &str) -> Vec<(Labels, f64)> {
        let family = self.0.families.get(name).unwrap_or_else(|| panic!("no family {name}"));
        family
            .iter_samples()
            .map(|s| {
                let labels = s.get_labelset().unwrap();
                let labels: Labels =
                    labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
                let value = match &s.value {
                    PrometheusValue::Gauge(n) => n.as_f64(),
                    other => panic!("{name}: {other:?}"),
                };
                (labels, value)
            })
            .collect()
    }

    /// The one sample of `name` whose labels are exactly `labels`.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let want: Labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let found: Vec<f64> =
            self.samples(name).into_iter().filter(|(l, _)| *l == want).map(|(_, v)| v).collect();
        assert_eq!(found.len(), 1, "{name}{want:?}: {found:?}");
        found[0]
    }

    fn label_values(&self, name: &str, label: &str) -> BTreeSet<String> {
        self.samples(name).into_iter().map(|(l, _)| l[label].clone()).collect()
    }
}

/// A JSON money figure (a decimal string) as the float a Prometheus parser reads.
fn money(v: &Value) -> f64 {
    v.as_str().unwrap_or_else(|| panic!("not money: {v}")).parse().unwrap()
}

/// A currency as the metrics label it: the JSON's null is "unknown".
fn currency(v: &Value) -> String {
    v.as_str().unwrap_or("unknown").to_string()
}

fn midnight(day: &Value) -> f64 {
    let day: NaiveDate = day.as_str().unwrap().parse().unwrap();
    day.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp() as f64
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * b.abs().max(1.0)
}

#[test]
fn sample_metrics_parse_and_agree_with_the_json_report() {
    let dir = tempfile::tempdir().unwrap();
    let (text, json) = report(dir.path(), &["--sample"]);
    let m = Scrape::parse(&text);

    // About the run.
    let collected: chrono::DateTime<chrono::Utc> =
        json["collected_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(m.get("costscope_report_timestamp_seconds", &[]), collected.timestamp() as f64);
    assert_eq!(m.get("costscope_source_up", &[("source", "sample")]), 1.0);
    assert_eq!(m.get("costscope_info", &[("version", env!("CARGO_PKG_VERSION"))]), 1.0);

    // Spend: this month, the month before, the forecast, services and accounts.
    let overview = json["overview"].as_array().unwrap();
    assert_eq!(overview.len(), 1, "the sample bills in one currency");
    let o = &overview[0];
    let cur = currency(&o["currency"]);
    let c = [("currency", cur.as_str())];
    assert_eq!(
        m.get("costscope_billing_first_day_timestamp_seconds", &[]),
        midnight(&o["period_start"])
    );
    assert_eq!(
        m.get("costscope_billing_last_day_timestamp_seconds", &[]),
        midnight(&o["period_end"])
    );
    assert_eq!(
        m.get("costscope_spend_month_start_timestamp_seconds", &c),
        midnight(&o["current_month"]["month"])
    );
    let month = money(&o["current_month"]["billed_cost"]);
    assert_eq!(m.get("costscope_spend_month_to_date", &c), month);
    assert_eq!(
        m.get("costscope_spend_previous_month", &c),
        money(&o["previous_month"]["billed_cost"])
    );
    assert_eq!(m.get("costscope_spend_forecast_month_end", &c), money(&o["forecast"]["total"]));
    assert_eq!(m.get("costscope_spend_forecast_month_end_low", &c), money(&o["forecast"]["low"]));
    assert_eq!(m.get("costscope_spend_forecast_month_end_high", &c), money(&o["forecast"]["high"]));
    let spend = &json["spend"][0];
    assert_eq!(
        m.get("costscope_spend_billing_period", &[("currency", &currency(&spend["currency"]))]),
        money(&spend["billed_cost"])
    );
    let services = o["top_services"].as_array().unwrap();
    assert_eq!(services.len(), 10);
    let mut sum = 0.0;
    for s in services {
        let name = s["service"].as_str().unwrap();
        let v = m
            .get("costscope_service_spend_month_to_date", &[("currency", &cur), ("service", name)]);
        assert_eq!(v, money(&s["billed_cost"]), "{name}");
        sum += v;
    }
    assert_eq!(m.samples("costscope_service_spend_month_to_date").len(), 10);
    let other = m.get("costscope_other_services_spend_month_to_date", &c);
    assert_eq!(other, money(&o["other_services"]["billed_cost"]));
    assert_eq!(
        m.get("costscope_other_services", &c),
        o["other_services"]["services"].as_f64().unwrap()
    );
    assert!(
        close(sum + other, month),
        "services and the rest add up to the month: {sum} + {other} vs {month}"
    );
    let accounts = json["account_spend"].as_array().unwrap();
    assert_eq!(accounts.len(), 2, "the sample's two accounts");
    let mut sum = 0.0;
    for a in accounts {
        let id = a["account_id"].as_str().unwrap();
        let name = a["account_name"].as_str().unwrap_or("");
        let v = m.get(
            "costscope_account_spend_month_to_date",
            &[("currency", &currency(&a["currency"])), ("account_id", id), ("account_name", name)],
        );
        assert_eq!(v, money(&a["billed_cost"]), "{id}");
        sum += v;
    }
    assert_eq!(m.get("costscope_other_accounts_spend_month_to_date", &c), 0.0);
    assert_eq!(m.get("costscope_other_accounts", &c), 0.0);
    assert!(close(sum, month), "accounts add up to the month: {sum} vs {month}");

    // Savings, in total and by rule.
    let totals = &json["totals"][0];
    let tc = [("currency", &*currency(&totals["currency"]))];
    assert_eq!(
        m.get("costscope_potential_savings_monthly", &tc),
        money(&totals["estimated_monthly_savings"])
    );
    assert_eq!(m.get("costscope_findings", &tc), totals["findings"].as_f64().unwrap());
    assert_eq!(
        m.get("costscope_resources_with_findings", &tc),
        totals["resources"].as_f64().unwrap()
    );
    assert_eq!(
        m.get("costscope_resources_evaluated", &[]),
        json["resources_evaluated"].as_f64().unwrap()
    );
    let rules = json["by_rule"].as_array().unwrap();
    let mut rule_ids = BTreeSet::new();
    let mut primary = BTreeSet::new();
    for r in rules {
        let id = r["rule_id"].as_str().unwrap();
        rule_ids.insert(id.to_string());
        assert_eq!(
            m.get("costscope_rule_findings", &[("rule", id)]),
            r["findings"].as_f64().unwrap()
        );
        for (code, savings) in r["estimated_monthly_savings"].as_object().unwrap() {
            primary.insert(id.to_string());
            let v = m.get(
                "costscope_rule_potential_savings_monthly",
                &[("rule", id), ("currency", code)],
            );
            assert_eq!(v, money(savings), "{id}");
        }
    }
    assert_eq!(m.label_values("costscope_rule_findings", "rule"), rule_ids);
    assert_eq!(m.label_values("costscope_rule_potential_savings_monthly", "rule"), primary);
    assert!(rule_ids.len() >= 40, "the sample triggers most rules: {}", rule_ids.len());

    // Tag coverage.
    let keys = json["tag_coverage"]["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3, "team, env and cost-center");
    for k in keys {
        let key = k["key"].as_str().unwrap();
        let kc = currency(&k["currency"]);
        assert_eq!(
            m.get("costscope_tag_coverage_cost_ratio", &[("key", key), ("currency", &kc)]),
            money(&k["cost_share"])
        );
        assert_eq!(
            m.get("costscope_tag_coverage_resource_ratio", &[("key", key)]),
            money(&k["resource_share"])
        );
    }
    let untagged = json["tag_coverage"]["untagged"].as_array().unwrap();
    assert_eq!(m.get("costscope_untagged_resources", &c), untagged.len() as f64);
    let cost: f64 = untagged.iter().map(|u| money(&u["cost"])).sum();
    assert!(close(m.get("costscope_untagged_cost", &c), cost));

    // Clusters.
    let clusters = json["clusters"].as_array().unwrap();
    assert!(!clusters.is_empty());
    for k in clusters {
        let name = k["name"].as_str().unwrap();
        let kc = currency(&k["currency"]);
        let eff = |r: &str| {
            m.get("costscope_cluster_efficiency_ratio", &[("cluster", name), ("resource", r)])
        };
        assert_eq!(eff("cpu"), k["cpu_efficiency"].as_f64().unwrap());
        assert_eq!(eff("memory"), k["memory_efficiency"].as_f64().unwrap());
        let idle = |r: &str| {
            m.get(
                "costscope_cluster_idle_cost_monthly",
                &[("cluster", name), ("currency", &kc), ("resource", r)],
            )
        };
        assert_eq!(idle("cpu"), money(&k["costs"]["cpu_idle"]));
        assert_eq!(idle("memory"), money(&k["costs"]["memory_idle"]));
        assert!(close(idle("cpu") + idle("memory"), money(&k["costs"]["idle"])));
        assert_eq!(
            m.get("costscope_cluster_monthly_cost", &[("cluster", name), ("currency", &kc)]),
            money(&k["costs"]["monthly"])
        );
        assert_eq!(
            m.get("costscope_cluster_nodes", &[("cluster", name)]),
            k["nodes"].as_array().unwrap().len() as f64
        );
        let cores =
            m.get("costscope_cluster_cpu_cores", &[("cluster", name), ("state", "allocatable")]);
        assert_eq!(cores, k["allocatable"]["cpu_millicores"].as_f64().unwrap() / 1000.0);
        let bytes =
            m.get("costscope_cluster_memory_bytes", &[("cluster", name), ("state", "used")]);
        assert_eq!(bytes, k["used"]["memory_bytes"].as_f64().unwrap());
    }

    // Budgets: amounts, actuals, forecasts and a one-hot status.
    let budgets = json["budgets"].as_array().unwrap();
    assert_eq!(budgets.len(), 4, "the sample's budgets");
    let mut statuses = BTreeSet::new();
    for b in budgets {
        let name = b["name"].as_str().unwrap();
        let bc = currency(&b["currency"]);
        let l = [("budget", name), ("currency", bc.as_str())];
        assert_eq!(m.get("costscope_budget_amount", &l), money(&b["amount"]), "{name}");
        assert_eq!(m.get("costscope_budget_actual", &l), money(&b["actual"]), "{name}");
        assert_eq!(m.get("costscope_budget_forecast", &l), money(&b["forecast"]), "{name}");
        let status = b["status"].as_str().unwrap();
        statuses.insert(status.to_string());
        for s in ["ok", "at_risk", "over", "no_data"] {
            let v = m.get(
                "costscope_budget_status",
                &[("budget", name), ("currency", &bc), ("status", s)],
            );
            assert_eq!(v, f64::from(u8::from(s == status)), "{name} {s}");
        }
        let fired = b["alerts_fired"].as_array().unwrap().len() as f64;
        assert_eq!(m.get("costscope_budget_alerts_fired", &l), fired, "{name}");
    }
    assert!(statuses.len() >= 3, "the sample's budgets are ok, at risk and over: {statuses:?}");

    // Anomalies of the last 7 days, recomputed from the JSON's list.
    let a = &json["anomalies"];
    let last: NaiveDate = a["last_day"].as_str().unwrap().parse().unwrap();
    let from = last.checked_sub_days(Days::new(6)).unwrap();
    let mut recent: BTreeMap<(String, String, String), (f64, NaiveDate, f64)> = BTreeMap::new();
    let mut count = 0.0;
    for x in a["anomalies"].as_array().unwrap() {
        let day: NaiveDate = x["day"].as_str().unwrap().parse().unwrap();
        if day < from || day > last {
            continue;
        }
        count += 1.0;
        let g = &x["group"];
        let key = (
            g["service"].as_str().unwrap().to_string(),
            g["account_id"].as_str().unwrap().to_string(),
            g["account_name"].as_str().unwrap_or("").to_string(),
        );
        let slot = recent.entry(key).or_insert((0.0, day, 0.0));
        slot.0 += 1.0;
        if day >= slot.1 {
            slot.1 = day;
            slot.2 = money(&x["excess"]);
        }
    }
    assert!(count > 0.0, "the sample has recent anomalies");
    assert_eq!(m.get("costscope_anomalies_recent", &c), count);
    assert_eq!(m.samples("costscope_anomaly_active").len(), recent.len());
    for ((service, account, name), (days, latest, excess)) in &recent {
        let l = [
            ("service", service.as_str()),
            ("account_id", account),
            ("account_name", name),
            ("currency", &cur),
        ];
        assert_eq!(m.get("costscope_anomaly_recent", &l), *days);
        assert_eq!(m.get("costscope_anomaly_active", &l), f64::from(u8::from(*latest == last)));
        assert_eq!(m.get("costscope_anomaly_latest_excess", &l), *excess);
    }
    let groups = a["groups"].as_array().unwrap().len() as f64;
    let judged = m.get("costscope_anomaly_groups", &[("status", "judged")]);
    assert_eq!(
        judged + m.get("costscope_anomaly_groups", &[("status", "too_little_history")]),
        groups
    );

    // Commitments.
    let commitments = json["commitments"]["commitments"].as_array().unwrap();
    assert!(!commitments.is_empty());
    for k in commitments {
        let l = [
            ("commitment", k["id"].as_str().unwrap()),
            ("name", k["name"].as_str().unwrap()),
            ("kind", k["kind"].as_str().unwrap()),
        ];
        assert_eq!(m.get("costscope_commitment_utilization_ratio", &l), money(&k["utilization"]));
        if !k["term_end"].is_null() {
            assert_eq!(
                m.get("costscope_commitment_term_end_timestamp_seconds", &l),
                midnight(&k["term_end"])
            );
        }
    }
    for s in json["commitments"]["scopes"].as_array().unwrap() {
        let l = [
            ("provider", s["provider"].as_str().unwrap()),
            ("currency", &*currency(&s["currency"])),
        ];
        assert_eq!(m.get("costscope_commitment_coverage_ratio", &l), money(&s["coverage"]));
    }
}

/// The `costscope_*` names in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (i, _) in text.match_indices("costscope_") {
        let boundary =
            text[..i].chars().next_back().is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_');
        if !boundary {
            continue;
        }
        let name: String = text[i..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        let name = name.trim_end_matches('_');
        // The bare prefix (`costscope_*` in prose) names no metric.
        if name != "costscope" {
            names.insert(name.to_string());
        }
    }
    names
}

/// Every `expr` of a Grafana dashboard, panels nested in rows included.
fn exprs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("expr", Value::String(s)) => out.push(s.clone()),
                    _ => exprs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| exprs(v, out)),
        _ => {}
    }
}

#[test]
fn the_dashboard_and_the_docs_name_only_metrics_the_output_has() {
    let dir = tempfile::tempdir().unwrap();
    let (text, _) = report(dir.path(), &["--sample"]);
    let written = Scrape::parse(&text).names();

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("docs/grafana-dashboard.json")).unwrap(),
    )
    .unwrap();
    assert!(dashboard["schemaVersion"].as_u64().unwrap() >= 36);
    assert_eq!(dashboard["__inputs"][0]["name"], "DS_PROMETHEUS");
    let mut queries = Vec::new();
    exprs(&dashboard["panels"], &mut queries);
    assert!(queries.len() >= 10, "{} queries", queries.len());
    let used: BTreeSet<String> = queries.iter().flat_map(|q| metric_names(q)).collect();
    let missing: Vec<&String> = used.difference(&written).collect();
    assert!(missing.is_empty(), "the dashboard queries metrics the output lacks: {missing:?}");
    for panel_metric in [
        "costscope_spend_month_to_date",
        "costscope_service_spend_month_to_date",
        "costscope_rule_potential_savings_monthly",
        "costscope_tag_coverage_cost_ratio",
        "costscope_cluster_efficiency_ratio",
        "costscope_budget_status",
        "costscope_anomaly_active",
    ] {
        assert!(used.contains(panel_metric), "the dashboard shows {panel_metric}");
    }

    // docs/metrics.md documents every metric written, and names no other.
    let docs = std::fs::read_to_string(root.join("docs/metrics.md")).unwrap();
    let documented = metric_names(&docs);
    let undocumented: Vec<&String> = written.difference(&documented).collect();
    assert!(undocumented.is_empty(), "not in docs/metrics.md: {undocumented:?}");
    let unknown: Vec<&String> = documented.difference(&written).collect();
    assert!(unknown.is_empty(), "docs/metrics.md names metrics the output lacks: {unknown:?}");
    // Each metric's row in the tables (`| name | labels | meaning |`) lists its labels.
    let parsed = Scrape::parse(&text);
    let mut rows = 0;
    for line in docs.lines().filter(|l| l.starts_with("| `costscope_")) {
        let cells: Vec<&str> = line.split('|').collect();
        let name = cells[1].trim().trim_matches('`');
        let labels: BTreeSet<&str> = cells[2]
            .split(',')
            .map(|l| l.trim().trim_matches('`'))
            .filter(|l| !l.is_empty())
            .collect();
        let family = &parsed.0.families[name];
        let have: BTreeSet<&str> = family.get_label_names().iter().map(String::as_str).collect();
        assert_eq!(labels, have, "{name}'s labels in docs/metrics.md");
        rows += 1;
    }
    assert_eq!(rows, written.len(), "one table row per metric");
}

/// Characters that would drive a terminal showing the file: the output replaces them with a
/// space, as every other export does; everything else in a value is kept exactly.
fn shown(text: &str) -> String {
    text.chars()
        .map(|c| {
            let unsafe_char = c != '\n'
                && (c.is_control()
                    || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'));
            if unsafe_char { ' ' } else { c }
        })
        .collect()
}

/// A CSV field, quoted.
fn field(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

#[test]
fn hostile_label_values_round_trip_and_never_reach_a_terminal() {
    // (ServiceName, cost a day): quotes, backslashes (one at the very end), a line break, a
    // backslash-n that is not one, Unicode with the format's own punctuation, terminal escapes.
    let services: [(&str, u32); 8] = [
        ("Quote \"q\" svc", 1),
        ("Back\\slash\\\\svc\\", 2),
        ("Line\nbreak", 3),
        ("Literal \\n not a break", 4),
        ("Café ☁ 東京 {a=\"1\",b=2} ✓", 5),
        ("\u{1b}]0;pwned\u{7}EC2\u{9b}31m\u{202e}gpj.exe", 6),
        ("tab\there\rcr", 7),
        ("plain", 8),
    ];
    let account = "acct\"1\\";
    let account_name = "Prod \"main\"\nEU \u{1b}[2J";
    let mut csv = String::from(
        "BilledCost,EffectiveCost,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,ProviderName,BillingAccountId,SubAccountId,SubAccountName,ServiceName,RegionId,ResourceId,ResourceType,ChargeCategory,Tags\n",
    );
    for day in 1..=10 {
        for (i, (service, cost)) in services.iter().enumerate() {
            csv.push_str(&format!(
                "{cost},{cost},2026-10-{day:02}T00:00:00Z,2026-10-{day:02}T01:00:00Z,USD,AWS,{a},{a},{n},{s},us-east-1,r-{i},Thing,Usage,\"{{\"\"team\"\":\"\"web\"\"}}\"\n",
                a = field(account),
                n = field(account_name),
                s = field(service),
            ));
        }
    }
    // A required tag key and a budget name from the configuration, hostile too.
    let tag_key = "te\"am\\\n\u{1b}]0;t\u{7}☁";
    let budget = "Budget \"B\" \\ \n ☁ \u{1b}[2J";
    let config = format!(
        "[tags]\nrequired = [{}]\n\n[[budget]]\nname = {}\namount = \"100\"\n",
        toml_string(tag_key),
        toml_string(budget)
    );
    let dir = tempfile::tempdir().unwrap();
    let focus = dir.path().join("hostile.csv");
    std::fs::write(&focus, csv).unwrap();
    let config_path = dir.path().join("costscope.toml");
    std::fs::write(&config_path, config).unwrap();
    let (text, json) = report(
        dir.path(),
        &["--focus", focus.to_str().unwrap(), "--config", config_path.to_str().unwrap()],
    );
    for bad in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}', '\t', '\r'] {
        assert!(!text.contains(bad), "{bad:?} reached the file");
    }
    let m = Scrape::parse(&text);

    // Services: each one's exact text (terminal controls as spaces) and its hand-computed spend.
    for (service, cost) in services {
        let v = m.get(
            "costscope_service_spend_month_to_date",
            &[("currency", "USD"), ("service", &shown(service))],
        );
        assert_eq!(v, f64::from(cost * 10), "{service:?}");
    }
    assert_eq!(
        m.get(
            "costscope_service_spend_month_to_date",
            &[("currency", "USD"), ("service", "Quote \"q\" svc")]
        ),
        10.0
    );
    assert_eq!(
        m.get(
            "costscope_service_spend_month_to_date",
            &[("currency", "USD"), ("service", "Back\\slash\\\\svc\\")]
        ),
        20.0
    );
    assert_eq!(
        m.get(
            "costscope_service_spend_month_to_date",
            &[("currency", "USD"), ("service", "Line\nbreak")]
        ),
        30.0
    );
    assert_eq!(
        m.get(
            "costscope_service_spend_month_to_date",
            &[("currency", "USD"), ("service", " ]0;pwned EC2 31m gpj.exe")]
        ),
        60.0
    );
    // …and the JSON report's services, exactly, the same way.
    let json_services: BTreeSet<String> = json["overview"][0]["top_services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| shown(s["service"].as_str().unwrap()))
        .collect();
    assert_eq!(m.label_values("costscope_service_spend_month_to_date", "service"), json_services);

    let total = f64::from(services.iter().map(|(_, c)| c * 10).sum::<u32>());
    let l = [("currency", "USD"), ("account_id", account), ("account_name", &*shown(account_name))];
    assert_eq!(m.get("costscope_account_spend_month_to_date", &l), total);
    assert_eq!(l[2].1, "Prod \"main\"\nEU  [2J");

    assert_eq!(m.get("costscope_tag_coverage_resource_ratio", &[("key", &shown(tag_key))]), 0.0);
    assert_eq!(shown(tag_key), "te\"am\\\n ]0;t ☁");
    let l = [("budget", &*shown(budget)), ("currency", "USD")];
    assert_eq!(m.get("costscope_budget_amount", &l), 100.0);
    assert_eq!(m.get("costscope_budget_actual", &l), total);
    let l = [("budget", &*shown(budget)), ("currency", "USD"), ("status", "over")];
    assert_eq!(m.get("costscope_budget_status", &l), 1.0);

    // The source's name carries the file's path.
    let source = format!("focus:{}", focus.display());
    assert_eq!(m.get("costscope_source_up", &[("source", &source)]), 1.0);
}

/// A TOML basic string holding `text` exactly.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[test]
fn many_accounts_services_and_anomalies_are_capped_with_the_rest_summed() {
    // 24 accounts, each with its own service: 10 a day for 20 days, then 10 + 100·k on the
    // 21st, a spike the detector flags (flat history, excess far above 50 and 10 %).
    let mut csv = String::from(
        "BilledCost,EffectiveCost,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,ProviderName,BillingAccountId,SubAccountId,ServiceName,RegionId,ResourceId,ResourceType,ChargeCategory\n",
    );
    for k in 1..=24u32 {
        for day in 1..=21u32 {
            let cost = if day == 21 { 10 + 100 * k } else { 10 };
            csv.push_str(&format!(
                "{cost},{cost},2026-10-{day:02}T00:00:00Z,2026-10-{day:02}T01:00:00Z,EUR,AWS,acct-{k:02},acct-{k:02},svc-{k:02},eu-west-1,r-{k},Thing,Usage\n"
            ));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let focus = dir.path().join("many.csv");
    std::fs::write(&focus, csv).unwrap();
    let (text, json) = report(dir.path(), &["--focus", focus.to_str().unwrap()]);
    let m = Scrape::parse(&text);
    let spend = |k: u32| f64::from(21 * 10 + 100 * k);
    let c = [("currency", "EUR")];
    assert_eq!(m.get("costscope_spend_month_to_date", &c), (1..=24).map(spend).sum::<f64>());
    assert_eq!(m.get("costscope_spend_month_to_date", &c), 35040.0);

    // The twenty largest accounts by name, the four smallest summed.
    let accounts = m.samples("costscope_account_spend_month_to_date");
    assert_eq!(accounts.len(), 20);
    for k in 5..=24 {
        let id = format!("acct-{k:02}");
        let l = [("currency", "EUR"), ("account_id", id.as_str()), ("account_name", "")];
        assert_eq!(m.get("costscope_account_spend_month_to_date", &l), spend(k), "{id}");
    }
    assert_eq!(m.get("costscope_other_accounts_spend_month_to_date", &c), 1840.0);
    assert_eq!(m.get("costscope_other_accounts", &c), 4.0);
    assert_eq!(json["account_spend"].as_array().unwrap().len(), 24, "the JSON lists them all");

    // The overview's ten largest services, the fourteen others summed.
    assert_eq!(m.samples("costscope_service_spend_month_to_date").len(), 10);
    let l = [("currency", "EUR"), ("service", "svc-15")];
    assert_eq!(m.get("costscope_service_spend_month_to_date", &l), spend(15));
    assert_eq!(m.get("costscope_other_services_spend_month_to_date", &c), 13440.0);
    assert_eq!(m.get("costscope_other_services", &c), 14.0);

    // 24 groups anomalous on the last day: all counted, the 20 largest excesses named.
    assert_eq!(json["anomalies"]["anomalies"].as_array().unwrap().len(), 24);
    assert_eq!(m.get("costscope_anomalies_recent", &c), 24.0);
    assert_eq!(m.samples("costscope_anomaly_active").len(), 20);
    for k in 5..=24 {
        let (service, account) = (format!("svc-{k:02}"), format!("acct-{k:02}"));
        let l = [
            ("service", &*service),
            ("account_id", &*account),
            ("account_name", ""),
            ("currency", "EUR"),
        ];
        assert_eq!(m.get("costscope_anomaly_active", &l), 1.0, "{service}");
        assert_eq!(m.get("costscope_anomaly_recent", &l), 1.0, "{service}");
        assert_eq!(m.get("costscope_anomaly_latest_excess", &l), f64::from(100 * k), "{service}");
    }
    assert_eq!(m.get("costscope_anomaly_groups", &[("status", "judged")]), 24.0);
}
