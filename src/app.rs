//! Command dispatch: turns parsed arguments into a pipeline run and an outcome.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use crate::analysis::costs::breakdown;
use crate::analysis::rules::{Engine, RuleSet};
use crate::analysis::tag_coverage::tag_coverage;
use crate::cli::{Cli, Command, ReportFormat, RulesCommand};
use crate::config::Config;
use crate::export::{self, Format, write_output};
use crate::model::Grain;
use crate::pricing::catalog::PriceCatalog;
use crate::report::{build_report_with, gather};

/// How a successful run ended; each maps to an exit code of PRODUCT.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 0
    Success,
    /// 3: the output was written but a source failed or was partial.
    Partial,
    /// 4: `--fail-on-savings` was exceeded.
    SavingsExceeded,
    /// 4: a gate of the review was crossed (`--fail-on-budget`, `--fail-on-anomaly`).
    Breach,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Partial => 3,
            Outcome::SavingsExceeded | Outcome::Breach => 4,
        }
    }
}

/// Bad usage or bad input that is not a parse error of a data file (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Fills in what the sources take from the configuration rather than the command line.
fn configure(
    sources: &mut crate::cli::SourceArgs,
    config: &Config,
    required_tags: &[String],
    quiet: bool,
) {
    sources.tag_keys = required_tags.to_vec();
    sources.cost_explorer_ttl = config.cost_explorer_ttl;
    sources.kube_timeout = config.kube_timeout;
    sources.aws_timeouts = config.aws_timeouts;
    sources.aws_commitments = config.aws_commitments;
    sources.athena_config = config.athena.clone();
    sources.progress = !quiet && std::io::stderr().is_terminal();
}

/// Says on stderr what the sources want known (unless `--quiet`) and their warnings, and
/// whether any of them was partial or failed (exit code 3).
fn report_sources(snapshot: &crate::model::Snapshot, quiet: bool) -> bool {
    let mut partial = false;
    for s in &snapshot.sources {
        if !quiet {
            for note in &s.notes {
                export::stderr_line(format_args!(
                    "costscope: {}: {}",
                    s.name,
                    export::plain_text(note)
                ));
            }
        }
        partial |= s.state != crate::model::SourceState::Ok;
    }
    partial
}

/// Refuses `--format xlsx` before any data is read where no workbook can be written: a
/// command that writes none (usage error), or standard output that is a terminal (a workbook is
/// binary: give `--out FILE` or redirect).
fn check_xlsx(command: &Command) -> Result<(), UsageError> {
    let (xlsx, out) = match command {
        Command::Costs(crate::cli::CostsArgs { output, .. })
        | Command::Tags(crate::cli::TagsArgs { output, .. })
        | Command::Allocate(crate::cli::AllocateArgs { output, .. }) => {
            (output.format == Format::Xlsx, output.out.as_deref())
        }
        Command::Report(a) => (a.output.format == ReportFormat::Xlsx, a.output.out.as_deref()),
        Command::Trends(crate::cli::TrendsArgs { output, .. })
        | Command::Anomalies(crate::cli::AnomaliesArgs { output, .. })
        | Command::Budgets(crate::cli::BudgetsArgs { output, .. })
        | Command::Units(crate::cli::UnitsArgs { output, .. })
        | Command::Commitments(crate::cli::CommitmentsArgs { output, .. }) => {
            if output.format == Format::Xlsx {
                return Err(UsageError(export::xlsx::UNSUPPORTED.into()));
            }
            (false, None)
        }
        Command::Tui(_)
        | Command::Collect(_)
        | Command::Rules(_)
        | Command::Notify(_)
        | Command::Completions { .. }
        | Command::Man { .. } => (false, None),
    };
    if xlsx && out.is_none() && std::io::stdout().is_terminal() {
        return Err(UsageError(
            "an xlsx workbook is binary: give --out FILE or redirect standard output".into(),
        ));
    }
    Ok(())
}

/// Runs one command.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    // Completions and man pages describe the command line, not the data: a broken config file
    // must not stop them.
    if matches!(cli.command, Some(Command::Completions { .. } | Command::Man { .. }))
        && let Some(command) = cli.command
    {
        return describe_cli(command);
    }
    let quiet = cli.global.quiet;
    let config = Config::load(cli.global.config.as_deref())?;
    let Some(command) = cli.command else {
        // Bare `costscope`: the dashboard on a terminal, a usage error for scripts.
        if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
            return dashboard(crate::cli::SourceArgs::default(), config, cli.global.rules);
        }
        return Err(UsageError(
            "no command given; try `costscope report --sample` or `costscope --help`".into(),
        )
        .into());
    };
    check_xlsx(&command)?;
    // Held until the command returns: a second run writing the same file waits for this one.
    let _lock = match command.out_path() {
        Some(out) => Some(export::lock::OutputLock::acquire(
            out,
            std::time::Duration::from_secs(cli.global.lock_timeout),
        )?),
        None => None,
    };
    match command {
        Command::Tui(args) => {
            if !std::io::stdout().is_terminal() {
                return Err(UsageError(
                    "the dashboard needs a terminal; for files or pipes use `report`, `costs` or `tags`"
                        .into(),
                )
                .into());
            }
            let mut sources = args.sources;
            configure(&mut sources, &config, &config.required_tags, true);
            dashboard(sources, config, cli.global.rules)
        }
        Command::Costs(mut args) => {
            let billed = Billed::gather(&mut args.sources, &config, args.by.grain(), quiet)?;
            let result = breakdown(billed.billing()?, &args.by);
            let notes = &billed.notes;
            write_output(args.output.out.as_deref(), |w: &mut dyn Write| {
                match args.output.format {
                    Format::Csv => export::csv::write_costs(w, &result, notes),
                    Format::Json => export::json::write_costs(w, &result, notes),
                    Format::Markdown => export::markdown::write_costs(w, &result, notes),
                    Format::Xlsx => export::xlsx::write_costs(w, &result, notes),
                }
            })?;
            Ok(billed.outcome(false))
        }
        Command::Trends(mut args) => {
            use crate::analysis::trends;
            let grain = trends::grain_for(&args.by);
            let billed = Billed::gather(&mut args.sources, &config, grain, quiet)?;
            let result = trends::trends(billed.billing()?, &args.by, args.period)
                .map_err(|e| UsageError(e.to_string()))?;
            let notes = &billed.notes;
            write_output(args.output.out.as_deref(), |w: &mut dyn Write| {
                match args.output.format {
                    Format::Csv => export::csv::write_trends(w, &result, notes),
                    Format::Json => export::json::write_trends(w, &result, notes),
                    Format::Markdown => export::markdown::write_trends(w, &result, notes),
                    Format::Xlsx => Err(export::xlsx::unsupported()),
                }
            })?;
            Ok(billed.outcome(false))
        }
        Command::Anomalies(mut args) => {
            use crate::analysis::anomalies::{AnomalyParams, detect_in_billing};
            let billed = Billed::gather(&mut args.sources, &config, args.by.grain(), quiet)?;
            let params = AnomalyParams::from_settings(&config.anomalies);
            let mut result = detect_in_billing(billed.billing()?, &args.by, &params);
            if let Some(since) = args.since {
                result.anomalies.retain(|a| a.found.day >= since);
            }
            let notes = &billed.notes;
            write_output(args.output.out.as_deref(), |w: &mut dyn Write| {
                match args.output.format {
                    Format::Csv => export::csv::write_anomalies(w, &result, notes),
                    Format::Json => export::json::write_anomalies(w, &result, notes),
                    Format::Markdown => export::markdown::write_anomalies(w, &result, notes),
                    Format::Xlsx => Err(export::xlsx::unsupported()),
                }
            })?;
            Ok(billed.outcome(args.fail_on_anomaly && !result.anomalies.is_empty()))
        }
        Command::Budgets(mut args) => {
            use crate::analysis::budgets::{self, BudgetStatus};
            let mut config = config;
            use_sample_config(&mut config, &args.sources)?;
            if config.budgets.is_empty() {
                let place = config
                    .path
                    .as_ref()
                    .map_or_else(|| "the config".to_string(), |p| p.display().to_string());
                return Err(UsageError(format!(
                    "{place} has no [[budget]] table (see README: Budgets)"
                ))
                .into());
            }
            let billed = Billed::gather(&mut args.sources, &config, budgets::GRAIN, quiet)?;
            let result = budgets::evaluate_budgets_with(
                &config.budgets,
                billed.billing()?,
                budgets::model_forecast,
            )
            .map_err(|e| UsageError(e.to_string()))?;
            let notes = &billed.notes;
            write_output(args.output.out.as_deref(), |w: &mut dyn Write| {
                match args.output.format {
                    Format::Csv => export::csv::write_budgets(w, &result, notes),
                    Format::Json => export::json::write_budgets(w, &result, notes),
                    Format::Markdown => export::markdown::write_budgets(w, &result, notes),
                    Format::Xlsx => Err(export::xlsx::unsupported()),
                }
            })?;
            let breached = result
                .iter()
                .any(|b| matches!(b.status, BudgetStatus::AtRisk | BudgetStatus::Over));
            Ok(billed.outcome(args.fail_on_budget && breached))
        }
        Command::Units(mut args) => {
            use crate::analysis::units;
            let defs = if !config.units.is_empty() {
                config.units.clone()
            } else if args.sources.sample {
                let path = Path::new(crate::sample::UNITS_NAME);
                Config::parse(crate::sample::UNITS_TOML, path)?.units
            } else {
                let place = config
                    .path
                    .as_ref()
                    .map_or_else(|| "the config".to_string(), |p| p.display().to_string());
                return Err(UsageError(format!(
                    "{place} has no [[unit]] table (see README: Unit costs)"
                ))
                .into());
            };
            // Resources by day: the nodes' billed cost per period.
            let billed = Billed::gather(&mut args.sources, &config, Grain::DETAILED, quiet)?;
            let engine = engine(&config, cli.global.rules.as_deref())?;
            // The engine's pricing, so nodes cost what `report` and the dashboard say.
            let clusters = crate::analysis::cluster::cluster_report(
                &billed.snapshot,
                engine.catalog(),
                engine.cluster_pricing(),
            );
            let result = units::unit_costs(
                &defs,
                billed.snapshot.billing.as_ref(),
                &clusters,
                args.period,
                config.resource_cost,
            )
            .map_err(|e| UsageError(e.to_string()))?;
            let notes = &billed.notes;
            write_output(args.output.out.as_deref(), |w: &mut dyn Write| {
                match args.output.format {
                    Format::Csv => export::csv::write_units(w, &result, notes),
                    Format::Json => export::json::write_units(w, &result, notes),
                    Format::Markdown => export::markdown::write_units(w, &result, notes),
                    Format::Xlsx => Err(export::xlsx::unsupported()),
                }
            })?;
            Ok(billed.outcome(false))
        }
        Command::Allocate(mut args) => {
            use crate::analysis::allocation::{self, AllocationPeriod};
            let mut config = config;
            use_sample_config(&mut config, &args.sources)?;
            let Some(key) = args.by.clone().or_else(|| config.allocation.key.clone()) else {
                return Err(UsageError(
                    "name the team tag: --by tag:KEY, or key in [allocation] of the config".into(),
                )
                .into());
            };
            let period = args.period.unwrap_or(AllocationPeriod::All);
            let grain = match period {
                AllocationPeriod::All => allocation::GRAIN,
                AllocationPeriod::Month => allocation::DATED_GRAIN,
            };
            let billed = Billed::gather(&mut args.sources, &config, grain, quiet)?;
            // Clusters only matter when namespaces map to teams; priced as `report` prices them.
            let clusters: Vec<allocation::ClusterShares> =
                if config.allocation.namespaces.is_empty() {
                    Vec::new()
                } else {
                    let engine = engine(&config, cli.global.rules.as_deref())?;
                    crate::analysis::cluster::cluster_report(
                        &billed.snapshot,
                        engine.catalog(),
                        engine.cluster_pricing(),
                    )
                    .iter()
                    .map(allocation::cluster_shares)
                    .collect()
                };
            let result = allocation::allocate(
                billed.billing()?,
                &config.allocation,
                &key,
                period,
                args.detail,
                &clusters,
            )
            .map_err(|e| UsageError(e.to_string()))?;
            let notes = &billed.notes;
            write_output(args.output.out.as_deref(), |w: &mut dyn Write| {
                match args.output.format {
                    Format::Csv => export::csv::write_allocation(w, &result, notes),
                    Format::Json => export::json::write_allocation(w, &result, notes),
                    Format::Markdown => export::markdown::write_allocation(w, &result, notes),
                    Format::Xlsx => export::xlsx::write_allocation(w, &result, notes),
                }
            })?;
            Ok(billed.outcome(false))
        }
        Command::Tags(mut args) => {
            let required = args.require.clone().unwrap_or_else(|| config.required_tags.clone());
            let required: Vec<String> = required
                .into_iter()
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty())
                .collect();
            if required.is_empty() {
                return Err(UsageError("--require needs at least one tag key".into()).into());
            }
            configure(&mut args.sources, &config, &required, quiet);
            let snapshot = gather(&args.sources, Grain::FULL)?;
            let partial = report_sources(&snapshot, quiet);
            let billing = snapshot.billing.as_ref().ok_or_else(|| {
                UsageError("the sources hold no billing data (give --focus FILE)".into())
            })?;
            let coverage = tag_coverage(billing, &required);
            let notes = source_notes(&snapshot);
            report_skipped(&notes);
            write_output(args.output.out.as_deref(), |w: &mut dyn Write| {
                match args.output.format {
                    Format::Csv => export::csv::write_tags(w, &coverage, &notes),
                    Format::Json => export::json::write_tags(w, &coverage, &notes),
                    Format::Markdown => export::markdown::write_tags(w, &coverage, &notes),
                    Format::Xlsx => export::xlsx::write_tags(w, &coverage, &notes),
                }
            })?;
            Ok(if billing.skipped.count > 0 || partial {
                Outcome::Partial
            } else {
                Outcome::Success
            })
        }
        Command::Report(mut args) => {
            let format = args.output.format;
            // The CSV is findings only and shows no budget: it skips the budgets' second read.
            let report = review_report(
                &mut args.sources,
                config,
                cli.global.rules.as_deref(),
                quiet,
                format != ReportFormat::Csv,
            )?;
            let notes = report.notes();
            write_output(args.output.out.as_deref(), |w: &mut dyn Write| match format {
                ReportFormat::Csv => export::csv::write_findings(w, &report.findings, &notes),
                ReportFormat::Json => export::json::write_report(w, &report),
                ReportFormat::Markdown => export::markdown::write_report(w, &report),
                ReportFormat::Html => export::html::write_report(w, &report),
                ReportFormat::Prometheus => export::prometheus::write_report(w, &report),
                ReportFormat::Xlsx => export::xlsx::write_report(w, &report),
            })?;
            let savings = report.max_savings();
            tracing::info!(
                findings = report.findings.len(),
                savings = %savings,
                "report written"
            );
            if let Some(limit) = args.fail_on_savings
                && savings > limit
            {
                export::stderr_line(format_args!(
                    "costscope: potential savings {} exceed --fail-on-savings {}",
                    savings.display_2dp(),
                    limit.display_2dp()
                ));
                return Ok(Outcome::SavingsExceeded);
            }
            Ok(if report.is_partial() { Outcome::Partial } else { Outcome::Success })
        }
        Command::Notify(mut args) => {
            // Destinations first: a missing URL is bad usage, found before any data is read.
            let flags = crate::notify::Flags {
                slack_webhook: args.slack_webhook.take(),
                webhook: args.webhook.take(),
                only_on_change: args.only_on_change,
                dry_run: args.dry_run,
                timeout: args.timeout.map(std::time::Duration::from_secs),
                quiet,
            };
            let options =
                crate::notify::Options::resolve(&flags, &config.notify).map_err(UsageError)?;
            let report =
                review_report(&mut args.sources, config, cli.global.rules.as_deref(), quiet, true)?;
            crate::notify::run(&report, &options)?;
            Ok(if report.is_partial() { Outcome::Partial } else { Outcome::Success })
        }
        Command::Commitments(mut args) => {
            let engine = engine(&config, cli.global.rules.as_deref())?;
            configure(&mut args.sources, &config, &[], quiet);
            let snapshot = gather(&args.sources, Grain { commitments: true, ..Grain::NONE })?;
            let partial = report_sources(&snapshot, quiet);
            if snapshot.billing.is_none() && snapshot.live_commitments.is_none() {
                return Err(UsageError(
                    "the sources hold no billing data and no live commitments (give --focus \
                     FILE or --aws)"
                        .into(),
                )
                .into());
            }
            let skipped = snapshot.billing.as_ref().map_or(0, |b| b.skipped.count);
            let params = crate::analysis::commitments::CommitmentParams::from_rules(engine.rules());
            let result = crate::analysis::commitments::analyse_snapshot(
                &snapshot,
                engine.catalog().commitments(),
                &params,
            );
            let notes = source_notes(&snapshot);
            report_skipped(&notes);
            write_output(args.output.out.as_deref(), |w: &mut dyn Write| {
                match args.output.format {
                    Format::Csv => export::csv::write_commitments(w, &result, args.table, &notes),
                    Format::Json => export::json::write_commitments(w, &result, &notes),
                    Format::Markdown => export::markdown::write_commitments(w, &result, &notes),
                    Format::Xlsx => Err(export::xlsx::unsupported()),
                }
            })?;
            Ok(if skipped > 0 || partial { Outcome::Partial } else { Outcome::Success })
        }
        Command::Collect(mut args) => {
            configure(&mut args.sources, &config, &config.required_tags, quiet);
            let mut snapshot = gather(&args.sources, Grain::FULL)?;
            report_sources(&snapshot, quiet);
            snapshot.normalize();
            export::write_atomic(&args.out, |w: &mut dyn Write| {
                export::json::write_value(w, &snapshot)
            })?;
            let partial = snapshot.sources.iter().any(|s| s.state != crate::model::SourceState::Ok);
            Ok(if partial { Outcome::Partial } else { Outcome::Success })
        }
        Command::Rules(RulesCommand::List) => {
            let engine = engine(&config, cli.global.rules.as_deref())?;
            write_output(None, |w: &mut dyn Write| write_rule_list(w, engine.rules()))?;
            Ok(Outcome::Success)
        }
        Command::Rules(RulesCommand::Check { dir }) => {
            let loaded = match dir.as_deref().or(cli.global.rules.as_deref()) {
                Some(dir) => RuleSet::load_dir(dir).map(|rules| RuleSet { rules }),
                None => RuleSet::builtin().map_err(|e| vec![e]),
            };
            let errors = match loaded {
                Ok(set) => {
                    let count = set.rules.len();
                    let catalog = match &config.catalog {
                        Some(path) => PriceCatalog::load(path)?,
                        None => PriceCatalog::builtin()?,
                    };
                    let errors = crate::analysis::rules::probe::check(set, Arc::new(catalog));
                    if errors.is_empty() {
                        // A closed stdout (`| head`) is not an error of the check.
                        let _ = writeln!(
                            std::io::stdout().lock(),
                            "ok: {count} rule{} valid",
                            if count == 1 { "" } else { "s" }
                        );
                        return Ok(Outcome::Success);
                    }
                    errors
                }
                Err(errors) => errors,
            };
            for e in &errors {
                export::stderr_line(format_args!("{e}"));
            }
            Err(UsageError(format!(
                "{} problem{} in rule files",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            ))
            .into())
        }
        command @ (Command::Completions { .. } | Command::Man { .. }) => describe_cli(command),
    }
}

/// `completions` and `man`: what the command line's definitions generate.
fn describe_cli(command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Completions { shell } => {
            write_output(None, |w: &mut dyn Write| {
                crate::cli::generate::write_completions(shell, w)
            })?;
        }
        Command::Man { out_dir: None } => {
            write_output(None, crate::cli::generate::write_man_page)?;
        }
        Command::Man { out_dir: Some(dir) } => {
            for page in crate::cli::generate::write_man_pages(&dir)? {
                tracing::info!(page = %page.display(), "man page written");
            }
        }
        other => {
            return Err(UsageError(format!("{other:?} does not describe the command line")).into());
        }
    }
    Ok(Outcome::Success)
}

/// Gathers the sources at full grain and builds the whole report as `report` writes it (and
/// as `notify` digests it): findings, overview, commitments, anomalies and the config's
/// budgets. Says on stderr what the sources and skipped rows want known.
///
/// Budgets by tag need dated lines with tags, which the full grain does not keep: with
/// `dated_budgets` the billing is read once more at the budgets' grain (no resources, so it is
/// small).
pub fn review_report(
    sources: &mut crate::cli::SourceArgs,
    mut config: Config,
    rules_dir: Option<&Path>,
    quiet: bool,
    dated_budgets: bool,
) -> anyhow::Result<crate::report::Report> {
    use_sample_config(&mut config, sources)?;
    let engine = engine(&config, rules_dir)?;
    configure(sources, &config, &config.required_tags, quiet);
    let snapshot = gather(sources, Grain::FULL)?;
    report_sources(&snapshot, quiet);
    let suppressions = load_suppressions(&config)?;
    let mut report = build_report_with(
        &snapshot,
        &engine,
        &config.required_tags,
        suppressions.as_ref().map(|s| (s, chrono::Utc::now())),
        &crate::report::ReviewSettings::from_config(&config),
    );
    if let Some(billing) = &snapshot.billing
        && dated_budgets
        && crate::report::budgets_need_dated_lines(&config.budgets, billing)
        && let Some(dated) =
            crate::report::gather_billing(sources, crate::analysis::budgets::GRAIN)?
    {
        report.warnings.retain(|w| !w.starts_with("budgets: "));
        match crate::report::review_budgets(&config.budgets, &dated) {
            Ok(budgets) => report.budgets = budgets,
            Err(warning) => report.warnings.push(warning),
        }
    }
    if !report.suppressed.is_empty() {
        tracing::info!(
            count = report.suppressed.len(),
            "findings left out by the suppressions file"
        );
    }
    let notes = report.notes();
    report_skipped(&notes);
    for w in &notes.warnings {
        tracing::warn!("{}", export::plain_text(w));
    }
    // The CSV is findings only (its columns are a contract): there the blind spots go to the
    // log (`--log-level info`, text or JSON lines), as they go into every other format.
    for coverage in &report.spend_coverage {
        tracing::info!(
            currency = %coverage.currency,
            judged_percent = coverage.judged_percent,
            "{}",
            export::plain_text(&coverage.sentence(6))
        );
    }
    Ok(report)
}

/// With `--sample`, the sample's own settings (samples/costscope.toml) where the config has
/// none: its budgets when there is no `[[budget]]`, its `[allocation]` when no key is named; so
/// the tour works without a config file.
fn use_sample_config(config: &mut Config, sources: &crate::cli::SourceArgs) -> anyhow::Result<()> {
    if !sources.sample || (!config.budgets.is_empty() && config.allocation.key.is_some()) {
        return Ok(());
    }
    let sample = Config::parse(crate::sample::CONFIG_TOML, Path::new(crate::sample::CONFIG_NAME))?;
    if config.budgets.is_empty() {
        tracing::info!(
            "no [[budget]] in the config: using the sample's budgets ({})",
            crate::sample::CONFIG_NAME
        );
        config.budgets = sample.budgets;
    }
    if config.allocation.key.is_none() {
        tracing::info!(
            "no [allocation] key in the config: using the sample's ({})",
            crate::sample::CONFIG_NAME
        );
        config.allocation = sample.allocation;
    }
    Ok(())
}

/// The suppressions file, when there is a path for one (a missing file is an empty set).
pub fn load_suppressions(
    config: &Config,
) -> anyhow::Result<Option<crate::suppressions::Suppressions>> {
    match config.suppressions_path() {
        Some(path) => Ok(Some(crate::suppressions::Suppressions::load(&path)?)),
        None => Ok(None),
    }
}

/// Runs the dashboard; with no source, on the bundled sample, saying so in the status bar.
fn dashboard(
    mut sources: crate::cli::SourceArgs,
    mut config: Config,
    rules_dir: Option<std::path::PathBuf>,
) -> anyhow::Result<Outcome> {
    let hint = if sources.is_empty() {
        sources.sample = true;
        Some("no source given: showing the bundled sample (try --focus FILE)".to_string())
    } else if sources.sample {
        Some("bundled sample".to_string())
    } else {
        None
    };
    use_sample_config(&mut config, &sources)?;
    crate::tui::run(crate::tui::loader::LoadContext { sources, config, rules_dir }, hint)?;
    Ok(Outcome::Success)
}

/// What a command that reads only billing gathered: the snapshot, whether a source was partial
/// or failed, and the notes (skipped rows, warnings) its output carries.
struct Billed {
    snapshot: crate::model::Snapshot,
    partial: bool,
    notes: export::Notes,
}

impl Billed {
    fn gather(
        sources: &mut crate::cli::SourceArgs,
        config: &Config,
        grain: Grain,
        quiet: bool,
    ) -> anyhow::Result<Billed> {
        configure(sources, config, &[], quiet);
        let snapshot = gather(sources, grain)?;
        let partial = report_sources(&snapshot, quiet);
        let notes = source_notes(&snapshot);
        report_skipped(&notes);
        Ok(Billed { snapshot, partial, notes })
    }

    fn billing(&self) -> Result<&crate::model::BillingSummary, UsageError> {
        self.snapshot.billing.as_ref().ok_or_else(|| {
            UsageError("the sources hold no billing data (give --focus FILE)".into())
        })
    }

    /// `breach` when the command's gate was crossed (exit 4), else partial (3) when a source
    /// was or rows were skipped.
    fn outcome(&self, breach: bool) -> Outcome {
        let skipped = self.snapshot.billing.as_ref().is_some_and(|b| b.skipped.count > 0);
        if breach {
            Outcome::Breach
        } else if skipped || self.partial {
            Outcome::Partial
        } else {
            Outcome::Success
        }
    }
}

/// Skipped rows and every source warning, for the exports of `costs` and `tags`.
fn source_notes(snapshot: &crate::model::Snapshot) -> export::Notes {
    let skipped = snapshot.billing.as_ref().and_then(|b| b.skipped.summary());
    let mut warnings = Vec::new();
    for s in &snapshot.sources {
        for w in s.warnings.iter().filter(|w| Some(*w) != skipped.as_ref()) {
            tracing::warn!("{}: {}", s.name, export::plain_text(w));
            warnings.push(format!("{}: {w}", s.name));
        }
    }
    export::Notes { skipped, warnings }
}

fn report_skipped(notes: &export::Notes) {
    if let Some(s) = &notes.skipped {
        export::stderr_line(format_args!("costscope: warning: {}", export::plain_text(s)));
    }
}

/// The active rules (built-in, then `--rules DIR`, then config overrides) and the catalog.
pub fn engine(config: &Config, rules_dir: Option<&Path>) -> anyhow::Result<Engine> {
    let mut rules = RuleSet::builtin()?;
    if let Some(dir) = rules_dir {
        match RuleSet::load_dir(dir) {
            Ok(extra) => rules.extend(extra),
            Err(errors) => {
                let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                return Err(UsageError(text.join("\n")).into());
            }
        }
    }
    if let Some(path) = &config.path {
        for w in rules.apply_overrides(&config.rule_overrides, path, &config.text)? {
            tracing::warn!("{w}");
        }
    }
    let catalog = match &config.catalog {
        Some(path) => PriceCatalog::load(path)?,
        None => PriceCatalog::builtin()?,
    };
    let pricing = crate::analysis::cluster::CostSplit {
        resource_cost: config.resource_cost,
        ..config.kubernetes.unwrap_or_default()
    };
    Ok(Engine::new(rules, Arc::new(catalog))
        .with_cluster_pricing(pricing)
        .with_storage_class_prices(config.storage_class_prices.clone()))
}

fn write_rule_list(w: &mut dyn Write, rules: &RuleSet) -> std::io::Result<()> {
    for rule in &rules.rules {
        writeln!(
            w,
            "{}{}  [{}] {} → {} (confidence {})",
            rule.id,
            if rule.enabled { "" } else { " (disabled)" },
            rule.resource.as_str(),
            rule.title,
            rule.action,
            rule.confidence
        )?;
        for (name, value) in &rule.params {
            writeln!(w, "    {name} = {value}")?;
        }
        writeln!(w, "    from {}", rule.origin.display())?;
    }
    Ok(())
}
