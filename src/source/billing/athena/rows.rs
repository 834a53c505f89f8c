//! Grouped result rows into the [`Ledger`]: each row is read as one FOCUS row (its columns
//! carry FOCUS's names) standing for its `row_count` source rows, so the summary is built by
//! the same code as a file's.

use std::path::Path;

use super::query::Answer;
use super::sql::COUNT_COLUMN;
use super::sql::TableKind;
use crate::model::{BillingSummary, Grain};
use crate::source::billing::SourceRow;
use crate::source::billing::cur::CurMapping;
use crate::source::focus::{Column, Layout, Ledger, Row, RowError};

/// The summary one answer of a `kind` table's query at `grain` makes: what `--athena` builds,
/// callable on any engine's answer to the same SQL (the tests run it on DuckDB's).
pub fn summary(
    answer: &Answer,
    kind: TableKind,
    grain: Grain,
    name: &str,
) -> Result<BillingSummary, String> {
    let mut ledger = Ledger::new(grain);
    fold(&mut ledger, answer, kind, name)?;
    Ok(ledger.finish(vec![name.to_string()]))
}

/// Adds every row of an answer; `name` (`athena:db.table`) labels errors, which name the
/// result row and the column.
pub(crate) fn fold(
    ledger: &mut Ledger,
    answer: &Answer,
    kind: TableKind,
    name: &str,
) -> Result<(), String> {
    match kind {
        TableKind::Focus => fold_focus(ledger, answer, name),
        TableKind::Cur => fold_cur(ledger, answer, name),
    }
}

/// A result row of a CUR table's query, read by position.
struct CurCells<'a>(&'a [Option<String>]);

impl SourceRow for CurCells<'_> {
    fn text(&self, column: usize) -> &[u8] {
        self.0.get(column).and_then(Option::as_ref).map_or(&[][..], |c| c.as_bytes().trim_ascii())
    }
}

/// Each grouped CUR row is mapped to FOCUS as one of its rows would be, standing for all.
fn fold_cur(ledger: &mut Ledger, answer: &Answer, name: &str) -> Result<(), String> {
    let mapping =
        CurMapping::from_header(&answer.header, Path::new(name)).map_err(|e| e.to_string())?;
    each_row(ledger, answer, |ledger, cells, count| {
        ledger.weighted(count, |l| mapping.add_source(l, &CurCells(cells)))
    })
}

/// Calls `add` with each row and its count; errors name the result row.
fn each_row(
    ledger: &mut Ledger,
    answer: &Answer,
    mut add: impl FnMut(&mut Ledger, &[Option<String>], u64) -> Result<(), RowError>,
) -> Result<(), String> {
    let count_at = answer
        .header
        .iter()
        .position(|h| h.eq_ignore_ascii_case(COUNT_COLUMN))
        .ok_or_else(|| format!("the answer has no {COUNT_COLUMN} column"))?;
    for (i, cells) in answer.rows.iter().enumerate() {
        // Result rows are numbered as GetQueryResults lists them: the header is row 1.
        let at = |column: &str, message: &str| {
            format!("result row {}: column {column}: {message}", i + 2)
        };
        let count_text = cells.get(count_at).and_then(Option::as_deref).unwrap_or_default();
        let count: u64 = count_text
            .trim()
            .parse()
            .map_err(|_| at(COUNT_COLUMN, &format!("not a row count: {count_text:?}")))?;
        add(ledger, cells, count).map_err(|e| at(&e.column, &e.message))?;
    }
    Ok(())
}

/// One result row seen through the header's layout.
struct ResultRow<'a> {
    layout: &'a Layout,
    cells: &'a [Option<String>],
}

impl Row for ResultRow<'_> {
    fn text(&self, column: Column) -> &[u8] {
        let cell = self.layout.pos(column).and_then(|i| self.cells.get(i)).and_then(Option::as_ref);
        cell.map_or(&[][..], |c| c.as_bytes().trim_ascii())
    }

    fn has(&self, column: Column) -> bool {
        self.layout.pos(column).is_some()
    }
}

/// Each grouped FOCUS row is one FOCUS row standing for its count.
fn fold_focus(ledger: &mut Ledger, answer: &Answer, name: &str) -> Result<(), String> {
    let layout = Layout::from_header(&answer.header, Path::new(name)).map_err(|e| e.to_string())?;
    each_row(ledger, answer, |ledger, cells, count| {
        let row = ResultRow { layout: &layout, cells };
        ledger.weighted(count, |l| l.add_row(&row))
    })
}
