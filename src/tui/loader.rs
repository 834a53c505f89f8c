//! Background loading: reads each source in turn, reporting progress, then builds the report.
//! A failing source becomes a warning in the data, never a failed dashboard.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc::Sender;

use super::app::{Dataset, Msg, Progress};
use crate::cli::SourceArgs;
use crate::config::Config;
use crate::model::cluster::UsageSource;
use crate::model::{Grain, Snapshot, SourceState, SourceStatus};
use crate::report::build_report_with;
use crate::source::billing::{BillingInput, ReadOptions, read_billing_noted};
use crate::source::focus::FocusOptions;
use crate::source::progress::ReadProgress;
use crate::source::snapshot_file::read_snapshot;

/// What a load needs: the sources and the configuration the dashboard was started with.
#[derive(Debug, Clone)]
pub struct LoadContext {
    pub sources: SourceArgs,
    pub config: Config,
    pub rules_dir: Option<PathBuf>,
}

enum Step {
    Sample,
    Snapshot(PathBuf),
    /// `--focus` and `--cur` inputs.
    Billing(Vec<BillingInput>),
    /// A live cluster: a kubeconfig context, or the current one.
    Kube(Option<String>),
    KubeDump(PathBuf),
    /// Live AWS: every profile and region.
    Aws,
}

impl Step {
    fn name(&self) -> String {
        match self {
            Step::Sample => "bundled sample".to_string(),
            Step::Snapshot(p) => format!("snapshot {}", p.display()),
            Step::Billing(inputs) => {
                format!("billing {}", crate::report::billing_source_name(inputs))
            }
            Step::Kube(context) => {
                format!("Kubernetes {}", context.as_deref().unwrap_or("current context"))
            }
            Step::KubeDump(dir) => format!("Kubernetes dump {}", dir.display()),
            Step::Aws => "AWS (Cost Explorer, EC2, CloudWatch)".to_string(),
        }
    }
}

/// Why a load ended early: the user quit or refreshed while it read.
pub const CANCELLED: &str = "load cancelled";

fn send(tx: &Sender<Msg>, msg: Msg) {
    // The dashboard may have quit; then nobody is listening and that is fine.
    let _ = tx.blocking_send(msg);
}

/// Loads every source, then analyses. Runs on a blocking thread.
pub fn load(
    ctx: &LoadContext,
    generation: u64,
    tx: &Sender<Msg>,
    watch: &Arc<ReadProgress>,
) -> Result<Box<Dataset>, String> {
    let mut steps = Vec::new();
    if ctx.sources.sample {
        steps.push(Step::Sample);
    }
    if let Some(p) = &ctx.sources.snapshot {
        steps.push(Step::Snapshot(p.clone()));
    }
    match ctx.sources.billing_inputs() {
        Ok(inputs) if inputs.is_empty() => {}
        Ok(inputs) => steps.push(Step::Billing(inputs)),
        Err(e) => return Err(e.to_string()),
    }
    steps.extend(ctx.sources.kube_contexts().into_iter().map(Step::Kube));
    steps.extend(ctx.sources.kube_dump.iter().cloned().map(Step::KubeDump));
    if ctx.sources.uses_aws() {
        steps.push(Step::Aws);
    }
    send(tx, Msg::Sources { generation, names: steps.iter().map(Step::name).collect() });
    let options = FocusOptions { grain: Grain::DETAILED, skip_invalid: ctx.sources.skip_invalid };
    let mut snapshot: Option<Snapshot> = None;
    let mut statuses = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        if watch.is_cancelled() {
            return Err(CANCELLED.to_string());
        }
        send(tx, Msg::Progress { generation, source: i, state: Progress::Loading });
        // A cluster read without metrics is Partial, with its warnings; AWS has one per profile.
        let mut cluster_status: Option<SourceStatus> = None;
        let mut aws_statuses: Option<Vec<SourceStatus>> = None;
        let mut billing_notes: Vec<String> = Vec::new();
        let outcome: Result<String, String> = match step {
            Step::Sample => crate::sample::snapshot()
                .and_then(|mut s| {
                    s.billing = Some(crate::sample::billing(options)?);
                    Ok(s)
                })
                .map(|s| {
                    let detail = describe(&s);
                    snapshot = Some(s);
                    detail
                })
                .map_err(|e| e.to_string()),
            Step::Snapshot(path) => read_snapshot(path)
                .map(|s| {
                    let detail = describe(&s);
                    statuses.extend(s.sources.iter().cloned());
                    snapshot = Some(s);
                    detail
                })
                .map_err(|e| e.to_string()),
            // Progress lines would scribble over the dashboard; it shows its own.
            Step::Billing(inputs) => {
                let read = ReadOptions { focus: options, progress: false };
                read_billing_noted(inputs, read, Some(watch.clone()))
                    .map(|(billing, notes)| {
                        let detail = format!(
                            "{} rows, {} resources{}{}",
                            billing.rows_read,
                            billing.resources.len(),
                            billing.skipped.summary().map(|s| format!("; {s}")).unwrap_or_default(),
                            notes.iter().map(|n| format!("; {n}")).collect::<String>()
                        );
                        // Athena's bytes scanned reach the Sources line like Cost Explorer's
                        // paid requests.
                        billing_notes = notes;
                        let as_of = billing
                            .period()
                            .and_then(|(_, last)| last.succ_opt())
                            .and_then(|d| d.and_hms_opt(0, 0, 0))
                            .map(|t| t.and_utc())
                            .unwrap_or_default();
                        let snap = snapshot.get_or_insert_with(|| Snapshot::empty(as_of));
                        snap.billing = Some(billing);
                        detail
                    })
                    .map_err(|e| e.to_string())
            }
            Step::Kube(context) => {
                let history = crate::report::history_config(&ctx.sources);
                let read = crate::source::kube::live::read_with(
                    None,
                    context.as_deref(),
                    history.as_ref(),
                    ctx.sources.kube_timeout(),
                );
                add_cluster(read, step, &mut snapshot, &mut cluster_status)
            }
            Step::KubeDump(dir) => {
                let history = crate::report::history_config(&ctx.sources);
                let read = crate::source::kube::dump::read_dump_with(dir, history.as_ref());
                add_cluster(read, step, &mut snapshot, &mut cluster_status)
            }
            Step::Aws => {
                let aws =
                    crate::report::gather_aws(&ctx.sources, Grain::DETAILED, snapshot.as_ref());
                let detail = format!(
                    "{} resources, {} with utilization, {} paid Cost Explorer requests",
                    aws.inventory.len(),
                    aws.utilization.len(),
                    aws.usage.paid_requests
                );
                let failed = aws.all_failed();
                let reason: Vec<String> = aws
                    .statuses
                    .iter()
                    .flat_map(|s| s.warnings.iter().map(|w| format!("{}: {w}", s.name)))
                    .collect();
                let snap = snapshot.get_or_insert_with(|| Snapshot::empty(aws.as_of));
                aws_statuses = Some(crate::report::merge_aws(snap, aws));
                if failed { Err(reason.join("; ")) } else { Ok(detail) }
            }
        };
        let (state, status) = match outcome {
            Ok(detail) => (
                Progress::Done(detail),
                SourceStatus {
                    name: step.name(),
                    state: SourceState::Ok,
                    warnings: vec![],
                    notes: billing_notes,
                },
            ),
            Err(e) => (
                Progress::Failed(e.clone()),
                SourceStatus {
                    name: step.name(),
                    state: SourceState::Failed,
                    warnings: vec![e],
                    notes: vec![],
                },
            ),
        };
        match aws_statuses {
            Some(aws) => statuses.extend(aws),
            None => statuses.push(cluster_status.unwrap_or(status)),
        }
        send(tx, Msg::Progress { generation, source: i, state });
    }
    if watch.is_cancelled() {
        return Err(CANCELLED.to_string());
    }
    let mut snapshot = snapshot.unwrap_or_else(|| Snapshot::empty(chrono::DateTime::UNIX_EPOCH));
    snapshot.sources = statuses;
    analyse(ctx, Arc::new(snapshot))
}

/// Builds the report from a loaded snapshot (also after a suppression changed).
pub fn analyse(ctx: &LoadContext, snapshot: Arc<Snapshot>) -> Result<Box<Dataset>, String> {
    let engine =
        crate::app::engine(&ctx.config, ctx.rules_dir.as_deref()).map_err(|e| format!("{e:#}"))?;
    let suppressions = crate::app::load_suppressions(&ctx.config).map_err(|e| format!("{e:#}"))?;
    let report = build_report_with(
        &snapshot,
        &engine,
        &ctx.config.required_tags,
        suppressions.as_ref().map(|s| (s, chrono::Utc::now())),
        &crate::report::ReviewSettings::from_config(&ctx.config),
    );
    Ok(Box::new(Dataset { report, snapshot }))
}

/// Adds a cluster read to the snapshot and describes it.
fn add_cluster(
    read: crate::source::Result<crate::source::kube::Collected>,
    step: &Step,
    snapshot: &mut Option<Snapshot>,
    status: &mut Option<SourceStatus>,
) -> Result<String, String> {
    let c = read.map_err(|e| e.to_string())?;
    let containers = c.cluster.workloads.iter().flat_map(|w| &w.containers);
    let with_history = containers
        .filter(|x| matches!(x.usage_source, Some(UsageSource::Prometheus { .. })))
        .count();
    let detail = format!(
        "{} nodes, {} workloads{}{}",
        c.cluster.nodes.len(),
        c.cluster.workloads.len(),
        if c.requests_only { "; no metrics, requests only" } else { "" },
        if with_history > 0 {
            format!("; Prometheus history for {with_history} containers")
        } else {
            String::new()
        }
    );
    *status = Some(c.status(&step.name()));
    let as_of = c.as_of.unwrap_or_else(chrono::Utc::now);
    snapshot.get_or_insert_with(|| Snapshot::empty(as_of)).clusters.push(c.cluster);
    Ok(detail)
}

fn describe(s: &Snapshot) -> String {
    let mut parts = vec![format!("{} inventory resources", s.inventory.len())];
    if let Some(b) = &s.billing {
        parts.push(format!("{} billing rows", b.rows_read));
    }
    if !s.clusters.is_empty() {
        parts.push(format!("{} cluster(s)", s.clusters.len()));
    }
    parts.join(", ")
}
