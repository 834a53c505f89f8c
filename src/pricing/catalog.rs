//! The AWS price catalog: `rules/prices/aws.toml` (or a user copy) loaded into exact [`Money`].
//!
//! The file is data, not code: prices are decimal strings, every instance type records its shape
//! (vCPUs, memory) so "the next smaller size" can be derived, and the newer generation of a family
//! is a mapping in the file. Loading validates everything up front and names the file and line of
//! the first problem; lookups afterwards never fail for a reason other than a missing price
//! ([`NoPrice`]).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::services::ServiceCatalog;
use crate::model::Money;

/// Hours in a billing month (AWS's convention: 8,760 hours a year / 12). A monthly cost is an
/// hourly price times this.
pub const HOURS_PER_MONTH: i64 = 730;

/// The catalog shipped with costscope, embedded so the binary works from any directory.
const BUILTIN_TEXT: &str = include_str!("../../rules/prices/aws.toml");
const BUILTIN_ORIGIN: &str = "rules/prices/aws.toml (built in)";

/// vCPUs and memory of an instance type, as listed in the catalog's `[instance_types]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InstanceShape {
    /// Virtual CPUs.
    pub vcpu: u32,
    /// Memory in GiB (fractional for the smallest sizes, e.g. 0.5 for `t3.nano`).
    pub memory_gib: f64,
}

impl InstanceShape {
    /// Orders shapes by vCPUs, then memory.
    fn order(&self, other: &InstanceShape) -> std::cmp::Ordering {
        self.vcpu.cmp(&other.vcpu).then(self.memory_gib.total_cmp(&other.memory_gib))
    }
}

/// Why a price catalog could not be loaded. Every message names the file, and the line where the
/// problem is known.
#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    /// The file could not be read.
    #[error("cannot read price catalog {path}: {source}")]
    Read {
        /// The path as given.
        path: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not TOML, or not in the catalog's layout (missing or unknown key, wrong type).
    #[error("{}{}: {}", .origin, at_line(.line), .message)]
    Syntax {
        /// The file (or other origin) the text came from.
        origin: String,
        /// 1-based line of the problem, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// The layout is right but a value is not (a price that is not a positive decimal, an EC2
    /// price for an instance type missing from `[instance_types]`, ...).
    #[error("{}{}: {}", .origin, at_line(.line), .message)]
    Invalid {
        /// The file (or other origin) the text came from.
        origin: String,
        /// 1-based line of the problem, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

fn at_line(line: &Option<usize>) -> String {
    line.map(|n| format!(":{n}")).unwrap_or_default()
}

/// Why a price is missing. `Display` reads e.g.
/// `no price for m5.huge in us-east-1 (unknown instance type)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoPrice {
    /// The region is not in the catalog at all.
    #[error("no price for {item} in {region} (unknown region)")]
    UnknownRegion {
        /// The region asked for.
        region: String,
        /// What was being priced.
        item: String,
    },
    /// The instance type is not in the catalog's `[instance_types]`.
    #[error("no price for {instance_type} in {region} (unknown instance type)")]
    UnknownInstanceType {
        /// The region asked for.
        region: String,
        /// The instance type asked for.
        instance_type: String,
    },
    /// The instance type is known but has no price in this region.
    #[error("no price for {instance_type} in {region} (not offered in this region)")]
    NotOffered {
        /// The region asked for.
        region: String,
        /// The instance type asked for.
        instance_type: String,
    },
    /// No region of the catalog prices this EBS volume type.
    #[error("no price for {volume_type} volumes in {region} (unknown volume type)")]
    UnknownVolumeType {
        /// The region asked for.
        region: String,
        /// The volume type asked for.
        volume_type: String,
    },
    /// The catalog has the region but does not record this price for it.
    #[error("no price for {item} in {region} (not in the price catalog)")]
    NotRecorded {
        /// The region asked for.
        region: String,
        /// What was being priced.
        item: String,
    },
    /// No table of `rules/prices/` prices this service.
    #[error("no price for {service} (no price table for the service)")]
    UnknownService {
        /// The service asked for.
        service: String,
    },
    /// The service's table does not list this node class.
    #[error("no price for {service} {class} in {region} (unknown class)")]
    UnknownClass {
        /// The region asked for.
        region: String,
        /// The service (`rds`, `elasticache`, …).
        service: String,
        /// The class asked for.
        class: String,
    },
    /// The class is known but has no price for this engine in this region.
    #[error(
        "no price for {service} {class} ({variant}) in {region} (not offered or not in the price table)"
    )]
    ClassNotOffered {
        /// The region asked for.
        region: String,
        /// The service (`rds`, `elasticache`, …).
        service: String,
        /// The engine variant asked for (`mysql`, `redis`, `default`, …).
        variant: String,
        /// The class asked for.
        class: String,
    },
}

/// Price of provisioned IOPS: one rate, or rates by tier (io2).
#[derive(Debug, Clone)]
enum IopsPrice {
    Flat(Money),
    Tiered(Vec<Tier>),
}

/// One tier of a tiered IOPS price: `price` for the IOPS up to `up_to` (above the previous tier).
#[derive(Debug, Clone)]
struct Tier {
    /// Upper bound (inclusive); `None` for the last, open-ended tier.
    up_to: Option<u64>,
    price: Money,
}

impl IopsPrice {
    /// The rate of the first (or only) tier.
    fn first(&self) -> Money {
        match self {
            IopsPrice::Flat(price) => *price,
            IopsPrice::Tiered(tiers) => tiers.first().map(|t| t.price).unwrap_or(Money::ZERO),
        }
    }

    /// Monthly cost of `iops` billable IOPS.
    fn cost(&self, iops: u64) -> Money {
        match self {
            IopsPrice::Flat(price) => price.times(to_i64(iops)),
            IopsPrice::Tiered(tiers) => {
                let mut total = Money::ZERO;
                let mut below = 0u64;
                for tier in tiers {
                    if iops <= below {
                        break;
                    }
                    let top = tier.up_to.unwrap_or(u64::MAX);
                    total += tier.price.times(to_i64(iops.min(top).saturating_sub(below)));
                    below = top;
                }
                total
            }
        }
    }
}

/// Performance included in a volume type's GB price.
#[derive(Debug, Clone, Copy, Default)]
struct Included {
    iops: u64,
    throughput_mibps: u64,
}

/// Every price recorded for one region.
#[derive(Debug, Clone, Default)]
struct RegionPrices {
    ec2: BTreeMap<String, Money>,
    ebs_gb_month: BTreeMap<String, Money>,
    ebs_iops: BTreeMap<String, IopsPrice>,
    ebs_throughput: BTreeMap<String, Money>,
    /// Per million I/O requests (magnetic volumes); not part of [`PriceCatalog::volume_monthly`].
    ebs_io_requests: BTreeMap<String, Money>,
    snapshot: BTreeMap<String, Money>,
    public_ipv4_hour: Option<Money>,
    nat_gateway_hour: Option<Money>,
    nat_gateway_gb: Option<Money>,
}

/// Exact list prices for EC2, EBS and a few network items, by region.
#[derive(Debug, Clone)]
pub struct PriceCatalog {
    as_of: String,
    source: String,
    currency: String,
    shapes: BTreeMap<String, InstanceShape>,
    generations: BTreeMap<String, String>,
    /// x86 family → the Graviton (arm64) family of the same size (`[graviton]`).
    graviton: BTreeMap<String, String>,
    included: BTreeMap<String, Included>,
    regions: BTreeMap<String, RegionPrices>,
    services: ServiceCatalog,
    commitments: std::sync::Arc<super::commitments::CommitmentRates>,
}

impl PriceCatalog {
    /// The catalog embedded in the binary (`rules/prices/aws.toml`).
    pub fn builtin() -> Result<PriceCatalog, PricingError> {
        PriceCatalog::from_toml(BUILTIN_TEXT, BUILTIN_ORIGIN)
    }

    /// Parses and validates catalog text; `origin` names it in errors (usually the file path).
    pub fn from_toml(text: &str, origin: &str) -> Result<PriceCatalog, PricingError> {
        let raw: RawCatalog = toml::from_str(text).map_err(|e| {
            let mut message = e.message().trim_end().to_string();
            if message.contains("expected a string") {
                message.push_str(" (write prices as quoted decimals, e.g. \"0.096\")");
            }
            PricingError::Syntax {
                origin: origin.to_string(),
                line: e.span().map(|span| line_of(text, span.start)),
                message,
            }
        })?;
        Loader { origin, text }.build(raw, ServiceCatalog::builtin()?)
    }

    /// Reads a catalog file (a user replacement for the built-in one). Service tables
    /// (`rds.toml`, `dynamodb.toml`, …) beside it replace the built-in ones of those services.
    pub fn load(path: &Path) -> Result<PriceCatalog, PricingError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| PricingError::Read { path: path.display().to_string(), source })?;
        let mut catalog = PriceCatalog::from_toml(&text, &path.display().to_string())?;
        if let Some(dir) = path.parent() {
            let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
            catalog.services = ServiceCatalog::with_overrides(dir)?;
            catalog.commitments = super::commitments::CommitmentRates::with_override(dir)?;
        }
        Ok(catalog)
    }

    /// The price tables of services priced by node class or unit (RDS, DynamoDB, …).
    pub fn services(&self) -> &ServiceCatalog {
        &self.services
    }

    /// Commitment discount rates and what they cover (`commitments.toml`).
    pub fn commitments(&self) -> &super::commitments::CommitmentRates {
        &self.commitments
    }

    /// The date the prices were taken (`YYYY-MM-DD`).
    pub fn as_of(&self) -> &str {
        &self.as_of
    }

    /// Where the prices were taken from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Currency of every price, e.g. `USD`.
    pub fn currency(&self) -> &str {
        &self.currency
    }

    /// The regions the catalog prices, sorted.
    pub fn regions(&self) -> Vec<&str> {
        self.regions.keys().map(String::as_str).collect()
    }

    /// On-demand Linux price of one instance for one hour.
    pub fn instance_hourly(&self, region: &str, instance_type: &str) -> Result<Money, NoPrice> {
        let prices = self.region(region, instance_type)?;
        match prices.ec2.get(instance_type) {
            Some(price) => Ok(*price),
            None if self.shapes.contains_key(instance_type) => Err(NoPrice::NotOffered {
                region: region.to_string(),
                instance_type: instance_type.to_string(),
            }),
            None => Err(NoPrice::UnknownInstanceType {
                region: region.to_string(),
                instance_type: instance_type.to_string(),
            }),
        }
    }

    /// vCPUs and memory of an instance type, if the catalog lists it.
    pub fn instance_shape(&self, instance_type: &str) -> Option<InstanceShape> {
        self.shapes.get(instance_type).copied()
    }

    /// The next smaller size of the same family that has a price in `region` (largest shape
    /// strictly smaller by vcpu then memory). None if already the smallest.
    pub fn next_smaller(&self, region: &str, instance_type: &str) -> Option<String> {
        let shape = self.instance_shape(instance_type)?;
        let (family, _) = split_type(instance_type)?;
        self.regions
            .get(region)?
            .ec2
            .keys()
            .filter(|name| split_type(name).is_some_and(|(f, _)| f == family))
            .filter_map(|name| Some((name, self.shapes.get(name)?)))
            .filter(|(_, candidate)| candidate.order(&shape).is_lt())
            .max_by(|(a_name, a), (b_name, b)| {
                // Equal shapes (e.g. m5.24xlarge and m5.metal): prefer the virtualised size.
                a.order(b).then(is_metal(b_name).cmp(&is_metal(a_name))).then(b_name.cmp(a_name))
            })
            .map(|(name, _)| name.clone())
    }

    /// Same size in the newer generation: m4→m5, c4→c5, r4→r5, t2→t3 (mapping stored in the
    /// catalog's `[generations]`); None when no successor or no price in `region`.
    pub fn successor(&self, region: &str, instance_type: &str) -> Option<String> {
        let (family, size) = split_type(instance_type)?;
        let newer = self.generations.get(family)?;
        let candidate = format!("{newer}.{size}");
        self.regions.get(region)?.ec2.contains_key(&candidate).then_some(candidate)
    }

    /// Same size on AWS Graviton: m5→m6g, m6i→m7g, t3→t4g… (the catalog's `[graviton]`); None
    /// when the family has no Graviton equivalent or that size is not priced in `region`.
    pub fn graviton(&self, region: &str, instance_type: &str) -> Option<String> {
        let (family, size) = split_type(instance_type)?;
        let arm = self.graviton.get(family)?;
        let candidate = format!("{arm}.{size}");
        self.regions.get(region)?.ec2.contains_key(&candidate).then_some(candidate)
    }

    /// Storage price of an EBS volume type, per GB-month.
    pub fn ebs_gb_month(&self, region: &str, volume_type: &str) -> Result<Money, NoPrice> {
        // As `self.region`, naming the item only when the region is missing (views price
        // every volume: a format per call was a measurable part of the rules).
        let prices = self.regions.get(region).ok_or_else(|| NoPrice::UnknownRegion {
            region: region.to_string(),
            item: format!("{volume_type} volumes"),
        })?;
        prices.ebs_gb_month.get(volume_type).copied().ok_or_else(|| {
            self.missing_volume(region, volume_type, format!("{volume_type} volumes"))
        })
    }

    /// Full monthly cost of one EBS volume: size × GB price + provisioned IOPS (io1, io2 tiered;
    /// gp3 above its included 3,000) + gp3 throughput above its included 125 MiB/s.
    ///
    /// `iops`/`throughput` of `None` means the type's baseline: nothing beyond the GB price is
    /// charged (for io1/io2, whose IOPS are always provisioned, that under-counts; pass them).
    /// IOPS or throughput given for a type that does not bill them (gp2, st1, ...) are ignored.
    pub fn volume_monthly(
        &self,
        region: &str,
        volume_type: &str,
        size_gib: u64,
        iops: Option<u64>,
        throughput: Option<u64>,
    ) -> Result<Money, NoPrice> {
        let per_gb = self.ebs_gb_month(region, volume_type)?;
        // As `self.region`, naming the item only when the region is missing (views price
        // every volume: a format per call was a measurable part of the rules).
        let prices = self.regions.get(region).ok_or_else(|| NoPrice::UnknownRegion {
            region: region.to_string(),
            item: format!("{volume_type} volumes"),
        })?;
        let included = self.included.get(volume_type).copied().unwrap_or_default();
        let mut total = per_gb.times(to_i64(size_gib));
        if let (Some(iops), Some(price)) = (iops, prices.ebs_iops.get(volume_type)) {
            total += price.cost(iops.saturating_sub(included.iops));
        }
        if let (Some(mibps), Some(price)) = (throughput, prices.ebs_throughput.get(volume_type)) {
            total += price.times(to_i64(mibps.saturating_sub(included.throughput_mibps)));
        }
        Ok(total)
    }

    /// Price of one provisioned IOPS for a month (the first tier for io2; for gp3 the price of
    /// each IOPS above the included 3,000).
    pub fn ebs_iops_month(&self, region: &str, volume_type: &str) -> Result<Money, NoPrice> {
        let item = format!("{volume_type} provisioned IOPS");
        let prices = self.region(region, &item)?;
        match prices.ebs_iops.get(volume_type) {
            Some(price) => Ok(price.first()),
            None => Err(self.missing_volume(region, volume_type, item)),
        }
    }

    /// Price of a million I/O requests on a volume type that bills them (magnetic `standard`).
    /// Not included in [`PriceCatalog::volume_monthly`], which knows no request counts.
    pub fn ebs_io_requests_per_million(
        &self,
        region: &str,
        volume_type: &str,
    ) -> Result<Money, NoPrice> {
        let item = format!("{volume_type} I/O requests");
        let prices = self.region(region, &item)?;
        match prices.ebs_io_requests.get(volume_type) {
            Some(price) => Ok(*price),
            None => Err(self.missing_volume(region, volume_type, item)),
        }
    }

    /// Price of one MiB/s of gp3 throughput above the included 125 MiB/s, per month.
    pub fn gp3_throughput_month(&self, region: &str) -> Result<Money, NoPrice> {
        let item = "gp3 provisioned throughput";
        let prices = self.region(region, item)?;
        prices.ebs_throughput.get("gp3").copied().ok_or_else(|| not_recorded(region, item))
    }

    /// Price of EBS snapshot storage (standard tier), per GB-month.
    pub fn snapshot_gb_month(&self, region: &str) -> Result<Money, NoPrice> {
        let item = "EBS snapshots";
        let prices = self.region(region, item)?;
        prices.snapshot.get("standard").copied().ok_or_else(|| not_recorded(region, item))
    }

    /// Price of one public IPv4 address (attached or idle) for one hour.
    pub fn public_ipv4_hourly(&self, region: &str) -> Result<Money, NoPrice> {
        let item = "public IPv4 addresses";
        self.region(region, item)?.public_ipv4_hour.ok_or_else(|| not_recorded(region, item))
    }

    /// Price of one NAT gateway for one hour.
    pub fn nat_gateway_hourly(&self, region: &str) -> Result<Money, NoPrice> {
        let item = "NAT gateway hours";
        self.region(region, item)?.nat_gateway_hour.ok_or_else(|| not_recorded(region, item))
    }

    /// Price of one GB processed by a NAT gateway.
    pub fn nat_gateway_per_gb(&self, region: &str) -> Result<Money, NoPrice> {
        let item = "NAT gateway data processing";
        self.region(region, item)?.nat_gateway_gb.ok_or_else(|| not_recorded(region, item))
    }

    fn region(&self, region: &str, item: &str) -> Result<&RegionPrices, NoPrice> {
        self.regions.get(region).ok_or_else(|| NoPrice::UnknownRegion {
            region: region.to_string(),
            item: item.to_string(),
        })
    }

    /// The error for a volume price missing in a known region.
    fn missing_volume(&self, region: &str, volume_type: &str, item: String) -> NoPrice {
        let known = self.regions.values().any(|r| r.ebs_gb_month.contains_key(volume_type));
        if known {
            NoPrice::NotRecorded { region: region.to_string(), item }
        } else {
            NoPrice::UnknownVolumeType {
                region: region.to_string(),
                volume_type: volume_type.to_string(),
            }
        }
    }
}

fn not_recorded(region: &str, item: &str) -> NoPrice {
    NoPrice::NotRecorded { region: region.to_string(), item: item.to_string() }
}

/// `m5.large` → (`m5`, `large`).
fn split_type(instance_type: &str) -> Option<(&str, &str)> {
    instance_type.split_once('.').filter(|(family, size)| !family.is_empty() && !size.is_empty())
}

fn is_metal(instance_type: &str) -> bool {
    split_type(instance_type).is_some_and(|(_, size)| size.starts_with("metal"))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// 1-based line number of a byte offset.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

// ---------------------------------------------------------------------------------------------
// The file as written, before validation.
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    as_of: Spanned<String>,
    source: String,
    currency: Spanned<String>,
    hours_per_month: Spanned<i64>,
    #[serde(default)]
    generations: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    graviton: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    ebs_included: BTreeMap<String, RawIncluded>,
    instance_types: BTreeMap<String, Spanned<RawShape>>,
    regions: BTreeMap<String, RawRegion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShape {
    vcpu: u32,
    memory_gib: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIncluded {
    #[serde(default)]
    iops: u64,
    #[serde(default)]
    throughput_mibps: u64,
}

type RawPrices = BTreeMap<String, Spanned<String>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegion {
    #[serde(default)]
    ec2: RawPrices,
    #[serde(default)]
    ebs: RawPrices,
    #[serde(default)]
    ebs_iops: RawPrices,
    #[serde(default)]
    ebs_iops_tiers: BTreeMap<String, Spanned<Vec<RawTier>>>,
    #[serde(default)]
    ebs_throughput: RawPrices,
    #[serde(default)]
    ebs_io_requests: RawPrices,
    #[serde(default)]
    snapshot: RawPrices,
    #[serde(default)]
    network: RawNetwork,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    public_ipv4_hour: Option<Spanned<String>>,
    nat_gateway_hour: Option<Spanned<String>>,
    nat_gateway_gb: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    up_to: Option<u64>,
    price: Spanned<String>,
}

/// Validates a [`RawCatalog`] into a [`PriceCatalog`] (and a service table, in
/// `services.rs`), pointing errors at lines of `text`.
pub(super) struct Loader<'a> {
    pub(super) origin: &'a str,
    pub(super) text: &'a str,
}

impl Loader<'_> {
    pub(super) fn invalid(&self, span: Option<Range<usize>>, message: String) -> PricingError {
        PricingError::Invalid {
            origin: self.origin.to_string(),
            line: span.map(|s| line_of(self.text, s.start)),
            message,
        }
    }

    /// A price (or a factor): a decimal string that parses exactly and is greater than zero.
    pub(super) fn price(&self, value: &Spanned<String>, what: &str) -> Result<Money, PricingError> {
        let money = Money::parse(value.get_ref())
            .map_err(|e| self.invalid(Some(value.span()), format!("{what}: {e}")))?;
        if money <= Money::ZERO {
            return Err(self.invalid(
                Some(value.span()),
                format!("{what}: must be greater than zero, got {:?}", value.get_ref()),
            ));
        }
        Ok(money)
    }

    /// The `as_of` date, `YYYY-MM-DD`.
    pub(super) fn as_of(&self, raw: &Spanned<String>) -> Result<String, PricingError> {
        let as_of = raw.get_ref().trim().to_string();
        if chrono::NaiveDate::parse_from_str(&as_of, "%Y-%m-%d").is_err() {
            return Err(self.invalid(
                Some(raw.span()),
                format!("as_of must be a date written YYYY-MM-DD, got {as_of:?}"),
            ));
        }
        Ok(as_of)
    }

    /// The three-letter `currency` code.
    pub(super) fn currency(&self, raw: &Spanned<String>) -> Result<String, PricingError> {
        let currency = raw.get_ref().trim().to_string();
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(self.invalid(
                Some(raw.span()),
                format!("currency must be a three-letter code such as \"USD\", got {currency:?}"),
            ));
        }
        Ok(currency)
    }

    fn prices(
        &self,
        raw: &RawPrices,
        table: &str,
    ) -> Result<BTreeMap<String, Money>, PricingError> {
        raw.iter()
            .map(|(key, value)| Ok((key.clone(), self.price(value, &format!("{table}.{key}"))?)))
            .collect()
    }

    fn build(
        &self,
        raw: RawCatalog,
        services: ServiceCatalog,
    ) -> Result<PriceCatalog, PricingError> {
        let as_of = self.as_of(&raw.as_of)?;
        let currency = self.currency(&raw.currency)?;
        if *raw.hours_per_month.get_ref() != HOURS_PER_MONTH {
            return Err(self.invalid(
                Some(raw.hours_per_month.span()),
                format!(
                    "hours_per_month is {} but costscope prices a month as {HOURS_PER_MONTH} hours",
                    raw.hours_per_month.get_ref()
                ),
            ));
        }

        let mut shapes = BTreeMap::new();
        for (name, shape) in &raw.instance_types {
            let at = Some(shape.span());
            if split_type(name).is_none() {
                return Err(self.invalid(
                    at,
                    format!("instance_types: {name:?} is not of the form family.size"),
                ));
            }
            let RawShape { vcpu, memory_gib } = *shape.get_ref();
            if vcpu == 0 || !memory_gib.is_finite() || memory_gib <= 0.0 {
                return Err(self.invalid(
                    at,
                    format!("instance_types.{name}: vcpu and memory_gib must be greater than zero"),
                ));
            }
            shapes.insert(name.clone(), InstanceShape { vcpu, memory_gib });
        }
        let families: BTreeSet<&str> =
            shapes.keys().filter_map(|name| split_type(name)).map(|(f, _)| f).collect();

        let mapping = |table: &str, raw: &BTreeMap<String, Spanned<String>>| {
            let mut out = BTreeMap::new();
            for (old, new) in raw {
                for family in [old.as_str(), new.get_ref().as_str()] {
                    if !families.contains(family) {
                        return Err(self.invalid(
                            Some(new.span()),
                            format!(
                                "{table}: {old} -> {}: no {family}.* type is listed in \
                                 [instance_types]",
                                new.get_ref()
                            ),
                        ));
                    }
                }
                out.insert(old.clone(), new.get_ref().clone());
            }
            Ok(out)
        };
        let generations = mapping("generations", &raw.generations)?;
        let graviton = mapping("graviton", &raw.graviton)?;

        let included = raw
            .ebs_included
            .iter()
            .map(|(kind, inc)| {
                (kind.clone(), Included { iops: inc.iops, throughput_mibps: inc.throughput_mibps })
            })
            .collect();

        let mut regions = BTreeMap::new();
        for (name, region) in &raw.regions {
            regions.insert(name.clone(), self.region(name, region, &shapes)?);
        }

        Ok(PriceCatalog {
            as_of,
            source: raw.source.trim().to_string(),
            currency,
            shapes,
            generations,
            graviton,
            included,
            regions,
            services,
            commitments: super::commitments::CommitmentRates::builtin()?,
        })
    }

    fn region(
        &self,
        name: &str,
        raw: &RawRegion,
        shapes: &BTreeMap<String, InstanceShape>,
    ) -> Result<RegionPrices, PricingError> {
        let table = |t: &str| format!("regions.{name}.{t}");

        for (instance_type, value) in &raw.ec2 {
            if !shapes.contains_key(instance_type) {
                return Err(self.invalid(
                    Some(value.span()),
                    format!(
                        "{}: {instance_type:?} is not listed in [instance_types] (add its vcpu \
                         and memory_gib there)",
                        table("ec2")
                    ),
                ));
            }
        }
        let ec2 = self.prices(&raw.ec2, &table("ec2"))?;
        let ebs_gb_month = self.prices(&raw.ebs, &table("ebs"))?;

        // Per-volume-type tables must name a type that has a GB price in this region.
        let check_volume = |t: &str, volume_type: &str, span: Range<usize>| {
            if ebs_gb_month.contains_key(volume_type) {
                Ok(())
            } else {
                Err(self.invalid(
                    Some(span),
                    format!(
                        "{}: {volume_type} has no GB-month price in [{}]",
                        table(t),
                        table("ebs")
                    ),
                ))
            }
        };

        let mut ebs_iops = BTreeMap::new();
        for (volume_type, value) in &raw.ebs_iops {
            check_volume("ebs_iops", volume_type, value.span())?;
            let what = format!("{}.{volume_type}", table("ebs_iops"));
            ebs_iops.insert(volume_type.clone(), IopsPrice::Flat(self.price(value, &what)?));
        }
        for (volume_type, tiers) in &raw.ebs_iops_tiers {
            let t = table("ebs_iops_tiers");
            check_volume("ebs_iops_tiers", volume_type, tiers.span())?;
            if ebs_iops.contains_key(volume_type) {
                return Err(self.invalid(
                    Some(tiers.span()),
                    format!("{t}: {volume_type} is also priced in [{}]", table("ebs_iops")),
                ));
            }
            let tiers = self.tiers(&format!("{t}.{volume_type}"), tiers)?;
            ebs_iops.insert(volume_type.clone(), IopsPrice::Tiered(tiers));
        }

        let mut ebs_throughput = BTreeMap::new();
        for (volume_type, value) in &raw.ebs_throughput {
            check_volume("ebs_throughput", volume_type, value.span())?;
            let what = format!("{}.{volume_type}", table("ebs_throughput"));
            ebs_throughput.insert(volume_type.clone(), self.price(value, &what)?);
        }
        for (volume_type, value) in &raw.ebs_io_requests {
            check_volume("ebs_io_requests", volume_type, value.span())?;
        }
        let ebs_io_requests = self.prices(&raw.ebs_io_requests, &table("ebs_io_requests"))?;
        let snapshot = self.prices(&raw.snapshot, &table("snapshot"))?;

        let network = table("network");
        let optional = |value: &Option<Spanned<String>>, key: &str| {
            value.as_ref().map(|v| self.price(v, &format!("{network}.{key}"))).transpose()
        };
        Ok(RegionPrices {
            ec2,
            ebs_gb_month,
            ebs_iops,
            ebs_throughput,
            ebs_io_requests,
            snapshot,
            public_ipv4_hour: optional(&raw.network.public_ipv4_hour, "public_ipv4_hour")?,
            nat_gateway_hour: optional(&raw.network.nat_gateway_hour, "nat_gateway_hour")?,
            nat_gateway_gb: optional(&raw.network.nat_gateway_gb, "nat_gateway_gb")?,
        })
    }

    /// Tiers must rise strictly and end with one open tier (no `up_to`).
    fn tiers(&self, what: &str, raw: &Spanned<Vec<RawTier>>) -> Result<Vec<Tier>, PricingError> {
        let tiers = raw.get_ref();
        if tiers.is_empty() {
            return Err(self.invalid(Some(raw.span()), format!("{what}: no tiers")));
        }
        let mut out = Vec::with_capacity(tiers.len());
        let mut below = 0u64;
        for (i, tier) in tiers.iter().enumerate() {
            let last = i + 1 == tiers.len();
            let at = Some(tier.price.span());
            match (tier.up_to, last) {
                (None, false) => {
                    return Err(
                        self.invalid(at, format!("{what}: only the last tier may omit up_to"))
                    );
                }
                (Some(_), true) => {
                    return Err(self.invalid(
                        at,
                        format!(
                            "{what}: the last tier must omit up_to (it prices everything above)"
                        ),
                    ));
                }
                (Some(up_to), false) if up_to <= below => {
                    return Err(self.invalid(
                        at,
                        format!(
                            "{what}: up_to must rise from tier to tier ({up_to} after {below})"
                        ),
                    ));
                }
                _ => {}
            }
            below = tier.up_to.unwrap_or(below);
            out.push(Tier { up_to: tier.up_to, price: self.price(&tier.price, what)? });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    fn builtin() -> PriceCatalog {
        PriceCatalog::builtin().unwrap()
    }

    /// A small valid catalog; tests break one line of it at a time.
    const SMALL: &str = r#"as_of = "2026-01-19"
source = "test"
currency = "USD"
hours_per_month = 730

[instance_types]
"m5.large" = { vcpu = 2, memory_gib = 8 }

[regions.us-east-1.ec2]
"m5.large" = "0.096"

[regions.us-east-1.ebs]
gp3 = "0.08"
"#;

    fn load_err(text: &str) -> String {
        PriceCatalog::from_toml(text, "test.toml").unwrap_err().to_string()
    }

    #[test]
    fn builtin_catalog_loads_with_metadata() {
        let cat = builtin();
        assert_eq!(cat.as_of(), "2026-01-19");
        assert_eq!(cat.currency(), "USD");
        assert!(!cat.source().is_empty());
        assert_eq!(cat.regions(), vec!["eu-west-1", "us-east-1", "us-west-2"]);
    }

    #[test]
    fn anchor_prices_us_east_1() {
        let cat = builtin();
        let r = "us-east-1";
        assert_eq!(cat.instance_hourly(r, "m4.large").unwrap(), m("0.10"));
        assert_eq!(cat.instance_hourly(r, "m5.large").unwrap(), m("0.096"));
        assert_eq!(cat.instance_hourly(r, "t3.medium").unwrap(), m("0.0416"));
        assert_eq!(cat.ebs_gb_month(r, "gp2").unwrap(), m("0.10"));
        assert_eq!(cat.ebs_gb_month(r, "gp3").unwrap(), m("0.08"));
        assert_eq!(cat.ebs_gb_month(r, "io1").unwrap(), m("0.125"));
        assert_eq!(cat.ebs_iops_month(r, "io1").unwrap(), m("0.065"));
        assert_eq!(cat.ebs_iops_month(r, "gp3").unwrap(), m("0.005"));
        assert_eq!(cat.ebs_iops_month(r, "io2").unwrap(), m("0.065"));
        assert_eq!(cat.gp3_throughput_month(r).unwrap(), m("0.04"));
        assert_eq!(cat.snapshot_gb_month(r).unwrap(), m("0.05"));
        assert_eq!(cat.public_ipv4_hourly(r).unwrap(), m("0.005"));
        assert_eq!(cat.nat_gateway_hourly(r).unwrap(), m("0.045"));
        assert_eq!(cat.nat_gateway_per_gb(r).unwrap(), m("0.045"));
        assert_eq!(cat.ebs_io_requests_per_million(r, "standard").unwrap(), m("0.05"));
        let monthly = cat.instance_hourly(r, "m5.large").unwrap().times(HOURS_PER_MONTH);
        assert_eq!(monthly.to_string(), "70.08");
    }

    #[test]
    fn regional_prices_differ_where_aws_does() {
        let cat = builtin();
        assert_eq!(cat.instance_hourly("eu-west-1", "m5.2xlarge").unwrap(), m("0.428"));
        assert_eq!(cat.instance_hourly("eu-west-1", "c4.2xlarge").unwrap(), m("0.453"));
        assert_eq!(cat.instance_hourly("eu-west-1", "t2.small").unwrap(), m("0.025"));
        assert_eq!(cat.instance_hourly("us-west-2", "m5.large").unwrap(), m("0.096"));
        assert_eq!(cat.ebs_gb_month("eu-west-1", "gp3").unwrap(), m("0.088"));
        assert_eq!(cat.nat_gateway_hourly("eu-west-1").unwrap(), m("0.048"));
    }

    #[test]
    fn every_region_prices_every_listed_instance_type() {
        let cat = builtin();
        for region in cat.regions() {
            for name in cat.shapes.keys() {
                assert!(cat.instance_hourly(region, name).is_ok(), "{name} in {region}");
            }
        }
        assert_eq!(cat.instance_shape("t2.nano"), Some(InstanceShape { vcpu: 1, memory_gib: 0.5 }));
        assert_eq!(cat.instance_shape("m5.huge"), None);
    }

    #[test]
    fn next_smaller_orders_by_vcpu_then_memory() {
        let cat = builtin();
        let r = "us-east-1";
        assert_eq!(cat.next_smaller(r, "m5.xlarge").as_deref(), Some("m5.large"));
        assert_eq!(cat.next_smaller(r, "m5.large"), None); // m5 has no medium
        assert_eq!(cat.next_smaller(r, "t3.small").as_deref(), Some("t3.micro"));
        assert_eq!(cat.next_smaller(r, "t3.nano"), None);
        assert_eq!(cat.next_smaller(r, "t2.medium").as_deref(), Some("t2.small"));
        assert_eq!(cat.next_smaller(r, "c5.12xlarge").as_deref(), Some("c5.9xlarge"));
        assert_eq!(cat.next_smaller(r, "m5.metal").as_deref(), Some("m5.16xlarge"));
        assert_eq!(cat.next_smaller(r, "m5.huge"), None);
        assert_eq!(cat.next_smaller("mars-east-1", "m5.xlarge"), None);
    }

    #[test]
    fn successor_is_same_size_in_the_newer_generation() {
        let cat = builtin();
        let r = "us-east-1";
        assert_eq!(cat.successor(r, "m4.large").as_deref(), Some("m5.large"));
        assert_eq!(cat.successor(r, "t2.micro").as_deref(), Some("t3.micro"));
        assert_eq!(cat.successor(r, "c4.8xlarge").as_deref(), None); // no c5.8xlarge
        assert_eq!(cat.successor(r, "r4.16xlarge").as_deref(), Some("r5.16xlarge"));
        assert_eq!(cat.successor(r, "m4.10xlarge"), None); // no m5.10xlarge
        assert_eq!(cat.successor(r, "m5.large"), None);
        assert_eq!(cat.successor("mars-east-1", "m4.large"), None);
    }

    #[test]
    fn graviton_is_the_same_size_on_arm() {
        let cat = builtin();
        let r = "us-east-1";
        assert_eq!(cat.graviton(r, "m5.xlarge").as_deref(), Some("m6g.xlarge"));
        assert_eq!(cat.graviton(r, "c6i.2xlarge").as_deref(), Some("c7g.2xlarge"));
        assert_eq!(cat.graviton(r, "t3a.micro").as_deref(), Some("t4g.micro"));
        assert_eq!(cat.graviton(r, "m5.24xlarge"), None); // no m6g.24xlarge
        assert_eq!(cat.graviton(r, "m4.large"), None); // previous generation: no mapping
        assert_eq!(cat.graviton(r, "m6g.large"), None);
        assert_eq!(cat.graviton("mars-east-1", "m5.large"), None);
        assert_eq!(cat.instance_hourly(r, "m6g.large").unwrap(), m("0.077"));
        assert_eq!(cat.instance_hourly(r, "t4g.2xlarge").unwrap(), m("0.2688"));
        let err = load_err(
            "as_of = \"2026-01-01\"\nsource = \"x\"\ncurrency = \"USD\"\nhours_per_month = 730\n\
             [graviton]\nm5 = \"m6g\"\n[instance_types]\n\"m5.large\" = { vcpu = 2, memory_gib = 8.0 }\n\
             [regions]\n",
        );
        assert!(err.contains("graviton: m5 -> m6g: no m6g.* type"), "{err}");
    }

    #[test]
    fn volume_monthly_hand_computed() {
        let cat = builtin();
        let r = "us-east-1";
        assert_eq!(cat.volume_monthly(r, "gp2", 100, None, None).unwrap(), m("10.00"));
        // 500 × 0.08 + (6000 − 3000) × 0.005 + (250 − 125) × 0.04 = 40 + 15 + 5
        assert_eq!(cat.volume_monthly(r, "gp3", 500, Some(6000), Some(250)).unwrap(), m("60"));
        // Baseline performance is free.
        assert_eq!(cat.volume_monthly(r, "gp3", 500, Some(3000), Some(125)).unwrap(), m("40"));
        assert_eq!(cat.volume_monthly(r, "gp3", 500, None, None).unwrap(), m("40"));
        // 100 × 0.125 + 1000 × 0.065 = 12.5 + 65
        assert_eq!(cat.volume_monthly(r, "io1", 100, Some(1000), None).unwrap(), m("77.50"));
        // io2: 12.5 + 32000 × 0.065 + 32000 × 0.0455 + 6000 × 0.032 = 12.5 + 2080 + 1456 + 192
        assert_eq!(cat.volume_monthly(r, "io2", 100, Some(70_000), None).unwrap(), m("3740.5"));
        assert_eq!(cat.volume_monthly(r, "io2", 100, Some(1000), None).unwrap(), m("77.5"));
        // IOPS on a type that does not bill them are ignored.
        assert_eq!(cat.volume_monthly(r, "gp2", 100, Some(300), Some(128)).unwrap(), m("10"));
    }

    #[test]
    fn missing_prices_explain_themselves() {
        let cat = builtin();
        let err = cat.instance_hourly("us-east-1", "m5.huge").unwrap_err();
        assert_eq!(err.to_string(), "no price for m5.huge in us-east-1 (unknown instance type)");
        let err = cat.instance_hourly("mars-east-1", "m5.large").unwrap_err();
        assert_eq!(err.to_string(), "no price for m5.large in mars-east-1 (unknown region)");
        assert!(matches!(err, NoPrice::UnknownRegion { .. }));
        let err = cat.ebs_gb_month("us-east-1", "gp9").unwrap_err();
        assert_eq!(err.to_string(), "no price for gp9 volumes in us-east-1 (unknown volume type)");
        let err = cat.volume_monthly("us-east-1", "gp9", 10, None, None).unwrap_err();
        assert!(matches!(err, NoPrice::UnknownVolumeType { .. }));
        let err = cat.ebs_iops_month("us-east-1", "gp2").unwrap_err();
        assert_eq!(
            err.to_string(),
            "no price for gp2 provisioned IOPS in us-east-1 (not in the price catalog)"
        );
        let err = cat.nat_gateway_hourly("eu-central-1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "no price for NAT gateway hours in eu-central-1 (unknown region)"
        );
    }

    #[test]
    fn known_type_without_a_regional_price_is_not_offered() {
        let text = SMALL.replace(
            "\n[regions.us-east-1.ec2]",
            "\"m5.xlarge\" = { vcpu = 4, memory_gib = 16 }\n\n[regions.us-east-1.ec2]",
        );
        let cat = PriceCatalog::from_toml(&text, "test.toml").unwrap();
        let err = cat.instance_hourly("us-east-1", "m5.xlarge").unwrap_err();
        assert_eq!(
            err.to_string(),
            "no price for m5.xlarge in us-east-1 (not offered in this region)"
        );
        assert_eq!(cat.next_smaller("us-east-1", "m5.xlarge").as_deref(), Some("m5.large"));
        let err = cat.snapshot_gb_month("us-east-1").unwrap_err();
        assert!(matches!(err, NoPrice::NotRecorded { .. }));
    }

    #[test]
    fn malformed_toml_names_file_and_line() {
        let text = SMALL.replace("\"m5.large\" = \"0.096\"", "\"m5.large\" = 0.096 0.1");
        let err = load_err(&text);
        assert!(err.starts_with("test.toml:10:"), "{err}");
    }

    #[test]
    fn bad_values_name_the_line() {
        let bad_price = SMALL.replace("\"0.096\"", "\"0,096\"");
        let err = load_err(&bad_price);
        assert!(err.starts_with("test.toml:10: regions.us-east-1.ec2.m5.large"), "{err}");

        let zero = SMALL.replace("gp3 = \"0.08\"", "gp3 = \"0\"");
        let err = load_err(&zero);
        assert!(err.starts_with("test.toml:13:") && err.contains("greater than zero"), "{err}");

        let unknown_type = SMALL.replace("\"m5.large\" = \"0.096\"", "\"m5.huge\" = \"0.096\"");
        let err = load_err(&unknown_type);
        assert!(err.starts_with("test.toml:10:") && err.contains("m5.huge"), "{err}");

        let typo = SMALL.replace("[regions.us-east-1.ebs]", "[regions.us-east-1.ebss]");
        let err = load_err(&typo);
        assert!(err.starts_with("test.toml:") && err.contains("ebss"), "{err}");

        let hours = SMALL.replace("730", "720");
        assert!(load_err(&hours).starts_with("test.toml:4:"));

        let date = SMALL.replace("2026-01-19", "19/01/2026");
        assert!(load_err(&date).starts_with("test.toml:1:"));
    }

    #[test]
    fn iops_tables_are_validated() {
        let tiers =
            |body: &str| format!("{SMALL}\n[regions.us-east-1.ebs_iops_tiers]\ngp3 = {body}\n");
        let ok = tiers(r#"[{ up_to = 10, price = "1" }, { price = "0.5" }]"#);
        let cat = PriceCatalog::from_toml(&ok, "test.toml").unwrap();
        // 10 × 1 + 5 × 0.5, all above the (absent) included baseline
        assert_eq!(cat.volume_monthly("us-east-1", "gp3", 0, Some(15), None).unwrap(), m("12.5"));

        let open_middle = tiers(r#"[{ price = "1" }, { price = "0.5" }]"#);
        assert!(load_err(&open_middle).contains("only the last tier"));
        let closed_last = tiers(r#"[{ up_to = 10, price = "1" }]"#);
        assert!(load_err(&closed_last).contains("must omit up_to"));
        let falling =
            tiers(r#"[{ up_to = 10, price = "1" }, { up_to = 5, price = "1" }, { price = "1" }]"#);
        assert!(load_err(&falling).contains("must rise"));

        let no_volume = format!("{SMALL}\n[regions.us-east-1.ebs_iops]\nio1 = \"0.065\"\n");
        let err = load_err(&no_volume);
        assert!(err.starts_with("test.toml:16:") && err.contains("io1"), "{err}");
    }

    #[test]
    fn load_reads_a_user_file_and_reports_missing_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prices.toml");
        std::fs::write(&path, SMALL).unwrap();
        let cat = PriceCatalog::load(&path).unwrap();
        assert_eq!(cat.regions(), vec!["us-east-1"]);
        assert_eq!(cat.instance_hourly("us-east-1", "m5.large").unwrap(), m("0.096"));

        let missing = dir.path().join("nope.toml");
        let err = PriceCatalog::load(&missing).unwrap_err();
        assert!(matches!(err, PricingError::Read { .. }));
        assert!(err.to_string().contains("nope.toml"), "{err}");

        std::fs::write(&path, "as_of = \n").unwrap();
        let err = PriceCatalog::load(&path).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}:1:", path.display())), "{err}");
    }
}
