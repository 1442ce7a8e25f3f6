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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Center, CenterConfig, HandlerSpec, ItemSpec, ManualClock, SequentialIds, Timestamp};

    /// An owner listening on a channel has the stop in hand as soon as `stop_items` returns, without polling.
    #[test]
    fn a_stop_reaches_a_channel_before_the_call_returns() {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut c = Center::new(
            CenterConfig::default(),
            Box::new(ManualClock::new(Timestamp(0))),
            Box::new(SequentialIds::new(3)),
            Box::new(tx),
        );
        let h = HandlerId::new("nas").expect("valid");
        let a = ItemId::new("docs").expect("valid");
        c.register_handler(h.clone(), HandlerSpec { name: Some("NAS".into()), ..Default::default() }).expect("handler");
        c.register_item(&h, a.clone(), ItemSpec { name: Some("Docs".into()), ..Default::default() }).expect("item");
        let s = c.create_session(OwnerId(9), &h, std::slice::from_ref(&a)).expect("session");
        assert!(rx.try_recv().is_err(), "nothing to push before the stop");
        c.stop_items(&h, std::slice::from_ref(&a)).expect("stop");
        assert_eq!(
            rx.try_recv().expect("pushed at once"),
            Notice::CancelRequested { session: s, owner: OwnerId(9), item: Some(a), cancel: CancelRequest::CancelItem }
        );
    }
}
