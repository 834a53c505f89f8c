//! A billing read watched by the dashboard: rows and bytes counted exactly, the result
//! unchanged by watching, and a cancelled read stopped with `SourceError::Cancelled`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use costscope::model::Grain;
use costscope::source::SourceError;
use costscope::source::billing::{BillingInput, ReadOptions, Scheme, read_billing_noted};
use costscope::source::focus::FocusOptions;
use costscope::source::progress::ReadProgress;

fn input(path: &Path) -> Vec<BillingInput> {
    vec![BillingInput::new(Scheme::Focus, path).unwrap()]
}

fn options() -> ReadOptions {
    ReadOptions {
        focus: FocusOptions { grain: Grain::DETAILED, skip_invalid: false },
        progress: false,
    }
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/focus-2026-09-10.csv.gz")
}

#[test]
fn a_watched_gzip_read_counts_every_row_and_compressed_byte() {
    let path = sample();
    let watch = ReadProgress::new();
    let (watched, _) = read_billing_noted(&input(&path), options(), Some(watch.clone())).unwrap();
    let (plain, _) = read_billing_noted(&input(&path), options(), None).unwrap();
    assert_eq!(watched, plain, "watching does not change the result");
    let seen = watch.snapshot();
    let size = std::fs::metadata(&path).unwrap().len();
    assert_eq!(watched.rows_read, 20_304);
    assert_eq!(seen.rows, 20_304);
    assert_eq!((seen.bytes, seen.total_bytes), (size, size));
    assert_eq!(seen.fraction(), Some(1.0));
}

#[test]
fn a_plain_file_read_on_several_threads_is_counted_once() {
    // 100,000 rows (about 30 MB) is past the size from which a plain CSV is split by threads.
    let dir = tempfile::tempdir().unwrap();
    let path = costscope::samplegen::write_scaled(dir.path(), 100_000, 7, false).unwrap();
    let watch = ReadProgress::new();
    let (watched, _) = read_billing_noted(&input(&path), options(), Some(watch.clone())).unwrap();
    let (plain, _) = read_billing_noted(&input(&path), options(), None).unwrap();
    assert_eq!(watched, plain);
    let seen = watch.snapshot();
    assert_eq!((watched.rows_read, seen.rows), (100_000, 100_000));
    // Each thread reads a little past its range to finish its last record, so bytes may run
    // over the size by at most a read buffer per thread; the fraction is capped at 1.
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(seen.bytes >= size && seen.bytes < size + 16 * (1 << 20), "{seen:?}");
    assert_eq!((seen.total_bytes, seen.fraction()), (size, Some(1.0)));
}

#[test]
fn a_cancelled_read_stops_with_cancelled_and_is_not_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = costscope::samplegen::write_scaled(dir.path(), 100_000, 7, false).unwrap();
    let watch = ReadProgress::new();
    watch.cancel();
    let err = read_billing_noted(&input(&path), options(), Some(watch.clone())).unwrap_err();
    assert!(matches!(err, SourceError::Cancelled), "{err}");
    assert!(!err.is_bad_input());
    // It stopped at its first progress report, long before the end.
    assert!(watch.snapshot().rows < 100_000, "{:?}", watch.snapshot());
    let gz = sample();
    let err = read_billing_noted(&input(&gz), options(), Some(watch)).unwrap_err();
    assert!(matches!(err, SourceError::Cancelled), "{err}");
}
