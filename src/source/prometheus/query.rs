//! PromQL for usage history, as krr's simple strategy asks it (robusta-dev/krr,
//! `core/integrations/prometheus/metrics/{cpu,memory}.py`): per pod and container, the 95th
//! percentile of the CPU rate and the maximum working set over the lookback, and the number of
//! points behind them. One query covers many pods of a namespace (a pod-name regex), not one
//! container at a time.

/// What a query measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Measure {
    /// Cores, 95th percentile of the per-step rate.
    CpuP95,
    /// Bytes, the largest working set.
    MemoryMax,
    /// Points of the memory series over the lookback (how much history there is).
    Points,
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
pub fn promql(measure: Measure, namespace: &str, pods: &[&str], lookback_days: u32) -> String {
    let selector = format!(
        "namespace=\"{}\",pod=~\"{}\",container!=\"\",container!=\"POD\"",
        string_literal(namespace),
        pods.iter().map(|p| regex_literal(p)).collect::<Vec<_>>().join("|")
    );
    let step = format!("{}m", STEP_SECONDS / 60);
    let range = format!("[{lookback_days}d:{step}]");
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
}
