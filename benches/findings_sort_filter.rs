//! The dashboard's DataTable with 100k findings, rows built as the Recommendations view builds
//! them: sort by a column, filter with `rule:ec2` (target: < 50 ms each).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::print_stderr)]

mod common;

use criterion::Criterion;
use std::hint::black_box;

use costscope::analysis::rules::Finding;
use costscope::tui::view::ViewState;
use costscope::tui::view::recommendations::RecommendationsView;
use costscope::tui::widget::table::{Column, DataTable, SortKey, TableRow};
use costscope::tui::widget::{money, safe};
use ratatui::layout::Constraint;

const FINDINGS: usize = 100_000;

/// The Recommendations view's columns and rows (src/tui/view/recommendations.rs).
fn findings_table(findings: &[Finding]) -> DataTable {
    let mut table = DataTable::new(vec![
        Column::number("Savings/mo", "savings", Constraint::Length(14)),
        Column::text("Rule", "rule", Constraint::Length(24)),
        Column::text("Resource", "resource", Constraint::Min(20)),
        Column::text("Account", "account", Constraint::Length(13)),
        Column::text("Region", "region", Constraint::Length(10)),
        Column::text("Action", "action", Constraint::Length(16)),
        Column::text("Conf.", "confidence", Constraint::Length(6)),
    ]);
    let rows = findings
        .iter()
        .map(|f| {
            let rule =
                if f.alternative { format!("{} (alt)", f.rule_id) } else { f.rule_id.clone() };
            let action = match &f.target {
                Some(t) => format!("{} → {}", f.action, t),
                None => f.action.clone(),
            };
            TableRow::new(
                vec![
                    money(f.estimated_monthly_savings, &f.currency),
                    safe(&rule),
                    safe(&f.resource_id),
                    safe(&f.account_id),
                    safe(&f.region),
                    safe(&action),
                    f.confidence.to_string(),
                ],
                vec![
                    SortKey::Money(f.estimated_monthly_savings),
                    SortKey::Text(f.rule_id.clone()),
                    SortKey::Text(f.resource_id.clone()),
                    SortKey::Text(f.account_id.clone()),
                    SortKey::Text(f.region.clone()),
                    SortKey::Text(f.action.clone()),
                    SortKey::Number(f.confidence as u8 as f64),
                ],
            )
        })
        .collect();
    table.set_rows(rows);
    table
}

fn table_benches(c: &mut Criterion) {
    let data = common::findings_dataset(FINDINGS);
    let mut table = findings_table(&data.report.findings);
    eprintln!("[setup] findings table: {} rows", table.total_rows());

    let mut group = c.benchmark_group("findings_sort_filter");
    // Every call re-filters and re-sorts all rows from the order they were given in (savings
    // descending, as the report sorts them); asking for the same column again flips direction,
    // which is the same work.
    for (name, col) in [("savings", 0usize), ("rule", 1), ("resource", 2), ("region", 4)] {
        group.bench_function(format!("sort_by/{name}"), |b| {
            b.iter(|| {
                table.sort_by(black_box(col));
                black_box(table.len())
            })
        });
    }
    table.sort = None;
    for filter in ["rule:ec2", "eu-west"] {
        group.bench_function(format!("set_filter/{filter}"), |b| {
            b.iter(|| {
                table.set_filter(black_box(filter));
                black_box(table.len())
            })
        });
    }
    // Typing a filter while sorted by a text column: filter, then sort the matches.
    table.set_filter("");
    table.sort_by(2);
    group.bench_function("set_filter/rule:ec2 sorted by resource", |b| {
        b.iter(|| {
            table.set_filter(black_box("rule:ec2"));
            black_box(table.len())
        })
    });
    // What `Msg::Loaded` costs the Recommendations view: building the 100k rows.
    group.bench_function("recommendations_view_load", |b| {
        b.iter(|| {
            let mut v = RecommendationsView::default();
            v.load(black_box(&data));
            black_box(v.table.total_rows())
        })
    });
    group.finish();
}

fn main() {
    let mut c = common::quick();
    table_benches(&mut c);
    c.final_summary();
}
