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
use costscope::source::billing::athena::sql::{Months, focus_query};
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

/// Lays the sample out as the FOCUS table of AWS Data Exports (`focus`), with its
/// `billing_period` partition column, and runs each query given, unchanged; prints each answer
/// as Athena's (every value as text, NULL as null, the header first).
const DUCKDB_SCRIPT: &str = r#"
import duckdb, json, sys
src, queries = sys.argv[1], json.load(open(sys.argv[2]))
con = duckdb.connect()
con.execute(f"CREATE VIEW raw AS SELECT * FROM read_csv('{src}', all_varchar = true, header = true)")
names = [r[0] for r in con.execute("DESCRIBE raw").fetchall()]
def column(n):
    low = n.lower()
    # A CSV writes SQL NULL as `NULL` or nothing; the table holds NULL.
    q = f"""CASE WHEN upper(trim("{n}")) IN ('', 'NULL') THEN NULL ELSE "{n}" END"""
    if low in ("billedcost", "effectivecost", "listcost"):
        return f"CAST({q} AS DOUBLE) AS {low}"
    if low in ("chargeperiodstart", "chargeperiodend"):
        return f"CAST(replace(replace({q}, 'T', ' '), 'Z', '') AS TIMESTAMP) AS {low}"
    if low == "tags":
        return f"CAST(CAST({q} AS JSON) AS MAP(VARCHAR, VARCHAR)) AS tags"
    return f"{q} AS {low}"
cols = ", ".join(column(n) for n in names)
con.execute(f"CREATE TABLE focus AS SELECT {cols} FROM raw")
con.execute("ALTER TABLE focus ADD COLUMN billing_period VARCHAR")
con.execute("UPDATE focus SET billing_period = strftime(chargeperiodstart, '%Y-%m')")
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
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("focus_table.py");
    std::fs::write(&script, DUCKDB_SCRIPT).unwrap();
    let list = dir.path().join("queries.json");
    std::fs::write(&list, serde_json::to_string(queries).unwrap()).unwrap();
    let out =
        Command::new(venv_python()).arg(&script).arg(sample_path()).arg(&list).output().unwrap();
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
    let options = ReadOptions { focus: FocusOptions { grain, skip_invalid: false }, progress: false };
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
        let mut pushed = summary(answer, *grain, "athena:duckdb.focus").unwrap();
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
    let pushed = summary(&answers[at], service.grain(), "athena:duckdb.focus").unwrap();
    let by_service = breakdown(&pushed, &service);
    assert_eq!(by_service, breakdown(&file_summary(service.grain()), &service));
    assert!(by_service.rows.len() > 5, "{by_service:?}");
}

#[test]
fn a_period_reads_only_its_billing_period_partitions() {
    let columns = sample_table_columns();
    let grain = Dimension::Day.grain();
    let october = Months { since: Some("2026-10".into()), until: Some("2026-10".into()) };
    let sql = focus_query("focus", &columns, grain, &october);
    assert!(sql.contains("WHERE \"billing_period\" >= '2026-10' AND \"billing_period\" <= '2026-10'"));
    let answers = duckdb_answers(&[sql]);
    let pushed = summary(&answers[0], grain, "athena:duckdb.focus").unwrap();
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
