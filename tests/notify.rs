//! `costscope notify` against real HTTP/1.1 servers on 127.0.0.1 that record every request:
//! the Slack and generic bodies carry the figures `report --format json` gives for the same
//! data; retries, timeouts and refused payloads end as they should, and no message ever holds
//! the URL's secret path; `--only-on-change` sends only what is new and remembers only what was
//! delivered; hostile names cannot ping or link in Slack.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

const SECRET: &str = "SECRETxyz";

/// One request as the server read it.
#[derive(Clone, Debug)]
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// When it was read.
    at: Instant,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// What the server does with the n-th request.
#[derive(Clone, Debug)]
enum Reply {
    Status(u16, &'static str),
    /// 429 with `Retry-After: N`.
    TooMany(u64),
    /// Reads the request, then never answers (the connection stays open a minute).
    Hang,
}

/// A loopback HTTP/1.1 server answering requests in the order of `script`, then `rest`.
struct Server {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    fn start(script: Vec<Reply>, rest: Reply) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let seen = Arc::clone(&seen);
                let script = script.clone();
                let rest = rest.clone();
                std::thread::spawn(move || serve(stream, &seen, &script, &rest));
            }
        });
        Server { port, requests }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn slack_url(&self) -> String {
        self.url(&format!("/services/T000/B000/{SECRET}"))
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<Request>>, script: &[Reply], rest: &Reply) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap();
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let n = {
        let mut seen = seen.lock().unwrap();
        seen.push(Request { method, path, headers, body, at: Instant::now() });
        seen.len() - 1
    };
    let reply = script.get(n).unwrap_or(rest);
    let mut stream = stream;
    match reply {
        Reply::Hang => std::thread::sleep(Duration::from_secs(60)),
        Reply::TooMany(secs) => {
            let answer = format!(
                "HTTP/1.1 429 Too Many Requests\r\nRetry-After: {secs}\r\nContent-Length: 12\r\nConnection: close\r\n\r\nrate_limited"
            );
            let _ = stream.write_all(answer.as_bytes());
        }
        Reply::Status(code, text) => {
            let answer = format!(
                "HTTP/1.1 {code} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    }
}

/// A home for one test: config, cache and data directories of its own.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home { dir: tempfile::tempdir().unwrap() }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }

    fn write(&self, name: &str, text: &str) -> String {
        std::fs::write(self.dir.path().join(name), text).unwrap();
        self.path(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_costscope"));
        c.args(args)
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .env("XDG_CACHE_HOME", self.dir.path().join("xdg-cache"))
            .env("COSTSCOPE_CACHE_DIR", self.dir.path().join("cache"))
            .env("COSTSCOPE_NOTIFY_BACKOFF_MS", "1")
            .env_remove("RUST_LOG");
        c
    }

    fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
        run_command(self.command(args))
    }

    /// Files under the notify state directory.
    fn state_files(&self) -> Vec<String> {
        match std::fs::read_dir(self.dir.path().join("cache").join("notify")) {
            Ok(entries) => entries.map(|e| e.unwrap().file_name().into_string().unwrap()).collect(),
            Err(_) => Vec::new(),
        }
    }
}

fn run_command(mut c: Command) -> (Option<i32>, String, String) {
    let out = c.output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code(), text(out.stdout), text(out.stderr))
}

/// `report --format json` of the same sources, for the figures to compare with.
fn report_json(home: &Home, sources: &[&str]) -> Value {
    let mut args = vec!["report", "--format", "json"];
    args.extend_from_slice(sources);
    let (code, out, err) = home.run(&args);
    assert_eq!(code, Some(0), "{err}");
    serde_json::from_str(&out).unwrap()
}

/// A decimal string as costscope's two-decimal display writes it: rounded half to even,
/// thousands separated (`12345.675` → `12,345.68`).
fn two_dp(text: &str) -> String {
    let (neg, digits) = text.strip_prefix('-').map_or((false, text), |d| (true, d));
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let frac = format!("{frac:0<18}");
    let scaled: i128 = format!("{int}{frac}").parse().unwrap();
    let step = 10i128.pow(16);
    let (q, r) = (scaled / step, scaled % step);
    let half = step / 2;
    let cents = if r > half || (r == half && q % 2 == 1) { q + 1 } else { q };
    let int = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if neg && cents != 0 { "-" } else { "" };
    format!("{sign}{grouped}.{:02}", cents % 100)
}

/// Every mrkdwn or plain text of a Slack message, with the block it is in.
fn slack_texts(message: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for block in message["blocks"].as_array().unwrap() {
        if let Some(t) = block["text"]["text"].as_str() {
            out.push(t.to_string());
        }
        for f in block["fields"].as_array().into_iter().flatten() {
            out.push(f["text"].as_str().unwrap().to_string());
        }
        for e in block["elements"].as_array().into_iter().flatten() {
            out.push(e["text"].as_str().unwrap().to_string());
        }
    }
    out
}

fn field<'a>(texts: &'a [String], title: &str) -> &'a str {
    texts.iter().find(|t| t.starts_with(title)).unwrap_or_else(|| panic!("{title}: {texts:?}"))
}

/// Names of the report's budgets with `status`.
fn budgets_with(report: &Value, status: &str) -> Vec<String> {
    report["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["status"] == status)
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn slack_gets_one_block_kit_post_with_the_reports_figures() {
    let home = Home::new();
    let server = Server::start(Vec::new(), Reply::Status(200, "ok"));
    let url = server.slack_url();
    let (code, out, err) = home.run(&["notify", "--sample", "--slack-webhook", &url]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.is_empty(), "{out}");
    let sent = format!(
        "digest sent to Slack webhook http://127.0.0.1:{}/… (HTTP 200, 1 attempt)",
        server.port
    );
    assert!(err.contains(&sent), "{err}");
    assert!(!err.contains(SECRET), "{err}");

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/services/T000/B000/SECRETxyz"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let message = r.json();
    let blocks = message["blocks"].as_array().unwrap();
    assert!(blocks.len() <= 50);
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["text"], "costscope digest: October 2026");
    let texts = slack_texts(&message);
    assert!(texts.iter().all(|t| t.chars().count() <= 3000));
    assert!(message["text"].as_str().unwrap().starts_with("costscope digest: "));

    let report = report_json(&home, &["--sample"]);
    let overview = &report["overview"][0];
    let currency = overview["currency"].as_str().unwrap();
    let spend = field(&texts, "*Spend October 2026");
    let month = two_dp(overview["current_month"]["billed_cost"].as_str().unwrap());
    assert!(spend.contains(&format!("\n{month} {currency}")), "{spend}");
    let previous = two_dp(overview["previous_month"]["billed_cost"].as_str().unwrap());
    assert!(spend.contains(&format!("previous month {previous}")), "{spend}");
    let forecast = field(&texts, "*Forecast October 2026*");
    let total = two_dp(overview["forecast"]["total"].as_str().unwrap());
    assert!(forecast.contains(&format!("\n{total} {currency}")), "{forecast}");

    let savings = two_dp(report["totals"][0]["estimated_monthly_savings"].as_str().unwrap());
    let resources = report["totals"][0]["resources"].as_u64().unwrap();
    assert_eq!(
        field(&texts, "*Potential savings*"),
        format!("*Potential savings*\n{savings} {currency}/month ({resources} resources)")
    );

    let (over, at_risk) = (budgets_with(&report, "over"), budgets_with(&report, "at_risk"));
    assert!(!over.is_empty() && !at_risk.is_empty(), "the sample has both");
    let ok = report["budgets"].as_array().unwrap().len() - over.len() - at_risk.len();
    assert_eq!(
        field(&texts, "*Budgets*\n"),
        format!("*Budgets*\n{} over, {} at risk, {ok} ok", over.len(), at_risk.len())
    );
    let list = texts.iter().find(|t| t.starts_with("*Budgets*\n•")).unwrap();
    for name in &over {
        assert!(list.contains(&format!("*{name}* over")), "{name}: {list}");
    }
    for name in &at_risk {
        assert!(list.contains(&format!("*{name}* at risk")), "{name}: {list}");
    }
    assert_eq!(list.lines().count(), 1 + over.len() + at_risk.len(), "{list}");

    let anomalies = report["anomalies"]["anomalies"].as_array().unwrap();
    assert!(!anomalies.is_empty());
    assert_eq!(
        field(&texts, "*Anomalies*\n").lines().nth(1),
        Some(anomalies.len().to_string().as_str())
    );
    let listed = texts.iter().find(|t| t.starts_with("*Anomalies*\n•")).unwrap();
    let top = &anomalies[0];
    // One line per run of days: the top anomaly's run first, from its first day.
    let first = listed.lines().nth(1).unwrap();
    let since = top["since"].as_str().unwrap();
    let run: Vec<&Value> =
        anomalies.iter().filter(|a| a["since"] == since && a["group"] == top["group"]).collect();
    let last = run.iter().map(|a| a["day"].as_str().unwrap()).max().unwrap();
    assert!(first.starts_with(&format!("• {since} → {last} ({} days) *", run.len())), "{listed}");
    assert!(
        first.contains(&format!(
            "*: up to +{} {currency} over",
            two_dp(top["excess"].as_str().unwrap())
        )),
        "{listed}"
    );
    let runs: std::collections::BTreeSet<(String, String)> =
        anomalies.iter().map(|a| (a["group"].to_string(), a["since"].to_string())).collect();
    assert_eq!(listed.lines().count(), 1 + runs.len(), "{listed}");
    let by_rule = &report["by_rule"][0];
    let top_savings = texts.iter().find(|t| t.starts_with("*Top savings*")).unwrap();
    assert!(
        top_savings.lines().nth(1).unwrap().contains(&format!(
            "{}: *{} {currency}*/month",
            by_rule["title"].as_str().unwrap(),
            two_dp(by_rule["estimated_monthly_savings"][currency].as_str().unwrap())
        )),
        "{top_savings}"
    );
}

#[test]
fn the_generic_webhook_gets_the_digest_json_and_dry_run_prints_the_same() {
    let home = Home::new();
    let server = Server::start(Vec::new(), Reply::Status(204, ""));
    let url = server.url("/hooks/costs?token=SECRETxyz");
    let (code, _, err) = home.run(&["notify", "--sample", "--webhook", &url]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains(SECRET), "{err}");
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("content-type"), Some("application/json"));
    let digest = requests[0].json();
    assert_eq!(digest["schema"], "costscope.digest/v1");

    let report = report_json(&home, &["--sample"]);
    let overview = &report["overview"][0];
    let spend = &digest["spend"][0];
    assert_eq!(spend["currency"], overview["currency"]);
    assert_eq!(spend["month"], "2026-10");
    assert_eq!(spend["month_to_date"], overview["current_month"]["billed_cost"]);
    assert_eq!(spend["previous_month"], overview["previous_month"]["billed_cost"]);
    assert_eq!(spend["change"], overview["change"]);
    assert_eq!(spend["change_percent"], overview["change_percent"]);
    assert_eq!(spend["forecast"], overview["forecast"]["total"]);
    assert_eq!(spend["forecast_low"], overview["forecast"]["low"]);
    assert_eq!(spend["forecast_high"], overview["forecast"]["high"]);
    assert_eq!(digest["collected_at"], report["collected_at"]);
    let totals = &report["totals"][0];
    for key in ["currency", "estimated_monthly_savings", "findings", "resources"] {
        assert_eq!(digest["savings"][0][key], totals[key], "{key}");
    }
    let top = &digest["top_savings"][0];
    let rule = &report["by_rule"][0];
    assert_eq!(top["rule_id"], rule["rule_id"]);
    assert_eq!(
        top["estimated_monthly_savings"],
        rule["estimated_monthly_savings"][top["currency"].as_str().unwrap()]
    );
    assert!(digest["top_savings"].as_array().unwrap().len() <= 5);
    let names = |v: &Value, key: &str| -> Vec<(String, String)> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (b["name"].as_str().unwrap().to_string(), b["status"].as_str().unwrap().to_string())
            })
            .collect()
    };
    assert_eq!(names(&digest, "budgets"), names(&report, "budgets"));
    let report_anomalies = report["anomalies"]["anomalies"].as_array().unwrap();
    let anomalies = digest["anomalies"].as_array().unwrap();
    assert_eq!(anomalies.len(), report_anomalies.len());
    for (a, r) in anomalies.iter().zip(report_anomalies) {
        assert_eq!((&a["day"], &a["excess"], &a["since"]), (&r["day"], &r["excess"], &r["since"]));
    }
    assert!(digest.get("changes").is_none(), "only --only-on-change says why");

    // --dry-run prints that body and sends nothing.
    let (code, out, err) = home.run(&["notify", "--sample", "--webhook", &url, "--dry-run"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), digest);
    assert_eq!(server.requests().len(), 1);
    assert!(!err.contains(SECRET) && !out.contains(SECRET), "{err}");
    // Without any URL it previews both bodies: the Slack message, then the digest.
    let (code, out, err) = home.run(&["notify", "--sample", "--dry-run"]);
    assert_eq!(code, Some(0), "{err}");
    let bodies: Vec<Value> =
        serde_json::Deserializer::from_str(&out).into_iter().map(Result::unwrap).collect();
    assert_eq!(bodies.len(), 2);
    assert!(bodies[0]["blocks"].is_array());
    assert_eq!(bodies[1], digest);
}

#[test]
fn server_errors_are_retried_until_one_succeeds() {
    let home = Home::new();
    let server = Server::start(
        vec![Reply::Status(500, "oops"), Reply::Status(503, "busy")],
        Reply::Status(200, "ok"),
    );
    let url = server.slack_url();
    let (code, _, err) = home.run(&["notify", "--sample", "--slack-webhook", &url]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("(HTTP 200, 3 attempts)"), "{err}");
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert!(
        requests.iter().all(|r| r.body == requests[0].body),
        "every attempt sends the same body"
    );
}

#[test]
fn a_server_that_keeps_failing_is_exit_1_naming_the_status_but_never_the_secret() {
    let home = Home::new();
    let server = Server::start(
        Vec::new(),
        Reply::Status(500, "internal error at /services/T000/B000/SECRETxyz"),
    );
    let url = server.slack_url();
    let (code, out, err) =
        home.run(&["--log-level", "debug", "notify", "--sample", "--slack-webhook", &url]);
    assert_eq!(code, Some(1), "{err}");
    assert!(out.is_empty());
    assert_eq!(server.requests().len(), 3, "the first attempt and two retries");
    let expected = format!(
        "costscope: error: Slack webhook http://127.0.0.1:{}/…: HTTP 500 Internal Server Error: internal error at /… (3 attempts)",
        server.port
    );
    assert!(err.contains(&expected), "{err}");
    assert!(!err.contains(SECRET), "{err}");
    assert!(!err.contains("T000/B000"), "{err}");
}

#[test]
fn a_server_that_never_answers_times_out_each_attempt() {
    let home = Home::new();
    let server = Server::start(Vec::new(), Reply::Hang);
    let url = server.slack_url();
    let started = Instant::now();
    let (code, _, err) = home.run(&[
        "--log-level",
        "debug",
        "notify",
        "--sample",
        "--slack-webhook",
        &url,
        "--timeout",
        "1",
    ]);
    let took = started.elapsed();
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("timed out: no answer within 1 s (3 attempts)"), "{err}");
    assert!(!err.contains(SECRET), "{err}");
    assert_eq!(server.requests().len(), 3);
    // Three attempts of one second, plus reading the sample; far from the server's minute.
    assert!(took >= Duration::from_secs(3) && took < Duration::from_secs(30), "{took:?}");
}

#[test]
fn a_refused_payload_is_not_sent_again() {
    let home = Home::new();
    let server = Server::start(Vec::new(), Reply::Status(400, "invalid_payload"));
    let url = server.slack_url();
    let (code, _, err) = home.run(&["notify", "--sample", "--slack-webhook", &url]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(server.requests().len(), 1);
    assert!(err.contains("HTTP 400 Bad Request: invalid_payload (1 attempt)"), "{err}");
    assert!(!err.contains(SECRET), "{err}");
}

#[test]
fn too_many_requests_waits_as_long_as_retry_after_asks() {
    let home = Home::new();
    let server = Server::start(vec![Reply::TooMany(2)], Reply::Status(200, "ok"));
    let url = server.slack_url();
    let (code, _, err) = home.run(&["notify", "--sample", "--slack-webhook", &url]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("(HTTP 200, 2 attempts)"), "{err}");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    // The backoff is 1 ms in these tests: the gap is the server's two seconds.
    let gap = requests[1].at.duration_since(requests[0].at);
    assert!(gap >= Duration::from_millis(1900) && gap < Duration::from_secs(10), "{gap:?}");
}

const BUDGET_CONFIG: &str = "[[budget]]\nname = \"everything\"\namount = \"AMOUNT\"\n";

#[test]
fn only_on_change_sends_what_is_new_and_remembers_only_deliveries() {
    let home = Home::new();
    let server = Server::start(Vec::new(), Reply::Status(200, "ok"));
    let url = server.url(&format!("/hook/{SECRET}"));
    let roomy = home.write("roomy.toml", &BUDGET_CONFIG.replace("AMOUNT", "10000000"));
    let tight = home.write("tight.toml", &BUDGET_CONFIG.replace("AMOUNT", "1"));
    let args = |config: &str| -> Vec<String> {
        ["--config", config, "notify", "--sample", "--webhook", &url, "--only-on-change"]
            .map(String::from)
            .to_vec()
    };
    let run = |config: &str| {
        let a = args(config);
        home.run(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };

    let (code, _, err) = run(&roomy);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(server.requests().len(), 1);
    assert_eq!(server.requests()[0].json()["changes"][0], "first digest to this destination");
    let files = home.state_files();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].starts_with("webhook-") && !files[0].contains(SECRET), "{files:?}");
    let state =
        std::fs::read_to_string(home.dir.path().join("cache/notify").join(&files[0])).unwrap();
    assert!(!state.contains(SECRET), "{state}");
    assert!(state.contains(&format!("http://127.0.0.1:{}/…", server.port)), "{state}");

    // The same data again: nothing new, nothing sent, exit 0.
    let (code, out, err) = run(&roomy);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains("nothing changed since the last digest to webhook http://127.0.0.1:"),
        "{err}"
    );
    assert_eq!(server.requests().len(), 1);

    // The budget now breached: sent, saying why.
    let (code, _, err) = run(&tight);
    assert_eq!(code, Some(0), "{err}");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let digest = requests[1].json();
    assert_eq!(digest["changes"], serde_json::json!(["budget everything: ok → over"]));
    assert_eq!(digest["budgets"][0]["status"], "over");
    // Back to roomy: a better status is no news.
    let (code, _, err) = run(&roomy);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(server.requests().len(), 2);

    // A destination that fails keeps no state, so the next run sends again.
    let flaky = Server::start(vec![Reply::Status(500, "down"); 3], Reply::Status(200, "ok"));
    let flaky_url = flaky.url(&format!("/hook/{SECRET}"));
    let flaky_args =
        ["--config", &roomy, "notify", "--sample", "--webhook", &flaky_url, "--only-on-change"];
    let (code, _, err) = home.run(&flaky_args);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(flaky.requests().len(), 3);
    assert_eq!(home.state_files().len(), 1, "no state for the failed destination");
    let (code, _, err) = home.run(&flaky_args);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(flaky.requests().len(), 4);
    assert_eq!(flaky.requests()[3].json()["changes"][0], "first digest to this destination");
    assert_eq!(home.state_files().len(), 2);
    let (code, _, err) = home.run(&flaky_args);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(flaky.requests().len(), 4);
}

#[test]
fn the_config_names_the_variables_holding_the_urls() {
    let home = Home::new();
    let server = Server::start(Vec::new(), Reply::Status(200, "ok"));
    let config = home.write(
        "costscope.toml",
        "[tags]\nrequired = [\"team\"]\n\n[notify]\nslack_webhook_env = \"TEST_SLACK_URL\"\nretries = 0\n",
    );
    let mut c = home.command(&["--config", &config, "notify", "--sample"]);
    c.env("TEST_SLACK_URL", server.slack_url());
    let (code, _, err) = run_command(c);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(server.requests().len(), 1);
    assert!(server.requests()[0].json()["blocks"].is_array());

    // Unset: bad usage naming the config's line and the variable, before any data is read.
    let mut c = home.command(&["--config", &config, "notify", "--sample"]);
    c.env_remove("TEST_SLACK_URL");
    let (code, _, err) = run_command(c);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{config}:5: notify.slack_webhook_env names the environment variable TEST_SLACK_URL, which is not set"
        )),
        "{err}"
    );
    // retries = 0: one attempt only.
    let failing = Server::start(Vec::new(), Reply::Status(502, "bad gateway"));
    let mut c = home.command(&["--config", &config, "notify", "--sample"]);
    c.env("TEST_SLACK_URL", failing.slack_url());
    let (code, _, err) = run_command(c);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(failing.requests().len(), 1);
    assert!(!err.contains(SECRET), "{err}");

    // No destination anywhere: bad usage.
    let (code, _, err) = home.run(&["notify", "--sample"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("notify needs somewhere to send"), "{err}");
    // A URL in the file itself is refused without being echoed.
    let leaky = home
        .write("leaky.toml", &format!("[notify]\nslack_webhook = \"{}\"\n", server.slack_url()));
    let (code, _, err) = home.run(&["--config", &leaky, "notify", "--sample"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!("{leaky}:2: notify.slack_webhook: a webhook URL holds its secret")),
        "{err}"
    );
    assert!(!err.contains(SECRET), "{err}");
    // A bad URL on the command line is not echoed either.
    let (code, _, err) =
        home.run(&["notify", "--sample", "--webhook", "hooks.example.com/SECRETxyz"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--webhook: <not a URL>"), "{err}");
    assert!(!err.contains(SECRET), "{err}");
}

const FOCUS_HEADER: &str = "BilledCost,EffectiveCost,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,ServiceName,SubAccountId,ChargeCategory,ResourceId";

/// 35 days of `service` at 1000 a day from 2026-09-01, 1800 on 2026-09-30: one anomaly.
fn write_focus(path: &Path, service: &str) {
    let mut rows = vec![FOCUS_HEADER.to_string()];
    let start = chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
    for i in 0..35 {
        let day = start + chrono::Days::new(i);
        let cost = if day.to_string() == "2026-09-30" { "1800" } else { "1000" };
        rows.push(format!(
            "{cost},{cost},{day}T00:00:00Z,{day}T23:59:59Z,USD,{service},111122223333,Usage,i-a"
        ));
    }
    std::fs::write(path, rows.join("\n") + "\n").unwrap();
}

#[test]
fn hostile_names_cannot_ping_link_or_drive_a_terminal_in_slack() {
    let home = Home::new();
    let server = Server::start(Vec::new(), Reply::Status(200, "ok"));
    let hostile = "<!channel> <http://evil.example|click> & \u{1b}]0;pwned\u{7} EC2";
    let focus = home.path("hostile.csv");
    write_focus(Path::new(&focus), hostile);
    let config = home
        .write("costscope.toml", "[[budget]]\nname = \"<!here> <@U123> budget\"\namount = \"1\"\n");
    let url = server.slack_url();
    let (code, _, err) =
        home.run(&["--config", &config, "notify", "--focus", &focus, "--slack-webhook", &url]);
    assert_eq!(code, Some(0), "{err}");
    let message = server.requests()[0].json();
    let texts = slack_texts(&message).join("\n") + "\n" + message["text"].as_str().unwrap();
    for raw in ["<!channel>", "<!here>", "<@U123>", "<http", "|click>", "\u{1b}", "\u{7}"] {
        assert!(!texts.contains(raw), "{raw:?} in {texts}");
    }
    let anomalies = texts.lines().find(|l| l.contains("2026-09-30")).unwrap();
    assert!(
        anomalies
            .contains("&lt;!channel&gt; &lt;http://evil.example|click&gt; &amp;  ]0;pwned  EC2"),
        "{anomalies}"
    );
    assert!(texts.contains("*&lt;!here&gt; &lt;@U123&gt; budget* over"), "{texts}");
    // The generic webhook's JSON keeps the name as data (receivers escape for their medium),
    // but never a raw control character.
    let (code, out, err) = home.run(&[
        "--config",
        &config,
        "notify",
        "--focus",
        &focus,
        "--webhook",
        &url,
        "--dry-run",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!out.contains('\u{1b}'));
    let digest: Value = serde_json::from_str(&out).unwrap();
    assert!(digest["anomalies"][0]["group"].as_str().unwrap().starts_with("<!channel>"));
}
