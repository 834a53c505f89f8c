//! Cron operations through the real binary: JSON logs with UTC timestamps and no colour
//! without a terminal, and the output lock between overlapping runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use costscope::export::lock::{OutputLock, lock_path};

fn costscope(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_costscope"));
    cmd.current_dir(dir)
        .env("XDG_CONFIG_HOME", "/nonexistent-costscope-test")
        .env("XDG_DATA_HOME", dir)
        .env_remove("RUST_LOG");
    cmd
}

#[test]
fn json_logs_are_one_object_a_line_in_utc_without_colour() {
    let dir = tempfile::tempdir().unwrap();
    let out = costscope(dir.path())
        .args(["report", "--sample", "--log-level", "info", "--log-format", "json"])
        .args(["--out", "findings.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains('\u{1b}'), "no colour without a terminal: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(!lines.is_empty(), "info logs expected");
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let ts = v["timestamp"].as_str().unwrap();
        assert!(ts.ends_with('Z'), "UTC timestamp: {ts}");
        assert!(v["level"].is_string() && v["fields"].is_object(), "{line}");
    }
    let text = costscope(dir.path())
        .args(["report", "--sample", "--log-level", "info", "--out", "findings.csv"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(text.stderr).unwrap();
    assert!(!stderr.contains('\u{1b}'), "{stderr}");
    assert!(
        stderr.lines().all(|l| l.get(..4).is_some_and(|y| y.parse::<u32>().is_ok())),
        "{stderr}"
    );
}

#[test]
fn a_second_run_on_the_same_out_waits_then_gives_up_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("findings.csv");
    std::fs::write(&out, "previous\n").unwrap();
    // This test process plays the first, still-running run.
    let held = OutputLock::acquire(&out, Duration::ZERO).unwrap();
    let second = costscope(dir.path())
        .args(["report", "--sample", "--out", "findings.csv", "--lock-timeout", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("another costscope run"), "{stderr}");
    assert!(stderr.contains(&format!("(pid {})", std::process::id())), "{stderr}");
    assert!(stderr.contains("findings.csv.lock"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "previous\n",
        "the waiting run wrote nothing"
    );
    drop(held);
    let third = costscope(dir.path())
        .args(["report", "--sample", "--out", "findings.csv", "--lock-timeout", "0"])
        .output()
        .unwrap();
    assert_eq!(third.status.code(), Some(0), "{}", String::from_utf8_lossy(&third.stderr));
    assert!(std::fs::read_to_string(&out).unwrap().starts_with("rule_id,"));
    assert!(!lock_path(&out).exists(), "the lock file is removed when the run ends");
}

/// A log collector that died leaves stderr a broken pipe: the run still finishes with its own
/// exit code (never 101, a panic) and its output complete.
#[test]
fn a_broken_stderr_pipe_changes_nothing_but_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        costscope(dir.path()).args(args).stderr(writer).output().unwrap()
    };
    let expected = costscope(dir.path())
        .args(["report", "--sample", "--format", "csv"])
        .output()
        .unwrap()
        .stdout;
    for format in ["text", "json"] {
        let args = ["report", "--sample", "--format", "csv", "--log-level", "debug"];
        let out = run(&[&args[..], &["--log-format", format]].concat());
        assert_eq!(out.status.code(), Some(0), "debug logs in {format} into a broken pipe");
        assert_eq!(out.stdout, expected);
    }
    let gate = run(&["report", "--sample", "--format", "csv", "--fail-on-savings", "1"]);
    assert_eq!(
        gate.status.code(),
        Some(4),
        "the savings gate's message goes nowhere, its code stays"
    );
    let missing = run(&["report", "--focus", "missing.csv"]);
    assert_eq!(missing.status.code(), Some(1), "the error message goes nowhere, its code stays");
    let bad = run(&["report", "--focus", "missing.csv", "--regions"]);
    assert_eq!(bad.status.code(), Some(2), "usage errors keep exit 2");
}

/// An error whose message already ends with its cause's text prints the cause once.
#[test]
fn error_messages_do_not_repeat_their_cause() {
    let dir = tempfile::tempdir().unwrap();
    let out = costscope(dir.path()).args(["report", "--focus", "missing.csv"]).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.matches("No such file or directory").count(), 1, "{stderr}");
    assert!(stderr.starts_with("costscope: error: missing.csv: "), "{stderr}");
}

/// `costscope report … | head` in a CI gate: the reader leaving early is not an error, and the
/// run still ends with its own code (the savings gate's 4), not a blanket 0.
#[test]
fn a_reader_that_stops_early_keeps_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        costscope(dir.path()).args(args).stdout(writer).output().unwrap()
    };
    let gate = run(&["report", "--sample", "--format", "csv", "--fail-on-savings", "1"]);
    assert_eq!(gate.status.code(), Some(4), "{}", String::from_utf8_lossy(&gate.stderr));
    let plain = run(&["costs", "--sample", "--by", "service"]);
    assert_eq!(plain.status.code(), Some(0), "{}", String::from_utf8_lossy(&plain.stderr));
    assert!(plain.stderr.is_empty(), "a closed pipe is not worth a message");
}
