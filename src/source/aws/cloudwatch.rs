//! CloudWatch utilization of one region, in batches of up to 500 queries per GetMetricData
//! call, hourly over the lookback: CPU (average, maximum, and the idle hours of a week) and
//! network per instance, bytes
//! through each NAT gateway, and for the databases CPU, connections, RDS freeable memory,
//! OpenSearch search and indexing rates, DynamoDB consumed capacity, EBS read and write operations
//! of attached volumes; for load balancers requests (ALB) or new flows (NLB), bytes processed and
//! healthy hosts per target group, for classic load balancers requests and healthy hosts
//! (AWS/ELB, by LoadBalancerName). Summaries are keyed by the resource's inventory id (the ARN for
//! databases, load balancers, functions and buckets), whatever dimension CloudWatch names it by.
//! Lambda functions (invocations, errors, duration) are read hourly too; S3 buckets daily, the
//! only period their storage metrics have.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime as AwsDateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use chrono::{DateTime, Utc};

use super::{ApiFailure, to_chrono};
use crate::model::inventory::load_balancer::target_group_dimension;
use crate::model::inventory::{InstanceState, Inventory, LoadBalancerType, VolumeState};
use crate::model::utilization::UtilizationSummary;

/// GetMetricData's limit of queries per request.
const MAX_QUERIES: usize = 500;
const HOUR: i32 = 3600;
/// EBS operations are read in hourly sums like the rest, so a peak is the busiest hour's average
/// IOPS: bursts inside the hour are not seen, and the rules leave room for them. Five-minute
/// sums over 14 days are 12 times the points; LocalStack's GetMetricData did not answer them
/// within the SDK's 60 s timeout for four volumes.
const VOLUME_PERIOD: i32 = HOUR;

/// An instance hour whose average CPU is below this is an idle hour (ec2-offhours). Fixed at
/// collection, since the snapshot keeps summaries, not the hourly series; it is written beside
/// the count so a rule asking for a stricter threshold can tell it was not measured that way.
pub const IDLE_CPU_PERCENT: f64 = 5.0;
const HOURS_PER_WEEK: f64 = 168.0;

/// A resource CloudWatch names otherwise than the inventory does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named {
    /// The inventory id (ARN) the summary is keyed by.
    pub id: String,
    /// The dimension value CloudWatch knows it by.
    pub name: String,
}

/// An ElastiCache cache and the CacheClusterIds of its nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheNodes {
    pub id: String,
    pub node_ids: Vec<String>,
}

/// An application, network or classic load balancer: CloudWatch's LoadBalancer dimension (a
/// classic one's LoadBalancerName) and the TargetGroup dimension of each of its target groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Balancer {
    pub id: String,
    pub network: bool,
    pub classic: bool,
    pub name: String,
    pub target_groups: Vec<String>,
}

/// What to ask CloudWatch about in one region.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Targets {
    /// OpenSearch metrics carry the account as their ClientId dimension.
    pub account_id: String,
    pub instances: Vec<String>,
    pub nat_gateways: Vec<String>,
    pub db_instances: Vec<Named>,
    pub cache_clusters: Vec<CacheNodes>,
    pub search_domains: Vec<Named>,
    pub redshift_clusters: Vec<Named>,
    pub dynamodb_tables: Vec<Named>,
    /// EBS volumes attached to an instance (a detached volume does no I/O to measure).
    pub volumes: Vec<String>,
    pub load_balancers: Vec<Balancer>,
    pub lambda_functions: Vec<Named>,
    /// S3 buckets by name (their inventory id is the ARN).
    pub s3_buckets: Vec<Named>,
}

impl Targets {
    /// What of one region's inventory can have metrics: running instances, available NAT
    /// gateways, DB instances that are not stopped, Redshift clusters that are not paused, every
    /// cache, domain and table, and application, network and classic load balancers (gateway
    /// load balancers publish under AWS/GatewayELB, not read).
    pub fn of(inventory: &Inventory, account_id: &str) -> Targets {
        let named = |id: &str, name: &str| Named { id: id.to_string(), name: name.to_string() };
        Targets {
            account_id: account_id.to_string(),
            instances: inventory
                .instances
                .iter()
                .filter(|i| i.state == InstanceState::Running)
                .map(|i| i.id.clone())
                .collect(),
            nat_gateways: inventory
                .nat_gateways
                .iter()
                .filter(|n| n.state == "available")
                .map(|n| n.id.clone())
                .collect(),
            db_instances: inventory
                .db_instances
                .iter()
                .filter(|d| !matches!(d.status.as_str(), "stopped" | "stopping" | "deleting"))
                .map(|d| named(&d.id, &d.name))
                .collect(),
            cache_clusters: inventory
                .cache_clusters
                .iter()
                .filter(|c| !c.node_ids.is_empty())
                .map(|c| CacheNodes { id: c.id.clone(), node_ids: c.node_ids.clone() })
                .collect(),
            search_domains: inventory
                .search_domains
                .iter()
                .map(|d| named(&d.id, &d.name))
                .collect(),
            redshift_clusters: inventory
                .redshift_clusters
                .iter()
                .filter(|r| r.status != "paused")
                .map(|r| named(&r.id, &r.name))
                .collect(),
            dynamodb_tables: inventory
                .dynamodb_tables
                .iter()
                .map(|t| named(&t.id, &t.name))
                .collect(),
            volumes: inventory
                .volumes
                .iter()
                .filter(|v| v.state == VolumeState::InUse)
                .map(|v| v.id.clone())
                .collect(),
            load_balancers: inventory
                .load_balancers
                .iter()
                .filter(|l| l.lb_type != LoadBalancerType::Gateway)
                .filter_map(|l| {
                    Some(Balancer {
                        id: l.id.clone(),
                        network: l.lb_type == LoadBalancerType::Network,
                        classic: l.lb_type == LoadBalancerType::Classic,
                        name: l.metric_dimension()?.to_string(),
                        target_groups: l
                            .target_groups
                            .iter()
                            .filter_map(|g| target_group_dimension(g).map(str::to_string))
                            .collect(),
                    })
                })
                .collect(),
            lambda_functions: inventory
                .lambda_functions
                .iter()
                .map(|f| named(&f.id, &f.name))
                .collect(),
            s3_buckets: inventory.s3_buckets.iter().map(|b| named(&b.id, &b.name)).collect(),
        }
    }

    /// The Lambda functions and S3 buckets, taken out: they are read over a longer window than
    /// the rest (30 days of invocations say "unused"; storage is daily).
    pub fn take_long_window(&mut self) -> Targets {
        Targets {
            account_id: self.account_id.clone(),
            lambda_functions: std::mem::take(&mut self.lambda_functions),
            s3_buckets: std::mem::take(&mut self.s3_buckets),
            ..Default::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
            && self.nat_gateways.is_empty()
            && self.db_instances.is_empty()
            && self.cache_clusters.is_empty()
            && self.search_domains.is_empty()
            && self.redshift_clusters.is_empty()
            && self.dynamodb_tables.is_empty()
            && self.volumes.is_empty()
            && self.load_balancers.is_empty()
            && self.lambda_functions.is_empty()
            && self.s3_buckets.is_empty()
    }
}

/// What a series measures, whatever the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Signal {
    CpuAverage,
    CpuMaximum,
    NetworkIn,
    NetworkOut,
    BytesOut,
    Connections,
    FreeableMemory,
    SearchRate,
    IndexingRate,
    ReadUnits,
    WriteUnits,
    /// A provisioned table's read capacity: published every hour the table exists, where the
    /// consumed units have points only for hours with traffic.
    ProvisionedReads,
    /// EBS VolumeReadOps and VolumeWriteOps per period.
    ReadOps,
    WriteOps,
    Requests,
    NewFlows,
    ProcessedBytes,
    HealthyHosts,
    Invocations,
    Errors,
    DurationTotal,
    DurationMaximum,
    /// BucketSizeBytes of one StorageType.
    BucketBytes(&'static str),
    Objects,
}

impl Signal {
    /// How the hourly values of several nodes of one cache make the cache's value: connections
    /// and consumed units add up, free memory is the least of any, the rest the most of any.
    fn merge(self, a: f64, b: f64) -> f64 {
        match self {
            Signal::Connections
            | Signal::ReadUnits
            | Signal::WriteUnits
            | Signal::ReadOps
            | Signal::WriteOps
            | Signal::HealthyHosts => a + b,
            Signal::FreeableMemory => a.min(b),
            _ => a.max(b),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Instance,
    NatGateway,
    Database,
    Cache,
    Search,
    Warehouse,
    Table,
    Volume,
    AppBalancer,
    NetBalancer,
    ClassicBalancer,
    Function,
    Bucket,
}

/// The period of a kind's queries, seconds.
fn period(kind: Kind) -> i32 {
    match kind {
        Kind::Volume => VOLUME_PERIOD,
        Kind::Bucket => DAY,
        _ => HOUR,
    }
}

/// The S3 storage types asked about per bucket (BucketSizeBytes' StorageType dimension).
pub const S3_STORAGE_TYPES: [&str; 10] = [
    "StandardStorage",
    "StandardIAStorage",
    "OneZoneIAStorage",
    "ReducedRedundancyStorage",
    "GlacierInstantRetrievalStorage",
    "GlacierStorage",
    "DeepArchiveStorage",
    "IntelligentTieringFAStorage",
    "IntelligentTieringIAStorage",
    "IntelligentTieringAIAStorage",
];

const DAY: i32 = 86_400;

/// (signal, metric, statistic) of each kind; the namespace and dimensions come with the target.
fn series(kind: Kind) -> &'static [(Signal, &'static str, &'static str)] {
    const CPU: [(Signal, &str, &str); 2] = [
        (Signal::CpuAverage, "CPUUtilization", "Average"),
        (Signal::CpuMaximum, "CPUUtilization", "Maximum"),
    ];
    match kind {
        Kind::Instance => &[
            CPU[0],
            CPU[1],
            (Signal::NetworkIn, "NetworkIn", "Sum"),
            (Signal::NetworkOut, "NetworkOut", "Sum"),
        ],
        Kind::NatGateway => &[(Signal::BytesOut, "BytesOutToDestination", "Sum")],
        Kind::Database => &[
            CPU[0],
            CPU[1],
            (Signal::Connections, "DatabaseConnections", "Maximum"),
            (Signal::FreeableMemory, "FreeableMemory", "Minimum"),
        ],
        Kind::Cache => &[CPU[0], CPU[1], (Signal::Connections, "CurrConnections", "Maximum")],
        Kind::Search => &[
            CPU[0],
            CPU[1],
            (Signal::SearchRate, "SearchRate", "Maximum"),
            (Signal::IndexingRate, "IndexingRate", "Maximum"),
        ],
        Kind::Warehouse => {
            &[CPU[0], CPU[1], (Signal::Connections, "DatabaseConnections", "Maximum")]
        }
        Kind::Table => &[
            (Signal::ReadUnits, "ConsumedReadCapacityUnits", "Sum"),
            (Signal::WriteUnits, "ConsumedWriteCapacityUnits", "Sum"),
            (Signal::ProvisionedReads, "ProvisionedReadCapacityUnits", "Average"),
        ],
        Kind::Volume => &[
            (Signal::ReadOps, "VolumeReadOps", "Sum"),
            (Signal::WriteOps, "VolumeWriteOps", "Sum"),
        ],
        Kind::AppBalancer => &[
            (Signal::Requests, "RequestCount", "Sum"),
            (Signal::ProcessedBytes, "ProcessedBytes", "Sum"),
        ],
        Kind::NetBalancer => &[
            (Signal::NewFlows, "NewFlowCount", "Sum"),
            (Signal::ProcessedBytes, "ProcessedBytes", "Sum"),
        ],
        // A classic load balancer publishes HealthyHostCount per load balancer (and per zone),
        // not per target group: asked beside its requests.
        Kind::ClassicBalancer => &[
            (Signal::Requests, "RequestCount", "Sum"),
            (Signal::HealthyHosts, "HealthyHostCount", "Maximum"),
        ],
        // Duration's Sum rather than its Average: the GB-seconds billed follow the total, and
        // an average would need weighting by each hour's invocations.
        Kind::Function => &[
            (Signal::Invocations, "Invocations", "Sum"),
            (Signal::Errors, "Errors", "Sum"),
            (Signal::DurationTotal, "Duration", "Sum"),
            (Signal::DurationMaximum, "Duration", "Maximum"),
        ],
        // Asked one StorageType at a time, in `asks`.
        Kind::Bucket => &[],
    }
}

/// One query: whose, what, and the metric it reads.
struct Ask {
    owner: usize,
    signal: Signal,
    namespace: &'static str,
    metric: &'static str,
    stat: &'static str,
    period: i32,
    dimensions: Vec<(&'static str, String)>,
}

/// The hourly points of one series of one resource.
type Points = Vec<(DateTime<Utc>, f64)>;

/// Every query for `targets`, and whose each is (inventory id and kind).
fn asks(targets: &Targets) -> (Vec<(String, Kind)>, Vec<Ask>) {
    let mut owners: Vec<(String, Kind)> = Vec::new();
    let mut asks = Vec::new();
    let mut per_group = Vec::new();
    let mut add =
        |id: &str, kind: Kind, namespace: &'static str, dims: Vec<Vec<(&'static str, String)>>| {
            let owner = owners.len();
            owners.push((id.to_string(), kind));
            for dimensions in dims {
                for (signal, metric, stat) in series(kind) {
                    asks.push(Ask {
                        owner,
                        signal: *signal,
                        namespace,
                        metric,
                        stat,
                        period: period(kind),
                        dimensions: dimensions.clone(),
                    });
                }
            }
            owner
        };
    for id in &targets.instances {
        add(id, Kind::Instance, "AWS/EC2", vec![vec![("InstanceId", id.clone())]]);
    }
    for id in &targets.nat_gateways {
        add(id, Kind::NatGateway, "AWS/NATGateway", vec![vec![("NatGatewayId", id.clone())]]);
    }
    for d in &targets.db_instances {
        add(&d.id, Kind::Database, "AWS/RDS", vec![vec![("DBInstanceIdentifier", d.name.clone())]]);
    }
    for c in &targets.cache_clusters {
        let nodes = c.node_ids.iter().map(|n| vec![("CacheClusterId", n.clone())]).collect();
        add(&c.id, Kind::Cache, "AWS/ElastiCache", nodes);
    }
    for d in &targets.search_domains {
        let dims = vec![("DomainName", d.name.clone()), ("ClientId", targets.account_id.clone())];
        add(&d.id, Kind::Search, "AWS/ES", vec![dims]);
    }
    for r in &targets.redshift_clusters {
        add(
            &r.id,
            Kind::Warehouse,
            "AWS/Redshift",
            vec![vec![("ClusterIdentifier", r.name.clone())]],
        );
    }
    for t in &targets.dynamodb_tables {
        add(&t.id, Kind::Table, "AWS/DynamoDB", vec![vec![("TableName", t.name.clone())]]);
    }
    for id in &targets.volumes {
        add(id, Kind::Volume, "AWS/EBS", vec![vec![("VolumeId", id.clone())]]);
    }
    for b in targets.load_balancers.iter().filter(|b| b.classic) {
        let dims = vec![vec![("LoadBalancerName", b.name.clone())]];
        add(&b.id, Kind::ClassicBalancer, "AWS/ELB", dims);
    }
    for b in targets.load_balancers.iter().filter(|b| !b.classic) {
        let (kind, namespace) = if b.network {
            (Kind::NetBalancer, "AWS/NetworkELB")
        } else {
            (Kind::AppBalancer, "AWS/ApplicationELB")
        };
        let owner = add(&b.id, kind, namespace, vec![vec![("LoadBalancer", b.name.clone())]]);
        // HealthyHostCount exists only per target group (with the load balancer beside it).
        for group in &b.target_groups {
            per_group.push(Ask {
                owner,
                signal: Signal::HealthyHosts,
                namespace,
                metric: "HealthyHostCount",
                stat: "Maximum",
                period: period(kind),
                dimensions: vec![("TargetGroup", group.clone()), ("LoadBalancer", b.name.clone())],
            });
        }
    }
    for f in &targets.lambda_functions {
        add(&f.id, Kind::Function, "AWS/Lambda", vec![vec![("FunctionName", f.name.clone())]]);
    }
    asks.extend(per_group);
    for b in &targets.s3_buckets {
        let owner = owners.len();
        owners.push((b.id.clone(), Kind::Bucket));
        let daily = |signal, metric, storage_type: &str| Ask {
            owner,
            signal,
            namespace: "AWS/S3",
            metric,
            stat: "Average",
            dimensions: vec![
                ("BucketName", b.name.clone()),
                ("StorageType", storage_type.to_string()),
            ],
            period: DAY,
        };
        for storage_type in S3_STORAGE_TYPES {
            asks.push(daily(Signal::BucketBytes(storage_type), "BucketSizeBytes", storage_type));
        }
        asks.push(daily(Signal::Objects, "NumberOfObjects", "AllStorageTypes"));
    }
    (owners, asks)
}

/// Utilization of `targets` over `[start, end)`. Resources without any data point still get a
/// summary (zero points), so rules can say "not enough data".
pub async fn utilization(
    client: &Client,
    targets: &Targets,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    lookback_days: u32,
) -> Result<Vec<UtilizationSummary>, ApiFailure> {
    let (owners, asks) = asks(targets);
    let mut points: Vec<Points> = asks.iter().map(|_| Points::new()).collect();
    for (batch_index, batch) in asks.chunks(MAX_QUERIES).enumerate() {
        let offset = batch_index * MAX_QUERIES;
        let queries = batch.iter().enumerate().map(|(i, ask)| query(i, ask));
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
                let Some(index) = result
                    .id()
                    .and_then(|id| id.strip_prefix('q')?.parse::<usize>().ok())
                    .filter(|i| *i < batch.len())
                else {
                    continue;
                };
                let Some(series) = points.get_mut(offset + index) else { continue };
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

    // Per owner and signal, the hourly points of all its series (one, or one per cache node).
    let mut merged: Vec<HashMap<Signal, Points>> = owners.iter().map(|_| HashMap::new()).collect();
    for (ask, series) in asks.iter().zip(points) {
        if let Some(by_signal) = merged.get_mut(ask.owner) {
            let entry = by_signal.entry(ask.signal).or_default();
            *entry = merge(ask.signal, entry, &series);
        }
    }
    Ok(owners
        .iter()
        .zip(merged)
        .map(|((id, kind), signals)| summary(id, *kind, &signals, lookback_days))
        .collect())
}

/// Two series of one signal as one: hour by hour, by the signal's rule.
fn merge(signal: Signal, a: &[(DateTime<Utc>, f64)], b: &[(DateTime<Utc>, f64)]) -> Points {
    if a.is_empty() {
        return b.to_vec();
    }
    let mut hours: BTreeMap<DateTime<Utc>, f64> = a.iter().copied().collect();
    for (t, v) in b {
        hours.entry(*t).and_modify(|x| *x = signal.merge(*x, *v)).or_insert(*v);
    }
    hours.into_iter().collect()
}

fn summary(
    id: &str,
    kind: Kind,
    signals: &HashMap<Signal, Points>,
    lookback_days: u32,
) -> UtilizationSummary {
    let get = |s: Signal| signals.get(&s).map(Vec::as_slice).unwrap_or(&[]);
    match kind {
        Kind::Instance => {
            let mut s = instance_summary(
                id,
                get(Signal::CpuAverage),
                get(Signal::CpuMaximum),
                get(Signal::NetworkIn),
                get(Signal::NetworkOut),
                lookback_days,
            );
            s.idle_hours_per_week = idle_hours_per_week(get(Signal::CpuAverage), IDLE_CPU_PERCENT);
            s.idle_cpu_below_percent = s.idle_hours_per_week.map(|_| IDLE_CPU_PERCENT);
            s
        }
        Kind::NatGateway => nat_summary(id, get(Signal::BytesOut), lookback_days),
        Kind::Volume => {
            volume_summary(id, get(Signal::ReadOps), get(Signal::WriteOps), lookback_days)
        }
        Kind::AppBalancer | Kind::NetBalancer | Kind::ClassicBalancer => {
            balancer_summary(id, kind, &get, lookback_days)
        }
        Kind::Function => function_summary(id, &get, lookback_days),
        Kind::Bucket => bucket_summary(id, &get, lookback_days),
        _ => service_summary(id, kind, &get, lookback_days),
    }
}

fn max(points: &[(DateTime<Utc>, f64)]) -> Option<f64> {
    points.iter().map(|(_, v)| *v).reduce(f64::max)
}

fn sum(points: &[(DateTime<Utc>, f64)]) -> Option<f64> {
    (!points.is_empty()).then(|| points.iter().map(|(_, v)| v).sum())
}

/// Databases, caches, domains, warehouses and tables. Points and days are counted on CPU, or
/// for a table on the hours with any consumed capacity (read or write).
fn service_summary<'a>(
    id: &str,
    kind: Kind,
    get: &dyn Fn(Signal) -> &'a [(DateTime<Utc>, f64)],
    lookback_days: u32,
) -> UtilizationSummary {
    let mut s = instance_summary(
        id,
        get(Signal::CpuAverage),
        get(Signal::CpuMaximum),
        &[],
        &[],
        lookback_days,
    );
    s.network_in_bytes_per_day = None;
    s.network_out_bytes_per_day = None;
    if kind == Kind::Table {
        let consumed = merge(Signal::ReadUnits, get(Signal::ReadUnits), get(Signal::WriteUnits));
        let hours = merge(Signal::ProvisionedReads, &consumed, get(Signal::ProvisionedReads));
        s.data_points = u32::try_from(hours.len()).unwrap_or(u32::MAX);
        s.days_covered = days_covered(&hours);
    }
    let per_second = f64::from(HOUR);
    s.connections_max = max(get(Signal::Connections));
    s.freeable_memory_min_bytes =
        get(Signal::FreeableMemory).iter().map(|(_, v)| *v).reduce(f64::min);
    s.search_rate_max = max(get(Signal::SearchRate));
    s.indexing_rate_max = max(get(Signal::IndexingRate));
    s.read_units_peak_per_second = max(get(Signal::ReadUnits)).map(|v| v / per_second);
    s.write_units_peak_per_second = max(get(Signal::WriteUnits)).map(|v| v / per_second);
    s.read_units_total = sum(get(Signal::ReadUnits));
    s.write_units_total = sum(get(Signal::WriteUnits));
    // DynamoDB publishes no consumed units for hours without traffic: a provisioned table
    // measured all along with none consumed read and wrote nothing, not "unknown".
    if kind == Kind::Table && !get(Signal::ProvisionedReads).is_empty() {
        for value in [
            &mut s.read_units_peak_per_second,
            &mut s.write_units_peak_per_second,
            &mut s.read_units_total,
            &mut s.write_units_total,
        ] {
            value.get_or_insert(0.0);
        }
    }
    s
}

fn query(index: usize, ask: &Ask) -> MetricDataQuery {
    let mut metric = Metric::builder().namespace(ask.namespace).metric_name(ask.metric);
    for (name, value) in &ask.dimensions {
        metric = metric.dimensions(Dimension::builder().name(*name).value(value).build());
    }
    MetricDataQuery::builder()
        .id(format!("q{index}"))
        .metric_stat(
            MetricStat::builder().metric(metric.build()).period(ask.period).stat(ask.stat).build(),
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

/// Hours whose average CPU is below `threshold`, per 168-hour week of the hours measured. An
/// hour without a point (the instance was stopped, or CloudWatch has a gap) is neither idle nor
/// busy: the week is scaled from the hours seen, so a stop-start schedule already in place does
/// not count as idle time to save.
fn idle_hours_per_week(cpu_average: &[(DateTime<Utc>, f64)], threshold: f64) -> Option<f64> {
    if cpu_average.is_empty() {
        return None;
    }
    let idle = cpu_average.iter().filter(|(_, v)| *v < threshold).count();
    Some(idle as f64 * HOURS_PER_WEEK / cpu_average.len() as f64)
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

/// Days are counted on any series (a load balancer with targets reports HealthyHostCount every
/// hour, where requests and flows have points only for hours with traffic). Over the days
/// measured, a day without a request or flow point had none.
fn balancer_summary<'a>(
    id: &str,
    kind: Kind,
    get: &dyn Fn(Signal) -> &'a [(DateTime<Utc>, f64)],
    lookback_days: u32,
) -> UtilizationSummary {
    let traffic = if kind == Kind::NetBalancer { Signal::NewFlows } else { Signal::Requests };
    let mut hours = merge(traffic, get(traffic), get(Signal::ProcessedBytes));
    hours = merge(Signal::HealthyHosts, &hours, get(Signal::HealthyHosts));
    let days = days_covered(&hours);
    let day_max = (days > 0).then(|| {
        let mut per_day: BTreeMap<chrono::NaiveDate, f64> = BTreeMap::new();
        for (t, v) in get(traffic) {
            *per_day.entry(t.date_naive()).or_default() += v;
        }
        per_day.into_values().fold(0.0, f64::max)
    });
    UtilizationSummary {
        resource_id: id.to_string(),
        lookback_days,
        days_covered: days,
        data_points: u32::try_from(hours.len()).unwrap_or(u32::MAX),
        bytes_processed: sum(get(Signal::ProcessedBytes)),
        requests_day_max: day_max.filter(|_| kind != Kind::NetBalancer),
        new_flows_day_max: day_max.filter(|_| kind == Kind::NetBalancer),
        healthy_hosts_max: max(get(Signal::HealthyHosts)),
        ..Default::default()
    }
}

/// A function asked about: Lambda writes no point for an hour without invocations, so no
/// points is zero invocations over the whole window, which therefore counts as covered.
fn function_summary<'a>(
    id: &str,
    get: &dyn Fn(Signal) -> &'a [(DateTime<Utc>, f64)],
    lookback_days: u32,
) -> UtilizationSummary {
    let invocations = get(Signal::Invocations);
    UtilizationSummary {
        resource_id: id.to_string(),
        lookback_days,
        days_covered: lookback_days,
        data_points: u32::try_from(invocations.len()).unwrap_or(u32::MAX),
        invocations_total: Some(sum(invocations).unwrap_or(0.0)),
        errors_total: Some(sum(get(Signal::Errors)).unwrap_or(0.0)),
        duration_total_ms: Some(sum(get(Signal::DurationTotal)).unwrap_or(0.0)),
        duration_max_ms: max(get(Signal::DurationMaximum)),
        ..Default::default()
    }
}

/// A bucket's daily storage: each storage type's bytes on the last and the first day it was
/// measured, the days between, and the object count of the last day. Types never measured
/// (the bucket holds none of that class) are left out.
fn bucket_summary<'a>(
    id: &str,
    get: &dyn Fn(Signal) -> &'a [(DateTime<Utc>, f64)],
    lookback_days: u32,
) -> UtilizationSummary {
    let mut s =
        UtilizationSummary { resource_id: id.to_string(), lookback_days, ..Default::default() };
    let mut all: Points = Vec::new();
    for storage_type in S3_STORAGE_TYPES {
        let mut points = get(Signal::BucketBytes(storage_type)).to_vec();
        points.sort_by_key(|(t, _)| *t);
        if let (Some(first), Some(last)) = (points.first(), points.last()) {
            s.storage_bytes_first.insert(storage_type.to_string(), first.1);
            s.storage_bytes.insert(storage_type.to_string(), last.1);
        }
        all.extend(points);
    }
    let first = all.iter().map(|(t, _)| *t).min();
    let last = all.iter().map(|(t, _)| *t).max();
    if let (Some(first), Some(last)) = (first, last) {
        s.storage_days_span = u32::try_from((last - first).num_days()).ok();
    }
    s.days_covered = days_covered(&all);
    s.data_points = s.days_covered;
    let mut objects = get(Signal::Objects).to_vec();
    objects.sort_by_key(|(t, _)| *t);
    s.objects = objects.last().map(|(_, v)| *v);
    s
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

/// An EBS volume: its busiest hour's operations per second and its operations over the window.
/// Points and days are counted on the periods with a read or a write point.
fn volume_summary(
    id: &str,
    reads: &[(DateTime<Utc>, f64)],
    writes: &[(DateTime<Utc>, f64)],
    lookback_days: u32,
) -> UtilizationSummary {
    let ops = merge(Signal::ReadOps, reads, writes);
    UtilizationSummary {
        resource_id: id.to_string(),
        lookback_days,
        days_covered: days_covered(&ops),
        data_points: u32::try_from(ops.len()).unwrap_or(u32::MAX),
        io_ops_peak_per_second: max(&ops).map(|v| v / f64::from(VOLUME_PERIOD)),
        io_ops_total: sum(&ops),
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
    fn idle_hours_are_counted_below_the_threshold_and_scaled_to_a_week() {
        // 336 hours (14 days): 80 under 5 % read 40 idle hours a week.
        let cpu: Vec<_> =
            (0..336u32).map(|h| at(1 + h / 24, h % 24, if h < 80 { 1.5 } else { 30.0 })).collect();
        assert_eq!(idle_hours_per_week(&cpu, 5.0), Some(40.0));
        // Exactly at the threshold is not idle.
        assert_eq!(idle_hours_per_week(&[at(1, 0, 5.0), at(1, 1, 4.9)], 5.0), Some(84.0));
        assert_eq!(idle_hours_per_week(&[], 5.0), None);
        let signals: HashMap<Signal, Points> =
            [(Signal::CpuAverage, cpu.clone())].into_iter().collect();
        let s = summary("i-1", Kind::Instance, &signals, 14);
        assert_eq!((s.idle_hours_per_week, s.idle_cpu_below_percent), (Some(40.0), Some(5.0)));
        // Not measured is absent, never zero; databases do not carry it.
        let s = summary("i-2", Kind::Instance, &HashMap::new(), 14);
        assert_eq!((s.idle_hours_per_week, s.idle_cpu_below_percent), (None, None));
        let s = summary("arn:db", Kind::Database, &signals, 14);
        assert_eq!(s.idle_hours_per_week, None);
    }

    #[test]
    fn nat_summary_sums_bytes_over_the_window() {
        let s = nat_summary("nat-1", &[at(1, 0, 5e8), at(3, 0, 5e8)], 14);
        assert_eq!((s.bytes_processed, s.days_covered, s.data_points), (Some(1e9), 2, 2));
        assert_eq!(nat_summary("nat-2", &[], 14).bytes_processed, None);
    }

    #[test]
    fn cache_nodes_merge_hour_by_hour() {
        let a = [at(1, 0, 10.0), at(1, 1, 50.0)];
        let b = [at(1, 0, 30.0), at(1, 2, 5.0)];
        assert_eq!(
            merge(Signal::CpuAverage, &a, &b),
            vec![at(1, 0, 30.0), at(1, 1, 50.0), at(1, 2, 5.0)]
        );
        assert_eq!(merge(Signal::Connections, &a, &b)[0], at(1, 0, 40.0));
        assert_eq!(merge(Signal::FreeableMemory, &a, &b)[0], at(1, 0, 10.0));
        assert_eq!(merge(Signal::CpuAverage, &[], &b), b.to_vec());
    }

    #[test]
    fn database_summaries_carry_connections_memory_rates_and_capacity() {
        let signals: HashMap<Signal, Points> = [
            (Signal::CpuAverage, vec![at(1, 0, 2.0), at(2, 0, 4.0)]),
            (Signal::CpuMaximum, vec![at(1, 0, 9.0)]),
            (Signal::Connections, vec![at(1, 0, 3.0), at(2, 0, 7.0)]),
            (Signal::FreeableMemory, vec![at(1, 0, 2e9), at(2, 0, 1e9)]),
        ]
        .into_iter()
        .collect();
        let s = summary("arn:db", Kind::Database, &signals, 14);
        assert_eq!((s.data_points, s.days_covered), (2, 2));
        assert_eq!((s.cpu_avg_percent, s.cpu_max_percent), (Some(3.0), Some(9.0)));
        assert_eq!((s.connections_max, s.freeable_memory_min_bytes), (Some(7.0), Some(1e9)));
        assert_eq!((s.search_rate_max, s.read_units_total), (None, None));

        let table: HashMap<Signal, Points> = [
            (Signal::ReadUnits, vec![at(1, 0, 3600.0), at(1, 1, 7200.0)]),
            (Signal::WriteUnits, vec![at(1, 1, 360.0), at(3, 5, 36.0)]),
        ]
        .into_iter()
        .collect();
        let t = summary("arn:table", Kind::Table, &table, 14);
        // Hours with reads or writes: 3, on 2 days; no CPU for a table.
        assert_eq!((t.data_points, t.days_covered, t.cpu_avg_percent), (3, 2, None));
        assert_eq!(t.read_units_peak_per_second, Some(2.0));
        assert_eq!(t.write_units_peak_per_second, Some(0.1));
        assert_eq!((t.read_units_total, t.write_units_total), (Some(10800.0), Some(396.0)));

        let domain: HashMap<Signal, Points> = [
            (Signal::SearchRate, vec![at(1, 0, 12.0), at(1, 1, 30.0)]),
            (Signal::IndexingRate, vec![at(1, 0, 0.0)]),
        ]
        .into_iter()
        .collect();
        let d = summary("arn:domain", Kind::Search, &domain, 14);
        assert_eq!((d.search_rate_max, d.indexing_rate_max), (Some(30.0), Some(0.0)));
        // Nothing measured: absent, never zero.
        let empty = summary("arn:cache", Kind::Cache, &HashMap::new(), 14);
        assert_eq!(
            (empty.data_points, empty.connections_max, empty.cpu_p95_percent),
            (0, None, None)
        );
    }

    #[test]
    fn queries_name_each_resource_as_cloudwatch_does() {
        let named = |id: &str, name: &str| Named { id: id.into(), name: name.into() };
        let targets = Targets {
            account_id: "111122223333".into(),
            db_instances: vec![named("arn:aws:rds:us-east-1:1:db:orders", "orders")],
            cache_clusters: vec![CacheNodes {
                id: "arn:group".into(),
                node_ids: vec!["g-001".into(), "g-002".into()],
            }],
            search_domains: vec![named("arn:aws:es:us-east-1:1:domain/logs", "logs")],
            dynamodb_tables: vec![named("arn:table", "events")],
            ..Default::default()
        };
        let (owners, asks) = asks(&targets);
        assert_eq!(owners.len(), 4);
        let of = |owner: usize| asks.iter().filter(move |a| a.owner == owner);
        assert!(of(0).all(|a| a.namespace == "AWS/RDS"
            && a.dimensions == [("DBInstanceIdentifier", "orders".to_string())]));
        assert!(of(0).any(|a| a.metric == "FreeableMemory" && a.stat == "Minimum"));
        // Three series for each of the two nodes.
        assert_eq!(of(1).count(), 6);
        assert!(of(1).any(|a| a.dimensions == [("CacheClusterId", "g-002".to_string())]));
        assert!(of(2).all(|a| a.dimensions
            == [("DomainName", "logs".to_string()), ("ClientId", "111122223333".to_string())]));
        assert!(of(3).all(|a| a.namespace == "AWS/DynamoDB"));
        assert_eq!(of(3).filter(|a| a.stat == "Sum").count(), 2);
        assert!(of(3).any(|a| a.metric == "ProvisionedReadCapacityUnits"));
    }

    #[test]
    fn volume_summaries_add_reads_and_writes_per_period() {
        // Hourly sums: 60,000 + 30,000 ops in the busiest hour are 25 IOPS.
        let reads = [at(1, 0, 60_000.0), at(2, 0, 300.0)];
        let writes = [at(1, 0, 30_000.0), at(3, 0, 0.0)];
        let s = volume_summary("vol-1", &reads, &writes, 14);
        assert_eq!((s.data_points, s.days_covered), (3, 3));
        assert_eq!(s.io_ops_peak_per_second, Some(25.0));
        assert_eq!(s.io_ops_total, Some(90_300.0));
        assert_eq!(s.cpu_avg_percent, None);
        let empty = volume_summary("vol-2", &[], &[], 14);
        assert_eq!(
            (empty.data_points, empty.io_ops_peak_per_second, empty.io_ops_total),
            (0, None, None)
        );
        let (owners, asks) = asks(&Targets { volumes: vec!["vol-1".into()], ..Default::default() });
        assert_eq!(owners.len(), 1);
        assert!(asks.iter().all(|a| a.namespace == "AWS/EBS"
            && a.period == VOLUME_PERIOD
            && a.stat == "Sum"
            && a.dimensions == [("VolumeId", "vol-1".to_string())]));
        assert_eq!(asks.len(), 2);
    }

    #[test]
    fn load_balancers_are_asked_by_arn_suffix_with_healthy_hosts_per_target_group() {
        let targets = Targets {
            load_balancers: vec![Balancer {
                id: "arn:lb".into(),
                network: false,
                classic: false,
                name: "app/web/1".into(),
                target_groups: vec!["targetgroup/a/1".into(), "targetgroup/b/2".into()],
            }],
            ..Default::default()
        };
        let (owners, asks) = asks(&targets);
        assert_eq!(owners, vec![("arn:lb".to_string(), Kind::AppBalancer)]);
        assert!(asks.iter().all(|a| a.namespace == "AWS/ApplicationELB"));
        assert!(asks.iter().any(|a| a.metric == "RequestCount"
            && a.dimensions == [("LoadBalancer", "app/web/1".to_string())]));
        let healthy: Vec<_> = asks.iter().filter(|a| a.metric == "HealthyHostCount").collect();
        assert_eq!(healthy.len(), 2);
        assert_eq!(
            healthy[1].dimensions,
            [("TargetGroup", "targetgroup/b/2".to_string()), ("LoadBalancer", "app/web/1".into())]
        );
    }

    /// Requests are summed per day; days with healthy hosts but no request had none.
    #[test]
    fn balancer_summaries_take_the_busiest_day_over_the_days_measured() {
        let alb: HashMap<Signal, Points> = [
            (Signal::Requests, vec![at(1, 0, 30.0), at(1, 5, 40.0), at(2, 0, 10.0)]),
            (Signal::HealthyHosts, vec![at(1, 0, 2.0), at(2, 0, 2.0), at(3, 0, 3.0)]),
            (Signal::ProcessedBytes, vec![at(1, 0, 1e6)]),
        ]
        .into_iter()
        .collect();
        let s = summary("arn:alb", Kind::AppBalancer, &alb, 14);
        assert_eq!((s.days_covered, s.data_points), (3, 4));
        assert_eq!((s.requests_day_max, s.new_flows_day_max), (Some(70.0), None));
        assert_eq!((s.healthy_hosts_max, s.bytes_processed), (Some(3.0), Some(1e6)));
        let quiet: HashMap<Signal, Points> =
            [(Signal::HealthyHosts, vec![at(1, 0, 1.0), at(9, 0, 1.0)])].into_iter().collect();
        let s = summary("arn:nlb", Kind::NetBalancer, &quiet, 14);
        assert_eq!((s.days_covered, s.new_flows_day_max, s.requests_day_max), (2, Some(0.0), None));
        // Nothing measured: absent, never zero.
        let s = summary("arn:nlb", Kind::NetBalancer, &HashMap::new(), 14);
        assert_eq!((s.days_covered, s.new_flows_day_max), (0, None));
    }

    /// A classic load balancer is asked under AWS/ELB by its name, healthy hosts beside its
    /// requests; its busiest day reads as requests.
    #[test]
    fn classic_load_balancers_are_asked_by_name_under_aws_elb() {
        let targets = Targets {
            load_balancers: vec![Balancer {
                id: "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/legacy".into(),
                network: false,
                classic: true,
                name: "legacy".into(),
                target_groups: vec![],
            }],
            ..Default::default()
        };
        let (owners, asks) = asks(&targets);
        assert_eq!(owners[0].1, Kind::ClassicBalancer);
        assert!(asks.iter().all(|a| a.namespace == "AWS/ELB"
            && a.dimensions == [("LoadBalancerName", "legacy".to_string())]));
        let metrics: Vec<_> = asks.iter().map(|a| (a.metric, a.stat)).collect();
        assert_eq!(metrics, [("RequestCount", "Sum"), ("HealthyHostCount", "Maximum")]);
        let clb: HashMap<Signal, Points> = [
            (Signal::Requests, vec![at(1, 0, 20.0), at(1, 3, 30.0)]),
            (Signal::HealthyHosts, vec![at(1, 0, 1.0), at(2, 0, 1.0)]),
        ]
        .into_iter()
        .collect();
        let s = summary("arn:clb", Kind::ClassicBalancer, &clb, 14);
        assert_eq!(
            (s.days_covered, s.requests_day_max, s.new_flows_day_max),
            (2, Some(50.0), None)
        );
        assert_eq!(s.healthy_hosts_max, Some(1.0));
    }

    /// DynamoDB writes no consumed-capacity points for hours without traffic: a provisioned
    /// table measured for two days with none is idle, with its days covered.
    #[test]
    fn a_provisioned_table_without_traffic_consumed_nothing() {
        let table: HashMap<Signal, Points> =
            [(Signal::ProvisionedReads, vec![at(1, 0, 100.0), at(1, 1, 100.0), at(2, 0, 100.0)])]
                .into_iter()
                .collect();
        let t = summary("arn:table", Kind::Table, &table, 14);
        assert_eq!((t.data_points, t.days_covered), (3, 2));
        assert_eq!((t.read_units_peak_per_second, t.write_units_total), (Some(0.0), Some(0.0)));
        // On demand (no provisioned series) and unmeasured: absent, never zero.
        let t = summary("arn:table", Kind::Table, &HashMap::new(), 14);
        assert_eq!((t.days_covered, t.read_units_peak_per_second), (0, None));
    }
}
