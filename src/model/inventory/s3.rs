//! S3 buckets.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::tags::Tags;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Bucket {
    /// `arn:aws:s3:::<name>`. Billing names a bucket by this ARN or by its bare name; the
    /// rules look it up both ways.
    pub id: String,
    /// The bucket name (CloudWatch's BucketName dimension).
    pub name: String,
    pub account_id: String,
    /// Where the bucket lives (GetBucketLocation; an empty answer is us-east-1).
    pub region: String,
    pub create_time: Option<DateTime<Utc>>,
    /// Rules of the lifecycle configuration: 0 when the bucket has none, absent when it could
    /// not be read.
    #[serde(default)]
    pub lifecycle_rules: Option<u32>,
    /// Of those, the enabled ones.
    #[serde(default)]
    pub lifecycle_rules_enabled: Option<u32>,
    /// Intelligent-Tiering configurations (archive tiers set up on the bucket); absent when
    /// they could not be read.
    #[serde(default)]
    pub intelligent_tiering_configs: Option<u32>,
    #[serde(default)]
    pub tags: Tags,
}
