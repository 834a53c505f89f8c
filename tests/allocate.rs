//! `costscope allocate`: on the sample, the teams plus the unallocated line equal the bill of
//! `costs --sample` exactly under every split method, and each share equals an independent
//! computation from the FOCUS file; on a small hand-computed file, each method's figures, the
//! rule order, the tag normalization and the pools shown before their split; a bad
//! `[allocation]` exits 2 naming the file and line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Read;
use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_costscope")).args(args).output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code(), text(out.stdout).replace("\r\n", "\n"), text(out.stderr))
}

/// A decimal as an integer of 10^-18 units, exactly.
fn raw(text: &str) -> i128 {
    let (neg, digits) = text.strip_prefix('-').map_or((false, text), |d| (true, d));
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    assert!(frac.len() <= 18, "{text}");
    let v = int.parse::<i128>().unwrap() * 10i128.pow(18)
        + format!("{frac:0<18}").parse::<i128>().unwrap();
    if neg { -v } else { v }
}

/// The CSV's rows as header → value maps.
fn rows(csv_text: &str) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    reader
        .records()
        .map(|r| header.iter().cloned().zip(r.unwrap().iter().map(String::from)).collect())
        .collect()
}

fn of_kind<'a>(
    rows: &'a [BTreeMap<String, String>],
    kind: &str,
) -> Vec<&'a BTreeMap<String, String>> {
    rows.iter().filter(|r| r["kind"] == kind).collect()
}

/// Σ team totals + unallocated, and the total row: both must equal `bill`.
fn check_sums(rows: &[BTreeMap<String, String>], bill: i128) {
    let teams: i128 = of_kind(rows, "team").iter().map(|r| raw(&r["total_cost"])).sum();
    let unallocated = raw(&of_kind(rows, "unallocated")[0]["total_cost"]);
    let idle = raw(&of_kind(rows, "idle")[0]["total_cost"]);
    assert_eq!(teams + unallocated + idle, bill);
    assert_eq!(raw(&of_kind(rows, "total")[0]["total_cost"]), bill);
    // Each team's total is its direct cost plus its shares.
    for team in of_kind(rows, "team") {
        let shares: i128 = of_kind(rows, "share")
            .iter()
            .filter(|s| s["team"] == team["team"])
            .map(|s| raw(&s["shared_cost"]))
            .sum();
        assert_eq!(raw(&team["shared_cost"]), shares);
        assert_eq!(raw(&team["direct_cost"]) + shares, raw(&team["total_cost"]));
    }
}

fn write_config(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// The sample's billed total as `costs --sample --format json` prints it.
fn sample_bill() -> i128 {
    let (code, json, err) = run(&["costs", "--sample", "--by", "service", "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    raw(v["totals"][0]["billed_cost"].as_str().unwrap())
}

/// One line of the sample FOCUS file, read here without costscope.
struct SampleRow {
    cost: i128,
    service: String,
    category: String,
    month: String,
    tags: serde_json::Map<String, serde_json::Value>,
}

fn sample_rows() -> Vec<SampleRow> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/focus-2026-09-10.csv.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(&std::fs::read(path).unwrap()[..])
        .read_to_string(&mut text)
        .unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            // BilledCost(0), ServiceName(9), ChargeCategory(15), ChargePeriodStart(16), Tags(18)
            let tags = serde_json::from_str::<serde_json::Value>(&r[18])
                .ok()
                .and_then(|v| v.as_object().cloned())
                .unwrap_or_default();
            SampleRow {
                cost: raw(&r[0]),
                service: r[9].to_string(),
                category: r[15].to_string(),
                month: r[16][..7].to_string(),
                tags,
            }
        })
        .collect()
}

/// The README's folding: lower case, letters and digits only.
fn fold(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// The team of a row under `normalize = "fold"`: `team` as written, else any key folding to it.
fn team_of(row: &SampleRow) -> Option<String> {
    let value =
        |v: &serde_json::Value| v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(fold);
    row.tags
        .get("team")
        .and_then(value)
        .or_else(|| row.tags.iter().filter(|(k, _)| fold(k) == "team").find_map(|(_, v)| value(v)))
}

/// What the default pools take: tax and the support plans.
fn pooled(row: &SampleRow) -> Option<&'static str> {
    if row.category == "Tax" {
        Some("tax")
    } else if row.service.starts_with("AWS Support") {
        Some("support")
    } else {
        None
    }
}

#[test]
fn sample_teams_and_shares_match_an_independent_computation_and_sum_to_the_bill() {
    let data = sample_rows();
    let bill = sample_bill();
    assert_eq!(bill, data.iter().map(|r| r.cost).sum::<i128>());
    let mut direct: BTreeMap<String, i128> = BTreeMap::new();
    let mut pools: BTreeMap<&str, i128> = BTreeMap::new();
    let mut unallocated = 0;
    for row in &data {
        match (pooled(row), team_of(row)) {
            (Some(pool), _) => *pools.entry(pool).or_default() += row.cost,
            (None, Some(team)) => *direct.entry(team).or_default() += row.cost,
            (None, None) => unallocated += row.cost,
        }
    }
    let (code, out, err) = run(&["allocate", "--sample", "--by", "tag:team"]);
    assert_eq!(code, Some(0), "{err}");
    let rows = rows(&out);
    check_sums(&rows, bill);
    assert_eq!(raw(&of_kind(&rows, "unallocated")[0]["total_cost"]), unallocated);
    let pool_rows = of_kind(&rows, "pool");
    assert_eq!(pool_rows.len(), 2);
    for p in &pool_rows {
        assert_eq!(raw(&p["shared_cost"]), pools[p["pool"].as_str()], "{}", p["pool"]);
    }
    let teams = of_kind(&rows, "team");
    assert_eq!(teams.len(), direct.len());
    // Sample amounts have at most 10 decimals: products at 10^-10 fit in i128.
    let total_direct: i128 = direct.values().map(|d| d / 10i128.pow(8)).sum();
    for t in &teams {
        let d = direct[&fold(&t["team"])];
        assert_eq!(raw(&t["direct_cost"]), d, "{}", t["team"]);
        for s in of_kind(&rows, "share").iter().filter(|s| s["team"] == t["team"]) {
            let pool = pools[s["pool"].as_str()] / 10i128.pow(8);
            let exact = pool * (d / 10i128.pow(8)) * 10i128.pow(8) / total_direct;
            let got = raw(&s["shared_cost"]);
            assert!(
                got == exact || got == exact + 1,
                "{} {}: {got} vs {exact}",
                t["team"],
                s["pool"]
            );
        }
    }
    // Largest total first; shares of the bill are total / bill at 6 decimals.
    assert_eq!(teams[0]["team"], "data");
    let share = raw(&teams[0]["share_of_bill"]);
    let expected = raw(&teams[0]["total_cost"]) * 1_000_000 / bill;
    assert!((share / 10i128.pow(12) - expected).abs() <= 1);
}

const EVEN: &str = r#"
[allocation]
key = "team"
[[allocation.shared]]
name = "tax"
match = { charge_category = "Tax" }
split = "even"
[[allocation.shared]]
name = "support"
match = { service = "AWS Support*" }
split = "even"
"#;

const WEIGHTS: &str = r#"
[allocation]
key = "team"
unallocated = "pool"
[[allocation.shared]]
name = "support and tax"
match = { charge_category = "Tax" }
split = "weights"
weights = { data = "40", web = "35.5", platform = "24.5" }
[[allocation.shared]]
name = "support"
match = { service = "AWS Support (Business)" }
split = "weights"
weights = { ml = "100" }
"#;

#[test]
fn every_method_on_the_sample_sums_to_the_bill_to_the_last_digit() {
    let dir = tempfile::tempdir().unwrap();
    let bill = sample_bill();
    let data = sample_rows();
    let tax: i128 = data.iter().filter(|r| r.category == "Tax").map(|r| r.cost).sum();
    for (name, config) in [("even.toml", EVEN), ("weights.toml", WEIGHTS)] {
        let config = write_config(dir.path(), name, config);
        // The key comes from the config: no --by.
        let (code, out, err) = run(&["allocate", "--sample", "--config", &config]);
        assert_eq!(code, Some(0), "{name}: {err}");
        let rows = rows(&out);
        check_sums(&rows, bill);
        let shares = of_kind(&rows, "share");
        let team_count = of_kind(&rows, "team").len() as i128;
        if name == "even.toml" {
            for s in shares.iter().filter(|s| s["pool"] == "tax") {
                let got = raw(&s["shared_cost"]);
                assert!(got == tax / team_count || got == tax / team_count + 1);
            }
        } else {
            // 35.5 % of the tax to web, exactly (the tax has 10 decimals).
            let web = shares.iter().find(|s| s["team"] == "web" && s["pool"] == "support and tax");
            assert_eq!(raw(&web.unwrap()["shared_cost"]), tax * 355 / 1000);
            // Everything untagged went to the unallocated pool.
            assert_eq!(raw(&of_kind(&rows, "unallocated")[0]["total_cost"]), 0);
            assert!(of_kind(&rows, "pool").iter().any(|p| p["pool"] == "unallocated"));
        }
    }
    // JSON and Markdown carry the same figures.
    let config = write_config(dir.path(), "weights.toml", WEIGHTS);
    let (_, json, _) = run(&["allocate", "--sample", "--config", &config, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let c = &v["currencies"][0];
    let teams: i128 =
        c["teams"].as_array().unwrap().iter().map(|t| raw(t["total_cost"].as_str().unwrap())).sum();
    assert_eq!(teams + raw(c["unallocated"].as_str().unwrap()), bill);
    assert_eq!(raw(c["idle"].as_str().unwrap()), 0);
    assert_eq!(raw(c["bill"].as_str().unwrap()), bill);
}

#[test]
fn a_month_is_the_data_s_last_month_compared_with_the_one_before() {
    let data = sample_rows();
    let month = |m: &str| data.iter().filter(|r| r.month == m).map(|r| r.cost).sum::<i128>();
    let (code, out, err) = run(&["allocate", "--sample", "--by", "tag:team", "--period", "month"]);
    assert_eq!(code, Some(0), "{err}");
    let rows = rows(&out);
    check_sums(&rows, month("2026-10"));
    let total = of_kind(&rows, "total")[0];
    assert_eq!(raw(&total["previous_total_cost"]), month("2026-09"));
    assert_eq!(raw(&total["change"]), month("2026-10") - month("2026-09"));
    // ml's October direct cost is the budget figure of the sample README (4,192.95).
    let direct_ml: i128 = data
        .iter()
        .filter(|r| {
            r.month == "2026-10" && pooled(r).is_none() && team_of(r).as_deref() == Some("ml")
        })
        .map(|r| r.cost)
        .sum();
    let ml = of_kind(&rows, "team").into_iter().find(|t| t["team"] == "ml").unwrap();
    assert_eq!(raw(&ml["direct_cost"]), direct_ml);
    assert_eq!(direct_ml / 10i128.pow(16), 419295);
    for t in of_kind(&rows, "team") {
        assert_eq!(
            raw(&t["change"]),
            raw(&t["total_cost"]) - raw(&t["previous_total_cost"]),
            "{}",
            t["team"]
        );
    }
}

const HEADER: &str = "BilledCost,EffectiveCost,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,ServiceName,SubAccountId,ChargeCategory,ResourceId,Tags";

/// web 100 (`team`) and 50 (`Team ` = `Web`), data 50; an untagged bucket (20) and instance
/// (30) in account 111, untagged 3 in account 333; tax 10; support 7 in account 444. Bill 270.
fn small_focus(dir: &std::path::Path) -> String {
    let row = |cost: &str, service: &str, account: &str, category: &str, id: &str, tags: &str| {
        let tags = if tags.is_empty() {
            String::new()
        } else {
            format!("\"{}\"", tags.replace('"', "\"\""))
        };
        format!(
            "{cost},{cost},2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,USD,{service},{account},{category},{id},{tags}"
        )
    };
    let lines = [
        HEADER.to_string(),
        row("100", "EC2", "111", "Usage", "i-1", r#"{"team":"web"}"#),
        row("50", "EC2", "111", "Usage", "i-2", r#"{"Team ":"Web"}"#),
        row("50", "S3", "222", "Usage", "bucket-data", r#"{"team":"data"}"#),
        row("20", "S3", "111", "Usage", "bucket-logs", ""),
        row("30", "EC2", "111", "Usage", "i-9", ""),
        row("3", "EC2", "333", "Usage", "x", ""),
        row("10", "EC2", "111", "Tax", "", ""),
        row("7", "AWS Support (Business)", "444", "Purchase", "", ""),
    ];
    let path = dir.join("small.csv");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path.to_str().unwrap().to_string()
}

const RULES: &str = r#"
[[allocation.rule]]
match = { resource_id = "bucket-*" }
team = "data"
[[allocation.rule]]
match = { account = "111" }
team = "platform"
"#;

/// team → (direct, shared, total) of a run on the small file.
fn small_run(focus: &str, config: &str) -> (BTreeMap<String, [String; 3]>, String, String) {
    let (code, out, err) =
        run(&["allocate", "--focus", focus, "--config", config, "--by", "tag:team"]);
    assert_eq!(code, Some(0), "{err}");
    let rows = rows(&out);
    check_sums(&rows, raw("270"));
    let teams = of_kind(&rows, "team")
        .iter()
        .map(|t| {
            (
                t["team"].clone(),
                [t["direct_cost"].clone(), t["shared_cost"].clone(), t["total_cost"].clone()],
            )
        })
        .collect();
    (teams, of_kind(&rows, "unallocated")[0]["total_cost"].clone(), out)
}

fn figures(rows: &[(&str, &str, &str, &str)]) -> BTreeMap<String, [String; 3]> {
    rows.iter()
        .map(|(t, d, s, total)| (t.to_string(), [d.to_string(), s.to_string(), total.to_string()]))
        .collect()
}

#[test]
fn each_method_on_a_small_file_gives_the_hand_computed_figures() {
    let dir = tempfile::tempdir().unwrap();
    let focus = small_focus(dir.path());
    // Proportional tax (150:70:30 of 10) and even support (7 / 3, the extra unit to the first
    // team by name). The bucket goes to data: the first matching rule wins over account 111.
    let config = format!(
        "{RULES}\n[[allocation.shared]]\nname = \"tax\"\nmatch = {{ charge_category = \"Tax\" }}\n\
         [[allocation.shared]]\nname = \"support\"\nmatch = {{ service = \"AWS Support*\" }}\nsplit = \"even\"\n"
    );
    let (teams, unallocated, out) = small_run(&focus, &write_config(dir.path(), "a.toml", &config));
    assert_eq!(
        teams,
        figures(&[
            ("web", "150", "8.333333333333333333", "158.333333333333333333"),
            ("data", "70", "5.133333333333333334", "75.133333333333333334"),
            ("platform", "30", "3.533333333333333333", "33.533333333333333333"),
        ])
    );
    assert_eq!(unallocated, "3");
    // The pools come first, at their full amount, before any team row.
    let kinds: Vec<String> = rows(&out).iter().map(|r| r["kind"].clone()).collect();
    assert_eq!(kinds[..3], ["pool", "pool", "team"]);
    let (_, md, _) = run(&[
        "allocate",
        "--focus",
        &focus,
        "--config",
        &write_config(dir.path(), "a.toml", &config),
        "--by",
        "tag:team",
        "--format",
        "markdown",
    ]);
    let pools_at = md.find("Shared pools, before the split").unwrap();
    assert!(pools_at < md.find("### Teams").unwrap());
    assert!(md.contains("| tax | charge_category=Tax | proportional | 10.00 | 0.00 |"), "{md}");
    assert!(md.contains("| web | 150.00 | 6.00 | 2.33 | **158.33** |"), "{md}");

    // Weights (50/50 to web and ops, a team with no direct cost), the untagged rest pooled
    // proportionally: support 7 + untagged 3 = 10 → 150:70:30.
    let config = format!(
        "[allocation]\nunallocated = \"pool\"\n{RULES}\n[[allocation.shared]]\nname = \"tax\"\n\
         match = {{ charge_category = \"Tax\" }}\nsplit = \"weights\"\nweights = {{ web = \"50\", ops = \"50\" }}\n"
    );
    let (teams, unallocated, _) = small_run(&focus, &write_config(dir.path(), "b.toml", &config));
    assert_eq!(
        teams,
        figures(&[
            ("web", "150", "11", "161"),
            ("data", "70", "2.8", "72.8"),
            ("platform", "30", "1.2", "31.2"),
            ("ops", "0", "5", "5"),
        ])
    );
    assert_eq!(unallocated, "0");

    // Exact spellings: `Team ` is not `team`, so i-2 falls to the account rule (platform).
    // Default pools (tax, support) proportional to 100:70:80.
    let config = format!("[allocation]\nnormalize = \"exact\"\n{RULES}");
    let (teams, unallocated, _) = small_run(&focus, &write_config(dir.path(), "c.toml", &config));
    assert_eq!(
        teams,
        figures(&[
            ("web", "100", "6.8", "106.8"),
            ("data", "70", "4.76", "74.76"),
            ("platform", "80", "5.44", "85.44"),
        ])
    );
    assert_eq!(unallocated, "3");
}

#[test]
fn detail_lists_each_team_s_services() {
    let dir = tempfile::tempdir().unwrap();
    let focus = small_focus(dir.path());
    let config = write_config(dir.path(), "r.toml", RULES);
    let (code, out, err) =
        run(&["allocate", "--focus", &focus, "--config", &config, "--by", "tag:team", "--detail"]);
    assert_eq!(code, Some(0), "{err}");
    let services: Vec<(String, String, String)> = of_kind(&rows(&out), "service")
        .iter()
        .map(|r| (r["team"].clone(), r["service"].clone(), r["direct_cost"].clone()))
        .collect();
    let s = |t: &str, v: &str, c: &str| (t.to_string(), v.to_string(), c.to_string());
    assert_eq!(
        services,
        [s("web", "EC2", "150"), s("data", "S3", "70"), s("platform", "EC2", "30")]
    );
}

#[test]
fn bad_allocation_config_exits_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[allocation]\nkey = \"team\"\n[[allocation.shared]]\nname = \"x\"\nmatch = { service = \"S3\" }\nsplit = \"random\"\n",
            6,
            "unknown split",
        ),
        (
            "[[allocation.shared]]\nname = \"x\"\nmatch = { service = \"S3\" }\nsplit = \"weights\"\nweights = { web = \"60\", data = \"30\" }\n",
            5,
            "sum to 90",
        ),
        (
            "[[allocation.shared]]\nname = \"x\"\nmatch = { service = \"S3\" }\nsplit = \"weights\"\nweights = {}\n",
            5,
            "name no team",
        ),
        (
            "[[allocation.shared]]\nname = \"x\"\nmatch = { service = \"S3\" }\nsplit = \"weights\"\n",
            4,
            "needs weights",
        ),
        (
            "[[allocation.shared]]\nname = \"x\"\nmatch = { service = \"S3\" }\nweights = { web = \"100\" }\n",
            4,
            "only for split",
        ),
        ("\n[[allocation.rule]]\nmatch = {}\nteam = \"web\"\n", 3, "match is empty"),
        (
            "[[allocation.rule]]\nteam = \"web\"\nmatch = { colour = \"red\" }\n",
            3,
            "unknown match key",
        ),
        ("[allocation]\nnormalize = \"loose\"\n", 2, "unknown normalize"),
        ("[allocation]\n\nunallocated = \"hide\"\n", 3, "unknown unallocated"),
        ("[allocation]\nidle = \"hide\"\n", 2, "unknown idle"),
        ("[allocation]\ncost = \"list\"\n", 2, "unknown cost"),
        (
            "[allocation.namespaces]\nweb = \"web\"\njobs = \" \"\n",
            3,
            "needs a namespace and a team",
        ),
        (
            "[[allocation.shared]]\nname = \"x\"\nmatch = { service = \"S3\" }\nsplit = \"weights\"\nweights = { web = 100 }\n",
            5,
            "quoted percentage",
        ),
    ];
    for (i, (text, line, what)) in cases.iter().enumerate() {
        let config = write_config(dir.path(), &format!("bad{i}.toml"), text);
        let (code, _, err) =
            run(&["allocate", "--sample", "--by", "tag:team", "--config", &config]);
        assert_eq!(code, Some(2), "{text}: {err}");
        assert!(err.contains(&format!("bad{i}.toml:{line}:")), "{text}: {err}");
        assert!(err.contains(what), "{text}: {err}");
    }
    // A rule without any match table is named too.
    let config = write_config(dir.path(), "nomatch.toml", "[[allocation.rule]]\nteam = \"web\"\n");
    let (code, _, err) = run(&["allocate", "--sample", "--by", "tag:team", "--config", &config]);
    assert_eq!(code, Some(2));
    assert!(err.contains("nomatch.toml:1:") && err.contains("match"), "{err}");
    // No key anywhere, or not a tag. (`--sample` brings the sample's own key, `team`.)
    let empty = write_config(dir.path(), "empty.toml", "");
    let sample_file = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/focus-2026-09-10.csv.gz");
    let (code, _, err) = run(&["allocate", "--focus", sample_file, "--config", &empty]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--by tag:KEY"), "{err}");
    let (code, out, err) = run(&["allocate", "--sample", "--config", &empty]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("kind,team,"), "{out}");
    let (code, _, _) = run(&["allocate", "--sample", "--by", "service"]);
    assert_eq!(code, Some(2));
}

/// The sample cluster's nodes' instance ids, read from the snapshot file.
fn sample_node_ids() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/snapshot.json");
    let text = std::fs::read_to_string(path).unwrap();
    let mut ids = Vec::new();
    // Every `aws:///<az>/<instance-id>` provider id of the snapshot.
    for part in text.split("aws:///").skip(1) {
        let id: String = part.split('"').next().unwrap().rsplit('/').next().unwrap().to_string();
        ids.push(id);
    }
    assert!(!ids.is_empty());
    ids
}

#[test]
fn kubernetes_nodes_go_to_namespaces_by_requests_and_idle_is_its_own_line() {
    let dir = tempfile::tempdir().unwrap();
    let ids = sample_node_ids();
    // The sample's nodes run under a savings plan: their BilledCost is zero, so allocate the
    // EffectiveCost (the plan amortized over the usage it covers).
    let (_, csv_text, _) = run(&["costs", "--sample", "--by", "resource"]);
    let costs = rows(&csv_text);
    let node_cost: i128 = costs
        .iter()
        .filter(|r| ids.contains(&r["resource"]))
        .map(|r| raw(&r["effective_cost"]))
        .sum();
    assert!(node_cost > 0);
    let bill: i128 = costs.iter().map(|r| raw(&r["effective_cost"])).sum();
    let (_, json, _) = run(&["costs", "--sample", "--by", "service", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(raw(v["totals"][0]["effective_cost"].as_str().unwrap()), bill);
    let mapping = "[allocation.namespaces]\nweb = \"web\"\ndata = \"data\"\njobs = \"data\"\nmonitoring = \"platform\"\n";
    let head = "[allocation]\nkey = \"team\"\ncost = \"effective\"\n";
    let line = write_config(dir.path(), "k.toml", &format!("{head}{mapping}"));
    let (code, out, err) = run(&["allocate", "--sample", "--config", &line]);
    assert_eq!(code, Some(0), "{err}");
    let rows_line = rows(&out);
    check_sums(&rows_line, bill);
    let pool = of_kind(&rows_line, "pool").into_iter().find(|p| p["split"] == "requests").unwrap();
    assert_eq!(pool["pool"], "kubernetes:acme-prod-eks");
    assert_eq!(raw(&pool["shared_cost"]), node_cost);
    let idle = raw(&of_kind(&rows_line, "idle")[0]["total_cost"]);
    assert!(idle > 0 && idle < node_cost);
    // JSON: the namespaces' parts + idle = the nodes' cost; kube-system (unmapped) is the
    // pool's unallocated part.
    let (_, json, _) = run(&["allocate", "--sample", "--config", &line, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let pools = v["currencies"][0]["pools"].as_array().unwrap();
    let k = pools.iter().find(|p| p["split"] == "requests").unwrap();
    let parts: i128 = k["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| raw(n["amount"].as_str().unwrap()))
        .sum();
    assert_eq!(parts + raw(k["idle"].as_str().unwrap()), node_cost);
    let system =
        k["namespaces"].as_array().unwrap().iter().find(|n| n["namespace"] == "kube-system");
    assert_eq!(system.unwrap()["team"], serde_json::Value::Null);
    assert_eq!(k["left_unallocated"], system.unwrap()["amount"]);

    // Spread: no idle line, the same bill.
    let spread = write_config(dir.path(), "s.toml", &format!("{head}idle = \"spread\"\n{mapping}"));
    let (code, out, err) = run(&["allocate", "--sample", "--config", &spread]);
    assert_eq!(code, Some(0), "{err}");
    let rows_spread = rows(&out);
    check_sums(&rows_spread, bill);
    assert_eq!(raw(&of_kind(&rows_spread, "idle")[0]["total_cost"]), 0);
    let web_share = |rows: &[BTreeMap<String, String>]| {
        raw(&of_kind(rows, "share")
            .into_iter()
            .find(|s| s["team"] == "web" && s["pool"] == "kubernetes:acme-prod-eks")
            .unwrap()["shared_cost"])
    };
    assert!(web_share(&rows_spread) > web_share(&rows_line));
}

#[test]
fn a_team_named_like_a_formula_is_inert_text_in_csv_and_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        HEADER.to_string(),
        "5,5,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,USD,EC2,111,Usage,i-1,\"{\"\"team\"\":\"\"=1+1|x\"\"}\"".to_string(),
    ];
    let focus = dir.path().join("f.csv");
    std::fs::write(&focus, lines.join("\n") + "\n").unwrap();
    let focus = focus.to_str().unwrap();
    let exact = write_config(dir.path(), "e.toml", "[allocation]\nnormalize = \"exact\"\n");
    let (code, out, err) =
        run(&["allocate", "--focus", focus, "--by", "tag:team", "--config", &exact]);
    assert_eq!(code, Some(0), "{err}");
    let team = of_kind(&rows(&out), "team")[0]["team"].clone();
    assert_eq!(team, "'=1+1|x");
    let (_, md, _) = run(&[
        "allocate", "--focus", focus, "--by", "tag:team", "--config", &exact, "--format",
        "markdown",
    ]);
    assert!(md.contains("| =1+1\\|x | 5.00 |"), "{md}");
}

/// samples/allocation.toml makes every part of the model fire on the sample: tags, rules,
/// three kinds of split and the cluster's namespaces, and still adds up to the bill.
#[test]
fn the_samples_fuller_allocation_fires_every_part_and_adds_up() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/allocation.toml");
    let allocate = |config: &str| -> serde_json::Value {
        let (code, out, err) =
            run(&["allocate", "--sample", "--config", config, "--format", "json"]);
        assert_eq!(code, Some(0), "{err}");
        serde_json::from_str(&out).unwrap()
    };
    let with = allocate(path);
    let usd = &with["currencies"][0];
    let money = |v: &serde_json::Value| raw(v.as_str().unwrap());
    let pools = usd["pools"].as_array().unwrap();
    let names: Vec<&str> = pools.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["tax", "support", "networking", "kubernetes:acme-prod-eks"]);
    let splits: Vec<&str> = pools.iter().map(|p| p["split"].as_str().unwrap()).collect();
    assert_eq!(splits, ["proportional", "even", "weights", "requests"]);
    assert!(pools.iter().all(|p| money(&p["amount"]) > 0), "every pool has cost");
    assert!(!pools[3]["namespaces"].as_array().unwrap().is_empty());
    assert!(money(&usd["idle"]) > 0, "idle capacity on its own line");

    // Σ teams + unallocated + idle = the bill = the effective cost `costs` sums.
    let teams = usd["teams"].as_array().unwrap();
    let total: i128 = teams.iter().map(|t| money(&t["total_cost"])).sum();
    let bill = money(&usd["bill"]);
    assert_eq!(total + money(&usd["unallocated"]) + money(&usd["idle"]), bill);
    let (_, json, _) = run(&["costs", "--sample", "--by", "service", "--format", "json"]);
    let costs: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(bill, money(&costs["totals"][0]["effective_cost"]));

    // Even: every team's support share is the same to one unit of 10^-18.
    let share = |team: &serde_json::Value, pool: &str| {
        team["shares"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["pool"] == pool)
            .map_or(0, |s| money(&s["amount"]))
    };
    let support: Vec<i128> = teams.iter().map(|t| share(t, "support")).collect();
    let (lo, hi) = (support.iter().min().unwrap(), support.iter().max().unwrap());
    assert!(hi - lo <= 1, "{support:?}");
    // Weights: web's networking share is 40 % of the pool, to one unit.
    let networking = money(&pools[2]["amount"]);
    let web = teams.iter().find(|t| t["team"] == "web").unwrap();
    assert!((share(web, "networking") - networking * 40 / 100).abs() <= 1);

    // The rules: without them, exactly what they gave platform is unallocated instead.
    let text = std::fs::read_to_string(path).unwrap();
    let without_rules: String = text
        .split("\n\n")
        .filter(|block| !block.contains("[[allocation.rule]]"))
        .collect::<Vec<_>>()
        .join("\n\n");
    assert!(!without_rules.contains("allocation.rule") && without_rules.contains("[allocation]"));
    let dir = tempfile::tempdir().unwrap();
    let other = write_config(dir.path(), "no-rules.toml", &without_rules);
    let without = allocate(&other);
    let platform = |v: &serde_json::Value| {
        let teams = v["currencies"][0]["teams"].as_array().unwrap().clone();
        money(&teams.iter().find(|t| t["team"] == "platform").unwrap()["direct_cost"])
    };
    let gained = platform(&with) - platform(&without);
    assert!(gained > 0, "the EKS and ECR rules fire");
    assert_eq!(
        money(&without["currencies"][0]["unallocated"]) - money(&usd["unallocated"]),
        gained
    );
}
