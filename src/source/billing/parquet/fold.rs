//! The columnar fold: at a grain that groups rows by a few text columns (`costs --by service`,
//! the default), a batch of FOCUS rows is summed per distinct group inside the batch, from the
//! columns' dictionary ids, and the ledger sees one entry per group instead of one per row.
//!
//! The fold only takes a batch it can sum exactly as the row-by-row path would: every cost is
//! readable and BilledCost is never null, ChargePeriodStart is a timestamp or date without
//! nulls, every grouping column is dictionary-encoded text (the usual Parquet encoding, and
//! what the reader asks for). Any other batch returns `false` untouched and is read row by row,
//! so errors, skipped rows and their line numbers stay the row reader's.

use super::cells::Cells;
use crate::model::{Grain, Money};
use crate::source::focus::{Column, Layout, Ledger, RowError, Sums, columns_for};

/// Groups past this many possible keys are summed in a hash map instead of a table.
const DENSE_KEYS: u64 = 1 << 16;

/// One grouping column of a batch: its cells' ids and how many ids there are.
struct Dimension<'c, 'a> {
    column: Column,
    cells: Option<&'c Cells<'a>>,
    ids: Vec<u32>,
    count: u64,
}

/// Buffers kept from batch to batch: allocating them anew for every batch costs page faults.
#[derive(Default)]
pub(super) struct Scratch {
    days: Vec<i32>,
    ids: Vec<Vec<u32>>,
    keys: Vec<u64>,
    slot_of_row: Vec<u32>,
    /// Key → slot for a batch's keys, all `u32::MAX` between batches.
    dense: Vec<u32>,
}

/// Sums one batch (`columns` at their file positions, `rows` rows) into `ledger` when it can;
/// `Ok(false)` leaves the batch to the row-by-row path. An error is a running total leaving
/// Money's range, found when the batch's sums reach the ledger.
pub(super) fn fold_batch(
    ledger: &mut Ledger,
    layout: &Layout,
    columns: &[Cells<'_>],
    rows: usize,
    grain: Grain,
    scratch: &mut Scratch,
) -> Result<bool, RowError> {
    if !Ledger::foldable(grain) || rows == 0 {
        return Ok(false);
    }
    let cells = |column: Column| layout.pos(column).and_then(|i| columns.get(i));
    let Some(billed) = cells(Column::BilledCost).filter(|c| c.has_no_nulls()) else {
        return Ok(false);
    };
    let Some(start) = cells(Column::ChargePeriodStart) else { return Ok(false) };
    // A day per row only when the grain keeps days; else the batch's first and last day.
    let days = &mut scratch.days;
    days.clear();
    let (first_day, last_day) = if grain.day {
        if start.epoch_days(days).is_none() || days.len() != rows {
            return Ok(false);
        }
        match (days.iter().min(), days.iter().max()) {
            (Some(first), Some(last)) => (*first, *last),
            _ => return Ok(false),
        }
    } else {
        match start.epoch_day_range() {
            Some(range) => range,
            None => return Ok(false),
        }
    };

    let mut dimensions = Vec::new();
    let mut spare_ids = std::mem::take(&mut scratch.ids);
    for column in columns_for(grain) {
        if matches!(
            column,
            Column::BilledCost
                | Column::EffectiveCost
                | Column::ListCost
                | Column::ChargePeriodStart
        ) {
            continue;
        }
        let cells = cells(column);
        let mut ids = spare_ids.pop().unwrap_or_default();
        ids.clear();
        let count = match cells {
            None => 1,
            Some(c) => match c.dictionary_ids(&mut ids) {
                Some(count) if ids.len() == rows => u64::from(count),
                // Not decoded (absent or all null): every cell is empty.
                _ if c.is_absent() => {
                    ids.clear();
                    1
                }
                _ => return Ok(false),
            },
        };
        dimensions.push(Dimension { column, cells, ids, count });
    }
    let day_count = u64::try_from(i64::from(last_day) - i64::from(first_day) + 1).unwrap_or(1);
    let day_count = if grain.day { day_count } else { 1 };
    let Some(key_count) = dimensions.iter().try_fold(day_count, |n, d| n.checked_mul(d.count))
    else {
        return Ok(false);
    };

    // Each row's key, a column at a time: day, then each dimension's id in a mixed radix.
    let keys = &mut scratch.keys;
    keys.clear();
    if grain.day {
        keys.extend(days.iter().map(|d| u64::try_from(d - first_day).unwrap_or(0)));
    } else {
        keys.resize(rows, 0);
    }
    for d in dimensions.iter().filter(|d| d.count > 1) {
        for (key, id) in keys.iter_mut().zip(&d.ids) {
            *key = *key * d.count + u64::from(*id);
        }
    }
    let groups =
        sum_groups(billed, &cells, keys, key_count, &mut scratch.slot_of_row, &mut scratch.dense);
    let Some(groups) = groups else { return Ok(false) };

    // Every check passed: the batch is the ledger's now.
    ledger.rows_read += rows as u64;
    ledger.see_days(first_day, last_day);
    for (key, sums) in groups {
        let mut rest = key;
        let mut ids = vec![0u32; dimensions.len()];
        for (d, id) in dimensions.iter().zip(ids.iter_mut()).rev().filter(|(d, _)| d.count > 1) {
            *id = u32::try_from(rest % d.count).unwrap_or(0);
            rest /= d.count;
        }
        let day = first_day.saturating_add(i32::try_from(rest).unwrap_or(0));
        let text = |column: Column| -> &[u8] {
            dimensions
                .iter()
                .zip(&ids)
                .find(|(d, _)| d.column == column)
                .and_then(|(d, id)| d.cells.map(|c| c.dictionary_text(*id)))
                .unwrap_or(&[])
        };
        ledger.add_folded(text, day, sums)?;
    }
    scratch.ids = dimensions.into_iter().map(|d| d.ids).collect();
    Ok(true)
}

/// The batch's costs summed per key, in the order keys first appear; `None` when a cost cell is
/// unreadable or a sum leaves Money's range (the row path then reports it at its row).
fn sum_groups<'c, 'a: 'c>(
    billed: &Cells<'_>,
    cells: &impl Fn(Column) -> Option<&'c Cells<'a>>,
    row_keys: &[u64],
    key_count: u64,
    slot_of_row: &mut Vec<u32>,
    dense: &mut Vec<u32>,
) -> Option<Vec<(u64, Sums)>> {
    let mut keys: Vec<u64> = Vec::new();
    let mut slots: Vec<Sums> = Vec::new();
    slot_of_row.clear();
    let mut new_slot = |key: u64| {
        keys.push(key);
        slots.push(Sums::default());
        u32::try_from(slots.len() - 1).unwrap_or(u32::MAX)
    };
    if key_count <= DENSE_KEYS {
        let needed = usize::try_from(key_count).ok()?;
        if dense.len() < needed {
            dense.resize(needed, u32::MAX);
        }
        let mut lookup = || -> Option<()> {
            for &key in row_keys {
                let entry = dense.get_mut(usize::try_from(key).ok()?)?;
                if *entry == u32::MAX {
                    *entry = new_slot(key);
                }
                slot_of_row.push(*entry);
            }
            Some(())
        };
        let found = lookup();
        // Back to all `u32::MAX` for the next batch, touching only this batch's keys.
        for key in &keys {
            if let Some(entry) = usize::try_from(*key).ok().and_then(|k| dense.get_mut(k)) {
                *entry = u32::MAX;
            }
        }
        found?;
    } else {
        let mut sparse: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
        for &key in row_keys {
            slot_of_row.push(*sparse.entry(key).or_insert_with(|| new_slot(key)));
        }
    }
    add_costs(billed, slot_of_row, &mut slots, |s| Some(&mut s.billed))?;
    if let Some(effective) = cells(Column::EffectiveCost).filter(|c| !c.is_absent()) {
        add_costs(effective, slot_of_row, &mut slots, |s| Some(s.effective_slot()))?;
    }
    if let Some(list) = cells(Column::ListCost).filter(|c| !c.is_absent()) {
        add_costs(list, slot_of_row, &mut slots, |s| Some(s.list_slot()))?;
    }
    for slot in slot_of_row.iter() {
        slots.get_mut(*slot as usize)?.rows += 1;
    }
    Some(keys.into_iter().zip(slots).collect())
}

/// Adds one cost column into each row's slot; a null cell adds nothing (and does not make an
/// optional sum present, as in the row path).
fn add_costs(
    cells: &Cells<'_>,
    slot_of_row: &[u32],
    slots: &mut [Sums],
    target: impl Fn(&mut Sums) -> Option<&mut Money>,
) -> Option<()> {
    if let (Some((values, factor)), true) = (cells.decimal_values(), cells.has_no_nulls()) {
        // Bounded so that no product and no partial sum of the batch can leave i128: then
        // the unchecked sums below are the row path's checked ones, and a batch out of the
        // bound goes to the row path, which finds the row that overflows.
        let largest = values.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
        let bound = largest
            .checked_mul(factor.unsigned_abs())?
            .checked_mul(u128::try_from(values.len()).ok()?)?;
        if bound > i128::MAX.unsigned_abs() {
            return None;
        }
        let mut raw = vec![0i128; slots.len()];
        for (value, slot) in values.iter().zip(slot_of_row) {
            if let Some(sum) = raw.get_mut(*slot as usize) {
                *sum += value * factor;
            }
        }
        for (slot, sum) in slots.iter_mut().zip(raw) {
            let total = target(slot)?;
            *total = total.checked_add(Money::from_raw(sum))?;
        }
        return Some(());
    }
    for (row, slot) in slot_of_row.iter().enumerate() {
        let Some(money) = cells.money(row).ok()? else { continue };
        let sum = target(slots.get_mut(*slot as usize)?)?;
        *sum = sum.checked_add(money)?;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use arrow_array::types::Int32Type;
    use arrow_array::{
        Array, ArrayRef, Decimal128Array, DictionaryArray, StringArray, TimestampMicrosecondArray,
    };

    use super::*;
    use crate::model::BillingSummary;
    use crate::source::billing::Mapping;
    use crate::source::billing::parquet::cells::BatchRow;

    const HEADER: [&str; 6] = [
        "BilledCost",
        "EffectiveCost",
        "ChargePeriodStart",
        "BillingCurrency",
        "ServiceName",
        "RegionId",
    ];

    fn dict(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(values.iter().copied().collect::<DictionaryArray<Int32Type>>())
    }

    fn decimals(values: &[Option<i128>]) -> ArrayRef {
        Arc::new(Decimal128Array::from(values.to_vec()).with_precision_and_scale(38, 10).unwrap())
    }

    /// Six rows over two days, three services (one null), two regions; one EffectiveCost null.
    fn batch() -> Vec<ArrayRef> {
        let day = 1_790_812_800_000_000i64; // 2026-10-01T00:00:00Z in microseconds
        let hour = 3_600_000_000i64;
        vec![
            decimals(&[Some(1), Some(25_000_000_000), Some(-3), Some(7), Some(1), Some(2)]),
            decimals(&[Some(1), None, Some(-3), Some(7), Some(1), Some(2)]),
            Arc::new(
                TimestampMicrosecondArray::from(vec![
                    day,
                    day + hour,
                    day + 24 * hour,
                    day + 25 * hour,
                    day + 2 * hour,
                    day + 24 * hour,
                ])
                .with_timezone("UTC"),
            ),
            dict(&[Some("USD"); 6]),
            dict(&[Some("EC2"), Some("S3"), None, Some("EC2"), Some(" EC2 "), Some("S3")]),
            dict(&[Some("eu-west-1"), Some("us-east-1"), Some("eu-west-1"), None, Some("x"), None]),
        ]
    }

    fn cells(arrays: &[ArrayRef]) -> Vec<Cells<'_>> {
        arrays.iter().map(|a| Cells::new(a.as_ref()).unwrap()).collect()
    }

    fn layout() -> Layout {
        let names: Vec<String> = HEADER.iter().map(|s| s.to_string()).collect();
        Layout::from_header(&names, Path::new("t.parquet")).unwrap()
    }

    fn row_by_row(arrays: &[ArrayRef], grain: Grain, batches: usize) -> BillingSummary {
        let (layout, columns) = (layout(), cells(arrays));
        let mut ledger = Ledger::new(grain);
        for _ in 0..batches {
            for row in 0..arrays[0].len() {
                let cells = BatchRow { columns: &columns, row };
                layout.add(&mut ledger, &cells, "t", 2 + row as u64, false).unwrap();
            }
        }
        ledger.finish(vec![])
    }

    fn folded(arrays: &[ArrayRef], grain: Grain) -> Option<BillingSummary> {
        let (layout, columns) = (layout(), cells(arrays));
        let mut ledger = Ledger::new(grain);
        let rows = arrays[0].len();
        fold_batch(&mut ledger, &layout, &columns, rows, grain, &mut Scratch::default())
            .unwrap()
            .then(|| ledger.finish(vec![]))
    }

    #[test]
    fn a_folded_batch_gives_the_row_by_row_summary_at_every_narrow_grain() {
        let arrays = batch();
        let grains = [
            Grain::NONE,
            Grain { service: true, ..Grain::NONE },
            Grain { day: true, ..Grain::NONE },
            Grain { service: true, region: true, day: true, ..Grain::NONE },
            Grain { service: true, list_cost: true, ..Grain::NONE },
        ];
        for grain in grains {
            let want = row_by_row(&arrays, grain, 1);
            assert_eq!(want.rows_read, 6);
            let got = folded(&arrays, grain).unwrap_or_else(|| panic!("{grain:?} not folded"));
            assert_eq!(got, want, "{grain:?}");
            // Three batches through one scratch, as the reader keeps it from batch to batch.
            let (layout, columns) = (layout(), cells(&arrays));
            let (mut ledger, mut scratch) = (Ledger::new(grain), Scratch::default());
            for _ in 0..3 {
                let done = fold_batch(&mut ledger, &layout, &columns, 6, grain, &mut scratch);
                assert!(done.unwrap());
            }
            assert_eq!(ledger.finish(vec![]), row_by_row(&arrays, grain, 3), "{grain:?} x3");
        }
        let by_service = folded(&arrays, Grain { service: true, ..Grain::NONE }).unwrap();
        let sums: Vec<(String, String, String)> = by_service
            .lines
            .iter()
            .map(|l| {
                let effective = l.effective_cost.map(|m| m.to_string()).unwrap_or_default();
                (l.service.to_string(), l.billed_cost.to_string(), effective)
            })
            .collect();
        // " EC2 " is EC2 once trimmed, as the CSV reader trims it.
        assert!(sums.contains(&("EC2".into(), "0.0000000009".into(), "0.0000000009".into())));
        assert!(sums.contains(&("S3".into(), "2.5000000002".into(), "0.0000000002".into())));
    }

    #[test]
    fn a_batch_the_fold_cannot_sum_exactly_is_left_to_the_row_path() {
        let grain = Grain { service: true, ..Grain::NONE };
        let mut nulls = batch();
        nulls[0] = decimals(&[Some(1), None, Some(1), Some(1), Some(1), Some(1)]);
        assert!(folded(&nulls, grain).is_none(), "a null BilledCost is the row path's error");
        let mut text_times = batch();
        text_times[2] = Arc::new(StringArray::from(vec!["2026-10-01T00:00:00Z"; 6]));
        assert!(folded(&text_times, grain).is_none(), "text times are parsed row by row");
        let mut plain = batch();
        plain[4] = Arc::new(StringArray::from(vec!["EC2"; 6]));
        assert!(folded(&plain, grain).is_none(), "a plain text column has no ids");
        assert!(folded(&plain, Grain { region: true, ..Grain::NONE }).is_some(), "unused there");
        let huge = 10i128.pow(37);
        let mut overflow = batch();
        overflow[0] = decimals(&[Some(huge); 6]);
        assert!(folded(&overflow, grain).is_none(), "past Money's range: the row path's error");
        assert!(folded(&batch(), Grain::FULL).is_none(), "resources and tags are not folded");
        assert_eq!(nulls[0].null_count(), 1);
    }
}
