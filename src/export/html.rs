//! The report as one self-contained HTML page: headline figures, daily spend by service, cost
//! by service, account and tag, tag coverage, savings and findings, clusters, budgets,
//! anomalies and commitments. Nothing is fetched: styles, the sort script and the SVG charts
//! are inline, and a Content-Security-Policy forbids any load, so the file opens from disk or
//! an email attachment alike. Every data text goes through [`esc`].

mod svg;

use std::io::{self, Write};

use crate::analysis::costs::CostBreakdown;
use crate::model::{Currency, Money};
use crate::report::Report;

const STYLE: &str = include_str!("html/page.css");
const SORT_SCRIPT: &str = include_str!("html/sort.js");

/// How many findings the page lists; the CSV export holds every one.
const MAX_FINDINGS: usize = 2000;
/// How many groups a cost table lists before summing the rest.
const MAX_GROUPS: usize = 15;

/// Text made safe for HTML content and quoted attributes: the five markup characters escaped,
/// and control characters and bidirectional overrides replaced as every export does.
pub(crate) fn esc(text: &str) -> String {
    let clean = super::plain_text(text);
    let mut out = String::with_capacity(clean.len());
    for c in clean.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn money(m: Money) -> String {
    m.display_2dp()
}

fn amount(m: Money, currency: &Currency) -> String {
    format!("{} {}", money(m), esc(&currency.to_string()))
}

/// A headline figure: the amount large, its currency small beside it.
fn card_amount(m: Money, currency: &Currency) -> String {
    format!(r#"{} <span class="cur">{}</span>"#, money(m), esc(&currency.to_string()))
}

fn percent(share: Option<Money>) -> String {
    share.map_or_else(|| "—".to_string(), |s| format!("{:.1}%", s.to_f64() * 100.0))
}

/// A table cell holding money, sortable by its exact value.
fn money_cell(m: Money) -> String {
    format!(r#"<td class="num" data-sort="{m}">{}</td>"#, money(m))
}

/// Where `value` falls on a scale whose full width is `max`, in percent (0 to 100).
fn scaled_percent(value: Money, max: Money) -> f64 {
    if max.raw() > 0 { (value.to_f64() / max.to_f64() * 100.0).clamp(0.0, 100.0) } else { 0.0 }
}

/// A horizontal bar of `value` on a scale whose full width is `max`.
fn bar(value: Money, max: Money) -> String {
    let width = scaled_percent(value, max);
    let class = if value.is_negative() { "bar neg" } else { "bar" };
    format!(r#"<span class="{class}" style="width:{width:.3}%" data-value="{value}"></span>"#)
}

/// Writes the report as HTML.
pub fn write_report(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let as_of = report.collected_at.format("%Y-%m-%d %H:%M");
    writeln!(out, "<!DOCTYPE html>")?;
    writeln!(out, r#"<html lang="en"><head><meta charset="utf-8">"#)?;
    // Nothing may load: no network, no external script, font or image.
    writeln!(
        out,
        r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">"#
    )?;
    writeln!(out, r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#)?;
    writeln!(out, "<title>costscope report — data as of {as_of} UTC</title>")?;
    writeln!(out, "<style>{STYLE}</style></head><body>")?;
    write_header(out, report)?;
    write_nav(out, report)?;
    writeln!(out, "<main>")?;
    write_headline(out, report)?;
    write_daily(out, report)?;
    write_spend_by(out, report)?;
    write_tag_coverage(out, report)?;
    write_savings(out, report)?;
    write_clusters(out, report)?;
    write_budgets(out, report)?;
    write_anomalies(out, report)?;
    write_commitments(out, report)?;
    write_allocation(out, report)?;
    write_notes(out, report)?;
    writeln!(out, "</main>")?;
    writeln!(
        out,
        "<footer>Written by costscope {} from the same report as its CSV, JSON and Markdown exports.</footer>",
        env!("CARGO_PKG_VERSION")
    )?;
    writeln!(out, "<script>{SORT_SCRIPT}</script></body></html>")
}

fn write_header(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    writeln!(out, "<header><h1>costscope report</h1>")?;
    write!(
        out,
        r#"<p class="meta">Data as of {} UTC"#,
        report.collected_at.format("%Y-%m-%d %H:%M")
    )?;
    if let Some(o) = report.overview.first() {
        write!(out, " · billing {} to {}", o.period_start, o.period_end)?;
    }
    writeln!(out, "</p>")?;
    if !report.sources.is_empty() {
        let sources: Vec<String> = report
            .sources
            .iter()
            .map(|s| {
                let state = format!("{:?}", s.state).to_lowercase();
                format!(r#"{} <span class="status-{}">({state})</span>"#, esc(&s.name), esc(&state))
            })
            .collect();
        writeln!(out, r#"<p class="meta">Sources: {}</p>"#, sources.join(", "))?;
    }
    writeln!(out, "</header>")
}

fn write_nav(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let mut links = vec![("headline", "Summary")];
    if !report.daily_by_service.is_empty() {
        links.push(("daily", "Daily spend"));
    }
    if !report.spend_by.is_empty() {
        links.push(("spend", "Cost by group"));
    }
    if report.tag_coverage.as_ref().is_some_and(|t| !t.keys.is_empty()) {
        links.push(("tags", "Tag coverage"));
    }
    links.push(("savings", "Savings"));
    if !report.clusters.is_empty() {
        links.push(("clusters", "Clusters"));
    }
    if !report.budgets.is_empty() {
        links.push(("budgets", "Budgets"));
    }
    if report.anomalies.is_some() {
        links.push(("anomalies", "Anomalies"));
    }
    if report.commitments.is_some() {
        links.push(("commitments", "Commitments"));
    }
    if report.allocation.is_some() {
        links.push(("chargeback", "Chargeback"));
    }
    write!(out, "<nav>")?;
    for (id, label) in links {
        write!(out, r##"<a href="#{id}">{label}</a>"##)?;
    }
    writeln!(out, "</nav>")
}

fn card(out: &mut dyn Write, label: &str, value: &str, sub: &str, id: &str) -> io::Result<()> {
    writeln!(
        out,
        r#"<div class="card" data-card="{id}"><div class="label">{label}</div><div class="value">{value}</div><div class="sub">{sub}</div></div>"#
    )
}

fn write_headline(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    writeln!(out, r#"<section id="headline"><h2>Summary</h2><div class="cards">"#)?;
    for o in &report.overview {
        let c = &o.currency;
        let month = o.current_month.month.format("%b %Y");
        let mut sub =
            format!("{} of {} days", o.current_month.days_covered, o.current_month.days_in_month);
        if let (Some(previous), Some(change)) = (&o.previous_month, o.change) {
            let class = if change.is_negative() { "down" } else { "up" };
            let percent = o.change_percent.map_or_else(String::new, |p| format!(" ({p:+.1}%)"));
            sub.push_str(&format!(
                r#"<br><span class="{class}">{}{}{percent}</span> against all of {}"#,
                if change.is_negative() { "" } else { "+" },
                money(change),
                previous.month.format("%B")
            ));
        }
        card(
            out,
            &format!("Spend {month}"),
            &card_amount(o.current_month.billed_cost, c),
            &sub,
            "month",
        )?;
        if let Some(previous) = &o.previous_month {
            card(
                out,
                &format!("Spend {}", previous.month.format("%b %Y")),
                &card_amount(previous.billed_cost, c),
                &format!("{} days", previous.days_covered),
                "previous",
            )?;
        }
        match (&o.forecast, &o.forecast_unavailable) {
            (Some(f), _) if f.days_remaining == 0 => card(
                out,
                &format!("Forecast {month}"),
                &card_amount(f.total, c),
                "the month is complete: its spend",
                "forecast",
            )?,
            (Some(f), _) => card(
                out,
                &format!("Forecast {month}"),
                &card_amount(f.total, c),
                &format!("likely {} – {}", money(f.low), money(f.high)),
                "forecast",
            )?,
            (None, Some(why)) => card(out, "Forecast", "—", &esc(why), "forecast")?,
            (None, None) => {}
        }
    }
    if report.overview.is_empty() {
        for s in &report.spend {
            card(
                out,
                "Billed spend",
                &amount(s.billed_cost, &s.currency),
                "in the period",
                "spend",
            )?;
        }
    }
    for t in &report.totals {
        card(
            out,
            "Potential savings / month",
            &card_amount(t.estimated_monthly_savings, &t.currency),
            &format!("{} findings on {} resources", t.findings, t.resources),
            "savings",
        )?;
    }
    if report.totals.is_empty() {
        card(out, "Potential savings / month", "0", "no findings", "savings")?;
    }
    if let Some(tags) = &report.tag_coverage
        && let Some(worst) = tags.keys.iter().min_by_key(|k| k.cost_share.unwrap_or(Money::ZERO))
    {
        card(
            out,
            "Least-covered tag",
            &percent(worst.cost_share),
            &format!("of cost carries <span class=\"id\">{}</span>", esc(&worst.key)),
            "tags",
        )?;
    }
    if !report.budgets.is_empty() {
        use crate::analysis::budgets::BudgetStatus;
        let count = |s: BudgetStatus| report.budgets.iter().filter(|b| b.status == s).count();
        let (over, at_risk) = (count(BudgetStatus::Over), count(BudgetStatus::AtRisk));
        let class = if over > 0 {
            "status-over"
        } else if at_risk > 0 {
            "status-at_risk"
        } else {
            "status-ok"
        };
        card(
            out,
            "Budgets over",
            &format!(r#"<span class="{class}">{over}</span>"#),
            &format!(
                "{at_risk} at risk, {} ok, of {}",
                count(BudgetStatus::Ok),
                report.budgets.len()
            ),
            "budgets",
        )?;
    }
    if let Some(a) = &report.anomalies {
        card(
            out,
            "Anomalies",
            &a.anomalies.len().to_string(),
            &format!("days of unusual usage by {}", esc(&a.by.to_string())),
            "anomalies",
        )?;
    }
    writeln!(out, "</div></section>")
}

fn write_daily(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    if report.daily_by_service.is_empty() {
        return Ok(());
    }
    writeln!(out, r#"<section id="daily"><h2>Daily spend by service</h2>"#)?;
    for spend in &report.daily_by_service {
        if report.daily_by_service.len() > 1 {
            writeln!(out, "<h3>{}</h3>", esc(&spend.currency.to_string()))?;
        }
        writeln!(out, "<figure>")?;
        svg::stacked_daily(out, spend)?;
        write!(out, r#"<ul class="legend">"#)?;
        for (name, fill) in svg::series(spend) {
            let swatch = if fill == svg::CHARGES {
                r##"<svg class="swatch" viewBox="0 0 12 12"><rect width="12" height="12" fill="#f0d9c8"/><path d="M0 12L12 0M-3 3L3 -3M9 15L15 9" stroke="#a0522d" stroke-width="3"/></svg>"##.to_string()
            } else {
                format!(r#"<span class="swatch" style="background:{fill}"></span>"#)
            };
            write!(out, "<li>{swatch}{}</li>", esc(&name))?;
        }
        writeln!(out, "</ul></figure>")?;
        let charges: Money = spend.days.iter().map(|d| d.other_charges).sum();
        let below_zero = spend.days.iter().any(|d| {
            d.other_usage.is_negative()
                || d.other_charges.is_negative()
                || d.usage.iter().any(|m| m.is_negative())
        });
        if !charges.is_zero() {
            writeln!(
                out,
                r#"<p class="note">Charges that are not usage (purchases, recurring fees, tax, credits) are hatched: {} in the period.{}</p>"#,
                amount(charges, &spend.currency),
                if below_zero { " Credits and refunds are drawn below zero." } else { "" }
            )?;
        }
    }
    writeln!(out, "</section>")
}

fn dimension_title(dimension: &str) -> String {
    match dimension.strip_prefix("tag:") {
        Some(key) => format!("Tag <span class=\"id\">{}</span>", esc(key)),
        None => {
            let mut c = dimension.chars();
            c.next().map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
        }
    }
}

fn write_spend_by(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    if report.spend_by.is_empty() {
        return Ok(());
    }
    writeln!(out, r#"<section id="spend"><h2>Cost by group</h2>"#)?;
    if let Some(o) = report.overview.first() {
        writeln!(
            out,
            r#"<p class="note">Billed cost from {} to {}.</p>"#,
            o.period_start, o.period_end
        )?;
    }
    for breakdown in &report.spend_by {
        write_breakdown(out, breakdown)?;
    }
    writeln!(out, "</section>")
}

fn write_breakdown(out: &mut dyn Write, breakdown: &CostBreakdown) -> io::Result<()> {
    let tagged = breakdown.dimension.starts_with("tag:");
    writeln!(out, "<h3>{}</h3>", dimension_title(&breakdown.dimension))?;
    for total in &breakdown.totals {
        let rows: Vec<_> = breakdown.rows.iter().filter(|r| r.currency == total.currency).collect();
        let max = rows.iter().map(|r| r.billed_cost).max().unwrap_or(Money::ZERO);
        writeln!(
            out,
            r#"<table class="sortable breakdown" data-dimension="{}" data-currency="{}"><thead><tr><th>{}</th><th class="num">Billed ({})</th><th class="num">Share</th><th class="barcell"></th></tr></thead><tbody>"#,
            esc(&breakdown.dimension),
            esc(&total.currency.to_string()),
            if tagged { "Value" } else { "Name" },
            esc(&total.currency.to_string())
        )?;
        for row in rows.iter().take(MAX_GROUPS) {
            let label = match (&row.name, row.key.is_empty()) {
                (_, true) if tagged => "<em>untagged</em>".to_string(),
                (_, true) => "<em>none</em>".to_string(),
                (Some(name), false) if !name.is_empty() => {
                    format!("{} <span class=\"id\">{}</span>", esc(name), esc(&row.key))
                }
                _ => esc(&row.key),
            };
            writeln!(
                out,
                r#"<tr data-key="{}"><td>{label}</td>{}<td class="num">{}</td><td class="barcell">{}</td></tr>"#,
                esc(&row.key),
                money_cell(row.billed_cost),
                percent(row.billed_cost.share_of(total.billed_cost)),
                bar(row.billed_cost, max)
            )?;
        }
        if rows.len() > MAX_GROUPS {
            let rest: Money = rows.iter().skip(MAX_GROUPS).map(|r| r.billed_cost).sum();
            writeln!(
                out,
                r#"<tr data-key=""><td><em>{} others</em></td>{}<td class="num">{}</td><td class="barcell">{}</td></tr>"#,
                rows.len() - MAX_GROUPS,
                money_cell(rest),
                percent(rest.share_of(total.billed_cost)),
                bar(rest, max.max(rest))
            )?;
        }
        writeln!(
            out,
            r#"</tbody><tfoot><tr><th>Total</th><td class="num">{}</td><td></td><td></td></tr></tfoot></table>"#,
            money(total.billed_cost)
        )?;
    }
    Ok(())
}

fn write_tag_coverage(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let Some(tags) = report.tag_coverage.as_ref().filter(|t| !t.keys.is_empty()) else {
        return Ok(());
    };
    writeln!(
        out,
        r#"<section id="tags"><h2>Tag coverage</h2><p class="note">Share of cost whose resource carries each required tag.</p><div class="gauges">"#
    )?;
    for key in &tags.keys {
        svg::gauge(out, &key.key, key.cost_share)?;
    }
    writeln!(out, "</div>")?;
    writeln!(
        out,
        r#"<table><thead><tr><th>Tag</th><th class="num">Tagged cost</th><th class="num">Total cost</th><th class="num">Resources tagged</th></tr></thead><tbody>"#
    )?;
    for key in &tags.keys {
        writeln!(
            out,
            r#"<tr><td class="id">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{} of {} ({})</td></tr>"#,
            esc(&key.key),
            amount(key.tagged_cost, &key.currency),
            amount(key.total_cost, &key.currency),
            key.resources_tagged,
            key.resources_total,
            percent(key.resource_share)
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    if !tags.untagged.is_empty() {
        writeln!(
            out,
            r#"<p class="note">{} resources lack a required tag; the <code>tags</code> command lists them.</p>"#,
            tags.untagged.len()
        )?;
    }
    writeln!(out, "</section>")
}

fn write_savings(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    writeln!(out, r#"<section id="savings"><h2>Savings</h2>"#)?;
    if report.by_rule.is_empty() {
        writeln!(
            out,
            r#"<p>No findings among {} resources evaluated.</p></section>"#,
            report.resources_evaluated
        )?;
        return Ok(());
    }
    let max = report
        .by_rule
        .iter()
        .flat_map(|r| r.estimated_monthly_savings.values().copied())
        .max()
        .unwrap_or(Money::ZERO);
    writeln!(out, "<h3>By rule</h3>")?;
    writeln!(
        out,
        r#"<table class="sortable by-rule"><thead><tr><th>Rule</th><th>Title</th><th class="num">Findings</th><th class="num">Savings / month</th><th class="barcell"></th></tr></thead><tbody>"#
    )?;
    for r in &report.by_rule {
        let (value, text) = match r.estimated_monthly_savings.len() {
            0 => (Money::ZERO, "—".to_string()),
            _ => {
                let texts: Vec<String> =
                    r.estimated_monthly_savings.iter().map(|(c, m)| amount(*m, c)).collect();
                (r.estimated_monthly_savings.values().copied().sum(), texts.join(", "))
            }
        };
        let count = r.findings_text();
        writeln!(
            out,
            r#"<tr data-rule="{}"><td class="id rule">{}</td><td>{}</td><td class="num" data-sort="{}">{count}</td><td class="num" data-sort="{value}">{text}</td><td class="barcell">{}</td></tr>"#,
            esc(&r.rule_id),
            esc(&r.rule_id),
            esc(&r.title),
            r.findings,
            bar(value, max)
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    let primaries: Vec<_> = report.findings.iter().filter(|f| !f.alternative).collect();
    writeln!(
        out,
        r#"<h3>Findings</h3><p class="note sort-hint">Click a column's heading to sort by it.{}</p>"#,
        if primaries.len() > MAX_FINDINGS {
            format!(
                " The first {MAX_FINDINGS} of {} are listed; the CSV export holds them all.",
                primaries.len()
            )
        } else {
            String::new()
        }
    )?;
    writeln!(
        out,
        r#"<table class="sortable findings"><thead><tr><th>Rule</th><th>Resource</th><th>Account</th><th>Region</th><th>Action</th><th class="num">Cost / month</th><th class="num">Savings / month</th><th>Confidence</th><th>Evidence</th></tr></thead><tbody>"#
    )?;
    for f in primaries.iter().take(MAX_FINDINGS) {
        let target = f.target.as_deref().map_or(String::new(), |t| format!(" → {}", esc(t)));
        let current = f
            .current_monthly_cost
            .map_or_else(|| r#"<td class="num" data-sort="">—</td>"#.to_string(), money_cell);
        writeln!(
            out,
            r#"<tr><td class="id rule">{}</td><td class="id">{}</td><td class="id">{}</td><td>{}</td><td>{}{target}</td>{current}<td class="num" data-sort="{}">{}</td><td>{}</td><td class="evidence">{}</td></tr>"#,
            esc(&f.rule_id),
            esc(&f.resource_id),
            esc(&f.account_id),
            esc(&f.region),
            esc(&f.action),
            f.estimated_monthly_savings,
            amount(f.estimated_monthly_savings, &f.currency),
            f.confidence,
            evidence(&f.evidence)
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    let alternatives = report.findings.len() - primaries.len();
    if alternatives > 0 {
        writeln!(
            out,
            r#"<p class="note">{alternatives} alternative recommendations (another action on a resource listed above) are in the JSON and CSV exports.</p>"#
        )?;
    }
    if !report.insufficient_data.is_empty() {
        let parts: Vec<String> =
            report.insufficient_data.iter().map(|(r, n)| format!("{} ({n})", esc(r))).collect();
        writeln!(
            out,
            r#"<p class="note">Not judged for too little utilization data: {}.</p>"#,
            parts.join(", ")
        )?;
    }
    writeln!(out, "</section>")
}

/// A finding's evidence: whole when short, else its first clause with the rest behind a
/// disclosure (the page's script opens them all before printing).
fn evidence(text: &str) -> String {
    const SHORT: usize = 140;
    if text.chars().count() <= SHORT {
        return esc(text);
    }
    let cut = text.char_indices().nth(SHORT).map_or(text.len(), |(i, _)| i);
    let head = text[..cut].rfind(';').filter(|i| *i > 40).unwrap_or(cut);
    format!("<details><summary>{}…</summary>{}</details>", esc(&text[..head]), esc(&text[head..]))
}

fn efficiency(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_string(), |v| format!("{:.1}%", v * 100.0))
}

fn write_clusters(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    if report.clusters.is_empty() {
        return Ok(());
    }
    writeln!(out, r#"<section id="clusters"><h2>Cluster efficiency</h2>"#)?;
    writeln!(
        out,
        r#"<table class="sortable clusters"><thead><tr><th>Cluster</th><th class="num">Nodes</th><th class="num">CPU requested / allocatable</th><th class="num">CPU efficiency</th><th class="num">Memory efficiency</th><th class="num">Cost / month</th><th class="num">Idle / month</th><th class="barcell">Idle share</th></tr></thead><tbody>"#
    )?;
    for c in &report.clusters {
        let cores = |m: u64| format!("{:.1}", m as f64 / 1000.0);
        let (cost, idle, idle_bar) = match &c.costs {
            Some(costs) => {
                (money_cell(costs.monthly), money_cell(costs.idle), bar(costs.idle, costs.monthly))
            }
            None => (
                r#"<td class="num">—</td>"#.to_string(),
                r#"<td class="num">—</td>"#.to_string(),
                String::new(),
            ),
        };
        writeln!(
            out,
            r#"<tr data-cluster="{}"><td>{}</td><td class="num">{}</td><td class="num">{} / {}</td><td class="num" data-sort="{}">{}</td><td class="num" data-sort="{}">{}</td>{cost}{idle}<td class="barcell">{idle_bar}</td></tr>"#,
            esc(&c.name),
            esc(&c.name),
            c.nodes.len(),
            cores(c.requested.cpu_millicores),
            cores(c.allocatable.cpu_millicores),
            c.cpu_efficiency.unwrap_or(0.0),
            efficiency(c.cpu_efficiency),
            c.memory_efficiency.unwrap_or(0.0),
            efficiency(c.memory_efficiency),
        )?;
    }
    writeln!(
        out,
        r#"</tbody></table><p class="note">Efficiency is usage over requests; idle cost is what the nodes cost beyond what workloads request.</p></section>"#
    )
}

/// A percentage already scaled to 100 (`44` is 44 %).
fn percent_value(value: Option<Money>) -> String {
    value.map_or_else(|| "—".to_string(), |p| format!("{:.1}%", p.to_f64()))
}

fn write_budgets(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    use crate::analysis::budgets::BudgetPeriod;
    if report.budgets.is_empty() {
        return Ok(());
    }
    writeln!(out, r#"<section id="budgets"><h2>Budgets</h2>"#)?;
    for b in &report.budgets {
        let status = b.status.as_str();
        let scale = [Some(b.amount), Some(b.actual), b.forecast]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(Money::ZERO);
        let pos = |m: Money| scaled_percent(m, scale);
        let forecast = b.forecast.map_or_else(String::new, |f| {
            format!(
                r#"<span class="forecast-mark" style="left:{:.3}%" data-value="{f}" title="forecast {}"></span>"#,
                pos(f),
                money(f)
            )
        });
        writeln!(
            out,
            r#"<div class="budget" data-budget="{}" data-status="{status}"><h3>{} <span class="status-{status}">{}</span></h3>"#,
            esc(&b.name),
            esc(&b.name),
            status.replace('_', " ")
        )?;
        writeln!(
            out,
            r#"<div class="track"><span class="fill status-bg-{status}" style="width:{:.3}%" data-value="{}"></span>{forecast}<span class="limit-mark" style="left:{:.3}%" data-value="{}"></span></div>"#,
            pos(b.actual),
            b.actual,
            pos(b.amount),
            b.amount
        )?;
        writeln!(
            out,
            r#"<p class="note">{} {}, {} to {} (day {} of {}): actual {} ({}){}, scope {}.</p>"#,
            match b.period {
                BudgetPeriod::Month => "Monthly",
                BudgetPeriod::Quarter => "Quarterly",
                BudgetPeriod::Year => "Yearly",
            },
            amount(b.amount, &b.currency),
            b.period_start,
            b.period_end,
            b.days_elapsed,
            b.days_in_period,
            money(b.actual),
            percent_value(b.actual_percent),
            b.forecast.map_or_else(String::new, |f| format!(
                ", forecast {} ({})",
                money(f),
                percent_value(b.forecast_percent)
            )),
            esc(&b.scope.describe())
        )?;
        if !b.drivers.groups.is_empty() {
            let parts: Vec<String> = b
                .drivers
                .groups
                .iter()
                .map(|g| {
                    let name =
                        g.display_name.as_deref().filter(|n| !n.is_empty()).unwrap_or(&g.name);
                    format!("{} {}", esc(name), money(g.billed_cost))
                })
                .collect();
            writeln!(out, r#"<p class="note">Drivers: {}.</p>"#, parts.join(" · "))?;
        }
        writeln!(out, "</div>")?;
    }
    writeln!(out, "</section>")
}

fn write_anomalies(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let Some(a) = &report.anomalies else {
        return Ok(());
    };
    writeln!(
        out,
        r#"<section id="anomalies"><h2>Spend anomalies by {}</h2>"#,
        esc(&a.by.to_string())
    )?;
    if a.anomalies.is_empty() {
        writeln!(
            out,
            r#"<p>No day's usage was far above its usual level{}.</p>"#,
            match (a.first_day, a.last_day) {
                (Some(f), Some(l)) => format!(" between {f} and {l}"),
                _ => String::new(),
            }
        )?;
    } else {
        writeln!(
            out,
            r#"<table class="sortable anomalies"><thead><tr><th>Day</th><th>Group</th><th class="num">Actual</th><th class="num">Expected</th><th class="num">Excess</th><th class="num">Score</th></tr></thead><tbody>"#
        )?;
        for x in &a.anomalies {
            let f = &x.found;
            writeln!(
                out,
                r#"<tr><td>{}</td><td>{}</td>{}{}<td class="num" data-sort="{}">{}</td><td class="num" data-sort="{}">{}</td></tr>"#,
                f.day,
                esc(&x.group.label()),
                money_cell(f.actual),
                money_cell(f.expected),
                f.excess,
                amount(f.excess, &x.currency),
                f.score.unwrap_or(Money::ZERO),
                f.score.map_or_else(|| "—".to_string(), |s| format!("{:.1}", s.to_f64()))
            )?;
        }
        writeln!(out, "</tbody></table>")?;
    }
    if !a.non_usage.is_empty() {
        writeln!(
            out,
            r#"<p class="note">{} charges that are not usage (purchases, fees, tax, credits) are not judged as anomalies; <code>costscope anomalies</code> lists them.</p>"#,
            a.non_usage.len()
        )?;
    }
    writeln!(out, "</section>")
}

fn write_commitments(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let Some(c) = &report.commitments else {
        return Ok(());
    };
    writeln!(out, r#"<section id="commitments"><h2>Commitments</h2>"#)?;
    if !c.commitments.is_empty() {
        writeln!(
            out,
            r#"<table class="sortable"><thead><tr><th>Commitment</th><th>Kind</th><th class="num">Used</th><th class="num">Unused</th><th class="num">Utilization</th><th class="num">Unused / month</th><th>Term end</th></tr></thead><tbody>"#
        )?;
        for row in &c.commitments {
            let name = if row.name.is_empty() { &row.id } else { &row.name };
            writeln!(
                out,
                r#"<tr><td class="id">{}</td><td>{}</td>{}{}<td class="num" data-sort="{}">{}</td>{}<td>{}</td></tr>"#,
                esc(name),
                esc(&row.kind),
                money_cell(row.used),
                money_cell(row.unused),
                row.utilization.unwrap_or(Money::ZERO),
                percent(row.utilization),
                money_cell(row.unused_monthly),
                row.term_end.map_or_else(|| "—".to_string(), |d| d.to_string())
            )?;
        }
        writeln!(out, "</tbody></table>")?;
    }
    if !c.coverage.is_empty() {
        writeln!(
            out,
            r#"<h3>Coverage of eligible compute</h3><table class="sortable"><thead><tr><th>Service</th><th>Account</th><th>Region</th><th class="num">Covered</th><th class="num">On demand</th><th class="num">Coverage</th></tr></thead><tbody>"#
        )?;
        for row in &c.coverage {
            writeln!(
                out,
                r#"<tr><td>{}</td><td class="id">{}</td><td>{}</td>{}{}<td class="num" data-sort="{}">{}</td></tr>"#,
                esc(&row.service),
                esc(&row.account_id),
                esc(&row.region),
                money_cell(row.covered),
                money_cell(row.on_demand),
                row.coverage.unwrap_or(Money::ZERO),
                percent(row.coverage)
            )?;
        }
        writeln!(out, "</tbody></table>")?;
    }
    for note in &c.notes {
        writeln!(out, r#"<p class="note">{}</p>"#, esc(note))?;
    }
    writeln!(out, "</section>")
}

fn write_allocation(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let Some(a) = &report.allocation else {
        return Ok(());
    };
    writeln!(
        out,
        r#"<section id="chargeback"><h2>Chargeback by tag <span class="id">{}</span></h2>"#,
        esc(&a.key)
    )?;
    if let (Some(start), Some(end)) = (a.period_start, a.period_end) {
        writeln!(
            out,
            r#"<p class="note">Billed cost from {start} to {end}: each team's direct cost and its share of every shared pool; with the unallocated and idle lines the teams add up to the bill exactly (<code>costscope allocate</code> has the exact figures and the options).</p>"#
        )?;
    }
    for c in &a.currencies {
        let currency = esc(&c.currency.to_string());
        if a.currencies.len() > 1 {
            writeln!(out, "<h3>{currency}</h3>")?;
        }
        if !c.pools.is_empty() {
            writeln!(
                out,
                r#"<table class="pools"><thead><tr><th>Shared pool</th><th>Match</th><th>Split</th><th class="num">Amount</th><th class="num">Left unallocated</th></tr></thead><tbody>"#
            )?;
            for p in &c.pools {
                writeln!(
                    out,
                    r#"<tr><td>{}</td><td class="id">{}</td><td>{}</td>{}{}</tr>"#,
                    esc(&p.name),
                    esc(&p.scope),
                    p.split.as_str(),
                    money_cell(p.amount),
                    money_cell(p.left_unallocated)
                )?;
            }
            writeln!(out, "</tbody></table>")?;
        }
        let max = c
            .teams
            .iter()
            .map(|t| t.total_cost)
            .chain([c.unallocated, c.idle])
            .max()
            .unwrap_or(Money::ZERO);
        let stacked = |direct: Money, shared: Money| {
            let width = |m: Money| scaled_percent(m, max);
            format!(
                r#"<span class="bar direct" style="width:{:.3}%" data-value="{direct}"></span><span class="bar shared" style="width:{:.3}%" data-value="{shared}"></span>"#,
                width(direct),
                width(shared)
            )
        };
        let changes = c.teams.iter().any(|t| t.change.is_some());
        let change_cell = |change: Option<Money>| {
            if changes {
                format!(r#"<td class="num">{}</td>"#, change.map_or_else(|| "—".to_string(), money))
            } else {
                String::new()
            }
        };
        writeln!(
            out,
            r#"<table class="sortable chargeback" data-currency="{currency}"><thead><tr><th>Team</th><th class="num">Direct</th><th class="num">Shared</th><th class="num">Total ({currency})</th><th class="num">Share</th>{}<th class="barcell">direct · shared</th></tr></thead><tbody>"#,
            if changes { r#"<th class="num">Change</th>"# } else { "" }
        )?;
        for t in &c.teams {
            writeln!(
                out,
                r#"<tr data-team="{}"><td>{}</td>{}{}{}<td class="num">{}</td>{}<td class="barcell stack">{}</td></tr>"#,
                esc(&t.team),
                esc(&t.team),
                money_cell(t.direct_cost),
                money_cell(t.shared_cost),
                money_cell(t.total_cost),
                percent(t.share_of_bill),
                change_cell(t.change),
                stacked(t.direct_cost, t.shared_cost)
            )?;
        }
        for (label, amount) in [("unallocated", c.unallocated), ("idle", c.idle)] {
            if label == "idle" && amount.is_zero() {
                continue;
            }
            writeln!(
                out,
                r#"<tr data-team=""><td><em>{label}</em></td>{}<td class="num"></td>{}<td class="num">{}</td>{}<td class="barcell stack">{}</td></tr>"#,
                money_cell(amount),
                money_cell(amount),
                percent(amount.share_of(c.bill)),
                change_cell(None),
                stacked(amount, Money::ZERO)
            )?;
        }
        writeln!(
            out,
            r#"</tbody><tfoot><tr><th>Bill</th><td></td><td></td><td class="num">{}</td><td></td>{}<td></td></tr></tfoot></table>"#,
            money(c.bill),
            change_cell(None)
        )?;
    }
    writeln!(out, "</section>")
}

fn write_notes(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let notes = report.notes();
    if notes.skipped.is_none() && notes.warnings.is_empty() && report.spend_coverage.is_empty() {
        return Ok(());
    }
    writeln!(out, r#"<section id="notes"><h2>Notes</h2><ul>"#)?;
    for coverage in &report.spend_coverage {
        writeln!(out, "<li>{}</li>", esc(&coverage.sentence(6)))?;
    }
    if let Some(skipped) = &notes.skipped {
        writeln!(out, r#"<li class="warn">{}</li>"#, esc(skipped))?;
    }
    for w in &notes.warnings {
        writeln!(out, r#"<li class="warn">{}</li>"#, esc(w))?;
    }
    writeln!(out, "</ul></section>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_control_characters_are_inert() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(esc("a\u{1b}[31mb\u{202e}c"), "a [31mb c");
    }
}
