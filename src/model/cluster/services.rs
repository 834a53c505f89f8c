//! Kubernetes Services of type LoadBalancer: each one is a cloud load balancer billed by the hour,
//! whether or not any pod stands behind it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoadBalancerService {
    pub namespace: String,
    pub name: String,
    /// `spec.loadBalancerClass` (e.g. `service.k8s.aws/nlb`).
    pub load_balancer_class: Option<String>,
    /// The annotations that choose the load balancer (keys containing `load-balancer`).
    pub annotations: BTreeMap<String, String>,
    /// `status.loadBalancer.ingress`: hostnames or IPs; empty while none is provisioned.
    pub ingress: Vec<String>,
    /// Whether the Service selects pods (`spec.selector`); without one its endpoints are managed
    /// by hand and an empty list says less.
    pub has_selector: bool,
    /// Ready endpoints over its EndpointSlices; `None` when the slices could not be read.
    pub ready_endpoints: Option<u32>,
    pub created: Option<DateTime<Utc>>,
}
