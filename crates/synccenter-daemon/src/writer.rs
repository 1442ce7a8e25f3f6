//! The store writer: one task that applies batches of changes in order and only then sends the replies that
//! acknowledged them. Its channel holds one batch: while a commit runs, the hub keeps merging what follows into
//! the next batch (group commit), so many concurrent reporters cost one transaction, not one each, and nothing
//! queues without bound between the hub and the store.

use std::sync::Arc;

use synccenter_core::{Change, HResult, Store};
use synccenter_protocol::{ErrorObject, RequestId, error_codes};
use tokio::sync::mpsc;

use crate::health::StoreHealth;
use crate::outbox::{Outbox, error_line};

/// A reply that may only be sent once its batch is on disk.
#[derive(Debug)]
pub(crate) struct Ack {
    pub(crate) out: Outbox,
    pub(crate) line: String,
    /// The request whose changes the reply acknowledges; `None` for a line that only keeps its place behind
    /// earlier replies and says nothing about the commit.
    pub(crate) acknowledges: Option<RequestId>,
}

/// Changes to write, in order, the replies waiting for them, and the feed updates that follow them (sent after
/// the commit, in order, so a watcher that reacts to an update reads a store that already holds it).
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) changes: Vec<Change>,
    pub(crate) acks: Vec<Ack>,
    pub(crate) after: Vec<(Outbox, String)>,
    /// Released once everything queued before them is written: a query that waits on one reads its writes.
    pub(crate) barriers: Vec<tokio::sync::oneshot::Sender<()>>,
}

impl Batch {
    pub(crate) fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.acks.is_empty() && self.after.is_empty() && self.barriers.is_empty()
    }
}

/// Runs until the sending side closes, then writes what is left. `health` says whether the last commit failed.
pub(crate) async fn run<S: Store>(store: Arc<S>, mut rx: mpsc::Receiver<Batch>, health: Arc<StoreHealth>) {
    let mut unwritten: Vec<Change> = Vec::new();
    while let Some(batch) = rx.recv().await {
        let Batch { changes: mut new, acks, after, barriers } = batch;
        let mut changes = std::mem::take(&mut unwritten);
        changes.append(&mut new);
        let written = if changes.is_empty() { Ok(()) } else { store.apply(&changes).await };
        match written {
            Ok(()) => {
                health.recovered();
                for ack in acks {
                    ack.out.sent_after_commit(ack.line);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, changes = changes.len(), "store write failed; will retry with the next batch");
                health.failed(e.to_string());
                for ack in acks {
                    let Some(id) = ack.acknowledges else {
                        ack.out.sent_after_commit(ack.line);
                        continue;
                    };
                    let error = ErrorObject::new(
                        error_codes::INTERNAL_ERROR,
                        HResult::E_FAIL.code,
                        HResult::E_FAIL.name,
                        format!(
                            "the change was applied but could not be stored yet ({e}); it is kept and stored as soon \
                             as the store writes again"
                        ),
                    );
                    ack.out.sent_after_commit(error_line(Some(id), error));
                }
                unwritten = changes;
            }
        }
        for (out, line) in after {
            out.send(line);
        }
        for barrier in barriers {
            let _ = barrier.send(());
        }
    }
    if !unwritten.is_empty()
        && let Err(e) = store.apply(&unwritten).await
    {
        tracing::error!(error = %e, changes = unwritten.len(), "store write failed at shutdown");
    }
}
