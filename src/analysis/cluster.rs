//! Kubernetes cluster utilization and idle cost, with OpenCost's definitions: each node's monthly
//! cost split into CPU and memory, idle = allocatable − max(requested, used) priced at the node's
//! per-unit cost, efficiency = used / requested, and workloads' requests priced at the cluster's
//! average per-core and per-GiB cost.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::cluster::{Cluster, Node, Resources, Workload};
use crate::model::money::ESTIMATE_DIGITS;
use crate::model::{BillingSummary, Currency, Money, Snapshot};
use crate::pricing::{HOURS_PER_MONTH, PriceCatalog};

const GIB: u64 = 1 << 30;

/// Hourly prices of one vCPU and one GiB of memory, used only for the ratio in which a node's
/// cost is split between CPU and memory (never to price a node). The default is OpenCost's
/// default price set: 0.031611 per vCPU-hour and 0.004237 per GiB-hour, so an m5.large (2 vCPU,
/// 8 GiB) puts 65.1 % of its cost on CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CostSplit {
    /// Price of one vCPU for one hour.
    pub cpu_per_vcpu_hour: Money,
    /// Price of one GiB of memory for one hour.
    pub ram_per_gib_hour: Money,
    /// Also price nodes that neither billing nor the catalog knows at these rates (set when the
    /// user configured the prices in `[kubernetes]`; OpenCost's defaults only split costs).
    pub price_unknown_nodes: bool,
    /// Which billed amount a node costs (`[billing] resource_cost`), as for every resource.
    pub resource_cost: crate::model::ResourceCost,
}

impl CostSplit {
    /// OpenCost's default CPU and RAM prices.
    pub const OPENCOST: CostSplit = CostSplit {
        cpu_per_vcpu_hour: Money::from_raw(31_611 * 10i128.pow(12)),
        ram_per_gib_hour: Money::from_raw(4_237 * 10i128.pow(12)),
        price_unknown_nodes: false,
        resource_cost: crate::model::ResourceCost::Effective,
    };

    /// Monthly price of a machine of `shape` at these rates (× 730 hours).
    pub fn monthly_price(&self, shape: Resources) -> Money {
        let cpu = self.cpu_per_vcpu_hour.mul_ratio(i128::from(shape.cpu_millicores), 1000);
        let memory =
            self.ram_per_gib_hour.mul_ratio(i128::from(shape.memory_bytes), i128::from(GIB));
        (cpu + memory).times(HOURS_PER_MONTH).round_dp(ESTIMATE_DIGITS)
    }

    /// The CPU part of `total` for a machine of `shape`:
    /// `total × cpu_weight / (cpu_weight + memory_weight)`, rounded to 6 decimals. The memory part
    /// is `total` minus this, so the two always add up to `total`. With both weights zero the
    /// cost is split evenly.
    pub fn cpu_part(&self, total: Money, shape: Resources) -> Money {
        let cpu = self.cpu_per_vcpu_hour.mul_ratio(i128::from(shape.cpu_millicores), 1000);
        let memory =
            self.ram_per_gib_hour.mul_ratio(i128::from(shape.memory_bytes), i128::from(GIB));
        // Weights at 10^-12: exact for whole vCPUs and GiB, and total × weight stays far from
        // i128's limit (a 10^6 node × 448 vCPUs is ~10^37).
        let at_pico = |m: Money| m.round_dp(12).raw() / 1_000_000;
        let (cpu, memory) = (at_pico(cpu), at_pico(memory));
        let whole = cpu.saturating_add(memory);
        if whole <= 0 {
            return total.mul_ratio(1, 2).round_dp(ESTIMATE_DIGITS);
        }
        total.mul_ratio(cpu, whole).round_dp(ESTIMATE_DIGITS)
    }
}

impl Default for CostSplit {
    fn default() -> Self {
        CostSplit::OPENCOST
    }
}

/// Where a node's monthly cost came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "lowercase")]
pub enum NodeCostSource {
    /// Billed cost of the node's instance id over the days billed, scaled to 730 hours.
    Billing {
        /// The instance id billing knew the node by.
        resource_id: String,
        /// Days billed.
        days: i64,
    },
    /// The price catalog's on-demand price × 730 hours.
    Catalog {
        /// What was priced, e.g. `m5.xlarge in us-east-1 on demand × 730 h`.
        detail: String,
    },
    /// The per-vCPU-hour and per-GiB-hour prices configured in `[kubernetes]`.
    Configured {
        /// What was priced, e.g. `4 vCPU, 16.0 GiB at the configured prices × 730 h`.
        detail: String,
    },
    /// Neither billing nor the catalog knew the node.
    Unknown {
        /// Why, e.g. `no price for m5.huge in us-east-1 (unknown instance type)`.
        reason: String,
    },
}

/// A monthly cost split into CPU and memory, and the idle part of each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CostSplitAmounts {
    /// The whole monthly cost (`cpu + memory`).
    pub monthly: Money,
    pub cpu: Money,
    pub memory: Money,
    /// `cpu_idle + memory_idle`.
    pub idle: Money,
    /// CPU cost × (allocatable − max(requested, used)) / allocatable.
    pub cpu_idle: Money,
    /// Memory cost × (allocatable − max(requested, used)) / allocatable.
    pub memory_idle: Money,
}

impl CostSplitAmounts {
    fn add(&mut self, other: &CostSplitAmounts) {
        self.monthly += other.monthly;
        self.cpu += other.cpu;
        self.memory += other.memory;
        self.idle += other.idle;
        self.cpu_idle += other.cpu_idle;
        self.memory_idle += other.memory_idle;
    }
}

/// One node: its capacity, what pods hold of it, and what it costs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeReport {
    pub name: String,
    /// The EC2 instance id parsed from `aws:///<az>/<instance-id>`.
    pub instance_id: Option<String>,
    /// From the node, else its `node.kubernetes.io/instance-type` label.
    pub instance_type: Option<String>,
    /// From the node, else its `topology.kubernetes.io/region` label.
    pub region: Option<String>,
    pub allocatable: Resources,
    /// Sum of the requests of the pods scheduled on it.
    pub requested: Resources,
    /// From metrics.k8s.io (pods and system daemons); `None` when no metrics answered.
    pub used: Option<Resources>,
    /// The currency of `costs` (billing's, or the catalog's).
    pub currency: Currency,
    /// `None` when the node could not be priced (`cost_source` says why).
    pub costs: Option<CostSplitAmounts>,
    pub cost_source: NodeCostSource,
    /// `used / requested`, for display; `None` without usage or requests.
    pub cpu_efficiency: Option<f64>,
    pub memory_efficiency: Option<f64>,
}

/// One workload, all replicas together.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorkloadReport {
    pub namespace: String,
    pub kind: String,
    pub name: String,
    pub replicas: u32,
    /// Σ container requests × replicas.
    pub requested: Resources,
    /// Σ container usage × replicas; `None` unless every container has usage.
    pub used: Option<Resources>,
    /// Σ max(request − usage, 0) × replicas, floored per container so one container's headroom
    /// does not hide another's shortfall; `None` unless every container has usage.
    pub over_request: Option<Resources>,
    /// `used / requested`, for display.
    pub cpu_efficiency: Option<f64>,
    pub memory_efficiency: Option<f64>,
    /// Requests priced at the cluster's average monthly cost per core and per GiB (in the
    /// cluster's currency); `None` when no node is priced.
    pub monthly_cost: Option<Money>,
    /// `over_request` priced the same way.
    pub over_request_cost: Option<Money>,
}

/// One cluster: nodes, workloads and totals.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClusterReport {
    pub name: String,
    /// Sorted by name.
    pub nodes: Vec<NodeReport>,
    /// Largest monthly cost first, then namespace, name and kind.
    pub workloads: Vec<WorkloadReport>,
    /// Sums over every node.
    pub allocatable: Resources,
    pub requested: Resources,
    /// `None` unless every node reported usage.
    pub used: Option<Resources>,
    /// `used / requested` over the whole cluster, for display. Node usage includes system
    /// daemons that request nothing.
    pub cpu_efficiency: Option<f64>,
    pub memory_efficiency: Option<f64>,
    /// The currency of the costs: the one most priced nodes are in (ties: the first in order).
    pub currency: Currency,
    /// Sums over the nodes priced in `currency`; `None` when no node is priced.
    pub costs: Option<CostSplitAmounts>,
    /// Nodes whose cost is in `costs`.
    pub nodes_priced: u64,
    /// Nodes left out of `costs`: not priced, or priced in another currency.
    pub nodes_unpriced: u64,
    /// Average monthly cost of one allocatable core (CPU cost of the priced nodes / their
    /// allocatable cores), rounded to 6 decimals; what workloads' CPU requests are priced at.
    pub cpu_cost_per_core: Option<Money>,
    /// Average monthly cost of one allocatable GiB, the same way.
    pub memory_cost_per_gib: Option<Money>,
}

/// Analyses every cluster of the snapshot (sorted by name). Node costs come from the snapshot's
/// billing by instance id when it has one ([`BillingSummary::monthly_cost`], the figure the rules
/// use), else from `catalog` by instance type and region. `split` gives the CPU:memory ratio.
pub fn cluster_report(
    snapshot: &Snapshot,
    catalog: &PriceCatalog,
    split: CostSplit,
) -> Vec<ClusterReport> {
    let mut reports: Vec<ClusterReport> = snapshot
        .clusters
        .iter()
        .map(|c| one_cluster(c, snapshot.billing.as_ref(), catalog, split))
        .collect();
    reports.sort_by(|a, b| a.name.cmp(&b.name));
    reports
}

fn efficiency(used: u64, requested: u64) -> Option<f64> {
    (requested > 0).then(|| used as f64 / requested as f64)
}

fn label<'a>(node: &'a Node, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| node.labels.get(*k)).map(String::as_str).filter(|v| !v.is_empty())
}

/// `aws:///us-east-1a/i-0abc` → `i-0abc`.
fn instance_id(provider_id: &str) -> Option<&str> {
    let id = provider_id.strip_prefix("aws://")?.rsplit('/').next()?;
    id.starts_with("i-").then_some(id)
}

/// The part of `cost` not held: `cost × (allocatable − min(held, allocatable)) / allocatable`.
/// A node with nothing allocatable can hold nothing, so all of it is idle.
fn idle_part(cost: Money, allocatable: u64, held: u64) -> Money {
    if allocatable == 0 {
        return cost;
    }
    let idle = allocatable.saturating_sub(held);
    cost.mul_ratio(i128::from(idle), i128::from(allocatable)).round_dp(ESTIMATE_DIGITS)
}

/// The monthly cost of a node and where it came from.
fn node_cost(
    node: &Node,
    id: Option<&str>,
    instance_type: Option<&str>,
    region: Option<&str>,
    billing: Option<&BillingSummary>,
    catalog: &PriceCatalog,
    split: CostSplit,
) -> (Option<(Money, Currency)>, NodeCostSource) {
    let (priced, source) =
        known_node_cost(node, id, instance_type, region, billing, catalog, split.resource_cost);
    if priced.is_some() || !split.price_unknown_nodes {
        return (priced, source);
    }
    // The configured rates, on what the node reports it has.
    let shape =
        if node.capacity == Resources::default() { node.allocatable } else { node.capacity };
    let detail = format!(
        "{} vCPU, {:.1} GiB at the configured prices × {HOURS_PER_MONTH} h",
        shape.cpu_millicores as f64 / 1000.0,
        shape.memory_bytes as f64 / GIB as f64
    );
    let monthly = split.monthly_price(shape);
    (Some((monthly, Currency::new(catalog.currency()))), NodeCostSource::Configured { detail })
}

fn known_node_cost(
    node: &Node,
    id: Option<&str>,
    instance_type: Option<&str>,
    region: Option<&str>,
    billing: Option<&BillingSummary>,
    catalog: &PriceCatalog,
    resource_cost: crate::model::ResourceCost,
) -> (Option<(Money, Currency)>, NodeCostSource) {
    if let Some(id) = id
        && let Some((monthly, currency, days)) =
            billing.and_then(|b| b.monthly_cost(id, HOURS_PER_MONTH, resource_cost))
    {
        let source = NodeCostSource::Billing { resource_id: id.to_string(), days };
        return (Some((monthly, currency)), source);
    }
    let (Some(instance_type), Some(region)) = (instance_type, region) else {
        let missing = if instance_type.is_none() { "instance type" } else { "region" };
        let reason = format!("not in billing, and node {} has no {missing}", node.name);
        return (None, NodeCostSource::Unknown { reason });
    };
    match catalog.instance_hourly(region, instance_type) {
        Ok(hourly) => {
            let detail = format!("{instance_type} in {region} on demand × {HOURS_PER_MONTH} h");
            let monthly = hourly.times(HOURS_PER_MONTH);
            (Some((monthly, Currency::new(catalog.currency()))), NodeCostSource::Catalog { detail })
        }
        Err(e) => (None, NodeCostSource::Unknown { reason: e.to_string() }),
    }
}

fn one_node(
    node: &Node,
    billing: Option<&BillingSummary>,
    catalog: &PriceCatalog,
    split: CostSplit,
) -> NodeReport {
    let id = node.provider_id.as_deref().and_then(instance_id);
    let instance_type = node.instance_type.as_deref().filter(|t| !t.is_empty()).or_else(|| {
        label(node, &["node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type"])
    });
    let region = node.region.as_deref().filter(|r| !r.is_empty()).or_else(|| {
        label(node, &["topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region"])
    });
    let (priced, cost_source) = node_cost(node, id, instance_type, region, billing, catalog, split);
    // The machine's shape sets the CPU:memory ratio: the catalog's vCPUs and GiB when it knows
    // the type (what the instance is billed for), else the node's reported capacity.
    let shape = instance_type
        .and_then(|t| catalog.instance_shape(t))
        .map(|s| Resources {
            cpu_millicores: u64::from(s.vcpu) * 1000,
            memory_bytes: (s.memory_gib * GIB as f64).round() as u64,
        })
        .unwrap_or(if node.capacity == Resources::default() {
            node.allocatable
        } else {
            node.capacity
        });
    let usage = node.usage.unwrap_or_default();
    // OpenCost holds max(request, usage) per resource; without metrics, the requests.
    let held_cpu = node.requested.cpu_millicores.max(usage.cpu_millicores);
    let held_memory = node.requested.memory_bytes.max(usage.memory_bytes);
    let (currency, costs) = match priced {
        Some((monthly, currency)) => {
            let cpu = split.cpu_part(monthly, shape);
            let memory = monthly - cpu;
            let cpu_idle = idle_part(cpu, node.allocatable.cpu_millicores, held_cpu);
            let memory_idle = idle_part(memory, node.allocatable.memory_bytes, held_memory);
            let costs = CostSplitAmounts {
                monthly,
                cpu,
                memory,
                idle: cpu_idle + memory_idle,
                cpu_idle,
                memory_idle,
            };
            (currency, Some(costs))
        }
        None => (Currency::unknown(), None),
    };
    NodeReport {
        name: node.name.clone(),
        instance_id: id.map(str::to_string),
        instance_type: instance_type.map(str::to_string),
        region: region.map(str::to_string),
        allocatable: node.allocatable,
        requested: node.requested,
        used: node.usage,
        currency,
        costs,
        cost_source,
        cpu_efficiency: node
            .usage
            .and_then(|u| efficiency(u.cpu_millicores, node.requested.cpu_millicores)),
        memory_efficiency: node
            .usage
            .and_then(|u| efficiency(u.memory_bytes, node.requested.memory_bytes)),
    }
}

/// Average monthly cost of one allocatable unit, and a way to price quantities at it.
struct UnitCosts {
    cpu: Money,
    cpu_millicores: u64,
    memory: Money,
    memory_bytes: u64,
}

impl UnitCosts {
    fn price(&self, quantity: Resources) -> Money {
        let cpu = self
            .cpu
            .mul_ratio(i128::from(quantity.cpu_millicores), i128::from(self.cpu_millicores));
        let memory =
            self.memory.mul_ratio(i128::from(quantity.memory_bytes), i128::from(self.memory_bytes));
        (cpu + memory).round_dp(ESTIMATE_DIGITS)
    }
}

fn one_workload(w: &Workload, units: Option<&UnitCosts>) -> WorkloadReport {
    let replicas = u64::from(w.replicas);
    let mut requested = Resources::default();
    let mut used = Some(Resources::default());
    let mut over = Some(Resources::default());
    for c in &w.containers {
        requested.cpu_millicores += c.requests.cpu_millicores.saturating_mul(replicas);
        requested.memory_bytes += c.requests.memory_bytes.saturating_mul(replicas);
        match (c.usage, used.as_mut(), over.as_mut()) {
            (Some(u), Some(used), Some(over)) => {
                used.cpu_millicores += u.cpu_millicores.saturating_mul(replicas);
                used.memory_bytes += u.memory_bytes.saturating_mul(replicas);
                over.cpu_millicores += c
                    .requests
                    .cpu_millicores
                    .saturating_sub(u.cpu_millicores)
                    .saturating_mul(replicas);
                over.memory_bytes +=
                    c.requests.memory_bytes.saturating_sub(u.memory_bytes).saturating_mul(replicas);
            }
            _ => {
                used = None;
                over = None;
            }
        }
    }
    WorkloadReport {
        namespace: w.namespace.clone(),
        kind: w.kind.clone(),
        name: w.name.clone(),
        replicas: w.replicas,
        requested,
        used,
        over_request: over,
        cpu_efficiency: used.and_then(|u| efficiency(u.cpu_millicores, requested.cpu_millicores)),
        memory_efficiency: used.and_then(|u| efficiency(u.memory_bytes, requested.memory_bytes)),
        monthly_cost: units.map(|u| u.price(requested)),
        over_request_cost: units.and_then(|u| Some(u.price(over?))),
    }
}

fn add(total: &mut Resources, r: Resources) {
    total.cpu_millicores = total.cpu_millicores.saturating_add(r.cpu_millicores);
    total.memory_bytes = total.memory_bytes.saturating_add(r.memory_bytes);
}

fn one_cluster(
    cluster: &Cluster,
    billing: Option<&BillingSummary>,
    catalog: &PriceCatalog,
    split: CostSplit,
) -> ClusterReport {
    let mut nodes: Vec<NodeReport> =
        cluster.nodes.iter().map(|n| one_node(n, billing, catalog, split)).collect();
    nodes.sort_by(|a, b| a.name.cmp(&b.name));

    let mut allocatable = Resources::default();
    let mut requested = Resources::default();
    let mut used = Some(Resources::default());
    for n in &nodes {
        add(&mut allocatable, n.allocatable);
        add(&mut requested, n.requested);
        used = used.zip(n.used).map(|(mut total, u)| {
            add(&mut total, u);
            total
        });
    }

    let mut per_currency: BTreeMap<&Currency, u64> = BTreeMap::new();
    for n in nodes.iter().filter(|n| n.costs.is_some()) {
        *per_currency.entry(&n.currency).or_default() += 1;
    }
    // Most nodes first; among equals the smallest currency (max_by keeps the last maximum).
    let currency = per_currency
        .iter()
        .rev()
        .max_by_key(|(_, count)| **count)
        .map(|(c, _)| (*c).clone())
        .unwrap_or_default();
    let mut costs: Option<CostSplitAmounts> = None;
    let mut priced_allocatable = Resources::default();
    let mut nodes_priced = 0;
    for n in nodes.iter().filter(|n| n.currency == currency) {
        if let Some(c) = &n.costs {
            costs.get_or_insert_with(CostSplitAmounts::default).add(c);
            add(&mut priced_allocatable, n.allocatable);
            nodes_priced += 1;
        }
    }
    let units = costs.map(|c| UnitCosts {
        cpu: c.cpu,
        cpu_millicores: priced_allocatable.cpu_millicores,
        memory: c.memory,
        memory_bytes: priced_allocatable.memory_bytes,
    });
    let per_unit = |cost: Money, unit: u64, allocatable: u64| {
        (allocatable > 0).then(|| {
            cost.mul_ratio(i128::from(unit), i128::from(allocatable)).round_dp(ESTIMATE_DIGITS)
        })
    };
    let cpu_cost_per_core =
        costs.and_then(|c| per_unit(c.cpu, 1000, priced_allocatable.cpu_millicores));
    let memory_cost_per_gib =
        costs.and_then(|c| per_unit(c.memory, GIB, priced_allocatable.memory_bytes));

    let mut workloads: Vec<WorkloadReport> =
        cluster.workloads.iter().map(|w| one_workload(w, units.as_ref())).collect();
    workloads.sort_by(|a, b| {
        b.monthly_cost
            .cmp(&a.monthly_cost)
            .then_with(|| a.namespace.cmp(&b.namespace))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.kind.cmp(&b.kind))
    });

    ClusterReport {
        name: cluster.name.clone(),
        allocatable,
        requested,
        used,
        cpu_efficiency: used.and_then(|u| efficiency(u.cpu_millicores, requested.cpu_millicores)),
        memory_efficiency: used.and_then(|u| efficiency(u.memory_bytes, requested.memory_bytes)),
        currency,
        costs,
        nodes_priced,
        nodes_unpriced: nodes.len() as u64 - nodes_priced,
        cpu_cost_per_core,
        memory_cost_per_gib,
        nodes,
        workloads,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};

    use super::*;
    use crate::model::cluster::ContainerResources;
    use crate::model::{BilledResource, BillingLine};
    use crate::source::focus::FocusOptions;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    fn res(cpu_millicores: u64, memory_gib: u64) -> Resources {
        Resources { cpu_millicores, memory_bytes: memory_gib * GIB }
    }

    fn node(name: &str, id: &str, requested: Resources, usage: Option<Resources>) -> Node {
        Node {
            name: name.into(),
            provider_id: Some(format!("aws:///us-east-1a/{id}")),
            instance_type: Some("m5.large".into()),
            region: Some("us-east-1".into()),
            allocatable: res(2000, 8),
            capacity: res(2000, 8),
            requested,
            usage,
            ..Default::default()
        }
    }

    fn container(requests: Resources, usage: Option<Resources>) -> ContainerResources {
        ContainerResources { name: "c".into(), requests, limits: None, usage, usage_source: None }
    }

    /// Two m5.large nodes (0.096/h = 70.08/month in us-east-1), 2000m and 8 GiB allocatable each.
    /// a: requests 1500m/4 GiB, uses 500m/6 GiB; b: requests 1000m/2 GiB, no metrics.
    fn two_nodes() -> Snapshot {
        let mut snapshot = Snapshot::empty(Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap());
        snapshot.clusters.push(Cluster {
            name: "test".into(),
            nodes: vec![
                node("b", "i-b", res(1000, 2), None),
                node("a", "i-a", res(1500, 4), Some(res(500, 6))),
            ],
            workloads: vec![
                Workload {
                    namespace: "web".into(),
                    kind: "Deployment".into(),
                    name: "api".into(),
                    replicas: 2,
                    containers: vec![container(
                        res(500, 1),
                        Some(Resources { cpu_millicores: 100, memory_bytes: GIB / 2 }),
                    )],
                    network: None,
                },
                Workload {
                    namespace: "jobs".into(),
                    kind: "Job".into(),
                    name: "batch".into(),
                    replicas: 1,
                    containers: vec![
                        container(res(250, 1), Some(res(300, 0))),
                        container(res(250, 0), None),
                    ],
                    network: None,
                },
            ],
            ..Default::default()
        });
        snapshot
    }

    fn catalog() -> PriceCatalog {
        PriceCatalog::builtin().unwrap()
    }

    #[test]
    fn default_split_is_opencosts_price_ratio() {
        // 70.08 × (2 × 0.031611) / (2 × 0.031611 + 8 × 0.004237) = 70.08 × 0.063222 / 0.097118.
        let cpu = CostSplit::default().cpu_part(m("70.08"), res(2000, 8));
        assert_eq!(cpu, m("45.620768"));
        let even = CostSplit {
            cpu_per_vcpu_hour: Money::ZERO,
            ram_per_gib_hour: Money::ZERO,
            ..CostSplit::OPENCOST
        };
        assert_eq!(even.cpu_part(m("70.08"), res(2000, 8)), m("35.04"));
    }

    #[test]
    fn idle_cost_and_efficiency_by_hand() {
        let reports = cluster_report(&two_nodes(), &catalog(), CostSplit::default());
        let [c] = reports.as_slice() else { panic!("one cluster") };
        let [a, b] = c.nodes.as_slice() else { panic!("two nodes") };
        assert_eq!((a.name.as_str(), b.name.as_str()), ("a", "b"), "sorted by name");
        assert_eq!(a.instance_id.as_deref(), Some("i-a"));
        assert_eq!(
            a.cost_source,
            NodeCostSource::Catalog { detail: "m5.large in us-east-1 on demand × 730 h".into() }
        );
        assert_eq!(a.currency, Currency::usd());

        // a holds max(1500, 500) = 1500 of 2000m and max(4, 6) = 6 of 8 GiB: a quarter of each
        // idle, so a quarter of 70.08.
        let ac = a.costs.unwrap();
        assert_eq!((ac.monthly, ac.cpu, ac.memory), (m("70.08"), m("45.620768"), m("24.459232")));
        assert_eq!((ac.cpu_idle, ac.memory_idle), (m("11.405192"), m("6.114808")));
        assert_eq!(ac.idle, m("17.52"));
        assert_eq!(a.cpu_efficiency, Some(500.0 / 1500.0));
        assert_eq!(a.memory_efficiency, Some(1.5));

        // b has no metrics: it holds its requests, 1000m (half idle) and 2 GiB (3/4 idle).
        let bc = b.costs.unwrap();
        assert_eq!((bc.cpu_idle, bc.memory_idle), (m("22.810384"), m("18.344424")));
        assert_eq!(bc.idle, m("41.154808"));
        assert_eq!((b.cpu_efficiency, b.memory_efficiency), (None, None));

        // Totals.
        assert_eq!(c.allocatable, res(4000, 16));
        assert_eq!(c.requested, res(2500, 6));
        assert_eq!(c.used, None, "b reported no usage");
        assert_eq!((c.cpu_efficiency, c.memory_efficiency), (None, None));
        let cc = c.costs.unwrap();
        assert_eq!(cc.monthly, m("140.16"));
        assert_eq!(cc.idle, m("58.674808"));
        assert_eq!(cc.cpu + cc.memory, cc.monthly);
        assert_eq!((c.nodes_priced, c.nodes_unpriced), (2, 0));
        assert_eq!(c.currency, Currency::usd());
        // 91.241536 of CPU over 4 cores, 48.918464 of memory over 16 GiB.
        assert_eq!(c.cpu_cost_per_core, Some(m("22.810384")));
        assert_eq!(c.memory_cost_per_gib, Some(m("3.057404")));
    }

    #[test]
    fn workloads_price_their_requests_at_the_cluster_average() {
        let reports = cluster_report(&two_nodes(), &catalog(), CostSplit::default());
        let [api, batch] = reports[0].workloads.as_slice() else { panic!("two workloads") };
        assert_eq!(api.name, "api", "largest cost first");
        // 2 × (500m, 1 GiB) requested, 2 × (100m, 0.5 GiB) used.
        assert_eq!(api.requested, res(1000, 2));
        assert_eq!(api.used, Some(res(200, 1)));
        assert_eq!(api.over_request, Some(res(800, 1)));
        assert_eq!(api.cpu_efficiency, Some(0.2));
        assert_eq!(api.memory_efficiency, Some(0.5));
        // CPU 91.241536 × 1000/4000 + memory 48.918464 × 2/16.
        assert_eq!(api.monthly_cost, Some(m("28.925192")));
        // CPU 91.241536 × 800/4000 + memory 48.918464 × 1/16 = 18.2483072 + 3.057404.
        assert_eq!(api.over_request_cost, Some(m("21.305711")));

        // One container without usage: requests are known, usage and over-request are not.
        assert_eq!(batch.requested, res(500, 1));
        assert_eq!((batch.used, batch.over_request), (None, None));
        assert_eq!(batch.over_request_cost, None);
        // 91.241536 × 500/4000 + 48.918464 × 1/16 = 11.405192 + 3.057404.
        assert_eq!(batch.monthly_cost, Some(m("14.462596")));
    }

    #[test]
    fn over_request_is_floored_per_container() {
        let w = Workload {
            replicas: 3,
            containers: vec![
                container(res(500, 2), Some(res(100, 1))),
                container(res(100, 1), Some(res(400, 2))),
            ],
            ..Default::default()
        };
        let r = one_workload(&w, None);
        // The second container's shortfall does not offset the first one's headroom.
        assert_eq!(r.over_request, Some(res(1200, 3)));
        assert_eq!(r.used, Some(res(1500, 9)));
        assert_eq!(r.monthly_cost, None);
    }

    #[test]
    fn billing_comes_first_then_the_catalog_then_a_reason() {
        let mut snapshot = two_nodes();
        let day = |d| NaiveDate::from_ymd_opt(2026, 10, d);
        // i-a billed 10 days at 2.304 a day: 23.04 → 70.08 a month, from billing.
        snapshot.billing = Some(BillingSummary {
            lines: vec![BillingLine {
                day: None,
                provider: "AWS".into(),
                account_id: "1".into(),
                service: "Amazon Elastic Compute Cloud".into(),
                region: "us-east-1".into(),
                resource_id: "i-a".into(),
                charge_category: "Usage".into(),
                charge_frequency: String::new().into(),
                tag_set: None,
                currency: Currency::usd(),
                billed_cost: m("23.04"),
                effective_cost: None,
                list_cost: None,
                rows: 10,
            }],
            resources: [(
                "i-a".into(),
                BilledResource { first_day: day(1), last_day: day(10), ..Default::default() },
            )]
            .into_iter()
            .collect(),
            ..Default::default()
        });
        let nodes = &mut snapshot.clusters[0].nodes;
        nodes[0].instance_type = Some("m5.huge".into());
        nodes.push(Node { name: "c".into(), ..nodes[1].clone() });
        nodes[2].provider_id = None;
        nodes[2].instance_type = None;
        let reports = cluster_report(&snapshot, &catalog(), CostSplit::default());
        let c = &reports[0];
        assert_eq!(
            c.nodes[0].cost_source,
            NodeCostSource::Billing { resource_id: "i-a".into(), days: 10 }
        );
        assert_eq!(c.nodes[0].costs.map(|x| x.monthly), Some(m("70.08")));
        assert_eq!(
            c.nodes[1].cost_source,
            NodeCostSource::Unknown {
                reason: "no price for m5.huge in us-east-1 (unknown instance type)".into()
            }
        );
        assert_eq!(c.nodes[1].costs, None);
        assert_eq!(
            c.nodes[2].cost_source,
            NodeCostSource::Unknown {
                reason: "not in billing, and node c has no instance type".into()
            }
        );
        assert_eq!((c.nodes_priced, c.nodes_unpriced), (1, 2));
        assert_eq!(c.costs.map(|x| x.monthly), Some(m("70.08")));
        // Unpriced nodes add to the quantities but not to the per-unit averages.
        assert_eq!(c.allocatable, res(6000, 24));
        assert_eq!(c.cpu_cost_per_core, Some(m("22.810384")));
    }

    #[test]
    fn configured_prices_price_nodes_nothing_else_knows() {
        let mut snapshot = two_nodes();
        let node = &mut snapshot.clusters[0].nodes[0];
        node.instance_type = None;
        node.provider_id = None;
        node.labels.clear();
        node.capacity = res(4000, 16);
        // Node "b" (listed first) is the one with nothing to price it by; reports sort by name.
        let b =
            |reports: &[ClusterReport]| reports[0].nodes.iter().find(|n| n.name == "b").cloned();
        let unpriced = cluster_report(&snapshot, &catalog(), CostSplit::default());
        assert!(matches!(b(&unpriced).unwrap().cost_source, NodeCostSource::Unknown { .. }));
        let configured = CostSplit { price_unknown_nodes: true, ..CostSplit::OPENCOST };
        let reports = cluster_report(&snapshot, &catalog(), configured);
        let n = b(&reports).unwrap();
        // (4 × 0.031611 + 16 × 0.004237) × 730
        assert_eq!(n.costs.map(|c| c.monthly), Some(m("141.79228")));
        assert_eq!(
            n.cost_source,
            NodeCostSource::Configured {
                detail: "4 vCPU, 16.0 GiB at the configured prices × 730 h".into()
            }
        );
    }

    #[test]
    fn parses_the_instance_id_of_aws_provider_ids_only() {
        assert_eq!(
            instance_id("aws:///us-east-1a/i-0aa89310ea7b1878d"),
            Some("i-0aa89310ea7b1878d")
        );
        assert_eq!(instance_id("aws:///us-east-1a/"), None);
        assert_eq!(instance_id("gce://project/zone/name"), None);
        assert_eq!(instance_id("kind://docker/kind/kind-control-plane"), None);
    }

    #[test]
    fn every_sample_node_is_priced_from_billing() {
        let mut snapshot = crate::sample::snapshot().unwrap();
        snapshot.billing = Some(crate::sample::billing(FocusOptions::default()).unwrap());
        let reports = cluster_report(&snapshot, &catalog(), CostSplit::default());
        let [c] = reports.as_slice() else { panic!("one cluster") };
        assert_eq!(c.nodes.len(), 8);
        for n in &c.nodes {
            // The batch groups run in an account whose bill the sample does not have.
            let batch = ["ip-10-20-112-", "ip-10-20-128-", "ip-10-20-144-"]
                .iter()
                .any(|p| n.name.starts_with(p));
            assert!(
                if batch {
                    matches!(n.cost_source, NodeCostSource::Catalog { .. })
                } else {
                    // Launched 12 September: billed 19 + 31 days of the sample.
                    matches!(n.cost_source, NodeCostSource::Billing { days: 50, .. })
                },
                "{}: {:?}",
                n.name,
                n.cost_source
            );
            // Billed at the catalog's on-demand rate since launch (12 September, a few minutes
            // apart), scaled from the 50 days billed to 730 hours; the savings plan covers the
            // billed nodes, which cost its rate (72 %) by default.
            let hourly = catalog()
                .instance_hourly("us-east-1", n.instance_type.as_deref().unwrap())
                .unwrap();
            let expected = if batch {
                hourly.times(730)
            } else {
                let NodeCostSource::Billing { resource_id, .. } = &n.cost_source else {
                    panic!("{}", n.name)
                };
                let instance =
                    snapshot.inventory.instances.iter().find(|i| &i.id == resource_id).unwrap();
                let seconds = (snapshot.collected_at - instance.launch_time.unwrap()).num_seconds();
                hourly.mul_ratio(72, 100).mul_ratio(i128::from(seconds) * 730, 3600 * 24 * 50)
            };
            let off = n.costs.unwrap().monthly - expected;
            // Rows are rounded to 10 decimals and the monthly figure to 6.
            assert!(off <= m("0.000001") && off >= -m("0.000001"), "{}: {off}", n.name);
            assert!(n.costs.unwrap().idle > Money::ZERO);
        }
        // 3 batch m5.xlarge on demand (140.16) + 4 m5.xlarge (140.16 × 0.72 = 100.9152) and
        // 1 r5.xlarge (183.96 × 0.72 = 132.4512) on the plan, a little less for the hours of
        // 12 September before each node's launch.
        let full = m("956.592");
        let total = c.costs.unwrap().monthly;
        assert!(total < full && total > full - m("0.1"), "{total}");
        // The batch nodes hold only DaemonSets: 225m each.
        assert_eq!(c.requested.cpu_millicores, 16_100);
        assert_eq!(c.allocatable.cpu_millicores, 31_360);
        assert_eq!(c.workloads.len(), 11);
        assert!(c.cpu_efficiency.is_some_and(|e| e > 0.3 && e < 0.5));
        let workload_cost: Money = c.workloads.iter().filter_map(|w| w.monthly_cost).sum();
        assert!(workload_cost <= c.costs.unwrap().monthly);
    }
}
