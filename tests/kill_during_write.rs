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
