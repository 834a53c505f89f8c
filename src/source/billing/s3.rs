//! Billing under an S3 prefix. PLACEHOLDER until the S3 reader lands (issue 16).

use super::{ReadOptions, Scheme};
use crate::source::focus::Ledger;
use crate::source::{Result, SourceError};

/// Reads every billing object under `s3://bucket/prefix` into `ledger`; returns their names.
pub(crate) fn ingest_prefix(
    _ledger: &mut Ledger,
    _scheme: Scheme,
    bucket: &str,
    prefix: &str,
    _options: ReadOptions,
) -> Result<Vec<String>> {
    Err(SourceError::File {
        path: format!("s3://{bucket}/{prefix}").into(),
        message: "S3: not built yet".into(),
    })
}
