//! A synthetic snapshot with every kind of resource and every measurement present, so
//! `rules check` can run each rule's expressions and catch mistakes (a type error, a misspelt
//! field) before a real run meets them.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};

use super::engine::Engine;
use super::rule::{RuleError, RuleSet};
use crate::model::Snapshot;
use crate::model::inventory::{
    Architecture, EbsSnapshot, ElasticIp, Image, ImageSnapshot, Instance, InstanceState,
    LambdaFunction, NatGateway, S3Bucket, Volume, VolumeAttachment, VolumeState,
};
use crate::model::utilization::UtilizationSummary;
use crate::pricing::catalog::PriceCatalog;

fn probe_snapshot() -> Snapshot {
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap_or_default();
    let mut s = Snapshot::empty(now);
    let region = "us-east-1".to_string();
    let account = "000000000000".to_string();
    let instance = |id: &str, t: &str, state| Instance {
        id: id.into(),
        account_id: account.clone(),
        region: region.clone(),
        instance_type: t.into(),
        state,
        launch_time: Some(now - Duration::days(400)),
        state_transition_time: Some(now - Duration::days(200)),
        state_transition_reason: Some("User initiated (2025-06-15 00:00:00 GMT)".into()),
        platform: None,
        tags: Default::default(),
        volume_ids: vec!["vol-probe-root".into()],
        image_id: None,
    };
    s.inventory.instances = vec![
        instance("i-probe-idle", "m5.xlarge", InstanceState::Running),
        instance("i-probe-busy", "m4.xlarge", InstanceState::Running),
        instance("i-probe-stopped", "m5.large", InstanceState::Stopped),
        // Non-production and idle nights and weekends (ec2-offhours).
        Instance {
            tags: [("env".to_string(), "Dev".to_string())].into_iter().collect(),
            ..instance("i-probe-offhours", "m5.large", InstanceState::Running)
        },
    ];
    let volume = |id: &str, t: &str, state, iops| Volume {
        id: id.into(),
        account_id: account.clone(),
        region: region.clone(),
        volume_type: t.into(),
        size_gib: 500,
        iops,
        throughput: None,
        state,
        attachments: vec![],
        create_time: Some(now - Duration::days(400)),
        tags: Default::default(),
    };
    let mut root = volume("vol-probe-root", "gp2", VolumeState::InUse, None);
    root.attachments =
        vec![VolumeAttachment { instance_id: "i-probe-stopped".into(), device: None }];
    s.inventory.volumes = vec![
        root,
        volume("vol-probe-free", "io1", VolumeState::Available, Some(1000)),
        volume("vol-probe-gp2", "gp2", VolumeState::Available, None),
    ];
    s.inventory.addresses = vec![ElasticIp {
        allocation_id: "eipalloc-probe".into(),
        public_ip: "192.0.2.1".into(),
        account_id: account.clone(),
        region: region.clone(),
        association_id: None,
        instance_id: None,
        tags: Default::default(),
    }];
    s.inventory.snapshots = vec![EbsSnapshot {
        id: "snap-probe".into(),
        account_id: account.clone(),
        region: region.clone(),
        volume_id: Some("vol-probe-deleted".into()),
        size_gib: 100,
        start_time: Some(now - Duration::days(400)),
        description: None,
        tags: Default::default(),
    }];
    s.inventory.nat_gateways = vec![NatGateway {
        id: "nat-probe".into(),
        account_id: account.clone(),
        region: region.clone(),
        state: "available".into(),
        create_time: Some(now - Duration::days(400)),
        vpc_id: None,
        subnet_id: None,
        tags: Default::default(),
    }];
    let util = |id: &str, p95: f64| UtilizationSummary {
        resource_id: id.into(),
        lookback_days: 365,
        days_covered: 365,
        data_points: 365 * 24,
        cpu_avg_percent: Some(p95 / 2.0),
        cpu_p95_percent: Some(p95),
        cpu_max_percent: Some(p95 * 2.0),
        memory_p95_percent: None,
        network_in_bytes_per_day: Some(1e5),
        network_out_bytes_per_day: Some(1e5),
        bytes_processed: Some(1e6),
        ..Default::default()
    };
    let offhours = UtilizationSummary {
        idle_hours_per_week: Some(100.0),
        idle_cpu_below_percent: Some(5.0),
        ..util("i-probe-offhours", 30.0)
    };
    s.utilization = vec![
        util("i-probe-idle", 1.0),
        util("i-probe-busy", 20.0),
        util("nat-probe", 0.0),
        offhours,
    ];
    databases(&mut s, &account, &region);
    for (id, connections) in
        [("db-probe-idle", 0.0), ("db-probe-busy", 40.0), ("db-probe-aurora", 0.0)]
    {
        let mut u = util(&arn("rds", "db", id), 10.0);
        u.connections_max = Some(connections);
        u.freeable_memory_min_bytes = Some(12.0 * f64::from(1u32 << 30));
        s.utilization.push(u);
    }
    let mut cache = util(&arn("elasticache", "cluster", "cache-probe"), 2.0);
    cache.connections_max = Some(0.0);
    let mut search = util(&arn("es", "domain", "search-probe"), 2.0);
    search.search_rate_max = Some(0.0);
    search.indexing_rate_max = Some(0.0);
    let mut warehouse = util(&arn("redshift", "cluster", "warehouse-probe"), 2.0);
    warehouse.connections_max = Some(0.0);
    let mut table = util(&arn("dynamodb", "table", "table-probe"), 0.0);
    table.read_units_peak_per_second = Some(5.0);
    table.write_units_peak_per_second = Some(2.0);
    table.read_units_total = Some(3e6);
    table.write_units_total = Some(1e6);
    s.utilization.extend([cache, search, warehouse, table]);
    ebs_io(&mut s);
    load_balancers_and_logs(&mut s, &account, &region);
    serverless_and_storage(&mut s, &account, &region);
    images(&mut s);
    commitments(&mut s, &account, &region);
    // The bundled sample's cluster gives the Kubernetes rules nodes, node groups and workloads
    // to run on (its nodes are priced from the catalog here: the probe has no billing).
    s.clusters = crate::sample::snapshot().map(|sample| sample.clusters).unwrap_or_default();
    // The sample's volumes and load balancers are younger than the probe's date: one of each,
    // old enough to be judged.
    if let Some(cluster) = s.clusters.first_mut() {
        use crate::model::cluster::storage::VolumePhase;
        use crate::model::cluster::{LoadBalancerService, PersistentVolume};
        cluster.volumes.push(PersistentVolume {
            name: "pv-probe".into(),
            capacity_bytes: 10 << 30,
            storage_class: Some("gp3".into()),
            phase: VolumePhase::Released,
            volume_handle: Some("vol-0probe".into()),
            created: Some(now - chrono::Duration::days(30)),
            ..Default::default()
        });
        cluster.load_balancers.push(LoadBalancerService {
            namespace: "probe".into(),
            name: "lb-probe".into(),
            ingress: vec!["probe.elb.amazonaws.com".into()],
            has_selector: true,
            ready_endpoints: Some(0),
            created: Some(now - chrono::Duration::days(30)),
            ..Default::default()
        });
        // A quiet Deployment with an HPA, so k8s-workload-abandoned runs its evidence whole.
        if let Some(w) = cluster.workloads.iter_mut().find(|w| w.kind == "Deployment") {
            w.network = Some(crate::model::cluster::WorkloadNetwork {
                rx_max_bytes_per_second: 12.5,
                tx_max_bytes_per_second: 40.0,
                days: 14.0,
                points: 8064,
            });
            cluster.autoscalers.push(crate::model::cluster::Autoscaler {
                namespace: w.namespace.clone(),
                name: w.name.clone(),
                target_kind: w.kind.clone(),
                target_name: w.name.clone(),
                min_replicas: 2,
                max_replicas: 6,
                cpu_target_percent: Some(70),
                memory_target_percent: None,
            });
        }
    }
    s
}

/// A Savings Plan used half the time, ending in ten days, and on-demand compute beside it,
/// from billing; a second plan known only from the API, ending in twelve.
fn commitments(s: &mut Snapshot, account: &str, region: &str) {
    use crate::model::commitments::{
        CommitmentCharge, CommitmentData, CommitmentDay, CommitmentInfo, ComputeUsage,
        LiveCommitment, LiveCommitments, LiveKind, Pricing,
    };
    use crate::model::{BillingSummary, Currency, Money};
    let day = chrono::NaiveDate::from_ymd_opt(2025, 12, 31).unwrap_or_default();
    let amount = |charge, cost: i64| CommitmentDay {
        commitment_id: "sp-probe".into(),
        day,
        charge,
        currency: Currency::usd(),
        billed_cost: Money::ZERO,
        effective_cost: Some(Money::from_units(cost)),
        list_cost: (charge == CommitmentCharge::Used).then(|| Money::from_units(cost * 2)),
        rows: 1,
    };
    let info = CommitmentInfo {
        name: "sp-probe".into(),
        category: "Spend".into(),
        kind: "Savings Plan".into(),
        provider: "AWS".into(),
        account_id: account.into(),
        region: region.into(),
        unit: "USD".into(),
        usage_rows: 2,
        purchase_rows: 0,
        term_end: Some(s.collected_at.date_naive() + chrono::Duration::days(10)),
    };
    let on_demand = ComputeUsage {
        hour: day.and_hms_opt(0, 0, 0).unwrap_or_default(),
        provider: "AWS".into(),
        service: "Amazon Elastic Compute Cloud".into(),
        account_id: account.into(),
        region: region.into(),
        resource_type: "Instance".into(),
        pricing: Pricing::OnDemand,
        currency: Currency::usd(),
        billed_cost: Money::from_units(48),
        effective_cost: Some(Money::from_units(48)),
        list_cost: Some(Money::from_units(48)),
        rows: 1,
    };
    s.billing = Some(BillingSummary {
        first_day: Some(day),
        last_day: Some(day),
        commitments: CommitmentData {
            days: vec![amount(CommitmentCharge::Used, 12), amount(CommitmentCharge::Unused, 12)],
            info: [("sp-probe".to_string(), info)].into_iter().collect(),
            compute: vec![on_demand],
            service_category_known: true,
        },
        ..Default::default()
    });
    s.live_commitments = Some(LiveCommitments {
        commitments: vec![LiveCommitment {
            id: format!("arn:aws:savingsplans::{account}:savingsplan/probe"),
            kind: LiveKind::SavingsPlan,
            plan_type: "Compute".into(),
            account_id: account.into(),
            region: String::new(),
            term_start: Some(s.collected_at - chrono::Duration::days(353)),
            term_end: Some(s.collected_at + chrono::Duration::days(12)),
            term_years: Some(1),
            payment_option: "No Upfront".into(),
            state: "active".into(),
            currency: Currency::usd(),
            hourly_commitment: Some(Money::from_units(1)),
            instance_count: None,
            upfront: None,
            recurring_hourly: Some(Money::from_units(1)),
        }],
        ..Default::default()
    });
}

/// Attached provisioned-IOPS volumes and I/O measurements for the EBS rules (io → gp3, io1 → io2,
/// low use on the root volume).
fn ebs_io(s: &mut Snapshot) {
    let Some(root) = s.inventory.volumes.first().cloned() else { return };
    let io = |id: &str, iops| Volume {
        id: id.into(),
        volume_type: "io1".into(),
        iops: Some(iops),
        ..root.clone()
    };
    s.inventory.volumes.push(io("vol-probe-io1", 10_000));
    s.inventory.volumes.push(io("vol-probe-io1-fast", 50_000));
    let measured = |id: &str, peak: f64, total: f64| UtilizationSummary {
        resource_id: id.into(),
        lookback_days: 14,
        days_covered: 14,
        data_points: 14 * 24,
        io_ops_peak_per_second: Some(peak),
        io_ops_total: Some(total),
        ..Default::default()
    };
    s.utilization.extend([
        measured("vol-probe-root", 0.1, 100.0),
        measured("vol-probe-io1", 2_000.0, 1e9),
        measured("vol-probe-io1-fast", 40_000.0, 1e10),
    ]);
}

/// An old AMI no one uses, last launched from long ago, with two snapshots (ami-unused).
fn images(s: &mut Snapshot) {
    let now = s.collected_at;
    let snapshot = |id: &str, size_gib| ImageSnapshot { snapshot_id: id.into(), size_gib };
    s.inventory.images = vec![Image {
        id: "ami-probe".into(),
        name: Some("probe-image".into()),
        account_id: "000000000000".into(),
        region: "us-east-1".into(),
        state: "available".into(),
        creation_time: Some(now - Duration::days(400)),
        last_launched_time: Some(now - Duration::days(300)),
        snapshots: vec![snapshot("snap-probe-ami-root", 30), snapshot("snap-probe-ami-data", 100)],
        tags: Default::default(),
    }];
}

/// `arn:aws:<service>:us-east-1:000000000000:<kind>:<name>` (DynamoDB and OpenSearch write
/// `kind/name`; the probe only needs ids that are unique and alike in inventory and metrics).
fn arn(service: &str, kind: &str, name: &str) -> String {
    format!("arn:aws:{service}:us-east-1:000000000000:{kind}:{name}")
}

/// One of each database kind, measured so that every database rule's expressions run.
fn databases(s: &mut Snapshot, account: &str, region: &str) {
    use crate::model::inventory::{
        BillingMode, CacheCluster, DbCluster, DbInstance, DbSnapshot, DbSnapshotSource,
        DynamoDbTable, RedshiftCluster, SearchDomain,
    };
    let now = s.collected_at;
    let created = Some(now - Duration::days(400));
    let instance = |name: &str, class: &str, engine: &str, version: &str| DbInstance {
        id: arn("rds", "db", name),
        name: name.into(),
        account_id: account.into(),
        region: region.into(),
        class: class.into(),
        engine: engine.into(),
        engine_version: version.into(),
        multi_az: true,
        status: "available".into(),
        storage_type: "gp2".into(),
        allocated_storage_gib: 100,
        iops: None,
        cluster_name: None,
        create_time: created,
        tags: Default::default(),
    };
    let mut aurora = instance("db-probe-aurora", "db.r5.large", "aurora-postgresql", "11.21");
    aurora.storage_type = "aurora".into();
    aurora.cluster_name = Some("cluster-probe".into());
    s.inventory.db_instances = vec![
        instance("db-probe-idle", "db.m5.xlarge", "mysql", "5.7.44"),
        instance("db-probe-busy", "db.m4.xlarge", "postgres", "11.22"),
        aurora,
    ];
    s.inventory.db_clusters = vec![DbCluster {
        id: arn("rds", "cluster", "cluster-probe"),
        name: "cluster-probe".into(),
        account_id: account.into(),
        region: region.into(),
        engine: "aurora-postgresql".into(),
        engine_version: "11.21".into(),
        status: "available".into(),
        members: vec!["db-probe-aurora".into()],
        allocated_storage_gib: 50,
        create_time: created,
        tags: Default::default(),
    }];
    s.inventory.db_snapshots = vec![DbSnapshot {
        id: arn("rds", "snapshot", "snap-probe"),
        name: "snap-probe".into(),
        account_id: account.into(),
        region: region.into(),
        source: DbSnapshotSource::Instance,
        source_name: "db-probe-deleted".into(),
        snapshot_type: "manual".into(),
        engine: "mysql".into(),
        size_gib: 100,
        create_time: created,
        tags: Default::default(),
    }];
    s.inventory.cache_clusters = vec![CacheCluster {
        id: arn("elasticache", "cluster", "cache-probe"),
        name: "cache-probe".into(),
        account_id: account.into(),
        region: region.into(),
        engine: "redis".into(),
        engine_version: "7.1".into(),
        node_type: "cache.r5.large".into(),
        nodes: 2,
        node_ids: vec!["0001".into(), "0002".into()],
        status: "available".into(),
        create_time: created,
        tags: Default::default(),
    }];
    s.inventory.search_domains = vec![SearchDomain {
        id: arn("es", "domain", "search-probe"),
        name: "search-probe".into(),
        account_id: account.into(),
        region: region.into(),
        engine_version: "OpenSearch_2.13".into(),
        instance_type: "m5.large.search".into(),
        instance_count: 2,
        master_type: Some("m5.large.search".into()),
        master_count: 3,
        volume_type: Some("gp3".into()),
        volume_size_gib: 100,
        create_time: created,
        tags: Default::default(),
    }];
    s.inventory.redshift_clusters = vec![RedshiftCluster {
        id: arn("redshift", "cluster", "warehouse-probe"),
        name: "warehouse-probe".into(),
        account_id: account.into(),
        region: region.into(),
        node_type: "dc2.large".into(),
        nodes: 2,
        status: "available".into(),
        create_time: created,
        tags: Default::default(),
    }];
    s.inventory.dynamodb_tables = vec![DynamoDbTable {
        id: arn("dynamodb", "table", "table-probe"),
        name: "table-probe".into(),
        account_id: account.into(),
        region: region.into(),
        billing_mode: BillingMode::Provisioned,
        read_capacity: 100,
        write_capacity: 50,
        size_bytes: 5_000_000_000,
        item_count: 1_000_000,
        status: "ACTIVE".into(),
        create_time: created,
        tags: Default::default(),
    }];
}

/// A load balancer with targets but no traffic, and two log groups (one kept forever, one
/// stale), so `elb-idle`, `logs-no-retention` and `logs-stale` run every expression.
fn load_balancers_and_logs(s: &mut Snapshot, account: &str, region: &str) {
    use crate::model::inventory::{LoadBalancer, LoadBalancerType, LogGroup};
    let now = s.collected_at;
    let created = Some(now - Duration::days(400));
    let lb = arn("elasticloadbalancing", "loadbalancer/app/lb-probe", "50dc6c495c0c9188");
    s.inventory.load_balancers = vec![LoadBalancer {
        id: lb.clone(),
        name: "lb-probe".into(),
        account_id: account.into(),
        region: region.into(),
        lb_type: LoadBalancerType::Application,
        scheme: "internet-facing".into(),
        state: "active".into(),
        create_time: created,
        target_groups: vec![arn("elasticloadbalancing", "targetgroup/tg-probe", "1")],
        targets: Some(2),
        healthy_targets: Some(2),
        tags: Default::default(),
    }];
    s.utilization.push(UtilizationSummary {
        resource_id: lb,
        lookback_days: 14,
        days_covered: 14,
        data_points: 14 * 24,
        requests_day_max: Some(12.0),
        healthy_hosts_max: Some(2.0),
        bytes_processed: Some(1e6),
        ..Default::default()
    });
    let group = |name: &str, retention: Option<u32>, last: i64| LogGroup {
        id: arn("logs", "log-group", name),
        name: name.into(),
        account_id: account.into(),
        region: region.into(),
        retention_days: retention,
        stored_bytes: 50 << 30,
        create_time: created,
        ingestion_checked: true,
        last_ingestion: Some(now - Duration::days(last)),
        tags: Default::default(),
    };
    s.inventory.log_groups =
        vec![group("logs-probe-forever", None, 1), group("logs-probe-stale", Some(400), 200)];
}

/// Lambda functions (one busy on x86_64 with memory to spare, one never invoked) and S3 buckets
/// (one with 60 days of size history, one with 5), measured.
fn serverless_and_storage(s: &mut Snapshot, account: &str, region: &str) {
    let modified = Some(s.collected_at - Duration::days(120));
    let function = |name: &str, memory_mb| LambdaFunction {
        id: arn("lambda", "function", name),
        name: name.into(),
        account_id: account.into(),
        region: region.into(),
        memory_mb,
        timeout_seconds: 60,
        architecture: Architecture::X86_64,
        runtime: "python3.12".into(),
        package_type: "Zip".into(),
        last_modified: modified,
        tags: Default::default(),
    };
    s.inventory.lambda_functions =
        vec![function("function-probe-busy", 3008), function("function-probe-unused", 256)];
    let lambda = |name: &str, invocations: f64| UtilizationSummary {
        resource_id: arn("lambda", "function", name),
        lookback_days: 30,
        days_covered: 30,
        data_points: 720,
        invocations_total: Some(invocations),
        errors_total: Some(0.0),
        duration_total_ms: Some(invocations * 800.0),
        duration_max_ms: (invocations > 0.0).then_some(2500.0),
        ..Default::default()
    };
    s.utilization.push(lambda("function-probe-busy", 3e6));
    s.utilization.push(lambda("function-probe-unused", 0.0));
    let bucket = |name: &str| S3Bucket {
        id: format!("arn:aws:s3:::{name}"),
        name: name.into(),
        account_id: account.into(),
        region: region.into(),
        create_time: modified,
        lifecycle_rules: Some(0),
        lifecycle_rules_enabled: Some(0),
        intelligent_tiering_configs: Some(0),
        tags: Default::default(),
    };
    s.inventory.s3_buckets = vec![bucket("bucket-probe-old"), bucket("bucket-probe-new")];
    for (name, span) in [("bucket-probe-old", 60), ("bucket-probe-new", 5)] {
        let bytes = |gb: f64| [("StandardStorage".to_string(), gb * 1e9)].into_iter().collect();
        s.utilization.push(UtilizationSummary {
            resource_id: format!("arn:aws:s3:::{name}"),
            lookback_days: 60,
            days_covered: span + 1,
            data_points: span + 1,
            storage_bytes: bytes(800.0),
            storage_bytes_first: bytes(500.0),
            storage_days_span: Some(span),
            objects: Some(2e6),
            ..Default::default()
        });
    }
}

/// Runs every rule of `rules` on the probe snapshot and returns each expression failure as an
/// error naming the rule file, the line and the field.
pub fn check(rules: RuleSet, catalog: Arc<PriceCatalog>) -> Vec<RuleError> {
    let origins: Vec<(String, PathBuf, std::collections::BTreeMap<&'static str, usize>)> =
        rules.rules.iter().map(|r| (r.id.clone(), r.origin.clone(), r.lines.clone())).collect();
    let engine = Engine::new(rules, catalog);
    let eval = engine.evaluate(&probe_snapshot(), &["team".to_string()]);
    eval.errors
        .into_iter()
        .filter(|e| e.resource_id.is_some())
        .map(|e| {
            let (path, line) = origins
                .iter()
                .find(|(id, _, _)| *id == e.rule_id)
                .map_or((PathBuf::from(&e.rule_id), 1), |(_, path, lines)| {
                    (path.clone(), lines.get(e.field).copied().unwrap_or(1))
                });
            RuleError::Invalid {
                path,
                line,
                field: e.field.to_string(),
                message: format!("fails when evaluated on a test resource: {}", e.message),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_pack_passes_the_probe() {
        let errors = check(RuleSet::builtin().unwrap(), Arc::new(PriceCatalog::builtin().unwrap()));
        assert!(errors.is_empty(), "{errors:?}");
    }

    /// The probe is only worth its name if every rule's savings and evidence run: each
    /// database rule (and ami-unused, ec2-offhours) fires on it.
    #[test]
    fn every_database_rule_fires_on_the_probe() {
        let engine =
            Engine::new(RuleSet::builtin().unwrap(), Arc::new(PriceCatalog::builtin().unwrap()));
        let eval = engine.evaluate(&probe_snapshot(), &[]);
        for rule in [
            "rds-idle",
            "rds-rightsize",
            "rds-previous-generation",
            "rds-graviton",
            "rds-extended-support",
            "rds-snapshot-orphaned",
            "elasticache-idle",
            "elasticache-graviton",
            "opensearch-idle",
            "opensearch-graviton",
            "redshift-idle",
            "dynamodb-overprovisioned",
            "lambda-graviton",
            "lambda-overprovisioned-memory",
            "lambda-unused",
            "s3-no-lifecycle",
            "ami-unused",
            "ec2-offhours",
        ] {
            assert!(
                eval.findings.iter().any(|f| f.rule_id == rule),
                "{rule} does not fire on the probe"
            );
        }
    }

    /// Both probe commitments end within 30 days: the billed one saves its ListCost (24) less
    /// its cost (12 + 12) over one day, nothing; the API-only plan 1 × 0.29 / 0.71 × 730.
    #[test]
    fn commitment_expiring_fires_on_both_probe_commitments() {
        let engine =
            Engine::new(RuleSet::builtin().unwrap(), Arc::new(PriceCatalog::builtin().unwrap()));
        let eval = engine.evaluate(&probe_snapshot(), &[]);
        let mut got: Vec<(String, String)> = eval
            .findings
            .iter()
            .filter(|f| f.rule_id == "commitment-expiring")
            .map(|f| (f.resource_id.clone(), f.estimated_monthly_savings.round_dp(2).to_string()))
            .collect();
        got.sort();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, "arn:aws:savingsplans::000000000000:savingsplan/probe");
        assert_eq!(got[0].1, "298.17");
        assert_eq!(got[1], ("sp-probe".to_string(), "0".to_string()));
    }

    #[test]
    fn the_probe_reaches_every_builtin_rule() {
        let engine =
            Engine::new(RuleSet::builtin().unwrap(), Arc::new(PriceCatalog::builtin().unwrap()));
        let eval = engine.evaluate(&probe_snapshot(), &["team".to_string()]);
        for rule in &engine.rules().rules {
            let fired = eval.findings.iter().any(|f| f.rule_id == rule.id);
            assert!(fired, "rule {} fires on nothing in the probe", rule.id);
        }
    }

    #[test]
    fn a_type_error_is_reported_with_its_line() {
        let text = "id = \"x\"\ntitle = \"t\"\nresource = \"ebs_volume\"\naction = \"a\"\nconfidence = \"low\"\ncondition = \"true\"\nsavings = \"r.size_gib * 2\"\nevidence = \"e\"\n";
        let rule = super::super::rule::Rule::parse(text, std::path::Path::new("x.toml")).unwrap();
        let errors =
            check(RuleSet { rules: vec![rule] }, Arc::new(PriceCatalog::builtin().unwrap()));
        let first = errors.first().expect("Float * Int must fail").to_string();
        assert!(first.starts_with("x.toml:7: savings:"), "{first}");
    }
}
