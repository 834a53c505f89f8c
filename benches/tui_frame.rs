//! One frame of the dashboard on a 120×32 TestBackend, each view 1–5, with 1M billing lines
//! (the generator's 1M-row file read at `Grain::DETAILED`) and 100k findings.
//! Target: frame render p99 < 8 ms. Criterion reports mean/median; in `cargo bench` mode this
//! binary then times 1000 draws per view itself and prints p50/p90/p99/max.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::print_stderr)]

mod common;

use std::hint::black_box;
use std::time::Instant;

use costscope::tui::app::{App, Msg, ViewId};
use costscope::tui::theme::Theme;
use costscope::tui::view;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const BILLING_ROWS: u64 = 1_000_000;
const FINDINGS: usize = 100_000;
const DRAWS: usize = 1000;

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn loaded_app() -> App {
    let data = common::dashboard_dataset(BILLING_ROWS, FINDINGS);
    eprintln!(
        "[setup] dataset: {} billing lines, {} findings",
        data.snapshot.billing.as_ref().map_or(0, |b| b.lines.len()),
        data.report.findings.len()
    );
    let mut app = App::new(Theme { color: true });
    app.start();
    let started = Instant::now();
    app.update(Msg::Loaded { generation: 1, result: Ok(data) });
    eprintln!(
        "[setup] App::update(Msg::Loaded) (every view builds its rows): {:.2?}",
        started.elapsed()
    );
    assert!(app.dataset().is_some());
    app
}

fn select(app: &mut App, id: ViewId) {
    let c = char::from(b'1' + id.index() as u8);
    app.update(key(c));
    assert_eq!(app.view, id);
}

fn main() {
    let mut app = loaded_app();
    let mut terminal = Terminal::new(TestBackend::new(120, 32)).unwrap();
    let mut c = common::quick();
    {
        let mut group = c.benchmark_group("tui_frame");
        for id in ViewId::ALL {
            select(&mut app, id);
            let name = format!("{}_{}", id.index() + 1, id.title().to_lowercase());
            group.bench_function(name, |b| {
                b.iter(|| {
                    terminal.draw(|f| view::render(black_box(&app), f)).unwrap();
                })
            });
        }
        group.finish();
    }
    c.final_summary();

    if common::bench_mode() {
        println!(
            "\ntui_frame: {DRAWS} draws per view, 120x32, {BILLING_ROWS} billing rows, {FINDINGS} findings"
        );
        println!(
            "{:<22} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "view", "mean", "p50", "p90", "p99", "max"
        );
        for id in ViewId::ALL {
            select(&mut app, id);
            // A fresh terminal per view so the first draw (full diff) is among the samples.
            let mut terminal = Terminal::new(TestBackend::new(120, 32)).unwrap();
            let samples: Vec<_> = (0..DRAWS)
                .map(|_| {
                    let t = Instant::now();
                    terminal.draw(|f| view::render(&app, f)).unwrap();
                    t.elapsed()
                })
                .collect();
            let p = common::percentiles(samples);
            println!(
                "{:<22} {:>9.3?} {:>9.3?} {:>9.3?} {:>9.3?} {:>9.3?}",
                format!("{} {}", id.index() + 1, id.title()),
                p.mean,
                p.p50,
                p.p90,
                p.p99,
                p.max
            );
        }
    }
}
