//! The cells of one decoded Parquet batch read as a [`SourceRow`]: text, exact money and UTC
//! times from whatever Arrow type the file stores them in.
//!
//! Money is exact whatever the physical type. DECIMAL values are rescaled to [`Money`]'s 18
//! decimals as integers (digits past 18 are rounded half to even, as for text). A DOUBLE (or
//! FLOAT) is converted from its shortest round-trip decimal text, the text Rust's `{}` prints,
//! not from its binary value: `0.1` stored as a DOUBLE is read as exactly 0.1, the amount the
//! writer meant, because a DOUBLE written from a decimal text gives that text back. NaN and
//! infinities are row errors, and so is any value outside Money's range (about ±1.7e20).

use std::borrow::Cow;
use std::cell::OnceCell;
use std::fmt::Write as _;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal32Type, Decimal64Type, Decimal128Type, Decimal256Type,
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, BinaryArray, BinaryViewArray, BooleanArray, Decimal256Array, Float32Array, Float64Array,
    LargeBinaryArray, LargeStringArray, StringArray, StringViewArray,
};
use arrow_schema::{DataType, TimeUnit};

use crate::model::Money;
use crate::model::money::SCALE;
use crate::source::billing::SourceRow;
use crate::source::focus::{Time, parse_money_text};

/// What a column can be read as; checked once per file, before any row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Text,
    Integer,
    Boolean,
    Decimal,
    Float,
    Timestamp,
    Date,
    /// A MAP, or a list of key/value structs: read as a JSON object.
    KeyValues,
}

impl Kind {
    /// How a column of `data_type` is read, or `None` when costscope cannot read it.
    pub(super) fn of(data_type: &DataType) -> Option<Kind> {
        use DataType::*;
        Some(match data_type {
            Utf8 | LargeUtf8 | Utf8View | Binary | LargeBinary | BinaryView => Kind::Text,
            Dictionary(key, value) if key.is_integer() && Kind::of(value) == Some(Kind::Text) => {
                Kind::Text
            }
            Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => Kind::Integer,
            Boolean => Kind::Boolean,
            Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..) => Kind::Decimal,
            Float32 | Float64 => Kind::Float,
            Timestamp(..) => Kind::Timestamp,
            Date32 | Date64 => Kind::Date,
            Map(entries, _) => key_value_kind(entries.data_type())?,
            List(item) | LargeList(item) => key_value_kind(item.data_type())?,
            Null => Kind::Text,
            _ => return None,
        })
    }

    /// Whether a cost column of this kind is read as an amount.
    pub(super) fn is_amount(self) -> bool {
        matches!(self, Kind::Text | Kind::Integer | Kind::Decimal | Kind::Float)
    }

    /// Whether a timestamp column of this kind is read as a time.
    pub(super) fn is_time(self) -> bool {
        matches!(self, Kind::Text | Kind::Timestamp | Kind::Date)
    }
}

/// A struct of two fields, a key (text) and a value (text, number or boolean).
fn key_value_kind(entries: &DataType) -> Option<Kind> {
    let DataType::Struct(fields) = entries else { return None };
    let [key, value] = fields.iter().collect::<Vec<_>>()[..] else { return None };
    let scalar = |k: Option<Kind>| {
        matches!(k, Some(Kind::Text | Kind::Integer | Kind::Boolean | Kind::Decimal | Kind::Float))
    };
    (Kind::of(key.data_type()) == Some(Kind::Text) && scalar(Kind::of(value.data_type())))
        .then_some(Kind::KeyValues)
}

/// One decoded column of a batch.
pub(super) struct Cells<'a> {
    array: Option<&'a dyn Array>,
    access: Access<'a>,
    /// The column as text, for non-text columns, built on the first `text` call of the batch.
    rendered: OnceCell<Rendered>,
}

enum Access<'a> {
    /// Not decoded (not needed at this grain), or all null.
    Absent,
    Str(&'a StringArray),
    LargeStr(&'a LargeStringArray),
    View(&'a StringViewArray),
    Bin(&'a BinaryArray),
    LargeBin(&'a LargeBinaryArray),
    BinView(&'a BinaryViewArray),
    Dict {
        /// Borrowed for the Int32 keys the reader asks for; other key types are copied.
        keys: Cow<'a, [i32]>,
        values: Box<Cells<'a>>,
    },
    Int(Vec<i128>),
    Bool(&'a BooleanArray),
    /// `factor` rescales to Money's 18 decimals when the scale is at most 18: one
    /// multiplication per cell, the common case.
    Decimal {
        values: Cow<'a, [i128]>,
        scale: i8,
        factor: Option<i128>,
    },
    Decimal256 {
        array: &'a Decimal256Array,
        scale: i8,
    },
    F64(&'a Float64Array),
    F32(&'a Float32Array),
    /// Seconds and nanoseconds since the epoch, UTC.
    Instant {
        values: Cow<'a, [i64]>,
        unit: TimeUnit,
    },
    Date32(&'a [i32]),
    /// A MAP or list of key/value structs: entry `j` of row `i` is at `offsets[i] + j`.
    KeyValues {
        offsets: Vec<usize>,
        keys: Box<Cells<'a>>,
        values: Box<Cells<'a>>,
    },
}

/// A column's cells as text: cell `i` is `bytes[ends[i - 1]..ends[i]]`.
#[derive(Default)]
struct Rendered {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Rendered {
    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends.get(i - 1).copied().unwrap_or(0) };
        let end = self.ends.get(i).copied().unwrap_or(start);
        self.bytes.get(start..end).unwrap_or(&[])
    }
}

/// A cell's text trimmed, empty when it is the text `NULL` (as the CSV reader reads it).
fn clean(bytes: &[u8]) -> &[u8] {
    let trimmed = bytes.trim_ascii();
    if trimmed.eq_ignore_ascii_case(b"null") { &[] } else { trimmed }
}

fn ints(array: &dyn Array) -> Option<Vec<i128>> {
    macro_rules! widen {
        ($($t:ty),*) => {
            $(if let Some(a) = array.as_primitive_opt::<$t>() {
                return Some(a.values().iter().map(|v| i128::from(*v)).collect());
            })*
        };
    }
    widen!(
        Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type
    );
    None
}

impl<'a> Cells<'a> {
    /// A column that was not decoded: every cell empty.
    pub(super) fn absent() -> Cells<'a> {
        Cells { array: None, access: Access::Absent, rendered: OnceCell::new() }
    }

    /// Wraps a decoded array; `None` for a type [`Kind::of`] rejects.
    pub(super) fn new(array: &'a dyn Array) -> Option<Cells<'a>> {
        let access = match array.data_type() {
            DataType::Utf8 => Access::Str(array.as_string_opt::<i32>()?),
            DataType::LargeUtf8 => Access::LargeStr(array.as_string_opt::<i64>()?),
            DataType::Utf8View => Access::View(array.as_string_view_opt()?),
            DataType::Binary => Access::Bin(array.as_binary_opt::<i32>()?),
            DataType::LargeBinary => Access::LargeBin(array.as_binary_opt::<i64>()?),
            DataType::BinaryView => Access::BinView(array.as_binary_view_opt()?),
            DataType::Dictionary(..) => {
                let dict = array.as_any_dictionary_opt()?;
                Access::Dict {
                    keys: dictionary_keys(dict.keys())?,
                    values: Box::new(Cells::new(dict.values().as_ref())?),
                }
            }
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64 => Access::Int(ints(array)?),
            DataType::Boolean => Access::Bool(array.as_boolean_opt()?),
            // Narrow decimals are widened to i128, the one shape the money code reads.
            DataType::Decimal32(_, scale) => {
                let values = array.as_primitive_opt::<Decimal32Type>()?.values();
                decimal(values.iter().map(|v| i128::from(*v)).collect(), *scale)
            }
            DataType::Decimal64(_, scale) => {
                let values = array.as_primitive_opt::<Decimal64Type>()?.values();
                decimal(values.iter().map(|v| i128::from(*v)).collect(), *scale)
            }
            DataType::Decimal128(_, scale) => {
                let values = array.as_primitive_opt::<Decimal128Type>()?.values();
                decimal(Cow::Borrowed(values), *scale)
            }
            DataType::Decimal256(_, scale) => Access::Decimal256 {
                array: array.as_primitive_opt::<Decimal256Type>()?,
                scale: *scale,
            },
            DataType::Float64 => Access::F64(array.as_primitive_opt::<Float64Type>()?),
            DataType::Float32 => Access::F32(array.as_primitive_opt::<Float32Type>()?),
            DataType::Timestamp(unit, _) => {
                let values: &[i64] = match unit {
                    TimeUnit::Second => array.as_primitive_opt::<TimestampSecondType>()?.values(),
                    TimeUnit::Millisecond => {
                        array.as_primitive_opt::<TimestampMillisecondType>()?.values()
                    }
                    TimeUnit::Microsecond => {
                        array.as_primitive_opt::<TimestampMicrosecondType>()?.values()
                    }
                    TimeUnit::Nanosecond => {
                        array.as_primitive_opt::<TimestampNanosecondType>()?.values()
                    }
                };
                Access::Instant { values: Cow::Borrowed(values), unit: *unit }
            }
            DataType::Date32 => Access::Date32(array.as_primitive_opt::<Date32Type>()?.values()),
            DataType::Date64 => Access::Instant {
                values: Cow::Borrowed(array.as_primitive_opt::<Date64Type>()?.values()),
                unit: TimeUnit::Millisecond,
            },
            DataType::Map(..) => {
                let map = array.as_map_opt()?;
                let offsets =
                    map.value_offsets().iter().map(|o| usize::try_from(*o).unwrap_or(0)).collect();
                Access::KeyValues {
                    offsets,
                    keys: Box::new(Cells::new(map.keys().as_ref())?),
                    values: Box::new(Cells::new(map.values().as_ref())?),
                }
            }
            DataType::List(_) => {
                let list = array.as_list_opt::<i32>()?;
                let offsets =
                    list.value_offsets().iter().map(|o| usize::try_from(*o).unwrap_or(0)).collect();
                key_values(offsets, list.values().as_ref())?
            }
            DataType::LargeList(_) => {
                let list = array.as_list_opt::<i64>()?;
                let offsets =
                    list.value_offsets().iter().map(|o| usize::try_from(*o).unwrap_or(0)).collect();
                key_values(offsets, list.values().as_ref())?
            }
            DataType::Null => Access::Absent,
            _ => return None,
        };
        Some(Cells { array: Some(array), access, rendered: OnceCell::new() })
    }

    /// Whether the column was not decoded, or holds only nulls.
    pub(super) fn is_absent(&self) -> bool {
        matches!(self.access, Access::Absent)
    }

    /// Whether every cell has a value.
    pub(super) fn has_no_nulls(&self) -> bool {
        self.array.is_some_and(|a| a.null_count() == 0)
    }

    /// A dictionary-encoded text column's cells as ids (0 for a null cell, `k + 1` for the
    /// dictionary's value `k`) appended to `ids`, and how many ids there are (the dictionary's
    /// length + 1). `None` for any other column: a column that is not decoded has no ids.
    pub(super) fn dictionary_ids(&self, ids: &mut Vec<u32>) -> Option<u32> {
        let Access::Dict { keys, values } = &self.access else { return None };
        // Text values are valid UTF-8 by construction, so interning them cannot fail.
        if !matches!(values.access, Access::Str(_) | Access::LargeStr(_) | Access::View(_)) {
            return None;
        }
        let values_len = u32::try_from(values.array.map_or(0, Array::len)).ok()?;
        let id = |key: i32| u32::try_from(key).ok().filter(|k| *k < values_len).map(|k| k + 1);
        ids.reserve(keys.len());
        match self.array.and_then(Array::logical_nulls) {
            None => {
                for key in keys.iter() {
                    ids.push(id(*key)?);
                }
            }
            Some(nulls) => {
                for (key, valid) in keys.iter().zip(nulls.iter()) {
                    ids.push(if valid { id(*key)? } else { 0 });
                }
            }
        }
        values_len.checked_add(1)
    }

    /// The text of id `id` of [`Self::dictionary_ids`] (cleaned as [`Self::text`] cleans a cell).
    pub(super) fn dictionary_text(&self, id: u32) -> &[u8] {
        match (&self.access, id.checked_sub(1)) {
            (Access::Dict { values, .. }, Some(k)) => values.text(k as usize),
            _ => &[],
        }
    }

    /// A DECIMAL column of at most 18 decimals: its unscaled values and the factor that makes
    /// each one Money (what [`Self::money`] multiplies, cell by cell).
    pub(super) fn decimal_values(&self) -> Option<(&[i128], i128)> {
        match &self.access {
            Access::Decimal { values, factor: Some(factor), .. } => Some((values, *factor)),
            _ => None,
        }
    }

    /// How a timestamp or date column without nulls counts time: (its values, units a day),
    /// after checking that its earliest and latest cells are in chrono's range, so that every
    /// cell is and [`Self::time`] gives each a time. `None` for a column with a null or text.
    fn day_clock(&self) -> Option<(Cow<'_, [i64]>, i64)> {
        if !self.has_no_nulls() {
            return None;
        }
        match &self.access {
            Access::Instant { values, unit } => {
                let per_second: i64 = match unit {
                    TimeUnit::Second => 1,
                    TimeUnit::Millisecond => 1_000,
                    TimeUnit::Microsecond => 1_000_000,
                    TimeUnit::Nanosecond => 1_000_000_000,
                };
                let (min, max) = min_max(values.iter().copied())?;
                for v in [min, max] {
                    let nanos = v.rem_euclid(per_second) * (1_000_000_000 / per_second);
                    chrono::DateTime::from_timestamp(
                        v.div_euclid(per_second),
                        u32::try_from(nanos).ok()?,
                    )?;
                }
                Some((Cow::Borrowed(values.as_ref()), per_second * 86_400))
            }
            Access::Date32(values) => {
                let (min, max) = min_max(values.iter().copied())?;
                for d in [min, max] {
                    chrono::NaiveDate::from_epoch_days(d)?;
                }
                Some((Cow::Owned(values.iter().map(|d| i64::from(*d)).collect()), 1))
            }
            _ => None,
        }
    }

    /// A timestamp or date column's cells as days since the epoch (UTC), appended to `days`:
    /// the day [`Self::time`] gives each cell. `None` when a cell is null or out of range, or
    /// the column holds text.
    pub(super) fn epoch_days(&self, days: &mut Vec<i32>) -> Option<()> {
        let (values, per_day) = self.day_clock()?;
        days.reserve(values.len());
        for v in values.iter() {
            days.push(i32::try_from(v.div_euclid(per_day)).ok()?);
        }
        Some(())
    }

    /// The first and last day of [`Self::epoch_days`], without a day per cell.
    pub(super) fn epoch_day_range(&self) -> Option<(i32, i32)> {
        let (values, per_day) = self.day_clock()?;
        let (min, max) = min_max(values.iter().copied())?;
        Some((
            i32::try_from(min.div_euclid(per_day)).ok()?,
            i32::try_from(max.div_euclid(per_day)).ok()?,
        ))
    }

    fn is_null(&self, i: usize) -> bool {
        match self.array {
            None => true,
            Some(array) => i >= array.len() || array.is_null(i),
        }
    }

    /// The cell as text: trimmed, empty when null. Non-text cells are rendered (a MAP as a JSON
    /// object), once per batch.
    pub(super) fn text(&self, i: usize) -> &[u8] {
        match &self.access {
            Access::Str(_)
            | Access::LargeStr(_)
            | Access::View(_)
            | Access::Bin(_)
            | Access::LargeBin(_)
            | Access::BinView(_)
            | Access::Dict { .. } => clean(self.raw(i)),
            _ => self.raw(i),
        }
    }

    /// The cell's text as stored: a MAP's keys and values keep their spaces, as in JSON text.
    fn raw(&self, i: usize) -> &[u8] {
        if self.is_null(i) {
            return &[];
        }
        match &self.access {
            Access::Absent => &[],
            Access::Str(a) => a.value(i).as_bytes(),
            Access::LargeStr(a) => a.value(i).as_bytes(),
            Access::View(a) => a.value(i).as_bytes(),
            Access::Bin(a) => a.value(i),
            Access::LargeBin(a) => a.value(i),
            Access::BinView(a) => a.value(i),
            Access::Dict { keys, values } => match key_at(keys, i, values) {
                Some(k) => values.raw(k),
                None => &[],
            },
            Access::Bool(a) => {
                if a.value(i) {
                    b"true"
                } else {
                    b"false"
                }
            }
            _ => self.rendered.get_or_init(|| self.render()).get(i),
        }
    }

    fn render(&self) -> Rendered {
        let len = self.array.map_or(0, Array::len);
        let mut out = Rendered { bytes: Vec::new(), ends: Vec::with_capacity(len) };
        let mut text = String::new();
        for i in 0..len {
            text.clear();
            if !self.is_null(i) {
                self.write_text(i, &mut text);
            }
            out.bytes.extend_from_slice(text.trim().as_bytes());
            out.ends.push(out.bytes.len());
        }
        out
    }

    /// Writes a non-text cell's text (the cell is not null).
    fn write_text(&self, i: usize, out: &mut String) {
        match &self.access {
            Access::Int(v) => {
                let _ = write!(out, "{}", v.get(i).copied().unwrap_or(0));
            }
            Access::Decimal { values, scale, .. } => {
                out.push_str(&decimal_text(
                    &values.get(i).copied().unwrap_or(0).to_string(),
                    *scale,
                ));
            }
            Access::Decimal256 { array, scale } => {
                out.push_str(&decimal_text(&array.value(i).to_string(), *scale));
            }
            Access::F64(a) => {
                let _ = write!(out, "{}", a.value(i));
            }
            Access::F32(a) => {
                let _ = write!(out, "{}", a.value(i));
            }
            Access::Instant { .. } | Access::Date32(_) => {
                if let Time::Value(t) = self.time(i) {
                    let _ = write!(out, "{}", t.format("%Y-%m-%dT%H:%M:%S%.fZ"));
                }
            }
            Access::KeyValues { offsets, keys, values } => {
                write_json_object(out, offsets, keys, values, i);
            }
            _ => out.push_str(&String::from_utf8_lossy(self.text(i))),
        }
    }

    /// The cell as exact money; `None` when null.
    pub(super) fn money(&self, i: usize) -> Result<Option<Money>, String> {
        if self.is_null(i) {
            return Ok(None);
        }
        match &self.access {
            Access::Int(v) => v
                .get(i)
                .and_then(|v| v.checked_mul(10i128.pow(SCALE)))
                .map(|raw| Some(Money::from_raw(raw)))
                .ok_or_else(|| out_of_range(&self.text(i).escape_ascii().to_string())),
            Access::Decimal { values, scale, factor } => {
                let value = values.get(i).copied().unwrap_or(0);
                match factor.and_then(|f| value.checked_mul(f)) {
                    Some(raw) => Ok(Some(Money::from_raw(raw))),
                    None => decimal_money(value, *scale).map(Some),
                }
            }
            Access::Decimal256 { array, scale } => {
                let value = array.value(i);
                match value.to_i128() {
                    Some(v) => decimal_money(v, *scale).map(Some),
                    None => {
                        let text = decimal_text(&value.to_string(), *scale);
                        Money::parse(&text).map(Some).map_err(|_| out_of_range(&text))
                    }
                }
            }
            Access::F64(a) => float_money(a.value(i)),
            Access::F32(a) => float_money(a.value(i)),
            Access::Bool(_)
            | Access::Instant { .. }
            | Access::Date32(_)
            | Access::KeyValues { .. } => {
                Err(format!("not an amount: {:?}", String::from_utf8_lossy(self.text(i))))
            }
            _ => parse_money_text(self.text(i)),
        }
    }

    /// The cell as a time: typed timestamps and dates as UTC values, anything else as text.
    pub(super) fn time(&self, i: usize) -> Time<'_> {
        if self.is_null(i) {
            return Time::Text(&[]);
        }
        match &self.access {
            Access::Instant { values, unit } => {
                let value = values.get(i).copied().unwrap_or(0);
                let (per_second, nanos_per) = match unit {
                    TimeUnit::Second => (1, 1_000_000_000),
                    TimeUnit::Millisecond => (1_000, 1_000_000),
                    TimeUnit::Microsecond => (1_000_000, 1_000),
                    TimeUnit::Nanosecond => (1_000_000_000, 1),
                };
                let secs = value.div_euclid(per_second);
                let nanos = value.rem_euclid(per_second) * nanos_per;
                match chrono::DateTime::from_timestamp(secs, nanos as u32) {
                    Some(t) => Time::Value(t.naive_utc()),
                    None => Time::Text(b"(a timestamp out of range)"),
                }
            }
            Access::Date32(days) => match days
                .get(i)
                .and_then(|d| chrono::NaiveDate::from_epoch_days(*d))
                .and_then(|d| d.and_hms_opt(0, 0, 0))
            {
                Some(t) => Time::Value(t),
                None => Time::Text(b"(a date out of range)"),
            },
            _ => Time::Text(self.text(i)),
        }
    }
}

fn decimal(values: Cow<'_, [i128]>, scale: i8) -> Access<'_> {
    Access::Decimal { values, scale, factor: upscale(scale) }
}

fn min_max<T: Ord + Copy>(mut values: impl Iterator<Item = T>) -> Option<(T, T)> {
    let first = values.next()?;
    Some(values.fold((first, first), |(lo, hi), v| (lo.min(v), hi.max(v))))
}

/// A list of key/value structs: the shape some writers give a MAP.
fn key_values<'a>(offsets: Vec<usize>, entries: &'a dyn Array) -> Option<Access<'a>> {
    let entries = entries.as_struct_opt()?;
    let [keys, values] = entries.columns() else { return None };
    Some(Access::KeyValues {
        offsets,
        keys: Box::new(Cells::new(keys.as_ref())?),
        values: Box::new(Cells::new(values.as_ref())?),
    })
}

/// A dictionary's keys as i32 (a dictionary never holds more than i32::MAX values); a key out
/// of that range becomes -1, which names no value.
fn dictionary_keys(keys: &dyn Array) -> Option<Cow<'_, [i32]>> {
    if let Some(a) = keys.as_primitive_opt::<Int32Type>() {
        return Some(Cow::Borrowed(a.values()));
    }
    Some(Cow::Owned(ints(keys)?.into_iter().map(|k| i32::try_from(k).unwrap_or(-1)).collect()))
}

fn key_at(keys: &[i32], i: usize, values: &Cells<'_>) -> Option<usize> {
    let key = usize::try_from(*keys.get(i)?).ok()?;
    (key < values.array.map_or(0, Array::len)).then_some(key)
}

fn entry_range(offsets: &[usize], i: usize) -> (usize, usize) {
    let start = offsets.get(i).copied().unwrap_or(0);
    let end = offsets.get(i + 1).copied().unwrap_or(start);
    (start, end.max(start))
}

/// Entries as a JSON object, keys in file order. An entry whose value is null carries no tag
/// and is left out (the ledger rejects a null tag value in JSON text).
fn write_json_object(
    out: &mut String,
    offsets: &[usize],
    keys: &Cells<'_>,
    values: &Cells<'_>,
    i: usize,
) {
    let (start, end) = entry_range(offsets, i);
    out.push('{');
    let mut first = true;
    for j in start..end {
        if values.is_null(j) {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        push_json_string(out, &String::from_utf8_lossy(keys.raw(j)));
        out.push(':');
        push_json_string(out, &String::from_utf8_lossy(values.raw(j)));
    }
    out.push('}');
}

fn push_json_string(out: &mut String, text: &str) {
    match serde_json::to_string(text) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

fn out_of_range(text: &str) -> String {
    format!("{text} is outside the supported range (about ±1.7e20)")
}

/// `digits` (an integer's text, maybe signed) with the decimal point `scale` places from the
/// right; a negative scale appends zeros.
fn decimal_text(digits: &str, scale: i8) -> String {
    let (sign, digits) = digits.strip_prefix('-').map_or(("", digits), |d| ("-", d));
    if scale <= 0 {
        return format!("{sign}{digits}{}", "0".repeat(usize::from(scale.unsigned_abs())));
    }
    let scale = usize::from(scale.unsigned_abs());
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{sign}{int}.{frac}")
}

/// The factor that rescales a DECIMAL of `scale` to Money's 18 decimals, when there is one.
fn upscale(scale: i8) -> Option<i128> {
    let shift = i32::try_from(SCALE).ok()? - i32::from(scale);
    10i128.checked_pow(u32::try_from(shift).ok()?)
}

/// An unscaled DECIMAL value as money: exact up to 18 decimals, rounded half to even past them.
fn decimal_money(value: i128, scale: i8) -> Result<Money, String> {
    let shift = i32::try_from(SCALE).unwrap_or(18) - i32::from(scale);
    let too_big = || out_of_range(&decimal_text(&value.to_string(), scale));
    if shift >= 0 {
        let factor = 10i128.checked_pow(shift.unsigned_abs()).ok_or_else(too_big)?;
        return value.checked_mul(factor).map(Money::from_raw).ok_or_else(too_big);
    }
    // More decimals than Money keeps: divide, rounding half to even.
    let Some(divisor) = 10i128.checked_pow(shift.unsigned_abs()) else {
        return Ok(Money::ZERO); // 10^39 and more: every i128 rounds to zero
    };
    let (q, r) = (value / divisor, value % divisor);
    let twice = r.unsigned_abs().saturating_mul(2);
    let half = divisor.unsigned_abs();
    let away = twice > half || (twice == half && q % 2 != 0);
    let q = if away { q + value.signum() } else { q };
    Ok(Money::from_raw(q))
}

/// The DOUBLE rule: the shortest text that reads back as the same float, parsed as a decimal.
fn float_money<F: std::fmt::Display + Into<f64> + Copy>(value: F) -> Result<Option<Money>, String> {
    if !value.into().is_finite() {
        return Err(format!("not an amount: {value}"));
    }
    let text = value.to_string();
    Money::parse(&text).map(Some).map_err(|_| out_of_range(&text))
}

/// Cell `row` of the batch's columns (indexed by file column position).
pub(super) struct BatchRow<'b, 'a> {
    pub(super) columns: &'b [Cells<'a>],
    pub(super) row: usize,
}

impl BatchRow<'_, '_> {
    fn cells(&self, column: usize) -> Option<&Cells<'_>> {
        self.columns.get(column)
    }
}

impl SourceRow for BatchRow<'_, '_> {
    #[inline]
    fn text(&self, column: usize) -> &[u8] {
        self.cells(column).map_or(&[], |c| c.text(self.row))
    }

    fn money(&self, column: usize) -> Result<Option<Money>, String> {
        self.cells(column).map_or(Ok(None), |c| c.money(self.row))
    }

    fn time(&self, column: usize) -> Time<'_> {
        self.cells(column).map_or(Time::Text(&[]), |c| c.time(self.row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_become_exact_money_at_any_scale() {
        let m = |v: i128, s: i8| decimal_money(v, s).map(|m| m.to_string());
        assert_eq!(m(12345, 2).as_deref(), Ok("123.45"));
        assert_eq!(m(-5, 10).as_deref(), Ok("-0.0000000005"));
        assert_eq!(m(7, -3).as_deref(), Ok("7000"));
        // 20 decimals: the last two are rounded half to even, as Money::parse does.
        assert_eq!(m(150, 20).as_deref(), Ok("0.000000000000000002"));
        assert_eq!(m(250, 20).as_deref(), Ok("0.000000000000000002"));
        assert_eq!(m(251, 20).as_deref(), Ok("0.000000000000000003"));
        assert_eq!(m(-150, 20).as_deref(), Ok("-0.000000000000000002"));
        assert_eq!(m(1, 60).as_deref(), Ok("0"));
        assert!(m(10i128.pow(30), 2).unwrap_err().contains("outside the supported range"));
        assert_eq!(decimal_text("-5", 3), "-0.005");
        assert_eq!(decimal_text("123", 0), "123");
    }

    #[test]
    fn doubles_are_read_from_their_shortest_text() {
        let f = |v: f64| float_money(v).map(|m| m.map(|m| m.to_string()));
        assert_eq!(f(0.1), Ok(Some("0.1".to_string())));
        assert_eq!(f(0.1 + 0.2), Ok(Some("0.30000000000000004".to_string())));
        assert_eq!(f(1.5e-5), Ok(Some("0.000015".to_string())));
        assert_eq!(f(-2.0), Ok(Some("-2".to_string())));
        assert!(f(f64::NAN).is_err());
        assert!(f(f64::INFINITY).is_err());
        assert!(f(1e300).unwrap_err().contains("outside the supported range"));
        assert_eq!(float_money(0.1f32).map(|m| m.map(|m| m.to_string())), Ok(Some("0.1".into())));
    }
}
