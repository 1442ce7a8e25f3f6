//! The hub: the one task that owns the Sync Center model. Connections send it typed calls; it applies them to
//! the `Center`, routes the core's notices (cancel pushes at once, sync requests, results), coalesces
//! progress for watchers and for the store, and hands durable changes to the writer so that a reply that
//! acknowledges them leaves only after the commit. Queries that need the store run on spawned tasks.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use synccenter_core::{
    AlwaysConfirm, Center, Change, CoreError, EndReason, EventCursor, EventFilter, EventQuery, HandlerId, ItemId,
    ItemProgress, NewConflict, NewEvent, Notice, OwnerId, RequestId as CoreRequestId, SessionId, SessionQuery, Store,
};
use synccenter_protocol::methods::{self as m, UpdateKind, names};
use synccenter_protocol::{ErrorObject, Outgoing, PROTOCOL_VERSION, RequestId};
use tokio::sync::mpsc;

use crate::calls::{Call, Progress};
use crate::commands::{Commands, ItemDone, RunMsg};
use crate::conn::{ConnId, Outbox};
use crate::convert::{self as cv, Wire};
use crate::fleet::{FleetLink, queries, remote};
use crate::health::StoreHealth;
use crate::writer::{Ack, Batch};

/// What reaches the hub.
#[derive(Debug)]
pub(crate) enum HubMsg {
    Open {
        conn: ConnId,
        out: Outbox,
    },
    /// Calls from one connection, in the order they arrived.
    Calls {
        conn: ConnId,
        calls: Vec<(Option<RequestId>, Call)>,
    },
    Closed {
        conn: ConnId,
    },
    /// A removal of events finished (sent by the task that ran it), for the live feed.
    EventsRemoved {
        removed: u64,
    },
    /// What a command run reports.
    Run(RunMsg),
    /// Re-read the configuration file (SIGHUP).
    Reload,
    Shutdown,
}

impl HubMsg {
    /// How many calls the message carries (at least one unit of work).
    fn calls(&self) -> usize {
        match self {
            HubMsg::Calls { calls, .. } => calls.len().max(1),
            _ => 1,
        }
    }
}

/// Facts for `status`.
#[derive(Clone, Debug)]
pub(crate) struct Identity {
    pub(crate) socket: String,
    pub(crate) data_dir: String,
    pub(crate) store: String,
    pub(crate) started_at: String,
    pub(crate) http: Option<String>,
}

/// Timing of the hub's periodic work.
#[derive(Clone, Copy, Debug)]
pub struct Intervals {
    /// How often coalesced progress goes to watchers.
    pub publish: Duration,
    /// How often coalesced progress goes to the store when nothing durable carries it earlier.
    pub progress_flush: Duration,
    /// Default lease of a detached session.
    pub detached_lease: Duration,
}

impl Default for Intervals {
    fn default() -> Self {
        Self {
            publish: Duration::from_millis(100),
            progress_flush: Duration::from_millis(500),
            detached_lease: Duration::from_secs(600),
        }
    }
}

#[derive(Debug)]
struct Conn {
    out: Outbox,
    watcher: bool,
    serving: BTreeSet<HandlerId>,
}

#[derive(Debug)]
struct Lease {
    every: Duration,
    last: Instant,
}

/// Owner of detached sessions: no connection has this ID.
const NO_OWNER: OwnerId = OwnerId(0);

pub(crate) struct Hub<S> {
    center: Center,
    notices: std::sync::mpsc::Receiver<Notice>,
    store: Arc<S>,
    writer: mpsc::UnboundedSender<Batch>,
    /// Whether the writer's last commit failed; new durable calls are refused meanwhile.
    health: Arc<StoreHealth>,
    /// The hub's own inbox, for tasks it spawns to report back.
    inbox: mpsc::Sender<HubMsg>,
    identity: Identity,
    intervals: Intervals,
    limits: crate::Limits,
    conns: BTreeMap<ConnId, Conn>,
    /// The connection that created each live session, while it is open (for the per-connection cap).
    creators: HashMap<SessionId, ConnId>,
    request_owner: HashMap<CoreRequestId, ConnId>,
    leases: HashMap<SessionId, Lease>,
    /// Non-final progress not yet written, latest per item.
    unwritten_progress: BTreeMap<(SessionId, ItemId), ItemProgress>,
    /// Changes ready for the writer, and the replies waiting for them.
    batch: Batch,
    /// Progress and handler texts changed since the last publish to watchers.
    dirty_progress: BTreeSet<(SessionId, ItemId)>,
    dirty_text: BTreeSet<SessionId>,
    seq: u64,
    reports_applied: u64,
    commands: Commands,
    /// Command handlers registered from the configuration, to remove those a reload drops.
    configured: BTreeSet<HandlerId>,
    /// This host's place in a fleet (a fleet of one on the embedded store).
    fleet: FleetLink,
}

type Reply = Result<serde_json::Value, ErrorObject>;

fn json<T: Serialize>(v: T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

fn reply_line(id: RequestId, r: Reply) -> String {
    match r {
        Ok(result) => Outgoing::<_, ()>::Result { jsonrpc: "2.0", id, result }.to_line(),
        Err(error) => Outgoing::<(), ()>::Error { jsonrpc: "2.0", id: Some(id), error }.to_line(),
    }
}

fn push_line<P: Serialize>(method: &'static str, params: P) -> String {
    Outgoing::<(), P>::Call { jsonrpc: "2.0", id: None, method, params }.to_line()
}

impl<S: Store + 'static> Hub<S> {
    // One call site (`run`), which names every part; a builder would add nothing.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        center: Center,
        notices: std::sync::mpsc::Receiver<Notice>,
        store: Arc<S>,
        writer: mpsc::UnboundedSender<Batch>,
        health: Arc<StoreHealth>,
        inbox: mpsc::Sender<HubMsg>,
        identity: Identity,
        intervals: Intervals,
        limits: crate::Limits,
        commands: Commands,
        fleet: FleetLink,
    ) -> Self {
        Self {
            fleet,
            health,
            commands,
            configured: BTreeSet::new(),
            center,
            notices,
            store,
            writer,
            inbox,
            identity,
            intervals,
            limits,
            conns: BTreeMap::new(),
            creators: HashMap::new(),
            request_owner: HashMap::new(),
            leases: HashMap::new(),
            unwritten_progress: BTreeMap::new(),
            batch: Batch::default(),
            dirty_progress: BTreeSet::new(),
            dirty_text: BTreeSet::new(),
            seq: 0,
            reports_applied: 0,
        }
    }

    /// Runs until `Shutdown`, then ends live sessions and drains the writer.
    pub(crate) async fn run(mut self, mut rx: mpsc::Receiver<HubMsg>) {
        let mut publish = tokio::time::interval(self.intervals.publish);
        publish.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut flush = tokio::time::interval(self.intervals.progress_flush);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut housekeeping = tokio::time::interval(Duration::from_secs(1));
        housekeeping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                msg = rx.recv() => {
                    let Some(msg) = msg else { break };
                    let mut taken = msg.calls();
                    if !self.handle(msg) {
                        break;
                    }
                    // Take whatever else is waiting before committing: one batch for a burst, of a bounded
                    // number of calls, so the periodic work and other tasks are not held up for long.
                    while taken < 1024 {
                        match rx.try_recv() {
                            Ok(msg) => {
                                taken += msg.calls();
                                if !self.handle(msg) {
                                    self.shutdown();
                                    return;
                                }
                            }
                            Err(_) => break,
                        }
                    }
                    self.send_batch();
                }
                _ = publish.tick() => {
                    self.publish();
                    self.send_batch();
                }
                _ = flush.tick() => {
                    self.take_progress_into_batch();
                    self.send_batch();
                }
                _ = housekeeping.tick() => {
                    self.retry_failed_writes();
                    // Also ends pauses whose time has come (Center::tick).
                    self.expire_leases();
                    self.center.tick();
                    self.after_op();
                    self.schedule();
                    self.after_op();
                    self.send_batch();
                }
            }
        }
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let ended = self.center.end_all_sessions(EndReason::Shutdown);
        if !ended.is_empty() {
            tracing::info!(sessions = ended.len(), "ended live sessions at shutdown");
        }
        self.after_op();
        self.take_progress_into_batch();
        self.send_batch();
    }

    /// Returns false on shutdown.
    fn handle(&mut self, msg: HubMsg) -> bool {
        match msg {
            HubMsg::Open { conn, out } => {
                self.conns.insert(conn, Conn { out, watcher: false, serving: BTreeSet::new() });
            }
            HubMsg::Closed { conn } => {
                self.conns.remove(&conn);
                self.creators.retain(|_, c| *c != conn);
                self.request_owner.retain(|_, c| *c != conn);
                let ended = self.center.end_owner(OwnerId(conn));
                if !ended.is_empty() {
                    tracing::info!(conn, sessions = ended.len(), "connection closed; ended its sessions");
                }
                self.after_op();
            }
            HubMsg::Calls { conn, calls } => {
                for (id, call) in calls {
                    self.call(conn, id, call);
                }
            }
            HubMsg::EventsRemoved { removed } => self.update(UpdateKind::EventsRemoved { removed }),
            HubMsg::Run(msg) => {
                self.run_msg(msg);
                self.after_op();
            }
            HubMsg::Reload => {
                if let Err(e) = self.reload() {
                    tracing::error!("configuration refused; keeping the last good one:\n{e}");
                }
                self.after_op();
            }
            HubMsg::Shutdown => return false,
        }
        true
    }

    fn out(&self, conn: ConnId) -> Option<Outbox> {
        self.conns.get(&conn).map(|c| c.out.clone())
    }

    /// Sends a reply now, or after the commit when the call produced durable changes.
    fn respond(&mut self, conn: ConnId, id: Option<RequestId>, reply: Reply, durable: bool) {
        // A notification has no reply: nothing to clone or format (most progress reports are notifications).
        let Some(id) = id else { return };
        let Some(out) = self.out(conn) else { return };
        let line = reply_line(id.clone(), reply);
        if durable {
            self.batch.acks.push(Ack { out, id, line });
        } else {
            out.send(line);
        }
    }

    fn call(&mut self, conn: ConnId, id: Option<RequestId>, call: Call) {
        // Only sessions with a lease need their session ID read here (the call parses it again).
        if !self.leases.is_empty()
            && let Some(session) = session_of(&call)
            && let Some(lease) = self.leases.get_mut(&session)
        {
            lease.last = Instant::now();
        }
        // While the store cannot write, a request that would need a commit is refused before it changes
        // anything, rather than accepted into memory it cannot acknowledge. Notifications carry no reply to
        // refuse with: they are applied and stored with the rest once the store writes again.
        if id.is_some()
            && writes(&call)
            && call.forward_target().is_none_or(|(host, ..)| host == self.fleet.host)
            && let Some(why) = self.health.failure()
        {
            let error = ErrorObject::new(
                synccenter_protocol::error_codes::INTERNAL_ERROR,
                synccenter_core::HResult::E_FAIL.code,
                synccenter_core::HResult::E_FAIL.name,
                format!(
                    "refused: the store cannot write ({why}); nothing was changed. Free space (or fix the store) \
                     and try again"
                ),
            );
            self.respond(conn, id, Err(error), false);
            return;
        }
        match call {
            Call::Progress(p) => {
                self.reports_applied += 1;
                let cancel = self.progress(p);
                let durable = self.after_op();
                if id.is_some() {
                    let r = cancel.map(|cancel| json(m::CancelResult { cancel }));
                    self.respond(conn, id, r, durable);
                }
            }
            Call::EventsList(p) => self.spawn_query(conn, id, events_list(self.store.clone(), p)),
            Call::EventsGet(p) => self.spawn_query(conn, id, events_get(self.store.clone(), p)),
            Call::SessionsHistory(p) => self.spawn_query(conn, id, history(self.store.clone(), p)),
            Call::HandlerList(p) => {
                let infos = self.handler_infos(p.include_hidden);
                self.spawn_query(conn, id, with_handler_counts(self.store.clone(), infos));
            }
            Call::ItemList(p) => match self.item_infos(&p) {
                Ok(infos) => {
                    let handler = p.handler.clone();
                    self.spawn_query(conn, id, with_item_counts(self.store.clone(), handler, infos));
                }
                Err(e) => self.respond(conn, id, Err(e), false),
            },
            Call::EventsRemove(p) => self.events_remove(conn, id, p),
            Call::EventsClear(p) => self.events_clear(conn, id, p),
            Call::FleetHosts => {
                let local = self.host_info();
                self.spawn_query(conn, id, queries::hosts(self.fleet.clone(), local));
            }
            Call::FleetHandlers(p) => {
                let local = self.handler_infos(p.include_hidden);
                self.spawn_query(conn, id, queries::handlers(self.fleet.clone(), self.store.clone(), local, p));
            }
            Call::FleetSessions(p) => {
                self.spawn_query(conn, id, queries::sessions(self.fleet.clone(), self.store.clone(), p));
            }
            Call::FleetEvents(p) => {
                self.spawn_query(conn, id, queries::events(self.fleet.clone(), self.store.clone(), p))
            }
            Call::FleetConflicts(p) => {
                let local = self.center.conflicts(None, None).into_iter().map(cv::conflict_info).collect();
                self.spawn_query(conn, id, queries::conflicts(self.fleet.clone(), local, p));
            }
            other if other.forward_target().is_some_and(|(host, ..)| host != self.fleet.host) => {
                self.forward(conn, id, &other);
            }
            other => {
                let r = self.apply(conn, other);
                let durable = self.after_op();
                self.respond(conn, id, r, durable);
            }
        }
    }

    /// Sends a call naming another host to that host through the shared database, and its reply back.
    fn forward(&mut self, conn: ConnId, id: Option<RequestId>, call: &Call) {
        let Some((host, method, params)) = call.forward_target() else { return };
        let Some(out) = self.out(conn) else { return };
        let Some(shared) = self.fleet.shared.clone() else {
            let error = cv::invalid(format!(
                "there is no host {host:?}: this daemon ({}) is not part of a fleet (its store is not shared)",
                self.fleet.host
            ));
            if let Some(id) = id {
                out.send(reply_line(id, Err(error)));
            }
            return;
        };
        let (host, waiters, timeout) =
            (host.to_owned(), self.fleet.waiters.clone(), self.fleet.timings.forward_timeout);
        tokio::spawn(async move {
            let reply = remote::forward(&shared, &waiters, &host, method, params, timeout).await;
            if let Some(id) = id {
                out.send(reply_line(id, reply));
            }
        });
    }

    /// This host for `fleet.hosts`, from memory.
    fn host_info(&self) -> synccenter_protocol::fleet::HostInfo {
        synccenter_protocol::fleet::HostInfo {
            host: self.fleet.host.clone(),
            this_host: true,
            up: true,
            started_at: self.identity.started_at.clone(),
            seen_at: cv::ts(self.center.now()),
            down_since: None,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            handlers: self.center.handlers().count(),
            live_sessions: self.center.live_session_count(),
        }
    }

    /// Applies a report; returns the cancel request in force (the reply's content, built only for a request).
    fn progress(&mut self, p: Progress) -> Result<synccenter_protocol::CancelWire, ErrorObject> {
        let (session, item) = p.target?;
        let cancel = self
            .center
            .report_progress(
                session,
                &item,
                cv::status(p.status),
                p.text.as_deref(),
                p.step.unwrap_or(0),
                p.max_step.unwrap_or(0),
            )
            .map_err(|e| cv::core_error(&e))?;
        self.dirty_progress.insert((session, item));
        Ok(cv::cancel_wire(cancel))
    }

    fn apply(&mut self, conn: ConnId, call: Call) -> Reply {
        let core_err = |e: CoreError| cv::core_error(&e);
        match call {
            Call::Hello(p) => {
                let (min, max) = p.protocol.map(|r| (r.min, r.max)).unwrap_or((PROTOCOL_VERSION, PROTOCOL_VERSION));
                let version = max.min(PROTOCOL_VERSION);
                if version < min.max(synccenter_protocol::MIN_SUPPORTED_PROTOCOL) {
                    return Err(cv::invalid(format!(
                        "no common protocol version: the client speaks {min}..={max}, this daemon {}..={PROTOCOL_VERSION}",
                        synccenter_protocol::MIN_SUPPORTED_PROTOCOL
                    )));
                }
                if let Some(client) = p.client {
                    tracing::debug!(conn, client = %client.chars().take(128).collect::<String>(), "hello");
                }
                Ok(json(m::HelloResult {
                    protocol: version,
                    server: server_name(),
                    max_line_bytes: synccenter_protocol::MAX_LINE_BYTES,
                }))
            }
            Call::Status => Ok(json(m::StatusResult {
                server: server_name(),
                protocol: PROTOCOL_VERSION,
                pid: std::process::id(),
                socket: self.identity.socket.clone(),
                data_dir: self.identity.data_dir.clone(),
                store: self.identity.store.clone(),
                started_at: self.identity.started_at.clone(),
                handlers: self.center.handlers().count(),
                live_sessions: self.center.live_session_count(),
                connections: self.conns.len(),
                reports_applied: self.reports_applied,
                config: self.commands.path().map(|p| p.display().to_string()),
                config_error: self.commands.error().map(str::to_owned),
                overdue: self.overdue_items(),
                next_run: self.next_run_any().map(cv::ts),
                http: self.identity.http.clone(),
                host: self.fleet.host.clone(),
                degraded: self.fleet.shared.as_ref().and_then(|s| s.degraded()),
                paused: self
                    .center
                    .handlers()
                    .filter_map(|h| {
                        h.pause.map(|p| m::PausedInfo { handler: h.id.to_string(), until: p.until.map(cv::ts) })
                    })
                    .collect(),
            })),
            Call::Create(p) => {
                let handler = cv::handler_id(&p.handler)?;
                let items = cv::item_ids(&p.items)?;
                let owner = if p.detach { NO_OWNER } else { OwnerId(conn) };
                let lease = match (p.detach, p.lease_seconds) {
                    (_, Some(0)) => return Err(cv::invalid("lease_seconds must be at least 1")),
                    (_, Some(s)) => Some(Duration::from_secs(u64::from(s))),
                    (true, None) => Some(self.intervals.detached_lease),
                    (false, None) => None,
                };
                let cap = self.limits.max_sessions_per_connection;
                if self.creators.values().filter(|c| **c == conn).count() >= cap {
                    return Err(core_err(CoreError::CapacityExceeded {
                        what: "live sessions of one connection",
                        limit: cap,
                    }));
                }
                let session = self.center.create_session(owner, &handler, &items).map_err(core_err)?;
                self.creators.insert(session, conn);
                if let Some(every) = lease {
                    self.leases.insert(session, Lease { every, last: Instant::now() });
                }
                if let Ok(view) = self.center.session(session) {
                    let info = cv::session_info(&view);
                    self.update(UpdateKind::SessionStarted { session: info });
                }
                Ok(json(m::CreateSessionResult { session: session.to_string() }))
            }
            Call::Progress(p) => self.progress(p).map(|cancel| json(m::CancelResult { cancel })),
            Call::HandlerText(p) => {
                let session = cv::session_id(&p.session)?;
                let cancel = self.center.set_handler_progress_text(session, p.text.as_deref()).map_err(core_err)?;
                self.dirty_text.insert(session);
                Ok(json(m::CancelResult { cancel: cv::cancel_wire(cancel) }))
            }
            Call::Event(p) => {
                let session = cv::session_id(&p.session)?;
                let new = NewEvent {
                    item: cv::optional_item(&p.item)?,
                    level: p.level.map(cv::level),
                    flags: p.flags.unwrap_or(0),
                    name: p.name,
                    description: p.description,
                    link_text: p.link_text,
                    link_reference: p.link_reference,
                    context: p.context,
                };
                let event = self.center.report_event(session, new).map_err(core_err)?;
                Ok(json(m::ReportEventResult { event: event.to_string() }))
            }
            Call::CanContinue(p) => {
                let session = cv::session_id(&p.session)?;
                let item = cv::optional_item(&p.item)?;
                let proceed = self.center.can_continue(session, item.as_ref()).map_err(core_err)?;
                Ok(json(m::CanContinueResult { proceed }))
            }
            Call::QueryAdditional(p) => {
                let pending = self.center.query_additional_items(cv::session_id(&p.session)?).map_err(core_err)?;
                Ok(json(m::PendingItemsResult {
                    items: pending.items.iter().map(ToString::to_string).collect(),
                    contexts: pending.contexts.iter().map(cv::context_wire).collect(),
                }))
            }
            Call::AddItem(p) => {
                self.center.add_item(cv::session_id(&p.session)?, &cv::item_id(&p.item)?).map_err(core_err)?;
                Ok(json(m::Empty {}))
            }
            Call::AddContext(p) => {
                let session = cv::session_id(&p.session)?;
                self.center.add_context(session, p.context.as_ref().map(cv::context)).map_err(core_err)?;
                Ok(json(m::Empty {}))
            }
            Call::Propose(p) => {
                let session = cv::session_id(&p.session)?;
                let id = cv::item_id(&p.item.id)?;
                let spec = cv::item_spec(&p.item.fields)?;
                self.center.propose_item(session, id, spec).map_err(core_err)?;
                Ok(json(m::Empty {}))
            }
            Call::Commit(p) => {
                self.center.commit_item(cv::session_id(&p.session)?, &cv::item_id(&p.item)?).map_err(core_err)?;
                Ok(json(m::Empty {}))
            }
            Call::ManualSync(p) => {
                self.center.report_manual_sync(cv::session_id(&p.session)?).map_err(core_err)?;
                Ok(json(m::Empty {}))
            }
            Call::ReportConflict(p) => {
                let session = cv::session_id(&p.session)?;
                let new = NewConflict {
                    item: cv::optional_item(&p.item)?,
                    key: p.key,
                    name: p.name,
                    description: p.description,
                    versions: p.versions.iter().map(cv::version).collect::<Wire<_>>()?,
                    abilities: synccenter_core::ResolutionAbilities::from_names(p.abilities.iter().map(String::as_str))
                        .map_err(core_err)?,
                };
                let conflict = self.center.report_conflict(session, new).map_err(core_err)?;
                Ok(json(m::ReportConflictResult { conflict: conflict.to_string() }))
            }
            Call::End(p) => {
                let session = cv::session_id(&p.session)?;
                let s = self.center.end_session(session).map_err(core_err)?;
                self.leases.remove(&session);
                Ok(json(m::EndResult { status: cv::status_wire(s.status), errors: s.errors, conflicts: s.conflicts }))
            }
            Call::HandlerRegister(p) => {
                let handler = cv::handler_id(&p.handler)?;
                let spec = cv::handler_spec(&p)?;
                self.center.register_handler(handler.clone(), spec).map_err(core_err)?;
                self.update(UpdateKind::RegistryChanged { handler: handler.to_string() });
                let info = self.handler_info(&handler).map_err(core_err)?;
                Ok(json(info))
            }
            Call::HandlerRemove(p) => {
                let handler = cv::handler_id(&p.handler)?;
                self.center.remove_handler(&handler).map_err(core_err)?;
                self.update(UpdateKind::RegistryChanged { handler: handler.to_string() });
                Ok(json(m::Empty {}))
            }
            Call::HandlerServe(p) => {
                let handler = cv::handler_id(&p.handler)?;
                self.center.handler(&handler).map_err(core_err)?;
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.serving.insert(handler);
                }
                Ok(json(m::Empty {}))
            }
            Call::SyncFailed(p) => {
                let request = cv::request_id(&p.request)?;
                self.center.fail_request(request, &p.reason).map_err(core_err)?;
                Ok(json(m::Empty {}))
            }
            Call::ItemRegister(p) => {
                let handler = cv::handler_id(&p.handler)?;
                let item = cv::item_id(&p.item)?;
                let spec = cv::item_spec(&p.fields)?;
                let it = self.center.register_item(&handler, item, spec).map_err(core_err)?;
                self.update(UpdateKind::RegistryChanged { handler: handler.to_string() });
                Ok(json(item_info(&self.center, &handler, it.clone())))
            }
            Call::Start(p) => {
                let (_, sync_flags) = cv::flags(&p.flags);
                let context = p.context.as_ref().map(cv::context);
                let requests = match (&p.handler, &p.items) {
                    (None, None) => self.center.start_all(),
                    (None, Some(_)) => return Err(cv::invalid("items need a handler")),
                    (Some(h), None) => {
                        vec![self.center.start_handler(&cv::handler_id(h)?, sync_flags, context).map_err(core_err)?]
                    }
                    (Some(h), Some(items)) => vec![
                        self.center
                            .start_items(&cv::handler_id(h)?, &cv::item_ids(items)?, sync_flags, context)
                            .map_err(core_err)?,
                    ],
                };
                for r in &requests {
                    self.request_owner.insert(*r, conn);
                }
                Ok(json(m::StartResult { requests: requests.iter().map(ToString::to_string).collect() }))
            }
            Call::Stop(p) => {
                match (&p.handler, &p.items) {
                    (None, None) => self.center.stop_all(),
                    (None, Some(_)) => return Err(cv::invalid("items need a handler")),
                    (Some(h), None) => self.center.stop_handler(&cv::handler_id(h)?).map_err(core_err)?,
                    (Some(h), Some(items)) => {
                        self.center.stop_items(&cv::handler_id(h)?, &cv::item_ids(items)?).map_err(core_err)?
                    }
                }
                Ok(json(m::Empty {}))
            }
            Call::Enable(p) => {
                let handler = cv::handler_id(&p.handler)?;
                let (flags, _) = cv::flags(&p.flags);
                match cv::optional_item(&p.item)? {
                    None => self.center.enable_handler(&handler, p.enable, flags, &mut AlwaysConfirm),
                    Some(item) => self.center.enable_item(&handler, &item, p.enable, flags, &mut AlwaysConfirm),
                }
                .map_err(core_err)?;
                Ok(json(m::Empty {}))
            }
            Call::Activate(p) => {
                let handler = cv::handler_id(&p.handler)?;
                let (flags, _) = cv::flags(&p.flags);
                self.center.activate_handler(&handler, p.activate, flags, &mut AlwaysConfirm).map_err(core_err)?;
                Ok(json(m::Empty {}))
            }
            Call::DeleteItem(p) => {
                let handler = cv::handler_id(&p.handler)?;
                let (flags, _) = cv::flags(&p.flags);
                self.center
                    .delete_item(&handler, &cv::item_id(&p.item)?, flags, &mut AlwaysConfirm)
                    .map_err(core_err)?;
                Ok(json(m::Empty {}))
            }
            Call::Reload => match self.reload() {
                Ok(handlers) => Ok(json(m::ReloadResult { handlers })),
                Err(e) => {
                    Err(cv::invalid(format!("the configuration was refused; the last good one stays in force:\n{e}")))
                }
            },
            Call::Pause(p) => {
                let handler = p.handler.as_deref().map(cv::handler_id).transpose()?;
                let until = cv::time("until", &p.until)?;
                self.center.pause(handler.as_ref(), until).map_err(core_err)?;
                Ok(json(m::Empty {}))
            }
            Call::Resume(p) => {
                let handler = p.handler.as_deref().map(cv::handler_id).transpose()?;
                self.center.resume(handler.as_ref()).map_err(core_err)?;
                Ok(json(m::Empty {}))
            }
            Call::SessionsList => Ok(json(m::SessionsListResult {
                sessions: self.center.sessions().iter().map(cv::session_info).collect(),
            })),
            Call::ConflictsList(p) => {
                let handler = p.handler.as_deref().map(cv::handler_id).transpose()?;
                let item = cv::optional_item(&p.item)?;
                if item.is_some() && handler.is_none() {
                    return Err(cv::invalid("item needs a handler"));
                }
                let conflicts = self.center.conflicts(handler.as_ref(), item.as_ref());
                Ok(json(m::ConflictsListResult { conflicts: conflicts.into_iter().map(cv::conflict_info).collect() }))
            }
            Call::ConflictsGet(p) => {
                let c = self.center.conflict(cv::conflict_id(&p.conflict)?).map_err(core_err)?;
                Ok(json(cv::conflict_info(c)))
            }
            Call::Resolve(p) => {
                let id = cv::conflict_id(&p.conflict)?;
                let out = self.center.resolve_conflict(id, cv::choice(&p.choice), p.apply_to_all).map_err(core_err)?;
                Ok(json(m::ResolveResult {
                    recorded: out.recorded.iter().map(ToString::to_string).collect(),
                    needs_attention: out.needs_attention.iter().map(ToString::to_string).collect(),
                }))
            }
            Call::ConflictsRemove(p) => {
                let ids = p.conflicts.iter().map(|c| cv::conflict_id(c)).collect::<Wire<Vec<_>>>()?;
                let handlers: BTreeSet<String> =
                    ids.iter().filter_map(|id| self.center.conflict(*id).ok().map(|c| c.handler.to_string())).collect();
                self.center.remove_conflicts(&ids).map_err(core_err)?;
                for handler in handlers {
                    self.update(UpdateKind::ConflictsChanged { handler });
                }
                Ok(json(m::Empty {}))
            }
            Call::Subscribe => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.watcher = true;
                }
                Ok(json(m::SubscribeResult {
                    seq: self.seq,
                    handlers: self.handler_infos(true),
                    sessions: self.center.sessions().iter().map(cv::session_info).collect(),
                }))
            }
            Call::FleetHosts
            | Call::FleetHandlers(_)
            | Call::FleetSessions(_)
            | Call::FleetEvents(_)
            | Call::FleetConflicts(_)
            | Call::HandlerList(_)
            | Call::ItemList(_)
            | Call::EventsList(_)
            | Call::EventsGet(_)
            | Call::EventsRemove(_)
            | Call::EventsClear(_)
            | Call::SessionsHistory(_) => Err(cv::invalid("internal routing error")),
        }
    }

    /// Routes the core's notices and queues its changes. Returns true when the changes include durable
    /// ones, so the reply must wait for the commit.
    fn after_op(&mut self) -> bool {
        // Changes before notices: a session's final item states reach watchers before its `session_ended`.
        // Routing a notice may change the model again (a command run starts), hence the loop.
        let mut durable = self.take_changes();
        loop {
            let mut routed = false;
            while let Ok(n) = self.notices.try_recv() {
                routed = true;
                self.route(n);
            }
            durable |= self.take_changes();
            if !routed {
                return durable;
            }
        }
    }

    /// Queues the model's changes for the writer; returns true when some must be durable before the reply.
    fn take_changes(&mut self) -> bool {
        let mut durable = false;
        for change in self.center.take_changes() {
            match change {
                // The change's own item ID becomes the key: no copy per report.
                Change::ItemProgressed { session, item, progress } if !progress.is_final() => {
                    self.unwritten_progress.insert((session, item), progress);
                }
                _ => {
                    if let Change::EventAdded(e) = &change {
                        self.update(UpdateKind::EventAdded { event: cv::event_info(e) });
                    }
                    if let Change::ConflictSaved(c) = &change {
                        self.update(UpdateKind::ConflictsChanged { handler: c.handler.to_string() });
                    }
                    if let Change::ItemProgressed { session, item, progress } = &change {
                        // A final status is published at once: the session may end before the next tick.
                        self.dirty_progress.remove(&(*session, item.clone()));
                        self.unwritten_progress.remove(&(*session, item.clone()));
                        self.update(UpdateKind::Progress {
                            session: session.to_string(),
                            item: item.to_string(),
                            status: progress.status.map(cv::status_wire),
                            step: progress.step,
                            max_step: progress.max_step,
                            text: progress.text.clone(),
                        });
                    }
                    // Older progress goes first, so the store never sees it overtake what follows.
                    self.take_progress_into_batch();
                    self.batch.changes.push(change);
                    durable = true;
                }
            }
        }
        durable
    }

    /// While the store is failing, asks the writer to try the changes it kept again (it writes them first
    /// with any batch; this one carries only a barrier nobody waits for).
    fn retry_failed_writes(&mut self) {
        if self.health.failure().is_some() {
            let (retry, _) = tokio::sync::oneshot::channel();
            self.batch.barriers.push(retry);
        }
    }

    fn take_progress_into_batch(&mut self) {
        let progress = std::mem::take(&mut self.unwritten_progress);
        self.batch.changes.extend(progress.into_iter().map(|((session, item), progress)| Change::ItemProgressed {
            session,
            item,
            progress,
        }));
    }

    fn send_batch(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        if self.writer.send(batch).is_err() {
            tracing::error!("the store writer has stopped; changes are lost");
        }
    }

    fn route(&mut self, n: Notice) {
        match n {
            Notice::CancelRequested { session, owner, item, cancel } => {
                self.commands.cancel(owner, item.as_ref());
                let push = m::CancelRequestedPush {
                    session: session.to_string(),
                    item: item.as_ref().map(ToString::to_string),
                    cancel: cv::cancel_wire(cancel),
                };
                if let Some(c) = self.conns.get(&owner.0) {
                    c.out.send(push_line(names::PUSH_CANCEL_REQUESTED, &push));
                }
                self.update(UpdateKind::CancelRequested {
                    session: push.session,
                    item: push.item,
                    cancel: push.cancel,
                });
            }
            Notice::SyncRequested { request, handler, items, .. } if self.commands.manages(&handler) => {
                self.start_run(request, &handler, &items);
            }
            Notice::SyncRequested { request, handler, items, contexts, .. } => {
                let push = m::SyncRequestedPush {
                    request: request.to_string(),
                    handler: handler.to_string(),
                    items: items.iter().map(ToString::to_string).collect(),
                    contexts: contexts.iter().map(cv::context_wire).collect(),
                };
                let line = push_line(names::PUSH_SYNC_REQUESTED, &push);
                let mut served = false;
                for c in self.conns.values().filter(|c| c.serving.contains(&handler)) {
                    c.out.send(line.clone());
                    served = true;
                }
                if !served {
                    tracing::info!(%handler, %request, "sync requested but no connection serves the handler; waiting for a session");
                }
            }
            Notice::RequestFinished { request, handler, result } => {
                if let Some(conn) = self.request_owner.remove(&request)
                    && let Some(c) = self.conns.get(&conn)
                {
                    let push = m::SyncResultPush {
                        request: request.to_string(),
                        handler: handler.to_string(),
                        status: cv::status_wire(result.status),
                        errors: result.errors,
                        conflicts: result.conflicts,
                    };
                    c.out.send(push_line(names::PUSH_SYNC_RESULT, &push));
                }
            }
            Notice::SessionEnded { handler, summary, .. } => {
                self.commands.run_ended(summary.session);
                self.leases.remove(&summary.session);
                self.creators.remove(&summary.session);
                self.dirty_text.remove(&summary.session);
                self.dirty_progress.retain(|(s, _)| *s != summary.session);
                self.update(UpdateKind::SessionEnded {
                    session: summary.session.to_string(),
                    handler: handler.to_string(),
                    status: cv::status_wire(summary.status),
                    errors: summary.errors,
                    conflicts: summary.conflicts,
                    reason: summary.reason.name().to_owned(),
                });
            }
            Notice::ResolutionRequested { conflict, handler, item, choice } => {
                let push = m::ResolutionRequestedPush {
                    conflict: conflict.to_string(),
                    handler: handler.to_string(),
                    item: item.as_ref().map(ToString::to_string),
                    choice: cv::choice_wire(&choice),
                };
                let line = push_line(names::PUSH_RESOLUTION_REQUESTED, &push);
                for c in self.conns.values().filter(|c| c.serving.contains(&handler)) {
                    c.out.send(line.clone());
                }
                self.update(UpdateKind::ConflictsChanged { handler: handler.to_string() });
            }
            Notice::StateChanged { target, .. } => {
                self.update(UpdateKind::RegistryChanged { handler: target.handler.to_string() });
            }
        }
    }

    /// Sends one update to every watcher now.
    fn update(&mut self, change: UpdateKind) {
        self.seq += 1;
        if !self.conns.values().any(|c| c.watcher) {
            return;
        }
        let line = push_line(names::PUSH_UPDATE, m::Update { seq: self.seq, change });
        for c in self.conns.values().filter(|c| c.watcher) {
            self.batch.after.push((c.out.clone(), line.clone()));
        }
    }

    /// Coalesced progress and handler texts to watchers.
    fn publish(&mut self) {
        let progress = std::mem::take(&mut self.dirty_progress);
        let texts = std::mem::take(&mut self.dirty_text);
        for (session, item) in progress {
            let Ok(view) = self.center.session(session) else { continue };
            let Some((_, p)) = view.items.iter().find(|(i, _)| *i == item) else { continue };
            self.update(UpdateKind::Progress {
                session: session.to_string(),
                item: item.to_string(),
                status: p.status.map(cv::status_wire),
                step: p.step,
                max_step: p.max_step,
                text: p.text.clone(),
            });
        }
        for session in texts {
            let Ok(view) = self.center.session(session) else { continue };
            if let Some(text) = view.handler_text {
                self.update(UpdateKind::HandlerText { session: session.to_string(), text });
            }
        }
    }

    fn expire_leases(&mut self) {
        let now = Instant::now();
        let expired: Vec<SessionId> =
            self.leases.iter().filter(|(_, l)| now.duration_since(l.last) >= l.every).map(|(s, _)| *s).collect();
        for session in expired {
            self.leases.remove(&session);
            if self.center.end_session_for(session, EndReason::LeaseExpired).is_ok() {
                tracing::info!(%session, "ended a session whose lease ran out");
            }
        }
    }

    fn handler_info(&self, id: &HandlerId) -> Result<m::HandlerInfo, CoreError> {
        let h = self.center.handler(id)?;
        let items = self.center.items(id)?;
        Ok(m::HandlerInfo {
            display_text: self.center.handler_display_text(id)?,
            syncing: self.center.sessions().iter().any(|s| &s.handler == id),
            command: self.commands.manages(id),
            next_run: items.iter().filter_map(|i| self.commands.next_run(id, &i.id)).min().map(cv::ts),
            overdue: items.iter().any(|i| self.commands.is_overdue(id, &i.id)),
            conflict_count: self.center.conflict_count(id),
            ..cv::stored_handler_info(h, self.center.item_count(id)?)
        })
    }

    fn handler_infos(&self, include_hidden: bool) -> Vec<m::HandlerInfo> {
        self.center
            .handlers()
            .filter(|h| include_hidden || !h.hidden)
            .filter_map(|h| self.handler_info(&h.id).ok())
            .collect()
    }

    fn item_infos(&self, p: &m::ItemListParams) -> Wire<Vec<m::ItemInfo>> {
        let handler = cv::handler_id(&p.handler)?;
        let items = self.center.items(&handler).map_err(|e| cv::core_error(&e))?;
        Ok(items
            .into_iter()
            .filter(|i| p.include_hidden || !i.hidden)
            .map(|i| {
                let mut info = item_info(&self.center, &handler, i.clone());
                info.next_run = self.commands.next_run(&handler, &i.id).map(cv::ts);
                info.overdue = self.commands.is_overdue(&handler, &i.id);
                info
            })
            .collect())
    }

    /// Runs a store query on its own task, after everything the hub has already processed is written, so a
    /// query reads every change that came before it (a watcher that saw an update finds it in history).
    fn spawn_query<F>(&mut self, conn: ConnId, id: Option<RequestId>, query: F)
    where
        F: Future<Output = Reply> + Send + 'static,
    {
        let (Some(id), Some(out)) = (id, self.out(conn)) else { return };
        let (written_tx, written) = tokio::sync::oneshot::channel();
        self.take_progress_into_batch();
        self.batch.barriers.push(written_tx);
        self.send_batch();
        tokio::spawn(async move {
            let _ = written.await;
            let reply = query.await;
            out.send(reply_line(id, reply));
        });
    }

    fn events_remove(&mut self, conn: ConnId, id: Option<RequestId>, p: m::EventsRemoveParams) {
        let ids = match p.events.iter().map(|e| cv::event_id(e)).collect::<Wire<Vec<_>>>() {
            Ok(ids) => ids,
            Err(e) => return self.respond(conn, id, Err(e), false),
        };
        let store = self.store.clone();
        let inbox = self.inbox.clone();
        self.spawn_query(conn, id, async move {
            for e in &ids {
                if store.get_event(*e).await.map_err(|e| cv::core_error(&e.into()))?.is_none() {
                    return Err(cv::core_error(&CoreError::UnknownEvent(*e)));
                }
            }
            let removed = store.remove_events(&ids).await.map_err(|e| cv::core_error(&e.into()))?;
            let _ = inbox.send(HubMsg::EventsRemoved { removed }).await;
            Ok(json(m::RemovedResult { removed }))
        });
    }

    fn events_clear(&mut self, conn: ConnId, id: Option<RequestId>, p: m::EventsFilterParams) {
        let filter = match event_filter(&p) {
            Ok(f) => f,
            Err(e) => return self.respond(conn, id, Err(e), false),
        };
        self.send_batch();
        let store = self.store.clone();
        let inbox = self.inbox.clone();
        self.spawn_query(conn, id, async move {
            let removed = store.clear_events(&filter).await.map_err(|e| cv::core_error(&e.into()))?;
            if removed > 0 {
                let _ = inbox.send(HubMsg::EventsRemoved { removed }).await;
            }
            Ok(json(m::RemovedResult { removed }))
        });
    }
}

impl<S: Store + 'static> Hub<S> {
    /// Reads the configuration and registers its command handlers; those a new configuration drops are
    /// removed (when idle). Returns how many are configured.
    pub(crate) fn reload(&mut self) -> Result<usize, String> {
        let now = self.center.now();
        let config = self.commands.load(now)?.clone();
        let mut now_configured = BTreeSet::new();
        for h in &config.handlers {
            if let Err(e) = self.center.register_handler(h.id.clone(), h.spec()) {
                tracing::error!(handler = %h.id, error = %e, "cannot register a configured handler");
                continue;
            }
            for i in &h.items {
                if let Err(e) = self.center.register_item(&h.id, i.id.clone(), i.spec()) {
                    tracing::error!(handler = %h.id, item = %i.id, error = %e, "cannot register a configured item");
                }
            }
            self.update(UpdateKind::RegistryChanged { handler: h.id.to_string() });
            now_configured.insert(h.id.clone());
        }
        for gone in self.configured.difference(&now_configured).cloned().collect::<Vec<_>>() {
            match self.center.remove_handler(&gone) {
                Ok(()) => self.update(UpdateKind::RegistryChanged { handler: gone.to_string() }),
                Err(e) => {
                    tracing::warn!(handler = %gone, error = %e, "a handler left the configuration but stays for now")
                }
            }
        }
        self.configured = now_configured;
        tracing::info!(handlers = config.handlers.len(), "configuration loaded");
        Ok(config.handlers.len())
    }

    /// Every configured item, per handler.
    pub(crate) fn configured_items(&self) -> Vec<(HandlerId, Vec<ItemId>)> {
        self.commands
            .config()
            .handlers
            .iter()
            .map(|h| (h.id.clone(), h.items.iter().map(|i| i.id.clone()).collect()))
            .collect()
    }

    /// Writes what the start produced (registration from the configuration).
    pub(crate) fn flush_startup(&mut self) {
        self.after_op();
        self.send_batch();
    }

    /// Seeds the schedules' last runs from session history, so a restart does not run everything again.
    pub(crate) fn seed_last_run(&mut self, handler: &HandlerId, item: &ItemId, at: synccenter_core::Timestamp) {
        self.commands.seed_last_run(handler, item, at);
    }

    /// A dispatched request of a command handler becomes a session the daemon owns.
    fn start_run(&mut self, request: CoreRequestId, handler: &HandlerId, items: &[ItemId]) {
        let owner = self.commands.new_owner();
        match self.center.create_session(owner, handler, items) {
            Ok(session) => {
                if let Ok(view) = self.center.session(session) {
                    self.update(UpdateKind::SessionStarted { session: cv::session_info(&view) });
                }
                self.commands.spawn_run(session, owner, handler, items, self.inbox.clone());
            }
            Err(e) => {
                let _ = self.center.fail_request(request, &e.to_string());
            }
        }
    }

    /// Issues the starts that schedules and retries make due, and raises freshness breaches.
    fn schedule(&mut self) {
        let now = self.center.now();
        for due in self.commands.due(now) {
            let flags = synccenter_core::SyncControlFlags::IGNORE_IF_ALREADY_SYNCING;
            match self.center.start_items(&due.handler, &due.items, flags, None) {
                Ok(_) => self.commands.started(&due, now),
                // A paused handler's missed run happens once, when the pause ends.
                Err(CoreError::NotReady { reason: synccenter_core::NotReadyReason::Paused, .. }) => {}
                Err(e) => {
                    self.commands.started(&due, now);
                    let what = if due.retry { "retry" } else { "scheduled run" };
                    let list = due.items.iter().map(ItemId::as_str).collect::<Vec<_>>().join(", ");
                    let _ = self.center.add_event(
                        &due.handler,
                        None,
                        synccenter_core::EventLevel::Warning,
                        &format!("The {what} was skipped"),
                        &format!("The {what} of {list} was skipped: {e}"),
                    );
                }
            }
        }
        let center = &self.center;
        let newly = self.commands.check_freshness(|h, i| center.item(h, i).ok().and_then(|it| it.last_sync()), now);
        for (handler, item, bound) in newly {
            let _ = self.center.add_event(
                &handler,
                Some(&item),
                synccenter_core::EventLevel::Error,
                "Sync overdue",
                &format!(
                    "{item} has not synchronized successfully within {} (its freshness bound)",
                    synccenter_config::format_duration(bound)
                ),
            );
        }
        self.after_op();
    }

    fn run_msg(&mut self, msg: RunMsg) {
        use synccenter_commands::progress::Observation as O;
        use synccenter_core::{EventLevel, NewEvent, ProgressStatus as P};
        match msg {
            RunMsg::ItemStarted { session, item, text } => {
                let _ = self.center.report_progress(session, &item, P::UpdatingIndeterminate, Some(&text), 0, 0);
                self.dirty_progress.insert((session, item));
            }
            RunMsg::Observation { session, item, observation } => {
                let event = |level, name: &str, description: &str| NewEvent {
                    item: Some(item.clone()),
                    level: Some(level),
                    name: Some(name.to_owned()),
                    description: Some(description.to_owned()),
                    ..NewEvent::default()
                };
                match observation {
                    O::Progress(p) => {
                        let (step, max) = p.steps();
                        let status = if max == 0 { P::UpdatingIndeterminate } else { P::Updating };
                        let _ = self.center.report_progress(session, &item, status, Some(&p.human()), step, max);
                        self.reports_applied += 1;
                        self.dirty_progress.insert((session, item));
                    }
                    O::Text { text } => {
                        let current = self
                            .center
                            .session(session)
                            .ok()
                            .and_then(|v| v.items.into_iter().find(|(i, _)| *i == item).map(|(_, p)| p));
                        let (status, step, max) = match current {
                            Some(p) if p.status.is_some_and(|s| !s.is_final()) => {
                                (p.status.unwrap_or(P::UpdatingIndeterminate), p.step, p.max_step)
                            }
                            _ => (P::UpdatingIndeterminate, 0, 0),
                        };
                        let _ = self.center.report_progress(session, &item, status, Some(&text), step, max);
                        self.dirty_progress.insert((session, item));
                    }
                    O::Warning { message } => {
                        let _ = self.center.report_event(session, event(EventLevel::Warning, &message, &message));
                    }
                    O::Error { message, path } => {
                        let mut e = event(EventLevel::Error, &message, &message);
                        e.context = path;
                        let _ = self.center.report_event(session, e);
                    }
                    O::Summary { text, .. } => {
                        let _ = self.center.report_event(session, event(EventLevel::Info, "Summary", &text));
                    }
                    O::Conflict { path, description, versions } if versions.len() >= 2 => {
                        let conflict = NewConflict {
                            item: Some(item.clone()),
                            key: Some(path.clone()),
                            name: path,
                            description,
                            versions: versions
                                .into_iter()
                                .map(|(location, detail)| synccenter_core::ConflictVersion {
                                    location_short: location,
                                    location_full: detail,
                                    item_type: synccenter_core::ConflictItemType::UPDATED,
                                    ..Default::default()
                                })
                                .collect(),
                            abilities: synccenter_core::ResolutionAbilities::empty(),
                        };
                        if let Err(e) = self.center.report_conflict(session, conflict) {
                            tracing::warn!(error = %e, "a conflict the tool reported was refused");
                        }
                    }
                    O::Conflict { path, description, .. } => {
                        let text = format!("{path}: {description}");
                        let _ = self.center.report_event(session, event(EventLevel::Warning, "Conflict", &text));
                    }
                    O::Log { .. } => {}
                }
            }
            RunMsg::ItemDone { session, item, done } => self.item_done(session, item, done),
            RunMsg::Finished { session } => {
                if let Err(e) = self.center.end_session(session) {
                    tracing::warn!(%session, error = %e, "a command run could not end its session");
                }
                self.commands.run_ended(session);
            }
        }
    }

    fn item_done(&mut self, session: SessionId, item: ItemId, done: ItemDone) {
        use synccenter_commands::outcome::Final;
        use synccenter_core::{EventLevel, NewEvent, ProgressStatus as P};
        let status = match done.outcome.status {
            Final::Succeeded => P::Succeeded,
            Final::Failed => P::Failed,
            Final::Canceled => P::Canceled,
            Final::Disconnected => P::Disconnected,
        };
        let handler = self.center.session(session).map(|v| v.handler).ok();
        let _ = self.center.report_progress(session, &item, status, Some(&done.outcome.reason), 0, 0);
        self.dirty_progress.insert((session, item.clone()));
        let event = match (status, &done.not_started) {
            (P::Failed, Some(why)) => Some((EventLevel::Error, "The command could not start".to_owned(), why.clone())),
            (P::Failed, None) => {
                let mut description = done.outcome.reason.clone();
                if !done.stderr_tail.trim().is_empty() {
                    description.push_str("\n\nEnd of its error output:\n");
                    description.push_str(&done.stderr_tail);
                }
                Some((EventLevel::Error, format!("{} failed", done.kind.name()), description))
            }
            (P::Disconnected, _) => {
                Some((EventLevel::Warning, "Target absent; skipped".to_owned(), done.outcome.reason.clone()))
            }
            _ => None,
        };
        if let Some((level, name, description)) = event {
            let e = NewEvent {
                item: Some(item.clone()),
                level: Some(level),
                name: Some(name),
                description: Some(description),
                ..NewEvent::default()
            };
            let _ = self.center.report_event(session, e);
        }
        if let Some(handler) = handler {
            let now = self.center.now();
            let random = f64::from(now.as_micros().rem_euclid(1000) as u32) / 1000.0;
            if let Some(delay) = self.commands.finished(&handler, &item, status, done.outcome.retryable, now, random) {
                tracing::info!(%handler, %item, retry_in = ?delay, "a failed item will be retried");
            }
        }
    }

    fn overdue_items(&self) -> Vec<String> {
        self.center
            .handlers()
            .flat_map(|h| {
                self.center
                    .items(&h.id)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|i| self.commands.is_overdue(&h.id, &i.id))
                    .map(|i| format!("{}/{}", h.id, i.id))
            })
            .collect()
    }

    fn next_run_any(&self) -> Option<synccenter_core::Timestamp> {
        self.center
            .handlers()
            .flat_map(|h| {
                self.center
                    .items(&h.id)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(move |i| self.commands.next_run(&h.id, &i.id))
            })
            .min()
    }
}

fn server_name() -> String {
    format!("synccenter {}", env!("CARGO_PKG_VERSION"))
}

/// Whether a call may produce durable changes (to refuse while the store cannot write). No `_` arm: a new call
/// needs a decision.
fn writes(call: &Call) -> bool {
    match call {
        Call::Progress(p) => cv::status(p.status).is_final(),
        Call::Create(_)
        | Call::Event(_)
        | Call::AddItem(_)
        | Call::Commit(_)
        | Call::ManualSync(_)
        | Call::ReportConflict(_)
        | Call::End(_)
        | Call::HandlerRegister(_)
        | Call::HandlerRemove(_)
        | Call::SyncFailed(_)
        | Call::ItemRegister(_)
        | Call::Start(_)
        | Call::Enable(_)
        | Call::Activate(_)
        | Call::DeleteItem(_)
        | Call::Pause(_)
        | Call::Resume(_)
        | Call::Reload
        | Call::Resolve(_)
        | Call::ConflictsRemove(_) => true,
        // Stops, texts, contexts and proposals live in memory; removing events frees space.
        Call::Hello(_)
        | Call::Status
        | Call::HandlerText(_)
        | Call::CanContinue(_)
        | Call::QueryAdditional(_)
        | Call::AddContext(_)
        | Call::Propose(_)
        | Call::HandlerList(_)
        | Call::HandlerServe(_)
        | Call::ItemList(_)
        | Call::Stop(_)
        | Call::SessionsList
        | Call::SessionsHistory(_)
        | Call::EventsList(_)
        | Call::EventsGet(_)
        | Call::EventsRemove(_)
        | Call::EventsClear(_)
        | Call::ConflictsList(_)
        | Call::ConflictsGet(_)
        | Call::Subscribe
        | Call::FleetHosts
        | Call::FleetHandlers(_)
        | Call::FleetSessions(_)
        | Call::FleetEvents(_)
        | Call::FleetConflicts(_) => false,
    }
}

fn session_of(call: &Call) -> Option<SessionId> {
    let s = match call {
        Call::Progress(p) => return p.target.as_ref().ok().map(|(s, _)| *s),
        Call::HandlerText(p) => &p.session,
        Call::Event(p) => &p.session,
        Call::CanContinue(p) => &p.session,
        Call::QueryAdditional(p) | Call::ManualSync(p) | Call::End(p) => &p.session,
        Call::AddItem(p) | Call::Commit(p) => &p.session,
        Call::AddContext(p) => &p.session,
        Call::Propose(p) => &p.session,
        Call::ReportConflict(p) => &p.session,
        _ => return None,
    };
    cv::session_id(s).ok()
}

fn item_info(center: &Center, handler: &HandlerId, i: synccenter_core::Item) -> m::ItemInfo {
    let progress = center.item_display(handler, &i.id).ok().flatten();
    m::ItemInfo {
        item: i.id.to_string(),
        name: i.name,
        type_label: i.type_label,
        comment: i.comment,
        last_sync: i.last_sync_reported.or(i.last_sync_recorded).map(cv::ts),
        enabled: i.enabled,
        connected: i.connected,
        hidden: i.hidden,
        capabilities: i.capabilities.names().into_iter().map(str::to_owned).collect(),
        policies: i.policies.names().into_iter().map(str::to_owned).collect(),
        error_count: 0,
        next_run: None,
        overdue: false,
        progress: progress.as_ref().map(cv::progress_info),
    }
}

pub(crate) fn event_filter(p: &m::EventsFilterParams) -> Wire<EventFilter> {
    let handler = p.handler.as_deref().map(cv::handler_id).transpose()?;
    let item = cv::optional_item(&p.item)?;
    if item.is_some() && handler.is_none() {
        return Err(cv::invalid("item needs a handler"));
    }
    Ok(EventFilter {
        handler,
        item,
        handler_level_only: p.handler_level_only,
        levels: p.levels.iter().flatten().map(|l| cv::level(*l)).collect(),
        session: p.session.as_deref().map(cv::session_id).transpose()?,
        since: cv::time("since", &p.since)?,
        until: cv::time("until", &p.until)?,
    })
}

pub(crate) fn store_err(e: synccenter_core::StoreError) -> ErrorObject {
    cv::core_error(&CoreError::Store(e))
}

/// Cursors are `<micros>.<event id>`: opaque to clients, stable across pages.
pub(crate) fn parse_cursor(s: &str) -> Wire<EventCursor> {
    let bad = || cv::invalid(format!("{s:?} is not a cursor from a previous events.list"));
    let (t, id) = s.split_once('.').ok_or_else(bad)?;
    Ok(EventCursor {
        time: synccenter_core::Timestamp::from_micros(t.parse().map_err(|_| bad())?),
        id: cv::event_id(id).map_err(|_| bad())?,
    })
}

async fn events_list<S: Store>(store: Arc<S>, p: m::EventsFilterParams) -> Reply {
    let filter = event_filter(&p)?;
    let limit = p.limit.unwrap_or(synccenter_protocol::DEFAULT_PAGE).clamp(1, synccenter_protocol::MAX_PAGE);
    let after = p.after.as_deref().map(parse_cursor).transpose()?;
    let total = store.count_events(&filter).await.map_err(store_err)?;
    let events = store.list_events(&EventQuery { filter, after, limit: limit + 1 }).await.map_err(store_err)?;
    let more = events.len() > limit as usize;
    let events: Vec<_> = events.into_iter().take(limit as usize).collect();
    let next = if more { events.last().map(|e| format!("{}.{}", e.time.as_micros(), e.id)) } else { None };
    Ok(json(m::EventsListResult { events: events.iter().map(cv::event_info).collect(), next, total }))
}

async fn events_get<S: Store>(store: Arc<S>, p: m::EventParams) -> Reply {
    let id = cv::event_id(&p.event)?;
    match store.get_event(id).await.map_err(store_err)? {
        Some(e) => Ok(json(cv::event_info(&e))),
        None => Err(cv::core_error(&CoreError::UnknownEvent(id))),
    }
}

async fn history<S: Store>(store: Arc<S>, p: m::SessionsHistoryParams) -> Reply {
    let query = SessionQuery {
        handler: p.handler.as_deref().map(cv::handler_id).transpose()?,
        started_before: cv::time("before", &p.before)?,
        limit: p.limit.unwrap_or(synccenter_protocol::DEFAULT_PAGE).clamp(1, synccenter_protocol::MAX_PAGE),
    };
    let sessions = store.list_sessions(&query).await.map_err(store_err)?;
    Ok(json(m::SessionsHistoryResult { sessions: sessions.iter().map(cv::session_record_info).collect() }))
}

pub(crate) async fn error_count<S: Store>(store: &S, handler: &str, item: Option<&str>) -> Result<u64, ErrorObject> {
    let filter = EventFilter {
        handler: Some(cv::handler_id(handler)?),
        item: item.map(cv::item_id).transpose()?,
        levels: vec![synccenter_core::EventLevel::Error],
        ..EventFilter::default()
    };
    store.count_events(&filter).await.map_err(store_err)
}

async fn with_handler_counts<S: Store>(store: Arc<S>, mut infos: Vec<m::HandlerInfo>) -> Reply {
    for h in &mut infos {
        h.error_count = error_count(&*store, &h.handler, None).await?;
    }
    Ok(json(m::HandlerListResult { handlers: infos }))
}

async fn with_item_counts<S: Store>(store: Arc<S>, handler: String, mut infos: Vec<m::ItemInfo>) -> Reply {
    for i in &mut infos {
        i.error_count = error_count(&*store, &handler, Some(&i.item)).await?;
    }
    Ok(json(m::ItemListResult { items: infos }))
}
