//! The dashboard without a terminal: messages into `App::update`, screens into a TestBackend.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use costscope::analysis::allocation::{self, Allocation, AllocationPeriod, AllocationSettings};
use costscope::model::{Grain, Money};
use costscope::source::focus::FocusOptions;
use costscope::tui::app::{App, Dataset, Effect, Loadable, Msg, Progress, Prompt, ViewId};
use costscope::tui::theme::Theme;
use costscope::tui::view;
use costscope::tui::view::chargeback::Chargeback;
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
    assert!(matches!(effects.as_slice(), [Effect::Load { generation: 1, .. }]));
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
    assert_eq!(app.view, ViewId::Chargeback);
    app.update(key(KeyCode::Tab));
    assert_eq!(app.view, ViewId::Overview, "Tab wraps around");
    app.update(key(KeyCode::BackTab));
    assert_eq!(app.view, ViewId::Chargeback);
    app.update(key(KeyCode::Char('7')));
    assert_eq!(app.view, ViewId::Review);
    app.update(key(KeyCode::Char('8')));
    assert_eq!(app.view, ViewId::Chargeback);
    app.update(key(KeyCode::Char('2')));
    assert_eq!(app.view, ViewId::Costs);
}

#[test]
fn a_stale_load_is_dropped_after_a_refresh() {
    let mut app = loaded();
    let effects = app.update(key(KeyCode::Char('r')));
    assert!(matches!(effects.as_slice(), [Effect::Load { generation: 2, .. }]));
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
    for view in ['1', '2', '3', '4', '5', '6', '7', '8'] {
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

/// A table line's cells: the words between its borders.
fn cells(line: &str) -> Vec<String> {
    line.trim_matches('│').split_whitespace().map(String::from).collect()
}

fn super_key(c: char) -> Msg {
    key(KeyCode::Char(c))
}

/// `costscope allocate --sample --by tag:team --period month --detail`, as the library computes it.
fn allocate_sample(data: &Dataset) -> Allocation {
    allocation::allocate(
        data.snapshot.billing.as_ref().unwrap(),
        &AllocationSettings::default(),
        "team",
        AllocationPeriod::Month,
        true,
        &[],
    )
    .unwrap()
}

#[test]
fn chargeback_screens() {
    let mut app = loaded();
    app.update(super_key('8'));
    insta::assert_snapshot!("chargeback_screen", screen(&app, 120, 40));
    insta::assert_snapshot!("chargeback_screen_80x24", screen(&app, 80, 24));
}

#[test]
fn chargeback_rows_are_allocate_teams_in_order_and_add_up_to_the_bill() {
    let mut app = loaded();
    app.update(super_key('8'));
    let expected = allocate_sample(app.dataset().unwrap());
    let Chargeback::Ready(ready) = &app.chargeback.chargeback else {
        panic!("no allocation: {:?}", app.chargeback.chargeback)
    };
    assert_eq!(ready.allocation, expected, "the view allocates as `allocate --period month`");
    assert!(!ready.configured, "the sample config names no key: `team` is found in the billing");
    let [usd] = expected.currencies.as_slice() else { panic!("one currency") };
    let teams: Money = usd.teams.iter().map(|t| t.total_cost).sum();
    assert_eq!(teams + usd.unallocated + usd.idle, usd.bill);
    // The figures `allocate --format markdown` prints for the sample's October.
    assert_eq!(usd.bill.display_2dp(), "40,292.35");
    assert_eq!(usd.teams[0].team, "data");
    assert_eq!(usd.teams[0].total_cost.display_2dp(), "13,674.86");
    assert_eq!(usd.unallocated.display_2dp(), "2,461.37");

    let text = screen(&app, 120, 40);
    assert!(text.contains("Chargeback by tag:team · Oct 2026 vs Sep 2026"), "{text}");
    // Team rows in allocate's order, each with its direct, shared and total; then unallocated.
    let mut at = 0;
    for t in &usd.teams {
        let row = [
            t.team.clone(),
            t.direct_cost.display_2dp(),
            t.shared_cost.display_2dp(),
            t.total_cost.display_2dp(),
        ];
        let line = text
            .lines()
            .position(|l| cells(l).starts_with(&row))
            .unwrap_or_else(|| panic!("no row {row:?}:\n{text}"));
        assert!(line > at, "{} out of order:\n{text}", t.team);
        at = line;
    }
    let unallocated = text
        .lines()
        .position(|l| cells(l).starts_with(&["·unallocated".into(), usd.unallocated.display_2dp()]))
        .expect("an unallocated row");
    assert_eq!(unallocated, at + 1, "unallocated follows the teams");
    assert!(!text.contains("·idle"), "no cluster is split: no idle line");
    let bill = text.lines().find(|l| l.contains("│Bill")).expect("a bill footer");
    assert!(bill.contains("40,292.35"), "{bill}");
    assert!(text.contains("tax proportional 1,599.68"), "{text}");
    assert!(text.contains("support proportional 2,601.43"), "{text}");
}

#[test]
fn chargeback_drills_to_services_then_resources_and_back() {
    let mut app = loaded();
    app.update(super_key('8'));
    let expected = allocate_sample(app.dataset().unwrap());
    let data = &expected.currencies[0].teams[0];
    app.update(key(KeyCode::Enter));
    let text = screen(&app, 120, 40);
    insta::assert_snapshot!("chargeback_services_screen", text);
    assert!(text.contains("data · direct cost by service · Oct 2026"), "{text}");
    let top = &data.services[0];
    assert_eq!(top.service, "Amazon Elastic Compute Cloud");
    assert!(text.contains(&top.direct_cost.display_2dp()), "{text}");
    assert_eq!(app.chargeback.table.len(), data.services.len());

    app.update(key(KeyCode::Enter));
    let text = screen(&app, 120, 40);
    insta::assert_snapshot!("chargeback_resources_screen", text);
    assert!(text.contains("data · Amazon Elastic Compute Cloud · resources"), "{text}");
    // The resources add up to the service's direct cost, cross-checked with the billing lines.
    let footer = text.lines().find(|l| l.contains("│Direct")).expect("a footer");
    assert!(footer.contains(&top.direct_cost.display_2dp()), "{footer}\n{text}");

    app.update(key(KeyCode::Backspace));
    assert!(screen(&app, 120, 40).contains("data · direct cost by service"));
    app.update(key(KeyCode::Esc));
    let text = screen(&app, 120, 40);
    assert!(text.contains("Chargeback by tag:team"), "{text}");
    assert_eq!(app.chargeback.table.selected_index(), Some(0), "back on the team drilled");
    // Unallocated cost has no team to drill into.
    app.update(key(KeyCode::End));
    app.update(key(KeyCode::Enter));
    assert!(screen(&app, 120, 40).contains("Chargeback by tag:team"));
}

#[test]
fn chargeback_without_a_team_tag_says_how_to_name_the_key() {
    let mut data = sample_dataset();
    let mut snapshot = (*data.snapshot).clone();
    for tags in &mut snapshot.billing.as_mut().unwrap().tag_sets {
        // Every spelling of the key (`Team`, `team`, …), as allocation folds them.
        let keys: Vec<String> =
            tags.keys().filter(|k| k.to_lowercase().contains("team")).cloned().collect();
        for k in keys {
            let v = tags.remove(&k).unwrap();
            tags.insert(k.to_lowercase().replace("team", "owner"), v);
        }
    }
    data.snapshot = Arc::new(snapshot);
    let snapshot = data.snapshot.clone();
    let mut app = App::new(Theme::plain());
    app.start();
    app.update(Msg::Loaded { generation: 1, result: Ok(data) });
    app.update(super_key('8'));
    let text = screen(&app, 100, 24);
    assert!(text.contains("No team tag to allocate by."), "{text}");
    assert!(text.contains("key = \"team\""), "{text}");
    assert!(text.contains("costscope allocate --by tag:KEY"), "{text}");

    // Naming the key in [allocation] allocates by it: the same teams as by `team` before.
    let mut app = App::new(Theme::plain());
    app.chargeback.settings.key = Some("owner".into());
    app.start();
    let report = sample_dataset().report;
    app.update(Msg::Loaded { generation: 1, result: Ok(Box::new(Dataset { report, snapshot })) });
    app.update(super_key('8'));
    let text = screen(&app, 120, 40);
    assert!(text.contains("Chargeback by tag:owner · Oct 2026"), "{text}");
    assert!(text.contains("13,674.86"), "data's total as by `team`:\n{text}");
    assert!(text.contains("key from [allocation] of the config"), "{text}");
}

#[test]
fn chargeback_direct_teams_add_up_to_each_service_of_each_team() {
    let data = sample_dataset();
    let billing = data.snapshot.billing.as_ref().unwrap();
    let settings = AllocationSettings::default();
    let expected = allocate_sample(&data);
    let direct = allocation::direct_teams(billing, &settings, "team", &[]);
    assert_eq!(direct.len(), billing.lines.len());
    let (start, end) = (expected.period_start.unwrap(), expected.period_end.unwrap());
    let mut checked = 0;
    for t in &expected.currencies[0].teams {
        let folded = allocation::fold_team(&settings, &t.team);
        for s in &t.services {
            let sum: Money = billing
                .lines
                .iter()
                .zip(&direct)
                .filter(|(l, team)| {
                    team.as_deref() == Some(folded.as_str())
                        && l.service == s.service
                        && l.day.is_some_and(|d| start <= d && d <= end)
                })
                .map(|(l, _)| l.billed_cost)
                .sum();
            assert_eq!(sum, s.direct_cost, "{} / {}", t.team, s.service);
            checked += 1;
        }
    }
    assert!(checked > 30, "{checked}");
}

#[test]
fn chargeback_sorts_and_filters_like_every_table() {
    let mut app = loaded();
    app.update(super_key('8'));
    // Sorted by the first column (team, ascending), then reversed.
    app.update(super_key('s'));
    let first = |app: &App| {
        screen(app, 120, 40).lines().nth(5).map(|l| cells(l)[0].clone()).unwrap_or_default()
    };
    assert_eq!(first(&app), "data");
    app.update(super_key('S'));
    assert_eq!(first(&app), "·unallocated");
    app.update(super_key('/'));
    chars(&mut app, "team:pay");
    app.update(key(KeyCode::Enter));
    assert_eq!(app.chargeback.table.len(), 1);
    assert_eq!(first(&app), "payments");
    // Enter drills into the filtered team; Backspace comes back to the filtered table.
    app.update(key(KeyCode::Enter));
    assert!(screen(&app, 120, 40).contains("payments · direct cost by service"));
    app.update(key(KeyCode::Backspace));
    assert_eq!(app.chargeback.table.filter, "team:pay");
    assert_eq!(first(&app), "payments");
}

#[test]
fn the_loading_screen_shows_rows_read_and_q_cancels_the_read() {
    let mut app = App::new(Theme::plain());
    let effects = app.start();
    let [Effect::Load { watch, .. }] = effects.as_slice() else { panic!("expected one load") };
    assert!(Arc::ptr_eq(watch, &app.read), "the load reports into the screen's counters");
    app.update(Msg::Sources { generation: 1, names: vec!["billing focus:big.csv".into()] });
    app.update(Msg::Progress { generation: 1, source: 0, state: Progress::Loading });
    watch.add_total_bytes(1000);
    watch.add_bytes(430);
    watch.add_rows(1_234_567);
    let text = screen(&app, 100, 20);
    assert!(text.contains(" 43 %  1,234,567 rows · "), "{text}");
    assert!(text.contains("rows/s"), "{text}");
    assert!(text.contains("q quits and stops the read"), "{text}");
    // 40 cells of bar (the width left by 100 columns, at most 40), 43 % of them filled.
    assert_eq!(text.matches('█').count(), 17, "{text}");
    assert_eq!(text.matches('░').count(), 23, "{text}");
    assert!(!watch.is_cancelled());
    app.update(key(KeyCode::Char('q')));
    assert!(app.quit && watch.is_cancelled(), "q stops the read it quits");
}

#[test]
fn a_refresh_cancels_the_unfinished_load() {
    let mut app = App::new(Theme::plain());
    let first = app.start();
    let [Effect::Load { watch: old, .. }] = first.as_slice() else { panic!("expected one load") };
    let again = app.update(key(KeyCode::Char('r')));
    let [Effect::Load { generation: 2, watch: new }] = again.as_slice() else {
        panic!("expected a second load: {again:?}")
    };
    assert!(old.is_cancelled(), "the first load stops reading");
    assert!(!new.is_cancelled() && Arc::ptr_eq(new, &app.read));
}
