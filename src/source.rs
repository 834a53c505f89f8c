//! Sources: everything that reads outside data and turns it into model types.

pub mod aws;
pub mod billing;
pub mod focus;
pub mod kube;
pub mod progress;
pub mod prometheus;
pub mod record_limit;
pub mod snapshot_file;

use std::path::PathBuf;

/// Why a source could not be read. Every variant names the file; row errors name the line and
/// the column, so a user can open the file at the right place.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file as a whole is unusable: empty, binary, truncated, missing a required column.
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    /// One row (or the header, line 1) is malformed; `column` is empty when no single column
    /// is at fault.
    #[error("{path}:{line}: {}", located(.column, .message))]
    Row { path: PathBuf, line: u64, column: String, message: String },
    /// A Kubernetes API request failed or answered something unusable; `url` says which.
    #[error("{url}: {message}")]
    Api { url: String, message: String },
    /// No usable kubeconfig, context or in-cluster configuration.
    #[error("kubeconfig: {message}")]
    KubeConfig { message: String },
    /// The user stopped the read (the dashboard's `q` while loading).
    #[error("read cancelled")]
    Cancelled,
    /// Amazon Athena could not answer for a billing table (`athena:db.table`): the API failed,
    /// or the query failed, was cancelled or ran past its timeout.
    #[error("{table}: {message}")]
    Athena { table: String, message: String },
}

fn located(column: &str, message: &str) -> String {
    if column.is_empty() { message.to_string() } else { format!("column {column}: {message}") }
}

impl SourceError {
    /// Whether the error is the input's fault (exit 2) rather than the machine's (exit 1).
    pub fn is_bad_input(&self) -> bool {
        match self {
            SourceError::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
            ),
            SourceError::File { .. } | SourceError::Row { .. } => true,
            // A missing context is the user's to fix; a failing API server is not.
            SourceError::KubeConfig { .. } => true,
            SourceError::Api { .. } | SourceError::Athena { .. } | SourceError::Cancelled => false,
        }
    }
}

pub type Result<T, E = SourceError> = std::result::Result<T, E>;

/// Percent-encodes everything but RFC 3986's unreserved characters: query and form values
/// (Kubernetes continue tokens, PromQL) and cache file names.
pub(crate) fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + value.len() / 4);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Runs the future `make` builds to completion on a thread and current-thread runtime of its
/// own, so the async readers (kube, AWS, Prometheus) can be called from synchronous code
/// anywhere, also from inside tokio. `Err` says why it could not run: no runtime, or the reader
/// panicked.
pub fn block_on_own_runtime<F: std::future::Future>(
    make: impl FnOnce() -> F + Send,
) -> std::result::Result<F::Output, String>
where
    F::Output: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("no async runtime: {e}"))?;
            Ok(runtime.block_on(make()))
        })
        .join()
        .unwrap_or_else(|_| Err("the reader panicked".to_string()))
    })
}
