//! One session's job view, on a task of its own so that a slow server delays only that job: it asks the
//! current server for a view, sends the latest [`View`] at most every [`MIN_INTERVAL`], terminates it when the
//! session ends, and asks again when the server's owner changes (or waits while there is none).

use std::collections::HashMap;
use std::time::Duration;

use synccenter_client::Client;
use tokio::sync::watch;
use tokio::time::Instant;
use zbus::zvariant::DynamicType;
use zbus::{Message, OwnedObjectPath, Variant};

use super::view::{self, End, View};
use super::{SERVER_V2, Shared};
use crate::kde::{SERVER_PATH, V3};

/// The least time between two updates of one job (at most four a second).
pub(super) const MIN_INTERVAL: Duration = Duration::from_millis(250);
/// How long a call to the server may take before it counts as failed.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// KJob's `Killable`: Plasma shows a stop button. Not `Suspendable`: see `docs/desktop.md`.
const CAPABILITIES: i32 = 0x1;
/// The desktop entry Plasma names the jobs after (`synccenter.desktop`).
const DESKTOP_ENTRY: &str = "synccenter";

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The session ended (and was terminated where a server was there to hear it).
    Done,
    /// The server's owner changed: ask the new one.
    OwnerChanged,
}

/// One session's view and what it needs to publish it.
struct Worker {
    shared: Shared,
    view: watch::Receiver<View>,
    owner: watch::Receiver<Option<String>>,
    title: String,
}

/// Publishes one session until it ends.
pub(super) async fn run(shared: Shared, view: watch::Receiver<View>) {
    let first = view.borrow().clone();
    let title = title(&shared.client, &first).await;
    let owner = shared.owner.clone();
    let mut w = Worker { shared, view, owner, title };
    loop {
        let current = w.owner.borrow_and_update().clone();
        let outcome = match current {
            Some(current) => w.publish(&current).await,
            None => w.wait().await,
        };
        if outcome == Outcome::Done {
            return;
        }
    }
}

/// The handler's name and its items' names (their IDs where the daemon does not say).
async fn title(client: &Client, v: &View) -> String {
    let handlers = client.handlers(true).await.unwrap_or_default();
    let handler = handlers.into_iter().find(|h| h.handler == v.handler).map_or_else(|| v.handler.clone(), |h| h.name);
    let known = client.items(&v.handler, true).await.unwrap_or_default();
    let items: Vec<String> =
        v.items().into_iter().map(|i| known.iter().find(|k| k.item == i).map_or(i, |k| k.name.clone())).collect();
    view::title(&handler, &items)
}

impl Worker {
    fn ended(&self) -> bool {
        self.view.borrow().end.is_some()
    }

    /// Waits for a server (after none, or one that refused the view), or the session's end.
    async fn wait(&mut self) -> Outcome {
        loop {
            if self.ended() {
                return Outcome::Done;
            }
            tokio::select! {
                r = self.owner.changed() => return if r.is_ok() { Outcome::OwnerChanged } else { Outcome::Done },
                r = self.view.changed() => if r.is_err() { return Outcome::Done },
            }
        }
    }

    async fn publish(&mut self, server: &str) -> Outcome {
        let hints = self.view.borrow().fields(&self.title);
        let body = (DESKTOP_ENTRY, CAPABILITIES, hints);
        let reply = self.call(server, SERVER_PATH, SERVER_V2, "requestView", &body).await;
        let path = match reply.and_then(|m| m.body().deserialize::<OwnedObjectPath>()) {
            Ok(path) => path.as_str().to_owned(),
            Err(e) => {
                self.shared.failed(server, "requestView", &e);
                return self.wait().await;
            }
        };
        tracing::debug!(session = self.view.borrow().session, server, path, "published to the job view server");
        self.shared.published(&path, self.view.clone());
        let outcome = self.follow(server, &path).await;
        self.shared.views().remove(&path);
        outcome
    }

    /// Sends the latest state, coalesced, until the session ends or the server's owner changes.
    async fn follow(&mut self, server: &str, path: &str) -> Outcome {
        loop {
            let v = self.view.borrow_and_update().clone();
            let sent_at = Instant::now();
            if let Err(e) = self.call(server, path, V3, "update", &(v.fields(&self.title),)).await {
                self.shared.failed(server, "update", &e);
            }
            if let Some(end) = &v.end {
                self.terminate(server, path, end).await;
                return Outcome::Done;
            }
            tokio::select! {
                r = self.view.changed() => if r.is_err() {
                    let message = "synccenter desktop lost the daemon's feed.".to_owned();
                    self.terminate(server, path, &End { code: view::FAILED, message }).await;
                    return Outcome::Done;
                },
                r = self.owner.changed() => return if r.is_ok() { Outcome::OwnerChanged } else { Outcome::Done },
            }
            if !self.ended() {
                tokio::select! {
                    () = tokio::time::sleep_until(sent_at + MIN_INTERVAL) => {}
                    r = self.owner.changed() => return if r.is_ok() { Outcome::OwnerChanged } else { Outcome::Done },
                }
            }
        }
    }

    async fn terminate(&self, server: &str, path: &str, end: &End) {
        let hints: HashMap<&str, Variant<'_>> = HashMap::new();
        if let Err(e) = self.call(server, path, V3, "terminate", &(end.code, end.message.as_str(), hints)).await {
            self.shared.failed(server, "terminate", &e);
        }
    }

    /// Calls the server; a server that does not answer within [`CALL_TIMEOUT`] counts as failed.
    async fn call<B>(&self, server: &str, path: &str, interface: &str, member: &str, body: &B) -> zbus::Result<Message>
    where
        B: serde::Serialize + DynamicType,
    {
        let pending = self.shared.conn.call_method(Some(server), path, Some(interface), member, body);
        match tokio::time::timeout(CALL_TIMEOUT, pending).await {
            Ok(reply) => reply,
            Err(_) => Err(zbus::Error::Failure(format!("no answer within {} s", CALL_TIMEOUT.as_secs()))),
        }
    }
}
