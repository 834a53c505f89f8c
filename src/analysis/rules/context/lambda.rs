//! Lambda functions as the rules see them: `lambda_function`.

use super::{Fields, Inputs, ResourceView, days_between, num, shared_text, text, view};
use crate::analysis::rules::rule::ResourceKind;
use crate::model::Money;
use crate::model::inventory::LambdaFunction;
use crate::model::utilization::UtilizationSummary;
use crate::pricing::{HOURS_PER_MONTH, PriceCatalog};

/// MB per GB as Lambda bills memory (1,024 MB is 1 GB).
const MB_PER_GB: i128 = 1024;

/// A total over the window scaled to a 730-hour month. Lambda publishes no point for an hour
/// without invocations, so totals are spread over the whole window, not the days with data.
pub fn per_month(total: f64, u: &UtilizationSummary) -> Option<f64> {
    (u.lookback_days > 0)
        .then(|| total * HOURS_PER_MONTH as f64 / 24.0 / f64::from(u.lookback_days))
}

/// Duration and requests for a month at the measured rate, exact to the whole millisecond and
/// request: GB-seconds × the architecture's price + requests × the price per million.
fn measured_monthly(
    f: &LambdaFunction,
    u: &UtilizationSummary,
    catalog: &PriceCatalog,
) -> Result<(Money, String), String> {
    let (Some(duration_ms), Some(invocations)) = (u.duration_total_ms, u.invocations_total) else {
        return Err("invocations and duration not measured".into());
    };
    let whole =
        |n: Option<f64>| n.filter(|x| x.is_finite() && *x > 0.0).map_or(0, |x| x.ceil() as i128);
    let ms_month = whole(per_month(duration_ms, u));
    let requests_month = whole(per_month(invocations, u));
    let table = catalog.services().get("lambda").map_err(|e| e.to_string())?;
    let unit = |name: &str| table.unit(&f.region, name).map_err(|e| e.to_string());
    let gb_second = unit(&format!("gb_second_{}", f.architecture.as_str()))?;
    // ms × MB → GB-seconds: ÷ 1000 ÷ 1024.
    let duration = gb_second.mul_ratio(ms_month * i128::from(f.memory_mb), 1000 * MB_PER_GB);
    let requests = unit("requests_million")?.mul_ratio(requests_month, 1_000_000);
    Ok((
        duration + requests,
        format!(
            "{requests_month} requests and {:.0} s at {} MB {} a month (measured, free tier not deducted)",
            ms_month as f64 / 1000.0,
            f.memory_mb,
            f.architecture.as_str()
        ),
    ))
}

pub(super) fn views<'a>(input: &Inputs<'a, '_>, views: &mut Vec<ResourceView<'a>>) {
    let now = input.snapshot.collected_at;
    for f in &input.snapshot.inventory.lambda_functions {
        let u = input.utilization.get(f.id.as_str()).copied();
        let cost = input.billed.monthly(&f.id).unwrap_or_else(|| {
            let (result, detail) = match u.map(|u| measured_monthly(f, u, input.catalog)) {
                Some(Ok((m, detail))) => (Ok(m), detail),
                Some(Err(e)) => (Err(e), String::new()),
                None => (Err("invocations not measured".to_string()), String::new()),
            };
            super::catalog_cost(input.catalog, result, detail)
        });
        let mut r = Fields::new();
        r.insert("id", text(&f.id));
        r.insert("name", text(&f.name));
        r.insert("memory_mb", num(f.memory_mb as f64));
        r.insert("memory_gb", num(f.memory_mb as f64 / MB_PER_GB as f64));
        r.insert("timeout_seconds", num(f.timeout_seconds as f64));
        r.insert("architecture", shared_text(f.architecture.as_str()));
        r.insert("runtime", shared_text(&f.runtime));
        r.insert("package_type", shared_text(&f.package_type));
        r.insert("days_since_modified", days_between(f.last_modified, now));
        views.push(view(
            ResourceKind::LambdaFunction,
            &f.id,
            &f.account_id,
            &f.region,
            &f.tags,
            r,
            input.utilization,
            cost,
        ));
    }
}
