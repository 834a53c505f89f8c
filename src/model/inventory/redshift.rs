//! Redshift provisioned clusters.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::tags::Tags;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedshiftCluster {
    /// The ARN (`arn:aws:redshift:<region>:<account>:cluster:<name>`).
    pub id: String,
    /// ClusterIdentifier (CloudWatch's ClusterIdentifier dimension).
    pub name: String,
    pub account_id: String,
    pub region: String,
    /// `ra3.4xlarge`.
    pub node_type: String,
    pub nodes: u32,
    /// `available`, `paused`, `resuming`, …
    pub status: String,
    pub create_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub tags: Tags,
}
