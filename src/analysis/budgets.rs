//! Budgets and variance: per configured budget, the spend of its period to date in its scope and
//! currency, a forecast to the period's end, the variance against the amount, the alerts that
//! fired and the groups that drive the spend.
//!
//! The forecast is a parameter ([`evaluate_budgets_with`]): a budget only needs the period total
//! of its scope's daily series, and the forecast model lives elsewhere. [`run_rate_forecast`] is
//! the simple default, so this module stands on its own.
//!
//! Budgets come from costscope.toml (`crate::config`):
//!
//! ```toml
//! [[budget]]
//! name = "web team"
//! amount = "5000"            # a quoted decimal: money is never a float
//! currency = "USD"           # the default
//! period = "month"           # or "quarter", "year" (calendar, UTC)
//! scope = { service = "Amazon Elastic Compute Cloud", "tag:team" = "web" }
//! alerts = [{ at = 80, of = "forecast" }, { at = 100, of = "actual" }]   # the default
//! ```
//!
//! Scope values match exactly (a tag key `Team` is not `team`); an `account` matches the id or
//! the account's display name.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Datelike, Months, NaiveDate};
use serde::{Serialize, Serializer};

use crate::model::money::ESTIMATE_DIGITS;
use crate::model::{BillingSummary, Currency, Grain, Money, Tags};

/// What a summary must keep for budgets: days, the scope dimensions, tags, and the charge
/// category (for [`DayCost::usage_cost`]). No resources, so lines keep their days.
pub const GRAIN: Grain = Grain {
    day: true,
    service: true,
    account: true,
    region: true,
    charge_category: true,
    tags: true,
    ..Grain::NONE
};

/// Groups listed in [`Drivers::groups`]; the rest are summed.
pub const TOP_DRIVERS: usize = 5;

/// The calendar period a budget covers (UTC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetPeriod {
    #[default]
    Month,
    Quarter,
    Year,
}

impl BudgetPeriod {
    /// First and last day of the period that contains `day`.
    pub fn containing(self, day: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
        let (first_month, months) = match self {
            BudgetPeriod::Month => (day.month(), 1),
            BudgetPeriod::Quarter => ((day.month() - 1) / 3 * 3 + 1, 3),
            BudgetPeriod::Year => (1, 12),
        };
        let start = NaiveDate::from_ymd_opt(day.year(), first_month, 1)?;
        let end = start.checked_add_months(Months::new(months))?.pred_opt()?;
        Some((start, end))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BudgetPeriod::Month => "month",
            BudgetPeriod::Quarter => "quarter",
            BudgetPeriod::Year => "year",
        }
    }
}

/// Which figure an alert threshold is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertBasis {
    /// Spend to date.
    Actual,
    /// The forecast of the period's total.
    Forecast,
}

/// An alert: fires when the basis reaches `percent` % of the budget's amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AlertThreshold {
    /// 1 to 1000.
    pub percent: u32,
    pub of: AlertBasis,
}

impl AlertThreshold {
    /// When a budget names no alerts: 80 % of the forecast, 100 % of the actual.
    pub const DEFAULTS: [AlertThreshold; 2] = [
        AlertThreshold { percent: 80, of: AlertBasis::Forecast },
        AlertThreshold { percent: 100, of: AlertBasis::Actual },
    ];
}

/// One condition of a scope; a scope's conditions must all hold (AND).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScopeFilter {
    /// ServiceName, exactly.
    Service(String),
    /// The account id, or its display name where the billing has one.
    Account(String),
    Region(String),
    /// The line's tags carry `key` with exactly `value`.
    Tag {
        key: String,
        value: String,
    },
}

impl ScopeFilter {
    /// The config key: `service`, `account`, `region` or `tag:KEY`.
    pub fn key(&self) -> String {
        match self {
            ScopeFilter::Service(_) => "service".into(),
            ScopeFilter::Account(_) => "account".into(),
            ScopeFilter::Region(_) => "region".into(),
            ScopeFilter::Tag { key, .. } => format!("tag:{key}"),
        }
    }

    pub fn value(&self) -> &str {
        match self {
            ScopeFilter::Service(v) | ScopeFilter::Account(v) | ScopeFilter::Region(v) => v,
            ScopeFilter::Tag { value, .. } => value,
        }
    }

    /// Reads a config key and value; `None` when the key is not one of the four kinds (or a
    /// tag key is empty).
    pub fn from_key(key: &str, value: &str) -> Option<ScopeFilter> {
        let value = value.to_string();
        match key {
            "service" => Some(ScopeFilter::Service(value)),
            "account" => Some(ScopeFilter::Account(value)),
            "region" => Some(ScopeFilter::Region(value)),
            _ => {
                let tag = key.strip_prefix("tag:")?;
                (!tag.trim().is_empty()).then(|| ScopeFilter::Tag { key: tag.to_string(), value })
            }
        }
    }
}

impl BudgetStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetStatus::Ok => "ok",
            BudgetStatus::AtRisk => "at_risk",
            BudgetStatus::Over => "over",
            BudgetStatus::NoData => "no_data",
        }
    }
}

impl BudgetScope {
    /// `service=EC2 tag:team=web`; `all` for the empty scope.
    pub fn describe(&self) -> String {
        if self.filters.is_empty() {
            return "all".to_string();
        }
        self.filters.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
    }
}

impl fmt::Display for AlertThreshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let of = match self.of {
            AlertBasis::Actual => "actual",
            AlertBasis::Forecast => "forecast",
        };
        write!(f, "{}% of {of}", self.percent)
    }
}

impl fmt::Display for ScopeFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key(), self.value())
    }
}

/// The billing a budget counts: every condition holds. Empty: all billing of the currency.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BudgetScope {
    pub filters: Vec<ScopeFilter>,
}

/// Serialized as the config writes it: `{ "service": "…", "tag:team": "web" }`.
impl Serialize for BudgetScope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.filters.iter().map(|f| (f.key(), f.value())))
    }
}

impl BudgetScope {
    fn has_service(&self) -> bool {
        self.filters.iter().any(|f| matches!(f, ScopeFilter::Service(_)))
    }

    fn matches(&self, row: &Row<'_>, account_names: &BTreeMap<String, String>) -> bool {
        self.filters.iter().all(|f| match f {
            ScopeFilter::Service(v) => row.service == v,
            ScopeFilter::Region(v) => row.region == v,
            ScopeFilter::Account(v) => {
                row.account == v || account_names.get(row.account).is_some_and(|name| name == v)
            }
            ScopeFilter::Tag { key, value } => {
                row.tags.and_then(|t| t.get(key)).is_some_and(|v| v == value)
            }
        })
    }
}

/// A `[[budget]]` of costscope.toml, validated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// Unique among the budgets.
    pub name: String,
    /// Positive, in `currency`.
    pub amount: Money,
    /// Only billing in this currency counts; other currencies are reported as ignored.
    pub currency: Currency,
    pub period: BudgetPeriod,
    pub scope: BudgetScope,
    /// Never empty once validated ([`AlertThreshold::DEFAULTS`] when the config names none).
    pub alerts: Vec<AlertThreshold>,
}

/// Why budgets cannot be evaluated on a summary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    #[error("budgets need billing by day, and this billing has no days")]
    NoDays,
    #[error("budget {budget:?} is scoped by {dimension}, which this billing does not keep per day")]
    MissingDimension { budget: String, dimension: &'static str },
}

/// One day of a scope's spend in the budget's currency.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DayCost {
    pub day: NaiveDate,
    pub billed_cost: Money,
    /// The part with ChargeCategory `Usage` (or no category, where the billing dropped it):
    /// what a usage model fits; the rest (purchases, tax, credits) is taken as billed.
    pub usage_cost: Money,
    /// The part of the rest the billing marks ChargeFrequency `One-Time`: never expected again.
    pub one_time_cost: Money,
}

/// What a forecast sees of one budget: its period and the scope's daily spend so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeSeries<'a> {
    pub budget: &'a Budget,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// The first day of the period the data covers (later than `period_start` for a partial
    /// period).
    pub covered_from: NaiveDate,
    /// The data's last day: the series ends here.
    pub as_of: NaiveDate,
    /// Every day from `covered_from` to `as_of`, days without charges as zero.
    pub daily: Vec<DayCost>,
    /// The same scope and currency on every day of the data before the period (oldest first,
    /// zeros included): the lookback a model can fit its trend and weekday pattern on.
    pub history: Vec<DayCost>,
}

impl ScopeSeries<'_> {
    /// Days in the whole period.
    pub fn days_in_period(&self) -> i64 {
        (self.period_end - self.period_start).num_days() + 1
    }
}

/// The default forecast, a linear run rate: the spend so far, plus its average per day covered
/// times the period's other days (rounded to 6 decimals), i.e. actual / days covered × days in
/// the period. A partial period's missing first days are thus estimated at the same rate; a
/// complete period's forecast is its actual, exactly. `None` when no day is covered.
pub fn run_rate_forecast(series: &ScopeSeries<'_>) -> Option<Money> {
    let covered = i64::try_from(series.daily.len()).ok().filter(|n| *n > 0)?;
    let actual: Money = series.daily.iter().map(|d| d.billed_cost).sum();
    let other_days = (series.days_in_period() - covered).max(0);
    let projected =
        actual.mul_ratio(i128::from(other_days), i128::from(covered)).round_dp(ESTIMATE_DIGITS);
    Some(actual + projected)
}

/// A budget's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetStatus {
    /// Within the amount and no alert fired.
    Ok,
    /// An alert fired (forecast or actual), but the actual has not passed the amount.
    AtRisk,
    /// The actual to date is above the amount.
    Over,
    /// No billing in the budget's currency and scope in the period: nothing to compare.
    NoData,
}

/// A group (service or account) within the scope, by spend in the period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DriverGroup {
    /// ServiceName, or the account id; empty where the billing had none.
    pub name: String,
    /// The account's display name, for account groups that have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub billed_cost: Money,
    /// Of the budget's actual, rounded to 6 decimals (`0.25` is 25 %); `None` unless the actual
    /// is positive.
    pub share: Option<Money>,
}

/// Which dimension [`Drivers`] groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DriverDimension {
    Service,
    /// Used when the scope names a service, so the groups are not one line.
    Account,
}

/// The groups that make up the period's spend, largest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Drivers {
    pub by: DriverDimension,
    /// At most [`TOP_DRIVERS`].
    pub groups: Vec<DriverGroup>,
    /// How many groups come after the listed ones, and their spend.
    pub other_groups: u64,
    pub other_cost: Money,
}

/// Spend that matched a budget's scope and period but not its currency: never converted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IgnoredSpend {
    pub currency: Currency,
    pub billed_cost: Money,
}

/// One budget, evaluated. Money is BilledCost; `*_percent` are of the amount, decimals rounded
/// half to even to 4 places (`80.5` is 80.5 %), so the JSON never carries float noise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BudgetEvaluation {
    pub name: String,
    pub currency: Currency,
    pub amount: Money,
    pub period: BudgetPeriod,
    pub scope: BudgetScope,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// The data's last day: actual is to date up to here.
    pub as_of: NaiveDate,
    pub days_elapsed: i64,
    pub days_in_period: i64,
    /// The data starts after the period's first day: the actual misses those days.
    pub partial_period: bool,
    /// The first day of the period the data covers.
    pub covered_from: NaiveDate,
    pub actual: Money,
    pub actual_percent: Option<Money>,
    /// The period's total as forecast; `None` when the forecast had none.
    pub forecast: Option<Money>,
    pub forecast_percent: Option<Money>,
    /// `forecast − amount`: positive is over budget.
    pub variance: Option<Money>,
    pub variance_percent: Option<Money>,
    pub status: BudgetStatus,
    /// The thresholds reached, in the budget's order.
    pub alerts_fired: Vec<AlertThreshold>,
    pub drivers: Drivers,
    /// Sorted by currency.
    pub ignored: Vec<IgnoredSpend>,
}

/// The period's total from the forecast model ([`crate::analysis::forecast`]): usage fitted
/// with its trend and weekday pattern on the days before and in the period, the other charges
/// (purchases, tax, credits) taken as billed or expected on their usual day. `None` when the
/// model has too few days; the run rate is no better then.
pub fn model_forecast(series: &ScopeSeries<'_>) -> Option<Money> {
    use crate::analysis::forecast::{ChargeKey, DailySeries, ForecastPeriod, forecast};
    let mut daily = DailySeries { separated: true, ..Default::default() };
    // A scope's other charges are one kind (the model repeats what recurs on its day), apart
    // from those the billing marks one-time, which it never repeats.
    let key = |frequency: &str| ChargeKey {
        category: "Other".to_string(),
        service: String::new(),
        frequency: frequency.to_string(),
    };
    for d in series.history.iter().chain(&series.daily) {
        daily.usage.insert(d.day, d.usage_cost);
        let recurring = d.billed_cost - d.usage_cost - d.one_time_cost;
        for (k, amount) in [(key(""), recurring), (key("One-Time"), d.one_time_cost)] {
            if !amount.is_zero() {
                daily.charges.entry(k).or_default().insert(d.day, amount);
            }
        }
    }
    let period = ForecastPeriod { start: series.period_start, end: series.period_end };
    forecast(&series.budget.currency, &daily, series.as_of, period).ok().map(|f| f.total)
}

/// [`evaluate_budgets_with`] and the [`run_rate_forecast`].
pub fn evaluate_budgets(
    budgets: &[Budget],
    summary: &BillingSummary,
) -> Result<Vec<BudgetEvaluation>, BudgetError> {
    evaluate_budgets_with(budgets, summary, run_rate_forecast)
}

/// Evaluates every budget on the period that contains the data's last day, in the budgets'
/// order. `forecast` gives the period's total from the scope's series (see [`ScopeSeries`]).
///
/// Days come from the lines when they carry days (they also carry tags and charge categories),
/// else from the daily rollup, which has neither: a budget scoped by tag then is an error
/// rather than a silently empty actual.
pub fn evaluate_budgets_with<F>(
    budgets: &[Budget],
    summary: &BillingSummary,
    forecast: F,
) -> Result<Vec<BudgetEvaluation>, BudgetError>
where
    F: Fn(&ScopeSeries<'_>) -> Option<Money>,
{
    let rows = rows(summary);
    let last_row_day = rows.iter().map(|r| r.day).max().ok_or(BudgetError::NoDays)?;
    let first_row_day = rows.iter().map(|r| r.day).min().ok_or(BudgetError::NoDays)?;
    let (data_from, as_of) = match summary.period() {
        Some((first, last)) => (first.min(first_row_day), last.max(last_row_day)),
        None => (first_row_day, last_row_day),
    };
    let tagged = rows.iter().any(|r| r.from_lines) && summary.grain.tags;
    budgets
        .iter()
        .map(|budget| {
            let kept = |filter: &ScopeFilter| match filter {
                ScopeFilter::Service(_) => ("service", summary.grain.service),
                ScopeFilter::Account(_) => ("account", summary.grain.account),
                ScopeFilter::Region(_) => ("region", summary.grain.region),
                ScopeFilter::Tag { .. } => ("tag", tagged),
            };
            if let Some((dimension, _)) =
                budget.scope.filters.iter().map(kept).find(|(_, kept)| !kept)
            {
                return Err(BudgetError::MissingDimension {
                    budget: budget.name.clone(),
                    dimension,
                });
            }
            Ok(evaluate_one(budget, summary, &rows, data_from, as_of, &forecast))
        })
        .collect()
}

/// A dated amount with the dimensions a scope reads, from a line or the daily rollup.
struct Row<'a> {
    day: NaiveDate,
    service: &'a str,
    account: &'a str,
    region: &'a str,
    charge_category: &'a str,
    charge_frequency: &'a str,
    tags: Option<&'a Tags>,
    currency: &'a Currency,
    billed: Money,
    from_lines: bool,
}

fn rows(summary: &BillingSummary) -> Vec<Row<'_>> {
    let from_lines: Vec<Row<'_>> = summary
        .lines
        .iter()
        .filter_map(|l| {
            Some(Row {
                day: l.day?,
                service: &l.service,
                account: &l.account_id,
                region: &l.region,
                charge_category: &l.charge_category,
                charge_frequency: &l.charge_frequency,
                tags: summary.tags_of(l),
                currency: &l.currency,
                billed: l.billed_cost,
                from_lines: true,
            })
        })
        .collect();
    if !from_lines.is_empty() {
        return from_lines;
    }
    summary
        .daily
        .iter()
        .map(|d| Row {
            day: d.day,
            service: &d.service,
            account: &d.account_id,
            region: &d.region,
            charge_category: &d.charge_category,
            charge_frequency: &d.charge_frequency,
            tags: None,
            currency: &d.currency,
            billed: d.billed_cost,
            from_lines: false,
        })
        .collect()
}

/// `part / whole × 100`, exact to 4 decimals; `None` unless `whole > 0`.
fn percent_of(part: Money, whole: Money) -> Option<Money> {
    part.share_of(whole).map(|share| share.times(100))
}

fn evaluate_one<F>(
    budget: &Budget,
    summary: &BillingSummary,
    rows: &[Row<'_>],
    data_from: NaiveDate,
    as_of: NaiveDate,
    forecast: &F,
) -> BudgetEvaluation
where
    F: Fn(&ScopeSeries<'_>) -> Option<Money>,
{
    // A date chrono cannot bound (year ±262143) has no period; the day alone stands in.
    let (period_start, period_end) = budget.period.containing(as_of).unwrap_or((as_of, as_of));
    let covered_from = data_from.max(period_start);
    let mut by_day: BTreeMap<NaiveDate, DayCost> = BTreeMap::new();
    let mut by_group: BTreeMap<&str, Money> = BTreeMap::new();
    let mut ignored: BTreeMap<&Currency, Money> = BTreeMap::new();
    let mut matched = false;
    let by_account = budget.scope.has_service();
    for row in rows.iter().filter(|r| r.day <= as_of) {
        if !budget.scope.matches(row, &summary.account_names) {
            continue;
        }
        let in_period = row.day >= period_start;
        if *row.currency != budget.currency {
            if in_period {
                *ignored.entry(row.currency).or_default() += row.billed;
            }
            continue;
        }
        let day = by_day.entry(row.day).or_default();
        day.billed_cost += row.billed;
        if row.charge_category.is_empty() || row.charge_category.eq_ignore_ascii_case("usage") {
            day.usage_cost += row.billed;
        } else if row.charge_frequency.trim().eq_ignore_ascii_case("one-time") {
            day.one_time_cost += row.billed;
        }
        if in_period {
            matched = true;
            *by_group.entry(if by_account { row.account } else { row.service }).or_default() +=
                row.billed;
        }
    }
    let days = |from: NaiveDate, until: NaiveDate| -> Vec<DayCost> {
        from.iter_days()
            .take_while(|d| *d < until)
            .map(|day| DayCost { day, ..by_day.get(&day).copied().unwrap_or_default() })
            .collect()
    };
    let daily = days(covered_from, as_of.succ_opt().unwrap_or(as_of));
    let history = days(data_from, period_start);
    let actual: Money = by_day.range(period_start..).map(|(_, d)| d.billed_cost).sum();
    let series =
        ScopeSeries { budget, period_start, period_end, covered_from, as_of, daily, history };
    let projected = forecast(&series);
    let variance = projected.map(|f| f - budget.amount);

    let reached = |percent: u32, value: Money| {
        // value ≥ percent % of amount, in exact integers: value × 100 ≥ amount × percent.
        value.raw().saturating_mul(100) >= budget.amount.raw().saturating_mul(i128::from(percent))
    };
    let alerts_fired: Vec<AlertThreshold> = budget
        .alerts
        .iter()
        .copied()
        .filter(|a| match a.of {
            AlertBasis::Actual => matched && reached(a.percent, actual),
            AlertBasis::Forecast => matched && projected.is_some_and(|f| reached(a.percent, f)),
        })
        .collect();
    let status = if !matched {
        BudgetStatus::NoData
    } else if actual > budget.amount {
        BudgetStatus::Over
    } else if !alerts_fired.is_empty() {
        BudgetStatus::AtRisk
    } else {
        BudgetStatus::Ok
    };

    BudgetEvaluation {
        name: budget.name.clone(),
        currency: budget.currency.clone(),
        amount: budget.amount,
        period: budget.period,
        scope: budget.scope.clone(),
        period_start,
        period_end,
        as_of,
        days_elapsed: (as_of - period_start).num_days() + 1,
        days_in_period: series.days_in_period(),
        partial_period: covered_from > period_start,
        covered_from,
        actual,
        actual_percent: percent_of(actual, budget.amount),
        forecast: projected,
        forecast_percent: projected.and_then(|f| percent_of(f, budget.amount)),
        variance,
        variance_percent: variance.and_then(|v| percent_of(v, budget.amount)),
        status,
        alerts_fired,
        drivers: drivers(by_group, actual, by_account, summary),
        ignored: ignored
            .into_iter()
            .map(|(currency, billed_cost)| IgnoredSpend { currency: currency.clone(), billed_cost })
            .collect(),
    }
}

fn drivers(
    by_group: BTreeMap<&str, Money>,
    actual: Money,
    by_account: bool,
    summary: &BillingSummary,
) -> Drivers {
    let mut groups: Vec<(&str, Money)> = by_group.into_iter().collect();
    groups.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let rest = groups.split_off(groups.len().min(TOP_DRIVERS));
    Drivers {
        by: if by_account { DriverDimension::Account } else { DriverDimension::Service },
        groups: groups
            .into_iter()
            .map(|(name, billed_cost)| DriverGroup {
                name: name.to_string(),
                display_name: by_account
                    .then(|| summary.account_names.get(name).cloned())
                    .flatten(),
                billed_cost,
                share: billed_cost.share_of(actual),
            })
            .collect(),
        other_groups: rest.len() as u64,
        other_cost: rest.iter().map(|(_, m)| *m).sum(),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::model::{BillingLine, DailyLine};

    const EC2: &str = "Amazon Elastic Compute Cloud";
    const S3: &str = "Amazon Simple Storage Service";
    const RDS: &str = "Amazon Relational Database Service";
    const SUPPORT: &str = "AWS Support";
    const WEB: Option<u32> = Some(0);
    const DATA: Option<u32> = Some(1);

    fn day(month: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, month, d).unwrap()
    }

    fn m(text: &str) -> Money {
        Money::parse(text).unwrap()
    }

    fn line(
        on: NaiveDate,
        service: &str,
        account: &str,
        tag_set: Option<u32>,
        currency: &str,
        cost: i64,
        category: &str,
    ) -> BillingLine {
        BillingLine {
            day: Some(on),
            provider: "AWS".into(),
            account_id: account.into(),
            service: service.into(),
            region: "us-east-1".into(),
            resource_id: String::new().into(),
            charge_category: category.into(),
            charge_frequency: String::new().into(),
            tag_set,
            currency: Currency::new(currency),
            billed_cost: Money::from_units(cost),
            effective_cost: None,
            list_cost: None,
            rows: 1,
        }
    }

    /// Feb 25–28: EC2 in account 111 (team web) at 10 a day. Mar 1–20, per day: EC2 111/web 10,
    /// EC2 222/data 5, S3 111/web 2, RDS 222 untagged 3 (20 a day); Mar 1: AWS Support 111, a
    /// 40 Purchase; Mar 10: EC2 111/web 7 EUR.
    /// March in USD: EC2 300 (111: 200, 222: 100), RDS 60, S3 40, Support 40: 440.
    fn summary() -> BillingSummary {
        let mut lines = Vec::new();
        for d in 25..=28 {
            lines.push(line(day(2, d), EC2, "111", WEB, "USD", 10, "Usage"));
        }
        for d in 1..=20 {
            lines.push(line(day(3, d), EC2, "111", WEB, "USD", 10, "Usage"));
            lines.push(line(day(3, d), EC2, "222", DATA, "USD", 5, "Usage"));
            lines.push(line(day(3, d), S3, "111", WEB, "USD", 2, "Usage"));
            lines.push(line(day(3, d), RDS, "222", None, "USD", 3, "Usage"));
        }
        lines.push(line(day(3, 1), SUPPORT, "111", None, "USD", 40, "Purchase"));
        lines.push(line(day(3, 10), EC2, "111", WEB, "EUR", 7, "Usage"));
        let tags = |team: &str| [("team".to_string(), team.to_string())].into_iter().collect();
        BillingSummary {
            grain: GRAIN,
            lines,
            first_day: Some(day(2, 25)),
            last_day: Some(day(3, 20)),
            tag_sets: vec![tags("web"), tags("data")],
            account_names: [("111".to_string(), "web-prod".to_string())].into_iter().collect(),
            ..Default::default()
        }
    }

    fn budget(name: &str, amount: &str, currency: &str, period: BudgetPeriod) -> Budget {
        Budget {
            name: name.into(),
            amount: m(amount),
            currency: Currency::new(currency),
            period,
            scope: BudgetScope::default(),
            alerts: AlertThreshold::DEFAULTS.to_vec(),
        }
    }

    fn scoped(mut b: Budget, filters: Vec<ScopeFilter>) -> Budget {
        b.scope = BudgetScope { filters };
        b
    }

    fn groups(e: &BudgetEvaluation) -> Vec<(&str, Money, Option<Money>)> {
        e.drivers.groups.iter().map(|g| (g.name.as_str(), g.billed_cost, g.share)).collect()
    }

    #[test]
    fn periods_are_calendar_month_quarter_and_year() {
        use BudgetPeriod::*;
        assert_eq!(Month.containing(day(2, 10)), Some((day(2, 1), day(2, 28))));
        let leap = NaiveDate::from_ymd_opt(2028, 2, 29).unwrap();
        assert_eq!(Month.containing(leap).map(|p| p.1), Some(leap));
        assert_eq!(Quarter.containing(day(11, 15)), Some((day(10, 1), day(12, 31))));
        assert_eq!(Quarter.containing(day(3, 31)), Some((day(1, 1), day(3, 31))));
        assert_eq!(Year.containing(day(7, 4)), Some((day(1, 1), day(12, 31))));
    }

    #[test]
    fn unscoped_budget_within_its_amount_is_ok() {
        let out =
            evaluate_budgets(&[budget("all", "1000", "USD", BudgetPeriod::Month)], &summary())
                .unwrap();
        let e = &out[0];
        assert_eq!((e.period_start, e.period_end, e.as_of), (day(3, 1), day(3, 31), day(3, 20)));
        assert_eq!((e.days_elapsed, e.days_in_period), (20, 31));
        assert!(!e.partial_period, "data starts on Feb 25, before March");
        assert_eq!(e.actual, m("440"));
        assert_eq!(e.actual_percent, Some(m("44")));
        // 440 / 20 days × 31 = 682.
        assert_eq!(e.forecast, Some(m("682")));
        assert_eq!(e.forecast_percent, Some(m("68.2")));
        assert_eq!(e.variance, Some(m("-318")));
        assert_eq!(e.variance_percent, Some(m("-31.8")));
        assert_eq!(e.status, BudgetStatus::Ok);
        assert!(e.alerts_fired.is_empty());
        assert_eq!(e.drivers.by, DriverDimension::Service);
        // Shares of 440: 300 → 0.681818…, 60 → 0.136363…, 40 → 0.090909… (6 decimals).
        assert_eq!(
            groups(e),
            vec![
                (EC2, m("300"), Some(m("0.681818"))),
                (RDS, m("60"), Some(m("0.136364"))),
                (SUPPORT, m("40"), Some(m("0.090909"))),
                (S3, m("40"), Some(m("0.090909"))),
            ]
        );
        assert_eq!((e.drivers.other_groups, e.drivers.other_cost), (0, Money::ZERO));
        assert_eq!(
            e.ignored,
            vec![IgnoredSpend { currency: Currency::new("EUR"), billed_cost: m("7") }]
        );
    }

    #[test]
    fn tag_scoped_budget_is_at_risk_on_its_forecast() {
        let web = scoped(
            budget("web", "400", "USD", BudgetPeriod::Month),
            vec![ScopeFilter::Tag { key: "team".into(), value: "web".into() }],
        );
        let e = &evaluate_budgets(&[web], &summary()).unwrap()[0];
        // team=web in USD: EC2 111 200 + S3 40 = 240; 240 / 20 × 31 = 372, 93 % of 400.
        assert_eq!(e.actual, m("240"));
        assert_eq!(e.forecast, Some(m("372")));
        assert_eq!(e.forecast_percent, Some(m("93")));
        assert_eq!(e.variance, Some(m("-28")));
        assert_eq!(e.variance_percent, Some(m("-7")));
        assert_eq!(e.status, BudgetStatus::AtRisk);
        assert_eq!(e.alerts_fired, vec![AlertThreshold { percent: 80, of: AlertBasis::Forecast }]);
        assert_eq!(
            groups(e),
            vec![(EC2, m("200"), Some(m("0.833333"))), (S3, m("40"), Some(m("0.166667")))]
        );
        // The EUR line carries team=web too: reported, never added.
        assert_eq!(e.ignored.len(), 1);
        assert_eq!(e.ignored[0].billed_cost, m("7"));
    }

    #[test]
    fn service_budget_over_its_amount_is_over_and_driven_by_accounts() {
        let ec2 = scoped(
            budget("ec2", "250", "USD", BudgetPeriod::Month),
            vec![ScopeFilter::Service(EC2.into()), ScopeFilter::Region("us-east-1".into())],
        );
        let e = &evaluate_budgets(&[ec2], &summary()).unwrap()[0];
        // EC2: 15 a day × 20 = 300 > 250; 300 / 20 × 31 = 465.
        assert_eq!(e.actual, m("300"));
        assert_eq!(e.actual_percent, Some(m("120")));
        assert_eq!(e.forecast, Some(m("465")));
        assert_eq!(e.variance, Some(m("215")));
        assert_eq!(e.variance_percent, Some(m("86")));
        assert_eq!(e.status, BudgetStatus::Over);
        assert_eq!(e.alerts_fired, AlertThreshold::DEFAULTS.to_vec());
        assert_eq!(e.drivers.by, DriverDimension::Account);
        assert_eq!(
            groups(e),
            vec![("111", m("200"), Some(m("0.666667"))), ("222", m("100"), Some(m("0.333333")))]
        );
        assert_eq!(e.drivers.groups[0].display_name.as_deref(), Some("web-prod"));
        assert_eq!(e.drivers.groups[1].display_name, None);
    }

    #[test]
    fn quarter_budget_on_a_partial_quarter_by_account_name() {
        let q1 = scoped(
            budget("q1", "3000", "USD", BudgetPeriod::Quarter),
            vec![ScopeFilter::Account("web-prod".into())],
        );
        let e = &evaluate_budgets(&[q1], &summary()).unwrap()[0];
        assert_eq!((e.period_start, e.period_end), (day(1, 1), day(3, 31)));
        // Jan 31 + Feb 28 + Mar 20 days elapsed, of 90; the data starts on Feb 25.
        assert_eq!((e.days_elapsed, e.days_in_period), (79, 90));
        assert!(e.partial_period);
        assert_eq!(e.covered_from, day(2, 25));
        // Account 111: Feb 4 × 10 = 40; March EC2 200 + S3 40 + Support 40 = 280; 320 in all,
        // over 24 covered days (Feb 25 – Mar 20): 320 / 24 × 90 = 1200.
        assert_eq!(e.actual, m("320"));
        assert_eq!(e.forecast, Some(m("1200")));
        assert_eq!(e.forecast_percent, Some(m("40")));
        assert_eq!(e.variance, Some(m("-1800")));
        assert_eq!(e.status, BudgetStatus::Ok);
    }

    #[test]
    fn budgets_count_only_their_own_currency() {
        let eur = budget("eur", "100", "EUR", BudgetPeriod::Month);
        let gbp = budget("gbp", "100", "GBP", BudgetPeriod::Month);
        let out = evaluate_budgets(&[eur, gbp], &summary()).unwrap();
        // EUR: 7 in 20 days; 7 / 20 × 31 = 10.85.
        assert_eq!(out[0].actual, m("7"));
        assert_eq!(out[0].forecast, Some(m("10.85")));
        assert_eq!(out[0].status, BudgetStatus::Ok);
        assert_eq!(
            out[0].ignored[0],
            IgnoredSpend { currency: Currency::usd(), billed_cost: m("440") }
        );
        // No GBP at all: nothing to compare, and what was left out is said.
        let gbp = &out[1];
        assert_eq!(gbp.actual, Money::ZERO);
        assert_eq!(gbp.status, BudgetStatus::NoData);
        assert!(gbp.alerts_fired.is_empty());
        assert!(gbp.drivers.groups.is_empty());
        let ignored: Vec<(String, Money)> =
            gbp.ignored.iter().map(|i| (i.currency.to_string(), i.billed_cost)).collect();
        assert_eq!(ignored, vec![("EUR".to_string(), m("7")), ("USD".to_string(), m("440"))]);
    }

    #[test]
    fn a_one_time_charge_is_not_expected_again() {
        // EC2 10 a day from Feb 1 to Mar 10 and a Marketplace purchase of 500 on Feb 20. The
        // model cannot tell a monthly fee from a one-time charge with no January, so it expects
        // the purchase again on Mar 20: 100 to date + 21 × 10 + 500. Marked One-Time by the
        // billing, it is not: 310.
        let with = |frequency: &str| {
            let mut lines: Vec<BillingLine> = day(2, 1)
                .iter_days()
                .take_while(|d| *d <= day(3, 10))
                .map(|d| line(d, EC2, "111", None, "USD", 10, "Usage"))
                .collect();
            let mut purchase =
                line(day(2, 20), "AWS Marketplace", "111", None, "USD", 500, "Purchase");
            purchase.charge_frequency = frequency.into();
            lines.push(purchase);
            let summary = BillingSummary {
                grain: GRAIN,
                lines,
                first_day: Some(day(2, 1)),
                last_day: Some(day(3, 10)),
                ..Default::default()
            };
            let all = budget("all", "1000", "USD", BudgetPeriod::Month);
            evaluate_budgets_with(&[all], &summary, model_forecast).unwrap()[0].forecast
        };
        assert_eq!(with(""), Some(m("810")));
        assert_eq!(with("One-Time"), Some(m("310")));
    }

    #[test]
    fn the_forecast_is_a_parameter_and_sees_usage_apart() {
        let seen = RefCell::new(Vec::new());
        // A forecast that projects usage only and takes other charges as billed.
        let forecast = |s: &ScopeSeries<'_>| {
            seen.borrow_mut().push((s.history.clone(), s.daily.clone()));
            let usage: Money = s.daily.iter().map(|d| d.usage_cost).sum();
            let other: Money = s.daily.iter().map(|d| d.billed_cost - d.usage_cost).sum();
            let days = i128::try_from(s.daily.len()).ok()?;
            Some(usage.mul_ratio(i128::from(s.days_in_period()), days) + other)
        };
        let all = budget("all", "1000", "USD", BudgetPeriod::Month);
        let e = &evaluate_budgets_with(&[all], &summary(), forecast).unwrap()[0];
        // Usage 400 / 20 × 31 = 620, plus the 40 Support purchase: 660.
        assert_eq!(e.forecast, Some(m("660")));
        let (history, series) = &seen.borrow()[0];
        // Before March: Feb 25–28, EC2 at 10 a day (the EUR line is not history either).
        let feb: Vec<(NaiveDate, Money, Money)> =
            history.iter().map(|d| (d.day, d.billed_cost, d.usage_cost)).collect();
        assert_eq!(feb, (25..=28).map(|d| (day(2, d), m("10"), m("10"))).collect::<Vec<_>>());
        assert_eq!(series.len(), 20);
        assert_eq!(
            series[0],
            DayCost {
                day: day(3, 1),
                billed_cost: m("60"),
                usage_cost: m("20"),
                one_time_cost: Money::ZERO
            }
        );
        assert_eq!(series[19].billed_cost, m("20"));
        // A forecast with no answer: no variance, and forecast alerts cannot fire.
        let all = budget("all", "100", "USD", BudgetPeriod::Month);
        let e = &evaluate_budgets_with(&[all], &summary(), |_| None).unwrap()[0];
        assert_eq!((e.forecast, e.variance, e.variance_percent), (None, None, None));
        assert_eq!(e.status, BudgetStatus::Over);
        assert_eq!(e.alerts_fired, vec![AlertThreshold { percent: 100, of: AlertBasis::Actual }]);
    }

    #[test]
    fn days_from_the_rollup_and_dimensions_the_billing_lacks() {
        // At full grain lines are per resource without days; the daily rollup has days but no
        // tags.
        let rollup = BillingSummary {
            grain: Grain::FULL,
            daily: (1..=10)
                .map(|d| DailyLine {
                    day: day(4, d),
                    service: EC2.into(),
                    account_id: "111".into(),
                    region: "us-east-1".into(),
                    charge_category: String::new().into(),
                    charge_frequency: String::new().into(),
                    currency: Currency::usd(),
                    billed_cost: m("3"),
                    effective_cost: None,
                    rows: 1,
                })
                .collect(),
            first_day: Some(day(4, 1)),
            last_day: Some(day(4, 10)),
            ..Default::default()
        };
        let ec2 = scoped(
            budget("ec2", "90", "USD", BudgetPeriod::Month),
            vec![ScopeFilter::Service(EC2.into())],
        );
        let e = &evaluate_budgets(std::slice::from_ref(&ec2), &rollup).unwrap()[0];
        // 30 in 10 days of a 30-day April: 90, 100 % of the amount.
        assert_eq!((e.actual, e.forecast), (m("30"), Some(m("90"))));
        assert_eq!(e.status, BudgetStatus::AtRisk);
        let web =
            scoped(ec2.clone(), vec![ScopeFilter::Tag { key: "team".into(), value: "web".into() }]);
        assert_eq!(
            evaluate_budgets(&[web], &rollup),
            Err(BudgetError::MissingDimension { budget: "ec2".into(), dimension: "tag" })
        );
        let no_days = BillingSummary { daily: Vec::new(), ..rollup };
        assert_eq!(evaluate_budgets(&[ec2], &no_days), Err(BudgetError::NoDays));
    }

    #[test]
    fn sample_month_agrees_with_the_overview_and_a_direct_sum() {
        let sample = crate::sample::billing(crate::source::focus::FocusOptions {
            grain: GRAIN,
            skip_invalid: false,
        })
        .unwrap();
        let all = budget("all", "30000", "USD", BudgetPeriod::Month);
        let web = scoped(
            budget("web", "1000", "USD", BudgetPeriod::Month),
            vec![ScopeFilter::Tag { key: "team".into(), value: "web".into() }],
        );
        let out = evaluate_budgets(&[all, web], &sample).unwrap();
        let overview = crate::analysis::overview::overview(&sample);
        let usd = overview.iter().find(|o| o.currency == Currency::usd()).unwrap();
        let e = &out[0];
        assert_eq!(e.actual, usd.current_month.billed_cost);
        // October is complete in the sample: the run rate projects nothing.
        assert_eq!((e.days_elapsed, e.days_in_period), (31, 31));
        assert_eq!(e.forecast, Some(e.actual));
        assert_eq!(e.status, BudgetStatus::Over, "the sample's October bills about 40,292");
        // The sample has September too: the month judged is October's lines only.
        let october = chrono::NaiveDate::from_ymd_opt(2026, 10, 1);
        let in_october = |l: &&BillingLine| l.day >= october;
        let listed: Money = e.drivers.groups.iter().map(|g| g.billed_cost).sum();
        assert_eq!(listed + e.drivers.other_cost, e.actual);
        assert_eq!(e.drivers.groups.len(), TOP_DRIVERS);
        let ec2: Money = sample
            .lines
            .iter()
            .filter(in_october)
            .filter(|l| l.service == EC2)
            .map(|l| l.billed_cost)
            .sum();
        assert_eq!(
            (e.drivers.groups[0].name.as_str(), e.drivers.groups[0].billed_cost),
            (EC2, ec2)
        );
        let web: Money = sample
            .lines
            .iter()
            .filter(in_october)
            .filter(|l| sample.tags_of(l).and_then(|t| t.get("team")).is_some_and(|v| v == "web"))
            .map(|l| l.billed_cost)
            .sum();
        assert!(web > Money::ZERO);
        assert_eq!(out[1].actual, web);
    }

    #[test]
    fn drivers_list_five_groups_and_sum_the_rest() {
        let lines = (1..=7)
            .map(|n| line(day(5, 1), "svc", &format!("acct-{n}"), None, "USD", n, "Usage"))
            .collect();
        let billing = BillingSummary {
            grain: GRAIN,
            lines,
            first_day: Some(day(5, 1)),
            last_day: Some(day(5, 1)),
            ..Default::default()
        };
        let svc = scoped(
            budget("svc", "100", "USD", BudgetPeriod::Year),
            vec![ScopeFilter::Service("svc".into()), ScopeFilter::Account("acct-7".into())],
        );
        // The account filter matches an id too.
        assert_eq!(
            evaluate_budgets(std::slice::from_ref(&svc), &billing).unwrap()[0].actual,
            m("7")
        );
        let svc = scoped(svc, vec![ScopeFilter::Service("svc".into())]);
        let e = &evaluate_budgets(&[svc], &billing).unwrap()[0];
        // 1 + … + 7 = 28; listed 7, 6, 5, 4, 3; the other two 2 + 1 = 3.
        assert_eq!(e.actual, m("28"));
        let names: Vec<&str> = e.drivers.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["acct-7", "acct-6", "acct-5", "acct-4", "acct-3"]);
        assert_eq!(e.drivers.groups[0].share, Some(m("0.25")));
        assert_eq!((e.drivers.other_groups, e.drivers.other_cost), (2, m("3")));
        // A year on one day of data: 28 × 365 = 10,220 forecast, 10,120 over the amount.
        assert_eq!((e.days_elapsed, e.days_in_period), (121, 365));
        assert!(e.partial_period);
        assert_eq!(e.forecast, Some(m("10220")));
        assert_eq!(e.variance_percent, Some(m("10120")));
    }

    #[test]
    fn evaluation_serializes_money_as_exact_strings() {
        let web = scoped(
            budget("web", "400", "USD", BudgetPeriod::Month),
            vec![ScopeFilter::Tag { key: "team".into(), value: "web".into() }],
        );
        let e = &evaluate_budgets(&[web], &summary()).unwrap()[0];
        let json = serde_json::to_value(e).unwrap();
        assert_eq!(json["scope"], serde_json::json!({ "tag:team": "web" }));
        assert_eq!(json["period"], "month");
        assert_eq!(json["period_start"], "2026-03-01");
        assert_eq!(json["actual"], "240");
        assert_eq!(json["forecast"], "372");
        assert_eq!(json["variance_percent"], "-7");
        assert_eq!(json["status"], "at_risk");
        assert_eq!(json["alerts_fired"], serde_json::json!([{ "percent": 80, "of": "forecast" }]));
        assert_eq!(json["drivers"]["by"], "service");
        assert_eq!(json["drivers"]["groups"][1]["share"], "0.166667");
        assert_eq!(json["ignored"], serde_json::json!([{ "currency": "EUR", "billed_cost": "7" }]));
    }
}
