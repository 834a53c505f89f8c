//! The Kubernetes volume and load-balancer rules of the default pack: resources where each must
//! fire (savings computed by hand from rules/prices/aws.toml and rules/prices/kubernetes.toml)
//! and near misses where it must not.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use costscope::analysis::rules::{Engine, Evaluation, Finding, RuleSet};
use costscope::model::cluster::storage::{ClaimPhase, ClaimRef, VolumePhase};
use costscope::model::cluster::{
    Cluster, LoadBalancerService, Node, PersistentVolume, Resources, StorageClass, VolumeClaim,
};
use costscope::model::{Money, Snapshot};
use costscope::pricing::catalog::PriceCatalog;

const GIB: u64 = 1 << 30;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
}

fn money(s: &str) -> Money {
    s.parse().unwrap()
}

fn evaluate(snapshot: &Snapshot) -> Evaluation {
    let engine =
        Engine::new(RuleSet::builtin().unwrap(), Arc::new(PriceCatalog::builtin().unwrap()));
    let eval = engine.evaluate(snapshot, &[]);
    assert!(eval.errors.is_empty(), "evaluation errors: {:?}", eval.errors);
    eval
}

fn find<'a>(eval: &'a Evaluation, rule: &str, id: &str) -> Option<&'a Finding> {
    eval.findings.iter().find(|f| f.rule_id == rule && f.resource_id == id)
}

/// A cluster whose one node says which cloud and region it runs in.
fn cluster(name: &str, provider_id: &str, region: &str) -> Cluster {
    Cluster {
        name: name.into(),
        nodes: vec![Node {
            name: "n1".into(),
            provider_id: Some(provider_id.into()),
            region: Some(region.into()),
            allocatable: Resources { cpu_millicores: 2000, memory_bytes: 8 * GIB },
            capacity: Resources { cpu_millicores: 2000, memory_bytes: 8 * GIB },
            requested: Resources { cpu_millicores: 1800, memory_bytes: 7 * GIB },
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn class(name: &str, provisioner: &str, ty: Option<&str>) -> StorageClass {
    StorageClass {
        name: name.into(),
        provisioner: provisioner.into(),
        parameters: ty.map(|t| [("type".to_string(), t.to_string())].into()).unwrap_or_default(),
        default: false,
    }
}

fn pv(name: &str, gib: u64, class: &str, phase: VolumePhase, handle: &str) -> PersistentVolume {
    PersistentVolume {
        name: name.into(),
        capacity_bytes: gib * GIB,
        storage_class: Some(class.into()),
        phase,
        volume_handle: Some(handle.into()),
        created: Some(now() - Duration::days(90)),
        ..Default::default()
    }
}

fn claim(ns: &str, name: &str, volume: &str, gib: u64, mounted_by: &[&str]) -> VolumeClaim {
    VolumeClaim {
        namespace: ns.into(),
        name: name.into(),
        storage_class: Some("gp3".into()),
        phase: ClaimPhase::Bound,
        volume_name: Some(volume.into()),
        requested_bytes: gib * GIB,
        capacity_bytes: Some(gib * GIB),
        mounted_by: mounted_by.iter().map(|s| s.to_string()).collect(),
        created: Some(now() - Duration::days(60)),
    }
}

fn lb(ns: &str, name: &str, nlb: bool, ready: Option<u32>, age_days: i64) -> LoadBalancerService {
    let mut s = LoadBalancerService {
        namespace: ns.into(),
        name: name.into(),
        ingress: vec![format!("{name}.elb.amazonaws.com")],
        has_selector: true,
        ready_endpoints: ready,
        created: Some(now() - Duration::days(age_days)),
        ..Default::default()
    };
    if nlb {
        s.annotations
            .insert("service.beta.kubernetes.io/aws-load-balancer-type".into(), "nlb".into());
    }
    s
}

fn snapshot() -> Snapshot {
    let mut s = Snapshot::empty(now());
    let mut eks = cluster("eks", "aws:///us-east-1a/i-0aaaaaaaaaaaaaaaa", "us-east-1");
    eks.storage_classes = vec![
        class("gp3", "ebs.csi.aws.com", None),
        class("io1", "ebs.csi.aws.com", Some("io1")),
        class("gp2", "kubernetes.io/aws-ebs", None),
    ];
    eks.volumes = vec![
        pv("pv-released", 200, "gp3", VolumePhase::Released, "vol-0released"),
        pv("pv-available", 30, "gp2", VolumePhase::Available, "aws://us-east-1a/vol-0available"),
        pv("pv-bound", 100, "gp3", VolumePhase::Bound, "vol-0bound"),
        pv("pv-unmounted", 40, "io1", VolumePhase::Bound, "vol-0unmounted"),
        pv("pv-fresh", 10, "gp3", VolumePhase::Bound, "vol-0fresh"),
    ];
    eks.volumes[0].claim = Some(ClaimRef { namespace: "db".into(), name: "old".into() });
    let mut unmounted = claim("db", "data-1", "pv-unmounted", 40, &[]);
    unmounted.storage_class = Some("io1".into());
    let mut fresh = claim("web", "new", "pv-fresh", 10, &[]);
    fresh.created = Some(now() - Duration::days(2));
    eks.claims = vec![claim("db", "data-0", "pv-bound", 100, &["db-0"]), unmounted, fresh];
    eks.load_balancers = vec![
        lb("shop", "empty-nlb", true, Some(0), 30),
        lb("shop", "empty-clb", false, Some(0), 30),
        lb("shop", "busy", true, Some(3), 30),
        lb("shop", "new", true, Some(0), 3),
        lb("shop", "unknown", true, None, 30),
    ];
    let mut gke = cluster("gke", "gce://project/us-central1-a/gke-node-1", "us-central1");
    gke.storage_classes = vec![class("standard-rwo", "pd.csi.storage.gke.io", Some("pd-balanced"))];
    gke.volumes =
        vec![pv("pv-gke", 50, "standard-rwo", VolumePhase::Released, "projects/p/disks/d")];
    gke.load_balancers = vec![lb("web", "ingress", false, Some(0), 30)];
    let mut aks = cluster("aks", "azure:///subscriptions/s/vm-1", "eastus");
    aks.storage_classes = vec![class("managed-csi", "disk.csi.azure.com", None)];
    aks.volumes = vec![pv("pv-aks", 64, "managed-csi", VolumePhase::Released, "/subs/disk")];
    s.clusters = vec![eks, gke, aks];
    s
}

#[test]
fn k8s_volume_unclaimed_fires_on_released_available_and_unmounted_volumes() {
    let eval = evaluate(&snapshot());
    let rule = "k8s-volume-unclaimed";
    // Released, by its EBS id: 200 GiB gp3 × 0.08 (aws.toml us-east-1) = 16.00.
    let f = find(&eval, rule, "vol-0released").unwrap();
    assert_eq!(f.estimated_monthly_savings, money("16"));
    assert_eq!(f.resource_type, "k8s_volume");
    assert!(f.evidence.contains("volume pv-released is Released, released by claim db/old"));
    // Available, in-tree gp2 (the plugin's default type): 30 GiB × 0.10 = 3.00.
    let f = find(&eval, rule, "vol-0available").unwrap();
    assert_eq!(f.estimated_monthly_savings, money("3"));
    assert!(f.evidence.contains("never claimed"), "{}", f.evidence);
    // A bound claim no pod mounts, io1 by the class's type: 40 GiB × 0.125 = 5.00 (storage only).
    let f = find(&eval, rule, "vol-0unmounted").unwrap();
    assert_eq!(f.estimated_monthly_savings, money("5"));
    assert!(f.evidence.contains("claim db/data-1 is bound to pv-unmounted but no pod mounts it"));
    // GKE: 50 GiB pd-balanced × 0.10 (kubernetes.toml us-central1) = 5.00.
    let f = find(&eval, rule, "gke/pv/pv-gke").unwrap();
    assert_eq!(f.estimated_monthly_savings, money("5"));
    // AKS: fires, but Azure disks are priced per tier: savings not computed, and it says why.
    let f = find(&eval, rule, "aks/pv/pv-aks").unwrap();
    assert_eq!(f.estimated_monthly_savings, Money::ZERO);
    assert!(f.evidence.contains("per size tier"), "{}", f.evidence);
}

#[test]
fn k8s_volume_unclaimed_misses_mounted_bound_and_fresh_claims() {
    let eval = evaluate(&snapshot());
    let rule = "k8s-volume-unclaimed";
    // db/data-0 is mounted by db-0; its bound PV is judged through the claim, never twice.
    assert!(find(&eval, rule, "vol-0bound").is_none());
    assert_eq!(eval.findings.iter().filter(|f| f.resource_id == "vol-0bound").count(), 0);
    // web/new is 2 days old (min_age_days 7): its first pod may be on its way.
    assert!(find(&eval, rule, "vol-0fresh").is_none());
}

#[test]
fn k8s_loadbalancer_unused_fires_on_load_balancers_with_no_ready_endpoint() {
    let eval = evaluate(&snapshot());
    let rule = "k8s-loadbalancer-unused";
    // NLB by annotation: 0.0225 × 730 = 16.425.
    let f = find(&eval, rule, "eks/shop/service/empty-nlb").unwrap();
    assert_eq!(f.estimated_monthly_savings, money("16.425"));
    assert!(f.evidence.contains("keeps a nlb load balancer"), "{}", f.evidence);
    // No annotation on AWS: the in-tree Classic Load Balancer, 0.025 × 730 = 18.25.
    let f = find(&eval, rule, "eks/shop/service/empty-clb").unwrap();
    assert_eq!(f.estimated_monthly_savings, money("18.25"));
    // GKE: a forwarding rule, 0.025 × 730 = 18.25.
    let f = find(&eval, rule, "gke/web/service/ingress").unwrap();
    assert_eq!(f.estimated_monthly_savings, money("18.25"));
}

#[test]
fn k8s_loadbalancer_unused_misses_busy_new_and_unknown_endpoints() {
    let eval = evaluate(&snapshot());
    let rule = "k8s-loadbalancer-unused";
    for name in ["busy", "new", "unknown"] {
        let id = format!("eks/shop/service/{name}");
        assert!(find(&eval, rule, &id).is_none(), "{id} fired");
    }
}

/// A one-container Deployment using 300m CPU and 200Mi per replica, requesting `cpu_request`.
fn web(name: &str, cpu_request: u64) -> costscope::model::cluster::Workload {
    use costscope::model::cluster::{ContainerResources, UsageSource, Workload};
    Workload {
        namespace: "web".into(),
        kind: "Deployment".into(),
        name: name.into(),
        replicas: 4,
        containers: vec![ContainerResources {
            name: "app".into(),
            requests: Resources { cpu_millicores: cpu_request, memory_bytes: 256 << 20 },
            limits: None,
            usage: Some(Resources { cpu_millicores: 300, memory_bytes: 200 << 20 }),
            usage_source: Some(UsageSource::MetricsServer { samples: 4 }),
        }],
        network: None,
    }
}

fn hpa(target: &str, cpu_percent: u32) -> costscope::model::cluster::Autoscaler {
    costscope::model::cluster::Autoscaler {
        namespace: "web".into(),
        name: target.into(),
        target_kind: "Deployment".into(),
        target_name: target.into(),
        min_replicas: 2,
        max_replicas: 10,
        cpu_target_percent: Some(cpu_percent),
        memory_target_percent: None,
    }
}

#[test]
fn k8s_workload_overrequested_sizes_autoscaled_workloads_at_the_hpa_target() {
    let mut s = snapshot();
    let eks = &mut s.clusters[0];
    eks.nodes[0].instance_type = Some("m5.large".into());
    // 1000m requested, 300m used. Without an HPA the target is the usage, 300m; with an HPA at
    // 70 % it is 300 / 0.70 = 428.57 → 428m, so the pods keep running at the HPA's target.
    eks.workloads = vec![web("api", 1000), web("api-plain", 1000), web("front", 450)];
    eks.autoscalers = vec![hpa("api", 70), hpa("front", 70)];
    let eval = evaluate(&s);
    let rule = "k8s-workload-overrequested";
    let f = find(&eval, rule, "eks/web/Deployment/api/app").unwrap();
    assert_eq!(f.target.as_deref(), Some("cpu 428m, memory 230Mi"));
    assert!(f.evidence.contains("HPA api holds the pods at 70 % CPU of requests (2–10 replicas), so the CPU target is usage ÷ 0.7"), "{}", f.evidence);
    let plain = find(&eval, rule, "eks/web/Deployment/api-plain/app").unwrap();
    assert_eq!(plain.target.as_deref(), Some("cpu 300m, memory 230Mi"));
    assert!(!plain.evidence.contains("HPA"));
    // Same money per core: the HPA's target frees (1000 − 428.57) of the plain (1000 − 300).
    let ratio = f.estimated_monthly_savings.to_f64() / plain.estimated_monthly_savings.to_f64();
    assert!((ratio - (1000.0 - 300.0 / 0.7) / 700.0).abs() < 1e-3, "{ratio}");
    // Near miss: 450m requested is within 25 % of 428.57m: not over-requested for its HPA
    // (without one, 450m against 300m used would fire).
    assert!(find(&eval, rule, "eks/web/Deployment/front/app").is_none());
}

// --- k8s-workload-abandoned ---------------------------------------------------------------

/// Quiet traffic over `days`: the busiest pod's busiest 5 minutes, received and sent.
fn network(rx: f64, tx: f64, days: f64) -> Option<costscope::model::cluster::WorkloadNetwork> {
    Some(costscope::model::cluster::WorkloadNetwork {
        rx_max_bytes_per_second: rx,
        tx_max_bytes_per_second: tx,
        days,
        points: (days * 288.0) as u64 * 2,
    })
}

/// Two replicas of an app (250m, 512Mi) and a sidecar (50m, 64Mi): 300m and 576Mi a replica.
fn legacy(kind: &str, name: &str) -> costscope::model::cluster::Workload {
    use costscope::model::cluster::{ContainerResources, Workload};
    let c = |name: &str, cpu, mib: u64| ContainerResources {
        name: name.into(),
        requests: Resources { cpu_millicores: cpu, memory_bytes: mib << 20 },
        ..Default::default()
    };
    Workload {
        namespace: "legacy".into(),
        kind: kind.into(),
        name: name.into(),
        replicas: 2,
        containers: vec![c("app", 250, 512), c("sidecar", 50, 64)],
        network: network(120.0, 300.0, 14.0),
    }
}

/// The EKS cluster on one m5.large (0.096 × 730 = 70.08 a month): 45.620768 of it is CPU
/// (OpenCost's ratio, 2 × 0.031611 / 0.097118), so a core costs 22.810384 and a GiB
/// (70.08 − 45.620768) / 8 = 3.057404 a month.
fn quiet_cluster() -> Snapshot {
    let mut s = snapshot();
    let eks = &mut s.clusters[0];
    eks.nodes[0].instance_type = Some("m5.large".into());
    let mut busy_tx = legacy("Deployment", "busy-tx");
    busy_tx.network = network(120.0, 520.0, 14.0);
    let mut short = legacy("Deployment", "six-days");
    short.network = network(10.0, 10.0, 6.0);
    let mut unmeasured = legacy("Deployment", "unmeasured");
    unmeasured.network = None;
    let mut idle_api = web("idle-api", 1000);
    idle_api.network = network(0.0, 0.0, 14.0);
    eks.workloads = vec![
        legacy("Deployment", "reports-v1"),
        legacy("StatefulSet", "old-queue"),
        legacy("DaemonSet", "agent"),
        busy_tx,
        short,
        unmeasured,
        idle_api,
    ];
    eks.autoscalers = vec![hpa("idle-api", 70)];
    s
}

#[test]
fn k8s_workload_abandoned_fires_on_quiet_deployments_and_statefulsets() {
    let eval = evaluate(&quiet_cluster());
    let rule = "k8s-workload-abandoned";
    // 2 replicas × (0.3 core × 22.810384 + 0.5625 GiB × 3.057404)
    //   = 13.6862304 + 3.4395795 = 17.1258099 → 17.12581 (6 decimals, as every estimate).
    for id in ["eks/legacy/Deployment/reports-v1", "eks/legacy/StatefulSet/old-queue"] {
        let f = find(&eval, rule, id).unwrap_or_else(|| panic!("{id} did not fire"));
        assert_eq!(f.estimated_monthly_savings, money("17.12581"), "{id}");
        assert_eq!(f.current_monthly_cost, Some(money("17.12581")));
        assert_eq!(f.resource_type, "k8s_workload");
        assert_eq!(f.target.as_deref(), Some("0 replicas"));
        assert!(!f.alternative);
    }
    let f = find(&eval, rule, "eks/legacy/Deployment/reports-v1").unwrap();
    assert!(
        f.evidence.contains(
            "legacy/Deployment/reports-v1 in eks: its busiest pod received at most 120 B/s and \
             sent at most 300 B/s (busiest 5 minutes over 14 days from Prometheus, 8064 points; \
             threshold 500 B/s); 2 replica(s) request 300m CPU and 576Mi each"
        ),
        "{}",
        f.evidence
    );
    // 4 replicas × (1 core × 22.810384 + 0.25 GiB × 3.057404) = 4 × 23.574735 = 94.29894. Its
    // container's k8s-workload-overrequested finding frees part of the same requests: it stays
    // listed, as an alternative, and the totals count the workload once.
    let f = find(&eval, rule, "eks/web/Deployment/idle-api").unwrap();
    assert_eq!(f.estimated_monthly_savings, money("94.29894"));
    assert!(f.evidence.contains("its HPA keeps at least 2 replica(s): remove it too"));
    let container = find(&eval, "k8s-workload-overrequested", "eks/web/Deployment/idle-api/app");
    assert!(container.unwrap().alternative, "covered by the workload's finding");
}

#[test]
fn k8s_workload_abandoned_misses_traffic_short_history_daemonsets_and_no_data() {
    let eval = evaluate(&quiet_cluster());
    let rule = "k8s-workload-abandoned";
    // 520 B/s sent at its busiest is over 500; 6 days are under the 7 asked; a DaemonSet runs
    // on every node by design; and a workload Prometheus has no traffic for (no series, or
    // hostNetwork pods) is not quiet, it is unknown.
    for name in ["Deployment/busy-tx", "Deployment/six-days", "DaemonSet/agent"] {
        let id = format!("eks/legacy/{name}");
        assert!(find(&eval, rule, &id).is_none(), "{id} fired");
    }
    assert!(find(&eval, rule, "eks/legacy/Deployment/unmeasured").is_none());
    // Only the three quiet Deployments and StatefulSets.
    assert_eq!(eval.findings.iter().filter(|f| f.rule_id == rule).count(), 3);
}

// --- [kubernetes.storage_class_prices] --------------------------------------------------------

#[test]
fn configured_storage_class_prices_price_volumes_before_the_tables() {
    let mut s = snapshot();
    let eks = &mut s.clusters[0];
    // An on-prem Ceph class no table prices, and gp3 at a negotiated price.
    eks.storage_classes.push(class("ceph-rbd", "rook-ceph.rbd.csi.ceph.com", None));
    eks.volumes.push(pv("pv-ceph", 120, "ceph-rbd", VolumePhase::Released, "0001-0009-rook-ceph"));
    let without = evaluate(&s);
    let rule = "k8s-volume-unclaimed";
    let f = find(&without, rule, "eks/pv/pv-ceph").unwrap();
    assert_eq!(f.estimated_monthly_savings, Money::ZERO);
    assert!(f.evidence.contains("which costscope does not price"), "{}", f.evidence);

    let prices = [("ceph-rbd", "0.045"), ("gp3", "0.07")]
        .map(|(c, p)| (c.to_string(), money(p)))
        .into_iter()
        .collect();
    let engine =
        Engine::new(RuleSet::builtin().unwrap(), Arc::new(PriceCatalog::builtin().unwrap()))
            .with_storage_class_prices(prices);
    let with = engine.evaluate(&s, &[]);
    assert!(with.errors.is_empty(), "{:?}", with.errors);
    // 120 GiB × 0.045 = 5.40, and the evidence says where the price came from.
    let f = find(&with, rule, "eks/pv/pv-ceph").unwrap();
    assert_eq!(f.estimated_monthly_savings, money("5.4"));
    assert_eq!(f.current_monthly_cost, Some(money("5.4")));
    assert!(
        f.evidence.contains(
            "from the config (120 GiB of storage class ceph-rbd at 0.045 per GiB-month, \
             [kubernetes.storage_class_prices])"
        ),
        "{}",
        f.evidence
    );
    // gp3 at the configured 0.07 instead of aws.toml's 0.08: 200 GiB × 0.07 = 14.00.
    let f = find(&with, rule, "vol-0released").unwrap();
    assert_eq!(f.estimated_monthly_savings, money("14"));
    // Classes the config does not name keep the tables: io1 40 GiB × 0.125 = 5.00.
    assert_eq!(find(&with, rule, "vol-0unmounted").unwrap().estimated_monthly_savings, money("5"));
}
