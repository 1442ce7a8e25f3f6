//! Control across hosts. A call for another host becomes a durable request row in the shared database plus a
//! notification; the target host's daemon runs it as if one of its own clients had sent it and writes the
//! reply back into the row, which wakes the caller.
//!
//! Requests survive a target that is briefly away: it runs what is queued for it when it (re)connects, unless
//! the request has waited longer than the expiry, in which case it is answered with an error instead (a stop
//! typed an hour ago should not end tonight's run). Running is at least once: a daemon killed between running
//! a request and recording its reply runs it again, which every forwarded method tolerates (stop, start,
//! enable, activate, pause, resume, resolve are idempotent or refuse a repeat with an error).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use synccenter_core::HResult;
use synccenter_protocol::{ErrorObject, RequestId, error_codes};
use tokio::sync::{Notify, mpsc, oneshot};

use super::SharedStore;
use crate::calls::Call;
use crate::inbox::HubMsg;
use crate::outbox::{ConnId, Outbox};

/// The connection ID under which forwarded requests run on the target host (clients count up from 1).
pub(crate) const REMOTE_CONN: ConnId = 1 << 61;

/// Whether another host may ask this one to run `method`: only the methods declared forwardable (the
/// fleet's security boundary: a row in the shared database never reaches any other method).
pub(crate) fn may_run_for_another_host(method: &str) -> bool {
    synccenter_protocol::api::find(method).is_some_and(|m| m.forwardable)
}

/// Callers waiting for the reply to a request they queued, woken by the `synccenter_done` notification.
#[derive(Debug, Default)]
pub(crate) struct Waiters(Mutex<HashMap<i64, oneshot::Sender<()>>>);

impl Waiters {
    fn register(&self, id: i64) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(id, tx);
        rx
    }

    fn forget(&self, id: i64) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }

    pub(crate) fn wake(&self, id: i64) {
        if let Some(tx) = self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&id) {
            let _ = tx.send(());
        }
    }
}

fn fleet_error(message: String) -> ErrorObject {
    ErrorObject::new(error_codes::INTERNAL_ERROR, HResult::E_FAIL.code, HResult::E_FAIL.name, message)
}

/// Queues `method` for `host` and waits (at most `timeout`) for its reply, which is returned as that host gave
/// it. `params` must not name a host any more (the target would forward it again).
pub(crate) async fn forward(
    store: &SharedStore,
    waiters: &Waiters,
    host: &str,
    method: &str,
    params: Value,
    timeout: Duration,
) -> Result<Value, ErrorObject> {
    let hosts = store
        .pg()
        .hosts(Duration::from_secs(60))
        .await
        .map_err(|e| fleet_error(format!("cannot read the fleet's hosts: {e}")))?;
    if !hosts.iter().any(|h| h.host == host) {
        let known: Vec<&str> = hosts.iter().map(|h| h.host.as_str()).collect();
        return Err(ErrorObject::invalid(
            error_codes::INVALID_PARAMS,
            format!("there is no host {host:?} in the fleet (hosts: {})", known.join(", ")),
        ));
    }
    let id = store
        .pg()
        .enqueue_request(host, method, &params)
        .await
        .map_err(|e| fleet_error(format!("cannot queue {method} for host {host}: {e}")))?;
    let deadline = tokio::time::Instant::now() + timeout;
    let result = loop {
        let woken = waiters.register(id);
        match store.pg().request_result(id).await {
            Ok(Some(reply)) => break Some(reply),
            Ok(None) => {}
            Err(e) => tracing::debug!(error = %e, id, "reading a forwarded request's reply failed; retrying"),
        }
        // The notification is the fast path; the short poll covers one lost while the listener reconnected.
        let wait =
            tokio::time::timeout_at(deadline.min(tokio::time::Instant::now() + Duration::from_millis(500)), woken);
        let _ = wait.await;
        if tokio::time::Instant::now() >= deadline {
            break store.pg().request_result(id).await.ok().flatten();
        }
    };
    waiters.forget(id);
    match result {
        Some(reply) => match (reply.get("result"), reply.get("error")) {
            (Some(result), _) => Ok(result.clone()),
            (None, Some(error)) => Err(serde_json::from_value(error.clone())
                .unwrap_or_else(|_| fleet_error(format!("host {host} answered {method} with {error}")))),
            (None, None) => Err(fleet_error(format!("host {host} answered {method} with {reply}"))),
        },
        None => Err(fleet_error(format!(
            "host {host} has not carried out {method} within {} s; the request (#{id}) stays queued and runs when \
             the host is back, unless it expires first",
            timeout.as_secs()
        ))),
    }
}

/// Runs the requests queued for this host whenever `wake` fires, until the hub goes away.
pub(crate) async fn serve(store: Arc<SharedStore>, hub: mpsc::Sender<HubMsg>, wake: Arc<Notify>, expiry: Duration) {
    let (tx, mut replies) = mpsc::channel(1024);
    let out = Outbox::new(tx);
    if hub.send(HubMsg::Open { conn: REMOTE_CONN, out, inbound: None }).await.is_err() {
        return;
    }
    let mut next_id = 0i64;
    loop {
        wake.notified().await;
        let expired = json!({ "error": fleet_error(format!(
            "the request waited longer than {} s for host {} and expired unexecuted",
            expiry.as_secs(),
            store.host()
        )) });
        if let Err(e) = store.pg().expire_requests(expiry, &expired).await {
            tracing::debug!(error = %e, "cannot expire old requests; will retry");
        }
        let pending = match store.pg().pending_requests().await {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(error = %e, "cannot read queued requests; will retry");
                continue;
            }
        };
        for request in pending {
            next_id += 1;
            let Some(reply) = run(&hub, &mut replies, next_id, &request.method, &request.params).await else { return };
            tracing::info!(id = request.id, from = %request.from_host, method = %request.method, "ran a request from another host");
            if let Err(e) = store.pg().complete_request(request.id, &reply).await {
                tracing::warn!(error = %e, id = request.id, "cannot record a request's reply; it will run again");
                break;
            }
        }
    }
}

/// Runs one call through the hub; `None` when the hub has gone away.
async fn run(
    hub: &mpsc::Sender<HubMsg>,
    replies: &mut mpsc::Receiver<String>,
    id: i64,
    method: &str,
    params: &Value,
) -> Option<Value> {
    if !may_run_for_another_host(method) {
        return Some(json!({ "error": fleet_error(format!("{method} cannot be run on behalf of another host")) }));
    }
    let raw = serde_json::value::to_raw_value(params).ok()?;
    let call = match Call::parse(method, Some(&raw)) {
        Ok(call) => call,
        Err(error) => return Some(json!({ "error": error })),
    };
    hub.send(HubMsg::Call { conn: REMOTE_CONN, id: RequestId::Number(id), call: Box::new(call) }).await.ok()?;
    while let Some(line) = replies.recv().await {
        let Ok(message) = serde_json::from_str::<Value>(&line) else { continue };
        if message.get("id") == Some(&json!(id)) {
            let mut reply = serde_json::Map::new();
            for key in ["result", "error"] {
                if let Some(v) = message.get(key) {
                    reply.insert(key.to_owned(), v.clone());
                }
            }
            return Some(Value::Object(reply));
        }
    }
    None
}
