//! Chargeback: the bill of the data's last month split over the teams of the allocation key,
//! as `costscope allocate --period month --detail` splits it — each team's direct and shared
//! cost with a bar of both, the pools, the unallocated and idle lines and the bill they add up
//! to; Enter drills from a team to its services, then to its resources of one service.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use super::{ExportJob, ViewOutcome, ViewState};
use crate::analysis::allocation::{
    self, Allocation, AllocationPeriod, AllocationSettings, CurrencyAllocation, TeamRow,
};
use crate::model::{BillingSummary, Money};
use crate::tui::app::Dataset;
use crate::tui::theme::Theme;
use crate::tui::widget::table::{Column, DataTable, Emphasis, SortKey, TableRow};
use crate::tui::widget::{money, percent, safe, short_id};

/// The tag key used when the configuration names none and the billing has it.
const DEFAULT_KEY: &str = "team";
/// Characters of the direct/shared bar.
const BAR: usize = 14;

/// The allocation of one load, made once when the data arrives.
#[derive(Debug)]
pub enum Chargeback {
    /// No key configured and no `team` tag in the billing.
    NoKey,
    /// No billing lines to allocate.
    NoBilling,
    Failed(String),
    Ready(Box<Allocated>),
}

#[derive(Debug)]
pub struct Allocated {
    pub allocation: Allocation,
    /// Whether the key came from `[allocation] key` (else it was found in the billing).
    pub configured: bool,
    /// Per billing line, the (folded) team it is charged to directly.
    direct: Vec<Option<String>>,
}

/// What the table lists.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Level {
    Teams,
    /// The team's direct cost by service: currency index, team index.
    Services {
        currency: usize,
        team: usize,
    },
    /// The team's resources of one service.
    Resources {
        currency: usize,
        team: usize,
        service: String,
    },
}

/// How a level's table was left, so going back returns to the same place.
#[derive(Debug)]
struct Saved {
    selected: Option<usize>,
    filter: String,
    sort: Option<(usize, bool)>,
}

/// A row of the teams table: which team (or which line) it stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TeamLine {
    Team { currency: usize, team: usize },
    Other,
}

#[derive(Debug)]
pub struct ChargebackView {
    /// `[allocation]` of the configuration the dashboard was started with.
    pub settings: AllocationSettings,
    pub chargeback: Chargeback,
    level: Level,
    saved: Vec<Saved>,
    /// What each row of the teams table is, by source index.
    lines: Vec<TeamLine>,
    /// The services of the services level, by source index.
    services: Vec<String>,
    pub table: DataTable,
    /// New data arrived and is not allocated yet: allocating a big bill takes a second, so it
    /// waits until the view is first shown ([`ChargebackView::ensure_loaded`]).
    pending: bool,
}

impl Default for ChargebackView {
    fn default() -> Self {
        ChargebackView {
            settings: AllocationSettings::default(),
            chargeback: Chargeback::NoBilling,
            level: Level::Teams,
            saved: Vec::new(),
            lines: Vec::new(),
            services: Vec::new(),
            table: DataTable::new(Vec::new()),
            pending: false,
        }
    }
}

impl ChargebackView {
    /// Allocates the data the last [`ViewState::load`] brought, once, when the view is shown.
    pub fn ensure_loaded(&mut self, data: &Dataset) {
        if !std::mem::take(&mut self.pending) {
            return;
        }
        self.chargeback = compute(&self.settings, data);
        // A new allocation may not have the drilled team any more: start from the teams, keeping
        // the filter and sort.
        let filter = self.table.filter.clone();
        let sort = self.table.sort;
        let selected = self.saved.first().and_then(|s| s.selected).or(self.table.selected_index());
        self.level = Level::Teams;
        self.saved.clear();
        self.table = DataTable::new(Vec::new());
        self.rebuild(data);
        self.table.sort = sort;
        self.table.set_filter(&filter);
        if let Some(i) = selected {
            self.table.select_index(i);
        }
    }
}

/// The key to allocate by: the configured one, else `team` when the billing has that tag.
fn choose_key(settings: &AllocationSettings, billing: &BillingSummary) -> Option<(String, bool)> {
    if let Some(key) = settings.key.as_ref().filter(|k| !k.trim().is_empty()) {
        return Some((key.clone(), true));
    }
    let found = billing.tag_sets.iter().any(|tags| {
        tags.iter().any(|(k, v)| {
            allocation::fold_team(settings, k) == allocation::fold_team(settings, DEFAULT_KEY)
                && !v.trim().is_empty()
        })
    });
    found.then(|| (DEFAULT_KEY.to_string(), false))
}

/// Allocates the month of the data's last day (compared with the month before), or the whole
/// data when the billing has no days, as `allocate` would.
pub fn compute(settings: &AllocationSettings, data: &Dataset) -> Chargeback {
    let Some(billing) = data.snapshot.billing.as_ref().filter(|b| !b.lines.is_empty()) else {
        return Chargeback::NoBilling;
    };
    let Some((key, configured)) = choose_key(settings, billing) else {
        return Chargeback::NoKey;
    };
    let clusters: Vec<allocation::ClusterShares> = if settings.namespaces.is_empty() {
        Vec::new()
    } else {
        data.report.clusters.iter().map(allocation::cluster_shares).collect()
    };
    let run = |period| allocation::allocate(billing, settings, &key, period, true, &clusters);
    let result = match run(AllocationPeriod::Month) {
        Err(allocation::AllocationError::NoDays) => run(AllocationPeriod::All),
        other => other,
    };
    match result {
        Ok(allocation) => {
            let direct = allocation::direct_teams(billing, settings, &key, &clusters);
            Chargeback::Ready(Box::new(Allocated { allocation, configured, direct }))
        }
        Err(e) => Chargeback::Failed(e.to_string()),
    }
}

/// `███████▒▒▒`: direct then shared, `width` characters for `max`.
fn bar(direct: Money, shared: Money, max: Money, width: usize) -> String {
    if max.raw() <= 0 {
        return String::new();
    }
    let cells = |m: Money| -> usize {
        let f = (m.to_f64() / max.to_f64()).clamp(0.0, 1.0);
        (f * width as f64).round() as usize
    };
    let total = cells(direct.max(Money::ZERO) + shared.max(Money::ZERO));
    let d = cells(direct.max(Money::ZERO)).min(total);
    format!("{}{}", "█".repeat(d), "▒".repeat(total - d))
}

fn signed(m: Money) -> String {
    if m.raw() > 0 { format!("+{}", m.display_2dp()) } else { m.display_2dp() }
}

fn change_cells(change: Option<Money>) -> (String, SortKey) {
    change.map_or(("—".to_string(), SortKey::None), |c| (signed(c), SortKey::Money(c)))
}

fn share_cell(share: Option<Money>) -> String {
    percent(share.map(|s| s.to_f64()))
}

/// `Oct 2026` for a whole calendar month, else `2026-10-03..2026-10-31`.
fn period_label(a: &Allocation) -> String {
    match (a.period_start, a.period_end) {
        (Some(start), Some(end)) => {
            let whole = a.previous_start.is_some();
            if whole { start.format("%b %Y").to_string() } else { format!("{start}..{end}") }
        }
        _ => "all data".to_string(),
    }
}

impl ChargebackView {
    /// Rows of the current level; selection, filter and sort are the caller's.
    fn rebuild(&mut self, data: &Dataset) {
        let Chargeback::Ready(ready) = &self.chargeback else {
            self.lines.clear();
            self.services.clear();
            self.table = DataTable::new(Vec::new());
            return;
        };
        let a = &ready.allocation;
        let (columns, rows, footer) = match self.level.clone() {
            Level::Teams => teams_table(a, &mut self.lines),
            Level::Services { currency, team } => {
                match a.currencies.get(currency).and_then(|c| c.teams.get(team).map(|t| (c, t))) {
                    Some((c, t)) => services_table(c, t, &mut self.services),
                    None => {
                        self.level = Level::Teams;
                        teams_table(a, &mut self.lines)
                    }
                }
            }
            Level::Resources { currency, team, service } => {
                let found =
                    a.currencies.get(currency).and_then(|c| c.teams.get(team).map(|t| (c, t)));
                match (found, data.snapshot.billing.as_ref()) {
                    (Some((c, t)), Some(billing)) => {
                        let folded = allocation::fold_team(&self.settings, &t.team);
                        resources_table(
                            a,
                            c,
                            &folded,
                            &service,
                            billing,
                            &ready.direct,
                            &self.settings,
                        )
                    }
                    _ => {
                        self.level = Level::Teams;
                        teams_table(a, &mut self.lines)
                    }
                }
            }
        };
        if self.table.columns.iter().map(|c| c.title).ne(columns.iter().map(|c| c.title)) {
            self.table = DataTable::new(columns);
        }
        self.table.footer = footer;
        self.table.set_rows(rows);
    }

    fn drill(&mut self, data: &Dataset) -> ViewOutcome {
        let Some(index) = self.table.selected_index() else { return ViewOutcome::Ignored };
        let next = match &self.level {
            Level::Teams => match self.lines.get(index) {
                Some(TeamLine::Team { currency, team }) => {
                    Level::Services { currency: *currency, team: *team }
                }
                _ => return ViewOutcome::Status("unallocated and idle cost has no team".into()),
            },
            Level::Services { currency, team } => match self.services.get(index) {
                Some(service) => {
                    Level::Resources { currency: *currency, team: *team, service: service.clone() }
                }
                None => return ViewOutcome::Ignored,
            },
            Level::Resources { .. } => return ViewOutcome::Ignored,
        };
        self.saved.push(Saved {
            selected: Some(index),
            filter: self.table.filter.clone(),
            sort: self.table.sort,
        });
        self.level = next;
        self.table = DataTable::new(Vec::new());
        self.rebuild(data);
        ViewOutcome::Handled
    }

    fn back(&mut self, data: &Dataset) -> ViewOutcome {
        let Some(saved) = self.saved.pop() else { return ViewOutcome::Ignored };
        self.level = match &self.level {
            Level::Resources { currency, team, .. } => {
                Level::Services { currency: *currency, team: *team }
            }
            _ => Level::Teams,
        };
        self.table = DataTable::new(Vec::new());
        self.rebuild(data);
        self.table.sort = saved.sort;
        self.table.set_filter(&saved.filter);
        if let Some(i) = saved.selected {
            self.table.select_index(i);
        }
        ViewOutcome::Handled
    }

    /// The table's title at the current level.
    fn title(&self, a: &Allocation) -> String {
        let period = period_label(a);
        match &self.level {
            Level::Teams => {
                let vs = a
                    .previous_start
                    .map(|p| format!(" vs {}", p.format("%b %Y")))
                    .unwrap_or_default();
                format!("Chargeback by tag:{} · {period}{vs}", safe(&a.key))
            }
            Level::Services { currency, team } => {
                let name = team_name(a, *currency, *team);
                format!("{name} · direct cost by service · {period}")
            }
            Level::Resources { currency, team, service } => {
                let name = team_name(a, *currency, *team);
                format!("{name} · {} · resources · {period}", safe(service))
            }
        }
    }
}

fn team_name(a: &Allocation, currency: usize, team: usize) -> String {
    a.currencies
        .get(currency)
        .and_then(|c| c.teams.get(team))
        .map_or_else(String::new, |t| safe(&t.team))
}

type Table = (Vec<Column>, Vec<TableRow>, Option<Vec<String>>);

/// Teams of every currency, then the unallocated and idle lines; the footer is the bill.
fn teams_table(a: &Allocation, lines: &mut Vec<TeamLine>) -> Table {
    let columns = vec![
        Column::text("Team", "team", Constraint::Min(12)),
        Column::number("Direct", "direct", Constraint::Length(10)),
        Column::number("Shared", "shared", Constraint::Length(9)),
        Column::number("Total", "total", Constraint::Length(10)),
        Column::number("Share", "share", Constraint::Length(6)),
        Column::number("Change", "change", Constraint::Length(9)),
        Column::text("█direct ▒shared", "bar", Constraint::Length(BAR as u16 + 1)),
    ];
    lines.clear();
    let many = a.currencies.len() > 1;
    let mut rows = Vec::new();
    let mut footer_cells = Vec::new();
    for (ci, c) in a.currencies.iter().enumerate() {
        let max = c.teams.iter().map(|t| t.total_cost).chain([c.unallocated, c.idle]).max();
        let max = max.unwrap_or(Money::ZERO);
        let name = |n: &str| -> String {
            if many { format!("{} {}", c.currency, safe(n)) } else { safe(n) }
        };
        for (ti, t) in c.teams.iter().enumerate() {
            let (change, change_key) = change_cells(t.change);
            let cells = vec![
                name(&t.team),
                t.direct_cost.display_2dp(),
                t.shared_cost.display_2dp(),
                t.total_cost.display_2dp(),
                share_cell(t.share_of_bill),
                change,
                bar(t.direct_cost, t.shared_cost, max, BAR),
            ];
            let keys = vec![
                SortKey::Text(t.team.clone()),
                SortKey::Money(t.direct_cost),
                SortKey::Money(t.shared_cost),
                SortKey::Money(t.total_cost),
                t.share_of_bill.map_or(SortKey::None, SortKey::Money),
                change_key,
                SortKey::Money(t.total_cost),
            ];
            rows.push(TableRow::new(cells, keys));
            lines.push(TeamLine::Team { currency: ci, team: ti });
        }
        let mut other = |label: &str, amount: Money, previous: Option<Money>| {
            let change = previous.map(|p| amount - p);
            let (change, change_key) = change_cells(change);
            let cells = vec![
                name(label),
                amount.display_2dp(),
                String::new(),
                amount.display_2dp(),
                share_cell(amount.share_of(c.bill)),
                change,
                bar(amount, Money::ZERO, max, BAR),
            ];
            let keys = vec![
                SortKey::Text(label.to_string()),
                SortKey::Money(amount),
                SortKey::None,
                SortKey::Money(amount),
                amount.share_of(c.bill).map_or(SortKey::None, SortKey::Money),
                change_key,
                SortKey::Money(amount),
            ];
            rows.push(TableRow::new(cells, keys).with(Emphasis::Dim));
            lines.push(TeamLine::Other);
        };
        other("·unallocated", c.unallocated, c.previous_unallocated);
        // Idle exists only where a cluster's nodes are split; absent, the line would be noise.
        if c.idle.raw() != 0 || c.pools.iter().any(|p| p.idle.is_some()) {
            other("·idle", c.idle, c.previous_idle);
        }
        let change = c.previous_bill.map(|p| c.bill - p);
        footer_cells.push((c, change));
    }
    // The footer holds one bill; with several currencies each has its own, in the head lines.
    let footer = match footer_cells.as_slice() {
        [(c, change)] => Some(vec![
            "Bill".to_string(),
            String::new(),
            String::new(),
            c.bill.display_2dp(),
            "100%".to_string(),
            change.map_or_else(|| "—".to_string(), signed),
            String::new(),
        ]),
        _ => None,
    };
    (columns, rows, footer)
}

/// A team's direct cost by service; the footer is its direct cost.
fn services_table(c: &CurrencyAllocation, t: &TeamRow, services: &mut Vec<String>) -> Table {
    let columns = vec![
        Column::text("Service", "service", Constraint::Min(20)),
        Column::number("Direct", "direct", Constraint::Length(10)),
        Column::number("Of team", "share", Constraint::Length(7)),
        Column::text("", "bar", Constraint::Length(BAR as u16 + 1)),
    ];
    let max = t.services.iter().map(|s| s.direct_cost).max().unwrap_or(Money::ZERO);
    services.clear();
    let rows = t
        .services
        .iter()
        .map(|s| {
            services.push(s.service.clone());
            let share = s.direct_cost.share_of(t.direct_cost);
            TableRow::new(
                vec![
                    safe(&s.service),
                    s.direct_cost.display_2dp(),
                    share_cell(share),
                    bar(s.direct_cost, Money::ZERO, max, BAR),
                ],
                vec![
                    SortKey::Text(s.service.clone()),
                    SortKey::Money(s.direct_cost),
                    share.map_or(SortKey::None, SortKey::Money),
                    SortKey::Money(s.direct_cost),
                ],
            )
        })
        .collect();
    // Shared cost is split by team, not by service: it is in the total, not in the rows.
    let footer = vec![
        format!(
            "Direct · + {} shared = {}",
            t.shared_cost.display_2dp(),
            money(t.total_cost, &c.currency)
        ),
        t.direct_cost.display_2dp(),
        "100%".to_string(),
        String::new(),
    ];
    (columns, rows, Some(footer))
}

/// The team's billing lines of `service` in the allocated period, by resource.
fn resources_table(
    a: &Allocation,
    c: &CurrencyAllocation,
    folded: &str,
    service: &str,
    billing: &BillingSummary,
    direct: &[Option<String>],
    settings: &AllocationSettings,
) -> Table {
    let columns = vec![
        Column::text("Resource", "resource", Constraint::Min(20)),
        Column::text("Region", "region", Constraint::Length(14)),
        Column::text("Account", "account", Constraint::Length(14)),
        Column::number("Cost", "cost", Constraint::Length(10)),
    ];
    let within =
        |day: Option<chrono::NaiveDate>| match (a.previous_start, a.period_start, a.period_end) {
            // A month was allocated: only its days.
            (Some(_), Some(start), Some(end)) => day.is_some_and(|d| start <= d && d <= end),
            _ => true,
        };
    let mut by_resource: BTreeMap<(&str, &str, &str), Money> = BTreeMap::new();
    for (line, team) in billing.lines.iter().zip(direct) {
        if team.as_deref() == Some(folded)
            && line.service == service
            && line.currency == c.currency
            && within(line.day)
        {
            *by_resource
                .entry((line.resource_id.as_str(), line.region.as_str(), line.account_id.as_str()))
                .or_default() += settings.cost.of(line);
        }
    }
    let mut items: Vec<_> = by_resource.into_iter().collect();
    items.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let total: Money = items.iter().map(|(_, m)| *m).sum();
    let rows = items
        .into_iter()
        .map(|((id, region, account), cost)| {
            let shown = if id.is_empty() { "(no resource id)" } else { short_id(id) };
            let account_name = billing.account_names.get(account).map_or(account, |n| n.as_str());
            TableRow::new(
                vec![safe(shown), safe(region), safe(account_name), cost.display_2dp()],
                vec![
                    SortKey::Text(id.to_string()),
                    SortKey::Text(region.to_string()),
                    SortKey::Text(account_name.to_string()),
                    SortKey::Money(cost),
                ],
            )
        })
        .collect();
    let footer = vec!["Direct".to_string(), String::new(), String::new(), total.display_2dp()];
    (columns, rows, Some(footer))
}

/// One line per currency: its pools (name, split, amount) and, with several currencies, its bill.
fn pool_lines(a: &Allocation, theme: &Theme) -> Vec<Line<'static>> {
    let many = a.currencies.len() > 1;
    a.currencies
        .iter()
        .map(|c| {
            let mut spans = vec![Span::styled(
                if many { format!(" {} pools: ", c.currency) } else { " Pools: ".to_string() },
                theme.header(),
            )];
            if c.pools.is_empty() {
                spans.push(Span::styled("none", theme.dim()));
            }
            for (i, p) in c.pools.iter().enumerate() {
                if i > 0 {
                    spans.push(Span::raw(" · "));
                }
                spans.push(Span::styled(safe(&p.name), theme.title()));
                spans.push(Span::styled(format!(" {} ", p.split.as_str()), theme.dim()));
                spans.push(Span::raw(p.amount.display_2dp()));
            }
            spans.push(Span::styled("  (in Shared)", theme.dim()));
            if many {
                spans.push(Span::raw(format!("  bill {}", money(c.bill, &c.currency))));
            }
            Line::from(spans)
        })
        .collect()
}

impl ViewState for ChargebackView {
    fn load(&mut self, _data: &Dataset) {
        self.pending = true;
    }

    fn key(&mut self, key: KeyEvent, data: &Dataset) -> ViewOutcome {
        match key.code {
            KeyCode::Enter | KeyCode::Right => self.drill(data),
            KeyCode::Esc | KeyCode::Backspace | KeyCode::Left => self.back(data),
            _ => ViewOutcome::Ignored,
        }
    }

    fn table(&mut self) -> Option<&mut DataTable> {
        match self.chargeback {
            Chargeback::Ready(_) => Some(&mut self.table),
            _ => None,
        }
    }

    fn render(&self, _data: &Dataset, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let message = |lines: Vec<Line<'static>>, buf: &mut Buffer| {
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(Block::default().borders(Borders::ALL).title(" Chargeback "))
                .render(area, buf);
        };
        let ready = match &self.chargeback {
            Chargeback::Ready(ready) => ready,
            Chargeback::NoKey => {
                message(
                    vec![
                        Line::styled("No team tag to allocate by.", theme.warning()),
                        Line::from(""),
                        Line::from("Name the tag key that holds the team in costscope.toml:"),
                        Line::styled("  [allocation]", theme.title()),
                        Line::styled("  key = \"team\"", theme.title()),
                        Line::from(""),
                        Line::from("or allocate from the command line:"),
                        Line::styled("  costscope allocate --by tag:KEY", theme.title()),
                        Line::from(""),
                        Line::styled(
                            "The billing has no `team` tag, the key used when none is configured \
                             (README: Showback and chargeback).",
                            theme.dim(),
                        ),
                    ],
                    buf,
                );
                return;
            }
            Chargeback::NoBilling => {
                message(
                    vec![Line::styled(
                        "Chargeback needs billing: give --focus FILE or --cur FILE.",
                        theme.dim(),
                    )],
                    buf,
                );
                return;
            }
            Chargeback::Failed(e) => {
                message(
                    vec![
                        Line::styled("Could not allocate the bill", theme.error()),
                        Line::from(safe(e)),
                    ],
                    buf,
                );
                return;
            }
        };
        let a = &ready.allocation;
        let pools = pool_lines(a, theme);
        let mut head = pools;
        let source = if ready.configured {
            "key from [allocation] of the config"
        } else {
            "team tag from the billing ([allocation] key)"
        };
        let keys = match self.level {
            Level::Teams => "Enter: services",
            Level::Services { .. } => "Enter: resources · Backspace: up",
            Level::Resources { .. } => "Backspace: up",
        };
        head.push(Line::styled(format!(" {source} · {keys}"), theme.dim()));
        let head_height = (head.len() as u16).min(area.height / 3);
        let [top, main] =
            Layout::vertical([Constraint::Length(head_height), Constraint::Min(3)]).areas(area);
        Paragraph::new(head).render(top, buf);
        self.table.render(main, buf, theme, &self.title(a), true);
    }

    fn help(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("Enter, →", "drill: team → services → resources"),
            ("Esc, Backspace, ←", "back up one level (keeps the selection)"),
            ("/team:data", "filter by team, service, …"),
            ("e", "none here: `costscope allocate --format csv` exports it"),
        ]
    }

    fn export(&self, _data: &Dataset) -> Option<(String, ExportJob)> {
        // `costscope allocate` writes the chargeback in every format; the view has no exporter.
        None
    }
}
