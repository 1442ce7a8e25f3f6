//! The client against the real daemon: progress that never waits, a stop pushed from another connection
//! waking the owner, the result of `end`, and a dropped session ended by the daemon.

use serde_json::json;
use synccenter_client::methods::{HandlerRegisterParams, ItemFields, ItemRegisterParams};
use synccenter_client::{CancelWire, Client, StatusWire};
use synccenter_test_support::{HANG_GUARD, TestDaemon};

async fn registered(d: &TestDaemon) -> Client {
    let client = Client::connect(&d.socket).await.expect("connect");
    client
        .register_handler(HandlerRegisterParams {
            handler: "nas".into(),
            name: Some("Backup to NAS".into()),
            ..Default::default()
        })
        .await
        .expect("register handler");
    for item in ["docs", "photos"] {
        let fields = ItemFields { name: Some(item.into()), ..Default::default() };
        client
            .register_item(ItemRegisterParams { handler: "nas".into(), item: item.into(), fields })
            .await
            .expect("register item");
    }
    client
}

#[tokio::test]
async fn a_stop_reaches_the_session_and_the_owner_acknowledges_it() {
    let d = TestDaemon::start().await;
    let client = registered(&d).await;
    let session = client.create_session("nas", ["docs", "photos"]).await.expect("create");
    for step in 0..1000 {
        session.report_progress("docs", StatusWire::Updating, Some("copying"), step, 1000).expect("report");
    }
    let mut user = d.raw().await;
    user.ok("control.stop", json!({"handler": "nas", "items": ["docs"]})).await;
    let push = tokio::time::timeout(HANG_GUARD, session.cancelled()).await.expect("no push").expect("push");
    assert_eq!((push.item.as_deref(), push.cancel), (Some("docs"), CancelWire::CancelItem));
    assert!(session.cancel_state().is_cancelled("docs"));
    assert!(!session.cancel_state().is_cancelled("photos"));
    session.report_progress("docs", StatusWire::Canceled, Some(""), 0, 0).expect("report");
    session.report_progress("photos", StatusWire::Succeeded, None, 1, 1).expect("report");
    let end = session.end().await.expect("end");
    assert_eq!(end.status, StatusWire::Canceled);
    let history = user.ok("sessions.history", json!({})).await;
    assert_eq!(history["sessions"][0]["items"][0]["status"], "canceled", "{history}");
    assert_eq!(history["sessions"][0]["items"][1]["status"], "succeeded", "{history}");
}

#[tokio::test]
async fn a_dropped_session_is_ended_never_left_dangling() {
    let d = TestDaemon::start().await;
    let client = registered(&d).await;
    let mut watcher = d.raw().await;
    watcher.ok("subscribe", json!({})).await;
    let session = client.create_session("nas", ["docs"]).await.expect("create");
    let id = session.id().to_owned();
    drop(session);
    loop {
        let u = watcher.next_push_of("update").await;
        if u["params"]["type"] == "session_ended" {
            assert_eq!(u["params"]["session"], id.as_str());
            assert_eq!(u["params"]["reason"], "ended");
            break;
        }
    }
    // The connection is still usable.
    assert_eq!(client.sessions().await.expect("sessions").len(), 0);
}
