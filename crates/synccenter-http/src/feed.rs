//! The live feed: one background task holds a `subscribe` of the daemon and keeps the last
//! [`FEED_CAPACITY`] updates in a ring buffer, each with the id `<epoch>-<seq>`. The epoch names this
//! connection to the daemon (the daemon's start time and a reconnect counter), so an id from before a daemon
//! restart or a reconnect never resumes into the wrong sequence. Live SSE streams hear every new update, a
//! `daemon` event when the connection drops and a `reset` event once it is back under a new epoch.

use std::collections::VecDeque;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};
use std::time::Duration;

use synccenter_client::{Client, ClientError, Subscription};
use synccenter_protocol::methods::{SubscribeResult, Update};
use tokio::sync::broadcast;
use tokio::task::AbortHandle;

use crate::HttpConfig;
use crate::error::HttpError;
use crate::security::Bucket;

/// How many updates the ring buffer keeps for resuming streams.
pub const FEED_CAPACITY: usize = 10_000;

/// Interval of the keep-alive comments on the stream.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

const LIVE_CAPACITY: usize = 1024;
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How often the feed task checks that the daemon still answers (a hung or vanished daemon whose socket stays
/// open would otherwise leave the feed silently stale).
const PROBE_INTERVAL: Duration = Duration::from_secs(2);
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// One update as kept and sent.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) seq: u64,
    pub(crate) data: Arc<str>,
}

/// What live streams hear.
#[derive(Clone, Debug)]
pub(crate) enum Live {
    /// A new update.
    Update { id: String, entry: Entry },
    /// The daemon connection dropped; a reset follows once it is back.
    Down,
    /// A new epoch started: reload from a snapshot.
    Reset { epoch: String },
}

/// The ring buffer and its epoch.
#[derive(Debug)]
pub(crate) struct Feed {
    pub(crate) epoch: String,
    /// Every update with a larger seq than this is in `buf` (up to `head`).
    pub(crate) floor: u64,
    pub(crate) head: u64,
    pub(crate) buf: VecDeque<Entry>,
    generation: u64,
}

impl Feed {
    /// The buffered updates after `seq`, when `id` names this epoch and a seq the buffer covers.
    pub(crate) fn missed_since(&self, id: &str) -> Option<Vec<(String, Entry)>> {
        let (epoch, seq) = parse_id(id)?;
        if epoch != self.epoch || seq < self.floor || seq > self.head {
            return None;
        }
        Some(self.buf.iter().filter(|e| e.seq > seq).map(|e| (self.id(e.seq), e.clone())).collect())
    }

    pub(crate) fn id(&self, seq: u64) -> String {
        format!("{}-{seq}", self.epoch)
    }
}

/// Splits `<epoch>-<seq>`.
pub(crate) fn parse_id(id: &str) -> Option<(&str, u64)> {
    let (epoch, seq) = id.trim().rsplit_once('-')?;
    Some((epoch, seq.parse().ok()?))
}

fn epoch_of(started_at: &str, generation: u64) -> String {
    let digits: String = started_at.chars().filter(char::is_ascii_digit).collect();
    format!("{digits}.{generation}")
}

/// Shared state of a dashboard.
pub(crate) struct Inner {
    pub(crate) config: HttpConfig,
    client: RwLock<Option<Client>>,
    feed: Mutex<Feed>,
    live: broadcast::Sender<Live>,
    pub(crate) bucket: Mutex<Bucket>,
    task: Mutex<Option<AbortHandle>>,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner").field("socket", &self.config.socket).finish_non_exhaustive()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.task).take() {
            task.abort();
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A connection with its status and subscription.
struct Connected {
    client: Client,
    started_at: String,
    sub: Subscription,
}

async fn connect(socket: &Path) -> Result<Connected, ClientError> {
    let client = Client::connect(socket).await?;
    // Start results come back as pushes to this connection; nobody waits for them, so drain them.
    if let Some(mut pushes) = client.pushes() {
        tokio::spawn(async move { while pushes.recv().await.is_some() {} });
    }
    let started_at = client.status().await?.started_at;
    let sub = client.subscribe().await?;
    Ok(Connected { client, started_at, sub })
}

/// A fresh snapshot over a short-lived connection of its own.
pub(crate) async fn fresh_snapshot(socket: &Path) -> Result<SubscribeResult, ClientError> {
    let client = Client::connect(socket).await?;
    let sub = client.subscribe().await?;
    Ok(sub.snapshot().clone())
}

impl Inner {
    pub(crate) async fn start(config: HttpConfig) -> Result<Arc<Inner>, HttpError> {
        let c = connect(&config.socket)
            .await
            .map_err(|source| HttpError::Daemon { socket: config.socket.clone(), source })?;
        let seq = c.sub.snapshot().seq;
        let (live, _) = broadcast::channel(LIVE_CAPACITY);
        let bucket = Mutex::new(Bucket::new(config.rate_per_second));
        let inner = Arc::new(Inner {
            feed: Mutex::new(Feed {
                epoch: epoch_of(&c.started_at, 0),
                floor: seq,
                head: seq,
                buf: VecDeque::new(),
                generation: 0,
            }),
            client: RwLock::new(Some(c.client)),
            config,
            live,
            bucket,
            task: Mutex::new(None),
        });
        let task = tokio::spawn(run(Arc::downgrade(&inner), c.sub, inner.config.socket.clone()));
        *lock(&inner.task) = Some(task.abort_handle());
        Ok(inner)
    }

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

    pub(crate) fn listen(&self, _feed: &Feed) -> broadcast::Receiver<Live> {
        self.live.subscribe()
    }

    fn publish(&self, update: &Update) {
        let data: Arc<str> = match serde_json::to_string(update) {
            Ok(s) => s.into(),
            Err(e) => {
                tracing::warn!("cannot encode update {}: {e}", update.seq);
                return;
            }
        };
        let mut feed = lock(&self.feed);
        let entry = Entry { seq: update.seq, data };
        feed.head = update.seq;
        feed.buf.push_back(entry.clone());
        while feed.buf.len() > FEED_CAPACITY {
            if let Some(old) = feed.buf.pop_front() {
                feed.floor = old.seq;
            }
        }
        let id = feed.id(update.seq);
        // Sent under the lock, so a stream that listens under the lock sees each update exactly once.
        let _ = self.live.send(Live::Update { id, entry });
    }

    fn down(&self) {
        self.set_client(None);
        let _feed = lock(&self.feed);
        let _ = self.live.send(Live::Down);
    }

    fn install(&self, c: Connected) -> Subscription {
        let seq = c.sub.snapshot().seq;
        self.set_client(Some(c.client));
        let mut feed = lock(&self.feed);
        feed.generation += 1;
        feed.epoch = epoch_of(&c.started_at, feed.generation);
        feed.floor = seq;
        feed.head = seq;
        feed.buf.clear();
        let _ = self.live.send(Live::Reset { epoch: feed.epoch.clone() });
        c.sub
    }
}

/// Whether the daemon still answers on the feed's connection.
async fn probe(weak: &Weak<Inner>) -> Result<(), ClientError> {
    let Some(client) = weak.upgrade().and_then(|inner| inner.client()) else {
        return Err(ClientError::Disconnected);
    };
    match tokio::time::timeout(PROBE_TIMEOUT, client.status()).await {
        Ok(r) => r.map(drop),
        Err(_) => Err(ClientError::Timeout { what: "the dashboard's liveness probe", after: PROBE_TIMEOUT }),
    }
}

/// The background task: forwards updates into the buffer and probes the daemon; on a lost, lagging or
/// unresponsive subscription, reconnects with backoff and starts a new epoch. Ends when the dashboard is gone.
async fn run(weak: Weak<Inner>, mut sub: Subscription, socket: PathBuf) {
    let mut ticks = tokio::time::interval(PROBE_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        let outcome = tokio::select! {
            next = sub.next() => next.map(Some),
            _ = ticks.tick() => probe(&weak).await.map(|()| None),
        };
        match outcome {
            Ok(Some(update)) => match weak.upgrade() {
                Some(inner) => inner.publish(&update),
                None => return,
            },
            Ok(None) => {}
            Err(e) => {
                tracing::info!("dashboard feed interrupted ({e}); reconnecting");
                drop(sub);
                match weak.upgrade() {
                    Some(inner) => inner.down(),
                    None => return,
                }
                let mut delay = BACKOFF_START;
                sub = loop {
                    match connect(&socket).await {
                        Ok(c) => match weak.upgrade() {
                            Some(inner) => break inner.install(c),
                            None => return,
                        },
                        Err(e) => {
                            tracing::debug!("dashboard cannot reach the daemon yet: {e}");
                            if weak.strong_count() == 0 {
                                return;
                            }
                            tokio::time::sleep(delay).await;
                            delay = (delay * 2).min(BACKOFF_MAX);
                        }
                    }
                };
                ticks.reset();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(floor: u64, seqs: &[u64]) -> Feed {
        Feed {
            epoch: "20250101.0".into(),
            floor,
            head: seqs.last().copied().unwrap_or(floor),
            buf: seqs.iter().map(|&seq| Entry { seq, data: Arc::from("{}") }).collect(),
            generation: 0,
        }
    }

    #[test]
    fn ids_parse() {
        assert_eq!(parse_id("20250101.3-17"), Some(("20250101.3", 17)));
        assert_eq!(parse_id("nonsense"), None);
        assert_eq!(epoch_of("2025-01-01T10:00:00Z", 2), "20250101100000.2");
    }

    #[test]
    fn resume_only_within_the_epoch_and_buffer() {
        let f = feed(5, &[6, 7, 9]);
        let missed = f.missed_since("20250101.0-7").expect("resumable");
        assert_eq!(missed.iter().map(|(_, e)| e.seq).collect::<Vec<_>>(), vec![9]);
        assert_eq!(missed[0].0, "20250101.0-9");
        assert!(f.missed_since("20250101.0-5").is_some_and(|m| m.len() == 3));
        assert!(f.missed_since("20250101.0-4").is_none(), "before the buffer");
        assert!(f.missed_since("20250101.0-10").is_none(), "from the future");
        assert!(f.missed_since("20250101.1-7").is_none(), "another epoch");
    }
}
