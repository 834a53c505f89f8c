//! `--kube-dump DIR`: the same cluster from files `kubectl` writes, for teams that will not give
//! a tool cluster access:
//!
//! ```text
//! kubectl get nodes -o json                              > DIR/nodes.json
//! kubectl get pods -A -o json                            > DIR/pods.json
//! kubectl get --raw /apis/metrics.k8s.io/v1beta1/nodes   > DIR/node-metrics.json
//! kubectl get --raw /apis/metrics.k8s.io/v1beta1/pods    > DIR/pod-metrics.json
//! ```
//!
//! and, each optional, what bills beside them:
//!
//! ```text
//! kubectl get pv -o json                                 > DIR/persistentvolumes.json
//! kubectl get pvc -A -o json                             > DIR/persistentvolumeclaims.json
//! kubectl get storageclasses -o json                     > DIR/storageclasses.json
//! kubectl get services -A -o json                        > DIR/services.json
//! kubectl get endpointslices -A -o json                  > DIR/endpointslices.json
//! kubectl get hpa.v2.autoscaling -A -o json              > DIR/horizontalpodautoscalers.json
//! ```
//!
//! The metrics files are optional: without them the analysis is requests-only, as when a live
//! cluster has no metrics API. The cluster is named after the directory.

use std::path::{Path, PathBuf};

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{
    Node as KubeNode, PersistentVolume, PersistentVolumeClaim, Pod, Service,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::storage::v1::StorageClass;
use serde::de::DeserializeOwned;

use super::extras::Extras;
use super::metrics::{self, MetricsList, NodeUsage, PodUsage};
use super::{Collected, Gathered, assemble, autoscalers, nodes, pods, services, storage};
use crate::source::prometheus::HistoryConfig;
use crate::source::{Result, SourceError};

pub const NODES: &str = "nodes.json";
pub const PODS: &str = "pods.json";
pub const NODE_METRICS: &str = "node-metrics.json";
pub const POD_METRICS: &str = "pod-metrics.json";
pub const VOLUMES: &str = "persistentvolumes.json";
pub const CLAIMS: &str = "persistentvolumeclaims.json";
pub const STORAGE_CLASSES: &str = "storageclasses.json";
pub const SERVICES: &str = "services.json";
pub const ENDPOINT_SLICES: &str = "endpointslices.json";
pub const AUTOSCALERS: &str = "horizontalpodautoscalers.json";

/// `kubectl … -o json` writes `kind: List` (or `NodeList`); only the items matter.
#[derive(serde::Deserialize)]
struct ItemList<T> {
    #[serde(default = "Vec::new")]
    items: Vec<T>,
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read(path)
        .map_err(|source| SourceError::Io { path: path.to_path_buf(), source })?;
    serde_json::from_slice(&text).map_err(|e| SourceError::Row {
        path: path.to_path_buf(),
        line: e.line() as u64,
        column: e.column().to_string(),
        message: e.to_string(),
    })
}

fn bad(path: &Path, message: String) -> SourceError {
    SourceError::File { path: path.to_path_buf(), message }
}

/// Reads a dump directory into one cluster.
pub fn read_dump(dir: &Path) -> Result<Collected> {
    read_dump_with(dir, None)
}

/// [`read_dump`], with usage history from Prometheus when `history` is given, as of the dump's
/// metrics time when there is one (the pods may be gone since; their history is not).
pub fn read_dump_with(dir: &Path, history: Option<&HistoryConfig>) -> Result<Collected> {
    let file = |name: &str| -> PathBuf { dir.join(name) };
    let path = file(NODES);
    let node_list: ItemList<KubeNode> = read_json(&path)?;
    let nodes = node_list
        .items
        .iter()
        .map(nodes::from_kube_node)
        .collect::<Result<Vec<_>, String>>()
        .map_err(|e| bad(&path, e))?;
    let path = file(PODS);
    let pod_list: ItemList<Pod> = read_json(&path)?;
    let mut specs = Vec::new();
    let mut extras = read_extras(dir)?;
    for pod in &pod_list.items {
        storage::mounts(pod, &mut extras.mounts);
        if let Some(spec) = pods::from_kube_pod(pod).map_err(|e| bad(&path, e))? {
            specs.push(spec);
        }
    }
    let (node_path, pod_path) = (file(NODE_METRICS), file(POD_METRICS));
    let metrics = if node_path.is_file() && pod_path.is_file() {
        let mut node_usage = NodeUsage::new();
        let list: MetricsList<metrics::NodeMetrics> = read_json(&node_path)?;
        let as_of = list.latest_timestamp();
        metrics::node_usage(list, &mut node_usage).map_err(|e| bad(&node_path, e))?;
        let mut pod_usage = PodUsage::new();
        let list: MetricsList<metrics::PodMetrics> = read_json(&pod_path)?;
        metrics::pod_usage(list, &mut pod_usage).map_err(|e| bad(&pod_path, e))?;
        Ok((node_usage, pod_usage, as_of))
    } else {
        Err(format!(
            "no metrics in {} ({NODE_METRICS} and {POD_METRICS} are both needed)",
            dir.display()
        ))
    };
    let as_of = metrics.as_ref().ok().and_then(|m| m.2);
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| dir.display().to_string());
    let gathered = Gathered {
        name,
        nodes,
        pods: specs,
        metrics: metrics.map(|(n, p, _)| (n, p)),
        as_of,
        history: None,
        extras,
    };
    Ok(assemble(gathered.with_history_blocking(history)))
}

/// The items of an optional file; `None` when the file is not there.
fn optional<T: DeserializeOwned>(path: &Path) -> Result<Option<Vec<T>>> {
    if !path.is_file() {
        return Ok(None);
    }
    read_json::<ItemList<T>>(path).map(|l| Some(l.items))
}

/// The optional files; a file that is there but unreadable is an error naming it, as for nodes.
fn read_extras(dir: &Path) -> Result<Extras> {
    let mut x = Extras::default();
    let path = dir.join(VOLUMES);
    for v in optional::<PersistentVolume>(&path)?.unwrap_or_default() {
        x.volumes.push(storage::from_kube_volume(&v).map_err(|e| bad(&path, e))?);
    }
    let path = dir.join(CLAIMS);
    for c in optional::<PersistentVolumeClaim>(&path)?.unwrap_or_default() {
        x.claims.push(storage::from_kube_claim(&c).map_err(|e| bad(&path, e))?);
    }
    let path = dir.join(STORAGE_CLASSES);
    x.storage_classes = optional::<StorageClass>(&path)?
        .unwrap_or_default()
        .iter()
        .map(storage::from_kube_storage_class)
        .collect();
    let path = dir.join(SERVICES);
    x.load_balancers = optional::<Service>(&path)?
        .unwrap_or_default()
        .iter()
        .filter_map(services::from_kube_service)
        .collect();
    let path = dir.join(ENDPOINT_SLICES);
    if let Some(slices) = optional::<EndpointSlice>(&path)? {
        let mut ready = services::ReadyEndpoints::new();
        for slice in &slices {
            services::count_ready(slice, &mut ready);
        }
        x.ready = Some(ready);
    }
    let path = dir.join(AUTOSCALERS);
    x.autoscalers = optional::<HorizontalPodAutoscaler>(&path)?
        .unwrap_or_default()
        .iter()
        .map(autoscalers::from_kube_hpa)
        .collect();
    Ok(x)
}
