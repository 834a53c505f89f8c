//! A local file as a Parquet [`ChunkReader`] that several threads can read at once.
//!
//! `std::fs::File`'s own `ChunkReader` clones the handle and seeks, and clones share one seek
//! position: two threads decoding row groups would read each other's bytes. Positional reads
//! (`pread`) have no shared position.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use parquet::errors::{ParquetError, Result};
use parquet::file::reader::{ChunkReader, Length};

use crate::source::SourceError;

pub(super) struct LocalFile {
    file: Arc<File>,
    len: u64,
}

impl LocalFile {
    pub(super) fn open(path: &Path) -> crate::source::Result<LocalFile> {
        let io = |source| SourceError::Io { path: path.to_path_buf(), source };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        Ok(LocalFile { file: Arc::new(file), len })
    }
}

impl Length for LocalFile {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for LocalFile {
    type T = std::io::BufReader<At>;

    fn get_read(&self, start: u64) -> Result<Self::T> {
        Ok(std::io::BufReader::new(At { file: Arc::clone(&self.file), pos: start }))
    }

    fn get_bytes(&self, start: u64, length: usize) -> Result<Bytes> {
        // A corrupt footer can ask for any length: check it before allocating.
        let end = start.checked_add(length as u64).filter(|end| *end <= self.len);
        if end.is_none() {
            return Err(ParquetError::EOF(format!(
                "{length} bytes at offset {start} are past the end of the file ({} bytes)",
                self.len
            )));
        }
        let mut buffer = vec![0u8; length];
        read_exact_at(&self.file, &mut buffer, start)?;
        Ok(buffer.into())
    }
}

/// A reader at a position of the shared file.
pub(super) struct At {
    file: Arc<File>,
    pos: u64,
}

impl Read for At {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = read_at(&self.file, buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        match read_at(file, buf, offset) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
