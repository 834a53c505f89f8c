//! A billing read's progress, shared with whoever watches it (the dashboard's loading screen),
//! and the watcher's way to stop it.
//!
//! Counters are atomics updated in batches by the reading threads; the watcher reads them when
//! it draws, so a read never waits for the screen.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

/// Rows and bytes read so far, the bytes to read in all, and a stop request.
#[derive(Debug)]
pub struct ReadProgress {
    rows: AtomicU64,
    /// File bytes read (compressed bytes for a `.gz`), against `total_bytes`.
    bytes: AtomicU64,
    /// 0 when unknown (a stream of unknown length).
    total_bytes: AtomicU64,
    cancelled: AtomicBool,
    started: Instant,
}

impl Default for ReadProgress {
    fn default() -> Self {
        ReadProgress {
            rows: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            total_bytes: AtomicU64::new(0),
            cancelled: AtomicBool::new(false),
            started: Instant::now(),
        }
    }
}

/// What a watcher shows: a consistent-enough copy of the counters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProgressSnapshot {
    pub rows: u64,
    pub bytes: u64,
    pub total_bytes: u64,
    pub elapsed_secs: f64,
}

impl ProgressSnapshot {
    /// Rows per second since the read started.
    pub fn rows_per_sec(&self) -> f64 {
        if self.elapsed_secs > 0.0 { self.rows as f64 / self.elapsed_secs } else { 0.0 }
    }

    /// Share of the bytes read, 0–1; `None` when the total is unknown.
    pub fn fraction(&self) -> Option<f64> {
        (self.total_bytes > 0).then(|| (self.bytes as f64 / self.total_bytes as f64).min(1.0))
    }
}

impl ReadProgress {
    pub fn new() -> Arc<ReadProgress> {
        Arc::new(ReadProgress::default())
    }

    pub fn add_rows(&self, rows: u64) {
        self.rows.fetch_add(rows, Ordering::Relaxed);
    }

    pub fn add_bytes(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn add_total_bytes(&self, bytes: u64) {
        self.total_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Asks the read to stop at its next batch of rows.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    pub fn snapshot(&self) -> ProgressSnapshot {
        ProgressSnapshot {
            rows: self.rows.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            total_bytes: self.total_bytes.load(Ordering::Relaxed),
            elapsed_secs: self.started.elapsed().as_secs_f64(),
        }
    }
}

/// A reader that counts the bytes it hands out into a [`ReadProgress`].
/// Without a watcher it only passes the bytes through.
pub(crate) struct Counted<R> {
    inner: R,
    progress: Option<Arc<ReadProgress>>,
}

impl<R> Counted<R> {
    pub(crate) fn new(inner: R, progress: Option<Arc<ReadProgress>>) -> Counted<R> {
        Counted { inner, progress }
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(progress) = &self.progress {
            progress.add_bytes(n as u64);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_bytes_read_through_it_and_reports_a_fraction() {
        let progress = ReadProgress::new();
        progress.add_total_bytes(10);
        let mut reader = Counted::new(&b"0123456789"[..], Some(progress.clone()));
        let mut buf = [0u8; 4];
        assert_eq!(reader.read(&mut buf).unwrap(), 4);
        progress.add_rows(3);
        let seen = progress.snapshot();
        assert_eq!((seen.rows, seen.bytes, seen.total_bytes), (3, 4, 10));
        assert_eq!(seen.fraction(), Some(0.4));
        assert!(!progress.is_cancelled());
        progress.cancel();
        assert!(progress.is_cancelled());
        assert_eq!(ProgressSnapshot { total_bytes: 0, ..seen }.fraction(), None);
    }
}
