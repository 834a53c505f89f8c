//! Findings: what a rule says about one resource, with savings and evidence.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::{Currency, Money};

/// How sure a rule is that acting on a finding is safe and saves what it says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

impl std::str::FromStr for Confidence {
    type Err = String;

    fn from_str(s: &str) -> Result<Confidence, String> {
        match s {
            "low" => Ok(Confidence::Low),
            "medium" => Ok(Confidence::Medium),
            "high" => Ok(Confidence::High),
            other => Err(format!("{other:?} is not a confidence (low, medium or high)")),
        }
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One recommendation. When several rules fire on one resource, the one with the largest
/// saving is primary and the others are `alternative`; totals count primaries only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule_id: String,
    pub title: String,
    pub resource_id: String,
    pub resource_type: String,
    pub account_id: String,
    pub region: String,
    pub action: String,
    /// What the resource costs per month now; `None` when neither billing nor the catalog knew.
    pub current_monthly_cost: Option<Money>,
    /// Never negative; zero when it could not be computed (the evidence says why).
    pub estimated_monthly_savings: Money,
    pub currency: Currency,
    pub confidence: Confidence,
    pub evidence: String,
    /// The recommended configuration, e.g. the smaller instance type.
    pub target: Option<String>,
    pub alternative: bool,
}
