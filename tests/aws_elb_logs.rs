//! Load balancers and CloudWatch Logs against the emulators: moto answers ELBv2, classic ELB and
//! Logs, LocalStack CloudWatch (AWS/ApplicationELB, AWS/NetworkELB, AWS/ELB). Inventory and
//! metrics are read
//! and keyed by ARN, `elb-idle` and `logs-stale` fire with savings computed by hand, the busy
//! are left alone, and a Logs service that fails is a warning (exit 3) with the rest reported.
//! Nothing can be backdated in moto: the age thresholds are set below zero days here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common_aws;

use aws_sdk_elasticloadbalancingv2 as elbv2;
use common_aws::*;
use serde_json::Value;

const REGION: &str = "us-east-1";
const TWO_WEEKS: i64 = 14 * 24;
/// moto's own account, which it writes into every ARN.
const MOTO_ACCOUNT: &str = "123456789012";

struct Estate {
    /// ARN of each load balancer by name (a classic one's as costscope builds it).
    balancers: Vec<(String, String)>,
}

impl Estate {
    fn arn(&self, name: &str) -> &str {
        &self.balancers.iter().find(|(n, _)| n == name).unwrap().1
    }
}

/// The ARN after `loadbalancer/`, or the target group ARN from `targetgroup/`.
fn dimension(arn: &str, marker: &str) -> String {
    let at = arn.find(marker).unwrap();
    arn[at + 1..].trim_start_matches("loadbalancer/").to_string()
}

fn seed(env: &Env) -> Estate {
    let config = env.moto_sdk(REGION);
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let vpc = env.block_on(ec2.create_vpc().cidr_block("10.0.0.0/16").send()).unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let mut subnets = Vec::new();
    for (zone, cidr) in [("us-east-1a", "10.0.1.0/24"), ("us-east-1b", "10.0.2.0/24")] {
        let s = env
            .block_on(
                ec2.create_subnet().vpc_id(&vpc).cidr_block(cidr).availability_zone(zone).send(),
            )
            .unwrap();
        subnets.push(s.subnet().unwrap().subnet_id().unwrap().to_string());
    }
    let elb = elbv2::Client::new(&config);
    use elbv2::types::{
        LoadBalancerTypeEnum as T, ProtocolEnum, TargetDescription, TargetTypeEnum,
    };
    let mut balancers = Vec::new();
    // (name, type, targets registered): no target at all; quiet, busy (ALB); quiet (NLB).
    for (name, kind, targets) in [
        ("orphan", T::Application, 0),
        ("quiet", T::Application, 2),
        ("busy", T::Application, 2),
        ("quiet-nlb", T::Network, 1),
    ] {
        let lb = env
            .block_on(
                elb.create_load_balancer()
                    .name(name)
                    .r#type(kind.clone())
                    .set_subnets(Some(subnets.clone()))
                    .tags(elbv2::types::Tag::builder().key("team").value("web").build())
                    .send(),
            )
            .unwrap();
        let arn = lb.load_balancers()[0].load_balancer_arn().unwrap().to_string();
        let protocol = if kind == T::Network { ProtocolEnum::Tcp } else { ProtocolEnum::Http };
        let group = env
            .block_on(
                elb.create_target_group()
                    .name(format!("{name}-tg"))
                    .protocol(protocol.clone())
                    .port(80)
                    .vpc_id(&vpc)
                    .target_type(TargetTypeEnum::Ip)
                    .send(),
            )
            .unwrap();
        let group = group.target_groups()[0].target_group_arn().unwrap().to_string();
        env.block_on(
            elb.create_listener()
                .load_balancer_arn(&arn)
                .protocol(protocol)
                .port(80)
                .default_actions(
                    elbv2::types::Action::builder()
                        .r#type(elbv2::types::ActionTypeEnum::Forward)
                        .target_group_arn(&group)
                        .build(),
                )
                .send(),
        )
        .unwrap();
        if targets > 0 {
            let ips = (0..targets).map(|i| {
                TargetDescription::builder().id(format!("10.0.1.{}", 10 + i)).port(80).build()
            });
            env.block_on(
                elb.register_targets()
                    .target_group_arn(&group)
                    .set_targets(Some(ips.collect()))
                    .send(),
            )
            .unwrap();
        }
        // Metrics: requests (ALB) or new flows (NLB) an hour, and the healthy hosts of the group.
        let (namespace, metric, per_hour) = match name {
            "quiet" => ("AWS/ApplicationELB", "RequestCount", 2.0),
            "busy" => ("AWS/ApplicationELB", "RequestCount", 50.0),
            "quiet-nlb" => ("AWS/NetworkELB", "NewFlowCount", 1.0),
            _ => {
                balancers.push((name.to_string(), arn));
                continue;
            }
        };
        let lb_dim = dimension(&arn, ":loadbalancer/");
        let tg_dim = dimension(&group, ":targetgroup/");
        env.put_metric_dims(
            REGION,
            namespace,
            metric,
            &[("LoadBalancer", &lb_dim)],
            per_hour,
            TWO_WEEKS,
        );
        env.put_metric_dims(
            REGION,
            namespace,
            "HealthyHostCount",
            &[("TargetGroup", &tg_dim), ("LoadBalancer", &lb_dim)],
            f64::from(targets),
            TWO_WEEKS,
        );
        balancers.push((name.to_string(), arn));
    }

    seed_classic(env, &config, &mut balancers);

    // Logs: a group kept forever with events, and an empty one with a retention.
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    env.block_on(logs.create_log_group().log_group_name("/app/forever").tags("team", "web").send())
        .unwrap();
    env.block_on(
        logs.create_log_stream().log_group_name("/app/forever").log_stream_name("s1").send(),
    )
    .unwrap();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let events = (0..10).map(|i| {
        aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
            .timestamp(now_ms - 1000 + i)
            .message(format!("event {i}: {}", "x".repeat(100)))
            .build()
            .unwrap()
    });
    env.block_on(
        logs.put_log_events()
            .log_group_name("/app/forever")
            .log_stream_name("s1")
            .set_log_events(Some(events.collect()))
            .send(),
    )
    .unwrap();
    env.block_on(logs.create_log_group().log_group_name("/app/kept").send()).unwrap();
    env.block_on(
        logs.put_retention_policy().log_group_name("/app/kept").retention_in_days(14).send(),
    )
    .unwrap();
    Estate { balancers }
}

/// Classic load balancers in moto: one with no instance, a quiet one and a busy one, each with
/// a running instance registered (in service), their requests and healthy hosts in LocalStack
/// under AWS/ELB. Their ARNs carry the account STS names: the classic API returns none.
fn seed_classic(env: &Env, config: &aws_config::SdkConfig, balancers: &mut Vec<(String, String)>) {
    use aws_sdk_elasticloadbalancing::types::{Instance, Listener, Tag};
    let ec2 = aws_sdk_ec2::Client::new(config);
    let clb = aws_sdk_elasticloadbalancing::Client::new(config);
    for (name, per_hour) in
        [("legacy-orphan", None), ("legacy-quiet", Some(2.0)), ("legacy-busy", Some(50.0))]
    {
        let listener = Listener::builder()
            .protocol("HTTP")
            .load_balancer_port(80)
            .instance_protocol("HTTP")
            .instance_port(80)
            .build()
            .unwrap();
        env.block_on(
            clb.create_load_balancer()
                .load_balancer_name(name)
                .listeners(listener)
                .availability_zones("us-east-1a")
                .tags(Tag::builder().key("team").value("web").build().unwrap())
                .send(),
        )
        .unwrap();
        let arn =
            format!("arn:aws:elasticloadbalancing:{REGION}:{}:loadbalancer/{name}", env.account);
        balancers.push((name.to_string(), arn));
        let Some(per_hour) = per_hour else { continue };
        let run = env
            .block_on(
                ec2.run_instances()
                    .image_id("ami-0123456789abcdef0")
                    .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
                    .min_count(1)
                    .max_count(1)
                    .send(),
            )
            .unwrap();
        let instance = run.instances()[0].instance_id().unwrap().to_string();
        env.block_on(
            clb.register_instances_with_load_balancer()
                .load_balancer_name(name)
                .instances(Instance::builder().instance_id(instance).build())
                .send(),
        )
        .unwrap();
        let by_name = [("LoadBalancerName", name)];
        env.put_metric_dims(REGION, "AWS/ELB", "RequestCount", &by_name, per_hour, TWO_WEEKS);
        env.put_metric_dims(REGION, "AWS/ELB", "HealthyHostCount", &by_name, 1.0, TWO_WEEKS);
    }
}

fn collect(env: &Env, extra_env: &[(&str, &str)]) -> (Output, Value) {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.json");
    let out = env.costscope_with(
        &["collect", "--aws", "--regions", REGION, "--out", snap.to_str().unwrap()],
        extra_env,
    );
    let text = std::fs::read_to_string(&snap).unwrap_or_else(|e| panic!("{e}: {}", out.stderr));
    (out, serde_json::from_str(&text).unwrap())
}

fn by_name<'a>(s: &'a Value, list: &str, name: &str) -> &'a Value {
    s["inventory"][list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list}: {:#}", s["inventory"]))
        .iter()
        .find(|x| x["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {list}: {:#}", s["inventory"][list]))
}

fn utilization<'a>(s: &'a Value, id: &Value) -> &'a Value {
    s["utilization"].as_array().unwrap().iter().find(|u| &u["resource_id"] == id).unwrap()
}

#[test]
fn load_balancers_and_log_groups_are_inventoried_with_their_metrics() {
    let env = Env::new("111100000501");
    let estate = seed(&env);
    let (out, s) = collect(&env, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);

    let orphan = by_name(&s, "load_balancers", "orphan");
    assert_eq!(orphan["id"], estate.arn("orphan"));
    assert_eq!(
        (orphan["type"].as_str(), orphan["state"].as_str()),
        (Some("application"), Some("active"))
    );
    assert_eq!(
        (orphan["targets"].as_u64(), orphan["healthy_targets"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(orphan["target_groups"].as_array().unwrap().len(), 1);
    assert_eq!(orphan["tags"]["team"], "web");
    let quiet = by_name(&s, "load_balancers", "quiet");
    assert_eq!((quiet["targets"].as_u64(), quiet["healthy_targets"].as_u64()), (Some(2), Some(2)));
    let u = utilization(&s, &quiet["id"]);
    assert!(u["days_covered"].as_u64().unwrap() >= 14, "{u:#}");
    // 2 requests an hour: at most 48 on any day (the window's first and last days are partial).
    assert!(u["requests_day_max"].as_f64().unwrap() <= 48.0, "{u:#}");
    assert_eq!(u["healthy_hosts_max"].as_f64(), Some(2.0));
    let nlb = by_name(&s, "load_balancers", "quiet-nlb");
    assert_eq!(nlb["type"], "network");
    let u = utilization(&s, &nlb["id"]);
    assert!(u["new_flows_day_max"].as_f64().unwrap() <= 24.0, "{u:#}");
    assert!(u.get("requests_day_max").is_none() || u["requests_day_max"].is_null(), "{u:#}");

    // Classic: named by the ARN billing uses, instances in service as healthy targets.
    let orphan = by_name(&s, "load_balancers", "legacy-orphan");
    assert_eq!(orphan["id"], estate.arn("legacy-orphan"));
    assert_eq!(
        (orphan["type"].as_str(), orphan["state"].as_str()),
        (Some("classic"), Some("active"))
    );
    assert_eq!(
        (orphan["targets"].as_u64(), orphan["healthy_targets"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(orphan["tags"]["team"], "web");
    let quiet = by_name(&s, "load_balancers", "legacy-quiet");
    assert_eq!((quiet["targets"].as_u64(), quiet["healthy_targets"].as_u64()), (Some(1), Some(1)));
    let u = utilization(&s, &quiet["id"]);
    assert!(u["days_covered"].as_u64().unwrap() >= 14, "{u:#}");
    assert!(u["requests_day_max"].as_f64().unwrap() <= 48.0, "{u:#}");
    assert_eq!(u["healthy_hosts_max"].as_f64(), Some(1.0));

    let forever = by_name(&s, "log_groups", "/app/forever");
    assert_eq!(
        forever["id"],
        format!("arn:aws:logs:{REGION}:{MOTO_ACCOUNT}:log-group:/app/forever")
    );
    assert!(forever["retention_days"].is_null(), "{forever:#}");
    assert!(forever["stored_bytes"].as_u64().unwrap() > 0, "{forever:#}");
    assert_eq!(forever["ingestion_checked"], true);
    assert!(forever["last_ingestion"].is_string(), "{forever:#}");
    assert_eq!(forever["tags"]["team"], "web");
    let kept = by_name(&s, "log_groups", "/app/kept");
    assert_eq!(kept["retention_days"].as_u64(), Some(14));
    // Nothing stored: not looked up.
    assert_eq!(kept["ingestion_checked"], false);
}

#[test]
fn report_aws_finds_idle_load_balancers_and_stale_logs() {
    let env = Env::new("111100000502");
    let estate = seed(&env);
    let mut config = std::fs::read_to_string(&env.config).unwrap();
    config.push_str("\n[rules.elb-idle]\nmin_age_days = -1\n\n[rules.logs-stale]\nmin_days_since_ingestion = -1\n");
    std::fs::write(&env.config, config).unwrap();
    // Billing by ARN for the log group (moto's storage figure is a few bytes): 10 days at 0.30.
    let group = format!("arn:aws:logs:{REGION}:{MOTO_ACCOUNT}:log-group:/app/forever");
    let mut csv = String::from(
        "BilledCost,EffectiveCost,ListCost,BillingCurrency,BillingAccountId,SubAccountId,\
         ProviderName,ServiceName,RegionId,ResourceId,ResourceType,ChargeCategory,\
         ChargePeriodStart,ChargePeriodEnd,Tags\n",
    );
    for day in 1..=10 {
        csv.push_str(&format!(
            "0.30,0.30,0.30,USD,{MOTO_ACCOUNT},{MOTO_ACCOUNT},AWS,Amazon CloudWatch,{REGION},{group},\
             Log Group,Usage,2026-10-{day:02}T00:00:00Z,2026-10-{:02}T00:00:00Z,{{}}\n",
            day + 1
        ));
    }
    let focus = env.home.path().join("focus.csv");
    std::fs::write(&focus, csv).unwrap();
    let out = env.costscope(&[
        "report",
        "--aws",
        "--focus",
        focus.to_str().unwrap(),
        "--regions",
        REGION,
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let found = findings(&report);
    let find = |rule: &str, id: &str| {
        found.iter().find(|f| f["rule_id"] == rule && f["resource_id"] == id)
    };
    // No target at all, no metrics needed: 0.0225 × 730 = 16.425.
    let orphan = find("elb-idle", estate.arn("orphan")).unwrap_or_else(|| panic!("{found:#?}"));
    assert_eq!(savings(orphan), "16.425");
    // At most 48 requests (ALB) or 24 new flows (NLB) a day over 14 days: the hour, 16.425.
    assert_eq!(savings(find("elb-idle", estate.arn("quiet")).unwrap()), "16.425");
    assert_eq!(savings(find("elb-idle", estate.arn("quiet-nlb")).unwrap()), "16.425");
    // 1,200 requests a day, 2 healthy targets: busy.
    assert!(find("elb-idle", estate.arn("busy")).is_none());
    // Classic: no instance registered, or at most 48 requests a day: 0.025 × 730 = 18.25.
    let orphan =
        find("elb-idle", estate.arn("legacy-orphan")).unwrap_or_else(|| panic!("{found:#?}"));
    assert_eq!(savings(orphan), "18.25");
    assert!(
        orphan["evidence"].as_str().unwrap().starts_with("classic load balancer"),
        "{orphan:#}"
    );
    assert_eq!(savings(find("elb-idle", estate.arn("legacy-quiet")).unwrap()), "18.25");
    // 1,200 requests a day, its instance in service.
    assert!(find("elb-idle", estate.arn("legacy-busy")).is_none());
    // 3.00 over 10 days (240 h) is 9.125 a 730-hour month, all of it storage once stale.
    let stale = find("logs-stale", &group).unwrap_or_else(|| panic!("{found:#?}"));
    assert_eq!(savings(stale), "9.125");
    assert!(stale["evidence"].as_str().unwrap().contains("from billing"), "{stale:#}");
}

#[test]
fn a_logs_service_that_fails_is_a_warning_and_the_load_balancers_are_reported() {
    let env = Env::new("111100000503");
    let estate = seed(&env);
    let proxy = FaultProxy::start(
        env.localstack,
        env.moto,
        vec![Rule::always("logs", None, Fault::Http500)],
    );
    let vars = proxy.env();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (out, s) = collect(&env, &vars);
    assert_eq!(out.code, 3, "{}", out.stderr);
    let warnings = s["sources"][0]["warnings"].to_string();
    assert!(
        warnings.contains("us-east-1: CloudWatch Logs DescribeLogGroups failed: InternalFailure"),
        "{warnings}"
    );
    assert!(s["inventory"]["log_groups"].as_array().is_none_or(|g| g.is_empty()));
    assert_eq!(by_name(&s, "load_balancers", "orphan")["id"], estate.arn("orphan"));
}

/// Every load balancer and Logs call (v2 and classic share the `elasticloadbalancing` prefix),
/// as a loopback proxy sees it, is an action docs/iam-policy.json allows, and each action of
/// the policy's load balancer and Logs statement is made.
#[test]
fn every_load_balancer_and_logs_call_is_in_the_iam_policy() {
    let env = Env::new("111100000504");
    seed(&env);
    let proxy = FaultProxy::start(env.localstack, env.moto, Vec::new());
    let vars = proxy.env();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (out, _) = collect(&env, &vars);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (allowed, ours) = iam_policy_actions("CostscopeLoadBalancersAndLogsReadOnly");
    let made: std::collections::BTreeSet<String> = proxy
        .seen()
        .into_iter()
        .filter(|seen| seen.service == "elasticloadbalancing" || seen.service == "logs")
        .map(|seen| {
            assert!(!seen.operation.is_empty(), "a {} call the proxy could not name", seen.service);
            format!("{}:{}", seen.service, seen.operation)
        })
        .collect();
    for action in &made {
        assert!(allowed.contains(action), "{action} is made but not in docs/iam-policy.json");
    }
    for action in ours {
        assert!(made.contains(&action), "{action} is in the policy but never made: {made:?}");
    }
}
