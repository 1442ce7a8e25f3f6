//! Sync Results: an error event reported by the owner appears live and is removed by a click.

use serde_json::json;

use crate::harness::{Setup, sel};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_event_appears_in_results_and_is_removed_by_a_click() {
    let Some(s) = Setup::start().await else { return };
    let mut owner = s.daemon.raw().await;
    owner.setup("nas", &["docs"], json!({})).await;
    let sid = owner.session("nas", &["docs"]).await;
    owner
        .ok(
            "session.report_event",
            json!({"session": sid, "item": "docs", "level": "info", "name": "Started", "description": "Sync started"}),
        )
        .await;
    s.tab("results").await;
    // The first page has loaded (with the info event), so new events are shown live.
    s.wait_js("return document.querySelectorAll('[data-testid^=\"event-\"][data-level]').length === 1", "first page")
        .await;

    let ev = owner
        .ok(
            "session.report_event",
            json!({"session": sid, "item": "docs", "level": "error", "name": "Disk full", "description": "No space left on the NAS share"}),
        )
        .await;
    let id = ev["event"].as_str().expect("event id").to_owned();
    let row = format!("event-{id}");
    s.wait_attr(&row, "data-level", "error").await;
    let text = s.js(&format!("return document.querySelector({}).innerText", sel(&row))).await;
    assert!(text.as_str().unwrap_or_default().contains("Disk full"), "{text}");
    s.click(&format!("select-event-{id}")).await;
    s.wait_js("return document.querySelector('[data-testid=\"event-description\"]')?.textContent === 'No space left on the NAS share'", "details").await;
    s.screenshot("results").await;

    s.click(&format!("remove-event-{id}")).await;
    // The page asks with its own dialog for some removals; confirm if it does.
    if s.js("return !!document.querySelector('[data-testid=\"confirm-yes\"]')").await == json!(true) {
        s.click("confirm-yes").await;
    }
    s.wait_gone(&row).await;
    let listed = owner.ok("events.list", json!({})).await;
    let ids: Vec<&str> =
        listed["events"].as_array().expect("events").iter().filter_map(|e| e["event"].as_str()).collect();
    assert!(!ids.contains(&id.as_str()), "{listed}");
    assert_eq!(ids.len(), 1, "the info event stays: {listed}");
}
