//! FOCUS billing ingest through the command line (`costs`, `tags`): the valid oddities of real
//! exports, every malformed case (exit 2, file:line:column, never a panic), `--skip-invalid`,
//! exact money, currencies, dimensions, order independence, spreadsheet/terminal safety and
//! atomic `--out`; plus every example file of the FOCUS specification, checked against an
//! independent hand sum.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn costscope() -> Command {
    let mut cmd = Command::cargo_bin("costscope").unwrap();
    // Never pick up the developer's own config or log filter.
    cmd.env("XDG_CONFIG_HOME", "/nonexistent-costscope-test").env_remove("RUST_LOG");
    cmd
}

/// A scratch directory; files are named relative to it so messages read `bad.csv:3: …`.
struct Scratch(TempDir);

impl Scratch {
    fn new() -> Scratch {
        Scratch(tempfile::tempdir().unwrap())
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path().join(name);
        fs::write(&path, contents).unwrap();
        path
    }

    /// Runs costscope in this directory. Asserts it did not panic, whatever the exit code.
    fn run(&self, args: &[&str]) -> Output {
        let out = costscope().current_dir(self.path()).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "costscope panicked on {args:?}: {stderr}");
        assert!(out.status.code().is_some(), "costscope was killed by a signal on {args:?}");
        out
    }

    /// Runs costscope and returns stdout, asserting exit 0.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?} should succeed; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs costscope expecting bad input: exit 2, nothing on stdout, and stderr returned.
    fn bad(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{args:?} should exit 2; stderr: {stderr}");
        assert!(out.stdout.is_empty(), "no partial report on stdout for {args:?}");
        stderr
    }

    /// Names of the files in the directory, sorted.
    fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

fn costs_csv(s: &Scratch, file: &str, by: &str) -> String {
    s.ok(&["costs", "--focus", file, "--by", by, "--format", "csv"])
}

fn costs_json(s: &Scratch, file: &str, by: &str) -> serde_json::Value {
    let text = s.ok(&["costs", "--focus", file, "--by", by, "--format", "json"]);
    serde_json::from_str(&text).unwrap()
}

/// The data rows of a costs CSV as (key, billed_cost, effective_cost, currency).
fn csv_rows(text: &str) -> Vec<[String; 4]> {
    let mut reader = csv::ReaderBuilder::new().comment(Some(b'#')).from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            // The contract's four columns come first; more may follow them (account names).
            assert!(r.len() >= 4, "costs CSV has at least 4 columns: {r:?}");
            [r[0].to_string(), r[1].to_string(), r[2].to_string(), r[3].to_string()]
        })
        .collect()
}

fn row(key: &str, billed: &str, effective: &str, currency: &str) -> [String; 4] {
    [key.to_string(), billed.to_string(), effective.to_string(), currency.to_string()]
}

/// key → billed cost, for single-currency breakdowns.
fn billed_by_key(text: &str) -> BTreeMap<String, String> {
    csv_rows(text).into_iter().map(|[k, b, _, _]| (k, b)).collect()
}

/// Asserts a row-level error message names the file, the line and the column.
fn assert_names(stderr: &str, file: &str, line: u64, column: &str) {
    let place = format!("{file}:{line}:");
    assert!(stderr.contains(&place), "stderr should name {place}: {stderr}");
    assert!(stderr.contains(column), "stderr should name column {column}: {stderr}");
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// A tiny exact decimal: units of 10^-18 in an i128. Independent of costscope's `Money`.
/// Accepts a sign, a `$`, digit-grouping commas, surrounding blanks and an exponent.
fn exact(text: &str) -> i128 {
    let t = text.trim();
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let t = t.strip_prefix('$').unwrap_or(t).replace(',', "");
    let (mantissa, exponent) = match t.split_once(['e', 'E']) {
        Some((m, e)) => (m.to_string(), e.parse::<i32>().unwrap()),
        None => (t.clone(), 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((&mantissa, ""));
    let digits = format!("{int}{frac}");
    assert!(
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
        "not a decimal: {text:?}"
    );
    let shift = 18 + exponent - frac.len() as i32;
    assert!(shift >= 0, "more than 18 decimals in {text:?}");
    let value = digits.parse::<i128>().unwrap() * 10i128.pow(shift as u32);
    if negative { -value } else { value }
}

/// Inline FOCUS CSV: a header and rows, joined with `\n`.
fn focus(header: &str, rows: &[&str]) -> String {
    let mut text = String::from(header);
    text.push('\n');
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

const HEADER: &str = "BilledCost,ChargePeriodStart,ServiceName,BillingCurrency";

// ---------------------------------------------------------------------------------------------
// The FOCUS specification's own example files
// ---------------------------------------------------------------------------------------------

fn spec_fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/focus-spec");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    files
}

/// BilledCost summed by BillingCurrency ("" when absent or null), and the number of data rows,
/// computed from the raw file without costscope.
fn hand_sum(path: &Path) -> (BTreeMap<String, i128>, u64) {
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).from_path(path).unwrap();
    let mut records = reader.records().map(|r| r.unwrap());
    let header = records.next().unwrap();
    let find = |name: &str| {
        header
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}').trim().eq_ignore_ascii_case(name))
    };
    let billed = find("BilledCost").expect("BilledCost column");
    let currency = find("BillingCurrency");
    let mut sums = BTreeMap::new();
    let mut rows = 0;
    for record in records {
        if record.iter().all(|f| f.trim().is_empty()) {
            continue; // a blank line
        }
        assert_eq!(record.len(), header.len(), "{}: ragged row", path.display());
        let code = currency.map_or("", |i| record[i].trim());
        let code = if code.eq_ignore_ascii_case("null") { "" } else { code };
        *sums.entry(code.to_string()).or_insert(0) += exact(&record[billed]);
        rows += 1;
    }
    (sums, rows)
}

#[test]
fn focus_spec_fixtures_ingest_and_totals_equal_a_hand_sum() {
    let files = spec_fixtures();
    assert_eq!(files.len(), 26, "every CSV of the FOCUS spec examples is present");
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let out = costscope()
            .args(["costs", "--by", "service", "--format", "json", "--focus"])
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{name} should ingest cleanly: {stderr}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

        let mut got = BTreeMap::new();
        for total in json["totals"].as_array().unwrap() {
            let code = total["currency"].as_str().unwrap_or("").to_string();
            let billed = exact(total["billed_cost"].as_str().unwrap());
            assert!(got.insert(code, billed).is_none(), "{name}: one total per currency");
        }
        let rows: u64 =
            json["rows"].as_array().unwrap().iter().map(|r| r["rows"].as_u64().unwrap()).sum();

        let (want, want_rows) = hand_sum(&path);
        assert_eq!(got, want, "{name}: billed totals by currency");
        assert_eq!(rows, want_rows, "{name}: every data row counted once");
    }
}

#[test]
fn the_hand_sum_itself_is_exact() {
    assert_eq!(exact("$10,000.00 "), 10_000 * 10i128.pow(18));
    assert_eq!(exact("-0.0042"), -42 * 10i128.pow(14));
    assert_eq!(exact("1.5E-05"), 15 * 10i128.pow(12));
    assert_eq!(exact("0.1") + exact("0.2"), exact("0.3"));
    assert_eq!(exact("+3"), exact("3e0"));
}

// ---------------------------------------------------------------------------------------------
// Valid oddities of real exports
// ---------------------------------------------------------------------------------------------

#[test]
fn columns_match_by_name_in_any_order_and_case_unknown_ones_ignored() {
    let s = Scratch::new();
    s.write(
        "a.csv",
        focus(
            "x_Custom,chargeperiodstart,Unknown Column,SERVICENAME,billedcost,BillingCurrency",
            &["zzz,2026-01-01T00:00:00Z,???,web,1.25,USD", "1,2026-01-02T00:00:00Z,,db,2,USD"],
        ),
    );
    let out = costs_csv(&s, "a.csv", "service");
    assert_eq!(
        out,
        "service,billed_cost,effective_cost,currency\r\ndb,2,,USD\r\nweb,1.25,,USD\r\n"
    );
}

#[test]
fn only_billed_cost_and_charge_period_start_are_required() {
    let s = Scratch::new();
    s.write("a.csv", focus("ChargePeriodStart,BilledCost", &["2026-01-01T00:00:00Z,7"]));
    for by in ["service", "account", "region", "resource", "day", "tag:team"] {
        let json = costs_json(&s, "a.csv", by);
        assert_eq!(json["totals"][0]["billed_cost"], "7", "--by {by}");
    }
    let tags = s.ok(&["tags", "--focus", "a.csv", "--require", "team,env", "--format", "csv"]);
    assert!(tags.starts_with("key,currency,tagged_cost,total_cost"), "{tags}");
}

#[test]
fn nulls_are_empty_cells_or_null() {
    let s = Scratch::new();
    s.write(
        "a.csv",
        focus(
            "BilledCost,EffectiveCost,ChargePeriodStart,ServiceName,RegionId,BillingCurrency,Tags",
            &[
                "1,NULL,2026-01-01T00:00:00Z,NULL,NULL,USD,NULL",
                "2,,2026-01-01T00:00:00Z,,,USD,",
                "4,null,2026-01-01T00:00:00Z,null,Null,USD,null",
                "8,1,2026-01-01T00:00:00Z,web,eu-west-1,USD,{}",
            ],
        ),
    );
    let rows = csv_rows(&costs_csv(&s, "a.csv", "service"));
    assert_eq!(
        rows,
        vec![row("web", "8", "1", "USD"), row("", "7", "", "USD"),],
        "NULL, null and empty are all the empty group; a null EffectiveCost is absent"
    );
    let regions = billed_by_key(&costs_csv(&s, "a.csv", "region"));
    assert_eq!(
        regions,
        BTreeMap::from([("".into(), "7".into()), ("eu-west-1".into(), "8".into())])
    );
    let teams = billed_by_key(&costs_csv(&s, "a.csv", "tag:team"));
    assert_eq!(teams, BTreeMap::from([("".into(), "15".into())]));
}

#[test]
fn numbers_with_sign_and_exponent_are_exact() {
    let s = Scratch::new();
    s.write(
        "a.csv",
        focus(
            HEADER,
            &[
                "-0.0042,2026-01-01T00:00:00Z,a,USD",
                "1.5E-05,2026-01-01T00:00:00Z,b,USD",
                "+2,2026-01-01T00:00:00Z,c,USD",
                "1e2,2026-01-01T00:00:00Z,d,USD",
                "2.5e+1,2026-01-01T00:00:00Z,e,USD",
                "-1.5E-05,2026-01-01T00:00:00Z,b,USD",
                "0.000000000000000001,2026-01-01T00:00:00Z,f,USD",
            ],
        ),
    );
    let by = billed_by_key(&costs_csv(&s, "a.csv", "service"));
    assert_eq!(by["a"], "-0.0042");
    assert_eq!(by["b"], "0");
    assert_eq!(by["c"], "2");
    assert_eq!(by["d"], "100");
    assert_eq!(by["e"], "25");
    assert_eq!(by["f"], "0.000000000000000001");
    let json = costs_json(&s, "a.csv", "service");
    assert_eq!(json["totals"][0]["billed_cost"], "126.995800000000000001");
}

#[test]
fn rfc3339_timestamps_count_the_utc_day() {
    let s = Scratch::new();
    s.write(
        "a.csv",
        focus(
            "BilledCost,ChargePeriodStart,BillingCurrency",
            &[
                "1,2026-10-01T23:30:00-02:00,USD",     // 2026-10-02 01:30 UTC
                "2,2026-10-02T00:00:00+05:00,USD",     // 2026-10-01 19:00 UTC
                "4,2026-10-01T12:00:00Z,USD",          // 2026-10-01
                "8,2026-10-02T00:30:00.123+01:00,USD", // 2026-10-01 23:30 UTC
                "16,2026-10-02T00:00:00.5Z,USD",       // 2026-10-02
                "32,2026-09-30T22:00:00-02:00,USD",    // 2026-10-01 00:00 UTC
            ],
        ),
    );
    let out = costs_csv(&s, "a.csv", "day");
    assert_eq!(
        out,
        "day,billed_cost,effective_cost,currency\r\n2026-10-01,46,,USD\r\n2026-10-02,17,,USD\r\n"
    );
}

#[test]
fn space_separated_timestamps_are_utc() {
    let s = Scratch::new();
    s.write(
        "a.csv",
        focus(
            "BilledCost,ChargePeriodStart,BillingCurrency",
            &[
                "1,2026-10-01 23:59:59,USD",
                "2,2026-10-02 00:00:00,USD",
                "4,2026-10-01 00:00:00,USD",
            ],
        ),
    );
    let by = billed_by_key(&costs_csv(&s, "a.csv", "day"));
    assert_eq!(
        by,
        BTreeMap::from([("2026-10-01".into(), "5".into()), ("2026-10-02".into(), "2".into())])
    );
}

#[test]
fn tags_are_a_json_object_with_string_or_true_values() {
    let s = Scratch::new();
    s.write(
        "a.csv",
        focus(
            "BilledCost,ChargePeriodStart,BillingCurrency,Tags",
            &[
                r#"1,2026-01-01T00:00:00Z,USD,"{""team"":""web"",""legacy"":true}""#,
                r#"2,2026-01-01T00:00:00Z,USD,"{""team"":""data""}""#,
                r#"4,2026-01-01T00:00:00Z,USD,"{ ""legacy"" : true , ""env"": ""prod"" }""#,
                "8,2026-01-01T00:00:00Z,USD,",
            ],
        ),
    );
    assert_eq!(
        billed_by_key(&costs_csv(&s, "a.csv", "tag:team")),
        BTreeMap::from([
            ("".into(), "12".into()),
            ("web".into(), "1".into()),
            ("data".into(), "2".into())
        ])
    );
    assert_eq!(
        billed_by_key(&costs_csv(&s, "a.csv", "tag:legacy")),
        BTreeMap::from([("".into(), "10".into()), ("true".into(), "5".into())])
    );
}

#[test]
fn utf8_bom_before_the_header_is_ignored() {
    let s = Scratch::new();
    s.write("a.csv", format!("\u{feff}{}", focus(HEADER, &["3,2026-01-01T00:00:00Z,web,USD"])));
    assert_eq!(billed_by_key(&costs_csv(&s, "a.csv", "service"))["web"], "3");
    // A BOM before a quoted first header too.
    s.write("b.csv", "\u{feff}\"BilledCost\",\"ChargePeriodStart\"\r\n3,2026-01-01T00:00:00Z\r\n");
    assert_eq!(costs_json(&s, "b.csv", "service")["totals"][0]["billed_cost"], "3");
}

#[test]
fn crlf_line_endings_are_valid() {
    let s = Scratch::new();
    s.write(
        "a.csv",
        concat!(
            "BilledCost,ChargePeriodStart,ServiceName\r\n",
            "1,2026-01-01T00:00:00Z,web\r\n",
            "2,2026-01-01T00:00:00Z,web\r\n",
        ),
    );
    assert_eq!(billed_by_key(&costs_csv(&s, "a.csv", "service"))["web"], "3");
}

#[test]
fn quoted_newlines_inside_fields_are_valid() {
    let s = Scratch::new();
    s.write(
        "a.csv",
        "BilledCost,ChargePeriodStart,ServiceName,ResourceName\n\
         1,2026-01-01T00:00:00Z,\"multi\nline\",\"a\r\nb\"\n\
         2,2026-01-01T00:00:00Z,web,x\n",
    );
    let out = costs_csv(&s, "a.csv", "service");
    let by = billed_by_key(&out);
    assert_eq!(by.len(), 2, "{out}");
    assert_eq!(by["web"], "2");
    // The newline never reaches the CSV as a raw line break inside a cell.
    assert_eq!(out.matches('\n').count(), 3, "header + 2 rows: {out:?}");
    assert!(out.contains("multi line"), "{out:?}");
}

#[test]
fn a_two_megabyte_field_is_valid() {
    let s = Scratch::new();
    let long = "x".repeat(2 * 1024 * 1024);
    s.write(
        "a.csv",
        focus(
            "ResourceId,BilledCost,ChargePeriodStart,ResourceName,ServiceName,BillingCurrency",
            &[
                &format!("r1,0.1,2026-01-01T00:00:00Z,\"{long}\",svc,USD"),
                "r2,0.2,2026-01-01T00:00:00Z,short,svc,USD",
            ],
        ),
    );
    let by = billed_by_key(&costs_csv(&s, "a.csv", "resource"));
    assert_eq!(by, BTreeMap::from([("r1".into(), "0.1".into()), ("r2".into(), "0.2".into())]));
    assert_eq!(costs_json(&s, "a.csv", "service")["totals"][0]["billed_cost"], "0.3");
    s.ok(&["tags", "--focus", "a.csv", "--require", "team", "--format", "json"]);
}

#[test]
fn gzip_is_detected_by_magic_bytes() {
    let s = Scratch::new();
    let data =
        focus(HEADER, &["1.5,2026-01-01T00:00:00Z,web,USD", "2,2026-01-01T00:00:00Z,db,USD"]);
    s.write("a.csv.gz", gzip(data.as_bytes()));
    s.write("plain-name.csv", gzip(data.as_bytes()));
    s.write("a.csv", &data);
    let plain = costs_csv(&s, "a.csv", "service");
    assert_eq!(costs_csv(&s, "a.csv.gz", "service"), plain);
    assert_eq!(costs_csv(&s, "plain-name.csv", "service"), plain);
    // Concatenated gzip members (what `cat a.gz b.gz` gives) are one stream.
    let mut two = gzip(data.as_bytes());
    two.extend(gzip(b"3,2026-01-02T00:00:00Z,web,USD\n"));
    s.write("two.csv.gz", two);
    assert_eq!(billed_by_key(&costs_csv(&s, "two.csv.gz", "service"))["web"], "4.5");
}

#[test]
fn several_focus_files_are_summed() {
    let s = Scratch::new();
    s.write("a.csv", focus(HEADER, &["1,2026-01-01T00:00:00Z,web,USD"]));
    s.write(
        "b.csv",
        focus(
            "ServiceName,BilledCost,ChargePeriodStart,BillingCurrency",
            &["web,2,2026-01-02T00:00:00Z,USD"],
        ),
    );
    let out = s.ok(&["costs", "--focus", "a.csv", "--focus", "b.csv", "--by", "service"]);
    assert_eq!(billed_by_key(&out)["web"], "3");
}

// ---------------------------------------------------------------------------------------------
// Malformed input: exit 2, file + line + column, never a panic
// ---------------------------------------------------------------------------------------------

#[test]
fn wrong_column_count_is_rejected_with_file_and_line() {
    let s = Scratch::new();
    s.write(
        "short.csv",
        focus(HEADER, &["1,2026-01-01T00:00:00Z,web,USD", "2,2026-01-01T00:00:00Z,db"]),
    );
    let err = s.bad(&["costs", "--focus", "short.csv", "--by", "service"]);
    assert!(err.contains("short.csv:3:"), "{err}");
    s.write(
        "long.csv",
        focus(HEADER, &["1,2026-01-01T00:00:00Z,web,USD,extra", "1,2026-01-01T00:00:00Z,web,USD"]),
    );
    let err = s.bad(&["costs", "--focus", "long.csv", "--by", "service"]);
    assert!(err.contains("long.csv:2:"), "{err}");
    assert!(err.contains('5') && err.contains('4'), "says 5 fields vs 4 in the header: {err}");
}

#[test]
fn wrong_column_count_names_the_first_missing_column() {
    let s = Scratch::new();
    s.write("short.csv", focus(HEADER, &["2,2026-01-01T00:00:00Z,db"]));
    let err = s.bad(&["costs", "--focus", "short.csv", "--by", "service"]);
    assert_names(&err, "short.csv", 2, "BillingCurrency");
}

#[test]
fn a_cost_that_is_not_a_number_is_rejected() {
    let s = Scratch::new();
    for (i, bad) in ["abc", "1.2.3", "1,5", "12 USD", "--1", "1e", "NaN", "inf", "0x10", "1e21"]
        .into_iter()
        .enumerate()
    {
        let name = format!("cost{i}.csv");
        s.write(
            &name,
            focus(
                HEADER,
                &[
                    "1,2026-01-01T00:00:00Z,web,USD",
                    &format!("\"{bad}\",2026-01-01T00:00:00Z,web,USD"),
                ],
            ),
        );
        let err = s.bad(&["costs", "--focus", &name, "--by", "service"]);
        assert_names(&err, &name, 3, "BilledCost");
    }
    // Other cost columns are checked too.
    s.write(
        "effective.csv",
        focus("BilledCost,EffectiveCost,ChargePeriodStart", &["1,oops,2026-01-01T00:00:00Z"]),
    );
    let err = s.bad(&["costs", "--focus", "effective.csv", "--by", "service"]);
    assert_names(&err, "effective.csv", 2, "EffectiveCost");
}

#[test]
fn a_null_billed_cost_is_rejected() {
    let s = Scratch::new();
    s.write(
        "a.csv",
        focus(HEADER, &["1,2026-01-01T00:00:00Z,web,USD", "NULL,2026-01-01T00:00:00Z,web,USD"]),
    );
    let err = s.bad(&["costs", "--focus", "a.csv", "--by", "service"]);
    assert_names(&err, "a.csv", 3, "BilledCost");
}

#[test]
fn a_bad_timestamp_is_rejected() {
    let s = Scratch::new();
    for (i, bad) in [
        "yesterday",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-01-01T25:00:00Z",
        "2026-01-01T00:00:00+25:00",
        "2026-01-01T00:00:00 UTC",
        "2026-01-01T00:00",
        "2026/01/01",
        "20260101",
        "NULL",
    ]
    .into_iter()
    .enumerate()
    {
        let name = format!("ts{i}.csv");
        s.write(
            &name,
            focus(HEADER, &["1,2026-01-01T00:00:00Z,web,USD", &format!("1,{bad},web,USD")]),
        );
        let err = s.bad(&["costs", "--focus", &name, "--by", "day"]);
        assert_names(&err, &name, 3, "ChargePeriodStart");
    }
}

fn bad_tags_file(s: &Scratch) {
    s.write(
        "tags.csv",
        focus(
            "BilledCost,ChargePeriodStart,ServiceName,Tags",
            &[
                r#"1,2026-01-01T00:00:00Z,web,"{""team"":""web""}""#,
                r#"1,2026-01-01T00:00:00Z,web,"{""team"":""web"""#,
            ],
        ),
    );
}

#[test]
fn bad_tags_json_is_rejected() {
    let s = Scratch::new();
    bad_tags_file(&s);
    let err = s.bad(&["costs", "--focus", "tags.csv", "--by", "tag:team"]);
    assert_names(&err, "tags.csv", 3, "Tags");
    let err = s.bad(&["tags", "--focus", "tags.csv", "--require", "team,env"]);
    assert_names(&err, "tags.csv", 3, "Tags");
    for (i, bad) in
        [r#"[""team""]"#, r#"{""team"":{""a"":""b""}}"#, r#"{""team"":null}"#, "team=web"]
            .into_iter()
            .enumerate()
    {
        let name = format!("tags{i}.csv");
        s.write(
            &name,
            focus(
                "BilledCost,ChargePeriodStart,Tags",
                &[&format!("1,2026-01-01T00:00:00Z,\"{bad}\"")],
            ),
        );
        let err = s.bad(&["costs", "--focus", &name, "--by", "tag:team"]);
        assert_names(&err, &name, 2, "Tags");
    }
}

#[test]
fn bad_tags_json_is_rejected_whatever_the_dimension() {
    let s = Scratch::new();
    bad_tags_file(&s);
    for by in ["service", "account", "region", "day"] {
        let err = s.bad(&["costs", "--focus", "tags.csv", "--by", by]);
        assert_names(&err, "tags.csv", 3, "Tags");
    }
}

#[test]
fn a_missing_required_column_is_rejected() {
    let s = Scratch::new();
    s.write("nocost.csv", focus("ChargePeriodStart,ServiceName", &["2026-01-01T00:00:00Z,web"]));
    let err = s.bad(&["costs", "--focus", "nocost.csv", "--by", "service"]);
    assert!(err.contains("nocost.csv") && err.contains("BilledCost"), "{err}");
    s.write("nostart.csv", focus("BilledCost,ServiceName,ChargePeriodEnd", &["1,web,2026-01-02"]));
    let err = s.bad(&["costs", "--focus", "nostart.csv", "--by", "service"]);
    assert!(err.contains("nostart.csv") && err.contains("ChargePeriodStart"), "{err}");
    // A column named almost right is not the column.
    s.write("almost.csv", focus("Billed Cost,ChargePeriodStart", &["1,2026-01-01T00:00:00Z"]));
    let err = s.bad(&["costs", "--focus", "almost.csv", "--by", "service"]);
    assert!(err.contains("almost.csv") && err.contains("BilledCost"), "{err}");
}

#[test]
fn an_empty_file_is_rejected() {
    let s = Scratch::new();
    for (name, contents) in
        [("empty.csv", ""), ("newline.csv", "\n"), ("crlf.csv", "\r\n"), ("bom.csv", "\u{feff}")]
    {
        s.write(name, contents);
        let err = s.bad(&["costs", "--focus", name, "--by", "service"]);
        assert!(err.contains(name), "{err}");
    }
    s.write("empty.csv.gz", gzip(b""));
    let err = s.bad(&["costs", "--focus", "empty.csv.gz", "--by", "service"]);
    assert!(err.contains("empty.csv.gz"), "{err}");
}

#[test]
fn a_truncated_gzip_is_rejected() {
    let s = Scratch::new();
    let rows: String =
        (0..5000).map(|i| format!("{i}.25,2026-01-01T00:00:00Z,svc{},USD\n", i % 7)).collect();
    let full = gzip(format!("{HEADER}\n{rows}").as_bytes());
    for (name, cut) in
        [("head.csv.gz", 12), ("half.csv.gz", full.len() / 2), ("tail.csv.gz", full.len() - 4)]
    {
        s.write(name, &full[..cut]);
        let err = s.bad(&["costs", "--focus", name, "--by", "service"]);
        assert!(err.contains(name), "{err}");
    }
    // Corrupt (not cut) compressed data.
    let mut corrupt = full.clone();
    for b in &mut corrupt[100..200] {
        *b ^= 0x5a;
    }
    s.write("corrupt.csv.gz", corrupt);
    let err = s.bad(&["costs", "--focus", "corrupt.csv.gz", "--by", "service"]);
    assert!(err.contains("corrupt.csv.gz"), "{err}");
}

#[test]
fn a_truncated_gzip_names_the_line_it_stops_at() {
    let s = Scratch::new();
    let rows: String =
        (0..5000).map(|i| format!("{i}.25,2026-01-01T00:00:00Z,svc{},USD\n", i % 7)).collect();
    let full = gzip(format!("{HEADER}\n{rows}").as_bytes());
    s.write("half.csv.gz", &full[..full.len() / 2]);
    let err = s.bad(&["costs", "--focus", "half.csv.gz", "--by", "service"]);
    let line: u64 = err
        .split("line ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(line > 100, "the data stops well after line 100: {err}");
}

#[test]
fn a_binary_file_is_rejected() {
    let s = Scratch::new();
    let mut bytes: Vec<u8> = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend((0..4096u32).map(|i| (i * 37 % 256) as u8));
    s.write("image.csv", &bytes);
    let err = s.bad(&["costs", "--focus", "image.csv", "--by", "service"]);
    assert!(err.contains("image.csv"), "{err}");
    // NUL bytes in an otherwise text-looking header.
    s.write("nul.csv", b"BilledCost\0,ChargePeriodStart\n1,2026-01-01T00:00:00Z\n");
    let err = s.bad(&["costs", "--focus", "nul.csv", "--by", "service"]);
    assert!(err.contains("nul.csv"), "{err}");
    // Binary after a valid header: a row error, still exit 2.
    let mut tail = format!("{HEADER}\n").into_bytes();
    tail.extend((0..4096u32).map(|i| (i * 91 % 256) as u8));
    s.write("tail.csv", tail);
    let err = s.bad(&["costs", "--focus", "tail.csv", "--by", "service"]);
    assert!(err.contains("tail.csv:"), "{err}");
}

#[test]
fn header_errors_name_line_1() {
    let s = Scratch::new();
    s.write("nocost.csv", focus("ChargePeriodStart,ServiceName", &["2026-01-01T00:00:00Z,web"]));
    let err = s.bad(&["costs", "--focus", "nocost.csv", "--by", "service"]);
    assert_names(&err, "nocost.csv", 1, "BilledCost");
    s.write("image.csv", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    let err = s.bad(&["costs", "--focus", "image.csv", "--by", "service"]);
    assert!(err.contains("image.csv:1"), "{err}");
}

#[test]
fn line_numbers_count_quoted_newlines() {
    let s = Scratch::new();
    s.write(
        "a.csv",
        concat!(
            "BilledCost,ChargePeriodStart,ServiceName\n",
            "1,2026-01-01T00:00:00Z,\"multi\nline\"\n",
            "x,2026-01-01T00:00:00Z,b\n",
        ),
    );
    let err = s.bad(&["costs", "--focus", "a.csv", "--by", "service"]);
    assert_names(&err, "a.csv", 4, "BilledCost");
}

#[test]
fn line_numbers_are_physical_lines_with_crlf() {
    let s = Scratch::new();
    s.write(
        "crlf.csv",
        "BilledCost,ChargePeriodStart\r\n1,2026-01-01T00:00:00Z\r\nx,2026-01-01T00:00:00Z\r\n",
    );
    let err = s.bad(&["costs", "--focus", "crlf.csv", "--by", "service"]);
    assert_names(&err, "crlf.csv", 3, "BilledCost");
    s.write("first.csv", "BilledCost,ChargePeriodStart\r\nx,2026-01-01T00:00:00Z\r\n");
    let err = s.bad(&["costs", "--focus", "first.csv", "--by", "service"]);
    assert_names(&err, "first.csv", 2, "BilledCost");
    s.write(
        "quoted.csv",
        concat!(
            "BilledCost,ChargePeriodStart,S\r\n",
            "1,2026-01-01T00:00:00Z,\"a\r\nb\"\r\n",
            "x,2026-01-01T00:00:00Z,c\r\n",
        ),
    );
    let err = s.bad(&["costs", "--focus", "quoted.csv", "--by", "service"]);
    assert_names(&err, "quoted.csv", 4, "BilledCost");
}

#[test]
fn line_numbers_count_blank_lines() {
    let s = Scratch::new();
    s.write(
        "blank.csv",
        "BilledCost,ChargePeriodStart\n1,2026-01-01T00:00:00Z\n\nx,2026-01-01T00:00:00Z\n",
    );
    let err = s.bad(&["costs", "--focus", "blank.csv", "--by", "service"]);
    assert_names(&err, "blank.csv", 4, "BilledCost");
}

#[test]
fn an_error_in_the_second_file_names_that_file() {
    let s = Scratch::new();
    s.write("good.csv", focus(HEADER, &["1,2026-01-01T00:00:00Z,web,USD"]));
    s.write(
        "bad.csv",
        focus(HEADER, &["1,2026-01-01T00:00:00Z,web,USD", "oops,2026-01-01T00:00:00Z,web,USD"]),
    );
    let err = s.bad(&["costs", "--focus", "good.csv", "--focus", "bad.csv", "--by", "service"]);
    assert_names(&err, "bad.csv", 3, "BilledCost");
    assert!(!err.contains("good.csv"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// --skip-invalid
// ---------------------------------------------------------------------------------------------

fn partly_bad(s: &Scratch) {
    s.write(
        "partly.csv",
        focus(
            HEADER,
            &[
                "1,2026-01-01T00:00:00Z,web,USD",
                "x,2026-01-01T00:00:00Z,web,USD",
                "2,2026-01-01T00:00:00Z,web,USD",
                "4,not-a-date,web,USD",
                "8,2026-01-01T00:00:00Z,web",
                "16,2026-01-01T00:00:00Z,db,USD",
            ],
        ),
    );
}

#[test]
fn skip_invalid_reports_count_and_lines_in_every_output() {
    let s = Scratch::new();
    partly_bad(&s);
    let lines = ["partly.csv:3", "partly.csv:5", "partly.csv:6"];
    for format in ["csv", "json", "markdown"] {
        let out = s.run(&[
            "costs",
            "--focus",
            "partly.csv",
            "--by",
            "service",
            "--format",
            format,
            "--skip-invalid",
        ]);
        assert_eq!(out.status.code(), Some(3), "report written, data partial ({format})");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("3 invalid rows"), "{stderr}");
        for line in lines {
            assert!(stderr.contains(line), "stderr names {line}: {stderr}");
        }
        let stdout = String::from_utf8(out.stdout).unwrap();
        match format {
            "csv" => {
                let last = stdout.lines().last().unwrap();
                assert!(last.starts_with("# ") && last.contains('3'), "trailing # line: {stdout}");
                for line in lines {
                    assert!(last.contains(line), "{last}");
                }
                assert_eq!(
                    billed_by_key(&stdout),
                    BTreeMap::from([("web".into(), "3".into()), ("db".into(), "16".into())])
                );
            }
            "json" => {
                let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
                let skipped = json["skipped_rows"].as_str().unwrap();
                for line in lines {
                    assert!(skipped.contains(line), "{skipped}");
                }
                assert_eq!(json["totals"][0]["billed_cost"], "19");
            }
            _ => {
                for line in lines {
                    assert!(stdout.contains(line), "{stdout}");
                }
            }
        }
    }
    // tags too.
    let out = s.run(&["tags", "--focus", "partly.csv", "--require", "team", "--skip-invalid"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).lines().last().unwrap().starts_with("# "));
}

#[test]
fn a_clean_run_has_no_skipped_note() {
    let s = Scratch::new();
    s.write("a.csv", focus(HEADER, &["1,2026-01-01T00:00:00Z,web,USD"]));
    let csv = s.ok(&["costs", "--focus", "a.csv", "--skip-invalid"]);
    assert!(!csv.contains('#'), "{csv}");
    let json = costs_json(&s, "a.csv", "service");
    assert!(json.get("skipped_rows").is_none(), "{json}");
}

#[test]
fn skip_invalid_with_out_writes_the_report_and_exits_3() {
    let s = Scratch::new();
    partly_bad(&s);
    let out = s.run(&["costs", "--focus", "partly.csv", "--skip-invalid", "--out", "report.csv"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty());
    let written = fs::read_to_string(s.path().join("report.csv")).unwrap();
    assert!(written.starts_with("service,billed_cost"), "{written}");
    assert!(written.lines().last().unwrap().starts_with("# 3 invalid rows"), "{written}");
    assert_eq!(s.listing(), ["partly.csv", "report.csv"]);
}

#[test]
fn skip_invalid_does_not_skip_file_level_errors() {
    let s = Scratch::new();
    s.write("nocost.csv", focus("ChargePeriodStart,ServiceName", &["2026-01-01T00:00:00Z,web"]));
    s.bad(&["costs", "--focus", "nocost.csv", "--skip-invalid"]);
    s.write("empty.csv", "");
    s.bad(&["costs", "--focus", "empty.csv", "--skip-invalid"]);
    let full = gzip(format!("{HEADER}\n1,2026-01-01T00:00:00Z,web,USD\n").as_bytes());
    s.write("cut.csv.gz", &full[..full.len() - 6]);
    s.bad(&["costs", "--focus", "cut.csv.gz", "--skip-invalid"]);
}

// ---------------------------------------------------------------------------------------------
// Money and currencies
// ---------------------------------------------------------------------------------------------

#[test]
fn sums_are_exact_plain_decimals() {
    let s = Scratch::new();
    let mut rows: Vec<String> =
        (0..10).map(|_| "0.1,2026-01-01T00:00:00Z,tenths,USD".to_string()).collect();
    rows.push("0.2,2026-01-01T00:00:00Z,pair,USD".into());
    rows.push("0.1,2026-01-01T00:00:00Z,pair,USD".into());
    rows.push("1234567.891,2026-01-01T00:00:00Z,big,USD".into());
    rows.push("98765432109876.123456789012345678,2026-01-01T00:00:00Z,big,USD".into());
    rows.push("0.000000000000000001,2026-01-01T00:00:00Z,tiny,USD".into());
    rows.push("0.000000000000000002,2026-01-01T00:00:00Z,tiny,USD".into());
    rows.push("-5.5,2026-01-01T00:00:00Z,credit,USD".into());
    rows.push("1.25,2026-01-01T00:00:00Z,credit,USD".into());
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    s.write("a.csv", focus(HEADER, &refs));
    let by = billed_by_key(&costs_csv(&s, "a.csv", "service"));
    assert_eq!(by["tenths"], "1");
    assert_eq!(by["pair"], "0.3");
    assert_eq!(by["big"], "98765433344444.014456789012345678", "no rounding, no separators");
    assert_eq!(by["tiny"], "0.000000000000000003");
    assert_eq!(by["credit"], "-4.25");
    let json = costs_json(&s, "a.csv", "service");
    assert_eq!(json["totals"][0]["billed_cost"], "98765433344441.064456789012345681");
    assert!(json["rows"][0]["billed_cost"].is_string(), "money is a JSON string, never a float");
}

#[test]
fn a_sum_out_of_range_is_not_a_silent_wrong_number() {
    let s = Scratch::new();
    s.write(
        "a.csv",
        focus(HEADER, &["1E20,2026-01-01T00:00:00Z,web,USD", "1E20,2026-01-01T00:00:00Z,web,USD"]),
    );
    let out = s.run(&["costs", "--focus", "a.csv", "--by", "service"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let exact_or_refused = stdout.contains("200000000000000000000") || out.status.code() == Some(2);
    assert!(exact_or_refused, "exit {:?}, output {stdout}", out.status.code());
}

#[test]
fn two_currencies_give_two_rows_never_one_sum() {
    let s = Scratch::new();
    s.write(
        "a.csv",
        focus(
            HEADER,
            &[
                "10,2026-01-01T00:00:00Z,web,USD",
                "20,2026-01-01T00:00:00Z,web,EUR",
                "1,2026-01-01T00:00:00Z,web,USD",
                "2,2026-01-02T00:00:00Z,db,EUR",
            ],
        ),
    );
    let rows = csv_rows(&costs_csv(&s, "a.csv", "service"));
    assert_eq!(
        rows,
        vec![row("web", "20", "", "EUR"), row("web", "11", "", "USD"), row("db", "2", "", "EUR"),]
    );
    let json = costs_json(&s, "a.csv", "service");
    let totals: BTreeMap<&str, &str> = json["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["currency"].as_str().unwrap(), t["billed_cost"].as_str().unwrap()))
        .collect();
    assert_eq!(totals, BTreeMap::from([("EUR", "22"), ("USD", "11")]));
    let day = csv_rows(&costs_csv(&s, "a.csv", "day"));
    assert_eq!(day.len(), 3, "2026-01-01 EUR, 2026-01-01 USD, 2026-01-02 EUR: {day:?}");
}

#[test]
fn a_missing_currency_prints_unknown() {
    let s = Scratch::new();
    // No BillingCurrency column at all.
    s.write(
        "nocol.csv",
        focus("BilledCost,ChargePeriodStart,ServiceName", &["1,2026-01-01T00:00:00Z,web"]),
    );
    assert_eq!(csv_rows(&costs_csv(&s, "nocol.csv", "service"))[0][3], "unknown");
    // The column, but empty or NULL on some rows: those form their own `unknown` rows.
    s.write(
        "mixed.csv",
        focus(
            HEADER,
            &[
                "1,2026-01-01T00:00:00Z,web,USD",
                "2,2026-01-01T00:00:00Z,web,",
                "4,2026-01-01T00:00:00Z,web,NULL",
            ],
        ),
    );
    let rows = csv_rows(&costs_csv(&s, "mixed.csv", "service"));
    assert_eq!(rows, vec![row("web", "6", "", "unknown"), row("web", "1", "", "USD"),]);
    let md = s.ok(&["costs", "--focus", "mixed.csv", "--format", "markdown"]);
    assert!(md.contains("| unknown |"), "{md}");
    let json = costs_json(&s, "mixed.csv", "service");
    let totals = json["totals"].as_array().unwrap();
    assert_eq!(totals.len(), 2, "unknown is never summed with USD: {json}");
    let tags = s.ok(&["tags", "--focus", "mixed.csv", "--require", "team"]);
    assert!(tags.contains(",unknown,"), "{tags}");
}

// ---------------------------------------------------------------------------------------------
// Dimensions
// ---------------------------------------------------------------------------------------------

#[test]
fn by_account_is_sub_account_else_billing_account() {
    let s = Scratch::new();
    s.write(
        "a.csv",
        focus(
            concat!(
                "BilledCost,ChargePeriodStart,BillingAccountId,BillingAccountName,",
                "SubAccountId,SubAccountName,BillingCurrency",
            ),
            &[
                "1,2026-01-01T00:00:00Z,payer,Payer Inc,111,Web team,USD",
                "2,2026-01-01T00:00:00Z,payer,Payer Inc,NULL,NULL,USD",
                "4,2026-01-01T00:00:00Z,payer,Payer Inc,,,USD",
                "8,2026-01-01T00:00:00Z,payer,Payer Inc,222,,USD",
                "16,2026-01-01T00:00:00Z,other,,,,USD",
            ],
        ),
    );
    assert_eq!(
        billed_by_key(&costs_csv(&s, "a.csv", "account")),
        BTreeMap::from([
            ("111".into(), "1".into()),
            ("222".into(), "8".into()),
            ("payer".into(), "6".into()),
            ("other".into(), "16".into()),
        ])
    );
}

#[test]
fn by_tag_groups_by_the_value_and_untagged_rows_form_the_empty_group() {
    let s = Scratch::new();
    s.write(
        "a.csv",
        focus(
            "BilledCost,ChargePeriodStart,BillingCurrency,Tags",
            &[
                r#"1,2026-01-01T00:00:00Z,USD,"{""team"":""web""}""#,
                r#"2,2026-01-01T00:00:00Z,USD,"{""team"":""web"",""env"":""prod""}""#,
                r#"4,2026-01-01T00:00:00Z,USD,"{""team"":""data""}""#,
                r#"8,2026-01-01T00:00:00Z,USD,"{""env"":""prod""}""#,
                r#"16,2026-01-01T00:00:00Z,USD,"{""Team"":""web""}""#,
                "32,2026-01-01T00:00:00Z,USD,",
                "64,2026-01-01T00:00:00Z,USD,{}",
            ],
        ),
    );
    let rows = csv_rows(&costs_csv(&s, "a.csv", "tag:team"));
    assert_eq!(
        rows,
        vec![row("", "120", "", "USD"), row("data", "4", "", "USD"), row("web", "3", "", "USD"),],
        "tag keys match exactly (Team is another key)"
    );
    let header = costs_csv(&s, "a.csv", "tag:team");
    assert!(header.starts_with("tag:team,billed_cost,effective_cost,currency\r\n"), "{header}");
}

#[test]
fn by_region_resource_and_day() {
    let s = Scratch::new();
    s.write(
        "a.csv",
        focus(
            "BilledCost,ChargePeriodStart,RegionId,ResourceId,BillingCurrency",
            &[
                "1,2026-01-01T00:00:00Z,us-east-1,i-1,USD",
                "2,2026-01-02T00:00:00Z,us-east-1,i-1,USD",
                "4,2026-01-02T00:00:00Z,eu-west-1,vol-2,USD",
                "8,2026-01-03T00:00:00Z,,,USD",
            ],
        ),
    );
    assert_eq!(
        billed_by_key(&costs_csv(&s, "a.csv", "region")),
        BTreeMap::from([
            ("us-east-1".into(), "3".into()),
            ("eu-west-1".into(), "4".into()),
            ("".into(), "8".into())
        ])
    );
    assert_eq!(
        billed_by_key(&costs_csv(&s, "a.csv", "resource")),
        BTreeMap::from([
            ("i-1".into(), "3".into()),
            ("vol-2".into(), "4".into()),
            ("".into(), "8".into())
        ])
    );
    let days: Vec<String> =
        csv_rows(&costs_csv(&s, "a.csv", "day")).into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(days, ["2026-01-01", "2026-01-02", "2026-01-03"], "days in date order");
}

#[test]
fn tags_command_reports_coverage_in_every_format() {
    let s = Scratch::new();
    s.write(
        "a.csv",
        focus(
            "BilledCost,ChargePeriodStart,ResourceId,BillingCurrency,Tags",
            &[
                r#"30,2026-01-01T00:00:00Z,i-1,USD,"{""team"":""web"",""env"":""prod""}""#,
                r#"10,2026-01-01T00:00:00Z,i-2,USD,"{""team"":""data""}""#,
                "60,2026-01-01T00:00:00Z,i-3,USD,",
            ],
        ),
    );
    let csv = s.ok(&["tags", "--focus", "a.csv", "--require", "team,env", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<Vec<String>> =
        reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect();
    let team = rows.iter().find(|r| r[0] == "team").unwrap();
    assert_eq!(&team[1..5], ["USD", "40", "100", "0.4"]);
    assert_eq!(&team[5..7], ["2", "3"]);
    let env = rows.iter().find(|r| r[0] == "env").unwrap();
    assert_eq!(&env[1..5], ["USD", "30", "100", "0.3"]);

    let json: serde_json::Value = serde_json::from_str(&s.ok(&[
        "tags",
        "--focus",
        "a.csv",
        "--require",
        "team,env",
        "--format",
        "json",
    ]))
    .unwrap();
    let keys: Vec<&str> =
        json["keys"].as_array().unwrap().iter().map(|k| k["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["team", "env"]);
    assert_eq!(json["keys"][0]["tagged_cost"], "40");

    let md = s.ok(&["tags", "--focus", "a.csv", "--require", "team,env", "--format", "markdown"]);
    assert!(md.contains("| team | 40.0% |"), "{md}");
    assert!(md.contains("i-3"), "the untagged resource is listed: {md}");
}

// ---------------------------------------------------------------------------------------------
// Identical output for identical input, whatever the row or file order
// ---------------------------------------------------------------------------------------------

/// A varied set of rows: ties in cost, several currencies, null accounts, account names that
/// differ between rows, the same resource described differently on the same day, tags.
fn varied_rows() -> Vec<String> {
    let services = ["web", "db", "=calc", "queue"];
    let currencies = ["USD", "EUR", ""];
    let teams = [r#""{""team"":""web""}""#, r#""{""team"":""data"",""env"":""prod""}""#, "", "{}"];
    let starts = [
        "2026-03-01T00:00:00Z",
        "2026-03-01T23:30:00-02:00",
        "2026-03-02 10:00:00",
        "2026-03-03T01:00:00+03:00",
    ];
    (0..64)
        .map(|i| {
            let cost = match i % 5 {
                0 => "1".to_string(),
                1 => format!("0.{i:03}7"),
                2 => format!("-{i}.5E-03"),
                3 => "1".to_string(),
                _ => format!("{}", i * 3),
            };
            let sub = if i % 3 == 0 { "NULL".to_string() } else { format!("sub-{}", i % 4) };
            format!(
                concat!(
                    "{cost},{start},payer-{p},Payer {name},{sub},Name {n},{service},",
                    "r-{r},Type{t},res name {i},{region},{cur},{tags}",
                ),
                cost = cost,
                sub = sub,
                i = i,
                start = starts[i % starts.len()],
                p = i % 2,
                name = (b'A' + (i % 3) as u8) as char,
                n = i % 5,
                service = services[i % services.len()],
                r = i % 6,
                t = i % 2,
                region = if i % 7 == 0 { "" } else { "us-east-1" },
                cur = currencies[i % currencies.len()],
                tags = teams[i % teams.len()],
            )
        })
        .collect()
}

const VARIED_HEADER: &str = concat!(
    "BilledCost,ChargePeriodStart,BillingAccountId,BillingAccountName,SubAccountId,",
    "SubAccountName,ServiceName,ResourceId,ResourceType,ResourceName,RegionId,",
    "BillingCurrency,Tags",
);

/// A deterministic Fisher–Yates shuffle (xorshift), so the test needs no RNG crate.
fn shuffled<T: Clone>(items: &[T], mut seed: u64) -> Vec<T> {
    let mut out = items.to_vec();
    for i in (1..out.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    out
}

/// Every `costs` output (each dimension × each format), labelled.
fn costs_outputs(s: &Scratch, files: &[&str]) -> Vec<(String, String)> {
    let mut outputs = Vec::new();
    for by in ["service", "account", "region", "resource", "day", "tag:team", "provider"] {
        for format in ["csv", "json", "markdown"] {
            let mut args = vec!["costs", "--by", by, "--format", format];
            for f in files {
                args.extend(["--focus", f]);
            }
            outputs.push((format!("costs --by {by} --format {format}"), s.ok(&args)));
        }
    }
    outputs
}

/// Every `tags` output (each format), labelled.
fn tags_outputs(s: &Scratch, files: &[&str]) -> Vec<(String, String)> {
    let mut outputs = Vec::new();
    for format in ["csv", "json", "markdown"] {
        let mut args = vec!["tags", "--require", "team,env", "--format", format];
        for f in files {
            args.extend(["--focus", f]);
        }
        outputs.push((format!("tags --format {format}"), s.ok(&args)));
    }
    outputs
}

fn assert_same_outputs(want: &[(String, String)], got: &[(String, String)], context: &str) {
    assert_eq!(want.len(), got.len());
    for ((label, a), (_, b)) in want.iter().zip(got) {
        assert!(!a.is_empty(), "{label}: empty output");
        assert!(a == b, "{label} differs ({context}):\n{a}\n---\n{b}");
    }
}

const SEEDS: [u64; 3] = [0x9e37_79b9_7f4a_7c15, 42, 7];

#[test]
fn shuffled_rows_give_byte_identical_costs_output() {
    let s = Scratch::new();
    let rows = varied_rows();
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    s.write("ordered.csv", focus(VARIED_HEADER, &refs));
    let reference = costs_outputs(&s, &["ordered.csv"]);
    for seed in SEEDS {
        let rows = shuffled(&rows, seed);
        let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
        s.write("shuffled.csv", focus(VARIED_HEADER, &refs));
        assert_same_outputs(
            &reference,
            &costs_outputs(&s, &["shuffled.csv"]),
            &format!("seed {seed}"),
        );
    }
}

#[test]
fn shuffled_rows_give_byte_identical_tags_output() {
    let s = Scratch::new();
    let rows = varied_rows();
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    s.write("ordered.csv", focus(VARIED_HEADER, &refs));
    let reference = tags_outputs(&s, &["ordered.csv"]);
    for seed in SEEDS {
        let rows = shuffled(&rows, seed);
        let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
        s.write("shuffled.csv", focus(VARIED_HEADER, &refs));
        assert_same_outputs(
            &reference,
            &tags_outputs(&s, &["shuffled.csv"]),
            &format!("seed {seed}"),
        );
    }
}

#[test]
fn a_resource_seen_twice_on_one_day_is_described_the_same_in_any_order() {
    let s = Scratch::new();
    let header = "BilledCost,ChargePeriodStart,ResourceId,BillingCurrency,Tags";
    let team = r#"1,2026-01-01T10:00:00Z,i-1,USD,"{""team"":""web""}""#;
    let env = r#"1,2026-01-01T12:00:00Z,i-1,USD,"{""env"":""prod""}""#;
    s.write("ab.csv", focus(header, &[team, env]));
    s.write("ba.csv", focus(header, &[env, team]));
    let args = |f: &'static str| ["tags", "--focus", f, "--require", "team", "--format", "csv"];
    assert_eq!(s.ok(&args("ab.csv")), s.ok(&args("ba.csv")));
}

#[test]
fn file_order_does_not_change_the_costs_output() {
    let s = Scratch::new();
    let rows = varied_rows();
    let (first, second) = rows.split_at(rows.len() / 2);
    let first: Vec<&str> = first.iter().map(String::as_str).collect();
    let second: Vec<&str> = second.iter().map(String::as_str).collect();
    s.write("a.csv", focus(VARIED_HEADER, &first));
    s.write("b.csv", focus(VARIED_HEADER, &second));
    assert_same_outputs(
        &costs_outputs(&s, &["a.csv", "b.csv"]),
        &costs_outputs(&s, &["b.csv", "a.csv"]),
        "a b vs b a",
    );
}

// ---------------------------------------------------------------------------------------------
// Spreadsheet and terminal safety
// ---------------------------------------------------------------------------------------------

const ESCAPE: &str = "\u{1b}]0;pwned\u{7}";

fn hostile(s: &Scratch) {
    let tags = format!(
        r#""{{""team"":""{}""}}""#,
        ESCAPE.replace('\u{1b}', "\\u001b").replace('\u{7}', "\\u0007")
    );
    s.write(
        "hostile.csv",
        focus(
            concat!(
                "BilledCost,ChargePeriodStart,ServiceName,ResourceId,SubAccountId,",
                "SubAccountName,RegionId,BillingCurrency,Tags",
            ),
            &[
                &format!(
                    r#"1,2026-01-01T00:00:00Z,"=HYPERLINK(""http://x"")",i-1,a,b,eu,USD,{tags}"#
                ),
                "2,2026-01-01T00:00:00Z,+1,i-2,@acct,x,eu,USD,",
                "4,2026-01-01T00:00:00Z,-2+3,i-3,acct,x,eu,USD,",
                "8,2026-01-01T00:00:00Z,@SUM(A1),i-4,acct,x,eu,USD,",
                "16,2026-01-01T00:00:00Z,\"\t=cmd\",i-5,acct,x,eu,USD,",
                concat!(
                    "32,2026-01-01T00:00:00Z,\"svc\u{1b}[31mred\",\"i-\u{1b}]8;;http://x\u{7}6\",",
                    "acct,\"nm\u{1b}[2J\",\"eu\u{9b}1m\",\"US\u{1b}D\","
                ),
                "-0.5,2026-01-01T00:00:00Z,plain,i-7,acct,x,eu,USD,",
            ],
        ),
    );
}

#[test]
fn csv_cells_that_look_like_formulas_are_neutralized() {
    let s = Scratch::new();
    hostile(&s);
    let out = costs_csv(&s, "hostile.csv", "service");
    let rows = csv_rows(&out);
    let key = |k: &str| rows.iter().find(|r| r[0].contains(k)).unwrap().clone();
    assert_eq!(key("HYPERLINK")[0], "'=HYPERLINK(\"http://x\")");
    assert!(out.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{out}");
    assert_eq!(key("+1")[0], "'+1");
    assert_eq!(key("-2+3")[0], "'-2+3");
    assert_eq!(key("@SUM")[0], "'@SUM(A1)");
    assert!(key("cmd")[0].starts_with('\''), "{:?}", key("cmd"));
    assert_eq!(key("plain")[1], "-0.5", "numbers are not text: no quote prefix");
    for row in &rows {
        for cell in [&row[0], &row[3]] {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "unneutralized cell {cell:?}"
            );
        }
    }
    let by_account = csv_rows(&costs_csv(&s, "hostile.csv", "account"));
    assert!(by_account.iter().any(|r| r[0] == "'@acct"), "{by_account:?}");
}

#[test]
fn control_characters_never_reach_any_output() {
    let s = Scratch::new();
    hostile(&s);
    let mut runs: Vec<Vec<String>> = Vec::new();
    for by in ["service", "tag:team", "resource", "account", "region"] {
        for format in ["csv", "json", "markdown"] {
            runs.push(
                ["costs", "--focus", "hostile.csv", "--by", by, "--format", format]
                    .map(String::from)
                    .to_vec(),
            );
        }
    }
    for format in ["csv", "json", "markdown"] {
        runs.push(
            ["tags", "--focus", "hostile.csv", "--require", "team,env", "--format", format]
                .map(String::from)
                .to_vec(),
        );
    }
    for args in runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = s.run(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert!(!bytes.contains(&0x1b), "{args:?}: raw ESC on {stream}");
            assert!(!bytes.contains(&0x07), "{args:?}: raw BEL on {stream}");
            // JSON escapes C0 controls but not C1 ones (U+0080–U+009F); that case has its own
            // test below.
            if !args.contains(&"json") {
                let text = String::from_utf8_lossy(bytes);
                assert!(!text.contains('\u{9b}'), "{args:?}: a C1 CSI on {stream}");
            }
        }
    }
    // The tag value still groups (the ESC is gone, the rest of the text is kept).
    let csv = costs_csv(&s, "hostile.csv", "tag:team");
    assert!(csv.contains("]0;pwned"), "{csv}");
}

#[test]
fn json_output_has_no_raw_c1_controls() {
    let s = Scratch::new();
    hostile(&s);
    for by in ["service", "resource", "account", "region"] {
        let out = s.ok(&["costs", "--focus", "hostile.csv", "--by", by, "--format", "json"]);
        let raw: Vec<char> = out.chars().filter(|c| ('\u{80}'..='\u{9f}').contains(c)).collect();
        assert!(raw.is_empty(), "--by {by}: raw C1 controls {raw:?} in {out}");
    }
}

#[test]
fn skipped_row_messages_carry_no_control_characters() {
    let s = Scratch::new();
    s.write(
        "a.csv",
        focus(
            HEADER,
            &["1,2026-01-01T00:00:00Z,web,USD", "\"\u{1b}[2J9\",2026-01-01T00:00:00Z,web,USD"],
        ),
    );
    for format in ["csv", "json", "markdown"] {
        let out = s.run(&["costs", "--focus", "a.csv", "--skip-invalid", "--format", format]);
        assert_eq!(out.status.code(), Some(3));
        assert!(!out.stdout.contains(&0x1b) && !out.stderr.contains(&0x1b), "{format}");
    }
    let err = s.bad(&["costs", "--focus", "a.csv"]);
    assert!(!err.contains('\u{1b}'), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// --out is atomic
// ---------------------------------------------------------------------------------------------

#[test]
fn out_replaces_an_existing_file_whole() {
    let s = Scratch::new();
    s.write("a.csv", focus(HEADER, &["1,2026-01-01T00:00:00Z,web,USD"]));
    s.write("report.csv", "OLD CONTENT THAT IS MUCH LONGER THAN THE NEW REPORT\n".repeat(1000));
    let stdout = costs_csv(&s, "a.csv", "service");
    let out = s.ok(&["costs", "--focus", "a.csv", "--out", "report.csv"]);
    assert!(out.is_empty(), "nothing on stdout with --out: {out}");
    assert_eq!(fs::read_to_string(s.path().join("report.csv")).unwrap(), stdout);
    assert_eq!(s.listing(), ["a.csv", "report.csv"], "no temp file left behind");
    // Every format, into a new file and over an existing one.
    for format in ["json", "markdown"] {
        let target = format!("report.{format}");
        let fresh = s.ok(&["costs", "--focus", "a.csv", "--format", format]);
        for _ in 0..2 {
            s.ok(&["costs", "--focus", "a.csv", "--format", format, "--out", &target]);
            assert_eq!(fs::read_to_string(s.path().join(&target)).unwrap(), fresh);
        }
    }
    s.ok(&["tags", "--focus", "a.csv", "--require", "team", "--out", "tags.csv"]);
    assert_eq!(s.listing(), ["a.csv", "report.csv", "report.json", "report.markdown", "tags.csv"]);
}

#[test]
fn out_is_left_untouched_when_the_input_is_malformed() {
    let s = Scratch::new();
    let old = "service,billed_cost,effective_cost,currency\r\nprevious,1,,USD\r\n";
    s.write("report.csv", old);
    s.write(
        "bad.csv",
        focus(HEADER, &["1,2026-01-01T00:00:00Z,web,USD", "oops,2026-01-01T00:00:00Z,web,USD"]),
    );
    s.write("empty.csv", "");
    let full = gzip(format!("{HEADER}\n1,2026-01-01T00:00:00Z,web,USD\n").as_bytes());
    s.write("cut.csv.gz", &full[..full.len() - 6]);
    let before = s.listing();
    for bad in ["bad.csv", "empty.csv", "cut.csv.gz", "missing.csv"] {
        let out = s.run(&["costs", "--focus", bad, "--out", "report.csv"]);
        assert_ne!(out.status.code(), Some(0), "{bad}");
        assert_eq!(fs::read_to_string(s.path().join("report.csv")).unwrap(), old, "{bad}");
        assert_eq!(s.listing(), before, "{bad}: no temp file left behind");
    }
    s.bad(&["costs", "--focus", "bad.csv", "--out", "new.csv"]);
    assert!(!s.path().join("new.csv").exists(), "a failed run creates no --out file");
    s.bad(&["tags", "--focus", "bad.csv", "--require", "team", "--out", "report.csv"]);
    assert_eq!(fs::read_to_string(s.path().join("report.csv")).unwrap(), old);
    assert_eq!(s.listing(), before);
}

#[test]
fn out_into_a_missing_directory_fails_cleanly() {
    let s = Scratch::new();
    s.write("a.csv", focus(HEADER, &["1,2026-01-01T00:00:00Z,web,USD"]));
    costscope()
        .current_dir(s.path())
        .args(["costs", "--focus", "a.csv", "--out", "no/such/dir/report.csv"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("report.csv").and(predicate::str::contains("panicked").not()),
        );
    assert_eq!(s.listing(), ["a.csv"]);
}

// ---------------------------------------------------------------------------------------------
// One readable snapshot
// ---------------------------------------------------------------------------------------------

#[test]
fn markdown_costs_by_account_snapshot() {
    let s = Scratch::new();
    s.write(
        "a.csv",
        focus(
            concat!(
                "BilledCost,EffectiveCost,ChargePeriodStart,BillingAccountId,BillingAccountName,",
                "SubAccountId,SubAccountName,BillingCurrency",
            ),
            &[
                "1234.5,1200,2026-01-01T00:00:00Z,payer,Payer Inc,111,Web | team,USD",
                "0.0042,,2026-01-01T00:00:00Z,payer,Payer Inc,111,Web | team,USD",
                "99,98,2026-01-02T00:00:00Z,payer,Payer Inc,NULL,NULL,USD",
                "-10,-10,2026-01-02T00:00:00Z,payer,Payer Inc,222,,USD",
                "500,450,2026-01-02T00:00:00Z,eu-payer,EU GmbH,,,EUR",
                "7,,2026-01-02T00:00:00Z,lost,,,,",
            ],
        ),
    );
    let md = s.ok(&["costs", "--focus", "a.csv", "--by", "account", "--format", "markdown"]);
    insta::assert_snapshot!("markdown_costs_by_account", md);
}
