//! The JSON API against the real daemon: registry, control, metrics and the OpenAPI document.

use axum::http::StatusCode;
use serde_json::json;
use synccenter_http::route_table;

use crate::{call, get, json_body, send_json, setup, text};

#[tokio::test]
async fn a_handler_registered_over_the_protocol_is_listed() {
    let (d, _dash, app) = setup().await;
    let mut raw = d.raw().await;
    raw.setup("nas", &["docs", "photos"], json!({})).await;

    let handlers = json_body(call(&app, get("/api/v1/handlers")).await).await;
    let list = handlers["handlers"].as_array().expect("handlers");
    assert!(list.iter().any(|h| h["handler"] == "nas" && h["name"] == "Handler nas"), "{handlers}");

    let items = json_body(call(&app, get("/api/v1/handlers/nas/items")).await).await;
    let ids: Vec<&str> = items["items"].as_array().unwrap().iter().filter_map(|i| i["item"].as_str()).collect();
    assert_eq!(ids.len(), 2, "{items}");
    assert!(ids.contains(&"docs") && ids.contains(&"photos"));

    let status = json_body(call(&app, get("/api/v1/status")).await).await;
    assert!(status["handlers"].as_u64().unwrap() >= 1, "{status}");

    let sessions = json_body(call(&app, get("/api/v1/sessions")).await).await;
    assert!(sessions["sessions"].is_array());
    let events = json_body(call(&app, get("/api/v1/events?handler=nas&level=error,warning")).await).await;
    assert_eq!(events["total"], 0, "{events}");
    let conflicts = json_body(call(&app, get("/api/v1/conflicts")).await).await;
    assert!(conflicts["conflicts"].is_array());
}

#[tokio::test]
async fn daemon_errors_keep_their_hresult() {
    let (_d, _dash, app) = setup().await;
    let resp = call(&app, send_json("POST", "/api/v1/control/enable", &json!({"handler": "", "enable": true}))).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body = json_body(resp).await;
    assert!(body["error"]["hresult"].is_u64() && body["error"]["name"].is_string(), "{body}");

    let resp = call(&app, send_json("POST", "/api/v1/control/enable", &json!({"nonsense": 1}))).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_body(resp).await["error"]["name"], "E_INVALIDARG");

    let resp = call(&app, get("/api/v1/events?level=loud")).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn stop_reaches_the_session_owner_as_a_push() {
    let (d, _dash, app) = setup().await;
    let mut owner = d.raw().await;
    owner.setup("nas", &["docs"], json!({})).await;
    let session = owner.session("nas", &["docs"]).await;

    let resp = call(&app, send_json("POST", "/api/v1/control/stop", &json!({"handler": "nas"}))).await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", text(resp).await);
    let push = owner.next_push_of("session.cancel_requested").await;
    assert_eq!(push["params"]["session"], session.as_str(), "{push}");

    let live = json_body(call(&app, get("/api/v1/sessions")).await).await;
    assert!(live["sessions"].as_array().unwrap().iter().any(|s| s["session"] == session.as_str()));
}

#[tokio::test]
async fn history_and_chart() {
    let (d, _dash, app) = setup().await;
    let mut owner = d.raw().await;
    owner.setup("nas", &["docs"], json!({})).await;
    let session = owner.session("nas", &["docs"]).await;
    owner.ok("session.report_progress", json!({"session": session, "item": "docs", "status": "succeeded"})).await;
    owner.ok("session.end", json!({"session": session})).await;

    let history = json_body(call(&app, get("/api/v1/sessions/history?handler=nas&limit=5")).await).await;
    assert_eq!(history["sessions"].as_array().unwrap().len(), 1, "{history}");

    let chart = json_body(call(&app, get("/api/v1/handlers/nas/history-chart?days=3")).await).await;
    let days = chart["days"].as_array().expect("days");
    assert_eq!(days.len(), 3, "{chart}");
    let total: u64 = days
        .iter()
        .map(|d| d["succeeded"].as_u64().unwrap() + d["failed"].as_u64().unwrap() + d["other"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 1, "{chart}");
    // (Which day holds it depends on the clock; near midnight UTC it may be yesterday.)

    let resp = call(&app, get("/api/v1/handlers/nas/history-chart?days=0")).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn metrics_name_every_family_with_labels() {
    let (d, _dash, app) = setup().await;
    let mut raw = d.raw().await;
    raw.setup("nas", &["docs"], json!({})).await;
    let resp = call(&app, get("/metrics")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let body = text(resp).await;
    for name in [
        "synccenter_handler_last_success_timestamp_seconds",
        "synccenter_item_last_run_duration_seconds",
        "synccenter_errors",
        "synccenter_conflicts",
        "synccenter_live_sessions",
        "synccenter_reports_applied_total",
        "synccenter_item_overdue",
    ] {
        assert!(body.contains(&format!("# TYPE {name} ")), "{name} missing:\n{body}");
        assert!(body.contains(&format!("# HELP {name} ")), "{name} missing:\n{body}");
    }
    assert!(body.contains("synccenter_conflicts{handler=\"nas\"} 0"), "{body}");
    assert!(body.contains("synccenter_errors{handler=\"nas\",item=\"docs\"} 0"), "{body}");
}

#[tokio::test]
async fn the_openapi_document_lists_every_served_route() {
    let (_d, _dash, app) = setup().await;
    let doc = json_body(call(&app, get("/api/v1/openapi.json")).await).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let table = route_table();
    let mut documented = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        documented += ops.as_object().unwrap().len();
        assert!(table.iter().any(|r| r.path == path), "{path} documented but not in the table");
    }
    assert_eq!(documented, table.len());
    for route in &table {
        let op = &doc["paths"][route.path][route.method.to_ascii_lowercase()];
        assert!(op.is_object(), "{} {} is not documented", route.method, route.path);
        for p in route.params {
            assert!(op["parameters"].as_array().unwrap().iter().any(|q| q["name"] == p.name), "{}", route.path);
        }
        if let Some(body) = route.body {
            assert!(doc["components"]["schemas"][body].is_object(), "schema {body}");
        }
        // Served: the router answers this method and path with something other than "no such route".
        let path = route.path.replace("{h}", "nas").replace("{id}", "00000000-0000-0000-0000-000000000000");
        let req = if route.method == "GET" { get(&path) } else { send_json(route.method, &path, &json!({})) };
        let resp = call(&app, req).await;
        assert_ne!(resp.status(), StatusCode::METHOD_NOT_ALLOWED, "{} {path}", route.method);
        if resp.status() == StatusCode::NOT_FOUND {
            let body = text(resp).await;
            assert!(!body.contains("no such route"), "{} {path} is not served: {body}", route.method);
        }
    }
}
