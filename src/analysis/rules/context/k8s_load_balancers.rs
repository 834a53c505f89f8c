//! Services of type LoadBalancer as the rules see them: `k8s_load_balancer`, id
//! `cluster/namespace/service/name`, priced by the hour: on AWS from `rules/prices/elb.toml` (the
//! table `elb-idle` prices load balancers from, so the two never disagree), a Network Load
//! Balancer where the annotations or the class ask for one, else the Classic Load Balancer the
//! in-tree controller makes; from `rules/prices/kubernetes.toml` on GCP a forwarding rule and on
//! Azure a rule of the Standard Load Balancer.

use cel_interpreter::Value;

use super::k8s_cloud::{self, Cloud};
use super::{Inputs, ResourceView, days_between, num, text};
use crate::analysis::rules::rule::ResourceKind;
use crate::model::cluster::LoadBalancerService;
use crate::pricing::HOURS_PER_MONTH;

const AWS_TYPE: &str = "service.beta.kubernetes.io/aws-load-balancer-type";

/// Where the hour of a load balancer kind is priced: (table, unit). AWS's kinds are ELB's own
/// (`network_hour`, `classic_hour` of `elb.toml`); the other clouds' are in `kubernetes.toml`.
fn hourly_unit(kind: &str, cloud: Cloud) -> (&'static str, String) {
    match (cloud, kind) {
        (Cloud::Aws, "nlb") => ("elb", "network_hour".to_string()),
        (Cloud::Aws, "clb") => ("elb", "classic_hour".to_string()),
        _ => ("kubernetes", format!("lb_{kind}_hour")),
    }
}

/// The load balancer kind: `nlb` or `clb` on AWS, `forwarding_rule` on GCP, `standard` on Azure.
fn kind_of(s: &LoadBalancerService, cloud: Cloud) -> Option<&'static str> {
    match cloud {
        Cloud::Aws => {
            let annotated = s.annotations.get(AWS_TYPE).map(String::as_str);
            let nlb = matches!(annotated, Some("nlb" | "external" | "nlb-ip"))
                || s.load_balancer_class.as_deref() == Some("service.k8s.aws/nlb");
            Some(if nlb { "nlb" } else { "clb" })
        }
        Cloud::Gcp => Some("forwarding_rule"),
        Cloud::Azure => Some("standard"),
        Cloud::Unknown => None,
    }
}

pub(super) fn views<'a>(input: &Inputs<'a, '_>, views: &mut Vec<ResourceView<'a>>) {
    let now = input.snapshot.collected_at;
    for cluster in &input.snapshot.clusters {
        let (cloud, region) = (Cloud::of(cluster), k8s_cloud::region(cluster));
        for s in &cluster.load_balancers {
            let id = format!("{}/{}/service/{}", cluster.name, s.namespace, s.name);
            let kind = kind_of(s, cloud);
            let cost = input.billed.monthly(&id).unwrap_or_else(|| match kind {
                Some(kind) => super::catalog_cost(
                    input.catalog,
                    {
                        let (table, unit) = hourly_unit(kind, cloud);
                        k8s_cloud::unit_price(input, table, &region, &unit)
                            .map(|h| h.times(HOURS_PER_MONTH))
                    },
                    format!(
                        "{} load balancer in {region} × {HOURS_PER_MONTH} h, data not included",
                        kind.replace('_', " ")
                    ),
                ),
                None => k8s_cloud::unpriced(
                    input,
                    format!("the nodes of cluster {} do not say which cloud runs it", cluster.name),
                ),
            });
            let mut f = k8s_cloud::object_fields(&id, "service", cluster);
            f.insert("namespace", text(&s.namespace));
            f.insert("name", text(&s.name));
            f.insert("cloud", text(cloud.as_str()));
            f.insert("lb_kind", text(kind.unwrap_or("unknown")));
            f.insert("provisioned", Value::Bool(!s.ingress.is_empty()));
            f.insert("ingress", text(&s.ingress.join(", ")));
            f.insert("has_selector", Value::Bool(s.has_selector));
            f.insert("endpoints_known", Value::Bool(s.ready_endpoints.is_some()));
            f.insert(
                "ready_endpoints",
                s.ready_endpoints.map_or(Value::Null, |n| num(f64::from(n))),
            );
            f.insert("age_days", days_between(s.created, now));
            views.push(k8s_cloud::object_view(
                input,
                ResourceKind::K8sLoadBalancer,
                &id,
                &region,
                f,
                cost,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_load_balancers_by_annotation_or_class() {
        let mut s = LoadBalancerService::default();
        assert_eq!(kind_of(&s, Cloud::Aws), Some("clb"));
        s.annotations.insert(AWS_TYPE.into(), "nlb".into());
        assert_eq!(kind_of(&s, Cloud::Aws), Some("nlb"));
        let by_class = LoadBalancerService {
            load_balancer_class: Some("service.k8s.aws/nlb".into()),
            ..Default::default()
        };
        assert_eq!(kind_of(&by_class, Cloud::Aws), Some("nlb"));
        assert_eq!(kind_of(&s, Cloud::Gcp), Some("forwarding_rule"));
        assert_eq!(kind_of(&s, Cloud::Unknown), None);
    }

    #[test]
    fn aws_hours_come_from_the_elb_table() {
        assert_eq!(hourly_unit("nlb", Cloud::Aws), ("elb", "network_hour".into()));
        assert_eq!(hourly_unit("clb", Cloud::Aws), ("elb", "classic_hour".into()));
        assert_eq!(
            hourly_unit("forwarding_rule", Cloud::Gcp),
            ("kubernetes", "lb_forwarding_rule_hour".into())
        );
        let catalog = crate::pricing::catalog::PriceCatalog::builtin().unwrap();
        let elb = catalog.services().get("elb").unwrap();
        // The figures the Kubernetes view priced with before it read elb.toml.
        assert_eq!(elb.unit("us-east-1", "network_hour").unwrap().to_string(), "0.0225");
        assert_eq!(elb.unit("us-east-1", "classic_hour").unwrap().to_string(), "0.025");
        assert_eq!(elb.unit("us-west-2", "classic_hour").unwrap().to_string(), "0.025");
    }
}
