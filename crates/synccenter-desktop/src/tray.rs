//! The tray icon: a StatusNotifierItem (`item`) with a `com.canonical.dbusmenu` menu (`menu`), registered with
//! the `org.kde.StatusNotifierWatcher` that Plasma, LXQt's panel, waybar and GNOME's AppIndicator extension run.
//! It shows what [`Live`] says (the surfaces' task hands it over, so there is no second feed): `Passive` when
//! idle, `Active` while a sync runs (only once it has run for [`DEBOUNCE`], so short syncs do not make it
//! flicker), `NeedsAttention` while errors or conflicts wait, with the progress and the counts in the tooltip.
//! The menu's clicks come back here as [`Action`]s and go to the daemon. Without a watcher, this says so once and
//! registers when one appears (`NameOwnerChanged`); a new watcher gets the item again.

pub(crate) mod icon;
mod item;
pub(crate) mod menu;

use std::time::Duration;

use futures_util::StreamExt;
use synccenter_client::Client;
use synccenter_client::EventLevelWire;
use synccenter_client::methods::{ControlTargetParams, EventsFilterParams, PauseParams, ResumeParams};
use synccenter_human::{Estimate, Meter};
use time::format_description::well_known::Rfc3339;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use zbus::{Connection, MessageStream};

use crate::error::DesktopError;
use crate::live::Live;
use crate::report::{Board, Part};
use menu::{Action, Failure};

/// The watcher's name, object and interface.
pub(crate) const WATCHER: &str = "org.kde.StatusNotifierWatcher";
const WATCHER_PATH: &str = "/StatusNotifierWatcher";
/// How long a sync runs before the icon shows it.
pub const DEBOUNCE: Duration = Duration::from_secs(1);
/// How long "Pause all for 1 hour" pauses.
const HOUR: time::Duration = time::Duration::HOUR;

/// What the tray needs of [`Live`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Input {
    /// The live syncs' aggregate progress in thousandths, or `None` when none runs.
    pub progress_permille: Option<u16>,
    /// Their amount in its unit, when they report one (`Live::amount`).
    pub amount: Option<crate::live::Amount>,
    /// Errors needing attention.
    pub errors: u64,
    /// Unresolved conflicts.
    pub conflicts: u64,
}

impl Input {
    /// What `live` says.
    pub fn of(live: &Live) -> Input {
        let conflicts = live.conflicts();
        Input {
            progress_permille: live.dock().progress_permille,
            amount: live.amount(),
            errors: live.attention().saturating_sub(conflicts),
            conflicts,
        }
    }
}

/// The item's `Status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Status {
    /// Idle.
    #[default]
    Passive,
    /// A sync runs.
    Active,
    /// Errors or conflicts wait for a person.
    NeedsAttention,
}

impl Status {
    /// The specification's name of the status.
    pub fn name(self) -> &'static str {
        match self {
            Status::Passive => "Passive",
            Status::Active => "Active",
            Status::NeedsAttention => "NeedsAttention",
        }
    }
}

/// What the item shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct View {
    /// Idle, syncing or needing attention.
    pub status: Status,
    /// The progress and the counts, one per line; else "Up to date".
    pub tooltip: String,
}

fn count(n: u64, one: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {one}s") }
}

/// The view of `input`; `shown_active` says the sync has run long enough to be shown; `estimate` is the
/// amount's rate and time left.
pub fn view(input: Input, shown_active: bool, estimate: Estimate) -> View {
    let syncing = input.progress_permille.filter(|_| shown_active);
    let status = match (input.errors + input.conflicts, syncing) {
        (1.., _) => Status::NeedsAttention,
        (0, Some(_)) => Status::Active,
        (0, None) => Status::Passive,
    };
    let mut lines = Vec::new();
    if let Some(p) = syncing {
        lines.push(match input.amount {
            Some((unit, done, total)) => {
                format!("Syncing: {}%, {}", p / 10, synccenter_human::line(unit, done, total, estimate))
            }
            None => format!("Syncing: {}%", p / 10),
        });
    }
    if input.errors + input.conflicts > 0 {
        lines.push(format!(
            "{} and {} need attention",
            count(input.errors, "error"),
            count(input.conflicts, "conflict")
        ));
    }
    if lines.is_empty() {
        lines.push("Up to date".to_owned());
    }
    View { status, tooltip: lines.join("\n") }
}

/// When a sync began to run, so that it shows only after [`DEBOUNCE`].
#[derive(Debug, Default)]
struct Debounce {
    since: Option<Instant>,
}

impl Debounce {
    /// Whether a sync is to be shown at `now`, and when to look again if not yet.
    fn at(&mut self, syncing: bool, now: Instant) -> (bool, Option<Instant>) {
        if !syncing {
            self.since = None;
            return (false, None);
        }
        let since = *self.since.get_or_insert(now);
        if now >= since + DEBOUNCE { (true, None) } else { (false, Some(since + DEBOUNCE)) }
    }
}

/// The tray's input as it changes, turned into the view to show, with a sync shown only once it has run for
/// [`DEBOUNCE`] (its task looks again then). Cancel-safe: nothing changes until a wait has ended.
#[derive(Debug)]
pub struct Watched {
    input: watch::Receiver<Input>,
    debounce: Debounce,
    recheck: Option<Instant>,
    /// The amount's rate and time left, measured from `started`.
    meter: Meter,
    started: Instant,
}

impl Watched {
    /// Follows `input` (the receiver of what [`Show`](crate::portable::Show) hands over).
    pub fn new(input: watch::Receiver<Input>) -> Watched {
        Watched { input, debounce: Debounce::default(), recheck: None, meter: Meter::new(), started: Instant::now() }
    }

    /// The input and its view when the input changes or a sync's debounce ends; `None` once the sender is gone.
    pub async fn next(&mut self) -> Option<(Input, View)> {
        tokio::select! {
            changed = self.input.changed() => changed.ok()?,
            () = tokio::time::sleep_until(self.recheck.unwrap_or_else(Instant::now)), if self.recheck.is_some() => {}
        }
        let input = *self.input.borrow_and_update();
        let (shown, recheck) = self.debounce.at(input.progress_permille.is_some(), Instant::now());
        self.recheck = recheck;
        let estimate = match input.amount {
            Some((_, done, total)) => self.meter.sample(self.started.elapsed(), done, total),
            None => {
                self.meter = Meter::new();
                Estimate::default()
            }
        };
        Some((input, view(input, shown, estimate)))
    }
}

/// Hands [`Live`]'s state to the tray's task.
#[derive(Debug)]
pub(crate) struct Tray(watch::Sender<Input>);

impl Tray {
    pub(crate) fn show(&self, live: &Live) {
        let input = Input::of(live);
        self.0.send_if_modified(|old| std::mem::replace(old, input) != input);
    }
}

/// Serves the item and its menu, registers it, and starts the tray's task; returns the status line's part.
pub(crate) async fn start(client: Client, conn: Connection, board: Board) -> Result<Tray, DesktopError> {
    let (tx, rx) = watch::channel(Input::default());
    let (actions_tx, actions) = mpsc::channel(16);
    let server = conn.object_server();
    server.at(item::PATH, item::Item::new(View::default(), actions_tx.clone())).await.map_err(bus("the tray item"))?;
    server.at(menu::PATH, menu::Menu::new(actions_tx)).await.map_err(bus("the tray menu"))?;
    let name = format!("org.kde.StatusNotifierItem-{}-1", std::process::id());
    conn.request_name(name.as_str()).await.map_err(bus("the tray item's name"))?;
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender("org.freedesktop.DBus")
        .member("NameOwnerChanged")
        .arg(0, WATCHER)
        .build()
        .map_err(bus("a match rule"))?;
    let owners = MessageStream::for_match_rule(rule, &conn, None).await.map_err(bus("watching the tray watcher"))?;
    board.set(Part::Tray, state(register(&conn, &name).await));
    let task = Task { client, conn, name, watched: Watched::new(rx), actions, owners, failures: None, board };
    tokio::spawn(task.run());
    Ok(Tray(tx))
}

fn bus<E: Into<zbus::Error>>(what: &'static str) -> impl FnOnce(E) -> DesktopError {
    DesktopError::bus(what)
}

/// The tray's part of the desktop's status line after a registration.
fn state(registered: Result<String, String>) -> String {
    match registered {
        Ok(owner) => format!("tray: registered with {owner}"),
        Err(why) => {
            let state = format!("tray: unavailable, {why}; the icon appears when a watcher does");
            tracing::warn!(%state, "no tray");
            state
        }
    }
}

/// Registers `name` with the watcher; says who the watcher is, or why not.
async fn register(conn: &Connection, name: &str) -> Result<String, String> {
    let owner = crate::bus::owner_of(conn, WATCHER).await.ok_or_else(|| format!("nobody owns {WATCHER}"))?;
    let args = (name,);
    let call = conn.call_method(Some(WATCHER), WATCHER_PATH, Some(WATCHER), "RegisterStatusNotifierItem", &args);
    call.await.map_err(|e| format!("{WATCHER} refused the item: {e}"))?;
    tracing::info!(%owner, name, "tray item registered");
    Ok(owner)
}

struct Task {
    client: Client,
    conn: Connection,
    name: String,
    watched: Watched,
    actions: mpsc::Receiver<Action>,
    owners: MessageStream,
    /// The error count the menu's failures were read at.
    failures: Option<u64>,
    board: Board,
}

impl Task {
    async fn run(mut self) {
        loop {
            tokio::select! {
                next = self.watched.next() => match next {
                    Some((input, view)) => self.update(input, view).await,
                    None => return,
                },
                Some(action) = self.actions.recv() => act(&self.client, action).await,
                Some(Ok(msg)) = self.owners.next() => {
                    let new = msg.body().deserialize::<(String, String, String)>().map(|(_, _, new)| new);
                    let registered = match new {
                        Ok(n) if n.is_empty() => Err(format!("nobody owns {WATCHER}")),
                        Ok(_) => register(&self.conn, &self.name).await,
                        Err(_) => continue,
                    };
                    self.board.set(Part::Tray, state(registered));
                }
            }
        }
    }

    /// Brings the item and the menu up to date.
    async fn update(&mut self, input: Input, view: View) {
        match self.conn.object_server().interface::<_, item::Item>(item::PATH).await {
            Ok(item) => {
                let emitter = item.signal_emitter().clone();
                if let Err(e) = item.get_mut().await.show(view, &emitter).await {
                    tracing::debug!(error = %e, "cannot signal the tray item's change");
                }
            }
            Err(e) => tracing::warn!(error = %e, "the tray item is gone"),
        }
        if self.failures != Some(input.errors) {
            self.failures = Some(input.errors);
            self.read_failures().await;
        }
    }

    /// Lists the latest error events in the menu.
    async fn read_failures(&self) {
        let Some(failures) = latest_failures(&self.client).await else { return };
        let Ok(menu) = self.conn.object_server().interface::<_, menu::Menu>(menu::PATH).await else { return };
        let mut m = menu.get_mut().await;
        if m.layout_mut().set_failures(failures)
            && let Err(e) = menu::Menu::layout_updated(menu.signal_emitter(), m.layout_mut().revision(), 0).await
        {
            tracing::debug!(error = %e, "cannot signal the tray menu's change");
        }
    }
}

/// The latest error events as the menu lists them, newest first; `None` when the daemon cannot say.
pub async fn latest_failures(client: &Client) -> Option<Vec<Failure>> {
    let filter = EventsFilterParams {
        levels: Some(vec![EventLevelWire::Error]),
        limit: Some(u32::try_from(menu::FAILURES).unwrap_or(5)),
        ..EventsFilterParams::default()
    };
    let events = match client.events(filter).await {
        Ok(e) => e.events,
        Err(e) => {
            tracing::debug!(error = %e, "cannot read the latest failures");
            return None;
        }
    };
    let failures = events
        .into_iter()
        .map(|e| Failure { label: label(&e.handler, &e.description), handler: e.handler, session: e.session })
        .collect();
    Some(failures)
}

/// Carries out a click of the menu (or of the icon) through the daemon; logs what came of it.
pub async fn act(client: &Client, action: Action) {
    let all = ControlTargetParams::default();
    let done = match &action {
        Action::SyncAll => client.start(all).await.map(|_| ()),
        Action::PauseHour => match (time::OffsetDateTime::now_utc() + HOUR).format(&Rfc3339) {
            Ok(until) => client.pause(PauseParams { until: Some(until), ..PauseParams::default() }).await,
            Err(e) => return tracing::warn!(error = %e, "cannot write the end of the pause"),
        },
        Action::Pause => client.pause(PauseParams::default()).await,
        Action::Resume => client.resume(ResumeParams::default()).await,
        Action::Open { handler, session } => {
            crate::notify::open(client, handler.as_deref(), session.as_deref()).await;
            Ok(())
        }
    };
    match done {
        Ok(()) => tracing::info!(?action, "done from the tray"),
        Err(e) => tracing::warn!(?action, error = %e, "the daemon refused the tray's request"),
    }
}

/// A failure's menu label: the handler and the first line of the description, kept short.
pub fn label(handler: &str, description: &str) -> String {
    let line = description.lines().next().unwrap_or_default();
    let short: String = line.chars().take(60).collect();
    let dots = if short.len() < line.len() { "…" } else { "" };
    format!("{handler}: {short}{dots}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_follows_errors_conflicts_and_a_shown_sync() {
        let idle = Input::default();
        let none = Estimate::default();
        assert_eq!(view(idle, false, none), View { status: Status::Passive, tooltip: "Up to date".into() });
        let syncing = Input { progress_permille: Some(250), ..idle };
        assert_eq!(view(syncing, false, none).status, Status::Passive, "not shown before the debounce");
        assert_eq!(view(syncing, true, none), View { status: Status::Active, tooltip: "Syncing: 25%".into() });
        let failed = Input { errors: 1, conflicts: 2, ..syncing };
        let v = view(failed, true, none);
        assert_eq!(v.status, Status::NeedsAttention);
        assert_eq!(v.tooltip, "Syncing: 25%\n1 error and 2 conflicts need attention");
        assert_eq!(view(Input { conflicts: 1, ..idle }, false, none).status, Status::NeedsAttention);
    }

    /// Issue 20: bytes read as bytes in the tooltip, with the rate and a time left that may be unknown.
    #[test]
    fn the_tooltip_says_the_amount_rate_and_time_left() {
        let gib = 1024 * 1024 * 1024;
        let input = Input {
            progress_permille: Some(375),
            amount: Some((synccenter_human::Unit::Bytes, 3 * gib, 8 * gib)),
            ..Input::default()
        };
        let known = Estimate { rate: Some(1024.0 * 1024.0 * 10.0), left: Some(Duration::from_secs(512)) };
        assert_eq!(view(input, true, known).tooltip, "Syncing: 37%, 3.0 GiB of 8.0 GiB, 10.0 MiB/s, 8:32 left");
        assert_eq!(
            view(input, true, Estimate::default()).tooltip,
            "Syncing: 37%, 3.0 GiB of 8.0 GiB, time left unknown"
        );
    }

    #[test]
    fn a_sync_shows_only_after_the_debounce_and_a_short_one_never() {
        let t0 = Instant::now();
        let mut d = Debounce::default();
        assert_eq!(d.at(false, t0), (false, None));
        assert_eq!(d.at(true, t0), (false, Some(t0 + DEBOUNCE)));
        assert_eq!(d.at(true, t0 + DEBOUNCE / 2), (false, Some(t0 + DEBOUNCE)), "the start is kept");
        assert_eq!(d.at(false, t0 + DEBOUNCE / 2), (false, None), "a short sync ends unseen");
        assert_eq!(d.at(true, t0 + DEBOUNCE), (false, Some(t0 + 2 * DEBOUNCE)), "a new one starts again");
        assert_eq!(d.at(true, t0 + 2 * DEBOUNCE), (true, None));
    }

    #[tokio::test]
    async fn watched_shows_changes_at_once_and_a_sync_once_its_debounce_ends() {
        let (tx, rx) = watch::channel(Input::default());
        let mut watched = Watched::new(rx);
        let failed = Input { errors: 1, ..Input::default() };
        tx.send(failed).unwrap();
        let (input, v) = watched.next().await.expect("a change");
        assert_eq!((input, v.status), (failed, Status::NeedsAttention));
        let syncing = Input { progress_permille: Some(500), ..Input::default() };
        tx.send(syncing).unwrap();
        assert_eq!(watched.next().await.expect("a change").1.status, Status::Passive, "not shown yet");
        // Nothing changes now: the next view comes from the debounce's end alone (the guard only stops a hang).
        let shown = tokio::time::timeout(DEBOUNCE * 30, watched.next()).await.expect("the debounce ends");
        assert_eq!(shown.expect("still watching").1, View { status: Status::Active, tooltip: "Syncing: 50%".into() });
        drop(tx);
        assert_eq!(watched.next().await, None, "the sender is gone");
    }

    #[test]
    fn labels_are_one_short_line() {
        assert_eq!(label("nas", "disk full\nmore"), "nas: disk full");
        let long = "x".repeat(100);
        assert_eq!(label("nas", &long).chars().count(), "nas: ".len() + 60 + 1);
    }
}
