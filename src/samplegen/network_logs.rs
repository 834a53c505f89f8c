//! The sample's load balancers (ELBv2 and classic) and CloudWatch Logs log groups, each in the
//! inventory and billed by ARN at its price-table price, so that `elb-idle`, `logs-no-retention`
//! and `logs-stale` fire somewhere and have near misses.

use chrono::{DateTime, Duration, Utc};

use super::{
    Account, CLOUDWATCH, Charge, ELB, GIB, Gen, LOOKBACK_DAYS, Result, TagStyle, at, collected_at,
};
use crate::model::Money;
use crate::model::inventory::{LoadBalancer, LoadBalancerType, LogGroup};
use crate::model::utilization::UtilizationSummary;
use crate::pricing::HOURS_PER_MONTH;

/// One load balancer of the sample.
struct Lb {
    account: Account,
    region: &'static str,
    name: &'static str,
    network: bool,
    created: DateTime<Utc>,
    /// (targets, healthy)
    targets: (u32, u32),
    /// Requests (ALB) or new flows (NLB) on the busiest day, and days measured.
    traffic: (f64, u32),
    /// Capacity units billed on average an hour, besides the hour itself.
    capacity_units: i64,
    team: &'static str,
}

/// One classic load balancer of the sample: where, its name, (instances registered, in
/// service), requests on the busiest of 14 days, GB processed an hour (billed beside the hour),
/// and what elb-idle must make of it.
struct Classic {
    account: Account,
    region: &'static str,
    name: &'static str,
    instances: (u32, u32),
    busiest: f64,
    gb_per_hour: i64,
    team: &'static str,
    fires: bool,
    why: &'static str,
}

const CLASSIC: [Classic; 4] = [
    Classic {
        account: Account::Prod,
        region: "us-east-1",
        name: "legacy-www",
        instances: (2, 0),
        busiest: 0.0,
        gb_per_hour: 0,
        team: "web",
        fires: true,
        // 0.025 × 730 = 18.25 a month.
        why: "classic, 0 of 2 instances in service",
    },
    Classic {
        account: Account::Staging,
        region: "us-west-2",
        name: "legacy-admin",
        instances: (1, 1),
        busiest: 30.0,
        gb_per_hour: 0,
        team: "platform",
        fires: true,
        // 0.025 × 730 = 18.25 a month.
        why: "classic, at most 30 requests a day over 14 days",
    },
    Classic {
        account: Account::Prod,
        region: "us-east-1",
        name: "legacy-partner-api",
        instances: (3, 3),
        busiest: 45_000.0,
        gb_per_hour: 2,
        team: "payments",
        fires: false,
        why: "classic, 45,000 requests on its busiest day",
    },
    Classic {
        account: Account::Staging,
        region: "eu-west-1",
        name: "legacy-mobile",
        instances: (2, 2),
        busiest: 150.0,
        gb_per_hour: 0,
        team: "web",
        fires: false,
        why: "classic, 150 requests on its busiest day: not under 100",
    },
];

/// One log group of the sample.
struct Group {
    account: Account,
    region: &'static str,
    name: &'static str,
    retention: Option<u32>,
    gib: u64,
    created: DateTime<Utc>,
    /// Days since the last event was ingested.
    idle_days: i64,
    team: &'static str,
}

impl Gen<'_> {
    /// Load balancers and log groups, billed from their creation (or the month's start).
    pub(super) fn network_and_logs(&mut self) -> Result<()> {
        self.load_balancers()?;
        self.log_groups()
    }

    fn load_balancers(&mut self) -> Result<()> {
        use Account::{Prod, Staging};
        let old = at(2025, 3, 4, 9, 0, 0);
        let lb = |account, region, name, network, targets, traffic, capacity_units, team| Lb {
            account,
            region,
            name,
            network,
            created: old,
            targets,
            traffic,
            capacity_units,
            team,
        };
        let mut new =
            lb(Prod, "us-east-1", "checkout-canary", false, (0, 0), (0.0, 3), 0, "payments");
        new.created = collected_at() - Duration::days(3);
        let specs = [
            // Busy: nothing to say.
            lb(Prod, "us-east-1", "web", false, (4, 4), (250_000.0, 14), 6, "web"),
            lb(Prod, "us-east-1", "internal", true, (2, 2), (5_000.0, 14), 2, "platform"),
            // Every target unhealthy for good: idle whatever the metrics say.
            lb(Staging, "us-east-1", "legacy-api", false, (2, 0), (0.0, 14), 0, "web"),
            // At most 40 requests a day over 14 days.
            lb(Staging, "us-west-2", "grafana", false, (1, 1), (40.0, 14), 0, "platform"),
            // At most 60 new flows a day over 14 days.
            lb(Staging, "eu-west-1", "edge", true, (1, 1), (60.0, 14), 0, "platform"),
            // Near misses: 120 requests on its busiest day; quiet but measured 5 days; new.
            lb(Staging, "us-east-1", "reports", false, (2, 2), (120.0, 14), 0, "data"),
            lb(Staging, "us-east-1", "batch", true, (1, 1), (10.0, 5), 0, "data"),
            new,
        ];
        for l in specs {
            let lb_type =
                if l.network { LoadBalancerType::Network } else { LoadBalancerType::Application };
            let kind = if l.network { "net" } else { "app" };
            let suffix = self.rng.hex(16);
            let full = format!("{}-{}", l.name, l.account.env());
            let id = format!(
                "arn:aws:elasticloadbalancing:{}:{}:loadbalancer/{kind}/{full}/{suffix}",
                l.region,
                l.account.id()
            );
            let units =
                |s: &Self, unit: &str| s.service_price("elb", l.region, |t| t.unit(l.region, unit));
            let hour = units(self, &format!("{}_hour", lb_type.as_str()))?;
            let unit = units(self, if l.network { "nlcu_hour" } else { "lcu_hour" })?;
            let tags = self.named_tags(TagStyle::Full, l.account, l.team, &full);
            // Billed from its creation: the row loop keeps only the billed days.
            let from = l.created;
            self.bill(
                &id,
                &full,
                ELB,
                "Load Balancer",
                l.account,
                l.region,
                &tags,
                Charge::Hourly(hour + unit.times(l.capacity_units)),
                from,
                collected_at(),
                false,
            );
            let group = format!(
                "arn:aws:elasticloadbalancing:{}:{}:targetgroup/{full}/{}",
                l.region,
                l.account.id(),
                self.rng.hex(16)
            );
            self.inventory.load_balancers.push(LoadBalancer {
                id: id.clone(),
                name: full.clone(),
                account_id: l.account.id().to_string(),
                region: l.region.to_string(),
                lb_type,
                scheme: if l.network { "internal" } else { "internet-facing" }.to_string(),
                state: "active".to_string(),
                create_time: Some(l.created),
                target_groups: vec![group],
                targets: Some(l.targets.0),
                healthy_targets: Some(l.targets.1),
                tags,
            });
            let (busiest, days) = l.traffic;
            self.utilization.push(UtilizationSummary {
                resource_id: id.clone(),
                lookback_days: LOOKBACK_DAYS,
                days_covered: days,
                data_points: days * 24,
                requests_day_max: (!l.network).then_some(busiest),
                new_flows_day_max: l.network.then_some(busiest),
                healthy_hosts_max: Some(f64::from(l.targets.1)),
                bytes_processed: Some(busiest * 2_000.0 * f64::from(days)),
                ..UtilizationSummary::default()
            });
            let monthly = (hour + unit.times(l.capacity_units)).times(HOURS_PER_MONTH);
            let what = if l.network { "new flows" } else { "requests" };
            let young = (collected_at() - l.created).num_days() < 7;
            let (fires, why) = if young {
                (
                    false,
                    format!(
                        "created {} days ago, under 7",
                        (collected_at() - l.created).num_days()
                    ),
                )
            } else if l.targets.1 == 0 {
                (true, format!("0 of {} targets healthy: delete, {monthly} a month", l.targets.0))
            } else if days < 7 {
                (false, format!("quiet but measured {days} days, under 7"))
            } else if busiest < 100.0 {
                (
                    true,
                    format!(
                        "at most {busiest} {what} a day over {days} days: delete, {monthly} a month"
                    ),
                )
            } else {
                (false, format!("{busiest} {what} on its busiest day, not under 100"))
            };
            self.expect("elb-idle", &id, "Load Balancer", fires, &why);
        }
        self.classic_load_balancers()
    }

    /// The load balancers of `CLASSIC`, created in 2019, billed by the ARN billing names them
    /// by (the classic API returns only a name), their hour plus the data they process. Their
    /// ids take nothing from the random stream, so the rest of the sample does not move.
    fn classic_load_balancers(&mut self) -> Result<()> {
        let created = at(2019, 6, 3, 10, 0, 0);
        for l in &CLASSIC {
            let full = format!("{}-{}", l.name, l.account.env());
            let id = format!(
                "arn:aws:elasticloadbalancing:{}:{}:loadbalancer/{full}",
                l.region,
                l.account.id()
            );
            let hour = self.service_price("elb", l.region, |t| t.unit(l.region, "classic_hour"))?;
            let gb = self.service_price("elb", l.region, |t| t.unit(l.region, "classic_gb"))?;
            let tags = self.named_tags(TagStyle::Full, l.account, l.team, &full);
            self.bill(
                &id,
                &full,
                ELB,
                "Load Balancer",
                l.account,
                l.region,
                &tags,
                Charge::Hourly(hour + gb.times(l.gb_per_hour)),
                created,
                collected_at(),
                false,
            );
            self.inventory.load_balancers.push(LoadBalancer {
                id: id.clone(),
                name: full,
                account_id: l.account.id().to_string(),
                region: l.region.to_string(),
                lb_type: LoadBalancerType::Classic,
                scheme: "internet-facing".to_string(),
                state: "active".to_string(),
                create_time: Some(created),
                target_groups: Vec::new(),
                targets: Some(l.instances.0),
                healthy_targets: Some(l.instances.1),
                tags,
            });
            self.utilization.push(UtilizationSummary {
                resource_id: id.clone(),
                lookback_days: LOOKBACK_DAYS,
                days_covered: LOOKBACK_DAYS,
                data_points: LOOKBACK_DAYS * 24,
                requests_day_max: Some(l.busiest),
                healthy_hosts_max: Some(f64::from(l.instances.1)),
                ..UtilizationSummary::default()
            });
            self.expect("elb-idle", &id, "Load Balancer", l.fires, l.why);
        }
        Ok(())
    }

    fn log_groups(&mut self) -> Result<()> {
        use Account::{Prod, Staging};
        let created = at(2025, 1, 1, 0, 0, 0);
        let group = |account, region, name, retention, gib, idle_days, team| Group {
            account,
            region,
            name,
            retention,
            gib,
            created,
            idle_days,
            team,
        };
        let mut young = group(Staging, "us-east-1", "/aws/lambda/preview", None, 40, 0, "web");
        young.created = collected_at() - Duration::days(20);
        let specs = [
            // Kept forever and still written: set a retention.
            group(Prod, "us-east-1", "/aws/lambda/order-webhook", None, 120, 0, "payments"),
            group(Prod, "us-west-2", "/aws/eks/acme/cluster", None, 300, 0, "platform"),
            // With a retention: nothing to say.
            group(Prod, "us-east-1", "/aws/rds/orders-prod/postgresql", Some(30), 80, 0, "data"),
            // Nothing ingested for 200 days and kept forever: delete (not trim).
            group(Staging, "us-east-1", "/aws/codebuild/legacy-build", None, 60, 200, "platform"),
            // Near misses: kept forever but under 1 GB; quiet for 60 days; younger than 30 days.
            group(Staging, "eu-west-1", "/aws/apigateway/sandbox", None, 0, 0, "web"),
            group(Staging, "us-east-1", "/aws/ecs/reindex", Some(90), 25, 60, "data"),
            young,
        ];
        let price =
            self.service_price("logs", "us-east-1", |t| t.unit("us-east-1", "ingestion_gb"))?;
        for g in specs {
            let id = format!("arn:aws:logs:{}:{}:log-group:{}", g.region, g.account.id(), g.name);
            let storage_gb_month =
                self.service_price("logs", g.region, |t| t.unit(g.region, "storage_gb_month"))?;
            // The small group stores 600 MiB, under the 1 GB threshold.
            let stored_bytes = if g.gib == 0 { 600 << 20 } else { g.gib * GIB };
            let storage = storage_gb_month.mul_ratio(i128::from(stored_bytes), i128::from(GIB));
            // Groups still written to ingest a tenth of what they store each month.
            let ingestion = if g.idle_days > 0 {
                Money::ZERO
            } else {
                price.mul_ratio(i128::from(stored_bytes), 10 * i128::from(GIB))
            };
            let tags = self.named_tags(TagStyle::Full, g.account, g.team, "");
            self.bill(
                &id,
                g.name,
                CLOUDWATCH,
                "Log Group",
                g.account,
                g.region,
                &tags,
                Charge::Monthly(storage + ingestion),
                g.created,
                collected_at(),
                false,
            );
            self.inventory.log_groups.push(LogGroup {
                id: id.clone(),
                name: g.name.to_string(),
                account_id: g.account.id().to_string(),
                region: g.region.to_string(),
                retention_days: g.retention,
                stored_bytes,
                create_time: Some(g.created),
                ingestion_checked: true,
                last_ingestion: Some(
                    collected_at() - Duration::days(g.idle_days.max(0)) - Duration::hours(2),
                ),
                tags,
            });
            let age = (collected_at() - g.created).num_seconds() as f64 / 86_400.0;
            let stale = g.idle_days >= 90 && g.gib > 0;
            let why = if stale {
                format!(
                    "nothing ingested for {} days: delete, {storage} a month of storage",
                    g.idle_days
                )
            } else if g.idle_days > 0 {
                format!("last ingestion {} days ago, under 90", g.idle_days)
            } else {
                "written to every day".to_string()
            };
            self.expect("logs-stale", &id, "Log Group", stale, &why);
            let forever = g.retention.is_none() && !stale;
            let (fires, why) = if !forever {
                (
                    false,
                    if stale {
                        "stale: logs-stale deletes it".to_string()
                    } else {
                        "has a retention".to_string()
                    },
                )
            } else if g.gib == 0 {
                (false, "600 MiB stored, not over 1 GB".to_string())
            } else if age <= 30.0 {
                (false, format!("created {age:.0} days ago: nothing older than 30 days"))
            } else {
                let beyond = g.gib as f64 * (1.0 - 30.0 / age);
                (
                    true,
                    format!(
                        "no retention, {} GB over {age:.0} days: ≈ {beyond:.2} GB older than 30 days × {storage_gb_month}",
                        g.gib
                    ),
                )
            };
            self.expect("logs-no-retention", &id, "Log Group", fires, &why);
        }
        Ok(())
    }
}
