//! `--aws` end to end: the real binary and the real AWS SDK against real AWS-API emulators on
//! 127.0.0.1 — LocalStack (host mode) for STS, EC2 and CloudWatch, moto for Cost Explorer —
//! which tests/emulators/harness.sh installs and starts (and stops when this process exits).
//!
//! The estate is seeded through the APIs with the SDK, each test in an account of its own
//! (LocalStack takes a 12-digit access key id as the account id), so tests never see each
//! other's resources. Cost Explorer results are queued in moto, which is reset per test; the
//! tests that use moto hold one lock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common_aws;

use common_aws::*;

#[test]
fn report_aws_finds_every_aws_rule_with_savings() {
    let env = Env::new("111100000001");
    let estate = env.seed_estate("us-east-1");
    env.queue_cost_explorer(&cost_explorer_results(&env.account));

    let out = env.costscope(&["report", "--aws", "--regions", "us-east-1", "--format", "json"]);
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();

    let found = findings(&report);
    let expect = |rule: &str, resource: &str| -> &serde_json::Value {
        found.iter().find(|f| f["rule_id"] == rule && f["resource_id"] == resource).unwrap_or_else(
            || {
                panic!(
                    "no {rule} finding for {resource}; warnings: {}; findings: {found:#?}",
                    report["warnings"]
                )
            },
        )
    };
    // Savings are catalog prices (rules/prices/aws.toml, us-east-1, 730 h a month).
    // m5.xlarge idle: 0.192/h × 730.
    assert_eq!(savings(expect("ec2-idle", &estate.idle)), "140.16");
    // m5.2xlarge at CPU p95 15% → m5.xlarge: (0.384 − 0.192) × 730.
    assert_eq!(savings(expect("ec2-rightsize", &estate.oversized)), "140.16");
    // m4.large → m5.large: (0.10 − 0.096) × 730.
    assert_eq!(savings(expect("ec2-previous-generation", &estate.previous_generation)), "2.92");
    // The stopped instance's 8 GiB gp2 root volume: 8 × 0.10.
    assert_eq!(savings(expect("ec2-stopped-long", &estate.stopped)), "0.8");
    // 100 GiB gp2, available: 100 × 0.10.
    assert_eq!(savings(expect("ebs-unattached", &estate.free_gp2)), "10");
    // 100 GiB gp2 in use, as gp3 with the free 3,000 IOPS and 125 MiB/s: 100 × (0.10 − 0.08).
    assert_eq!(savings(expect("ebs-gp2-to-gp3", &estate.attached_gp2)), "2");
    // io1 200 GiB × 0.125 + 3000 IOPS × 0.065.
    assert_eq!(savings(expect("ebs-unattached", &estate.free_io1)), "220");
    // A free Elastic IP: 0.005/h × 730.
    assert_eq!(savings(expect("eip-unassociated", &estate.free_eip)), "3.65");
    // 20 GiB snapshot of a deleted volume: 20 × 0.05.
    assert_eq!(savings(expect("snapshot-orphaned", &estate.orphaned_snapshot)), "1");
    assert_eq!(savings(expect("snapshot-old", &estate.orphaned_snapshot)), "1");
    // NAT gateway with 0.2 GB processed over the lookback: 0.045/h × 730.
    assert_eq!(savings(expect("nat-gateway-idle", &estate.nat_gateway)), "32.85");
    expect("untagged", &estate.idle);

    // Too little data: the busy-for-two-days instance is not judged idle or oversized.
    assert!(!found.iter().any(|f| f["resource_id"] == estate.little_data.as_str()
        && (f["rule_id"] == "ec2-idle" || f["rule_id"] == "ec2-rightsize")));
    assert!(report["insufficient_data_resources"].as_u64().unwrap() >= 1);
    // The busy instance is left alone (but for moving its t3.large to Graviton).
    assert!(!found.iter().any(|f| f["resource_id"] == estate.busy.as_str()
        && f["rule_id"] != "untagged"
        && f["rule_id"] != "ec2-graviton"));

    // Billing came from Cost Explorer: spend is the queued daily amounts.
    assert_eq!(report["spend"][0]["billed_cost"], "131.5");
    assert!(out.stderr.contains("3 paid requests"), "{}", out.stderr);
}

#[test]
fn snapshot_contents_match_the_seeded_estate() {
    let env = Env::new("111100000002");
    let estate = env.seed_estate("us-east-1");
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.json");
    let out = env.costscope(&[
        "collect",
        "--aws",
        "--regions",
        "us-east-1",
        "--out",
        snap.to_str().unwrap(),
    ]);
    // No Cost Explorer results were queued: an empty answer, still a complete run.
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&snap).unwrap()).unwrap();
    let inv = &s["inventory"];
    let by_id = |list: &str, key: &str, id: &str| -> serde_json::Value {
        inv[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x[key] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} not in {list}: {inv:#}"))
    };
    let stopped = by_id("instances", "id", &estate.stopped);
    assert_eq!(stopped["state"], "stopped");
    assert_eq!(stopped["account_id"], env.account.as_str());
    assert!(stopped["state_transition_time"].is_string(), "{stopped:#}");
    assert!(stopped["state_transition_reason"].as_str().unwrap().contains("User initiated"));
    let idle = by_id("instances", "id", &estate.idle);
    assert_eq!(idle["instance_type"], "m5.xlarge");
    assert_eq!(idle["region"], "us-east-1");
    assert_eq!(idle["volume_ids"].as_array().unwrap().len(), 1);
    let tagged = by_id("instances", "id", &estate.busy);
    assert_eq!(tagged["tags"]["team"], "web");
    let io1 = by_id("volumes", "id", &estate.free_io1);
    assert_eq!((io1["volume_type"].as_str(), io1["size_gib"].as_u64()), (Some("io1"), Some(200)));
    assert_eq!(io1["iops"], 3000);
    assert_eq!(io1["state"], "available");
    let attached = by_id("volumes", "id", &estate.attached_gp2);
    assert_eq!(attached["state"], "in-use");
    assert_eq!(attached["attachments"][0]["instance_id"], estate.busy.as_str());
    let free = by_id("addresses", "allocation_id", &estate.free_eip);
    assert!(free["instance_id"].is_null() && free["association_id"].is_null(), "{free:#}");
    let used = by_id("addresses", "allocation_id", &estate.used_eip);
    assert_eq!(used["instance_id"], estate.busy.as_str());
    let orphan = by_id("snapshots", "id", &estate.orphaned_snapshot);
    assert_eq!(orphan["size_gib"], 20);
    assert_eq!(orphan["volume_id"], estate.deleted_volume.as_str());
    assert!(orphan["start_time"].is_string(), "{orphan:#}");
    let nat = by_id("nat_gateways", "id", &estate.nat_gateway);
    assert_eq!(nat["state"], "available");

    let util = |id: &str| -> serde_json::Value {
        s["utilization"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["resource_id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no utilization for {id}"))
    };
    let idle_u = util(&estate.idle);
    assert_eq!(idle_u["data_points"], 14 * 24);
    assert!(idle_u["days_covered"].as_u64().unwrap() >= 14);
    assert_eq!(idle_u["cpu_p95_percent"], 1.0);
    assert_eq!(idle_u["cpu_avg_percent"], 1.0);
    assert_eq!(idle_u["cpu_max_percent"], 1.0);
    let little = util(&estate.little_data);
    assert_eq!(little["data_points"], 2 * 24);
    let nat_u = util(&estate.nat_gateway);
    assert_eq!(nat_u["bytes_processed"].as_f64(), Some(14.0 * 24.0 * 595_238.0));
    // Stopped instances are not asked about.
    assert!(
        s["utilization"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["resource_id"] != estate.stopped.as_str())
    );

    // collect, then report --snapshot, gives what report --aws gives.
    let live = env.costscope(&["report", "--aws", "--regions", "us-east-1", "--format", "csv"]);
    let saved = env.costscope(&["report", "--snapshot", snap.to_str().unwrap(), "--format", "csv"]);
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    assert_eq!(finding_lines(&live.stdout), finding_lines(&saved.stdout));
}

#[test]
fn cost_explorer_is_paged_cached_and_tag_coverage_comes_from_it() {
    let env = Env::new("111100000003");
    env.queue_cost_explorer(&cost_explorer_results(&env.account));
    let args = ["costs", "--aws", "--regions", "us-east-1", "--by", "service", "--format", "csv"];
    let first = env.costscope(&args);
    assert_eq!(first.code, 0, "{}", first.stderr);
    // Two pages for services × accounts, one answer per required tag key (team, env,
    // cost-center from the default config): 2 + 3 = 5... but `costs` asks no tag keys.
    assert!(first.stderr.contains("2 paid requests"), "{}", first.stderr);
    assert_eq!(
        first.stdout,
        "service,billed_cost,effective_cost,currency\r\n\
         Amazon Elastic Compute Cloud - Compute,120,110,USD\r\n\
         Amazon Simple Storage Service,11.5,11.5,USD\r\n"
    );
    // Within the TTL: the same answer, nothing paid.
    let second = env.costscope(&args);
    assert_eq!(second.stdout, first.stdout);
    assert!(second.stderr.contains("0 paid requests"), "{}", second.stderr);
    assert!(second.stderr.contains("1 answer from the cache"), "{}", second.stderr);
    // --refresh asks again (moto answers the same body the same way).
    let mut refresh = args.to_vec();
    refresh.push("--refresh");
    let third = env.costscope(&refresh);
    assert!(third.stderr.contains("2 paid requests"), "{}", third.stderr);
    assert_eq!(third.stdout, first.stdout);

    let tags = env.costscope(&[
        "tags",
        "--aws",
        "--regions",
        "us-east-1",
        "--require",
        "team",
        "--format",
        "csv",
    ]);
    assert_eq!(tags.code, 0, "{}", tags.stderr);
    // team: 100 tagged of 131.5.
    assert!(tags.stdout.contains("team,USD,100,131.5,0.760456"), "{}", tags.stdout);
}

#[test]
fn regions_are_read_concurrently_and_all_enabled_regions_by_default() {
    let env = Env::new("111100000004");
    let a = env.run_instance("us-east-1", "t3.micro", &[("team", "a")]);
    let b = env.run_instance("eu-west-1", "t3.micro", &[("team", "b")]);
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("s.json");
    let out = env.costscope(&[
        "--log-level",
        "debug",
        "collect",
        "--aws",
        "--regions",
        "us-east-1,eu-west-1",
        "--out",
        snap.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(&snap).unwrap();
    assert!(text.contains(&a) && text.contains(&b));
    // Both regions start before either finishes.
    let pos = |needle: &str| {
        out.stderr.find(needle).unwrap_or_else(|| panic!("{needle} not logged: {}", out.stderr))
    };
    let starts = [pos("region start region=eu-west-1"), pos("region start region=us-east-1")];
    let first_done = out.stderr.find("region done").unwrap();
    assert!(starts.iter().all(|s| *s < first_done), "{}", out.stderr);

    // Without --regions: every region DescribeRegions lists, eu-west-1 among them.
    let all = env.costscope(&["collect", "--aws", "--out", snap.to_str().unwrap()]);
    assert_eq!(all.code, 0, "{}", all.stderr);
    let text = std::fs::read_to_string(&snap).unwrap();
    assert!(text.contains(&a) && text.contains(&b));
}

#[test]
fn a_failing_service_is_a_warning_and_exit_3_with_the_rest_intact() {
    let env = Env::new("111100000005");
    let estate = env.seed_estate("us-east-1");
    env.queue_cost_explorer(&cost_explorer_results(&env.account));
    // CloudWatch refuses connections: inventory and billing still arrive.
    let out = env.costscope_with(
        &["report", "--aws", "--regions", "us-east-1", "--format", "json"],
        &[("AWS_ENDPOINT_URL_CLOUDWATCH", &format!("http://127.0.0.1:{}", closed_port()))],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let warnings = report["sources"][0]["warnings"].to_string();
    assert!(warnings.contains("us-east-1: CloudWatch GetMetricData failed"), "{warnings}");
    assert_eq!(report["sources"][0]["state"], "partial");
    let found = findings(&report);
    assert!(
        found
            .iter()
            .any(|f| f["rule_id"] == "ebs-unattached"
                && f["resource_id"] == estate.free_io1.as_str())
    );
    assert!(!found.iter().any(|f| f["rule_id"] == "ec2-idle"));
    assert_eq!(report["spend"][0]["billed_cost"], "131.5");

    // Cost Explorer refuses: findings from inventory, a warning naming Cost Explorer.
    let out = env.costscope_with(
        &["report", "--aws", "--regions", "us-east-1", "--format", "json", "--refresh"],
        &[("AWS_ENDPOINT_URL_COST_EXPLORER", &format!("http://127.0.0.1:{}", closed_port()))],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        report["sources"][0]["warnings"]
            .to_string()
            .contains("Cost Explorer GetCostAndUsage failed")
    );
    assert!(findings(&report).iter().any(|f| f["rule_id"] == "ec2-idle"));

    // One region throttled for good (a loopback proxy answers ThrottlingException for
    // eu-west-1 only): retried, then a warning naming the region; us-east-1 is intact.
    let proxy = FaultProxy::start(
        env.localstack,
        env.moto,
        vec![Rule::always("ec2", Some("eu-west-1"), Fault::Throttle)],
    );
    let out = env.costscope_with(
        &["report", "--aws", "--regions", "us-east-1,eu-west-1", "--format", "json"],
        &[("AWS_ENDPOINT_URL", &proxy.url())],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let warnings = report["sources"][0]["warnings"].to_string();
    assert!(warnings.contains("eu-west-1: EC2 DescribeInstances failed"), "{warnings}");
    assert!(!warnings.contains("us-east-1"), "{warnings}");
    assert!(
        findings(&report)
            .iter()
            .any(|f| f["rule_id"] == "ec2-idle" && f["resource_id"] == estate.idle.as_str())
    );
    assert!(proxy.hits(0) >= 4, "the SDK retried: {} throttled answers", proxy.hits(0));

    // Nothing answers at all: exit 1 with the reason.
    let out = env.costscope_with(
        &["report", "--aws", "--regions", "us-east-1"],
        &[("AWS_ENDPOINT_URL", &format!("http://127.0.0.1:{}", closed_port()))],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("STS GetCallerIdentity failed"), "{}", out.stderr);
}

#[test]
fn credentials_tokens_and_signatures_never_reach_the_logs() {
    let env = Env::new("111100000006");
    env.run_instance("us-east-1", "t3.micro", &[]);
    let secret = "wJalrXUtnFEMIsecretNEVERlogged";
    let token = "FwoGZXIvYXdzEtokenNEVERlogged";
    let out = env.costscope_with(
        &["--log-level", "trace", "report", "--aws", "--regions", "us-east-1", "--format", "json"],
        &[("AWS_SECRET_ACCESS_KEY", secret), ("AWS_SESSION_TOKEN", token), ("RUST_LOG", "trace")],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Trace logging was on: costscope's own debug lines are there.
    assert!(out.stderr.contains("region start"), "{}", out.stderr);
    for needle in [secret, token, "Signature=", "X-Amz-Security-Token", "authorization:"] {
        assert!(
            !out.stderr.to_ascii_lowercase().contains(&needle.to_ascii_lowercase()),
            "{needle} in the logs"
        );
    }
}
