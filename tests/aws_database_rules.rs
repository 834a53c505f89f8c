//! `report --aws` on a database estate seeded in the emulators (moto for the services,
//! LocalStack for CloudWatch): every database rule fires where it should, with the savings
//! computed by hand from `rules/prices/<service>.toml` (us-east-1, 730 h a month), and leaves
//! the busy and the barely measured alone. Ages cannot be backdated in moto: the shared test
//! config sets the age thresholds of `rds-idle` and `rds-snapshot-orphaned` below zero days.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common_aws;

use common_aws::*;
use serde_json::Value;

const REGION: &str = "us-east-1";
const TWO_WEEKS: i64 = 14 * 24;
const GIB: f64 = 1_073_741_824.0;

fn rds_instance(
    env: &Env,
    name: &str,
    class: &str,
    engine: &str,
    version: &str,
    storage_gib: i32,
    multi_az: bool,
) {
    let rds = aws_sdk_rds::Client::new(&env.moto_sdk(REGION));
    env.block_on(
        rds.create_db_instance()
            .db_instance_identifier(name)
            .db_instance_class(class)
            .engine(engine)
            .engine_version(version)
            .allocated_storage(storage_gib)
            .storage_type("gp2")
            .multi_az(multi_az)
            .master_username("admin")
            .master_user_password("not-a-secret-1")
            .tags(aws_sdk_rds::types::Tag::builder().key("team").value("data").build())
            .send(),
    )
    .unwrap();
}

/// CPU p95, connections max and freeable memory min (GiB) of an RDS instance, hourly.
fn rds_metrics(env: &Env, name: &str, cpu: f64, connections: f64, free_gib: f64, hours: i64) {
    let dims = [("DBInstanceIdentifier", name)];
    env.put_metric_dims(REGION, "AWS/RDS", "CPUUtilization", &dims, cpu, hours);
    env.put_metric_dims(REGION, "AWS/RDS", "DatabaseConnections", &dims, connections, hours);
    env.put_metric_dims(REGION, "AWS/RDS", "FreeableMemory", &dims, free_gib * GIB, hours);
}

fn seed(env: &Env) {
    let config = env.moto_sdk(REGION);
    // RDS: idle, oversized (Multi-AZ), an m4 on MySQL 5.7, busy, barely measured, and a
    // manual snapshot of an instance since deleted.
    rds_instance(env, "idle-db", "db.m5.large", "mysql", "8.4.3", 100, false);
    rds_metrics(env, "idle-db", 2.0, 0.0, 6.0, TWO_WEEKS);
    rds_instance(env, "big-db", "db.m5.xlarge", "postgres", "16.4", 200, true);
    rds_metrics(env, "big-db", 20.0, 30.0, 10.0, TWO_WEEKS);
    rds_instance(env, "old-db", "db.m4.large", "mysql", "5.7.44", 50, false);
    rds_metrics(env, "old-db", 35.0, 12.0, 1.0, TWO_WEEKS);
    rds_instance(env, "busy-db", "db.r6g.large", "postgres", "16.4", 100, false);
    rds_metrics(env, "busy-db", 70.0, 250.0, 2.0, TWO_WEEKS);
    rds_instance(env, "new-db", "db.m5.large", "postgres", "16.4", 20, false);
    rds_metrics(env, "new-db", 1.0, 0.0, 7.0, 48);
    rds_instance(env, "gone-db", "db.t3.micro", "mysql", "8.4.3", 20, false);
    let rds = aws_sdk_rds::Client::new(&config);
    env.block_on(
        rds.create_db_snapshot()
            .db_instance_identifier("gone-db")
            .db_snapshot_identifier("gone-final")
            .send(),
    )
    .unwrap();
    env.block_on(
        rds.delete_db_instance().db_instance_identifier("gone-db").skip_final_snapshot(true).send(),
    )
    .unwrap();

    // ElastiCache: a cache nobody connects to and a busy one.
    let ec = aws_sdk_elasticache::Client::new(&config);
    for (name, connections) in [("idle-cache", 0.0), ("busy-cache", 40.0)] {
        env.block_on(
            ec.create_cache_cluster()
                .cache_cluster_id(name)
                .engine("redis")
                .cache_node_type("cache.t3.medium")
                .num_cache_nodes(1)
                .send(),
        )
        .unwrap();
        let dims = [("CacheClusterId", name)];
        env.put_metric_dims(REGION, "AWS/ElastiCache", "CPUUtilization", &dims, 3.0, TWO_WEEKS);
        env.put_metric_dims(
            REGION,
            "AWS/ElastiCache",
            "CurrConnections",
            &dims,
            connections,
            TWO_WEEKS,
        );
    }

    // OpenSearch: two m5.large.search data nodes with 100 GiB gp2 each, no searches, no
    // indexing.
    let os = aws_sdk_opensearch::Client::new(&config);
    use aws_sdk_opensearch::types::{
        ClusterConfig, EbsOptions, OpenSearchPartitionInstanceType as T, VolumeType,
    };
    env.block_on(
        os.create_domain()
            .domain_name("quiet")
            .engine_version("OpenSearch_2.13")
            .cluster_config(
                ClusterConfig::builder().instance_type(T::M5LargeSearch).instance_count(2).build(),
            )
            .ebs_options(
                EbsOptions::builder()
                    .ebs_enabled(true)
                    .volume_type(VolumeType::Gp2)
                    .volume_size(100)
                    .build(),
            )
            .send(),
    )
    .unwrap();
    let quiet = [("DomainName", "quiet"), ("ClientId", env.account.as_str())];
    for metric in ["SearchRate", "IndexingRate"] {
        env.put_metric_dims(REGION, "AWS/ES", metric, &quiet, 0.0, TWO_WEEKS);
    }
    env.put_metric_dims(REGION, "AWS/ES", "CPUUtilization", &quiet, 3.0, TWO_WEEKS);

    // Redshift: two dc2.large nobody connects to.
    let rs = aws_sdk_redshift::Client::new(&config);
    env.block_on(
        rs.create_cluster()
            .cluster_identifier("bi")
            .node_type("dc2.large")
            .number_of_nodes(2)
            .master_username("admin")
            .master_user_password("NotASecret1")
            .send(),
    )
    .unwrap();
    let bi = [("ClusterIdentifier", "bi")];
    env.put_metric_dims(REGION, "AWS/Redshift", "DatabaseConnections", &bi, 0.0, TWO_WEEKS);
    env.put_metric_dims(REGION, "AWS/Redshift", "CPUUtilization", &bi, 1.0, TWO_WEEKS);

    // DynamoDB: 1,000 RCU / 500 WCU provisioned, 70 reads and 20 writes a second consumed;
    // and 100 / 100 with no traffic at all (CloudWatch then has only the provisioned series).
    for (name, rcu, wcu) in [("events", 1000, 500), ("idle-table", 100, 100)] {
        env.create_dynamodb_table(REGION, name, Some((rcu, wcu)));
        let dims = [("TableName", name)];
        let provisioned = rcu as f64;
        env.put_metric_dims(
            REGION,
            "AWS/DynamoDB",
            "ProvisionedReadCapacityUnits",
            &dims,
            provisioned,
            TWO_WEEKS,
        );
    }
    let events = [("TableName", "events")];
    let (reads, writes) = (70.0 * 3600.0, 20.0 * 3600.0);
    env.put_metric_dims(
        REGION,
        "AWS/DynamoDB",
        "ConsumedReadCapacityUnits",
        &events,
        reads,
        TWO_WEEKS,
    );
    env.put_metric_dims(
        REGION,
        "AWS/DynamoDB",
        "ConsumedWriteCapacityUnits",
        &events,
        writes,
        TWO_WEEKS,
    );
}

fn finding<'a>(found: &'a [Value], rule: &str, suffix: &str) -> Option<&'a Value> {
    found.iter().find(|f| {
        f["rule_id"] == rule && f["resource_id"].as_str().is_some_and(|id| id.ends_with(suffix))
    })
}

#[test]
fn report_aws_finds_every_database_rule_with_savings() {
    let env = Env::new("111100000401");
    seed(&env);
    let out = env.costscope(&["report", "--aws", "--regions", REGION, "--format", "json"]);
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let found = findings(&report);
    let expect = |rule: &str, suffix: &str| -> &Value {
        finding(&found, rule, suffix).unwrap_or_else(|| {
            panic!(
                "no {rule} finding for …{suffix}; warnings: {}; findings: {:#?}",
                report["warnings"],
                found.iter().map(|f| (&f["rule_id"], &f["resource_id"])).collect::<Vec<_>>()
            )
        })
    };

    // db.m5.large MySQL 0.171 × 730 = 124.83 + 100 GiB gp2 × 0.115 = 136.33 a month; the
    // final snapshot keeps 100 GiB × 0.095 = 9.50.
    let idle = expect("rds-idle", ":db:idle-db");
    assert_eq!(savings(idle), "126.83");
    assert!(idle["evidence"].as_str().unwrap().contains("price catalog"), "{idle:#}");
    // PostgreSQL db.m5.xlarge 0.356 → db.m5.large 0.178, × 730 × 2 (Multi-AZ).
    let big = expect("rds-rightsize", ":db:big-db");
    assert_eq!(savings(big), "259.88");
    assert_eq!(big["target"], "db.m5.large");
    // → db.m6g.xlarge 0.318: 0.038 × 730 × 2.
    assert_eq!(savings(expect("rds-graviton", ":db:big-db")), "55.48");
    // db.m4.large 0.175 → db.m5.large 0.171: 0.004 × 730.
    assert_eq!(savings(expect("rds-previous-generation", ":db:old-db")), "2.92");
    // MySQL 5.7: 2 vCPU × 0.10 × 730.
    assert_eq!(savings(expect("rds-extended-support", ":db:old-db")), "146");
    // 20 GiB manual snapshot of a deleted instance × 0.095.
    assert_eq!(savings(expect("rds-snapshot-orphaned", ":snapshot:gone-final")), "1.9");
    // cache.t3.medium 0.068 × 730.
    assert_eq!(savings(expect("elasticache-idle", "idle-cache")), "49.64");
    // 2 × m5.large.search 0.142 × 730 = 207.32, + 2 × 100 GiB gp2 × 0.135 = 27.
    assert_eq!(savings(expect("opensearch-idle", "domain/quiet")), "234.32");
    // The same cache on Graviton: cache.t4g.medium 0.065, (0.068 − 0.065) × 730.
    assert_eq!(savings(expect("elasticache-graviton", "busy-cache")), "2.19");
    // Pausing 2 × dc2.large: 0.25 × 730 × 2.
    let bi = expect("redshift-idle", ":cluster:bi");
    assert_eq!(savings(bi), "365");
    assert_eq!(bi["action"], "pause");
    // (1000 × 0.00013 + 500 × 0.00065) × 730 = 332.15 now; the peaks (70 and 20 a second) at
    // 70 % need 100 RCU and 29 WCU: (100 × 0.00013 + 29 × 0.00065) × 730 = 23.2505, cheaper
    // than on demand (≈ 184 M reads and 52.6 M writes a month: 55.84).
    let events = expect("dynamodb-overprovisioned", "table/events");
    assert_eq!(savings(events), "308.8995");
    assert_eq!(events["target"], "100 RCU / 29 WCU");
    // No traffic in two weeks: on demand costs nothing at that usage, so all of
    // (100 × 0.00013 + 100 × 0.00065) × 730 = 56.94 goes.
    let idle_table = expect("dynamodb-overprovisioned", "table/idle-table");
    assert_eq!(savings(idle_table), "56.94");
    assert_eq!(idle_table["target"], "on-demand");

    // The busy are left alone, the barely measured are not judged.
    for suffix in [":db:busy-db", "busy-cache"] {
        let judged: Vec<&Value> = found
            .iter()
            .filter(|f| {
                f["resource_id"].as_str().is_some_and(|id| id.ends_with(suffix))
                    && f["rule_id"] != "untagged"
                    && !f["rule_id"].as_str().unwrap().ends_with("-graviton")
            })
            .collect();
        assert!(judged.is_empty(), "{suffix}: {judged:#?}");
    }
    assert!(finding(&found, "rds-idle", ":db:new-db").is_none());
    assert!(report["insufficient_data"]["rds-idle"].as_u64().unwrap() >= 1, "{report:#}");
}
