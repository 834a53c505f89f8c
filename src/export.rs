//! Exports shared by every command and the dashboard: CSV, JSON, Markdown and Excel
//! workbooks, written atomically, with text made safe for spreadsheets and terminals.

pub mod csv;
pub mod html;
pub mod json;
pub mod lock;
pub mod markdown;
pub mod prometheus;
pub mod xlsx;

use std::fmt;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// What an output must say besides its data: skipped rows and source warnings.
#[derive(Clone, Debug, Default)]
pub struct Notes {
    pub skipped: Option<String>,
    pub warnings: Vec<String>,
}

/// Output format of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Csv,
    Json,
    Markdown,
    /// An Excel workbook (binary): `costs`, `tags`, `report` and `allocate` write one.
    Xlsx,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "markdown" | "md" => Ok(Format::Markdown),
            "xlsx" => Ok(Format::Xlsx),
            other => Err(format!("unknown format {other:?}: expected csv, json, markdown or xlsx")),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Xlsx => "xlsx",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("writing standard output: {0}")]
    Stdout(#[source] io::Error),
}

/// Writes one line to stderr, ignoring failure: a closed or broken stderr (`2>&-`, a log pipe
/// whose reader died) must not turn a finished run into a panic, and there is nowhere left to
/// report it.
pub fn stderr_line(line: fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// Like [`stderr_line`], without the line break (progress lines rewrite themselves).
pub fn stderr_text(text: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(text).and_then(|()| err.flush());
}

/// Writes `render`'s output to `path` atomically, or to standard output when `path` is `None`.
///
/// A file is written to a temporary sibling, flushed to disk and renamed over the target, so a
/// crash or a kill at any moment leaves either the old file or the new one, never a mix.
pub fn write_output(
    path: Option<&Path>,
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), ExportError> {
    match path {
        None => {
            let stdout = io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            match render(&mut out).and_then(|()| out.flush()) {
                // A reader that stopped reading (`costscope … | head`) is not a failure: the
                // run goes on to its own exit code (a partial source's 3, the savings gate's 4).
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                    tracing::debug!("standard output closed by its reader");
                    Ok(())
                }
                other => other.map_err(ExportError::Stdout),
            }
        }
        Some(path) => write_atomic(path, render),
    }
}

/// See [`write_output`].
pub fn write_atomic(
    path: &Path,
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), ExportError> {
    let err = |source| ExportError::Write { path: path.to_path_buf(), source };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    remove_stale_temps(&dir, &name);
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(err)?;
    {
        let mut out = BufWriter::new(temp.as_file());
        render(&mut out).map_err(err)?;
        out.flush().map_err(err)?;
    }
    temp.as_file().sync_all().map_err(err)?;
    set_permissions(temp.path(), path).map_err(err)?;
    temp.persist(path).map_err(|e| err(e.error))?;
    // Make the rename itself durable.
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A temp file older than this was left by a run that was killed mid-write (a live writer's is
/// seconds old, and the output lock keeps writers of one path in turn).
const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Removes `.<name>.*.tmp` files that a killed run left beside the output, so years of cron
/// runs that were occasionally killed do not pile them up. Best effort: any error is ignored.
fn remove_stale_temps(dir: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else { continue };
        if !(file_name.starts_with(&prefix) && file_name.ends_with(".tmp")) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMP_AGE);
        if old && entry.file_type().is_ok_and(|t| t.is_file()) {
            match fs::remove_file(entry.path()) {
                Ok(()) => {
                    tracing::debug!(path = %entry.path().display(), "removed a stale temp file")
                }
                Err(e) => tracing::debug!(path = %entry.path().display(), "stale temp file: {e}"),
            }
        }
    }
}

/// A replaced file keeps its mode; a new one gets 0644 (temp files start at 0600).
fn set_permissions(temp: &Path, target: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(target).map(|m| m.permissions().mode()).unwrap_or(0o644);
        fs::set_permissions(temp, fs::Permissions::from_mode(mode & 0o7777))?;
    }
    #[cfg(not(unix))]
    let _ = (temp, target);
    Ok(())
}

/// Whether a character must never reach an output: C0/C1 controls, DEL, and the bidirectional
/// overrides that can make text display differently from what it is.
pub(crate) fn is_unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Text with every unsafe character replaced by a space (tabs and newlines included), for
/// terminals, Markdown and log lines.
pub fn plain_text(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(is_unsafe_char) {
        std::borrow::Cow::Owned(
            text.chars().map(|c| if is_unsafe_char(c) { ' ' } else { c }).collect(),
        )
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// A text cell for a spreadsheet: unsafe characters removed, and a leading `=`, `+`, `-`, `@`,
/// tab or CR neutralized with a `'` prefix so no spreadsheet runs it as a formula (OWASP CSV
/// injection guidance).
pub fn spreadsheet_text(text: &str) -> String {
    let trigger = text.trim_start_matches(' ').starts_with(['=', '+', '-', '@', '\t', '\r']);
    let clean = plain_text(text);
    if trigger { format!("'{clean}") } else { clean.into_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralizes_formula_triggers() {
        assert_eq!(spreadsheet_text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_text("+1"), "'+1");
        assert_eq!(spreadsheet_text("-2+3"), "'-2+3");
        assert_eq!(spreadsheet_text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_text("\tcmd"), "' cmd");
        assert_eq!(spreadsheet_text("\r=1"), "' =1");
        assert_eq!(spreadsheet_text("  =1"), "'  =1");
        assert_eq!(spreadsheet_text("web"), "web");
        assert_eq!(spreadsheet_text("a-b"), "a-b");
    }

    #[test]
    fn strips_control_characters_and_bidi_overrides() {
        assert_eq!(plain_text("a\u{1b}]0;pwned\u{7}b"), "a ]0;pwned b");
        assert_eq!(plain_text("x\u{202E}y"), "x y");
        assert_eq!(plain_text("line\nbreak"), "line break");
    }

    #[test]
    fn atomic_write_replaces_whole_file_and_keeps_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        std::fs::write(&path, "old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        }
        write_atomic(&path, |w: &mut dyn Write| w.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o640);
        }
        let failed = write_atomic(&path, |w: &mut dyn Write| {
            w.write_all(b"partial")?;
            Err(io::Error::other("boom"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "temp file must be cleaned up");
    }

    #[test]
    fn temp_files_left_by_killed_runs_are_removed_once_stale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let stale = dir.path().join(".out.csv.AbC123.tmp");
        let fresh = dir.path().join(".out.csv.XyZ789.tmp");
        let other = dir.path().join(".other.csv.AbC123.tmp");
        for p in [&stale, &fresh, &other] {
            std::fs::write(p, "partial").unwrap();
        }
        let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        for p in [&stale, &other] {
            let f = std::fs::File::options().write(true).open(p).unwrap();
            f.set_modified(two_hours_ago).unwrap();
        }
        write_atomic(&path, |w: &mut dyn Write| w.write_all(b"new")).unwrap();
        assert!(!stale.exists(), "a stale temp file of this output is removed");
        assert!(fresh.exists(), "a fresh one may belong to a live writer");
        assert!(other.exists(), "another output's temp file is not ours");
    }
}
