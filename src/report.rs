//! The one pipeline both front ends use: gather sources into a snapshot, analyse it, and
//! produce the [`Report`] that exports and the dashboard render.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

use crate::analysis::anomalies::{AnomalyParams, AnomalyReport, GroupBy, detect_in_billing};
use crate::analysis::budgets::{Budget, BudgetEvaluation, evaluate_budgets_with, model_forecast};
use crate::analysis::cluster::{ClusterReport, cluster_report};
use crate::analysis::costs::CurrencyTotal;
use crate::analysis::overview::{CurrencyOverview, overview};
use crate::analysis::rules::{Engine, Finding};
use crate::analysis::tag_coverage::{TagCoverage, tag_coverage};
use crate::cli::SourceArgs;
use crate::model::{Currency, Grain, Money, Snapshot, SourceState, SourceStatus};
use crate::source::SourceError;
use crate::source::billing::{ReadOptions, read_billing};
use crate::source::focus::FocusOptions;
use crate::source::snapshot_file::read_snapshot;
use crate::suppressions::Suppressions;

#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(
        "no data source: give --sample, --focus FILE, --cur FILE, --athena TABLE, --snapshot FILE, --aws, --kube or --kube-dump DIR"
    )]
    NoSource,
    #[error("{0}")]
    Usage(String),
    /// Every AWS profile failed and nothing else was asked for.
    #[error("AWS: {0}")]
    Aws(String),
}

impl GatherError {
    pub fn is_bad_input(&self) -> bool {
        match self {
            GatherError::Source(e) => e.is_bad_input(),
            GatherError::NoSource | GatherError::Usage(_) => true,
            GatherError::Aws(_) => false,
        }
    }
}

/// The source name of billing files: `focus:a.csv,b.parquet`, then `cur:…` when given, then
/// the Athena table (`athena:db.table`).
pub fn billing_source_name(inputs: &[crate::source::billing::BillingInput]) -> String {
    use crate::source::billing::Location;
    let mut parts: Vec<String> = Vec::new();
    let (tables, files): (Vec<_>, Vec<_>) =
        inputs.iter().partition(|i| matches!(i.location, Location::Athena(_)));
    for scheme in [crate::source::billing::Scheme::Focus, crate::source::billing::Scheme::Cur] {
        let names: Vec<String> =
            files.iter().filter(|i| i.scheme == scheme).map(|i| i.display()).collect();
        if !names.is_empty() {
            parts.push(format!("{}:{}", scheme.flag(), names.join(",")));
        }
    }
    parts.extend(tables.iter().map(|i| i.display()));
    parts.join(" ")
}

/// Reads the billing inputs. An Athena table that cannot be read is a Failed status (exit 3)
/// rather than the end of the run, as a failing live source is: the files given beside it are
/// read alone, and with none the billing is empty.
fn read_inputs(
    inputs: &[crate::source::billing::BillingInput],
    read: ReadOptions,
) -> Result<(crate::model::BillingSummary, SourceStatus), GatherError> {
    use crate::source::billing::{Location, read_billing_noted};
    match read_billing_noted(inputs, read, None) {
        Ok((billing, notes)) => {
            let mut status = ok_status(&billing_source_name(inputs));
            status.notes = notes;
            Ok((billing, status))
        }
        Err(SourceError::Athena { table, message }) => {
            let files: Vec<_> = inputs
                .iter()
                .filter(|i| !matches!(i.location, Location::Athena(_)))
                .cloned()
                .collect();
            let billing = read_billing(&files, read)?;
            let status = SourceStatus {
                name: billing_source_name(inputs),
                state: SourceState::Failed,
                warnings: vec![format!("{table}: {message}")],
                notes: Vec::new(),
            };
            Ok((billing, status))
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads every requested source into one snapshot. Billing is aggregated at `grain`.
pub fn gather(sources: &SourceArgs, grain: Grain) -> Result<Snapshot, GatherError> {
    if sources.is_empty() {
        return Err(GatherError::NoSource);
    }
    let options = FocusOptions { grain, skip_invalid: sources.skip_invalid };
    let mut snapshot: Option<Snapshot> = None;
    let mut statuses = Vec::new();
    if sources.sample {
        let mut s = crate::sample::snapshot()?;
        s.billing = Some(crate::sample::billing(options)?);
        statuses.push(ok_status("sample"));
        snapshot = Some(s);
    }
    if let Some(path) = &sources.snapshot {
        if snapshot.is_some() {
            return Err(GatherError::Usage("--snapshot cannot be combined with --sample".into()));
        }
        let s = read_snapshot(path)?;
        if let Some(b) = &s.billing
            && !covers(b.grain, grain)
        {
            return Err(GatherError::Usage(format!(
                "{}: the snapshot's billing was collected at a coarser grain than this command needs; collect it again with `costscope collect`",
                path.display()
            )));
        }
        statuses.extend(s.sources.iter().cloned());
        statuses.push(ok_status(&format!("snapshot:{}", path.display())));
        snapshot = Some(s);
    }
    let inputs = sources.billing_inputs()?;
    if !inputs.is_empty() {
        let read = ReadOptions { focus: options, progress: sources.progress };
        let (billing, mut status) = read_inputs(&inputs, read)?;
        if let Some(s) = billing.skipped.summary() {
            status.state = SourceState::Partial;
            status.warnings.push(s);
        }
        let snap = snapshot
            .get_or_insert_with(|| Snapshot::empty(billing_as_of(&billing).unwrap_or_else(epoch)));
        if snap.billing.is_some() {
            status
                .warnings
                .push("billing from the billing files replaces the snapshot's billing".into());
        }
        snap.billing = Some(billing);
        statuses.push(status);
    } else if let Some(s) = snapshot.as_mut()
        && let Some(b) = s.billing.as_ref()
        && let Some(summary) = b.skipped.summary()
        && let Some(last) = statuses.last_mut()
    {
        last.warnings.push(summary);
    }
    let (clusters, failure) = gather_kube(sources, &mut statuses)?;
    if let Some(e) = failure
        && snapshot.is_none()
        && clusters.is_empty()
        && !sources.uses_aws()
    {
        // Nothing else to report on: the failure is the answer.
        return Err(e.into());
    }
    let aws = sources.uses_aws().then(|| gather_aws(sources, grain, snapshot.as_ref()));
    if let Some(aws) = &aws
        && aws.all_failed()
        && snapshot.is_none()
        && clusters.is_empty()
    {
        let why: Vec<String> = aws
            .statuses
            .iter()
            .flat_map(|s| s.warnings.iter().map(|w| format!("{}: {w}", s.name)))
            .collect();
        return Err(GatherError::Aws(why.join("; ")));
    }
    if snapshot.is_none() && (!clusters.is_empty() || !statuses.is_empty() || aws.is_some()) {
        let as_of = clusters.iter().find_map(|c| c.as_of).unwrap_or_else(Utc::now);
        snapshot = Some(Snapshot::empty(as_of));
    }
    let mut snapshot = snapshot.ok_or(GatherError::NoSource)?;
    snapshot.clusters.extend(clusters.into_iter().map(|c| c.cluster));
    if let Some(aws) = aws {
        statuses.extend(merge_aws(&mut snapshot, aws));
    }
    snapshot.sources = statuses;
    Ok(snapshot)
}

/// Adds what live AWS gave to `snapshot` (ages are then measured from when the APIs were read)
/// and returns its statuses, one per profile.
pub fn merge_aws(snapshot: &mut Snapshot, aws: crate::source::aws::Collected) -> Vec<SourceStatus> {
    snapshot.collected_at = aws.as_of;
    snapshot.inventory.extend(aws.inventory);
    snapshot.utilization.extend(aws.utilization);
    if snapshot.billing.is_none() {
        snapshot.billing = aws.billing;
    }
    if let Some(live) = aws.live_commitments {
        match &mut snapshot.live_commitments {
            Some(have) => have.extend(live),
            None => snapshot.live_commitments = Some(live),
        }
    }
    snapshot.normalize();
    aws.statuses
}

/// Reads live AWS. Billing comes from Cost Explorer only when no file gave it: a FOCUS export
/// has resource ids (each resource's real cost), Cost Explorer's daily totals do not, and every
/// Cost Explorer request is paid.
pub fn gather_aws(
    sources: &SourceArgs,
    grain: Grain,
    so_far: Option<&Snapshot>,
) -> crate::source::aws::Collected {
    use crate::source::aws::{self, AwsOptions, cache::Cache};
    let now = Utc::now();
    let has_billing = so_far.is_some_and(|s| s.billing.is_some());
    let ttl = sources.cost_explorer_ttl.unwrap_or(aws::cache::DEFAULT_TTL);
    let cache_dir =
        std::env::var_os("COSTSCOPE_CACHE_DIR").filter(|v| !v.is_empty()).map(Into::into);
    let options = AwsOptions {
        profiles: sources.aws_profiles(),
        regions: sources.regions.clone(),
        lookback_days: sources.lookback_days,
        billing: !has_billing,
        tag_keys: sources.tag_keys.clone(),
        grain,
        cache: Cache::new(cache_dir, ttl, sources.refresh, now),
        now,
        progress: sources.progress,
        timeouts: sources.aws_timeouts,
        commitments: sources.aws_commitments,
    };
    aws::read(&options)
}

/// Reads the Kubernetes sources: every live context (a failure is a Failed status, returned
/// too so a run with nothing else can fail with it) and every dump directory (a bad file is bad
/// input and stops the run, naming the file).
pub fn gather_kube(
    sources: &SourceArgs,
    statuses: &mut Vec<SourceStatus>,
) -> Result<(Vec<crate::source::kube::Collected>, Option<SourceError>), GatherError> {
    use crate::source::kube::{dump, live};
    let mut clusters = Vec::new();
    let mut failure = None;
    let history = history_config(sources);
    for context in sources.kube_contexts() {
        let name = format!("kube:{}", context.as_deref().unwrap_or("current-context"));
        match live::read_with(None, context.as_deref(), history.as_ref(), sources.kube_timeout()) {
            Ok(c) => {
                statuses.push(c.status(&name));
                clusters.push(c);
            }
            Err(e) => {
                let status = SourceStatus {
                    name,
                    state: SourceState::Failed,
                    warnings: vec![e.to_string()],
                    notes: Vec::new(),
                };
                statuses.push(status);
                failure.get_or_insert(e);
            }
        }
    }
    for dir in &sources.kube_dump {
        let c = dump::read_dump_with(dir, history.as_ref())?;
        statuses.push(c.status(&format!("kube-dump:{}", dir.display())));
        clusters.push(c);
    }
    Ok((clusters, failure))
}

/// Where to read Kubernetes usage history, when `--prometheus` was given.
pub fn history_config(sources: &SourceArgs) -> Option<crate::source::prometheus::HistoryConfig> {
    let url = sources.prometheus.as_deref()?;
    Some(crate::source::prometheus::HistoryConfig::new(url, sources.lookback_days))
}

fn covers(have: Grain, need: Grain) -> bool {
    (!need.day || have.day)
        && (!need.provider || have.provider)
        && (!need.service || have.service)
        && (!need.account || have.account)
        && (!need.region || have.region)
        && (!need.resource || have.resource)
        && (!need.charge_category || have.charge_category)
        && (!need.tags || have.tags)
}

fn ok_status(name: &str) -> SourceStatus {
    SourceStatus {
        name: name.to_string(),
        state: SourceState::Ok,
        warnings: Vec::new(),
        notes: Vec::new(),
    }
}

fn epoch() -> DateTime<Utc> {
    Utc.timestamp_opt(0, 0).single().unwrap_or_default()
}

/// Billing alone is "as of" the day after its last charge, so the same files always give the
/// same report.
fn billing_as_of(billing: &crate::model::BillingSummary) -> Option<DateTime<Utc>> {
    let (_, last) = billing.period()?;
    let next = last.succ_opt()?;
    Some(Utc.from_utc_datetime(&next.and_hms_opt(0, 0, 0)?))
}

/// Potential savings of one currency; each resource counted once.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SavingsTotal {
    pub currency: Currency,
    pub estimated_monthly_savings: Money,
    pub findings: u64,
    pub resources: u64,
}

/// Findings and savings of one rule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleTotal {
    pub rule_id: String,
    pub title: String,
    pub findings: u64,
    pub alternatives: u64,
    /// Savings of its primary findings, per currency.
    pub estimated_monthly_savings: BTreeMap<Currency, Money>,
}

impl RuleTotal {
    /// `8`, or `8 (2 alternatives)` when some findings are another action on a resource.
    pub fn findings_text(&self) -> String {
        if self.alternatives > 0 {
            format!("{} ({} alternatives)", self.findings, self.alternatives)
        } else {
            self.findings.to_string()
        }
    }
}

/// One account's billed spend in the overview's current month, to date.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AccountSpend {
    pub currency: Currency,
    /// SubAccountId (or BillingAccountId); empty where the billing had none.
    pub account_id: String,
    /// The account's display name, where the billing has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    pub billed_cost: Money,
}

/// Everything the exports and the dashboard show; they compute nothing of their own.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub collected_at: DateTime<Utc>,
    pub sources: Vec<SourceStatus>,
    /// Billed spend per currency, when billing was given.
    pub spend: Vec<CurrencyTotal>,
    /// The dashboard's overview per currency: this month against the previous one, forecast,
    /// daily series, top services. Empty without dated billing.
    pub overview: Vec<CurrencyOverview>,
    /// Each day's spend by the largest services, usage apart from other charges (the HTML
    /// report's stacked chart). Empty without dated billing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub daily_by_service: Vec<crate::analysis::daily_spend::DailyServiceSpend>,
    /// Billed cost over the whole data period by service, by account and by each required tag,
    /// as `costs --by` gives them. Empty without billing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub spend_by: Vec<crate::analysis::costs::CostBreakdown>,
    /// The overview's month to date by account (see [`AccountSpend`]). Empty without dated
    /// billing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub account_spend: Vec<AccountSpend>,
    /// Utilization and idle cost of each Kubernetes cluster.
    pub clusters: Vec<ClusterReport>,
    pub totals: Vec<SavingsTotal>,
    pub by_rule: Vec<RuleTotal>,
    pub findings: Vec<Finding>,
    pub resources_evaluated: u64,
    /// Rule id → resources skipped for too little utilization data.
    pub insufficient_data: BTreeMap<String, u64>,
    pub insufficient_data_resources: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag_coverage: Option<TagCoverage>,
    /// Per currency, the share of billed spend some enabled rule judges, and the services none
    /// does. Empty without billing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub spend_coverage: Vec<crate::analysis::spend_coverage::SpendCoverage>,
    /// Findings left out because they are in the suppressions file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suppressed: Vec<SuppressedFinding>,
    /// Billing rows skipped by `--skip-invalid`, when any were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped_rows: Option<String>,
    /// Commitment utilization, coverage and purchase advice, when billing has compute usage or
    /// commitments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commitments: Option<crate::analysis::commitments::CommitmentsReport>,
    /// Usage anomalies by service and account (the `anomalies` command's default grouping), with
    /// non-usage charges listed apart. `None` without dated billing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anomalies: Option<AnomalyReport>,
    /// The config's budgets: actual, forecast, variance, status. Empty when none is configured.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub budgets: Vec<BudgetEvaluation>,
    /// The chargeback over the whole period, when the config names an `[allocation] key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocation: Option<crate::analysis::allocation::Allocation>,
    pub warnings: Vec<String>,
}

/// The monthly review's settings a report applies (from costscope.toml): the anomaly detector's
/// parameters and the budgets.
#[derive(Clone, Debug, Default)]
pub struct ReviewSettings {
    pub anomalies: AnomalyParams,
    pub budgets: Vec<Budget>,
    /// The chargeback's settings; the report allocates when they name a key.
    pub allocation: crate::analysis::allocation::AllocationSettings,
}

impl ReviewSettings {
    pub fn from_config(config: &crate::config::Config) -> ReviewSettings {
        ReviewSettings {
            anomalies: AnomalyParams::from_settings(&config.anomalies),
            budgets: config.budgets.clone(),
            allocation: config.allocation.clone(),
        }
    }
}

impl Report {
    /// Whether any source failed or delivered only part of its data (exit code 3).
    pub fn is_partial(&self) -> bool {
        self.sources.iter().any(|s| s.state != SourceState::Ok)
    }

    /// The largest total potential savings of any one currency (each resource once); amounts
    /// in different currencies are never added together.
    pub fn max_savings(&self) -> Money {
        self.totals.iter().map(|t| t.estimated_monthly_savings).max().unwrap_or(Money::ZERO)
    }

    /// Notes every export must carry: skipped rows and warnings.
    pub fn notes(&self) -> crate::export::Notes {
        let mut warnings = Vec::new();
        for s in &self.sources {
            for w in s.warnings.iter().filter(|w| Some(*w) != self.skipped_rows.as_ref()) {
                warnings.push(format!("{}: {w}", s.name));
            }
        }
        warnings.extend(self.warnings.iter().cloned());
        crate::export::Notes { skipped: self.skipped_rows.clone(), warnings }
    }
}

/// The budgets evaluated on `billing` with the forecast model, or the warning a report carries
/// when they cannot be (no dated billing, or a scope the billing's grain does not keep).
pub fn review_budgets(
    budgets: &[Budget],
    billing: &crate::model::BillingSummary,
) -> Result<Vec<BudgetEvaluation>, String> {
    evaluate_budgets_with(budgets, billing, model_forecast).map_err(|e| format!("budgets: {e}"))
}

/// Whether budgets need billing re-read at [`crate::analysis::budgets::GRAIN`]: a report reads at
/// [`Grain::FULL`], whose only dated figures are the daily rollup, without tags.
pub fn budgets_need_dated_lines(
    budgets: &[Budget],
    billing: &crate::model::BillingSummary,
) -> bool {
    let tagged = budgets.iter().any(|b| {
        b.scope
            .filters
            .iter()
            .any(|f| matches!(f, crate::analysis::budgets::ScopeFilter::Tag { .. }))
    });
    tagged && !billing.lines.iter().any(|l| l.day.is_some())
}

/// Reads only the billing of `sources` (sample, snapshot, billing files) at `grain`: what a
/// command re-reads when its main read's grain cannot answer a part of it. `None` when the
/// sources hold no billing besides live APIs.
pub fn gather_billing(
    sources: &SourceArgs,
    grain: Grain,
) -> Result<Option<crate::model::BillingSummary>, GatherError> {
    let options = FocusOptions { grain, skip_invalid: sources.skip_invalid };
    let inputs = sources.billing_inputs()?;
    if !inputs.is_empty() {
        let read = ReadOptions { focus: options, progress: sources.progress };
        // A failing Athena table was already told by the main read's status.
        return Ok(Some(read_inputs(&inputs, read)?.0));
    }
    if sources.sample {
        return Ok(Some(crate::sample::billing(options)?));
    }
    Ok(None)
}

/// Analyses a snapshot into a report.
pub fn build_report(snapshot: &Snapshot, engine: &Engine, required_tags: &[String]) -> Report {
    build_report_with(snapshot, engine, required_tags, None, &ReviewSettings::default())
}

/// A finding left out of the report because the user ignored it (suppressions file).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SuppressedFinding {
    pub rule_id: String,
    pub resource_id: String,
    pub reason: String,
    pub estimated_monthly_savings: Money,
    pub currency: Currency,
}

/// Like [`build_report`], leaving out the findings `suppressions` covers at `now` (expired
/// entries no longer apply).
/// How many services the daily chart draws apart.
const DAILY_SERVICES: usize = 6;

/// Billed cost by service, by account and by each required tag. Tags need per-resource lines
/// (full grain); at other grains only service and account are given.
fn spend_by(
    billing: &crate::model::BillingSummary,
    required_tags: &[String],
) -> Vec<crate::analysis::costs::CostBreakdown> {
    use crate::analysis::costs::{Dimension, breakdown};
    let mut dimensions = vec![Dimension::Service, Dimension::Account];
    if billing.grain.is_full() {
        dimensions.extend(required_tags.iter().map(|k| Dimension::Tag(k.clone())));
    }
    dimensions.iter().map(|d| breakdown(billing, d)).filter(|b| !b.rows.is_empty()).collect()
}

pub fn build_report_with(
    snapshot: &Snapshot,
    engine: &Engine,
    required_tags: &[String],
    suppressions: Option<(&Suppressions, DateTime<Utc>)>,
    review: &ReviewSettings,
) -> Report {
    let is_suppressed = |f: &Finding| -> Option<String> {
        let (set, now) = suppressions?;
        set.matches(&f.rule_id, &f.resource_id, now).map(|s| s.reason.clone())
    };
    let evaluation = engine.evaluate_with(snapshot, required_tags, &is_suppressed);
    let suppressed = evaluation
        .suppressed
        .iter()
        .map(|(f, reason)| SuppressedFinding {
            rule_id: f.rule_id.clone(),
            resource_id: f.resource_id.clone(),
            reason: reason.clone(),
            estimated_monthly_savings: f.estimated_monthly_savings,
            currency: f.currency.clone(),
        })
        .collect();
    let mut totals: BTreeMap<&Currency, SavingsTotal> = BTreeMap::new();
    let mut by_rule: BTreeMap<&str, RuleTotal> = BTreeMap::new();
    for f in &evaluation.findings {
        let rule = by_rule.entry(&f.rule_id).or_insert_with(|| RuleTotal {
            rule_id: f.rule_id.clone(),
            title: f.title.clone(),
            findings: 0,
            alternatives: 0,
            estimated_monthly_savings: BTreeMap::new(),
        });
        rule.findings += 1;
        if f.alternative {
            rule.alternatives += 1;
            continue;
        }
        *rule.estimated_monthly_savings.entry(f.currency.clone()).or_default() +=
            f.estimated_monthly_savings;
        let total = totals.entry(&f.currency).or_insert_with(|| SavingsTotal {
            currency: f.currency.clone(),
            estimated_monthly_savings: Money::ZERO,
            findings: 0,
            resources: 0,
        });
        total.estimated_monthly_savings += f.estimated_monthly_savings;
        total.resources += 1;
    }
    for f in &evaluation.findings {
        if let Some(t) = totals.get_mut(&f.currency) {
            t.findings += 1;
        }
    }
    let mut by_rule: Vec<RuleTotal> = by_rule.into_values().collect();
    by_rule.sort_by(|a, b| {
        let sa: Money = a.estimated_monthly_savings.values().copied().sum();
        let sb: Money = b.estimated_monthly_savings.values().copied().sum();
        sb.cmp(&sa).then_with(|| a.rule_id.cmp(&b.rule_id))
    });
    let billing = snapshot.billing.as_ref();
    let spend = billing
        .map(|b| {
            crate::analysis::costs::breakdown(b, &crate::analysis::costs::Dimension::Provider)
                .totals
        })
        .unwrap_or_default();
    let tag_coverage =
        billing.filter(|b| b.grain.is_full()).map(|b| tag_coverage(b, required_tags));
    let overview = billing.map(overview).unwrap_or_default();
    let daily_by_service = billing
        .map(|b| crate::analysis::daily_spend::daily_by_service(b, DAILY_SERVICES))
        .unwrap_or_default();
    let spend_by = billing.map(|b| spend_by(b, required_tags)).unwrap_or_default();
    let account_spend = billing.map(|b| account_spend(b, &overview)).unwrap_or_default();
    let judging = engine.rules().rules.iter().filter(|r| r.enabled).map(|r| r.resource);
    let spend_coverage = billing
        .map(|b| crate::analysis::spend_coverage::spend_coverage(b, judging))
        .unwrap_or_default();
    let clusters = cluster_report(snapshot, engine.catalog(), engine.cluster_pricing());
    let mut warnings: Vec<String> = evaluation.errors.iter().map(|e| e.to_string()).collect();
    let anomalies = billing
        .map(|b| detect_in_billing(b, &GroupBy::default(), &review.anomalies))
        .filter(|a| a.first_day.is_some());
    let budgets = match billing {
        Some(b) if !review.budgets.is_empty() => {
            review_budgets(&review.budgets, b).unwrap_or_else(|e| {
                warnings.push(e);
                Vec::new()
            })
        }
        _ => Vec::new(),
    };
    let commitment_params =
        crate::analysis::commitments::CommitmentParams::from_rules(engine.rules());
    let commitments = Some(crate::analysis::commitments::analyse_snapshot(
        snapshot,
        engine.catalog().commitments(),
        &commitment_params,
    ))
    .filter(|c| !c.is_empty());
    let allocation = match (billing, &review.allocation.key) {
        (Some(b), Some(key)) if b.grain.is_full() => {
            use crate::analysis::allocation::{self, AllocationPeriod};
            // Clusters matter only when namespaces map to teams (as in `allocate`).
            let shares: Vec<allocation::ClusterShares> = if review.allocation.namespaces.is_empty()
            {
                Vec::new()
            } else {
                clusters.iter().map(allocation::cluster_shares).collect()
            };
            allocation::allocate(b, &review.allocation, key, AllocationPeriod::All, false, &shares)
                .map_err(|e| warnings.push(format!("chargeback: {e}")))
                .ok()
        }
        _ => None,
    };
    Report {
        collected_at: snapshot.collected_at,
        sources: snapshot.sources.clone(),
        spend,
        overview,
        daily_by_service,
        spend_by,
        account_spend,
        clusters,
        totals: totals.into_values().collect(),
        by_rule,
        findings: evaluation.findings,
        resources_evaluated: evaluation.resources_evaluated,
        insufficient_data: evaluation.insufficient_data,
        insufficient_data_resources: evaluation.insufficient_resources,
        tag_coverage,
        spend_coverage,
        suppressed,
        skipped_rows: billing.and_then(|b| b.skipped.summary()),
        commitments,
        anomalies,
        budgets,
        allocation,
        warnings,
    }
}

/// Each currency's billed spend by account over its overview's current month, from the same
/// dated rows as [`overview`] (the daily rollup, else lines that carry a day), so a currency's
/// accounts add up to its `current_month`. By currency, then largest first, then account id.
fn account_spend(
    billing: &crate::model::BillingSummary,
    overview: &[CurrencyOverview],
) -> Vec<AccountSpend> {
    let months: BTreeMap<&Currency, (chrono::NaiveDate, chrono::NaiveDate)> =
        overview.iter().map(|o| (&o.currency, (o.current_month.month, o.period_end))).collect();
    type Row<'a> = (&'a Currency, &'a str, chrono::NaiveDate, Money);
    let rows: Box<dyn Iterator<Item = Row<'_>>> = if billing.daily.is_empty() {
        Box::new(
            billing
                .lines
                .iter()
                .filter_map(|l| Some((&l.currency, l.account_id.as_str(), l.day?, l.billed_cost))),
        )
    } else {
        Box::new(
            billing
                .daily
                .iter()
                .map(|l| (&l.currency, l.account_id.as_str(), l.day, l.billed_cost)),
        )
    };
    let mut sums: BTreeMap<(&Currency, &str), Money> = BTreeMap::new();
    for (currency, account, day, billed) in rows {
        if let Some((from, to)) = months.get(currency)
            && (*from..=*to).contains(&day)
        {
            *sums.entry((currency, account)).or_default() += billed;
        }
    }
    let mut spend: Vec<AccountSpend> = sums
        .into_iter()
        .map(|((currency, account), billed_cost)| AccountSpend {
            currency: currency.clone(),
            account_id: account.to_string(),
            account_name: billing.account_names.get(account).cloned(),
            billed_cost,
        })
        .collect();
    spend.sort_by(|a, b| {
        a.currency
            .cmp(&b.currency)
            .then_with(|| b.billed_cost.cmp(&a.billed_cost))
            .then_with(|| a.account_id.cmp(&b.account_id))
    });
    spend
}
