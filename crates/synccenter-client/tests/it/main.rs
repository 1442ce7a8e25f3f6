//! The client's tests. Every typed method is called against the real daemon (`real_*` modules), its result
//! read back through another call. The fake daemon here (a listener that records every message and closes on
//! command) is kept for what the real one cannot show: the exact messages the client writes (ordering,
//! coalescing, the end a drop sends) and transport faults (a daemon that closes under pending calls).

mod fake;
mod real_daemon;
mod real_registry;
mod real_session;

use std::time::Duration;

use synccenter_client::methods::names;
use synccenter_client::{Client, ClientError, EventLevelWire, StatusWire};

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
