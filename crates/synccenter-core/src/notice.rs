//! Notices: what the core tells the outside world the moment it happens, so nobody has to poll.
//!
//! A stop request is pushed to its session's owner through `Notice::CancelRequested` before the call that
//! recorded it returns. The sink is a callback; the daemon forwards notices to connections, an embedder can
//! collect them in a `Vec` or send them down a channel.

use crate::enums::CancelRequest;
use crate::error::{Action, Target};
use crate::model::{Context, ResolutionChoice, SessionSummary, SyncResult};
use crate::text::{ConflictId, HandlerId, ItemId, OwnerId, RequestId, SessionId};

/// Something an owner, a handler or a requester must learn about now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// A stop was recorded for a live session; push it to `owner`.
    CancelRequested {
        /// The session.
        session: SessionId,
        /// Its owner.
        owner: OwnerId,
        /// The item for an item-level stop; `None` for a handler-level or global stop.
        item: Option<ItemId>,
        /// `CancelItem` or `CancelAll`.
        cancel: CancelRequest,
    },
    /// Sync Center asks the handler to synchronize these items (`ISyncMgrHandler::Synchronize`).
    SyncRequested {
        /// The request; sessions created for the handler that include the items serve it.
        request: RequestId,
        /// The handler.
        handler: HandlerId,
        /// The items.
        items: Vec<ItemId>,
        /// Contexts of the request (`punk`).
        contexts: Vec<Context>,
        /// `CF_NOUI`-like: the handler must not show UI. Start requests never ask for UI here.
        no_ui: bool,
    },
    /// A start request finished; deliver `ISyncMgrSyncResult::Result` exactly once.
    RequestFinished {
        /// The request.
        request: RequestId,
        /// Its handler.
        handler: HandlerId,
        /// The aggregated result.
        result: SyncResult,
    },
    /// A session ended, for whatever reason.
    SessionEnded {
        /// Its handler.
        handler: HandlerId,
        /// Its owner.
        owner: OwnerId,
        /// The outcome.
        summary: SessionSummary,
    },
    /// The user chose a resolution; the conflict's owner must carry it out and then remove the conflict.
    ResolutionRequested {
        /// The conflict.
        conflict: ConflictId,
        /// Its handler.
        handler: HandlerId,
        /// Its item.
        item: Option<ItemId>,
        /// The choice.
        choice: ResolutionChoice,
    },
    /// A control action changed a handler or item (`Activate`, `Enable`, `Delete` "called").
    StateChanged {
        /// What changed.
        target: Target,
        /// How.
        action: Action,
    },
}

/// Receives notices synchronously, in the order they happen. Must not block.
pub trait NoticeSink: Send {
    /// One notice.
    fn notice(&mut self, notice: Notice);
}

impl<F: FnMut(Notice) + Send> NoticeSink for F {
    fn notice(&mut self, notice: Notice) {
        self(notice)
    }
}

/// A sink that drops everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct IgnoreNotices;

impl NoticeSink for IgnoreNotices {
    fn notice(&mut self, _: Notice) {}
}

impl NoticeSink for std::sync::mpsc::Sender<Notice> {
    fn notice(&mut self, notice: Notice) {
        // A dropped receiver means nobody listens any more; the core carries on.
        let _ = self.send(notice);
    }
}
