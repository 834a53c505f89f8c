//! Kubernetes end to end: the real kube client reads recorded API responses (tests/fixtures/k8s,
//! turned into an EKS-style cluster below) from a loopback HTTP server through a kubeconfig the
//! test writes; the same data as `kubectl` files through `--kube-dump` gives the same cluster.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assert_cmd::Command;
use costscope::model::cluster::Resources;
use costscope::source::kube::{Collected, dump, live};
use serde_json::{Value, json};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/k8s");
const CONTEXT: &str = "eks-test";
const BIG: &str = "biggernode-3i745";
/// Items per page the server returns, whatever limit the client asks for.
const PAGE: usize = 3;
const MI: u64 = 1 << 20;

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(FIXTURES).join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// DigitalOcean's nodes as EKS would describe them: `aws:///<az>/i-…` provider ids and EC2
/// instance types of the same shape (8 vCPU/32 GiB → m5.2xlarge, 2/4 → t3.medium, 1/2 →
/// t3.small) in us-east-1. The microk8s and GPU nodes stay as recorded (no provider id, no type).
fn eks_nodes() -> Value {
    let mut nodes = fixture("do-nodes.json");
    for (n, node) in nodes["items"].as_array_mut().unwrap().iter_mut().enumerate() {
        let labels = node["metadata"]["labels"].as_object_mut().unwrap();
        let Some(size) = labels.get("node.kubernetes.io/instance-type").cloned() else { continue };
        let ec2 = match size.as_str().unwrap() {
            "g-8vcpu-32gb" => "m5.2xlarge",
            "s-2vcpu-4gb" => "t3.medium",
            _ => "t3.small",
        };
        for key in ["node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type"] {
            labels.insert(key.into(), ec2.into());
        }
        for key in ["topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region"] {
            labels.insert(key.into(), "us-east-1".into());
        }
        node["spec"]["providerID"] = format!("aws:///us-east-1a/i-0{n:016x}").into();
    }
    nodes
}

/// The kind cluster's kube-system pods, scheduled on the big node, and the Pending pod.
fn pods() -> Value {
    let mut pods = fixture("pods-kind.json");
    let items = pods["items"].as_array_mut().unwrap();
    for pod in items.iter_mut() {
        pod["spec"]["nodeName"] = BIG.into();
    }
    items.extend(fixture("pods-troubleshoot.json")["items"].as_array().unwrap().iter().cloned());
    // One coredns replica keeps a cache on the kube-system/coredns-cache claim.
    items[0]["spec"]["volumes"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "cache", "persistentVolumeClaim": {"claimName": "coredns-cache"}}));
    pods
}

/// The lists beside nodes and pods: (path, file, list kind). The EndpointSlices are a kind
/// cluster's; the rest is written to the API reference (see the fixtures' README).
const EXTRAS: [(&str, &str, &str); 6] = [
    ("/api/v1/persistentvolumes", "persistentvolumes-eks.json", "PersistentVolumeList"),
    (
        "/api/v1/persistentvolumeclaims",
        "persistentvolumeclaims-eks.json",
        "PersistentVolumeClaimList",
    ),
    ("/apis/storage.k8s.io/v1/storageclasses", "storageclasses-eks.json", "StorageClassList"),
    ("/api/v1/services", "services-eks.json", "ServiceList"),
    ("/apis/discovery.k8s.io/v1/endpointslices", "endpointslices-kind.json", "EndpointSliceList"),
    (
        "/apis/autoscaling/v2/horizontalpodautoscalers",
        "horizontalpodautoscalers-eks.json",
        "HorizontalPodAutoscalerList",
    ),
];

/// GKE's metrics, renamed onto this cluster: the node sample onto the big node, kube-dns's onto
/// one coredns replica and kube-proxy's onto kube-proxy.
fn node_metrics() -> Value {
    let mut m = fixture("node-metrics-gke.json");
    m["items"][0]["metadata"]["name"] = BIG.into();
    m
}

fn pod_metrics() -> Value {
    let mut m = fixture("pod-metrics-gke.json");
    let mut kept = Vec::new();
    for item in m["items"].as_array().unwrap() {
        let name = item["metadata"]["name"].as_str().unwrap();
        let mut item = item.clone();
        if name.starts_with("kube-dns-6c7b") {
            item["metadata"]["name"] = "coredns-674b8bbfcf-nkzz6".into();
            let c: Vec<Value> = item["containers"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["name"] == "kubedns")
                .map(|c| json!({"name": "coredns", "usage": c["usage"]}))
                .collect();
            item["containers"] = c.into();
        } else if name.starts_with("kube-proxy-gke") {
            item["metadata"]["name"] = "kube-proxy-9vxzb".into();
        } else {
            continue;
        }
        kept.push(item);
    }
    m["items"] = kept.into();
    m
}

#[derive(Clone, Copy, Default)]
struct Faults {
    no_metrics_api: bool,
    /// Every pods list answers 500.
    pods_fail: bool,
    /// The first N pods requests answer 503, the rest normally.
    pods_fail_first: usize,
    /// The first N nodes requests are read and then the connection is closed unanswered.
    nodes_drop_first: usize,
    /// Pods requests are read and never answered.
    pods_silent: bool,
    /// Metrics lists answer 500.
    metrics_fail: bool,
    /// Metrics requests are read and never answered.
    metrics_silent: bool,
    /// PersistentVolumes and StorageClasses answer 403, as RBAC often does.
    storage_forbidden: bool,
    /// Services answer 500.
    services_fail: bool,
}

struct Server {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

fn page(list: &Value, kind: &str, continue_token: Option<&str>) -> Value {
    let items = list["items"].as_array().unwrap();
    let start: usize =
        continue_token.and_then(|t| t.strip_prefix("page-")?.parse().ok()).unwrap_or(0);
    let end = (start + PAGE).min(items.len());
    let mut meta = json!({"resourceVersion": "4242"});
    if end < items.len() {
        meta["continue"] = format!("page-{end}").into();
    }
    json!({"kind": kind, "apiVersion": "v1", "metadata": meta, "items": items[start..end]})
}

fn status(code: u16, reason: &str, message: &str) -> (u16, Value) {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": message, "reason": reason, "code": code});
    (code, body)
}

/// Serves the cluster: lists page by page with continue tokens, metrics, or the faults asked.
fn serve(faults: Faults) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    let (nodes, pods, node_m, pod_m) = (eks_nodes(), pods(), node_metrics(), pod_metrics());
    let extras: Vec<(&str, Value, &str)> =
        EXTRAS.iter().map(|(path, file, kind)| (*path, fixture(file), *kind)).collect();
    std::thread::spawn(move || {
        let (mut pods_seen, mut nodes_seen) = (0, 0);
        // Connections held open without an answer, until the server thread ends with the test.
        let mut silent = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
            }
            let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
            log.lock().unwrap().push(target.clone());
            let (path, query) = target.split_once('?').unwrap_or((&target, ""));
            let token = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("continue="))
                .map(|t| t.replace("%2D", "-"));
            let is_metrics = path.starts_with("/apis/metrics.k8s.io/");
            if path == "/api/v1/nodes" {
                nodes_seen += 1;
                if nodes_seen <= faults.nodes_drop_first {
                    continue; // dropped: the connection closes with no response
                }
            }
            if path == "/api/v1/pods" {
                pods_seen += 1;
            }
            if (path == "/api/v1/pods" && faults.pods_silent)
                || (is_metrics && faults.metrics_silent)
            {
                silent.push(stream);
                continue;
            }
            let (code, body) = match path {
                "/api/v1/nodes" => (200, page(&nodes, "NodeList", token.as_deref())),
                "/api/v1/pods" if pods_seen <= faults.pods_fail_first => status(
                    503,
                    "ServiceUnavailable",
                    "the server is currently unable to handle the request",
                ),
                _ if is_metrics && faults.metrics_fail => {
                    status(500, "InternalError", "metrics-server: unable to fetch metrics")
                }
                "/api/v1/pods" if faults.pods_fail => {
                    status(500, "InternalError", "etcdserver: request timed out")
                }
                "/api/v1/pods" => (200, page(&pods, "PodList", token.as_deref())),
                "/apis/metrics.k8s.io/v1beta1/nodes" | "/apis/metrics.k8s.io/v1beta1/pods"
                    if faults.no_metrics_api =>
                {
                    status(404, "NotFound", "the server could not find the requested resource")
                }
                "/apis/metrics.k8s.io/v1beta1/nodes" => (200, node_m.clone()),
                "/apis/metrics.k8s.io/v1beta1/pods" => (200, pod_m.clone()),
                "/api/v1/persistentvolumes" | "/apis/storage.k8s.io/v1/storageclasses"
                    if faults.storage_forbidden =>
                {
                    let what = path.rsplit('/').next().unwrap_or("");
                    status(
                        403,
                        "Forbidden",
                        &format!(
                            "{what} is forbidden: User \"system:serviceaccount:costscope:reader\" cannot list resource \"{what}\" at the cluster scope"
                        ),
                    )
                }
                "/api/v1/services" if faults.services_fail => {
                    status(500, "InternalError", "etcdserver: request timed out")
                }
                _ => match extras.iter().find(|(p, ..)| *p == path) {
                    Some((_, list, kind)) => (200, page(list, kind, token.as_deref())),
                    None => status(404, "NotFound", "not found"),
                },
            };
            let body = body.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Server { port, requests }
}

/// A kubeconfig for the loopback server, plain HTTP, no credentials.
fn kubeconfig(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("kubeconfig");
    let text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: {CONTEXT}\nclusters:\n- name: loopback\n  cluster:\n    server: http://127.0.0.1:{port}\ncontexts:\n- name: {CONTEXT}\n  context:\n    cluster: loopback\n    user: nobody\nusers:\n- name: nobody\n  user: {{}}\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// The same responses as `kubectl` would write them, in a directory named after the context.
fn write_dump(root: &Path, with_metrics: bool) -> PathBuf {
    let dir = root.join(CONTEXT);
    std::fs::create_dir_all(&dir).unwrap();
    let as_list = |name: &str, v: Value| {
        std::fs::write(dir.join(name), serde_json::to_string_pretty(&v).unwrap()).unwrap();
    };
    let mut nodes = eks_nodes();
    nodes["kind"] = "List".into();
    as_list(dump::NODES, nodes);
    let mut pods = pods();
    pods["kind"] = "List".into();
    as_list(dump::PODS, pods);
    for (file, (_, fixture_file, _)) in [
        dump::VOLUMES,
        dump::CLAIMS,
        dump::STORAGE_CLASSES,
        dump::SERVICES,
        dump::ENDPOINT_SLICES,
        dump::AUTOSCALERS,
    ]
    .into_iter()
    .zip(EXTRAS)
    {
        let mut list = fixture(fixture_file);
        list["kind"] = "List".into();
        as_list(file, list);
    }
    if with_metrics {
        as_list(dump::NODE_METRICS, node_metrics());
        as_list(dump::POD_METRICS, pod_metrics());
    }
    dir
}

fn read_live(faults: Faults) -> (costscope::source::Result<Collected>, Vec<String>) {
    let server = serve(faults);
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), server.port);
    let result = live::read(Some(&config), Some(CONTEXT));
    let requests = server.requests.lock().unwrap().clone();
    (result, requests)
}

#[test]
fn live_cluster_nodes_pods_owners_and_usage() {
    let (result, requests) = read_live(Faults::default());
    let c = result.unwrap();
    // 7 nodes in pages of 3 and 9 pods in pages of 3, each page asked with its continue token.
    let lists: Vec<&String> = requests
        .iter()
        .filter(|r| r.starts_with("/api/v1/nodes") || r.starts_with("/api/v1/pods"))
        .collect();
    assert_eq!(lists.len(), 6, "{requests:?}");
    assert!(lists.iter().any(|r| r.contains("continue=page-3")), "{requests:?}");
    assert!(lists.iter().any(|r| r.contains("continue=page-6")), "{requests:?}");
    assert!(!c.partial, "{:?}", c.warnings);
    assert_eq!(c.cluster.name, CONTEXT);

    let names: Vec<&str> = c.cluster.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names.len(), 7);
    let big = c.cluster.nodes.iter().find(|n| n.name == BIG).unwrap();
    assert_eq!(big.provider_id.as_deref(), Some("aws:///us-east-1a/i-00000000000000001"));
    assert_eq!(big.instance_type.as_deref(), Some("m5.2xlarge"));
    assert_eq!(big.region.as_deref(), Some("us-east-1"));
    // DOKS: allocatable memory in Mi, capacity in Ki.
    assert_eq!(big.allocatable, Resources { cpu_millicores: 8000, memory_bytes: 29222 * MI });
    assert_eq!(big.capacity.cpu_millicores, 8000);
    // Requests of the 8 kind pods: 100+100+100+100+250+200+0+100 m; 70+70+100+50 Mi.
    assert_eq!(big.requested, Resources { cpu_millicores: 950, memory_bytes: 290 * MI });
    // GKE's 110691045n rounds up to 111m; 801112Ki exactly.
    assert_eq!(big.usage, Some(Resources { cpu_millicores: 111, memory_bytes: 801_112 * 1024 }));
    let microk8s = c.cluster.nodes.iter().find(|n| n.name == "repldev-marc").unwrap();
    assert_eq!((microk8s.provider_id.as_deref(), microk8s.instance_type.as_deref()), (None, None));
    assert_eq!(microk8s.allocatable.memory_bytes, 30_770_604 * 1024);
    assert_eq!(microk8s.usage, None);
    assert!(
        c.warnings.iter().any(|w| w.contains("no node metrics for") && w.contains("repldev-marc"))
    );
    // The Pending pod holds no node and is said to be left out.
    assert!(
        c.warnings.iter().any(|w| w.contains("not scheduled")
            && w.contains("message-pending-node-affinity/kotsadm-b6cb54c8f-zgzrn")),
        "{:?}",
        c.warnings
    );

    let workloads: Vec<(&str, &str, u32)> = c
        .cluster
        .workloads
        .iter()
        .map(|w| (w.kind.as_str(), w.name.as_str(), w.replicas))
        .collect();
    assert_eq!(
        workloads,
        [
            ("DaemonSet", "kindnet", 1),
            ("DaemonSet", "kube-proxy", 1),
            ("Deployment", "coredns", 2),
            ("Pod", "etcd-v1.33-control-plane", 1),
            ("Pod", "kube-apiserver-v1.33-control-plane", 1),
            ("Pod", "kube-controller-manager-v1.33-control-plane", 1),
            ("Pod", "kube-scheduler-v1.33-control-plane", 1),
        ]
    );
    let coredns = c.cluster.workloads.iter().find(|w| w.name == "coredns").unwrap();
    let [container] = coredns.containers.as_slice() else { panic!("one container") };
    assert_eq!(container.requests, Resources { cpu_millicores: 100, memory_bytes: 70 * MI });
    assert_eq!(container.limits, Some(Resources { cpu_millicores: 0, memory_bytes: 170 * MI }));
    // One replica sampled: 673332n → 1m, 6632Ki.
    assert_eq!(container.usage, Some(Resources { cpu_millicores: 1, memory_bytes: 6632 * 1024 }));
    let etcd = c.cluster.workloads.iter().find(|w| w.name.starts_with("etcd")).unwrap();
    assert_eq!(etcd.containers[0].usage, None, "no metrics for etcd");
}

#[test]
fn the_dump_gives_the_same_cluster_as_the_live_api() {
    let (live, _) = read_live(Faults::default());
    let root = tempfile::tempdir().unwrap();
    let dir = write_dump(root.path(), true);
    let offline = dump::read_dump(&dir).unwrap();
    let live = live.unwrap();
    assert_eq!(offline.cluster, live.cluster);
    assert_eq!(offline.warnings, live.warnings);
    assert_eq!(offline.partial, live.partial);
    // A dump is as of its metrics' timestamp, so the same files give the same report.
    assert_eq!(offline.as_of.map(|t| t.to_rfc3339()).as_deref(), Some("2021-08-13T10:24:26+00:00"));
}

#[test]
fn no_metrics_api_is_a_partial_requests_only_cluster() {
    let (result, requests) = read_live(Faults { no_metrics_api: true, ..Faults::default() });
    let c = result.unwrap();
    assert!(requests.iter().any(|r| r == "/apis/metrics.k8s.io/v1beta1/nodes"));
    assert!(c.partial);
    assert!(c.cluster.nodes.iter().all(|n| n.usage.is_none()));
    assert!(c.cluster.workloads.iter().flat_map(|w| &w.containers).all(|c| c.usage.is_none()));
    let w = &c.warnings[0];
    assert!(w.starts_with("metrics API unavailable"), "{w}");
    assert!(w.contains("/apis/metrics.k8s.io/v1beta1/nodes: HTTP 404"), "{w}");
    assert!(w.contains("requests-only"), "{w}");
    // Requests still count.
    let big = c.cluster.nodes.iter().find(|n| n.name == BIG).unwrap();
    assert_eq!(big.requested.cpu_millicores, 950);

    // A dump without the metrics files says the same.
    let root = tempfile::tempdir().unwrap();
    let offline = dump::read_dump(&write_dump(root.path(), false)).unwrap();
    assert!(offline.partial);
    assert_eq!(offline.cluster, c.cluster);
}

#[test]
fn a_failing_pods_list_is_an_error_naming_the_url() {
    let (result, _) = read_live(Faults { pods_fail: true, ..Faults::default() });
    let e = result.unwrap_err().to_string();
    assert!(e.starts_with("http://127.0.0.1:"), "{e}");
    assert!(e.contains("/api/v1/pods: HTTP 500: etcdserver: request timed out"), "{e}");
}

fn read_live_within(
    faults: Faults,
    timeout: Duration,
) -> (costscope::source::Result<Collected>, Vec<String>) {
    let server = serve(faults);
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), server.port);
    let result = live::read_with(Some(&config), Some(CONTEXT), None, timeout);
    let requests = server.requests.lock().unwrap().clone();
    (result, requests)
}

/// Requests for the first page of `path` (no continue token).
fn count(requests: &[String], path: &str) -> usize {
    requests
        .iter()
        .filter(|r| r.split('?').next() == Some(path) && !r.contains("continue="))
        .count()
}

#[test]
fn transient_api_failures_are_retried_and_change_nothing() {
    let (clean, _) = read_live(Faults::default());
    let clean = clean.unwrap();
    // Two 503s on the first pods page, then a dropped connection on the first nodes page.
    let faults = Faults { pods_fail_first: 2, nodes_drop_first: 1, ..Faults::default() };
    let (result, requests) = read_live(faults);
    let c = result.unwrap();
    assert_eq!(c.cluster, clean.cluster);
    assert!(!c.partial, "{:?}", c.warnings);
    assert_eq!(count(&requests, "/api/v1/pods"), 3, "{requests:?}");
    assert_eq!(count(&requests, "/api/v1/nodes"), 2, "{requests:?}");
}

#[test]
fn a_silent_api_server_times_out_after_three_tries_naming_the_url() {
    let faults = Faults { pods_silent: true, ..Faults::default() };
    let (result, requests) = read_live_within(faults, Duration::from_secs(1));
    let e = result.unwrap_err().to_string();
    assert!(e.contains("/api/v1/pods: no answer within 1s"), "{e}");
    assert_eq!(count(&requests, "/api/v1/pods"), 3, "{requests:?}");
}

#[test]
fn a_failing_or_silent_metrics_api_is_a_requests_only_cluster() {
    for (faults, why) in [
        (Faults { metrics_fail: true, ..Faults::default() }, "HTTP 500: metrics-server"),
        (Faults { metrics_silent: true, ..Faults::default() }, "no answer within 1s"),
    ] {
        let (result, requests) = read_live_within(faults, Duration::from_secs(1));
        let c = result.unwrap();
        assert!(c.partial);
        let w = &c.warnings[0];
        assert!(w.starts_with("metrics API unavailable"), "{w}");
        assert!(w.contains(&format!("/apis/metrics.k8s.io/v1beta1/nodes: {why}")), "{w}");
        assert_eq!(
            count(&requests, "/apis/metrics.k8s.io/v1beta1/nodes"),
            3,
            "retried: {requests:?}"
        );
        assert!(c.cluster.nodes.iter().all(|n| n.usage.is_none()));
        assert!(!c.cluster.nodes.is_empty());
    }
}

/// Through the binary: the timeout comes from the config, the report is partial with the
/// warning on stderr, exit 3, and `--out` gets the whole partial report (never half a file).
#[test]
fn report_on_a_silent_metrics_api_exits_3_and_writes_the_whole_report() {
    let server = serve(Faults { metrics_silent: true, ..Faults::default() });
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), server.port);
    let settings = dir.path().join("costscope.toml");
    std::fs::write(&settings, "[kubernetes]\ntimeout_seconds = 1\n").unwrap();
    let out_file = dir.path().join("report.csv");
    std::fs::write(&out_file, "previous report\n").unwrap();
    let out = costscope()
        .env("KUBECONFIG", &config)
        .args(["report", "--kube", "--format", "csv", "--config"])
        .arg(&settings)
        .arg("--out")
        .arg(&out_file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("metrics.k8s.io/v1beta1/nodes: no answer within 1s"), "{stderr}");
    let text = std::fs::read_to_string(&out_file).unwrap();
    assert!(text.starts_with("rule_id,resource_id,"), "{text}");
    assert!(text.contains("k8s-node-underutilized"), "{text}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp") || n.ends_with(".lock"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_bad_dump_file_names_the_file_and_line() {
    let root = tempfile::tempdir().unwrap();
    let dir = write_dump(root.path(), true);
    std::fs::write(dir.join(dump::PODS), "{\n  \"items\": [\n    {\"metadata\": 7}\n  ]\n}\n")
        .unwrap();
    let e = dump::read_dump(&dir).unwrap_err().to_string();
    assert!(e.contains("pods.json:3:"), "{e}");
    let mut nodes = eks_nodes();
    nodes["items"][1]["status"]["allocatable"]["memory"] = "29222MB".into();
    std::fs::write(dir.join(dump::NODES), nodes.to_string()).unwrap();
    let e = dump::read_dump(&dir).unwrap_err().to_string();
    assert!(
        e.contains("nodes.json: node biggernode-3i745: allocatable memory: \"29222MB\""),
        "{e}"
    );
}

fn costscope() -> Command {
    let mut cmd = Command::cargo_bin("costscope").unwrap();
    cmd.env("XDG_CONFIG_HOME", "/nonexistent-costscope-test")
        .env("XDG_DATA_HOME", "/nonexistent-costscope-test")
        .env_remove("RUST_LOG");
    cmd
}

fn csv_rows(text: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut reader = csv::ReaderBuilder::new().comment(Some(b'#')).from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| headers.iter().zip(r.unwrap().iter()).map(|(h, v)| (h.into(), v.into())).collect())
        .collect()
}

#[test]
fn report_kube_lists_utilization_idle_cost_and_all_three_rules() {
    let server = serve(Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), server.port);
    let out = costscope()
        .env("KUBECONFIG", &config)
        .args(["report", "--kube", "--context", CONTEXT, "--format", "csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = csv_rows(&String::from_utf8(out.stdout).unwrap());
    let row = |rule: &str, id: &str| {
        rows.iter()
            .find(|r| r["rule_id"] == rule && r["resource_id"] == id)
            .unwrap_or_else(|| panic!("{rule} on {id} missing: {rows:#?}"))
    };
    // The big node: m5.2xlarge at 0.384/h from the catalog, 12 % of its CPU requested.
    let big = row("k8s-node-underutilized", "i-00000000000000001");
    assert_eq!(big["estimated_monthly_savings"], "280.32");
    assert_eq!(big["resource_type"], "k8s_node");
    assert!(big["evidence"].contains("pods request 950m of 8000m CPU"), "{}", big["evidence"]);
    assert!(big["evidence"].contains("from the price catalog"), "{}", big["evidence"]);
    // The three-node pool runs no pods: all three are surplus.
    let pool = row("k8s-cluster-overprovisioned", "eks-test/nodegroup/pool-yd23sqk7u");
    assert_eq!(pool["resource_type"], "k8s_node_group");
    assert!(pool["evidence"].contains("3 nodes"), "{}", pool["evidence"]);
    // …and the target and evidence name the nodes to drain.
    let drained = pool["target"].strip_prefix("0 nodes (drain ").unwrap().trim_end_matches(')');
    assert_eq!(drained.split(", ").count(), 3, "{}", pool["target"]);
    assert!(pool["evidence"].contains(&format!("drain the least requested: {drained}")));
    // …so its nodes are not also flagged one by one (the same money counted twice).
    for id in ["i-00000000000000002", "i-00000000000000003", "i-00000000000000004"] {
        assert!(!rows.iter().any(|r| r["resource_id"] == id), "{id} flagged twice");
    }
    // coredns: 100m asked, 1m used → 10m floor; 90m freed on 2 replicas.
    let coredns =
        row("k8s-workload-overrequested", "eks-test/kube-system/Deployment/coredns/coredns");
    assert_eq!(coredns["confidence"], "low");
    assert_eq!(coredns["target"], "cpu 10m, memory 100Mi");
    assert!(coredns["evidence"].contains("one metrics-server sample"), "{}", coredns["evidence"]);
    assert!(coredns["estimated_monthly_savings"].parse::<f64>().unwrap() > 0.0);

    // The JSON report carries the cluster's utilization and idle cost.
    let out = costscope()
        .env("KUBECONFIG", &config)
        .args(["report", "--kube", "--context", CONTEXT, "--format", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cluster = &report["clusters"][0];
    assert_eq!(cluster["name"], CONTEXT);
    assert_eq!(cluster["nodes"].as_array().unwrap().len(), 7);
    let number = |v: &Value| -> f64 {
        v.as_str().map_or_else(|| v.as_f64().unwrap(), |s| s.parse().unwrap())
    };
    let big = cluster["nodes"].as_array().unwrap().iter().find(|n| n["name"] == BIG).unwrap();
    assert_eq!(big["cost_source"]["source"], "catalog");
    // By hand: 280.32 split by OpenCost's prices for 8 vCPU and 32 GiB; idle is the part of
    // allocatable not held by max(request, usage): CPU max(950m, 111m) of 8000m, memory
    // max(290Mi, 801112Ki) of 29222Mi.
    let monthly = 0.384 * 730.0;
    let cpu = monthly * (8.0 * 0.031611) / (8.0 * 0.031611 + 32.0 * 0.004237);
    let memory = monthly - cpu;
    let expected_idle = cpu * (8000.0 - 950.0) / 8000.0
        + memory * (29222.0 * 1024.0 - 801_112.0) / (29222.0 * 1024.0);
    let idle = number(&big["costs"]["idle"]);
    assert!((idle - expected_idle).abs() < 0.000_01, "{idle} vs {expected_idle}");
    assert_eq!(number(&big["cpu_efficiency"]), 111.0 / 950.0);
    // The microk8s and GPU nodes have no type: not priced, and the evidence says why.
    assert_eq!(cluster["nodes_unpriced"], 2);
    assert!(number(&cluster["costs"]["idle"]) > idle);
    // Every rule expression evaluated cleanly on this cluster.
    assert_eq!(report["warnings"], json!([]), "{}", report["warnings"]);
}

#[test]
fn report_without_metrics_api_exits_3_and_says_why() {
    let server = serve(Faults { no_metrics_api: true, ..Faults::default() });
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), server.port);
    let out = costscope()
        .env("KUBECONFIG", &config)
        .args(["report", "--kube", "--format", "csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("metrics API unavailable") || stderr.contains("metrics API unavailable"),
        "{text}\n{stderr}"
    );
    // Requests-only: node rules still run, the workload rule has no usage to judge.
    assert!(text.contains("k8s-node-underutilized"));
    assert!(!text.contains("k8s-workload-overrequested"));
}

#[test]
fn report_on_a_failing_cluster_fails_naming_the_url() {
    let server = serve(Faults { pods_fail: true, ..Faults::default() });
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), server.port);
    let out = costscope()
        .env("KUBECONFIG", &config)
        .args(["report", "--kube", "--format", "csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/api/v1/pods: HTTP 500"), "{stderr}");
}

#[test]
fn report_kube_dump_matches_report_kube() {
    let server = serve(Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), server.port);
    let live = costscope()
        .env("KUBECONFIG", &config)
        .args(["report", "--kube", "--context", CONTEXT, "--format", "csv"])
        .output()
        .unwrap();
    let dump_dir = write_dump(dir.path(), true);
    let offline = costscope()
        .args(["report", "--kube-dump"])
        .arg(&dump_dir)
        .args(["--format", "csv"])
        .output()
        .unwrap();
    assert_eq!(offline.status.code(), Some(0), "{}", String::from_utf8_lossy(&offline.stderr));
    let strip = |b: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(b)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(strip(&offline.stdout), strip(&live.stdout));
}

#[test]
fn the_dashboard_loads_a_dump_as_one_more_source() {
    use costscope::cli::SourceArgs;
    use costscope::model::SourceState;
    use costscope::tui::app::{Msg, Progress};
    use costscope::tui::loader::{LoadContext, load};

    let root = tempfile::tempdir().unwrap();
    let dir = write_dump(root.path(), false);
    let ctx = LoadContext {
        sources: SourceArgs { kube_dump: vec![dir], ..Default::default() },
        config: costscope::config::Config::defaults(),
        rules_dir: None,
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let data = std::thread::spawn(move || {
        load(&ctx, 1, &tx, &costscope::source::progress::ReadProgress::new())
    })
    .join()
    .unwrap()
    .unwrap();
    let mut progress = Vec::new();
    while let Ok(msg) = rx.try_recv() {
        if let Msg::Progress { state, .. } = msg {
            progress.push(state);
        }
    }
    let Some(Progress::Done(detail)) = progress.last() else { panic!("{progress:?}") };
    assert_eq!(detail, "7 nodes, 7 workloads; no metrics, requests only");
    let [status] = data.report.sources.as_slice() else { panic!("one source") };
    assert_eq!(status.state, SourceState::Partial);
    assert!(status.name.starts_with("Kubernetes dump "), "{}", status.name);
    assert_eq!(data.report.clusters[0].name, CONTEXT);
    assert!(data.report.findings.iter().any(|f| f.rule_id == "k8s-node-underutilized"));
}

// --- Prometheus history (`--prometheus URL`) -------------------------------------------------

use costscope::model::cluster::UsageSource;
use costscope::source::prometheus::HistoryConfig;

const COREDNS_1: &str = "coredns-674b8bbfcf-nkzz6";
const COREDNS_2: &str = "coredns-674b8bbfcf-tb6jx";
const ETCD: &str = "etcd-v1.33-control-plane";
const APISERVER: &str = "kube-apiserver-v1.33-control-plane";
const KINDNET: &str = "kindnet-npdrn";

/// What the fake Prometheus answers: 500s, a page that is not JSON, or the history below.
#[derive(Clone, Copy, PartialEq)]
enum PromMode {
    History,
    /// The history, with coredns quiet on the network (k8s-workload-abandoned fires).
    Quiet,
    Status500,
    Garbage,
}

/// The kind cluster's history as Prometheus would answer krr's queries, per (pod, container):
/// (CPU p95 in cores, memory max in bytes, points). coredns's memory max (90Mi) is far above
/// its metrics-server sample (6632Ki); etcd has history but no sample; the API server only a
/// day; kindnet answers NaN and +Inf; kube-proxy and the rest are not in Prometheus at all.
fn prom_history() -> Vec<(&'static str, &'static str, &'static str, &'static str, u64)> {
    vec![
        (COREDNS_1, "coredns", "0.0123", "62914560", 4032),
        (COREDNS_2, "coredns", "0.0456", "94371840", 4032),
        (ETCD, "etcd", "0.02", "41943040", 4032),
        (APISERVER, "kube-apiserver", "0.05", "367001600", 288),
        (KINDNET, "kindnet-cni", "NaN", "+Inf", 4032),
    ]
}

/// Network per pod as Prometheus would answer the busiest-5-minute queries: (received B/s,
/// sent B/s, points). The second coredns replica sends 620 B/s at its busiest, over the
/// 500 B/s threshold (45 when `quiet`). etcd and kindnet use the host's network: their series
/// (zeros here) must not make them quiet. kube-proxy has none at all.
fn prom_network(quiet: bool) -> Vec<(&'static str, &'static str, &'static str, u64)> {
    vec![
        (COREDNS_1, "35.5", "40", 4032),
        (COREDNS_2, "180.25", if quiet { "45" } else { "620" }, 4032),
        (ETCD, "0", "0", 4032),
        (KINDNET, "0", "0", 4032),
    ]
}

struct PromServer {
    url: String,
    /// (authorization header, decoded query) of every request.
    requests: Arc<Mutex<Vec<(String, String)>>>,
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// Answers an instant query from [`prom_history`]: the measure from the function the query
/// starts with, the pods from its `pod=~"…"` regex.
fn prom_answer(query: &str, quiet: bool) -> Value {
    let regex = query.split("pod=~\"").nth(1).unwrap().split('"').next().unwrap();
    let pods: Vec<String> = regex.split('|').map(|p| p.replace("\\\\", "")).collect();
    let mut result = Vec::new();
    if query.contains("container_network_") {
        // Per pod: no container label, as `sum(...) by (pod)` answers.
        for (pod, rx, tx, points) in prom_network(quiet) {
            if !pods.iter().any(|p| p == pod) {
                continue;
            }
            let value = if query.starts_with("count_over_time(") {
                points.to_string()
            } else if query.contains("container_network_receive_bytes_total") {
                rx.to_string()
            } else {
                tx.to_string()
            };
            result.push(json!({"metric": {"pod": pod}, "value": [1_755_000_000.123, value]}));
        }
        return json!({"status": "success", "data": {"resultType": "vector", "result": result}});
    }
    for (pod, container, cpu, memory, points) in prom_history() {
        if !pods.iter().any(|p| p == pod) {
            continue;
        }
        let value = if query.starts_with("quantile_over_time(0.95,") {
            cpu.to_string()
        } else if query.starts_with("max_over_time(") {
            memory.to_string()
        } else if query.starts_with("count_over_time(") {
            points.to_string()
        } else {
            panic!("unexpected query {query}")
        };
        result.push(json!({"metric": {"container": container, "pod": pod},
                           "value": [1_755_000_000.123, value]}));
    }
    json!({"status": "success", "data": {"resultType": "vector", "result": result}})
}

fn serve_prometheus(mode: PromMode) -> PromServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let (mut length, mut auth) = (0usize, String::new());
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
                let (name, value) = header.split_once(':').unwrap_or(("", ""));
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap(),
                    "authorization" => auth = value.trim().to_string(),
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            std::io::Read::read_exact(&mut reader, &mut body).unwrap();
            let form = String::from_utf8(body).unwrap();
            let query = form
                .split('&')
                .find_map(|kv| kv.strip_prefix("query="))
                .map(percent_decode)
                .unwrap_or_default();
            assert!(line.starts_with("POST /api/v1/query "), "{line}");
            log.lock().unwrap().push((auth, query.clone()));
            let (code, body) = match mode {
                PromMode::History => (200, prom_answer(&query, false).to_string()),
                PromMode::Quiet => (200, prom_answer(&query, true).to_string()),
                PromMode::Status500 => (
                    500,
                    json!({"status": "error", "errorType": "internal", "error": "out of memory"})
                        .to_string(),
                ),
                PromMode::Garbage => (200, "<html>a proxy's login page</html>".to_string()),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    PromServer { url: format!("http://127.0.0.1:{port}"), requests }
}

/// A loopback port nothing listens on.
fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn history_config(url: &str) -> HistoryConfig {
    HistoryConfig {
        url: url.to_string(),
        lookback_days: 14,
        token: Some("s3cret-token".into()),
        timeout: std::time::Duration::from_secs(20),
    }
}

fn container<'a>(
    c: &'a Collected,
    workload: &str,
) -> &'a costscope::model::cluster::ContainerResources {
    let w = c.cluster.workloads.iter().find(|w| w.name == workload).unwrap();
    &w.containers[0]
}

#[test]
fn prometheus_history_replaces_the_single_sample() {
    let server = serve(Faults::default());
    let prom = serve_prometheus(PromMode::History);
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), server.port);
    let c = live::read_with(
        Some(&config),
        Some(CONTEXT),
        Some(&history_config(&prom.url)),
        live::DEFAULT_TIMEOUT,
    )
    .unwrap();

    // One namespace with scheduled pods (the Pending pod is not asked for): six queries,
    // krr's three and three for the network, over 14 days at a 5-minute step, with the token.
    let requests = prom.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 6, "{requests:#?}");
    for (auth, query) in &requests {
        assert_eq!(auth, "Bearer s3cret-token");
        assert!(query.contains("namespace=\"kube-system\""), "{query}");
        assert!(query.contains("[14d:5m]"), "{query}");
        assert!(query.contains(r"etcd-v1\\.33-control-plane"), "{query}");
        assert!(!query.contains("kotsadm"), "{query}");
    }
    assert!(requests.iter().any(|(_, q)| {
        q.starts_with("quantile_over_time(0.95, max(rate(container_cpu_usage_seconds_total{")
    }));
    assert!(
        requests
            .iter()
            .any(|(_, q)| q.starts_with("max_over_time(max(container_memory_working_set_bytes{"))
    );
    assert!(requests.iter().any(|(_, q)| q.starts_with(
        "max_over_time(sum(max(rate(container_network_transmit_bytes_total{namespace=\"kube-system\","
    )));

    // coredns's network: the busiest replica's busiest 5 minutes, received (180.25 B/s) and
    // sent (620 B/s), over the longer-lived replica's 14 days.
    let workload = |name: &str| c.cluster.workloads.iter().find(|w| w.name == name).unwrap();
    assert_eq!(
        workload("coredns").network,
        Some(costscope::model::cluster::WorkloadNetwork {
            rx_max_bytes_per_second: 180.25,
            tx_max_bytes_per_second: 620.0,
            days: 14.0,
            points: 8064,
        })
    );
    // hostNetwork pods: etcd's and kindnet's zeros are the node's business, not quiet pods;
    // kube-proxy has no series at all. No data is not zero traffic.
    for name in [ETCD, "kindnet", "kube-proxy"] {
        assert_eq!(workload(name).network, None, "{name}");
    }

    // coredns: CPU the larger replica p95 (0.0456 → 46m), memory the larger max (90Mi, far
    // above the 6632Ki sample), points of both replicas.
    let coredns = container(&c, "coredns");
    assert_eq!(coredns.usage, Some(Resources { cpu_millicores: 46, memory_bytes: 90 * MI }));
    assert_eq!(coredns.usage_source, Some(UsageSource::Prometheus { points: 8064, days: 14.0 }));
    // etcd had no metrics-server sample; Prometheus knows it.
    let etcd = container(&c, ETCD);
    assert_eq!(etcd.usage, Some(Resources { cpu_millicores: 20, memory_bytes: 40 * MI }));
    // The API server: 288 points at 5 minutes is one day.
    let api = container(&c, APISERVER);
    assert_eq!(api.usage_source, Some(UsageSource::Prometheus { points: 288, days: 1.0 }));
    // kindnet's NaN and +Inf are left out, so it has no usage at all; kube-proxy keeps its
    // metrics-server sample.
    assert_eq!(container(&c, "kindnet").usage, None);
    assert_eq!(container(&c, "kindnet").usage_source, None);
    let proxy = container(&c, "kube-proxy");
    assert_eq!(proxy.usage_source, Some(UsageSource::MetricsServer { samples: 1 }));
    assert!(proxy.usage.is_some());

    assert!(!c.partial, "{:?}", c.warnings);
    assert!(
        c.warnings.iter().any(|w| w.contains("2 NaN or infinite value(s) left out")),
        "{:?}",
        c.warnings
    );
    let missing = c.warnings.iter().find(|w| w.contains("has no history for")).unwrap();
    assert!(missing.contains("4 of 7 containers"), "{missing}");
    assert!(missing.contains("kube-system/kube-proxy/kube-proxy"), "{missing}");
    assert!(!format!("{c:?}").contains("s3cret"), "the token never shows");

    // The same dump with the same Prometheus gives the same cluster.
    let dump_dir = write_dump(dir.path(), true);
    let offline = dump::read_dump_with(&dump_dir, Some(&history_config(&prom.url))).unwrap();
    assert_eq!(offline.cluster, c.cluster);
    assert_eq!(offline.warnings, c.warnings);
}

fn report_json(args: &[&str], kube: &Path) -> (Option<i32>, Value, String) {
    let out = costscope()
        .env("KUBECONFIG", kube)
        .env("COSTSCOPE_PROMETHEUS_TOKEN", "s3cret-token")
        .args(["report", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), report, stderr)
}

fn finding<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "k8s-workload-overrequested" && f["resource_id"] == id)
        .unwrap_or_else(|| panic!("no finding on {id}: {:#}", report["findings"]))
}

#[test]
fn report_with_prometheus_has_high_confidence_findings_from_the_history() {
    let server = serve(Faults::default());
    let prom = serve_prometheus(PromMode::History);
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), server.port);
    let (code, report, stderr) =
        report_json(&["--kube", "--context", CONTEXT, "--prometheus", &prom.url], &config);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("s3cret") && !report.to_string().contains("s3cret"));
    let core: f64 = report["clusters"][0]["cpu_cost_per_core"].as_str().unwrap().parse().unwrap();
    let gib: f64 = report["clusters"][0]["memory_cost_per_gib"].as_str().unwrap().parse().unwrap();
    let savings =
        |f: &Value| -> f64 { f["estimated_monthly_savings"].as_str().unwrap().parse().unwrap() };

    // coredns: 100m asked, p95 46m → 54m freed on each of 2 replicas. Memory: the target is
    // 90Mi × 1.15 from Prometheus's max, never the 6632Ki sample's 100Mi floor, and is above
    // the 70Mi request, so no memory is freed.
    let coredns = finding(&report, "eks-test/kube-system/Deployment/coredns/coredns");
    assert_eq!(coredns["confidence"], "high");
    assert_eq!(coredns["target"], "cpu 46m, memory 104Mi");
    let evidence = coredns["evidence"].as_str().unwrap();
    assert!(
        evidence.contains("CPU p95 and memory max over 14 days from Prometheus (8064 points)"),
        "{evidence}"
    );
    assert!(evidence.contains("uses 46m CPU (p95) / 90Mi (max)"), "{evidence}");
    assert!(!evidence.contains("metrics-server"), "{evidence}");
    assert!((savings(coredns) - 2.0 * 0.054 * core).abs() < 0.006, "{coredns:#}");

    // etcd: no metrics-server sample, so only Prometheus makes it judgeable: 100m → 20m;
    // memory 40Mi × 1.15 is under the 100Mi floor, which is the request.
    let etcd = finding(&report, &format!("eks-test/kube-system/Pod/{ETCD}/etcd"));
    assert_eq!(etcd["confidence"], "high");
    assert_eq!(etcd["target"], "cpu 20m, memory 100Mi");
    assert!((savings(etcd) - 0.080 * core).abs() < 0.006, "{etcd:#}");

    // The API server: 250m → 50m, but one day of history is medium confidence.
    let api = finding(&report, &format!("eks-test/kube-system/Pod/{APISERVER}/kube-apiserver"));
    assert_eq!(api["confidence"], "medium");
    assert!(api["evidence"].as_str().unwrap().contains("over 1 days from Prometheus (288 points)"));
    // No memory request, so the 350Mi max frees nothing: CPU alone.
    assert!((savings(api) - 0.200 * core).abs() < 0.006, "{api:#} {gib}");

    // coredns sends 620 B/s at its busiest: not abandoned.
    assert!(
        !report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule_id"] == "k8s-workload-abandoned"),
        "{:#}",
        report["findings"]
    );

    // Every rule expression, confidence_expr included, evaluated cleanly.
    assert_eq!(report["warnings"], json!([]), "{}", report["warnings"]);

    // The dump with the same Prometheus: the same findings.
    let dump_dir = write_dump(dir.path(), true);
    let (code, offline, stderr) = report_json(
        &["--kube-dump", dump_dir.to_str().unwrap(), "--prometheus", &prom.url],
        &config,
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(offline["findings"], report["findings"]);

    // A snapshot keeps where usage came from: reported later, the same findings.
    let snapshot = dir.path().join("snapshot.json");
    let out = costscope()
        .args(["collect", "--kube-dump", dump_dir.to_str().unwrap(), "--prometheus", &prom.url])
        .arg("--out")
        .arg(&snapshot)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&snapshot).unwrap()).unwrap();
    let coredns = saved["clusters"][0]["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "coredns")
        .unwrap();
    assert_eq!(
        coredns["containers"][0]["usage_source"],
        json!({"prometheus": {"points": 8064, "days": 14.0}})
    );
    let (code, later, stderr) = report_json(&["--snapshot", snapshot.to_str().unwrap()], &config);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(later["findings"], report["findings"]);
}

#[test]
fn report_with_prometheus_finds_a_workload_nobody_talks_to() {
    let server = serve(Faults::default());
    let prom = serve_prometheus(PromMode::Quiet);
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), server.port);
    let (code, report, stderr) =
        report_json(&["--kube", "--context", CONTEXT, "--prometheus", &prom.url], &config);
    assert_eq!(code, Some(0), "{stderr}");
    let findings = report["findings"].as_array().unwrap();
    let abandoned: Vec<&Value> =
        findings.iter().filter(|f| f["rule_id"] == "k8s-workload-abandoned").collect();
    // Only coredns: the hostNetwork pods' zeros (etcd, kindnet) are no evidence of quiet.
    let [f] = abandoned.as_slice() else { panic!("{abandoned:#?} {stderr}") };
    assert_eq!(f["resource_id"], "eks-test/kube-system/Deployment/coredns");
    assert_eq!(f["resource_type"], "k8s_workload");
    assert_eq!(f["target"], "0 replicas");
    let evidence = f["evidence"].as_str().unwrap();
    assert!(
        evidence.contains(
            "its busiest pod received at most 180.25 B/s and sent at most 45 B/s (busiest 5 \
             minutes over 14 days from Prometheus, 8064 points; threshold 500 B/s); 2 replica(s) \
             request 100m CPU and 70Mi each"
        ),
        "{evidence}"
    );
    // 2 replicas × (0.1 core × the cluster's price of a core + 70/1024 GiB × its price of a GiB).
    let price =
        |key: &str| -> f64 { report["clusters"][0][key].as_str().unwrap().parse().unwrap() };
    let expected =
        2.0 * (0.1 * price("cpu_cost_per_core") + 70.0 / 1024.0 * price("memory_cost_per_gib"));
    let savings: f64 = f["estimated_monthly_savings"].as_str().unwrap().parse().unwrap();
    assert!((savings - expected).abs() < 1e-5, "{savings} vs {expected}");
    // Its container's request finding frees part of the same money: an alternative now.
    let container = finding(&report, "eks-test/kube-system/Deployment/coredns/coredns");
    assert_eq!(container["alternative"], true);
}

/// A Prometheus that fails: the run still reports from metrics-server, warns naming the URL
/// and why, and exits 3.
fn assert_degrades(url: &str, why: &str) {
    let server = serve(Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), server.port);
    let (code, report, stderr) =
        report_json(&["--kube", "--context", CONTEXT, "--prometheus", url], &config);
    assert_eq!(code, Some(3), "{stderr}");
    let [source] = report["sources"].as_array().unwrap().as_slice() else { panic!() };
    assert_eq!(source["state"], "partial");
    let warnings = source["warnings"].to_string();
    assert!(warnings.contains(&format!("Prometheus {url} failed: ")), "{warnings}");
    assert!(warnings.contains(why), "{warnings}");
    assert!(warnings.contains("keep metrics-server's single sample"), "{warnings}");
    assert!(stderr.contains(why), "{stderr}");
    // The rest is intact: coredns from its metrics-server sample, low confidence, and the
    // node rules.
    let coredns = finding(&report, "eks-test/kube-system/Deployment/coredns/coredns");
    assert_eq!(coredns["confidence"], "low");
    assert!(coredns["evidence"].as_str().unwrap().contains("one metrics-server sample"));
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule_id"] == "k8s-node-underutilized")
    );
    assert_eq!(report["clusters"][0]["nodes"].as_array().unwrap().len(), 7);
}

#[test]
fn a_prometheus_answering_500_is_a_warning_and_exit_3() {
    let prom = serve_prometheus(PromMode::Status500);
    assert_degrades(&prom.url, "HTTP 500: internal: out of memory");
}

#[test]
fn a_prometheus_answering_garbage_is_a_warning_and_exit_3() {
    let prom = serve_prometheus(PromMode::Garbage);
    assert_degrades(&prom.url, "not a Prometheus API answer (line 1, column 1");
}

#[test]
fn an_unreachable_prometheus_is_a_warning_and_exit_3() {
    let url = refused_url();
    assert_degrades(&url, "Connection refused");
}

#[test]
fn a_silent_prometheus_times_out() {
    // Listens (the kernel completes the connections) and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let pods = vec![("kube-system".to_string(), COREDNS_1.to_string())];
    let config =
        HistoryConfig { timeout: std::time::Duration::from_millis(200), ..history_config(&url) };
    let history = costscope::source::prometheus::fetch_blocking(&config, &pods, None);
    assert!(history.containers.is_empty());
    assert!(history.pods.is_empty());
    assert_eq!(history.failures.len(), 6, "{:?}", history.failures);
    assert!(
        history.failures.iter().all(|f| f == "no answer within 0.2 s"),
        "{:?}",
        history.failures
    );
    drop(listener);
}

#[test]
fn a_bad_prometheus_url_is_bad_usage() {
    let out = costscope()
        .args(["report", "--sample", "--prometheus", "prometheus:9090"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not an http:// or https:// URL"), "{stderr}");
}

#[test]
fn https_to_a_plain_http_prometheus_is_a_failure_not_a_panic() {
    let prom = serve_prometheus(PromMode::History);
    let url = prom.url.replace("http://", "https://");
    let pods = vec![("kube-system".to_string(), COREDNS_1.to_string())];
    let history = costscope::source::prometheus::fetch_blocking(&history_config(&url), &pods, None);
    assert!(history.containers.is_empty());
    let summary = history.failure_summary().unwrap();
    assert!(summary.starts_with(&format!("Prometheus {url} failed: ")), "{summary}");
}

// --- Volumes, load balancers and autoscalers (issue 14) ------------------------------------

#[test]
fn live_cluster_reads_volumes_claims_load_balancers_and_autoscalers() {
    use costscope::model::cluster::storage::{ClaimPhase, VolumePhase};
    let (result, _) = read_live(Faults::default());
    let c = result.unwrap();
    assert!(!c.partial, "{:?}", c.warnings);
    let k = &c.cluster;
    assert_eq!(k.volumes.len(), 3);
    let released = k.volumes.iter().find(|v| v.phase == VolumePhase::Released).unwrap();
    assert_eq!(released.capacity_bytes, 100 << 30);
    assert_eq!(released.volume_handle.as_deref(), Some("vol-0a1b2c3d4e5f60718"));
    assert_eq!(released.claim.as_ref().unwrap().name, "data-clickhouse-0");
    let in_tree = k.volumes.iter().find(|v| v.storage_class.as_deref() == Some("gp2")).unwrap();
    assert_eq!(in_tree.driver.as_deref(), Some("kubernetes.io/aws-ebs"));
    let claim = |name: &str| k.claims.iter().find(|c| c.name == name).unwrap();
    assert_eq!(claim("coredns-cache").mounted_by, ["coredns-674b8bbfcf-nkzz6"]);
    assert!(claim("prometheus-data").mounted_by.is_empty());
    assert_eq!(claim("prometheus-data").capacity_bytes, Some(50 << 30));
    assert_eq!(claim("scratch").phase, ClaimPhase::Pending);
    let gp3 = k.storage_classes.iter().find(|s| s.name == "gp3").unwrap();
    assert!(gp3.default);
    assert_eq!(gp3.provisioner, "ebs.csi.aws.com");
    // Two of the four Services are load balancers with a selector; kube-dns has a ready endpoint.
    let names: Vec<&str> = k.load_balancers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["kube-dns", "legacy-admin", "storefront"]);
    let ready: Vec<Option<u32>> = k.load_balancers.iter().map(|s| s.ready_endpoints).collect();
    assert_eq!(ready, [Some(1), Some(0), Some(0)]);
    assert_eq!(k.autoscalers.len(), 1);
    assert_eq!(k.autoscalers[0].cpu_target_percent, Some(70));
    assert_eq!(k.autoscalers[0].target_name, "metrics-server");
}

#[test]
fn forbidden_storage_lists_are_warnings_and_a_failing_services_list_is_partial() {
    let (result, _) = read_live(Faults { storage_forbidden: true, ..Faults::default() });
    let c = result.unwrap();
    assert!(!c.partial, "a 403 is expected of a restricted account: {:?}", c.warnings);
    assert!(c.cluster.volumes.is_empty() && c.cluster.storage_classes.is_empty());
    assert_eq!(c.cluster.claims.len(), 3, "claims are still read");
    let w = c.warnings.iter().find(|w| w.starts_with("persistentvolumes not read")).unwrap();
    assert!(w.contains("HTTP 403") && w.contains("/api/v1/persistentvolumes"), "{w}");
    assert!(w.contains("released and unbound volumes are not judged"), "{w}");
    assert!(
        c.warnings.iter().any(|w| w.starts_with("storageclasses not read")),
        "{:?}",
        c.warnings
    );

    let (result, _) = read_live(Faults { services_fail: true, ..Faults::default() });
    let c = result.unwrap();
    assert!(c.partial, "a 500 is a failure of the source");
    assert!(c.cluster.load_balancers.is_empty());
    let w = c.warnings.iter().find(|w| w.starts_with("services not read")).unwrap();
    assert!(w.contains("HTTP 500"), "{w}");
    assert_eq!(c.cluster.volumes.len(), 3, "the rest is read");
}

#[test]
fn report_kube_finds_unclaimed_volumes_and_unused_load_balancers() {
    let server = serve(Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), server.port);
    let out = costscope()
        .env("KUBECONFIG", &config)
        .args(["report", "--kube", "--context", CONTEXT, "--format", "csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = csv_rows(&String::from_utf8(out.stdout).unwrap());
    let row = |rule: &str, id: &str| {
        rows.iter()
            .find(|r| r["rule_id"] == rule && r["resource_id"] == id)
            .unwrap_or_else(|| panic!("{rule} on {id} missing: {rows:#?}"))
    };
    let fired =
        |rule: &str, id: &str| rows.iter().any(|r| r["rule_id"] == rule && r["resource_id"] == id);
    // The Released PV: 100 GiB of gp3 (EBS CSI) × 0.08 in us-east-1 = 8.00, by its EBS id.
    let released = row("k8s-volume-unclaimed", "vol-0a1b2c3d4e5f60718");
    assert_eq!(released["estimated_monthly_savings"].parse::<f64>().unwrap(), 8.0);
    assert_eq!(released["resource_type"], "k8s_volume");
    let e = &released["evidence"];
    assert!(e.contains("is Released, released by claim analytics/data-clickhouse-0"), "{e}");
    assert!(e.contains("reclaim policy Retain"), "{e}");
    // prometheus-data: bound, no pod mounts it: 50 GiB × 0.08 = 4.00.
    let unmounted = row("k8s-volume-unclaimed", "vol-0f9e8d7c6b5a40312");
    assert_eq!(unmounted["estimated_monthly_savings"].parse::<f64>().unwrap(), 4.0);
    assert!(unmounted["evidence"].contains("claim monitoring/prometheus-data is bound"));
    // Near misses: coredns-cache is mounted by a coredns pod; scratch is Pending (and new).
    assert!(!fired("k8s-volume-unclaimed", "vol-02b3c4d5e6f708192"));
    assert!(!fired("k8s-volume-unclaimed", "eks-test/shop/pvc/scratch"));
    // storefront asks for an NLB: 0.0225 × 730 = 16.425; legacy-admin gets the in-tree default,
    // a Classic Load Balancer: 0.025 × 730 = 18.25.
    let nlb = row("k8s-loadbalancer-unused", "eks-test/shop/service/storefront");
    assert_eq!(nlb["estimated_monthly_savings"].parse::<f64>().unwrap(), 16.425);
    assert!(nlb["evidence"].contains("keeps a nlb load balancer"), "{}", nlb["evidence"]);
    let clb = row("k8s-loadbalancer-unused", "eks-test/shop/service/legacy-admin");
    assert_eq!(clb["estimated_monthly_savings"].parse::<f64>().unwrap(), 18.25);
    // Near miss: kube-dns has a ready endpoint.
    assert!(!fired("k8s-loadbalancer-unused", "eks-test/kube-system/service/kube-dns"));
}
