//! A disk cache for paid API answers (Cost Explorer bills every request): one JSON file per
//! request under `$XDG_CACHE_HOME/costscope/` (else `~/.cache/costscope/`), valid for a TTL.
//!
//! A cache that cannot be read or written only costs money, never correctness: every failure is
//! a debug log and a fresh request.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// How long a Cost Explorer answer is reused: its data changes a few times a day.
pub const DEFAULT_TTL: Duration = Duration::from_secs(6 * 3600);

#[derive(Serialize, Deserialize)]
struct Entry<R, A> {
    created_at: DateTime<Utc>,
    request: R,
    answer: A,
}

#[derive(Clone, Debug)]
pub struct Cache {
    dir: Option<PathBuf>,
    ttl: Duration,
    /// `--refresh`: ask again, but keep what the new answers say.
    refresh: bool,
    now: DateTime<Utc>,
}

impl Cache {
    /// The cache under `dir` (`None`: the XDG default; no home directory: no cache).
    pub fn new(dir: Option<PathBuf>, ttl: Duration, refresh: bool, now: DateTime<Utc>) -> Cache {
        Cache { dir: dir.or_else(default_dir), ttl, refresh, now }
    }

    /// No cache at all (tests, or a TTL of zero).
    pub fn disabled() -> Cache {
        Cache { dir: None, ttl: Duration::ZERO, refresh: true, now: Utc::now() }
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        Some(self.dir.as_ref()?.join(format!("{}.json", file_name(key))))
    }

    /// The cached answer to `request`, if one younger than the TTL was stored for exactly it.
    pub fn get<R, A>(&self, key: &str, request: &R) -> Option<A>
    where
        R: Serialize + DeserializeOwned + PartialEq,
        A: DeserializeOwned,
    {
        if self.refresh || self.ttl.is_zero() {
            return None;
        }
        let path = self.path(key)?;
        let text = std::fs::read(&path).ok()?;
        let entry: Entry<R, A> = match serde_json::from_slice(&text) {
            Ok(e) => e,
            Err(e) => {
                tracing::debug!(path = %path.display(), error = %e, "unreadable cache entry ignored");
                return None;
            }
        };
        let age = self.now.signed_duration_since(entry.created_at).to_std().ok()?;
        (entry.request == *request && age < self.ttl).then_some(entry.answer)
    }

    pub fn put<R: Serialize, A: Serialize>(&self, key: &str, request: &R, answer: &A) {
        let Some(path) = self.path(key) else { return };
        let entry = Entry { created_at: self.now, request, answer };
        let write = || -> std::io::Result<()> {
            let dir = path.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir)?;
            let mut file = tempfile::NamedTempFile::new_in(dir)?;
            serde_json::to_writer(&mut file, &entry)?;
            file.as_file().sync_all()?;
            file.persist(&path).map_err(|e| e.error)?;
            Ok(())
        };
        if let Err(e) = write() {
            tracing::debug!(path = %path.display(), error = %e, "could not write cache entry");
        }
    }
}

fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| Path::new(&h).join(".cache"))
        })?;
    Some(base.join("costscope").join("cost-explorer"))
}

/// Tag keys are free text: anything but unreserved characters becomes `%XX`, so a key never
/// leaves the cache directory and two keys never share a file.
fn file_name(key: &str) -> String {
    crate::source::percent_encode(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_reused_within_the_ttl_only_for_the_same_request() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let cache = Cache::new(Some(dir.path().to_path_buf()), DEFAULT_TTL, false, now);
        let request = "request".to_string();
        cache.put("k", &request, &vec![1, 2, 3]);
        assert_eq!(cache.get::<String, Vec<i32>>("k", &request), Some(vec![1, 2, 3]));
        assert_eq!(cache.get::<String, Vec<i32>>("k", &"other request".to_string()), None);
        assert_eq!(cache.get::<String, Vec<i32>>("missing", &request), None);

        let later = now + chrono::Duration::hours(7);
        let stale = Cache::new(Some(dir.path().to_path_buf()), DEFAULT_TTL, false, later);
        assert_eq!(stale.get::<String, Vec<i32>>("k", &request), None);
        let refresh = Cache::new(Some(dir.path().to_path_buf()), DEFAULT_TTL, true, now);
        assert_eq!(refresh.get::<String, Vec<i32>>("k", &request), None);
    }

    #[test]
    fn file_names_are_safe_and_distinct() {
        assert_eq!(file_name("111_2026-11-01_TAG:team"), "111_2026-11-01_TAG%3Ateam");
        assert_ne!(file_name("a/b"), file_name("a_b"));
        assert!(!file_name("../../etc/passwd").contains('/'));
    }
}
