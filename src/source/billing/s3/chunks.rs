//! A Parquet object read where it lies, by ranged GETs: Parquet needs random access (the
//! footer at the end says where each column chunk is), and saving the object to disk first
//! is what the issue rules out.

use std::io::Read;

use bytes::Bytes;
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};

use super::session::{ObjectBody, Session};

/// The object's last bytes, fetched at open: the footer and, when it fits, the metadata it
/// points to, in one GET.
const TAIL: u64 = 64 * 1024;

/// The metadata's length (4 bytes, little-endian) and the magic `PAR1`.
const FOOTER: usize = 8;

/// One S3 object as a Parquet [`ChunkReader`]: `get_bytes` is one ranged GET (or the cached
/// tail), `get_read` a streaming GET from an offset.
pub struct ObjectChunks {
    session: Session,
    bucket: String,
    key: String,
    len: u64,
    tail: Bytes,
    tail_start: u64,
}

impl ObjectChunks {
    /// `len` is the object's size (from the listing).
    pub fn open(session: &Session, bucket: &str, key: &str, len: u64) -> Result<Self, String> {
        let mut tail_start = len.saturating_sub(TAIL);
        let mut tail = session.range(bucket, key, tail_start, len - tail_start)?;
        // The footer ends with the metadata's length: metadata bigger than the tail is fetched
        // whole with one more GET, so the Parquet reader finds all of it here.
        if let Some(footer) = tail.len().checked_sub(FOOTER).and_then(|at| tail.get(at..at + 4)) {
            let mut metadata_len = [0u8; 4];
            metadata_len.copy_from_slice(footer);
            let needed = u64::from(u32::from_le_bytes(metadata_len)) + FOOTER as u64;
            if needed > len - tail_start && needed <= len {
                let start = len - needed;
                let head = session.range(bucket, key, start, tail_start - start)?;
                let mut whole = Vec::with_capacity(needed as usize);
                whole.extend_from_slice(&head);
                whole.extend_from_slice(&tail);
                (tail_start, tail) = (start, Bytes::from(whole));
            }
        }
        Ok(ObjectChunks {
            session: session.clone(),
            bucket: bucket.to_string(),
            key: key.to_string(),
            len,
            tail,
            tail_start,
        })
    }
}

impl Length for ObjectChunks {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for ObjectChunks {
    type T = ChunkRead;

    /// The Parquet reader reads the footer through here: within the tail it costs no request.
    fn get_read(&self, start: u64) -> parquet::errors::Result<ChunkRead> {
        if start >= self.tail_start {
            let from = usize::try_from(start - self.tail_start).unwrap_or(usize::MAX);
            let cached = self.tail.slice(from.min(self.tail.len())..);
            return Ok(ChunkRead::Cached(std::io::Cursor::new(cached)));
        }
        self.session
            .open(&self.bucket, &self.key, Some(start))
            .map(ChunkRead::Streamed)
            .map_err(|e| ParquetError::General(format!("s3://{}/{}: {e}", self.bucket, self.key)))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let end =
            start.checked_add(length as u64).filter(|&end| end <= self.len).ok_or_else(|| {
                ParquetError::EOF(format!(
                    "s3://{}/{}: {length} bytes at offset {start} are past its end ({} bytes)",
                    self.bucket, self.key, self.len
                ))
            })?;
        if start >= self.tail_start {
            let from = (start - self.tail_start) as usize;
            return Ok(self.tail.slice(from..from + (end - start) as usize));
        }
        self.session
            .range(&self.bucket, &self.key, start, length as u64)
            .map_err(|e| ParquetError::General(format!("s3://{}/{}: {e}", self.bucket, self.key)))
    }
}

/// Bytes from an offset: from the cached tail, or streamed by a GET.
pub enum ChunkRead {
    Cached(std::io::Cursor<Bytes>),
    Streamed(ObjectBody),
}

impl Read for ChunkRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            ChunkRead::Cached(cursor) => cursor.read(buf),
            ChunkRead::Streamed(body) => body.read(buf),
        }
    }
}
