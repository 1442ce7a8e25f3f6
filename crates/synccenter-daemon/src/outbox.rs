//! Where replies and pushes for a connection go, and how they are written as lines. The bottom layer that the
//! hub, the connections, the writer and the fleet share; it depends on nothing else in the daemon.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde::Serialize;
use synccenter_protocol::{ErrorObject, Outgoing, RequestId};
use tokio::sync::mpsc;

/// A connection's number, unique for the daemon's life; also the `OwnerId` of the sessions it creates.
pub(crate) type ConnId = u64;

/// A reply before it is written: a result or an error.
pub(crate) type Reply = Result<serde_json::Value, ErrorObject>;

/// Lines for one connection. Never blocks: a client that stops reading and lets its queue fill is disconnected
/// at once, whether or not it is sending anything.
#[derive(Clone, Debug)]
pub(crate) struct Outbox {
    tx: mpsc::Sender<String>,
    state: Arc<OutboxState>,
}

#[derive(Debug, Default)]
struct OutboxState {
    overflowed: AtomicBool,
    /// Wakes the connection's task to close it when the queue overflows.
    overflow: tokio::sync::Notify,
    /// Replies queued behind a commit and not yet sent; while there are any, later replies queue behind them
    /// too, so that a connection's replies keep the order of its requests.
    awaiting_commit: AtomicUsize,
}

impl Outbox {
    /// An outbox feeding `tx`.
    pub(crate) fn new(tx: mpsc::Sender<String>) -> Self {
        Self { tx, state: Arc::default() }
    }

    pub(crate) fn send(&self, line: String) {
        if self.tx.try_send(line).is_err() && !self.state.overflowed.swap(true, Ordering::SeqCst) {
            tracing::warn!("a client stopped reading its replies; disconnecting it");
            self.state.overflow.notify_one();
        }
    }

    pub(crate) fn has_overflowed(&self) -> bool {
        self.state.overflowed.load(Ordering::SeqCst)
    }

    /// Completes when the queue has overflowed.
    pub(crate) async fn overflowed(&self) {
        if !self.has_overflowed() {
            self.state.overflow.notified().await;
        }
    }

    /// A reply will be sent after a commit (see [`Outbox::sent_after_commit`]).
    pub(crate) fn hold_for_commit(&self) {
        self.state.awaiting_commit.fetch_add(1, Ordering::SeqCst);
    }

    /// A reply held for a commit is sent.
    pub(crate) fn sent_after_commit(&self, line: String) {
        self.send(line);
        self.state.awaiting_commit.fetch_sub(1, Ordering::SeqCst);
    }

    /// Whether replies are waiting for a commit (a later reply must wait behind them).
    pub(crate) fn is_awaiting_commit(&self) -> bool {
        self.state.awaiting_commit.load(Ordering::SeqCst) > 0
    }
}

pub(crate) fn json<T: Serialize>(v: T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

pub(crate) fn reply_line(id: RequestId, r: Reply) -> String {
    match r {
        Ok(result) => Outgoing::<_, ()>::Result { jsonrpc: "2.0", id, result }.to_line(),
        Err(error) => error_line(Some(id), error),
    }
}

pub(crate) fn error_line(id: Option<RequestId>, error: ErrorObject) -> String {
    Outgoing::<(), ()>::Error { jsonrpc: "2.0", id, error }.to_line()
}

pub(crate) fn push_line<P: Serialize>(method: &'static str, params: P) -> String {
    Outgoing::<(), P>::Call { jsonrpc: "2.0", id: None, method, params }.to_line()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outbox_that_fills_up_is_marked_overflowed_once() {
        let (tx, mut rx) = mpsc::channel(1);
        let out = Outbox::new(tx);
        out.send("a".into());
        assert!(!out.has_overflowed());
        out.send("b".into());
        assert!(out.has_overflowed());
        assert_eq!(rx.try_recv().ok().as_deref(), Some("a"));
    }

    #[test]
    fn replies_held_for_a_commit_are_counted_until_sent() {
        let (tx, mut rx) = mpsc::channel(4);
        let out = Outbox::new(tx);
        out.hold_for_commit();
        assert!(out.is_awaiting_commit());
        out.sent_after_commit("x".into());
        assert!(!out.is_awaiting_commit());
        assert_eq!(rx.try_recv().ok().as_deref(), Some("x"));
    }
}
