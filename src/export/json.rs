//! JSON exports: money as decimal strings (never floats), stable field names.

use std::io::{self, Write};

use serde::Serialize;

use super::Notes;
use crate::analysis::costs::CostBreakdown;
use crate::analysis::tag_coverage::TagCoverage;

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    #[serde(flatten)]
    body: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped_rows: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
}

fn write_pretty<T: Serialize>(out: &mut dyn Write, body: &T, notes: &Notes) -> io::Result<()> {
    let envelope =
        Envelope { body, skipped_rows: notes.skipped.as_deref(), warnings: &notes.warnings };
    write_value(out, &envelope)
}

/// JSON text with C1 controls and bidirectional overrides written as `\uXXXX` (serde_json
/// escapes C0 itself). Those characters can only occur inside strings, where the escape keeps
/// the data intact.
pub fn inert_json(text: &str) -> String {
    let mut safe = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\u{80}'..='\u{9f}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
            safe.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            safe.push(c);
        }
    }
    safe
}

/// Pretty JSON followed by a newline, made inert by [`inert_json`]: no string can drive a
/// terminal that shows the file.
pub fn write_value<T: Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> io::Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    out.write_all(inert_json(&text).as_bytes())?;
    out.write_all(b"\n")
}

pub fn write_costs(out: &mut dyn Write, costs: &CostBreakdown, notes: &Notes) -> io::Result<()> {
    write_pretty(out, costs, notes)
}

pub fn write_trends(
    out: &mut dyn Write,
    trends: &crate::analysis::trends::Trends,
    notes: &Notes,
) -> io::Result<()> {
    write_pretty(out, trends, notes)
}

pub fn write_units(
    out: &mut dyn Write,
    report: &crate::analysis::units::UnitsReport,
    notes: &Notes,
) -> io::Result<()> {
    write_pretty(out, report, notes)
}

pub fn write_anomalies(
    out: &mut dyn Write,
    report: &crate::analysis::anomalies::AnomalyReport,
    notes: &Notes,
) -> io::Result<()> {
    write_pretty(out, report, notes)
}

pub fn write_budgets(
    out: &mut dyn Write,
    budgets: &[crate::analysis::budgets::BudgetEvaluation],
    notes: &Notes,
) -> io::Result<()> {
    #[derive(Serialize)]
    struct Budgets<'a> {
        budgets: &'a [crate::analysis::budgets::BudgetEvaluation],
    }
    write_pretty(out, &Budgets { budgets }, notes)
}

pub fn write_tags(out: &mut dyn Write, tags: &TagCoverage, notes: &Notes) -> io::Result<()> {
    write_pretty(out, tags, notes)
}

/// The whole report: totals, per-rule sums, findings, tag coverage, sources and warnings.
pub fn write_report(out: &mut dyn Write, report: &crate::report::Report) -> io::Result<()> {
    write_value(out, report)
}

/// The commitments analysis: commitments, coverage, purchase advice and notes.
pub fn write_commitments(
    out: &mut dyn Write,
    report: &crate::analysis::commitments::CommitmentsReport,
    notes: &Notes,
) -> io::Result<()> {
    write_pretty(out, report, notes)
}

/// The allocation as analysed: per currency the bill, the pools before their split, the teams
/// (direct, shares per pool, total, share, change) and the unallocated amount.
pub fn write_allocation(
    out: &mut dyn Write,
    allocation: &crate::analysis::allocation::Allocation,
    notes: &Notes,
) -> io::Result<()> {
    write_pretty(out, allocation, notes)
}
