//! Where a Kubernetes cluster runs, as far as its nodes say: the cloud (from the provider ids)
//! and the region (from the region labels), which price its volumes and load balancers.

use crate::model::Tags;
use crate::model::cluster::Cluster;

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
