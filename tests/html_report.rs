//! The HTML report in a real browser (headless Chromium over the DevTools protocol): it loads
//! from disk with no error and no request, its charts' shapes measure the report's own numbers,
//! its tables sort, it prints, and hostile text in the billing stays text.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common_browser;

use std::path::{Path, PathBuf};
use std::process::Command;

use common_browser::Browser;
use serde_json::Value;

fn costscope(dir: &Path, args: &[&str]) -> std::process::Output {
    let output = Command::new(env!("CARGO_BIN_EXE_costscope"))
        .args(args)
        .current_dir(dir)
        .env("XDG_CONFIG_HOME", "/nonexistent-costscope-test")
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "costscope {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn money(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap(),
        Value::Number(n) => n.as_f64().unwrap(),
        other => panic!("not money: {other}"),
    }
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}

/// Where a test leaves what a person should look at (the screenshot, the PDF).
fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("html-report");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_sample_report_renders_with_charts_that_measure_its_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let json = costscope(dir.path(), &["report", "--sample", "--format", "json"]);
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    costscope(dir.path(), &["report", "--sample", "--format", "html", "--out", "report.html"]);
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(!html.contains("http://") && !html.contains("https://"), "the page names no URL");

    let mut browser = Browser::start();
    browser.open(&dir.path().join("report.html"));
    assert_eq!(browser.errors(), Vec::<String>::new());
    assert_eq!(browser.eval("document.scripts.length"), 1);

    // Daily chart: each day's total is the overview's, each segment's figure the report's
    // daily spend by service, and every segment's height is its amount on one scale.
    let days = browser.eval(
        r#"Array.from(document.querySelectorAll('svg.daily g.day')).map(g => ({
            day: g.dataset.day, total: g.dataset.total,
            segs: Array.from(g.querySelectorAll('rect.seg')).map(r => ({
                series: r.dataset.series, value: r.dataset.value, height: r.getBBox().height }))
        }))"#,
    );
    let scale: f64 = browser
        .eval("document.querySelector('svg.daily').dataset.scale")
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let overview = &report["overview"][0];
    let daily = overview["daily"].as_array().unwrap();
    let days = days.as_array().unwrap();
    assert_eq!(days.len(), daily.len());
    assert_eq!(days.len(), 61, "September and October");
    let spend = &report["daily_by_service"][0];
    let services: Vec<&str> =
        spend["services"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert_eq!(services.len(), 6);
    let mut segments = 0;
    for ((drawn, (day, total)), expected) in days
        .iter()
        .zip(daily.iter().map(|d| (d[0].as_str().unwrap(), money(&d[1]))))
        .zip(spend["days"].as_array().unwrap())
    {
        assert_eq!(drawn["day"], day);
        assert!(close(drawn["total"].as_str().unwrap().parse().unwrap(), total, 1e-9), "{day}");
        let mut want: Vec<(String, f64)> = services
            .iter()
            .zip(expected["usage"].as_array().unwrap())
            .map(|(s, v)| (s.to_string(), money(v)))
            .collect();
        want.push(("Other usage".into(), money(&expected["other_usage"])));
        want.push((
            "Other charges (purchases, fees, tax, credits)".into(),
            money(&expected["other_charges"]),
        ));
        want.retain(|(_, v)| *v != 0.0);
        let got: Vec<(String, f64)> = drawn["segs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["series"].as_str().unwrap().to_string(),
                    s["value"].as_str().unwrap().parse().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, want, "{day}");
        for s in drawn["segs"].as_array().unwrap() {
            let value: f64 = s["value"].as_str().unwrap().parse().unwrap();
            let height = s["height"].as_f64().unwrap();
            assert!(
                close(height, value.abs() * scale, 0.01),
                "{day} {}: {height} px for {value}",
                s["series"]
            );
            segments += 1;
        }
    }
    assert!(segments > 300, "{segments} segments drawn");
    // The one-time Marketplace purchase of 15 October is drawn apart from usage.
    let purchase = browser.eval(
        r#"document.querySelector('g.day[data-day="2026-10-15"] rect[data-series^="Other charges"]').dataset.value"#,
    );
    assert!(money(&purchase) >= 3600.0, "{purchase}");

    // Savings by rule: each bar's length is its savings over the largest.
    let rules = browser.eval(
        r#"Array.from(document.querySelectorAll('table.by-rule tbody tr')).map(tr => {
            const bar = tr.querySelector('.bar'), cell = bar.parentElement;
            return { rule: tr.dataset.rule, value: bar.dataset.value,
                     ratio: bar.getBoundingClientRect().width / (cell.getBoundingClientRect().width - 16) };
        })"#,
    );
    let by_rule = report["by_rule"].as_array().unwrap();
    let rules = rules.as_array().unwrap();
    assert_eq!(rules.len(), by_rule.len());
    let savings = |r: &Value| -> f64 {
        r["estimated_monthly_savings"].as_object().unwrap().values().map(money).sum()
    };
    let max = by_rule.iter().map(savings).fold(0.0, f64::max);
    for (drawn, rule) in rules.iter().zip(by_rule) {
        assert_eq!(drawn["rule"], rule["rule_id"]);
        let value: f64 = drawn["value"].as_str().unwrap().parse().unwrap();
        assert!(close(value, savings(rule), 1e-6), "{}", rule["rule_id"]);
        assert!(close(drawn["ratio"].as_f64().unwrap(), value / max, 0.01), "{drawn}");
    }

    // The headline's savings card is the report's total.
    let total = money(&report["totals"][0]["estimated_monthly_savings"]);
    let card =
        browser.eval(r#"document.querySelector('[data-card="savings"] .value').textContent"#);
    let shown: f64 =
        card.as_str().unwrap().trim_end_matches(" USD").replace(',', "").parse().unwrap();
    assert!(close(shown, total, 0.005), "{card} vs {total}");

    // Cost by service: the rows are `costs --by service`'s.
    let costs =
        costscope(dir.path(), &["costs", "--sample", "--by", "service", "--format", "json"]);
    let costs: Value = serde_json::from_slice(&costs.stdout).unwrap();
    let rows = browser.eval(
        r#"Array.from(document.querySelectorAll('table.breakdown[data-dimension="service"] tbody tr')).map(tr => [tr.dataset.key, tr.cells[1].dataset.sort])"#,
    );
    // Fifteen services by name, the rest summed in one row.
    let (rows, want) = (rows.as_array().unwrap(), costs["rows"].as_array().unwrap());
    assert_eq!(rows.len(), 16);
    for (row, want) in rows.iter().zip(want).take(15) {
        assert_eq!(row[0], want["key"]);
        assert!(close(money(&row[1]), money(&want["billed_cost"]), 1e-9), "{row}");
    }
    let rest: f64 = want.iter().skip(15).map(|r| money(&r["billed_cost"])).sum();
    assert!(close(money(&rows[15][1]), rest, 1e-6), "{} vs {rest}", rows[15][1]);

    // Tag coverage gauges: the arc's length is the share of a half circle of radius 64.
    let gauges = browser.eval(
        r#"Array.from(document.querySelectorAll('figure.gauge')).map(f => ({ key: f.dataset.key,
            value: f.dataset.value, arc: f.querySelector('path.arc') ? f.querySelector('path.arc').getTotalLength() : 0 }))"#,
    );
    let keys = report["tag_coverage"]["keys"].as_array().unwrap();
    assert_eq!(gauges.as_array().unwrap().len(), keys.len());
    for (gauge, key) in gauges.as_array().unwrap().iter().zip(keys) {
        assert_eq!(gauge["key"], key["key"]);
        let share = money(&key["cost_share"]);
        assert!(close(money(&gauge["value"]), share, 1e-9));
        let expected = std::f64::consts::PI * 64.0 * share;
        assert!(close(gauge["arc"].as_f64().unwrap(), expected, 0.5), "{gauge}: {expected}");
    }

    // Budgets: the fill is the actual on the scale of the largest of amount, actual, forecast.
    let budgets = browser.eval(
        r#"Array.from(document.querySelectorAll('.budget')).map(b => {
            const track = b.querySelector('.track').getBoundingClientRect().width;
            const fill = b.querySelector('.fill'), limit = b.querySelector('.limit-mark');
            return { name: b.dataset.budget, status: b.dataset.status, actual: fill.dataset.value,
                     fill: fill.getBoundingClientRect().width / track,
                     limit: (limit.getBoundingClientRect().left + 1 - b.querySelector('.track').getBoundingClientRect().left) / track };
        })"#,
    );
    let want = report["budgets"].as_array().unwrap();
    assert_eq!(budgets.as_array().unwrap().len(), want.len());
    for (drawn, budget) in budgets.as_array().unwrap().iter().zip(want) {
        assert_eq!(drawn["name"], budget["name"]);
        assert_eq!(drawn["status"], budget["status"]);
        let actual = money(&budget["actual"]);
        let amount = money(&budget["amount"]);
        let forecast = budget["forecast"].as_str().map_or(0.0, |f| f.parse().unwrap());
        let scale = amount.max(actual).max(forecast);
        assert!(close(money(&drawn["actual"]), actual, 1e-9));
        assert!(close(drawn["fill"].as_f64().unwrap(), actual / scale, 0.005), "{drawn}");
        assert!(close(drawn["limit"].as_f64().unwrap(), amount / scale, 0.005), "{drawn}");
    }
    let statuses: Vec<&str> = want.iter().map(|b| b["status"].as_str().unwrap()).collect();
    assert!(statuses.contains(&"over") && statuses.contains(&"at_risk"), "{statuses:?}");

    // Findings sort by a click on a heading, both ways.
    let column = r#"Array.from(document.querySelector('table.findings').tHead.rows[0].cells).findIndex(th => th.textContent.startsWith('Savings'))"#;
    let values = format!(
        r#"(() => {{ const i = {column}; return Array.from(document.querySelector('table.findings').tBodies[0].rows).map(r => parseFloat(r.cells[i].dataset.sort)); }})()"#
    );
    let click = format!(
        r#"document.querySelector('table.findings').tHead.rows[0].cells[{column}].click()"#
    );
    let before: Vec<f64> = serde_json::from_value(browser.eval(&values)).unwrap();
    assert_eq!(
        before.len(),
        report["findings"].as_array().unwrap().iter().filter(|f| f["alternative"] == false).count()
    );
    browser.eval(&click);
    let ascending: Vec<f64> = serde_json::from_value(browser.eval(&values)).unwrap();
    assert!(ascending.windows(2).all(|w| w[0] <= w[1]));
    browser.eval(&click);
    let descending: Vec<f64> = serde_json::from_value(browser.eval(&values)).unwrap();
    assert!(descending.windows(2).all(|w| w[0] >= w[1]));
    assert_eq!(descending.first().copied(), before.iter().copied().reduce(f64::max));

    // Chargeback: the teams are the report's, each bar's two parts its direct and shared cost on
    // one scale, and the table adds up to the bill.
    let teams = browser.eval(
        r#"Array.from(document.querySelectorAll('table.chargeback tbody tr')).map(tr => {
            const cell = tr.querySelector('.barcell').getBoundingClientRect().width - 16;
            return { team: tr.dataset.team, total: tr.cells[3].dataset.sort,
                     parts: Array.from(tr.querySelectorAll('.bar')).map(b => ({ value: b.dataset.value, width: b.getBoundingClientRect().width / cell })) };
        })"#,
    );
    let usd = &report["allocation"]["currencies"][0];
    let want = usd["teams"].as_array().unwrap();
    let teams = teams.as_array().unwrap();
    assert_eq!(teams.len(), want.len() + 1, "the teams and the unallocated line (no idle)");
    let largest =
        want.iter().map(|t| money(&t["total_cost"])).fold(money(&usd["unallocated"]), f64::max);
    let mut sum = 0.0;
    for (drawn, team) in teams.iter().zip(want) {
        assert_eq!(drawn["team"], team["team"]);
        assert!(close(money(&drawn["total"]), money(&team["total_cost"]), 1e-9));
        let parts = drawn["parts"].as_array().unwrap();
        for (part, key) in parts.iter().zip(["direct_cost", "shared_cost"]) {
            assert!(close(money(&part["value"]), money(&team[key]), 1e-9), "{drawn}");
            assert!(
                close(part["width"].as_f64().unwrap(), money(&team[key]) / largest, 0.01),
                "{drawn}"
            );
        }
        sum += money(&drawn["total"]);
    }
    sum += money(&teams[want.len()]["total"]);
    assert!(close(sum, money(&usd["bill"]), 1e-6), "{sum} vs {}", usd["bill"]);

    let png = browser.screenshot();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    std::fs::write(artifacts().join("sample.png"), &png).unwrap();
    let pdf = browser.pdf();
    assert!(pdf.starts_with(b"%PDF-"));
    std::fs::write(artifacts().join("sample.pdf"), &pdf).unwrap();
    assert_eq!(browser.errors(), Vec::<String>::new());
}

/// Markup that would run, load or restyle something if it reached the page as markup.
const PAYLOADS: [&str; 6] = [
    "<script>window.__pwned=1</script>",
    "\"><img src=x onerror=\"window.__pwned=2\">",
    "</style><svg onload=window.__pwned=3>",
    "'><a href=\"javascript:window.__pwned=4\">x</a>",
    "</title></textarea><iframe src=\"http://127.0.0.1:9/\"></iframe>",
    "<!-- ]]> &amp; &lt;",
];
/// Terminal controls and a bidirectional override, as tests/terminal_injection.rs uses them.
const CONTROLS: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m\u{202e}gpj.exe";

fn csv_field(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// Three weeks of FOCUS billing whose every text column carries a payload, with a spike on the
/// last day (an anomaly) and a hostile purchase.
fn hostile_focus() -> String {
    let mut text = String::from(
        "BilledCost,EffectiveCost,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,ProviderName,BillingAccountId,BillingAccountName,SubAccountId,ServiceName,RegionId,ResourceId,ResourceType,ChargeCategory,Tags\n",
    );
    for day in 1..=28 {
        for (i, payload) in PAYLOADS.iter().enumerate() {
            let cost = if day == 28 && i == 0 { "900" } else { "10" };
            let tags =
                serde_json::json!({ "team": format!("{payload}{CONTROLS}"), (*payload): "v" })
                    .to_string();
            let fields = [
                cost.to_string(),
                cost.to_string(),
                format!("2026-10-{day:02}T00:00:00Z"),
                format!("2026-10-{day:02}T01:00:00Z"),
                "USD".into(),
                csv_field(&format!("AWS{payload}")),
                csv_field(&format!("1111{}", i)),
                csv_field(&format!("{payload}{CONTROLS}")),
                csv_field(&format!("1111{}", i)),
                csv_field(&format!("{payload}{CONTROLS}")),
                csv_field(payload),
                csv_field(&format!("i-{i}{payload}")),
                csv_field("Instance"),
                "Usage".into(),
                csv_field(&tags),
            ];
            text.push_str(&fields.join(","));
            text.push('\n');
        }
    }
    text.push_str(&format!(
        "500,500,2026-10-03T00:00:00Z,2026-10-04T00:00:00Z,USD,AWS,11110,,11110,{},,,,Purchase,{{}}\n",
        csv_field(&format!("Marketplace{}", PAYLOADS[1]))
    ));
    text
}

#[test]
fn hostile_text_in_the_billing_stays_text() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hostile.csv"), hostile_focus()).unwrap();
    let budget_name = PAYLOADS[2].replace('"', "\\\"");
    let tag_key = PAYLOADS[0].replace('"', "\\\"");
    std::fs::write(
        dir.path().join("costscope.toml"),
        format!(
            "[tags]\nrequired = [\"team\", \"{tag_key}\"]\n\n[[budget]]\nname = \"{budget_name}\"\namount = \"100\"\n"
        ),
    )
    .unwrap();
    costscope(
        dir.path(),
        &[
            "--config",
            "costscope.toml",
            "report",
            "--focus",
            "hostile.csv",
            "--format",
            "html",
            "--out",
            "hostile.html",
        ],
    );
    let html = std::fs::read_to_string(dir.path().join("hostile.html")).unwrap();
    for c in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
        assert!(!html.contains(c), "{c:?} reached the page");
    }

    let mut browser = Browser::start();
    browser.open(&dir.path().join("hostile.html"));
    assert_eq!(browser.eval("typeof window.__pwned"), "undefined");
    assert_eq!(browser.eval("document.scripts.length"), 1);
    assert_eq!(browser.eval("document.querySelectorAll('img, iframe, object, embed, a[href]:not([href^=\"#\"]), style ~ style').length"), 0);
    assert_eq!(
        browser.eval(
            "Array.from(document.querySelectorAll('*')).filter(e => Array.from(e.attributes).some(a => a.name.startsWith('on'))).length"
        ),
        0
    );
    // Each payload is there to read, as the text it was.
    let text = browser.eval("document.body.textContent").as_str().unwrap().to_string();
    for payload in PAYLOADS {
        assert!(text.contains(payload), "{payload} is not shown as text");
    }
    // And the page still works: its sections are there and the findings sort.
    let sections =
        browser.eval("Array.from(document.querySelectorAll('main > section')).map(s => s.id)");
    for id in ["headline", "daily", "spend", "tags", "savings", "budgets", "anomalies"] {
        assert!(sections.as_array().unwrap().iter().any(|s| s == id), "{id} missing: {sections}");
    }
    assert_eq!(browser.errors(), Vec::<String>::new());
    std::fs::write(artifacts().join("hostile.png"), browser.screenshot()).unwrap();
}
