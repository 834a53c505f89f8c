//! The account's own AMIs as the rules see them: `ec2_image`, with what uses each one.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cel_interpreter::Value;

use super::{
    CostSource, CurrentCost, Fields, Inputs, ResourceView, days_between, num, shared_text, text,
    view,
};
use crate::analysis::rules::rule::ResourceKind;
use crate::model::inventory::{Image, InstanceState, Inventory};

pub(super) fn views<'a>(input: &Inputs<'a, '_>, views: &mut Vec<ResourceView<'a>>) {
    let inv = &input.snapshot.inventory;
    if inv.images.is_empty() {
        return;
    }
    let now = input.snapshot.collected_at;
    let users = users(inv);
    let none = (BTreeSet::new(), BTreeSet::new());
    for i in &inv.images {
        let gib: u64 = i.snapshots.iter().map(|s| s.size_gib).sum();
        let cost = billed_snapshots(input, i).unwrap_or_else(|| {
            super::catalog_cost(
                input.catalog,
                input
                    .catalog
                    .snapshot_gb_month(&i.region)
                    .map(|p| p.times(i64::try_from(gib).unwrap_or(i64::MAX)))
                    .map_err(|e| e.to_string()),
                format!("{} snapshot(s), {gib} GiB in {}", i.snapshots.len(), i.region),
            )
        });
        let (instances, templates) = users.get(i.id.as_str()).unwrap_or(&none);
        let list =
            |ids: &BTreeSet<&str>| Value::List(Arc::new(ids.iter().map(|id| text(id)).collect()));
        let mut f = Fields::new();
        f.insert("id", text(&i.id));
        f.insert("name", text(i.name.as_deref().unwrap_or("")));
        f.insert("state", shared_text(&i.state));
        f.insert("age_days", days_between(i.creation_time, now));
        f.insert("days_since_launch", days_between(i.last_launched_time, now));
        f.insert(
            "snapshot_ids",
            Value::List(Arc::new(i.snapshots.iter().map(|s| text(&s.snapshot_id)).collect())),
        );
        f.insert("snapshot_gib", num(gib as f64));
        let described: Vec<String> =
            i.snapshots.iter().map(|s| format!("{} ({} GiB)", s.snapshot_id, s.size_gib)).collect();
        f.insert(
            "snapshots",
            text(&if described.is_empty() {
                "no EBS snapshots".into()
            } else {
                described.join(", ")
            }),
        );
        f.insert("used_by_instances", list(instances));
        f.insert("used_by_templates", list(templates));
        f.insert("in_use", Value::Bool(!instances.is_empty() || !templates.is_empty()));
        views.push(view(
            ResourceKind::Ec2Image,
            &i.id,
            &i.account_id,
            &i.region,
            &i.tags,
            f,
            input.utilization,
            cost,
        ));
    }
}

/// The AMI's cost as billing saw it: its snapshots, when billing names every one of them in one
/// currency (over the fewest days any of them was billed).
fn billed_snapshots(input: &Inputs<'_, '_>, image: &Image) -> Option<CurrentCost> {
    let mut costs = image.snapshots.iter().map(|s| input.billed.monthly(&s.snapshot_id));
    let mut total = costs.next()??;
    for cost in costs {
        let cost = cost?;
        if cost.currency != total.currency {
            return None;
        }
        total.monthly = Some(total.monthly? + cost.monthly?);
        if let (CostSource::Billing { days, .. }, CostSource::Billing { days: other, .. }) =
            (&mut total.source, &cost.source)
        {
            *days = (*days).min(*other);
        }
    }
    Some(total)
}

/// Image id → the instances (any state but terminated) and launch templates that name it.
fn users(inv: &Inventory) -> BTreeMap<&str, (BTreeSet<&str>, BTreeSet<&str>)> {
    let mut users: BTreeMap<&str, (BTreeSet<&str>, BTreeSet<&str>)> = BTreeMap::new();
    for i in inv.instances.iter().filter(|i| i.state != InstanceState::Terminated) {
        if let Some(image) = i.image_id.as_deref() {
            users.entry(image).or_default().0.insert(i.id.as_str());
        }
    }
    for t in &inv.launch_templates {
        for image in &t.image_ids {
            users.entry(image.as_str()).or_default().1.insert(t.id.as_str());
        }
    }
    users
}

/// Snapshot id → the AMI whose block device mapping holds it: EC2 refuses to delete such a
/// snapshot until the AMI is deregistered, so the snapshot rules leave it to `ami-unused`.
pub(super) fn snapshot_images(inv: &Inventory) -> BTreeMap<&str, &str> {
    inv.images
        .iter()
        .flat_map(|i| i.snapshots.iter().map(move |s| (s.snapshot_id.as_str(), i.id.as_str())))
        .collect()
}
