//! OpenSearch Service domains as the rules see them: `opensearch_domain`.

use cel_interpreter::Value;

use super::{
    Fields, Inputs, ResourceView, days_between, nodes_monthly, num, shared_text, text, view,
};
use crate::analysis::rules::rule::ResourceKind;
use crate::model::Money;
use crate::model::inventory::SearchDomain;
use crate::pricing::HOURS_PER_MONTH;

/// Data nodes (`data`, priced by the caller), dedicated masters and the data nodes' EBS
/// volumes, for a month.
fn domain_monthly(
    d: &SearchDomain,
    data: &Result<Money, String>,
    input: &Inputs<'_, '_>,
) -> Result<Money, String> {
    let catalog = input.catalog;
    let data = data.clone()?;
    let masters = match &d.master_type {
        Some(t) if d.master_count > 0 => {
            nodes_monthly(catalog, "opensearch", &d.region, "default", t, d.master_count)?
        }
        _ => Money::ZERO,
    };
    let storage = match d.volume_type.as_deref() {
        Some(volume_type) if d.volume_size_gib > 0 => {
            let gib = d.volume_size_gib.saturating_mul(u64::from(d.instance_count));
            catalog
                .services()
                .get("opensearch")
                .and_then(|t| t.unit(&d.region, &format!("{volume_type}_gb_month")))
                .map(|p| p.times(i64::try_from(gib).unwrap_or(i64::MAX)))
                .map_err(|e| e.to_string())?
        }
        _ => Money::ZERO,
    };
    Ok(data + masters + storage)
}

pub(super) fn views<'a>(input: &Inputs<'a, '_>, views: &mut Vec<ResourceView<'a>>) {
    let now = input.snapshot.collected_at;
    let table = input.catalog.services().get("opensearch").ok();
    for d in &input.snapshot.inventory.search_domains {
        let data = nodes_monthly(
            input.catalog,
            "opensearch",
            &d.region,
            "default",
            &d.instance_type,
            d.instance_count,
        );
        let cost = input.billed.monthly(&d.id).unwrap_or_else(|| {
            let masters = match &d.master_type {
                Some(t) if d.master_count > 0 => format!(" + {} × {t}", d.master_count),
                _ => String::new(),
            };
            super::catalog_cost(
                input.catalog,
                domain_monthly(d, &data, input),
                format!(
                    "{} × {}{masters} in {} on demand × {HOURS_PER_MONTH} h + {} × {} GiB {}",
                    d.instance_count,
                    d.instance_type,
                    d.region,
                    d.instance_count,
                    d.volume_size_gib,
                    d.volume_type.as_deref().unwrap_or("no EBS")
                ),
            )
        });
        let class = table.and_then(|t| t.class(&d.instance_type));
        let mut f = Fields::new();
        f.insert("id", text(&d.id));
        f.insert("name", text(&d.name));
        f.insert("engine_version", shared_text(&d.engine_version));
        f.insert("instance_type", shared_text(&d.instance_type));
        f.insert("family", shared_text(class.map_or("", |c| c.family.as_str())));
        f.insert("instance_count", num(f64::from(d.instance_count)));
        f.insert("master_type", text(d.master_type.as_deref().unwrap_or("")));
        f.insert("master_count", num(f64::from(d.master_count)));
        f.insert("volume_type", text(d.volume_type.as_deref().unwrap_or("")));
        f.insert("volume_size_gib", num(d.volume_size_gib as f64));
        f.insert("age_days", days_between(d.create_time, now));
        f.insert("data_nodes_monthly", data.map_or(Value::Null, |m| num(m.to_f64())));
        views.push(view(
            ResourceKind::OpensearchDomain,
            &d.id,
            &d.account_id,
            &d.region,
            &d.tags,
            f,
            input.utilization,
            cost,
        ));
    }
}
