//! The SDK configuration every AWS call shares: the standard credential chain for one profile,
//! rustls on ring for TLS, retries with backoff, and a timeout per call.
//!
//! Endpoints are never set here: aws-config reads `AWS_ENDPOINT_URL` and
//! `AWS_ENDPOINT_URL_<SERVICE>` itself, which is how LocalStack, moto or a VPC endpoint are
//! reached without flags.

use std::time::Duration;

use aws_config::retry::{RetryConfig, RetryMode};
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

/// Cost Explorer answers from us-east-1 whatever region the account works in.
pub const COST_EXPLORER_REGION: &str = "us-east-1";

/// Attempts per call, the first included. Throttling backs off exponentially with jitter.
const MAX_ATTEMPTS: u32 = 4;

/// How long a call may take (`[aws]` `*_timeout_seconds` of the config). A region that hangs
/// becomes a warning after `call` instead of stalling the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// To open a connection.
    pub connect: Duration,
    /// One attempt: a slow answer past this is retried.
    pub attempt: Duration,
    /// The whole call, retries and their backoff included.
    pub call: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            attempt: Duration::from_secs(20),
            call: Duration::from_secs(60),
        }
    }
}

/// Loads the configuration of `profile` (the default chain when `None`), in `region` when given,
/// else the profile's own region, else us-east-1.
pub async fn load(profile: Option<&str>, region: Option<&str>, timeouts: Timeouts) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .retry_config(retry(RetryMode::Standard))
        .timeout_config(timeout_config(timeouts));
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_string()));
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return config.into_builder().region(Region::from_static("us-east-1")).build();
    }
    config
}

/// HTTPS (and plain HTTP, for emulators) with rustls on ring.
pub fn http_client() -> aws_sdk_ec2::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The same configuration in another region.
pub fn in_region(config: &SdkConfig, region: &str) -> SdkConfig {
    config.clone().into_builder().region(Region::new(region.to_string())).build()
}

/// Cost Explorer bills each request and throttles hard: adaptive retry paces the client
/// instead of burning attempts.
pub fn for_cost_explorer(config: &SdkConfig) -> SdkConfig {
    config
        .clone()
        .into_builder()
        .region(Region::from_static(COST_EXPLORER_REGION))
        .retry_config(retry(RetryMode::Adaptive))
        .build()
}

fn retry(mode: RetryMode) -> RetryConfig {
    let config = match mode {
        RetryMode::Adaptive => RetryConfig::adaptive(),
        _ => RetryConfig::standard(),
    };
    config
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(5))
}

fn timeout_config(timeouts: Timeouts) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(timeouts.connect)
        .operation_attempt_timeout(timeouts.attempt)
        .operation_timeout(timeouts.call)
        .build()
}
