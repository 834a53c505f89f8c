//! The sample's EC2 and EBS additions of issue 14: provisioned-IOPS and quiet volumes attached to
//! running instances, billed by id at the catalog's price and measured hourly,
//! so that ebs-io-to-gp3, ebs-io1-to-io2 and ebs-low-use fire and have near misses; and the
//! near misses of ec2-graviton (whose firing is judged over every instance in `evaluate`).

use chrono::Duration;

use super::{Account, Expectation, Gen, LOOKBACK_DAYS, Result, TagStyle, VolumeSpec, collected_at};
use crate::model::inventory::InstanceState;
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

impl Gen<'_> {
    /// The EC2 and EBS additions, after every instance exists.
    pub(super) fn compute(&mut self) -> Result<()> {
        self.graviton_near_misses();
        self.io_volumes()
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
