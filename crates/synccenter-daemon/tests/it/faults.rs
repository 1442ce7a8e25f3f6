//! Store faults through the socket: a full disk (SQLite's page limit, the store's fault-injection knob) gives
//! clients clear errors, refuses new durable calls without changing anything, keeps what it had already
//! accepted, leaves the file sound, and writes again by itself once space returns.

use std::time::Duration;

use serde_json::{Value, json};
use synccenter_daemon::PageLimit;
use synccenter_test_support::{HANG_GUARD, RawConn, TestDaemon};

async fn event(c: &mut RawConn, session: &str, name: &str) -> Value {
    let description = format!("{name}: {}", "z".repeat(900));
    c.call(
        "session.report_event",
        json!({"session": session, "level": "error", "name": name, "description": description}),
    )
    .await
}

async fn events_named(c: &mut RawConn, name: &str) -> usize {
    let list = c.ok("events.list", json!({"handler": "nas", "limit": 10000})).await;
    list["events"].as_array().expect("events").iter().filter(|e| e["name"] == name).count()
}

#[tokio::test]
async fn a_full_disk_refuses_durable_calls_cleanly_and_the_daemon_recovers_when_space_returns() {
    let limit = PageLimit::new();
    let knob = limit.clone();
    let d = TestDaemon::start_with(tempfile::tempdir().expect("tempdir"), |c| c.store_page_limit = Some(knob)).await;
    let mut c = d.raw().await;
    c.setup("nas", &["docs"], json!({"capabilities": ["supports_concurrent_sessions"]})).await;
    let s = c.session("nas", &["docs"]).await;

    // The disk is full from now on: writes that need a new page fail. Those that still fit succeed.
    limit.set(Some(1));
    let mut kept = None;
    for i in 0..200 {
        let name = format!("before-full-{i}");
        let r = event(&mut c, &s, &name).await;
        if let Some(e) = r.get("error") {
            assert_eq!(e["data"]["name"], "E_FAIL", "{r}");
            let msg = e["message"].as_str().unwrap_or_default();
            assert!(msg.contains("disk full") && msg.contains("could not be stored yet"), "{msg}");
            kept = Some(name);
            break;
        }
    }
    let kept = kept.expect("the page limit filled the disk");

    // While the store fails, durable requests are refused before they change anything; reads and stops work.
    let before = c.ok("events.list", json!({"handler": "nas", "limit": 1})).await["total"].clone();
    for (method, params) in [
        ("session.report_event", json!({"session": s, "level": "error", "name": "refused", "description": "d"})),
        ("session.create", json!({"handler": "nas", "items": ["docs"]})),
        ("session.report_progress", json!({"session": s, "item": "docs", "status": "succeeded"})),
        ("handler.register", json!({"handler": "other", "name": "Other"})),
    ] {
        let r = c.call(method, params).await;
        assert_eq!(r["error"]["data"]["name"], "E_FAIL", "{method}: {r}");
        let msg = r["error"]["message"].as_str().unwrap_or_default();
        assert!(
            msg.starts_with("refused") && msg.contains("disk full") && msg.contains("nothing was changed"),
            "{msg}"
        );
    }
    assert!(c.ok("status", json!({})).await.is_object());
    assert_eq!(c.ok("events.list", json!({"handler": "nas", "limit": 1})).await["total"], before);
    assert_eq!(c.ok("sessions.list", json!({})).await["sessions"].as_array().map(Vec::len), Some(1));
    c.ok("control.stop", json!({"handler": "nas"})).await;
    assert_eq!(c.next_push_of("session.cancel_requested").await["params"]["session"], s.as_str());
    c.notify(
        "session.report_progress",
        json!({"session": s, "item": "docs", "status": "updating", "step": 1, "max_step": 2}),
    )
    .await;

    // Space returns: the daemon retries on its own (every second) and stores what it had accepted. The retry
    // has no push to wait on, so this polls, under the hang guard.
    limit.set(None);
    let deadline = tokio::time::Instant::now() + HANG_GUARD;
    while events_named(&mut c, &kept).await == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the kept event was never stored");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(events_named(&mut c, &kept).await, 1, "stored exactly once");
    assert_eq!(events_named(&mut c, "refused").await, 0, "a refused call changed nothing");
    let r = event(&mut c, &s, "after-recovery").await;
    assert!(r.get("result").is_some(), "durable calls work again: {r}");
    c.ok("session.report_progress", json!({"session": s, "item": "docs", "status": "succeeded"})).await;
    assert_eq!(c.ok("session.end", json!({"session": s})).await["status"], "succeeded");
    drop(c);
    let dir = d.stop().await;
    let report = synccenter_store_sqlite::maintenance::check(&dir.path().join("data").join("synccenter.sqlite"))
        .await
        .expect("check");
    assert!(report.ok(), "no corruption: {report:?}");
}
