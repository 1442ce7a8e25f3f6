//! `GET /api/v1/handlers/{h}/items/{i}/ping-url`: the page's way to an item's ping URL is `ping.url` itself,
//! behind the token like every other read, and the path it gives is the one the ping routes answer.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;

use crate::{HOST, call, get, json_body, text};

const ROUTE: &str = "/api/v1/handlers/nas/items/docs/ping-url";

#[tokio::test]
async fn an_items_ping_url_is_what_the_daemon_answers_behind_the_token() {
    let (d, _dash, app) = crate::setup().await;
    let mut raw = d.raw().await;
    raw.setup("nas", &["docs", "photos"], json!({})).await;
    let expected = raw.ok("ping.url", json!({"handler": "nas", "item": "docs"})).await;

    let resp = call(&app, get(ROUTE)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store");
    let got = json_body(resp).await;
    assert_eq!(got, expected);
    let uuid = got["uuid"].as_str().expect("uuid");
    assert_eq!(got["path"], format!("/ping/{uuid}"), "{got}");
    let other = json_body(call(&app, get("/api/v1/handlers/nas/items/photos/ping-url")).await).await;
    assert_ne!(other["uuid"], got["uuid"], "each item has its own URL");

    let anonymous = Request::get(ROUTE).header(header::HOST, HOST).body(Body::empty()).unwrap();
    let wrong = Request::get(ROUTE)
        .header(header::HOST, HOST)
        .header(header::AUTHORIZATION, "Bearer 0000")
        .body(Body::empty())
        .unwrap();
    for req in [anonymous, wrong] {
        let resp = call(&app, req).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let body = text(resp).await;
        assert!(body.contains("E_ACCESSDENIED") && !body.contains(uuid), "{body}");
    }

    // The path it gives is a ping route that needs no token, and records a success for this item.
    let ping = Request::get(got["path"].as_str().unwrap()).header(header::HOST, HOST).body(Body::empty()).unwrap();
    let resp = call(&app, ping).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let history = raw.ok("sessions.history", json!({"handler": "nas"})).await;
    let sessions = history["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 1, "{history}");
    assert_eq!(sessions[0]["status"], "succeeded", "{history}");
    assert_eq!(sessions[0]["items"][0]["item"], "docs", "{history}");

    // Uptime Kuma's push URL lives under /api/ and still needs no token (only a ping UUID).
    let push = format!("/api/push/{uuid}?status=down&msg=disk%20full");
    let resp = call(&app, Request::get(push).header(header::HOST, HOST).body(Body::empty()).unwrap()).await;
    assert_eq!(resp.status(), StatusCode::OK, "a push needs no token");
    let history = raw.ok("sessions.history", json!({"handler": "nas"})).await;
    let statuses: Vec<&str> =
        history["sessions"].as_array().expect("sessions").iter().filter_map(|s| s["status"].as_str()).collect();
    assert!(statuses.contains(&"failed"), "status=down is a failure: {history}");
}

#[tokio::test]
async fn an_unknown_item_or_handler_has_no_ping_url() {
    let (d, _dash, app) = crate::setup().await;
    let mut raw = d.raw().await;
    raw.setup("nas", &["docs"], json!({})).await;
    for (path, handler, item) in [
        ("/api/v1/handlers/nas/items/nope/ping-url", "nas", "nope"),
        ("/api/v1/handlers/none/items/docs/ping-url", "none", "docs"),
    ] {
        let (name, hresult) = raw.err("ping.url", json!({"handler": handler, "item": item})).await;
        // The core refuses an unregistered handler or item as an invalid argument, which every route answers 400.
        assert_eq!(name, "E_INVALIDARG", "{path}");
        let resp = call(&app, get(path)).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{path}");
        let body = json_body(resp).await;
        assert_eq!(body["error"]["name"], name.as_str(), "{path}: {body}");
        assert_eq!(body["error"]["hresult"], hresult, "{path}: {body}");
    }
}
