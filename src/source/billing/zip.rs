//! Zipped CSV (legacy CUR's ZIP compression): each CSV entry read in turn through the scheme's
//! dialect, its messages naming `archive.zip:entry.csv` and the line.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::Scheme;
use crate::source::focus::{FocusOptions, Ledger};
use crate::source::{Result, SourceError};

/// A local zip archive: every `.csv` entry, in name order.
pub(crate) fn ingest_zip_file(
    ledger: &mut Ledger,
    scheme: Scheme,
    path: &Path,
    options: FocusOptions,
) -> Result<()> {
    let file = std::fs::File::open(path)
        .map_err(|source| SourceError::Io { path: path.to_path_buf(), source })?;
    let mut archive =
        zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| bad_zip(path, &e))?;
    let mut entries: Vec<(String, usize)> = Vec::new();
    for index in 0..archive.len() {
        let entry = archive.by_index(index).map_err(|e| bad_zip(path, &e))?;
        let name = entry.name().map_err(|e| bad_zip(path, &e))?.to_string();
        if !entry.is_dir() && is_csv(&name) {
            entries.push((name, index));
        }
    }
    if entries.is_empty() {
        return Err(no_csv(path));
    }
    entries.sort();
    for (name, index) in entries {
        let entry = archive.by_index(index).map_err(|e| bad_zip(path, &e))?;
        ingest_entry(ledger, scheme, entry, &entry_label(path, &name), options)?;
    }
    Ok(())
}

/// A zip archive read as a stream (an S3 object): every `.csv` entry in archive order, since a
/// stream cannot be sorted without holding it. `name` labels the archive in messages.
pub(crate) fn ingest_zip_reader<R: Read>(
    ledger: &mut Ledger,
    scheme: Scheme,
    mut reader: R,
    name: &Path,
    options: FocusOptions,
) -> Result<()> {
    let mut found = false;
    loop {
        let entry = match zip::read::read_zipfile_from_stream(&mut reader) {
            Ok(Some(entry)) => entry,
            Ok(None) => break,
            Err(e) => return Err(bad_zip(name, &e)),
        };
        let entry_name = entry.name().map_err(|e| bad_zip(name, &e))?.to_string();
        if entry.is_dir() || !is_csv(&entry_name) {
            continue; // the stream reader skips the rest of an entry dropped unread
        }
        found = true;
        ingest_entry(ledger, scheme, entry, &entry_label(name, &entry_name), options)?;
    }
    if found { Ok(()) } else { Err(no_csv(name)) }
}

fn ingest_entry(
    ledger: &mut Ledger,
    scheme: Scheme,
    entry: impl Read,
    label: &Path,
    options: FocusOptions,
) -> Result<()> {
    let reader = Box::new(BufReader::with_capacity(1 << 20, entry));
    super::ingest_csv(ledger, scheme, reader, label, options)
}

fn is_csv(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".csv")
}

fn entry_label(archive: &Path, entry: &str) -> PathBuf {
    PathBuf::from(format!("{}:{entry}", archive.display()))
}

fn bad_zip(path: &Path, e: &zip::result::ZipError) -> SourceError {
    SourceError::File {
        path: path.to_path_buf(),
        message: format!("not a readable zip archive: {e}"),
    }
}

fn no_csv(path: &Path) -> SourceError {
    SourceError::File {
        path: path.to_path_buf(),
        message: "the zip archive holds no .csv entry".to_string(),
    }
}
