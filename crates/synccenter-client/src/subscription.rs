//! The live feed (`subscribe`): the snapshot the daemon answered, then every later update, from a bounded
//! channel, so that a consumer that stops reading cannot grow the client without limit.

use synccenter_protocol::api;
use synccenter_protocol::methods::{Empty, SubscribeResult, Update};
use tokio::sync::broadcast;

use crate::client::Client;
use crate::error::ClientError;

impl Client {
    /// `subscribe`: the current state, then every change as it happens.
    pub async fn subscribe(&self) -> Result<Subscription, ClientError> {
        // Listen before asking, so no update between the snapshot and the first `next` is lost.
        let rx = self.shared().subscribe_updates()?;
        let snapshot: SubscribeResult = self.request::<api::Subscribe>(&Empty {}).await?;
        Ok(Subscription::new(self.clone(), snapshot, rx))
    }
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
    fn new(client: Client, snapshot: SubscribeResult, rx: broadcast::Receiver<Update>) -> Subscription {
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
