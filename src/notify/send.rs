//! POSTs a body to a [`Target`] over the hyper stack the Prometheus reader already builds
//! (rustls on ring with the system's roots for https), with a timeout per attempt and retries
//! with exponential backoff for what may pass: no answer, a broken connection, 408, 429 (its
//! `Retry-After` honoured up to a cap) and 5xx. Any other status is the request's own fault and
//! is not sent again.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};

use crate::http_client::HttpClient;

use super::target::Target;

/// The most of an answer read: hooks answer `ok` or a short error code.
const MAX_ANSWER: usize = 64 << 10;
/// The most of an answer's text an error quotes.
const MAX_DETAIL_CHARS: usize = 200;
/// The longest wait a `Retry-After` may ask for; a longer one is cut to this.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(60);
/// Overrides the backoff's base delay (milliseconds), so tests of retries take milliseconds.
/// Read here only; not a user setting.
pub const BACKOFF_ENV: &str = "COSTSCOPE_NOTIFY_BACKOFF_MS";
pub const DEFAULT_BACKOFF: Duration = Duration::from_secs(1);

/// How hard to try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// For one attempt: connecting, sending and reading the answer.
    pub timeout: Duration,
    /// 1 or more.
    pub attempts: u32,
    /// The wait before the second attempt; it doubles for each one after.
    pub backoff: Duration,
}

impl Policy {
    /// The backoff's base: [`BACKOFF_ENV`] when set to a number, else [`DEFAULT_BACKOFF`].
    pub fn backoff_from_env() -> Duration {
        std::env::var(BACKOFF_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(DEFAULT_BACKOFF, Duration::from_millis)
    }

    /// The wait before attempt `next` (2 for the first retry): `backoff × 2^(next−2)`, or what
    /// the server asked for (capped) when that is longer.
    pub fn delay(&self, next: u32, retry_after: Option<Duration>) -> Duration {
        let doubling = 1u32 << next.saturating_sub(2).min(16);
        let backoff = self.backoff.saturating_mul(doubling);
        match retry_after {
            Some(asked) => backoff.max(asked.min(RETRY_AFTER_CAP)),
            None => backoff,
        }
    }
}

/// What went wrong on the last attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server answered with a status other than 2xx; `detail` is its answer's text,
    /// cleaned (`invalid_payload`).
    Status { status: u16, reason: Option<&'static str>, detail: String },
    /// No answer within the attempt's timeout.
    TimedOut(Duration),
    /// The connection failed or broke.
    Transport(String),
    /// No request could be built (no root certificates for https).
    Setup(String),
}

impl Failure {
    fn retryable(&self) -> bool {
        match self {
            Failure::Status { status, .. } => matches!(status, 408 | 429 | 500..=599),
            Failure::TimedOut(_) | Failure::Transport(_) => true,
            Failure::Setup(_) => false,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Status { status, reason, detail } => {
                write!(f, "HTTP {status}")?;
                if let Some(reason) = reason {
                    write!(f, " {reason}")?;
                }
                if !detail.is_empty() {
                    write!(f, ": {detail}")?;
                }
                Ok(())
            }
            Failure::TimedOut(t) => write!(f, "timed out: no answer within {} s", t.as_secs_f64()),
            Failure::Transport(e) => f.write_str(e),
            Failure::Setup(e) => f.write_str(e),
        }
    }
}

/// A digest that could not be delivered. Its text names the target only redacted.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{target}: {failure} ({attempts} attempt{s})", s = if *.attempts == 1 { "" } else { "s" })]
pub struct SendError {
    /// The target as [`Target`]'s `Display` shows it.
    pub target: String,
    pub failure: Failure,
    pub attempts: u32,
}

/// A delivery: the answer's status and how many attempts it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub status: u16,
    pub attempts: u32,
}

/// POSTs `body` (JSON) to `target` until it is accepted or the policy gives up.
pub async fn deliver(target: &Target, body: &str, policy: Policy) -> Result<Delivered, SendError> {
    let fail = |failure: Failure, attempts: u32| SendError {
        target: target.to_string(),
        failure: scrubbed(target, failure),
        attempts,
    };
    let transport = HttpClient::for_url(target.url()).map_err(|e| fail(Failure::Setup(e), 0))?;
    let body = Bytes::from(body.to_string());
    let attempts = policy.attempts.max(1);
    let mut attempt = 1;
    loop {
        let (failure, retry_after) = match once(&transport, target, &body, policy.timeout).await {
            Ok(status) => return Ok(Delivered { status, attempts: attempt }),
            Err(e) => e,
        };
        if attempt >= attempts || !failure.retryable() {
            return Err(fail(failure, attempt));
        }
        let wait = policy.delay(attempt + 1, retry_after);
        tracing::info!(
            target_url = %target.redacted(),
            attempt,
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            "{}; trying again",
            target.scrub(&failure.to_string())
        );
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// One attempt: the 2xx status, or the failure and the server's `Retry-After`.
async fn once(
    transport: &HttpClient,
    target: &Target,
    body: &Bytes,
    timeout: Duration,
) -> Result<u16, (Failure, Option<Duration>)> {
    let request = http::Request::post(target.url())
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::USER_AGENT, concat!("costscope/", env!("CARGO_PKG_VERSION")))
        .body(Full::new(body.clone()))
        .map_err(|e| (Failure::Setup(e.to_string()), None))?;
    let exchange = async {
        let response = transport
            .request(request)
            .await
            .map_err(|e| Failure::Transport(crate::error_chain(&e)))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let answer = Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        Ok::<_, Failure>((status, retry_after, answer))
    };
    let (status, retry_after, answer) = match tokio::time::timeout(timeout, exchange).await {
        Err(_) => return Err((Failure::TimedOut(timeout), None)),
        Ok(Err(failure)) => return Err((failure, None)),
        Ok(Ok(answer)) => answer,
    };
    if status.is_success() {
        return Ok(status.as_u16());
    }
    let failure = Failure::Status {
        status: status.as_u16(),
        reason: status.canonical_reason(),
        detail: detail(&answer),
    };
    Err((failure, retry_after))
}

/// The start of an answer's text on one line, without control characters.
fn detail(answer: &[u8]) -> String {
    let text = String::from_utf8_lossy(answer);
    let line: String =
        crate::export::plain_text(text.trim()).chars().take(MAX_DETAIL_CHARS).collect();
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn scrubbed(target: &Target, failure: Failure) -> Failure {
    match failure {
        Failure::Status { status, reason, detail } => {
            Failure::Status { status, reason, detail: target.scrub(&detail) }
        }
        Failure::Transport(e) => Failure::Transport(target.scrub(&e)),
        Failure::Setup(e) => Failure::Setup(target.scrub(&e)),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_honours_retry_after_up_to_the_cap() {
        let p = Policy {
            timeout: Duration::from_secs(10),
            attempts: 4,
            backoff: Duration::from_secs(1),
        };
        assert_eq!(p.delay(2, None), Duration::from_secs(1));
        assert_eq!(p.delay(3, None), Duration::from_secs(2));
        assert_eq!(p.delay(4, None), Duration::from_secs(4));
        assert_eq!(p.delay(2, Some(Duration::from_secs(7))), Duration::from_secs(7));
        assert_eq!(p.delay(3, Some(Duration::from_secs(0))), Duration::from_secs(2));
        assert_eq!(p.delay(2, Some(Duration::from_secs(3600))), RETRY_AFTER_CAP);
    }

    #[test]
    fn only_transient_failures_are_retried() {
        let status = |s| Failure::Status { status: s, reason: None, detail: String::new() };
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(status(s).retryable(), "{s}");
        }
        for s in [400, 401, 403, 404, 410, 413] {
            assert!(!status(s).retryable(), "{s}");
        }
        assert!(Failure::TimedOut(Duration::from_secs(1)).retryable());
        assert!(!Failure::Setup("x".into()).retryable());
    }

    #[test]
    fn answers_are_quoted_on_one_clean_line() {
        assert_eq!(detail(b"invalid_payload\n"), "invalid_payload");
        assert_eq!(detail(b"bad\x1b]0;x\x07\r\nthing"), "bad ]0;x thing");
        assert_eq!(detail(&[b'a'; 500]).len(), MAX_DETAIL_CHARS);
        let e = SendError {
            target: "webhook http://h/…".into(),
            failure: Failure::Status {
                status: 400,
                reason: Some("Bad Request"),
                detail: "invalid_payload".into(),
            },
            attempts: 1,
        };
        assert_eq!(
            e.to_string(),
            "webhook http://h/…: HTTP 400 Bad Request: invalid_payload (1 attempt)"
        );
    }
}
