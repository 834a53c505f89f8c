//! AWS Cost and Usage Reports read as FOCUS: the bundled sample rewritten as legacy CUR (CSV,
//! gzipped, zipped) and CUR 2.0 gives the sample's figures to the last digit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use costscope::samplegen::cur::{CurNaming, write_cur};
use costscope::source::billing::parquet::fixture::{Costs, Fixture, TagsAs, csv_to_parquet};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/focus-2026-09-10.csv.gz")
}

fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("costscope-cur-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_costscope")).args(args).output().unwrap()
}

fn stdout(args: &[&str]) -> String {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The sample as CUR: legacy .csv, .csv.gz, .zip; CUR 2.0 .csv and .parquet.
fn cur_files(dir: &Path) -> Vec<PathBuf> {
    let legacy = dir.join("cur-legacy.csv");
    write_cur(&sample(), std::fs::File::create(&legacy).unwrap(), CurNaming::Legacy).unwrap();
    let bytes = std::fs::read(&legacy).unwrap();
    let gz = dir.join("cur-legacy.csv.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&bytes).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let zip = dir.join("cur-legacy.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&zip).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file("cur-legacy-00001.csv", options).unwrap();
    w.write_all(&bytes).unwrap();
    w.finish().unwrap();
    let cur2 = dir.join("cur2.csv");
    write_cur(&sample(), std::fs::File::create(&cur2).unwrap(), CurNaming::Cur2).unwrap();
    // CUR 2.0 as Data Exports writes it in Parquet: DECIMAL costs, TIMESTAMP times, MAP
    // `product` and `resource_tags`, zstd pages, several row groups.
    let fixture = Fixture {
        compression: parquet::basic::Compression::ZSTD(Default::default()),
        costs: Costs::Decimal,
        tags: TagsAs::Map,
        typed_times: true,
        row_group_rows: 3000,
    };
    let parquet = csv_to_parquet(&std::fs::read(&cur2).unwrap(), &fixture).unwrap();
    let cur2_parquet = dir.join("cur2.parquet");
    std::fs::write(&cur2_parquet, parquet).unwrap();
    vec![legacy, gz, zip, cur2, cur2_parquet]
}

#[test]
fn the_sample_as_cur_gives_the_samples_costs_and_commitments() {
    let dir = dir("roundtrip");
    let focus = sample();
    let focus = focus.to_str().unwrap();
    for file in cur_files(&dir) {
        let cur = file.to_str().unwrap();
        for by in ["service", "account", "region", "resource", "charge-category", "day", "tag:team"]
        {
            let want = stdout(&["costs", "--focus", focus, "--by", by, "--format", "csv"]);
            let got = stdout(&["costs", "--cur", cur, "--by", by, "--format", "csv"]);
            assert_eq!(got, want, "{cur} --by {by}");
        }
        // CUR has no commitment names: everything else of the commitments view is equal.
        let unnamed = |text: String| -> String {
            text.lines().filter(|l| !l.trim_start().starts_with("\"name\"")).collect()
        };
        let want = stdout(&["commitments", "--focus", focus, "--format", "json"]);
        let got = stdout(&["commitments", "--cur", cur, "--format", "json"]);
        assert_eq!(unnamed(got), unnamed(want), "{cur} commitments");
        let want = stdout(&["report", "--focus", focus, "--format", "json"]);
        let got = stdout(&["report", "--cur", cur, "--format", "json"]);
        let totals = |text: &str| -> serde_json::Value {
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            v.get("billing").and_then(|b| b.get("totals")).cloned().unwrap_or(v["totals"].clone())
        };
        assert_eq!(totals(&got), totals(&want), "{cur} report totals");
    }
}

#[test]
fn an_unknown_column_set_is_bad_input_naming_line_1() {
    let dir = dir("unknown");
    let file = dir.join("x.csv");
    std::fs::write(&file, "lineItem/LineItemType,foo\nUsage,1\n").unwrap();
    let out = run(&["costs", "--cur", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("x.csv") && err.contains('1'), "{err}");
    assert!(err.contains("line_item_unblended_cost"), "{err}");
}

#[test]
fn a_bad_cost_cell_names_file_line_and_column_and_skip_invalid_skips_it() {
    let dir = dir("badcell");
    let file = dir.join("bad.csv");
    std::fs::write(
        &file,
        "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost,lineItem/ProductCode,product/ProductName\n\
         Usage,2026-10-01T00:00:00Z,1.50,AmazonEC2,Amazon Elastic Compute Cloud\n\
         Usage,2026-10-01T00:00:00Z,abc,AmazonEC2,Amazon Elastic Compute Cloud\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let out = run(&["costs", "--cur", path]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv") && err.contains('3'), "{err}");
    assert!(err.contains("lineItem/UnblendedCost"), "{err}");
    // Skipped rows are a warning (exit 3), the rest is read.
    let out = run(&["costs", "--cur", path, "--skip-invalid"]);
    assert_eq!(out.status.code(), Some(3));
    let out = String::from_utf8(out.stdout).unwrap();
    assert!(out.contains("Amazon Elastic Compute Cloud,1.5,1.5"), "{out}");
}

/// The dashboard reads billing through the same reader: on CUR 2.0 in Parquet it loads the
/// sample's spend, billing lines and findings.
#[test]
fn the_dashboard_loads_cur_parquet_with_the_samples_figures() {
    use costscope::cli::SourceArgs;
    use costscope::tui::app::Dataset;
    use costscope::tui::loader::{LoadContext, load};

    let dir = dir("dashboard");
    let files = cur_files(&dir);
    let parquet = files.iter().find(|f| f.extension().is_some_and(|e| e == "parquet")).unwrap();
    let loaded = |sources: SourceArgs| -> Box<Dataset> {
        let ctx =
            LoadContext { sources, config: costscope::config::Config::defaults(), rules_dir: None };
        let (tx, _rx) = tokio::sync::mpsc::channel(64);
        std::thread::spawn(move || {
            load(&ctx, 1, &tx, &costscope::source::progress::ReadProgress::new())
        })
        .join()
        .unwrap()
        .unwrap()
    };
    let focus = loaded(SourceArgs { focus: vec![sample()], ..Default::default() });
    let cur = loaded(SourceArgs { cur: vec![parquet.clone()], ..Default::default() });
    let json = |d: &Dataset| {
        let r = &d.report;
        serde_json::to_string_pretty(&(
            &r.spend,
            &r.overview,
            &r.totals,
            &r.by_rule,
            &r.spend_coverage,
            &r.tag_coverage,
        ))
        .unwrap()
    };
    assert_eq!(json(&cur), json(&focus));
    let findings = |d: &Dataset| -> Vec<(String, String, String)> {
        let mut f: Vec<_> = d
            .report
            .findings
            .iter()
            .map(|f| {
                (f.rule_id.clone(), f.resource_id.clone(), f.estimated_monthly_savings.to_string())
            })
            .collect();
        f.sort();
        f
    };
    assert!(!findings(&focus).is_empty());
    assert_eq!(findings(&cur), findings(&focus));
    let source = &cur.report.sources[0].name;
    assert!(source.contains("cur:") && source.ends_with("cur2.parquet"), "{source}");
}

/// A CUR 2.0 export with AWS's whole column set (tests/fixtures/cur/README.md says where the
/// header comes from): every line item type that moves money, read from CSV and from the same
/// rows in Parquet, gives the figures worked out by hand in that README.
#[test]
fn a_cur2_export_with_awss_full_header_gives_the_hand_computed_figures() {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cur/cur2-data-exports.csv");
    let dir = dir("aws-header");
    let parquet = dir.join("cur2-data-exports.parquet");
    let options = Fixture {
        compression: parquet::basic::Compression::SNAPPY,
        costs: Costs::Decimal,
        tags: TagsAs::Map,
        typed_times: true,
        row_group_rows: 4,
    };
    std::fs::write(&parquet, csv_to_parquet(&std::fs::read(&fixture).unwrap(), &options).unwrap())
        .unwrap();
    let expected = [
        (
            "service",
            "service,billed_cost,effective_cost,currency\n\
             Amazon Relational Database Service,111.6,7.2,USD\n\
             Savings Plans for AWS Compute usage,3,0.28,USD\n\
             Amazon Elastic Compute Cloud,2.4968,5.2168,USD\n\
             Amazon Simple Storage Service,1.3,1.3,USD\n",
        ),
        (
            "charge-category",
            "charge_category,billed_cost,effective_cost,currency\n\
             Purchase,114.6,0,USD\n\
             Usage,4.2968,14.4968,USD\n\
             Tax,0.5,0.5,USD\n\
             Credit,-1,-1,USD\n",
        ),
        (
            "tag:team",
            "tag:team,billed_cost,effective_cost,currency\n\
             ,114.1,3.38,USD\n\
             data,2.3,5.9,USD\n\
             web,1.9968,4.7168,USD\n",
        ),
        (
            "account",
            "account,billed_cost,effective_cost,currency,account_name\n\
             444455556666,118.3968,13.9968,USD,acme-prod\n",
        ),
    ];
    for file in [&fixture, &parquet] {
        let path = file.to_str().unwrap();
        for (by, want) in expected {
            let got = stdout(&["costs", "--cur", path, "--by", by, "--format", "csv"]);
            assert_eq!(got.replace("\r\n", "\n"), want, "{path} --by {by}");
        }
        // Both commitments: the Savings Plan used 2.72 of 3.00, the reservation 3.60 of 7.20.
        let got = stdout(&["commitments", "--cur", path, "--format", "json"]);
        let json: serde_json::Value = serde_json::from_str(&got).unwrap();
        let mut got: Vec<(String, String, String, String)> = json["commitments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let field = |k: &str| c[k].as_str().unwrap_or_default().to_string();
                (field("id"), field("kind"), field("used"), field("unused"))
            })
            .collect();
        got.sort();
        let want = [
            ("arn:aws:rds:us-east-1:111122223333:ri:orders-ri-2026", "Reserved Instance", "3.6", "3.6"),
            (
                "arn:aws:savingsplans::111122223333:savingsplan/3b4c5d6e-0000-4000-8000-000000000001",
                "Compute Savings Plan",
                "2.72",
                "0.28",
            ),
        ]
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()));
        assert_eq!(got, want, "{path}");
    }
}
