//! Grouped result rows into the [`Ledger`]: each row is read as one FOCUS row (its columns
//! carry FOCUS's names) standing for its `row_count` source rows, so the summary is built by
//! the same code as a file's.

use std::path::Path;

use super::query::Answer;
use super::sql::COUNT_COLUMN;
use crate::model::{BillingSummary, Grain};
use crate::source::focus::{Column, Layout, Ledger, Row};

/// The summary one answer of a FOCUS table's query at `grain` makes: what `--athena` builds,
/// callable on any engine's answer to the same SQL (the tests run it on DuckDB's).
pub fn summary(answer: &Answer, grain: Grain, name: &str) -> Result<BillingSummary, String> {
    let mut ledger = Ledger::new(grain);
    fold_focus(&mut ledger, answer, name)?;
    Ok(ledger.finish(vec![name.to_string()]))
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

/// Adds every row of a FOCUS query's answer; `name` (`athena:db.table`) labels errors, which
/// name the result row and the column.
pub(crate) fn fold_focus(ledger: &mut Ledger, answer: &Answer, name: &str) -> Result<(), String> {
    let layout = Layout::from_header(&answer.header, Path::new(name)).map_err(|e| e.to_string())?;
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
        let row = ResultRow { layout: &layout, cells };
        ledger.weighted(count, |l| l.add_row(&row)).map_err(|e| at(&e.column, &e.message))?;
    }
    Ok(())
}
