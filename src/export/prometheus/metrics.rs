//! Which metrics a report becomes: names, labels and values, in the order they are written.
//! docs/metrics.md documents each one; a name here is a contract with users' dashboards and
//! alerts, so a change is a breaking change.
//!
//! Money is in the unit of the `currency` label (amounts of different currencies are never
//! added: no metric sums them), written exactly as the JSON export writes it. Label cardinality
//! is bounded: services are the overview's top ten and the rest summed, accounts the top
//! [`TOP_ACCOUNTS`] and the rest summed, anomalies at most [`MAX_ANOMALY_GROUPS`] groups,
//! commitments at most [`MAX_COMMITMENTS`]; every other label (rule, tag key, cluster, budget,
//! source) takes its values from the rule pack or the configuration, not from billing rows.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};

use super::{Metrics, Value};
use crate::analysis::anomalies::{Anomaly, SeriesStatus};
use crate::analysis::budgets::BudgetStatus;
use crate::analysis::tag_coverage::IssueKind;
use crate::model::{Money, SourceState};
use crate::report::Report;

/// Accounts named in `costscope_account_spend_month_to_date`, per currency; the rest are
/// summed in `costscope_other_accounts_spend_month_to_date`.
const TOP_ACCOUNTS: usize = 20;

/// Anomalies dated in the data's last this many days count as recent.
const RECENT_ANOMALY_DAYS: u64 = 7;

/// Groups given their own anomaly series: those with the largest excess on their latest recent
/// anomaly. `costscope_anomalies_recent` still counts every group.
const MAX_ANOMALY_GROUPS: usize = 20;

/// Commitments given their own series: those with the most unused commitment a month.
const MAX_COMMITMENTS: usize = 50;

// The HELP texts and docs/metrics.md say these numbers in words ("the ten largest services",
// "the last 7 days", …): a change here is a change there too.
const _: () = assert!(
    crate::analysis::overview::TOP_SERVICES == 10
        && TOP_ACCOUNTS == 20
        && RECENT_ANOMALY_DAYS == 7
        && MAX_ANOMALY_GROUPS == 20
        && MAX_COMMITMENTS == 50
);

/// Every metric of `report`.
pub(super) fn collect(report: &Report) -> Metrics {
    let mut m = Metrics::default();
    about(&mut m, report);
    spend(&mut m, report);
    savings(&mut m, report);
    tags(&mut m, report);
    clusters(&mut m, report);
    anomalies(&mut m, report);
    budgets(&mut m, report);
    commitments(&mut m, report);
    m
}

fn midnight_seconds(day: NaiveDate) -> Option<i64> {
    day.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp())
}

fn about(m: &mut Metrics, report: &Report) {
    m.gauge(
        "costscope_info",
        "The costscope version that wrote these metrics (always 1).",
        &["version"],
    )
    .set_count(&[env!("CARGO_PKG_VERSION")], 1);
    m.gauge(
        "costscope_report_timestamp_seconds",
        "When the report's data was collected, in seconds since the epoch; for billing files \
         alone, midnight UTC after their last day.",
        &[],
    )
    .set(&[], Value::Int(report.collected_at.timestamp()));
    let up = m.gauge(
        "costscope_source_up",
        "1 when the source delivered all its data, 0 when it failed or was partial (the run \
         exits with 3).",
        &["source"],
    );
    for s in &report.sources {
        up.set_count(&[&s.name], u64::from(s.state == SourceState::Ok));
    }
    m.gauge(
        "costscope_report_warnings",
        "Warnings the report carries (sources, skipped rows, rules, budgets).",
        &[],
    )
    .set_count(&[], report.notes().warnings.len() as u64);
    let period = report.overview.first().map(|o| (o.period_start, o.period_end));
    let first = m.gauge(
        "costscope_billing_first_day_timestamp_seconds",
        "Midnight UTC starting the billing data's first day.",
        &[],
    );
    if let Some(t) = period.and_then(|(start, _)| midnight_seconds(start)) {
        first.set(&[], Value::Int(t));
    }
    let last = m.gauge(
        "costscope_billing_last_day_timestamp_seconds",
        "Midnight UTC starting the billing data's last day: how fresh the billing is.",
        &[],
    );
    if let Some(t) = period.and_then(|(_, end)| midnight_seconds(end)) {
        last.set(&[], Value::Int(t));
    }
}

fn spend(m: &mut Metrics, report: &Report) {
    let period = m.gauge(
        "costscope_spend_billing_period",
        "Billed cost over the whole billing period read, in the currency's unit.",
        &["currency"],
    );
    for t in &report.spend {
        period.set_money(&[&t.currency.to_string()], t.billed_cost);
    }
    let f = m.gauge(
        "costscope_spend_month_to_date",
        "Billed cost of the calendar month of the data's last day, to that day.",
        &["currency"],
    );
    for o in &report.overview {
        f.set_money(&[&o.currency.to_string()], o.current_month.billed_cost);
    }
    let f = m.gauge(
        "costscope_spend_month_start_timestamp_seconds",
        "Midnight UTC starting the current month: the month costscope_spend_month_to_date is of.",
        &["currency"],
    );
    for o in &report.overview {
        if let Some(t) = midnight_seconds(o.current_month.month) {
            f.set(&[&o.currency.to_string()], Value::Int(t));
        }
    }
    let f = m.gauge(
        "costscope_spend_previous_month",
        "Billed cost of the whole previous calendar month; absent when the data does not cover \
         all of it.",
        &["currency"],
    );
    for o in &report.overview {
        if let Some(p) = &o.previous_month {
            f.set_money(&[&o.currency.to_string()], p.billed_cost);
        }
    }
    type Bound = fn(&crate::analysis::forecast::Forecast) -> Money;
    let forecasts: [(&'static str, &'static str, Bound); 3] = [
        (
            "costscope_spend_forecast_month_end",
            "Forecast billed cost of the whole current month (point estimate); absent with too \
             few days of data.",
            |f| f.total,
        ),
        (
            "costscope_spend_forecast_month_end_low",
            "Low end of the month-end forecast's range.",
            |f| f.low,
        ),
        (
            "costscope_spend_forecast_month_end_high",
            "High end of the month-end forecast's range.",
            |f| f.high,
        ),
    ];
    for (name, help, bound) in forecasts {
        let f = m.gauge(name, help, &["currency"]);
        for o in &report.overview {
            if let Some(forecast) = &o.forecast {
                f.set_money(&[&o.currency.to_string()], bound(forecast));
            }
        }
    }

    let f = m.gauge(
        "costscope_service_spend_month_to_date",
        "Billed cost of one of the current month's ten largest services, month to date; the \
         rest are in costscope_other_services_spend_month_to_date.",
        &["currency", "service"],
    );
    for o in &report.overview {
        let currency = o.currency.to_string();
        for s in &o.top_services {
            f.set_money(&[&currency, &s.service], s.billed_cost);
        }
    }
    let other = m.gauge(
        "costscope_other_services_spend_month_to_date",
        "Billed cost of the current month's services after the ten largest, summed.",
        &["currency"],
    );
    for o in &report.overview {
        let currency = o.currency.to_string();
        let sum = o.other_services.as_ref().map_or(Money::ZERO, |s| s.billed_cost);
        other.set_money(&[&currency], sum);
    }
    let f = m.gauge(
        "costscope_other_services",
        "How many services costscope_other_services_spend_month_to_date sums.",
        &["currency"],
    );
    for o in &report.overview {
        f.set_count(
            &[&o.currency.to_string()],
            o.other_services.as_ref().map_or(0, |s| s.services),
        );
    }

    let mut accounts: BTreeMap<String, (Vec<&crate::report::AccountSpend>, Money, u64)> =
        BTreeMap::new();
    for o in &report.overview {
        accounts.entry(o.currency.to_string()).or_default();
    }
    // The report lists each currency's accounts largest first.
    for a in &report.account_spend {
        let slot = accounts.entry(a.currency.to_string()).or_default();
        if slot.0.len() < TOP_ACCOUNTS {
            slot.0.push(a);
        } else {
            slot.1 += a.billed_cost;
            slot.2 += 1;
        }
    }
    let f = m.gauge(
        "costscope_account_spend_month_to_date",
        "Billed cost of one of the current month's largest accounts, month to date; the rest \
         are in costscope_other_accounts_spend_month_to_date.",
        &["currency", "account_id", "account_name"],
    );
    for (currency, (top, _, _)) in &accounts {
        for a in top {
            let name = a.account_name.as_deref().unwrap_or("");
            f.set_money(&[currency, &a.account_id, name], a.billed_cost);
        }
    }
    let f = m.gauge(
        "costscope_other_accounts_spend_month_to_date",
        "Billed cost of the current month's accounts after the largest, summed.",
        &["currency"],
    );
    for (currency, (_, sum, _)) in &accounts {
        f.set_money(&[currency], *sum);
    }
    let f = m.gauge(
        "costscope_other_accounts",
        "How many accounts costscope_other_accounts_spend_month_to_date sums.",
        &["currency"],
    );
    for (currency, (_, _, count)) in &accounts {
        f.set_count(&[currency], *count);
    }
}

fn savings(m: &mut Metrics, report: &Report) {
    let f = m.gauge(
        "costscope_potential_savings_monthly",
        "Estimated monthly savings of all findings, each resource counted once.",
        &["currency"],
    );
    for t in &report.totals {
        f.set_money(&[&t.currency.to_string()], t.estimated_monthly_savings);
    }
    let f = m.gauge(
        "costscope_findings",
        "Findings (recommendations), alternatives included.",
        &["currency"],
    );
    for t in &report.totals {
        f.set_count(&[&t.currency.to_string()], t.findings);
    }
    let f = m.gauge(
        "costscope_resources_with_findings",
        "Resources with at least one finding.",
        &["currency"],
    );
    for t in &report.totals {
        f.set_count(&[&t.currency.to_string()], t.resources);
    }
    let f = m.gauge(
        "costscope_rule_potential_savings_monthly",
        "Estimated monthly savings of one rule's findings (alternatives left out).",
        &["rule", "currency"],
    );
    for r in &report.by_rule {
        for (currency, savings) in &r.estimated_monthly_savings {
            f.set_money(&[&r.rule_id, &currency.to_string()], *savings);
        }
    }
    let f = m.gauge(
        "costscope_rule_findings",
        "Findings of one rule, alternatives included; absent for a rule with none.",
        &["rule"],
    );
    for r in &report.by_rule {
        f.set_count(&[&r.rule_id], r.findings);
    }
    m.gauge("costscope_resources_evaluated", "Resources the rules evaluated.", &[])
        .set_count(&[], report.resources_evaluated);
    m.gauge("costscope_suppressed_findings", "Findings left out by the suppressions file.", &[])
        .set_count(&[], report.suppressed.len() as u64);
}

fn tags(m: &mut Metrics, report: &Report) {
    let Some(tags) = &report.tag_coverage else { return };
    let f = m.gauge(
        "costscope_tag_coverage_cost_ratio",
        "Share (0 to 1) of positive billed cost carrying the required tag key with a value.",
        &["key", "currency"],
    );
    for k in &tags.keys {
        if let Some(share) = k.cost_share {
            f.set_money(&[&k.key, &k.currency.to_string()], share);
        }
    }
    let f = m.gauge(
        "costscope_tag_coverage_resource_ratio",
        "Share (0 to 1) of billed resources carrying the required tag key with a value.",
        &["key"],
    );
    for k in &tags.keys {
        if let Some(share) = k.resource_share {
            f.set_money(&[&k.key], share);
        }
    }
    // Every currency with coverable cost gets a figure, zero included, so a dashboard shows 0
    // rather than "no data" once everything is tagged.
    let mut untagged: BTreeMap<String, (u64, Money)> = tags
        .keys
        .iter()
        .filter(|k| k.cost_share.is_some())
        .map(|k| (k.currency.to_string(), (0, Money::ZERO)))
        .collect();
    for r in &tags.untagged {
        let slot = untagged.entry(r.currency.to_string()).or_default();
        slot.0 += 1;
        slot.1 += r.cost;
    }
    let f = m.gauge(
        "costscope_untagged_resources",
        "Billed resources missing at least one required tag key.",
        &["currency"],
    );
    for (currency, (count, _)) in &untagged {
        f.set_count(&[currency], *count);
    }
    let f = m.gauge(
        "costscope_untagged_cost",
        "Billed cost of the resources missing at least one required tag key.",
        &["currency"],
    );
    for (currency, (_, cost)) in &untagged {
        f.set_money(&[currency], *cost);
    }
    let f = m.gauge(
        "costscope_tag_normalization_issues",
        "Tag keys (kind=key) or values of one key (kind=value) spelled several ways.",
        &["kind"],
    );
    for (kind, label) in [(IssueKind::Key, "key"), (IssueKind::Value, "value")] {
        let n = tags.issues.iter().filter(|i| i.kind == kind).count();
        f.set_count(&[label], n as u64);
    }
}

fn clusters(m: &mut Metrics, report: &Report) {
    let f = m.gauge(
        "costscope_cluster_efficiency_ratio",
        "Used over requested (CPU or memory) across the cluster; above 1 when nodes use more \
         than pods request.",
        &["cluster", "resource"],
    );
    for c in &report.clusters {
        if let Some(e) = c.cpu_efficiency {
            f.set_f64(&[&c.name, "cpu"], e);
        }
        if let Some(e) = c.memory_efficiency {
            f.set_f64(&[&c.name, "memory"], e);
        }
    }
    let f = m.gauge(
        "costscope_cluster_monthly_cost",
        "Monthly cost of the cluster's priced nodes.",
        &["cluster", "currency"],
    );
    for c in &report.clusters {
        if let Some(costs) = &c.costs {
            f.set_money(&[&c.name, &c.currency.to_string()], costs.monthly);
        }
    }
    let f = m.gauge(
        "costscope_cluster_idle_cost_monthly",
        "Monthly cost of the capacity (CPU or memory) that neither requests nor usage take.",
        &["cluster", "currency", "resource"],
    );
    for c in &report.clusters {
        if let Some(costs) = &c.costs {
            let currency = c.currency.to_string();
            f.set_money(&[&c.name, &currency, "cpu"], costs.cpu_idle);
            f.set_money(&[&c.name, &currency, "memory"], costs.memory_idle);
        }
    }
    let f = m.gauge("costscope_cluster_nodes", "Nodes in the cluster.", &["cluster"]);
    for c in &report.clusters {
        f.set_count(&[&c.name], c.nodes.len() as u64);
    }
    let f = m.gauge(
        "costscope_cluster_nodes_unpriced",
        "Nodes left out of the cluster's costs: no price, or priced in another currency.",
        &["cluster"],
    );
    for c in &report.clusters {
        f.set_count(&[&c.name], c.nodes_unpriced);
    }
    let f = m.gauge(
        "costscope_cluster_cpu_cores",
        "CPU cores of the cluster: allocatable, requested by pods, or used.",
        &["cluster", "state"],
    );
    for c in &report.clusters {
        f.set_f64(&[&c.name, "allocatable"], c.allocatable.cpu_millicores as f64 / 1000.0);
        f.set_f64(&[&c.name, "requested"], c.requested.cpu_millicores as f64 / 1000.0);
        if let Some(used) = &c.used {
            f.set_f64(&[&c.name, "used"], used.cpu_millicores as f64 / 1000.0);
        }
    }
    let f = m.gauge(
        "costscope_cluster_memory_bytes",
        "Memory of the cluster in bytes: allocatable, requested by pods, or used.",
        &["cluster", "state"],
    );
    for c in &report.clusters {
        f.set_count(&[&c.name, "allocatable"], c.allocatable.memory_bytes);
        f.set_count(&[&c.name, "requested"], c.requested.memory_bytes);
        if let Some(used) = &c.used {
            f.set_count(&[&c.name, "used"], used.memory_bytes);
        }
    }
}

/// One group's recent anomalies.
struct RecentGroup<'a> {
    days: u64,
    latest: &'a Anomaly,
}

fn anomalies(m: &mut Metrics, report: &Report) {
    let Some(a) = &report.anomalies else { return };
    let Some(last) = a.last_day else { return };
    let from = last.checked_sub_days(Days::new(RECENT_ANOMALY_DAYS - 1)).unwrap_or(last);
    let mut per_currency: BTreeMap<String, u64> = a
        .groups
        .iter()
        .filter(|g| matches!(g.status, SeriesStatus::Judged { .. }))
        .map(|g| (g.currency.to_string(), 0))
        .collect();
    let mut groups: BTreeMap<(&crate::analysis::anomalies::AnomalyGroup, String), RecentGroup<'_>> =
        BTreeMap::new();
    for anomaly in a.anomalies.iter().filter(|x| x.found.day >= from && x.found.day <= last) {
        let currency = anomaly.currency.to_string();
        *per_currency.entry(currency.clone()).or_default() += 1;
        let g = groups
            .entry((&anomaly.group, currency))
            .or_insert(RecentGroup { days: 0, latest: anomaly });
        g.days += 1;
        if anomaly.found.day > g.latest.found.day {
            g.latest = anomaly;
        }
    }
    let f = m.gauge(
        "costscope_anomalies_recent",
        "Anomalous days of all groups (service and account) in the data's last 7 days.",
        &["currency"],
    );
    for (currency, n) in &per_currency {
        f.set_count(&[currency], *n);
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by(|(ka, a), (kb, b)| {
        b.latest.found.excess.cmp(&a.latest.found.excess).then_with(|| ka.cmp(kb))
    });
    groups.truncate(MAX_ANOMALY_GROUPS);
    const GROUP: &[&str] = &["service", "account_id", "account_name", "currency"];
    let mut active = Vec::new();
    let mut days = Vec::new();
    let mut excess = Vec::new();
    for ((group, currency), recent) in &groups {
        let labels = [
            group.service.clone().unwrap_or_default(),
            group.account_id.clone().unwrap_or_default(),
            group.account_name.clone().unwrap_or_default(),
            currency.clone(),
        ];
        active.push((labels.clone(), u64::from(recent.latest.found.day == last)));
        days.push((labels.clone(), recent.days));
        excess.push((labels, recent.latest.found.excess));
    }
    let f = m.gauge(
        "costscope_anomaly_active",
        "1 when the group's usage is anomalous on the data's last day, 0 when its last anomaly \
         was earlier in the last 7 days; groups without a recent anomaly are absent.",
        GROUP,
    );
    for (labels, v) in &active {
        f.set_count(&labels.each_ref().map(String::as_str), *v);
    }
    let f = m.gauge(
        "costscope_anomaly_recent",
        "Anomalous days of the group in the data's last 7 days.",
        GROUP,
    );
    for (labels, v) in &days {
        f.set_count(&labels.each_ref().map(String::as_str), *v);
    }
    let f = m.gauge(
        "costscope_anomaly_latest_excess",
        "Spend above the expected baseline on the group's latest recent anomalous day.",
        GROUP,
    );
    for (labels, v) in &excess {
        f.set_money(&labels.each_ref().map(String::as_str), *v);
    }
    let f = m.gauge(
        "costscope_anomaly_groups",
        "Groups with usage: judged, or with too little history to judge.",
        &["status"],
    );
    let judged = a.groups.iter().filter(|g| matches!(g.status, SeriesStatus::Judged { .. }));
    let judged = judged.count() as u64;
    f.set_count(&["judged"], judged);
    f.set_count(&["too_little_history"], a.groups.len() as u64 - judged);
}

fn budgets(m: &mut Metrics, report: &Report) {
    let f = m.gauge(
        "costscope_budget_amount",
        "The budget's amount for its period.",
        &["budget", "currency"],
    );
    for b in &report.budgets {
        f.set_money(&[&b.name, &b.currency.to_string()], b.amount);
    }
    let f = m.gauge(
        "costscope_budget_actual",
        "Billed cost in the budget's scope and period, to the data's last day.",
        &["budget", "currency"],
    );
    for b in &report.budgets {
        f.set_money(&[&b.name, &b.currency.to_string()], b.actual);
    }
    let f = m.gauge(
        "costscope_budget_forecast",
        "Forecast billed cost of the budget's whole period; absent without a forecast.",
        &["budget", "currency"],
    );
    for b in &report.budgets {
        if let Some(forecast) = b.forecast {
            f.set_money(&[&b.name, &b.currency.to_string()], forecast);
        }
    }
    let f = m.gauge(
        "costscope_budget_status",
        "1 for the budget's current status (ok, at_risk, over, no_data), 0 for the others.",
        &["budget", "currency", "status"],
    );
    for b in &report.budgets {
        let currency = b.currency.to_string();
        for status in
            [BudgetStatus::Ok, BudgetStatus::AtRisk, BudgetStatus::Over, BudgetStatus::NoData]
        {
            f.set_count(&[&b.name, &currency, status.as_str()], u64::from(b.status == status));
        }
    }
    let f = m.gauge(
        "costscope_budget_alerts_fired",
        "Alert thresholds of the budget reached.",
        &["budget", "currency"],
    );
    for b in &report.budgets {
        f.set_count(&[&b.name, &b.currency.to_string()], b.alerts_fired.len() as u64);
    }
}

fn commitments(m: &mut Metrics, report: &Report) {
    let Some(c) = &report.commitments else { return };
    let mut rows: Vec<&crate::analysis::commitments::CommitmentRow> =
        c.commitments.iter().collect();
    rows.sort_by(|a, b| b.unused_monthly.cmp(&a.unused_monthly).then_with(|| a.id.cmp(&b.id)));
    rows.truncate(MAX_COMMITMENTS);
    const LABELS: &[&str] = &["commitment", "name", "kind"];
    let f = m.gauge(
        "costscope_commitment_utilization_ratio",
        "Used over used plus unused commitment (0 to 1) over the period.",
        LABELS,
    );
    for r in &rows {
        if let Some(u) = r.utilization {
            f.set_money(&[&r.id, &r.name, &r.kind], u);
        }
    }
    let f = m.gauge(
        "costscope_commitment_unused_monthly",
        "The commitment's unused amount scaled to a 730-hour month.",
        &["commitment", "name", "kind", "currency"],
    );
    for r in &rows {
        f.set_money(&[&r.id, &r.name, &r.kind, &r.currency.to_string()], r.unused_monthly);
    }
    let f = m.gauge(
        "costscope_commitment_term_end_timestamp_seconds",
        "When the commitment's term ends (midnight UTC), where billing or the API says.",
        LABELS,
    );
    for r in &rows {
        if let Some(t) = r.term_end.and_then(midnight_seconds) {
            f.set(&[&r.id, &r.name, &r.kind], Value::Int(t));
        }
    }
    let f = m.gauge(
        "costscope_commitment_coverage_ratio",
        "Share (0 to 1) of eligible compute usage that commitments covered.",
        &["provider", "currency"],
    );
    for s in &c.scopes {
        if let Some(coverage) = s.coverage {
            f.set_money(&[&s.provider, &s.currency.to_string()], coverage);
        }
    }
}
