//! Commitments from billing alone: each commitment's utilization, how much eligible compute ran
//! on a commitment (coverage), and what steady on-demand usage a new plan would cover.
//!
//! Amounts are EffectiveCost (amortized: what the commitment's share really costs), or
//! BilledCost on rows without one. Coverage compares usage at on-demand prices (ListCost) when
//! every row of a group has one, since a covered hour's EffectiveCost is already discounted;
//! otherwise EffectiveCost, and the report says which.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime, Timelike};
use serde::Serialize;

use crate::analysis::rules::rule::{Param, RuleSet};
use crate::model::commitments::{
    CeFigure, CeMetric, CeRecommendation, CommitmentCharge, CommitmentData, ComputeUsage,
    LiveCommitment, LiveCommitments, LiveKind, Pricing,
};
use crate::model::{BillingSummary, Currency, Money, Snapshot};
use crate::pricing::catalog::HOURS_PER_MONTH;
use crate::pricing::commitments::{CommitmentRates, Payment};

/// Rule parameters the commitment analysis shares with the rules, so the table and the
/// findings agree.
#[derive(Clone, Debug, PartialEq)]
pub struct CommitmentParams {
    pub min_utilization_percent: f64,
    pub baseline_percentile: f64,
    pub term_years: u32,
    pub payment: Payment,
}

impl Default for CommitmentParams {
    fn default() -> Self {
        CommitmentParams {
            min_utilization_percent: 95.0,
            baseline_percentile: 10.0,
            term_years: 1,
            payment: Payment::NoUpfront,
        }
    }
}

impl CommitmentParams {
    /// The params of `commitment-underutilized` and `commitment-purchase` where the rule set
    /// has them (a user may override them in costscope.toml), else the defaults.
    pub fn from_rules(rules: &RuleSet) -> CommitmentParams {
        let mut p = CommitmentParams::default();
        let number = |rule: &str, name: &str| {
            rules.get(rule).and_then(|r| r.params.get(name)).and_then(Param::as_number)
        };
        if let Some(n) = number("commitment-underutilized", "min_utilization_percent") {
            p.min_utilization_percent = n;
        }
        if let Some(n) = number("commitment-purchase", "percentile") {
            p.baseline_percentile = n;
        }
        if let Some(n) = number("commitment-purchase", "term_years").filter(|n| *n >= 1.0) {
            p.term_years = n as u32;
        }
        if let Some(Param::Text(t)) =
            rules.get("commitment-purchase").and_then(|r| r.params.get("payment"))
            && let Some(payment) = Payment::parse(t)
        {
            p.payment = payment;
        }
        p
    }
}

/// One day of one commitment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CommitmentDayRow {
    pub day: NaiveDate,
    pub used: Money,
    pub unused: Money,
}

/// One commitment over the period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CommitmentRow {
    pub id: String,
    pub name: String,
    /// CommitmentDiscountType, e.g. `Savings Plan`, `Reserved`.
    pub kind: String,
    /// CommitmentDiscountCategory: `Spend` or `Usage`.
    pub category: String,
    pub provider: String,
    pub account_id: String,
    pub region: String,
    pub currency: Currency,
    /// When the term ends, where billing says (a one-time purchase's ChargePeriodEnd).
    pub term_end: Option<NaiveDate>,
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
    /// Days with a used or unused row.
    pub days: i64,
    pub used: Money,
    pub unused: Money,
    /// used / (used + unused), a fraction rounded to 6 decimals; `None` without usage rows.
    pub utilization: Option<Money>,
    /// (used + unused) per hour over the days observed: what the commitment costs an hour.
    pub hourly_commitment: Option<Money>,
    /// The unused amount scaled to a 730-hour month.
    pub unused_monthly: Money,
    pub purchase_one_time: Money,
    pub purchase_recurring: Money,
    pub daily: Vec<CommitmentDayRow>,
    /// Data problems, each a full sentence; the commitment is still reported.
    pub problems: Vec<String>,
    /// `billing`, `api` (only the provider's API named it) or `billing+api`.
    pub source: &'static str,
    /// What the API says (empty without it): `Compute`, `m5.large`, …
    pub plan_type: String,
    pub payment_option: String,
    pub state: String,
    pub term_start: Option<NaiveDate>,
    /// A Savings Plan's commitment per hour as the API states it.
    pub api_hourly_commitment: Option<Money>,
    pub instance_count: Option<u64>,
    /// Days from the snapshot's time to the term end (negative: already ended).
    pub days_to_expiry: Option<i64>,
    /// ListCost of the usage it covered, a month: what that usage would cost on demand.
    pub covered_list_monthly: Option<Money>,
    /// What renewing keeps saving a month; `None` when it cannot be known (`renewal_basis`
    /// says why).
    pub renewal_savings_monthly: Option<Money>,
    /// How `renewal_savings_monthly` was computed, or why it was not.
    pub renewal_basis: String,
}

/// How coverage amounts were valued.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CoverageBasis {
    /// At on-demand (list) prices: the usage a commitment displaced.
    ListCost,
    /// At what it cost after discounts: covered usage looks cheaper than it was.
    EffectiveCost,
}

impl CoverageBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            CoverageBasis::ListCost => "list_cost",
            CoverageBasis::EffectiveCost => "effective_cost",
        }
    }
}

/// Eligible compute usage of one service, account and region: covered vs on demand.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CoverageRow {
    pub provider: String,
    pub service: String,
    pub account_id: String,
    pub region: String,
    pub currency: Currency,
    pub covered: Money,
    pub on_demand: Money,
    /// covered / (covered + on_demand), 6 decimals; `None` when both are zero.
    pub coverage: Option<Money>,
    pub basis: CoverageBasis,
}

/// Eligible on-demand compute of one provider and currency, hour by hour: what a flexible plan
/// could cover, and the advice for the chosen plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComputeScope {
    /// `<provider> compute (<currency>)`: the finding's resource id.
    pub id: String,
    pub provider: String,
    pub currency: Currency,
    /// `hourly`, or `daily` when the export has one row per day (each value is then the day's
    /// on-demand spend / 24).
    pub granularity: &'static str,
    /// On-demand eligible spend per hour, every hour (or day) of the period, zeros included.
    pub on_demand_per_hour: Vec<Money>,
    pub on_demand_total: Money,
    pub covered_total: Money,
    pub coverage: Option<Money>,
    pub advice: Option<PurchaseAdvice>,
    /// Why there is no advice, when there is none.
    pub no_advice: Option<String>,
}

/// What to buy: a plan sized to the steady on-demand baseline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PurchaseAdvice {
    pub plan: String,
    pub term_years: u32,
    pub payment: &'static str,
    pub discount: Money,
    pub percentile: f64,
    /// The percentile of on-demand eligible spend per hour: usage present nearly all the time.
    pub baseline_per_hour: Money,
    /// What to commit per hour (the plan is priced at discounted rates): baseline × (1 − discount).
    pub commitment_per_hour: Money,
    /// baseline × discount × 730.
    pub monthly_savings: Money,
    /// The plan pays for itself while covered usage stays above this share of the baseline.
    pub break_even_utilization: Money,
    /// Upfront payment for the whole term, for partial and all upfront plans.
    pub upfront: Money,
    /// Months until the on-demand charges the plan replaces repay the upfront payment; `None`
    /// without one.
    pub payback_months: Option<Money>,
}

/// Cost Explorer's figure beside billing's, for the same kind of commitment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CeComparison {
    /// `savings_plans_utilization`, `reservation_coverage`, …
    pub metric: &'static str,
    pub account_id: String,
    pub start: NaiveDate,
    /// Exclusive.
    pub end: NaiveDate,
    /// Cost Explorer's share (a fraction), as it reported it.
    pub cost_explorer: Option<Money>,
    /// Billing's share for the same commitments, where billing can tell.
    pub billing: Option<Money>,
    /// Whether the two differ by more than [`AGREEMENT_TOLERANCE`].
    pub disagree: bool,
    pub note: String,
}

/// Two shares within two percentage points agree: billing's and Cost Explorer's periods and
/// amortization rarely line up to the cent.
pub const AGREEMENT_TOLERANCE: Money = Money::from_raw(20_000_000_000_000_000);

/// Everything the commitments command, the report and the dashboard show.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CommitmentsReport {
    pub commitments: Vec<CommitmentRow>,
    pub coverage: Vec<CoverageRow>,
    pub scopes: Vec<ComputeScope>,
    /// Caveats about the data, each a full sentence.
    pub notes: Vec<String>,
    /// Cost Explorer's utilization and coverage, beside billing's (`--aws`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cost_explorer: Vec<CeComparison>,
    /// Cost Explorer's purchase recommendations, beside costscope's own advice (`--aws`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recommendations: Vec<CeRecommendation>,
}

impl CommitmentsReport {
    pub fn is_empty(&self) -> bool {
        self.commitments.is_empty()
            && self.coverage.is_empty()
            && self.cost_explorer.is_empty()
            && self.recommendations.is_empty()
    }
}

/// The amount that counts for a commitment: effective (amortized) cost, else billed.
fn amount(effective: Option<Money>, billed: Money) -> Money {
    effective.unwrap_or(billed)
}

/// The value at `percentile` (0–100) of `values` by the nearest-rank method: always one of the
/// values, so the figure can be found in the data. `None` when empty.
pub fn percentile<T: Copy + PartialOrd>(values: &[T], percentile: f64) -> Option<T> {
    if values.is_empty() || !percentile.is_finite() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let p = percentile.clamp(0.0, 100.0);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.max(1) - 1).copied()
}

/// Analyses the commitments and compute usage billing recorded.
pub fn analyse(
    billing: &BillingSummary,
    rates: &CommitmentRates,
    params: &CommitmentParams,
) -> CommitmentsReport {
    let data = &billing.commitments;
    let mut notes = Vec::new();
    if !data.compute.is_empty() && !data.service_category_known {
        notes.push(
            "The billing data has no ServiceCategory column: every usage row counted as compute."
                .to_string(),
        );
    }
    let commitments = commitment_rows(data);
    let (coverage, scopes) = coverage_and_scopes(billing, rates, params);
    if commitments.is_empty() && !coverage.is_empty() {
        notes.push("No commitment discount appears in the billing data.".to_string());
    }
    CommitmentsReport {
        commitments,
        coverage,
        scopes,
        notes,
        cost_explorer: Vec::new(),
        recommendations: Vec::new(),
    }
}

/// Billing's commitments and the live APIs' together, each commitment's expiry measured from
/// the snapshot's time.
pub fn analyse_snapshot(
    snapshot: &Snapshot,
    rates: &CommitmentRates,
    params: &CommitmentParams,
) -> CommitmentsReport {
    let mut report = match &snapshot.billing {
        Some(b) => analyse(b, rates, params),
        None => CommitmentsReport::default(),
    };
    if let Some(live) = &snapshot.live_commitments {
        merge_live(&mut report, live, rates);
    }
    let today = snapshot.collected_at.date_naive();
    for c in &mut report.commitments {
        c.days_to_expiry = c.term_end.map(|end| (end - today).num_days());
    }
    report
}

/// The plan costscope assumes for a live Savings Plan without billing rows: its term and
/// payment in commitments.toml (Compute Savings Plan rates).
fn live_discount(rates: &CommitmentRates, c: &LiveCommitment) -> Option<Money> {
    let payment = Payment::parse(&c.payment_option)?;
    let plans = rates.provider("AWS")?;
    Some(plans.plan(c.term_years?, payment)?.discount)
}

fn merge_live(report: &mut CommitmentsReport, live: &LiveCommitments, rates: &CommitmentRates) {
    for c in &live.commitments {
        let end = c.term_end.map(|t| t.date_naive());
        match report.commitments.iter_mut().find(|r| r.id == c.id) {
            Some(row) => {
                row.source = "billing+api";
                apply_live(row, c);
                // The API knows the term exactly; billing only when its purchase was in range.
                row.term_end = end.or(row.term_end);
            }
            None => {
                let mut row = CommitmentRow {
                    id: c.id.clone(),
                    name: String::new(),
                    kind: c.kind.as_str().to_string(),
                    category: match c.kind {
                        LiveKind::SavingsPlan => "Spend".to_string(),
                        LiveKind::ReservedInstance => "Usage".to_string(),
                    },
                    provider: "AWS".to_string(),
                    account_id: c.account_id.clone(),
                    region: c.region.clone(),
                    currency: c.currency.clone(),
                    term_end: end,
                    first_day: None,
                    last_day: None,
                    days: 0,
                    used: Money::ZERO,
                    unused: Money::ZERO,
                    utilization: None,
                    hourly_commitment: c.hourly_commitment,
                    unused_monthly: Money::ZERO,
                    purchase_one_time: Money::ZERO,
                    purchase_recurring: Money::ZERO,
                    daily: Vec::new(),
                    problems: Vec::new(),
                    source: "api",
                    plan_type: String::new(),
                    payment_option: String::new(),
                    state: String::new(),
                    term_start: None,
                    api_hourly_commitment: None,
                    instance_count: None,
                    days_to_expiry: None,
                    covered_list_monthly: None,
                    renewal_savings_monthly: None,
                    renewal_basis: String::new(),
                };
                apply_live(&mut row, c);
                match (c.kind, c.hourly_commitment, live_discount(rates, c)) {
                    (LiveKind::SavingsPlan, Some(h), Some(d)) if d < Money::from_units(1) => {
                        // Fully used, a plan committing h an hour covers h / (1 − d) of
                        // on-demand usage, so it saves h × d / (1 − d) an hour.
                        let one = Money::from_units(1);
                        let covered = h.mul_ratio(one.raw(), (one - d).raw());
                        let saving = covered - h;
                        row.covered_list_monthly = Some(
                            covered
                                .times(HOURS_PER_MONTH)
                                .round_dp(crate::model::money::ESTIMATE_DIGITS),
                        );
                        row.renewal_savings_monthly = Some(
                            saving
                                .times(HOURS_PER_MONTH)
                                .round_dp(crate::model::money::ESTIMATE_DIGITS),
                        );
                        row.renewal_basis = format!(
                            "{} an hour committed at commitments.toml's {}-year {} discount of {}%, assuming the plan is fully used: commitment × discount / (1 − discount) × 730 (no billing rows for it)",
                            h.round_dp(6),
                            c.term_years.unwrap_or(0),
                            c.payment_option,
                            d.mul_ratio(100, 1).round_dp(2)
                        );
                    }
                    _ => {
                        row.renewal_basis = "no billing rows for it, so what it covers at on-demand prices is unknown"
                            .to_string();
                    }
                }
                report.commitments.push(row);
            }
        }
    }
    report.commitments.sort_by(|a, b| a.id.cmp(&b.id));
    report.cost_explorer = compare(report, &live.figures);
    report.recommendations = live.recommendations.clone();
}

fn apply_live(row: &mut CommitmentRow, c: &LiveCommitment) {
    row.plan_type = c.plan_type.clone();
    row.payment_option = c.payment_option.clone();
    row.state = c.state.clone();
    row.term_start = c.term_start.map(|t| t.date_naive());
    row.api_hourly_commitment = c.hourly_commitment;
    row.instance_count = c.instance_count;
    if row.region.is_empty() {
        row.region = c.region.clone();
    }
    if row.account_id.is_empty() {
        row.account_id = c.account_id.clone();
    }
}

/// Billing's utilization of the commitments whose kind matches (by text, as FOCUS names them):
/// used / (used + unused) over every such commitment.
fn billing_utilization(report: &CommitmentsReport, savings_plans: bool) -> Option<Money> {
    let (mut used, mut unused) = (Money::ZERO, Money::ZERO);
    let mut any = false;
    for c in report.commitments.iter().filter(|c| c.days > 0) {
        let kind = c.kind.to_ascii_lowercase();
        let is_plan = kind.contains("savings plan");
        let is_reservation = kind.contains("reserv");
        if (savings_plans && is_plan) || (!savings_plans && is_reservation) {
            any = true;
            used += c.used;
            unused += c.unused;
        }
    }
    if any { used.max(Money::ZERO).share_of(used + unused) } else { None }
}

fn compare(report: &CommitmentsReport, figures: &[CeFigure]) -> Vec<CeComparison> {
    let has_reservations = report
        .commitments
        .iter()
        .any(|c| c.days > 0 && c.kind.to_ascii_lowercase().contains("reserv"));
    let aws_coverage = report
        .scopes
        .iter()
        .find(|s| s.provider.eq_ignore_ascii_case("aws"))
        .and_then(|s| s.coverage);
    figures
        .iter()
        .map(|f| {
            let (billing, why) = match f.metric {
                CeMetric::SavingsPlansUtilization => (billing_utilization(report, true), ""),
                CeMetric::ReservationUtilization => (billing_utilization(report, false), ""),
                CeMetric::SavingsPlansCoverage if has_reservations => (
                    None,
                    "billing's coverage counts reservations too, so it is not compared",
                ),
                CeMetric::SavingsPlansCoverage => (aws_coverage, ""),
                CeMetric::ReservationCoverage => {
                    (None, "Cost Explorer counts reservation coverage in hours; billing in cost")
                }
            };
            let disagree = match (f.share, billing) {
                (Some(a), Some(b)) => {
                    let d = if a > b { a - b } else { b - a };
                    d > AGREEMENT_TOLERANCE
                }
                _ => false,
            };
            let pct = |m: Money| format!("{}%", m.mul_ratio(100, 1).round_dp(1));
            let note = match (f.share, billing) {
                (Some(a), Some(b)) if disagree => format!(
                    "Cost Explorer says {} and billing {}: they differ by more than 2 points (periods or amortization differ, or billing misses some commitments)",
                    pct(a),
                    pct(b)
                ),
                (Some(_), Some(_)) => "agrees with billing within 2 points".to_string(),
                (None, _) => "Cost Explorer gave no percentage".to_string(),
                (Some(_), None) if why.is_empty() => "billing has no figure to compare".to_string(),
                (Some(_), None) => why.to_string(),
            };
            CeComparison {
                metric: f.metric.as_str(),
                account_id: f.account_id.clone(),
                start: f.start,
                end: f.end,
                cost_explorer: f.share,
                billing,
                disagree,
                note,
            }
        })
        .collect()
}

/// Used and unused amounts of one commitment, by day.
type UsedUnusedByDay = BTreeMap<NaiveDate, (Money, Money)>;

fn commitment_rows(data: &CommitmentData) -> Vec<CommitmentRow> {
    let mut by_id: BTreeMap<(&str, &Currency), CommitmentRow> = BTreeMap::new();
    let mut daily: BTreeMap<(&str, &Currency), UsedUnusedByDay> = BTreeMap::new();
    let mut negative: BTreeMap<(&str, &Currency), Vec<NaiveDate>> = BTreeMap::new();
    // ListCost of the usage each commitment covered; `None` once a Used row has none.
    let mut used_list: BTreeMap<(&str, &Currency), Option<Money>> = BTreeMap::new();
    for d in &data.days {
        let key = (d.commitment_id.as_str(), &d.currency);
        let info = data.info.get(&d.commitment_id).cloned().unwrap_or_default();
        let row = by_id.entry(key).or_insert_with(|| CommitmentRow {
            id: d.commitment_id.clone(),
            name: info.name.clone(),
            kind: info.kind.clone(),
            category: info.category.clone(),
            provider: info.provider.clone(),
            account_id: info.account_id.clone(),
            region: info.region.clone(),
            currency: d.currency.clone(),
            term_end: info.term_end,
            first_day: None,
            last_day: None,
            days: 0,
            used: Money::ZERO,
            unused: Money::ZERO,
            utilization: None,
            hourly_commitment: None,
            unused_monthly: Money::ZERO,
            purchase_one_time: Money::ZERO,
            purchase_recurring: Money::ZERO,
            daily: Vec::new(),
            problems: Vec::new(),
            source: "billing",
            plan_type: String::new(),
            payment_option: String::new(),
            state: String::new(),
            term_start: None,
            api_hourly_commitment: None,
            instance_count: None,
            days_to_expiry: None,
            covered_list_monthly: None,
            renewal_savings_monthly: None,
            renewal_basis: String::new(),
        });
        let value = amount(d.effective_cost, d.billed_cost);
        match d.charge {
            CommitmentCharge::Used | CommitmentCharge::Unused => {
                let slot = daily.entry(key).or_default().entry(d.day).or_default();
                if d.charge == CommitmentCharge::Used {
                    row.used += value;
                    slot.0 += value;
                    let list = used_list.entry(key).or_insert(Some(Money::ZERO));
                    *list = list.zip(d.list_cost).map(|(a, b)| a + b);
                } else {
                    row.unused += value;
                    slot.1 += value;
                }
                if value.is_negative() {
                    negative.entry(key).or_default().push(d.day);
                }
                row.first_day = Some(row.first_day.map_or(d.day, |f| f.min(d.day)));
                row.last_day = Some(row.last_day.map_or(d.day, |l| l.max(d.day)));
            }
            // A purchase's cost is what it bills; its EffectiveCost is zero by design (the
            // amortized share appears on the usage rows).
            CommitmentCharge::PurchaseOneTime => row.purchase_one_time += d.billed_cost,
            CommitmentCharge::PurchaseRecurring => row.purchase_recurring += d.billed_cost,
        }
    }
    let mut rows = Vec::with_capacity(by_id.len());
    for (key, mut row) in by_id {
        let days = daily.remove(&key).unwrap_or_default();
        row.days = days.len() as i64;
        row.daily = days
            .into_iter()
            .map(|(day, (used, unused))| CommitmentDayRow { day, used, unused })
            .collect();
        let total = row.used + row.unused;
        if let Some(bad) = negative.get(&key) {
            let shown: Vec<String> = bad.iter().take(3).map(|d| d.to_string()).collect();
            row.problems.push(format!(
                "negative used or unused cost on {} day(s) (first: {}): credits or corrections \
                 are mixed into the usage rows; utilization is computed from the sums",
                bad.len(),
                shown.join(", ")
            ));
        }
        let purchases = data.info.get(&row.id).map_or(0, |i| i.purchase_rows);
        if purchases == 0 {
            row.problems.push(
                "no purchase row names it in this period (bought before it, or the export \
                 leaves purchases out): its fee is known only from the usage rows"
                    .to_string(),
            );
        }
        if row.days == 0 {
            row.renewal_basis = "no usage row names it in this period".to_string();
            row.problems.push(
                "a purchase but no usage row (used or unused) names it in this period: \
                 utilization unknown"
                    .to_string(),
            );
        } else if total > Money::ZERO {
            row.utilization = row.used.max(Money::ZERO).share_of(total);
            let hours = 24 * i128::from(row.days);
            row.hourly_commitment = Some(total.mul_ratio(1, hours).round_dp(6));
            row.unused_monthly = row
                .unused
                .max(Money::ZERO)
                .mul_ratio(i128::from(HOURS_PER_MONTH), hours)
                .round_dp(crate::model::money::ESTIMATE_DIGITS);
            renewal_from_billing(&mut row, used_list.get(&key).copied().flatten(), hours);
        } else {
            row.renewal_basis = "used plus unused cost is not positive".to_string();
            row.problems.push(format!(
                "used plus unused cost is {} over {} day(s): utilization unknown",
                total.display_2dp(),
                row.days
            ));
        }
        rows.push(row);
    }
    rows
}

/// What renewing keeps saving: the covered usage at on-demand prices (its ListCost) less what
/// the commitment cost (used + unused), per 730-hour month.
fn renewal_from_billing(row: &mut CommitmentRow, used_list: Option<Money>, hours: i128) {
    let month = |m: Money| {
        m.mul_ratio(i128::from(HOURS_PER_MONTH), hours)
            .round_dp(crate::model::money::ESTIMATE_DIGITS)
    };
    match used_list.filter(|l| *l > Money::ZERO) {
        Some(list) => {
            let cost = row.used + row.unused;
            row.covered_list_monthly = Some(month(list));
            row.renewal_savings_monthly = Some(month(list - cost));
            row.renewal_basis = format!(
                "covered usage at on-demand prices (ListCost {}) less the commitment's cost \
                 (used {} + unused {}) over {} day(s), × 730 / {} hours",
                list.display_2dp(),
                row.used.display_2dp(),
                row.unused.display_2dp(),
                row.days,
                hours
            );
        }
        None => {
            row.renewal_basis = "billing gives no ListCost for the usage it covered, so its \
                                 discount is unknown"
                .to_string();
        }
    }
}

fn coverage_value(u: &ComputeUsage, basis: CoverageBasis) -> Money {
    match basis {
        // Covered rows bill nothing: without a ListCost, their effective cost is the measure.
        CoverageBasis::ListCost => {
            u.list_cost.unwrap_or_else(|| amount(u.effective_cost, u.billed_cost))
        }
        CoverageBasis::EffectiveCost => amount(u.effective_cost, u.billed_cost),
    }
}

type ScopeKey = (String, Currency);

fn coverage_and_scopes(
    billing: &BillingSummary,
    rates: &CommitmentRates,
    params: &CommitmentParams,
) -> (Vec<CoverageRow>, Vec<ComputeScope>) {
    let eligible: Vec<&ComputeUsage> = billing
        .commitments
        .compute
        .iter()
        .filter(|u| matches!(u.pricing, Pricing::OnDemand | Pricing::Committed))
        .filter(|u| rates.eligible(&u.provider, &u.service, &u.resource_type))
        .collect();
    // Coverage groups and their basis: list cost only when every row of the group has one.
    type GroupKey<'a> = (&'a str, &'a str, &'a str, &'a str, &'a Currency);
    let mut groups: BTreeMap<GroupKey, Vec<&ComputeUsage>> = BTreeMap::new();
    for u in &eligible {
        groups
            .entry((&u.provider, &u.service, &u.account_id, &u.region, &u.currency))
            .or_default()
            .push(u);
    }
    let mut coverage = Vec::new();
    for ((provider, service, account, region, currency), rows) in groups {
        let basis = if rows.iter().all(|u| u.list_cost.is_some()) {
            CoverageBasis::ListCost
        } else {
            CoverageBasis::EffectiveCost
        };
        let (mut covered, mut on_demand) = (Money::ZERO, Money::ZERO);
        for u in rows {
            match u.pricing {
                Pricing::Committed => covered += coverage_value(u, basis),
                _ => on_demand += coverage_value(u, basis),
            }
        }
        coverage.push(CoverageRow {
            provider: provider.to_string(),
            service: service.to_string(),
            account_id: account.to_string(),
            region: region.to_string(),
            currency: currency.clone(),
            covered,
            on_demand,
            coverage: covered.share_of(covered + on_demand),
            basis,
        });
    }

    // Per provider and currency: on-demand spend per hour bucket, and covered totals.
    let mut buckets: BTreeMap<ScopeKey, BTreeMap<NaiveDateTime, Money>> = BTreeMap::new();
    let mut covered: BTreeMap<ScopeKey, Money> = BTreeMap::new();
    for u in &eligible {
        let key = (u.provider.clone(), u.currency.clone());
        let value = amount(u.effective_cost, u.billed_cost);
        match u.pricing {
            Pricing::Committed => {
                *covered.entry(key).or_default() += coverage_value(u, CoverageBasis::ListCost)
            }
            _ => *buckets.entry(key).or_default().entry(u.hour).or_default() += value,
        }
    }
    for key in covered.keys() {
        buckets.entry(key.clone()).or_default();
    }
    let hourly = eligible.iter().any(|u| u.hour.hour() != 0);
    let (first, last) = match billing.period() {
        Some(p) => p,
        None => return (coverage, Vec::new()),
    };
    let mut scopes = Vec::new();
    for ((provider, currency), by_hour) in buckets {
        let series = fill_series(&by_hour, first, last, hourly);
        let on_demand_total: Money = by_hour.values().copied().sum();
        let covered_total =
            covered.get(&(provider.clone(), currency.clone())).copied().unwrap_or_default();
        let coverage_share = covered_total.share_of(covered_total + on_demand_total);
        let who = if provider.is_empty() { "Unnamed provider" } else { provider.as_str() };
        let id = match currency.code() {
            Some(code) => format!("{who} compute ({code})"),
            None => format!("{who} compute"),
        };
        let (advice, no_advice) = advise(rates, params, &provider, &series);
        scopes.push(ComputeScope {
            id,
            provider,
            currency,
            granularity: if hourly { "hourly" } else { "daily" },
            on_demand_per_hour: series,
            on_demand_total,
            covered_total,
            coverage: coverage_share,
            advice,
            no_advice,
        });
    }
    (coverage, scopes)
}

/// On-demand spend per hour for every hour (or day) of the period; days or hours with nothing
/// on demand are zeros, because a commitment must be paid for them too.
fn fill_series(
    by_hour: &BTreeMap<NaiveDateTime, Money>,
    first: NaiveDate,
    last: NaiveDate,
    hourly: bool,
) -> Vec<Money> {
    let mut series = Vec::new();
    let mut day = first;
    while day <= last {
        let Some(midnight) = day.and_hms_opt(0, 0, 0) else { break };
        if hourly {
            for h in 0..24 {
                let at = midnight + chrono::Duration::hours(h);
                series.push(by_hour.get(&at).copied().unwrap_or_default());
            }
        } else {
            let day_total: Money = by_hour
                .range(midnight..midnight + chrono::Duration::days(1))
                .map(|(_, m)| *m)
                .sum();
            series.push(day_total.mul_ratio(1, 24));
        }
        let Some(next) = day.succ_opt() else { break };
        day = next;
    }
    series
}

fn advise(
    rates: &CommitmentRates,
    params: &CommitmentParams,
    provider: &str,
    series: &[Money],
) -> (Option<PurchaseAdvice>, Option<String>) {
    let Some(plans) = rates.provider(provider) else {
        let why = if provider.is_empty() {
            "the billing data names no provider (ProviderName), so no plan's rates apply"
                .to_string()
        } else {
            format!("no commitment rates for provider {provider:?} in commitments.toml")
        };
        return (None, Some(why));
    };
    let Some(plan) = plans.plan(params.term_years, params.payment) else {
        return (
            None,
            Some(format!(
                "{provider} has no {}-year {} plan in commitments.toml",
                params.term_years,
                params.payment.as_str()
            )),
        );
    };
    let Some(baseline) = percentile(series, params.baseline_percentile) else {
        return (None, Some("no on-demand eligible usage in the period".to_string()));
    };
    if baseline <= Money::ZERO {
        return (
            None,
            Some(format!(
                "the p{} of on-demand eligible spend per hour is zero: no usage is steady enough to commit",
                crate::analysis::rules::rule::format_number(params.baseline_percentile)
            )),
        );
    }
    let one = Money::from_units(1);
    let scale = |m: Money, f: Money| m.mul_ratio(f.raw(), one.raw());
    let commitment = scale(baseline, one - plan.discount).round_dp(6);
    let monthly_savings = scale(baseline, plan.discount)
        .times(HOURS_PER_MONTH)
        .round_dp(crate::model::money::ESTIMATE_DIGITS);
    let (num, den) = plan.payment.upfront_share();
    let term_hours = i64::from(plan.term_years) * 8_760;
    let upfront = commitment.times(term_hours).mul_ratio(num, den).round_dp(2);
    // Cash payback: the upfront payment against what the plan stops paying on demand each
    // month (the baseline, less the plan's own hourly charge).
    let recurring_per_hour = commitment.mul_ratio(den - num, den);
    let avoided_monthly = (baseline - recurring_per_hour).times(HOURS_PER_MONTH);
    let payback_months = if upfront > Money::ZERO && avoided_monthly > Money::ZERO {
        Money::ratio_6dp(upfront.raw(), avoided_monthly.raw())
    } else {
        None
    };
    (
        Some(PurchaseAdvice {
            plan: plan.name.clone(),
            term_years: plan.term_years,
            payment: plan.payment.as_str(),
            discount: plan.discount,
            percentile: params.baseline_percentile,
            baseline_per_hour: baseline.round_dp(6),
            commitment_per_hour: commitment,
            monthly_savings,
            break_even_utilization: one - plan.discount,
            upfront,
            payback_months,
        }),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::commitments::{CommitmentDay, CommitmentInfo};

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap_or_default()
    }

    /// A Savings Plan billed 90 used / 10 unused on one day, and Cost Explorer saying 95 % and
    /// 70 % for two kinds of figure.
    fn snapshot(ce_sp_utilization: &str) -> Snapshot {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        let day = at.date_naive() - chrono::Duration::days(1);
        let row = |charge, cost: &str| CommitmentDay {
            commitment_id: "arn:sp".into(),
            day,
            charge,
            currency: Currency::usd(),
            billed_cost: Money::ZERO,
            effective_cost: Some(m(cost)),
            list_cost: None,
            rows: 1,
        };
        let mut s = Snapshot::empty(at);
        s.billing = Some(BillingSummary {
            first_day: Some(day),
            last_day: Some(day),
            commitments: CommitmentData {
                days: vec![row(CommitmentCharge::Used, "90"), row(CommitmentCharge::Unused, "10")],
                info: [(
                    "arn:sp".to_string(),
                    CommitmentInfo { kind: "Savings Plan".into(), ..Default::default() },
                )]
                .into_iter()
                .collect(),
                ..Default::default()
            },
            ..Default::default()
        });
        let figure = |metric, share: &str| CeFigure {
            metric,
            account_id: "1".into(),
            start: day,
            end: at.date_naive(),
            share: Some(m(share)),
            covered: None,
            uncovered: None,
            net_savings: None,
        };
        s.live_commitments = Some(LiveCommitments {
            commitments: vec![LiveCommitment {
                id: "arn:sp".into(),
                kind: LiveKind::SavingsPlan,
                plan_type: "Compute".into(),
                account_id: "1".into(),
                region: String::new(),
                term_start: None,
                term_end: Some(at + chrono::Duration::days(9)),
                term_years: Some(1),
                payment_option: "No Upfront".into(),
                state: "active".into(),
                currency: Currency::usd(),
                hourly_commitment: Some(m("4.1667")),
                instance_count: None,
                upfront: None,
                recurring_hourly: None,
            }],
            figures: vec![
                figure(CeMetric::SavingsPlansUtilization, ce_sp_utilization),
                figure(CeMetric::ReservationCoverage, "0.5"),
            ],
            recommendations: Vec::new(),
        });
        s
    }

    #[test]
    fn billing_and_cost_explorer_meet_on_the_commitment_and_disagree_past_two_points() {
        let Ok(rates) = CommitmentRates::builtin() else { panic!("built-in rates") };
        let params = CommitmentParams::default();
        // Billing: 90 / (90 + 10) = 90 %. Cost Explorer 91.5 %: within two points.
        let r = analyse_snapshot(&snapshot("0.915"), &rates, &params);
        assert_eq!(r.commitments.len(), 1);
        let c = &r.commitments[0];
        assert_eq!((c.source, c.days_to_expiry), ("billing+api", Some(9)));
        assert_eq!(c.api_hourly_commitment, Some(m("4.1667")));
        let sp = &r.cost_explorer[0];
        assert_eq!(sp.billing, Some(m("0.9")));
        assert!(!sp.disagree, "{sp:?}");
        // Reservation coverage is in hours: shown, never compared.
        assert_eq!(r.cost_explorer[1].billing, None);
        assert!(!r.cost_explorer[1].disagree);
        // 95 % against 90 %: five points apart.
        let r = analyse_snapshot(&snapshot("0.95"), &rates, &params);
        assert!(r.cost_explorer[0].disagree);
        assert!(
            r.cost_explorer[0].note.contains("says 95% and billing 90%"),
            "{}",
            r.cost_explorer[0].note
        );
    }
}
