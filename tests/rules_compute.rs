//! The EC2 and EBS rules of issue 14: for each, resources where it must fire (savings checked
//! against figures computed by hand from `rules/prices/aws.toml`, us-east-1) and near misses
//! where it must not.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common_rules;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common_rules::{evaluate, find, money};
use costscope::analysis::rules::{Engine, RuleSet};
use costscope::model::inventory::{
    EbsSnapshot, Image, ImageSnapshot, Instance, InstanceState, LaunchTemplate, Volume,
    VolumeAttachment, VolumeState,
};
use costscope::model::utilization::UtilizationSummary;
use costscope::model::{Snapshot, Tags};
use costscope::pricing::catalog::PriceCatalog;

const ACCOUNT: &str = "222222222222";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
}

fn full_tags() -> Tags {
    [("team", "web"), ("env", "prod"), ("cost-center", "cc-1")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn instance(id: &str, instance_type: &str) -> Instance {
    Instance {
        id: id.into(),
        account_id: ACCOUNT.into(),
        region: "us-east-1".into(),
        instance_type: instance_type.into(),
        state: InstanceState::Running,
        launch_time: Some(now() - Duration::days(200)),
        state_transition_time: None,
        state_transition_reason: None,
        platform: Some("linux".into()),
        tags: full_tags(),
        volume_ids: Vec::new(),
        image_id: None,
    }
}

fn volume(id: &str, volume_type: &str, size_gib: u64, iops: Option<u64>) -> Volume {
    Volume {
        id: id.into(),
        account_id: ACCOUNT.into(),
        region: "us-east-1".into(),
        volume_type: volume_type.into(),
        size_gib,
        iops,
        throughput: None,
        state: VolumeState::InUse,
        attachments: vec![VolumeAttachment {
            instance_id: "i-host".into(),
            device: Some("/dev/sdf".into()),
        }],
        create_time: Some(now() - Duration::days(300)),
        tags: full_tags(),
    }
}

/// A volume measured hourly over `days`: its busiest hour (average IOPS) and its total ops.
fn volume_util(id: &str, days: u32, peak_iops: f64, total_ops: f64) -> UtilizationSummary {
    UtilizationSummary {
        resource_id: id.into(),
        lookback_days: 14,
        days_covered: days,
        data_points: days * 24,
        io_ops_peak_per_second: Some(peak_iops),
        io_ops_total: Some(total_ops),
        ..Default::default()
    }
}

#[test]
fn ec2_graviton_moves_linux_instances_to_the_same_size_on_arm() {
    let mut s = Snapshot::empty(now());
    for (id, t) in [
        ("i-m5", "m5.xlarge"),
        ("i-c6i", "c6i.2xlarge"),
        ("i-t3", "t3.micro"),
        ("i-windows", "m5.xlarge"),
        ("i-stopped", "m5.xlarge"),
        ("i-huge", "m5.24xlarge"),
        ("i-arm", "m6g.large"),
        ("i-m4", "m4.large"),
    ] {
        s.inventory.instances.push(instance(id, t));
    }
    s.inventory.instances[3].platform = Some("windows".into());
    s.inventory.instances[4].state = InstanceState::Stopped;
    let eval = evaluate(&s);

    // m5.xlarge 0.192 − m6g.xlarge 0.154 = 0.038 an hour × 730 = 27.74.
    let f = find(&eval, "ec2-graviton", "i-m5").expect("m5.xlarge");
    assert_eq!(f.estimated_monthly_savings, money("27.74"));
    assert_eq!(f.target.as_deref(), Some("m6g.xlarge"));
    assert_eq!(f.confidence.as_str(), "medium");
    assert!(f.evidence.contains("arm64"), "{}", f.evidence);
    // c6i.2xlarge 0.34 − c7g.2xlarge 0.29 = 0.05 × 730 = 36.50.
    let f = find(&eval, "ec2-graviton", "i-c6i").expect("c6i.2xlarge");
    assert_eq!(
        (f.estimated_monthly_savings, f.target.as_deref()),
        (money("36.50"), Some("c7g.2xlarge"))
    );
    // t3.micro 0.0104 − t4g.micro 0.0084 = 0.002 × 730 = 1.46.
    let f = find(&eval, "ec2-graviton", "i-t3").expect("t3.micro");
    assert_eq!(f.estimated_monthly_savings, money("1.46"));

    for (id, why) in [
        ("i-windows", "Windows has no Graviton AMI"),
        ("i-stopped", "stopped: no compute charge"),
        ("i-huge", "no m6g.24xlarge"),
        ("i-arm", "already Graviton"),
        ("i-m4", "m4 has no Graviton mapping (ec2-previous-generation's)"),
    ] {
        assert!(find(&eval, "ec2-graviton", id).is_none(), "{why}");
    }
}

#[test]
fn ebs_io_to_gp3_sizes_gp3_iops_to_the_measured_peak() {
    let mut s = Snapshot::empty(now());
    s.inventory.volumes = vec![
        volume("vol-io1", "io1", 500, Some(10_000)),
        volume("vol-io2", "io2", 200, Some(8_000)),
        volume("vol-big", "io1", 500, Some(20_000)),
        volume("vol-busy", "io1", 500, Some(16_000)),
        volume("vol-short", "io1", 500, Some(10_000)),
    ];
    s.utilization = vec![
        volume_util("vol-io1", 14, 2_000.0, 1e9),
        volume_util("vol-io2", 14, 6_000.0, 1e9),
        volume_util("vol-big", 14, 1_000.0, 1e9),
        volume_util("vol-busy", 14, 13_000.0, 1e9),
        volume_util("vol-short", 5, 2_000.0, 1e9),
    ];
    let eval = evaluate(&s);

    // io1: 500 GiB × 0.125 = 62.50 + 10,000 IOPS × 0.065 = 650.00 → 712.50.
    // gp3: peak 2,000 ÷ 0.5 = 4,000 IOPS: 500 × 0.08 = 40.00 + (4,000 − 3,000) × 0.005 = 5.00,
    // no throughput charge → 45.00. Saved 667.50.
    let f = find(&eval, "ebs-io-to-gp3", "vol-io1").expect("io1 with a low peak");
    assert_eq!(f.estimated_monthly_savings, money("667.50"));
    assert_eq!(f.current_monthly_cost, Some(money("712.50")));
    assert_eq!(f.target.as_deref(), Some("gp3 4000 IOPS"));
    assert!(f.evidence.contains("peaked at 2000 IOPS"), "{}", f.evidence);
    // io2: 200 × 0.125 = 25.00 + 8,000 × 0.065 = 520.00 → 545.00.
    // gp3: 6,000 ÷ 0.5 = 12,000, capped at the 8,000 provisioned today: 200 × 0.08 = 16.00
    // + (8,000 − 3,000) × 0.005 = 25.00 → 41.00. Saved 504.00.
    let f = find(&eval, "ebs-io-to-gp3", "vol-io2").expect("io2 with a peak under gp3's limit");
    assert_eq!(f.estimated_monthly_savings, money("504.00"));
    assert_eq!(f.target.as_deref(), Some("gp3 8000 IOPS"));

    assert!(find(&eval, "ebs-io-to-gp3", "vol-big").is_none(), "20,000 provisioned > 16,000");
    assert!(find(&eval, "ebs-io-to-gp3", "vol-busy").is_none(), "13,000 peak > half of 16,000");
    assert!(find(&eval, "ebs-io-to-gp3", "vol-short").is_none(), "5 days of data");
}

#[test]
fn ebs_io1_to_io2_fires_only_where_the_io2_tiers_are_cheaper() {
    let mut s = Snapshot::empty(now());
    s.inventory.volumes = vec![
        volume("vol-fast", "io1", 1_000, Some(50_000)),
        volume("vol-mid", "io1", 1_000, Some(20_000)),
        volume("vol-io2", "io2", 1_000, Some(50_000)),
    ];
    let eval = evaluate(&s);
    // io1: 1,000 × 0.125 = 125.00 + 50,000 × 0.065 = 3,250.00 → 3,375.00.
    // io2: 125.00 + 32,000 × 0.065 = 2,080.00 + 18,000 × 0.0455 = 819.00 → 3,024.00.
    // Saved 351.00.
    let f = find(&eval, "ebs-io1-to-io2", "vol-fast").expect("io1 above 32,000 IOPS");
    assert_eq!(f.estimated_monthly_savings, money("351.00"));
    assert_eq!(f.target.as_deref(), Some("io2"));
    // At or below 32,000 IOPS both cost the same.
    assert!(find(&eval, "ebs-io1-to-io2", "vol-mid").is_none(), "20,000 IOPS: same price");
    assert!(find(&eval, "ebs-io1-to-io2", "vol-io2").is_none(), "already io2");
}

#[test]
fn ebs_low_use_fires_on_an_attached_volume_nobody_reads_or_writes() {
    let mut s = Snapshot::empty(now());
    let mut idle = volume("vol-idle", "gp3", 100, Some(3_000));
    idle.throughput = Some(125);
    s.inventory.volumes = vec![
        idle,
        volume("vol-used", "gp3", 100, Some(3_000)),
        volume("vol-burst", "gp3", 100, Some(3_000)),
        volume("vol-detached", "gp3", 100, Some(3_000)),
    ];
    s.inventory.volumes[3].state = VolumeState::Available;
    s.inventory.volumes[3].attachments.clear();
    s.utilization = vec![
        // 7,000 ops over 14 days: 500 a day, never more than 0.5 IOPS in an hour.
        volume_util("vol-idle", 14, 0.5, 7_000.0),
        volume_util("vol-used", 14, 3.0, 1_400_000.0),
        volume_util("vol-burst", 14, 40.0, 7_000.0),
        volume_util("vol-detached", 14, 0.0, 0.0),
    ];
    let eval = evaluate(&s);
    // gp3 100 GiB × 0.08 = 8.00 (3,000 IOPS and 125 MiB/s are included).
    let f = find(&eval, "ebs-low-use", "vol-idle").expect("idle attached volume");
    assert_eq!(f.estimated_monthly_savings, money("8.00"));
    assert_eq!(f.action, "snapshot-and-delete");
    assert!(f.evidence.contains("500 reads and writes a day"), "{}", f.evidence);
    assert!(find(&eval, "ebs-low-use", "vol-used").is_none(), "100,000 ops a day");
    assert!(find(&eval, "ebs-low-use", "vol-burst").is_none(), "a 40 IOPS burst");
    assert!(find(&eval, "ebs-low-use", "vol-detached").is_none(), "ebs-unattached's");
}

fn image(id: &str, age_days: i64, snapshots: &[(&str, u64)]) -> Image {
    Image {
        id: id.into(),
        name: Some(format!("{id}-name")),
        account_id: ACCOUNT.into(),
        region: "us-east-1".into(),
        state: "available".into(),
        creation_time: Some(now() - Duration::days(age_days)),
        last_launched_time: None,
        snapshots: snapshots
            .iter()
            .map(|(id, size_gib)| ImageSnapshot { snapshot_id: (*id).into(), size_gib: *size_gib })
            .collect(),
        tags: full_tags(),
    }
}

#[test]
fn ami_unused_fires_on_an_old_ami_nothing_launches() {
    let mut s = Snapshot::empty(now());
    s.inventory.images = vec![
        image("ami-old", 200, &[("snap-old-root", 30), ("snap-old-data", 100)]),
        image("ami-instance", 200, &[("snap-i", 50)]),
        image("ami-template", 200, &[("snap-t", 50)]),
        image("ami-young", 60, &[("snap-y", 50)]),
        image("ami-launched", 200, &[("snap-l", 50)]),
        image("ami-terminated", 200, &[("snap-x", 8)]),
    ];
    // Launched from 30 days ago by something costscope does not read (a launch configuration).
    s.inventory.images[4].last_launched_time = Some(now() - Duration::days(30));
    let mut user = instance("i-user", "t3.micro");
    user.state = InstanceState::Stopped;
    user.image_id = Some("ami-instance".into());
    let mut gone = instance("i-gone", "t3.micro");
    gone.state = InstanceState::Terminated;
    gone.image_id = Some("ami-terminated".into());
    s.inventory.instances = vec![user, gone];
    s.inventory.launch_templates = vec![LaunchTemplate {
        id: "lt-web".into(),
        name: Some("web".into()),
        account_id: ACCOUNT.into(),
        region: "us-east-1".into(),
        image_ids: vec!["ami-other".into(), "ami-template".into()],
        tags: full_tags(),
    }];
    // The unused AMI's root snapshot, 200 days old, its source volume long gone: the snapshot
    // rules must leave it to ami-unused (EC2 refuses to delete it before the AMI).
    s.inventory.snapshots = vec![EbsSnapshot {
        id: "snap-old-root".into(),
        account_id: ACCOUNT.into(),
        region: "us-east-1".into(),
        volume_id: Some("vol-deleted".into()),
        size_gib: 30,
        start_time: Some(now() - Duration::days(200)),
        description: None,
        tags: full_tags(),
    }];
    let eval = evaluate(&s);

    // (30 + 100) GiB × 0.05 a GB-month = 6.50.
    let f = find(&eval, "ami-unused", "ami-old").expect("old, unused AMI");
    assert_eq!(f.estimated_monthly_savings, money("6.50"));
    assert_eq!(f.current_monthly_cost, Some(money("6.50")));
    assert_eq!(f.action, "deregister-and-delete-snapshots");
    assert!(
        f.evidence.contains("snap-old-root (30 GiB), snap-old-data (100 GiB)"),
        "{}",
        f.evidence
    );
    assert!(f.evidence.contains("130 GiB in all"), "{}", f.evidence);
    // A terminated instance no longer needs its AMI: 8 × 0.05 = 0.40.
    let f =
        find(&eval, "ami-unused", "ami-terminated").expect("used only by a terminated instance");
    assert_eq!(f.estimated_monthly_savings, money("0.40"));

    for (id, why) in [
        ("ami-instance", "a stopped instance was launched from it"),
        ("ami-template", "a launch template version names it"),
        ("ami-young", "60 days old"),
        ("ami-launched", "launched from 30 days ago"),
    ] {
        assert!(find(&eval, "ami-unused", id).is_none(), "{why}");
    }
    for rule in ["snapshot-old", "snapshot-orphaned"] {
        assert!(find(&eval, rule, "snap-old-root").is_none(), "{rule}: the AMI holds it");
    }
}

/// An instance measured hourly for 14 days: CPU p95 and the idle hours of a week (hours under
/// 5 %), with network enough that ec2-idle does not take it unless asked.
fn cpu_util(id: &str, days: u32, p95: f64, idle_hours_per_week: Option<f64>) -> UtilizationSummary {
    UtilizationSummary {
        resource_id: id.into(),
        lookback_days: 14,
        days_covered: days,
        data_points: days * 24,
        cpu_avg_percent: Some(p95 / 2.0),
        cpu_p95_percent: Some(p95),
        cpu_max_percent: Some(p95 * 2.0),
        network_in_bytes_per_day: Some(50e6),
        network_out_bytes_per_day: Some(50e6),
        idle_hours_per_week,
        idle_cpu_below_percent: idle_hours_per_week.map(|_| 5.0),
        ..Default::default()
    }
}

fn tagged(id: &str, instance_type: &str, env: Option<&str>) -> Instance {
    let mut i = instance(id, instance_type);
    match env {
        Some(env) => i.tags.insert("env".into(), env.into()),
        None => i.tags.remove("env"),
    };
    i
}

#[test]
fn ec2_offhours_stops_idle_non_production_hours_on_a_schedule() {
    let mut s = Snapshot::empty(now());
    s.inventory.instances = vec![
        tagged("i-dev", "m5.xlarge", Some("dev")),
        tagged("i-stage", "t3.medium", Some("Staging")),
        tagged("i-prod", "m5.xlarge", Some("prod")),
        tagged("i-dev-busy", "m5.xlarge", Some("dev")),
        tagged("i-dev-idle", "m5.xlarge", Some("test")),
        tagged("i-dev-short", "m5.xlarge", Some("dev")),
        tagged("i-dev-unmeasured", "m5.xlarge", Some("dev")),
        tagged("i-untagged", "m5.xlarge", None),
        tagged("i-dev-stopped", "m5.xlarge", Some("dev")),
    ];
    s.inventory.instances[8].state = InstanceState::Stopped;
    // Idle all the time, and quiet on the network too: ec2-idle's.
    let mut all_idle = cpu_util("i-dev-idle", 14, 1.0, Some(168.0));
    all_idle.network_in_bytes_per_day = Some(1e6);
    all_idle.network_out_bytes_per_day = Some(1e6);
    s.utilization = vec![
        cpu_util("i-dev", 14, 35.0, Some(60.0)),
        cpu_util("i-stage", 14, 20.0, Some(40.0)),
        cpu_util("i-prod", 14, 35.0, Some(100.0)),
        cpu_util("i-dev-busy", 14, 35.0, Some(39.5)),
        all_idle,
        cpu_util("i-dev-short", 7, 35.0, Some(100.0)),
        // Measured before idle hours were counted (an older snapshot): not judged, no error.
        cpu_util("i-dev-unmeasured", 14, 35.0, None),
        cpu_util("i-untagged", 14, 35.0, Some(100.0)),
        cpu_util("i-dev-stopped", 14, 35.0, Some(100.0)),
    ];
    let eval = evaluate(&s);

    // m5.xlarge 0.192 an hour × 60 idle hours a week × 730/168 = 11.52 × 730 / 168
    // = 50.0571428… → 50.057143 (the evidence shows 50.06).
    let f = find(&eval, "ec2-offhours", "i-dev").expect("dev, 60 idle hours a week");
    assert_eq!(f.estimated_monthly_savings, money("50.057143"));
    assert_eq!((f.action.as_str(), f.confidence.as_str()), ("schedule-stop", "medium"));
    for part in
        ["env=dev", "under 5%", "60 h a week", "0.192 an hour (catalog)", "× 730/168 = 50.06"]
    {
        assert!(f.evidence.contains(part), "{part:?} in {}", f.evidence);
    }
    // t3.medium 0.0416 × 40 (exactly the minimum) × 730/168 = 1,214.72 / 168 = 7.2304761…
    // → 7.230476; "Staging" matches "staging" in lower case.
    let f = find(&eval, "ec2-offhours", "i-stage").expect("Staging, 40 idle hours a week");
    assert_eq!(f.estimated_monthly_savings, money("7.230476"));
    assert!(f.evidence.contains("0.0416 an hour"), "{}", f.evidence);

    for (id, why) in [
        ("i-prod", "production: its hours are needed"),
        ("i-dev-busy", "39.5 idle hours a week < 40"),
        ("i-dev-idle", "idle all the time: ec2-idle stops it for good"),
        ("i-dev-short", "7 days of data < 14"),
        ("i-dev-unmeasured", "idle hours not measured"),
        ("i-untagged", "no env tag: not known to be non-production"),
        ("i-dev-stopped", "already stopped"),
    ] {
        assert!(find(&eval, "ec2-offhours", id).is_none(), "{why}");
    }
    // The hours ec2-offhours leaves to ec2-idle are saved there, in full: 0.192 × 730 = 140.16.
    let f = find(&eval, "ec2-idle", "i-dev-idle").expect("ec2-idle takes the always-idle one");
    assert_eq!(f.estimated_monthly_savings, money("140.16"));
    assert_eq!(eval.insufficient_data.get("ec2-offhours"), Some(&1));
}

/// Idle hours are counted under 5 % at collection: a stricter threshold cannot use them and the
/// rule stays silent; a looser one takes them as a lower bound.
#[test]
fn ec2_offhours_needs_idle_hours_counted_under_its_threshold() {
    let mut s = Snapshot::empty(now());
    s.inventory.instances = vec![tagged("i-dev", "m5.xlarge", Some("dev"))];
    s.utilization = vec![cpu_util("i-dev", 14, 35.0, Some(60.0))];
    let run = |config: &str| {
        let parsed: toml::Table = toml::from_str(config).unwrap();
        let overrides: std::collections::BTreeMap<String, toml::Table> =
            parsed.into_iter().map(|(k, v)| (k, v.as_table().cloned().unwrap())).collect();
        let mut rules = RuleSet::builtin().unwrap();
        rules.apply_overrides(&overrides, std::path::Path::new("c.toml"), config).unwrap();
        let engine = Engine::new(rules, Arc::new(PriceCatalog::builtin().unwrap()));
        engine.evaluate(&s, &[])
    };
    let strict = run("[ec2-offhours]\nmax_cpu_percent = 2.0\n");
    assert!(strict.errors.is_empty(), "{:?}", strict.errors);
    assert!(find(&strict, "ec2-offhours", "i-dev").is_none());
    let loose = run("[ec2-offhours]\nmax_cpu_percent = 10.0\nmin_idle_hours_per_week = 60\n");
    assert!(find(&loose, "ec2-offhours", "i-dev").is_some());
    let other_tag = run("[ec2-offhours]\ntag_key = \"stage\"\n");
    assert!(find(&other_tag, "ec2-offhours", "i-dev").is_none());
}
