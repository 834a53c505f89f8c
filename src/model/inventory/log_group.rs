//! CloudWatch Logs log groups.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::tags::Tags;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogGroup {
    /// The ARN without the trailing `:*` (`arn:aws:logs:<region>:<account>:log-group:<name>`),
    /// as billing names it.
    pub id: String,
    pub name: String,
    pub account_id: String,
    pub region: String,
    /// Days events are kept; `None` keeps them forever.
    #[serde(default)]
    pub retention_days: Option<u32>,
    /// Archived (compressed) bytes stored, as DescribeLogGroups reports them.
    #[serde(default)]
    pub stored_bytes: u64,
    pub create_time: Option<DateTime<Utc>>,
    /// Whether the newest stream was looked up (the look-up is bounded per region: see
    /// `source/aws/logs.rs`).
    #[serde(default)]
    pub ingestion_checked: bool,
    /// The newest stream's lastIngestionTime; `None` with `ingestion_checked` when the group
    /// has no stream at all.
    #[serde(default)]
    pub last_ingestion: Option<DateTime<Utc>>,
    #[serde(default)]
    pub tags: Tags,
}
