//! The sample's EC2 and EBS additions of issue 14: provisioned-IOPS and quiet volumes attached to
//! running instances, billed by id at the catalog's price and measured hourly,
//! so that ebs-io-to-gp3, ebs-io1-to-io2 and ebs-low-use fire and have near misses; and the
//! near misses of ec2-graviton (whose firing is judged over every instance in `evaluate`); and
//! the account's own AMIs, used by an instance, by a launch template or by nothing, old and young,
//! so that ami-unused fires and has near misses; and, for ec2-offhours, the idle hours of a week
//! of every measured instance, with non-production instances idle nights and weekends and their
//! near misses.

use std::collections::BTreeSet;

use chrono::Duration;

use super::{
    Account, Charge, EC2, Expectation, Gen, InstanceSpec, LOOKBACK_DAYS, MB, Result, SampleError,
    SplitMix64, TagStyle, VolumeSpec, collected_at, util, vol,
};
use crate::model::inventory::{
    EbsSnapshot, Image, ImageSnapshot, InstanceState, LaunchTemplate, VolumeState,
};
use crate::model::utilization::UtilizationSummary;

/// One volume of the sample: type, size, provisioned IOPS, and what CloudWatch saw over the
/// lookback (the busiest hour's average IOPS, operations in all).
struct IoVolume {
    name: &'static str,
    volume_type: &'static str,
    size_gib: u64,
    iops: Option<u64>,
    peak_iops: f64,
    total_ops: f64,
    /// (rule, fires, why) for each rule this volume is meant to test.
    outcomes: &'static [(&'static str, bool, &'static str)],
}

const VOLUMES: [IoVolume; 8] = [
    IoVolume {
        name: "orders-db-data",
        volume_type: "io1",
        size_gib: 500,
        iops: Some(10_000),
        peak_iops: 1_800.0,
        total_ops: 1.2e9,
        outcomes: &[(
            "ebs-io-to-gp3",
            true,
            "io1 with 10,000 IOPS peaked at 1,800 an hour: gp3 with 3,600 serves it",
        )],
    },
    IoVolume {
        name: "search-index",
        volume_type: "io2",
        size_gib: 200,
        iops: Some(8_000),
        peak_iops: 6_000.0,
        total_ops: 2.5e9,
        outcomes: &[(
            "ebs-io-to-gp3",
            true,
            "io2 with 8,000 IOPS peaked at 6,000 an hour: gp3 with the same 8,000",
        )],
    },
    IoVolume {
        name: "ledger-wal",
        volume_type: "io1",
        size_gib: 500,
        iops: Some(16_000),
        peak_iops: 13_500.0,
        total_ops: 9.0e9,
        outcomes: &[(
            "ebs-io-to-gp3",
            false,
            "peak 13,500 IOPS is above half of gp3's 16,000: no room for bursts on gp3",
        )],
    },
    IoVolume {
        name: "warehouse-scratch",
        volume_type: "io1",
        size_gib: 1_000,
        iops: Some(50_000),
        peak_iops: 38_000.0,
        total_ops: 2.0e10,
        outcomes: &[
            ("ebs-io1-to-io2", true, "io1 with 50,000 IOPS: io2 bills those above 32,000 lower"),
            ("ebs-io-to-gp3", false, "50,000 provisioned IOPS: more than gp3 can give"),
        ],
    },
    IoVolume {
        name: "analytics-tmp",
        volume_type: "io1",
        size_gib: 300,
        iops: Some(20_000),
        peak_iops: 15_000.0,
        total_ops: 6.0e9,
        outcomes: &[
            ("ebs-io1-to-io2", false, "20,000 IOPS: io1 and io2 cost the same up to 32,000"),
            ("ebs-io-to-gp3", false, "20,000 provisioned IOPS: more than gp3's 16,000"),
        ],
    },
    IoVolume {
        name: "old-exports",
        volume_type: "gp3",
        size_gib: 200,
        iops: Some(3_000),
        peak_iops: 0.4,
        total_ops: 4_200.0,
        outcomes: &[(
            "ebs-low-use",
            true,
            "attached, 300 reads and writes a day, busiest hour 0.4 IOPS",
        )],
    },
    IoVolume {
        name: "app-cache",
        volume_type: "gp3",
        size_gib: 200,
        iops: Some(3_000),
        peak_iops: 2.0,
        total_ops: 700_000.0,
        outcomes: &[("ebs-low-use", false, "50,000 reads and writes a day")],
    },
    IoVolume {
        name: "nightly-restore",
        volume_type: "st1",
        size_gib: 500,
        iops: None,
        peak_iops: 30.0,
        total_ops: 8_400.0,
        outcomes: &[(
            "ebs-low-use",
            false,
            "600 reads and writes a day, but a nightly burst of 30 IOPS: in use",
        )],
    },
];

/// The `env` values ec2-offhours' default parameters read as non-production (lower case).
pub(super) const NON_PRODUCTION: [&str; 8] =
    ["dev", "development", "test", "testing", "qa", "stage", "staging", "sandbox"];

/// An instance of the sample for ec2-offhours: its CPU p95 (hundredths of a percent), network
/// (MB a day in and out), the hours of a week under 5 % CPU, and what the rule must make of it.
struct OffHours {
    name: &'static str,
    account: Account,
    instance_type: &'static str,
    p95_centi: u32,
    net_mb: u64,
    idle_hours_per_week: f64,
    fires: bool,
    why: &'static str,
}

const OFF_HOURS: [OffHours; 5] = [
    OffHours {
        name: "dev-build-box",
        account: Account::Staging,
        instance_type: "m5.xlarge",
        p95_centi: 3_800,
        net_mb: 400,
        // Busy 10 hours on weekdays: 168 − 70 = 98 idle hours.
        idle_hours_per_week: 98.0,
        fires: true,
        // 0.192 × 98 × 730/168 = 81.76 a month.
        why: "env=staging, 98 idle hours a week (nights and weekends)",
    },
    OffHours {
        name: "qa-env-web",
        account: Account::Staging,
        instance_type: "t3.large",
        p95_centi: 2_200,
        net_mb: 120,
        idle_hours_per_week: 62.0,
        fires: true,
        // 0.0832 × 62 × 730/168 = 22.41 a month.
        why: "env=staging, 62 idle hours a week",
    },
    OffHours {
        name: "staging-api-2",
        account: Account::Staging,
        instance_type: "m5.large",
        p95_centi: 4_100,
        net_mb: 900,
        idle_hours_per_week: 36.0,
        fires: false,
        why: "env=staging but 36 idle hours a week < 40",
    },
    OffHours {
        name: "reporting-batch",
        account: Account::Prod,
        instance_type: "m5.large",
        p95_centi: 5_500,
        net_mb: 300,
        idle_hours_per_week: 110.0,
        fires: false,
        why: "110 idle hours a week, but env=prod",
    },
    OffHours {
        name: "qa-sandbox-idle",
        account: Account::Staging,
        instance_type: "t3.medium",
        p95_centi: 180,
        net_mb: 0,
        idle_hours_per_week: 168.0,
        fires: false,
        why: "idle all week with no traffic: ec2-idle stops it for good",
    },
];

/// How an AMI of the sample is used.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AmiUse {
    Instance,
    LaunchTemplate,
    Nothing,
}

/// One AMI of the sample: id, name, age in days, its snapshots (id, GiB), who uses it and what
/// ami-unused must make of it.
struct Ami {
    id: &'static str,
    name: &'static str,
    age_days: i64,
    snapshots: &'static [(&'static str, u64)],
    used_by: AmiUse,
    fires: bool,
    why: &'static str,
}

/// The threshold CloudWatch's idle hours are counted under (source/aws/cloudwatch.rs).
const IDLE_CPU_PERCENT: f64 = 5.0;

const AMIS: [Ami; 5] = [
    Ami {
        id: "ami-0a7e3c91d2b4f6e01",
        name: "web-golden-2025-09",
        age_days: 400,
        snapshots: &[("snap-0a7e3c91d2b4f6e11", 30)],
        used_by: AmiUse::Instance,
        fires: false,
        why: "a running instance was launched from it",
    },
    Ami {
        id: "ami-0a7e3c91d2b4f6e02",
        name: "batch-base-2026-01",
        age_days: 300,
        snapshots: &[("snap-0a7e3c91d2b4f6e12", 50)],
        used_by: AmiUse::LaunchTemplate,
        fires: false,
        why: "version 1 of launch template batch-workers names it",
    },
    Ami {
        id: "ami-0a7e3c91d2b4f6e03",
        name: "legacy-api-2025-06",
        age_days: 500,
        snapshots: &[("snap-0a7e3c91d2b4f6e13", 30), ("snap-0a7e3c91d2b4f6e14", 200)],
        used_by: AmiUse::Nothing,
        fires: true,
        // (30 + 200) GiB × 0.05 = 11.50 a month.
        why: "500 days old, no instance or launch template: 230 GiB of snapshots",
    },
    Ami {
        id: "ami-0a7e3c91d2b4f6e04",
        name: "ci-runner-2026-02",
        age_days: 250,
        snapshots: &[("snap-0a7e3c91d2b4f6e15", 50)],
        used_by: AmiUse::Nothing,
        fires: true,
        // 50 GiB × 0.05 = 2.50 a month.
        why: "250 days old, no instance or launch template: 50 GiB of snapshots",
    },
    Ami {
        id: "ami-0a7e3c91d2b4f6e05",
        name: "web-golden-2026-10",
        age_days: 20,
        snapshots: &[("snap-0a7e3c91d2b4f6e16", 30)],
        used_by: AmiUse::Nothing,
        fires: false,
        why: "20 days old: the next release may still use it",
    },
];

impl Gen<'_> {
    /// The EC2 and EBS additions, after every instance exists.
    pub(super) fn compute(&mut self) -> Result<()> {
        self.graviton_near_misses();
        self.off_hours()?;
        self.measure_idle_hours();
        self.io_volumes()?;
        self.measure_busy_volumes();
        self.images()
    }

    /// Every other attached gp2, gp3 or st1 volume is measured too, busy (tens to hundreds of
    /// IOPS at peak), as CloudWatch would report it: ebs-low-use judges them and stays silent,
    /// instead of counting them as "not judged". Values come from the volume's position, not the
    /// random stream, so the rest of the sample does not move. io1/io2 volumes outside `VOLUMES`
    /// stay unmeasured: a measured peak would put them to ebs-io-to-gp3.
    fn measure_busy_volumes(&mut self) {
        let measured: BTreeSet<String> =
            self.utilization.iter().map(|u| u.resource_id.clone()).collect();
        let busy: Vec<String> = self
            .inventory
            .volumes
            .iter()
            .filter(|v| v.state == VolumeState::InUse && !measured.contains(&v.id))
            .filter(|v| !matches!(v.volume_type.as_str(), "io1" | "io2"))
            .map(|v| v.id.clone())
            .collect();
        for (n, id) in busy.into_iter().enumerate() {
            let peak = 40.0 + f64::from(u32::try_from(n * 37 % 600).unwrap_or(0));
            // A quarter of the peak on average, around the clock.
            let total = peak / 4.0 * 3600.0 * 24.0 * f64::from(LOOKBACK_DAYS);
            self.utilization.push(UtilizationSummary {
                resource_id: id.clone(),
                lookback_days: LOOKBACK_DAYS,
                days_covered: LOOKBACK_DAYS,
                data_points: LOOKBACK_DAYS * 24,
                io_ops_peak_per_second: Some(peak),
                io_ops_total: Some(total),
                ..UtilizationSummary::default()
            });
        }
    }

    /// The instances of `OFF_HOURS` in us-east-1, launched a year ago. Their ids and volume ids
    /// come from a stream of their own, so the rest of the sample does not move.
    fn off_hours(&mut self) -> Result<()> {
        let main = std::mem::replace(&mut self.rng, SplitMix64::new(0x0ff_4005));
        let added = self.add_off_hours();
        self.rng = main;
        added
    }

    fn add_off_hours(&mut self) -> Result<()> {
        for spec in &OFF_HOURS {
            let tags = self.named_tags(TagStyle::Full, spec.account, "platform", spec.name);
            let net = spec.net_mb * MB / 2;
            let id = self.add_instance(InstanceSpec {
                account: spec.account,
                region: "us-east-1",
                instance_type: spec.instance_type.to_string(),
                name: spec.name.to_string(),
                launch: collected_at() - Duration::days(365),
                stopped_at: None,
                util: Some(util(spec.p95_centi / 3, spec.p95_centi, spec.p95_centi * 2, net, net)),
                root: vol("gp3", 30),
                data: vec![],
                tags,
                tag_volumes: true,
                savings_plan: false,
            })?;
            if let Some(u) = self.utilization.iter_mut().find(|u| u.resource_id == id) {
                u.idle_hours_per_week = Some(spec.idle_hours_per_week);
                u.idle_cpu_below_percent = Some(IDLE_CPU_PERCENT);
            }
            if !spec.fires {
                self.near("ec2-offhours", &id, &format!("{}: {}", spec.name, spec.why));
            }
        }
        Ok(())
    }

    /// Every other measured instance gets idle hours in keeping with its CPU, as CloudWatch
    /// would give them: all 168 when its p95 is under 5 % (95 % of its hours or more are),
    /// half the week when only its average is, none otherwise. `evaluate` then judges
    /// ec2-offhours on each of them like the engine does.
    fn measure_idle_hours(&mut self) {
        let instances: BTreeSet<&str> =
            self.inventory.instances.iter().map(|i| i.id.as_str()).collect();
        for u in self.utilization.iter_mut() {
            if !instances.contains(u.resource_id.as_str()) || u.idle_hours_per_week.is_some() {
                continue;
            }
            let (Some(avg), Some(p95)) = (u.cpu_avg_percent, u.cpu_p95_percent) else { continue };
            let hours = if p95 < IDLE_CPU_PERCENT {
                168.0
            } else if avg < IDLE_CPU_PERCENT {
                84.0
            } else {
                0.0
            };
            u.idle_hours_per_week = Some(hours);
            u.idle_cpu_below_percent = Some(IDLE_CPU_PERCENT);
        }
    }

    /// A stopped instance of a family with a Graviton equivalent, and a running one of a family
    /// without: ec2-graviton stays silent on both.
    fn graviton_near_misses(&mut self) {
        let catalog = self.catalog;
        let has_arm = |region: &str, t: &str| catalog.graviton(region, t).is_some();
        let stopped =
            self.inventory.instances.iter().find(|i| {
                i.state == InstanceState::Stopped && has_arm(&i.region, &i.instance_type)
            });
        let stopped = stopped.map(|i| (i.id.clone(), i.instance_type.clone()));
        let no_arm = self.inventory.instances.iter().find(|i| {
            i.state == InstanceState::Running
                && catalog.instance_hourly(&i.region, &i.instance_type).is_ok()
                && !has_arm(&i.region, &i.instance_type)
        });
        let no_arm = no_arm.map(|i| (i.id.clone(), i.instance_type.clone()));
        if let Some((id, t)) = stopped {
            self.near("ec2-graviton", &id, &format!("{t} is stopped: no compute charge to save"));
        }
        if let Some((id, t)) = no_arm {
            self.near("ec2-graviton", &id, &format!("{t} has no Graviton equivalent priced"));
        }
    }

    /// The volumes of `VOLUMES`, attached to the first running instance in us-east-1 (prod).
    fn io_volumes(&mut self) -> Result<()> {
        let host = self.inventory.instances.iter().position(|i| {
            i.state == InstanceState::Running
                && i.region == "us-east-1"
                && i.account_id == Account::Prod.id()
        });
        let Some(host) = host else { return Ok(()) };
        let host_id = self.inventory.instances[host].id.clone();
        let created = collected_at() - Duration::days(400);
        for (n, v) in VOLUMES.iter().enumerate() {
            let spec = VolumeSpec {
                volume_type: v.volume_type,
                size_gib: v.size_gib,
                iops: v.iops,
                throughput: (v.volume_type == "gp3").then_some(125),
            };
            let tags = self.named_tags(TagStyle::Full, Account::Prod, "data", v.name);
            let device = format!("/dev/sd{}", (b'p' + n as u8) as char);
            let id = self.add_volume(
                Account::Prod,
                "us-east-1",
                &spec,
                created,
                Some((&host_id, &device)),
                tags,
            )?;
            self.inventory.instances[host].volume_ids.push(id.clone());
            self.utilization.push(UtilizationSummary {
                resource_id: id.clone(),
                lookback_days: LOOKBACK_DAYS,
                days_covered: LOOKBACK_DAYS,
                data_points: LOOKBACK_DAYS * 24,
                io_ops_peak_per_second: Some(v.peak_iops),
                io_ops_total: Some(v.total_ops),
                ..UtilizationSummary::default()
            });
            for (rule, fires, why) in v.outcomes {
                self.expected.push(Expectation {
                    rule_id: rule,
                    resource_id: id.clone(),
                    resource_type: "Volume",
                    fires: *fires,
                    why: format!("{} ({}): {why}", v.name, v.volume_type),
                });
            }
        }
        Ok(())
    }
}

impl Gen<'_> {
    /// The AMIs of `AMIS` in us-east-1 (prod), each with its snapshots (of instances since
    /// terminated, so their volumes are gone) billed by id; one launched by the first running
    /// instance there, one named by a launch template.
    fn images(&mut self) -> Result<()> {
        let region = "us-east-1";
        let gb_month =
            self.catalog.snapshot_gb_month(region).map_err(|e| SampleError::NoPrice {
                what: format!("EBS snapshot storage in {region}"),
                reason: e.to_string(),
            })?;
        let host = self.inventory.instances.iter().position(|i| {
            i.state == InstanceState::Running
                && i.region == region
                && i.account_id == Account::Prod.id()
        });
        for ami in &AMIS {
            let created = collected_at() - Duration::days(ami.age_days);
            let tags = self.named_tags(TagStyle::Full, Account::Prod, "platform", ami.name);
            let mut snapshots = Vec::new();
            for (n, (snapshot_id, size)) in ami.snapshots.iter().enumerate() {
                let id = self.unique((*snapshot_id).to_string());
                let held = format!("{} holds it: deleted with the AMI (ami-unused)", ami.id);
                self.near("snapshot-old", &id, &held);
                self.near("snapshot-orphaned", &id, &held);
                snapshots.push(ImageSnapshot { snapshot_id: id.clone(), size_gib: *size });
                self.bill(
                    &id,
                    ami.name,
                    EC2,
                    "Snapshot",
                    Account::Prod,
                    region,
                    &tags,
                    Charge::Monthly(gb_month.times(i64::try_from(*size).unwrap_or(i64::MAX))),
                    created,
                    collected_at(),
                    false,
                );
                self.inventory.snapshots.push(EbsSnapshot {
                    id,
                    account_id: Account::Prod.id().to_string(),
                    region: region.to_string(),
                    volume_id: Some(format!("vol-0{}{n}", &ami.id[5..])),
                    size_gib: *size,
                    start_time: Some(created),
                    description: Some(format!("Created by CreateImage for {}", ami.id)),
                    tags: tags.clone(),
                });
            }
            match ami.used_by {
                AmiUse::Instance => {
                    if let Some(host) = host {
                        self.inventory.instances[host].image_id = Some(ami.id.to_string());
                    }
                }
                AmiUse::LaunchTemplate => self.inventory.launch_templates.push(LaunchTemplate {
                    id: "lt-0a7e3c91d2b4f6e21".into(),
                    name: Some("batch-workers".into()),
                    account_id: Account::Prod.id().to_string(),
                    region: region.to_string(),
                    image_ids: vec![ami.id.to_string()],
                    tags: tags.clone(),
                }),
                AmiUse::Nothing => {}
            }
            self.inventory.images.push(Image {
                id: ami.id.to_string(),
                name: Some(ami.name.to_string()),
                account_id: Account::Prod.id().to_string(),
                region: region.to_string(),
                state: "available".into(),
                creation_time: Some(created),
                last_launched_time: None,
                snapshots,
                tags,
            });
            self.expected.push(Expectation {
                rule_id: "ami-unused",
                resource_id: ami.id.to_string(),
                resource_type: "Image",
                fires: ami.fires,
                why: format!("{}: {}", ami.name, ami.why),
            });
        }
        Ok(())
    }
}
