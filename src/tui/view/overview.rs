//! Overview: spend this month against the previous one, the month-end forecast, the daily
//! series, top services, savings, tag coverage, cluster efficiency and the state of every source,
//! in panels that rearrange for narrow terminals.
//!
//! Every figure is a field of the report (`report.overview`, `report.totals`,
//! `report.tag_coverage`, `report.clusters`, `report.sources`); drawing only scales bars.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Borders, Paragraph, Widget, Wrap};
use unicode_width::UnicodeWidthStr;

use super::{ExportJob, ViewOutcome, ViewState};
use crate::analysis::overview::CurrencyOverview;
use crate::model::{Currency, Money, SourceState};
use crate::report::Report;
use crate::tui::app::Dataset;
use crate::tui::theme::Theme;
use crate::tui::widget::table::DataTable;
use crate::tui::widget::{money, percent, safe, truncate};

/// Narrower than this, the bottom row drops the sources panel (the summary's sources line
/// still names every failing source) and the chart shares its row evenly.
const WIDE: u16 = 100;
/// Narrower than this, the chart and the top services stack instead of sitting side by side.
const NARROW: u16 = 60;
/// Lines of the summary panel's text.
const SUMMARY_LINES: u16 = 8;

#[derive(Debug, Default)]
pub struct OverviewView {
    /// The currency shown when the billing has several (`c` cycles); `None` before data.
    currency: Option<Currency>,
}

/// Where each panel goes; `sources` is `None` when there is no room for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Panels {
    pub summary: Rect,
    pub daily: Rect,
    pub services: Rect,
    pub tags: Rect,
    pub clusters: Rect,
    pub sources: Option<Rect>,
}

/// Lays the panels out: the summary on top, the chart and top services in the middle, tag
/// coverage, clusters (and sources, when wide) at the bottom, `bottom` rows high.
pub fn panels(area: Rect, bottom: u16) -> Panels {
    let [summary, middle, low] = Layout::vertical([
        Constraint::Length(SUMMARY_LINES + 2),
        Constraint::Min(6),
        Constraint::Length(bottom),
    ])
    .areas(area);
    let (daily, services) = if area.width < NARROW {
        let [a, b] = Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(middle);
        (a, b)
    } else if area.width < WIDE {
        let [a, b] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(middle);
        (a, b)
    } else {
        let [a, b] = Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)])
            .areas(middle);
        (a, b)
    };
    if area.width < WIDE {
        let [tags, clusters] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(low);
        Panels { summary, daily, services, tags, clusters, sources: None }
    } else {
        let [tags, clusters, sources] = Layout::horizontal([
            Constraint::Percentage(32),
            Constraint::Percentage(32),
            Constraint::Percentage(36),
        ])
        .areas(low);
        Panels { summary, daily, services, tags, clusters, sources: Some(sources) }
    }
}

/// A horizontal bar of `width` cells filled to `fraction` (clamped to 0..=1) in eighths; the
/// unfilled part is `░` when `track` is set, so a short bar still shows the whole.
fn bar(fraction: f64, width: usize, track: bool) -> String {
    const PARTS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    let eighths = (fraction.clamp(0.0, 1.0) * width as f64 * 8.0).round() as usize;
    let (full, part) = (eighths / 8, eighths % 8);
    let mut out = "█".repeat(full.min(width));
    let mut used = full.min(width);
    if part > 0 && used < width {
        out.push_str(PARTS[part]);
        used += 1;
    }
    out.push_str(&(if track { "░" } else { " " }).repeat(width - used));
    out
}

/// A 6-decimal share from the report as a fraction, for bars and percentages only.
fn fraction(share: Option<Money>) -> Option<f64> {
    share.map(Money::to_f64)
}

/// `Oct 2026`.
fn month_label(month: chrono::NaiveDate) -> String {
    month.format("%b %Y").to_string()
}

fn source_mark(state: SourceState, theme: &Theme) -> (&'static str, &'static str, Style) {
    match state {
        SourceState::Ok => ("✓", "ok", theme.ok()),
        SourceState::Partial => ("!", "partial", theme.warning()),
        SourceState::Failed => ("✗", "failed", theme.error()),
    }
}

/// The change against the previous month: an arrow and a sign, colour only as a second signal
/// (more spend is the warning colour, less the good one).
fn change_spans(ov: &CurrencyOverview, theme: &Theme) -> Vec<Span<'static>> {
    let (Some(previous), Some(change)) = (&ov.previous_month, ov.change) else {
        return vec![Span::styled("— (the data has no complete previous month)", theme.dim())];
    };
    let (arrow, sign, style) = if change.is_negative() {
        ("▼", "", theme.ok())
    } else if change.is_zero() {
        ("=", "", theme.dim())
    } else {
        ("▲", "+", theme.warning())
    };
    let pct = ov.change_percent.map_or_else(String::new, |p| format!(" ({sign}{p:.1}%)"));
    let partial = ov.current_month.days_covered < ov.current_month.days_in_month;
    vec![
        Span::raw(format!(
            "vs {}: {}  ",
            month_label(previous.month),
            money(previous.billed_cost, &ov.currency)
        )),
        Span::styled(format!("{arrow} {sign}{}{pct}", change.display_2dp()), style),
        Span::styled(if partial { "  month to date" } else { "" }, theme.dim()),
    ]
}

fn summary_lines(
    report: &Report,
    ov: Option<&CurrencyOverview>,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    match ov {
        Some(ov) => {
            let m = &ov.current_month;
            lines.push(Line::from(vec![
                Span::styled(format!("Spend {}: ", month_label(m.month)), theme.header()),
                Span::styled(money(m.billed_cost, &ov.currency), theme.title()),
                Span::styled(
                    format!("  ({} of {} days)", m.days_covered, m.days_in_month),
                    theme.dim(),
                ),
            ]));
            let mut change = vec![Span::styled("Change: ", theme.header())];
            change.extend(change_spans(ov, theme));
            lines.push(Line::from(change));
            let forecast = match (&ov.forecast, &ov.forecast_unavailable) {
                (Some(f), _) if f.days_remaining == 0 => vec![
                    Span::styled(money(f.total, &ov.currency), theme.title()),
                    Span::styled("  (month complete)", theme.dim()),
                ],
                (Some(f), _) => vec![
                    Span::styled(money(f.total, &ov.currency), theme.title()),
                    Span::styled(
                        format!(
                            "  (range {} – {}; {})",
                            f.low.display_2dp(),
                            f.high.display_2dp(),
                            f.how()
                        ),
                        theme.dim(),
                    ),
                ],
                (None, why) => vec![Span::styled(
                    format!("— ({})", why.as_deref().unwrap_or("no usage to fit")),
                    theme.dim(),
                )],
            };
            let mut line = vec![Span::styled("Forecast month end: ", theme.header())];
            line.extend(forecast);
            lines.push(Line::from(line));
        }
        None => {
            let mut line = vec![Span::styled("Spend: ", theme.header())];
            if report.spend.is_empty() {
                line.push(Span::styled("no billing in these sources", theme.dim()));
            } else {
                let totals: Vec<String> =
                    report.spend.iter().map(|t| money(t.billed_cost, &t.currency)).collect();
                line.push(Span::styled(totals.join(" + "), theme.title()));
            }
            lines.push(Line::from(line));
            lines.push(Line::styled(
                "No days in the billing: no monthly comparison, chart or forecast",
                theme.dim(),
            ));
            lines.push(Line::from(""));
        }
    }

    // "Savings" rather than "Potential savings": the line must fit 80 columns.
    let mut savings = vec![Span::styled("Savings: ", theme.header())];
    if report.totals.is_empty() {
        savings.push(Span::styled("none found", theme.dim()));
    }
    for (i, t) in report.totals.iter().enumerate() {
        if i > 0 {
            savings.push(Span::raw(" · "));
        }
        savings.push(Span::styled(
            format!("{}/month", money(t.estimated_monthly_savings, &t.currency)),
            theme.savings(),
        ));
        savings.push(Span::raw(format!(" on {} resources", t.resources)));
    }
    savings.push(Span::raw(format!(" · {} findings", report.findings.len())));
    if report.insufficient_data_resources > 0 {
        savings.push(Span::styled(
            format!(" · ! {} not judged", report.insufficient_data_resources),
            theme.warning(),
        ));
    }
    lines.push(Line::from(savings));
    lines.push(judged_line(report, ov, width, theme));
    let mut commitments = vec![Span::styled("Commitments: ", theme.header())];
    match &report.commitments {
        Some(c) => commitments.extend(super::commitments::summary_spans(c, false, theme)),
        None => commitments.push(Span::styled("no commitment data in billing", theme.dim())),
    }
    lines.push(Line::from(commitments));
    let mut review = vec![Span::styled("Review: ", theme.header())];
    review.extend(super::review::summary_spans(report, theme));
    lines.push(Line::from(review));
    lines.push(sources_line(report, theme));
    lines
}

/// Which share of the spend the rules judge, and as many of the largest services none does as
/// fit in `width` columns.
fn judged_line(
    report: &Report,
    ov: Option<&CurrencyOverview>,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let mut spans = vec![Span::styled("Rules judge: ", theme.header())];
    let coverage = report
        .spend_coverage
        .iter()
        .find(|c| ov.is_none_or(|ov| c.currency == ov.currency))
        .or(report.spend_coverage.first());
    let Some(c) = coverage else {
        spans.push(Span::styled("— (needs billing)", theme.dim()));
        return Line::from(spans);
    };
    let style = if c.judged_percent < 50.0 { theme.warning() } else { theme.title() };
    let judged = format!("{:.1} % of spend", c.judged_percent);
    let mut used = "Rules judge: ".len() + judged.len();
    spans.push(Span::styled(judged, style));
    let mut listed = 0;
    let mut text = String::new();
    for s in &c.not_judged {
        let item = format!(
            "{}{} {:.1} %",
            if listed == 0 { " · not judged: " } else { ", " },
            safe(&short_service(&s.service)),
            s.percent
        );
        // Room for the item and a " +N" for the rest.
        let more = c.not_judged.len() - listed - 1;
        let tail = if more > 0 { format!(" +{more} more").len() } else { 0 };
        if used + item.chars().count() + tail > width {
            break;
        }
        used += item.chars().count();
        text.push_str(&item);
        listed += 1;
    }
    if listed < c.not_judged.len() {
        let rest = c.not_judged.len() - listed;
        text.push_str(&if listed == 0 {
            format!(" · {rest} services not judged")
        } else {
            format!(" +{rest} more")
        });
    }
    spans.push(Span::styled(text, theme.dim()));
    Line::from(spans)
}

/// The name AWS users say (`S3`, `CloudFront`): the line must fit 80 columns.
pub(crate) fn short_service(name: &str) -> String {
    const SHORT: [(&str, &str); 13] = [
        ("Amazon Simple Storage Service", "S3"),
        ("Amazon Simple Queue Service", "SQS"),
        ("Amazon Simple Notification Service", "SNS"),
        ("AWS Key Management Service", "KMS"),
        ("Amazon EC2 Container Registry (ECR)", "ECR"),
        ("Elastic Load Balancing", "ELB"),
        ("Amazon Elastic Kubernetes Service", "EKS"),
        ("Amazon Virtual Private Cloud", "VPC"),
        ("Amazon Relational Database Service", "RDS"),
        ("Amazon Elastic Compute Cloud", "EC2"),
        ("AWS Support (Business)", "Support"),
        ("AWS Support (Enterprise)", "Support"),
        ("AWS Support (Developer)", "Support"),
    ];
    if let Some((_, short)) = SHORT.iter().find(|(long, _)| *long == name) {
        return (*short).to_string();
    }
    name.strip_prefix("Amazon ").or_else(|| name.strip_prefix("AWS ")).unwrap_or(name).to_string()
}

/// One line naming every source, failing ones first with their first warning.
fn sources_line(report: &Report, theme: &Theme) -> Line<'static> {
    let mut spans = vec![Span::styled("Sources: ", theme.header())];
    if report.sources.is_empty() {
        spans.push(Span::styled("none", theme.dim()));
    }
    let mut sources: Vec<_> = report.sources.iter().collect();
    // Problems first, so they survive truncation at the right edge.
    sources.sort_by_key(|s| match s.state {
        SourceState::Failed => 0,
        SourceState::Partial => 1,
        SourceState::Ok => 2,
    });
    for s in sources {
        let (mark, word, style) = source_mark(s.state, theme);
        let detail = match (s.state, s.warnings.first()) {
            (SourceState::Ok, _) | (_, None) => String::new(),
            (_, Some(w)) => format!(": {}", safe(w)),
        };
        let text = if s.state == SourceState::Ok {
            format!("{mark} {}  ", safe(&s.name))
        } else {
            format!("{mark} {} {word}{detail}  ", safe(&s.name))
        };
        spans.push(Span::styled(text, style));
    }
    Line::from(spans)
}

fn services_lines(ov: &CurrencyOverview, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    if ov.top_services.is_empty() {
        return vec![Line::styled("no spend this month", theme.dim())];
    }
    // name │ bar │ amount │ share; the amount goes first when space runs out.
    let show_amount = width >= 56;
    let amount_width = if show_amount { 11 } else { 0 };
    let pct_width = 6;
    let bar_width = (width / 4).clamp(4, 20);
    let name_width = width.saturating_sub(bar_width + amount_width + pct_width + 3).max(6);
    let largest = ov.top_services.iter().filter_map(|s| fraction(s.share)).fold(0.0_f64, f64::max);
    let scale = |f: f64| if largest > 0.0 { f / largest } else { 0.0 };
    let mut lines: Vec<Line> = ov
        .top_services
        .iter()
        .map(|s| {
            let name =
                if s.service.is_empty() { "(no service)".to_string() } else { safe(&s.service) };
            let share = fraction(s.share);
            let mut spans = vec![
                Span::raw(format!("{:<name_width$} ", truncate(&name, name_width))),
                Span::styled(bar(scale(share.unwrap_or(0.0)), bar_width, false), theme.bar()),
                Span::raw(" "),
            ];
            if show_amount {
                spans.push(Span::raw(format!("{:>10} ", s.billed_cost.display_2dp())));
            }
            spans.push(Span::styled(format!("{:>6}", percent(share)), theme.dim()));
            Line::from(spans)
        })
        .collect();
    if let Some(other) = &ov.other_services {
        lines.push(Line::styled(
            format!(
                "+ {} more services: {} ({})",
                other.services,
                money(other.billed_cost, &ov.currency),
                percent(fraction(other.share))
            ),
            theme.dim(),
        ));
    }
    lines
}

fn tag_lines(
    report: &Report,
    currency: Option<&Currency>,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let Some(coverage) = &report.tag_coverage else {
        return vec![Line::styled("no billing with tags", theme.dim())];
    };
    let keys: Vec<_> =
        coverage.keys.iter().filter(|k| currency.is_none_or(|c| &k.currency == c)).collect();
    if keys.is_empty() {
        return vec![Line::styled("no cost to cover", theme.dim())];
    }
    let key_width = keys.iter().map(|k| safe(&k.key).width()).max().unwrap_or(0).min(14);
    let bar_width = width.saturating_sub(key_width + 9).clamp(3, 20);
    keys.iter()
        .map(|k| {
            let share = fraction(k.cost_share);
            // Full coverage also gets a mark, not only a colour.
            let (mark, style) = if k.cost_share == Some(Money::from_units(1)) {
                ("✓", theme.ok())
            } else {
                (" ", theme.bar())
            };
            Line::from(vec![
                Span::raw(format!("{:<key_width$} ", truncate(&safe(&k.key), key_width))),
                Span::styled(bar(share.unwrap_or(0.0), bar_width, true), style),
                Span::raw(format!(" {:>6}", percent(share))),
                Span::styled(mark, style),
            ])
        })
        .collect()
}

fn cluster_lines(report: &Report, theme: &Theme) -> Vec<Line<'static>> {
    if report.clusters.is_empty() {
        return vec![Line::styled("no cluster source (--kube or a snapshot)", theme.dim())];
    }
    let mut lines = Vec::new();
    for c in &report.clusters {
        lines.push(Line::styled(safe(&c.name), theme.title()));
        if c.cpu_efficiency.is_none() && c.memory_efficiency.is_none() {
            lines.push(Line::styled("no usage metrics", theme.dim()));
        } else {
            lines.push(Line::from(vec![
                Span::raw(format!(
                    "CPU {} · mem {}",
                    percent(c.cpu_efficiency),
                    percent(c.memory_efficiency)
                )),
                Span::styled(" (used/req.)", theme.dim()),
            ]));
        }
        match &c.costs {
            Some(costs) => lines.push(Line::from(vec![
                Span::styled(format!("idle {}", costs.idle.display_2dp()), theme.warning()),
                Span::raw(format!(" of {}/month", money(costs.monthly, &c.currency))),
            ])),
            None => lines.push(Line::styled("cost unknown: no node priced", theme.dim())),
        }
        if c.nodes_unpriced > 0 {
            lines.push(Line::styled(
                format!("! {} nodes not priced", c.nodes_unpriced),
                theme.warning(),
            ));
        }
    }
    lines
}

fn source_lines(report: &Report, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for s in &report.sources {
        let (mark, word, style) = source_mark(s.state, theme);
        lines.push(Line::from(vec![
            Span::styled(format!("{mark} "), style),
            Span::raw(safe(&s.name)),
            Span::styled(format!("  {word}"), style),
        ]));
        for w in &s.warnings {
            lines.push(Line::styled(format!("  {}", safe(w)), style));
        }
    }
    for w in &report.warnings {
        lines.push(Line::styled(format!("! {}", safe(w)), theme.warning()));
    }
    if lines.is_empty() {
        lines.push(Line::styled("no sources", theme.dim()));
    }
    lines
}

fn panel(title: String) -> Block<'static> {
    Block::default().borders(Borders::ALL).title(title)
}

/// The daily spend as bars, with the axis labels that matter: the largest day above, the first
/// and last day below. Days that do not fit are the oldest ones left out.
fn render_daily(ov: &CurrencyOverview, area: Rect, buf: &mut Buffer, theme: &Theme) {
    // Usage only when other charges exist: a month's purchases and tax on its first day would
    // flatten every other bar; the first line says what was left out.
    let block = panel(String::new());
    let inner = block.inner(area);
    // The days that fit, the latest ones; what is not usage among them is summed apart.
    let from = ov.daily.len().saturating_sub(inner.width as usize);
    let sum = |days: &[(chrono::NaiveDate, Money)]| days.iter().map(|d| d.1).sum::<Money>();
    let usage_only = ov.daily_usage.len() == ov.daily.len();
    let other = if usage_only {
        sum(&ov.daily[from..]) - sum(&ov.daily_usage[from..])
    } else {
        Money::ZERO
    };
    let usage_only = usage_only && !other.is_zero();
    let series = if usage_only { &ov.daily_usage } else { &ov.daily };
    let what = if usage_only { "Daily usage" } else { "Daily spend" };
    let block = panel(format!(" {what} ({}) ", safe(&ov.currency.to_string())));
    block.render(area, buf);
    if inner.height < 3 || inner.width < 4 || series.is_empty() {
        return;
    }
    let shown = &series[from..];
    let [top, chart, axis] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)])
            .areas(inner);
    if let Some((day, max)) = shown.iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0))) {
        let mut spans = vec![
            Span::styled("max ", theme.dim()),
            Span::raw(max.display_2dp()),
            Span::styled(format!(" on {}", day.format("%m-%d")), theme.dim()),
        ];
        if usage_only {
            // As much of the note as fits: the narrow layout has about 38 columns.
            let used: usize = spans.iter().map(|s| s.content.width()).sum();
            let long = format!(" · other charges {}", other.display_2dp());
            let short = format!(" · other {}", other.display_2dp());
            let fits = |t: &String| used + t.width() <= top.width as usize;
            if let Some(note) = [long, short].into_iter().find(fits) {
                spans.push(Span::styled(note, theme.dim()));
            }
        }
        Line::from(spans).render(top, buf);
    }
    // Heights in cents: a display scale only (credits below zero draw as empty days).
    let cents = |m: Money| (m.to_f64() * 100.0).round().max(0.0) as u64;
    let n = shown.len() as u16;
    let (bar_width, gap) = if n * 2 <= chart.width + 1 {
        (((chart.width + 1) / n).saturating_sub(1).max(1), 1)
    } else {
        ((chart.width / n).max(1), 0)
    };
    let bars: Vec<Bar> = shown
        .iter()
        .map(|(_, m)| Bar::default().value(cents(*m)).text_value(String::new()))
        .collect();
    BarChart::default()
        .data(BarGroup::default().bars(&bars))
        .bar_width(bar_width)
        .bar_gap(gap)
        .bar_style(theme.bar())
        .render(chart, buf);
    if let (Some((first, _)), Some((last, _))) = (shown.first(), shown.last()) {
        let (first, last) = (first.to_string(), last.to_string());
        let used = (n * bar_width + n.saturating_sub(1) * gap).min(axis.width) as usize;
        let pad = used.saturating_sub(first.width() + last.width());
        let text = if pad >= 1 { format!("{first}{}{last}", " ".repeat(pad)) } else { first };
        Line::styled(text, theme.dim()).render(axis, buf);
    }
}

impl OverviewView {
    /// The overview of the currency shown (the first one unless `c` chose another).
    pub fn shown<'a>(&self, report: &'a Report) -> Option<&'a CurrencyOverview> {
        self.currency
            .as_ref()
            .and_then(|c| report.overview.iter().find(|o| &o.currency == c))
            .or_else(|| report.overview.first())
    }
}

impl ViewState for OverviewView {
    fn load(&mut self, data: &Dataset) {
        // Keep the chosen currency across a reload if the data still has it.
        self.currency = self.shown(&data.report).map(|o| o.currency.clone());
    }

    fn key(&mut self, key: KeyEvent, data: &Dataset) -> ViewOutcome {
        match key.code {
            KeyCode::Char('c') => {
                let all = &data.report.overview;
                if all.len() < 2 {
                    return ViewOutcome::Status("the billing has one currency".into());
                }
                let at = self
                    .shown(&data.report)
                    .and_then(|o| all.iter().position(|x| x.currency == o.currency))
                    .unwrap_or(0);
                self.currency = all.get((at + 1) % all.len()).map(|o| o.currency.clone());
                ViewOutcome::Handled
            }
            _ => ViewOutcome::Ignored,
        }
    }

    fn table(&mut self) -> Option<&mut DataTable> {
        None
    }

    fn render(&self, data: &Dataset, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let report = &data.report;
        let ov = self.shown(report);
        let currency = ov.map(|o| &o.currency);
        // The bottom row is as tall as its longest panel (line counts do not depend on width).
        let tag_count = tag_lines(report, currency, 0, theme).len();
        let clusters = cluster_lines(report, theme);
        let sources = source_lines(report, theme);
        let mut tall = tag_count.max(clusters.len());
        if area.width >= WIDE {
            tall = tall.max(sources.len());
        }
        let bottom = (tall as u16 + 2).clamp(4, 9);
        let p = panels(area, bottom);

        let mut title = String::from(" Overview ");
        if let Some(ov) = ov {
            title = format!(" Overview {} – {} ", ov.period_start, ov.period_end);
            if report.overview.len() > 1 {
                let at =
                    report.overview.iter().position(|o| o.currency == ov.currency).unwrap_or(0);
                title.push_str(&format!(
                    "· {} ({} of {}, c: next) ",
                    safe(&ov.currency.to_string()),
                    at + 1,
                    report.overview.len()
                ));
            }
        }
        let width = panel(String::new()).inner(p.summary).width as usize;
        Paragraph::new(summary_lines(report, ov, width, theme))
            .block(panel(title))
            .render(p.summary, buf);

        match ov {
            Some(ov) => {
                render_daily(ov, p.daily, buf, theme);
                let block =
                    panel(format!(" Top services · {} ", month_label(ov.current_month.month)));
                let width = block.inner(p.services).width as usize;
                Paragraph::new(services_lines(ov, width, theme))
                    .block(block)
                    .render(p.services, buf);
            }
            None => {
                for (rect, name) in [(p.daily, " Daily spend "), (p.services, " Top services ")] {
                    Paragraph::new(Line::styled("needs billing with days", theme.dim()))
                        .block(panel(name.to_string()))
                        .render(rect, buf);
                }
            }
        }

        let width = panel(String::new()).inner(p.tags).width as usize;
        Paragraph::new(tag_lines(report, currency, width, theme))
            .block(panel(" Tag coverage (of cost) ".to_string()))
            .render(p.tags, buf);
        Paragraph::new(clusters)
            .block(panel(" Cluster efficiency ".to_string()))
            .render(p.clusters, buf);
        if let Some(rect) = p.sources {
            let failing = report.sources.iter().any(|s| s.state != SourceState::Ok);
            let title = if failing { " Sources ! " } else { " Sources " };
            Paragraph::new(sources)
                .wrap(Wrap { trim: false })
                .block(panel(title.to_string()).border_style(if failing {
                    theme.warning()
                } else {
                    Style::new()
                }))
                .render(rect, buf);
        }
    }

    fn help(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("c", "next currency (when the billing has several)"),
            ("e", "export the whole report as JSON"),
        ]
    }

    fn export(&self, data: &Dataset) -> Option<(String, ExportJob)> {
        let date = data.report.collected_at.format("%Y-%m-%d");
        Some((
            format!("costscope-report-{date}.json"),
            ExportJob::Report(Box::new(data.report.clone())),
        ))
    }
}

#[cfg(test)]
mod tests {

    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::*;
    use crate::analysis::overview::MonthSpend;
    use crate::model::SourceStatus;

    use crate::tui::test_support::{draw, sample_dataset};

    /// The bundled sample at the dashboard's grain, with `edit` applied to the report.
    fn dataset(with_billing: bool, edit: impl FnOnce(&mut Report)) -> Dataset {
        let mut data = sample_dataset(|snapshot| {
            if !with_billing {
                snapshot.billing = None;
            }
        });
        data.report.sources = vec![SourceStatus {
            name: "bundled sample".into(),
            state: SourceState::Ok,
            warnings: Vec::new(),
            notes: Vec::new(),
        }];
        edit(&mut data.report);
        data
    }

    fn loaded(data: &Dataset) -> OverviewView {
        let mut view = OverviewView::default();
        view.load(data);
        view
    }

    fn assert_shows(screen: &str, needles: &[&str], size: (u16, u16)) {
        for needle in needles {
            assert!(screen.contains(needle), "{needle:?} at {}x{}:\n{screen}", size.0, size.1);
        }
    }

    #[test]
    fn every_panel_shows_the_reports_figures_at_both_sizes() {
        let data = dataset(true, |_| {});
        let report = &data.report;
        let view = loaded(&data);
        let ov = view.shown(report).unwrap();
        assert_eq!(ov.currency, Currency::usd());
        let spend = money(ov.current_month.billed_cost, &ov.currency);
        let forecast = money(ov.forecast_month_end.unwrap(), &ov.currency);
        let previous = format!(
            "vs Sep 2026: {}",
            money(ov.previous_month.as_ref().unwrap().billed_cost, &ov.currency)
        );
        let savings = format!(
            "{}/month",
            money(report.totals[0].estimated_monthly_savings, &Currency::usd())
        );
        let findings = format!("{} findings", report.findings.len());
        let not_judged = format!("{} not judged", report.insufficient_data_resources);
        let top = &ov.top_services[0];
        let top_share = percent(fraction(top.share));
        let cluster = &report.clusters[0];
        let cpu = format!("CPU {}", percent(cluster.cpu_efficiency));
        let coverage = report.tag_coverage.as_ref().unwrap();
        // The chart shows usage: the month's purchases, tax and credits are summed apart.
        let (max_day, max) = ov.daily_usage.iter().max_by_key(|d| d.1).unwrap();
        let usage_max = format!("max {} on {}", max.display_2dp(), max_day.format("%m-%d"));
        let other: Money = ov.daily.iter().map(|d| d.1).sum::<Money>()
            - ov.daily_usage.iter().map(|d| d.1).sum::<Money>();
        let other_charges = format!("other charges {}", other.display_2dp());
        for size in [(120, 32), (80, 24)] {
            let screen = draw(&view, &data, size.0, size.1);
            assert_shows(
                &screen,
                &[
                    "Spend Oct 2026",
                    &spend,
                    "(31 of 31 days)",
                    &previous,
                    "Forecast month end",
                    &forecast,
                    &savings,
                    &findings,
                    &not_judged,
                    "Daily usage (USD)",
                    &usage_max,
                    "Review: ",
                    "2026-10-31",
                    "Top services",
                    "Amazon Elastic",
                    &top_share,
                    "Tag coverage",
                    &cluster.name,
                    &cpu,
                    "✓ bundled sample",
                ],
                size,
            );
            for key in &coverage.keys {
                assert_shows(&screen, &[&key.key, &percent(fraction(key.cost_share))], size);
            }
        }
        // Wide, the chart holds every day and sums the other charges of all of them.
        assert_shows(&draw(&view, &data, 120, 32), &["2026-09-01", &other_charges], (120, 32));
        // The wide layout has a panel of its own for the sources.
        assert_shows(&draw(&view, &data, 120, 32), &["Sources", "bundled sample  ok"], (120, 32));
    }

    #[test]
    fn a_failing_source_is_a_visible_warning() {
        let data = dataset(true, |r| {
            r.sources.push(SourceStatus {
                name: "aws".into(),
                state: SourceState::Failed,
                warnings: vec!["AccessDenied: not authorized\u{1b}[31m".into()],
                notes: Vec::new(),
            });
        });
        let view = loaded(&data);
        for size in [(120, 32), (80, 24)] {
            let screen = draw(&view, &data, size.0, size.1);
            assert_shows(&screen, &["✗ aws failed: AccessDenied"], size);
            assert!(!screen.contains('\u{1b}'), "escape reached the screen");
        }
        assert_shows(&draw(&view, &data, 120, 32), &["Sources !", "  failed"], (120, 32));
    }

    #[test]
    fn the_change_has_an_arrow_and_a_sign() {
        let with_previous = |billed: i64| {
            dataset(true, move |r| {
                let ov = &mut r.overview[0];
                let previous = Money::from_units(billed);
                ov.previous_month = Some(MonthSpend {
                    month: chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
                    days_covered: 30,
                    days_in_month: 30,
                    billed_cost: previous,
                });
                ov.change = Some(ov.current_month.billed_cost - previous);
                ov.change_percent = Some(ov.change.unwrap().to_f64() / previous.to_f64() * 100.0);
            })
        };
        // October bills 40,292.35.
        let up = with_previous(30_000);
        let screen = draw(&loaded(&up), &up, 80, 24);
        assert_shows(&screen, &["vs Sep 2026: 30,000.00 USD", "▲ +10,292.35 (+34.3%)"], (80, 24));
        let down = with_previous(45_000);
        let screen = draw(&loaded(&down), &down, 80, 24);
        assert_shows(&screen, &["▼ -4,707.65 (-10.5%)"], (80, 24));
    }

    #[test]
    fn without_clusters_or_billing_the_panels_say_so() {
        let data = dataset(false, |r| r.clusters.clear());
        let view = loaded(&data);
        assert!(view.shown(&data.report).is_none());
        for size in [(120, 32), (80, 24)] {
            let screen = draw(&view, &data, size.0, size.1);
            assert_shows(
                &screen,
                &["no billing in these sources", "needs billing with days", "no cluster source"],
                size,
            );
        }
    }

    #[test]
    fn c_cycles_the_currency_when_there_are_several() {
        let single = dataset(true, |_| {});
        let mut view = loaded(&single);
        let press = |view: &mut OverviewView, data: &Dataset| {
            view.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::NONE), data)
        };
        assert!(matches!(press(&mut view, &single), ViewOutcome::Status(_)));

        let data = dataset(true, |r| {
            let mut eur = r.overview[0].clone();
            eur.currency = Currency::new("EUR");
            r.overview.insert(0, eur);
        });
        let mut view = loaded(&data);
        assert_eq!(view.shown(&data.report).unwrap().currency, Currency::new("EUR"));
        assert_shows(&draw(&view, &data, 80, 24), &["EUR (1 of 2, c: next)"], (80, 24));
        assert!(matches!(press(&mut view, &data), ViewOutcome::Handled));
        assert_eq!(view.shown(&data.report).unwrap().currency, Currency::usd());
        view.load(&data);
        assert_eq!(view.shown(&data.report).unwrap().currency, Currency::usd());
        press(&mut view, &data);
        assert_eq!(view.shown(&data.report).unwrap().currency, Currency::new("EUR"));
    }

    #[test]
    fn export_is_the_whole_report_as_json() {
        let data = dataset(true, |_| {});
        let mut view = loaded(&data);
        assert!(view.table().is_none());
        let (name, job) = view.export(&data).unwrap();
        assert_eq!(name, "costscope-report-2026-11-01.json");
        assert!(matches!(job, ExportJob::Report(r) if *r == data.report));
    }

    #[test]
    fn panels_rearrange_for_narrow_terminals() {
        let wide = panels(Rect::new(0, 0, 120, 30), 6);
        assert!(wide.sources.is_some());
        assert!(wide.services.x > wide.daily.x);
        let medium = panels(Rect::new(0, 0, 80, 22), 6);
        assert!(medium.sources.is_none());
        assert_eq!(medium.daily.width, medium.services.width);
        let narrow = panels(Rect::new(0, 0, 50, 40), 6);
        assert_eq!(narrow.daily.x, narrow.services.x);
        assert!(narrow.services.y > narrow.daily.y);
    }

    #[test]
    fn bars_fill_in_eighths() {
        assert_eq!(bar(0.5, 4, true), "██░░");
        assert_eq!(bar(1.0, 3, false), "███");
        assert_eq!(bar(2.0, 3, false), "███");
        assert_eq!(bar(-1.0, 2, true), "░░");
        assert_eq!(bar(0.0625, 2, false), "▏ ");
    }
}
