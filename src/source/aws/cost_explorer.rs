//! Cost Explorer billing: daily cost by service and linked account, and by each required tag
//! key, over the lookback and the month to date. Every request is paid, so answers are cached
//! on disk (see [`super::cache`]) and the run counts the requests it really made.
//!
//! The answers become FOCUS rows and go through the same reader as a FOCUS export, so billing
//! from Cost Explorer and from a file aggregate, sort and report exactly alike.

use std::collections::BTreeMap;
use std::path::Path;

use aws_sdk_costexplorer::Client;
use aws_sdk_costexplorer::types::{
    DateInterval, Granularity, GroupDefinition, GroupDefinitionType,
};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::ApiFailure;
use super::cache::Cache;
use crate::model::{BillingSummary, Grain, Money, TagCost};
use crate::source::focus::{FocusOptions, read_focus_reader};

pub const UNBLENDED: &str = "UnblendedCost";
pub const AMORTIZED: &str = "AmortizedCost";

/// One GetCostAndUsage question, all pages of it. Its text form is the cache key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    pub account_id: String,
    pub start: NaiveDate,
    /// Exclusive, as Cost Explorer reads it.
    pub end: NaiveDate,
    /// `DIMENSION:SERVICE`, `TAG:team`, …
    pub group_by: Vec<String>,
    pub metrics: Vec<String>,
}

impl Query {
    pub fn key(&self) -> String {
        format!(
            "{}_{}_{}_{}_{}",
            self.account_id,
            self.start,
            self.end,
            self.group_by.join("+"),
            self.metrics.join("+")
        )
    }
}

/// One group of one day: its keys (`["AmazonEC2", "111122223333"]`, `["team$web"]`) and
/// metric → (amount, unit), amounts as Cost Explorer wrote them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub day: NaiveDate,
    pub keys: Vec<String>,
    pub metrics: BTreeMap<String, (String, String)>,
    #[serde(default)]
    pub estimated: bool,
}

/// Everything the pages of one query said.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub rows: Vec<Row>,
    /// Linked account id → name (DimensionValueAttributes `description`).
    pub account_names: BTreeMap<String, String>,
    /// Paid requests this answer took when it was fetched.
    pub pages: u32,
}

/// Requests made and answers taken from the cache during one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub paid_requests: u32,
    pub cached_answers: u32,
}

/// Asks `query`, from the cache when a fresh answer is there.
pub async fn ask(
    client: &Client,
    cache: &Cache,
    query: &Query,
    usage: &mut Usage,
) -> Result<Answer, ApiFailure> {
    if let Some(answer) = cache.get::<Query, Answer>(&query.key(), query) {
        usage.cached_answers += 1;
        return Ok(answer);
    }
    let answer = fetch(client, query, usage).await?;
    cache.put(&query.key(), query, &answer);
    Ok(answer)
}

async fn fetch(client: &Client, query: &Query, usage: &mut Usage) -> Result<Answer, ApiFailure> {
    let fail = |e| ApiFailure::new("Cost Explorer", "GetCostAndUsage", e);
    let period = DateInterval::builder()
        .start(query.start.to_string())
        .end(query.end.to_string())
        .build()
        .map_err(|e| ApiFailure::message("Cost Explorer", "GetCostAndUsage", e.to_string()))?;
    let mut groups = Vec::new();
    for g in &query.group_by {
        let (kind, key) = g.split_once(':').unwrap_or(("DIMENSION", g));
        let kind =
            if kind == "TAG" { GroupDefinitionType::Tag } else { GroupDefinitionType::Dimension };
        groups.push(GroupDefinition::builder().r#type(kind).key(key).build());
    }
    let mut answer = Answer::default();
    let mut token: Option<String> = None;
    loop {
        let response = client
            .get_cost_and_usage()
            .time_period(period.clone())
            .granularity(Granularity::Daily)
            .set_metrics(Some(query.metrics.clone()))
            .set_group_by(Some(groups.clone()))
            .set_next_page_token(token.take())
            .send()
            .await;
        usage.paid_requests += 1;
        answer.pages += 1;
        let page = response.map_err(fail)?;
        for by_time in page.results_by_time() {
            let Some(day) = by_time
                .time_period()
                .and_then(|p| NaiveDate::parse_from_str(p.start(), "%Y-%m-%d").ok())
            else {
                continue;
            };
            for group in by_time.groups() {
                let metrics = group
                    .metrics()
                    .map(|m| {
                        m.iter()
                            .map(|(name, v)| {
                                let amount = v.amount().unwrap_or("0").to_string();
                                (name.clone(), (amount, v.unit().unwrap_or("USD").to_string()))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                answer.rows.push(Row {
                    day,
                    keys: group.keys().to_vec(),
                    metrics,
                    estimated: by_time.estimated(),
                });
            }
        }
        for attr in page.dimension_value_attributes() {
            if let (Some(value), Some(name)) =
                (attr.value(), attr.attributes().and_then(|a| a.get("description")))
            {
                answer.account_names.insert(value.to_string(), name.clone());
            }
        }
        match page.next_page_token().filter(|t| !t.is_empty()) {
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
    }
    Ok(answer)
}

/// The rows of several answers (one per profile), each (day, keys) once: with consolidated
/// billing, a payer's and a member's profile both see the member's costs.
fn distinct_rows(answers: &[Answer]) -> Vec<&Row> {
    let mut seen = std::collections::HashSet::new();
    answers.iter().flat_map(|a| &a.rows).filter(|r| seen.insert((r.day, &r.keys))).collect()
}

/// The FOCUS rows of SERVICE × LINKED_ACCOUNT answers, aggregated like a FOCUS file.
pub fn billing(answers: &[Answer], source: &str, grain: Grain) -> Result<BillingSummary, String> {
    let names: BTreeMap<&String, &String> = answers.iter().flat_map(|a| &a.account_names).collect();
    let mut csv = csv::Writer::from_writer(Vec::new());
    let header = [
        "ProviderName",
        "SubAccountId",
        "SubAccountName",
        "ServiceName",
        "ChargeCategory",
        "ChargePeriodStart",
        "BillingCurrency",
        "BilledCost",
        "EffectiveCost",
    ];
    csv.write_record(header).map_err(|e| e.to_string())?;
    for row in distinct_rows(answers) {
        let [service, account] = row.keys.as_slice() else { continue };
        let Some((billed, currency)) = row.metrics.get(UNBLENDED) else { continue };
        let effective = row.metrics.get(AMORTIZED).map_or("", |(a, _)| a.as_str());
        // Cost Explorer lists tax as a service of its own.
        let category = if service == "Tax" { "Tax" } else { "Usage" };
        let start = format!("{}T00:00:00Z", row.day);
        let name = names.get(account).map_or("", |n| n.as_str());
        let record = ["AWS", account, name, service, category, &start, currency, billed, effective];
        csv.write_record(record).map_err(|e| e.to_string())?;
    }
    let bytes = csv.into_inner().map_err(|e| e.to_string())?;
    let options = FocusOptions { grain, skip_invalid: false };
    read_focus_reader(bytes.as_slice(), Path::new(source), options).map_err(|e| e.to_string())
}

/// Cost per value of `key` over the whole period, from `TAG:key` × LINKED_ACCOUNT answers.
/// Cost Explorer names each group `key$value`, and untagged cost is `key$`.
pub fn tag_costs(answers: &[Answer], key: &str) -> Result<Vec<TagCost>, String> {
    let mut sums: BTreeMap<(String, String), Money> = BTreeMap::new();
    for row in distinct_rows(answers) {
        let Some(group) = row.keys.first() else { continue };
        let value = group.strip_prefix(key).and_then(|v| v.strip_prefix('$')).unwrap_or(group);
        let Some((amount, currency)) = row.metrics.get(UNBLENDED) else { continue };
        let amount = Money::parse(amount).map_err(|e| {
            format!("Cost Explorer amount {amount:?} of {key}${value} on {}: {e}", row.day)
        })?;
        let sum = sums.entry((value.to_string(), currency.clone())).or_default();
        *sum = sum.checked_add(amount).ok_or_else(|| format!("{key}: sum out of range"))?;
    }
    Ok(sums
        .into_iter()
        .map(|((value, currency), billed_cost)| TagCost {
            key: key.to_string(),
            value,
            currency: crate::model::Currency::new(&currency),
            billed_cost,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(day: u32, keys: &[&str], unblended: &str, amortized: Option<&str>) -> Row {
        let mut metrics = BTreeMap::new();
        metrics.insert(UNBLENDED.to_string(), (unblended.to_string(), "USD".to_string()));
        if let Some(a) = amortized {
            metrics.insert(AMORTIZED.to_string(), (a.to_string(), "USD".to_string()));
        }
        Row {
            day: NaiveDate::from_ymd_opt(2026, 11, day).unwrap_or_default(),
            keys: keys.iter().map(|k| k.to_string()).collect(),
            metrics,
            estimated: false,
        }
    }

    #[test]
    fn service_account_answers_become_billing_lines() {
        let answer = Answer {
            rows: vec![
                row(
                    1,
                    &["Amazon Elastic Compute Cloud - Compute", "111122223333"],
                    "10.5",
                    Some("9"),
                ),
                row(
                    2,
                    &["Amazon Elastic Compute Cloud - Compute", "111122223333"],
                    "1.25E1",
                    Some("12"),
                ),
                row(2, &["Tax", "111122223333"], "2.0000000001", None),
            ],
            account_names: [("111122223333".to_string(), "prod".to_string())].into(),
            pages: 1,
        };
        let b = billing(&[answer.clone(), answer], "aws:cost-explorer", Grain::FULL).unwrap();
        assert_eq!(b.rows_read, 3);
        assert_eq!(b.account_names.get("111122223333").map(String::as_str), Some("prod"));
        let total: Money = b.daily.iter().map(|d| d.billed_cost).sum();
        assert_eq!(total.to_string(), "25.0000000001");
        let tax: Money =
            b.lines.iter().filter(|l| l.charge_category == "Tax").map(|l| l.billed_cost).sum();
        assert_eq!(tax.to_string(), "2.0000000001");
        assert_eq!(b.first_day, NaiveDate::from_ymd_opt(2026, 11, 1));
        assert_eq!(b.last_day, NaiveDate::from_ymd_opt(2026, 11, 2));
    }

    #[test]
    fn tag_answers_sum_per_value_and_untagged_is_the_empty_value() {
        let answer = Answer {
            rows: vec![
                row(1, &["team$web"], "3", None),
                row(2, &["team$web"], "4.5", None),
                row(1, &["team$"], "10", None),
            ],
            ..Default::default()
        };
        let costs = tag_costs(&[answer], "team").unwrap();
        let got: Vec<(&str, String)> =
            costs.iter().map(|c| (c.value.as_str(), c.billed_cost.to_string())).collect();
        assert_eq!(got, vec![("", "10".to_string()), ("web", "7.5".to_string())]);
        let bad = Answer { rows: vec![row(1, &["team$web"], "x", None)], ..Default::default() };
        assert!(tag_costs(&[bad], "team").unwrap_err().contains("team$web"));
    }
}
