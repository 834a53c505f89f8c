//! The hostile corpus (tests/fixtures/hostile/README.md) through the real binary: each file
//! gets its documented exit code and message, never a panic, never a signal, never a hang
//! (a generous process timeout, not a timed assertion).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Far beyond any honest run; only a hang reaches it.
const HANG: Duration = Duration::from_secs(300);

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    peak_rss_kib: u64,
}

fn run(dir: &Path, args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_costscope"))
        .args(args)
        .current_dir(dir)
        .env("XDG_CONFIG_HOME", "/nonexistent-costscope-test")
        .env("XDG_DATA_HOME", "/nonexistent-costscope-test")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap());
    let err = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap());
    let start = Instant::now();
    let mut peak_rss_kib = 0;
    let status = loop {
        // The high-water mark, read while the process lives.
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status"))
            && let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:"))
        {
            let kib: u64 = line.split_whitespace().nth(1).unwrap_or("0").parse().unwrap_or(0);
            peak_rss_kib = peak_rss_kib.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > HANG {
            child.kill().unwrap();
            panic!("costscope {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let run = Run {
        code: status.code().unwrap_or_else(|| panic!("{args:?}: killed by a signal: {status}")),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        peak_rss_kib,
    };
    assert!(!run.stderr.contains("panicked"), "{args:?} panicked: {}", run.stderr);
    run
}

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hostile"))
}

#[test]
fn every_checked_in_hostile_file_gets_its_documented_outcome() {
    let cases: &[(&[&str], i32, &str)] = &[
        (&["costs", "--focus", "empty.csv"], 2, "empty.csv:1: empty file"),
        (&["costs", "--focus", "binary.csv"], 2, "binary.csv:1: binary or non-UTF-8"),
        (&["costs", "--focus", "header-only.csv"], 0, ""),
        (&["costs", "--focus", "invalid-utf8.csv"], 2, "invalid-utf8.csv:3: column ServiceName"),
        (&["costs", "--focus", "nul-bytes.csv"], 0, ""),
        (&["costs", "--focus", "unclosed-quote.csv"], 2, "unclosed-quote.csv:2: column"),
        (&["costs", "--focus", "huge-number.csv"], 2, "huge-number.csv:2: column BilledCost"),
        (&["costs", "--focus", "deep-tags.csv"], 2, "deep-tags.csv:3: column Tags"),
        (&["costs", "--focus", "deep-tags-object.csv"], 2, "deep-tags-object.csv:2: column Tags"),
        (&["costs", "--focus", "formula-and-escapes.csv"], 0, ""),
        (&["report", "--snapshot", "wrong-schema.snapshot.json"], 2, "schema_version 999"),
        (&["report", "--snapshot", "no-schema.snapshot.json"], 2, "no schema_version"),
        (
            &["report", "--snapshot", "deep-nesting.snapshot.json"],
            2,
            "deep-nesting.snapshot.json:1:",
        ),
        (&["rules", "check", "rules-deep-cel"], 2, "deep.toml:6: condition:"),
        (&["rules", "check", "rules-deep-unary"], 2, "unary.toml:6: condition:"),
        (
            &["rules", "check", "rules-nested-loops"],
            2,
            "loops.toml:6: condition: invalid CEL expression: comprehensions",
        ),
    ];
    for (args, code, message) in cases {
        let r = run(fixtures(), args);
        assert_eq!(r.code, *code, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(message), "{args:?}: expected {message:?} in {}", r.stderr);
        assert!(!r.stdout.contains('\u{1b}') && !r.stdout.contains('\u{7}'), "{args:?}");
        assert!(!r.stdout.contains('\0'), "{args:?}: NUL on stdout");
    }
    let formula = run(fixtures(), &["costs", "--focus", "formula-and-escapes.csv"]);
    assert!(formula.stdout.contains("\"'=HYPERLINK"), "{}", formula.stdout);
}

#[test]
fn a_huge_single_line_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = std::fs::File::create(dir.path().join("huge-line.csv")).unwrap();
    writeln!(f, "BilledCost,ChargePeriodStart,ServiceName").unwrap();
    writeln!(f, "1,2026-10-01T00:00:00Z,ok").unwrap();
    let block = vec![b'x'; 1 << 20];
    for _ in 0..64 {
        f.write_all(&block).unwrap();
    }
    writeln!(f).unwrap();
    drop(f);
    let r = run(dir.path(), &["costs", "--focus", "huge-line.csv"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("huge-line.csv:3: a record is longer than 16 MiB"), "{}", r.stderr);
    assert!(r.peak_rss_kib < 256 * 1024, "peak RSS {} KiB for a 64 MiB line", r.peak_rss_kib);
}

#[test]
fn a_gzip_bomb_is_bounded_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    // One member of 64 MiB of zeros, concatenated 32 times: 2 GiB inflated, about 2 MiB on disk.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&zeros).unwrap();
    }
    let member = gz.finish().unwrap();
    let mut f = std::fs::File::create(dir.path().join("bomb.csv.gz")).unwrap();
    for _ in 0..32 {
        f.write_all(&member).unwrap();
    }
    drop(f);
    let r = run(dir.path(), &["costs", "--focus", "bomb.csv.gz"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("bomb.csv.gz:1: a record is longer than 16 MiB"), "{}", r.stderr);
    assert!(r.peak_rss_kib < 256 * 1024, "peak RSS {} KiB", r.peak_rss_kib);
}
