//! S3 inventory of one account: ListBuckets once (buckets are global to the account), each
//! bucket's region (ListBuckets' BucketRegion, else GetBucketLocation), then, from a client in
//! the bucket's own region, its lifecycle configuration, Intelligent-Tiering configurations and
//! tags.
//!
//! "None" is an answer here: NoSuchLifecycleConfiguration is a bucket without lifecycle rules
//! and NoSuchTagSet a bucket without tags, not failures.
//!
//! Against an emulator (an endpoint URL configured) requests use path-style addressing
//! (`http://host/bucket`): the default virtual-host style would ask `bucket.127.0.0.1`, a name
//! that cannot resolve.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_s3::Client;
use aws_sdk_s3::types as s3;
use futures_util::StreamExt;

use super::{ApiFailure, ServiceRead, client, fail, non_empty, to_chrono};
use crate::model::Tags;
use crate::model::inventory::{Inventory, S3Bucket};

const SERVICE: &str = "S3";

/// Buckets whose details are read at once.
const BUCKET_CONCURRENCY: usize = 4;

/// The S3 client of `config`, path-style when an endpoint is configured (the SDK's
/// `AWS_ENDPOINT_URL`, or the S3-only `AWS_ENDPOINT_URL_S3`).
pub fn client(config: &SdkConfig) -> Client {
    let emulated =
        config.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let conf = aws_sdk_s3::config::Builder::from(config).force_path_style(emulated).build();
    Client::from_conf(conf)
}

/// The account's buckets in `regions` (every region when `None`). A failed ListBuckets fails S3;
/// a bucket whose region cannot be read is left out, and a bucket whose lifecycle or tiering
/// cannot be read keeps those unknown; each kind of failure is one warning.
pub async fn inventory(
    config: &SdkConfig,
    account_id: &str,
    regions: Option<&[String]>,
) -> Result<ServiceRead, ApiFailure> {
    let home = client(config);
    let listed: Vec<s3::Bucket> = home
        .list_buckets()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(fail(SERVICE, "ListBuckets"))?;
    let mut warnings = Warnings::default();

    let located: Vec<(s3::Bucket, Result<String, ApiFailure>)> = futures_util::stream::iter(listed)
        .map(|b| {
            let home = &home;
            async move {
                let region = match non_empty(b.bucket_region()) {
                    Some(r) => Ok(r),
                    None => bucket_location(home, b.name().unwrap_or_default()).await,
                };
                (b, region)
            }
        })
        .buffered(BUCKET_CONCURRENCY)
        .collect()
        .await;
    let mut buckets = Vec::new();
    for (b, region) in located {
        let Some(name) = non_empty(b.name()) else { continue };
        let region = match region {
            Ok(r) => r,
            Err(e) => {
                warnings.add(e);
                continue;
            }
        };
        if regions.is_some_and(|rs| !rs.contains(&region)) {
            continue;
        }
        buckets.push(S3Bucket {
            id: format!("arn:{}:s3:::{name}", super::partition(&region)),
            name,
            account_id: account_id.to_string(),
            region,
            create_time: b.creation_date().and_then(to_chrono),
            lifecycle_rules: None,
            lifecycle_rules_enabled: None,
            intelligent_tiering_configs: None,
            tags: Tags::new(),
        });
    }

    let mut clients: BTreeMap<String, Client> = BTreeMap::new();
    for b in &buckets {
        clients
            .entry(b.region.clone())
            .or_insert_with(|| client(&client::in_region(config, &b.region)));
    }
    let details: Vec<Details> = futures_util::stream::iter(buckets.iter())
        .map(|b| {
            let client = clients.get(&b.region);
            async move {
                match client {
                    Some(c) => details(c, &b.name).await,
                    None => Details::default(),
                }
            }
        })
        .buffered(BUCKET_CONCURRENCY)
        .collect()
        .await;
    for (b, d) in buckets.iter_mut().zip(details) {
        match d.lifecycle {
            Some(Ok((rules, enabled))) => {
                b.lifecycle_rules = Some(rules);
                b.lifecycle_rules_enabled = Some(enabled);
            }
            Some(Err(e)) => warnings.add(e),
            None => {}
        }
        match d.tiering {
            Some(Ok(n)) => b.intelligent_tiering_configs = Some(n),
            Some(Err(e)) => warnings.add(e),
            None => {}
        }
        match d.tags {
            Some(Ok(tags)) => b.tags = tags,
            Some(Err(e)) => warnings.add(e),
            None => {}
        }
    }
    Ok(ServiceRead {
        inventory: Inventory { s3_buckets: buckets, ..Default::default() },
        warnings: warnings.into_list(),
    })
}

/// The first failure of each call, counting the others: the same refusal repeats per bucket.
#[derive(Default)]
struct Warnings {
    by_call: BTreeMap<&'static str, (ApiFailure, usize)>,
}

impl Warnings {
    fn add(&mut self, e: ApiFailure) {
        self.by_call.entry(e.call).or_insert((e, 0)).1 += 1;
    }

    fn into_list(self) -> Vec<ApiFailure> {
        self.by_call
            .into_values()
            .map(|(mut first, n)| {
                if n > 1 {
                    first.message = format!("{} (and {} more)", first.message, n - 1);
                }
                first
            })
            .collect()
    }
}

/// The region of a bucket from its LocationConstraint: none (or empty) is us-east-1, and the
/// legacy `EU` is eu-west-1.
pub(crate) fn region_of(constraint: Option<&s3::BucketLocationConstraint>) -> String {
    match constraint.map(|c| c.as_str()) {
        None | Some("") => "us-east-1".to_string(),
        Some("EU") => "eu-west-1".to_string(),
        Some(r) => r.to_string(),
    }
}

async fn bucket_location(client: &Client, name: &str) -> Result<String, ApiFailure> {
    let answer = client
        .get_bucket_location()
        .bucket(name)
        .send()
        .await
        .map_err(fail(SERVICE, "GetBucketLocation"))?;
    Ok(region_of(answer.location_constraint()))
}

/// What the per-bucket calls answered (`None`: not asked).
#[derive(Default)]
struct Details {
    /// (rules, enabled rules)
    lifecycle: Option<Result<(u32, u32), ApiFailure>>,
    tiering: Option<Result<u32, ApiFailure>>,
    tags: Option<Result<Tags, ApiFailure>>,
}

fn small(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

async fn details(client: &Client, bucket: &str) -> Details {
    let lifecycle = match client.get_bucket_lifecycle_configuration().bucket(bucket).send().await {
        Ok(answer) => {
            let enabled = answer
                .rules()
                .iter()
                .filter(|r| r.status() == &s3::ExpirationStatus::Enabled)
                .count();
            Ok((small(answer.rules().len()), small(enabled)))
        }
        Err(e) if e.code() == Some("NoSuchLifecycleConfiguration") => Ok((0, 0)),
        Err(e) => Err(ApiFailure::new(SERVICE, "GetBucketLifecycleConfiguration", e)),
    };
    let tags = match client.get_bucket_tagging().bucket(bucket).send().await {
        Ok(answer) => Ok(answer
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect::<Tags>()),
        Err(e) if e.code() == Some("NoSuchTagSet") => Ok(Tags::new()),
        Err(e) => Err(ApiFailure::new(SERVICE, "GetBucketTagging", e)),
    };
    Details {
        lifecycle: Some(lifecycle),
        tiering: Some(tiering_configs(client, bucket).await),
        tags: Some(tags),
    }
}

/// ListBucketIntelligentTieringConfigurations pages by ContinuationToken and has no paginator.
async fn tiering_configs(client: &Client, bucket: &str) -> Result<u32, ApiFailure> {
    let mut total = 0usize;
    let mut token: Option<String> = None;
    loop {
        let answer = client
            .list_bucket_intelligent_tiering_configurations()
            .bucket(bucket)
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(fail(SERVICE, "ListBucketIntelligentTieringConfigurations"))?;
        total += answer.intelligent_tiering_configuration_list().len();
        match non_empty(answer.next_continuation_token()) {
            Some(next) if answer.is_truncated() == Some(true) => token = Some(next),
            _ => return Ok(small(total)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_location_is_us_east_1_and_eu_is_ireland() {
        assert_eq!(region_of(None), "us-east-1");
        assert_eq!(region_of(Some(&s3::BucketLocationConstraint::from(""))), "us-east-1");
        assert_eq!(region_of(Some(&s3::BucketLocationConstraint::Eu)), "eu-west-1");
        assert_eq!(region_of(Some(&s3::BucketLocationConstraint::EuCentral1)), "eu-central-1");
    }

    #[test]
    fn repeated_failures_of_one_call_are_one_warning() {
        let mut w = Warnings::default();
        for bucket in ["a", "b", "c"] {
            w.add(ApiFailure::message(SERVICE, "GetBucketTagging", format!("denied {bucket}")));
        }
        w.add(ApiFailure::message(SERVICE, "GetBucketLocation", "denied".into()));
        let list: Vec<String> = w.into_list().iter().map(ToString::to_string).collect();
        assert_eq!(
            list,
            [
                "S3 GetBucketLocation failed: denied",
                "S3 GetBucketTagging failed: denied a (and 2 more)"
            ]
        );
    }
}
