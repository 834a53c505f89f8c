//! Athena answers kept on disk: every query is billed by the bytes it scans, and the dashboard
//! and each command read the same table again and again.
//!
//! An answer is reused when the query text and the table's version (what GetTableMetadata says:
//! columns, partition keys, parameters, times) are the same and it is younger than the TTL
//! (`[aws] cache_ttl_hours`, default 6 h). Why not the latest partition alone: AWS Data Exports
//! rewrite the current month's partition several times a day without adding one, so the newest
//! partition's name would keep a stale month for weeks; and finding it is a query of its own.
//! The TTL bounds how stale a month can be; `--refresh` (`--no-cache`) asks again.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::query::Answer;
use crate::source::aws::cache::Cache;

#[derive(PartialEq, Serialize, Deserialize)]
struct Request {
    sql: String,
    table_version: String,
}

/// The answer cache under `$COSTSCOPE_CACHE_DIR/athena`, else
/// `$XDG_CACHE_HOME/costscope/athena`, else `~/.cache/costscope/athena`.
pub struct AnswerCache {
    cache: Cache,
}

impl AnswerCache {
    pub fn new(ttl: Duration, refresh: bool) -> AnswerCache {
        AnswerCache { cache: Cache::new(default_dir(), ttl, refresh, chrono::Utc::now()) }
    }

    pub fn get(&self, table: &str, sql: &str, table_version: &str) -> Option<Answer> {
        let request = Request { sql: sql.to_string(), table_version: table_version.to_string() };
        self.cache.get(&key(table, &request), &request)
    }

    pub fn put(&self, table: &str, sql: &str, table_version: &str, answer: &Answer) {
        let request = Request { sql: sql.to_string(), table_version: table_version.to_string() };
        self.cache.put(&key(table, &request), &request, answer);
    }
}

/// The table's name and a hash of the request: a short file name; the entry holds the request
/// itself, so a collision is a miss, never a wrong answer.
fn key(table: &str, request: &Request) -> String {
    // FNV-1a: stable across runs and builds, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in request.sql.bytes().chain([0]).chain(request.table_version.bytes()) {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("athena_{table}_{hash:016x}")
}

fn default_dir() -> Option<PathBuf> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = env("COSTSCOPE_CACHE_DIR") {
        return Some(dir.join("athena"));
    }
    let base = env("XDG_CACHE_HOME").or_else(|| env("HOME").map(|h| h.join(".cache")))?;
    Some(base.join("costscope").join("athena"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_query_and_table_version() {
        let r = |sql: &str, v: &str| Request { sql: sql.into(), table_version: v.into() };
        let a = key("db.t", &r("SELECT 1", "v1"));
        assert_eq!(a, key("db.t", &r("SELECT 1", "v1")));
        assert_ne!(a, key("db.t", &r("SELECT 2", "v1")));
        assert_ne!(a, key("db.t", &r("SELECT 1", "v2")));
        assert!(a.starts_with("athena_db.t_"), "{a}");
    }
}
