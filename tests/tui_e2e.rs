//! End to end: the real binary in tmux on the sample. Visits every view, filters, drills down
//! and back, exports the recommendations from the screen (byte for byte what the headless
//! `report` writes), quits with status 0 and leaves the terminal restored.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux must be installed (.ci/run installs it)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.run(&["send-keys", "-t", "e2e", k]);
        }
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "e2e"])
    }

    /// Waits until the screen shows `text`; fails with the screen when it never does.
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            if start.elapsed() > Duration::from_secs(20) {
                panic!("timed out waiting for {text:?}; screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the screen no longer shows `text`.
    fn wait_gone(&self, text: &str) {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if !screen.contains(text) {
                return;
            }
            if start.elapsed() > Duration::from_secs(20) {
                panic!("timed out waiting for {text:?} to go; screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").arg("-L").arg(&self.socket).arg("kill-server").output();
    }
}

fn wait_for_file(path: &Path) -> String {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{} never appeared", path.display());
}

#[test]
fn dashboard_end_to_end_in_tmux() {
    let bin = env!("CARGO_BIN_EXE_costscope");
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux { socket: format!("costscope-e2e-{}", std::process::id()) };
    let script = format!(
        "cd '{dir}' && XDG_CONFIG_HOME='{dir}/config' XDG_DATA_HOME='{dir}/data' '{bin}' tui --sample; \
         echo $? > '{dir}/exit-status'; sleep 30",
        dir = dir.path().display(),
    );
    tmux.run(&["new-session", "-d", "-s", "e2e", "-x", "120", "-y", "32", &script]);

    let first = tmux.wait_for("bundled sample");
    assert!(first.contains("[1 Overview]"), "{first}");

    for (key, tab) in
        [("2", "[2 Costs]"), ("3", "[3 Tags]"), ("4", "[4 Cluster]"), ("5", "[5 Recommendations]")]
    {
        tmux.keys(&[key]);
        tmux.wait_for(tab);
    }

    // Costs: drill from a service into its resources, and back.
    tmux.keys(&["2"]);
    tmux.wait_for("[2 Costs]");
    tmux.wait_for("Costs by service");
    tmux.keys(&["Enter"]);
    tmux.wait_for("service: Amazon Elastic Compute Cloud › resources");
    tmux.keys(&["Enter"]);
    tmux.wait_for("› daily");
    tmux.keys(&["BSpace", "BSpace"]);
    tmux.wait_for("Costs by service");
    // Views with their own content.
    tmux.keys(&["1"]);
    tmux.wait_for("Spend Oct 2026: 40,292.35 USD");
    tmux.keys(&["3"]);
    tmux.wait_for("spelled 3 ways");
    tmux.keys(&["4"]);
    tmux.wait_for("acme-prod-eks");

    // Chargeback: the teams of the sample's last month, drilled into one team's services.
    tmux.keys(&["8"]);
    tmux.wait_for("Chargeback by tag:team · Oct 2026 vs Sep 2026");
    tmux.wait_for("40,292.35");
    tmux.keys(&["Enter"]);
    tmux.wait_for("data · direct cost by service");
    tmux.keys(&["BSpace"]);
    tmux.wait_for("Chargeback by tag:team");

    // Recommendations: an incremental filter, then cleared.
    tmux.keys(&["5", "/"]);
    for c in "rule:ec2-idle".chars() {
        tmux.keys(&["-l", &c.to_string()]);
    }
    let filtered = tmux.wait_for("filter: rule:ec2-idle");
    assert!(filtered.contains("ec2-idle"), "{filtered}");
    assert!(!filtered.contains("ebs-unattached"), "{filtered}");
    tmux.keys(&["Escape"]);
    tmux.wait_for("Findings (by savings)  271 ");

    // Export from the screen with the proposed file name.
    tmux.keys(&["e"]);
    tmux.wait_for("Export to file: costscope-recommendations-2026-11-01.csv");
    tmux.keys(&["Enter"]);
    tmux.wait_for("exported to");
    let exported = wait_for_file(&dir.path().join("costscope-recommendations-2026-11-01.csv"));
    let headless = Command::new(bin)
        .args(["report", "--sample", "--format", "csv"])
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .output()
        .unwrap();
    assert_eq!(exported, String::from_utf8(headless.stdout).unwrap());

    // Help overlay, then quit.
    tmux.keys(&["?"]);
    tmux.wait_for("Keys: Recommendations");
    // Escape and q sent together can reach the terminal in one read, which decodes as Alt+q;
    // a person never types that fast, so wait for the overlay to close first.
    tmux.keys(&["Escape"]);
    tmux.wait_gone("Keys: Recommendations");
    tmux.keys(&["q"]);
    let status = wait_for_file(&dir.path().join("exit-status"));
    assert_eq!(status.trim(), "0");
    let alternate = tmux.run(&["display-message", "-p", "-t", "e2e", "#{alternate_on}"]);
    assert_eq!(alternate.trim(), "0", "the alternate screen must be left on exit");
    let after = tmux.screen();
    assert!(!after.contains("Findings (by savings)"), "dashboard still on screen:\n{after}");
}
