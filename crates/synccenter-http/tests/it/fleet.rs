//! `GET /api/v1/fleet` and the `host` of control bodies, against a daemon on its own SQLite store: a fleet of
//! one, which refuses another host's name with `E_INVALIDARG`.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::{call, get, json_body, send_json, setup, text};

#[tokio::test]
async fn a_daemon_on_sqlite_is_a_fleet_of_one() {
    let (d, _dash, app) = setup().await;
    let mut owner = d.raw().await;
    owner.setup("nas", &["docs"], json!({})).await;
    let session = owner.session("nas", &["docs"]).await;

    let status = json_body(call(&app, get("/api/v1/status")).await).await;
    let me = status["host"].as_str().expect("status.host").to_owned();
    assert!(!me.is_empty(), "{status}");

    let resp = call(&app, get("/api/v1/fleet")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let fleet = json_body(resp).await;
    assert_eq!(fleet["host"], me.as_str(), "{fleet}");
    assert_eq!(fleet["shared"], false, "{fleet}");
    let hosts = fleet["hosts"].as_array().expect("hosts");
    assert_eq!(hosts.len(), 1, "{fleet}");
    assert_eq!(hosts[0]["host"], me.as_str(), "{fleet}");
    assert_eq!(hosts[0]["this_host"], true, "{fleet}");
    assert_eq!(hosts[0]["up"], true, "{fleet}");
    assert!(hosts[0]["seen_at"].is_string() && hosts[0]["started_at"].is_string(), "{fleet}");

    let handlers = fleet["handlers"].as_array().expect("handlers");
    let nas = handlers.iter().find(|h| h["handler"] == "nas").unwrap_or_else(|| panic!("nas missing: {fleet}"));
    assert_eq!(nas["host"], me.as_str(), "{fleet}");
    assert_eq!(nas["name"], "Handler nas", "{fleet}");

    // Only live sessions, each with its host.
    let sessions = fleet["sessions"].as_array().expect("sessions");
    let live = sessions.iter().find(|s| s["session"] == session.as_str()).unwrap_or_else(|| panic!("{fleet}"));
    assert_eq!(live["host"], me.as_str(), "{fleet}");
    assert!(live["ended_at"].is_null(), "{fleet}");
    owner.ok("session.end", json!({"session": session})).await;
    let fleet = json_body(call(&app, get("/api/v1/fleet")).await).await;
    assert_eq!(fleet["sessions"], json!([]), "an ended session is not live: {fleet}");

    let resp = call(&app, get("/api/v1/fleet?include_hidden=maybe")).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

/// The daemon's refusal of a host outside the fleet, as the API answers it.
async fn refused(app: &axum::Router, path: &str, body: Value) -> Value {
    let resp = call(app, send_json("POST", path, &body)).await;
    let status = resp.status();
    let body_text = text(resp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body_text}");
    let err: Value = serde_json::from_str(&body_text).expect("JSON error");
    assert_eq!(err["error"]["name"], "E_INVALIDARG", "{path}: {err}");
    assert!(err["error"]["message"].as_str().unwrap_or_default().contains("elsewhere"), "{path}: {err}");
    err
}

#[tokio::test]
async fn control_bodies_pass_their_host_to_the_daemon() {
    let (d, _dash, app) = setup().await;
    let mut owner = d.raw().await;
    owner.setup("nas", &["docs"], json!({})).await;
    let session = owner.session("nas", &["docs"]).await;

    let err = refused(&app, "/api/v1/control/stop", json!({"host": "elsewhere", "handler": "nas"})).await;
    assert!(err["error"]["message"].as_str().unwrap().contains("not part of a fleet"), "{err}");
    refused(&app, "/api/v1/control/start", json!({"host": "elsewhere", "handler": "nas"})).await;
    refused(&app, "/api/v1/control/enable", json!({"host": "elsewhere", "handler": "nas", "enable": false})).await;
    refused(&app, "/api/v1/control/activate", json!({"host": "elsewhere", "handler": "nas", "activate": false})).await;
    refused(&app, "/api/v1/control/pause", json!({"host": "elsewhere", "handler": "nas"})).await;
    refused(&app, "/api/v1/control/resume", json!({"host": "elsewhere"})).await;
    let conflict = "00000000-0000-0000-0000-000000000000";
    refused(
        &app,
        &format!("/api/v1/conflicts/{conflict}/resolve"),
        json!({"host": "elsewhere", "choice": "keep_recent"}),
    )
    .await;

    // None of them ran here: the session was not asked to stop, and the handler is still enabled.
    let handlers = json_body(call(&app, get("/api/v1/handlers")).await).await;
    let nas = handlers["handlers"].as_array().unwrap().iter().find(|h| h["handler"] == "nas").cloned().unwrap();
    assert_eq!(nas["enabled"], true, "{nas}");
    assert_eq!(nas["paused"], false, "{nas}");

    // This host's own name runs the call here.
    let me = json_body(call(&app, get("/api/v1/status")).await).await["host"].as_str().unwrap().to_owned();
    let resp = call(&app, send_json("POST", "/api/v1/control/stop", &json!({"host": me, "handler": "nas"}))).await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", text(resp).await);
    let push = owner.next_push_of("session.cancel_requested").await;
    assert_eq!(push["params"]["session"], session.as_str(), "{push}");
}
