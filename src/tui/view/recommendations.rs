//! Recommendations: findings by savings, filterable by rule, action, account and region, with a
//! detail pane (evidence, thresholds, confidence) and `i` to ignore a finding with a reason.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use super::{ExportJob, ViewOutcome, ViewState};
use crate::tui::app::{Dataset, Prompt};
use crate::tui::theme::Theme;
use crate::tui::widget::table::{Column, DataTable, Emphasis, SortKey, TableRow};
use crate::tui::widget::{money, safe};

#[derive(Debug)]
pub struct RecommendationsView {
    pub table: DataTable,
}

impl Default for RecommendationsView {
    fn default() -> Self {
        RecommendationsView {
            table: DataTable::new(vec![
                Column::number("Savings/mo", "savings", Constraint::Length(14)),
                Column::text("Rule", "rule", Constraint::Length(24)),
                Column::text("Resource", "resource", Constraint::Min(20)),
                Column::text("Account", "account", Constraint::Length(13)),
                Column::text("Region", "region", Constraint::Length(10)),
                Column::text("Action", "action", Constraint::Length(16)),
                Column::text("Conf.", "confidence", Constraint::Length(6)),
            ]),
        }
    }
}

impl ViewState for RecommendationsView {
    fn load(&mut self, data: &Dataset) {
        let rows = data
            .report
            .findings
            .iter()
            .map(|f| {
                let rule =
                    if f.alternative { format!("{} (alt)", f.rule_id) } else { f.rule_id.clone() };
                let action = match &f.target {
                    Some(t) => format!("{} → {}", f.action, t),
                    None => f.action.clone(),
                };
                let cells = vec![
                    money(f.estimated_monthly_savings, &f.currency),
                    safe(&rule),
                    safe(&f.resource_id),
                    safe(&f.account_id),
                    safe(&f.region),
                    safe(&action),
                    f.confidence.to_string(),
                ];
                let keys = vec![
                    SortKey::Money(f.estimated_monthly_savings),
                    SortKey::Text(f.rule_id.clone()),
                    SortKey::Text(f.resource_id.clone()),
                    SortKey::Text(f.account_id.clone()),
                    SortKey::Text(f.region.clone()),
                    SortKey::Text(f.action.clone()),
                    SortKey::Number(f.confidence as u8 as f64),
                ];
                let emphasis = if f.alternative {
                    Emphasis::Dim
                } else if f.estimated_monthly_savings.is_zero() {
                    Emphasis::Normal
                } else {
                    Emphasis::Good
                };
                TableRow::new(cells, keys).with(emphasis)
            })
            .collect();
        self.table.set_rows(rows);
    }

    fn key(&mut self, key: KeyEvent, data: &Dataset) -> ViewOutcome {
        match key.code {
            KeyCode::Char('i') => {
                let Some(f) = self.table.selected_index().and_then(|i| data.report.findings.get(i))
                else {
                    return ViewOutcome::Status("no finding selected".into());
                };
                ViewOutcome::Prompt(Prompt::Ignore {
                    rule_id: f.rule_id.clone(),
                    resource_id: f.resource_id.clone(),
                    input: String::new(),
                })
            }
            _ => ViewOutcome::Ignored,
        }
    }

    fn table(&mut self) -> Option<&mut DataTable> {
        Some(&mut self.table)
    }

    fn render(&self, data: &Dataset, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let report = &data.report;
        let [summary, main] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
        let mut spans = vec![Span::styled(" Potential savings: ", theme.title())];
        for t in &report.totals {
            spans.push(Span::styled(
                format!("{}/month ", money(t.estimated_monthly_savings, &t.currency)),
                theme.savings(),
            ));
            spans.push(Span::styled(
                format!("across {} resources ({} findings)  ", t.resources, t.findings),
                theme.dim(),
            ));
        }
        if report.totals.is_empty() {
            spans.push(Span::styled("none found ", theme.dim()));
        }
        if report.insufficient_data_resources > 0 {
            spans.push(Span::styled(
                format!(
                    "· {} resources not judged (too little data)",
                    report.insufficient_data_resources
                ),
                theme.warning(),
            ));
        }
        Line::from(spans).render(summary, buf);

        // Side by side when wide, stacked when narrow.
        let (list, detail) = if main.width >= 140 {
            let [a, b] =
                Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)])
                    .areas(main);
            (a, b)
        } else {
            let [a, b] = Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)])
                .areas(main);
            (a, b)
        };
        self.table.render(list, buf, theme, "Findings (by savings)", true);

        let block = Block::default().borders(Borders::ALL).title(" Detail ");
        let Some(f) = self.table.selected_index().and_then(|i| report.findings.get(i)) else {
            Paragraph::new("Select a finding to see its evidence.")
                .style(theme.dim())
                .block(block)
                .render(detail, buf);
            return;
        };
        let mut lines = vec![
            Line::styled(safe(&f.title), theme.title()),
            Line::from(vec![
                Span::styled("resource  ", theme.dim()),
                Span::raw(format!("{} ({})", safe(&f.resource_id), safe(&f.resource_type))),
            ]),
            Line::from(vec![
                Span::styled("where     ", theme.dim()),
                Span::raw(format!("account {} · {}", safe(&f.account_id), safe(&f.region))),
            ]),
            Line::from(vec![
                Span::styled("action    ", theme.dim()),
                Span::raw(match &f.target {
                    Some(t) => format!("{} → {}", safe(&f.action), safe(t)),
                    None => safe(&f.action),
                }),
            ]),
            Line::from(vec![
                Span::styled("cost      ", theme.dim()),
                Span::raw(f.current_monthly_cost.map_or_else(
                    || "unknown".to_string(),
                    |c| format!("{}/month now", money(c, &f.currency)),
                )),
            ]),
            Line::from(vec![
                Span::styled("saves     ", theme.dim()),
                Span::styled(
                    format!("{}/month", money(f.estimated_monthly_savings, &f.currency)),
                    theme.savings(),
                ),
                Span::raw(format!("   confidence {}", f.confidence)),
            ]),
        ];
        if f.alternative {
            lines.push(Line::styled(
                "alternative: another finding on this resource saves more; totals count that one",
                theme.warning(),
            ));
        }
        lines.push(Line::from(""));
        lines.push(Line::styled("evidence", theme.header()));
        for part in f.evidence.split("; ") {
            lines.push(Line::from(format!("• {}", safe(part))));
        }
        lines.push(Line::from(""));
        lines.push(Line::styled("i: ignore this finding (asks for a reason)", theme.dim()));
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(block).render(detail, buf);
    }

    fn help(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("i", "ignore the selected finding (with a reason; saved for `report` too)"),
            ("/rule:ec2-idle region:eu", "filter by rule, action, account, region, …"),
        ]
    }

    fn export(&self, data: &Dataset) -> Option<(String, ExportJob)> {
        // Exactly what the table shows, in the headless report's order.
        let mut shown: Vec<usize> =
            (0..self.table.len()).filter_map(|pos| self.table.visible_index(pos)).collect();
        shown.sort_unstable();
        let findings =
            shown.into_iter().filter_map(|i| data.report.findings.get(i).cloned()).collect();
        let date = data.report.collected_at.format("%Y-%m-%d");
        Some((format!("costscope-recommendations-{date}.csv"), ExportJob::Findings(findings)))
    }
}
