//! Drawing: the frame (tabs, status bar, overlays) and one module per view.

pub mod chargeback;
pub mod cluster;
pub mod commitments;
pub mod costs;
pub mod overview;
pub mod recommendations;
pub mod review;
pub mod tags;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

use super::app::{App, Dataset, Loadable, Progress, Prompt, StatusKind, ViewId};
use super::theme::Theme;
use super::widget::safe;
use super::widget::table::DataTable;
use crate::analysis::costs::CostBreakdown;
use crate::analysis::rules::Finding;
use crate::analysis::tag_coverage::TagCoverage;

/// What `e` writes from a view, captured when the user asks, written by the shared exporters.
#[derive(Debug)]
pub enum ExportJob {
    Findings(Vec<Finding>),
    Costs(CostBreakdown),
    Tags(TagCoverage),
    Commitments(Box<crate::analysis::commitments::CommitmentsReport>),
    Anomalies(Box<crate::analysis::anomalies::AnomalyReport>),
    /// A report (JSON) for views without a tabular export of their own.
    Report(Box<crate::report::Report>),
}

/// What a view did with a key.
#[derive(Debug)]
pub enum ViewOutcome {
    Handled,
    Ignored,
    Prompt(Prompt),
    Status(String),
}

/// One view's state and behaviour. Views render from shared references and keep their own
/// table state.
pub trait ViewState {
    /// Rebuilds rows after new data arrived (keeping filters and sort where possible).
    fn load(&mut self, data: &Dataset);
    /// Keys specific to the view (navigation and filtering are handled by the app).
    fn key(&mut self, key: KeyEvent, data: &Dataset) -> ViewOutcome;
    /// The table that navigation, `/` filtering and mouse clicks act on.
    fn table(&mut self) -> Option<&mut DataTable>;
    fn render(&self, data: &Dataset, area: Rect, buf: &mut Buffer, theme: &Theme);
    /// (keys, what they do) for the help overlay, beyond the global keys.
    fn help(&self) -> Vec<(&'static str, &'static str)>;
    /// The default file name and the content of an export of this view.
    fn export(&self, data: &Dataset) -> Option<(String, ExportJob)>;
}

const SPINNER: [&str; 4] = ["|", "/", "-", "\\"];

/// Draws the whole screen.
pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let buf = frame.buffer_mut();
    render_app(app, area, buf);
}

pub fn render_app(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let [tabs, body, status] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)])
            .areas(area);
    render_tabs(app, tabs, buf);
    match &app.data {
        Loadable::Ready(data) => match app.view {
            ViewId::Overview => app.overview.render(data, body, buf, theme),
            ViewId::Costs => app.costs.render(data, body, buf, theme),
            ViewId::Tags => app.tags.render(data, body, buf, theme),
            ViewId::Cluster => app.cluster.render(data, body, buf, theme),
            ViewId::Recommendations => app.recommendations.render(data, body, buf, theme),
            ViewId::Commitments => app.commitments.render(data, body, buf, theme),
            ViewId::Review => app.review.render(data, body, buf, theme),
            ViewId::Chargeback => app.chargeback.render(data, body, buf, theme),
        },
        Loadable::Loading { .. } => render_loading(app, body, buf),
        Loadable::Failed(e) => {
            let text = vec![
                Line::styled("Could not load the data", theme.error()),
                Line::from(""),
                Line::from(safe(e)),
                Line::from(""),
                Line::styled("r: try again   q: quit", theme.dim()),
            ];
            Paragraph::new(text)
                .wrap(Wrap { trim: false })
                .block(Block::default().borders(Borders::ALL).title(" costscope "))
                .render(body, buf);
        }
    }
    render_status(app, status, buf);
    if app.help {
        render_help(app, body, buf);
    }
    if let Some(prompt) = &app.prompt {
        render_prompt(prompt, status, buf, theme);
    }
}

fn render_tabs(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    // "costscope " and each " N Title " plus its gap: short titles without the padding
    // ("N Title", the active one "[N Title]") when that overflows, and without the name when even
    // those do (80 columns), so every tab stays visible.
    let tabs = |short: bool| -> usize {
        let each: usize = ViewId::ALL
            .iter()
            .map(|id| {
                if short {
                    id.short_title().chars().count() + 3
                } else {
                    id.title().chars().count() + 5
                }
            })
            .sum();
        if short { each + 2 } else { each }
    };
    let short = 10 + tabs(false) > usize::from(area.width);
    let brand = if 10 + tabs(true) > usize::from(area.width) { "" } else { "costscope " };
    let mut spans = vec![Span::styled(brand, theme.title())];
    let mut x = area.x + brand.len() as u16;
    let mut hits = Vec::new();
    for (i, id) in ViewId::ALL.iter().enumerate() {
        let title = if short { id.short_title() } else { id.title() };
        let label =
            if short { format!("{} {}", i + 1, title) } else { format!(" {} {} ", i + 1, title) };
        let width = label.chars().count() as u16;
        let style = if *id == app.view { theme.active_tab() } else { theme.dim() };
        // The active tab is also marked with brackets, not only by colour.
        let label = if *id == app.view { format!("[{}]", label.trim()) } else { label };
        let width = width.max(label.chars().count() as u16);
        hits.push((x, x + width, *id));
        x += width + 1;
        spans.push(Span::styled(label, style));
        spans.push(Span::raw(" "));
    }
    *app.tab_spans.borrow_mut() = hits;
    Line::from(spans).render(area, buf);
}

fn render_loading(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let spin = SPINNER[(app.tick as usize) % SPINNER.len()];
    let mut lines =
        vec![Line::styled(format!("{spin} Loading sources…"), theme.title()), Line::from("")];
    for p in &app.progress {
        let (mark, detail, style) = match &p.state {
            Progress::Waiting => ("·", "waiting".to_string(), theme.dim()),
            Progress::Loading => (spin, "loading…".to_string(), theme.warning()),
            Progress::Done(d) => ("✓", d.clone(), theme.ok()),
            Progress::Failed(e) => ("✗", format!("failed: {e}"), theme.error()),
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" {mark} "), style),
            Span::raw(safe(&p.name)),
            Span::styled(format!("  {}", safe(&detail)), theme.dim()),
        ]));
    }
    let read = app.read.snapshot();
    if read.rows > 0 || read.bytes > 0 {
        let width = area.width.saturating_sub(8).clamp(10, 40) as usize;
        lines.push(Line::from(""));
        lines.push(read_progress_line(&read, width, theme));
        lines.push(Line::styled("   q quits and stops the read", theme.dim()));
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(Block::default().borders(Borders::ALL).title(" costscope "))
        .render(area, buf);
}

/// `▕████░░░░▏ 43 %  431,552 rows · 215,376 rows/s · 2.0 s`; without a known size, no bar.
pub fn read_progress_line(
    read: &crate::source::progress::ProgressSnapshot,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let mut spans = vec![Span::raw("   ")];
    if let Some(fraction) = read.fraction() {
        let filled = ((fraction * width as f64).round() as usize).min(width);
        spans.push(Span::styled("▕", theme.dim()));
        spans.push(Span::styled("█".repeat(filled), theme.accent()));
        spans.push(Span::styled("░".repeat(width - filled), theme.dim()));
        spans.push(Span::styled("▏", theme.dim()));
        spans.push(Span::raw(format!(" {:>3.0} %  ", fraction * 100.0)));
    }
    spans.push(Span::raw(format!(
        "{} rows · {} rows/s · {:.1} s",
        grouped(read.rows),
        grouped(read.rows_per_sec().round() as u64),
        read.elapsed_secs
    )));
    Line::from(spans)
}

/// 1234567 → `1,234,567`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn render_status(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let mut spans = Vec::new();
    if app.is_loading() && matches!(app.data, Loadable::Ready(_)) {
        spans.push(Span::styled(
            format!("{} refreshing ", SPINNER[(app.tick as usize) % SPINNER.len()]),
            theme.warning(),
        ));
    }
    if app.filtering {
        spans.push(Span::styled("filter (Enter keeps, Esc clears): ", theme.warning()));
    }
    if let Some((kind, text)) = &app.status {
        let (style, mark) = match kind {
            StatusKind::Info => (theme.dim(), ""),
            StatusKind::Warning => (theme.warning(), "! "),
            StatusKind::Error => (theme.error(), "✗ "),
        };
        spans.push(Span::styled(format!("{mark}{}", safe(text)), style));
    }
    if let Some(hint) = &app.hint {
        spans.push(Span::styled(format!("  ·  {}", safe(hint)), theme.accent()));
    }
    spans.push(Span::styled("  ·  ? help  q quit", theme.dim()));
    Line::from(spans).render(area, buf);
}

/// Global keys, then the current view's.
pub fn help_entries(app: &App) -> Vec<(&'static str, &'static str)> {
    let mut keys = vec![
        ("1-8, Tab, Shift-Tab", "switch view (or click a tab)"),
        ("↑↓ j k, PgUp PgDn, Home End g G", "move (or mouse wheel / click)"),
        ("/", "filter the table (words, or column:value)"),
        ("s / S", "sort by the next column / reverse (or click a header)"),
        ("e", "export this view (same formats as headless; asks for a file name)"),
        ("r", "reload the sources"),
        ("?", "this help"),
        ("q, Ctrl-C", "quit"),
    ];
    keys.extend(app.current().help());
    keys
}

fn render_help(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let entries = help_entries(app);
    let key_width = entries.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    let text_width = entries.iter().map(|(_, d)| d.chars().count()).max().unwrap_or(0);
    let width = ((key_width + text_width + 4) as u16).min(area.width);
    let height = (entries.len() as u16 + 2).min(area.height);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    Clear.render(popup, buf);
    let lines: Vec<Line> = entries
        .iter()
        .map(|(k, d)| {
            Line::from(vec![
                Span::styled(format!("{k:>key_width$}  "), theme.header()),
                Span::raw(*d),
            ])
        })
        .collect();
    Paragraph::new(lines)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" Keys: {} (any key closes) ", app.view.title())),
        )
        .render(popup, buf);
}

fn render_prompt(prompt: &Prompt, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let (label, input) = match prompt {
        Prompt::Export { input, .. } => ("Export to file: ", input),
        Prompt::Ignore { resource_id, input, .. } => {
            Clear.render(area, buf);
            Line::from(vec![
                Span::styled(format!("Ignore {} because: ", safe(resource_id)), theme.warning()),
                Span::raw(safe(input)),
                Span::styled("█", theme.warning()),
                Span::styled("  (Enter saves, Esc cancels)", theme.dim()),
            ])
            .render(area, buf);
            return;
        }
    };
    Clear.render(area, buf);
    Line::from(vec![
        Span::styled(label, theme.warning()),
        Span::raw(safe(input)),
        Span::styled("█", theme.warning()),
        Span::styled("  (Enter writes, Esc cancels)", theme.dim()),
    ])
    .render(area, buf);
}
