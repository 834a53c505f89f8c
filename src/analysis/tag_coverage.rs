//! Tag coverage: how much cost and how many resources carry each required tag key, which
//! resources miss them, and which keys or values are spelled several ways.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::model::{BillingSummary, Currency, Money, Tags};

/// Coverage of one required key in one currency.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KeyCoverage {
    pub key: String,
    pub currency: Currency,
    /// Cost of the charges carrying the key with a non-empty value.
    pub tagged_cost: Money,
    /// Cost of all positive charges (credits and refunds are not "coverable").
    pub total_cost: Money,
    /// `tagged_cost / total_cost` rounded to 6 decimals; `None` when there is no cost.
    pub cost_share: Option<Money>,
    pub resources_tagged: u64,
    pub resources_total: u64,
    pub resource_share: Option<Money>,
}

/// A billed resource missing at least one required key.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UntaggedResource {
    pub resource_id: String,
    pub resource_type: String,
    pub service: String,
    pub account_id: String,
    pub region: String,
    pub missing: Vec<String>,
    pub currency: Currency,
    pub cost: Money,
}

/// Whether an issue is about the spelling of keys or of one key's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IssueKind {
    Key,
    Value,
}

/// One spelling of a key or value, with how much uses it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Variant {
    pub text: String,
    pub resources: u64,
    /// Positive charges carrying this spelling, per currency.
    pub cost: BTreeMap<Currency, Money>,
}

/// Several spellings that mean the same key (`Env`, `env`, `environment`) or the same value of
/// one key (`prod`, `Prod`, `production`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NormalizationIssue {
    pub kind: IssueKind,
    /// For value issues, the canonical key the values belong to.
    pub key: String,
    /// The canonical spelling the variants fold to.
    pub canonical: String,
    pub variants: Vec<Variant>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TagCoverage {
    pub required: Vec<String>,
    pub keys: Vec<KeyCoverage>,
    /// Ranked by cost, largest first.
    pub untagged: Vec<UntaggedResource>,
    pub issues: Vec<NormalizationIssue>,
}

/// Folds a key or value to a canonical form: case, whitespace and separators are ignored and
/// common synonyms meet (`environment` → `env`, `production` → `prod`).
pub fn canonical(text: &str) -> String {
    let folded: String =
        text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect();
    let synonym = match folded.as_str() {
        "environment" | "environ" | "envname" => "env",
        "production" | "prd" | "prod" => "prod",
        "development" | "develop" | "dev" => "dev",
        "staging" | "stg" | "stage" => "staging",
        "testing" | "tst" | "test" => "test",
        "costcenter" | "costcentre" | "cc" => "costcenter",
        "owner" | "owners" => "owner",
        "team" | "teams" => "team",
        _ => return folded,
    };
    synonym.to_string()
}

fn share(part: Money, whole: Money) -> Option<Money> {
    part.share_of(whole)
}

fn count_share(part: u64, whole: u64) -> Option<Money> {
    Money::ratio_6dp(i128::from(part), i128::from(whole))
}

fn has_key(tags: Option<&Tags>, key: &str) -> bool {
    tags.and_then(|t| t.get(key)).is_some_and(|v| !v.trim().is_empty())
}

/// Computes coverage of `required` keys over billing at full grain.
pub fn tag_coverage(summary: &BillingSummary, required: &[String]) -> TagCoverage {
    let mut tagged: BTreeMap<(&str, &Currency), Money> = BTreeMap::new();
    let mut totals: BTreeMap<&Currency, Money> = BTreeMap::new();
    // Hashed, not ordered: a detailed read has a line per resource and day, and `untagged` is
    // sorted below anyway.
    let mut resource_cost: HashMap<(&str, &Currency), Money> = HashMap::new();
    for line in &summary.lines {
        if !line.resource_id.is_empty() {
            *resource_cost.entry((&line.resource_id, &line.currency)).or_default() +=
                line.billed_cost;
        }
        if line.billed_cost.raw() <= 0 {
            continue;
        }
        *totals.entry(&line.currency).or_default() += line.billed_cost;
        let tags = summary.tags_of(line);
        for key in required {
            if has_key(tags, key) {
                *tagged.entry((key, &line.currency)).or_default() += line.billed_cost;
            }
        }
    }
    // Cost Explorer groups by one tag key at a time: its per-value totals say the key's
    // coverage where lines carry no tags. Keys are matched exactly, as Cost Explorer does.
    let mut by_value: BTreeMap<(&str, &Currency), (Money, Money)> = BTreeMap::new();
    for t in summary.tag_costs.iter().filter(|t| t.billed_cost.raw() > 0) {
        let (tagged, total) = by_value.entry((t.key.as_str(), &t.currency)).or_default();
        *total += t.billed_cost;
        if !t.value.trim().is_empty() {
            *tagged += t.billed_cost;
        }
    }
    let resources_total = summary.resources.len() as u64;
    let mut keys = Vec::new();
    for key in required {
        let resources_tagged =
            summary.resources.values().filter(|r| has_key(Some(&r.tags), key)).count() as u64;
        let from_tag_costs: Vec<(&Currency, Money, Money)> = by_value
            .iter()
            .filter(|((k, _), _)| k == key)
            .map(|((_, c), (tagged, total))| (*c, *tagged, *total))
            .collect();
        let per_currency: Vec<(&Currency, Money, Money)> = if from_tag_costs.is_empty() {
            totals
                .iter()
                .map(|(c, total)| {
                    (*c, tagged.get(&(key.as_str(), *c)).copied().unwrap_or_default(), *total)
                })
                .collect()
        } else {
            from_tag_costs
        };
        for &(currency, tagged_cost, total) in &per_currency {
            let total = &total;
            keys.push(KeyCoverage {
                key: key.clone(),
                currency: currency.clone(),
                tagged_cost,
                total_cost: *total,
                cost_share: share(tagged_cost, *total),
                resources_tagged,
                resources_total,
                resource_share: count_share(resources_tagged, resources_total),
            });
        }
        if per_currency.is_empty() {
            keys.push(KeyCoverage {
                key: key.clone(),
                currency: Currency::unknown(),
                tagged_cost: Money::ZERO,
                total_cost: Money::ZERO,
                cost_share: None,
                resources_tagged,
                resources_total,
                resource_share: count_share(resources_tagged, resources_total),
            });
        }
    }

    let mut untagged = Vec::new();
    for ((id, currency), cost) in &resource_cost {
        let Some(resource) = summary.resources.get(*id) else { continue };
        let missing: Vec<String> =
            required.iter().filter(|k| !has_key(Some(&resource.tags), k)).cloned().collect();
        if missing.is_empty() {
            continue;
        }
        untagged.push(UntaggedResource {
            resource_id: (*id).to_string(),
            resource_type: resource.resource_type.to_string(),
            service: resource.service.to_string(),
            account_id: resource.account_id.to_string(),
            region: resource.region.to_string(),
            missing,
            currency: (*currency).clone(),
            cost: *cost,
        });
    }
    untagged.sort_by(|a, b| {
        b.cost
            .cmp(&a.cost)
            .then_with(|| a.resource_id.cmp(&b.resource_id))
            .then_with(|| a.currency.cmp(&b.currency))
    });

    TagCoverage {
        required: required.to_vec(),
        keys,
        untagged,
        issues: normalization_issues(summary),
    }
}

#[derive(Default)]
struct Usage<'a> {
    resources: BTreeSet<&'a str>,
    cost: BTreeMap<Currency, Money>,
}

fn normalization_issues(summary: &BillingSummary) -> Vec<NormalizationIssue> {
    // canonical key → spelling → usage; (canonical key, canonical value) → spelling → usage
    let mut keys: BTreeMap<String, BTreeMap<&str, Usage<'_>>> = BTreeMap::new();
    let mut values: BTreeMap<(String, String), BTreeMap<&str, Usage<'_>>> = BTreeMap::new();
    for (id, resource) in &summary.resources {
        for (k, v) in &resource.tags {
            let ck = canonical(k);
            keys.entry(ck.clone()).or_default().entry(k).or_default().resources.insert(id);
            values
                .entry((ck, canonical(v)))
                .or_default()
                .entry(v)
                .or_default()
                .resources
                .insert(id);
        }
    }
    // Lines share a few tag sets: sum per set first, so each set's tags are read once rather
    // than once per line (a detailed read has a line per resource and day).
    let mut by_set: HashMap<(u32, &Currency), Money> = HashMap::new();
    for line in summary.lines.iter().filter(|l| l.billed_cost.raw() > 0) {
        if let Some(set) = line.tag_set {
            *by_set.entry((set, &line.currency)).or_default() += line.billed_cost;
        }
    }
    let mut by_set: Vec<((u32, &Currency), Money)> = by_set.into_iter().collect();
    by_set.sort_unstable();
    for ((set, currency), billed_cost) in by_set {
        let Some(tags) = summary.tag_sets.get(set as usize) else { continue };
        for (k, v) in tags {
            let ck = canonical(k);
            *keys
                .entry(ck.clone())
                .or_default()
                .entry(k)
                .or_default()
                .cost
                .entry(currency.clone())
                .or_default() += billed_cost;
            *values
                .entry((ck, canonical(v)))
                .or_default()
                .entry(v)
                .or_default()
                .cost
                .entry(currency.clone())
                .or_default() += billed_cost;
        }
    }
    let variants = |spellings: BTreeMap<&str, Usage<'_>>| -> Vec<Variant> {
        let mut out: Vec<Variant> = spellings
            .into_iter()
            .map(|(text, usage)| Variant {
                text: text.to_string(),
                resources: usage.resources.len() as u64,
                cost: usage.cost,
            })
            .collect();
        out.sort_by(|a, b| b.resources.cmp(&a.resources).then_with(|| a.text.cmp(&b.text)));
        out
    };
    let mut issues = Vec::new();
    for (canonical_key, spellings) in keys {
        if spellings.len() > 1 {
            issues.push(NormalizationIssue {
                kind: IssueKind::Key,
                key: canonical_key.clone(),
                canonical: canonical_key,
                variants: variants(spellings),
            });
        }
    }
    for ((canonical_key, canonical_value), spellings) in values {
        if spellings.len() > 1 && !canonical_value.is_empty() {
            issues.push(NormalizationIssue {
                kind: IssueKind::Value,
                key: canonical_key,
                canonical: canonical_value,
                variants: variants(spellings),
            });
        }
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_folds_case_separators_and_synonyms() {
        assert_eq!(canonical("Env"), "env");
        assert_eq!(canonical("environment"), "env");
        assert_eq!(canonical("team "), "team");
        assert_eq!(canonical("Cost_Center"), "costcenter");
        assert_eq!(canonical("Production"), "prod");
        assert_eq!(canonical("web"), "web");
    }

    #[test]
    fn shares_round_to_six_decimals() {
        let third = share(Money::from_units(1), Money::from_units(3)).unwrap();
        assert_eq!(third.to_string(), "0.333333");
        assert_eq!(count_share(2, 3).unwrap().to_string(), "0.666667");
        assert_eq!(share(Money::ZERO, Money::ZERO), None);
    }

    #[test]
    fn cost_explorer_tag_totals_give_the_cost_share_of_their_key() {
        let cost = |key: &str, value: &str, amount: i64| crate::model::TagCost {
            key: key.into(),
            value: value.into(),
            currency: Currency::usd(),
            billed_cost: Money::from_units(amount),
        };
        let summary = BillingSummary {
            tag_costs: vec![
                cost("team", "web", 30),
                cost("team", "", 10),
                cost("team", "data", -5),
            ],
            ..Default::default()
        };
        let coverage = tag_coverage(&summary, &["team".to_string(), "env".to_string()]);
        let team = coverage.keys.iter().find(|k| k.key == "team").unwrap();
        // The credit (negative) is not coverable, as with billing lines.
        assert_eq!(
            (team.tagged_cost.to_string(), team.total_cost.to_string()),
            ("30".into(), "40".into())
        );
        assert_eq!(team.cost_share.unwrap().to_string(), "0.75");
        let env = coverage.keys.iter().find(|k| k.key == "env").unwrap();
        assert_eq!(env.cost_share, None);
    }
}
