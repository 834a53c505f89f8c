//! Elastic Load Balancing v2 inventory of one region: application, network and gateway load
//! balancers (DescribeLoadBalancers, paginated), their tags (DescribeTags, 20 ARNs a call),
//! their target groups (DescribeTargetGroups per load balancer) and how many targets are
//! healthy (DescribeTargetHealth per target group). Classic load balancers answer only to the
//! 2012 API, another SDK crate: `elb.rs` reads them.

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types as elb;
use futures_util::StreamExt;

use super::{ApiFailure, ServiceRead, fail, non_empty, split_failures, to_chrono};
use crate::model::Tags;
use crate::model::inventory::{Inventory, LoadBalancer, LoadBalancerType};

const SERVICE: &str = "ELBv2";

/// DescribeTags takes at most 20 ARNs.
const TAG_BATCH: usize = 20;

/// Load balancers whose target groups are read at once.
const TARGET_CONCURRENCY: usize = 4;

/// Reads the region's load balancers. A failed list fails ELBv2 for the region; failed tag or
/// target calls leave those load balancers untagged or with target health unknown (`None`),
/// each kind of failure one warning.
pub async fn inventory(
    client: &Client,
    account_id: &str,
    region: &str,
) -> Result<ServiceRead, ApiFailure> {
    let listed: Vec<elb::LoadBalancer> = client
        .describe_load_balancers()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(fail(SERVICE, "DescribeLoadBalancers"))?;
    let mut lbs: Vec<LoadBalancer> =
        listed.iter().filter_map(|l| load_balancer(l, account_id, region)).collect();
    let mut warnings = Vec::new();

    let arns: Vec<String> = lbs.iter().map(|l| l.id.clone()).collect();
    for batch in arns.chunks(TAG_BATCH) {
        match client.describe_tags().set_resource_arns(Some(batch.to_vec())).send().await {
            Ok(answer) => {
                for d in answer.tag_descriptions() {
                    let Some(lb) = lbs.iter_mut().find(|l| Some(l.id.as_str()) == d.resource_arn())
                    else {
                        continue;
                    };
                    lb.tags = tags(d.tags());
                }
            }
            Err(e) => {
                // The same refusal would repeat for every batch.
                warnings.push(ApiFailure::new(SERVICE, "DescribeTags", e));
                break;
            }
        }
    }

    let health: Vec<Result<Targets, ApiFailure>> = futures_util::stream::iter(arns)
        .map(|arn| async move { targets(client, arn).await })
        .buffered(TARGET_CONCURRENCY)
        .collect()
        .await;
    let (health, failure) = split_failures(health);
    for (lb, t) in lbs.iter_mut().zip(health).filter_map(|(lb, t)| Some((lb, t?))) {
        lb.target_groups = t.groups;
        lb.targets = Some(t.registered);
        lb.healthy_targets = Some(t.healthy);
    }
    warnings.extend(failure);
    Ok(ServiceRead { inventory: Inventory { load_balancers: lbs, ..Default::default() }, warnings })
}

/// One load balancer's target groups and its targets, counted over them.
struct Targets {
    groups: Vec<String>,
    registered: u32,
    healthy: u32,
}

async fn targets(client: &Client, lb_arn: String) -> Result<Targets, ApiFailure> {
    let groups: Vec<elb::TargetGroup> = client
        .describe_target_groups()
        .load_balancer_arn(&lb_arn)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(fail(SERVICE, "DescribeTargetGroups"))?;
    let mut out = Targets { groups: Vec::new(), registered: 0, healthy: 0 };
    for group in groups {
        let Some(arn) = non_empty(group.target_group_arn()) else { continue };
        let answer = client
            .describe_target_health()
            .target_group_arn(&arn)
            .send()
            .await
            .map_err(fail(SERVICE, "DescribeTargetHealth"))?;
        let (registered, healthy) = count_health(answer.target_health_descriptions());
        out.registered = out.registered.saturating_add(registered);
        out.healthy = out.healthy.saturating_add(healthy);
        out.groups.push(arn);
    }
    Ok(out)
}

/// (registered, healthy) targets of one target group.
pub(crate) fn count_health(descriptions: &[elb::TargetHealthDescription]) -> (u32, u32) {
    let registered = u32::try_from(descriptions.len()).unwrap_or(u32::MAX);
    let healthy = descriptions
        .iter()
        .filter(|d| {
            d.target_health().and_then(|h| h.state()) == Some(&elb::TargetHealthStateEnum::Healthy)
        })
        .count();
    (registered, u32::try_from(healthy).unwrap_or(u32::MAX))
}

fn tags(tags: &[elb::Tag]) -> Tags {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
        .collect()
}

pub(crate) fn load_balancer(
    l: &elb::LoadBalancer,
    account_id: &str,
    region: &str,
) -> Option<LoadBalancer> {
    let id = non_empty(l.load_balancer_arn())?;
    let lb_type = match l.r#type()? {
        elb::LoadBalancerTypeEnum::Application => LoadBalancerType::Application,
        elb::LoadBalancerTypeEnum::Network => LoadBalancerType::Network,
        elb::LoadBalancerTypeEnum::Gateway => LoadBalancerType::Gateway,
        other => {
            tracing::debug!(arn = %id, kind = %other.as_str(), "load balancer of an unknown type skipped");
            return None;
        }
    };
    Some(LoadBalancer {
        name: l.load_balancer_name().unwrap_or_default().to_string(),
        account_id: account_id.to_string(),
        region: region.to_string(),
        lb_type,
        scheme: l.scheme().map(|s| s.as_str().to_string()).unwrap_or_default(),
        state: l.state().and_then(|s| s.code()).map(|c| c.as_str().to_string()).unwrap_or_default(),
        create_time: l.created_time().and_then(to_chrono),
        target_groups: Vec::new(),
        targets: None,
        healthy_targets: None,
        tags: Tags::new(),
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_balancers_keep_type_scheme_state_and_time() {
        let l = elb::LoadBalancer::builder()
            .load_balancer_arn(
                "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/edge/0123456789abcdef",
            )
            .load_balancer_name("edge")
            .r#type(elb::LoadBalancerTypeEnum::Network)
            .scheme(elb::LoadBalancerSchemeEnum::Internal)
            .state(
                elb::LoadBalancerState::builder().code(elb::LoadBalancerStateEnum::Active).build(),
            )
            .created_time(aws_smithy_types::DateTime::from_secs(1_700_000_000))
            .build();
        let lb = load_balancer(&l, "1", "us-east-1").unwrap();
        assert_eq!(lb.lb_type, LoadBalancerType::Network);
        assert_eq!((lb.scheme.as_str(), lb.state.as_str()), ("internal", "active"));
        assert_eq!(lb.create_time.map(|t| t.timestamp()), Some(1_700_000_000));
        assert_eq!(lb.metric_dimension(), Some("net/edge/0123456789abcdef"));
        assert_eq!((lb.targets, lb.healthy_targets), (None, None));
        assert!(load_balancer(&elb::LoadBalancer::builder().build(), "1", "us-east-1").is_none());
    }

    #[test]
    fn only_healthy_targets_count_as_healthy() {
        let target = |state| {
            elb::TargetHealthDescription::builder()
                .target_health(elb::TargetHealth::builder().state(state).build())
                .build()
        };
        let answer = [
            target(elb::TargetHealthStateEnum::Healthy),
            target(elb::TargetHealthStateEnum::Unhealthy),
            target(elb::TargetHealthStateEnum::Draining),
            target(elb::TargetHealthStateEnum::Healthy),
        ];
        assert_eq!(count_health(&answer), (4, 2));
        assert_eq!(count_health(&[]), (0, 0));
    }
}
