//! `--prometheus URL`: per-container usage history for Kubernetes workloads, CPU at the 95th
//! percentile and memory at the maximum over the lookback (krr's simple strategy), and per pod
//! the busiest 5-minute network rates received and sent. What
//! Prometheus cannot answer is a failure message, never an error: the cluster keeps
//! metrics-server's sample for what is missing.

pub mod http;
pub mod query;
pub mod response;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use self::http::Endpoint;
use self::query::{Measure, PODS_PER_QUERY, STEP_SECONDS, promql};

/// The environment variable holding a bearer token for Prometheus (never logged).
pub const TOKEN_ENV: &str = "COSTSCOPE_PROMETHEUS_TOKEN";
/// How long one query may take, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(60);
/// Queries in flight at once: enough to hide latency, few enough to spare the server.
pub const CONCURRENCY: usize = 4;

/// Where and how far back to read history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryConfig {
    pub url: String,
    pub lookback_days: u32,
    pub token: Option<String>,
    pub timeout: Duration,
}

impl HistoryConfig {
    /// `url` with the token from [`TOKEN_ENV`] when it is set; a lookback of 0 means one day.
    pub fn new(url: &str, lookback_days: u32) -> HistoryConfig {
        HistoryConfig {
            url: url.to_string(),
            lookback_days: lookback_days.max(1),
            token: std::env::var(TOKEN_ENV).ok().filter(|t| !t.trim().is_empty()),
            timeout: TIMEOUT,
        }
    }
}

/// One container of one pod, as Prometheus saw it over the lookback.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ContainerHistory {
    /// Rounded up, as Kubernetes rounds quantities.
    pub cpu_p95_millicores: Option<u64>,
    pub memory_max_bytes: Option<u64>,
    /// Points of the memory series (one per step the container existed).
    pub points: u64,
}

/// (namespace, pod, container) → history.
pub type HistoryMap = BTreeMap<(String, String, String), ContainerHistory>;

/// One pod's network over the lookback: each figure absent when Prometheus had no series for
/// it (not zero: a pod without the metric has unknown traffic).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PodNetworkHistory {
    /// Bytes per second, the largest 5-minute rate.
    pub rx_max_bytes_per_second: Option<f64>,
    pub tx_max_bytes_per_second: Option<f64>,
    /// Points of the receive-rate series (one per step the pod was measured).
    pub points: u64,
}

/// (namespace, pod) → network history.
pub type NetworkMap = BTreeMap<(String, String), PodNetworkHistory>;

/// What Prometheus answered for a cluster's pods.
#[derive(Clone, Debug, PartialEq)]
pub struct History {
    pub url: String,
    pub lookback_days: u32,
    pub step_seconds: u32,
    pub containers: HistoryMap,
    pub pods: NetworkMap,
    /// Queries sent, and why those that failed did.
    pub queries: usize,
    pub failures: Vec<String>,
    /// Values that were NaN, ±Inf or not numbers, left out.
    pub not_finite: usize,
}

impl History {
    /// One line about failed queries, if any: how many, and the first reason.
    pub fn failure_summary(&self) -> Option<String> {
        let first = self.failures.first()?;
        let all = self.failures.len() == self.queries;
        Some(if all {
            format!("Prometheus {} failed: {first}", self.url.trim_end_matches('/'))
        } else {
            format!(
                "Prometheus {}: {} of {} queries failed (first: {first})",
                self.url.trim_end_matches('/'),
                self.failures.len(),
                self.queries
            )
        })
    }
}

fn millicores(cores: f64) -> Option<u64> {
    (cores >= 0.0).then(|| (cores * 1000.0).ceil() as u64)
}

fn whole(value: f64) -> Option<u64> {
    (value >= 0.0).then(|| value.ceil() as u64)
}

/// Reads the history of `pods` ((namespace, pod name) pairs) from Prometheus, as of `at` (a
/// dump's time) or now. Every failure is in [`History::failures`].
pub async fn fetch(
    config: &HistoryConfig,
    pods: &[(String, String)],
    at: Option<DateTime<Utc>>,
) -> History {
    let mut history = History {
        url: config.url.clone(),
        lookback_days: config.lookback_days,
        step_seconds: STEP_SECONDS,
        containers: HistoryMap::new(),
        pods: NetworkMap::new(),
        queries: 0,
        failures: Vec::new(),
        not_finite: 0,
    };
    let endpoint = match Endpoint::new(&config.url, config.token.clone(), config.timeout) {
        Ok(e) => e,
        Err(e) => {
            history.queries = 1;
            history.failures.push(e);
            return history;
        }
    };
    let mut by_namespace: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (namespace, pod) in pods {
        by_namespace.entry(namespace).or_default().push(pod);
    }
    let mut queries = Vec::new();
    for (namespace, names) in &by_namespace {
        for chunk in names.chunks(PODS_PER_QUERY) {
            for measure in Measure::ALL {
                queries.push((
                    *namespace,
                    measure,
                    promql(measure, namespace, chunk, config.lookback_days),
                ));
            }
        }
    }
    history.queries = queries.len();
    let time = at.map(|t| t.timestamp());
    let endpoint = &endpoint;
    let mut answers =
        futures_util::stream::iter(queries.into_iter().map(|(namespace, measure, q)| async move {
            let answer = endpoint.query(&q, time).await.and_then(|body| response::vector(&body));
            (namespace, measure, answer)
        }))
        .buffer_unordered(CONCURRENCY);
    while let Some((namespace, measure, answer)) = answers.next().await {
        let (samples, not_finite) = match answer {
            Ok(a) => a,
            Err(e) => {
                tracing::debug!(url = %endpoint.query_url(), namespace, "Prometheus query failed: {e}");
                history.failures.push(e);
                continue;
            }
        };
        history.not_finite += not_finite;
        for s in samples {
            if measure.per_pod() {
                let Some(pod) = s.labels.get("pod") else { continue };
                let slot = history.pods.entry((namespace.to_string(), pod.clone())).or_default();
                // A negative rate is a counter's artefact, not traffic: left unknown.
                let rate = (s.value >= 0.0).then_some(s.value);
                match measure {
                    Measure::NetworkRxMax => slot.rx_max_bytes_per_second = rate,
                    Measure::NetworkTxMax => slot.tx_max_bytes_per_second = rate,
                    _ => slot.points = whole(s.value).unwrap_or(0),
                }
                continue;
            }
            let (Some(pod), Some(container)) = (s.labels.get("pod"), s.labels.get("container"))
            else {
                continue;
            };
            let key = (namespace.to_string(), pod.clone(), container.clone());
            let slot = history.containers.entry(key).or_default();
            match measure {
                Measure::CpuP95 => slot.cpu_p95_millicores = millicores(s.value),
                Measure::MemoryMax => slot.memory_max_bytes = whole(s.value),
                Measure::Points => slot.points = whole(s.value).unwrap_or(0),
                // Per pod, handled above.
                Measure::NetworkRxMax | Measure::NetworkTxMax | Measure::NetworkPoints => {}
            }
        }
    }
    tracing::info!(
        url = %config.url,
        queries = history.queries,
        failed = history.failures.len(),
        containers = history.containers.len(),
        pods_with_network = history.pods.len(),
        "Prometheus history read"
    );
    history
}

/// [`fetch`] from synchronous code: on its own thread and runtime, like the live cluster reader.
pub fn fetch_blocking(
    config: &HistoryConfig,
    pods: &[(String, String)],
    at: Option<DateTime<Utc>>,
) -> History {
    let failed = |message: String| History {
        url: config.url.clone(),
        lookback_days: config.lookback_days,
        step_seconds: STEP_SECONDS,
        containers: HistoryMap::new(),
        pods: NetworkMap::new(),
        queries: 1,
        failures: vec![message],
        not_finite: 0,
    };
    crate::source::block_on_own_runtime(|| fetch(config, pods, at))
        .unwrap_or_else(|e| failed(format!("Prometheus: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_up_and_refuse_negatives() {
        assert_eq!(millicores(0.0012), Some(2));
        assert_eq!(millicores(0.25), Some(250));
        assert_eq!(millicores(-0.1), None);
        assert_eq!(whole(6_791_168.2), Some(6_791_169));
        assert_eq!(whole(-1.0), None);
    }

    #[test]
    fn failures_are_summed_up_with_the_first_reason() {
        let mut h = History {
            url: "http://p:9090".into(),
            lookback_days: 14,
            step_seconds: STEP_SECONDS,
            containers: HistoryMap::new(),
            pods: NetworkMap::new(),
            queries: 6,
            failures: vec![],
            not_finite: 0,
        };
        assert_eq!(h.failure_summary(), None);
        h.failures = vec!["HTTP 503".into(), "HTTP 503".into()];
        assert_eq!(
            h.failure_summary().as_deref(),
            Some("Prometheus http://p:9090: 2 of 6 queries failed (first: HTTP 503)")
        );
        h.queries = 2;
        assert_eq!(
            h.failure_summary().as_deref(),
            Some("Prometheus http://p:9090 failed: HTTP 503")
        );
    }
}
