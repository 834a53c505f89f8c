//! ElastiCache: Redis OSS, Valkey and Memcached clusters.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::tags::Tags;

/// A replication group (Redis OSS, Valkey), or a cache cluster outside any group (Memcached, a
/// single-node Redis). Billing names each node (`arn:…:cluster:<group>-001`); `node_ids` keeps
/// them so the group's bill can be summed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheCluster {
    /// The ARN of the replication group or cache cluster.
    pub id: String,
    /// ReplicationGroupId or CacheClusterId (CloudWatch reads node ids, below).
    pub name: String,
    pub account_id: String,
    pub region: String,
    /// `redis`, `valkey` or `memcached`.
    pub engine: String,
    #[serde(default)]
    pub engine_version: String,
    /// `cache.r6g.large`.
    pub node_type: String,
    pub nodes: u32,
    /// CacheClusterIds of its nodes (CloudWatch's CacheClusterId dimension).
    #[serde(default)]
    pub node_ids: Vec<String>,
    pub status: String,
    pub create_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub tags: Tags,
}
