//! Live commitments through the real SDK against a loopback HTTP server.
//!
//! Neither emulator serves these calls (tests/emulators/README.md: moto 5.2 has no Savings
//! Plans service, no Cost Explorer commitment call, and its DescribeReservedInstances raises
//! NotImplementedError), so the server answers each with the response shape AWS's API
//! reference documents for it:
//! - Cost Explorer (awsJson 1.1, `X-Amz-Target: AWSInsightsIndexService.<Call>`):
//!   https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_GetSavingsPlansUtilization.html
//!   and the pages of GetReservationUtilization, GetSavingsPlansCoverage, GetReservationCoverage,
//!   GetSavingsPlansPurchaseRecommendation and GetReservationPurchaseRecommendation (their
//!   "Response Syntax" sections, with the types SavingsPlansUtilizationAggregates,
//!   ReservationAggregates, SavingsPlansCoverage, Coverage, SavingsPlansPurchaseRecommendation,
//!   ReservationPurchaseRecommendation).
//! - Savings Plans (REST JSON, `POST /DescribeSavingsPlans`):
//!   https://docs.aws.amazon.com/savingsplans/latest/APIReference/API_DescribeSavingsPlans.html
//! - EC2 (query, XML): https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeReservedInstances.html
//!
//! The CLI test answers every other call of `--aws` with an empty list in its protocol's shape,
//! so a whole run can end in exit 3 when one commitment call fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use chrono::{NaiveDate, Utc};
use costscope::model::Money;
use costscope::model::commitments::{CeMetric, LiveKind};
use costscope::source::aws::cache::{Cache, DEFAULT_TTL};
use costscope::source::aws::commitments;

const ACCOUNT: &str = "111122223333";

fn sp_utilization() -> &'static str {
    r#"{"SavingsPlansUtilizationsByTime":[{"TimePeriod":{"Start":"2026-11-01","End":"2026-12-01"},
      "Utilization":{"TotalCommitment":"744","UsedCommitment":"706.8","UnusedCommitment":"37.2","UtilizationPercentage":"95"},
      "Savings":{"NetSavings":"250.5","OnDemandCostEquivalent":"957.3"},
      "AmortizedCommitment":{"AmortizedRecurringCommitment":"744","AmortizedUpfrontCommitment":"0","TotalAmortizedCommitment":"744"}}],
     "Total":{"Utilization":{"TotalCommitment":"744","UsedCommitment":"706.8","UnusedCommitment":"37.2","UtilizationPercentage":"95"},
      "Savings":{"NetSavings":"250.5","OnDemandCostEquivalent":"957.3"},
      "AmortizedCommitment":{"AmortizedRecurringCommitment":"744","AmortizedUpfrontCommitment":"0","TotalAmortizedCommitment":"744"}}}"#
}

fn ri_utilization() -> &'static str {
    r#"{"UtilizationsByTime":[],"Total":{"UtilizationPercentage":"80","UtilizationPercentageInUnits":"80",
      "PurchasedHours":"1440","PurchasedUnits":"5760","TotalActualHours":"1152","TotalActualUnits":"4608",
      "UnusedHours":"288","UnusedUnits":"1152","OnDemandCostOfRIHoursUsed":"110.59","NetRISavings":"30.59",
      "TotalPotentialRISavings":"50.59","AmortizedUpfrontFee":"80","AmortizedRecurringFee":"0","TotalAmortizedFee":"80",
      "RICostForUnusedHours":"16","RealizedSavings":"46.59","UnrealizedSavings":"4"}}"#
}

fn sp_coverage() -> &'static str {
    r#"{"SavingsPlansCoverages":[
      {"Attributes":{},"Coverage":{"SpendCoveredBySavingsPlans":"600","OnDemandCost":"300","TotalCost":"900","CoveragePercentage":"66.67"},"TimePeriod":{"Start":"2026-11-01","End":"2026-12-01"}},
      {"Attributes":{},"Coverage":{"SpendCoveredBySavingsPlans":"100","OnDemandCost":"0","TotalCost":"100","CoveragePercentage":"100"},"TimePeriod":{"Start":"2026-12-01","End":"2026-12-04"}}]}"#
}

fn ri_coverage() -> &'static str {
    r#"{"CoveragesByTime":[],"Total":{"CoverageHours":{"OnDemandHours":"100","ReservedHours":"620","TotalRunningHours":"720","CoverageHoursPercentage":"86.11"},
      "CoverageCost":{"OnDemandCost":"9.6"}}}"#
}

fn sp_recommendation() -> &'static str {
    r#"{"Metadata":{"RecommendationId":"r-1","GenerationTimestamp":"2026-12-03T00:00:00Z","AdditionalMetadata":""},
     "SavingsPlansPurchaseRecommendation":{"AccountScope":"PAYER","SavingsPlansType":"COMPUTE_SP","TermInYears":"ONE_YEAR",
      "PaymentOption":"NO_UPFRONT","LookbackPeriodInDays":"THIRTY_DAYS",
      "SavingsPlansPurchaseRecommendationDetails":[{"SavingsPlansDetails":{"Region":"us-east-1","InstanceFamily":"m5","OfferingId":"o-1"},
        "AccountId":"111122223333","UpfrontCost":"0","EstimatedROI":"40","CurrencyCode":"USD","EstimatedSPCost":"876",
        "EstimatedOnDemandCost":"1226.4","EstimatedSavingsAmount":"350.4","EstimatedSavingsPercentage":"28.57",
        "HourlyCommitmentToPurchase":"1.2","EstimatedAverageUtilization":"100","EstimatedMonthlySavingsAmount":"350.4"}],
      "SavingsPlansPurchaseRecommendationSummary":{"EstimatedROI":"40","CurrencyCode":"USD","EstimatedTotalCost":"876",
        "CurrentOnDemandSpend":"1226.4","EstimatedSavingsAmount":"350.4","TotalRecommendationCount":"1",
        "DailyCommitmentToPurchase":"28.8","HourlyCommitmentToPurchase":"1.2","EstimatedSavingsPercentage":"28.57",
        "EstimatedMonthlySavingsAmount":"350.4","EstimatedOnDemandCostWithCurrentCommitment":"1226.4"}}}"#
}

/// EC2 gets one recommendation (3 × m5.large); the other services none.
fn ri_recommendation(service: &str) -> String {
    if service != "Amazon Elastic Compute Cloud - Compute" {
        return r#"{"Metadata":{"RecommendationId":"r-2","GenerationTimestamp":"2026-12-03T00:00:00Z"},"Recommendations":[]}"#
            .to_string();
    }
    r#"{"Metadata":{"RecommendationId":"r-3","GenerationTimestamp":"2026-12-03T00:00:00Z"},
     "Recommendations":[{"AccountScope":"PAYER","LookbackPeriodInDays":"THIRTY_DAYS","TermInYears":"ONE_YEAR","PaymentOption":"NO_UPFRONT",
      "ServiceSpecification":{"EC2Specification":{"OfferingClass":"STANDARD"}},
      "RecommendationDetails":[{"AccountId":"111122223333","InstanceDetails":{"EC2InstanceDetails":{"Family":"m5","InstanceType":"m5.large",
        "Region":"us-east-1","Platform":"Linux/UNIX","Tenancy":"Shared","CurrentGeneration":true,"SizeFlexEligible":true}},
        "RecommendedNumberOfInstancesToPurchase":"3","RecommendedNormalizedUnitsToPurchase":"12","UpfrontCost":"0",
        "EstimatedMonthlySavingsAmount":"61.32","EstimatedMonthlySavingsPercentage":"29","EstimatedMonthlyOnDemandCost":"210.24",
        "CurrencyCode":"USD","AverageUtilization":"100"}],
      "RecommendationSummary":{"TotalEstimatedMonthlySavingsAmount":"61.32","TotalEstimatedMonthlySavingsPercentage":"29","CurrencyCode":"USD"}}]}"#
        .to_string()
}

fn savings_plans() -> &'static str {
    r#"{"savingsPlans":[{"offeringId":"o-1","savingsPlanId":"5e1c","savingsPlanArn":"arn:aws:savingsplans::111122223333:savingsplan/5e1c",
      "description":"1 year No Upfront Compute Savings Plan","start":"2025-12-20T00:00:00.000Z","end":"2026-12-20T00:00:00.000Z",
      "state":"active","region":"","savingsPlanType":"Compute","paymentOption":"No Upfront","productTypes":["EC2","Fargate","Lambda"],
      "currency":"USD","commitment":"2.5","upfrontPaymentAmount":"0","recurringPaymentAmount":"2.5","termDurationInSeconds":31536000,"tags":{}}]}"#
}

fn reserved_instances() -> &'static str {
    r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeReservedInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
  <reservedInstancesSet>
    <item>
      <reservedInstancesId>e5a2ff3b-7d14-494f-90af-0b5d0EXAMPLE</reservedInstancesId>
      <instanceType>m5.large</instanceType>
      <availabilityZone>us-east-1a</availabilityZone>
      <start>2025-03-01T00:00:00.000Z</start>
      <end>2027-03-01T00:00:00.000Z</end>
      <duration>63072000</duration>
      <fixedPrice>1000.0</fixedPrice>
      <usagePrice>0.0</usagePrice>
      <instanceCount>2</instanceCount>
      <productDescription>Linux/UNIX</productDescription>
      <state>active</state>
      <instanceTenancy>default</instanceTenancy>
      <currencyCode>USD</currencyCode>
      <offeringType>All Upfront</offeringType>
      <recurringCharges/>
      <offeringClass>standard</offeringClass>
      <scope>Region</scope>
    </item>
  </reservedInstancesSet>
</DescribeReservedInstancesResponse>"#
}

/// A loopback server: answers each request from `answer` (status, content type, body) and
/// records which call it was.
struct Server {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

/// Which call a request is: the awsJson target, the EC2/STS query `Action`, or method + path.
fn call_of(head: &str, body: &str) -> String {
    for line in head.lines() {
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("x-amz-target:") {
            let v = v.trim();
            let original = &line[line.len() - v.len()..];
            return original.rsplit('.').next().unwrap_or(original).to_string();
        }
    }
    if let Some(action) = body.split('&').find_map(|p| p.strip_prefix("Action=")) {
        return action.to_string();
    }
    let first = head.lines().next().unwrap_or("");
    let mut parts = first.split_whitespace();
    format!("{} {}", parts.next().unwrap_or(""), parts.next().unwrap_or(""))
}

type Answer = (u16, &'static str, String);

impl Server {
    fn start(answer: impl Fn(&str, &str) -> Answer + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let answer = Arc::new(answer);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = log.clone();
                let answer = answer.clone();
                std::thread::spawn(move || serve(stream, &*answer, &log));
            }
        });
        Server { port, seen }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn calls(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, answer: &dyn Fn(&str, &str) -> Answer, log: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    loop {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let length = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
            })
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        let call = call_of(&head, &body);
        log.lock().unwrap().push(call.clone());
        let (status, content_type, text) = answer(&call, &body);
        let mut out = &stream;
        let reply = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{text}",
            text.len()
        );
        if out.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

const JSON: &str = "application/x-amz-json-1.1";

/// The documented answer of each commitment call; `None` for any other call.
fn commitment_answer(call: &str, body: &str) -> Option<Answer> {
    let ok = |b: &str| Some((200, JSON, b.to_string()));
    match call {
        "GetSavingsPlansUtilization" => ok(sp_utilization()),
        "GetReservationUtilization" => ok(ri_utilization()),
        "GetSavingsPlansCoverage" => ok(sp_coverage()),
        "GetReservationCoverage" => ok(ri_coverage()),
        "GetSavingsPlansPurchaseRecommendation" => ok(sp_recommendation()),
        "GetReservationPurchaseRecommendation" => {
            let service: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
            let service = service["Service"].as_str().unwrap_or("").to_string();
            Some((200, JSON, ri_recommendation(&service)))
        }
        "POST /DescribeSavingsPlans" => Some((200, "application/json", savings_plans().into())),
        "DescribeReservedInstances" => Some((200, "text/xml", reserved_instances().into())),
        _ => None,
    }
}

fn sdk(endpoint: &str) -> SdkConfig {
    let credentials = aws_sdk_ec2::config::Credentials::new("test", "test", None, None, "test");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(
        aws_config::defaults(BehaviorVersion::latest())
            .http_client(costscope::source::aws::client::http_client())
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(credentials)
            .load(),
    )
}

fn period() -> (NaiveDate, NaiveDate) {
    (NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(), NaiveDate::from_ymd_opt(2026, 12, 4).unwrap())
}

fn read(config: &SdkConfig, cache: &Cache) -> commitments::CommitmentsRead {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(commitments::read(
        config,
        ACCOUNT,
        &["us-east-1".to_string()],
        period(),
        cache,
    ))
}

fn money(s: &str) -> Option<Money> {
    Money::parse(s).ok()
}

#[test]
fn every_commitment_call_is_read_and_a_second_run_pays_nothing() {
    let server = Server::start(|call, body| {
        commitment_answer(call, body).unwrap_or((400, JSON, "{}".into()))
    });
    let config = sdk(&server.url());
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(Some(dir.path().to_path_buf()), DEFAULT_TTL, false, Utc::now());

    let first = read(&config, &cache);
    assert!(first.warnings.is_empty(), "{:?}", first.warnings);
    // 4 figures, 1 plan recommendation, 5 reservation recommendations (one per service).
    assert_eq!(first.usage.paid_requests, 10);
    assert_eq!(first.usage.cached_answers, 0);

    let live = &first.live;
    let ids: Vec<(&str, LiveKind)> =
        live.commitments.iter().map(|c| (c.id.as_str(), c.kind)).collect();
    assert_eq!(
        ids,
        [
            (
                "arn:aws:ec2:us-east-1:111122223333:reserved-instances/e5a2ff3b-7d14-494f-90af-0b5d0EXAMPLE",
                LiveKind::ReservedInstance
            ),
            ("arn:aws:savingsplans::111122223333:savingsplan/5e1c", LiveKind::SavingsPlan),
        ]
    );
    let ri = &live.commitments[0];
    assert_eq!(ri.instance_count, Some(2));
    assert_eq!(ri.term_years, Some(2));
    assert_eq!(ri.payment_option, "All Upfront");
    // fixedPrice is per instance: 1000 × 2.
    assert_eq!(ri.upfront, money("2000"));
    assert_eq!(ri.term_end.unwrap().date_naive().to_string(), "2027-03-01");
    let sp = &live.commitments[1];
    assert_eq!(sp.hourly_commitment, money("2.5"));
    assert_eq!(sp.term_years, Some(1));
    assert_eq!(sp.term_end.unwrap().date_naive().to_string(), "2026-12-20");

    let figure = |m: CeMetric| live.figures.iter().find(|f| f.metric == m).unwrap();
    assert_eq!(figure(CeMetric::SavingsPlansUtilization).share, money("0.95"));
    assert_eq!(figure(CeMetric::SavingsPlansUtilization).uncovered, money("37.2"));
    assert_eq!(figure(CeMetric::ReservationUtilization).share, money("0.8"));
    // Used = TotalAmortizedFee 80 − RICostForUnusedHours 16.
    assert_eq!(figure(CeMetric::ReservationUtilization).covered, money("64"));
    // Two months summed: (600 + 100) / (600 + 100 + 300 + 0) = 0.7.
    assert_eq!(figure(CeMetric::SavingsPlansCoverage).share, money("0.7"));
    assert_eq!(figure(CeMetric::ReservationCoverage).share, money("0.8611"));

    assert_eq!(live.recommendations.len(), 2, "{:?}", live.recommendations);
    let plan = live.recommendations.iter().find(|r| r.kind == "Compute Savings Plan").unwrap();
    assert_eq!(plan.hourly_commitment, money("1.2"));
    assert_eq!(plan.monthly_savings, money("350.4"));
    let ri = live.recommendations.iter().find(|r| r.kind == "Reserved Instances").unwrap();
    assert_eq!(ri.service, "Amazon Elastic Compute Cloud - Compute");
    assert_eq!(ri.items, ["3 × m5.large (us-east-1)"]);
    assert_eq!(ri.monthly_savings, money("61.32"));

    let paid_calls = server.calls().iter().filter(|c| c.starts_with("Get")).count();
    assert_eq!(paid_calls, 10);
    let second = read(&config, &cache);
    assert_eq!(second.usage.paid_requests, 0);
    assert_eq!(second.usage.cached_answers, 10);
    assert_eq!(second.live, first.live);
    let paid_calls = server.calls().iter().filter(|c| c.starts_with("Get")).count();
    assert_eq!(paid_calls, 10, "the second run asked Cost Explorer again");
}

/// Each commitment call is an action docs/iam-policy.json allows, and each action of its
/// commitments statement is made.
#[test]
fn every_commitment_call_is_in_the_iam_policy() {
    let server = Server::start(|call, body| {
        commitment_answer(call, body).unwrap_or((400, JSON, "{}".into()))
    });
    read(&sdk(&server.url()), &Cache::disabled());
    let made: std::collections::BTreeSet<String> = server
        .calls()
        .into_iter()
        .map(|c| match c.as_str() {
            "POST /DescribeSavingsPlans" => "savingsplans:DescribeSavingsPlans".to_string(),
            "DescribeReservedInstances" => "ec2:DescribeReservedInstances".to_string(),
            other => format!("ce:{other}"),
        })
        .collect();
    let policy: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/iam-policy.json"))
            .unwrap(),
    )
    .unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    let allowed: Vec<&str> = statements
        .iter()
        .flat_map(|s| s["Action"].as_array().unwrap().iter().filter_map(|a| a.as_str()))
        .collect();
    for action in &made {
        assert!(allowed.contains(&action.as_str()), "{action} is made but not in the policy");
    }
    let ours = statements.iter().find(|s| s["Sid"] == "CostscopeCommitmentsReadOnly").unwrap();
    for action in ours["Action"].as_array().unwrap().iter().filter_map(|a| a.as_str()) {
        assert!(made.contains(action), "{action} is in the policy but never made: {made:?}");
    }
}

#[test]
fn a_failing_call_is_a_warning_and_the_rest_is_kept() {
    // Cost Explorer fails (500 on every attempt): one warning, no further paid call; the plans
    // and reservations are still read.
    let server = Server::start(|call, body| {
        if call == "GetSavingsPlansUtilization" {
            return (500, JSON, r#"{"__type":"InternalServerError","message":"boom"}"#.into());
        }
        commitment_answer(call, body).unwrap_or((400, JSON, "{}".into()))
    });
    let config = sdk(&server.url());
    let read1 = read(&config, &Cache::disabled());
    assert_eq!(read1.warnings.len(), 1, "{:?}", read1.warnings);
    assert!(read1.warnings[0].contains("GetSavingsPlansUtilization"), "{:?}", read1.warnings);
    assert_eq!(read1.live.commitments.len(), 2);
    assert!(read1.live.figures.is_empty());
    let calls = server.calls();
    assert!(!calls.iter().any(|c| c == "GetReservationUtilization"), "{calls:?}");

    // Nothing listens: every call is a warning, none a panic.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let unreachable = read(&sdk(&format!("http://127.0.0.1:{port}")), &Cache::disabled());
    assert!(unreachable.live.is_empty());
    let text = unreachable.warnings.join("\n");
    assert!(text.contains("DescribeSavingsPlans"), "{text}");
    assert!(text.contains("us-east-1: EC2 DescribeReservedInstances"), "{text}");
    assert!(text.contains("GetSavingsPlansUtilization"), "{text}");
}

// --- The whole binary -------------------------------------------------------------------------

/// Every other `--aws` call answered empty, in its protocol's shape: STS names the account, EC2
/// and the query services list nothing, the JSON services return `{}`, S3 no bucket.
fn empty_answer(call: &str, _body: &str) -> Answer {
    match call {
        "GetCallerIdentity" => (
            200,
            "text/xml",
            format!(
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::{ACCOUNT}:user/t</Arn><UserId>AID</UserId><Account>{ACCOUNT}</Account></GetCallerIdentityResult></GetCallerIdentityResponse>"
            ),
        ),
        c if c.starts_with("GET /") && !c.contains("2015-03-31") && !c.contains("2021-01-01") => (
            200,
            "application/xml",
            "<ListAllMyBucketsResult><Buckets></Buckets></ListAllMyBucketsResult>".into(),
        ),
        c if c.starts_with("GET ") || c.starts_with("POST ") => {
            (200, "application/json", "{}".into())
        }
        c if c.starts_with("Describe")
            && !c.contains("DB")
            && !c.contains("Cache")
            && !c.contains("Cluster")
            && !c.contains("LoadBalancer")
            && !c.contains("TargetGroup") =>
        {
            (
                200,
                "text/xml",
                format!(
                    "<{c}Response xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"></{c}Response>"
                ),
            )
        }
        c if c.chars().next().is_some_and(|ch| ch.is_ascii_uppercase())
            && !c.contains(' ')
            && !c.contains("Get")
            && !c.starts_with("List") =>
        {
            (200, "text/xml", format!("<{c}Response><{c}Result></{c}Result></{c}Response>"))
        }
        "GetCostAndUsage" => {
            (200, JSON, r#"{"ResultsByTime":[],"DimensionValueAttributes":[]}"#.into())
        }
        _ => (200, JSON, "{}".into()),
    }
}

#[test]
fn a_failed_commitment_call_ends_a_run_in_exit_3_with_the_rest_reported() {
    let server = Server::start(|call, body| {
        if call == "POST /DescribeSavingsPlans" {
            return (500, "application/json", r#"{"message":"boom"}"#.into());
        }
        commitment_answer(call, body).unwrap_or_else(|| empty_answer(call, body))
    });
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("costscope.toml");
    std::fs::write(&config, "[tags]\nrequired = []\n[aws]\nconnect_timeout_seconds = 2\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_costscope"))
        .args(["--config"])
        .arg(&config)
        .args(["commitments", "--aws", "--regions", "us-east-1", "--format", "json"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("COSTSCOPE_CACHE_DIR", home.path().join("cache"))
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", home.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.path().join("none"))
        .env("AWS_ENDPOINT_URL", server.url())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let unexpected: BTreeMap<String, usize> = server
        .calls()
        .into_iter()
        .filter(|c| commitment_answer(c, "").is_none())
        .fold(BTreeMap::new(), |mut m, c| {
            *m.entry(c).or_default() += 1;
            m
        });
    assert_eq!(out.status.code(), Some(3), "stderr: {stderr}\ncalls: {unexpected:?}");
    assert!(stderr.contains("DescribeSavingsPlans"), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let ids: Vec<&str> =
        report["commitments"].as_array().unwrap().iter().filter_map(|c| c["id"].as_str()).collect();
    // The reservation, from EC2, is intact; the plan is missing with its warning.
    assert_eq!(
        ids,
        [
            "arn:aws:ec2:us-east-1:111122223333:reserved-instances/e5a2ff3b-7d14-494f-90af-0b5d0EXAMPLE"
        ]
    );
    assert_eq!(report["cost_explorer"].as_array().map(Vec::len), Some(4), "{stdout}");
    assert_eq!(report["recommendations"].as_array().map(Vec::len), Some(2), "{stdout}");
    assert!(stderr.contains("paid request"), "{stderr}");
}
