//! What the daemon sends unasked, other than a session's cancellation (which goes to its [`crate::Session`]):
//! requests to a serving handler and results of starts go to [`crate::Client::pushes`]; the live feed goes to
//! [`Subscription`]s. Both are bounded, so a consumer that stops reading cannot grow the client without limit.

use synccenter_protocol::methods::{
    ResolutionRequestedPush, SubscribeResult, SyncRequestedPush, SyncResultPush, Update,
};
use tokio::sync::broadcast;

use crate::client::Client;
use crate::error::ClientError;

/// A push for the connection as a whole.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Push {
    /// `handler.sync_requested`: sync these items (create a session) or answer `handler.sync_failed`.
    SyncRequested(SyncRequestedPush),
    /// `control.sync_result`: a start request of this connection finished.
    SyncResult(SyncResultPush),
    /// `conflict.resolution_requested`: the user chose how to resolve a conflict.
    ResolutionRequested(ResolutionRequestedPush),
}

/// A live feed: the snapshot `subscribe` answered, then every later [`Update`].
#[derive(Debug)]
pub struct Subscription {
    snapshot: SubscribeResult,
    rx: broadcast::Receiver<Update>,
    last_seq: u64,
    // Keeps the connection open while the feed is read.
    _client: Client,
}

impl Subscription {
    pub(crate) fn new(client: Client, snapshot: SubscribeResult, rx: broadcast::Receiver<Update>) -> Subscription {
        let last_seq = snapshot.seq;
        Subscription { snapshot, rx, last_seq, _client: client }
    }

    /// The state the feed starts from.
    pub fn snapshot(&self) -> &SubscribeResult {
        &self.snapshot
    }

    /// The next update newer than the snapshot and every update returned before. Fails with
    /// [`ClientError::Lagged`] when this subscription fell too far behind (subscribe again) and with
    /// [`ClientError::Disconnected`] when the connection closed.
    pub async fn next(&mut self) -> Result<Update, ClientError> {
        loop {
            match self.rx.recv().await {
                Ok(update) if update.seq <= self.last_seq => {}
                Ok(update) => {
                    self.last_seq = update.seq;
                    return Ok(update);
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => return Err(ClientError::Lagged { missed }),
                Err(broadcast::error::RecvError::Closed) => return Err(ClientError::Disconnected),
            }
        }
    }
}
