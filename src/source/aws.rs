//! `--aws`: billing from Cost Explorer, inventory from EC2, the database services (RDS and
//! Aurora, ElastiCache, OpenSearch, Redshift, DynamoDB), load balancers, CloudWatch Logs, Lambda
//! (each in `aws/<service>.rs`) and S3 (whose buckets are listed once per account, not per
//! region), and
//! utilization from CloudWatch, through the real AWS SDK and the standard credential chain, for
//! one or more profiles (one account each) and every enabled region, regions read concurrently
//! with a bound, and within a region the services at once.
//!
//! Nothing here fails a run on its own: a profile, region or service that cannot be read
//! becomes a warning on the profile's [`SourceStatus`] (state Partial or Failed), and the rest
//! is reported. Only read-only calls are made (docs/iam-policy.json lists them).

pub mod cache;
pub mod client;
pub mod cloudwatch;
pub mod commitments;
pub mod cost_explorer;
pub mod dynamodb;
pub mod ec2;
pub mod elasticache;
pub mod elb;
pub mod elbv2;
pub mod images;
pub mod lambda;
pub mod logs;
pub mod opensearch;
pub mod rds;
pub mod redshift;
pub mod s3;

use std::collections::BTreeSet;

use aws_config::SdkConfig;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Datelike, Duration, DurationRound, NaiveDate, Utc};
use futures_util::StreamExt;

use self::cache::Cache;
use self::cost_explorer::{AMORTIZED, Answer, Query, UNBLENDED, Usage};
use crate::model::inventory::Inventory;
use crate::model::utilization::UtilizationSummary;
use crate::model::{BillingSummary, Grain, SourceState, SourceStatus, TagCost, Tags};

/// Crates whose debug and trace logs carry request signing, credential resolution or raw HTTP
/// traffic. They are capped at `info` whatever the log level or RUST_LOG says, so credentials,
/// session tokens and signatures never reach a log.
pub const SENSITIVE_LOG_TARGETS: &[&str] = &[
    "aws_sigv4",
    "aws_config",
    "aws_credential_types",
    "aws_runtime",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "aws_sdk_sts",
    "aws_sdk_sso",
    "aws_sdk_ssooidc",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
];

/// Regions read at once per profile: enough to hide latency, few enough not to be throttled.
pub const REGION_CONCURRENCY: usize = 4;

/// What to read.
#[derive(Clone, Debug)]
pub struct AwsOptions {
    /// One account each; `None` is the default credential chain.
    pub profiles: Vec<Option<String>>,
    /// `None`: every region enabled for the account (DescribeRegions).
    pub regions: Option<Vec<String>>,
    pub lookback_days: u32,
    /// Ask Cost Explorer (false when a FOCUS export gives billing).
    pub billing: bool,
    /// Tag keys whose coverage Cost Explorer reports (one TAG query each).
    pub tag_keys: Vec<String>,
    pub grain: Grain,
    pub cache: Cache,
    pub now: DateTime<Utc>,
    /// One line on stderr, rewritten as regions complete (only on a terminal).
    pub progress: bool,
    pub timeouts: client::Timeouts,
    /// Read Savings Plans, reservations and Cost Explorer's commitment figures (`[aws]
    /// commitments`, default true).
    pub commitments: bool,
}

/// Everything read from every profile.
#[derive(Debug, Default)]
pub struct Collected {
    pub inventory: Inventory,
    pub utilization: Vec<UtilizationSummary>,
    pub billing: Option<BillingSummary>,
    /// One per profile.
    pub statuses: Vec<SourceStatus>,
    pub usage: Usage,
    /// Commitments from the APIs; `None` when they were not asked for.
    pub live_commitments: Option<crate::model::commitments::LiveCommitments>,
    /// When the APIs were read: ages (days stopped, snapshot age) are measured from here.
    pub as_of: DateTime<Utc>,
}

impl Collected {
    /// Whether every profile failed outright (nothing at all was read).
    pub fn all_failed(&self) -> bool {
        !self.statuses.is_empty() && self.statuses.iter().all(|s| s.state == SourceState::Failed)
    }
}

/// A call that failed, kept as the warning text the report shows: region (when any), service,
/// call and the SDK's own description (error code and message; never credentials).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiFailure {
    pub service: &'static str,
    pub call: &'static str,
    pub message: String,
}

impl ApiFailure {
    /// The failure of one SDK call, said in one line: a service's error as its code and
    /// message, anything else (timeout, connection reset, cut-off answer) as the chain of
    /// causes. Never the SDK's debug form, which dumps the raw response (headers, body bytes).
    pub fn new<E, R>(service: &'static str, call: &'static str, error: SdkError<E, R>) -> ApiFailure
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        let message = match &error {
            SdkError::ServiceError(e) => match (e.err().code(), e.err().message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_string(),
                _ => crate::error_chain(&error),
            },
            _ => crate::error_chain(&error),
        };
        ApiFailure { service, call, message }
    }

    pub fn message(service: &'static str, call: &'static str, message: String) -> ApiFailure {
        ApiFailure { service, call, message }
    }
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} failed: {}", self.service, self.call, self.message)
    }
}

pub fn to_chrono(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// Turns a failed call of `service` into an [`ApiFailure`] naming the call.
pub(crate) fn fail<E, R>(
    service: &'static str,
    call: &'static str,
) -> impl Fn(SdkError<E, R>) -> ApiFailure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    move |e| ApiFailure::new(service, call, e)
}

/// An API string that is present and not empty (emulators write `""` where AWS leaves a field
/// out).
pub(crate) fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_string)
}

/// A count from the API (`i32`/`i64`), negative read as zero.
pub(crate) fn count<T: TryInto<u64>>(n: Option<T>) -> u64 {
    n.and_then(|n| n.try_into().ok()).unwrap_or(0)
}

/// The ARN partition of a region, for the ARNs an API does not return (Redshift clusters).
pub(crate) fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Tag calls in flight at once, per service and region.
const TAG_CONCURRENCY: usize = 4;

/// The tags of each resource, one call per resource (`ids` in order; `None` where the call
/// failed), and the first failure, counting the others: the same refusal would repeat for each.
pub(crate) async fn tags_of<F, Fut>(
    ids: Vec<String>,
    ask: F,
) -> (Vec<Option<Tags>>, Option<ApiFailure>)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Tags, ApiFailure>>,
{
    let answers: Vec<Result<Tags, ApiFailure>> =
        futures_util::stream::iter(ids).map(ask).buffered(TAG_CONCURRENCY).collect().await;
    split_failures(answers)
}

/// Answers of one call per resource, in order (`None` where the call failed), and the first
/// failure, counting the others: the same refusal would repeat for each, so it is one warning.
pub(crate) fn split_failures<T>(
    answers: Vec<Result<T, ApiFailure>>,
) -> (Vec<Option<T>>, Option<ApiFailure>) {
    let mut first: Option<ApiFailure> = None;
    let mut failed = 0usize;
    let values = answers
        .into_iter()
        .map(|a| match a {
            Ok(value) => Some(value),
            Err(e) => {
                failed += 1;
                first.get_or_insert(e);
                None
            }
        })
        .collect();
    if let Some(f) = first.as_mut()
        && failed > 1
    {
        f.message = format!("{} (and {} more)", f.message, failed - 1);
    }
    (values, first)
}

/// What one database service gave in one region: its resources, and what it could not read
/// without failing the whole list (tags of some resources).
#[derive(Debug, Default)]
pub struct ServiceRead {
    pub inventory: Inventory,
    pub warnings: Vec<ApiFailure>,
}

/// Reads every profile, on a runtime of its own (callable from synchronous code and from inside
/// tokio alike).
pub fn read(options: &AwsOptions) -> Collected {
    super::block_on_own_runtime(|| read_async(options))
        .unwrap_or_else(|e| failed_everywhere(options, &format!("AWS: {e}")))
}

fn failed_everywhere(options: &AwsOptions, message: &str) -> Collected {
    Collected {
        as_of: options.now,
        statuses: options
            .profiles
            .iter()
            .map(|p| SourceStatus {
                name: status_name(p.as_deref(), None),
                state: SourceState::Failed,
                warnings: vec![message.to_string()],
                notes: Vec::new(),
            })
            .collect(),
        ..Default::default()
    }
}

fn status_name(profile: Option<&str>, account: Option<&str>) -> String {
    let profile = profile.unwrap_or("default");
    match account {
        Some(a) => format!("aws:{profile} ({a})"),
        None => format!("aws:{profile}"),
    }
}

/// What one profile gave.
struct ProfileRead {
    status: SourceStatus,
    inventory: Inventory,
    utilization: Vec<UtilizationSummary>,
    service_answer: Option<Answer>,
    tag_answers: Vec<(String, Answer)>,
    usage: Usage,
    live: Option<crate::model::commitments::LiveCommitments>,
}

async fn read_async(options: &AwsOptions) -> Collected {
    let mut out = Collected { as_of: options.now, ..Default::default() };
    let mut service_answers = Vec::new();
    let mut tag_answers: Vec<(String, Answer)> = Vec::new();
    // Profiles one after another: each already reads its regions concurrently.
    for profile in &options.profiles {
        let read = read_profile(profile.as_deref(), options).await;
        out.inventory.extend(read.inventory);
        out.utilization.extend(read.utilization);
        service_answers.extend(read.service_answer);
        tag_answers.extend(read.tag_answers);
        out.usage.paid_requests += read.usage.paid_requests;
        out.usage.cached_answers += read.usage.cached_answers;
        if let Some(live) = read.live {
            out.live_commitments.get_or_insert_with(Default::default).extend(live);
        }
        out.statuses.push(read.status);
    }
    out.inventory.sort();
    out.utilization.sort_by(|a, b| a.resource_id.cmp(&b.resource_id));
    if options.billing && !service_answers.is_empty() {
        match billing(&service_answers, &tag_answers, options) {
            Ok(b) => out.billing = Some(b),
            Err(e) => {
                if let Some(s) = out.statuses.first_mut() {
                    s.state = SourceState::Partial;
                    s.warnings.push(format!("Cost Explorer: {e}"));
                }
            }
        }
    }
    // Commitment figures are paid too, also when a FOCUS export gave billing.
    if options.billing || out.usage.paid_requests + out.usage.cached_answers > 0 {
        let note = format!(
            "Cost Explorer: {} paid request{} (0.01 USD each), {} answer{} from the cache",
            out.usage.paid_requests,
            if out.usage.paid_requests == 1 { "" } else { "s" },
            out.usage.cached_answers,
            if out.usage.cached_answers == 1 { "" } else { "s" },
        );
        if let Some(s) = out.statuses.first_mut() {
            s.notes.push(note);
        }
    }
    out
}

fn billing(
    service_answers: &[Answer],
    tag_answers: &[(String, Answer)],
    options: &AwsOptions,
) -> Result<BillingSummary, String> {
    let mut summary = cost_explorer::billing(service_answers, "aws:cost-explorer", options.grain)?;
    let mut tag_costs: Vec<TagCost> = Vec::new();
    let keys: BTreeSet<&str> = tag_answers.iter().map(|(k, _)| k.as_str()).collect();
    for key in keys {
        let answers: Vec<Answer> =
            tag_answers.iter().filter(|(k, _)| k == key).map(|(_, a)| a.clone()).collect();
        tag_costs.extend(cost_explorer::tag_costs(&answers, key)?);
    }
    summary.tag_costs = tag_costs;
    Ok(summary)
}

async fn read_profile(profile: Option<&str>, options: &AwsOptions) -> ProfileRead {
    let mut read = ProfileRead {
        status: SourceStatus {
            name: status_name(profile, None),
            state: SourceState::Ok,
            warnings: Vec::new(),
            notes: Vec::new(),
        },
        inventory: Inventory::default(),
        utilization: Vec::new(),
        service_answer: None,
        tag_answers: Vec::new(),
        usage: Usage::default(),
        live: None,
    };
    let config = client::load(profile, None, options.timeouts).await;
    let sts = aws_sdk_sts::Client::new(&config);
    let account = match sts.get_caller_identity().send().await {
        Ok(identity) => identity.account().unwrap_or_default().to_string(),
        Err(e) => {
            read.status.state = SourceState::Failed;
            read.status.warnings.push(ApiFailure::new("STS", "GetCallerIdentity", e).to_string());
            return read;
        }
    };
    read.status.name = status_name(profile, Some(&account));

    let regions = match &options.regions {
        Some(r) => r.clone(),
        None => match enabled_regions(&config).await {
            Ok(r) => r,
            Err(e) => {
                read.status.state = SourceState::Failed;
                read.status.warnings.push(e.to_string());
                return read;
            }
        },
    };
    tracing::info!(account = %account, regions = regions.len(), "reading AWS");

    let total = regions.len();
    let mut done = 0usize;
    let inventory = futures_util::stream::iter(regions.iter())
        .map(|region| read_region(&config, &account, region, options))
        .buffer_unordered(REGION_CONCURRENCY)
        .inspect(|r| {
            done += 1;
            if options.progress {
                let line = format!("AWS {account}: {done}/{total} regions read ({})", r.region);
                // Erase the line, then print it cleaned: region names come from the API.
                crate::export::stderr_text(format_args!(
                    "\r\x1b[2Kcostscope: {}",
                    crate::export::plain_text(&line)
                ));
                if done == total {
                    crate::export::stderr_line(format_args!(""));
                }
            }
        })
        .collect::<Vec<_>>();
    let cost = async {
        if !options.billing {
            return (None, Vec::new(), Usage::default(), Vec::new());
        }
        read_cost_explorer(&config, &account, options).await
    };
    let buckets = read_s3(&config, &account, options);
    let (regions_read, (service_answer, tag_answers, usage, cost_warnings), buckets) =
        futures_util::future::join3(inventory, cost, buckets).await;

    let mut regions_read = regions_read;
    regions_read.sort_by(|a, b| a.region.cmp(&b.region));
    for r in regions_read {
        read.inventory.extend(r.inventory);
        read.utilization.extend(r.utilization);
        read.status.warnings.extend(r.warnings);
    }
    read.inventory.extend(buckets.inventory);
    read.utilization.extend(buckets.utilization);
    read.status.warnings.extend(buckets.warnings);
    read.service_answer = service_answer;
    read.tag_answers = tag_answers;
    read.usage = usage;
    read.status.warnings.extend(cost_warnings);
    if options.commitments {
        let period = billing_period(options.now, options.lookback_days);
        let c = commitments::read(&config, &account, &regions, period, &options.cache).await;
        read.usage.paid_requests += c.usage.paid_requests;
        read.usage.cached_answers += c.usage.cached_answers;
        read.status.warnings.extend(c.warnings);
        read.live = Some(c.live);
    }
    if !read.status.warnings.is_empty() {
        read.status.state = SourceState::Partial;
    }
    read
}

async fn enabled_regions(config: &SdkConfig) -> Result<Vec<String>, ApiFailure> {
    let ec2 = aws_sdk_ec2::Client::new(config);
    let response = ec2
        .describe_regions()
        .send()
        .await
        .map_err(|e| ApiFailure::new("EC2", "DescribeRegions", e))?;
    let mut regions: Vec<String> =
        response.regions().iter().filter_map(|r| r.region_name().map(str::to_string)).collect();
    regions.sort();
    Ok(regions)
}

struct RegionRead {
    region: String,
    inventory: Inventory,
    utilization: Vec<UtilizationSummary>,
    warnings: Vec<String>,
}

async fn read_region(
    config: &SdkConfig,
    account: &str,
    region: &str,
    options: &AwsOptions,
) -> RegionRead {
    let mut out = RegionRead {
        region: region.to_string(),
        inventory: Inventory::default(),
        utilization: Vec::new(),
        warnings: Vec::new(),
    };
    tracing::debug!(region = %region, "region start");
    read_region_apis(config, account, region, options, &mut out).await;
    tracing::debug!(
        region = %region,
        resources = out.inventory.len(),
        warnings = out.warnings.len(),
        "region done"
    );
    out
}

async fn read_region_apis(
    config: &SdkConfig,
    account: &str,
    region: &str,
    options: &AwsOptions,
    out: &mut RegionRead,
) {
    let config = client::in_region(config, region);
    // EC2 and each database service at once: none waits for another, and none failing stops
    // the others.
    let ec2 = async {
        let ec2 = aws_sdk_ec2::Client::new(&config);
        ec2::inventory(&ec2, account, region)
            .await
            .map(|inventory| ServiceRead { inventory, warnings: Vec::new() })
    };
    let rds = async {
        let rds = aws_sdk_rds::Client::new(&config);
        rds::inventory(&rds, account, region)
            .await
            .map(|inventory| ServiceRead { inventory, warnings: Vec::new() })
    };
    let elasticache = async {
        let client = aws_sdk_elasticache::Client::new(&config);
        elasticache::inventory(&client, account, region).await
    };
    let opensearch = async {
        let client = aws_sdk_opensearch::Client::new(&config);
        opensearch::inventory(&client, account, region).await
    };
    let redshift = async {
        let client = aws_sdk_redshift::Client::new(&config);
        redshift::inventory(&client, account, region)
            .await
            .map(|inventory| ServiceRead { inventory, warnings: Vec::new() })
    };
    let dynamodb = async {
        let client = aws_sdk_dynamodb::Client::new(&config);
        dynamodb::inventory(&client, account, region).await
    };
    let images = async {
        let ec2 = aws_sdk_ec2::Client::new(&config);
        images::inventory(&ec2, account, region).await
    };
    let elbv2 = async {
        let client = aws_sdk_elasticloadbalancingv2::Client::new(&config);
        elbv2::inventory(&client, account, region).await
    };
    let elb = async {
        let client = aws_sdk_elasticloadbalancing::Client::new(&config);
        elb::inventory(&client, account, region).await
    };
    let logs = async {
        let client = aws_sdk_cloudwatchlogs::Client::new(&config);
        logs::inventory(&client, account, region).await
    };
    let lambda = async {
        let client = aws_sdk_lambda::Client::new(&config);
        lambda::inventory(&client, account, region).await
    };
    let (ec2, images, rds, elasticache, opensearch, redshift, dynamodb, elbv2, elb, logs, lambda) = tokio::join!(
        ec2,
        images,
        rds,
        elasticache,
        opensearch,
        redshift,
        dynamodb,
        elbv2,
        elb,
        logs,
        lambda
    );
    // Without the instances, every AMI would look unused: the images go with them.
    let images = match (&ec2, images) {
        (Ok(_), images) => images.map(|inventory| ServiceRead { inventory, warnings: Vec::new() }),
        (Err(_), Ok(_)) => Ok(ServiceRead::default()),
        (Err(_), Err(e)) => Err(e),
    };
    for read in
        [ec2, images, rds, elasticache, opensearch, redshift, dynamodb, elbv2, elb, logs, lambda]
    {
        match read {
            Ok(read) => {
                out.inventory.extend(read.inventory);
                out.warnings.extend(read.warnings.iter().map(|w| format!("{region}: {w}")));
            }
            // The service's resources are left out; CloudWatch is still asked about the rest.
            Err(e) => out.warnings.push(format!("{region}: {e}")),
        }
    }

    let mut targets = cloudwatch::Targets::of(&out.inventory, account);
    let functions = targets.take_long_window();
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&config);
    if !targets.is_empty() {
        let (start, end) = metrics_window(options.now, options.lookback_days);
        match cloudwatch::utilization(&cloudwatch, &targets, start, end, options.lookback_days)
            .await
        {
            Ok(u) => out.utilization = u,
            Err(e) => out.warnings.push(format!("{region}: {e}")),
        }
    }
    if !functions.is_empty() {
        let days = long_lookback(options.lookback_days);
        let (start, end) = metrics_window(options.now, days);
        match cloudwatch::utilization(&cloudwatch, &functions, start, end, days).await {
            Ok(u) => out.utilization.extend(u),
            Err(e) => out.warnings.push(format!("{region}: {e}")),
        }
    }
}

/// Lambda's and S3's window: at least 30 days, so "not invoked for 30 days" can be said and a
/// bucket's oldest bytes are at least a lifecycle transition's age.
pub const LONG_LOOKBACK_DAYS: u32 = 30;

pub fn long_lookback(lookback_days: u32) -> u32 {
    lookback_days.max(LONG_LOOKBACK_DAYS)
}

/// What S3 gave for one profile.
#[derive(Default)]
struct BucketsRead {
    inventory: Inventory,
    utilization: Vec<UtilizationSummary>,
    warnings: Vec<String>,
}

/// The account's buckets (in the regions read), and their daily storage from CloudWatch in each
/// bucket's own region. A failure is a warning; the rest of the run goes on.
async fn read_s3(config: &SdkConfig, account: &str, options: &AwsOptions) -> BucketsRead {
    let mut out = BucketsRead::default();
    let read = match s3::inventory(config, account, options.regions.as_deref()).await {
        Ok(read) => read,
        Err(e) => {
            out.warnings.push(e.to_string());
            return out;
        }
    };
    out.warnings.extend(read.warnings.iter().map(ToString::to_string));
    let days = long_lookback(options.lookback_days);
    // Whole days, one more than the window: 31 daily points span 30 days, so bytes already
    // there on the first are a 30-day transition's age.
    let end = options.now.duration_trunc(Duration::days(1)).unwrap_or(options.now);
    let start = end - Duration::days(i64::from(days) + 1);
    let regions: BTreeSet<&str> =
        read.inventory.s3_buckets.iter().map(|b| b.region.as_str()).collect();
    for region in regions {
        let buckets = Inventory {
            s3_buckets: read
                .inventory
                .s3_buckets
                .iter()
                .filter(|b| b.region == region)
                .cloned()
                .collect(),
            ..Default::default()
        };
        let targets = cloudwatch::Targets::of(&buckets, account);
        let cloudwatch = aws_sdk_cloudwatch::Client::new(&client::in_region(config, region));
        match cloudwatch::utilization(&cloudwatch, &targets, start, end, days).await {
            Ok(u) => out.utilization.extend(u),
            Err(e) => out.warnings.push(format!("{region}: {e}")),
        }
    }
    out.inventory = read.inventory;
    out
}

/// Whole hours: `[now − lookback, now)` with both ends on the hour, so hourly buckets are
/// CloudWatch's own.
pub fn metrics_window(now: DateTime<Utc>, lookback_days: u32) -> (DateTime<Utc>, DateTime<Utc>) {
    let end = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
    (end - Duration::days(i64::from(lookback_days)), end)
}

/// Cost Explorer's period: the lookback and the month to date, whichever starts earlier, up to
/// today (exclusive: today's costs are still coming in).
pub fn billing_period(now: DateTime<Utc>, lookback_days: u32) -> (NaiveDate, NaiveDate) {
    let today = now.date_naive();
    let month_start = today.with_day(1).unwrap_or(today);
    let lookback_start = today - Duration::days(i64::from(lookback_days));
    (month_start.min(lookback_start), today)
}

type CostRead = (Option<Answer>, Vec<(String, Answer)>, Usage, Vec<String>);

async fn read_cost_explorer(config: &SdkConfig, account: &str, options: &AwsOptions) -> CostRead {
    let config = client::for_cost_explorer(config);
    let ce = aws_sdk_costexplorer::Client::new(&config);
    let (start, end) = billing_period(options.now, options.lookback_days);
    let mut usage = Usage::default();
    let mut warnings = Vec::new();
    if start >= end {
        return (None, Vec::new(), usage, warnings);
    }
    let query = |group_by: Vec<String>, metrics: &[&str]| Query {
        account_id: account.to_string(),
        start,
        end,
        group_by,
        metrics: metrics.iter().map(|m| m.to_string()).collect(),
    };
    let services = query(
        vec!["DIMENSION:SERVICE".into(), "DIMENSION:LINKED_ACCOUNT".into()],
        &[UNBLENDED, AMORTIZED],
    );
    let service_answer = match cost_explorer::ask(&ce, &options.cache, &services, &mut usage).await
    {
        Ok(a) => Some(a),
        Err(e) => {
            warnings.push(e.to_string());
            // The same failure would repeat for every tag key; don't pay for it.
            return (None, Vec::new(), usage, warnings);
        }
    };
    let mut tag_answers = Vec::new();
    for key in &options.tag_keys {
        let q = query(vec![format!("TAG:{key}"), "DIMENSION:LINKED_ACCOUNT".into()], &[UNBLENDED]);
        match cost_explorer::ask(&ce, &options.cache, &q, &mut usage).await {
            Ok(a) => tag_answers.push((key.clone(), a)),
            Err(e) => warnings.push(format!("tag {key}: {e}")),
        }
    }
    (service_answer, tag_answers, usage, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).single().unwrap_or_default()
    }

    #[test]
    fn api_failures_are_one_line_without_the_raw_response() {
        use aws_sdk_ec2::operation::describe_instances::DescribeInstancesError;
        use aws_smithy_types::error::ErrorMetadata;
        let throttled = DescribeInstancesError::generic(
            ErrorMetadata::builder()
                .code("RequestLimitExceeded")
                .message("Request limit exceeded.")
                .build(),
        );
        let raw = "HTTP/1.1 503 x-amzn-requestid: raw-response-never-shown";
        let failure =
            ApiFailure::new("EC2", "DescribeInstances", SdkError::service_error(throttled, raw));
        assert_eq!(
            failure.to_string(),
            "EC2 DescribeInstances failed: RequestLimitExceeded: Request limit exceeded."
        );
        let timeout: SdkError<DescribeInstancesError, &str> =
            SdkError::timeout_error("operation timeout occurred after 7s");
        let failure = ApiFailure::new("EC2", "DescribeInstances", timeout).to_string();
        assert_eq!(
            failure,
            "EC2 DescribeInstances failed: request has timed out: \
             operation timeout occurred after 7s"
        );
    }

    #[test]
    fn failed_tag_calls_leave_those_untagged_and_are_one_warning() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let ids = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let (tags, failure) = runtime.block_on(tags_of(ids, |id| async move {
            if id == "a" {
                Ok(Tags::from([("team".to_string(), "web".to_string())]))
            } else {
                Err(ApiFailure::message(
                    "ElastiCache",
                    "ListTagsForResource",
                    format!("denied {id}"),
                ))
            }
        }));
        assert_eq!(tags.len(), 3);
        assert_eq!(tags[0].as_ref().and_then(|t| t.get("team")).map(String::as_str), Some("web"));
        assert_eq!((&tags[1], &tags[2]), (&None, &None));
        assert_eq!(
            failure.map(|f| f.to_string()).as_deref(),
            Some("ElastiCache ListTagsForResource failed: denied b (and 1 more)")
        );
    }

    #[test]
    fn arn_partitions_follow_the_region() {
        assert_eq!(partition("eu-west-1"), "aws");
        assert_eq!(partition("cn-northwest-1"), "aws-cn");
        assert_eq!(partition("us-gov-east-1"), "aws-us-gov");
    }

    #[test]
    fn the_metrics_window_is_whole_hours_over_the_lookback() {
        let (start, end) = metrics_window(at(2026, 11, 27, 10, 42), 14);
        assert_eq!(end, at(2026, 11, 27, 10, 0));
        assert_eq!(start, at(2026, 11, 13, 10, 0));
    }

    #[test]
    fn the_billing_period_covers_the_lookback_and_the_month_to_date() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap_or_default();
        assert_eq!(billing_period(at(2026, 11, 27, 10, 0), 14), (day(1), day(27)));
        let (start, end) = billing_period(at(2026, 11, 5, 10, 0), 14);
        assert_eq!(
            (start, end),
            (NaiveDate::from_ymd_opt(2026, 10, 22).unwrap_or_default(), day(5))
        );
    }
}
