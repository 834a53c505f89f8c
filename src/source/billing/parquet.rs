//! Parquet billing files (FOCUS, or a CUR mapped to FOCUS), read row group by row group and
//! only the columns the grain needs, so memory follows a row group, never the file.
//!
//! Costs are exact whatever their type: see [`cells`] for DECIMAL and the DOUBLE rule (a DOUBLE
//! is read from its shortest round-trip text). Row numbers in messages count data rows as the
//! CSV reader counts lines: the first row of the file is line 2, as if line 1 were a header.

mod cells;
#[doc(hidden)]
pub mod fixture;
mod fold;
mod local;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::file::reader::ChunkReader;

use self::cells::{BatchRow, Cells, Kind};
use super::{Mapping, Scheme};
use crate::source::focus::{Column, FocusOptions, Layout, Ledger, RowError, column_name};
use crate::source::{Result, SourceError};

/// Rows decoded at a time: big enough to amortize per-batch work, small enough that a batch of
/// wide rows stays a few MB.
const BATCH_ROWS: usize = 8192;
/// Row groups decoded at once at most (each on its own thread, into its own ledger).
const MAX_THREADS: usize = 8;
/// Files with fewer rows are read on the calling thread: threads would cost more than they save.
const PARALLEL_MIN_ROWS: i64 = 100_000;

/// Reads one local Parquet file of `scheme` into `ledger`.
pub(crate) fn ingest_file(
    ledger: &mut Ledger,
    scheme: Scheme,
    path: &Path,
    options: FocusOptions,
) -> Result<()> {
    let file = local::LocalFile::open(path)?;
    ingest_chunks(ledger, scheme, file, path, options)
}

/// Reads one Parquet file from any [`ChunkReader`] (a local file, or ranged GETs of an S3
/// object) into `ledger`; `name` names it in messages.
///
/// Row groups are decoded on several threads at once, so `reader` is called concurrently: its
/// reads must not share a seek position (`std::fs::File` as a `ChunkReader` does; positional
/// reads or independent requests do not).
pub(crate) fn ingest_chunks<R: ChunkReader + 'static>(
    ledger: &mut Ledger,
    scheme: Scheme,
    reader: R,
    name: &Path,
    options: FocusOptions,
) -> Result<()> {
    let reader = Shared(Arc::new(reader));
    let file = ParquetFile::open(&reader, name)?;
    match scheme {
        Scheme::Focus => {
            let layout = Layout::from_header(&file.names, name)?;
            check_focus_types(&layout, &file, name)?;
            read_all(ledger, &reader, &file, &layout, name, options)
        }
        Scheme::Cur => {
            let mapping = super::cur::CurMapping::from_header(&file.names, name)?;
            read_all(ledger, &reader, &file, &mapping, name, options)
        }
    }
}

/// A reader shared by the threads decoding row groups.
struct Shared<R>(Arc<R>);

impl<R> Clone for Shared<R> {
    fn clone(&self) -> Self {
        Shared(Arc::clone(&self.0))
    }
}

impl<R: ChunkReader> parquet::file::reader::Length for Shared<R> {
    fn len(&self) -> u64 {
        self.0.len()
    }
}

impl<R: ChunkReader> ChunkReader for Shared<R> {
    type T = R::T;

    fn get_read(&self, start: u64) -> parquet::errors::Result<R::T> {
        self.0.get_read(start)
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        self.0.get_bytes(start, length)
    }
}

/// A file's footer, read once: its columns and how they decode.
struct ParquetFile {
    metadata: ArrowReaderMetadata,
    names: Vec<String>,
    kinds: Vec<Option<Kind>>,
    types: Vec<DataType>,
}

impl ParquetFile {
    fn open<R: ChunkReader + 'static>(reader: &Shared<R>, name: &Path) -> Result<ParquetFile> {
        let loaded = crate::panic_guard::quietly(|| {
            ArrowReaderMetadata::load(reader, ArrowReaderOptions::new())
        });
        let metadata = match loaded {
            Ok(Ok(metadata)) => metadata,
            Ok(Err(e)) => {
                return Err(file_error(name, format!("not a readable Parquet file: {e}")));
            }
            Err(panic) => {
                return Err(file_error(name, format!("corrupt Parquet footer ({panic})")));
            }
        };
        let metadata = keep_dictionaries(metadata);
        let fields = metadata.schema().fields();
        Ok(ParquetFile {
            names: fields.iter().map(|f| f.name().clone()).collect(),
            kinds: fields.iter().map(|f| Kind::of(f.data_type())).collect(),
            types: fields.iter().map(|f| f.data_type().clone()).collect(),
            metadata,
        })
    }

    /// The row groups' first data lines (line 2 for the file's first row).
    fn first_lines(&self) -> Vec<u64> {
        let mut line = 2u64;
        self.metadata
            .metadata()
            .row_groups()
            .iter()
            .map(|group| {
                let first = line;
                line = line.saturating_add(u64::try_from(group.num_rows()).unwrap_or(0));
                first
            })
            .collect()
    }
}

/// Text columns decoded as dictionaries: a dictionary-encoded column chunk (the usual case for
/// service, account and region names) is then not copied value by value. Left as it was when
/// the reader does not accept the hint.
fn keep_dictionaries(metadata: ArrowReaderMetadata) -> ArrowReaderMetadata {
    let schema = metadata.schema();
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 => {
                let dict = DataType::Dictionary(
                    Box::new(DataType::Int32),
                    Box::new(f.data_type().clone()),
                );
                f.as_ref().clone().with_data_type(dict)
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    let hinted = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    let options = ArrowReaderOptions::new().with_schema(hinted);
    crate::panic_guard::quietly(|| {
        ArrowReaderMetadata::try_new(Arc::clone(metadata.metadata()), options)
    })
    .ok()
    .and_then(|r| r.ok())
    .unwrap_or(metadata)
}

/// Columns of a type costscope cannot read are refused before any row, naming the column:
/// every column the mapping needs, and for FOCUS the costs and times by their role.
fn check_types(file: &ParquetFile, needed: &[usize], name: &Path) -> Result<()> {
    for &i in needed {
        if file.kinds.get(i).copied().flatten().is_none() {
            let shown = file.types.get(i).map_or("?".to_string(), |t| t.to_string());
            let column = file.names.get(i).map_or("?", String::as_str);
            return Err(file_error(
                name,
                format!("column {column}: unsupported Parquet column type {shown}"),
            ));
        }
    }
    Ok(())
}

/// A FOCUS column, whether a column of a kind can fill it, and what it needs to be.
type Role = (Column, fn(Kind) -> bool, &'static str);

fn check_focus_types(layout: &Layout, file: &ParquetFile, name: &Path) -> Result<()> {
    let roles: [Role; 5] = [
        (Column::BilledCost, Kind::is_amount, "an amount"),
        (Column::EffectiveCost, Kind::is_amount, "an amount"),
        (Column::ListCost, Kind::is_amount, "an amount"),
        (Column::ChargePeriodStart, Kind::is_time, "a timestamp"),
        (Column::ChargePeriodEnd, Kind::is_time, "a timestamp"),
    ];
    for (column, fits, what) in roles {
        let Some(i) = layout.pos(column) else { continue };
        if let Some(Some(kind)) = file.kinds.get(i)
            && !fits(*kind)
        {
            let shown = file.types.get(i).map_or("?".to_string(), |t| t.to_string());
            return Err(file_error(
                name,
                format!("column {}: a Parquet {shown} column is not {what}", column_name(column)),
            ));
        }
    }
    Ok(())
}

/// Reads every row group: in order on this thread for a small file, else on several threads,
/// each group into its own ledger, merged in row-group order (so the first error reported and
/// the skipped rows listed are the same as a sequential read's).
fn read_all<R: ChunkReader + 'static, M: Mapping>(
    ledger: &mut Ledger,
    reader: &Shared<R>,
    file: &ParquetFile,
    mapping: &M,
    name: &Path,
    options: FocusOptions,
) -> Result<()> {
    let mut needed = mapping.needed(options.grain);
    needed.retain(|&i| i < file.names.len());
    needed.sort_unstable();
    needed.dedup();
    check_types(file, &needed, name)?;
    let plan = Plan { file, needed, name, options, label: name.display().to_string() };
    let rows = file.metadata.metadata().file_metadata().num_rows();
    let threads = if rows < PARALLEL_MIN_ROWS {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_THREADS)
    };
    read_groups(ledger, reader, &plan, mapping, threads)
}

/// Reads every row group of `plan`'s file: in order on this thread, or on `threads` threads,
/// each group into its own ledger, merged in row-group order.
fn read_groups<R: ChunkReader + 'static, M: Mapping>(
    ledger: &mut Ledger,
    reader: &Shared<R>,
    plan: &Plan<'_>,
    mapping: &M,
    threads: usize,
) -> Result<()> {
    let first_lines = plan.file.first_lines();
    let groups = first_lines.len();
    let name = plan.name;
    let threads = threads.min(groups);
    if threads <= 1 {
        for (group, first_line) in first_lines.iter().enumerate() {
            plan.read_group(ledger, reader, mapping, group, *first_line)?;
        }
        return Ok(());
    }
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| -> Result<()> {
        // Bounded: a worker holds at most one finished group while the merge catches up.
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Result<Ledger>)>(threads);
        for _ in 0..threads {
            let (tx, next, first_lines) = (tx.clone(), &next, &first_lines);
            let reader = reader.clone();
            scope.spawn(move || {
                loop {
                    let group = next.fetch_add(1, Ordering::Relaxed);
                    let Some(first_line) = first_lines.get(group) else { return };
                    let mut part = Ledger::new(plan.options.grain);
                    let result = plan
                        .read_group(&mut part, &reader, mapping, group, *first_line)
                        .map(|()| part);
                    let failed = result.is_err();
                    if tx.send((group, result)).is_err() || failed {
                        // The merge stopped, or this group failed: later groups are not needed.
                        next.fetch_max(usize::MAX / 2, Ordering::Relaxed);
                        return;
                    }
                }
            });
        }
        drop(tx);
        let mut pending = std::collections::BTreeMap::new();
        let mut wanted = 0;
        while wanted < groups {
            let Ok((group, result)) = rx.recv() else {
                return Err(file_error(name, "a Parquet reader thread stopped".to_string()));
            };
            pending.insert(group, result);
            while let Some(result) = pending.remove(&wanted) {
                let part = result?;
                let line = first_lines.get(wanted).copied().unwrap_or(2);
                ledger.merge(part).map_err(|e| row_error(name, line, wanted, e))?;
                wanted += 1;
            }
        }
        Ok(())
    })
}

/// What every row group of one file is read with.
struct Plan<'f> {
    file: &'f ParquetFile,
    /// File column positions to decode, ascending (the order of the decoded batch's columns).
    needed: Vec<usize>,
    name: &'f Path,
    label: String,
    options: FocusOptions,
}

impl Plan<'_> {
    fn read_group<R: ChunkReader + 'static, M: Mapping>(
        &self,
        ledger: &mut Ledger,
        reader: &Shared<R>,
        mapping: &M,
        group: usize,
        first_line: u64,
    ) -> Result<()> {
        // The decoder is third-party code fed with untrusted bytes: a panic in it is a corrupt
        // file, not a crash.
        match crate::panic_guard::quietly(|| {
            self.read_group_inner(ledger, reader, mapping, group, first_line)
        }) {
            Ok(result) => result,
            Err(panic) => Err(file_error(
                self.name,
                format!("row group {group}: corrupt Parquet data ({panic})"),
            )),
        }
    }

    fn read_group_inner<R: ChunkReader + 'static, M: Mapping>(
        &self,
        ledger: &mut Ledger,
        reader: &Shared<R>,
        mapping: &M,
        group: usize,
        first_line: u64,
    ) -> Result<()> {
        let corrupt = |e: &dyn std::fmt::Display| {
            file_error(self.name, format!("row group {group}: corrupt Parquet data: {e}"))
        };
        let mask =
            ProjectionMask::roots(self.file.metadata.parquet_schema(), self.needed.iter().copied());
        let batches = ParquetRecordBatchReaderBuilder::new_with_metadata(
            reader.clone(),
            self.file.metadata.clone(),
        )
        .with_row_groups(vec![group])
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| corrupt(&e))?;
        // Rows are summed column-wise where they can be, unless a row may be skipped: the
        // fold reports a running total past Money's range for its batch, not for the row.
        let fold_layout = mapping.focus_layout().filter(|_| !self.options.skip_invalid);
        let mut scratch = fold::Scratch::default();
        let mut line = first_line;
        for batch in batches {
            let batch = batch.map_err(|e| corrupt(&e))?;
            let columns = self
                .columns(&batch)
                .ok_or_else(|| corrupt(&"the decoded columns do not match the file's schema"))?;
            ledger.report_progress(false)?;
            if let Some(layout) = fold_layout {
                let rows = batch.num_rows();
                let grain = self.options.grain;
                let folded = fold::fold_batch(ledger, layout, &columns, rows, grain, &mut scratch)
                    .map_err(|e| row_error(self.name, line, group, e))?;
                if folded {
                    line += rows as u64;
                    continue;
                }
            }
            for row in 0..batch.num_rows() {
                let cells = BatchRow { columns: &columns, row };
                mapping
                    .add(ledger, &cells, &self.label, line, self.options.skip_invalid)
                    .map_err(|e| row_error(self.name, line, group, e))?;
                line += 1;
            }
        }
        Ok(())
    }

    /// The batch's columns at their file positions; columns not decoded read as empty.
    fn columns<'a>(&self, batch: &'a RecordBatch) -> Option<Vec<Cells<'a>>> {
        if batch.num_columns() != self.needed.len() {
            return None;
        }
        let mut columns: Vec<Cells<'a>> =
            (0..self.file.names.len()).map(|_| Cells::absent()).collect();
        for (array, &pos) in batch.columns().iter().zip(&self.needed) {
            *columns.get_mut(pos)? = Cells::new(array.as_ref())?;
        }
        Some(columns)
    }
}

fn file_error(name: &Path, message: String) -> SourceError {
    SourceError::File { path: name.to_path_buf(), message }
}

fn row_error(name: &Path, line: u64, group: usize, e: RowError) -> SourceError {
    SourceError::Row {
        path: name.to_path_buf(),
        line,
        column: e.column,
        message: format!("{} (row group {group})", e.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BillingSummary, Grain};
    use arrow_array::builder::{MapBuilder, StringBuilder};
    use arrow_array::types::Int8Type;
    use arrow_array::{
        ArrayRef, BinaryArray, Date32Array, Date64Array, Decimal256Array, DictionaryArray,
        Float32Array, Int64Array, LargeStringArray, ListArray, StringArray, StringViewArray,
        StructArray, TimestampNanosecondArray, TimestampSecondArray,
    };
    use arrow_schema::Fields;
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    fn parquet_bytes(columns: Vec<(&str, ArrayRef)>, group_rows: usize) -> bytes::Bytes {
        let fields: Vec<Field> =
            columns.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), true)).collect();
        let schema = Arc::new(Schema::new(fields));
        let batch =
            RecordBatch::try_new(schema.clone(), columns.into_iter().map(|(_, a)| a).collect())
                .unwrap();
        let properties =
            WriterProperties::builder().set_max_row_group_row_count(Some(group_rows)).build();
        let mut out = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut out, schema, Some(properties)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        out.into()
    }

    fn read(bytes: bytes::Bytes, grain: Grain) -> Result<BillingSummary> {
        let mut ledger = Ledger::new(grain);
        let options = FocusOptions { grain, skip_invalid: false };
        ingest_chunks(&mut ledger, Scheme::Focus, bytes, Path::new("t.parquet"), options)?;
        Ok(ledger.finish(vec![]))
    }

    /// A list of key/value structs, the shape some writers give a MAP.
    fn tag_list(rows: &[&[(&str, &str)]]) -> ArrayRef {
        let mut keys = Vec::new();
        let mut values = Vec::new();
        let mut offsets = arrow_array::builder::OffsetBufferBuilder::<i32>::new(rows.len());
        for row in rows {
            for (k, v) in *row {
                keys.push(*k);
                values.push(*v);
            }
            offsets.push_length(row.len());
        }
        let fields = Fields::from(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("value", DataType::Utf8, true),
        ]);
        let entries = StructArray::new(
            fields.clone(),
            vec![Arc::new(StringArray::from(keys)), Arc::new(StringArray::from(values))],
            None,
        );
        let item = Arc::new(Field::new("item", DataType::Struct(fields), true));
        Arc::new(ListArray::new(item, offsets.finish(), Arc::new(entries), None))
    }

    fn i256(
        v: i128,
    ) -> <arrow_array::types::Decimal256Type as arrow_array::ArrowPrimitiveType>::Native {
        <arrow_array::types::Decimal256Type as arrow_array::ArrowPrimitiveType>::Native::from_i128(
            v,
        )
    }

    fn line(summary: &BillingSummary, i: usize) -> (String, String, String) {
        let l = &summary.lines[i];
        let effective = l.effective_cost.map(|m| m.to_string()).unwrap_or_default();
        let list = l.list_cost.map(|m| m.to_string()).unwrap_or_default();
        (l.billed_cost.to_string(), effective, list)
    }

    #[test]
    fn every_supported_type_reads_to_exact_values() {
        let dict: DictionaryArray<Int8Type> = vec!["svc", "svc", "svc"].into_iter().collect();
        let day = 1_790_897_400i64; // 2026-10-01T23:30:00Z
        let bytes = parquet_bytes(
            vec![
                (
                    "BilledCost",
                    Arc::new(
                        Decimal256Array::from(vec![i256(150), i256(-25), i256(1)])
                            .with_precision_and_scale(40, 2)
                            .unwrap(),
                    ),
                ),
                ("EffectiveCost", Arc::new(Float32Array::from(vec![0.1, 2.5, 0.0]))),
                ("ListCost", Arc::new(Int64Array::from(vec![2, 3, -1]))),
                (
                    "ChargePeriodStart",
                    Arc::new(
                        TimestampNanosecondArray::from(vec![day * 1_000_000_000; 3])
                            .with_timezone("+02:00"),
                    ),
                ),
                ("ServiceName", Arc::new(dict)),
                ("SubAccountId", Arc::new(Int64Array::from(vec![123456789012; 3]))),
                (
                    "RegionId",
                    Arc::new(StringViewArray::from(vec!["eu-west-1", " eu-west-1 ", "eu-west-1"])),
                ),
                ("ProviderName", Arc::new(LargeStringArray::from(vec!["AWS"; 3]))),
                ("ResourceId", Arc::new(BinaryArray::from(vec![&b"r-1"[..]; 3]))),
                (
                    "Tags",
                    tag_list(&[
                        &[("a\"b", "x\\y"), ("team ", "web")],
                        &[],
                        &[("a\"b", "x\\y"), ("team ", "web")],
                    ]),
                ),
            ],
            2,
        );
        let summary = read(bytes.clone(), Grain::FULL).unwrap();
        assert_eq!(summary.rows_read, 3);
        // Two lines: the rows with the tag set, and the row without tags.
        assert_eq!(summary.lines.len(), 2);
        let total: crate::model::Money = summary.lines.iter().map(|l| l.billed_cost).sum();
        assert_eq!(total.to_string(), "1.26");
        let l = &summary.lines[0];
        assert_eq!(
            (&*l.service, &*l.account_id, &*l.region, &*l.provider, &*l.resource_id),
            ("svc", "123456789012", "eu-west-1", "AWS", "r-1")
        );
        assert_eq!(summary.first_day.map(|d| d.to_string()).as_deref(), Some("2026-10-01"));
        let tags = &summary.tag_sets[0];
        assert_eq!(tags.get("a\"b").map(String::as_str), Some("x\\y"));
        assert_eq!(tags.get("team ").map(String::as_str), Some("web"));
        let service = Grain { service: true, ..Grain::NONE };
        let with_list = read(bytes.clone(), Grain { list_cost: true, ..service }).unwrap();
        assert_eq!(line(&with_list, 0), ("1.26".into(), "2.6".into(), "4".into()));
        // A grain without ListCost neither reads nor sums it.
        assert_eq!(
            line(&read(bytes, service).unwrap(), 0),
            ("1.26".into(), "2.6".into(), "".into())
        );
    }

    #[test]
    fn dates_and_second_timestamps_are_utc_days() {
        let start = |array: ArrayRef| {
            let bytes = parquet_bytes(
                vec![
                    ("BilledCost", Arc::new(StringArray::from(vec!["1"]))),
                    ("ChargePeriodStart", array),
                ],
                10,
            );
            read(bytes, Grain::FULL).unwrap().first_day.map(|d| d.to_string())
        };
        let oct_2 = 20_728; // days from 1970-01-01 to 2026-10-02
        assert_eq!(start(Arc::new(Date32Array::from(vec![oct_2]))).as_deref(), Some("2026-10-02"));
        let ms = i64::from(oct_2) * 86_400_000;
        assert_eq!(start(Arc::new(Date64Array::from(vec![ms]))).as_deref(), Some("2026-10-02"));
        let secs = i64::from(oct_2) * 86_400 - 1;
        let ts = TimestampSecondArray::from(vec![secs]).with_timezone("UTC");
        assert_eq!(start(Arc::new(ts)).as_deref(), Some("2026-10-01"));
    }

    #[test]
    fn a_map_column_reads_as_a_json_object() {
        let mut builder = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
        builder.keys().append_value("product_name");
        builder.values().append_value("Amazon \"EC2\"");
        builder.keys().append_value("region");
        builder.values().append_null();
        builder.keys().append_value("zone");
        builder.values().append_value("a");
        builder.append(true).unwrap();
        builder.append(false).unwrap();
        let map = builder.finish();
        let cells = cells::Cells::new(&map).unwrap();
        let row = cells::BatchRow { columns: std::slice::from_ref(&cells), row: 0 };
        use crate::source::billing::SourceRow;
        assert_eq!(row.text(0), br#"{"product_name":"Amazon \"EC2\"","zone":"a"}"#);
        let null_row = cells::BatchRow { columns: std::slice::from_ref(&cells), row: 1 };
        assert_eq!(null_row.text(0), b"");
    }

    /// 40 row groups of 50 rows; costs "bad" at the given rows.
    fn many_groups(bad: &[usize]) -> bytes::Bytes {
        let rows = 2000;
        let costs: Vec<String> =
            (0..rows)
                .map(|i| {
                    if bad.contains(&i) { "bad".to_string() } else { format!("{}.{:03}", i % 7, i) }
                })
                .collect();
        let days: Vec<String> = (0..rows).map(|i| format!("2026-10-{:02}", 1 + i % 28)).collect();
        let services: Vec<String> = (0..rows).map(|i| format!("svc-{}", i % 5)).collect();
        let resources: Vec<String> = (0..rows).map(|i| format!("r-{}", i % 97)).collect();
        let text = |v: Vec<String>| Arc::new(StringArray::from(v)) as ArrayRef;
        parquet_bytes(
            vec![
                ("BilledCost", text(costs)),
                ("ChargePeriodStart", text(days)),
                ("ServiceName", text(services)),
                ("ResourceId", text(resources)),
            ],
            50,
        )
    }

    fn read_with(
        bytes: bytes::Bytes,
        threads: usize,
        skip_invalid: bool,
    ) -> Result<BillingSummary> {
        let name = Path::new("t.parquet");
        let reader = Shared(Arc::new(bytes));
        let file = ParquetFile::open(&reader, name)?;
        let layout = Layout::from_header(&file.names, name)?;
        let options = FocusOptions { grain: Grain::FULL, skip_invalid };
        let mut needed = layout.needed(options.grain);
        needed.sort_unstable();
        let plan = Plan { file: &file, needed, name, options, label: "t.parquet".into() };
        let mut ledger = Ledger::new(options.grain);
        read_groups(&mut ledger, &reader, &plan, &layout, threads)?;
        Ok(ledger.finish(vec![]))
    }

    #[test]
    fn row_groups_on_several_threads_read_as_in_order() {
        let clean = many_groups(&[]);
        let expected = read_with(clean.clone(), 1, false).unwrap();
        assert_eq!(expected.rows_read, 2000);
        for threads in [2, 3, 8] {
            assert_eq!(read_with(clean.clone(), threads, false).unwrap(), expected);
        }
        // Rows 1260 and 1555 are bad: groups 25 and 31, lines 1262 and 1557.
        let dirty = many_groups(&[1555, 1260]);
        let error = read_with(dirty.clone(), 1, false).unwrap_err().to_string();
        assert!(error.starts_with("t.parquet:1262: column BilledCost"), "{error}");
        assert!(error.ends_with("(row group 25)"), "{error}");
        let skipped = read_with(dirty.clone(), 1, true).unwrap();
        assert_eq!(skipped.skipped.count, 2);
        assert_eq!(skipped.skipped.first.iter().map(|r| r.line).collect::<Vec<_>>(), [1262, 1557]);
        for threads in [2, 3, 8] {
            assert_eq!(read_with(dirty.clone(), threads, false).unwrap_err().to_string(), error);
            assert_eq!(read_with(dirty.clone(), threads, true).unwrap(), skipped);
        }
    }
}
