//! Reading saved snapshot files (`collect --out` writes them, `--snapshot` reads them).

use std::path::Path;

use serde::Deserialize;

use super::{Result, SourceError};
use crate::model::Snapshot;
use crate::model::snapshot::SCHEMA_VERSION;

/// Reads a snapshot written by `collect` (or by hand, following samples/README.md).
pub fn read_snapshot(path: &Path) -> Result<Snapshot> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| SourceError::Io { path: path.to_path_buf(), source })?;
    parse_snapshot(&text, path)
}

/// Parses snapshot JSON; `path` is only used in messages. Errors carry the line and column.
pub fn parse_snapshot(text: &str, path: &Path) -> Result<Snapshot> {
    #[derive(Deserialize)]
    struct Probe {
        schema_version: Option<u64>,
    }
    let probe: Probe = serde_json::from_str(text).map_err(|e| json_error(path, &e))?;
    match probe.schema_version {
        None => {
            return Err(SourceError::File {
                path: path.to_path_buf(),
                message: "not a costscope snapshot: no schema_version".to_string(),
            });
        }
        Some(v) if v != u64::from(SCHEMA_VERSION) => {
            return Err(SourceError::File {
                path: path.to_path_buf(),
                message: format!(
                    "snapshot schema_version {v} is not supported (this costscope reads {SCHEMA_VERSION})"
                ),
            });
        }
        Some(_) => {}
    }
    let mut snapshot: Snapshot = serde_json::from_str(text).map_err(|e| json_error(path, &e))?;
    snapshot.normalize();
    Ok(snapshot)
}

fn json_error(path: &Path, e: &serde_json::Error) -> SourceError {
    SourceError::Row {
        path: path.to_path_buf(),
        line: e.line() as u64,
        column: e.column().to_string(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::inventory::{
        BillingMode, CacheCluster, DbCluster, DbInstance, DbSnapshot, DbSnapshotSource,
        DynamoDbTable, RedshiftCluster, SearchDomain,
    };
    use crate::model::utilization::UtilizationSummary;
    use chrono::{TimeZone, Utc};

    /// Every database kind and every utilization field survive `collect --out` then
    /// `--snapshot` (the JSON writer is export::json's `to_string_pretty`).
    #[test]
    fn database_inventory_and_utilization_round_trip() {
        let at = Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).single();
        let tags: crate::model::Tags = [("team".to_string(), "data".to_string())].into();
        let mut snapshot = Snapshot::empty(at.unwrap_or_default());
        let arn = |s: &str| format!("arn:aws:{s}");
        snapshot.inventory.db_instances.push(DbInstance {
            id: arn("rds:us-east-1:1:db:orders"),
            name: "orders".into(),
            account_id: "1".into(),
            region: "us-east-1".into(),
            class: "db.m5.large".into(),
            engine: "postgres".into(),
            engine_version: "16.3".into(),
            multi_az: true,
            status: "available".into(),
            storage_type: "gp3".into(),
            allocated_storage_gib: 200,
            iops: Some(3000),
            cluster_name: Some("shop".into()),
            create_time: at,
            tags: tags.clone(),
        });
        snapshot.inventory.db_clusters.push(DbCluster {
            id: arn("rds:us-east-1:1:cluster:shop"),
            name: "shop".into(),
            account_id: "1".into(),
            region: "us-east-1".into(),
            engine: "aurora-postgresql".into(),
            engine_version: "16.1".into(),
            status: "available".into(),
            members: vec!["orders".into()],
            allocated_storage_gib: 10,
            create_time: at,
            tags: tags.clone(),
        });
        snapshot.inventory.db_snapshots.push(DbSnapshot {
            id: arn("rds:us-east-1:1:cluster-snapshot:s"),
            name: "s".into(),
            account_id: "1".into(),
            region: "us-east-1".into(),
            source: DbSnapshotSource::Cluster,
            source_name: "shop".into(),
            snapshot_type: "automated".into(),
            engine: "aurora-postgresql".into(),
            size_gib: 10,
            create_time: at,
            tags: tags.clone(),
        });
        snapshot.inventory.cache_clusters.push(CacheCluster {
            id: arn("elasticache:us-east-1:1:replicationgroup:g"),
            name: "g".into(),
            account_id: "1".into(),
            region: "us-east-1".into(),
            engine: "valkey".into(),
            engine_version: "8.0".into(),
            node_type: "cache.r7g.large".into(),
            nodes: 2,
            node_ids: vec!["g-001".into(), "g-002".into()],
            status: "available".into(),
            create_time: at,
            tags: tags.clone(),
        });
        snapshot.inventory.search_domains.push(SearchDomain {
            id: arn("es:us-east-1:1:domain/logs"),
            name: "logs".into(),
            account_id: "1".into(),
            region: "us-east-1".into(),
            engine_version: "OpenSearch_2.13".into(),
            instance_type: "r6g.large.search".into(),
            instance_count: 3,
            master_type: Some("m6g.large.search".into()),
            master_count: 3,
            volume_type: Some("gp3".into()),
            volume_size_gib: 100,
            create_time: None,
            tags: tags.clone(),
        });
        snapshot.inventory.redshift_clusters.push(RedshiftCluster {
            id: arn("redshift:us-east-1:1:cluster:w"),
            name: "w".into(),
            account_id: "1".into(),
            region: "us-east-1".into(),
            node_type: "ra3.4xlarge".into(),
            nodes: 4,
            status: "paused".into(),
            create_time: at,
            tags: tags.clone(),
        });
        snapshot.inventory.dynamodb_tables.push(DynamoDbTable {
            id: arn("dynamodb:us-east-1:1:table/t"),
            name: "t".into(),
            account_id: "1".into(),
            region: "us-east-1".into(),
            billing_mode: BillingMode::PayPerRequest,
            read_capacity: 0,
            write_capacity: 0,
            size_bytes: 1 << 30,
            item_count: 12,
            status: "ACTIVE".into(),
            create_time: at,
            tags,
        });
        snapshot.utilization.push(UtilizationSummary {
            resource_id: arn("dynamodb:us-east-1:1:table/t"),
            lookback_days: 14,
            days_covered: 2,
            data_points: 48,
            connections_max: Some(12.0),
            freeable_memory_min_bytes: Some(2e9),
            search_rate_max: Some(40.5),
            indexing_rate_max: Some(0.0),
            read_units_peak_per_second: Some(2.0),
            write_units_peak_per_second: Some(0.1),
            read_units_total: Some(345_600.0),
            write_units_total: Some(17_280.0),
            ..Default::default()
        });
        let text = serde_json::to_string_pretty(&snapshot).unwrap_or_default();
        let read = parse_snapshot(&text, Path::new("snap.json"));
        assert_eq!(read.ok(), Some(snapshot));
    }
}
