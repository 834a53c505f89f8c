//! Where a Kubernetes cluster runs, as far as its nodes say: the cloud (from the provider ids)
//! and the region (from the region labels), which price its volumes and load balancers; and
//! what the views of those objects share.

use super::{CostSource, CurrentCost, Fields, Inputs, ResourceView, text, view};
use crate::analysis::rules::rule::ResourceKind;
use crate::model::cluster::Cluster;
use crate::model::{Currency, Tags};

/// The cloud a cluster runs in, from its nodes' `spec.providerID` scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cloud {
    Aws,
    Gcp,
    Azure,
    Unknown,
}

impl Cloud {
    pub fn of(cluster: &Cluster) -> Cloud {
        let scheme = cluster
            .nodes
            .iter()
            .find_map(|n| n.provider_id.as_deref().and_then(|p| p.split_once("://")))
            .map(|(scheme, _)| scheme);
        match scheme {
            Some("aws") => Cloud::Aws,
            Some("gce") => Cloud::Gcp,
            Some("azure") => Cloud::Azure,
            _ => Cloud::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Aws => "aws",
            Cloud::Gcp => "gcp",
            Cloud::Azure => "azure",
            Cloud::Unknown => "unknown",
        }
    }
}

/// The region of the first node that names one.
pub fn region(cluster: &Cluster) -> String {
    cluster.nodes.iter().find_map(|n| n.region.clone()).unwrap_or_default()
}

/// Kubernetes objects carry no cloud tags.
pub fn no_tags() -> &'static Tags {
    static NO_TAGS: std::sync::OnceLock<Tags> = std::sync::OnceLock::new();
    NO_TAGS.get_or_init(Tags::new)
}

/// The fields every view of a cluster object starts with: its id, scope and cluster.
pub(super) fn object_fields(id: &str, scope: &'static str, cluster: &Cluster) -> Fields<'static> {
    let mut f = Fields::new();
    f.insert("id", text(id));
    f.insert("scope", text(scope));
    f.insert("cluster", text(&cluster.name));
    f
}

/// No price for a cluster object, and why (in the catalog's currency, which would have priced it).
pub(super) fn unpriced(input: &Inputs<'_, '_>, reason: String) -> CurrentCost {
    CurrentCost {
        monthly: None,
        currency: Currency::new(input.catalog.currency()),
        source: CostSource::Unknown { reason },
    }
}

/// The view of a cluster object (a volume, a load balancer): no account and no tags, the
/// cluster's region.
pub(super) fn object_view<'a>(
    input: &Inputs<'a, '_>,
    kind: ResourceKind,
    id: &str,
    region: &str,
    fields: Fields,
    cost: CurrentCost,
) -> ResourceView<'a> {
    view(kind, id, "", region, no_tags(), fields, input.utilization, cost)
}

/// A unit price of a service's table (`rules/prices/<service>.toml`), or why there is none.
pub(super) fn unit_price(
    input: &Inputs<'_, '_>,
    service: &str,
    region: &str,
    unit: &str,
) -> Result<crate::model::Money, String> {
    input
        .catalog
        .services()
        .get(service)
        .and_then(|t| t.unit(region, unit))
        .map_err(|e| e.to_string())
}
