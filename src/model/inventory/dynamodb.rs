//! DynamoDB tables.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::tags::Tags;

/// How a table pays for throughput.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BillingMode {
    /// Capacity units reserved by the hour.
    Provisioned,
    /// On demand: per request unit.
    PayPerRequest,
}

impl BillingMode {
    pub fn as_str(self) -> &'static str {
        match self {
            BillingMode::Provisioned => "provisioned",
            BillingMode::PayPerRequest => "on-demand",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DynamoDbTable {
    /// The ARN (`arn:aws:dynamodb:<region>:<account>:table/<name>`).
    pub id: String,
    /// TableName (CloudWatch's TableName dimension).
    pub name: String,
    pub account_id: String,
    pub region: String,
    pub billing_mode: BillingMode,
    /// Provisioned read capacity units (0 on demand). Global secondary indexes are not included.
    #[serde(default)]
    pub read_capacity: u64,
    #[serde(default)]
    pub write_capacity: u64,
    #[serde(default)]
    pub size_bytes: u64,
    #[serde(default)]
    pub item_count: u64,
    pub status: String,
    pub create_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub tags: Tags,
}
