//! DynamoDB tables as the rules see them: `dynamodb_table`.

use cel_interpreter::Value;

use super::{Fields, Inputs, ResourceView, days_between, num, shared_text, text, view};
use crate::analysis::rules::rule::ResourceKind;
use crate::model::Money;
use crate::model::inventory::{BillingMode, DynamoDbTable};
use crate::pricing::{HOURS_PER_MONTH, PriceCatalog};

const GB: f64 = 1e9;

/// Provisioned capacity for a month: RCU and WCU × their hourly prices × 730 h.
pub fn capacity_monthly(
    catalog: &PriceCatalog,
    region: &str,
    rcu: u64,
    wcu: u64,
) -> Result<Money, String> {
    let table = catalog.services().get("dynamodb").map_err(|e| e.to_string())?;
    let unit = |name: &str| table.unit(region, name).map_err(|e| e.to_string());
    let units = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    Ok((unit("rcu_hour")?.times(units(rcu)) + unit("wcu_hour")?.times(units(wcu)))
        .times(HOURS_PER_MONTH))
}

/// On-demand requests for a month: read and write request units × their price per million.
pub fn on_demand_monthly(
    catalog: &PriceCatalog,
    region: &str,
    read_units: f64,
    write_units: f64,
) -> Result<Money, String> {
    let table = catalog.services().get("dynamodb").map_err(|e| e.to_string())?;
    let unit = |name: &str| table.unit(region, name).map_err(|e| e.to_string());
    // Whole request units, so the price stays exact decimal arithmetic.
    let units = |n: f64| if n.is_finite() && n > 0.0 { n.ceil() as i128 } else { 0 };
    Ok(unit("read_request_million")?.mul_ratio(units(read_units), 1_000_000)
        + unit("write_request_million")?.mul_ratio(units(write_units), 1_000_000))
}

fn storage_monthly(t: &DynamoDbTable, catalog: &PriceCatalog) -> Result<Money, String> {
    catalog
        .services()
        .get("dynamodb")
        .and_then(|table| table.unit(&t.region, "storage_gb_month"))
        .map(|p| p.mul_ratio(i128::from(t.size_bytes), 1_000_000_000))
        .map_err(|e| e.to_string())
}

pub(super) fn views<'a>(input: &Inputs<'a, '_>, views: &mut Vec<ResourceView<'a>>) {
    let now = input.snapshot.collected_at;
    for t in &input.snapshot.inventory.dynamodb_tables {
        let capacity =
            capacity_monthly(input.catalog, &t.region, t.read_capacity, t.write_capacity);
        let cost = input.billed.monthly(&t.id).unwrap_or_else(|| {
            let storage = storage_monthly(t, input.catalog);
            let (result, detail) = match t.billing_mode {
                BillingMode::Provisioned => (
                    capacity.clone().and_then(|c| Ok(c + storage?)),
                    format!(
                        "{} RCU + {} WCU in {} × {HOURS_PER_MONTH} h + {:.2} GB stored",
                        t.read_capacity,
                        t.write_capacity,
                        t.region,
                        t.size_bytes as f64 / GB
                    ),
                ),
                BillingMode::PayPerRequest => {
                    // Requests over the lookback scaled to a month, when they were measured.
                    let per_month = input.utilization.get(t.id.as_str()).and_then(|u| {
                        let days = f64::from(u.days_covered);
                        let scale = HOURS_PER_MONTH as f64 / 24.0 / days;
                        Some((u.read_units_total? * scale, u.write_units_total? * scale))
                            .filter(|_| days > 0.0)
                    });
                    match per_month {
                        Some((reads, writes)) => (
                            on_demand_monthly(input.catalog, &t.region, reads, writes)
                                .and_then(|c| Ok(c + storage?)),
                            format!(
                                "on demand: {reads:.0} read and {writes:.0} write request units a month (measured) + {:.2} GB stored",
                                t.size_bytes as f64 / GB
                            ),
                        ),
                        None => (
                            storage,
                            format!(
                                "on demand: {:.2} GB stored; requests not measured, not included",
                                t.size_bytes as f64 / GB
                            ),
                        ),
                    }
                }
            };
            super::catalog_cost(input.catalog, result, detail)
        });
        let mut f = Fields::new();
        f.insert("id", text(&t.id));
        f.insert("name", text(&t.name));
        f.insert("billing_mode", shared_text(t.billing_mode.as_str()));
        f.insert("read_capacity", num(t.read_capacity as f64));
        f.insert("write_capacity", num(t.write_capacity as f64));
        f.insert("size_gb", num(t.size_bytes as f64 / GB));
        f.insert("item_count", num(t.item_count as f64));
        f.insert("status", shared_text(&t.status));
        f.insert("age_days", days_between(t.create_time, now));
        f.insert("capacity_monthly", capacity.map_or(Value::Null, |m| num(m.to_f64())));
        views.push(view(
            ResourceKind::DynamodbTable,
            &t.id,
            &t.account_id,
            &t.region,
            &t.tags,
            f,
            input.utilization,
            cost,
        ));
    }
}
