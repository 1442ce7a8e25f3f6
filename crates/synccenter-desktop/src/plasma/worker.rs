//! One session's job view, on a task of its own so that a slow server delays only that job: it asks the
//! current server for a view, sends the latest [`View`] at most every [`MIN_INTERVAL`], terminates it when the
//! session ends, and asks again when the server's owner changes (or waits while there is none).

use std::collections::HashMap;
use std::time::Duration;

use synccenter_client::Client;
use tokio::sync::watch;
use tokio::time::Instant;
use zbus::zvariant::DynamicType;
use zbus::{OwnedObjectPath, Variant};

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

/// Publishes one session until it ends.
pub(super) async fn run(shared: Shared, mut view: watch::Receiver<View>) {
    let first = view.borrow().clone();
    let title = title(&shared.client, &first).await;
    let mut owner = shared.owner.clone();
    loop {
        let current = owner.borrow_and_update().clone();
        let outcome = match current {
            Some(current) => publish(&shared, &mut view, &mut owner, &current, &title).await,
            None => wait(&mut view, &mut owner).await,
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

fn ended(view: &watch::Receiver<View>) -> bool {
    view.borrow().end.is_some()
}

/// Waits for a server (after none, or one that refused the view), or the session's end.
async fn wait(view: &mut watch::Receiver<View>, owner: &mut watch::Receiver<Option<String>>) -> Outcome {
    loop {
        if ended(view) {
            return Outcome::Done;
        }
        tokio::select! {
            r = owner.changed() => return if r.is_ok() { Outcome::OwnerChanged } else { Outcome::Done },
            r = view.changed() => if r.is_err() { return Outcome::Done },
        }
    }
}

async fn publish(
    shared: &Shared,
    view: &mut watch::Receiver<View>,
    owner: &mut watch::Receiver<Option<String>>,
    server: &str,
    title: &str,
) -> Outcome {
    let hints = view.borrow().fields(title);
    let reply =
        call(shared, server, SERVER_PATH, SERVER_V2, "requestView", &(DESKTOP_ENTRY, CAPABILITIES, hints)).await;
    let path = match reply.and_then(|m| m.body().deserialize::<OwnedObjectPath>()) {
        Ok(path) => path.as_str().to_owned(),
        Err(e) => {
            shared.failed(server, "requestView", &e);
            return wait(view, owner).await;
        }
    };
    tracing::debug!(session = view.borrow().session, server, path, "published to the job view server");
    shared.views().insert(path.clone(), view.clone());
    let outcome = follow(shared, view, owner, server, &path, title).await;
    shared.views().remove(&path);
    outcome
}

/// Sends the latest state, coalesced, until the session ends or the server's owner changes.
async fn follow(
    shared: &Shared,
    view: &mut watch::Receiver<View>,
    owner: &mut watch::Receiver<Option<String>>,
    server: &str,
    path: &str,
    title: &str,
) -> Outcome {
    loop {
        let v = view.borrow_and_update().clone();
        let sent_at = Instant::now();
        if let Err(e) = call(shared, server, path, V3, "update", &(v.fields(title),)).await {
            shared.failed(server, "update", &e);
        }
        if let Some(end) = &v.end {
            terminate(shared, server, path, end).await;
            return Outcome::Done;
        }
        tokio::select! {
            r = view.changed() => if r.is_err() {
                let lost = End { code: view::FAILED, message: "synccenter desktop lost the daemon's feed.".into() };
                terminate(shared, server, path, &lost).await;
                return Outcome::Done;
            },
            r = owner.changed() => return if r.is_ok() { Outcome::OwnerChanged } else { Outcome::Done },
        }
        if !ended(view) {
            tokio::select! {
                () = tokio::time::sleep_until(sent_at + MIN_INTERVAL) => {}
                r = owner.changed() => return if r.is_ok() { Outcome::OwnerChanged } else { Outcome::Done },
            }
        }
    }
}

async fn terminate(shared: &Shared, server: &str, path: &str, end: &End) {
    let hints: HashMap<&str, Variant<'_>> = HashMap::new();
    if let Err(e) = call(shared, server, path, V3, "terminate", &(end.code, end.message.as_str(), hints)).await {
        shared.failed(server, "terminate", &e);
    }
}

/// Calls the server; a server that does not answer within [`CALL_TIMEOUT`] counts as failed.
async fn call<B>(
    shared: &Shared,
    server: &str,
    path: &str,
    interface: &str,
    member: &str,
    body: &B,
) -> zbus::Result<zbus::Message>
where
    B: serde::Serialize + DynamicType,
{
    let pending = shared.conn.call_method(Some(server), path, Some(interface), member, body);
    match tokio::time::timeout(CALL_TIMEOUT, pending).await {
        Ok(reply) => reply,
        Err(_) => Err(zbus::Error::Failure(format!("no answer within {} s", CALL_TIMEOUT.as_secs()))),
    }
}
