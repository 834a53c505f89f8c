//! Which share of the period's spend the rules can judge: a user should see the blind spots
//! ("rules cover 62 % of this period's spend; not judged: Amazon S3 10 %, AWS Support 9 %, …")
//! before trusting a savings total.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::analysis::rules::ResourceKind;
use crate::model::{BillingSummary, Currency, Money};

/// One service no rule judges, with its spend.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UnjudgedService {
    pub service: String,
    pub billed_cost: Money,
    /// Share of the currency's total, in percent (one decimal).
    pub percent: f64,
}

/// Spend coverage of one currency.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpendCoverage {
    pub currency: Currency,
    pub billed_cost: Money,
    /// Spend of the services some rule judges.
    pub judged_cost: Money,
    /// `judged_cost` as a percent of `billed_cost` (one decimal); 0 when nothing was billed.
    pub judged_percent: f64,
    /// The services judged (FOCUS ServiceName), sorted.
    pub judged_services: Vec<String>,
    /// Every other service with spend, largest first.
    pub not_judged: Vec<UnjudgedService>,
}

impl SpendCoverage {
    /// `rules cover 62.1 % of this period's spend; not judged: Amazon S3 9.8 %, …` with at
    /// most `max_listed` services named (the rest counted).
    pub fn sentence(&self, max_listed: usize) -> String {
        let mut text = format!("rules cover {:.1} % of this period's spend", self.judged_percent);
        if self.not_judged.is_empty() {
            return text;
        }
        let listed: Vec<String> = self
            .not_judged
            .iter()
            .take(max_listed)
            .map(|s| format!("{} {:.1} %", s.service, s.percent))
            .collect();
        text.push_str("; not judged: ");
        text.push_str(&listed.join(", "));
        let more = self.not_judged.len().saturating_sub(max_listed);
        if more > 0 {
            text.push_str(&format!(" and {more} more"));
        }
        text
    }
}

fn percent(part: Money, whole: Money) -> f64 {
    if whole.raw() <= 0 {
        return 0.0;
    }
    let share = part.to_f64() / whole.to_f64() * 100.0;
    (share * 10.0).round() / 10.0
}

/// Coverage per currency of `billing` by rules on `kinds`. Lines without a service name count
/// as not judged, under "(no service)".
pub fn spend_coverage(
    billing: &BillingSummary,
    kinds: impl IntoIterator<Item = ResourceKind>,
) -> Vec<SpendCoverage> {
    let judged: BTreeSet<&str> =
        kinds.into_iter().flat_map(|k| k.services().iter().copied()).collect();
    let mut by_currency: BTreeMap<&Currency, BTreeMap<&str, Money>> = BTreeMap::new();
    for line in &billing.lines {
        let service = if line.service.is_empty() { "(no service)" } else { &line.service };
        *by_currency.entry(&line.currency).or_default().entry(service).or_default() +=
            line.billed_cost;
    }
    by_currency
        .into_iter()
        .map(|(currency, services)| {
            let billed_cost: Money = services.values().copied().sum();
            let judged_cost: Money =
                services.iter().filter(|(s, _)| judged.contains(*s)).map(|(_, cost)| *cost).sum();
            let mut not_judged: Vec<UnjudgedService> = services
                .iter()
                .filter(|(s, cost)| !judged.contains(*s) && !cost.is_zero())
                .map(|(s, cost)| UnjudgedService {
                    service: s.to_string(),
                    billed_cost: *cost,
                    percent: percent(*cost, billed_cost),
                })
                .collect();
            not_judged.sort_by(|a, b| {
                b.billed_cost.cmp(&a.billed_cost).then_with(|| a.service.cmp(&b.service))
            });
            SpendCoverage {
                currency: currency.clone(),
                billed_cost,
                judged_cost,
                judged_percent: percent(judged_cost, billed_cost),
                judged_services: services
                    .keys()
                    .filter(|s| judged.contains(*s))
                    .map(|s| s.to_string())
                    .collect(),
                not_judged,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BillingLine;

    fn line(service: &str, cost: &str) -> BillingLine {
        BillingLine {
            day: None,
            provider: "AWS".into(),
            account_id: "1".into(),
            service: service.into(),
            region: "us-east-1".into(),
            resource_id: String::new().into(),
            charge_category: "Usage".into(),
            charge_frequency: String::new().into(),
            tag_set: None,
            currency: Currency::new("USD"),
            billed_cost: Money::parse(cost).unwrap(),
            effective_cost: None,
            list_cost: None,
            rows: 1,
        }
    }

    #[test]
    fn judged_services_and_the_blind_spots_largest_first() {
        let billing = BillingSummary {
            lines: vec![
                line("Amazon Elastic Compute Cloud", "50"),
                line("Amazon Relational Database Service", "20"),
                line("Amazon Simple Storage Service", "20"),
                line("AWS Support (Business)", "10"),
            ],
            ..Default::default()
        };
        let coverage = spend_coverage(&billing, [ResourceKind::Ec2Instance, ResourceKind::Any]);
        assert_eq!(coverage.len(), 1);
        let c = &coverage[0];
        assert_eq!(c.judged_percent, 50.0);
        assert_eq!(c.judged_services, vec!["Amazon Elastic Compute Cloud".to_string()]);
        assert_eq!(
            c.sentence(2),
            "rules cover 50.0 % of this period's spend; not judged: Amazon Relational Database \
             Service 20.0 %, Amazon Simple Storage Service 20.0 % and 1 more"
        );
        let coverage =
            spend_coverage(&billing, [ResourceKind::Ec2Instance, ResourceKind::RdsInstance]);
        assert_eq!(coverage[0].judged_percent, 70.0);
        assert_eq!(coverage[0].not_judged.len(), 2);
    }

    #[test]
    fn nothing_billed_is_zero_percent_not_a_division_by_zero() {
        let billing =
            BillingSummary { lines: vec![line("Amazon DynamoDB", "0")], ..Default::default() };
        let c = &spend_coverage(&billing, [ResourceKind::DynamodbTable])[0];
        assert_eq!(c.judged_percent, 0.0);
        assert_eq!(c.sentence(5), "rules cover 0.0 % of this period's spend");
    }
}
