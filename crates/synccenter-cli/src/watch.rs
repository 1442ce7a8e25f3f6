//! `synccenter watch`: the live feed. A pure view model ([`WatchState`]: snapshot + updates → lines and bar
//! views, and [`envelope`] for `--json`) kept apart from the drawing, so what a person or a script sees is
//! unit-tested without a terminal or a daemon. indicatif draws the bars on stderr, and only when stderr is a
//! terminal and `--json` is off; otherwise one plain line per change goes to stdout.
//!
//! It never changes anything in the daemon: it only subscribes.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use synccenter_client::methods::{AmountInfo, SubscribeResult, Update, UpdateKind};
use synccenter_client::{CancelWire, ClientError, StatusWire, Subscription};
use synccenter_human::{Estimate, Meter};

use crate::exit::Exit;
use crate::output;
use crate::progress;
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
    /// The amount in its unit, when the report gave one.
    pub(crate) amount: Option<AmountInfo>,
}

impl ItemView {
    fn numbers(&self) -> Option<(synccenter_human::Unit, u64, u64)> {
        progress::numbers(Some((self.step, self.max_step)), self.amount.as_ref())
    }
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

/// What `watch` knows: the live sessions, in the order they started, and each running item's rate meter
/// (keyed `session/item`).
#[derive(Clone, Debug, Default)]
pub(crate) struct WatchState {
    pub(crate) sessions: Vec<SessionView>,
    meters: HashMap<String, (Meter, Estimate)>,
}

fn progress_text(i: &ItemView, estimate: Option<Estimate>) -> String {
    progress::describe("waiting", i.status, i.numbers(), estimate, &i.text)
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
                        amount: i.amount,
                    })
                    .collect(),
            })
            .collect();
        WatchState { sessions, meters: HashMap::new() }
    }

    /// Feeds an item's numbers, seen `at`, to its meter; a finished item's meter goes.
    fn measure(&mut self, session: &str, item: &ItemView, at: Duration) -> Option<Estimate> {
        let key = format!("{session}/{}", item.item);
        let running = matches!(item.status, Some(StatusWire::Updating | StatusWire::UpdatingIndeterminate));
        let Some((_, done, total)) = item.numbers().filter(|_| running) else {
            self.meters.remove(&key);
            return None;
        };
        let (meter, estimate) = self.meters.entry(key).or_default();
        *estimate = meter.sample(at, done, total);
        Some(*estimate)
    }

    /// The last estimate of an item, when it is running with numbers.
    pub(crate) fn estimate(&self, session: &str, item: &str) -> Option<Estimate> {
        self.meters.get(&format!("{session}/{item}")).map(|m| m.1)
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
                lines.push(format!("{}/{}: {}", s.handler, i.item, progress_text(i, None)));
            }
        }
        lines
    }

    /// Applies an update seen `at` (since any fixed start) and returns the lines that describe it for the
    /// plain output.
    pub(crate) fn apply(&mut self, change: &UpdateKind, at: Duration) -> Vec<String> {
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
            UpdateKind::Progress { session, item, status, step, max_step, text, amount } => {
                let handler = self.handler_of(session);
                let view = ItemView {
                    item: item.clone(),
                    status: *status,
                    step: *step,
                    max_step: *max_step,
                    text: text.clone(),
                    amount: *amount,
                };
                let estimate = self.measure(session, &view, at);
                let line = format!("{handler}/{item}: {}", progress_text(&view, estimate));
                if let Some(s) = self.find(session) {
                    match s.items.iter_mut().find(|i| i.item == *item) {
                        Some(i) => *i = view,
                        None => s.items.push(view),
                    }
                }
                vec![line]
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
                self.meters.retain(|k, _| !k.starts_with(&format!("{session}/")));
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
                let finished = i.status.is_some_and(StatusWire::is_final);
                let (pos, len) = match i.numbers() {
                    Some((_, done, total)) if i.status == Some(StatusWire::Updating) && total > 0 => {
                        (done.min(total), Some(total))
                    }
                    _ if finished => (1, Some(1)),
                    _ => (0, None),
                };
                let mut message = progress_text(i, self.estimate(&s.session, &i.item));
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

/// An update as one `watch --json` line: `{"type": <update type>, "data": {"seq": …, …}}`. A running item's
/// progress carries `watch`'s own estimate beside the raw numbers: `rate` (the amount's unit, or steps, per
/// second) and `seconds_left`, `null` while unknown.
pub(crate) fn envelope(update: &Update, estimate: Option<Estimate>) -> Value {
    let mut data = serde_json::to_value(update).unwrap_or(Value::Null);
    let kind = data.as_object_mut().and_then(|o| o.remove("type")).unwrap_or(Value::Null);
    if let (Some(e), Some(o)) = (estimate, data.as_object_mut()) {
        o.insert("rate".into(), json!(e.rate));
        o.insert("seconds_left".into(), json!(e.left.map(|l| l.as_secs())));
    }
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
        let bar = ProgressStyle::with_template("  {prefix:30} [{bar:30}] {msg}")
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
    let started = Instant::now();
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
        let lines = state.apply(&update.change, started.elapsed());
        match &mut mode {
            Mode::Json => {
                let estimate = match &update.change {
                    UpdateKind::Progress { session, item, .. } => state.estimate(session, item),
                    _ => None,
                };
                output::json(&envelope(&update, estimate))?;
            }
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

    use synccenter_client::UnitWire;

    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn bytes(session: &str, done: u64, total: u64) -> UpdateKind {
        UpdateKind::Progress {
            session: session.into(),
            item: "docs".into(),
            status: Some(StatusWire::Updating),
            step: 0,
            max_step: 0,
            text: String::new(),
            amount: Some(AmountInfo { unit: UnitWire::Bytes, done, total }),
        }
    }

    /// Issue 20: bytes as bytes with a smoothed rate, a time left that stays unknown while the total grows,
    /// the bar in bytes, and `--json` with the raw numbers, the unit and the estimate.
    #[test]
    fn bytes_read_as_bytes_with_rate_and_time_left() {
        let mut st = WatchState::from_snapshot(&snapshot());
        let mib = 1024 * 1024;
        assert_eq!(
            st.apply(&bytes("s1", 0, 60 * mib), secs(0)),
            vec!["nas/docs: updating 0 B of 60.0 MiB, time left unknown"]
        );
        let lines = st.apply(&bytes("s1", 2 * mib, 80 * mib), secs(1));
        assert_eq!(lines, vec!["nas/docs: updating 2.0 MiB of 80.0 MiB, 2.0 MiB/s, time left unknown"], "total grew");
        st.apply(&bytes("s1", 4 * mib, 80 * mib), secs(2));
        let lines = st.apply(&bytes("s1", 6 * mib, 80 * mib), secs(3));
        assert_eq!(lines, vec!["nas/docs: updating 6.0 MiB of 80.0 MiB, 2.0 MiB/s, 0:37 left"]);
        let bar = &st.bars()[0];
        assert_eq!((bar.pos, bar.len), (6 * mib, Some(80 * mib)));
        assert_eq!(bar.message, "updating 6.0 MiB of 80.0 MiB, 2.0 MiB/s, 0:37 left");
        let update = Update { seq: 3, change: bytes("s1", 6 * mib, 80 * mib) };
        let line = envelope(&update, st.estimate("s1", "docs"));
        assert_eq!(line["data"]["amount"], json!({"unit": "bytes", "done": 6 * mib, "total": 80 * mib}));
        assert_eq!(
            (line["data"]["rate"].as_f64(), line["data"]["seconds_left"].as_u64()),
            (Some(2.0 * mib as f64), Some(37))
        );
    }

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
                    amount: None,
                }],
            }],
        }
    }

    #[test]
    fn snapshot_and_updates_become_lines_and_bars() {
        let mut st = WatchState::from_snapshot(&snapshot());
        assert_eq!(st.snapshot_lines(), vec!["nas: session s1 is live", "nas/docs: updating 1 of 4 steps: copying"]);
        assert_eq!(
            st.bars(),
            vec![BarView {
                key: "s1/docs".into(),
                label: "nas/docs".into(),
                pos: 1,
                len: Some(4),
                message: "updating 1 of 4 steps: copying".into(),
            }]
        );
        let lines = st.apply(
            &UpdateKind::Progress {
                session: "s1".into(),
                item: "docs".into(),
                status: Some(StatusWire::UpdatingIndeterminate),
                step: 0,
                max_step: 0,
                text: "scanning".into(),
                amount: None,
            },
            secs(1),
        );
        assert_eq!(lines, vec!["nas/docs: updating_indeterminate: scanning"]);
        assert_eq!(st.bars()[0].len, None);
        let stop = UpdateKind::CancelRequested { session: "s1".into(), item: None, cancel: CancelWire::CancelAll };
        let lines = st.apply(&stop, secs(2));
        assert_eq!(lines, vec!["nas: stop requested"]);
        assert!(!st.is_idle());
        let lines = st.apply(
            &UpdateKind::SessionEnded {
                session: "s1".into(),
                handler: "nas".into(),
                status: StatusWire::Canceled,
                errors: 0,
                conflicts: 0,
                reason: "ended".into(),
            },
            secs(3),
        );
        assert_eq!(lines, vec!["nas: session s1 ended: canceled (0 errors, 0 conflicts)"]);
        assert!(st.is_idle());
        assert!(st.bars().is_empty());
    }

    #[test]
    fn a_started_session_gets_bars() {
        let mut st = WatchState::default();
        assert_eq!(st.snapshot_lines(), vec!["no live sessions"]);
        let s = snapshot().sessions.remove(0);
        assert_eq!(
            st.apply(&UpdateKind::SessionStarted { session: s }, secs(0)),
            vec!["nas: session s1 started (docs)"]
        );
        assert_eq!(st.bars().len(), 1);
    }

    #[test]
    fn the_json_envelope_moves_the_type_out_of_the_data() {
        let u = Update { seq: 9, change: UpdateKind::EventsRemoved { removed: 2 } };
        assert_eq!(envelope(&u, None), json!({"type": "events_removed", "data": {"seq": 9, "removed": 2}}));
        let h = hello("synccenter/0.1.0", &snapshot());
        assert_eq!(h["type"], "hello");
        assert_eq!(h["format_version"], 1);
        assert_eq!(h["snapshot"]["seq"], 7);
    }
}
