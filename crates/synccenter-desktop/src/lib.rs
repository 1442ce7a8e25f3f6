//! # synccenter-desktop
//!
//! `synccenter desktop`: everything that speaks to the person's desktop session, as a client of the daemon (it
//! depends on the client and the protocol, never on the core or the daemon; `.ci/check-boundaries` says so).
//! Today that is KDE's job tracker: where nobody owns `org.kde.JobViewServer` and `org.kde.kuiserver`, this
//! owns them and every KDE job (copies, downloads, extractions) becomes a session; where Plasma owns them, it
//! monitors the bus read-only and records the jobs (`docs/integrations.md` has the mapping). And notifications
//! of failed sessions, with actions (`docs/desktop.md`, Notifications). And the surfaces of what is live: no
//! sleep mid-sync (logind's inhibitor, else the portal's), the dock's badge and progress, and the tray icon with
//! its menu (`docs/desktop.md`).
//!
//! Modules: `progress` (a job's fields as progress, pure), `kde` (the D-Bus objects), `bus` (names and
//! departures), `jobs` (the tracker: jobs as sessions), `monitor` (jobs of someone else's server), `notify`
//! (notifications and their actions), `surfaces` (the task of `live` (what is live, pure), `inhibit` (logind,
//! the portal), `dock` (Unity's launcher entry) and `tray` (the StatusNotifierItem and its dbusmenu)), `plasma` (where Plasma serves the jobs: synccenter's
//! sessions published to it as jobs, its cancels carried out).

mod bus;
mod dock;
mod error;
mod inhibit;
mod jobs;
mod kde;
mod live;
mod monitor;
mod notify;
mod plasma;
mod progress;
mod report;
mod surfaces;
mod tray;

/// What the desktop surfaces of other platforms reuse (`synccenter-desktop-native`: the tray and notifications
/// where there is no D-Bus): the live state and the task that follows it, the tray's view, icon, menu and
/// actions, and the notifications' choice and words. All of it is free of D-Bus.
pub mod portable {
    pub use crate::live::{DockState, Live, Refresh};
    pub use crate::notify::text::{CRITICAL, Mode, NORMAL, Outcome, Text, compose};
    pub use crate::notify::{Ended, open, prepare};
    pub use crate::surfaces::{COALESCE, Show, follow};
    pub use crate::tray::icon::{Pixmap, pixmaps};
    pub use crate::tray::menu::{Action, Entry, FAILURES, Failure, Layout};
    pub use crate::tray::{DEBOUNCE, Input, Status, View, Watched, act, label, latest_failures, view};
    pub use synccenter_human::Estimate;
}

use std::future::Future;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use report::Part;
use synccenter_client::methods::UpdateKind;
use synccenter_client::{Client, ClientError, Subscription};
use tokio::sync::mpsc;
use zbus::Connection;

pub use error::DesktopError;

/// KDE's job server name.
pub const JOB_VIEW_SERVER: &str = "org.kde.JobViewServer";
/// The name KIO asks whether a widget tracker is needed.
pub const KUISERVER: &str = "org.kde.kuiserver";

/// Where to find the daemon and the session bus.
#[derive(Clone, Debug)]
pub struct Options {
    /// The daemon's socket.
    pub socket: PathBuf,
    /// The session bus (`DBUS_SESSION_BUS_ADDRESS`).
    pub bus_address: Option<String>,
}

/// What the desktop part ended up doing, as `status` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// This process owns KDE's names and serves the jobs.
    Server {
        /// Who owns `org.kde.kuiserver` when it is not this process.
        kuiserver_owner: Option<String>,
    },
    /// Someone else owns them; jobs are recorded from a bus monitor.
    Monitor {
        /// Who owns `org.kde.JobViewServer`.
        owner: String,
    },
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Role::Server { kuiserver_owner: None } => {
                write!(f, "KDE job server: owns {JOB_VIEW_SERVER} and {KUISERVER}")
            }
            Role::Server { kuiserver_owner: Some(o) } => {
                write!(f, "KDE job server: owns {JOB_VIEW_SERVER}; {KUISERVER} is owned by {o}")
            }
            Role::Monitor { owner } => write!(
                f,
                "KDE jobs: monitoring, {JOB_VIEW_SERVER} is owned by {owner}; cancel goes through Plasma there; \
                 synccenter's sessions are published to it"
            ),
        }
    }
}

/// Runs until `shutdown` completes, the daemon's connection closes, or the bus fails.
pub async fn run(options: Options, shutdown: impl Future<Output = ()>) -> Result<(), DesktopError> {
    let address = options.bus_address.ok_or(DesktopError::NoBus)?;
    let client = Client::connect(&options.socket).await?;
    let (tx, rx) = mpsc::channel(1024);
    let server = kde::Server::new(tx.clone());
    let conn = bus::builder(&address)?
        .serve_at(kde::SERVER_PATH, kde::KuiServer)
        .serve_at(kde::SERVER_PATH, kde::ServerV2(server.clone()))
        .serve_at(kde::SERVER_PATH, kde::ServerV1(server))
        .build()
        .await
        .map_err(DesktopError::bus("connecting to the session bus"))?;
    // Everything listens before the role is logged and reported, so a job that follows is not missed.
    tokio::spawn(bus::forward_departures(bus::departures(&conn).await?, tx.clone()));
    let feed = client.subscribe().await?;
    let board = report::Board::new();
    let notifier = notify::Notifier::start(client.clone(), conn.clone(), board.clone()).await?;
    let (ends_tx, ends_rx) = mpsc::channel(1024);
    tokio::spawn(notifier.run(ends_rx));
    let (gone_tx, gone) = tokio::sync::oneshot::channel();
    tokio::spawn(watch_feed(feed, tx.clone(), ends_tx, gone_tx));
    surfaces::spawn(client.clone(), conn.clone(), board.clone()).await?;
    let role = claim(&conn).await?;
    let emitter = match &role {
        Role::Server { .. } => Some(conn.clone()),
        Role::Monitor { .. } => {
            // synccenter's sessions go to that server; their job calls are kept out of the monitor's records.
            let publisher = plasma::start(&address, client.clone()).await?;
            tokio::spawn(monitor::forward(monitor::start(&address).await?, publisher.exclude_own(tx.clone())));
            None
        }
    };
    board.set(Part::Role, role.to_string());
    let part = |p| board.part(p);
    let (notifications, sleep, tray) = (part(Part::Notifications), part(Part::Sleep), part(Part::Tray));
    tracing::info!(%role, %notifications, %sleep, %tray, "synccenter desktop");
    board.report(client.clone()).await?;
    let tag = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let tracker = jobs::Tracker::new(client, emitter, tag);
    let bus_gone = bus::closed(&conn).await?;
    tokio::select! {
        r = tracker.run(tx, rx) => r.map_err(DesktopError::from),
        _ = gone => Err(DesktopError::DaemonGone),
        () = bus_gone => Err(DesktopError::BusGone),
        () = shutdown => Ok(()),
    }
}

/// Owns KDE's names where nobody else does, else says who does.
async fn claim(conn: &Connection) -> Result<Role, DesktopError> {
    if !bus::claim(conn, JOB_VIEW_SERVER).await? {
        let owner = bus::owner_of(conn, JOB_VIEW_SERVER).await.unwrap_or_else(|| "another process".to_owned());
        return Ok(Role::Monitor { owner });
    }
    let kuiserver_owner = if bus::claim(conn, KUISERVER).await? {
        None
    } else {
        Some(bus::owner_of(conn, KUISERVER).await.unwrap_or_else(|| "another process".to_owned()))
    };
    Ok(Role::Server { kuiserver_owner })
}

/// A change of one of KDE's handlers (a pause, a resume) makes the tracker look at the pauses again; a
/// session's end goes to the notifier (dropped, with a warning, when a burst fills its queue).
/// Follows the daemon's feed for the job server and the notifications; says on `gone` when the feed ends (the
/// daemon went away).
async fn watch_feed(
    mut feed: Subscription,
    tx: mpsc::Sender<kde::JobMsg>,
    ends: mpsc::Sender<notify::Ended>,
    gone: tokio::sync::oneshot::Sender<()>,
) {
    loop {
        let pauses_changed = match feed.next().await {
            Ok(u) => match u.change {
                UpdateKind::RegistryChanged { handler } => handler.starts_with("kde-"),
                ref change @ UpdateKind::SessionEnded { .. } => {
                    let end = notify::Ended::of(change);
                    if end.is_some_and(|end| ends.try_send(end).is_err()) {
                        tracing::warn!("too many sessions ended at once; some are not notified");
                    }
                    false
                }
                _ => false,
            },
            Err(ClientError::Lagged { .. }) => true,
            Err(_) => {
                let _ = gone.send(());
                return;
            }
        };
        if pauses_changed && tx.send(kde::JobMsg::PauseChanged).await.is_err() {
            return;
        }
    }
}
