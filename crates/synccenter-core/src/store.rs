//! The storage contract: what the core asks of a backend, and the change log it hands over.
//!
//! The core never calls a store itself; `Center` records `Change`s and the caller (the `SyncCenter` facade,
//! or the daemon with its own batching) applies them. Each change says whether it must be durable before it
//! is acknowledged or may be coalesced (progress). Backends keep their driver types to themselves.

use std::future::Future;

use crate::enums::EventLevel;
use crate::enums::ProgressStatus;
use crate::error::StoreError;
use crate::model::{Conflict, EndReason, Event, Handler, Item, ItemProgress, SessionRecord};
use crate::retention::{Pruned, RetentionPolicy};
use crate::text::{ConflictId, EventId, HandlerId, ItemId, OwnerId, SessionId};
use crate::time::Timestamp;

/// One thing to persist, in the order the core produced it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Change {
    /// Insert or replace a handler's attributes (its items are separate).
    HandlerSaved(Handler),
    /// Delete a handler and its items and conflicts; its events and session history stay.
    HandlerDeleted(HandlerId),
    /// Insert or replace an item.
    ItemSaved(HandlerId, Item),
    /// Delete an item; its events and history stay.
    ItemDeleted(HandlerId, ItemId),
    /// A session was created with these full members.
    SessionStarted {
        /// ID.
        session: SessionId,
        /// Handler.
        handler: HandlerId,
        /// Owner.
        owner: OwnerId,
        /// Creation time.
        started_at: Timestamp,
        /// Initial members.
        items: Vec<ItemId>,
    },
    /// A full member joined a live session (`add_item`, `commit_item`).
    SessionItemAdded {
        /// Session.
        session: SessionId,
        /// Item.
        item: ItemId,
    },
    /// An item's progress in a session. Coalescable (latest wins) unless the status is final.
    ItemProgressed {
        /// Session.
        session: SessionId,
        /// Item.
        item: ItemId,
        /// The whole new progress.
        progress: ItemProgress,
    },
    /// The session was declared user-initiated.
    SessionMarkedManual(SessionId),
    /// The session ended.
    SessionEnded {
        /// Session.
        session: SessionId,
        /// When.
        at: Timestamp,
        /// Why.
        reason: EndReason,
        /// Aggregated status.
        status: ProgressStatus,
    },
    /// An event was reported.
    EventAdded(Event),
    /// Replace-on-sync retention: delete the handler's events created before `before`.
    EventsPurged {
        /// Handler.
        handler: HandlerId,
        /// Exclusive bound.
        before: Timestamp,
    },
    /// Insert or replace a conflict (added, changed, or resolution recorded).
    ConflictSaved(Conflict),
    /// The owner reported the conflict gone.
    ConflictRemoved(ConflictId),
}

impl Change {
    /// True when the change must be on disk before the call that produced it is acknowledged. Only
    /// non-final progress may be coalesced and written later in batches.
    pub fn is_durable(&self) -> bool {
        match self {
            Change::ItemProgressed { progress, .. } => progress.is_final(),
            _ => true,
        }
    }
}

/// What a store holds at open: everything the core keeps in memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Handlers with their items.
    pub handlers: Vec<(Handler, Vec<Item>)>,
    /// Every conflict.
    pub conflicts: Vec<Conflict>,
    /// Sessions that were live when the store was last written; the core ends them on open.
    pub live_sessions: Vec<SessionRecord>,
}

/// Which events to list, count or clear. Every set field must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only this handler's events.
    pub handler: Option<HandlerId>,
    /// Only this item's events (with `handler`).
    pub item: Option<ItemId>,
    /// Only handler-level events (no item). Ignored when `item` is set.
    pub handler_level_only: bool,
    /// Only events of these levels (empty: all).
    pub levels: Vec<EventLevel>,
    /// Only events reported by this session.
    pub session: Option<SessionId>,
    /// Created at or after.
    pub since: Option<Timestamp>,
    /// Created before.
    pub until: Option<Timestamp>,
}

impl EventFilter {
    /// True when `e` passes the filter; the reference semantics every backend must match.
    pub fn matches(&self, e: &Event) -> bool {
        self.handler.as_ref().is_none_or(|h| &e.handler == h)
            && match &self.item {
                Some(i) => e.item.as_ref() == Some(i),
                None => !self.handler_level_only || e.item.is_none(),
            }
            && (self.levels.is_empty() || self.levels.contains(&e.level))
            && self.session.as_ref().is_none_or(|s| e.session.as_ref() == Some(s))
            && self.since.is_none_or(|t| e.time >= t)
            && self.until.is_none_or(|t| e.time < t)
    }
}

/// Position after which a page continues: events are listed newest first, ties broken by ID descending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventCursor {
    /// Time of the last event of the previous page.
    pub time: Timestamp,
    /// Its ID.
    pub id: EventId,
}

impl EventCursor {
    /// True when `e` comes after the cursor in listing order.
    pub fn precedes(&self, e: &Event) -> bool {
        (e.time, e.id) < (self.time, self.id)
    }
}

/// A page of events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventQuery {
    /// Which events.
    pub filter: EventFilter,
    /// Continue after this position.
    pub after: Option<EventCursor>,
    /// At most this many.
    pub limit: u32,
}

/// A page of session history, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionQuery {
    /// Only this handler's sessions.
    pub handler: Option<HandlerId>,
    /// Only sessions started before this instant (the cursor).
    pub started_before: Option<Timestamp>,
    /// At most this many.
    pub limit: u32,
}

/// A storage backend. Implementations must make `apply` atomic (all changes or none) and must keep the
/// semantics of [`EventFilter::matches`] and [`EventCursor`] ordering.
pub trait Store: Send + Sync {
    /// Reads everything the core keeps in memory.
    fn load(&self) -> impl Future<Output = Result<Snapshot, StoreError>> + Send;

    /// Applies changes in order, atomically.
    fn apply(&self, changes: &[Change]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Lists events newest first.
    fn list_events(&self, query: &EventQuery) -> impl Future<Output = Result<Vec<Event>, StoreError>> + Send;

    /// Counts matching events.
    fn count_events(&self, filter: &EventFilter) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// One event.
    fn get_event(&self, id: EventId) -> impl Future<Output = Result<Option<Event>, StoreError>> + Send;

    /// Deletes the listed events; returns how many existed.
    fn remove_events(&self, ids: &[EventId]) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes matching events; returns how many.
    fn clear_events(&self, filter: &EventFilter) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Lists session history newest first (live sessions included, with `ended: None`).
    fn list_sessions(
        &self,
        query: &SessionQuery,
    ) -> impl Future<Output = Result<Vec<SessionRecord>, StoreError>> + Send;

    /// One session with its items.
    fn get_session(&self, id: SessionId) -> impl Future<Output = Result<Option<SessionRecord>, StoreError>> + Send;

    /// Removes at most `limit` records past `policy` at `now` (the ones [`crate::retention::plan`] lists
    /// first), in a transaction short enough not to hold back `apply`, and says whether more is left (file
    /// space still to return to the file system counts). Called again until it says nothing is left; live
    /// sessions are never removed.
    fn prune(
        &self,
        policy: &RetentionPolicy,
        now: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Pruned, StoreError>> + Send;
}
