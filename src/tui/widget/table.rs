//! A table of precomputed rows with selection, incremental filter and sort by any column.
//!
//! Filtering and sorting happen when the user asks (in `update`), producing the list of visible
//! rows; rendering only draws the rows that fit on screen, so a table of 100k rows costs the
//! same to draw as one of 30.

use std::cell::Cell;
use std::cmp::Ordering;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell as TableCell, Row, Table, Widget};

use super::truncate;
use crate::model::Money;
use crate::tui::theme::Theme;

/// A column: its title, the filter alias (`rule:` in `/rule:ec2`), its width and alignment.
#[derive(Clone, Debug)]
pub struct Column {
    pub title: &'static str,
    pub alias: &'static str,
    pub width: Constraint,
    pub right: bool,
}

impl Column {
    pub fn text(title: &'static str, alias: &'static str, width: Constraint) -> Column {
        Column { title, alias, width, right: false }
    }
    pub fn number(title: &'static str, alias: &'static str, width: Constraint) -> Column {
        Column { title, alias, width, right: true }
    }
}

/// What a cell sorts by.
#[derive(Clone, Debug, PartialEq)]
pub enum SortKey {
    Text(String),
    Money(Money),
    Number(f64),
    None,
}

impl SortKey {
    fn compare(&self, other: &SortKey) -> Ordering {
        match (self, other) {
            // Lowercased once in `set_rows`, not on every comparison.
            (SortKey::Text(a), SortKey::Text(b)) => a.cmp(b),
            (SortKey::Money(a), SortKey::Money(b)) => a.cmp(b),
            (SortKey::Number(a), SortKey::Number(b)) => a.total_cmp(b),
            (SortKey::None, SortKey::None) => Ordering::Equal,
            (SortKey::None, _) => Ordering::Less,
            (_, SortKey::None) => Ordering::Greater,
            _ => Ordering::Equal,
        }
    }
}

/// How a row is emphasised; always paired with a visible marker in the cells themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Emphasis {
    #[default]
    Normal,
    Good,
    Warning,
    Dim,
    Total,
}

/// One row: display cells (already safe for the terminal) and sort keys, one per column.
#[derive(Clone, Debug)]
pub struct TableRow {
    pub cells: Vec<String>,
    pub keys: Vec<SortKey>,
    pub emphasis: Emphasis,
}

impl TableRow {
    pub fn new(cells: Vec<String>, keys: Vec<SortKey>) -> TableRow {
        TableRow { cells, keys, emphasis: Emphasis::Normal }
    }
    pub fn with(mut self, emphasis: Emphasis) -> TableRow {
        self.emphasis = emphasis;
        self
    }
}

#[derive(Debug, Default)]
pub struct DataTable {
    pub columns: Vec<Column>,
    rows: Vec<TableRow>,
    /// Each row's cells lowercased, made once per `set_rows` so filtering is a plain search.
    search: Vec<Vec<String>>,
    /// Indexes into `rows` that pass the filter, in sort order.
    visible: Vec<usize>,
    /// Index into `visible`.
    selected: usize,
    pub filter: String,
    /// Column and descending flag; `None` keeps the order the rows were given in.
    pub sort: Option<(usize, bool)>,
    pub footer: Option<Vec<String>>,
    /// Set while drawing: the first row shown and the area, for scrolling and mouse clicks.
    offset: Cell<usize>,
    body: Cell<Rect>,
}

impl DataTable {
    pub fn new(columns: Vec<Column>) -> DataTable {
        DataTable { columns, ..Default::default() }
    }

    /// Replaces the rows, keeping the filter and sort, and the selection by position.
    pub fn set_rows(&mut self, mut rows: Vec<TableRow>) {
        for row in &mut rows {
            for key in &mut row.keys {
                if let SortKey::Text(t) = key {
                    *t = t.to_lowercase();
                }
            }
        }
        self.search =
            rows.iter().map(|r| r.cells.iter().map(|c| c.to_lowercase()).collect()).collect();
        self.rows = rows;
        self.refresh();
    }

    pub fn len(&self) -> usize {
        self.visible.len()
    }

    pub fn is_empty(&self) -> bool {
        self.visible.is_empty()
    }

    pub fn total_rows(&self) -> usize {
        self.rows.len()
    }

    /// The index (into the rows given to `set_rows`) of the selected row.
    pub fn selected_index(&self) -> Option<usize> {
        self.visible.get(self.selected).copied()
    }

    /// The source index of the row at `position` in the visible order.
    pub fn visible_index(&self, position: usize) -> Option<usize> {
        self.visible.get(position).copied()
    }

    pub fn selected_row(&self) -> Option<&TableRow> {
        self.selected_index().and_then(|i| self.rows.get(i))
    }

    /// Selects the row with the given source index, if visible.
    pub fn select_index(&mut self, index: usize) {
        if let Some(pos) = self.visible.iter().position(|&i| i == index) {
            self.selected = pos;
        }
    }

    pub fn set_filter(&mut self, filter: &str) {
        self.filter = filter.to_string();
        self.refresh();
    }

    /// Sorts by `column`; asking for the same column again flips the direction. Numbers start
    /// descending (largest first), text ascending.
    pub fn sort_by(&mut self, column: usize) {
        let default_desc = self.columns.get(column).is_some_and(|c| c.right);
        self.sort = match self.sort {
            Some((c, desc)) if c == column => Some((c, !desc)),
            _ => Some((column, default_desc)),
        };
        self.refresh();
    }

    /// Sorts by the next column (wrapping), for keyboard users.
    pub fn sort_next(&mut self) {
        let next = self.sort.map_or(0, |(c, _)| (c + 1) % self.columns.len().max(1));
        self.sort = None;
        self.sort_by(next);
    }

    pub fn reverse(&mut self) {
        if let Some((c, desc)) = self.sort {
            self.sort = Some((c, !desc));
            self.refresh();
        }
    }

    fn refresh(&mut self) {
        let selected = self.selected_index();
        let terms = parse_filter(&self.filter, &self.columns);
        self.visible = (0..self.rows.len())
            .filter(|&i| self.search.get(i).is_some_and(|cells| matches(cells, &terms)))
            .collect();
        if let Some((column, desc)) = self.sort {
            let rows = &self.rows;
            self.visible.sort_by(|&a, &b| {
                let ka = rows[a].keys.get(column).unwrap_or(&SortKey::None);
                let kb = rows[b].keys.get(column).unwrap_or(&SortKey::None);
                let o = ka.compare(kb);
                (if desc { o.reverse() } else { o }).then(a.cmp(&b))
            });
        }
        self.selected = match selected {
            Some(i) => self.visible.iter().position(|&v| v == i).unwrap_or(0),
            None => 0,
        };
    }

    /// Moves the selection by `delta` rows, clamped.
    pub fn move_by(&mut self, delta: isize) {
        if self.visible.is_empty() {
            self.selected = 0;
            return;
        }
        let last = self.visible.len() as isize - 1;
        self.selected = (self.selected as isize + delta).clamp(0, last) as usize;
    }

    pub fn page(&self) -> isize {
        self.body.get().height.max(1) as isize
    }

    pub fn home(&mut self) {
        self.selected = 0;
    }

    pub fn end(&mut self) {
        self.selected = self.visible.len().saturating_sub(1);
    }

    /// Selects the row drawn at screen row `y`; returns whether a row was hit.
    pub fn click(&mut self, x: u16, y: u16) -> bool {
        let body = self.body.get();
        if x < body.x || x >= body.x + body.width || y < body.y || y >= body.y + body.height {
            return false;
        }
        let pos = self.offset.get() + (y - body.y) as usize;
        if pos < self.visible.len() {
            self.selected = pos;
            true
        } else {
            false
        }
    }

    /// The header row's area, to map a click to a column for sorting.
    pub fn header_click(&mut self, x: u16, y: u16) -> bool {
        let body = self.body.get();
        if body.y == 0 || y != body.y - 1 || x < body.x || x >= body.x + body.width {
            return false;
        }
        let widths = column_widths(&self.columns, body.width);
        let mut left = body.x;
        for (i, w) in widths.iter().enumerate() {
            if x >= left && x < left + w {
                self.sort_by(i);
                return true;
            }
            left += w + 1;
        }
        false
    }

    /// Draws the table inside a bordered block titled `title`.
    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, title: &str, focused: bool) {
        let count = if self.visible.len() == self.rows.len() {
            format!(" {} ", self.rows.len())
        } else {
            format!(" {} of {} ", self.visible.len(), self.rows.len())
        };
        let filter = if self.filter.is_empty() {
            String::new()
        } else {
            format!(" filter: {} ", super::safe(&self.filter))
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(if focused { theme.header() } else { theme.dim() })
            .title(Line::from(vec![
                Span::styled(format!(" {title} "), theme.title()),
                Span::styled(count, theme.dim()),
                Span::styled(filter, theme.warning()),
            ]));
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.height < 2 || inner.width < 4 {
            return;
        }
        let footer_height = u16::from(self.footer.is_some());
        let body_height = inner.height.saturating_sub(1 + footer_height) as usize;
        let body = Rect { y: inner.y + 1, height: body_height as u16, ..inner };
        self.body.set(body);
        let mut offset = self.offset.get().min(self.visible.len().saturating_sub(1));
        if self.selected < offset {
            offset = self.selected;
        } else if body_height > 0 && self.selected >= offset + body_height {
            offset = self.selected + 1 - body_height;
        }
        self.offset.set(offset);

        let widths = column_widths(&self.columns, inner.width);
        let header = Row::new(self.columns.iter().enumerate().map(|(i, c)| {
            let marker = match self.sort {
                Some((s, true)) if s == i => " ▼",
                Some((s, false)) if s == i => " ▲",
                _ => "",
            };
            let title = format!("{}{marker}", c.title);
            if c.right {
                TableCell::from(Line::from(title).right_aligned())
            } else {
                TableCell::from(title)
            }
        }))
        .style(theme.header());
        let fit = |text: &str, i: usize| -> TableCell<'static> {
            let w = widths.get(i).copied().unwrap_or(0) as usize;
            let t = truncate(text, w);
            let right = self.columns.get(i).is_some_and(|c| c.right);
            if right { TableCell::from(Line::from(t).right_aligned()) } else { TableCell::from(t) }
        };
        let mut rows: Vec<Row> = self
            .visible
            .iter()
            .enumerate()
            .skip(offset)
            .take(body_height)
            .map(|(pos, &i)| {
                let row = &self.rows[i];
                let style = if pos == self.selected && focused {
                    theme.selected()
                } else {
                    emphasis_style(row.emphasis, theme)
                };
                Row::new(row.cells.iter().enumerate().map(|(c, t)| fit(t, c))).style(style)
            })
            .collect();
        if self.visible.is_empty() {
            let message =
                if self.rows.is_empty() { "(no rows)" } else { "(no rows match the filter)" };
            rows.push(Row::new(vec![TableCell::from(message)]).style(theme.dim()));
        }
        while rows.len() < body_height {
            rows.push(Row::new(Vec::<TableCell>::new()));
        }
        if let Some(footer) = &self.footer {
            rows.push(
                Row::new(footer.iter().enumerate().map(|(c, t)| fit(t, c))).style(theme.title()),
            );
        }
        let constraints: Vec<Constraint> = widths.iter().map(|w| Constraint::Length(*w)).collect();
        Table::new(rows, constraints).header(header).column_spacing(1).render(inner, buf);
    }
}

fn emphasis_style(emphasis: Emphasis, theme: &Theme) -> Style {
    match emphasis {
        Emphasis::Normal => Style::new(),
        Emphasis::Good => theme.savings(),
        Emphasis::Warning => theme.warning(),
        Emphasis::Dim => theme.dim(),
        Emphasis::Total => theme.title(),
    }
}

/// Resolves the columns' constraints against the available width (one space between columns).
fn column_widths(columns: &[Column], width: u16) -> Vec<u16> {
    let spacing = columns.len().saturating_sub(1) as u16;
    let area = Rect { x: 0, y: 0, width: width.saturating_sub(spacing), height: 1 };
    let constraints: Vec<Constraint> = columns.iter().map(|c| c.width).collect();
    ratatui::layout::Layout::horizontal(constraints).split(area).iter().map(|r| r.width).collect()
}

/// A filter term: text anywhere in the row, or text in one column (`alias:value`).
#[derive(Debug, PartialEq)]
enum Term {
    Any(String),
    In(usize, String),
}

fn parse_filter(filter: &str, columns: &[Column]) -> Vec<Term> {
    filter
        .split_whitespace()
        .map(|token| {
            if let Some((field, value)) = token.split_once(':') {
                let field = field.to_lowercase();
                if let Some(i) =
                    columns.iter().position(|c| c.alias == field || c.title.to_lowercase() == field)
                {
                    return Term::In(i, value.to_lowercase());
                }
            }
            Term::Any(token.to_lowercase())
        })
        .collect()
}

/// `cells` are already lowercased, as are the terms.
fn matches(cells: &[String], terms: &[Term]) -> bool {
    terms.iter().all(|term| match term {
        Term::Any(t) => cells.iter().any(|c| c.contains(t.as_str())),
        Term::In(i, t) => cells.get(*i).is_some_and(|c| c.contains(t.as_str())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> DataTable {
        let mut t = DataTable::new(vec![
            Column::text("Rule", "rule", Constraint::Length(10)),
            Column::number("Savings", "savings", Constraint::Length(8)),
        ]);
        let row = |rule: &str, s: &str| {
            TableRow::new(
                vec![rule.into(), s.into()],
                vec![SortKey::Text(rule.into()), SortKey::Money(Money::parse(s).unwrap())],
            )
        };
        t.set_rows(vec![row("ec2-idle", "70"), row("eip", "3.65"), row("ec2-rightsize", "140")]);
        t
    }

    #[test]
    fn filters_by_any_text_and_by_column() {
        let mut t = table();
        t.set_filter("ec2");
        assert_eq!(t.len(), 2);
        t.set_filter("rule:eip");
        assert_eq!(t.len(), 1);
        t.set_filter("rule:ec2 140");
        assert_eq!(t.len(), 1);
        t.set_filter("");
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn sorts_numbers_descending_first_and_keeps_selection() {
        let mut t = table();
        t.move_by(1); // eip
        t.sort_by(1);
        assert_eq!(t.selected_row().unwrap().cells[0], "eip");
        assert_eq!(t.selected_index(), Some(1));
        t.home();
        assert_eq!(t.selected_row().unwrap().cells[0], "ec2-rightsize");
        t.sort_by(1);
        t.home();
        assert_eq!(t.selected_row().unwrap().cells[0], "eip");
    }

    #[test]
    fn movement_is_clamped() {
        let mut t = table();
        t.move_by(-5);
        assert_eq!(t.selected_index(), Some(0));
        t.move_by(50);
        assert_eq!(t.selected_index(), Some(2));
        t.set_filter("nothing-matches");
        assert_eq!(t.selected_index(), None);
    }
}
