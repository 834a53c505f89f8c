//! Redshift inventory of one region: provisioned clusters (DescribeClusters, paginated), with
//! the tags the answer carries. A paused cluster reads ClusterStatus `paused`.

use aws_sdk_redshift::Client;
use aws_sdk_redshift::types as rs;

use super::{ApiFailure, count, fail, non_empty, partition, to_chrono};
use crate::model::Tags;
use crate::model::inventory::{Inventory, RedshiftCluster};

const SERVICE: &str = "Redshift";

pub async fn inventory(
    client: &Client,
    account_id: &str,
    region: &str,
) -> Result<Inventory, ApiFailure> {
    let clusters = client
        .describe_clusters()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(fail(SERVICE, "DescribeClusters"))?;
    Ok(Inventory {
        redshift_clusters: clusters.iter().filter_map(|c| cluster(c, account_id, region)).collect(),
        ..Default::default()
    })
}

fn tags(tags: &[rs::Tag]) -> Tags {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
        .collect()
}

/// DescribeClusters gives no ARN: the one billing names the cluster by is built.
pub(crate) fn cluster(c: &rs::Cluster, account_id: &str, region: &str) -> Option<RedshiftCluster> {
    let name = non_empty(c.cluster_identifier())?;
    Some(RedshiftCluster {
        id: format!("arn:{}:redshift:{region}:{account_id}:cluster:{name}", partition(region)),
        account_id: account_id.to_string(),
        region: region.to_string(),
        node_type: c.node_type().unwrap_or_default().to_string(),
        nodes: u32::try_from(count(c.number_of_nodes())).unwrap_or(u32::MAX),
        status: c.cluster_status().unwrap_or_default().to_string(),
        create_time: c.cluster_create_time().and_then(to_chrono),
        tags: tags(c.tags()),
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clusters_get_their_arn_nodes_status_and_tags() {
        let c = rs::Cluster::builder()
            .cluster_identifier("warehouse")
            .node_type("ra3.4xlarge")
            .number_of_nodes(4)
            .cluster_status("paused")
            .tags(rs::Tag::builder().key("team").value("bi").build())
            .build();
        let r = cluster(&c, "111122223333", "us-gov-west-1").unwrap();
        assert_eq!(r.id, "arn:aws-us-gov:redshift:us-gov-west-1:111122223333:cluster:warehouse");
        assert_eq!(
            (r.node_type.as_str(), r.nodes, r.status.as_str()),
            ("ra3.4xlarge", 4, "paused")
        );
        assert_eq!(r.tags.get("team").map(String::as_str), Some("bi"));
        assert!(cluster(&rs::Cluster::builder().build(), "1", "us-east-1").is_none());
    }
}
