//! The default rule pack: for each rule, a resource where it must fire (with savings checked
//! against figures computed by hand from the catalog) and one where it must not.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common_rules;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common_rules::{evaluate, find, money};
use costscope::analysis::rules::{Engine, RuleSet};
use costscope::model::inventory::{
    EbsSnapshot, ElasticIp, Instance, InstanceState, NatGateway, Volume, VolumeAttachment,
    VolumeState,
};
use costscope::model::utilization::UtilizationSummary;
use costscope::model::{Money, Snapshot, Tags};
use costscope::pricing::catalog::PriceCatalog;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
}

fn full_tags() -> Tags {
    [("team", "web"), ("env", "prod"), ("cost-center", "cc-1")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn instance(id: &str, instance_type: &str, state: InstanceState) -> Instance {
    Instance {
        id: id.into(),
        account_id: "222222222222".into(),
        region: "us-east-1".into(),
        instance_type: instance_type.into(),
        state,
        launch_time: Some(now() - Duration::days(200)),
        state_transition_time: None,
        state_transition_reason: None,
        platform: None,
        tags: full_tags(),
        volume_ids: vec![],
        image_id: None,
    }
}

fn volume(id: &str, volume_type: &str, size: u64, state: VolumeState, age_days: i64) -> Volume {
    Volume {
        id: id.into(),
        account_id: "222222222222".into(),
        region: "us-east-1".into(),
        volume_type: volume_type.into(),
        size_gib: size,
        iops: None,
        throughput: None,
        state,
        attachments: vec![],
        create_time: Some(now() - Duration::days(age_days)),
        tags: full_tags(),
    }
}

fn util(id: &str, days: u32, p95: f64, net_mb_per_day: f64) -> UtilizationSummary {
    UtilizationSummary {
        resource_id: id.into(),
        lookback_days: 14,
        days_covered: days,
        data_points: days * 24,
        cpu_avg_percent: Some(p95 / 2.0),
        cpu_p95_percent: Some(p95),
        cpu_max_percent: Some(p95 * 1.5),
        network_in_bytes_per_day: Some(net_mb_per_day * 1e6 / 2.0),
        network_out_bytes_per_day: Some(net_mb_per_day * 1e6 / 2.0),
        ..Default::default()
    }
}

fn snapshot() -> Snapshot {
    Snapshot::empty(now())
}

#[test]
fn ec2_idle_fires_on_an_idle_instance_and_not_on_a_busy_one() {
    let mut s = snapshot();
    s.inventory.instances.push(instance("i-idle", "m5.large", InstanceState::Running));
    s.inventory.instances.push(instance("i-busy", "m5.large", InstanceState::Running));
    s.inventory.instances.push(instance("i-chatty", "m5.large", InstanceState::Running));
    s.utilization.push(util("i-idle", 14, 2.0, 1.0));
    s.utilization.push(util("i-busy", 14, 55.0, 1.0));
    s.utilization.push(util("i-chatty", 14, 2.0, 500.0));
    let eval = evaluate(&s);
    let f = find(&eval, "ec2-idle", "i-idle").expect("idle instance must be found");
    // m5.large $0.096/h × 730 h
    assert_eq!(f.estimated_monthly_savings, money("70.08"));
    assert_eq!(f.current_monthly_cost, Some(money("70.08")));
    assert_eq!(f.action, "stop");
    assert!(f.evidence.contains("CPU p95 2%"), "{}", f.evidence);
    assert!(f.evidence.contains("price catalog"), "{}", f.evidence);
    assert!(find(&eval, "ec2-idle", "i-busy").is_none());
    assert!(find(&eval, "ec2-idle", "i-chatty").is_none(), "network traffic means not idle");
}

#[test]
fn utilization_rules_skip_and_count_resources_with_too_little_data() {
    let mut s = snapshot();
    s.inventory.instances.push(instance("i-new", "m5.xlarge", InstanceState::Running));
    s.inventory.instances.push(instance("i-nodata", "m5.xlarge", InstanceState::Running));
    s.utilization.push(util("i-new", 5, 1.0, 0.0));
    let eval = evaluate(&s);
    assert!(find(&eval, "ec2-idle", "i-new").is_none());
    assert!(find(&eval, "ec2-rightsize", "i-new").is_none());
    assert_eq!(eval.insufficient_data.get("ec2-idle"), Some(&2));
    assert_eq!(eval.insufficient_resources, 2);
}

#[test]
fn ec2_rightsize_moves_one_size_down_and_says_memory_was_not_measured() {
    let mut s = snapshot();
    s.inventory.instances.push(instance("i-big", "m5.xlarge", InstanceState::Running));
    s.inventory.instances.push(instance("i-hot", "m5.xlarge", InstanceState::Running));
    s.inventory.instances.push(instance("i-smallest", "m5.large", InstanceState::Running));
    s.utilization.push(util("i-big", 14, 20.0, 100.0));
    s.utilization.push(util("i-hot", 14, 60.0, 100.0));
    s.utilization.push(util("i-smallest", 14, 20.0, 100.0));
    let eval = evaluate(&s);
    let f = find(&eval, "ec2-rightsize", "i-big").expect("rightsize");
    assert_eq!(f.target.as_deref(), Some("m5.large"));
    // (0.192 − 0.096) × 730
    assert_eq!(f.estimated_monthly_savings, money("70.08"));
    assert!(f.evidence.contains("memory not measured"), "{}", f.evidence);
    assert!(find(&eval, "ec2-rightsize", "i-hot").is_none());
    assert!(find(&eval, "ec2-rightsize", "i-smallest").is_none(), "m5 has no size below large");
}

#[test]
fn ec2_rightsize_stands_down_for_an_idle_instance() {
    let mut s = snapshot();
    s.inventory.instances.push(instance("i-idle", "m5.xlarge", InstanceState::Running));
    s.utilization.push(util("i-idle", 14, 1.0, 0.5));
    let eval = evaluate(&s);
    assert!(find(&eval, "ec2-idle", "i-idle").is_some());
    assert!(find(&eval, "ec2-rightsize", "i-idle").is_none());
}

#[test]
fn ec2_previous_generation_moves_to_the_cheaper_successor() {
    let mut s = snapshot();
    s.inventory.instances.push(instance("i-old", "m4.large", InstanceState::Running));
    s.inventory.instances.push(instance("i-t2", "t2.micro", InstanceState::Running));
    s.inventory.instances.push(instance("i-new", "m5.large", InstanceState::Running));
    let eval = evaluate(&s);
    let f = find(&eval, "ec2-previous-generation", "i-old").expect("m4 → m5");
    assert_eq!(f.target.as_deref(), Some("m5.large"));
    // (0.10 − 0.096) × 730
    assert_eq!(f.estimated_monthly_savings, money("2.92"));
    let t = find(&eval, "ec2-previous-generation", "i-t2").expect("t2 → t3");
    // (0.0116 − 0.0104) × 730
    assert_eq!(t.estimated_monthly_savings, money("0.876"));
    assert!(find(&eval, "ec2-previous-generation", "i-new").is_none());
}

#[test]
fn ec2_stopped_long_saves_its_attached_volumes() {
    let mut s = snapshot();
    let mut old = instance("i-stopped", "m5.large", InstanceState::Stopped);
    old.state_transition_time = Some(now() - Duration::days(45));
    old.state_transition_reason = Some("User initiated (2026-09-17 00:00:00 GMT)".into());
    old.volume_ids = vec!["vol-root".into()];
    let mut recent = instance("i-paused", "m5.large", InstanceState::Stopped);
    recent.state_transition_time = Some(now() - Duration::days(10));
    s.inventory.instances.extend([old, recent]);
    let mut root = volume("vol-root", "gp2", 100, VolumeState::InUse, 200);
    root.attachments = vec![VolumeAttachment { instance_id: "i-stopped".into(), device: None }];
    s.inventory.volumes.push(root);
    let eval = evaluate(&s);
    let f = find(&eval, "ec2-stopped-long", "i-stopped").expect("stopped 45 days");
    // 100 GiB gp2 × $0.10
    assert_eq!(f.estimated_monthly_savings, money("10"));
    assert!(f.evidence.contains("stopped for 45 days"), "{}", f.evidence);
    assert!(find(&eval, "ec2-stopped-long", "i-paused").is_none());
}

#[test]
fn ebs_unattached_prices_storage_and_provisioned_iops() {
    let mut s = snapshot();
    s.inventory.volumes.push(volume("vol-gp3", "gp3", 100, VolumeState::Available, 30));
    let mut io1 = volume("vol-io1", "io1", 100, VolumeState::Available, 30);
    io1.iops = Some(1000);
    s.inventory.volumes.push(io1);
    s.inventory.volumes.push(volume("vol-fresh", "gp3", 100, VolumeState::Available, 2));
    s.inventory.volumes.push(volume("vol-used", "gp3", 100, VolumeState::InUse, 30));
    let eval = evaluate(&s);
    assert_eq!(
        find(&eval, "ebs-unattached", "vol-gp3").unwrap().estimated_monthly_savings,
        money("8")
    );
    // 100 × 0.125 + 1000 × 0.065
    assert_eq!(
        find(&eval, "ebs-unattached", "vol-io1").unwrap().estimated_monthly_savings,
        money("77.5")
    );
    assert!(find(&eval, "ebs-unattached", "vol-fresh").is_none());
    assert!(find(&eval, "ebs-unattached", "vol-used").is_none());
}

#[test]
fn ebs_gp2_to_gp3_matches_hand_computed_figures() {
    let mut s = snapshot();
    for (id, size) in [("vol-100", 100), ("vol-1000", 1000), ("vol-2000", 2000)] {
        s.inventory.volumes.push(volume(id, "gp2", size, VolumeState::InUse, 30));
    }
    s.inventory.volumes.push(volume("vol-gp3", "gp3", 100, VolumeState::InUse, 30));
    let eval = evaluate(&s);
    let savings = |id| find(&eval, "ebs-gp2-to-gp3", id).unwrap().estimated_monthly_savings;
    // 100 GiB: gp2 $10 − gp3 $8 (3,000 IOPS and 125 MiB/s included)
    assert_eq!(savings("vol-100"), money("2"));
    // 1000 GiB: gp2 $100 − (gp3 $80 + 125 MiB/s above the included 125 × $0.04 = $5)
    assert_eq!(savings("vol-1000"), money("15"));
    // 2000 GiB: gp2 $200 − ($160 + 3,000 IOPS above 3,000 × $0.005 = $15 + $5)
    assert_eq!(savings("vol-2000"), money("20"));
    assert!(find(&eval, "ebs-gp2-to-gp3", "vol-gp3").is_none());
}

#[test]
fn eip_unassociated_saves_a_public_ipv4_address() {
    let mut s = snapshot();
    let eip = |id: &str, assoc: Option<&str>| ElasticIp {
        allocation_id: id.into(),
        public_ip: "203.0.113.10".into(),
        account_id: "222222222222".into(),
        region: "us-east-1".into(),
        association_id: assoc.map(String::from),
        instance_id: None,
        tags: full_tags(),
    };
    s.inventory.addresses.push(eip("eipalloc-free", None));
    s.inventory.addresses.push(eip("eipalloc-used", Some("eipassoc-1")));
    let eval = evaluate(&s);
    // $0.005/h × 730
    assert_eq!(
        find(&eval, "eip-unassociated", "eipalloc-free").unwrap().estimated_monthly_savings,
        money("3.65")
    );
    assert!(find(&eval, "eip-unassociated", "eipalloc-used").is_none());
}

#[test]
fn snapshot_rules_old_and_orphaned() {
    let mut s = snapshot();
    let snap = |id: &str, volume: &str, age: i64| EbsSnapshot {
        id: id.into(),
        account_id: "222222222222".into(),
        region: "us-east-1".into(),
        volume_id: Some(volume.into()),
        size_gib: 100,
        start_time: Some(now() - Duration::days(age)),
        description: None,
        tags: full_tags(),
    };
    s.inventory.volumes.push(volume("vol-live", "gp3", 100, VolumeState::InUse, 300));
    s.inventory.snapshots.push(snap("snap-old", "vol-live", 120));
    s.inventory.snapshots.push(snap("snap-recent", "vol-live", 30));
    s.inventory.snapshots.push(snap("snap-orphan", "vol-gone", 30));
    let eval = evaluate(&s);
    let old = find(&eval, "snapshot-old", "snap-old").unwrap();
    assert_eq!(old.estimated_monthly_savings, money("5"));
    assert_eq!(old.confidence.as_str(), "low");
    assert!(find(&eval, "snapshot-old", "snap-recent").is_none());
    let orphan = find(&eval, "snapshot-orphaned", "snap-orphan").unwrap();
    assert_eq!(orphan.confidence.as_str(), "medium");
    assert_eq!(orphan.estimated_monthly_savings, money("5"));
    assert!(find(&eval, "snapshot-orphaned", "snap-old").is_none());
}

#[test]
fn nat_gateway_idle_saves_its_hourly_charge() {
    let mut s = snapshot();
    let nat = |id: &str| NatGateway {
        id: id.into(),
        account_id: "222222222222".into(),
        region: "us-east-1".into(),
        state: "available".into(),
        create_time: Some(now() - Duration::days(100)),
        vpc_id: None,
        subnet_id: None,
        tags: full_tags(),
    };
    s.inventory.nat_gateways.extend([nat("nat-idle"), nat("nat-busy")]);
    let traffic = |id: &str, bytes: f64| UtilizationSummary {
        resource_id: id.into(),
        lookback_days: 14,
        days_covered: 14,
        data_points: 336,
        bytes_processed: Some(bytes),
        ..Default::default()
    };
    s.utilization.push(traffic("nat-idle", 0.5e9));
    s.utilization.push(traffic("nat-busy", 500e9));
    let eval = evaluate(&s);
    // $0.045/h × 730
    assert_eq!(
        find(&eval, "nat-gateway-idle", "nat-idle").unwrap().estimated_monthly_savings,
        money("32.85")
    );
    assert!(find(&eval, "nat-gateway-idle", "nat-busy").is_none());
}

#[test]
fn untagged_reports_missing_keys_with_zero_savings() {
    let mut s = snapshot();
    let mut bare = instance("i-bare", "m5.large", InstanceState::Running);
    bare.tags.remove("team");
    bare.tags.insert("env".into(), " ".into());
    s.inventory.instances.push(bare);
    s.inventory.instances.push(instance("i-tagged", "m5.large", InstanceState::Running));
    let eval = evaluate(&s);
    let f = find(&eval, "untagged", "i-bare").unwrap();
    assert_eq!(f.estimated_monthly_savings, Money::ZERO);
    assert_eq!(f.current_monthly_cost, Some(money("70.08")));
    assert!(f.evidence.contains("missing tags: team, env"), "{}", f.evidence);
    assert!(find(&eval, "untagged", "i-tagged").is_none());
}

#[test]
fn several_findings_on_one_resource_count_once_in_totals() {
    let mut s = snapshot();
    s.inventory.instances.push(instance("i-old-idle", "m4.large", InstanceState::Running));
    s.utilization.push(util("i-old-idle", 14, 1.0, 0.1));
    let eval = evaluate(&s);
    let idle = find(&eval, "ec2-idle", "i-old-idle").unwrap();
    let modern = find(&eval, "ec2-previous-generation", "i-old-idle").unwrap();
    assert!(!idle.alternative);
    assert!(modern.alternative, "the smaller saving is the alternative");
    assert_eq!(eval.findings[0].rule_id, "ec2-idle", "sorted by savings");
}

#[test]
fn an_unknown_region_is_no_price_never_zero() {
    let mut s = snapshot();
    let mut far = instance("i-far", "m4.large", InstanceState::Running);
    far.region = "ap-south-9".into();
    s.inventory.instances.push(far);
    let mut v = volume("vol-far", "gp3", 50, VolumeState::Available, 30);
    v.region = "ap-south-9".into();
    s.inventory.volumes.push(v);
    let eval = evaluate(&s);
    let f = find(&eval, "ebs-unattached", "vol-far").expect("still reported");
    assert_eq!(f.current_monthly_cost, None);
    assert!(f.evidence.contains("no price"), "{}", f.evidence);
    assert!(f.evidence.contains("savings not computed"), "{}", f.evidence);
}

#[test]
fn user_rules_replace_builtins_and_config_overrides_change_findings() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ec2-idle.toml"),
        r#"
id = "ec2-idle"
title = "Idle EC2 instance (strict)"
resource = "ec2_instance"
action = "terminate"
confidence = "low"
needs_utilization = true
condition = "u.cpu_p95 <= p.max_cpu_p95_percent"
savings = "r.monthly_cost"
evidence = "p95 {u.cpu_p95}"

[params]
min_days = 14
max_cpu_p95_percent = 0.5
"#,
    )
    .unwrap();
    let mut rules = RuleSet::builtin().unwrap();
    rules.extend(RuleSet::load_dir(dir.path()).unwrap());
    assert_eq!(rules.get("ec2-idle").unwrap().action, "terminate");

    let mut s = snapshot();
    s.inventory.instances.push(instance("i-quiet", "m5.large", InstanceState::Running));
    s.utilization.push(util("i-quiet", 14, 0.4, 0.0));
    let catalog = Arc::new(PriceCatalog::builtin().unwrap());
    let eval = Engine::new(rules, catalog.clone()).evaluate(&s, &[]);
    assert_eq!(find(&eval, "ec2-idle", "i-quiet").unwrap().action, "terminate");

    // Config override: with a stricter threshold the same instance is no longer idle.
    let mut rules = RuleSet::builtin().unwrap();
    let config = "[rules.ec2-idle]\nmax_cpu_p95_percent = 0.1\n";
    let parsed =
        costscope::config::Config::parse(config, std::path::Path::new("costscope.toml")).unwrap();
    rules
        .apply_overrides(&parsed.rule_overrides, std::path::Path::new("costscope.toml"), config)
        .unwrap();
    let eval = Engine::new(rules, catalog).evaluate(&s, &[]);
    assert!(find(&eval, "ec2-idle", "i-quiet").is_none());
}

#[test]
fn config_override_of_an_unknown_parameter_names_file_and_line() {
    let mut rules = RuleSet::builtin().unwrap();
    let config = "[tags]\nrequired = [\"team\"]\n\n[rules.ec2-idle]\nmax_cpu = 3.0\n";
    let parsed =
        costscope::config::Config::parse(config, std::path::Path::new("costscope.toml")).unwrap();
    let err = rules
        .apply_overrides(&parsed.rule_overrides, std::path::Path::new("costscope.toml"), config)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("costscope.toml:5: rules.ec2-idle.max_cpu:"), "{err}");
}

#[test]
fn rule_files_with_errors_name_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "id = \"bad\"\ntitle = \"t\"\nresource = \"ec2_instance\"\naction = \"stop\"\nconfidence = \"high\"\ncondition = \"r.state ==\"\nsavings = \"0.0\"\nevidence = \"x\"\n",
    )
    .unwrap();
    let errors = RuleSet::load_dir(dir.path()).unwrap_err();
    let text = errors[0].to_string();
    assert!(text.contains("bad.toml:6: condition: invalid CEL expression"), "{text}");
}

#[test]
fn confidence_expr_sets_confidence_per_finding_and_falls_back_on_a_bad_value() {
    let text = r#"
id = "confidence-by-size"
title = "t"
resource = "ebs_volume"
action = "a"
confidence = "low"
confidence_expr = 'r.size_gib > 100.0 ? "high" : "certain"'
condition = "true"
savings = "1.0"
evidence = "e"
"#;
    let rule =
        costscope::analysis::rules::Rule::parse(text, std::path::Path::new("c.toml")).unwrap();
    let engine =
        Engine::new(RuleSet { rules: vec![rule] }, Arc::new(PriceCatalog::builtin().unwrap()));
    let mut s = snapshot();
    s.inventory.volumes = vec![
        volume("vol-big", "gp3", 500, VolumeState::Available, 10),
        volume("vol-small", "gp3", 50, VolumeState::Available, 10),
    ];
    let eval = engine.evaluate(&s, &[]);
    let confidence =
        |id: &str| find(&eval, "confidence-by-size", id).unwrap().confidence.to_string();
    assert_eq!(confidence("vol-big"), "high");
    // "certain" is no confidence: the rule's own, and an evaluation error naming the field.
    assert_eq!(confidence("vol-small"), "low");
    let [e] = eval.errors.as_slice() else { panic!("{:?}", eval.errors) };
    assert_eq!((e.field, e.resource_id.as_deref()), ("confidence_expr", Some("vol-small")));
    assert!(e.message.contains("\"certain\" is not a confidence"), "{}", e.message);

    let broken = text.replace("r.size_gib > 100.0 ?", "r.size_gib >> ?");
    let e = costscope::analysis::rules::Rule::parse(&broken, std::path::Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("c.toml:7: confidence_expr: invalid CEL expression"), "{e}");
}
