//! The client against a fake daemon: a listener on the platform's transport in a temp dir that answers with canned results, records
//! every message it receives, and pushes or closes on command. It checks the client's side of the protocol
//! (ordering, coalescing, pushes, ends) without the real daemon; the daemon's own tests cover the other side.

mod fake;
mod real_daemon;

use std::time::Duration;

use futures_util::FutureExt;

use synccenter_client::methods::{HandlerRegisterParams, names};
use synccenter_client::{CancelWire, Client, ClientError, EventLevelWire, Push, StatusWire};
use synccenter_protocol::methods::{Update, UpdateKind};

use fake::FakeServer;

/// A hang guard, not a speed assertion.
const GUARD: Duration = Duration::from_secs(10);

async fn guard<F: Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(GUARD, f).await.unwrap_or_else(|_| panic!("{what}: nothing within {GUARD:?}"))
}

#[tokio::test]
async fn hello_is_sent_first() {
    let mut server = FakeServer::start().await;
    let client = server.connect().await;
    assert_eq!(client.server().protocol, 1);
    let status = guard("status", client.status()).await.expect("status");
    assert_eq!(status.live_sessions, 0);
    let received = server.wait_for(names::STATUS).await;
    assert_eq!(received.len(), 2, "{received:?}");
    let hello = &received[0];
    assert_eq!(hello.method, names::HELLO);
    assert!(hello.id.is_some());
    assert_eq!(hello.params["protocol"], serde_json::json!({"min": 1, "max": 1}));
    assert!(hello.params["client"].as_str().is_some_and(|c| c.starts_with("synccenter-client/")));
}

#[tokio::test]
async fn a_call_gets_its_typed_result() {
    let server = FakeServer::start().await;
    let client = server.connect().await;
    let info = guard(
        "register",
        client.register_handler(HandlerRegisterParams {
            handler: "nas".into(),
            name: Some("NAS".into()),
            ..HandlerRegisterParams::default()
        }),
    )
    .await
    .expect("register");
    assert_eq!(info.handler, "nas");
    assert_eq!(info.name, "NAS");
    guard("serve", client.serve_handler("nas")).await.expect("serve returns {}");
}

#[tokio::test]
async fn an_rpc_error_carries_the_hresult() {
    let server = FakeServer::start().await;
    let client = server.connect().await;
    let err = guard("remove", client.remove_handler("missing")).await.expect_err("the fake refuses");
    assert_eq!(err.hresult(), Some(0x8007_0490));
    match &err {
        ClientError::Rpc { method, code, name, .. } => {
            assert_eq!(method, names::HANDLER_REMOVE);
            assert_eq!(*code, -32000);
            assert_eq!(name, "E_NOTFOUND");
        }
        other => panic!("expected Rpc, got {other:?}"),
    }
    let shown = err.to_string();
    assert!(shown.contains("handler.remove") && shown.contains("E_NOTFOUND"), "{shown}");
    // The connection survives a refused call.
    guard("status", client.status()).await.expect("status after an error");
}

#[tokio::test]
async fn progress_is_coalesced_and_never_overtakes_end() {
    let mut server = FakeServer::start().await;
    let client = server.connect().await;
    let session = guard("create", client.create_session("nas", ["docs", "photos"])).await.expect("create");
    session.report_progress("photos", StatusWire::Updating, Some("start"), 0, 10).expect("report");
    for step in 1..=10_000 {
        // Not a future: the hot path cannot wait.
        let () = session.report_progress("docs", StatusWire::Updating, None, step, 10_000).expect("report");
    }
    session.report_progress("photos", StatusWire::Succeeded, None, 10, 10).expect("report");
    let end = guard("end", session.end()).await.expect("end");
    assert_eq!(end.status, StatusWire::Succeeded);

    let received = server.wait_for(names::SESSION_END).await;
    let end_at = received.iter().position(|m| m.method == names::SESSION_END).expect("end received");
    assert!(received[end_at].id.is_some(), "end is a request");
    let progress: Vec<_> =
        received.iter().enumerate().filter(|(_, m)| m.method == names::SESSION_REPORT_PROGRESS).collect();
    assert!(progress.iter().all(|(i, m)| *i < end_at && m.id.is_none()), "progress is notifications before end");
    let docs: Vec<_> = progress.iter().filter(|(_, m)| m.params["item"] == "docs").collect();
    assert!(!docs.is_empty() && docs.len() < 100, "{} notifications for 10,000 reports", docs.len());
    let last = &docs[docs.len() - 1].1.params;
    assert_eq!(last["step"], 10_000);
    assert_eq!(last["status"], "updating");
    let photos: Vec<_> = progress.iter().filter(|(_, m)| m.params["item"] == "photos").collect();
    let last = &photos[photos.len() - 1].1.params;
    assert_eq!(last["status"], "succeeded");
    // Coalescing keeps the older text, since an absent text means "keep".
    assert_eq!(last["text"], "start");
}

#[tokio::test]
async fn a_final_status_is_never_coalesced_away() {
    let mut server = FakeServer::start().await;
    let client = server.connect().await;
    let session = guard("create", client.create_session("nas", ["docs"])).await.expect("create");
    session.report_progress("docs", StatusWire::Failed, Some("disk full"), 3, 10).expect("report");
    session.report_progress("docs", StatusWire::Updating, Some("retrying"), 4, 10).expect("report");
    session.set_handler_progress_text("first").expect("text");
    session.set_handler_progress_text("second").expect("text");
    guard("end", session.end()).await.expect("end");
    let received = server.wait_for(names::SESSION_END).await;
    let statuses: Vec<_> = received
        .iter()
        .filter(|m| m.method == names::SESSION_REPORT_PROGRESS)
        .map(|m| m.params["status"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(statuses, ["failed", "updating"]);
    let texts: Vec<_> =
        received.iter().filter(|m| m.method == names::SESSION_SET_HANDLER_PROGRESS_TEXT).map(|m| &m.params).collect();
    assert_eq!(texts.len(), 1);
    assert_eq!(texts[0]["text"], "second");
}

#[tokio::test]
async fn an_event_follows_the_progress_reported_before_it() {
    let mut server = FakeServer::start().await;
    let client = server.connect().await;
    let session = guard("create", client.create_session("nas", ["docs"])).await.expect("create");
    session.report_progress("docs", StatusWire::Updating, None, 1, 2).expect("report");
    let id = guard("event", session.report_event(Some("docs"), EventLevelWire::Error, "copy failed", "disk full"))
        .await
        .expect("event");
    assert_eq!(id, "e-1");
    let received = server.wait_for(names::SESSION_REPORT_EVENT).await;
    let methods: Vec<_> = received.iter().map(|m| m.method.as_str()).collect();
    assert_eq!(
        methods,
        [names::HELLO, names::SESSION_CREATE, names::SESSION_REPORT_PROGRESS, names::SESSION_REPORT_EVENT]
    );
    assert_eq!(received[3].params["session"], session.id());
    assert_eq!(received[3].params["level"], "error");
}

#[tokio::test]
async fn a_pushed_cancel_wakes_cancelled_and_updates_the_state() {
    let server = FakeServer::start().await;
    let client = server.connect().await;
    let session = guard("create", client.create_session("nas", ["docs", "photos"])).await.expect("create");
    assert!(!session.cancel_state().any());
    let waiting = session.cancelled();
    server.push(
        names::PUSH_CANCEL_REQUESTED,
        serde_json::json!({"session": session.id(), "item": "docs", "cancel": "cancel_item"}),
    );
    let push = guard("cancelled", waiting).await.expect("push");
    assert_eq!(push.item.as_deref(), Some("docs"));
    assert_eq!(push.cancel, CancelWire::CancelItem);
    let state = session.cancel_state();
    assert!(state.is_cancelled("docs") && !state.is_cancelled("photos") && !state.all);

    // A push read before anyone waits is not missed: the status reply follows it on the connection.
    server.push(names::PUSH_CANCEL_REQUESTED, serde_json::json!({"session": session.id(), "cancel": "cancel_all"}));
    guard("status", client.status()).await.expect("status");
    assert!(session.cancel_state().all);
    let push = guard("cancelled", session.cancelled()).await.expect("an earlier push");
    assert_eq!(push.cancel, CancelWire::CancelAll);
    // Sticky: the item stop is still there.
    assert!(session.cancel_state().items.contains("docs"));
    // A push for another session does not concern this one.
    server.push(names::PUSH_CANCEL_REQUESTED, serde_json::json!({"session": "other", "cancel": "cancel_all"}));
    guard("status", client.status()).await.expect("status");
    assert!(session.cancelled().now_or_never().is_none(), "no new push for this session");
}

#[tokio::test]
async fn dropping_a_session_ends_it() {
    let mut server = FakeServer::start().await;
    let client = server.connect().await;
    let session = guard("create", client.create_session("nas", ["docs"])).await.expect("create");
    let id = session.id().to_owned();
    session.report_progress("docs", StatusWire::Failed, None, 0, 0).expect("report");
    drop(session);
    let received = server.wait_for(names::SESSION_END).await;
    let end = received.last().expect("end");
    assert!(end.id.is_none(), "a notification: Drop cannot wait for a reply");
    assert_eq!(end.params["session"], id.as_str());
    assert_eq!(received[received.len() - 2].method, names::SESSION_REPORT_PROGRESS);
}

#[tokio::test]
async fn closing_the_connection_fails_pending_calls() {
    let mut server = FakeServer::start().await;
    let client = server.connect().await;
    let session = guard("create", client.create_session("nas", ["docs"])).await.expect("create");
    let hanging = tokio::spawn({
        let client = client.clone();
        async move { client.call::<_, serde_json::Value>("test.hang", &serde_json::json!({})).await }
    });
    server.wait_for("test.hang").await;
    server.close();
    let err = guard("pending call", hanging).await.expect("join").expect_err("disconnected");
    assert!(matches!(err, ClientError::Disconnected), "{err:?}");
    let err = guard("cancelled", session.cancelled()).await.expect_err("disconnected");
    assert!(matches!(err, ClientError::Disconnected), "{err:?}");
    assert!(matches!(client.status().await, Err(ClientError::Disconnected)));
    assert!(matches!(
        session.report_progress("docs", StatusWire::Updating, None, 0, 0),
        Err(ClientError::Disconnected)
    ));
}

#[tokio::test]
async fn pushes_and_updates_reach_their_receivers() {
    let server = FakeServer::start().await;
    let client = server.connect().await;
    let mut pushes = client.pushes().expect("first take");
    assert!(client.pushes().is_none(), "taken once");
    let mut sub = guard("subscribe", client.subscribe()).await.expect("subscribe");
    assert_eq!(sub.snapshot().seq, 5);
    server.push(
        names::PUSH_SYNC_REQUESTED,
        serde_json::json!({"request": "r-1", "handler": "nas", "items": ["docs"], "contexts": []}),
    );
    server.push(names::PUSH_UPDATE, serde_json::json!({"seq": 5, "type": "registry_changed", "handler": "old"}));
    server.push(names::PUSH_UPDATE, serde_json::json!({"seq": 6, "type": "registry_changed", "handler": "nas"}));
    match guard("push", pushes.recv()).await.expect("a push") {
        Push::SyncRequested(p) => assert_eq!((p.request.as_str(), p.items.len()), ("r-1", 1)),
        other => panic!("unexpected push {other:?}"),
    }
    let update = guard("update", sub.next()).await.expect("update");
    assert_eq!(update, Update { seq: 6, change: UpdateKind::RegistryChanged { handler: "nas".into() } });
}

#[tokio::test]
async fn connect_fails_on_a_missing_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = Client::connect(&dir.path().join("none.sock")).await.expect_err("no socket");
    assert!(matches!(err, ClientError::Connect { .. }), "{err:?}");
}

// multi_thread: the writer runs while reports are still being made, so coalescing is partial; what must hold
// regardless is the order and that the last report arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writing_keeps_the_order() {
    let mut server = FakeServer::start().await;
    let client = server.connect().await;
    let session = guard("create", client.create_session("nas", ["docs"])).await.expect("create");
    for step in 1..=10_000 {
        session.report_progress("docs", StatusWire::Updating, None, step, 10_000).expect("report");
    }
    guard("end", session.end()).await.expect("end");
    let received = server.wait_for(names::SESSION_END).await;
    let steps: Vec<u64> = received
        .iter()
        .filter(|m| m.method == names::SESSION_REPORT_PROGRESS)
        .filter_map(|m| m.params["step"].as_u64())
        .collect();
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "progress arrives in order");
    assert_eq!(steps.last(), Some(&10_000));
    assert!(steps.len() <= 10_000);
}

#[tokio::test]
async fn dropping_the_last_handle_closes_the_connection() {
    let mut server = FakeServer::start().await;
    let client = server.connect().await;
    let session = guard("create", client.create_session("nas", ["docs"])).await.expect("create");
    drop(client);
    // The session keeps the connection open and still ends itself when dropped.
    session.report_progress("docs", StatusWire::Succeeded, None, 1, 1).expect("still connected");
    drop(session);
    let received = server.wait_for(names::SESSION_END).await;
    assert_eq!(received[received.len() - 2].params["status"], "succeeded");
    server.wait_closed().await;
}
