//! The one billing reader. Every command and the dashboard read billing through
//! [`read_billing`], whatever the scheme (FOCUS, or an AWS Cost and Usage Report mapped to
//! FOCUS), the format (CSV, gzipped CSV, zipped CSV or Parquet, told apart by their first
//! bytes, never by name) and the place (a local file, an `s3://` prefix, or an Athena table that
//! aggregates where it is). All of them fold into the one [`Ledger`], so totals do not depend on
//! how the data was delivered.

pub mod athena;
pub mod cur;
pub mod parquet;
pub mod s3;
pub mod zip;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::focus::{
    Column, FocusOptions, Layout, Ledger, Row, RowError, Time, columns_for, parse_money_text,
    row_err,
};
use super::progress::ReadProgress;
use super::{Result, SourceError};
use crate::model::{BillingSummary, Grain, Money};

/// Which columns a billing file has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// FOCUS 1.x, as exported by AWS Data Exports, Azure, GCP and others.
    Focus,
    /// An AWS Cost and Usage Report: legacy CUR or CUR 2.0.
    Cur,
}

impl Scheme {
    pub fn flag(self) -> &'static str {
        match self {
            Scheme::Focus => "focus",
            Scheme::Cur => "cur",
        }
    }
}

/// Where a billing input is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    /// Every billing object under a prefix (a manifest, when present, says which).
    S3 {
        bucket: String,
        prefix: String,
    },
    /// A table Athena queries: the grouping runs there (the scheme is told by its columns).
    Athena(Box<athena::AthenaTable>),
}

/// One `--focus`, `--cur` or `--athena` argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillingInput {
    pub scheme: Scheme,
    pub location: Location,
}

impl BillingInput {
    /// `arg` is a local path or `s3://bucket[/prefix]`.
    pub fn new(scheme: Scheme, arg: &Path) -> Result<BillingInput> {
        let text = arg.to_string_lossy();
        let location = match text.strip_prefix("s3://") {
            None => Location::File(arg.to_path_buf()),
            Some(rest) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(SourceError::File {
                        path: arg.to_path_buf(),
                        message: "an S3 location is s3://BUCKET/PREFIX".to_string(),
                    });
                }
                Location::S3 { bucket: bucket.to_string(), prefix: prefix.to_string() }
            }
        };
        Ok(BillingInput { scheme, location })
    }

    /// `--athena`: a FOCUS table (see [`athena`]).
    pub fn athena(table: athena::AthenaTable) -> BillingInput {
        BillingInput { scheme: Scheme::Focus, location: Location::Athena(Box::new(table)) }
    }

    /// The input as the user wrote it.
    pub fn display(&self) -> String {
        match &self.location {
            Location::File(path) => path.display().to_string(),
            Location::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
            Location::Athena(table) => table.display(),
        }
    }
}

/// How to read billing inputs.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadOptions {
    pub focus: FocusOptions,
    /// A line per S3 object on stderr (a terminal, not `--quiet`).
    pub progress: bool,
}

/// Reads every input into one summary. Inputs are read in the order given; the result does not
/// depend on that order.
pub fn read_billing(inputs: &[BillingInput], options: ReadOptions) -> Result<BillingSummary> {
    read_billing_noted(inputs, options, None).map(|(summary, _)| summary)
}

/// [`read_billing`], with what the inputs want the user to know (Athena's bytes scanned),
/// reporting rows and bytes to `watch` as it goes and stopping with
/// [`super::SourceError::Cancelled`] when the watcher cancels.
pub fn read_billing_noted(
    inputs: &[BillingInput],
    options: ReadOptions,
    watch: Option<Arc<ReadProgress>>,
) -> Result<(BillingSummary, Vec<String>)> {
    let mut ledger = Ledger::new(options.focus.grain);
    if let Some(watch) = &watch {
        for input in inputs {
            if let Location::File(path) = &input.location
                && let Ok(meta) = std::fs::metadata(path)
            {
                watch.add_total_bytes(meta.len());
            }
        }
    }
    ledger.progress = watch;
    let mut sources = Vec::new();
    let mut notes = Vec::new();
    for input in inputs {
        match &input.location {
            Location::File(path) => {
                ingest_file(&mut ledger, input.scheme, path, options.focus)?;
                sources.push(path.display().to_string());
            }
            Location::S3 { bucket, prefix } => {
                let read = s3::ingest_prefix(&mut ledger, input.scheme, bucket, prefix, options)?;
                sources.extend(read);
            }
            Location::Athena(table) => {
                let usage = athena::ingest(&mut ledger, table, options.focus.grain)
                    .map_err(|message| SourceError::Athena { table: table.display(), message })?;
                notes.push(usage.note());
                sources.push(table.display());
            }
        }
    }
    ledger.report_progress(true)?;
    Ok((ledger.finish(sources), notes))
}

/// What a file's first bytes say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Csv,
    Gzip,
    Zip,
    Parquet,
}

pub(crate) const PARQUET_MAGIC: &[u8; 4] = b"PAR1";
pub(crate) const ZIP_MAGIC: &[u8; 4] = b"PK\x03\x04";

impl Format {
    pub(crate) fn sniff(head: &[u8]) -> Format {
        if head.starts_with(PARQUET_MAGIC) {
            Format::Parquet
        } else if head.starts_with(&super::focus::GZIP_MAGIC) {
            Format::Gzip
        } else if head.starts_with(ZIP_MAGIC) {
            Format::Zip
        } else {
            Format::Csv
        }
    }
}

/// Reads one local file of `scheme`, whatever its format.
pub(crate) fn ingest_file(
    ledger: &mut Ledger,
    scheme: Scheme,
    path: &Path,
    options: FocusOptions,
) -> Result<()> {
    let io = |source| SourceError::Io { path: path.to_path_buf(), source };
    let mut head = Vec::with_capacity(4);
    std::fs::File::open(path).map_err(io)?.take(4).read_to_end(&mut head).map_err(io)?;
    match (Format::sniff(&head), scheme) {
        (Format::Parquet, _) => parquet::ingest_file(ledger, scheme, path, options),
        (Format::Zip, _) => self::zip::ingest_zip_file(ledger, scheme, path, options),
        (Format::Csv | Format::Gzip, Scheme::Focus) => {
            super::focus::ingest_csv_file(ledger, path, options, Layout::from_header)
        }
        (Format::Csv | Format::Gzip, Scheme::Cur) => {
            super::focus::ingest_csv_file(ledger, path, options, cur::CurMapping::from_header)
        }
    }
}

/// Reads one CSV stream (already decompressed) of `scheme` into `ledger`: a zip entry or an S3
/// object; `name` labels it in messages.
pub(crate) fn ingest_csv(
    ledger: &mut Ledger,
    scheme: Scheme,
    reader: Box<dyn std::io::BufRead + '_>,
    name: &Path,
    options: FocusOptions,
) -> Result<()> {
    match scheme {
        Scheme::Focus => super::focus::ingest(ledger, reader, name, options, Layout::from_header),
        Scheme::Cur => {
            super::focus::ingest(ledger, reader, name, options, cur::CurMapping::from_header)
        }
    }
}

/// A row of a billing file read by column position, before any mapping to FOCUS: a Parquet
/// row, or a CSV record in another scheme.
pub(crate) trait SourceRow {
    /// A cell as text, ASCII whitespace trimmed; empty when null or out of range. A MAP cell
    /// is its entries as a JSON object.
    fn text(&self, column: usize) -> &[u8];

    /// A cost cell as exact money; `None` when null. `Err` says why it is not an amount.
    fn money(&self, column: usize) -> Result<Option<Money>, String> {
        parse_money_text(self.text(column))
    }

    /// A timestamp cell.
    fn time(&self, column: usize) -> Time<'_> {
        Time::Text(self.text(column))
    }

    /// Whether a text cell is a quoted CSV field with its `""` pairs still doubled.
    fn is_escaped(&self, _column: usize) -> bool {
        false
    }
}

/// How a file's own columns become FOCUS rows for the ledger.
pub(crate) trait Mapping: Sync {
    /// The source columns read at `grain` (a columnar reader decodes only these).
    fn needed(&self, grain: Grain) -> Vec<usize>;

    /// Counts and adds one source row (see [`Ledger::take`]).
    fn add<S: SourceRow>(
        &self,
        ledger: &mut Ledger,
        row: &S,
        file: &str,
        line: u64,
        skip_invalid: bool,
    ) -> Result<(), RowError>;

    /// The FOCUS columns by position when the source is FOCUS itself, so a columnar reader may
    /// sum a batch column-wise (see `parquet::fold`); `None` for a mapped scheme.
    fn focus_layout(&self) -> Option<&Layout> {
        None
    }
}

/// A FOCUS file read by column position (Parquet): the columns are FOCUS's own.
impl Mapping for Layout {
    fn needed(&self, grain: Grain) -> Vec<usize> {
        let mut needed: Vec<usize> =
            columns_for(grain).into_iter().filter_map(|c| self.pos(c)).collect();
        needed.sort_unstable();
        needed.dedup();
        needed
    }

    fn add<S: SourceRow>(
        &self,
        ledger: &mut Ledger,
        row: &S,
        file: &str,
        line: u64,
        skip_invalid: bool,
    ) -> Result<(), RowError> {
        ledger.take(&FocusColumns { row, layout: self }, file, line, skip_invalid)
    }

    fn focus_layout(&self) -> Option<&Layout> {
        Some(self)
    }
}

/// A source row whose columns are FOCUS's.
struct FocusColumns<'a, S> {
    row: &'a S,
    layout: &'a Layout,
}

impl<S: SourceRow> Row for FocusColumns<'_, S> {
    #[inline]
    fn text(&self, column: Column) -> &[u8] {
        self.layout.pos(column).map_or(&[], |i| self.row.text(i))
    }

    fn has(&self, column: Column) -> bool {
        self.layout.pos(column).is_some()
    }

    fn money(&self, column: Column) -> Result<Option<Money>, RowError> {
        match self.layout.pos(column) {
            None => Ok(None),
            Some(i) => self.row.money(i).map_err(|message| row_err(column, message)),
        }
    }

    fn time(&self, column: Column) -> Time<'_> {
        self.layout.pos(column).map_or(Time::Text(&[]), |i| self.row.time(i))
    }

    fn tags(&self) -> (&[u8], bool) {
        match self.layout.pos(Column::Tags) {
            None => (&[], false),
            Some(i) => (self.row.text(i), self.row.is_escaped(i)),
        }
    }
}
