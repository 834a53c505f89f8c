//! FOCUS billing in Parquet: the bundled sample and the FOCUS specification's examples written
//! as Parquet in every compression, with DECIMAL and DOUBLE costs, JSON-text and MAP tags, text
//! and TIMESTAMP times and several row groups, read to the same summary as the CSV reader to
//! the last digit; the CLI on a Parquet file; bad files (exit 2 naming the file, never a panic);
//! `--skip-invalid`.
//!
//! Why DOUBLE costs compare equal: the reader converts a DOUBLE from its shortest round-trip
//! text. Every cost in these CSV files has at most 15 significant digits, so the DOUBLE parsed
//! from it prints back as the same decimal, and the Parquet reader sums exactly the amounts the
//! CSV reader sums. (A DOUBLE computed by arithmetic, e.g. 0.1 + 0.2, is read as the decimal it
//! prints as, 0.30000000000000004; that is the documented rule, not a CSV equivalence.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Date32Array, Decimal128Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use assert_cmd::Command;
use costscope::model::{BillingSummary, Grain};
use costscope::source::billing::parquet::fixture::{Costs, Fixture, TagsAs, csv_to_parquet};
use costscope::source::billing::{BillingInput, ReadOptions, Scheme, read_billing};
use costscope::source::focus::FocusOptions;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, GzipLevel, ZstdLevel};
use tempfile::TempDir;

fn compressions() -> [Compression; 4] {
    [
        Compression::UNCOMPRESSED,
        Compression::SNAPPY,
        Compression::GZIP(GzipLevel::default()),
        Compression::ZSTD(ZstdLevel::default()),
    ]
}

fn sample_csv() -> Vec<u8> {
    let gz =
        fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/focus-2026-09-10.csv.gz"))
            .unwrap();
    let mut csv = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut csv).unwrap();
    csv
}

fn read(path: &Path, grain: Grain, skip_invalid: bool) -> Result<BillingSummary, String> {
    let input = BillingInput::new(Scheme::Focus, path).unwrap();
    let options =
        ReadOptions { focus: FocusOptions { grain, skip_invalid }, ..ReadOptions::default() };
    read_billing(&[input], options).map_err(|e| e.to_string())
}

/// The summary as JSON, without the file names it was read from. Below the tags and resource
/// grains the CSV reader still parses every Tags cell (it splits every field anyway) and keeps
/// the tag sets, which nothing reads at those grains; the Parquet reader does not decode the
/// column at all, so the sets are left out of the comparison there.
fn comparable(mut summary: BillingSummary) -> serde_json::Value {
    summary.sources.clear();
    if !summary.grain.tags && !summary.grain.resource {
        summary.tag_sets.clear();
    }
    for row in &mut summary.skipped.first {
        row.file.clear();
    }
    serde_json::to_value(&summary).unwrap()
}

fn service_grain() -> Grain {
    Grain { service: true, ..Grain::NONE }
}

/// Writes `csv` as CSV and as Parquet in every variant, and checks each Parquet file reads to
/// the CSV's summary at every grain given.
fn assert_every_variant_equals_csv(csv: &[u8], row_group_rows: usize, grains: &[Grain]) {
    let dir = TempDir::new().unwrap();
    let csv_path = dir.path().join("data.csv");
    fs::write(&csv_path, csv).unwrap();
    let expected: Vec<serde_json::Value> =
        grains.iter().map(|g| comparable(read(&csv_path, *g, false).unwrap())).collect();
    for compression in compressions() {
        for costs in [Costs::Decimal, Costs::Double] {
            for tags in [TagsAs::Json, TagsAs::Map] {
                let fixture = Fixture {
                    compression,
                    costs,
                    tags,
                    typed_times: tags == TagsAs::Map,
                    row_group_rows,
                };
                let path = dir.path().join("data.parquet");
                fs::write(&path, csv_to_parquet(csv, &fixture).unwrap()).unwrap();
                for (grain, expected) in grains.iter().zip(&expected) {
                    let got =
                        read(&path, *grain, false).unwrap_or_else(|e| panic!("{fixture:?}: {e}"));
                    let got = comparable(got);
                    if &got != expected {
                        panic!("{fixture:?} at {grain:?}: {}", first_difference(&got, expected));
                    }
                }
            }
        }
    }
}

/// Where two JSON values first differ, for a readable failure.
fn first_difference(a: &serde_json::Value, b: &serde_json::Value) -> String {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) if v == w => {}
                    Some(w) => return format!("{k}.{}", first_difference(v, w)),
                    None => return format!("{k}: only in the Parquet summary"),
                }
            }
            "keys only in the CSV summary".to_string()
        }
        (Value::Array(x), Value::Array(y)) => match x.iter().zip(y).position(|(v, w)| v != w) {
            Some(i) => format!("[{i}].{}", first_difference(&x[i], &y[i])),
            None => format!("lengths {} vs {}", x.len(), y.len()),
        },
        _ => format!(" parquet {a} vs csv {b}"),
    }
}

#[test]
fn the_sample_in_parquet_reads_to_the_csv_summary_in_every_variant() {
    let csv = sample_csv();
    // The sample has 20,304 rows: 21 row groups. The narrow grains are summed column-wise
    // where the file allows it (typed times): the same figures as row by row.
    let narrow = Grain {
        day: true,
        provider: true,
        service: true,
        account: true,
        region: true,
        charge_category: true,
        ..Grain::NONE
    };
    let grains = [
        Grain::FULL,
        service_grain(),
        Grain { account: true, ..Grain::NONE },
        Grain { day: true, region: true, ..Grain::NONE },
        Grain { provider: true, charge_category: true, list_cost: true, ..Grain::NONE },
        narrow,
    ];
    assert_every_variant_equals_csv(&csv, 1000, &grains);
}

#[test]
fn the_sample_parquet_files_really_are_typed_and_grouped() {
    let fixture = Fixture {
        compression: Compression::ZSTD(ZstdLevel::default()),
        costs: Costs::Decimal,
        tags: TagsAs::Map,
        typed_times: true,
        row_group_rows: 1000,
    };
    let bytes = bytes::Bytes::from(csv_to_parquet(&sample_csv(), &fixture).unwrap());
    let builder =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
    assert_eq!(builder.metadata().num_row_groups(), 21); // ⌈20,304 rows / 1000⌉
    let schema = builder.schema();
    let type_of = |name: &str| schema.field_with_name(name).unwrap().data_type().clone();
    assert_eq!(type_of("BilledCost"), DataType::Decimal128(38, 10));
    assert!(matches!(type_of("Tags"), DataType::Map(..)));
    assert!(matches!(type_of("ChargePeriodStart"), DataType::Timestamp(..)));
    let summary = {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("s.parquet");
        fs::write(&path, csv_to_parquet(&sample_csv(), &fixture).unwrap()).unwrap();
        read(&path, Grain::FULL, false).unwrap()
    };
    assert_eq!(summary.rows_read, 20_304);
    assert!(!summary.tag_sets.is_empty() && !summary.resources.is_empty());
}

#[test]
fn the_focus_specification_examples_in_parquet_read_to_the_csv_summary() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/focus-spec");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    assert!(files.len() > 20);
    for file in files {
        // Blank lines between records are not data in either reader; the fixture writer reads
        // the CSV with the csv crate, which skips them too.
        let csv = fs::read(&file).unwrap();
        assert_every_variant_equals_csv(&csv, 2, &[Grain::FULL]);
    }
}

// ---------------------------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------------------------

fn costscope() -> Command {
    let mut cmd = Command::cargo_bin("costscope").unwrap();
    cmd.env("XDG_CONFIG_HOME", "/nonexistent-costscope-test").env_remove("RUST_LOG");
    cmd
}

/// Runs costscope in `dir`; asserts it did not panic.
fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = costscope().current_dir(dir).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "costscope panicked on {args:?}: {stderr}");
    (out.status.code(), String::from_utf8(out.stdout).unwrap(), stderr)
}

fn sample_parquet(dir: &Path, name: &str) -> PathBuf {
    let fixture = Fixture {
        compression: Compression::SNAPPY,
        costs: Costs::Double,
        tags: TagsAs::Map,
        typed_times: true,
        row_group_rows: 4096,
    };
    let path = dir.join(name);
    fs::write(&path, csv_to_parquet(&sample_csv(), &fixture).unwrap()).unwrap();
    path
}

#[test]
fn costs_by_service_on_parquet_prints_what_it_prints_on_the_csv() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("x.csv"), sample_csv()).unwrap();
    sample_parquet(dir.path(), "x.parquet");
    for by in ["service", "account", "tag:team", "resource"] {
        let args = |file: &'static str| ["costs", "--focus", file, "--by", by, "--format", "csv"];
        let (code, csv_out, err) = run(dir.path(), &args("x.csv"));
        assert_eq!(code, Some(0), "{err}");
        let (code, parquet_out, err) = run(dir.path(), &args("x.parquet"));
        assert_eq!(code, Some(0), "{err}");
        assert!(csv_out.lines().count() > 2, "{csv_out}");
        assert_eq!(parquet_out, csv_out, "--by {by}");
    }
}

/// Exit 2, nothing on stdout, and the file named on stderr.
fn assert_bad(dir: &Path, file: &str, expect: &str) -> String {
    let (code, out, err) = run(dir, &["costs", "--focus", file, "--by", "service"]);
    assert_eq!(code, Some(2), "{file}: {err}");
    assert!(out.is_empty());
    assert!(err.contains(file), "{file} is named: {err}");
    assert!(err.contains(expect), "{expect:?} in {err}");
    err
}

#[test]
fn truncated_and_corrupt_files_exit_2_naming_the_file() {
    let dir = TempDir::new().unwrap();
    let good = fs::read(sample_parquet(dir.path(), "good.parquet")).unwrap();
    fs::write(dir.path().join("truncated.parquet"), &good[..good.len() / 2]).unwrap();
    assert_bad(dir.path(), "truncated.parquet", "not a readable Parquet file");
    let mut wrong = b"PAR1".to_vec();
    wrong.extend_from_slice(&[0x55; 300]);
    fs::write(dir.path().join("wrong.parquet"), &wrong).unwrap();
    assert_bad(dir.path(), "wrong.parquet", "not a readable Parquet file");
    fs::write(dir.path().join("tiny.parquet"), b"PAR1").unwrap();
    assert_bad(dir.path(), "tiny.parquet", "not a readable Parquet file");
}

#[test]
fn flipped_bytes_and_truncations_never_panic() {
    let dir = TempDir::new().unwrap();
    let fixture = Fixture {
        compression: Compression::SNAPPY,
        costs: Costs::Decimal,
        tags: TagsAs::Map,
        typed_times: true,
        row_group_rows: 100,
    };
    let csv: Vec<u8> =
        sample_csv().split(|b| *b == b'\n').take(400).collect::<Vec<_>>().join(&b'\n');
    let good = csv_to_parquet(&csv, &fixture).unwrap();
    let path = dir.path().join("f.parquet");
    let mut failures = 0;
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for round in 0..300 {
        let mut bytes = good.clone();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        if round % 3 == 0 {
            bytes.truncate((seed as usize) % bytes.len());
        } else {
            for k in 0..(1 + round % 4) {
                let at = (seed as usize).wrapping_add(k * 7919) % bytes.len();
                bytes[at] ^= 1 << (seed % 8);
            }
        }
        fs::write(&path, &bytes).unwrap();
        // A panic inside the reader fails this test; an error or a (lucky) success is fine.
        if let Err(e) = read(&path, Grain::FULL, false) {
            failures += 1;
            assert!(e.contains("f.parquet"), "{e}");
        }
    }
    assert!(failures > 100, "most damaged files are refused ({failures})");
}

fn write_batch(path: &Path, columns: Vec<(&str, ArrayRef)>, group_rows: usize) {
    let fields: Vec<Field> =
        columns.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), true)).collect();
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), columns.into_iter().map(|(_, a)| a).collect())
        .unwrap();
    let properties = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(group_rows))
        .build();
    let mut writer =
        ArrowWriter::try_new(fs::File::create(path).unwrap(), schema, Some(properties)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

#[test]
fn a_cost_column_of_an_unsupported_type_exits_2_before_any_row() {
    let dir = TempDir::new().unwrap();
    write_batch(
        &dir.path().join("dates.parquet"),
        vec![
            ("BilledCost", Arc::new(Date32Array::from(vec![1, 2]))),
            ("ChargePeriodStart", Arc::new(StringArray::from(vec!["2026-10-01", "2026-10-02"]))),
        ],
        10,
    );
    assert_bad(
        dir.path(),
        "dates.parquet",
        "column BilledCost: a Parquet Date32 column is not an amount",
    );
    write_batch(
        &dir.path().join("missing.parquet"),
        vec![("Cost", Arc::new(StringArray::from(vec!["1"])))],
        10,
    );
    assert_bad(
        dir.path(),
        "missing.parquet",
        "missing required columns BilledCost, ChargePeriodStart",
    );
}

#[test]
fn a_bad_row_is_named_by_line_and_row_group_and_skip_invalid_skips_it() {
    let dir = TempDir::new().unwrap();
    let costs: Vec<&str> = vec!["1.5", "2", "oops", "4", "10.25"];
    let services = vec!["a", "b", "a", "b", "a"];
    write_batch(
        &dir.path().join("bad.parquet"),
        vec![
            ("BilledCost", Arc::new(StringArray::from(costs))),
            ("ChargePeriodStart", Arc::new(StringArray::from(vec!["2026-10-01T00:00:00Z"; 5]))),
            ("ServiceName", Arc::new(StringArray::from(services))),
        ],
        2,
    );
    // The third row: line 4 (line 1 would be a header), in the second row group (group 1).
    let err = assert_bad(dir.path(), "bad.parquet", "bad.parquet:4: column BilledCost");
    assert!(err.contains("row group 1"), "{err}");
    let (code, out, err) = run(
        dir.path(),
        &[
            "costs",
            "--focus",
            "bad.parquet",
            "--by",
            "service",
            "--format",
            "csv",
            "--skip-invalid",
        ],
    );
    assert_eq!(code, Some(3), "the report is written, the data partial: {err}");
    assert!(err.contains("1 invalid row skipped (first: bad.parquet:4"), "{err}");
    assert!(out.contains("a,11.75,"), "{out}");
    assert!(out.contains("b,6,"), "{out}");
    let summary = read(&dir.path().join("bad.parquet"), service_grain(), true).unwrap();
    assert_eq!((summary.rows_read, summary.skipped.count), (5, 1));
    assert_eq!(summary.skipped.first[0].line, 4);
}

#[test]
fn a_decimal_money_cannot_hold_is_a_row_error() {
    let dir = TempDir::new().unwrap();
    let huge = Decimal128Array::from(vec![Some(5), Some(10i128.pow(30))])
        .with_precision_and_scale(38, 0)
        .unwrap();
    write_batch(
        &dir.path().join("huge.parquet"),
        vec![
            ("BilledCost", Arc::new(huge)),
            ("ChargePeriodStart", Arc::new(StringArray::from(vec!["2026-10-01"; 2]))),
        ],
        10,
    );
    let err = assert_bad(dir.path(), "huge.parquet", "huge.parquet:3: column BilledCost");
    assert!(err.contains("outside the supported range"), "{err}");
}
