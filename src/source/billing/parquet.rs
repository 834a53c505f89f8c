//! Parquet billing files. PLACEHOLDER until the Parquet reader lands (issue 16).

use std::path::Path;

use super::Scheme;
use crate::source::focus::{FocusOptions, Ledger};
use crate::source::{Result, SourceError};

pub(crate) fn ingest_file(
    _ledger: &mut Ledger,
    _scheme: Scheme,
    path: &Path,
    _options: FocusOptions,
) -> Result<()> {
    Err(SourceError::File { path: path.to_path_buf(), message: "Parquet: not built yet".into() })
}
