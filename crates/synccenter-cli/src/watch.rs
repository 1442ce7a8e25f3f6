//! `synccenter watch`: the live feed. A pure view model ([`WatchState`]: snapshot + updates → lines and bar
//! views, and [`envelope`] for `--json`) kept apart from the drawing, so what a person or a script sees is
//! unit-tested without a terminal or a daemon. indicatif draws the bars on stderr, and only when stderr is a
//! terminal and `--json` is off; otherwise one plain line per change goes to stdout.
//!
//! It never changes anything in the daemon: it only subscribes.

use std::collections::HashMap;
use std::io::IsTerminal;

use anyhow::Context;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use synccenter_client::methods::{SubscribeResult, Update, UpdateKind};
use synccenter_client::{CancelWire, ClientError, StatusWire, Subscription};

use crate::exit::Exit;
use crate::output;
use crate::verbs::Ctx;

/// The version of the `watch --json` line format, carried by its first (`hello`) line.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// One item of a live session, as drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ItemView {
    pub(crate) item: String,
    pub(crate) status: Option<StatusWire>,
    pub(crate) step: u32,
    pub(crate) max_step: u32,
    pub(crate) text: String,
}

/// A live session, as drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SessionView {
    pub(crate) session: String,
    pub(crate) handler: String,
    pub(crate) handler_text: Option<String>,
    pub(crate) items: Vec<ItemView>,
}

/// One progress bar: a (session, item) pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BarView {
    /// Stable identity (`session/item`).
    pub(crate) key: String,
    /// `handler/item`.
    pub(crate) label: String,
    /// Position; meaningful only with `len`.
    pub(crate) pos: u64,
    /// Length; `None` draws a spinner (indeterminate).
    pub(crate) len: Option<u64>,
    /// Status and text.
    pub(crate) message: String,
}

/// What `watch` knows: the live sessions, in the order they started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct WatchState {
    pub(crate) sessions: Vec<SessionView>,
}

fn progress_text(status: Option<StatusWire>, step: u32, max_step: u32, text: &str) -> String {
    let mut s = status.map_or("waiting", StatusWire::name).to_owned();
    if max_step > 0 && status == Some(StatusWire::Updating) {
        s.push_str(&format!(" {step}/{max_step}"));
    }
    if !text.is_empty() {
        s.push_str(": ");
        s.push_str(text);
    }
    s
}

impl WatchState {
    /// The state `subscribe` answered.
    pub(crate) fn from_snapshot(snapshot: &SubscribeResult) -> WatchState {
        let sessions = snapshot
            .sessions
            .iter()
            .map(|s| SessionView {
                session: s.session.clone(),
                handler: s.handler.clone(),
                handler_text: s.handler_text.clone(),
                items: s
                    .items
                    .iter()
                    .map(|i| ItemView {
                        item: i.item.clone(),
                        status: i.status,
                        step: i.step,
                        max_step: i.max_step,
                        text: i.text.clone(),
                    })
                    .collect(),
            })
            .collect();
        WatchState { sessions }
    }

    /// No session is live.
    pub(crate) fn is_idle(&self) -> bool {
        self.sessions.is_empty()
    }

    fn find(&mut self, session: &str) -> Option<&mut SessionView> {
        self.sessions.iter_mut().find(|s| s.session == session)
    }

    fn handler_of(&self, session: &str) -> String {
        self.sessions.iter().find(|s| s.session == session).map_or_else(|| session.to_owned(), |s| s.handler.clone())
    }

    /// Lines describing the snapshot, for the plain (non-terminal) output.
    pub(crate) fn snapshot_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.sessions.is_empty() {
            lines.push("no live sessions".to_owned());
        }
        for s in &self.sessions {
            lines.push(format!("{}: session {} is live", s.handler, s.session));
            for i in &s.items {
                lines.push(format!(
                    "{}/{}: {}",
                    s.handler,
                    i.item,
                    progress_text(i.status, i.step, i.max_step, &i.text)
                ));
            }
        }
        lines
    }

    /// Applies an update and returns the lines that describe it for the plain output.
    pub(crate) fn apply(&mut self, change: &UpdateKind) -> Vec<String> {
        match change {
            UpdateKind::SessionStarted { session } => {
                let items: Vec<&str> = session.items.iter().map(|i| i.item.as_str()).collect();
                let line = format!("{}: session {} started ({})", session.handler, session.session, items.join(", "));
                self.sessions.retain(|s| s.session != session.session);
                self.sessions.push(
                    WatchState::from_snapshot(&SubscribeResult {
                        seq: 0,
                        handlers: Vec::new(),
                        sessions: vec![session.clone()],
                    })
                    .sessions
                    .remove(0),
                );
                vec![line]
            }
            UpdateKind::Progress { session, item, status, step, max_step, text } => {
                let handler = self.handler_of(session);
                if let Some(s) = self.find(session) {
                    let view = ItemView {
                        item: item.clone(),
                        status: *status,
                        step: *step,
                        max_step: *max_step,
                        text: text.clone(),
                    };
                    match s.items.iter_mut().find(|i| i.item == *item) {
                        Some(i) => *i = view,
                        None => s.items.push(view),
                    }
                }
                vec![format!("{handler}/{item}: {}", progress_text(*status, *step, *max_step, text))]
            }
            UpdateKind::HandlerText { session, text } => {
                let handler = self.handler_of(session);
                if let Some(s) = self.find(session) {
                    s.handler_text = Some(text.clone());
                }
                vec![format!("{handler}: {text}")]
            }
            UpdateKind::CancelRequested { session, item, cancel } => {
                let handler = self.handler_of(session);
                let what = match (cancel, item) {
                    (CancelWire::None, _) => return Vec::new(),
                    (_, Some(item)) => format!("{handler}/{item}"),
                    (_, None) => handler,
                };
                vec![format!("{what}: stop requested")]
            }
            UpdateKind::SessionEnded { session, handler, status, errors, conflicts, reason } => {
                self.sessions.retain(|s| s.session != *session);
                let why = if reason == "ended" { String::new() } else { format!(", {reason}") };
                vec![format!(
                    "{handler}: session {session} ended: {} ({errors} errors, {conflicts} conflicts{why})",
                    status.name()
                )]
            }
            UpdateKind::EventAdded { event } => {
                let what =
                    event.item.as_ref().map_or_else(|| event.handler.clone(), |i| format!("{}/{i}", event.handler));
                vec![format!("{what}: {}: {}: {}", event.level.name(), event.name, event.description)]
            }
            UpdateKind::EventsRemoved { removed } => vec![format!("{removed} sync result(s) removed")],
            UpdateKind::ConflictsChanged { handler } => vec![format!("{handler}: conflicts changed")],
            UpdateKind::RegistryChanged { handler } => vec![format!("{handler}: registration changed")],
        }
    }

    /// One bar per item of every live session.
    pub(crate) fn bars(&self) -> Vec<BarView> {
        let mut bars = Vec::new();
        for s in &self.sessions {
            for i in &s.items {
                let determinate = i.status == Some(StatusWire::Updating) && i.max_step > 0;
                let finished = matches!(
                    i.status,
                    Some(StatusWire::Succeeded | StatusWire::Failed | StatusWire::Canceled | StatusWire::Disconnected)
                );
                let (pos, len) = if determinate {
                    (u64::from(i.step.min(i.max_step)), Some(u64::from(i.max_step)))
                } else if finished {
                    (1, Some(1))
                } else {
                    (0, None)
                };
                let mut message = progress_text(i.status, 0, 0, &i.text);
                if let Some(t) = s.handler_text.as_deref().filter(|t| !t.is_empty()) {
                    message.push_str(&format!(" [{t}]"));
                }
                bars.push(BarView {
                    key: format!("{}/{}", s.session, i.item),
                    label: format!("{}/{}", s.handler, i.item),
                    pos,
                    len,
                    message,
                });
            }
        }
        bars
    }
}

/// The first line of `watch --json`.
pub(crate) fn hello(server: &str, snapshot: &SubscribeResult) -> Value {
    json!({
        "type": "hello",
        "format_version": FORMAT_VERSION,
        "server": server,
        "snapshot": snapshot,
    })
}

/// An update as one `watch --json` line: `{"type": <update type>, "data": {"seq": …, …}}`.
pub(crate) fn envelope(update: &Update) -> Value {
    let mut data = serde_json::to_value(update).unwrap_or(Value::Null);
    let kind = data.as_object_mut().and_then(|o| o.remove("type")).unwrap_or(Value::Null);
    json!({ "type": kind, "data": data })
}

/// Draws bars with indicatif on stderr.
struct Bars {
    multi: MultiProgress,
    bars: HashMap<String, ProgressBar>,
}

impl Bars {
    fn new() -> Bars {
        Bars { multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()), bars: HashMap::new() }
    }

    fn println(&self, lines: &[String]) {
        for l in lines {
            // A failed draw is not worth stopping the feed for.
            let _ = self.multi.println(l);
        }
    }

    fn sync(&mut self, views: &[BarView]) {
        let spinner = ProgressStyle::with_template("{spinner} {prefix:30} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bar = ProgressStyle::with_template("  {prefix:30} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let keep: Vec<&str> = views.iter().map(|v| v.key.as_str()).collect();
        self.bars.retain(|k, b| {
            let alive = keep.contains(&k.as_str());
            if !alive {
                b.finish_and_clear();
                self.multi.remove(b);
            }
            alive
        });
        for v in views {
            let pb = self.bars.entry(v.key.clone()).or_insert_with(|| {
                let pb = self.multi.add(ProgressBar::new_spinner());
                pb.set_prefix(v.label.clone());
                pb.enable_steady_tick(std::time::Duration::from_millis(120));
                pb
            });
            match v.len {
                Some(len) => {
                    pb.set_style(bar.clone());
                    pb.set_length(len);
                    pb.set_position(v.pos);
                }
                None => pb.set_style(spinner.clone()),
            }
            pb.set_message(v.message.clone());
        }
    }

    fn clear(&mut self) {
        for (_, b) in self.bars.drain() {
            b.finish_and_clear();
        }
    }
}

enum Mode {
    Json,
    Bars(Bars),
    Plain,
}

/// `watch [--exit-when-idle]`.
pub(crate) async fn run(ctx: &Ctx, exit_when_idle: bool) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    let server = client.server().server.clone();
    let mut mode = if ctx.json {
        Mode::Json
    } else if std::io::stderr().is_terminal() {
        Mode::Bars(Bars::new())
    } else {
        Mode::Plain
    };
    let mut sub: Subscription = client.subscribe().await.context("cannot subscribe to the live feed")?;
    let mut state = start(&mut mode, &server, &sub)?;
    loop {
        if exit_when_idle && state.is_idle() {
            if let Mode::Bars(b) = &mut mode {
                b.clear();
            }
            return Ok(Exit::OK);
        }
        let update = match sub.next().await {
            Ok(u) => u,
            Err(ClientError::Lagged { .. }) => {
                // Fell behind: start again from a fresh snapshot (a new hello line in JSON).
                sub = client.subscribe().await.context("cannot subscribe to the live feed again")?;
                state = start(&mut mode, &server, &sub)?;
                continue;
            }
            Err(e) => return Err(e).context("the live feed ended"),
        };
        let lines = state.apply(&update.change);
        match &mut mode {
            Mode::Json => output::json(&envelope(&update))?,
            Mode::Plain => output::lines(&lines)?,
            Mode::Bars(b) => {
                if !matches!(update.change, UpdateKind::Progress { .. } | UpdateKind::HandlerText { .. }) {
                    b.println(&lines);
                }
                b.sync(&state.bars());
            }
        }
    }
}

fn start(mode: &mut Mode, server: &str, sub: &Subscription) -> anyhow::Result<WatchState> {
    let state = WatchState::from_snapshot(sub.snapshot());
    match mode {
        Mode::Json => output::json(&hello(server, sub.snapshot()))?,
        Mode::Plain => output::lines(&state.snapshot_lines())?,
        Mode::Bars(b) => b.sync(&state.bars()),
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use synccenter_client::methods::{SessionInfo, SessionItemInfo};

    use super::*;

    fn snapshot() -> SubscribeResult {
        SubscribeResult {
            seq: 7,
            handlers: Vec::new(),
            sessions: vec![SessionInfo {
                session: "s1".into(),
                handler: "nas".into(),
                started_at: "2026-01-01T00:00:00Z".into(),
                manual: false,
                handler_text: None,
                stop_all: false,
                stopped_items: Vec::new(),
                items: vec![SessionItemInfo {
                    item: "docs".into(),
                    status: Some(StatusWire::Updating),
                    step: 1,
                    max_step: 4,
                    text: "copying".into(),
                }],
            }],
        }
    }

    #[test]
    fn snapshot_and_updates_become_lines_and_bars() {
        let mut st = WatchState::from_snapshot(&snapshot());
        assert_eq!(st.snapshot_lines(), vec!["nas: session s1 is live", "nas/docs: updating 1/4: copying"]);
        assert_eq!(
            st.bars(),
            vec![BarView {
                key: "s1/docs".into(),
                label: "nas/docs".into(),
                pos: 1,
                len: Some(4),
                message: "updating: copying".into(),
            }]
        );
        let lines = st.apply(&UpdateKind::Progress {
            session: "s1".into(),
            item: "docs".into(),
            status: Some(StatusWire::UpdatingIndeterminate),
            step: 0,
            max_step: 0,
            text: "scanning".into(),
        });
        assert_eq!(lines, vec!["nas/docs: updating_indeterminate: scanning"]);
        assert_eq!(st.bars()[0].len, None);
        let lines =
            st.apply(&UpdateKind::CancelRequested { session: "s1".into(), item: None, cancel: CancelWire::CancelAll });
        assert_eq!(lines, vec!["nas: stop requested"]);
        assert!(!st.is_idle());
        let lines = st.apply(&UpdateKind::SessionEnded {
            session: "s1".into(),
            handler: "nas".into(),
            status: StatusWire::Canceled,
            errors: 0,
            conflicts: 0,
            reason: "ended".into(),
        });
        assert_eq!(lines, vec!["nas: session s1 ended: canceled (0 errors, 0 conflicts)"]);
        assert!(st.is_idle());
        assert!(st.bars().is_empty());
    }

    #[test]
    fn a_started_session_gets_bars() {
        let mut st = WatchState::default();
        assert_eq!(st.snapshot_lines(), vec!["no live sessions"]);
        let s = snapshot().sessions.remove(0);
        assert_eq!(st.apply(&UpdateKind::SessionStarted { session: s }), vec!["nas: session s1 started (docs)"]);
        assert_eq!(st.bars().len(), 1);
    }

    #[test]
    fn the_json_envelope_moves_the_type_out_of_the_data() {
        let u = Update { seq: 9, change: UpdateKind::EventsRemoved { removed: 2 } };
        assert_eq!(envelope(&u), json!({"type": "events_removed", "data": {"seq": 9, "removed": 2}}));
        let h = hello("synccenter/0.1.0", &snapshot());
        assert_eq!(h["type"], "hello");
        assert_eq!(h["format_version"], 1);
        assert_eq!(h["snapshot"]["seq"], 7);
    }
}
