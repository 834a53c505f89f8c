//! RDS and Aurora as the rules see them: `rds_instance`, `rds_cluster`, `rds_snapshot`.

use std::collections::HashSet;

use cel_interpreter::Value;

use super::{Fields, Inputs, ResourceView, days_between, num, shared_text, text, view};
use crate::analysis::rules::rule::ResourceKind;
use crate::model::Money;
use crate::model::inventory::{DbInstance, DbSnapshotSource};
use crate::pricing::HOURS_PER_MONTH;

/// The price table's engine variant: MariaDB is priced as MySQL, Aurora MySQL 1 (`aurora`) as
/// Aurora MySQL; other engines (Oracle, SQL Server, Db2) have no table and stay unpriced.
pub fn price_variant(engine: &str) -> &str {
    match engine {
        "mysql" | "mariadb" => "mysql",
        "aurora" | "aurora-mysql" => "aurora-mysql",
        other => other,
    }
}

/// The engine's major version as AWS's support calendar names it: `5.7`, `8.0` for the MySQL
/// family (Aurora MySQL's `5.7.mysql_aurora.2.11.2` too), `11`, `16` for PostgreSQL 10 and
/// later, `9.6` before.
pub fn engine_major(engine: &str, version: &str) -> String {
    let mut parts = version.split('.');
    let first = parts.next().unwrap_or("");
    let second = parts.next();
    let postgres = engine.contains("postgres");
    match second {
        Some(second) if !postgres || first.parse::<u32>().is_ok_and(|major| major < 10) => {
            format!("{first}.{second}")
        }
        _ => first.to_string(),
    }
}

fn is_aurora(engine: &str) -> bool {
    engine.starts_with("aurora")
}

/// Monthly storage of a non-Aurora instance (× 2 for Multi-AZ's standby), or why not.
fn storage_monthly(i: &DbInstance, input: &Inputs<'_, '_>, az: i64) -> Result<Money, String> {
    let table = input.catalog.services().get("rds").map_err(|e| e.to_string())?;
    let unit = |name: &str| table.unit(&i.region, name).map_err(|e| e.to_string());
    let gib = i64::try_from(i.allocated_storage_gib).unwrap_or(i64::MAX);
    let storage = match i.storage_type.as_str() {
        "gp2" => unit("gp2_gb_month")?.times(gib),
        "gp3" => unit("gp3_gb_month")?.times(gib),
        "standard" => unit("magnetic_gb_month")?.times(gib),
        "io1" => {
            let iops = i64::try_from(i.iops.unwrap_or(0)).unwrap_or(i64::MAX);
            unit("io1_gb_month")?.times(gib) + unit("io1_iops_month")?.times(iops)
        }
        other => {
            return Err(format!(
                "no price for RDS {other} storage in {} (not in the price table)",
                i.region
            ));
        }
    };
    Ok(storage.times(az))
}

pub(super) fn views<'a>(input: &Inputs<'a, '_>, views: &mut Vec<ResourceView<'a>>) {
    let inv = &input.snapshot.inventory;
    let now = input.snapshot.collected_at;
    let hours = HOURS_PER_MONTH;
    let table = input.catalog.services().get("rds").ok();
    let factor = table
        .and_then(|t| t.factor("multi_az"))
        .map_or(2, |f| i64::try_from(f.raw() / Money::from_units(1).raw()).unwrap_or(2));

    for i in &inv.db_instances {
        let aurora = is_aurora(&i.engine);
        let variant = price_variant(&i.engine);
        // Aurora has no Multi-AZ instance price: replicas are instances of their own.
        let az = if i.multi_az && !aurora { factor } else { 1 };
        let stopped = i.status == "stopped";
        let compute = input
            .catalog
            .services()
            .get("rds")
            .and_then(|t| t.node_hourly(&i.region, variant, &i.class))
            .map(|h| h.times(hours * az))
            .map_err(|e| e.to_string());
        let storage = if aurora { Ok(Money::ZERO) } else { storage_monthly(i, input, az) };
        let cost = input.billed.monthly(&i.id).unwrap_or_else(|| {
            let (result, detail) = if stopped {
                (
                    storage.clone(),
                    format!(
                        "stopped: storage only, {} GiB {}{}",
                        i.allocated_storage_gib,
                        i.storage_type,
                        if az > 1 { " × 2 (Multi-AZ)" } else { "" }
                    ),
                )
            } else {
                let result = match (&compute, &storage) {
                    (Ok(c), Ok(s)) => Ok(*c + *s),
                    (Err(e), _) | (_, Err(e)) => Err(e.clone()),
                };
                let storage_note = if aurora {
                    "storage billed on the cluster".to_string()
                } else {
                    format!("+ {} GiB {}", i.allocated_storage_gib, i.storage_type)
                };
                let az_note = if az > 1 { " × 2 (Multi-AZ)" } else { "" };
                (
                    result,
                    format!(
                        "{} {} in {} on demand × {hours} h{az_note} {storage_note}",
                        i.class, i.engine, i.region
                    ),
                )
            };
            super::catalog_cost(input.catalog, result, detail)
        });
        let class = table.and_then(|t| t.class(&i.class));
        let mut f = Fields::new();
        f.insert("id", text(&i.id));
        f.insert("name", text(&i.name));
        f.insert("class", shared_text(&i.class));
        f.insert(
            "family",
            shared_text(class.map_or_else(
                || i.class.rsplit_once('.').map_or("", |(family, _)| family),
                |c| c.family.as_str(),
            )),
        );
        f.insert("vcpu", class.map_or(Value::Null, |c| num(f64::from(c.shape.vcpu))));
        f.insert("memory_gib", class.map_or(Value::Null, |c| num(c.shape.memory_gib)));
        f.insert("engine", shared_text(&i.engine));
        f.insert("engine_version", shared_text(&i.engine_version));
        f.insert("engine_major", shared_text(&engine_major(&i.engine, &i.engine_version)));
        f.insert(
            "engine_release",
            text(&format!("{} {}", i.engine, engine_major(&i.engine, &i.engine_version))),
        );
        f.insert("price_variant", shared_text(variant));
        f.insert("aurora", Value::Bool(aurora));
        f.insert("multi_az", Value::Bool(i.multi_az));
        f.insert("az_factor", num(az as f64));
        f.insert("status", shared_text(&i.status));
        f.insert("storage_type", shared_text(&i.storage_type));
        f.insert("storage_gib", num(i.allocated_storage_gib as f64));
        f.insert("iops", i.iops.map_or(Value::Null, |x| num(x as f64)));
        f.insert("cluster", text(i.cluster_name.as_deref().unwrap_or("")));
        f.insert("age_days", days_between(i.create_time, now));
        f.insert("compute_monthly", compute.as_ref().map_or(Value::Null, |m| num(m.to_f64())));
        f.insert("storage_monthly", storage.as_ref().map_or(Value::Null, |m| num(m.to_f64())));
        views.push(view(
            ResourceKind::RdsInstance,
            &i.id,
            &i.account_id,
            &i.region,
            &i.tags,
            f,
            input.utilization,
            cost,
        ));
    }

    for c in &inv.db_clusters {
        let aurora = is_aurora(&c.engine);
        let cost = input.billed.monthly(&c.id).unwrap_or_else(|| {
            let result = if aurora {
                input
                    .catalog
                    .services()
                    .get("rds")
                    .and_then(|t| t.unit(&c.region, "aurora_storage_gb_month"))
                    .map(|p| p.times(i64::try_from(c.allocated_storage_gib).unwrap_or(i64::MAX)))
                    .map_err(|e| e.to_string())
            } else {
                // A Multi-AZ DB cluster bills its instances; the cluster itself adds nothing.
                Ok(Money::ZERO)
            };
            let detail = if aurora {
                format!(
                    "{} GiB Aurora storage in {}; I/O not included",
                    c.allocated_storage_gib, c.region
                )
            } else {
                "instances are billed on their own".to_string()
            };
            super::catalog_cost(input.catalog, result, detail)
        });
        let mut f = Fields::new();
        f.insert("id", text(&c.id));
        f.insert("name", text(&c.name));
        f.insert("engine", shared_text(&c.engine));
        f.insert("engine_version", shared_text(&c.engine_version));
        f.insert("engine_major", shared_text(&engine_major(&c.engine, &c.engine_version)));
        f.insert("aurora", Value::Bool(aurora));
        f.insert("status", shared_text(&c.status));
        f.insert("members", num(c.members.len() as f64));
        f.insert("storage_gib", num(c.allocated_storage_gib as f64));
        f.insert("age_days", days_between(c.create_time, now));
        views.push(view(
            ResourceKind::RdsCluster,
            &c.id,
            &c.account_id,
            &c.region,
            &c.tags,
            f,
            input.utilization,
            cost,
        ));
    }

    // What a snapshot's source is looked up against: (account, region, identifier).
    let instances: HashSet<(&str, &str, &str)> = inv
        .db_instances
        .iter()
        .map(|i| (i.account_id.as_str(), i.region.as_str(), i.name.as_str()))
        .collect();
    let clusters: HashSet<(&str, &str, &str)> = inv
        .db_clusters
        .iter()
        .map(|c| (c.account_id.as_str(), c.region.as_str(), c.name.as_str()))
        .collect();
    for s in &inv.db_snapshots {
        let (unit, what) = if is_aurora(&s.engine) {
            ("aurora_snapshot_gb_month", "Aurora backup storage")
        } else {
            ("snapshot_gb_month", "RDS backup storage")
        };
        let cost = input.billed.monthly(&s.id).unwrap_or_else(|| {
            super::catalog_cost(
                input.catalog,
                input
                    .catalog
                    .services()
                    .get("rds")
                    .and_then(|t| t.unit(&s.region, unit))
                    .map(|p| p.times(i64::try_from(s.size_gib).unwrap_or(i64::MAX)))
                    .map_err(|e| e.to_string()),
                format!("{} GiB of {what} in {} (full size)", s.size_gib, s.region),
            )
        });
        let key = (s.account_id.as_str(), s.region.as_str(), s.source_name.as_str());
        let exists = match s.source {
            DbSnapshotSource::Instance => instances.contains(&key),
            DbSnapshotSource::Cluster => clusters.contains(&key),
        };
        let mut f = Fields::new();
        f.insert("id", text(&s.id));
        f.insert("name", text(&s.name));
        f.insert(
            "source",
            shared_text(match s.source {
                DbSnapshotSource::Instance => "instance",
                DbSnapshotSource::Cluster => "cluster",
            }),
        );
        f.insert("source_name", text(&s.source_name));
        f.insert("source_exists", Value::Bool(exists));
        f.insert("snapshot_type", shared_text(&s.snapshot_type));
        f.insert("engine", shared_text(&s.engine));
        f.insert("size_gib", num(s.size_gib as f64));
        f.insert("age_days", days_between(s.create_time, now));
        views.push(view(
            ResourceKind::RdsSnapshot,
            &s.id,
            &s.account_id,
            &s.region,
            &s.tags,
            f,
            input.utilization,
            cost,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_versions_follow_the_support_calendar() {
        assert_eq!(engine_major("mysql", "5.7.44"), "5.7");
        assert_eq!(engine_major("mysql", "8.0.35"), "8.0");
        assert_eq!(engine_major("aurora-mysql", "5.7.mysql_aurora.2.11.2"), "5.7");
        assert_eq!(engine_major("postgres", "11.22"), "11");
        assert_eq!(engine_major("aurora-postgresql", "16.4"), "16");
        assert_eq!(engine_major("postgres", "9.6.24"), "9.6");
        assert_eq!(engine_major("mariadb", "10.6.14"), "10.6");
        assert_eq!(engine_major("postgres", ""), "");
    }

    #[test]
    fn mariadb_is_priced_as_mysql_and_unknown_engines_stay_themselves() {
        assert_eq!(price_variant("mariadb"), "mysql");
        assert_eq!(price_variant("aurora"), "aurora-mysql");
        assert_eq!(price_variant("oracle-se2"), "oracle-se2");
    }
}
