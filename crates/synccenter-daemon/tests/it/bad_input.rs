//! Malformed input of every kind: each gets a JSON-RPC error carrying the spec's HRESULT, nothing changes,
//! and the same connection and the daemon go on serving a well-formed session. A JSON array is never a
//! message (serde would read it as fields in order), and a required string left out is `E_POINTER`.

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

/// A connection whose handler `nas` has a live session over `docs` at step 1 of 5; the session and the
/// observable state.
async fn session_at_step_one(d: &TestDaemon) -> (RawConn, String, Value) {
    let mut c = d.raw().await;
    c.setup("nas", &["docs"], json!({})).await;
    let s = c.session("nas", &["docs"]).await;
    c.ok(
        "session.report_progress",
        json!({"session": s, "item": "docs", "status": "updating", "step": 1, "max_step": 5}),
    )
    .await;
    let before = observable_state(&mut c).await;
    (c, s, before)
}

#[tokio::test]
async fn every_kind_of_bad_message_is_refused_and_changes_nothing() {
    let d = TestDaemon::start().await;
    let (mut c, s, before) = session_at_step_one(&d).await;
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

/// Sends a line that is not a single message and returns the one reply it gets.
async fn refused_line(c: &mut RawConn, line: &str) -> Value {
    c.send_line(line).await;
    let reply = c.read_message().await;
    assert_eq!(reply["id"], Value::Null, "{line} -> {reply}");
    assert_eq!(reply["error"]["data"]["name"], "E_INVALIDARG", "{line} -> {reply}");
    reply
}

#[tokio::test]
async fn a_json_array_is_refused_whole_with_a_null_id_and_changes_nothing() {
    let d = TestDaemon::start().await;
    let (mut c, s, before) = session_at_step_one(&d).await;
    let report = json!({"session": s, "item": "docs", "status": "updating", "step": 2, "max_step": 5});
    let lines = [
        // A request and a progress notification written as arrays of their fields in order.
        json!(["2.0", 97, "handler.register", {"handler": "arr", "name": "x"}]).to_string(),
        json!(["2.0", "session.report_progress", report]).to_string(),
        // An array whose second element could pass for the ID of a pending request.
        "[1, 2, 3]".to_owned(),
        // JSON-RPC batches, empty and not.
        "[]".to_owned(),
        json!([{"jsonrpc": "2.0", "id": 5, "method": "status"}]).to_string(),
    ];
    for line in &lines {
        assert_eq!(refused_line(&mut c, line).await["error"]["code"], -32600, "{line}");
    }
    // A progress notification whose parameters are an array of their fields: refused.
    let positional = json!([s, "docs", "updating", null, 3, 5]);
    let line = json!({"jsonrpc": "2.0", "method": "session.report_progress", "params": positional}).to_string();
    c.send_line(&line).await;
    assert_eq!(c.read_message().await["error"]["message"], "\"params\" must be an object");
    assert_eq!(current_step(&mut c).await, 1);
    assert_eq!(c.err("item.list", json!({"handler": "arr"})).await.0, "E_INVALIDARG", "no handler was registered");
    assert_eq!(observable_state(&mut c).await, before, "an array changed the observable state");
    // Each array got exactly one reply: the next one is this request's.
    assert_eq!(c.ok("status", json!({})).await["handlers"], 1);
}

#[tokio::test]
async fn a_required_string_left_out_or_null_is_a_null_pointer() {
    let d = TestDaemon::start().await;
    let (mut c, s, before) = session_at_step_one(&d).await;
    let cases = [
        ("session.create", json!({"items": ["docs"]})),
        ("session.create", json!({"handler": null, "items": ["docs"]})),
        ("session.report_progress", json!({"session": s, "status": "updating", "step": 2})),
        ("session.report_progress", json!({"item": "docs", "status": "updating", "step": 2})),
        ("session.add_item", json!({"session": s})),
        ("session.add_item", json!({"session": s, "item": null})),
        ("session.propose_item", json!({"session": s, "item": {"name": "Music"}})),
        ("item.register", json!({"handler": "nas", "name": "Nameless"})),
        ("handler.register", json!({"name": "No ID"})),
        ("session.end", json!({})),
    ];
    for (method, params) in cases {
        let reply = c.call(method, params.clone()).await;
        let error = &reply["error"];
        assert_eq!(
            (error["code"].as_i64(), error["data"]["name"].as_str()),
            (Some(-32602), Some("E_POINTER")),
            "{method} {params} -> {reply}"
        );
        assert_eq!(error["data"]["hresult"], 0x8000_4003u32, "{reply}");
    }
    // No parameters at all; a required list (not a pointer); the same report as a notification.
    c.send_line(&json!({"jsonrpc": "2.0", "id": 1, "method": "session.create"}).to_string()).await;
    assert_eq!(c.read_message().await["error"]["data"]["name"], "E_POINTER");
    assert_eq!(c.err("session.create", json!({"handler": "nas"})).await.0, "E_INVALIDARG");
    c.notify("session.report_progress", json!({"session": s, "status": "updating", "step": 3})).await;
    assert_eq!(current_step(&mut c).await, 1);
    assert_eq!(observable_state(&mut c).await, before, "a refused call changed the observable state");
}
