//! Markdown exports: readable tables fit for a ticket or a chat message.

use std::io::{self, Write};

use super::{Notes, plain_text};
use crate::analysis::costs::CostBreakdown;
use crate::analysis::tag_coverage::{IssueKind, TagCoverage};
use crate::model::Money;

/// A table cell: unsafe characters removed and pipes escaped.
pub fn cell(text: &str) -> String {
    let clean = plain_text(text);
    let escaped = clean.replace('|', "\\|");
    if escaped.is_empty() { "—".to_string() } else { escaped }
}

fn money(m: Money) -> String {
    m.display_2dp()
}

fn percent(share: Option<Money>) -> String {
    share.map_or_else(|| "—".to_string(), |s| format!("{:.1}%", s.to_f64() * 100.0))
}

fn write_notes(out: &mut dyn Write, notes: &Notes) -> io::Result<()> {
    if let Some(skipped) = &notes.skipped {
        writeln!(out, "\n> **Note:** {}", cell(skipped))?;
    }
    for w in &notes.warnings {
        writeln!(out, "\n> **Warning:** {}", cell(w))?;
    }
    Ok(())
}

/// Per currency: the totals, the largest rises and falls, then every group.
pub fn write_trends(
    out: &mut dyn Write,
    trends: &crate::analysis::trends::Trends,
    notes: &Notes,
) -> io::Result<()> {
    use crate::analysis::trends::Movement;
    let (p, c) = (&trends.previous, &trends.current);
    writeln!(
        out,
        "# Trends by {}: {} over {}\n",
        cell(&trends.dimension),
        trends.period,
        trends.period
    )?;
    writeln!(out, "{} to {} against {} to {}.\n", c.from, c.to, p.from, p.to)?;
    let percent = |r: Option<Money>| {
        r.map_or_else(|| "—".to_string(), |r| format!("{:+.1} %", r.to_f64() * 100.0))
    };
    for cur in &trends.currencies {
        let code = cur.currency.to_string();
        writeln!(
            out,
            "## {}: {} → {} ({}, {})\n",
            cell(&code),
            money(cur.previous_total),
            money(cur.current_total),
            signed(cur.change),
            percent(cur.change_ratio)
        )?;
        let named = |key: &str| if key.is_empty() { "(none)".to_string() } else { cell(key) };
        if !cur.top_up.is_empty() {
            let up: Vec<String> = cur.top_up.iter().map(|k| named(k)).collect();
            writeln!(out, "Largest rises: {}.  ", up.join(", "))?;
        }
        if !cur.top_down.is_empty() {
            let down: Vec<String> = cur.top_down.iter().map(|k| named(k)).collect();
            writeln!(out, "Largest falls: {}.", down.join(", "))?;
        }
        writeln!(out)?;
        writeln!(out, "| {} | Previous | Current | Change | % | |", cell(&trends.dimension))?;
        writeln!(out, "|---|---:|---:|---:|---:|---|")?;
        for g in &cur.groups {
            let key = match &g.name {
                Some(name) if !name.is_empty() => format!("{} ({})", named(&g.key), cell(name)),
                _ => named(&g.key),
            };
            let movement = match g.movement {
                Movement::Changed => "",
                Movement::New => "new",
                Movement::Vanished => "vanished",
            };
            writeln!(
                out,
                "| {key} | {} | {} | {} | {} | {movement} |",
                money(g.previous),
                money(g.current),
                signed(g.change),
                percent(g.change_ratio)
            )?;
        }
        writeln!(out)?;
    }
    write_notes(out, notes)
}

/// The anomalies, then the groups too short to judge and the non-usage charges set apart.
/// Per unit: its basis, then a table of each unit's cost per unit now and before.
pub fn write_units(
    out: &mut dyn Write,
    report: &crate::analysis::units::UnitsReport,
    notes: &Notes,
) -> io::Result<()> {
    use crate::analysis::units::RowKind;
    writeln!(out, "# Unit costs\n")?;
    match (report.period, report.previous, report.current) {
        (Some(period), Some(p), Some(c)) => writeln!(
            out,
            "{period} over {period}: {} to {} against {} to {}.\n",
            c.from, c.to, p.from, p.to
        )?,
        (_, _, Some(c)) => {
            writeln!(out, "{} to {}; too short to compare with a period before.\n", c.from, c.to)?
        }
        _ => writeln!(out, "No billing by day: monthly figures only.\n")?,
    }
    let opt_money = |m: Option<Money>| m.map_or_else(|| "—".to_string(), money);
    let change = |r: Option<Money>| {
        r.map_or_else(|| "—".to_string(), |r| format!("{:+.1} %", r.to_f64() * 100.0))
    };
    for u in &report.units {
        writeln!(out, "## {} (per {})\n", cell(&u.name), cell(&u.per))?;
        writeln!(out, "Basis: {}.\n", cell(&u.basis))?;
        if u.scale != 1 {
            let label = u.label.as_deref().unwrap_or("units");
            writeln!(out, "Cost per {} {}.\n", u.scale, cell(label))?;
        }
        if u.rows.is_empty() {
            writeln!(out, "Nothing to show.\n")?;
        } else {
            let clustered = u.rows.iter().any(|r| !r.cluster.is_empty());
            let first = if clustered { "| Cluster " } else { "" };
            writeln!(
                out,
                "{first}| Unit | Currency | Previous /unit | Current /unit | Change | Current cost | Units | Monthly |"
            )?;
            let sep = if clustered { "|---" } else { "" };
            writeln!(out, "{sep}|---|---|---:|---:|---:|---:|---:|---:|")?;
            for r in &u.rows {
                let name = match r.kind {
                    RowKind::Unit if r.unit.is_empty() => "(none)".to_string(),
                    RowKind::Unit => cell(&r.unit),
                    RowKind::Idle | RowKind::Average => format!("*{}*", cell(&r.unit)),
                };
                let cluster =
                    if clustered { format!("| {} ", cell(&r.cluster)) } else { String::new() };
                writeln!(
                    out,
                    "{cluster}| {name} | {} | {} | {} | {} | {} | {} | {} |",
                    cell(&r.currency.to_string()),
                    opt_money(r.previous_per_unit),
                    opt_money(r.current_per_unit),
                    change(r.change_ratio),
                    opt_money(r.current_cost),
                    r.current_units.map_or_else(|| "—".to_string(), |n| n.round_dp(2).to_string()),
                    opt_money(r.monthly_cost),
                )?;
            }
            writeln!(out)?;
        }
        for n in &u.notes {
            writeln!(out, "- {}", cell(n))?;
        }
        if !u.notes.is_empty() {
            writeln!(out)?;
        }
    }
    write_notes(out, notes)
}

pub fn write_anomalies(
    out: &mut dyn Write,
    report: &crate::analysis::anomalies::AnomalyReport,
    notes: &Notes,
) -> io::Result<()> {
    writeln!(out, "# Spend anomalies by {}\n", cell(&report.by.to_string()))?;
    write_anomaly_sections(out, report, "##", None)?;
    write_notes(out, notes)
}

/// The anomalies table (the first `limit` rows when given), the groups with too little
/// history, and the charges that are not usage: every one under `sub`, or summed per category
/// when `limit` is given (a report's short form).
fn write_anomaly_sections(
    out: &mut dyn Write,
    report: &crate::analysis::anomalies::AnomalyReport,
    sub: &str,
    limit: Option<usize>,
) -> io::Result<()> {
    use crate::analysis::anomalies::SeriesStatus;
    if let (Some(first), Some(last)) = (report.first_day, report.last_day) {
        writeln!(
            out,
            "Daily usage from {first} to {last}, each day against the median of the {} days \
             before it; an anomaly is at least {} robust deviations and {} above it.\n",
            report.params.window_days,
            report.params.threshold_mads,
            money(report.params.min_excess)
        )?;
    }
    if !report.usage_separated {
        writeln!(
            out,
            "The billing keeps no charge category: purchases, tax and credits are judged as \
             usage.\n"
        )?;
    }
    if report.anomalies.is_empty() {
        writeln!(out, "No anomaly.\n")?;
    } else {
        let shown = limit.unwrap_or(usize::MAX).min(report.anomalies.len());
        writeln!(out, "| Day | Group | Actual | Expected | Excess | Resources that moved |")?;
        writeln!(out, "|---|---|---:|---:|---:|---|")?;
        for a in &report.anomalies[..shown] {
            let resources: Vec<String> = a
                .resources
                .iter()
                .map(|r| format!("{} +{}", cell(&r.resource_id), money(r.increase)))
                .collect();
            let resources = if resources.is_empty() && !report.resource_detail {
                "(run `costscope anomalies`)".to_string()
            } else {
                resources.join(", ")
            };
            writeln!(
                out,
                "| {} | {} | {} {} | {} | +{} | {} |",
                a.found.day,
                cell(&a.group.label()),
                money(a.found.actual),
                cell(&a.currency.to_string()),
                money(a.found.expected),
                money(a.found.excess),
                resources
            )?;
        }
        if shown < report.anomalies.len() {
            writeln!(
                out,
                "\n…and {} more; `costscope anomalies` lists them all.",
                report.anomalies.len() - shown
            )?;
        }
        writeln!(out)?;
    }
    let short: Vec<String> = report
        .groups
        .iter()
        .filter_map(|g| match &g.status {
            SeriesStatus::TooLittleHistory { days, needed } => {
                Some(format!("{} ({days} of {needed} days)", cell(&g.group.label())))
            }
            _ => None,
        })
        .collect();
    if !short.is_empty() {
        writeln!(out, "Too little history to judge: {}.\n", short.join(", "))?;
    }
    if report.non_usage.is_empty() {
        return Ok(());
    }
    writeln!(out, "{sub} Charges that are not usage (not judged)\n")?;
    if limit.is_some() {
        let mut sums: std::collections::BTreeMap<(&str, String), (Money, usize)> =
            std::collections::BTreeMap::new();
        for c in &report.non_usage {
            let slot =
                sums.entry((c.charge_category.as_str(), c.currency.to_string())).or_default();
            slot.0 += c.billed_cost;
            slot.1 += 1;
        }
        for ((category, currency), (billed, count)) in sums {
            writeln!(
                out,
                "- {}: {} {} ({count} charge{})",
                cell(category),
                money(billed),
                cell(&currency),
                if count == 1 { "" } else { "s" }
            )?;
        }
        return Ok(());
    }
    writeln!(out, "| Day | Group | Category | Billed |")?;
    writeln!(out, "|---|---|---|---:|")?;
    for c in &report.non_usage {
        writeln!(
            out,
            "| {} | {} | {} | {} {} |",
            c.day,
            cell(&c.group.label()),
            cell(&c.charge_category),
            money(c.billed_cost),
            cell(&c.currency.to_string())
        )?;
    }
    Ok(())
}

/// A table of every budget, then each budget's drivers.
pub fn write_budgets(
    out: &mut dyn Write,
    budgets: &[crate::analysis::budgets::BudgetEvaluation],
    notes: &Notes,
) -> io::Result<()> {
    writeln!(out, "# Budgets\n")?;
    write_budget_sections(out, budgets, "##")?;
    write_notes(out, notes)
}

/// The budgets' table, then each budget's alerts and drivers under `sub` headings.
fn write_budget_sections(
    out: &mut dyn Write,
    budgets: &[crate::analysis::budgets::BudgetEvaluation],
    sub: &str,
) -> io::Result<()> {
    use crate::analysis::budgets::BudgetStatus;
    writeln!(out, "| Budget | Period | Amount | Actual | Forecast | Variance | Status |")?;
    writeln!(out, "|---|---|---:|---:|---:|---:|---|")?;
    let pct = |p: Option<Money>| p.map_or_else(String::new, |p| format!(" ({} %)", p.round_dp(1)));
    for b in budgets {
        let status = match b.status {
            BudgetStatus::Ok => "ok",
            BudgetStatus::AtRisk => "**at risk**",
            BudgetStatus::Over => "**over**",
            BudgetStatus::NoData => "no data",
        };
        writeln!(
            out,
            "| {} | {} {}..{}{} | {} {} | {}{} | {} | {} | {} |",
            cell(&b.name),
            b.period.as_str(),
            b.period_start,
            b.period_end,
            if b.partial_period { " (partial data)" } else { "" },
            money(b.amount),
            cell(&b.currency.to_string()),
            money(b.actual),
            pct(b.actual_percent),
            b.forecast.map_or_else(
                || "—".to_string(),
                |f| format!("{}{}", money(f), pct(b.forecast_percent))
            ),
            b.variance.map_or_else(
                || "—".to_string(),
                |v| format!("{}{}", signed(v), pct(b.variance_percent))
            ),
            status
        )?;
    }
    for b in budgets {
        writeln!(out, "\n{sub} {} ({})\n", cell(&b.name), cell(&b.scope.describe()))?;
        if !b.alerts_fired.is_empty() {
            let alerts: Vec<String> = b.alerts_fired.iter().map(ToString::to_string).collect();
            writeln!(out, "Alerts reached: {}.\n", alerts.join(", "))?;
        }
        for g in &b.drivers.groups {
            let name = match &g.display_name {
                Some(n) => format!("{} ({})", cell(&g.name), cell(n)),
                None if g.name.is_empty() => "(none)".to_string(),
                None => cell(&g.name),
            };
            let share =
                g.share.map_or_else(String::new, |s| format!(", {:.1} %", s.to_f64() * 100.0));
            writeln!(out, "- {name}: {}{share}", money(g.billed_cost))?;
        }
        if b.drivers.other_groups > 0 {
            writeln!(out, "- {} more: {}", b.drivers.other_groups, money(b.drivers.other_cost))?;
        }
        for i in &b.ignored {
            writeln!(
                out,
                "- not counted (another currency): {} {}",
                money(i.billed_cost),
                cell(&i.currency.to_string())
            )?;
        }
    }
    Ok(())
}

fn signed(m: Money) -> String {
    if m.is_negative() { money(m) } else { format!("+{}", money(m)) }
}

pub fn write_costs(out: &mut dyn Write, costs: &CostBreakdown, notes: &Notes) -> io::Result<()> {
    writeln!(out, "# Costs by {}\n", cell(&costs.dimension))?;
    writeln!(out, "| {} | Billed cost | Effective cost | Currency |", cell(&costs.dimension))?;
    writeln!(out, "|---|---:|---:|---|")?;
    for row in &costs.rows {
        let key = match &row.name {
            Some(name) if !name.is_empty() => format!("{} ({})", cell(&row.key), cell(name)),
            _ if row.key.is_empty() => "(none)".to_string(),
            _ => cell(&row.key),
        };
        writeln!(
            out,
            "| {} | {} | {} | {} |",
            key,
            money(row.billed_cost),
            row.effective_cost.map_or_else(|| "—".to_string(), money),
            cell(&row.currency.to_string())
        )?;
    }
    for total in &costs.totals {
        writeln!(
            out,
            "| **Total** | **{}** | **{}** | {} |",
            money(total.billed_cost),
            total.effective_cost.map_or_else(|| "—".to_string(), money),
            cell(&total.currency.to_string())
        )?;
    }
    write_notes(out, notes)
}

pub fn write_tags(out: &mut dyn Write, tags: &TagCoverage, notes: &Notes) -> io::Result<()> {
    writeln!(out, "# Tag coverage\n")?;
    writeln!(
        out,
        "| Key | Cost covered | Resources covered | Tagged cost | Total cost | Currency |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---|")?;
    for k in &tags.keys {
        writeln!(
            out,
            "| {} | {} | {} ({}/{}) | {} | {} | {} |",
            cell(&k.key),
            percent(k.cost_share),
            percent(k.resource_share),
            k.resources_tagged,
            k.resources_total,
            money(k.tagged_cost),
            money(k.total_cost),
            cell(&k.currency.to_string())
        )?;
    }
    if !tags.untagged.is_empty() {
        writeln!(out, "\n## Untagged resources by cost (top 20 of {})\n", tags.untagged.len())?;
        writeln!(out, "| Resource | Service | Account | Missing | Cost | Currency |")?;
        writeln!(out, "|---|---|---|---|---:|---|")?;
        for r in tags.untagged.iter().take(20) {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&r.resource_id),
                cell(&r.service),
                cell(&r.account_id),
                cell(&r.missing.join(", ")),
                money(r.cost),
                cell(&r.currency.to_string())
            )?;
        }
    }
    if !tags.issues.is_empty() {
        writeln!(out, "\n## Normalization issues\n")?;
        for issue in &tags.issues {
            let variants: Vec<String> = issue
                .variants
                .iter()
                .map(|v| format!("`{}` ({} resources)", cell(&v.text), v.resources))
                .collect();
            match issue.kind {
                IssueKind::Key => writeln!(
                    out,
                    "- key `{}` spelled {} ways: {}",
                    cell(&issue.canonical),
                    variants.len(),
                    variants.join(", ")
                )?,
                IssueKind::Value => writeln!(
                    out,
                    "- values of `{}` spelled {} ways: {}",
                    cell(&issue.key),
                    variants.len(),
                    variants.join(", ")
                )?,
            }
        }
    }
    write_notes(out, notes)
}

fn efficiency(e: Option<f64>) -> String {
    e.map_or_else(|| "—".to_string(), |e| format!("{:.1}%", e * 100.0))
}

/// The summary lines of the overview (spend this month, change, forecast) and of each cluster.
fn write_overview_lines(out: &mut dyn Write, report: &crate::report::Report) -> io::Result<()> {
    for o in &report.overview {
        let currency = cell(&o.currency.to_string());
        let month = &o.current_month;
        let previous = match (&o.previous_month, o.change) {
            (Some(p), Some(change)) => format!(
                "; {}: {} {currency} (change {}{}{})",
                p.month.format("%B %Y"),
                money(p.billed_cost),
                if change.is_negative() { "" } else { "+" },
                money(change),
                o.change_percent.map_or(String::new(), |pc| format!(", {pc:+.1}%"))
            ),
            _ => "; previous month not in the data".to_string(),
        };
        writeln!(
            out,
            "- Spend in {} ({} of {} days): **{} {currency}**{previous}",
            month.month.format("%B %Y"),
            month.days_covered,
            month.days_in_month,
            money(month.billed_cost)
        )?;
        match &o.forecast {
            Some(f) if f.days_remaining == 0 => writeln!(
                out,
                "- Forecast for the month: **{} {currency}** (month complete)",
                money(f.total)
            )?,
            Some(f) => writeln!(
                out,
                "- Forecast for the month: **{} {currency}** (80 % range {} – {} {currency}; {})",
                money(f.total),
                money(f.low),
                money(f.high),
                cell(&f.how())
            )?,
            None => writeln!(
                out,
                "- Forecast for the month: none ({})",
                cell(o.forecast_unavailable.as_deref().unwrap_or("no usage to fit"))
            )?,
        }
    }
    for c in &report.clusters {
        let cost = match &c.costs {
            Some(costs) => {
                let currency = cell(&c.currency.to_string());
                format!(
                    "**{} {currency}/month**, idle **{} {currency}/month**",
                    money(costs.monthly),
                    money(costs.idle)
                )
            }
            None => "cost unknown".to_string(),
        };
        let unpriced = if c.nodes_unpriced > 0 {
            format!(" ({} nodes not priced)", c.nodes_unpriced)
        } else {
            String::new()
        };
        writeln!(
            out,
            "- Cluster `{}`: {} nodes, {cost}{unpriced}; CPU efficiency {}, memory efficiency {}",
            cell(&c.name),
            c.nodes.len(),
            efficiency(c.cpu_efficiency),
            efficiency(c.memory_efficiency)
        )?;
    }
    Ok(())
}

/// A readable report: totals, top findings, savings by rule, data gaps and warnings.
/// The headline of the monthly review: anomalies found and budgets by status.
fn write_review_lines(out: &mut dyn Write, report: &crate::report::Report) -> io::Result<()> {
    use crate::analysis::budgets::BudgetStatus;
    if let Some(a) = &report.anomalies {
        match a.anomalies.first() {
            None => writeln!(out, "- Spend anomalies: none")?,
            Some(top) => writeln!(
                out,
                "- Spend anomalies: **{}** (largest {} on {}: +{} {} over {} expected)",
                a.anomalies.len(),
                cell(&top.group.label()),
                top.found.day,
                money(top.found.excess),
                cell(&top.currency.to_string()),
                money(top.found.expected)
            )?,
        }
    }
    if !report.budgets.is_empty() {
        let count =
            |status: BudgetStatus| report.budgets.iter().filter(|b| b.status == status).count();
        let mut parts = Vec::new();
        for (status, name) in [
            (BudgetStatus::Over, "over"),
            (BudgetStatus::AtRisk, "at risk"),
            (BudgetStatus::Ok, "ok"),
            (BudgetStatus::NoData, "no data"),
        ] {
            let n = count(status);
            if n > 0 {
                parts.push(if status == BudgetStatus::Ok || status == BudgetStatus::NoData {
                    format!("{n} {name}")
                } else {
                    format!("**{n} {name}**")
                });
            }
        }
        writeln!(out, "- Budgets: {}", parts.join(", "))?;
    }
    Ok(())
}

pub fn write_report(out: &mut dyn Write, report: &crate::report::Report) -> io::Result<()> {
    const TOP: usize = 25;
    writeln!(out, "# costscope report\n")?;
    writeln!(out, "Data as of {} UTC.\n", report.collected_at.format("%Y-%m-%d %H:%M"))?;
    for spend in &report.spend {
        writeln!(
            out,
            "- Billed spend in the period: **{} {}**",
            money(spend.billed_cost),
            cell(&spend.currency.to_string())
        )?;
    }
    for t in &report.totals {
        writeln!(
            out,
            "- Potential savings: **{} {} per month** across {} resources ({} findings)",
            money(t.estimated_monthly_savings),
            cell(&t.currency.to_string()),
            t.resources,
            t.findings
        )?;
    }
    if report.totals.is_empty() {
        writeln!(out, "- No findings.")?;
    }
    writeln!(out, "- Resources evaluated: {}", report.resources_evaluated)?;
    if !report.suppressed.is_empty() {
        writeln!(
            out,
            "- Ignored by the suppressions file: {} findings (listed in the JSON export)",
            report.suppressed.len()
        )?;
    }
    if report.insufficient_data_resources > 0 {
        writeln!(
            out,
            "- Skipped for too little utilization data: {} resources",
            report.insufficient_data_resources
        )?;
    }
    if let Some(tags) = &report.tag_coverage {
        let shares: Vec<String> = tags
            .keys
            .iter()
            .map(|k| format!("`{}` {}", cell(&k.key), percent(k.cost_share)))
            .collect();
        if !shares.is_empty() {
            writeln!(out, "- Tag coverage by cost: {}", shares.join(", "))?;
        }
    }
    for coverage in &report.spend_coverage {
        let currency = coverage.currency.code().map(|c| format!(" ({c})")).unwrap_or_default();
        writeln!(out, "- Spend coverage{currency}: {}", cell(&coverage.sentence(6)))?;
    }

    write_overview_lines(out, report)?;
    write_review_lines(out, report)?;

    let primaries: Vec<_> = report.findings.iter().filter(|f| !f.alternative).collect();
    if !primaries.is_empty() {
        writeln!(out, "\n## Top findings\n")?;
        writeln!(
            out,
            "| # | Rule | Resource | Account | Region | Action | Savings / month | Confidence |"
        )?;
        writeln!(out, "|---:|---|---|---|---|---|---:|---|")?;
        for (i, f) in primaries.iter().take(TOP).enumerate() {
            writeln!(
                out,
                "| {} | {} | `{}` | {} | {} | {}{} | {} {} | {} |",
                i + 1,
                cell(&f.rule_id),
                cell(&f.resource_id),
                cell(&f.account_id),
                cell(&f.region),
                cell(&f.action),
                f.target.as_deref().map_or(String::new(), |t| format!(" → {}", cell(t))),
                money(f.estimated_monthly_savings),
                cell(&f.currency.to_string()),
                f.confidence
            )?;
        }
        if primaries.len() > TOP {
            writeln!(out, "\n…and {} more; the CSV export lists them all.", primaries.len() - TOP)?;
        }
    }

    if !report.by_rule.is_empty() {
        writeln!(out, "\n## By rule\n")?;
        writeln!(out, "| Rule | Title | Findings | Savings / month |")?;
        writeln!(out, "|---|---|---:|---:|")?;
        for r in &report.by_rule {
            let savings: Vec<String> = r
                .estimated_monthly_savings
                .iter()
                .map(|(c, m)| format!("{} {}", money(*m), cell(&c.to_string())))
                .collect();
            let count = r.findings_text();
            writeln!(
                out,
                "| {} | {} | {} | {} |",
                cell(&r.rule_id),
                cell(&r.title),
                count,
                if savings.is_empty() { "—".to_string() } else { savings.join(", ") }
            )?;
        }
    }
    if !report.insufficient_data.is_empty() {
        writeln!(out, "\n## Not judged: too little data\n")?;
        for (rule, n) in &report.insufficient_data {
            writeln!(out, "- {}: {} resources", cell(rule), n)?;
        }
    }
    if !report.budgets.is_empty() {
        writeln!(out, "\n## Budgets\n")?;
        write_budget_sections(out, &report.budgets, "###")?;
    }
    if let Some(anomalies) = &report.anomalies {
        writeln!(out, "\n## Spend anomalies by {}\n", cell(&anomalies.by.to_string()))?;
        write_anomaly_sections(out, anomalies, "###", Some(TOP))?;
    }
    if let Some(commitments) = &report.commitments {
        writeln!(out, "\n## Commitments\n")?;
        write_commitment_sections(out, commitments, "###")?;
    }
    if let Some(allocation) = &report.allocation {
        writeln!(out, "\n## Chargeback by tag:{}\n", cell(&allocation.key))?;
        write_allocation_sections(out, allocation, "###")?;
    }
    write_notes(out, &report.notes())
}

/// The commitments analysis: utilization per commitment, coverage, and what to buy.
pub fn write_commitments(
    out: &mut dyn Write,
    report: &crate::analysis::commitments::CommitmentsReport,
    notes: &Notes,
) -> io::Result<()> {
    writeln!(out, "# Commitments\n")?;
    write_commitment_sections(out, report, "##")?;
    write_notes(out, notes)
}

/// The commitments sections under headings of `level` (`##` alone, `###` inside the report).
pub fn write_commitment_sections(
    out: &mut dyn Write,
    report: &crate::analysis::commitments::CommitmentsReport,
    level: &str,
) -> io::Result<()> {
    let day = |d: Option<chrono::NaiveDate>| d.map_or_else(|| "—".to_string(), |d| d.to_string());
    writeln!(out, "{level} Utilization\n")?;
    if report.commitments.is_empty() {
        writeln!(out, "No commitment discount appears in the billing data.")?;
    } else {
        writeln!(
            out,
            "| Commitment | Type | Provider | Term ends | Per hour | Used | Unused | Utilization | Unused a month | Currency | Ends in (days) | Renewing saves a month | From |"
        )?;
        writeln!(out, "|---|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|---|")?;
        for c in &report.commitments {
            let name = if c.name.is_empty() || c.name == c.id {
                cell(&c.id)
            } else {
                format!("{} ({})", cell(&c.name), cell(&c.id))
            };
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                name,
                cell(&c.kind),
                cell(&c.provider),
                day(c.term_end),
                c.hourly_commitment
                    .or(c.api_hourly_commitment)
                    .map_or_else(|| "—".to_string(), |h| h.round_dp(4).to_string()),
                money(c.used),
                money(c.unused),
                percent(c.utilization),
                money(c.unused_monthly),
                cell(&c.currency.to_string()),
                c.days_to_expiry.map_or_else(|| "—".to_string(), |d| d.to_string()),
                c.renewal_savings_monthly.map_or_else(|| "—".to_string(), money),
                c.source
            )?;
        }
        for c in report.commitments.iter().filter(|c| !c.problems.is_empty()) {
            writeln!(out, "\n> **{}:** {}", cell(&c.id), cell(&c.problems.join("; ")))?;
        }
    }
    writeln!(out, "\n{level} Coverage of eligible compute\n")?;
    if report.coverage.is_empty() {
        writeln!(out, "No commitment-eligible compute usage in the billing data.")?;
    } else {
        writeln!(
            out,
            "| Provider | Service | Account | Region | Covered | On demand | Coverage | Valued at | Currency |"
        )?;
        writeln!(out, "|---|---|---|---|---:|---:|---:|---|---|")?;
        for r in &report.coverage {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                cell(&r.provider),
                cell(&r.service),
                cell(&r.account_id),
                cell(&r.region),
                money(r.covered),
                money(r.on_demand),
                percent(r.coverage),
                r.basis.as_str(),
                cell(&r.currency.to_string())
            )?;
        }
    }
    if !report.scopes.is_empty() {
        writeln!(out, "\n{level} What to buy\n")?;
        for s in &report.scopes {
            match (&s.advice, &s.no_advice) {
                (Some(a), _) => {
                    let currency = cell(&s.currency.to_string());
                    writeln!(
                        out,
                        "- **{}**: {} {}-year {} at {}% off: commit **{} {currency}/hour** (p{} of on-demand eligible spend per hour is {}, {} data); saves **{} {currency} a month**; breaks even while covered usage stays above {} of the baseline{}.",
                        cell(&s.id),
                        cell(&a.plan),
                        a.term_years,
                        a.payment,
                        a.discount.times(100).round_dp(2),
                        a.commitment_per_hour.round_dp(4),
                        crate::analysis::rules::rule::format_number(a.percentile),
                        a.baseline_per_hour.round_dp(4),
                        s.granularity,
                        money(a.monthly_savings),
                        percent(Some(a.break_even_utilization)),
                        match (a.upfront > Money::ZERO, a.payback_months) {
                            (true, Some(m)) => format!(
                                "; {} {currency} upfront, repaid in {} months",
                                money(a.upfront),
                                m.round_dp(1)
                            ),
                            _ => String::new(),
                        }
                    )?;
                }
                (None, Some(why)) => {
                    writeln!(out, "- **{}**: no advice: {}.", cell(&s.id), cell(why))?
                }
                (None, None) => {}
            }
        }
    }
    if !report.recommendations.is_empty() {
        writeln!(out, "\n{level} What Cost Explorer recommends\n")?;
        for r in &report.recommendations {
            let currency = cell(&r.currency.to_string());
            let what = match (r.hourly_commitment, r.items.is_empty()) {
                (Some(h), _) => format!("commit {} {currency}/hour", h.round_dp(4)),
                (None, false) => cell(&r.items.join(", ")),
                (None, true) => "—".to_string(),
            };
            let service = if r.service.is_empty() {
                String::new()
            } else {
                format!(" for {}", cell(&r.service))
            };
            writeln!(
                out,
                "- **{}{service}** ({}-year {}, account {}): {what}; saves {} a month{}.",
                cell(&r.kind),
                r.term_years,
                cell(&r.payment),
                cell(&r.account_id),
                r.monthly_savings.map_or_else(
                    || "an unknown amount".to_string(),
                    |m| format!("{} {currency}", money(m))
                ),
                r.upfront
                    .filter(|u| *u > Money::ZERO)
                    .map_or_else(String::new, |u| format!(", {} {currency} upfront", money(u)))
            )?;
        }
    }
    if !report.cost_explorer.is_empty() {
        writeln!(out, "\n{level} Cost Explorer beside billing\n")?;
        writeln!(out, "| Figure | Account | Period | Cost Explorer | Billing | Disagree | Note |")?;
        writeln!(out, "|---|---|---|---:|---:|---|---|")?;
        for c in &report.cost_explorer {
            writeln!(
                out,
                "| {} | {} | {} – {} | {} | {} | {} | {} |",
                c.metric,
                cell(&c.account_id),
                c.start,
                c.end,
                percent(c.cost_explorer),
                percent(c.billing),
                if c.disagree { "**yes**" } else { "no" },
                cell(&c.note)
            )?;
        }
    }
    for note in &report.notes {
        writeln!(out, "\n> **Note:** {}", cell(note))?;
    }
    Ok(())
}

/// The chargeback: per currency, the shared pools before their split, then one row per team
/// (direct, each pool's share, total, share of the bill, change), the unallocated line and the
/// bill; with `--detail`, each team's direct cost per service.
pub fn write_allocation(
    out: &mut dyn Write,
    allocation: &crate::analysis::allocation::Allocation,
    notes: &Notes,
) -> io::Result<()> {
    writeln!(out, "# Chargeback by tag:{}\n", cell(&allocation.key))?;
    write_allocation_sections(out, allocation, "##")?;
    write_notes(out, notes)
}

/// The chargeback's sections, each currency under a heading of `level` (`##` alone, `###`
/// inside the report) and its tables one level below.
pub fn write_allocation_sections(
    out: &mut dyn Write,
    allocation: &crate::analysis::allocation::Allocation,
    level: &str,
) -> io::Result<()> {
    let basis = match allocation.cost {
        crate::model::ResourceCost::Billed => "BilledCost",
        crate::model::ResourceCost::Effective => "EffectiveCost",
    };
    writeln!(out, "Allocating {basis}.")?;
    if let (Some(start), Some(end)) = (allocation.period_start, allocation.period_end) {
        write!(out, "Period {start} – {end}")?;
        if let (Some(ps), Some(pe)) = (allocation.previous_start, allocation.previous_end) {
            write!(out, ", compared with {ps} – {pe}")?;
        }
        writeln!(out, ".")?;
    }
    writeln!(
        out,
        "Amounts are rounded to cents here; CSV and JSON carry them exactly, and there the teams \
         plus the unallocated and idle lines equal the bill to the last digit.\n"
    )?;
    for c in &allocation.currencies {
        let currency = cell(&c.currency.to_string());
        writeln!(out, "{level} {currency}\n")?;
        writeln!(out, "{level}# Shared pools, before the split\n")?;
        writeln!(out, "| Pool | Match | Split | Amount | Left unallocated |")?;
        writeln!(out, "|---|---|---|---:|---:|")?;
        for p in &c.pools {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(&p.name),
                cell(&p.scope),
                p.split.as_str(),
                money(p.amount),
                money(p.left_unallocated)
            )?;
        }
        for p in c.pools.iter().filter(|p| !p.namespaces.is_empty() || p.idle.is_some()) {
            writeln!(out, "\n{} by namespace requests:\n", cell(&p.name))?;
            writeln!(out, "| Namespace | Team | Amount |")?;
            writeln!(out, "|---|---|---:|")?;
            for n in &p.namespaces {
                let team = n.team.as_deref().map_or_else(|| "*unallocated*".to_string(), cell);
                writeln!(out, "| {} | {} | {} |", cell(&n.namespace), team, money(n.amount))?;
            }
            if let Some(idle) = p.idle {
                writeln!(out, "| *idle* | — | {} |", money(idle))?;
            }
        }
        writeln!(out, "\n{level}# Teams\n")?;
        let pools: Vec<String> = c.pools.iter().map(|p| cell(&p.name)).collect();
        let mut header = vec!["Team".to_string(), "Direct".to_string()];
        header.extend(pools.iter().cloned());
        header.extend(["Total", "Share", "Previous", "Change"].map(String::from));
        writeln!(out, "| {} |", header.join(" | "))?;
        let mut align = vec!["---"];
        align.extend(std::iter::repeat_n("---:", header.len() - 1));
        writeln!(out, "|{}|", align.join("|"))?;
        let opt_money = |m: Option<Money>| m.map_or_else(|| "—".to_string(), money);
        for t in &c.teams {
            let mut row = vec![cell(&t.team), money(t.direct_cost)];
            row.extend(t.shares.iter().map(|s| money(s.amount)));
            row.extend([
                format!("**{}**", money(t.total_cost)),
                percent(t.share_of_bill),
                opt_money(t.previous_total_cost),
                t.change.map_or_else(|| "—".to_string(), signed),
            ]);
            writeln!(out, "| {} |", row.join(" | "))?;
        }
        let blanks = vec![String::new(); pools.len()];
        let change = |now: Money, before: Option<Money>| {
            before.map_or_else(|| "—".to_string(), |b| signed(now - b))
        };
        let mut row = vec!["*unallocated*".to_string(), money(c.unallocated)];
        row.extend(blanks.iter().cloned());
        row.extend([
            money(c.unallocated),
            percent(c.unallocated.share_of(c.bill)),
            opt_money(c.previous_unallocated),
            change(c.unallocated, c.previous_unallocated),
        ]);
        writeln!(out, "| {} |", row.join(" | "))?;
        if !c.idle.is_zero() || c.previous_idle.is_some_and(|i| !i.is_zero()) {
            let mut row = vec!["*idle*".to_string(), String::new()];
            row.extend(blanks.iter().cloned());
            row.extend([
                money(c.idle),
                percent(c.idle.share_of(c.bill)),
                opt_money(c.previous_idle),
                change(c.idle, c.previous_idle),
            ]);
            writeln!(out, "| {} |", row.join(" | "))?;
        }
        let mut row = vec!["**Bill**".to_string(), String::new()];
        row.extend(blanks);
        row.extend([
            format!("**{}**", money(c.bill)),
            percent(c.bill.share_of(c.bill)),
            opt_money(c.previous_bill),
            change(c.bill, c.previous_bill),
        ]);
        writeln!(out, "| {} |", row.join(" | "))?;
        if c.teams.iter().any(|t| !t.services.is_empty()) {
            writeln!(out, "\n{level}# Direct cost per service\n")?;
            writeln!(out, "| Team | Service | Direct |")?;
            writeln!(out, "|---|---|---:|")?;
            for t in &c.teams {
                for s in &t.services {
                    writeln!(
                        out,
                        "| {} | {} | {} |",
                        cell(&t.team),
                        cell(&s.service),
                        money(s.direct_cost)
                    )?;
                }
            }
        }
    }
    Ok(())
}
