//! metrics.k8s.io v1beta1: `NodeMetricsList` and `PodMetricsList` (metrics-server's one sample
//! per node and per container), read into usage per node and per pod container.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::quantity::{bytes, millicores};
use crate::model::cluster::Resources;

#[derive(Debug, Default, Deserialize)]
struct Meta {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListMeta {
    #[serde(rename = "continue")]
    continue_token: Option<String>,
}

/// One page of a metrics list.
#[derive(Debug, Deserialize)]
pub struct MetricsList<T> {
    #[serde(default)]
    metadata: ListMeta,
    #[serde(default = "Vec::new")]
    items: Vec<T>,
}

impl MetricsList<NodeMetrics> {
    /// The latest sample time of the list, so a dump reads "as of" when it was taken.
    pub fn latest_timestamp(&self) -> Option<DateTime<Utc>> {
        self.items.iter().filter_map(|i| i.timestamp).max()
    }
}

impl<T> MetricsList<T> {
    /// The continue token of a paginated list, when there is more.
    pub fn continue_token(&self) -> Option<&str> {
        self.metadata.continue_token.as_deref().filter(|t| !t.is_empty())
    }
}

#[derive(Debug, Deserialize)]
pub struct NodeMetrics {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    usage: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub struct ContainerMetrics {
    #[serde(default)]
    name: String,
    #[serde(default)]
    usage: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub struct PodMetrics {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    containers: Vec<ContainerMetrics>,
}

/// Node name → usage.
pub type NodeUsage = BTreeMap<String, Resources>;
/// (namespace, pod) → container name → usage.
pub type PodUsage = BTreeMap<(String, String), BTreeMap<String, Resources>>;

fn usage(map: &BTreeMap<String, String>, what: &str) -> Result<Resources, String> {
    let cpu = map
        .get("cpu")
        .map(|v| millicores(v))
        .transpose()
        .map_err(|e| format!("{what}: cpu {e}"))?;
    let memory = map
        .get("memory")
        .map(|v| bytes(v))
        .transpose()
        .map_err(|e| format!("{what}: memory {e}"))?;
    Ok(Resources { cpu_millicores: cpu.unwrap_or(0), memory_bytes: memory.unwrap_or(0) })
}

/// Adds a page of node metrics to `out`.
pub fn node_usage(list: MetricsList<NodeMetrics>, out: &mut NodeUsage) -> Result<(), String> {
    for item in list.items {
        let u = usage(&item.usage, &format!("node {}", item.metadata.name))?;
        out.insert(item.metadata.name, u);
    }
    Ok(())
}

/// Adds a page of pod metrics to `out`.
pub fn pod_usage(list: MetricsList<PodMetrics>, out: &mut PodUsage) -> Result<(), String> {
    for item in list.items {
        let Meta { name, namespace } = item.metadata;
        let mut containers = BTreeMap::new();
        for c in item.containers {
            let u = usage(&c.usage, &format!("pod {namespace}/{name}, container {}", c.name))?;
            containers.insert(c.name, u);
        }
        out.insert((namespace, name), containers);
    }
    Ok(())
}
