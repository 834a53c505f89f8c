//! The SQL costscope sends to Athena: one GROUP BY per read, over exactly the columns the
//! [`Ledger`](crate::source::focus::Ledger) reads at the caller's grain, so the few rows that
//! come back fold into the same summary the file readers build.
//!
//! Only constructs Athena (Trino) and DuckDB both run are used: the tests run this text
//! unchanged on DuckDB over the bundled sample (tests/athena.rs).

use crate::model::Grain;
use crate::source::billing::Mapping;
use crate::source::billing::cur::CurMapping;
use crate::source::billing::cur::mapping::{Canonical, SOURCES, Src, canonical};
use crate::source::focus::{Column, column_name, columns_for};

/// Which billing table a table is, told by its columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableKind {
    /// AWS Data Exports' FOCUS 1.x table (lowercase FOCUS names, `tags` a map).
    Focus,
    /// A CUR 2.0 table (`line_item_unblended_cost`, `resource_tags` a map, …).
    Cur,
}

/// The partition column AWS Data Exports' tables carry (`YYYY-MM`).
pub const PERIOD_COLUMN: &str = "billing_period";

/// The count column each grouped row carries.
pub const COUNT_COLUMN: &str = "row_count";

/// Digits after the point costs are summed with. The exports' costs are `double`: each is first
/// cast to an exact decimal (12 digits is beyond the 10 AWS writes), so the sum is exact and
/// does not depend on the order Athena's workers add in.
const COST_SCALE: u32 = 12;

/// Months to read, `YYYY-MM` each (inclusive); `None` on a side: unbounded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Months {
    pub since: Option<String>,
    pub until: Option<String>,
}

/// Tells the kind from the table's column names (lowercase).
pub fn kind_of(columns: &[String]) -> Result<TableKind, String> {
    let has = |c: &str| columns.iter().any(|n| n == c);
    if has("billedcost") && has("chargeperiodstart") {
        Ok(TableKind::Focus)
    } else if has("line_item_unblended_cost") && has("line_item_usage_start_date") {
        Ok(TableKind::Cur)
    } else {
        Err(format!(
            "neither a FOCUS table (billedcost, chargeperiodstart) nor a CUR 2.0 table \
             (line_item_unblended_cost, line_item_usage_start_date): the table has {} columns",
            columns.len()
        ))
    }
}

/// `name` as a quoted identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `text` as a string literal.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The columns of `database.table`, for an Athena that cannot answer GetTableMetadata.
pub fn columns_query(database: &str, table: &str) -> String {
    format!(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = {} AND table_name = {}",
        literal(&database.to_ascii_lowercase()),
        literal(&table.to_ascii_lowercase())
    )
}

/// The one query a read at `grain` needs of a FOCUS table with `columns` (lowercase names).
///
/// Each dimension the ledger reads at the grain is grouped by as it is; the day (the hour when
/// commitments are read: compute usage is hourly) is the bucket of ChargePeriodStart, and the
/// group's latest ChargePeriodStart is what the ledger sees, so a resource's latest description
/// wins as it does row by row. Costs are summed exactly, rows counted.
pub fn focus_query(from: &str, columns: &[String], grain: Grain, months: &Months) -> String {
    let has = |name: &str| columns.iter().any(|c| c == name);
    let name = |c: Column| column_name(c).to_ascii_lowercase();
    let mut select = Vec::new();
    let mut group = Vec::new();
    let start = ident(&name(Column::ChargePeriodStart));
    let category = name(Column::ChargeCategory);
    group.push(if grain.commitments && has(&category) {
        // Only compute usage is kept by the hour (commitment coverage); every other row is
        // bucketed by day, so a report's query does not come back at hourly resolution.
        let mut compute = format!("lower(trim({})) = 'usage'", ident(&category));
        let service_category = name(Column::ServiceCategory);
        if has(&service_category) {
            compute.push_str(&format!(" AND lower(trim({})) = 'compute'", ident(&service_category)));
        }
        format!(
            "CASE WHEN {compute} THEN date_trunc('hour', {start}) ELSE date_trunc('day', {start}) END"
        )
    } else {
        format!("CAST({start} AS DATE)")
    });
    select.push(format!("MAX({start}) AS {start}"));
    for column in columns_for(grain) {
        let n = name(column);
        if !has(&n) {
            continue;
        }
        let id = ident(&n);
        match column {
            Column::ChargePeriodStart => {}
            Column::ChargePeriodEnd => select.push(format!("MAX({id}) AS {id}")),
            Column::BilledCost | Column::EffectiveCost | Column::ListCost => {
                select.push(format!("SUM(CAST({id} AS DECIMAL(38, {COST_SCALE}))) AS {id}"))
            }
            Column::Tags => {
                select.push(format!("CAST({id} AS JSON) AS {id}"));
                group.push(id);
            }
            _ => {
                select.push(id.clone());
                group.push(id);
            }
        }
    }
    select.push(format!("COUNT(*) AS {}", ident(COUNT_COLUMN)));
    finish(select, group, from, columns, months)
}

/// The CUR columns that hold amounts: summed, never grouped by.
const CUR_AMOUNTS: [Src; 9] = [
    Src::UnblendedCost,
    Src::NetUnblendedCost,
    Src::PublicOnDemandCost,
    Src::SpEffectiveCost,
    Src::SpTotalCommitment,
    Src::SpUsedCommitment,
    Src::RiEffectiveCost,
    Src::RiUnusedUpfront,
    Src::RiUnusedRecurring,
];

/// The one query a read at `grain` needs of a CUR 2.0 table: grouped by the CUR columns the
/// CUR → FOCUS mapping reads at the grain (so each grouped row maps as its rows would), amounts
/// summed. The maps (`resource_tags`, `product`) are grouped by whole and come back as JSON
/// (DuckDB has no map lookup that answers NULL for a missing key as Trino's `element_at` does).
///
/// Amounts are exact, with one difference in row counts: a commitment fee's unused part is a
/// row of its own when it is not zero, judged per group here rather than per source row.
pub fn cur_query(
    from: &str,
    columns: &[String],
    grain: Grain,
    months: &Months,
) -> Result<String, String> {
    let mapping =
        CurMapping::from_header(columns, std::path::Path::new(from)).map_err(|e| e.to_string())?;
    let src_of = |name: &str| match canonical(name) {
        Canonical::Column(canon) => {
            SOURCES.iter().find(|(_, n)| *n == canon).map(|(src, _)| Some(*src))
        }
        Canonical::TagMap | Canonical::ProductMap => Some(None),
        _ => None,
    };
    let named = |src: Src| columns.iter().find(|c| src_of(c) == Some(Some(src)));
    let mut select = Vec::new();
    let mut group = Vec::new();
    for i in mapping.needed(grain) {
        let Some(name) = columns.get(i) else { continue };
        let id = ident(name);
        match canonical(name) {
            Canonical::TagMap | Canonical::ProductMap => {
                select.push(format!("CAST({id} AS JSON) AS {id}"));
                group.push(id);
                continue;
            }
            Canonical::Column(_) | Canonical::Tag(_) | Canonical::Ignored => {}
        }
        match src_of(name).flatten() {
            Some(Src::UsageStart) => {
                group.push(if grain.commitments {
                    format!("date_trunc('hour', {id})")
                } else {
                    format!("CAST({id} AS DATE)")
                });
                select.push(format!("MAX({id}) AS {id}"));
            }
            Some(Src::UsageEnd) => select.push(format!("MAX({id}) AS {id}")),
            // Per row the mapping bills the net amount, else the unblended one.
            Some(Src::NetUnblendedCost) => {
                let amount = match named(Src::UnblendedCost) {
                    Some(unblended) => format!("COALESCE({id}, {})", ident(unblended)),
                    None => id.clone(),
                };
                select.push(format!("SUM(CAST({amount} AS DECIMAL(38, {COST_SCALE}))) AS {id}"));
            }
            Some(src) if CUR_AMOUNTS.contains(&src) => {
                select.push(format!("SUM(CAST({id} AS DECIMAL(38, {COST_SCALE}))) AS {id}"));
            }
            _ => {
                select.push(id.clone());
                group.push(id);
            }
        }
    }
    select.push(format!("COUNT(*) AS {}", ident(COUNT_COLUMN)));
    Ok(finish(select, group, from, columns, months))
}

/// `SELECT … FROM … [WHERE period] GROUP BY …`.
fn finish(
    select: Vec<String>,
    group: Vec<String>,
    from: &str,
    columns: &[String],
    months: &Months,
) -> String {
    let mut sql = format!("SELECT {} FROM {from}", select.join(", "));
    if columns.iter().any(|c| c == PERIOD_COLUMN) {
        let period = ident(PERIOD_COLUMN);
        let mut bounds = Vec::new();
        if let Some(since) = &months.since {
            bounds.push(format!("{period} >= {}", literal(since)));
        }
        if let Some(until) = &months.until {
            bounds.push(format!("{period} <= {}", literal(until)));
        }
        if !bounds.is_empty() {
            sql.push_str(&format!(" WHERE {}", bounds.join(" AND ")));
        }
    }
    sql.push_str(&format!(" GROUP BY {}", group.join(", ")));
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_service_read_groups_by_day_currency_and_service_and_prunes_on_the_period() {
        let columns = names(&[
            "billedcost",
            "effectivecost",
            "chargeperiodstart",
            "billingcurrency",
            "servicename",
            "tags",
            "billing_period",
        ]);
        let grain = Grain { day: true, service: true, ..Grain::NONE };
        let months = Months { since: Some("2026-09".into()), until: Some("2026-10".into()) };
        assert_eq!(
            focus_query("\"cur\".\"focus\"", &columns, grain, &months),
            "SELECT MAX(\"chargeperiodstart\") AS \"chargeperiodstart\", \
             SUM(CAST(\"billedcost\" AS DECIMAL(38, 12))) AS \"billedcost\", \
             SUM(CAST(\"effectivecost\" AS DECIMAL(38, 12))) AS \"effectivecost\", \
             \"billingcurrency\", \"servicename\", COUNT(*) AS \"row_count\" \
             FROM \"cur\".\"focus\" \
             WHERE \"billing_period\" >= '2026-09' AND \"billing_period\" <= '2026-10' \
             GROUP BY CAST(\"chargeperiodstart\" AS DATE), \"billingcurrency\", \"servicename\""
        );
        // No period asked, or no partition column: no WHERE at all.
        let all = focus_query("t", &columns, grain, &Months::default());
        assert!(!all.contains("WHERE"), "{all}");
        let unpartitioned = focus_query("t", &columns[..6], grain, &months);
        assert!(!unpartitioned.contains("WHERE"), "{unpartitioned}");
    }

    #[test]
    fn commitments_keep_compute_usage_by_the_hour_and_tags_come_back_as_json() {
        let columns = names(&[
            "billedcost",
            "chargeperiodstart",
            "chargeperiodend",
            "chargecategory",
            "servicecategory",
            "tags",
        ]);
        let sql = focus_query("t", &columns, Grain::FULL, &Months::default());
        assert!(
            sql.contains(
                "GROUP BY CASE WHEN lower(trim(\"chargecategory\")) = 'usage' AND \
                 lower(trim(\"servicecategory\")) = 'compute' THEN date_trunc('hour', \
                 \"chargeperiodstart\") ELSE date_trunc('day', \"chargeperiodstart\") END"
            ),
            "{sql}"
        );
        assert!(sql.contains("MAX(\"chargeperiodend\") AS \"chargeperiodend\""), "{sql}");
        assert!(sql.contains("CAST(\"tags\" AS JSON) AS \"tags\""), "{sql}");
        assert!(sql.ends_with("END, \"chargecategory\", \"tags\", \"servicecategory\""), "{sql}");
    }

    #[test]
    fn a_cur_read_sums_amounts_groups_the_rest_and_bills_net_else_unblended() {
        let columns = names(&[
            "line_item_line_item_type",
            "line_item_unblended_cost",
            "line_item_net_unblended_cost",
            "line_item_usage_start_date",
            "line_item_currency_code",
            "line_item_product_code",
            "product",
            "resource_tags",
            "billing_period",
        ]);
        let grain = Grain { day: true, service: true, ..Grain::NONE };
        let months = Months { since: Some("2026-10".into()), until: None };
        let sql = cur_query("\"cur\"", &columns, grain, &months).unwrap();
        assert!(sql.contains("\"line_item_line_item_type\", "), "{sql}");
        assert!(
            sql.contains(
                "SUM(CAST(COALESCE(\"line_item_net_unblended_cost\", \"line_item_unblended_cost\") \
                 AS DECIMAL(38, 12))) AS \"line_item_net_unblended_cost\""
            ),
            "{sql}"
        );
        assert!(
            sql.contains("MAX(\"line_item_usage_start_date\") AS \"line_item_usage_start_date\"")
        );
        assert!(sql.contains("CAST(\"product\" AS JSON) AS \"product\""), "{sql}");
        assert!(sql.contains("CAST(\"resource_tags\" AS JSON) AS \"resource_tags\""), "{sql}");
        assert!(sql.contains(" WHERE \"billing_period\" >= '2026-10' GROUP BY "), "{sql}");
        assert!(
            sql.ends_with(
                "GROUP BY \"line_item_line_item_type\", CAST(\"line_item_usage_start_date\" AS DATE), \
                 \"line_item_currency_code\", \"product\", \"resource_tags\""
            ),
            "{sql}"
        );
        assert!(!sql.contains("GROUP BY \"line_item_unblended_cost\""), "{sql}");
        let missing = cur_query("t", &names(&["line_item_usage_start_date"]), grain, &months);
        assert!(missing.unwrap_err().contains("line_item_unblended_cost"));
    }

    #[test]
    fn kinds_names_and_literals() {
        assert_eq!(kind_of(&names(&["billedcost", "chargeperiodstart"])), Ok(TableKind::Focus));
        assert_eq!(
            kind_of(&names(&["line_item_unblended_cost", "line_item_usage_start_date"])),
            Ok(TableKind::Cur)
        );
        assert!(kind_of(&names(&["a", "b"])).unwrap_err().contains("has 2 columns"));
        assert_eq!(ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(literal("o'neil"), "'o''neil'");
        assert_eq!(
            columns_query("Billing", "FOCUS"),
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'billing' AND table_name = 'focus'"
        );
    }
}
