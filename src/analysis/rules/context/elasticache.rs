//! ElastiCache clusters as the rules see them: `elasticache_cluster`.

use super::{
    Fields, Inputs, ResourceView, days_between, nodes_monthly, num, shared_text, text, view,
};
use crate::analysis::rules::rule::ResourceKind;
use crate::pricing::HOURS_PER_MONTH;

/// The price table's engine variant: Memcached nodes cost what Redis OSS nodes cost.
pub fn price_variant(engine: &str) -> &str {
    match engine {
        "valkey" => "valkey",
        _ => "redis",
    }
}

pub(super) fn views<'a>(input: &Inputs<'a, '_>, views: &mut Vec<ResourceView<'a>>) {
    let now = input.snapshot.collected_at;
    let table = input.catalog.services().get("elasticache").ok();
    for c in &input.snapshot.inventory.cache_clusters {
        let variant = price_variant(&c.engine);
        let cost = input.billed.monthly(&c.id).unwrap_or_else(|| {
            super::catalog_cost(
                input.catalog,
                nodes_monthly(
                    input.catalog,
                    "elasticache",
                    &c.region,
                    variant,
                    &c.node_type,
                    c.nodes,
                ),
                format!(
                    "{} × {} ({variant}) in {} on demand × {HOURS_PER_MONTH} h",
                    c.nodes, c.node_type, c.region
                ),
            )
        });
        let class = table.and_then(|t| t.class(&c.node_type));
        let mut f = Fields::new();
        f.insert("id", text(&c.id));
        f.insert("name", text(&c.name));
        f.insert("engine", shared_text(&c.engine));
        f.insert("engine_version", shared_text(&c.engine_version));
        f.insert("price_variant", shared_text(variant));
        f.insert("node_type", shared_text(&c.node_type));
        f.insert("family", shared_text(class.map_or("", |c| c.family.as_str())));
        f.insert("nodes", num(f64::from(c.nodes)));
        f.insert("status", shared_text(&c.status));
        f.insert("age_days", days_between(c.create_time, now));
        views.push(view(
            ResourceKind::ElasticacheCluster,
            &c.id,
            &c.account_id,
            &c.region,
            &c.tags,
            f,
            input.utilization,
            cost,
        ));
    }
}
