//! The sample's databases, caches and warehouses: RDS and Aurora, ElastiCache, OpenSearch,
//! Redshift and DynamoDB, each in the inventory, billed by ARN at its price-table price and
//! measured over the lookback, so that every database rule fires somewhere and has near misses.

use chrono::{DateTime, Duration, Utc};

use super::{
    Account, Charge, DYNAMODB, ELASTICACHE, Expectation, GIB, Gen, LOOKBACK_DAYS, OPENSEARCH, RDS,
    REDSHIFT, Result, SampleError, TagStyle, at, collected_at,
};
use crate::model::Money;
use crate::model::inventory::{
    BillingMode, CacheCluster, DbCluster, DbInstance, DbSnapshot, DbSnapshotSource, DynamoDbTable,
    RedshiftCluster, SearchDomain,
};
use crate::model::utilization::UtilizationSummary;
use crate::pricing::HOURS_PER_MONTH;

fn arn(service: &str, region: &str, account: Account, rest: &str) -> String {
    format!("arn:aws:{service}:{region}:{}:{rest}", account.id())
}

/// A month of utilization over the 14-day lookback (or `days` of it), CPU in percent.
fn measured(id: &str, days: u32, cpu_p95: f64) -> UtilizationSummary {
    UtilizationSummary {
        resource_id: id.to_string(),
        lookback_days: LOOKBACK_DAYS,
        days_covered: days,
        data_points: days * 24 * 12,
        cpu_avg_percent: Some((cpu_p95 * 0.6 * 100.0).round() / 100.0),
        cpu_p95_percent: Some(cpu_p95),
        cpu_max_percent: Some((cpu_p95 * 1.4).min(100.0)),
        ..UtilizationSummary::default()
    }
}

/// One RDS instance of the sample.
struct Db {
    account: Account,
    region: &'static str,
    name: &'static str,
    class: &'static str,
    engine: &'static str,
    version: &'static str,
    multi_az: bool,
    storage: (&'static str, u64),
    created: DateTime<Utc>,
    cluster: Option<&'static str>,
    team: &'static str,
    /// CPU p95, connections max, freeable memory min (GiB), days of data.
    usage: (f64, f64, f64, u32),
}

/// Whether the engine version is one `rds-extended-support` lists (its `versions` parameter,
/// read from the built-in rule so the sample follows the rule file).
fn past_standard_support(engine: &str, version: &str) -> bool {
    static VERSIONS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let versions = VERSIONS.get_or_init(|| {
        let rules = crate::analysis::rules::RuleSet::builtin().map(|set| set.rules);
        let rule = rules.ok().and_then(|r| r.into_iter().find(|r| r.id == "rds-extended-support"));
        match rule.and_then(|r| r.params.get("versions").cloned()) {
            Some(crate::analysis::rules::Param::List(versions)) => versions,
            _ => Vec::new(),
        }
    });
    let major = crate::analysis::rules::context::rds::engine_major(engine, version);
    versions.contains(&format!("{engine} {major}"))
}

impl Gen<'_> {
    pub(super) fn service_price(
        &self,
        service: &str,
        region: &str,
        what: impl Fn(&crate::pricing::ServicePrices) -> Result<Money, crate::pricing::NoPrice>,
    ) -> Result<Money> {
        self.catalog.services().get(service).and_then(what).map_err(|e| SampleError::NoPrice {
            what: format!("{service} in {region}"),
            reason: e.to_string(),
        })
    }

    pub(super) fn expect(
        &mut self,
        rule: &'static str,
        id: &str,
        rtype: &'static str,
        fires: bool,
        why: &str,
    ) {
        self.expected.push(Expectation {
            rule_id: rule,
            resource_id: id.to_string(),
            resource_type: rtype,
            fires,
            why: why.to_string(),
        });
    }

    /// Every database kind, billed from its creation (or the month's start) to collection.
    pub(super) fn databases(&mut self) -> Result<()> {
        self.rds()?;
        self.caches()?;
        self.search_domains()?;
        self.warehouses()?;
        self.tables()?;
        Ok(())
    }

    fn rds(&mut self) -> Result<()> {
        use Account::{Prod, Staging};
        let old = at(2024, 2, 12, 10, 0, 0);
        let dbs = [
            // Busy: nothing to say.
            Db {
                account: Prod,
                region: "us-east-1",
                name: "orders-prod",
                class: "db.r6g.4xlarge",
                engine: "postgres",
                version: "16.4",
                multi_az: true,
                storage: ("gp3", 500),
                created: old,
                cluster: None,
                team: "payments",
                usage: (58.0, 420.0, 21.0, 14),
            },
            // Oversized (CPU p95 18 %, 22 of 32 GiB free) on MySQL 8.0, which is past standard
            // support, on x86 with a cheaper Graviton class.
            Db {
                account: Prod,
                region: "us-east-1",
                name: "users-prod",
                class: "db.m5.2xlarge",
                engine: "mysql",
                version: "8.0.39",
                multi_az: true,
                storage: ("gp2", 400),
                created: old,
                cluster: None,
                team: "web",
                usage: (18.0, 64.0, 22.0, 14),
            },
            // An m4 on MySQL 5.7, busy enough to keep its size.
            Db {
                account: Prod,
                region: "us-west-2",
                name: "billing-prod",
                class: "db.m4.large",
                engine: "mysql",
                version: "5.7.44",
                multi_az: false,
                storage: ("gp2", 200),
                created: at(2022, 9, 5, 8, 0, 0),
                cluster: None,
                team: "payments",
                usage: (35.0, 41.0, 1.8, 14),
            },
            // Nobody has connected for the whole lookback.
            Db {
                account: Staging,
                region: "us-east-1",
                name: "analytics-staging",
                class: "db.r5.large",
                engine: "postgres",
                version: "13.15",
                multi_az: false,
                storage: ("gp2", 300),
                created: at(2026, 3, 2, 14, 0, 0),
                cluster: None,
                team: "data",
                usage: (1.2, 0.0, 13.5, 14),
            },
            // One connection (a forgotten cron job): not idle.
            Db {
                account: Staging,
                region: "us-west-2",
                name: "cms-staging",
                class: "db.t3.medium",
                engine: "mariadb",
                version: "10.11.8",
                multi_az: false,
                storage: ("gp2", 50),
                created: at(2025, 5, 20, 9, 0, 0),
                cluster: None,
                team: "web",
                usage: (3.0, 1.0, 1.1, 14),
            },
            // New this month: no connections yet, but created 9 days ago.
            Db {
                account: Staging,
                region: "us-east-1",
                name: "auth-staging",
                class: "db.t4g.medium",
                engine: "postgres",
                version: "16.4",
                multi_az: false,
                storage: ("gp3", 20),
                created: collected_at() - Duration::days(9),
                cluster: None,
                team: "platform",
                usage: (2.0, 0.0, 2.9, 9),
            },
            // Aurora: a busy writer and a quiet reader with no smaller class to move to.
            Db {
                account: Prod,
                region: "us-east-1",
                name: "inventory-prod-1",
                class: "db.r6g.large",
                engine: "aurora-postgresql",
                version: "15.6",
                multi_az: false,
                storage: ("aurora", 0),
                created: old,
                cluster: Some("inventory-prod"),
                team: "data",
                usage: (46.0, 95.0, 4.0, 14),
            },
            Db {
                account: Prod,
                region: "us-east-1",
                name: "inventory-prod-2",
                class: "db.r6g.large",
                engine: "aurora-postgresql",
                version: "15.6",
                multi_az: false,
                storage: ("aurora", 0),
                created: old,
                cluster: Some("inventory-prod"),
                team: "data",
                usage: (8.0, 6.0, 10.5, 14),
            },
        ];
        let table = |s: &Self| s.catalog.services().get("rds").ok().cloned();
        let Some(prices) = table(self) else {
            return Err(SampleError::NoPrice { what: "RDS".into(), reason: "no table".into() });
        };
        for db in dbs {
            let id = arn("rds", db.region, db.account, &format!("db:{}", db.name));
            let variant = crate::analysis::rules::context::rds::price_variant(db.engine);
            let hourly = self
                .service_price("rds", db.region, |t| t.node_hourly(db.region, variant, db.class))?;
            let az = if db.multi_az { 2 } else { 1 };
            let style =
                if db.name == "cms-staging" { TagStyle::NoCostCenter } else { TagStyle::Full };
            let tags = self.named_tags(style, db.account, db.team, db.name);
            self.bill(
                &id,
                db.name,
                RDS,
                "DB Instance",
                db.account,
                db.region,
                &tags,
                Charge::Hourly(hourly.times(az)),
                db.created,
                collected_at(),
                false,
            );
            let (storage_type, gib) = db.storage;
            if storage_type != "aurora" {
                let unit = format!("{storage_type}_gb_month");
                let per_gb = self.service_price("rds", db.region, |t| t.unit(db.region, &unit))?;
                self.bill(
                    &id,
                    db.name,
                    RDS,
                    "DB Instance",
                    db.account,
                    db.region,
                    &tags,
                    Charge::Monthly(per_gb.times(gib as i64 * az)),
                    db.created,
                    collected_at(),
                    false,
                );
            }
            // Past standard support, every vCPU-hour carries the Extended Support charge.
            if past_standard_support(db.engine, db.version) {
                let per_vcpu = self.service_price("rds", db.region, |t| {
                    t.unit(db.region, "extended_support_vcpu_hour")
                })?;
                let vcpu = prices.class(db.class).map_or(0, |c| i64::from(c.shape.vcpu));
                self.bill(
                    &id,
                    db.name,
                    RDS,
                    "DB Instance",
                    db.account,
                    db.region,
                    &tags,
                    Charge::Hourly(per_vcpu.times(vcpu * az)),
                    db.created,
                    collected_at(),
                    false,
                );
            }
            self.inventory.db_instances.push(DbInstance {
                id: id.clone(),
                name: db.name.to_string(),
                account_id: db.account.id().to_string(),
                region: db.region.to_string(),
                class: db.class.to_string(),
                engine: db.engine.to_string(),
                engine_version: db.version.to_string(),
                multi_az: db.multi_az,
                status: "available".to_string(),
                storage_type: storage_type.to_string(),
                allocated_storage_gib: gib,
                iops: (storage_type == "gp3").then_some(3000),
                cluster_name: db.cluster.map(str::to_string),
                create_time: Some(db.created),
                tags,
            });
            let (cpu, connections, free_gib, days) = db.usage;
            self.utilization.push(UtilizationSummary {
                connections_max: Some(connections),
                freeable_memory_min_bytes: Some(free_gib * GIB as f64),
                ..measured(&id, days, cpu)
            });
            self.rds_expectations(&prices, &id, &db, hourly)?;
        }

        // The Aurora cluster bills its storage.
        let cluster_id = arn("rds", "us-east-1", Prod, "cluster:inventory-prod");
        let tags = self.named_tags(TagStyle::Full, Prod, "data", "inventory-prod");
        let per_gb = self.service_price("rds", "us-east-1", |t| {
            t.unit("us-east-1", "aurora_storage_gb_month")
        })?;
        self.bill(
            &cluster_id,
            "inventory-prod",
            RDS,
            "DB Cluster",
            Prod,
            "us-east-1",
            &tags,
            Charge::Monthly(per_gb.times(640)),
            old,
            collected_at(),
            false,
        );
        self.inventory.db_clusters.push(DbCluster {
            id: cluster_id,
            name: "inventory-prod".to_string(),
            account_id: Prod.id().to_string(),
            region: "us-east-1".to_string(),
            engine: "aurora-postgresql".to_string(),
            engine_version: "15.6".to_string(),
            status: "available".to_string(),
            members: vec!["inventory-prod-1".to_string(), "inventory-prod-2".to_string()],
            allocated_storage_gib: 640,
            create_time: Some(old),
            tags,
        });

        // Manual snapshots: of a live database, of one deleted long ago, of one deleted
        // recently, and an automated one (expires on its own).
        let snapshots = [
            (
                "orders-prod-before-pg16",
                "orders-prod",
                "manual",
                Prod,
                at(2026, 6, 14, 3, 0, 0),
                480,
            ),
            (
                "legacy-reporting-final",
                "legacy-reporting",
                "manual",
                Prod,
                at(2026, 2, 27, 18, 0, 0),
                250,
            ),
            (
                "checkout-v1-final",
                "checkout-v1",
                "manual",
                Staging,
                collected_at() - Duration::days(12),
                60,
            ),
            (
                "rds:search-staging-2026-10-30",
                "search-staging",
                "automated",
                Staging,
                collected_at() - Duration::days(2),
                40,
            ),
        ];
        for (name, source, kind, account, created, gib) in snapshots {
            let region = "us-east-1";
            let id = arn("rds", region, account, &format!("snapshot:{name}"));
            let per_gb =
                self.service_price("rds", region, |t| t.unit(region, "snapshot_gb_month"))?;
            let tags = self.named_tags(TagStyle::Full, account, "data", name);
            self.bill(
                &id,
                name,
                RDS,
                "DB Snapshot",
                account,
                region,
                &tags,
                Charge::Monthly(per_gb.times(gib)),
                created,
                collected_at(),
                false,
            );
            self.inventory.db_snapshots.push(DbSnapshot {
                id: id.clone(),
                name: name.to_string(),
                account_id: account.id().to_string(),
                region: region.to_string(),
                source: DbSnapshotSource::Instance,
                source_name: source.to_string(),
                snapshot_type: kind.to_string(),
                engine: "postgres".to_string(),
                size_gib: gib as u64,
                create_time: Some(created),
                tags,
            });
            let age = (collected_at() - created).num_days();
            let (fires, why) = match (name, kind) {
                (_, "automated") => (false, "automated: expires with its retention".to_string()),
                ("orders-prod-before-pg16", _) => (false, "source orders-prod still exists".into()),
                (_, _) if age <= 30 => {
                    (false, format!("source {source} gone but only {age} days old"))
                }
                _ => (true, format!("source {source} gone, {age} days old: {gib} GiB × {per_gb}")),
            };
            self.expect("rds-snapshot-orphaned", &id, "DB Snapshot", fires, &why);
        }
        Ok(())
    }

    /// What each RDS rule is meant to conclude about `db`, from the same price table.
    fn rds_expectations(
        &mut self,
        prices: &crate::pricing::ServicePrices,
        id: &str,
        db: &Db,
        hourly: Money,
    ) -> Result<()> {
        let variant = crate::analysis::rules::context::rds::price_variant(db.engine);
        let (cpu, connections, free_gib, days) = db.usage;
        let age = (collected_at() - db.created).num_days();
        let idle = connections == 0.0 && days >= 7 && age > 14;
        let why = if idle {
            format!("no connections over {days} days, created {age} days ago")
        } else if connections > 0.0 {
            format!("{connections} connections max")
        } else {
            format!("no connections but created only {age} days ago")
        };
        if idle || connections <= 1.0 {
            self.expect("rds-idle", id, "DB Instance", idle, &why);
        }
        let memory = prices.class(db.class).map_or(0.0, |c| c.shape.memory_gib);
        let smaller = prices.next_smaller(db.region, variant, db.class);
        let rightsize =
            !idle && days >= 14 && cpu < 40.0 && free_gib > memory / 2.0 && smaller.is_some();
        if rightsize || cpu < 40.0 {
            let why = if idle {
                "idle: left to rds-idle".to_string()
            } else if days < 14 {
                format!("only {days} days of data: skipped")
            } else {
                format!(
                    "{} → {}: CPU p95 {cpu} %, {free_gib} of {memory} GiB free",
                    db.class,
                    smaller.as_deref().unwrap_or("no smaller class")
                )
            };
            self.expect("rds-rightsize", id, "DB Instance", rightsize, &why);
        }
        let cheaper = |target: &Option<String>| {
            target
                .as_deref()
                .and_then(|t| prices.node_hourly(db.region, variant, t).ok())
                .is_some_and(|price| price < hourly)
        };
        let successor = prices.successor(db.region, variant, db.class);
        if successor.is_some() {
            let why = format!("{} → {}", db.class, successor.as_deref().unwrap_or(""));
            self.expect("rds-previous-generation", id, "DB Instance", cheaper(&successor), &why);
        }
        let graviton = prices.graviton(db.region, variant, db.class);
        if graviton.is_some() {
            let why = format!("{} → {}", db.class, graviton.as_deref().unwrap_or(""));
            self.expect("rds-graviton", id, "DB Instance", cheaper(&graviton), &why);
        }
        let extended = past_standard_support(db.engine, db.version);
        self.expect(
            "rds-extended-support",
            id,
            "DB Instance",
            extended,
            &format!(
                "{} {} ({})",
                db.engine,
                db.version,
                if extended { "extended support" } else { "standard support" }
            ),
        );
        Ok(())
    }

    /// Whether the Graviton rule of `service` fires on a resource of `class`: a Graviton class
    /// of the same size exists and costs less; a Graviton class already is a near miss.
    #[allow(clippy::too_many_arguments)]
    fn expect_graviton(
        &mut self,
        service: &str,
        rule: &'static str,
        id: &str,
        rtype: &'static str,
        region: &str,
        variant: &str,
        class: &str,
        hourly: Money,
    ) {
        let Ok(table) = self.catalog.services().get(service) else { return };
        let target = table.graviton(region, variant, class);
        let price = target.as_deref().and_then(|t| table.node_hourly(region, variant, t).ok());
        match (target, price) {
            (Some(target), Some(price)) => {
                let why = format!("{class} → {target}: {hourly}/h vs {price}/h");
                self.expect(rule, id, rtype, price < hourly, &why);
            }
            _ if table
                .class(class)
                .is_some_and(|c| table.graviton_families().any(|f| f == c.family)) =>
            {
                self.expect(rule, id, rtype, false, &format!("{class} is Graviton already"));
            }
            _ => {}
        }
    }

    fn caches(&mut self) -> Result<()> {
        use Account::{Prod, Staging};
        // (account, region, name, node type, nodes, connections max, team)
        let specs = [
            (Prod, "us-east-1", "sessions-prod", "cache.r6g.large", 2u32, 350.0, "web"),
            (Staging, "us-east-1", "rate-limit-staging", "cache.t3.medium", 1, 0.0, "platform"),
            (Prod, "us-west-2", "feature-cache-prod", "cache.r5.large", 2, 3.0, "growth"),
        ];
        for (account, region, name, node_type, nodes, connections, team) in specs {
            let id = arn("elasticache", region, account, &format!("cluster:{name}"));
            let hourly = self.service_price("elasticache", region, |t| {
                t.node_hourly(region, "redis", node_type)
            })?;
            let tags = self.named_tags(TagStyle::Full, account, team, name);
            let created = at(2025, 8, 4, 12, 0, 0);
            self.bill(
                &id,
                name,
                ELASTICACHE,
                "Cache Cluster",
                account,
                region,
                &tags,
                Charge::Hourly(hourly.times(i64::from(nodes))),
                created,
                collected_at(),
                false,
            );
            self.inventory.cache_clusters.push(CacheCluster {
                id: id.clone(),
                name: name.to_string(),
                account_id: account.id().to_string(),
                region: region.to_string(),
                engine: "redis".to_string(),
                engine_version: "7.1.0".to_string(),
                node_type: node_type.to_string(),
                nodes,
                node_ids: (1..=nodes).map(|n| format!("{n:04}")).collect(),
                status: "available".to_string(),
                create_time: Some(created),
                tags,
            });
            self.utilization.push(UtilizationSummary {
                connections_max: Some(connections),
                ..measured(&id, LOOKBACK_DAYS, if connections > 0.0 { 12.0 } else { 1.0 })
            });
            let idle = connections == 0.0;
            let why = if idle {
                format!("no connections over 14 days: {nodes} × {node_type} at {hourly}/h")
            } else {
                format!("{connections} connections max")
            };
            self.expect("elasticache-idle", &id, "Cache Cluster", idle, &why);
            self.expect_graviton(
                "elasticache",
                "elasticache-graviton",
                &id,
                "Cache Cluster",
                region,
                "redis",
                node_type,
                hourly,
            );
        }
        Ok(())
    }

    fn search_domains(&mut self) -> Result<()> {
        use Account::{Prod, Staging};
        // (account, region, name, data type, count, masters, volume, search rate, indexing rate)
        let specs = [
            (
                Prod,
                "us-east-1",
                "search-prod",
                "m6g.large.search",
                3u32,
                3u32,
                ("gp3", 200u64),
                140.0,
                35.0,
            ),
            (Staging, "us-west-2", "logs-staging", "m5.large.search", 2, 0, ("gp2", 100), 0.0, 0.0),
        ];
        for (
            account,
            region,
            name,
            instance_type,
            count,
            masters,
            (volume_type, gib),
            search,
            index,
        ) in specs
        {
            let id = arn("es", region, account, &format!("domain/{name}"));
            let hourly = self.service_price("opensearch", region, |t| {
                t.node_hourly(region, "default", instance_type)
            })?;
            let unit = format!("{volume_type}_gb_month");
            let per_gb = self.service_price("opensearch", region, |t| t.unit(region, &unit))?;
            let tags = self.named_tags(TagStyle::Full, account, "search", name);
            let created = at(2025, 4, 9, 7, 0, 0);
            let nodes = i64::from(count + masters);
            for charge in [
                Charge::Hourly(hourly.times(nodes)),
                Charge::Monthly(per_gb.times(gib as i64 * i64::from(count))),
            ] {
                self.bill(
                    &id,
                    name,
                    OPENSEARCH,
                    "Domain",
                    account,
                    region,
                    &tags,
                    charge,
                    created,
                    collected_at(),
                    false,
                );
            }
            self.inventory.search_domains.push(SearchDomain {
                id: id.clone(),
                name: name.to_string(),
                account_id: account.id().to_string(),
                region: region.to_string(),
                engine_version: "OpenSearch_2.15".to_string(),
                instance_type: instance_type.to_string(),
                instance_count: count,
                master_type: (masters > 0).then(|| instance_type.to_string()),
                master_count: masters,
                volume_type: Some(volume_type.to_string()),
                volume_size_gib: gib,
                create_time: Some(created),
                tags,
            });
            self.utilization.push(UtilizationSummary {
                search_rate_max: Some(search),
                indexing_rate_max: Some(index),
                ..measured(&id, LOOKBACK_DAYS, if search > 0.0 { 30.0 } else { 4.0 })
            });
            let idle = search == 0.0 && index == 0.0;
            let why = format!("search rate max {search}/min, indexing rate max {index}/min");
            self.expect("opensearch-idle", &id, "Domain", idle, &why);
            self.expect_graviton(
                "opensearch",
                "opensearch-graviton",
                &id,
                "Domain",
                region,
                "default",
                instance_type,
                hourly,
            );
        }
        Ok(())
    }

    fn warehouses(&mut self) -> Result<()> {
        use Account::{Prod, Staging};
        // (account, region, name, node type, nodes, status, connections max)
        let specs = [
            (Prod, "us-east-1", "warehouse-prod", "ra3.xlplus", 2u32, "available", 25.0),
            (Staging, "us-east-1", "bi-staging", "dc2.large", 2, "available", 0.0),
            (Staging, "us-west-2", "archive-staging", "dc2.large", 1, "paused", 0.0),
        ];
        for (account, region, name, node_type, nodes, status, connections) in specs {
            let id = arn("redshift", region, account, &format!("cluster:{name}"));
            let hourly = self.service_price("redshift", region, |t| {
                t.node_hourly(region, "default", node_type)
            })?;
            let tags = self.named_tags(TagStyle::Full, account, "data", name);
            let created = at(2025, 11, 17, 16, 0, 0);
            // A paused cluster bills no compute: it was paused before the month.
            if status != "paused" {
                self.bill(
                    &id,
                    name,
                    REDSHIFT,
                    "Cluster",
                    account,
                    region,
                    &tags,
                    Charge::Hourly(hourly.times(i64::from(nodes))),
                    created,
                    collected_at(),
                    false,
                );
            }
            self.inventory.redshift_clusters.push(RedshiftCluster {
                id: id.clone(),
                name: name.to_string(),
                account_id: account.id().to_string(),
                region: region.to_string(),
                node_type: node_type.to_string(),
                nodes,
                status: status.to_string(),
                create_time: Some(created),
                tags,
            });
            self.utilization.push(UtilizationSummary {
                connections_max: Some(connections),
                ..measured(&id, LOOKBACK_DAYS, if connections > 0.0 { 40.0 } else { 0.5 })
            });
            let (fires, why) = match (status, connections > 0.0) {
                ("paused", _) => (false, "already paused".to_string()),
                (_, true) => (false, format!("{connections} connections max")),
                _ => (
                    true,
                    format!(
                        "no connections over 14 days: pause {nodes} × {node_type} = {} a month",
                        hourly.times(i64::from(nodes) * HOURS_PER_MONTH)
                    ),
                ),
            };
            self.expect("redshift-idle", &id, "Cluster", fires, &why);
        }
        Ok(())
    }

    fn tables(&mut self) -> Result<()> {
        use Account::{Prod, Staging};
        let seconds = |days: u32| f64::from(days) * 86_400.0;
        // (account, region, name, mode, RCU, WCU, peak r/w per second, average r/w per second,
        //  days of data, GB stored)
        let specs = [
            (
                Prod,
                "us-east-1",
                "sessions-prod",
                BillingMode::PayPerRequest,
                0u64,
                0u64,
                (900.0, 300.0),
                (120.0, 40.0),
                14u32,
                14u64,
            ),
            (
                Prod,
                "us-east-1",
                "carts-prod",
                BillingMode::Provisioned,
                400,
                200,
                (300.0, 150.0),
                (180.0, 60.0),
                14,
                6,
            ),
            (
                Prod,
                "us-east-1",
                "events-prod",
                BillingMode::Provisioned,
                2000,
                1000,
                (250.0, 120.0),
                (180.0, 90.0),
                14,
                120,
            ),
            (
                Staging,
                "us-east-1",
                "feature-flags-staging",
                BillingMode::Provisioned,
                500,
                100,
                (20.0, 2.0),
                (1.5, 0.1),
                14,
                1,
            ),
            (
                Staging,
                "us-west-2",
                "rate-limits-staging",
                BillingMode::Provisioned,
                50,
                50,
                (2.0, 2.0),
                (0.5, 0.5),
                6,
                1,
            ),
        ];
        for (account, region, name, mode, rcu, wcu, peak, average, days, gb) in specs {
            let id = arn("dynamodb", region, account, &format!("table/{name}"));
            let tags = self.named_tags(TagStyle::Full, account, "web", name);
            let created = at(2025, 2, 3, 11, 0, 0);
            let storage =
                self.service_price("dynamodb", region, |t| t.unit(region, "storage_gb_month"))?;
            let capacity = match mode {
                BillingMode::Provisioned => {
                    let rcu_hour =
                        self.service_price("dynamodb", region, |t| t.unit(region, "rcu_hour"))?;
                    let wcu_hour =
                        self.service_price("dynamodb", region, |t| t.unit(region, "wcu_hour"))?;
                    Charge::Hourly(rcu_hour.times(rcu as i64) + wcu_hour.times(wcu as i64))
                }
                BillingMode::PayPerRequest => {
                    let read = self.service_price("dynamodb", region, |t| {
                        t.unit(region, "read_request_million")
                    })?;
                    let write = self.service_price("dynamodb", region, |t| {
                        t.unit(region, "write_request_million")
                    })?;
                    // A day of requests at the average rates, priced per million.
                    let per_day = |rate: f64| (rate * 86_400.0) as i128;
                    let daily = read.mul_ratio(per_day(average.0), 1_000_000)
                        + write.mul_ratio(per_day(average.1), 1_000_000);
                    Charge::Hourly(daily.mul_ratio(1, 24).round_dp(10))
                }
            };
            for charge in [capacity, Charge::Monthly(storage.times(gb as i64))] {
                self.bill(
                    &id,
                    name,
                    DYNAMODB,
                    "Table",
                    account,
                    region,
                    &tags,
                    charge,
                    created,
                    collected_at(),
                    false,
                );
            }
            self.inventory.dynamodb_tables.push(DynamoDbTable {
                id: id.clone(),
                name: name.to_string(),
                account_id: account.id().to_string(),
                region: region.to_string(),
                billing_mode: mode,
                read_capacity: rcu,
                write_capacity: wcu,
                size_bytes: gb * super::GB,
                item_count: gb * 2_500_000,
                status: "ACTIVE".to_string(),
                create_time: Some(created),
                tags,
            });
            self.utilization.push(UtilizationSummary {
                read_units_peak_per_second: Some(peak.0),
                write_units_peak_per_second: Some(peak.1),
                read_units_total: Some(average.0 * seconds(days)),
                write_units_total: Some(average.1 * seconds(days)),
                ..measured(&id, days, 0.0)
            });
            if mode == BillingMode::Provisioned {
                let low = peak.0 < 0.3 * rcu as f64 || peak.1 < 0.3 * wcu as f64;
                let fires = low && days >= 14;
                let why = if days < 14 {
                    format!("only {days} days of data: skipped")
                } else {
                    format!("peak {} of {rcu} RCU, {} of {wcu} WCU", peak.0, peak.1)
                };
                self.expect("dynamodb-overprovisioned", &id, "Table", fires, &why);
            }
        }
        Ok(())
    }
}
