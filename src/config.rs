//! `costscope.toml`: required tags, rule parameter overrides, the price catalog to use, budgets,
//! unit costs, the anomaly detector's parameters and where `notify` sends its digests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::analysis::budgets::{
    AlertBasis, AlertThreshold, Budget, BudgetPeriod, BudgetScope, ScopeFilter,
};
use crate::model::{Currency, Money};
use crate::source::aws::client::Timeouts;

/// Tag keys every resource should carry when the config does not say otherwise.
pub const DEFAULT_REQUIRED_TAGS: [&str; 3] = ["team", "env", "cost-center"];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Invalid { path: PathBuf, line: usize, message: String },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    tags: TagsSection,
    #[serde(default)]
    rules: BTreeMap<String, toml::Table>,
    #[serde(default)]
    pricing: PricingSection,
    #[serde(default)]
    suppressions: SuppressionsSection,
    #[serde(default)]
    kubernetes: Option<KubernetesSection>,
    #[serde(default)]
    aws: AwsSection,
    #[serde(default)]
    billing: BillingSection,
    #[serde(default, rename = "budget")]
    budgets: Vec<BudgetTable>,
    #[serde(default)]
    anomalies: AnomaliesSection,
    #[serde(default, rename = "unit")]
    units: Vec<UnitTable>,
    #[serde(default)]
    notify: NotifySection,
    #[serde(default)]
    allocation: Option<AllocationSection>,
    #[serde(default)]
    athena: AthenaSection,
}

/// `[athena]`: where `--athena TABLE` queries run (database of a bare TABLE, workgroup, the
/// s3:// location results are written to) and how long one may run.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AthenaSection {
    database: Option<toml::Spanned<String>>,
    workgroup: Option<toml::Spanned<String>>,
    output_location: Option<toml::Spanned<String>>,
    timeout_seconds: Option<toml::Spanned<i64>>,
}

/// `[allocation]`, as written; [`allocation`] checks it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllocationSection {
    key: Option<toml::Spanned<String>>,
    /// `fold` (default) or `exact`.
    normalize: Option<toml::Spanned<String>>,
    /// `line` (default) or `pool`.
    unallocated: Option<toml::Spanned<String>>,
    #[serde(default, rename = "rule")]
    rules: Vec<AllocationRuleTable>,
    /// Absent: the default pools (tax, support); `shared = []`: none.
    shared: Option<Vec<SharedTable>>,
    /// `[allocation.namespaces]`: namespace → team.
    #[serde(default)]
    namespaces: BTreeMap<String, toml::Spanned<String>>,
    /// `line` (default) or `spread`.
    idle: Option<toml::Spanned<String>>,
    /// `billed` (default) or `effective`.
    cost: Option<toml::Spanned<String>>,
}

/// `[[allocation.rule]]`: `match = { account = "…" }`, `team = "…"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllocationRuleTable {
    #[serde(rename = "match")]
    filter: toml::Spanned<BTreeMap<String, toml::Spanned<toml::Value>>>,
    team: toml::Spanned<String>,
}

/// `[[allocation.shared]]`: a named pool, its filter, how it is split.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SharedTable {
    name: toml::Spanned<String>,
    #[serde(rename = "match")]
    filter: toml::Spanned<BTreeMap<String, toml::Spanned<toml::Value>>>,
    split: Option<toml::Spanned<String>>,
    weights: Option<toml::Spanned<BTreeMap<String, toml::Spanned<toml::Value>>>>,
}

/// `[[unit]]`, as written; [`units`] checks it (and reads a count's file).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitTable {
    name: toml::Spanned<String>,
    /// `cluster`, `node`, `namespace`, `workload`, `tag:KEY` or `count`.
    per: toml::Spanned<String>,
    /// For `count`: a `day,count` CSV, relative to the config file.
    file: Option<toml::Spanned<String>>,
    /// As `[[budget]]`'s scope; billing units only.
    #[serde(default)]
    scope: BTreeMap<String, toml::Spanned<toml::Value>>,
    label: Option<toml::Spanned<String>>,
    scale: Option<toml::Spanned<i64>>,
}

/// `[[budget]]`, as written; [`budgets`] checks it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetTable {
    name: toml::Spanned<String>,
    /// A quoted decimal (money is never a float).
    amount: toml::Spanned<toml::Value>,
    currency: Option<toml::Spanned<String>>,
    period: Option<BudgetPeriod>,
    /// `service`, `account`, `region` or `tag:KEY` → the value; all must hold. An inline table
    /// (`scope = { service = "…", "tag:team" = "web" }`) rather than a list of `"k=v"` strings:
    /// TOML itself rejects a key given twice, each value has its own span for a message's line,
    /// and a value holding `=` (tag values may) needs no splitting rule. The keys read like
    /// `costs --by`.
    #[serde(default)]
    scope: BTreeMap<String, toml::Spanned<toml::Value>>,
    alerts: Option<Vec<AlertTable>>,
}

/// `{ at = 80, of = "forecast" }`; `of` defaults to `actual`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertTable {
    at: toml::Spanned<i64>,
    of: Option<AlertBasis>,
}

/// `[anomalies]`, as written; [`anomaly_settings`] checks it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnomaliesSection {
    window_days: Option<toml::Spanned<i64>>,
    min_history_days: Option<toml::Spanned<i64>>,
    min_mads: Option<toml::Spanned<toml::Value>>,
    min_excess: Option<toml::Spanned<toml::Value>>,
    weekday_min_weeks: Option<toml::Spanned<i64>>,
}

/// `[anomalies]`: the anomaly detector's parameters, each `None` where the config leaves the
/// detector's default. Checked for range here, so the detector can trust them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnomalySettings {
    /// Trailing days the baseline (median, MAD) is taken over: 3 to 366.
    pub window_days: Option<u32>,
    /// Fewest preceding days a day needs before it can be judged: 1 to 366.
    pub min_history_days: Option<u32>,
    /// How many MADs above the median an anomaly must be: a positive decimal (up to 1000),
    /// exact (the crate's decimal type; it is a count, not money).
    pub min_mads: Option<Money>,
    /// How far above the baseline, in the currency per day, an anomaly must be: a decimal ≥ 0.
    pub min_excess: Option<Money>,
    /// Weeks of history before the baseline compares a day with the same weekdays: 1 to 52.
    pub weekday_min_weeks: Option<u32>,
}

/// `[notify]`, as written; [`notify_settings`] checks it. `slack_webhook` and `webhook` are read
/// only to refuse them with a message saying where the URL goes instead.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotifySection {
    slack_webhook_env: Option<toml::Spanned<String>>,
    webhook_env: Option<toml::Spanned<String>>,
    slack_webhook: Option<toml::Spanned<toml::Value>>,
    webhook: Option<toml::Spanned<toml::Value>>,
    timeout_seconds: Option<toml::Spanned<i64>>,
    retries: Option<toml::Spanned<i64>>,
    min_spend_change_percent: Option<toml::Spanned<toml::Value>>,
    min_savings_change: Option<toml::Spanned<toml::Value>>,
}

/// `[notify]`: where `costscope notify` sends its digest and when `--only-on-change` sends it.
/// Each `None` leaves the notify module's default.
///
/// A webhook URL carries its secret in its path (Slack's `/services/T…/B…/SECRET`), so the file
/// names the environment variable that holds it, never the URL itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifySettings {
    /// The variable holding the Slack incoming-webhook URL.
    pub slack_webhook_env: Option<EnvVarName>,
    /// The variable holding a generic JSON webhook's URL.
    pub webhook_env: Option<EnvVarName>,
    /// Per attempt: 1 to 300 seconds.
    pub timeout: Option<std::time::Duration>,
    /// Attempts after the first: 0 to 10.
    pub retries: Option<u32>,
    /// `--only-on-change` sends when the forecast's change against the previous month crosses
    /// this many percent (either way): above 0, up to 1000.
    pub min_spend_change_percent: Option<Money>,
    /// `--only-on-change` sends when potential monthly savings moved by at least this amount
    /// (per currency): 0 or more.
    pub min_savings_change: Option<Money>,
}

/// An environment variable named by the config, with where it was named (`file:line`) for
/// messages about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVarName {
    pub name: String,
    /// `costscope.toml:12: notify.slack_webhook_env`.
    pub origin: String,
}

impl EnvVarName {
    /// The variable's value; `None` when unset or empty (an empty URL is no URL).
    pub fn value(&self) -> Option<String> {
        std::env::var(&self.name).ok().filter(|v| !v.trim().is_empty())
    }
}

/// `[billing]`: which billed amount is a resource's cost in every rule and in cluster costs.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BillingSection {
    #[serde(default)]
    resource_cost: crate::model::ResourceCost,
}

/// `[aws]`: how long a paid Cost Explorer answer is reused (hours; 0 turns the cache off), and
/// how long an AWS call may take (seconds: to connect, per attempt, per call with its retries),
/// and whether `--aws` reads commitments (Savings Plans, reservations, Cost Explorer's
/// commitment figures; default true).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AwsSection {
    cache_ttl_hours: Option<u32>,
    commitments: Option<bool>,
    connect_timeout_seconds: Option<toml::Spanned<TimeoutSeconds>>,
    attempt_timeout_seconds: Option<toml::Spanned<TimeoutSeconds>>,
    call_timeout_seconds: Option<toml::Spanned<TimeoutSeconds>>,
}

/// `[kubernetes]`: prices per vCPU-hour and GiB-hour that split node costs into CPU and memory
/// and price nodes neither billing nor the catalog knows. Absent: OpenCost's default ratio, and
/// unknown nodes stay unpriced.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KubernetesSection {
    cpu_per_vcpu_hour: Option<crate::model::Money>,
    ram_per_gib_hour: Option<crate::model::Money>,
    /// How long one request to the API server may take.
    timeout_seconds: Option<TimeoutSeconds>,
    /// Storage class → price per GiB-month (a quoted decimal), checked in [`storage_prices`]
    /// so a bad one names its class and line.
    #[serde(default)]
    storage_class_prices: BTreeMap<String, toml::Spanned<toml::Value>>,
}

/// A request timeout in whole seconds, 1 to 3600 (an out-of-range value is an error on its line).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "i64")]
struct TimeoutSeconds(u64);

impl TryFrom<i64> for TimeoutSeconds {
    type Error = String;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        match u64::try_from(value) {
            Ok(secs @ 1..=3600) => Ok(TimeoutSeconds(secs)),
            _ => Err(format!("a timeout is 1 to 3600 seconds, not {value}")),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuppressionsSection {
    path: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TagsSection {
    required: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PricingSection {
    catalog: Option<PathBuf>,
}

/// The validated configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file it came from, if any.
    pub path: Option<PathBuf>,
    /// The file's text, kept to point at lines in later messages.
    pub text: String,
    pub required_tags: Vec<String>,
    /// `[rules.<id>]` tables.
    pub rule_overrides: BTreeMap<String, toml::Table>,
    /// A price catalog replacing the built-in one (relative to the config file).
    pub catalog: Option<PathBuf>,
    /// `[suppressions] path`: the ignored-findings file (relative to the config file).
    pub suppressions: Option<PathBuf>,
    /// `[kubernetes]` prices, when configured.
    pub kubernetes: Option<crate::analysis::cluster::CostSplit>,
    /// `[aws] cache_ttl_hours`, when configured.
    pub cost_explorer_ttl: Option<std::time::Duration>,
    /// `[kubernetes] timeout_seconds`, when configured.
    pub kube_timeout: Option<std::time::Duration>,
    /// `[kubernetes.storage_class_prices]`: storage class → price per GiB-month, used before
    /// the price tables for Kubernetes volumes of that class.
    pub storage_class_prices: BTreeMap<String, crate::model::Money>,
    /// `[aws] *_timeout_seconds`, the defaults where not configured.
    pub aws_timeouts: Timeouts,
    /// `[aws] commitments`: read live commitments (default true).
    pub aws_commitments: bool,
    /// `[billing] resource_cost`: `effective` (default) or `billed`.
    pub resource_cost: crate::model::ResourceCost,
    /// `[[budget]]` tables, in file order, names unique.
    pub budgets: Vec<Budget>,
    /// `[anomalies]`.
    pub anomalies: AnomalySettings,
    /// `[[unit]]` tables, in file order, names unique, count files read.
    pub units: Vec<crate::analysis::units::UnitDef>,
    /// `[notify]`.
    pub notify: NotifySettings,
    /// `[allocation]`; the defaults when absent.
    pub allocation: crate::analysis::allocation::AllocationSettings,
    /// `[athena]`.
    pub athena: crate::source::billing::athena::AthenaSettings,
}

/// `$XDG_CONFIG_HOME/costscope/costscope.toml`, else `~/.config/costscope/costscope.toml`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("costscope").join("costscope.toml"))
}

/// `$XDG_DATA_HOME/costscope/suppressions.toml`, else `~/.local/share/costscope/suppressions.toml`.
pub fn default_suppressions_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(base.join("costscope").join("suppressions.toml"))
}

impl Config {
    /// The suppressions file: from the config, else the XDG data directory.
    pub fn suppressions_path(&self) -> Option<PathBuf> {
        self.suppressions.clone().or_else(default_suppressions_path)
    }

    /// Loads `explicit` (which must exist), else the default path if it exists, else defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => match default_path().filter(|p| p.is_file()) {
                Some(p) => p,
                None => return Ok(Config::defaults()),
            },
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|source| ConfigError::Io { path: path.clone(), source })?;
        Config::parse(&text, &path)
    }

    pub fn defaults() -> Config {
        Config {
            required_tags: DEFAULT_REQUIRED_TAGS.iter().map(|s| s.to_string()).collect(),
            aws_commitments: true,
            ..Config::default()
        }
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            line: e.span().map_or(1, |s| line_at(text, s.start)),
            message: e.message().to_string(),
        })?;
        let required_tags = match file.tags.required {
            Some(keys) => {
                if let Some(bad) = keys.iter().find(|k| k.trim().is_empty()) {
                    return Err(ConfigError::Invalid {
                        path: path.to_path_buf(),
                        line: 1,
                        message: format!("tags.required contains an empty key {bad:?}"),
                    });
                }
                keys
            }
            None => DEFAULT_REQUIRED_TAGS.iter().map(|s| s.to_string()).collect(),
        };
        let beside = |c: PathBuf| {
            if c.is_relative() { path.parent().map_or(c.clone(), |dir| dir.join(&c)) } else { c }
        };
        let catalog = file.pricing.catalog.map(beside);
        let suppressions = file.suppressions.path.map(beside);
        let kube_timeout = file
            .kubernetes
            .as_ref()
            .and_then(|k| k.timeout_seconds)
            .map(|t| std::time::Duration::from_secs(t.0));
        let storage_class_prices = match &file.kubernetes {
            Some(k) => storage_prices(&k.storage_class_prices, text, path)?,
            None => BTreeMap::new(),
        };
        // A section holding only the timeout or storage prices says nothing about node prices.
        let prices = file.kubernetes.filter(|k| {
            k.cpu_per_vcpu_hour.is_some()
                || k.ram_per_gib_hour.is_some()
                || (k.timeout_seconds.is_none() && k.storage_class_prices.is_empty())
        });
        let kubernetes = prices.map(|k| {
            let default = crate::analysis::cluster::CostSplit::OPENCOST;
            crate::analysis::cluster::CostSplit {
                cpu_per_vcpu_hour: k.cpu_per_vcpu_hour.unwrap_or(default.cpu_per_vcpu_hour),
                ram_per_gib_hour: k.ram_per_gib_hour.unwrap_or(default.ram_per_gib_hour),
                price_unknown_nodes: true,
                resource_cost: crate::model::ResourceCost::default(),
            }
        });
        let aws_timeouts = aws_timeouts(&file.aws, text, path)?;
        let budgets = budgets(&file.budgets, text, path)?;
        let anomalies = anomaly_settings(&file.anomalies, text, path)?;
        let units = units(&file.units, text, path)?;
        let notify = notify_settings(&file.notify, text, path)?;
        let allocation = match &file.allocation {
            Some(section) => allocation(section, text, path)?,
            None => crate::analysis::allocation::AllocationSettings::default(),
        };
        let athena = athena_settings(&file.athena, text, path)?;
        Ok(Config {
            path: Some(path.to_path_buf()),
            text: text.to_string(),
            required_tags,
            rule_overrides: file.rules,
            catalog,
            suppressions,
            kubernetes,
            kube_timeout,
            storage_class_prices,
            cost_explorer_ttl: file
                .aws
                .cache_ttl_hours
                .map(|h| std::time::Duration::from_secs(u64::from(h) * 3600)),
            aws_timeouts,
            aws_commitments: file.aws.commitments.unwrap_or(true),
            resource_cost: file.billing.resource_cost,
            budgets,
            anomalies,
            units,
            notify,
            allocation,
            athena,
        })
    }
}

/// `[athena]`: names that are not blank, an s3:// result location, a timeout of 1 s to a day.
fn athena_settings(
    raw: &AthenaSection,
    text: &str,
    path: &Path,
) -> Result<crate::source::billing::athena::AthenaSettings, ConfigError> {
    let section = Section { name: "athena", text, path };
    let name = |value: &Option<toml::Spanned<String>>, key: &str| {
        value
            .as_ref()
            .map(|v| {
                if v.get_ref().trim().is_empty() {
                    Err(section.invalid(v.span(), key, "is empty".to_string()))
                } else {
                    Ok(v.get_ref().clone())
                }
            })
            .transpose()
    };
    let output_location = name(&raw.output_location, "output_location")?;
    if let (Some(location), Some(raw_value)) = (&output_location, &raw.output_location)
        && !location.starts_with("s3://")
    {
        return Err(section.invalid(
            raw_value.span(),
            "output_location",
            format!("must be an s3://BUCKET/PREFIX/ location, not {location:?}"),
        ));
    }
    let timeout = section.count(&raw.timeout_seconds, "timeout_seconds", 1..=86_400, " seconds")?;
    Ok(crate::source::billing::athena::AthenaSettings {
        database: name(&raw.database, "database")?,
        workgroup: name(&raw.workgroup, "workgroup")?,
        output_location,
        timeout: timeout.map(|t| std::time::Duration::from_secs(u64::from(t))),
        ..Default::default()
    })
}

/// `[kubernetes.storage_class_prices]`: each value an exact, non-negative decimal in quotes
/// (money is never a float); an error names the file, the line and the class.
fn storage_prices(
    raw: &BTreeMap<String, toml::Spanned<toml::Value>>,
    text: &str,
    path: &Path,
) -> Result<BTreeMap<String, crate::model::Money>, ConfigError> {
    let mut prices = BTreeMap::new();
    for (class, value) in raw {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            line: line_at(text, value.span().start),
            message: format!("kubernetes.storage_class_prices.{class:?}: {message}"),
        };
        if class.trim().is_empty() {
            return Err(invalid("a storage class name cannot be empty".into()));
        }
        let price = match value.get_ref() {
            toml::Value::String(s) => s
                .trim()
                .parse::<crate::model::Money>()
                .map_err(|e| invalid(format!("{s:?} is not a price per GiB-month ({e})")))?,
            other => {
                return Err(invalid(format!(
                    "write the price per GiB-month as a quoted decimal, e.g. \"0.10\", not {other}"
                )));
            }
        };
        if price < crate::model::Money::ZERO {
            return Err(invalid(format!("a price cannot be negative ({price})")));
        }
        prices.insert(class.clone(), price);
    }
    Ok(prices)
}

/// The 1-based line of byte `offset` in `text`.
/// Counts newlines rather than `lines()`, which would give the line before for a span that
/// starts a line (an unknown key, a table header).
fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
}

/// A quoted (or, where `allow_number`, bare) decimal, exactly; `None` for any other value.
fn decimal(value: &toml::Value, allow_number: bool) -> Option<Result<Money, String>> {
    let parsed = |s: &str| s.trim().parse::<Money>().map_err(|e| format!("{s:?}: {e}"));
    match value {
        toml::Value::String(s) => Some(parsed(s)),
        // A float is read through its shortest round-trip text, which is what a human wrote.
        toml::Value::Integer(i) if allow_number => Some(Ok(Money::from_units(*i))),
        toml::Value::Float(x) if allow_number => Some(parsed(&x.to_string())),
        _ => None,
    }
}

/// `[[budget]]` tables: a non-empty unique name, a positive amount as a quoted decimal, a
/// non-empty currency (USD when absent), a scope of known keys with non-empty string values, and
/// alert thresholds of 1 to 1000 % ([`AlertThreshold::DEFAULTS`] when absent). Each error names
/// the file, the line and the budget.
fn budgets(raw: &[BudgetTable], text: &str, path: &Path) -> Result<Vec<Budget>, ConfigError> {
    let mut out: Vec<Budget> = Vec::with_capacity(raw.len());
    for table in raw {
        let name = table.name.get_ref().trim().to_string();
        let invalid = |span: std::ops::Range<usize>, message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            line: line_at(text, span.start),
            message: format!("budget {name:?}: {message}"),
        };
        if name.is_empty() {
            return Err(invalid(table.name.span(), "a budget needs a name".into()));
        }
        if out.iter().any(|b| b.name == name) {
            return Err(invalid(table.name.span(), "two budgets have this name".into()));
        }
        let amount = match decimal(table.amount.get_ref(), false) {
            Some(Ok(amount)) => amount,
            Some(Err(e)) => {
                return Err(invalid(table.amount.span(), format!("amount {e}")));
            }
            None => {
                return Err(invalid(
                    table.amount.span(),
                    format!(
                        "write the amount as a quoted decimal, e.g. \"5000\", not {}",
                        table.amount.get_ref()
                    ),
                ));
            }
        };
        if amount <= Money::ZERO {
            return Err(invalid(
                table.amount.span(),
                format!("the amount must be positive, not {amount}"),
            ));
        }
        let currency = match &table.currency {
            None => Currency::usd(),
            Some(c) if c.get_ref().trim().is_empty() => {
                return Err(invalid(c.span(), "the currency cannot be empty".into()));
            }
            Some(c) => Currency::new(c.get_ref()),
        };
        let filters = scope_filters(&table.scope, invalid)?;
        let alerts = match &table.alerts {
            None => AlertThreshold::DEFAULTS.to_vec(),
            Some(alerts) => {
                let mut out = Vec::with_capacity(alerts.len());
                for alert in alerts {
                    let at = *alert.at.get_ref();
                    let percent = u32::try_from(at).ok().filter(|p| (1..=1000).contains(p));
                    let Some(percent) = percent else {
                        return Err(invalid(
                            alert.at.span(),
                            format!("an alert threshold is 1 to 1000 (%), not {at}"),
                        ));
                    };
                    out.push(AlertThreshold {
                        percent,
                        of: alert.of.unwrap_or(AlertBasis::Actual),
                    });
                }
                out
            }
        };
        out.push(Budget {
            name,
            amount,
            currency,
            period: table.period.unwrap_or_default(),
            scope: BudgetScope { filters },
            alerts,
        });
    }
    Ok(out)
}

/// Scope tables of `[[budget]]` and `[[unit]]`: known keys with non-empty quoted values.
fn scope_filters(
    raw: &BTreeMap<String, toml::Spanned<toml::Value>>,
    invalid: impl Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<Vec<ScopeFilter>, ConfigError> {
    let mut filters = Vec::with_capacity(raw.len());
    for (key, value) in raw {
        let toml::Value::String(v) = value.get_ref() else {
            return Err(invalid(
                value.span(),
                format!("scope {key:?} takes a quoted value, not {}", value.get_ref()),
            ));
        };
        if v.trim().is_empty() {
            return Err(invalid(value.span(), format!("scope {key:?} has an empty value")));
        }
        let Some(filter) = ScopeFilter::from_key(key, v) else {
            return Err(invalid(
                value.span(),
                format!("unknown scope key {key:?}: use service, account, region or tag:KEY"),
            ));
        };
        filters.push(filter);
    }
    Ok(filters)
}

/// `[[unit]]` tables: a non-empty unique name, a known `per`, a `file` exactly for `count`
/// (read here, so a bad line is an error of the config run: exit 2 with the file, line and
/// field), a scope only for billing units, a scale of 1 to 10^9. Each error names the file, the
/// line and the unit.
fn units(
    raw: &[UnitTable],
    text: &str,
    path: &Path,
) -> Result<Vec<crate::analysis::units::UnitDef>, ConfigError> {
    use crate::analysis::units::{UnitDef, UnitPer, parse_counts};
    let mut out: Vec<UnitDef> = Vec::with_capacity(raw.len());
    for table in raw {
        let name = table.name.get_ref().trim().to_string();
        let invalid = |span: std::ops::Range<usize>, message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            line: line_at(text, span.start),
            message: format!("unit {name:?}: {message}"),
        };
        if name.is_empty() {
            return Err(invalid(table.name.span(), "a unit needs a name".into()));
        }
        if out.iter().any(|u| u.name == name) {
            return Err(invalid(table.name.span(), "two units have this name".into()));
        }
        let Some(per) = UnitPer::parse(table.per.get_ref()) else {
            return Err(invalid(
                table.per.span(),
                format!(
                    "unknown per {:?}: use cluster, node, namespace, workload, tag:KEY or count",
                    table.per.get_ref()
                ),
            ));
        };
        let scope = scope_filters(&table.scope, invalid)?;
        if per.is_kubernetes()
            && let Some(value) = table.scope.values().next()
        {
            return Err(invalid(
                value.span(),
                format!(
                    "a scope filters billing, and per = {:?} takes the cluster's nodes: leave \
                     the scope out",
                    per.as_text()
                ),
            ));
        }
        let (file, counts) = match (&per, &table.file) {
            (UnitPer::Count, None) => {
                return Err(invalid(
                    table.per.span(),
                    "per = \"count\" needs file = \"COUNTS.csv\" (a `day,count` CSV)".into(),
                ));
            }
            (UnitPer::Count, Some(file)) => {
                let given = PathBuf::from(file.get_ref());
                let full = if given.is_relative() {
                    path.parent().map_or(given.clone(), |dir| dir.join(&given))
                } else {
                    given
                };
                let csv = std::fs::read_to_string(&full)
                    .map_err(|source| ConfigError::Io { path: full.clone(), source })?;
                let counts = parse_counts(&csv).map_err(|e| ConfigError::Invalid {
                    path: full.clone(),
                    line: e.line,
                    message: format!("{}: {} (unit {name:?})", e.field, e.message),
                })?;
                (Some(full), counts)
            }
            (_, Some(file)) => {
                return Err(invalid(file.span(), "file is for per = \"count\" only".into()));
            }
            (_, None) => (None, BTreeMap::new()),
        };
        let scale = match &table.scale {
            None => 1,
            Some(s) => {
                match u64::try_from(*s.get_ref()).ok().filter(|v| (1..=1_000_000_000).contains(v)) {
                    Some(v) => v,
                    None => {
                        return Err(invalid(
                            s.span(),
                            format!("scale is 1 to 1000000000, not {}", s.get_ref()),
                        ));
                    }
                }
            }
        };
        let label = match &table.label {
            Some(l) if l.get_ref().trim().is_empty() => {
                return Err(invalid(l.span(), "the label cannot be empty".into()));
            }
            Some(l) => Some(l.get_ref().trim().to_string()),
            None => None,
        };
        out.push(UnitDef {
            name,
            per,
            scope: BudgetScope { filters: scope },
            label,
            scale,
            file,
            counts,
        });
    }
    Ok(out)
}

/// One `[section]` of the file being read: how its values are checked, each error naming the
/// file, the line and `section.key`.
struct Section<'a> {
    name: &'static str,
    text: &'a str,
    path: &'a Path,
}

impl Section<'_> {
    fn invalid(&self, span: std::ops::Range<usize>, key: &str, message: String) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            line: line_at(self.text, span.start),
            message: format!("{}.{key}: {message}", self.name),
        }
    }

    /// A whole number in `range` (`unit` follows the range in the message).
    fn count(
        &self,
        value: &Option<toml::Spanned<i64>>,
        key: &str,
        range: std::ops::RangeInclusive<u32>,
        unit: &str,
    ) -> Result<Option<u32>, ConfigError> {
        value
            .as_ref()
            .map(|v| {
                let n = *v.get_ref();
                u32::try_from(n).ok().filter(|n| range.contains(n)).ok_or_else(|| {
                    self.invalid(
                        v.span(),
                        key,
                        format!("must be {} to {}{unit}, not {n}", range.start(), range.end()),
                    )
                })
            })
            .transpose()
    }

    /// A decimal (quoted, or a bare number where `allow_number`) for which `ok` holds.
    fn decimal_in(
        &self,
        value: &Option<toml::Spanned<toml::Value>>,
        key: &str,
        allow_number: bool,
        ok: fn(Money) -> bool,
        expected: &str,
    ) -> Result<Option<Money>, ConfigError> {
        value
            .as_ref()
            .map(|v| match decimal(v.get_ref(), allow_number) {
                Some(Ok(m)) if ok(m) => Ok(m),
                Some(Ok(m)) => {
                    Err(self.invalid(v.span(), key, format!("must be {expected}, not {m}")))
                }
                Some(Err(e)) => Err(self.invalid(v.span(), key, e)),
                None => Err(self.invalid(
                    v.span(),
                    key,
                    format!("write {expected} as a quoted decimal, not {}", v.get_ref()),
                )),
            })
            .transpose()
    }
}

/// `[anomalies]`: each value in its range, an error on its line otherwise.
fn anomaly_settings(
    raw: &AnomaliesSection,
    text: &str,
    path: &Path,
) -> Result<AnomalySettings, ConfigError> {
    let section = Section { name: "anomalies", text, path };
    let count =
        |value: &Option<toml::Spanned<i64>>, key: &str, range| section.count(value, key, range, "");
    Ok(AnomalySettings {
        window_days: count(&raw.window_days, "window_days", 3..=366)?,
        min_history_days: count(&raw.min_history_days, "min_history_days", 1..=366)?,
        min_mads: section.decimal_in(
            &raw.min_mads,
            "min_mads",
            true,
            |m| m > Money::ZERO && m <= Money::from_units(1000),
            "a number of MADs above 0 and up to 1000",
        )?,
        min_excess: section.decimal_in(
            &raw.min_excess,
            "min_excess",
            false,
            |m| m >= Money::ZERO,
            "an amount of 0 or more",
        )?,
        weekday_min_weeks: count(&raw.weekday_min_weeks, "weekday_min_weeks", 1..=52)?,
    })
}

/// `[notify]`: variable names that can be environment variables, each value in its range, and
/// no URL in the file; an error names the file, the line and the key.
fn notify_settings(
    raw: &NotifySection,
    text: &str,
    path: &Path,
) -> Result<NotifySettings, ConfigError> {
    let section = Section { name: "notify", text, path };
    let invalid = |span: std::ops::Range<usize>, key: &str, message: String| {
        section.invalid(span, key, message)
    };
    for (value, key) in [(&raw.slack_webhook, "slack_webhook"), (&raw.webhook, "webhook")] {
        if let Some(v) = value {
            // The value is never quoted back: it may be the secret URL itself.
            return Err(invalid(
                v.span(),
                key,
                format!(
                    "a webhook URL holds its secret, so it does not belong in this file: put it \
                     in an environment variable and name the variable with {key}_env"
                ),
            ));
        }
    }
    let env_name = |value: &Option<toml::Spanned<String>>, key: &str| {
        value
            .as_ref()
            .map(|v| {
                let name = v.get_ref().trim();
                let valid = !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    && !name.as_bytes()[0].is_ascii_digit();
                if !valid {
                    let shown = if name.contains("://") { "a URL" } else { name };
                    return Err(invalid(
                        v.span(),
                        key,
                        format!(
                            "{shown:?} is not an environment variable name (letters, digits \
                             and `_`, e.g. \"SLACK_WEBHOOK_URL\")"
                        ),
                    ));
                }
                Ok(EnvVarName {
                    name: name.to_string(),
                    origin: format!(
                        "{}:{}: notify.{key}",
                        path.display(),
                        line_at(text, v.span().start)
                    ),
                })
            })
            .transpose()
    };
    Ok(NotifySettings {
        slack_webhook_env: env_name(&raw.slack_webhook_env, "slack_webhook_env")?,
        webhook_env: env_name(&raw.webhook_env, "webhook_env")?,
        timeout: section
            .count(&raw.timeout_seconds, "timeout_seconds", 1..=300, " seconds")?
            .map(|s| std::time::Duration::from_secs(u64::from(s))),
        retries: section.count(&raw.retries, "retries", 0..=10, "")?,
        min_spend_change_percent: section.decimal_in(
            &raw.min_spend_change_percent,
            "min_spend_change_percent",
            true,
            |m| m > Money::ZERO && m <= Money::from_units(1000),
            "a percentage above 0 and up to 1000",
        )?,
        min_savings_change: section.decimal_in(
            &raw.min_savings_change,
            "min_savings_change",
            false,
            |m| m >= Money::ZERO,
            "an amount of 0 or more",
        )?,
    })
}

/// `[aws] *_timeout_seconds` over the defaults: each 1 to 3600 seconds, and an attempt no
/// longer than the call it is part of (else the call would time out before a retry).
fn aws_timeouts(aws: &AwsSection, text: &str, path: &Path) -> Result<Timeouts, ConfigError> {
    let invalid = |at: &toml::Spanned<TimeoutSeconds>, message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        line: line_at(text, at.span().start),
        message,
    };
    let mut timeouts = Timeouts::default();
    let fields = [
        (&aws.connect_timeout_seconds, &mut timeouts.connect),
        (&aws.attempt_timeout_seconds, &mut timeouts.attempt),
        (&aws.call_timeout_seconds, &mut timeouts.call),
    ];
    for (value, slot) in fields {
        if let Some(value) = value {
            *slot = std::time::Duration::from_secs(value.get_ref().0);
        }
    }
    if timeouts.attempt > timeouts.call {
        let at = aws.attempt_timeout_seconds.as_ref().or(aws.call_timeout_seconds.as_ref());
        if let Some(at) = at {
            return Err(invalid(
                at,
                format!(
                    "aws.attempt_timeout_seconds ({}) is longer than \
                     aws.call_timeout_seconds ({}): the call would end before its first retry",
                    timeouts.attempt.as_secs(),
                    timeouts.call.as_secs()
                ),
            ));
        }
    }
    Ok(timeouts)
}

/// An allocation filter (`match = { … }`): at least one condition, known keys, non-empty quoted
/// values.
fn allocation_filter(
    raw: &toml::Spanned<BTreeMap<String, toml::Spanned<toml::Value>>>,
    invalid: &impl Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<crate::analysis::allocation::Filter, ConfigError> {
    use crate::analysis::allocation::{Condition, Filter};
    if raw.get_ref().is_empty() {
        return Err(invalid(
            raw.span(),
            format!("match is empty: name at least one of {}", Condition::KEYS),
        ));
    }
    let mut conditions = Vec::with_capacity(raw.get_ref().len());
    for (key, value) in raw.get_ref() {
        let toml::Value::String(v) = value.get_ref() else {
            return Err(invalid(
                value.span(),
                format!("match {key:?} takes a quoted value, not {}", value.get_ref()),
            ));
        };
        if v.trim().is_empty() {
            return Err(invalid(value.span(), format!("match {key:?} has an empty value")));
        }
        let Some(condition) = Condition::from_key(key, v) else {
            return Err(invalid(
                value.span(),
                format!("unknown match key {key:?}: use {}", Condition::KEYS),
            ));
        };
        conditions.push(condition);
    }
    Ok(Filter { conditions })
}

/// `[allocation]`: a non-empty key; `normalize` fold or exact; `unallocated` line or pool; rules
/// with a non-empty match and team; pools with a unique name, a non-empty match, a known split
/// and, exactly for `weights`, percentages in quotes that sum to 100. Each error names the file
/// and the line.
fn allocation(
    raw: &AllocationSection,
    text: &str,
    path: &Path,
) -> Result<crate::analysis::allocation::AllocationSettings, ConfigError> {
    use crate::analysis::allocation::{
        AllocationSettings, Idle, Normalize, Rule, SharedPool, SplitMethod, Unallocated,
        default_pools,
    };
    let invalid = |span: std::ops::Range<usize>, message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        line: line_at(text, span.start),
        message: format!("allocation: {message}"),
    };
    let key = match &raw.key {
        Some(k) if k.get_ref().trim().is_empty() => {
            return Err(invalid(k.span(), "key cannot be empty".into()));
        }
        Some(k) => Some(k.get_ref().trim().to_string()),
        None => None,
    };
    let normalize = match &raw.normalize {
        None => Normalize::Fold,
        Some(n) => match n.get_ref().as_str() {
            "fold" => Normalize::Fold,
            "exact" => Normalize::Exact,
            other => {
                return Err(invalid(
                    n.span(),
                    format!("unknown normalize {other:?}: use fold or exact"),
                ));
            }
        },
    };
    let unallocated = match &raw.unallocated {
        None => Unallocated::Line,
        Some(u) => match u.get_ref().as_str() {
            "line" => Unallocated::Line,
            "pool" => Unallocated::Pool,
            other => {
                return Err(invalid(
                    u.span(),
                    format!("unknown unallocated {other:?}: use line or pool"),
                ));
            }
        },
    };
    let mut rules = Vec::with_capacity(raw.rules.len());
    for rule in &raw.rules {
        let team = rule.team.get_ref().trim();
        if team.is_empty() {
            return Err(invalid(rule.team.span(), "a rule's team cannot be empty".into()));
        }
        let filter = allocation_filter(&rule.filter, &|span, m| {
            invalid(span, format!("rule for {team:?}: {m}"))
        })?;
        rules.push(Rule { filter, team: team.to_string() });
    }
    let shared = match &raw.shared {
        None => default_pools(),
        Some(tables) => {
            let mut pools: Vec<SharedPool> = Vec::with_capacity(tables.len());
            for table in tables {
                let name = table.name.get_ref().trim().to_string();
                let invalid = |span: std::ops::Range<usize>, m: String| {
                    invalid(span, format!("shared pool {name:?}: {m}"))
                };
                if name.is_empty() {
                    return Err(invalid(table.name.span(), "a pool needs a name".into()));
                }
                if name == "unallocated" || pools.iter().any(|p| p.name == name) {
                    return Err(invalid(
                        table.name.span(),
                        "two pools have this name (`unallocated` is reserved)".into(),
                    ));
                }
                let filter = allocation_filter(&table.filter, &invalid)?;
                let method = table.split.as_ref().map_or("proportional", |s| s.get_ref().as_str());
                let split_span = table.split.as_ref().map_or(table.name.span(), |s| s.span());
                let split = match (method, &table.weights) {
                    ("proportional", None) => SplitMethod::Proportional,
                    ("even", None) => SplitMethod::Even,
                    ("proportional" | "even", Some(w)) => {
                        return Err(invalid(
                            w.span(),
                            format!("weights are only for split = \"weights\", not {method:?}"),
                        ));
                    }
                    ("weights", None) => {
                        return Err(invalid(
                            split_span,
                            "split = \"weights\" needs weights = { team = \"percent\", … }".into(),
                        ));
                    }
                    ("weights", Some(w)) => SplitMethod::Weights(weights(w, &invalid)?),
                    (other, _) => {
                        return Err(invalid(
                            split_span,
                            format!("unknown split {other:?}: use proportional, even or weights"),
                        ));
                    }
                };
                pools.push(SharedPool { name, filter, split });
            }
            pools
        }
    };
    let idle = match &raw.idle {
        None => Idle::Line,
        Some(i) => match i.get_ref().as_str() {
            "line" => Idle::Line,
            "spread" => Idle::Spread,
            other => {
                return Err(invalid(
                    i.span(),
                    format!("unknown idle {other:?}: use line or spread"),
                ));
            }
        },
    };
    let cost = match &raw.cost {
        None => crate::model::ResourceCost::Billed,
        Some(c) => match c.get_ref().as_str() {
            "billed" => crate::model::ResourceCost::Billed,
            "effective" => crate::model::ResourceCost::Effective,
            other => {
                return Err(invalid(
                    c.span(),
                    format!("unknown cost {other:?}: use billed or effective"),
                ));
            }
        },
    };
    let mut namespaces = BTreeMap::new();
    for (namespace, team) in &raw.namespaces {
        let t = team.get_ref().trim();
        if namespace.trim().is_empty() || t.is_empty() {
            return Err(invalid(
                team.span(),
                format!(
                    "namespaces: {namespace:?} = {:?} needs a namespace and a team",
                    team.get_ref()
                ),
            ));
        }
        namespaces.insert(namespace.clone(), t.to_string());
    }
    Ok(AllocationSettings { key, normalize, rules, shared, unallocated, namespaces, idle, cost })
}

/// A pool's `weights`: team → a quoted percentage, each positive, summing to exactly 100.
fn weights(
    raw: &toml::Spanned<BTreeMap<String, toml::Spanned<toml::Value>>>,
    invalid: &impl Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<Vec<(String, Money)>, ConfigError> {
    if raw.get_ref().is_empty() {
        return Err(invalid(raw.span(), "weights name no team".into()));
    }
    let mut out = Vec::with_capacity(raw.get_ref().len());
    for (team, value) in raw.get_ref() {
        if team.trim().is_empty() {
            return Err(invalid(value.span(), "a weight's team cannot be empty".into()));
        }
        let percent = match decimal(value.get_ref(), false) {
            Some(Ok(p)) => p,
            Some(Err(e)) => return Err(invalid(value.span(), format!("weight of {team:?} {e}"))),
            None => {
                return Err(invalid(
                    value.span(),
                    format!(
                        "write the weight of {team:?} as a quoted percentage, e.g. \"50\", not {}",
                        value.get_ref()
                    ),
                ));
            }
        };
        if percent <= Money::ZERO {
            return Err(invalid(
                value.span(),
                format!("the weight of {team:?} must be positive, not {percent}"),
            ));
        }
        out.push((team.trim().to_string(), percent));
    }
    let sum: Money = out.iter().map(|(_, p)| *p).sum();
    if sum != Money::from_units(100) {
        return Err(invalid(raw.span(), format!("weights sum to {sum}, not 100")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billing_resource_cost_is_effective_unless_configured() {
        use crate::model::ResourceCost;
        assert_eq!(Config::defaults().resource_cost, ResourceCost::Effective);
        let c =
            Config::parse("[billing]\nresource_cost = \"billed\"\n", Path::new("c.toml")).unwrap();
        assert_eq!(c.resource_cost, ResourceCost::Billed);
        let err = Config::parse("[billing]\nresource_cost = \"list\"\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("c.toml:2:") && err.contains("list"), "{err}");
    }

    #[test]
    fn parses_tags_and_rule_overrides() {
        let cfg = Config::parse(
            "[tags]\nrequired = [\"owner\"]\n\n[rules.ec2-idle]\nmax_cpu_p95_percent = 2.5\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(cfg.required_tags, vec!["owner"]);
        assert!(cfg.rule_overrides["ec2-idle"].contains_key("max_cpu_p95_percent"));
    }

    #[test]
    fn kubernetes_prices_default_to_opencost_and_price_unknown_nodes() {
        assert_eq!(Config::parse("", Path::new("c.toml")).unwrap().kubernetes, None);
        let cfg =
            Config::parse("[kubernetes]\ncpu_per_vcpu_hour = \"0.04\"\n", Path::new("c.toml"))
                .unwrap();
        let k = cfg.kubernetes.unwrap();
        assert_eq!(k.cpu_per_vcpu_hour.to_string(), "0.04");
        assert_eq!(
            k.ram_per_gib_hour,
            crate::analysis::cluster::CostSplit::OPENCOST.ram_per_gib_hour
        );
        assert!(k.price_unknown_nodes);
        assert!(Config::parse("[kubernetes]\ncpu = 1\n", Path::new("c.toml")).is_err());
    }

    #[test]
    fn kubernetes_timeout_is_bounded_and_does_not_turn_on_pricing() {
        let cfg =
            Config::parse("[kubernetes]\ntimeout_seconds = 5\n", Path::new("c.toml")).unwrap();
        assert_eq!(cfg.kube_timeout, Some(std::time::Duration::from_secs(5)));
        assert_eq!(cfg.kubernetes, None, "only a timeout: node prices stay as without a section");
        let both = "[kubernetes]\ntimeout_seconds = 5\nram_per_gib_hour = \"0.01\"\n";
        assert!(Config::parse(both, Path::new("c.toml")).unwrap().kubernetes.is_some());
        for bad in ["0", "-3", "3601", "\"5\""] {
            let text = format!("[tags]\nrequired = []\n[kubernetes]\ntimeout_seconds = {bad}\n");
            let err = Config::parse(&text, Path::new("c.toml")).unwrap_err().to_string();
            assert!(err.starts_with("c.toml:4:"), "{bad}: {err}");
        }
    }

    #[test]
    fn storage_class_prices_are_exact_and_do_not_turn_on_node_pricing() {
        let cfg = Config::parse(
            "[kubernetes.storage_class_prices]\nfast-ssd = \"0.17\"\n\"ceph-rbd\" = \"0.045\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let price = |c: &str| cfg.storage_class_prices.get(c).map(|m| m.to_string());
        assert_eq!(price("fast-ssd").as_deref(), Some("0.17"));
        assert_eq!(price("ceph-rbd").as_deref(), Some("0.045"));
        assert_eq!(cfg.kubernetes, None, "node prices stay as without a section");
        assert!(Config::parse("", Path::new("c.toml")).unwrap().storage_class_prices.is_empty());
        // Beside node prices in the same section.
        let both = "[kubernetes]\nram_per_gib_hour = \"0.01\"\n[kubernetes.storage_class_prices]\nx = \"1\"\n";
        let cfg = Config::parse(both, Path::new("c.toml")).unwrap();
        assert!(cfg.kubernetes.is_some() && cfg.storage_class_prices.len() == 1);
        // Bad values name the file, the line and the class.
        for (bad, why) in [
            ("0.17", "as a quoted decimal"),
            ("\"cheap\"", "\"cheap\" is not a price per GiB-month"),
            ("\"-0.1\"", "cannot be negative"),
        ] {
            let text = format!(
                "[tags]\nrequired = []\n[kubernetes.storage_class_prices]\nfast-ssd = {bad}\n"
            );
            let err = Config::parse(&text, Path::new("c.toml")).unwrap_err().to_string();
            assert!(
                err.starts_with("c.toml:4: kubernetes.storage_class_prices.\"fast-ssd\": "),
                "{bad}: {err}"
            );
            assert!(err.contains(why), "{bad}: {err}");
        }
        let err =
            Config::parse("[kubernetes.storage_class_prices]\n\"\" = \"1\"\n", Path::new("c.toml"))
                .unwrap_err()
                .to_string();
        assert!(err.starts_with("c.toml:2:") && err.contains("cannot be empty"), "{err}");
    }

    #[test]
    fn aws_cache_ttl_is_in_hours() {
        let cfg = Config::parse("[aws]\ncache_ttl_hours = 2\n", Path::new("c.toml")).unwrap();
        assert_eq!(cfg.cost_explorer_ttl, Some(std::time::Duration::from_secs(7200)));
        assert_eq!(Config::parse("", Path::new("c.toml")).unwrap().cost_explorer_ttl, None);
        assert!(Config::parse("[aws]\ncache_ttl_hours = -1\n", Path::new("c.toml")).is_err());
    }

    #[test]
    fn athena_section_is_read_and_checked_on_its_line() {
        let cfg = Config::parse(
            "[athena]\ndatabase = \"billing\"\nworkgroup = \"finops\"\noutput_location = \"s3://results/athena/\"\ntimeout_seconds = 900\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(cfg.athena.database.as_deref(), Some("billing"));
        assert_eq!(cfg.athena.workgroup.as_deref(), Some("finops"));
        assert_eq!(cfg.athena.output_location.as_deref(), Some("s3://results/athena/"));
        assert_eq!(cfg.athena.timeout, Some(std::time::Duration::from_secs(900)));
        let bad =
            Config::parse("[athena]\n\noutput_location = \"results/\"\n", Path::new("c.toml"))
                .unwrap_err()
                .to_string();
        assert!(bad.starts_with("c.toml:3: athena.output_location: must be an s3://"), "{bad}");
        let bad = Config::parse("[athena]\ntimeout_seconds = 0\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(bad.starts_with("c.toml:2: athena.timeout_seconds: must be 1 to 86400"), "{bad}");
        let bad = Config::parse("[athena]\ntable = \"x\"\n", Path::new("c.toml")).unwrap_err();
        assert!(bad.to_string().contains("unknown field `table`"), "{bad}");
    }

    #[test]
    fn aws_timeouts_default_and_are_validated_with_their_line() {
        let defaults = Config::parse("", Path::new("c.toml")).unwrap().aws_timeouts;
        assert_eq!(defaults, Timeouts::default());
        assert_eq!(defaults.call, std::time::Duration::from_secs(60));
        let cfg = Config::parse(
            "[aws]\nconnect_timeout_seconds = 1\nattempt_timeout_seconds = 2\n\
             call_timeout_seconds = 3\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let secs = |d: std::time::Duration| d.as_secs();
        let t = cfg.aws_timeouts;
        assert_eq!((secs(t.connect), secs(t.attempt), secs(t.call)), (1, 2, 3));
        // Only the call shortened: the default attempt (20 s) is longer.
        let err = Config::parse(
            "[aws]\ncache_ttl_hours = 1\ncall_timeout_seconds = 5\n",
            Path::new("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("c.toml:3: aws.attempt_timeout_seconds (20)"), "{err}");
        let err = Config::parse("[aws]\n\nattempt_timeout_seconds = 0\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("c.toml:3:") && err.contains("1 to 3600 seconds, not 0"), "{err}");
        let err = Config::parse("[aws]\nconnect_timeout_seconds = -2\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("c.toml:2:"), "{err}");
        let err = Config::parse("[aws]\nconnect_timeout_seconds = \"5s\"\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("c.toml:2:"), "{err}");
    }

    const BUDGETS: &str = r#"[tags]
required = ["team"]

[[budget]]
name = "compute"
amount = "5000"
scope = { service = "Amazon Elastic Compute Cloud", "tag:team" = "web" }

[[budget]]
name = "eu quarter"
amount = "12000.50"
currency = "EUR"
period = "quarter"
alerts = [{ at = 50, of = "forecast" }, { at = 90 }]

[budget.scope]
account = "111111111111"
region = "eu-west-1"

[anomalies]
window_days = 28
min_history_days = 14
min_mads = 3.5
min_excess = "50"
weekday_min_weeks = 3
"#;

    #[test]
    fn budgets_and_anomalies_parse_with_their_defaults() {
        use crate::analysis::budgets::{AlertBasis, AlertThreshold, BudgetPeriod, ScopeFilter};
        let cfg = Config::parse(BUDGETS, Path::new("c.toml")).unwrap();
        assert_eq!(cfg.budgets.len(), 2);
        let compute = &cfg.budgets[0];
        assert_eq!(compute.name, "compute");
        assert_eq!(compute.amount, Money::from_units(5000));
        assert_eq!(compute.currency, Currency::usd());
        assert_eq!(compute.period, BudgetPeriod::Month);
        assert_eq!(
            compute.scope.filters,
            vec![
                ScopeFilter::Service("Amazon Elastic Compute Cloud".into()),
                ScopeFilter::Tag { key: "team".into(), value: "web".into() },
            ]
        );
        assert_eq!(
            compute.alerts,
            vec![
                AlertThreshold { percent: 80, of: AlertBasis::Forecast },
                AlertThreshold { percent: 100, of: AlertBasis::Actual },
            ]
        );
        let eu = &cfg.budgets[1];
        assert_eq!(eu.amount.to_string(), "12000.5");
        assert_eq!(eu.currency, Currency::new("EUR"));
        assert_eq!(eu.period, BudgetPeriod::Quarter);
        assert_eq!(
            eu.scope.filters,
            vec![
                ScopeFilter::Account("111111111111".into()),
                ScopeFilter::Region("eu-west-1".into()),
            ]
        );
        assert_eq!(
            eu.alerts,
            vec![
                AlertThreshold { percent: 50, of: AlertBasis::Forecast },
                AlertThreshold { percent: 90, of: AlertBasis::Actual },
            ]
        );
        assert_eq!(
            cfg.anomalies,
            AnomalySettings {
                window_days: Some(28),
                min_history_days: Some(14),
                min_mads: Some(Money::parse("3.5").unwrap()),
                min_excess: Some(Money::from_units(50)),
                weekday_min_weeks: Some(3),
            }
        );
        let empty = Config::parse("", Path::new("c.toml")).unwrap();
        assert!(empty.budgets.is_empty());
        assert_eq!(empty.anomalies, AnomalySettings::default());
        // min_mads also reads a quoted decimal and a whole number.
        for (text, want) in [("\"2.25\"", "2.25"), ("4", "4")] {
            let cfg = Config::parse(&format!("[anomalies]\nmin_mads = {text}\n"), Path::new("c"))
                .unwrap();
            assert_eq!(cfg.anomalies.min_mads.map(|m| m.to_string()).as_deref(), Some(want));
        }
    }

    /// Parses `text` and returns the error, which must name c.toml and `line`.
    fn error_on_line(text: &str, line: usize) -> String {
        let err = Config::parse(text, Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.starts_with(&format!("c.toml:{line}: ")), "wanted line {line}: {err}");
        err
    }

    #[test]
    fn every_bad_budget_value_names_its_line() {
        let head = "[tags]\nrequired = []\n\n[[budget]]\nname = \"web\"\n";
        // Each case: lines after the head (the bad one is line 6), and a phrase of the message.
        for (tail, why) in [
            ("amont = \"1\"\n", "unknown field `amont`"),
            ("amount = \"-5\"\n", "the amount must be positive, not -5"),
            ("amount = \"0\"\n", "the amount must be positive, not 0"),
            ("amount = \"lots\"\n", "amount \"lots\""),
            ("amount = 5000\n", "as a quoted decimal"),
            ("amount = 50.5\n", "as a quoted decimal"),
            ("period = \"week\"\namount = \"1\"\n", "unknown variant `week`"),
            ("currency = \" \"\namount = \"1\"\n", "the currency cannot be empty"),
            ("scope = { team = \"web\" }\namount = \"1\"\n", "unknown scope key \"team\""),
            ("scope = { \"tag:\" = \"web\" }\namount = \"1\"\n", "unknown scope key \"tag:\""),
            ("scope = { service = \"\" }\namount = \"1\"\n", "empty value"),
            ("scope = { region = 3 }\namount = \"1\"\n", "takes a quoted value"),
            ("alerts = [{ at = 0 }]\namount = \"1\"\n", "1 to 1000 (%), not 0"),
            ("alerts = [{ at = 1001, of = \"forecast\" }]\namount = \"1\"\n", "not 1001"),
            ("alerts = [{ at = 80, of = \"budget\" }]\namount = \"1\"\n", "unknown variant"),
        ] {
            let err = error_on_line(&format!("{head}{tail}"), 6);
            assert!(err.contains(why), "{tail}: {err}");
        }
        // Checked errors name the budget.
        let err = error_on_line(&format!("{head}amount = \"-5\"\n"), 6);
        assert!(err.contains("budget \"web\": "), "{err}");
    }

    #[test]
    fn budget_names_are_required_non_empty_and_unique() {
        let err = error_on_line("[[budget]]\nname = \" \"\namount = \"1\"\n", 2);
        assert!(err.contains("a budget needs a name"), "{err}");
        let two = "[[budget]]\nname = \"a\"\namount = \"1\"\n\n[[budget]]\namount = \"2\"\nname = \"a\"\n";
        let err = error_on_line(two, 7);
        assert!(err.contains("budget \"a\": two budgets have this name"), "{err}");
        let err = error_on_line("[tags]\nrequired = []\n[[budget]]\namount = \"1\"\n", 3);
        assert!(err.contains("missing field `name`"), "{err}");
    }

    #[test]
    fn units_parse_and_every_bad_unit_value_names_its_line() {
        use crate::analysis::units::UnitPer;
        let dir = std::env::temp_dir().join(format!("costscope-units-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("req.csv"), "day,count\n2026-10-01,1200\n2026-10-02,x\n").unwrap();
        std::fs::write(dir.join("ok.csv"), "day,count\n2026-10-01,1200\n").unwrap();
        let config = dir.join("costscope.toml");
        let good = "[[unit]]\nname = \"per ns\"\nper = \"namespace\"\n\n[[unit]]\nname = \"per 1k\"\nper = \"count\"\nfile = \"ok.csv\"\nlabel = \"requests\"\nscale = 1000\nscope = { \"tag:env\" = \"prod\" }\n";
        let cfg = Config::parse(good, &config).unwrap();
        assert_eq!(cfg.units.len(), 2);
        assert_eq!(cfg.units[0].per, UnitPer::Namespace);
        let count = &cfg.units[1];
        assert_eq!((count.scale, count.label.as_deref()), (1000, Some("requests")));
        assert_eq!(count.counts.values().map(|c| c.to_string()).collect::<Vec<_>>(), ["1200"]);
        assert_eq!(count.scope.describe(), "tag:env=prod");
        // A bad line of the count file names the file, its line and the field.
        let bad_file = "[[unit]]\nname = \"r\"\nper = \"count\"\nfile = \"req.csv\"\n";
        let err = Config::parse(bad_file, &config).unwrap_err().to_string();
        assert!(err.contains("req.csv:3: count: \"x\""), "{err}");
        let head = "[tags]\nrequired = []\n\n[[unit]]\nname = \"u\"\n";
        for (body, line, wanted) in [
            ("per = \"pod\"\n", 6, "unknown per \"pod\""),
            ("per = \"tag:\"\n", 6, "unknown per"),
            ("per = \"count\"\n", 6, "needs file"),
            ("per = \"node\"\nfile = \"ok.csv\"\n", 7, "for per = \"count\" only"),
            ("per = \"node\"\nscope = { service = \"EC2\" }\n", 7, "leave the scope out"),
            ("per = \"tag:env\"\nscope = { team = \"web\" }\n", 7, "unknown scope key"),
            ("per = \"count\"\nfile = \"ok.csv\"\nscale = 0\n", 8, "scale is 1 to"),
            ("per = \"tag:env\"\nlabel = \" \"\n", 7, "label cannot be empty"),
            ("per = \"node\"\ncolour = \"red\"\n", 7, "unknown field"),
        ] {
            let text = format!("{head}{body}");
            let err = Config::parse(&text, &config).unwrap_err().to_string();
            let prefix = format!("{}:{line}: ", config.display());
            assert!(err.starts_with(&prefix), "wanted line {line}: {err}");
            assert!(err.contains(wanted), "{body}: {err}");
        }
        let missing = "[[unit]]\nname = \"r\"\nper = \"count\"\nfile = \"nope.csv\"\n";
        let err = Config::parse(missing, &config).unwrap_err().to_string();
        assert!(err.contains("nope.csv"), "{err}");
        let two =
            "[[unit]]\nname = \"a\"\nper = \"node\"\n[[unit]]\nname = \"a\"\nper = \"node\"\n";
        assert!(error_on_line(two, 5).contains("two units have this name"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_bad_anomaly_value_names_its_line() {
        let head = "[tags]\nrequired = []\n[anomalies]\n";
        for (line, why) in [
            ("window_days = 2", "anomalies.window_days: must be 3 to 366, not 2"),
            ("window_days = 400", "must be 3 to 366, not 400"),
            ("min_history_days = 0", "anomalies.min_history_days: must be 1 to 366, not 0"),
            ("weekday_min_weeks = -1", "anomalies.weekday_min_weeks: must be 1 to 52, not -1"),
            ("min_mads = 0", "anomalies.min_mads: must be a number of MADs above 0"),
            ("min_mads = \"-1.5\"", "not -1.5"),
            ("min_mads = \"many\"", "\"many\""),
            ("min_mads = true", "as a quoted decimal"),
            ("min_excess = 50", "anomalies.min_excess: write an amount of 0 or more as a quoted"),
            ("min_excess = \"-1\"", "must be an amount of 0 or more, not -1"),
            ("window_days = \"7\"", "invalid type"),
            ("threshold = 3", "unknown field `threshold`"),
        ] {
            let err = error_on_line(&format!("{head}{line}\n"), 4);
            assert!(err.contains(why), "{line}: {err}");
        }
    }

    #[test]
    fn notify_names_environment_variables_and_parses_its_thresholds() {
        let text = "[tags]\nrequired = []\n[notify]\nslack_webhook_env = \"SLACK_URL\"\nwebhook_env = \"HOOK_2\"\ntimeout_seconds = 5\nretries = 0\nmin_spend_change_percent = 12.5\nmin_savings_change = \"250\"\n";
        let cfg = Config::parse(text, Path::new("c.toml")).unwrap();
        let n = &cfg.notify;
        let slack = n.slack_webhook_env.as_ref().unwrap();
        assert_eq!(slack.name, "SLACK_URL");
        assert_eq!(slack.origin, "c.toml:4: notify.slack_webhook_env");
        assert_eq!(n.webhook_env.as_ref().unwrap().name, "HOOK_2");
        assert_eq!(n.timeout, Some(std::time::Duration::from_secs(5)));
        assert_eq!(n.retries, Some(0));
        assert_eq!(n.min_spend_change_percent.map(|m| m.to_string()).as_deref(), Some("12.5"));
        assert_eq!(n.min_savings_change.map(|m| m.to_string()).as_deref(), Some("250"));
        assert_eq!(Config::parse("", Path::new("c")).unwrap().notify, NotifySettings::default());
    }

    #[test]
    fn every_bad_notify_value_names_its_line_and_no_url_is_quoted() {
        let head = "[tags]\nrequired = []\n[notify]\n";
        let secret = "https://hooks.slack.com/services/T0/B0/SECRETxyz";
        for (line, why) in [
            (
                format!("slack_webhook = \"{secret}\""),
                "notify.slack_webhook: a webhook URL holds its secret",
            ),
            (format!("webhook = \"{secret}\""), "name the variable with webhook_env"),
            (
                format!("slack_webhook_env = \"{secret}\""),
                "\"a URL\" is not an environment variable name",
            ),
            ("webhook_env = \"\"".to_string(), "is not an environment variable name"),
            ("webhook_env = \"1X\"".to_string(), "\"1X\" is not an environment variable name"),
            (
                "timeout_seconds = 0".to_string(),
                "notify.timeout_seconds: must be 1 to 300 seconds, not 0",
            ),
            ("retries = 11".to_string(), "notify.retries: must be 0 to 10, not 11"),
            (
                "min_spend_change_percent = 0".to_string(),
                "must be a percentage above 0 and up to 1000, not 0",
            ),
            (
                "min_savings_change = 50".to_string(),
                "notify.min_savings_change: write an amount of 0 or more as a quoted",
            ),
            ("min_savings_change = \"-1\"".to_string(), "must be an amount of 0 or more, not -1"),
            ("slack_url = \"X\"".to_string(), "unknown field `slack_url`"),
        ] {
            let err = error_on_line(&format!("{head}{line}\n"), 4);
            assert!(err.contains(why), "{line}: {err}");
            assert!(!err.contains("SECRETxyz"), "{line}: {err}");
        }
    }

    #[test]
    fn allocation_parses_rules_pools_and_namespaces_and_defaults_without_it() {
        use crate::analysis::allocation::{
            AllocationSettings, Condition, Idle, Normalize, SplitMethod, Unallocated,
        };
        let text = r#"
[allocation]
key = "team"
normalize = "exact"
unallocated = "pool"
idle = "spread"
cost = "effective"
[[allocation.rule]]
match = { account = "111", resource_id = "i-*" }
team = "platform"
[[allocation.shared]]
name = "net"
match = { service = "Amazon VPC", "tag:shared" = "yes" }
split = "weights"
weights = { web = "62.5", data = "37.5" }
[allocation.namespaces]
jobs = "data"
"#;
        let a = Config::parse(text, Path::new("c.toml")).unwrap().allocation;
        assert_eq!(a.key.as_deref(), Some("team"));
        assert_eq!(
            (a.normalize, a.unallocated, a.idle),
            (Normalize::Exact, Unallocated::Pool, Idle::Spread)
        );
        assert_eq!(a.cost, crate::model::ResourceCost::Effective);
        assert_eq!(a.rules[0].team, "platform");
        assert_eq!(a.rules[0].filter.to_string(), "account=111 resource_id=i-*");
        assert_eq!(a.shared.len(), 1);
        assert_eq!(a.shared[0].filter.conditions.len(), 2);
        assert_eq!(
            a.shared[0].split,
            SplitMethod::Weights(vec![
                ("data".into(), "37.5".parse().unwrap()),
                ("web".into(), "62.5".parse().unwrap()),
            ])
        );
        assert_eq!(a.namespaces["jobs"], "data");
        // No section: tax and support pools, proportional; `shared = []`: no pools.
        let d = Config::parse("", Path::new("c.toml")).unwrap().allocation;
        assert_eq!(d, AllocationSettings::default());
        assert_eq!(d.shared[0].filter.conditions, [Condition::ChargeCategory("Tax".into())]);
        let none = Config::parse("[allocation]\nshared = []\n", Path::new("c.toml")).unwrap();
        assert!(none.allocation.shared.is_empty());
    }

    #[test]
    fn unknown_section_names_the_line() {
        let err = Config::parse("[tags]\nrequired = []\n[colour]\nx = 1\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("c.toml:3:"), "{err}");
    }
}
