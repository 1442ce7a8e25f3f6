//! `GET /api/v1/sessions/{id}/log`: a command run's log, as `logs.read` gives it, behind the token.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;
use synccenter_http::Dashboard;
use synccenter_test_support::TestDaemon;

use crate::{HOST, call, config, get, json_body, text};

const CONFIG: &str = r#"[[handler]]
id = "job"
name = "Job"

[[handler.item]]
id = "two words"
name = "Two words"
kind = "script"
command = ["sh", "-c", "echo printed; echo complained >&2; exit 1"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runs_log_is_what_logs_read_answers_behind_the_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, CONFIG).expect("write config.toml");
    let d = TestDaemon::start_with(dir, |cfg| cfg.config_file = Some(path)).await;
    let dash = Dashboard::connect(config(&d)).await.expect("dashboard connects");
    let app = dash.app();
    let mut raw = d.raw().await;
    raw.ok("subscribe", json!({})).await;
    raw.ok("control.start", json!({"handler": "job"})).await;
    let session = loop {
        let u = raw.next_push_of("update").await["params"].clone();
        if u["type"] == "session_ended" {
            break u["session"].as_str().expect("a session").to_owned();
        }
    };
    let expected = raw.ok("logs.read", json!({"session": session, "item": "two words"})).await;
    assert_eq!(expected["complete"], true, "{expected}");
    let log = expected["text"].as_str().expect("text");
    assert!(log.contains(" out two words\tprinted\n") && log.contains(" err two words\tcomplained\n"), "{log}");

    let route = format!("/api/v1/sessions/{session}/log?item=two%20words");
    let resp = call(&app, get(&route)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(json_body(resp).await, expected);
    let whole = json_body(call(&app, get(&format!("/api/v1/sessions/{session}/log?offset=0"))).await).await;
    assert_eq!(whole["text"], expected["text"], "one item: the whole log is that item's");

    let anonymous = Request::get(&route).header(header::HOST, HOST).body(Body::empty()).unwrap();
    let resp = call(&app, anonymous).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body = text(resp).await;
    assert!(body.contains("E_ACCESSDENIED") && !body.contains("printed"), "{body}");

    let unknown = call(&app, get("/api/v1/sessions/0190f1f0-0000-7000-8000-000000000001/log")).await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert!(text(unknown).await.contains("has no log"));
}
