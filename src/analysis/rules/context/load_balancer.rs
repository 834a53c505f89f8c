//! Load balancers as the rules see them: `load_balancer`.

use cel_interpreter::Value;

use super::{Fields, Inputs, ResourceView, days_between, num, shared_text, text, view};
use crate::analysis::rules::rule::ResourceKind;
use crate::model::Money;
use crate::model::inventory::LoadBalancerType;
use crate::pricing::{HOURS_PER_MONTH, PriceCatalog};

/// The hour of a load balancer of `lb_type` (`application`, `network`, `gateway`, `classic`)
/// for a month.
pub fn hours_monthly(catalog: &PriceCatalog, region: &str, lb_type: &str) -> Result<Money, String> {
    catalog
        .services()
        .get("elb")
        .and_then(|t| t.unit(region, &format!("{lb_type}_hour")))
        .map(|hourly| hourly.times(HOURS_PER_MONTH))
        .map_err(|e| e.to_string())
}

pub(super) fn views<'a>(input: &Inputs<'a, '_>, views: &mut Vec<ResourceView<'a>>) {
    let now = input.snapshot.collected_at;
    for l in &input.snapshot.inventory.load_balancers {
        let lb_type = l.lb_type.as_str();
        let hours = hours_monthly(input.catalog, &l.region, lb_type);
        // Billing by ARN carries the hours and the capacity units (classic: data processed)
        // actually used; the table only the hours.
        let usage = if l.lb_type == LoadBalancerType::Classic {
            "data processed"
        } else {
            "capacity units"
        };
        let cost = input.billed.monthly(&l.id).unwrap_or_else(|| {
            super::catalog_cost(
                input.catalog,
                hours.clone(),
                format!(
                    "{lb_type} load balancer in {} × {HOURS_PER_MONTH} h; {usage} not included",
                    l.region
                ),
            )
        });
        let count = |n: Option<u32>| n.map_or(Value::Null, |n| num(f64::from(n)));
        let mut f = Fields::new();
        f.insert("id", text(&l.id));
        f.insert("name", text(&l.name));
        f.insert("type", shared_text(lb_type));
        f.insert("scheme", shared_text(&l.scheme));
        f.insert("state", shared_text(&l.state));
        f.insert("age_days", days_between(l.create_time, now));
        f.insert("target_groups", num(l.target_groups.len() as f64));
        f.insert("has_target_health", Value::Bool(l.healthy_targets.is_some()));
        f.insert("targets", count(l.targets));
        f.insert("healthy_targets", count(l.healthy_targets));
        f.insert("hours_monthly", hours.map_or(Value::Null, |m| num(m.to_f64())));
        views.push(view(
            ResourceKind::LoadBalancer,
            &l.id,
            &l.account_id,
            &l.region,
            &l.tags,
            f,
            input.utilization,
            cost,
        ));
    }
}
