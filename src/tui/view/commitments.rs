//! Commitments: each Savings Plan, reservation or committed use discount with its utilization,
//! the selected one's days (drill-down), coverage of eligible compute by service, and what to
//! buy. Every figure comes from the report's [`CommitmentsReport`].

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use super::{ExportJob, ViewOutcome, ViewState};
use crate::analysis::commitments::{CommitmentRow, CommitmentsReport};
use crate::model::Money;
use crate::tui::app::Dataset;
use crate::tui::theme::Theme;
use crate::tui::widget::table::{Column, DataTable, Emphasis, SortKey, TableRow};
use crate::tui::widget::{money, safe};

/// Utilization under this is drawn as a warning: commitment-underutilized's default threshold.
const LOW_UTILIZATION: Money = Money::from_raw(95 * 10i128.pow(16));

/// From this width the list and the detail sit side by side, and the header draws gauges.
const WIDE: u16 = 140;

#[derive(Debug)]
pub struct CommitmentsView {
    pub table: DataTable,
}

impl Default for CommitmentsView {
    fn default() -> Self {
        CommitmentsView {
            table: DataTable::new(vec![
                Column::text("Commitment", "commitment", Constraint::Min(14)),
                Column::text("Type", "type", Constraint::Length(14)),
                Column::number("Used", "utilization", Constraint::Length(12)),
                Column::number("Unused/mo", "unused", Constraint::Length(12)),
                Column::number("Per hour", "hourly", Constraint::Length(8)),
                Column::text("Term ends", "ends", Constraint::Length(10)),
            ]),
        }
    }
}

/// `█████░░░░░ 52.0%`: a gauge that reads without colour.
fn gauge(share: Option<Money>, width: usize) -> String {
    let Some(share) = share else { return "—".to_string() };
    let fraction = share.to_f64().clamp(0.0, 1.0);
    let full = (fraction * width as f64).round() as usize;
    format!("{}{} {:5.1}%", "█".repeat(full), "░".repeat(width - full), fraction * 100.0)
}

fn commitments_of(data: &Dataset) -> &[CommitmentRow] {
    data.report.commitments.as_ref().map_or(&[], |c| c.commitments.as_slice())
}

/// Utilization over every commitment of one currency: used / (used + unused).
fn overall(report: &CommitmentsReport) -> Vec<(Money, Money, crate::model::Currency)> {
    let mut by_currency: std::collections::BTreeMap<_, (Money, Money)> = Default::default();
    for c in report.commitments.iter().filter(|c| c.days > 0) {
        let slot = by_currency.entry(c.currency.clone()).or_default();
        slot.0 += c.used;
        slot.1 += c.used + c.unused;
    }
    by_currency.into_iter().map(|(currency, (used, total))| (used, total, currency)).collect()
}

/// `used 90.8% · covered 25.3% · buy 4.93/h saves 1,470.67 USD/mo`: commitments in one
/// line, short enough for the Overview at 80 columns; `gauges` draws bars (the view's header).
pub fn summary_spans(
    report: &CommitmentsReport,
    gauges: bool,
    theme: &Theme,
) -> Vec<Span<'static>> {
    let shown = |share: Option<Money>| {
        if gauges {
            gauge(share, 8)
        } else {
            share.map_or_else(|| "—".to_string(), |s| format!("{:.1}%", s.to_f64() * 100.0))
        }
    };
    let mut spans = Vec::new();
    let totals = overall(report);
    if totals.is_empty() {
        spans.push(Span::styled("none in billing", theme.dim()));
    }
    for (used, total, _) in &totals {
        let share = used.share_of(*total);
        let style =
            if share.is_some_and(|s| s < LOW_UTILIZATION) { theme.warning() } else { theme.ok() };
        spans.push(Span::styled(format!("used {}", shown(share)), style));
    }
    for s in &report.scopes {
        spans.push(Span::raw(format!(" · covered {}", shown(s.coverage))));
        if let Some(a) = &s.advice {
            spans.push(Span::raw(" · "));
            spans.push(Span::styled(
                format!(
                    "buy {}/h saves {}/mo",
                    a.commitment_per_hour.round_dp(2),
                    money(a.monthly_savings, &s.currency)
                ),
                theme.savings(),
            ));
        }
    }
    spans
}

impl ViewState for CommitmentsView {
    fn load(&mut self, data: &Dataset) {
        let rows = commitments_of(data)
            .iter()
            .map(|c| {
                let name = if c.name.is_empty() { c.id.clone() } else { c.name.clone() };
                let cells = vec![
                    safe(&name),
                    safe(if c.kind.is_empty() { "commitment" } else { &c.kind }),
                    gauge(c.utilization, 5),
                    c.unused_monthly.display_2dp(),
                    c.hourly_commitment
                        .map_or_else(|| "—".to_string(), |h| h.round_dp(4).to_string()),
                    c.term_end.map_or_else(|| "—".to_string(), |d| d.to_string()),
                ];
                let keys = vec![
                    SortKey::Text(name.to_lowercase()),
                    SortKey::Text(c.kind.to_lowercase()),
                    c.utilization.map_or(SortKey::None, SortKey::Money),
                    SortKey::Money(c.unused_monthly),
                    c.hourly_commitment.map_or(SortKey::None, SortKey::Money),
                    c.term_end.map_or(SortKey::None, |d| SortKey::Text(d.to_string())),
                ];
                let low = c.utilization.is_some_and(|u| u < LOW_UTILIZATION);
                let emphasis = if low || !c.problems.is_empty() {
                    Emphasis::Warning
                } else {
                    Emphasis::Normal
                };
                TableRow::new(cells, keys).with(emphasis)
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
        let Some(report) = data.report.commitments.as_ref() else {
            Paragraph::new(vec![
                Line::styled(" No commitment data.", theme.title()),
                Line::from(""),
                Line::styled(
                    " Commitments come from FOCUS billing with the commitment columns \
                     (CommitmentDiscountId, PricingCategory, …): give --focus FILE.",
                    theme.dim(),
                ),
            ])
            .wrap(Wrap { trim: false })
            .render(area, buf);
            return;
        };
        let wide = area.width >= WIDE;
        let lower = (report.coverage.len() as u16 + report.scopes.len() as u16 * 3 + 4)
            // At most half the height, at least 8 rows when the screen has 16.
            .clamp(8.min(area.height / 2), area.height / 2);
        let [summary, main, bottom] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(6),
            Constraint::Length(lower),
        ])
        .areas(area);
        let mut spans = vec![Span::styled(" Commitments: ", theme.title())];
        spans.extend(summary_spans(report, wide, theme));
        Line::from(spans).render(summary, buf);

        // Side by side when wide; stacked (the list only as tall as it needs) when narrow.
        let [list, detail] = if wide {
            Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(main)
        } else {
            let rows = (report.commitments.len() as u16 + 3).min(main.height / 2).max(4);
            Layout::vertical([Constraint::Length(rows), Constraint::Min(3)]).areas(main)
        };
        self.table.render(list, buf, theme, "Commitments (utilization)", true);
        self.render_detail(report, detail, buf, theme);

        let [coverage, purchase] =
            Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
                .areas(bottom);
        render_coverage(report, coverage, buf, theme);
        render_purchase(report, purchase, buf, theme);
    }

    fn help(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("↑/↓", "select a commitment: its days show on the right"),
            ("/type:savings", "filter by commitment, type, …"),
        ]
    }

    fn export(&self, data: &Dataset) -> Option<(String, ExportJob)> {
        let report = data.report.commitments.clone()?;
        let date = data.report.collected_at.format("%Y-%m-%d");
        Some((
            format!("costscope-commitments-{date}.csv"),
            ExportJob::Commitments(Box::new(report)),
        ))
    }
}

impl CommitmentsView {
    /// The selected commitment: its figures, problems and a bar per day (used vs unused).
    fn render_detail(
        &self,
        report: &CommitmentsReport,
        area: Rect,
        buf: &mut Buffer,
        theme: &Theme,
    ) {
        let block = Block::default().borders(Borders::ALL).title(" Daily utilization ");
        let Some(c) = self.table.selected_index().and_then(|i| report.commitments.get(i)) else {
            Paragraph::new("Select a commitment to see its days.")
                .style(theme.dim())
                .block(block)
                .render(area, buf);
            return;
        };
        let mut lines = vec![
            Line::styled(safe(&c.id), theme.title()),
            Line::from(vec![
                Span::styled("used      ", theme.dim()),
                Span::raw(format!(
                    "{} of {} ({})",
                    money(c.used, &c.currency),
                    money(c.used + c.unused, &c.currency),
                    gauge(c.utilization, 10)
                )),
            ]),
            Line::from(vec![
                Span::styled("where     ", theme.dim()),
                Span::raw(format!(
                    "{} · account {} · {}",
                    safe(&c.provider),
                    safe(&c.account_id),
                    safe(if c.region.is_empty() { "any region" } else { &c.region })
                )),
            ]),
        ];
        // Every day in one line first, so a short pane still shows the month's shape.
        const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
        let spark: String = c
            .daily
            .iter()
            .map(|d| {
                let share = d.used.max(Money::ZERO).share_of(d.used + d.unused);
                let f = share.map_or(0.0, |s| s.to_f64().clamp(0.0, 1.0));
                LEVELS[((f * 7.0).round() as usize).min(7)]
            })
            .collect();
        if !spark.is_empty() {
            lines.insert(
                1,
                Line::from(vec![
                    Span::styled("days      ", theme.dim()),
                    Span::styled(spark, theme.bar()),
                ]),
            );
        }
        if !c.purchase_recurring.is_zero() || !c.purchase_one_time.is_zero() {
            lines.push(Line::from(vec![
                Span::styled("paid      ", theme.dim()),
                Span::raw(format!(
                    "{} recurring, {} upfront in the period",
                    money(c.purchase_recurring, &c.currency),
                    money(c.purchase_one_time, &c.currency)
                )),
            ]));
        }
        for p in &c.problems {
            lines.push(Line::styled(format!("! {}", safe(p)), theme.warning()));
        }
        lines.push(Line::from(""));
        let width = (area.width as usize).saturating_sub(22).clamp(4, 40);
        for d in &c.daily {
            let total = d.used + d.unused;
            let share = d.used.max(Money::ZERO).share_of(total);
            lines.push(Line::from(vec![
                Span::styled(format!("{} ", d.day.format("%m-%d")), theme.dim()),
                Span::styled(
                    gauge(share, width),
                    if share.is_some_and(|s| s < LOW_UTILIZATION) {
                        theme.warning()
                    } else {
                        theme.bar()
                    },
                ),
            ]));
        }
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(block).render(area, buf);
    }
}

fn render_coverage(report: &CommitmentsReport, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let block = Block::default().borders(Borders::ALL).title(" Coverage of eligible compute ");
    let mut lines = Vec::new();
    if report.coverage.is_empty() {
        lines.push(Line::styled("No commitment-eligible compute usage.", theme.dim()));
    }
    // Largest on-demand spend first: where coverage matters most.
    let mut rows: Vec<_> = report.coverage.iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.covered + r.on_demand));
    for r in rows {
        let service = r.service.trim_start_matches("Amazon ").trim_start_matches("AWS ");
        let t = crate::tui::widget::truncate;
        lines.push(Line::from(vec![
            Span::raw(format!(
                "{:<21} {:<12} {:<9} ",
                t(&safe(service), 21),
                t(&safe(&r.account_id), 12),
                t(&safe(&r.region), 9)
            )),
            Span::styled(gauge(r.coverage, 6), theme.bar()),
            Span::styled(format!(" {:>12}", r.on_demand.display_2dp()), theme.dim()),
        ]));
    }
    if !report.coverage.is_empty() {
        lines.insert(
            0,
            Line::styled(
                format!(
                    "{:<20} {:<12} {:<9} {:<13} {:>12}",
                    "service", "account", "region", "covered", "on demand"
                ),
                theme.header(),
            ),
        );
    }
    Paragraph::new(lines).block(block).render(area, buf);
}

fn render_purchase(report: &CommitmentsReport, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let block = Block::default().borders(Borders::ALL).title(" What to buy ");
    let mut lines = Vec::new();
    for s in &report.scopes {
        lines.push(Line::styled(safe(&s.id), theme.title()));
        match (&s.advice, &s.no_advice) {
            (Some(a), _) => {
                lines.push(Line::from(format!(
                    "{} {}y {}: commit {} {}/h",
                    safe(&a.plan),
                    a.term_years,
                    a.payment.replace('_', " "),
                    a.commitment_per_hour.round_dp(4),
                    s.currency.code().unwrap_or("")
                )));
                lines.push(Line::styled(
                    format!("saves {}/month", money(a.monthly_savings, &s.currency)),
                    theme.savings(),
                ));
                lines.push(Line::styled(
                    format!(
                        "p{} baseline {}/h ({} data); break-even at {:.0}% use",
                        crate::analysis::rules::rule::format_number(a.percentile),
                        a.baseline_per_hour.round_dp(4),
                        s.granularity,
                        a.break_even_utilization.to_f64() * 100.0
                    ),
                    theme.dim(),
                ));
            }
            (None, Some(why)) => {
                lines.push(Line::styled(format!("no advice: {}", safe(why)), theme.dim()))
            }
            (None, None) => {}
        }
    }
    if report.scopes.is_empty() {
        lines.push(Line::styled("No on-demand eligible compute.", theme.dim()));
    }
    Paragraph::new(lines).wrap(Wrap { trim: false }).block(block).render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::test_support::{draw, sample_dataset};

    #[test]
    fn the_sample_plan_shows_its_utilization_days_coverage_and_advice() {
        let data = sample_dataset(|_| {});
        let mut view = CommitmentsView::default();
        view.load(&data);
        // The savings plan and the two reservations.
        assert_eq!(view.table.len(), 3);
        let text = draw(&view, &data, 160, 72);
        assert!(text.contains("2026-11-21"), "the expiring reservation's term end: {text}");
        // The sample's plan over September and October: 1,574.79 used of 1,947.12 → 80.9 %,
        // 185.66 a month unused (tests/commitments.rs works them out from the CSV).
        assert!(text.contains("compute-sp-2025"), "{text}");
        assert!(text.contains("80.9%"), "{text}");
        assert!(text.contains("185.66"), "{text}");
        // Drill-down: the selected commitment's days from the first of September on.
        assert!(text.contains("09-01 ") && text.contains("09-30 "), "{text}");
        // Coverage by service, and what to buy (hand-checked in tests/commitments.rs).
        assert!(text.contains("Elastic Compute Cloud"), "{text}");
        assert!(text.contains("saves 1,578.38 USD/month"), "{text}");
    }

    #[test]
    fn without_commitment_data_the_view_says_where_it_comes_from() {
        let data = sample_dataset(|s| s.billing = None);
        let mut view = CommitmentsView::default();
        view.load(&data);
        let text = draw(&view, &data, 100, 10);
        assert!(text.contains("No commitment data"), "{text}");
        assert!(text.contains("--focus"), "{text}");
    }

    #[test]
    fn gauges_read_without_colour() {
        assert_eq!(gauge(Money::parse("0.5").ok(), 4), "██░░  50.0%");
        assert_eq!(gauge(None, 4), "—");
        assert_eq!(gauge(Money::parse("1.2").ok(), 2), "██ 100.0%");
    }
}
