//! A cap on the bytes one CSV record may span, so a hostile file (a single 1 GB line, a quoted
//! field that never closes, a gzip bomb with no line breaks) fails with a clear error instead
//! of growing the tokenizer's buffer until the machine runs out of memory.
//!
//! The tokenizer (source/focus/tokenizer.rs) doubles its buffer only while one record fills it,
//! so the buffer never outgrows twice the largest record; past [`MAX_RECORD_BYTES`] it stops
//! with [`RecordTooLong`].

use std::io;

/// The largest record a FOCUS file may hold. Real rows are a few KB (the Tags JSON is the
/// largest field); 16 MiB leaves three orders of magnitude of headroom.
pub const MAX_RECORD_BYTES: u64 = 16 << 20;

/// The record starting on `line` is over the cap.
#[derive(Debug, thiserror::Error)]
#[error("a record is longer than {} MiB (a missing line break or an unclosed quote?)", MAX_RECORD_BYTES >> 20)]
pub struct RecordTooLong {
    pub line: u64,
}

impl RecordTooLong {
    pub fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }
}

/// The cap's error inside an I/O error, if it is one.
pub fn record_too_long(e: &io::Error) -> Option<&RecordTooLong> {
    e.get_ref().and_then(|inner| inner.downcast_ref::<RecordTooLong>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_survives_the_trip_through_io_error() {
        let e = RecordTooLong { line: 7 }.into_io();
        assert_eq!(record_too_long(&e).map(|r| r.line), Some(7));
        assert!(e.to_string().contains("longer than 16 MiB"));
        assert!(record_too_long(&io::Error::other("x")).is_none());
    }
}
