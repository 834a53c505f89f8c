//! `--kube`: a live cluster through kube and the standard kubeconfig (`KUBECONFIG`, else
//! `~/.kube/config`; the in-cluster service account when running as a pod). Lists nodes and
//! pods page by page and reads metrics.k8s.io; a missing or failing metrics API is a warning
//! and a requests-only analysis, never a failure.
//!
//! Every request has a deadline (`[kubernetes] timeout_seconds`, default 60 s: kube's own client
//! waits forever for a silent server) and transient failures (HTTP 429, 500, 502, 503, 504, a
//! reset connection, a timeout) are tried again twice, with backoff, before they count.

use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{
    Node as KubeNode, PersistentVolume, PersistentVolumeClaim, Pod, Service,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde::de::DeserializeOwned;

use super::extras::Extras;
use super::metrics::{self, MetricsList, NodeUsage, PodUsage};
use super::{Collected, Gathered, assemble, autoscalers, nodes, pods, services, storage};
use crate::source::prometheus::{self, HistoryConfig};
use crate::source::{Result, SourceError};

/// Items per list request; the API server may return fewer and a continue token.
const PAGE: u32 = 500;
const NODE_METRICS: &str = "/apis/metrics.k8s.io/v1beta1/nodes";
const POD_METRICS: &str = "/apis/metrics.k8s.io/v1beta1/pods";

/// How long one request (a page of a list, a metrics list) may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Tries of one request, the first included.
const ATTEMPTS: u32 = 3;
/// The wait before the first retry; doubled before each next one.
const BACKOFF: Duration = Duration::from_millis(250);

/// Reads one cluster: `context` of the kubeconfig at `kubeconfig` (default: `KUBECONFIG`, else
/// `~/.kube/config`), or its current context, or the in-cluster config. Runs on its own thread
/// and runtime, so it can be called from synchronous code anywhere (also inside tokio).
pub fn read(kubeconfig: Option<&Path>, context: Option<&str>) -> Result<Collected> {
    read_with(kubeconfig, context, None, DEFAULT_TIMEOUT)
}

/// [`read`], with usage history from Prometheus when `history` is given, and `timeout` for
/// each request to the API server.
pub fn read_with(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
    history: Option<&HistoryConfig>,
    timeout: Duration,
) -> Result<Collected> {
    crate::source::block_on_own_runtime(|| read_async(kubeconfig, context, history, timeout))
        .unwrap_or_else(|e| Err(SourceError::KubeConfig { message: format!("Kubernetes: {e}") }))
}

fn config_error(e: impl std::fmt::Display) -> SourceError {
    SourceError::KubeConfig { message: e.to_string() }
}

/// The client configuration and the name the cluster goes by (the context's name).
async fn config(kubeconfig: Option<&Path>, context: Option<&str>) -> Result<(Config, String)> {
    let options = KubeConfigOptions { context: context.map(str::to_string), ..Default::default() };
    let from_env = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty());
    let file = match kubeconfig {
        Some(path) => Some(Kubeconfig::read_from(path).map_err(|e| SourceError::KubeConfig {
            message: format!("{}: {e}", path.display()),
        })?),
        // A KUBECONFIG that cannot be read is an error, not a reason to try something else.
        None if from_env.is_some() => Some(Kubeconfig::read().map_err(|e| {
            let value = from_env.as_deref().map(|v| v.to_string_lossy()).unwrap_or_default();
            SourceError::KubeConfig { message: format!("KUBECONFIG={value}: {e}") }
        })?),
        None => Kubeconfig::read().ok(),
    };
    match file {
        Some(file) => {
            let name = context
                .map(str::to_string)
                .or_else(|| file.current_context.clone())
                .unwrap_or_else(|| "kubernetes".to_string());
            let config =
                Config::from_custom_kubeconfig(file, &options).await.map_err(config_error)?;
            Ok((config, name))
        }
        None if context.is_some() => Err(SourceError::KubeConfig {
            message: "no kubeconfig found (KUBECONFIG or ~/.kube/config) to take --context from"
                .into(),
        }),
        None => {
            let config = Config::incluster().map_err(|e| SourceError::KubeConfig {
                message: format!(
                    "no kubeconfig (KUBECONFIG or ~/.kube/config) and not inside a cluster ({e})"
                ),
            })?;
            Ok((config, "in-cluster".to_string()))
        }
    }
}

fn api_error(url: &str, e: kube::Error) -> SourceError {
    let message = match &e {
        kube::Error::Api(status) => format!("HTTP {}: {}", status.code, status.message),
        other => crate::error_chain(other),
    };
    SourceError::Api { url: url.to_string(), message }
}

/// One request with a deadline, tried again on a transient failure (see the module's comment).
async fn with_retries<T, F, Fut>(url: &str, timeout: Duration, mut request: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, kube::Error>>,
{
    let mut backoff = BACKOFF;
    for attempt in 1..=ATTEMPTS {
        let failure = match tokio::time::timeout(timeout, request()).await {
            Ok(Ok(answer)) => return Ok(answer),
            Ok(Err(e)) if attempt < ATTEMPTS && transient(&e) => api_error(url, e),
            Ok(Err(e)) => return Err(api_error(url, e)),
            Err(_) => SourceError::Api {
                url: url.to_string(),
                message: format!("no answer within {}s", timeout.as_secs_f64()),
            },
        };
        if attempt == ATTEMPTS {
            return Err(failure);
        }
        tracing::warn!("{failure}; trying again in {} ms", backoff.as_millis());
        tokio::time::sleep(backoff).await;
        backoff *= 2;
    }
    Err(SourceError::Api { url: url.to_string(), message: "no attempt made".to_string() })
}

/// Worth another try: overload, a gateway or server error, or the connection failing.
fn transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(status) => matches!(status.code, 429 | 500 | 502 | 503 | 504),
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// Every item of a list, following continue tokens.
async fn list_all<K>(api: &Api<K>, url: &str, timeout: Duration) -> Result<Vec<K>>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let mut params = ListParams::default().limit(PAGE);
    let mut items = Vec::new();
    loop {
        let page = with_retries(url, timeout, || api.list(&params)).await?;
        items.extend(page.items);
        match page.metadata.continue_.filter(|t| !t.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(items),
        }
    }
}

/// Every item of a metrics list (metrics-server does not paginate, but follow tokens anyway).
async fn metrics_all<T: DeserializeOwned>(
    client: &Client,
    base: &str,
    path: &str,
    timeout: Duration,
) -> Result<Vec<MetricsList<T>>> {
    let url = format!("{base}{path}");
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let uri = match &token {
            Some(t) => format!("{path}?continue={}", crate::source::percent_encode(t)),
            None => path.to_string(),
        };
        let page: MetricsList<T> = with_retries(&url, timeout, || async {
            let request = http::Request::get(uri.as_str())
                .body(Vec::new())
                .map_err(kube::Error::HttpError)?;
            client.request(request).await
        })
        .await?;
        token = page.continue_token().map(str::to_string);
        pages.push(page);
        if token.is_none() {
            return Ok(pages);
        }
    }
}

async fn read_metrics(
    client: &Client,
    base: &str,
    timeout: Duration,
) -> Result<(NodeUsage, PodUsage)> {
    let mut node_usage = NodeUsage::new();
    for page in metrics_all(client, base, NODE_METRICS, timeout).await? {
        metrics::node_usage(page, &mut node_usage).map_err(|message| SourceError::Api {
            url: format!("{base}{NODE_METRICS}"),
            message,
        })?;
    }
    let mut pod_usage = PodUsage::new();
    for page in metrics_all(client, base, POD_METRICS, timeout).await? {
        metrics::pod_usage(page, &mut pod_usage)
            .map_err(|message| SourceError::Api { url: format!("{base}{POD_METRICS}"), message })?;
    }
    Ok((node_usage, pod_usage))
}

async fn read_async(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
    history: Option<&HistoryConfig>,
    timeout: Duration,
) -> Result<Collected> {
    let (mut config, name) = config(kubeconfig, context).await?;
    config.read_timeout = Some(timeout);
    config.connect_timeout = Some(timeout.min(config.connect_timeout.unwrap_or(timeout)));
    let base = config.cluster_url.to_string().trim_end_matches('/').to_string();
    let client = Client::try_from(config).map_err(config_error)?;

    let url = format!("{base}/api/v1/nodes");
    let bad = |e: String| SourceError::Api { url: url.clone(), message: e };
    let node_items = list_all(&Api::<KubeNode>::all(client.clone()), &url, timeout).await?;
    let nodes = node_items
        .iter()
        .map(nodes::from_kube_node)
        .collect::<Result<Vec<_>, String>>()
        .map_err(bad)?;

    let url = format!("{base}/api/v1/pods");
    let pod_items = list_all(&Api::<Pod>::all(client.clone()), &url, timeout).await?;
    let mut specs = Vec::new();
    let mut extras = read_extras(&client, &base, timeout).await;
    for pod in &pod_items {
        storage::mounts(pod, &mut extras.mounts);
        if let Some(spec) = pods::from_kube_pod(pod)
            .map_err(|message| SourceError::Api { url: url.clone(), message })?
        {
            specs.push(spec);
        }
    }

    let metrics = read_metrics(&client, &base, timeout)
        .await
        .map_err(|e| format!("metrics API unavailable ({e})"));
    let mut gathered =
        Gathered { name, nodes, pods: specs, metrics, as_of: None, history: None, extras };
    if let Some(config) = history {
        gathered.history = Some(prometheus::fetch(config, &gathered.scheduled_pods(), None).await);
    }
    gathered.as_of = Some(chrono::Utc::now());
    Ok(assemble(gathered))
}

/// The HTTP status of an API answer that was an error, as [`api_error`] wrote it.
fn http_status(e: &SourceError) -> Option<u16> {
    match e {
        SourceError::Api { message, .. } => {
            message.strip_prefix("HTTP ")?.split(':').next()?.parse().ok()
        }
        _ => None,
    }
}

/// An optional list: its items, or `None` with the failure recorded in `extras`.
async fn optional_list<K>(
    api: Api<K>,
    url: String,
    what: &str,
    timeout: Duration,
    extras: &mut Extras,
) -> Option<Vec<K>>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    match list_all(&api, &url, timeout).await {
        Ok(items) => Some(items),
        Err(e) => {
            extras.failed(what, http_status(&e), &e.to_string());
            None
        }
    }
}

/// Volumes, claims, storage classes, LoadBalancer Services with their EndpointSlices and
/// HorizontalPodAutoscalers; see [`super::extras`] for why none of them can fail the source.
async fn read_extras(client: &Client, base: &str, timeout: Duration) -> Extras {
    let mut x = Extras::default();
    let c = || client.clone();
    let url = |path: &str| format!("{base}{path}");
    let converted = |x: &mut Extras, what: &str, e: String| {
        x.partial = true;
        x.warnings.push(format!("{what}: {e}; left out"));
    };
    let path = "/api/v1/persistentvolumes";
    if let Some(items) = optional_list(
        Api::<PersistentVolume>::all(c()),
        url(path),
        "persistentvolumes",
        timeout,
        &mut x,
    )
    .await
    {
        for v in &items {
            match storage::from_kube_volume(v) {
                Ok(v) => x.volumes.push(v),
                Err(e) => converted(&mut x, &url(path), e),
            }
        }
    }
    let path = "/api/v1/persistentvolumeclaims";
    let what = "persistentvolumeclaims";
    if let Some(items) =
        optional_list(Api::<PersistentVolumeClaim>::all(c()), url(path), what, timeout, &mut x)
            .await
    {
        for claim in &items {
            match storage::from_kube_claim(claim) {
                Ok(claim) => x.claims.push(claim),
                Err(e) => converted(&mut x, &url(path), e),
            }
        }
    }
    let path = "/apis/storage.k8s.io/v1/storageclasses";
    if let Some(items) =
        optional_list(Api::<StorageClass>::all(c()), url(path), "storageclasses", timeout, &mut x)
            .await
    {
        x.storage_classes = items.iter().map(storage::from_kube_storage_class).collect();
    }
    let path = "/api/v1/services";
    if let Some(items) =
        optional_list(Api::<Service>::all(c()), url(path), "services", timeout, &mut x).await
    {
        x.load_balancers = items.iter().filter_map(services::from_kube_service).collect();
    }
    // Only worth reading when some Service is a load balancer.
    if !x.load_balancers.is_empty() {
        let path = "/apis/discovery.k8s.io/v1/endpointslices";
        if let Some(items) = optional_list(
            Api::<EndpointSlice>::all(c()),
            url(path),
            "endpointslices",
            timeout,
            &mut x,
        )
        .await
        {
            let mut ready = services::ReadyEndpoints::new();
            for slice in &items {
                services::count_ready(slice, &mut ready);
            }
            x.ready = Some(ready);
        }
    }
    let path = "/apis/autoscaling/v2/horizontalpodautoscalers";
    let what = "horizontalpodautoscalers";
    if let Some(items) =
        optional_list(Api::<HorizontalPodAutoscaler>::all(c()), url(path), what, timeout, &mut x)
            .await
    {
        x.autoscalers = items.iter().map(autoscalers::from_kube_hpa).collect();
    }
    x
}
