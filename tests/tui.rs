//! The dashboard without a terminal: messages into `App::update`, screens into a TestBackend.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use costscope::model::Grain;
use costscope::source::focus::FocusOptions;
use costscope::tui::app::{App, Dataset, Effect, Loadable, Msg, Progress, Prompt, ViewId};
use costscope::tui::theme::Theme;
use costscope::tui::view;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn sample_dataset() -> Box<Dataset> {
    let mut snapshot = costscope::sample::snapshot().unwrap();
    snapshot.billing = Some(
        costscope::sample::billing(FocusOptions { grain: Grain::DETAILED, skip_invalid: false })
            .unwrap(),
    );
    snapshot.sources = vec![costscope::model::SourceStatus {
        name: "bundled sample".into(),
        state: costscope::model::SourceState::Ok,
        warnings: vec![],
        notes: Vec::new(),
    }];
    let config = costscope::config::Config::defaults();
    let engine = costscope::app::engine(&config, None).unwrap();
    // The sample's budgets, as `costscope tui --sample` uses them.
    let sample = costscope::config::Config::parse(
        costscope::sample::CONFIG_TOML,
        std::path::Path::new(costscope::sample::CONFIG_NAME),
    )
    .unwrap();
    let review = costscope::report::ReviewSettings::from_config(&sample);
    let report = costscope::report::build_report_with(
        &snapshot,
        &engine,
        &config.required_tags,
        None,
        &review,
    );
    Box::new(Dataset { report, snapshot: Arc::new(snapshot) })
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn chars(app: &mut App, text: &str) -> Vec<Effect> {
    text.chars().flat_map(|c| app.update(key(KeyCode::Char(c)))).collect()
}

/// An app that has loaded the sample.
fn loaded() -> App {
    let mut app = App::new(Theme::plain());
    let effects = app.start();
    assert!(matches!(effects.as_slice(), [Effect::Load { generation: 1 }]));
    app.update(Msg::Loaded { generation: 1, result: Ok(sample_dataset()) });
    assert!(app.dataset().is_some());
    app
}

fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| view::render(app, f)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[test]
fn tabs_switch_by_number_tab_and_back_tab() {
    let mut app = loaded();
    assert_eq!(app.view, ViewId::Overview);
    app.update(key(KeyCode::Char('5')));
    assert_eq!(app.view, ViewId::Recommendations);
    app.update(key(KeyCode::Tab));
    assert_eq!(app.view, ViewId::Commitments);
    app.update(key(KeyCode::Tab));
    assert_eq!(app.view, ViewId::Review);
    app.update(key(KeyCode::Tab));
    assert_eq!(app.view, ViewId::Overview, "Tab wraps around");
    app.update(key(KeyCode::BackTab));
    assert_eq!(app.view, ViewId::Review);
    app.update(key(KeyCode::Char('7')));
    assert_eq!(app.view, ViewId::Review);
    app.update(key(KeyCode::Char('2')));
    assert_eq!(app.view, ViewId::Costs);
}

#[test]
fn a_stale_load_is_dropped_after_a_refresh() {
    let mut app = loaded();
    let effects = app.update(key(KeyCode::Char('r')));
    assert!(matches!(effects.as_slice(), [Effect::Load { generation: 2 }]));
    // The old load finishing late must not replace anything.
    app.update(Msg::Loaded { generation: 1, result: Err("old".into()) });
    assert!(app.dataset().is_some());
    assert!(app.status.as_ref().is_some_and(|(_, s)| !s.contains("old")));
    app.update(Msg::Progress { generation: 1, source: 0, state: Progress::Loading });
    app.update(Msg::Loaded { generation: 2, result: Ok(sample_dataset()) });
    assert!(app.dataset().is_some());
}

#[test]
fn a_failed_load_is_shown_not_a_crash() {
    let mut app = App::new(Theme::plain());
    app.start();
    app.update(Msg::Sources { generation: 1, names: vec!["FOCUS billing bad.csv".into()] });
    app.update(Msg::Progress {
        generation: 1,
        source: 0,
        state: Progress::Failed("bad.csv:3: column BilledCost: not a number".into()),
    });
    let text = screen(&app, 100, 20);
    assert!(text.contains("FOCUS billing bad.csv"), "{text}");
    assert!(text.contains("failed: bad.csv:3"), "{text}");
    app.update(Msg::Loaded { generation: 1, result: Err("no rules".into()) });
    assert!(matches!(app.data, Loadable::Failed(_)));
    let text = screen(&app, 100, 20);
    assert!(text.contains("Could not load the data"), "{text}");
}

#[test]
fn filter_sort_and_movement_act_on_the_current_table() {
    let mut app = loaded();
    app.update(key(KeyCode::Char('5')));
    let total = app.recommendations.table.len();
    assert!(total > 100);
    app.update(key(KeyCode::Char('/')));
    assert!(app.filtering);
    chars(&mut app, "rule:ec2-idle");
    assert!(app.recommendations.table.len() < total);
    assert!(app.recommendations.table.len() >= 4);
    app.update(key(KeyCode::Enter));
    assert!(!app.filtering);
    // `q` typed while filtering would quit; after Enter the filter is kept and keys navigate.
    app.update(key(KeyCode::Char('j')));
    assert!(app.recommendations.table.selected_index().is_some());
    app.update(key(KeyCode::Char('/')));
    app.update(key(KeyCode::Esc));
    assert_eq!(app.recommendations.table.len(), total, "Esc clears the filter");
    app.update(key(KeyCode::End));
    app.update(key(KeyCode::Home));
    app.update(key(KeyCode::PageDown));
    assert!(app.recommendations.table.selected_index().unwrap() > 0);
}

#[test]
fn export_asks_for_a_file_name_then_writes_through_an_effect() {
    let mut app = loaded();
    app.update(key(KeyCode::Char('5')));
    app.update(key(KeyCode::Char('e')));
    let Some(Prompt::Export { input, .. }) = &app.prompt else { panic!("no export prompt") };
    assert_eq!(input, "costscope-recommendations-2026-11-01.csv");
    for _ in 0..input.len() {
        app.update(key(KeyCode::Backspace));
    }
    chars(&mut app, "out.csv");
    let effects = app.update(key(KeyCode::Enter));
    match effects.as_slice() {
        [Effect::Export { path, job }] => {
            assert_eq!(path.to_str(), Some("out.csv"));
            assert!(matches!(**job, view::ExportJob::Findings(ref f) if f.len() > 100));
        }
        other => panic!("expected an export, got {other:?}"),
    }
    app.update(Msg::Exported(Ok("out.csv".into())));
    assert!(app.status.as_ref().unwrap().1.contains("exported to out.csv"));
}

#[test]
fn ignoring_a_finding_needs_a_reason_and_rebuilds_the_report() {
    let mut app = loaded();
    app.update(key(KeyCode::Char('5')));
    app.update(key(KeyCode::Char('i')));
    assert!(matches!(app.prompt, Some(Prompt::Ignore { .. })));
    let effects = app.update(key(KeyCode::Enter));
    assert!(effects.is_empty(), "an empty reason is refused");
    app.update(key(KeyCode::Char('i')));
    chars(&mut app, "batch host");
    let effects = app.update(key(KeyCode::Enter));
    let [Effect::Suppress { rule_id, resource_id, reason }] = effects.as_slice() else {
        panic!("expected a suppression, got {effects:?}");
    };
    assert_eq!(reason, "batch host");
    assert_eq!(rule_id, &app.dataset().unwrap().report.findings[0].rule_id);
    assert_eq!(resource_id, &app.dataset().unwrap().report.findings[0].resource_id);
    let effects = app.update(Msg::Suppressed(Ok("ignored".into())));
    assert!(matches!(effects.as_slice(), [Effect::Rebuild { generation: 1, .. }]));
}

#[test]
fn help_overlay_lists_global_and_view_keys_and_any_key_closes_it() {
    let mut app = loaded();
    app.update(key(KeyCode::Char('5')));
    app.update(key(KeyCode::Char('?')));
    assert!(app.help);
    let text = screen(&app, 120, 32);
    assert!(text.contains("Keys: Recommendations"), "{text}");
    assert!(text.contains("ignore the selected finding"), "{text}");
    assert!(text.contains("export this view"), "{text}");
    app.update(key(KeyCode::Char('x')));
    assert!(!app.help);
}

#[test]
fn mouse_clicks_select_tabs_and_rows_and_the_wheel_scrolls() {
    let mut app = loaded();
    let _ = screen(&app, 120, 32); // lays out the tabs
    let (x, _, _) =
        app.tab_spans.borrow().iter().copied().find(|t| t.2 == ViewId::Recommendations).unwrap();
    app.update(Msg::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: x + 1,
        row: 0,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(app.view, ViewId::Recommendations);
    let _ = screen(&app, 120, 32);
    app.update(Msg::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 10,
        row: 10,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(app.recommendations.table.selected_index(), Some(3));
    // Row 4 of the table body (tab bar, summary line, border, header come first).
    app.update(Msg::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 10,
        row: 8,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(app.recommendations.table.selected_index(), Some(4));
}

#[test]
fn q_and_ctrl_c_quit() {
    let mut app = loaded();
    app.update(key(KeyCode::Char('q')));
    assert!(app.quit);
    let mut app = loaded();
    app.update(Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)));
    assert!(app.quit);
}

#[test]
fn screens_fit_small_terminals_without_panicking() {
    let mut app = loaded();
    for view in ['1', '2', '3', '4', '5'] {
        app.update(key(KeyCode::Char(view)));
        for (w, h) in [(80, 24), (60, 15), (20, 5), (1, 1)] {
            let _ = screen(&app, w, h);
        }
    }
}

#[test]
fn recommendations_screen() {
    let mut app = loaded();
    app.update(key(KeyCode::Char('5')));
    insta::assert_snapshot!(screen(&app, 120, 32));
}

#[test]
fn loading_screen() {
    let mut app = App::new(Theme::plain());
    app.start();
    app.update(Msg::Sources {
        generation: 1,
        names: vec!["bundled sample".into(), "FOCUS billing oct.csv".into()],
    });
    app.update(Msg::Progress {
        generation: 1,
        source: 0,
        state: Progress::Done("164 inventory resources, 10189 billing rows".into()),
    });
    app.update(Msg::Progress { generation: 1, source: 1, state: Progress::Loading });
    insta::assert_snapshot!(screen(&app, 80, 12));
}

#[test]
fn every_view_screen() {
    let mut app = loaded();
    for (key, name) in [
        ('1', "overview"),
        ('2', "costs"),
        ('3', "tags"),
        ('4', "cluster"),
        ('6', "commitments"),
        ('7', "review"),
    ] {
        app.update(super_key(key));
        insta::assert_snapshot!(format!("{name}_screen"), screen(&app, 120, 32));
        insta::assert_snapshot!(format!("{name}_screen_80x24"), screen(&app, 80, 24));
    }
    app.update(super_key('5'));
    insta::assert_snapshot!("recommendations_screen_80x24", screen(&app, 80, 24));
}

#[test]
fn costs_drill_down_screen() {
    let mut app = loaded();
    app.update(super_key('2'));
    app.update(key(KeyCode::Enter));
    insta::assert_snapshot!(screen(&app, 120, 32));
}

#[test]
fn help_overlay_screen() {
    let mut app = loaded();
    app.update(super_key('2'));
    app.update(super_key('?'));
    insta::assert_snapshot!(screen(&app, 120, 32));
}

#[test]
fn a_failed_source_is_a_visible_warning_on_the_overview() {
    let mut data = sample_dataset();
    data.report.sources.push(costscope::model::SourceStatus {
        name: "FOCUS billing nov.csv".into(),
        state: costscope::model::SourceState::Failed,
        warnings: vec!["nov.csv:7: column BilledCost: not a number: \"x\"".into()],
        notes: Vec::new(),
    });
    let mut app = App::new(Theme::plain());
    app.start();
    app.update(Msg::Loaded { generation: 1, result: Ok(data) });
    let text = screen(&app, 120, 32);
    assert!(text.contains("FOCUS billing nov.csv"), "{text}");
    assert!(text.contains("partial data"), "{text}");
    insta::assert_snapshot!(text);
}

fn super_key(c: char) -> Msg {
    key(KeyCode::Char(c))
}
