//! S3 buckets as the rules see them: `s3_bucket`.

use cel_interpreter::Value;

use super::{Fields, Inputs, ResourceView, days_between, num, text, view};
use crate::analysis::rules::rule::ResourceKind;
use crate::model::Money;
use crate::model::utilization::UtilizationSummary;
use crate::pricing::PriceCatalog;

/// Each CloudWatch StorageType and the price-table unit it is billed at; the Intelligent-Tiering
/// tiers at the classes whose prices they share (frequent = Standard, infrequent = Standard-IA,
/// archive instant = Glacier Instant Retrieval; the monitoring fee per object is not included).
const STORAGE_UNITS: [(&str, &str); 10] = [
    ("StandardStorage", "standard_gb_month"),
    ("StandardIAStorage", "standard_ia_gb_month"),
    ("OneZoneIAStorage", "one_zone_ia_gb_month"),
    ("ReducedRedundancyStorage", "standard_gb_month"),
    ("GlacierInstantRetrievalStorage", "glacier_ir_gb_month"),
    ("GlacierStorage", "glacier_gb_month"),
    ("DeepArchiveStorage", "deep_archive_gb_month"),
    ("IntelligentTieringFAStorage", "standard_gb_month"),
    ("IntelligentTieringIAStorage", "standard_ia_gb_month"),
    ("IntelligentTieringAIAStorage", "glacier_ir_gb_month"),
];

const GB: f64 = 1e9;

/// The storage of the last day measured, each class at its price, for a month (requests and
/// transfer are not measured, so not included).
fn storage_monthly(
    region: &str,
    u: &UtilizationSummary,
    catalog: &PriceCatalog,
) -> Result<Money, String> {
    let table = catalog.services().get("s3").map_err(|e| e.to_string())?;
    let mut total = Money::ZERO;
    for (storage_type, bytes) in &u.storage_bytes {
        let unit = STORAGE_UNITS
            .iter()
            .find(|(t, _)| t == storage_type)
            .map_or("standard_gb_month", |(_, unit)| unit);
        let price = table.unit(region, unit).map_err(|e| e.to_string())?;
        let bytes = if bytes.is_finite() && *bytes > 0.0 { bytes.round() as i128 } else { 0 };
        total += price.mul_ratio(bytes, 1_000_000_000);
    }
    Ok(total)
}

pub(super) fn views<'a>(input: &Inputs<'a, '_>, views: &mut Vec<ResourceView<'a>>) {
    let now = input.snapshot.collected_at;
    for b in &input.snapshot.inventory.s3_buckets {
        let u = input.utilization.get(b.id.as_str()).copied();
        // Billing names a bucket by its ARN or, as AWS's own exports do, by its bare name.
        let billed = input.billed.monthly(&b.id).or_else(|| input.billed.monthly(&b.name));
        let cost = billed.unwrap_or_else(|| {
            let (result, detail) = match u.filter(|u| !u.storage_bytes.is_empty()) {
                Some(u) => (
                    storage_monthly(&b.region, u, input.catalog),
                    format!(
                        "{:.1} GB stored in {} (storage only; requests and transfer not included)",
                        u.storage_bytes.values().sum::<f64>() / GB,
                        b.region
                    ),
                ),
                None => (Err("bucket size not measured".to_string()), String::new()),
            };
            super::catalog_cost(input.catalog, result, detail)
        });
        let mut r = Fields::new();
        r.insert("id", text(&b.id));
        r.insert("name", text(&b.name));
        r.insert("age_days", days_between(b.create_time, now));
        let optional = |n: Option<u32>| n.map_or(Value::Null, |n| num(f64::from(n)));
        r.insert("lifecycle_rules", optional(b.lifecycle_rules));
        r.insert("lifecycle_rules_enabled", optional(b.lifecycle_rules_enabled));
        r.insert("intelligent_tiering_configs", optional(b.intelligent_tiering_configs));
        views.push(view(
            ResourceKind::S3Bucket,
            &b.id,
            &b.account_id,
            &b.region,
            &b.tags,
            r,
            input.utilization,
            cost,
        ));
    }
}
