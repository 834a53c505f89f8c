//! Redshift provisioned clusters as the rules see them: `redshift_cluster`.

use super::{
    Fields, Inputs, ResourceView, days_between, nodes_monthly, num, shared_text, text, view,
};
use crate::analysis::rules::rule::ResourceKind;
use crate::model::Money;
use crate::pricing::HOURS_PER_MONTH;

pub(super) fn views<'a>(input: &Inputs<'a, '_>, views: &mut Vec<ResourceView<'a>>) {
    let now = input.snapshot.collected_at;
    for c in &input.snapshot.inventory.redshift_clusters {
        let paused = c.status == "paused";
        let compute =
            nodes_monthly(input.catalog, "redshift", &c.region, "default", &c.node_type, c.nodes);
        let cost = input.billed.monthly(&c.id).unwrap_or_else(|| {
            let (result, detail) = if paused {
                // RA3 managed storage is still billed while paused; its size is not read.
                (Ok(Money::ZERO), "paused: no compute charge (managed storage not included)".into())
            } else {
                (
                    compute.clone(),
                    format!(
                        "{} × {} in {} on demand × {HOURS_PER_MONTH} h (managed storage not included)",
                        c.nodes, c.node_type, c.region
                    ),
                )
            };
            super::catalog_cost(input.catalog, result, detail)
        });
        let mut f = Fields::new();
        f.insert("id", text(&c.id));
        f.insert("name", text(&c.name));
        f.insert("node_type", shared_text(&c.node_type));
        f.insert("nodes", num(f64::from(c.nodes)));
        f.insert("status", shared_text(&c.status));
        f.insert("paused", cel_interpreter::Value::Bool(paused));
        f.insert("age_days", days_between(c.create_time, now));
        f.insert(
            "compute_monthly",
            compute.as_ref().map_or(cel_interpreter::Value::Null, |m| num(m.to_f64())),
        );
        views.push(view(
            ResourceKind::RedshiftCluster,
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
