//! CloudWatch utilization of one region: hourly CPU (average and maximum) and network per
//! instance, bytes through each NAT gateway, over the lookback, in batches of up to 500 queries
//! per GetMetricData call.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime as AwsDateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use chrono::{DateTime, Utc};

use super::{ApiFailure, to_chrono};
use crate::model::utilization::UtilizationSummary;

/// GetMetricData's limit of queries per request.
const MAX_QUERIES: usize = 500;
const HOUR: i32 = 3600;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Series {
    CpuAverage,
    CpuMaximum,
    NetworkIn,
    NetworkOut,
    NatBytesOut,
}

impl Series {
    const INSTANCE: [Series; 4] =
        [Series::CpuAverage, Series::CpuMaximum, Series::NetworkIn, Series::NetworkOut];

    fn metric(self) -> (&'static str, &'static str, &'static str, &'static str) {
        // (namespace, metric, dimension, statistic)
        match self {
            Series::CpuAverage => ("AWS/EC2", "CPUUtilization", "InstanceId", "Average"),
            Series::CpuMaximum => ("AWS/EC2", "CPUUtilization", "InstanceId", "Maximum"),
            Series::NetworkIn => ("AWS/EC2", "NetworkIn", "InstanceId", "Sum"),
            Series::NetworkOut => ("AWS/EC2", "NetworkOut", "InstanceId", "Sum"),
            Series::NatBytesOut => {
                ("AWS/NATGateway", "BytesOutToDestination", "NatGatewayId", "Sum")
            }
        }
    }
}

/// The hourly points of one series of one resource.
type Points = Vec<(DateTime<Utc>, f64)>;

/// Utilization of the given instances and NAT gateways over `[start, end)`. Resources without
/// any data point still get a summary (zero points), so rules can say "not enough data".
pub async fn utilization(
    client: &Client,
    instance_ids: &[String],
    nat_gateway_ids: &[String],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    lookback_days: u32,
) -> Result<Vec<UtilizationSummary>, ApiFailure> {
    let mut wanted: Vec<(&str, Series)> = Vec::new();
    for id in instance_ids {
        wanted.extend(Series::INSTANCE.iter().map(|s| (id.as_str(), *s)));
    }
    wanted.extend(nat_gateway_ids.iter().map(|id| (id.as_str(), Series::NatBytesOut)));

    let mut points: HashMap<(&str, Series), Points> = HashMap::new();
    for batch in wanted.chunks(MAX_QUERIES) {
        let queries = batch.iter().enumerate().map(|(i, (id, series))| query(i, id, *series));
        let mut pages = client
            .get_metric_data()
            .set_metric_data_queries(Some(queries.collect()))
            .start_time(AwsDateTime::from_secs(start.timestamp()))
            .end_time(AwsDateTime::from_secs(end.timestamp()))
            .scan_by(ScanBy::TimestampAscending)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| ApiFailure::new("CloudWatch", "GetMetricData", e))?;
            for result in page.metric_data_results() {
                let Some(index) = result.id().and_then(|id| id.strip_prefix('q')?.parse().ok())
                else {
                    continue;
                };
                let Some(key) = batch.get::<usize>(index) else { continue };
                let series = points.entry(*key).or_default();
                for (t, v) in result.timestamps().iter().zip(result.values()) {
                    if let Some(t) = to_chrono(t)
                        && v.is_finite()
                    {
                        series.push((t, *v));
                    }
                }
            }
        }
    }

    let mut out = Vec::new();
    for id in instance_ids {
        let get = |s: Series| points.get(&(id.as_str(), s)).map(Vec::as_slice).unwrap_or(&[]);
        out.push(instance_summary(
            id,
            get(Series::CpuAverage),
            get(Series::CpuMaximum),
            get(Series::NetworkIn),
            get(Series::NetworkOut),
            lookback_days,
        ));
    }
    for id in nat_gateway_ids {
        let bytes = points.get(&(id.as_str(), Series::NatBytesOut)).map(Vec::as_slice);
        out.push(nat_summary(id, bytes.unwrap_or(&[]), lookback_days));
    }
    Ok(out)
}

fn query(index: usize, resource_id: &str, series: Series) -> MetricDataQuery {
    let (namespace, metric, dimension, stat) = series.metric();
    MetricDataQuery::builder()
        .id(format!("q{index}"))
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace(namespace)
                        .metric_name(metric)
                        .dimensions(Dimension::builder().name(dimension).value(resource_id).build())
                        .build(),
                )
                .period(HOUR)
                .stat(stat)
                .build(),
        )
        .return_data(true)
        .build()
}

fn days_covered(points: &[(DateTime<Utc>, f64)]) -> u32 {
    let days: BTreeSet<_> = points.iter().map(|(t, _)| t.date_naive()).collect();
    u32::try_from(days.len()).unwrap_or(u32::MAX)
}

/// The 95th percentile by nearest rank, the way CloudWatch's `p95` reads hourly values.
pub fn p95(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted: Vec<f64> = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (0.95 * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.saturating_sub(1)).copied()
}

fn per_day(points: &[(DateTime<Utc>, f64)]) -> Option<f64> {
    let days = days_covered(points);
    (days > 0).then(|| points.iter().map(|(_, v)| v).sum::<f64>() / f64::from(days))
}

fn instance_summary(
    id: &str,
    cpu_average: &[(DateTime<Utc>, f64)],
    cpu_maximum: &[(DateTime<Utc>, f64)],
    network_in: &[(DateTime<Utc>, f64)],
    network_out: &[(DateTime<Utc>, f64)],
    lookback_days: u32,
) -> UtilizationSummary {
    let averages: Vec<f64> = cpu_average.iter().map(|(_, v)| *v).collect();
    let mean = (!averages.is_empty()).then(|| averages.iter().sum::<f64>() / averages.len() as f64);
    let max = cpu_maximum.iter().map(|(_, v)| *v).chain(averages.iter().copied()).reduce(f64::max);
    UtilizationSummary {
        resource_id: id.to_string(),
        lookback_days,
        days_covered: days_covered(cpu_average),
        data_points: u32::try_from(cpu_average.len()).unwrap_or(u32::MAX),
        cpu_avg_percent: mean,
        cpu_p95_percent: p95(&averages),
        cpu_max_percent: max,
        memory_p95_percent: None,
        network_in_bytes_per_day: per_day(network_in),
        network_out_bytes_per_day: per_day(network_out),
        bytes_processed: None,
        ..Default::default()
    }
}

fn nat_summary(id: &str, bytes: &[(DateTime<Utc>, f64)], lookback_days: u32) -> UtilizationSummary {
    UtilizationSummary {
        resource_id: id.to_string(),
        lookback_days,
        days_covered: days_covered(bytes),
        data_points: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
        bytes_processed: (!bytes.is_empty()).then(|| bytes.iter().map(|(_, v)| v).sum()),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32, hour: u32, v: f64) -> (DateTime<Utc>, f64) {
        (Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).single().unwrap_or_default(), v)
    }

    #[test]
    fn p95_is_the_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(p95(&values), Some(95.0));
        assert_eq!(p95(&[3.0]), Some(3.0));
        assert_eq!(p95(&[]), None);
        assert_eq!(p95(&[1.0, 9.0]), Some(9.0));
    }

    #[test]
    fn instance_summary_counts_points_days_and_traffic_per_day() {
        let cpu = [at(1, 0, 2.0), at(1, 1, 4.0), at(2, 0, 6.0)];
        let max = [at(1, 0, 10.0), at(1, 1, 30.0), at(2, 0, 20.0)];
        let net_in = [at(1, 0, 1e6), at(2, 0, 3e6)];
        let s = instance_summary("i-1", &cpu, &max, &net_in, &[], 14);
        assert_eq!((s.data_points, s.days_covered, s.lookback_days), (3, 2, 14));
        assert_eq!(s.cpu_avg_percent, Some(4.0));
        assert_eq!(s.cpu_p95_percent, Some(6.0));
        assert_eq!(s.cpu_max_percent, Some(30.0));
        assert_eq!(s.network_in_bytes_per_day, Some(2e6));
        // Not measured is absent, never zero.
        assert_eq!(s.network_out_bytes_per_day, None);
        let empty = instance_summary("i-2", &[], &[], &[], &[], 14);
        assert_eq!((empty.data_points, empty.cpu_p95_percent), (0, None));
    }

    #[test]
    fn nat_summary_sums_bytes_over_the_window() {
        let s = nat_summary("nat-1", &[at(1, 0, 5e8), at(3, 0, 5e8)], 14);
        assert_eq!((s.bytes_processed, s.days_covered, s.data_points), (Some(1e9), 2, 2));
        assert_eq!(nat_summary("nat-2", &[], 14).bytes_processed, None);
    }
}
