//! `--athena TABLE`: costscope's aggregation pushed down to Amazon Athena.
//!
//! 1. The SQL costscope generates runs unchanged on DuckDB over the bundled sample laid out as
//!    AWS Data Exports' FOCUS table (lowercase names, `double` costs, timestamps, `tags` a
//!    map); DuckDB's answer, folded through the Athena row mapping, equals costscope's own read
//!    of the file at the same grain, to the last digit.
//! 2. The API flow end to end against moto's Athena (canned results).
//! 3. What moto cannot simulate (a FAILED or CANCELLED query, one that stays RUNNING, pages,
//!    bytes scanned) against a loopback server speaking Athena's JSON 1.1 protocol.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};

use costscope::analysis::costs::{Dimension, breakdown};
use costscope::model::{BillingSummary, Grain};
use costscope::source::billing::athena::query::Answer;
use costscope::source::billing::athena::rows::summary;
use costscope::source::billing::athena::sql::{Months, TableKind, cur_query, focus_query};
use costscope::source::billing::{BillingInput, ReadOptions, Scheme, read_billing};
use costscope::source::focus::FocusOptions;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sample_path() -> PathBuf {
    root().join("samples/focus-2026-09-10.csv.gz")
}

/// The emulators' venvs, where tests/emulators/harness.sh installs moto and DuckDB.
fn emulators_dir() -> PathBuf {
    std::env::var_os("COSTSCOPE_EMULATORS_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".emulators"))
}

fn venv_python() -> PathBuf {
    let python = emulators_dir().join("moto/bin/python");
    if !python.exists() {
        let harness = root().join("tests/emulators/harness.sh");
        let out = Command::new("bash").arg(&harness).arg("install").output().unwrap();
        assert!(out.status.success(), "harness install: {}", String::from_utf8_lossy(&out.stderr));
    }
    python
}

/// Lays a billing CSV out as the table AWS Data Exports' Athena integration makes of it — the
/// sample as the FOCUS table (`focus`: lowercase names, `double` costs, timestamps, `tags` a
/// map), a CUR 2.0 export as the CUR table (`cur`: amounts `double`, dates timestamps, the
/// maps maps) — each with its `billing_period` partition column, and runs each query given,
/// unchanged; prints each answer as Athena's (every value as text, NULL as null, header first).
const DUCKDB_SCRIPT: &str = r#"
import duckdb, json, sys
kind, src, queries = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
con = duckdb.connect()
if len(sys.argv) > 4:
    # Hourly rows: each row moved to an hour of its day, written as a FOCUS CSV for costscope
    # to read itself, and the table made of that file.
    hourly = sys.argv[4]
    con.execute(f"""COPY (SELECT * REPLACE (strftime(CAST(replace(replace(ChargePeriodStart, 'T', ' '), 'Z', '') AS TIMESTAMP)
        + to_hours(CAST(hash(ResourceId, BilledCost) % 24 AS INTEGER)), '%Y-%m-%dT%H:%M:%SZ') AS ChargePeriodStart)
        FROM read_csv('{src}', all_varchar = true, header = true)) TO '{hourly}' (HEADER, QUOTE '"')""")
    src = hourly
con.execute(f"CREATE VIEW raw AS SELECT * FROM read_csv('{src}', all_varchar = true, header = true)")
names = [r[0] for r in con.execute("DESCRIBE raw").fetchall()]
AMOUNTS = {"billedcost", "effectivecost", "listcost", "line_item_unblended_cost",
    "line_item_net_unblended_cost", "pricing_public_on_demand_cost",
    "savings_plan_savings_plan_effective_cost", "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment", "reservation_effective_cost",
    "reservation_unused_amortized_upfront_fee_for_billing_period", "reservation_unused_recurring_fee"}
MAPS = {"tags", "resource_tags", "product", "cost_category", "discount"}
def column(n):
    low = n.lower()
    # A CSV writes SQL NULL as `NULL` or nothing; the table holds NULL.
    q = f"""CASE WHEN upper(trim("{n}")) IN ('', 'NULL') THEN NULL ELSE "{n}" END"""
    if low in AMOUNTS:
        return f"CAST({q} AS DOUBLE) AS {low}"
    if low in ("chargeperiodstart", "chargeperiodend") or low.endswith("_date"):
        return f"CAST(replace(replace({q}, 'T', ' '), 'Z', '') AS TIMESTAMP) AS {low}"
    if low in MAPS:
        return f"CAST(CAST({q} AS JSON) AS MAP(VARCHAR, VARCHAR)) AS {low}"
    return f"{q} AS {low}"
cols = ", ".join(column(n) for n in names)
start = "chargeperiodstart" if kind == "focus" else "bill_billing_period_start_date"
con.execute(f"CREATE TABLE {kind} AS SELECT {cols} FROM raw")
con.execute(f"ALTER TABLE {kind} ADD COLUMN billing_period VARCHAR")
con.execute(f"UPDATE {kind} SET billing_period = strftime({start}, '%Y-%m')")
def text(v):
    if v is None:
        return None
    if hasattr(v, "isoformat") and hasattr(v, "hour"):
        return v.isoformat(sep=" ")
    return str(v)
out = []
for sql in queries:
    cur = con.execute(sql)
    header = [d[0] for d in cur.description]
    rows = [[text(v) for v in row] for row in cur.fetchall()]
    out.append({"header": header, "rows": rows, "scanned_bytes": 0})
json.dump(out, sys.stdout)
"#;

fn duckdb_answers(queries: &[String]) -> Vec<Answer> {
    duckdb_answers_on("focus", &sample_path(), queries)
}

fn duckdb_answers_on(kind: &str, source: &Path, queries: &[String]) -> Vec<Answer> {
    duckdb_run(&[kind, source.to_str().unwrap()], queries, &[])
}

/// Runs the script with `args` before and `after` after the queries file.
fn duckdb_run(args: &[&str], queries: &[String], after: &[&str]) -> Vec<Answer> {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("focus_table.py");
    std::fs::write(&script, DUCKDB_SCRIPT).unwrap();
    let list = dir.path().join("queries.json");
    std::fs::write(&list, serde_json::to_string(queries).unwrap()).unwrap();
    let out = Command::new(venv_python())
        .arg(&script)
        .args(args)
        .arg(&list)
        .args(after)
        .output()
        .unwrap();
    assert!(out.status.success(), "duckdb: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The columns of the FOCUS table the script builds, as GetTableMetadata would list them.
fn sample_table_columns() -> Vec<String> {
    let file = std::fs::File::open(sample_path()).unwrap();
    let mut header = String::new();
    BufReader::new(flate2::read::GzDecoder::new(file)).read_line(&mut header).unwrap();
    let mut columns: Vec<String> =
        header.trim().split(',').map(|c| c.to_ascii_lowercase()).collect();
    columns.push("billing_period".into());
    columns
}

fn file_summary(grain: Grain) -> BillingSummary {
    let input = BillingInput::new(Scheme::Focus, &sample_path()).unwrap();
    let options =
        ReadOptions { focus: FocusOptions { grain, skip_invalid: false }, progress: false };
    read_billing(&[input], options).unwrap()
}

#[test]
fn duckdb_runs_the_generated_sql_and_its_answer_equals_the_file_read_at_every_grain() {
    let columns = sample_table_columns();
    let mut grains: Vec<(String, Grain)> = vec![
        ("full".into(), Grain::FULL),
        ("detailed".into(), Grain::DETAILED),
        ("none".into(), Grain::NONE),
    ];
    for by in ["service", "account", "region", "resource", "day", "provider", "tag:team"] {
        grains.push((format!("costs --by {by}"), by.parse::<Dimension>().unwrap().grain()));
    }
    let queries: Vec<String> = grains
        .iter()
        .map(|(_, g)| focus_query("focus", &columns, *g, &Months::default()))
        .collect();
    let answers = duckdb_answers(&queries);
    for ((name, grain), answer) in grains.iter().zip(&answers) {
        let mut pushed = summary(answer, TableKind::Focus, *grain, "athena:duckdb.focus").unwrap();
        let mut own = file_summary(*grain);
        // Grouped: far fewer rows come back than the file has, and they count all of them.
        assert!(answer.rows.len() < 20_304, "{name}: {} rows", answer.rows.len());
        assert_eq!(pushed.rows_read, 20_304, "{name}");
        pushed.sources.clear();
        own.sources.clear();
        if !grain.tags && !grain.resource {
            // The CSV reader validates every row's Tags whatever the grain and so lists every
            // tag set; a columnar read (Parquet, or this query) reads only the columns the
            // grain keeps, and nothing at such a grain looks at tag sets.
            assert!(pushed.tag_sets.is_empty(), "{name}");
            own.tag_sets.clear();
        }
        assert_eq!(pushed.lines, own.lines, "{name}: lines");
        assert_eq!(pushed.daily, own.daily, "{name}: daily");
        assert_eq!(pushed.resources, own.resources, "{name}: resources");
        assert_eq!(pushed.tag_sets, own.tag_sets, "{name}: tag sets");
        assert_eq!(pushed.commitments, own.commitments, "{name}: commitments");
        assert_eq!(pushed, own, "{name}: the whole summary");
    }
    // What `costs --sample --by service` prints, from both: the same figures.
    let service = Dimension::Service;
    let (at, _) = grains.iter().enumerate().find(|(_, (n, _))| n == "costs --by service").unwrap();
    let pushed =
        summary(&answers[at], TableKind::Focus, service.grain(), "athena:duckdb.focus").unwrap();
    let by_service = breakdown(&pushed, &service);
    assert_eq!(by_service, breakdown(&file_summary(service.grain()), &service));
    assert!(by_service.rows.len() > 5, "{by_service:?}");
}

#[test]
fn hourly_compute_usage_keeps_its_hours_and_the_rest_is_grouped_by_day() {
    // The sample is daily; spread its rows over the hours of their day, so compute usage
    // (commitment coverage) is hourly, and check the report's and the dashboard's reads.
    let dir = tempfile::tempdir().unwrap();
    let hourly = dir.path().join("hourly.csv");
    let columns = sample_table_columns();
    let grains = [("full", Grain::FULL), ("detailed", Grain::DETAILED)];
    let queries: Vec<String> = grains
        .iter()
        .map(|(_, g)| focus_query("focus", &columns, *g, &Months::default()))
        .collect();
    let sample = sample_path();
    let answers =
        duckdb_run(&["focus", sample.to_str().unwrap()], &queries, &[hourly.to_str().unwrap()]);
    let input = BillingInput::new(Scheme::Focus, &hourly).unwrap();
    for ((name, grain), answer) in grains.iter().zip(&answers) {
        let mut pushed = summary(answer, TableKind::Focus, *grain, "athena:duckdb.focus").unwrap();
        let options = ReadOptions {
            focus: FocusOptions { grain: *grain, skip_invalid: false },
            progress: false,
        };
        let mut own = read_billing(std::slice::from_ref(&input), options).unwrap();
        let hours: std::collections::BTreeSet<_> =
            own.commitments.compute.iter().map(|c| c.hour).collect();
        assert!(hours.len() > 24 * 30, "{name}: {} distinct hours", hours.len());
        pushed.sources.clear();
        own.sources.clear();
        assert_eq!(pushed.commitments, own.commitments, "{name}: commitments");
        assert_eq!(pushed.resources, own.resources, "{name}: resources");
        assert_eq!(pushed, own, "{name}: the whole summary");
        // Fewer rows than the file: only compute usage stays hourly.
        assert!(answer.rows.len() < 20_304, "{name}: {} rows", answer.rows.len());
    }
}

#[test]
fn a_cur_2_table_folds_through_the_cur_mapping_to_the_cur_file_read() {
    let fixture = root().join("tests/fixtures/cur/cur2-data-exports.csv");
    let header = std::fs::read_to_string(&fixture).unwrap();
    let mut columns: Vec<String> =
        header.lines().next().unwrap().split(',').map(|c| c.to_ascii_lowercase()).collect();
    columns.push("billing_period".into());
    let grains: Vec<(String, Grain)> = [
        ("full", Grain::FULL),
        ("detailed", Grain::DETAILED),
        ("service", "service".parse::<Dimension>().unwrap().grain()),
        ("account", "account".parse::<Dimension>().unwrap().grain()),
        ("tag:team", "tag:team".parse::<Dimension>().unwrap().grain()),
    ]
    .into_iter()
    .map(|(n, g)| (n.to_string(), g))
    .collect();
    let queries: Vec<String> = grains
        .iter()
        .map(|(_, g)| cur_query("cur", &columns, *g, &Months::default()).unwrap())
        .collect();
    assert!(queries[0].contains("CAST(\"resource_tags\" AS JSON) AS \"resource_tags\""));
    assert!(queries[0].contains(
        "SUM(CAST(COALESCE(\"line_item_net_unblended_cost\", \"line_item_unblended_cost\") AS DECIMAL(38, 12)))"
    ));
    let answers = duckdb_answers_on("cur", &fixture, &queries);
    let input = BillingInput::new(Scheme::Cur, &fixture).unwrap();
    for ((name, grain), answer) in grains.iter().zip(&answers) {
        let mut pushed = summary(answer, TableKind::Cur, *grain, "athena:duckdb.cur").unwrap();
        let options = ReadOptions {
            focus: FocusOptions { grain: *grain, skip_invalid: false },
            progress: false,
        };
        let mut own = read_billing(std::slice::from_ref(&input), options).unwrap();
        pushed.sources.clear();
        own.sources.clear();
        // The CUR mapping reads `resource_tags` at every grain (it validates them), so tag
        // sets come back at every grain too.
        assert_eq!(pushed.tag_sets, own.tag_sets, "{name}: tag sets");
        assert!(!own.lines.is_empty(), "{name}");
        assert_eq!(pushed.lines, own.lines, "{name}: lines");
        assert_eq!(pushed.resources, own.resources, "{name}: resources");
        assert_eq!(pushed.commitments, own.commitments, "{name}: commitments");
        assert_eq!(pushed, own, "{name}: the whole summary");
    }
}

#[test]
fn a_period_reads_only_its_billing_period_partitions() {
    let columns = sample_table_columns();
    let grain = Dimension::Day.grain();
    let october = Months { since: Some("2026-10".into()), until: Some("2026-10".into()) };
    let sql = focus_query("focus", &columns, grain, &october);
    assert!(
        sql.contains("WHERE \"billing_period\" >= '2026-10' AND \"billing_period\" <= '2026-10'")
    );
    let answers = duckdb_answers(&[sql]);
    let pushed = summary(&answers[0], TableKind::Focus, grain, "athena:duckdb.focus").unwrap();
    // The file's lines of October, and only them.
    let own = file_summary(grain);
    let in_october = |l: &costscope::model::BillingLine| {
        l.day.is_some_and(|d| d.format("%Y-%m").to_string() == "2026-10")
    };
    let want: Vec<_> = own.lines.iter().filter(|l| in_october(l)).cloned().collect();
    assert!(!want.is_empty() && want.len() < own.lines.len());
    assert_eq!(pushed.lines, want);
    assert_eq!(pushed.rows_read, want.iter().map(|l| l.rows).sum::<u64>());
}

/// The binary with a clean environment: AWS credentials that go nowhere but `endpoint`, the
/// cache and home in `home`.
fn costscope(home: &Path, endpoint: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_costscope"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("COSTSCOPE_CACHE_DIR", home.join("cache"))
        .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", home.join("no-aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-aws-credentials"))
        .env("AWS_ENDPOINT_URL", endpoint)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `costs --format json`'s rows as (key, billed, effective, rows).
fn cost_rows(stdout: &str) -> Vec<(String, String, String, u64)> {
    let v: serde_json::Value = serde_json::from_str(stdout).unwrap();
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["billed_cost"].as_str().unwrap().to_string(),
                r["effective_cost"].as_str().unwrap_or("").to_string(),
                r["rows"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// moto's server, from the venv the harness installs; stopped (by its pid) when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    fn start() -> Moto {
        let python = venv_python();
        let server = python.with_file_name("moto_server");
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Moto { child, port };
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("moto did not listen on {port}");
    }

    fn post(&self, path: &str, body: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Rows as moto's query-results API takes them (and GetQueryResults answers them).
fn athena_rows(rows: &[&[&str]]) -> serde_json::Value {
    let data = |row: &&[&str]| {
        let cells: Vec<serde_json::Value> = row
            .iter()
            .map(|c| {
                if *c == "NULL" {
                    serde_json::json!({})
                } else {
                    serde_json::json!({ "VarCharValue": c })
                }
            })
            .collect();
        serde_json::json!({ "Data": cells })
    };
    serde_json::Value::Array(rows.iter().map(data).collect())
}

#[test]
fn costs_on_a_table_in_moto_equals_the_figures_its_rows_imply() {
    let moto = Moto::start();
    // moto has no GetTableMetadata (NotImplementedError, a 500): costscope then asks
    // information_schema, the first canned result; the grouped rows are the second.
    let columns = athena_rows(&[
        &["column_name"],
        &["billedcost"],
        &["effectivecost"],
        &["chargeperiodstart"],
        &["billingcurrency"],
        &["servicename"],
    ]);
    let grouped = athena_rows(&[
        &[
            "chargeperiodstart",
            "billedcost",
            "effectivecost",
            "billingcurrency",
            "servicename",
            "row_count",
        ],
        &[
            "2026-09-01 23:00:00.000",
            "10.250000000000",
            "9.000000000000",
            "USD",
            "Amazon EC2",
            "24",
        ],
        &["2026-09-02 23:00:00.000", "11.750000000000", "NULL", "USD", "Amazon EC2", "24"],
        &["2026-09-01 00:00:00.000", "0.000000004200", "0.000000004200", "USD", "Amazon S3", "3"],
        &["2026-09-02 00:00:00.000", "-1.500000000000", "-1.500000000000", "USD", "Amazon S3", "1"],
    ]);
    let body = serde_json::json!({ "results": [
        { "rows": columns, "column_info": [] },
        { "rows": grouped, "column_info": [] },
    ]});
    let answer = moto.post("/moto-api/static/athena/query-results", &body.to_string());
    assert!(answer.starts_with("HTTP/1.1 201") || answer.starts_with("HTTP/1.0 201"), "{answer}");

    let home = tempfile::tempdir().unwrap();
    let endpoint = format!("http://127.0.0.1:{}", moto.port);
    let (code, stdout, stderr) = costscope(
        home.path(),
        &endpoint,
        &["costs", "--athena", "db.focus", "--by", "service", "--format", "json"],
    );
    assert_eq!(code, 0, "{stderr}");
    // EC2: 10.25 + 11.75 billed over 48 rows; effective only where given (9). S3: 0.0000000042
    // − 1.5 over 4 rows, every digit kept.
    assert_eq!(
        cost_rows(&stdout),
        vec![
            ("Amazon EC2".into(), "22".into(), "9".into(), 48),
            ("Amazon S3".into(), "-1.4999999958".into(), "-1.4999999958".into(), 4),
        ]
    );
    // Both queries are told, with moto's bytes scanned (always 0).
    assert!(stderr.contains("athena:db.focus: Athena: 2 queries scanned 0 bytes"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// A loopback Athena. moto cannot fail, cancel or keep running a query, page results or count
// bytes scanned, so this server answers Athena's JSON 1.1 protocol (POST /, the operation in
// `X-Amz-Target: AmazonAthena.<Operation>`) with the response shapes of AWS's Athena API
// reference (GetTableMetadata, StartQueryExecution, GetQueryExecution, GetQueryResults,
// StopQueryExecution), and records every call.

/// What the server's query does.
#[derive(Clone)]
enum Outcome {
    /// SUCCEEDED, scanning this many bytes; results in these pages (the header first), and in
    /// `file`, when given, the result file at RESULT_FILE as Athena writes it to S3.
    Succeed {
        scanned: u64,
        pages: Vec<Vec<Vec<&'static str>>>,
        file: Option<String>,
    },
    Fail(&'static str),
    Cancel(&'static str),
    /// RUNNING until stopped.
    Hang,
}

#[derive(Default)]
struct Calls {
    /// (operation, request body)
    log: Vec<(String, serde_json::Value)>,
}

impl Calls {
    fn of(&self, operation: &str) -> Vec<&serde_json::Value> {
        self.log.iter().filter(|(op, _)| op == operation).map(|(_, b)| b).collect()
    }
}

struct Athena {
    port: u16,
    calls: Arc<Mutex<Calls>>,
}

impl Athena {
    fn start(outcome: Outcome) -> Athena {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let calls = Arc::new(Mutex::new(Calls::default()));
        let shared = calls.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (calls, outcome) = (shared.clone(), outcome.clone());
                std::thread::spawn(move || serve(stream, &calls, &outcome));
            }
        });
        Athena { port, calls }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn calls(&self, operation: &str) -> Vec<serde_json::Value> {
        self.calls.lock().unwrap().of(operation).into_iter().cloned().collect()
    }

    fn forget(&self) {
        self.calls.lock().unwrap().log.clear();
    }
}

/// Answers requests on one connection (the SDK keeps connections alive) until it closes.
fn serve(stream: TcpStream, calls: &Mutex<Calls>, outcome: &Outcome) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut target = String::new();
        let mut length = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let request_line = line.trim_end().to_string();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            match name.to_ascii_lowercase().as_str() {
                "x-amz-target" => target = value.trim().to_string(),
                "content-length" => length = value.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        // S3's GetObject of the result file (path style, on the same endpoint).
        if let Some(path) = request_line.strip_prefix("GET ") {
            let target = path.split_whitespace().next().unwrap_or_default();
            let path = target.split('?').next().unwrap_or_default().to_string();
            calls.lock().unwrap().log.push(("S3 GET".into(), serde_json::json!(path)));
            let file = match outcome {
                Outcome::Succeed { file: Some(file), .. } if path.starts_with(RESULT_PATH) => {
                    Some(file.clone())
                }
                _ => None,
            };
            let (status, text) = match file {
                Some(text) => ("200 OK", text),
                None => ("404 Not Found", "<Error><Code>NoSuchKey</Code></Error>".to_string()),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/csv\r\nContent-Length: {}\r\n\r\n",
                text.len()
            );
            if writer
                .write_all(head.as_bytes())
                .and_then(|_| writer.write_all(text.as_bytes()))
                .is_err()
            {
                return;
            }
            continue;
        }
        let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let operation = target.strip_prefix("AmazonAthena.").unwrap_or(&target).to_string();
        calls.lock().unwrap().log.push((operation.clone(), request.clone()));
        let response = answer(&operation, &request, outcome);
        let text = response.to_string();
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: test-{}\r\nContent-Length: {}\r\n\r\n",
            calls.lock().unwrap().log.len(),
            text.len()
        );
        if writer
            .write_all(head.as_bytes())
            .and_then(|_| writer.write_all(text.as_bytes()))
            .is_err()
        {
            return;
        }
    }
}

const QUERY_ID: &str = "7e1f0c2a-1b2c-4d5e-8f90-athena000001";
const RESULT_FILE: &str = "s3://athena-results/costscope/7e1f0c2a-1b2c-4d5e-8f90-athena000001.csv";
const RESULT_PATH: &str = "/athena-results/costscope/7e1f0c2a-1b2c-4d5e-8f90-athena000001.csv";

fn answer(operation: &str, request: &serde_json::Value, outcome: &Outcome) -> serde_json::Value {
    use serde_json::json;
    let column = |name: &str, kind: &str| json!({ "Name": name, "Type": kind });
    match operation {
        "GetTableMetadata" => json!({ "TableMetadata": {
            "Name": request["TableName"],
            "CreateTime": 1_790_000_000.0,
            "LastAccessTime": 0.0,
            "TableType": "EXTERNAL_TABLE",
            "Columns": [
                column("billedcost", "double"),
                column("effectivecost", "double"),
                column("chargeperiodstart", "timestamp"),
                column("billingcurrency", "string"),
                column("servicename", "string"),
                column("tags", "map<string,string>"),
            ],
            "PartitionKeys": [column("billing_period", "string")],
            "Parameters": { "classification": "parquet", "transient_lastDdlTime": "1790000000" },
        }}),
        "StartQueryExecution" => json!({ "QueryExecutionId": QUERY_ID }),
        "GetQueryExecution" => {
            let (state, reason, scanned) = match outcome {
                Outcome::Succeed { scanned, .. } => ("SUCCEEDED", None, *scanned),
                Outcome::Fail(why) => ("FAILED", Some(*why), 0),
                Outcome::Cancel(why) => ("CANCELLED", Some(*why), 0),
                Outcome::Hang => ("RUNNING", None, 0),
            };
            let mut status = json!({ "State": state, "SubmissionDateTime": 1_790_000_100.0 });
            if let Some(reason) = reason {
                status["StateChangeReason"] = json!(reason);
            }
            let mut execution = json!({
                "QueryExecutionId": QUERY_ID,
                "Query": "SELECT …",
                "StatementType": "DML",
                "Status": status,
                "Statistics": { "EngineExecutionTimeInMillis": 1200, "DataScannedInBytes": scanned },
                "WorkGroup": "primary",
            });
            if let Outcome::Succeed { file: Some(_), .. } = outcome {
                execution["ResultConfiguration"] = json!({ "OutputLocation": RESULT_FILE });
            }
            json!({ "QueryExecution": execution })
        }
        "GetQueryResults" => {
            let Outcome::Succeed { pages, .. } = outcome else {
                return json!({ "__type": "InvalidRequestException", "Message": "not finished" });
            };
            let page: usize = request["NextToken"]
                .as_str()
                .and_then(|t| t.strip_prefix("page-"))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let rows: Vec<&[&str]> = pages[page].iter().map(|r| r.as_slice()).collect();
            let mut out = json!({
                "ResultSet": { "Rows": athena_rows(&rows), "ResultSetMetadata": { "ColumnInfo": [] } },
                "UpdateCount": 0,
            });
            if page + 1 < pages.len() {
                out["NextToken"] = json!(format!("page-{}", page + 1));
            }
            out
        }
        "StopQueryExecution" => json!({}),
        _ => json!({}),
    }
}

/// A config naming the database, workgroup and result location (`--athena focus` then needs
/// no more).
fn athena_config(home: &Path) -> PathBuf {
    let path = home.join("costscope.toml");
    std::fs::write(
        &path,
        "[athena]\ndatabase = \"billing\"\nworkgroup = \"finops\"\noutput_location = \"s3://athena-results/costscope/\"\n",
    )
    .unwrap();
    path
}

fn three_pages() -> Vec<Vec<Vec<&'static str>>> {
    let header = vec![
        "chargeperiodstart",
        "billedcost",
        "effectivecost",
        "billingcurrency",
        "servicename",
        "tags",
        "row_count",
    ];
    vec![
        vec![
            header,
            vec![
                "2026-09-01 00:00:00.000",
                "100.000000000000",
                "90.000000000000",
                "USD",
                "Amazon EC2",
                "{\"team\":\"web\"}",
                "720",
            ],
            vec![
                "2026-09-02 00:00:00.000",
                "0.000000000001",
                "0.000000000001",
                "USD",
                "Amazon S3",
                "{}",
                "5",
            ],
        ],
        vec![
            vec![
                "2026-09-02 00:00:00.000",
                "50.500000000000",
                "45.000000000000",
                "USD",
                "Amazon EC2",
                "NULL",
                "360",
            ],
            vec![
                "2026-09-03 00:00:00.000",
                "7.250000000000",
                "7.250000000000",
                "USD",
                "Amazon RDS",
                "{\"team\":\"data\"}",
                "24",
            ],
        ],
        vec![vec![
            "2026-09-03 00:00:00.000",
            "2.750000000000",
            "2.750000000000",
            "USD",
            "Amazon RDS",
            "NULL",
            "24",
        ]],
    ]
}

#[test]
fn pages_are_joined_in_order_bytes_scanned_are_told_and_the_answer_is_cached() {
    let athena = Athena::start(Outcome::Succeed {
        scanned: 1_500_000_000,
        pages: three_pages(),
        file: None,
    });
    let home = tempfile::tempdir().unwrap();
    let config = athena_config(home.path());
    let args = [
        "costs",
        "--config",
        config.to_str().unwrap(),
        "--athena",
        "focus",
        "--athena-since",
        "2026-09",
        "--by",
        "service",
        "--format",
        "json",
    ];
    let (code, stdout, stderr) = costscope(home.path(), &athena.endpoint(), &args);
    assert_eq!(code, 0, "{stderr}");
    let want = vec![
        ("Amazon EC2".to_string(), "150.5".to_string(), "135".to_string(), 1080),
        ("Amazon RDS".to_string(), "10".to_string(), "10".to_string(), 48),
        ("Amazon S3".to_string(), "0.000000000001".to_string(), "0.000000000001".to_string(), 5),
    ];
    assert_eq!(cost_rows(&stdout), want);
    // 1.5 GB at 5 USD/TB: 0.0075 USD.
    assert!(
        stderr.contains("athena:billing.focus: Athena: 1 query scanned 1500000000 bytes (1.500 GB, 0.0075 USD at 5 USD/TB"),
        "{stderr}"
    );
    // One query, in the configured database, workgroup and result location, pruned to the
    // months asked; the grouped service read.
    let started = athena.calls("StartQueryExecution");
    assert_eq!(started.len(), 1);
    let start = &started[0];
    assert_eq!(start["QueryExecutionContext"]["Database"], "billing");
    assert_eq!(start["WorkGroup"], "finops");
    assert_eq!(start["ResultConfiguration"]["OutputLocation"], "s3://athena-results/costscope/");
    let sql = start["QueryString"].as_str().unwrap();
    assert!(
        sql.contains("FROM \"billing\".\"focus\" WHERE \"billing_period\" >= '2026-09' GROUP BY"),
        "{sql}"
    );
    assert!(sql.contains("COUNT(*) AS \"row_count\""), "{sql}");
    // The three pages were asked in order, each with the previous page's token.
    let tokens: Vec<serde_json::Value> =
        athena.calls("GetQueryResults").iter().map(|r| r["NextToken"].clone()).collect();
    assert_eq!(tokens, vec![serde_json::Value::Null, "page-1".into(), "page-2".into()]);
    // … and joined in order: the cached answer holds the rows as the pages listed them.
    let cached: Vec<PathBuf> = std::fs::read_dir(home.path().join("cache/athena"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    let entry: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cached[0]).unwrap()).unwrap();
    let billed: Vec<&str> = entry["answer"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[1].as_str().unwrap())
        .collect();
    assert_eq!(
        billed,
        [
            "100.000000000000",
            "0.000000000001",
            "50.500000000000",
            "7.250000000000",
            "2.750000000000"
        ]
    );
    assert_eq!(entry["answer"]["header"][0], "chargeperiodstart");

    // Again: the same figures from the cache; Athena is asked for the table only.
    athena.forget();
    let (code, again, stderr) = costscope(home.path(), &athena.endpoint(), &args);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(cost_rows(&again), want);
    assert!(athena.calls("StartQueryExecution").is_empty());
    assert_eq!(athena.calls("GetTableMetadata").len(), 1);
    assert!(
        stderr.contains("Athena: 0 queries scanned 0 bytes")
            && stderr.contains("1 answer from the cache"),
        "{stderr}"
    );

    // --no-cache asks again.
    athena.forget();
    let mut fresh = args.to_vec();
    fresh.push("--no-cache");
    let (code, third, stderr) = costscope(home.path(), &athena.endpoint(), &fresh);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(cost_rows(&third), want);
    assert_eq!(athena.calls("StartQueryExecution").len(), 1);
}

/// Runs `costs` on a table whose query ends as `outcome`; returns (exit code, stderr, calls).
fn failing_run(outcome: Outcome, extra: &[&str]) -> (i32, String, String, Athena) {
    let athena = Athena::start(outcome);
    let home = tempfile::tempdir().unwrap();
    let mut args =
        vec!["costs", "--athena", "billing.focus", "--by", "service", "--format", "json"];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = costscope(home.path(), &athena.endpoint(), &args);
    (code, stdout, stderr, athena)
}

#[test]
fn a_failed_query_is_a_warning_naming_the_table_and_its_reason_and_exit_3() {
    let reason = "COLUMN_NOT_FOUND: line 1:8: Column 'billedcost' cannot be resolved";
    let (code, stdout, stderr, athena) = failing_run(Outcome::Fail(reason), &[]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains(&format!("athena:billing.focus: query {QUERY_ID} FAILED: {reason}")),
        "{stderr}"
    );
    // The output is still written: no billing rows, and the warning in it.
    assert!(cost_rows(&stdout).is_empty());
    assert!(stdout.contains("FAILED"), "{stdout}");
    assert!(athena.calls("GetQueryResults").is_empty());
}

#[test]
fn a_cancelled_query_is_a_warning_and_exit_3() {
    let reason = "Query cancelled by user";
    let (code, _, stderr, _) = failing_run(Outcome::Cancel(reason), &[]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains(&format!("athena:billing.focus: query {QUERY_ID} CANCELLED: {reason}")),
        "{stderr}"
    );
}

#[test]
fn a_query_past_its_timeout_is_stopped_and_exit_3() {
    let began = std::time::Instant::now();
    let (code, _, stderr, athena) = failing_run(Outcome::Hang, &["--athena-timeout", "1"]);
    let took = began.elapsed();
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "query {QUERY_ID} still RUNNING after the 1 s timeout (--athena-timeout): stopped it"
        )),
        "{stderr}"
    );
    let stops = athena.calls("StopQueryExecution");
    assert_eq!(stops.len(), 1);
    assert_eq!(stops[0]["QueryExecutionId"], QUERY_ID);
    // Polled with backoff from 100 ms: 100 + 200 + 400 + 300 (the rest of the second) → 5
    // polls at most, not a busy loop (fewer when a call is slow), and the run ends soon after
    // the timeout.
    let polls = athena.calls("GetQueryExecution").len();
    assert!((2..=5).contains(&polls), "{polls} polls");
    assert!(took < std::time::Duration::from_secs(20), "{took:?}");
}

/// The pages as Athena's result file: every value quoted (`""` inside), NULL an empty field.
fn result_file(pages: &[Vec<Vec<&str>>]) -> String {
    let mut out = String::new();
    for row in pages.iter().flatten() {
        let cells: Vec<String> = row
            .iter()
            .map(|c| {
                if *c == "NULL" { String::new() } else { format!("\"{}\"", c.replace('"', "\"\"")) }
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

fn service_figures(athena: &Athena) -> Vec<(String, String, String, u64)> {
    let home = tempfile::tempdir().unwrap();
    let args = ["costs", "--athena", "billing.focus", "--by", "service", "--format", "json"];
    let (code, stdout, stderr) = costscope(home.path(), &athena.endpoint(), &args);
    assert_eq!(code, 0, "{stderr}");
    cost_rows(&stdout)
}

#[test]
fn a_long_answer_is_read_from_its_result_file_when_it_agrees_with_the_first_page() {
    let pages = three_pages();
    let paged = Athena::start(Outcome::Succeed { scanned: 1, pages: pages.clone(), file: None });
    let want = service_figures(&paged);
    assert_eq!(want.len(), 3);

    // The result file in S3: one GetObject instead of the pages after the first.
    let file = result_file(&pages);
    assert!(file.contains("\"{\"\"team\"\":\"\"web\"\"}\""), "{file}");
    let athena = Athena::start(Outcome::Succeed {
        scanned: 1,
        pages: pages.clone(),
        file: Some(file.clone()),
    });
    assert_eq!(service_figures(&athena), want);
    assert_eq!(athena.calls("GetQueryResults").len(), 1);
    assert_eq!(athena.calls("S3 GET"), vec![serde_json::json!(RESULT_PATH)]);

    // A file that does not start as the first page does (another query's, a half-written
    // one) is not trusted: the pages are read.
    let other = file.replacen("100.000000000000", "999.000000000000", 1);
    let athena = Athena::start(Outcome::Succeed { scanned: 1, pages, file: Some(other) });
    assert_eq!(service_figures(&athena), want);
    assert_eq!(athena.calls("S3 GET").len(), 1);
    assert_eq!(athena.calls("GetQueryResults").len(), 3);
}
