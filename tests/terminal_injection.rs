//! Terminal injection: data that tries to drive the terminal (set the window title with OSC 0,
//! clear the screen, ring the bell, hide text with bidirectional overrides) must never reach it,
//! neither through the dashboard nor through plain-text and Markdown output.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use costscope::model::Grain;
use costscope::source::focus::{FocusOptions, read_focus_reader};
use costscope::tui::app::{App, Dataset, Msg};
use costscope::tui::theme::Theme;
use costscope::tui::view;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::{CrosstermBackend, TestBackend};

const TITLE: &str = "\u{1b}]0;pwned\u{7}";
const CLEAR: &str = "\u{1b}[2J\u{1b}[H";
const OSC_LINK: &str = "\u{1b}]8;;http://evil.example/\u{1b}\\click\u{1b}]8;;\u{1b}\\";
const C1_CSI: &str = "\u{9b}31m";
const BIDI: &str = "\u{202e}gpj.exe";

fn hostile(prefix: &str) -> String {
    format!("{prefix}{TITLE}{CLEAR}{OSC_LINK}{C1_CSI}{BIDI}\u{7}")
}

/// A FOCUS file whose service, region, resource, account and tags all carry escapes.
fn hostile_focus() -> String {
    let tags =
        serde_json::json!({ "team": hostile("web"), "env": hostile("prod"), hostile("k"): "v" })
            .to_string()
            .replace('"', "\"\"");
    let mut text = String::from(
        "BilledCost,EffectiveCost,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,ProviderName,BillingAccountId,SubAccountId,ServiceName,RegionId,ResourceId,ResourceType,ChargeCategory,Tags\n",
    );
    // Four weeks, the last day a spike (an anomaly), and a charge whose category is hostile
    // (listed apart from usage): the Review view shows both.
    for day in 1..=29 {
        let (cost, category) = match day {
            29 => ("512.5".to_string(), "Usage".to_string()),
            _ => ("12.5".to_string(), "Usage".to_string()),
        };
        let mut rows = vec![(cost, category)];
        if day == 2 {
            rows.push(("99".to_string(), hostile("Purchase")));
        }
        for (cost, category) in rows {
            text.push_str(&format!(
            "{cost},{cost},2026-10-{day:02}T00:00:00Z,2026-10-{day:02}T01:00:00Z,USD,\"{p}\",\"{a}\",\"{a}\",\"{s}\",\"{r}\",\"{id}\",\"{t}\",\"{category}\",\"{tags}\"\n",
            p = hostile("AWS"),
            a = hostile("1111"),
            s = hostile("Amazon EC2"),
            r = hostile("us-east-1"),
            id = hostile("i-0abc"),
            t = hostile("Instance"),
        ));
        }
    }
    text
}

/// The bundled sample with every instance's id, tags and state reason made hostile, and the hostile
/// billing in place of the sample's.
fn hostile_dataset() -> Box<Dataset> {
    let mut snapshot = costscope::sample::snapshot().unwrap();
    for instance in &mut snapshot.inventory.instances {
        instance.id = format!("{TITLE}{}{BIDI}", instance.id);
        instance.tags.insert("team".to_string(), hostile("web"));
        instance.tags.insert(hostile("key"), hostile("value"));
        instance.state_transition_reason = Some(hostile("User initiated"));
    }
    for volume in &mut snapshot.inventory.volumes {
        volume.tags.insert("Name".to_string(), hostile("data"));
    }
    let options = FocusOptions { grain: Grain::DETAILED, skip_invalid: false };
    let billing =
        read_focus_reader(hostile_focus().as_bytes(), Path::new("hostile.csv"), options).unwrap();
    snapshot.billing = Some(billing);
    let config = costscope::config::Config::defaults();
    let engine = costscope::app::engine(&config, None).unwrap();
    let report = costscope::report::build_report(&snapshot, &engine, &config.required_tags);
    assert!(!report.findings.is_empty(), "the hostile data must still produce findings");
    let anomalies = report.anomalies.as_ref().unwrap();
    assert_eq!(anomalies.anomalies.len(), 1, "the spike on day 29");
    assert_eq!(anomalies.non_usage.len(), 1, "the hostile category");
    Box::new(Dataset { report, snapshot: Arc::new(snapshot) })
}

fn loaded() -> App {
    let mut app = App::new(Theme::plain());
    app.start();
    app.update(Msg::Loaded { generation: 1, result: Ok(hostile_dataset()) });
    app
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

/// Escape sequences a terminal renderer legitimately writes are CSI (`ESC [`) only; anything
/// else after an ESC, a BEL, or a C1 control came from the data. (A CSI from the data, such as
/// its clear-screen, looks like the renderer's own here; the cell check of the dashboard test
/// and the no-ESC check of the text outputs catch that one.)
fn assert_no_injection(bytes: &[u8], what: &str) {
    let text = String::from_utf8_lossy(bytes);
    assert!(!text.contains("\u{7}"), "{what}: BEL reached the output");
    assert!(!text.contains('\u{9b}'), "{what}: a C1 CSI reached the output");
    assert!(!text.contains('\u{202e}'), "{what}: a bidi override reached the output");
    for (i, _) in text.match_indices('\u{1b}') {
        let next = text[i + 1..].chars().next();
        assert_eq!(next, Some('['), "{what}: ESC {next:?} at byte {i} is not the renderer's CSI");
    }
}

#[test]
fn the_dashboard_never_draws_data_escapes() {
    let mut app = loaded();
    for (tab, name) in ['1', '2', '3', '4', '5', '6', '7'].into_iter().zip([
        "overview",
        "costs",
        "tags",
        "cluster",
        "recommendations",
        "commitments",
        "review",
    ]) {
        app.update(key(tab));
        // The cells the dashboard puts on screen hold no control character at all.
        let mut test = Terminal::new(TestBackend::new(160, 48)).unwrap();
        test.draw(|f| view::render(&app, f)).unwrap();
        let buffer = test.backend().buffer();
        for cell in buffer.content() {
            assert!(
                !cell.symbol().chars().any(|c| c.is_control() || c == '\u{202e}'),
                "{name}: cell {:?} holds a control character",
                cell.symbol()
            );
        }
        // And the bytes crossterm would send to the real terminal carry no data escape.
        let mut bytes = Vec::new();
        {
            let mut terminal = Terminal::new(CrosstermBackend::new(&mut bytes)).unwrap();
            terminal.resize(ratatui::layout::Rect::new(0, 0, 160, 48)).unwrap();
            terminal.draw(|f| view::render(&app, f)).unwrap();
        }
        if name != "cluster" && name != "commitments" {
            // The cluster view shows the sample's cluster, which carries no hostile text, and
            // the hostile billing has no commitments.
            let shown: String = buffer.content().iter().map(|c| c.symbol()).collect();
            assert!(shown.contains("pwned"), "{name}: the data is shown: {shown}");
        }
        assert_no_injection(&bytes, name);
    }
}

#[test]
fn the_detail_pane_and_drill_down_never_draw_data_escapes() {
    let mut app = loaded();
    app.update(key('5'));
    app.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    app.update(key('2'));
    app.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    let mut bytes = Vec::new();
    {
        let mut terminal = Terminal::new(CrosstermBackend::new(&mut bytes)).unwrap();
        terminal.resize(ratatui::layout::Rect::new(0, 0, 120, 40)).unwrap();
        terminal.draw(|f| view::render(&app, f)).unwrap();
    }
    assert_no_injection(&bytes, "drill-down");
}

/// The real binary, on a file with the same hostile fields: Markdown and CSV on stdout, and
/// the error and warning lines on stderr.
#[test]
fn plain_text_and_markdown_outputs_carry_no_escape() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hostile.csv");
    std::fs::write(&file, hostile_focus()).unwrap();
    let bin = env!("CARGO_BIN_EXE_costscope");
    let file = file.to_str().unwrap();
    let runs: Vec<Vec<&str>> = vec![
        vec!["costs", "--focus", file, "--by", "service", "--format", "markdown"],
        vec!["costs", "--focus", file, "--by", "tag:team", "--format", "markdown"],
        vec!["costs", "--focus", file, "--by", "resource", "--format", "csv"],
        vec!["costs", "--focus", file, "--by", "region", "--format", "json"],
        vec!["tags", "--focus", file, "--require", "team,env", "--format", "markdown"],
        vec!["report", "--focus", file, "--format", "markdown"],
        vec!["report", "--focus", file, "--format", "csv"],
    ];
    for args in runs {
        let out = std::process::Command::new(bin)
            .args(&args)
            .env("XDG_CONFIG_HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(!out.stdout.is_empty());
        // JSON escapes control characters as \u001b: the byte itself is never written.
        assert!(!out.stdout.contains(&0x1b), "{args:?}: ESC on stdout");
        assert_no_injection(&out.stdout, &format!("{args:?} stdout"));
        assert_no_injection(&out.stderr, &format!("{args:?} stderr"));
    }
    // An error message quoting a hostile value (an unknown --by tag key) is cleaned too.
    let out = std::process::Command::new(bin)
        .args(["costs", "--focus", &format!("{file}{TITLE}"), "--by", "service"])
        .env("XDG_CONFIG_HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pwned"));
    assert_no_injection(&out.stderr, "error message");
}
