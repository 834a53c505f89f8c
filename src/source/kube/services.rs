//! Services of type LoadBalancer into the model, with the ready endpoints of their
//! EndpointSlices (discovery.k8s.io/v1).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::storage::time;
use crate::model::cluster::LoadBalancerService;

/// The label an EndpointSlice names its Service with.
const SERVICE_NAME: &str = "kubernetes.io/service-name";

/// (namespace, service) → ready endpoints over its slices.
pub type ReadyEndpoints = BTreeMap<(String, String), u32>;

/// A Service of type LoadBalancer, else `None`. `ready_endpoints` is filled in by
/// [`attach_endpoints`].
pub fn from_kube_service(s: &Service) -> Option<LoadBalancerService> {
    let spec = s.spec.as_ref()?;
    if spec.type_.as_deref() != Some("LoadBalancer") {
        return None;
    }
    let annotations = s
        .metadata
        .annotations
        .iter()
        .flatten()
        .filter(|(k, _)| k.contains("load-balancer"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let ingress = s
        .status
        .as_ref()
        .and_then(|st| st.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_deref())
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i.hostname.clone().or_else(|| i.ip.clone()))
        .collect();
    Some(LoadBalancerService {
        namespace: s.metadata.namespace.clone().unwrap_or_default(),
        name: s.metadata.name.clone().unwrap_or_default(),
        load_balancer_class: spec.load_balancer_class.clone(),
        annotations,
        ingress,
        has_selector: spec.selector.as_ref().is_some_and(|m| !m.is_empty()),
        ready_endpoints: None,
        created: time(s.metadata.creation_timestamp.as_ref()),
    })
}

/// Adds a slice's ready endpoints to its Service's count. An endpoint whose `ready` condition
/// is absent counts as ready, as the API reference says consumers should read it.
pub fn count_ready(slice: &EndpointSlice, ready: &mut ReadyEndpoints) {
    let Some(service) = slice.metadata.labels.as_ref().and_then(|l| l.get(SERVICE_NAME)) else {
        return;
    };
    let namespace = slice.metadata.namespace.clone().unwrap_or_default();
    let n = slice
        .endpoints
        .iter()
        .filter(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true))
        .count();
    let slot = ready.entry((namespace, service.clone())).or_insert(0);
    *slot = slot.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
}

/// Gives each Service its ready endpoints (zero when no slice names it), when the slices were
/// read.
pub fn attach_endpoints(services: &mut [LoadBalancerService], ready: Option<&ReadyEndpoints>) {
    let Some(ready) = ready else { return };
    for s in services {
        s.ready_endpoints =
            Some(ready.get(&(s.namespace.clone(), s.name.clone())).copied().unwrap_or(0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_balancers_and_ready_endpoints() {
        let svc: Service = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "shop", "annotations": {
                "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
                "kubectl.kubernetes.io/last-applied-configuration": "{}"}},
            "spec": {"type": "LoadBalancer", "selector": {"app": "web"}},
            "status": {"loadBalancer": {"ingress": [{"hostname": "a.elb.amazonaws.com"}]}}
        }))
        .unwrap();
        let mut lbs = vec![from_kube_service(&svc).unwrap()];
        assert_eq!(lbs[0].annotations.len(), 1);
        assert_eq!(lbs[0].ingress, ["a.elb.amazonaws.com"]);
        let cluster_ip: Service =
            serde_json::from_value(serde_json::json!({"spec": {"type": "ClusterIP"}})).unwrap();
        assert_eq!(from_kube_service(&cluster_ip), None);

        let slice: EndpointSlice = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-abc", "namespace": "shop",
                         "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "endpoints": [
                {"addresses": ["10.0.0.1"], "conditions": {"ready": true}},
                {"addresses": ["10.0.0.2"], "conditions": {"ready": false}},
                {"addresses": ["10.0.0.3"]}
            ]
        }))
        .unwrap();
        let mut ready = ReadyEndpoints::new();
        count_ready(&slice, &mut ready);
        attach_endpoints(&mut lbs, Some(&ready));
        assert_eq!(lbs[0].ready_endpoints, Some(2));
        attach_endpoints(&mut lbs, None);
        assert_eq!(lbs[0].ready_endpoints, Some(2), "unknown slices leave the count alone");
    }
}
