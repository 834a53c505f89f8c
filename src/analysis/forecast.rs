//! The period-end forecast of spend, per currency: usage fitted as a trend with a weekday pattern
//! and level steps, recurring charges expected on their usual day, one-time charges not repeated.
//!
//! The 7-day run rate of [`crate::analysis::overview`] multiplies the last week's average by the
//! days left; it repeats whatever fell in that week (a fee on the 1st, a one-time purchase) and
//! misses a trend. Here the two kinds of spend are forecast apart:
//!
//! - **Usage** (ChargeCategory `Usage`, or none): a least-squares line over the last
//!   [`LOOKBACK_DAYS`] days with data, times a weekday pattern once there are
//!   [`MIN_WEEKDAY_DAYS`] days, plus a level step when one is found (see [`Method::step`]).
//! - **Other charges** (Purchase, Tax, Credit, Adjustment): what is billed in the period so far is
//!   taken as billed; a charge billed in the previous month on day D is expected again on day D
//!   (± [`DAY_TOLERANCE`]) unless it was already billed; a charge that looks one-time is not
//!   repeated (see [`ExpectedCharge::confirmed`]); a charge billed nearly every day (a Savings
//!   Plan's fee billed by the hour) is continued daily ([`DailyCharge`]).
//!
//! Fits are computed in `f64` (a forecast is an estimate); every figure in the output is exact
//! [`Money`] rounded to cents, and the sums of the output are exact sums of those cents.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::Serialize;

use crate::model::{BillingSummary, Currency, Grain, Money};

/// Most days of usage the fit looks back over (ending on the data's last day).
pub const LOOKBACK_DAYS: u64 = 28;
/// Fewest days of usage a forecast needs; with fewer there is none.
pub const MIN_DAYS: usize = 3;
/// Fewest days for a sloped line; with fewer the usage is forecast at its average level, as a
/// slope fitted on a few noisy days and extrapolated over weeks does more harm than good.
pub const MIN_TREND_DAYS: usize = 7;
/// Fewest days (two full weeks) for a weekday pattern.
pub const MIN_WEEKDAY_DAYS: usize = 14;
/// Fewest days before a level step searches for one; a step needs [`STEP_MIN_AFTER`] days after
/// it and [`STEP_MIN_BEFORE`] before.
pub const MIN_STEP_DAYS: usize = 10;
pub const STEP_MIN_AFTER: usize = 3;
pub const STEP_MIN_BEFORE: usize = 5;
/// A step is kept when `n · ln(SSE without / SSE with)` exceeds this many times `ln n`: a
/// Bayesian-information test with a triple penalty, since the step's day is itself searched.
pub const STEP_PENALTY: f64 = 3.0;
/// The last days a charge must be billed on, most of them, to count as billed daily.
pub const DAILY_CHARGE_WINDOW: u64 = 7;
pub const DAILY_CHARGE_MIN_DAYS: usize = 5;
/// A recurring charge may come this many days before or after its day of the previous month.
pub const DAY_TOLERANCE: u32 = 1;
/// The range's nominal coverage, in percent (see [`Forecast::low`]).
pub const INTERVAL_PERCENT: u32 = 80;
/// Days further from the fit than this many robust standard deviations are pulled back to it
/// before the final fit.
pub const OUTLIER_SDS: f64 = 4.0;
/// Most refits [`OUTLIER_SDS`] pulls back days for; each brings the fit closer to the days
/// that are not outliers.
const CLIP_ROUNDS: usize = 30;
/// The two-sided normal quantile of [`INTERVAL_PERCENT`].
const INTERVAL_Z: f64 = 1.281_551_6;
/// The grain [`forecast_billing`] needs: lines per day, charge category and service.
pub const GRAIN: Grain = Grain { day: true, service: true, charge_category: true, ..Grain::NONE };

/// What identifies a non-usage charge from one month to the next.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ChargeKey {
    /// FOCUS ChargeCategory: Purchase, Tax, Credit, Adjustment.
    pub category: String,
    /// ServiceName (e.g. `Savings Plans for AWS Compute usage`, `Tax`); may be empty.
    pub service: String,
    /// FOCUS ChargeFrequency (`One-Time`, `Recurring`, `Usage-Based`); empty when the billing
    /// has none. A `One-Time` charge is never expected again.
    pub frequency: String,
}

impl ChargeKey {
    fn is_one_time(&self) -> bool {
        self.frequency.trim().eq_ignore_ascii_case("one-time")
    }
}

/// The daily spend of one currency, usage apart from other charges: the forecast's input.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DailySeries {
    /// Usage spend per day. A day absent from the map is a gap in the export and is skipped by
    /// the fit; a day with zero spend should be present with zero.
    pub usage: BTreeMap<NaiveDate, Money>,
    /// Non-usage charges per kind and day.
    pub charges: BTreeMap<ChargeKey, BTreeMap<NaiveDate, Money>>,
    /// Whether usage and charges were told apart; `false` when the billing kept no charge
    /// category, in which case everything is in `usage`.
    pub separated: bool,
}

impl DailySeries {
    /// The first day with any spend.
    pub fn first_day(&self) -> Option<NaiveDate> {
        let charges = self.charges.values().filter_map(|days| days.keys().next());
        self.usage.keys().next().into_iter().chain(charges).min().copied()
    }

    /// The last day with any spend.
    pub fn last_day(&self) -> Option<NaiveDate> {
        let charges = self.charges.values().filter_map(|days| days.keys().next_back());
        self.usage.keys().next_back().into_iter().chain(charges).max().copied()
    }
}

/// Whether a ChargeCategory is usage-based spend (FOCUS `Usage`, or unknown).
pub fn is_usage(category: &str) -> bool {
    category.is_empty() || category.eq_ignore_ascii_case("usage")
}

/// The days a forecast covers, both inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ForecastPeriod {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// Which period to forecast, relative to the day the data ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Horizon {
    /// The calendar month of the data's last day.
    Month,
    /// The calendar quarter of the data's last day.
    Quarter,
    /// The calendar year of the data's last day.
    Year,
    /// Given days (e.g. a budget's period).
    Period(ForecastPeriod),
}

impl Horizon {
    /// The period this horizon means when the data ends on `as_of`.
    pub fn period(self, as_of: NaiveDate) -> ForecastPeriod {
        let months_from = |first_month: u32, months: u32| {
            let start = NaiveDate::from_ymd_opt(as_of.year(), first_month, 1).unwrap_or(as_of);
            let end = start
                .checked_add_months(Months::new(months))
                .and_then(|next| next.pred_opt())
                .unwrap_or(as_of);
            ForecastPeriod { start, end }
        };
        match self {
            Horizon::Month => months_from(as_of.month(), 1),
            Horizon::Quarter => months_from((as_of.month0() / 3) * 3 + 1, 3),
            Horizon::Year => months_from(1, 12),
            Horizon::Period(period) => period,
        }
    }
}

/// Why there is no forecast.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ForecastError {
    #[error(
        "only {days} day(s) of usage in the {LOOKBACK_DAYS} days up to {as_of}; {MIN_DAYS} needed"
    )]
    TooFewDays { days: usize, as_of: NaiveDate },
    #[error("the data ends on {as_of}, after the period {start} to {end}")]
    AfterPeriod { as_of: NaiveDate, start: NaiveDate, end: NaiveDate },
    #[error("the period {start} to {end} ends before it starts")]
    EmptyPeriod { start: NaiveDate, end: NaiveDate },
    #[error("the forecast is out of money's range")]
    OutOfRange,
}

/// A non-usage charge expected after the data's last day.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExpectedCharge {
    pub key: ChargeKey,
    pub day: NaiveDate,
    /// The amount it had the last time it was billed.
    pub amount: Money,
    /// `true` when it was billed in two consecutive months (the previous one and the one before,
    /// or the previous one and this one): recurring. `false` when the data does not reach back
    /// far enough to tell a monthly fee from a one-time charge: it is then in the point estimate
    /// (monthly fees are the common case) but not in [`Forecast::low`].
    pub confirmed: bool,
}

/// A non-usage charge billed on at least [`DAILY_CHARGE_MIN_DAYS`] of the last
/// [`DAILY_CHARGE_WINDOW`] days (AWS bills a Savings Plan's recurring fee, and its credits, by
/// the hour): it is continued at its average per billed day over every remaining day rather than
/// expected once a month.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DailyCharge {
    pub key: ChargeKey,
    /// Its average per billed day in the window, to cents.
    pub per_day: Money,
    /// What it adds over the remaining days: the window's sum × remaining days ÷ days billed,
    /// to cents.
    pub amount: Money,
}

/// How the usage was forecast.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Method {
    /// First and last day of the lookback, and the days with usage inside it.
    pub lookback_from: NaiveDate,
    pub lookback_to: NaiveDate,
    pub lookback_days: u32,
    /// Whether the line has a slope (at least [`MIN_TREND_DAYS`] days).
    pub trend: bool,
    /// The line's slope per day, in the currency (without the weekday pattern), to cents.
    pub daily_slope: Money,
    /// Whether a weekday pattern multiplies the line (at least [`MIN_WEEKDAY_DAYS`] days).
    pub weekday: bool,
    /// The first day of a new usage level, when the fit found one (the line then fits the level
    /// before and after with the same slope and weekday pattern).
    pub step: Option<NaiveDate>,
    /// Standard deviation of a day's usage around the fit, to cents.
    pub residual_sd: Money,
    /// Whether usage was told apart from other charges ([`DailySeries::separated`]).
    pub charges_separated: bool,
}

/// The forecast of one currency's spend over a period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Forecast {
    pub currency: Currency,
    /// The data's last day, taken as complete.
    pub as_of: NaiveDate,
    pub period: ForecastPeriod,
    /// Days of the period after `as_of`.
    pub days_remaining: u32,
    /// The point estimate of the period's total: `actual_to_date + usage_remaining +
    /// expected_charges + daily_charges_remaining`.
    pub total: Money,
    /// The range, nominally [`INTERVAL_PERCENT`] % (normal quantiles of the usage's daily
    /// residuals, scaled to the remaining days, plus the fit's own uncertainty); `low` also
    /// leaves out unconfirmed expected charges and `high` unconfirmed credits. It equals `total`
    /// when the period is over. Residuals of real bills are correlated from day to day, so the
    /// true coverage is lower; the backtest in this module's tests measures it.
    pub low: Money,
    pub high: Money,
    /// Everything billed in the period up to `as_of`.
    pub actual_to_date: Money,
    /// Its usage part (the rest is non-usage charges).
    pub actual_usage: Money,
    /// The usage forecast for the days after `as_of`: the sum of `daily_usage`.
    pub usage_remaining: Money,
    /// The non-usage charges expected after `as_of`: the sum of `expected`.
    pub expected_charges: Money,
    pub expected: Vec<ExpectedCharge>,
    /// The non-usage charges billed day after day (a commitment's fee or credit billed daily),
    /// continued over the remaining days: the sum of `daily_charges`' amounts.
    pub daily_charges_remaining: Money,
    pub daily_charges: Vec<DailyCharge>,
    /// The usage forecast of each remaining day, for charts.
    pub daily_usage: Vec<(NaiveDate, Money)>,
    /// How the usage was fitted; `None` when the period is over and nothing was fitted.
    pub method: Option<Method>,
}

impl Forecast {
    /// How the forecast was made, in a few words for a status line or a report: "month
    /// complete", or the fit ("trend and weekday pattern over 28 days, level step from
    /// 2026-10-20") and the non-usage charges still expected.
    pub fn how(&self) -> String {
        let Some(m) = self.method.as_ref().filter(|_| self.days_remaining > 0) else {
            return "period complete".to_string();
        };
        let shape = match (m.trend, m.weekday) {
            (true, true) => "trend and weekday pattern",
            (true, false) => "trend",
            (false, true) => "weekday pattern",
            (false, false) => "average level",
        };
        let mut text = format!("usage: {shape} over {} days", m.lookback_days);
        if let Some(step) = m.step {
            text.push_str(&format!(", level step from {step}"));
        }
        let charges = self.expected_charges + self.daily_charges_remaining;
        if !charges.is_zero() {
            text.push_str(&format!("; {} of other charges expected", charges.display_2dp()));
        }
        text
    }
}

/// The forecast of one currency, or why there is none: what reports serialize.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CurrencyForecast {
    pub currency: Currency,
    pub forecast: Option<Forecast>,
    /// The reason when `forecast` is `None`.
    pub unavailable: Option<String>,
}

/// The daily series of every currency in the billing. Lines that carry a day are used (a summary
/// read at [`GRAIN`] or [`Grain::DETAILED`]); when none does, the daily rollup (which keeps the
/// charge category at full grain). A grain without charge category counts every amount as usage
/// (`separated` is then `false`), as does an empty category (a snapshot written before the rollup
/// kept it).
pub fn series(billing: &BillingSummary) -> BTreeMap<Currency, DailySeries> {
    let mut out: BTreeMap<Currency, DailySeries> = BTreeMap::new();
    let dated = billing.lines.iter().any(|l| l.day.is_some());
    // A snapshot written before the rollup kept charge categories has them all empty.
    let separated = billing.grain.charge_category
        && (dated || billing.daily.iter().any(|d| !d.charge_category.is_empty()));
    let mut add = |day: NaiveDate, line: (&Currency, &str, &str, &str, Money)| {
        let (currency, category, frequency, service, billed) = line;
        let s = out.entry(currency.clone()).or_default();
        s.separated = separated;
        if is_usage(category) {
            *s.usage.entry(day).or_default() += billed;
        } else {
            let key = ChargeKey {
                category: category.to_string(),
                service: service.to_string(),
                frequency: frequency.to_string(),
            };
            *s.charges.entry(key).or_default().entry(day).or_default() += billed;
        }
    };
    if dated {
        for l in &billing.lines {
            let Some(day) = l.day else { continue };
            add(
                day,
                (&l.currency, &l.charge_category, &l.charge_frequency, &l.service, l.billed_cost),
            );
        }
    } else {
        for d in &billing.daily {
            add(
                d.day,
                (&d.currency, &d.charge_category, &d.charge_frequency, &d.service, d.billed_cost),
            );
        }
    }
    out
}

/// Forecasts every currency of the billing over `horizon`, from the billing's last day (the
/// same `as_of` for every currency, as the export closes all of them together).
pub fn forecast_billing(billing: &BillingSummary, horizon: Horizon) -> Vec<CurrencyForecast> {
    let all = series(billing);
    let last = all.values().filter_map(DailySeries::last_day).max();
    let Some(as_of) = billing.period().map(|(_, last)| last).or(last) else {
        return Vec::new();
    };
    let as_of = last.map_or(as_of, |l| as_of.max(l));
    let period = horizon.period(as_of);
    all.into_iter()
        .map(|(currency, s)| match forecast(&currency, &s, as_of, period) {
            Ok(f) => CurrencyForecast { currency, forecast: Some(f), unavailable: None },
            Err(e) => {
                CurrencyForecast { currency, forecast: None, unavailable: Some(e.to_string()) }
            }
        })
        .collect()
}

/// Forecasts one currency's spend over `period` from its daily series up to `as_of` (days after
/// it are ignored). `as_of` may fall before the period (all of it is then forecast) but not
/// after it.
pub fn forecast(
    currency: &Currency,
    series: &DailySeries,
    as_of: NaiveDate,
    period: ForecastPeriod,
) -> Result<Forecast, ForecastError> {
    let ForecastPeriod { start, end } = period;
    if end < start {
        return Err(ForecastError::EmptyPeriod { start, end });
    }
    if as_of > end {
        return Err(ForecastError::AfterPeriod { as_of, start, end });
    }
    // A period that starts after `as_of` has nothing billed yet (and an inverted range would
    // panic).
    let to_date = start..=as_of.max(start);
    let billed = |days: &BTreeMap<NaiveDate, Money>| -> Money {
        if as_of < start { Money::ZERO } else { days.range(to_date.clone()).map(|(_, m)| *m).sum() }
    };
    let actual_usage = billed(&series.usage);
    let actual_charges: Money = series.charges.values().map(billed).sum();
    let actual_to_date = actual_usage + actual_charges;
    let first_remaining = next_day(as_of).max(start);
    let remaining: Vec<NaiveDate> = first_remaining.iter_days().take_while(|d| *d <= end).collect();
    let days_remaining = u32::try_from(remaining.len()).unwrap_or(u32::MAX);
    if remaining.is_empty() {
        return Ok(Forecast {
            currency: currency.clone(),
            as_of,
            period,
            days_remaining,
            total: actual_to_date,
            low: actual_to_date,
            high: actual_to_date,
            actual_to_date,
            actual_usage,
            usage_remaining: Money::ZERO,
            expected_charges: Money::ZERO,
            expected: Vec::new(),
            daily_charges_remaining: Money::ZERO,
            daily_charges: Vec::new(),
            daily_usage: Vec::new(),
            method: None,
        });
    }

    let lookback_from = as_of.checked_sub_days(Days::new(LOOKBACK_DAYS - 1)).unwrap_or(as_of);
    let points: Vec<Point> = series
        .usage
        .range(lookback_from..=as_of)
        .map(|(day, m)| Point {
            t: (*day - as_of).num_days() as f64,
            weekday: day.weekday().num_days_from_monday() as usize,
            y: m.to_f64(),
        })
        .collect();
    if points.len() < MIN_DAYS {
        return Err(ForecastError::TooFewDays { days: points.len(), as_of });
    }
    let model = choose_model(&points)
        .and_then(|m| resist_outliers(&points, m))
        .ok_or(ForecastError::OutOfRange)?;

    // The usage of each remaining day, and the variance of their sum: the residual noise of each
    // day plus the uncertainty of the fitted line.
    let mut daily_usage = Vec::with_capacity(remaining.len());
    let p = model.beta.len();
    let mut g = vec![0.0; p];
    for day in &remaining {
        let t = (*day - as_of).num_days() as f64;
        let factor = model.season[day.weekday().num_days_from_monday() as usize];
        let x = design(t, model.trend, model.step);
        let mean: f64 = x.iter().zip(&model.beta).map(|(a, b)| a * b).sum::<f64>() * factor;
        for (gi, xi) in g.iter_mut().zip(&x) {
            *gi += xi * factor;
        }
        // Usage is not negative: a falling line is not extrapolated below zero.
        daily_usage.push((*day, cents(mean.max(0.0))?));
    }
    let quad: f64 =
        (0..p).map(|i| (0..p).map(|j| g[i] * model.inv[i][j] * g[j]).sum::<f64>()).sum();
    let noise = remaining.len() as f64;
    let half = INTERVAL_Z * (model.sigma2 * (quad + noise)).max(0.0).sqrt();
    let half = cents(half)?;
    let usage_remaining: Money = daily_usage.iter().map(|(_, m)| *m).sum();

    let daily_charges = daily_charges(series, as_of, remaining.len());
    let daily_total: Money = daily_charges.iter().map(|c| c.amount).sum();
    let expected = expected_charges(series, as_of, period);
    let expected_total: Money = expected.iter().map(|c| c.amount).sum();
    let unconfirmed = |positive: bool| -> Money {
        expected
            .iter()
            .filter(|c| !c.confirmed && c.amount.is_negative() != positive && !c.amount.is_zero())
            .map(|c| c.amount)
            .sum()
    };
    let total = actual_to_date
        .checked_add(usage_remaining)
        .and_then(|t| t.checked_add(expected_total))
        .and_then(|t| t.checked_add(daily_total))
        .ok_or(ForecastError::OutOfRange)?;
    let low = total - half - unconfirmed(true);
    let high = total + half - unconfirmed(false);

    let step = model.step.and_then(|k| as_of.checked_add_signed(chrono::Duration::days(k)));
    let slope = if model.trend { model.beta[1] } else { 0.0 };
    let method = Method {
        lookback_from,
        lookback_to: as_of,
        lookback_days: u32::try_from(points.len()).unwrap_or(u32::MAX),
        trend: model.trend,
        daily_slope: cents(slope)?,
        weekday: model.weekday,
        step,
        residual_sd: cents(model.sigma2.max(0.0).sqrt())?,
        charges_separated: series.separated,
    };
    Ok(Forecast {
        currency: currency.clone(),
        as_of,
        period,
        days_remaining,
        total,
        low,
        high,
        actual_to_date,
        actual_usage,
        usage_remaining,
        expected_charges: expected_total,
        daily_charges_remaining: daily_total,
        daily_charges,
        expected,
        daily_usage,
        method: Some(method),
    })
}

fn next_day(day: NaiveDate) -> NaiveDate {
    day.succ_opt().unwrap_or(day)
}

fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

fn days_in_month(month: NaiveDate) -> u32 {
    month
        .checked_add_months(Months::new(1))
        .map_or(31, |next| u32::try_from((next - month).num_days()).unwrap_or(31))
}

/// A float estimate as money rounded to cents.
fn cents(value: f64) -> Result<Money, ForecastError> {
    Money::from_f64_rounded(value).map(|m| m.round_dp(2)).ok_or(ForecastError::OutOfRange)
}

/// The day of `month` (a first day) numbered `day`, or its last day when it is shorter.
fn day_in(month: NaiveDate, day: u32) -> NaiveDate {
    let day = day.clamp(1, days_in_month(month));
    month.with_day(day).unwrap_or(month)
}

fn daily_window(as_of: NaiveDate) -> std::ops::RangeInclusive<NaiveDate> {
    as_of.checked_sub_days(Days::new(DAILY_CHARGE_WINDOW - 1)).unwrap_or(as_of)..=as_of
}

/// Whether a charge is billed daily (see [`DailyCharge`]).
fn is_daily(days: &BTreeMap<NaiveDate, Money>, as_of: NaiveDate) -> bool {
    days.range(daily_window(as_of)).count() >= DAILY_CHARGE_MIN_DAYS
}

/// The charges billed daily, continued over `remaining` days.
fn daily_charges(series: &DailySeries, as_of: NaiveDate, remaining: usize) -> Vec<DailyCharge> {
    let remaining = i128::try_from(remaining).unwrap_or(0);
    series
        .charges
        .iter()
        .filter(|(_, days)| is_daily(days, as_of))
        .map(|(key, days)| {
            let billed = i128::try_from(days.range(daily_window(as_of)).count()).unwrap_or(1);
            let sum: Money = days.range(daily_window(as_of)).map(|(_, m)| *m).sum();
            DailyCharge {
                key: key.clone(),
                per_day: sum.mul_ratio(1, billed).round_dp(2),
                amount: sum.mul_ratio(remaining, billed).round_dp(2),
            }
        })
        .collect()
}

/// The non-usage charges expected after `as_of` inside the period, but for those billed daily.
///
/// Each charge billed in the month before `as_of`'s month on day D is looked for in the month
/// before that and in `as_of`'s month, on D ± [`DAY_TOLERANCE`]. Billed in two consecutive
/// months, it is recurring; billed only in the previous month while the data covers the month
/// before it, it was one-time and is not repeated; when the data does not reach that far back
/// there is no telling, and it is expected unconfirmed. A recurring charge already billed this
/// month is not expected again this month; one whose window has passed without it has stopped
/// (or is late) and is not expected in this month or later ones. In later months of the period
/// it is expected on day D with its last amount. A charge first billed this month is taken as
/// billed and not projected into later months: one month does not make a recurrence.
fn expected_charges(
    series: &DailySeries,
    as_of: NaiveDate,
    period: ForecastPeriod,
) -> Vec<ExpectedCharge> {
    let month = first_of_month(as_of);
    let (Some(prev), Some(prev2)) =
        (month.checked_sub_months(Months::new(1)), month.checked_sub_months(Months::new(2)))
    else {
        return Vec::new();
    };
    let history_covers_prev2 = series.first_day().is_some_and(|first| first <= prev2);
    let near = |a: u32, b: u32| a.abs_diff(b) <= DAY_TOLERANCE;
    let mut out = Vec::new();
    let daily = |days: &BTreeMap<NaiveDate, Money>| is_daily(days, as_of);
    // A charge the billing marks one-time (FOCUS ChargeFrequency) is never expected again,
    // however short the history: without the mark, one seen once may be a monthly fee.
    let charges = series.charges.iter().filter(|(key, days)| !key.is_one_time() && !daily(days));
    for (key, days) in charges {
        for (billed_day, amount) in days.range(prev..month) {
            let d = billed_day.day();
            let in_prev2 = days.range(prev2..prev).any(|(day, _)| near(day.day(), d));
            let this_month =
                days.range(month..=as_of).find(|(day, _)| near(day.day(), d)).map(|(_, m)| *m);
            let confirmed = in_prev2 || this_month.is_some();
            if !confirmed && history_covers_prev2 {
                continue;
            }
            let amount = this_month.unwrap_or(*amount);
            let mut push = |day: NaiveDate| {
                if day > as_of && day >= period.start && day <= period.end {
                    out.push(ExpectedCharge { key: key.clone(), day, amount, confirmed });
                }
            };
            let due = day_in(month, d);
            if this_month.is_none() {
                if as_of.day() > due.day() {
                    // Its window has passed without it: stopped, so not projected further.
                    continue;
                }
                // Still inside its window: expected on its day, or tomorrow if that is today.
                push(if as_of < due { due } else { next_day(as_of) }.min(day_in(month, 31)));
            }
            let mut later = month.checked_add_months(Months::new(1));
            while let Some(m) = later.filter(|m| *m <= period.end) {
                push(day_in(m, d));
                later = m.checked_add_months(Months::new(1));
            }
        }
    }
    out.sort_by(|a, b| (a.day, &a.key).cmp(&(b.day, &b.key)));
    out
}

/// One day of usage in the fit: days from `as_of` (0 is `as_of`, negative before), weekday
/// (Monday 0) and spend.
#[derive(Clone, Copy, Debug)]
struct Point {
    t: f64,
    weekday: usize,
    y: f64,
}

/// A fitted usage model: `(a + b·t + c·[t ≥ step]) × season[weekday]`, with the terms present
/// as `trend` and `step` say.
#[derive(Clone, Debug)]
struct Model {
    beta: Vec<f64>,
    trend: bool,
    step: Option<i64>,
    weekday: bool,
    season: [f64; 7],
    /// Sum of squared residuals.
    sse: f64,
    /// Residual variance (SSE over the degrees of freedom).
    sigma2: f64,
    /// `(XᵀX)⁻¹`, for the variance of the forecast's sum.
    inv: Vec<Vec<f64>>,
}

fn design(t: f64, trend: bool, step: Option<i64>) -> Vec<f64> {
    let mut x = vec![1.0];
    if trend {
        x.push(t);
    }
    if let Some(k) = step {
        x.push(if t >= k as f64 { 1.0 } else { 0.0 });
    }
    x
}

/// Picks the model for the points: a slope from [`MIN_TREND_DAYS`], a weekday pattern from
/// [`MIN_WEEKDAY_DAYS`], and the best level step when it passes the [`STEP_PENALTY`] test.
fn choose_model(points: &[Point]) -> Option<Model> {
    let n = points.len();
    let trend = n >= MIN_TREND_DAYS;
    let weekday = n >= MIN_WEEKDAY_DAYS;
    let base = fit(points, trend, None, weekday)?;
    if n < MIN_STEP_DAYS {
        return Some(base);
    }
    let scale: f64 = points.iter().map(|p| p.y * p.y).sum::<f64>().max(f64::MIN_POSITIVE);
    // An exact fit has nothing left for a step to explain.
    if base.sse <= scale * 1e-18 {
        return Some(base);
    }
    let best = points[STEP_MIN_BEFORE..=n - STEP_MIN_AFTER]
        .iter()
        .filter_map(|p| fit(points, trend, Some(p.t as i64), weekday))
        .min_by(|a, b| a.sse.total_cmp(&b.sse));
    let n_f = n as f64;
    match best {
        Some(stepped)
            if stepped.sse > 0.0
                && n_f * (base.sse / stepped.sse).ln() > STEP_PENALTY * n_f.ln() =>
        {
            Some(stepped)
        }
        Some(stepped) if stepped.sse <= 0.0 => Some(stepped),
        _ => Some(base),
    }
}

/// Least squares of the usage on the design scaled by the weekday factors, alternating with the
/// factors (each the median ratio of that weekday's usage to the line, normalized to a mean of
/// 1; a median, so that one spike does not make its weekday dearer every week) until they
/// settle. Working on the usage itself rather than on usage ÷ factor keeps
/// a weekday without usage (a factor of 0) well defined. Falls back to no weekday pattern when
/// the line is not positive everywhere, as ratios to a non-positive level mean nothing.
fn fit(points: &[Point], trend: bool, step: Option<i64>, weekday: bool) -> Option<Model> {
    let mut season = [1.0; 7];
    let mut solved = ols(points, trend, step, &season)?;
    if weekday {
        for _ in 0..20 {
            let mut ratios: [Vec<f64>; 7] = Default::default();
            for p in points {
                let f = dot(&design(p.t, trend, step), &solved.0);
                if f <= 1e-9 {
                    return fit(points, trend, step, false);
                }
                ratios[p.weekday].push(p.y / f);
            }
            let mut next = [1.0; 7];
            for (factor, r) in next.iter_mut().zip(ratios) {
                if !r.is_empty() {
                    *factor = median(r);
                }
            }
            let mean = next.iter().sum::<f64>() / 7.0;
            if mean <= 0.0 || next.iter().any(|s| *s < 0.0) {
                return fit(points, trend, step, false);
            }
            next.iter_mut().for_each(|s| *s /= mean);
            let change = next.iter().zip(&season).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            season = next;
            solved = ols(points, trend, step, &season)?;
            if change < 1e-9 {
                break;
            }
        }
    }
    let (beta, inv) = solved;
    let sse: f64 = points
        .iter()
        .map(|p| {
            let e = p.y - season[p.weekday] * dot(&design(p.t, trend, step), &beta);
            e * e
        })
        .sum();
    // Weekday factors cost six more degrees of freedom.
    let params = beta.len() + if weekday { 6 } else { 0 };
    let dof = points.len().saturating_sub(params).max(1);
    Some(Model { sigma2: sse / dof as f64, beta, trend, step, weekday, season, sse, inv })
}

/// The model's usage on day `t`, weekday `weekday`.
fn predict(model: &Model, t: f64, weekday: usize) -> f64 {
    model.season[weekday] * dot(&design(t, model.trend, model.step), &model.beta)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Refits the chosen model with days far from it pulled back to [`OUTLIER_SDS`] robust standard
/// deviations (1.4826 × the residuals' median absolute deviation): a one-day spike (an anomaly,
/// a late batch of usage) would otherwise tilt the line it is extrapolated from. The model's
/// shape (slope, weekday pattern, step day) stays as chosen on the raw days, so that the days
/// after a step are not taken for outliers of the level before it.
fn resist_outliers(points: &[Point], mut model: Model) -> Option<Model> {
    for _ in 0..CLIP_ROUNDS {
        let residuals: Vec<f64> =
            points.iter().map(|p| p.y - predict(&model, p.t, p.weekday)).collect();
        let centre = median(residuals.clone());
        let bound =
            OUTLIER_SDS * 1.4826 * median(residuals.iter().map(|e| (e - centre).abs()).collect());
        let clipped: Vec<Point> = points
            .iter()
            .zip(&residuals)
            .map(|(p, e)| {
                let e = e.clamp(centre - bound, centre + bound);
                Point { y: predict(&model, p.t, p.weekday) + e, ..*p }
            })
            .collect();
        let moved = points.iter().zip(&clipped).any(|(a, b)| (a.y - b.y).abs() > 1e-9);
        if !moved {
            break;
        }
        model = fit(&clipped, model.trend, model.step, model.weekday)?;
    }
    Some(model)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Ordinary least squares of the usage on the design rows times their weekday factor: the
/// coefficients and `(RᵀR)⁻¹`.
fn ols(
    points: &[Point],
    trend: bool,
    step: Option<i64>,
    season: &[f64; 7],
) -> Option<(Vec<f64>, Vec<Vec<f64>>)> {
    let p = design(0.0, trend, step).len();
    let mut xtx = vec![vec![0.0; p]; p];
    let mut xty = vec![0.0; p];
    for pt in points {
        let x: Vec<f64> =
            design(pt.t, trend, step).iter().map(|v| v * season[pt.weekday]).collect();
        for i in 0..p {
            xty[i] += x[i] * pt.y;
            for j in 0..p {
                xtx[i][j] += x[i] * x[j];
            }
        }
    }
    let inv = invert(xtx)?;
    let beta = (0..p).map(|i| dot(&inv[i], &xty)).collect();
    Some((beta, inv))
}

/// Gauss–Jordan inverse with partial pivoting; `None` when singular.
fn invert(mut a: Vec<Vec<f64>>) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    let mut inv: Vec<Vec<f64>> =
        (0..n).map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect()).collect();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let d = a[col][col];
        for j in 0..n {
            a[col][j] /= d;
            inv[col][j] /= d;
        }
        for row in 0..n {
            if row != col {
                let f = a[row][col];
                if f != 0.0 {
                    for j in 0..n {
                        a[row][j] -= f * a[col][j];
                        inv[row][j] -= f * inv[col][j];
                    }
                }
            }
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BillingLine, DailyLine};

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    fn day(year: i32, month: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, d).unwrap()
    }

    fn oct(d: u32) -> NaiveDate {
        day(2026, 10, d)
    }

    fn usd() -> Currency {
        Currency::usd()
    }

    fn key(category: &str, service: &str) -> ChargeKey {
        ChargeKey { category: category.into(), service: service.into(), frequency: String::new() }
    }

    fn days(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
        from.iter_days().take_while(move |d| *d <= to)
    }

    /// Usage of `per_day` on every day from `from` to `to`.
    fn flat(from: NaiveDate, to: NaiveDate, per_day: &str) -> BTreeMap<NaiveDate, Money> {
        days(from, to).map(|d| (d, m(per_day))).collect()
    }

    #[test]
    fn a_pure_line_is_forecast_as_its_own_sum() {
        // 10 + 0.5·d on October 1–10 (127.5); the line continued over the 11th–31st is
        // 21 × 10 + 0.5 × (11 + … + 31) = 210 + 0.5 × 441 = 430.5.
        let usage: BTreeMap<NaiveDate, Money> = (1..=10)
            .map(|d| (oct(d), Money::from_units(10) + Money::from_units(d.into()).mul_ratio(1, 2)))
            .collect();
        let s = DailySeries { usage, separated: true, ..Default::default() };
        let f = forecast(&usd(), &s, oct(10), Horizon::Month.period(oct(10))).unwrap();
        assert_eq!(f.period, ForecastPeriod { start: oct(1), end: oct(31) });
        assert_eq!(
            (f.days_remaining, f.actual_to_date, f.actual_usage),
            (21, m("127.5"), m("127.5"))
        );
        assert_eq!(f.usage_remaining, m("430.5"));
        assert_eq!((f.total, f.low, f.high), (m("558"), m("558"), m("558")));
        assert_eq!(f.daily_usage.first(), Some(&(oct(11), m("15.5"))));
        assert_eq!(f.daily_usage.last(), Some(&(oct(31), m("25.5"))));
        let method = f.method.unwrap();
        assert!(method.trend && !method.weekday);
        assert_eq!((method.daily_slope, method.step, method.residual_sd), (m("0.5"), None, m("0")));
        assert_eq!((method.lookback_from, method.lookback_days), (day(2026, 9, 13), 10));
    }

    #[test]
    fn a_line_over_four_weeks_keeps_its_sum_with_the_weekday_fit_on() {
        // 28 days, 20 + 0.25 a day from Sep 13: the weekday factors come out 1 and the remaining
        // days continue the line exactly.
        let start = day(2026, 9, 13);
        let value = |d: NaiveDate| m("20") + m("0.25").times((d - start).num_days());
        let s = DailySeries {
            usage: days(start, oct(10)).map(|d| (d, value(d))).collect(),
            ..Default::default()
        };
        let f = forecast(&usd(), &s, oct(10), Horizon::Month.period(oct(10))).unwrap();
        let actual: Money = days(oct(1), oct(10)).map(value).sum();
        let rest: Money = days(oct(11), oct(31)).map(value).sum();
        assert_eq!(rest, m("619.5"), "21 × 20 + 0.25 × (28 + … + 48) = 420 + 0.25 × 798");
        assert_eq!((f.actual_to_date, f.usage_remaining), (actual, rest));
        assert_eq!((f.low, f.total, f.high), (actual + rest, actual + rest, actual + rest));
        let method = f.method.unwrap();
        assert!(method.weekday && method.trend);
        assert_eq!((method.lookback_days, method.daily_slope, method.step), (28, m("0.25"), None));
    }

    /// August to October 10, usage 10 a day, and charges:
    /// - Savings Plan fee 100 on the 1st of each month (billed in October already);
    /// - Support 50 on Aug 20 and Sep 21 (recurring, due about Oct 21);
    /// - Tax 11 on Aug 31 and 12 on Sep 30 (recurring, due Oct 30 with its last amount);
    /// - a credit of −20 on Aug 5 and Sep 5, not billed by Oct 10: stopped;
    /// - a Marketplace purchase of 500 on Sep 15 only: one-time.
    fn three_months() -> DailySeries {
        let mut charges: BTreeMap<ChargeKey, BTreeMap<NaiveDate, Money>> = BTreeMap::new();
        let mut add = |k: ChargeKey, d: NaiveDate, amount: &str| {
            charges.entry(k).or_default().insert(d, m(amount));
        };
        for month in [8, 9, 10] {
            add(key("Purchase", "Savings Plans"), day(2026, month, 1), "100");
        }
        add(key("Purchase", "Support"), day(2026, 8, 20), "50");
        add(key("Purchase", "Support"), day(2026, 9, 21), "50");
        add(key("Tax", "Tax"), day(2026, 8, 31), "11");
        add(key("Tax", "Tax"), day(2026, 9, 30), "12");
        add(key("Credit", "Credits"), day(2026, 8, 5), "-20");
        add(key("Credit", "Credits"), day(2026, 9, 5), "-20");
        add(key("Purchase", "Marketplace"), day(2026, 9, 15), "500");
        DailySeries { usage: flat(day(2026, 8, 1), oct(10), "10"), charges, separated: true }
    }

    #[test]
    fn recurring_charges_are_expected_on_their_day_and_one_time_ones_are_not() {
        let f = forecast(&usd(), &three_months(), oct(10), Horizon::Month.period(oct(10))).unwrap();
        // October to date: 10 days of usage and the fee.
        assert_eq!((f.actual_to_date, f.actual_usage), (m("200"), m("100")));
        assert_eq!(f.usage_remaining, m("210"));
        let expected: Vec<(NaiveDate, &str, Money, bool)> = f
            .expected
            .iter()
            .map(|c| (c.day, c.key.service.as_str(), c.amount, c.confirmed))
            .collect();
        assert_eq!(
            expected,
            vec![(oct(21), "Support", m("50"), true), (oct(30), "Tax", m("12"), true)]
        );
        assert_eq!(f.expected_charges, m("62"));
        // 200 + 210 + 62; flat usage leaves no spread.
        assert_eq!((f.low, f.total, f.high), (m("472"), m("472"), m("472")));
    }

    #[test]
    fn a_charge_due_today_and_not_billed_is_expected_tomorrow() {
        // On Oct 21 the Support charge (Sep 21) may still come on the 22nd.
        let mut s = three_months();
        s.usage.extend(flat(oct(11), oct(21), "10"));
        let f = forecast(&usd(), &s, oct(21), Horizon::Month.period(oct(21))).unwrap();
        let support: Vec<NaiveDate> =
            f.expected.iter().filter(|c| c.key.service == "Support").map(|c| c.day).collect();
        assert_eq!(support, vec![oct(22)]);
        // On the 22nd, without it, its window has passed.
        s.usage.insert(oct(22), m("10"));
        let f = forecast(&usd(), &s, oct(22), Horizon::Month.period(oct(22))).unwrap();
        assert!(f.expected.iter().all(|c| c.key.service != "Support"));
        assert_eq!(f.expected_charges, m("12"));
    }

    #[test]
    fn a_quarter_repeats_recurring_charges_in_each_later_month() {
        let f =
            forecast(&usd(), &three_months(), oct(10), Horizon::Quarter.period(oct(10))).unwrap();
        assert_eq!(f.period, ForecastPeriod { start: oct(1), end: day(2026, 12, 31) });
        // 21 + 30 + 31 days at 10.
        assert_eq!((f.days_remaining, f.usage_remaining), (82, m("820")));
        let expected: Vec<(NaiveDate, &str)> =
            f.expected.iter().map(|c| (c.day, c.key.service.as_str())).collect();
        assert_eq!(
            expected,
            vec![
                (oct(21), "Support"),
                (oct(30), "Tax"),
                (day(2026, 11, 1), "Savings Plans"),
                (day(2026, 11, 21), "Support"),
                (day(2026, 11, 30), "Tax"),
                (day(2026, 12, 1), "Savings Plans"),
                (day(2026, 12, 21), "Support"),
                (day(2026, 12, 30), "Tax"),
            ]
        );
        // 3 × 50 + 3 × 12 + 2 × 100 = 386; 200 + 820 + 386 = 1,406.
        assert_eq!((f.expected_charges, f.total), (m("386"), m("1406")));
        let year = Horizon::Year.period(oct(10));
        assert_eq!(year, ForecastPeriod { start: day(2026, 1, 1), end: day(2026, 12, 31) });
    }

    #[test]
    fn without_the_month_before_a_charge_seen_once_is_expected_unconfirmed() {
        // The data starts on Sep 1: the Marketplace purchase of Sep 15 may be monthly.
        let mut s = three_months();
        for days in s.charges.values_mut() {
            days.retain(|d, _| *d >= day(2026, 9, 1));
        }
        s.usage.retain(|d, _| *d >= day(2026, 9, 1));
        let f = forecast(&usd(), &s, oct(10), Horizon::Month.period(oct(10))).unwrap();
        let expected: Vec<(NaiveDate, &str, bool)> =
            f.expected.iter().map(|c| (c.day, c.key.service.as_str(), c.confirmed)).collect();
        assert_eq!(
            expected,
            vec![
                (oct(15), "Marketplace", false),
                (oct(21), "Support", false),
                (oct(30), "Tax", false)
            ]
        );
        // The credit's window (Oct 5 ± 1) has passed. 200 + 210 + 500 + 50 + 12 = 972; the
        // low end leaves the three unconfirmed charges out.
        assert_eq!((f.total, f.low, f.high), (m("972"), m("410"), m("972")));

        // When the billing marks the purchase one-time (FOCUS ChargeFrequency), it is not
        // expected at all: 972 − 500.
        let marketplace = key("Purchase", "Marketplace");
        let days = s.charges.remove(&marketplace).unwrap();
        s.charges.insert(ChargeKey { frequency: "One-Time".into(), ..marketplace }, days);
        let f = forecast(&usd(), &s, oct(10), Horizon::Month.period(oct(10))).unwrap();
        assert!(f.expected.iter().all(|c| c.key.service != "Marketplace"), "{:?}", f.expected);
        assert_eq!((f.total, f.low), (m("472"), m("410")));
    }

    #[test]
    fn a_one_day_spike_does_not_tilt_the_line() {
        // 100 a day for four weeks but 1,000 on Oct 3: least squares alone would lift the level
        // by 900 / 28 ≈ 32 a day and tilt it; pulled back, the rest of the month is 21 × 100.
        let mut usage = flat(day(2026, 9, 13), oct(10), "100");
        usage.insert(oct(3), m("1000"));
        let s = DailySeries { usage, ..Default::default() };
        let f = forecast(&usd(), &s, oct(10), Horizon::Month.period(oct(10))).unwrap();
        assert_eq!(f.actual_to_date, m("1900"));
        assert_eq!(f.usage_remaining, m("2100"));
        assert_eq!(f.method.unwrap().step, None);
    }

    #[test]
    fn a_service_off_at_weekends_is_forecast_on_weekdays_only() {
        // Four weeks of 100 on weekdays and nothing on Saturdays and Sundays.
        let value = |d: NaiveDate| {
            if d.weekday().num_days_from_monday() < 5 { m("100") } else { Money::ZERO }
        };
        let s = DailySeries {
            usage: days(day(2026, 9, 13), oct(10)).map(|d| (d, value(d))).collect(),
            ..Default::default()
        };
        let f = forecast(&usd(), &s, oct(10), Horizon::Month.period(oct(10))).unwrap();
        let weekdays = days(oct(11), oct(31)).filter(|d| value(*d) > Money::ZERO).count();
        assert_eq!(weekdays, 15, "Oct 11, 2026 is a Sunday: three weeks of five days");
        assert_eq!(f.usage_remaining, m("1500"));
        assert_eq!(f.daily_usage[0], (oct(11), Money::ZERO));
        assert!(f.method.unwrap().weekday);
    }

    #[test]
    fn a_period_after_the_data_is_forecast_whole() {
        // November from Oct 10: 30 days at 10, the fee on the 1st, Support on the 21st and Tax
        // on the 30th: 300 + 100 + 50 + 12.
        let november = ForecastPeriod { start: day(2026, 11, 1), end: day(2026, 11, 30) };
        let f = forecast(&usd(), &three_months(), oct(10), november).unwrap();
        assert_eq!(
            (f.actual_to_date, f.days_remaining, f.usage_remaining),
            (Money::ZERO, 30, m("300"))
        );
        assert_eq!((f.expected_charges, f.total), (m("162"), m("462")));
    }

    #[test]
    fn the_sample_month_is_complete_and_its_forecast_is_its_bill() {
        use crate::source::focus::FocusOptions;
        let billing =
            crate::sample::billing(FocusOptions { grain: GRAIN, ..FocusOptions::default() })
                .unwrap();
        // October's bill: the sample covers September and October.
        let billed: Money = billing
            .lines
            .iter()
            .filter(|l| l.day.is_some_and(|d| d >= oct(1)))
            .map(|l| l.billed_cost)
            .sum();
        let [c] = forecast_billing(&billing, Horizon::Month).try_into().unwrap();
        let f = c.forecast.unwrap();
        assert_eq!((f.as_of, f.days_remaining, f.method), (oct(31), 0, None));
        assert_eq!((f.total, f.low, f.high), (billed, billed, billed));
        let s = &series(&billing)[&c.currency];
        assert!(s.separated && !s.charges.is_empty(), "the sample has purchases and taxes");
        let usage: Money = s.usage.range(oct(1)..).map(|(_, m)| *m).sum();
        assert_eq!(f.actual_usage, usage);
    }

    #[test]
    fn charges_billed_daily_are_continued_daily() {
        // October 1–10: usage 10 a day, a fee of 2 every day, a credit of −1 on the 5th to the
        // 10th (6 of the last 7 days: daily), and a credit of −150 on the 1st only.
        let mut charges: BTreeMap<ChargeKey, BTreeMap<NaiveDate, Money>> = BTreeMap::new();
        charges.insert(key("Purchase", "Savings Plans"), flat(oct(1), oct(10), "2"));
        charges.insert(key("Credit", "EC2"), flat(oct(5), oct(10), "-1"));
        charges.insert(key("Credit", "RDS"), flat(oct(1), oct(1), "-150"));
        let s = DailySeries { usage: flat(oct(1), oct(10), "10"), charges, separated: true };
        let f = forecast(&usd(), &s, oct(10), Horizon::Month.period(oct(10))).unwrap();
        // 100 + 20 − 6 − 150 to date.
        assert_eq!(f.actual_to_date, m("-36"));
        let daily: Vec<(&str, Money, Money)> =
            f.daily_charges.iter().map(|c| (c.key.service.as_str(), c.per_day, c.amount)).collect();
        assert_eq!(daily, vec![("EC2", m("-1"), m("-21")), ("Savings Plans", m("2"), m("42"))]);
        assert_eq!((f.daily_charges_remaining, f.expected_charges), (m("21"), Money::ZERO));
        // −36 + 210 + 21.
        assert_eq!(f.total, m("195"));
    }

    #[test]
    fn a_level_step_is_found_and_the_new_level_continued() {
        // 100 a day until Oct 14, 130 from Oct 15: on Oct 20 the rest of the month is 11 × 130.
        let mut usage = flat(day(2026, 9, 23), oct(14), "100");
        usage.extend(flat(oct(15), oct(20), "130"));
        let s = DailySeries { usage, ..Default::default() };
        let f = forecast(&usd(), &s, oct(20), Horizon::Month.period(oct(20))).unwrap();
        let method = f.method.unwrap();
        assert_eq!(method.step, Some(oct(15)));
        assert_eq!(method.daily_slope, m("0"));
        // 14 × 100 + 6 × 130 = 2,180 to date; + 1,430.
        assert_eq!((f.actual_to_date, f.usage_remaining), (m("2180"), m("1430")));
        assert_eq!(f.total, m("3610"));
    }

    #[test]
    fn too_little_data_gives_a_reason_and_a_finished_period_its_actual() {
        let s = DailySeries { usage: flat(oct(9), oct(10), "5"), ..Default::default() };
        let err = forecast(&usd(), &s, oct(10), Horizon::Month.period(oct(10))).unwrap_err();
        assert_eq!(err, ForecastError::TooFewDays { days: 2, as_of: oct(10) });
        assert!(err.to_string().contains("only 2 day(s)"));
        // A period that is over needs no fit: its total is what was billed.
        let f =
            forecast(&usd(), &s, oct(10), ForecastPeriod { start: oct(1), end: oct(10) }).unwrap();
        assert_eq!((f.total, f.low, f.high, f.days_remaining), (m("10"), m("10"), m("10"), 0));
        assert_eq!(f.method, None);
        let after = ForecastPeriod { start: oct(1), end: oct(9) };
        assert!(matches!(
            forecast(&usd(), &s, oct(10), after),
            Err(ForecastError::AfterPeriod { .. })
        ));
    }

    fn line(
        d: NaiveDate,
        category: &str,
        service: &str,
        currency: &str,
        cost: &str,
    ) -> BillingLine {
        BillingLine {
            day: Some(d),
            provider: String::new().into(),
            account_id: String::new().into(),
            service: service.into(),
            region: String::new().into(),
            resource_id: String::new().into(),
            charge_category: category.into(),
            charge_frequency: String::new().into(),
            tag_set: None,
            currency: Currency::new(currency),
            billed_cost: m(cost),
            effective_cost: None,
            list_cost: None,
            rows: 1,
        }
    }

    #[test]
    fn the_billing_splits_usage_from_charges_per_currency() {
        let mut lines = Vec::new();
        for d in 1..=10 {
            lines.push(line(oct(d), "Usage", "EC2", "USD", "7"));
            lines.push(line(oct(d), "Usage", "S3", "USD", "3"));
        }
        lines.push(line(oct(1), "Tax", "Tax", "USD", "4"));
        lines.push(line(oct(1), "", "VM", "EUR", "2"));
        lines.push(line(oct(2), "Usage", "VM", "EUR", "2"));
        let billing = BillingSummary {
            grain: GRAIN,
            lines,
            first_day: Some(oct(1)),
            last_day: Some(oct(10)),
            ..Default::default()
        };
        let all = series(&billing);
        let usd_series = &all[&usd()];
        assert_eq!(usd_series.usage[&oct(3)], m("10"));
        assert_eq!(usd_series.charges[&key("Tax", "Tax")][&oct(1)], m("4"));
        assert!(usd_series.separated);
        let forecasts = forecast_billing(&billing, Horizon::Month);
        let summary: Vec<(String, Option<Money>, Option<String>)> = forecasts
            .iter()
            .map(|c| {
                (
                    c.currency.to_string(),
                    c.forecast.as_ref().map(|f| f.total),
                    c.unavailable.clone(),
                )
            })
            .collect();
        // USD: 104 to date + 21 × 10. EUR: two days, no forecast.
        assert_eq!(summary[1], ("USD".into(), Some(m("314")), None));
        assert_eq!(summary[0].0, "EUR");
        assert_eq!(summary[0].1, None);
        assert!(summary[0].2.as_deref().is_some_and(|r| r.contains("only 2 day(s)")));

        // Without dated lines the daily rollup serves, all as usage.
        let rollup = BillingSummary {
            daily: (1..=10)
                .map(|d| DailyLine {
                    day: oct(d),
                    service: "EC2".into(),
                    account_id: String::new().into(),
                    region: String::new().into(),
                    charge_category: String::new().into(),
                    charge_frequency: String::new().into(),
                    currency: usd(),
                    billed_cost: m("10"),
                    effective_cost: None,
                    rows: 1,
                })
                .collect(),
            first_day: Some(oct(1)),
            last_day: Some(oct(10)),
            ..Default::default()
        };
        let [c] = forecast_billing(&rollup, Horizon::Month).try_into().unwrap();
        let f = c.forecast.unwrap();
        assert_eq!(f.total, m("310"));
        assert!(!f.method.unwrap().charges_separated);

        // At full grain the rollup keeps the charge category: a Purchase of 100 on the 1st is
        // taken as billed and not repeated (no earlier month shows it recurring).
        let mut full = BillingSummary { grain: Grain::FULL, ..rollup.clone() };
        for d in &mut full.daily {
            d.charge_category = "Usage".into();
        }
        full.daily.push(DailyLine {
            charge_category: "Purchase".into(),
            charge_frequency: String::new().into(),
            billed_cost: m("100"),
            ..full.daily[0].clone()
        });
        let [c] = forecast_billing(&full, Horizon::Month).try_into().unwrap();
        let f = c.forecast.unwrap();
        assert!(f.method.as_ref().unwrap().charges_separated);
        assert_eq!((f.actual_to_date, f.actual_usage, f.total), (m("200"), m("100"), m("410")));
    }

    /// A small deterministic generator (Knuth's MMIX LCG), so the backtest needs no crate.
    struct Lcg(u64);

    impl Lcg {
        fn uniform(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }

        fn between(&mut self, low: f64, high: f64) -> f64 {
            low + (high - low) * self.uniform()
        }

        /// Approximately standard normal (sum of 12 uniforms).
        fn normal(&mut self) -> f64 {
            (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
        }
    }

    /// One synthetic bill: the target month and the two before it. Usage is a line (growing
    /// 0.1–0.6 % of its level a day) times a weekday pattern (weekends at 60–80 %), with 4 %
    /// noise, and 30 % higher from the 15th of the month `step_in` says. A Savings Plan fee of 5
    /// days' usage on every 1st; one-time purchases on the previous month's 12th (8 days' usage)
    /// and the target month's 5th (3 days').
    struct Scenario {
        month: NaiveDate,
        series: DailySeries,
    }

    #[derive(Clone, Copy)]
    enum StepIn {
        Nowhere,
        PreviousMonth,
        TargetMonth,
    }

    fn scenario(index: u64, step_in: StepIn) -> Scenario {
        let mut rng = Lcg(index.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5EED);
        let month = day(2025, 3, 1).checked_add_months(Months::new(index as u32)).unwrap();
        let start = month.checked_sub_months(Months::new(2)).unwrap();
        let end = month.checked_add_months(Months::new(1)).unwrap().pred_opt().unwrap();
        let base = rng.between(100.0, 1000.0);
        let growth = base * rng.between(0.001, 0.006);
        let weekend = rng.between(0.6, 0.8);
        let money = |v: f64| Money::from_f64_rounded(v).unwrap().round_dp(2);
        let mut usage = BTreeMap::new();
        for (i, d) in days(start, end).enumerate() {
            let level = base + growth * i as f64;
            let weekday = if d.weekday().num_days_from_monday() >= 5 { weekend } else { 1.0 };
            let step_from = match step_in {
                StepIn::Nowhere => None,
                StepIn::PreviousMonth => month.checked_sub_months(Months::new(1)),
                StepIn::TargetMonth => Some(month),
            };
            let step = if step_from.is_some_and(|m| d >= day_in(m, 15)) { 1.3 } else { 1.0 };
            let noise = 1.0 + 0.04 * rng.normal();
            usage.insert(d, money(level * weekday * step * noise));
        }
        let mut charges: BTreeMap<ChargeKey, BTreeMap<NaiveDate, Money>> = BTreeMap::new();
        for m in [start, start.checked_add_months(Months::new(1)).unwrap(), month] {
            charges
                .entry(key("Purchase", "Savings Plans"))
                .or_default()
                .insert(m, money(5.0 * base));
        }
        let previous = month.checked_sub_months(Months::new(1)).unwrap();
        let one_time = charges.entry(key("Purchase", "Marketplace")).or_default();
        one_time.insert(day_in(previous, 12), money(8.0 * base));
        one_time.insert(day_in(month, 5), money(3.0 * base));
        Scenario { month, series: DailySeries { usage, charges, separated: true } }
    }

    /// The series as known on `as_of`.
    fn known_on(series: &DailySeries, as_of: NaiveDate) -> DailySeries {
        DailySeries {
            usage: series.usage.range(..=as_of).map(|(d, m)| (*d, *m)).collect(),
            charges: series
                .charges
                .iter()
                .map(|(k, days)| (k.clone(), days.range(..=as_of).map(|(d, m)| (*d, *m)).collect()))
                .collect(),
            separated: series.separated,
        }
    }

    /// The old forecast, as the overview made it before this model: month to date plus the
    /// average of the last 7 days with charges (all charges) times the days left.
    fn run_rate_forecast(series: &DailySeries, as_of: NaiveDate) -> Money {
        let mut totals: BTreeMap<NaiveDate, Money> =
            series.usage.range(..=as_of).map(|(d, m)| (*d, *m)).collect();
        for days in series.charges.values() {
            for (d, m) in days.range(..=as_of) {
                *totals.entry(*d).or_default() += *m;
            }
        }
        let month_start = first_of_month(as_of);
        let to_date: Money = totals.range(month_start..).map(|(_, m)| *m).sum();
        let window: Vec<Money> = totals.values().rev().take(7).copied().collect();
        let days_left = days_in_month(month_start) - as_of.day();
        let sum: Money = window.iter().copied().sum();
        to_date + sum.mul_ratio(i128::from(days_left), window.len() as i128)
    }

    /// Mean absolute percentage errors and how often the range held the truth.
    #[derive(Debug, Default)]
    struct Backtest {
        new_day10: f64,
        new_day20: f64,
        old_day10: f64,
        old_day20: f64,
        covered_day10: u32,
        covered_day20: u32,
    }

    const MONTHS: u64 = 24;

    fn backtest(step_in: StepIn) -> Backtest {
        let mut b = Backtest::default();
        for index in 0..MONTHS {
            let sc = scenario(index, step_in);
            let month_end = day_in(sc.month, 31);
            // The truth, summed independently of the forecast's code.
            let usage: Money = sc.series.usage.range(sc.month..=month_end).map(|(_, m)| *m).sum();
            let charges: Money = sc
                .series
                .charges
                .values()
                .flat_map(|d| d.range(sc.month..=month_end))
                .map(|(_, m)| *m)
                .sum();
            let truth = usage + charges;
            for d in [10, 20] {
                let as_of = day_in(sc.month, d);
                let known = known_on(&sc.series, as_of);
                let f = forecast(&usd(), &known, as_of, Horizon::Month.period(as_of)).unwrap();
                // The fee is billed on the 1st and the previous month's purchase is one-time:
                // nothing is left to expect.
                assert_eq!(f.expected, Vec::new());
                assert_eq!(f.total, f.actual_to_date + f.usage_remaining);
                let old = run_rate_forecast(&known, as_of);
                let error =
                    |v: Money| ((v - truth).to_f64() / truth.to_f64()).abs() / MONTHS as f64;
                let held = u32::from(f.low <= truth && truth <= f.high);
                if d == 10 {
                    b.new_day10 += error(f.total);
                    b.old_day10 += error(old);
                    b.covered_day10 += held;
                } else {
                    b.new_day20 += error(f.total);
                    b.old_day20 += error(old);
                    b.covered_day20 += held;
                }
            }
        }
        b
    }

    /// The backtest: 24 generated months per case, forecast on the 10th and the 20th.
    /// Measured (new / old 7-day run rate, MAPE on day 10; day 20; range held on day 10, 20):
    /// - no step: 1.33 % / 18.5 %; 0.54 % / 0.98 %; 17 and 21 of 24;
    /// - step on the previous month's 15th: 1.85 % / 14.4 %; 0.56 % / 1.02 %; 16 and 21;
    /// - step on the target month's 15th: 11.7 % / 4.5 %; 0.64 % / 1.70 %; 0 and 17.
    ///
    /// A step after the 10th cannot be seen on the 10th: the new forecast misses it by its
    /// share of the month (0.3 × 17 days of ~40 days' worth of spend ≈ 12 %). The run rate does
    /// better there only by luck: the one-time purchase of the 5th inflates its week by about
    /// as much as the step adds later; without a step the same purchase makes it 18 % too high.
    /// Bounds are the measures with a margin.
    #[test]
    fn backtest_on_synthetic_months() {
        let quiet = backtest(StepIn::Nowhere);
        let seen = backtest(StepIn::PreviousMonth);
        let unseen = backtest(StepIn::TargetMonth);
        for b in [&quiet, &seen] {
            assert!(b.new_day10 <= 0.03, "{b:?}");
            assert!(b.new_day20 <= 0.015, "{b:?}");
            assert!(b.new_day10 < b.old_day10 && b.new_day20 < b.old_day20, "{b:?}");
            assert!(b.covered_day10 >= 15 && b.covered_day20 >= 15, "{b:?}");
        }
        assert!(unseen.new_day10 <= 0.14, "{unseen:?}");
        assert!(unseen.new_day20 <= 0.015, "{unseen:?}");
        assert!(unseen.new_day20 < unseen.old_day20, "{unseen:?}");
        assert!(unseen.covered_day20 >= 13, "{unseen:?}");
    }
}
