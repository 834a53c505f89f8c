//! The interactive dashboard: the same report the headless commands export, on screen.

pub mod app;
pub mod event_loop;
pub mod loader;
pub mod terminal;
pub mod theme;
pub mod view;
pub mod widget;

#[cfg(test)]
mod test_support;

use std::sync::Arc;

use crossterm::event::EventStream;

use app::App;
use loader::LoadContext;
use theme::Theme;

/// Opens the dashboard and runs it until the user quits. `hint` is shown in the status bar
/// (e.g. that the bundled sample is on screen because nothing was configured).
pub fn run(ctx: LoadContext, hint: Option<String>) -> anyhow::Result<()> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let outcome = runtime.block_on(async {
        let (_guard, mut terminal) = terminal::TerminalGuard::enter()?;
        let mut app = App::new(Theme::from_env());
        app.hint = hint;
        // The Chargeback view allocates as `costscope allocate` would with this config.
        app.chargeback.settings = ctx.config.allocation.clone();
        event_loop::run(&mut terminal, &mut app, Arc::new(ctx), EventStream::new()).await
    });
    // A load may still be analysing (its read stops at `q`, the analysis does not): the user
    // quit, so nothing it would produce is wanted.
    runtime.shutdown_background();
    outcome
}
