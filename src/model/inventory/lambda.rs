//! Lambda functions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::tags::Tags;

/// The instruction set a function runs on; Lambda bills arm64 (Graviton) GB-seconds cheaper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    X86_64,
    Arm64,
}

impl Architecture {
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaFunction {
    /// The unqualified function ARN (`arn:aws:lambda:<region>:<account>:function:<name>`), as
    /// billing names it.
    pub id: String,
    /// FunctionName (CloudWatch's FunctionName dimension).
    pub name: String,
    pub account_id: String,
    pub region: String,
    /// Configured memory, MB (128 to 10,240).
    pub memory_mb: u64,
    /// Configured timeout, seconds.
    pub timeout_seconds: u64,
    pub architecture: Architecture,
    /// e.g. `python3.12`; empty for container images, whose runtime is the image's.
    #[serde(default)]
    pub runtime: String,
    /// `Zip` or `Image`.
    pub package_type: String,
    /// When the code or configuration last changed (Lambda records no creation time).
    pub last_modified: Option<DateTime<Utc>>,
    #[serde(default)]
    pub tags: Tags,
}
