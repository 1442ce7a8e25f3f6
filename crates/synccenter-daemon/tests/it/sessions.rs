//! Session behaviours of the spec over the wire, cancellation pushed to a blocked owner, start requests with
//! their pushed result, conflicts, and the live feed.

use serde_json::json;
use synccenter_test_support::{HANG_GUARD, TestDaemon};

#[tokio::test]
async fn session_rules_hold_over_the_wire() {
    let d = TestDaemon::start().await;
    let mut c = d.raw().await;
    c.setup("nas", &["docs", "photos", "music"], json!({})).await;
    let s = c.session("nas", &["docs", "photos"]).await;
    // b01: accepted, no stop.
    let r = c
        .ok(
            "session.report_progress",
            json!({"session": s, "item": "docs", "status": "updating", "step": 1, "max_step": 10, "text": "x"}),
        )
        .await;
    assert_eq!(r, json!({"cancel": "none"}));
    // Numbers are accepted for enums.
    c.ok("session.report_progress", json!({"session": s, "item": "photos", "status": 3})).await;
    // b02: after succeeded, updating is refused with E_ACCESSDENIED and the item becomes failed.
    assert_eq!(
        c.err("session.report_progress", json!({"session": s, "item": "photos", "status": "updating"})).await,
        ("E_ACCESSDENIED".into(), 0x8007_0005)
    );
    let live = c.ok("sessions.list", json!({})).await;
    assert_eq!(live["sessions"][0]["items"][1]["status"], "failed", "{live}");
    // b10: an item of the handler that is not in the session.
    assert_eq!(
        c.err("session.report_progress", json!({"session": s, "item": "music", "status": "updating"})).await.0,
        "E_INVALIDARG"
    );
    // b39: a second session without the concurrent-sessions capability.
    assert_eq!(
        c.err("session.create", json!({"handler": "nas", "items": ["music"]})).await,
        ("ERROR_BUSY".into(), 0x8007_00AA)
    );
    // b43: a disabled item.
    c.ok("control.enable", json!({"handler": "nas", "item": "music", "enable": false})).await;
    c.setup("usb", &["a"], json!({"capabilities": ["supports_concurrent_sessions"]})).await;
    c.ok("control.enable", json!({"handler": "usb", "enable": false})).await;
    assert_eq!(
        c.err("session.create", json!({"handler": "usb", "items": ["a"]})).await,
        ("ERROR_NOT_READY".into(), 0x8007_0015)
    );
    // b08 and the end result: docs never finished, so it is failed and so is the session.
    let end = c.ok("session.end", json!({"session": s})).await;
    assert_eq!(end, json!({"status": "failed", "errors": 0, "conflicts": 0}));
    // b41: every call after the end is E_UNEXPECTED.
    assert_eq!(
        c.err("session.report_progress", json!({"session": s, "item": "docs", "status": "updating"})).await,
        ("E_UNEXPECTED".into(), 0x8000_FFFF)
    );
    assert_eq!(c.err("session.can_continue", json!({"session": s})).await.0, "E_UNEXPECTED");
    // Ending again is idempotent.
    assert_eq!(c.ok("session.end", json!({"session": s})).await["status"], "failed");
}

#[tokio::test]
async fn a_stop_is_pushed_to_an_owner_blocked_reading() {
    let d = TestDaemon::start().await;
    let mut owner = d.raw().await;
    owner.setup("nas", &["docs", "photos"], json!({})).await;
    let s = owner.session("nas", &["docs", "photos"]).await;
    // The owner sits in a read; the stop comes from another connection.
    let waiting = tokio::spawn(async move {
        let first = owner.next_push_of("session.cancel_requested").await;
        let second = owner.next_push_of("session.cancel_requested").await;
        (owner, first, second)
    });
    let mut user = d.raw().await;
    user.ok("control.stop", json!({"handler": "nas", "items": ["docs"]})).await;
    user.ok("control.stop", json!({"handler": "nas"})).await;
    let (mut owner, first, second) = tokio::time::timeout(HANG_GUARD, waiting).await.expect("no push").expect("task");
    assert_eq!(first["params"], json!({"session": s, "item": "docs", "cancel": "cancel_item"}));
    assert_eq!(second["params"], json!({"session": s, "cancel": "cancel_all"}));
    // The same state answers reports and can_continue (b15, b22).
    let r = owner.ok("session.report_progress", json!({"session": s, "item": "photos", "status": "updating"})).await;
    assert_eq!(r["cancel"], "cancel_all");
    assert_eq!(owner.ok("session.can_continue", json!({"session": s})).await, json!({"continue": false}));
    let r = owner.ok("session.set_handler_progress_text", json!({"session": s, "text": "stopping"})).await;
    assert_eq!(r["cancel"], "cancel_all");
}

#[tokio::test]
async fn progress_notifications_are_applied_in_order() {
    let d = TestDaemon::start().await;
    let mut c = d.raw().await;
    c.setup("nas", &["docs"], json!({})).await;
    let s = c.session("nas", &["docs"]).await;
    for step in 0..=500 {
        c.notify(
            "session.report_progress",
            json!({"session": s, "item": "docs", "status": "updating", "step": step, "max_step": 500}),
        )
        .await;
    }
    // A request after the notifications is answered after they were applied.
    let live = c.ok("sessions.list", json!({})).await;
    assert_eq!(live["sessions"][0]["items"][0]["step"], 500, "{live}");
    assert!(c.ok("status", json!({})).await["reports_applied"].as_u64().unwrap_or(0) >= 501);
}

#[tokio::test]
async fn a_start_request_reaches_the_serving_handler_and_its_result_the_requester() {
    let d = TestDaemon::start().await;
    let mut handler = d.raw().await;
    handler.setup("nas", &["docs", "photos"], json!({})).await;
    handler.ok("handler.serve", json!({"handler": "nas"})).await;
    let mut user = d.raw().await;
    let started = user.ok("control.start", json!({"handler": "nas"})).await;
    let request = started["requests"][0].as_str().expect("request").to_owned();
    let asked = handler.next_push_of("handler.sync_requested").await;
    assert_eq!(asked["params"]["request"], request.as_str());
    assert_eq!(asked["params"]["items"], json!(["docs", "photos"]));
    let s = handler.session("nas", &["docs", "photos"]).await;
    for item in ["docs", "photos"] {
        handler.ok("session.report_progress", json!({"session": s, "item": item, "status": "succeeded"})).await;
    }
    handler
        .ok(
            "session.report_event",
            json!({"session": s, "item": "docs", "level": "error", "name": "n", "description": "d"}),
        )
        .await;
    handler.ok("session.end", json!({"session": s})).await;
    let result = user.next_push_of("control.sync_result").await;
    assert_eq!(
        result["params"],
        json!({"request": request, "handler": "nas", "status": "succeeded", "errors": 1, "conflicts": 0})
    );
}

#[tokio::test]
async fn conflicts_are_reported_resolved_by_the_user_and_removed_by_the_owner() {
    let d = TestDaemon::start().await;
    let mut owner = d.raw().await;
    owner.setup("nas", &["docs"], json!({})).await;
    owner.ok("handler.serve", json!({"handler": "nas"})).await;
    let s = owner.session("nas", &["docs"]).await;
    let versions = json!([
        {"location_short": "laptop", "location_full": "/home/u/a.txt", "types": ["updated"], "modified": "2026-11-25T08:00:00Z"},
        {"location_short": "nas", "location_full": "nas:/a.txt", "types": ["updated"]}
    ]);
    let c = owner
        .ok(
            "session.report_conflict",
            json!({"session": s, "item": "docs", "name": "a.txt", "description": "both changed", "versions": versions, "abilities": ["keep_recent"]}),
        )
        .await;
    let id = c["conflict"].as_str().expect("id").to_owned();
    let mut user = d.raw().await;
    // b80 over the wire: keeping two versions needs keep_multiple.
    let (name, _) =
        user.err("conflicts.resolve", json!({"conflict": id, "choice": {"keep": [{"index": 0}, {"index": 1}]}})).await;
    assert_eq!(name, "E_INVALIDARG");
    user.ok("conflicts.resolve", json!({"conflict": id, "choice": "keep_recent"})).await;
    let push = owner.next_push_of("conflict.resolution_requested").await;
    assert_eq!(push["params"]["choice"], "keep_recent");
    // b78: still listed until the owner removes it.
    let listed = user.ok("conflicts.list", json!({"handler": "nas"})).await;
    assert_eq!(listed["conflicts"][0]["resolution"]["choice"], "keep_recent");
    owner.ok("conflicts.remove", json!({"conflicts": [id]})).await;
    assert_eq!(user.ok("conflicts.list", json!({})).await["conflicts"], json!([]));
}

#[tokio::test]
async fn subscribers_see_sessions_progress_events_and_ends() {
    let d = TestDaemon::start().await;
    let mut c = d.raw().await;
    c.setup("nas", &["docs"], json!({})).await;
    let mut watcher = d.raw().await;
    let snapshot = watcher.ok("subscribe", json!({})).await;
    assert_eq!(snapshot["sessions"], json!([]));
    let s = c.session("nas", &["docs"]).await;
    c.notify(
        "session.report_progress",
        json!({"session": s, "item": "docs", "status": "updating", "step": 2, "max_step": 4}),
    )
    .await;
    c.ok("session.report_event", json!({"session": s, "level": "info", "name": "hi", "description": "d"})).await;
    c.ok("session.end", json!({"session": s})).await;
    let mut kinds = Vec::new();
    let mut last_seq = 0;
    while !kinds.contains(&"session_ended".to_owned()) {
        let u = watcher.next_push_of("update").await;
        let seq = u["params"]["seq"].as_u64().expect("seq");
        assert!(seq > last_seq, "seq must increase");
        last_seq = seq;
        kinds.push(u["params"]["type"].as_str().expect("type").to_owned());
    }
    assert_eq!(kinds.first().map(String::as_str), Some("session_started"), "{kinds:?}");
    assert!(kinds.contains(&"event_added".to_owned()), "{kinds:?}");
}

#[tokio::test]
async fn final_statuses_reach_watchers_before_the_session_ends_even_within_one_publish_interval() {
    let d = TestDaemon::start().await;
    let mut c = d.raw().await;
    c.setup("nas", &["docs", "photos"], json!({})).await;
    let mut watcher = d.raw().await;
    watcher.ok("subscribe", json!({})).await;
    let s = c.session("nas", &["docs", "photos"]).await;
    c.notify("session.report_progress", json!({"session": s, "item": "docs", "status": "succeeded"})).await;
    c.notify("session.report_progress", json!({"session": s, "item": "photos", "status": "canceled"})).await;
    c.ok("session.end", json!({"session": s})).await;
    let mut finals = Vec::new();
    loop {
        let u = watcher.next_push_of("update").await;
        match u["params"]["type"].as_str() {
            Some("progress") => finals.push((u["params"]["item"].clone(), u["params"]["status"].clone())),
            Some("session_ended") => break,
            _ => {}
        }
    }
    assert_eq!(finals, vec![(json!("docs"), json!("succeeded")), (json!("photos"), json!("canceled"))]);
}
