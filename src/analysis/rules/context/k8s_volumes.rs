//! Kubernetes volumes as the rules see them: `k8s_volume`, one per PersistentVolumeClaim
//! (`r.scope == "claim"`, with the pods that mount it) and one per PersistentVolume no listed
//! claim holds (`r.scope == "volume"`: Released, Available, or bound to a claim not read).
//!
//! A volume on an EBS disk goes by the disk's id (`vol-…`), so billing prices it and its findings
//! and the disk's own (`ebs-unattached`) count once; otherwise `cluster/namespace/pvc/name` or
//! `cluster/pv/name`. Without a bill, the storage class's provisioner and `type` parameter price
//! it: EBS from the AWS catalog of the cluster's region, GCE persistent disks from
//! `rules/prices/kubernetes.toml`; a class priced in `[kubernetes.storage_class_prices]` of the
//! config (an on-prem Ceph class, a class of one's own) at that price, before any table.

use cel_interpreter::Value;

use super::k8s_cloud;
use super::{CostSource, CurrentCost, Fields, Inputs, ResourceView, days_between, num, text};
use crate::analysis::rules::rule::ResourceKind;
use crate::model::cluster::{Cluster, PersistentVolume, StorageClass, VolumeClaim};
use crate::model::{Currency, Money};

const GIB: u64 = 1 << 30;

/// The disk behind a storage class.
#[derive(Debug, PartialEq, Eq)]
enum Disk {
    Ebs(String),
    GcePd(String),
    /// Not priced per GB here, with why.
    Unpriced(String),
}

/// Provisioner and `type` parameter → disk. The defaults are each driver's own: the EBS CSI
/// driver makes gp3, the in-tree EBS plugin gp2, both GCE PD provisioners pd-standard.
fn disk_of(class: &StorageClass) -> Disk {
    let ty = |default: &str| class.parameters.get("type").cloned().unwrap_or(default.to_string());
    match class.provisioner.as_str() {
        "ebs.csi.aws.com" => Disk::Ebs(ty("gp3")),
        "kubernetes.io/aws-ebs" => Disk::Ebs(ty("gp2")),
        "pd.csi.storage.gke.io" | "kubernetes.io/gce-pd" => Disk::GcePd(ty("pd-standard")),
        "disk.csi.azure.com" | "kubernetes.io/azure-disk" => Disk::Unpriced(format!(
            "storage class {} ({}): Azure disks are priced per size tier, not per GB",
            class.name, class.provisioner
        )),
        other => Disk::Unpriced(format!(
            "storage class {} has provisioner {other}, which costscope does not price",
            class.name
        )),
    }
}

/// The EBS volume id in a CSI handle (`vol-…`) or an in-tree id (`aws://us-east-1a/vol-…`).
fn ebs_id(volume: &PersistentVolume) -> Option<&str> {
    let handle = volume.volume_handle.as_deref()?;
    let id = handle.rsplit('/').next()?;
    id.starts_with("vol-").then_some(id)
}

fn size_gib(bytes: u64) -> u64 {
    bytes.div_ceil(GIB)
}

/// The monthly price of `size` GiB of `class`, or why there is none.
fn priced(
    input: &Inputs<'_, '_>,
    cluster: &Cluster,
    class: Option<&str>,
    size: u64,
) -> CurrentCost {
    let region = k8s_cloud::region(cluster);
    let unknown = |reason: String| k8s_cloud::unpriced(input, reason);
    let Some(name) = class else { return unknown("no storage class".into()) };
    // The user's price knows the class better than its provisioner does, and needs no class
    // object (the list may have been forbidden).
    if let Some(per_gib) = input.storage_class_prices.get(name) {
        return CurrentCost {
            monthly: Some(per_gib.times(i64::try_from(size).unwrap_or(i64::MAX))),
            currency: Currency::new(input.catalog.currency()),
            source: CostSource::Configured {
                detail: format!(
                    "{size} GiB of storage class {name} at {per_gib} per GiB-month, \
                     [kubernetes.storage_class_prices]"
                ),
            },
        };
    }
    let Some(sc) = cluster.storage_classes.iter().find(|c| c.name == name) else {
        return unknown(format!("storage class {name} was not read"));
    };
    let (per_gb, detail) = match disk_of(sc) {
        Disk::Ebs(ty) => (
            input.catalog.ebs_gb_month(&region, &ty).map_err(|e| e.to_string()),
            format!("{size} GiB of EBS {ty} in {region} (class {name})"),
        ),
        Disk::GcePd(ty) => (
            k8s_cloud::unit_price(input, "kubernetes", &region, &format!("{ty}_gb_month")),
            format!("{size} GiB of {ty} in {region} (class {name})"),
        ),
        Disk::Unpriced(reason) => return unknown(reason),
    };
    let result = per_gb.map(|p: Money| p.times(i64::try_from(size).unwrap_or(i64::MAX)));
    super::catalog_cost(input.catalog, result, detail)
}

fn common(
    id: &str,
    cluster: &Cluster,
    scope: &'static str,
    class: Option<&str>,
    gib: u64,
) -> Fields<'static> {
    let mut f = k8s_cloud::object_fields(id, scope, cluster);
    f.insert("storage_class", text(class.unwrap_or("")));
    f.insert("size_gib", num(gib as f64));
    f
}

pub(super) fn views<'a>(input: &Inputs<'a, '_>, views: &mut Vec<ResourceView<'a>>) {
    let now = input.snapshot.collected_at;
    for cluster in &input.snapshot.clusters {
        let region = k8s_cloud::region(cluster);
        let volume_of = |c: &VolumeClaim| {
            c.volume_name.as_deref().and_then(|v| cluster.volumes.iter().find(|pv| pv.name == v))
        };
        for c in &cluster.claims {
            let pv = volume_of(c);
            let id = pv
                .and_then(ebs_id)
                .map(str::to_string)
                .unwrap_or_else(|| format!("{}/{}/pvc/{}", cluster.name, c.namespace, c.name));
            let gib = size_gib(
                c.capacity_bytes.or(pv.map(|v| v.capacity_bytes)).unwrap_or(c.requested_bytes),
            );
            let class = c.storage_class.as_deref().or(pv.and_then(|v| v.storage_class.as_deref()));
            let cost =
                input.billed.monthly(&id).unwrap_or_else(|| priced(input, cluster, class, gib));
            let mut f = common(&id, cluster, "claim", class, gib);
            f.insert("namespace", text(&c.namespace));
            f.insert("name", text(&c.name));
            f.insert("phase", text(c.phase.as_str()));
            f.insert("volume", text(c.volume_name.as_deref().unwrap_or("")));
            f.insert("claim", text(&format!("{}/{}", c.namespace, c.name)));
            f.insert("pods", num(c.mounted_by.len() as f64));
            f.insert("mounted_by", text(&c.mounted_by.join(", ")));
            f.insert(
                "reclaim_policy",
                text(pv.and_then(|v| v.reclaim_policy.as_deref()).unwrap_or("")),
            );
            f.insert("age_days", days_between(c.created, now));
            views.push(k8s_cloud::object_view(
                input,
                ResourceKind::K8sVolume,
                &id,
                &region,
                f,
                cost,
            ));
        }
        for v in &cluster.volumes {
            let held = v.claim.as_ref().is_some_and(|r| {
                cluster.claims.iter().any(|c| {
                    c.namespace == r.namespace
                        && c.name == r.name
                        && c.volume_name.as_deref() == Some(v.name.as_str())
                })
            });
            if held {
                continue;
            }
            let id = ebs_id(v)
                .map(str::to_string)
                .unwrap_or_else(|| format!("{}/pv/{}", cluster.name, v.name));
            let gib = size_gib(v.capacity_bytes);
            let class = v.storage_class.as_deref();
            let cost =
                input.billed.monthly(&id).unwrap_or_else(|| priced(input, cluster, class, gib));
            let claim = v.claim.as_ref().map(|c| format!("{}/{}", c.namespace, c.name));
            let mut f = common(&id, cluster, "volume", class, gib);
            f.insert("namespace", text(""));
            f.insert("name", text(&v.name));
            f.insert("phase", text(v.phase.as_str()));
            f.insert("volume", text(&v.name));
            f.insert("claim", text(claim.as_deref().unwrap_or("")));
            f.insert("pods", Value::Null);
            f.insert("mounted_by", text(""));
            f.insert("reclaim_policy", text(v.reclaim_policy.as_deref().unwrap_or("")));
            f.insert("age_days", days_between(v.created, now));
            views.push(k8s_cloud::object_view(
                input,
                ResourceKind::K8sVolume,
                &id,
                &region,
                f,
                cost,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(provisioner: &str, ty: Option<&str>) -> StorageClass {
        StorageClass {
            name: "c".into(),
            provisioner: provisioner.into(),
            parameters: ty
                .map(|t| [("type".to_string(), t.to_string())].into())
                .unwrap_or_default(),
            default: false,
        }
    }

    #[test]
    fn storage_classes_name_their_disks() {
        assert_eq!(disk_of(&class("ebs.csi.aws.com", None)), Disk::Ebs("gp3".into()));
        assert_eq!(disk_of(&class("ebs.csi.aws.com", Some("io1"))), Disk::Ebs("io1".into()));
        assert_eq!(disk_of(&class("kubernetes.io/aws-ebs", None)), Disk::Ebs("gp2".into()));
        assert_eq!(
            disk_of(&class("pd.csi.storage.gke.io", Some("pd-ssd"))),
            Disk::GcePd("pd-ssd".into())
        );
        assert_eq!(
            disk_of(&class("kubernetes.io/gce-pd", None)),
            Disk::GcePd("pd-standard".into())
        );
        assert!(matches!(disk_of(&class("disk.csi.azure.com", None)), Disk::Unpriced(_)));
        assert!(matches!(disk_of(&class("rancher.io/local-path", None)), Disk::Unpriced(_)));
        let pv = |h: &str| PersistentVolume { volume_handle: Some(h.into()), ..Default::default() };
        assert_eq!(ebs_id(&pv("vol-0abc")), Some("vol-0abc"));
        assert_eq!(ebs_id(&pv("aws://us-east-1a/vol-0abc")), Some("vol-0abc"));
        assert_eq!(ebs_id(&pv("projects/p/zones/z/disks/d")), None);
    }
}
