//! Commitment discount rates and eligibility (`rules/prices/commitments.toml`): what a flexible
//! commitment (Savings Plan, committed use discount) covers and what it takes off on demand.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use serde::Deserialize;

use super::catalog::{PricingError, line_of};
use crate::model::Money;

const BUILTIN_TEXT: &str = include_str!("../../rules/prices/commitments.toml");
const BUILTIN_ORIGIN: &str = "rules/prices/commitments.toml (built in)";
/// The file that replaces the built-in table in a user's price directory.
pub const FILE_NAME: &str = "commitments.toml";

/// How a commitment is paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payment {
    NoUpfront,
    PartialUpfront,
    AllUpfront,
}

impl Payment {
    pub fn as_str(self) -> &'static str {
        match self {
            Payment::NoUpfront => "no_upfront",
            Payment::PartialUpfront => "partial_upfront",
            Payment::AllUpfront => "all_upfront",
        }
    }

    pub fn parse(text: &str) -> Option<Payment> {
        match text.trim().to_ascii_lowercase().replace(['-', ' '], "_").as_str() {
            "no_upfront" => Some(Payment::NoUpfront),
            "partial_upfront" => Some(Payment::PartialUpfront),
            "all_upfront" => Some(Payment::AllUpfront),
            _ => None,
        }
    }

    /// The share of the term's commitment paid before it starts: AWS asks about half for
    /// partial upfront.
    pub fn upfront_share(self) -> (i128, i128) {
        match self {
            Payment::NoUpfront => (0, 1),
            Payment::PartialUpfront => (1, 2),
            Payment::AllUpfront => (1, 1),
        }
    }
}

/// One plan a provider sells.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub name: String,
    pub term_years: u32,
    pub payment: Payment,
    /// Fraction off the on-demand price, in (0, 1).
    pub discount: Money,
}

/// One provider's eligibility rules and plans.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderPlans {
    pub key: String,
    names: Vec<String>,
    services: Vec<String>,
    exclude_resource_types: Vec<String>,
    pub plans: Vec<Plan>,
}

impl ProviderPlans {
    /// Whether a compute usage row of this provider could run on the provider's plans.
    pub fn eligible(&self, service: &str, resource_type: &str) -> bool {
        (self.services.is_empty() || self.services.iter().any(|s| s.eq_ignore_ascii_case(service)))
            && !self.exclude_resource_types.iter().any(|t| t.eq_ignore_ascii_case(resource_type))
    }

    pub fn plan(&self, term_years: u32, payment: Payment) -> Option<&Plan> {
        self.plans.iter().find(|p| p.term_years == term_years && p.payment == payment)
    }
}

/// Every provider's plans.
#[derive(Clone, Debug, PartialEq)]
pub struct CommitmentRates {
    pub as_of: String,
    pub source: String,
    providers: Vec<ProviderPlans>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRates {
    as_of: String,
    source: String,
    providers: BTreeMap<String, RawProvider>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    names: Vec<String>,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    exclude_resource_types: Vec<String>,
    #[serde(default)]
    plans: Vec<RawPlan>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    name: String,
    term_years: u32,
    payment: Payment,
    discount: String,
}

impl CommitmentRates {
    /// The table embedded in the binary (parsed once per process).
    pub fn builtin() -> Result<Arc<CommitmentRates>, PricingError> {
        static BUILT: OnceLock<Result<Arc<CommitmentRates>, String>> = OnceLock::new();
        BUILT
            .get_or_init(|| {
                CommitmentRates::from_toml(BUILTIN_TEXT, BUILTIN_ORIGIN)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(|message| PricingError::Syntax {
                origin: BUILTIN_ORIGIN.into(),
                line: None,
                message,
            })
    }

    /// `commitments.toml` in `dir` when it exists, else the built-in table.
    pub fn with_override(dir: &Path) -> Result<Arc<CommitmentRates>, PricingError> {
        let path = dir.join(FILE_NAME);
        if !path.is_file() {
            return CommitmentRates::builtin();
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|source| PricingError::Read { path: path.display().to_string(), source })?;
        CommitmentRates::from_toml(&text, &path.display().to_string()).map(Arc::new)
    }

    pub fn from_toml(text: &str, origin: &str) -> Result<CommitmentRates, PricingError> {
        let raw: RawRates = toml::from_str(text).map_err(|e| PricingError::Syntax {
            origin: origin.to_string(),
            line: e.span().map(|span| line_of(text, span.start)),
            message: e.message().trim_end().to_string(),
        })?;
        let invalid = |message: String| PricingError::Invalid {
            origin: origin.to_string(),
            line: None,
            message,
        };
        let mut providers = Vec::new();
        for (key, p) in raw.providers {
            if p.names.is_empty() {
                return Err(invalid(format!("providers.{key}: names is empty")));
            }
            let mut plans = Vec::new();
            for plan in p.plans {
                let discount = Money::parse(&plan.discount).map_err(|e| {
                    invalid(format!("providers.{key} plan {:?}: discount: {e}", plan.name))
                })?;
                if discount <= Money::ZERO || discount >= Money::from_units(1) {
                    return Err(invalid(format!(
                        "providers.{key} plan {:?}: discount {} is not a fraction between 0 and 1",
                        plan.name, plan.discount
                    )));
                }
                if plan.term_years == 0 {
                    return Err(invalid(format!(
                        "providers.{key} plan {:?}: term_years must be at least 1",
                        plan.name
                    )));
                }
                plans.push(Plan {
                    name: plan.name,
                    term_years: plan.term_years,
                    payment: plan.payment,
                    discount,
                });
            }
            providers.push(ProviderPlans {
                key,
                names: p.names,
                services: p.services,
                exclude_resource_types: p.exclude_resource_types,
                plans,
            });
        }
        Ok(CommitmentRates { as_of: raw.as_of, source: raw.source, providers })
    }

    /// The plans of the provider billing names `provider_name` (FOCUS ProviderName).
    pub fn provider(&self, provider_name: &str) -> Option<&ProviderPlans> {
        self.providers
            .iter()
            .find(|p| p.names.iter().any(|n| n.eq_ignore_ascii_case(provider_name.trim())))
    }

    /// Whether a compute usage row could run on a commitment: the provider's rules where the
    /// table knows the provider, else any compute usage (FOCUS ServiceCategory `Compute`).
    pub fn eligible(&self, provider_name: &str, service: &str, resource_type: &str) -> bool {
        self.provider(provider_name).is_none_or(|p| p.eligible(service, resource_type))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_table_loads_and_knows_each_provider() {
        let rates = CommitmentRates::builtin().unwrap();
        let aws = rates.provider("aws").unwrap();
        let plan = aws.plan(1, Payment::NoUpfront).unwrap();
        assert_eq!(plan.discount, Money::parse("0.29").unwrap());
        assert!(aws.eligible("Amazon Elastic Compute Cloud", "Instance"));
        assert!(!aws.eligible("Amazon Elastic Compute Cloud", "Volume"));
        assert!(!aws.eligible("Amazon EC2 Container Registry (ECR)", "Repository"));
        assert!(rates.provider("Google Cloud").is_some());
        assert!(rates.provider("Microsoft").is_some());
        assert!(rates.provider("Oracle").is_none());
        assert!(rates.eligible("Oracle", "Compute", "Instance"));
    }

    #[test]
    fn bad_rates_name_the_file_and_the_plan() {
        let text = "as_of = \"x\"\nsource = \"y\"\n[providers.aws]\nnames = [\"AWS\"]\nplans = [{ name = \"SP\", term_years = 1, payment = \"no_upfront\", discount = \"1.5\" }]\n";
        let err = CommitmentRates::from_toml(text, "c.toml").unwrap_err().to_string();
        assert!(err.contains("c.toml") && err.contains("\"SP\"") && err.contains("1.5"), "{err}");
        let text = "as_of = \"x\"\nsource = \"y\"\n[providers.aws]\nnames = [\"AWS\"]\nplans = [{ name = \"SP\", term_years = 1, payment = \"weekly\", discount = \"0.5\" }]\n";
        let err = CommitmentRates::from_toml(text, "c.toml").unwrap_err().to_string();
        assert!(err.contains("c.toml:5"), "{err}");
    }
}
