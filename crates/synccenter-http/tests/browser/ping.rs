//! An item's ping URL: the page shows the URLs the API gives for the item, and a request to the shown URL, sent
//! as a job sends it (no token), records a success for that item, which the page then shows as a session.

use serde_json::{Value, json};

use crate::harness::{Setup, sel};

/// The value of the input with this `data-testid`, once it has one.
async fn field(s: &Setup, id: &str) -> String {
    let v = s.wait_js(&format!("return document.querySelector({})?.value", sel(id)), id).await;
    v.as_str().expect("a string value").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_items_ping_url_is_shown_and_a_request_to_it_records_a_success() {
    let Some(s) = Setup::start().await else { return };
    let mut owner = s.daemon.raw().await;
    owner.setup("nas", &["docs", "photos"], json!({})).await;
    let expected = owner.ok("ping.url", json!({"handler": "nas", "item": "docs"})).await;
    let head = format!(
        "GET /api/v1/handlers/nas/items/docs/ping-url HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}",
        s.addr, s.token
    );
    let (status, response) = s.raw_http(&head, "").await;
    assert_eq!(status, 200, "{response}");
    let api: Value = serde_json::from_str(response.split_once("\r\n\r\n").expect("a body").1).expect("JSON");
    assert_eq!(api, expected, "the route answers ping.url");
    let url = api["url"].as_str().expect("the daemon serves the dashboard, so the URL is absolute").to_owned();
    assert_eq!(url, s.url(api["path"].as_str().expect("path")));

    s.click("expand-nas").await;
    s.wait_testid("item-nas-docs").await;
    s.click("ping-url-nas-docs").await;
    s.wait_attr("ping-url-nas-docs", "aria-expanded", "true").await;
    assert_eq!(field(&s, "ping-field-url-nas-docs").await, url);
    assert_eq!(field(&s, "ping-field-slug-nas-docs").await, api["slug_url"].as_str().expect("slug_url"));
    assert_eq!(field(&s, "ping-field-push-nas-docs").await, api["push_url"].as_str().expect("push_url"));
    let input = s
        .js(&format!(
            "const e = document.querySelector({}); return {{ read_only: e.readOnly, label: e.labels[0]?.textContent }}",
            sel("ping-field-url-nas-docs")
        ))
        .await;
    assert_eq!(input, json!({"read_only": true, "label": "Healthchecks ping URL"}));
    assert_eq!(s.js(&format!("return !!document.querySelector({})", sel("ping-panel-nas-photos"))).await, json!(false));
    s.click("ping-copy-url-nas-docs").await;
    let note_js = format!("return document.querySelector({}).textContent", sel("ping-status-nas-docs"));
    let note = s.wait_js(&note_js, "the copy note").await;
    assert!(note.as_str().is_some_and(|n| n == "Healthchecks ping URL copied." || n.contains("Ctrl+C")), "{note}");
    s.js(&format!(
        "document.querySelector({}).scrollIntoView({{block: 'center'}}); return true",
        sel("ping-panel-nas-docs")
    ))
    .await;
    s.screenshot("ping-url").await;

    // Escape closes the panel and gives the focus back to its button.
    let escape =
        s.c().find(fantoccini::Locator::Css("[data-testid=\"ping-field-url-nas-docs\"]")).await.expect("field");
    escape.send_keys("\u{e00c}").await.expect("press Escape");
    s.wait_gone("ping-panel-nas-docs").await;
    s.wait_js(
        "return document.activeElement?.dataset.testid === 'ping-url-nas-docs'",
        "the focus back on the Ping URL button",
    )
    .await;

    // The shown URL, requested as a job would (no cookie, no token), records a success for the item.
    let path = url.strip_prefix(&format!("http://{}", s.addr)).expect("the dashboard's own address");
    let (status, response) = s.raw_http(&format!("GET {path} HTTP/1.1\r\nHost: {}", s.addr), "").await;
    assert_eq!(status, 200, "{response}");
    let history = owner.ok("sessions.history", json!({"handler": "nas"})).await;
    let sessions = history["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 1, "{history}");
    assert_eq!(sessions[0]["status"], "succeeded", "{history}");
    assert_eq!(sessions[0]["items"][0]["item"], "docs", "{history}");
    let sid = sessions[0]["session"].as_str().expect("session id");
    s.tab("sessions").await;
    s.wait_attr(&format!("session-status-{sid}"), "data-status", "succeeded").await;
}
