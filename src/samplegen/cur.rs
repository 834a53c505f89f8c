//! FOCUS rows rewritten as an AWS Cost and Usage Report, legacy or CUR 2.0: the reverse of
//! the reader's mapping (src/source/billing/cur/mapping.rs), so that the sample read as CUR
//! gives the sample's figures. docs/cur-mapping.md, "How the sample CUR is derived", says how
//! each FOCUS row becomes CUR line items.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufReader, Read, Write};
use std::path::Path;

use super::{Result, SampleError};
use crate::model::Money;
use crate::source::billing::cur::mapping::{
    PRODUCT_NAMES, RESOURCE_TYPES, SAVINGS_PLAN_TYPES, SERVICE_CATEGORIES, reverse,
};

/// Which CUR column names to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CurNaming {
    /// Legacy CUR CSV: `lineItem/UnblendedCost`, a `resourceTags/user:KEY` column per tag.
    Legacy,
    /// CUR 2.0: `line_item_unblended_cost`, `product` and `resource_tags` as JSON maps.
    Cur2,
}

/// (legacy name, CUR 2.0 name) of each column written, in order.
const COLUMNS: [(&str, &str); 25] = [
    ("lineItem/LineItemType", "line_item_line_item_type"),
    ("lineItem/UsageStartDate", "line_item_usage_start_date"),
    ("lineItem/UsageEndDate", "line_item_usage_end_date"),
    ("bill/PayerAccountId", "bill_payer_account_id"),
    ("bill/PayerAccountName", "bill_payer_account_name"),
    ("lineItem/UsageAccountId", "line_item_usage_account_id"),
    ("lineItem/UsageAccountName", "line_item_usage_account_name"),
    ("lineItem/ProductCode", "line_item_product_code"),
    ("product/ProductName", "product"),
    ("product/productFamily", "product_product_family"),
    ("product/regionCode", "product_region_code"),
    ("lineItem/ResourceId", "line_item_resource_id"),
    ("lineItem/CurrencyCode", "line_item_currency_code"),
    ("lineItem/UnblendedCost", "line_item_unblended_cost"),
    ("pricing/publicOnDemandCost", "pricing_public_on_demand_cost"),
    ("pricing/term", "pricing_term"),
    ("savingsPlan/SavingsPlanARN", "savings_plan_savings_plan_arn"),
    ("savingsPlan/SavingsPlanEffectiveCost", "savings_plan_savings_plan_effective_cost"),
    ("savingsPlan/TotalCommitmentToDate", "savings_plan_total_commitment_to_date"),
    ("savingsPlan/UsedCommitment", "savings_plan_used_commitment"),
    ("savingsPlan/OfferingType", "savings_plan_offering_type"),
    ("reservation/ReservationARN", "reservation_reservation_arn"),
    ("reservation/EffectiveCost", "reservation_effective_cost"),
    (
        "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
        "reservation_unused_amortized_upfront_fee_for_billing_period",
    ),
    ("reservation/UnusedRecurringFee", "reservation_unused_recurring_fee"),
];

const TYPE: usize = 0;
const PRODUCT_NAME: usize = 8;
const UNBLENDED: usize = 13;
const ON_DEMAND: usize = 14;
const TERM: usize = 15;
const SP_ARN: usize = 16;
const SP_EFFECTIVE: usize = 17;
const SP_TOTAL: usize = 18;
const SP_USED: usize = 19;
const SP_OFFERING: usize = 20;
const RI_ARN: usize = 21;
const RI_EFFECTIVE: usize = 22;
const RI_UNUSED_UPFRONT: usize = 23;

/// One FOCUS row's cells by name.
struct Focus<'a> {
    header: &'a HashMap<String, usize>,
    record: &'a csv::StringRecord,
}

impl Focus<'_> {
    fn get(&self, name: &str) -> &str {
        let cell = self.header.get(name).and_then(|&i| self.record.get(i)).unwrap_or("");
        if cell.eq_ignore_ascii_case("null") { "" } else { cell }
    }
}

fn open(path: &Path) -> Result<Box<dyn Read>> {
    let io = |source| SampleError::Io { path: path.to_path_buf(), source };
    let mut head = [0u8; 2];
    let mut probe = std::fs::File::open(path).map_err(io)?;
    let n = probe.read(&mut head).map_err(io)?;
    let file = BufReader::new(std::fs::File::open(path).map_err(io)?);
    Ok(if n == 2 && head == [0x1f, 0x8b] {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    })
}

/// Writes the FOCUS CSV at `focus` (plain or gzipped) as a CUR CSV; returns the rows written.
pub fn write_cur<W: Write>(focus: &Path, out: W, naming: CurNaming) -> Result<u64> {
    let bad = |message: String| SampleError::Convert { path: focus.to_path_buf(), message };
    // First pass: the tag keys (a legacy column each) and each commitment's unused part per
    // day, which CUR carries on the recurring fee line rather than on a row of its own.
    let mut keys = BTreeSet::new();
    let mut unused: HashMap<(String, String), Money> = HashMap::new();
    let mut header = HashMap::new();
    {
        let mut reader = csv::Reader::from_reader(open(focus)?);
        for (i, h) in reader.headers()?.iter().enumerate() {
            header.insert(h.trim_start_matches('\u{feff}').to_string(), i);
        }
        for record in reader.records() {
            let record = record?;
            let row = Focus { header: &header, record: &record };
            for key in tags_of(&row).map_err(&bad)?.keys() {
                keys.insert(key.clone());
            }
            if row.get("CommitmentDiscountStatus").eq_ignore_ascii_case("unused") {
                let key =
                    (row.get("CommitmentDiscountId").into(), row.get("ChargePeriodStart").into());
                *unused.entry(key).or_insert(Money::ZERO) +=
                    money(row.get("EffectiveCost")).map_err(&bad)?;
            }
        }
    }
    let mut w = csv::WriterBuilder::new().buffer_capacity(1 << 16).from_writer(out);
    let mut names: Vec<String> = COLUMNS
        .iter()
        .map(|(legacy, cur2)| if naming == CurNaming::Legacy { *legacy } else { *cur2 }.to_string())
        .collect();
    match naming {
        CurNaming::Legacy => names.extend(keys.iter().map(|k| format!("resourceTags/user:{k}"))),
        CurNaming::Cur2 => names.push("resource_tags".to_string()),
    }
    w.write_record(&names)?;
    let mut reader = csv::Reader::from_reader(open(focus)?);
    let mut written = 0;
    let mut folded = BTreeSet::new();
    for record in reader.records() {
        let record = record?;
        let row = Focus { header: &header, record: &record };
        let tags = tags_of(&row).map_err(&bad)?;
        for line in cur_lines(&row, &unused, &mut folded).map_err(&bad)? {
            let mut cells: Vec<String> = line.to_vec();
            match naming {
                CurNaming::Legacy => {
                    cells.extend(keys.iter().map(|k| tags.get(k).cloned().unwrap_or_default()));
                }
                CurNaming::Cur2 => {
                    let product = serde_json::json!({ "product_name": cells[PRODUCT_NAME] });
                    cells[PRODUCT_NAME] = product.to_string();
                    let map: serde_json::Map<String, serde_json::Value> = tags
                        .iter()
                        .map(|(k, v)| (format!("user_{k}"), serde_json::Value::String(v.clone())))
                        .collect();
                    cells.push(if map.is_empty() {
                        String::new()
                    } else {
                        serde_json::to_string(&map)?
                    });
                }
            }
            w.write_record(&cells)?;
            written += 1;
        }
    }
    // An unused part whose fee line is not in the file still needs a line to carry it.
    for (id, start) in unused.keys() {
        if folded.contains(&(id.clone(), start.clone())) {
            continue;
        }
        return Err(bad(format!("unused commitment {id} at {start} has no recurring fee row")));
    }
    w.flush()?;
    Ok(written)
}

fn money(text: &str) -> Result<Money, String> {
    if text.trim().is_empty() {
        return Ok(Money::ZERO);
    }
    Money::parse(text.trim()).map_err(|e| format!("{text:?}: {e}"))
}

fn tags_of(row: &Focus<'_>) -> Result<std::collections::BTreeMap<String, String>, String> {
    let text = row.get("Tags");
    if text.trim().is_empty() {
        return Ok(Default::default());
    }
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|e| format!("Tags {text:?}: {e}"))?;
    Ok(map
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::String(s) => Some((k, s)),
            serde_json::Value::Null => None,
            other => Some((k, other.to_string())),
        })
        .collect())
}

/// The CUR line items of one FOCUS row: none (an unused part, carried by its fee line), one,
/// or two (Savings-Plan-covered usage and its negation).
fn cur_lines(
    row: &Focus<'_>,
    unused: &HashMap<(String, String), Money>,
    folded: &mut BTreeSet<(String, String)>,
) -> Result<Vec<[String; 25]>, String> {
    let category = row.get("ChargeCategory");
    let commitment = row.get("CommitmentDiscountId");
    let kind = row.get("CommitmentDiscountType");
    let savings_plan = !commitment.is_empty() && !kind.to_ascii_lowercase().contains("reserved");
    let status = row.get("CommitmentDiscountStatus");
    let billed = money(row.get("BilledCost"))?;
    let effective = money(row.get("EffectiveCost"))?;
    let list = row.get("ListCost");
    let service = row.get("ServiceName");
    let code = reverse(PRODUCT_NAMES, service)
        .or_else(|| {
            let category = row.get("ServiceCategory");
            SERVICE_CATEGORIES
                .iter()
                .find(|(_, c)| c.eq_ignore_ascii_case(category))
                .map(|(p, _)| *p)
        })
        .unwrap_or("");
    let resource_type = row.get("ResourceType");
    let mut base: [String; 25] = Default::default();
    let cells = [
        "",
        row.get("ChargePeriodStart"),
        row.get("ChargePeriodEnd"),
        row.get("BillingAccountId"),
        row.get("BillingAccountName"),
        row.get("SubAccountId"),
        row.get("SubAccountName"),
        code,
        service,
        reverse(RESOURCE_TYPES, resource_type).unwrap_or(resource_type),
        row.get("RegionId"),
        row.get("ResourceId"),
        row.get("BillingCurrency"),
    ];
    for (slot, cell) in base.iter_mut().zip(cells) {
        *slot = cell.to_string();
    }
    base[UNBLENDED] = billed.to_string();
    base[ON_DEMAND] = list.to_string();
    base[TERM] = if row.get("PricingCategory").eq_ignore_ascii_case("dynamic") {
        "Spot"
    } else {
        "OnDemand"
    }
    .into();
    if savings_plan {
        base[SP_ARN] = commitment.into();
        base[SP_OFFERING] = reverse(SAVINGS_PLAN_TYPES, kind).unwrap_or("").into();
    } else if !commitment.is_empty() {
        base[RI_ARN] = commitment.into();
    }
    let with_type = |mut line: [String; 25], t: &str| {
        line[TYPE] = t.to_string();
        line
    };
    let is = |c: &str| category.eq_ignore_ascii_case(c);
    if is("Usage") && !commitment.is_empty() {
        if status.eq_ignore_ascii_case("unused") {
            return Ok(Vec::new());
        }
        if !savings_plan {
            let mut line = with_type(base, "DiscountedUsage");
            line[RI_EFFECTIVE] = effective.to_string();
            return Ok(vec![line]);
        }
        // Covered usage bills its on-demand cost; the negation takes it back.
        let on_demand = money(list)?;
        let mut covered = with_type(base.clone(), "SavingsPlanCoveredUsage");
        covered[UNBLENDED] = on_demand.to_string();
        covered[SP_EFFECTIVE] = effective.to_string();
        let mut negation = with_type(base, "SavingsPlanNegation");
        negation[UNBLENDED] = (billed - on_demand).to_string();
        negation[ON_DEMAND] = "0".into();
        return Ok(vec![covered, negation]);
    }
    if is("Purchase") && !commitment.is_empty() {
        let one_time = row.get("ChargeFrequency").eq_ignore_ascii_case("one-time");
        let key = (commitment.to_string(), row.get("ChargePeriodStart").to_string());
        let part = if one_time { None } else { unused.get(&key).copied() };
        if part.is_some() {
            folded.insert(key);
        }
        let part = part.unwrap_or(Money::ZERO);
        return Ok(vec![match (savings_plan, one_time) {
            (true, true) => with_type(base, "SavingsPlanUpfrontFee"),
            (false, true) => with_type(base, "Fee"),
            (true, false) => {
                let mut line = with_type(base, "SavingsPlanRecurringFee");
                line[SP_TOTAL] = billed.to_string();
                line[SP_USED] = (billed - part).to_string();
                line
            }
            (false, false) => {
                let mut line = with_type(base, "RIFee");
                line[RI_UNUSED_UPFRONT] = part.to_string();
                line
            }
        }]);
    }
    let line_type = match category.to_ascii_lowercase().as_str() {
        "purchase" => "Fee",
        "tax" => "Tax",
        "credit" => "Credit",
        "adjustment" => "Refund",
        _ => "Usage",
    };
    Ok(vec![with_type(base, line_type)])
}
