//! Time to the first frame on the bundled sample (target: < 100 ms):
//! - `new_to_first_frame`: `App::new` → `start` → the first drawn frame (the loading screen);
//! - `start_to_loaded_frame`: the same, then what the dashboard's background task runs
//!   (`costscope::tui::loader::load`: read the sample, run the rules, build the report), its
//!   messages through `App::update`, `Msg::Loaded`, and the frame after it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::print_stderr)]

mod common;

use std::hint::black_box;
use std::time::Instant;

use costscope::cli::SourceArgs;
use costscope::config::Config;
use costscope::tui::app::{App, Effect, Msg};
use costscope::tui::loader::{LoadContext, load};
use costscope::tui::theme::Theme;
use costscope::tui::view;
use criterion::SamplingMode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn context() -> LoadContext {
    let mut config = Config::defaults();
    // Never read the user's own suppressions file; a missing file is an empty set.
    config.suppressions = Some(common::data_dir().join("no-suppressions.toml"));
    LoadContext {
        sources: SourceArgs { sample: true, ..Default::default() },
        config,
        rules_dir: None,
    }
}

fn first_frame() -> Terminal<TestBackend> {
    let mut app = App::new(Theme { color: true });
    let effects = app.start();
    black_box(effects);
    let mut terminal = Terminal::new(TestBackend::new(120, 32)).unwrap();
    terminal.draw(|f| view::render(&app, f)).unwrap();
    terminal
}

fn loaded_frame(ctx: &LoadContext) -> App {
    let mut app = App::new(Theme { color: true });
    let effects = app.start();
    let mut terminal = Terminal::new(TestBackend::new(120, 32)).unwrap();
    terminal.draw(|f| view::render(&app, f)).unwrap();
    let [Effect::Load { generation, watch }] = effects.as_slice() else {
        panic!("expected one load")
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Msg>(1024);
    let result = load(ctx, *generation, &tx, watch);
    drop(tx);
    while let Ok(msg) = rx.try_recv() {
        app.update(msg);
    }
    app.update(Msg::Loaded { generation: *generation, result });
    terminal.draw(|f| view::render(&app, f)).unwrap();
    app
}

fn main() {
    std::fs::create_dir_all(common::data_dir()).unwrap();
    let ctx = context();
    let app = loaded_frame(&ctx);
    assert!(app.dataset().is_some(), "the sample loaded");
    let mut c = common::quick();
    {
        let mut group = c.benchmark_group("first_frame");
        group.sampling_mode(SamplingMode::Flat);
        group.bench_function("new_to_first_frame", |b| b.iter(|| black_box(first_frame())));
        group.bench_function("start_to_loaded_frame", |b| {
            b.iter(|| black_box(loaded_frame(black_box(&ctx))))
        });
        // The parts of the loaded frame, to see where the time goes.
        group.bench_function("part/sample_billing_detailed", |b| {
            b.iter(|| {
                costscope::sample::billing(costscope::source::focus::FocusOptions {
                    grain: costscope::model::Grain::DETAILED,
                    skip_invalid: false,
                })
                .unwrap()
            })
        });
        group.bench_function("part/engine", |b| b.iter(common::engine));
        group.finish();
    }
    c.final_summary();
    if common::bench_mode() {
        let samples: Vec<_> = (0..20)
            .map(|_| {
                let t = Instant::now();
                black_box(loaded_frame(&ctx));
                t.elapsed()
            })
            .collect();
        let p = common::percentiles(samples);
        println!(
            "\nfirst_frame: start → loaded frame on the sample, 20 runs: p50 {:.1?}, max {:.1?}",
            p.p50, p.max
        );
    }
}
