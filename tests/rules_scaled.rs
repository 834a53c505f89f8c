//! The default pack over the bench's scaled inventory and over the bundled sample gives exactly
//! the findings it gave before the engine was reorganised for speed (issue 19: resources in the
//! outer loop, views built only for the fields the rules read).
//!
//! The expected figures were recorded from the engine as it was on main at `6763498` (rules in
//! the outer loop, every view built in full), by running this file's `summary` on that commit.
//! A digest covers every field of every finding, in order; the per-rule lines say which rule
//! moved when the digest does not match.

// The bench fixtures print their setup to stderr.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

#[path = "../benches/common/mod.rs"]
mod common;

use std::collections::BTreeMap;

use costscope::analysis::rules::Evaluation;
use costscope::model::Money;

/// FNV-1a, 64 bits: stable across runs and platforms (std's hasher is not).
fn fnv(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// Per rule: findings, alternatives, savings and current cost summed; then the totals, the
/// data-insufficiency counts, the errors, and a digest of the findings as JSON.
fn summary(eval: &Evaluation) -> String {
    let mut per_rule: BTreeMap<&str, (usize, usize, Money, Money)> = BTreeMap::new();
    for f in &eval.findings {
        let slot = per_rule.entry(&f.rule_id).or_insert((0, 0, Money::ZERO, Money::ZERO));
        slot.0 += 1;
        slot.1 += usize::from(f.alternative);
        slot.2 += f.estimated_monthly_savings;
        slot.3 += f.current_monthly_cost.unwrap_or(Money::ZERO);
    }
    let mut out = String::new();
    for (rule, (n, alt, savings, cost)) in &per_rule {
        out.push_str(&format!(
            "{rule}: {n} findings, {alt} alternatives, savings {savings}, cost {cost}\n"
        ));
    }
    let json = serde_json::to_string(&eval.findings).unwrap();
    out.push_str(&format!(
        "findings {}, resources {}, insufficient {:?} over {} resources, errors {}, digest {:016x}\n",
        eval.findings.len(),
        eval.resources_evaluated,
        eval.insufficient_data,
        eval.insufficient_resources,
        eval.errors.len(),
        fnv(json.as_bytes()),
    ));
    for e in &eval.errors {
        out.push_str(&format!("error: {e}\n"));
    }
    out
}

fn evaluate_scaled(n: usize) -> Evaluation {
    common::engine().evaluate(&common::scaled_snapshot(n), &common::required_tags())
}

/// Recorded on `6763498` (see the top of the file): the bench's 10k resources.
const SCALED_10K: &str = r#"
ebs-gp2-to-gp3: 1060 findings, 53 alternatives, savings 1896.34, cost 15046.7
ebs-io1-to-io2: 53 findings, 0 alternatives, savings 18603, cost 178875
ebs-unattached: 265 findings, 0 alternatives, savings 14458.4, cost 14458.4
ec2-graviton: 2788 findings, 642 alternatives, savings 63218.73, cost 328722.504
ec2-idle: 265 findings, 0 alternatives, savings 18230.728, cost 18230.728
ec2-offhours: 161 findings, 54 alternatives, savings 7183.533704, cost 13987.968
ec2-previous-generation: 266 findings, 53 alternatives, savings 1506.282, cost 23105.376
ec2-rightsize: 430 findings, 107 alternatives, savings 51231.984, cost 102463.968
ec2-stopped-long: 161 findings, 0 alternatives, savings 1454.32, cost 1454.32
eip-unassociated: 106 findings, 0 alternatives, savings 386.9, cost 386.9
k8s-cluster-overprovisioned: 1 findings, 0 alternatives, savings 140.16, cost 280.32
k8s-loadbalancer-unused: 2 findings, 0 alternatives, savings 34.675, cost 34.675
k8s-node-underutilized: 1 findings, 0 alternatives, savings 140.16, cost 140.16
k8s-volume-unclaimed: 3 findings, 0 alternatives, savings 75, cost 75
k8s-workload-abandoned: 1 findings, 0 alternatives, savings 75.678692, cost 75.678692
k8s-workload-overrequested: 9 findings, 1 alternatives, savings 296.805761, cost 448.76144
nat-gateway-idle: 53 findings, 0 alternatives, savings 1741.05, cost 1741.05
snapshot-old: 689 findings, 0 alternatives, savings 2623.5, cost 2623.5
snapshot-orphaned: 583 findings, 424 alternatives, savings 4081, cost 4081
untagged: 3295 findings, 1917 alternatives, savings 0, cost 155590.962
findings 10192, resources 10045, insufficient {"ebs-io-to-gp3": 265, "ebs-low-use": 4399, "ec2-idle": 107, "ec2-offhours": 53, "ec2-rightsize": 107, "nat-gateway-idle": 53} over 4612 resources, errors 0, digest 6fd4f860d15d5c6f
"#;

/// Recorded on `6763498`: the bundled sample (billing, clusters, every service's resources).
const SAMPLE: &str = r#"
ami-unused: 2 findings, 0 alternatives, savings 14, cost 14
dynamodb-overprovisioned: 2 findings, 0 alternatives, savings 642.9548, cost 789.45
ebs-gp2-to-gp3: 20 findings, 1 alternatives, savings 35.78, cost 283.9
ebs-io-to-gp3: 2 findings, 0 alternatives, savings 1173.5, cost 1257.5
ebs-io1-to-io2: 1 findings, 0 alternatives, savings 351, cost 3375
ebs-low-use: 1 findings, 0 alternatives, savings 16, cost 16
ebs-unattached: 5 findings, 0 alternatives, savings 272.8, cost 272.8
ec2-graviton: 52 findings, 12 alternatives, savings 1177.636, cost 6123.532
ec2-idle: 5 findings, 0 alternatives, savings 343.976, cost 343.976
ec2-offhours: 3 findings, 1 alternatives, savings 134.542476, cost 261.632
ec2-previous-generation: 5 findings, 1 alternatives, savings 28.324, cost 433.912
ec2-rightsize: 8 findings, 2 alternatives, savings 951.336, cost 1902.672
ec2-stopped-long: 3 findings, 0 alternatives, savings 27.44, cost 27.44
eip-unassociated: 2 findings, 0 alternatives, savings 7.3, cost 7.3
elasticache-graviton: 2 findings, 1 alternatives, savings 16.79, cost 365
elasticache-idle: 1 findings, 0 alternatives, savings 49.64, cost 49.64
elb-idle: 5 findings, 0 alternatives, savings 87.746, cost 87.746
k8s-cluster-overprovisioned: 1 findings, 0 alternatives, savings 140.16, cost 280.32
k8s-loadbalancer-unused: 2 findings, 0 alternatives, savings 34.675, cost 34.675
k8s-node-underutilized: 1 findings, 0 alternatives, savings 140.16, cost 140.16
k8s-volume-unclaimed: 3 findings, 0 alternatives, savings 75, cost 75
k8s-workload-abandoned: 1 findings, 0 alternatives, savings 75.678692, cost 75.678692
k8s-workload-overrequested: 9 findings, 1 alternatives, savings 296.805761, cost 448.76144
lambda-graviton: 2 findings, 1 alternatives, savings 31.937181, cost 160.1542084187500875
lambda-overprovisioned-memory: 2 findings, 0 alternatives, savings 62.100818, cost 127.3446980243056375
lambda-unused: 2 findings, 0 alternatives, savings 0, cost 0
logs-no-retention: 2 findings, 0 alternatives, savings 12.034978, cost 12.6
logs-stale: 1 findings, 0 alternatives, savings 1.8, cost 1.8
nat-gateway-idle: 1 findings, 0 alternatives, savings 32.85, cost 32.85
opensearch-graviton: 1 findings, 1 alternatives, savings 20.44, cost 234.32
opensearch-idle: 1 findings, 0 alternatives, savings 234.32, cost 234.32
rds-extended-support: 3 findings, 1 alternatives, savings 1460, cost 1458.39
rds-graviton: 3 findings, 2 alternatives, savings 131.4, cost 1363.03
rds-idle: 1 findings, 0 alternatives, savings 188.5, cost 217
rds-previous-generation: 1 findings, 1 alternatives, savings 2.92, cost 150.75
rds-rightsize: 1 findings, 1 alternatives, savings 499.32, cost 1090.64
rds-snapshot-orphaned: 1 findings, 0 alternatives, savings 23.75, cost 23.75
redshift-idle: 1 findings, 0 alternatives, savings 365, cost 365
s3-no-lifecycle: 3 findings, 0 alternatives, savings 19.95, cost 80.5
snapshot-old: 8 findings, 0 alternatives, savings 31.5, cost 31.5
snapshot-orphaned: 5 findings, 3 alternatives, savings 57.5, cost 57.5
untagged: 63 findings, 37 alternatives, savings 0, cost 2969.298
findings 238, resources 327, insufficient {"dynamodb-overprovisioned": 1, "ebs-io-to-gp3": 2, "ebs-low-use": 1, "ec2-idle": 2, "ec2-offhours": 1, "ec2-rightsize": 2, "nat-gateway-idle": 1, "rds-rightsize": 1} over 7 resources, errors 0, digest 0cdd60f3382716e2
"#;

/// Recorded on `6763498`: the bench's 100k resources.
const SCALED_100K: &str = r#"
ebs-gp2-to-gp3: 10640 findings, 532 alternatives, savings 19034.96, cost 151034.8
ebs-io1-to-io2: 532 findings, 0 alternatives, savings 186732, cost 1795500
ebs-unattached: 2660 findings, 0 alternatives, savings 145129.6, cost 145129.6
ec2-graviton: 27664 findings, 6384 alternatives, savings 626502.352, cost 3257719.024
ec2-idle: 2660 findings, 0 alternatives, savings 182995.232, cost 182995.232
ec2-offhours: 1596 findings, 532 alternatives, savings 71576.597232, cost 139188.224
ec2-previous-generation: 2660 findings, 532 alternatives, savings 15068.368, cost 230841.184
ec2-rightsize: 4256 findings, 1064 alternatives, savings 506110.752, cost 1012221.504
ec2-stopped-long: 1596 findings, 0 alternatives, savings 14598.08, cost 14598.08
eip-unassociated: 1064 findings, 0 alternatives, savings 3883.6, cost 3883.6
k8s-cluster-overprovisioned: 1 findings, 0 alternatives, savings 140.16, cost 280.32
k8s-loadbalancer-unused: 2 findings, 0 alternatives, savings 34.675, cost 34.675
k8s-node-underutilized: 1 findings, 0 alternatives, savings 140.16, cost 140.16
k8s-volume-unclaimed: 3 findings, 0 alternatives, savings 75, cost 75
k8s-workload-abandoned: 1 findings, 0 alternatives, savings 75.678692, cost 75.678692
k8s-workload-overrequested: 9 findings, 1 alternatives, savings 296.805761, cost 448.76144
nat-gateway-idle: 531 findings, 0 alternatives, savings 17443.35, cost 17443.35
snapshot-old: 6909 findings, 0 alternatives, savings 26303.5, cost 26303.5
snapshot-orphaned: 5845 findings, 4251 alternatives, savings 40911, cost 40911
untagged: 32980 findings, 19149 alternatives, savings 0, cost 1550160.056
findings 101610, resources 100045, insufficient {"ebs-io-to-gp3": 2660, "ebs-low-use": 44156, "ec2-idle": 1064, "ec2-offhours": 532, "ec2-rightsize": 1064, "nat-gateway-idle": 531} over 46283 resources, errors 0, digest 5f18662dc799bbfb
"#;

#[test]
fn the_scaled_inventory_gives_the_findings_it_gave_before() {
    assert_eq!(summary(&evaluate_scaled(10_000)).trim(), SCALED_10K.trim());
}

#[test]
fn the_sample_gives_the_findings_it_gave_before() {
    let engine = common::engine();
    let eval = engine.evaluate(&costscope::sample::snapshot().unwrap(), &common::required_tags());
    assert_eq!(summary(&eval).trim(), SAMPLE.trim());
}

/// About 15 s in a debug build: `cargo test --release --test rules_scaled -- --ignored`.
#[test]
#[ignore]
fn the_bench_inventory_of_100k_gives_the_findings_it_gave_before() {
    assert_eq!(summary(&evaluate_scaled(100_000)).trim(), SCALED_100K.trim());
}
