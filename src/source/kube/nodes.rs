//! Nodes: a Kubernetes `Node` into the model's [`Node`], with its allocatable and capacity.

use k8s_openapi::api::core::v1::Node as KubeNode;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::quantity::{bytes, millicores};
use crate::model::Tags;
use crate::model::cluster::{Node, Resources};

/// Labels that name the instance type, newest first.
pub const INSTANCE_TYPE_LABELS: [&str; 2] =
    ["node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type"];
/// Labels that name the region, newest first.
pub const REGION_LABELS: [&str; 2] =
    ["topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region"];

/// CPU and memory of a resource list (`status.allocatable`, a container's `requests`); absent
/// entries are zero. The error names the entry and the bad value.
pub fn resources(
    list: Option<&std::collections::BTreeMap<String, Quantity>>,
) -> Result<Resources, String> {
    let Some(list) = list else { return Ok(Resources::default()) };
    let cpu = match list.get("cpu") {
        Some(q) => millicores(&q.0).map_err(|e| format!("cpu: {e}"))?,
        None => 0,
    };
    let memory = match list.get("memory") {
        Some(q) => bytes(&q.0).map_err(|e| format!("memory: {e}"))?,
        None => 0,
    };
    Ok(Resources { cpu_millicores: cpu, memory_bytes: memory })
}

/// Converts one node. Requests and usage are filled in later from pods and metrics.
pub fn from_kube_node(node: &KubeNode) -> Result<Node, String> {
    let name = node.metadata.name.clone().unwrap_or_default();
    let labels: Tags = node.metadata.labels.clone().unwrap_or_default();
    let first =
        |keys: &[&str]| keys.iter().find_map(|k| labels.get(*k)).filter(|v| !v.is_empty()).cloned();
    let status = node.status.as_ref();
    let allocatable = resources(status.and_then(|s| s.allocatable.as_ref()))
        .map_err(|e| format!("node {name}: allocatable {e}"))?;
    let capacity = resources(status.and_then(|s| s.capacity.as_ref()))
        .map_err(|e| format!("node {name}: capacity {e}"))?;
    Ok(Node {
        provider_id: node
            .spec
            .as_ref()
            .and_then(|s| s.provider_id.clone())
            .filter(|p| !p.is_empty()),
        instance_type: first(&INSTANCE_TYPE_LABELS),
        region: first(&REGION_LABELS),
        allocatable,
        capacity,
        requested: Resources::default(),
        usage: None,
        labels,
        name,
    })
}
