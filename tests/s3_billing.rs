//! `--focus s3://…` and `--cur s3://…` end to end: billing objects uploaded to moto with the
//! Rust SDK in the layouts AWS delivers (Data Exports, legacy CUR, a bare prefix), read back by
//! the real binary (`AWS_ENDPOINT_URL_S3` is moto) and compared with the same data read from a
//! local file, to the last digit. The bundled sample's FOCUS CSV, split into parts, is the
//! data. What moto serves for this: tests/emulators/README.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common_aws;

use std::io::{Read, Write};
use std::sync::Arc;

use common_aws::*;
use costscope::source::billing::s3::chunks::ObjectChunks;
use costscope::source::billing::s3::session::Session;
use parquet::file::reader::{ChunkReader, Length};

const REGION: &str = "us-east-1";
const BUCKET: &str = "billing";

/// The sample's FOCUS CSV, decompressed: a header and one record per line.
fn sample_lines() -> (String, Vec<String>) {
    let gz = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/focus-2026-09-10.csv.gz"))
        .unwrap();
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(&gz[..]).read_to_string(&mut text).unwrap();
    let mut lines = text.lines().map(str::to_string);
    let header = lines.next().unwrap();
    (header, lines.collect())
}

/// The sample's records cut into `parts` CSV files, each with the header.
fn parts(parts: usize) -> Vec<String> {
    let (header, rows) = sample_lines();
    let per = rows.len().div_ceil(parts);
    rows.chunks(per).map(|chunk| format!("{header}\n{}\n", chunk.join("\n"))).collect()
}

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

fn s3(env: &Env) -> aws_sdk_s3::Client {
    costscope::source::aws::s3::client(&env.moto_sdk(REGION))
}

fn create_bucket(env: &Env) {
    env.block_on(s3(env).create_bucket().bucket(BUCKET).send()).unwrap();
}

fn put(env: &Env, key: &str, body: impl Into<Vec<u8>>) {
    let body = aws_sdk_s3::primitives::ByteStream::from(body.into());
    env.block_on(s3(env).put_object().bucket(BUCKET).key(key).body(body).send()).unwrap();
}

/// S3's LastModified has whole seconds: a later delivery must be a second later to be newer.
fn next_second() {
    std::thread::sleep(std::time::Duration::from_millis(1100));
}

/// `costscope costs --by service --format csv` of one `--focus`/`--cur` input, S3 from moto.
fn costs(env: &Env, flag: &str, input: &str) -> Output {
    let moto = format!("http://127.0.0.1:{}", env.moto);
    costs_at(env, flag, input, &moto)
}

fn costs_at(env: &Env, flag: &str, input: &str, endpoint: &str) -> Output {
    env.costscope_with(
        &["costs", flag, input, "--by", "service", "--format", "csv"],
        &[("AWS_ENDPOINT_URL_S3", endpoint)],
    )
}

/// The same report from the bundled sample as a local file.
fn local_costs(env: &Env) -> String {
    let path = env.home.path().join("focus-2026-09-10.csv.gz");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/focus-2026-09-10.csv.gz"), &path)
        .unwrap();
    let out = env.costscope(&[
        "costs",
        "--focus",
        path.to_str().unwrap(),
        "--by",
        "service",
        "--format",
        "csv",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("Amazon Elastic Compute Cloud,29812.49135099,"), "{}", out.stdout);
    out.stdout
}

fn data_export_manifest(execution: &str, period: &str, files: &[String]) -> String {
    let files: Vec<String> = files.iter().map(|k| format!("s3://{BUCKET}/{k}")).collect();
    serde_json::json!({
        "executionId": execution,
        "exportArn": "arn:aws:bcm-data-exports:us-east-1:123456789012:export/focus-1234",
        "exportName": "focus",
        "billingPeriod": { "start": format!("{period}-01T00:00:00.000Z") },
        "dataFiles": files,
    })
    .to_string()
}

#[test]
fn a_data_export_reads_only_the_newest_execution_of_each_billing_period() {
    let env = Env::new("111111111111");
    create_bucket(&env);
    let parts = parts(4);
    let (header, rows) = sample_lines();

    // An earlier execution of 2026-10: one file with 500 rows. Its manifest sorts after the
    // newest one's key, so only the delivery time can tell them apart.
    let old_key = "exports/focus/data/BILLING_PERIOD=2026-10/exec-1/focus-00001.csv.gz";
    put(&env, old_key, gzip(&format!("{header}\n{}\n", rows[..500].join("\n"))));
    put(
        &env,
        "exports/focus/metadata/BILLING_PERIOD=2026-10/exec-1/focus-Manifest.json",
        data_export_manifest("exec-1", "2026-10", &[old_key.to_string()]),
    );
    next_second();

    // The newest execution of 2026-10 (three parts) and 2026-11 (one part).
    let october: Vec<String> = (1..=3)
        .map(|i| format!("exports/focus/data/BILLING_PERIOD=2026-10/exec-2/focus-0000{i}.csv.gz"))
        .collect();
    for (key, part) in october.iter().zip(&parts) {
        put(&env, key, gzip(part));
    }
    put(
        &env,
        "exports/focus/metadata/BILLING_PERIOD=2026-10/focus-Manifest.json",
        data_export_manifest("exec-2", "2026-10", &october),
    );
    let november = vec!["exports/focus/data/BILLING_PERIOD=2026-11/focus-00001.csv.gz".to_string()];
    put(&env, &november[0], gzip(&parts[3]));
    put(
        &env,
        "exports/focus/metadata/BILLING_PERIOD=2026-11/focus-Manifest.json",
        data_export_manifest("exec-3", "2026-11", &november),
    );

    // Equal to the sample to the last digit: exec-1's 500 rows, read too, would count twice.
    let out = costs(&env, "--focus", &format!("s3://{BUCKET}/exports/"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, local_costs(&env));
}

#[test]
fn a_prefix_without_manifest_reads_every_billing_object_in_key_order() {
    let env = Env::new("222222222222");
    create_bucket(&env);
    for (i, part) in parts(3).iter().enumerate() {
        put(&env, &format!("plain/2026/10/part-{i}.csv"), part.clone());
    }
    put(&env, "plain/README.txt", "not billing");
    put(&env, "plain/", ""); // the folder marker the S3 console writes
    // Beside the prefix, not under it: `plain` is a folder, not a string prefix.
    put(&env, "plain-old/broken.csv", "BilledCost\nnot money\n");

    let expected = local_costs(&env);
    for prefix in ["plain", "plain/"] {
        let out = costs(&env, "--focus", &format!("s3://{BUCKET}/{prefix}"));
        assert_eq!(out.code, 0, "{prefix}: {}", out.stderr);
        assert_eq!(out.stdout, expected, "{prefix}");
    }

    // One object named exactly is read alone.
    let one = costs(&env, "--focus", &format!("s3://{BUCKET}/plain-old/broken.csv"));
    assert_eq!(one.code, 2, "{}", one.stderr);
    assert!(one.stderr.contains("s3://billing/plain-old/broken.csv:1"), "{}", one.stderr);
}

/// A legacy CUR report in "create new report version" layout: two assemblies of October, the
/// top-level manifest naming the newest.
#[test]
fn a_legacy_cur_report_reads_the_newest_assembly() {
    let env = Env::new("333333333333");
    create_bucket(&env);
    let header = "identity/LineItemId,identity/TimeInterval,bill/PayerAccountId,lineItem/UsageAccountId,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UsageEndDate,lineItem/ProductCode,lineItem/UnblendedCost,lineItem/CurrencyCode,product/ProductName,product/region";
    let row = |id: &str, code: &str, cost: &str, name: &str| {
        format!(
            "{id},2026-10-01T00:00:00Z/2026-10-02T00:00:00Z,111111111111,222222222222,Usage,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,{code},{cost},USD,{name},us-east-1"
        )
    };
    let period = "cur/acme/20261001-20261101";
    let manifest = |assembly: &str, keys: &[String]| {
        serde_json::json!({
            "assemblyId": assembly,
            "bucket": BUCKET,
            "reportName": "acme",
            "billingPeriod": { "start": "20261001T000000.000Z", "end": "20261101T000000.000Z" },
            "reportKeys": keys,
        })
        .to_string()
    };
    let old = vec![format!("{period}/asm-1/acme-1.csv.gz")];
    put(
        &env,
        &old[0],
        gzip(&format!(
            "{header}\n{}\n",
            row("a", "AmazonEC2", "1000", "Amazon Elastic Compute Cloud")
        )),
    );
    put(&env, &format!("{period}/asm-1/acme-Manifest.json"), manifest("asm-1", &old));
    next_second();
    let new =
        vec![format!("{period}/asm-2/acme-1.csv.gz"), format!("{period}/asm-2/acme-2.csv.gz")];
    put(
        &env,
        &new[0],
        gzip(&format!(
            "{header}\n{}\n{}\n",
            row("b", "AmazonEC2", "10.25", "Amazon Elastic Compute Cloud"),
            row("c", "AmazonEC2", "2.5", "Amazon Elastic Compute Cloud")
        )),
    );
    put(
        &env,
        &new[1],
        gzip(&format!(
            "{header}\n{}\n",
            row("d", "AmazonS3", "0.125", "Amazon Simple Storage Service")
        )),
    );
    put(&env, &format!("{period}/asm-2/acme-Manifest.json"), manifest("asm-2", &new));
    put(&env, &format!("{period}/acme-Manifest.json"), manifest("asm-2", &new));
    put(&env, &format!("{period}/acme-RedshiftManifest.json"), "{\"entries\": []}");

    let out = costs(&env, "--cur", &format!("s3://{BUCKET}/cur/"));
    // Only asm-2 is read (12.75 + 0.125), never asm-1's 1000.
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("Amazon Elastic Compute Cloud,12.75,"), "{}", out.stdout);
    assert!(out.stdout.contains("Amazon Simple Storage Service,0.125,"), "{}", out.stdout);
    assert!(!out.stdout.contains("1000"), "{}", out.stdout);
}

#[test]
fn broken_manifests_and_missing_prefixes_are_bad_input_naming_them() {
    let env = Env::new("444444444444");
    create_bucket(&env);
    let period = "bad/focus/metadata/BILLING_PERIOD=2026-10";
    put(
        &env,
        &format!("{period}/focus-Manifest.json"),
        data_export_manifest("e", "2026-10", &["bad/focus/data/gone.csv.gz".to_string()]),
    );
    let out = costs(&env, "--focus", &format!("s3://{BUCKET}/bad/"));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("s3://{BUCKET}/{period}/focus-Manifest.json"))
            && out.stderr.contains(&format!("s3://{BUCKET}/bad/focus/data/gone.csv.gz")),
        "{}",
        out.stderr
    );

    put(&env, "notjson/x/metadata/BILLING_PERIOD=2026-10/x-Manifest.json", "<xml/>");
    let out = costs(&env, "--focus", &format!("s3://{BUCKET}/notjson"));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("x-Manifest.json") && out.stderr.contains("not a JSON manifest"),
        "{}",
        out.stderr
    );

    put(&env, "lacking/r/20261001-20261101/r-Manifest.json", r#"{"reportKeys": []}"#);
    let out = costs(&env, "--cur", &format!("s3://{BUCKET}/lacking"));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("r-Manifest.json: lacks assemblyId"), "{}", out.stderr);

    let out = costs(&env, "--focus", &format!("s3://{BUCKET}/nothing-here/"));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("s3://billing/nothing-here/: no billing objects"),
        "{}",
        out.stderr
    );
}

#[test]
fn s3_refusing_or_unreachable_is_a_failure_not_bad_input() {
    let env = Env::new("555555555555");
    let out = costs(&env, "--focus", "s3://no-such-bucket/exports/");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("s3://no-such-bucket/exports/") && out.stderr.contains("NoSuchBucket"),
        "{}",
        out.stderr
    );

    // Nothing listens on port 9 of loopback.
    let out = costs_at(&env, "--focus", "s3://billing/exports/", "http://127.0.0.1:9");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("s3://billing/exports/"), "{}", out.stderr);
}

/// The sample as a Parquet file: every column as optional UTF-8 text, empty cells null, in
/// `groups` row groups.
fn sample_parquet(groups: usize) -> Vec<u8> {
    use parquet::data_type::{ByteArray, ByteArrayType};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    let (header, rows) = sample_lines();
    let names: Vec<&str> = header.split(',').collect();
    let fields: Vec<String> =
        names.iter().map(|n| format!("OPTIONAL BYTE_ARRAY {n} (UTF8);")).collect();
    let schema = parquet::schema::parser::parse_message_type(&format!(
        "message focus {{ {} }}",
        fields.join(" ")
    ))
    .unwrap();
    let records: Vec<Vec<String>> = rows.iter().map(|line| csv_fields(line)).collect();
    let mut writer =
        SerializedFileWriter::new(Vec::new(), Arc::new(schema), Arc::new(WriterProperties::new()))
            .unwrap();
    for chunk in records.chunks(records.len().div_ceil(groups)) {
        let mut group = writer.next_row_group().unwrap();
        for column in 0..names.len() {
            let mut writer = group.next_column().unwrap().unwrap();
            let cells: Vec<&str> = chunk.iter().map(|r| r[column].as_str()).collect();
            let values: Vec<ByteArray> =
                cells.iter().filter(|c| !c.is_empty()).map(|c| ByteArray::from(*c)).collect();
            let levels: Vec<i16> = cells.iter().map(|c| i16::from(!c.is_empty())).collect();
            writer.typed::<ByteArrayType>().write_batch(&values, Some(&levels), None).unwrap();
            writer.close().unwrap();
        }
        group.close().unwrap();
    }
    writer.into_inner().unwrap()
}

/// One CSV record's fields, quotes removed (the sample quotes only its Tags JSON).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

#[test]
fn a_parquet_object_is_read_by_ranged_gets_footer_first() {
    let env = Env::new("666666666666");
    create_bucket(&env);
    let file = sample_parquet(3);
    let key = "parquet/focus/data/BILLING_PERIOD=2026-10/focus-00001.snappy.parquet";
    put(&env, key, file.clone());
    assert!(file.len() > 256 * 1024, "{} bytes: too small to need ranges", file.len());

    let session = Session::with_config(env.moto_sdk(REGION)).unwrap();
    let chunks = ObjectChunks::open(&session, BUCKET, key, file.len() as u64).unwrap();
    assert_eq!(chunks.len(), file.len() as u64);
    // The tail (64 KiB), and the rest of the metadata when it is bigger than that.
    let footer_len =
        u64::from(u32::from_le_bytes(file[file.len() - 8..file.len() - 4].try_into().unwrap()));
    let at_open = if footer_len + 8 > 64 * 1024 { 2 } else { 1 };
    assert_eq!(session.gets(), at_open, "metadata of {footer_len} bytes");
    let metadata =
        parquet::file::metadata::ParquetMetaDataReader::new().parse_and_finish(&chunks).unwrap();
    assert_eq!(metadata.file_metadata().num_rows(), 20_304);
    assert_eq!(metadata.num_row_groups(), 3);
    // The footer and its metadata were all in what was fetched at open.
    assert_eq!(session.gets(), at_open);

    // A column chunk far from the tail: one ranged GET, the exact bytes.
    let column = metadata.row_group(0).column(1);
    let (start, len) = column.byte_range();
    let bytes = chunks.get_bytes(start, len as usize).unwrap();
    assert_eq!(&bytes[..], &file[start as usize..(start + len) as usize]);
    assert_eq!(session.gets(), at_open + 1);
    // A streaming read from an offset to the end.
    let mut rest = Vec::new();
    chunks.get_read(1000).unwrap().read_to_end(&mut rest).unwrap();
    assert_eq!(rest, file[1000..]);
    assert_eq!(session.gets(), at_open + 2);
    // Past the end is an error, not a short read.
    assert!(chunks.get_bytes(file.len() as u64 - 2, 4).is_err());

    // Through the binary: the same costs as the CSV it was written from.
    let out = costs(&env, "--focus", &format!("s3://{BUCKET}/parquet/"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, local_costs(&env));
}
