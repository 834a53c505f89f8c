//! The main loop: terminal events, background results and a tick, one `update` each, then one
//! draw. Generic over the backend so tests can drive the real loop.

use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::Event;
use futures_util::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;

use super::app::{App, Effect, Msg};
use super::loader::{LoadContext, analyse, load};
use super::view::{self, ExportJob};
use crate::export::{self, write_atomic};

/// Bounded: background tasks send a handful of messages per load; 1024 is never reached in
/// practice and back-pressure (not memory) is what happens if it were.
const CHANNEL: usize = 1024;

pub async fn run<B, E>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    ctx: Arc<LoadContext>,
    mut events: E,
) -> anyhow::Result<()>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    E: Stream<Item = io::Result<Event>> + Unpin,
{
    let (tx, mut rx) = mpsc::channel::<Msg>(CHANNEL);
    let mut effects = app.start();
    let mut ticker = tokio::time::interval(Duration::from_millis(120));
    loop {
        for effect in effects.drain(..) {
            spawn(effect, &ctx, &tx);
        }
        terminal.draw(|f| view::render(app, f))?;
        if app.quit {
            return Ok(());
        }
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => {
                    if let Some(msg) = to_msg(event) {
                        effects.extend(app.update(msg));
                    }
                }
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(()),
            },
            Some(msg) = rx.recv() => effects.extend(app.update(msg)),
            _ = ticker.tick() => effects.extend(app.update(Msg::Tick)),
        }
        // Drain whatever else is queued, then draw once.
        while let Ok(msg) = rx.try_recv() {
            effects.extend(app.update(msg));
        }
    }
}

fn to_msg(event: Event) -> Option<Msg> {
    match event {
        Event::Key(k) => Some(Msg::Key(k)),
        Event::Mouse(m) => Some(Msg::Mouse(m)),
        Event::Resize(w, h) => Some(Msg::Resize(w, h)),
        _ => None,
    }
}

/// Runs an effect off the event loop; its result comes back as a message.
fn spawn(effect: Effect, ctx: &Arc<LoadContext>, tx: &mpsc::Sender<Msg>) {
    let ctx = ctx.clone();
    let tx = tx.clone();
    tokio::task::spawn_blocking(move || {
        let msg = match effect {
            Effect::Load { generation, watch } => {
                Msg::Loaded { generation, result: load(&ctx, generation, &tx, &watch) }
            }
            Effect::Rebuild { generation, snapshot } => {
                Msg::Loaded { generation, result: analyse(&ctx, snapshot) }
            }
            Effect::Export { path, job } => Msg::Exported(
                write_atomic(&path, |w: &mut dyn Write| write_job(w, &job))
                    .map(|()| path.clone())
                    .map_err(|e| e.to_string()),
            ),
            Effect::Suppress { rule_id, resource_id, reason } => {
                Msg::Suppressed(suppress(&ctx, &rule_id, &resource_id, &reason))
            }
        };
        let _ = tx.blocking_send(msg);
    });
}

/// The same exporters as the headless commands.
fn write_job(w: &mut dyn Write, job: &ExportJob) -> io::Result<()> {
    let notes = export::Notes::default();
    match job {
        ExportJob::Findings(findings) => export::csv::write_findings(w, findings, &notes),
        ExportJob::Costs(costs) => export::csv::write_costs(w, costs, &notes),
        ExportJob::Tags(tags) => export::csv::write_tags(w, tags, &notes),
        ExportJob::Commitments(report) => export::csv::write_commitments(
            w,
            report,
            export::csv::CommitmentTable::Commitments,
            &notes,
        ),
        ExportJob::Anomalies(report) => export::csv::write_anomalies(w, report, &notes),
        ExportJob::Report(report) => export::json::write_report(w, report),
    }
}

/// How long the dashboard waits for another process writing the suppressions file; a save
/// takes milliseconds, so a longer wait means a stuck holder worth telling the user about.
const SUPPRESSIONS_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

fn suppress(
    ctx: &LoadContext,
    rule_id: &str,
    resource_id: &str,
    reason: &str,
) -> Result<String, String> {
    let path = ctx.config.suppressions_path().ok_or_else(|| {
        "no suppressions file: set HOME or [suppressions] in the config".to_string()
    })?;
    crate::suppressions::Suppressions::edit(&path, SUPPRESSIONS_LOCK_WAIT, |set| {
        set.add(rule_id, resource_id, reason, chrono::Utc::now())
    })
    .map_err(|e| e.to_string())?;
    Ok(format!("ignored {rule_id} on {resource_id} (saved to {})", path.display()))
}
