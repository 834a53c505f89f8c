//! What changed: each group's billed cost in the latest period against the period before,
//! per currency, with the top movers and the groups that appeared or vanished.
//!
//! Periods are compared like for like. A month compares the latest month to date with the same
//! days of the month before (1–20 November against 1–20 October), or two whole months when the
//! data ends on a month's last day; a week is the last 7 days against the 7 before; a day the
//! last day against the one before. A period the data does not fully cover is never compared:
//! half a month of data against a whole one reads as a fall that did not happen.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::Serialize;

use super::costs::Dimension;
use crate::model::{BillingSummary, Currency, Grain, Money};

/// Groups listed as the largest rises and falls.
pub const TOP_MOVERS: usize = 5;

/// How long the compared periods are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Month,
    Week,
    Day,
}

impl FromStr for Period {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "month" => Ok(Period::Month),
            "week" => Ok(Period::Week),
            "day" => Ok(Period::Day),
            _ => Err(format!("unknown period {s:?}: expected month, week or day")),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Period::Month => "month",
            Period::Week => "week",
            Period::Day => "day",
        })
    }
}

/// Why two periods cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrendsError {
    #[error("the billing has no dated rows: trends need days")]
    NoDays,
    #[error(
        "comparing {current_from}..{last} with the {period} before needs billing from \
         {needed_from}, and the billing covers {first} to {last} (try a shorter --period)"
    )]
    TooShort {
        period: Period,
        first: NaiveDate,
        last: NaiveDate,
        needed_from: NaiveDate,
        current_from: NaiveDate,
    },
    #[error("trends group by a dimension other than day (the periods are the days)")]
    ByDay,
}

/// A span of days, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Span {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Span {
    fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }
}

/// How a group moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Movement {
    /// Billed in both periods.
    Changed,
    /// Billed only in the current period.
    New,
    /// Billed only in the previous period.
    Vanished,
}

/// One group in both periods.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupTrend {
    /// The group's value (a service name, an account id, a tag value; empty: rows without one).
    pub key: String,
    /// A display name where the data has one (account names).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub previous: Money,
    pub current: Money,
    /// `current − previous`.
    pub change: Money,
    /// `change / previous` as a fraction rounded to 6 decimals (`0.25` is +25 %); `None` when
    /// the previous period's cost is not positive.
    pub change_ratio: Option<Money>,
    pub movement: Movement,
}

/// The comparison in one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CurrencyTrends {
    pub currency: Currency,
    pub previous_total: Money,
    pub current_total: Money,
    pub change: Money,
    pub change_ratio: Option<Money>,
    /// Every group, largest absolute change first (then key).
    pub groups: Vec<GroupTrend>,
    /// Keys of the largest rises (positive changes), at most [`TOP_MOVERS`].
    pub top_up: Vec<String>,
    /// Keys of the largest falls (negative changes), at most [`TOP_MOVERS`].
    pub top_down: Vec<String>,
}

/// Trends of one dimension.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Trends {
    pub dimension: String,
    pub period: Period,
    pub previous: Span,
    pub current: Span,
    pub currencies: Vec<CurrencyTrends>,
}

/// The grain billing must be read at to compare periods by `by`.
pub fn grain_for(by: &Dimension) -> Grain {
    let mut grain = by.grain();
    grain.day = true;
    if grain.resource {
        // Resource lines keep their days only with `resource_days`.
        grain.resource_days = true;
    }
    grain
}

/// The period a comparison uses when none is asked: month over month when the data covers the
/// month before to date, else week over week, else day over day.
pub fn default_period(first: NaiveDate, last: NaiveDate) -> Period {
    [Period::Month, Period::Week]
        .into_iter()
        .find(|p| spans(*p, last).is_some_and(|(previous, _)| previous.from >= first))
        .unwrap_or(Period::Day)
}

/// The previous and current spans of `period` for data ending on `last`.
pub fn spans(period: Period, last: NaiveDate) -> Option<(Span, Span)> {
    match period {
        Period::Day => {
            let previous = last.pred_opt()?;
            Some((Span { from: previous, to: previous }, Span { from: last, to: last }))
        }
        Period::Week => {
            let current_from = last.checked_sub_days(Days::new(6))?;
            let previous_to = current_from.pred_opt()?;
            let previous_from = previous_to.checked_sub_days(Days::new(6))?;
            Some((
                Span { from: previous_from, to: previous_to },
                Span { from: current_from, to: last },
            ))
        }
        Period::Month => {
            let current_from = last.with_day(1)?;
            let previous_from = current_from.checked_sub_months(Months::new(1))?;
            let month_ends = last.succ_opt().is_some_and(|next| next.day() == 1);
            let previous_to = if month_ends {
                current_from.pred_opt()?
            } else {
                // The same days of the month before, cut at its end (31 March → 28 February).
                let same_day = previous_from.with_day(last.day());
                same_day.unwrap_or(current_from.pred_opt()?)
            };
            Some((
                Span { from: previous_from, to: previous_to },
                Span { from: current_from, to: last },
            ))
        }
    }
}

/// Compares the latest `period` (or the [`default_period`]) with the one before, per group of
/// `by`, in each currency. The summary must be read at [`grain_for`]`(by)`.
pub fn trends(
    summary: &BillingSummary,
    by: &Dimension,
    period: Option<Period>,
) -> Result<Trends, TrendsError> {
    if *by == Dimension::Day {
        return Err(TrendsError::ByDay);
    }
    let (Some(first), Some(last)) = (summary.first_day, summary.last_day) else {
        return Err(TrendsError::NoDays);
    };
    let period = period.unwrap_or_else(|| default_period(first, last));
    let Some((previous, current)) = spans(period, last) else {
        return Err(TrendsError::NoDays);
    };
    if previous.from < first {
        return Err(TrendsError::TooShort {
            period,
            first,
            last,
            needed_from: previous.from,
            current_from: current.from,
        });
    }
    // (currency, key) → (previous, current, billed in previous, billed in current, name)
    type Sums = (Money, Money, bool, bool, Option<String>);
    let mut groups: BTreeMap<(&Currency, std::borrow::Cow<'_, str>), Sums> = BTreeMap::new();
    for line in &summary.lines {
        let Some(day) = line.day else { continue };
        let (in_previous, in_current) = (previous.contains(day), current.contains(day));
        if !in_previous && !in_current {
            continue;
        }
        let key = by.key_text(summary, line);
        let entry = groups.entry((&line.currency, key)).or_insert_with(|| {
            let name = match by {
                Dimension::Account => summary.account_names.get(line.account_id.as_str()).cloned(),
                _ => None,
            };
            (Money::ZERO, Money::ZERO, false, false, name)
        });
        if in_previous {
            entry.0 += line.billed_cost;
            entry.2 = true;
        } else {
            entry.1 += line.billed_cost;
            entry.3 = true;
        }
    }
    let mut by_currency: BTreeMap<&Currency, Vec<GroupTrend>> = BTreeMap::new();
    for ((currency, key), (previous, current, was, is, name)) in groups {
        let movement = match (was, is) {
            (true, true) => Movement::Changed,
            (false, _) => Movement::New,
            (true, false) => Movement::Vanished,
        };
        let change = current - previous;
        by_currency.entry(currency).or_default().push(GroupTrend {
            key: key.into_owned(),
            name,
            previous,
            current,
            change,
            change_ratio: ratio(change, previous),
            movement,
        });
    }
    let currencies = by_currency
        .into_iter()
        .map(|(currency, mut groups)| {
            groups.sort_by(|a, b| {
                b.change
                    .raw()
                    .unsigned_abs()
                    .cmp(&a.change.raw().unsigned_abs())
                    .then_with(|| a.key.cmp(&b.key))
            });
            let previous_total: Money = groups.iter().map(|g| g.previous).sum();
            let current_total: Money = groups.iter().map(|g| g.current).sum();
            // `groups` is already ordered by the size of the change, then key.
            let movers = |rising: bool| -> Vec<String> {
                groups
                    .iter()
                    .filter(
                        |g| if rising { g.change > Money::ZERO } else { g.change < Money::ZERO },
                    )
                    .take(TOP_MOVERS)
                    .map(|g| g.key.clone())
                    .collect()
            };
            let (top_up, top_down) = (movers(true), movers(false));
            let change = current_total - previous_total;
            CurrencyTrends {
                currency: currency.clone(),
                previous_total,
                current_total,
                change,
                change_ratio: ratio(change, previous_total),
                groups,
                top_up,
                top_down,
            }
        })
        .collect();
    Ok(Trends { dimension: by.to_string(), period, previous, current, currencies })
}

fn ratio(change: Money, previous: Money) -> Option<Money> {
    change.share_of(previous)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BillingLine;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn line(d: &str, service: &str, currency: &str, cost: &str) -> BillingLine {
        BillingLine {
            day: Some(day(d)),
            provider: String::new().into(),
            account_id: String::new().into(),
            service: service.into(),
            region: String::new().into(),
            resource_id: String::new().into(),
            charge_category: String::new().into(),
            charge_frequency: String::new().into(),
            tag_set: None,
            currency: Currency::new(currency),
            billed_cost: cost.parse().unwrap(),
            effective_cost: None,
            list_cost: None,
            rows: 1,
        }
    }

    fn summary(lines: Vec<BillingLine>) -> BillingSummary {
        BillingSummary {
            grain: grain_for(&Dimension::Service),
            first_day: lines.iter().filter_map(|l| l.day).min(),
            last_day: lines.iter().filter_map(|l| l.day).max(),
            lines,
            ..Default::default()
        }
    }

    #[test]
    fn month_to_date_is_compared_with_the_same_days_of_the_month_before() {
        let s = summary(vec![
            line("2026-10-01", "EC2", "USD", "100"),
            line("2026-10-20", "EC2", "USD", "50"),
            // After the 20th of October: not in the comparison with 1–20 November.
            line("2026-10-25", "EC2", "USD", "999"),
            line("2026-10-05", "S3", "USD", "40"),
            line("2026-11-03", "EC2", "USD", "200"),
            line("2026-11-20", "EC2", "USD", "10"),
            line("2026-11-10", "RDS", "USD", "30"),
        ]);
        let t = trends(&s, &Dimension::Service, None).unwrap();
        assert_eq!(t.period, Period::Month);
        assert_eq!(t.previous, Span { from: day("2026-10-01"), to: day("2026-10-20") });
        assert_eq!(t.current, Span { from: day("2026-11-01"), to: day("2026-11-20") });
        let usd = &t.currencies[0];
        let row = |k: &str| usd.groups.iter().find(|g| g.key == k).unwrap();
        // EC2: 150 → 210, +60, +40 %.
        assert_eq!(row("EC2").previous.to_string(), "150");
        assert_eq!(row("EC2").current.to_string(), "210");
        assert_eq!(row("EC2").change_ratio.map(|r| r.to_string()).as_deref(), Some("0.4"));
        assert_eq!(row("S3").movement, Movement::Vanished);
        assert_eq!(row("S3").change.to_string(), "-40");
        assert_eq!(row("RDS").movement, Movement::New);
        assert_eq!(row("RDS").change_ratio, None);
        // Totals 190 → 240: +50, +26.3158 %.
        assert_eq!(usd.change.to_string(), "50");
        assert_eq!(usd.change_ratio.map(|r| r.to_string()).as_deref(), Some("0.263158"));
        assert_eq!(usd.top_up, ["EC2", "RDS"]);
        assert_eq!(usd.top_down, ["S3"]);
        // Ordered by the size of the change: EC2 60, S3 40, RDS 30.
        let keys: Vec<&str> = usd.groups.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys, ["EC2", "S3", "RDS"]);
    }

    #[test]
    fn a_month_that_ends_compares_whole_months_and_short_months_are_cut() {
        let whole = summary(vec![
            line("2026-10-01", "EC2", "USD", "1"),
            line("2026-11-30", "EC2", "USD", "2"),
        ]);
        let t = trends(&whole, &Dimension::Service, None).unwrap();
        assert_eq!(t.previous, Span { from: day("2026-10-01"), to: day("2026-10-31") });
        assert_eq!(t.current, Span { from: day("2026-11-01"), to: day("2026-11-30") });
        let march = summary(vec![
            line("2027-02-01", "EC2", "USD", "1"),
            line("2027-03-30", "EC2", "USD", "2"),
        ]);
        let t = trends(&march, &Dimension::Service, None).unwrap();
        assert_eq!(t.previous, Span { from: day("2027-02-01"), to: day("2027-02-28") });
    }

    #[test]
    fn without_a_month_before_the_default_is_week_then_day_and_currencies_stay_apart() {
        let s = summary(vec![
            line("2026-11-01", "EC2", "USD", "5"),
            line("2026-11-07", "EC2", "USD", "5"),
            line("2026-11-08", "EC2", "USD", "7"),
            line("2026-11-14", "EC2", "EUR", "3"),
        ]);
        let t = trends(&s, &Dimension::Service, None).unwrap();
        assert_eq!(t.period, Period::Week);
        assert_eq!(t.previous, Span { from: day("2026-11-01"), to: day("2026-11-07") });
        let (eur, usd) = (&t.currencies[0], &t.currencies[1]);
        assert_eq!((eur.currency.to_string(), eur.change.to_string()), ("EUR".into(), "3".into()));
        assert_eq!(
            (usd.previous_total.to_string(), usd.current_total.to_string()),
            ("10".into(), "7".into())
        );
        let short = summary(vec![
            line("2026-11-13", "EC2", "USD", "1"),
            line("2026-11-14", "EC2", "USD", "2"),
        ]);
        assert_eq!(trends(&short, &Dimension::Service, None).unwrap().period, Period::Day);
        let err = trends(&short, &Dimension::Service, Some(Period::Week)).unwrap_err();
        assert!(err.to_string().contains("needs billing from 2026-11-01"), "{err}");
        let one = summary(vec![line("2026-11-14", "EC2", "USD", "2")]);
        assert!(matches!(
            trends(&one, &Dimension::Service, None),
            Err(TrendsError::TooShort { .. })
        ));
        assert_eq!(trends(&s, &Dimension::Day, None), Err(TrendsError::ByDay));
    }
}
