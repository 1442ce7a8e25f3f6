//! Notifications a person can act on (`org.freedesktop.Notifications`): a session that ends failed or with
//! conflicts (or every end, per the handler's `notify` setting) raises one notification per handler, which the
//! next one replaces (`replaces_id`) instead of stacking. Its actions, offered only when the server's
//! `GetCapabilities` lists `actions`: `default` opens the dashboard, `retry` starts the failed items again
//! (`control.start`), `snooze` silences the handler for [`SNOOZE`] (kept in this process only).
//!
//! A server that is absent or leaves is tolerated: the notifier says so once and takes the server up again
//! when the name gets an owner (`NameOwnerChanged`). Actions are taken only from the name's current owner.
//! Everything runs on one task, in the order the daemon's feed and the bus deliver.

pub(crate) mod text;

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use synccenter_client::methods::{ControlTargetParams, EventsFilterParams, SessionsHistoryParams, UpdateKind};
use synccenter_client::{Client, EventLevelWire, StatusWire};
use tokio::sync::mpsc;
use tokio::time::Instant;
use zbus::{Connection, Message, MessageStream, Variant};

use crate::error::DesktopError;
use crate::report::{Board, Part};
use text::{Mode, Outcome};

/// How long `snooze` silences a handler's notifications.
pub(crate) const SNOOZE: Duration = Duration::from_secs(60 * 60);
/// The notification server's name, object and interface.
pub(crate) const NOTIFICATIONS: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";
/// The `desktop-entry` hint and the application name.
const APP: &str = "synccenter";
/// The dashboard's login token, in the daemon's data directory (the dashboard's `TOKEN_FILE`).
const TOKEN_FILE: &str = "dashboard.token";

/// A session's end, from the daemon's feed.
#[derive(Clone, Debug)]
pub struct Ended {
    /// The session's ID.
    pub session: String,
    /// Its handler's ID.
    pub handler: String,
    /// How it ended.
    pub status: StatusWire,
    /// Its error count.
    pub errors: u32,
    /// Its conflict count.
    pub conflicts: u32,
}

impl Ended {
    /// The end `change` reports, if it is one.
    pub fn of(change: &UpdateKind) -> Option<Ended> {
        let UpdateKind::SessionEnded { session, handler, status, errors, conflicts, .. } = change else { return None };
        let (session, handler) = (session.clone(), handler.clone());
        Some(Ended { session, handler, status: *status, errors: *errors, conflicts: *conflicts })
    }
}

/// The notification server in use.
#[derive(Debug)]
struct Server {
    /// Its unique name: signals from anyone else are ignored.
    owner: String,
    actions: bool,
}

/// The notification shown for a handler.
#[derive(Debug)]
struct Shown {
    id: u32,
    session: String,
    /// The items `retry` starts again (IDs).
    retry: Vec<String>,
}

/// Raises the notifications and carries out their actions.
#[derive(Debug)]
pub(crate) struct Notifier {
    client: Client,
    conn: Connection,
    server: Option<Server>,
    shown: HashMap<String, Shown>,
    snoozed: HashMap<String, Instant>,
    signals: MessageStream,
    owners: MessageStream,
    board: Board,
}

async fn stream(conn: &Connection, rule: zbus::MatchRule<'_>) -> Result<MessageStream, DesktopError> {
    MessageStream::for_match_rule(rule, conn, None).await.map_err(DesktopError::bus("watching notifications"))
}

impl Notifier {
    /// Listens for the server's signals and its name's owner, then looks for the server.
    pub(crate) async fn start(client: Client, conn: Connection, board: Board) -> Result<Notifier, DesktopError> {
        let type_signal = zbus::message::Type::Signal;
        let rule = zbus::MatchRule::builder().msg_type(type_signal).interface(NOTIFICATIONS).path(PATH).build();
        let signals = stream(&conn, rule.map_err(DesktopError::bus("a match rule"))?).await?;
        let rule = zbus::MatchRule::builder()
            .msg_type(type_signal)
            .sender("org.freedesktop.DBus")
            .member("NameOwnerChanged")
            .arg(0, NOTIFICATIONS)
            .build();
        let owners = stream(&conn, rule.map_err(DesktopError::bus("a match rule"))?).await?;
        let shown = HashMap::new();
        let mut n = Notifier { client, conn, server: None, shown, snoozed: HashMap::new(), signals, owners, board };
        n.find_server().await;
        Ok(n)
    }

    /// Whether a notification server was found (for the desktop's status line).
    fn state(&self) -> String {
        match &self.server {
            Some(s) if s.actions => format!("notifications: {} with actions", s.owner),
            Some(s) => format!("notifications: {} without actions", s.owner),
            None => format!("notifications: unavailable, nobody owns {NOTIFICATIONS}"),
        }
    }

    /// Asks the name's owner for its capabilities; without an owner, notifications wait for one.
    async fn find_server(&mut self) {
        let owner = crate::bus::unique_owner(&self.conn, NOTIFICATIONS).await;
        let caps = self.conn.call_method(Some(NOTIFICATIONS), PATH, Some(NOTIFICATIONS), "GetCapabilities", &()).await;
        let caps: Result<Vec<String>, _> = caps.and_then(|r| r.body().deserialize());
        self.shown.clear();
        self.server = match (owner, caps) {
            (Some(owner), Ok(caps)) => Some(Server { owner, actions: caps.iter().any(|c| c == "actions") }),
            (_, Err(e)) => {
                tracing::info!(error = %e, "no notification server; notifications resume when one appears");
                None
            }
            (None, Ok(_)) => None,
        };
        if self.server.is_some() {
            tracing::info!(state = %self.state(), "notification server found");
        }
        self.board.set(Part::Notifications, self.state());
    }

    /// Handles ends and the server's signals until the feed's sender is gone.
    pub(crate) async fn run(mut self, mut ends: mpsc::Receiver<Ended>) {
        loop {
            tokio::select! {
                end = ends.recv() => match end {
                    Some(end) => self.ended(end).await,
                    None => return,
                },
                Some(Ok(msg)) = self.signals.next() => self.signal(&msg).await,
                Some(Ok(msg)) = self.owners.next() => self.owner_changed(&msg).await,
            }
        }
    }

    async fn owner_changed(&mut self, msg: &Message) {
        let Ok((_, _, new)) = msg.body().deserialize::<(String, String, String)>() else { return };
        if new.is_empty() {
            tracing::info!("the notification server left; notifications resume when one appears");
            self.server = None;
            self.shown.clear();
            self.board.set(Part::Notifications, self.state());
        } else {
            self.find_server().await;
        }
    }

    async fn ended(&mut self, end: Ended) {
        if let Some(until) = self.snoozed.get(&end.handler) {
            if *until > Instant::now() {
                return tracing::info!(handler = %end.handler, session = %end.session, "notification snoozed");
            }
            self.snoozed.remove(&end.handler);
        }
        let Some((outcome, retry)) = prepare(&self.client, &end).await else { return };
        let Some(server) = &self.server else {
            let t = text::compose(&outcome);
            return tracing::info!(summary = %t.summary, body = %t.body, "no notification server to show");
        };
        let actions = if server.actions { text::actions(&outcome) } else { Vec::new() };
        let replaces = self.shown.get(&end.handler).map_or(0, |s| s.id);
        match self.notify(replaces, &outcome, &actions).await {
            Ok(id) => {
                tracing::info!(handler = %end.handler, id, "notified");
                self.shown.insert(end.handler, Shown { id, session: end.session, retry });
            }
            Err(e) => tracing::warn!(error = %e, "the notification server refused a notification"),
        }
    }

    async fn notify(&self, replaces: u32, o: &Outcome, actions: &[(&str, &str)]) -> zbus::Result<u32> {
        let t = text::compose(o);
        let actions: Vec<&str> = actions.iter().flat_map(|(k, l)| [*k, *l]).collect();
        let hints: HashMap<&str, Variant<'_>> =
            HashMap::from([("urgency", Variant::from(t.urgency)), ("desktop-entry", Variant::from(APP))]);
        let icon = if o.failed { "dialog-error" } else { "emblem-synchronizing" };
        let body = (APP, replaces, icon, t.summary.as_str(), t.body.as_str(), actions, hints, -1i32);
        let reply = self.conn.call_method(Some(NOTIFICATIONS), PATH, Some(NOTIFICATIONS), "Notify", &body).await?;
        reply.body().deserialize()
    }

    async fn signal(&mut self, msg: &Message) {
        let from_server =
            self.server.as_ref().is_some_and(|s| msg.header().sender().is_some_and(|n| n.as_str() == s.owner));
        if !from_server {
            return;
        }
        match msg.header().member().map(|m| m.as_str().to_owned()).as_deref() {
            Some("ActionInvoked") => {
                if let Ok((id, key)) = msg.body().deserialize::<(u32, String)>() {
                    self.action(id, &key).await;
                }
            }
            Some("NotificationClosed") => {
                if let Ok((id, _)) = msg.body().deserialize::<(u32, u32)>() {
                    self.shown.retain(|_, s| s.id != id);
                }
            }
            _ => {}
        }
    }

    async fn action(&mut self, id: u32, key: &str) {
        let Some((handler, shown)) = self.shown.iter().find(|(_, s)| s.id == id) else { return };
        let (handler, session, retry) = (handler.clone(), shown.session.clone(), shown.retry.clone());
        match key {
            "retry" => {
                let items = (!retry.is_empty()).then_some(retry);
                let params = ControlTargetParams { handler: Some(handler.clone()), items, ..Default::default() };
                match self.client.start(params).await {
                    Ok(r) => tracing::info!(%handler, requests = r.requests.len(), "retry requested"),
                    Err(e) => tracing::warn!(%handler, error = %e, "the daemon refused the retry"),
                }
            }
            "snooze" => {
                self.snoozed.insert(handler.clone(), Instant::now() + SNOOZE);
                tracing::info!(%handler, minutes = SNOOZE.as_secs() / 60, "notifications snoozed");
                let args = (id,);
                let close =
                    self.conn.call_method(Some(NOTIFICATIONS), PATH, Some(NOTIFICATIONS), "CloseNotification", &args);
                if let Err(e) = close.await {
                    tracing::debug!(error = %e, "closing the snoozed notification");
                }
            }
            "default" => open(&self.client, Some(&handler), Some(&session)).await,
            other => tracing::debug!(action = other, "an action this notifier did not offer"),
        }
    }
}

/// What to show for `end` when its handler's `notify` setting wants a notification (read from `handler.list`
/// now, so a reload applies at once): what the session did, looked up in its record and events, and the items
/// `retry` starts again. `None` when the setting does not want it or the daemon cannot say.
pub async fn prepare(client: &Client, end: &Ended) -> Option<(Outcome, Vec<String>)> {
    let handlers = match client.handlers(true).await {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the handlers to notify");
            return None;
        }
    };
    let info = handlers.into_iter().find(|h| h.handler == end.handler)?;
    if !Mode::from_wire(info.notify.as_deref()).wants(end.status, end.conflicts) {
        return None;
    }
    Some(outcome(client, end, info.name).await)
}

/// What the session did, looked up in its record and events; and the items `retry` starts again.
async fn outcome(client: &Client, end: &Ended, handler_name: String) -> (Outcome, Vec<String>) {
    let history = SessionsHistoryParams { handler: Some(end.handler.clone()), before: None, limit: Some(20) };
    let record = client.history(history).await.ok().and_then(|h| h.into_iter().find(|s| s.session == end.session));
    let items = record.map(|r| r.items).unwrap_or_default();
    let retry: Vec<String> =
        items.iter().filter(|i| i.status == Some(StatusWire::Failed)).map(|i| i.item.clone()).collect();
    let names: HashMap<String, String> = match client.items(&end.handler, true).await {
        Ok(list) => list.into_iter().map(|i| (i.item, i.name)).collect(),
        Err(_) => HashMap::new(),
    };
    let filter = EventsFilterParams {
        session: Some(end.session.clone()),
        levels: Some(vec![EventLevelWire::Error]),
        limit: Some(1),
        ..EventsFilterParams::default()
    };
    let why = client.events(filter).await.ok().and_then(|e| e.events.into_iter().next()).map(|e| e.description);
    let outcome = Outcome {
        handler_name,
        failed: end.status == StatusWire::Failed,
        canceled: end.status == StatusWire::Canceled,
        errors: end.errors,
        conflicts: end.conflicts,
        failed_items: retry.iter().map(|i| names.get(i).cloned().unwrap_or_else(|| i.clone())).collect(),
        items: items.len(),
        why,
    };
    (outcome, retry)
}

/// Opens the dashboard (where the result shows) with the system's opener; without a dashboard, says where the
/// result is. The tray's menu opens results through this too.
pub async fn open(client: &Client, handler: Option<&str>, session: Option<&str>) {
    let status = match client.status().await {
        Ok(s) => s,
        Err(e) => return tracing::warn!(error = %e, "cannot read the daemon's status to open the result"),
    };
    let Some(addr) = status.http else {
        let handler = handler.map_or_else(String::new, |h| format!(" --handler {h}"));
        return tracing::info!(session, "no dashboard runs; the result: `synccenter results{handler}`");
    };
    let token = std::fs::read_to_string(std::path::Path::new(&status.data_dir).join(TOKEN_FILE));
    let url = match token {
        Ok(t) => format!("http://{addr}/login?token={}", t.trim()),
        Err(_) => format!("http://{addr}/"),
    };
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        // Explorer hands a URL to the default browser.
        "explorer"
    } else {
        "xdg-open"
    };
    tracing::info!(handler, session, dashboard = %format!("http://{addr}/"), opener, "opening the result");
    let child = tokio::process::Command::new(opener)
        .arg(&url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match child {
        Ok(mut child) => {
            tokio::spawn(async move { child.wait().await });
        }
        Err(e) => tracing::warn!(opener, error = %e, "cannot start the opener"),
    }
}
