//! The digest: the few figures a channel needs, taken from the [`Report`] `costscope report`
//! writes (never computed again). Serialized, it is the generic webhook's JSON body; the Slack
//! message is rendered from it, so both say the same.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::analysis::budgets::BudgetStatus;
use crate::model::{Currency, Money, SourceState};
use crate::report::Report;

/// The body's `schema`: a consumer checks it before reading the fields. A new field keeps the
/// version; a renamed or removed one, or a changed meaning, bumps it.
pub const SCHEMA: &str = "costscope.digest/v1";

/// Rules listed under `top_savings`.
pub const TOP_RULES: usize = 5;

/// What `costscope notify` sends.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Digest {
    pub schema: &'static str,
    /// When the data was collected (billing alone: the day after its last charge).
    pub collected_at: DateTime<Utc>,
    /// Per currency: this month to date against the previous month, and the forecast. Empty
    /// without dated billing.
    pub spend: Vec<Spend>,
    /// Potential monthly savings per currency (each resource once), as the report's totals.
    pub savings: Vec<Savings>,
    /// The rules with the largest savings, largest first (at most [`TOP_RULES`]).
    pub top_savings: Vec<RuleSavings>,
    /// Usage anomalies (service and account), largest excess first; `None` when the billing has
    /// no days to judge.
    pub anomalies: Option<Vec<AnomalyLine>>,
    /// Every configured budget, in the config's order.
    pub budgets: Vec<BudgetLine>,
    /// Sources that failed or delivered only part of their data (`focus:a.csv: partial`).
    pub incomplete_sources: Vec<String>,
    /// Why `--only-on-change` sent this digest (a new anomaly, a budget that got worse, …);
    /// absent without `--only-on-change`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
}

/// Spend of one currency.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Spend {
    pub currency: Currency,
    /// The calendar month of the data's last day, `2026-10`.
    pub month: String,
    pub days_covered: u32,
    pub days_in_month: u32,
    pub month_to_date: Money,
    /// The whole previous month, when the data covers it.
    pub previous_month: Option<Money>,
    /// `month_to_date − previous_month`, and in percent, as the report has them.
    pub change: Option<Money>,
    pub change_percent: Option<f64>,
    /// The month-end forecast and its range.
    pub forecast: Option<Money>,
    pub forecast_low: Option<Money>,
    pub forecast_high: Option<Money>,
    /// `(forecast − previous_month) / previous_month × 100`, exact to 4 decimals: the month's
    /// expected change, which `--only-on-change` watches (month to date against a whole month
    /// would cross any threshold early in every month).
    pub forecast_change_percent: Option<Money>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Savings {
    pub currency: Currency,
    pub estimated_monthly_savings: Money,
    pub findings: u64,
    pub resources: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleSavings {
    pub rule_id: String,
    pub title: String,
    pub currency: Currency,
    pub estimated_monthly_savings: Money,
    pub findings: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AnomalyLine {
    pub day: NaiveDate,
    /// First day of the run of anomalous days this one ends.
    pub since: NaiveDate,
    /// `Amazon EC2 / prod (111111111111)`.
    pub group: String,
    pub currency: Currency,
    pub actual: Money,
    pub expected: Money,
    pub excess: Money,
}

impl AnomalyLine {
    /// What tells two anomalies apart across digests: the day, the group and the currency.
    pub fn key(&self) -> String {
        format!("{}|{}|{}", self.day, self.group, self.currency)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BudgetLine {
    pub name: String,
    pub currency: Currency,
    pub amount: Money,
    /// `month`, `quarter` or `year`.
    pub period: &'static str,
    pub status: BudgetStatus,
    pub actual: Money,
    pub actual_percent: Option<Money>,
    pub forecast: Option<Money>,
    pub forecast_percent: Option<Money>,
    /// The alerts reached, `80% of forecast`.
    pub alerts_fired: Vec<String>,
}

/// How bad a budget's status is, for "got worse" (no data counts as ok).
pub fn status_rank(status: BudgetStatus) -> u8 {
    match status {
        BudgetStatus::Ok | BudgetStatus::NoData => 0,
        BudgetStatus::AtRisk => 1,
        BudgetStatus::Over => 2,
    }
}

/// The status as the JSON writes it.
pub fn status_name(status: BudgetStatus) -> &'static str {
    match status {
        BudgetStatus::Ok => "ok",
        BudgetStatus::AtRisk => "at_risk",
        BudgetStatus::Over => "over",
        BudgetStatus::NoData => "no_data",
    }
}

impl Digest {
    /// The digest of `report`.
    pub fn from_report(report: &Report) -> Digest {
        let spend = report
            .overview
            .iter()
            .map(|o| {
                let previous = o.previous_month.as_ref().map(|p| p.billed_cost);
                let forecast = o.forecast.as_ref();
                let forecast_change_percent = match (o.forecast_month_end, previous) {
                    (Some(f), Some(p)) => (f - p).share_of(p).map(|s| s.times(100)),
                    _ => None,
                };
                Spend {
                    currency: o.currency.clone(),
                    month: o.current_month.month.format("%Y-%m").to_string(),
                    days_covered: o.current_month.days_covered,
                    days_in_month: o.current_month.days_in_month,
                    month_to_date: o.current_month.billed_cost,
                    previous_month: previous,
                    change: o.change,
                    change_percent: o.change_percent,
                    forecast: o.forecast_month_end,
                    forecast_low: forecast.map(|f| f.low),
                    forecast_high: forecast.map(|f| f.high),
                    forecast_change_percent,
                }
            })
            .collect();
        let savings = report
            .totals
            .iter()
            .map(|t| Savings {
                currency: t.currency.clone(),
                estimated_monthly_savings: t.estimated_monthly_savings,
                findings: t.findings,
                resources: t.resources,
            })
            .collect();
        let mut top_savings: Vec<RuleSavings> = report
            .by_rule
            .iter()
            .flat_map(|r| {
                r.estimated_monthly_savings.iter().filter(|(_, m)| **m > Money::ZERO).map(
                    |(currency, m)| RuleSavings {
                        rule_id: r.rule_id.clone(),
                        title: r.title.clone(),
                        currency: currency.clone(),
                        estimated_monthly_savings: *m,
                        findings: r.findings - r.alternatives,
                    },
                )
            })
            .collect();
        // Amounts of different currencies are only ordered, never added.
        top_savings.sort_by(|a, b| {
            b.estimated_monthly_savings
                .cmp(&a.estimated_monthly_savings)
                .then_with(|| a.rule_id.cmp(&b.rule_id))
                .then_with(|| a.currency.cmp(&b.currency))
        });
        top_savings.truncate(TOP_RULES);
        let anomalies = report.anomalies.as_ref().map(|a| {
            a.anomalies
                .iter()
                .map(|x| AnomalyLine {
                    day: x.found.day,
                    since: x.found.since,
                    group: x.group.label(),
                    currency: x.currency.clone(),
                    actual: x.found.actual,
                    expected: x.found.expected,
                    excess: x.found.excess,
                })
                .collect()
        });
        let budgets = report
            .budgets
            .iter()
            .map(|b| BudgetLine {
                name: b.name.clone(),
                currency: b.currency.clone(),
                amount: b.amount,
                period: b.period.as_str(),
                status: b.status,
                actual: b.actual,
                actual_percent: b.actual_percent,
                forecast: b.forecast,
                forecast_percent: b.forecast_percent,
                alerts_fired: b
                    .alerts_fired
                    .iter()
                    .map(|a| {
                        let of = match a.of {
                            crate::analysis::budgets::AlertBasis::Actual => "actual",
                            crate::analysis::budgets::AlertBasis::Forecast => "forecast",
                        };
                        format!("{}% of {of}", a.percent)
                    })
                    .collect(),
            })
            .collect();
        let incomplete_sources = report
            .sources
            .iter()
            .filter(|s| s.state != SourceState::Ok)
            .map(|s| {
                let state = if s.state == SourceState::Failed { "failed" } else { "partial" };
                format!("{}: {state}", s.name)
            })
            .collect();
        Digest {
            schema: SCHEMA,
            collected_at: report.collected_at,
            spend,
            savings,
            top_savings,
            anomalies,
            budgets,
            incomplete_sources,
            changes: Vec::new(),
        }
    }

    /// Budgets over their amount, then at risk, by name within each.
    pub fn breached_budgets(&self) -> Vec<&BudgetLine> {
        let mut out: Vec<&BudgetLine> =
            self.budgets.iter().filter(|b| status_rank(b.status) > 0).collect();
        out.sort_by(|a, b| {
            status_rank(b.status).cmp(&status_rank(a.status)).then_with(|| a.name.cmp(&b.name))
        });
        out
    }

    /// The body as compact JSON. C1 controls and bidirectional overrides are escaped as
    /// `\uXXXX` as in every JSON export (serde_json escapes C0 itself), so a hook that logs the
    /// body cannot have its terminal driven by a service name.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        Ok(crate::export::json::inert_json(&serde_json::to_string(self)?))
    }
}
