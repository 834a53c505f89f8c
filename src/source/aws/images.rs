//! The account's own AMIs of one region (DescribeImages Owners=self) and the AMIs its launch
//! templates name (DescribeLaunchTemplates, then DescribeLaunchTemplateVersions per template,
//! every version), mapped into the snapshot model.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types as ec2;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use super::{ApiFailure, fail, non_empty};
use crate::model::Tags;
use crate::model::inventory::{Image, ImageSnapshot, Inventory, LaunchTemplate};

const SERVICE: &str = "EC2";

/// DescribeLaunchTemplateVersions calls in flight at once.
const VERSIONS_CONCURRENCY: usize = 4;

/// Reads the region's own AMIs and its launch templates. Any failed call fails both: an AMI
/// listed without the templates that use it would look unused.
pub async fn inventory(
    client: &Client,
    account_id: &str,
    region: &str,
) -> Result<Inventory, ApiFailure> {
    let images: Vec<ec2::Image> = client
        .describe_images()
        .owners("self")
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(fail(SERVICE, "DescribeImages"))?;
    let templates: Vec<ec2::LaunchTemplate> = client
        .describe_launch_templates()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(fail(SERVICE, "DescribeLaunchTemplates"))?;
    // Every version, not only $Default and $Latest: an Auto Scaling group or fleet pinned to
    // version 3 launches version 3's AMI, and deregistering it breaks the next scale-out.
    let versions: Vec<Result<Option<LaunchTemplate>, ApiFailure>> =
        futures_util::stream::iter(templates)
            .map(|t| async move {
                let Some(id) = non_empty(t.launch_template_id()) else { return Ok(None) };
                let versions: Vec<ec2::LaunchTemplateVersion> = client
                    .describe_launch_template_versions()
                    .launch_template_id(&id)
                    // An image given as `resolve:ssm:<parameter>` is answered as the AMI id.
                    .resolve_alias(true)
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await
                    .map_err(fail(SERVICE, "DescribeLaunchTemplateVersions"))?;
                Ok(Some(launch_template(&t, id, &versions, account_id, region)))
            })
            .buffered(VERSIONS_CONCURRENCY)
            .collect()
            .await;

    let mut out = Inventory::default();
    for t in versions {
        out.launch_templates.extend(t?);
    }
    // Owners=self already asks for the account's own; a public AMI someone else owns is never
    // this account's saving.
    out.images = images
        .iter()
        .filter(|i| i.owner_id().is_none_or(|o| o.is_empty() || o == account_id))
        .filter_map(|i| image(i, account_id, region))
        .collect();
    Ok(out)
}

fn tags(tags: &[ec2::Tag]) -> Tags {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
        .collect()
}

/// EC2 writes image times as ISO 8601 text (`2026-01-02T03:04:05.000Z`).
fn iso_time(text: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text?).ok().map(|t| t.with_timezone(&Utc))
}

fn image(i: &ec2::Image, account_id: &str, region: &str) -> Option<Image> {
    Some(Image {
        id: non_empty(i.image_id())?,
        name: non_empty(i.name()),
        account_id: non_empty(i.owner_id()).unwrap_or_else(|| account_id.to_string()),
        region: region.to_string(),
        state: i.state().map_or("", |s| s.as_str()).to_string(),
        creation_time: iso_time(i.creation_date()),
        last_launched_time: iso_time(i.last_launched_time()),
        snapshots: i
            .block_device_mappings()
            .iter()
            .filter_map(|m| {
                let ebs = m.ebs()?;
                Some(ImageSnapshot {
                    snapshot_id: non_empty(ebs.snapshot_id())?,
                    size_gib: ebs.volume_size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                })
            })
            .collect(),
        tags: tags(i.tags()),
    })
}

fn launch_template(
    t: &ec2::LaunchTemplate,
    id: String,
    versions: &[ec2::LaunchTemplateVersion],
    account_id: &str,
    region: &str,
) -> LaunchTemplate {
    let mut image_ids: Vec<String> =
        versions.iter().filter_map(|v| non_empty(v.launch_template_data()?.image_id())).collect();
    image_ids.sort();
    image_ids.dedup();
    LaunchTemplate {
        id,
        name: non_empty(t.launch_template_name()),
        account_id: account_id.to_string(),
        region: region.to_string(),
        image_ids,
        tags: tags(t.tags()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_keeps_its_snapshots_and_times() {
        let i = ec2::Image::builder()
            .image_id("ami-1")
            .name("web-2025-01")
            .state(ec2::ImageState::Available)
            .creation_date("2025-01-02T03:04:05.000Z")
            .block_device_mappings(
                ec2::BlockDeviceMapping::builder()
                    .device_name("/dev/xvda")
                    .ebs(
                        ec2::EbsBlockDevice::builder()
                            .snapshot_id("snap-1")
                            .volume_size(30)
                            .build(),
                    )
                    .build(),
            )
            // An instance-store mapping has no snapshot.
            .block_device_mappings(
                ec2::BlockDeviceMapping::builder()
                    .device_name("/dev/sdb")
                    .virtual_name("ephemeral0")
                    .build(),
            )
            .build();
        let image = image(&i, "111122223333", "eu-west-1");
        let image = image.as_ref();
        assert_eq!(image.map(|i| i.id.as_str()), Some("ami-1"));
        assert_eq!(image.map(|i| i.state.as_str()), Some("available"));
        assert_eq!(
            image.and_then(|i| i.creation_time).map(|t| t.to_rfc3339()).as_deref(),
            Some("2025-01-02T03:04:05+00:00")
        );
        assert_eq!(
            image.map(|i| i.snapshots.clone()),
            Some(vec![ImageSnapshot { snapshot_id: "snap-1".into(), size_gib: 30 }])
        );
        assert_eq!(iso_time(Some("yesterday")), None);
    }

    #[test]
    fn a_template_names_the_images_of_every_version_once() {
        let version = |n: i64, ami: &str| {
            ec2::LaunchTemplateVersion::builder()
                .version_number(n)
                .launch_template_data(
                    ec2::ResponseLaunchTemplateData::builder().image_id(ami).build(),
                )
                .build()
        };
        let t = ec2::LaunchTemplate::builder()
            .launch_template_id("lt-1")
            .launch_template_name("web")
            .build();
        let versions =
            [version(1, "ami-b"), version(2, "ami-a"), version(3, "ami-b"), version(4, "")];
        let lt = launch_template(&t, "lt-1".into(), &versions, "111122223333", "eu-west-1");
        assert_eq!(lt.image_ids, vec!["ami-a".to_string(), "ami-b".to_string()]);
        assert_eq!(lt.name.as_deref(), Some("web"));
    }
}
