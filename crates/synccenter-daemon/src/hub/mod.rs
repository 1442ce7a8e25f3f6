//! The hub: the one owner of the Sync Center model. It applies calls to the `Center`, routes the core's notices
//! (cancel pushes at once, sync requests, results), keeps the live feed, and queues durable changes for the
//! writer so that a reply that acknowledges them leaves only after the commit.
//!
//! `Hub` itself is plain state: no channel it awaits, no store, no task. Its handlers (one per method, in the
//! rooms below) are functions over the `Center` and plain values that unit tests call directly; what needs I/O
//! (a store query, a call for another host) comes out as a [`Deferred`] that the run loop (`run.rs`) carries
//! out.
//!
//! - `dispatch`: a call's way from the queue to its handler (forwarding, refusals, replies).
//! - `session`, `registry`, `control`, `results`, `info`: the handlers, one room per family of methods.
//! - `ledger`: running progress not yet written or published.
//! - `feed`: notices and the live feed.
//! - `runs`: command handlers' runs, schedules and configuration.
//! - `ping`: Healthchecks-style pings: their secret names and the sessions they open.
//! - `logs`: run logs (`logs.read`), read off the hub's task.
//! - `run`: the loop that drains connections' queues in turns and talks to the writer.

mod control;
mod dispatch;
mod feed;
mod info;
mod ledger;
mod logs;
mod memory;
mod ping;
mod registry;
mod results;
mod run;
mod runs;
mod session;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use synccenter_core::{Center, HandlerId, Notice, RequestId as CoreRequestId, SessionId};
use synccenter_protocol::RequestId;
use tokio::sync::{mpsc, oneshot};

pub(crate) use ping::PingKeys;
pub(crate) use run::{HubIo, run};

use crate::fleet::FleetLink;
use crate::health::StoreHealth;
use crate::inbox::Inbound;
use crate::outbox::{ConnId, Outbox, Reply, reply_line};
use crate::queries::Query;
use crate::scheduler::{RunMsg, Scheduler};
use crate::writer::{Ack, Batch};
use crate::{Intervals, Limits};
use ledger::ProgressLedger;

/// What `status` says about where this daemon runs.
#[derive(Clone, Debug)]
pub(crate) struct Whereabouts {
    pub(crate) socket: String,
    pub(crate) data_dir: String,
    pub(crate) store: String,
    pub(crate) started_at: String,
    pub(crate) http: Option<String>,
}

/// Everything a hub is made of besides its model.
#[derive(Debug)]
pub(crate) struct HubSetup {
    pub(crate) whereabouts: Whereabouts,
    pub(crate) intervals: Intervals,
    pub(crate) limits: Limits,
    pub(crate) scheduler: Scheduler,
    pub(crate) fleet: FleetLink,
    /// Whether the writer's last commit failed; new durable calls are refused meanwhile.
    pub(crate) health: Arc<StoreHealth>,
    /// Where command runs report.
    pub(crate) runs: mpsc::Sender<RunMsg>,
}

#[derive(Debug)]
struct Conn {
    out: Outbox,
    /// Where the connection's calls wait for the hub (none for the fleet's request runner).
    inbound: Option<Arc<Inbound>>,
    watcher: bool,
    serving: BTreeSet<HandlerId>,
}

#[derive(Debug)]
struct Lease {
    every: Duration,
    last: Instant,
}

/// Work that needs I/O, handed to the run loop.
#[derive(Debug)]
pub(crate) enum Deferred {
    /// A store read; runs once `written` fires (everything before it is committed), then replies.
    Query { out: Outbox, id: RequestId, query: Query, written: oneshot::Receiver<()> },
    /// A call for another host of the fleet.
    Forward { out: Outbox, id: Option<RequestId>, host: String, method: &'static str, params: serde_json::Value },
    /// Give the memory freed since the last time back to the system (see `memory`).
    ReleaseMemory,
}

pub(crate) struct Hub {
    center: Center,
    notices: std::sync::mpsc::Receiver<Notice>,
    setup: HubSetup,
    conns: BTreeMap<ConnId, Conn>,
    /// The connection that created each live session, while it is open (for the per-connection cap).
    creators: HashMap<SessionId, ConnId>,
    request_owner: HashMap<CoreRequestId, ConnId>,
    leases: HashMap<SessionId, Lease>,
    ledger: ProgressLedger,
    /// Changes ready for the writer, and the replies waiting for them.
    batch: Batch,
    deferred: Vec<Deferred>,
    /// The live feed's sequence number.
    seq: u64,
    reports_taken: u64,
    release: memory::Release,
    /// Command handlers registered from the configuration, to remove those a reload drops.
    configured: BTreeSet<HandlerId>,
    /// The ping secret and the sessions start pings opened.
    pings: ping::Pings,
    /// The latest `desktop.report` and its connection (shown by `status` while that connection is open).
    desktop: Option<(ConnId, String)>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").field("conns", &self.conns.len()).field("seq", &self.seq).finish_non_exhaustive()
    }
}

impl Hub {
    pub(crate) fn new(center: Center, notices: std::sync::mpsc::Receiver<Notice>, setup: HubSetup) -> Self {
        Self {
            center,
            notices,
            setup,
            conns: BTreeMap::new(),
            creators: HashMap::new(),
            desktop: None,
            request_owner: HashMap::new(),
            leases: HashMap::new(),
            ledger: ProgressLedger::default(),
            batch: Batch::default(),
            deferred: Vec::new(),
            seq: 0,
            reports_taken: 0,
            release: memory::Release::default(),
            configured: BTreeSet::new(),
            pings: ping::Pings::default(),
        }
    }

    /// The secret ping URLs are derived from, or why there is none (pings are then refused).
    pub(crate) fn set_ping_keys(&mut self, keys: Result<PingKeys, String>) {
        self.pings.set_keys(keys);
    }

    fn out(&self, conn: ConnId) -> Option<Outbox> {
        self.conns.get(&conn).map(|c| c.out.clone())
    }

    pub(crate) fn open(&mut self, conn: ConnId, out: Outbox, inbound: Option<Arc<Inbound>>) {
        self.conns.insert(conn, Conn { out, inbound, watcher: false, serving: BTreeSet::new() });
    }

    /// A connection closed: what it queued is applied first, then its sessions end (lost owner).
    pub(crate) fn close(&mut self, conn: ConnId) {
        if let Some(inbound) = self.conns.get(&conn).and_then(|c| c.inbound.clone()) {
            while let Some(entry) = inbound.take() {
                self.take_entry(conn, &inbound, entry);
            }
        }
        self.conns.remove(&conn);
        self.creators.retain(|_, c| *c != conn);
        self.request_owner.retain(|_, c| *c != conn);
        let ended = self.center.end_owner(synccenter_core::OwnerId(conn));
        if !ended.is_empty() {
            tracing::info!(conn, sessions = ended.len(), "connection closed; ended its sessions");
        }
        self.take_effects();
    }

    /// Sends a reply now, or after the commit when the call produced durable changes or an earlier reply of
    /// the same connection still waits for one (replies keep the order of the requests).
    fn respond(&mut self, conn: ConnId, id: Option<RequestId>, reply: Reply, durable: bool) {
        // A notification has no reply: nothing to clone or format (most progress reports are notifications).
        let Some(id) = id else { return };
        let line = reply_line(id.clone(), reply);
        self.send_in_order(conn, line, durable.then_some(id));
    }

    /// Sends `line` to `conn` behind every reply of it that waits for a commit.
    fn send_in_order(&mut self, conn: ConnId, line: String, acknowledges: Option<RequestId>) {
        let Some(out) = self.out(conn) else { return };
        if acknowledges.is_some() || out.is_awaiting_commit() {
            out.hold_for_commit();
            self.batch.acks.push(Ack { out, line, acknowledges });
        } else {
            out.send(line);
        }
    }

    /// Routes the core's notices and queues its changes. Returns true when the changes include durable ones,
    /// so the reply must wait for the commit.
    fn take_effects(&mut self) -> bool {
        // Changes before notices: a session's final item states reach watchers before its `session_ended`.
        // Routing a notice may change the model again (a command run starts), hence the loop.
        let mut durable = self.queue_changes();
        loop {
            let mut routed = false;
            while let Ok(n) = self.notices.try_recv() {
                routed = true;
                self.route(n);
            }
            durable |= self.queue_changes();
            if !routed {
                return durable;
            }
        }
    }

    /// The batch for the writer, leaving an empty one.
    pub(crate) fn take_batch(&mut self) -> Batch {
        std::mem::take(&mut self.batch)
    }

    pub(crate) fn has_batch(&self) -> bool {
        !self.batch.is_empty()
    }

    /// Durable changes waiting for the writer: past a bound, the hub stops taking durable calls until the
    /// writer catches up (their connections wait in their queues; nothing grows).
    pub(crate) fn writer_is_behind(&self) -> bool {
        self.batch.changes.len() >= MAX_WAITING_CHANGES
    }

    /// Work for the run loop.
    pub(crate) fn take_deferred(&mut self) -> Vec<Deferred> {
        std::mem::take(&mut self.deferred)
    }

    /// Running progress goes into the batch (every flush interval, before a query, at shutdown).
    pub(crate) fn flush_progress(&mut self) {
        self.batch.changes.extend(self.ledger.take_unwritten());
    }

    /// Ends live sessions and queues everything for the writer.
    pub(crate) fn shutdown(&mut self) {
        // Runs queued for an exclusive group must not start while the sessions end.
        self.setup.scheduler.drop_queued();
        let ended = self.center.end_all_sessions(synccenter_core::EndReason::Shutdown);
        if !ended.is_empty() {
            tracing::info!(sessions = ended.len(), "ended live sessions at shutdown");
        }
        self.take_effects();
        self.flush_progress();
    }

    /// Writes what the start produced (registration from the configuration).
    pub(crate) fn flush_startup(&mut self) {
        self.take_effects();
    }

    /// Ends sessions whose lease ran out, fails ping sessions past their grace time, ends pauses whose time came,
    /// and runs what schedules make due.
    pub(crate) fn housekeeping(&mut self) {
        self.retry_failed_writes();
        self.expire_leases();
        self.expire_pings(Instant::now());
        self.center.tick();
        self.take_effects();
        self.schedule();
        self.take_effects();
        if self.release.due(self.center.live_session_count()) {
            self.deferred.push(Deferred::ReleaseMemory);
        }
    }

    /// While the store is failing, asks the writer to try the changes it kept again (it writes them first
    /// with any batch; this one carries only a barrier nobody waits for).
    fn retry_failed_writes(&mut self) {
        if self.setup.health.failure().is_some() {
            let (retry, _) = oneshot::channel();
            self.batch.barriers.push(retry);
        }
    }

    fn expire_leases(&mut self) {
        let now = Instant::now();
        let expired: Vec<SessionId> =
            self.leases.iter().filter(|(_, l)| now.duration_since(l.last) >= l.every).map(|(s, _)| *s).collect();
        for session in expired {
            self.leases.remove(&session);
            if self.center.end_session_for(session, synccenter_core::EndReason::LeaseExpired).is_ok() {
                tracing::info!(%session, "ended a session whose lease ran out");
            }
        }
    }

    /// Ends here, as `host_lost`, the sessions the other hosts ended while this one was declared down; those
    /// no longer live here are left alone (the database keeps the first end either way).
    pub(crate) fn end_sessions_ended_by_fleet(&mut self, sessions: &[SessionId]) {
        for &session in sessions {
            if self.center.end_session_ended_elsewhere(session).is_ok() {
                self.leases.remove(&session);
                tracing::warn!(%session, "ended a session the other hosts had ended while this host was declared down");
            }
        }
    }

    fn renew_lease(&mut self, session: Option<&str>) {
        if self.leases.is_empty() {
            return;
        }
        if let Some(session) = session.and_then(SessionId::parse)
            && let Some(lease) = self.leases.get_mut(&session)
        {
            lease.last = Instant::now();
        }
    }
}

/// See [`Hub::writer_is_behind`].
const MAX_WAITING_CHANGES: usize = 20_000;
