//! `--aws` for Lambda and S3, end to end: functions created in moto and buckets in LocalStack
//! (moto cannot list Intelligent-Tiering configurations) with the Rust SDK, their CloudWatch
//! metrics put into LocalStack, and the real binary reading them back (`AWS_ENDPOINT_URL_LAMBDA`
//! is moto, tests/common_aws sets it). S3 is listed once per account and each bucket read in
//! its own region (us-east-1 and eu-west-1 here), path-style since an endpoint is configured.
//! What works in which emulator: tests/emulators/README.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common_aws;

use common_aws::*;
use serde_json::Value;

const REGION: &str = "us-east-1";
const REGIONS: &str = "us-east-1,eu-west-1";
/// Two days of hourly points.
const HOURS: i64 = 48;

/// LocalStack keeps buckets across tests and bucket names are global: each test's carry its
/// account.
fn bucket(env: &Env, name: &str) -> String {
    format!("{name}-{}", env.account)
}

fn seed(env: &Env) {
    env.create_lambda_function(REGION, "api", 1024, false, "python3.12");
    env.create_lambda_function(REGION, "worker-arm", 512, true, "nodejs20.x");
    env.create_lambda_function(REGION, "old-cron", 256, false, "python3.12");
    let (lake, eu_logs, archive) =
        (bucket(env, "lake"), bucket(env, "eu-logs"), bucket(env, "archive"));
    env.create_bucket(REGION, &lake, true);
    env.create_bucket("eu-west-1", &eu_logs, false);
    env.create_bucket(REGION, &archive, false);
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, ExpirationStatus, IntelligentTieringAccessTier,
        IntelligentTieringConfiguration, IntelligentTieringStatus, LifecycleRule,
        LifecycleRuleFilter, Tiering, Transition, TransitionStorageClass,
    };
    // archive has Intelligent-Tiering's archive tier configured.
    let tiering = IntelligentTieringConfiguration::builder()
        .id("deep")
        .status(IntelligentTieringStatus::Enabled)
        .tierings(
            Tiering::builder()
                .days(90)
                .access_tier(IntelligentTieringAccessTier::ArchiveAccess)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    env.block_on(
        env.s3(REGION)
            .put_bucket_intelligent_tiering_configuration()
            .bucket(&archive)
            .id("deep")
            .intelligent_tiering_configuration(tiering)
            .send(),
    )
    .unwrap();
    // eu-logs moves its objects to Standard-IA after 30 days.
    let s3 = env.s3("eu-west-1");
    let rule = LifecycleRule::builder()
        .id("to-ia")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .transitions(
            Transition::builder()
                .days(30)
                .storage_class(TransitionStorageClass::StandardIa)
                .build(),
        )
        .build()
        .unwrap();
    let lifecycle = BucketLifecycleConfiguration::builder().rules(rule).build().unwrap();
    env.block_on(
        s3.put_bucket_lifecycle_configuration()
            .bucket(&eu_logs)
            .lifecycle_configuration(lifecycle)
            .send(),
    )
    .unwrap();

    // CloudWatch (LocalStack): api is invoked 100 times an hour; its Duration is one datum of
    // 250 ms an hour, so that hour's Sum and Maximum are both 250 ms; old-cron is never invoked;
    // lake holds 200 GB.
    let put = |namespace: &str, metric: &str, dims: &[(&str, &str)], value: f64| {
        env.put_metric_dims(REGION, namespace, metric, dims, value, HOURS);
    };
    put("AWS/Lambda", "Invocations", &[("FunctionName", "api")], 100.0);
    put("AWS/Lambda", "Duration", &[("FunctionName", "api")], 250.0);
    put("AWS/Lambda", "Errors", &[("FunctionName", "api")], 1.0);
    let lake = |t| [("BucketName", lake.as_str()), ("StorageType", t)];
    put("AWS/S3", "BucketSizeBytes", &lake("StandardStorage"), 200e9);
    put("AWS/S3", "NumberOfObjects", &lake("AllStorageTypes"), 1e6);
}

fn collect(env: &Env, extra_env: &[(&str, &str)]) -> (Output, Value) {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.json");
    let out = env.costscope_with(
        &["collect", "--aws", "--regions", REGIONS, "--out", snap.to_str().unwrap()],
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
fn functions_and_buckets_are_inventoried_with_their_metrics() {
    let env = Env::new("111100000401");
    seed(&env);
    let (out, s) = collect(&env, &[]);
    assert_eq!(out.code, 0, "{:#}", s["sources"]);
    assert_eq!(s["sources"][0]["warnings"], serde_json::json!([]), "{:#}", s["sources"]);

    let api = by_name(&s, "lambda_functions", "api");
    assert!(api["id"].as_str().unwrap().ends_with(":function:api"), "{api:#}");
    assert_eq!(api["account_id"], env.account.as_str());
    assert_eq!(
        (api["memory_mb"].as_u64(), api["timeout_seconds"].as_u64()),
        (Some(1024), Some(30))
    );
    assert_eq!(
        (api["architecture"].as_str(), api["runtime"].as_str()),
        (Some("x86_64"), Some("python3.12"))
    );
    assert_eq!(api["package_type"], "Zip");
    assert!(api["last_modified"].is_string(), "{api:#}");
    assert_eq!(api["tags"]["team"], "api");
    assert_eq!(by_name(&s, "lambda_functions", "worker-arm")["architecture"], "arm64");

    let u = utilization(&s, &api["id"]);
    assert_eq!(u["lookback_days"], 30);
    assert_eq!(u["invocations_total"].as_f64(), Some(100.0 * HOURS as f64));
    assert_eq!(u["duration_total_ms"].as_f64(), Some(250.0 * HOURS as f64));
    assert_eq!(
        (u["duration_max_ms"].as_f64(), u["errors_total"].as_f64()),
        (Some(250.0), Some(48.0))
    );
    // Never invoked: Lambda publishes no points, which is zero, not unknown.
    let cron = by_name(&s, "lambda_functions", "old-cron");
    assert_eq!(utilization(&s, &cron["id"])["invocations_total"].as_f64(), Some(0.0));

    let lake = by_name(&s, "s3_buckets", &bucket(&env, "lake"));
    assert_eq!(lake["id"], format!("arn:aws:s3:::{}", bucket(&env, "lake")));
    assert_eq!(lake["region"], REGION);
    // NoSuchLifecycleConfiguration is "no rules".
    assert_eq!(
        (lake["lifecycle_rules"].as_u64(), lake["intelligent_tiering_configs"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(lake["tags"]["team"], bucket(&env, "lake"));
    assert_eq!(
        by_name(&s, "s3_buckets", &bucket(&env, "archive"))["intelligent_tiering_configs"],
        1
    );
    let eu = by_name(&s, "s3_buckets", &bucket(&env, "eu-logs"));
    // ListBuckets' BucketRegion; the bucket's details read from an eu-west-1 client.
    assert_eq!(eu["region"], "eu-west-1");
    assert_eq!(
        (eu["lifecycle_rules"].as_u64(), eu["lifecycle_rules_enabled"].as_u64()),
        (Some(1), Some(1))
    );
    // NoSuchTagSet is "no tags".
    assert_eq!(eu["tags"], serde_json::json!({}));
    let u = utilization(&s, &lake["id"]);
    assert_eq!(u["storage_bytes"]["StandardStorage"].as_f64(), Some(200e9));
    assert_eq!(u["objects"].as_f64(), Some(1e6));
}

#[test]
fn every_lambda_and_s3_rule_fires_on_the_emulators() {
    let env = Env::new("111100000402");
    seed(&env);
    // Nothing can be backdated in moto: the age thresholds judge what was just made, and the
    // memory floor sits under api's 1024 MB.
    let mut config = std::fs::read_to_string(&env.config).unwrap();
    config.push_str(
        "\n[rules.lambda-unused]\nmin_days = -1\n\n[rules.lambda-overprovisioned-memory]\nmemory_floor_mb = 512\n",
    );
    std::fs::write(&env.config, config).unwrap();
    let out = env.costscope(&["report", "--aws", "--regions", REGIONS, "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let found = findings(&report);
    let fired = |rule: &str, name: &str| {
        found.iter().find(|f| {
            f["rule_id"] == rule && f["resource_id"].as_str().unwrap_or_default().ends_with(name)
        })
    };
    // api: 48 hours × 250 ms = 12 s of duration in the 30-day window: 12 × 730 / 24 / 30 =
    // 12.1667 s a month at 1 GB; × 0.0000033333 = 0.0000405556 saved on arm64.
    let g = fired("lambda-graviton", ":function:api").expect("lambda-graviton on api");
    assert_eq!(savings(g), "0.000041", "{g:#}");
    assert!(fired("lambda-graviton", ":function:worker-arm").is_none(), "already arm64");
    // At 512 MB instead of 1024: half of 12.1667 GB-s × 0.0000166667 = 0.000101389.
    let m = fired("lambda-overprovisioned-memory", ":function:api").expect("memory on api");
    assert_eq!(savings(m), "0.000101", "{m:#}");
    let u = fired("lambda-unused", ":function:old-cron").expect("lambda-unused on old-cron");
    assert!(u["evidence"].as_str().unwrap().contains("savings not computed"), "{u:#}");
    assert!(fired("lambda-unused", ":function:api").is_none(), "api is invoked");
    // Two days of size history, under the 30-day transition age: fires, savings not computed.
    let l = fired("s3-no-lifecycle", &format!(":::{}", bucket(&env, "lake")))
        .expect("s3-no-lifecycle on lake");
    assert!(l["evidence"].as_str().unwrap().contains("the size history covers"), "{l:#}");
    assert!(
        fired("s3-no-lifecycle", &format!(":::{}", bucket(&env, "eu-logs"))).is_none(),
        "has a lifecycle rule"
    );
}

#[test]
fn lambda_or_s3_failing_is_a_warning_and_the_rest_is_reported() {
    let env = Env::new("111100000403");
    seed(&env);
    let instance = env.run_instance(REGION, "t3.micro", &[("team", "web")]);
    let closed = format!("http://127.0.0.1:{}", closed_port());
    // LocalStack here runs without Lambda; nothing listens for S3.
    let localstack = format!("http://127.0.0.1:{}", env.localstack);
    let (out, s) = collect(
        &env,
        &[("AWS_ENDPOINT_URL_LAMBDA", &localstack), ("AWS_ENDPOINT_URL_S3", &closed)],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    let source = &s["sources"][0];
    assert_eq!(source["state"], "partial");
    let warnings = source["warnings"].to_string();
    assert!(warnings.contains("us-east-1: Lambda ListFunctions failed"), "{warnings}");
    assert!(warnings.contains("eu-west-1: Lambda ListFunctions failed"), "{warnings}");
    assert!(warnings.contains("S3 ListBuckets failed"), "{warnings}");
    assert_eq!(source["warnings"].as_array().unwrap().len(), 3, "{warnings}");
    let inv = &s["inventory"];
    assert!(inv["instances"].as_array().unwrap().iter().any(|i| i["id"] == instance.as_str()));
    assert_eq!(inv["lambda_functions"], serde_json::json!([]));
    assert_eq!(inv["s3_buckets"], serde_json::json!([]));
}

/// Every Lambda and S3 call, as a loopback proxy sees it, is an action docs/iam-policy.json
/// allows; and each action of the policy's Lambda and S3 statement is made.
#[test]
fn every_lambda_and_s3_call_is_in_the_iam_policy() {
    let env = Env::new("111100000404");
    seed(&env);
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
        statement["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().into()).collect()
    };
    let allowed: Vec<String> = statements.iter().flat_map(actions).collect();
    let made: std::collections::BTreeSet<String> = proxy
        .seen()
        .into_iter()
        .filter(|seen| seen.service == "lambda" || seen.service == "s3")
        .map(|seen| {
            assert!(!seen.operation.is_empty(), "a {} call the proxy could not name", seen.service);
            format!("{}:{}", seen.service, seen.operation)
        })
        .collect();
    for action in &made {
        assert!(allowed.contains(action), "{action} is made but not in docs/iam-policy.json");
    }
    let ours =
        statements.iter().find(|s| s["Sid"] == "CostscopeServerlessStorageReadOnly").unwrap();
    for action in actions(ours) {
        // The region comes from ListBuckets' BucketRegion (AWS and LocalStack give it);
        // GetBucketLocation is asked only of endpoints that leave it out (moto).
        if action == "s3:GetBucketLocation" {
            continue;
        }
        assert!(made.contains(&action), "{action} is in the policy but never made: {made:?}");
    }
}
