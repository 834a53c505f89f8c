//! Elastic Load Balancing load balancers: application, network and gateway (v2), and classic
//! ones (the 2012 API), which route to registered instances instead of target groups.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::tags::Tags;

/// Which kind of load balancer, which is also what its hour is priced as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoadBalancerType {
    Application,
    Network,
    Gateway,
    Classic,
}

impl LoadBalancerType {
    pub fn as_str(self) -> &'static str {
        match self {
            LoadBalancerType::Application => "application",
            LoadBalancerType::Network => "network",
            LoadBalancerType::Gateway => "gateway",
            LoadBalancerType::Classic => "classic",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancer {
    /// The ARN (`arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>`;
    /// a classic load balancer's `…:loadbalancer/<name>`, which its API does not return but
    /// billing names it by).
    pub id: String,
    pub name: String,
    pub account_id: String,
    pub region: String,
    #[serde(rename = "type")]
    pub lb_type: LoadBalancerType,
    /// `internet-facing` or `internal`.
    #[serde(default)]
    pub scheme: String,
    /// `active`, `provisioning`, `active_impaired`, `failed`; a classic load balancer has no
    /// state and reads `active` while it exists.
    pub state: String,
    pub create_time: Option<DateTime<Utc>>,
    /// The ARNs of the target groups that route to it.
    #[serde(default)]
    pub target_groups: Vec<String>,
    /// Targets registered in its target groups (a classic load balancer's instances), and how
    /// many of them were healthy (`InService`); `None` when target health could not be read.
    #[serde(default)]
    pub targets: Option<u32>,
    #[serde(default)]
    pub healthy_targets: Option<u32>,
    #[serde(default)]
    pub tags: Tags,
}

impl LoadBalancer {
    /// CloudWatch's LoadBalancer dimension: the ARN after `loadbalancer/` (`app/<name>/<id>`);
    /// for a classic load balancer its name (AWS/ELB's LoadBalancerName).
    pub fn metric_dimension(&self) -> Option<&str> {
        self.id.split_once(":loadbalancer/").map(|(_, rest)| rest).filter(|r| !r.is_empty())
    }
}

/// CloudWatch's TargetGroup dimension of a target group ARN: from `targetgroup/` on.
pub fn target_group_dimension(arn: &str) -> Option<&str> {
    arn.find(":targetgroup/").map(|at| &arn[at + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudwatch_names_load_balancers_and_target_groups_by_their_arn_suffix() {
        let lb = LoadBalancer {
            id: "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/web/50dc6c495c0c9188"
                .into(),
            name: "web".into(),
            account_id: "1".into(),
            region: "us-east-1".into(),
            lb_type: LoadBalancerType::Application,
            scheme: "internal".into(),
            state: "active".into(),
            create_time: None,
            target_groups: vec![],
            targets: None,
            healthy_targets: None,
            tags: Tags::new(),
        };
        assert_eq!(lb.metric_dimension(), Some("app/web/50dc6c495c0c9188"));
        let tg = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/73e2d6bc24d8a067";
        assert_eq!(target_group_dimension(tg), Some("targetgroup/web/73e2d6bc24d8a067"));
        assert_eq!(target_group_dimension("arn:aws:s3:::bucket"), None);
        let classic = LoadBalancer {
            id: "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/legacy-web".into(),
            lb_type: LoadBalancerType::Classic,
            ..lb
        };
        assert_eq!(classic.metric_dimension(), Some("legacy-web"));
    }
}
