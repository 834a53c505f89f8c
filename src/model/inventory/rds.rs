//! RDS and Aurora: DB instances, Aurora clusters and manual DB snapshots.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::tags::Tags;

/// One DB instance (an Aurora cluster member too). Its id is the ARN, which is what billing
/// (FOCUS ResourceId, CUR `lineItem/ResourceId`) names it by; `name` is the DBInstanceIdentifier
/// CloudWatch and the console use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbInstance {
    pub id: String,
    pub name: String,
    pub account_id: String,
    pub region: String,
    /// `db.m5.large`.
    pub class: String,
    /// `mysql`, `postgres`, `mariadb`, `aurora-mysql`, `aurora-postgresql`, `oracle-se2`, …
    pub engine: String,
    pub engine_version: String,
    #[serde(default)]
    pub multi_az: bool,
    /// `available`, `stopped`, `creating`, …
    pub status: String,
    /// `gp2`, `gp3`, `io1`, `io2`, `standard`, or `aurora` (storage billed on the cluster).
    #[serde(default)]
    pub storage_type: String,
    #[serde(default)]
    pub allocated_storage_gib: u64,
    #[serde(default)]
    pub iops: Option<u64>,
    /// The Aurora cluster it belongs to (DBClusterIdentifier).
    #[serde(default)]
    pub cluster_name: Option<String>,
    pub create_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub tags: Tags,
}

/// An Aurora (or Multi-AZ DB) cluster: storage is billed here, instances separately.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbCluster {
    /// The ARN.
    pub id: String,
    /// DBClusterIdentifier.
    pub name: String,
    pub account_id: String,
    pub region: String,
    pub engine: String,
    pub engine_version: String,
    pub status: String,
    /// DBInstanceIdentifiers of its members.
    #[serde(default)]
    pub members: Vec<String>,
    /// GiB; Aurora reports the storage it grew to here.
    #[serde(default)]
    pub allocated_storage_gib: u64,
    pub create_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub tags: Tags,
}

/// Whether a snapshot is of one instance or of a whole cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DbSnapshotSource {
    Instance,
    Cluster,
}

/// A manual DB snapshot or DB cluster snapshot (automated ones expire on their own).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbSnapshot {
    /// The ARN.
    pub id: String,
    /// DBSnapshotIdentifier or DBClusterSnapshotIdentifier.
    pub name: String,
    pub account_id: String,
    pub region: String,
    pub source: DbSnapshotSource,
    /// DBInstanceIdentifier or DBClusterIdentifier it was taken of.
    pub source_name: String,
    /// `manual` or `automated`.
    pub snapshot_type: String,
    pub engine: String,
    pub size_gib: u64,
    pub create_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub tags: Tags,
}
