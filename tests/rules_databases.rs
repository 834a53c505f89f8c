//! The database rules of the default pack: for each, resources where it must fire (savings
//! checked against figures computed by hand from `rules/prices/<service>.toml`, us-east-1) and
//! near misses where it must not.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common_rules;

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common_rules::{evaluate, find, money};
use costscope::model::inventory::{
    BillingMode, CacheCluster, DbCluster, DbInstance, DbSnapshot, DbSnapshotSource, DynamoDbTable,
    RedshiftCluster, SearchDomain,
};
use costscope::model::utilization::UtilizationSummary;
use costscope::model::{Snapshot, Tags};
use costscope::source::focus::{FocusOptions, read_focus_reader};

const ACCOUNT: &str = "222222222222";
const GIB: f64 = 1_073_741_824.0;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
}

fn full_tags() -> Tags {
    [("team", "data"), ("env", "prod"), ("cost-center", "cc-1")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn arn(service: &str, kind: &str, name: &str) -> String {
    format!("arn:aws:{service}:us-east-1:{ACCOUNT}:{kind}:{name}")
}

fn db(name: &str, class: &str, engine: &str, version: &str) -> DbInstance {
    DbInstance {
        id: arn("rds", "db", name),
        name: name.into(),
        account_id: ACCOUNT.into(),
        region: "us-east-1".into(),
        class: class.into(),
        engine: engine.into(),
        engine_version: version.into(),
        multi_az: false,
        status: "available".into(),
        storage_type: "gp2".into(),
        allocated_storage_gib: 100,
        iops: None,
        cluster_name: None,
        create_time: Some(now() - Duration::days(200)),
        tags: full_tags(),
    }
}

fn measured(id: &str, days: u32) -> UtilizationSummary {
    UtilizationSummary {
        resource_id: id.into(),
        lookback_days: 14,
        days_covered: days,
        data_points: days * 24,
        ..Default::default()
    }
}

/// A database measured over `days`: CPU p95, connections max and freeable memory min (GiB).
fn db_util(
    name: &str,
    days: u32,
    cpu_p95: f64,
    connections: f64,
    free_gib: f64,
) -> UtilizationSummary {
    UtilizationSummary {
        cpu_avg_percent: Some(cpu_p95 / 2.0),
        cpu_p95_percent: Some(cpu_p95),
        cpu_max_percent: Some(cpu_p95 * 1.5),
        connections_max: Some(connections),
        freeable_memory_min_bytes: Some(free_gib * GIB),
        ..measured(&arn("rds", "db", name), days)
    }
}

fn snapshot() -> Snapshot {
    Snapshot::empty(now())
}

#[test]
fn rds_idle_fires_on_a_database_nobody_connects_to() {
    let mut s = snapshot();
    for name in ["idle", "used", "new", "short"] {
        s.inventory.db_instances.push(db(name, "db.m5.large", "mysql", "8.4.3"));
    }
    s.inventory.db_instances[2].create_time = Some(now() - Duration::days(10));
    s.utilization.push(db_util("idle", 14, 3.0, 0.0, 6.0));
    s.utilization.push(db_util("used", 14, 3.0, 2.0, 6.0));
    s.utilization.push(db_util("new", 14, 3.0, 0.0, 6.0));
    s.utilization.push(db_util("short", 5, 3.0, 0.0, 6.0));
    let eval = evaluate(&s);
    let f = find(&eval, "rds-idle", &arn("rds", "db", "idle")).expect("idle database");
    // db.m5.large MySQL 0.171 × 730 = 124.83, + 100 GiB gp2 × 0.115 = 11.50: 136.33 a month;
    // the final snapshot keeps 100 GiB × 0.095 = 9.50: 126.83 saved.
    assert_eq!(f.current_monthly_cost, Some(money("136.33")));
    assert_eq!(f.estimated_monthly_savings, money("126.83"));
    assert_eq!(f.action, "delete");
    assert_eq!(f.resource_type, "rds_instance");
    assert!(f.evidence.contains("no database connections (max 0) over 14 days"), "{}", f.evidence);
    assert!(f.evidence.contains("price catalog"), "{}", f.evidence);
    assert!(find(&eval, "rds-idle", &arn("rds", "db", "used")).is_none(), "2 connections");
    assert!(find(&eval, "rds-idle", &arn("rds", "db", "new")).is_none(), "created 10 days ago");
    assert!(find(&eval, "rds-idle", &arn("rds", "db", "short")).is_none(), "5 days of data");
    assert!(eval.insufficient_data.get("rds-idle").copied().unwrap_or(0) >= 1);
}

#[test]
fn rds_rightsize_moves_one_class_down_and_doubles_for_multi_az() {
    let mut s = snapshot();
    for name in ["big", "tight", "hot"] {
        let mut d = db(name, "db.m5.xlarge", "postgres", "16.4");
        d.multi_az = true;
        s.inventory.db_instances.push(d);
    }
    s.utilization.push(db_util("big", 14, 20.0, 30.0, 10.0));
    s.utilization.push(db_util("tight", 14, 20.0, 30.0, 6.0));
    s.utilization.push(db_util("hot", 14, 55.0, 30.0, 10.0));
    let eval = evaluate(&s);
    let f = find(&eval, "rds-rightsize", &arn("rds", "db", "big")).expect("oversized database");
    // PostgreSQL db.m5.xlarge 0.356 → db.m5.large 0.178: 0.178 × 730 × 2 (Multi-AZ) = 259.88.
    assert_eq!(f.target.as_deref(), Some("db.m5.large"));
    assert_eq!(f.estimated_monthly_savings, money("259.88"));
    assert!(f.evidence.contains("freeable memory never below 10 of 16 GiB"), "{}", f.evidence);
    assert!(f.evidence.contains("Multi-AZ"), "{}", f.evidence);
    // 6 GiB free of 16 is under half: the smaller class would run out of memory.
    assert!(find(&eval, "rds-rightsize", &arn("rds", "db", "tight")).is_none());
    assert!(find(&eval, "rds-rightsize", &arn("rds", "db", "hot")).is_none(), "CPU p95 55 %");
}

#[test]
fn rds_previous_generation_and_graviton_price_the_same_size() {
    let mut s = snapshot();
    s.inventory.db_instances.push(db("old", "db.m4.large", "mysql", "8.4.3"));
    s.inventory.db_instances.push(db("t2", "db.t2.micro", "mysql", "8.4.3"));
    s.inventory.db_instances.push(db("x86", "db.r5.large", "mysql", "8.4.3"));
    s.inventory.db_instances.push(db("arm", "db.r6g.large", "mysql", "8.4.3"));
    s.inventory.db_instances.push(db("oracle", "db.r5.large", "oracle-se2", "19.0.0.0"));
    let eval = evaluate(&s);
    let f = find(&eval, "rds-previous-generation", &arn("rds", "db", "old")).unwrap();
    // db.m4.large 0.175 → db.m5.large 0.171: 0.004 × 730 = 2.92.
    assert_eq!(f.target.as_deref(), Some("db.m5.large"));
    assert_eq!(f.estimated_monthly_savings, money("2.92"));
    // db.t3.micro costs what db.t2.micro costs (0.017): no saving, no finding.
    assert!(find(&eval, "rds-previous-generation", &arn("rds", "db", "t2")).is_none());
    let f = find(&eval, "rds-graviton", &arn("rds", "db", "x86")).unwrap();
    // db.r5.large 0.24 → db.r6g.large 0.215: 0.025 × 730 = 18.25.
    assert_eq!(f.target.as_deref(), Some("db.r6g.large"));
    assert_eq!(f.estimated_monthly_savings, money("18.25"));
    assert!(find(&eval, "rds-graviton", &arn("rds", "db", "arm")).is_none());
    assert!(find(&eval, "rds-graviton", &arn("rds", "db", "oracle")).is_none(), "no ARM Oracle");
    // Oracle has no price table: its cost says so instead of reading zero.
    assert!(
        eval.findings
            .iter()
            .all(|f| f.resource_id != arn("rds", "db", "oracle") || f.rule_id == "untagged")
    );
}

#[test]
fn rds_extended_support_charges_per_vcpu_hour() {
    let mut s = snapshot();
    let mut legacy = db("legacy", "db.m5.large", "postgres", "11.22");
    legacy.multi_az = true;
    s.inventory.db_instances.push(legacy);
    s.inventory.db_instances.push(db("current", "db.m5.large", "postgres", "16.4"));
    s.inventory.db_instances.push(db(
        "aurora2",
        "db.r5.large",
        "aurora-mysql",
        "5.7.mysql_aurora.2.11.2",
    ));
    let eval = evaluate(&s);
    let f = find(&eval, "rds-extended-support", &arn("rds", "db", "legacy")).unwrap();
    // 2 vCPU × 0.10 × 730 h × 2 (Multi-AZ) = 292.00.
    assert_eq!(f.estimated_monthly_savings, money("292"));
    assert_eq!(f.action, "upgrade");
    assert!(f.evidence.contains("postgres 11.22 is past standard support"), "{}", f.evidence);
    // Aurora MySQL 2 (5.7): 2 vCPU × 0.10 × 730, no Multi-AZ factor for Aurora = 146.00.
    let f = find(&eval, "rds-extended-support", &arn("rds", "db", "aurora2")).unwrap();
    assert_eq!(f.estimated_monthly_savings, money("146"));
    assert!(find(&eval, "rds-extended-support", &arn("rds", "db", "current")).is_none());
}

#[test]
fn rds_snapshot_orphaned_fires_on_old_manual_snapshots_of_deleted_databases() {
    let mut s = snapshot();
    s.inventory.db_instances.push(db("live", "db.m5.large", "mysql", "8.4.3"));
    let snap = |name: &str, source: &str, kind: &str, age: i64| DbSnapshot {
        id: arn("rds", "snapshot", name),
        name: name.into(),
        account_id: ACCOUNT.into(),
        region: "us-east-1".into(),
        source: DbSnapshotSource::Instance,
        source_name: source.into(),
        snapshot_type: kind.into(),
        engine: "mysql".into(),
        size_gib: 50,
        create_time: Some(now() - Duration::days(age)),
        tags: full_tags(),
    };
    s.inventory.db_snapshots = vec![
        snap("orphan", "gone", "manual", 60),
        snap("kept", "live", "manual", 60),
        snap("recent", "gone", "manual", 20),
        snap("auto", "gone", "automated", 60),
    ];
    let eval = evaluate(&s);
    let f = find(&eval, "rds-snapshot-orphaned", &arn("rds", "snapshot", "orphan")).unwrap();
    // 50 GiB × 0.095 = 4.75.
    assert_eq!(f.estimated_monthly_savings, money("4.75"));
    assert!(f.evidence.contains("instance gone"), "{}", f.evidence);
    for name in ["kept", "recent", "auto"] {
        assert!(find(&eval, "rds-snapshot-orphaned", &arn("rds", "snapshot", name)).is_none());
    }
}

#[test]
fn aurora_instances_are_priced_without_storage_and_clusters_with_it() {
    let mut s = snapshot();
    let mut member = db("member", "db.r6g.large", "aurora-postgresql", "16.4");
    member.storage_type = "aurora".into();
    member.cluster_name = Some("orders".into());
    s.inventory.db_instances.push(member);
    s.inventory.db_clusters.push(DbCluster {
        id: arn("rds", "cluster", "orders"),
        name: "orders".into(),
        account_id: ACCOUNT.into(),
        region: "us-east-1".into(),
        engine: "aurora-postgresql".into(),
        engine_version: "16.4".into(),
        status: "available".into(),
        members: vec!["member".into()],
        allocated_storage_gib: 200,
        create_time: Some(now() - Duration::days(200)),
        tags: Tags::new(),
    });
    s.utilization.push(db_util("member", 14, 2.0, 0.0, 10.0));
    let eval = evaluate(&s);
    let f = find(&eval, "rds-idle", &arn("rds", "db", "member")).unwrap();
    // db.r6g.large Aurora PostgreSQL 0.26 × 730 = 189.80; storage stays with the cluster.
    assert_eq!(f.current_monthly_cost, Some(money("189.8")));
    assert_eq!(f.estimated_monthly_savings, money("189.8"));
    // The untagged cluster is a resource of its own: 200 GiB × 0.10 = 20.00 a month.
    let f = find(&eval, "untagged", &arn("rds", "cluster", "orders")).unwrap();
    assert_eq!(f.resource_type, "rds_cluster");
    assert_eq!(f.current_monthly_cost, Some(money("20")));
}

#[test]
fn cache_search_and_warehouse_idle_rules() {
    let mut s = snapshot();
    let cache = |name: &str| CacheCluster {
        id: arn("elasticache", "cluster", name),
        name: name.into(),
        account_id: ACCOUNT.into(),
        region: "us-east-1".into(),
        engine: "redis".into(),
        engine_version: "7.1".into(),
        node_type: "cache.r5.large".into(),
        nodes: 2,
        node_ids: vec!["0001".into(), "0002".into()],
        status: "available".into(),
        create_time: Some(now() - Duration::days(100)),
        tags: full_tags(),
    };
    s.inventory.cache_clusters = vec![cache("cold"), cache("warm")];
    let domain = |name: &str| SearchDomain {
        id: arn("es", "domain", name),
        name: name.into(),
        account_id: ACCOUNT.into(),
        region: "us-east-1".into(),
        engine_version: "OpenSearch_2.13".into(),
        instance_type: "m5.large.search".into(),
        instance_count: 2,
        master_type: Some("m5.large.search".into()),
        master_count: 3,
        volume_type: Some("gp3".into()),
        volume_size_gib: 100,
        create_time: Some(now() - Duration::days(100)),
        tags: full_tags(),
    };
    s.inventory.search_domains = vec![domain("quiet"), domain("searched")];
    let warehouse = |name: &str, status: &str| RedshiftCluster {
        id: arn("redshift", "cluster", name),
        name: name.into(),
        account_id: ACCOUNT.into(),
        region: "us-east-1".into(),
        node_type: "dc2.large".into(),
        nodes: 2,
        status: status.into(),
        create_time: Some(now() - Duration::days(100)),
        tags: full_tags(),
    };
    s.inventory.redshift_clusters = vec![
        warehouse("unused", "available"),
        warehouse("paused", "paused"),
        warehouse("queried", "available"),
    ];
    let with = |id: String, f: &dyn Fn(&mut UtilizationSummary)| {
        let mut u = measured(&id, 14);
        f(&mut u);
        u
    };
    s.utilization = vec![
        with(arn("elasticache", "cluster", "cold"), &|u| u.connections_max = Some(0.0)),
        with(arn("elasticache", "cluster", "warm"), &|u| u.connections_max = Some(12.0)),
        with(arn("es", "domain", "quiet"), &|u| {
            u.search_rate_max = Some(0.0);
            u.indexing_rate_max = Some(0.0);
        }),
        with(arn("es", "domain", "searched"), &|u| {
            u.search_rate_max = Some(5.0);
            u.indexing_rate_max = Some(0.0);
        }),
        with(arn("redshift", "cluster", "unused"), &|u| u.connections_max = Some(0.0)),
        with(arn("redshift", "cluster", "paused"), &|u| u.connections_max = Some(0.0)),
        with(arn("redshift", "cluster", "queried"), &|u| u.connections_max = Some(4.0)),
    ];
    let eval = evaluate(&s);
    // 2 × cache.r5.large 0.216 × 730 = 315.36.
    let f = find(&eval, "elasticache-idle", &arn("elasticache", "cluster", "cold")).unwrap();
    assert_eq!(f.estimated_monthly_savings, money("315.36"));
    assert!(find(&eval, "elasticache-idle", &arn("elasticache", "cluster", "warm")).is_none());
    // 5 × m5.large.search (2 data + 3 masters) 0.142 × 730 = 518.30, + 2 × 100 GiB gp3 × 0.122
    // = 24.40: 542.70.
    let f = find(&eval, "opensearch-idle", &arn("es", "domain", "quiet")).unwrap();
    assert_eq!(f.estimated_monthly_savings, money("542.7"));
    assert!(find(&eval, "opensearch-idle", &arn("es", "domain", "searched")).is_none());
    // Pausing stops 2 × dc2.large 0.25 × 730 = 365.00.
    let f = find(&eval, "redshift-idle", &arn("redshift", "cluster", "unused")).unwrap();
    assert_eq!(f.estimated_monthly_savings, money("365"));
    assert_eq!(f.action, "pause");
    assert!(find(&eval, "redshift-idle", &arn("redshift", "cluster", "paused")).is_none());
    assert!(find(&eval, "redshift-idle", &arn("redshift", "cluster", "queried")).is_none());

    // Graviton: 2 × (cache.r5.large 0.216 − cache.r6g.large 0.206) × 730 = 14.60, on the idle
    // and the busy cache alike (the idle one's primary finding stays elasticache-idle).
    let f = find(&eval, "elasticache-graviton", &arn("elasticache", "cluster", "warm")).unwrap();
    assert_eq!(f.target.as_deref(), Some("cache.r6g.large"));
    assert_eq!(f.estimated_monthly_savings, money("14.6"));
    assert!(!f.alternative);
    let f = find(&eval, "elasticache-graviton", &arn("elasticache", "cluster", "cold")).unwrap();
    assert!(f.alternative, "the idle cache is deleted, not modernised");
    // 2 data nodes × (m5.large.search 0.142 − m6g.large.search 0.128) × 730 = 20.44; the
    // masters are not counted.
    let f = find(&eval, "opensearch-graviton", &arn("es", "domain", "searched")).unwrap();
    assert_eq!(f.target.as_deref(), Some("m6g.large.search"));
    assert_eq!(f.estimated_monthly_savings, money("20.44"));
}

#[test]
fn graviton_classes_and_unknown_types_do_not_fire_the_graviton_rules() {
    let mut s = snapshot();
    let cache = |name: &str, node_type: &str| CacheCluster {
        id: arn("elasticache", "cluster", name),
        name: name.into(),
        account_id: ACCOUNT.into(),
        region: "us-east-1".into(),
        engine: "redis".into(),
        engine_version: "7.1".into(),
        node_type: node_type.into(),
        nodes: 1,
        node_ids: vec!["0001".into()],
        status: "available".into(),
        create_time: None,
        tags: full_tags(),
    };
    s.inventory.cache_clusters =
        vec![cache("arm", "cache.r6g.large"), cache("odd", "cache.x9.huge")];
    let eval = evaluate(&s);
    assert!(eval.findings.iter().all(|f| f.rule_id != "elasticache-graviton"));
    // The unknown node type has no Graviton mapping and no price: nothing to say about it.
    let odd = eval.findings.iter().find(|f| f.resource_id == arn("elasticache", "cluster", "odd"));
    assert!(odd.is_none(), "{odd:?}");
}

fn table(name: &str, mode: BillingMode, rcu: u64, wcu: u64) -> DynamoDbTable {
    DynamoDbTable {
        id: format!("arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{name}"),
        name: name.into(),
        account_id: ACCOUNT.into(),
        region: "us-east-1".into(),
        billing_mode: mode,
        read_capacity: rcu,
        write_capacity: wcu,
        size_bytes: 2_000_000_000,
        item_count: 1_000_000,
        status: "ACTIVE".into(),
        create_time: Some(now() - Duration::days(300)),
        tags: full_tags(),
    }
}

/// Consumed capacity over 14 days: peaks per second and the average rates behind the totals.
fn consumed(name: &str, peaks: (f64, f64), averages: (f64, f64)) -> UtilizationSummary {
    let seconds = 14.0 * 86_400.0;
    UtilizationSummary {
        read_units_peak_per_second: Some(peaks.0),
        write_units_peak_per_second: Some(peaks.1),
        read_units_total: Some(averages.0 * seconds),
        write_units_total: Some(averages.1 * seconds),
        ..measured(&format!("arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{name}"), 14)
    }
}

#[test]
fn dynamodb_overprovisioned_shows_the_cheaper_of_lower_capacity_and_on_demand() {
    let mut s = snapshot();
    s.inventory.dynamodb_tables = vec![
        table("spiky", BillingMode::Provisioned, 1000, 500),
        table("steady", BillingMode::Provisioned, 1000, 500),
        table("sized", BillingMode::Provisioned, 1000, 500),
        table("ondemand", BillingMode::PayPerRequest, 0, 0),
    ];
    s.utilization = vec![
        // Rare peaks, little traffic: on-demand wins.
        consumed("spiky", (70.0, 20.0), (14e6 / (14.0 * 86_400.0), 2.8e6 / (14.0 * 86_400.0))),
        // Steady traffic near the peak: lowered capacity wins.
        consumed("steady", (200.0, 100.0), (150.0, 80.0)),
        // Peaks at 40 % of both capacities: not over-provisioned by the rule's 30 %.
        consumed("sized", (400.0, 200.0), (300.0, 150.0)),
        consumed("ondemand", (5.0, 5.0), (1.0, 1.0)),
    ];
    let eval = evaluate(&s);
    let id = |name: &str| format!("arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{name}");
    // Provisioned now: (1000 × 0.00013 + 500 × 0.00065) × 730 = 332.15 a month.
    // spiky on demand: 14e6 reads in 14 days = 30,416,667 a month × 0.125/M = 3.802083375, and
    // 6,083,334 writes × 0.625/M = 3.80208375: 7.604167125; lowered to 100 RCU / 29 WCU would
    // cost 23.2505. Saved: 332.15 − 7.604167125 = 324.545832875.
    let f = find(&eval, "dynamodb-overprovisioned", &id("spiky")).unwrap();
    assert_eq!(f.target.as_deref(), Some("on-demand"));
    assert_eq!(f.estimated_monthly_savings.display_2dp(), "324.55");
    // steady: lowered to ceil(200 / 0.7) = 286 RCU and ceil(100 / 0.7) = 143 WCU:
    // (286 × 0.00013 + 143 × 0.00065) × 730 = 94.9949; on demand would be 180.675.
    // Saved: 332.15 − 94.9949 = 237.1551.
    let f = find(&eval, "dynamodb-overprovisioned", &id("steady")).unwrap();
    assert_eq!(f.target.as_deref(), Some("286 RCU / 143 WCU"));
    assert_eq!(f.estimated_monthly_savings.display_2dp(), "237.16");
    assert!(find(&eval, "dynamodb-overprovisioned", &id("sized")).is_none());
    assert!(find(&eval, "dynamodb-overprovisioned", &id("ondemand")).is_none());
}

#[test]
fn untagged_covers_every_database_kind() {
    let mut s = snapshot();
    let mut bare = db("bare", "db.t3.micro", "postgres", "16.4");
    bare.tags = Tags::new();
    s.inventory.db_instances.push(bare);
    let mut t = table("bare", BillingMode::PayPerRequest, 0, 0);
    t.tags = Tags::new();
    s.inventory.dynamodb_tables.push(t);
    let eval = evaluate(&s);
    let f = find(&eval, "untagged", &arn("rds", "db", "bare")).unwrap();
    assert_eq!(f.resource_type, "rds_instance");
    let f = find(&eval, "untagged", &format!("arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/bare"));
    assert_eq!(f.unwrap().resource_type, "dynamodb_table");
}

#[test]
fn billing_by_arn_prices_a_database_before_the_catalog() {
    let id = arn("rds", "db", "billed");
    let mut csv = String::from(
        "BilledCost,EffectiveCost,ListCost,BillingCurrency,BillingAccountId,SubAccountId,\
         ProviderName,ServiceName,RegionId,ResourceId,ResourceType,ChargeCategory,\
         ChargePeriodStart,ChargePeriodEnd,Tags\n",
    );
    // 10 days at 5.00 a day: 50.00 over 240 h, 152.083333 a 730-hour month.
    for day in 1..=10 {
        csv.push_str(&format!(
            "5.00,5.00,5.00,USD,111111111111,{ACCOUNT},AWS,Amazon Relational Database Service,\
             us-east-1,{id},DB Instance,Usage,2026-10-{day:02}T00:00:00Z,2026-10-{:02}T00:00:00Z,{{}}\n",
            day + 1
        ));
    }
    let billing =
        read_focus_reader(csv.as_bytes(), Path::new("bill.csv"), FocusOptions::default()).unwrap();
    let mut s = snapshot();
    s.billing = Some(billing);
    s.inventory.db_instances.push(db("billed", "db.m5.large", "mysql", "8.4.3"));
    s.utilization.push(db_util("billed", 14, 1.0, 0.0, 6.0));
    let eval = evaluate(&s);
    let f = find(&eval, "rds-idle", &id).unwrap();
    assert_eq!(f.current_monthly_cost, Some(money("152.083333")));
    // The billed month less the final snapshot (100 GiB × 0.095 = 9.50).
    assert_eq!(f.estimated_monthly_savings, money("142.583333"));
    assert!(f.evidence.contains("from billing (10 days billed)"), "{}", f.evidence);
}
