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
use synccenter_store_postgres::{DONE_CHANNEL, Liveness, PgStore, REQUESTS_CHANNEL};
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

impl FleetTimings {
    /// The bounds on the server's clock: heartbeats further apart than twice the beat (never as far apart
    /// as `down_after` minus a beat, so that a host that merely missed beats is never judged by one that
    /// did too) break a host's run, after which it waits a whole down bound before judging others.
    pub(crate) fn liveness(&self) -> Liveness {
        let continuity = (self.heartbeat * 2).min(self.down_after.saturating_sub(self.heartbeat));
        Liveness { down_after: self.down_after, continuity }
    }
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
    tokio::spawn(remote::serve(shared.clone(), hub.clone(), wake.clone(), link.timings.request_expiry));
    tokio::spawn(listen(shared.clone(), link.waiters.clone(), wake.clone(), stop.clone()));
    tokio::spawn(liveness(shared, hub, link.timings, clock, wake, stop));
}

/// Heartbeat, buffer replay, request poll and the ending of silent hosts' sessions, once per beat.
async fn liveness(
    shared: Arc<SharedStore>,
    hub: mpsc::Sender<HubMsg>,
    timings: FleetTimings,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let mut beat = tokio::time::interval(timings.heartbeat);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let bounds = timings.liveness();
    // Whether the last check judged (for the log: a host says when it starts judging again after a gap).
    let mut judging = false;
    loop {
        tokio::select! {
            _ = beat.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        if let Err(e) = shared.replay().await {
            tracing::debug!(error = %e, "the shared database is still away");
            continue;
        }
        // A heartbeat slower than the continuity bound breaks this host's run anyway: past it, the host is
        // cut off, says so in `status`, and tries again on the next beat.
        let written =
            tokio::time::timeout(bounds.continuity, shared.pg().heartbeat(bounds)).await.unwrap_or_else(|_| {
                Err(synccenter_core::StoreError::Unavailable(format!(
                    "the shared database did not take this host's heartbeat within {} ms",
                    bounds.continuity.as_millis()
                )))
            });
        match written {
            Ok(was_down) => {
                shared.connected();
                if let Some(since) = was_down {
                    lost_by_fleet(&shared, &hub, since).await;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot write this host's heartbeat");
                shared.unreachable(e.to_string());
                judging = false;
                continue;
            }
        }
        wake.notify_one();
        match shared.pg().end_sessions_of_silent_hosts(bounds, clock.now()).await {
            Ok(Some(lost)) => {
                if !judging {
                    judging = true;
                    tracing::info!("connected for a whole down bound: judging the other hosts' heartbeats");
                }
                for host in lost {
                    tracing::warn!(host = %host.host, sessions = host.sessions.len(), "a host went silent; ended its live sessions");
                }
            }
            Ok(None) => judging = false,
            Err(e) => tracing::warn!(error = %e, "cannot check the other hosts' heartbeats"),
        }
    }
}

/// The fleet had declared this host down and ended its live sessions: the hub ends them here too, with the
/// same outcome, so that the host and the database tell one story.
async fn lost_by_fleet(shared: &SharedStore, hub: &mpsc::Sender<HubMsg>, since: synccenter_core::Timestamp) {
    tracing::warn!(since = %crate::convert::ts(since), "the other hosts had declared this one down; ending here the sessions they ended");
    match shared.pg().sessions_lost_by(MAX_LOST_SESSIONS).await {
        Ok(sessions) => {
            let _ = hub.send(HubMsg::EndedByFleet { sessions }).await;
        }
        Err(e) => tracing::warn!(error = %e, "cannot read which sessions the other hosts ended"),
    }
}

/// How many of its sessions ended by others a host reads back after being declared down (most recent first;
/// older ones ended long ago and are no longer live anywhere).
const MAX_LOST_SESSIONS: u32 = 10_000;

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
