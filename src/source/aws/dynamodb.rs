//! DynamoDB inventory of one region: ListTables (paginated), DescribeTable per table, tags from
//! ListTagsOfResource per table.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types as ddb;
use futures_util::StreamExt;

use super::{ApiFailure, ServiceRead, count, fail, non_empty, partition, tags_of, to_chrono};
use crate::model::Tags;
use crate::model::inventory::{BillingMode, DynamoDbTable, Inventory};

const SERVICE: &str = "DynamoDB";

/// DescribeTable calls in flight at once.
const DESCRIBE_CONCURRENCY: usize = 4;

/// Reads the region's tables. A failed list or describe fails DynamoDB for the region (a table
/// deleted between the two calls is skipped); failed tag calls leave those tables untagged and
/// become one warning.
pub async fn inventory(
    client: &Client,
    account_id: &str,
    region: &str,
) -> Result<ServiceRead, ApiFailure> {
    let names: Vec<String> = client
        .list_tables()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(fail(SERVICE, "ListTables"))?;
    let described: Vec<Result<Option<DynamoDbTable>, ApiFailure>> =
        futures_util::stream::iter(names)
            .map(|name| async move {
                match client.describe_table().table_name(&name).send().await {
                    Ok(answer) => Ok(answer.table().and_then(|t| table(t, account_id, region))),
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|e| e.is_resource_not_found_exception()) =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(ApiFailure::new(SERVICE, "DescribeTable", e)),
                }
            })
            .buffered(DESCRIBE_CONCURRENCY)
            .collect()
            .await;
    let mut tables = Vec::new();
    for t in described {
        tables.extend(t?);
    }

    let ids = tables.iter().map(|t| t.id.clone()).collect();
    let (tags, failure) = tags_of(ids, |arn| async move { table_tags(client, arn).await }).await;
    for (table, tags) in tables.iter_mut().zip(tags) {
        table.tags = tags.unwrap_or_default();
    }
    Ok(ServiceRead {
        inventory: Inventory { dynamodb_tables: tables, ..Default::default() },
        warnings: failure.into_iter().collect(),
    })
}

/// ListTagsOfResource pages by NextToken and has no paginator.
async fn table_tags(client: &Client, arn: String) -> Result<Tags, ApiFailure> {
    let mut out = Tags::new();
    let mut token: Option<String> = None;
    loop {
        let answer = client
            .list_tags_of_resource()
            .resource_arn(&arn)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(fail(SERVICE, "ListTagsOfResource"))?;
        out.extend(answer.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())));
        match non_empty(answer.next_token()) {
            Some(next) => token = Some(next),
            None => return Ok(out),
        }
    }
}

/// Billing mode from BillingModeSummary; a table without one has always been provisioned.
pub(crate) fn table(
    t: &ddb::TableDescription,
    account_id: &str,
    region: &str,
) -> Option<DynamoDbTable> {
    let name = non_empty(t.table_name())?;
    let billing_mode = match t.billing_mode_summary().and_then(|b| b.billing_mode()) {
        Some(ddb::BillingMode::PayPerRequest) => BillingMode::PayPerRequest,
        _ => BillingMode::Provisioned,
    };
    let throughput = t.provisioned_throughput();
    Some(DynamoDbTable {
        id: non_empty(t.table_arn()).unwrap_or_else(|| {
            format!("arn:{}:dynamodb:{region}:{account_id}:table/{name}", partition(region))
        }),
        account_id: account_id.to_string(),
        region: region.to_string(),
        billing_mode,
        read_capacity: count(throughput.and_then(|p| p.read_capacity_units())),
        write_capacity: count(throughput.and_then(|p| p.write_capacity_units())),
        size_bytes: count(t.table_size_bytes()),
        item_count: count(t.item_count()),
        status: t.table_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
        create_time: t.creation_date_time().and_then(to_chrono),
        tags: Tags::new(),
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throughput(read: i64, write: i64) -> ddb::ProvisionedThroughputDescription {
        ddb::ProvisionedThroughputDescription::builder()
            .read_capacity_units(read)
            .write_capacity_units(write)
            .build()
    }

    #[test]
    fn a_table_without_a_billing_summary_is_provisioned() {
        let t = ddb::TableDescription::builder()
            .table_name("orders")
            .table_arn("arn:aws:dynamodb:us-east-1:1:table/orders")
            .table_status(ddb::TableStatus::Active)
            .provisioned_throughput(throughput(100, 20))
            .table_size_bytes(5_000_000)
            .item_count(1234)
            .build();
        let d = table(&t, "1", "us-east-1").unwrap();
        assert_eq!(d.id, "arn:aws:dynamodb:us-east-1:1:table/orders");
        assert_eq!(d.billing_mode, BillingMode::Provisioned);
        assert_eq!((d.read_capacity, d.write_capacity), (100, 20));
        assert_eq!((d.size_bytes, d.item_count, d.status.as_str()), (5_000_000, 1234, "ACTIVE"));
    }

    #[test]
    fn on_demand_tables_say_so_and_have_no_capacity() {
        let t = ddb::TableDescription::builder()
            .table_name("events")
            .billing_mode_summary(
                ddb::BillingModeSummary::builder()
                    .billing_mode(ddb::BillingMode::PayPerRequest)
                    .build(),
            )
            .provisioned_throughput(throughput(0, 0))
            .build();
        let d = table(&t, "1", "eu-west-1").unwrap();
        assert_eq!(d.billing_mode, BillingMode::PayPerRequest);
        assert_eq!((d.read_capacity, d.write_capacity), (0, 0));
        assert_eq!(d.id, "arn:aws:dynamodb:eu-west-1:1:table/events");
        let explicit = ddb::TableDescription::builder()
            .table_name("p")
            .billing_mode_summary(
                ddb::BillingModeSummary::builder()
                    .billing_mode(ddb::BillingMode::Provisioned)
                    .build(),
            )
            .build();
        assert_eq!(
            table(&explicit, "1", "eu-west-1").unwrap().billing_mode,
            BillingMode::Provisioned
        );
    }
}
