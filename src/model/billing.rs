//! Aggregated billing: FOCUS rows summed by key, at the grain the caller asked for.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::commitments::CommitmentData;
use super::currency::Currency;
use super::money::Money;
use super::sym::Sym;
use super::tags::Tags;

/// Which dimensions a [`BillingSummary`] keeps. Dropping dimensions keeps memory proportional
/// to the groups a command needs (`costs --by service` keeps only `service`).
///
/// When both `resource` and `day` are kept, lines are per resource for the whole period and
/// days go to the separate [`BillingSummary::daily`] rollup: resource × day would make almost
/// every row of a daily export a group of its own, and memory would follow the file size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Grain {
    pub day: bool,
    pub provider: bool,
    pub service: bool,
    pub account: bool,
    pub region: bool,
    pub resource: bool,
    pub charge_category: bool,
    pub tags: bool,
    /// Keep days on per-resource lines too (the dashboard's resource → daily drill-down).
    /// Memory then follows resource-days rather than resources.
    pub resource_days: bool,
    /// Keep commitment discounts and compute usage by pricing ([`CommitmentData`]).
    pub commitments: bool,
    /// Sum ListCost into the lines (a snapshot carries it); without it, and without
    /// `commitments`, ListCost is neither read nor checked and lines have none.
    pub list_cost: bool,
}

impl Default for Grain {
    fn default() -> Self {
        Grain::FULL
    }
}

impl Grain {
    /// Every dimension: what `report`, `tags`, `collect` and the dashboard need.
    pub const FULL: Grain = Grain {
        day: true,
        provider: true,
        service: true,
        account: true,
        region: true,
        resource: true,
        charge_category: true,
        tags: true,
        resource_days: false,
        commitments: true,
        list_cost: true,
    };
    /// [`Grain::FULL`] with days kept on resource lines: what the dashboard loads.
    pub const DETAILED: Grain = Grain { resource_days: true, ..Grain::FULL };
    pub const NONE: Grain = Grain {
        day: false,
        provider: false,
        service: false,
        account: false,
        region: false,
        resource: false,
        charge_category: false,
        tags: false,
        resource_days: false,
        commitments: false,
        list_cost: false,
    };

    /// Every dimension is kept (days on resource lines or not).
    pub fn is_full(&self) -> bool {
        Grain { resource_days: false, ..*self } == Grain::FULL
    }
}

/// Which billed amount is a resource's cost in the rules (`[billing] resource_cost`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceCost {
    /// BilledCost: what the invoice line says (zero on usage a commitment covered).
    Billed,
    /// EffectiveCost where rows have one (commitment purchases amortized over the usage they
    /// cover: what the organisation really pays), else BilledCost.
    #[default]
    Effective,
}

impl ResourceCost {
    /// A line's amount on this basis.
    pub fn of(self, line: &BillingLine) -> Money {
        match self {
            ResourceCost::Billed => line.billed_cost,
            ResourceCost::Effective => line.effective_cost.unwrap_or(line.billed_cost),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceCost::Billed => "billed",
            ResourceCost::Effective => "effective",
        }
    }
}

/// The sum of every billing row that shares this line's key. Dimensions the grain dropped are
/// empty strings (and `day` is `None`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingLine {
    pub day: Option<NaiveDate>,
    #[serde(default)]
    pub provider: Sym,
    /// SubAccountId, or BillingAccountId where SubAccountId is null.
    #[serde(default)]
    pub account_id: Sym,
    #[serde(default)]
    pub service: Sym,
    #[serde(default)]
    pub region: Sym,
    #[serde(default)]
    pub resource_id: Sym,
    #[serde(default)]
    pub charge_category: Sym,
    /// FOCUS ChargeFrequency (One-Time, Recurring, Usage-Based), kept with the charge category:
    /// what tells a one-time purchase from a monthly fee. Empty when the data has none.
    #[serde(default)]
    pub charge_frequency: Sym,
    /// Index into [`BillingSummary::tag_sets`]; `None` when the rows carried no Tags.
    #[serde(default)]
    pub tag_set: Option<u32>,
    pub currency: Currency,
    pub billed_cost: Money,
    /// `None` when no row of the group had an EffectiveCost.
    pub effective_cost: Option<Money>,
    pub list_cost: Option<Money>,
    /// FOCUS rows summed into this line.
    pub rows: u64,
}

/// Billing per day, service, account, region and charge category: the daily rollup kept beside
/// per-resource lines at full grain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailyLine {
    pub day: NaiveDate,
    #[serde(default)]
    pub service: Sym,
    #[serde(default)]
    pub account_id: Sym,
    #[serde(default)]
    pub region: Sym,
    /// FOCUS ChargeCategory (Usage, Purchase, Tax, Credit, Adjustment): what keeps one-time and
    /// recurring charges apart from usage in forecasts and anomalies read at full grain. Empty
    /// in snapshots written before it was kept.
    #[serde(default)]
    pub charge_category: Sym,
    /// FOCUS ChargeFrequency, as on [`BillingLine::charge_frequency`].
    #[serde(default)]
    pub charge_frequency: Sym,
    pub currency: Currency,
    pub billed_cost: Money,
    pub effective_cost: Option<Money>,
    pub rows: u64,
}

/// What billing said about one resource id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BilledResource {
    pub resource_type: Sym,
    pub resource_name: Sym,
    pub service: Sym,
    pub account_id: Sym,
    pub region: Sym,
    pub provider: Sym,
    /// Tags from the resource's most recent row.
    pub tags: Tags,
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
}

/// A row skipped by `--skip-invalid`, kept so every output can say what was left out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRow {
    pub file: String,
    pub line: u64,
    pub reason: String,
}

/// Rows skipped by `--skip-invalid`: the count, and the first few for the message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SkippedRows {
    pub count: u64,
    pub first: Vec<SkippedRow>,
}

impl SkippedRows {
    pub const KEEP: usize = 5;

    pub fn record(&mut self, row: SkippedRow) {
        self.count += 1;
        if self.first.len() < Self::KEEP {
            self.first.push(row);
        }
    }

    pub fn merge(&mut self, other: SkippedRows) {
        self.count += other.count;
        for row in other.first {
            if self.first.len() < Self::KEEP {
                self.first.push(row);
            }
        }
    }

    /// `3 invalid rows skipped (first at a.csv:5, a.csv:9)`, or `None` when nothing was skipped.
    pub fn summary(&self) -> Option<String> {
        if self.count == 0 {
            return None;
        }
        let places: Vec<String> =
            self.first.iter().map(|r| format!("{}:{} ({})", r.file, r.line, r.reason)).collect();
        Some(format!(
            "{} invalid row{} skipped (first: {})",
            self.count,
            if self.count == 1 { "" } else { "s" },
            places.join("; ")
        ))
    }
}

/// Billing from every file of a run, aggregated.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BillingSummary {
    /// The files (or other sources) the lines came from.
    pub sources: Vec<String>,
    pub grain: Grain,
    /// Sorted by key, so identical input serializes identically.
    pub lines: Vec<BillingLine>,
    /// Daily rollup, present when the grain keeps both resources and days. Sorted.
    pub daily: Vec<DailyLine>,
    /// First and last day with a charge (UTC), whatever the grain.
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
    pub tag_sets: Vec<Tags>,
    /// Account id → display name, where the data had one.
    pub account_names: BTreeMap<String, String>,
    /// Resource id → attributes; filled at full grain only.
    pub resources: BTreeMap<Sym, BilledResource>,
    pub rows_read: u64,
    pub skipped: SkippedRows,
    /// Cost per value of each tag key, from sources that group by one tag key at a time
    /// instead of tagging lines (Cost Explorer). An empty value is the key's untagged cost.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tag_costs: Vec<TagCost>,
    /// Commitment discounts and the compute usage they could cover (FOCUS only).
    #[serde(skip_serializing_if = "CommitmentData::is_empty")]
    pub commitments: CommitmentData,
}

/// Billed cost of one value of one tag key over the whole period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagCost {
    pub key: String,
    /// Empty: the cost that does not carry the key.
    pub value: String,
    pub currency: Currency,
    pub billed_cost: Money,
}

impl BillingSummary {
    pub fn tags_of(&self, line: &BillingLine) -> Option<&Tags> {
        line.tag_set.and_then(|i| self.tag_sets.get(i as usize))
    }

    /// Sum of billed cost per resource id and currency, at full grain.
    pub fn cost_by_resource(&self) -> BTreeMap<(&str, &Currency), Money> {
        let mut out = BTreeMap::new();
        for line in self.lines.iter().filter(|l| !l.resource_id.is_empty()) {
            *out.entry((line.resource_id.as_str(), &line.currency)).or_insert(Money::ZERO) +=
                line.billed_cost;
        }
        out
    }

    /// First and last day with charges.
    pub fn period(&self) -> Option<(NaiveDate, NaiveDate)> {
        Some((self.first_day?, self.last_day?))
    }

    /// One resource's cost (on `basis`) scaled to a month: its cost over the days it was billed
    /// (first to last day, inclusive) × `hours_per_month` / (24 × days), rounded to
    /// [`super::money::ESTIMATE_DIGITS`] decimals. Returns the monthly figure, its currency and
    /// the days billed.
    ///
    /// The hours come from the caller (`crate::pricing::HOURS_PER_MONTH`) because `model` does not
    /// depend on `pricing`. `None` when the summary has no per-resource lines (or no
    /// [`BillingSummary::resources`] entry with days) for `resource_id`, or when its lines are in
    /// more than one currency: amounts of different currencies are never summed. One pass over
    /// the lines; callers pricing many resources at once should call it only for the ids they need.
    pub fn monthly_cost(
        &self,
        resource_id: &str,
        hours_per_month: i64,
        basis: ResourceCost,
    ) -> Option<(Money, Currency, i64)> {
        if resource_id.is_empty() || !self.grain.resource {
            return None;
        }
        let resource = self.resources.get(resource_id)?;
        let days = (resource.last_day? - resource.first_day?).num_days() + 1;
        if days <= 0 {
            return None;
        }
        let mut billed: Option<(Money, &Currency)> = None;
        for line in self.lines.iter().filter(|l| l.resource_id == resource_id) {
            match &mut billed {
                None => billed = Some((basis.of(line), &line.currency)),
                Some((sum, currency)) if *currency == &line.currency => *sum += basis.of(line),
                Some(_) => return None,
            }
        }
        let (cost, currency) = billed?;
        let monthly = cost
            .mul_ratio(i128::from(hours_per_month), 24 * i128::from(days))
            .round_dp(super::money::ESTIMATE_DIGITS);
        Some((monthly, currency.clone(), days))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(resource_id: &str, currency: &str, billed: &str) -> BillingLine {
        BillingLine {
            day: None,
            provider: "AWS".into(),
            account_id: "222222222222".into(),
            service: "Amazon Elastic Compute Cloud".into(),
            region: "us-east-1".into(),
            resource_id: resource_id.into(),
            charge_category: "Usage".into(),
            charge_frequency: String::new().into(),
            tag_set: None,
            currency: Currency::new(currency),
            billed_cost: Money::parse(billed).unwrap(),
            effective_cost: None,
            list_cost: None,
            rows: 1,
        }
    }

    fn billed(id: &str, first: u32, last: u32) -> (Sym, BilledResource) {
        let day = |d| NaiveDate::from_ymd_opt(2026, 10, d);
        (
            id.into(),
            BilledResource { first_day: day(first), last_day: day(last), ..Default::default() },
        )
    }

    #[test]
    fn monthly_cost_scales_the_billed_days_to_a_month() {
        // m5.large: 0.096/h × 24 = 2.304 a day; 10 days billed = 23.04, split over two lines.
        let summary = BillingSummary {
            lines: vec![line("i-1", "USD", "20"), line("i-1", "USD", "3.04")],
            resources: [billed("i-1", 1, 10)].into_iter().collect(),
            ..Default::default()
        };
        let (monthly, currency, days) =
            summary.monthly_cost("i-1", 730, ResourceCost::Billed).unwrap();
        assert_eq!(monthly.to_string(), "70.08");
        assert_eq!(currency, Currency::usd());
        assert_eq!(days, 10);
        assert_eq!(summary.monthly_cost("i-2", 730, ResourceCost::Billed), None);
        assert_eq!(summary.monthly_cost("", 730, ResourceCost::Billed), None);
    }

    #[test]
    fn monthly_cost_never_sums_two_currencies() {
        let summary = BillingSummary {
            lines: vec![line("i-1", "USD", "1"), line("i-1", "EUR", "1")],
            resources: [billed("i-1", 1, 1)].into_iter().collect(),
            ..Default::default()
        };
        assert_eq!(summary.monthly_cost("i-1", 730, ResourceCost::Billed), None);
    }
}
