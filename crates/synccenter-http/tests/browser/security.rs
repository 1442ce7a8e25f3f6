//! The dashboard's guards seen from a browser and from raw HTTP: no cookie, a foreign `Origin` and a foreign
//! `Host` are refused, while the logged-in page's own requests go through.

use serde_json::json;

use crate::harness::Setup;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_the_token_or_from_a_foreign_origin_are_refused() {
    let Some(s) = Setup::start_logged_out().await else { return };

    // A fresh profile has no cookie: the API refuses it.
    s.goto("/api/v1/handlers").await;
    let body = s.js("return document.body.innerText").await;
    assert!(body.as_str().unwrap_or_default().contains("E_ACCESSDENIED"), "{body}");
    let status = s.js("return fetch('/api/v1/handlers').then((r) => r.status)").await;
    assert_eq!(status, json!(403));

    // Logged in, the page's own state-changing request is accepted.
    s.goto(&format!("/login?token={}", s.token)).await;
    s.wait_js("return document.body.dataset.ready === 'true' && location.pathname === '/'", "page ready").await;
    let ok = s
        .js("return fetch('/api/v1/control/stop', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{}'}).then((r) => r.status)")
        .await;
    assert_eq!(ok, json!(200));
    s.screenshot("handlers-empty").await;

    // The same request with the cookie from another origin, or for another host name.
    let cookie = format!("Cookie: synccenter_token={}", s.token);
    let post = "POST /api/v1/control/stop HTTP/1.1\r\nContent-Type: application/json";
    let (code, resp) =
        s.raw_http(&format!("{post}\r\nHost: {}\r\n{cookie}\r\nOrigin: http://evil.example", s.addr), "{}").await;
    assert_eq!(code, 403, "{resp}");
    let (code, resp) =
        s.raw_http(&format!("{post}\r\nHost: evil.example\r\n{cookie}\r\nOrigin: http://evil.example"), "{}").await;
    assert_eq!(code, 421, "{resp}");
    // Control: the same raw request with the right Host and Origin is accepted.
    let (code, resp) =
        s.raw_http(&format!("{post}\r\nHost: {0}\r\n{cookie}\r\nOrigin: http://{0}", s.addr), "{}").await;
    assert_eq!(code, 200, "{resp}");
}
