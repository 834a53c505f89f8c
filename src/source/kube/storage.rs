//! PersistentVolumes, PersistentVolumeClaims and StorageClasses into the model, and which pods
//! mount each claim (from the pods already listed, whatever their phase).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PersistentVolume as KubeVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass as KubeStorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::quantity::bytes;
use crate::model::cluster::storage::{ClaimPhase, ClaimRef, VolumePhase};
use crate::model::cluster::{PersistentVolume, StorageClass, VolumeClaim};

const DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";

/// An API timestamp as chrono's.
pub fn time(t: Option<&Time>) -> Option<chrono::DateTime<chrono::Utc>> {
    let t = &t?.0;
    chrono::DateTime::from_timestamp(t.as_second(), u32::try_from(t.subsec_nanosecond()).ok()?)
}

fn storage(list: Option<&BTreeMap<String, Quantity>>, what: &str) -> Result<Option<u64>, String> {
    match list.and_then(|l| l.get("storage")) {
        Some(q) => bytes(&q.0).map(Some).map_err(|e| format!("{what}: {e}")),
        None => Ok(None),
    }
}

/// The error names the volume and the bad quantity.
pub fn from_kube_volume(v: &KubeVolume) -> Result<PersistentVolume, String> {
    let name = v.metadata.name.clone().unwrap_or_default();
    let spec = v.spec.as_ref();
    let capacity = storage(spec.and_then(|s| s.capacity.as_ref()), "capacity.storage")
        .map_err(|e| format!("persistentvolume {name}: {e}"))?;
    let (driver, handle) = match spec {
        Some(s) => {
            match (&s.csi, &s.aws_elastic_block_store, &s.gce_persistent_disk, &s.azure_disk) {
                (Some(csi), ..) => (Some(csi.driver.clone()), Some(csi.volume_handle.clone())),
                (None, Some(ebs), ..) => {
                    (Some("kubernetes.io/aws-ebs".to_string()), Some(ebs.volume_id.clone()))
                }
                (None, None, Some(pd), _) => {
                    (Some("kubernetes.io/gce-pd".to_string()), Some(pd.pd_name.clone()))
                }
                (None, None, None, Some(disk)) => {
                    (Some("kubernetes.io/azure-disk".to_string()), Some(disk.disk_uri.clone()))
                }
                _ => (None, None),
            }
        }
        None => (None, None),
    };
    Ok(PersistentVolume {
        capacity_bytes: capacity.unwrap_or(0),
        storage_class: spec.and_then(|s| s.storage_class_name.clone()).filter(|c| !c.is_empty()),
        phase: VolumePhase::from_api(v.status.as_ref().and_then(|s| s.phase.as_deref())),
        claim: spec.and_then(|s| s.claim_ref.as_ref()).map(|c| ClaimRef {
            namespace: c.namespace.clone().unwrap_or_default(),
            name: c.name.clone().unwrap_or_default(),
        }),
        reclaim_policy: spec.and_then(|s| s.persistent_volume_reclaim_policy.clone()),
        driver,
        volume_handle: handle,
        created: time(v.metadata.creation_timestamp.as_ref()),
        name,
    })
}

/// The error names the claim and the bad quantity. `mounted_by` is filled in by [`mounts`].
pub fn from_kube_claim(c: &PersistentVolumeClaim) -> Result<VolumeClaim, String> {
    let namespace = c.metadata.namespace.clone().unwrap_or_default();
    let name = c.metadata.name.clone().unwrap_or_default();
    let at = |e: String| format!("persistentvolumeclaim {namespace}/{name}: {e}");
    let spec = c.spec.as_ref();
    let requested = storage(
        spec.and_then(|s| s.resources.as_ref()).and_then(|r| r.requests.as_ref()),
        "resources.requests.storage",
    )
    .map_err(at)?;
    let status = c.status.as_ref();
    let capacity =
        storage(status.and_then(|s| s.capacity.as_ref()), "status.capacity.storage").map_err(at)?;
    Ok(VolumeClaim {
        storage_class: spec.and_then(|s| s.storage_class_name.clone()).filter(|c| !c.is_empty()),
        phase: ClaimPhase::from_api(status.and_then(|s| s.phase.as_deref())),
        volume_name: spec.and_then(|s| s.volume_name.clone()).filter(|v| !v.is_empty()),
        requested_bytes: requested.unwrap_or(0),
        capacity_bytes: capacity,
        mounted_by: Vec::new(),
        created: time(c.metadata.creation_timestamp.as_ref()),
        namespace,
        name,
    })
}

pub fn from_kube_storage_class(c: &KubeStorageClass) -> StorageClass {
    let annotations = c.metadata.annotations.as_ref();
    StorageClass {
        name: c.metadata.name.clone().unwrap_or_default(),
        provisioner: c.provisioner.clone(),
        parameters: c.parameters.clone().unwrap_or_default(),
        default: annotations.and_then(|a| a.get(DEFAULT_CLASS)).is_some_and(|v| v == "true"),
    }
}

/// (namespace, claim) → the pods whose volumes name it.
pub type Mounts = BTreeMap<(String, String), Vec<String>>;

/// Adds the claims `pod` mounts to `mounts`.
pub fn mounts(pod: &Pod, mounts: &mut Mounts) {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let volumes = pod.spec.as_ref().and_then(|s| s.volumes.as_deref()).unwrap_or_default();
    for claim in volumes.iter().filter_map(|v| v.persistent_volume_claim.as_ref()) {
        let pods = mounts.entry((namespace.clone(), claim.claim_name.clone())).or_default();
        if !pods.contains(&name) {
            pods.push(name.clone());
        }
    }
}

/// Gives each claim the pods that mount it.
pub fn attach_mounts(claims: &mut [VolumeClaim], mounts: &Mounts) {
    for c in claims {
        if let Some(pods) = mounts.get(&(c.namespace.clone(), c.name.clone())) {
            c.mounted_by = pods.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_claim_and_class_convert() {
        let pv: KubeVolume = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "pvc-1", "creationTimestamp": "2026-01-02T03:04:05Z"},
            "spec": {"capacity": {"storage": "10Gi"}, "storageClassName": "gp3",
                     "persistentVolumeReclaimPolicy": "Retain",
                     "claimRef": {"namespace": "db", "name": "data-0"},
                     "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-0abc"}},
            "status": {"phase": "Released"}
        }))
        .unwrap();
        let v = from_kube_volume(&pv).unwrap();
        assert_eq!(v.capacity_bytes, 10 << 30);
        assert_eq!(v.phase, VolumePhase::Released);
        assert_eq!(v.claim.as_ref().map(|c| c.name.as_str()), Some("data-0"));
        assert_eq!(v.driver.as_deref(), Some("ebs.csi.aws.com"));
        assert_eq!(v.volume_handle.as_deref(), Some("vol-0abc"));
        assert_eq!(v.created.map(|t| t.to_rfc3339()).as_deref(), Some("2026-01-02T03:04:05+00:00"));

        let bad: PersistentVolumeClaim = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "c", "namespace": "ns"},
            "spec": {"resources": {"requests": {"storage": "lots"}}}
        }))
        .unwrap();
        assert_eq!(
            from_kube_claim(&bad).unwrap_err(),
            "persistentvolumeclaim ns/c: resources.requests.storage: \"lots\" is not a valid quantity: no digits"
        );

        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "db-0", "namespace": "db"},
            "spec": {"containers": [], "volumes": [
                {"name": "data", "persistentVolumeClaim": {"claimName": "data-0"}},
                {"name": "tmp", "emptyDir": {}}
            ]}
        }))
        .unwrap();
        let mut m = Mounts::new();
        mounts(&pod, &mut m);
        let claim: PersistentVolumeClaim = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "data-0", "namespace": "db"},
            "spec": {"resources": {"requests": {"storage": "8Gi"}}, "volumeName": "pvc-1"},
            "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}}
        }))
        .unwrap();
        let mut claims = vec![from_kube_claim(&claim).unwrap()];
        attach_mounts(&mut claims, &m);
        assert_eq!(claims[0].mounted_by, ["db-0"]);
        assert_eq!(claims[0].capacity_bytes, Some(10 << 30));
        assert_eq!(claims[0].phase, ClaimPhase::Bound);
    }
}
