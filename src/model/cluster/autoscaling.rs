//! HorizontalPodAutoscalers (autoscaling/v2): which workload each one scales and the resource
//! utilization it holds the pods at.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Autoscaler {
    pub namespace: String,
    pub name: String,
    /// `spec.scaleTargetRef.kind` and `.name`, e.g. `Deployment` `web`.
    pub target_kind: String,
    pub target_name: String,
    pub min_replicas: u32,
    pub max_replicas: u32,
    /// Resource metrics of type `Utilization`: percent of the pods' requests.
    pub cpu_target_percent: Option<u32>,
    pub memory_target_percent: Option<u32>,
}
