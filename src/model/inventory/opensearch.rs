//! OpenSearch Service domains.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::tags::Tags;

/// One domain: data nodes, optional dedicated masters, EBS storage per data node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchDomain {
    /// The ARN.
    pub id: String,
    /// DomainName (CloudWatch's DomainName dimension).
    pub name: String,
    pub account_id: String,
    pub region: String,
    #[serde(default)]
    pub engine_version: String,
    /// `r6g.large.search`.
    pub instance_type: String,
    pub instance_count: u32,
    #[serde(default)]
    pub master_type: Option<String>,
    #[serde(default)]
    pub master_count: u32,
    /// EBS volume type of each data node (`gp3`, `gp2`), when EBS is used.
    #[serde(default)]
    pub volume_type: Option<String>,
    /// EBS GiB per data node.
    #[serde(default)]
    pub volume_size_gib: u64,
    pub create_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub tags: Tags,
}
