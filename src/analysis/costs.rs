//! Cost breakdowns: billing grouped by one dimension, per currency.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::Serialize;

use crate::model::{BillingLine, BillingSummary, Currency, DailyLine, Grain, Money};

/// What to group costs by.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Dimension {
    Service,
    Account,
    Region,
    Resource,
    Day,
    Provider,
    ChargeCategory,
    /// The value of one tag key; rows without it form the group with an empty key.
    Tag(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown dimension {0:?}: expected service, account, region, resource, day, provider, charge-category or tag:KEY"
)]
pub struct UnknownDimension(pub String);

impl FromStr for Dimension {
    type Err = UnknownDimension;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(key) = s.strip_prefix("tag:") {
            if key.trim().is_empty() {
                return Err(UnknownDimension(s.to_string()));
            }
            return Ok(Dimension::Tag(key.to_string()));
        }
        Ok(match s.to_ascii_lowercase().as_str() {
            "service" => Dimension::Service,
            "account" => Dimension::Account,
            "region" => Dimension::Region,
            "resource" => Dimension::Resource,
            "day" => Dimension::Day,
            "provider" => Dimension::Provider,
            "charge-category" | "charge_category" => Dimension::ChargeCategory,
            _ => return Err(UnknownDimension(s.to_string())),
        })
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dimension::Service => f.write_str("service"),
            Dimension::Account => f.write_str("account"),
            Dimension::Region => f.write_str("region"),
            Dimension::Resource => f.write_str("resource"),
            Dimension::Day => f.write_str("day"),
            Dimension::Provider => f.write_str("provider"),
            Dimension::ChargeCategory => f.write_str("charge_category"),
            Dimension::Tag(key) => write!(f, "tag:{key}"),
        }
    }
}

impl Dimension {
    /// The smallest grain that can answer this breakdown.
    pub fn grain(&self) -> Grain {
        let mut g = Grain::NONE;
        match self {
            Dimension::Service => g.service = true,
            Dimension::Account => g.account = true,
            Dimension::Region => g.region = true,
            Dimension::Resource => g.resource = true,
            Dimension::Day => g.day = true,
            Dimension::Provider => g.provider = true,
            Dimension::ChargeCategory => g.charge_category = true,
            Dimension::Tag(_) => g.tags = true,
        }
        g
    }

    /// The value of this dimension on `line` as text (a day as `YYYY-MM-DD`; empty: none).
    pub fn key_text<'a>(
        &self,
        summary: &'a BillingSummary,
        line: &'a BillingLine,
    ) -> std::borrow::Cow<'a, str> {
        match self.key_of(summary, line) {
            GroupKey::Text(text) => std::borrow::Cow::Borrowed(text),
            GroupKey::Day(day) => day.map(|d| d.to_string()).unwrap_or_default().into(),
        }
    }

    fn key_of<'a>(&self, summary: &'a BillingSummary, line: &'a BillingLine) -> GroupKey<'a> {
        match self {
            Dimension::Service => GroupKey::Text(&line.service),
            Dimension::Account => GroupKey::Text(&line.account_id),
            Dimension::Region => GroupKey::Text(&line.region),
            Dimension::Resource => GroupKey::Text(&line.resource_id),
            Dimension::Provider => GroupKey::Text(&line.provider),
            Dimension::ChargeCategory => GroupKey::Text(&line.charge_category),
            Dimension::Day => GroupKey::Day(line.day),
            Dimension::Tag(key) => GroupKey::Text(
                summary.tags_of(line).and_then(|t| t.get(key)).map_or("", String::as_str),
            ),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum GroupKey<'a> {
    Day(Option<NaiveDate>),
    Text(&'a str),
}

/// One group of a breakdown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CostRow {
    /// The group's value: a service name, an account id, a day (`YYYY-MM-DD`), a tag value.
    /// Empty when the rows had no value (no ResourceId, no such tag).
    pub key: String,
    /// A display name where the data has one (account names).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub currency: Currency,
    pub billed_cost: Money,
    pub effective_cost: Option<Money>,
    pub rows: u64,
}

/// Totals of one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CurrencyTotal {
    pub currency: Currency,
    pub billed_cost: Money,
    pub effective_cost: Option<Money>,
}

/// Billing grouped by one dimension. Rows are ordered by billed cost (largest first), then key;
/// for `day`, by date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CostBreakdown {
    pub dimension: String,
    pub rows: Vec<CostRow>,
    pub totals: Vec<CurrencyTotal>,
}

fn add_opt(slot: &mut Option<Money>, value: Option<Money>) {
    if let Some(v) = value {
        *slot.get_or_insert(Money::ZERO) += v;
    }
}

/// Sums of one breakdown in progress: groups keyed by `K` and currency, and per-currency totals.
struct Grouping<'a, K> {
    groups: BTreeMap<(K, &'a Currency), CostRow>,
    totals: BTreeMap<&'a Currency, CurrencyTotal>,
}

impl<'a, K: Ord> Grouping<'a, K> {
    fn new() -> Self {
        Grouping { groups: BTreeMap::new(), totals: BTreeMap::new() }
    }

    /// Adds amounts to the group `key`; `label` names a group the first time it is seen.
    fn add(
        &mut self,
        key: K,
        currency: &'a Currency,
        amounts: (Money, Option<Money>, u64),
        label: impl FnOnce() -> (String, Option<String>),
    ) {
        let (billed, effective, rows) = amounts;
        let row = self.groups.entry((key, currency)).or_insert_with(|| {
            let (key, name) = label();
            CostRow {
                key,
                name,
                currency: currency.clone(),
                billed_cost: Money::ZERO,
                effective_cost: None,
                rows: 0,
            }
        });
        row.billed_cost += billed;
        add_opt(&mut row.effective_cost, effective);
        row.rows += rows;
        let total = self.totals.entry(currency).or_insert_with(|| CurrencyTotal {
            currency: currency.clone(),
            billed_cost: Money::ZERO,
            effective_cost: None,
        });
        total.billed_cost += billed;
        add_opt(&mut total.effective_cost, effective);
    }

    fn finish(self, dimension: &Dimension) -> CostBreakdown {
        let mut rows: Vec<CostRow> = self.groups.into_values().collect();
        if *dimension != Dimension::Day {
            rows.sort_by(|a, b| {
                b.billed_cost
                    .cmp(&a.billed_cost)
                    .then_with(|| a.key.cmp(&b.key))
                    .then_with(|| a.currency.cmp(&b.currency))
            });
        }
        CostBreakdown {
            dimension: dimension.to_string(),
            rows,
            totals: self.totals.into_values().collect(),
        }
    }
}

/// Sums `lines` of `summary` into the groups of `dimension`.
fn group_lines<'a>(
    summary: &'a BillingSummary,
    dimension: &Dimension,
    lines: impl Iterator<Item = &'a BillingLine>,
) -> CostBreakdown {
    let mut grouping = Grouping::new();
    for line in lines {
        let key = dimension.key_of(summary, line);
        let amounts = (line.billed_cost, line.effective_cost, line.rows);
        grouping.add(key, &line.currency, amounts, || {
            let text = match key {
                GroupKey::Day(d) => d.map(|d| d.to_string()).unwrap_or_default(),
                GroupKey::Text(t) => t.to_string(),
            };
            let name = match dimension {
                Dimension::Account => summary.account_names.get(line.account_id.as_str()).cloned(),
                _ => None,
            };
            (text, name)
        });
    }
    grouping.finish(dimension)
}

/// Groups `summary` by `dimension`. Amounts of different currencies stay in separate rows.
pub fn breakdown(summary: &BillingSummary, dimension: &Dimension) -> CostBreakdown {
    if *dimension == Dimension::Day && !summary.daily.is_empty() {
        // At full grain, days live in the daily rollup beside the per-resource lines.
        let mut grouping = Grouping::new();
        for line in &summary.daily {
            let amounts = (line.billed_cost, line.effective_cost, line.rows);
            grouping.add(line.day, &line.currency, amounts, || (line.day.to_string(), None));
        }
        return grouping.finish(dimension);
    }
    group_lines(summary, dimension, summary.lines.iter())
}

/// What one filter of [`breakdown_where`] asks a line's key to be; `None` for a day filter whose
/// value is not a date, which no line matches.
fn wanted<'a>(dimension: &Dimension, value: &'a str) -> Option<GroupKey<'a>> {
    match dimension {
        Dimension::Day if value.is_empty() => Some(GroupKey::Day(None)),
        Dimension::Day => value.parse::<NaiveDate>().ok().map(|d| GroupKey::Day(Some(d))),
        _ => Some(GroupKey::Text(value)),
    }
}

/// The field of a daily rollup line that `dimension` names, for the dimensions the rollup keeps.
fn daily_value<'a>(dimension: &Dimension, line: &'a DailyLine) -> Option<&'a str> {
    match dimension {
        Dimension::Service => Some(&line.service),
        Dimension::Account => Some(&line.account_id),
        Dimension::Region => Some(&line.region),
        _ => None,
    }
}

/// Groups by `dimension` only the billing that matches every `(dimension, value)` filter: the
/// dashboard's drill-down (a service's resources, then one resource's days). A filter value
/// matches as a breakdown writes keys, so `""` selects the group without a value (no such tag,
/// no resource id) and days are `YYYY-MM-DD`. With no filters this is [`breakdown`].
///
/// Days come from the daily rollup when every filter is on a dimension it keeps (service,
/// account, region), so the answer does not depend on whether lines carry days; otherwise from
/// the per-resource lines, which carry their day at [`Grain::DETAILED`] only (at coarser grains
/// they all fall in the `""` day).
pub fn breakdown_where(
    summary: &BillingSummary,
    dimension: &Dimension,
    filters: &[(Dimension, String)],
) -> CostBreakdown {
    if filters.is_empty() {
        return breakdown(summary, dimension);
    }
    if *dimension == Dimension::Day
        && !summary.daily.is_empty()
        && filters
            .iter()
            .all(|(d, _)| matches!(d, Dimension::Service | Dimension::Account | Dimension::Region))
    {
        let mut grouping = Grouping::new();
        let kept = summary
            .daily
            .iter()
            .filter(|line| filters.iter().all(|(d, v)| daily_value(d, line) == Some(v.as_str())));
        for line in kept {
            let amounts = (line.billed_cost, line.effective_cost, line.rows);
            grouping.add(line.day, &line.currency, amounts, || (line.day.to_string(), None));
        }
        return grouping.finish(dimension);
    }
    let wanted: Option<Vec<(&Dimension, GroupKey<'_>)>> =
        filters.iter().map(|(d, v)| wanted(d, v).map(|k| (d, k))).collect();
    // A filter no line can match (a day that is not a date) leaves the breakdown empty.
    let wanted = wanted.unwrap_or_default();
    let lines = summary.lines.iter().filter(|line| {
        wanted.len() == filters.len()
            && wanted.iter().all(|(d, want)| d.key_of(summary, line) == *want)
    });
    group_lines(summary, dimension, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dimensions() {
        assert_eq!("service".parse::<Dimension>().unwrap(), Dimension::Service);
        assert_eq!("tag:team".parse::<Dimension>().unwrap(), Dimension::Tag("team".into()));
        assert!("tag:".parse::<Dimension>().is_err());
        assert!("colour".parse::<Dimension>().is_err());
    }

    fn line(
        day: u32,
        service: &str,
        resource: &str,
        tag_set: Option<u32>,
        billed: &str,
    ) -> BillingLine {
        BillingLine {
            day: NaiveDate::from_ymd_opt(2026, 10, day),
            provider: "AWS".into(),
            account_id: "222222222222".into(),
            service: service.into(),
            region: "us-east-1".into(),
            resource_id: resource.into(),
            charge_category: "Usage".into(),
            charge_frequency: String::new().into(),
            tag_set,
            currency: Currency::usd(),
            billed_cost: Money::parse(billed).unwrap(),
            effective_cost: Some(Money::parse(billed).unwrap()),
            list_cost: None,
            rows: 1,
        }
    }

    /// Two EC2 instances (one tagged team=web) and an untagged bucket over two days, per
    /// resource and day as the dashboard loads billing.
    fn detailed() -> BillingSummary {
        BillingSummary {
            grain: Grain::DETAILED,
            lines: vec![
                line(1, "EC2", "i-1", Some(0), "10"),
                line(2, "EC2", "i-1", Some(0), "12.5"),
                line(1, "EC2", "i-2", None, "3"),
                line(2, "S3", "bucket", None, "1.25"),
            ],
            tag_sets: vec![[("team".to_string(), "web".to_string())].into_iter().collect()],
            ..Default::default()
        }
    }

    fn keys_and_costs(b: &CostBreakdown) -> Vec<(String, String)> {
        b.rows.iter().map(|r| (r.key.clone(), r.billed_cost.to_string())).collect()
    }

    #[test]
    fn breakdown_where_drills_from_a_group_to_resources_to_days() {
        let summary = detailed();
        let ec2 = [(Dimension::Service, "EC2".to_string())];
        let resources = breakdown_where(&summary, &Dimension::Resource, &ec2);
        assert_eq!(resources.dimension, "resource");
        assert_eq!(
            keys_and_costs(&resources),
            [("i-1".into(), "22.5".into()), ("i-2".into(), "3".into())]
        );
        assert_eq!(resources.totals[0].billed_cost.to_string(), "25.5");
        assert_eq!(resources.totals[0].effective_cost.map(|m| m.to_string()), Some("25.5".into()));

        let i1 = [ec2[0].clone(), (Dimension::Resource, "i-1".to_string())];
        let days = breakdown_where(&summary, &Dimension::Day, &i1);
        assert_eq!(
            keys_and_costs(&days),
            [("2026-10-01".into(), "10".into()), ("2026-10-02".into(), "12.5".into())]
        );
        let one_day = [(Dimension::Day, "2026-10-02".to_string())];
        assert_eq!(
            keys_and_costs(&breakdown_where(&summary, &Dimension::Service, &one_day)).len(),
            2
        );
        let not_a_day = [(Dimension::Day, "tuesday".to_string())];
        assert!(breakdown_where(&summary, &Dimension::Service, &not_a_day).rows.is_empty());
    }

    #[test]
    fn breakdown_where_matches_the_empty_group_and_equals_breakdown_without_filters() {
        let summary = detailed();
        let untagged = [(Dimension::Tag("team".into()), String::new())];
        let b = breakdown_where(&summary, &Dimension::Resource, &untagged);
        assert_eq!(
            keys_and_costs(&b),
            [("i-2".into(), "3".into()), ("bucket".into(), "1.25".into())]
        );
        for d in [Dimension::Service, Dimension::Resource, Dimension::Day] {
            assert_eq!(breakdown_where(&summary, &d, &[]), breakdown(&summary, &d));
        }
    }

    #[test]
    fn breakdown_where_reads_days_of_a_service_from_the_daily_rollup() {
        // Lines without days (full grain) and the rollup beside them.
        let mut summary = detailed();
        for l in &mut summary.lines {
            l.day = None;
        }
        let daily = |day: u32, service: &str, billed: &str| DailyLine {
            day: NaiveDate::from_ymd_opt(2026, 10, day).unwrap(),
            service: service.into(),
            account_id: "222222222222".into(),
            region: "us-east-1".into(),
            charge_category: String::new().into(),
            charge_frequency: String::new().into(),
            currency: Currency::usd(),
            billed_cost: Money::parse(billed).unwrap(),
            effective_cost: None,
            rows: 1,
        };
        summary.daily =
            vec![daily(1, "EC2", "13"), daily(2, "EC2", "12.5"), daily(2, "S3", "1.25")];
        let ec2 = [(Dimension::Service, "EC2".to_string())];
        let days = breakdown_where(&summary, &Dimension::Day, &ec2);
        assert_eq!(
            keys_and_costs(&days),
            [("2026-10-01".into(), "13".into()), ("2026-10-02".into(), "12.5".into())]
        );
        assert_eq!(days.totals[0].effective_cost, None);
    }
}
