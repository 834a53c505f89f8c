//! The account's own AMIs and the launch templates that may launch them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::tags::Tags;

/// An AMI the account owns (DescribeImages Owners=self).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    /// `ami-…` (billing has no line for an AMI: its snapshots are billed).
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    pub account_id: String,
    pub region: String,
    /// `available`, `pending`, `failed`, `deregistered`, …
    pub state: String,
    pub creation_time: Option<DateTime<Utc>>,
    /// When an instance was last launched from it (AWS records this since 2017; emulators
    /// leave it out).
    #[serde(default)]
    pub last_launched_time: Option<DateTime<Utc>>,
    /// The EBS snapshots behind its block device mappings.
    #[serde(default)]
    pub snapshots: Vec<ImageSnapshot>,
    #[serde(default)]
    pub tags: Tags,
}

/// One EBS snapshot of an AMI's block device mapping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageSnapshot {
    pub snapshot_id: String,
    /// The mapping's VolumeSize: the snapshot's full size.
    pub size_gib: u64,
}

/// A launch template and the AMIs its versions name (every version: an Auto Scaling group
/// may be pinned to any of them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchTemplate {
    /// `lt-…`.
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    pub account_id: String,
    pub region: String,
    /// Distinct image ids over all versions, sorted.
    #[serde(default)]
    pub image_ids: Vec<String>,
    #[serde(default)]
    pub tags: Tags,
}
