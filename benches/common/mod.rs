//! Shared fixtures for the benches: a scaled inventory, generated billing files, and the
//! dashboard's dataset at 1M billing lines / 100k findings.
//!
//! Everything is deterministic: the inventory is the bundled sample's, copied with renamed ids,
//! and billing files come from the repo's generator (`costscope::samplegen::write_scaled`).

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use costscope::model::{Grain, Snapshot, SourceState, SourceStatus};
use costscope::source::focus::{FocusOptions, read_focus_files};
use costscope::tui::app::Dataset;

/// Where generated inputs go (`target/tmp/costscope-bench` under the target dir).
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("costscope-bench")
}

/// The generator's file of `rows` rows (default seed), written once per process run.
/// Regenerated every run so a change to the generator can never leave a stale file behind;
/// 1M rows take about a second and a half.
pub fn scaled_focus(rows: u64, gzip: bool) -> PathBuf {
    let started = Instant::now();
    let path = costscope::samplegen::write_scaled(
        &data_dir(),
        rows,
        costscope::samplegen::DEFAULT_SEED,
        gzip,
    )
    .expect("generate the billing file");
    eprintln!(
        "[setup] generated {} ({:.1} MB) in {:.2?}",
        path.display(),
        std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6,
        started.elapsed()
    );
    path
}

/// The bundled sample's inventory and utilization copied until the inventory has exactly `n`
/// resources (instances, volumes, Elastic IPs, snapshots and NAT gateways in the sample's
/// proportions, 56:76:8:20:4). Copy `k > 0` appends `-k` to every id and to every reference
/// between resources (volume ids, attachments, a snapshot's volume, utilization), so each copy
/// fires the same rules as the sample. No billing; the sample's cluster is kept once.
pub fn scaled_snapshot(n: usize) -> Snapshot {
    let sample = costscope::sample::snapshot().expect("sample snapshot");
    let src = &sample.inventory;
    let mut out = Snapshot::empty(sample.collected_at);
    out.clusters = sample.clusters.clone();
    let util: std::collections::HashMap<&str, _> =
        sample.utilization.iter().map(|u| (u.resource_id.as_str(), u)).collect();
    let mut count = 0usize;
    let mut k = 0usize;
    let rename = |id: &str, k: usize| if k == 0 { id.to_string() } else { format!("{id}-{k}") };
    'copies: loop {
        let inv = &mut out.inventory;
        for i in &src.instances {
            if count == n {
                break 'copies;
            }
            let mut c = i.clone();
            c.id = rename(&i.id, k);
            c.volume_ids = i.volume_ids.iter().map(|v| rename(v, k)).collect();
            if let Some(u) = util.get(i.id.as_str()) {
                let mut u = (*u).clone();
                u.resource_id = c.id.clone();
                out.utilization.push(u);
            }
            inv.instances.push(c);
            count += 1;
        }
        for v in &src.volumes {
            if count == n {
                break 'copies;
            }
            let mut c = v.clone();
            c.id = rename(&v.id, k);
            for a in &mut c.attachments {
                a.instance_id = rename(&a.instance_id, k);
            }
            inv.volumes.push(c);
            count += 1;
        }
        for a in &src.addresses {
            if count == n {
                break 'copies;
            }
            let mut c = a.clone();
            c.allocation_id = rename(&a.allocation_id, k);
            c.instance_id = a.instance_id.as_deref().map(|i| rename(i, k));
            inv.addresses.push(c);
            count += 1;
        }
        for s in &src.snapshots {
            if count == n {
                break 'copies;
            }
            let mut c = s.clone();
            c.id = rename(&s.id, k);
            c.volume_id = s.volume_id.as_deref().map(|v| rename(v, k));
            inv.snapshots.push(c);
            count += 1;
        }
        for g in &src.nat_gateways {
            if count == n {
                break 'copies;
            }
            let mut c = g.clone();
            c.id = rename(&g.id, k);
            if let Some(u) = util.get(g.id.as_str()) {
                let mut u = (*u).clone();
                u.resource_id = c.id.clone();
                out.utilization.push(u);
            }
            inv.nat_gateways.push(c);
            count += 1;
        }
        k += 1;
    }
    out.normalize();
    out.sources = vec![SourceStatus {
        name: format!("scaled sample inventory ({n} resources)"),
        state: SourceState::Ok,
        warnings: vec![],
        notes: Vec::new(),
    }];
    out
}

/// The engine the dashboard and `report` use: default pack, built-in catalog.
pub fn engine() -> costscope::analysis::rules::Engine {
    costscope::app::engine(&costscope::config::Config::defaults(), None).expect("default engine")
}

pub fn required_tags() -> Vec<String> {
    costscope::config::Config::defaults().required_tags
}

/// The dashboard's dataset: billing read at `Grain::DETAILED` (what the dashboard loads) from
/// the generator's `billing_rows`-row file, and a scaled inventory large enough for at least
/// `findings` findings; the report's findings are then cut to exactly `findings` (the largest
/// savings first, as the report sorts them).
pub fn dashboard_dataset(billing_rows: u64, findings: usize) -> Box<Dataset> {
    let started = Instant::now();
    let path = scaled_focus(billing_rows, false);
    let billing = read_focus_files(
        std::slice::from_ref(&path),
        FocusOptions { grain: Grain::DETAILED, skip_invalid: false },
    )
    .expect("read the generated billing");
    eprintln!(
        "[setup] read {} rows at Grain::DETAILED: {} billing lines, {} daily lines, {} resources in {:.2?}",
        billing.rows_read,
        billing.lines.len(),
        billing.daily.len(),
        billing.resources.len(),
        started.elapsed()
    );
    let engine = engine();
    let tags = required_tags();
    // Findings per resource of the sample's inventory (no billing): scale the inventory so the
    // inventory alone gives enough findings; billing-only resources add untagged findings.
    let probe = engine.evaluate(&scaled_snapshot(1640), &tags);
    let per_resource = probe.findings.len() as f64 / 1640.0;
    let resources = ((findings as f64 / per_resource) * 1.02).ceil() as usize;
    let mut snapshot = scaled_snapshot(resources);
    snapshot.billing = Some(billing);
    let started = Instant::now();
    let mut report = costscope::report::build_report(&snapshot, &engine, &tags);
    eprintln!(
        "[setup] build_report over {} inventory resources + 1 billing summary: {} findings in {:.2?}",
        resources,
        report.findings.len(),
        started.elapsed()
    );
    assert!(report.findings.len() >= findings, "not enough findings: {}", report.findings.len());
    report.findings.truncate(findings);
    Box::new(Dataset { report, snapshot: Arc::new(snapshot) })
}

/// A dataset with `findings` findings and no billing (for the table benches).
pub fn findings_dataset(findings: usize) -> Box<Dataset> {
    let engine = engine();
    let tags = required_tags();
    let probe = engine.evaluate(&scaled_snapshot(1640), &tags);
    let per_resource = probe.findings.len() as f64 / 1640.0;
    let resources = ((findings as f64 / per_resource) * 1.02).ceil() as usize;
    let snapshot = scaled_snapshot(resources);
    let mut report = costscope::report::build_report(&snapshot, &engine, &tags);
    assert!(report.findings.len() >= findings, "not enough findings: {}", report.findings.len());
    report.findings.truncate(findings);
    Box::new(Dataset { report, snapshot: Arc::new(snapshot) })
}

/// Percentiles of a set of durations (nearest rank).
pub struct Percentiles {
    pub n: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub mean: Duration,
}

pub fn percentiles(mut samples: Vec<Duration>) -> Percentiles {
    samples.sort();
    let n = samples.len();
    let at = |p: f64| samples[(((p * n as f64).ceil() as usize).max(1) - 1).min(n - 1)];
    let total: Duration = samples.iter().sum();
    Percentiles {
        n,
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max: samples[n - 1],
        mean: total / n as u32,
    }
}

/// Whether the binary was started by `cargo bench` (criterion's bench mode) rather than by
/// `cargo test --benches` (a quick smoke run).
pub fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Criterion settings that keep `cargo bench` to a few minutes on 2 cores.
pub fn quick() -> criterion::Criterion {
    criterion::Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args()
}
