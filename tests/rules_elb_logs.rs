//! The load balancer and CloudWatch Logs rules of the default pack: for each, resources where it
//! must fire (savings checked against figures computed by hand from `rules/prices/elb.toml` and
//! `rules/prices/logs.toml`) and near misses where it must not.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common_rules;

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common_rules::{evaluate, find, money};
use costscope::model::inventory::{LoadBalancer, LoadBalancerType, LogGroup};
use costscope::model::utilization::UtilizationSummary;
use costscope::model::{Snapshot, Tags};
use costscope::source::focus::{FocusOptions, read_focus_reader};

const ACCOUNT: &str = "222222222222";
const GIB: u64 = 1 << 30;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
}

fn full_tags() -> Tags {
    [("team", "web"), ("env", "prod"), ("cost-center", "cc-1")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn lb_arn(name: &str, network: bool) -> String {
    let kind = if network { "net" } else { "app" };
    format!(
        "arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/{kind}/{name}/0123456789abcdef"
    )
}

/// An active load balancer, 200 days old, with `healthy` of 2 targets healthy.
fn lb(name: &str, network: bool, healthy: Option<u32>) -> LoadBalancer {
    LoadBalancer {
        id: lb_arn(name, network),
        name: name.into(),
        account_id: ACCOUNT.into(),
        region: "us-east-1".into(),
        lb_type: if network { LoadBalancerType::Network } else { LoadBalancerType::Application },
        scheme: "internet-facing".into(),
        state: "active".into(),
        create_time: Some(now() - Duration::days(200)),
        target_groups: vec![format!(
            "arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/{name}/fedcba9876543210"
        )],
        targets: healthy.map(|_| 2),
        healthy_targets: healthy,
        tags: full_tags(),
    }
}

/// Measured over `days`, the busiest day with `traffic` requests (ALB) or new flows (NLB).
fn traffic(id: &str, network: bool, days: u32, traffic: f64) -> UtilizationSummary {
    UtilizationSummary {
        resource_id: id.into(),
        lookback_days: 14,
        days_covered: days,
        data_points: days * 24,
        requests_day_max: (!network).then_some(traffic),
        new_flows_day_max: network.then_some(traffic),
        healthy_hosts_max: Some(2.0),
        ..Default::default()
    }
}

fn group(name: &str, retention: Option<u32>, gib: u64, age_days: i64) -> LogGroup {
    LogGroup {
        id: format!("arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{name}"),
        name: name.into(),
        account_id: ACCOUNT.into(),
        region: "us-east-1".into(),
        retention_days: retention,
        stored_bytes: gib * GIB,
        create_time: Some(now() - Duration::days(age_days)),
        ingestion_checked: true,
        last_ingestion: Some(now() - Duration::days(1)),
        tags: full_tags(),
    }
}

#[test]
fn elb_idle_fires_on_no_healthy_target_or_too_little_traffic() {
    let mut s = Snapshot::empty(now());
    let mut eu = lb("quiet-eu", true, Some(1));
    eu.id = eu.id.replace("us-east-1", "eu-west-1");
    eu.region = "eu-west-1".into();
    s.inventory.load_balancers = vec![
        lb("orphan", false, Some(0)),
        lb("quiet", false, Some(2)),
        lb("quiet-nlb", true, Some(1)),
        eu.clone(),
    ];
    s.utilization.push(traffic(&lb_arn("quiet", false), false, 14, 40.0));
    s.utilization.push(traffic(&lb_arn("quiet-nlb", true), true, 7, 99.0));
    s.utilization.push(traffic(&eu.id, true, 14, 0.0));
    let eval = evaluate(&s);

    // No healthy target, no metrics needed: 0.0225 × 730 = 16.425 (capacity units unknown).
    let f = find(&eval, "elb-idle", &lb_arn("orphan", false)).expect("no healthy target");
    assert_eq!(f.estimated_monthly_savings, money("16.425"));
    assert_eq!((f.resource_type.as_str(), f.action.as_str()), ("load_balancer", "delete"));
    assert!(f.evidence.contains("0 healthy of 2 targets in 1 target group(s)"), "{}", f.evidence);
    assert!(f.evidence.contains("from the price catalog"), "{}", f.evidence);
    // At most 40 requests on any of 14 days: 16.425.
    let f = find(&eval, "elb-idle", &lb_arn("quiet", false)).expect("quiet ALB");
    assert_eq!(f.estimated_monthly_savings, money("16.425"));
    assert!(f.evidence.contains("over 14 days measured: 40 requests"), "{}", f.evidence);
    // 99 new flows a day at most over exactly min_days (7): the NLB hour, 0.0225 × 730 = 16.425.
    let f = find(&eval, "elb-idle", &lb_arn("quiet-nlb", true)).expect("quiet NLB");
    assert_eq!(f.estimated_monthly_savings, money("16.425"));
    assert!(f.evidence.contains("99 new flows"), "{}", f.evidence);
    // eu-west-1's NLB hour: 0.0252 × 730 = 18.396.
    let f = find(&eval, "elb-idle", &eu.id).expect("quiet NLB in eu-west-1");
    assert_eq!(f.estimated_monthly_savings, money("18.396"));
}

#[test]
fn elb_idle_misses_busy_new_short_or_unknown_load_balancers() {
    let mut s = Snapshot::empty(now());
    let mut young = lb("young", false, Some(0));
    young.create_time = Some(now() - Duration::days(3));
    let mut provisioning = lb("provisioning", false, Some(0));
    provisioning.state = "provisioning".into();
    s.inventory.load_balancers = vec![
        lb("busy", false, Some(2)),
        lb("busy-nlb", true, Some(2)),
        lb("short", false, Some(2)),
        lb("unknown", false, None),
        young,
        provisioning,
    ];
    // 100 requests on the busiest day is not fewer than 100.
    s.utilization.push(traffic(&lb_arn("busy", false), false, 14, 100.0));
    s.utilization.push(traffic(&lb_arn("busy-nlb", true), true, 14, 5000.0));
    // Quiet, but measured on 6 days only.
    s.utilization.push(traffic(&lb_arn("short", false), false, 6, 3.0));
    let eval = evaluate(&s);
    for name in ["busy", "short", "unknown", "young", "provisioning"] {
        assert!(find(&eval, "elb-idle", &lb_arn(name, false)).is_none(), "{name}");
    }
    assert!(find(&eval, "elb-idle", &lb_arn("busy-nlb", true)).is_none());
}

#[test]
fn elb_idle_saves_what_billing_says_hours_and_capacity_units_included() {
    let id = lb_arn("billed", false);
    let mut csv = String::from(
        "BilledCost,EffectiveCost,ListCost,BillingCurrency,BillingAccountId,SubAccountId,\
         ProviderName,ServiceName,RegionId,ResourceId,ResourceType,ChargeCategory,\
         ChargePeriodStart,ChargePeriodEnd,Tags\n",
    );
    // 10 days at 0.80 a day (0.54 of hours, 0.26 of LCUs): 8.00 over 240 h, 24.333333 a month.
    for day in 1..=10 {
        csv.push_str(&format!(
            "0.80,0.80,0.80,USD,111111111111,{ACCOUNT},AWS,Elastic Load Balancing,\
             us-east-1,{id},Load Balancer,Usage,2026-10-{day:02}T00:00:00Z,2026-10-{:02}T00:00:00Z,{{}}\n",
            day + 1
        ));
    }
    let billing =
        read_focus_reader(csv.as_bytes(), Path::new("bill.csv"), FocusOptions::default()).unwrap();
    let mut s = Snapshot::empty(now());
    s.billing = Some(billing);
    s.inventory.load_balancers.push(lb("billed", false, Some(0)));
    let eval = evaluate(&s);
    let f = find(&eval, "elb-idle", &id).unwrap();
    assert_eq!(f.estimated_monthly_savings, money("24.333333"));
    assert!(f.evidence.contains("from billing (10 days billed)"), "{}", f.evidence);
}

#[test]
fn logs_no_retention_fires_on_big_groups_kept_forever() {
    let mut s = Snapshot::empty(now());
    s.inventory.log_groups = vec![
        group("forever", None, 100, 365),
        // Near misses: too small, retention set, younger than the retention.
        group("small", None, 1, 365),
        group("kept", Some(30), 100, 365),
        group("young", None, 100, 20),
    ];
    let eval = evaluate(&s);
    let id = |name: &str| format!("arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{name}");
    // Evenly ingested over 365 days, 335/365 of 100 GB is older than 30 days:
    // 91.780822 GB × 0.03 = 2.753425 a month.
    let f = find(&eval, "logs-no-retention", &id("forever")).expect("kept forever");
    assert_eq!(f.estimated_monthly_savings, money("2.753425"));
    assert_eq!(f.target.as_deref(), Some("30 days"));
    assert_eq!(f.resource_type, "log_group");
    assert!(f.evidence.contains("91.78 GB are older than 30 days"), "{}", f.evidence);
    // Its current cost is the whole storage: 100 × 0.03.
    assert_eq!(f.current_monthly_cost, Some(money("3")));
    for name in ["small", "kept", "young"] {
        assert!(find(&eval, "logs-no-retention", &id(name)).is_none(), "{name}");
    }
}

#[test]
fn logs_stale_fires_on_groups_nothing_writes_to() {
    let mut s = Snapshot::empty(now());
    let mut old = group("old", None, 20, 400);
    old.last_ingestion = Some(now() - Duration::days(120));
    let mut never = group("never", Some(365), 4, 200);
    never.last_ingestion = None;
    // Near misses: ingested 89 days ago; not looked up; stale but empty.
    let mut recent = group("recent", None, 20, 400);
    recent.last_ingestion = Some(now() - Duration::days(89));
    let mut unchecked = group("unchecked", None, 20, 400);
    unchecked.ingestion_checked = false;
    unchecked.last_ingestion = None;
    let mut empty = group("empty", Some(7), 0, 400);
    empty.last_ingestion = Some(now() - Duration::days(300));
    s.inventory.log_groups = vec![old, never, recent, unchecked, empty];
    let eval = evaluate(&s);
    let id = |name: &str| format!("arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{name}");
    // 20 GB × 0.03 = 0.60 a month.
    let f = find(&eval, "logs-stale", &id("old")).expect("stale for 120 days");
    assert_eq!(f.estimated_monthly_savings, money("0.6"));
    assert!(f.evidence.contains("nothing ingested for 120 days"), "{}", f.evidence);
    // A stale group is deleted, not trimmed: logs-no-retention stands down.
    assert!(find(&eval, "logs-no-retention", &id("old")).is_none());
    // No stream at all in 200 days: 4 GB × 0.03 = 0.12.
    let f = find(&eval, "logs-stale", &id("never")).expect("never written");
    assert_eq!(f.estimated_monthly_savings, money("0.12"));
    assert!(f.evidence.contains("retention 365"), "{}", f.evidence);
    for name in ["recent", "unchecked", "empty"] {
        assert!(find(&eval, "logs-stale", &id(name)).is_none(), "{name}");
    }
    // The unchecked group still gets its retention finding.
    assert!(find(&eval, "logs-no-retention", &id("unchecked")).is_some());
}

/// A classic load balancer, named as billing names it, with `in_service` of `registered`
/// instances in service (`None`: health not read).
fn classic(name: &str, region: &str, registered: u32, in_service: Option<u32>) -> LoadBalancer {
    LoadBalancer {
        id: format!("arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:loadbalancer/{name}"),
        name: name.into(),
        account_id: ACCOUNT.into(),
        region: region.into(),
        lb_type: LoadBalancerType::Classic,
        scheme: "internet-facing".into(),
        state: "active".into(),
        create_time: Some(now() - Duration::days(900)),
        target_groups: Vec::new(),
        targets: in_service.map(|_| registered),
        healthy_targets: in_service,
        tags: full_tags(),
    }
}

#[test]
fn elb_idle_judges_classic_load_balancers_by_instances_in_service_and_requests() {
    let mut s = Snapshot::empty(now());
    let lbs = [
        classic("legacy-orphan", "us-east-1", 2, Some(0)),
        classic("legacy-quiet", "us-east-1", 2, Some(2)),
        classic("legacy-eu", "eu-west-1", 1, Some(1)),
        classic("legacy-busy", "us-east-1", 2, Some(2)),
        classic("legacy-short", "us-east-1", 2, Some(2)),
        classic("legacy-unknown", "us-east-1", 2, None),
    ];
    for l in &lbs {
        let (days, requests) = match l.name.as_str() {
            "legacy-quiet" => (14, 99.0),
            "legacy-eu" => (14, 3.0),
            "legacy-busy" => (14, 100.0),
            "legacy-short" => (5, 0.0),
            _ => continue,
        };
        s.utilization.push(traffic(&l.id, false, days, requests));
    }
    s.inventory.load_balancers = lbs.to_vec();
    let eval = evaluate(&s);
    let id = |name: &str| lbs.iter().find(|l| l.name == name).unwrap().id.clone();

    // No instance in service, no metrics needed: the classic hour, 0.025 × 730 = 18.25.
    let f = find(&eval, "elb-idle", &id("legacy-orphan")).expect("no instance in service");
    assert_eq!(f.estimated_monthly_savings, money("18.25"));
    assert!(
        f.evidence.starts_with("classic load balancer (internet-facing), 900 days old; 0 healthy of 2 targets in no target group (instances registered directly);"),
        "{}",
        f.evidence
    );
    assert!(f.evidence.contains("data processed not included"), "{}", f.evidence);
    // At most 99 requests on any of 14 days (under 100): 18.25.
    let f = find(&eval, "elb-idle", &id("legacy-quiet")).expect("quiet classic");
    assert_eq!(f.estimated_monthly_savings, money("18.25"));
    assert!(f.evidence.contains("over 14 days measured: 99 requests"), "{}", f.evidence);
    // eu-west-1's classic hour (not verified in the table): 0.028 × 730 = 20.44.
    let f = find(&eval, "elb-idle", &id("legacy-eu")).expect("quiet classic in eu-west-1");
    assert_eq!(f.estimated_monthly_savings, money("20.44"));

    for (name, why) in [
        ("legacy-busy", "100 requests on its busiest day: not under 100"),
        ("legacy-short", "instances in service and 5 days of metrics < 7"),
        ("legacy-unknown", "health not read and no metrics: nothing says idle"),
    ] {
        assert!(find(&eval, "elb-idle", &id(name)).is_none(), "{why}");
    }
}

/// Billing by ARN names a classic load balancer the way costscope builds its id: the billed
/// hours and data processed are what deleting it saves.
#[test]
fn a_classic_load_balancer_billed_by_arn_saves_its_bill() {
    let mut s = Snapshot::empty(now());
    let lb = classic("legacy-billed", "us-east-1", 1, Some(0));
    let mut csv = String::from(
        "BilledCost,EffectiveCost,ListCost,BillingCurrency,BillingAccountId,SubAccountId,\
         ProviderName,ServiceName,RegionId,ResourceId,ResourceType,ChargeCategory,\
         ChargePeriodStart,ChargePeriodEnd,Tags\n",
    );
    // 10 days at 0.70 (0.60 of hours, 0.10 of data processed): 7.00 over 240 h.
    for day in 1..=10 {
        csv.push_str(&format!(
            "0.70,0.70,0.70,USD,{ACCOUNT},{ACCOUNT},AWS,Elastic Load Balancing,us-east-1,{},\
             LoadBalancer,Usage,2026-10-{day:02}T00:00:00Z,2026-10-{:02}T00:00:00Z,{{}}\n",
            lb.id,
            day + 1
        ));
    }
    let billing =
        read_focus_reader(csv.as_bytes(), Path::new("focus.csv"), FocusOptions::default()).unwrap();
    s.billing = Some(billing);
    s.inventory.load_balancers = vec![lb.clone()];
    let eval = evaluate(&s);
    let f = find(&eval, "elb-idle", &lb.id).expect("billed classic");
    // 7.00 × 730 / 240 = 21.2916666… → 21.291667 a 730-hour month.
    assert_eq!(f.estimated_monthly_savings, money("21.291667"));
    assert!(f.evidence.contains("from billing (10 days billed)"), "{}", f.evidence);
}
