//! CloudWatch Logs inventory of one region: log groups (DescribeLogGroups, paginated) with
//! retention, stored bytes and creation time, their tags (ListTagsForResource per group), and
//! the last ingestion of the largest groups (DescribeLogStreams of the newest stream).
//!
//! The last-ingestion look-up is one call per group, so it is bounded: an account with 10,000
//! groups would otherwise make 10,000 calls per region against a quota of a few per second.
//! Only groups storing something are looked up (an empty group saves nothing when deleted),
//! the largest first, at most [`MAX_INGESTION_LOOKUPS`] per region; the others keep
//! `ingestion_checked = false` and `logs-stale` does not judge them. Tags are not bounded (one
//! ListTagsForResource per group, four at a time): without them `untagged` would misjudge every
//! group, so a very large account pays those calls.

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types as cwl;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use super::{ApiFailure, ServiceRead, fail, non_empty, partition, tags_of};
use crate::model::Tags;
use crate::model::inventory::{Inventory, LogGroup};

const SERVICE: &str = "CloudWatch Logs";

/// The last ingestion of one group, or why it could not be read.
type Lookup = Result<Option<DateTime<Utc>>, ApiFailure>;

/// Groups whose newest stream is looked up, per region.
pub const MAX_INGESTION_LOOKUPS: usize = 1_000;

/// DescribeLogStreams calls in flight at once.
const LOOKUP_CONCURRENCY: usize = 4;

pub async fn inventory(
    client: &Client,
    account_id: &str,
    region: &str,
) -> Result<ServiceRead, ApiFailure> {
    let listed: Vec<cwl::LogGroup> = client
        .describe_log_groups()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(fail(SERVICE, "DescribeLogGroups"))?;
    let mut groups: Vec<LogGroup> =
        listed.iter().filter_map(|g| log_group(g, account_id, region)).collect();
    let mut warnings = Vec::new();

    let ids = groups.iter().map(|g| g.id.clone()).collect();
    let (tags, failure) = tags_of(ids, |arn| async move { group_tags(client, arn).await }).await;
    for (group, tags) in groups.iter_mut().zip(tags) {
        group.tags = tags.unwrap_or_default();
    }
    warnings.extend(failure);

    let chosen = lookup_order(&groups);
    let names: Vec<(usize, String)> =
        chosen.iter().filter_map(|i| Some((*i, groups.get(*i)?.name.clone()))).collect();
    let answers: Vec<(usize, Lookup)> = futures_util::stream::iter(names)
        .map(|(i, name)| async move { (i, last_ingestion(client, &name).await) })
        .buffered(LOOKUP_CONCURRENCY)
        .collect()
        .await;
    let mut first: Option<ApiFailure> = None;
    let mut failed = 0usize;
    for (i, answer) in answers {
        let Some(group) = groups.get_mut(i) else { continue };
        match answer {
            Ok(last) => {
                group.ingestion_checked = true;
                group.last_ingestion = last;
            }
            Err(e) => {
                failed += 1;
                first.get_or_insert(e);
            }
        }
    }
    if let Some(mut f) = first {
        if failed > 1 {
            f.message = format!("{} (and {} more)", f.message, failed - 1);
        }
        warnings.push(f);
    }
    let storing = groups.iter().filter(|g| g.stored_bytes > 0).count();
    if storing > chosen.len() {
        tracing::info!(
            region = %region,
            storing,
            looked_up = chosen.len(),
            "last ingestion read for the largest log groups only; logs-stale skips the others"
        );
    }
    Ok(ServiceRead { inventory: Inventory { log_groups: groups, ..Default::default() }, warnings })
}

/// Indexes of the groups to look up: those storing bytes, largest first (then by name, so
/// the choice is stable), at most [`MAX_INGESTION_LOOKUPS`].
pub(crate) fn lookup_order(groups: &[LogGroup]) -> Vec<usize> {
    let mut order: Vec<(usize, &LogGroup)> =
        groups.iter().enumerate().filter(|(_, g)| g.stored_bytes > 0).collect();
    order.sort_by(|(_, a), (_, b)| {
        b.stored_bytes.cmp(&a.stored_bytes).then_with(|| a.name.cmp(&b.name))
    });
    order.into_iter().take(MAX_INGESTION_LOOKUPS).map(|(i, _)| i).collect()
}

/// lastIngestionTime of the stream with the latest event (its creation time when it never
/// received one); `None` when the group has no stream.
async fn last_ingestion(client: &Client, name: &str) -> Result<Option<DateTime<Utc>>, ApiFailure> {
    let answer = client
        .describe_log_streams()
        .log_group_name(name)
        .order_by(cwl::OrderBy::LastEventTime)
        .descending(true)
        .limit(1)
        .send()
        .await
        .map_err(fail(SERVICE, "DescribeLogStreams"))?;
    Ok(answer
        .log_streams()
        .iter()
        .filter_map(|s| s.last_ingestion_time().or(s.creation_time()))
        .filter_map(DateTime::from_timestamp_millis)
        .max())
}

async fn group_tags(client: &Client, arn: String) -> Result<Tags, ApiFailure> {
    let answer = client
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .map_err(fail(SERVICE, "ListTagsForResource"))?;
    Ok(answer
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default())
}

/// The ARN billing uses: logGroupArn, else `arn` without its trailing `:*`, else built.
pub(crate) fn log_group(g: &cwl::LogGroup, account_id: &str, region: &str) -> Option<LogGroup> {
    let name = non_empty(g.log_group_name())?;
    let id = non_empty(g.log_group_arn())
        .or_else(|| non_empty(g.arn()).map(|a| a.trim_end_matches(":*").to_string()))
        .unwrap_or_else(|| {
            format!("arn:{}:logs:{region}:{account_id}:log-group:{name}", partition(region))
        });
    Some(LogGroup {
        id,
        account_id: account_id.to_string(),
        region: region.to_string(),
        retention_days: g.retention_in_days().and_then(|d| u32::try_from(d).ok()),
        stored_bytes: super::count(g.stored_bytes()),
        create_time: g.creation_time().and_then(DateTime::from_timestamp_millis),
        ingestion_checked: false,
        last_ingestion: None,
        tags: Tags::new(),
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_keep_retention_size_and_the_arn_billing_uses() {
        let g = cwl::LogGroup::builder()
            .log_group_name("/aws/lambda/resize")
            .arn("arn:aws:logs:eu-west-1:1:log-group:/aws/lambda/resize:*")
            .stored_bytes(5_000_000_000)
            .creation_time(1_700_000_000_000)
            .build();
        let l = log_group(&g, "1", "eu-west-1").unwrap();
        assert_eq!(l.id, "arn:aws:logs:eu-west-1:1:log-group:/aws/lambda/resize");
        assert_eq!((l.retention_days, l.stored_bytes), (None, 5_000_000_000));
        assert_eq!(l.create_time.map(|t| t.timestamp()), Some(1_700_000_000));
        let kept = cwl::LogGroup::builder().log_group_name("app").retention_in_days(30).build();
        let l = log_group(&kept, "1", "cn-north-1").unwrap();
        assert_eq!(l.retention_days, Some(30));
        assert_eq!(l.id, "arn:aws-cn:logs:cn-north-1:1:log-group:app");
        assert!(log_group(&cwl::LogGroup::builder().build(), "1", "eu-west-1").is_none());
    }

    #[test]
    fn the_largest_groups_are_looked_up_first_and_empty_ones_never() {
        let group = |name: &str, bytes: u64| {
            let g =
                cwl::LogGroup::builder().log_group_name(name).stored_bytes(bytes as i64).build();
            log_group(&g, "1", "us-east-1").unwrap()
        };
        let groups = vec![group("small", 10), group("empty", 0), group("big", 900), group("b", 10)];
        assert_eq!(lookup_order(&groups), vec![2, 3, 0]);
        let many: Vec<LogGroup> = (0..MAX_INGESTION_LOOKUPS + 5)
            .map(|i| group(&format!("g{i:05}"), 1 + i as u64))
            .collect();
        let order = lookup_order(&many);
        assert_eq!(order.len(), MAX_INGESTION_LOOKUPS);
        assert_eq!(order.first(), Some(&(MAX_INGESTION_LOOKUPS + 4)));
    }
}
