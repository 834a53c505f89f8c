//! FOCUS billing exports (CSV or gzipped CSV) streamed into a [`BillingSummary`].
//!
//! Rows are folded into per-key sums as they are read, so memory follows the number of distinct
//! groups at the requested [`Grain`], never the size of the file.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;

use super::progress::{Counted, ReadProgress};
use super::{Result, SourceError};
pub(crate) use tokenizer::Record;
use tokenizer::{Next, Tokenizer, unescape};

mod tokenizer;
use crate::model::billing::SkippedRow;
use crate::model::commitments::{
    CommitmentCharge, CommitmentData, CommitmentDay, CommitmentInfo, ComputeUsage, Pricing,
};
use crate::model::tags::parse_focus_tags;
use crate::model::{
    BilledResource, BillingLine, BillingSummary, Currency, Grain, Money, Sym, Tags,
};

/// How to read FOCUS files.
#[derive(Clone, Copy, Debug)]
pub struct FocusOptions {
    pub grain: Grain,
    /// Skip malformed rows (counting them) instead of failing on the first.
    pub skip_invalid: bool,
}

impl Default for FocusOptions {
    fn default() -> Self {
        FocusOptions { grain: Grain::FULL, skip_invalid: false }
    }
}

/// Reads every file into one summary. Files are read in the order given; the result does not
/// depend on that order.
pub fn read_focus_files(paths: &[PathBuf], options: FocusOptions) -> Result<BillingSummary> {
    let mut ledger = Ledger::new(options.grain);
    for path in paths {
        ingest_csv_file(&mut ledger, path, options, Layout::from_header)?;
    }
    Ok(ledger.finish(paths.iter().map(|p| p.display().to_string()).collect()))
}

/// Reads one local CSV file, plain or gzipped, into `ledger`: a big plain file on several
/// threads.
pub(crate) fn ingest_csv_file<D: Dialect>(
    ledger: &mut Ledger,
    path: &Path,
    options: FocusOptions,
    dialect: DialectOf<D>,
) -> Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_CHUNKS);
    let io = |source| SourceError::Io { path: path.to_path_buf(), source };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if threads > 1 && size >= PARALLEL_MIN_BYTES && !is_gzip(path)? {
        ingest_parallel(ledger, path, size, threads, options, dialect)
    } else {
        let reader = open_maybe_gzip(path, ledger.progress.clone())?;
        ingest(ledger, reader, path, options, dialect)
    }
}

/// Reads one FOCUS CSV from any reader (already decompressed); `path` names it in messages.
pub fn read_focus_reader(
    reader: impl Read,
    path: &Path,
    options: FocusOptions,
) -> Result<BillingSummary> {
    let mut ledger = Ledger::new(options.grain);
    ingest(&mut ledger, Box::new(BufReader::new(reader)), path, options, Layout::from_header)?;
    Ok(ledger.finish(vec![path.display().to_string()]))
}

pub(crate) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

fn open_maybe_gzip(path: &Path, progress: Option<Arc<ReadProgress>>) -> Result<Box<dyn BufRead>> {
    let file =
        File::open(path).map_err(|source| SourceError::Io { path: path.to_path_buf(), source })?;
    let mut buffered = BufReader::with_capacity(256 * 1024, Counted::new(file, progress));
    let head = buffered
        .fill_buf()
        .map_err(|source| SourceError::Io { path: path.to_path_buf(), source })?;
    if head.starts_with(&GZIP_MAGIC) {
        let decoder = flate2::bufread::MultiGzDecoder::new(buffered);
        Ok(Box::new(BufReader::with_capacity(256 * 1024, Pipelined::spawn(decoder))))
    } else if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz")) && !head.is_empty() {
        Err(SourceError::File {
            path: path.to_path_buf(),
            message: "named .gz but is not gzip data".to_string(),
        })
    } else {
        Ok(Box::new(buffered))
    }
}

/// A stream (an S3 object's body) as the CSV reader takes it: gzip, when the caller's sniffing
/// of its first bytes says so, is inflated on its own thread as for a local `.csv.gz`.
pub(crate) fn stream_maybe_gzip<R: Read + Send + 'static>(
    source: R,
    gzip: bool,
) -> Box<dyn BufRead + Send> {
    let buffered = BufReader::with_capacity(256 * 1024, source);
    if gzip {
        let decoder = flate2::bufread::MultiGzDecoder::new(buffered);
        Box::new(BufReader::with_capacity(256 * 1024, Pipelined::spawn(decoder)))
    } else {
        Box::new(buffered)
    }
}

/// Decompression on its own thread, feeding the parser through a bounded channel, so a
/// `.csv.gz` uses two cores: inflating and parsing cost about the same.
struct Pipelined {
    rx: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    current: Vec<u8>,
    pos: usize,
}

impl Pipelined {
    /// Four 1 MiB blocks in flight at most: enough to keep both threads busy.
    const BLOCK: usize = 1 << 20;
    const IN_FLIGHT: usize = 4;

    fn spawn<R: Read + Send + 'static>(mut source: R) -> Pipelined {
        let (tx, rx) = std::sync::mpsc::sync_channel(Self::IN_FLIGHT);
        std::thread::spawn(move || {
            loop {
                let mut block = vec![0u8; Self::BLOCK];
                let mut filled = 0;
                // Fill the block, so the parser wakes once per MiB, not once per read call.
                let outcome = loop {
                    match source.read(&mut block[filled..]) {
                        Ok(0) => break Ok(()),
                        Ok(n) => {
                            filled += n;
                            if filled == block.len() {
                                break Ok(());
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => break Err(e),
                    }
                };
                let done = filled < block.len() || outcome.is_err();
                block.truncate(filled);
                if filled > 0 && tx.send(Ok(block)).is_err() {
                    return; // the reader stopped early (an error in the data): nothing to do
                }
                if let Err(e) = outcome {
                    let _ = tx.send(Err(e));
                    return;
                }
                if done {
                    return;
                }
            }
        });
        Pipelined { rx, current: Vec::new(), pos: 0 }
    }
}

impl Read for Pipelined {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.current.len() {
            match self.rx.recv() {
                Ok(Ok(block)) => {
                    self.current = block;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0), // the sender finished: end of data
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The FOCUS columns costscope reads. Names match case-insensitively.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Column {
    BilledCost,
    EffectiveCost,
    ListCost,
    ChargePeriodStart,
    ChargePeriodEnd,
    BillingCurrency,
    ProviderName,
    BillingAccountId,
    BillingAccountName,
    SubAccountId,
    SubAccountName,
    ServiceName,
    ServiceCategory,
    RegionId,
    ResourceId,
    ResourceName,
    ResourceType,
    ChargeCategory,
    Tags,
    ChargeFrequency,
    PricingCategory,
    CommitmentDiscountId,
    CommitmentDiscountName,
    CommitmentDiscountCategory,
    CommitmentDiscountType,
    CommitmentDiscountStatus,
    CommitmentDiscountUnit,
}

const COLUMNS: [(Column, &str); 27] = [
    (Column::BilledCost, "BilledCost"),
    (Column::EffectiveCost, "EffectiveCost"),
    (Column::ListCost, "ListCost"),
    (Column::ChargePeriodStart, "ChargePeriodStart"),
    (Column::ChargePeriodEnd, "ChargePeriodEnd"),
    (Column::BillingCurrency, "BillingCurrency"),
    (Column::ProviderName, "ProviderName"),
    (Column::BillingAccountId, "BillingAccountId"),
    (Column::BillingAccountName, "BillingAccountName"),
    (Column::SubAccountId, "SubAccountId"),
    (Column::SubAccountName, "SubAccountName"),
    (Column::ServiceName, "ServiceName"),
    (Column::ServiceCategory, "ServiceCategory"),
    (Column::RegionId, "RegionId"),
    (Column::ResourceId, "ResourceId"),
    (Column::ResourceName, "ResourceName"),
    (Column::ResourceType, "ResourceType"),
    (Column::ChargeCategory, "ChargeCategory"),
    (Column::Tags, "Tags"),
    (Column::ChargeFrequency, "ChargeFrequency"),
    (Column::PricingCategory, "PricingCategory"),
    (Column::CommitmentDiscountId, "CommitmentDiscountId"),
    (Column::CommitmentDiscountName, "CommitmentDiscountName"),
    (Column::CommitmentDiscountCategory, "CommitmentDiscountCategory"),
    (Column::CommitmentDiscountType, "CommitmentDiscountType"),
    (Column::CommitmentDiscountStatus, "CommitmentDiscountStatus"),
    (Column::CommitmentDiscountUnit, "CommitmentDiscountUnit"),
];

pub(crate) fn column_name(column: Column) -> &'static str {
    COLUMNS.get(column as usize).map_or("?", |(_, n)| n)
}

/// The FOCUS columns the ledger reads at `grain`: what a columnar reader needs to decode.
/// (A CSV reader splits every field anyway; there Tags are validated whatever the grain.)
pub(crate) fn columns_for(grain: Grain) -> Vec<Column> {
    use Column::*;
    let wide = grain.resource || grain.commitments;
    let mut columns = vec![BilledCost, EffectiveCost, ChargePeriodStart, BillingCurrency];
    let mut keep = |on: bool, more: &[Column]| {
        if on {
            for column in more {
                if !columns.contains(column) {
                    columns.push(*column);
                }
            }
        }
    };
    keep(grain.list_cost || grain.commitments, &[ListCost]);
    keep(grain.account || wide, &[SubAccountId, BillingAccountId]);
    keep(grain.account, &[SubAccountName, BillingAccountName]);
    keep(grain.service || wide, &[ServiceName]);
    keep(grain.region || wide, &[RegionId]);
    keep(grain.provider || wide, &[ProviderName]);
    keep(grain.charge_category, &[ChargeCategory, ChargeFrequency]);
    keep(grain.tags || grain.resource, &[Tags]);
    keep(grain.resource, &[ResourceId, ResourceName, ResourceType]);
    keep(
        grain.commitments,
        &[
            ChargeCategory,
            ChargePeriodEnd,
            ChargeFrequency,
            ServiceCategory,
            PricingCategory,
            ResourceType,
            CommitmentDiscountId,
            CommitmentDiscountName,
            CommitmentDiscountCategory,
            CommitmentDiscountType,
            CommitmentDiscountStatus,
            CommitmentDiscountUnit,
        ],
    );
    columns
}

/// Header position of each known column.
pub(crate) struct Layout {
    index: [Option<usize>; COLUMNS.len()],
}

impl Layout {
    pub(crate) fn from_header(header: &[String], path: &Path) -> Result<Layout> {
        let mut index = [None; COLUMNS.len()];
        for (pos, raw) in header.iter().enumerate() {
            let name = raw.trim_start_matches('\u{feff}').trim();
            if let Some(slot) = COLUMNS.iter().position(|(_, n)| n.eq_ignore_ascii_case(name)) {
                // The first of duplicate headers wins, as in most CSV readers.
                index[slot].get_or_insert(pos);
            }
        }
        let layout = Layout { index };
        let missing: Vec<&str> = [Column::BilledCost, Column::ChargePeriodStart]
            .into_iter()
            .filter(|c| layout.pos(*c).is_none())
            .map(column_name)
            .collect();
        if !missing.is_empty() {
            return Err(SourceError::Row {
                path: path.to_path_buf(),
                line: 1,
                column: missing.join(", "),
                message: format!(
                    "not a FOCUS export: missing required column{} {} (header has {} columns)",
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join(", "),
                    header.len()
                ),
            });
        }
        Ok(layout)
    }

    /// The header position of `column`, if the file has it.
    pub(crate) fn pos(&self, column: Column) -> Option<usize> {
        self.index[column as usize]
    }
}

/// A row-level problem, before the file and line are attached.
#[derive(Debug)]
pub(crate) struct RowError {
    pub column: String,
    pub message: String,
}

pub(crate) fn row_err(column: Column, message: impl Into<String>) -> RowError {
    RowError { column: column_name(column).to_string(), message: message.into() }
}

/// Reads and checks the header row.
fn read_header<R: Read>(tokens: &mut Tokenizer<R>, path: &Path) -> Result<Vec<String>> {
    let record = match tokens.next(None).map_err(|e| io_error(e, path, 1))? {
        Next::Record(record) => record,
        Next::Stop { .. } | Next::Eof => return Err(empty_file(path)),
    };
    if record.iter().all(|f| f.trim_ascii().is_empty()) {
        return Err(empty_file(path));
    }
    let mut header = Vec::with_capacity(record.len());
    for raw in record.iter() {
        match std::str::from_utf8(raw) {
            Ok(text) if !raw.contains(&0) => header.push(text.to_string()),
            _ => {
                return Err(SourceError::Row {
                    path: path.to_path_buf(),
                    line: 1,
                    column: String::new(),
                    message: "binary or non-UTF-8 data where a CSV header was expected".to_string(),
                });
            }
        }
    }
    Ok(header)
}

fn empty_file(path: &Path) -> SourceError {
    SourceError::Row {
        path: path.to_path_buf(),
        line: 1,
        column: String::new(),
        message: "empty file: no FOCUS header row".to_string(),
    }
}

/// Builds a CSV file's [`Dialect`] from its header row.
pub(crate) type DialectOf<D> = fn(&[String], &Path) -> Result<D>;

/// Reads one CSV file (already decompressed) into `ledger`.
pub(crate) fn ingest<D: Dialect>(
    ledger: &mut Ledger,
    reader: Box<dyn BufRead + '_>,
    path: &Path,
    options: FocusOptions,
    dialect: DialectOf<D>,
) -> Result<()> {
    let mut tokens = Tokenizer::new(reader);
    let header = read_header(&mut tokens, path)?;
    let dialect = dialect(&header, path)?;
    tokens.keep_escaped(dialect.escaped_column());
    records(ledger, &mut tokens, &header, &dialect, options, path, None)?;
    Ok(())
}

/// Where a chunk stopped: the first record at or past its end, which it left for the next
/// chunk (byte offset and line, both relative to the chunk's reader).
#[derive(Clone, Copy, Debug)]
struct Stop {
    byte: u64,
    line: u64,
}

/// Folds records into `ledger` until EOF or, with `stop_at`, the first record that starts at or
/// after that byte offset (which is returned, unprocessed). Line numbers are the reader's own.
fn records<R: Read, D: Dialect>(
    ledger: &mut Ledger,
    tokens: &mut Tokenizer<R>,
    header: &[String],
    dialect: &D,
    options: FocusOptions,
    path: &Path,
    stop_at: Option<u64>,
) -> Result<Option<Stop>> {
    let columns = header.len();
    let file_label = path.display().to_string();
    loop {
        let last_line = tokens.line();
        let record = match tokens.next(stop_at) {
            Ok(Next::Record(record)) => record,
            Ok(Next::Eof) => {
                ledger.report_progress(true)?;
                return Ok(None);
            }
            Ok(Next::Stop { byte, line }) => {
                ledger.report_progress(true)?;
                return Ok(Some(Stop { byte, line }));
            }
            Err(e) => return Err(io_error(e, path, last_line)),
        };
        let line = record.line;
        if record.len() == 1 && record.get(0).is_some_and(|f| f.trim_ascii().is_empty()) {
            continue; // a blank line between records is not data
        }
        ledger.rows_read += 1;
        ledger.report_progress(false)?;
        let outcome = if record.len() != columns {
            let column = if record.len() < columns {
                header.get(record.len()).map_or("", |h| h.trim()).to_string()
            } else {
                format!("(field {})", columns + 1)
            };
            Err(RowError {
                column,
                message: format!("row has {} fields, the header has {columns}", record.len()),
            })
        } else {
            dialect.add(ledger, &record)
        };
        if let Err(err) = outcome {
            if options.skip_invalid {
                ledger.skipped.record(SkippedRow {
                    file: file_label.clone(),
                    line,
                    reason: format!("column {}: {}", err.column, err.message),
                });
                continue;
            }
            return Err(SourceError::Row {
                path: path.to_path_buf(),
                line,
                column: err.column,
                message: err.message,
            });
        }
    }
}

/// Plain files at least this big are read by several threads.
const PARALLEL_MIN_BYTES: u64 = 16 << 20;
const MAX_CHUNKS: usize = 8;

fn is_gzip(path: &Path) -> Result<bool> {
    let io = |source| SourceError::Io { path: path.to_path_buf(), source };
    let mut head = [0u8; 2];
    let mut file = File::open(path).map_err(io)?;
    let n = file.read(&mut head).map_err(io)?;
    Ok(n == 2 && head == GZIP_MAGIC)
}

/// The offset just after the first `\n` at or after `from` (or `len` when there is none).
fn next_line_start(path: &Path, from: u64, len: u64) -> Result<u64> {
    use std::io::{Seek, SeekFrom};
    let io = |source| SourceError::Io { path: path.to_path_buf(), source };
    let mut file = File::open(path).map_err(io)?;
    file.seek(SeekFrom::Start(from)).map_err(io)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut offset = from;
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            return Ok(len);
        }
        if let Some(i) = buf[..n].iter().position(|&b| b == b'\n') {
            return Ok(offset + i as u64 + 1);
        }
        offset += n as u64;
    }
}

/// Adds `base` to every line number a chunk reported.
fn shift_lines(result: Result<Ledger>, base: u64) -> Result<Ledger> {
    match result {
        Ok(mut ledger) => {
            for row in &mut ledger.skipped.first {
                row.line += base;
            }
            Ok(ledger)
        }
        Err(SourceError::Row { path, line, column, message }) => {
            Err(SourceError::Row { path, line: line + base, column, message })
        }
        Err(other) => Err(other),
    }
}

/// Reads one plain CSV file on several threads. Each thread takes a byte range starting after
/// a line break and stops at the first record that starts past its range. A line break inside
/// a quoted field makes a wrong guess; it is caught because the previous range then does not
/// stop exactly where the next began, and the rest of the file is read again in order. The
/// merged sums do not depend on the split, so the output is identical to a sequential read.
fn ingest_parallel<D: Dialect>(
    ledger: &mut Ledger,
    path: &Path,
    size: u64,
    threads: usize,
    options: FocusOptions,
    dialect: DialectOf<D>,
) -> Result<()> {
    use std::io::{Seek, SeekFrom};
    let io = |source| SourceError::Io { path: path.to_path_buf(), source };
    let progress = ledger.progress.clone();
    let open_at = |offset: u64| -> Result<Tokenizer<Counted<File>>> {
        let mut file = File::open(path).map_err(io)?;
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        Ok(Tokenizer::new(Counted::new(file, progress.clone())))
    };
    let mut first = open_at(0)?;
    let header = read_header(&mut first, path)?;
    let cols = dialect(&header, path)?;
    first.keep_escaped(cols.escaped_column());
    let data_start = first.position();
    let mut bounds = vec![data_start];
    for i in 1..threads as u64 {
        let nominal = data_start + (size - data_start) * i / threads as u64;
        let start = next_line_start(path, nominal, size)?;
        if start > *bounds.last().unwrap_or(&0) && start < size {
            bounds.push(start);
        }
    }
    bounds.push(size);

    std::thread::scope(|scope| -> Result<()> {
        let workers: Vec<_> = bounds
            .windows(2)
            .skip(1)
            .map(|range| {
                let (start, end) = (range[0], range[1]);
                let (header, cols) = (&header, &cols);
                let mut chunk = ledger.sibling();
                scope.spawn(move || -> Result<(Ledger, Option<Stop>)> {
                    let mut csv = open_at(start)?;
                    csv.keep_escaped(cols.escaped_column());
                    let stop = records(
                        &mut chunk,
                        &mut csv,
                        header,
                        cols,
                        options,
                        path,
                        Some(end - start),
                    )?;
                    Ok((chunk, stop))
                })
            })
            .collect();
        // The first range on this thread, continuing after the header.
        let mut stop = records(ledger, &mut first, &header, &cols, options, path, Some(bounds[1]))?;
        for (i, worker) in workers.into_iter().enumerate() {
            let start = bounds[i + 1];
            let outcome = worker.join().map_err(|_| SourceError::File {
                path: path.to_path_buf(),
                message: "a reader thread failed".to_string(),
            })?;
            match stop {
                // Nothing left: the previous range's last record ran to the end of the file.
                None => return Ok(()),
                Some(at) if at.byte == start => {
                    let base = at.line - 1;
                    let (chunk, next) = match outcome {
                        Ok((chunk, next)) => (Ok(chunk), next),
                        Err(e) => (Err(e), None),
                    };
                    let chunk = shift_lines(chunk, base)?;
                    ledger.merge(chunk).map_err(|e| SourceError::Row {
                        path: path.to_path_buf(),
                        line: at.line,
                        column: e.column,
                        message: e.message,
                    })?;
                    stop = next.map(|n| Stop { byte: start + n.byte, line: base + n.line });
                }
                // The guessed start was inside a quoted field: read the rest in order.
                Some(at) => {
                    let mut csv = open_at(at.byte)?;
                    csv.keep_escaped(cols.escaped_column());
                    let mut rest = ledger.sibling();
                    let result = records(&mut rest, &mut csv, &header, &cols, options, path, None)
                        .map(|_| rest);
                    let rest = shift_lines(result, at.line - 1)?;
                    ledger.merge(rest).map_err(|e| SourceError::Row {
                        path: path.to_path_buf(),
                        line: at.line,
                        column: e.column,
                        message: e.message,
                    })?;
                    return Ok(());
                }
            }
        }
        Ok(())
    })
}

/// `line` is where the reader was, for errors (a truncated stream) that carry none.
fn io_error(e: std::io::Error, path: &Path, line: u64) -> SourceError {
    if let Some(too_long) = super::record_limit::record_too_long(&e) {
        return SourceError::Row {
            path: path.to_path_buf(),
            line: too_long.line,
            column: String::new(),
            message: too_long.to_string(),
        };
    }
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => SourceError::File {
            path: path.to_path_buf(),
            message: format!("truncated file (compressed data ends early, near line {line})"),
        },
        std::io::ErrorKind::InvalidInput => SourceError::File {
            path: path.to_path_buf(),
            message: format!("corrupt compressed data near line {line}: {e}"),
        },
        _ => SourceError::Io { path: path.to_path_buf(), source: e },
    }
}

/// One billing row as the ledger reads it, whatever the file format: a FOCUS CSV record, a
/// CUR record mapped to FOCUS, or a Parquet row.
pub(crate) trait Row {
    /// A FOCUS column's cell, ASCII whitespace trimmed; empty when the column is absent or the
    /// cell is null (empty or `NULL`).
    fn text(&self, column: Column) -> &[u8];

    /// Whether the file has the column at all.
    fn has(&self, column: Column) -> bool;

    /// A cost column as exact money; `None` when null.
    fn money(&self, column: Column) -> Result<Option<Money>, RowError> {
        money_from_text(self.text(column), column)
    }

    /// A timestamp column, as text to parse or, from a typed file, already a UTC time.
    fn time(&self, column: Column) -> Time<'_> {
        Time::Text(self.text(column))
    }

    /// The Tags cell (a JSON object) and whether its quoted `""` pairs are still doubled.
    fn tags(&self) -> (&[u8], bool) {
        (self.text(Column::Tags), false)
    }
}

/// A timestamp cell: text (parsed and cached by the ledger) or a typed value.
pub(crate) enum Time<'a> {
    Text(&'a [u8]),
    Value(chrono::NaiveDateTime),
}

/// How the records of one CSV file become rows: FOCUS columns as they are, or another
/// scheme's columns (CUR) mapped to them.
pub(crate) trait Dialect: Sync {
    /// The column whose quoted cells are left escaped (the tags, cached as read).
    fn escaped_column(&self) -> Option<usize>;

    fn add(&self, ledger: &mut Ledger, record: &Record<'_>) -> Result<(), RowError>;
}

impl Dialect for Layout {
    fn escaped_column(&self) -> Option<usize> {
        self.pos(Column::Tags)
    }

    #[inline]
    fn add(&self, ledger: &mut Ledger, record: &Record<'_>) -> Result<(), RowError> {
        ledger.add_row(&CsvRow { record, layout: self })
    }
}

/// A FOCUS CSV record.
struct CsvRow<'r, 'a> {
    record: &'r Record<'a>,
    layout: &'r Layout,
}

impl Row for CsvRow<'_, '_> {
    #[inline]
    fn text(&self, column: Column) -> &[u8] {
        cell(self.record, self.layout.index[column as usize])
    }

    fn has(&self, column: Column) -> bool {
        self.layout.index[column as usize].is_some()
    }

    fn tags(&self) -> (&[u8], bool) {
        let pos = self.layout.index[Column::Tags as usize];
        (cell(self.record, pos), pos.is_some_and(|i| self.record.is_escaped(i)))
    }
}

/// A field's bytes, or `None` when the column is absent or the cell is null (empty or `NULL`).
fn field<'a>(record: &Record<'a>, pos: Option<usize>) -> Option<&'a [u8]> {
    let raw = record.get(pos?)?;
    let trimmed = raw.trim_ascii();
    if trimmed.is_empty() || trimmed.eq_ignore_ascii_case(b"null") { None } else { Some(raw) }
}

/// A cell's bytes with ASCII whitespace trimmed; empty when the column is absent or the cell
/// is null (empty or `NULL`).
#[inline]
fn cell<'a>(record: &Record<'a>, pos: Option<usize>) -> &'a [u8] {
    field(record, pos).map_or(&[], <[u8]>::trim_ascii)
}

/// A cost cell's text (trimmed; empty when null) as exact money.
pub(crate) fn money_from_text(bytes: &[u8], column: Column) -> Result<Option<Money>, RowError> {
    parse_money_text(bytes).map_err(|message| row_err(column, message))
}

/// A cost cell's text (trimmed; empty when null) as exact money, or why it is not an amount.
pub(crate) fn parse_money_text(bytes: &[u8]) -> Result<Option<Money>, String> {
    if bytes.is_empty() {
        return Ok(None);
    }
    match Money::parse_ascii(bytes) {
        Ok(m) => Ok(Some(m)),
        Err(e) => parse_formatted_amount(bytes).map(Some).ok_or_else(|| e.to_string()),
    }
}

/// A spreadsheet-formatted amount such as `$10,000.00 ` (the FOCUS specification's own SaaS
/// examples write them): an optional sign, one currency symbol, and commas that group digits by
/// three. Anything looser stays an error.
fn parse_formatted_amount(bytes: &[u8]) -> Option<Money> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r.trim_start()),
        None => (false, text),
    };
    let rest = rest.strip_prefix(['$', '€', '£', '¥']).unwrap_or(rest).trim_start();
    let (int, frac) = rest.split_once('.').map_or((rest, None), |(i, f)| (i, Some(f)));
    let groups: Vec<&str> = int.split(',').collect();
    let grouped_ok = groups.len() > 1
        && (1..=3).contains(&groups[0].len())
        && groups[1..].iter().all(|g| g.len() == 3)
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()));
    if !grouped_ok && rest == text {
        return None; // neither a symbol nor grouping: not a formatted amount
    }
    if !grouped_ok && int.contains(',') {
        return None;
    }
    let mut plain = String::with_capacity(rest.len() + 1);
    if negative {
        plain.push('-');
    }
    plain.push_str(&int.replace(',', ""));
    if let Some(f) = frac {
        plain.push('.');
        plain.push_str(f);
    }
    Money::parse(&plain).ok()
}

/// `M/D/YY` or `M/D/YYYY` (US order, as the FOCUS specification's SaaS examples write dates),
/// optionally followed by ` H:MM[:SS]`; the time does not change the day.
fn parse_us_date(text: &str) -> Option<NaiveDate> {
    let date = text.split_whitespace().next()?;
    let mut parts = date.split('/');
    let (m, d, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || m.len() > 2 || d.len() > 2 {
        return None;
    }
    let year: i32 = match y.len() {
        2 => 2000 + y.parse::<i32>().ok()?,
        4 => y.parse().ok()?,
        _ => return None,
    };
    NaiveDate::from_ymd_opt(year, m.parse().ok()?, d.parse().ok()?)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, `YYYY-MM-DD HH:MM:SS` (UTC) or, as a
/// fallback, a US `M/D/YY` date, and returns the UTC calendar day.
pub fn parse_charge_day(text: &str) -> Option<NaiveDate> {
    parse_charge_time(text).map(|t| t.date())
}

/// Like [`parse_charge_day`], keeping the time (UTC).
pub fn parse_charge_time(text: &str) -> Option<chrono::NaiveDateTime> {
    parse_iso_time(text).or_else(|| parse_us_date(text).and_then(|d| d.and_hms_opt(0, 0, 0)))
}

fn parse_iso_time(text: &str) -> Option<chrono::NaiveDateTime> {
    let b = text.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = b.get(r)?;
        if s.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(s).ok()?.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    if b.len() == 10 {
        return date.and_hms_opt(0, 0, 0);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, m, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let time = chrono::NaiveTime::from_hms_opt(h, m, s.min(59))?;
    let mut rest = &b[19..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let digits = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset_secs: i64 = match rest {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let hh = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
            let mm = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
            if hh > 23 || mm > 59 {
                return None;
            }
            let secs = hh * 3600 + mm * 60;
            if *sign == b'+' { secs } else { -secs }
        }
        _ => return None,
    };
    let local = date.and_time(time);
    let utc = local - chrono::Duration::seconds(offset_secs);
    Some(utc)
}

/// FxHash (the hasher rustc uses): a multiply-rotate per word, several times faster than the
/// default SipHash on the short keys of the hot loop. Hash-flooding resistance is not needed:
/// the input is the user's own billing export.
#[derive(Default, Clone, Copy)]
struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl std::hash::Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }
    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    #[inline]
    fn write_i32(&mut self, n: i32) {
        self.add(n as u32 as u64);
    }
    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;

/// String interning: each distinct text becomes a small integer, so group keys are cheap to
/// hash and copy.
#[derive(Default)]
struct Interner {
    /// Keyed by the raw bytes, so a repeated value is found without UTF-8 validation; a value
    /// is validated once, when first seen.
    ids: FastMap<Box<[u8]>, u32>,
    texts: Vec<Box<str>>,
}

impl Interner {
    fn new() -> Interner {
        let mut interner = Interner::default();
        interner.intern(""); // id 0 is the empty text: a dropped or null dimension
        interner
    }

    fn intern(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text.as_bytes()) {
            return id;
        }
        let id = self.texts.len() as u32;
        self.texts.push(text.into());
        self.ids.insert(text.as_bytes().into(), id);
        id
    }

    /// Interns a cell's bytes; `column` names the cell when they are not UTF-8.
    #[inline]
    fn intern_bytes(&mut self, bytes: &[u8], column: Column) -> Result<u32, RowError> {
        if let Some(&id) = self.ids.get(bytes) {
            return Ok(id);
        }
        let text =
            std::str::from_utf8(bytes).map_err(|_| row_err(column, "not valid UTF-8 text"))?;
        Ok(self.intern(text))
    }

    fn get(&self, id: u32) -> &str {
        self.texts.get(id as usize).map_or("", |t| t)
    }

    /// Each id's position among the texts in byte order (equal texts cannot occur).
    fn ranks(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.texts.len() as u32).collect();
        order.sort_unstable_by(|a, b| self.get(*a).cmp(self.get(*b)));
        let mut rank = vec![0u32; order.len()];
        for (position, id) in order.iter().enumerate() {
            rank[*id as usize] = position as u32;
        }
        rank
    }

    /// The inverse of [`Self::ranks`]: the id at each rank.
    fn ids_by_rank(&self, rank: &[u32]) -> Vec<u32> {
        let mut ids = vec![0u32; rank.len()];
        for (id, r) in rank.iter().enumerate() {
            ids[*r as usize] = id as u32;
        }
        ids
    }
}

const NO_TAGS: u32 = u32::MAX;
/// Rows between two progress reports: often enough for a 10 Hz screen at any read speed,
/// rarely enough to cost nothing.
const PROGRESS_BATCH: u64 = 1 << 14;
const NO_DAY: i32 = i32::MIN;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    day: i32,
    provider: u32,
    account: u32,
    service: u32,
    region: u32,
    resource: u32,
    charge_category: u32,
    charge_frequency: u32,
    tag_set: u32,
    currency: u32,
}

/// Key of the daily rollup kept at full grain.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct DailyKey {
    day: i32,
    service: u32,
    account: u32,
    region: u32,
    charge_category: u32,
    charge_frequency: u32,
    currency: u32,
}

fn add_amounts(
    sums: &mut Sums,
    billed: Money,
    effective: Option<Money>,
    list: Option<Money>,
    rows: u64,
) -> Result<(), RowError> {
    let overflow = || RowError {
        column: column_name(Column::BilledCost).to_string(),
        message: "the running total leaves the supported range (±1.7e20)".to_string(),
    };
    let add = |slot: &mut Money, v: Money| slot.checked_add(v).map(|m| *slot = m);
    add(&mut sums.billed, billed).ok_or_else(overflow)?;
    if let Some(e) = effective {
        add(sums.effective_slot(), e).ok_or_else(overflow)?;
    }
    if let Some(l) = list {
        add(sums.list_slot(), l).ok_or_else(overflow)?;
    }
    sums.rows += rows;
    Ok(())
}

fn add_sums(into: &mut Sums, other: Sums) -> Result<(), RowError> {
    add_amounts(into, other.billed, other.effective(), other.list(), other.rows)
}

/// Costs summed over `rows` rows. The optional sums are flagged rather than `Option`s: a
/// `Option<Money>` takes 32 bytes, and a detailed read keeps one `Sums` per resource and day.
#[derive(Clone, Copy, Default)]
pub(crate) struct Sums {
    pub(crate) billed: Money,
    effective: Money,
    list: Money,
    pub(crate) rows: u64,
    /// [`Sums::HAS_EFFECTIVE`], [`Sums::HAS_LIST`]: which of the optional sums a row gave.
    has: u8,
}

impl Sums {
    const HAS_EFFECTIVE: u8 = 1;
    const HAS_LIST: u8 = 2;

    /// EffectiveCost summed, `None` when no row had one.
    pub(crate) fn effective(&self) -> Option<Money> {
        (self.has & Self::HAS_EFFECTIVE != 0).then_some(self.effective)
    }

    /// ListCost summed, `None` when no row had one.
    pub(crate) fn list(&self) -> Option<Money> {
        (self.has & Self::HAS_LIST != 0).then_some(self.list)
    }

    /// The EffectiveCost sum to add to, marked present.
    pub(crate) fn effective_slot(&mut self) -> &mut Money {
        self.has |= Self::HAS_EFFECTIVE;
        &mut self.effective
    }

    /// The ListCost sum to add to, marked present.
    pub(crate) fn list_slot(&mut self) -> &mut Money {
        self.has |= Self::HAS_LIST;
        &mut self.list
    }
}

/// A row's dimensions as interned ids (0: empty, or not kept at the grain).
struct Dims {
    currency: u32,
    account: u32,
    service: u32,
    region: u32,
    provider: u32,
    resource: u32,
    charge_category: u32,
    charge_frequency: u32,
}

#[derive(Clone, Copy)]
struct ResourceAcc {
    resource_type: u32,
    resource_name: u32,
    service: u32,
    account: u32,
    region: u32,
    provider: u32,
    /// ChargePeriodStart of the row that describes the resource, in seconds.
    last_seen: i64,
    last_day: i32,
    first_day: i32,
    tag_set: u32,
}

/// Where a row was billed: the dimensions commitment data keeps, as interned ids.
#[derive(Clone, Copy)]
struct Scope {
    provider: u32,
    account: u32,
    service: u32,
    region: u32,
    currency: u32,
}

/// Key of one commitment's sums of one kind on one day.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct CommitKey {
    commitment: u32,
    day: i32,
    charge: CommitmentCharge,
    currency: u32,
}

/// What the rows said about a commitment; texts are interned ids, 0 when never given.
#[derive(Clone, Copy, Default)]
struct CommitAcc {
    name: u32,
    category: u32,
    kind: u32,
    unit: u32,
    provider: u32,
    account: u32,
    region: u32,
    usage_rows: u64,
    purchase_rows: u64,
    /// The latest ChargePeriodEnd of a one-time purchase: the end of the term it paid for.
    term_end: Option<i32>,
}

/// Key of compute usage per hour, scope and pricing.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct ComputeKey {
    /// Hours since the Unix epoch.
    hour: i64,
    provider: u32,
    service: u32,
    account: u32,
    region: u32,
    resource_type: u32,
    pricing: Pricing,
    currency: u32,
}

/// Keeps the alphabetically first non-empty text, so the choice does not depend on row order.
fn keep_first_text(strings: &Interner, kept: &mut u32, candidate: u32) {
    if candidate != 0 && (*kept == 0 || strings.get(candidate) < strings.get(*kept)) {
        *kept = candidate;
    }
}

impl CommitAcc {
    fn absorb(&mut self, strings: &Interner, other: &CommitAcc) {
        for (kept, candidate) in [
            (&mut self.name, other.name),
            (&mut self.category, other.category),
            (&mut self.kind, other.kind),
            (&mut self.unit, other.unit),
            (&mut self.provider, other.provider),
            (&mut self.account, other.account),
            (&mut self.region, other.region),
        ] {
            keep_first_text(strings, kept, candidate);
        }
        self.usage_rows += other.usage_rows;
        self.purchase_rows += other.purchase_rows;
        self.term_end = self.term_end.max(other.term_end);
    }

    fn remap(&self, id: impl Fn(u32) -> u32) -> CommitAcc {
        CommitAcc {
            name: id(self.name),
            category: id(self.category),
            kind: id(self.kind),
            unit: id(self.unit),
            provider: id(self.provider),
            account: id(self.account),
            region: id(self.region),
            ..*self
        }
    }
}

/// Running sums for every file of a run.
pub(crate) struct Ledger {
    grain: Grain,
    strings: Interner,
    groups: FastMap<Key, Sums>,
    /// Groups of merged parts (other chunks of a file) this ledger did not have, unsorted;
    /// `finish` sums those that parts share.
    merged_groups: Vec<(Key, Sums)>,
    daily: FastMap<DailyKey, Sums>,
    first_day: Option<i32>,
    last_day: Option<i32>,
    /// Raw Tags cell → parsed tag set id; exports repeat the same cell on many rows.
    raw_tags: FastMap<Box<[u8]>, u32>,
    /// The same for quoted cells, keyed by their content as written (`""` doubled).
    escaped_tags: FastMap<Box<[u8]>, u32>,
    tag_sets: Vec<Tags>,
    resources: FastMap<u32, ResourceAcc>,
    account_names: FastMap<u32, u32>,
    pub(crate) rows_read: u64,
    pub(crate) skipped: crate::model::SkippedRows,
    /// Who watches the read (the dashboard's loading screen), and the rows passed on so far.
    pub(crate) progress: Option<Arc<ReadProgress>>,
    rows_reported: u64,
    /// The last ChargePeriodStart cell parsed, and its value.
    last_start: Option<(Vec<u8>, chrono::NaiveDateTime)>,
    commit_days: FastMap<CommitKey, Sums>,
    commit_info: FastMap<u32, CommitAcc>,
    compute: FastMap<ComputeKey, Sums>,
    service_category_known: bool,
    /// Source rows each added row stands for: 1, or a pre-aggregated row's COUNT(*) (Athena).
    weight: u64,
}

/// Keeps the alphabetically first name of an account, so the choice does not depend on row order.
fn keep_first_name(names: &mut FastMap<u32, u32>, strings: &Interner, id: u32, name: u32) {
    names
        .entry(id)
        .and_modify(|kept| {
            if strings.get(name) < strings.get(*kept) {
                *kept = name;
            }
        })
        .or_insert(name);
}

fn day_number(day: NaiveDate) -> i32 {
    day.to_epoch_days()
}

fn day_from_number(n: i32) -> Option<NaiveDate> {
    if n == NO_DAY { None } else { NaiveDate::from_epoch_days(n) }
}

impl Ledger {
    pub(crate) fn new(grain: Grain) -> Ledger {
        Ledger {
            grain,
            strings: Interner::new(),
            groups: FastMap::default(),
            merged_groups: Vec::new(),
            daily: FastMap::default(),
            first_day: None,
            last_day: None,
            raw_tags: FastMap::default(),
            escaped_tags: FastMap::default(),
            tag_sets: Vec::new(),
            resources: FastMap::default(),
            account_names: FastMap::default(),
            rows_read: 0,
            skipped: Default::default(),
            progress: None,
            rows_reported: 0,
            last_start: None,
            commit_days: FastMap::default(),
            commit_info: FastMap::default(),
            compute: FastMap::default(),
            service_category_known: false,
            weight: 1,
        }
    }

    /// A ledger for a part of the same read (a chunk of a file): same grain, same watcher.
    pub(crate) fn sibling(&self) -> Ledger {
        let mut ledger = Ledger::new(self.grain);
        ledger.progress = self.progress.clone();
        ledger
    }

    /// Passes the rows read since the last call on to the watcher, once `PROGRESS_BATCH` have
    /// gathered (or always, with `flush`), and stops the read when the watcher asked.
    #[inline]
    pub(crate) fn report_progress(&mut self, flush: bool) -> Result<()> {
        let Some(progress) = &self.progress else { return Ok(()) };
        let unreported = self.rows_read - self.rows_reported;
        if unreported < PROGRESS_BATCH && !flush {
            return Ok(());
        }
        progress.add_rows(unreported);
        self.rows_reported = self.rows_read;
        if progress.is_cancelled() { Err(SourceError::Cancelled) } else { Ok(()) }
    }

    /// Interns the dimensions a row is grouped by at this grain, `text` giving each column's
    /// cell (only the dimensions the grain keeps are read, and so validated as UTF-8), and
    /// keeps the account's name.
    fn intern_dims<'t>(&mut self, text: impl Fn(Column) -> &'t [u8]) -> Result<Dims, RowError> {
        let g = self.grain;
        let s = &mut self.strings;
        let currency = s.intern_bytes(text(Column::BillingCurrency), Column::BillingCurrency)?;
        let mut pick = |keep: bool, column: Column| -> Result<u32, RowError> {
            if keep { s.intern_bytes(text(column), column) } else { Ok(0) }
        };
        // Commitments are reported per account, region and service whatever the grain.
        let wide = g.resource || g.commitments;
        let keep_account = g.account || wide;
        let sub_account = pick(keep_account, Column::SubAccountId)?;
        let account = if sub_account != 0 || !keep_account {
            sub_account
        } else {
            pick(true, Column::BillingAccountId)?
        };
        let service = pick(g.service || wide, Column::ServiceName)?;
        let region = pick(g.region || wide, Column::RegionId)?;
        let provider = pick(g.provider || wide, Column::ProviderName)?;
        let resource = pick(g.resource, Column::ResourceId)?;
        let charge_category = pick(g.charge_category, Column::ChargeCategory)?;
        let charge_frequency = pick(g.charge_category, Column::ChargeFrequency)?;
        if g.account {
            let billing_account = pick(true, Column::BillingAccountId)?;
            let name_column =
                if sub_account != 0 { Column::SubAccountName } else { Column::BillingAccountName };
            let account_name = pick(true, name_column)?;
            let billing_account_name = pick(true, Column::BillingAccountName)?;
            if account_name != 0 {
                keep_first_name(&mut self.account_names, &self.strings, account, account_name);
            }
            if billing_account != 0 && billing_account_name != 0 {
                keep_first_name(
                    &mut self.account_names,
                    &self.strings,
                    billing_account,
                    billing_account_name,
                );
            }
        }
        Ok(Dims {
            currency,
            account,
            service,
            region,
            provider,
            resource,
            charge_category,
            charge_frequency,
        })
    }

    /// Whether rows at `grain` may be summed before they reach the ledger ([`Self::add_folded`]):
    /// the grain keys on no resource, tag set or commitment, only on a few text columns
    /// (the [`columns_for`] the grain other than the costs and ChargePeriodStart) and the day.
    pub(crate) fn foldable(grain: Grain) -> bool {
        !grain.resource && !grain.commitments && !grain.tags
    }

    /// Adds `sums` of rows summed beforehand that share every dimension the grain keeps
    /// (`text` gives their cells) and, when the grain keeps days, the day `day`: what adding
    /// them one by one with [`Self::add_row`] gives, for a [`Self::foldable`] grain. The rows
    /// are counted by the caller ([`Self::rows_read`]), their days by [`Self::see_days`].
    pub(crate) fn add_folded<'t>(
        &mut self,
        text: impl Fn(Column) -> &'t [u8],
        day: i32,
        sums: Sums,
    ) -> Result<(), RowError> {
        debug_assert!(Self::foldable(self.grain));
        let Dims {
            currency,
            account,
            service,
            region,
            provider,
            charge_category,
            charge_frequency,
            ..
        } = self.intern_dims(text)?;
        let g = self.grain;
        let key = Key {
            day: if g.day { day } else { NO_DAY },
            provider: if g.provider { provider } else { 0 },
            account: if g.account { account } else { 0 },
            service: if g.service { service } else { 0 },
            region: if g.region { region } else { 0 },
            resource: 0,
            charge_category,
            charge_frequency,
            tag_set: NO_TAGS,
            currency,
        };
        add_sums(self.groups.entry(key).or_default(), sums)
    }

    /// Widens the days the ledger's rows span to `first..=last` (epoch days).
    pub(crate) fn see_days(&mut self, first: i32, last: i32) {
        self.first_day = Some(self.first_day.map_or(first, |d| d.min(first)));
        self.last_day = Some(self.last_day.map_or(last, |d| d.max(last)));
    }

    pub(crate) fn add_row<R: Row>(&mut self, r: &R) -> Result<(), RowError> {
        let billed = r
            .money(Column::BilledCost)?
            .ok_or_else(|| row_err(Column::BilledCost, "required value is null"))?;
        let effective = r.money(Column::EffectiveCost)?;
        let list = if self.grain.list_cost || self.grain.commitments {
            r.money(Column::ListCost)?
        } else {
            None
        };
        let start = match r.time(Column::ChargePeriodStart) {
            Time::Value(time) => Ok(time),
            Time::Text(text) => Err(text),
        };
        // Exports come in period order, so most rows repeat the previous row's timestamp.
        let start_time = match (start, &self.last_start) {
            (Ok(time), _) => time,
            (Err([]), _) => {
                return Err(row_err(Column::ChargePeriodStart, "required value is null"));
            }
            (Err(start), Some((bytes, time))) if bytes.as_slice() == start => *time,
            (Err(start), _) => {
                let time = std::str::from_utf8(start).ok().and_then(parse_charge_time).ok_or_else(
                    || {
                        let shown = String::from_utf8_lossy(start);
                        row_err(Column::ChargePeriodStart, format!("not a timestamp: {shown:?}"))
                    },
                )?;
                let (bytes, kept) = self.last_start.get_or_insert_with(|| (Vec::new(), time));
                bytes.clear();
                bytes.extend_from_slice(start);
                *kept = time;
                time
            }
        };
        let day = start_time.date();
        let g = self.grain;
        let need_resource = g.resource;
        // Tags are validated whatever the grain, so a bad cell fails every command alike.
        let (tags, escaped) = r.tags();
        let tag_set = self.tag_set_of(tags, escaped)?;
        let Dims {
            currency,
            account,
            service,
            region,
            provider,
            resource,
            charge_category,
            charge_frequency,
        } = self.intern_dims(|column| r.text(column))?;
        let day_n = day_number(day);
        let key = Key {
            day: if g.day && (!g.resource || g.resource_days) { day_n } else { NO_DAY },
            provider: if g.provider { provider } else { 0 },
            account: if g.account { account } else { 0 },
            service: if g.service { service } else { 0 },
            region: if g.region { region } else { 0 },
            resource,
            charge_category,
            charge_frequency,
            tag_set: if g.tags { tag_set } else { NO_TAGS },
            currency,
        };
        self.see_days(day_n, day_n);
        add_amounts(self.groups.entry(key).or_default(), billed, effective, list, self.weight)?;
        if g.day && g.resource {
            let daily = DailyKey {
                day: day_n,
                service,
                account,
                region,
                charge_category,
                charge_frequency,
                currency,
            };
            add_amounts(
                self.daily.entry(daily).or_default(),
                billed,
                effective,
                list,
                self.weight,
            )?;
        }
        if g.commitments {
            let scope = Scope { provider, account, service, region, currency };
            self.add_commitment_row(r, day_n, start_time, scope, (billed, effective, list))?;
        }

        if need_resource && resource != 0 {
            let candidate = ResourceAcc {
                resource_type: self
                    .strings
                    .intern_bytes(r.text(Column::ResourceType), Column::ResourceType)?,
                resource_name: self
                    .strings
                    .intern_bytes(r.text(Column::ResourceName), Column::ResourceName)?,
                service,
                account,
                region,
                provider,
                last_seen: start_time.and_utc().timestamp(),
                last_day: day_n,
                first_day: day_n,
                tag_set,
            };
            match self.resources.get(&resource).copied() {
                None => {
                    self.resources.insert(resource, candidate);
                }
                Some(kept) => {
                    let first_day = kept.first_day.min(day_n);
                    let best =
                        if self.describes_better(&candidate, &kept) { candidate } else { kept };
                    self.resources.insert(resource, ResourceAcc { first_day, ..best });
                }
            }
        }
        Ok(())
    }

    /// Adds what `add` adds as `count` source rows each (a query's grouped row and its
    /// COUNT(*)), and counts them read.
    pub(crate) fn weighted<T>(&mut self, count: u64, add: impl FnOnce(&mut Ledger) -> T) -> T {
        let kept = std::mem::replace(&mut self.weight, count);
        let out = add(self);
        self.weight = kept;
        self.rows_read += count;
        out
    }

    /// Counts and adds one row read from a file that is not a FOCUS CSV. A bad row is recorded
    /// as skipped with `skip_invalid`, else its error is returned. `place` locates it for the
    /// user: a line, or a row group and row.
    pub(crate) fn take<R: Row>(
        &mut self,
        row: &R,
        file: &str,
        line: u64,
        skip_invalid: bool,
    ) -> Result<(), RowError> {
        self.rows_read += 1;
        match self.add_row(row) {
            Err(err) if skip_invalid => {
                self.skipped.record(SkippedRow {
                    file: file.to_string(),
                    line,
                    reason: format!("column {}: {}", err.column, err.message),
                });
                Ok(())
            }
            other => other,
        }
    }

    /// Commitment charges and compute usage by pricing: what coverage and utilization need.
    fn add_commitment_row<R: Row>(
        &mut self,
        r: &R,
        day: i32,
        start: chrono::NaiveDateTime,
        scope: Scope,
        (billed, effective, list): (Money, Option<Money>, Option<Money>),
    ) -> Result<(), RowError> {
        let category = r.text(Column::ChargeCategory);
        let is_usage = category.eq_ignore_ascii_case(b"usage");
        let is_purchase = category.eq_ignore_ascii_case(b"purchase");
        if !is_usage && !is_purchase {
            return Ok(());
        }
        let commitment_cell = r.text(Column::CommitmentDiscountId);
        let mut charge = None;
        if !commitment_cell.is_empty() {
            let status = r.text(Column::CommitmentDiscountStatus);
            charge = Some(if is_purchase {
                if r.text(Column::ChargeFrequency).eq_ignore_ascii_case(b"one-time") {
                    CommitmentCharge::PurchaseOneTime
                } else {
                    CommitmentCharge::PurchaseRecurring
                }
            } else if status.eq_ignore_ascii_case(b"unused") {
                CommitmentCharge::Unused
            } else {
                // `Used`, or an export from before CommitmentDiscountStatus: a usage row that
                // names a commitment is usage it covered.
                CommitmentCharge::Used
            });
            let s = &mut self.strings;
            let commitment = s.intern_bytes(commitment_cell, Column::CommitmentDiscountId)?;
            let mut text = |column: Column| s.intern_bytes(r.text(column), column);
            // Only a one-time purchase's period spans the term; an unreadable end is not an
            // error, since nothing else depends on it.
            let term_end = if charge == Some(CommitmentCharge::PurchaseOneTime) {
                match r.time(Column::ChargePeriodEnd) {
                    Time::Value(t) => Some(t),
                    Time::Text(text) => std::str::from_utf8(text).ok().and_then(parse_charge_time),
                }
                .map(|t| day_number(t.date()))
            } else {
                None
            };
            let seen = CommitAcc {
                name: text(Column::CommitmentDiscountName)?,
                category: text(Column::CommitmentDiscountCategory)?,
                kind: text(Column::CommitmentDiscountType)?,
                unit: text(Column::CommitmentDiscountUnit)?,
                provider: scope.provider,
                account: scope.account,
                region: scope.region,
                usage_rows: u64::from(is_usage) * self.weight,
                purchase_rows: u64::from(is_purchase) * self.weight,
                term_end,
            };
            let strings = &self.strings;
            self.commit_info.entry(commitment).or_default().absorb(strings, &seen);
            if let Some(charge) = charge {
                let key = CommitKey { commitment, day, charge, currency: scope.currency };
                let sums = self.commit_days.entry(key).or_default();
                add_amounts(sums, billed, effective, list, self.weight)?;
            }
        }
        if !is_usage || charge == Some(CommitmentCharge::Unused) {
            return Ok(());
        }
        // Without a ServiceCategory column every usage row counts as compute (the FOCUS
        // specification's own commitment examples have none); reports say so.
        if r.has(Column::ServiceCategory) {
            self.service_category_known = true;
            if !r.text(Column::ServiceCategory).eq_ignore_ascii_case(b"compute") {
                return Ok(());
            }
        }
        let pricing_text =
            self.strings.intern_bytes(r.text(Column::PricingCategory), Column::PricingCategory)?;
        let pricing = Pricing::from_focus(
            self.strings.get(pricing_text),
            charge == Some(CommitmentCharge::Used),
        );
        let resource_type =
            self.strings.intern_bytes(r.text(Column::ResourceType), Column::ResourceType)?;
        let key = ComputeKey {
            hour: start.and_utc().timestamp().div_euclid(3600),
            provider: scope.provider,
            service: scope.service,
            account: scope.account,
            region: scope.region,
            resource_type,
            pricing,
            currency: scope.currency,
        };
        add_amounts(self.compute.entry(key).or_default(), billed, effective, list, self.weight)
    }

    /// Adds another ledger's sums (a chunk of the same file, read on another thread).
    pub(crate) fn merge(&mut self, other: Ledger) -> Result<(), RowError> {
        let ids: Vec<u32> = other.strings.texts.iter().map(|t| self.strings.intern(t)).collect();
        let id = |x: u32| ids.get(x as usize).copied().unwrap_or(0);
        let mut known: HashMap<Tags, u32> =
            self.tag_sets.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        let mut tag_ids = Vec::with_capacity(other.tag_sets.len());
        for tags in other.tag_sets {
            let next = self.tag_sets.len() as u32;
            let tag_id = *known.entry(tags.clone()).or_insert(next);
            if tag_id == next {
                self.tag_sets.push(tags);
            }
            tag_ids.push(tag_id);
        }
        let tag = |x: u32| {
            if x == NO_TAGS { NO_TAGS } else { tag_ids.get(x as usize).copied().unwrap_or(NO_TAGS) }
        };
        let theirs = other.merged_groups.into_iter();
        for (k, v) in other.groups.into_iter().chain(theirs) {
            let key = Key {
                day: k.day,
                provider: id(k.provider),
                account: id(k.account),
                service: id(k.service),
                region: id(k.region),
                resource: id(k.resource),
                charge_category: id(k.charge_category),
                charge_frequency: id(k.charge_frequency),
                tag_set: tag(k.tag_set),
                currency: id(k.currency),
            };
            // A group this ledger has is summed (checked) in place; a new one waits for
            // `finish`, which sorts every group anyway: growing the table to hold both parts
            // would keep its old and new allocation, and the other part's, alive at once.
            match self.groups.get_mut(&key) {
                Some(sums) => add_sums(sums, v)?,
                None => self.merged_groups.push((key, v)),
            }
        }
        for (k, v) in other.daily {
            let key = DailyKey {
                day: k.day,
                service: id(k.service),
                account: id(k.account),
                region: id(k.region),
                charge_category: id(k.charge_category),
                charge_frequency: id(k.charge_frequency),
                currency: id(k.currency),
            };
            add_sums(self.daily.entry(key).or_default(), v)?;
        }
        for (resource, acc) in other.resources {
            let candidate = ResourceAcc {
                resource_type: id(acc.resource_type),
                resource_name: id(acc.resource_name),
                service: id(acc.service),
                account: id(acc.account),
                region: id(acc.region),
                provider: id(acc.provider),
                tag_set: tag(acc.tag_set),
                ..acc
            };
            let resource = id(resource);
            match self.resources.get(&resource).copied() {
                None => {
                    self.resources.insert(resource, candidate);
                }
                Some(kept) => {
                    let first_day = kept.first_day.min(candidate.first_day);
                    let best =
                        if self.describes_better(&candidate, &kept) { candidate } else { kept };
                    self.resources.insert(resource, ResourceAcc { first_day, ..best });
                }
            }
        }
        for (account, name) in other.account_names {
            keep_first_name(&mut self.account_names, &self.strings, id(account), id(name));
        }
        for (k, v) in other.commit_days {
            let key = CommitKey { commitment: id(k.commitment), currency: id(k.currency), ..k };
            add_sums(self.commit_days.entry(key).or_default(), v)?;
        }
        for (commitment, acc) in other.commit_info {
            let acc = acc.remap(id);
            let strings = &self.strings;
            self.commit_info.entry(id(commitment)).or_default().absorb(strings, &acc);
        }
        for (k, v) in other.compute {
            let key = ComputeKey {
                provider: id(k.provider),
                service: id(k.service),
                account: id(k.account),
                region: id(k.region),
                resource_type: id(k.resource_type),
                currency: id(k.currency),
                ..k
            };
            add_sums(self.compute.entry(key).or_default(), v)?;
        }
        self.service_category_known |= other.service_category_known;
        self.rows_read += other.rows_read;
        self.rows_reported += other.rows_reported;
        self.skipped.merge(other.skipped);
        for day in [other.first_day, other.last_day].into_iter().flatten() {
            self.first_day = Some(self.first_day.map_or(day, |d| d.min(day)));
            self.last_day = Some(self.last_day.map_or(day, |d| d.max(day)));
        }
        Ok(())
    }

    /// Whether `a` describes a resource better than `b`: the later row wins, and rows at the
    /// same instant are ordered by their content, so the result never depends on row order.
    fn describes_better(&self, a: &ResourceAcc, b: &ResourceAcc) -> bool {
        if a.last_seen != b.last_seen {
            return a.last_seen > b.last_seen;
        }
        let s = &self.strings;
        let text = |x: &ResourceAcc| {
            [x.resource_type, x.resource_name, x.service, x.account, x.region, x.provider]
                .map(|id| s.get(id).to_string())
        };
        let tags = |x: &ResourceAcc| self.tag_sets.get(x.tag_set as usize);
        (text(a), tags(a)) > (text(b), tags(b))
    }

    /// `escaped`: `raw` is a quoted cell's content with its `""` pairs still doubled.
    fn tag_set_of(&mut self, raw: &[u8], escaped: bool) -> Result<u32, RowError> {
        if raw.is_empty() {
            return Ok(NO_TAGS);
        }
        let cache = if escaped { &self.escaped_tags } else { &self.raw_tags };
        if let Some(&id) = cache.get(raw) {
            return Ok(id);
        }
        let unescaped;
        let plain = if escaped {
            unescaped = unescape(raw);
            &unescaped[..]
        } else {
            raw
        };
        let text = std::str::from_utf8(plain)
            .map_err(|_| row_err(Column::Tags, "not valid UTF-8 text"))?;
        let tags = parse_focus_tags(text).map_err(|e| row_err(Column::Tags, e.to_string()))?;
        let id = if tags.is_empty() {
            NO_TAGS
        } else {
            self.tag_sets.push(tags);
            (self.tag_sets.len() - 1) as u32
        };
        if escaped {
            self.escaped_tags.insert(raw.into(), id);
        } else {
            self.raw_tags.insert(raw.into(), id);
        }
        Ok(id)
    }

    fn commitment_data(&self) -> CommitmentData {
        let s = &self.strings;
        let owned = |id: u32| s.get(id).to_string();
        let mut days: Vec<CommitmentDay> = self
            .commit_days
            .iter()
            .filter_map(|(k, v)| {
                Some(CommitmentDay {
                    commitment_id: owned(k.commitment),
                    day: day_from_number(k.day)?,
                    charge: k.charge,
                    currency: Currency::new(s.get(k.currency)),
                    billed_cost: v.billed,
                    effective_cost: v.effective(),
                    list_cost: v.list(),
                    rows: v.rows,
                })
            })
            .collect();
        days.sort_by(|a, b| {
            (&a.commitment_id, a.day, a.charge, &a.currency).cmp(&(
                &b.commitment_id,
                b.day,
                b.charge,
                &b.currency,
            ))
        });
        let info = self
            .commit_info
            .iter()
            .map(|(id, acc)| {
                (
                    owned(*id),
                    CommitmentInfo {
                        name: owned(acc.name),
                        category: owned(acc.category),
                        kind: owned(acc.kind),
                        provider: owned(acc.provider),
                        account_id: owned(acc.account),
                        region: owned(acc.region),
                        unit: owned(acc.unit),
                        usage_rows: acc.usage_rows,
                        purchase_rows: acc.purchase_rows,
                        term_end: acc.term_end.and_then(day_from_number),
                    },
                )
            })
            .collect();
        let mut compute: Vec<ComputeUsage> = self
            .compute
            .iter()
            .filter_map(|(k, v)| {
                Some(ComputeUsage {
                    hour: chrono::DateTime::from_timestamp(k.hour.checked_mul(3600)?, 0)?
                        .naive_utc(),
                    provider: owned(k.provider),
                    service: owned(k.service),
                    account_id: owned(k.account),
                    region: owned(k.region),
                    resource_type: owned(k.resource_type),
                    pricing: k.pricing,
                    currency: Currency::new(s.get(k.currency)),
                    billed_cost: v.billed,
                    effective_cost: v.effective(),
                    list_cost: v.list(),
                    rows: v.rows,
                })
            })
            .collect();
        compute.sort_by(|a, b| {
            (
                a.hour,
                &a.provider,
                &a.service,
                &a.account_id,
                &a.region,
                &a.resource_type,
                a.pricing,
                &a.currency,
            )
                .cmp(&(
                    b.hour,
                    &b.provider,
                    &b.service,
                    &b.account_id,
                    &b.region,
                    &b.resource_type,
                    b.pricing,
                    &b.currency,
                ))
        });
        CommitmentData { days, info, compute, service_category_known: self.service_category_known }
    }

    pub(crate) fn finish(mut self, sources: Vec<String>) -> BillingSummary {
        // Tag sets are renumbered in content order, and equal sets written differently merge,
        // so ids do not depend on which row came first.
        let mut by_content: BTreeMap<&Tags, u32> = BTreeMap::new();
        for tags in &self.tag_sets {
            by_content.insert(tags, 0);
        }
        for (i, slot) in by_content.values_mut().enumerate() {
            *slot = i as u32;
        }
        let remap = |id: u32| -> Option<u32> {
            if id == NO_TAGS {
                None
            } else {
                self.tag_sets.get(id as usize).and_then(|t| by_content.get(t).copied())
            }
        };
        let ordered_sets: Vec<Tags> = by_content.keys().map(|t| (*t).clone()).collect();
        let s = &self.strings;
        // One shared text per distinct value: lines clone a pointer, never the text.
        let syms: Vec<Sym> = s.texts.iter().map(|t| Sym::new(t)).collect();
        let sym = |id: u32| syms.get(id as usize).cloned().unwrap_or_default();
        let currencies: Vec<Currency> = s.texts.iter().map(|t| Currency::new(t)).collect();
        let currency = |id: u32| currencies.get(id as usize).cloned().unwrap_or_default();
        // Lines are ordered by their texts; ranking the distinct texts once lets a million
        // lines sort on integers.
        let rank = s.ranks();
        let r = |id: u32| rank.get(id as usize).copied().unwrap_or(0);
        let groups = std::mem::take(&mut self.groups);
        let merged = std::mem::take(&mut self.merged_groups);
        let mut keyed: Vec<([u32; 10], Sums)> = Vec::with_capacity(groups.len() + merged.len());
        let ranked = groups.into_iter().chain(merged).map(|(key, sums)| {
            let tag_rank = remap(key.tag_set).map_or(0, |i| i + 1);
            let day_rank = if key.day == NO_DAY { 0 } else { (key.day as u32) ^ (1 << 31) };
            let order = [
                day_rank,
                r(key.provider),
                r(key.account),
                r(key.service),
                r(key.region),
                r(key.resource),
                r(key.charge_category),
                r(key.charge_frequency),
                tag_rank,
                r(key.currency),
            ];
            (order, sums)
        });
        keyed.extend(ranked);
        keyed.sort_unstable_by_key(|(order, _)| *order);
        // Equal tag sets written differently share a rank now, and two merged parts may share
        // a group the first did not have: their sums add up. (Saturating: a total past the
        // supported range was refused row by row and in `merge` wherever the first part knew
        // the group.)
        keyed.dedup_by(|later, kept| {
            if later.0 != kept.0 {
                return false;
            }
            kept.1.billed += later.1.billed;
            if let Some(e) = later.1.effective() {
                *kept.1.effective_slot() += e;
            }
            if let Some(l) = later.1.list() {
                *kept.1.list_slot() += l;
            }
            kept.1.rows += later.1.rows;
            true
        });
        let by_rank = s.ids_by_rank(&rank);
        let id = |rank: u32| by_rank.get(rank as usize).copied().unwrap_or(0);
        let lines = keyed
            .into_iter()
            .map(|(order, v)| BillingLine {
                day: if order[0] == 0 {
                    None
                } else {
                    day_from_number((order[0] ^ (1 << 31)) as i32)
                },
                provider: sym(id(order[1])),
                account_id: sym(id(order[2])),
                service: sym(id(order[3])),
                region: sym(id(order[4])),
                resource_id: sym(id(order[5])),
                charge_category: sym(id(order[6])),
                charge_frequency: sym(id(order[7])),
                tag_set: order[8].checked_sub(1),
                currency: currency(id(order[9])),
                billed_cost: v.billed,
                effective_cost: v.effective(),
                list_cost: v.list(),
                rows: v.rows,
            })
            .collect();
        let resources = self
            .resources
            .iter()
            .map(|(id, acc)| {
                let tags = remap(acc.tag_set)
                    .and_then(|i| ordered_sets.get(i as usize).cloned())
                    .unwrap_or_default();
                (
                    sym(*id),
                    BilledResource {
                        resource_type: sym(acc.resource_type),
                        resource_name: sym(acc.resource_name),
                        service: sym(acc.service),
                        account_id: sym(acc.account),
                        region: sym(acc.region),
                        provider: sym(acc.provider),
                        tags,
                        first_day: day_from_number(acc.first_day),
                        last_day: day_from_number(acc.last_day),
                    },
                )
            })
            .collect();
        let account_names = self
            .account_names
            .iter()
            .map(|(id, name)| (s.get(*id).to_string(), s.get(*name).to_string()))
            .collect();
        let mut daily: Vec<crate::model::DailyLine> = self
            .daily
            .iter()
            .filter_map(|(k, v)| {
                Some(crate::model::DailyLine {
                    day: day_from_number(k.day)?,
                    service: sym(k.service),
                    account_id: sym(k.account),
                    region: sym(k.region),
                    charge_category: sym(k.charge_category),
                    charge_frequency: sym(k.charge_frequency),
                    currency: currency(k.currency),
                    billed_cost: v.billed,
                    effective_cost: v.effective(),
                    rows: v.rows,
                })
            })
            .collect();
        daily.sort_by(|a, b| {
            (a.day, &a.service, &a.account_id, &a.region, &a.charge_category, &a.currency).cmp(&(
                b.day,
                &b.service,
                &b.account_id,
                &b.region,
                &b.charge_category,
                &b.currency,
            ))
        });
        let commitments = self.commitment_data();
        BillingSummary {
            sources,
            grain: self.grain,
            lines,
            daily,
            first_day: self.first_day.and_then(day_from_number),
            last_day: self.last_day.and_then(day_from_number),
            tag_sets: ordered_sets,
            account_names,
            resources,
            rows_read: self.rows_read,
            skipped: self.skipped,
            tag_costs: Vec::new(),
            commitments,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    struct Dimension;
    impl Dimension {
        fn service_grain() -> Grain {
            Grain { service: true, ..Grain::NONE }
        }
    }

    #[test]
    fn full_grain_keeps_one_line_per_resource_not_per_row() {
        let mut csv = String::from("BilledCost,ChargePeriodStart,ResourceId,ServiceName,Tags\n");
        for day in 1..=28 {
            for hour in 0..24 {
                for r in ["i-1", "i-2", "i-3"] {
                    csv.push_str(&format!(
                        "0.1,2026-02-{day:02}T{hour:02}:00:00Z,{r},EC2,\"{{\"\"team\"\":\"\"a\"\"}}\"\n"
                    ));
                }
            }
        }
        let summary =
            read_focus_reader(csv.as_bytes(), Path::new("t.csv"), FocusOptions::default()).unwrap();
        assert_eq!(summary.rows_read, 28 * 24 * 3);
        assert_eq!(summary.lines.len(), 3, "one line per resource, whatever the row count");
        assert_eq!(summary.daily.len(), 28);
        assert_eq!(summary.lines[0].billed_cost.to_string(), "67.2");
        assert_eq!(summary.period().map(|(a, b)| (a.day(), b.day())), Some((1, 28)));
    }

    #[test]
    fn column_table_is_in_enum_order() {
        // `Column as usize` indexes COLUMNS and Layout::index.
        for (i, (column, _)) in COLUMNS.iter().enumerate() {
            assert_eq!(*column as usize, i, "{column:?}");
        }
    }

    #[test]
    fn parses_the_timestamp_forms_exports_write() {
        let day = |s: &str| parse_charge_day(s).map(|d| d.to_string());
        assert_eq!(day("2026-10-01T00:00:00Z").as_deref(), Some("2026-10-01"));
        assert_eq!(day("2026-10-01T23:30:00-02:00").as_deref(), Some("2026-10-02"));
        assert_eq!(day("2026-10-01T00:30:00+0100").as_deref(), Some("2026-09-30"));
        assert_eq!(day("2026-10-01 12:00:00").as_deref(), Some("2026-10-01"));
        assert_eq!(day("2026-10-01T12:00:00.123Z").as_deref(), Some("2026-10-01"));
        assert_eq!(day("4/1/25").as_deref(), Some("2025-04-01"));
        for bad in ["2026-13-01", "2026-10-01T25:00:00Z", "yesterday", "2026-10-01T00:00:00Q"] {
            assert_eq!(day(bad), None, "{bad}");
        }
    }

    #[test]
    fn formatted_amounts_need_a_symbol_or_valid_grouping() {
        let f = |s: &str| parse_formatted_amount(s.as_bytes()).map(|m| m.to_string());
        assert_eq!(f("$10,000.00 ").as_deref(), Some("10000"));
        assert_eq!(f("-$1,234.5").as_deref(), Some("-1234.5"));
        assert_eq!(f("1,000").as_deref(), Some("1000"));
        assert_eq!(f("1,00"), None);
        assert_eq!(f("12abc"), None);
    }

    fn sequential(path: &Path, options: FocusOptions) -> Result<BillingSummary> {
        let mut ledger = Ledger::new(options.grain);
        ingest(&mut ledger, open_maybe_gzip(path, None)?, path, options, Layout::from_header)?;
        Ok(ledger.finish(vec![]))
    }

    fn parallel(path: &Path, threads: usize, options: FocusOptions) -> Result<BillingSummary> {
        let mut ledger = Ledger::new(options.grain);
        let size = std::fs::metadata(path).unwrap().len();
        ingest_parallel(&mut ledger, path, size, threads, options, Layout::from_header)?;
        Ok(ledger.finish(vec![]))
    }

    /// Rows with multi-line quoted names, so some split points fall inside a quoted field.
    fn tricky_file(rows: usize, bad_row: Option<usize>) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        let mut text =
            String::from("BilledCost,ChargePeriodStart,ResourceId,ResourceName,ServiceName,Tags\n");
        for i in 0..rows {
            let name = if i % 7 == 0 {
                "line one\nline two\n\nline four".to_string()
            } else {
                format!("r{i}")
            };
            let cost = if Some(i) == bad_row {
                "oops".to_string()
            } else {
                format!("{}.{:03}", i % 13, i % 1000)
            };
            text.push_str(&format!(
                "{cost},2026-10-{:02}T00:00:00Z,res-{},\"{name}\",svc-{},\"{{\"\"team\"\":\"\"t{}\"\"}}\"\n",
                1 + i % 28,
                i % 97,
                i % 5,
                i % 3
            ));
            if i % 50 == 0 {
                text.push('\n'); // blank lines too
            }
        }
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn parallel_reading_equals_sequential_whatever_the_split() {
        let (_dir, path) = tricky_file(3000, None);
        for grain in [Grain::FULL, Grain::DETAILED, Dimension::service_grain()] {
            let options = FocusOptions { grain, skip_invalid: false };
            let expected = sequential(&path, options).unwrap();
            for threads in [2, 3, 4, 7] {
                let got = parallel(&path, threads, options).unwrap();
                assert_eq!(got, expected, "{threads} threads");
            }
        }
    }

    #[test]
    fn parallel_errors_and_skips_name_the_same_lines_as_sequential() {
        let (_dir, path) = tricky_file(3000, Some(2500));
        let options = FocusOptions::default();
        let expected = sequential(&path, options).unwrap_err().to_string();
        for threads in [2, 4] {
            assert_eq!(parallel(&path, threads, options).unwrap_err().to_string(), expected);
        }
        let options = FocusOptions { skip_invalid: true, ..FocusOptions::default() };
        let expected = sequential(&path, options).unwrap();
        assert_eq!(expected.skipped.count, 1);
        for threads in [2, 4] {
            assert_eq!(parallel(&path, threads, options).unwrap().skipped, expected.skipped);
        }
    }
}
