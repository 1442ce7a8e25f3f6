//! Conflicts: a conflict reported by a serving owner is resolved with a click, and the owner is asked.

use serde_json::json;

use crate::harness::Setup;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_is_resolved_by_a_click() {
    let Some(s) = Setup::start().await else { return };
    let mut owner = s.daemon.raw().await;
    owner.setup("nas", &["docs"], json!({})).await;
    owner.ok("handler.serve", json!({"handler": "nas"})).await;
    let sid = owner.session("nas", &["docs"]).await;
    s.tab("conflicts").await;
    s.wait_testid("no-conflicts").await;
    s.wait_js(
        "return document.querySelector('[data-testid=\"no-conflicts\"]').textContent.startsWith('There are no')",
        "loaded",
    )
    .await;

    let versions = json!([
        {"location_short": "laptop", "location_full": "/home/u/Documents/report.odt", "original_name": "report.odt",
         "types": ["updated"], "modified": "2026-11-25T08:00:00Z", "size": 48213},
        {"location_short": "nas", "location_full": "nas:/share/Documents/report.odt", "original_name": "report.odt",
         "types": ["updated"], "modified": "2026-11-25T09:30:00Z", "size": 51877}
    ]);
    let c = owner
        .ok(
            "session.report_conflict",
            json!({"session": sid, "item": "docs", "name": "report.odt", "description": "Changed on both sides",
                   "versions": versions, "abilities": ["keep_recent"]}),
        )
        .await;
    let cid = c["conflict"].as_str().expect("conflict id").to_owned();
    s.wait_testid(&format!("conflict-{cid}")).await;
    s.wait_testid(&format!("version-{cid}-1")).await;
    s.screenshot("conflicts").await;

    s.click(&format!("keep-recent-{cid}")).await;
    let push = owner.next_push_of("conflict.resolution_requested").await;
    assert_eq!(push["params"]["choice"], "keep_recent", "{push}");
    assert_eq!(push["params"]["conflict"], cid.as_str(), "{push}");
    s.wait_testid(&format!("resolution-{cid}")).await;
    s.wait_attr(&format!("conflict-{cid}"), "data-resolved", "true").await;
    s.screenshot("conflicts-resolved").await;
}
