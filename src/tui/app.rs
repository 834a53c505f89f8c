//! Dashboard state and the one `update` function every change goes through.
//!
//! `App::update(msg)` changes state and returns effects (load, export, save a suppression) for
//! the event loop to run; it does no I/O, so tests drive it with messages and no terminal.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::theme::Theme;
use super::view::chargeback::ChargebackView;
use super::view::cluster::ClusterView;
use super::view::commitments::CommitmentsView;
use super::view::costs::CostsView;
use super::view::overview::OverviewView;
use super::view::recommendations::RecommendationsView;
use super::view::review::ReviewView;
use super::view::tags::TagsView;
use super::view::{ExportJob, ViewOutcome, ViewState};
use crate::model::Snapshot;
use crate::report::Report;
use crate::source::progress::ReadProgress;

/// The eight views, in tab order (newer views last, so the older views keep their number keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewId {
    Overview,
    Costs,
    Tags,
    Cluster,
    Recommendations,
    Commitments,
    Review,
    Chargeback,
}

impl ViewId {
    pub const ALL: [ViewId; 8] = [
        ViewId::Overview,
        ViewId::Costs,
        ViewId::Tags,
        ViewId::Cluster,
        ViewId::Recommendations,
        ViewId::Commitments,
        ViewId::Review,
        ViewId::Chargeback,
    ];

    pub fn title(self) -> &'static str {
        match self {
            ViewId::Overview => "Overview",
            ViewId::Costs => "Costs",
            ViewId::Tags => "Tags",
            ViewId::Cluster => "Cluster",
            ViewId::Recommendations => "Recommendations",
            ViewId::Commitments => "Commitments",
            ViewId::Review => "Review",
            ViewId::Chargeback => "Chargeback",
        }
    }

    /// The title on a tab bar too narrow for [`ViewId::title`].
    pub fn short_title(self) -> &'static str {
        match self {
            ViewId::Recommendations => "Recs",
            ViewId::Commitments => "Commits",
            ViewId::Chargeback => "Charge",
            other => other.title(),
        }
    }

    pub fn index(self) -> usize {
        ViewId::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }

    fn step(self, delta: isize) -> ViewId {
        let n = ViewId::ALL.len() as isize;
        ViewId::ALL[((self.index() as isize + delta).rem_euclid(n)) as usize]
    }
}

/// Something that takes time, as a state rather than an empty value.
#[derive(Debug)]
pub enum Loadable<T> {
    Loading { since: Instant },
    Ready(T),
    Failed(String),
}

/// Everything the views show: the report (all numbers) and the snapshot it was made from.
#[derive(Debug)]
pub struct Dataset {
    pub report: Report,
    pub snapshot: Arc<Snapshot>,
}

/// Progress of one source during a load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    Waiting,
    Loading,
    Done(String),
    Failed(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceProgress {
    pub name: String,
    pub state: Progress,
}

/// Everything that can change the dashboard's state.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    Tick,
    /// The sources a load will read, in order.
    Sources {
        generation: u64,
        names: Vec<String>,
    },
    Progress {
        generation: u64,
        source: usize,
        state: Progress,
    },
    Loaded {
        generation: u64,
        result: Result<Box<Dataset>, String>,
    },
    Exported(Result<PathBuf, String>),
    Suppressed(Result<String, String>),
}

/// Work for the event loop.
#[derive(Debug)]
pub enum Effect {
    /// Read the sources again and rebuild everything; results carry `generation`.
    Load {
        generation: u64,
        /// Shared with the load, which reports rows read into it and stops when it is cancelled.
        watch: Arc<ReadProgress>,
    },
    /// Rebuild the report from the loaded snapshot (after a suppression changed).
    Rebuild {
        generation: u64,
        snapshot: Arc<Snapshot>,
    },
    Export {
        path: PathBuf,
        job: Box<ExportJob>,
    },
    Suppress {
        rule_id: String,
        resource_id: String,
        reason: String,
    },
}

/// A one-line text prompt at the bottom of the screen.
#[derive(Debug)]
pub enum Prompt {
    Export { input: String, job: Box<ExportJob> },
    Ignore { rule_id: String, resource_id: String, input: String },
}

impl Prompt {
    fn input(&mut self) -> &mut String {
        match self {
            Prompt::Export { input, .. } | Prompt::Ignore { input, .. } => input,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusKind {
    Info,
    Warning,
    Error,
}

pub struct App {
    pub view: ViewId,
    pub data: Loadable<Box<Dataset>>,
    /// Incremented by each load; results of older loads are dropped.
    pub generation: u64,
    pub progress: Vec<SourceProgress>,
    /// The current load's rows and bytes read (the loading screen's bar); cancelled by `q`.
    pub read: Arc<ReadProgress>,
    pub status: Option<(StatusKind, String)>,
    /// Shown in the status bar permanently, e.g. "showing the bundled sample".
    pub hint: Option<String>,
    pub help: bool,
    pub prompt: Option<Prompt>,
    /// Typing goes to the current table's filter.
    pub filtering: bool,
    pub quit: bool,
    pub theme: Theme,
    pub tick: u64,
    pub overview: OverviewView,
    pub costs: CostsView,
    pub tags: TagsView,
    pub cluster: ClusterView,
    pub recommendations: RecommendationsView,
    pub commitments: CommitmentsView,
    pub review: ReviewView,
    pub chargeback: ChargebackView,
    /// Where the tab titles were drawn, for mouse clicks: (x start, x end, view).
    pub tab_spans: std::cell::RefCell<Vec<(u16, u16, ViewId)>>,
}

impl App {
    pub fn new(theme: Theme) -> App {
        App {
            view: ViewId::Overview,
            data: Loadable::Loading { since: Instant::now() },
            generation: 0,
            progress: Vec::new(),
            read: ReadProgress::new(),
            status: None,
            hint: None,
            help: false,
            prompt: None,
            filtering: false,
            quit: false,
            theme,
            tick: 0,
            overview: OverviewView::default(),
            costs: CostsView::default(),
            tags: TagsView::default(),
            cluster: ClusterView::default(),
            recommendations: RecommendationsView::default(),
            commitments: CommitmentsView::default(),
            review: ReviewView::default(),
            chargeback: ChargebackView::default(),
            tab_spans: Default::default(),
        }
    }

    /// Starts the first load.
    pub fn start(&mut self) -> Vec<Effect> {
        self.reload()
    }

    fn reload(&mut self) -> Vec<Effect> {
        self.generation += 1;
        self.progress.clear();
        if !matches!(self.data, Loadable::Ready(_)) {
            self.data = Loadable::Loading { since: Instant::now() };
        }
        self.status = Some((StatusKind::Info, "loading…".into()));
        // A refresh replaces an unfinished load: the old one stops reading.
        self.read.cancel();
        self.read = ReadProgress::new();
        vec![Effect::Load { generation: self.generation, watch: self.read.clone() }]
    }

    pub fn dataset(&self) -> Option<&Dataset> {
        match &self.data {
            Loadable::Ready(d) => Some(d),
            _ => None,
        }
    }

    pub fn is_loading(&self) -> bool {
        self.progress.iter().any(|p| matches!(p.state, Progress::Loading | Progress::Waiting))
            || matches!(self.data, Loadable::Loading { .. })
    }

    fn view_state(&mut self, id: ViewId) -> &mut dyn ViewState {
        match id {
            ViewId::Overview => &mut self.overview,
            ViewId::Costs => &mut self.costs,
            ViewId::Tags => &mut self.tags,
            ViewId::Cluster => &mut self.cluster,
            ViewId::Recommendations => &mut self.recommendations,
            ViewId::Commitments => &mut self.commitments,
            ViewId::Review => &mut self.review,
            ViewId::Chargeback => &mut self.chargeback,
        }
    }

    pub fn current(&self) -> &dyn ViewState {
        match self.view {
            ViewId::Overview => &self.overview,
            ViewId::Costs => &self.costs,
            ViewId::Tags => &self.tags,
            ViewId::Cluster => &self.cluster,
            ViewId::Recommendations => &self.recommendations,
            ViewId::Commitments => &self.commitments,
            ViewId::Review => &self.review,
            ViewId::Chargeback => &self.chargeback,
        }
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        let effects = self.handle(msg);
        // Whatever brought the Chargeback view on screen (a key, a click, new data while it is
        // shown), its allocation is made before the next draw.
        if self.view == ViewId::Chargeback
            && let Loadable::Ready(data) = &self.data
        {
            self.chargeback.ensure_loaded(data);
        }
        effects
    }

    fn handle(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Tick => {
                self.tick = self.tick.wrapping_add(1);
                Vec::new()
            }
            Msg::Resize(..) => Vec::new(),
            Msg::Sources { generation, names } => {
                if generation == self.generation {
                    self.progress = names
                        .into_iter()
                        .map(|name| SourceProgress { name, state: Progress::Waiting })
                        .collect();
                }
                Vec::new()
            }
            Msg::Progress { generation, source, state } => {
                if generation == self.generation
                    && let Some(p) = self.progress.get_mut(source)
                {
                    p.state = state;
                }
                Vec::new()
            }
            Msg::Loaded { generation, result } => {
                if generation != self.generation {
                    return Vec::new(); // a refresh started since: this result is stale
                }
                match result {
                    Ok(data) => {
                        for id in ViewId::ALL {
                            self.view_state(id).load(&data);
                        }
                        let failed: Vec<String> = data
                            .report
                            .sources
                            .iter()
                            .filter(|s| s.state != crate::model::SourceState::Ok)
                            .map(|s| s.name.clone())
                            .collect();
                        self.status = if failed.is_empty() {
                            Some((StatusKind::Info, "loaded".into()))
                        } else {
                            Some((
                                StatusKind::Warning,
                                format!("partial data: {} (see Overview)", failed.join(", ")),
                            ))
                        };
                        self.data = Loadable::Ready(data);
                    }
                    Err(e) => {
                        self.status = Some((StatusKind::Error, e.clone()));
                        if !matches!(self.data, Loadable::Ready(_)) {
                            self.data = Loadable::Failed(e);
                        }
                    }
                }
                Vec::new()
            }
            Msg::Exported(result) => {
                self.status = Some(match result {
                    Ok(path) => (StatusKind::Info, format!("exported to {}", path.display())),
                    Err(e) => (StatusKind::Error, format!("export failed: {e}")),
                });
                Vec::new()
            }
            Msg::Suppressed(result) => match result {
                Ok(message) => {
                    self.status = Some((StatusKind::Info, message));
                    match &self.data {
                        Loadable::Ready(d) => vec![Effect::Rebuild {
                            generation: self.generation,
                            snapshot: d.snapshot.clone(),
                        }],
                        _ => Vec::new(),
                    }
                }
                Err(e) => {
                    self.status = Some((StatusKind::Error, format!("could not save: {e}")));
                    Vec::new()
                }
            },
            Msg::Key(key) => self.key(key),
            Msg::Mouse(mouse) => self.mouse(mouse),
        }
    }

    fn key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('c')) {
            self.read.cancel();
            self.quit = true;
            return Vec::new();
        }
        if let Some(prompt) = self.prompt.as_mut() {
            match key.code {
                KeyCode::Esc => {
                    self.prompt = None;
                    self.status = Some((StatusKind::Info, "cancelled".into()));
                }
                KeyCode::Enter => {
                    if let Some(prompt) = self.prompt.take() {
                        return self.submit(prompt);
                    }
                }
                KeyCode::Backspace => {
                    prompt.input().pop();
                }
                KeyCode::Char(c) if !ctrl => prompt.input().push(c),
                _ => {}
            }
            return Vec::new();
        }
        if self.help {
            self.help = false;
            return Vec::new();
        }
        if self.filtering {
            let view = self.view;
            match key.code {
                KeyCode::Esc => {
                    self.filtering = false;
                    if let Some(t) = self.view_state(view).table() {
                        t.set_filter("");
                    }
                }
                KeyCode::Enter => self.filtering = false,
                KeyCode::Backspace => {
                    if let Some(t) = self.view_state(view).table() {
                        let mut f = t.filter.clone();
                        f.pop();
                        t.set_filter(&f);
                    }
                }
                KeyCode::Char(c) if !ctrl => {
                    if let Some(t) = self.view_state(view).table() {
                        let f = format!("{}{c}", t.filter);
                        t.set_filter(&f);
                    }
                }
                KeyCode::Up | KeyCode::Down => {
                    self.filtering = false;
                    return self.key(key);
                }
                _ => {}
            }
            return Vec::new();
        }
        match key.code {
            KeyCode::Char('q') => {
                // Stops a read in progress, so quitting never waits for a big file.
                self.read.cancel();
                self.quit = true;
                return Vec::new();
            }
            KeyCode::Char('?') => {
                self.help = true;
                return Vec::new();
            }
            KeyCode::Char(c @ '1'..='8') => {
                self.view = ViewId::ALL[(c as usize) - ('1' as usize)];
                return Vec::new();
            }
            KeyCode::Tab => {
                self.view = self.view.step(1);
                return Vec::new();
            }
            KeyCode::BackTab => {
                self.view = self.view.step(-1);
                return Vec::new();
            }
            KeyCode::Char('r') => return self.reload(),
            KeyCode::Char('/') => {
                let view = self.view;
                if self.view_state(view).table().is_some() {
                    self.filtering = true;
                }
                return Vec::new();
            }
            KeyCode::Char('e') => {
                let Some(data) = self.dataset() else {
                    self.status = Some((StatusKind::Warning, "nothing to export yet".into()));
                    return Vec::new();
                };
                match self.current().export(data) {
                    Some((name, job)) => {
                        self.prompt = Some(Prompt::Export { input: name, job: Box::new(job) });
                    }
                    None => {
                        self.status =
                            Some((StatusKind::Warning, "this view has nothing to export".into()))
                    }
                }
                return Vec::new();
            }
            _ => {}
        }
        let view = self.view;
        // Navigation common to every table.
        if let Some(table) = self.view_state(view).table() {
            let page = table.page();
            let handled = match key.code {
                KeyCode::Down | KeyCode::Char('j') => {
                    table.move_by(1);
                    true
                }
                KeyCode::Up | KeyCode::Char('k') => {
                    table.move_by(-1);
                    true
                }
                KeyCode::PageDown => {
                    table.move_by(page);
                    true
                }
                KeyCode::PageUp => {
                    table.move_by(-page);
                    true
                }
                KeyCode::Home | KeyCode::Char('g') => {
                    table.home();
                    true
                }
                KeyCode::End | KeyCode::Char('G') => {
                    table.end();
                    true
                }
                KeyCode::Char('s') => {
                    table.sort_next();
                    true
                }
                KeyCode::Char('S') => {
                    table.reverse();
                    true
                }
                _ => false,
            };
            if handled {
                return Vec::new();
            }
        }
        let outcome = match self.view {
            ViewId::Overview => dispatch(&mut self.overview, key, &self.data),
            ViewId::Costs => dispatch(&mut self.costs, key, &self.data),
            ViewId::Tags => dispatch(&mut self.tags, key, &self.data),
            ViewId::Cluster => dispatch(&mut self.cluster, key, &self.data),
            ViewId::Recommendations => dispatch(&mut self.recommendations, key, &self.data),
            ViewId::Commitments => dispatch(&mut self.commitments, key, &self.data),
            ViewId::Review => dispatch(&mut self.review, key, &self.data),
            ViewId::Chargeback => dispatch(&mut self.chargeback, key, &self.data),
        };
        match outcome {
            ViewOutcome::Handled | ViewOutcome::Ignored => {}
            ViewOutcome::Prompt(p) => self.prompt = Some(p),
            ViewOutcome::Status(s) => self.status = Some((StatusKind::Info, s)),
        }
        Vec::new()
    }

    fn submit(&mut self, prompt: Prompt) -> Vec<Effect> {
        match prompt {
            Prompt::Export { input, job } => {
                let path = input.trim();
                if path.is_empty() {
                    self.status = Some((StatusKind::Warning, "no file name: not exported".into()));
                    return Vec::new();
                }
                self.status = Some((StatusKind::Info, format!("exporting to {path}…")));
                vec![Effect::Export { path: PathBuf::from(path), job }]
            }
            Prompt::Ignore { rule_id, resource_id, input } => {
                let reason = input.trim().to_string();
                if reason.is_empty() {
                    self.status =
                        Some((StatusKind::Warning, "a reason is required: not ignored".into()));
                    return Vec::new();
                }
                vec![Effect::Suppress { rule_id, resource_id, reason }]
            }
        }
    }

    fn mouse(&mut self, mouse: MouseEvent) -> Vec<Effect> {
        if self.prompt.is_some() {
            return Vec::new();
        }
        let view = self.view;
        match mouse.kind {
            MouseEventKind::ScrollDown => {
                if let Some(t) = self.view_state(view).table() {
                    t.move_by(3);
                }
            }
            MouseEventKind::ScrollUp => {
                if let Some(t) = self.view_state(view).table() {
                    t.move_by(-3);
                }
            }
            MouseEventKind::Down(MouseButton::Left) => {
                self.help = false;
                let hit = self
                    .tab_spans
                    .borrow()
                    .iter()
                    .find(|(a, b, _)| mouse.row == 0 && mouse.column >= *a && mouse.column < *b)
                    .map(|(_, _, v)| *v);
                if let Some(v) = hit {
                    self.view = v;
                } else if let Some(t) = self.view_state(view).table()
                    && !t.click(mouse.column, mouse.row)
                {
                    t.header_click(mouse.column, mouse.row);
                }
            }
            _ => {}
        }
        Vec::new()
    }
}

fn dispatch(view: &mut dyn ViewState, key: KeyEvent, data: &Loadable<Box<Dataset>>) -> ViewOutcome {
    match data {
        Loadable::Ready(d) => view.key(key, d),
        _ => ViewOutcome::Ignored,
    }
}
