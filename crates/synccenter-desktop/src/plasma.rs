//! synccenter's own sessions in Plasma's job progress: where another process (Plasma) owns
//! `org.kde.JobViewServer`, `synccenter desktop` is a KDE job-view *client* of it, from a connection of its
//! own (the monitor's cannot send). Each live session from the daemon's feed gets a view (`requestView`),
//! coalesced `update`s and a `terminate` with KJob's code; the server's `cancelRequested` stops the session
//! through the daemon. Sessions of `kde-…` handlers came from the job server and are never published back,
//! and this connection's own job calls are kept out of the monitor's records (no loops). The server's owner is
//! followed: a new owner gets the live sessions again, none means publishing waits.
//!
//! Modules: `view` (a session as a job's fields and end, pure), `worker` (one job's calls to the server).

mod view;
mod worker;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use synccenter_client::methods::{ControlTargetParams, SessionInfo, UpdateKind};
use synccenter_client::{Client, ClientError, Subscription};
use tokio::sync::{mpsc, watch};
use zbus::{Connection, MessageStream};

use crate::error::DesktopError;
use crate::kde::{JobMsg, V3};
use crate::{JOB_VIEW_SERVER, bus};
use view::View;

const SERVER_V2: &str = "org.kde.JobViewServerV2";
/// Handlers whose sessions came from a KDE job server: never published back to one.
const FROM_KDE: &str = "kde-";

/// What the workers share: the connection, the daemon, the server's current owner, and the live job objects.
#[derive(Clone, Debug)]
struct Shared {
    conn: Connection,
    client: Client,
    /// The unique name owning `org.kde.JobViewServer`, if any.
    owner: watch::Receiver<Option<String>>,
    /// Object path → its session, for `cancelRequested`.
    views: Arc<Mutex<HashMap<String, watch::Receiver<View>>>>,
    /// The owner whose failure was logged last, so a failing server is logged once, not per update.
    warned: Arc<Mutex<Option<String>>>,
    /// Paths the owner cancelled before `requestView`'s reply named them here (a cancel can overtake the
    /// reply), with when, newest last: at most [`EARLY_CANCELS`], none older than [`EARLY_CANCEL_LIFE`].
    early_cancels: Arc<Mutex<VecDeque<(String, Instant)>>>,
}

/// Cancels of not yet known job paths kept for the reply that names them.
const EARLY_CANCELS: usize = 64;
/// How long such a cancel waits for its reply: a stale one must not stop a later job at a reused path.
const EARLY_CANCEL_LIFE: Duration = Duration::from_secs(5);

impl Shared {
    fn views(&self) -> MutexGuard<'_, HashMap<String, watch::Receiver<View>>> {
        self.views.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn early_cancels(&self) -> MutexGuard<'_, VecDeque<(String, Instant)>> {
        let mut early = self.early_cancels.lock().unwrap_or_else(PoisonError::into_inner);
        early.retain(|(_, at)| at.elapsed() < EARLY_CANCEL_LIFE);
        early
    }

    /// Records `view` as published at `path`; a cancel that came for `path` before this stops it now.
    fn published(&self, path: &str, view: watch::Receiver<View>) {
        let cancelled = {
            let mut early = self.early_cancels();
            let at = early.iter().position(|(p, _)| p == path);
            at.and_then(|i| early.remove(i)).is_some()
        };
        if cancelled {
            stop(self, &view.borrow().clone());
        }
        self.views().insert(path.to_owned(), view);
    }

    fn failed(&self, server: &str, call: &str, e: &zbus::Error) {
        let mut warned = self.warned.lock().unwrap_or_else(PoisonError::into_inner);
        if warned.as_deref() == Some(server) {
            tracing::debug!(server, call, error = %e, "the KDE job view server failed a call");
        } else {
            tracing::warn!(server, call, error = %e, "the KDE job view server failed a call; synccenter's sessions may not show there");
            *warned = Some(server.to_owned());
        }
    }
}

/// The publisher, listening from the moment [`start`] returns.
#[derive(Debug)]
pub(crate) struct Publisher {
    shared: Shared,
}

/// Connects to the bus at `address`, follows the server's owner and its `cancelRequested` signals, and
/// publishes every live session of `client`'s daemon (its feed subscribed here, before anything can be missed).
pub(crate) async fn start(address: &str, client: Client) -> Result<Publisher, DesktopError> {
    let conn = bus::builder(address)?.build().await.map_err(DesktopError::bus("connecting the job view client"))?;
    let names = bus::departures(&conn).await?;
    let signals = job_signals(&conn).await?;
    let (owner_tx, owner) = watch::channel(bus::unique_owner(&conn, JOB_VIEW_SERVER).await);
    let feed = client.subscribe().await?;
    let shared =
        Shared { conn, client, owner, views: Arc::default(), warned: Arc::default(), early_cancels: Arc::default() };
    tokio::spawn(follow_owner(names, owner_tx));
    tokio::spawn(honour_cancels(shared.clone(), signals));
    tokio::spawn(follow_feed(shared.clone(), feed));
    Ok(Publisher { shared })
}

impl Publisher {
    /// A sender for the monitor that passes everything on to `tx` except the jobs this publisher created.
    pub(crate) fn exclude_own(&self, tx: mpsc::Sender<JobMsg>) -> mpsc::Sender<JobMsg> {
        let own = self.shared.conn.unique_name().map(|n| n.to_string());
        let (filtered, mut rx) = mpsc::channel(1024);
        tokio::spawn(async move {
            while let Some(msg) = rx.recv().await {
                if let JobMsg::Created { client: Some(c), .. } = &msg
                    && own.as_ref() == Some(c)
                {
                    // Its updates and end name a path the tracker does not know, and are ignored there.
                    continue;
                }
                if tx.send(msg).await.is_err() {
                    return;
                }
            }
        });
        filtered
    }
}

/// Signals of job objects (`cancelRequested`, …) from anyone; only the owner's are taken.
async fn job_signals(conn: &Connection) -> Result<MessageStream, DesktopError> {
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(V3)
        .build()
        .map_err(DesktopError::bus("a match rule"))?;
    MessageStream::for_match_rule(rule, conn, None).await.map_err(DesktopError::bus("watching job signals"))
}

/// Keeps `owner` the unique name owning the server's name, or `None`.
async fn follow_owner(mut names: MessageStream, owner: watch::Sender<Option<String>>) {
    while let Some(Ok(msg)) = names.next().await {
        let Ok((name, _, new)) = msg.body().deserialize::<(String, String, String)>() else { continue };
        if name != JOB_VIEW_SERVER {
            continue;
        }
        let new = Some(new).filter(|n| !n.is_empty());
        tracing::info!(owner = new.as_deref().unwrap_or("nobody"), "{JOB_VIEW_SERVER} changed hands");
        owner.send_if_modified(|o| {
            let changed = *o != new;
            *o = new;
            changed
        });
    }
}

/// Stops the session of a job whose `cancelRequested` came from the server's current owner.
async fn honour_cancels(shared: Shared, mut signals: MessageStream) {
    while let Some(Ok(msg)) = signals.next().await {
        let h = msg.header();
        let (Some(member), Some(path), Some(sender)) = (h.member(), h.path(), h.sender()) else { continue };
        if member.as_str() != "cancelRequested" || shared.owner.borrow().as_deref() != Some(sender.as_str()) {
            continue;
        }
        let known = shared.views().get(path.as_str()).map(|v| v.borrow().clone());
        match known {
            Some(view) => stop(&shared, &view),
            None => {
                let mut early = shared.early_cancels();
                if early.len() == EARLY_CANCELS {
                    early.pop_front();
                }
                early.push_back((path.as_str().to_owned(), Instant::now()));
            }
        }
    }
}

/// Stops `view`'s session through the daemon, on a task of its own.
fn stop(shared: &Shared, view: &View) {
    let client = shared.client.clone();
    let view = view.clone();
    tokio::spawn(async move {
        let items = Some(view.items()).filter(|i| !i.is_empty());
        let params = ControlTargetParams { handler: Some(view.handler.clone()), items, ..Default::default() };
        match client.stop(params).await {
            Ok(()) => tracing::info!(session = view.session, "stopped from Plasma's job view"),
            Err(e) => tracing::warn!(session = view.session, error = %e, "could not stop a session for Plasma"),
        }
    });
}

/// Live sessions by ID, each with the sender of its view.
type Live = HashMap<String, watch::Sender<View>>;

/// Publishes the sessions of the feed: those live at its start, then each one that starts.
async fn follow_feed(shared: Shared, mut feed: Subscription) {
    let mut live = Live::new();
    for s in feed.snapshot().sessions.clone() {
        begin(&shared, &mut live, &s);
    }
    loop {
        match feed.next().await {
            Ok(u) => apply(&shared, &mut live, u.change),
            Err(ClientError::Lagged { .. }) => catch_up(&shared, &mut live).await,
            // Dropping the views makes their workers terminate them.
            Err(_) => return,
        }
    }
}

fn begin(shared: &Shared, live: &mut Live, session: &SessionInfo) {
    if session.handler.starts_with(FROM_KDE) || live.contains_key(&session.session) {
        return;
    }
    let (tx, rx) = watch::channel(View::new(session));
    live.insert(session.session.clone(), tx);
    tokio::spawn(worker::run(shared.clone(), rx));
}

fn apply(shared: &Shared, live: &mut Live, change: UpdateKind) {
    match change {
        UpdateKind::SessionStarted { session } => begin(shared, live, &session),
        UpdateKind::Progress { session, item, status, step, max_step, text, amount } => {
            if let Some(v) = live.get(&session) {
                v.send_modify(|v| {
                    v.progress(&item, status, step, max_step, &text);
                    v.amount(&item, amount);
                });
            }
        }
        UpdateKind::HandlerText { session, text } => {
            if let Some(v) = live.get(&session) {
                v.send_modify(|v| v.handler_text(&text));
            }
        }
        UpdateKind::SessionEnded { session, status, errors, conflicts, .. } => {
            if let Some(v) = live.remove(&session) {
                v.send_modify(|v| v.end = Some(view::end(status, errors, conflicts)));
            }
        }
        _ => {}
    }
}

/// After the feed fell behind: the daemon's live sessions are taken again; one that ended unseen is terminated
/// as failed, since how it ended was missed.
async fn catch_up(shared: &Shared, live: &mut Live) {
    tracing::warn!("the daemon's feed fell behind; taking its live sessions again");
    let Ok(sessions) = shared.client.sessions().await else { return };
    live.retain(|id, v| {
        let still = sessions.iter().any(|s| &s.session == id);
        if !still {
            let message = "synccenter desktop missed how this session ended.".to_owned();
            v.send_modify(|v| v.end = Some(view::End { code: view::FAILED, message }));
        }
        still
    });
    for s in &sessions {
        match live.get(&s.session) {
            Some(v) => v.send_modify(|v| *v = View::new(s)),
            None => begin(shared, live, s),
        }
    }
}
