//! Cost breakdowns: billing grouped by one dimension, per currency.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::Serialize;

use crate::model::{BillingLine, BillingSummary, Currency, Grain, Money};

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
    let mut grouping = Grouping::new();
    for line in &summary.lines {
        let key = dimension.key_of(summary, line);
        let amounts = (line.billed_cost, line.effective_cost, line.rows);
        grouping.add(key, &line.currency, amounts, || {
            let text = match key {
                GroupKey::Day(d) => d.map(|d| d.to_string()).unwrap_or_default(),
                GroupKey::Text(t) => t.to_string(),
            };
            let name = match dimension {
                Dimension::Account => summary.account_names.get(&line.account_id).cloned(),
                _ => None,
            };
            (text, name)
        });
    }
    grouping.finish(dimension)
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
}
