//! ElastiCache inventory of one region: cache clusters (with their nodes) and replication
//! groups, both paginated, folded into one [`CacheCluster`] per replication group and one per
//! cache cluster outside any group; tags from ListTagsForResource, one call per resource.

use std::collections::BTreeMap;

use aws_sdk_elasticache::Client;
use aws_sdk_elasticache::types as ec;

use super::{ApiFailure, ServiceRead, fail, non_empty, partition, tags_of, to_chrono};
use crate::model::Tags;
use crate::model::inventory::{CacheCluster, Inventory};

const SERVICE: &str = "ElastiCache";

/// Reads the region's caches. A failed describe fails ElastiCache for the region; failed tag
/// calls leave those caches untagged and become one warning.
pub async fn inventory(
    client: &Client,
    account_id: &str,
    region: &str,
) -> Result<ServiceRead, ApiFailure> {
    let clusters = client
        .describe_cache_clusters()
        .show_cache_node_info(true)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(fail(SERVICE, "DescribeCacheClusters"))?;
    let groups = client
        .describe_replication_groups()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(fail(SERVICE, "DescribeReplicationGroups"))?;

    let mut caches = caches(&clusters, &groups, account_id, region);
    let ids = caches.iter().map(|c| c.id.clone()).collect();
    let (tags, failure) = tags_of(ids, |arn| async move {
        let answer = client
            .list_tags_for_resource()
            .resource_name(arn)
            .send()
            .await
            .map_err(fail(SERVICE, "ListTagsForResource"))?;
        Ok(tags(answer.tag_list()))
    })
    .await;
    for (cache, tags) in caches.iter_mut().zip(tags) {
        cache.tags = tags.unwrap_or_default();
    }
    let warnings = failure.into_iter().collect();
    Ok(ServiceRead {
        inventory: Inventory { cache_clusters: caches, ..Default::default() },
        warnings,
    })
}

fn tags(tags: &[ec::Tag]) -> Tags {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
        .collect()
}

fn arn(given: Option<&str>, kind: &str, name: &str, account_id: &str, region: &str) -> String {
    non_empty(given).unwrap_or_else(|| {
        format!("arn:{}:elasticache:{region}:{account_id}:{kind}:{name}", partition(region))
    })
}

/// Nodes of one cache cluster: the nodes listed (ShowCacheNodeInfo), else the count.
fn node_count(c: &ec::CacheCluster) -> u32 {
    let listed = c.cache_nodes().len();
    let n = if listed > 0 { listed } else { c.num_cache_nodes().map_or(0, |n| n.max(0) as usize) };
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// One cache per replication group (its member clusters are its nodes), one per cache cluster
/// outside a listed group.
pub(crate) fn caches(
    clusters: &[ec::CacheCluster],
    groups: &[ec::ReplicationGroup],
    account_id: &str,
    region: &str,
) -> Vec<CacheCluster> {
    let by_id: BTreeMap<&str, &ec::CacheCluster> =
        clusters.iter().filter_map(|c| Some((c.cache_cluster_id()?, c))).collect();
    let mut out = Vec::new();
    let mut grouped: Vec<&str> = Vec::new();
    for g in groups {
        let Some(name) = non_empty(g.replication_group_id()) else { continue };
        let mut node_ids: Vec<String> = g.member_clusters().to_vec();
        if node_ids.is_empty() {
            node_ids = g
                .node_groups()
                .iter()
                .flat_map(|ng| ng.node_group_members())
                .filter_map(|m| non_empty(m.cache_cluster_id()))
                .collect();
        }
        let members: Vec<&ec::CacheCluster> =
            node_ids.iter().filter_map(|id| by_id.get(id.as_str()).copied()).collect();
        grouped.extend(
            node_ids
                .iter()
                .map(String::as_str)
                .filter_map(|id| by_id.get_key_value(id).map(|(k, _)| *k)),
        );
        let first = members.first();
        // Members that were not in the cluster list still count as one node each.
        let nodes: u32 = members.iter().map(|m| node_count(m)).sum::<u32>()
            + u32::try_from(node_ids.len() - members.len()).unwrap_or(0);
        out.push(CacheCluster {
            id: arn(g.arn(), "replicationgroup", &name, account_id, region),
            account_id: account_id.to_string(),
            region: region.to_string(),
            engine: non_empty(g.engine())
                .or_else(|| first.and_then(|m| non_empty(m.engine())))
                .unwrap_or_else(|| "redis".to_string()),
            engine_version: first.and_then(|m| m.engine_version()).unwrap_or_default().to_string(),
            node_type: non_empty(g.cache_node_type())
                .or_else(|| first.and_then(|m| non_empty(m.cache_node_type())))
                .unwrap_or_default(),
            nodes,
            node_ids,
            status: g.status().unwrap_or_default().to_string(),
            create_time: g
                .replication_group_create_time()
                .or_else(|| first.and_then(|m| m.cache_cluster_create_time()))
                .and_then(to_chrono),
            tags: Tags::new(),
            name,
        });
    }
    for c in clusters {
        let Some(name) = non_empty(c.cache_cluster_id()) else { continue };
        if grouped.contains(&name.as_str()) {
            continue;
        }
        out.push(CacheCluster {
            id: arn(c.arn(), "cluster", &name, account_id, region),
            account_id: account_id.to_string(),
            region: region.to_string(),
            engine: c.engine().unwrap_or_default().to_string(),
            engine_version: c.engine_version().unwrap_or_default().to_string(),
            node_type: c.cache_node_type().unwrap_or_default().to_string(),
            nodes: node_count(c),
            node_ids: vec![name.clone()],
            status: c.cache_cluster_status().unwrap_or_default().to_string(),
            create_time: c.cache_cluster_create_time().and_then(to_chrono),
            tags: Tags::new(),
            name,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, group: Option<&str>, engine: &str, nodes: usize) -> ec::CacheCluster {
        let mut b = ec::CacheCluster::builder()
            .cache_cluster_id(id)
            .set_replication_group_id(group.map(str::to_string))
            .engine(engine)
            .engine_version("7.1")
            .cache_node_type("cache.r6g.large")
            .cache_cluster_status("available")
            .num_cache_nodes(i32::try_from(nodes).unwrap());
        for n in 1..=nodes {
            b = b.cache_nodes(ec::CacheNode::builder().cache_node_id(format!("{n:04}")).build());
        }
        b.build()
    }

    #[test]
    fn a_replication_group_is_one_cache_with_its_members_as_nodes() {
        let clusters = [
            node("sessions-001", Some("sessions"), "redis", 1),
            node("sessions-002", Some("sessions"), "redis", 1),
            node("memo", None, "memcached", 3),
        ];
        let group = ec::ReplicationGroup::builder()
            .replication_group_id("sessions")
            .arn("arn:aws:elasticache:us-east-1:1:replicationgroup:sessions")
            .status("available")
            .member_clusters("sessions-001")
            .member_clusters("sessions-002")
            .build();
        let caches = caches(&clusters, &[group], "1", "us-east-1");
        assert_eq!(caches.len(), 2);
        let g = &caches[0];
        assert_eq!(g.id, "arn:aws:elasticache:us-east-1:1:replicationgroup:sessions");
        assert_eq!((g.name.as_str(), g.engine.as_str(), g.nodes), ("sessions", "redis", 2));
        assert_eq!(g.node_ids, ["sessions-001", "sessions-002"]);
        assert_eq!((g.node_type.as_str(), g.engine_version.as_str()), ("cache.r6g.large", "7.1"));
        let m = &caches[1];
        assert_eq!(m.id, "arn:aws:elasticache:us-east-1:1:cluster:memo");
        assert_eq!((m.engine.as_str(), m.nodes), ("memcached", 3));
        assert_eq!(m.node_ids, ["memo"]);
        assert_eq!(m.status, "available");
    }

    #[test]
    fn group_members_come_from_node_groups_when_member_clusters_is_empty() {
        let group = ec::ReplicationGroup::builder()
            .replication_group_id("g")
            .cache_node_type("cache.t4g.small")
            .node_groups(
                ec::NodeGroup::builder()
                    .node_group_members(
                        ec::NodeGroupMember::builder().cache_cluster_id("g-001").build(),
                    )
                    .build(),
            )
            .build();
        let caches = caches(&[], &[group], "1", "eu-west-1");
        assert_eq!(caches[0].node_ids, ["g-001"]);
        assert_eq!(caches[0].nodes, 1);
        assert_eq!(caches[0].node_type, "cache.t4g.small");
    }
}
