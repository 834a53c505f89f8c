//! Suppressions: findings a user chose to ignore, each with a reason, kept in a human-editable
//! TOML file that the dashboard writes (the `i` key) and `costscope report` honours.
//!
//! ```toml
//! # costscope suppressions: findings to leave out of reports.
//! [[suppression]]
//! rule_id = "ec2-idle"            # "*" suppresses every rule for the resource
//! resource_id = "i-0abc"
//! reason = "batch host, busy at month end"
//! created = "2026-11-27T10:00:00Z"
//! expires = "2027-01-01T00:00:00Z"  # optional; from this instant the entry no longer applies
//! ```
//!
//! Timestamps are RFC 3339, as strings or TOML offset date-times; any offset is accepted and
//! stored as UTC. Reading is strict, so a typo cannot silently un-suppress or over-suppress
//! anything: an unknown key, a missing field, a bad timestamp or a duplicate entry is an error
//! naming the file and line. [`Suppressions::save`] rewrites the whole file: entries sorted by
//! `(resource_id, rule_id)`, the standard header, and no other comments.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::Deserialize;
use toml::Spanned;

use crate::export::lock::{LockError, OutputLock};
use crate::export::{ExportError, plain_text, write_atomic};

/// A `rule_id` that suppresses every rule for the resource.
pub const ANY_RULE: &str = "*";

/// The comment block written at the top of the file.
const HEADER: &str = "\
# costscope suppressions: findings to leave out of reports.
#
# Each [[suppression]] names a rule_id (\"*\" for every rule) and a resource_id, with the reason
# it is ignored, when it was created and, optionally, when it expires (RFC 3339 timestamps in
# UTC, e.g. \"2027-01-01T00:00:00Z\"); an expired entry no longer applies.
# costscope rewrites this file when suppressions change: entries are kept sorted and comments
# other than this header are not preserved.
";

/// One ignored finding (or, with `rule_id = "*"`, every finding for a resource).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression {
    /// The rule it silences, or [`ANY_RULE`].
    pub rule_id: String,
    /// The resource it applies to (always one resource; there is no resource wildcard).
    pub resource_id: String,
    /// Why the finding is ignored: non-empty, free of control characters.
    pub reason: String,
    /// When the suppression was made.
    pub created: DateTime<Utc>,
    /// From this instant on the suppression no longer applies; `None` means never.
    pub expires: Option<DateTime<Utc>>,
}

impl Suppression {
    /// Whether the entry is in force at `now` (it is not once `now` reaches `expires`).
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_none_or(|expires| now < expires)
    }

    /// Whether the entry names this finding, directly or through the [`ANY_RULE`] wildcard.
    pub fn covers(&self, rule_id: &str, resource_id: &str) -> bool {
        self.resource_id == resource_id && (self.rule_id == rule_id || self.rule_id == ANY_RULE)
    }

    fn key(&self) -> (&str, &str) {
        (&self.resource_id, &self.rule_id)
    }
}

/// The suppressions file, loaded in memory; see the module documentation for its format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppressions {
    path: PathBuf,
    /// Always sorted by `(resource_id, rule_id)`, with no two entries for the same pair.
    entries: Vec<Suppression>,
}

/// Why suppressions could not be read, changed or written.
#[derive(Debug, thiserror::Error)]
pub enum SuppressionError {
    /// The file (or its directory) could not be read or created.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file is not a valid suppressions file.
    #[error("{path}:{line}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the problem.
        line: usize,
        /// What is wrong, and what was expected.
        message: String,
    },
    /// Writing the file failed (the previous file, if any, is left as it was).
    #[error(transparent)]
    Write(#[from] ExportError),
    /// Another process kept the file's lock for longer than the wait allowed.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// [`Suppressions::add`] was given a reason that is empty once cleaned and trimmed.
    #[error("a suppression needs a reason")]
    EmptyReason,
    /// [`Suppressions::add`] was given a rule or resource id that cannot be suppressed.
    #[error("cannot suppress {field} {value:?}: {why}")]
    InvalidId {
        /// `rule_id` or `resource_id`.
        field: &'static str,
        /// The id as given.
        value: String,
        /// Why it was refused.
        why: &'static str,
    },
}

impl Suppressions {
    /// `$XDG_DATA_HOME/costscope/suppressions.toml`, else
    /// `~/.local/share/costscope/suppressions.toml`; `None` when neither variable gives an
    /// absolute directory (the XDG specification says relative values are to be ignored).
    pub fn default_path() -> Option<PathBuf> {
        data_path(std::env::var_os("XDG_DATA_HOME"), std::env::var_os("HOME"))
    }

    /// Reads the file at `path`. A missing file is an empty set, saved to `path` later; any
    /// other read failure, or a malformed file, is an error naming the file (and line).
    pub fn load(path: &Path) -> Result<Suppressions, SuppressionError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Suppressions::parse(&text, path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Ok(Suppressions { path: path.to_path_buf(), entries: Vec::new() })
            }
            Err(source) => Err(SuppressionError::Io { path: path.to_path_buf(), source }),
        }
    }

    /// Parses the text of a suppressions file; `path` is where it came from and where
    /// [`save`](Suppressions::save) writes.
    pub fn parse(text: &str, path: &Path) -> Result<Suppressions, SuppressionError> {
        // An editor's byte-order mark is not content; it is one character on line 1.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let invalid = |at: usize, message: String| SuppressionError::Invalid {
            path: path.to_path_buf(),
            line: line_of(text, at),
            message,
        };
        let file: RawFile = toml::from_str(text).map_err(|e| {
            invalid(e.span().map_or(0, |s| s.start), e.message().trim_end().to_string())
        })?;

        let mut entries: Vec<(usize, Suppression)> = Vec::with_capacity(file.suppression.len());
        for raw in file.suppression {
            let at = raw.span().start;
            let entry = raw.into_inner().validate(at, &invalid)?;
            if let Some((first, _)) = entries.iter().find(|(_, e)| e.key() == entry.key()) {
                return Err(invalid(
                    at,
                    format!(
                        "duplicate suppression of rule {:?} for resource {:?} (first on line {})",
                        entry.rule_id,
                        entry.resource_id,
                        line_of(text, *first)
                    ),
                ));
            }
            entries.push((at, entry));
        }
        let mut entries: Vec<Suppression> = entries.into_iter().map(|(_, e)| e).collect();
        entries.sort_by(|a, b| a.key().cmp(&b.key()));
        Ok(Suppressions { path: path.to_path_buf(), entries })
    }

    /// Every entry, expired ones included, sorted by `(resource_id, rule_id)`.
    pub fn entries(&self) -> &[Suppression] {
        &self.entries
    }

    /// The file these suppressions are read from and saved to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the finding is suppressed at `now` (expired entries don't count), and by which
    /// entry: one naming the rule is preferred over a `"*"` one for the same resource.
    pub fn matches(
        &self,
        rule_id: &str,
        resource_id: &str,
        now: DateTime<Utc>,
    ) -> Option<&Suppression> {
        let active = |e: &&Suppression| e.is_active(now) && e.covers(rule_id, resource_id);
        let mut covering = self.entries.iter().filter(active);
        let first = covering.next()?;
        if first.rule_id == rule_id {
            return Some(first);
        }
        covering.find(|e| e.rule_id == rule_id).or(Some(first))
    }

    /// Adds an entry created at `now` (to the second), or replaces the reason of the entry for
    /// the same `(rule_id, resource_id)`. Replacing keeps the entry's creation time and expiry,
    /// unless it had already expired, in which case it is renewed: created at `now`, no expiry.
    ///
    /// The reason has its control characters (escape sequences included) replaced by spaces
    /// ([`plain_text`]) and is trimmed; it must not end up empty. `rule_id` may be `"*"` (every
    /// rule); ids are kept exactly as given, but must not be blank, and `resource_id` must not
    /// be `"*"`. Nothing is written until [`save`](Suppressions::save).
    pub fn add(
        &mut self,
        rule_id: &str,
        resource_id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), SuppressionError> {
        check_ids(rule_id, resource_id).map_err(|(field, value, why)| {
            SuppressionError::InvalidId { field, value: value.to_string(), why }
        })?;
        let reason = clean_reason(reason).ok_or(SuppressionError::EmptyReason)?;
        let now = now.trunc_subsecs(0);
        let key = (resource_id, rule_id);
        match self.entries.binary_search_by(|e| e.key().cmp(&key)) {
            Ok(i) => {
                let entry = &mut self.entries[i];
                entry.reason = reason;
                if !entry.is_active(now) {
                    entry.created = now;
                    entry.expires = None;
                }
            }
            Err(i) => self.entries.insert(
                i,
                Suppression {
                    rule_id: rule_id.to_string(),
                    resource_id: resource_id.to_string(),
                    reason,
                    created: now,
                    expires: None,
                },
            ),
        }
        Ok(())
    }

    /// Removes the entry for exactly this `(rule_id, resource_id)` (a `"*"` entry is removed
    /// only by passing `"*"`); returns whether there was one.
    pub fn remove(&mut self, rule_id: &str, resource_id: &str) -> bool {
        let key = (resource_id, rule_id);
        match self.entries.binary_search_by(|e| e.key().cmp(&key)) {
            Ok(i) => {
                self.entries.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    /// Loads the file at `path`, applies `change` and saves the result, holding the file's lock
    /// (`<path>.lock`, the same advisory lock as exports) from the read to the rename, so two
    /// dashboards suppressing at the same moment both land instead of the later save dropping
    /// the earlier one's entry. Waits up to `timeout` for another holder. Nothing is written
    /// when `change` fails.
    pub fn edit<T>(
        path: &Path,
        timeout: std::time::Duration,
        change: impl FnOnce(&mut Suppressions) -> Result<T, SuppressionError>,
    ) -> Result<T, SuppressionError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)
                .map_err(|source| SuppressionError::Io { path: dir.to_path_buf(), source })?;
        }
        let _lock = OutputLock::acquire(path, timeout)?;
        let mut set = Suppressions::load(path)?;
        let result = change(&mut set)?;
        set.save()?;
        Ok(result)
    }

    /// Writes the file atomically with [`write_atomic`] (temp file + rename, so a failure leaves
    /// the previous file whole), creating the parent directory (mode 0700) if needed. Entries are
    /// written sorted by `(resource_id, rule_id)` so the file diffs cleanly; the whole file is
    /// rewritten, so hand-written comments are not kept.
    pub fn save(&self) -> Result<(), SuppressionError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)
                .map_err(|source| SuppressionError::Io { path: dir.to_path_buf(), source })?;
        }
        write_atomic(&self.path, |out| self.render(out))?;
        Ok(())
    }

    /// The file's text, as [`save`](Suppressions::save) writes it.
    pub fn render(&self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(HEADER.as_bytes())?;
        let mut sorted: Vec<&Suppression> = self.entries.iter().collect();
        sorted.sort_by(|a, b| a.key().cmp(&b.key()));
        for e in sorted {
            writeln!(out)?;
            writeln!(out, "[[suppression]]")?;
            writeln!(out, "rule_id = {}", toml_string(&e.rule_id))?;
            writeln!(out, "resource_id = {}", toml_string(&e.resource_id))?;
            writeln!(out, "reason = {}", toml_string(&e.reason))?;
            writeln!(out, "created = \"{}\"", timestamp(e.created))?;
            if let Some(expires) = e.expires {
                writeln!(out, "expires = \"{}\"", timestamp(expires))?;
            }
        }
        Ok(())
    }
}

/// The file as TOML gives it; fields are optional here so a missing one is reported with the
/// line of its `[[suppression]]` header, and values are spanned to report their own line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    suppression: Vec<Spanned<RawEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    rule_id: Option<Spanned<String>>,
    resource_id: Option<Spanned<String>>,
    reason: Option<Spanned<String>>,
    created: Option<Spanned<toml::Value>>,
    expires: Option<Spanned<toml::Value>>,
}

impl RawEntry {
    /// Checks one entry; `at` is the offset of its header, `invalid` builds a located error.
    fn validate(
        self,
        at: usize,
        invalid: &impl Fn(usize, String) -> SuppressionError,
    ) -> Result<Suppression, SuppressionError> {
        let missing = |field: &str| invalid(at, format!("this [[suppression]] has no `{field}`"));
        let rule_id = self.rule_id.ok_or_else(|| missing("rule_id"))?;
        let resource_id = self.resource_id.ok_or_else(|| missing("resource_id"))?;
        let reason = self.reason.ok_or_else(|| missing("reason"))?;
        let created = self.created.ok_or_else(|| missing("created"))?;

        if let Err((field, _, why)) = check_ids(rule_id.get_ref(), resource_id.get_ref()) {
            let span = if field == "rule_id" { rule_id.span() } else { resource_id.span() };
            return Err(invalid(span.start, format!("`{field}` {why}")));
        }
        let clean = clean_reason(reason.get_ref()).ok_or_else(|| {
            invalid(reason.span().start, "`reason` must not be empty".to_string())
        })?;
        let time = |field: &str, value: &Spanned<toml::Value>| {
            parse_time(value.get_ref())
                .map_err(|why| invalid(value.span().start, format!("`{field}` {why}")))
        };
        let created_at = time("created", &created)?;
        let expires = self.expires.as_ref().map(|v| time("expires", v)).transpose()?;
        Ok(Suppression {
            rule_id: rule_id.into_inner(),
            resource_id: resource_id.into_inner(),
            reason: clean,
            created: created_at,
            expires,
        })
    }
}

/// [`Suppressions::default_path`] for the given `XDG_DATA_HOME` and `HOME` values.
fn data_path(xdg_data_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let absolute = |value: Option<OsString>| value.map(PathBuf::from).filter(|p| p.is_absolute());
    let base = absolute(xdg_data_home)
        .or_else(|| absolute(home).map(|home| home.join(".local").join("share")))?;
    Some(base.join("costscope").join("suppressions.toml"))
}

/// Rejects ids that could never match a finding, returning `(field, value, why)`.
fn check_ids<'a>(
    rule_id: &'a str,
    resource_id: &'a str,
) -> Result<(), (&'static str, &'a str, &'static str)> {
    if rule_id.trim().is_empty() {
        return Err(("rule_id", rule_id, "must not be empty"));
    }
    if resource_id.trim().is_empty() {
        return Err(("resource_id", resource_id, "must not be empty"));
    }
    if resource_id == "*" {
        return Err((
            "resource_id",
            resource_id,
            "must name one resource (\"*\" is a wildcard only for rule_id)",
        ));
    }
    Ok(())
}

/// The reason with control characters replaced and surrounding space trimmed; `None` if empty.
fn clean_reason(reason: &str) -> Option<String> {
    let clean = plain_text(reason);
    let trimmed = clean.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// An RFC 3339 timestamp, from a TOML string or offset date-time.
fn parse_time(value: &toml::Value) -> Result<DateTime<Utc>, String> {
    const EXPECTED: &str = "must be an RFC 3339 timestamp such as \"2026-11-27T10:00:00Z\"";
    let text = match value {
        toml::Value::String(s) => s.trim().to_string(),
        toml::Value::Datetime(d) if d.offset.is_some() && d.date.is_some() && d.time.is_some() => {
            d.to_string()
        }
        toml::Value::Datetime(d) => {
            return Err(format!("{EXPECTED}, with a date, a time and an offset (got {d})"));
        }
        other => return Err(format!("{EXPECTED}, not a {}", other.type_str())),
    };
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{EXPECTED} ({text:?}: {e})"))
}

/// RFC 3339 in UTC, `Z`-suffixed, with fractional seconds only when there are some.
fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A TOML basic string: one line, with quotes, backslashes and control characters escaped.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The 1-based line holding byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Creates `dir` and any missing parents, private to the user (0700) on Unix; an existing
/// directory is left as it is.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 10, 0, 0).unwrap()
    }

    fn temp_files(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    fn invalid_line(result: Result<Suppressions, SuppressionError>) -> (usize, String) {
        match result {
            Err(e @ SuppressionError::Invalid { line, .. }) => (line, e.to_string()),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn round_trip_add_save_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("suppressions.toml");
        let mut s = Suppressions::load(&path).unwrap();
        let now = at(2026, 11, 27) + chrono::Duration::nanoseconds(123_456_789);
        s.add("ec2-idle", "i-0abc", "batch host, busy at month end", now).unwrap();
        s.add("*", "vol-9", "kept for \"legal\" hold \\ audit", now).unwrap();
        s.add("ebs-unattached", "vol-1", "ünïcode réason — ok", now).unwrap();
        s.save().unwrap();

        let loaded = Suppressions::load(&path).unwrap();
        assert_eq!(loaded, s);
        assert_eq!(loaded.path(), path);
        let keys: Vec<_> =
            loaded.entries().iter().map(|e| (e.resource_id.as_str(), e.rule_id.as_str())).collect();
        assert_eq!(keys, [("i-0abc", "ec2-idle"), ("vol-1", "ebs-unattached"), ("vol-9", "*")]);
        assert_eq!(loaded.entries()[0].created, at(2026, 11, 27), "created is kept to the second");

        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# costscope suppressions: findings to leave out of reports.\n"));
        assert!(text.contains("created = \"2026-11-27T10:00:00Z\"\n"), "{text}");
        assert!(temp_files(dir.path()).is_empty(), "no temp file left behind");
    }

    #[test]
    fn round_trip_of_a_hand_written_file() {
        let text = "\
# my notes
[[suppression]]
rule_id = \"rds-idle\"
resource_id = \"db-2\"
reason = \"  staging  \"
created = 2026-11-27T11:00:00+01:00
expires = \"2027-01-01T00:00:00.5Z\"

[[suppression]]
resource_id = \"db-1\"
rule_id = \"*\"
reason = 'literal \\ string'
created = \"2026-11-01T00:00:00Z\"
";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(&path, text).unwrap();
        let s = Suppressions::load(&path).unwrap();
        assert_eq!(s.entries().len(), 2);
        assert_eq!(s.entries()[0].resource_id, "db-1");
        assert_eq!(s.entries()[0].reason, "literal \\ string");
        let db2 = &s.entries()[1];
        assert_eq!(db2.reason, "staging");
        assert_eq!(db2.created, at(2026, 11, 27));
        assert_eq!(
            db2.expires,
            Some(
                Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()
                    + chrono::Duration::milliseconds(500)
            )
        );
        s.save().unwrap();
        let rewritten = std::fs::read_to_string(&path).unwrap();
        assert!(!rewritten.contains("my notes"), "the file is rewritten");
        assert!(rewritten.contains("expires = \"2027-01-01T00:00:00.500Z\"\n"), "{rewritten}");
        assert_eq!(Suppressions::load(&path).unwrap(), s);
    }

    #[test]
    fn wildcard_rule_suppresses_every_rule_for_that_resource_only() {
        let mut s = Suppressions::load(Path::new("/nonexistent/costscope/s.toml")).unwrap();
        let now = at(2026, 11, 27);
        s.add("*", "i-0abc", "decommissioning next week", now).unwrap();
        assert!(s.matches("ec2-idle", "i-0abc", now).is_some());
        assert!(s.matches("ec2-rightsize", "i-0abc", now).is_some());
        assert!(s.matches("ec2-idle", "i-0abcd", now).is_none());
        assert!(s.matches("ec2-idle", "I-0ABC", now).is_none(), "ids match exactly");

        // A rule-specific entry wins over the wildcard, whatever the sort order.
        s.add("ec2-idle", "i-0abc", "specific", now).unwrap();
        assert_eq!(s.matches("ec2-idle", "i-0abc", now).unwrap().reason, "specific");
        assert_eq!(
            s.matches("ec2-rightsize", "i-0abc", now).unwrap().reason,
            "decommissioning next week"
        );
    }

    #[test]
    fn expired_entries_do_not_match() {
        let text = "\
[[suppression]]
rule_id = \"ec2-idle\"
resource_id = \"i-1\"
reason = \"until new year\"
created = \"2026-11-27T10:00:00Z\"
expires = \"2027-01-01T00:00:00Z\"

[[suppression]]
rule_id = \"*\"
resource_id = \"i-1\"
reason = \"old wildcard\"
created = \"2026-01-01T00:00:00Z\"
expires = \"2026-06-01T00:00:00Z\"
";
        let s = Suppressions::parse(text, Path::new("s.toml")).unwrap();
        let new_year = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        let before = new_year - chrono::Duration::seconds(1);
        assert_eq!(s.matches("ec2-idle", "i-1", before).unwrap().reason, "until new year");
        assert!(s.matches("ec2-idle", "i-1", new_year).is_none(), "expiry is exclusive");
        assert!(s.matches("ebs-idle", "i-1", at(2026, 5, 1)).is_some());
        assert!(s.matches("ebs-idle", "i-1", at(2026, 7, 1)).is_none());
        assert_eq!(s.entries().len(), 2, "expired entries stay in the file");
    }

    #[test]
    fn re_adding_replaces_the_reason() {
        let mut s = Suppressions::load(Path::new("/nonexistent/s.toml")).unwrap();
        s.add("ec2-idle", "i-1", "first", at(2026, 11, 1)).unwrap();
        s.add("ec2-idle", "i-1", "second", at(2026, 11, 27)).unwrap();
        assert_eq!(s.entries().len(), 1);
        assert_eq!(s.entries()[0].reason, "second");
        assert_eq!(s.entries()[0].created, at(2026, 11, 1), "a live entry keeps its creation");
    }

    #[test]
    fn re_adding_an_expired_entry_renews_it() {
        let text = "[[suppression]]\nrule_id = \"r\"\nresource_id = \"x\"\nreason = \"old\"\n\
                    created = \"2026-01-01T00:00:00Z\"\nexpires = \"2026-02-01T00:00:00Z\"\n";
        let mut s = Suppressions::parse(text, Path::new("s.toml")).unwrap();
        let now = at(2026, 11, 27);
        assert!(s.matches("r", "x", now).is_none());
        s.add("r", "x", "again", now).unwrap();
        assert_eq!(s.matches("r", "x", now).unwrap().reason, "again");
        assert_eq!(s.entries()[0].created, now);
        assert_eq!(s.entries()[0].expires, None);
    }

    #[test]
    fn remove_takes_out_exactly_one_entry() {
        let mut s = Suppressions::load(Path::new("/nonexistent/s.toml")).unwrap();
        let now = at(2026, 11, 27);
        s.add("ec2-idle", "i-1", "a", now).unwrap();
        s.add("*", "i-1", "b", now).unwrap();
        assert!(s.remove("ec2-idle", "i-1"));
        assert!(!s.remove("ec2-idle", "i-1"), "already gone");
        assert!(!s.remove("ec2-idle", "i-2"));
        assert_eq!(s.entries().len(), 1);
        assert_eq!(s.matches("ec2-idle", "i-1", now).unwrap().reason, "b", "wildcard remains");
        assert!(s.remove("*", "i-1"));
        assert!(s.entries().is_empty());
    }

    #[test]
    fn missing_file_is_an_empty_set() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent").join("suppressions.toml");
        let s = Suppressions::load(&path).unwrap();
        assert!(s.entries().is_empty());
        assert_eq!(s.path(), path);
        assert!(!path.exists(), "loading creates nothing");
    }

    #[test]
    fn unreadable_path_is_an_io_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = Suppressions::load(dir.path()).unwrap_err();
        assert!(matches!(err, SuppressionError::Io { .. }), "{err:?}");
        assert!(err.to_string().contains(&dir.path().display().to_string()));
    }

    #[test]
    fn missing_reason_names_file_and_line() {
        let text = "\
# costscope suppressions
[[suppression]]
rule_id = \"ec2-idle\"
resource_id = \"i-0abc\"
reason = \"ok\"
created = \"2026-11-27T10:00:00Z\"

[[suppression]]
rule_id = \"ec2-idle\"
resource_id = \"i-0def\"
created = \"2026-11-27T10:00:00Z\"
";
        let (line, message) = invalid_line(Suppressions::parse(text, Path::new("/x/s.toml")));
        assert_eq!(line, 8, "the header of the entry missing its reason");
        assert_eq!(message, "/x/s.toml:8: this [[suppression]] has no `reason`");
    }

    #[test]
    fn malformed_values_name_their_line() {
        let p = Path::new("s.toml");
        let entry = |extra: &str| {
            format!(
                "[[suppression]]\nrule_id = \"r\"\nresource_id = \"x\"\nreason = \"why\"\n{extra}\n"
            )
        };
        // Line 5 in each case: the offending value.
        for (extra, needle) in [
            ("created = \"yesterday\"", "RFC 3339"),
            ("created = 2026-11-27T10:00:00", "offset"),
            ("created = 42", "not a integer"),
            ("created = \"2026-11-27T10:00:00Z\"\nexpirs = \"2027-01-01T00:00:00Z\"", "expirs"),
        ] {
            let (line, message) = invalid_line(Suppressions::parse(&entry(extra), p));
            let want = if extra.contains("expirs") { 6 } else { 5 };
            assert_eq!(line, want, "{message}");
            assert!(message.starts_with(&format!("s.toml:{want}: ")), "{message}");
            assert!(message.contains(needle), "{message}");
        }
        // Plain TOML syntax errors, unknown tables and blank / wildcard ids.
        let (line, _) = invalid_line(Suppressions::parse("\n\n[[suppression]\n", p));
        assert_eq!(line, 3);
        let (line, message) = invalid_line(Suppressions::parse("\n[[suppresion]]\n", p));
        assert_eq!(line, 2);
        assert!(message.contains("suppresion"), "{message}");
        let blank = "[[suppression]]\nrule_id = \"r\"\nresource_id = \" \"\nreason = \"w\"\n\
                     created = \"2026-11-27T10:00:00Z\"\n";
        assert_eq!(invalid_line(Suppressions::parse(blank, p)).0, 3);
        let star = blank.replace("\" \"", "\"*\"");
        assert_eq!(invalid_line(Suppressions::parse(&star, p)).0, 3);
        let empty_reason =
            entry("created = \"2026-11-27T10:00:00Z\"").replace("\"why\"", "\"\\u001b\"");
        assert_eq!(invalid_line(Suppressions::parse(&empty_reason, p)).0, 4);
    }

    #[test]
    fn duplicate_entries_are_rejected() {
        let one = "[[suppression]]\nrule_id = \"r\"\nresource_id = \"x\"\nreason = \"w\"\n\
                   created = \"2026-11-27T10:00:00Z\"\n";
        let text = format!("{one}\n{one}");
        let (line, message) = invalid_line(Suppressions::parse(&text, Path::new("s.toml")));
        assert_eq!(line, 7);
        assert!(message.contains("first on line 1"), "{message}");
    }

    #[test]
    fn reasons_are_sanitized_and_must_not_be_empty() {
        let mut s = Suppressions::load(Path::new("/nonexistent/s.toml")).unwrap();
        let now = at(2026, 11, 27);
        s.add("r", "x", "\u{1b}[31mred\u{1b}[0m\nalert\u{7}\u{202E} ", now).unwrap();
        let reason = &s.entries()[0].reason;
        assert_eq!(reason, "[31mred [0m alert");
        assert!(!reason.chars().any(char::is_control));

        for empty in ["", "   ", "\n\t", "\u{1b}"] {
            assert!(matches!(s.add("r", "y", empty, now), Err(SuppressionError::EmptyReason)));
        }
        assert!(matches!(
            s.add("", "y", "why", now),
            Err(SuppressionError::InvalidId { field: "rule_id", .. })
        ));
        assert!(matches!(
            s.add("r", "*", "why", now),
            Err(SuppressionError::InvalidId { field: "resource_id", .. })
        ));
        assert_eq!(s.entries().len(), 1, "rejected adds change nothing");

        // A hand-written escape in the file is cleaned on load too.
        let text = "[[suppression]]\nrule_id = \"r\"\nresource_id = \"x\"\n\
                    reason = \"a\\u001b]0;pwned\\u0007b\"\ncreated = \"2026-11-27T10:00:00Z\"\n";
        let s = Suppressions::parse(text, Path::new("s.toml")).unwrap();
        assert_eq!(s.entries()[0].reason, "a ]0;pwned b");
    }

    #[test]
    fn odd_ids_are_escaped_and_survive_a_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        let mut s = Suppressions::load(&path).unwrap();
        let weird = "arn:aws:x/\"quoted\"\\path\tand\u{1}ctl";
        s.add("r", weird, "why", at(2026, 11, 27)).unwrap();
        s.save().unwrap();
        let loaded = Suppressions::load(&path).unwrap();
        assert_eq!(loaded.entries()[0].resource_id, weird);
        let text = std::fs::read_to_string(&path).unwrap();
        let line = r#"resource_id = "arn:aws:x/\"quoted\"\\path\tand\u0001ctl""#;
        assert!(text.lines().any(|l| l == line), "{text}");
    }

    #[test]
    fn concurrent_edits_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("s.toml");
        std::thread::scope(|scope| {
            for t in 0..6 {
                let path = &path;
                scope.spawn(move || {
                    for i in 0..10 {
                        Suppressions::edit(path, std::time::Duration::from_secs(30), |set| {
                            set.add("ec2-idle", &format!("i-{t}-{i}"), "busy", at(2026, 11, 27))
                        })
                        .unwrap();
                    }
                });
            }
        });
        let set = Suppressions::load(&path).unwrap();
        assert_eq!(set.entries().len(), 60, "an edit was lost to a concurrent one");
        assert!(!crate::export::lock::lock_path(&path).exists(), "the lock file is removed");
        assert!(temp_files(path.parent().unwrap()).is_empty());
    }

    #[test]
    fn a_failed_change_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(&path, "# hand-written\n").unwrap();
        let err = Suppressions::edit(&path, std::time::Duration::ZERO, |set| {
            set.add("ec2-idle", "i-1", "   ", at(2026, 11, 27))
        })
        .unwrap_err();
        assert!(matches!(err, SuppressionError::EmptyReason), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# hand-written\n");
    }

    #[test]
    fn save_creates_a_private_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("costscope").join("suppressions.toml");
        let mut s = Suppressions::load(&path).unwrap();
        s.add("r", "x", "why", at(2026, 11, 27)).unwrap();
        s.save().unwrap();
        assert_eq!(Suppressions::load(&path).unwrap(), s);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let parent = path.parent().unwrap();
            let mode = std::fs::metadata(parent).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        assert!(temp_files(path.parent().unwrap()).is_empty());
    }

    #[test]
    fn save_of_an_empty_set_writes_only_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        Suppressions::load(&path).unwrap().save().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), HEADER);
        assert!(Suppressions::load(&path).unwrap().entries().is_empty());
    }

    #[test]
    fn save_fails_cleanly_when_the_directory_cannot_be_made() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "not a directory").unwrap();
        let mut s = Suppressions::parse("", &blocker.join("s.toml")).unwrap();
        s.add("r", "x", "why", at(2026, 11, 27)).unwrap();
        let err = s.save().unwrap_err();
        assert!(matches!(err, SuppressionError::Io { .. }), "{err:?}");
        assert_eq!(std::fs::read_to_string(&blocker).unwrap(), "not a directory");
    }

    /// A writer that fails after `left` bytes, to interrupt a render halfway.
    struct FailAfter<'a> {
        inner: &'a mut dyn Write,
        left: usize,
    }

    impl Write for FailAfter<'_> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.left == 0 {
                return Err(io::Error::other("disk full"));
            }
            let n = buf.len().min(self.left);
            self.left -= n;
            self.inner.write(&buf[..n])
        }
        fn flush(&mut self) -> io::Result<()> {
            self.inner.flush()
        }
    }

    #[test]
    fn a_failed_save_leaves_the_old_file_and_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        let mut s = Suppressions::load(&path).unwrap();
        s.add("r", "x", "first", at(2026, 11, 27)).unwrap();
        s.save().unwrap();
        let before = std::fs::read_to_string(&path).unwrap();

        s.add("r", "y", "second", at(2026, 11, 28)).unwrap();
        let failed = write_atomic(&path, |out| {
            s.render(&mut FailAfter { inner: out, left: HEADER.len() + 40 })
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
        assert!(temp_files(dir.path()).is_empty());

        s.save().unwrap();
        assert_eq!(Suppressions::load(&path).unwrap().entries().len(), 2);
        assert!(temp_files(dir.path()).is_empty());
    }

    #[test]
    fn default_path_follows_xdg_then_home() {
        let os = |s: &str| Some(OsString::from(s));
        assert_eq!(
            data_path(os("/data"), os("/home/u")),
            Some(PathBuf::from("/data/costscope/suppressions.toml"))
        );
        for xdg in [None, os(""), os("relative/dir")] {
            assert_eq!(
                data_path(xdg, os("/home/u")),
                Some(PathBuf::from("/home/u/.local/share/costscope/suppressions.toml"))
            );
        }
        assert_eq!(data_path(None, None), None);
        assert_eq!(data_path(None, os("")), None);
    }

    #[test]
    fn error_messages_name_the_file() {
        let err = SuppressionError::Invalid {
            path: PathBuf::from("/home/u/s.toml"),
            line: 4,
            message: "this [[suppression]] has no `reason`".into(),
        };
        assert_eq!(err.to_string(), "/home/u/s.toml:4: this [[suppression]] has no `reason`");
    }
}
