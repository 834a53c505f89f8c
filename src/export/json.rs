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
    serde_json::to_writer_pretty(&mut *out, &envelope).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

pub fn write_costs(out: &mut dyn Write, costs: &CostBreakdown, notes: &Notes) -> io::Result<()> {
    write_pretty(out, costs, notes)
}

pub fn write_tags(out: &mut dyn Write, tags: &TagCoverage, notes: &Notes) -> io::Result<()> {
    write_pretty(out, tags, notes)
}

/// The whole report: totals, per-rule sums, findings, tag coverage, sources and warnings.
pub fn write_report(out: &mut dyn Write, report: &crate::report::Report) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::other)?;
    out.write_all(b"\n")
}
