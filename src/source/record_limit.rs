//! A cap on the bytes one CSV record may span, so a hostile file (a single 1 GB line, a quoted
//! field that never closes, a gzip bomb with no line breaks) fails with a clear error instead
//! of growing the csv crate's record buffer until the machine runs out of memory.
//!
//! The reader under the csv parser counts the bytes it hands out since the parser last finished
//! a record ([`RecordLimit::record_done`]). The csv reader reads ahead by at most its buffer, so
//! the count overstates the current record by at most that much: the cap is
//! [`MAX_RECORD_BYTES`] plus the read-ahead, and a record under [`MAX_RECORD_BYTES`] always passes.

use std::cell::Cell;
use std::io::{self, Read};

/// The largest record a FOCUS file may hold. Real rows are a few KB (the Tags JSON is the
/// largest field); 16 MiB leaves three orders of magnitude of headroom.
pub const MAX_RECORD_BYTES: u64 = 16 << 20;

/// The error a read returns once the current record is over the cap.
#[derive(Debug, thiserror::Error)]
#[error("a record is longer than {} MiB (a missing line break or an unclosed quote?)", MAX_RECORD_BYTES >> 20)]
pub struct RecordTooLong;

/// Wraps the reader under a `csv::Reader`; see the module comment.
pub struct RecordLimit<R> {
    inner: R,
    since_record: Cell<u64>,
    limit: u64,
}

impl<R> RecordLimit<R> {
    /// `read_ahead` is the csv reader's buffer capacity.
    pub fn new(inner: R, read_ahead: usize) -> RecordLimit<R> {
        RecordLimit {
            inner,
            since_record: Cell::new(0),
            limit: MAX_RECORD_BYTES + read_ahead as u64,
        }
    }

    /// Called after every record the parser returns (through `csv::Reader::get_ref`).
    pub fn record_done(&self) {
        self.since_record.set(0);
    }
}

impl<R: Read> Read for RecordLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let used = self.since_record.get();
        if used >= self.limit {
            return Err(io::Error::new(io::ErrorKind::InvalidData, RecordTooLong));
        }
        let room = usize::try_from(self.limit - used).unwrap_or(usize::MAX).min(buf.len());
        let n = self.inner.read(&mut buf[..room])?;
        self.since_record.set(used + n as u64);
        Ok(n)
    }
}

/// Whether an I/O error is the cap's.
pub fn is_record_too_long(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<RecordTooLong>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_a_record_at_the_cap_and_resets_per_record() {
        let mut r = RecordLimit::new(io::repeat(b'x'), 0);
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        let err = loop {
            match r.read(&mut buf) {
                Ok(n) => total += n as u64,
                Err(e) => break e,
            }
        };
        assert_eq!(total, MAX_RECORD_BYTES);
        assert!(is_record_too_long(&err));
        r.record_done();
        assert_eq!(r.read(&mut buf).unwrap(), buf.len());
    }
}
