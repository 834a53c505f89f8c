//! Commitments from the live APIs: Savings Plans (DescribeSavingsPlans) and EC2 Reserved
//! Instances (DescribeReservedInstances, per region) for their terms, and Cost Explorer's
//! utilization, coverage and purchase recommendations for what billing alone may not say.
//!
//! The Cost Explorer calls are paid like GetCostAndUsage, so they share its cache and its
//! count ([`super::cost_explorer::Usage`]). Nothing here fails a run: each failure is a warning
//! and the rest is kept.

use std::future::Future;

use aws_config::SdkConfig;
use aws_sdk_costexplorer::types::{
    DateInterval, Granularity, LookbackPeriodInDays, PaymentOption, SupportedSavingsPlansType,
    TermInYears,
};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::cache::Cache;
use super::cost_explorer::Usage;
use super::{ApiFailure, client, partition};
use crate::model::commitments::{
    CeFigure, CeMetric, CeRecommendation, LiveCommitment, LiveCommitments, LiveKind,
};
use crate::model::{Currency, Money};

/// The services Cost Explorer recommends reservations for, by its own service names.
pub const RESERVATION_SERVICES: [&str; 5] = [
    "Amazon Elastic Compute Cloud - Compute",
    "Amazon Relational Database Service",
    "Amazon ElastiCache",
    "Amazon OpenSearch Service",
    "Amazon Redshift",
];

/// Savings Plans are a global service answered from us-east-1.
const SAVINGS_PLANS_REGION: &str = "us-east-1";

/// What one profile's commitment calls gave.
#[derive(Debug, Default)]
pub struct CommitmentsRead {
    pub live: LiveCommitments,
    pub warnings: Vec<String>,
    pub usage: Usage,
}

/// One paid commitment question. Its text form is the cache key; the whole value is compared
/// with the stored one, so an answer is never reused for another question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ask {
    pub account_id: String,
    pub call: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// The service or plan asked about, when the call takes one.
    pub detail: String,
}

impl Ask {
    fn key(&self) -> String {
        format!("{}_{}_{}_{}_{}", self.account_id, self.start, self.end, self.call, self.detail)
    }
}

/// A paid answer: cached, else fetched and counted (a failed request is paid too).
async fn paid<A, F, Fut>(
    cache: &Cache,
    ask: &Ask,
    usage: &mut Usage,
    fetch: F,
) -> Result<A, ApiFailure>
where
    A: Serialize + DeserializeOwned,
    F: FnOnce() -> Fut,
    Fut: Future<Output = (Result<A, ApiFailure>, u32)>,
{
    if let Some(answer) = cache.get::<Ask, A>(&ask.key(), ask) {
        usage.cached_answers += 1;
        return Ok(answer);
    }
    let (answer, requests) = fetch().await;
    usage.paid_requests += requests;
    let answer = answer?;
    cache.put(&ask.key(), ask, &answer);
    Ok(answer)
}

/// Reads Savings Plans, every region's reservations, and Cost Explorer's commitment figures
/// over `[start, end)`.
pub async fn read(
    config: &SdkConfig,
    account: &str,
    regions: &[String],
    period: (NaiveDate, NaiveDate),
    cache: &Cache,
) -> CommitmentsRead {
    let mut out = CommitmentsRead::default();
    let plans = savings_plans(config, account);
    let reservations = futures_util::stream::iter(regions.iter())
        .map(|region| reserved_instances(config, account, region))
        .buffer_unordered(super::REGION_CONCURRENCY)
        .collect::<Vec<_>>();
    let (plans, reservations) = futures_util::future::join(plans, reservations).await;
    match plans {
        Ok(p) => out.live.commitments.extend(p),
        Err(e) => out.warnings.push(e.to_string()),
    }
    for (region, r) in reservations {
        match r {
            Ok(r) => out.live.commitments.extend(r),
            Err(e) => out.warnings.push(format!("{region}: {e}")),
        }
    }
    if period.0 < period.1 {
        cost_explorer(config, account, period, cache, &mut out).await;
    }
    out.live.sort();
    out
}

async fn savings_plans(
    config: &SdkConfig,
    account: &str,
) -> Result<Vec<LiveCommitment>, ApiFailure> {
    use aws_sdk_savingsplans::types::SavingsPlanState;
    let sp = aws_sdk_savingsplans::Client::new(&client::in_region(config, SAVINGS_PLANS_REGION));
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = sp
            .describe_savings_plans()
            // Only plans that bill now or will: a retired plan can no longer expire.
            .states(SavingsPlanState::Active)
            .states(SavingsPlanState::Queued)
            .states(SavingsPlanState::PaymentPending)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| ApiFailure::new("Savings Plans", "DescribeSavingsPlans", e))?;
        for p in page.savings_plans() {
            if let Some(c) = from_savings_plan(p, account) {
                out.push(c);
            }
        }
        match page.next_token().filter(|t| !t.is_empty()) {
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
    }
    Ok(out)
}

fn money(text: Option<&str>) -> Option<Money> {
    text.filter(|t| !t.is_empty()).and_then(|t| Money::parse(t).ok())
}

fn timestamp(text: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text?).ok().map(|t| t.with_timezone(&Utc))
}

/// Whole years of a term given in seconds (a year is 365 days in AWS's terms).
fn years(seconds: i64) -> Option<u32> {
    let year = 365 * 86_400;
    (seconds > 0).then(|| u32::try_from((seconds + year / 2) / year).unwrap_or(0))
}

/// Converts one plan; `None` without an ARN (nothing to name it by).
pub fn from_savings_plan(
    p: &aws_sdk_savingsplans::types::SavingsPlan,
    account: &str,
) -> Option<LiveCommitment> {
    let id = p.savings_plan_arn().filter(|a| !a.is_empty())?.to_string();
    let start = timestamp(p.start());
    let end = timestamp(p.end());
    let term_years = years(p.term_duration_in_seconds()).or_else(|| {
        let (s, e) = (start?, end?);
        years((e - s).num_seconds())
    });
    Some(LiveCommitment {
        id,
        kind: LiveKind::SavingsPlan,
        plan_type: p.savings_plan_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
        account_id: account.to_string(),
        region: p.region().unwrap_or_default().to_string(),
        term_start: start,
        term_end: end,
        term_years,
        payment_option: p.payment_option().map(|o| o.as_str().to_string()).unwrap_or_default(),
        state: p.state().map(|s| s.as_str().to_string()).unwrap_or_default(),
        currency: Currency::new(p.currency().map_or("USD", |c| c.as_str())),
        hourly_commitment: money(p.commitment()),
        instance_count: None,
        upfront: money(p.upfront_payment_amount()),
        recurring_hourly: money(p.recurring_payment_amount()),
    })
}

async fn reserved_instances(
    config: &SdkConfig,
    account: &str,
    region: &str,
) -> (String, Result<Vec<LiveCommitment>, ApiFailure>) {
    use aws_sdk_ec2::types::Filter;
    let ec2 = aws_sdk_ec2::Client::new(&client::in_region(config, region));
    let answer = ec2
        .describe_reserved_instances()
        .filters(Filter::builder().name("state").values("active").values("payment-pending").build())
        .send()
        .await
        .map_err(|e| ApiFailure::new("EC2", "DescribeReservedInstances", e))
        .map(|page| {
            page.reserved_instances()
                .iter()
                .filter_map(|r| from_reserved_instance(r, account, region))
                .collect()
        });
    (region.to_string(), answer)
}

/// f32 prices as the API gives them, to cents of a cent: the float's noise stays out.
fn price(value: f64) -> Option<Money> {
    Money::from_f64_rounded(value).map(|m| m.round_dp(6))
}

/// Converts one reservation; its id becomes the ARN billing names it by.
pub fn from_reserved_instance(
    r: &aws_sdk_ec2::types::ReservedInstances,
    account: &str,
    region: &str,
) -> Option<LiveCommitment> {
    let ri = r.reserved_instances_id().filter(|i| !i.is_empty())?;
    let count = r.instance_count().and_then(|c| u64::try_from(c).ok());
    // Hourly: the usage price plus hourly recurring charges, per instance, times the count.
    let per_instance = r.usage_price().map(f64::from).unwrap_or(0.0)
        + r.recurring_charges()
            .iter()
            .filter(|c| c.frequency().is_some_and(|f| f.as_str() == "Hourly"))
            .filter_map(|c| c.amount())
            .sum::<f64>();
    let n = count.unwrap_or(1) as f64;
    Some(LiveCommitment {
        id: format!("arn:{}:ec2:{region}:{account}:reserved-instances/{ri}", partition(region)),
        kind: LiveKind::ReservedInstance,
        plan_type: r.instance_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
        account_id: account.to_string(),
        region: region.to_string(),
        term_start: r.start().and_then(super::to_chrono),
        term_end: r.end().and_then(super::to_chrono),
        term_years: r.duration().and_then(years),
        payment_option: r.offering_type().map(|o| o.as_str().to_string()).unwrap_or_default(),
        state: r.state().map(|s| s.as_str().to_string()).unwrap_or_default(),
        currency: Currency::new(r.currency_code().map_or("USD", |c| c.as_str())),
        hourly_commitment: None,
        instance_count: count,
        upfront: r.fixed_price().and_then(|p| price(f64::from(p) * n)),
        recurring_hourly: price(per_instance * n),
    })
}

/// A percentage as Cost Explorer writes it ("93.5") → a fraction.
fn share(percent: Option<&str>) -> Option<Money> {
    money(percent).map(|p| p.mul_ratio(1, 100).round_dp(6))
}

async fn cost_explorer(
    config: &SdkConfig,
    account: &str,
    (start, end): (NaiveDate, NaiveDate),
    cache: &Cache,
    out: &mut CommitmentsRead,
) {
    let ce = aws_sdk_costexplorer::Client::new(&client::for_cost_explorer(config));
    let ask = |call: &str, detail: &str| Ask {
        account_id: account.to_string(),
        call: call.to_string(),
        start,
        end,
        detail: detail.to_string(),
    };
    let Ok(period) = DateInterval::builder().start(start.to_string()).end(end.to_string()).build()
    else {
        return;
    };
    let figures = [
        CeMetric::SavingsPlansUtilization,
        CeMetric::ReservationUtilization,
        CeMetric::SavingsPlansCoverage,
        CeMetric::ReservationCoverage,
    ];
    for metric in figures {
        let q = ask(metric.as_str(), "");
        let fetched = paid(cache, &q, &mut out.usage, || {
            figure(&ce, metric, period.clone(), account, (start, end))
        })
        .await;
        match fetched {
            Ok(f) => out.live.figures.extend::<Vec<CeFigure>>(f),
            Err(e) => {
                // The same failure (no access, no Cost Explorer) would repeat for every call;
                // don't pay for it.
                out.warnings.push(e.to_string());
                return;
            }
        }
    }
    let q = ask("savings_plans_purchase_recommendation", "COMPUTE_SP");
    match paid(cache, &q, &mut out.usage, || sp_recommendation(&ce, account)).await {
        Ok(r) => out.live.recommendations.extend::<Vec<CeRecommendation>>(r),
        Err(e) => {
            out.warnings.push(e.to_string());
            return;
        }
    }
    for service in RESERVATION_SERVICES {
        let q = ask("reservation_purchase_recommendation", service);
        match paid(cache, &q, &mut out.usage, || ri_recommendation(&ce, account, service)).await {
            Ok(r) => out.live.recommendations.extend::<Vec<CeRecommendation>>(r),
            Err(e) => {
                out.warnings.push(format!("{service}: {e}"));
                return;
            }
        }
    }
}

/// One utilization or coverage call over the period (Total only: granularity MONTHLY keeps
/// the answer small, and the total is the figure compared with billing).
async fn figure(
    ce: &aws_sdk_costexplorer::Client,
    metric: CeMetric,
    period: DateInterval,
    account: &str,
    (start, end): (NaiveDate, NaiveDate),
) -> (Result<Vec<CeFigure>, ApiFailure>, u32) {
    let base = CeFigure {
        metric,
        account_id: account.to_string(),
        start,
        end,
        share: None,
        covered: None,
        uncovered: None,
        net_savings: None,
    };
    match metric {
        CeMetric::SavingsPlansUtilization => {
            let r = ce
                .get_savings_plans_utilization()
                .time_period(period)
                .granularity(Granularity::Monthly)
                .send()
                .await
                .map_err(|e| ApiFailure::new("Cost Explorer", "GetSavingsPlansUtilization", e));
            let r = r.map(|page| {
                let Some(total) = page.total() else { return Vec::new() };
                let u = total.utilization();
                vec![CeFigure {
                    share: share(u.and_then(|u| u.utilization_percentage())),
                    covered: money(u.and_then(|u| u.used_commitment())),
                    uncovered: money(u.and_then(|u| u.unused_commitment())),
                    net_savings: money(total.savings().and_then(|s| s.net_savings())),
                    ..base
                }]
            });
            (r, 1)
        }
        CeMetric::ReservationUtilization => {
            let mut total = None;
            let (done, pages) = each_page(
                "GetReservationUtilization",
                |token| {
                    ce.get_reservation_utilization()
                        .time_period(period.clone())
                        .granularity(Granularity::Monthly)
                        .set_next_page_token(token)
                        .send()
                },
                |page| page.next_page_token(),
                |page| {
                    if let Some(t) = page.total() {
                        total = Some(t.clone());
                    }
                },
            )
            .await;
            if let Err(f) = done {
                return (Err(f), pages);
            }
            let figures = total.map_or_else(Vec::new, |t| {
                let used = money(t.total_amortized_fee())
                    .zip(money(t.ri_cost_for_unused_hours()))
                    .map(|(fee, unused)| fee - unused);
                vec![CeFigure {
                    share: share(t.utilization_percentage()),
                    covered: used,
                    uncovered: money(t.ri_cost_for_unused_hours()),
                    net_savings: money(t.net_ri_savings()),
                    ..base
                }]
            });
            (Ok(figures), pages)
        }
        CeMetric::SavingsPlansCoverage => {
            let (mut covered, mut on_demand) = (Money::ZERO, Money::ZERO);
            let mut any = false;
            let (done, pages) = each_page(
                "GetSavingsPlansCoverage",
                |token| {
                    ce.get_savings_plans_coverage()
                        .time_period(period.clone())
                        .granularity(Granularity::Monthly)
                        .set_next_token(token)
                        .send()
                },
                |page| page.next_token(),
                |page| {
                    // One entry per month of the period: the period's coverage is their sum.
                    for c in page.savings_plans_coverages() {
                        let Some(data) = c.coverage() else { continue };
                        any = true;
                        covered += money(data.spend_covered_by_savings_plans()).unwrap_or_default();
                        on_demand += money(data.on_demand_cost()).unwrap_or_default();
                    }
                },
            )
            .await;
            if let Err(f) = done {
                return (Err(f), pages);
            }
            let figures = if any {
                vec![CeFigure {
                    share: covered.share_of(covered + on_demand),
                    covered: Some(covered),
                    uncovered: Some(on_demand),
                    ..base
                }]
            } else {
                Vec::new()
            };
            (Ok(figures), pages)
        }
        CeMetric::ReservationCoverage => {
            let mut total = None;
            let (done, pages) = each_page(
                "GetReservationCoverage",
                |token| {
                    ce.get_reservation_coverage()
                        .time_period(period.clone())
                        .granularity(Granularity::Monthly)
                        .set_next_page_token(token)
                        .send()
                },
                |page| page.next_page_token(),
                |page| {
                    if let Some(t) = page.total() {
                        total = Some(t.clone());
                    }
                },
            )
            .await;
            if let Err(f) = done {
                return (Err(f), pages);
            }
            let figures =
                total.and_then(|t| t.coverage_hours().cloned()).map_or_else(Vec::new, |h| {
                    vec![CeFigure {
                        share: share(h.coverage_hours_percentage()),
                        covered: money(h.reserved_hours()),
                        uncovered: money(h.on_demand_hours()),
                        ..base
                    }]
                });
            (Ok(figures), pages)
        }
    }
}

async fn sp_recommendation(
    ce: &aws_sdk_costexplorer::Client,
    account: &str,
) -> (Result<Vec<CeRecommendation>, ApiFailure>, u32) {
    let r = ce
        .get_savings_plans_purchase_recommendation()
        .savings_plans_type(SupportedSavingsPlansType::ComputeSp)
        .term_in_years(TermInYears::OneYear)
        .payment_option(PaymentOption::NoUpfront)
        .lookback_period_in_days(LookbackPeriodInDays::ThirtyDays)
        .send()
        .await
        .map_err(|e| ApiFailure::new("Cost Explorer", "GetSavingsPlansPurchaseRecommendation", e));
    let r = r.map(|page| {
        let Some(rec) = page.savings_plans_purchase_recommendation() else { return Vec::new() };
        let Some(summary) = rec.savings_plans_purchase_recommendation_summary() else {
            return Vec::new();
        };
        let hourly = money(summary.hourly_commitment_to_purchase());
        // An empty recommendation (nothing to buy) comes back as zeros.
        if hourly.is_none_or(|h| h <= Money::ZERO) {
            return Vec::new();
        }
        let upfront: Option<Money> = rec
            .savings_plans_purchase_recommendation_details()
            .iter()
            .map(|d| money(d.upfront_cost()))
            .sum();
        vec![CeRecommendation {
            account_id: account.to_string(),
            kind: "Compute Savings Plan".to_string(),
            service: String::new(),
            term_years: 1,
            payment: "no_upfront".to_string(),
            currency: Currency::new(summary.currency_code().unwrap_or("USD")),
            hourly_commitment: hourly,
            items: Vec::new(),
            monthly_savings: money(summary.estimated_monthly_savings_amount()),
            upfront,
        }]
    });
    (r, 1)
}

/// What a reservation detail says to buy: `3 × m5.large (us-east-1)`.
fn reservation_item(
    d: &aws_sdk_costexplorer::types::ReservationPurchaseRecommendationDetail,
) -> String {
    let (kind, region) = d
        .instance_details()
        .and_then(|i| {
            i.ec2_instance_details()
                .map(|x| (x.instance_type(), x.region()))
                .or_else(|| i.rds_instance_details().map(|x| (x.instance_type(), x.region())))
                .or_else(|| i.elasti_cache_instance_details().map(|x| (x.node_type(), x.region())))
                .or_else(|| i.es_instance_details().map(|x| (x.instance_size(), x.region())))
                .or_else(|| i.redshift_instance_details().map(|x| (x.node_type(), x.region())))
        })
        .unwrap_or((None, None));
    let count = d.recommended_number_of_instances_to_purchase().unwrap_or("?");
    format!("{count} × {} ({})", kind.unwrap_or("?"), region.unwrap_or("?"))
}

async fn ri_recommendation(
    ce: &aws_sdk_costexplorer::Client,
    account: &str,
    service: &str,
) -> (Result<Vec<CeRecommendation>, ApiFailure>, u32) {
    let mut out = Vec::new();
    let (done, pages) = each_page(
        "GetReservationPurchaseRecommendation",
        |token| {
            ce.get_reservation_purchase_recommendation()
                .service(service)
                .term_in_years(TermInYears::OneYear)
                .payment_option(PaymentOption::NoUpfront)
                .lookback_period_in_days(LookbackPeriodInDays::ThirtyDays)
                .set_next_page_token(token)
                .send()
        },
        |page| page.next_page_token(),
        |page| {
            for rec in page.recommendations() {
                let details = rec.recommendation_details();
                if details.is_empty() {
                    continue;
                }
                let summary = rec.recommendation_summary();
                let upfront: Option<Money> = details.iter().map(|d| money(d.upfront_cost())).sum();
                out.push(CeRecommendation {
                    account_id: account.to_string(),
                    kind: "Reserved Instances".to_string(),
                    service: service.to_string(),
                    term_years: 1,
                    payment: "no_upfront".to_string(),
                    currency: Currency::new(
                        summary.and_then(|s| s.currency_code()).unwrap_or("USD"),
                    ),
                    hourly_commitment: None,
                    items: details.iter().map(reservation_item).collect(),
                    monthly_savings: summary
                        .and_then(|s| money(s.total_estimated_monthly_savings_amount())),
                    upfront,
                });
            }
        },
    )
    .await;
    (done.map(|()| out), pages)
}

/// Pages through one Cost Explorer call until it gives no next token: `send` asks for the page
/// after `token`, `next` reads a page's token, `each` takes every page. Returns the outcome and
/// the pages asked for (each one is paid for).
async fn each_page<P, E, R, F>(
    call: &'static str,
    mut send: impl FnMut(Option<String>) -> F,
    next: impl Fn(&P) -> Option<&str>,
    mut each: impl FnMut(&P),
) -> (Result<(), ApiFailure>, u32)
where
    F: Future<Output = Result<P, aws_sdk_costexplorer::error::SdkError<E, R>>>,
    E: aws_sdk_costexplorer::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let (mut token, mut pages) = (None::<String>, 0u32);
    loop {
        let r = send(token.take()).await;
        pages += 1;
        let page = match r {
            Ok(page) => page,
            Err(e) => return (Err(ApiFailure::new("Cost Explorer", call, e)), pages),
        };
        each(&page);
        match next(&page).filter(|t| !t.is_empty()) {
            Some(following) => token = Some(following.to_string()),
            None => return (Ok(()), pages),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_round_to_whole_years() {
        assert_eq!(years(31_536_000), Some(1));
        assert_eq!(years(94_608_000), Some(3));
        assert_eq!(years(0), None);
    }

    #[test]
    fn a_savings_plan_keeps_its_term_and_commitment() {
        use aws_sdk_savingsplans::types::{SavingsPlan, SavingsPlanPaymentOption, SavingsPlanType};
        let p = SavingsPlan::builder()
            .savings_plan_arn("arn:aws:savingsplans::111122223333:savingsplan/abc")
            .savings_plan_type(SavingsPlanType::Compute)
            .payment_option(SavingsPlanPaymentOption::NoUpfront)
            .start("2025-12-20T00:00:00.000Z")
            .end("2026-12-20T00:00:00.000Z")
            .term_duration_in_seconds(31_536_000)
            .commitment("2.5")
            .build();
        let c = from_savings_plan(&p, "111122223333").unwrap();
        assert_eq!(c.hourly_commitment, Money::parse("2.5").ok());
        assert_eq!(c.term_years, Some(1));
        assert_eq!(c.plan_type, "Compute");
        assert_eq!(c.payment_option, "No Upfront");
        assert_eq!(c.term_end.map(|t| t.date_naive().to_string()).as_deref(), Some("2026-12-20"));
        let unnamed = SavingsPlan::builder().commitment("1").build();
        assert!(from_savings_plan(&unnamed, "1").is_none());
    }
}
