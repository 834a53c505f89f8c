//! SIGKILL at any moment during an export never loses the previous file: `--out` writes a temp
//! file beside it and renames it over the old one, so after every kill the file is either the
//! old content or the complete new content, byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn costscope(out: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_costscope"));
    cmd.args(["report", "--sample", "--format", "json", "--quiet", "--out"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// A small deterministic generator, so a failing kill point can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn killing_an_export_at_random_points_keeps_the_old_file_or_writes_the_new_one_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");

    // The complete new content, and how long a whole run takes here (to spread the kills over).
    let started = Instant::now();
    assert!(costscope(&out).status().unwrap().success());
    let run = started.elapsed();
    let complete = std::fs::read(&out).unwrap();
    assert!(complete.len() > 10_000, "the export should take a while to write");

    let previous = b"{\"previous\": \"report\"}\n".to_vec();
    let mut rng = Lcg(0x5eed);
    let mut outcomes = (0, 0);
    for round in 0..30 {
        std::fs::write(&out, &previous).unwrap();
        let mut child = costscope(&out).spawn().unwrap();
        // Kill points from the start to a little past the end of a typical run.
        let wait = run.mul_f64((rng.next() % 1200) as f64 / 1000.0);
        std::thread::sleep(wait.min(Duration::from_secs(10)));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let now = std::fs::read(&out).unwrap();
        if now == previous {
            outcomes.0 += 1;
        } else {
            assert_eq!(
                now.len(),
                complete.len(),
                "round {round} (kill after {wait:?}): a partial file replaced the old one"
            );
            assert!(now == complete, "round {round}: the new file differs from a complete run");
            outcomes.1 += 1;
        }
    }
    // Both outcomes happened at least once, or the kills missed the write altogether.
    assert!(
        outcomes.0 > 0 && outcomes.1 > 0,
        "old kept {} times, new written {}",
        outcomes.0,
        outcomes.1
    );
}

/// The suppressions file the dashboard writes (`i` key) goes through `Suppressions::edit`:
/// lock, read, add, write a temp file, rename. This child keeps adding entries `i-000000`,
/// `i-000001`, … (continuing from what the file holds) until it is killed.
const SAVE_LOOP_PATH: &str = "COSTSCOPE_TEST_SUPPRESSIONS_LOOP";

/// A long reason, so each save writes over a hundred kilobytes and kills land mid-write.
fn reason(i: usize) -> String {
    format!("entry {i}: {}", "kept for the kill test; ".repeat(8))
}

fn resource(i: usize) -> String {
    format!("i-{i:06}")
}

#[test]
#[ignore = "the child process of suppressions_file_survives_sigkill_at_random_points"]
fn suppressions_save_loop_child() {
    use costscope::suppressions::Suppressions;
    let path = std::path::PathBuf::from(std::env::var_os(SAVE_LOOP_PATH).unwrap());
    let start = Suppressions::load(&path).unwrap().entries().len();
    for i in start.. {
        Suppressions::edit(&path, Duration::from_secs(30), |set| {
            set.add("ec2-idle", &resource(i), &reason(i), chrono::Utc::now())
        })
        .unwrap();
    }
}

#[test]
fn suppressions_file_survives_sigkill_at_random_points() {
    use costscope::suppressions::Suppressions;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("suppressions.toml");
    let seed = 500;
    Suppressions::edit(&path, Duration::ZERO, |set| {
        for i in 0..seed {
            set.add("ec2-idle", &resource(i), &reason(i), chrono::Utc::now())?;
        }
        Ok(())
    })
    .unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > 100_000);

    let mut rng = Lcg(0x5a7e);
    let mut held = seed;
    let mut grew = 0;
    for round in 0..30 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "suppressions_save_loop_child", "--ignored", "--nocapture"])
            .env(SAVE_LOOP_PATH, &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // From before the first save ends (the child is still starting) to many saves in.
        std::thread::sleep(Duration::from_millis(rng.next() % 1_500));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();

        let set = Suppressions::load(&path)
            .unwrap_or_else(|e| panic!("round {round}: the file no longer parses: {e}"));
        let ids: Vec<&str> = set.entries().iter().map(|e| e.resource_id.as_str()).collect();
        let expected: Vec<String> = (0..ids.len()).map(resource).collect();
        assert_eq!(ids, expected, "round {round}: entries lost or out of order");
        assert!(ids.len() >= held, "round {round}: {} entries, {held} before the kill", ids.len());
        for (i, entry) in set.entries().iter().enumerate() {
            assert_eq!(entry.reason, reason(i).trim(), "round {round}: entry {i} damaged");
        }
        if ids.len() > held {
            grew += 1;
        }
        held = ids.len();
    }
    // The kills landed while the child was saving, not only before it started.
    assert!(grew > 0, "no round saved anything before the kill: the kills missed the writes");
    assert!(held > seed);
}
