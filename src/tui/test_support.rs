//! Helpers shared by the dashboard's unit tests: the sample as a dataset, buffers as text.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::app::{App, Dataset, Msg};
use super::theme::Theme;
use super::view::{ViewState, render_app};
use crate::model::{Grain, Snapshot};
use crate::source::focus::FocusOptions;

/// The bundled sample with billing at the dashboard's grain; `edit` runs on the snapshot before
/// the report is built.
pub fn sample_dataset(edit: impl FnOnce(&mut Snapshot)) -> Dataset {
    let mut snapshot = crate::sample::snapshot().unwrap();
    snapshot.billing = Some(
        crate::sample::billing(FocusOptions { grain: Grain::DETAILED, skip_invalid: false })
            .unwrap(),
    );
    edit(&mut snapshot);
    let config = crate::config::Config::defaults();
    let engine = crate::app::engine(&config, None).unwrap();
    let report = crate::report::build_report(&snapshot, &engine, &config.required_tags);
    Dataset { report, snapshot: Arc::new(snapshot) }
}

/// Every cell's symbol, row by row.
pub fn buffer_text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// One view drawn alone into a `width` × `height` buffer, without colour.
pub fn draw(view: &dyn ViewState, data: &Dataset, width: u16, height: u16) -> String {
    let area = Rect::new(0, 0, width, height);
    let mut buf = Buffer::empty(area);
    view.render(data, area, &mut buf, &Theme::plain());
    buffer_text(&buf)
}

/// An app that has received `data` as its first load.
pub fn app_with(data: Dataset) -> App {
    let mut app = App::new(Theme::plain());
    let generation = app.generation;
    app.update(Msg::Loaded { generation, result: Ok(Box::new(data)) });
    app
}

/// The whole screen of `app`.
pub fn screen(app: &App, width: u16, height: u16) -> String {
    let area = Rect::new(0, 0, width, height);
    let mut buf = Buffer::empty(area);
    render_app(app, area, &mut buf);
    buffer_text(&buf)
}

pub fn press(app: &mut App, code: KeyCode) {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}
