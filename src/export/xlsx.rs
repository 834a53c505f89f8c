//! Excel workbooks (`--format xlsx`): one sheet per section, each a table with a bold, frozen
//! header row and an autofilter; numbers are numeric cells, days are Excel dates.
//!
//! Every sheet is a [`Table`] (column names and typed [`Cell`]s) given to [`Book::sheet`]: a
//! new command's workbook is its tables, built beside its CSV writer with the same columns.
//!
//! Text is always written as a string cell, never as a formula, so a resource named
//! `=HYPERLINK(…)` stays that text: unlike the CSV (where a reader decides what a cell is) no
//! `'` prefix is needed or added. Control characters and bidirectional overrides are replaced
//! by spaces as in every other export ([`super::plain_text`]).
//!
//! Money is exact decimal ([`Money`]); a cell holds an IEEE double, the one nearest the decimal
//! the CSV prints (Excel shows 15 significant digits).

use std::io::{self, Write};

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, XlsxError};

use super::Notes;
use crate::analysis::costs::CostBreakdown;
use crate::analysis::tag_coverage::TagCoverage;
use crate::model::Money;
use crate::report::Report;

/// One cell of a table.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Money(Money),
    Count(u64),
    Signed(i64),
    Day(NaiveDate),
    /// A moment, shown to the second (UTC).
    Time(DateTime<Utc>),
    Bool(bool),
    Empty,
}

impl Cell {
    pub fn text(text: &str) -> Cell {
        Cell::Text(text.to_string())
    }

    pub fn money(value: Option<Money>) -> Cell {
        value.map_or(Cell::Empty, Cell::Money)
    }

    pub fn day(value: Option<NaiveDate>) -> Cell {
        value.map_or(Cell::Empty, Cell::Day)
    }

    /// Characters the column needs to show this cell, for its width.
    fn width(&self) -> usize {
        match self {
            Cell::Text(t) => t.chars().count(),
            Cell::Money(m) => m.display_2dp().len(),
            Cell::Count(n) => n.to_string().len(),
            Cell::Signed(n) => n.to_string().len(),
            Cell::Day(_) => 10,
            Cell::Time(_) => 19,
            Cell::Bool(_) => 5,
            Cell::Empty => 0,
        }
    }
}

/// One sheet: a header row and rows of cells.
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub name: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(name: &str, header: &[&str]) -> Table {
        Table {
            name: name.to_string(),
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }
}

/// Excel's limits: rows per sheet (the header takes one), characters per cell, characters of
/// a sheet name.
const MAX_ROWS: usize = 1_048_576;
const MAX_CELL_CHARS: usize = 32_767;
const MAX_NAME_CHARS: usize = 31;
/// Column widths follow their content up to this many characters.
const MAX_WIDTH: usize = 60;
/// Shows cents always and every further decimal a figure has (up to 10).
const MONEY_FORMAT: &str = "#,##0.00########";
const DAY_FORMAT: &str = "yyyy-mm-dd";
const TIME_FORMAT: &str = "yyyy-mm-dd hh:mm:ss";

fn xlsx_io(e: XlsxError) -> io::Error {
    io::Error::other(format!("xlsx: {e}"))
}

/// A workbook being filled, sheet by sheet.
pub struct Book {
    workbook: Workbook,
    names: Vec<String>,
    header: Format,
    money: Format,
    day: Format,
    time: Format,
}

impl Book {
    /// A workbook whose creation time is `created` (the data's time), so the same input gives
    /// the same bytes.
    pub fn new(created: DateTime<Utc>) -> io::Result<Book> {
        let mut workbook = Workbook::new();
        let created = excel_datetime(created).map_err(xlsx_io)?;
        workbook.set_properties(
            &DocProperties::new().set_creation_datetime(&created).set_author("costscope"),
        );
        Ok(Book {
            workbook,
            names: Vec::new(),
            header: Format::new().set_bold(),
            money: Format::new().set_num_format(MONEY_FORMAT),
            day: Format::new().set_num_format(DAY_FORMAT),
            time: Format::new().set_num_format(TIME_FORMAT),
        })
    }

    /// Adds `table` as a sheet: bold header frozen at the top, an autofilter over the data,
    /// each column as wide as its content (capped).
    pub fn sheet(&mut self, table: &Table) -> io::Result<()> {
        if table.rows.len() >= MAX_ROWS {
            return Err(io::Error::other(format!(
                "xlsx: sheet {:?} has {} rows; a sheet holds at most {}: use --format csv",
                table.name,
                table.rows.len(),
                MAX_ROWS - 1
            )));
        }
        let name = self.unique_name(&table.name);
        let columns = table.header.len().max(1);
        let mut widths: Vec<usize> = table.header.iter().map(|h| h.chars().count()).collect();
        widths.resize(columns, 0);
        let sheet = self.workbook.add_worksheet();
        sheet.set_name(&name).map_err(xlsx_io)?;
        for (col, title) in table.header.iter().enumerate() {
            sheet
                .write_string_with_format(0, col_num(col)?, clean(title), &self.header)
                .map_err(xlsx_io)?;
        }
        for (r, cells) in table.rows.iter().enumerate() {
            let row = row_num(r + 1)?;
            for (c, cell) in cells.iter().enumerate() {
                let col = col_num(c)?;
                if let Some(w) = widths.get_mut(c) {
                    *w = (*w).max(cell.width());
                }
                match cell {
                    // An empty text is an empty cell, as in the CSV.
                    Cell::Text(t) if t.is_empty() => Ok(()),
                    Cell::Text(t) => sheet.write_string(row, col, clean(t)).map(drop),
                    Cell::Money(m) => sheet
                        .write_number_with_format(row, col, money_f64(*m), &self.money)
                        .map(drop),
                    Cell::Count(n) => sheet.write_number(row, col, *n as f64).map(drop),
                    Cell::Signed(n) => sheet.write_number(row, col, *n as f64).map(drop),
                    Cell::Day(d) => match excel_date(*d) {
                        Ok(x) => {
                            sheet.write_datetime_with_format(row, col, &x, &self.day).map(drop)
                        }
                        // Outside Excel's calendar (1900–9999): the ISO text.
                        Err(_) => sheet.write_string(row, col, d.to_string()).map(drop),
                    },
                    Cell::Time(t) => match excel_datetime(*t) {
                        Ok(x) => {
                            sheet.write_datetime_with_format(row, col, &x, &self.time).map(drop)
                        }
                        Err(_) => sheet.write_string(row, col, t.to_rfc3339()).map(drop),
                    },
                    Cell::Bool(b) => sheet.write_boolean(row, col, *b).map(drop),
                    Cell::Empty => Ok(()),
                }
                .map_err(xlsx_io)?;
            }
        }
        let last_col = col_num(columns - 1)?;
        sheet.set_freeze_panes(1, 0).map_err(xlsx_io)?;
        sheet.autofilter(0, 0, row_num(table.rows.len())?, last_col).map_err(xlsx_io)?;
        for (c, w) in widths.iter().enumerate() {
            // Room for the filter button beside the header.
            let width = (*w + 3).clamp(8, MAX_WIDTH);
            sheet.set_column_width(col_num(c)?, width as f64).map_err(xlsx_io)?;
        }
        Ok(())
    }

    /// The Notes sheet: skipped billing rows and warnings, when there are any.
    pub fn notes(&mut self, notes: &Notes) -> io::Result<()> {
        let mut table = Table::new("Notes", &["kind", "note"]);
        if let Some(s) = &notes.skipped {
            table.row(vec![Cell::text("skipped rows"), Cell::text(s)]);
        }
        for w in &notes.warnings {
            table.row(vec![Cell::text("warning"), Cell::text(w)]);
        }
        if table.rows.is_empty() { Ok(()) } else { self.sheet(&table) }
    }

    /// Writes the finished workbook to `out` (the atomic writer of `--out`, or stdout).
    pub fn write_to(mut self, out: &mut dyn Write) -> io::Result<()> {
        let bytes = self.workbook.save_to_buffer().map_err(xlsx_io)?;
        out.write_all(&bytes)
    }

    /// A valid sheet name (no `[]:*?/\`, at most 31 characters, not blank), unique in the
    /// book regardless of case as Excel requires.
    fn unique_name(&mut self, wanted: &str) -> String {
        let base: String = clean(wanted)
            .chars()
            .map(|c| if matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') { ' ' } else { c })
            .collect();
        let base = base.trim().trim_matches('\'').trim();
        let base = if base.is_empty() { "Sheet" } else { base };
        let mut n = 1;
        loop {
            let suffix = if n == 1 { String::new() } else { format!(" ({n})") };
            let keep = MAX_NAME_CHARS - suffix.chars().count();
            let name: String = base.chars().take(keep).collect::<String>() + &suffix;
            if !self.names.iter().any(|have| have.to_lowercase() == name.to_lowercase()) {
                self.names.push(name.clone());
                return name;
            }
            n += 1;
        }
    }
}

/// Text as a cell holds it: unsafe characters replaced by spaces, cut to Excel's 32,767
/// characters.
fn clean(text: &str) -> String {
    let plain = super::plain_text(text);
    match plain.char_indices().nth(MAX_CELL_CHARS) {
        Some((end, _)) => plain[..end].to_string(),
        None => plain.into_owned(),
    }
}

/// The double nearest the exact decimal (what a reader of the CSV gets when it parses it).
fn money_f64(m: Money) -> f64 {
    m.to_string().parse().unwrap_or_else(|_| m.to_f64())
}

fn row_num(i: usize) -> io::Result<u32> {
    u32::try_from(i).map_err(|_| io::Error::other("xlsx: too many rows"))
}

fn col_num(i: usize) -> io::Result<u16> {
    u16::try_from(i).map_err(|_| io::Error::other("xlsx: too many columns"))
}

fn excel_date(d: NaiveDate) -> Result<ExcelDateTime, XlsxError> {
    let year = u16::try_from(d.year()).map_err(|_| XlsxError::DateTimeRangeError(d.to_string()))?;
    ExcelDateTime::from_ymd(year, d.month() as u8, d.day() as u8)
}

fn excel_datetime(t: DateTime<Utc>) -> Result<ExcelDateTime, XlsxError> {
    excel_date(t.date_naive())?.and_hms(t.hour() as u16, t.minute() as u8, t.second())
}

/// A creation time for workbooks whose data carries none: the zip entries' own date, so the
/// same input gives the same bytes.
fn fixed_time() -> DateTime<Utc> {
    DateTime::from_timestamp(315_532_800, 0).unwrap_or_default()
}

/// The rows of `costs --by`: the CSV's columns.
pub fn costs_table(name: &str, costs: &CostBreakdown) -> Table {
    let named = costs.dimension == "account";
    let mut header = vec![costs.dimension.as_str(), "billed_cost", "effective_cost", "currency"];
    if named {
        header.push("account_name");
    }
    let mut table = Table::new(name, &header);
    let by_day = costs.dimension == "day";
    for row in &costs.rows {
        let key = match NaiveDate::parse_from_str(&row.key, "%Y-%m-%d") {
            Ok(day) if by_day => Cell::Day(day),
            _ => Cell::text(&row.key),
        };
        let mut cells = vec![
            key,
            Cell::Money(row.billed_cost),
            Cell::money(row.effective_cost),
            Cell::text(&row.currency.to_string()),
        ];
        if named {
            cells.push(Cell::text(row.name.as_deref().unwrap_or("")));
        }
        table.row(cells);
    }
    table
}

/// `costs`: the breakdown, its totals per currency, and the notes.
pub fn write_costs(out: &mut dyn Write, costs: &CostBreakdown, notes: &Notes) -> io::Result<()> {
    let mut book = Book::new(fixed_time())?;
    book.sheet(&costs_table(&format!("Costs by {}", costs.dimension), costs))?;
    let mut totals = Table::new("Totals", &["currency", "billed_cost", "effective_cost"]);
    for t in &costs.totals {
        totals.row(vec![
            Cell::text(&t.currency.to_string()),
            Cell::Money(t.billed_cost),
            Cell::money(t.effective_cost),
        ]);
    }
    book.sheet(&totals)?;
    book.notes(notes)?;
    book.write_to(out)
}

/// The tags CSV's rows: one per required key and currency.
fn tag_keys_table(tags: &TagCoverage) -> Table {
    let mut table = Table::new(
        "Tag coverage",
        &[
            "key",
            "currency",
            "tagged_cost",
            "total_cost",
            "cost_share",
            "resources_tagged",
            "resources_total",
            "resource_share",
        ],
    );
    for k in &tags.keys {
        table.row(vec![
            Cell::text(&k.key),
            Cell::text(&k.currency.to_string()),
            Cell::Money(k.tagged_cost),
            Cell::Money(k.total_cost),
            Cell::money(k.cost_share),
            Cell::Count(k.resources_tagged),
            Cell::Count(k.resources_total),
            Cell::money(k.resource_share),
        ]);
    }
    table
}

/// `tags`: coverage per key, the untagged resources, the spelling issues, and the notes.
pub fn write_tags(out: &mut dyn Write, tags: &TagCoverage, notes: &Notes) -> io::Result<()> {
    let mut book = Book::new(fixed_time())?;
    book.sheet(&tag_keys_table(tags))?;
    let mut untagged = Table::new(
        "Untagged resources",
        &[
            "resource_id",
            "resource_type",
            "service",
            "account_id",
            "region",
            "missing",
            "cost",
            "currency",
        ],
    );
    for u in &tags.untagged {
        untagged.row(vec![
            Cell::text(&u.resource_id),
            Cell::text(&u.resource_type),
            Cell::text(&u.service),
            Cell::text(&u.account_id),
            Cell::text(&u.region),
            Cell::text(&u.missing.join(", ")),
            Cell::Money(u.cost),
            Cell::text(&u.currency.to_string()),
        ]);
    }
    book.sheet(&untagged)?;
    let mut issues =
        Table::new("Spelling issues", &["kind", "key", "canonical", "variant", "resources"]);
    for i in &tags.issues {
        let kind = match i.kind {
            crate::analysis::tag_coverage::IssueKind::Key => "key",
            crate::analysis::tag_coverage::IssueKind::Value => "value",
        };
        for v in &i.variants {
            issues.row(vec![
                Cell::text(kind),
                Cell::text(&i.key),
                Cell::text(&i.canonical),
                Cell::text(&v.text),
                Cell::Count(v.resources),
            ]);
        }
    }
    book.sheet(&issues)?;
    book.notes(notes)?;
    book.write_to(out)
}

/// The findings CSV's columns, in order.
fn findings_table(findings: &[crate::analysis::rules::Finding]) -> Table {
    let mut table = Table::new("Findings", &super::csv::FINDING_COLUMNS);
    for f in findings {
        table.row(vec![
            Cell::text(&f.rule_id),
            Cell::text(&f.resource_id),
            Cell::text(&f.resource_type),
            Cell::text(&f.account_id),
            Cell::text(&f.region),
            Cell::text(&f.action),
            Cell::money(f.current_monthly_cost),
            Cell::Money(f.estimated_monthly_savings),
            Cell::text(&f.currency.to_string()),
            Cell::text(&f.confidence.to_string()),
            Cell::text(&f.evidence),
            Cell::text(&f.title),
            Cell::text(f.target.as_deref().unwrap_or("")),
            Cell::Bool(f.alternative),
        ]);
    }
    table
}

/// The headline figures, one per row: what, how much, in which currency.
fn summary_table(report: &Report) -> Table {
    let mut table = Table::new("Summary", &["figure", "value", "currency"]);
    let mut add = |figure: &str, value: Cell, currency: &str| {
        table.row(vec![Cell::text(figure), value, Cell::text(currency)]);
    };
    add("data as of (UTC)", Cell::Time(report.collected_at), "");
    for s in &report.spend {
        add("billed spend in the period", Cell::Money(s.billed_cost), &s.currency.to_string());
    }
    for o in &report.overview {
        let c = o.currency.to_string();
        add("period start", Cell::Day(o.period_start), &c);
        add("period end", Cell::Day(o.period_end), &c);
        add("this month to date", Cell::Money(o.current_month.billed_cost), &c);
        if let Some(p) = &o.previous_month {
            add("previous month", Cell::Money(p.billed_cost), &c);
        }
        if let Some(f) = o.forecast_month_end {
            add("forecast for the month", Cell::Money(f), &c);
        }
    }
    for t in &report.totals {
        let c = t.currency.to_string();
        add("potential savings per month", Cell::Money(t.estimated_monthly_savings), &c);
        add("findings", Cell::Count(t.findings), &c);
        add("resources with findings", Cell::Count(t.resources), &c);
    }
    add("resources evaluated", Cell::Count(report.resources_evaluated), "");
    add("findings ignored (suppressions file)", Cell::Count(report.suppressed.len() as u64), "");
    add("resources with too little data", Cell::Count(report.insufficient_data_resources), "");
    table
}

/// Savings of each rule, one row per currency (a rule with alternatives only has one row
/// without savings).
fn by_rule_table(report: &Report) -> Table {
    let mut table = Table::new(
        "By rule",
        &["rule_id", "title", "findings", "alternatives", "estimated_monthly_savings", "currency"],
    );
    for r in &report.by_rule {
        let head = |t: &mut Table, savings: Cell, currency: &str| {
            t.row(vec![
                Cell::text(&r.rule_id),
                Cell::text(&r.title),
                Cell::Count(r.findings),
                Cell::Count(r.alternatives),
                savings,
                Cell::text(currency),
            ]);
        };
        if r.estimated_monthly_savings.is_empty() {
            head(&mut table, Cell::Empty, "");
        }
        for (currency, savings) in &r.estimated_monthly_savings {
            head(&mut table, Cell::Money(*savings), &currency.to_string());
        }
    }
    table
}

fn daily_table(report: &Report) -> Table {
    let mut table = Table::new("Daily spend", &["day", "billed_cost", "usage_cost", "currency"]);
    for o in &report.overview {
        let usage: std::collections::BTreeMap<NaiveDate, Money> =
            o.daily_usage.iter().copied().collect();
        for (day, cost) in &o.daily {
            table.row(vec![
                Cell::Day(*day),
                Cell::Money(*cost),
                Cell::money(usage.get(day).copied()),
                Cell::text(&o.currency.to_string()),
            ]);
        }
    }
    table
}

/// The budgets CSV's columns.
fn budgets_table(budgets: &[crate::analysis::budgets::BudgetEvaluation]) -> Table {
    let mut table = Table::new(
        "Budgets",
        &[
            "budget",
            "scope",
            "period",
            "period_start",
            "period_end",
            "as_of",
            "currency",
            "amount",
            "actual",
            "actual_percent",
            "forecast",
            "forecast_percent",
            "variance",
            "variance_percent",
            "status",
            "alerts_fired",
            "partial_period",
        ],
    );
    for b in budgets {
        let alerts: Vec<String> = b.alerts_fired.iter().map(ToString::to_string).collect();
        table.row(vec![
            Cell::text(&b.name),
            Cell::text(&b.scope.describe()),
            Cell::text(b.period.as_str()),
            Cell::Day(b.period_start),
            Cell::Day(b.period_end),
            Cell::Day(b.as_of),
            Cell::text(&b.currency.to_string()),
            Cell::Money(b.amount),
            Cell::Money(b.actual),
            Cell::money(b.actual_percent),
            Cell::money(b.forecast),
            Cell::money(b.forecast_percent),
            Cell::money(b.variance),
            Cell::money(b.variance_percent),
            Cell::text(b.status.as_str()),
            Cell::text(&alerts.join("; ")),
            Cell::Bool(b.partial_period),
        ]);
    }
    table
}

/// The anomalies CSV's columns.
fn anomalies_table(report: &crate::analysis::anomalies::AnomalyReport) -> Table {
    let mut table = Table::new(
        "Anomalies",
        &[
            "day",
            "group",
            "currency",
            "actual",
            "expected",
            "excess",
            "score_mads",
            "since",
            "top_resources",
        ],
    );
    for a in &report.anomalies {
        let resources: Vec<String> =
            a.resources.iter().map(|r| format!("{} +{}", r.resource_id, r.increase)).collect();
        table.row(vec![
            Cell::Day(a.found.day),
            Cell::text(&a.group.label()),
            Cell::text(&a.currency.to_string()),
            Cell::Money(a.found.actual),
            Cell::Money(a.found.expected),
            Cell::Money(a.found.excess),
            Cell::money(a.found.score),
            Cell::Day(a.found.since),
            Cell::text(&resources.join("; ")),
        ]);
    }
    table
}

/// The commitments: one row per commitment, and the coverage of eligible usage (the
/// `commitments --table commitments` and `coverage` CSVs' main columns).
fn commitment_tables(report: &crate::analysis::commitments::CommitmentsReport) -> [Table; 2] {
    let percent = |m: Option<Money>| Cell::money(m.map(|m| m.times(100).round_dp(4)));
    let mut commitments = Table::new(
        "Commitments",
        &[
            "commitment_id",
            "name",
            "type",
            "category",
            "provider",
            "account_id",
            "region",
            "term_end",
            "first_day",
            "last_day",
            "days",
            "hourly_commitment",
            "used",
            "unused",
            "utilization_percent",
            "unused_monthly",
            "purchase_one_time",
            "purchase_recurring",
            "currency",
            "problems",
        ],
    );
    for c in &report.commitments {
        commitments.row(vec![
            Cell::text(&c.id),
            Cell::text(&c.name),
            Cell::text(&c.kind),
            Cell::text(&c.category),
            Cell::text(&c.provider),
            Cell::text(&c.account_id),
            Cell::text(&c.region),
            Cell::day(c.term_end),
            Cell::day(c.first_day),
            Cell::day(c.last_day),
            Cell::Signed(c.days),
            Cell::money(c.hourly_commitment),
            Cell::Money(c.used),
            Cell::Money(c.unused),
            percent(c.utilization),
            Cell::Money(c.unused_monthly),
            Cell::Money(c.purchase_one_time),
            Cell::Money(c.purchase_recurring),
            Cell::text(&c.currency.to_string()),
            Cell::text(&c.problems.join("; ")),
        ]);
    }
    let mut coverage = Table::new(
        "Commitment coverage",
        &[
            "provider",
            "service",
            "account_id",
            "region",
            "covered",
            "on_demand",
            "coverage_percent",
            "basis",
            "currency",
        ],
    );
    for r in &report.coverage {
        coverage.row(vec![
            Cell::text(&r.provider),
            Cell::text(&r.service),
            Cell::text(&r.account_id),
            Cell::text(&r.region),
            Cell::Money(r.covered),
            Cell::Money(r.on_demand),
            percent(r.coverage),
            Cell::text(r.basis.as_str()),
            Cell::text(&r.currency.to_string()),
        ]);
    }
    [commitments, coverage]
}

/// `report`: Summary, Findings (the CSV's columns), By rule, spend by service, account and
/// each required tag, Daily spend, Tag coverage, then Budgets, Anomalies and Commitments when
/// the report has them, and Notes.
pub fn write_report(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let mut book = Book::new(report.collected_at)?;
    book.sheet(&summary_table(report))?;
    book.sheet(&findings_table(&report.findings))?;
    book.sheet(&by_rule_table(report))?;
    for b in &report.spend_by {
        book.sheet(&costs_table(&format!("Spend by {}", b.dimension), b))?;
    }
    if !report.overview.is_empty() {
        book.sheet(&daily_table(report))?;
    }
    if let Some(tags) = &report.tag_coverage {
        book.sheet(&tag_keys_table(tags))?;
    }
    if !report.budgets.is_empty() {
        book.sheet(&budgets_table(&report.budgets))?;
    }
    if let Some(anomalies) = &report.anomalies {
        book.sheet(&anomalies_table(anomalies))?;
    }
    if let Some(commitments) = &report.commitments {
        for table in commitment_tables(commitments) {
            book.sheet(&table)?;
        }
    }
    if let Some(allocation) = &report.allocation {
        book.sheet(&allocation_table(allocation))?;
    }
    book.notes(&report.notes())?;
    book.write_to(out)
}

/// The error of `--format xlsx` given to a command that writes no workbook.
pub fn unsupported() -> io::Error {
    io::Error::other(UNSUPPORTED)
}

pub const UNSUPPORTED: &str = "xlsx is written by costs, tags, report and allocate";

/// The chargeback: one sheet with the CSV's rows and columns (long layout: pools, teams with
/// their shares and services, unallocated, idle, total).
pub fn write_allocation(
    out: &mut dyn Write,
    allocation: &crate::analysis::allocation::Allocation,
    notes: &Notes,
) -> io::Result<()> {
    let mut book = Book::new(fixed_time())?;
    book.sheet(&allocation_table(allocation))?;
    book.notes(notes)?;
    book.write_to(out)
}

/// The chargeback's rows and columns as its CSV has them (long layout: pools, teams with their
/// shares and services, unallocated, idle, total).
fn allocation_table(allocation: &crate::analysis::allocation::Allocation) -> Table {
    let mut table = Table::new("Allocation", &crate::analysis::allocation::Allocation::COLUMNS);
    for r in allocation.rows() {
        table.row(vec![
            Cell::text(r.kind),
            Cell::text(r.team),
            Cell::text(r.pool),
            Cell::text(r.split),
            Cell::text(r.service),
            Cell::text(&r.currency.to_string()),
            Cell::money(r.direct_cost),
            Cell::money(r.shared_cost),
            Cell::money(r.total_cost),
            Cell::money(r.share_of_bill),
            Cell::money(r.previous_total_cost),
            Cell::money(r.change),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_valid_and_unique() {
        let mut book = Book::new(fixed_time()).unwrap();
        assert_eq!(book.unique_name("Spend by tag:team"), "Spend by tag team");
        assert_eq!(book.unique_name("spend by tag:TEAM"), "spend by tag TEAM (2)");
        let long = "Spend by tag:a-very-long-tag-key-indeed";
        assert_eq!(book.unique_name(long), "Spend by tag a-very-long-tag-ke");
        assert_eq!(book.unique_name(long), "Spend by tag a-very-long-ta (2)");
        assert_eq!(book.unique_name("[]"), "Sheet");
    }

    #[test]
    fn money_is_the_double_nearest_its_decimal() {
        let m: Money = "0.1".parse().unwrap();
        assert_eq!(money_f64(m), 0.1);
        let m: Money = "1234567.123456789012345678".parse().unwrap();
        assert_eq!(money_f64(m), "1234567.123456789012345678".parse::<f64>().unwrap());
    }

    #[test]
    fn text_is_cut_to_excels_cell_limit_and_cleaned() {
        assert_eq!(clean("a\u{1b}b\u{202E}c"), "a b c");
        assert_eq!(clean(&"é".repeat(40_000)).chars().count(), MAX_CELL_CHARS);
    }
}
