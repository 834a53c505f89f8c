//! The sample's Compute Savings Plan: bought a size too large, so `commitment-underutilized`
//! fires, while the on-demand fleet beside it makes `commitment-purchase` fire. Two EC2
//! reservations bought all upfront, fully used: one ends 20 days after the sample was collected
//! (`commitment-expiring` fires), the other 45 days after (a near miss).
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

pub static RESERVATION_EXPIRING: Commitment = Commitment {
    id: "arn:aws:ec2:us-east-1:222222222222:reserved-instances/4b2d8e6f-1a3c-4e5f-8a7b-9c0d1e2f3a4b",
    name: "ri-batch-m5-large",
    category: "Usage",
    kind: "Reserved Instance",
};

pub static RESERVATION_LATER: Commitment = Commitment {
    id: "arn:aws:ec2:us-east-1:222222222222:reserved-instances/7c8d9e0f-2b3a-4c5d-9e8f-0a1b2c3d4e5f",
    name: "ri-ci-m5-large",
    category: "Usage",
    kind: "Reserved Instance",
};

/// One m5.large reservation: the instance it covers and when its term ends.
pub struct Reservation {
    pub commitment: &'static Commitment,
    pub instance_id: &'static str,
    pub instance_name: &'static str,
    /// Days after the sample's collection time.
    pub ends_after_days: i64,
}

pub static RESERVATIONS: [Reservation; 2] = [
    Reservation {
        commitment: &RESERVATION_EXPIRING,
        instance_id: "i-0a1b2c3d4e5f60718",
        instance_name: "batch-reserved-1",
        ends_after_days: 20,
    },
    Reservation {
        commitment: &RESERVATION_LATER,
        instance_id: "i-0f1e2d3c4b5a69788",
        instance_name: "ci-reserved-1",
        ends_after_days: 45,
    },
];

/// m5.large in us-east-1 on demand, an hour (rules/prices/ec2.toml).
const M5_LARGE_HOURLY: &str = "0.096";
/// A 1-year all-upfront m5.large reservation's fee (≈ 38 % off on demand).
const RESERVATION_UPFRONT: &str = "522";

const EC2: Service = Service { name: "Amazon Elastic Compute Cloud", category: "Compute" };

fn parse(text: &str) -> Money {
    Money::parse(text).unwrap_or_default()
}

/// Each reservation's rows: its upfront fee, and every day the instance it covers ran on it
/// (BilledCost 0, EffectiveCost the fee amortized over 365 days, ListCost the on-demand price).
///
/// FOCUS bills a one-time purchase in the month it was bought; the sample has one month only,
/// so the fee's row is in it, its charge period running to the term's end, which is what lets
/// billing alone tell when the term ends.
pub fn reservation_rows(month_start: DateTime<Utc>, collected_at: DateTime<Utc>) -> Vec<FocusRow> {
    let upfront = parse(RESERVATION_UPFRONT);
    let mut rows = Vec::new();
    for r in &RESERVATIONS {
        let c = r.commitment;
        let purchase = FocusRow {
            billed_cost: upfront,
            effective_cost: Money::ZERO,
            list_cost: upfront,
            account: Account::Prod,
            service: EC2,
            region: "us-east-1",
            resource_id: c.id.to_string(),
            resource_name: c.name.to_string(),
            resource_type: "Reserved Instance",
            charge_category: "Purchase",
            start: month_start,
            end: collected_at + Duration::days(r.ends_after_days),
            tags: "NULL".to_string(),
            charge_frequency: "One-Time",
            pricing_category: "Standard",
            commitment: Some((c, "")),
        };
        rows.push(purchase);
    }
    rows.extend(reservation_usage_rows(month_start, collected_at));
    rows
}

/// Every day in `[from, until)`, the instances the reservations cover, running on them.
pub fn reservation_usage_rows(from: DateTime<Utc>, until: DateTime<Utc>) -> Vec<FocusRow> {
    let daily_effective = parse(RESERVATION_UPFRONT).mul_ratio(1, 365).round_dp(10);
    let daily_list = parse(M5_LARGE_HOURLY).times(24);
    let tags = r#"{"cost-center":"cc-200","env":"prod","team":"platform"}"#;
    let mut rows = Vec::new();
    for r in &RESERVATIONS {
        let mut start = from;
        while start < until {
            let end = start + Duration::days(1);
            rows.push(FocusRow {
                billed_cost: Money::ZERO,
                effective_cost: daily_effective,
                list_cost: daily_list,
                account: Account::Prod,
                service: EC2,
                region: "us-east-1",
                resource_id: r.instance_id.to_string(),
                resource_name: r.instance_name.to_string(),
                resource_type: "Instance",
                charge_category: "Usage",
                start,
                end,
                tags: tags.to_string(),
                charge_frequency: "Usage-Based",
                pricing_category: "Committed",
                commitment: Some((r.commitment, "Used")),
            });
            start = end;
        }
    }
    rows
}

/// What `commitment-expiring` is meant to conclude on the reservations, from the rows.
pub fn reservation_expectations(
    rows: &[FocusRow],
    collected_at: DateTime<Utc>,
) -> Vec<super::Expectation> {
    RESERVATIONS
        .iter()
        .map(|r| {
            let covered = |status| {
                rows.iter().filter(move |x| {
                    x.commitment.is_some_and(|(c, s)| c.id == r.commitment.id && s == status)
                })
            };
            let list: Money = covered("Used").map(|x| x.list_cost).sum();
            let cost: Money = covered("Used").map(|x| x.effective_cost).sum();
            let days = covered("Used").count() as i128;
            let monthly = (list - cost).mul_ratio(730, 24 * days.max(1)).round_dp(2);
            let end = collected_at + Duration::days(r.ends_after_days);
            super::Expectation {
                rule_id: "commitment-expiring",
                resource_id: r.commitment.id.to_string(),
                resource_type: "commitment",
                fires: r.ends_after_days <= 30,
                why: format!(
                    "term ends {} ({} days after collection; 30 is the limit); renewing keeps \
                     saving ({list} on demand − {cost} amortized) over {days} days ≈ {monthly} a month",
                    end.date_naive(),
                    r.ends_after_days
                ),
            }
        })
        .collect()
}

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

/// The plan's daily rows, its commitment sized on `used_by_day` (see [`hourly_commitment`]).
#[cfg(test)]
pub fn savings_plan_rows(used_by_day: &[Money], month_start: DateTime<Utc>) -> Vec<FocusRow> {
    savings_plan_rows_at(hourly_commitment(used_by_day), used_by_day, month_start)
}

/// The plan's daily rows from `first`: its recurring fee, and the part nothing used.
pub fn savings_plan_rows_at(
    hourly: Money,
    used_by_day: &[Money],
    first: DateTime<Utc>,
) -> Vec<FocusRow> {
    let daily = hourly.times(24);
    let mut rows = Vec::with_capacity(used_by_day.len() * 2);
    for (day, used) in used_by_day.iter().enumerate() {
        let start = first + Duration::days(day as i64);
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
            Some((c, "Used")) if c.id == SAVINGS_PLAN.id => used += r.effective_cost,
            Some((c, "Unused")) if c.id == SAVINGS_PLAN.id => unused += r.effective_cost,
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
    // p10 by nearest rank: the ⌈n / 10⌉th lowest day (the 7th of 61).
    let p10_day = days.get(days.len().div_ceil(10).saturating_sub(1)).copied().unwrap_or_default();
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
