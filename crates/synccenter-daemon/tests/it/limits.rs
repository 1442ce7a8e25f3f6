//! Caps and timeouts that keep one client from starving the others: connections, live sessions per
//! connection and items per session are refused with a clear error that changes nothing, and a client that
//! stalls in the middle of a line (slowloris) is cut off while everyone else is served.

use std::time::Duration;

use serde_json::json;
use synccenter_test_support::{HANG_GUARD, RawConn, TestDaemon};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

#[tokio::test]
async fn a_connection_over_the_cap_gets_a_clear_error_and_the_others_are_served() {
    let d = TestDaemon::start_with(tempfile::tempdir().expect("tempdir"), |c| c.limits.max_connections = 3).await;
    let mut owner = d.raw().await;
    owner.setup("nas", &["docs"], json!({})).await;
    let s = owner.session("nas", &["docs"]).await;
    let mut watcher = d.raw().await;
    watcher.ok("subscribe", json!({})).await;
    let mut third = d.raw().await;

    let mut fourth = RawConn::connect(&d.socket).await;
    let refusal = fourth.read_message_or_eof().await.expect("an error line before the close");
    assert_eq!(refusal["error"]["data"]["name"], "E_OUTOFMEMORY", "{refusal}");
    assert!(refusal["error"]["message"].as_str().is_some_and(|m| m.contains("at most 3")), "{refusal}");
    assert_eq!(fourth.read_message_or_eof().await, None, "then the connection is closed");

    // The three keep working, and a slot freed by a closed connection is taken by the next one.
    assert_eq!(third.ok("status", json!({})).await["connections"], 3);
    drop(owner);
    loop {
        let u = watcher.next_push_of("update").await;
        if u["params"]["type"] == "session_ended" && u["params"]["session"] == s.as_str() {
            break;
        }
    }
    let mut fifth = d.raw().await;
    assert!(fifth.ok("status", json!({})).await.is_object());
}

#[tokio::test]
async fn live_sessions_per_connection_and_items_per_session_are_capped() {
    let d = TestDaemon::start_with(tempfile::tempdir().expect("tempdir"), |c| {
        c.limits.max_sessions_per_connection = 2;
        c.center.max_items_per_session = 2;
    })
    .await;
    let mut a = d.raw().await;
    a.setup("nas", &["docs", "photos", "music"], json!({"capabilities": ["supports_concurrent_sessions"]})).await;
    let first = a.session("nas", &["docs"]).await;
    a.session("nas", &["photos"]).await;
    let r = a.call("session.create", json!({"handler": "nas", "items": ["music"]})).await;
    assert_eq!(r["error"]["data"]["name"], "E_OUTOFMEMORY", "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("live sessions of one connection") && m.contains('2')),
        "{r}"
    );
    assert_eq!(a.ok("sessions.list", json!({})).await["sessions"].as_array().map(Vec::len), Some(2), "nothing changed");
    // Another connection is not affected, and ending a session frees a place.
    let mut b = d.raw().await;
    b.session("nas", &["music"]).await;
    a.ok("session.end", json!({"session": first})).await;
    a.session("nas", &["music"]).await;

    let r = b.call("session.create", json!({"handler": "nas", "items": ["docs", "photos", "music"]})).await;
    assert_eq!(r["error"]["data"]["name"], "E_OUTOFMEMORY", "{r}");
    assert!(r["error"]["message"].as_str().is_some_and(|m| m.contains("items") && m.contains('2')), "{r}");
    assert_eq!(b.ok("sessions.list", json!({})).await["sessions"].as_array().map(Vec::len), Some(3), "nothing changed");
}

#[tokio::test]
async fn a_client_that_stalls_mid_line_is_cut_off_while_others_are_served() {
    let d = TestDaemon::start_with(tempfile::tempdir().expect("tempdir"), |c| {
        c.limits.line_timeout = Duration::from_millis(500);
    })
    .await;
    let mut idle = d.raw().await;
    let mut busy = d.raw().await;
    busy.setup("nas", &["docs"], json!({})).await;
    // The slow client begins a line, then trickles a byte every 100 ms and never finishes it.
    let (slow_read, mut slow_write) =
        synccenter_platform::transport::connect(&d.socket).await.expect("connect").into_split();
    slow_write.write_all(br#"{"jsonrpc":"2.0","id":1,"#).await.expect("write");
    let trickle = tokio::spawn(async move {
        let mut sent = 0;
        while sent < 200 && slow_write.write_all(b" ").await.is_ok() {
            sent += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        sent
    });
    // Meanwhile the others are served.
    for _ in 0..5 {
        let s = busy.session("nas", &["docs"]).await;
        busy.ok("session.end", json!({"session": s})).await;
    }
    let mut slow_read = BufReader::new(slow_read);
    let mut said = String::new();
    tokio::time::timeout(HANG_GUARD, slow_read.read_line(&mut said))
        .await
        .expect("cut off in time")
        .expect("read the error line");
    // Then the close: the end of the stream, or a reset when the daemon closed with trickled bytes still unread
    // (Linux reports that to the peer as ECONNRESET, after the data already sent).
    let mut rest = Vec::new();
    match tokio::time::timeout(HANG_GUARD, slow_read.read_to_end(&mut rest)).await.expect("closed in time") {
        Ok(_) => assert!(rest.is_empty(), "nothing after the error line: {}", String::from_utf8_lossy(&rest)),
        Err(e) => assert!(
            matches!(e.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe),
            "closed, not {e}"
        ),
    }
    trickle.abort();
    let cut: serde_json::Value = serde_json::from_str(said.trim()).expect("one error line");
    assert!(cut["error"]["message"].as_str().is_some_and(|m| m.contains("not finished within 0.5 s")), "{cut}");
    // An idle connection between lines is not a stalled one: it outlived the timeout and still works.
    assert!(idle.ok("status", json!({})).await.is_object());
    assert!(busy.ok("status", json!({})).await.is_object());
}

#[tokio::test]
async fn a_watcher_that_stops_reading_is_disconnected_and_the_others_are_served() {
    let d = TestDaemon::start().await;
    let mut c = d.raw().await;
    c.setup("nas", &["docs"], json!({})).await;
    let s = c.session("nas", &["docs"]).await;
    // A watcher that subscribes and then never reads a byte.
    let mut stalled = synccenter_platform::transport::connect(&d.socket).await.expect("connect");
    stalled.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"subscribe\"}\n").await.expect("subscribe");
    c.ok("status", json!({})).await;
    // Far more updates than its queue (8,192 lines) and the socket's buffer hold: events, sent as
    // notifications so the reporter has no replies to read.
    let description = "x".repeat(200);
    for i in 0..20_000 {
        c.notify(
            "session.report_event",
            json!({"session": s, "level": "info", "name": format!("e{i}"), "description": description}),
        )
        .await;
    }
    assert!(c.ok("status", json!({})).await.is_object(), "the reporter is served throughout");
    // The stalled watcher was cut off: reading now drains what was buffered, then the end.
    let mut all = Vec::new();
    tokio::time::timeout(HANG_GUARD, stalled.read_to_end(&mut all))
        .await
        .expect("the watcher was disconnected")
        .expect("read");
    let updates = all.split(|b| *b == b'\n').filter(|l| l.windows(6).any(|w| w == b"update")).count();
    assert!(updates < 20_000, "the stalled watcher was cut off before it got everything ({updates} updates)");
    let mut other = d.raw().await;
    assert_eq!(other.ok("events.list", json!({"handler": "nas", "limit": 1})).await["total"], 20_000);
}
