//! `costscope notify`: the report's digest (spend and change, forecast, top savings, anomalies,
//! budget breaches) delivered to a Slack incoming webhook as Block Kit and to a generic webhook
//! as JSON, or, with `--only-on-change`, only when something that matters changed since the
//! last delivery to that destination.
//!
//! Webhook URLs are secrets: they come from the command line or from environment variables the
//! config names, and every message shows them through [`target::redact`] only.

pub mod digest;
pub mod send;
pub mod slack;
pub mod state;
pub mod target;

use std::io::Write;
use std::time::Duration;

use crate::config::{EnvVarName, NotifySettings};
use crate::report::Report;
use digest::Digest;
use send::{Policy, SendError};
use target::{SecretUrl, Target, TargetKind};

/// Per attempt, when neither `--timeout` nor the config says.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts after the first, when the config does not say.
pub const DEFAULT_RETRIES: u32 = 2;

/// A destination: where to send, or (`--dry-run` without any URL) only which body to print.
#[derive(Clone, Debug)]
pub struct Destination {
    pub kind: TargetKind,
    pub target: Option<Target>,
}

/// Everything `notify` needs besides the report, checked.
#[derive(Clone, Debug)]
pub struct Options {
    pub destinations: Vec<Destination>,
    pub only_on_change: bool,
    pub dry_run: bool,
    pub policy: Policy,
    pub thresholds: state::Thresholds,
    /// The state files' directory (`--only-on-change`).
    pub state_dir: Option<std::path::PathBuf>,
    pub quiet: bool,
}

/// The command line's part of [`Options`].
#[derive(Clone, Debug, Default)]
pub struct Flags {
    pub slack_webhook: Option<SecretUrl>,
    pub webhook: Option<SecretUrl>,
    pub only_on_change: bool,
    pub dry_run: bool,
    pub timeout: Option<Duration>,
    pub quiet: bool,
}

impl Options {
    /// Destinations from the flags, else from the variables `[notify]` names; policy and
    /// thresholds from the flags over the config over the defaults. The error is bad usage
    /// (exit 2), and quotes no URL.
    pub fn resolve(flags: &Flags, config: &NotifySettings) -> Result<Options, String> {
        let mut destinations = Vec::new();
        for (kind, flag, env, name) in [
            (TargetKind::Slack, &flags.slack_webhook, &config.slack_webhook_env, "--slack-webhook"),
            (TargetKind::Webhook, &flags.webhook, &config.webhook_env, "--webhook"),
        ] {
            let target = match (flag, env) {
                (Some(url), _) => {
                    Some(Target::new(kind, url.expose()).map_err(|e| format!("{name}: {e}"))?)
                }
                (None, Some(var)) => Some(from_env(kind, var)?),
                (None, None) => None,
            };
            if let Some(target) = target {
                destinations.push(Destination { kind, target: Some(target) });
            }
        }
        if destinations.is_empty() {
            if !flags.dry_run {
                return Err("notify needs somewhere to send: give --slack-webhook URL or \
                     --webhook URL, or name the environment variables holding them in \
                     costscope.toml ([notify] slack_webhook_env = \"VAR\", webhook_env = \"VAR\"); \
                     --dry-run prints the bodies instead"
                    .into());
            }
            if flags.only_on_change {
                return Err("--only-on-change remembers what each destination was sent: give \
                     --slack-webhook or --webhook (or [notify] *_env) with --dry-run"
                    .into());
            }
            // A preview of both bodies.
            for kind in [TargetKind::Slack, TargetKind::Webhook] {
                destinations.push(Destination { kind, target: None });
            }
        }
        let state_dir = if flags.only_on_change {
            Some(state::dir().ok_or(
                "--only-on-change keeps its state in the cache directory, and none could be \
                 named: set COSTSCOPE_CACHE_DIR (or XDG_CACHE_HOME, or HOME)",
            )?)
        } else {
            None
        };
        let defaults = state::Thresholds::default();
        Ok(Options {
            destinations,
            only_on_change: flags.only_on_change,
            dry_run: flags.dry_run,
            policy: Policy {
                timeout: flags.timeout.or(config.timeout).unwrap_or(DEFAULT_TIMEOUT),
                attempts: config.retries.unwrap_or(DEFAULT_RETRIES) + 1,
                backoff: Policy::backoff_from_env(),
            },
            thresholds: state::Thresholds {
                spend_change_percent: config
                    .min_spend_change_percent
                    .unwrap_or(defaults.spend_change_percent),
                savings_change: config.min_savings_change.unwrap_or(defaults.savings_change),
            },
            state_dir,
            quiet: flags.quiet,
        })
    }
}

fn from_env(kind: TargetKind, var: &EnvVarName) -> Result<Target, String> {
    let Some(url) = var.value() else {
        return Err(format!(
            "{} names the environment variable {}, which is not set (or empty)",
            var.origin, var.name
        ));
    };
    Target::new(kind, &url).map_err(|e| format!("{} ({}): {e}", var.origin, var.name))
}

/// Why `notify` failed after gathering the report (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Every failed delivery; the others went out.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Delivery(Vec<SendError>),
    #[error(transparent)]
    Output(#[from] crate::export::ExportError),
    #[error("building a body: {0}")]
    Body(#[from] serde_json::Error),
}

/// What happened at each destination.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Redacted targets the digest was delivered to.
    pub sent: Vec<String>,
    /// Redacted targets skipped by `--only-on-change`.
    pub unchanged: Vec<String>,
    /// Bodies printed by `--dry-run`.
    pub printed: usize,
}

/// The body sent to a destination of `kind`.
pub fn body(kind: TargetKind, digest: &Digest) -> Result<serde_json::Value, serde_json::Error> {
    match kind {
        TargetKind::Slack => Ok(slack::message(digest)),
        TargetKind::Webhook => serde_json::to_value(digest),
    }
}

/// Builds the digest of `report` and delivers it (or prints it) to each destination. A failed
/// destination does not stop the others; its state is left as it was, so it is sent again.
pub fn run(report: &Report, options: &Options) -> Result<Summary, NotifyError> {
    let digest = Digest::from_report(report);
    let mut summary = Summary::default();
    let mut failures = Vec::new();
    for destination in &options.destinations {
        let mut digest = digest.clone();
        let state_path = match (&options.state_dir, &destination.target) {
            (Some(dir), Some(target)) if options.only_on_change => Some(state::path(dir, target)),
            _ => None,
        };
        if let Some(path) = &state_path {
            let previous = state::load(path);
            digest.changes = state::changes(previous.as_ref(), &digest, &options.thresholds);
            if digest.changes.is_empty() {
                let shown = destination.target.as_ref().map(|t| t.to_string()).unwrap_or_default();
                if !options.quiet {
                    crate::export::stderr_line(format_args!(
                        "costscope: nothing changed since the last digest to {shown}; not sent"
                    ));
                }
                summary.unchanged.push(shown);
                continue;
            }
        }
        let body = body(destination.kind, &digest)?;
        let target = match (&destination.target, options.dry_run) {
            (Some(target), false) => target,
            (target, _) => {
                if !options.quiet {
                    let to = target
                        .as_ref()
                        .map_or_else(|| destination.kind.label().to_string(), |t| t.to_string());
                    crate::export::stderr_line(format_args!(
                        "costscope: dry run: the body for {to}"
                    ));
                }
                crate::export::write_output(None, |w: &mut dyn Write| {
                    crate::export::json::write_value(w, &body)
                })?;
                summary.printed += 1;
                continue;
            }
        };
        let text = crate::export::json::inert_json(&serde_json::to_string(&body)?);
        let policy = options.policy;
        let delivered =
            crate::source::block_on_own_runtime(|| send::deliver(target, &text, policy))
                .unwrap_or_else(|e| {
                    Err(SendError {
                        target: target.to_string(),
                        failure: send::Failure::Setup(e),
                        attempts: 0,
                    })
                });
        match delivered {
            Ok(d) => {
                if !options.quiet {
                    crate::export::stderr_line(format_args!(
                        "costscope: digest sent to {target} (HTTP {}, {} attempt{})",
                        d.status,
                        d.attempts,
                        if d.attempts == 1 { "" } else { "s" }
                    ));
                }
                tracing::info!(target_url = %target.redacted(), changes = ?digest.changes, "digest sent");
                if let Some(path) = &state_path {
                    let now = state::State::of(&digest, target, chrono::Utc::now());
                    if let Err(e) = state::save(path, &now) {
                        // Delivered all the same: the next run sends once more.
                        crate::export::stderr_line(format_args!(
                            "costscope: warning: the digest was sent but its state was not saved ({})",
                            crate::export::plain_text(&e.to_string())
                        ));
                    }
                }
                summary.sent.push(target.redacted().to_string());
            }
            Err(e) => {
                tracing::debug!(target_url = %target.redacted(), "delivery failed");
                failures.push(e);
            }
        }
    }
    if failures.is_empty() { Ok(summary) } else { Err(NotifyError::Delivery(failures)) }
}
