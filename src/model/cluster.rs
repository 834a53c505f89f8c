//! Kubernetes cluster state: nodes and workloads with capacity, requests and usage, and what
//! bills beside them (volumes, load balancers) with the autoscalers that size workloads.

pub mod autoscaling;
pub mod services;
pub mod storage;

use serde::{Deserialize, Serialize};

use super::tags::Tags;
pub use autoscaling::Autoscaler;
pub use services::LoadBalancerService;
pub use storage::{PersistentVolume, StorageClass, VolumeClaim};

/// CPU in millicores and memory in bytes, as integers so quantities stay exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Resources {
    pub cpu_millicores: u64,
    pub memory_bytes: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Cluster {
    pub name: String,
    pub nodes: Vec<Node>,
    pub workloads: Vec<Workload>,
    // Read since issue 14; empty (and not written) when the cluster had none or the list was
    // forbidden, so older snapshots read unchanged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<PersistentVolume>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<VolumeClaim>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub storage_classes: Vec<StorageClass>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub load_balancers: Vec<LoadBalancerService>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub autoscalers: Vec<Autoscaler>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Node {
    pub name: String,
    /// `spec.providerID`, e.g. `aws:///us-east-1a/i-0abc…`.
    pub provider_id: Option<String>,
    pub instance_type: Option<String>,
    pub region: Option<String>,
    pub labels: Tags,
    pub allocatable: Resources,
    pub capacity: Resources,
    /// Sum of the requests of the pods scheduled on it.
    pub requested: Resources,
    /// From metrics.k8s.io; absent when no metrics API answered.
    pub usage: Option<Resources>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Workload {
    pub namespace: String,
    /// `Deployment`, `StatefulSet`, `DaemonSet`, `Job`, `CronJob` or `Pod`.
    pub kind: String,
    pub name: String,
    pub replicas: u32,
    pub containers: Vec<ContainerResources>,
    /// What its pods received and sent, from Prometheus (`--prometheus`); absent without it, and
    /// whenever some scheduled pod has no network series or shares the node's network
    /// (`hostNetwork`): no data is not zero traffic. Not written when absent, so older snapshots
    /// read unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<WorkloadNetwork>,
}

/// A workload's network traffic over the lookback, from cAdvisor's
/// `container_network_{receive,transmit}_bytes_total` (pod-level series, every interface).
///
/// Rates are the *busiest* 5-minute rate of the *busiest* pod: a workload used once a day for
/// ten minutes is not abandoned, and a 95th percentile would hide that use (5 % of a week is
/// 8.4 hours). The maximum is the cautious statistic for a rule that scales to zero.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkloadNetwork {
    /// Bytes per second received, the largest 5-minute rate over the lookback of any pod.
    pub rx_max_bytes_per_second: f64,
    /// Bytes per second sent, likewise.
    pub tx_max_bytes_per_second: f64,
    /// Days the longest-lived pod's series covers within the lookback (one decimal).
    pub days: f64,
    /// Points (5-minute steps) of the receive series over all pods.
    pub points: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContainerResources {
    pub name: String,
    pub requests: Resources,
    pub limits: Option<Resources>,
    /// Per replica; p95 CPU and max memory when history was available, else one sample.
    pub usage: Option<Resources>,
    /// Where `usage` comes from; absent in snapshots written before it was recorded (read as
    /// metrics-server samples).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_source: Option<UsageSource>,
}

/// Where a container's usage figures come from, so findings can say how much they rest on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum UsageSource {
    /// metrics-server's current sample of each of `samples` replicas: no history.
    MetricsServer { samples: u32 },
    /// Prometheus history: CPU p95 and memory max over `days` (the longest-lived replica's
    /// coverage within the lookback), from `points` points over all replicas.
    Prometheus { points: u64, days: f64 },
}
