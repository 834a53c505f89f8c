//! FOCUS ingest of the generator's 100k-row file: `read_focus_files` at `Grain::NONE` + service
//! (what `costs --by service` asks for) and at `Grain::FULL` (report, tags, collect).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::print_stderr)]

mod common;

use std::hint::black_box;

use costscope::model::Grain;
use costscope::source::focus::{FocusOptions, read_focus_files};
use criterion::{Criterion, SamplingMode, Throughput};

const ROWS: u64 = 100_000;

fn ingest(c: &mut Criterion) {
    let plain = common::scaled_focus(ROWS, false);
    let gzip = common::scaled_focus(ROWS, true);
    let bytes = std::fs::metadata(&plain).unwrap().len();
    let mut group = c.benchmark_group("ingest");
    group.sampling_mode(SamplingMode::Flat);
    // Throughput in uncompressed bytes for both, so MB/s compare.
    group.throughput(Throughput::Bytes(bytes));
    let grains = [("service", Grain { service: true, ..Grain::NONE }), ("full", Grain::FULL)];
    for (file, path) in [("csv", &plain), ("csv.gz", &gzip)] {
        for (grain_name, grain) in grains {
            let paths = vec![path.clone()];
            let options = FocusOptions { grain, skip_invalid: false };
            let summary = read_focus_files(&paths, options).unwrap();
            assert_eq!(summary.rows_read, ROWS);
            group.bench_function(format!("{file}/{grain_name}"), |b| {
                b.iter(|| black_box(read_focus_files(black_box(&paths), options).unwrap()))
            });
        }
    }
    group.finish();
}

fn main() {
    let mut c = common::quick();
    ingest(&mut c);
    c.final_summary();
}
