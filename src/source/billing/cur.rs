//! AWS Cost and Usage Reports (legacy CUR and CUR 2.0) mapped to FOCUS, row by row, into the
//! same [`Ledger`] the FOCUS reader fills. The mapping itself is the table in [`mapping`];
//! docs/cur-mapping.md explains it column by column.

pub(crate) mod mapping;

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use mapping::{Canonical, Effective, LineType, SOURCES, Src};

use super::{Mapping, SourceRow};
use crate::model::{Grain, Money};
use crate::source::focus::{Column, Dialect, Ledger, Record, Row, RowError, Time, columns_for};
use crate::source::{Result, SourceError};

/// How one CUR file's columns become FOCUS rows: the position of each source column, resolved
/// once from the header.
pub(crate) struct CurMapping {
    pos: [Option<usize>; SOURCES.len()],
    /// Header names as the file writes them, for messages.
    names: Vec<String>,
    /// Legacy per-tag columns: position and the tag's JSON key with its colon (`"team":`).
    tag_columns: Vec<(usize, Box<[u8]>)>,
    tag_map: Option<usize>,
    product_map: Option<usize>,
}

impl CurMapping {
    pub(crate) fn from_header(header: &[String], path: &Path) -> Result<CurMapping> {
        let mut pos = [None; SOURCES.len()];
        let mut tag_columns = Vec::new();
        let (mut tag_map, mut product_map) = (None, None);
        for (i, raw) in header.iter().enumerate() {
            match mapping::canonical(raw) {
                Canonical::Column(name) => {
                    if let Some(slot) = SOURCES.iter().position(|(_, n)| *n == name) {
                        pos[slot].get_or_insert(i);
                    }
                }
                Canonical::Tag(key) => {
                    let mut json = serde_json::to_vec(&key).unwrap_or_default();
                    json.push(b':');
                    tag_columns.push((i, json.into_boxed_slice()));
                }
                Canonical::TagMap => {
                    tag_map.get_or_insert(i);
                }
                Canonical::ProductMap => {
                    product_map.get_or_insert(i);
                }
                Canonical::Ignored => {}
            }
        }
        let names = header.iter().map(|h| h.trim_start_matches('\u{feff}').trim().to_string());
        let m = CurMapping { pos, names: names.collect(), tag_columns, tag_map, product_map };
        let missing: Vec<&str> = [Src::UnblendedCost, Src::UsageStart]
            .into_iter()
            .filter(|s| m.at(*s).is_none())
            .map(|s| SOURCES[s as usize].1)
            .collect();
        if !missing.is_empty() {
            return Err(SourceError::Row {
                path: path.to_path_buf(),
                line: 1,
                column: missing.join(", "),
                message: format!(
                    "not an AWS Cost and Usage Report: no {} column (legacy lineItem/…, or \
                     CUR 2.0 line_item_…; the header has {} columns)",
                    missing.join(" or "),
                    header.len()
                ),
            });
        }
        Ok(m)
    }

    fn at(&self, src: Src) -> Option<usize> {
        self.pos[src as usize]
    }

    fn name(&self, i: usize) -> String {
        self.names.get(i).cloned().unwrap_or_default()
    }

    fn text<'r, S: SourceRow>(&self, row: &'r S, src: Src) -> &'r [u8] {
        self.at(src).map_or(&[], |i| row.text(i))
    }

    fn money<S: SourceRow>(&self, row: &S, src: Src) -> Result<Option<Money>, RowError> {
        match self.at(src) {
            None => Ok(None),
            Some(i) => row.money(i).map_err(|message| RowError { column: self.name(i), message }),
        }
    }

    fn amount<S: SourceRow>(
        &self,
        row: &S,
        effective: Effective,
        billed: Money,
    ) -> Result<Money, RowError> {
        let cell = |src| self.money(row, src).map(Option::unwrap_or_default);
        Ok(match effective {
            Effective::Billed => billed,
            Effective::Zero => Money::ZERO,
            Effective::Column(src) => cell(src)?,
            Effective::Difference(a, b) => cell(a)? - cell(b)?,
            Effective::Sum(a, b) => cell(a)? + cell(b)?,
            Effective::ZeroWithReservation => {
                if self.text(row, Src::RiArn).is_empty() {
                    billed
                } else {
                    Money::ZERO
                }
            }
        })
    }

    /// Maps one CUR row and adds the FOCUS row(s) it makes.
    pub(crate) fn add_source<S: SourceRow>(
        &self,
        ledger: &mut Ledger,
        row: &S,
    ) -> Result<(), RowError> {
        let kind = mapping::line_type(self.text(row, Src::LineItemType));
        let unblended = self.money(row, Src::UnblendedCost)?;
        // The converter's BilledCost: net of discounts when the export has that column.
        let billed = match self.money(row, Src::NetUnblendedCost)? {
            Some(net) => Some(net),
            None => unblended,
        };
        let Some(billed) = billed else {
            let column = self.at(Src::UnblendedCost).map(|i| self.name(i)).unwrap_or_default();
            return Err(RowError { column, message: "required value is null".into() });
        };
        let effective = self.amount(row, kind.effective, billed)?;
        let list = self.money(row, Src::PublicOnDemandCost)?;
        let unused = match kind.unused {
            Some(how) => Some(self.amount(row, how, billed)?),
            None => None,
        };
        with_tags(self, row, |tags| {
            let focus = CurRow { m: self, row, kind, billed, effective, list, tags };
            ledger.add_row(&focus)?;
            match unused {
                Some(amount) if !amount.is_zero() => ledger.add_row(&CurRow {
                    kind: &mapping::UNUSED_PART,
                    billed: Money::ZERO,
                    effective: amount,
                    list: Some(Money::ZERO),
                    ..focus
                }),
                _ => Ok(()),
            }
        })
    }
}

/// CUR 2.0 tag maps (raw JSON) already rewritten as FOCUS Tags.
type TagCache = HashMap<Box<[u8]>, Box<[u8]>>;

thread_local! {
    /// Per thread: a scratch buffer for tags built from legacy columns, and CUR 2.0 tag maps
    /// already rewritten to FOCUS keys (few distinct ones repeat over millions of rows).
    static TAGS: RefCell<(Vec<u8>, TagCache)> =
        RefCell::new((Vec::new(), HashMap::new()));
}

/// Bounds the CUR 2.0 tag cache; past it the cache starts over.
const TAG_CACHE_MAX: usize = 1 << 16;

/// Calls `f` with the row's tags as a FOCUS Tags JSON object (empty when none).
fn with_tags<S: SourceRow, T>(
    m: &CurMapping,
    row: &S,
    f: impl FnOnce(&[u8]) -> Result<T, RowError>,
) -> Result<T, RowError> {
    if m.tag_columns.is_empty() && m.tag_map.is_none() {
        return f(&[]);
    }
    TAGS.with(|cell| {
        let mut guard = cell.borrow_mut();
        let (scratch, cache) = &mut *guard;
        scratch.clear();
        for (i, key) in &m.tag_columns {
            let value = row.text(*i);
            if value.is_empty() {
                continue;
            }
            scratch.push(if scratch.is_empty() { b'{' } else { b',' });
            scratch.extend_from_slice(key);
            push_json_string(scratch, value);
        }
        if let Some(i) = m.tag_map {
            let raw = row.text(i);
            if !raw.is_empty() {
                if !cache.contains_key(raw) {
                    if cache.len() >= TAG_CACHE_MAX {
                        cache.clear();
                    }
                    let rewritten = focus_tags_of_map(raw)
                        .map_err(|message| RowError { column: m.name(i), message })?;
                    cache.insert(raw.into(), rewritten.into_boxed_slice());
                }
                if let Some(tags) = cache.get(raw)
                    && !tags.is_empty()
                {
                    // Legacy columns and a map in one file are not expected; merge anyway.
                    if scratch.is_empty() {
                        return f(tags);
                    }
                    scratch.push(b',');
                    scratch.extend_from_slice(tags.get(1..tags.len() - 1).unwrap_or(&[]));
                }
            }
        }
        if scratch.is_empty() {
            return f(&[]);
        }
        scratch.push(b'}');
        f(scratch)
    })
}

/// CUR 2.0's `resource_tags` map (JSON) as FOCUS Tags: `user_team` → `team`; the tags AWS
/// generates (`aws_…`) are left out.
fn focus_tags_of_map(raw: &[u8]) -> Result<Vec<u8>, String> {
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(raw).map_err(|e| format!("not a JSON object of tags: {e}"))?;
    let mut out = serde_json::Map::new();
    for (key, value) in map {
        if value.is_null() || key.starts_with("aws_") {
            continue;
        }
        let key = key.strip_prefix("user_").map_or(key.clone(), str::to_string);
        out.insert(key, value);
    }
    if out.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::to_vec(&out).map_err(|e| e.to_string())
}

fn push_json_string(out: &mut Vec<u8>, value: &[u8]) {
    out.push(b'"');
    for &b in value {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0..0x20 => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// One value of CUR 2.0's `product` map read from its JSON text without building the map: the
/// hot path reads the product name of every row. `None` when the simple scan cannot tell (an
/// escaped value), and the caller parses.
fn scan_json_value<'a>(json: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let quoted = format!("\"{key}\"");
    let at = memchr::memmem::find(json, quoted.as_bytes())?;
    let rest = json.get(at + quoted.len()..)?.trim_ascii_start();
    let rest = rest.strip_prefix(b":")?.trim_ascii_start();
    let rest = rest.strip_prefix(b"\"")?;
    let end = memchr::memchr2(b'"', b'\\', rest)?;
    (rest.get(end) == Some(&b'"')).then(|| &rest[..end])
}

/// A CUR row seen as FOCUS.
struct CurRow<'a, S> {
    m: &'a CurMapping,
    row: &'a S,
    kind: &'static LineType,
    billed: Money,
    effective: Money,
    list: Option<Money>,
    tags: &'a [u8],
}

impl<S> Clone for CurRow<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S> Copy for CurRow<'_, S> {}

impl<S: SourceRow> CurRow<'_, S> {
    fn commitment(&self) -> (&[u8], bool) {
        let sp = self.m.text(self.row, Src::SpArn);
        if !sp.is_empty() {
            return (sp, true);
        }
        (self.m.text(self.row, Src::RiArn), false)
    }

    fn text_of(&self, src: Src) -> &[u8] {
        self.m.text(self.row, src)
    }
}

impl<S: SourceRow> Row for CurRow<'_, S> {
    fn text(&self, column: Column) -> &[u8] {
        let kind = self.kind;
        match column {
            Column::BilledCost | Column::EffectiveCost | Column::ListCost | Column::Tags => &[],
            Column::ChargePeriodStart => self.text_of(Src::UsageStart),
            Column::ChargePeriodEnd => self.text_of(Src::UsageEnd),
            Column::BillingCurrency => self.text_of(Src::Currency),
            Column::ProviderName => mapping::PROVIDER.as_bytes(),
            Column::BillingAccountId => self.text_of(Src::PayerId),
            Column::BillingAccountName => self.text_of(Src::PayerName),
            Column::SubAccountId => self.text_of(Src::UsageAccountId),
            Column::SubAccountName => self.text_of(Src::UsageAccountName),
            Column::ServiceName => match (self.m.at(Src::ProductName), self.m.product_map) {
                (Some(i), _) => self.row.text(i),
                (None, Some(i)) => {
                    scan_json_value(self.row.text(i), mapping::PRODUCT_NAME_KEY).unwrap_or(&[])
                }
                (None, None) => &[],
            },
            Column::ServiceCategory => {
                let code = self.text_of(Src::ProductCode);
                if code.is_empty() {
                    &[]
                } else {
                    mapping::lookup(mapping::SERVICE_CATEGORIES, code)
                        .unwrap_or(mapping::OTHER_CATEGORY)
                        .as_bytes()
                }
            }
            Column::RegionId => self.text_of(Src::RegionCode),
            Column::ResourceId => self.text_of(Src::ResourceId),
            Column::ResourceName => &[],
            Column::ResourceType => {
                let family = self.text_of(Src::ProductFamily);
                mapping::lookup(mapping::RESOURCE_TYPES, family).map_or(family, str::as_bytes)
            }
            Column::ChargeCategory => kind.charge_category.as_bytes(),
            Column::ChargeFrequency => kind.charge_frequency.as_bytes(),
            Column::PricingCategory => {
                if kind.committed {
                    b"Committed"
                } else if self.text_of(Src::PricingTerm).eq_ignore_ascii_case(b"spot") {
                    b"Dynamic"
                } else {
                    b"Standard"
                }
            }
            Column::CommitmentDiscountId => self.commitment().0,
            Column::CommitmentDiscountName | Column::CommitmentDiscountUnit => &[],
            Column::CommitmentDiscountCategory | Column::CommitmentDiscountType => {
                let (id, savings_plan) = self.commitment();
                match (id.is_empty(), savings_plan, column) {
                    (true, _, _) => &[],
                    (false, true, Column::CommitmentDiscountCategory) => mapping::SPEND.as_bytes(),
                    (false, false, Column::CommitmentDiscountCategory) => mapping::USAGE.as_bytes(),
                    (false, true, _) => mapping::lookup(
                        mapping::SAVINGS_PLAN_TYPES,
                        self.text_of(Src::SpOfferingType),
                    )
                    .unwrap_or(mapping::SAVINGS_PLAN)
                    .as_bytes(),
                    (false, false, _) => mapping::RESERVED_INSTANCE.as_bytes(),
                }
            }
            Column::CommitmentDiscountStatus => {
                if self.commitment().0.is_empty() || kind.charge_category != "Usage" {
                    &[]
                } else if std::ptr::eq(kind, &mapping::UNUSED_PART) {
                    b"Unused"
                } else {
                    b"Used"
                }
            }
        }
    }

    fn has(&self, column: Column) -> bool {
        match column {
            Column::ServiceCategory => self.m.at(Src::ProductCode).is_some(),
            Column::ResourceName
            | Column::CommitmentDiscountName
            | Column::CommitmentDiscountUnit => false,
            _ => true,
        }
    }

    fn money(&self, column: Column) -> Result<Option<Money>, RowError> {
        Ok(match column {
            Column::BilledCost => Some(self.billed),
            Column::EffectiveCost => Some(self.effective),
            Column::ListCost => self.list,
            _ => None,
        })
    }

    fn time(&self, column: Column) -> Time<'_> {
        let src = if column == Column::ChargePeriodEnd { Src::UsageEnd } else { Src::UsageStart };
        self.m.at(src).map_or(Time::Text(&[]), |i| self.row.time(i))
    }

    fn tags(&self) -> (&[u8], bool) {
        (self.tags, false)
    }
}

/// A CSV record read by position: cells trimmed, empty or `NULL` as empty.
struct RecordRow<'r, 'a>(&'r Record<'a>);

impl SourceRow for RecordRow<'_, '_> {
    #[inline]
    fn text(&self, column: usize) -> &[u8] {
        let cell = self.0.get(column).map_or(&[][..], <[u8]>::trim_ascii);
        if cell.eq_ignore_ascii_case(b"null") { &[] } else { cell }
    }
}

impl Dialect for CurMapping {
    fn escaped_column(&self) -> Option<usize> {
        None
    }

    #[inline]
    fn add(&self, ledger: &mut Ledger, record: &Record<'_>) -> Result<(), RowError> {
        self.add_source(ledger, &RecordRow(record))
    }
}

impl Mapping for CurMapping {
    fn needed(&self, grain: Grain) -> Vec<usize> {
        let mut needed = Vec::new();
        for column in columns_for(grain) {
            for src in mapping::sources_of(column) {
                needed.extend(self.at(*src));
            }
            match column {
                Column::Tags => {
                    needed.extend(self.tag_columns.iter().map(|(i, _)| *i));
                    needed.extend(self.tag_map);
                }
                Column::ServiceName if self.at(Src::ProductName).is_none() => {
                    needed.extend(self.product_map);
                }
                _ => {}
            }
        }
        // Tags are validated whatever the grain, as the CSV readers do.
        needed.extend(self.tag_map);
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
        ledger.rows_read += 1;
        match self.add_source(ledger, row) {
            Err(err) if skip_invalid => {
                ledger.skipped.record(crate::model::billing::SkippedRow {
                    file: file.to_string(),
                    line,
                    reason: format!("column {}: {}", err.column, err.message),
                });
                Ok(())
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Cells(Vec<&'static str>);
    impl SourceRow for Cells {
        fn text(&self, column: usize) -> &[u8] {
            self.0.get(column).map_or(&[], |s| s.as_bytes())
        }
    }

    const HEADER: [&str; 12] = [
        "lineItem/LineItemType",
        "lineItem/UnblendedCost",
        "lineItem/UsageStartDate",
        "savingsPlan/SavingsPlanEffectiveCost",
        "savingsPlan/TotalCommitmentToDate",
        "savingsPlan/UsedCommitment",
        "reservation/EffectiveCost",
        "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
        "reservation/UnusedRecurringFee",
        "reservation/ReservationARN",
        "savingsPlan/SavingsPlanARN",
        "pricing/publicOnDemandCost",
    ];

    fn mapping() -> CurMapping {
        let header: Vec<String> = HEADER.iter().map(|s| s.to_string()).collect();
        CurMapping::from_header(&header, Path::new("t.csv")).unwrap()
    }

    /// (ChargeCategory, EffectiveCost) of a row whose cells are HEADER's, in order.
    fn effective(cells: [&'static str; 12]) -> (&'static str, Money, Option<Money>) {
        let m = mapping();
        let row = Cells(cells.to_vec());
        let kind = mapping::line_type(m.text(&row, Src::LineItemType));
        let billed = m.money(&row, Src::UnblendedCost).unwrap().unwrap();
        let eff = m.amount(&row, kind.effective, billed).unwrap();
        let unused = kind.unused.map(|u| m.amount(&row, u, billed).unwrap());
        (kind.charge_category, eff, unused)
    }

    fn money(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    #[test]
    fn each_line_item_type_has_its_effective_cost() {
        let t = "2026-10-01T00:00:00Z";
        let arn = "arn:aws:savingsplans::1:savingsplan/x";
        let ri = "arn:aws:ec2:us-east-1:1:reserved-instances/y";
        let usage = ["Usage", "1.25", t, "", "", "", "", "", "", "", "", "1.25"];
        assert_eq!(effective(usage), ("Usage", money("1.25"), None));
        // Covered usage bills its on-demand price; the plan's rate is its effective cost.
        let covered =
            ["SavingsPlanCoveredUsage", "4.08", t, "2.9376", "", "", "", "", "", "", arn, "4.08"];
        assert_eq!(effective(covered), ("Usage", money("2.9376"), None));
        let negation = ["SavingsPlanNegation", "-4.08", t, "", "", "", "", "", "", "", arn, ""];
        assert_eq!(effective(negation), ("Usage", Money::ZERO, None));
        // 31.92 committed, 29.00 used: the 2.92 unused becomes its own row.
        let fee =
            ["SavingsPlanRecurringFee", "31.92", t, "", "31.92", "29.00", "", "", "", "", arn, ""];
        assert_eq!(effective(fee), ("Purchase", Money::ZERO, Some(money("2.92"))));
        let upfront = ["SavingsPlanUpfrontFee", "1000", t, "", "", "", "", "", "", "", arn, ""];
        assert_eq!(effective(upfront), ("Purchase", Money::ZERO, None));
        let discounted = ["DiscountedUsage", "0", t, "", "", "", "1.43", "", "", ri, "", "2.304"];
        assert_eq!(effective(discounted), ("Usage", money("1.43"), None));
        // 0.50 of amortized upfront and 0.25 of recurring fee went unused.
        let rifee = ["RIFee", "3.00", t, "", "", "", "", "0.50", "0.25", ri, "", ""];
        assert_eq!(effective(rifee), ("Purchase", Money::ZERO, Some(money("0.75"))));
        let ri_upfront = ["Fee", "522", t, "", "", "", "", "", "", ri, "", "522"];
        assert_eq!(effective(ri_upfront), ("Purchase", Money::ZERO, None));
        let support = ["Fee", "100", t, "", "", "", "", "", "", "", "", ""];
        assert_eq!(effective(support), ("Purchase", money("100"), None));
        let tax = ["Tax", "7.5", t, "", "", "", "", "", "", "", "", ""];
        assert_eq!(effective(tax), ("Tax", money("7.5"), None));
        let credit = ["Credit", "-2", t, "", "", "", "", "", "", "", "", ""];
        assert_eq!(effective(credit), ("Credit", money("-2"), None));
    }

    #[test]
    fn a_header_without_cost_or_start_is_refused_naming_what_is_missing() {
        let header = vec!["lineItem/LineItemType".to_string(), "BilledCost".to_string()];
        let err = CurMapping::from_header(&header, Path::new("x.csv")).err().unwrap();
        let text = err.to_string();
        assert!(text.contains("line_item_unblended_cost"), "{text}");
        assert!(text.contains("line_item_usage_start_date"), "{text}");
        assert!(err.is_bad_input());
    }

    #[test]
    fn cur2_maps_rewrite_tag_keys_and_scan_the_product_name() {
        let tags = focus_tags_of_map(
            br#"{"user_team":"data","aws_createdBy":"x","user_cost-center":"CC-1"}"#,
        )
        .unwrap();
        assert_eq!(tags, br#"{"cost-center":"CC-1","team":"data"}"#);
        let product = br#"{"product_name": "Amazon Elastic Compute Cloud","region":"us-east-1"}"#;
        assert_eq!(
            scan_json_value(product, "product_name"),
            Some(&b"Amazon Elastic Compute Cloud"[..])
        );
        assert_eq!(scan_json_value(br#"{"product_name":"a\"b"}"#, "product_name"), None);
    }
}
