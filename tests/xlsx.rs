//! `--format xlsx` through the real binary, read back with an independent reader (calamine):
//! every cell of `costs`, `tags` and the report's findings equals the CSV's (numbers at f64
//! precision, days as Excel dates), headline figures equal the JSON's, hostile text stays a
//! plain string cell, the header is frozen with an autofilter, the write is atomic, a terminal
//! gets no binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::Path;

use assert_cmd::Command;
use calamine::{Data, Reader, Xlsx};
use chrono::NaiveDate;

fn costscope() -> Command {
    let mut cmd = Command::cargo_bin("costscope").unwrap();
    // Never pick up the developer's own config.
    cmd.env("XDG_CONFIG_HOME", "/nonexistent-costscope-test")
        .env("XDG_DATA_HOME", "/nonexistent-costscope-test")
        .env_remove("RUST_LOG");
    cmd
}

fn stdout_of(args: &[&str]) -> Vec<u8> {
    let out = costscope().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Runs `args` with `--format xlsx --out` into a temp dir and returns the file's bytes.
fn workbook_bytes(args: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.xlsx");
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--format", "xlsx", "--out", path.to_str().unwrap()]);
    let out = costscope().args(&all).output().unwrap();
    assert!(out.status.success(), "{all:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "--out leaves standard output empty");
    std::fs::read(&path).unwrap()
}

type Book = Xlsx<Cursor<Vec<u8>>>;

fn open(bytes: Vec<u8>) -> Book {
    Xlsx::new(Cursor::new(bytes)).unwrap()
}

/// Every row of a sheet, the header first.
fn sheet(book: &mut Book, name: &str) -> Vec<Vec<Data>> {
    let range = book.worksheet_range(name).unwrap_or_else(|e| panic!("sheet {name:?}: {e}"));
    assert_eq!(range.start(), Some((0, 0)), "sheet {name:?} starts at A1");
    range.rows().map(<[Data]>::to_vec).collect()
}

/// Every record of a CSV, the header first (`#` lines are notes).
fn csv_records(text: &[u8]) -> Vec<Vec<String>> {
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).comment(Some(b'#')).from_reader(text);
    reader.records().map(|r| r.unwrap().iter().map(String::from).collect()).collect()
}

/// Excel's serial number of a day (1900 date system: day 1 is 1900-01-01, with the leap-year
/// bug, so from March 1900 on it is days since 1899-12-30).
fn serial(day: &str) -> f64 {
    let d = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
    (d - NaiveDate::from_ymd_opt(1899, 12, 30).unwrap()).num_days() as f64
}

/// The CSV's text without its formula guard: a leading `'` before `=`, `+`, `-`, `@` (or the
/// space a tab or CR became) is the CSV's, not the data's.
fn unguarded(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if rest.trim_start_matches(' ').starts_with(['=', '+', '-', '@']) => rest,
        Some(rest) if rest.starts_with(' ') => rest,
        _ => text,
    }
}

/// Asserts that a sheet holds the CSV cell for cell: `numeric` columns as numbers equal to the
/// CSV's decimal parsed to f64, `days` columns as Excel dates, `bools` as booleans, the rest as
/// strings equal to the CSV's text.
fn assert_sheet_equals_csv(
    rows: &[Vec<Data>],
    csv: &[Vec<String>],
    numeric: &[&str],
    days: &[&str],
    bools: &[&str],
) {
    assert_eq!(rows.len(), csv.len(), "same number of rows (header included)");
    let header: Vec<String> = rows[0].iter().map(|d| d.to_string()).collect();
    assert_eq!(header, csv[0], "same columns in the same order");
    for (r, (row, record)) in rows.iter().zip(csv).enumerate().skip(1) {
        assert_eq!(row.len(), record.len(), "row {r}");
        for ((cell, text), column) in row.iter().zip(record).zip(&csv[0]) {
            let at = format!("row {r}, column {column}: {cell:?} against CSV {text:?}");
            if text.is_empty() {
                assert_eq!(*cell, Data::Empty, "{at}");
            } else if numeric.contains(&column.as_str()) {
                let Data::Float(f) = cell else { panic!("{at}: not a number") };
                assert_eq!(*f, text.parse::<f64>().unwrap(), "{at}");
            } else if days.contains(&column.as_str()) {
                let Data::DateTime(d) = cell else { panic!("{at}: not a date") };
                assert!(d.is_datetime(), "{at}");
                assert_eq!(d.as_f64(), serial(text), "{at}");
            } else if bools.contains(&column.as_str()) {
                assert_eq!(*cell, Data::Bool(text == "true"), "{at}");
                assert!(text == "true" || text == "false", "{at}");
            } else {
                assert_eq!(*cell, Data::String(unguarded(text).to_string()), "{at}");
            }
        }
    }
}

#[test]
fn costs_by_service_equal_the_csv_and_totals_equal_the_json() {
    let args = ["costs", "--sample", "--by", "service"];
    let csv = csv_records(&stdout_of(&args));
    let mut book = open(workbook_bytes(&args));
    assert_eq!(book.sheet_names(), ["Costs by service", "Totals"]);
    let rows = sheet(&mut book, "Costs by service");
    assert!(rows.len() > 10, "the sample has many services");
    assert_sheet_equals_csv(&rows, &csv, &["billed_cost", "effective_cost"], &[], &[]);

    let json: serde_json::Value =
        serde_json::from_slice(&stdout_of(&[&args[..], &["--format", "json"]].concat())).unwrap();
    let totals = sheet(&mut book, "Totals");
    let expected: Vec<Vec<Data>> = json["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            vec![
                Data::String(t["currency"].as_str().unwrap().into()),
                Data::Float(t["billed_cost"].as_str().unwrap().parse().unwrap()),
                Data::Float(t["effective_cost"].as_str().unwrap().parse().unwrap()),
            ]
        })
        .collect();
    assert_eq!(totals[1..], expected[..]);
    assert_eq!(expected.len(), 1, "the sample is one currency");
}

#[test]
fn the_chargeback_equals_its_csv_row_for_row() {
    let args = ["allocate", "--sample", "--by", "tag:team", "--detail"];
    let csv = csv_records(&stdout_of(&args));
    let mut book = open(workbook_bytes(&args));
    assert_eq!(book.sheet_names(), ["Allocation"]);
    let rows = sheet(&mut book, "Allocation");
    let kinds: Vec<String> = rows.iter().skip(1).map(|r| r[0].to_string()).collect();
    for kind in ["pool", "team", "share", "service", "unallocated", "total"] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} row");
    }
    let money = [
        "direct_cost",
        "shared_cost",
        "total_cost",
        "share_of_bill",
        "previous_total_cost",
        "change",
    ];
    assert_sheet_equals_csv(&rows, &csv, &money, &[], &[]);
}

#[test]
fn costs_by_day_are_excel_dates_and_by_account_keep_the_name_column() {
    let args = ["costs", "--sample", "--by", "day"];
    let csv = csv_records(&stdout_of(&args));
    let rows = sheet(&mut open(workbook_bytes(&args)), "Costs by day");
    assert_eq!(rows.len(), 62, "61 days of the sample and the header");
    assert_sheet_equals_csv(&rows, &csv, &["billed_cost", "effective_cost"], &["day"], &[]);

    let args = ["costs", "--sample", "--by", "account"];
    let csv = csv_records(&stdout_of(&args));
    assert_eq!(csv[0].last().unwrap(), "account_name");
    let rows = sheet(&mut open(workbook_bytes(&args)), "Costs by account");
    assert_sheet_equals_csv(&rows, &csv, &["billed_cost", "effective_cost"], &[], &[]);
}

#[test]
fn tag_coverage_equals_the_csv() {
    let args = ["tags", "--sample", "--require", "team,env"];
    let csv = csv_records(&stdout_of(&args));
    let mut book = open(workbook_bytes(&args));
    let rows = sheet(&mut book, "Tag coverage");
    assert_eq!(rows.len(), 3, "two keys, one currency");
    let numeric = [
        "tagged_cost",
        "total_cost",
        "cost_share",
        "resources_tagged",
        "resources_total",
        "resource_share",
    ];
    assert_sheet_equals_csv(&rows, &csv, &numeric, &[], &[]);

    // The untagged resources: as many as the JSON lists, costs equal.
    let json: serde_json::Value =
        serde_json::from_slice(&stdout_of(&[&args[..], &["--format", "json"]].concat())).unwrap();
    let untagged = sheet(&mut book, "Untagged resources");
    let listed = json["untagged"].as_array().unwrap();
    assert!(!listed.is_empty());
    assert_eq!(untagged.len() - 1, listed.len());
    for (row, u) in untagged[1..].iter().zip(listed) {
        assert_eq!(row[0], Data::String(u["resource_id"].as_str().unwrap().into()));
        assert_eq!(row[6], Data::Float(u["cost"].as_str().unwrap().parse().unwrap()));
    }
}

#[test]
fn report_findings_equal_the_csv_and_the_summary_equals_the_json() {
    let csv = csv_records(&stdout_of(&["report", "--sample"]));
    let mut book = open(workbook_bytes(&["report", "--sample"]));
    let names = book.sheet_names();
    for expected in [
        "Summary",
        "Findings",
        "By rule",
        "Spend by service",
        "Spend by account",
        "Daily spend",
        "Tag coverage",
        "Budgets",
        "Anomalies",
        "Commitments",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
    }
    let findings = sheet(&mut book, "Findings");
    assert!(findings.len() > 100, "the sample has hundreds of findings");
    assert_sheet_equals_csv(
        &findings,
        &csv,
        &["current_monthly_cost", "estimated_monthly_savings"],
        &[],
        &["alternative"],
    );

    let json: serde_json::Value =
        serde_json::from_slice(&stdout_of(&["report", "--sample", "--format", "json"])).unwrap();
    let summary = sheet(&mut book, "Summary");
    let figure = |name: &str, currency: &str| -> Data {
        summary
            .iter()
            .find(|r| {
                let no_currency = currency.is_empty() && r[2] == Data::Empty;
                r[0] == Data::String(name.into())
                    && (no_currency || r[2] == Data::String(currency.into()))
            })
            .unwrap_or_else(|| panic!("{name} {currency} missing"))[1]
            .clone()
    };
    let money = |v: &serde_json::Value| Data::Float(v.as_str().unwrap().parse().unwrap());
    for t in json["totals"].as_array().unwrap() {
        let c = t["currency"].as_str().unwrap();
        assert_eq!(
            figure("potential savings per month", c),
            money(&t["estimated_monthly_savings"])
        );
        assert_eq!(figure("findings", c), Data::Float(t["findings"].as_f64().unwrap()));
        assert_eq!(
            figure("resources with findings", c),
            Data::Float(t["resources"].as_f64().unwrap())
        );
    }
    for s in json["spend"].as_array().unwrap() {
        let c = s["currency"].as_str().unwrap();
        assert_eq!(figure("billed spend in the period", c), money(&s["billed_cost"]));
    }
    assert_eq!(
        figure("resources evaluated", ""),
        Data::Float(json["resources_evaluated"].as_f64().unwrap())
    );
    // Data as of: 2026-11-01 00:00 UTC, a date-time cell.
    let Data::DateTime(asof) = figure("data as of (UTC)", "") else { panic!("not a date") };
    assert_eq!(asof.as_f64(), serial("2026-11-01"));

    // Daily spend: every day of the JSON's overview, in order, as a date and its cost.
    let daily = sheet(&mut book, "Daily spend");
    let series = json["overview"][0]["daily"].as_array().unwrap();
    assert_eq!(daily.len() - 1, series.len());
    for (row, day) in daily[1..].iter().zip(series) {
        let Data::DateTime(d) = &row[0] else { panic!("not a date: {row:?}") };
        assert_eq!(d.as_f64(), serial(day[0].as_str().unwrap()));
        assert_eq!(row[1], money(&day[1]));
    }
}

#[test]
fn the_reports_spend_by_service_equals_costs_by_service() {
    let csv = csv_records(&stdout_of(&["costs", "--sample", "--by", "service"]));
    let rows = sheet(&mut open(workbook_bytes(&["report", "--sample"])), "Spend by service");
    assert_sheet_equals_csv(&rows, &csv, &["billed_cost", "effective_cost"], &[], &[]);
}

/// Text that a spreadsheet could run, and characters that could disguise it.
const HOSTILE: [&str; 8] = [
    "=HYPERLINK(\"http://x\",\"click\")",
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "=cmd|' /C calc'!A0",
    "\tTAB=1",
    "bell\u{7}esc\u{1b}]0;pwned",
    "_x0041_ is not A",
];

#[test]
fn hostile_text_stays_a_plain_string_and_never_a_formula() {
    let dir = tempfile::tempdir().unwrap();
    let billing = dir.path().join("hostile.csv");
    let mut csv = csv::Writer::from_path(&billing).unwrap();
    csv.write_record([
        "BilledCost",
        "ChargePeriodStart",
        "BillingCurrency",
        "ServiceName",
        "ResourceId",
    ])
    .unwrap();
    for (i, text) in HOSTILE.iter().enumerate() {
        let cost = format!("{}.25", i + 1);
        csv.write_record([cost.as_str(), "2026-10-01T00:00:00Z", "USD", text, text]).unwrap();
    }
    csv.flush().unwrap();
    let path = billing.to_str().unwrap();
    for by in ["service", "resource"] {
        let bytes = workbook_bytes(&["costs", "--focus", path, "--by", by]);
        let rows = sheet(&mut open(bytes.clone()), &format!("Costs by {by}"));
        let keys: BTreeMap<String, Data> =
            rows[1..].iter().map(|r| (r[0].to_string(), r[1].clone())).collect();
        for (i, text) in HOSTILE.iter().enumerate() {
            // Control characters become spaces, as in every export; nothing else changes.
            // (The billing reader trims each field.)
            let shown: String =
                text.trim().chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
            let cost =
                keys.get(&shown).unwrap_or_else(|| panic!("{shown:?} not a string key: {keys:?}"));
            assert_eq!(*cost, Data::Float(i as f64 + 1.25), "{shown:?}");
        }
        for row in &rows[1..] {
            assert!(matches!(row[0], Data::String(_)), "{row:?}");
        }
        // No cell of any sheet is a formula, and the escape and bell never reach the file.
        for (name, xml) in sheet_xml(&bytes) {
            assert!(!xml.contains("<f>") && !xml.contains("<f "), "{name} holds a formula");
        }
        let strings = zip_entry(&bytes, "xl/sharedStrings.xml");
        assert!(!strings.contains('\u{1b}') && !strings.contains('\u{7}'));
    }

    // The checked-in hostile file: the formula is the service's name, as text.
    let fixture =
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hostile/formula-and-escapes.csv");
    let rows = sheet(&mut open(workbook_bytes(&["costs", "--focus", fixture])), "Costs by service");
    assert_eq!(rows[1][0], Data::String("=HYPERLINK(\"http://x\")".into()));
    assert_eq!(rows[1][1], Data::Float(1.0));
}

fn zip_entry(bytes: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut text = String::new();
    archive.by_name(name).unwrap().read_to_string(&mut text).unwrap();
    text
}

fn sheet_xml(bytes: &[u8]) -> Vec<(String, String)> {
    let archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.unwrap().into_owned())
        .filter(|n| n.starts_with("xl/worksheets/sheet"))
        .collect();
    names.into_iter().map(|n| (n.clone(), zip_entry(bytes, &n))).collect()
}

#[test]
fn every_sheet_has_a_frozen_bold_header_and_an_autofilter_over_its_data() {
    let bytes = workbook_bytes(&["report", "--sample"]);
    let mut book = open(bytes.clone());
    let names = book.sheet_names();
    let xml = sheet_xml(&bytes);
    assert_eq!(xml.len(), names.len());
    for (i, name) in names.iter().enumerate() {
        let rows = sheet(&mut book, name).len();
        let columns = sheet(&mut book, name)[0].len();
        let text = &zip_entry(&bytes, &format!("xl/worksheets/sheet{}.xml", i + 1));
        assert!(
            text.contains(
                r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#
            ),
            "{name}: header not frozen"
        );
        let last_col = char::from(b'A' + u8::try_from(columns - 1).unwrap());
        assert!(
            text.contains(&format!(r#"<autoFilter ref="A1:{last_col}{rows}"/>"#)),
            "{name}: {text}"
        );
        // The header cells use the bold style (index 1).
        assert!(text.contains(r#"<c r="A1" s="1" t="s">"#), "{name}: header not styled");
        // Widths follow the content: set up to the last column, between 8 and 60 characters
        // (Excel adds its padding of 0.71).
        let widths: Vec<f64> = text
            .split(" width=\"")
            .skip(1)
            .map(|w| w[..w.find('"').unwrap()].parse().unwrap())
            .collect();
        assert!(!widths.is_empty(), "{name}");
        assert!(widths.iter().all(|w| (8.0..=60.72).contains(w)), "{name}: {widths:?}");
        let cols = &text[text.find("<cols>").unwrap()..text.find("</cols>").unwrap()];
        assert!(cols.contains(&format!(r#"max="{columns}""#)), "{name}: {cols}");
    }
    let styles = zip_entry(&bytes, "xl/styles.xml");
    assert!(styles.contains(r##"formatCode="#,##0.00########""##), "money keeps its decimals");
    assert!(styles.contains(r#"formatCode="yyyy-mm-dd""#));
    assert!(styles.contains("<b/>"), "a bold font for headers");
}

#[test]
fn the_same_input_gives_the_same_workbook_on_stdout_or_in_a_file() {
    // Standard output that is not a terminal (a pipe here) gets the workbook itself.
    let piped = stdout_of(&["report", "--sample", "--format", "xlsx"]);
    assert!(piped.starts_with(b"PK\x03\x04"), "a zip archive");
    assert_eq!(piped, workbook_bytes(&["report", "--sample"]), "byte-identical runs");
}

#[test]
fn a_terminal_gets_no_workbook_and_other_commands_refuse_xlsx() {
    // `script` runs the command on a pseudo-terminal: stdout is a terminal there.
    let bin = assert_cmd::cargo::cargo_bin("costscope");
    let line = format!("{} costs --sample --format xlsx; echo \"exit=$?\"", bin.display());
    let out = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("XDG_CONFIG_HOME", "/nonexistent-costscope-test")
        .output()
        .expect("script (util-linux) runs a command on a pseudo-terminal");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("an xlsx workbook is binary: give --out FILE or redirect"), "{text}");
    assert!(text.contains("exit=2"), "{text}");
    assert!(!text.contains("PK"), "no zip bytes on the terminal: {text}");

    for command in [
        &["trends", "--sample"][..],
        &["anomalies", "--sample"],
        &["units", "--sample"],
        &["commitments", "--sample"],
        &["budgets", "--sample"],
    ] {
        let out = costscope().args(command).args(["--format", "xlsx"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{command:?}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("xlsx is written by costs, tags, report and allocate"), "{err}");
    }
}

#[test]
fn out_replaces_a_file_whole_and_a_failed_write_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("costs.xlsx");
    std::fs::write(&path, "an older export, longer than nothing").unwrap();
    let out = costscope()
        .args(["costs", "--sample", "--format", "xlsx", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes, workbook_bytes(&["costs", "--sample"]), "the new workbook, whole");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temp file left");

    let missing = dir.path().join("no-such-dir").join("costs.xlsx");
    let out = costscope()
        .args(["costs", "--sample", "--format", "xlsx", "--out"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!Path::new(&missing).exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "nothing partial beside it");
}

#[test]
fn skipped_rows_are_on_the_notes_sheet_as_in_the_csv() {
    let dir = tempfile::tempdir().unwrap();
    let billing = dir.path().join("bad-row.csv");
    std::fs::write(
        &billing,
        "BilledCost,ChargePeriodStart,BillingCurrency,ServiceName\n\
         2.5,2026-10-01T00:00:00Z,USD,web\n\
         not-a-number,2026-10-01T00:00:00Z,USD,web\n",
    )
    .unwrap();
    let args = ["costs", "--focus", billing.to_str().unwrap(), "--skip-invalid"];
    let csv = costscope().args(args).output().unwrap();
    assert_eq!(csv.status.code(), Some(3), "skipped rows: exit 3");
    let csv = String::from_utf8(csv.stdout).unwrap();
    let note = csv.lines().find_map(|l| l.strip_prefix("# ")).expect("the CSV's note line");
    assert!(note.contains("1 "), "{note}");

    let path = dir.path().join("costs.xlsx");
    let out =
        costscope().args(args).args(["--format", "xlsx", "--out"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let mut book = open(std::fs::read(&path).unwrap());
    assert_eq!(book.sheet_names(), ["Costs by service", "Totals", "Notes"]);
    let notes = sheet(&mut book, "Notes");
    assert_eq!(
        notes,
        [
            vec![Data::String("kind".into()), Data::String("note".into())],
            vec![Data::String("skipped rows".into()), Data::String(note.into())],
        ]
    );
    let costs = sheet(&mut book, "Costs by service");
    assert_eq!(costs[1][..2], [Data::String("web".into()), Data::Float(2.5)]);
}
