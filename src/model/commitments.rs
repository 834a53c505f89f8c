//! Commitment discounts (Savings Plans, Reserved Instances, committed use discounts) as billing
//! reports them, and the compute usage they could cover.
//!
//! These are the facts the FOCUS reader keeps so that utilization, coverage and purchase advice
//! can be computed later ([`crate::analysis::commitments`]): per commitment and day, what was used
//! and what went unused; per hour and scope, compute usage by how it was priced.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
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

/// Which kind of commitment an API described.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveKind {
    /// A Savings Plan (DescribeSavingsPlans).
    SavingsPlan,
    /// An EC2 Reserved Instance (DescribeReservedInstances).
    ReservedInstance,
}

impl LiveKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LiveKind::SavingsPlan => "Savings Plan",
            LiveKind::ReservedInstance => "Reserved Instance",
        }
    }
}

/// A commitment as the provider's own API describes it: what billing alone cannot say (the
/// term, the payment option, the state).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveCommitment {
    /// The ARN: billing's CommitmentDiscountId, so FOCUS rows and the API meet on it.
    pub id: String,
    pub kind: LiveKind,
    /// Savings Plan type (`Compute`, `EC2Instance`, …) or the reserved instance type.
    pub plan_type: String,
    pub account_id: String,
    /// Empty for plans that apply in every region.
    pub region: String,
    pub term_start: Option<DateTime<Utc>>,
    pub term_end: Option<DateTime<Utc>>,
    /// Whole years, from the term's duration.
    pub term_years: Option<u32>,
    /// `No Upfront`, `Partial Upfront`, `All Upfront`, as the API writes it.
    pub payment_option: String,
    /// `active`, `retired`, `payment-pending`, …
    pub state: String,
    pub currency: Currency,
    /// A Savings Plan's commitment per hour.
    pub hourly_commitment: Option<Money>,
    /// A reservation's instance count.
    pub instance_count: Option<u64>,
    /// The one-time fee of the term.
    pub upfront: Option<Money>,
    /// What the commitment charges an hour besides the upfront fee (recurring fee; a
    /// reservation's usage price × count).
    pub recurring_hourly: Option<Money>,
}

/// Which Cost Explorer commitment figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CeMetric {
    /// GetSavingsPlansUtilization.
    SavingsPlansUtilization,
    /// GetReservationUtilization.
    ReservationUtilization,
    /// GetSavingsPlansCoverage.
    SavingsPlansCoverage,
    /// GetReservationCoverage (by hours).
    ReservationCoverage,
}

impl CeMetric {
    pub fn as_str(self) -> &'static str {
        match self {
            CeMetric::SavingsPlansUtilization => "savings_plans_utilization",
            CeMetric::ReservationUtilization => "reservation_utilization",
            CeMetric::SavingsPlansCoverage => "savings_plans_coverage",
            CeMetric::ReservationCoverage => "reservation_coverage",
        }
    }
}

/// One utilization or coverage figure of Cost Explorer over a period, for the account that
/// asked (a payer's account answers for its organisation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CeFigure {
    pub metric: CeMetric,
    pub account_id: String,
    pub start: NaiveDate,
    /// Exclusive, as Cost Explorer reads it.
    pub end: NaiveDate,
    /// A fraction (0.93 for 93 %); `None` when Cost Explorer gave no percentage.
    pub share: Option<Money>,
    /// Utilization: the commitment used; coverage: the spend (or hours) covered.
    pub covered: Option<Money>,
    /// Utilization: the commitment unused; coverage: the spend (or hours) on demand.
    pub uncovered: Option<Money>,
    /// What a commitment saved against on-demand prices over the period, where told.
    pub net_savings: Option<Money>,
}

/// One purchase recommendation of Cost Explorer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CeRecommendation {
    pub account_id: String,
    /// `Compute Savings Plan`, or `Reserved Instances` for reservations.
    pub kind: String,
    /// The service a reservation is for (Cost Explorer's service name); empty for plans.
    pub service: String,
    pub term_years: u32,
    /// `no_upfront`, `partial_upfront` or `all_upfront`.
    pub payment: String,
    pub currency: Currency,
    /// A plan's commitment per hour to buy.
    pub hourly_commitment: Option<Money>,
    /// Reservations: what to buy, e.g. `3 × m5.large (us-east-1)`, one per detail.
    pub items: Vec<String>,
    pub monthly_savings: Option<Money>,
    pub upfront: Option<Money>,
}

/// What the provider's APIs said about commitments in a run (`--aws`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiveCommitments {
    /// Sorted by id.
    pub commitments: Vec<LiveCommitment>,
    pub figures: Vec<CeFigure>,
    pub recommendations: Vec<CeRecommendation>,
}

impl LiveCommitments {
    pub fn is_empty(&self) -> bool {
        self.commitments.is_empty() && self.figures.is_empty() && self.recommendations.is_empty()
    }

    /// Adds another profile's answers; a commitment two profiles see is kept once.
    pub fn extend(&mut self, other: LiveCommitments) {
        self.commitments.extend(other.commitments);
        self.figures.extend(other.figures);
        self.recommendations.extend(other.recommendations);
        self.sort();
    }

    pub fn sort(&mut self) {
        self.commitments.sort_by(|a, b| a.id.cmp(&b.id));
        self.commitments.dedup_by(|a, b| a.id == b.id);
        self.figures.sort_by(|a, b| (a.metric, &a.account_id).cmp(&(b.metric, &b.account_id)));
        self.recommendations.sort_by(|a, b| {
            (&a.account_id, &a.kind, &a.service).cmp(&(&b.account_id, &b.kind, &b.service))
        });
    }
}
