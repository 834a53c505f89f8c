//! The numbers of the dashboard's overview, per currency: spend this month against the previous
//! month, a month-end forecast, the daily series for the chart and the top services.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::Serialize;

use crate::analysis::forecast::{CurrencyForecast, Forecast, Horizon, forecast_billing};
use crate::model::{BillingSummary, Currency, Money};

/// Services listed by name in [`CurrencyOverview::top_services`]; the rest are summed.
pub const TOP_SERVICES: usize = 10;

/// Billed spend of one calendar month (or the part of it the data covers).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MonthSpend {
    /// The first day of the calendar month.
    pub month: NaiveDate,
    /// Days of the month inside the data's period: the whole month for the previous month, the
    /// days up to the period's end for the current one.
    pub days_covered: u32,
    /// Days in the calendar month.
    pub days_in_month: u32,
    /// Sum of billed cost dated in the month (credits included, so it can be negative).
    pub billed_cost: Money,
}

/// One service's billed spend in the current month.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServiceSpend {
    /// ServiceName; empty when the billing rows had none.
    pub service: String,
    pub billed_cost: Money,
    /// `billed_cost / month's spend` rounded half to even to 6 decimals (`0.123456` is 12.35 %),
    /// as `tag_coverage` writes shares: exact, so the JSON never carries float noise. `None`
    /// when the month's spend is not positive.
    pub share: Option<Money>,
}

/// The services after the first [`TOP_SERVICES`], summed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OtherServices {
    /// How many services the remainder sums.
    pub services: u64,
    pub billed_cost: Money,
    /// Share of the month's spend, as in [`ServiceSpend::share`].
    pub share: Option<Money>,
}

/// The overview of one currency.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CurrencyOverview {
    pub currency: Currency,
    /// The data's first and last day (the billing period, the same for every currency).
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// The calendar month of `period_end`, to date.
    pub current_month: MonthSpend,
    /// The calendar month before, when the data covers all of it (`period_start` on or before
    /// its first day); `None` otherwise, as a partial month would make a false comparison.
    pub previous_month: Option<MonthSpend>,
    /// `current_month − previous_month` (month to date against the whole previous month).
    pub change: Option<Money>,
    /// `change / previous_month × 100`, for display; `None` when the previous month is absent,
    /// zero or negative.
    pub change_percent: Option<f64>,
    /// The month-end forecast's point estimate, `forecast.total`; `None` without a forecast.
    pub forecast_month_end: Option<Money>,
    /// The forecast of the calendar month of `period_end` ([`crate::analysis::forecast`]):
    /// usage fitted apart from recurring and one-time charges, with a range. Equals the month's
    /// spend when the data ends on its last day.
    pub forecast: Option<Forecast>,
    /// Why there is no forecast (too few days of data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast_unavailable: Option<String>,
    /// Billed cost of every day of the period, in order, days without charges as zero.
    pub daily: Vec<(NaiveDate, Money)>,
    /// The usage part of `daily` (ChargeCategory `Usage`, or none), day by day: the chart's
    /// series, as a month's purchases, tax and credits on its first day would dwarf the rest.
    pub daily_usage: Vec<(NaiveDate, Money)>,
    /// The current month's largest services by billed cost (largest first, then by name).
    pub top_services: Vec<ServiceSpend>,
    /// The current month's other services, summed; `None` when every service is listed.
    pub other_services: Option<OtherServices>,
}

fn share_6dp(part: Money, whole: Money) -> Option<Money> {
    part.share_of(whole)
}

fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// Days in the month starting on `month` (a first day).
fn days_in_month(month: NaiveDate) -> u32 {
    month
        .checked_add_months(Months::new(1))
        .map_or(31, |next| u32::try_from((next - month).num_days()).unwrap_or(31))
}

/// The dated billing of one currency: billed cost per day, and per service and day.
#[derive(Default)]
struct Dated<'a> {
    by_day: BTreeMap<NaiveDate, Money>,
    usage_by_day: BTreeMap<NaiveDate, Money>,
    by_service_day: BTreeMap<(&'a str, NaiveDate), Money>,
}

/// Computes the overview of every currency in the billing, sorted by currency. Days come from
/// the daily rollup when the summary has one (full grain), else from lines that carry a day; a
/// summary without days gives an empty list. The forecast is [`forecast_billing`]'s for the
/// month of the period's last day, which is taken as complete (billing exports close a day
/// before they write it; a source that writes a partial today must leave it out).
pub fn overview(billing: &BillingSummary) -> Vec<CurrencyOverview> {
    type Row<'a> = (&'a Currency, &'a str, NaiveDate, &'a str, Money);
    let rows: Box<dyn Iterator<Item = Row<'_>>> = if billing.daily.is_empty() {
        Box::new(billing.lines.iter().filter_map(|l| {
            Some((
                &l.currency,
                l.service.as_str(),
                l.day?,
                l.charge_category.as_str(),
                l.billed_cost,
            ))
        }))
    } else {
        Box::new(billing.daily.iter().map(|l| {
            (&l.currency, l.service.as_str(), l.day, l.charge_category.as_str(), l.billed_cost)
        }))
    };
    let mut dated: BTreeMap<&Currency, Dated<'_>> = BTreeMap::new();
    for (currency, service, day, category, billed) in rows {
        let d = dated.entry(currency).or_default();
        *d.by_day.entry(day).or_default() += billed;
        if crate::analysis::forecast::is_usage(category) {
            *d.usage_by_day.entry(day).or_default() += billed;
        }
        *d.by_service_day.entry((service, day)).or_default() += billed;
    }
    let days = dated.values().flat_map(|d| d.by_day.keys().copied());
    let (Some(first_dated), Some(last_dated)) = (days.clone().min(), days.max()) else {
        return Vec::new();
    };
    let (period_start, period_end) = match billing.period() {
        Some((first, last)) => (first.min(first_dated), last.max(last_dated)),
        None => (first_dated, last_dated),
    };
    let mut forecasts: BTreeMap<Currency, CurrencyForecast> =
        forecast_billing(billing, Horizon::Month)
            .into_iter()
            .map(|f| (f.currency.clone(), f))
            .collect();
    dated
        .into_iter()
        .map(|(currency, d)| {
            let mut ov = currency_overview(currency, &d, period_start, period_end);
            if let Some(f) = forecasts.remove(currency) {
                ov.forecast_month_end = f.forecast.as_ref().map(|f| f.total);
                ov.forecast = f.forecast;
                ov.forecast_unavailable = f.unavailable;
            }
            ov
        })
        .collect()
}

fn currency_overview(
    currency: &Currency,
    dated: &Dated<'_>,
    period_start: NaiveDate,
    period_end: NaiveDate,
) -> CurrencyOverview {
    let month_start = first_of_month(period_end);
    let sum_between = |from: NaiveDate, until: NaiveDate| -> Money {
        dated.by_day.range(from..until).map(|(_, m)| *m).sum()
    };
    let after_end = period_end.checked_add_days(Days::new(1)).unwrap_or(period_end);
    let month_to_date = sum_between(month_start, after_end);
    let current_month = MonthSpend {
        month: month_start,
        days_covered: period_end.day() + 1 - period_start.max(month_start).day(),
        days_in_month: days_in_month(month_start),
        billed_cost: month_to_date,
    };
    let previous_month = month_start
        .checked_sub_months(Months::new(1))
        .filter(|previous| period_start <= *previous)
        .map(|previous| MonthSpend {
            month: previous,
            days_covered: days_in_month(previous),
            days_in_month: days_in_month(previous),
            billed_cost: sum_between(previous, month_start),
        });
    let change = previous_month.as_ref().map(|p| month_to_date - p.billed_cost);
    let change_percent = match (&previous_month, change) {
        (Some(p), Some(c)) if p.billed_cost.raw() > 0 => {
            Some(c.to_f64() / p.billed_cost.to_f64() * 100.0)
        }
        _ => None,
    };

    let series = |of: &BTreeMap<NaiveDate, Money>| -> Vec<(NaiveDate, Money)> {
        period_start
            .iter_days()
            .take_while(|day| *day <= period_end)
            .map(|day| (day, of.get(&day).copied().unwrap_or_default()))
            .collect()
    };
    let daily = series(&dated.by_day);
    let daily_usage = series(&dated.usage_by_day);

    let mut services: BTreeMap<&str, Money> = BTreeMap::new();
    for ((service, day), m) in &dated.by_service_day {
        if *day >= month_start && *day <= period_end {
            *services.entry(service).or_default() += *m;
        }
    }
    let mut services: Vec<(&str, Money)> = services.into_iter().collect();
    services.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let rest = services.split_off(services.len().min(TOP_SERVICES));
    let top_services = services
        .into_iter()
        .map(|(service, billed_cost)| ServiceSpend {
            service: service.to_string(),
            billed_cost,
            share: share_6dp(billed_cost, month_to_date),
        })
        .collect();
    let other_services = (!rest.is_empty()).then(|| {
        let billed_cost: Money = rest.iter().map(|(_, m)| *m).sum();
        OtherServices {
            services: rest.len() as u64,
            billed_cost,
            share: share_6dp(billed_cost, month_to_date),
        }
    });

    CurrencyOverview {
        currency: currency.clone(),
        period_start,
        period_end,
        current_month,
        previous_month,
        change,
        change_percent,
        forecast_month_end: None,
        forecast: None,
        forecast_unavailable: None,
        daily,
        daily_usage,
        top_services,
        other_services,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::costs::{Dimension, breakdown};
    use crate::model::DailyLine;
    use crate::source::focus::FocusOptions;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    fn day(month: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, month, d).unwrap()
    }

    fn daily(d: NaiveDate, service: &str, currency: &str, billed: &str) -> DailyLine {
        DailyLine {
            day: d,
            service: service.into(),
            account_id: "1".into(),
            region: "us-east-1".into(),
            charge_category: String::new().into(),
            charge_frequency: String::new().into(),
            currency: Currency::new(currency),
            billed_cost: m(billed),
            effective_cost: None,
            rows: 1,
        }
    }

    fn summary(mut lines: Vec<DailyLine>) -> BillingSummary {
        lines.sort_by(|a, b| (a.day, &a.service).cmp(&(b.day, &b.service)));
        BillingSummary {
            first_day: lines.iter().map(|l| l.day).min(),
            last_day: lines.iter().map(|l| l.day).max(),
            daily: lines,
            ..Default::default()
        }
    }

    /// September at 10 a day (300); October 1–10: Support 100 on the 1st, EC2 20 and S3 1.5 a
    /// day, so 315 month to date.
    fn ten_days_of_october() -> Vec<DailyLine> {
        let mut lines: Vec<DailyLine> =
            (1..=30).map(|d| daily(day(9, d), "EC2", "USD", "10")).collect();
        let mut support = daily(day(10, 1), "Support", "USD", "100");
        support.charge_category = "Purchase".into();
        lines.push(support);
        for d in 1..=10 {
            lines.push(daily(day(10, d), "EC2", "USD", "20"));
            lines.push(daily(day(10, d), "S3", "USD", "1.5"));
        }
        lines
    }

    #[test]
    fn month_to_date_change_and_forecast_by_hand() {
        let [o] = overview(&summary(ten_days_of_october())).try_into().unwrap();
        assert_eq!(o.currency, Currency::usd());
        assert_eq!((o.period_start, o.period_end), (day(9, 1), day(10, 10)));
        assert_eq!(o.current_month.month, day(10, 1));
        assert_eq!((o.current_month.days_covered, o.current_month.days_in_month), (10, 31));
        assert_eq!(o.current_month.billed_cost, m("315"));
        let previous = o.previous_month.unwrap();
        assert_eq!((previous.month, previous.days_covered), (day(9, 1), 30));
        assert_eq!(previous.billed_cost, m("300"));
        assert_eq!(o.change, Some(m("15")));
        assert!((o.change_percent.unwrap() - 5.0).abs() < 1e-9);
        // Usage steps from 10 a day in September to 21.5 a day on Oct 1 and stays flat; the
        // Support purchase is not usage and was not billed in September, so it is not
        // expected again: 315 + 21.5 × 21 days left = 766.5.
        let f = o.forecast.as_ref().unwrap();
        assert_eq!((f.as_of, f.days_remaining), (day(10, 10), 21));
        assert_eq!(f.method.as_ref().unwrap().step, Some(day(10, 1)));
        assert_eq!((f.actual_to_date, f.actual_usage), (m("315"), m("215")));
        assert_eq!(f.usage_remaining, m("451.5"));
        assert_eq!(f.expected_charges, Money::ZERO);
        assert_eq!(o.forecast_month_end, Some(m("766.5")));
        assert!(f.low <= f.total && f.total <= f.high, "{f:?}");
        assert_eq!(o.forecast_unavailable, None);
        // Every day of the period, in order.
        assert_eq!(o.daily.len(), 40);
        assert_eq!(o.daily[0], (day(9, 1), m("10")));
        assert_eq!(o.daily[30], (day(10, 1), m("121.5")));
        // The chart's series leaves the Support purchase out.
        assert_eq!(o.daily_usage[30], (day(10, 1), m("21.5")));
        assert_eq!(o.daily_usage[0], (day(9, 1), m("10")));
        let month: Money = o.daily.iter().filter(|(d, _)| *d >= day(10, 1)).map(|(_, v)| *v).sum();
        assert_eq!(month, o.current_month.billed_cost);
        // Shares of 315, rounded to 6 decimals.
        let top: Vec<(&str, Money, Option<Money>)> =
            o.top_services.iter().map(|s| (s.service.as_str(), s.billed_cost, s.share)).collect();
        assert_eq!(
            top,
            vec![
                ("EC2", m("200"), Some(m("0.634921"))),
                ("Support", m("100"), Some(m("0.31746"))),
                ("S3", m("15"), Some(m("0.047619"))),
            ]
        );
        assert_eq!(o.other_services, None);
    }

    #[test]
    fn forecast_per_currency_needs_three_days_of_usage() {
        // EUR: usage on Oct 2, 5 and 10 only (1, 1, 2): a forecast at the average level.
        // GBP: two days of usage, no forecast, and the overview says why.
        let mut lines = ten_days_of_october();
        lines.push(daily(day(10, 2), "EC2", "EUR", "1"));
        lines.push(daily(day(10, 5), "EC2", "EUR", "1"));
        lines.push(daily(day(10, 10), "EC2", "EUR", "2"));
        lines.push(daily(day(10, 9), "EC2", "GBP", "5"));
        lines.push(daily(day(10, 10), "EC2", "GBP", "5"));
        let all = overview(&summary(lines));
        let currencies: Vec<String> = all.iter().map(|o| o.currency.to_string()).collect();
        assert_eq!(currencies, ["EUR", "GBP", "USD"]);
        let eur = &all[0];
        let f = eur.forecast.as_ref().unwrap();
        assert!(!f.method.as_ref().unwrap().trend, "three days fit no slope");
        assert_eq!(eur.forecast_month_end, Some(f.total));
        assert!(f.total > m("4"), "{f:?}");
        // The period is the billing's, so EUR's previous month exists and is zero.
        assert_eq!(eur.previous_month.as_ref().map(|p| p.billed_cost), Some(Money::ZERO));
        assert_eq!((eur.change, eur.change_percent), (Some(m("4")), None));
        assert_eq!(eur.daily.len(), 40);
        let gbp = &all[1];
        assert_eq!((gbp.forecast.as_ref(), gbp.forecast_month_end), (None, None));
        let why = gbp.forecast_unavailable.as_deref().unwrap();
        assert!(why.starts_with("only 2 day(s) of usage"), "{why}");
    }

    #[test]
    fn forecast_on_the_months_last_day_is_the_months_spend() {
        let lines: Vec<DailyLine> = (1..=31)
            .map(|d| daily(day(10, d), "EC2", "USD", if d == 31 { "7.123456789" } else { "3" }))
            .collect();
        let [o] = overview(&summary(lines)).try_into().unwrap();
        assert_eq!(o.current_month.billed_cost, m("97.123456789"));
        assert_eq!(o.forecast_month_end, Some(o.current_month.billed_cost));
        assert_eq!(o.previous_month, None, "September is not in the data");
        assert_eq!((o.change, o.change_percent), (None, None));
    }

    #[test]
    fn top_ten_services_and_the_rest() {
        let lines: Vec<DailyLine> = (1..=12)
            .map(|i| daily(day(10, 1), &format!("svc-{i:02}"), "USD", &i.to_string()))
            .collect();
        let [o] = overview(&summary(lines)).try_into().unwrap();
        assert_eq!(o.top_services.len(), TOP_SERVICES);
        assert_eq!(o.top_services[0].service, "svc-12");
        assert_eq!(o.top_services[9].service, "svc-03");
        let other = o.other_services.unwrap();
        assert_eq!((other.services, other.billed_cost), (2, m("3")));
        // 3 / 78 = 0.0384615…
        assert_eq!(other.share, Some(m("0.038462")));
        assert_eq!((o.forecast.as_ref(), o.forecast_month_end), (None, None), "one day of data");
    }

    #[test]
    fn lines_with_days_serve_when_there_is_no_daily_rollup() {
        let rollup = summary(ten_days_of_october());
        let lines = rollup
            .daily
            .iter()
            .map(|d| crate::model::BillingLine {
                day: Some(d.day),
                provider: String::new().into(),
                account_id: String::new().into(),
                service: d.service.clone(),
                region: String::new().into(),
                resource_id: String::new().into(),
                charge_category: d.charge_category.clone(),
                charge_frequency: String::new().into(),
                tag_set: None,
                currency: d.currency.clone(),
                billed_cost: d.billed_cost,
                effective_cost: None,
                list_cost: None,
                rows: 1,
            })
            .collect();
        let by_lines = BillingSummary { lines, daily: Vec::new(), ..rollup.clone() };
        assert_eq!(overview(&by_lines), overview(&rollup));
        let undated = BillingSummary { lines: Vec::new(), daily: Vec::new(), ..rollup };
        assert!(overview(&undated).is_empty());
    }

    #[test]
    fn sample_months_equal_costs_by_day() {
        let billing = crate::sample::billing(FocusOptions::default()).unwrap();
        let [o] = overview(&billing).try_into().unwrap();
        // What `costs --by day` computes: the file read at the day grain only.
        let options = FocusOptions { grain: Dimension::Day.grain(), ..FocusOptions::default() };
        let day_grain = crate::sample::billing(options).unwrap();
        let by_day = breakdown(&day_grain, &Dimension::Day);
        let month_of = |prefix: &str| -> Money {
            by_day.rows.iter().filter(|r| r.key.starts_with(prefix)).map(|r| r.billed_cost).sum()
        };
        let (september, october) = (month_of("2026-09-"), month_of("2026-10-"));
        assert_eq!(september + october, by_day.totals[0].billed_cost);
        assert_eq!(o.current_month.month, day(10, 1));
        assert_eq!(o.current_month.billed_cost, october);
        let previous = o.previous_month.as_ref().unwrap();
        assert_eq!((previous.month, previous.billed_cost), (day(9, 1), september));
        assert_eq!(o.change, Some(october - september));
        assert_eq!(o.daily.len(), 61);
        let series: Vec<(String, Money)> =
            o.daily.iter().map(|(d, v)| (d.to_string(), *v)).collect();
        let rows: Vec<(String, Money)> =
            by_day.rows.iter().map(|r| (r.key.clone(), r.billed_cost)).collect();
        assert_eq!(series, rows);
        assert_eq!(o.forecast_month_end, Some(october), "the data ends on Oct 31");
        assert_eq!(o.top_services.len(), TOP_SERVICES);
        let other = o.other_services.as_ref().unwrap();
        let services: Money =
            o.top_services.iter().map(|s| s.billed_cost).sum::<Money>() + other.billed_cost;
        assert_eq!(services, october);
    }
}
