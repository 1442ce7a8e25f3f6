//! Malformed input of every kind: each gets a JSON-RPC error carrying the spec's HRESULT, nothing changes,
//! and the same connection and the daemon go on serving a well-formed session.

use serde_json::{Value, json};
use synccenter_test_support::{RawConn, TestDaemon};

/// Everything a client can observe of the store and the model.
async fn observable_state(c: &mut RawConn) -> Value {
    json!({
        "handlers": c.ok("handler.list", json!({"include_hidden": true})).await,
        "items": c.ok("item.list", json!({"handler": "nas", "include_hidden": true})).await,
        "sessions": c.ok("sessions.list", json!({})).await,
        "history": c.ok("sessions.history", json!({})).await,
        "events": c.ok("events.list", json!({})).await,
        "conflicts": c.ok("conflicts.list", json!({})).await,
    })
}

#[tokio::test]
async fn every_kind_of_bad_message_is_refused_and_changes_nothing() {
    let d = TestDaemon::start().await;
    let mut c = d.raw().await;
    c.setup("nas", &["docs"], json!({})).await;
    let s = c.session("nas", &["docs"]).await;
    c.ok(
        "session.report_progress",
        json!({"session": s, "item": "docs", "status": "updating", "step": 1, "max_step": 5}),
    )
    .await;
    let before = observable_state(&mut c).await;
    let long_id = "h".repeat(64);
    let unknown = "00000000-0000-4000-8000-000000000000";
    let p = |v: Value| v;
    // (raw line, expected HRESULT name); requests carry id 1 so that their reply can be read.
    let cases: Vec<(String, &str)> = vec![
        ("not json".into(), "E_INVALIDARG"),
        ("[]".into(), "E_INVALIDARG"),
        ("42".into(), "E_INVALIDARG"),
        ("\"a string\"".into(), "E_INVALIDARG"),
        ("null".into(), "E_INVALIDARG"),
        ("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"".into(), "E_INVALIDARG"),
        (json!({"jsonrpc": "1.0", "id": 1, "method": "status"}).to_string(), "E_INVALIDARG"),
        (json!({"id": 1, "method": "status"}).to_string(), "E_INVALIDARG"),
        (json!({"jsonrpc": "2.0", "id": 1}).to_string(), "E_INVALIDARG"),
        (json!({"jsonrpc": "2.0", "id": 1, "method": 5}).to_string(), "E_INVALIDARG"),
        (json!({"jsonrpc": "2.0", "id": {"a": 1}, "method": "status"}).to_string(), "E_INVALIDARG"),
        (json!({"jsonrpc": "2.0", "id": 1.5, "method": "status"}).to_string(), "E_INVALIDARG"),
        (json!({"jsonrpc": "2.0", "id": 1, "method": "status", "params": [1]}).to_string(), "E_INVALIDARG"),
        (json!({"jsonrpc": "2.0", "id": 1, "method": "no.such.method"}).to_string(), "E_NOTIMPL"),
        (json!({"jsonrpc": "2.0", "id": 1, "method": "status", "params": {"x": 1}}).to_string(), "E_INVALIDARG"),
    ];
    let mut requests: Vec<(&str, Value, &str)> = vec![
        ("session.create", p(json!({"handler": "nas"})), "E_INVALIDARG"),
        ("session.create", p(json!({"handler": "nas", "items": "docs"})), "E_INVALIDARG"),
        ("session.create", p(json!({"handler": 7, "items": ["docs"]})), "E_INVALIDARG"),
        ("session.create", p(json!({"handler": long_id, "items": ["docs"]})), "E_INVALIDARG"),
        ("session.create", p(json!({"handler": "n\u{1}s", "items": ["docs"]})), "E_INVALIDARG"),
        ("session.create", p(json!({"handler": "nas", "items": []})), "E_INVALIDARG"),
        ("session.create", p(json!({"handler": "nope", "items": ["docs"]})), "E_INVALIDARG"),
        ("session.create", p(json!({"handler": "NAS", "items": ["docs"]})), "E_INVALIDARG"),
        ("session.create", p(json!({"handler": "nas", "items": ["nope"]})), "E_INVALIDARG"),
        ("session.report_progress", p(json!({"session": s, "item": "docs", "status": 0})), "E_INVALIDARG"),
        ("session.report_progress", p(json!({"session": s, "item": "docs", "status": 7})), "E_INVALIDARG"),
        ("session.report_progress", p(json!({"session": s, "item": "docs", "status": "done"})), "E_INVALIDARG"),
        ("session.report_progress", p(json!({"session": s, "item": "docs", "status": 1, "step": -1})), "E_INVALIDARG"),
        (
            "session.report_progress",
            p(json!({"session": s, "item": "docs", "status": 1, "step": 4_294_967_296u64})),
            "E_INVALIDARG",
        ),
        ("session.report_progress", p(json!({"session": "s-1", "item": "docs", "status": 1})), "E_INVALIDARG"),
        ("session.report_progress", p(json!({"session": unknown, "item": "docs", "status": 1})), "E_INVALIDARG"),
        ("session.report_event", p(json!({"session": s, "level": 4, "name": "n", "description": "d"})), "E_INVALIDARG"),
        (
            "session.report_event",
            p(json!({"session": s, "level": "error", "flags": 1, "name": "n", "description": "d"})),
            "E_INVALIDARG",
        ),
        ("session.report_event", p(json!({"session": s, "level": "error", "description": "d"})), "E_POINTER"),
        ("session.set_handler_progress_text", p(json!({"session": s})), "E_POINTER"),
        ("session.can_continue", p(json!({"session": s, "item": "other"})), "E_INVALIDARG"),
        ("session.add_item", p(json!({"session": s, "item": "docs"})), "E_INVALIDARG"),
        ("session.commit_item", p(json!({"session": s, "item": "never"})), "E_INVALIDARG"),
        ("handler.register", p(json!({"handler": "x1", "name": "X", "policies": ["nope"]})), "E_INVALIDARG"),
        ("handler.register", p(json!({"handler": "x2", "name": "  "})), "E_INVALIDARG"),
        ("handler.register", p(json!({"handler": "x3"})), "E_POINTER"),
        ("item.register", p(json!({"handler": "nope", "item": "a", "name": "A"})), "E_INVALIDARG"),
        ("events.list", p(json!({"since": "yesterday"})), "E_INVALIDARG"),
        ("events.list", p(json!({"after": "garbage"})), "E_INVALIDARG"),
        ("events.remove", p(json!({"events": [unknown]})), "E_INVALIDARG"),
        ("conflicts.resolve", p(json!({"conflict": unknown, "choice": "bogus"})), "E_INVALIDARG"),
        ("conflicts.resolve", p(json!({"conflict": unknown, "choice": "keep_recent"})), "E_INVALIDARG"),
        ("control.stop", p(json!({"items": ["docs"]})), "E_INVALIDARG"),
        ("control.start", p(json!({"handler": "nope"})), "E_INVALIDARG"),
        ("control.activate", p(json!({"handler": "nas"})), "E_INVALIDARG"),
    ];
    let total = cases.len() + requests.len() + 2;
    for (line, want) in &cases {
        c.send_line(line).await;
        let reply = c.read_message().await;
        assert_eq!(reply["error"]["data"]["name"], *want, "{line} -> {reply}");
        assert!(reply["error"]["data"]["hresult"].as_u64().is_some(), "{reply}");
        assert!(!reply["error"]["message"].as_str().unwrap_or_default().is_empty(), "{reply}");
    }
    for (method, params, want) in requests.drain(..) {
        let (name, number) = c.err(method, params.clone()).await;
        assert_eq!(name, want, "{method} {params}");
        assert_ne!(number, 0);
    }
    // An over-long line, and invalid UTF-8.
    let mut long = vec![b'x'; synccenter_protocol::MAX_LINE_BYTES + 1];
    long.push(b'\n');
    c.send_bytes(&long).await;
    assert_eq!(c.read_message().await["error"]["data"]["name"], "E_INVALIDARG");
    c.send_bytes(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\xfe\"}\n").await;
    assert_eq!(c.read_message().await["error"]["data"]["name"], "E_INVALIDARG");
    assert!(total >= 30, "only {total} kinds of bad input");

    assert_eq!(observable_state(&mut c).await, before, "bad input changed the observable state");
    // The same connection still runs a well-formed session to its end.
    c.ok(
        "session.report_progress",
        json!({"session": s, "item": "docs", "status": "succeeded", "step": 5, "max_step": 5}),
    )
    .await;
    assert_eq!(c.ok("session.end", json!({"session": s})).await["status"], "succeeded");
    // And the daemon serves a new connection.
    let mut other = d.raw().await;
    assert_eq!(other.ok("status", json!({})).await["handlers"], 1);
}

#[tokio::test]
async fn a_line_of_exactly_the_limit_is_accepted_and_one_more_byte_is_not() {
    let d = TestDaemon::start().await;
    let mut c = d.raw().await;
    let frame = |pad: usize| {
        let mut line = json!({"jsonrpc": "2.0", "id": 7, "method": "status"}).to_string();
        line.insert_str(1, &" ".repeat(pad));
        line
    };
    let base = frame(0).len();
    let exact = frame(synccenter_protocol::MAX_LINE_BYTES - base);
    assert_eq!(exact.len(), synccenter_protocol::MAX_LINE_BYTES);
    c.send_line(&exact).await;
    assert!(c.read_message().await.get("result").is_some());
    c.send_line(&frame(synccenter_protocol::MAX_LINE_BYTES - base + 1)).await;
    assert_eq!(c.read_message().await["error"]["data"]["name"], "E_INVALIDARG");
    assert!(c.ok("status", json!({})).await.is_object());
}

// Ends the burst with a half-close (the end of the stream finishes the unterminated last line); a named pipe
// has no half-close, so this is Unix only.
#[cfg(unix)]
#[tokio::test]
async fn a_burst_written_at_once_is_applied_in_order_with_its_bad_lines_answered() {
    let d = TestDaemon::start().await;
    let mut c = d.raw().await;
    c.setup("nas", &["docs"], json!({})).await;
    let s = c.session("nas", &["docs"]).await;
    // More lines than the connection hands the hub at once, in one write, with a bad line in the middle and
    // an unterminated request at the very end of the stream.
    let mut burst = String::new();
    for step in 1..=1000 {
        burst.push_str(
            &json!({"jsonrpc": "2.0", "method": "session.report_progress",
                    "params": {"session": s, "item": "docs", "status": "updating", "step": step, "max_step": 1000}})
            .to_string(),
        );
        burst.push('\n');
        if step == 500 {
            burst.push_str("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\n");
        }
    }
    burst.push_str(&json!({"jsonrpc": "2.0", "id": 6, "method": "sessions.list"}).to_string());
    c.send_bytes(burst.as_bytes()).await;
    c.close_write().await;
    assert_eq!(c.read_message().await["error"]["code"], -32700, "the bad line is answered");
    let list = c.read_message().await;
    assert_eq!(list["id"], 6, "{list}");
    let item = &list["result"]["sessions"][0]["items"][0];
    assert_eq!((item["item"].as_str(), item["step"].as_u64()), (Some("docs"), Some(1000)), "{list}");
}

#[tokio::test]
async fn progress_notifications_off_the_common_shape_are_read_like_any_other_message() {
    let d = TestDaemon::start().await;
    let mut c = d.raw().await;
    c.setup("nas", &["docs"], json!({})).await;
    let s = c.session("nas", &["docs"]).await;
    let report = |extra: &str, step: u32| {
        format!(
            "{{\"jsonrpc\":\"2.0\",\"method\":\"session.report\\u005fprogress\",\"params\":{{\"session\":\"{s}\",\"item\":\"docs\",\"status\":\"updating\",\"step\":{step},\"max_step\":100{extra}}}}}"
        )
    };
    // An escaped method name, an extra top-level field, and parameters with an unknown field (refused, so
    // the step stays).
    c.send_line(&report("", 7)).await;
    assert_eq!(current_step(&mut c).await, 7);
    let extra = format!(
        "{{\"jsonrpc\":\"2.0\",\"x\":1,\"method\":\"session.report_progress\",\"params\":{{\"session\":\"{s}\",\"item\":\"docs\",\"status\":\"updating\",\"step\":8,\"max_step\":100}}}}"
    );
    c.send_line(&extra).await;
    assert_eq!(current_step(&mut c).await, 8);
    c.send_line(&report(",\"unknown\":true", 9)).await;
    assert_eq!(current_step(&mut c).await, 8);
}

async fn current_step(c: &mut RawConn) -> u64 {
    let list = c.ok("sessions.list", json!({})).await;
    list["sessions"][0]["items"][0]["step"].as_u64().expect("step")
}
