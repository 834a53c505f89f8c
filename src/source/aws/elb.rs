//! Classic Elastic Load Balancing inventory of one region (the 2012 API, its own SDK crate):
//! load balancers (DescribeLoadBalancers, paginated), their tags (DescribeTags, 20 names a call)
//! and how many of their registered instances are in service (DescribeInstanceHealth per load
//! balancer). They join the v2 load balancers in the model as type `classic`, so elb-idle judges
//! them alike.

use aws_sdk_elasticloadbalancing::Client;
use aws_sdk_elasticloadbalancing::types as elb;
use futures_util::StreamExt;

use super::{ApiFailure, ServiceRead, fail, non_empty, split_failures, to_chrono};
use crate::model::Tags;
use crate::model::inventory::{Inventory, LoadBalancer, LoadBalancerType};

const SERVICE: &str = "ELB";

/// DescribeTags takes at most 20 load balancer names.
const TAG_BATCH: usize = 20;

/// Load balancers whose instance health is read at once.
const HEALTH_CONCURRENCY: usize = 4;

/// Reads the region's classic load balancers. A failed list fails ELB for the region; failed
/// tag or health calls leave those load balancers untagged or with health unknown (`None`),
/// each kind of failure one warning.
pub async fn inventory(
    client: &Client,
    account_id: &str,
    region: &str,
) -> Result<ServiceRead, ApiFailure> {
    let listed: Vec<elb::LoadBalancerDescription> = client
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

    let names: Vec<String> = lbs.iter().map(|l| l.name.clone()).collect();
    for batch in names.chunks(TAG_BATCH) {
        match client.describe_tags().set_load_balancer_names(Some(batch.to_vec())).send().await {
            Ok(answer) => {
                for d in answer.tag_descriptions() {
                    let Some(lb) =
                        lbs.iter_mut().find(|l| Some(l.name.as_str()) == d.load_balancer_name())
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

    let health: Vec<Result<(u32, u32), ApiFailure>> = futures_util::stream::iter(names)
        .map(|name| async move {
            client
                .describe_instance_health()
                .load_balancer_name(name)
                .send()
                .await
                .map(|answer| count_in_service(answer.instance_states()))
                .map_err(fail(SERVICE, "DescribeInstanceHealth"))
        })
        .buffered(HEALTH_CONCURRENCY)
        .collect()
        .await;
    let (health, failure) = split_failures(health);
    for (lb, (registered, in_service)) in
        lbs.iter_mut().zip(health).filter_map(|(lb, h)| Some((lb, h?)))
    {
        lb.targets = Some(registered);
        lb.healthy_targets = Some(in_service);
    }
    warnings.extend(failure);
    Ok(ServiceRead { inventory: Inventory { load_balancers: lbs, ..Default::default() }, warnings })
}

/// (registered, in service) instances of one load balancer. `OutOfService` and `Unknown` (the
/// state of an instance whose health is still being checked) serve no traffic.
pub(crate) fn count_in_service(states: &[elb::InstanceState]) -> (u32, u32) {
    let registered = u32::try_from(states.len()).unwrap_or(u32::MAX);
    let in_service = states.iter().filter(|s| s.state() == Some("InService")).count();
    (registered, u32::try_from(in_service).unwrap_or(u32::MAX))
}

fn tags(tags: &[elb::Tag]) -> Tags {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().unwrap_or_default().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// The ARN billing names a classic load balancer by: the API returns only its name.
pub(crate) fn classic_arn(region: &str, account_id: &str, name: &str) -> String {
    format!("arn:aws:elasticloadbalancing:{region}:{account_id}:loadbalancer/{name}")
}

pub(crate) fn load_balancer(
    l: &elb::LoadBalancerDescription,
    account_id: &str,
    region: &str,
) -> Option<LoadBalancer> {
    let name = non_empty(l.load_balancer_name())?;
    Some(LoadBalancer {
        id: classic_arn(region, account_id, &name),
        account_id: account_id.to_string(),
        region: region.to_string(),
        lb_type: LoadBalancerType::Classic,
        scheme: l.scheme().unwrap_or_default().to_string(),
        // The 2012 API has no state: a listed load balancer exists and bills.
        state: "active".to_string(),
        create_time: l.created_time().and_then(to_chrono),
        target_groups: Vec::new(),
        targets: None,
        healthy_targets: None,
        tags: Tags::new(),
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_load_balancers_are_named_by_the_arn_billing_uses() {
        let l = elb::LoadBalancerDescription::builder()
            .load_balancer_name("legacy-web")
            .scheme("internet-facing")
            .created_time(aws_smithy_types::DateTime::from_secs(1_700_000_000))
            .instances(elb::Instance::builder().instance_id("i-1").build())
            .build();
        let lb = load_balancer(&l, "111122223333", "eu-west-1").unwrap();
        assert_eq!(
            lb.id,
            "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/legacy-web"
        );
        assert_eq!((lb.lb_type, lb.name.as_str()), (LoadBalancerType::Classic, "legacy-web"));
        assert_eq!((lb.scheme.as_str(), lb.state.as_str()), ("internet-facing", "active"));
        assert_eq!(lb.create_time.map(|t| t.timestamp()), Some(1_700_000_000));
        assert_eq!(lb.metric_dimension(), Some("legacy-web"));
        assert_eq!((lb.targets, lb.healthy_targets), (None, None));
        let nameless = elb::LoadBalancerDescription::builder().build();
        assert!(load_balancer(&nameless, "1", "us-east-1").is_none());
    }

    #[test]
    fn only_in_service_instances_count_as_healthy() {
        let state = |s: &str| elb::InstanceState::builder().instance_id("i-1").state(s).build();
        let answer =
            [state("InService"), state("OutOfService"), state("Unknown"), state("InService")];
        assert_eq!(count_in_service(&answer), (4, 2));
        assert_eq!(count_in_service(&[]), (0, 0));
    }
}
