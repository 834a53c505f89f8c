//! The costscope binary: parse arguments, set up logging, run, map the outcome to an exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use costscope::app::{UsageError, run};
use costscope::cli::{Cli, LogFormat};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // Log lines would tear the dashboard's screen: it reports through its status bar instead.
    let dashboard = matches!(cli.command, Some(costscope::cli::Command::Tui(_)) | None);
    init_logging(&cli.global.log_level, cli.global.quiet || dashboard, cli.global.log_format);
    match run(cli) {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(err) => {
            costscope::export::stderr_line(format_args!(
                "costscope: error: {}",
                costscope::export::plain_text(&costscope::error_chain(err.as_ref()))
            ));
            ExitCode::from(exit_code(&err))
        }
    }
}

/// Logs go to stderr with UTC timestamps (tracing-subscriber's default clock prints RFC 3339
/// in UTC), coloured only on a terminal; `json` is one object a line for log collectors.
fn init_logging(level: &str, quiet: bool, format: LogFormat) {
    let mut filter = if quiet {
        tracing_subscriber::EnvFilter::new("error")
    } else {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level))
    };
    for target in costscope::source::aws::SENSITIVE_LOG_TARGETS {
        if let Ok(cap) = format!("{target}=info").parse() {
            filter = filter.add_directive(cap);
        }
    }
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(|| LossyStderr);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
}

/// Stderr for log lines, dropping what cannot be written: tracing-subscriber reports a failed
/// write with `eprintln!`, which panics when stderr is a broken pipe (a log collector that
/// died), turning a finished cron run into exit 101.
struct LossyStderr;

impl std::io::Write for LossyStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().lock().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// 2 for bad usage or bad input, 1 for everything else.
fn exit_code(err: &anyhow::Error) -> u8 {
    let bad_input = err.chain().any(|e| {
        e.is::<UsageError>()
            || e.is::<costscope::config::ConfigError>()
            || e.is::<costscope::analysis::rules::RuleError>()
            || e.is::<costscope::pricing::catalog::PricingError>()
            || e.is::<costscope::suppressions::SuppressionError>()
            || e.downcast_ref::<costscope::report::GatherError>().is_some_and(|g| g.is_bad_input())
            || e.downcast_ref::<costscope::source::SourceError>().is_some_and(|s| s.is_bad_input())
    });
    if bad_input { 2 } else { 1 }
}
