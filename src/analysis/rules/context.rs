//! What a rule sees: each resource of the snapshot as CEL values (`r`, `u`), its current
//! monthly cost with where that figure came from, and the price functions.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use cel_interpreter::extractors::Arguments;
use cel_interpreter::objects::{Key, Map};
use cel_interpreter::{Context, ExecutionError, Value};
use chrono::{DateTime, Utc};

pub mod commitments;
mod dynamodb;
mod elasticache;
mod images;
mod k8s_cloud;
mod k8s_load_balancers;
mod k8s_volumes;
pub mod lambda;
pub mod load_balancer;
pub mod log_group;
mod opensearch;
pub mod rds;
mod redshift;
mod s3;

use super::fields_read::{FieldsRead, ViewFields};
use super::rule::ResourceKind;
use crate::model::inventory::InstanceState;
use crate::model::utilization::UtilizationSummary;
use crate::model::{BillingSummary, Currency, Money, ResourceCost, Snapshot, Tags};
use crate::pricing::catalog::{HOURS_PER_MONTH, PriceCatalog};

/// Where a resource's current monthly cost came from; the evidence says it.
#[derive(Clone, Debug, PartialEq)]
pub enum CostSource {
    /// Billed cost by resource id, scaled to 730 hours from the days billed. `basis` is set
    /// when the resource's EffectiveCost differs from its BilledCost (a commitment covered it),
    /// so the evidence says which one the figure is.
    Billing { days: i64, basis: Option<ResourceCost> },
    /// The price catalog, with the price used.
    Catalog { detail: String },
    /// Neither knew; the reason.
    Unknown { reason: String },
    /// A share of other resources' costs: a Kubernetes container's requests at its cluster's
    /// average node cost per core and per GiB; `detail` says how.
    Allocated { detail: String },
    /// A price the user set in `costscope.toml` (a storage class's price per GiB-month), which
    /// overrides the tables; `detail` says which.
    Configured { detail: String },
}

#[derive(Clone, Debug)]
pub struct CurrentCost {
    pub monthly: Option<Money>,
    pub currency: Currency,
    pub source: CostSource,
}

impl CurrentCost {
    pub fn describe(&self) -> String {
        let amount = |m: Money| match self.currency.code() {
            Some(code) => format!("{} {code}/month", m.display_2dp()),
            None => format!("{}/month (currency unknown)", m.display_2dp()),
        };
        let days = |d: i64| if d == 1 { "1 day".to_string() } else { format!("{d} days") };
        match (&self.source, self.monthly) {
            (CostSource::Billing { days: d, basis: None }, Some(m)) => {
                format!("current cost {} from billing ({} billed)", amount(m), days(*d))
            }
            (CostSource::Billing { days: d, basis: Some(ResourceCost::Effective) }, Some(m)) => {
                format!(
                    "current cost {} from billing (effective cost, commitment discounts \
                     amortized; {} billed)",
                    amount(m),
                    days(*d)
                )
            }
            (CostSource::Billing { days: d, basis: Some(ResourceCost::Billed) }, Some(m)) => {
                format!(
                    "current cost {} from billing (billed cost, commitment discounts not \
                     amortized; {} billed)",
                    amount(m),
                    days(*d)
                )
            }
            (CostSource::Catalog { detail }, Some(m)) => {
                format!("current cost {} from the price catalog ({detail})", amount(m))
            }
            (CostSource::Allocated { detail }, Some(m)) => {
                format!("current cost {} allocated from node costs ({detail})", amount(m))
            }
            (CostSource::Configured { detail }, Some(m)) => {
                format!("current cost {} from the config ({detail})", amount(m))
            }
            (CostSource::Unknown { reason }, _) => format!("current cost unknown: {reason}"),
            (_, None) => "current cost unknown".to_string(),
        }
    }
}

/// One resource as the rules see it.
pub struct ResourceView<'a> {
    pub kind: ResourceKind,
    pub id: String,
    /// The `resource_type` column: `ec2_instance`, … or billing's ResourceType.
    pub resource_type: String,
    pub account_id: String,
    pub region: String,
    pub tags: &'a Tags,
    /// The `r` variable.
    pub r: Value,
    pub utilization: Option<&'a UtilizationSummary>,
    pub cost: CurrentCost,
}

fn text(s: &str) -> Value {
    Value::String(Arc::new(s.to_string()))
}

/// Most text fields repeat across resources (states, types, regions, tag values): their values
/// are shared per thread, so a resource's field is a reference count instead of two
/// allocations. Ids are not: each is new. The cache stops growing at `SHARED_TEXTS_MAX`.
fn shared_text(s: &str) -> Value {
    SHARED_TEXTS.with_borrow_mut(|texts| match texts.get(s) {
        Some(value) => value.clone(),
        None if texts.len() < SHARED_TEXTS_MAX => {
            let value = text(s);
            texts.insert(s.to_string(), value.clone());
            value
        }
        None => text(s),
    })
}

const SHARED_TEXTS_MAX: usize = 4096;

fn num(n: f64) -> Value {
    Value::Float(n)
}

fn days_between(earlier: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Value {
    earlier.map_or(Value::Null, |t| num((now - t).num_seconds() as f64 / 86_400.0))
}

fn tags_value(tags: &Tags) -> Value {
    let mut map = Fields::new();
    for (k, v) in tags.iter() {
        map.insert_named(k, shared_text(v));
    }
    map.into_value()
}

thread_local! {
    /// Map keys built once per thread and shared by every resource's map: a `Key` clone is a
    /// reference count, where a fresh key was two allocations (the `String`, then its `Arc`).
    static FIELD_KEYS: std::cell::RefCell<HashMap<&'static str, Key>> = Default::default();
    static NAMED_KEYS: std::cell::RefCell<HashMap<String, Key>> = Default::default();
    static SHARED_TEXTS: std::cell::RefCell<HashMap<String, Value>> = Default::default();
}

/// A CEL map under construction, with shared keys (the fields of `r`, `u`, tags). A map built
/// for the rules keeps only the fields they read (see [`FieldsRead`]).
pub(crate) struct Fields<'w> {
    map: HashMap<Key, Value>,
    wanted: Option<&'w FieldsRead>,
}

impl<'w> Fields<'w> {
    /// Every field.
    pub(crate) fn new() -> Fields<'w> {
        Fields { map: HashMap::with_capacity(16), wanted: None }
    }

    /// Only the fields in `wanted`.
    fn wanting(wanted: &'w FieldsRead) -> Fields<'w> {
        Fields { map: HashMap::with_capacity(16), wanted: Some(wanted) }
    }

    fn wants(&self, name: &str) -> bool {
        self.wanted.is_none_or(|w| w.wants(name))
    }

    /// A field named by the code.
    pub(crate) fn insert(&mut self, name: &'static str, value: Value) {
        if self.wants(name) {
            self.put(name, value);
        }
    }

    /// A field whose value costs something to build (text, lists, maps): built only when
    /// wanted.
    fn insert_with(&mut self, name: &'static str, value: impl FnOnce() -> Value) {
        if self.wants(name) {
            self.put(name, value());
        }
    }

    fn put(&mut self, name: &'static str, value: Value) {
        let key = FIELD_KEYS.with_borrow_mut(|keys| {
            keys.entry(name).or_insert_with(|| Key::String(Arc::new(name.to_string()))).clone()
        });
        self.map.insert(key, value);
    }

    /// A field named by the data (a tag or label key).
    fn insert_named(&mut self, name: &str, value: Value) {
        let key = NAMED_KEYS.with_borrow_mut(|keys| match keys.get(name) {
            Some(key) => key.clone(),
            None => {
                let key = Key::String(Arc::new(name.to_string()));
                keys.insert(name.to_string(), key.clone());
                key
            }
        });
        self.map.insert(key, value);
    }

    pub(crate) fn into_value(self) -> Value {
        Value::Map(Map { map: Arc::new(self.map) })
    }
}

/// Per-resource billed cost and days, for turning billing into a monthly figure.
struct BilledCosts<'a> {
    /// Cost on the configured basis, and whether it differs from BilledCost.
    by_resource: BTreeMap<&'a str, (Money, Currency, bool)>,
    billing: Option<&'a BillingSummary>,
    basis: ResourceCost,
}

impl<'a> BilledCosts<'a> {
    fn new(billing: Option<&'a BillingSummary>, basis: ResourceCost) -> BilledCosts<'a> {
        let mut by_resource: BTreeMap<&str, (Money, Currency, bool)> = BTreeMap::new();
        if let Some(b) = billing.filter(|b| b.grain.resource) {
            for line in b.lines.iter().filter(|l| !l.resource_id.is_empty()) {
                let slot = by_resource.entry(line.resource_id.as_str()).or_insert((
                    Money::ZERO,
                    line.currency.clone(),
                    false,
                ));
                slot.0 += basis.of(line);
                slot.2 |= line.effective_cost.is_some_and(|e| e != line.billed_cost);
            }
        }
        BilledCosts { by_resource, billing, basis }
    }

    /// Billed cost over the days the resource was billed, scaled to a 730-hour month.
    fn monthly(&self, id: &str) -> Option<CurrentCost> {
        let (cost, currency, differs) = self.by_resource.get(id)?;
        let resource = self.billing?.resources.get(id)?;
        let (Some(first), Some(last)) = (resource.first_day, resource.last_day) else {
            return None;
        };
        let days = (last - first).num_days() + 1;
        Some(CurrentCost {
            monthly: Some(
                cost.mul_ratio(i128::from(HOURS_PER_MONTH), 24 * i128::from(days))
                    .round_dp(crate::model::money::ESTIMATE_DIGITS),
            ),
            currency: currency.clone(),
            source: CostSource::Billing { days, basis: differs.then_some(self.basis) },
        })
    }
}

fn catalog_cost(
    catalog: &PriceCatalog,
    result: Result<Money, String>,
    detail: String,
) -> CurrentCost {
    let currency = Currency::new(catalog.currency());
    match result {
        Ok(monthly) => {
            CurrentCost { monthly: Some(monthly), currency, source: CostSource::Catalog { detail } }
        }
        Err(reason) => {
            CurrentCost { monthly: None, currency, source: CostSource::Unknown { reason } }
        }
    }
}

/// What every service's views are built from.
struct Inputs<'a, 'b> {
    snapshot: &'a Snapshot,
    catalog: &'b PriceCatalog,
    billed: &'b BilledCosts<'a>,
    utilization: &'b HashMap<&'a str, &'a UtilizationSummary>,
    /// `[kubernetes.storage_class_prices]`: storage class → price per GiB-month.
    storage_class_prices: &'b BTreeMap<String, Money>,
}

/// `count` nodes of a service's class on demand for a month, or why there is no price.
fn nodes_monthly(
    catalog: &PriceCatalog,
    service: &str,
    region: &str,
    variant: &str,
    class: &str,
    count: u32,
) -> Result<Money, String> {
    catalog
        .services()
        .get(service)
        .and_then(|table| table.node_hourly(region, variant, class))
        .map(|hourly| hourly.times(HOURS_PER_MONTH * i64::from(count)))
        .map_err(|e| e.to_string())
}

/// Below this many resources the views are built on one thread (spawning costs more).
const PARALLEL_VIEWS_MIN: usize = 2_000;

/// Builds the view of every resource in the snapshot: inventory first, then resources known
/// only from billing (for tag rules). The `r` of EC2 instances, volumes, snapshots, Elastic
/// IPs, NAT gateways and billing-only resources (nearly every resource of a large inventory)
/// holds only the fields in `fields`; other kinds hold all their fields.
pub fn resource_views<'a>(
    snapshot: &'a Snapshot,
    catalog: &PriceCatalog,
    cluster_pricing: crate::analysis::cluster::CostSplit,
    storage_class_prices: &BTreeMap<String, Money>,
    fields: &ViewFields,
) -> Vec<ResourceView<'a>> {
    let now = snapshot.collected_at;
    let billed = BilledCosts::new(snapshot.billing.as_ref(), cluster_pricing.resource_cost);
    let utilization: HashMap<&str, &UtilizationSummary> =
        snapshot.utilization.iter().map(|u| (u.resource_id.as_str(), u)).collect();
    let inv = &snapshot.inventory;
    let volumes: HashMap<&str, &crate::model::inventory::Volume> =
        inv.volumes.iter().map(|v| (v.id.as_str(), v)).collect();
    let hours = HOURS_PER_MONTH;
    let mut views = Vec::with_capacity(inv.len());
    let snapshot_images = images::snapshot_images(inv);

    // Volumes by the instance they are attached to, from either side of the relation.
    let mut attached_to: HashMap<&str, Vec<&crate::model::inventory::Volume>> = HashMap::new();
    for v in &inv.volumes {
        for a in &v.attachments {
            attached_to.entry(a.instance_id.as_str()).or_default().push(v);
        }
    }
    // Volumes and snapshots are built on another thread while this one builds the instances
    // (the largest kinds; each view is a few maps of freshly allocated values).
    let storage_views = || {
        let mut views = Vec::with_capacity(inv.volumes.len());
        for v in &inv.volumes {
            let cost = billed.monthly(&v.id).unwrap_or_else(|| {
                catalog_cost(
                    catalog,
                    catalog
                        .volume_monthly(&v.region, &v.volume_type, v.size_gib, v.iops, v.throughput)
                        .map_err(|e| e.to_string()),
                    format!("{} {} GiB in {}", v.volume_type, v.size_gib, v.region),
                )
            });
            let mut f = Fields::wanting(fields.of_kind(ResourceKind::EbsVolume));
            f.insert_with("id", || text(&v.id));
            f.insert_with("volume_type", || shared_text(&v.volume_type));
            f.insert("size_gib", num(v.size_gib as f64));
            f.insert("iops", v.iops.map_or(Value::Null, |x| num(x as f64)));
            f.insert("throughput", v.throughput.map_or(Value::Null, |x| num(x as f64)));
            f.insert_with("state", || shared_text(v.state.as_str()));
            f.insert("attached", Value::Bool(!v.attachments.is_empty()));
            f.insert("age_days", days_between(v.create_time, now));
            views.push(view(
                ResourceKind::EbsVolume,
                &v.id,
                &v.account_id,
                &v.region,
                &v.tags,
                f,
                &utilization,
                cost,
            ));
        }

        let volume_views = std::mem::take(&mut views);
        for s in &inv.snapshots {
            let cost = billed.monthly(&s.id).unwrap_or_else(|| {
                catalog_cost(
                    catalog,
                    catalog
                        .snapshot_gb_month(&s.region)
                        .map(|p| p.times(s.size_gib as i64))
                        .map_err(|e| e.to_string()),
                    format!(
                        "{} GiB snapshot in {} (full size; snapshots are incremental)",
                        s.size_gib, s.region
                    ),
                )
            });
            let mut f = Fields::wanting(fields.of_kind(ResourceKind::EbsSnapshot));
            f.insert_with("id", || text(&s.id));
            f.insert("size_gib", num(s.size_gib as f64));
            f.insert_with("volume_id", || text(s.volume_id.as_deref().unwrap_or("")));
            f.insert_with("volume_exists", || {
                Value::Bool(s.volume_id.as_deref().is_some_and(|id| volumes.contains_key(id)))
            });
            f.insert_with("image_id", || {
                text(snapshot_images.get(s.id.as_str()).copied().unwrap_or(""))
            });
            f.insert("age_days", days_between(s.start_time, now));
            views.push(view(
                ResourceKind::EbsSnapshot,
                &s.id,
                &s.account_id,
                &s.region,
                &s.tags,
                f,
                &utilization,
                cost,
            ));
        }

        (volume_views, views)
    };
    let (volume_views, snapshot_views) = std::thread::scope(|scope| {
        let storage = (inv.len() >= PARALLEL_VIEWS_MIN).then(|| scope.spawn(storage_views));
        for i in &inv.instances {
            let mut attached = attached_to.get(i.id.as_str()).cloned().unwrap_or_default();
            attached.extend(i.volume_ids.iter().filter_map(|id| volumes.get(id.as_str()).copied()));
            attached.sort_by(|a, b| a.id.cmp(&b.id));
            attached.dedup_by(|a, b| a.id == b.id);
            let volumes_cost: Result<Money, String> = attached
                .iter()
                .map(|v| {
                    billed.monthly(&v.id).and_then(|c| c.monthly).map_or_else(
                        || {
                            catalog
                                .volume_monthly(
                                    &v.region,
                                    &v.volume_type,
                                    v.size_gib,
                                    v.iops,
                                    v.throughput,
                                )
                                .map_err(|e| e.to_string())
                        },
                        Ok,
                    )
                })
                .sum();
            let cost = billed.monthly(&i.id).unwrap_or_else(|| match i.state {
                InstanceState::Running | InstanceState::Pending => catalog_cost(
                    catalog,
                    catalog
                        .instance_hourly(&i.region, &i.instance_type)
                        .map(|h| h.times(hours))
                        .map_err(|e| e.to_string()),
                    format!("{} in {} on demand × {hours} h", i.instance_type, i.region),
                ),
                _ => catalog_cost(
                    catalog,
                    volumes_cost.clone(),
                    format!(
                        "{}: no compute charge; {} attached volume(s)",
                        i.state.as_str(),
                        attached.len()
                    ),
                ),
            });
            let mut f = Fields::wanting(fields.of_kind(ResourceKind::Ec2Instance));
            f.insert_with("id", || text(&i.id));
            f.insert_with("instance_type", || shared_text(&i.instance_type));
            f.insert_with("family", || {
                shared_text(i.instance_type.split('.').next().unwrap_or(""))
            });
            f.insert_with("state", || shared_text(i.state.as_str()));
            f.insert_with("platform", || shared_text(i.platform.as_deref().unwrap_or("linux")));
            f.insert("age_days", days_between(i.launch_time, now));
            f.insert("days_in_state", days_between(i.state_transition_time, now));
            f.insert_with("state_transition_reason", || {
                shared_text(i.state_transition_reason.as_deref().unwrap_or(""))
            });
            f.insert_with("volume_ids", || {
                Value::List(Arc::new(attached.iter().map(|v| text(&v.id)).collect()))
            });
            f.insert(
                "attached_volumes_monthly",
                volumes_cost.as_ref().map_or(Value::Null, |m| num(m.to_f64())),
            );
            views.push(view(
                ResourceKind::Ec2Instance,
                &i.id,
                &i.account_id,
                &i.region,
                &i.tags,
                f,
                &utilization,
                cost,
            ));
        }

        match storage {
            Some(task) => task.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
            None => storage_views(),
        }
    });
    views.extend(volume_views);

    for a in &inv.addresses {
        let cost = billed.monthly(&a.allocation_id).unwrap_or_else(|| {
            catalog_cost(
                catalog,
                catalog
                    .public_ipv4_hourly(&a.region)
                    .map(|h| h.times(hours))
                    .map_err(|e| e.to_string()),
                format!("public IPv4 in {} × {hours} h", a.region),
            )
        });
        let mut f = Fields::wanting(fields.of_kind(ResourceKind::ElasticIp));
        f.insert_with("id", || text(&a.allocation_id));
        f.insert_with("public_ip", || text(&a.public_ip));
        f.insert("associated", Value::Bool(a.is_associated()));
        views.push(view(
            ResourceKind::ElasticIp,
            &a.allocation_id,
            &a.account_id,
            &a.region,
            &a.tags,
            f,
            &utilization,
            cost,
        ));
    }

    views.extend(snapshot_views);

    for n in &inv.nat_gateways {
        let cost = billed.monthly(&n.id).unwrap_or_else(|| {
            catalog_cost(
                catalog,
                catalog
                    .nat_gateway_hourly(&n.region)
                    .map(|h| h.times(hours))
                    .map_err(|e| e.to_string()),
                format!("NAT gateway in {} × {hours} h, data processing not included", n.region),
            )
        });
        let mut f = Fields::wanting(fields.of_kind(ResourceKind::NatGateway));
        f.insert_with("id", || text(&n.id));
        f.insert_with("state", || text(&n.state));
        f.insert("age_days", days_between(n.create_time, now));
        views.push(view(
            ResourceKind::NatGateway,
            &n.id,
            &n.account_id,
            &n.region,
            &n.tags,
            f,
            &utilization,
            cost,
        ));
    }

    let input = Inputs {
        snapshot,
        catalog,
        billed: &billed,
        utilization: &utilization,
        storage_class_prices,
    };
    rds::views(&input, &mut views);
    elasticache::views(&input, &mut views);
    opensearch::views(&input, &mut views);
    redshift::views(&input, &mut views);
    dynamodb::views(&input, &mut views);
    load_balancer::views(&input, &mut views);
    log_group::views(&input, &mut views);
    lambda::views(&input, &mut views);
    s3::views(&input, &mut views);
    images::views(&input, &mut views);
    commitments::views(&input, &mut views);

    views.extend(cluster_views(snapshot, catalog, cluster_pricing));
    k8s_volumes::views(&input, &mut views);
    k8s_load_balancers::views(&input, &mut views);

    // Resources only billing knows (S3 buckets, databases, …): tag rules still apply.
    if let Some(billing) = snapshot.billing.as_ref() {
        let known: std::collections::HashSet<String> = views.iter().map(|v| v.id.clone()).collect();
        for (id, r) in &billing.resources {
            if known.contains(id.as_str()) {
                continue;
            }
            let cost = billed.monthly(id).unwrap_or(CurrentCost {
                monthly: None,
                currency: Currency::unknown(),
                source: CostSource::Unknown { reason: "no billed days".into() },
            });
            let mut f = Fields::wanting(fields.of_kind(ResourceKind::Any));
            f.insert_with("id", || text(id));
            f.insert_with("service", || text(&r.service));
            let resource_type =
                if r.resource_type.is_empty() { "billing_resource" } else { &r.resource_type };
            let mut v = view(
                ResourceKind::Any,
                id,
                &r.account_id,
                &r.region,
                &r.tags,
                f,
                &utilization,
                cost,
            );
            v.resource_type = resource_type.to_string();
            views.push(v);
        }
    }
    views
}

const MIB: f64 = 1_048_576.0;
const GIB: f64 = 1_073_741_824.0;

/// Labels that name a node's group, most specific first; else the instance type groups nodes.
const NODE_GROUP_LABELS: [&str; 5] = [
    "eks.amazonaws.com/nodegroup",
    "karpenter.sh/nodepool",
    "cloud.google.com/gke-nodepool",
    "kubernetes.azure.com/agentpool",
    "doks.digitalocean.com/node-pool",
];

fn node_group(node: &crate::model::cluster::Node, instance_type: Option<&str>) -> String {
    NODE_GROUP_LABELS
        .iter()
        .find_map(|k| node.labels.get(*k).filter(|v| !v.is_empty()))
        .cloned()
        .or_else(|| instance_type.map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string())
}

fn money_or_null(m: Option<Money>) -> Value {
    m.map_or(Value::Null, money_value)
}

/// What the usage figures are: metrics-server keeps one sample, no history.
pub const ONE_SAMPLE_NOTE: &str =
    "one metrics-server sample per replica, no usage history (lower confidence)";

/// `usage_source`, `usage_days`, `usage_points` and `usage_note` of a container view.
fn usage_fields(c: &crate::model::cluster::ContainerResources, f: &mut Fields) {
    use crate::model::cluster::UsageSource;
    let (source, days, points, note) = match (&c.usage_source, c.usage) {
        (Some(UsageSource::Prometheus { points, days }), Some(_)) => (
            "prometheus",
            *days,
            *points as f64,
            format!(
                "CPU p95 and memory max over {} days from Prometheus ({points} points)",
                super::rule::format_number(*days)
            ),
        ),
        (Some(UsageSource::MetricsServer { samples }), Some(_)) => {
            ("metrics-server", 0.0, f64::from(*samples), ONE_SAMPLE_NOTE.to_string())
        }
        // Snapshots from before the source was recorded: metrics-server was all there was.
        (None, Some(_)) => ("metrics-server", 0.0, 1.0, ONE_SAMPLE_NOTE.to_string()),
        (_, None) => ("none", 0.0, 0.0, "no usage data".to_string()),
    };
    f.insert("usage_source", text(source));
    f.insert("usage_days", num(days));
    f.insert("usage_points", num(points));
    f.insert("usage_note", text(&note));
}

fn node_cost(n: &crate::analysis::cluster::NodeReport) -> CurrentCost {
    use crate::analysis::cluster::NodeCostSource;
    let monthly = n.costs.map(|c| c.monthly);
    let source = match &n.cost_source {
        NodeCostSource::Billing { days, .. } => CostSource::Billing { days: *days, basis: None },
        // The configured rates play the catalog's part; the detail says they were configured.
        NodeCostSource::Catalog { detail } | NodeCostSource::Configured { detail } => {
            CostSource::Catalog { detail: detail.clone() }
        }
        NodeCostSource::Unknown { reason } => CostSource::Unknown { reason: reason.clone() },
    };
    CurrentCost { monthly, currency: n.currency.clone(), source }
}

/// Kubernetes views, from the same cluster analysis the Cluster view shows:
/// - `k8s_node` per node (`r.scope == "node"`), its id the EC2 instance id when the provider id
///   has one (so a node's findings and its instance's findings count once), else
///   `cluster/node`;
/// - `k8s_node` per node group (`r.scope == "node_group"`, resource type `k8s_node_group`);
/// - `k8s_workload` per container of each workload (`cluster/namespace/Kind/name/container`,
///   `r.scope == "container"`), with the cluster's average monthly price of a core and a GiB;
/// - `k8s_workload` per workload (`cluster/namespace/Kind/name`, `r.scope == "workload"`), see
///   [`workload_view`].
fn cluster_views<'a>(
    snapshot: &'a Snapshot,
    catalog: &PriceCatalog,
    pricing: crate::analysis::cluster::CostSplit,
) -> Vec<ResourceView<'a>> {
    use crate::analysis::cluster::cluster_report;
    static NO_TAGS: std::sync::OnceLock<Tags> = std::sync::OnceLock::new();
    let no_tags: &'a Tags = NO_TAGS.get_or_init(Tags::new);
    let no_utilization = HashMap::new();
    let reports = cluster_report(snapshot, catalog, pricing);
    let mut views = Vec::new();
    for cluster in &snapshot.clusters {
        let Some(report) = reports.iter().find(|r| r.name == cluster.name) else { continue };
        // Node groups: (group) → (node reports, labels source).
        let mut groups: BTreeMap<String, Vec<&crate::analysis::cluster::NodeReport>> =
            BTreeMap::new();
        for n in &report.nodes {
            if let Some(node) = cluster.nodes.iter().find(|x| x.name == n.name) {
                groups.entry(node_group(node, n.instance_type.as_deref())).or_default().push(n);
            }
        }
        for n in &report.nodes {
            let Some(node) = cluster.nodes.iter().find(|x| x.name == n.name) else { continue };
            let group = node_group(node, n.instance_type.as_deref());
            let members = groups.get(&group).map(Vec::as_slice).unwrap_or_default();
            let id =
                n.instance_id.clone().unwrap_or_else(|| format!("{}/{}", cluster.name, n.name));
            let region = n.region.clone().unwrap_or_default();
            let mut f = Fields::new();
            f.insert("id", text(&id));
            f.insert("scope", text("node"));
            f.insert("cluster", text(&cluster.name));
            f.insert("name", text(&n.name));
            f.insert("node_group", text(&group));
            f.insert("instance_type", text(n.instance_type.as_deref().unwrap_or("")));
            f.insert("labels", tags_value(&node.labels));
            f.insert("cpu_allocatable_m", num(n.allocatable.cpu_millicores as f64));
            f.insert("memory_allocatable_mib", num(n.allocatable.memory_bytes as f64 / MIB));
            f.insert("cpu_requested_m", num(n.requested.cpu_millicores as f64));
            f.insert("memory_requested_mib", num(n.requested.memory_bytes as f64 / MIB));
            f.insert("has_usage", Value::Bool(n.used.is_some()));
            if let Some(u) = n.used {
                f.insert("cpu_used_m", num(u.cpu_millicores as f64));
                f.insert("memory_used_mib", num(u.memory_bytes as f64 / MIB));
            }
            f.insert("idle_monthly", money_or_null(n.costs.map(|c| c.idle)));
            // The node's group as a whole, so a node rule can leave a group that can shrink to
            // the group rule (and the same money is not counted twice).
            let total = |f: &dyn Fn(&crate::analysis::cluster::NodeReport) -> u64| {
                members.iter().map(|n| f(n) as f64).sum::<f64>()
            };
            f.insert("group_nodes", num(members.len() as f64));
            f.insert("group_cpu_allocatable_m", num(total(&|n| n.allocatable.cpu_millicores)));
            f.insert("group_cpu_requested_m", num(total(&|n| n.requested.cpu_millicores)));
            f.insert(
                "group_memory_allocatable_mib",
                num(total(&|n| n.allocatable.memory_bytes) / MIB),
            );
            f.insert("group_memory_requested_mib", num(total(&|n| n.requested.memory_bytes) / MIB));
            let mut v = view(
                ResourceKind::K8sNode,
                &id,
                "",
                &region,
                no_tags,
                f,
                &no_utilization,
                node_cost(n),
            );
            v.resource_type = "k8s_node".to_string();
            views.push(v);
        }
        for (group, members) in &groups {
            let count = members.len() as f64;
            let sum = |f: &dyn Fn(&crate::analysis::cluster::NodeReport) -> u64| {
                members.iter().map(|n| f(n) as f64).sum::<f64>()
            };
            let mut types: Vec<&str> =
                members.iter().filter_map(|n| n.instance_type.as_deref()).collect();
            types.sort_unstable();
            types.dedup();
            let priced: Vec<Money> =
                members.iter().filter_map(|n| n.costs.map(|c| c.monthly)).collect();
            let all_priced = priced.len() == members.len();
            let total: Money = priced.iter().copied().sum();
            let first = members.first().map(|n| node_cost(n));
            let cost = match (&first, all_priced) {
                (Some(c), true) => CurrentCost { monthly: Some(total), ..c.clone() },
                (Some(c), false) => CurrentCost {
                    monthly: None,
                    currency: c.currency.clone(),
                    source: CostSource::Unknown {
                        reason: format!(
                            "{} of {} nodes of the group are not priced",
                            members.len() - priced.len(),
                            members.len()
                        ),
                    },
                },
                (None, _) => continue,
            };
            let id = format!("{}/nodegroup/{group}", cluster.name);
            let region = members.iter().find_map(|n| n.region.clone()).unwrap_or_default();
            let mut f = Fields::new();
            f.insert("id", text(&id));
            f.insert("scope", text("node_group"));
            f.insert("cluster", text(&cluster.name));
            f.insert("name", text(group));
            f.insert("node_group", text(group));
            f.insert("instance_type", text(&types.join(",")));
            f.insert("nodes", num(count));
            // Least requested first (the larger of its CPU and memory shares): the nodes whose
            // pods are the fewest to move, which a scale-down should drain.
            let mut order: Vec<(u128, &str)> = members
                .iter()
                .map(|n| {
                    let share = |r: u64, a: u64| u128::from(r) * 1_000_000 / u128::from(a.max(1));
                    let cpu = share(n.requested.cpu_millicores, n.allocatable.cpu_millicores);
                    let mem = share(n.requested.memory_bytes, n.allocatable.memory_bytes);
                    (cpu.max(mem), n.name.as_str())
                })
                .collect();
            order.sort_unstable();
            f.insert(
                "least_requested",
                Value::List(Arc::new(order.iter().map(|(_, name)| text(name)).collect())),
            );
            f.insert("cpu_allocatable_m", num(sum(&|n| n.allocatable.cpu_millicores)));
            f.insert("memory_allocatable_mib", num(sum(&|n| n.allocatable.memory_bytes) / MIB));
            f.insert("cpu_requested_m", num(sum(&|n| n.requested.cpu_millicores)));
            f.insert("memory_requested_mib", num(sum(&|n| n.requested.memory_bytes) / MIB));
            f.insert(
                "node_monthly_cost",
                if all_priced && !priced.is_empty() {
                    money_value(total.mul_ratio(1, priced.len() as i128))
                } else {
                    Value::Null
                },
            );
            let mut v =
                view(ResourceKind::K8sNode, &id, "", &region, no_tags, f, &no_utilization, cost);
            v.resource_type = "k8s_node_group".to_string();
            views.push(v);
        }
        for w in &cluster.workloads {
            let region = report.nodes.iter().find_map(|n| n.region.clone()).unwrap_or_default();
            let workload = format!("{}/{}/{}", w.namespace, w.kind, w.name);
            for c in &w.containers {
                let id = format!("{}/{workload}/{}", cluster.name, c.name);
                let mut f = workload_fields(&cluster.name, w, &id, "container");
                f.insert("container", text(&c.name));
                f.insert("cpu_request_m", num(c.requests.cpu_millicores as f64));
                f.insert("memory_request_mib", num(c.requests.memory_bytes as f64 / MIB));
                f.insert("has_usage", Value::Bool(c.usage.is_some()));
                if let Some(u) = c.usage {
                    f.insert("cpu_usage_m", num(u.cpu_millicores as f64));
                    f.insert("memory_max_mib", num(u.memory_bytes as f64 / MIB));
                }
                usage_fields(c, &mut f);
                // An HPA scales on usage ÷ requests: requests sized to hold usage at its target
                // keep the replica count, where the usual headroom would change it.
                let hpa = cluster.autoscalers.iter().find(|a| {
                    a.namespace == w.namespace && a.target_kind == w.kind && a.target_name == w.name
                });
                let hpa_cpu = hpa.and_then(|a| a.cpu_target_percent);
                f.insert("has_hpa", Value::Bool(hpa.is_some()));
                f.insert("hpa_cpu_target_percent", num(f64::from(hpa_cpu.unwrap_or(0))));
                let hpa_note = match (hpa, hpa_cpu) {
                    (Some(a), Some(t)) => format!(
                        "; HPA {} holds the pods at {t} % CPU of requests ({}–{} replicas), so the CPU target is usage ÷ {}",
                        a.name,
                        a.min_replicas,
                        a.max_replicas,
                        super::rule::format_number(f64::from(t) / 100.0)
                    ),
                    (Some(a), None) => format!(
                        "; HPA {} scales it on other metrics than CPU utilization ({}–{} replicas)",
                        a.name, a.min_replicas, a.max_replicas
                    ),
                    (None, _) => String::new(),
                };
                f.insert("hpa_note", text(&hpa_note));
                f.insert("cpu_core_monthly", money_or_null(report.cpu_cost_per_core));
                f.insert("memory_gib_monthly", money_or_null(report.memory_cost_per_gib));
                // The container's requests × replicas at the cluster's average unit prices.
                let cost = requests_cost(
                    report,
                    &cluster.name,
                    w.replicas,
                    c.requests,
                    format!("{} × requests", w.replicas),
                );
                let mut v = view(
                    ResourceKind::K8sWorkload,
                    &id,
                    "",
                    &region,
                    no_tags,
                    f,
                    &no_utilization,
                    cost,
                );
                v.resource_type = "k8s_container".to_string();
                views.push(v);
            }
            views.push(workload_view(cluster, report, w, &region, no_tags, &no_utilization));
        }
    }
    views
}

/// The fields every `k8s_workload` view has, whole workload or container: who it is.
fn workload_fields(
    cluster: &str,
    w: &crate::model::cluster::Workload,
    id: &str,
    scope: &str,
) -> Fields<'static> {
    let mut f = Fields::new();
    f.insert("id", text(id));
    f.insert("scope", text(scope));
    f.insert("cluster", text(cluster));
    f.insert("namespace", text(&w.namespace));
    f.insert("workload_kind", text(&w.kind));
    f.insert("name", text(&w.name));
    f.insert("workload", text(&format!("{}/{}/{}", w.namespace, w.kind, w.name)));
    f.insert("replicas", num(f64::from(w.replicas)));
    f
}

/// What `requests` × `replicas` cost a month at the cluster's average price of a core and of a
/// GiB (unknown when no node is priced); `what` opens the detail, e.g. "4 × requests".
fn requests_cost(
    report: &crate::analysis::cluster::ClusterReport,
    cluster: &str,
    replicas: u32,
    requests: crate::model::cluster::Resources,
    what: String,
) -> CurrentCost {
    let monthly = report.cpu_cost_per_core.zip(report.memory_cost_per_gib).map(|(core, gib)| {
        let replicas = i128::from(replicas);
        (core.mul_ratio(i128::from(requests.cpu_millicores) * replicas, 1000)
            + gib.mul_ratio(i128::from(requests.memory_bytes) * replicas, 1 << 30))
        .round_dp(crate::model::money::ESTIMATE_DIGITS)
    });
    match monthly {
        Some(m) => CurrentCost {
            monthly: Some(m),
            currency: report.currency.clone(),
            source: CostSource::Allocated {
                detail: format!(
                    "{what} at the cluster's average {} per core and {} per GiB of {} priced node(s)",
                    report.cpu_cost_per_core.map_or("?".into(), |m| m.display_2dp()),
                    report.memory_cost_per_gib.map_or("?".into(), |m| m.display_2dp()),
                    report.nodes_priced
                ),
            },
        },
        None => CurrentCost {
            monthly: None,
            currency: report.currency.clone(),
            source: CostSource::Unknown {
                reason: format!("no node of cluster {cluster} is priced"),
            },
        },
    }
}

/// `k8s_workload` of `r.scope == "workload"` (resource type `k8s_workload`, id
/// `cluster/namespace/Kind/name`): the workload as a whole, for rules whose action is the
/// workload's (scale it to zero), with its pods' network from Prometheus when there is one
/// (`r.has_network`; the `network_*` fields are absent otherwise, so no data never reads as no
/// traffic) and the cost of all its requests at the cluster's average unit prices.
fn workload_view<'a>(
    cluster: &crate::model::cluster::Cluster,
    report: &crate::analysis::cluster::ClusterReport,
    w: &crate::model::cluster::Workload,
    region: &str,
    no_tags: &'a Tags,
    no_utilization: &HashMap<&str, &'a UtilizationSummary>,
) -> ResourceView<'a> {
    let workload = format!("{}/{}/{}", w.namespace, w.kind, w.name);
    let id = format!("{}/{workload}", cluster.name);
    // Per replica: the sum of its containers' requests.
    let (cpu_m, memory_bytes) = w.containers.iter().fold((0u64, 0u64), |(cpu, mem), c| {
        (cpu.saturating_add(c.requests.cpu_millicores), mem.saturating_add(c.requests.memory_bytes))
    });
    let mut f = workload_fields(&cluster.name, w, &id, "workload");
    f.insert("containers", num(w.containers.len() as f64));
    f.insert("cpu_request_m", num(cpu_m as f64));
    f.insert("memory_request_mib", num(memory_bytes as f64 / MIB));
    // The containers' usage says nothing about traffic, and a workload view is not sized.
    f.insert("has_usage", Value::Bool(false));
    f.insert("has_network", Value::Bool(w.network.is_some()));
    if let Some(n) = &w.network {
        f.insert("network_rx_max_bps", num(n.rx_max_bytes_per_second));
        f.insert("network_tx_max_bps", num(n.tx_max_bytes_per_second));
        f.insert("network_days", num(n.days));
        f.insert("network_points", num(n.points as f64));
    }
    let hpa = cluster
        .autoscalers
        .iter()
        .find(|a| a.namespace == w.namespace && a.target_kind == w.kind && a.target_name == w.name);
    f.insert("has_hpa", Value::Bool(hpa.is_some()));
    f.insert("hpa_min_replicas", num(f64::from(hpa.map_or(0, |a| a.min_replicas))));
    f.insert("cpu_core_monthly", money_or_null(report.cpu_cost_per_core));
    f.insert("memory_gib_monthly", money_or_null(report.memory_cost_per_gib));
    // As for each container: requests × replicas at the cluster's average unit prices, so the
    // workload costs what its containers' views add up to.
    let cost = requests_cost(
        report,
        &cluster.name,
        w.replicas,
        crate::model::cluster::Resources { cpu_millicores: cpu_m, memory_bytes },
        format!(
            "{} × requests ({cpu_m}m CPU, {} MiB)",
            w.replicas,
            super::rule::format_number(memory_bytes as f64 / MIB)
        ),
    );
    let mut v = view(ResourceKind::K8sWorkload, &id, "", region, no_tags, f, no_utilization, cost);
    v.resource_type = "k8s_workload".to_string();
    v
}

#[allow(clippy::too_many_arguments)]
fn view<'a>(
    kind: ResourceKind,
    id: &str,
    account: &str,
    region: &str,
    tags: &'a Tags,
    mut fields: Fields,
    utilization: &HashMap<&str, &'a UtilizationSummary>,
    cost: CurrentCost,
) -> ResourceView<'a> {
    fields.insert_with("kind", || shared_text(kind.as_str()));
    fields.insert_with("account_id", || shared_text(account));
    fields.insert_with("region", || shared_text(region));
    fields.insert_with("tags", || tags_value(tags));
    fields.insert("monthly_cost", cost.monthly.map_or(Value::Null, |m| num(m.to_f64())));
    fields.insert_with("cost_source", || {
        shared_text(match cost.source {
            CostSource::Billing { .. } => "billing",
            CostSource::Catalog { .. } => "catalog",
            CostSource::Unknown { .. } => "unknown",
            CostSource::Allocated { .. } => "allocated",
            CostSource::Configured { .. } => "configured",
        })
    });
    ResourceView {
        kind,
        id: id.to_string(),
        resource_type: kind.as_str().to_string(),
        account_id: account.to_string(),
        region: region.to_string(),
        tags,
        r: fields.into_value(),
        utilization: utilization.get(id).copied(),
        cost,
    }
}

/// The `u` variable: utilization over the lookback. Values that were not measured are absent
/// from the map, so an expression using them fails (and the rule does not fire) instead of
/// reading a zero.
pub fn utilization_value(u: Option<&UtilizationSummary>) -> Value {
    let mut m = Fields::new();
    let Some(u) = u else {
        m.insert("has_data", Value::Bool(false));
        m.insert("days_covered", num(0.0));
        m.insert("data_points", num(0.0));
        return m.into_value();
    };
    m.insert("has_data", Value::Bool(u.data_points > 0));
    m.insert("lookback_days", num(f64::from(u.lookback_days)));
    m.insert("days_covered", num(f64::from(u.days_covered)));
    m.insert("data_points", num(f64::from(u.data_points)));
    let mut put = |name: &'static str, v: Option<f64>| {
        if let Some(v) = v {
            m.insert(name, num(v));
        }
    };
    put("cpu_avg", u.cpu_avg_percent);
    put("cpu_p95", u.cpu_p95_percent);
    put("cpu_max", u.cpu_max_percent);
    put("memory_p95", u.memory_p95_percent);
    put("idle_hours_per_week", u.idle_hours_per_week);
    put("idle_cpu_below", u.idle_cpu_below_percent);
    put("network_in_mb_per_day", u.network_in_bytes_per_day.map(|b| b / 1e6));
    put("network_out_mb_per_day", u.network_out_bytes_per_day.map(|b| b / 1e6));
    let network = match (u.network_in_bytes_per_day, u.network_out_bytes_per_day) {
        (Some(a), Some(b)) => Some((a + b) / 1e6),
        _ => None,
    };
    put("network_mb_per_day", network);
    put("bytes_processed_gb", u.bytes_processed.map(|b| b / 1e9));
    put("connections_max", u.connections_max);
    put("freeable_memory_min_gib", u.freeable_memory_min_bytes.map(|b| b / GIB));
    put("search_rate_max", u.search_rate_max);
    put("indexing_rate_max", u.indexing_rate_max);
    put("read_units_peak", u.read_units_peak_per_second);
    put("write_units_peak", u.write_units_peak_per_second);
    // Totals over the days measured, scaled to a 730-hour month.
    let per_month = |total: Option<f64>| {
        total
            .filter(|_| u.days_covered > 0)
            .map(|t| t * HOURS_PER_MONTH as f64 / 24.0 / f64::from(u.days_covered))
    };
    put("read_units_per_month", per_month(u.read_units_total));
    put("write_units_per_month", per_month(u.write_units_total));
    put("iops_peak", u.io_ops_peak_per_second);
    put(
        "io_ops_per_day",
        u.io_ops_total.filter(|_| u.days_covered > 0).map(|t| t / f64::from(u.days_covered)),
    );
    put("requests_day_max", u.requests_day_max);
    put("new_flows_day_max", u.new_flows_day_max);
    put("healthy_hosts_max", u.healthy_hosts_max);
    // Lambda: totals over the whole window (no point is zero invocations), per month.
    let lambda_month = |total: Option<f64>| total.and_then(|t| lambda::per_month(t, u));
    put("invocations", u.invocations_total);
    put("invocations_per_month", lambda_month(u.invocations_total));
    put("errors", u.errors_total);
    put("duration_max_ms", u.duration_max_ms);
    let average = u.duration_total_ms.zip(u.invocations_total).filter(|(_, n)| *n > 0.0);
    put("duration_avg_ms", average.map(|(ms, n)| ms / n));
    put("duration_seconds_per_month", lambda_month(u.duration_total_ms.map(|ms| ms / 1000.0)));
    // S3: the last day's bytes (GB) per class and in all, the first day's Standard bytes.
    if !u.storage_bytes.is_empty() {
        let standard = u.storage_bytes.get("StandardStorage").copied().unwrap_or(0.0);
        let first = u.storage_bytes_first.get("StandardStorage").copied().unwrap_or(0.0);
        put("standard_gb", Some(standard / 1e9));
        put("standard_gb_first", Some(first / 1e9));
        put("stored_gb", Some(u.storage_bytes.values().sum::<f64>() / 1e9));
    }
    put("storage_days_span", u.storage_days_span.map(f64::from));
    put("objects", u.objects);
    let object_bytes = u.storage_bytes.values().sum::<f64>();
    put("avg_object_kb", u.objects.filter(|n| *n > 0.0).map(|n| object_bytes / n / 1e3));
    m.into_value()
}

fn arg_text(args: &[Value], i: usize, function: &str) -> Result<Arc<String>, ExecutionError> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s.clone()),
        other => Err(ExecutionError::function_error(
            function,
            format!("argument {} must be a string, got {other:?}", i + 1),
        )),
    }
}

fn arg_number(args: &[Value], i: usize, function: &str) -> Result<Option<f64>, ExecutionError> {
    match args.get(i) {
        Some(Value::Float(f)) => Ok(Some(*f)),
        Some(Value::Int(n)) => Ok(Some(*n as f64)),
        Some(Value::UInt(n)) => Ok(Some(*n as f64)),
        Some(Value::Null) => Ok(None),
        other => Err(ExecutionError::function_error(
            function,
            format!("argument {} must be a number, got {other:?}", i + 1),
        )),
    }
}

fn arity(args: &[Value], n: usize, function: &str) -> Result<(), ExecutionError> {
    if args.len() == n {
        Ok(())
    } else {
        Err(ExecutionError::function_error(
            function,
            format!("takes {n} arguments, got {}", args.len()),
        ))
    }
}

fn money_value(m: Money) -> Value {
    Value::Float(m.to_f64())
}

fn whole(n: Option<f64>) -> Option<u64> {
    n.filter(|x| x.is_finite() && *x >= 0.0).map(|x| x.round() as u64)
}

/// Functions whose errors mean "the catalog has no such price".
pub const PRICE_FUNCTIONS: &[&str] = &[
    "instance_monthly",
    "volume_monthly",
    "snapshot_gb_monthly",
    "ipv4_monthly",
    "nat_gateway_monthly",
    "priced",
    "node_monthly",
    "unit_price",
    "dynamodb_capacity_monthly",
    "dynamodb_on_demand_monthly",
    "not_computed",
    "commitment_discount",
];

/// The root context: CEL's standard functions plus the price catalog. Prices are monthly
/// (730 h) doubles; a missing price is an error naming what is missing, which the engine turns
/// into "savings not computed: no price for …".
pub fn root_context(catalog: Arc<PriceCatalog>) -> Context<'static> {
    root_and_functions(catalog).0
}

/// One of the rules' own functions (prices and helpers), callable from CEL and from the
/// shortcuts, which give it the same arguments.
pub(crate) type Native = Arc<dyn Fn(Arguments) -> Result<Value, ExecutionError> + Send + Sync>;

/// The rules' own functions by name.
#[derive(Default, Clone)]
pub(crate) struct Functions(BTreeMap<&'static str, Native>);

impl Functions {
    /// Named like `Context::add_function`, so the definitions below read the same either way.
    fn add_function<F>(&mut self, name: &'static str, function: F)
    where
        F: Fn(Arguments) -> Result<Value, ExecutionError> + Send + Sync + 'static,
    {
        self.0.insert(name, Arc::new(function));
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Native> {
        self.0.get(name)
    }
}

/// The root context, and its functions for the shortcuts to call.
pub(crate) fn root_and_functions(catalog: Arc<PriceCatalog>) -> (Context<'static>, Functions) {
    let mut ctx = Functions::default();
    let hours = HOURS_PER_MONTH;

    let c = catalog.clone();
    ctx.add_function(
        "instance_monthly",
        move |Arguments(args): Arguments| -> Result<Value, ExecutionError> {
            arity(&args, 2, "instance_monthly")?;
            let (t, region) =
                (arg_text(&args, 0, "instance_monthly")?, arg_text(&args, 1, "instance_monthly")?);
            c.instance_hourly(&region, &t)
                .map(|h| money_value(h.times(hours)))
                .map_err(|e| ExecutionError::function_error("instance_monthly", e))
        },
    );
    let c = catalog.clone();
    ctx.add_function(
        "next_smaller",
        move |Arguments(args): Arguments| -> Result<Value, ExecutionError> {
            arity(&args, 2, "next_smaller")?;
            let (t, region) =
                (arg_text(&args, 0, "next_smaller")?, arg_text(&args, 1, "next_smaller")?);
            Ok(text(&c.next_smaller(&region, &t).unwrap_or_default()))
        },
    );
    let c = catalog.clone();
    ctx.add_function(
        "successor",
        move |Arguments(args): Arguments| -> Result<Value, ExecutionError> {
            arity(&args, 2, "successor")?;
            let (t, region) = (arg_text(&args, 0, "successor")?, arg_text(&args, 1, "successor")?);
            Ok(text(&c.successor(&region, &t).unwrap_or_default()))
        },
    );
    let c = catalog.clone();
    ctx.add_function(
        "graviton",
        move |Arguments(args): Arguments| -> Result<Value, ExecutionError> {
            arity(&args, 2, "graviton")?;
            let (t, region) = (arg_text(&args, 0, "graviton")?, arg_text(&args, 1, "graviton")?);
            Ok(text(&c.graviton(&region, &t).unwrap_or_default()))
        },
    );
    let c = catalog.clone();
    ctx.add_function(
        "volume_monthly",
        move |Arguments(args): Arguments| -> Result<Value, ExecutionError> {
            // volume_monthly(type, size_gib, iops, throughput, region)
            arity(&args, 5, "volume_monthly")?;
            let t = arg_text(&args, 0, "volume_monthly")?;
            let size = whole(arg_number(&args, 1, "volume_monthly")?).unwrap_or(0);
            let iops = whole(arg_number(&args, 2, "volume_monthly")?);
            let throughput = whole(arg_number(&args, 3, "volume_monthly")?);
            let region = arg_text(&args, 4, "volume_monthly")?;
            c.volume_monthly(&region, &t, size, iops, throughput)
                .map(money_value)
                .map_err(|e| ExecutionError::function_error("volume_monthly", e))
        },
    );
    let c = catalog.clone();
    ctx.add_function(
        "snapshot_gb_monthly",
        move |Arguments(args): Arguments| -> Result<Value, ExecutionError> {
            arity(&args, 1, "snapshot_gb_monthly")?;
            let region = arg_text(&args, 0, "snapshot_gb_monthly")?;
            c.snapshot_gb_month(&region)
                .map(money_value)
                .map_err(|e| ExecutionError::function_error("snapshot_gb_monthly", e))
        },
    );
    let c = catalog.clone();
    ctx.add_function(
        "ipv4_monthly",
        move |Arguments(args): Arguments| -> Result<Value, ExecutionError> {
            arity(&args, 1, "ipv4_monthly")?;
            let region = arg_text(&args, 0, "ipv4_monthly")?;
            c.public_ipv4_hourly(&region)
                .map(|h| money_value(h.times(hours)))
                .map_err(|e| ExecutionError::function_error("ipv4_monthly", e))
        },
    );
    // priced(x): a price the snapshot gave the resource (`r.monthly_cost`, a cluster's price
    // per core), or "no price" when it has none, so savings say "not computed" instead of
    // failing as a rule mistake.
    ctx.add_function("priced", |Arguments(args): Arguments| -> Result<Value, ExecutionError> {
        arity(&args, 1, "priced")?;
        match arg_number(&args, 0, "priced")? {
            Some(n) => Ok(num(n)),
            None => Err(ExecutionError::function_error(
                "priced",
                "no price for this resource (neither billing nor the catalog knew it)",
            )),
        }
    });
    add_service_functions(&mut ctx, &catalog);
    let c = catalog;
    ctx.add_function(
        "nat_gateway_monthly",
        move |Arguments(args): Arguments| -> Result<Value, ExecutionError> {
            arity(&args, 1, "nat_gateway_monthly")?;
            let region = arg_text(&args, 0, "nat_gateway_monthly")?;
            c.nat_gateway_hourly(&region)
                .map(|h| money_value(h.times(hours)))
                .map_err(|e| ExecutionError::function_error("nat_gateway_monthly", e))
        },
    );
    let functions = ctx;
    let mut cel = Context::default();
    for (name, function) in &functions.0 {
        let function = function.clone();
        cel.add_function(name, move |args: Arguments| function(args));
    }
    (cel, functions)
}

/// Price functions of the services priced from their own tables (`rules/prices/<service>.toml`):
/// - `node_monthly(service, variant, class, region)`: one node on demand for 730 h;
/// - `node_next_smaller`, `node_successor`, `node_graviton` (same arguments): a class, or `""`
///   when there is none priced for that engine in that region;
/// - `unit_price(service, unit, region)`: a named unit price as the table writes it;
/// - `dynamodb_capacity_monthly(rcu, wcu, region)`, `dynamodb_on_demand_monthly(read_units,
///   write_units, region)`;
/// - `ceil(x)`, and `capacity_for(peak, current, target_utilization)`: the whole capacity that
///   runs `peak` at the target utilization, at least 1 and never above `current`.
fn add_service_functions(ctx: &mut Functions, catalog: &Arc<PriceCatalog>) {
    let hours = HOURS_PER_MONTH;
    // commitment_discount(provider, term_years, payment): the fraction a provider's flexible
    // plan takes off on demand (commitments.toml); an error names what the table lacks.
    let c = catalog.clone();
    ctx.add_function(
        "commitment_discount",
        move |Arguments(args): Arguments| -> Result<Value, ExecutionError> {
            let name = "commitment_discount";
            arity(&args, 3, name)?;
            let provider = arg_text(&args, 0, name)?;
            let term = whole(arg_number(&args, 1, name)?).unwrap_or(0);
            let payment_text = arg_text(&args, 2, name)?;
            let payment = crate::pricing::Payment::parse(&payment_text).ok_or_else(|| {
                ExecutionError::function_error(
                    name,
                    format!(
                        "payment {payment_text:?} is not no_upfront, partial_upfront or all_upfront"
                    ),
                )
            })?;
            let plans = c.commitments().provider(&provider).ok_or_else(|| {
                ExecutionError::function_error(
                    name,
                    format!("no commitment rates for provider {provider:?}"),
                )
            })?;
            let term = u32::try_from(term).unwrap_or(0);
            plans.plan(term, payment).map(|p| num(p.discount.to_f64())).ok_or_else(|| {
                ExecutionError::function_error(
                    name,
                    format!("no {term}-year {} plan for {provider:?}", payment.as_str()),
                )
            })
        },
    );
    let c = catalog.clone();
    ctx.add_function(
        "node_monthly",
        move |Arguments(args): Arguments| -> Result<Value, ExecutionError> {
            let name = "node_monthly";
            arity(&args, 4, name)?;
            let [service, variant, class, region] = four_texts(&args, name)?;
            c.services()
                .get(&service)
                .and_then(|t| t.node_hourly(&region, &variant, &class))
                .map(|h| money_value(h.times(hours)))
                .map_err(|e| ExecutionError::function_error(name, e))
        },
    );
    type Pick = fn(&crate::pricing::ServicePrices, &str, &str, &str) -> Option<String>;
    let picks: [(&'static str, Pick); 3] = [
        ("node_next_smaller", |t, r, v, c| t.next_smaller(r, v, c)),
        ("node_successor", |t, r, v, c| t.successor(r, v, c)),
        ("node_graviton", |t, r, v, c| t.graviton(r, v, c)),
    ];
    for (name, pick) in picks {
        let c = catalog.clone();
        ctx.add_function(
            name,
            move |Arguments(args): Arguments| -> Result<Value, ExecutionError> {
                arity(&args, 4, name)?;
                let [service, variant, class, region] = four_texts(&args, name)?;
                let found = c
                    .services()
                    .get(&service)
                    .ok()
                    .and_then(|t| pick(t, &region, &variant, &class));
                Ok(text(&found.unwrap_or_default()))
            },
        );
    }
    let c = catalog.clone();
    ctx.add_function(
        "unit_price",
        move |Arguments(args): Arguments| -> Result<Value, ExecutionError> {
            let name = "unit_price";
            arity(&args, 3, name)?;
            let (service, unit, region) =
                (arg_text(&args, 0, name)?, arg_text(&args, 1, name)?, arg_text(&args, 2, name)?);
            c.services()
                .get(&service)
                .and_then(|t| t.unit(&region, &unit))
                .map(money_value)
                .map_err(|e| ExecutionError::function_error(name, e))
        },
    );
    let c = catalog.clone();
    ctx.add_function(
        "dynamodb_capacity_monthly",
        move |Arguments(args): Arguments| -> Result<Value, ExecutionError> {
            let name = "dynamodb_capacity_monthly";
            arity(&args, 3, name)?;
            let rcu = whole(arg_number(&args, 0, name)?).unwrap_or(0);
            let wcu = whole(arg_number(&args, 1, name)?).unwrap_or(0);
            let region = arg_text(&args, 2, name)?;
            dynamodb::capacity_monthly(&c, &region, rcu, wcu)
                .map(money_value)
                .map_err(|e| ExecutionError::function_error(name, e))
        },
    );
    let c = catalog.clone();
    ctx.add_function(
        "dynamodb_on_demand_monthly",
        move |Arguments(args): Arguments| -> Result<Value, ExecutionError> {
            let name = "dynamodb_on_demand_monthly";
            arity(&args, 3, name)?;
            let reads = arg_number(&args, 0, name)?.unwrap_or(0.0);
            let writes = arg_number(&args, 1, name)?.unwrap_or(0.0);
            let region = arg_text(&args, 2, name)?;
            dynamodb::on_demand_monthly(&c, &region, reads, writes)
                .map(money_value)
                .map_err(|e| ExecutionError::function_error(name, e))
        },
    );
    // join_first(list, n): the first n items of a list of strings, joined with ", " (n rounded,
    // at least 0); names the nodes a scale-down drains.
    ctx.add_function("join_first", |Arguments(args): Arguments| -> Result<Value, ExecutionError> {
        let name = "join_first";
        arity(&args, 2, name)?;
        let Some(Value::List(items)) = args.first() else {
            return Err(ExecutionError::function_error(name, "argument 1 must be a list"));
        };
        let n = whole(arg_number(&args, 1, name)?).unwrap_or(0);
        let names: Vec<String> = items
            .iter()
            .take(usize::try_from(n).unwrap_or(usize::MAX))
            .map(|v| match v {
                Value::String(s) => s.to_string(),
                other => format!("{other:?}"),
            })
            .collect();
        Ok(text(&names.join(", ")))
    });
    // not_computed(reason): savings that cannot be computed from the data, with the reason the
    // evidence gives ("savings not computed: <reason>").
    ctx.add_function(
        "not_computed",
        |Arguments(args): Arguments| -> Result<Value, ExecutionError> {
            arity(&args, 1, "not_computed")?;
            let reason = arg_text(&args, 0, "not_computed")?;
            Err(ExecutionError::function_error("not_computed", reason.as_str()))
        },
    );
    // percentile(list, p): the nearest-rank p-th percentile (0–100) of a list of numbers, one
    // of its values; the same function sizes purchase advice in `costscope commitments`.
    ctx.add_function("percentile", |Arguments(args): Arguments| -> Result<Value, ExecutionError> {
        let name = "percentile";
        arity(&args, 2, name)?;
        let Some(Value::List(items)) = args.first() else {
            return Err(ExecutionError::function_error(name, "argument 1 must be a list"));
        };
        let mut values = Vec::with_capacity(items.len());
        for v in items.iter() {
            match v {
                Value::Float(f) => values.push(*f),
                Value::Int(i) => values.push(*i as f64),
                Value::UInt(u) => values.push(*u as f64),
                _ => {
                    return Err(ExecutionError::function_error(name, "the list must hold numbers"));
                }
            }
        }
        let p = arg_number(&args, 1, name)?.unwrap_or(f64::NAN);
        crate::analysis::commitments::percentile(&values, p)
            .map(num)
            .ok_or_else(|| ExecutionError::function_error(name, "no values"))
    });
    // lower(s): tag values are written by hand ("Dev", "dev", "DEV"); CEL as implemented here
    // has no lowerAscii.
    ctx.add_function("lower", |Arguments(args): Arguments| -> Result<Value, ExecutionError> {
        arity(&args, 1, "lower")?;
        Ok(text(&arg_text(&args, 0, "lower")?.to_lowercase()))
    });
    // decimals(x, n): x with up to n decimals (0 to 6), as text; evidence shows two by default,
    // too few for an hourly price such as 0.0104.
    ctx.add_function("decimals", |Arguments(args): Arguments| -> Result<Value, ExecutionError> {
        arity(&args, 2, "decimals")?;
        let x = arg_number(&args, 0, "decimals")?.unwrap_or(f64::NAN);
        let n = whole(arg_number(&args, 1, "decimals")?).unwrap_or(0).min(6);
        let shown = format!("{x:.*}", usize::try_from(n).unwrap_or(6));
        let shown = if shown.contains('.') {
            shown.trim_end_matches('0').trim_end_matches('.')
        } else {
            &shown
        };
        Ok(text(shown))
    });
    ctx.add_function("ceil", |Arguments(args): Arguments| -> Result<Value, ExecutionError> {
        arity(&args, 1, "ceil")?;
        let x = arg_number(&args, 0, "ceil")?.unwrap_or(f64::NAN);
        Ok(num(x.ceil()))
    });
    ctx.add_function(
        "capacity_for",
        |Arguments(args): Arguments| -> Result<Value, ExecutionError> {
            let name = "capacity_for";
            arity(&args, 3, name)?;
            let number = |i| {
                arg_number(&args, i, name)?.filter(|x| x.is_finite()).ok_or_else(|| {
                    ExecutionError::function_error(
                        name,
                        format!("argument {} must be a number", i + 1),
                    )
                })
            };
            let (peak, current, target) = (number(0)?, number(1)?, number(2)?);
            if target <= 0.0 {
                return Err(ExecutionError::function_error(name, "target utilization must be > 0"));
            }
            Ok(num((peak / target).ceil().max(1.0).min(current.max(1.0))))
        },
    );
}

fn four_texts(args: &[Value], function: &str) -> Result<[Arc<String>; 4], ExecutionError> {
    Ok([
        arg_text(args, 0, function)?,
        arg_text(args, 1, function)?,
        arg_text(args, 2, function)?,
        arg_text(args, 3, function)?,
    ])
}
