//! Commitments as the rules see them: `commitment` (one Savings Plan, reservation or committed
//! use discount) and `compute_scope` (one provider's eligible compute, for purchase advice).

use std::sync::Arc;

use cel_interpreter::Value;

use super::{CostSource, CurrentCost, Fields, Inputs, ResourceView, num, shared_text, text, view};
use crate::analysis::commitments::{CommitmentParams, analyse_snapshot};
use crate::analysis::rules::rule::ResourceKind;
use crate::model::{Money, Tags};
use crate::pricing::catalog::HOURS_PER_MONTH;

/// Commitments carry no tags in FOCUS; one empty set serves every view.
static NO_TAGS: std::sync::LazyLock<Tags> = std::sync::LazyLock::new(Tags::default);

fn percent(share: Option<Money>) -> Value {
    share.map_or(Value::Null, |s| num(s.to_f64() * 100.0))
}

/// What a commitment covers, in words for the evidence.
fn covers(c: &crate::analysis::commitments::CommitmentRow) -> String {
    let where_ = if c.region.is_empty() { String::new() } else { format!(" in {}", c.region) };
    if let Some(list) = c.covered_list_monthly.filter(|_| c.days > 0) {
        format!("usage worth {} a month at on-demand prices", list.display_2dp())
    } else if let (Some(n), false) = (c.instance_count, c.plan_type.is_empty()) {
        format!("{n} × {}{where_}", c.plan_type)
    } else if let Some(h) = c.api_hourly_commitment.or(c.hourly_commitment) {
        let kind = if c.plan_type.is_empty() { String::new() } else { format!("{} ", c.plan_type) };
        format!("{kind}usage up to {} an hour committed{where_}", h.round_dp(4))
    } else {
        "usage of an unknown size".to_string()
    }
}

pub(super) fn views<'a>(input: &Inputs<'a, '_>, views: &mut Vec<ResourceView<'a>>) {
    let has_billing = input.snapshot.billing.as_ref().is_some_and(|b| !b.commitments.is_empty());
    let has_live =
        input.snapshot.live_commitments.as_ref().is_some_and(|l| !l.commitments.is_empty());
    if !has_billing && !has_live {
        return;
    }
    // The params only shape purchase advice, which the views do not use: the rules compute it
    // from the series with their own params.
    let report =
        analyse_snapshot(input.snapshot, input.catalog.commitments(), &CommitmentParams::default());
    for c in &report.commitments {
        let mut f = Fields::new();
        f.insert("id", text(&c.id));
        f.insert("name", text(if c.name.is_empty() { &c.id } else { &c.name }));
        f.insert(
            "commitment_type",
            shared_text(if c.kind.is_empty() { "commitment" } else { &c.kind }),
        );
        f.insert(
            "category",
            shared_text(if c.category.is_empty() { "unknown" } else { &c.category }),
        );
        f.insert("provider", shared_text(&c.provider));
        f.insert("has_usage_rows", Value::Bool(c.days > 0));
        f.insert("days", num(c.days as f64));
        f.insert("used", num(c.used.to_f64()));
        f.insert("unused", num(c.unused.to_f64()));
        f.insert("utilization_percent", percent(c.utilization));
        f.insert("unused_monthly", num(c.unused_monthly.to_f64()));
        f.insert("hourly_commitment", c.hourly_commitment.map_or(Value::Null, |h| num(h.to_f64())));
        f.insert("purchase_one_time", num(c.purchase_one_time.to_f64()));
        f.insert("purchase_recurring", num(c.purchase_recurring.to_f64()));
        f.insert("cost_basis", shared_text("EffectiveCost, or BilledCost where a row has none"));
        f.insert("source", shared_text(c.source));
        f.insert("plan_type", text(&c.plan_type));
        f.insert("payment_option", text(&c.payment_option));
        f.insert("term_end", c.term_end.map_or(Value::Null, |d| text(&d.to_string())));
        f.insert("days_to_expiry", c.days_to_expiry.map_or(Value::Null, |d| num(d as f64)));
        f.insert("instance_count", c.instance_count.map_or(Value::Null, |n| num(n as f64)));
        f.insert(
            "covered_list_monthly",
            c.covered_list_monthly.map_or(Value::Null, |m| num(m.to_f64())),
        );
        f.insert(
            "renewal_savings_monthly",
            c.renewal_savings_monthly.map_or(Value::Null, |m| num(m.to_f64())),
        );
        f.insert("renewal_basis", text(&c.renewal_basis));
        f.insert("covers", text(&covers(c)));
        let cost = CurrentCost {
            monthly: c
                .hourly_commitment
                .or(c.api_hourly_commitment)
                .map(|h| h.times(HOURS_PER_MONTH)),
            currency: c.currency.clone(),
            source: CostSource::Billing { days: c.days, basis: None },
        };
        views.push(view(
            ResourceKind::Commitment,
            &c.id,
            &c.account_id,
            &c.region,
            &NO_TAGS,
            f,
            input.utilization,
            cost,
        ));
    }
    for s in &report.scopes {
        let series: Vec<Value> = s.on_demand_per_hour.iter().map(|m| num(m.to_f64())).collect();
        let mut f = Fields::new();
        f.insert("id", text(&s.id));
        f.insert("provider", shared_text(&s.provider));
        // Purchase advice needs the provider's rates; without them the commitments table says
        // why, and the rule stays silent rather than failing.
        let has_rates = input.catalog.commitments().provider(&s.provider).is_some();
        f.insert("has_rates", Value::Bool(has_rates));
        f.insert("currency", shared_text(s.currency.code().unwrap_or("")));
        f.insert("granularity", shared_text(s.granularity));
        f.insert("on_demand_per_hour", Value::List(Arc::new(series)));
        f.insert("on_demand_total", num(s.on_demand_total.to_f64()));
        f.insert("covered_total", num(s.covered_total.to_f64()));
        f.insert("coverage_percent", percent(s.coverage));
        let buckets = s.on_demand_per_hour.len() as i128;
        let days = if s.granularity == "hourly" { buckets / 24 } else { buckets };
        let monthly = if buckets > 0 {
            let per_hour: Money = s.on_demand_per_hour.iter().copied().sum();
            Some(
                per_hour
                    .mul_ratio(i128::from(HOURS_PER_MONTH), buckets)
                    .round_dp(crate::model::money::ESTIMATE_DIGITS),
            )
        } else {
            None
        };
        let cost = CurrentCost {
            monthly,
            currency: s.currency.clone(),
            source: CostSource::Billing { days: days as i64, basis: None },
        };
        views.push(view(
            ResourceKind::ComputeScope,
            &s.id,
            "",
            "",
            &NO_TAGS,
            f,
            input.utilization,
            cost,
        ));
    }
}
