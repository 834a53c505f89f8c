//! The command line: commands, sources and output flags (see PRODUCT.md for the contract).

pub mod generate;

use std::path::PathBuf;

use crate::source::billing::{BillingInput, Scheme};

use clap::{Args, Parser, Subcommand};

use crate::analysis::costs::Dimension;
use crate::export::Format;

#[derive(Debug, Parser)]
#[command(name = "costscope", version, about = "FinOps cost analyzer for the terminal")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file (default: $XDG_CONFIG_HOME/costscope/costscope.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Extra rule files; a rule here replaces a built-in rule with the same id.
    #[arg(long, global = true, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Log level on stderr (error, warn, info, debug, trace); RUST_LOG also works.
    #[arg(long, global = true, default_value = "warn", value_name = "LEVEL")]
    pub log_level: String,
    /// Only errors on stderr.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Log line format on stderr: text, or json (one object a line); timestamps are UTC.
    #[arg(long, global = true, default_value = "text", value_name = "text|json")]
    pub log_format: LogFormat,
    /// Seconds to wait for another run writing the same --out (its `<out>.lock`) before
    /// giving up with exit 1; 0 gives up at once.
    #[arg(long, global = true, default_value_t = 60, value_name = "SECS")]
    pub lock_timeout: u64,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The interactive dashboard (bare `costscope` on a terminal opens it too).
    Tui(TuiArgs),
    /// Savings recommendations with evidence.
    Report(ReportArgs),
    /// Billing grouped by one dimension.
    Costs(CostsArgs),
    /// What changed: each group's cost this period against the period before.
    ///
    /// Month to date against the same days of the month before, else week or day; top movers,
    /// new and vanished groups.
    Trends(TrendsArgs),
    /// Budgets of the config (`[[budget]]`): actual, forecast and status.
    ///
    /// Actual to date, forecast to the period's end, variance, status and what drives it.
    Budgets(BudgetsArgs),
    /// Days whose usage spend is far above its usual level, per group.
    ///
    /// The usual level is a robust baseline of the days before; `[anomalies]` of the config sets
    /// window and thresholds.
    Anomalies(AnomaliesArgs),
    /// Unit costs of the config (`[[unit]]`), this period against the one before.
    ///
    /// Cost per cluster, node, namespace, workload, tag value or daily count.
    Units(UnitsArgs),
    /// Showback and chargeback: each team's direct cost, its share of each shared pool (tax,
    /// support, untagged spend if configured), total and share of the bill; the teams plus the
    /// `unallocated` line equal the bill exactly (`[allocation]` of the config).
    Allocate(AllocateArgs),
    /// Tag coverage of required keys, untagged resources, normalization issues.
    Tags(TagsArgs),
    /// Commitment discounts: utilization, coverage and what to buy.
    ///
    /// Savings Plans, reservations and committed use discounts: utilization, coverage of
    /// eligible compute, and what to buy.
    Commitments(CommitmentsArgs),
    /// The report's digest to Slack and/or a generic JSON webhook.
    ///
    /// Spend and change, forecast, top savings, anomalies and budget breaches, to a Slack
    /// incoming webhook (Block Kit) and/or a generic JSON webhook.
    Notify(NotifyArgs),
    /// Gather the sources into one snapshot file.
    Collect(CollectArgs),
    /// List or check rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// The completion script of a shell, on standard output (install lines: README).
    Completions {
        /// The shell the script is for.
        shell: clap_complete::Shell,
    },
    /// The man page (roff) of every command on standard output, or with --out-dir a page each.
    Man {
        /// Write costscope.1 and a page per command (costscope-report.1,
        /// costscope-rules-check.1, ...) into DIR, created if missing, as packages install them
        /// into man1/.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

/// Where the data comes from.
#[derive(Debug, Args, Clone)]
pub struct SourceArgs {
    /// The bundled sample data set (a month of FOCUS billing and a matching inventory).
    #[arg(long)]
    pub sample: bool,
    /// A FOCUS 1.x billing export (repeatable): CSV, gzipped or zipped CSV, or Parquet (told
    /// apart by their first bytes), or `s3://BUCKET/PREFIX` for a Data Export's files.
    #[arg(long, value_name = "FILE")]
    pub focus: Vec<PathBuf>,
    /// An AWS Cost and Usage Report, legacy or CUR 2.0 (repeatable): CSV, gzipped or zipped
    /// CSV, or Parquet, or `s3://BUCKET/PREFIX` for the report's delivery prefix. Mapped to
    /// FOCUS as docs/cur-mapping.md says.
    #[arg(long, value_name = "FILE")]
    pub cur: Vec<PathBuf>,
    /// A billing table in Amazon Athena, `DB.TABLE` or `TABLE` (AWS Data Exports' FOCUS 1.x or
    /// CUR 2.0 table): the aggregation runs in Athena, one query per read, and only grouped rows
    /// come back. Database, workgroup and result location from `[athena]` of the config or the
    /// flags below; the bytes each query scans are printed (5 USD per TB); answers are cached.
    #[arg(long, value_name = "[DB.]TABLE")]
    pub athena: Option<String>,
    /// The Athena database of --athena TABLE (`[athena] database`).
    #[arg(long, value_name = "NAME")]
    pub athena_database: Option<String>,
    /// The Athena workgroup queries run in (`[athena] workgroup`; default: primary).
    #[arg(long, value_name = "NAME")]
    pub athena_workgroup: Option<String>,
    /// Where Athena writes query results, s3://BUCKET/PREFIX/ (`[athena] output_location`;
    /// default: the workgroup's).
    #[arg(long, value_name = "S3_URL")]
    pub athena_output: Option<String>,
    /// Seconds an Athena query may run before it is stopped (`[athena] timeout_seconds`;
    /// default 600).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub athena_timeout: Option<u64>,
    /// The first billing month an Athena query reads (YYYY-MM): a WHERE on the table's
    /// billing_period partitions, so Athena scans (and bills) only those months.
    #[arg(long, value_name = "YYYY-MM", value_parser = billing_month)]
    pub athena_since: Option<String>,
    /// The last billing month an Athena query reads (YYYY-MM, inclusive).
    #[arg(long, value_name = "YYYY-MM", value_parser = billing_month)]
    pub athena_until: Option<String>,
    /// `[athena]` of the config, under the flags above.
    #[arg(skip)]
    pub athena_config: crate::source::billing::athena::AthenaSettings,
    /// A snapshot written by `costscope collect`.
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
    /// Skip malformed billing rows instead of failing; their count is reported.
    #[arg(long)]
    pub skip_invalid: bool,
    /// A live Kubernetes cluster through the kubeconfig (KUBECONFIG, else ~/.kube/config; the
    /// in-cluster config when running as a pod): nodes, pods and metrics.k8s.io usage.
    #[arg(long)]
    pub kube: bool,
    /// The kubeconfig context to read (repeatable, one cluster each; implies --kube).
    #[arg(long, value_name = "NAME")]
    pub context: Vec<String>,
    /// A directory of `kubectl get nodes -o json` (nodes.json), `kubectl get pods -A -o json`
    /// (pods.json) and, optionally, `kubectl get --raw /apis/metrics.k8s.io/v1beta1/nodes` and
    /// `/pods` output (node-metrics.json, pod-metrics.json). Repeatable.
    #[arg(long, value_name = "DIR")]
    pub kube_dump: Vec<PathBuf>,
    /// Prometheus (base URL, http or https) for Kubernetes usage history: per container, CPU
    /// p95 and memory max over --lookback-days, as krr queries them, for findings with high
    /// confidence. A bearer token is read from COSTSCOPE_PROMETHEUS_TOKEN. Containers without
    /// history keep metrics-server's single sample; a failing Prometheus is a warning (exit 3).
    #[arg(long, value_name = "URL", value_parser = prometheus_url)]
    pub prometheus: Option<String>,
    /// Live AWS through the standard credential chain: Cost Explorer billing (unless --focus
    /// gives billing), EC2 inventory and CloudWatch utilization. Endpoints follow
    /// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>.
    #[arg(long)]
    pub aws: bool,
    /// An AWS profile of the shared config files (repeatable: one account each; implies --aws).
    #[arg(long, value_name = "NAME")]
    pub profile: Vec<String>,
    /// AWS regions to read, comma separated (default: every region enabled for the account).
    #[arg(long, value_delimiter = ',', value_name = "REGIONS")]
    pub regions: Option<Vec<String>>,
    /// Days of history to read: CloudWatch and Prometheus usage, and Cost Explorer billing before
    /// the month to date.
    #[arg(long, default_value_t = DEFAULT_LOOKBACK_DAYS, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=455))]
    pub lookback_days: u32,
    /// Ask Cost Explorer and Athena again even when a cached answer is younger than its TTL.
    #[arg(long, visible_alias = "no-cache")]
    pub refresh: bool,
    /// Tag keys Cost Explorer groups by (set from the config, not the command line).
    #[arg(skip)]
    pub tag_keys: Vec<String>,
    /// How long a Cost Explorer answer is reused (`[aws] cache_ttl_hours` of the config).
    #[arg(skip)]
    pub cost_explorer_ttl: Option<std::time::Duration>,
    /// Connect, attempt and call timeouts of AWS calls (`[aws] *_timeout_seconds`).
    #[arg(skip)]
    pub aws_timeouts: crate::source::aws::client::Timeouts,
    /// Read live commitments with `--aws` (`[aws] commitments`).
    #[arg(skip = true)]
    pub aws_commitments: bool,
    /// Progress lines on stderr while live sources and S3 billing objects are read (a terminal,
    /// not `--quiet`).
    #[arg(skip)]
    pub progress: bool,
    /// How long one Kubernetes API request may take (`[kubernetes] timeout_seconds`).
    #[arg(skip)]
    pub kube_timeout: Option<std::time::Duration>,
}

/// CloudWatch keeps hourly points for 455 days; two weeks is what the rules' `min_days` ask.
pub const DEFAULT_LOOKBACK_DAYS: u32 = 14;

impl Default for SourceArgs {
    fn default() -> Self {
        SourceArgs {
            sample: false,
            focus: Vec::new(),
            cur: Vec::new(),
            athena: None,
            athena_database: None,
            athena_workgroup: None,
            athena_output: None,
            athena_timeout: None,
            athena_since: None,
            athena_until: None,
            athena_config: Default::default(),
            snapshot: None,
            skip_invalid: false,
            kube: false,
            context: Vec::new(),
            kube_dump: Vec::new(),
            prometheus: None,
            aws: false,
            profile: Vec::new(),
            regions: None,
            lookback_days: DEFAULT_LOOKBACK_DAYS,
            refresh: false,
            tag_keys: Vec::new(),
            cost_explorer_ttl: None,
            aws_timeouts: crate::source::aws::client::Timeouts::default(),
            aws_commitments: true,
            progress: false,
            kube_timeout: None,
        }
    }
}

fn billing_month(text: &str) -> Result<String, String> {
    chrono::NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
        .ok()
        .filter(|_| text.len() == 7)
        .map(|_| text.to_string())
        .ok_or_else(|| format!("{text:?}: a billing month is YYYY-MM"))
}

fn prometheus_url(url: &str) -> Result<String, String> {
    crate::source::prometheus::http::check_url(url).map(|()| url.to_string())
}

impl Command {
    /// The file the command writes, when it writes one (what the output lock protects).
    pub fn out_path(&self) -> Option<&std::path::Path> {
        match self {
            Command::Report(a) => a.output.out.as_deref(),
            Command::Costs(a) => a.output.out.as_deref(),
            Command::Trends(a) => a.output.out.as_deref(),
            Command::Budgets(a) => a.output.out.as_deref(),
            Command::Anomalies(a) => a.output.out.as_deref(),
            Command::Units(a) => a.output.out.as_deref(),
            Command::Allocate(a) => a.output.out.as_deref(),
            Command::Tags(a) => a.output.out.as_deref(),
            Command::Commitments(a) => a.output.out.as_deref(),
            Command::Collect(a) => Some(&a.out),
            Command::Tui(_) | Command::Rules(_) | Command::Notify(_) => None,
            Command::Completions { .. } | Command::Man { .. } => None,
        }
    }
}

impl SourceArgs {
    pub fn is_empty(&self) -> bool {
        !self.sample
            && self.focus.is_empty()
            && self.cur.is_empty()
            && self.athena.is_none()
            && self.snapshot.is_none()
            && !self.kube
            && self.context.is_empty()
            && self.kube_dump.is_empty()
            && !self.uses_aws()
    }

    /// The `--focus`, `--cur` and `--athena` arguments, in that order.
    pub fn billing_inputs(&self) -> Result<Vec<BillingInput>, crate::source::SourceError> {
        let focus = self.focus.iter().map(|a| BillingInput::new(Scheme::Focus, a));
        let cur = self.cur.iter().map(|a| BillingInput::new(Scheme::Cur, a));
        let mut inputs: Vec<BillingInput> = focus.chain(cur).collect::<Result<_, _>>()?;
        if let Some(table) = &self.athena {
            let table = crate::source::billing::athena::AthenaTable::new(table, self.athena())
                .map_err(|message| crate::source::SourceError::File {
                    path: PathBuf::from("--athena"),
                    message,
                })?;
            inputs.push(BillingInput::athena(table));
        }
        Ok(inputs)
    }

    /// The Athena settings: each `--athena-*` flag over `[athena]` of the config.
    pub fn athena(&self) -> crate::source::billing::athena::AthenaSettings {
        let config = &self.athena_config;
        let or = |flag: &Option<String>, set: &Option<String>| flag.clone().or_else(|| set.clone());
        crate::source::billing::athena::AthenaSettings {
            database: or(&self.athena_database, &config.database),
            workgroup: or(&self.athena_workgroup, &config.workgroup),
            output_location: or(&self.athena_output, &config.output_location),
            timeout: self.athena_timeout.map(std::time::Duration::from_secs).or(config.timeout),
            months: crate::source::billing::athena::sql::Months {
                since: self.athena_since.clone(),
                until: self.athena_until.clone(),
            },
            cache_ttl: self.cost_explorer_ttl,
            refresh: self.refresh,
            profile: self.profile.first().cloned(),
            timeouts: self.aws_timeouts,
        }
    }

    /// Whether live AWS is asked for (`--aws` or any `--profile`).
    pub fn uses_aws(&self) -> bool {
        self.aws || !self.profile.is_empty()
    }

    /// The AWS profiles to read: each `--profile`, else the default credential chain.
    pub fn aws_profiles(&self) -> Vec<Option<String>> {
        if !self.profile.is_empty() {
            self.profile.iter().cloned().map(Some).collect()
        } else if self.aws {
            vec![None]
        } else {
            Vec::new()
        }
    }

    /// The live clusters to read: each `--context`, else the current context for `--kube`.
    /// The deadline of one Kubernetes API request.
    pub fn kube_timeout(&self) -> std::time::Duration {
        self.kube_timeout.unwrap_or(crate::source::kube::live::DEFAULT_TIMEOUT)
    }

    pub fn kube_contexts(&self) -> Vec<Option<String>> {
        if !self.context.is_empty() {
            self.context.iter().cloned().map(Some).collect()
        } else if self.kube {
            vec![None]
        } else {
            Vec::new()
        }
    }
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, default_value = "csv", value_name = "csv|json|markdown|xlsx")]
    pub format: Format,
    /// Write to FILE (atomically) instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// The report's output: the formats every command writes, plus the ones only a whole report
/// fills (a page to look at, metrics to scrape).
#[derive(Debug, Args)]
pub struct ReportOutputArgs {
    /// Output format.
    #[arg(long, default_value = "csv", value_name = "csv|json|markdown|html|prometheus|xlsx")]
    pub format: ReportFormat,
    /// Write to FILE (atomically) instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Formats of `report`: [`Format`]'s three, a self-contained HTML page, and the Prometheus
/// text format for node_exporter's textfile collector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Csv,
    Json,
    Markdown,
    Html,
    Prometheus,
    Xlsx,
}

impl std::str::FromStr for ReportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(ReportFormat::Csv),
            "json" => Ok(ReportFormat::Json),
            "markdown" | "md" => Ok(ReportFormat::Markdown),
            "html" => Ok(ReportFormat::Html),
            "prometheus" | "prom" => Ok(ReportFormat::Prometheus),
            "xlsx" => Ok(ReportFormat::Xlsx),
            other => Err(format!(
                "unknown format {other:?}: expected csv, json, markdown, html, prometheus or xlsx"
            )),
        }
    }
}

#[derive(Debug, Args)]
pub struct TuiArgs {
    #[command(flatten)]
    pub sources: SourceArgs,
}

#[derive(Debug, Args)]
pub struct CostsArgs {
    #[command(flatten)]
    pub sources: SourceArgs,
    /// service, account, region, resource, day, provider, charge-category or tag:KEY.
    #[arg(long, default_value = "service")]
    pub by: Dimension,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct TrendsArgs {
    #[command(flatten)]
    pub sources: SourceArgs,
    /// service, account, region, resource, provider, charge-category or tag:KEY.
    #[arg(long, default_value = "service")]
    pub by: Dimension,
    /// month, week or day (default: month when the data covers the month before to date,
    /// else week, else day).
    #[arg(long)]
    pub period: Option<crate::analysis::trends::Period>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct AnomaliesArgs {
    #[command(flatten)]
    pub sources: SourceArgs,
    /// What a series is: service, account, region, tag:KEY, or several joined with `+`.
    #[arg(long, default_value = "service+account")]
    pub by: crate::analysis::anomalies::GroupBy,
    /// Exit 4 when an anomaly is found, after writing the output: a gate for cron and CI.
    #[arg(long)]
    pub fail_on_anomaly: bool,
    /// Only anomalies on or after this day (YYYY-MM-DD): e.g. the last day, for a daily cron.
    #[arg(long, value_name = "DAY")]
    pub since: Option<chrono::NaiveDate>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct UnitsArgs {
    #[command(flatten)]
    pub sources: SourceArgs,
    /// month, week or day (default: month when the data covers the month before to date,
    /// else week, else day).
    #[arg(long)]
    pub period: Option<crate::analysis::trends::Period>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct AllocateArgs {
    #[command(flatten)]
    pub sources: SourceArgs,
    /// The team tag, as tag:KEY (default: `[allocation] key` of the config).
    #[arg(long, value_name = "tag:KEY", value_parser = team_tag)]
    pub by: Option<String>,
    /// month: the calendar month of the data's last day, with the change against the month
    /// before (default: the whole data period).
    #[arg(long, value_name = "month", value_parser = allocation_period)]
    pub period: Option<crate::analysis::allocation::AllocationPeriod>,
    /// Also each team's direct cost per service.
    #[arg(long)]
    pub detail: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

fn team_tag(text: &str) -> Result<String, String> {
    match text.strip_prefix("tag:").map(str::trim) {
        Some(key) if !key.is_empty() => Ok(key.to_string()),
        _ => Err(format!("{text:?}: allocate by a tag, as tag:KEY (e.g. tag:team)")),
    }
}

fn allocation_period(text: &str) -> Result<crate::analysis::allocation::AllocationPeriod, String> {
    match text {
        "month" => Ok(crate::analysis::allocation::AllocationPeriod::Month),
        _ => Err(format!("{text:?}: the only period is month")),
    }
}

#[derive(Debug, Args)]
pub struct BudgetsArgs {
    #[command(flatten)]
    pub sources: SourceArgs,
    /// Exit 4 when a budget reaches one of its alerts (by default 80 % of the amount forecast,
    /// or 100 % spent), after writing the output: a gate for cron and CI.
    #[arg(long)]
    pub fail_on_budget: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct TagsArgs {
    #[command(flatten)]
    pub sources: SourceArgs,
    /// Required tag keys, comma separated (default: from the config, else team,env,cost-center).
    #[arg(long, value_delimiter = ',', value_name = "KEYS")]
    pub require: Option<Vec<String>>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub sources: SourceArgs,
    #[command(flatten)]
    pub output: ReportOutputArgs,
    /// Exit with code 4 when total potential monthly savings exceed AMOUNT.
    #[arg(long, value_name = "AMOUNT")]
    pub fail_on_savings: Option<crate::model::Money>,
}

#[derive(Debug, Args)]
pub struct NotifyArgs {
    #[command(flatten)]
    pub sources: SourceArgs,
    /// A Slack incoming webhook's URL. It is a secret, and a command line shows in `ps` and
    /// shell history: prefer `[notify] slack_webhook_env = "VAR"` in the config.
    #[arg(long, value_name = "URL")]
    pub slack_webhook: Option<crate::notify::target::SecretUrl>,
    /// A generic webhook's URL: it receives the digest as JSON (see README: Digests in Slack).
    /// Prefer `[notify] webhook_env = "VAR"`.
    #[arg(long, value_name = "URL")]
    pub webhook: Option<crate::notify::target::SecretUrl>,
    /// Send only when something crossed a threshold since the last digest to the same
    /// destination: a new anomaly, a budget that got worse, savings or the forecast's change
    /// that moved (state in the cache directory); otherwise exit 0 and say so.
    #[arg(long)]
    pub only_on_change: bool,
    /// Print the bodies on standard output instead of sending them (a URL is then optional).
    #[arg(long)]
    pub dry_run: bool,
    /// Seconds one attempt may take (default: `[notify] timeout_seconds`, else 10).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=300))]
    pub timeout: Option<u64>,
}

#[derive(Debug, Args)]
pub struct CommitmentsArgs {
    #[command(flatten)]
    pub sources: SourceArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// The table a CSV holds (JSON and Markdown hold all three).
    #[arg(long, value_enum, default_value = "commitments")]
    pub table: crate::export::csv::CommitmentTable,
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    #[command(flatten)]
    pub sources: SourceArgs,
    /// The snapshot file to write.
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Print the active rules and their parameters.
    List,
    /// Validate rule files (default: the active rules); exit 2 on the first problems found.
    Check {
        /// A directory of rule files.
        dir: Option<PathBuf>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::billing::Location;

    #[test]
    fn athena_flags_override_the_config_and_make_one_billing_input() {
        let cli = Cli::try_parse_from([
            "costscope",
            "costs",
            "--athena",
            "focus",
            "--athena-workgroup",
            "adhoc",
            "--athena-since",
            "2026-09",
            "--no-cache",
        ])
        .unwrap();
        let Some(Command::Costs(mut args)) = cli.command else { panic!("not costs") };
        args.sources.athena_config = crate::source::billing::athena::AthenaSettings {
            database: Some("billing".into()),
            workgroup: Some("finops".into()),
            output_location: Some("s3://results/".into()),
            ..Default::default()
        };
        assert!(!args.sources.is_empty());
        let inputs = args.sources.billing_inputs().unwrap();
        let [input] = inputs.as_slice() else { panic!("{inputs:?}") };
        let Location::Athena(table) = &input.location else { panic!("{input:?}") };
        assert_eq!(input.display(), "athena:billing.focus");
        assert_eq!(table.settings.workgroup.as_deref(), Some("adhoc"));
        assert_eq!(table.settings.output_location.as_deref(), Some("s3://results/"));
        assert_eq!(table.settings.months.since.as_deref(), Some("2026-09"));
        assert!(table.settings.refresh);
    }

    #[test]
    fn a_billing_month_is_yyyy_mm() {
        assert_eq!(billing_month("2026-09"), Ok("2026-09".to_string()));
        for bad in ["2026-9", "2026-13", "09-2026", "2026-09-01"] {
            assert!(billing_month(bad).is_err(), "{bad}");
        }
    }
}
