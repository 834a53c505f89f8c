//! CloudWatch Logs log groups as the rules see them: `log_group`.

use cel_interpreter::Value;

use super::{Fields, Inputs, ResourceView, days_between, num, text, view};
use crate::analysis::rules::rule::ResourceKind;
use crate::model::Money;
use crate::model::inventory::LogGroup;
use crate::pricing::PriceCatalog;

/// costscope reads AWS's storage "GB" as 2^30 bytes: the smaller count of GB, so a saving is
/// never overstated.
const GB: u64 = 1 << 30;

/// What the group's stored bytes cost a month at the table's storage price.
pub fn storage_monthly(catalog: &PriceCatalog, g: &LogGroup) -> Result<Money, String> {
    catalog
        .services()
        .get("logs")
        .and_then(|t| t.unit(&g.region, "storage_gb_month"))
        .map(|p| p.mul_ratio(i128::from(g.stored_bytes), i128::from(GB)))
        .map_err(|e| e.to_string())
}

pub(super) fn views<'a>(input: &Inputs<'a, '_>, views: &mut Vec<ResourceView<'a>>) {
    let now = input.snapshot.collected_at;
    for g in &input.snapshot.inventory.log_groups {
        let stored_gb = g.stored_bytes as f64 / GB as f64;
        let storage = storage_monthly(input.catalog, g);
        let cost = input.billed.monthly(&g.id).unwrap_or_else(|| {
            super::catalog_cost(
                input.catalog,
                storage.clone(),
                format!(
                    "{stored_gb:.2} GB stored in {}; ingestion not measured, not included",
                    g.region
                ),
            )
        });
        let age = days_between(g.create_time, now);
        // A group looked up with no stream at all has received nothing since it was created.
        let idle = match (g.ingestion_checked, g.last_ingestion) {
            (false, _) => Value::Null,
            (true, Some(t)) => days_between(Some(t), now),
            (true, None) => age.clone(),
        };
        let mut f = Fields::new();
        f.insert("id", text(&g.id));
        f.insert("name", text(&g.name));
        f.insert("has_retention", Value::Bool(g.retention_days.is_some()));
        f.insert("retention_days", g.retention_days.map_or(Value::Null, |d| num(f64::from(d))));
        f.insert("stored_gb", num(stored_gb));
        f.insert("age_days", age);
        f.insert("ingestion_checked", Value::Bool(g.ingestion_checked));
        f.insert("days_since_ingestion", idle);
        f.insert("storage_monthly", storage.map_or(Value::Null, |m| num(m.to_f64())));
        views.push(view(
            ResourceKind::LogGroup,
            &g.id,
            &g.account_id,
            &g.region,
            &g.tags,
            f,
            input.utilization,
            cost,
        ));
    }
}
