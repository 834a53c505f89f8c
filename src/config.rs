//! `costscope.toml`: required tags, rule parameter overrides, the price catalog to use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

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
            line: e.span().map_or(1, |s| text[..s.start.min(text.len())].lines().count().max(1)),
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
        })
    }
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
            line: text[..value.span().start.min(text.len())].lines().count().max(1),
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

/// `[aws] *_timeout_seconds` over the defaults: each 1 to 3600 seconds, and an attempt no
/// longer than the call it is part of (else the call would time out before a retry).
fn aws_timeouts(aws: &AwsSection, text: &str, path: &Path) -> Result<Timeouts, ConfigError> {
    let invalid = |at: &toml::Spanned<TimeoutSeconds>, message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        line: text[..at.span().start.min(text.len())].lines().count().max(1),
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

    #[test]
    fn unknown_section_names_the_line() {
        let err = Config::parse("[tags]\nrequired = []\n[colour]\nx = 1\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("c.toml:3:"), "{err}");
    }
}
