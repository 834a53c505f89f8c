//! An advisory lock beside an output file (`<out>.lock`), so two overlapping runs (a slow cron
//! job and the next one) that write the same `--out` run one after the other instead of racing.
//!
//! The atomic rename already keeps each file whole; the lock keeps the runs in order, so the
//! file a reader finds is always the newest run's. The lock is the operating system's
//! (`flock` on Unix): it is released when the process ends, however it ends, so a killed run
//! never leaves a stale lock. The lock file holds the holder's process id and is removed when
//! the run ends (on Unix), so output directories stay clean; a waiter that then gets the lock
//! on the removed file sees that the path no longer names it and starts over on a new one.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("locking {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "another costscope run{holder} is writing {out} (lock file {path}); gave up after {waited}s (--lock-timeout)"
    )]
    Busy { out: PathBuf, path: PathBuf, holder: String, waited: u64 },
}

/// Held for as long as the value lives.
#[derive(Debug)]
pub struct OutputLock {
    file: File,
    path: PathBuf,
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Removed while still locked; the lock goes with the file handle right after.
        #[cfg(unix)]
        let _ = std::fs::remove_file(&self.path);
        let _ = &self.file;
    }
}

/// Whether `path` still names the open `file` (it does not once a previous holder removed it).
fn still_named(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

/// `<out>.lock`.
pub fn lock_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "output".into());
    name.push(".lock");
    out.with_file_name(name)
}

/// How often a waiting run tries again.
const POLL: Duration = Duration::from_millis(100);

impl OutputLock {
    /// Takes the lock for `out`, waiting up to `timeout` for a run that holds it.
    pub fn acquire(out: &Path, timeout: Duration) -> Result<OutputLock, LockError> {
        let path = lock_path(out);
        let io = |source| LockError::Io { path: path.clone(), source };
        let open =
            || OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path);
        let mut file = open().map_err(io)?;
        let start = Instant::now();
        let mut announced = false;
        loop {
            match file.try_lock() {
                Ok(()) if still_named(&file, &path) => break,
                // The previous holder removed this file as it finished: lock the current one.
                Ok(()) => file = open().map_err(io)?,
                Err(TryLockError::WouldBlock) => {
                    let waited = start.elapsed();
                    if waited >= timeout {
                        return Err(LockError::Busy {
                            out: out.to_path_buf(),
                            path: path.clone(),
                            holder: holder(&mut file),
                            waited: waited.as_secs(),
                        });
                    }
                    if !announced {
                        tracing::warn!(
                            lock = %path.display(),
                            "another run{} is writing {}; waiting up to {}s",
                            holder(&mut file),
                            out.display(),
                            timeout.as_secs()
                        );
                        announced = true;
                    }
                    std::thread::sleep(POLL.min(timeout.saturating_sub(waited)));
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        // Best effort: the pid only helps a person reading the message of a waiting run.
        let _ = file.set_len(0).and_then(|()| {
            file.rewind()?;
            writeln!(file, "{}", std::process::id())
        });
        Ok(OutputLock { file, path })
    }
}

/// " (pid N)" from the lock file, or nothing when it holds no number.
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let read = file.rewind().and_then(|()| file.take(32).read_to_string(&mut text));
    match read.ok().and_then(|_| text.trim().parse::<u32>().ok()) {
        Some(pid) => format!(" (pid {pid})"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_path_is_beside_the_output() {
        assert_eq!(lock_path(Path::new("/a/b/out.csv")), Path::new("/a/b/out.csv.lock"));
        assert_eq!(lock_path(Path::new("out.csv")), Path::new("out.csv.lock"));
    }

    #[test]
    fn a_second_holder_waits_then_gives_up_naming_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.csv");
        let first = OutputLock::acquire(&out, Duration::ZERO).unwrap();
        let err = OutputLock::acquire(&out, Duration::from_millis(250)).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, LockError::Busy { .. }), "{message}");
        assert!(message.contains(&format!("(pid {})", std::process::id())), "{message}");
        assert!(message.contains("out.csv.lock"), "{message}");
        drop(first);
        assert!(!lock_path(&out).exists(), "the lock file goes with the lock");
        let again = OutputLock::acquire(&out, Duration::ZERO).unwrap();
        assert!(lock_path(&out).exists());
        drop(again);
    }
}
