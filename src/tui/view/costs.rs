//! The costs view (being completed: see the TUI issue).

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use super::{ExportJob, ViewOutcome, ViewState};
use crate::tui::app::Dataset;
use crate::tui::theme::Theme;
use crate::tui::widget::table::DataTable;

#[derive(Debug, Default)]
pub struct CostsView {}

impl ViewState for CostsView {
    fn load(&mut self, _data: &Dataset) {}

    fn key(&mut self, _key: KeyEvent, _data: &Dataset) -> ViewOutcome {
        ViewOutcome::Ignored
    }

    fn table(&mut self) -> Option<&mut DataTable> {
        None
    }

    fn render(&self, _data: &Dataset, area: Rect, buf: &mut Buffer, _theme: &Theme) {
        Paragraph::new("").block(Block::default().borders(Borders::ALL).title(" Costs ")).render(area, buf);
    }

    fn help(&self) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }

    fn export(&self, _data: &Dataset) -> Option<(String, ExportJob)> {
        None
    }
}
