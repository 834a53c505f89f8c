//! Reading saved snapshot files (`collect --out` writes them, `--snapshot` reads them).

use std::path::Path;

use serde::Deserialize;

use super::{Result, SourceError};
use crate::model::Snapshot;
use crate::model::snapshot::SCHEMA_VERSION;

/// Reads a snapshot written by `collect` (or by hand, following samples/README.md).
pub fn read_snapshot(path: &Path) -> Result<Snapshot> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| SourceError::Io { path: path.to_path_buf(), source })?;
    parse_snapshot(&text, path)
}

/// Parses snapshot JSON; `path` is only used in messages. Errors carry the line and column.
pub fn parse_snapshot(text: &str, path: &Path) -> Result<Snapshot> {
    #[derive(Deserialize)]
    struct Probe {
        schema_version: Option<u64>,
    }
    let probe: Probe = serde_json::from_str(text).map_err(|e| json_error(path, &e))?;
    match probe.schema_version {
        None => {
            return Err(SourceError::File {
                path: path.to_path_buf(),
                message: "not a costscope snapshot: no schema_version".to_string(),
            });
        }
        Some(v) if v != u64::from(SCHEMA_VERSION) => {
            return Err(SourceError::File {
                path: path.to_path_buf(),
                message: format!(
                    "snapshot schema_version {v} is not supported (this costscope reads {SCHEMA_VERSION})"
                ),
            });
        }
        Some(_) => {}
    }
    let mut snapshot: Snapshot = serde_json::from_str(text).map_err(|e| json_error(path, &e))?;
    snapshot.normalize();
    Ok(snapshot)
}

fn json_error(path: &Path, e: &serde_json::Error) -> SourceError {
    SourceError::Row {
        path: path.to_path_buf(),
        line: e.line() as u64,
        column: e.column().to_string(),
        message: e.to_string(),
    }
}
