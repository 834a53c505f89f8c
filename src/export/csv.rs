//! CSV exports: plain decimal numbers, neutralized text cells, stable column names.

use std::io::{self, Write};

use super::{Notes, spreadsheet_text};
use crate::analysis::costs::CostBreakdown;
use crate::analysis::tag_coverage::TagCoverage;
use crate::model::Money;

fn opt(m: Option<Money>) -> String {
    m.map(|m| m.to_string()).unwrap_or_default()
}

fn writer(out: &mut dyn Write) -> csv::Writer<&mut dyn Write> {
    csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(out)
}

fn csv_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// Rows skipped by `--skip-invalid` are reported on a trailing `#` line, present only when
/// rows were skipped (pandas: `comment="#"`), so a clean run's CSV is pure data.
fn write_notes(out: &mut dyn Write, notes: &Notes) -> io::Result<()> {
    if let Some(skipped) = &notes.skipped {
        write!(out, "# {}\r\n", super::plain_text(skipped))?;
    }
    Ok(())
}

/// `<dimension>,billed_cost,effective_cost,currency` (plus `account_name` by account), one row
/// per group.
pub fn write_costs(out: &mut dyn Write, costs: &CostBreakdown, notes: &Notes) -> io::Result<()> {
    {
        let mut w = writer(out);
        // Accounts also get their display name, after the contract's four columns.
        let named = costs.dimension == "account";
        let mut header =
            vec![costs.dimension.as_str(), "billed_cost", "effective_cost", "currency"];
        if named {
            header.push("account_name");
        }
        w.write_record(&header).map_err(csv_io)?;
        for row in &costs.rows {
            let mut record = vec![
                spreadsheet_text(&row.key),
                row.billed_cost.to_string(),
                opt(row.effective_cost),
                spreadsheet_text(&row.currency.to_string()),
            ];
            if named {
                record.push(spreadsheet_text(row.name.as_deref().unwrap_or("")));
            }
            w.write_record(&record).map_err(csv_io)?;
        }
        w.flush()?;
    }
    write_notes(out, notes)
}

/// One row per required key (and currency) with cost and resource shares.
pub fn write_tags(out: &mut dyn Write, tags: &TagCoverage, notes: &Notes) -> io::Result<()> {
    {
        let mut w = writer(out);
        w.write_record([
            "key",
            "currency",
            "tagged_cost",
            "total_cost",
            "cost_share",
            "resources_tagged",
            "resources_total",
            "resource_share",
        ])
        .map_err(csv_io)?;
        for k in &tags.keys {
            w.write_record([
                spreadsheet_text(&k.key),
                spreadsheet_text(&k.currency.to_string()),
                k.tagged_cost.to_string(),
                k.total_cost.to_string(),
                opt(k.cost_share),
                k.resources_tagged.to_string(),
                k.resources_total.to_string(),
                opt(k.resource_share),
            ])
            .map_err(csv_io)?;
        }
        w.flush()?;
    }
    write_notes(out, notes)
}

/// The recommendations CSV: the PRODUCT.md columns in their order, then `title`, `target` and
/// `alternative` (true when another finding on the same resource saves more).
pub const FINDING_COLUMNS: [&str; 14] = [
    "rule_id",
    "resource_id",
    "resource_type",
    "account_id",
    "region",
    "action",
    "current_monthly_cost",
    "estimated_monthly_savings",
    "currency",
    "confidence",
    "evidence",
    "title",
    "target",
    "alternative",
];

pub fn write_findings(
    out: &mut dyn Write,
    findings: &[crate::analysis::rules::Finding],
    notes: &Notes,
) -> io::Result<()> {
    {
        let mut w = writer(out);
        w.write_record(FINDING_COLUMNS).map_err(csv_io)?;
        for f in findings {
            w.write_record([
                spreadsheet_text(&f.rule_id),
                spreadsheet_text(&f.resource_id),
                spreadsheet_text(&f.resource_type),
                spreadsheet_text(&f.account_id),
                spreadsheet_text(&f.region),
                spreadsheet_text(&f.action),
                opt(f.current_monthly_cost),
                f.estimated_monthly_savings.to_string(),
                spreadsheet_text(&f.currency.to_string()),
                f.confidence.to_string(),
                spreadsheet_text(&f.evidence),
                spreadsheet_text(&f.title),
                spreadsheet_text(f.target.as_deref().unwrap_or("")),
                f.alternative.to_string(),
            ])
            .map_err(csv_io)?;
        }
        w.flush()?;
    }
    write_notes(out, notes)
}
