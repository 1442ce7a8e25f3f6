//! The client against the real daemon: progress that never waits, a stop pushed from another connection
//! waking the owner, the result of `end`, a dropped session ended by the daemon, start requests from the
//! requester through the serving handler and back, and a detached session that outlives its connection.

use serde_json::json;
use synccenter_client::methods::{
    ControlTargetParams, CreateSessionParams, EventsFilterParams, HandlerRegisterParams, ItemFields,
    ItemRegisterParams, ReportProgressParams, SessionParams,
};
use synccenter_client::{CancelWire, Client, Push, StatusWire};
use synccenter_protocol::api;
use synccenter_protocol::methods::{SyncRequestedPush, SyncResultPush, UpdateKind};
use synccenter_test_support::{HANG_GUARD, TestDaemon};
use tokio::sync::mpsc;

use crate::guard;

/// A client that registered the handler `nas` with the items `docs` and `photos`.
pub(crate) async fn registered(d: &TestDaemon) -> Client {
    let client = Client::connect(&d.socket).await.expect("connect");
    register(&client, "nas", &["docs", "photos"]).await;
    client
}

/// Registers `handler` (named "Backup to NAS" for `nas`) with `items`.
pub(crate) async fn register(client: &Client, handler: &str, items: &[&str]) {
    let name = if handler == "nas" { "Backup to NAS" } else { handler };
    let params = HandlerRegisterParams { handler: handler.into(), name: Some(name.into()), ..Default::default() };
    guard("register handler", client.register_handler(params)).await.expect("register handler");
    for item in items {
        let fields = ItemFields { name: Some((*item).into()), ..Default::default() };
        let params = ItemRegisterParams { handler: handler.into(), item: (*item).into(), fields };
        guard("register item", client.register_item(params)).await.expect("register item");
    }
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

async fn sync_requested(pushes: &mut mpsc::Receiver<Push>) -> SyncRequestedPush {
    match guard("push", pushes.recv()).await.expect("a push") {
        Push::SyncRequested(p) => p,
        other => panic!("expected handler.sync_requested, got {other:?}"),
    }
}

async fn sync_result(pushes: &mut mpsc::Receiver<Push>) -> SyncResultPush {
    match guard("push", pushes.recv()).await.expect("a push") {
        Push::SyncResult(p) => p,
        other => panic!("expected control.sync_result, got {other:?}"),
    }
}

#[tokio::test]
async fn a_start_reaches_the_serving_handler_and_its_outcome_the_requester() {
    let d = TestDaemon::start().await;
    let handler = registered(&d).await;
    let mut asked = handler.pushes().expect("first take");
    assert!(handler.pushes().is_none(), "taken once");
    guard("serve", handler.serve_handler("nas")).await.expect("serve");
    let user = Client::connect(&d.socket).await.expect("connect");
    let mut results = user.pushes().expect("first take");

    // A request the handler cannot serve ends failed, with the reason in an event.
    let nas = ControlTargetParams { handler: Some("nas".into()), ..ControlTargetParams::default() };
    let started = guard("start", user.start(nas)).await.expect("start");
    assert_eq!(started.requests.len(), 1);
    let request = sync_requested(&mut asked).await;
    assert_eq!(
        (request.request.as_str(), request.items.as_slice()),
        (started.requests[0].as_str(), &["docs".to_owned(), "photos".to_owned()][..])
    );
    guard("sync_failed", handler.sync_failed(&request.request, "the NAS is offline")).await.expect("sync_failed");
    let result = sync_result(&mut results).await;
    assert_eq!((result.request.as_str(), result.status), (request.request.as_str(), StatusWire::Failed));
    let handler_level =
        EventsFilterParams { handler: Some("nas".into()), handler_level_only: true, ..EventsFilterParams::default() };
    let events = guard("events", user.events(handler_level)).await.expect("events");
    assert!(events.events.iter().any(|e| e.description.contains("the NAS is offline")), "{events:?}");

    // A request made while a session runs waits for it: the session takes its item and context.
    let session = guard("create", handler.create_session("nas", ["docs"])).await.expect("create");
    let context = json!({"why": "photos changed"});
    let photos = ControlTargetParams {
        handler: Some("nas".into()),
        items: Some(vec!["photos".into()]),
        context: Some(context.clone()),
        ..ControlTargetParams::default()
    };
    let started = guard("start", user.start(photos)).await.expect("start");
    let pending = guard("query", session.query_additional_items()).await.expect("query");
    assert_eq!((pending.items, pending.contexts), (vec!["photos".to_owned()], vec![context.clone()]));
    guard("add item", session.add_item("photos")).await.expect("add item");
    guard("add context", session.add_context(context)).await.expect("add context");
    let pending = guard("query", session.query_additional_items()).await.expect("query");
    assert!(pending.items.is_empty() && pending.contexts.is_empty(), "{pending:?}");
    for item in ["docs", "photos"] {
        session.report_progress(item, StatusWire::Succeeded, None, 1, 1).expect("report");
    }
    assert_eq!(guard("end", session.end()).await.expect("end").status, StatusWire::Succeeded);
    let result = sync_result(&mut results).await;
    assert_eq!((result.request.as_str(), result.status), (started.requests[0].as_str(), StatusWire::Succeeded));
}

#[tokio::test]
async fn a_detached_session_outlives_its_connection_and_is_ended_by_another() {
    let d = TestDaemon::start().await;
    let user = registered(&d).await;
    let mut sub = guard("subscribe", user.subscribe()).await.expect("subscribe");
    let script = Client::connect(&d.socket).await.expect("connect");
    register(&user, "cloud", &["mail"]).await;
    let params = |detach| CreateSessionParams {
        handler: if detach { "nas" } else { "cloud" }.into(),
        items: vec![if detach { "docs" } else { "mail" }.into()],
        detach,
        lease_seconds: Some(600),
        announce: false,
    };
    let detached = guard("create", script.create_session_with(params(true))).await.expect("create").into_id();
    let attached = guard("create", script.create_session_with(params(false))).await.expect("create").into_id();
    drop(script);
    // The daemon ends a closed connection's sessions together: once the attached one is ended, the detached
    // one would be too had the flag not reached the daemon.
    loop {
        let update = guard("update", sub.next()).await.expect("update");
        if let UpdateKind::SessionEnded { session, reason, .. } = update.change {
            assert_eq!((session.as_str(), reason.as_str()), (attached.as_str(), "owner_lost"));
            break;
        }
    }
    let live = guard("sessions", user.sessions()).await.expect("sessions");
    assert_eq!(live.iter().map(|s| s.session.as_str()).collect::<Vec<_>>(), [detached.as_str()]);
    // Another invocation of the script reports and ends it.
    let report = ReportProgressParams {
        session: detached.clone(),
        item: "docs".into(),
        status: StatusWire::Succeeded,
        text: None,
        step: Some(1),
        max_step: Some(1),
        unit: None,
        done: None,
        total: None,
    };
    let cancel = guard("report", user.request::<api::SessionReportProgress>(&report)).await.expect("report");
    assert_eq!(cancel.cancel, CancelWire::None);
    let end = guard("end", user.request::<api::SessionEnd>(&SessionParams { session: detached.clone() })).await;
    assert_eq!(end.expect("another connection ends it").status, StatusWire::Succeeded);
    assert!(guard("sessions", user.sessions()).await.expect("sessions").is_empty());
}
