//! Review: the monthly review in one screen — the month-end forecast with its range, each
//! budget against its amount, and the usage anomalies (the selected one's resources that
//! moved, and the charges that are not usage). Every figure comes from the report.

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use super::{ExportJob, ViewOutcome, ViewState};
use crate::analysis::anomalies::{Anomaly, AnomalyReport};
use crate::analysis::budgets::{BudgetEvaluation, BudgetStatus};
use crate::model::Money;
use crate::report::Report;
use crate::tui::app::Dataset;
use crate::tui::theme::Theme;
use crate::tui::widget::table::{Column, DataTable, Emphasis, SortKey, TableRow};
use crate::tui::widget::{money, safe, short_id, truncate};

/// From this width the anomalies and the selected one's detail sit side by side.
const WIDE: u16 = 120;

#[derive(Debug)]
pub struct ReviewView {
    pub table: DataTable,
}

impl Default for ReviewView {
    fn default() -> Self {
        ReviewView {
            table: DataTable::new(vec![
                Column::text("Day", "day", Constraint::Length(5)),
                Column::text("Group", "group", Constraint::Min(16)),
                Column::number("Actual", "actual", Constraint::Length(10)),
                Column::number("Expected", "expected", Constraint::Length(10)),
                Column::number("Excess", "excess", Constraint::Length(10)),
                Column::text("Since", "since", Constraint::Length(5)),
                Column::text("Top mover", "resource", Constraint::Length(20)),
            ]),
        }
    }
}

/// A group in few columns for the table (`CloudFront / acme-prod`); the detail pane and the
/// exports keep the full label with the account id.
fn short_label(group: &crate::analysis::anomalies::AnomalyGroup) -> String {
    let mut parts = Vec::new();
    if let Some(s) = &group.service {
        parts.push(super::overview::short_service(s));
    }
    if let Some(a) = &group.account_id {
        parts.push(
            group.account_name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| a.clone()),
        );
    }
    if let Some(r) = &group.region {
        parts.push(r.clone());
    }
    if let (Some(k), Some(v)) = (&group.tag_key, &group.tag_value) {
        parts.push(format!("{k}={v}"));
    }
    safe(&parts.join(" / "))
}

fn anomalies_of(data: &Dataset) -> &[Anomaly] {
    data.report.anomalies.as_ref().map_or(&[], |a| a.anomalies.as_slice())
}

/// `over` / `at risk` / `ok`, and the style that says it without colour too.
fn status_text(status: BudgetStatus, theme: &Theme) -> (&'static str, ratatui::style::Style) {
    match status {
        BudgetStatus::Over => ("OVER", theme.error()),
        BudgetStatus::AtRisk => ("AT RISK", theme.warning()),
        BudgetStatus::Ok => ("ok", theme.ok()),
        BudgetStatus::NoData => ("no data", theme.dim()),
    }
}

/// `███████▌░░ 98.9%`: a budget's share used, capped at the bar's end (the text says how far
/// over).
fn gauge(percent: Option<Money>, width: usize) -> String {
    let Some(p) = percent else { return "—".to_string() };
    let f = p.to_f64() / 100.0;
    let full = ((f.clamp(0.0, 1.0)) * width as f64).round() as usize;
    format!("{}{} {:5.1}%", "█".repeat(full), "░".repeat(width - full), f * 100.0)
}

/// `anomalies 3 · budgets 1 over, 1 at risk, 2 ok`: the review in one line, for the Overview.
pub fn summary_spans(report: &Report, theme: &Theme) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    match &report.anomalies {
        None => spans.push(Span::styled("anomalies need dated billing", theme.dim())),
        Some(a) => match a.anomalies.first() {
            None => spans.push(Span::styled("no anomaly", theme.ok())),
            Some(top) => {
                let n = a.anomalies.len();
                spans.push(Span::styled(
                    format!("{n} anomal{}", if n == 1 { "y" } else { "ies" }),
                    theme.warning(),
                ));
                spans.push(Span::raw(format!(
                    " (top {} +{} on {})",
                    truncate(&short_label(&top.group), 24),
                    top.found.excess.display_2dp(),
                    top.found.day.format("%m-%d")
                )));
            }
        },
    }
    if !report.budgets.is_empty() {
        spans.push(Span::raw(" · budgets "));
        let mut first = true;
        for status in
            [BudgetStatus::Over, BudgetStatus::AtRisk, BudgetStatus::Ok, BudgetStatus::NoData]
        {
            let n = report.budgets.iter().filter(|b| b.status == status).count();
            if n == 0 {
                continue;
            }
            if !first {
                spans.push(Span::raw(", "));
            }
            first = false;
            let (_, style) = status_text(status, theme);
            spans.push(Span::styled(format!("{n} {}", status.as_str().replace('_', " ")), style));
        }
    }
    spans.push(Span::styled(" · 7: review", theme.dim()));
    spans
}

impl ViewState for ReviewView {
    fn load(&mut self, data: &Dataset) {
        let rows = anomalies_of(data)
            .iter()
            .map(|a| {
                let top = a.resources.first();
                // Days as MM-DD: a review covers a month or two of one year.
                let cells = vec![
                    a.found.day.format("%m-%d").to_string(),
                    short_label(&a.group),
                    a.found.actual.display_2dp(),
                    a.found.expected.display_2dp(),
                    format!("+{}", a.found.excess.display_2dp()),
                    a.found.since.format("%m-%d").to_string(),
                    top.map_or_else(|| "—".to_string(), |r| safe(short_id(&r.resource_id))),
                ];
                let keys = vec![
                    SortKey::Text(a.found.day.to_string()),
                    SortKey::Text(a.group.label().to_lowercase()),
                    SortKey::Money(a.found.actual),
                    SortKey::Money(a.found.expected),
                    SortKey::Money(a.found.excess),
                    SortKey::Text(a.found.since.to_string()),
                    top.map_or(SortKey::None, |r| SortKey::Money(r.increase)),
                ];
                TableRow::new(cells, keys).with(Emphasis::Warning)
            })
            .collect();
        self.table.set_rows(rows);
    }

    fn key(&mut self, _key: KeyEvent, _data: &Dataset) -> ViewOutcome {
        ViewOutcome::Ignored
    }

    fn table(&mut self) -> Option<&mut DataTable> {
        Some(&mut self.table)
    }

    fn render(&self, data: &Dataset, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let report = &data.report;
        let budget_rows = if report.budgets.is_empty() { 1 } else { report.budgets.len() };
        let budgets_height = (budget_rows as u16 + 2).min(area.height / 3).max(3);
        let [head, budgets, main] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Length(budgets_height),
            Constraint::Min(5),
        ])
        .areas(area);
        Paragraph::new(forecast_lines(report, theme)).render(head, buf);
        render_budgets(&report.budgets, budgets, buf, theme);

        let Some(anomalies) = report.anomalies.as_ref() else {
            Paragraph::new(Line::styled(
                "Anomalies need billing with days (FOCUS ChargePeriodStart): give --focus FILE.",
                theme.dim(),
            ))
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(" Anomalies "))
            .render(main, buf);
            return;
        };
        let [list, detail] = if area.width >= WIDE {
            Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(main)
        } else {
            let half = main.height / 2;
            let rows = (self.table.len() as u16 + 3).clamp(4.min(half), half);
            Layout::vertical([Constraint::Length(rows), Constraint::Min(3)]).areas(main)
        };
        let title = format!("Anomalies: daily usage by {}", anomalies.by);
        self.table.render(list, buf, theme, &title, true);
        self.render_detail(anomalies, detail, buf, theme);
    }

    fn help(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("↑/↓", "select an anomaly: the resources that moved show beside it"),
            ("/group:ec2", "filter by day, group, …"),
            ("e", "export the anomalies as CSV"),
        ]
    }

    fn export(&self, data: &Dataset) -> Option<(String, ExportJob)> {
        let report = data.report.anomalies.clone()?;
        let date = data.report.collected_at.format("%Y-%m-%d");
        Some((format!("costscope-anomalies-{date}.csv"), ExportJob::Anomalies(Box::new(report))))
    }
}

/// The month-end forecast of each currency with its range and how it was made.
fn forecast_lines(report: &Report, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for ov in &report.overview {
        let mut spans = vec![Span::styled(
            format!(" Forecast {}: ", ov.current_month.month.format("%b %Y")),
            theme.header(),
        )];
        match (&ov.forecast, &ov.forecast_unavailable) {
            (Some(f), _) => {
                spans.push(Span::styled(money(f.total, &ov.currency), theme.title()));
                if f.days_remaining > 0 {
                    spans.push(Span::raw(format!(
                        "  range {} – {}",
                        f.low.display_2dp(),
                        f.high.display_2dp()
                    )));
                }
                spans.push(Span::styled(format!("  ({})", safe(&f.how())), theme.dim()));
            }
            (None, why) => spans.push(Span::styled(
                format!("none ({})", safe(why.as_deref().unwrap_or("no usage to fit"))),
                theme.dim(),
            )),
        }
        lines.push(Line::from(spans));
    }
    if lines.is_empty() {
        lines.push(Line::styled(" Forecast: needs billing with days", theme.dim()));
    }
    lines
}

fn render_budgets(budgets: &[BudgetEvaluation], area: Rect, buf: &mut Buffer, theme: &Theme) {
    // One period for all (the common case) goes in the title, else on each line.
    let first = budgets.first().map(|b| (b.period, b.period_start, b.period_end));
    let shared = budgets.iter().all(|b| Some((b.period, b.period_start, b.period_end)) == first);
    let title = match first {
        Some((period, start, end)) if shared => {
            format!(" Budgets · {} {start}..{end} (actual · forecast) ", period.as_str())
        }
        _ => " Budgets (actual · forecast) ".to_string(),
    };
    let block = Block::default().borders(Borders::ALL).title(title);
    if budgets.is_empty() {
        Paragraph::new(Line::styled(
            "No budget configured: add [[budget]] tables to costscope.toml (README: Budgets).",
            theme.dim(),
        ))
        .block(block)
        .render(area, buf);
        return;
    }
    let name_width = budgets.iter().map(|b| b.name.chars().count()).max().unwrap_or(4).min(24);
    let lines: Vec<Line> = budgets
        .iter()
        .map(|b| {
            let (status, style) = status_text(b.status, theme);
            let forecast = b.forecast.map_or_else(
                || "—".to_string(),
                |f| format!("{} ({})", f.display_2dp(), gauge(b.forecast_percent, 0).trim()),
            );
            let period = if shared {
                String::new()
            } else {
                format!(
                    "{} {}..{} · ",
                    b.period.as_str(),
                    b.period_start.format("%m-%d"),
                    b.period_end.format("%m-%d")
                )
            };
            Line::from(vec![
                Span::styled(format!("{status:<8}"), style),
                Span::styled(
                    format!("{:<name_width$} ", truncate(&safe(&b.name), name_width)),
                    theme.title(),
                ),
                Span::styled(gauge(b.actual_percent, 10), style),
                Span::raw(format!(
                    "  {} of {} · forecast {}",
                    b.actual.display_2dp(),
                    money(b.amount, &b.currency),
                    forecast
                )),
                Span::styled(format!("  {period}{}", safe(&b.scope.describe())), theme.dim()),
            ])
        })
        .collect();
    Paragraph::new(lines).block(block).render(area, buf);
}

impl ReviewView {
    /// The selected anomaly: its figures, the resources that moved, then the charges that are
    /// not usage (never judged).
    fn render_detail(&self, report: &AnomalyReport, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let block = Block::default().borders(Borders::ALL).title(" Selected anomaly ");
        let mut lines = Vec::new();
        match self.table.selected_index().and_then(|i| report.anomalies.get(i)) {
            Some(a) => {
                lines.push(Line::styled(
                    format!("{} · {}", safe(&a.group.label()), a.found.day),
                    theme.title(),
                ));
                lines.push(Line::from(format!(
                    "{} against {} expected: +{}",
                    money(a.found.actual, &a.currency),
                    a.found.expected.display_2dp(),
                    a.found.excess.display_2dp()
                )));
                let score = a.found.score.map_or_else(
                    || "flat history".to_string(),
                    |s| format!("{:.1} MADs", s.to_f64()),
                );
                lines.push(Line::styled(
                    format!(
                        "{score} · baseline of {} days{} · since {}",
                        a.found.history_days,
                        if a.found.weekday_aware { " (same weekdays)" } else { "" },
                        a.found.since
                    ),
                    theme.dim(),
                ));
                lines.push(Line::from(""));
                if a.resources.is_empty() {
                    lines.push(Line::styled(
                        if report.resource_detail {
                            "no resource rose that day"
                        } else {
                            "the billing has no per-resource days"
                        },
                        theme.dim(),
                    ));
                } else {
                    lines.push(Line::styled("resources that moved", theme.header()));
                }
                for r in &a.resources {
                    lines.push(Line::from(vec![
                        Span::raw(safe(short_id(&r.resource_id))),
                        Span::styled(format!(" +{}", r.increase.display_2dp()), theme.cost()),
                        Span::styled(
                            format!(
                                " ({} vs {})",
                                r.actual.display_2dp(),
                                r.baseline.display_2dp()
                            ),
                            theme.dim(),
                        ),
                    ]));
                }
            }
            None if report.anomalies.is_empty() => {
                let judged = report.groups.iter().filter(|g| g.anomalies == 0).count();
                lines.push(Line::styled("No anomaly.", theme.ok()));
                lines.push(Line::styled(
                    format!("{judged} groups of daily usage judged"),
                    theme.dim(),
                ));
            }
            None => lines.push(Line::styled("Select an anomaly.", theme.dim())),
        }
        let mut other: std::collections::BTreeMap<(&str, String), (Money, usize)> =
            std::collections::BTreeMap::new();
        for c in &report.non_usage {
            let slot =
                other.entry((c.charge_category.as_str(), c.currency.to_string())).or_default();
            slot.0 += c.billed_cost;
            slot.1 += 1;
        }
        if !other.is_empty() {
            lines.push(Line::from(""));
            lines.push(Line::styled("not usage (not judged)", theme.header()));
            for ((category, currency), (billed, n)) in other {
                lines.push(Line::from(format!(
                    "{:<10} {:>12} {} ({n})",
                    truncate(&safe(category), 10),
                    billed.display_2dp(),
                    safe(&currency)
                )));
            }
        }
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(block).render(area, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BillingLine, Grain};
    use crate::tui::test_support::draw;

    /// The sample at the dashboard's grain with a 900 spike on one prod EC2 instance on
    /// October 27 (beside the sample's own planted anomalies) and two budgets, one over.
    fn dataset() -> Dataset {
        let mut snapshot = crate::sample::snapshot().unwrap();
        let options =
            crate::source::focus::FocusOptions { grain: Grain::DETAILED, skip_invalid: false };
        let mut billing = crate::sample::billing(options).unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 10, 27).unwrap();
        let template = billing
            .lines
            .iter()
            .find(|l| {
                l.day == Some(day)
                    && l.service == "Amazon Elastic Compute Cloud"
                    && l.account_id == "222222222222"
                    && l.resource_id.starts_with("i-")
                    && l.charge_category == "Usage"
            })
            .unwrap()
            .clone();
        billing.lines.push(BillingLine {
            resource_id: "i-0runaway".into(),
            billed_cost: Money::from_units(900),
            effective_cost: Some(Money::from_units(900)),
            ..template
        });
        snapshot.billing = Some(billing);
        let config = crate::config::Config::parse(
            r#"
[[budget]]
name = "compute"
amount = "15000"
scope = { service = "Amazon Elastic Compute Cloud" }

[[budget]]
name = "whole bill"
amount = "60000"
"#,
            std::path::Path::new("costscope.toml"),
        )
        .unwrap();
        let engine = crate::app::engine(&config, None).unwrap();
        let review = crate::report::ReviewSettings::from_config(&config);
        let report = crate::report::build_report_with(&snapshot, &engine, &[], None, &review);
        Dataset { report, snapshot: std::sync::Arc::new(snapshot) }
    }

    #[test]
    fn the_spike_its_resource_and_the_budgets_are_on_screen() {
        let data = dataset();
        let mut view = ReviewView::default();
        view.load(&data);
        let anomalies = data.report.anomalies.as_ref().unwrap();
        // The added spike is EC2's only anomaly: on its day, its instance first, which rose by
        // exactly the 900 added (it had no spend before).
        let ec2: Vec<&Anomaly> = anomalies
            .anomalies
            .iter()
            .filter(|a| a.group.service.as_deref() == Some("Amazon Elastic Compute Cloud"))
            .collect();
        assert_eq!(ec2.len(), 1, "{ec2:?}");
        let a = ec2[0];
        assert_eq!(a.found.day.to_string(), "2026-10-27");
        assert_eq!(a.resources[0].resource_id, "i-0runaway");
        assert_eq!(a.resources[0].increase, Money::from_units(900));
        // The sample's own planted spike (samples/README.md) is there too.
        assert!(anomalies.anomalies.iter().any(|a| a.found.day.to_string() == "2026-10-27"
            && a.group.service.as_deref() == Some("Amazon CloudFront")));
        let text = draw(&view, &data, 160, 30);
        assert!(text.contains("2026-10-27"), "{text}");
        assert!(text.contains("i-0runaway +900.00 (900.00 vs 0.00)"), "{text}");
        // The detail pane of the selected (only) anomaly and the charges kept apart.
        assert!(text.contains("resources that moved"), "{text}");
        assert!(text.contains("not usage (not judged)"), "{text}");
        assert!(text.contains("Purchase"), "{text}");
        // October's EC2 spend and whole bill, summed here from the billing lines.
        let billing = data.snapshot.billing.as_ref().unwrap();
        let october =
            |l: &&BillingLine| l.day.is_some_and(|d| d.format("%Y-%m").to_string() == "2026-10");
        let lines = || billing.lines.iter().filter(october);
        let ec2: Money = lines()
            .filter(|l| l.service == "Amazon Elastic Compute Cloud")
            .map(|l| l.billed_cost)
            .sum();
        let month: Money = lines().map(|l| l.billed_cost).sum();
        assert!(ec2 > Money::from_units(15_000), "the compute budget is over: {ec2}");
        assert!(text.contains("OVER    compute"), "{text}");
        assert!(text.contains(&format!("{} of 15,000.00 USD", ec2.display_2dp())), "{text}");
        assert!(text.contains("ok      whole bill"), "{text}");
        // The month is complete: the forecast is what was billed.
        assert!(
            text.contains(&format!("Forecast Oct 2026: {} USD", month.display_2dp())),
            "{text}"
        );
        assert!(text.contains("period complete"), "{text}");
        // Narrow, the detail goes under the list.
        let narrow = draw(&view, &data, 80, 30);
        assert!(narrow.contains("i-0runaway"), "{narrow}");
    }

    #[test]
    fn without_billing_each_part_says_what_it_needs() {
        let mut data = dataset();
        data.report.anomalies = None;
        data.report.budgets.clear();
        data.report.overview.clear();
        let mut view = ReviewView::default();
        view.load(&data);
        let text = draw(&view, &data, 100, 20);
        assert!(text.contains("Anomalies need billing with days"), "{text}");
        assert!(text.contains("No budget configured"), "{text}");
        assert!(text.contains("Forecast: needs billing with days"), "{text}");
    }

    #[test]
    fn the_overview_line_counts_anomalies_and_budgets() {
        let data = dataset();
        let spans = summary_spans(&data.report, &Theme::plain());
        let text: String = spans.iter().map(|s| s.content.as_ref()).collect();
        let n = data.report.anomalies.as_ref().unwrap().anomalies.len();
        assert!(text.starts_with(&format!("{n} anomalies (top EC2 / acme-prod +")), "{text}");
        let excess = data.report.anomalies.as_ref().unwrap().anomalies[0].found.excess;
        assert!(excess >= Money::from_units(900), "{excess}");
        assert!(text.contains(&format!("+{} on 10-27", excess.display_2dp())), "{text}");
        assert!(text.contains(" · budgets 1 over, 1 ok"), "{text}");
    }
}
