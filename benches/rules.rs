//! Rule evaluation with the default pack over a scaled inventory (target: 100k resources < 1 s).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::print_stderr)]

mod common;

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use std::hint::black_box;

fn rules(c: &mut Criterion) {
    let engine = common::engine();
    let tags = common::required_tags();
    let mut group = c.benchmark_group("rules");
    // Slow iterations: the same number of iterations per sample, 10 samples.
    group.sampling_mode(SamplingMode::Flat);
    for n in [10_000usize, 100_000] {
        let snapshot = common::scaled_snapshot(n);
        let findings = engine.evaluate(&snapshot, &tags).findings.len();
        eprintln!(
            "[setup] {n} resources ({} instances, {} volumes, {} EIPs, {} snapshots, {} NAT \
             gateways, {} utilization summaries): {findings} findings",
            snapshot.inventory.instances.len(),
            snapshot.inventory.volumes.len(),
            snapshot.inventory.addresses.len(),
            snapshot.inventory.snapshots.len(),
            snapshot.inventory.nat_gateways.len(),
            snapshot.utilization.len(),
        );
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("evaluate", n), &snapshot, |b, s| {
            b.iter(|| black_box(engine.evaluate(black_box(s), &tags)))
        });
    }
    group.finish();
}

fn main() {
    let mut c = common::quick();
    rules(&mut c);
    c.final_summary();
}
