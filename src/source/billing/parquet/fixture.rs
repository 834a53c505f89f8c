//! Test support, not part of costscope's interface: writes a billing CSV as a Parquet file with
//! typed columns, so tests can compare the Parquet reader with the CSV reader on the same data.

use std::sync::Arc;

use arrow_array::builder::{MapBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, Decimal128Array, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

/// How the cost columns (BilledCost, EffectiveCost, ListCost) are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Costs {
    /// DECIMAL(38,10); a column with a value that is not a plain decimal of at most 10
    /// decimals stays text.
    Decimal,
    /// DOUBLE; a column with a value that is not a number stays text.
    Double,
    Text,
}

/// How the Tags column is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagsAs {
    Json,
    /// MAP<STRING, STRING>; a column with a cell that is not a JSON object stays text.
    Map,
}

#[derive(Clone, Copy, Debug)]
pub struct Fixture {
    pub compression: Compression,
    pub costs: Costs,
    pub tags: TagsAs,
    /// ChargePeriodStart/End as TIMESTAMP(MICROS, UTC) when every cell parses.
    pub typed_times: bool,
    pub row_group_rows: usize,
}

/// The CSV (header first) as a Parquet file. Empty cells are nulls; other text is kept as is.
pub fn csv_to_parquet(csv: &[u8], fixture: &Fixture) -> Result<Vec<u8>, String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(csv);
    let header: Vec<String> =
        reader.headers().map_err(|e| e.to_string())?.iter().map(str::to_string).collect();
    let mut cells: Vec<Vec<Option<String>>> = vec![Vec::new(); header.len()];
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        for (i, column) in cells.iter_mut().enumerate() {
            let text = record.get(i).unwrap_or("");
            column.push((!text.trim().is_empty()).then(|| text.to_string()));
        }
    }
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (name, column) in header.iter().zip(&cells) {
        let array = column_array(name, column, fixture);
        fields.push(Field::new(name, array.data_type().clone(), true));
        arrays.push(array);
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| e.to_string())?;
    let properties = WriterProperties::builder()
        .set_compression(fixture.compression)
        .set_max_row_group_row_count(Some(fixture.row_group_rows.max(1)))
        .build();
    let mut out = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut out, schema, Some(properties)).map_err(|e| e.to_string())?;
    writer.write(&batch).map_err(|e| e.to_string())?;
    writer.close().map_err(|e| e.to_string())?;
    Ok(out)
}

fn column_array(name: &str, column: &[Option<String>], fixture: &Fixture) -> ArrayRef {
    let is = |n: &str| name.trim().eq_ignore_ascii_case(n);
    let text = || Arc::new(StringArray::from(column.to_vec())) as ArrayRef;
    // FOCUS's cost columns, and CUR's (`line_item_unblended_cost`,
    // `savings_plan_total_commitment_to_date`, `reservation_unused_recurring_fee`…).
    let cur_amount = ["line_item_", "pricing_", "savings_plan_", "reservation_"]
        .iter()
        .any(|p| name.starts_with(p))
        && ["_cost", "_fee", "_commitment", "_to_date", "_billing_period"]
            .iter()
            .any(|s| name.ends_with(s));
    if is("BilledCost") || is("EffectiveCost") || is("ListCost") || cur_amount {
        return match fixture.costs {
            Costs::Decimal => all(column, |t| plain_decimal(t, 10))
                .and_then(|v| Decimal128Array::from(v).with_precision_and_scale(38, 10).ok())
                .map_or_else(text, |a| Arc::new(a) as ArrayRef),
            Costs::Double => all(column, |t| t.trim().parse::<f64>().ok())
                .map_or_else(text, |v| Arc::new(Float64Array::from(v)) as ArrayRef),
            Costs::Text => text(),
        };
    }
    let time = ["ChargePeriodStart", "ChargePeriodEnd"].iter().any(|n| is(n))
        || ["line_item_usage_start_date", "line_item_usage_end_date"].iter().any(|n| is(n));
    if fixture.typed_times && time {
        return all(column, |t| {
            crate::source::focus::parse_charge_time(t.trim())
                .map(|t| t.and_utc().timestamp_micros())
        })
        .map_or_else(text, |v| Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC")));
    }
    // FOCUS's Tags, and CUR 2.0's map columns.
    if fixture.tags == TagsAs::Map && (is("Tags") || is("product") || is("resource_tags")) {
        return map_array(column).unwrap_or_else(text);
    }
    text()
}

/// Every non-null cell converted, or `None` when one does not convert.
fn all<T>(
    column: &[Option<String>],
    convert: impl Fn(&str) -> Option<T>,
) -> Option<Vec<Option<T>>> {
    column
        .iter()
        .map(|cell| match cell.as_deref() {
            None => Some(None),
            Some(t) if t.trim().eq_ignore_ascii_case("null") => Some(None),
            Some(t) => convert(t).map(Some),
        })
        .collect()
}

/// `[-]digits[.digits]` with at most `scale` decimals, as an unscaled integer.
fn plain_decimal(text: &str, scale: usize) -> Option<i128> {
    let text = text.trim();
    let (negative, digits) = text.strip_prefix('-').map_or((false, text), |d| (true, d));
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !ok(int) || !ok(frac) || frac.len() > scale {
        return None;
    }
    let unscaled: i128 = format!("{int}{frac:0<scale$}").parse().ok()?;
    Some(if negative { -unscaled } else { unscaled })
}

/// JSON-object cells as a MAP, entries in the text's order; `None` when a cell is not one.
fn map_array(column: &[Option<String>]) -> Option<ArrayRef> {
    let mut builder = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
    for cell in column {
        let Some(text) = cell.as_deref().filter(|t| !t.trim().eq_ignore_ascii_case("null")) else {
            builder.append(false).ok()?;
            continue;
        };
        for (key, value) in json_entries(text)? {
            builder.keys().append_value(key);
            match value {
                Some(v) => builder.values().append_value(v),
                None => builder.values().append_null(),
            }
        }
        builder.append(true).ok()?;
    }
    Some(Arc::new(builder.finish()))
}

/// A JSON object's entries in order (serde_json's map sorts its keys): strings as their text,
/// numbers and booleans as written, null as `None`.
fn json_entries(text: &str) -> Option<Vec<(String, Option<String>)>> {
    struct Entries(Vec<(String, Option<String>)>);
    impl<'de> serde::Deserialize<'de> for Entries {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Visit;
            impl<'de> serde::de::Visitor<'de> for Visit {
                type Value = Entries;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Entries, A::Error> {
                    let mut entries = Vec::new();
                    while let Some((k, v)) = map.next_entry::<String, serde_json::Value>()? {
                        let v = match v {
                            serde_json::Value::Null => None,
                            serde_json::Value::String(s) => Some(s),
                            other => Some(other.to_string()),
                        };
                        entries.push((k, v));
                    }
                    Ok(Entries(entries))
                }
            }
            d.deserialize_map(Visit)
        }
    }
    serde_json::from_str::<Entries>(text).ok().map(|e| e.0)
}
