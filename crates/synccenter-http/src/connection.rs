//! The dashboard's connection to the daemon. [`start`] connects and subscribes, builds the [`AppState`] and
//! spawns the one background task that forwards the subscription's updates into it and probes the daemon;
//! when the subscription is lost or lags, or the daemon stops answering, live streams hear a `daemon` event,
//! the task reconnects with backoff, and they hear a `reset` once it is back under a new epoch.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use synccenter_client::{Client, ClientError, Subscription};
use synccenter_protocol::methods::SubscribeResult;

use crate::config::HttpConfig;
use crate::error::HttpError;
use crate::state::AppState;

const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How often the feed task checks that the daemon still answers (a hung or vanished daemon whose socket stays
/// open would otherwise leave the feed silently stale).
const PROBE_INTERVAL: Duration = Duration::from_secs(2);
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

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

/// Connects to the daemon and starts the feed task, which ends when the returned state is dropped.
pub(crate) async fn start(config: HttpConfig) -> Result<Arc<AppState>, HttpError> {
    let c =
        connect(&config.socket).await.map_err(|source| HttpError::Daemon { socket: config.socket.clone(), source })?;
    let socket = config.socket.clone();
    let state = Arc::new(AppState::new(config, c.client, &c.started_at, c.sub.snapshot().seq));
    let task = tokio::spawn(run(Arc::downgrade(&state), c.sub, socket));
    state.set_task(task.abort_handle());
    Ok(state)
}

/// Whether the daemon still answers on the feed's connection.
async fn probe(weak: &Weak<AppState>) -> Result<(), ClientError> {
    let Some(client) = weak.upgrade().and_then(|state| state.client()) else {
        return Err(ClientError::Disconnected);
    };
    match tokio::time::timeout(PROBE_TIMEOUT, client.status()).await {
        Ok(r) => r.map(drop),
        Err(_) => Err(ClientError::Timeout { what: "the dashboard's liveness probe", after: PROBE_TIMEOUT }),
    }
}

/// The background task: forwards updates into the feed and probes the daemon; on a lost, lagging or
/// unresponsive subscription, reconnects with backoff and starts a new epoch. Ends when the state is gone.
async fn run(weak: Weak<AppState>, mut sub: Subscription, socket: PathBuf) {
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
                Some(state) => state.publish(&update),
                None => return,
            },
            Ok(None) => {}
            Err(e) => {
                tracing::info!("dashboard feed interrupted ({e}); reconnecting");
                drop(sub);
                match weak.upgrade() {
                    Some(state) => state.connection_lost(),
                    None => return,
                }
                let Some(resubscribed) = reconnect(&weak, &socket).await else { return };
                sub = resubscribed;
                ticks.reset();
            }
        }
    }
}

/// Connects again, with backoff, and installs the new connection; `None` once the state is gone.
async fn reconnect(weak: &Weak<AppState>, socket: &Path) -> Option<Subscription> {
    let mut delay = BACKOFF_START;
    loop {
        match connect(socket).await {
            Ok(c) => {
                let state = weak.upgrade()?;
                state.connection_restored(c.client, &c.started_at, c.sub.snapshot().seq);
                return Some(c.sub);
            }
            Err(e) => {
                tracing::debug!("dashboard cannot reach the daemon yet: {e}");
                if weak.strong_count() == 0 {
                    return None;
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(BACKOFF_MAX);
            }
        }
    }
}
