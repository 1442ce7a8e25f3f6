//! `Center`: the whole Sync Center model in memory, with every rule of the spec, and no I/O.
//!
//! Each operation validates everything before it changes anything, so a refused call leaves no trace (the one
//! documented exception: a refused transition out of a completion status marks the item failed). Changes to
//! persist go to an internal log the caller drains with [`Center::take_changes`]; notices go to the sink at
//! once. The store is the caller's business (see `SyncCenter` for the composition).

mod conflicts;
mod control;
mod registry;
mod requests;
mod session;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

pub use conflicts::MAX_CONFLICT_VERSIONS;
pub use control::{AlwaysConfirm, Confirm};
pub use session::ENDED_WITHOUT_RESULT;

use crate::enums::SyncControlFlags;
use crate::error::CoreError;
use crate::model::{Conflict, Context, Handler, Item, ItemProgress, SessionSummary};
use crate::notice::{Notice, NoticeSink};
use crate::store::{Change, Snapshot};
use crate::text::{ConflictId, HandlerId, ItemId, OwnerId, RequestId, SessionId};
use crate::time::{Clock, IdSource, Timestamp};

/// Tunables of the model.
#[derive(Clone, Debug)]
pub struct CenterConfig {
    /// How long a dispatched start request waits for a session to serve it (§5.20).
    pub handoff_timeout: Duration,
    /// How many ended sessions are remembered so that late calls get `E_UNEXPECTED` (older ones get
    /// `E_INVALIDARG`, "unknown session").
    pub ended_session_memory: usize,
    /// Upper bound on live sessions.
    pub max_live_sessions: usize,
    /// Upper bound on members (full and provisional) of one session.
    pub max_items_per_session: usize,
}

impl Default for CenterConfig {
    fn default() -> Self {
        Self {
            handoff_timeout: Duration::from_secs(300),
            ended_session_memory: 4096,
            max_live_sessions: 100_000,
            max_items_per_session: 10_000,
        }
    }
}

#[derive(Debug)]
struct HandlerEntry {
    handler: Handler,
    /// Keyed by ASCII-folded ID.
    items: BTreeMap<String, Item>,
}

#[derive(Debug)]
struct Member {
    item: ItemId,
    progress: ItemProgress,
    /// The last report's amount, when it gave one (live only, like the session).
    amount: Option<crate::model::Amount>,
    /// The proposed item while it is provisional (§5.15).
    proposed: Option<Item>,
    errors: u32,
}

#[derive(Debug)]
struct LiveSession {
    id: SessionId,
    handler: HandlerId,
    owner: OwnerId,
    started_at: Timestamp,
    manual: bool,
    members: Vec<Member>,
    handler_text: Option<String>,
    stop_all: bool,
    item_stops: BTreeSet<ItemId>,
    contexts: Vec<Context>,
    handler_errors: u32,
    /// A pause of the handler holds it still instead of stopping it ([`Center::set_suspendable`]).
    suspendable: bool,
}

impl Member {
    fn new(item: ItemId, progress: ItemProgress) -> Member {
        Member { item, progress, amount: None, proposed: None, errors: 0 }
    }
}

impl LiveSession {
    /// A session as it starts, or as the store last saw it live (`manual` and `members` come from the record).
    fn new(id: SessionId, handler: HandlerId, owner: OwnerId, started_at: Timestamp, members: Vec<Member>) -> Self {
        LiveSession {
            id,
            handler,
            owner,
            started_at,
            manual: false,
            members,
            handler_text: None,
            stop_all: false,
            item_stops: BTreeSet::new(),
            contexts: Vec::new(),
            handler_errors: 0,
            suspendable: false,
        }
    }

    fn member(&self, item: &ItemId) -> Option<&Member> {
        self.members.iter().find(|m| &m.item == item)
    }

    fn member_mut(&mut self, item: &ItemId) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| &m.item == item)
    }

    fn cancel_for(&self, item: &ItemId) -> crate::enums::CancelRequest {
        use crate::enums::CancelRequest;
        if self.stop_all {
            CancelRequest::CancelAll
        } else if self.item_stops.contains(item) {
            CancelRequest::CancelItem
        } else {
            CancelRequest::None
        }
    }

    fn errors(&self) -> u32 {
        self.handler_errors + self.members.iter().map(|m| m.errors).sum::<u32>()
    }
}

#[derive(Debug, PartialEq, Eq)]
enum RequestState {
    Queued,
    Dispatched { deadline: Timestamp },
}

#[derive(Debug)]
struct StartRequest {
    id: RequestId,
    handler: HandlerId,
    flags: SyncControlFlags,
    state: RequestState,
    pending: Vec<ItemId>,
    contexts: Vec<Context>,
    serving: Vec<(ItemId, SessionId)>,
    outcomes: Vec<(ItemId, crate::enums::ProgressStatus)>,
    errors: u32,
    stopped_while_queued: bool,
}

/// The Sync Center model. See the module documentation for the contract.
pub struct Center {
    config: CenterConfig,
    clock: Box<dyn Clock>,
    ids: Box<dyn IdSource>,
    sink: Box<dyn NoticeSink>,
    /// Keyed by ASCII-folded handler ID.
    handlers: BTreeMap<String, HandlerEntry>,
    sessions: BTreeMap<SessionId, LiveSession>,
    /// Live sessions per folded handler ID, oldest first.
    live_by_handler: BTreeMap<String, Vec<SessionId>>,
    ended: BTreeMap<SessionId, SessionSummary>,
    ended_order: VecDeque<SessionId>,
    requests: BTreeMap<RequestId, StartRequest>,
    next_request: u64,
    conflicts: BTreeMap<ConflictId, Conflict>,
    changes: Vec<Change>,
}

impl std::fmt::Debug for Center {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Center")
            .field("handlers", &self.handlers.len())
            .field("live_sessions", &self.sessions.len())
            .field("requests", &self.requests.len())
            .field("conflicts", &self.conflicts.len())
            .finish_non_exhaustive()
    }
}

impl Center {
    /// An empty Sync Center.
    pub fn new(config: CenterConfig, clock: Box<dyn Clock>, ids: Box<dyn IdSource>, sink: Box<dyn NoticeSink>) -> Self {
        Self {
            config,
            clock,
            ids,
            sink,
            handlers: BTreeMap::new(),
            sessions: BTreeMap::new(),
            live_by_handler: BTreeMap::new(),
            ended: BTreeMap::new(),
            ended_order: VecDeque::new(),
            requests: BTreeMap::new(),
            next_request: 1,
            conflicts: BTreeMap::new(),
            changes: Vec::new(),
        }
    }

    /// A Sync Center holding what a store had. Sessions that were live when the store was last written are
    /// ended as for a lost owner, with reason `Restarted` and a warning event each; the resulting changes are
    /// waiting in [`Center::take_changes`].
    pub fn restore(
        snapshot: Snapshot,
        config: CenterConfig,
        clock: Box<dyn Clock>,
        ids: Box<dyn IdSource>,
        sink: Box<dyn NoticeSink>,
    ) -> Self {
        let mut c = Self::new(config, clock, ids, sink);
        for (handler, items) in snapshot.handlers {
            let items = items.into_iter().map(|i| (i.id.folded(), i)).collect();
            c.handlers.insert(handler.id.folded(), HandlerEntry { handler, items });
        }
        for conflict in snapshot.conflicts {
            c.conflicts.insert(conflict.id, conflict);
        }
        for record in snapshot.live_sessions {
            let members = record.items.into_iter().map(|m| Member::new(m.item, m.progress)).collect();
            let mut session =
                LiveSession::new(record.id, record.handler.clone(), record.owner, record.started_at, members);
            session.manual = record.manual;
            c.live_by_handler.entry(record.handler.folded()).or_default().push(record.id);
            c.sessions.insert(record.id, session);
            c.finish_session(record.id, crate::model::EndReason::Restarted);
        }
        c
    }

    /// Takes the changes recorded since the last call, in order.
    pub fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.changes)
    }

    /// True when changes wait to be taken.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    /// The configuration.
    pub fn config(&self) -> &CenterConfig {
        &self.config
    }

    /// The current time as the model sees it.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// A rendering of the whole in-memory state, for tests that prove a refused call changed nothing.
    pub fn state_fingerprint(&self) -> String {
        format!(
            "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{}",
            self.handlers,
            self.sessions,
            self.live_by_handler,
            self.ended,
            self.requests,
            self.conflicts,
            self.next_request
        )
    }

    fn notify(&mut self, notice: Notice) {
        self.sink.notice(notice);
    }

    fn entry(&self, id: &HandlerId) -> Result<&HandlerEntry, CoreError> {
        match self.handlers.get(&id.folded()) {
            Some(e) if &e.handler.id == id => Ok(e),
            _ => Err(CoreError::UnknownHandler(id.clone())),
        }
    }

    fn entry_mut(&mut self, id: &HandlerId) -> Result<&mut HandlerEntry, CoreError> {
        match self.handlers.get_mut(&id.folded()) {
            Some(e) if &e.handler.id == id => Ok(e),
            _ => Err(CoreError::UnknownHandler(id.clone())),
        }
    }

    fn live_ids(&self, handler: &HandlerId) -> &[SessionId] {
        self.live_by_handler.get(&handler.folded()).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The live session, or `E_UNEXPECTED` if it ended, or `E_INVALIDARG` if it never existed.
    fn live(&self, id: SessionId) -> Result<&LiveSession, CoreError> {
        match self.sessions.get(&id) {
            Some(s) => Ok(s),
            None if self.ended.contains_key(&id) => Err(CoreError::SessionEnded(id)),
            None => Err(CoreError::UnknownSession(id)),
        }
    }

    fn live_mut(&mut self, id: SessionId) -> Result<&mut LiveSession, CoreError> {
        match self.sessions.get_mut(&id) {
            Some(s) => Ok(s),
            None if self.ended.contains_key(&id) => Err(CoreError::SessionEnded(id)),
            None => Err(CoreError::UnknownSession(id)),
        }
    }

    /// True when a non-final full member `item` of `handler` is in some live session.
    fn is_syncing_now(&self, handler: &HandlerId, item: &ItemId) -> Option<SessionId> {
        self.live_ids(handler)
            .iter()
            .copied()
            .find(|sid| self.sessions[sid].member(item).is_some_and(|m| m.proposed.is_none() && !m.progress.is_final()))
    }

    fn item_ref(&self, handler: &HandlerId, item: &ItemId) -> Result<&Item, CoreError> {
        match self.entry(handler)?.items.get(&item.folded()) {
            Some(i) if &i.id == item => Ok(i),
            _ => Err(CoreError::UnknownItem { handler: handler.clone(), item: item.clone() }),
        }
    }
}

#[cfg(test)]
mod amount_tests;
#[cfg(test)]
mod tests;
