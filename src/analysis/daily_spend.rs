//! Daily spend split by the largest services, the series a stacked chart draws: usage of each
//! top service, the rest of usage, and the charges that are not usage (purchases, fees, tax,
//! credits) kept apart, as a one-time purchase would otherwise read as a day of usage.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::analysis::forecast::is_usage;
use crate::model::{BillingSummary, Currency, Money};

/// One currency's daily spend by service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DailyServiceSpend {
    pub currency: Currency,
    /// The services drawn apart, largest usage over the period first; the rest of usage is
    /// [`SpendDay::other_usage`].
    pub services: Vec<String>,
    /// Every day of the billing period in order, days without charges as zero.
    pub days: Vec<SpendDay>,
}

/// One day of [`DailyServiceSpend`]; `usage + other_usage + other_charges` is the day's billed
/// cost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SpendDay {
    pub day: NaiveDate,
    /// Usage of each of [`DailyServiceSpend::services`], in that order.
    pub usage: Vec<Money>,
    pub other_usage: Money,
    /// Charges whose ChargeCategory is not usage: purchases, recurring fees, tax, credits
    /// (negative) and adjustments.
    pub other_charges: Money,
}

impl SpendDay {
    pub fn total(&self) -> Money {
        self.usage.iter().copied().sum::<Money>() + self.other_usage + self.other_charges
    }
}

/// The daily spend of every currency with dated billing, sorted by currency, with at most
/// `top` services drawn apart. Days come from the daily rollup (full grain) when the summary
/// has one, else from lines that carry a day; without days the list is empty.
pub fn daily_by_service(billing: &BillingSummary, top: usize) -> Vec<DailyServiceSpend> {
    #[derive(Default)]
    struct Sums<'a> {
        usage: BTreeMap<(NaiveDate, &'a str), Money>,
        by_service: BTreeMap<&'a str, Money>,
        other_charges: BTreeMap<NaiveDate, Money>,
    }
    let mut per_currency: BTreeMap<&Currency, Sums<'_>> = BTreeMap::new();
    let mut add = |currency, service, day, category, billed| {
        let sums = per_currency.entry(currency).or_default();
        if is_usage(category) {
            *sums.usage.entry((day, service)).or_default() += billed;
            *sums.by_service.entry(service).or_default() += billed;
        } else {
            *sums.other_charges.entry(day).or_default() += billed;
        }
    };
    if billing.daily.is_empty() {
        for l in &billing.lines {
            if let Some(day) = l.day {
                add(
                    &l.currency,
                    l.service.as_str(),
                    day,
                    l.charge_category.as_str(),
                    l.billed_cost,
                );
            }
        }
    } else {
        for l in &billing.daily {
            add(&l.currency, l.service.as_str(), l.day, l.charge_category.as_str(), l.billed_cost);
        }
    }
    let days = per_currency
        .values()
        .flat_map(|s| s.usage.keys().map(|(d, _)| *d).chain(s.other_charges.keys().copied()));
    let (Some(first), Some(last)) = (days.clone().min(), days.max()) else {
        return Vec::new();
    };
    let (first, last) = match billing.period() {
        Some((a, b)) => (a.min(first), b.max(last)),
        None => (first, last),
    };
    per_currency
        .into_iter()
        .map(|(currency, sums)| {
            let mut ranked: Vec<(&str, Money)> =
                sums.by_service.iter().map(|(s, m)| (*s, *m)).collect();
            ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            // A service whose usage nets to nothing or less has no bar to draw.
            let services: Vec<&str> =
                ranked.iter().filter(|(_, m)| m.raw() > 0).take(top).map(|(s, _)| *s).collect();
            let days = first
                .iter_days()
                .take_while(|d| *d <= last)
                .map(|day| {
                    let usage: Vec<Money> = services
                        .iter()
                        .map(|s| sums.usage.get(&(day, *s)).copied().unwrap_or_default())
                        .collect();
                    let all_usage: Money = sums
                        .usage
                        .range((day, "")..)
                        .take_while(|((d, _), _)| *d == day)
                        .map(|(_, m)| *m)
                        .sum();
                    let drawn: Money = usage.iter().copied().sum();
                    SpendDay {
                        day,
                        usage,
                        other_usage: all_usage - drawn,
                        other_charges: sums.other_charges.get(&day).copied().unwrap_or_default(),
                    }
                })
                .collect();
            DailyServiceSpend {
                currency: currency.clone(),
                services: services.into_iter().map(str::to_string).collect(),
                days,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DailyLine, Grain};

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, d).unwrap()
    }

    fn line(d: u32, service: &str, category: &str, billed: &str) -> DailyLine {
        DailyLine {
            day: day(d),
            service: service.into(),
            account_id: "1".into(),
            region: String::new().into(),
            charge_category: category.into(),
            charge_frequency: String::new().into(),
            currency: Currency::usd(),
            billed_cost: billed.parse().unwrap(),
            effective_cost: None,
            rows: 1,
        }
    }

    #[test]
    fn top_services_apart_the_rest_summed_and_charges_kept_apart() {
        let billing = BillingSummary {
            grain: Grain::FULL,
            daily: vec![
                line(1, "EC2", "Usage", "10"),
                line(1, "S3", "Usage", "3"),
                line(1, "RDS", "", "5"),
                line(1, "Support", "Purchase", "100"),
                line(3, "EC2", "Usage", "12"),
                line(3, "S3", "Usage", "1"),
                line(3, "EC2", "Credit", "-4"),
            ],
            first_day: Some(day(1)),
            last_day: Some(day(3)),
            ..BillingSummary::default()
        };
        let [spend] = daily_by_service(&billing, 2).try_into().unwrap();
        // Usage over the period: EC2 22, RDS 5, S3 4.
        assert_eq!(spend.services, ["EC2", "RDS"]);
        assert_eq!(spend.days.len(), 3);
        let m = |s: &str| s.parse::<Money>().unwrap();
        assert_eq!(spend.days[0].usage, [m("10"), m("5")]);
        assert_eq!(spend.days[0].other_usage, m("3"));
        assert_eq!(spend.days[0].other_charges, m("100"));
        assert_eq!(spend.days[0].total(), m("118"));
        assert_eq!(spend.days[1].total(), Money::ZERO);
        assert_eq!(spend.days[2].usage, [m("12"), Money::ZERO]);
        assert_eq!(spend.days[2].other_usage, m("1"));
        assert_eq!(spend.days[2].other_charges, m("-4"));
    }

    #[test]
    fn no_days_no_series() {
        assert!(daily_by_service(&BillingSummary::default(), 5).is_empty());
    }
}
