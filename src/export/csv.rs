//! CSV exports: plain decimal numbers, neutralized text cells, stable column names.

use std::io::{self, Write};

use super::{Notes, spreadsheet_text};
use crate::analysis::costs::CostBreakdown;
use crate::analysis::tag_coverage::TagCoverage;
use crate::model::Money;

fn opt(m: Option<Money>) -> String {
    m.map(|m| m.to_string()).unwrap_or_default()
}

fn writer(out: &mut dyn Write) -> csv::Writer<&mut dyn Write> {
    csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(out)
}

fn csv_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// Rows skipped by `--skip-invalid` are reported on a trailing `#` line, present only when
/// rows were skipped (pandas: `comment="#"`), so a clean run's CSV is pure data.
fn write_notes(out: &mut dyn Write, notes: &Notes) -> io::Result<()> {
    if let Some(skipped) = &notes.skipped {
        write!(out, "# {}\r\n", super::plain_text(skipped))?;
    }
    Ok(())
}

/// `<dimension>,billed_cost,effective_cost,currency` (plus `account_name` by account), one row
/// per group.
pub fn write_costs(out: &mut dyn Write, costs: &CostBreakdown, notes: &Notes) -> io::Result<()> {
    {
        let mut w = writer(out);
        // Accounts also get their display name, after the contract's four columns.
        let named = costs.dimension == "account";
        let mut header =
            vec![costs.dimension.as_str(), "billed_cost", "effective_cost", "currency"];
        if named {
            header.push("account_name");
        }
        w.write_record(&header).map_err(csv_io)?;
        for row in &costs.rows {
            let mut record = vec![
                spreadsheet_text(&row.key),
                row.billed_cost.to_string(),
                opt(row.effective_cost),
                spreadsheet_text(&row.currency.to_string()),
            ];
            if named {
                record.push(spreadsheet_text(row.name.as_deref().unwrap_or("")));
            }
            w.write_record(&record).map_err(csv_io)?;
        }
        w.flush()?;
    }
    write_notes(out, notes)
}

/// One row per group and currency: both periods, the change and how the group moved.
pub fn write_trends(
    out: &mut dyn Write,
    trends: &crate::analysis::trends::Trends,
    notes: &Notes,
) -> io::Result<()> {
    {
        let mut w = writer(out);
        let key = trends.dimension.as_str();
        w.write_record([
            key,
            "currency",
            "previous_cost",
            "current_cost",
            "change",
            "change_ratio",
            "movement",
            "previous_from",
            "previous_to",
            "current_from",
            "current_to",
        ])
        .map_err(csv_io)?;
        let spans =
            [trends.previous.from, trends.previous.to, trends.current.from, trends.current.to]
                .map(|d| d.to_string());
        for c in &trends.currencies {
            for g in &c.groups {
                let movement = match g.movement {
                    crate::analysis::trends::Movement::Changed => "changed",
                    crate::analysis::trends::Movement::New => "new",
                    crate::analysis::trends::Movement::Vanished => "vanished",
                };
                let mut record = vec![
                    spreadsheet_text(&g.key),
                    spreadsheet_text(&c.currency.to_string()),
                    g.previous.to_string(),
                    g.current.to_string(),
                    g.change.to_string(),
                    opt(g.change_ratio),
                    movement.to_string(),
                ];
                record.extend(spans.iter().cloned());
                w.write_record(&record).map_err(csv_io)?;
            }
        }
        w.flush()?;
    }
    write_notes(out, notes)
}

/// Unit costs, one row per unit row of every `[[unit]]`, columns in this order:
/// `unit_name,per,cluster,unit,row,currency,previous_cost,current_cost,previous_units,
/// current_units,previous_per_unit,current_per_unit,change_ratio,monthly_cost,scale,
/// previous_from,previous_to,current_from,current_to,basis`.
/// `row` is `unit`, `idle` (cluster cost no request holds) or `average` (total ÷ units); the
/// per-unit figures are cost × `scale` ÷ units, rounded to 6 decimals; `change_ratio` is the
/// per-unit change as a fraction; empty cells are figures that do not exist (no previous
/// period, no per-day basis). The spans repeat on each row so a filtered sheet keeps them.
pub fn write_units(
    out: &mut dyn Write,
    report: &crate::analysis::units::UnitsReport,
    notes: &Notes,
) -> io::Result<()> {
    {
        let mut w = writer(out);
        w.write_record([
            "unit_name",
            "per",
            "cluster",
            "unit",
            "row",
            "currency",
            "previous_cost",
            "current_cost",
            "previous_units",
            "current_units",
            "previous_per_unit",
            "current_per_unit",
            "change_ratio",
            "monthly_cost",
            "scale",
            "previous_from",
            "previous_to",
            "current_from",
            "current_to",
            "basis",
        ])
        .map_err(csv_io)?;
        let day = |s: Option<crate::analysis::trends::Span>, end: bool| {
            s.map(|s| if end { s.to } else { s.from }.to_string()).unwrap_or_default()
        };
        let spans = [
            day(report.previous, false),
            day(report.previous, true),
            day(report.current, false),
            day(report.current, true),
        ];
        for u in &report.units {
            for r in &u.rows {
                let mut record = vec![
                    spreadsheet_text(&u.name),
                    spreadsheet_text(&u.per),
                    spreadsheet_text(&r.cluster),
                    spreadsheet_text(&r.unit),
                    r.kind.as_str().to_string(),
                    spreadsheet_text(&r.currency.to_string()),
                    opt(r.previous_cost),
                    opt(r.current_cost),
                    opt(r.previous_units),
                    opt(r.current_units),
                    opt(r.previous_per_unit),
                    opt(r.current_per_unit),
                    opt(r.change_ratio),
                    opt(r.monthly_cost),
                    u.scale.to_string(),
                ];
                record.extend(spans.iter().cloned());
                record.push(spreadsheet_text(&u.basis));
                w.write_record(&record).map_err(csv_io)?;
            }
        }
        w.flush()?;
    }
    write_notes(out, notes)
}

/// One row per anomaly, largest excess first, with the resources that moved most that day.
pub fn write_anomalies(
    out: &mut dyn Write,
    report: &crate::analysis::anomalies::AnomalyReport,
    notes: &Notes,
) -> io::Result<()> {
    {
        let mut w = writer(out);
        w.write_record([
            "day",
            "group",
            "currency",
            "actual",
            "expected",
            "excess",
            "score_mads",
            "since",
            "top_resources",
        ])
        .map_err(csv_io)?;
        for a in &report.anomalies {
            let resources: Vec<String> =
                a.resources.iter().map(|r| format!("{} +{}", r.resource_id, r.increase)).collect();
            w.write_record([
                a.found.day.to_string(),
                spreadsheet_text(&a.group.label()),
                spreadsheet_text(&a.currency.to_string()),
                a.found.actual.to_string(),
                a.found.expected.to_string(),
                a.found.excess.to_string(),
                opt(a.found.score),
                a.found.since.to_string(),
                spreadsheet_text(&resources.join("; ")),
            ])
            .map_err(csv_io)?;
        }
        w.flush()?;
    }
    write_notes(out, notes)
}

/// One row per budget: the period, actual, forecast, variance and status.
pub fn write_budgets(
    out: &mut dyn Write,
    budgets: &[crate::analysis::budgets::BudgetEvaluation],
    notes: &Notes,
) -> io::Result<()> {
    {
        let mut w = writer(out);
        w.write_record([
            "budget",
            "scope",
            "period",
            "period_start",
            "period_end",
            "as_of",
            "currency",
            "amount",
            "actual",
            "actual_percent",
            "forecast",
            "forecast_percent",
            "variance",
            "variance_percent",
            "status",
            "alerts_fired",
            "partial_period",
        ])
        .map_err(csv_io)?;
        for b in budgets {
            let alerts: Vec<String> = b.alerts_fired.iter().map(ToString::to_string).collect();
            w.write_record([
                spreadsheet_text(&b.name),
                spreadsheet_text(&b.scope.describe()),
                b.period.as_str().to_string(),
                b.period_start.to_string(),
                b.period_end.to_string(),
                b.as_of.to_string(),
                spreadsheet_text(&b.currency.to_string()),
                b.amount.to_string(),
                b.actual.to_string(),
                opt(b.actual_percent),
                opt(b.forecast),
                opt(b.forecast_percent),
                opt(b.variance),
                opt(b.variance_percent),
                b.status.as_str().to_string(),
                alerts.join("; "),
                b.partial_period.to_string(),
            ])
            .map_err(csv_io)?;
        }
        w.flush()?;
    }
    write_notes(out, notes)
}

/// One row per required key (and currency) with cost and resource shares.
pub fn write_tags(out: &mut dyn Write, tags: &TagCoverage, notes: &Notes) -> io::Result<()> {
    {
        let mut w = writer(out);
        w.write_record([
            "key",
            "currency",
            "tagged_cost",
            "total_cost",
            "cost_share",
            "resources_tagged",
            "resources_total",
            "resource_share",
        ])
        .map_err(csv_io)?;
        for k in &tags.keys {
            w.write_record([
                spreadsheet_text(&k.key),
                spreadsheet_text(&k.currency.to_string()),
                k.tagged_cost.to_string(),
                k.total_cost.to_string(),
                opt(k.cost_share),
                k.resources_tagged.to_string(),
                k.resources_total.to_string(),
                opt(k.resource_share),
            ])
            .map_err(csv_io)?;
        }
        w.flush()?;
    }
    write_notes(out, notes)
}

/// The recommendations CSV: the PRODUCT.md columns in their order, then `title`, `target` and
/// `alternative` (true when another finding on the same resource saves more).
pub const FINDING_COLUMNS: [&str; 14] = [
    "rule_id",
    "resource_id",
    "resource_type",
    "account_id",
    "region",
    "action",
    "current_monthly_cost",
    "estimated_monthly_savings",
    "currency",
    "confidence",
    "evidence",
    "title",
    "target",
    "alternative",
];

pub fn write_findings(
    out: &mut dyn Write,
    findings: &[crate::analysis::rules::Finding],
    notes: &Notes,
) -> io::Result<()> {
    {
        let mut w = writer(out);
        w.write_record(FINDING_COLUMNS).map_err(csv_io)?;
        for f in findings {
            w.write_record([
                spreadsheet_text(&f.rule_id),
                spreadsheet_text(&f.resource_id),
                spreadsheet_text(&f.resource_type),
                spreadsheet_text(&f.account_id),
                spreadsheet_text(&f.region),
                spreadsheet_text(&f.action),
                opt(f.current_monthly_cost),
                f.estimated_monthly_savings.to_string(),
                spreadsheet_text(&f.currency.to_string()),
                f.confidence.to_string(),
                spreadsheet_text(&f.evidence),
                spreadsheet_text(&f.title),
                spreadsheet_text(f.target.as_deref().unwrap_or("")),
                f.alternative.to_string(),
            ])
            .map_err(csv_io)?;
        }
        w.flush()?;
    }
    write_notes(out, notes)
}

/// Which table of the commitments analysis a CSV holds (a CSV is one table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CommitmentTable {
    /// One row per commitment: utilization, used and unused.
    Commitments,
    /// One row per provider, service, account and region: covered vs on demand.
    Coverage,
    /// One row per provider and currency: the plan to buy.
    Purchase,
    /// Cost Explorer's utilization and coverage beside billing's (`--aws`).
    CostExplorer,
    /// Cost Explorer's purchase recommendations (`--aws`), beside the `purchase` table.
    Recommendations,
}

/// The commitments analysis as one CSV table.
pub fn write_commitments(
    out: &mut dyn Write,
    report: &crate::analysis::commitments::CommitmentsReport,
    table: CommitmentTable,
    notes: &Notes,
) -> io::Result<()> {
    let text = |s: &str| spreadsheet_text(s);
    let day = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let percent =
        |m: Option<Money>| m.map(|m| m.times(100).round_dp(4).to_string()).unwrap_or_default();
    {
        let mut w = writer(out);
        match table {
            CommitmentTable::Commitments => {
                w.write_record([
                    "commitment_id",
                    "name",
                    "type",
                    "category",
                    "provider",
                    "account_id",
                    "region",
                    "term_end",
                    "first_day",
                    "last_day",
                    "days",
                    "hourly_commitment",
                    "used",
                    "unused",
                    "utilization_percent",
                    "unused_monthly",
                    "purchase_one_time",
                    "purchase_recurring",
                    "currency",
                    "problems",
                    "source",
                    "plan_type",
                    "payment_option",
                    "state",
                    "term_start",
                    "days_to_expiry",
                    "api_hourly_commitment",
                    "instance_count",
                    "covered_list_monthly",
                    "renewal_savings_monthly",
                    "renewal_basis",
                ])
                .map_err(csv_io)?;
                for c in &report.commitments {
                    w.write_record([
                        text(&c.id),
                        text(&c.name),
                        text(&c.kind),
                        text(&c.category),
                        text(&c.provider),
                        text(&c.account_id),
                        text(&c.region),
                        day(c.term_end),
                        day(c.first_day),
                        day(c.last_day),
                        c.days.to_string(),
                        opt(c.hourly_commitment),
                        c.used.to_string(),
                        c.unused.to_string(),
                        percent(c.utilization),
                        c.unused_monthly.to_string(),
                        c.purchase_one_time.to_string(),
                        c.purchase_recurring.to_string(),
                        text(&c.currency.to_string()),
                        text(&c.problems.join("; ")),
                        c.source.to_string(),
                        text(&c.plan_type),
                        text(&c.payment_option),
                        text(&c.state),
                        day(c.term_start),
                        c.days_to_expiry.map(|d| d.to_string()).unwrap_or_default(),
                        opt(c.api_hourly_commitment),
                        c.instance_count.map(|n| n.to_string()).unwrap_or_default(),
                        opt(c.covered_list_monthly),
                        opt(c.renewal_savings_monthly),
                        text(&c.renewal_basis),
                    ])
                    .map_err(csv_io)?;
                }
            }
            CommitmentTable::Coverage => {
                w.write_record([
                    "provider",
                    "service",
                    "account_id",
                    "region",
                    "covered",
                    "on_demand",
                    "coverage_percent",
                    "basis",
                    "currency",
                ])
                .map_err(csv_io)?;
                for r in &report.coverage {
                    w.write_record([
                        text(&r.provider),
                        text(&r.service),
                        text(&r.account_id),
                        text(&r.region),
                        r.covered.to_string(),
                        r.on_demand.to_string(),
                        percent(r.coverage),
                        r.basis.as_str().to_string(),
                        text(&r.currency.to_string()),
                    ])
                    .map_err(csv_io)?;
                }
            }
            CommitmentTable::Purchase => {
                w.write_record([
                    "scope",
                    "provider",
                    "granularity",
                    "on_demand_total",
                    "covered_total",
                    "coverage_percent",
                    "plan",
                    "term_years",
                    "payment",
                    "discount",
                    "percentile",
                    "baseline_per_hour",
                    "commitment_per_hour",
                    "monthly_savings",
                    "break_even_utilization_percent",
                    "upfront",
                    "payback_months",
                    "currency",
                    "no_advice",
                ])
                .map_err(csv_io)?;
                for s in &report.scopes {
                    let a = s.advice.as_ref();
                    w.write_record([
                        text(&s.id),
                        text(&s.provider),
                        s.granularity.to_string(),
                        s.on_demand_total.to_string(),
                        s.covered_total.to_string(),
                        percent(s.coverage),
                        a.map(|a| text(&a.plan)).unwrap_or_default(),
                        a.map(|a| a.term_years.to_string()).unwrap_or_default(),
                        a.map(|a| a.payment.to_string()).unwrap_or_default(),
                        opt(a.map(|a| a.discount)),
                        a.map(|a| crate::analysis::rules::rule::format_number(a.percentile))
                            .unwrap_or_default(),
                        opt(a.map(|a| a.baseline_per_hour)),
                        opt(a.map(|a| a.commitment_per_hour)),
                        opt(a.map(|a| a.monthly_savings)),
                        percent(a.map(|a| a.break_even_utilization)),
                        opt(a.map(|a| a.upfront)),
                        opt(a.and_then(|a| a.payback_months)),
                        text(&s.currency.to_string()),
                        text(s.no_advice.as_deref().unwrap_or("")),
                    ])
                    .map_err(csv_io)?;
                }
            }
            CommitmentTable::CostExplorer => {
                w.write_record([
                    "metric",
                    "account_id",
                    "start",
                    "end",
                    "cost_explorer_percent",
                    "billing_percent",
                    "disagree",
                    "note",
                ])
                .map_err(csv_io)?;
                for c in &report.cost_explorer {
                    w.write_record([
                        c.metric.to_string(),
                        text(&c.account_id),
                        c.start.to_string(),
                        c.end.to_string(),
                        percent(c.cost_explorer),
                        percent(c.billing),
                        c.disagree.to_string(),
                        text(&c.note),
                    ])
                    .map_err(csv_io)?;
                }
            }
            CommitmentTable::Recommendations => {
                w.write_record([
                    "account_id",
                    "kind",
                    "service",
                    "term_years",
                    "payment",
                    "hourly_commitment",
                    "items",
                    "monthly_savings",
                    "upfront",
                    "currency",
                ])
                .map_err(csv_io)?;
                for r in &report.recommendations {
                    w.write_record([
                        text(&r.account_id),
                        text(&r.kind),
                        text(&r.service),
                        r.term_years.to_string(),
                        text(&r.payment),
                        opt(r.hourly_commitment),
                        text(&r.items.join("; ")),
                        opt(r.monthly_savings),
                        opt(r.upfront),
                        text(&r.currency.to_string()),
                    ])
                    .map_err(csv_io)?;
                }
            }
        }
        w.flush()?;
    }
    write_notes(out, notes)
}

/// Showback and chargeback in a long, stable shape (the columns never depend on the config's
/// pools): per currency, a `pool` row per shared pool before its split (`shared_cost` = the
/// pool), then per team a `team` row followed by its `share` rows (one per pool) and, with
/// `--detail`, `service` rows; then the `unallocated` row, the `idle` row (clusters' idle
/// cost; zero unless Kubernetes allocation is on) and the `total` row (the bill). The `team`
/// rows' `total_cost` plus the `unallocated` and `idle` rows' equal the `total` row's, exactly.
pub fn write_allocation(
    out: &mut dyn Write,
    allocation: &crate::analysis::allocation::Allocation,
    notes: &Notes,
) -> io::Result<()> {
    {
        let mut w = writer(out);
        w.write_record(crate::analysis::allocation::Allocation::COLUMNS).map_err(csv_io)?;
        for r in allocation.rows() {
            w.write_record([
                r.kind.to_string(),
                spreadsheet_text(r.team),
                spreadsheet_text(r.pool),
                r.split.to_string(),
                spreadsheet_text(r.service),
                spreadsheet_text(&r.currency.to_string()),
                opt(r.direct_cost),
                opt(r.shared_cost),
                opt(r.total_cost),
                opt(r.share_of_bill),
                opt(r.previous_total_cost),
                opt(r.change),
            ])
            .map_err(csv_io)?;
        }
        w.flush()?;
    }
    write_notes(out, notes)
}
