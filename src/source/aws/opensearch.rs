//! OpenSearch Service inventory of one region: ListDomainNames, then DescribeDomains in
//! batches of five (the API's limit), tags from ListTags per domain.

use aws_sdk_opensearch::Client;
use aws_sdk_opensearch::types as os;

use super::{ApiFailure, ServiceRead, count, fail, non_empty, partition, tags_of};
use crate::model::Tags;
use crate::model::inventory::{Inventory, SearchDomain};

const SERVICE: &str = "OpenSearch";

/// DescribeDomains takes at most five names.
const DESCRIBE_BATCH: usize = 5;

/// Reads the region's domains. A failed list or describe fails OpenSearch for the region;
/// failed tag calls leave those domains untagged and become one warning.
pub async fn inventory(
    client: &Client,
    account_id: &str,
    region: &str,
) -> Result<ServiceRead, ApiFailure> {
    let names: Vec<String> = client
        .list_domain_names()
        .send()
        .await
        .map_err(fail(SERVICE, "ListDomainNames"))?
        .domain_names()
        .iter()
        .filter_map(|d| non_empty(d.domain_name()))
        .collect();
    let mut domains = Vec::new();
    for batch in names.chunks(DESCRIBE_BATCH) {
        let answer = client
            .describe_domains()
            .set_domain_names(Some(batch.to_vec()))
            .send()
            .await
            .map_err(fail(SERVICE, "DescribeDomains"))?;
        domains.extend(
            answer.domain_status_list().iter().filter_map(|d| domain(d, account_id, region)),
        );
    }

    let ids = domains.iter().map(|d| d.id.clone()).collect();
    let (tags, failure) = tags_of(ids, |arn| async move {
        let answer = client.list_tags().arn(arn).send().await.map_err(fail(SERVICE, "ListTags"))?;
        Ok(tags(answer.tag_list()))
    })
    .await;
    for (domain, tags) in domains.iter_mut().zip(tags) {
        domain.tags = tags.unwrap_or_default();
    }
    let warnings = failure.into_iter().collect();
    Ok(ServiceRead {
        inventory: Inventory { search_domains: domains, ..Default::default() },
        warnings,
    })
}

fn tags(tags: &[os::Tag]) -> Tags {
    tags.iter().map(|t| (t.key().to_string(), t.value().to_string())).collect()
}

/// A domain being deleted is left out; UltraWarm and cold storage are not modelled.
pub(crate) fn domain(d: &os::DomainStatus, account_id: &str, region: &str) -> Option<SearchDomain> {
    if d.deleted() == Some(true) {
        return None;
    }
    let name = non_empty(Some(d.domain_name()))?;
    let cluster = d.cluster_config();
    let masters = cluster.and_then(|c| c.dedicated_master_enabled()) == Some(true);
    let ebs = d.ebs_options().filter(|e| e.ebs_enabled() == Some(true));
    Some(SearchDomain {
        id: non_empty(Some(d.arn())).unwrap_or_else(|| {
            format!("arn:{}:es:{region}:{account_id}:domain/{name}", partition(region))
        }),
        account_id: account_id.to_string(),
        region: region.to_string(),
        engine_version: d.engine_version().unwrap_or_default().to_string(),
        instance_type: cluster
            .and_then(|c| c.instance_type())
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        instance_count: u32::try_from(count(cluster.and_then(|c| c.instance_count())))
            .unwrap_or(u32::MAX),
        master_type: cluster
            .filter(|_| masters)
            .and_then(|c| c.dedicated_master_type())
            .map(|t| t.as_str().to_string()),
        master_count: if masters {
            u32::try_from(count(cluster.and_then(|c| c.dedicated_master_count())))
                .unwrap_or(u32::MAX)
        } else {
            0
        },
        volume_type: ebs.and_then(|e| e.volume_type()).map(|t| t.as_str().to_string()),
        volume_size_gib: ebs.map_or(0, |e| count(e.volume_size())),
        // DescribeDomains says nothing of when a domain was created.
        create_time: None,
        tags: Tags::new(),
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(name: &str) -> os::builders::DomainStatusBuilder {
        os::DomainStatus::builder()
            .domain_id(format!("1/{name}"))
            .domain_name(name)
            .arn(format!("arn:aws:es:us-east-1:1:domain/{name}"))
    }

    #[test]
    fn domains_keep_nodes_masters_and_storage() {
        let d = status("logs")
            .engine_version("OpenSearch_2.13")
            .cluster_config(
                os::ClusterConfig::builder()
                    .instance_type(os::OpenSearchPartitionInstanceType::R6gLargeSearch)
                    .instance_count(3)
                    .dedicated_master_enabled(true)
                    .dedicated_master_type(os::OpenSearchPartitionInstanceType::M6gLargeSearch)
                    .dedicated_master_count(3)
                    .build(),
            )
            .ebs_options(
                os::EbsOptions::builder()
                    .ebs_enabled(true)
                    .volume_type(os::VolumeType::Gp3)
                    .volume_size(500)
                    .build(),
            )
            .build()
            .unwrap();
        let s = domain(&d, "1", "us-east-1").unwrap();
        assert_eq!(s.id, "arn:aws:es:us-east-1:1:domain/logs");
        assert_eq!((s.instance_type.as_str(), s.instance_count), ("r6g.large.search", 3));
        assert_eq!((s.master_type.as_deref(), s.master_count), (Some("m6g.large.search"), 3));
        assert_eq!((s.volume_type.as_deref(), s.volume_size_gib), (Some("gp3"), 500));
        assert_eq!(s.engine_version, "OpenSearch_2.13");
    }

    #[test]
    fn masters_off_and_no_ebs_are_absent_and_deleted_domains_are_skipped() {
        let d = status("small")
            .cluster_config(
                os::ClusterConfig::builder()
                    .instance_type(os::OpenSearchPartitionInstanceType::T3SmallSearch)
                    .instance_count(1)
                    .dedicated_master_enabled(false)
                    .dedicated_master_count(3)
                    .build(),
            )
            .ebs_options(os::EbsOptions::builder().ebs_enabled(false).volume_size(10).build())
            .build()
            .unwrap();
        let s = domain(&d, "1", "us-east-1").unwrap();
        assert_eq!((s.master_type, s.master_count), (None, 0));
        assert_eq!((s.volume_type, s.volume_size_gib), (None, 0));
        let gone = status("gone").deleted(true).build().unwrap();
        assert!(domain(&gone, "1", "us-east-1").is_none());
    }
}
