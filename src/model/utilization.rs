//! Per-resource utilization summaries over a lookback window.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What the metrics said about one resource. Absent fields were not measured; rules must not
/// read an absent value as zero.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UtilizationSummary {
    pub resource_id: String,
    /// Length of the window asked for.
    pub lookback_days: u32,
    /// Distinct days that had at least one data point.
    pub days_covered: u32,
    /// Hourly data points seen.
    pub data_points: u32,
    pub cpu_avg_percent: Option<f64>,
    pub cpu_p95_percent: Option<f64>,
    pub cpu_max_percent: Option<f64>,
    pub memory_p95_percent: Option<f64>,
    /// EC2: hours whose average CPU was below `idle_cpu_below_percent`, scaled to a 168-hour
    /// week over the hours measured (idle hours × 168 / hourly points), so 14 days with 80 idle
    /// hours read 40 a week.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_hours_per_week: Option<f64>,
    /// The threshold those hours were counted under, so a finding can say what "idle" meant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_cpu_below_percent: Option<f64>,
    pub network_in_bytes_per_day: Option<f64>,
    pub network_out_bytes_per_day: Option<f64>,
    /// NAT gateways and load balancers: bytes processed over the whole window.
    pub bytes_processed: Option<f64>,
    /// Databases, caches, warehouses: the most client connections seen in any hour
    /// (RDS and Redshift DatabaseConnections, ElastiCache CurrConnections; Maximum).
    pub connections_max: Option<f64>,
    /// RDS: the least FreeableMemory seen in any hour (Minimum), bytes.
    pub freeable_memory_min_bytes: Option<f64>,
    /// OpenSearch: the highest SearchRate and IndexingRate of any hour (Maximum, per minute).
    pub search_rate_max: Option<f64>,
    pub indexing_rate_max: Option<f64>,
    /// DynamoDB: consumed capacity units per second in the busiest hour (hourly Sum / 3600)…
    pub read_units_peak_per_second: Option<f64>,
    pub write_units_peak_per_second: Option<f64>,
    /// …and consumed over the whole window.
    pub read_units_total: Option<f64>,
    pub write_units_total: Option<f64>,
    /// EBS: read plus write operations per second in the busiest hour (its average)…
    pub io_ops_peak_per_second: Option<f64>,
    /// …and over the whole window.
    pub io_ops_total: Option<f64>,
    /// Load balancers: the most requests (ALB RequestCount) or new flows (NLB NewFlowCount) of
    /// any day measured, a day without a point counting as zero…
    pub requests_day_max: Option<f64>,
    pub new_flows_day_max: Option<f64>,
    /// …and the most healthy targets of any hour (HealthyHostCount, Maximum, summed over
    /// target groups).
    pub healthy_hosts_max: Option<f64>,
    /// Lambda: invocations, errors and the summed duration over the whole window (Lambda
    /// publishes nothing for an hour without invocations, so a function asked about and never
    /// invoked has zero, not absent)…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invocations_total: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors_total: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_total_ms: Option<f64>,
    /// …and the longest single invocation (Duration, Maximum), milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_max_ms: Option<f64>,
    /// S3: bytes per storage type (StandardStorage, StandardIAStorage, GlacierStorage…) on the
    /// last day measured, and on the first day (the bytes at least `storage_days_span` old,
    /// unless objects were deleted since).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub storage_bytes: BTreeMap<String, f64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub storage_bytes_first: BTreeMap<String, f64>,
    /// Days between the first and the last daily storage point.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_days_span: Option<u32>,
    /// S3: NumberOfObjects (AllStorageTypes) on the last day measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects: Option<f64>,
}
