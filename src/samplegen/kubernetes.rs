//! The sample cluster's volumes and load balancers: what bills beside its nodes, with the outcome
//! each Kubernetes volume and load-balancer rule is meant to have; and its workloads' network
//! traffic as `--prometheus` records it, for k8s-workload-abandoned. Ids are fixed strings, not
//! drawn from the generator's random stream, so adding them leaves every other value as it was.
//! The EBS disks behind the volumes are priced from the catalog (their account's inventory is
//! not in the sample, as for the batch nodes).

use std::collections::BTreeMap;

use chrono::Duration;

use super::{CLUSTER_NAME, Gen, collected_at};
use crate::model::cluster::storage::{ClaimPhase, ClaimRef, VolumePhase};
use crate::model::cluster::{
    Cluster, LoadBalancerService, PersistentVolume, StorageClass, VolumeClaim, WorkloadNetwork,
};

const GIB: u64 = 1 << 30;
const VOLUME: &str = "k8s-volume-unclaimed";
const LB: &str = "k8s-loadbalancer-unused";
const ABANDONED: &str = "k8s-workload-abandoned";

/// The busiest 5-minute rates (B/s) received and sent by the busiest pod, over `days` of a
/// 14-day lookback, as `--prometheus` records them: 288 five-minute points a day per pod.
fn traffic(rx: f64, tx: f64, days: f64, pods: u64) -> Option<WorkloadNetwork> {
    Some(WorkloadNetwork {
        rx_max_bytes_per_second: rx,
        tx_max_bytes_per_second: tx,
        days,
        points: (days * 288.0).round() as u64 * pods,
    })
}

fn class(name: &str, provisioner: &str, ty: Option<&str>, default: bool) -> StorageClass {
    StorageClass {
        name: name.into(),
        provisioner: provisioner.into(),
        parameters: ty
            .map(|t| BTreeMap::from([("type".to_string(), t.to_string())]))
            .unwrap_or_default(),
        default,
    }
}

/// A volume on an EBS disk, bound to `claim` when given.
fn volume(
    name: &str,
    disk: &str,
    gib: u64,
    class: &str,
    phase: VolumePhase,
    claim: Option<(&str, &str)>,
    age_days: i64,
) -> PersistentVolume {
    PersistentVolume {
        name: name.into(),
        capacity_bytes: gib * GIB,
        storage_class: Some(class.into()),
        phase,
        claim: claim.map(|(ns, n)| ClaimRef { namespace: ns.into(), name: n.into() }),
        reclaim_policy: Some(if class == "gp2" { "Delete" } else { "Retain" }.into()),
        driver: Some(
            if class == "gp2" { "kubernetes.io/aws-ebs" } else { "ebs.csi.aws.com" }.into(),
        ),
        volume_handle: Some(disk.into()),
        created: Some(collected_at() - Duration::days(age_days)),
    }
}

fn claim(
    ns: &str,
    name: &str,
    pv: Option<&str>,
    gib: u64,
    class: &str,
    pods: &[String],
    age_days: i64,
) -> VolumeClaim {
    VolumeClaim {
        namespace: ns.into(),
        name: name.into(),
        storage_class: Some(class.into()),
        phase: if pv.is_some() { ClaimPhase::Bound } else { ClaimPhase::Pending },
        volume_name: pv.map(str::to_string),
        requested_bytes: gib * GIB,
        capacity_bytes: pv.map(|_| gib * GIB),
        mounted_by: pods.to_vec(),
        created: Some(collected_at() - Duration::days(age_days)),
    }
}

fn load_balancer(
    ns: &str,
    name: &str,
    nlb: bool,
    ready: u32,
    age_days: i64,
    host: &str,
) -> LoadBalancerService {
    let mut annotations = BTreeMap::new();
    if nlb {
        annotations
            .insert("service.beta.kubernetes.io/aws-load-balancer-type".to_string(), "nlb".into());
    }
    LoadBalancerService {
        namespace: ns.into(),
        name: name.into(),
        load_balancer_class: None,
        annotations,
        ingress: vec![format!("{host}.elb.us-east-1.amazonaws.com")],
        has_selector: true,
        ready_endpoints: Some(ready),
        created: Some(collected_at() - Duration::days(age_days)),
    }
}

impl Gen<'_> {
    /// The workloads' network, as Prometheus's cAdvisor series give it. The containers keep
    /// their metrics-server samples (so the sample's rightsizing findings stay as they were);
    /// only traffic comes from history. The DaemonSets run on the host's network and have none.
    pub(super) fn cluster_network(&mut self, cluster: &mut Cluster) {
        let id = |ns: &str, kind: &str, name: &str| format!("{CLUSTER_NAME}/{ns}/{kind}/{name}");
        // Savings are requests × replicas at the cluster's average price of a core (23.197141)
        // and of a GiB (3.406915) a month, which the nodes' billing gives.
        for w in &mut cluster.workloads {
            let pods = u64::from(w.replicas);
            w.network = match (w.namespace.as_str(), w.name.as_str()) {
                ("web", "storefront") => traffic(2_850_000.0, 9_400_000.0, 14.0, pods),
                ("web", "checkout-api") => traffic(412_000.0, 388_000.0, 14.0, pods),
                // Redeployed 5 days ago: its pods' series are that young.
                ("web", "search-frontend") => traffic(210.0, 330.0, 5.0, pods),
                // Checkout moved its sessions to DynamoDB; the cache still holds 2.8 GiB and
                // answers only the kubelet's probes.
                ("data", "redis-cache") => traffic(38.0, 52.5, 14.0, pods),
                ("data", "kafka") => traffic(6_100_000.0, 6_300_000.0, 14.0, pods),
                // Waits for work most of the day; its nightly run pulls 48 kB/s at its busiest.
                ("jobs", "report-worker") => traffic(48_250.0, 1_900.0, 14.0, pods),
                ("monitoring", "prometheus") => traffic(1_250_000.0, 96_000.0, 14.0, pods),
                ("kube-system", "coredns") => traffic(8_400.0, 9_100.0, 14.0, pods),
                _ => None,
            };
        }
        self.expect(
            ABANDONED,
            &id("data", "StatefulSet", "redis-cache"),
            "k8s_workload",
            true,
            "38 B/s in, 52.5 B/s out at the busiest for 14 days: 3 × (0.5 × 23.197141 + 4 × 3.406915) = 75.68",
        );
        self.expect(
            ABANDONED,
            &id("web", "Deployment", "search-frontend"),
            "k8s_workload",
            false,
            "quiet, but 5 days of history (min 7)",
        );
        self.expect(
            ABANDONED,
            &id("jobs", "Deployment", "report-worker"),
            "k8s_workload",
            false,
            "quiet most of the day, 48250 B/s at its busiest",
        );
        self.expect(
            ABANDONED,
            &id("monitoring", "DaemonSet", "node-exporter"),
            "k8s_workload",
            false,
            "a DaemonSet on the host network: no traffic of its own",
        );
    }

    /// Storage classes, volumes, claims and LoadBalancer Services of the sample cluster.
    pub(super) fn cluster_volumes_and_load_balancers(&mut self, cluster: &mut Cluster) {
        cluster.storage_classes = vec![
            class("gp2", "kubernetes.io/aws-ebs", Some("gp2"), false),
            class("gp3", "ebs.csi.aws.com", Some("gp3"), true),
            class("io1", "ebs.csi.aws.com", Some("io1"), false),
        ];
        let kafka_pods: Vec<String> = (0..3).map(|n| format!("kafka-{n}")).collect();
        let disks = [
            "vol-0c1a5e0d7b3f24a61",
            "vol-0c1a5e0d7b3f24a62",
            "vol-0c1a5e0d7b3f24a63",
            "vol-0c1a5e0d7b3f24a64",
            "vol-0c1a5e0d7b3f24a65",
        ];
        for d in disks {
            let _ = self.unique(d.to_string());
        }
        cluster.volumes = vec![
            // The search cluster was deleted; its Retain-policy disk stayed: 500 × 0.08 = 40.
            volume(
                "pvc-7e2f0a4c",
                disks[0],
                500,
                "gp3",
                VolumePhase::Released,
                Some(("logging", "data-es-2")),
                210,
            ),
            // Pre-provisioned for a migration that never happened: 100 × 0.10 (gp2) = 10.
            volume("pv-migration-spare", disks[1], 100, "gp2", VolumePhase::Available, None, 150),
            // Bound to a claim the Spark job no longer mounts: 200 × 0.125 (io1) = 25.
            volume(
                "pvc-31b9d8e5",
                disks[2],
                200,
                "io1",
                VolumePhase::Bound,
                Some(("analytics", "spark-scratch")),
                120,
            ),
            // Kafka's data, mounted: a near miss.
            volume(
                "pvc-5d4c3b2a",
                disks[3],
                300,
                "gp3",
                VolumePhase::Bound,
                Some(("data", "data-kafka-0")),
                300,
            ),
            // A claim made 3 days ago whose first pod is not scheduled yet: a near miss.
            volume(
                "pvc-9a8b7c6d",
                disks[4],
                50,
                "gp3",
                VolumePhase::Bound,
                Some(("ci", "build-cache")),
                3,
            ),
        ];
        cluster.claims = vec![
            claim("analytics", "spark-scratch", Some("pvc-31b9d8e5"), 200, "io1", &[], 120),
            claim("ci", "build-cache", Some("pvc-9a8b7c6d"), 50, "gp3", &[], 3),
            claim("data", "data-kafka-0", Some("pvc-5d4c3b2a"), 300, "gp3", &kafka_pods[..1], 300),
            // Waiting for a class nobody installed: Pending binds no disk, a near miss.
            claim("ml", "datasets", None, 1000, "gp3", &[], 40),
        ];
        self.expect(VOLUME, disks[0], "k8s_volume", true, "Released, 500 GiB gp3 × 0.08 = 40.00");
        self.expect(VOLUME, disks[1], "k8s_volume", true, "Available, 100 GiB gp2 × 0.10 = 10.00");
        self.expect(
            VOLUME,
            disks[2],
            "k8s_volume",
            true,
            "no pod mounts it, 200 GiB io1 × 0.125 = 25.00",
        );
        self.expect(VOLUME, disks[3], "k8s_volume", false, "mounted by kafka-0");
        self.expect(VOLUME, disks[4], "k8s_volume", false, "claimed 3 days ago (min 7)");
        let pending = format!("{CLUSTER_NAME}/ml/pvc/datasets");
        self.expect(VOLUME, &pending, "k8s_volume", false, "Pending: no disk yet");

        cluster.load_balancers = vec![
            load_balancer("web", "storefront", true, 3, 400, "a1f3c0de9b8a7c6d-storefront"),
            // A campaign site whose Deployment was deleted: NLB 0.0225 × 730 = 16.425.
            load_balancer("web", "spring-campaign", true, 0, 190, "a2b4c6d8e0f1a3c5-campaign"),
            // The in-tree default, a Classic Load Balancer: 0.025 × 730 = 18.25.
            load_balancer("internal", "admin-legacy", false, 0, 500, "internal-a9c8b7d6-admin"),
            // Created 2 days ago, its pods still rolling out: a near miss.
            load_balancer("web", "checkout-v2", true, 0, 2, "a7e6d5c4b3a2f1e0-checkout"),
        ];
        let id = |ns: &str, name: &str| format!("{CLUSTER_NAME}/{ns}/service/{name}");
        self.expect(
            LB,
            &id("web", "spring-campaign"),
            "k8s_load_balancer",
            true,
            "NLB, no ready endpoint: 0.0225 × 730 = 16.43",
        );
        self.expect(
            LB,
            &id("internal", "admin-legacy"),
            "k8s_load_balancer",
            true,
            "CLB, no ready endpoint: 0.025 × 730 = 18.25",
        );
        self.expect(LB, &id("web", "storefront"), "k8s_load_balancer", false, "3 ready endpoints");
        self.expect(
            LB,
            &id("web", "checkout-v2"),
            "k8s_load_balancer",
            false,
            "2 days old (min 7)",
        );
    }
}
