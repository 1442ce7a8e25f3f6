//! Fleet mode: many hosts' daemons on one PostgreSQL, each seeing and controlling all of them.
//!
//! Each daemon owns only its own host's records (its `Center` is unchanged); the shared database is the only
//! meeting point. Around it this module keeps: the host's heartbeat, the ending of sessions of hosts that went
//! silent (exactly once, decided by a row lock in the database), the requests other hosts queue for this one
//! (LISTEN/NOTIFY plus a poll on every heartbeat), and the outage buffer that keeps acknowledged changes on
//! local disk while the database is away. A daemon on its embedded SQLite file is a fleet of one: the fleet
//! methods answer from its own records.

mod buffer;
pub(crate) mod remote;
mod shared;

use std::sync::Arc;
use std::time::Duration;

use synccenter_core::{Clock, StoreError};
use synccenter_store_postgres::{DONE_CHANNEL, PgStore, REQUESTS_CHANNEL};
use tokio::sync::{Notify, mpsc, watch};

pub(crate) use buffer::OutageBuffer;
pub(crate) use shared::SharedStore;

use crate::inbox::HubMsg;

/// How a daemon takes part in a fleet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FleetTimings {
    /// How often this host writes its heartbeat (and polls for requests, replays its buffer).
    pub heartbeat: Duration,
    /// A host whose last heartbeat is older than this is down: its live sessions are ended by the others.
    pub down_after: Duration,
    /// How long a forwarded call waits for the other host's reply before answering that it is still queued.
    pub forward_timeout: Duration,
    /// A queued request older than this is answered with an error instead of being run.
    pub request_expiry: Duration,
    /// Most bytes the local outage buffer may hold.
    pub buffer_cap: u64,
}

impl Default for FleetTimings {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(2),
            down_after: Duration::from_secs(15),
            forward_timeout: Duration::from_secs(10),
            request_expiry: Duration::from_secs(300),
            buffer_cap: 256 << 20,
        }
    }
}

/// What the hub knows of the fleet.
#[derive(Clone, Debug)]
pub(crate) struct FleetLink {
    /// This host's identity.
    pub(crate) host: String,
    /// The shared store, in fleet mode.
    pub(crate) shared: Option<Arc<SharedStore>>,
    pub(crate) waiters: Arc<remote::Waiters>,
    pub(crate) timings: FleetTimings,
}

impl FleetLink {
    pub(crate) fn local(host: String, timings: FleetTimings) -> Self {
        Self { host, shared: None, waiters: Arc::default(), timings }
    }
}

/// Connects to the shared database for `host` and opens the outage buffer in `data_dir`.
pub(crate) async fn connect(
    url: &str,
    host: &str,
    data_dir: &std::path::Path,
    timings: FleetTimings,
    clock: Arc<dyn Clock>,
) -> Result<SharedStore, StoreError> {
    std::fs::create_dir_all(data_dir).map_err(|e| {
        StoreError::Unavailable(format!("cannot create the data directory {}: {e}", data_dir.display()))
    })?;
    let buffer =
        OutageBuffer::open(data_dir, timings.buffer_cap).map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let pg = PgStore::connect(url, host).await?;
    pg.register_host(env!("CARGO_PKG_VERSION")).await?;
    Ok(SharedStore::new(pg, buffer, clock))
}

/// Starts the fleet's background tasks; they end when `stop` turns true or the hub goes away.
pub(crate) fn spawn(link: &FleetLink, hub: mpsc::Sender<HubMsg>, clock: Arc<dyn Clock>, stop: watch::Receiver<bool>) {
    let Some(shared) = link.shared.clone() else { return };
    let wake = Arc::new(Notify::new());
    tokio::spawn(remote::serve(shared.clone(), hub, wake.clone(), link.timings.request_expiry));
    tokio::spawn(listen(shared.clone(), link.waiters.clone(), wake.clone(), stop.clone()));
    tokio::spawn(liveness(shared, link.timings, clock, wake, stop));
}

/// Heartbeat, buffer replay, request poll and the ending of silent hosts' sessions, once per beat.
async fn liveness(
    shared: Arc<SharedStore>,
    timings: FleetTimings,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let mut beat = tokio::time::interval(timings.heartbeat);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Other hosts are judged only after this one has been connected for a whole down bound: after an outage
    // of the database every host looks silent until its next heartbeat.
    let mut connected_since: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = beat.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        if let Err(e) = shared.replay().await {
            tracing::debug!(error = %e, "the shared database is still away");
            connected_since = None;
            continue;
        }
        if let Err(e) = shared.pg().heartbeat().await {
            tracing::warn!(error = %e, "cannot write this host's heartbeat");
            connected_since = None;
            continue;
        }
        wake.notify_one();
        let since = *connected_since.get_or_insert_with(tokio::time::Instant::now);
        if since.elapsed() < timings.down_after {
            continue;
        }
        match shared.pg().end_sessions_of_silent_hosts(timings.down_after, clock.now()).await {
            Ok(lost) => {
                for host in lost {
                    tracing::warn!(host = %host.host, sessions = host.sessions.len(), "a host went silent; ended its live sessions");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot check the other hosts' heartbeats"),
        }
    }
}

/// Follows the database's notifications: requests for this host wake the request runner, completions wake
/// the callers waiting for them. After a lost connection it reconnects and polls once, since notifications
/// sent meanwhile are gone.
async fn listen(
    shared: Arc<SharedStore>,
    waiters: Arc<remote::Waiters>,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let listening = tokio::select! {
            n = shared.pg().listen() => n,
            _ = stop.wait_for(|s| *s) => return,
        };
        let mut notifications = match listening {
            Ok(n) => n,
            Err(e) => {
                tracing::debug!(error = %e, "cannot listen for requests; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        wake.notify_one();
        loop {
            let n = tokio::select! {
                n = notifications.recv() => n,
                _ = stop.wait_for(|s| *s) => return,
            };
            match n {
                Ok(n) if n.channel == REQUESTS_CHANNEL && n.payload == shared.host() => wake.notify_one(),
                Ok(n) if n.channel == DONE_CHANNEL => {
                    if let Ok(id) = n.payload.parse() {
                        waiters.wake(id);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "the notification connection failed; reconnecting");
                    break;
                }
            }
        }
    }
}
