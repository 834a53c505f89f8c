//! HorizontalPodAutoscalers (autoscaling/v2) into the model: the workload each one scales and
//! its CPU and memory utilization targets.

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;

use crate::model::cluster::Autoscaler;

pub fn from_kube_hpa(h: &HorizontalPodAutoscaler) -> Autoscaler {
    let spec = h.spec.as_ref();
    let target = |resource: &str| {
        spec.and_then(|s| s.metrics.as_deref())
            .unwrap_or_default()
            .iter()
            .filter(|m| m.type_ == "Resource")
            .filter_map(|m| m.resource.as_ref())
            .filter(|r| r.name == resource && r.target.type_ == "Utilization")
            .find_map(|r| r.target.average_utilization)
            .and_then(|p| u32::try_from(p).ok())
            .filter(|p| *p > 0)
    };
    Autoscaler {
        namespace: h.metadata.namespace.clone().unwrap_or_default(),
        name: h.metadata.name.clone().unwrap_or_default(),
        target_kind: spec.map(|s| s.scale_target_ref.kind.clone()).unwrap_or_default(),
        target_name: spec.map(|s| s.scale_target_ref.name.clone()).unwrap_or_default(),
        // The API's default minimum is 1.
        min_replicas: spec
            .and_then(|s| s.min_replicas)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(1),
        max_replicas: spec.and_then(|s| u32::try_from(s.max_replicas).ok()).unwrap_or(0),
        cpu_target_percent: target("cpu"),
        memory_target_percent: target("memory"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utilization_targets() {
        let h: HorizontalPodAutoscaler = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "maxReplicas": 10,
                     "metrics": [
                        {"type": "Resource", "resource": {"name": "cpu",
                          "target": {"type": "Utilization", "averageUtilization": 70}}},
                        {"type": "Resource", "resource": {"name": "memory",
                          "target": {"type": "AverageValue", "averageValue": "500Mi"}}}
                     ]}
        }))
        .unwrap();
        let a = from_kube_hpa(&h);
        assert_eq!((a.target_kind.as_str(), a.target_name.as_str()), ("Deployment", "web"));
        assert_eq!((a.min_replicas, a.max_replicas), (1, 10));
        assert_eq!((a.cpu_target_percent, a.memory_target_percent), (Some(70), None));
    }
}
