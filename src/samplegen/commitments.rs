//! The sample's Compute Savings Plan: bought a size too large, so `commitment-underutilized`
//! fires, while the on-demand fleet beside it makes `commitment-purchase` fire.
//!
//! Rows follow the FOCUS specification's commitment scenarios: covered usage is
//! `PricingCategory = Committed` with status `Used` (BilledCost 0, EffectiveCost the plan's
//! rate), the plan's idle part is a daily `Unused` row, and its fee a daily recurring purchase.

use chrono::{DateTime, Duration, Utc};

use super::{Account, FocusRow, Service};
use crate::model::Money;

/// A commitment as the sample's rows name it.
#[derive(Debug, PartialEq, Eq)]
pub struct Commitment {
    pub id: &'static str,
    pub name: &'static str,
    pub category: &'static str,
    pub kind: &'static str,
}

pub static SAVINGS_PLAN: Commitment = Commitment {
    id: "arn:aws:savingsplans::222222222222:savingsplan/5e1c2f3a-8d4b-4a7e-9f10-2b3c4d5e6f70",
    name: "compute-sp-2025",
    category: "Spend",
    kind: "Compute Savings Plan",
};

const SAVINGS_PLANS: Service =
    Service { name: "Savings Plans for AWS Compute usage", category: "Compute" };

/// The plan's commitment per hour: sized to the busiest day's covered usage plus a tenth, as
/// a team buying for peak would (whole cents an hour).
pub fn hourly_commitment(used_by_day: &[Money]) -> Money {
    let peak = used_by_day.iter().copied().max().unwrap_or_default();
    let per_hour = peak.mul_ratio(110, 100 * 24);
    let cents = per_hour.mul_ratio(100, 1).round_dp(0);
    let rounded = cents.mul_ratio(1, 100);
    if rounded < per_hour { rounded + Money::parse("0.01").unwrap_or_default() } else { rounded }
}

/// The plan's daily rows: its recurring fee, and the part nothing used.
pub fn savings_plan_rows(used_by_day: &[Money], month_start: DateTime<Utc>) -> Vec<FocusRow> {
    let hourly = hourly_commitment(used_by_day);
    let daily = hourly.times(24);
    let mut rows = Vec::with_capacity(used_by_day.len() * 2);
    for (day, used) in used_by_day.iter().enumerate() {
        let start = month_start + Duration::days(day as i64);
        let end = start + Duration::days(1);
        let row = |billed: Money, effective: Money, category, frequency, status| FocusRow {
            billed_cost: billed,
            effective_cost: effective,
            // A purchase lists at its price; the unused part lists at nothing (no usage ran).
            list_cost: billed,
            account: Account::Prod,
            service: SAVINGS_PLANS,
            region: "",
            resource_id: SAVINGS_PLAN.id.to_string(),
            resource_name: SAVINGS_PLAN.name.to_string(),
            resource_type: "Savings Plan",
            charge_category: category,
            start,
            end,
            tags: "NULL".to_string(),
            charge_frequency: frequency,
            pricing_category: if category == "Usage" { "Committed" } else { "Standard" },
            commitment: Some((&SAVINGS_PLAN, status)),
        };
        rows.push(row(daily, Money::ZERO, "Purchase", "Recurring", ""));
        let unused = daily - *used;
        if unused > Money::ZERO {
            rows.push(row(Money::ZERO, unused, "Usage", "Usage-Based", "Unused"));
        }
    }
    rows
}

/// What the commitment rules are meant to conclude on the sample, computed from the rows
/// themselves (not by the analysis they check).
pub fn expectations(rows: &[FocusRow]) -> Vec<super::Expectation> {
    let (mut used, mut unused) = (Money::ZERO, Money::ZERO);
    let mut on_demand_by_day: std::collections::BTreeMap<DateTime<Utc>, Money> =
        std::collections::BTreeMap::new();
    for r in rows {
        match r.commitment {
            Some((_, "Used")) => used += r.effective_cost,
            Some((_, "Unused")) => unused += r.effective_cost,
            _ => {}
        }
        // Eligible on demand: EC2 instances and Lambda functions (commitments.toml).
        let eligible = matches!(r.resource_type, "Instance" | "Function")
            && r.charge_category == "Usage"
            && r.pricing_category == "Standard";
        if eligible {
            *on_demand_by_day.entry(r.start).or_default() += r.effective_cost;
        }
    }
    let total = used + unused;
    let utilization = used.to_f64() / total.to_f64() * 100.0;
    let mut days: Vec<Money> = on_demand_by_day.into_values().collect();
    days.sort();
    // p10 by nearest rank of 31 days: the 4th lowest day.
    let p10_day = days.get(3).copied().unwrap_or_default();
    vec![
        super::Expectation {
            rule_id: "commitment-underutilized",
            resource_id: SAVINGS_PLAN.id.to_string(),
            resource_type: "commitment",
            fires: utilization < 95.0,
            why: format!("utilization {utilization:.1} % < 95 % ({used} used, {unused} unused)"),
        },
        super::Expectation {
            rule_id: "commitment-purchase",
            resource_id: "AWS compute (USD)".to_string(),
            resource_type: "compute_scope",
            fires: p10_day > Money::ZERO,
            why: format!(
                "p10 day of on-demand EC2 and Lambda {p10_day} USD (≈ {} an hour)",
                p10_day.mul_ratio(1, 24).round_dp(4)
            ),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commitment_covers_the_busiest_day_with_room_to_spare() {
        let used = [Money::from_units(24), Money::from_units(48)];
        // 48 × 1.1 / 24 = 2.2 an hour.
        assert_eq!(hourly_commitment(&used), Money::parse("2.2").unwrap());
        let rows = savings_plan_rows(&used, Utc::now());
        // Day 1: 52.8 committed, 24 used → 28.8 unused; day 2: 4.8 unused.
        let unused: Vec<Money> = rows
            .iter()
            .filter(|r| r.commitment.is_some_and(|(_, s)| s == "Unused"))
            .map(|r| r.effective_cost)
            .collect();
        assert_eq!(unused, [Money::parse("28.8").unwrap(), Money::parse("4.8").unwrap()]);
    }
}
