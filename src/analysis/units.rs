//! Unit costs: what one unit of something costs (a namespace, a node, a cluster, a workload, a
//! tag value, or a user-given count such as requests or customers) in the latest period and the
//! one before, per currency.
//!
//! Units come from `[[unit]]` tables of costscope.toml (`crate::config`):
//!
//! ```toml
//! [[unit]]
//! name = "cost per 1,000 requests"
//! per = "count"              # cluster | node | namespace | workload | tag:KEY | count
//! file = "requests.csv"      # `day,count` with a header; relative to the config file
//! label = "requests"
//! scale = 1000               # cost per 1,000 requests
//! scope = { service = "Amazon Elastic Compute Cloud" }   # billing units only
//! ```
//!
//! Bases, stated in every result's `basis`:
//! - Kubernetes units take the cost of the cluster's nodes. When billing has every priced node's
//!   instance id by day, a period's cluster cost is what billing charged those instances in the
//!   period (on `[billing] resource_cost`, as the cluster view prices nodes); otherwise only the
//!   snapshot's monthly figures exist and there is no trend. A namespace's or workload's cost is
//!   its *requests'* share of the cluster cost (requests priced at the cluster's average cost per
//!   core and per GiB, as [`crate::analysis::cluster`] does); what no request holds is the
//!   `idle` row, never spread over the namespaces. The shares are today's requests applied to
//!   both periods: a snapshot has no request history.
//! - Tag and count units take BilledCost of the lines in scope.
//! - A count unit's cost per unit in a period is Σ cost ÷ Σ count over the days that have a
//!   positive count; days with cost and no (or a zero) count are left out of both and counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::NaiveDate;
use serde::Serialize;

use super::budgets::{BudgetScope, ScopeFilter};
use super::cluster::{ClusterReport, NodeCostSource};
use super::trends::{Period, Span, default_period, spans};
use crate::model::money::ESTIMATE_DIGITS;
use crate::model::{BillingLine, BillingSummary, Currency, Money, ResourceCost};

/// What a unit counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnitPer {
    Cluster,
    Node,
    Namespace,
    Workload,
    /// Each value of a billing tag key.
    Tag(String),
    /// A count per day from a CSV file.
    Count,
}

impl UnitPer {
    /// Reads `per` of a `[[unit]]`; `None` when it is none of the six kinds.
    pub fn parse(text: &str) -> Option<UnitPer> {
        match text.trim() {
            "cluster" => Some(UnitPer::Cluster),
            "node" => Some(UnitPer::Node),
            "namespace" => Some(UnitPer::Namespace),
            "workload" => Some(UnitPer::Workload),
            "count" => Some(UnitPer::Count),
            other => {
                let key = other.strip_prefix("tag:")?;
                (!key.trim().is_empty()).then(|| UnitPer::Tag(key.to_string()))
            }
        }
    }

    /// As the config writes it.
    pub fn as_text(&self) -> String {
        match self {
            UnitPer::Cluster => "cluster".into(),
            UnitPer::Node => "node".into(),
            UnitPer::Namespace => "namespace".into(),
            UnitPer::Workload => "workload".into(),
            UnitPer::Tag(key) => format!("tag:{key}"),
            UnitPer::Count => "count".into(),
        }
    }

    /// Whether the cost side is the Kubernetes nodes (a billing scope does not apply).
    pub fn is_kubernetes(&self) -> bool {
        matches!(self, UnitPer::Cluster | UnitPer::Node | UnitPer::Namespace | UnitPer::Workload)
    }
}

/// A `[[unit]]` of costscope.toml, validated (and, for a count, its file read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitDef {
    /// Unique among the units.
    pub name: String,
    pub per: UnitPer,
    /// Billing units only; empty: every line.
    pub scope: BudgetScope,
    /// What one unit is called ("requests"); for a count, the row's name.
    pub label: Option<String>,
    /// Cost per `scale` units (1000: per 1,000 requests). At least 1.
    pub scale: u64,
    /// The count file, for `per = "count"`.
    pub file: Option<PathBuf>,
    /// `day → count` from the file, for `per = "count"`.
    pub counts: BTreeMap<NaiveDate, Money>,
}

/// Why a count file could not be read: the line (1-based), the field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {field}: {message}")]
pub struct CountError {
    pub line: usize,
    pub field: &'static str,
    pub message: String,
}

/// Reads a `day,count` CSV: a header line `day,count` first, then one day a line (YYYY-MM-DD)
/// and a count (a decimal ≥ 0). Blank lines are skipped; a day given twice is an error.
pub fn parse_counts(text: &str) -> Result<BTreeMap<NaiveDate, Money>, CountError> {
    let mut out = BTreeMap::new();
    let mut header = false;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let raw = raw.trim_start_matches('\u{feff}').trim();
        if raw.is_empty() {
            continue;
        }
        let fields: Vec<&str> = raw.split(',').map(str::trim).collect();
        if !header {
            let names: Vec<String> = fields.iter().map(|f| f.to_ascii_lowercase()).collect();
            if names != ["day", "count"] {
                return Err(CountError {
                    line,
                    field: "header",
                    message: format!("the first line must be `day,count`, not {raw:?}"),
                });
            }
            header = true;
            continue;
        }
        if fields.len() != 2 {
            return Err(CountError {
                line,
                field: "line",
                message: format!("expected 2 fields (day,count), found {}", fields.len()),
            });
        }
        let day: NaiveDate = fields[0].parse().map_err(|_| CountError {
            line,
            field: "day",
            message: format!("{:?} is not a date (YYYY-MM-DD)", fields[0]),
        })?;
        let count: Money = fields[1].parse().map_err(|e| CountError {
            line,
            field: "count",
            message: format!("{:?}: {e}", fields[1]),
        })?;
        if count.is_negative() {
            return Err(CountError {
                line,
                field: "count",
                message: format!("a count cannot be negative ({count})"),
            });
        }
        if out.insert(day, count).is_some() {
            return Err(CountError {
                line,
                field: "day",
                message: format!("{day} is given twice"),
            });
        }
    }
    if !header {
        return Err(CountError {
            line: 1,
            field: "header",
            message: "the file is empty: it needs a `day,count` header".into(),
        });
    }
    Ok(out)
}

/// What a row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RowKind {
    /// One unit (a namespace, a node, a tag value, a count's total).
    Unit,
    /// Cluster cost no request holds (namespace and workload units).
    Idle,
    /// Total cost ÷ number of units.
    Average,
}

impl RowKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RowKind::Unit => "unit",
            RowKind::Idle => "idle",
            RowKind::Average => "average",
        }
    }
}

/// One row: the cost, the units and the cost per unit in both periods.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnitRow {
    /// The cluster, for Kubernetes units; empty otherwise.
    pub cluster: String,
    /// The unit: a namespace, `namespace/workload`, a node, a cluster, a tag value (empty:
    /// untagged), or the count's label.
    pub unit: String,
    pub kind: RowKind,
    pub currency: Currency,
    /// Cost in the previous period; `None` without a previous period or a per-day basis.
    pub previous_cost: Option<Money>,
    pub current_cost: Option<Money>,
    /// Units in the period (1 for one namespace; the average node count; Σ counts).
    pub previous_units: Option<Money>,
    pub current_units: Option<Money>,
    /// `cost × scale ÷ units`, rounded to 6 decimals.
    pub previous_per_unit: Option<Money>,
    pub current_per_unit: Option<Money>,
    /// `(current − previous) ÷ previous` of the cost per unit, a fraction at 6 decimals.
    pub change_ratio: Option<Money>,
    /// Kubernetes units: the snapshot's monthly figure (what the cluster view shows).
    pub monthly_cost: Option<Money>,
}

/// One `[[unit]]`'s result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnitResult {
    pub name: String,
    pub per: String,
    pub label: Option<String>,
    pub scale: u64,
    /// Where the costs come from, in words.
    pub basis: String,
    pub rows: Vec<UnitRow>,
    /// What the reader should know (days without a count, nodes billing does not know…).
    pub notes: Vec<String>,
}

/// Every unit over the same two periods.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnitsReport {
    /// `None` when the billing has fewer days than one period and the one before.
    pub period: Option<Period>,
    pub previous: Option<Span>,
    /// The current period, or every billed day when there is no period to compare.
    pub current: Option<Span>,
    pub units: Vec<UnitResult>,
}

/// Why units cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitsError {
    #[error(
        "--period {period} needs billing from {needed_from}, and the billing covers {first} to \
         {last} (try a shorter --period)"
    )]
    TooShort { period: Period, first: NaiveDate, last: NaiveDate, needed_from: NaiveDate },
}

/// The two windows a computation sums over.
#[derive(Clone, Copy, Debug)]
struct Windows {
    previous: Option<Span>,
    current: Span,
}

impl Windows {
    /// 0: previous, 1: current.
    fn slot(&self, day: NaiveDate) -> Option<usize> {
        if self.previous.is_some_and(|p| p.from <= day && day <= p.to) {
            Some(0)
        } else if self.current.from <= day && day <= self.current.to {
            Some(1)
        } else {
            None
        }
    }

    fn days(span: Span) -> i64 {
        (span.to - span.from).num_days() + 1
    }
}

fn windows(
    summary: Option<&BillingSummary>,
    period: Option<Period>,
) -> Result<(Option<Period>, Option<Windows>), UnitsError> {
    let Some((first, last)) = summary.and_then(BillingSummary::period) else {
        return Ok((None, None));
    };
    let chosen = period.unwrap_or_else(|| default_period(first, last));
    match spans(chosen, last) {
        Some((previous, current)) if previous.from >= first => {
            Ok((Some(chosen), Some(Windows { previous: Some(previous), current })))
        }
        Some((previous, _)) if period.is_some() => {
            Err(UnitsError::TooShort { period: chosen, first, last, needed_from: previous.from })
        }
        // Too short to compare: the whole billing is the current figure, with no trend.
        _ => Ok((None, Some(Windows { previous: None, current: Span { from: first, to: last } }))),
    }
}

/// Whether a billing line is in a scope (every condition holds).
fn in_scope(scope: &BudgetScope, summary: &BillingSummary, line: &BillingLine) -> bool {
    scope.filters.iter().all(|f| match f {
        ScopeFilter::Service(v) => line.service == *v,
        ScopeFilter::Region(v) => line.region == *v,
        ScopeFilter::Account(v) => {
            line.account_id == *v || summary.account_names.get(line.account_id.as_str()) == Some(v)
        }
        ScopeFilter::Tag { key, value } => {
            summary.tags_of(line).and_then(|t| t.get(key)).is_some_and(|v| v == value)
        }
    })
}

/// `cost × scale ÷ units`, rounded to 6 decimals; `None` unless `units > 0`. Units are taken
/// to 6 decimals (a millionth of a request is below any count's meaning).
pub fn per_unit(cost: Money, units: Money, scale: u64) -> Option<Money> {
    let micro_units = units.round_dp(ESTIMATE_DIGITS).raw() / 10i128.pow(12);
    if micro_units <= 0 {
        return None;
    }
    let scaled = cost.times(i64::try_from(scale).unwrap_or(i64::MAX));
    Some(scaled.mul_ratio(1_000_000, micro_units).round_dp(ESTIMATE_DIGITS))
}

/// `part × numerator ÷ denominator` for amounts already at 6 decimals (monthly figures), so
/// the product stays far from i128's limit; rounded to 6 decimals.
fn share(part: Money, numerator: Money, denominator: Money) -> Money {
    let micro = |m: Money| m.round_dp(ESTIMATE_DIGITS).raw() / 10i128.pow(12);
    part.mul_ratio(micro(numerator), micro(denominator)).round_dp(ESTIMATE_DIGITS)
}

#[allow(clippy::too_many_arguments)]
fn row(
    cluster: &str,
    unit: &str,
    kind: RowKind,
    currency: &Currency,
    cost: [Option<Money>; 2],
    units: [Option<Money>; 2],
    scale: u64,
    monthly_cost: Option<Money>,
) -> UnitRow {
    let per = |i: usize| per_unit(cost[i]?, units[i]?, scale);
    let (previous_per_unit, current_per_unit) = (per(0), per(1));
    let change_ratio = match (previous_per_unit, current_per_unit) {
        (Some(p), Some(c)) => (c - p).share_of(p),
        _ => None,
    };
    UnitRow {
        cluster: cluster.to_string(),
        unit: unit.to_string(),
        kind,
        currency: currency.clone(),
        previous_cost: cost[0],
        current_cost: cost[1],
        previous_units: units[0],
        current_units: units[1],
        previous_per_unit,
        current_per_unit,
        change_ratio,
        monthly_cost,
    }
}

/// Computes every unit over the latest `period` (or the default one, as `trends` chooses it)
/// and the one before. `clusters` come from [`super::cluster::cluster_report`] on the same
/// snapshot; `resource_cost` is the basis the cluster report priced nodes on. The summary must
/// keep resources by day ([`crate::model::Grain::DETAILED`]) for the Kubernetes trend.
pub fn unit_costs(
    units: &[UnitDef],
    summary: Option<&BillingSummary>,
    clusters: &[ClusterReport],
    period: Option<Period>,
    resource_cost: ResourceCost,
) -> Result<UnitsReport, UnitsError> {
    let (period, windows) = windows(summary, period)?;
    let mut results = Vec::with_capacity(units.len());
    for unit in units {
        let result = if unit.per.is_kubernetes() {
            kubernetes_unit(unit, summary, clusters, windows, resource_cost)
        } else {
            let Some(summary) = summary else {
                let note = "the sources hold no billing data (give --focus FILE)".to_string();
                results.push(result(unit, "billing: none".into(), Vec::new(), vec![note]));
                continue;
            };
            let mut result = match &unit.per {
                UnitPer::Tag(key) => tag_unit(unit, key, summary, windows),
                _ => count_unit(unit, summary, windows),
            };
            // A snapshot collected at full grain keeps its per-resource lines without days
            // (the days are in a rollup without tags): say so rather than show nothing.
            if !summary.lines.iter().any(|l| l.day.is_some()) {
                result.notes.push(
                    "this billing keeps no days on its lines (a snapshot's per-resource \
                     lines): read the billing itself (--focus, --cur) for units by day"
                        .into(),
                );
            }
            result
        };
        results.push(result);
    }
    Ok(UnitsReport {
        period,
        previous: windows.and_then(|w| w.previous),
        current: windows.map(|w| w.current),
        units: results,
    })
}

fn result(unit: &UnitDef, basis: String, rows: Vec<UnitRow>, notes: Vec<String>) -> UnitResult {
    UnitResult {
        name: unit.name.clone(),
        per: unit.per.as_text(),
        label: unit.label.clone(),
        scale: unit.scale,
        basis,
        rows,
        notes,
    }
}

/// Cost per value of a tag key (BilledCost, lines in scope), per currency; an average over the
/// tagged values.
fn tag_unit(
    unit: &UnitDef,
    key: &str,
    summary: &BillingSummary,
    windows: Option<Windows>,
) -> UnitResult {
    let mut notes = Vec::new();
    let Some(w) = windows else {
        notes.push("the billing has no days".into());
        return result(unit, "billing: BilledCost".into(), Vec::new(), notes);
    };
    // (currency, value) → [previous, current]
    let mut sums: BTreeMap<(&Currency, &str), [Option<Money>; 2]> = BTreeMap::new();
    for line in &summary.lines {
        let Some(slot) = line.day.and_then(|d| w.slot(d)) else { continue };
        if !in_scope(&unit.scope, summary, line) {
            continue;
        }
        let value = summary.tags_of(line).and_then(|t| t.get(key)).map_or("", String::as_str);
        let entry = sums.entry((&line.currency, value)).or_default();
        *entry[slot].get_or_insert(Money::ZERO) += line.billed_cost;
    }
    let mut rows = Vec::new();
    let mut averages: BTreeMap<&Currency, ([Money; 2], [i64; 2])> = BTreeMap::new();
    for ((currency, value), cost) in &sums {
        // A value absent from a period cost nothing there (it still is a unit of the period only
        // when billed in it).
        let cost = if w.previous.is_some() {
            [Some(cost[0].unwrap_or_default()), Some(cost[1].unwrap_or_default())]
        } else {
            [None, Some(cost[1].unwrap_or_default())]
        };
        let one = |c: Option<Money>| c.filter(|c| !c.is_zero()).map(|_| Money::from_units(1));
        rows.push(row(
            "",
            value,
            RowKind::Unit,
            currency,
            cost,
            [one(cost[0]), one(cost[1])],
            1,
            None,
        ));
        if !value.is_empty() {
            let avg = averages.entry(currency).or_default();
            for (i, c) in cost.iter().enumerate() {
                if let Some(c) = c.filter(|c| !c.is_zero()) {
                    avg.0[i] += c;
                    avg.1[i] += 1;
                }
            }
        }
    }
    // Largest current cost first, then the value.
    rows.sort_by(|a, b| {
        a.currency
            .cmp(&b.currency)
            .then_with(|| b.current_cost.cmp(&a.current_cost))
            .then_with(|| a.unit.cmp(&b.unit))
    });
    for (currency, (cost, count)) in averages {
        let pick = |i: usize| (i == 1 || w.previous.is_some()).then_some(cost[i]);
        let units = |i: usize| (count[i] > 0).then(|| Money::from_units(count[i]));
        rows.push(row(
            "",
            &format!("per {key} value"),
            RowKind::Average,
            currency,
            [pick(0), pick(1)],
            [units(0), units(1)],
            1,
            None,
        ));
    }
    if unit.scope.filters.is_empty() {
        notes.push(format!("an empty {key} is billing without the tag"));
    }
    let basis = format!("billing: BilledCost by tag {key}, scope {}", unit.scope.describe());
    result(unit, basis, rows, notes)
}

/// Scoped BilledCost ÷ the day counts of the file, per currency.
fn count_unit(unit: &UnitDef, summary: &BillingSummary, windows: Option<Windows>) -> UnitResult {
    let label = unit.label.clone().unwrap_or_else(|| "units".into());
    let mut notes = Vec::new();
    let Some(w) = windows else {
        notes.push("the billing has no days".into());
        return result(unit, "billing: BilledCost".into(), Vec::new(), notes);
    };
    let mut daily: BTreeMap<(&Currency, NaiveDate), Money> = BTreeMap::new();
    for line in &summary.lines {
        let Some(day) = line.day.filter(|d| w.slot(*d).is_some()) else { continue };
        if in_scope(&unit.scope, summary, line) {
            *daily.entry((&line.currency, day)).or_default() += line.billed_cost;
        }
    }
    // currency → [cost, count, days left out] per period
    let mut per_currency: BTreeMap<&Currency, [(Money, Money, u32); 2]> = BTreeMap::new();
    for ((currency, day), cost) in daily {
        let Some(slot) = w.slot(day) else { continue };
        let entry = &mut per_currency.entry(currency).or_default()[slot];
        match unit.counts.get(&day).filter(|c| **c > Money::ZERO) {
            Some(count) => {
                entry.0 += cost;
                entry.1 += *count;
            }
            None => entry.2 += 1,
        }
    }
    let mut rows = Vec::new();
    for (currency, periods) in &per_currency {
        let has = |i: usize| i == 1 || w.previous.is_some();
        let cost = |i: usize| has(i).then_some(periods[i].0);
        let units = |i: usize| has(i).then_some(periods[i].1).filter(|u| *u > Money::ZERO);
        rows.push(row(
            "",
            &label,
            RowKind::Unit,
            currency,
            [cost(0), cost(1)],
            [units(0), units(1)],
            unit.scale,
            None,
        ));
        for (i, name) in [(0, "previous"), (1, "current")] {
            if has(i) && periods[i].2 > 0 {
                notes.push(format!(
                    "{currency}: {} billed day(s) of the {name} period have no positive count \
                     and are left out",
                    periods[i].2
                ));
            }
        }
    }
    if rows.is_empty() {
        notes.push(format!("no billing in scope ({}) in these periods", unit.scope.describe()));
    }
    let missing =
        Windows::days(w.current) - unit.counts.range(w.current.from..=w.current.to).count() as i64;
    if missing > 0 {
        notes.push(format!("{missing} day(s) of the current period are not in the count file"));
    }
    let basis = format!(
        "billing: BilledCost, scope {}, ÷ {label} per day from {}",
        unit.scope.describe(),
        unit.file.as_ref().map_or_else(|| "the count file".into(), |f| f.display().to_string())
    );
    result(unit, basis, rows, notes)
}

/// A group's monthly cost in a cluster: a namespace's or environment's requests priced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupCost {
    pub name: String,
    /// Σ the workloads' `monthly_cost` (their requests at the cluster's average prices).
    pub monthly: Money,
    /// `monthly ÷` the cluster's monthly cost, a fraction at 6 decimals.
    pub share: Option<Money>,
}

/// Monthly cost per namespace (requests-based), largest first, then name; the cluster's cost
/// that no request holds is [`idle_monthly`]. Empty when no node is priced.
pub fn namespace_costs(cluster: &ClusterReport) -> Vec<GroupCost> {
    group_costs(cluster, |ns| ns.to_string())
}

/// Monthly cost per environment (see [`environment_of`]), largest first, then name.
pub fn environment_costs(cluster: &ClusterReport) -> Vec<GroupCost> {
    group_costs(cluster, |ns| environment_of(ns, &cluster.name))
}

/// The cluster's monthly cost that no workload's requests hold (cluster − Σ namespaces).
pub fn idle_monthly(cluster: &ClusterReport) -> Option<Money> {
    let total = cluster.costs?.monthly;
    let held: Money = cluster.workloads.iter().filter_map(|w| w.monthly_cost).sum();
    Some(total - held)
}

fn group_costs(cluster: &ClusterReport, key: impl Fn(&str) -> String) -> Vec<GroupCost> {
    let Some(total) = cluster.costs.map(|c| c.monthly) else { return Vec::new() };
    let mut sums: BTreeMap<String, Money> = BTreeMap::new();
    for w in &cluster.workloads {
        if let Some(cost) = w.monthly_cost {
            *sums.entry(key(&w.namespace)).or_default() += cost;
        }
    }
    let mut out: Vec<GroupCost> = sums
        .into_iter()
        .map(|(name, monthly)| GroupCost { name, monthly, share: monthly.share_of(total) })
        .collect();
    out.sort_by(|a, b| b.monthly.cmp(&a.monthly).then_with(|| a.name.cmp(&b.name)));
    out
}

/// Words that name an environment, and the name each stands for.
const ENVIRONMENTS: [(&str, &str); 14] = [
    ("prod", "prod"),
    ("production", "prod"),
    ("prd", "prod"),
    ("staging", "staging"),
    ("stage", "staging"),
    ("stg", "staging"),
    ("dev", "dev"),
    ("development", "dev"),
    ("test", "test"),
    ("qa", "test"),
    ("uat", "test"),
    ("sandbox", "sandbox"),
    ("preview", "preview"),
    ("demo", "demo"),
];

/// A namespace's environment. Kubernetes records no namespace labels in a snapshot (and the
/// sample's namespaces carry none), so it is read from names, in this order:
/// 1. a word of the namespace name (split at `-`, `_`, `.`) that names an environment
///    (`shop-staging` → `staging`; `production` and `prd` → `prod`, `stage` → `staging`,
///    `qa`/`uat` → `test`);
/// 2. `kube-*` and `*-system` namespaces are the platform's own: `system`;
/// 3. a word of the cluster name (`acme-prod-eks` → `prod`): a cluster usually serves one
///    environment;
/// 4. otherwise `unknown`.
pub fn environment_of(namespace: &str, cluster: &str) -> String {
    let word = |name: &str| {
        name.split(['-', '_', '.']).find_map(|w| {
            let w = w.to_ascii_lowercase();
            ENVIRONMENTS.iter().find(|(k, _)| *k == w).map(|(_, env)| env.to_string())
        })
    };
    if let Some(env) = word(namespace) {
        return env;
    }
    if namespace.starts_with("kube-") || namespace.ends_with("-system") {
        return "system".into();
    }
    word(cluster).unwrap_or_else(|| "unknown".into())
}

/// Per priced node: its cost per period, and node-days per period. `None` when billing has no
/// node of the cluster by day (then only the snapshot's monthly figures exist).
struct BilledNodes {
    /// node name → [previous, current]
    cost: BTreeMap<String, [Money; 2]>,
    node_days: [i64; 2],
    /// Nodes whose period cost is billing's; the others' is their monthly price prorated.
    from_billing: usize,
    prorated: usize,
}

/// A node billing knows by day costs what billing charged its instance id in the period (on
/// `resource_cost`). A node priced from the catalog (or the configured prices) is not in the
/// billing: it costs its monthly price × 24 × days ÷ 730 and counts every day of the period,
/// as the snapshot saw it running.
fn billed_nodes(
    cluster: &ClusterReport,
    summary: Option<&BillingSummary>,
    windows: Windows,
    resource_cost: ResourceCost,
) -> Option<BilledNodes> {
    let summary = summary?;
    if !(summary.grain.resource && summary.grain.day && summary.grain.resource_days) {
        return None;
    }
    let priced: Vec<_> = cluster
        .nodes
        .iter()
        .filter(|n| n.costs.is_some() && n.currency == cluster.currency)
        .collect();
    let by_id: BTreeMap<&str, &str> = priced
        .iter()
        .filter(|n| matches!(n.cost_source, NodeCostSource::Billing { .. }))
        .filter_map(|n| Some((n.instance_id.as_deref()?, n.name.as_str())))
        .collect();
    if by_id.is_empty() {
        return None;
    }
    let mut cost: BTreeMap<String, [Money; 2]> =
        priced.iter().map(|n| (n.name.clone(), [Money::ZERO; 2])).collect();
    let mut days: BTreeSet<(&str, NaiveDate)> = BTreeSet::new();
    for line in &summary.lines {
        let Some(node) = by_id.get(line.resource_id.as_str()) else { continue };
        let Some(day) = line.day else { continue };
        let Some(slot) = windows.slot(day) else { continue };
        if line.currency != cluster.currency {
            continue;
        }
        if let Some(c) = cost.get_mut(*node) {
            c[slot] += resource_cost.of(line);
        }
        days.insert((node, day));
    }
    let mut node_days = [0i64; 2];
    for (_, day) in &days {
        if let Some(slot) = windows.slot(*day) {
            node_days[slot] += 1;
        }
    }
    let span_days = [windows.previous.map(Windows::days), Some(Windows::days(windows.current))];
    let mut prorated = 0;
    for n in priced.iter().filter(|n| !by_id.values().any(|name| *name == n.name)) {
        let Some(monthly) = n.costs.map(|k| k.monthly) else { continue };
        prorated += 1;
        if let Some(c) = cost.get_mut(&n.name) {
            for (i, d) in span_days.iter().enumerate() {
                if let Some(d) = d {
                    c[i] = monthly
                        .mul_ratio(24 * i128::from(*d), i128::from(crate::pricing::HOURS_PER_MONTH))
                        .round_dp(ESTIMATE_DIGITS);
                    node_days[i] += d;
                }
            }
        }
    }
    Some(BilledNodes { cost, node_days, from_billing: by_id.len(), prorated })
}

fn kubernetes_unit(
    unit: &UnitDef,
    summary: Option<&BillingSummary>,
    clusters: &[ClusterReport],
    windows: Option<Windows>,
    resource_cost: ResourceCost,
) -> UnitResult {
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let mut bases = BTreeSet::new();
    if clusters.is_empty() {
        notes.push("the sources hold no Kubernetes cluster (give --kube or --snapshot)".into());
    }
    for c in clusters {
        let Some(monthly) = c.costs.map(|k| k.monthly) else {
            notes.push(format!("{}: no node is priced", c.name));
            continue;
        };
        let billed = windows.and_then(|w| Some((w, billed_nodes(c, summary, w, resource_cost)?)));
        let has = |i: usize| billed.as_ref().is_some_and(|(w, _)| i == 1 || w.previous.is_some());
        // The cluster's cost per period, from billing.
        let total: [Option<Money>; 2] = [0, 1].map(|i| {
            has(i).then(|| billed.as_ref().map(|(_, b)| b.cost.values().map(|c| c[i]).sum()))?
        });
        match &billed {
            Some((_, b)) if b.prorated == 0 => {
                bases.insert(format!(
                    "billing: {} cost of the nodes' instances by day",
                    resource_cost.as_str()
                ));
            }
            Some((_, b)) => {
                bases.insert(format!(
                    "billing: {} cost by day of {} node(s); monthly price × 24 h × days ÷ 730 h of \
                     {} node(s) billing does not know",
                    resource_cost.as_str(),
                    b.from_billing,
                    b.prorated
                ));
            }
            None => {
                bases.insert("snapshot: monthly node prices (no node billed by day)".into());
            }
        }
        if c.nodes_unpriced > 0 {
            notes.push(format!("{}: {} node(s) not priced are left out", c.name, c.nodes_unpriced));
        }
        let one = Some(Money::from_units(1));
        let cur = &c.currency;
        match unit.per {
            UnitPer::Cluster => {
                rows.push(row(
                    &c.name,
                    &c.name,
                    RowKind::Unit,
                    cur,
                    total,
                    [one, one],
                    1,
                    Some(monthly),
                ));
            }
            UnitPer::Node => {
                for n in c.nodes.iter().filter(|n| n.currency == *cur) {
                    let Some(node_monthly) = n.costs.map(|k| k.monthly) else { continue };
                    let cost = [0, 1].map(|i| {
                        has(i).then(|| {
                            billed.as_ref().and_then(|(_, b)| Some(b.cost.get(&n.name)?[i]))
                        })?
                    });
                    rows.push(row(
                        &c.name,
                        &n.name,
                        RowKind::Unit,
                        cur,
                        cost,
                        [one, one],
                        1,
                        Some(node_monthly),
                    ));
                }
                // The average node count of a period: node-days billed ÷ days.
                let count = [0, 1].map(|i| {
                    let (w, b) = billed.as_ref()?;
                    let span = if i == 0 { w.previous? } else { w.current };
                    has(i).then(|| {
                        Money::from_units(b.node_days[i])
                            .mul_ratio(1, i128::from(Windows::days(span)))
                    })
                });
                let avg_monthly = per_unit(monthly, Money::from_units(c.nodes_priced as i64), 1);
                rows.push(row(
                    &c.name,
                    "per node",
                    RowKind::Average,
                    cur,
                    total,
                    count,
                    1,
                    avg_monthly,
                ));
            }
            UnitPer::Namespace | UnitPer::Workload => {
                let groups: Vec<(String, Money)> = if unit.per == UnitPer::Namespace {
                    namespace_costs(c).into_iter().map(|g| (g.name, g.monthly)).collect()
                } else {
                    c.workloads
                        .iter()
                        .filter_map(|w| {
                            Some((format!("{}/{}", w.namespace, w.name), w.monthly_cost?))
                        })
                        .collect()
                };
                let mut held = [Money::ZERO; 2];
                for (name, group_monthly) in &groups {
                    let cost = total.map(|t| t.map(|t| share(t, *group_monthly, monthly)));
                    for i in 0..2 {
                        held[i] += cost[i].unwrap_or_default();
                    }
                    rows.push(row(
                        &c.name,
                        name,
                        RowKind::Unit,
                        cur,
                        cost,
                        [one, one],
                        1,
                        Some(*group_monthly),
                    ));
                }
                let idle = [0, 1].map(|i| total[i].map(|t| t - held[i]));
                let idle_monthly = idle_monthly(c);
                rows.push(row(
                    &c.name,
                    "(idle)",
                    RowKind::Idle,
                    cur,
                    idle,
                    [None, None],
                    1,
                    idle_monthly,
                ));
                let n = Some(Money::from_units(groups.len() as i64)).filter(|n| *n > Money::ZERO);
                let what =
                    if unit.per == UnitPer::Namespace { "per namespace" } else { "per workload" };
                let avg_monthly = n.and_then(|n| per_unit(monthly, n, 1));
                rows.push(row(&c.name, what, RowKind::Average, cur, total, [n, n], 1, avg_monthly));
            }
            _ => {}
        }
    }
    if matches!(unit.per, UnitPer::Namespace | UnitPer::Workload) {
        notes.push(
            "requests-based: each unit's requests priced at the cluster's average cost per core \
             and GiB; `(idle)` is what no request holds; averages include it"
                .into(),
        );
    }
    let basis = bases.into_iter().collect::<Vec<_>>().join("; ");
    result(unit, basis, rows, notes)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::analysis::cluster::{CostSplit, cluster_report};
    use crate::model::cluster::{Cluster, ContainerResources, Node, Resources, Workload};
    use crate::model::{BilledResource, Grain, Snapshot, Tags};
    use crate::pricing::PriceCatalog;

    const GIB: u64 = 1 << 30;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    fn day(d: &str) -> NaiveDate {
        d.parse().unwrap()
    }

    fn line(
        d: &str,
        resource: &str,
        currency: &str,
        cost: &str,
        tag_set: Option<u32>,
    ) -> BillingLine {
        BillingLine {
            day: Some(day(d)),
            provider: "AWS".into(),
            account_id: "1".into(),
            service: "EC2".into(),
            region: "us-east-1".into(),
            resource_id: resource.into(),
            charge_category: "Usage".into(),
            charge_frequency: String::new().into(),
            tag_set,
            currency: Currency::new(currency),
            billed_cost: m(cost),
            effective_cost: None,
            list_cost: None,
            rows: 1,
        }
    }

    fn summary(lines: Vec<BillingLine>, tag_sets: Vec<Tags>) -> BillingSummary {
        BillingSummary {
            grain: Grain::DETAILED,
            first_day: lines.iter().filter_map(|l| l.day).min(),
            last_day: lines.iter().filter_map(|l| l.day).max(),
            lines,
            tag_sets,
            ..Default::default()
        }
    }

    fn count_unit_def(counts: &str, scale: u64) -> UnitDef {
        UnitDef {
            name: "per request".into(),
            per: UnitPer::Count,
            scope: BudgetScope::default(),
            label: Some("requests".into()),
            scale,
            file: None,
            counts: parse_counts(counts).unwrap(),
        }
    }

    #[test]
    fn count_files_need_a_header_and_name_the_bad_line_and_field() {
        let ok = parse_counts("day,count\n2026-11-01,100\n\n2026-11-02, 2.5\n").unwrap();
        assert_eq!(ok.get(&day("2026-11-02")), Some(&m("2.5")));
        let err = |text: &str| parse_counts(text).unwrap_err();
        let e = err("2026-11-01,100\n");
        assert_eq!((e.line, e.field), (1, "header"));
        let e = err("day,count\n2026-11-01,100\n2026-11-02,lots\n");
        assert_eq!((e.line, e.field), (3, "count"));
        assert_eq!(err("day,count\n2026-13-01,1\n").field, "day");
        assert_eq!(err("day,count\n2026-11-01,-1\n").field, "count");
        let e = err("day,count\n2026-11-01,1\n2026-11-01,2\n");
        assert_eq!((e.line, e.field, e.message.contains("twice")), (3, "day", true));
        assert_eq!(err("day,count\n2026-11-01,1,2\n").field, "line");
        assert_eq!(err("").field, "header");
    }

    #[test]
    fn count_units_divide_summed_cost_by_summed_count_leaving_out_days_without_a_count() {
        // Days 1–14 at 10 USD, a EUR line on day 14; counts: week 1 has 100 a day except day 3
        // (missing) and day 4 (zero); week 2 has 200 a day.
        let mut lines: Vec<BillingLine> =
            (1..=14).map(|d| line(&format!("2026-11-{d:02}"), "", "USD", "10", None)).collect();
        lines.push(line("2026-11-14", "", "EUR", "7", None));
        let mut counts = String::from("day,count\n");
        for d in 1..=14 {
            match d {
                3 => {}
                4 => counts.push_str("2026-11-04,0\n"),
                1..=7 => counts.push_str(&format!("2026-11-{d:02},100\n")),
                _ => counts.push_str(&format!("2026-11-{d:02},200\n")),
            }
        }
        let unit = count_unit_def(&counts, 1000);
        let r = unit_costs(&[unit], Some(&summary(lines, vec![])), &[], None, ResourceCost::Billed)
            .unwrap();
        assert_eq!(r.period, Some(Period::Week));
        let rows = &r.units[0].rows;
        // Currencies apart: EUR 7 over 200 requests on day 14; none before.
        let eur = rows.iter().find(|r| r.currency == Currency::new("EUR")).unwrap();
        assert_eq!(eur.current_per_unit, Some(m("35"))); // 7 × 1000 / 200
        assert_eq!(eur.previous_units, None);
        let usd = rows.iter().find(|r| r.currency == Currency::usd()).unwrap();
        // Previous week: 5 days counted, 50 USD over 500 requests → 100 per 1,000.
        assert_eq!((usd.previous_cost, usd.previous_units), (Some(m("50")), Some(m("500"))));
        assert_eq!(usd.previous_per_unit, Some(m("100")));
        // Current week: 70 USD over 1,400 → 50 per 1,000: −50 %.
        assert_eq!(usd.current_per_unit, Some(m("50")));
        assert_eq!(usd.change_ratio, Some(m("-0.5")));
        let notes = r.units[0].notes.join("\n");
        assert!(notes.contains("USD: 2 billed day(s) of the previous period"), "{notes}");
    }

    #[test]
    fn periods_follow_trends_and_a_short_billing_has_no_trend() {
        let unit = count_unit_def("day,count\n2026-11-14,4\n", 1);
        let one = summary(vec![line("2026-11-14", "", "USD", "8", None)], vec![]);
        let r =
            unit_costs(std::slice::from_ref(&unit), Some(&one), &[], None, ResourceCost::Billed)
                .unwrap();
        assert_eq!((r.period, r.previous), (None, None));
        assert_eq!(r.current, Some(Span { from: day("2026-11-14"), to: day("2026-11-14") }));
        assert_eq!(r.units[0].rows[0].current_per_unit, Some(m("2")));
        let err = unit_costs(
            std::slice::from_ref(&unit),
            Some(&one),
            &[],
            Some(Period::Week),
            ResourceCost::Billed,
        )
        .unwrap_err();
        assert!(err.to_string().contains("needs billing from 2026-11-01"), "{err}");
        // Two whole months: month over month.
        let two = summary(
            vec![
                line("2026-10-01", "", "USD", "1", None),
                line("2026-11-30", "", "USD", "1", None),
            ],
            vec![],
        );
        let r = unit_costs(&[unit], Some(&two), &[], None, ResourceCost::Billed).unwrap();
        assert_eq!(r.period, Some(Period::Month));
        assert_eq!(r.previous, Some(Span { from: day("2026-10-01"), to: day("2026-10-31") }));
    }

    #[test]
    fn tag_units_sum_billed_cost_per_value_in_scope_and_average_the_tagged_values() {
        let env = |v: &str| Tags::from([("env".to_string(), v.to_string())]);
        let mut lines = vec![
            line("2026-11-01", "", "USD", "10", Some(0)),
            line("2026-11-14", "", "USD", "30", Some(0)),
            line("2026-11-14", "", "USD", "6", Some(1)),
            line("2026-11-14", "", "USD", "4", None),
        ];
        let mut other = line("2026-11-14", "", "USD", "1000", Some(0));
        other.service = "S3".into();
        lines.push(other);
        let unit = UnitDef {
            name: "per env".into(),
            per: UnitPer::Tag("env".into()),
            scope: BudgetScope { filters: vec![ScopeFilter::Service("EC2".into())] },
            label: None,
            scale: 1,
            file: None,
            counts: BTreeMap::new(),
        };
        let s = summary(lines, vec![env("prod"), env("dev")]);
        let r =
            unit_costs(&[unit], Some(&s), &[], Some(Period::Week), ResourceCost::Billed).unwrap();
        let rows = &r.units[0].rows;
        let get = |u: &str| rows.iter().find(|r| r.unit == u).unwrap();
        // The S3 line is out of scope.
        assert_eq!(
            (get("prod").previous_cost, get("prod").current_cost),
            (Some(m("10")), Some(m("30")))
        );
        assert_eq!(get("prod").change_ratio, Some(m("2")));
        assert_eq!(get("dev").previous_per_unit, None);
        assert_eq!(get("").current_cost, Some(m("4")));
        // Average of the tagged values: (30 + 6) / 2; before, prod alone.
        let avg = rows.iter().find(|r| r.kind == RowKind::Average).unwrap();
        assert_eq!((avg.previous_per_unit, avg.current_per_unit), (Some(m("10")), Some(m("18"))));
    }

    #[test]
    fn billing_without_dated_lines_says_so() {
        let mut undated = line("2026-11-01", "i-1", "USD", "5", Some(0));
        undated.day = None;
        let mut s = summary(vec![undated], vec![Tags::new()]);
        s.first_day = Some(day("2026-11-01"));
        s.last_day = Some(day("2026-11-14"));
        let unit = UnitDef {
            name: "env".into(),
            per: UnitPer::Tag("env".into()),
            scope: BudgetScope::default(),
            label: None,
            scale: 1,
            file: None,
            counts: BTreeMap::new(),
        };
        let r = unit_costs(&[unit], Some(&s), &[], None, ResourceCost::Billed).unwrap();
        assert!(r.units[0].rows.is_empty());
        assert!(
            r.units[0].notes.iter().any(|n| n.contains("keeps no days")),
            "{:?}",
            r.units[0].notes
        );
    }

    #[test]
    fn environments_come_from_the_namespace_then_the_platform_then_the_cluster() {
        assert_eq!(environment_of("shop-staging", "acme-prod-eks"), "staging");
        assert_eq!(environment_of("PRD_payments", "x"), "prod");
        assert_eq!(environment_of("kube-system", "acme-prod-eks"), "system");
        assert_eq!(environment_of("cert-manager-system", "c"), "system");
        assert_eq!(environment_of("web", "acme-prod-eks"), "prod");
        assert_eq!(environment_of("web", "kind"), "unknown");
    }

    fn node(name: &str, id: &str) -> Node {
        Node {
            name: name.into(),
            provider_id: Some(format!("aws:///us-east-1a/{id}")),
            instance_type: Some("m5.large".into()),
            region: Some("us-east-1".into()),
            allocatable: Resources { cpu_millicores: 2000, memory_bytes: 8 * GIB },
            capacity: Resources { cpu_millicores: 2000, memory_bytes: 8 * GIB },
            ..Default::default()
        }
    }

    fn workload(namespace: &str, name: &str, cpu: u64, gib: u64) -> Workload {
        Workload {
            namespace: namespace.into(),
            kind: "Deployment".into(),
            name: name.into(),
            replicas: 1,
            containers: vec![ContainerResources {
                name: "c".into(),
                requests: Resources { cpu_millicores: cpu, memory_bytes: gib * GIB },
                limits: None,
                usage: None,
                usage_source: None,
            }],
            network: None,
        }
    }

    #[test]
    fn kubernetes_units_take_billed_nodes_by_day_and_prorate_the_others() {
        let mut snapshot = Snapshot::empty(Utc.with_ymd_and_hms(2026, 11, 15, 0, 0, 0).unwrap());
        snapshot.clusters.push(Cluster {
            name: "eks".into(),
            // "a" is billed by day; "b" is only in the catalog (m5.large: 0.096/h).
            nodes: vec![node("a", "i-a"), node("b", "i-b")],
            workloads: vec![
                workload("web", "api", 1000, 4),
                workload("web", "ui", 500, 2),
                workload("jobs", "batch", 500, 2),
            ],
            ..Default::default()
        });
        // i-a: 2 a day in the previous week, 3 a day in the current one.
        let lines: Vec<BillingLine> = (1..=14)
            .map(|d| {
                line(&format!("2026-11-{d:02}"), "i-a", "USD", if d <= 7 { "2" } else { "3" }, None)
            })
            .collect();
        let mut s = summary(lines, vec![]);
        s.resources.insert(
            "i-a".into(),
            BilledResource {
                first_day: Some(day("2026-11-01")),
                last_day: Some(day("2026-11-14")),
                ..Default::default()
            },
        );
        snapshot.billing = Some(s);
        let catalog = PriceCatalog::builtin().unwrap();
        let clusters = cluster_report(&snapshot, &catalog, CostSplit::default());
        let defs: Vec<UnitDef> = ["cluster", "node", "namespace"]
            .into_iter()
            .map(|per| UnitDef {
                name: per.into(),
                per: UnitPer::parse(per).unwrap(),
                scope: BudgetScope::default(),
                label: None,
                scale: 1,
                file: None,
                counts: BTreeMap::new(),
            })
            .collect();
        let r = unit_costs(&defs, snapshot.billing.as_ref(), &clusters, None, ResourceCost::Billed)
            .unwrap();
        assert_eq!(r.period, Some(Period::Week));
        // b: 0.096 × 24 × 7 = 16.128 a week.
        let cluster = &r.units[0].rows[0];
        assert_eq!(cluster.previous_cost, Some(m("30.128"))); // 14 + 16.128
        assert_eq!(cluster.current_cost, Some(m("37.128"))); // 21 + 16.128
        assert!(r.units[0].basis.contains("1 node(s)"), "{}", r.units[0].basis);
        let nodes = &r.units[1].rows;
        assert_eq!(nodes[0].current_cost, Some(m("21")));
        assert_eq!(nodes[1].current_cost, Some(m("16.128")));
        let avg = nodes.iter().find(|r| r.kind == RowKind::Average).unwrap();
        // 14 node-days over 7 days: 2 nodes; 37.128 / 2.
        assert_eq!(avg.current_units, Some(m("2")));
        assert_eq!(avg.current_per_unit, Some(m("18.564")));
        // Namespaces: requests' share of the monthly cost, idle apart, summing to the cluster.
        let ns = &r.units[2].rows;
        let monthly = clusters[0].costs.unwrap().monthly;
        let web: Money = clusters[0]
            .workloads
            .iter()
            .filter(|w| w.namespace == "web")
            .filter_map(|w| w.monthly_cost)
            .sum();
        let web_row = ns.iter().find(|r| r.unit == "web").unwrap();
        assert_eq!(web_row.monthly_cost, Some(web));
        let expected =
            m("37.128").mul_ratio(web.raw() / 10i128.pow(12), monthly.raw() / 10i128.pow(12));
        assert_eq!(web_row.current_cost, Some(expected.round_dp(6)));
        let sum: Money =
            ns.iter().filter(|r| r.kind != RowKind::Average).filter_map(|r| r.current_cost).sum();
        assert_eq!(sum, m("37.128"));
        assert_eq!(ns.iter().filter(|r| r.kind == RowKind::Unit).count(), 2);
        // Environments of this cluster: both namespaces have no word, the cluster neither.
        let envs = environment_costs(&clusters[0]);
        assert_eq!(envs.len(), 1);
        assert_eq!(
            (envs[0].name.as_str(), envs[0].monthly),
            ("unknown", web + ns_monthly(&clusters[0], "jobs"))
        );
    }

    fn ns_monthly(c: &ClusterReport, ns: &str) -> Money {
        c.workloads.iter().filter(|w| w.namespace == ns).filter_map(|w| w.monthly_cost).sum()
    }
}
