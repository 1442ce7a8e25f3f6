//! Progress in its unit (issue 20): bytes beyond `u32` and files reach the live views and the feed beside the
//! spec's steps, which keep meaning steps; a plain report is steps again; a bad unit is refused.

use serde_json::json;
use synccenter_test_support::TestDaemon;

const TOTAL: u64 = 12_000_000_000;

#[tokio::test]
async fn bytes_and_files_reach_sessions_items_and_the_feed() {
    let d = TestDaemon::start().await;
    let mut c = d.raw().await;
    c.setup("nas", &["docs"], json!({})).await;
    let mut watcher = d.raw().await;
    watcher.ok("subscribe", json!({})).await;
    let s = c.session("nas", &["docs"]).await;
    // A notification (the daemon's hot path) with bytes only: the steps are derived, scaled to fit u32.
    c.notify(
        "session.report_progress",
        json!({"session": s, "item": "docs", "status": "updating", "unit": "bytes", "done": TOTAL / 4, "total": TOTAL}),
    )
    .await;
    let live = c.ok("sessions.list", json!({})).await;
    let item = &live["sessions"][0]["items"][0];
    assert_eq!(item["amount"], json!({"unit": "bytes", "done": TOTAL / 4, "total": TOTAL}), "{live}");
    assert_eq!((item["step"].as_u64(), item["max_step"].as_u64()), (Some(TOTAL / 16), Some(TOTAL / 4)));
    let listed = c.ok("item.list", json!({"handler": "nas"})).await;
    assert_eq!(listed["items"][0]["progress"]["amount"]["done"], TOTAL / 4, "{listed}");
    let update = loop {
        let u = watcher.next_push_of("update").await;
        if u["params"]["type"] == "progress" {
            break u;
        }
    };
    assert_eq!(update["params"]["amount"], json!({"unit": "bytes", "done": TOTAL / 4, "total": TOTAL}), "{update}");
    // Files counted in the spec's own steps, as a request.
    let r = c
        .ok(
            "session.report_progress",
            json!({"session": s, "item": "docs", "status": "updating", "unit": "files", "step": 3, "max_step": 10}),
        )
        .await;
    assert_eq!(r["cancel"], "none");
    let live = c.ok("sessions.list", json!({})).await;
    assert_eq!(live["sessions"][0]["items"][0]["amount"], json!({"unit": "files", "done": 3, "total": 10}));
    // A plain report of the spec is steps again: no amount.
    c.ok(
        "session.report_progress",
        json!({"session": s, "item": "docs", "status": "updating", "step": 4, "max_step": 10}),
    )
    .await;
    let live = c.ok("sessions.list", json!({})).await;
    assert!(live["sessions"][0]["items"][0].get("amount").is_none(), "{live}");
    // A unit that does not exist is refused and changes nothing.
    let (name, _) = c
        .err(
            "session.report_progress",
            json!({"session": s, "item": "docs", "status": "updating", "unit": "liters", "done": 1}),
        )
        .await;
    assert_eq!(name, "E_INVALIDARG");
    let after = c.ok("sessions.list", json!({})).await;
    assert_eq!(after, live);
}
