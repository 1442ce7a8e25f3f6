//! [`AppState`], what every handler and security layer shares: the configuration, the current connection to
//! the daemon, the live feed with the broadcast that open streams listen to, and the rate limiter. The task
//! that keeps it current (`connection`) sits above it and drives it through the methods here.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;

use synccenter_client::Client;
use synccenter_protocol::methods::Update;
use tokio::sync::broadcast;
use tokio::task::AbortHandle;

use crate::config::HttpConfig;
use crate::feed::{Feed, Live};
use crate::rate_limit::TokenBucket;

/// Live messages a stream may fall behind before it is ended (the browser then resumes from the buffer).
const LIVE_CAPACITY: usize = 1024;

/// The state behind a `Dashboard`. Dropping it stops the feed task.
pub(crate) struct AppState {
    pub(crate) config: HttpConfig,
    client: RwLock<Option<Client>>,
    feed: Mutex<Feed>,
    live: broadcast::Sender<Live>,
    rate_limit: Mutex<TokenBucket>,
    /// The ping routes' own bucket.
    ping_rate_limit: Mutex<TokenBucket>,
    task: Mutex<Option<AbortHandle>>,
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState").field("socket", &self.config.socket).finish_non_exhaustive()
    }
}

impl Drop for AppState {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.task).take() {
            task.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl AppState {
    /// The state of a first connection to a daemon started at `started_at`, whose snapshot reflects `seq`.
    pub(crate) fn new(config: HttpConfig, client: Client, started_at: &str, seq: u64) -> AppState {
        let (live, _) = broadcast::channel(LIVE_CAPACITY);
        AppState {
            rate_limit: Mutex::new(TokenBucket::new(config.rate_per_second)),
            ping_rate_limit: Mutex::new(TokenBucket::new(config.rate_per_second)),
            feed: Mutex::new(Feed::new(started_at, seq)),
            client: RwLock::new(Some(client)),
            config,
            live,
            task: Mutex::new(None),
        }
    }

    /// Ties the feed task to this state: it is aborted when the state is dropped.
    pub(crate) fn set_task(&self, task: AbortHandle) {
        *lock(&self.task) = Some(task);
    }

    /// The current connection to the daemon, `None` while it is being re-established.
    pub(crate) fn client(&self) -> Option<Client> {
        self.client.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    fn set_client(&self, client: Option<Client>) {
        *self.client.write().unwrap_or_else(std::sync::PoisonError::into_inner) = client;
    }

    pub(crate) fn epoch(&self) -> String {
        lock(&self.feed).epoch.clone()
    }

    /// The feed, locked: a live receiver taken while it is held misses nothing after what it shows.
    pub(crate) fn feed(&self) -> MutexGuard<'_, Feed> {
        lock(&self.feed)
    }

    /// A receiver of live messages; asking for the locked feed makes callers hold the lock (see [`Self::feed`]).
    pub(crate) fn listen(&self, _feed: &Feed) -> broadcast::Receiver<Live> {
        self.live.subscribe()
    }

    /// Whether the global rate limit lets one more request through at `now`.
    pub(crate) fn admit(&self, now: Instant) -> bool {
        lock(&self.rate_limit).take(now)
    }

    /// Whether the ping routes' rate limit lets one more ping through at `now`.
    pub(crate) fn admit_ping(&self, now: Instant) -> bool {
        lock(&self.ping_rate_limit).take(now)
    }

    /// Keeps an update from the daemon and sends it to live streams.
    pub(crate) fn publish(&self, update: &Update) {
        let data: Arc<str> = match serde_json::to_string(update) {
            Ok(s) => s.into(),
            Err(e) => {
                tracing::warn!("cannot encode update {}: {e}", update.seq);
                return;
            }
        };
        let mut feed = lock(&self.feed);
        let message = feed.push(update.seq, data);
        // Sent under the lock, so a stream that listens under the lock sees each update exactly once.
        let _ = self.live.send(message);
    }

    /// The daemon connection dropped: no client until it is back, and live streams hear so.
    pub(crate) fn connection_lost(&self) {
        self.set_client(None);
        let _feed = lock(&self.feed);
        let _ = self.live.send(Live::Down);
    }

    /// The daemon connection is back: a new client and a new epoch, which live streams hear as a reset.
    pub(crate) fn connection_restored(&self, client: Client, started_at: &str, seq: u64) {
        self.set_client(Some(client));
        let mut feed = lock(&self.feed);
        let _ = self.live.send(feed.restart(started_at, seq));
    }
}
