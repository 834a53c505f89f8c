//! PromQL for usage history, as krr's simple strategy asks it (robusta-dev/krr,
//! `core/integrations/prometheus/metrics/{cpu,memory}.py`): per pod and container, the 95th
//! percentile of the CPU rate and the maximum working set over the lookback, and the number of
//! points behind them. One query covers many pods of a namespace (a pod-name regex), not one
//! container at a time. Beside krr's measures, the network a pod received and sent (cAdvisor's
//! pod-level `container_network_*_bytes_total`), for `k8s-workload-abandoned`.

/// What a query measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Measure {
    /// Cores, 95th percentile of the per-step rate.
    CpuP95,
    /// Bytes, the largest working set.
    MemoryMax,
    /// Points of the memory series over the lookback (how much history there is).
    Points,
    /// Bytes per second received by a pod, the largest 5-minute rate over the lookback.
    NetworkRxMax,
    /// Bytes per second sent by a pod, likewise.
    NetworkTxMax,
    /// Points of the pod's receive-rate series over the lookback.
    NetworkPoints,
}

impl Measure {
    /// The measures asked for each chunk of pods, in order.
    pub const ALL: [Measure; 6] = [
        Measure::CpuP95,
        Measure::MemoryMax,
        Measure::Points,
        Measure::NetworkRxMax,
        Measure::NetworkTxMax,
        Measure::NetworkPoints,
    ];

    /// Whether the answer is per pod (network) rather than per container.
    pub fn per_pod(self) -> bool {
        matches!(self, Measure::NetworkRxMax | Measure::NetworkTxMax | Measure::NetworkPoints)
    }
}

/// The resolution of the subqueries and the CPU rate window. krr uses 1.25 minutes; five keeps
/// the rate defined at the common 1-minute scrape interval and a 14-day subquery at 4 032
/// points per series, which a busy Prometheus answers in seconds.
pub const STEP_SECONDS: u32 = 300;

/// Pods per query: a regex of names keeps the request and the answer bounded.
pub const PODS_PER_QUERY: usize = 40;

/// Escapes a name for a PromQL regex inside a double-quoted string (pod names are DNS labels,
/// so only `.` matters in practice; the rest is for names that break the rules).
fn regex_literal(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '.' | '+' | '*' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '^' | '$' => {
                out.push_str("\\\\");
                out.push(c);
            }
            '\\' => out.push_str("\\\\\\\\"),
            '"' => out.push_str("\\\""),
            _ => out.push(c),
        }
    }
    out
}

fn string_literal(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The query for `measure` over the pods `pods` of `namespace`, `lookback_days` back.
///
/// Series are kept per (container, pod): the maximum across scrape jobs stands in for krr's
/// job filter (cAdvisor scraped twice gives the same figures twice). `container!=""` drops the
/// pod-level cgroup series and `container!="POD"` the pause container of older runtimes.
///
/// Network is the other way round: cAdvisor counts it for the pod's network namespace only (the
/// pod-level series, `container=""` or `"POD"`), one series per interface. The maximum per
/// (pod, interface) drops the duplicates (the pod cgroup and the pause container report the
/// same namespace; a second scrape job the same figures), then the interfaces are summed.
pub fn promql(measure: Measure, namespace: &str, pods: &[&str], lookback_days: u32) -> String {
    let pod_selector = format!(
        "namespace=\"{}\",pod=~\"{}\"",
        string_literal(namespace),
        pods.iter().map(|p| regex_literal(p)).collect::<Vec<_>>().join("|")
    );
    let selector = format!("{pod_selector},container!=\"\",container!=\"POD\"");
    let step = format!("{}m", STEP_SECONDS / 60);
    let range = format!("[{lookback_days}d:{step}]");
    let network = |metric: &str| {
        format!("sum(max(rate({metric}{{{pod_selector}}}[{step}])) by (pod, interface)) by (pod)")
    };
    match measure {
        Measure::CpuP95 => format!(
            "quantile_over_time(0.95, max(rate(container_cpu_usage_seconds_total{{{selector}}}[{step}])) by (container, pod){range})"
        ),
        Measure::MemoryMax => format!(
            "max_over_time(max(container_memory_working_set_bytes{{{selector}}}) by (container, pod){range})"
        ),
        Measure::Points => format!(
            "count_over_time(max(container_memory_working_set_bytes{{{selector}}}) by (container, pod){range})"
        ),
        Measure::NetworkRxMax => {
            format!("max_over_time({}{range})", network("container_network_receive_bytes_total"))
        }
        Measure::NetworkTxMax => {
            format!("max_over_time({}{range})", network("container_network_transmit_bytes_total"))
        }
        Measure::NetworkPoints => {
            format!("count_over_time({}{range})", network("container_network_receive_bytes_total"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_krrs_per_namespace_with_a_pod_regex() {
        let q = promql(Measure::CpuP95, "kube-system", &["coredns-674b8bbfcf-nkzz6", "a.b"], 14);
        assert_eq!(
            q,
            r#"quantile_over_time(0.95, max(rate(container_cpu_usage_seconds_total{namespace="kube-system",pod=~"coredns-674b8bbfcf-nkzz6|a\\.b",container!="",container!="POD"}[5m])) by (container, pod)[14d:5m])"#
        );
        let q = promql(Measure::MemoryMax, "default", &["web-1"], 7);
        assert_eq!(
            q,
            r#"max_over_time(max(container_memory_working_set_bytes{namespace="default",pod=~"web-1",container!="",container!="POD"}) by (container, pod)[7d:5m])"#
        );
        assert!(promql(Measure::Points, "ns", &["p"], 14).starts_with("count_over_time(max("));
        assert!(promql(Measure::Points, "n\"s", &["p"], 14).contains(r#"namespace="n\"s""#));
    }

    #[test]
    fn network_is_the_busiest_5m_rate_of_the_pod_level_series() {
        let q = promql(Measure::NetworkRxMax, "shop", &["api-1"], 7);
        assert_eq!(
            q,
            r#"max_over_time(sum(max(rate(container_network_receive_bytes_total{namespace="shop",pod=~"api-1"}[5m])) by (pod, interface)) by (pod)[7d:5m])"#
        );
        let q = promql(Measure::NetworkTxMax, "shop", &["api-1"], 7);
        assert!(q.contains("container_network_transmit_bytes_total"), "{q}");
        assert!(!q.contains("container!="), "network series are pod-level: {q}");
        let q = promql(Measure::NetworkPoints, "shop", &["api-1"], 14);
        assert!(q.starts_with("count_over_time(sum(max(rate(container_network_receive"), "{q}");
        assert!(q.ends_with("[14d:5m])"), "{q}");
        assert!(Measure::NetworkPoints.per_pod() && !Measure::Points.per_pod());
    }
}
