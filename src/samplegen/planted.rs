//! The events planted in the sample's October for the monthly review (`trends`, `anomalies`,
//! `budgets`): a two-day data transfer spike on one CloudFront distribution, a large RDS
//! instance that appears on 19 October and stays, and a one-time AWS Marketplace purchase.
//!
//! Amounts are constants, not draws, so the rest of the sample does not move when they change,
//! and tests can check what the analyses find against these figures.

use chrono::{DateTime, Duration, Utc};

use super::{Account, BilledItem, CLOUDFRONT, FocusRow, RDS, Service, at, tags_json};
use crate::model::Money;

/// Data transfer out billed on top of the spiked distribution's usage: (day of October, USD).
pub const SPIKE: [(u32, &str); 2] = [(27, "640"), (28, "384")];

/// The RDS instance that appears mid-October: a Multi-AZ db.r5.4xlarge PostgreSQL.
pub const NEW_DB_ID: &str = "arn:aws:rds:us-east-1:222222222222:db:ml-feature-store-prod";
pub const NEW_DB_NAME: &str = "ml-feature-store-prod";
/// db.r5.4xlarge PostgreSQL in us-east-1 is 2.00 an hour (rules/prices/rds.toml), Multi-AZ twice.
pub const NEW_DB_HOURLY: &str = "4.00";
/// Billed from this hour of 19 October 2026 (UTC) on.
pub const NEW_DB_FROM_HOUR: u32 = 14;
pub const NEW_DB_TEAM: &str = "ml";

/// The one-time purchase: a year of a monitoring product bought on AWS Marketplace.
pub const MARKETPLACE: Service = Service { name: "AWS Marketplace", category: "Other" };
pub const PURCHASE_DAY: u32 = 15;
pub const PURCHASE_AMOUNT: &str = "3600";
pub const PURCHASE_NAME: &str = "Acme Observability Pro (12 months)";

fn money(text: &str) -> Money {
    Money::parse(text).unwrap_or_default()
}

fn october(day: u32, hour: u32) -> DateTime<Utc> {
    at(2026, 10, day, hour, 0, 0)
}

/// The distribution that spikes: the prod CloudFront distribution whose name sorts first.
fn spiked(items: &[BilledItem]) -> Option<&BilledItem> {
    items
        .iter()
        .filter(|i| i.service == CLOUDFRONT && i.account == Account::Prod)
        .min_by(|a, b| a.name.cmp(&b.name))
}

/// The planted October rows, in day order.
pub(super) fn october_rows(items: &[BilledItem]) -> Vec<FocusRow> {
    let mut rows = Vec::new();
    let purchase = money(PURCHASE_AMOUNT);
    rows.push(FocusRow {
        billed_cost: purchase,
        effective_cost: purchase,
        list_cost: purchase,
        account: Account::Prod,
        service: MARKETPLACE,
        region: "",
        resource_id: String::new(),
        resource_name: PURCHASE_NAME.to_string(),
        resource_type: "",
        charge_category: "Purchase",
        start: october(PURCHASE_DAY, 0),
        end: october(PURCHASE_DAY + 1, 0),
        tags: r#"{"cost-center":"CC-3000","env":"prod","team":"platform"}"#.to_string(),
        charge_frequency: "One-Time",
        pricing_category: "Standard",
        commitment: None,
    });
    let hourly = money(NEW_DB_HOURLY);
    let tags = format!(
        r#"{{"Name":"{NEW_DB_NAME}","cost-center":"CC-2300","env":"prod","team":"{NEW_DB_TEAM}"}}"#
    );
    let mut start = october(19, 0);
    let end_of_month = october(31, 0) + Duration::days(1);
    while start < end_of_month {
        let end = start + Duration::days(1);
        let hours = if start == october(19, 0) { 24 - NEW_DB_FROM_HOUR } else { 24 };
        let cost = hourly.times(i64::from(hours));
        rows.push(FocusRow {
            billed_cost: cost,
            effective_cost: cost,
            list_cost: cost,
            account: Account::Prod,
            service: RDS,
            region: "us-east-1",
            resource_id: NEW_DB_ID.to_string(),
            resource_name: NEW_DB_NAME.to_string(),
            resource_type: "DB Instance",
            charge_category: "Usage",
            start,
            end,
            tags: tags.clone(),
            charge_frequency: "Usage-Based",
            pricing_category: "Standard",
            commitment: None,
        });
        start = end;
    }
    if let Some(item) = spiked(items) {
        for (day, amount) in SPIKE {
            let cost = money(amount);
            rows.push(FocusRow {
                billed_cost: cost,
                effective_cost: cost,
                // The distribution's private pricing applies to its transfer too.
                list_cost: cost.mul_ratio(100, 85).round_dp(10),
                account: item.account,
                service: item.service,
                region: item.region,
                resource_id: item.id.clone(),
                resource_name: item.name.clone(),
                resource_type: item.resource_type,
                charge_category: "Usage",
                start: october(day, 0),
                end: october(day, 0) + Duration::days(1),
                tags: tags_json(&item.tags),
                charge_frequency: "Usage-Based",
                pricing_category: "Standard",
                commitment: None,
            });
        }
    }
    rows.sort_by_key(|r| r.start);
    rows
}

/// File name of the sample's budgets config.
pub const CONFIG_FILE: &str = "costscope.toml";

/// The sample's `costscope.toml`: the chargeback's team tag, and budgets for the organisation
/// and three teams, `ml` over in October (the new database and the CloudFront spike are both
/// tagged `team = "ml"`).
pub const CONFIG_TOML: &str = r#"# The bundled sample's budgets and chargeback key (generated by src/samplegen/planted.rs; do not
# edit by hand). `--sample` uses the budgets when your own config has no [[budget]] table, and
# the [allocation] key when yours names none.

[allocation]
key = "team"

[[budget]]
name = "acme"
amount = "42000"
period = "month"

[[budget]]
name = "team ml"
amount = "2500"
scope = { "tag:team" = "ml" }

[[budget]]
name = "team data"
amount = "15000"
scope = { "tag:team" = "data" }

[[budget]]
name = "team web"
amount = "7000"
scope = { "tag:team" = "web" }
"#;
