//! Kubernetes storage: PersistentVolumes, the claims that bind them, and the storage classes
//! whose provisioner and parameters say what a gigabyte costs.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `status.phase` of a PersistentVolume.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VolumePhase {
    Pending,
    Available,
    Bound,
    Released,
    Failed,
    #[default]
    Unknown,
}

impl VolumePhase {
    pub fn from_api(phase: Option<&str>) -> VolumePhase {
        match phase {
            Some("Pending") => VolumePhase::Pending,
            Some("Available") => VolumePhase::Available,
            Some("Bound") => VolumePhase::Bound,
            Some("Released") => VolumePhase::Released,
            Some("Failed") => VolumePhase::Failed,
            _ => VolumePhase::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            VolumePhase::Pending => "Pending",
            VolumePhase::Available => "Available",
            VolumePhase::Bound => "Bound",
            VolumePhase::Released => "Released",
            VolumePhase::Failed => "Failed",
            VolumePhase::Unknown => "Unknown",
        }
    }
}

/// `status.phase` of a PersistentVolumeClaim.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimPhase {
    Pending,
    Bound,
    Lost,
    #[default]
    Unknown,
}

impl ClaimPhase {
    pub fn from_api(phase: Option<&str>) -> ClaimPhase {
        match phase {
            Some("Pending") => ClaimPhase::Pending,
            Some("Bound") => ClaimPhase::Bound,
            Some("Lost") => ClaimPhase::Lost,
            _ => ClaimPhase::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ClaimPhase::Pending => "Pending",
            ClaimPhase::Bound => "Bound",
            ClaimPhase::Lost => "Lost",
            ClaimPhase::Unknown => "Unknown",
        }
    }
}

/// A claim a volume is (or was) bound to: `spec.claimRef`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClaimRef {
    pub namespace: String,
    pub name: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersistentVolume {
    pub name: String,
    /// `spec.capacity.storage` in bytes.
    pub capacity_bytes: u64,
    pub storage_class: Option<String>,
    pub phase: VolumePhase,
    pub claim: Option<ClaimRef>,
    /// `Retain`, `Delete` or `Recycle`.
    pub reclaim_policy: Option<String>,
    /// `spec.csi.driver`, or the in-tree plugin (`kubernetes.io/aws-ebs`, `kubernetes.io/gce-pd`,
    /// `kubernetes.io/azure-disk`) the volume source names.
    pub driver: Option<String>,
    /// The cloud disk: `spec.csi.volumeHandle` or the in-tree volume id.
    pub volume_handle: Option<String>,
    pub created: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VolumeClaim {
    pub namespace: String,
    pub name: String,
    pub storage_class: Option<String>,
    pub phase: ClaimPhase,
    /// `spec.volumeName`: the PersistentVolume bound to it.
    pub volume_name: Option<String>,
    /// `spec.resources.requests.storage` in bytes.
    pub requested_bytes: u64,
    /// `status.capacity.storage` in bytes, once bound.
    pub capacity_bytes: Option<u64>,
    /// The listed pods (any phase) whose volumes name this claim, `namespace`-relative.
    pub mounted_by: Vec<String>,
    pub created: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageClass {
    pub name: String,
    pub provisioner: String,
    pub parameters: BTreeMap<String, String>,
    /// Annotated `storageclass.kubernetes.io/is-default-class: "true"`.
    pub default: bool,
}
