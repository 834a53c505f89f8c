//! EC2 inventory of one region: instances, volumes, Elastic IPs, own snapshots and NAT
//! gateways, every list paginated, mapped into the snapshot model.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types as ec2;
use chrono::{DateTime, NaiveDateTime, Utc};

use super::{ApiFailure, non_empty, to_chrono};
use crate::model::Tags;
use crate::model::inventory::{
    EbsSnapshot, ElasticIp, Instance, InstanceState, Inventory, NatGateway, Volume,
    VolumeAttachment, VolumeState,
};

/// Reads every inventory list of the client's region. Any call that fails fails the region's
/// inventory: half a list would make "unattached" and "orphaned" findings lie.
pub async fn inventory(
    client: &Client,
    account_id: &str,
    region: &str,
) -> Result<Inventory, ApiFailure> {
    let reservations = client
        .describe_instances()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(fail("DescribeInstances"))?;
    let volumes = client
        .describe_volumes()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(fail("DescribeVolumes"))?;
    let addresses = client
        .describe_addresses()
        .send()
        .await
        .map_err(fail("DescribeAddresses"))?
        .addresses
        .unwrap_or_default();
    let snapshots = client
        .describe_snapshots()
        .owner_ids("self")
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(fail("DescribeSnapshots"))?;
    let nat_gateways = client
        .describe_nat_gateways()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(fail("DescribeNatGateways"))?;

    let mut out = Inventory::default();
    for reservation in &reservations {
        let owner = reservation.owner_id().filter(|o| !o.is_empty()).unwrap_or(account_id);
        out.instances
            .extend(reservation.instances().iter().filter_map(|i| instance(i, owner, region)));
    }
    out.volumes = volumes.iter().filter_map(|v| volume(v, account_id, region)).collect();
    out.addresses = addresses.iter().filter_map(|a| address(a, account_id, region)).collect();
    // OwnerIds=self already asks for the account's own; emulators ignore it, and a public
    // snapshot someone else pays for is never this account's saving.
    out.snapshots = snapshots
        .iter()
        .filter(|s| s.owner_id().is_none_or(|o| o.is_empty() || o == account_id))
        .filter_map(|s| snapshot(s, account_id, region))
        .collect();
    out.nat_gateways =
        nat_gateways.iter().filter_map(|n| nat_gateway(n, account_id, region)).collect();
    Ok(out)
}

fn fail<E, R>(call: &'static str) -> impl Fn(SdkError<E, R>) -> ApiFailure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    super::fail("EC2", call)
}

fn tags(tags: &[ec2::Tag]) -> Tags {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
        .collect()
}

fn instance(i: &ec2::Instance, account_id: &str, region: &str) -> Option<Instance> {
    let id = non_empty(i.instance_id())?;
    let state = match i.state().and_then(|s| s.name())? {
        ec2::InstanceStateName::Pending => InstanceState::Pending,
        ec2::InstanceStateName::Running => InstanceState::Running,
        ec2::InstanceStateName::ShuttingDown => InstanceState::ShuttingDown,
        ec2::InstanceStateName::Terminated => InstanceState::Terminated,
        ec2::InstanceStateName::Stopping => InstanceState::Stopping,
        ec2::InstanceStateName::Stopped => InstanceState::Stopped,
        other => {
            tracing::warn!(instance = %id, state = other.as_str(), "unknown instance state; skipped");
            return None;
        }
    };
    let reason = non_empty(i.state_transition_reason());
    Some(Instance {
        id,
        account_id: account_id.to_string(),
        region: region.to_string(),
        instance_type: i.instance_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
        state,
        launch_time: i.launch_time().and_then(to_chrono),
        state_transition_time: reason.as_deref().and_then(parse_transition_time),
        state_transition_reason: reason,
        platform: Some(i.platform().map_or("linux", |p| p.as_str()).to_ascii_lowercase()),
        tags: tags(i.tags()),
        volume_ids: i
            .block_device_mappings()
            .iter()
            .filter_map(|m| non_empty(m.ebs()?.volume_id()))
            .collect(),
        image_id: non_empty(i.image_id()),
    })
}

/// `User initiated (2026-11-01 10:00:00 GMT)` (moto writes `UTC`) → the time in parentheses.
pub fn parse_transition_time(reason: &str) -> Option<DateTime<Utc>> {
    let open = reason.rfind('(')?;
    let close = open + reason[open..].find(')')?;
    let inside = reason[open + 1..close].trim();
    let stamp = inside.strip_suffix("GMT").or_else(|| inside.strip_suffix("UTC"))?.trim();
    let naive = NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S").ok()?;
    Some(naive.and_utc())
}

fn volume(v: &ec2::Volume, account_id: &str, region: &str) -> Option<Volume> {
    let id = non_empty(v.volume_id())?;
    let state = match v.state()? {
        ec2::VolumeState::Creating => VolumeState::Creating,
        ec2::VolumeState::Available => VolumeState::Available,
        ec2::VolumeState::InUse => VolumeState::InUse,
        ec2::VolumeState::Deleting => VolumeState::Deleting,
        ec2::VolumeState::Deleted => VolumeState::Deleted,
        ec2::VolumeState::Error => VolumeState::Error,
        other => {
            tracing::warn!(volume = %id, state = other.as_str(), "unknown volume state; skipped");
            return None;
        }
    };
    Some(Volume {
        id,
        account_id: account_id.to_string(),
        region: region.to_string(),
        volume_type: v.volume_type().map_or("standard", |t| t.as_str()).to_string(),
        size_gib: v.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
        iops: v.iops().and_then(|s| u64::try_from(s).ok()),
        throughput: v.throughput().and_then(|s| u64::try_from(s).ok()),
        state,
        attachments: v
            .attachments()
            .iter()
            .filter_map(|a| {
                Some(VolumeAttachment {
                    instance_id: non_empty(a.instance_id())?,
                    device: non_empty(a.device()),
                })
            })
            .collect(),
        create_time: v.create_time().and_then(to_chrono),
        tags: tags(v.tags()),
    })
}

fn address(a: &ec2::Address, account_id: &str, region: &str) -> Option<ElasticIp> {
    Some(ElasticIp {
        allocation_id: non_empty(a.allocation_id()).or_else(|| non_empty(a.public_ip()))?,
        public_ip: a.public_ip().unwrap_or_default().to_string(),
        account_id: account_id.to_string(),
        region: region.to_string(),
        // moto writes an empty InstanceId for a free address; real EC2 leaves it out.
        association_id: non_empty(a.association_id()),
        instance_id: non_empty(a.instance_id()),
        tags: tags(a.tags()),
    })
}

fn snapshot(s: &ec2::Snapshot, account_id: &str, region: &str) -> Option<EbsSnapshot> {
    Some(EbsSnapshot {
        id: non_empty(s.snapshot_id())?,
        account_id: non_empty(s.owner_id()).unwrap_or_else(|| account_id.to_string()),
        region: region.to_string(),
        volume_id: non_empty(s.volume_id()),
        size_gib: s.volume_size().and_then(|v| u64::try_from(v).ok()).unwrap_or(0),
        start_time: s.start_time().and_then(to_chrono),
        description: non_empty(s.description()),
        tags: tags(s.tags()),
    })
}

fn nat_gateway(n: &ec2::NatGateway, account_id: &str, region: &str) -> Option<NatGateway> {
    Some(NatGateway {
        id: non_empty(n.nat_gateway_id())?,
        account_id: account_id.to_string(),
        region: region.to_string(),
        state: n.state().map_or("", |s| s.as_str()).to_string(),
        create_time: n.create_time().and_then(to_chrono),
        vpc_id: non_empty(n.vpc_id()),
        subnet_id: non_empty(n.subnet_id()),
        tags: tags(n.tags()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_times_are_read_from_the_reason() {
        let t = parse_transition_time("User initiated (2026-10-01 08:30:00 GMT)");
        assert_eq!(t.map(|t| t.to_rfc3339()).as_deref(), Some("2026-10-01T08:30:00+00:00"));
        let moto = parse_transition_time("User initiated (2026-10-01 08:30:00 UTC)");
        assert_eq!(moto, t);
        assert_eq!(parse_transition_time(""), None);
        assert_eq!(parse_transition_time("Server.SpotInstanceTermination"), None);
        assert_eq!(parse_transition_time("User initiated (yesterday)"), None);
        assert_eq!(parse_transition_time("x (2026-10-01 08:30:00 PST)"), None);
    }
}
