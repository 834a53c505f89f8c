//! RDS and Aurora inventory of one region: DB instances, DB clusters, DB snapshots and DB
//! cluster snapshots (manual and automated alike, the type kept), every list paginated, mapped
//! into the inventory model. Tags come with each describe answer (TagList).

use aws_sdk_rds::Client;
use aws_sdk_rds::types as rds;

use super::{ApiFailure, count, fail, non_empty, partition, to_chrono};
use crate::model::Tags;
use crate::model::inventory::{DbCluster, DbInstance, DbSnapshot, DbSnapshotSource, Inventory};

const SERVICE: &str = "RDS";

/// Reads the four lists of the client's region. Any call that fails fails RDS for the region:
/// a snapshot list without its instances and clusters would call every snapshot orphaned.
pub async fn inventory(
    client: &Client,
    account_id: &str,
    region: &str,
) -> Result<Inventory, ApiFailure> {
    let instances = client
        .describe_db_instances()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(fail(SERVICE, "DescribeDBInstances"))?;
    let clusters = client
        .describe_db_clusters()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(fail(SERVICE, "DescribeDBClusters"))?;
    let snapshots = client
        .describe_db_snapshots()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(fail(SERVICE, "DescribeDBSnapshots"))?;
    let cluster_snapshots = client
        .describe_db_cluster_snapshots()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(fail(SERVICE, "DescribeDBClusterSnapshots"))?;

    let mut out = Inventory {
        db_instances: instances.iter().filter_map(|i| db_instance(i, account_id, region)).collect(),
        db_clusters: clusters.iter().filter_map(|c| db_cluster(c, account_id, region)).collect(),
        ..Default::default()
    };
    out.db_snapshots =
        snapshots.iter().filter_map(|s| db_snapshot(s, account_id, region)).collect();
    out.db_snapshots.extend(
        cluster_snapshots.iter().filter_map(|s| db_cluster_snapshot(s, account_id, region)),
    );
    Ok(out)
}

fn tags(tags: &[rds::Tag]) -> Tags {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
        .collect()
}

/// The ARN the API gave, else the one AWS would give (`arn:aws:rds:<region>:<account>:<kind>:<name>`).
fn arn(given: Option<&str>, kind: &str, name: &str, account_id: &str, region: &str) -> String {
    non_empty(given).unwrap_or_else(|| {
        format!("arn:{}:rds:{region}:{account_id}:{kind}:{name}", partition(region))
    })
}

pub(crate) fn db_instance(
    i: &rds::DbInstance,
    account_id: &str,
    region: &str,
) -> Option<DbInstance> {
    let name = non_empty(i.db_instance_identifier())?;
    let engine = i.engine().unwrap_or_default().to_string();
    // Aurora members report their storage type as `aurora` (or `aurora-iopt1`); when an
    // answer leaves it out, storage is still billed on the cluster.
    let storage_type = non_empty(i.storage_type()).unwrap_or_else(|| {
        if engine.starts_with("aurora") { "aurora".to_string() } else { String::new() }
    });
    Some(DbInstance {
        id: arn(i.db_instance_arn(), "db", &name, account_id, region),
        account_id: account_id.to_string(),
        region: region.to_string(),
        class: i.db_instance_class().unwrap_or_default().to_string(),
        engine,
        engine_version: i.engine_version().unwrap_or_default().to_string(),
        multi_az: i.multi_az().unwrap_or(false),
        status: i.db_instance_status().unwrap_or_default().to_string(),
        storage_type,
        allocated_storage_gib: count(i.allocated_storage()),
        iops: i.iops().and_then(|n| u64::try_from(n).ok()),
        cluster_name: non_empty(i.db_cluster_identifier()),
        create_time: i.instance_create_time().and_then(to_chrono),
        tags: tags(i.tag_list()),
        name,
    })
}

pub(crate) fn db_cluster(c: &rds::DbCluster, account_id: &str, region: &str) -> Option<DbCluster> {
    let name = non_empty(c.db_cluster_identifier())?;
    Some(DbCluster {
        id: arn(c.db_cluster_arn(), "cluster", &name, account_id, region),
        account_id: account_id.to_string(),
        region: region.to_string(),
        engine: c.engine().unwrap_or_default().to_string(),
        engine_version: c.engine_version().unwrap_or_default().to_string(),
        status: c.status().unwrap_or_default().to_string(),
        members: c
            .db_cluster_members()
            .iter()
            .filter_map(|m| non_empty(m.db_instance_identifier()))
            .collect(),
        allocated_storage_gib: count(c.allocated_storage()),
        create_time: c.cluster_create_time().and_then(to_chrono),
        tags: tags(c.tag_list()),
        name,
    })
}

pub(crate) fn db_snapshot(
    s: &rds::DbSnapshot,
    account_id: &str,
    region: &str,
) -> Option<DbSnapshot> {
    let name = non_empty(s.db_snapshot_identifier())?;
    Some(DbSnapshot {
        id: arn(s.db_snapshot_arn(), "snapshot", &name, account_id, region),
        account_id: account_id.to_string(),
        region: region.to_string(),
        source: DbSnapshotSource::Instance,
        source_name: s.db_instance_identifier().unwrap_or_default().to_string(),
        snapshot_type: s.snapshot_type().unwrap_or_default().to_string(),
        engine: s.engine().unwrap_or_default().to_string(),
        size_gib: count(s.allocated_storage()),
        create_time: s.snapshot_create_time().and_then(to_chrono),
        tags: tags(s.tag_list()),
        name,
    })
}

pub(crate) fn db_cluster_snapshot(
    s: &rds::DbClusterSnapshot,
    account_id: &str,
    region: &str,
) -> Option<DbSnapshot> {
    let name = non_empty(s.db_cluster_snapshot_identifier())?;
    Some(DbSnapshot {
        id: arn(s.db_cluster_snapshot_arn(), "cluster-snapshot", &name, account_id, region),
        account_id: account_id.to_string(),
        region: region.to_string(),
        source: DbSnapshotSource::Cluster,
        source_name: s.db_cluster_identifier().unwrap_or_default().to_string(),
        snapshot_type: s.snapshot_type().unwrap_or_default().to_string(),
        engine: s.engine().unwrap_or_default().to_string(),
        size_gib: count(s.allocated_storage()),
        create_time: s.snapshot_create_time().and_then(to_chrono),
        tags: tags(s.tag_list()),
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::DateTime as AwsDateTime;

    fn tag(k: &str, v: &str) -> rds::Tag {
        rds::Tag::builder().key(k).value(v).build()
    }

    #[test]
    fn instances_keep_class_engine_storage_and_cluster() {
        let i = rds::DbInstance::builder()
            .db_instance_identifier("orders")
            .db_instance_arn("arn:aws:rds:eu-west-1:111122223333:db:orders")
            .db_instance_class("db.m5.large")
            .engine("postgres")
            .engine_version("16.3")
            .multi_az(true)
            .db_instance_status("available")
            .storage_type("gp3")
            .allocated_storage(200)
            .iops(3000)
            .instance_create_time(AwsDateTime::from_secs(1_790_000_000))
            .tag_list(tag("team", "data"))
            .build();
        let d = db_instance(&i, "111122223333", "eu-west-1").unwrap_or_else(|| panic!("mapped"));
        assert_eq!(d.id, "arn:aws:rds:eu-west-1:111122223333:db:orders");
        assert_eq!((d.name.as_str(), d.class.as_str()), ("orders", "db.m5.large"));
        assert_eq!((d.engine.as_str(), d.engine_version.as_str()), ("postgres", "16.3"));
        assert!(d.multi_az);
        assert_eq!(
            (d.storage_type.as_str(), d.allocated_storage_gib, d.iops),
            ("gp3", 200, Some(3000))
        );
        assert_eq!(d.cluster_name, None);
        assert_eq!(d.tags.get("team").map(String::as_str), Some("data"));
        assert!(d.create_time.is_some());
    }

    #[test]
    fn aurora_members_without_a_storage_type_are_billed_on_the_cluster() {
        let i = rds::DbInstance::builder()
            .db_instance_identifier("aurora-1")
            .engine("aurora-mysql")
            .db_cluster_identifier("shop")
            .build();
        let d = db_instance(&i, "111122223333", "us-east-1").unwrap_or_else(|| panic!("mapped"));
        // No ARN in the answer: the one AWS gives.
        assert_eq!(d.id, "arn:aws:rds:us-east-1:111122223333:db:aurora-1");
        assert_eq!(d.storage_type, "aurora");
        assert_eq!(d.cluster_name.as_deref(), Some("shop"));
        assert!(!d.multi_az);
        assert!(db_instance(&rds::DbInstance::builder().build(), "1", "us-east-1").is_none());
    }

    #[test]
    fn clusters_list_their_members() {
        let c = rds::DbCluster::builder()
            .db_cluster_identifier("shop")
            .engine("aurora-postgresql")
            .status("available")
            .allocated_storage(1)
            .db_cluster_members(rds::DbClusterMember::builder().db_instance_identifier("a").build())
            .db_cluster_members(rds::DbClusterMember::builder().db_instance_identifier("b").build())
            .build();
        let d = db_cluster(&c, "111122223333", "cn-north-1").unwrap_or_else(|| panic!("mapped"));
        assert_eq!(d.id, "arn:aws-cn:rds:cn-north-1:111122223333:cluster:shop");
        assert_eq!(d.members, ["a", "b"]);
        assert_eq!(d.status, "available");
    }

    #[test]
    fn snapshots_say_what_they_were_taken_of_and_their_type() {
        let s = rds::DbSnapshot::builder()
            .db_snapshot_identifier("before-upgrade")
            .db_instance_identifier("orders")
            .snapshot_type("manual")
            .engine("postgres")
            .allocated_storage(200)
            .build();
        let d = db_snapshot(&s, "1", "us-east-1").unwrap_or_else(|| panic!("mapped"));
        assert_eq!((d.source, d.source_name.as_str()), (DbSnapshotSource::Instance, "orders"));
        assert_eq!((d.snapshot_type.as_str(), d.size_gib), ("manual", 200));
        assert_eq!(d.id, "arn:aws:rds:us-east-1:1:snapshot:before-upgrade");
        let c = rds::DbClusterSnapshot::builder()
            .db_cluster_snapshot_identifier("rds:shop-2026-11-01")
            .db_cluster_snapshot_arn("arn:aws:rds:us-east-1:1:cluster-snapshot:rds:shop-2026-11-01")
            .db_cluster_identifier("shop")
            .snapshot_type("automated")
            .allocated_storage(-1)
            .build();
        let d = db_cluster_snapshot(&c, "1", "us-east-1").unwrap_or_else(|| panic!("mapped"));
        assert_eq!((d.source, d.source_name.as_str()), (DbSnapshotSource::Cluster, "shop"));
        assert_eq!((d.snapshot_type.as_str(), d.size_gib), ("automated", 0));
        assert_eq!(d.id, "arn:aws:rds:us-east-1:1:cluster-snapshot:rds:shop-2026-11-01");
    }
}
