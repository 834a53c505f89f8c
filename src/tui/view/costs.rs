//! Costs: billing broken down by a dimension (`d` cycles it), drilled with Enter from a group to
//! its resources to one resource's days, and back up with Backspace.
//!
//! Every breakdown comes from `analysis::costs` and is computed when the user asks (in `load` and
//! `key`); drawing only reads the rows built then.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};
use unicode_width::UnicodeWidthStr;

use super::{ExportJob, ViewOutcome, ViewState};
use crate::analysis::costs::{CostBreakdown, CostRow, CurrencyTotal, Dimension, breakdown_where};
use crate::analysis::trends::Period;
use crate::model::{BillingSummary, Currency, Money};
use crate::tui::app::Dataset;
use crate::tui::theme::Theme;
use crate::tui::widget::table::{Column, DataTable, Emphasis, SortKey, TableRow};
use crate::tui::widget::{percent, safe, truncate};

/// How deep the drill-down is: what the table's rows are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Groups of the chosen dimension (services, accounts, tag values, …).
    Groups,
    /// The resources of one group.
    Resources,
    /// One resource's cost per day.
    Daily,
}

/// One Enter: the group chosen at a level, and how that level's table was filtered and sorted,
/// so Backspace returns to the same place.
#[derive(Clone, Debug, PartialEq)]
struct Step {
    dimension: Dimension,
    key: String,
    /// Display name of the key (account names), for the breadcrumb.
    name: Option<String>,
    /// The chosen row's currency: with several currencies a key has one row per currency.
    currency: Currency,
    filter: String,
    sort: Option<(usize, bool)>,
}

#[derive(Debug)]
pub struct CostsView {
    pub table: DataTable,
    /// What `d` cycles through: service, account, region, one tag per required key, provider,
    /// charge category.
    dimensions: Vec<Dimension>,
    /// Index into `dimensions` of the top level's dimension.
    dimension: usize,
    /// The groups chosen on the way down; empty at the top level.
    path: Vec<Step>,
    /// The breakdown the table shows (and `e` exports).
    breakdown: CostBreakdown,
    /// Whether the data has billing at all (a cluster-only snapshot has none).
    has_billing: bool,
}

impl Default for CostsView {
    fn default() -> Self {
        let dimensions = dimensions_for(&[]);
        let first = dimensions.first().cloned().unwrap_or(Dimension::Service);
        CostsView {
            table: DataTable::new(columns(&first, None)),
            dimensions,
            dimension: 0,
            path: Vec::new(),
            breakdown: CostBreakdown {
                dimension: first.to_string(),
                rows: Vec::new(),
                totals: Vec::new(),
            },
            has_billing: false,
        }
    }
}

/// The `d` cycle, with one tag dimension per required key (the defaults when the report has no
/// tag coverage).
fn dimensions_for(required: &[String]) -> Vec<Dimension> {
    let mut out = vec![Dimension::Service, Dimension::Account, Dimension::Region];
    if required.is_empty() {
        let defaults = crate::config::DEFAULT_REQUIRED_TAGS;
        out.extend(defaults.iter().map(|k| Dimension::Tag((*k).to_string())));
    } else {
        out.extend(required.iter().map(|k| Dimension::Tag(k.clone())));
    }
    out.extend([Dimension::Provider, Dimension::ChargeCategory]);
    out
}

/// The key column's title and filter alias for a dimension (`/service:ec2`).
fn key_column(dimension: &Dimension) -> (&'static str, &'static str) {
    match dimension {
        Dimension::Service => ("Service", "service"),
        Dimension::Account => ("Account", "account"),
        Dimension::Region => ("Region", "region"),
        Dimension::Resource => ("Resource", "resource"),
        Dimension::Day => ("Day", "day"),
        Dimension::Provider => ("Provider", "provider"),
        Dimension::ChargeCategory => ("Charge category", "category"),
        Dimension::Tag(_) => ("Tag value", "tag"),
    }
}

fn columns(dimension: &Dimension, change: Option<Period>) -> Vec<Column> {
    let (title, alias) = key_column(dimension);
    let mut columns = vec![
        Column::text(title, alias, Constraint::Min(16)),
        Column::number("Billed", "billed", Constraint::Length(13)),
        Column::number("Effective", "effective", Constraint::Length(13)),
        Column::text("Currency", "currency", Constraint::Length(8)),
        Column::number("Share", "share", Constraint::Length(7)),
    ];
    if let Some(period) = change {
        // A percentage only, so names keep their room on 80 columns; the column sorts by the
        // change in money (`costscope trends` prints both).
        let title = match period {
            Period::Month => "Δ month",
            Period::Week => "Δ week",
            Period::Day => "Δ day",
        };
        columns.push(Column::number(title, "change", Constraint::Length(8)));
    }
    columns
}

/// How each group and each currency's total changed against the period before
/// (`costscope trends`): (change, change ratio).
struct Changes {
    period: Period,
    groups: std::collections::HashMap<(String, Currency), (Money, Option<Money>)>,
    totals: std::collections::HashMap<Currency, (Money, Option<Money>)>,
}

fn changes(billing: &BillingSummary, dimension: &Dimension) -> Option<Changes> {
    let trends = crate::analysis::trends::trends(billing, dimension, None).ok()?;
    let mut out =
        Changes { period: trends.period, groups: Default::default(), totals: Default::default() };
    for c in &trends.currencies {
        out.totals.insert(c.currency.clone(), (c.change, c.change_ratio));
        for g in &c.groups {
            out.groups.insert((g.key.clone(), c.currency.clone()), (g.change, g.change_ratio));
        }
    }
    Some(out)
}

/// `+0.4%`; `new` when the period before cost nothing and this one something.
fn change_cell(change: Money, ratio: Option<Money>) -> String {
    match ratio {
        Some(r) => format!("{:+.1}%", r.to_f64() * 100.0),
        None if change > Money::ZERO => "new".to_string(),
        None => "—".to_string(),
    }
}

/// A key as shown: account names beside ids, and a word for the group without a value.
fn key_label(dimension: &Dimension, key: &str, name: Option<&str>) -> String {
    if key.is_empty() {
        return match dimension {
            Dimension::Tag(_) => "(untagged)".to_string(),
            Dimension::Resource => "(no resource id)".to_string(),
            Dimension::Day => "(no day)".to_string(),
            _ => "(none)".to_string(),
        };
    }
    match name {
        Some(name) if !name.is_empty() => format!("{} ({})", safe(key), safe(name)),
        _ => safe(key),
    }
}

fn amount(value: Option<Money>) -> String {
    value.map_or_else(|| "—".to_string(), Money::display_2dp)
}

/// `part / whole` for display only (a share is not money, so a float is fine here); `None` when
/// the whole is not positive.
fn share(part: Money, whole: Option<Money>) -> Option<f64> {
    let whole = whole?;
    (whole.raw() > 0).then(|| part.to_f64() / whole.to_f64())
}

fn total_of<'a>(totals: &'a [CurrencyTotal], currency: &Currency) -> Option<&'a CurrencyTotal> {
    totals.iter().find(|t| &t.currency == currency)
}

/// A resource's name and type from billing (`web-1, Instance`), to tell ids apart.
fn resource_name(billing: Option<&BillingSummary>, id: &str) -> Option<String> {
    let r = billing?.resources.get(id)?;
    let parts: Vec<&str> = [r.resource_name.as_str(), r.resource_type.as_str()]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn row(label: String, r: &CostRow, totals: &[CurrencyTotal]) -> TableRow {
    let whole = total_of(totals, &r.currency).map(|t| t.billed_cost);
    let fraction = share(r.billed_cost, whole);
    let cells = vec![
        label,
        r.billed_cost.display_2dp(),
        amount(r.effective_cost),
        safe(&r.currency.to_string()),
        percent(fraction),
    ];
    let keys = vec![
        SortKey::Text(r.key.clone()),
        SortKey::Money(r.billed_cost),
        r.effective_cost.map_or(SortKey::None, SortKey::Money),
        SortKey::Text(r.currency.to_string()),
        fraction.map_or(SortKey::None, SortKey::Number),
    ];
    // The group without a value is dimmed and also says so in words ("(untagged)").
    let emphasis = if r.key.is_empty() { Emphasis::Dim } else { Emphasis::Normal };
    TableRow::new(cells, keys).with(emphasis)
}

/// The totals footer. With several currencies each column lists them in the same order.
fn footer(totals: &[CurrencyTotal]) -> Vec<String> {
    let join = |f: &dyn Fn(&CurrencyTotal) -> String| -> String {
        totals.iter().map(f).collect::<Vec<_>>().join(" / ")
    };
    let label = match totals.len() {
        0 | 1 => "Total".to_string(),
        n => format!("Total ({n} currencies)"),
    };
    vec![
        label,
        join(&|t| t.billed_cost.display_2dp()),
        join(&|t| amount(t.effective_cost)),
        join(&|t| safe(&t.currency.to_string())),
        join(&|t| percent(share(t.billed_cost, Some(t.billed_cost)))),
    ]
}

/// Lowercase letters, digits and dashes, for file names built from data.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let mut out: String = out.chars().take(40).collect();
    while out.ends_with('-') {
        out.pop();
    }
    out
}

impl CostsView {
    /// What the table's rows are.
    pub fn level(&self) -> Level {
        match self.path.len() {
            0 => Level::Groups,
            1 => Level::Resources,
            _ => Level::Daily,
        }
    }

    /// The top level's dimension (what `d` changed it to).
    pub fn dimension(&self) -> &Dimension {
        self.dimensions.get(self.dimension).unwrap_or(&Dimension::Service)
    }

    /// What the current level groups by.
    pub fn grouping(&self) -> Dimension {
        match self.level() {
            Level::Groups => self.dimension().clone(),
            Level::Resources => Dimension::Resource,
            Level::Daily => Dimension::Day,
        }
    }

    /// The breakdown the table shows.
    pub fn breakdown(&self) -> &CostBreakdown {
        &self.breakdown
    }

    /// The key of the selected row, if any.
    pub fn selected_key(&self) -> Option<&str> {
        self.selected().map(|r| r.key.as_str())
    }

    fn selected(&self) -> Option<&CostRow> {
        self.table.selected_index().and_then(|i| self.breakdown.rows.get(i))
    }

    /// The title: "Costs by service", "Costs by resource", "Costs by day".
    pub fn title(&self) -> String {
        format!("Costs by {}", self.grouping())
    }

    /// Recomputes the current level's breakdown and rows. The table's filter and sort are set
    /// first so the rows are filtered once; then `select` (key, currency) is selected if shown,
    /// else the first row.
    fn rebuild(
        &mut self,
        billing: Option<&BillingSummary>,
        filter: String,
        sort: Option<(usize, bool)>,
        select: Option<(String, Currency)>,
    ) {
        let grouping = self.grouping();
        let filters: Vec<(Dimension, String)> =
            self.path.iter().map(|s| (s.dimension.clone(), s.key.clone())).collect();
        self.has_billing = billing.is_some();
        self.breakdown = match billing {
            Some(b) => breakdown_where(b, &grouping, &filters),
            None => CostBreakdown {
                dimension: grouping.to_string(),
                rows: Vec::new(),
                totals: Vec::new(),
            },
        };
        // The top level also says how each group moved against the period before.
        let changes = match (billing, self.level()) {
            (Some(b), Level::Groups) => changes(b, &grouping),
            _ => None,
        };
        let rows = self
            .breakdown
            .rows
            .iter()
            .map(|r| {
                let name = match grouping {
                    Dimension::Resource => resource_name(billing, &r.key),
                    _ => r.name.clone(),
                };
                let label = key_label(&grouping, &r.key, name.as_deref());
                let mut row = row(label, r, &self.breakdown.totals);
                if let Some(changes) = &changes {
                    match changes.groups.get(&(r.key.clone(), r.currency.clone())) {
                        Some((change, ratio)) => {
                            row.cells.push(change_cell(*change, *ratio));
                            row.keys.push(SortKey::Money(*change));
                        }
                        None => {
                            row.cells.push("—".to_string());
                            row.keys.push(SortKey::None);
                        }
                    }
                }
                row
            })
            .collect();
        self.table.columns = columns(&grouping, changes.as_ref().map(|c| c.period));
        self.table.filter = filter;
        self.table.sort = sort;
        self.table.footer = (!self.breakdown.totals.is_empty()).then(|| {
            let mut footer = footer(&self.breakdown.totals);
            if let Some(changes) = &changes {
                // The total's change, per currency in the footer's order.
                let cells: Vec<String> = self
                    .breakdown
                    .totals
                    .iter()
                    .map(|t| match changes.totals.get(&t.currency) {
                        Some((change, ratio)) => change_cell(*change, *ratio),
                        None => "—".to_string(),
                    })
                    .collect();
                footer.push(cells.join(" / "));
            }
            footer
        });
        self.table.set_rows(rows);
        self.table.home();
        if let Some((key, currency)) = select
            && let Some(i) =
                self.breakdown.rows.iter().position(|r| r.key == key && r.currency == currency)
        {
            self.table.select_index(i);
        }
    }

    fn drill(&mut self, data: &Dataset) -> ViewOutcome {
        let billing = data.snapshot.billing.as_ref();
        if self.level() == Level::Daily {
            return ViewOutcome::Ignored;
        }
        let Some(chosen) = self.selected().cloned() else {
            return ViewOutcome::Status("no row selected".into());
        };
        if self.level() == Level::Resources && !billing.is_some_and(|b| b.grain.resource_days) {
            return ViewOutcome::Status(
                "this billing keeps no days per resource (load FOCUS files or the sample)".into(),
            );
        }
        let name = match self.grouping() {
            // The breadcrumb has little room: the id alone says which resource.
            Dimension::Resource => None,
            _ => chosen.name,
        };
        self.path.push(Step {
            dimension: self.grouping(),
            key: chosen.key,
            name,
            currency: chosen.currency,
            filter: self.table.filter.clone(),
            sort: self.table.sort,
        });
        self.rebuild(billing, String::new(), None, None);
        ViewOutcome::Handled
    }

    fn back(&mut self, data: &Dataset) -> ViewOutcome {
        let Some(step) = self.path.pop() else {
            return ViewOutcome::Ignored;
        };
        let billing = data.snapshot.billing.as_ref();
        self.rebuild(billing, step.filter, step.sort, Some((step.key, step.currency)));
        ViewOutcome::Handled
    }

    /// `service: Amazon Elastic Compute Cloud › resource: i-0abc › daily`.
    fn breadcrumb(&self) -> String {
        let mut parts: Vec<String> = self
            .path
            .iter()
            .map(|s| {
                format!("{}: {}", s.dimension, key_label(&s.dimension, &s.key, s.name.as_deref()))
            })
            .collect();
        parts.push(match self.level() {
            Level::Groups => format!("all costs by {}", self.dimension()),
            Level::Resources => "resources".to_string(),
            Level::Daily => "daily".to_string(),
        });
        parts.join(" › ")
    }
}

impl ViewState for CostsView {
    fn load(&mut self, data: &Dataset) {
        let required: &[String] =
            data.report.tag_coverage.as_ref().map_or(&[], |t| t.required.as_slice());
        let dimensions = dimensions_for(required);
        // Keep the dimension, drill path and selection across a reload when they still exist.
        let current = self.dimension().clone();
        self.dimension = dimensions.iter().position(|d| *d == current).unwrap_or(0);
        if dimensions != self.dimensions {
            self.path.clear();
        }
        self.dimensions = dimensions;
        let select = self.selected().map(|r| (r.key.clone(), r.currency.clone()));
        let (filter, sort) = (self.table.filter.clone(), self.table.sort);
        self.rebuild(data.snapshot.billing.as_ref(), filter, sort, select);
    }

    fn key(&mut self, key: KeyEvent, data: &Dataset) -> ViewOutcome {
        match key.code {
            KeyCode::Char('d') => {
                // A new dimension starts again from the top: the drill path belonged to the old one.
                self.dimension = (self.dimension + 1) % self.dimensions.len().max(1);
                self.path.clear();
                self.rebuild(data.snapshot.billing.as_ref(), String::new(), None, None);
                ViewOutcome::Handled
            }
            KeyCode::Enter | KeyCode::Right => self.drill(data),
            KeyCode::Backspace | KeyCode::Left => self.back(data),
            _ => ViewOutcome::Ignored,
        }
    }

    fn table(&mut self) -> Option<&mut DataTable> {
        Some(&mut self.table)
    }

    fn render(&self, _data: &Dataset, area: Rect, buf: &mut Buffer, theme: &Theme) {
        if !self.has_billing {
            Paragraph::new(vec![
                Line::styled("No billing data in these sources.", theme.warning()),
                Line::from(""),
                Line::styled("Give --focus FILE (FOCUS billing) or --sample.", theme.dim()),
            ])
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(" Costs "))
            .render(area, buf);
            return;
        }
        let [crumbs, main] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
        let hint = match self.level() {
            Level::Groups => "  Enter: resources · d: dimension",
            Level::Resources => "  Enter: daily · Backspace: up",
            Level::Daily => "  Backspace: up",
        };
        let width = crumbs.width as usize;
        let path = self.breadcrumb();
        // The path matters more than the hint: the hint goes first when space runs out.
        let hint = if path.width() + 1 + hint.width() <= width { hint } else { "" };
        let path = truncate(&path, width.saturating_sub(1 + hint.width()));
        Line::from(vec![
            Span::styled(format!(" {path}"), theme.header()),
            Span::styled(hint, theme.dim()),
        ])
        .render(crumbs, buf);
        self.table.render(main, buf, theme, &self.title(), true);
    }

    fn help(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("d", "next grouping: service, account, region, tag, …"),
            ("Enter, →", "drill down: group → resources → days"),
            ("Backspace, ←", "back up one level (keeps the selection)"),
            ("/service:ec2", "filter by key, billed, currency, …"),
        ]
    }

    fn export(&self, data: &Dataset) -> Option<(String, ExportJob)> {
        let date = data.report.collected_at.format("%Y-%m-%d");
        // The drilled groups go into the name, so two exports of different services differ.
        let mut name = String::from("costscope-costs");
        for step in &self.path {
            // The label, so the group without a value still names itself ("untagged").
            let part = slug(&key_label(&step.dimension, &step.key, None));
            if !part.is_empty() {
                name.push('-');
                name.push_str(&part);
            }
        }
        name.push_str(&format!("-by-{}-{date}.csv", slug(&self.grouping().to_string())));
        Some((name, ExportJob::Costs(self.breakdown.clone())))
    }
}

#[cfg(test)]
mod tests {

    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;

    use super::*;
    use crate::analysis::costs::breakdown;

    use crate::tui::app::{App, Msg, ViewId};
    use crate::tui::test_support::{buffer_text as text, draw, sample_dataset};
    use crate::tui::view::render_app;

    /// The bundled sample at the dashboard's grain, with `billing` kept or dropped.
    fn dataset(with_billing: bool) -> Dataset {
        sample_dataset(|snapshot| {
            if !with_billing {
                snapshot.billing = None;
            }
        })
    }

    fn billing(data: &Dataset) -> &BillingSummary {
        data.snapshot.billing.as_ref().unwrap()
    }

    fn loaded(data: &Dataset) -> CostsView {
        let mut view = CostsView::default();
        view.load(data);
        view
    }

    fn press(view: &mut CostsView, data: &Dataset, code: KeyCode) -> ViewOutcome {
        view.key(KeyEvent::new(code, KeyModifiers::NONE), data)
    }

    #[test]
    fn load_shows_the_service_breakdown_with_its_totals_as_footer() {
        let data = dataset(true);
        let view = loaded(&data);
        let expected = breakdown(billing(&data), &Dimension::Service);
        assert_eq!(view.level(), Level::Groups);
        assert_eq!(view.grouping(), Dimension::Service);
        assert_eq!(view.title(), "Costs by service");
        assert_eq!(view.breakdown(), &expected);
        assert_eq!(view.table.total_rows(), expected.rows.len());
        assert_eq!(view.selected_key(), Some(expected.rows[0].key.as_str()));
        // One currency in the sample: the footer is its totals, exactly as the breakdown says.
        assert_eq!(expected.totals.len(), 1);
        let total = &expected.totals[0];
        let footer = view.table.footer.clone().unwrap();
        assert_eq!(footer[0], "Total");
        assert_eq!(footer[1], total.billed_cost.display_2dp());
        assert_eq!(footer[2], total.effective_cost.unwrap().display_2dp());
        assert_eq!(footer[3], "USD");
        assert_eq!(footer[4], "100.0%");
        // The report's spend is the same money, grouped another way.
        assert_eq!(data.report.spend[0].billed_cost, total.billed_cost);
        // Share is the row over the total of its currency.
        let first = view.table.selected_row().unwrap();
        let share = expected.rows[0].billed_cost.to_f64() / total.billed_cost.to_f64();
        assert_eq!(first.cells[4], percent(Some(share)));
    }

    #[test]
    fn d_cycles_through_the_dimensions_and_required_tags() {
        let data = dataset(true);
        let mut view = loaded(&data);
        let required = data.report.tag_coverage.as_ref().unwrap().required.clone();
        let mut expected = vec![Dimension::Account, Dimension::Region];
        expected.extend(required.iter().map(|k| Dimension::Tag(k.clone())));
        expected.extend([Dimension::Provider, Dimension::ChargeCategory, Dimension::Service]);
        let mut seen = Vec::new();
        for _ in 0..expected.len() {
            assert!(matches!(press(&mut view, &data, KeyCode::Char('d')), ViewOutcome::Handled));
            seen.push(view.grouping());
            assert_eq!(view.breakdown(), &breakdown(billing(&data), &view.grouping()));
        }
        assert_eq!(seen, expected);

        press(&mut view, &data, KeyCode::Char('d'));
        assert_eq!(view.title(), "Costs by account");
        // Accounts show their names beside the id.
        let row = view.table.selected_row().unwrap();
        assert!(row.cells[0].contains("222222222222 (acme-prod)"), "{:?}", row.cells);
        press(&mut view, &data, KeyCode::Char('d'));
        press(&mut view, &data, KeyCode::Char('d'));
        assert_eq!(view.title(), format!("Costs by tag:{}", required[0]));
        // Untagged cost is a group of its own, named in words.
        assert!(
            (0..view.table.len()).filter_map(|p| view.table.visible_index(p)).any(|i| view
                .breakdown()
                .rows[i]
                .key
                .is_empty())
        );
    }

    #[test]
    fn enter_drills_to_resources_then_days_and_backspace_keeps_the_selection() {
        let data = dataset(true);
        let b = billing(&data);
        let mut view = loaded(&data);
        view.table.move_by(1);
        let service = view.selected_key().unwrap().to_string();
        let service_cost = view.breakdown().rows[view.table.selected_index().unwrap()].billed_cost;

        assert!(matches!(press(&mut view, &data, KeyCode::Enter), ViewOutcome::Handled));
        assert_eq!(view.level(), Level::Resources);
        assert_eq!(view.title(), "Costs by resource");
        let filters = vec![(Dimension::Service, service.clone())];
        assert_eq!(view.breakdown(), &breakdown_where(b, &Dimension::Resource, &filters));
        assert_eq!(view.breakdown().totals[0].billed_cost, service_cost);
        assert_eq!(view.breadcrumb(), format!("service: {service} › resources"));

        view.table.move_by(2);
        let resource = view.selected_key().unwrap().to_string();
        let resource_cost = view.breakdown().rows[view.table.selected_index().unwrap()].billed_cost;
        press(&mut view, &data, KeyCode::Enter);
        assert_eq!(view.level(), Level::Daily);
        assert_eq!(view.grouping(), Dimension::Day);
        assert_eq!(view.breadcrumb(), format!("service: {service} › resource: {resource} › daily"));
        let days = view.breakdown();
        assert!(days.rows.len() > 1);
        assert!(days.rows.iter().all(|r| r.key.starts_with("2026-10-")));
        assert_eq!(days.totals[0].billed_cost, resource_cost);
        // The daily level is the bottom.
        assert!(matches!(press(&mut view, &data, KeyCode::Enter), ViewOutcome::Ignored));
        assert_eq!(view.level(), Level::Daily);

        press(&mut view, &data, KeyCode::Backspace);
        assert_eq!(view.level(), Level::Resources);
        assert_eq!(view.selected_key(), Some(resource.as_str()));
        press(&mut view, &data, KeyCode::Backspace);
        assert_eq!(view.level(), Level::Groups);
        assert_eq!(view.selected_key(), Some(service.as_str()));
        assert!(matches!(press(&mut view, &data, KeyCode::Backspace), ViewOutcome::Ignored));
    }

    #[test]
    fn backspace_restores_the_filter_and_sort_of_the_level_above() {
        let data = dataset(true);
        let mut view = loaded(&data);
        view.table.set_filter("amazon");
        view.table.sort_by(0);
        view.table.move_by(3);
        let chosen = view.selected_key().unwrap().to_string();
        press(&mut view, &data, KeyCode::Enter);
        assert!(view.table.filter.is_empty());
        assert_eq!(view.table.sort, None);
        press(&mut view, &data, KeyCode::Backspace);
        assert_eq!(view.table.filter, "amazon");
        assert_eq!(view.table.sort, Some((0, false)));
        assert_eq!(view.selected_key(), Some(chosen.as_str()));
    }

    #[test]
    fn d_at_a_lower_level_starts_again_from_the_top() {
        let data = dataset(true);
        let mut view = loaded(&data);
        press(&mut view, &data, KeyCode::Enter);
        press(&mut view, &data, KeyCode::Char('d'));
        assert_eq!(view.level(), Level::Groups);
        assert_eq!(view.grouping(), Dimension::Account);
    }

    #[test]
    fn reload_keeps_dimension_level_and_selection() {
        let data = dataset(true);
        let mut view = loaded(&data);
        press(&mut view, &data, KeyCode::Char('d'));
        press(&mut view, &data, KeyCode::Enter);
        view.table.move_by(1);
        let key = view.selected_key().unwrap().to_string();
        view.load(&data);
        assert_eq!(view.level(), Level::Resources);
        assert_eq!(view.dimension(), &Dimension::Account);
        assert_eq!(view.selected_key(), Some(key.as_str()));
    }

    #[test]
    fn export_is_the_current_breakdown_named_after_the_level() {
        let data = dataset(true);
        let mut view = loaded(&data);
        let (name, job) = view.export(&data).unwrap();
        assert_eq!(name, "costscope-costs-by-service-2026-11-01.csv");
        assert!(matches!(job, ExportJob::Costs(ref c) if c == view.breakdown()));

        press(&mut view, &data, KeyCode::Enter);
        let (name, job) = view.export(&data).unwrap();
        assert_eq!(name, "costscope-costs-amazon-elastic-compute-cloud-by-resource-2026-11-01.csv");
        assert!(matches!(job, ExportJob::Costs(ref c) if c.dimension == "resource"));

        press(&mut view, &data, KeyCode::Enter);
        let (name, _) = view.export(&data).unwrap();
        assert!(name.starts_with("costscope-costs-amazon-elastic-compute-cloud-"), "{name}");
        assert!(name.ends_with("-by-day-2026-11-01.csv"), "{name}");
        press(&mut view, &data, KeyCode::Backspace);
        press(&mut view, &data, KeyCode::Backspace);
        press(&mut view, &data, KeyCode::Char('d'));
        press(&mut view, &data, KeyCode::Char('d'));
        press(&mut view, &data, KeyCode::Char('d'));
        // The largest group of tag:team comes first; the untagged one is further down.
        assert_eq!(view.selected_key(), Some("data"));
        for _ in 0..20 {
            if view.selected_key() == Some("") {
                break;
            }
            if let Some(table) = ViewState::table(&mut view) {
                table.move_by(1);
            }
        }
        assert_eq!(view.selected_key(), Some(""));
        press(&mut view, &data, KeyCode::Enter);
        let (name, _) = view.export(&data).unwrap();
        assert_eq!(name, "costscope-costs-untagged-by-resource-2026-11-01.csv");
        for _ in 0..4 {
            press(&mut view, &data, KeyCode::Char('d'));
        }
        assert_eq!(
            view.export(&data).unwrap().0,
            "costscope-costs-by-charge-category-2026-11-01.csv"
        );
        press(&mut view, &data, KeyCode::Char('d'));
        assert_eq!(view.export(&data).unwrap().0, "costscope-costs-by-service-2026-11-01.csv");
    }

    #[test]
    fn renders_the_top_service_and_the_total_at_both_sizes() {
        let data = dataset(true);
        let mut view = loaded(&data);
        let expected = breakdown(billing(&data), &Dimension::Service);
        let top = &expected.rows[0].key;
        let total = expected.totals[0].billed_cost.display_2dp();
        for (w, h) in [(120, 32), (80, 24)] {
            let screen = draw(&view, &data, w, h);
            // On 80 columns the change column leaves a name 24 cells: its start is shown.
            let top: String = if w < 100 { top.chars().take(22).collect() } else { top.clone() };
            for needle in
                ["Costs by service", "all costs by service", top.as_str(), "Total", &total]
            {
                assert!(screen.contains(needle), "{needle} at {w}x{h}:\n{screen}");
            }
            // The sample's October against September (samples/README.md sums them from the
            // CSV): EC2 14,111.36 → 15,701.13, +11.3 %; the whole bill 31,848.43 → 40,292.35,
            // +26.5 %.
            let ec2 = screen.lines().find(|l| l.contains("Amazon Elastic Compute")).unwrap();
            assert!(screen.contains("Δ month") && ec2.contains("+11.3%"), "{screen}");
            let footer = screen.lines().find(|l| l.contains("Total")).unwrap();
            assert!(footer.contains("+26.5%"), "{footer}");
        }
        press(&mut view, &data, KeyCode::Enter);
        press(&mut view, &data, KeyCode::Enter);
        for (w, h) in [(120, 32), (80, 24)] {
            let screen = draw(&view, &data, w, h);
            for needle in ["Costs by day", "› daily", "2026-09-01", "Total"] {
                assert!(screen.contains(needle), "{needle} at {w}x{h}:\n{screen}");
            }
        }
    }

    #[test]
    fn without_billing_the_view_says_so() {
        let data = dataset(false);
        let view = loaded(&data);
        assert!(view.breakdown().rows.is_empty());
        assert!(draw(&view, &data, 80, 24).contains("No billing data"));
    }

    #[test]
    fn keys_reach_the_view_through_the_app() {
        let data = dataset(true);
        let mut app = App::new(Theme::plain());
        let generation = app.generation;
        app.update(Msg::Loaded { generation, result: Ok(Box::new(data)) });
        let key = |app: &mut App, code| {
            app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        };
        key(&mut app, KeyCode::Char('2'));
        assert_eq!(app.view, ViewId::Costs);
        key(&mut app, KeyCode::Char('j'));
        key(&mut app, KeyCode::Enter);
        assert_eq!(app.costs.level(), Level::Resources);
        key(&mut app, KeyCode::Backspace);
        assert_eq!(app.costs.level(), Level::Groups);
        assert_eq!(app.costs.table.selected_index(), Some(1));
        key(&mut app, KeyCode::Char('d'));
        assert_eq!(app.costs.grouping(), Dimension::Account);
        let area = Rect::new(0, 0, 80, 24);
        let mut buf = Buffer::empty(area);
        render_app(&app, area, &mut buf);
        assert!(text(&buf).contains("Costs by account"));
    }
}
