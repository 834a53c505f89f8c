//! The numbers of the dashboard's overview, per currency: spend this month against the previous
//! month, a month-end forecast, the daily series for the chart and the top services.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::Serialize;

use crate::model::money::ESTIMATE_DIGITS;
use crate::model::{BillingSummary, Currency, Money};

/// Days of data the run rate averages over.
pub const RUN_RATE_DAYS: usize = 7;
/// Fewest days of data the run rate needs; with fewer there is no forecast.
pub const MIN_RUN_RATE_DAYS: usize = 3;
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

/// The daily run rate behind the forecast.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunRate {
    /// Average billed cost of the days averaged, rounded to 6 decimals (display; the forecast
    /// uses the exact sum).
    pub daily: Money,
    /// Days averaged (between [`MIN_RUN_RATE_DAYS`] and [`RUN_RATE_DAYS`]).
    pub days: u32,
    /// First and last day averaged.
    pub from: NaiveDate,
    pub to: NaiveDate,
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
    /// Average of the last [`RUN_RATE_DAYS`] days with data; `None` with fewer than
    /// [`MIN_RUN_RATE_DAYS`].
    pub run_rate: Option<RunRate>,
    /// Month to date + run rate × days left in the month (the projected part rounded to 6
    /// decimals); equals `current_month.billed_cost` when the data ends on the month's last
    /// day. `None` when there is no run rate.
    pub forecast_month_end: Option<Money>,
    /// Billed cost of every day of the period, in order, days without charges as zero: the
    /// chart's series.
    pub daily: Vec<(NaiveDate, Money)>,
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
    by_service_day: BTreeMap<(&'a str, NaiveDate), Money>,
}

/// Computes the overview of every currency in the billing, sorted by currency. Days come from
/// the daily rollup when the summary has one (full grain), else from lines that carry a day; a
/// summary without days gives an empty list.
///
/// The forecast's run rate is the plain average of the last [`RUN_RATE_DAYS`] days that have
/// charges in the currency, ending on the period's last day, which is taken as complete (billing
/// exports close a day before they write it; a source that writes a partial today must leave
/// it out). Days without any charge (export gaps) are skipped rather than averaged as zero. The
/// average is not trimmed and not a median: one-off monthly charges dated on the 1st (Support,
/// Tax) are real spend and are counted in the month to date, and from the 8th of the month on
/// they fall outside the 7-day window, so they do not inflate a forecast made later in the
/// month. A forecast made in the first week does include them in its run rate, and overstates.
pub fn overview(billing: &BillingSummary) -> Vec<CurrencyOverview> {
    let rows: Box<dyn Iterator<Item = (&Currency, &str, NaiveDate, Money)>> = if billing
        .daily
        .is_empty()
    {
        Box::new(
            billing
                .lines
                .iter()
                .filter_map(|l| Some((&l.currency, l.service.as_str(), l.day?, l.billed_cost))),
        )
    } else {
        Box::new(
            billing.daily.iter().map(|l| (&l.currency, l.service.as_str(), l.day, l.billed_cost)),
        )
    };
    let mut dated: BTreeMap<&Currency, Dated<'_>> = BTreeMap::new();
    for (currency, service, day, billed) in rows {
        let d = dated.entry(currency).or_default();
        *d.by_day.entry(day).or_default() += billed;
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
    dated
        .into_iter()
        .map(|(currency, d)| currency_overview(currency, &d, period_start, period_end))
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

    // The run rate: the last days with data, up to the period's end.
    let window: Vec<(NaiveDate, Money)> = dated
        .by_day
        .range(..after_end)
        .rev()
        .take(RUN_RATE_DAYS)
        .map(|(day, m)| (*day, *m))
        .collect();
    let (run_rate, forecast_month_end) = match (window.first(), window.last()) {
        (Some((to, _)), Some((from, _))) if window.len() >= MIN_RUN_RATE_DAYS => {
            let n = window.len() as i128;
            let sum: Money = window.iter().map(|(_, m)| *m).sum();
            let days_left = days_in_month(month_start).saturating_sub(period_end.day());
            let projected = sum.mul_ratio(i128::from(days_left), n).round_dp(ESTIMATE_DIGITS);
            let rate = RunRate {
                daily: sum.mul_ratio(1, n).round_dp(ESTIMATE_DIGITS),
                days: window.len() as u32,
                from: *from,
                to: *to,
            };
            (Some(rate), Some(month_to_date + projected))
        }
        _ => (None, None),
    };

    let daily = period_start
        .iter_days()
        .take_while(|day| *day <= period_end)
        .map(|day| (day, dated.by_day.get(&day).copied().unwrap_or_default()))
        .collect();

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
        run_rate,
        forecast_month_end,
        daily,
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
        lines.push(daily(day(10, 1), "Support", "USD", "100"));
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
        // The last 7 days (Oct 4–10) are 21.5 each; the Support charge on the 1st is outside
        // the window. 315 + 21.5 × 21 days left = 766.5.
        let rate = o.run_rate.unwrap();
        assert_eq!(
            (rate.daily, rate.days, rate.from, rate.to),
            (m("21.5"), 7, day(10, 4), day(10, 10))
        );
        assert_eq!(o.forecast_month_end, Some(m("766.5")));
        // Every day of the period, in order.
        assert_eq!(o.daily.len(), 40);
        assert_eq!(o.daily[0], (day(9, 1), m("10")));
        assert_eq!(o.daily[30], (day(10, 1), m("121.5")));
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
    fn run_rate_skips_gaps_and_needs_three_days() {
        // EUR: charges on Oct 2, 5 and 10 only: the run rate averages those three days
        // (4 / 3 a day) and the forecast adds 4 × 21 / 3 = 28 exactly.
        // GBP: two days of data, no forecast.
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
        let rate = eur.run_rate.as_ref().unwrap();
        assert_eq!((rate.daily, rate.days, rate.from), (m("1.333333"), 3, day(10, 2)));
        assert_eq!(eur.forecast_month_end, Some(m("32")));
        // The period is the billing's, so EUR's previous month exists and is zero.
        assert_eq!(eur.previous_month.as_ref().map(|p| p.billed_cost), Some(Money::ZERO));
        assert_eq!((eur.change, eur.change_percent), (Some(m("4")), None));
        assert_eq!(eur.daily.len(), 40);
        let gbp = &all[1];
        assert_eq!((gbp.run_rate.as_ref(), gbp.forecast_month_end), (None, None));
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
        assert_eq!((o.run_rate, o.forecast_month_end), (None, None), "one day of data");
    }

    #[test]
    fn lines_with_days_serve_when_there_is_no_daily_rollup() {
        let rollup = summary(ten_days_of_october());
        let lines = rollup
            .daily
            .iter()
            .map(|d| crate::model::BillingLine {
                day: Some(d.day),
                provider: String::new(),
                account_id: String::new(),
                service: d.service.clone(),
                region: String::new(),
                resource_id: String::new(),
                charge_category: String::new(),
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
    fn sample_month_equals_costs_by_day() {
        let billing = crate::sample::billing(FocusOptions::default()).unwrap();
        let [o] = overview(&billing).try_into().unwrap();
        // What `costs --by day` computes: the file read at the day grain only.
        let options = FocusOptions { grain: Dimension::Day.grain(), ..FocusOptions::default() };
        let day_grain = crate::sample::billing(options).unwrap();
        let by_day = breakdown(&day_grain, &Dimension::Day);
        let summed: Money = by_day.rows.iter().map(|r| r.billed_cost).sum();
        assert_eq!(o.current_month.month, day(10, 1));
        assert_eq!(o.current_month.billed_cost, summed);
        assert_eq!(o.current_month.billed_cost, by_day.totals[0].billed_cost);
        assert_eq!(o.daily.len(), 31);
        let series: Vec<(String, Money)> =
            o.daily.iter().map(|(d, v)| (d.to_string(), *v)).collect();
        let rows: Vec<(String, Money)> =
            by_day.rows.iter().map(|r| (r.key.clone(), r.billed_cost)).collect();
        assert_eq!(series, rows);
        assert_eq!(o.previous_month, None);
        assert_eq!(o.forecast_month_end, Some(summed), "the data ends on Oct 31");
        assert_eq!(o.top_services.len(), TOP_SERVICES);
        let other = o.other_services.as_ref().unwrap();
        assert_eq!(other.services, 21 - TOP_SERVICES as u64);
        let services: Money =
            o.top_services.iter().map(|s| s.billed_cost).sum::<Money>() + other.billed_cost;
        assert_eq!(services, summed);
    }
}
