//! Kubernetes: nodes, pods with their requests and owners, and metrics.k8s.io usage, from a
//! live cluster ([`live`]) or from `kubectl` output files ([`dump`]), assembled into one
//! [`Cluster`] of the model. SDK types (k8s-openapi, kube) stop in this module.

pub mod autoscalers;
pub mod dump;
pub mod extras;
pub mod live;
pub mod metrics;
pub mod nodes;
pub mod pods;
pub mod quantity;
pub mod services;
pub mod storage;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use self::metrics::{NodeUsage, PodUsage};
use self::pods::{Owner, PodSpec};
use crate::model::cluster::{
    Cluster, ContainerResources, Node, Resources, UsageSource, Workload, WorkloadNetwork,
};
use crate::model::{SourceState, SourceStatus};
use crate::source::prometheus::{History, HistoryConfig};

/// What one cluster source read, converted but not yet put together.
#[derive(Debug)]
pub struct Gathered {
    pub name: String,
    pub nodes: Vec<Node>,
    pub pods: Vec<PodSpec>,
    /// Usage per node and per pod container; `Err(reason)` when no metrics API answered.
    pub metrics: Result<(NodeUsage, PodUsage), String>,
    /// When the data was read (live) or the latest metrics timestamp (dump).
    pub as_of: Option<DateTime<Utc>>,
    /// Prometheus's usage history, when `--prometheus` was given.
    pub history: Option<History>,
    /// Volumes, load balancers and autoscalers, with what could not be read.
    pub extras: extras::Extras,
}

impl Gathered {
    /// The (namespace, pod) of every scheduled pod: what history is asked for.
    pub fn scheduled_pods(&self) -> Vec<(String, String)> {
        self.pods
            .iter()
            .filter(|p| p.node.is_some())
            .map(|p| (p.namespace.clone(), p.name.clone()))
            .collect()
    }

    /// Adds Prometheus history for the scheduled pods, when configured (from sync code).
    pub fn with_history_blocking(mut self, config: Option<&HistoryConfig>) -> Gathered {
        if let Some(config) = config {
            let pods = self.scheduled_pods();
            self.history =
                Some(crate::source::prometheus::fetch_blocking(config, &pods, self.as_of));
        }
        self
    }
}

/// One cluster with what the source could not deliver.
#[derive(Debug, Clone, PartialEq)]
pub struct Collected {
    pub cluster: Cluster,
    pub as_of: Option<DateTime<Utc>>,
    /// True when metrics were missing or Prometheus failed (exit code 3).
    pub partial: bool,
    /// True when metrics were missing: the node analysis is requests-only.
    pub requests_only: bool,
    pub warnings: Vec<String>,
}

impl Collected {
    /// The source status for the report.
    pub fn status(&self, name: &str) -> SourceStatus {
        SourceStatus {
            name: name.to_string(),
            state: if self.partial { SourceState::Partial } else { SourceState::Ok },
            warnings: self.warnings.clone(),
            notes: Vec::new(),
        }
    }
}

/// Nearest-rank 95th percentile of `values` (sorted here), the highest sample for small sets.
fn p95(values: &mut [u64]) -> Option<u64> {
    values.sort_unstable();
    let n = values.len();
    if n == 0 {
        return None;
    }
    let rank = (n * 95).div_ceil(100).max(1);
    values.get(rank - 1).copied()
}

/// A workload container's usage from Prometheus: CPU the largest replica p95 and memory the
/// largest replica maximum (krr's simple strategy), with the points behind them and the days
/// the longest-lived replica covers. `None` unless some replica has both figures.
fn from_history(
    history: &History,
    namespace: &str,
    pods: &[PodSpec],
    container: &str,
) -> Option<(Resources, u64, f64)> {
    let (mut cpu, mut memory, mut points, mut longest) = (None, None, 0u64, 0u64);
    for pod in pods {
        let key = (namespace.to_string(), pod.name.clone(), container.to_string());
        let Some(h) = history.containers.get(&key) else { continue };
        cpu = cpu.max(h.cpu_p95_millicores);
        memory = memory.max(h.memory_max_bytes);
        points = points.saturating_add(h.points);
        longest = longest.max(h.points);
    }
    let usage = Resources { cpu_millicores: cpu?, memory_bytes: memory? };
    Some((usage, points, days_covered(history, longest)))
}

/// Days of history `points` steps cover, at most the lookback, to one decimal.
fn days_covered(history: &History, points: u64) -> f64 {
    let seconds = points.saturating_mul(u64::from(history.step_seconds)) as f64;
    let days = (seconds / 86_400.0).min(f64::from(history.lookback_days));
    (days * 10.0).round() / 10.0
}

/// A workload's network from Prometheus: the busiest pod's busiest 5-minute rates, received and
/// sent. `None` unless every scheduled pod has both series, and for any workload whose pods use
/// the host's network (`hostNetwork`): their counters are the node's or absent, so a zero there
/// says nothing about the workload. No data is never read as no traffic.
fn network_from_history(
    history: &History,
    namespace: &str,
    pods: &[PodSpec],
) -> Option<WorkloadNetwork> {
    if pods.is_empty() || pods.iter().any(|p| p.host_network) {
        return None;
    }
    let (mut rx, mut tx, mut points, mut longest) = (0.0f64, 0.0f64, 0u64, 0u64);
    for pod in pods {
        let h = history.pods.get(&(namespace.to_string(), pod.name.clone()))?;
        rx = rx.max(h.rx_max_bytes_per_second?);
        tx = tx.max(h.tx_max_bytes_per_second?);
        points = points.saturating_add(h.points);
        longest = longest.max(h.points);
    }
    Some(WorkloadNetwork {
        rx_max_bytes_per_second: rx,
        tx_max_bytes_per_second: tx,
        days: days_covered(history, longest),
        points,
    })
}

fn add(total: &mut Resources, r: Resources) {
    total.cpu_millicores = total.cpu_millicores.saturating_add(r.cpu_millicores);
    total.memory_bytes = total.memory_bytes.saturating_add(r.memory_bytes);
}

/// Puts nodes, pods and metrics together: each node's requested sum (scheduled pods' effective
/// requests) and usage, and each workload's replicas and per-container requests and usage.
///
/// A workload's container usage is over its replicas' samples: CPU at the 95th percentile and
/// memory at the maximum (krr's simple strategy, on the samples there are). Requests are the
/// largest among replicas (they differ only mid-rollout). Pods not yet scheduled hold no node
/// capacity and are left out, with a warning. With Prometheus history, a container's usage is
/// its history instead (memory never below the metrics-server sample, which is newer), and
/// containers Prometheus does not know keep the sample; failed queries make the source partial.
pub fn assemble(g: Gathered) -> Collected {
    let mut warnings = Vec::new();
    let history = g.history;
    let mut history_failed = false;
    if let Some(h) = &history {
        if let Some(summary) = h.failure_summary() {
            warnings.push(format!(
                "{summary}; containers without history keep metrics-server's single sample"
            ));
            history_failed = true;
        }
        if h.not_finite > 0 {
            warnings.push(format!(
                "Prometheus {}: {} NaN or infinite value(s) left out",
                h.url, h.not_finite
            ));
        }
    }
    let (mut with_history, mut without_history) = (0usize, Vec::new());
    let mut nodes: BTreeMap<String, Node> =
        g.nodes.into_iter().map(|n| (n.name.clone(), n)).collect();
    let (node_usage, pod_usage, partial) = match g.metrics {
        Ok((n, p)) => (Some(n), Some(p), false),
        Err(reason) => {
            warnings.push(format!(
                "{reason}; utilization is requests-only (no usage, idle cost from requests)"
            ));
            (None, None, true)
        }
    };
    if let Some(usage) = &node_usage {
        let mut missing = Vec::new();
        for (name, node) in nodes.iter_mut() {
            node.usage = usage.get(name).copied();
            if node.usage.is_none() {
                missing.push(name.as_str());
            }
        }
        if !missing.is_empty() {
            warnings.push(format!("no node metrics for {}", missing.join(", ")));
        }
    }

    let mut unscheduled = Vec::new();
    let mut unknown_node = Vec::new();
    let mut by_owner: BTreeMap<Owner, Vec<PodSpec>> = BTreeMap::new();
    for pod in g.pods {
        let Some(node_name) = pod.node.as_deref() else {
            unscheduled.push(format!("{}/{}", pod.namespace, pod.name));
            continue;
        };
        match nodes.get_mut(node_name) {
            Some(node) => add(&mut node.requested, pod.effective_request),
            None => unknown_node.push(format!("{}/{} on {node_name}", pod.namespace, pod.name)),
        }
        by_owner.entry(pod.owner.clone()).or_default().push(pod);
    }
    if !unscheduled.is_empty() {
        warnings.push(format!(
            "{} pod(s) not scheduled, left out: {}",
            unscheduled.len(),
            unscheduled.join(", ")
        ));
    }
    if !unknown_node.is_empty() {
        warnings.push(format!(
            "{} pod(s) on nodes not in the node list: {}",
            unknown_node.len(),
            unknown_node.join(", ")
        ));
    }

    let mut workloads = Vec::new();
    for (owner, pods) in by_owner {
        let mut containers: Vec<ContainerResources> = Vec::new();
        // Container name → (CPU samples, largest memory sample).
        let mut samples: BTreeMap<String, (Vec<u64>, u64)> = BTreeMap::new();
        for pod in &pods {
            let usage =
                pod_usage.as_ref().and_then(|u| u.get(&(pod.namespace.clone(), pod.name.clone())));
            for c in &pod.containers {
                let slot = match containers.iter_mut().find(|x| x.name == c.name) {
                    Some(slot) => slot,
                    None => {
                        containers.push(ContainerResources {
                            name: c.name.clone(),
                            ..Default::default()
                        });
                        let last = containers.len() - 1;
                        &mut containers[last]
                    }
                };
                slot.requests.cpu_millicores =
                    slot.requests.cpu_millicores.max(c.requests.cpu_millicores);
                slot.requests.memory_bytes =
                    slot.requests.memory_bytes.max(c.requests.memory_bytes);
                if let Some(l) = c.limits {
                    let cur = slot.limits.get_or_insert(l);
                    cur.cpu_millicores = cur.cpu_millicores.max(l.cpu_millicores);
                    cur.memory_bytes = cur.memory_bytes.max(l.memory_bytes);
                }
                if let Some(u) = usage.and_then(|u| u.get(&c.name)) {
                    let s = samples.entry(c.name.clone()).or_default();
                    s.0.push(u.cpu_millicores);
                    s.1 = s.1.max(u.memory_bytes);
                }
            }
        }
        for c in &mut containers {
            let sampled = samples.get_mut(&c.name).and_then(|(cpu, memory)| {
                let replicas = u32::try_from(cpu.len()).unwrap_or(u32::MAX);
                p95(cpu)
                    .map(|cpu| (Resources { cpu_millicores: cpu, memory_bytes: *memory }, replicas))
            });
            let known =
                history.as_ref().and_then(|h| from_history(h, &owner.namespace, &pods, &c.name));
            (c.usage, c.usage_source) = match (known, sampled) {
                (Some((usage, points, days)), sample) => {
                    with_history += 1;
                    let newer = sample.map_or(0, |(s, _)| s.memory_bytes);
                    let usage = Resources { memory_bytes: usage.memory_bytes.max(newer), ..usage };
                    (Some(usage), Some(UsageSource::Prometheus { points, days }))
                }
                (None, sample) => {
                    if history.is_some() {
                        without_history
                            .push(format!("{}/{}/{}", owner.namespace, owner.name, c.name));
                    }
                    match sample {
                        Some((usage, samples)) => {
                            (Some(usage), Some(UsageSource::MetricsServer { samples }))
                        }
                        None => (None, None),
                    }
                }
            };
        }
        let network =
            history.as_ref().and_then(|h| network_from_history(h, &owner.namespace, &pods));
        workloads.push(Workload {
            namespace: owner.namespace,
            kind: owner.kind,
            name: owner.name,
            replicas: u32::try_from(pods.len()).unwrap_or(u32::MAX),
            containers,
            network,
        });
    }

    if let Some(h) = &history
        && !without_history.is_empty()
        && !history_failed
    {
        const SHOWN: usize = 5;
        let more = without_history.len().saturating_sub(SHOWN);
        without_history.truncate(SHOWN);
        warnings.push(format!(
            "Prometheus {} has no history for {} of {} containers, which keep metrics-server's single sample: {}{}",
            h.url,
            without_history.len() + more,
            with_history + without_history.len() + more,
            without_history.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        ));
    }

    let mut cluster = Cluster {
        name: g.name,
        nodes: nodes.into_values().collect(),
        workloads,
        ..Default::default()
    };
    let (extra_warnings, extras_partial) = g.extras.into_cluster(&mut cluster);
    warnings.extend(extra_warnings);
    Collected {
        cluster,
        as_of: g.as_of,
        partial: partial || history_failed || extras_partial,
        requests_only: partial,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p95_is_nearest_rank() {
        assert_eq!(p95(&mut []), None);
        assert_eq!(p95(&mut [7]), Some(7));
        assert_eq!(p95(&mut [3, 1, 2]), Some(3));
        let mut many: Vec<u64> = (1..=100).collect();
        assert_eq!(p95(&mut many), Some(95));
    }
}
