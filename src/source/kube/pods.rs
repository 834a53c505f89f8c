//! Pods: what each pod requests, where it runs, and the workload that owns it (Deployment via
//! its ReplicaSet, StatefulSet, DaemonSet, Job or CronJob; a bare pod is its own workload).

use k8s_openapi::api::core::v1::{Container, Pod};

use super::nodes::resources;
use crate::model::cluster::Resources;

/// The workload a pod belongs to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Owner {
    pub namespace: String,
    pub kind: String,
    pub name: String,
}

/// One container's requests and limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerSpec {
    pub name: String,
    pub requests: Resources,
    pub limits: Option<Resources>,
}

/// A pod that holds resources (not Succeeded or Failed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodSpec {
    pub namespace: String,
    pub name: String,
    /// `None` while the pod is not scheduled.
    pub node: Option<String>,
    pub owner: Owner,
    /// Regular containers, then sidecars (init containers with `restartPolicy: Always`).
    pub containers: Vec<ContainerSpec>,
    /// What the scheduler reserves on the node: max(Σ containers, largest init container)
    /// plus the pod overhead.
    pub effective_request: Resources,
    /// `spec.hostNetwork`: the pod shares its node's network, so it has no traffic of its own
    /// to measure (cAdvisor reports none, or the node's).
    pub host_network: bool,
}

/// Whether a CronJob-created Job name ends in the scheduled time in minutes (`-29384810`).
fn cronjob_of(job: &str) -> Option<&str> {
    let (base, suffix) = job.rsplit_once('-')?;
    (suffix.len() >= 8 && suffix.bytes().all(|b| b.is_ascii_digit()) && !base.is_empty())
        .then_some(base)
}

/// The owning workload. Without listing ReplicaSets and Jobs (which `--kube-dump` files do not
/// have), Deployments and CronJobs are recognised by the names their controllers give:
/// a ReplicaSet `<deployment>-<pod-template-hash>` and a Job `<cronjob>-<minutes>`.
pub fn owner_of(pod: &Pod) -> Owner {
    let meta = &pod.metadata;
    let namespace = meta.namespace.clone().unwrap_or_default();
    let pod_name = meta.name.clone().unwrap_or_default();
    let refs = meta.owner_references.as_deref().unwrap_or_default();
    let controller = refs.iter().find(|r| r.controller == Some(true)).or_else(|| refs.first());
    let Some(owner) = controller else {
        return Owner { namespace, kind: "Pod".into(), name: pod_name };
    };
    let (kind, name) = match owner.kind.as_str() {
        "ReplicaSet" => {
            let hash = meta.labels.as_ref().and_then(|l| l.get("pod-template-hash"));
            match hash.and_then(|h| owner.name.strip_suffix(h.as_str())?.strip_suffix('-')) {
                Some(deployment) if !deployment.is_empty() => ("Deployment", deployment),
                _ => ("ReplicaSet", owner.name.as_str()),
            }
        }
        "Job" => match cronjob_of(&owner.name) {
            Some(cronjob) => ("CronJob", cronjob),
            None => ("Job", owner.name.as_str()),
        },
        // Static pods are mirrored with the node as owner: each is its own workload.
        "Node" => ("Pod", pod_name.as_str()),
        other => (other, owner.name.as_str()),
    };
    Owner { namespace, kind: kind.to_string(), name: name.to_string() }
}

fn container(c: &Container, pod: &str) -> Result<ContainerSpec, String> {
    let r = c.resources.as_ref();
    let requests = resources(r.and_then(|r| r.requests.as_ref()))
        .map_err(|e| format!("pod {pod}, container {}: requests {e}", c.name))?;
    let limits = match r.and_then(|r| r.limits.as_ref()) {
        Some(l) if !l.is_empty() => Some(
            resources(Some(l))
                .map_err(|e| format!("pod {pod}, container {}: limits {e}", c.name))?,
        ),
        _ => None,
    };
    Ok(ContainerSpec { name: c.name.clone(), requests, limits })
}

fn add(a: Resources, b: Resources) -> Resources {
    Resources {
        cpu_millicores: a.cpu_millicores.saturating_add(b.cpu_millicores),
        memory_bytes: a.memory_bytes.saturating_add(b.memory_bytes),
    }
}

fn max(a: Resources, b: Resources) -> Resources {
    Resources {
        cpu_millicores: a.cpu_millicores.max(b.cpu_millicores),
        memory_bytes: a.memory_bytes.max(b.memory_bytes),
    }
}

/// Converts a pod; `Ok(None)` for a pod that has finished (Succeeded or Failed) and so holds
/// nothing. The error names the pod, the container and the bad quantity.
pub fn from_kube_pod(pod: &Pod) -> Result<Option<PodSpec>, String> {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("");
    if matches!(phase, "Succeeded" | "Failed") {
        return Ok(None);
    }
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let at = format!("{namespace}/{name}");
    let spec = pod.spec.as_ref();
    let mut containers = Vec::new();
    let mut largest_init = Resources::default();
    for c in spec.map(|s| s.init_containers.as_deref().unwrap_or_default()).unwrap_or_default() {
        let converted = container(c, &at)?;
        if c.restart_policy.as_deref() == Some("Always") {
            containers.push(converted); // a sidecar runs beside the regular containers
        } else {
            largest_init = max(largest_init, converted.requests);
        }
    }
    let mut regular = Vec::new();
    for c in spec.map(|s| s.containers.as_slice()).unwrap_or_default() {
        regular.push(container(c, &at)?);
    }
    regular.append(&mut containers);
    let running = regular.iter().fold(Resources::default(), |sum, c| add(sum, c.requests));
    let overhead = resources(spec.and_then(|s| s.overhead.as_ref()))
        .map_err(|e| format!("pod {at}: overhead {e}"))?;
    Ok(Some(PodSpec {
        owner: owner_of(pod),
        node: spec.and_then(|s| s.node_name.clone()).filter(|n| !n.is_empty()),
        effective_request: add(max(running, largest_init), overhead),
        host_network: spec.and_then(|s| s.host_network).unwrap_or(false),
        containers: regular,
        namespace,
        name,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(json: serde_json::Value) -> Pod {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn owners_by_controller_names() {
        let p = |owner_kind: &str, owner: &str, hash: Option<&str>| {
            let mut labels = serde_json::Map::new();
            if let Some(h) = hash {
                labels.insert("pod-template-hash".into(), h.into());
            }
            pod(serde_json::json!({
                "metadata": {"name": "p-1", "namespace": "ns", "labels": labels,
                  "ownerReferences": [{"apiVersion": "v1", "kind": owner_kind, "name": owner,
                                       "uid": "u", "controller": true}]}
            }))
        };
        let o = |kind: &str, name: &str| Owner {
            namespace: "ns".into(),
            kind: kind.into(),
            name: name.into(),
        };
        assert_eq!(owner_of(&p("ReplicaSet", "web-7d9f8", Some("7d9f8"))), o("Deployment", "web"));
        assert_eq!(owner_of(&p("ReplicaSet", "web-7d9f8", None)), o("ReplicaSet", "web-7d9f8"));
        assert_eq!(owner_of(&p("StatefulSet", "db", None)), o("StatefulSet", "db"));
        assert_eq!(owner_of(&p("DaemonSet", "agent", None)), o("DaemonSet", "agent"));
        assert_eq!(owner_of(&p("Job", "backup-29384810", None)), o("CronJob", "backup"));
        assert_eq!(owner_of(&p("Job", "migrate-v2", None)), o("Job", "migrate-v2"));
        assert_eq!(owner_of(&p("Node", "kind-control-plane", None)), o("Pod", "p-1"));
        let bare = pod(serde_json::json!({"metadata": {"name": "debug", "namespace": "ns"}}));
        assert_eq!(owner_of(&bare), o("Pod", "debug"));
    }

    #[test]
    fn effective_request_counts_init_containers_sidecars_and_overhead() {
        let p = pod(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {
                "overhead": {"cpu": "10m"},
                "initContainers": [
                    {"name": "migrate", "resources": {"requests": {"cpu": "2", "memory": "64Mi"}}},
                    {"name": "proxy", "restartPolicy": "Always",
                     "resources": {"requests": {"cpu": "100m", "memory": "32Mi"}}}
                ],
                "containers": [
                    {"name": "app", "resources": {"requests": {"cpu": "250m", "memory": "256Mi"},
                                                  "limits": {"memory": "512Mi"}}}
                ]
            },
            "status": {"phase": "Running"}
        }));
        let spec = from_kube_pod(&p).unwrap().unwrap();
        let names: Vec<&str> = spec.containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["app", "proxy"]);
        assert_eq!(
            spec.containers[0].limits,
            Some(Resources { cpu_millicores: 0, memory_bytes: 512 << 20 })
        );
        // CPU: max(350m, 2000m) + 10m; memory: max(288Mi, 64Mi).
        assert_eq!(
            spec.effective_request,
            Resources { cpu_millicores: 2010, memory_bytes: 288 << 20 }
        );
        assert_eq!(spec.node, None);
    }

    #[test]
    fn finished_pods_hold_nothing_and_bad_quantities_name_the_container() {
        let done =
            pod(serde_json::json!({"metadata": {"name": "j"}, "status": {"phase": "Succeeded"}}));
        assert_eq!(from_kube_pod(&done).unwrap(), None);
        let bad = pod(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "lots"}}}]}
        }));
        assert_eq!(
            from_kube_pod(&bad).unwrap_err(),
            "pod ns/p, container app: requests cpu: \"lots\" is not a valid quantity: no digits"
        );
    }
}
