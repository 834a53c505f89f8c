//! Faults injected into EC2, CloudWatch and Cost Explorer calls by a loopback proxy in front of
//! the emulators (tests/common_aws/fault_proxy.rs): throttling, HTTP 500, answers slower than
//! the timeout, connection resets and cut-off bodies.
//!
//! A fault that stops after a few requests is retried away: exit 0 and the findings of an
//! unfaulted run. A fault that never stops is a warning naming the region (EC2, CloudWatch) and
//! the service, exit 3, and everything else still reported; `--out` then holds the complete
//! partial report (exit 3 means "written"), never half of one, and no temporary file is left.
//!
//! Each service's scenarios share one seeded account and run a few at a time, each through a
//! proxy and a Cost Explorer cache of its own. The config shortens the timeouts (`[aws]
//! attempt_timeout_seconds`, `call_timeout_seconds`) so "slow" costs seconds, not minutes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common_aws;

use std::path::Path;

use aws_sdk_ec2::types::VolumeType;
use common_aws::*;

/// Per attempt and per call, in seconds: long enough for the emulators on a busy machine,
/// short enough that a held answer costs a few seconds.
const TIMEOUTS: &str = "connect_timeout_seconds = 2\nattempt_timeout_seconds = 3\n";
const CALL_TIMEOUT: u32 = 7;
/// Cost Explorer retries adaptively: after a throttle the client paces itself (seconds between
/// attempts), so its calls get longer to recover within.
const COST_EXPLORER_CALL_TIMEOUT: u32 = 20;
/// Two days of metrics keep seeding and GetMetricData quick; ec2-idle is told two days are
/// enough.
const RULES: &str = "[rules.ec2-idle]\nmin_days = 1\n";
const LOOKBACK_DAYS: &str = "2";

/// Scenarios run at once (each a costscope process behind a proxy of its own).
const PARALLEL: usize = 3;

const FAULTS: [Fault; 6] =
    [Fault::Throttle, Fault::Http500, Fault::Slow, Fault::SlowBody, Fault::Reset, Fault::Truncated];

/// The service under test, as the proxy, the warnings and the call names say it.
struct Service {
    /// Credential-scope name.
    scope: &'static str,
    /// Region its rules match (`None`: Cost Explorer, which answers from us-east-1 only).
    region: Option<&'static str>,
    /// The first call a fault hits, and how the warning starts.
    operation: &'static str,
    warning: &'static str,
}

const EC2: Service = Service {
    scope: "ec2",
    region: Some("eu-west-1"),
    operation: "DescribeInstances",
    warning: "eu-west-1: EC2 DescribeInstances failed",
};
const CLOUDWATCH: Service = Service {
    scope: "monitoring",
    region: Some("eu-west-1"),
    operation: "GetMetricData",
    warning: "eu-west-1: CloudWatch GetMetricData failed",
};
const COST_EXPLORER: Service = Service {
    scope: "ce",
    region: None,
    operation: "GetCostAndUsage",
    warning: "Cost Explorer GetCostAndUsage failed",
};

/// Two regions, each with an idle instance (ec2-idle needs CloudWatch) and a free volume
/// (ebs-unattached needs only EC2); Cost Explorer answers queued in moto.
struct Seeded {
    env: Env,
    idle: [String; 2],
    free_volume: [String; 2],
}

fn seed(account: &str, call_timeout: u32) -> Seeded {
    let env = Env::new(account);
    let mut config = std::fs::read_to_string(&env.config).unwrap();
    // Env's config ends in its `[aws]` table: the timeouts join it.
    assert!(config.trim_end().ends_with("commitments = false"), "{config}");
    config.push_str(&format!("{TIMEOUTS}call_timeout_seconds = {call_timeout}\n\n{RULES}"));
    std::fs::write(&env.config, config).unwrap();
    let mut idle = Vec::new();
    let mut free_volume = Vec::new();
    for region in ["us-east-1", "eu-west-1"] {
        let id = env.run_instance(region, "m5.xlarge", &[("team", "data")]);
        env.instance_metrics(region, &id, 1.0, 1e5, 2 * 24);
        idle.push(id);
        free_volume.push(env.create_volume(region, VolumeType::Gp2, 100, None));
    }
    env.queue_cost_explorer(&cost_explorer_results(&env.account));
    Seeded { env, idle: idle.try_into().unwrap(), free_volume: free_volume.try_into().unwrap() }
}

/// One scenario's run: exit code, stderr, the report `--out` wrote, what the proxy saw.
struct Run {
    name: String,
    code: i32,
    stderr: String,
    report: serde_json::Value,
    proxy: FaultProxy,
    /// Files left in the output directory besides the report.
    leftovers: Vec<String>,
    /// For the log only (no timed assertions).
    elapsed: std::time::Duration,
}

/// What `report --aws --out FILE` over an existing FILE left: the process's output, FILE's
/// text and any other file beside it.
struct Written {
    output: Output,
    text: String,
    leftovers: Vec<String>,
}

const PREVIOUS: &str = "the previous report\n";

fn report_through(seeded: &Seeded, proxy: &FaultProxy) -> Written {
    let env = &seeded.env;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    std::fs::write(&out, PREVIOUS).unwrap();
    let cache = dir.path().join("cache");
    let mut vars: Vec<(&str, String)> = proxy.env();
    vars.push(("COSTSCOPE_CACHE_DIR", cache.to_str().unwrap().to_string()));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let output = env.costscope_with(
        &[
            "report",
            "--aws",
            "--regions",
            "us-east-1,eu-west-1",
            "--lookback-days",
            LOOKBACK_DAYS,
            "--format",
            "json",
            "--out",
            out.to_str().unwrap(),
            "--refresh",
        ],
        &vars,
    );
    Written {
        text: std::fs::read_to_string(&out).unwrap(),
        leftovers: leftovers(dir.path()),
        output,
    }
}

/// Runs one scenario through a proxy with `rules`; `--out` must hold a complete report.
fn run(seeded: &Seeded, name: &str, rules: Vec<Rule>) -> Run {
    let proxy = FaultProxy::start(seeded.env.localstack, seeded.env.moto, rules);
    let started = std::time::Instant::now();
    let written = report_through(seeded, &proxy);
    let elapsed = started.elapsed();
    let report = serde_json::from_str(&written.text).unwrap_or_else(|e| {
        panic!(
            "{name}: --out is not a complete report ({e}): {:?}\nstderr: {}",
            written.text, written.output.stderr
        )
    });
    Run {
        name: name.to_string(),
        code: written.output.code,
        stderr: written.output.stderr,
        report,
        proxy,
        leftovers: written.leftovers,
        elapsed,
    }
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "report.json" && n != "cache")
        .collect()
}

/// Runs the scenarios `PARALLEL` at a time, the slow ones first so they overlap, and returns
/// the runs in the order given.
fn run_all(seeded: &Seeded, scenarios: Vec<(String, Vec<Rule>)>) -> Vec<Run> {
    let slow = |rules: &[Rule]| {
        let held = rules.iter().any(|r| matches!(r.fault, Fault::Slow | Fault::SlowBody));
        let lasting = rules.iter().any(|r| r.times.is_none());
        usize::from(held) * 2 + usize::from(lasting)
    };
    let mut queue: Vec<(usize, String, Vec<Rule>)> =
        scenarios.into_iter().enumerate().map(|(i, (n, r))| (i, n, r)).collect();
    // Popped from the back: slowest last in the vector.
    queue.sort_by_key(|(i, _, rules)| (slow(rules), std::cmp::Reverse(*i)));
    let total = queue.len();
    let queue = std::sync::Mutex::new(queue);
    let done = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..PARALLEL {
            s.spawn(|| {
                loop {
                    let next = queue.lock().unwrap().pop();
                    let Some((i, name, rules)) = next else { break };
                    let r = run(seeded, &name, rules);
                    done.lock().unwrap().push((i, r));
                }
            });
        }
    });
    let mut done = done.into_inner().unwrap();
    assert_eq!(done.len(), total);
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// Findings as comparable lines: rule, resource, savings.
fn finding_keys(report: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = findings(report)
        .iter()
        .map(|f| format!("{} {} {}", f["rule_id"], f["resource_id"], savings(f)))
        .collect();
    keys.sort();
    keys
}

fn has(report: &serde_json::Value, rule: &str, resource: &str) -> bool {
    findings(report).iter().any(|f| f["rule_id"] == rule && f["resource_id"] == resource)
}

fn warnings(report: &serde_json::Value) -> String {
    report["sources"][0]["warnings"].to_string()
}

fn transient_times(fault: Fault) -> usize {
    // One held answer already costs an attempt timeout.
    if matches!(fault, Fault::Slow | Fault::SlowBody) { 1 } else { 2 }
}

/// Every fault, first transient (it stops after a request or two), then persistent, against
/// `service`; checks what holds for all services and returns the runs for the service's own
/// checks, persistent ones last.
fn fault_matrix(seeded: &Seeded, service: &Service) -> Matrix {
    let mut scenarios = vec![("unfaulted".to_string(), Vec::new())];
    for fault in FAULTS {
        let n = transient_times(fault);
        scenarios.push((
            format!("{fault:?} x{n}"),
            vec![Rule::times(n, service.scope, service.region, fault)],
        ));
    }
    for fault in FAULTS {
        scenarios.push((
            format!("{fault:?} always"),
            vec![Rule::always(service.scope, service.region, fault)],
        ));
    }
    let mut runs = run_all(seeded, scenarios).into_iter();
    let baseline = runs.next().unwrap();
    assert_eq!(baseline.code, 0, "unfaulted: {}", baseline.stderr);
    assert!(baseline.leftovers.is_empty(), "{:?}", baseline.leftovers);
    let base_findings = finding_keys(&baseline.report);
    assert!(!base_findings.is_empty());

    let mut transient = Vec::new();
    for fault in FAULTS {
        let r = runs.next().unwrap();
        let n = transient_times(fault);
        // Retried until it passed: the same report as without the fault.
        assert_eq!(r.code, 0, "{}: {}", r.name, r.stderr);
        assert_eq!(finding_keys(&r.report), base_findings, "{}", r.name);
        assert_eq!(r.report["spend"], baseline.report["spend"], "{}", r.name);
        assert_eq!(warnings(&r.report), "[]", "{}", r.name);
        assert_eq!(r.proxy.hits(0), n, "{}: every fault was met", r.name);
        assert!(r.leftovers.is_empty(), "{}: {:?}", r.name, r.leftovers);
        transient.push((fault, r));
    }
    let mut persistent = Vec::new();
    for fault in FAULTS {
        let r = runs.next().unwrap();
        assert_eq!(r.code, 3, "{}: {}", r.name, r.stderr);
        assert_eq!(r.report["sources"][0]["state"], "partial", "{}", r.name);
        let w = warnings(&r.report);
        assert!(w.contains(service.warning), "{}: {w}", r.name);
        // The warning reaches stderr too, naming region and service.
        assert!(r.stderr.contains(service.warning), "{}: {}", r.name, r.stderr);
        if let Some(region) = service.region {
            let other = if region == "eu-west-1" { "us-east-1" } else { "eu-west-1" };
            assert!(!w.contains(other), "{}: {w}", r.name);
        }
        // Retried before giving up: more than one attempt at the first call.
        let (faulted, passed) = r.proxy.attempts(
            service.scope,
            service.region.unwrap_or("us-east-1"),
            service.operation,
        );
        assert!(faulted >= 2 && passed == 0, "{}: {faulted} faulted, {passed} passed", r.name);
        assert!(r.leftovers.is_empty(), "{}: {:?}", r.name, r.leftovers);
        persistent.push((fault, r));
    }
    Matrix { baseline, transient, persistent }
}

/// The runs of one service: unfaulted, then each fault transient, then each persistent.
struct Matrix {
    baseline: Run,
    transient: Vec<(Fault, Run)>,
    persistent: Vec<(Fault, Run)>,
}

/// Attempts the SDK made at the first faulted call, per scenario, for the logs of a run.
fn log_attempts(service: &Service, runs: &[(Fault, Run)]) {
    for (_, r) in runs {
        let region = service.region.unwrap_or("us-east-1");
        let (faulted, passed) = r.proxy.attempts(service.scope, region, service.operation);
        eprintln!(
            "{} {}: exit {} in {:.1?}, {} {}: {faulted} faulted + {passed} passed attempts; \
             warnings {}",
            service.scope,
            r.name,
            r.code,
            r.elapsed,
            region,
            service.operation,
            warnings(&r.report)
        );
    }
}

#[test]
fn ec2_faults_are_retried_and_a_lasting_one_loses_only_its_region() {
    let seeded = seed("111100000101", CALL_TIMEOUT);
    let Matrix { transient, persistent, .. } = fault_matrix(&seeded, &EC2);
    log_attempts(&EC2, &transient);
    log_attempts(&EC2, &persistent);
    for (_, r) in &persistent {
        // us-east-1 whole (inventory and utilization), eu-west-1 absent: half an inventory
        // would make "unattached" lie.
        assert!(has(&r.report, "ec2-idle", &seeded.idle[0]), "{}", r.name);
        assert!(has(&r.report, "ebs-unattached", &seeded.free_volume[0]), "{}", r.name);
        assert!(!has(&r.report, "ebs-unattached", &seeded.free_volume[1]), "{}", r.name);
        assert!(!has(&r.report, "ec2-idle", &seeded.idle[1]), "{}", r.name);
        // Billing unharmed.
        assert_eq!(r.report["spend"][0]["billed_cost"], "131.5", "{}", r.name);
        // Without inventory CloudWatch is not asked in that region.
        let asked =
            r.proxy.seen().iter().any(|s| s.service == "monitoring" && s.region == "eu-west-1");
        assert!(!asked, "{}", r.name);
    }

    // When nothing can be read (STS resets every connection) the run fails, exit 1, and the
    // previous report is left as it was.
    let proxy = FaultProxy::start(
        seeded.env.localstack,
        seeded.env.moto,
        vec![Rule::always("sts", None, Fault::Reset)],
    );
    let failed = report_through(&seeded, &proxy);
    assert_eq!(failed.output.code, 1, "{}", failed.output.stderr);
    assert!(
        failed.output.stderr.contains("STS GetCallerIdentity failed"),
        "{}",
        failed.output.stderr
    );
    assert_eq!(failed.text, PREVIOUS);
    assert!(failed.leftovers.is_empty(), "{:?}", failed.leftovers);
    assert!(proxy.hits(0) >= 2, "STS was retried: {} attempts", proxy.hits(0));
}

#[test]
fn cloudwatch_faults_are_retried_and_a_lasting_one_loses_only_utilization_there() {
    let seeded = seed("111100000102", CALL_TIMEOUT);
    let Matrix { transient, persistent, .. } = fault_matrix(&seeded, &CLOUDWATCH);
    log_attempts(&CLOUDWATCH, &transient);
    log_attempts(&CLOUDWATCH, &persistent);
    for (_, r) in &persistent {
        // eu-west-1 keeps its inventory findings and loses only what needs utilization.
        assert!(has(&r.report, "ebs-unattached", &seeded.free_volume[1]), "{}", r.name);
        assert!(!has(&r.report, "ec2-idle", &seeded.idle[1]), "{}", r.name);
        assert!(has(&r.report, "ec2-idle", &seeded.idle[0]), "{}", r.name);
        assert!(has(&r.report, "ebs-unattached", &seeded.free_volume[0]), "{}", r.name);
        assert_eq!(r.report["spend"][0]["billed_cost"], "131.5", "{}", r.name);
    }
}

#[test]
fn cost_explorer_faults_are_retried_and_a_lasting_one_loses_only_billing() {
    let seeded = seed("111100000103", COST_EXPLORER_CALL_TIMEOUT);
    let Matrix { baseline, transient, persistent } = fault_matrix(&seeded, &COST_EXPLORER);
    log_attempts(&COST_EXPLORER, &transient);
    log_attempts(&COST_EXPLORER, &persistent);
    assert_eq!(baseline.report["spend"][0]["billed_cost"], "131.5");
    for (_, r) in &persistent {
        // Every inventory and utilization finding in both regions; no spend.
        for i in 0..2 {
            assert!(has(&r.report, "ec2-idle", &seeded.idle[i]), "{}", r.name);
            assert!(has(&r.report, "ebs-unattached", &seeded.free_volume[i]), "{}", r.name);
        }
        assert!(
            r.report["spend"].as_array().is_none_or(|s| s.is_empty()),
            "{}: {}",
            r.name,
            r.report["spend"]
        );
        // The services query failed: the tag queries are not paid for.
        let tag_asks = r.proxy.seen().iter().filter(|s| s.service == "ce").count();
        let (faulted, _) = r.proxy.attempts("ce", "us-east-1", "GetCostAndUsage");
        assert_eq!(tag_asks, faulted, "{}: only the first query was attempted", r.name);
    }
}
