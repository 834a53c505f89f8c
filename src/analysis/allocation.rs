//! Showback and chargeback: every line of the bill goes to one team, to a shared pool that is
//! then split between the teams, or to an explicit `unallocated` line, so the teams' totals plus
//! that line equal the bill exactly.
//!
//! A line's destination, in this order:
//! 1. the first shared pool (`[[allocation.shared]]`) whose filter it matches: support, tax,
//!    shared networking are shared even where someone tagged them;
//! 2. its team tag (`[allocation] key`, spellings merged by `normalize`);
//! 3. the first `[[allocation.rule]]` whose filter it matches (first match wins);
//! 4. `unallocated`: an explicit line (`unallocated = "line"`, the default), or a pool split
//!    proportionally (`unallocated = "pool"`).
//!
//! Pools are split proportionally to the teams' direct cost (negative direct cost counts as
//! zero; when no team has positive direct cost, evenly), evenly between the teams with direct
//! cost, or by fixed percentage weights. A pool with no team to go to stays unallocated.
//! Splits are exact at Money's precision ([`split`]), so there is never a rounding residue.
//! The amount allocated is `BilledCost` (the invoice; `cost = "effective"` takes
//! EffectiveCost, commitment purchases amortized over the usage they cover), per currency;
//! currencies never mix.
//!
//! Kubernetes, when `[allocation.namespaces]` maps namespaces to teams: a billing line of a
//! cluster's node (its resource id is a node's instance id) goes first of all to that cluster's
//! pool, split between the namespaces by their requests (the cluster report's requests priced
//! at the cluster's average core and GiB cost) and from each namespace to its team; a namespace
//! the mapping does not name stays unallocated. What no request holds is idle: by default its
//! own `idle` line (`idle = "line"`, as OpenCost shows `__idle__` apart: idle capacity is the
//! platform's sizing decision, not a tenant's consumption, and spreading it hides it), or
//! spread over the namespaces by their requests (`idle = "spread"`).

pub mod split;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{Datelike, Months, NaiveDate};
use serde::{Serialize, Serializer};

use crate::analysis::budgets::ScopeFilter;
use crate::analysis::tag_coverage::canonical;
use crate::model::{BillingLine, BillingSummary, Currency, Grain, Money};

/// Per-resource lines with tags; without `--period` the lines need no days.
pub const GRAIN: Grain = Grain::FULL;
/// The same, with each line's day, to pick a month and the one before.
pub const DATED_GRAIN: Grain = Grain::DETAILED;

/// One condition of an allocation filter; all of a filter's conditions must hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// `service`, `account`, `region`, `tag:KEY`, as a budget's scope; a `service` value may be
    /// a glob (`AWS Support*`).
    Scope(ScopeFilter),
    /// `resource_id`: a glob (`*` any run of characters, `?` one character).
    ResourceId(String),
    /// `charge_category`, exactly (`Tax`, `Usage`, `Purchase`, `Credit`, `Adjustment`).
    ChargeCategory(String),
}

impl Condition {
    /// The match keys: a budget's scope keys, plus `resource_id` and `charge_category`.
    pub const KEYS: &'static str =
        "service, account, region, resource_id, charge_category or tag:KEY";

    pub fn from_key(key: &str, value: &str) -> Option<Condition> {
        match key {
            "resource_id" => Some(Condition::ResourceId(value.to_string())),
            "charge_category" => Some(Condition::ChargeCategory(value.to_string())),
            _ => ScopeFilter::from_key(key, value).map(Condition::Scope),
        }
    }

    pub fn key(&self) -> String {
        match self {
            Condition::Scope(f) => f.key(),
            Condition::ResourceId(_) => "resource_id".into(),
            Condition::ChargeCategory(_) => "charge_category".into(),
        }
    }

    pub fn value(&self) -> &str {
        match self {
            Condition::Scope(f) => f.value(),
            Condition::ResourceId(v) | Condition::ChargeCategory(v) => v,
        }
    }

    fn matches(&self, summary: &BillingSummary, line: &BillingLine) -> bool {
        match self {
            Condition::Scope(ScopeFilter::Service(v)) => glob(v, &line.service),
            Condition::Scope(ScopeFilter::Region(v)) => line.region == *v,
            Condition::Scope(ScopeFilter::Account(v)) => {
                line.account_id == *v
                    || summary.account_names.get(line.account_id.as_str()).is_some_and(|n| n == v)
            }
            Condition::Scope(ScopeFilter::Tag { key, value }) => {
                summary.tags_of(line).and_then(|t| t.get(key)).is_some_and(|v| v == value)
            }
            Condition::ResourceId(v) => glob(v, &line.resource_id),
            Condition::ChargeCategory(v) => line.charge_category == *v,
        }
    }
}

/// `*` matches any run of characters, `?` one character; everything else itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matching with one backtrack point: linear in practice, never exponential.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Conditions that must all hold; never empty once validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    pub conditions: Vec<Condition>,
}

impl Filter {
    pub fn matches(&self, summary: &BillingSummary, line: &BillingLine) -> bool {
        self.conditions.iter().all(|c| c.matches(summary, line))
    }
}

/// As the config writes it: `charge_category=Tax service=AWS Support*`.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> =
            self.conditions.iter().map(|c| format!("{}={}", c.key(), c.value())).collect();
        f.write_str(&parts.join(" "))
    }
}

impl Serialize for Filter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.conditions.iter().map(|c| (c.key(), c.value())))
    }
}

/// How tag spellings are merged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Normalize {
    /// Keys and values fold as the tag check's normalization issues do
    /// ([`crate::analysis::tag_coverage::canonical`]: case, spaces and separators ignored,
    /// common synonyms met), so `Team`, `team ` and `team` are one key and `Web`, `web` one team.
    /// A team is shown with the spelling that carries the most cost (ties: the first in
    /// alphabetical order); a team only a rule or a weight names, as the config spells it.
    #[default]
    Fold,
    /// Keys and values as written.
    Exact,
}

impl Normalize {
    fn fold(self, text: &str) -> String {
        match self {
            Normalize::Fold => canonical(text),
            Normalize::Exact => text.to_string(),
        }
    }
}

/// What happens to spend no tag and no rule reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unallocated {
    /// An explicit `unallocated` line: nobody is charged for what nobody owns, and the line
    /// says how much tagging work is left.
    #[default]
    Line,
    /// A pool named `unallocated`, split proportionally to the teams' direct cost.
    Pool,
}

/// How a pool is divided between the teams.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SplitMethod {
    Proportional,
    Even,
    /// Team (as configured) → percent; the percents sum to 100.
    Weights(Vec<(String, Money)>),
    /// A cluster's node cost by the namespaces' requests.
    Requests,
}

impl SplitMethod {
    pub fn as_str(&self) -> &'static str {
        match self {
            SplitMethod::Proportional => "proportional",
            SplitMethod::Even => "even",
            SplitMethod::Weights(_) => "weights",
            SplitMethod::Requests => "requests",
        }
    }
}

impl Serialize for SplitMethod {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// `[[allocation.rule]]`: untagged spend matching `filter` belongs to `team`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub filter: Filter,
    pub team: String,
}

/// `[[allocation.shared]]`: spend matching `filter` is pooled, shown, then split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedPool {
    pub name: String,
    pub filter: Filter,
    pub split: SplitMethod,
}

/// `[allocation]` of costscope.toml, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllocationSettings {
    /// The tag key teams are read from, when `--by` does not say.
    pub key: Option<String>,
    pub normalize: Normalize,
    pub rules: Vec<Rule>,
    pub shared: Vec<SharedPool>,
    pub unallocated: Unallocated,
    /// `[allocation.namespaces]`: namespace → team; Kubernetes allocation is on when not empty.
    pub namespaces: BTreeMap<String, String>,
    pub idle: Idle,
    /// `billed` (default: the invoice) or `effective`.
    pub cost: crate::model::ResourceCost,
}

/// Where a cluster's idle cost goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Idle {
    /// Its own `idle` line.
    #[default]
    Line,
    /// Over the namespaces by their requests.
    Spread,
}

/// What a cluster report says about splitting its nodes' cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterShares {
    pub name: String,
    /// The nodes' instance ids: billing lines of these resources are the cluster's cost.
    pub nodes: BTreeSet<String>,
    /// Namespace → its requests priced (monthly); the weights of the split.
    pub namespaces: Vec<(String, Money)>,
    /// The monthly cost no request holds.
    pub idle: Money,
}

/// The split weights of one cluster of the report (requests priced, idle); none of either when
/// no node is priced.
pub fn cluster_shares(cluster: &crate::analysis::cluster::ClusterReport) -> ClusterShares {
    use crate::analysis::units::{idle_monthly, namespace_costs};
    ClusterShares {
        name: cluster.name.clone(),
        nodes: cluster.nodes.iter().filter_map(|n| n.instance_id.clone()).collect(),
        namespaces: namespace_costs(cluster).into_iter().map(|g| (g.name, g.monthly)).collect(),
        idle: idle_monthly(cluster).unwrap_or(Money::ZERO),
    }
}

impl Default for AllocationSettings {
    /// No rules; tax charges and AWS support plans pooled and split proportionally; the
    /// rest of the untagged spend on its own line.
    fn default() -> Self {
        AllocationSettings {
            key: None,
            normalize: Normalize::Fold,
            rules: Vec::new(),
            shared: default_pools(),
            unallocated: Unallocated::Line,
            namespaces: BTreeMap::new(),
            idle: Idle::Line,
            cost: crate::model::ResourceCost::Billed,
        }
    }
}

/// `tax` (ChargeCategory Tax) and `support` (services named `AWS Support…`), proportional.
pub fn default_pools() -> Vec<SharedPool> {
    let pool = |name: &str, condition: Condition| SharedPool {
        name: name.to_string(),
        filter: Filter { conditions: vec![condition] },
        split: SplitMethod::Proportional,
    };
    vec![
        pool("tax", Condition::ChargeCategory("Tax".into())),
        pool("support", Condition::Scope(ScopeFilter::Service("AWS Support*".into()))),
    ]
}

/// The period allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocationPeriod {
    /// The whole data.
    All,
    /// The calendar month of the data's last day, compared with the month before.
    Month,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocationError {
    #[error("--period month needs billing lines with days, and this billing has none")]
    NoDays,
    #[error("the tag key to allocate by is empty")]
    EmptyKey,
}

/// A pool before it is split.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PoolLine {
    pub name: String,
    /// What the pool takes, as the config writes it (`charge_category=Tax`), `untagged, no
    /// rule` for the unallocated pool, `nodes of cluster NAME` for a cluster.
    pub scope: String,
    pub split: SplitMethod,
    pub amount: Money,
    /// The part that had no team to go to (no team with direct cost, weights naming none, a
    /// namespace the mapping does not name), counted in the `unallocated` line.
    pub left_unallocated: Money,
    /// A cluster's split per namespace (before idle).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<NamespaceShare>,
    /// A cluster's idle part with `idle = "line"`, counted in the `idle` line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle: Option<Money>,
}

/// One namespace's part of a cluster's cost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NamespaceShare {
    pub namespace: String,
    /// The team `[allocation.namespaces]` maps it to; none: unallocated.
    pub team: Option<String>,
    pub amount: Money,
}

/// One team's direct cost of one service (`--detail`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceCost {
    pub service: String,
    pub direct_cost: Money,
}

/// One team's share of one pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PoolShare {
    pub pool: String,
    pub amount: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TeamRow {
    pub team: String,
    /// Tagged or ruled spend.
    pub direct_cost: Money,
    /// The sum of `shares`.
    pub shared_cost: Money,
    /// One entry per pool, in pool order (zero where the team got nothing).
    pub shares: Vec<PoolShare>,
    pub total_cost: Money,
    /// `total_cost / bill`, 6 decimals; none when the bill is not positive.
    pub share_of_bill: Option<Money>,
    /// The team's total in the previous period (zero if it had none there); only with a
    /// previous period that has billing.
    pub previous_total_cost: Option<Money>,
    pub change: Option<Money>,
    /// Direct cost per service, largest first; empty unless `--detail`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceCost>,
}

/// The allocation of one currency's bill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CurrencyAllocation {
    pub currency: Currency,
    /// The cost of the period: `Σ teams' total_cost + unallocated + idle`, exactly.
    pub bill: Money,
    pub pools: Vec<PoolLine>,
    /// Largest total first, then name.
    pub teams: Vec<TeamRow>,
    /// Spend no tag, rule or pool reached (zero with `unallocated = "pool"` unless no team
    /// could take it).
    pub unallocated: Money,
    pub previous_unallocated: Option<Money>,
    /// Clusters' idle cost (`idle = "line"`): `Σ teams + unallocated + idle = bill`.
    pub idle: Money,
    pub previous_idle: Option<Money>,
    pub previous_bill: Option<Money>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Allocation {
    /// The tag key as given.
    pub key: String,
    pub normalize: Normalize,
    pub unallocated_mode: Unallocated,
    /// The amount allocated: `billed` or `effective`.
    pub cost: crate::model::ResourceCost,
    /// First and last day allocated (the data's period without `--period`).
    pub period_start: Option<NaiveDate>,
    pub period_end: Option<NaiveDate>,
    pub previous_start: Option<NaiveDate>,
    pub previous_end: Option<NaiveDate>,
    pub currencies: Vec<CurrencyAllocation>,
}

/// One line of the chargeback in the long layout the CSV and the workbook share: pools first
/// (so each split can be audited), then each team with its shares and, with `--detail`, its
/// services, then the unallocated, idle and total lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerRow<'a> {
    /// `pool`, `team`, `share`, `service`, `unallocated`, `idle` or `total`.
    pub kind: &'static str,
    pub team: &'a str,
    pub pool: &'a str,
    pub split: &'static str,
    pub service: &'a str,
    pub currency: &'a Currency,
    pub direct_cost: Option<Money>,
    pub shared_cost: Option<Money>,
    pub total_cost: Option<Money>,
    pub share_of_bill: Option<Money>,
    pub previous_total_cost: Option<Money>,
    pub change: Option<Money>,
}

impl Allocation {
    /// The CSV's columns, in order.
    pub const COLUMNS: [&'static str; 12] = [
        "kind",
        "team",
        "pool",
        "split",
        "service",
        "currency",
        "direct_cost",
        "shared_cost",
        "total_cost",
        "share_of_bill",
        "previous_total_cost",
        "change",
    ];

    /// Every line, in the order the CSV writes them.
    pub fn rows(&self) -> Vec<LedgerRow<'_>> {
        let mut rows = Vec::new();
        for c in &self.currencies {
            let row = |kind: &'static str| LedgerRow {
                kind,
                team: "",
                pool: "",
                split: "",
                service: "",
                currency: &c.currency,
                direct_cost: None,
                shared_cost: None,
                total_cost: None,
                share_of_bill: None,
                previous_total_cost: None,
                change: None,
            };
            for p in &c.pools {
                rows.push(LedgerRow {
                    pool: &p.name,
                    split: p.split.as_str(),
                    shared_cost: Some(p.amount),
                    ..row("pool")
                });
            }
            let split_of = |pool: &str| {
                c.pools.iter().find(|p| p.name == pool).map_or("", |p| p.split.as_str())
            };
            for t in &c.teams {
                rows.push(LedgerRow {
                    team: &t.team,
                    direct_cost: Some(t.direct_cost),
                    shared_cost: Some(t.shared_cost),
                    total_cost: Some(t.total_cost),
                    share_of_bill: t.share_of_bill,
                    previous_total_cost: t.previous_total_cost,
                    change: t.change,
                    ..row("team")
                });
                for s in &t.shares {
                    rows.push(LedgerRow {
                        team: &t.team,
                        pool: &s.pool,
                        split: split_of(&s.pool),
                        shared_cost: Some(s.amount),
                        ..row("share")
                    });
                }
                for s in &t.services {
                    rows.push(LedgerRow {
                        team: &t.team,
                        service: &s.service,
                        direct_cost: Some(s.direct_cost),
                        ..row("service")
                    });
                }
            }
            let change = |now: Money, before: Option<Money>| before.map(|b| now - b);
            rows.push(LedgerRow {
                direct_cost: Some(c.unallocated),
                total_cost: Some(c.unallocated),
                share_of_bill: c.unallocated.share_of(c.bill),
                previous_total_cost: c.previous_unallocated,
                change: change(c.unallocated, c.previous_unallocated),
                ..row("unallocated")
            });
            rows.push(LedgerRow {
                total_cost: Some(c.idle),
                share_of_bill: c.idle.share_of(c.bill),
                previous_total_cost: c.previous_idle,
                change: change(c.idle, c.previous_idle),
                ..row("idle")
            });
            rows.push(LedgerRow {
                total_cost: Some(c.bill),
                share_of_bill: (c.bill.raw() > 0).then_some(Money::from_units(1)),
                previous_total_cost: c.previous_bill,
                change: change(c.bill, c.previous_bill),
                ..row("total")
            });
        }
        rows
    }
}

/// Where one line goes.
enum Target {
    Cluster(usize),
    Pool(usize),
    Team(String),
    Unallocated,
}

/// Sums of one currency in one period, teams by folded name.
#[derive(Default)]
struct Sums {
    bill: Money,
    direct: BTreeMap<String, Money>,
    services: BTreeMap<(String, String), Money>,
    pools: Vec<Money>,
    clusters: Vec<Money>,
    unallocated: Money,
}

/// The split of one currency in one period.
struct Split {
    bill: Money,
    pools: Vec<PoolLine>,
    /// folded team → (direct, shares per pool)
    teams: BTreeMap<String, (Money, Vec<Money>)>,
    unallocated: Money,
    idle: Money,
    services: BTreeMap<(String, String), Money>,
}

struct Allocator<'a> {
    summary: &'a BillingSummary,
    settings: &'a AllocationSettings,
    key: String,
    /// The pools with `unallocated` appended when it is a pool.
    pools: Vec<SharedPool>,
    /// folded team → spelling → cost (the spelling shown is the costliest).
    spellings: BTreeMap<String, BTreeMap<String, Money>>,
    clusters: &'a [ClusterShares],
}

impl Allocator<'_> {
    fn team_of_tags(&self, line: &BillingLine) -> Option<String> {
        let tags = self.summary.tags_of(line)?;
        let value = match self.settings.normalize {
            Normalize::Exact => tags.get(&self.key)?,
            // The key as written first, then any spelling that folds to it.
            Normalize::Fold => {
                tags.get(&self.key).filter(|v| !v.trim().is_empty()).or_else(|| {
                    tags.iter()
                        .find(|(k, v)| canonical(k) == self.key && !v.trim().is_empty())
                        .map(|(_, v)| v)
                })?
            }
        };
        let value = value.trim();
        (!value.is_empty()).then(|| value.to_string())
    }

    fn target(&self, line: &BillingLine) -> Target {
        if !line.resource_id.is_empty()
            && let Some(i) =
                self.clusters.iter().position(|c| c.nodes.contains(line.resource_id.as_str()))
        {
            return Target::Cluster(i);
        }
        if let Some(i) =
            self.settings.shared.iter().position(|p| p.filter.matches(self.summary, line))
        {
            return Target::Pool(i);
        }
        if let Some(team) = self.team_of_tags(line) {
            return Target::Team(team);
        }
        match self.settings.rules.iter().find(|r| r.filter.matches(self.summary, line)) {
            Some(rule) => Target::Team(rule.team.clone()),
            None => Target::Unallocated,
        }
    }

    fn note_spelling(&mut self, team: &str, cost: Money) -> String {
        let folded = self.settings.normalize.fold(team);
        *self.spellings.entry(folded.clone()).or_default().entry(team.to_string()).or_default() +=
            cost;
        folded
    }

    /// Sums per currency of the lines `keep` accepts.
    fn sum(&mut self, keep: impl Fn(&BillingLine) -> bool) -> BTreeMap<Currency, Sums> {
        let mut out: BTreeMap<Currency, Sums> = BTreeMap::new();
        let summary = self.summary;
        for line in summary.lines.iter().filter(|l| keep(l)) {
            let target = self.target(line);
            let sums = out.entry(line.currency.clone()).or_insert_with(|| Sums {
                pools: vec![Money::ZERO; self.pools.len()],
                clusters: vec![Money::ZERO; self.clusters.len()],
                ..Sums::default()
            });
            let cost = self.settings.cost.of(line);
            sums.bill += cost;
            match target {
                Target::Pool(i) => sums.pools[i] += cost,
                Target::Cluster(i) => sums.clusters[i] += cost,
                Target::Unallocated => sums.unallocated += cost,
                Target::Team(team) => {
                    let folded = self.note_spelling(&team, cost);
                    *sums.direct.entry(folded.clone()).or_default() += cost;
                    *sums.services.entry((folded, line.service.to_string())).or_default() += cost;
                }
            }
        }
        out
    }

    fn split(&mut self, mut sums: Sums) -> Split {
        // Teams only weights name are still teams (their share is theirs to pay).
        let mut named = Vec::new();
        for pool in &self.pools {
            if let SplitMethod::Weights(weights) = &pool.split {
                named.extend(weights.iter().map(|(t, _)| t.clone()));
            }
        }
        if !self.clusters.is_empty() {
            named.extend(self.settings.namespaces.values().cloned());
        }
        for team in named {
            let folded = self.note_spelling(&team, Money::ZERO);
            sums.direct.entry(folded).or_default();
        }
        if self.settings.unallocated == Unallocated::Pool {
            if let Some(last) = sums.pools.last_mut() {
                *last += sums.unallocated;
            }
            sums.unallocated = Money::ZERO;
        }
        let teams: Vec<String> = sums.direct.keys().cloned().collect();
        let direct: Vec<i128> = sums.direct.values().map(|m| m.raw()).collect();
        let slots = self.pools.len() + self.clusters.len();
        let mut shares: BTreeMap<String, Vec<Money>> =
            teams.iter().map(|t| (t.clone(), vec![Money::ZERO; slots])).collect();
        let mut pools = Vec::with_capacity(self.pools.len());
        let mut unallocated = sums.unallocated;
        for (i, pool) in self.pools.iter().enumerate() {
            let amount = sums.pools[i];
            let parts: Option<Vec<(String, Money)>> = match &pool.split {
                SplitMethod::Proportional => split::largest_remainder(amount, &direct)
                    .or_else(|| split::even(amount, teams.len()))
                    .map(|p| teams.iter().cloned().zip(p).collect()),
                SplitMethod::Even => {
                    split::even(amount, teams.len()).map(|p| teams.iter().cloned().zip(p).collect())
                }
                // Clusters are split below.
                SplitMethod::Requests => None,
                SplitMethod::Weights(weights) => {
                    let w: Vec<i128> = weights.iter().map(|(_, p)| p.raw()).collect();
                    split::largest_remainder(amount, &w).map(|p| {
                        weights
                            .iter()
                            .map(|(t, _)| self.settings.normalize.fold(t))
                            .zip(p)
                            .collect()
                    })
                }
            };
            let mut left = Money::ZERO;
            match parts {
                Some(parts) => {
                    for (team, part) in parts {
                        match shares.get_mut(&team) {
                            Some(s) => s[i] += part,
                            None => left += part,
                        }
                    }
                }
                None => left = amount,
            }
            unallocated += left;
            let scope = if pool.filter.conditions.is_empty() {
                "untagged, no rule".to_string()
            } else {
                pool.filter.to_string()
            };
            pools.push(PoolLine {
                name: pool.name.clone(),
                scope,
                split: pool.split.clone(),
                amount,
                left_unallocated: left,
                namespaces: Vec::new(),
                idle: None,
            });
        }
        let mut idle_total = Money::ZERO;
        for (j, cluster) in self.clusters.iter().enumerate() {
            let amount = sums.clusters[j];
            let slot = self.pools.len() + j;
            let mut weights: Vec<i128> = cluster.namespaces.iter().map(|(_, m)| m.raw()).collect();
            if self.settings.idle == Idle::Line {
                weights.push(cluster.idle.raw());
            }
            let parts = split::largest_remainder(amount, &weights);
            let mut left = Money::ZERO;
            let mut namespaces = Vec::with_capacity(cluster.namespaces.len());
            let mut idle = (self.settings.idle == Idle::Line).then_some(Money::ZERO);
            match parts {
                None => left = amount,
                Some(parts) => {
                    for (k, part) in parts.into_iter().enumerate() {
                        let Some((namespace, _)) = cluster.namespaces.get(k) else {
                            idle = Some(part);
                            idle_total += part;
                            continue;
                        };
                        let team = self.settings.namespaces.get(namespace);
                        match team.and_then(|t| shares.get_mut(&self.settings.normalize.fold(t))) {
                            Some(s) => s[slot] += part,
                            None => left += part,
                        }
                        namespaces.push(NamespaceShare {
                            namespace: namespace.clone(),
                            team: team.cloned(),
                            amount: part,
                        });
                    }
                }
            }
            unallocated += left;
            pools.push(PoolLine {
                name: format!("kubernetes:{}", cluster.name),
                scope: format!("nodes of cluster {}", cluster.name),
                split: SplitMethod::Requests,
                amount,
                left_unallocated: left,
                namespaces,
                idle,
            });
        }
        let teams = sums
            .direct
            .into_iter()
            .map(|(t, d)| {
                let s = shares.remove(&t).unwrap_or_default();
                (t, (d, s))
            })
            .collect();
        Split {
            bill: sums.bill,
            pools,
            teams,
            unallocated,
            idle: idle_total,
            services: sums.services,
        }
    }

    fn display(&self, folded: &str) -> String {
        self.spellings
            .get(folded)
            .and_then(|s| {
                s.iter().max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0))).map(|(k, _)| k)
            })
            .cloned()
            .unwrap_or_else(|| folded.to_string())
    }
}

/// The month of `day` and the month before.
fn months_around(day: NaiveDate) -> Option<((NaiveDate, NaiveDate), (NaiveDate, NaiveDate))> {
    let start = NaiveDate::from_ymd_opt(day.year(), day.month(), 1)?;
    let end = start.checked_add_months(Months::new(1))?.pred_opt()?;
    let previous_start = start.checked_sub_months(Months::new(1))?;
    Some(((start, end), (previous_start, start.pred_opt()?)))
}

/// Allocates `summary`'s billed cost to the teams of tag `key`.
pub fn allocate(
    summary: &BillingSummary,
    settings: &AllocationSettings,
    key: &str,
    period: AllocationPeriod,
    detail: bool,
    clusters: &[ClusterShares],
) -> Result<Allocation, AllocationError> {
    if key.trim().is_empty() {
        return Err(AllocationError::EmptyKey);
    }
    let mut pools = settings.shared.clone();
    if settings.unallocated == Unallocated::Pool {
        pools.push(SharedPool {
            name: "unallocated".into(),
            filter: Filter { conditions: Vec::new() },
            split: SplitMethod::Proportional,
        });
    }
    let mut allocator = Allocator {
        summary,
        settings,
        key: settings.normalize.fold(key),
        pools,
        spellings: BTreeMap::new(),
        // Clusters take their nodes' lines only when namespaces map to teams.
        clusters: if settings.namespaces.is_empty() { &[] } else { clusters },
    };
    let (current, previous) = match period {
        AllocationPeriod::All => {
            let sums = allocator.sum(|_| true);
            (sums, None)
        }
        AllocationPeriod::Month => {
            let last =
                summary.lines.iter().filter_map(|l| l.day).max().ok_or(AllocationError::NoDays)?;
            let (now, before) = months_around(last).ok_or(AllocationError::NoDays)?;
            let within = |(a, b): (NaiveDate, NaiveDate)| {
                move |l: &BillingLine| l.day.is_some_and(|d| a <= d && d <= b)
            };
            let current = allocator.sum(within(now));
            let previous = allocator.sum(within(before));
            (current, Some((now, before, previous)))
        }
    };
    let (period_start, period_end, previous_range) = match &previous {
        Some((now, before, _)) => (Some(now.0), Some(now.1), Some(*before)),
        None => (summary.first_day, summary.last_day, None),
    };
    let mut previous_splits: BTreeMap<Currency, Split> = BTreeMap::new();
    if let Some((_, _, sums)) = previous {
        for (currency, s) in sums {
            let split = allocator.split(s);
            previous_splits.insert(currency, split);
        }
    }
    let mut currencies = Vec::new();
    for (currency, sums) in current {
        let split = allocator.split(sums);
        let before = previous_splits.get(&currency);
        let mut teams: Vec<TeamRow> = Vec::with_capacity(split.teams.len());
        for (folded, (direct, parts)) in &split.teams {
            let shared_cost: Money = parts.iter().copied().sum();
            let total_cost = *direct + shared_cost;
            let previous_total_cost = before.map(|b| {
                b.teams.get(folded).map_or(Money::ZERO, |(d, p)| *d + p.iter().copied().sum())
            });
            let services = if detail {
                let mut s: Vec<ServiceCost> = split
                    .services
                    .range((folded.clone(), String::new())..)
                    .take_while(|((t, _), _)| t == folded)
                    .map(|((_, service), cost)| ServiceCost {
                        service: service.clone(),
                        direct_cost: *cost,
                    })
                    .collect();
                s.sort_by(|a, b| {
                    b.direct_cost.cmp(&a.direct_cost).then_with(|| a.service.cmp(&b.service))
                });
                s
            } else {
                Vec::new()
            };
            teams.push(TeamRow {
                team: allocator.display(folded),
                direct_cost: *direct,
                shared_cost,
                shares: split
                    .pools
                    .iter()
                    .zip(parts)
                    .map(|(p, a)| PoolShare { pool: p.name.clone(), amount: *a })
                    .collect(),
                total_cost,
                share_of_bill: total_cost.share_of(split.bill),
                previous_total_cost,
                change: previous_total_cost.map(|p| total_cost - p),
                services,
            });
        }
        teams.sort_by(|a, b| b.total_cost.cmp(&a.total_cost).then_with(|| a.team.cmp(&b.team)));
        let allocated: Money = teams.iter().map(|t| t.total_cost).sum();
        // The invariant every method keeps; tests check it against independent sums.
        debug_assert_eq!(
            allocated + split.unallocated + split.idle,
            split.bill,
            "allocation lost money"
        );
        currencies.push(CurrencyAllocation {
            currency,
            bill: split.bill,
            pools: split.pools,
            teams,
            unallocated: split.unallocated,
            previous_unallocated: before.map(|b| b.unallocated),
            idle: split.idle,
            previous_idle: before.map(|b| b.idle),
            previous_bill: before.map(|b| b.bill),
        });
    }
    Ok(Allocation {
        key: key.to_string(),
        normalize: settings.normalize,
        cost: settings.cost,
        unallocated_mode: settings.unallocated,
        period_start,
        period_end,
        previous_start: previous_range.map(|r| r.0),
        previous_end: previous_range.map(|r| r.1),
        currencies,
    })
}

/// The team each of `summary`'s lines is charged to directly, as [`allocate`] decides it, in
/// the form [`fold_team`] gives; `None` for a line that goes to a shared pool, a cluster or the
/// unallocated line. The dashboard reads it to list a team's resources of one service.
pub fn direct_teams(
    summary: &BillingSummary,
    settings: &AllocationSettings,
    key: &str,
    clusters: &[ClusterShares],
) -> Vec<Option<String>> {
    let allocator = Allocator {
        summary,
        settings,
        key: settings.normalize.fold(key),
        pools: Vec::new(),
        spellings: BTreeMap::new(),
        clusters: if settings.namespaces.is_empty() { &[] } else { clusters },
    };
    summary
        .lines
        .iter()
        .map(|line| match allocator.target(line) {
            Target::Team(team) => Some(settings.normalize.fold(&team)),
            _ => None,
        })
        .collect()
}

/// A team's name as the allocation compares names (a [`TeamRow`]'s `team` is its costliest
/// spelling; every spelling folds to the same text).
pub fn fold_team(settings: &AllocationSettings, team: &str) -> String {
    settings.normalize.fold(team)
}

/// Names of the teams (folded) for a set, used by tests.
#[cfg(test)]
fn names(a: &CurrencyAllocation) -> std::collections::BTreeSet<String> {
    a.teams.iter().map(|t| t.team.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Tags;

    fn m(s: &str) -> Money {
        s.parse().unwrap()
    }

    fn line(
        service: &str,
        category: &str,
        account: &str,
        tag: Option<u32>,
        cost: &str,
    ) -> BillingLine {
        BillingLine {
            day: None,
            provider: "AWS".into(),
            account_id: account.into(),
            service: service.into(),
            region: "us-east-1".into(),
            resource_id: format!("{service}-{cost}").into(),
            charge_category: category.into(),
            charge_frequency: String::new().into(),
            tag_set: tag,
            currency: Currency::usd(),
            billed_cost: m(cost),
            effective_cost: None,
            list_cost: None,
            rows: 1,
        }
    }

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// web 60 (`team`), web 10 (`Team`), data 30, untagged 7 in account 1 and 3 in account 2,
    /// tax 10, support 5.
    fn summary() -> BillingSummary {
        BillingSummary {
            grain: Grain::FULL,
            lines: vec![
                line("EC2", "Usage", "1", Some(0), "60"),
                line("EC2", "Usage", "1", Some(1), "10"),
                line("S3", "Usage", "1", Some(2), "30"),
                line("S3", "Usage", "1", None, "7"),
                line("S3", "Usage", "2", None, "3"),
                line("EC2", "Tax", "1", None, "10"),
                line("AWS Support (Business)", "Purchase", "1", None, "5"),
            ],
            tag_sets: vec![
                tags(&[("team", "web")]),
                tags(&[("Team ", "Web")]),
                tags(&[("team", "data")]),
            ],
            ..Default::default()
        }
    }

    fn run(settings: &AllocationSettings) -> CurrencyAllocation {
        let a = allocate(&summary(), settings, "team", AllocationPeriod::All, true, &[]).unwrap();
        a.currencies.into_iter().next().unwrap()
    }

    fn team<'a>(a: &'a CurrencyAllocation, name: &str) -> &'a TeamRow {
        a.teams.iter().find(|t| t.team == name).unwrap()
    }

    #[test]
    fn defaults_fold_spellings_pool_tax_and_support_and_show_the_rest() {
        let a = run(&AllocationSettings::default());
        assert_eq!(a.bill, m("125"));
        assert_eq!(names(&a), ["data", "web"].map(String::from).into());
        assert_eq!(a.pools.iter().map(|p| p.amount).collect::<Vec<_>>(), [m("10"), m("5")]);
        // web 70 direct, data 30: pools 15 split 70:30.
        let web = team(&a, "web");
        assert_eq!((web.direct_cost, web.shared_cost), (m("70"), m("10.5")));
        assert_eq!(web.shares[0].amount, m("7"));
        assert_eq!(team(&a, "data").total_cost, m("34.5"));
        assert_eq!(a.unallocated, m("10"));
        assert_eq!(web.services, [ServiceCost { service: "EC2".into(), direct_cost: m("70") }]);
    }

    #[test]
    fn exact_normalization_keeps_spellings_apart() {
        let settings = AllocationSettings { normalize: Normalize::Exact, ..Default::default() };
        let a = run(&settings);
        assert_eq!(names(&a), ["data", "web"].map(String::from).into());
        assert_eq!(team(&a, "web").direct_cost, m("60"));
        assert_eq!(a.unallocated, m("20"));
    }

    #[test]
    fn rules_take_untagged_spend_first_match_wins_and_unallocated_can_be_a_pool() {
        let rule = |account: &str, team: &str| Rule {
            filter: Filter {
                conditions: vec![Condition::Scope(ScopeFilter::Account(account.into()))],
            },
            team: team.into(),
        };
        let settings = AllocationSettings {
            rules: vec![rule("1", "platform"), rule("1", "web")],
            shared: vec![SharedPool {
                name: "tax".into(),
                filter: Filter { conditions: vec![Condition::ChargeCategory("Tax".into())] },
                split: SplitMethod::Even,
            }],
            unallocated: Unallocated::Pool,
            ..Default::default()
        };
        let a = run(&settings);
        // platform: 7 untagged + 5 support (account 1, no longer pooled) = 12.
        let platform = team(&a, "platform");
        assert_eq!(platform.direct_cost, m("12"));
        assert_eq!(team(&a, "web").direct_cost, m("70"));
        // tax 10 evenly in three; account 2's 3 proportionally to 70:30:12.
        assert_eq!(a.pools[0].amount, m("10"));
        assert_eq!(a.pools[1].name, "unallocated");
        assert_eq!(a.pools[1].amount, m("3"));
        assert_eq!(a.unallocated, Money::ZERO);
        let total: Money = a.teams.iter().map(|t| t.total_cost).sum();
        assert_eq!(total, m("125"));
        assert_eq!(platform.shares[0].amount.to_string(), "3.333333333333333333");
    }

    #[test]
    fn weights_split_by_percent_and_a_month_compares_with_the_one_before() {
        let mut s = summary();
        for (l, month) in s.lines.iter_mut().zip([10, 9, 10, 9, 10, 10, 10]) {
            l.day = NaiveDate::from_ymd_opt(2026, month, 3);
        }
        let settings = AllocationSettings {
            shared: vec![SharedPool {
                name: "everything taxed".into(),
                filter: Filter { conditions: vec![Condition::ChargeCategory("Tax".into())] },
                split: SplitMethod::Weights(vec![("web".into(), m("25")), ("ops".into(), m("75"))]),
            }],
            ..Default::default()
        };
        let a = allocate(&s, &settings, "team", AllocationPeriod::Month, false, &[]).unwrap();
        assert_eq!(a.period_start, NaiveDate::from_ymd_opt(2026, 10, 1));
        assert_eq!(a.previous_end, NaiveDate::from_ymd_opt(2026, 9, 30));
        let c = &a.currencies[0];
        // October: web 60, data 30, untagged 3 and support 5 (unallocated); tax 10 → web 2.5, ops 7.5
        assert_eq!(c.bill, m("108"));
        assert_eq!(team(c, "ops").total_cost, m("7.5"));
        assert_eq!(team(c, "web").total_cost, m("62.5"));
        // September: Web 10 (Team), untagged 7.
        assert_eq!(team(c, "web").previous_total_cost, Some(m("10")));
        assert_eq!(team(c, "web").change, Some(m("52.5")));
        assert_eq!(c.previous_bill, Some(m("17")));
    }

    #[test]
    fn a_cluster_s_nodes_split_by_namespace_requests_with_idle_apart_or_spread() {
        let mut s = summary();
        s.lines.push(line("EC2", "Usage", "1", Some(0), "100"));
        s.lines.last_mut().unwrap().resource_id = "i-node".into();
        let cluster = ClusterShares {
            name: "prod".into(),
            nodes: ["i-node".to_string()].into(),
            namespaces: vec![("web".into(), m("30")), ("jobs".into(), m("10"))],
            idle: m("60"),
        };
        let mut settings = AllocationSettings {
            namespaces: [("web".to_string(), "web".to_string())].into(),
            shared: Vec::new(),
            ..Default::default()
        };
        let run = |settings: &AllocationSettings| {
            let a = allocate(
                &s,
                settings,
                "team",
                AllocationPeriod::All,
                false,
                std::slice::from_ref(&cluster),
            )
            .unwrap();
            a.currencies.into_iter().next().unwrap()
        };
        let a = run(&settings);
        // The node's 100 is the cluster's, not web's direct cost: web 30, jobs (unmapped) 10
        // unallocated, idle 60.
        let web = team(&a, "web");
        assert_eq!((web.direct_cost, web.shared_cost), (m("70"), m("30")));
        let pool = &a.pools[0];
        assert_eq!((pool.name.as_str(), pool.amount), ("kubernetes:prod", m("100")));
        assert_eq!((pool.left_unallocated, pool.idle), (m("10"), Some(m("60"))));
        assert_eq!(pool.namespaces[1].team, None);
        assert_eq!(a.idle, m("60"));
        // 10 untagged + 10 tax + 5 support + jobs 10.
        assert_eq!(a.unallocated, m("35"));
        assert_eq!(a.bill, m("225"));
        settings.idle = Idle::Spread;
        let a = run(&settings);
        assert_eq!(team(&a, "web").shared_cost, m("75"));
        assert_eq!((a.idle, a.unallocated), (Money::ZERO, m("50")));
        // Without a mapping the nodes' lines are ordinary billing lines.
        settings.namespaces.clear();
        let a = run(&settings);
        assert_eq!(team(&a, "web").direct_cost, m("170"));
        assert!(a.pools.is_empty());
    }

    #[test]
    fn globs_match_runs_and_single_characters() {
        assert!(glob("AWS Support*", "AWS Support (Business)"));
        assert!(!glob("AWS Support*", "Amazon EC2"));
        assert!(glob("i-*-?", "i-abc-1"));
        assert!(glob("*", ""));
        assert!(!glob("a?c", "ac"));
        assert!(glob("*a*b", "xxaxxb"));
    }
}
