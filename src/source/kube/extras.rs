//! What a cluster source reads beside nodes and pods: volumes, claims, storage classes,
//! LoadBalancer Services with their endpoints, and HorizontalPodAutoscalers. Each list is
//! optional: RBAC often forbids PersistentVolumes or StorageClasses, and an older API server may
//! not serve autoscaling/v2, so a list that cannot be read is a warning, never a failure.

use super::services::{self, ReadyEndpoints};
use super::storage::{self, Mounts};
use crate::model::cluster::{
    Autoscaler, Cluster, LoadBalancerService, PersistentVolume, StorageClass, VolumeClaim,
};

#[derive(Debug, Default)]
pub struct Extras {
    pub volumes: Vec<PersistentVolume>,
    pub claims: Vec<VolumeClaim>,
    pub storage_classes: Vec<StorageClass>,
    pub load_balancers: Vec<LoadBalancerService>,
    pub autoscalers: Vec<Autoscaler>,
    /// Claims the listed pods mount.
    pub mounts: Mounts,
    /// Ready endpoints per Service; `None` when the EndpointSlices could not be read.
    pub ready: Option<ReadyEndpoints>,
    pub warnings: Vec<String>,
    /// A list failed for another reason than being forbidden or not served.
    pub partial: bool,
}

impl Extras {
    /// Records a list that could not be read: forbidden (403) or not served (404) is expected
    /// of a restricted account and only noted; anything else also makes the source partial.
    pub fn failed(&mut self, what: &str, status: Option<u16>, message: &str) {
        let expected = matches!(status, Some(403 | 404));
        self.partial |= !expected;
        self.warnings.push(format!("{what} not read ({message}); {}", consequence(what)));
    }

    /// Puts the lists into `cluster`, each claim with its mounting pods and each Service with
    /// its ready endpoints.
    pub fn into_cluster(mut self, cluster: &mut Cluster) -> (Vec<String>, bool) {
        storage::attach_mounts(&mut self.claims, &self.mounts);
        services::attach_endpoints(&mut self.load_balancers, self.ready.as_ref());
        let by_name = |a: &String, b: &String| a.cmp(b);
        self.volumes.sort_by(|a, b| by_name(&a.name, &b.name));
        self.claims.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        self.storage_classes.sort_by(|a, b| by_name(&a.name, &b.name));
        self.load_balancers.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        self.autoscalers.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        cluster.volumes = self.volumes;
        cluster.claims = self.claims;
        cluster.storage_classes = self.storage_classes;
        cluster.load_balancers = self.load_balancers;
        cluster.autoscalers = self.autoscalers;
        (self.warnings, self.partial)
    }
}

fn consequence(what: &str) -> &'static str {
    match what {
        "persistentvolumes" => "released and unbound volumes are not judged",
        "persistentvolumeclaims" => "claims no pod mounts are not judged",
        "storageclasses" => "volumes are priced only where the class is known by name",
        "services" => "LoadBalancer Services are not judged",
        "endpointslices" => "LoadBalancer Services without endpoints are not judged",
        "horizontalpodautoscalers" => "workloads are judged without their autoscalers' targets",
        _ => "left out",
    }
}
