//! `--athena [DB.]TABLE`: billing read where it already is. For bills too big for one machine,
//! costscope sends Athena the one GROUP BY its reader would compute at the caller's grain
//! ([`sql`]), runs it ([`query`]), and folds the grouped rows into the same ledger a file fills
//! ([`rows`]); answers are cached ([`cache`]) since every query is billed by bytes scanned.

pub mod cache;
pub mod query;
pub mod rows;
pub mod sql;

use std::time::Duration;

use crate::model::Grain;
use crate::source::aws::client::{self, Timeouts};
use crate::source::focus::Ledger;

/// How long a query may run before it is stopped.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Athena bills 5 USD per TB scanned (us-east-1 and most regions).
const USD_PER_TB: i128 = 5;

/// `[athena]` of the config and the `--athena-*` flags over it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AthenaSettings {
    pub database: Option<String>,
    pub workgroup: Option<String>,
    /// Where Athena writes result files (`s3://…/`); the workgroup's when not given.
    pub output_location: Option<String>,
    pub timeout: Option<Duration>,
    pub months: sql::Months,
    /// Answers are reused this long (`[aws] cache_ttl_hours`); zero: no cache.
    pub cache_ttl: Option<Duration>,
    /// Ask again even when a cached answer is fresh (`--refresh`, `--no-cache`).
    pub refresh: bool,
    /// The AWS profile (the first `--profile`), else the default credential chain.
    pub profile: Option<String>,
    pub timeouts: Timeouts,
}

/// One billing table in Athena.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AthenaTable {
    pub database: String,
    pub table: String,
    pub settings: AthenaSettings,
}

impl AthenaTable {
    /// `arg` is `TABLE` (the database from the settings) or `DB.TABLE`.
    pub fn new(arg: &str, settings: AthenaSettings) -> Result<AthenaTable, String> {
        let (database, table) = match arg.split_once('.') {
            Some((db, table)) => (Some(db.to_string()), table.to_string()),
            None => (settings.database.clone(), arg.to_string()),
        };
        let database = database.filter(|d| !d.trim().is_empty()).ok_or_else(|| {
            format!(
                "{arg}: no database; write DB.TABLE, or give --athena-database or [athena] \
                 database"
            )
        })?;
        if table.trim().is_empty() {
            return Err(format!("{arg}: no table name"));
        }
        Ok(AthenaTable { database, table, settings })
    }

    /// `athena:db.table`, as statuses and messages name it.
    pub fn display(&self) -> String {
        format!("athena:{}.{}", self.database, self.table)
    }
}

/// What reading a table cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub queries: u32,
    pub scanned_bytes: u64,
    pub cached_answers: u32,
}

impl Usage {
    /// The note a status carries, as Cost Explorer's paid requests are told.
    pub fn note(&self) -> String {
        let usd =
            crate::model::Money::from_raw(i128::from(self.scanned_bytes) * USD_PER_TB * 1_000_000);
        format!(
            "Athena: {} quer{} scanned {} bytes ({:.3} GB, {} USD at {USD_PER_TB} USD/TB; Athena \
             bills at least 10 MB a query), {} answer{} from the cache",
            self.queries,
            if self.queries == 1 { "y" } else { "ies" },
            self.scanned_bytes,
            self.scanned_bytes as f64 / 1e9,
            usd.round_dp(4),
            self.cached_answers,
            if self.cached_answers == 1 { "" } else { "s" },
        )
    }
}

/// Reads `table` at `grain` into `ledger`. `Err` says why, for a warning naming the table.
pub(crate) fn ingest(
    ledger: &mut Ledger,
    table: &AthenaTable,
    grain: Grain,
) -> Result<Usage, String> {
    let (kind, answer, usage) = crate::source::block_on_own_runtime(|| fetch(table, grain))??;
    rows::fold(ledger, &answer, kind, &table.display())?;
    Ok(usage)
}

/// The grouped rows of `table` at `grain`, from the cache or from Athena.
async fn fetch(
    table: &AthenaTable,
    grain: Grain,
) -> Result<(sql::TableKind, query::Answer, Usage), String> {
    let s = &table.settings;
    let config = client::load(s.profile.as_deref(), None, s.timeouts).await;
    let client = aws_sdk_athena::Client::new(&config);
    let s3 = crate::source::aws::s3::client(&config);
    let target = query::Target {
        database: table.database.clone(),
        workgroup: s.workgroup.clone(),
        output_location: s.output_location.clone(),
        timeout: s.timeout.unwrap_or(DEFAULT_TIMEOUT),
    };
    let mut usage = Usage::default();
    // GetTableMetadata is free; an Athena without it (moto) is asked information_schema.
    let info = match query::table_info(&client, &table.database, &table.table).await {
        Ok(info) => info,
        Err(e) => {
            tracing::debug!(table = %table.display(), error = %e, "asking information_schema");
            let answer = query::run(
                &client,
                &s3,
                &sql::columns_query(&table.database, &table.table),
                &target,
            )
            .await?;
            usage.queries += 1;
            usage.scanned_bytes += answer.scanned_bytes;
            let columns = answer
                .rows
                .iter()
                .filter_map(|r| r.first()?.as_ref().map(|c| c.to_ascii_lowercase()));
            let columns: Vec<String> = columns.collect();
            let version = columns.join(",");
            query::TableInfo { columns, version }
        }
    };
    let kind = sql::kind_of(&info.columns)?;
    let from = format!("{}.{}", sql::ident(&table.database), sql::ident(&table.table));
    let text = match kind {
        sql::TableKind::Focus => sql::focus_query(&from, &info.columns, grain, &s.months),
        sql::TableKind::Cur => sql::cur_query(&from, &info.columns, grain, &s.months)?,
    };
    let ttl = s.cache_ttl.unwrap_or(crate::source::aws::cache::DEFAULT_TTL);
    let cache = cache::AnswerCache::new(ttl, s.refresh);
    let name = format!("{}.{}", table.database, table.table);
    if let Some(answer) = cache.get(&name, &text, &info.version) {
        usage.cached_answers += 1;
        return Ok((kind, answer, usage));
    }
    tracing::info!(table = %table.display(), sql = %text, "querying Athena");
    let answer = query::run(&client, &s3, &text, &target).await?;
    usage.queries += 1;
    usage.scanned_bytes += answer.scanned_bytes;
    cache.put(&name, &text, &info.version, &answer);
    Ok((kind, answer, usage))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_names_its_database_or_takes_the_configured_one() {
        let with_db = AthenaSettings { database: Some("billing".into()), ..Default::default() };
        let t = AthenaTable::new("focus", with_db.clone()).unwrap();
        assert_eq!(t.display(), "athena:billing.focus");
        let t = AthenaTable::new("other.focus", with_db).unwrap();
        assert_eq!((t.database.as_str(), t.table.as_str()), ("other", "focus"));
        let e = AthenaTable::new("focus", AthenaSettings::default()).unwrap_err();
        assert!(e.contains("--athena-database"), "{e}");
        assert!(AthenaTable::new("db.", AthenaSettings::default()).is_err());
    }

    #[test]
    fn the_note_prices_the_bytes_scanned_at_5_usd_a_terabyte() {
        let usage = Usage { queries: 1, scanned_bytes: 2_000_000_000_000, cached_answers: 0 };
        let note = usage.note();
        assert!(note.contains("1 query scanned 2000000000000 bytes"), "{note}");
        assert!(note.contains("(2000.000 GB, 10 USD at 5 USD/TB"), "{note}");
        let small = Usage { queries: 2, scanned_bytes: 123_456_789, cached_answers: 1 }.note();
        assert!(
            small.contains("2 queries scanned 123456789 bytes (0.123 GB, 0.0006 USD"),
            "{small}"
        );
        assert!(small.contains("1 answer from the cache"), "{small}");
    }
}
