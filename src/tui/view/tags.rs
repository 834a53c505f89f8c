//! Tags: coverage of each required tag key as gauges, the untagged resources ranked by cost (the
//! table that navigation and `/` act on), and keys or values spelled several ways.

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, LineGauge, Paragraph, Widget, Wrap};

use unicode_width::UnicodeWidthStr;

use super::{ExportJob, ViewOutcome, ViewState};
use crate::analysis::tag_coverage::{
    IssueKind, KeyCoverage, NormalizationIssue, TagCoverage, UntaggedResource,
};
use crate::model::Money;
use crate::tui::app::Dataset;
use crate::tui::theme::Theme;
use crate::tui::widget::table::{Column, DataTable, SortKey, TableRow};
use crate::tui::widget::{money, percent, safe, short_id, truncate};

/// A key counts as well covered from this cost share (0.9) …
const GOOD_SHARE: Money = Money::from_raw(900_000_000_000_000_000);
/// … and as poorly covered below this one (0.5).
const POOR_SHARE: Money = Money::from_raw(500_000_000_000_000_000);

/// How well one key is covered; drawn as a symbol and a colour, so the colour is never the only
/// signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    Good,
    Fair,
    Poor,
    /// No cost to measure against (no positive charges).
    Unknown,
}

impl Level {
    fn of(share: Option<Money>) -> Level {
        match share {
            None => Level::Unknown,
            Some(s) if s >= GOOD_SHARE => Level::Good,
            Some(s) if s < POOR_SHARE => Level::Poor,
            Some(_) => Level::Fair,
        }
    }

    fn marker(self) -> &'static str {
        match self {
            Level::Good => "✓",
            Level::Fair => "~",
            Level::Poor => "!",
            Level::Unknown => "?",
        }
    }

    fn style(self, theme: &Theme) -> Style {
        match self {
            Level::Good => theme.ok(),
            Level::Fair => theme.warning(),
            Level::Poor => theme.error(),
            Level::Unknown => theme.dim(),
        }
    }
}

/// The tags view's state: the untagged-resources table and the issue lines, built on load.
#[derive(Debug)]
pub struct TagsView {
    pub table: DataTable,
    /// One line per normalization issue, already safe for the terminal.
    issues: Vec<String>,
    /// Whether the report has tag coverage; without it there is no table to navigate.
    available: bool,
}

impl Default for TagsView {
    fn default() -> Self {
        TagsView {
            table: DataTable::new(vec![
                // The resource takes what is left; on narrow screens the `Max` columns give way
                // first, so amounts and 12-digit account ids are never cut.
                Column::text("Resource", "resource", Constraint::Min(18)),
                Column::text("Service", "service", Constraint::Max(16)),
                Column::text("Account", "account", Constraint::Length(12)),
                Column::text("Region", "region", Constraint::Max(10)),
                Column::text("Missing", "missing", Constraint::Max(16)),
                Column::number("Cost", "cost", Constraint::Length(13)),
            ]),
            issues: Vec::new(),
            available: false,
        }
    }
}

/// A spelling as shown in an issue line. Spellings that differ only by surrounding spaces
/// (`team` and `team `) would look identical, so those are quoted.
fn spelling(text: &str) -> String {
    let clean = safe(text);
    if clean.is_empty() || clean.trim() != clean { format!("\"{clean}\"") } else { clean }
}

/// `key `env` spelled 3 ways: env (283), Env (8), environment (4)` (counts are resources).
fn issue_line(issue: &NormalizationIssue) -> String {
    let what = match issue.kind {
        IssueKind::Key => format!("key `{}`", safe(&issue.canonical)),
        IssueKind::Value => {
            format!("value `{}` of `{}`", safe(&issue.canonical), safe(&issue.key))
        }
    };
    let variants: Vec<String> =
        issue.variants.iter().map(|v| format!("{} ({})", spelling(&v.text), v.resources)).collect();
    format!("{what} spelled {} ways: {}", issue.variants.len(), variants.join(", "))
}

impl ViewState for TagsView {
    fn load(&mut self, data: &Dataset) {
        let Some(coverage) = &data.report.tag_coverage else {
            self.available = false;
            self.issues.clear();
            self.table.set_rows(Vec::new());
            return;
        };
        self.available = true;
        self.issues = coverage.issues.iter().map(issue_line).collect();
        let rows = coverage
            .untagged
            .iter()
            .map(|r| {
                // No spaces: the column is narrow and `team,env` still reads.
                let missing = r.missing.join(",");
                let cells = vec![
                    safe(short_id(&r.resource_id)),
                    safe(&r.service),
                    safe(&r.account_id),
                    safe(&r.region),
                    safe(&missing),
                    money(r.cost, &r.currency),
                ];
                let keys = vec![
                    SortKey::Text(r.resource_id.clone()),
                    SortKey::Text(r.service.clone()),
                    SortKey::Text(r.account_id.clone()),
                    SortKey::Text(r.region.clone()),
                    SortKey::Text(missing),
                    SortKey::Money(r.cost),
                ];
                TableRow::new(cells, keys)
            })
            .collect();
        self.table.set_rows(rows);
    }

    fn key(&mut self, _key: KeyEvent, _data: &Dataset) -> ViewOutcome {
        ViewOutcome::Ignored
    }

    fn table(&mut self) -> Option<&mut DataTable> {
        self.available.then_some(&mut self.table)
    }

    fn render(&self, data: &Dataset, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let Some(coverage) = &data.report.tag_coverage else {
            render_unavailable(data, area, buf, theme);
            return;
        };
        let gauge_lines = coverage.keys.len().max(1) as u16;
        // Issues get a few lines, more on tall screens; the table keeps the rest.
        let issue_lines = (self.issues.len().max(1) as u16).min((area.height / 5).max(1));
        let [gauges, table, selected, issues] = Layout::vertical([
            Constraint::Length(gauge_lines + 2),
            Constraint::Min(5),
            Constraint::Length(1),
            Constraint::Length(issue_lines + 2),
        ])
        .areas(area);
        render_gauges(coverage, gauges, buf, theme);
        self.table.render(table, buf, theme, "Untagged resources (by cost)", true);
        let row = self.table.selected_index().and_then(|i| coverage.untagged.get(i));
        render_selected(row, selected, buf, theme);
        self.render_issues(issues, buf, theme);
    }

    fn help(&self) -> Vec<(&'static str, &'static str)> {
        // Descriptions fit the help box at 80 columns (48 characters).
        vec![
            ("gauges", "cost share per required key ✓≥90% ~50–90% !<50%"),
            ("table", "billed resources missing a required key, by cost"),
            ("▸ line", "the selected resource in full"),
            ("/missing:team", "filter: resource service account region missing"),
            ("bottom", "keys and values spelled several ways (resources)"),
            ("e", "export coverage per key (CSV)"),
        ]
    }

    fn export(&self, data: &Dataset) -> Option<(String, ExportJob)> {
        let coverage = data.report.tag_coverage.as_ref()?;
        let date = data.report.collected_at.format("%Y-%m-%d");
        Some((format!("costscope-tags-{date}.csv"), ExportJob::Tags(coverage.clone())))
    }
}

impl TagsView {
    fn render_issues(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let block = Block::default().borders(Borders::ALL).title(Line::from(vec![
            Span::styled(" Spelling issues ", theme.title()),
            Span::styled(format!(" {} ", self.issues.len()), theme.dim()),
        ]));
        let inner = block.inner(area);
        block.render(area, buf);
        if self.issues.is_empty() {
            Line::styled("✓ every key and value is written one way", theme.ok()).render(inner, buf);
            return;
        }
        let rows = inner.height as usize;
        let width = inner.width.saturating_sub(2) as usize;
        // When they do not all fit, the last line says how many are hidden and where to see them.
        let shown = if self.issues.len() > rows { rows.saturating_sub(1) } else { rows };
        let mut lines: Vec<Line> = self
            .issues
            .iter()
            .take(shown)
            .map(|text| {
                Line::from(vec![
                    Span::styled("! ", theme.warning()),
                    Span::raw(truncate(text, width)),
                ])
            })
            .collect();
        if self.issues.len() > shown {
            let hidden = self.issues.len() - shown;
            lines.push(Line::styled(
                truncate(
                    &format!("… and {hidden} more: `costscope tags --format json` lists all"),
                    width + 2,
                ),
                theme.dim(),
            ));
        }
        Paragraph::new(lines).render(inner, buf);
    }
}

/// The selected resource in full: the id the table shortens, its type and full service name.
fn render_selected(row: Option<&UntaggedResource>, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let Some(r) = row else {
        Line::styled(" no resource selected", theme.dim()).render(area, buf);
        return;
    };
    // One line, cut at the screen edge rather than wrapped.
    Line::from(vec![
        Span::styled(" ▸ ", theme.header()),
        Span::raw(safe(&r.resource_id)),
        Span::styled(
            format!(
                "  {} · {} · missing {}",
                safe(&r.resource_type),
                safe(&r.service),
                safe(&r.missing.join(", "))
            ),
            theme.dim(),
        ),
    ])
    .render(area, buf);
}

/// How much a gauge label says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Detail {
    /// Marker, key, cost share, resources tagged of total.
    Short,
    /// Also the tagged and total cost, on wide screens.
    Long,
}

/// The label of one key's gauge; `show_currency` names the currency when there are several.
fn gauge_label(k: &KeyCoverage, key_width: usize, show_currency: bool, detail: Detail) -> String {
    let level = Level::of(k.cost_share);
    let share = percent(k.cost_share.map(Money::to_f64));
    let currency = if show_currency { format!(" {}", k.currency) } else { String::new() };
    let cost = match detail {
        Detail::Short => String::new(),
        Detail::Long => {
            format!(" ({} of {})", k.tagged_cost.display_2dp(), money(k.total_cost, &k.currency))
        }
    };
    // Padded by terminal columns, so wide characters in a key keep the bars aligned.
    let key = safe(&k.key);
    let pad = " ".repeat(key_width.saturating_sub(key.width()));
    format!(
        "{} {key}{pad} {share:>6} of cost{currency}{cost}  {}/{} resources",
        level.marker(),
        k.resources_tagged,
        k.resources_total,
    )
}

fn render_gauges(coverage: &TagCoverage, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(" Required tags: share of cost tagged ", theme.title()));
    let inner = block.inner(area);
    block.render(area, buf);
    if coverage.keys.is_empty() {
        Line::styled(
            "No required tag keys configured ([tags] required in costscope.toml)",
            theme.dim(),
        )
        .render(inner, buf);
        return;
    }
    let key_width = coverage.keys.iter().map(|k| safe(&k.key).width()).max().unwrap_or(0);
    // The currency is named only when coverage is split across several.
    let first = coverage.keys.first().map(|k| &k.currency);
    let show_currency = coverage.keys.iter().any(|k| Some(&k.currency) != first);
    // The bar keeps at least a third of the line: amounts are shown only when that leaves room,
    // and the label is cut before the bar is.
    let room = inner.width.saturating_sub(inner.width / 3 + 1);
    let labels_for = |detail| -> (Vec<String>, u16) {
        let labels: Vec<String> = coverage
            .keys
            .iter()
            .map(|k| gauge_label(k, key_width, show_currency, detail))
            .collect();
        let width = labels.iter().map(|l| l.width()).max().unwrap_or(0) as u16;
        (labels, width)
    };
    let (labels, label_width) = match labels_for(Detail::Long) {
        (labels, width) if width <= room => (labels, width),
        _ => labels_for(Detail::Short),
    };
    let label_width = label_width.min(room);
    for (i, (k, label)) in coverage.keys.iter().zip(&labels).enumerate() {
        let y = inner.y + i as u16;
        if y >= inner.bottom() {
            break;
        }
        let level = Level::of(k.cost_share);
        let line = Rect { y, height: 1, ..inner };
        let [text, bar] =
            Layout::horizontal([Constraint::Length(label_width), Constraint::Min(1)]).areas(line);
        Line::styled(truncate(label, label_width as usize), level.style(theme)).render(text, buf);
        // A share outside 0..=1 (or none) cannot be drawn; LineGauge would panic on it.
        let ratio = k.cost_share.map(Money::to_f64).filter(|r| r.is_finite()).unwrap_or(0.0);
        LineGauge::default()
            .ratio(ratio.clamp(0.0, 1.0))
            .label(Line::default())
            .filled_symbol("━")
            .unfilled_symbol("─")
            .filled_style(level.style(theme))
            .unfilled_style(theme.dim())
            .render(bar, buf);
    }
}

fn render_unavailable(data: &Dataset, area: Rect, buf: &mut Buffer, theme: &Theme) {
    // Say why: no billing at all, or billing too coarse to carry resources and tags.
    let reason = match &data.snapshot.billing {
        None => "No billing data is loaded, so there is no tag coverage to show.",
        Some(_) => {
            "The loaded billing is aggregated without resources or tags, so tag coverage cannot be measured."
        }
    };
    let lines = vec![
        Line::styled(reason, theme.warning()),
        Line::from(""),
        Line::from("Tag coverage needs billing at full detail: load a FOCUS export with"),
        Line::from("--focus FILE, the bundled sample with --sample, or a snapshot written by"),
        Line::from("`costscope collect` that includes billing (--snapshot FILE)."),
    ];
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(Block::default().borders(Borders::ALL).title(" Tags "))
        .render(area, buf);
}

#[cfg(test)]
mod tests {

    use crossterm::event::KeyCode;

    use super::*;
    use crate::model::BillingSummary;

    use crate::tui::app::{Prompt, ViewId};
    use crate::tui::test_support::{app_with, draw, press, sample_dataset, screen};

    /// The bundled sample, with `edit` applied to its billing before the report is built.
    fn dataset(edit: impl FnOnce(&mut Option<BillingSummary>)) -> Dataset {
        sample_dataset(|snapshot| edit(&mut snapshot.billing))
    }

    #[test]
    fn sample_shows_gauges_untagged_table_and_issues() {
        let data = dataset(|_| {});
        let coverage = data.report.tag_coverage.clone().unwrap();
        let mut view = TagsView::default();
        view.load(&data);
        assert_eq!(view.table.total_rows(), coverage.untagged.len());
        assert!(!coverage.untagged.is_empty());
        assert_eq!(view.issues.len(), coverage.issues.len());
        // The first row is the costliest untagged resource, as the report ranked it.
        let first = &coverage.untagged[0].resource_id;
        assert_eq!(view.table.selected_row().unwrap().cells[0], short_id(first));

        for (w, h) in [(120, 32), (80, 24)] {
            let screen = draw(&view, &data, w, h);
            assert!(screen.contains("Required tags"), "{w}x{h}:\n{screen}");
            for key in &coverage.required {
                assert!(screen.contains(key.as_str()), "{key} at {w}x{h}:\n{screen}");
            }
            assert!(screen.contains("of cost"), "{w}x{h}:\n{screen}");
            assert!(screen.contains("resources"), "{w}x{h}:\n{screen}");
            assert!(screen.contains("Untagged resources"), "{w}x{h}:\n{screen}");
            assert!(screen.contains("Missing"), "{w}x{h}:\n{screen}");
            assert!(screen.contains("Spelling issues"), "{w}x{h}:\n{screen}");
            // The short id in the table, the full one on the selected line.
            assert!(screen.contains(&short_id(first)[..10]), "{w}x{h}:\n{screen}");
            assert!(screen.contains(&format!("▸ {}", &first[..20])), "{w}x{h}:\n{screen}");
            assert!(screen.contains("spelled"), "{w}x{h}:\n{screen}");
            // Every gauge carries a symbol, not only a colour.
            assert!(["✓", "~", "!"].iter().any(|m| screen.contains(m)), "{w}x{h}:\n{screen}");
        }
    }

    #[test]
    fn gauge_labels_and_markers_come_from_the_report() {
        let data = dataset(|_| {});
        let coverage = data.report.tag_coverage.as_ref().unwrap();
        let k = &coverage.keys[0];
        let label = gauge_label(k, k.key.len(), false, Detail::Short);
        assert!(label.starts_with(Level::of(k.cost_share).marker()));
        assert!(label.contains(&percent(k.cost_share.map(Money::to_f64))));
        assert!(label.contains(&format!("{}/{} resources", k.resources_tagged, k.resources_total)));
        assert_eq!(Level::of(Some(Money::parse("0.9").unwrap())), Level::Good);
        assert_eq!(Level::of(Some(Money::parse("0.899999").unwrap())), Level::Fair);
        assert_eq!(Level::of(Some(Money::parse("0.5").unwrap())), Level::Fair);
        assert_eq!(Level::of(Some(Money::parse("0.49").unwrap())), Level::Poor);
        assert_eq!(Level::of(None), Level::Unknown);
    }

    #[test]
    fn arns_are_shortened_to_their_resource_part() {
        assert_eq!(
            short_id("arn:aws:rds:us-east-1:333333333333:db:billing-prod"),
            "db:billing-prod"
        );
        assert_eq!(short_id("arn:aws:s3:::acme-backups-prod"), "acme-backups-prod");
        assert_eq!(short_id("i-046b3aa17a3914696"), "i-046b3aa17a3914696");
        assert_eq!(short_id("arn:aws:s3:::"), "arn:aws:s3:::");
    }

    #[test]
    fn issue_lines_name_every_spelling_with_its_resources() {
        let data = dataset(|_| {});
        let coverage = data.report.tag_coverage.as_ref().unwrap();
        let issue = coverage.issues.iter().find(|i| i.kind == IssueKind::Key).unwrap();
        let line = issue_line(issue);
        assert!(line.starts_with(&format!(
            "key `{}` spelled {} ways: ",
            issue.canonical,
            issue.variants.len()
        )));
        for v in &issue.variants {
            assert!(line.contains(&format!("{} ({})", spelling(&v.text), v.resources)), "{line}");
        }
        assert_eq!(spelling("team "), "\"team \"");
        assert_eq!(spelling("team"), "team");
    }

    #[test]
    fn keys_navigate_filter_and_export_through_the_app() {
        let data = dataset(|_| {});
        let coverage = data.report.tag_coverage.clone().unwrap();
        let date = data.report.collected_at.format("%Y-%m-%d").to_string();
        let mut app = app_with(data);
        press(&mut app, KeyCode::Char('3'));
        assert_eq!(app.view, ViewId::Tags);

        press(&mut app, KeyCode::Char('j'));
        assert_eq!(app.tags.table.selected_index(), Some(1));
        press(&mut app, KeyCode::Char('G'));
        assert_eq!(app.tags.table.selected_index(), Some(coverage.untagged.len() - 1));
        press(&mut app, KeyCode::Char('g'));

        // Filter by the missing column: only resources missing that key remain.
        let key = coverage.required[0].clone();
        press(&mut app, KeyCode::Char('/'));
        for c in format!("missing:{key}").chars() {
            press(&mut app, KeyCode::Char(c));
        }
        press(&mut app, KeyCode::Enter);
        let expected = coverage.untagged.iter().filter(|r| r.missing.contains(&key)).count();
        assert_eq!(app.tags.table.len(), expected);
        assert!(!app.filtering);
        let shown = screen(&app, 120, 32);
        assert!(shown.contains(&format!("filter: missing:{key}")), "{shown}");
        assert!(shown.contains("[3 Tags]"), "{shown}");

        // Sort by cost ascending: the cheapest comes first.
        for _ in 0..6 {
            press(&mut app, KeyCode::Char('s'));
        }
        assert_eq!(app.tags.table.sort, Some((5, true)));
        press(&mut app, KeyCode::Char('S'));
        assert_eq!(app.tags.table.sort, Some((5, false)));

        press(&mut app, KeyCode::Char('e'));
        match &app.prompt {
            Some(Prompt::Export { input, job }) => {
                assert_eq!(input, &format!("costscope-tags-{date}.csv"));
                assert!(matches!(job.as_ref(), ExportJob::Tags(t) if *t == coverage));
            }
            other => panic!("expected an export prompt, got {other:?}"),
        }

        press(&mut app, KeyCode::Esc);
        press(&mut app, KeyCode::Char('?'));
        let help = screen(&app, 80, 24);
        assert!(help.contains("/missing:team"), "{help}");
        assert!(help.contains("Keys: Tags"), "{help}");
    }

    #[test]
    fn tag_values_cannot_reach_the_terminal_as_escapes() {
        let data = dataset(|billing| {
            let billing = billing.as_mut().unwrap();
            let mut tagged = billing.resources.values_mut().filter(|r| r.tags.contains_key("env"));
            // Two spellings of one value make an issue line that shows both.
            tagged.next().unwrap().tags.insert("env".into(), "\u{1b}]0;pwned\u{7}".into());
            tagged.next().unwrap().tags.insert("env".into(), "0pwned".into());
        });
        let coverage = data.report.tag_coverage.as_ref().unwrap();
        assert!(
            coverage.issues.iter().any(|i| i.variants.iter().any(|v| v.text.contains('\u{1b}')))
        );
        let mut view = TagsView::default();
        view.load(&data);
        // The hostile issue is listed first among `env` values; a tall screen shows them all.
        let big = draw(&view, &data, 200, 40 + 5 * coverage.issues.len() as u16);
        assert!(big.contains(" ]0;pwned "), "{big}");
        for (w, h) in [(120, 32), (80, 24)] {
            let screen = draw(&view, &data, w, h);
            assert!(!screen.contains('\u{1b}') && !screen.contains('\u{7}'));
        }
        assert!(!big.contains('\u{1b}') && !big.contains('\u{7}'));
    }

    #[test]
    fn without_billing_says_why_and_offers_nothing_to_navigate_or_export() {
        let data = dataset(|billing| *billing = None);
        assert!(data.report.tag_coverage.is_none());
        let mut view = TagsView::default();
        view.load(&data);
        assert!(view.table().is_none());
        assert!(view.export(&data).is_none());
        for (w, h) in [(120, 32), (80, 24)] {
            let screen = draw(&view, &data, w, h);
            assert!(screen.contains("No billing data is loaded"), "{screen}");
            assert!(screen.contains("--focus FILE"), "{screen}");
        }
    }
}
