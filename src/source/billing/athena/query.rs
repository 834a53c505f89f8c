//! One Athena query, start to rows: StartQueryExecution, GetQueryExecution polled with backoff
//! until a final state (StopQueryExecution past the timeout), then GetQueryResults page by
//! page — or, for an answer of more than one page, the result file Athena wrote to S3 (one
//! GetObject instead of a call per 1,000 rows), when it can be read and agrees with the first
//! page. The table's columns come from GetTableMetadata, which is free and runs no query.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Buf;

use aws_sdk_athena::Client;
use aws_sdk_athena::error::DisplayErrorContext;
use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState, ResultConfiguration};
use serde::{Deserialize, Serialize};

/// The catalog AWS Data Exports' tables live in.
const CATALOG: &str = "AwsDataCatalog";

/// Polling starts fast (most billing queries take seconds) and backs off to this.
const FIRST_POLL: Duration = Duration::from_millis(100);
const LONGEST_POLL: Duration = Duration::from_secs(2);

/// Where and how long a query runs.
#[derive(Clone, Debug)]
pub struct Target {
    pub database: String,
    pub workgroup: Option<String>,
    pub output_location: Option<String>,
    pub timeout: Duration,
}

/// A finished query's rows as text (Athena answers every type as text), with its header.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub header: Vec<String>,
    /// `None`: SQL NULL.
    pub rows: Vec<Vec<Option<String>>>,
    /// Statistics.DataScannedInBytes: what the query is billed on.
    pub scanned_bytes: u64,
}

/// What GetTableMetadata says of a table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableInfo {
    /// Column names, lowercase, partition keys included.
    pub columns: Vec<String>,
    /// What changes when the table or its partitions are redefined (column types, partition
    /// keys, the table parameters such as `transient_lastDdlTime`, times): half of the cache key.
    pub version: String,
}

/// The table's columns and version, from GetTableMetadata.
pub async fn table_info(client: &Client, database: &str, table: &str) -> Result<TableInfo, String> {
    let out = client
        .get_table_metadata()
        .catalog_name(CATALOG)
        .database_name(database)
        .table_name(table)
        .send()
        .await
        .map_err(|e| format!("GetTableMetadata: {}", DisplayErrorContext(e)))?;
    let meta = out.table_metadata().ok_or("GetTableMetadata: no TableMetadata in the answer")?;
    let all = meta.columns().iter().chain(meta.partition_keys());
    let columns = all.clone().map(|c| c.name().to_ascii_lowercase()).collect();
    let typed: Vec<(String, String)> =
        all.map(|c| (c.name().to_string(), c.r#type().unwrap_or_default().to_string())).collect();
    let parameters: BTreeMap<&String, &String> =
        meta.parameters().map(|p| p.iter().collect()).unwrap_or_default();
    let version = serde_json::json!({
        "columns": typed,
        "partition_keys": meta.partition_keys().iter().map(|c| c.name()).collect::<Vec<_>>(),
        "parameters": parameters,
        "create_time": meta.create_time().map(|t| t.secs()),
        "last_access_time": meta.last_access_time().map(|t| t.secs()),
    })
    .to_string();
    Ok(TableInfo { columns, version })
}

/// Runs `sql` and reads all its rows (`s3` reads the result file of a long answer).
pub async fn run(
    client: &Client,
    s3: &aws_sdk_s3::Client,
    sql: &str,
    target: &Target,
) -> Result<Answer, String> {
    let start = client
        .start_query_execution()
        .query_string(sql)
        .query_execution_context(
            QueryExecutionContext::builder().database(&target.database).build(),
        )
        .set_work_group(target.workgroup.clone())
        .set_result_configuration(
            target
                .output_location
                .as_ref()
                .map(|o| ResultConfiguration::builder().output_location(o).build()),
        )
        .send()
        .await
        .map_err(|e| format!("StartQueryExecution: {}", DisplayErrorContext(e)))?;
    let id = start.query_execution_id().ok_or("StartQueryExecution: no QueryExecutionId")?;
    let (scanned_bytes, result_file) = wait(client, id, target.timeout).await?;
    let mut answer = results(client, s3, id, result_file.as_deref()).await?;
    answer.scanned_bytes = scanned_bytes;
    Ok(answer)
}

/// Polls until the query succeeds (its bytes scanned and result file) or fails (why); past
/// `timeout` the query is stopped, so it does not go on scanning, and billing, for nobody.
async fn wait(
    client: &Client,
    id: &str,
    timeout: Duration,
) -> Result<(u64, Option<String>), String> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut pause = FIRST_POLL;
    loop {
        let out = client
            .get_query_execution()
            .query_execution_id(id)
            .send()
            .await
            .map_err(|e| format!("GetQueryExecution: {}", DisplayErrorContext(e)))?;
        let execution = out.query_execution();
        let status = execution.and_then(|e| e.status());
        let state = status.and_then(|s| s.state()).cloned();
        let reason = status.and_then(|s| s.state_change_reason()).unwrap_or("no reason given");
        match state {
            Some(QueryExecutionState::Succeeded) => {
                let scanned = execution
                    .and_then(|e| e.statistics())
                    .and_then(|s| s.data_scanned_in_bytes())
                    .unwrap_or(0);
                let file = execution
                    .and_then(|e| e.result_configuration())
                    .and_then(|r| r.output_location())
                    .map(str::to_string);
                return Ok((u64::try_from(scanned).unwrap_or(0), file));
            }
            Some(QueryExecutionState::Failed) => {
                return Err(format!("query {id} FAILED: {reason}"));
            }
            Some(QueryExecutionState::Cancelled) => {
                return Err(format!("query {id} CANCELLED: {reason}"));
            }
            _ => {}
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            let shown = state.as_ref().map_or("in an unknown state", |s| s.as_str());
            let stopped = match client.stop_query_execution().query_execution_id(id).send().await {
                Ok(_) => "stopped it".to_string(),
                Err(e) => format!("StopQueryExecution failed: {}", DisplayErrorContext(e)),
            };
            return Err(format!(
                "query {id} still {shown} after the {} s timeout (--athena-timeout): {stopped}",
                timeout.as_secs()
            ));
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(LONGEST_POLL);
    }
}

/// One page of results: its rows and the next page's token.
async fn page(
    client: &Client,
    id: &str,
    token: Option<String>,
) -> Result<(Vec<Vec<Option<String>>>, Option<String>), String> {
    let out = client
        .get_query_results()
        .query_execution_id(id)
        .set_next_token(token)
        .send()
        .await
        .map_err(|e| format!("GetQueryResults: {}", DisplayErrorContext(e)))?;
    let rows = out.result_set().map(|r| r.rows()).unwrap_or_default();
    let rows = rows
        .iter()
        .map(|row| row.data().iter().map(|d| d.var_char_value().map(str::to_string)).collect())
        .collect();
    let next = out.next_token().filter(|t| !t.is_empty()).map(str::to_string);
    Ok((rows, next))
}

/// Every row; the first row of the first page is the header.
async fn results(
    client: &Client,
    s3: &aws_sdk_s3::Client,
    id: &str,
    result_file: Option<&str>,
) -> Result<Answer, String> {
    let (mut rows, mut next) = page(client, id, None).await?;
    let header: Vec<String> = if rows.is_empty() {
        Vec::new()
    } else {
        rows.remove(0).into_iter().map(Option::unwrap_or_default).collect()
    };
    if next.is_some()
        && let Some(file) = result_file
    {
        match from_result_file(s3, file, &header, &rows).await {
            Ok(all) => return Ok(Answer { header, rows: all, scanned_bytes: 0 }),
            Err(e) => tracing::debug!(file, error = %e, "reading the results page by page"),
        }
    }
    while let Some(token) = next.take() {
        let (more, after) = page(client, id, Some(token)).await?;
        rows.extend(more);
        next = after;
    }
    Ok(Answer { header, rows, scanned_bytes: 0 })
}

/// The rows of Athena's result file (`s3://bucket/key.csv`, RFC 4180 with NULL as an empty
/// unquoted field), if its header and first rows are the first page's.
async fn from_result_file(
    s3: &aws_sdk_s3::Client,
    file: &str,
    header: &[String],
    first_page: &[Vec<Option<String>>],
) -> Result<Vec<Vec<Option<String>>>, String> {
    let (bucket, key) = file
        .strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
        .ok_or_else(|| format!("{file}: not an s3:// location"))?;
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| format!("GetObject: {}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    let body = object.body.collect().await.map_err(|e| format!("GetObject body: {e}"))?;
    let mut csv = ::csv::ReaderBuilder::new().has_headers(false).from_reader(body.reader());
    // An empty cell is NULL or an empty text: the ledger reads both as empty.
    fn blank(cell: &Option<String>) -> Option<&str> {
        cell.as_deref().filter(|c| !c.is_empty())
    }
    let mut records = csv.records();
    let first = records.next().ok_or("an empty result file")?.map_err(|e| e.to_string())?;
    if first.iter().ne(header.iter().map(String::as_str)) {
        return Err("its header is not the first page's".to_string());
    }
    let mut rows: Vec<Vec<Option<String>>> = Vec::new();
    for record in records {
        let record = record.map_err(|e| e.to_string())?;
        rows.push(record.iter().map(|c| (!c.is_empty()).then(|| c.to_string())).collect());
    }
    let agrees = rows.len() >= first_page.len()
        && rows.iter().zip(first_page).all(|(a, b)| a.iter().map(blank).eq(b.iter().map(blank)));
    if !agrees {
        return Err("its rows are not the first page's".to_string());
    }
    Ok(rows)
}
