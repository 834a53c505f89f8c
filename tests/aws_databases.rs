//! `--aws` for the databases, end to end: RDS and Aurora, ElastiCache, OpenSearch, Redshift and
//! DynamoDB created in moto through their own APIs with the Rust SDK, their CloudWatch metrics
//! put into LocalStack (the Rust SDK's CloudWatch speaks CBOR, which moto cannot), and the real
//! binary reading them back with the standard `AWS_ENDPOINT_URL_<SERVICE>` variables
//! (tests/common_aws sets them). What works in which emulator: tests/emulators/README.md.
//!
//! moto writes its own default account (123456789012) into the ARNs it returns: resource ids
//! are those ARNs, `account_id` is the account STS (LocalStack) names.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common_aws;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use common_aws::*;
use serde_json::Value;

const REGION: &str = "us-east-1";
/// Two days of hourly points: enough to see every statistic, quick to put.
const HOURS: i64 = 48;

struct Databases {
    aurora_cluster: &'static str,
}

fn seed_databases(env: &Env) -> Databases {
    let config = env.moto_sdk(REGION);

    // RDS: a Multi-AZ PostgreSQL instance, an Aurora cluster with one member, a manual snapshot
    // of each.
    let rds = aws_sdk_rds::Client::new(&config);
    let tag = |k: &str, v: &str| aws_sdk_rds::types::Tag::builder().key(k).value(v).build();
    env.block_on(
        rds.create_db_instance()
            .db_instance_identifier("orders")
            .db_instance_class("db.m5.large")
            .engine("postgres")
            .engine_version("16.3")
            .allocated_storage(200)
            .storage_type("gp3")
            .multi_az(true)
            .master_username("admin")
            .master_user_password("not-a-secret-1")
            .tags(tag("team", "data"))
            .send(),
    )
    .unwrap();
    env.block_on(
        rds.create_db_cluster()
            .db_cluster_identifier("shop")
            .engine("aurora-postgresql")
            .master_username("admin")
            .master_user_password("not-a-secret-1")
            .tags(tag("team", "shop"))
            .send(),
    )
    .unwrap();
    env.block_on(
        rds.create_db_instance()
            .db_instance_identifier("shop-1")
            .db_instance_class("db.r6g.large")
            .engine("aurora-postgresql")
            .db_cluster_identifier("shop")
            .send(),
    )
    .unwrap();
    env.block_on(
        rds.create_db_snapshot()
            .db_instance_identifier("orders")
            .db_snapshot_identifier("orders-before-upgrade")
            .send(),
    )
    .unwrap();
    env.block_on(
        rds.create_db_cluster_snapshot()
            .db_cluster_identifier("shop")
            .db_cluster_snapshot_identifier("shop-before-upgrade")
            .send(),
    )
    .unwrap();

    // ElastiCache: a two-node Redis replication group and a three-node Memcached cluster.
    let ec = aws_sdk_elasticache::Client::new(&config);
    let ec_tag =
        |k: &str, v: &str| aws_sdk_elasticache::types::Tag::builder().key(k).value(v).build();
    env.block_on(
        ec.create_replication_group()
            .replication_group_id("sessions")
            .replication_group_description("sessions")
            .engine("redis")
            .cache_node_type("cache.r6g.large")
            // moto 5.2.5 makes one member whatever NumCacheClusters says; it honours
            // ReplicasPerNodeGroup.
            .replicas_per_node_group(1)
            .tags(ec_tag("team", "web"))
            .send(),
    )
    .unwrap();
    env.block_on(
        ec.create_cache_cluster()
            .cache_cluster_id("memo")
            .engine("memcached")
            .cache_node_type("cache.t4g.small")
            .num_cache_nodes(3)
            .tags(ec_tag("team", "api"))
            .send(),
    )
    .unwrap();

    // OpenSearch: three data nodes, three dedicated masters, 100 GiB gp3 each.
    let os = aws_sdk_opensearch::Client::new(&config);
    use aws_sdk_opensearch::types::{
        ClusterConfig, EbsOptions, OpenSearchPartitionInstanceType as T, VolumeType,
    };
    env.block_on(
        os.create_domain()
            .domain_name("logs")
            .engine_version("OpenSearch_2.13")
            .cluster_config(
                ClusterConfig::builder()
                    .instance_type(T::R6gLargeSearch)
                    .instance_count(3)
                    .dedicated_master_enabled(true)
                    .dedicated_master_type(T::M6gLargeSearch)
                    .dedicated_master_count(3)
                    .build(),
            )
            .ebs_options(
                EbsOptions::builder()
                    .ebs_enabled(true)
                    .volume_type(VolumeType::Gp3)
                    .volume_size(100)
                    .build(),
            )
            .tag_list(
                aws_sdk_opensearch::types::Tag::builder().key("team").value("obs").build().unwrap(),
            )
            .send(),
    )
    .unwrap();

    // Redshift: a running four-node cluster and a paused two-node one.
    let rs = aws_sdk_redshift::Client::new(&config);
    for (name, nodes) in [("warehouse", 4), ("archive", 2)] {
        env.block_on(
            rs.create_cluster()
                .cluster_identifier(name)
                .node_type("ra3.4xlarge")
                .number_of_nodes(nodes)
                .master_username("admin")
                .master_user_password("NotASecret1")
                .tags(aws_sdk_redshift::types::Tag::builder().key("team").value("bi").build())
                .send(),
        )
        .unwrap();
    }
    env.block_on(rs.pause_cluster().cluster_identifier("archive").send()).unwrap();

    // DynamoDB: a provisioned table and an on-demand one.
    env.create_dynamodb_table(REGION, "carts", Some((100, 20)));
    env.create_dynamodb_table(REGION, "events", None);

    // CloudWatch (LocalStack).
    let put = |namespace: &str, metric: &str, dims: &[(&str, &str)], value: f64| {
        env.put_metric_dims(REGION, namespace, metric, dims, value, HOURS);
    };
    let orders = [("DBInstanceIdentifier", "orders")];
    put("AWS/RDS", "CPUUtilization", &orders, 5.0);
    put("AWS/RDS", "DatabaseConnections", &orders, 12.0);
    put("AWS/RDS", "FreeableMemory", &orders, 2e9);
    for (node, cpu, connections) in [("sessions-001", 10.0, 5.0), ("sessions-002", 30.0, 7.0)] {
        put("AWS/ElastiCache", "CPUUtilization", &[("CacheClusterId", node)], cpu);
        put("AWS/ElastiCache", "CurrConnections", &[("CacheClusterId", node)], connections);
    }
    let logs = [("DomainName", "logs"), ("ClientId", env.account.as_str())];
    put("AWS/ES", "SearchRate", &logs, 40.0);
    put("AWS/ES", "IndexingRate", &logs, 3.0);
    put("AWS/ES", "CPUUtilization", &logs, 20.0);
    let warehouse = [("ClusterIdentifier", "warehouse")];
    put("AWS/Redshift", "DatabaseConnections", &warehouse, 4.0);
    put("AWS/Redshift", "CPUUtilization", &warehouse, 15.0);
    put("AWS/DynamoDB", "ConsumedReadCapacityUnits", &[("TableName", "carts")], 7200.0);
    put("AWS/DynamoDB", "ConsumedWriteCapacityUnits", &[("TableName", "carts")], 360.0);

    Databases { aurora_cluster: "shop" }
}

fn collect(env: &Env, extra_env: &[(&str, &str)]) -> (Output, Value) {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.json");
    let out = env.costscope_with(
        &["collect", "--aws", "--regions", REGION, "--out", snap.to_str().unwrap()],
        extra_env,
    );
    let text = std::fs::read_to_string(&snap).unwrap_or_else(|e| panic!("{e}: {}", out.stderr));
    (out, serde_json::from_str(&text).unwrap())
}

fn by_name<'a>(s: &'a Value, list: &str, name: &str) -> &'a Value {
    s["inventory"][list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list}: {:#}", s["inventory"]))
        .iter()
        .find(|x| x["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {list}: {:#}", s["inventory"][list]))
}

fn utilization<'a>(s: &'a Value, id: &Value) -> &'a Value {
    s["utilization"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| &u["resource_id"] == id)
        .unwrap_or_else(|| panic!("no utilization for {id}: {:#}", s["utilization"]))
}

#[test]
fn databases_are_inventoried_with_their_utilization_keyed_by_arn() {
    let env = Env::new("111100000301");
    let seeded = seed_databases(&env);
    let (out, s) = collect(&env, &[]);
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    assert_eq!(s["sources"][0]["warnings"], serde_json::json!([]), "{:#}", s["sources"]);

    // RDS.
    let orders = by_name(&s, "db_instances", "orders");
    assert!(orders["id"].as_str().unwrap().starts_with("arn:aws:rds:us-east-1:"), "{orders:#}");
    assert!(orders["id"].as_str().unwrap().ends_with(":db:orders"), "{orders:#}");
    assert_eq!(orders["account_id"], env.account.as_str());
    assert_eq!(
        (orders["class"].as_str(), orders["engine"].as_str()),
        (Some("db.m5.large"), Some("postgres"))
    );
    assert_eq!(orders["multi_az"], true);
    assert_eq!(
        (orders["storage_type"].as_str(), orders["allocated_storage_gib"].as_u64()),
        (Some("gp3"), Some(200))
    );
    assert_eq!(orders["status"], "available");
    assert_eq!(orders["tags"]["team"], "data");
    let member = by_name(&s, "db_instances", "shop-1");
    assert_eq!(member["cluster_name"], seeded.aurora_cluster);
    assert_eq!(member["engine"], "aurora-postgresql");
    let cluster = by_name(&s, "db_clusters", "shop");
    assert!(cluster["id"].as_str().unwrap().ends_with(":cluster:shop"), "{cluster:#}");
    assert_eq!(cluster["members"], serde_json::json!(["shop-1"]));
    assert_eq!(cluster["tags"]["team"], "shop");
    let snapshot = by_name(&s, "db_snapshots", "orders-before-upgrade");
    assert_eq!(
        (snapshot["source"].as_str(), snapshot["source_name"].as_str()),
        (Some("instance"), Some("orders"))
    );
    assert_eq!(
        (snapshot["snapshot_type"].as_str(), snapshot["size_gib"].as_u64()),
        (Some("manual"), Some(200))
    );
    let cluster_snapshot = by_name(&s, "db_snapshots", "shop-before-upgrade");
    assert_eq!(
        (cluster_snapshot["source"].as_str(), cluster_snapshot["source_name"].as_str()),
        (Some("cluster"), Some("shop"))
    );
    assert_eq!(cluster_snapshot["snapshot_type"], "manual");

    // ElastiCache.
    let sessions = by_name(&s, "cache_clusters", "sessions");
    assert!(
        sessions["id"].as_str().unwrap().ends_with(":replicationgroup:sessions"),
        "{sessions:#}"
    );
    assert_eq!(
        (sessions["engine"].as_str(), sessions["node_type"].as_str()),
        (Some("redis"), Some("cache.r6g.large"))
    );
    assert_eq!(sessions["nodes"], 2);
    assert_eq!(sessions["node_ids"], serde_json::json!(["sessions-001", "sessions-002"]));
    assert_eq!(sessions["tags"]["team"], "web");
    let memo = by_name(&s, "cache_clusters", "memo");
    assert_eq!((memo["engine"].as_str(), memo["nodes"].as_u64()), (Some("memcached"), Some(3)));
    assert_eq!(memo["tags"]["team"], "api");

    // OpenSearch.
    let logs = by_name(&s, "search_domains", "logs");
    assert!(logs["id"].as_str().unwrap().ends_with(":domain/logs"), "{logs:#}");
    assert_eq!(
        (logs["instance_type"].as_str(), logs["instance_count"].as_u64()),
        (Some("r6g.large.search"), Some(3))
    );
    assert_eq!(
        (logs["master_type"].as_str(), logs["master_count"].as_u64()),
        (Some("m6g.large.search"), Some(3))
    );
    assert_eq!(
        (logs["volume_type"].as_str(), logs["volume_size_gib"].as_u64()),
        (Some("gp3"), Some(100))
    );
    assert_eq!(logs["tags"]["team"], "obs");

    // Redshift.
    let warehouse = by_name(&s, "redshift_clusters", "warehouse");
    assert_eq!(
        warehouse["id"],
        format!("arn:aws:redshift:us-east-1:{}:cluster:warehouse", env.account)
    );
    assert_eq!(
        (warehouse["node_type"].as_str(), warehouse["nodes"].as_u64()),
        (Some("ra3.4xlarge"), Some(4))
    );
    assert_eq!(warehouse["status"], "available");
    assert_eq!(warehouse["tags"]["team"], "bi");
    let archive = by_name(&s, "redshift_clusters", "archive");
    assert_eq!(archive["status"], "paused");

    // DynamoDB.
    let carts = by_name(&s, "dynamodb_tables", "carts");
    assert!(carts["id"].as_str().unwrap().ends_with(":table/carts"), "{carts:#}");
    assert_eq!(carts["billing_mode"], "provisioned");
    assert_eq!(
        (carts["read_capacity"].as_u64(), carts["write_capacity"].as_u64()),
        (Some(100), Some(20))
    );
    assert_eq!(carts["tags"]["team"], "carts");
    let events = by_name(&s, "dynamodb_tables", "events");
    assert_eq!(events["billing_mode"], "pay-per-request");
    assert_eq!(
        (events["read_capacity"].as_u64(), events["write_capacity"].as_u64()),
        (Some(0), Some(0))
    );

    // CloudWatch, keyed by each resource's ARN.
    let u = utilization(&s, &orders["id"]);
    assert_eq!(
        (u["data_points"].as_u64(), u["cpu_avg_percent"].as_f64()),
        (Some(HOURS as u64), Some(5.0))
    );
    assert_eq!(
        (u["connections_max"].as_f64(), u["freeable_memory_min_bytes"].as_f64()),
        (Some(12.0), Some(2e9))
    );
    let u = utilization(&s, &sessions["id"]);
    // The busiest node's CPU, the connections of both nodes.
    assert_eq!(
        (u["cpu_max_percent"].as_f64(), u["connections_max"].as_f64()),
        (Some(30.0), Some(12.0))
    );
    let u = utilization(&s, &logs["id"]);
    assert_eq!(
        (u["search_rate_max"].as_f64(), u["indexing_rate_max"].as_f64()),
        (Some(40.0), Some(3.0))
    );
    assert_eq!(u["cpu_avg_percent"].as_f64(), Some(20.0));
    let u = utilization(&s, &warehouse["id"]);
    assert_eq!(
        (u["connections_max"].as_f64(), u["cpu_avg_percent"].as_f64()),
        (Some(4.0), Some(15.0))
    );
    let u = utilization(&s, &carts["id"]);
    assert_eq!(
        (u["read_units_peak_per_second"].as_f64(), u["write_units_peak_per_second"].as_f64()),
        (Some(2.0), Some(0.1))
    );
    assert_eq!(u["read_units_total"].as_f64(), Some(7200.0 * HOURS as f64));
    assert_eq!(u["data_points"].as_u64(), Some(HOURS as u64));
    // A table without traffic still gets a summary (zero points), a paused cluster none.
    assert_eq!(utilization(&s, &events["id"])["data_points"], 0);
    assert!(s["utilization"].as_array().unwrap().iter().all(|u| u["resource_id"] != archive["id"]));

    // The snapshot reads back: report --snapshot takes what collect wrote.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("again.json");
    std::fs::write(&path, s.to_string()).unwrap();
    let again = env.costscope(&[
        "collect",
        "--snapshot",
        path.to_str().unwrap(),
        "--out",
        dir.path().join("third.json").to_str().unwrap(),
    ]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let third: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("third.json")).unwrap())
            .unwrap();
    assert_eq!(third["inventory"], s["inventory"]);
    assert_eq!(third["utilization"], s["utilization"]);
}

/// Answers every request with DynamoDB's AccessDeniedException (awsJson 1.0 shape, HTTP 400),
/// as AWS does for a role without `dynamodb:ListTables`.
fn access_denied_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let answer = r#"{"__type":"com.amazon.coral.service#AccessDeniedException","message":"User: arn:aws:iam::111100000302:user/ci is not authorized to perform: dynamodb:ListTables"}"#;
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-RequestId: test\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    port
}

#[test]
fn a_database_service_that_cannot_answer_is_a_warning_and_the_rest_is_reported() {
    let env = Env::new("111100000302");
    seed_databases(&env);
    let instance = env.run_instance(REGION, "t3.micro", &[("team", "web")]);
    let localstack = format!("http://127.0.0.1:{}", env.localstack);
    let closed = format!("http://127.0.0.1:{}", closed_port());
    let denied = format!("http://127.0.0.1:{}", access_denied_server());
    let (out, s) = collect(
        &env,
        &[
            // LocalStack runs without OpenSearch here: the emulator lacks the API.
            ("AWS_ENDPOINT_URL_OPENSEARCH", &localstack),
            // Nothing listens: as a region where a service does not exist.
            ("AWS_ENDPOINT_URL_REDSHIFT", &closed),
            // The role may not list tables.
            ("AWS_ENDPOINT_URL_DYNAMODB", &denied),
        ],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    let source = &s["sources"][0];
    assert_eq!(source["state"], "partial");
    let warnings = source["warnings"].to_string();
    assert!(warnings.contains("us-east-1: OpenSearch ListDomainNames failed"), "{warnings}");
    assert!(warnings.contains("us-east-1: Redshift DescribeClusters failed"), "{warnings}");
    assert!(
        warnings.contains("us-east-1: DynamoDB ListTables failed: AccessDeniedException: User: arn:aws:iam::111100000302:user/ci is not authorized"),
        "{warnings}"
    );
    assert_eq!(source["warnings"].as_array().unwrap().len(), 3, "{warnings}");
    // Everything else arrived: EC2, RDS, ElastiCache, and CloudWatch for them.
    let inv = &s["inventory"];
    assert!(inv["instances"].as_array().unwrap().iter().any(|i| i["id"] == instance.as_str()));
    let orders = by_name(&s, "db_instances", "orders");
    by_name(&s, "cache_clusters", "sessions");
    for list in ["search_domains", "redshift_clusters", "dynamodb_tables"] {
        assert_eq!(inv[list], serde_json::json!([]), "{list}");
    }
    assert_eq!(utilization(&s, &orders["id"])["connections_max"].as_f64(), Some(12.0));
}

/// Every call costscope makes, as a loopback proxy in front of both emulators sees it, is an
/// action docs/iam-policy.json allows; and each database action listed there is made.
#[test]
fn every_call_is_in_the_iam_policy_and_every_database_action_is_used() {
    let env = Env::new("111100000303");
    seed_databases(&env);
    env.run_instance(REGION, "t3.micro", &[]);
    let proxy = FaultProxy::start(env.localstack, env.moto, Vec::new());
    let vars = proxy.env();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (out, _) = collect(&env, &vars);
    assert_eq!(out.code, 0, "{}", out.stderr);

    let policy: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/iam-policy.json"))
            .unwrap(),
    )
    .unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    let actions = |statement: &Value| -> Vec<String> {
        statement["Action"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    };
    let allowed: Vec<String> = statements.iter().flat_map(actions).collect();
    let mut made = std::collections::BTreeSet::new();
    for seen in proxy.seen() {
        let prefix = match seen.service.as_str() {
            // GetCallerIdentity needs no permission.
            "sts" => continue,
            "monitoring" => "cloudwatch",
            other => other,
        };
        assert!(!seen.operation.is_empty(), "a {} call the proxy could not name", seen.service);
        made.insert(format!("{prefix}:{}", seen.operation));
    }
    for action in &made {
        assert!(allowed.contains(action), "{action} is made but not in docs/iam-policy.json");
    }
    let databases = statements.iter().find(|s| s["Sid"] == "CostscopeDatabasesReadOnly").unwrap();
    for action in actions(databases) {
        assert!(made.contains(&action), "{action} is in the policy but never made: {made:?}");
    }
}
