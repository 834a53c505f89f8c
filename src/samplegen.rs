//! Deterministic generator of the bundled sample: a month of FOCUS 1.2 billing plus the matching
//! snapshot (inventory, utilization, one Kubernetes cluster), and large billing files for benchmarks.
//!
//! Everything is derived from one seed through a SplitMix64 generator, and every amount of money
//! is computed with integer [`Money`] arithmetic, so identical arguments give byte-identical files
//! on every platform. Resources that are in the inventory are billed exactly at their catalog
//! price: an instance costs `hourly × 24` per running day, a volume, snapshot or other monthly
//! price costs `monthly × 24 / 730` per day (rounded to 10 decimals), partial days are prorated by
//! the second.

mod commitments;
mod compute;
pub mod cur;
mod databases;
mod kubernetes;
mod network_logs;
pub mod planted;
mod serverless_storage;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc, Weekday};
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::model::cluster::{Cluster, ContainerResources, Node, Resources, Workload};
use crate::model::inventory::{
    EbsSnapshot, ElasticIp, Instance, InstanceState, Inventory, NatGateway, Volume,
    VolumeAttachment, VolumeState,
};
use crate::model::snapshot::SCHEMA_VERSION;
use crate::model::utilization::UtilizationSummary;
use crate::model::{Money, Snapshot, Tags};
use crate::pricing::catalog::{HOURS_PER_MONTH, PriceCatalog};

/// The seed used when none is given; the bundled sample is generated with it.
pub const DEFAULT_SEED: u64 = 20_261_101;
/// File name of the bundled billing sample.
pub const FOCUS_FILE: &str = "focus-2026-09-10.csv.gz";
/// File name of the bundled snapshot.
pub const SNAPSHOT_FILE: &str = "snapshot.json";
/// File name of the list of rule outcomes the sample is built to produce.
pub const EXPECTATIONS_FILE: &str = "expected-findings.csv";

/// The FOCUS columns written, in order.
pub const FOCUS_COLUMNS: [&str; 26] = [
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "BillingCurrency",
    "BillingAccountId",
    "BillingAccountName",
    "SubAccountId",
    "SubAccountName",
    "ProviderName",
    "ServiceName",
    "ServiceCategory",
    "RegionId",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ChargeCategory",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "Tags",
    "ChargeFrequency",
    "PricingCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountCategory",
    "CommitmentDiscountType",
    "CommitmentDiscountStatus",
];

/// The payer (billing) account of the sample.
pub const PAYER_ACCOUNT_ID: &str = "111111111111";
pub const PAYER_ACCOUNT_NAME: &str = "Acme Payer";
/// Name of the sample's Kubernetes cluster.
pub const CLUSTER_NAME: &str = "acme-prod-eks";

const CURRENCY: &str = "USD";
const PROVIDER: &str = "AWS";
const SECONDS_PER_DAY: i64 = 86_400;
const DAYS_IN_MONTH: i64 = 31;
const LOOKBACK_DAYS: u32 = 14;
/// Mixed into the generator's state to fork September's random stream.
const SEPTEMBER_SALT: u64 = 0x5e97_2026;
/// September's usage-based charges are this share of October's (a growing business).
const SEPTEMBER_USAGE_PER_MILLE: i64 = 950;
const MB: u64 = 1_000_000;
const GB: u64 = 1_000_000_000;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// Why the generator could not write its files.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Write(#[from] io::Error),
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Catalog(#[from] crate::pricing::PricingError),
    /// The built-in price catalog has no price the sample needs.
    #[error("price catalog has no price for {what}: {reason}")]
    NoPrice { what: String, reason: String },
    /// A FOCUS file the CUR writer cannot convert.
    #[error("{path}: {message}")]
    Convert { path: PathBuf, message: String },
}

pub type Result<T, E = SampleError> = std::result::Result<T, E>;

// ---------------------------------------------------------------------------------------------
// Randomness and time

/// SplitMix64: tiny, fast, and the same sequence everywhere for the same seed.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }

    /// Uniform in `0..n` (0 when `n` is 0); the modulo bias is irrelevant for sample data.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo { lo } else { lo + self.below(hi - lo + 1) }
    }

    fn range_i64(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo { lo } else { lo + self.below((hi - lo + 1) as u64) as i64 }
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// One element of a non-empty slice.
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// An index chosen with the given weights.
    fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }

    /// `n` lowercase hex digits.
    pub fn hex(&mut self, n: usize) -> String {
        let mut out = String::with_capacity(n);
        while out.len() < n {
            let word = self.next_u64();
            for shift in (0..16).rev() {
                if out.len() == n {
                    break;
                }
                out.push(HEX[((word >> (shift * 4)) & 0xF) as usize] as char);
            }
        }
        out
    }

    /// `n` characters of `[A-Z0-9]`.
    fn upper_alnum(&mut self, n: usize) -> String {
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..n).map(|_| ALNUM[self.below(ALNUM.len() as u64) as usize] as char).collect()
    }

    /// `n` characters of `[A-Za-z]`, as Secrets Manager suffixes look.
    fn letters(&mut self, n: usize) -> String {
        const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        (0..n).map(|_| LETTERS[self.below(LETTERS.len() as u64) as usize] as char).collect()
    }

    /// Shuffles in place (Fisher–Yates).
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The SplitMix64 finalizer, also used as a stateless hash for the streaming generator.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A UTC instant from constant parts (the parts are always valid here).
fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).single().unwrap_or_default()
}

/// Start of the billed month.
fn month_start() -> DateTime<Utc> {
    at(2026, 10, 1, 0, 0, 0)
}

/// Start of the month before: the sample bills September and October.
fn september_start() -> DateTime<Utc> {
    at(2026, 9, 1, 0, 0, 0)
}

/// End of the billed month, which is also the snapshot's `collected_at`.
pub fn collected_at() -> DateTime<Utc> {
    at(2026, 11, 1, 0, 0, 0)
}

fn focus_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Whole dollars and micro-dollars as exact money.
fn micros(amount: i64) -> Money {
    Money::from_raw(amount as i128 * 1_000_000_000_000)
}

fn round10(m: Money) -> Money {
    m.round_dp(10)
}

// ---------------------------------------------------------------------------------------------
// Accounts, services, tags

/// The two sub accounts of the sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Account {
    Prod,
    Staging,
}

impl Account {
    pub fn id(self) -> &'static str {
        match self {
            Account::Prod => "222222222222",
            Account::Staging => "333333333333",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Account::Prod => "acme-prod",
            Account::Staging => "acme-staging",
        }
    }

    fn env(self) -> &'static str {
        match self {
            Account::Prod => "prod",
            Account::Staging => "staging",
        }
    }
}

/// A FOCUS ServiceName with its ServiceCategory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Service {
    pub name: &'static str,
    pub category: &'static str,
}

const EC2: Service = Service { name: "Amazon Elastic Compute Cloud", category: "Compute" };
const VPC: Service = Service { name: "Amazon Virtual Private Cloud", category: "Networking" };
const S3: Service = Service { name: "Amazon Simple Storage Service", category: "Storage" };
const RDS: Service = Service { name: "Amazon Relational Database Service", category: "Databases" };
const LAMBDA: Service = Service { name: "AWS Lambda", category: "Compute" };
const CLOUDFRONT: Service = Service { name: "Amazon CloudFront", category: "Networking" };
const DYNAMODB: Service = Service { name: "Amazon DynamoDB", category: "Databases" };
const EKS: Service = Service { name: "Amazon Elastic Kubernetes Service", category: "Compute" };
const CLOUDWATCH: Service =
    Service { name: "Amazon CloudWatch", category: "Management and Governance" };
const SQS: Service = Service { name: "Amazon Simple Queue Service", category: "Integration" };
const SNS: Service =
    Service { name: "Amazon Simple Notification Service", category: "Integration" };
const ELASTICACHE: Service = Service { name: "Amazon ElastiCache", category: "Databases" };
const OPENSEARCH: Service = Service { name: "Amazon OpenSearch Service", category: "Analytics" };
const REDSHIFT: Service = Service { name: "Amazon Redshift", category: "Analytics" };
const KMS: Service = Service { name: "AWS Key Management Service", category: "Security" };
const ROUTE53: Service = Service { name: "Amazon Route 53", category: "Networking" };
const ELB: Service = Service { name: "Elastic Load Balancing", category: "Networking" };
const SECRETS: Service = Service { name: "AWS Secrets Manager", category: "Security" };
const ECR: Service = Service { name: "Amazon EC2 Container Registry (ECR)", category: "Compute" };
const SUPPORT: Service =
    Service { name: "AWS Support (Business)", category: "Management and Governance" };

const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

const TEAMS: [&str; 7] = ["web", "payments", "data", "platform", "search", "ml", "growth"];

fn cost_center(team: &str) -> &'static str {
    match team {
        "web" => "CC-1040",
        "payments" => "CC-1200",
        "data" => "CC-2210",
        "platform" => "CC-3000",
        "search" => "CC-1045",
        "ml" => "CC-2300",
        _ => "CC-4100",
    }
}

fn roles(team: &str) -> &'static [&'static str] {
    match team {
        "web" => &["frontend", "api", "worker"],
        "payments" => &["api", "ledger", "reconciler"],
        "data" => &["etl", "airflow", "spark"],
        "platform" => &["bastion", "vault", "ci-runner"],
        "search" => &["indexer", "query"],
        "ml" => &["trainer", "inference"],
        _ => &["experiments", "mailer"],
    }
}

/// How a resource is tagged; the variants are the inconsistencies real accounts have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TagStyle {
    /// `team`, `env`, `cost-center`, canonical values.
    Full,
    /// All three keys, but env written `Prod` / `production` / `Staging` / `stage`.
    ValueVariant,
    NoCostCenter,
    NoTeam,
    /// `Team` instead of `team`.
    TeamCapital,
    /// `"team "` (trailing space) instead of `team`.
    TeamTrailingSpace,
    /// `Env` or `environment` instead of `env`.
    EnvKeyVariant,
    Empty,
}

fn random_style(rng: &mut SplitMix64) -> TagStyle {
    const STYLES: [TagStyle; 8] = [
        TagStyle::Full,
        TagStyle::ValueVariant,
        TagStyle::NoCostCenter,
        TagStyle::NoTeam,
        TagStyle::TeamCapital,
        TagStyle::TeamTrailingSpace,
        TagStyle::EnvKeyVariant,
        TagStyle::Empty,
    ];
    STYLES[rng.weighted(&[46, 8, 16, 8, 5, 3, 6, 8])]
}

fn make_tags(rng: &mut SplitMix64, style: TagStyle, account: Account, team: &str) -> Tags {
    let mut tags = Tags::new();
    let env = account.env();
    let cc = cost_center(team);
    let mut put = |k: &str, v: &str| {
        tags.insert(k.to_string(), v.to_string());
    };
    match style {
        TagStyle::Full => {
            put("team", team);
            put("env", env);
            put("cost-center", cc);
        }
        TagStyle::ValueVariant => {
            let variants: [&str; 2] = match account {
                Account::Prod => ["Prod", "production"],
                Account::Staging => ["Staging", "stage"],
            };
            put("team", team);
            put("env", rng.pick(&variants));
            put("cost-center", cc);
        }
        TagStyle::NoCostCenter => {
            put("team", team);
            put("env", env);
        }
        TagStyle::NoTeam => {
            put("env", env);
            if rng.chance(500) {
                put("cost-center", cc);
            }
        }
        TagStyle::TeamCapital => {
            put("Team", team);
            put("env", env);
            put("cost-center", cc);
        }
        TagStyle::TeamTrailingSpace => {
            put("team ", team);
            put("env", env);
            if rng.chance(500) {
                put("cost-center", cc);
            }
        }
        TagStyle::EnvKeyVariant => {
            put("team", team);
            put(rng.pick(&["Env", "environment"]), env);
            put("cost-center", cc);
        }
        TagStyle::Empty => {}
    }
    tags
}

/// The keys the `untagged` rule requires, matched exactly.
pub const REQUIRED_TAGS: [&str; 3] = ["team", "env", "cost-center"];

fn missing_required(tags: &Tags) -> Vec<&'static str> {
    REQUIRED_TAGS.iter().copied().filter(|k| !tags.contains_key(*k)).collect()
}

// ---------------------------------------------------------------------------------------------
// Billing items and rows

/// How a billed resource's daily cost is computed.
#[derive(Clone, Copy, Debug)]
enum Charge {
    /// Catalog hourly price: `hourly × hours` (exactly `× 24` for a full day).
    Hourly(Money),
    /// Catalog monthly price: `monthly × hours / 730`, rounded to 10 decimals.
    Monthly(Money),
    /// Usage that varies from day to day around a base daily cost.
    Usage { base_daily: Money, spread_per_mille: i64, weekday_dip: bool },
}

/// One billed resource of the month.
#[derive(Clone, Debug)]
struct BilledItem {
    id: String,
    name: String,
    service: Service,
    resource_type: &'static str,
    account: Account,
    region: &'static str,
    tags: Tags,
    charge: Charge,
    /// Charged from this instant (clamped to the month).
    from: DateTime<Utc>,
    /// Charged until this instant (clamped to the month).
    until: DateTime<Utc>,
    /// Covered by the sample's Compute Savings Plan: BilledCost 0, EffectiveCost 72 % of the
    /// on-demand cost (see `commitments.rs`).
    savings_plan: bool,
    /// Private pricing: ListCost = BilledCost × 100 / 85.
    private_pricing: bool,
}

/// One FOCUS row of the bundled sample.
#[derive(Clone, Debug, PartialEq)]
pub struct FocusRow {
    pub billed_cost: Money,
    pub effective_cost: Money,
    pub list_cost: Money,
    pub account: Account,
    pub service: Service,
    pub region: &'static str,
    pub resource_id: String,
    pub resource_name: String,
    pub resource_type: &'static str,
    pub charge_category: &'static str,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The Tags cell as written: JSON, empty, or `NULL`.
    pub tags: String,
    pub charge_frequency: &'static str,
    /// FOCUS PricingCategory: `Standard` (on demand) or `Committed`.
    pub pricing_category: &'static str,
    /// The commitment the row names, and its CommitmentDiscountStatus (`Used`, `Unused`, or
    /// empty on a purchase).
    pub commitment: Option<(&'static commitments::Commitment, &'static str)>,
}

fn tags_cell(rng: &mut SplitMix64, tags: &Tags) -> Result<String> {
    if tags.is_empty() {
        // Real exports write a missing Tags value both ways.
        Ok(if rng.chance(500) { String::new() } else { "NULL".to_string() })
    } else {
        Ok(serde_json::to_string(tags)?)
    }
}

/// The Tags cell of a planted row: the JSON object, or `NULL` without tags (no random draw).
fn tags_json(tags: &Tags) -> String {
    if tags.is_empty() {
        "NULL".to_string()
    } else {
        serde_json::to_string(tags).unwrap_or_else(|_| "NULL".to_string())
    }
}

fn overlap_seconds(
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> i64 {
    let lo = from.max(start);
    let hi = until.min(end);
    (hi - lo).num_seconds().max(0)
}

fn charge_for(charge: Charge, seconds: i64, weekday: Weekday, rng: &mut SplitMix64) -> Money {
    let hours_den = 3600i128;
    match charge {
        Charge::Hourly(hourly) => round10(hourly.mul_ratio(seconds as i128, hours_den)),
        Charge::Monthly(monthly) => {
            round10(monthly.mul_ratio(seconds as i128, HOURS_PER_MONTH as i128 * hours_den))
        }
        Charge::Usage { base_daily, spread_per_mille, weekday_dip } => {
            let noise = 1000 + rng.range_i64(-spread_per_mille, spread_per_mille);
            let dip = if weekday_dip && matches!(weekday, Weekday::Sat | Weekday::Sun) {
                780
            } else {
                1000
            };
            let daily = base_daily.mul_ratio(noise as i128 * dip as i128, 1_000_000);
            round10(daily.mul_ratio(seconds as i128, SECONDS_PER_DAY as i128))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Expected rule outcomes

/// What one default rule is meant to conclude about one sample resource.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Expectation {
    pub rule_id: &'static str,
    pub resource_id: String,
    pub resource_type: &'static str,
    pub fires: bool,
    pub why: String,
}

// ---------------------------------------------------------------------------------------------
// The generator

/// The generated sample: billing rows, snapshot, and the outcome each rule is meant to have.
#[derive(Clone, Debug)]
pub struct Sample {
    pub rows: Vec<FocusRow>,
    pub snapshot: Snapshot,
    pub expectations: Vec<Expectation>,
    /// The resources built for each scenario, by name.
    pub scenarios: ScenarioIds,
}

struct Util {
    avg_centi: u32,
    p95_centi: u32,
    max_centi: u32,
    net_in: u64,
    net_out: u64,
    /// Days of data in the 14-day window.
    days: u32,
    data_points: u32,
}

fn util(avg: u32, p95: u32, max: u32, net_in: u64, net_out: u64) -> Util {
    Util {
        avg_centi: avg,
        p95_centi: p95,
        max_centi: max,
        net_in,
        net_out,
        days: LOOKBACK_DAYS,
        data_points: LOOKBACK_DAYS * 24,
    }
}

struct VolumeSpec {
    volume_type: &'static str,
    size_gib: u64,
    iops: Option<u64>,
    throughput: Option<u64>,
}

fn vol(volume_type: &'static str, size_gib: u64) -> VolumeSpec {
    let (iops, throughput) = match volume_type {
        "gp3" => (Some(3000), Some(125)),
        // AWS reports a gp2 volume's baseline IOPS: 3 per GiB, 100 to 16,000.
        "gp2" => (Some((size_gib * 3).clamp(100, 16_000)), None),
        _ => (None, None),
    };
    VolumeSpec { volume_type, size_gib, iops, throughput }
}

struct InstanceSpec {
    account: Account,
    region: &'static str,
    instance_type: String,
    name: String,
    launch: DateTime<Utc>,
    /// `Some(instant)` for a stopped instance.
    stopped_at: Option<DateTime<Utc>>,
    util: Option<Util>,
    root: VolumeSpec,
    data: Vec<VolumeSpec>,
    tags: Tags,
    /// Whether volumes inherit the instance's tags.
    tag_volumes: bool,
    savings_plan: bool,
}

struct Gen<'c> {
    rng: SplitMix64,
    catalog: &'c PriceCatalog,
    items: Vec<BilledItem>,
    inventory: Inventory,
    utilization: Vec<UtilizationSummary>,
    used_ids: BTreeSet<String>,
    /// (rule, resource id) → why it is a near miss (must not fire) or skipped.
    near_misses: BTreeMap<(&'static str, String), String>,
    /// Outcomes decided where the resource is made (the database rules).
    expected: Vec<Expectation>,
}

impl<'c> Gen<'c> {
    fn new(seed: u64, catalog: &'c PriceCatalog) -> Gen<'c> {
        Gen {
            rng: SplitMix64::new(seed),
            catalog,
            items: Vec::new(),
            inventory: Inventory::default(),
            utilization: Vec::new(),
            used_ids: BTreeSet::new(),
            near_misses: BTreeMap::new(),
            expected: Vec::new(),
        }
    }

    /// A fresh AWS-style id: `prefix` + 17 hex digits, the first one `0`.
    fn aws_id(&mut self, prefix: &str) -> String {
        loop {
            let id = format!("{prefix}-0{}", self.rng.hex(16));
            if self.used_ids.insert(id.clone()) {
                return id;
            }
        }
    }

    fn unique(&mut self, id: String) -> String {
        let mut candidate = id.clone();
        let mut n = 2;
        while !self.used_ids.insert(candidate.clone()) {
            candidate = format!("{id}-{n}");
            n += 1;
        }
        candidate
    }

    fn near(&mut self, rule: &'static str, id: &str, why: &str) {
        self.near_misses.insert((rule, id.to_string()), why.to_string());
    }

    fn instance_hourly(&self, region: &str, instance_type: &str) -> Result<Money> {
        self.catalog.instance_hourly(region, instance_type).map_err(|e| SampleError::NoPrice {
            what: format!("instance {instance_type} in {region}"),
            reason: e.to_string(),
        })
    }

    fn has_instance_price(&self, region: &str, instance_type: &str) -> bool {
        self.catalog.instance_hourly(region, instance_type).is_ok()
    }

    fn volume_monthly(&self, region: &str, spec: &VolumeSpec) -> Result<Money> {
        self.catalog
            .volume_monthly(region, spec.volume_type, spec.size_gib, spec.iops, spec.throughput)
            .map_err(|e| SampleError::NoPrice {
                what: format!("{} volume of {} GiB in {region}", spec.volume_type, spec.size_gib),
                reason: e.to_string(),
            })
    }

    fn random_team(&mut self) -> &'static str {
        self.rng.pick(&TEAMS)
    }

    fn random_region(&mut self) -> &'static str {
        REGIONS[self.rng.weighted(&[60, 25, 15])]
    }

    fn random_account(&mut self) -> Account {
        if self.rng.chance(640) { Account::Prod } else { Account::Staging }
    }

    /// A launch or creation time between `from_days` and `to_days` days before the month.
    fn past_time(&mut self, from_days: i64, to_days: i64) -> DateTime<Utc> {
        let days = self.rng.range_i64(from_days, to_days);
        let secs = self.rng.range_i64(0, SECONDS_PER_DAY - 1);
        month_start() - Duration::days(days) + Duration::seconds(secs)
    }

    #[allow(clippy::too_many_arguments)]
    fn bill(
        &mut self,
        id: &str,
        name: &str,
        service: Service,
        resource_type: &'static str,
        account: Account,
        region: &'static str,
        tags: &Tags,
        charge: Charge,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        savings_plan: bool,
    ) {
        self.items.push(BilledItem {
            id: id.to_string(),
            name: name.to_string(),
            service,
            resource_type,
            account,
            region,
            tags: tags.clone(),
            charge,
            from,
            until,
            savings_plan,
            private_pricing: false,
        });
    }

    // --- EC2 --------------------------------------------------------------------------------

    fn add_volume(
        &mut self,
        account: Account,
        region: &'static str,
        spec: &VolumeSpec,
        created: DateTime<Utc>,
        attached_to: Option<(&str, &str)>,
        tags: Tags,
    ) -> Result<String> {
        let id = self.aws_id("vol");
        let monthly = self.volume_monthly(region, spec)?;
        let name = tags.get("Name").cloned().unwrap_or_default();
        self.bill(
            &id,
            &name,
            EC2,
            "Volume",
            account,
            region,
            &tags,
            Charge::Monthly(monthly),
            created,
            collected_at(),
            false,
        );
        self.inventory.volumes.push(Volume {
            id: id.clone(),
            account_id: account.id().to_string(),
            region: region.to_string(),
            volume_type: spec.volume_type.to_string(),
            size_gib: spec.size_gib,
            iops: spec.iops,
            throughput: spec.throughput,
            state: if attached_to.is_some() { VolumeState::InUse } else { VolumeState::Available },
            attachments: attached_to
                .map(|(instance_id, device)| VolumeAttachment {
                    instance_id: instance_id.to_string(),
                    device: Some(device.to_string()),
                })
                .into_iter()
                .collect(),
            create_time: Some(created),
            tags,
        });
        Ok(id)
    }

    fn add_instance(&mut self, spec: InstanceSpec) -> Result<String> {
        let id = self.aws_id("i");
        let hourly = self.instance_hourly(spec.region, &spec.instance_type)?;
        let until = spec.stopped_at.unwrap_or_else(collected_at);
        if until > month_start() {
            self.bill(
                &id,
                &spec.name,
                EC2,
                "Instance",
                spec.account,
                spec.region,
                &spec.tags,
                Charge::Hourly(hourly),
                spec.launch,
                until,
                spec.savings_plan,
            );
        }
        let volume_tags = |tags: &Tags, suffix: &str| -> Tags {
            let mut t = tags.clone();
            if let Some(name) = t.get("Name").cloned() {
                t.insert("Name".to_string(), format!("{name}-{suffix}"));
            }
            t
        };
        let root_tags =
            if spec.tag_volumes { volume_tags(&spec.tags, "root") } else { Tags::new() };
        let mut volume_ids = vec![self.add_volume(
            spec.account,
            spec.region,
            &spec.root,
            spec.launch,
            Some((&id, "/dev/xvda")),
            root_tags,
        )?];
        for (n, data) in spec.data.iter().enumerate() {
            let tags = if spec.tag_volumes { volume_tags(&spec.tags, "data") } else { Tags::new() };
            let device = format!("/dev/sd{}", (b'f' + n as u8) as char);
            let created = spec.launch + Duration::minutes(2);
            volume_ids.push(self.add_volume(
                spec.account,
                spec.region,
                data,
                created,
                Some((&id, &device)),
                tags,
            )?);
        }
        let (state, reason) = match spec.stopped_at {
            Some(t) => (
                InstanceState::Stopped,
                Some(format!("User initiated ({} GMT)", t.format("%Y-%m-%d %H:%M:%S"))),
            ),
            None => (InstanceState::Running, None),
        };
        if let Some(u) = &spec.util {
            self.utilization.push(UtilizationSummary {
                resource_id: id.clone(),
                lookback_days: LOOKBACK_DAYS,
                days_covered: u.days,
                data_points: u.data_points,
                cpu_avg_percent: Some(f64::from(u.avg_centi) / 100.0),
                cpu_p95_percent: Some(f64::from(u.p95_centi) / 100.0),
                cpu_max_percent: Some(f64::from(u.max_centi) / 100.0),
                memory_p95_percent: None,
                network_in_bytes_per_day: Some(u.net_in as f64),
                network_out_bytes_per_day: Some(u.net_out as f64),
                bytes_processed: None,
                ..UtilizationSummary::default()
            });
        }
        self.inventory.instances.push(Instance {
            id: id.clone(),
            account_id: spec.account.id().to_string(),
            region: spec.region.to_string(),
            instance_type: spec.instance_type,
            state,
            launch_time: Some(spec.launch),
            state_transition_time: spec.stopped_at,
            state_transition_reason: reason,
            platform: None,
            tags: spec.tags,
            volume_ids,
            image_id: None,
        });
        Ok(id)
    }

    fn named_tags(&mut self, style: TagStyle, account: Account, team: &str, name: &str) -> Tags {
        let mut tags = make_tags(&mut self.rng, style, account, team);
        if !name.is_empty() {
            tags.insert("Name".to_string(), name.to_string());
        }
        tags
    }

    #[allow(clippy::too_many_arguments)]
    fn scenario_instance(
        &mut self,
        account: Account,
        region: &'static str,
        instance_type: &str,
        name: &str,
        team: &str,
        style: TagStyle,
        util: Option<Util>,
        root: VolumeSpec,
        data: Vec<VolumeSpec>,
    ) -> Result<String> {
        let tags = self.named_tags(style, account, team, name);
        let launch = self.past_time(40, 900);
        self.add_instance(InstanceSpec {
            account,
            region,
            instance_type: instance_type.to_string(),
            name: name.to_string(),
            launch,
            stopped_at: None,
            util,
            root,
            data,
            tags,
            tag_volumes: true,
            savings_plan: false,
        })
    }

    fn instances(&mut self) -> Result<ScenarioIds> {
        use Account::{Prod, Staging};
        use TagStyle::{Empty, Full, NoCostCenter, TeamCapital, ValueVariant};
        let mut ids = ScenarioIds::default();

        // ec2-idle: p95 ≤ 5 % and network ≤ 5 MB/day over 14 days.
        let u = util(110, 230, 780, 700_000, 400_000);
        let id = self.scenario_instance(
            Prod,
            "us-east-1",
            "m5.large",
            "legacy-cron-01",
            "platform",
            Full,
            Some(u),
            vol("gp2", 50),
            vec![],
        )?;
        ids.idle.push(id);
        let u = util(40, 90, 310, 300_000, 200_000);
        let id = self.scenario_instance(
            Staging,
            "us-west-2",
            "t3.medium",
            "qa-runner-old",
            "web",
            NoCostCenter,
            Some(u),
            vol("gp3", 30),
            vec![],
        )?;
        ids.idle.push(id);
        let u = util(200, 460, 1120, 1_800_000, 1_400_000);
        let id = self.scenario_instance(
            Staging,
            "eu-west-1",
            "c5.xlarge",
            "perf-test-eu",
            "search",
            Full,
            Some(u),
            vol("gp3", 50),
            vec![],
        )?;
        ids.idle.push(id);
        // Idle and previous generation at once.
        let u = util(60, 170, 520, 500_000, 300_000);
        let id = self.scenario_instance(
            Prod,
            "us-west-2",
            "m4.large",
            "jenkins-agent-legacy",
            "platform",
            Empty,
            Some(u),
            vol("gp2", 100),
            vec![],
        )?;
        ids.idle.push(id.clone());
        ids.previous_generation.push(id);

        // Near misses of ec2-idle, which rightsizing catches instead.
        let u = util(150, 310, 900, 180 * MB, 95 * MB);
        let id = self.scenario_instance(
            Prod,
            "us-east-1",
            "m5.2xlarge",
            "batch-ingest-01",
            "data",
            Full,
            Some(u),
            vol("gp3", 100),
            vec![vol("gp3", 500)],
        )?;
        self.near("ec2-idle", &id, "CPU p95 3.1 % but 275 MB/day of network");
        ids.rightsize.push(id);
        let u = util(320, 640, 1400, 600_000, 500_000);
        let id = self.scenario_instance(
            Staging,
            "us-east-1",
            "t3.large",
            "staging-bastion",
            "platform",
            Full,
            Some(u),
            vol("gp3", 20),
            vec![],
        )?;
        self.near("ec2-idle", &id, "network 1.1 MB/day but CPU p95 6.4 % > 5 %");
        ids.rightsize.push(id);

        // Too little data: launched 5 and 10 days before collection.
        let tags = self.named_tags(Full, Prod, "ml", "ml-scratch-new");
        let id = self.add_instance(InstanceSpec {
            account: Prod,
            region: "us-west-2",
            instance_type: "m5.large".to_string(),
            name: "ml-scratch-new".to_string(),
            launch: at(2026, 10, 27, 3, 0, 0),
            stopped_at: None,
            util: Some(Util { days: 5, data_points: 117, ..util(30, 60, 210, 200_000, 100_000) }),
            root: vol("gp3", 50),
            data: vec![],
            tags,
            tag_volumes: true,
            savings_plan: false,
        })?;
        self.near("ec2-idle", &id, "idle-looking but only 5 days of data: skipped");
        self.near("ec2-rightsize", &id, "only 5 days of data: skipped");
        ids.insufficient_data.push(id);
        let tags = self.named_tags(NoCostCenter, Staging, "growth", "growth-experiments-07");
        let id = self.add_instance(InstanceSpec {
            account: Staging,
            region: "eu-west-1",
            instance_type: "c5.large".to_string(),
            name: "growth-experiments-07".to_string(),
            launch: at(2026, 10, 22, 10, 0, 0),
            stopped_at: None,
            util: Some(Util {
                days: 10,
                data_points: 230,
                ..util(550, 1200, 3400, 90 * MB, 60 * MB)
            }),
            root: vol("gp3", 30),
            data: vec![],
            tags,
            tag_volumes: false,
            savings_plan: false,
        })?;
        self.near("ec2-rightsize", &id, "CPU p95 12 % but only 10 days of data: skipped");
        ids.insufficient_data.push(id);

        // ec2-rightsize.
        let u = util(940, 1850, 6100, 2_100 * MB, 1_300 * MB);
        let id = self.scenario_instance(
            Prod,
            "us-east-1",
            "m5.4xlarge",
            "orders-api-01",
            "payments",
            Full,
            Some(u),
            vol("gp2", 100),
            vec![VolumeSpec {
                volume_type: "gp3",
                size_gib: 500,
                iops: Some(6000),
                throughput: Some(250),
            }],
        )?;
        ids.rightsize.push(id);
        let u = util(1250, 2200, 4800, 800 * MB, 650 * MB);
        let id = self.scenario_instance(
            Prod,
            "eu-west-1",
            "r5.2xlarge",
            "reporting-db-eu",
            "data",
            TeamCapital,
            Some(u),
            vol("gp3", 50),
            vec![VolumeSpec {
                volume_type: "io1",
                size_gib: 400,
                iops: Some(8000),
                throughput: None,
            }],
        )?;
        ids.rightsize.push(id);
        let u = util(1600, 3120, 7000, 400 * MB, 380 * MB);
        let id = self.scenario_instance(
            Staging,
            "us-east-1",
            "c5.2xlarge",
            "search-indexer-stg",
            "search",
            Full,
            Some(u),
            vol("gp3", 100),
            vec![],
        )?;
        ids.rightsize.push(id);
        let u = util(2100, 3960, 8800, 1_200 * MB, 900 * MB);
        let id = self.scenario_instance(
            Prod,
            "us-east-1",
            "m5.xlarge",
            "web-api-07",
            "web",
            Full,
            Some(u),
            vol("gp3", 50),
            vec![],
        )?;
        ids.rightsize.push(id);
        // Near misses of ec2-rightsize.
        let u = util(2300, 4130, 9100, 1_500 * MB, 1_100 * MB);
        let id = self.scenario_instance(
            Prod,
            "us-east-1",
            "m5.xlarge",
            "web-api-08",
            "web",
            Full,
            Some(u),
            vol("gp3", 50),
            vec![],
        )?;
        self.near("ec2-rightsize", &id, "CPU p95 41.3 % ≥ 40 %");
        ids.busy.push(id);
        let u = util(600, 1400, 3900, 40 * MB, 25 * MB);
        let id = self.scenario_instance(
            Prod,
            "us-east-1",
            "t3.nano",
            "status-page",
            "web",
            ValueVariant,
            Some(u),
            vol("gp3", 8),
            vec![],
        )?;
        self.near("ec2-rightsize", &id, "CPU p95 14 % but no smaller t3 size in the catalog");
        ids.busy.push(id);

        // ec2-previous-generation, busy enough to need nothing else.
        let u = util(3100, 5700, 9400, 3_000 * MB, 2_200 * MB);
        let id = self.scenario_instance(
            Prod,
            "us-east-1",
            "m4.xlarge",
            "payments-ledger-01",
            "payments",
            Full,
            Some(u),
            vol("gp2", 80),
            vec![],
        )?;
        ids.previous_generation.push(id);
        let u = util(3500, 6300, 9700, 700 * MB, 500 * MB);
        let id = self.scenario_instance(
            Staging,
            "us-west-2",
            "c4.large",
            "ci-runner-legacy",
            "platform",
            NoCostCenter,
            Some(u),
            vol("gp3", 100),
            vec![],
        )?;
        ids.previous_generation.push(id);
        let u = util(2900, 5200, 8800, 450 * MB, 300 * MB);
        let id = self.scenario_instance(
            Prod,
            "eu-west-1",
            "r4.large",
            "session-store-eu",
            "web",
            Full,
            Some(u),
            vol("gp2", 40),
            vec![vol("gp2", 300)],
        )?;
        ids.previous_generation.push(id);
        let u = util(2400, 4800, 9900, 120 * MB, 90 * MB);
        let id = self.scenario_instance(
            Staging,
            "us-east-1",
            "t2.medium",
            "wiki",
            "platform",
            Full,
            Some(u),
            vol("gp2", 30),
            vec![],
        )?;
        ids.previous_generation.push(id);
        // Near miss: current generation with the same load.
        let current = if self.has_instance_price("us-east-1", "m6i.large") {
            "m6i.large"
        } else {
            "m5.large"
        };
        let u = util(3000, 5500, 9000, 600 * MB, 400 * MB);
        let id = self.scenario_instance(
            Prod,
            "us-east-1",
            current,
            "payments-ledger-02",
            "payments",
            Full,
            Some(u),
            vol("gp3", 80),
            vec![],
        )?;
        self.near("ec2-previous-generation", &id, "current generation");
        ids.busy.push(id);

        // ec2-stopped-long, and one stopped only 10 days ago.
        let stopped = [
            (Prod, "us-east-1", "m5.large", "analytics-poc", "data", at(2026, 8, 14, 9, 12, 44)),
            (
                Staging,
                "us-west-2",
                "m4.large",
                "old-build-box",
                "platform",
                at(2026, 7, 2, 18, 40, 3),
            ),
            (Staging, "eu-west-1", "t3.xlarge", "demo-eu", "growth", at(2026, 9, 20, 7, 55, 10)),
            (Prod, "us-east-1", "c5.large", "canary-runner", "web", at(2026, 10, 22, 16, 3, 27)),
        ];
        for (n, (account, region, itype, name, team, when)) in stopped.into_iter().enumerate() {
            let style = if n == 1 { NoCostCenter } else { Full };
            let tags = self.named_tags(style, account, team, name);
            let launch = when - Duration::days(self.rng.range_i64(60, 500));
            let data = if n == 0 { vec![vol("gp2", 200)] } else { vec![] };
            let id = self.add_instance(InstanceSpec {
                account,
                region,
                instance_type: itype.to_string(),
                name: name.to_string(),
                launch,
                stopped_at: Some(when),
                util: None,
                root: vol("gp3", 30),
                data,
                tags,
                tag_volumes: true,
                savings_plan: false,
            })?;
            if when < month_start() {
                ids.stopped_before_month.push(id.clone());
            }
            if n == 3 {
                self.near("ec2-stopped-long", &id, "stopped only 9.3 days before collection");
                ids.stopped_recently.push(id);
            } else {
                if itype.starts_with("m4.") {
                    self.near(
                        "ec2-previous-generation",
                        &id,
                        "m4 but stopped (rule is for running)",
                    );
                }
                ids.stopped_long.push(id);
            }
        }

        // The rest: a busy fleet (CPU p95 42–92 %) that no utilization rule should touch.
        const FLEET: [&str; 16] = [
            "t3.small",
            "t3.medium",
            "t3.large",
            "t3.xlarge",
            "m5.large",
            "m5.xlarge",
            "m5.2xlarge",
            "c5.large",
            "c5.xlarge",
            "c5.2xlarge",
            "r5.large",
            "r5.xlarge",
            "m6i.large",
            "m6i.xlarge",
            "c6i.large",
            "r6i.large",
        ];
        let fleet: Vec<&str> = FLEET
            .iter()
            .copied()
            .filter(|t| REGIONS.iter().all(|r| self.has_instance_price(r, t)))
            .collect();
        let mut counters: BTreeMap<String, u32> = BTreeMap::new();
        for _ in 0..28 {
            let account = self.random_account();
            let region = self.random_region();
            let team = self.random_team();
            let role = self.rng.pick(roles(team));
            let itype = self.rng.pick(&fleet);
            let counter = counters.entry(format!("{team}-{role}")).or_insert(0);
            *counter += 1;
            let suffix = if account == Staging { "-stg" } else { "" };
            let name = format!("{team}-{role}-{:02}{suffix}", counter);
            let style = random_style(&mut self.rng);
            let tags = self.named_tags(style, account, team, &name);
            let p95 = self.rng.range(4200, 9200) as u32;
            let avg = p95 * self.rng.range(40, 70) as u32 / 100;
            let max = (p95 + self.rng.range(300, 2500) as u32).min(10_000);
            let net_in = self.rng.range(150, 6000) * MB;
            let net_out = net_in * self.rng.range(30, 160) / 100;
            let root = if self.rng.chance(200) {
                vol("gp2", self.rng.pick(&[20, 30, 50, 100]))
            } else {
                vol("gp3", self.rng.pick(&[8, 20, 30, 50, 100]))
            };
            let mut data = Vec::new();
            if self.rng.chance(300) {
                data.push(match self.rng.below(10) {
                    0 => vol("st1", 2000),
                    1 => vol("sc1", 1000),
                    2 => vol("gp2", self.rng.pick(&[100, 250, 500])),
                    _ => vol("gp3", self.rng.pick(&[100, 200, 500, 1000])),
                });
            }
            let launch = self.past_time(20, 1100);
            let savings_plan = account == Prod
                && region == "us-east-1"
                && (itype.starts_with("m5") || itype.starts_with("c5") || itype.starts_with("r5"));
            let tag_volumes = self.rng.chance(700);
            let id = self.add_instance(InstanceSpec {
                account,
                region,
                instance_type: itype.to_string(),
                name,
                launch,
                stopped_at: None,
                util: Some(util(avg, p95, max, net_in, net_out)),
                root,
                data,
                tags,
                tag_volumes,
                savings_plan,
            })?;
            if savings_plan {
                ids.savings_plan.push(id.clone());
            }
            ids.fleet.push(id);
        }
        Ok(ids)
    }

    fn unattached_volumes(&mut self, ids: &mut ScenarioIds) -> Result<()> {
        use Account::{Prod, Staging};
        let specs = [
            (Prod, "us-east-1", vol("gp3", 200), at(2026, 6, 3, 14, 22, 9), "web", TagStyle::Full),
            (
                Staging,
                "us-west-2",
                vol("gp2", 500),
                at(2025, 11, 12, 8, 1, 55),
                "data",
                TagStyle::Empty,
            ),
            (
                Prod,
                "eu-west-1",
                VolumeSpec {
                    volume_type: "io1",
                    size_gib: 100,
                    iops: Some(2000),
                    throughput: None,
                },
                at(2026, 9, 1, 11, 30, 0),
                "data",
                TagStyle::NoCostCenter,
            ),
            (
                Staging,
                "us-east-1",
                vol("st1", 1000),
                at(2026, 4, 18, 17, 45, 12),
                "ml",
                TagStyle::Full,
            ),
            (
                Prod,
                "us-east-1",
                vol("gp3", 50),
                at(2026, 10, 20, 10, 31, 0),
                "payments",
                TagStyle::Full,
            ),
            (
                Staging,
                "us-west-2",
                vol("gp3", 100),
                at(2026, 10, 30, 6, 20, 0),
                "web",
                TagStyle::Full,
            ),
        ];
        for (n, (account, region, spec, created, team, style)) in specs.into_iter().enumerate() {
            let tags = make_tags(&mut self.rng, style, account, team);
            let id = self.add_volume(account, region, &spec, created, None, tags)?;
            if n == 5 {
                self.near("ebs-unattached", &id, "available but created 1.7 days ago");
                ids.unattached_recent.push(id);
            } else {
                ids.unattached.push(id);
            }
        }
        Ok(())
    }

    fn nat_gateways(
        &mut self,
        ids: &mut ScenarioIds,
    ) -> Result<Vec<(String, Account, &'static str)>> {
        use Account::{Prod, Staging};
        // (account, region, created, bytes over the window, days of data, label)
        let specs = [
            (Prod, "us-east-1", at(2024, 3, 11, 9, 0, 0), 2_900 * GB, 14u32, "busy"),
            (Staging, "us-west-2", at(2025, 6, 2, 13, 5, 0), 210 * MB, 14, "idle"),
            (Prod, "eu-west-1", at(2025, 1, 20, 10, 0, 0), 1_600 * MB, 14, "near"),
            (Staging, "us-east-1", at(2026, 10, 28, 8, 0, 0), 12 * MB, 4, "short"),
        ];
        let mut out = Vec::new();
        for (account, region, created, bytes, days, label) in specs {
            let id = self.aws_id("nat");
            let hourly =
                self.catalog.nat_gateway_hourly(region).map_err(|e| SampleError::NoPrice {
                    what: format!("NAT gateway in {region}"),
                    reason: e.to_string(),
                })?;
            let name = format!("nat-{}-{}", account.env(), region);
            let tags = self.named_tags(TagStyle::Full, account, "platform", &name);
            self.bill(
                &id,
                &name,
                VPC,
                "NAT Gateway",
                account,
                region,
                &tags,
                Charge::Hourly(hourly),
                created,
                collected_at(),
                false,
            );
            let vpc_id = self.aws_id("vpc");
            let subnet_id = self.aws_id("subnet");
            self.inventory.nat_gateways.push(NatGateway {
                id: id.clone(),
                account_id: account.id().to_string(),
                region: region.to_string(),
                state: "available".to_string(),
                create_time: Some(created),
                vpc_id: Some(vpc_id),
                subnet_id: Some(subnet_id),
                tags,
            });
            let data_points = if days == LOOKBACK_DAYS {
                LOOKBACK_DAYS * 24
            } else {
                (collected_at() - created).num_hours() as u32
            };
            self.utilization.push(UtilizationSummary {
                resource_id: id.clone(),
                lookback_days: LOOKBACK_DAYS,
                days_covered: days,
                data_points,
                bytes_processed: Some(bytes as f64),
                ..UtilizationSummary::default()
            });
            match label {
                "idle" => ids.nat_idle.push(id.clone()),
                "near" => {
                    self.near("nat-gateway-idle", &id, "1.6 GB processed in 14 days ≥ 1 GB");
                    ids.nat_busy.push(id.clone());
                }
                "short" => {
                    self.near("nat-gateway-idle", &id, "12 MB but only 4 days of data: skipped");
                    ids.insufficient_data.push(id.clone());
                }
                _ => {
                    self.near("nat-gateway-idle", &id, "2.9 TB processed");
                    ids.nat_busy.push(id.clone());
                }
            }
            out.push((id, account, region));
        }
        Ok(out)
    }

    fn elastic_ips(
        &mut self,
        nats: &[(String, Account, &'static str)],
        ids: &mut ScenarioIds,
    ) -> Result<()> {
        // (account, region, association: nat index, fleet instance, or none)
        let mut plan: Vec<(Account, &'static str, Option<Option<String>>)> = Vec::new();
        for (_, account, region) in nats {
            plan.push((*account, region, Some(None)));
        }
        let prod_web: Vec<(String, &'static str)> = self
            .inventory
            .instances
            .iter()
            .filter(|i| i.state == InstanceState::Running && i.account_id == Account::Prod.id())
            .filter_map(|i| REGIONS.iter().find(|r| **r == i.region).map(|r| (i.id.clone(), *r)))
            .take(2)
            .collect();
        for (instance_id, region) in prod_web {
            plan.push((Account::Prod, region, Some(Some(instance_id))));
        }
        plan.push((Account::Prod, "us-east-1", None));
        plan.push((Account::Staging, "eu-west-1", None));
        for (n, (account, region, association)) in plan.into_iter().enumerate() {
            let id = self.aws_id("eipalloc");
            let hourly =
                self.catalog.public_ipv4_hourly(region).map_err(|e| SampleError::NoPrice {
                    what: format!("public IPv4 address in {region}"),
                    reason: e.to_string(),
                })?;
            let public_ip = if n % 2 == 0 {
                format!("198.51.100.{}", 10 + n * 7)
            } else {
                format!("203.0.113.{}", 20 + n * 5)
            };
            let tags = match (&association, account) {
                (None, Account::Staging) => Tags::new(),
                (None, _) => make_tags(&mut self.rng, TagStyle::Full, account, "web"),
                _ => make_tags(&mut self.rng, TagStyle::Full, account, "platform"),
            };
            self.bill(
                &id,
                &public_ip,
                VPC,
                "Elastic IP",
                account,
                region,
                &tags,
                Charge::Hourly(hourly),
                month_start() - Duration::days(400),
                collected_at(),
                false,
            );
            let (association_id, instance_id) = match association {
                Some(instance) => (Some(self.aws_id("eipassoc")), instance),
                None => (None, None),
            };
            if association_id.is_some() {
                self.near("eip-unassociated", &id, "associated");
                ids.eip_associated.push(id.clone());
            } else {
                ids.eip_unassociated.push(id.clone());
            }
            self.inventory.addresses.push(ElasticIp {
                allocation_id: id,
                public_ip,
                account_id: account.id().to_string(),
                region: region.to_string(),
                association_id,
                instance_id,
                tags,
            });
        }
        Ok(())
    }

    fn snapshots(&mut self, ids: &mut ScenarioIds) -> Result<()> {
        // (old?, orphaned?, start time)
        let plan = [
            (true, false, at(2025, 12, 1, 3, 0, 12)),
            (true, false, at(2026, 2, 14, 3, 0, 40)),
            (true, false, at(2026, 5, 2, 3, 1, 5)),
            (true, false, at(2026, 6, 30, 22, 15, 0)),
            (true, false, at(2026, 7, 28, 3, 0, 9)),
            (true, true, at(2025, 9, 9, 12, 0, 0)),
            (true, true, at(2026, 1, 23, 16, 42, 31)),
            (true, true, at(2026, 4, 4, 4, 4, 4)),
            (false, true, at(2026, 9, 30, 9, 30, 0)),
            (false, true, at(2026, 10, 11, 3, 0, 0)),
            // 87 days before collection: not old yet.
            (false, false, at(2026, 8, 6, 3, 0, 30)),
            (false, false, at(2026, 9, 6, 3, 0, 1)),
            (false, false, at(2026, 9, 13, 3, 0, 2)),
            (false, false, at(2026, 9, 20, 3, 0, 3)),
            (false, false, at(2026, 9, 27, 3, 0, 4)),
            (false, false, at(2026, 10, 4, 3, 0, 5)),
            (false, false, at(2026, 10, 11, 3, 0, 6)),
            (false, false, at(2026, 10, 18, 3, 0, 7)),
            (false, false, at(2026, 10, 25, 3, 0, 8)),
            (false, false, at(2026, 10, 29, 15, 12, 40)),
        ];
        let sources: Vec<(String, String, &'static str, u64, Tags)> = self
            .inventory
            .volumes
            .iter()
            .filter(|v| v.state == VolumeState::InUse)
            .filter_map(|v| {
                let region = REGIONS.iter().find(|r| **r == v.region)?;
                Some((v.id.clone(), v.account_id.clone(), *region, v.size_gib, v.tags.clone()))
            })
            .collect();
        for (n, (old, orphaned, start)) in plan.into_iter().enumerate() {
            let id = self.aws_id("snap");
            let (volume_id, account_id, region, size, tags) = if orphaned {
                // The source volume was deleted since.
                let deleted = format!("vol-0{}", self.rng.hex(16));
                let account = self.random_account();
                let region = self.random_region();
                let size = self.rng.pick(&[50u64, 100, 200, 500]);
                let team = self.random_team();
                let tags = if n % 2 == 0 {
                    make_tags(&mut self.rng, TagStyle::NoCostCenter, account, team)
                } else {
                    Tags::new()
                };
                (deleted, account.id().to_string(), region, size, tags)
            } else {
                let pick = (n * 7 + self.rng.below(5) as usize) % sources.len().max(1);
                match sources.get(pick) {
                    Some((v, a, r, s, t)) => (v.clone(), a.clone(), *r, *s, t.clone()),
                    None => continue,
                }
            };
            let account =
                if account_id == Account::Prod.id() { Account::Prod } else { Account::Staging };
            let gb_month =
                self.catalog.snapshot_gb_month(region).map_err(|e| SampleError::NoPrice {
                    what: format!("EBS snapshot storage in {region}"),
                    reason: e.to_string(),
                })?;
            let description = match n % 4 {
                0 => format!(
                    "Created by CreateImage({}) for ami-0{}",
                    "i-0".to_string() + &self.rng.hex(16),
                    self.rng.hex(16)
                ),
                1 => format!("weekly backup of {volume_id}"),
                2 => "pre-upgrade snapshot".to_string(),
                _ => String::new(),
            };
            let name = tags.get("Name").cloned().unwrap_or_default();
            self.bill(
                &id,
                &name,
                EC2,
                "Snapshot",
                account,
                region,
                &tags,
                Charge::Monthly(gb_month.times(size as i64)),
                start,
                collected_at(),
                false,
            );
            match (old, orphaned) {
                (true, true) => {
                    ids.snapshot_old.push(id.clone());
                    ids.snapshot_orphaned.push(id.clone());
                }
                (true, false) => {
                    self.near("snapshot-orphaned", &id, "its volume exists");
                    ids.snapshot_old.push(id.clone());
                }
                (false, true) => {
                    self.near("snapshot-old", &id, "recent");
                    ids.snapshot_orphaned.push(id.clone());
                }
                (false, false) => {
                    let why = if n == 10 { "87 days old (< 90)" } else { "recent" };
                    self.near("snapshot-old", &id, why);
                    self.near("snapshot-orphaned", &id, "its volume exists");
                }
            }
            self.inventory.snapshots.push(EbsSnapshot {
                id,
                account_id,
                region: region.to_string(),
                volume_id: Some(volume_id),
                size_gib: size,
                start_time: Some(start),
                description: if description.is_empty() { None } else { Some(description) },
                tags,
            });
        }
        Ok(())
    }

    // --- Kubernetes -------------------------------------------------------------------------

    fn cluster(&mut self, ids: &mut ScenarioIds) -> Result<Cluster> {
        let workloads = cluster_workloads();
        let shapes = [
            ("m5.xlarge", "us-east-1a", "general"),
            ("m5.xlarge", "us-east-1b", "general"),
            ("m5.xlarge", "us-east-1c", "general"),
            ("m5.xlarge", "us-east-1a", "general"),
            ("r5.xlarge", "us-east-1b", "memory"),
            // Tainted for nightly batch work that has since moved elsewhere: only DaemonSets
            // run there now (k8s-node-underutilized, k8s-cluster-overprovisioned).
            ("m5.xlarge", "us-east-1a", "batch"),
            ("m5.xlarge", "us-east-1c", "batch"),
            // A one-node group whose nightly jobs moved away: it cannot shrink by itself, its
            // DaemonSet-only node can be drained (k8s-node-underutilized).
            ("m5.xlarge", "us-east-1b", "nightly"),
        ];
        let mut nodes: Vec<Node> = shapes
            .iter()
            .enumerate()
            .map(|(n, (itype, zone, group))| {
                let (capacity_mem, allocatable_mem) = if itype.starts_with("r5") {
                    (33_164_898_304, 31_976_349_696)
                } else {
                    (16_197_296_128, 15_135_088_640)
                };
                let mut labels = Tags::new();
                for (k, v) in [
                    ("eks.amazonaws.com/nodegroup", format!("{group}-{}", &itype[..2])),
                    ("kubernetes.io/arch", "amd64".to_string()),
                    ("kubernetes.io/os", "linux".to_string()),
                    ("node.kubernetes.io/instance-type", itype.to_string()),
                    ("topology.kubernetes.io/region", "us-east-1".to_string()),
                    ("topology.kubernetes.io/zone", zone.to_string()),
                ] {
                    labels.insert(k.to_string(), v);
                }
                Node {
                    name: format!("ip-10-20-{}-{}.ec2.internal", 32 + n * 16, 11 + n * 23),
                    provider_id: None,
                    instance_type: Some(itype.to_string()),
                    region: Some("us-east-1".to_string()),
                    labels,
                    allocatable: Resources { cpu_millicores: 3920, memory_bytes: allocatable_mem },
                    capacity: Resources { cpu_millicores: 4000, memory_bytes: capacity_mem },
                    requested: Resources::default(),
                    usage: Some(Resources { cpu_millicores: 140, memory_bytes: 690 * MIB }),
                }
            })
            .collect();
        // Schedule pods: one per node for DaemonSets, otherwise the node with most free CPU.
        // DaemonSet pods first, as the scheduler guarantees them a place on every node; then the
        // largest pods first, so the packing leaves every node within its allocatable.
        let mut order: Vec<&Workload> = workloads.iter().collect();
        order.sort_by_key(|w| {
            (w.kind != "DaemonSet", std::cmp::Reverse(pod_total(w, |c| c.requests).memory_bytes))
        });
        for w in order {
            let req = pod_total(w, |c| c.requests);
            let used = pod_total(w, |c| c.usage.unwrap_or_default());
            let replicas = if w.kind == "DaemonSet" { nodes.len() } else { w.replicas as usize };
            for replica in 0..replicas {
                let target = if w.kind == "DaemonSet" {
                    replica % nodes.len()
                } else {
                    let fits = |n: &Node| {
                        !is_batch(n)
                            && n.allocatable
                                .cpu_millicores
                                .saturating_sub(n.requested.cpu_millicores)
                                >= req.cpu_millicores
                            && n.allocatable.memory_bytes.saturating_sub(n.requested.memory_bytes)
                                >= req.memory_bytes
                    };
                    // Least allocated: the larger the scarcer of free CPU and free memory.
                    let free = |n: &Node| {
                        let share = |free: u64, total: u64| free * 1000 / total.max(1);
                        let cpu = share(
                            n.allocatable.cpu_millicores.saturating_sub(n.requested.cpu_millicores),
                            n.allocatable.cpu_millicores,
                        );
                        let mem = share(
                            n.allocatable.memory_bytes.saturating_sub(n.requested.memory_bytes),
                            n.allocatable.memory_bytes,
                        );
                        cpu.min(mem)
                    };
                    let mut best = 0;
                    for (i, n) in nodes.iter().enumerate() {
                        let better = match nodes.get(best) {
                            Some(b) => (fits(n), free(n)) > (fits(b), free(b)),
                            None => true,
                        };
                        if better {
                            best = i;
                        }
                    }
                    best
                };
                if let Some(node) = nodes.get_mut(target) {
                    node.requested.cpu_millicores += req.cpu_millicores;
                    node.requested.memory_bytes += req.memory_bytes;
                    if let Some(u) = node.usage.as_mut() {
                        u.cpu_millicores += used.cpu_millicores;
                        u.memory_bytes += used.memory_bytes;
                    }
                }
            }
        }
        let mut workloads = workloads;
        for w in workloads.iter_mut().filter(|w| w.kind == "DaemonSet") {
            w.replicas = nodes.len() as u32;
        }
        // The batch nodes' instances are made last (`batch_node_instances`), so adding them
        // left every other random value of the sample as it was.
        let batch_from = nodes.iter().position(is_batch).unwrap_or(nodes.len());
        self.node_instances(&mut nodes[..batch_from], 0, ids)?;
        Ok(Cluster { name: CLUSTER_NAME.to_string(), nodes, workloads, ..Default::default() })
    }

    /// Gives the batch node group (see `cluster`) its instance ids. They run in the data
    /// account, whose bill and inventory are not in the sample, so the cluster analysis prices
    /// them from the catalog (and the evidence says so) while the rest of the cluster is priced
    /// from billing.
    fn batch_node_instances(&mut self, cluster: &mut Cluster) {
        for node in cluster.nodes.iter_mut().filter(|n| is_batch(n)) {
            let zone = node.labels.get("topology.kubernetes.io/zone").cloned().unwrap_or_default();
            node.provider_id = Some(format!("aws:///{zone}/{}", self.aws_id("i")));
        }
    }

    /// The nodes are EC2 instances of the prod account, billed and monitored like any other.
    fn node_instances(
        &mut self,
        nodes: &mut [Node],
        first: usize,
        ids: &mut ScenarioIds,
    ) -> Result<()> {
        for (n, node) in nodes.iter_mut().enumerate() {
            let n = first + n;
            let itype = node.instance_type.clone().unwrap_or_default();
            let zone = node.labels.get("topology.kubernetes.io/zone").cloned().unwrap_or_default();
            let group = node.labels.get("eks.amazonaws.com/nodegroup").cloned().unwrap_or_default();
            let usage = node.usage.unwrap_or_default();
            let avg = (usage.cpu_millicores * 10_000 / node.capacity.cpu_millicores.max(1)) as u32;
            let p95 = (avg * 17 / 10).max(4150 + n as u32 * 130);
            let max = (p95 + 2200).min(10_000);
            let mut tags = make_tags(&mut self.rng, TagStyle::Full, Account::Prod, "platform");
            for (k, v) in [
                ("Name", format!("{CLUSTER_NAME}-{group}")),
                ("eks:cluster-name", CLUSTER_NAME.to_string()),
                ("eks:nodegroup-name", group.clone()),
                (&format!("kubernetes.io/cluster/{CLUSTER_NAME}"), "owned".to_string()),
            ] {
                tags.insert(k.to_string(), v);
            }
            let launch = month_start() - Duration::days(19) + Duration::minutes(n as i64 * 3);
            let id = self.add_instance(InstanceSpec {
                account: Account::Prod,
                region: "us-east-1",
                instance_type: itype.clone(),
                name: format!("{CLUSTER_NAME}-{group}"),
                launch,
                stopped_at: None,
                util: Some(util(avg, p95, max, 9_000 * MB, 7_500 * MB)),
                root: vol("gp3", 80),
                data: vec![],
                tags,
                tag_volumes: true,
                savings_plan: true,
            })?;
            node.provider_id = Some(format!("aws:///{zone}/{id}"));
            self.near("ec2-rightsize", &id, "EKS node, CPU p95 ≥ 40 %");
            ids.cluster_nodes.push(id.clone());
            ids.savings_plan.push(id);
        }
        Ok(())
    }

    // --- Services that exist only in billing -------------------------------------------------

    fn other_services(&mut self) {
        for spec in OTHER_SERVICES {
            // (name, account) pairs taken, so prod and staging copies share a name.
            let mut taken: BTreeSet<(&str, Account)> = BTreeSet::new();
            for n in 0..spec.count {
                let base = spec.names.get(n % spec.names.len().max(1)).copied().unwrap_or("res");
                let mut account = self.random_account();
                if taken.contains(&(base, account)) {
                    account = match account {
                        Account::Prod => Account::Staging,
                        Account::Staging => Account::Prod,
                    };
                }
                let copy = if taken.insert((base, account)) {
                    String::new()
                } else {
                    format!("-{}", n / spec.names.len().max(1) + 1)
                };
                let region = if spec.global { "" } else { self.random_region() };
                let arn_region = if region.is_empty() { "us-east-1" } else { region };
                let env = account.env();
                let name = format!("{base}-{env}{copy}");
                let acct = account.id();
                let (id, name) = match spec.kind {
                    IdKind::Arn(service, sep) => {
                        (format!("arn:aws:{service}:{arn_region}:{acct}:{sep}{name}"), name)
                    }
                    IdKind::Sqs => (format!("arn:aws:sqs:{arn_region}:{acct}:{name}"), name),
                    IdKind::Distribution => {
                        let dist = format!("E{}", self.rng.upper_alnum(13));
                        (format!("arn:aws:cloudfront::{acct}:distribution/{dist}"), name)
                    }
                    IdKind::HostedZone => {
                        let zone = format!("Z0{}", self.rng.upper_alnum(18));
                        (
                            format!("arn:aws:route53:::hostedzone/{zone}"),
                            format!("{base}.example.com"),
                        )
                    }
                    IdKind::Key => {
                        let uuid = format!(
                            "{}-{}-{}-{}-{}",
                            self.rng.hex(8),
                            self.rng.hex(4),
                            self.rng.hex(4),
                            self.rng.hex(4),
                            self.rng.hex(12)
                        );
                        (
                            format!("arn:aws:kms:{arn_region}:{acct}:key/{uuid}"),
                            format!("alias/{name}"),
                        )
                    }
                    IdKind::Secret => {
                        let suffix = self.rng.letters(6);
                        let secret = format!("{env}/{base}{copy}");
                        (
                            format!(
                                "arn:aws:secretsmanager:{arn_region}:{acct}:secret:{secret}-{suffix}"
                            ),
                            secret,
                        )
                    }
                };
                let id = self.unique(id);
                let team = self.random_team();
                let style = random_style(&mut self.rng);
                let tags = make_tags(&mut self.rng, style, account, team);
                let charge = match spec.cost {
                    Cost::Hourly(m) => Charge::Hourly(micros(m)),
                    Cost::Monthly(m) => Charge::Monthly(micros(m)),
                    Cost::Usage { min, max, spread, weekday_dip } => {
                        // Skewed towards the low end: a few resources carry most of the cost.
                        let u = self.rng.below(1_000_000) as i64;
                        let skew = u * u / 1_000_000 * u / 1_000_000;
                        let base = min + (max - min) * skew / 1_000_000;
                        Charge::Usage {
                            base_daily: micros(base),
                            spread_per_mille: spread,
                            weekday_dip,
                        }
                    }
                };
                // A few resources were created or deleted during the month.
                let lifecycle = self.rng.below(100);
                let (from, until) = if lifecycle < 6 {
                    let day = self.rng.range_i64(3, 27);
                    (
                        month_start()
                            + Duration::days(day)
                            + Duration::hours(self.rng.range_i64(0, 23)),
                        collected_at(),
                    )
                } else if lifecycle < 10 {
                    let day = self.rng.range_i64(5, 28);
                    (
                        month_start() - Duration::days(200),
                        month_start()
                            + Duration::days(day)
                            + Duration::hours(self.rng.range_i64(0, 23)),
                    )
                } else {
                    (month_start() - Duration::days(self.rng.range_i64(30, 900)), collected_at())
                };
                let private_pricing = spec.service == CLOUDFRONT;
                let savings_plan = spec.service == LAMBDA && account == Account::Prod;
                self.items.push(BilledItem {
                    id,
                    name,
                    service: spec.service,
                    resource_type: spec.resource_type,
                    account,
                    region,
                    tags,
                    charge,
                    from,
                    until,
                    savings_plan,
                    private_pricing,
                });
            }
        }
    }

    // --- Rows -------------------------------------------------------------------------------

    fn rows(&mut self) -> Result<Vec<FocusRow>> {
        let mut items = std::mem::take(&mut self.items);
        // Real exports are not sorted by resource.
        self.rng.shuffle(&mut items);
        let mut october = Vec::with_capacity(items.len() * DAYS_IN_MONTH as usize + 64);
        let (mut usage_by, sp_used) =
            usage_rows(&items, month_start(), DAYS_IN_MONTH, 1000, &mut self.rng, &mut october)?;
        // The planted events draw nothing from the stream, so every other October row is the
        // same as in the one-month sample.
        for row in planted::october_rows(&items) {
            if row.charge_category == "Usage" {
                let entry = usage_by
                    .entry((row.account, row.service.name))
                    .or_insert((row.service, Money::ZERO));
                entry.1 += row.billed_cost;
            }
            october.push(row);
        }
        let hourly = commitments::hourly_commitment(&sp_used);
        october.extend(commitments::savings_plan_rows_at(hourly, &sp_used, month_start()));
        october.extend(commitments::reservation_rows(month_start(), collected_at()));
        october.extend(monthly_rows(&usage_by, month_start(), collected_at(), &mut self.rng));
        // September draws from its own stream (a fork of the state, which it does not advance),
        // so adding it changed no October figure and no snapshot value.
        let mut rng = SplitMix64::new(mix64(self.rng.0 ^ SEPTEMBER_SALT));
        let (from, until) = (september_start(), month_start());
        let days = (until - from).num_days();
        let mut rows = Vec::with_capacity(october.len() * 2);
        let (usage_by, sp_used) =
            usage_rows(&items, from, days, SEPTEMBER_USAGE_PER_MILLE, &mut rng, &mut rows)?;
        // The same plan, bought before September: its hourly commitment does not change.
        rows.extend(commitments::savings_plan_rows_at(hourly, &sp_used, from));
        rows.extend(commitments::reservation_usage_rows(from, until));
        rows.extend(monthly_rows(&usage_by, from, until, &mut rng));
        rows.append(&mut october);
        Ok(rows)
    }
}

/// Billed usage per (account, service), for support and tax.
type UsageBy = BTreeMap<(Account, &'static str), (Service, Money)>;

/// The daily usage rows of `days` days from `first` (and the daily staging credit), appended to
/// `rows`; returns the usage per account and service and the savings plan's use per day.
/// `usage_per_mille` scales usage-based charges (hourly and monthly prices do not change).
fn usage_rows(
    items: &[BilledItem],
    first: DateTime<Utc>,
    days: i64,
    usage_per_mille: i64,
    rng: &mut SplitMix64,
    rows: &mut Vec<FocusRow>,
) -> Result<(UsageBy, Vec<Money>)> {
    let mut usage_by = UsageBy::new();
    let mut sp_used = vec![Money::ZERO; days.max(0) as usize];
    for day in 0..days {
        let start = first + Duration::days(day);
        let end = start + Duration::days(1);
        for item in items {
            let seconds = overlap_seconds(item.from, item.until, start, end);
            if seconds == 0 {
                continue;
            }
            let charge = match item.charge {
                Charge::Usage { base_daily, spread_per_mille, weekday_dip } => Charge::Usage {
                    base_daily: base_daily.mul_ratio(i128::from(usage_per_mille), 1000),
                    spread_per_mille,
                    weekday_dip,
                },
                other => other,
            };
            let on_demand = charge_for(charge, seconds, start.weekday(), rng);
            let list = if item.private_pricing {
                round10(on_demand.mul_ratio(100, 85))
            } else {
                on_demand
            };
            // Usage the savings plan covers bills nothing itself (the plan's recurring fee
            // does); its EffectiveCost is the plan's rate, 72 % of on demand.
            let (billed, effective, pricing, commitment) = if item.savings_plan {
                let rate = round10(on_demand.mul_ratio(72, 100));
                if let Some(used) = sp_used.get_mut(day as usize) {
                    *used += rate;
                }
                (Money::ZERO, rate, "Committed", Some((&commitments::SAVINGS_PLAN, "Used")))
            } else {
                (on_demand, on_demand, "Standard", None)
            };
            let entry = usage_by
                .entry((item.account, item.service.name))
                .or_insert((item.service, Money::ZERO));
            entry.1 += billed;
            rows.push(FocusRow {
                billed_cost: billed,
                effective_cost: effective,
                list_cost: list,
                account: item.account,
                service: item.service,
                region: item.region,
                resource_id: item.id.clone(),
                resource_name: item.name.clone(),
                resource_type: item.resource_type,
                charge_category: "Usage",
                start,
                end,
                tags: tags_cell(rng, &item.tags)?,
                charge_frequency: "Usage-Based",
                pricing_category: pricing,
                commitment,
            });
        }
        // Promotional credits on staging compute, applied daily.
        let credit = -micros(rng.range_i64(18_000_000, 26_000_000));
        rows.push(charge_row(rng, Account::Staging, EC2, "Credit", credit, start, end));
    }
    Ok((usage_by, sp_used))
}

/// A month's charges without a resource, over `[start, end)`: support, tax, one-off credits.
fn monthly_rows(
    usage_by: &UsageBy,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    rng: &mut SplitMix64,
) -> Vec<FocusRow> {
    let mut rows = Vec::new();
    for account in [Account::Prod, Account::Staging] {
        let total: Money =
            usage_by.iter().filter(|((a, _), _)| *a == account).map(|(_, (_, m))| *m).sum();
        rows.push(charge_row(
            rng,
            account,
            SUPPORT,
            "Purchase",
            business_support(total),
            start,
            end,
        ));
        for service in [EC2, S3, RDS, CLOUDFRONT] {
            if let Some((_, used)) = usage_by.get(&(account, service.name)) {
                // A fictional 6.25 % sales tax.
                let tax = round10(used.mul_ratio(625, 10_000));
                rows.push(charge_row(rng, account, service, "Tax", tax, start, end));
            }
        }
    }
    rows.push(charge_row(rng, Account::Prod, RDS, "Credit", -micros(150_000_000), start, end));
    rows.push(charge_row(
        rng,
        Account::Prod,
        CLOUDFRONT,
        "Credit",
        -micros(42_500_000),
        start,
        end,
    ));
    rows.push(charge_row(rng, Account::Staging, LAMBDA, "Credit", -micros(12_340_000), start, end));
    rows
}

fn charge_row(
    rng: &mut SplitMix64,
    account: Account,
    service: Service,
    category: &'static str,
    amount: Money,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> FocusRow {
    let tags = if rng.chance(500) { String::new() } else { "NULL".to_string() };
    FocusRow {
        billed_cost: amount,
        effective_cost: amount,
        list_cost: if amount.is_negative() { Money::ZERO } else { amount },
        account,
        service,
        region: "",
        resource_id: String::new(),
        resource_name: String::new(),
        resource_type: "",
        charge_category: category,
        start,
        end,
        tags,
        charge_frequency: if category == "Purchase" { "Recurring" } else { "One-Time" },
        pricing_category: "Standard",
        commitment: None,
    }
}

/// AWS Business support: 10 % of the first $10K, 7 % to $80K, 5 % to $250K, 3 % above; $100 min.
fn business_support(usage: Money) -> Money {
    let tiers: [(i64, i128); 4] =
        [(10_000, 10), (80_000, 7), (250_000, 5), (i64::MAX / 1_000_000_000, 3)];
    let mut fee = Money::ZERO;
    let mut lower = Money::ZERO;
    for (upper, pct) in tiers {
        let upper = Money::from_units(upper);
        if usage <= lower {
            break;
        }
        let slice = if usage < upper { usage - lower } else { upper - lower };
        fee += slice.mul_ratio(pct, 100);
        lower = upper;
    }
    round10(fee.max(Money::from_units(100)))
}

/// Whether a node is in a tainted batch group (`batch`, `nightly`), where only DaemonSets are
/// scheduled.
fn is_batch(n: &Node) -> bool {
    n.labels
        .get("eks.amazonaws.com/nodegroup")
        .is_some_and(|g| g.starts_with("batch") || g.starts_with("nightly"))
}

fn pod_total(w: &Workload, f: impl Fn(&ContainerResources) -> Resources) -> Resources {
    w.containers.iter().map(f).fold(Resources::default(), |a, b| Resources {
        cpu_millicores: a.cpu_millicores + b.cpu_millicores,
        memory_bytes: a.memory_bytes + b.memory_bytes,
    })
}

fn container(
    name: &str,
    req: (u64, u64),
    limit: Option<(u64, u64)>,
    usage: (u64, u64),
) -> ContainerResources {
    let r = |(cpu, mem): (u64, u64)| Resources { cpu_millicores: cpu, memory_bytes: mem };
    ContainerResources {
        name: name.to_string(),
        requests: r(req),
        limits: limit.map(r),
        usage: Some(r(usage)),
        usage_source: None,
    }
}

/// The workloads of `acme-prod-eks`: requests above usage by various margins.
fn cluster_workloads() -> Vec<Workload> {
    let w = |ns: &str, kind: &str, name: &str, replicas: u32, containers| Workload {
        namespace: ns.to_string(),
        kind: kind.to_string(),
        name: name.to_string(),
        replicas,
        containers,
        network: None,
    };
    vec![
        w(
            "web",
            "Deployment",
            "storefront",
            6,
            vec![
                container("app", (500, GIB), Some((1000, GIB)), (180, 620 * MIB)),
                container("envoy", (100, 128 * MIB), Some((200, 256 * MIB)), (35, 90 * MIB)),
            ],
        ),
        // Heavily over-requested: 750m asked, 120m used.
        w(
            "web",
            "Deployment",
            "checkout-api",
            4,
            vec![container("api", (750, 2 * GIB), Some((1500, 2 * GIB)), (120, 700 * MIB))],
        ),
        // Well sized.
        w(
            "web",
            "Deployment",
            "search-frontend",
            3,
            vec![container("app", (250, 512 * MIB), Some((500, 512 * MIB)), (210, 450 * MIB))],
        ),
        w(
            "data",
            "StatefulSet",
            "redis-cache",
            3,
            vec![container("redis", (500, 4 * GIB), Some((1000, 4 * GIB)), (90, 2_800 * MIB))],
        ),
        w(
            "data",
            "StatefulSet",
            "kafka",
            3,
            vec![container("broker", (750, 6 * GIB), Some((2000, 6 * GIB)), (620, 5_200 * MIB))],
        ),
        // Heavily over-requested: a worker that waits for work most of the day.
        w(
            "jobs",
            "Deployment",
            "report-worker",
            2,
            vec![container("worker", (1000, 4 * GIB), None, (60, 300 * MIB))],
        ),
        w(
            "monitoring",
            "StatefulSet",
            "prometheus",
            1,
            vec![container(
                "prometheus",
                (1000, 8 * GIB),
                Some((2000, 10 * GIB)),
                (450, 5_600 * MIB),
            )],
        ),
        w(
            "kube-system",
            "Deployment",
            "coredns",
            2,
            vec![container("coredns", (100, 70 * MIB), None, (4, 22 * MIB))],
        ),
        w(
            "kube-system",
            "DaemonSet",
            "aws-node",
            5,
            vec![container("aws-node", (25, 0), None, (5, 40 * MIB))],
        ),
        w(
            "kube-system",
            "DaemonSet",
            "kube-proxy",
            5,
            vec![container("kube-proxy", (100, 0), None, (3, 25 * MIB))],
        ),
        w(
            "monitoring",
            "DaemonSet",
            "node-exporter",
            5,
            vec![container(
                "node-exporter",
                (100, 128 * MIB),
                Some((250, 180 * MIB)),
                (8, 30 * MIB),
            )],
        ),
    ]
}

/// Ids of the resources built for each scenario, for tests and the README.
#[derive(Clone, Debug, Default)]
pub struct ScenarioIds {
    pub idle: Vec<String>,
    pub rightsize: Vec<String>,
    pub previous_generation: Vec<String>,
    pub insufficient_data: Vec<String>,
    pub busy: Vec<String>,
    pub stopped_long: Vec<String>,
    pub stopped_recently: Vec<String>,
    /// Stopped before the billed month, so they have no charge of their own in it.
    pub stopped_before_month: Vec<String>,
    pub unattached: Vec<String>,
    pub unattached_recent: Vec<String>,
    pub eip_associated: Vec<String>,
    pub eip_unassociated: Vec<String>,
    pub snapshot_old: Vec<String>,
    pub snapshot_orphaned: Vec<String>,
    pub nat_idle: Vec<String>,
    pub nat_busy: Vec<String>,
    pub cluster_nodes: Vec<String>,
    pub savings_plan: Vec<String>,
    pub fleet: Vec<String>,
}

#[derive(Clone, Copy)]
enum Cost {
    Hourly(i64),
    Monthly(i64),
    /// Base daily cost drawn in `min..max` micro-dollars, ± `spread` per mille per day.
    Usage {
        min: i64,
        max: i64,
        spread: i64,
        weekday_dip: bool,
    },
}

#[derive(Clone, Copy)]
enum IdKind {
    /// `arn:aws:{service}:{region}:{account}:{separator}{name}`.
    Arn(&'static str, &'static str),
    Sqs,
    Distribution,
    HostedZone,
    Key,
    Secret,
}

struct OtherService {
    service: Service,
    resource_type: &'static str,
    count: usize,
    global: bool,
    kind: IdKind,
    cost: Cost,
    names: &'static [&'static str],
}

const fn usage(min: i64, max: i64, spread: i64, weekday_dip: bool) -> Cost {
    Cost::Usage { min, max, spread, weekday_dip }
}

// RDS, DynamoDB, ElastiCache and OpenSearch are in the inventory: see `databases`; Lambda and
// S3 too: see `serverless_storage`.
const OTHER_SERVICES: [OtherService; 8] = [
    OtherService {
        service: CLOUDFRONT,
        resource_type: "Distribution",
        count: 4,
        global: true,
        kind: IdKind::Distribution,
        cost: usage(3_000_000, 45_000_000, 250, true),
        names: &["www", "assets", "docs", "api"],
    },
    OtherService {
        service: EKS,
        resource_type: "Cluster",
        count: 2,
        global: false,
        kind: IdKind::Arn("eks", "cluster/"),
        cost: Cost::Hourly(100_000),
        names: &["acme"],
    },
    OtherService {
        service: SQS,
        resource_type: "Queue",
        count: 12,
        global: false,
        kind: IdKind::Sqs,
        cost: usage(5_000, 1_500_000, 300, true),
        names: &["orders-events", "emails", "webhooks", "reindex", "exports", "dead-letter"],
    },
    OtherService {
        service: KMS,
        resource_type: "Key",
        count: 10,
        global: false,
        kind: IdKind::Key,
        cost: Cost::Monthly(1_000_000),
        names: &["rds", "s3", "ebs", "secrets", "sqs"],
    },
    OtherService {
        service: ROUTE53,
        resource_type: "Hosted Zone",
        count: 4,
        global: true,
        kind: IdKind::HostedZone,
        cost: usage(20_000, 600_000, 200, false),
        names: &["acme", "acme-internal", "acme-shop", "acme-status"],
    },
    OtherService {
        service: SECRETS,
        resource_type: "Secret",
        count: 16,
        global: false,
        kind: IdKind::Secret,
        cost: Cost::Monthly(400_000),
        names: &[
            "db-password",
            "stripe-key",
            "sendgrid-key",
            "github-token",
            "jwt-signing-key",
            "slack-webhook",
            "datadog-api-key",
            "oauth-client",
        ],
    },
    OtherService {
        service: SNS,
        resource_type: "Topic",
        count: 6,
        global: false,
        kind: IdKind::Arn("sns", ""),
        cost: usage(1_000, 400_000, 400, true),
        names: &["alerts", "deployments", "billing-alarms"],
    },
    OtherService {
        service: ECR,
        resource_type: "Repository",
        count: 8,
        global: false,
        kind: IdKind::Arn("ecr", "repository/"),
        cost: usage(10_000, 2_500_000, 50, false),
        names: &["storefront", "checkout-api", "report-worker", "base-images"],
    },
];

// ---------------------------------------------------------------------------------------------
// Expectations: what each default rule is meant to say about each resource

fn evaluate(
    snapshot: &Snapshot,
    catalog: &PriceCatalog,
    near: &BTreeMap<(&'static str, String), String>,
) -> Vec<Expectation> {
    let now = snapshot.collected_at;
    let mut out = Vec::new();
    let mut out_extra = Vec::new();
    let mut push = |rule: &'static str, id: &str, rtype: &'static str, fires: bool, why: String| {
        let why = near.get(&(rule, id.to_string())).cloned().filter(|_| !fires).unwrap_or(why);
        if fires || near.contains_key(&(rule, id.to_string())) {
            out.push(Expectation {
                rule_id: rule,
                resource_id: id.to_string(),
                resource_type: rtype,
                fires,
                why,
            });
        }
    };
    let utils: BTreeMap<&str, &UtilizationSummary> =
        snapshot.utilization.iter().map(|u| (u.resource_id.as_str(), u)).collect();
    for i in &snapshot.inventory.instances {
        let running = i.state == InstanceState::Running;
        let u = utils.get(i.id.as_str());
        let enough = u.is_some_and(|u| u.days_covered >= LOOKBACK_DAYS);
        let p95 = u.and_then(|u| u.cpu_p95_percent).unwrap_or(100.0);
        let net = u
            .map(|u| {
                u.network_in_bytes_per_day.unwrap_or(f64::MAX)
                    + u.network_out_bytes_per_day.unwrap_or(f64::MAX)
            })
            .unwrap_or(f64::MAX);
        let idle = running && enough && p95 <= 5.0 && net <= 5.0 * MB as f64;
        push(
            "ec2-idle",
            &i.id,
            "Instance",
            idle,
            format!("CPU p95 {p95} %, network {:.1} MB/day over 14 days", net / MB as f64),
        );
        let smaller = catalog.next_smaller(&i.region, &i.instance_type);
        let cheaper = |target: &Option<String>| {
            let now = catalog.instance_hourly(&i.region, &i.instance_type).ok();
            let then = target.as_deref().and_then(|t| catalog.instance_hourly(&i.region, t).ok());
            matches!((now, then), (Some(a), Some(b)) if b < a)
        };
        let rightsize = running && enough && !idle && p95 < 40.0 && cheaper(&smaller);
        push(
            "ec2-rightsize",
            &i.id,
            "Instance",
            rightsize,
            format!(
                "{} → {}: CPU p95 {p95} % < 40 % over 14 days",
                i.instance_type,
                smaller.as_deref().unwrap_or("?")
            ),
        );
        // ec2-graviton: a running Linux instance whose same size on Graviton costs less.
        let arm = catalog.graviton(&i.region, &i.instance_type);
        let linux = i.platform.as_deref().is_none_or(|p| p == "linux");
        push(
            "ec2-graviton",
            &i.id,
            "Instance",
            running && linux && cheaper(&arm),
            format!("{} → {} on arm64", i.instance_type, arm.as_deref().unwrap_or("?")),
        );
        let successor = catalog.successor(&i.region, &i.instance_type);
        push(
            "ec2-previous-generation",
            &i.id,
            "Instance",
            running && cheaper(&successor),
            format!("{} → {}", i.instance_type, successor.as_deref().unwrap_or("?")),
        );
        // ec2-offhours: tagged non-production, not idle all along (ec2-idle's), 40 or more
        // hours a week under 5 % CPU.
        let env = i.tags.get("env").map(|e| e.to_lowercase()).unwrap_or_default();
        let non_production = compute::NON_PRODUCTION.contains(&env.as_str());
        let idle_hours = u.and_then(|u| u.idle_hours_per_week);
        push(
            "ec2-offhours",
            &i.id,
            "Instance",
            running && enough && !idle && non_production && idle_hours.is_some_and(|h| h >= 40.0),
            format!(
                "env={env}, {} idle hours a week under 5 % CPU",
                idle_hours.map_or("unmeasured".to_string(), |h| h.to_string())
            ),
        );
        let stopped_days = match (i.state, i.state_transition_time) {
            (InstanceState::Stopped, Some(t)) => (now - t).num_days(),
            _ => 0,
        };
        push(
            "ec2-stopped-long",
            &i.id,
            "Instance",
            stopped_days > 30,
            format!(
                "stopped {stopped_days} days ({})",
                i.state_transition_reason.clone().unwrap_or_default()
            ),
        );
    }
    let volume_ids: BTreeSet<&str> =
        snapshot.inventory.volumes.iter().map(|v| v.id.as_str()).collect();
    for v in &snapshot.inventory.volumes {
        let age = v.create_time.map(|t| (now - t).num_days()).unwrap_or(0);
        push(
            "ebs-unattached",
            &v.id,
            "Volume",
            v.state == VolumeState::Available && age > 7,
            format!("available, created {age} days ago"),
        );
        if v.volume_type == "gp2" {
            // The rule's gp3 equivalent: the gp2 baseline IOPS (at least 3,000) and 125 MiB/s up
            // to 170 GiB, 250 MiB/s above; it fires only when that is cheaper.
            let iops = (v.size_gib * 3).clamp(3000, 16_000);
            let throughput = if v.size_gib <= 170 { 125 } else { 250 };
            let gp2 = catalog.volume_monthly(&v.region, "gp2", v.size_gib, None, None).ok();
            let gp3 = catalog
                .volume_monthly(&v.region, "gp3", v.size_gib, Some(iops), Some(throughput))
                .ok();
            let cheaper = matches!((gp2, gp3), (Some(a), Some(b)) if b < a);
            let why = format!(
                "gp2 {} GiB ({}): {} vs gp3 {} per month",
                v.size_gib,
                v.state.as_str(),
                gp2.map(|m| m.round_dp(2).to_string()).unwrap_or_default(),
                gp3.map(|m| m.round_dp(2).to_string()).unwrap_or_default()
            );
            push("ebs-gp2-to-gp3", &v.id, "Volume", cheaper, why.clone());
            if !cheaper {
                out_extra.push(Expectation {
                    rule_id: "ebs-gp2-to-gp3",
                    resource_id: v.id.clone(),
                    resource_type: "Volume",
                    fires: false,
                    why: format!("{why}: gp3 at 250 MiB/s is not cheaper"),
                });
            }
        }
    }
    for a in &snapshot.inventory.addresses {
        push(
            "eip-unassociated",
            &a.allocation_id,
            "Elastic IP",
            !a.is_associated(),
            format!("{} has no association", a.public_ip),
        );
    }
    // A registered AMI's snapshots are left to ami-unused: EC2 refuses to delete them first.
    let image_snapshots: BTreeMap<&str, &str> = snapshot
        .inventory
        .images
        .iter()
        .flat_map(|i| i.snapshots.iter().map(move |s| (s.snapshot_id.as_str(), i.id.as_str())))
        .collect();
    for s in &snapshot.inventory.snapshots {
        let age = s.start_time.map(|t| (now - t).num_days()).unwrap_or(0);
        let held = image_snapshots.get(s.id.as_str());
        let held_why = |why: String| match held {
            Some(image) => format!("{why}, but {image} holds it (ami-unused's)"),
            None => why,
        };
        push(
            "snapshot-old",
            &s.id,
            "Snapshot",
            age > 90 && held.is_none(),
            held_why(format!("{age} days old")),
        );
        let orphaned = s.volume_id.as_deref().is_some_and(|v| !volume_ids.contains(v));
        push(
            "snapshot-orphaned",
            &s.id,
            "Snapshot",
            orphaned && held.is_none(),
            held_why(format!(
                "source volume {} no longer exists",
                s.volume_id.clone().unwrap_or_default()
            )),
        );
    }
    for n in &snapshot.inventory.nat_gateways {
        let u = utils.get(n.id.as_str());
        let enough = u.is_some_and(|u| u.days_covered >= LOOKBACK_DAYS);
        let bytes = u.and_then(|u| u.bytes_processed).unwrap_or(f64::MAX);
        push(
            "nat-gateway-idle",
            &n.id,
            "NAT Gateway",
            enough && bytes < GB as f64,
            format!("{:.2} GB processed in 14 days", bytes / GB as f64),
        );
    }
    // untagged: every inventory resource, firing or not.
    let inv = &snapshot.inventory;
    let tagged = inv
        .instances
        .iter()
        .map(|i| (i.id.as_str(), "Instance", &i.tags))
        .chain(inv.volumes.iter().map(|v| (v.id.as_str(), "Volume", &v.tags)))
        .chain(inv.addresses.iter().map(|a| (a.allocation_id.as_str(), "Elastic IP", &a.tags)))
        .chain(inv.snapshots.iter().map(|s| (s.id.as_str(), "Snapshot", &s.tags)))
        .chain(inv.nat_gateways.iter().map(|n| (n.id.as_str(), "NAT Gateway", &n.tags)))
        .chain(inv.db_instances.iter().map(|d| (d.id.as_str(), "DB Instance", &d.tags)))
        .chain(inv.db_clusters.iter().map(|d| (d.id.as_str(), "DB Cluster", &d.tags)))
        .chain(inv.db_snapshots.iter().map(|d| (d.id.as_str(), "DB Snapshot", &d.tags)))
        .chain(inv.cache_clusters.iter().map(|c| (c.id.as_str(), "Cache Cluster", &c.tags)))
        .chain(inv.search_domains.iter().map(|d| (d.id.as_str(), "Domain", &d.tags)))
        .chain(inv.redshift_clusters.iter().map(|c| (c.id.as_str(), "Cluster", &c.tags)))
        .chain(inv.dynamodb_tables.iter().map(|t| (t.id.as_str(), "Table", &t.tags)))
        .chain(inv.images.iter().map(|i| (i.id.as_str(), "Image", &i.tags)));
    let mut untagged = Vec::new();
    for (id, rtype, tags) in tagged {
        let missing = missing_required(tags);
        let why = if missing.is_empty() {
            "team, env and cost-center present".to_string()
        } else {
            let variants: Vec<&str> = tags
                .keys()
                .map(String::as_str)
                .filter(|k| {
                    let t = k.trim().to_ascii_lowercase();
                    !REQUIRED_TAGS.contains(k)
                        && (REQUIRED_TAGS.contains(&t.as_str()) || t == "environment")
                })
                .collect();
            if variants.is_empty() {
                format!("missing {}", missing.join(", "))
            } else {
                format!("missing {} (has variant {})", missing.join(", "), variants.join(", "))
            }
        };
        untagged.push(Expectation {
            rule_id: "untagged",
            resource_id: id.to_string(),
            resource_type: rtype,
            fires: !missing.is_empty(),
            why,
        });
    }
    out.extend(out_extra);
    out.extend(untagged);
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------
// Public entry points

impl Sample {
    /// Builds the bundled sample from `seed` and the built-in price catalog.
    pub fn generate(seed: u64) -> Result<Sample> {
        let catalog = PriceCatalog::builtin()?;
        Sample::generate_with(seed, &catalog)
    }

    /// Builds the sample against a given catalog.
    pub fn generate_with(seed: u64, catalog: &PriceCatalog) -> Result<Sample> {
        let mut g = Gen::new(seed, catalog);
        let mut ids = g.instances()?;
        let mut cluster = g.cluster(&mut ids)?;
        g.unattached_volumes(&mut ids)?;
        let nats = g.nat_gateways(&mut ids)?;
        g.elastic_ips(&nats, &mut ids)?;
        g.snapshots(&mut ids)?;
        g.other_services();
        g.databases()?;
        g.compute()?;
        g.network_and_logs()?;
        g.serverless_and_storage()?;
        let rows = g.rows()?;
        g.batch_node_instances(&mut cluster);
        g.cluster_volumes_and_load_balancers(&mut cluster);
        g.cluster_network(&mut cluster);
        let mut snapshot = Snapshot::empty(collected_at());
        snapshot.schema_version = SCHEMA_VERSION;
        snapshot.inventory = std::mem::take(&mut g.inventory);
        snapshot.utilization = std::mem::take(&mut g.utilization);
        snapshot.clusters = vec![cluster];
        snapshot.normalize();
        let mut expectations = evaluate(&snapshot, catalog, &g.near_misses);
        expectations.append(&mut g.expected);
        expectations.extend(commitments::expectations(&rows));
        expectations.extend(commitments::reservation_expectations(&rows, collected_at()));
        expectations.sort();
        Ok(Sample { rows, snapshot, expectations, scenarios: ids })
    }

    /// Writes the billing rows as a plain FOCUS CSV.
    pub fn write_focus_csv<W: Write>(&self, out: W) -> Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(FOCUS_COLUMNS)?;
        for r in &self.rows {
            let start = focus_time(r.start);
            let end = focus_time(r.end);
            w.write_record([
                r.billed_cost.to_string().as_str(),
                &r.effective_cost.to_string(),
                &r.list_cost.to_string(),
                CURRENCY,
                PAYER_ACCOUNT_ID,
                PAYER_ACCOUNT_NAME,
                r.account.id(),
                r.account.name(),
                PROVIDER,
                r.service.name,
                r.service.category,
                r.region,
                &r.resource_id,
                &r.resource_name,
                r.resource_type,
                r.charge_category,
                &start,
                &end,
                &r.tags,
                r.charge_frequency,
                r.pricing_category,
                r.commitment.map_or("", |(c, _)| c.id),
                r.commitment.map_or("", |(c, _)| c.name),
                r.commitment.map_or("", |(c, _)| c.category),
                r.commitment.map_or("", |(c, _)| c.kind),
                r.commitment.map_or("", |(_, status)| status),
            ])?;
        }
        w.flush()?;
        Ok(())
    }

    /// Writes the billing rows as a gzip-compressed FOCUS CSV (no file name or time in the header).
    pub fn write_focus_csv_gz<W: Write>(&self, out: W) -> Result<()> {
        let mut gz = GzEncoder::new(out, Compression::best());
        self.write_focus_csv(&mut gz)?;
        gz.finish()?;
        Ok(())
    }

    /// Writes the snapshot as pretty JSON with a final newline.
    pub fn write_snapshot_json<W: Write>(&self, mut out: W) -> Result<()> {
        serde_json::to_writer_pretty(&mut out, &self.snapshot)?;
        out.write_all(b"\n")?;
        Ok(())
    }

    /// Writes `rule_id,resource_id,resource_type,fires,why`, one row per expectation.
    pub fn write_expectations_csv<W: Write>(&self, out: W) -> Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(["rule_id", "resource_id", "resource_type", "fires", "why"])?;
        for e in &self.expectations {
            w.write_record([
                e.rule_id,
                &e.resource_id,
                e.resource_type,
                if e.fires { "true" } else { "false" },
                &e.why,
            ])?;
        }
        w.flush()?;
        Ok(())
    }

    /// Distinct resource ids in the billing rows.
    pub fn billed_resource_count(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| !r.resource_id.is_empty())
            .map(|r| r.resource_id.as_str())
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// Distinct service names in the billing rows.
    pub fn service_count(&self) -> usize {
        self.rows.iter().map(|r| r.service.name).collect::<BTreeSet<_>>().len()
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).map_err(|source| SampleError::Io { path: path.to_path_buf(), source })
}

/// Writes the bundled sample (`focus-2026-09-10.csv.gz`, `snapshot.json`, `expected-findings.csv`,
/// `costscope.toml`)
/// into `out_dir`, creating it if needed; returns the paths written.
pub fn write_sample(out_dir: &Path, seed: u64) -> Result<(Sample, Vec<PathBuf>)> {
    fs::create_dir_all(out_dir)
        .map_err(|source| SampleError::Io { path: out_dir.to_path_buf(), source })?;
    let sample = Sample::generate(seed)?;
    let mut written = Vec::new();
    let mut buf = Vec::new();
    sample.write_focus_csv_gz(&mut buf)?;
    let path = out_dir.join(FOCUS_FILE);
    write_file(&path, &buf)?;
    written.push(path);
    buf.clear();
    sample.write_snapshot_json(&mut buf)?;
    let path = out_dir.join(SNAPSHOT_FILE);
    write_file(&path, &buf)?;
    written.push(path);
    buf.clear();
    sample.write_expectations_csv(&mut buf)?;
    let path = out_dir.join(EXPECTATIONS_FILE);
    write_file(&path, &buf)?;
    written.push(path);
    let path = out_dir.join(planted::CONFIG_FILE);
    write_file(&path, planted::CONFIG_TOML.as_bytes())?;
    written.push(path);
    Ok((sample, written))
}

// ---------------------------------------------------------------------------------------------
// Streaming generator for benchmarks

/// (service, resource type, id kind) of the synthetic resources of a scaled file.
const SCALED_KINDS: [(Service, &str, ScaledId); 14] = [
    (EC2, "Instance", ScaledId::Aws("i")),
    (EC2, "Instance", ScaledId::Aws("i")),
    (EC2, "Volume", ScaledId::Aws("vol")),
    (EC2, "Volume", ScaledId::Aws("vol")),
    (EC2, "Snapshot", ScaledId::Aws("snap")),
    (VPC, "NAT Gateway", ScaledId::Aws("nat")),
    (VPC, "Elastic IP", ScaledId::Aws("eipalloc")),
    (S3, "Bucket", ScaledId::Arn("s3", "bucket")),
    (LAMBDA, "Function", ScaledId::Arn("lambda", "function:")),
    (RDS, "DB Instance", ScaledId::Arn("rds", "db:")),
    (DYNAMODB, "Table", ScaledId::Arn("dynamodb", "table/")),
    (CLOUDWATCH, "Log Group", ScaledId::Arn("logs", "log-group:/aws/app/")),
    (SQS, "Queue", ScaledId::Arn("sqs", "")),
    (ELB, "Load Balancer", ScaledId::Arn("elasticloadbalancing", "loadbalancer/app/")),
];

#[derive(Clone, Copy)]
enum ScaledId {
    Aws(&'static str),
    Arn(&'static str, &'static str),
}

/// Writes `rows` FOCUS rows (plus the header) of synthetic billing, streaming: about
/// `rows / 31` resources, each billed once per day of October 2026, in day order. A resource's
/// attributes are a pure function of `(seed, index)`, so nothing is held in memory.
/// Returns the number of data rows written.
pub fn write_scaled_focus_csv<W: Write>(out: W, rows: u64, seed: u64) -> Result<u64> {
    let mut w = csv::WriterBuilder::new().buffer_capacity(1 << 16).from_writer(out);
    w.write_record(FOCUS_COLUMNS)?;
    let resources = rows.div_ceil(DAYS_IN_MONTH as u64).max(1);
    let days: Vec<(String, String, Weekday)> = (0..DAYS_IN_MONTH)
        .map(|d| {
            let start = month_start() + Duration::days(d);
            (focus_time(start), focus_time(start + Duration::days(1)), start.weekday())
        })
        .collect();
    // A fixed palette of tag cells, as inconsistent as the bundled sample's.
    let mut palette_rng = SplitMix64::new(seed ^ 0x7A65_u64);
    let mut palette = Vec::new();
    for n in 0..48 {
        let account = if n % 3 == 2 { Account::Staging } else { Account::Prod };
        let team = TEAMS[n % TEAMS.len()];
        let style = random_style(&mut palette_rng);
        let tags = make_tags(&mut palette_rng, style, account, team);
        palette.push((account, tags_cell(&mut palette_rng, &tags)?));
    }
    let mut id = String::with_capacity(96);
    let mut written = 0u64;
    'days: for (day, (start, end, weekday)) in days.iter().enumerate() {
        for r in 0..resources {
            if written == rows {
                break 'days;
            }
            let h = mix64(seed ^ mix64(r.wrapping_add(1)));
            let (service, rtype, kind) = SCALED_KINDS[(h % SCALED_KINDS.len() as u64) as usize];
            let (account, tags) = &palette[((h >> 8) % palette.len() as u64) as usize];
            let region = REGIONS[((h >> 16) % 3) as usize];
            id.clear();
            // ResourceName is the tail of the id (none for EC2-style ids).
            let name_len = match kind {
                ScaledId::Aws(prefix) => {
                    id.push_str(prefix);
                    id.push_str("-0");
                    push_hex(&mut id, mix64(h), 16);
                    0
                }
                ScaledId::Arn("s3", _) => {
                    id.push_str("arn:aws:s3:::acme-bucket-");
                    push_hex(&mut id, r, 8);
                    "acme-bucket-".len() + 8
                }
                ScaledId::Arn(svc, sep) => {
                    id.push_str("arn:aws:");
                    id.push_str(svc);
                    id.push(':');
                    id.push_str(region);
                    id.push(':');
                    id.push_str(account.id());
                    id.push(':');
                    id.push_str(sep);
                    id.push_str("res-");
                    push_hex(&mut id, r, 8);
                    "res-".len() + 8
                }
            };
            // Base daily cost 0.0001–50 USD, skewed low; ±20 % per day; weekend dip.
            let u = (h >> 24) % 1_000_000;
            let base = 100 + (50_000_000 - 100) * (u * u / 1_000_000 * u / 1_000_000) / 1_000_000;
            let day_noise = mix64(h ^ mix64(day as u64 + 1));
            let charge = Charge::Usage {
                base_daily: micros(base as i64),
                spread_per_mille: 200,
                weekday_dip: true,
            };
            let mut day_rng = SplitMix64::new(day_noise);
            let mut billed = charge_for(charge, SECONDS_PER_DAY, *weekday, &mut day_rng);
            let mut category = "Usage";
            let credit = (h >> 40).is_multiple_of(100);
            if credit {
                billed = -billed;
                category = "Credit";
            }
            let effective = if (h >> 48).is_multiple_of(10) {
                round10(billed.mul_ratio(72, 100))
            } else {
                billed
            };
            let list = if credit { Money::ZERO } else { billed };
            let resource_id = if credit { "" } else { id.as_str() };
            let (name, rtype) = if credit { ("", "") } else { (&id[id.len() - name_len..], rtype) };
            w.write_record([
                billed.to_string().as_str(),
                &effective.to_string(),
                &list.to_string(),
                CURRENCY,
                PAYER_ACCOUNT_ID,
                PAYER_ACCOUNT_NAME,
                account.id(),
                account.name(),
                PROVIDER,
                service.name,
                service.category,
                region,
                resource_id,
                name,
                rtype,
                category,
                start,
                end,
                tags,
                if credit { "One-Time" } else { "Usage-Based" },
                "Standard",
                "",
                "",
                "",
                "",
                "",
            ])?;
            written += 1;
        }
    }
    w.flush()?;
    Ok(written)
}

fn push_hex(out: &mut String, value: u64, digits: u32) {
    for shift in (0..digits).rev() {
        out.push(HEX[((value >> (shift * 4)) & 0xF) as usize] as char);
    }
}

/// Writes `focus-scaled-{rows}.csv` (or `.csv.gz`) into `out_dir`; returns its path.
pub fn write_scaled(out_dir: &Path, rows: u64, seed: u64, gzip: bool) -> Result<PathBuf> {
    fs::create_dir_all(out_dir)
        .map_err(|source| SampleError::Io { path: out_dir.to_path_buf(), source })?;
    let name = format!("focus-scaled-{rows}.csv{}", if gzip { ".gz" } else { "" });
    let path = out_dir.join(name);
    let file =
        fs::File::create(&path).map_err(|source| SampleError::Io { path: path.clone(), source })?;
    let file = io::BufWriter::with_capacity(1 << 20, file);
    if gzip {
        // Fast compression: the benchmark files are large and only read once.
        let mut gz = GzEncoder::new(file, Compression::fast());
        write_scaled_focus_csv(&mut gz, rows, seed)?;
        gz.finish()?.flush()?;
    } else {
        let mut file = file;
        write_scaled_focus_csv(&mut file, rows, seed)?;
        file.flush()?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::Read;

    use super::*;
    use crate::model::Grain;
    use crate::source::focus::{FocusOptions, read_focus_reader};

    fn sample() -> Sample {
        Sample::generate(DEFAULT_SEED).unwrap()
    }

    fn bytes(sample: &Sample) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let mut csv = Vec::new();
        sample.write_focus_csv_gz(&mut csv).unwrap();
        let mut json = Vec::new();
        sample.write_snapshot_json(&mut json).unwrap();
        let mut expectations = Vec::new();
        sample.write_expectations_csv(&mut expectations).unwrap();
        (csv, json, expectations)
    }

    fn plain_csv(sample: &Sample) -> String {
        let mut out = Vec::new();
        sample.write_focus_csv(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn same_seed_gives_identical_bytes() {
        let a = bytes(&sample());
        let b = bytes(&sample());
        assert!(a == b, "two runs with the same seed differ");
        let other = bytes(&Sample::generate(7).unwrap());
        assert_ne!(a.0, other.0);
        let mut scaled_a = Vec::new();
        let mut scaled_b = Vec::new();
        write_scaled_focus_csv(&mut scaled_a, 5_000, 42).unwrap();
        write_scaled_focus_csv(&mut scaled_b, 5_000, 42).unwrap();
        assert!(scaled_a == scaled_b);
    }

    #[test]
    fn gzip_output_is_the_plain_csv() {
        let s = sample();
        let (gz, _, _) = bytes(&s);
        let mut text = String::new();
        flate2::read::GzDecoder::new(gz.as_slice()).read_to_string(&mut text).unwrap();
        assert_eq!(text, plain_csv(&s));
        assert!(text.starts_with(&FOCUS_COLUMNS.join(",")));
    }

    #[test]
    fn snapshot_deserializes_back() {
        let s = sample();
        let (_, json, _) = bytes(&s);
        let back: Snapshot = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, s.snapshot);
        assert_eq!(back.schema_version, SCHEMA_VERSION);
        assert_eq!(back.collected_at, collected_at());
        assert!(back.billing.is_none());
        let mut normalized = back.clone();
        normalized.normalize();
        assert_eq!(normalized, back, "written after normalize()");
    }

    #[test]
    fn scaled_file_has_exactly_the_rows_asked_for() {
        for rows in [0u64, 1, 30, 31, 32, 1_000, 4_321] {
            let mut out = Vec::new();
            assert_eq!(write_scaled_focus_csv(&mut out, rows, DEFAULT_SEED).unwrap(), rows);
            let mut reader = csv::Reader::from_reader(out.as_slice());
            let header: Vec<String> =
                reader.headers().unwrap().iter().map(str::to_string).collect();
            assert_eq!(header, FOCUS_COLUMNS);
            let records: Vec<csv::StringRecord> =
                reader.records().collect::<std::result::Result<_, _>>().unwrap();
            assert_eq!(records.len() as u64, rows);
            for r in &records {
                assert_eq!(r.len(), FOCUS_COLUMNS.len());
                Money::parse(&r[0]).unwrap();
            }
        }
        // About rows / 31 resources, each on up to 31 days.
        let mut out = Vec::new();
        write_scaled_focus_csv(&mut out, 31_000, 1).unwrap();
        let mut reader = csv::Reader::from_reader(out.as_slice());
        let ids: BTreeSet<String> = reader
            .records()
            .map(|r| r.unwrap()[12].to_string())
            .filter(|s| !s.is_empty())
            .collect();
        assert!((900..=1000).contains(&ids.len()), "{} resources", ids.len());
    }

    #[test]
    fn every_inventory_resource_is_billed_at_its_catalog_price() {
        let s = sample();
        let catalog = PriceCatalog::builtin().unwrap();
        let mut by_id: BTreeMap<&str, Vec<&FocusRow>> = BTreeMap::new();
        for r in &s.rows {
            by_id.entry(r.resource_id.as_str()).or_default().push(r);
        }
        // Every day a resource exists all day costs `daily`; the days it was created, stopped
        // or deleted cost less.
        // Usage the savings plan covers bills nothing; its EffectiveCost is 72 % of on demand.
        let assert_daily = |id: &str, daily: Money| {
            let rows = &by_id[id];
            let covered = rows.iter().any(|r| r.pricing_category == "Committed");
            let daily = if covered { round10(daily.mul_ratio(72, 100)) } else { daily };
            let costs: BTreeSet<Money> = rows
                .iter()
                .map(|r| if covered { r.effective_cost } else { r.billed_cost })
                .collect();
            assert!(costs.contains(&daily), "{id}: {daily} not in {costs:?}");
            assert!(costs.iter().all(|c| *c <= daily), "{id}: {costs:?} above {daily}");
        };
        let check = |id: &str, account: &str, region: &str| {
            let rows = by_id.get(id).unwrap_or_else(|| panic!("{id} is not billed"));
            for r in rows {
                assert_eq!(r.account.id(), account, "{id}");
                assert_eq!(r.region, region, "{id}");
            }
        };
        let inv = &s.snapshot.inventory;
        for i in &inv.instances {
            let stopped_before = i.state_transition_time.is_some_and(|t| t <= month_start());
            if stopped_before {
                assert!(!by_id.contains_key(i.id.as_str()), "{} stopped before October", i.id);
                continue;
            }
            check(&i.id, &i.account_id, &i.region);
            let hourly = catalog.instance_hourly(&i.region, &i.instance_type).unwrap();
            assert_daily(&i.id, hourly.times(24));
        }
        for v in &inv.volumes {
            check(&v.id, &v.account_id, &v.region);
            let monthly = catalog
                .volume_monthly(&v.region, &v.volume_type, v.size_gib, v.iops, v.throughput)
                .unwrap();
            let daily = monthly.mul_ratio(24, HOURS_PER_MONTH as i128).round_dp(10);
            assert_daily(&v.id, daily);
        }
        for a in &inv.addresses {
            check(&a.allocation_id, &a.account_id, &a.region);
            let hourly = catalog.public_ipv4_hourly(&a.region).unwrap();
            assert_daily(&a.allocation_id, hourly.times(24));
        }
        for snap in &inv.snapshots {
            check(&snap.id, &snap.account_id, &snap.region);
            let monthly =
                catalog.snapshot_gb_month(&snap.region).unwrap().times(snap.size_gib as i64);
            let daily = monthly.mul_ratio(24, HOURS_PER_MONTH as i128).round_dp(10);
            assert_daily(&snap.id, daily);
        }
        for n in &inv.nat_gateways {
            check(&n.id, &n.account_id, &n.region);
            let hourly = catalog.nat_gateway_hourly(&n.region).unwrap();
            assert_daily(&n.id, hourly.times(24));
        }
        // A running instance launched before September is billed on all 61 days.
        let running = inv.instances.iter().find(|i| i.state == InstanceState::Running).unwrap();
        if running.launch_time.is_some_and(|t| t < september_start()) {
            assert_eq!(by_id[running.id.as_str()].len(), 30 + 31);
        }
    }

    #[test]
    fn the_data_set_has_the_promised_shape() {
        let s = sample();
        assert!(s.billed_resource_count() >= 300, "{}", s.billed_resource_count());
        assert!(s.service_count() >= 15, "{}", s.service_count());
        let inv = &s.snapshot.inventory;
        assert!((40..=80).contains(&inv.instances.len()), "{}", inv.instances.len());
        assert!((60..=120).contains(&inv.volumes.len()), "{}", inv.volumes.len());
        assert_eq!(inv.addresses.len(), 8);
        // 20 of volumes, 6 held by the AMIs.
        assert_eq!(inv.snapshots.len(), 26);
        assert_eq!((inv.images.len(), inv.launch_templates.len()), (5, 1));
        assert_eq!(inv.nat_gateways.len(), 4);
        for i in &inv.instances {
            assert!(i.id.len() == 19 && i.id.starts_with("i-0"), "{}", i.id);
        }
        for r in &s.rows {
            assert!(r.list_cost >= r.billed_cost);
            assert_eq!(r.billed_cost, r.billed_cost.round_dp(10));
        }
        assert!(
            s.rows.iter().any(|r| r.charge_category == "Credit" && r.billed_cost.is_negative())
        );
        assert!(s.rows.iter().any(|r| r.charge_category == "Tax"));
        assert!(s.rows.iter().any(|r| r.service == SUPPORT && r.resource_id.is_empty()));
        assert!(
            s.rows.iter().any(|r| r.effective_cost < r.billed_cost && !r.billed_cost.is_negative())
        );
        assert!(s.rows.iter().any(|r| r.list_cost > r.billed_cost && !r.billed_cost.is_negative()));
        let text = plain_csv(&s);
        for needle in
            ["\"Team\"", "\"team \"", "\"Env\"", "\"environment\"", "production", ",NULL,", ",,"]
        {
            assert!(text.contains(needle), "no {needle:?} in the CSV");
        }
        let cluster = &s.snapshot.clusters[0];
        assert_eq!(cluster.name, CLUSTER_NAME);
        assert!((3..=8).contains(&cluster.nodes.len()));
        let ids: BTreeSet<&str> = inv.instances.iter().map(|i| i.id.as_str()).collect();
        for node in &cluster.nodes {
            let pid = node.provider_id.as_deref().unwrap();
            let id = pid.rsplit('/').next().unwrap();
            // The batch group runs in an account the sample has no bill for.
            assert!(pid.starts_with("aws:///us-east-1") && (ids.contains(id) || is_batch(node)));
            assert!(node.requested.cpu_millicores <= node.allocatable.cpu_millicores);
            assert!(node.requested.memory_bytes <= node.allocatable.memory_bytes);
        }
        assert!(cluster.workloads.len() >= 10);
    }

    #[test]
    fn every_rule_fires_and_near_misses_do_not() {
        let s = sample();
        let rules = [
            "ec2-idle",
            "ec2-rightsize",
            "ec2-previous-generation",
            "ec2-stopped-long",
            "ebs-unattached",
            "ebs-gp2-to-gp3",
            "eip-unassociated",
            "snapshot-old",
            "snapshot-orphaned",
            "nat-gateway-idle",
            "untagged",
        ];
        for rule in rules {
            let fires = s.expectations.iter().filter(|e| e.rule_id == rule && e.fires).count();
            let misses = s.expectations.iter().filter(|e| e.rule_id == rule && !e.fires).count();
            assert!(fires > 0, "{rule} never fires");
            assert!(misses > 0, "{rule} has no near miss");
        }
        // The generator's own scenario lists agree with the evaluation.
        let ids = &s.scenarios;
        let fires = |rule: &str, id: &str| {
            s.expectations.iter().any(|e| e.rule_id == rule && e.resource_id == id && e.fires)
        };
        let fire: [(&str, &Vec<String>); 9] = [
            ("ec2-idle", &ids.idle),
            ("ec2-rightsize", &ids.rightsize),
            ("ec2-previous-generation", &ids.previous_generation),
            ("ec2-stopped-long", &ids.stopped_long),
            ("ebs-unattached", &ids.unattached),
            ("eip-unassociated", &ids.eip_unassociated),
            ("snapshot-old", &ids.snapshot_old),
            ("snapshot-orphaned", &ids.snapshot_orphaned),
            ("nat-gateway-idle", &ids.nat_idle),
        ];
        for (rule, list) in fire {
            assert!(!list.is_empty(), "{rule}");
            for id in list {
                assert!(fires(rule, id), "{rule} should fire on {id}");
            }
        }
        let quiet: [(&str, &Vec<String>); 7] = [
            ("ec2-stopped-long", &ids.stopped_recently),
            ("ebs-unattached", &ids.unattached_recent),
            ("eip-unassociated", &ids.eip_associated),
            ("nat-gateway-idle", &ids.nat_busy),
            ("ec2-idle", &ids.insufficient_data),
            ("ec2-rightsize", &ids.insufficient_data),
            ("ec2-rightsize", &ids.busy),
        ];
        for (rule, list) in quiet {
            for id in list {
                assert!(!fires(rule, id), "{rule} should not fire on {id}");
            }
        }
        for id in ids.fleet.iter().chain(&ids.cluster_nodes) {
            for rule in ["ec2-idle", "ec2-rightsize", "ec2-previous-generation"] {
                assert!(!fires(rule, id), "{rule} on fleet {id}");
            }
        }
    }

    #[test]
    fn the_focus_reader_reads_the_sample() {
        let s = sample();
        let (gz, _, _) = bytes(&s);
        let summary = read_focus_reader(
            flate2::read::GzDecoder::new(gz.as_slice()),
            Path::new("sample.csv.gz"),
            FocusOptions { grain: Grain::FULL, skip_invalid: false },
        )
        .unwrap();
        assert_eq!(summary.rows_read, s.rows.len() as u64);
        assert_eq!(summary.skipped.count, 0);
        let total: Money = s.rows.iter().map(|r| r.billed_cost).sum();
        let read: Money = summary.lines.iter().map(|l| l.billed_cost).sum();
        assert_eq!(read, total);
    }
}
