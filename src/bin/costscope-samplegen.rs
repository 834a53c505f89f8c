//! `costscope-samplegen`: writes the bundled sample (samples/) or a large billing file for benchmarks.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use costscope::samplegen::cur::CurNaming;
use costscope::samplegen::{self, DEFAULT_SEED};

/// Generate costscope's deterministic sample data.
///
/// Without --rows: writes focus-2026-09-10.csv.gz, snapshot.json, expected-findings.csv and costscope.toml.
/// With --rows N: writes only focus-scaled-N.csv (or .csv.gz with --gzip), streaming.
#[derive(Debug, Parser)]
#[command(name = "costscope-samplegen", version)]
struct Args {
    /// Directory to write into (created if missing).
    #[arg(long, default_value = "samples")]
    out_dir: PathBuf,
    /// Write only a billing CSV with this many rows (for benchmarks).
    #[arg(long)]
    rows: Option<u64>,
    /// Seed of the generator; the same seed always gives the same bytes.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// With --rows: gzip the CSV.
    #[arg(long, requires = "rows")]
    gzip: bool,
    /// Also write the billing as an AWS Cost and Usage Report: `legacy` (lineItem/… names) or
    /// `cur2` (CUR 2.0), as cur-legacy-….csv or cur2-….csv next to the FOCUS file.
    #[arg(long, value_parser = ["legacy", "cur2"])]
    cur: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            costscope::export::stderr_line(format_args!("costscope-samplegen: {e:#}"));
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> samplegen::Result<()> {
    let written = match args.rows {
        Some(rows) => vec![samplegen::write_scaled(&args.out_dir, rows, args.seed, args.gzip)?],
        None => {
            let (sample, paths) = samplegen::write_sample(&args.out_dir, args.seed)?;
            costscope::export::stderr_line(format_args!(
                "{} billing rows, {} billed resources, {} services; {} inventory resources, {} \
                 utilization summaries, {} expectations",
                sample.rows.len(),
                sample.billed_resource_count(),
                sample.service_count(),
                sample.snapshot.inventory.len(),
                sample.snapshot.utilization.len(),
                sample.expectations.len(),
            ));
            paths
        }
    };
    let mut written = written;
    if let Some(naming) = &args.cur {
        let naming = if naming == "legacy" { CurNaming::Legacy } else { CurNaming::Cur2 };
        let focus = written.first().cloned().unwrap_or_default();
        let stem = focus.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let stem =
            stem.trim_end_matches(".gz").trim_end_matches(".csv").trim_start_matches("focus-");
        let prefix = if naming == CurNaming::Legacy { "cur-legacy" } else { "cur2" };
        let path = args.out_dir.join(format!("{prefix}-{stem}.csv"));
        let file = std::fs::File::create(&path)
            .map_err(|source| samplegen::SampleError::Io { path: path.clone(), source })?;
        samplegen::cur::write_cur(&focus, std::io::BufWriter::new(file), naming)?;
        written.push(path);
    }
    for path in written {
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if writeln!(std::io::stdout().lock(), "{}\t{size} bytes", path.display()).is_err() {
            break; // stdout closed: nobody is reading the list
        }
    }
    Ok(())
}
