//! Commitment discounts (Savings Plans, Reserved Instances, committed use discounts) as billing
//! reports them, and the compute usage they could cover.
//!
//! These are the facts the FOCUS reader keeps so that utilization, coverage and purchase advice
//! can be computed later ([`crate::analysis::commitments`]): per commitment and day, what was used
//! and what went unused; per hour and scope, compute usage by how it was priced.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::currency::Currency;
use super::money::Money;

/// What a billing row says about a commitment (FOCUS `CommitmentDiscountStatus`, or a purchase).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitmentCharge {
    /// Usage the commitment covered (status `Used`).
    Used,
    /// The part of the commitment nothing used (status `Unused`).
    Unused,
    /// A purchase paid once (ChargeCategory `Purchase`, ChargeFrequency `One-Time`): upfront fees.
    PurchaseOneTime,
    /// A recurring purchase charge (ChargeCategory `Purchase`, `Recurring`): the monthly fee.
    PurchaseRecurring,
}

impl CommitmentCharge {
    pub fn as_str(self) -> &'static str {
        match self {
            CommitmentCharge::Used => "used",
            CommitmentCharge::Unused => "unused",
            CommitmentCharge::PurchaseOneTime => "purchase_one_time",
            CommitmentCharge::PurchaseRecurring => "purchase_recurring",
        }
    }
}

/// The sum of one commitment's rows of one kind on one day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitmentDay {
    pub commitment_id: String,
    pub day: NaiveDate,
    pub charge: CommitmentCharge,
    pub currency: Currency,
    pub billed_cost: Money,
    /// `None` when no row had an EffectiveCost.
    pub effective_cost: Option<Money>,
    pub list_cost: Option<Money>,
    pub rows: u64,
}

/// What the rows said about a commitment itself. Each text is the alphabetically first
/// non-empty value seen, so the result does not depend on row order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommitmentInfo {
    pub name: String,
    /// FOCUS `CommitmentDiscountCategory`: `Spend` or `Usage`.
    pub category: String,
    /// FOCUS `CommitmentDiscountType`: provider text such as `Savings Plan` or `Reserved`.
    pub kind: String,
    pub provider: String,
    pub account_id: String,
    pub region: String,
    /// The commitment's unit (FOCUS `CommitmentDiscountUnit`), e.g. `Hours` or `USD`.
    pub unit: String,
    /// Usage rows that named the commitment (so a commitment with a purchase but no usage row
    /// at all, used or unused, can be told apart).
    pub usage_rows: u64,
    pub purchase_rows: u64,
    /// When the term ends, where a one-time purchase row says (its ChargePeriodEnd).
    pub term_end: Option<NaiveDate>,
}

/// How a compute usage row was priced (FOCUS `PricingCategory`, with the row's commitment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pricing {
    /// On-demand list rates (`Standard`; `On-Demand` in FOCUS 1.0-preview exports).
    OnDemand,
    /// Covered by a commitment (`Committed`, or a row with a used CommitmentDiscountId).
    Committed,
    /// Spot or other market rates (`Dynamic`): no commitment can cover these.
    Dynamic,
    /// `Other`, or a value costscope does not know.
    Other,
}

impl Pricing {
    /// Reads FOCUS `PricingCategory` (case-insensitive); `commitment_used` wins over the text,
    /// because some exports leave PricingCategory empty on covered rows.
    pub fn from_focus(category: &str, commitment_used: bool) -> Pricing {
        if commitment_used || category.eq_ignore_ascii_case("committed") {
            Pricing::Committed
        } else if category.eq_ignore_ascii_case("standard")
            || category.eq_ignore_ascii_case("on-demand")
            || category.eq_ignore_ascii_case("ondemand")
        {
            Pricing::OnDemand
        } else if category.eq_ignore_ascii_case("dynamic") || category.eq_ignore_ascii_case("spot")
        {
            Pricing::Dynamic
        } else if category.is_empty() {
            // Exports that predate PricingCategory bill everything uncommitted on demand.
            Pricing::OnDemand
        } else {
            Pricing::Other
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Pricing::OnDemand => "on_demand",
            Pricing::Committed => "committed",
            Pricing::Dynamic => "dynamic",
            Pricing::Other => "other",
        }
    }
}

/// Compute usage (FOCUS ServiceCategory `Compute`, ChargeCategory `Usage`) summed per hour,
/// scope and pricing: what commitments covered and what ran on demand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComputeUsage {
    /// ChargePeriodStart truncated to the hour. Daily exports put every row at midnight.
    pub hour: NaiveDateTime,
    pub provider: String,
    pub service: String,
    pub account_id: String,
    pub region: String,
    pub resource_type: String,
    pub pricing: Pricing,
    pub currency: Currency,
    pub billed_cost: Money,
    pub effective_cost: Option<Money>,
    pub list_cost: Option<Money>,
    pub rows: u64,
}

/// Everything billing said about commitments in a run. Empty when the data has none.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommitmentData {
    /// Sorted by commitment id, day and charge.
    pub days: Vec<CommitmentDay>,
    /// Commitment id → what its rows said about it.
    pub info: std::collections::BTreeMap<String, CommitmentInfo>,
    /// Sorted by hour and scope.
    pub compute: Vec<ComputeUsage>,
    /// Whether the data had the columns coverage needs (`ServiceCategory`); when not, every
    /// usage row counted as compute, and reports say so.
    pub service_category_known: bool,
}

impl CommitmentData {
    pub fn is_empty(&self) -> bool {
        self.days.is_empty() && self.compute.is_empty()
    }
}
