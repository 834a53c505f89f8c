//! AWS Cost and Usage Reports (legacy CUR and CUR 2.0) mapped to FOCUS.
//! PLACEHOLDER until the CUR mapping lands (issue 16).

use std::path::Path;

use super::{Mapping, Scheme, SourceRow};
use crate::model::Grain;
use crate::source::focus::{Dialect, FocusOptions, Ledger, Record, RowError};
use crate::source::{Result, SourceError};

pub(crate) struct CurMapping;

impl CurMapping {
    pub(crate) fn from_header(_header: &[String], path: &Path) -> Result<CurMapping> {
        Err(SourceError::File { path: path.to_path_buf(), message: "CUR: not built yet".into() })
    }
}

impl Dialect for CurMapping {
    fn escaped_column(&self) -> Option<usize> {
        None
    }

    fn add(&self, _ledger: &mut Ledger, _record: &Record<'_>) -> Result<(), RowError> {
        Ok(())
    }
}

impl Mapping for CurMapping {
    fn needed(&self, _grain: Grain) -> Vec<usize> {
        Vec::new()
    }

    fn add<S: SourceRow>(
        &self,
        _ledger: &mut Ledger,
        _row: &S,
        _file: &str,
        _line: u64,
        _skip_invalid: bool,
    ) -> Result<(), RowError> {
        Ok(())
    }
}

/// A zip archive of CSV files (legacy CUR's ZIP compression), each entry read in turn.
pub(crate) fn ingest_zip_file(
    _ledger: &mut Ledger,
    _scheme: Scheme,
    path: &Path,
    _options: FocusOptions,
) -> Result<()> {
    Err(SourceError::File { path: path.to_path_buf(), message: "zip: not built yet".into() })
}
