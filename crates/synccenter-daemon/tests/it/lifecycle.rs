//! The daemon's life: a private socket, one daemon per socket, stale sockets (Unix; the pipe's equivalents are
//! in `transport` and the platform crate), a graceful stop that ends live sessions and flushes the store, and a
//! restart that finds everything.

use serde_json::json;
use synccenter_test_support::TestDaemon;

#[cfg(unix)]
#[tokio::test]
async fn the_socket_is_private_and_a_second_daemon_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let d = TestDaemon::start().await;
    let dir_mode = std::fs::metadata(d.socket.parent().expect("dir")).expect("dir").permissions().mode() & 0o777;
    let sock_mode = std::fs::metadata(&d.socket).expect("socket").permissions().mode() & 0o777;
    assert_eq!((dir_mode, sock_mode), (0o700, 0o600));
    let err = synccenter_daemon::bind(&d.socket).expect_err("a second daemon must be refused");
    assert!(matches!(err, synccenter_daemon::SocketError::AlreadyRunning(_)), "{err}");
    assert!(err.to_string().contains("already serving"), "{err}");
    // The running daemon is unharmed.
    let mut c = d.raw().await;
    assert!(c.ok("status", json!({})).await.is_object());
}

#[cfg(unix)]
#[tokio::test]
async fn a_stale_socket_is_removed_and_an_unsafe_directory_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let run = dir.path().join("run");
    std::fs::create_dir(&run).expect("mkdir");
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let path = run.join("s.sock");
    drop(std::os::unix::net::UnixListener::bind(&path).expect("bind"));
    assert!(path.exists(), "a dead listener leaves its socket file behind");
    drop(synccenter_daemon::bind(&path).expect("a stale socket is replaced"));

    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let err = synccenter_daemon::bind(&path).expect_err("group/other access must be refused");
    assert!(err.to_string().contains("other users must have no access"), "{err}");

    let long = dir.path().join("x".repeat(120)).join("s.sock");
    assert!(matches!(synccenter_daemon::bind(&long), Err(synccenter_daemon::SocketError::PathTooLong { .. })));
}

#[tokio::test]
async fn a_graceful_stop_ends_live_sessions_and_a_restart_finds_everything() {
    let d = TestDaemon::start().await;
    let mut c = d.raw().await;
    c.setup("nas", &["docs", "photos"], json!({})).await;
    let s = c.session("nas", &["docs", "photos"]).await;
    c.ok("session.report_progress", json!({"session": s, "item": "docs", "status": "succeeded"})).await;
    c.notify(
        "session.report_progress",
        json!({"session": s, "item": "photos", "status": "updating", "step": 4, "max_step": 9}),
    )
    .await;
    let ev = c
        .ok(
            "session.report_event",
            json!({"session": s, "item": "photos", "level": "error", "name": "n", "description": "d"}),
        )
        .await;
    // The owner stays connected through the stop: a connection that closes first ends its sessions itself
    // (`owner_lost`), and the daemon may see that close before the stop.
    let dir = d.stop().await;
    drop(c);

    let d = TestDaemon::start_in(dir).await;
    let mut c = d.raw().await;
    assert_eq!(c.ok("sessions.list", json!({})).await["sessions"], json!([]));
    let history = c.ok("sessions.history", json!({})).await;
    let record = &history["sessions"][0];
    assert_eq!(record["session"], s.as_str());
    assert_eq!(record["end_reason"], "daemon_stopped");
    assert_eq!(record["status"], "failed");
    assert_eq!(record["items"][0]["status"], "succeeded");
    assert_eq!(record["items"][1]["status"], "failed");
    let events = c.ok("events.list", json!({"handler": "nas"})).await;
    assert_eq!(events["total"], 2, "{events}");
    assert!(events["events"].as_array().expect("events").iter().any(|e| e["event"] == ev["event"]));
    let warning = events["events"].as_array().expect("events").iter().find(|e| e["level"] == "warning").cloned();
    let warning = warning.expect("a warning event explains the interruption");
    assert!(warning["description"].as_str().unwrap_or_default().contains(&s), "{warning}");
    // The registry survived too, with the error count.
    let handlers = c.ok("handler.list", json!({})).await;
    assert_eq!(handlers["handlers"][0]["error_count"], 1);
    assert!(handlers["handlers"][0]["last_sync"].is_string(), "docs succeeded, so the handler has a last sync");
}

#[tokio::test]
async fn a_detached_session_outlives_its_connection_and_ends_when_its_lease_runs_out() {
    let d = TestDaemon::start().await;
    let mut c = d.raw().await;
    c.setup("nas", &["docs"], json!({})).await;
    let s = c
        .ok("session.create", json!({"handler": "nas", "items": ["docs"], "detach": true, "lease_seconds": 1}))
        .await["session"]
        .as_str()
        .expect("id")
        .to_owned();
    drop(c);
    let mut watcher = d.raw().await;
    let snapshot = watcher.ok("subscribe", json!({})).await;
    if snapshot["sessions"].as_array().is_some_and(|v| !v.is_empty()) {
        assert_eq!(snapshot["sessions"][0]["session"], s.as_str(), "the detached session survived its connection");
        loop {
            let u = watcher.next_push_of("update").await;
            if u["params"]["type"] == "session_ended" {
                assert_eq!(u["params"]["reason"], "lease_expired");
                break;
            }
        }
    }
    let history = watcher.ok("sessions.history", json!({})).await;
    assert_eq!(history["sessions"][0]["end_reason"], "lease_expired", "{history}");
}

#[tokio::test]
async fn a_pause_survives_a_restart_until_resumed() {
    let d = TestDaemon::start().await;
    let mut c = d.raw().await;
    c.setup("nas", &["docs"], json!({})).await;
    c.ok("control.pause", json!({"handler": "nas", "until": "2099-01-01T00:00:00Z"})).await;
    drop(c);
    let d = TestDaemon::start_in(d.stop().await).await;
    let mut c = d.raw().await;
    let h = c.ok("handler.list", json!({})).await;
    assert_eq!(h["handlers"][0]["paused"], true, "{h}");
    assert_eq!(h["handlers"][0]["paused_until"], "2099-01-01T00:00:00.000000Z");
    let status = c.ok("status", json!({})).await;
    assert_eq!(status["paused"], json!([{"handler": "nas", "until": "2099-01-01T00:00:00.000000Z"}]), "{status}");
    assert_eq!(c.err("session.create", json!({"handler": "nas", "items": ["docs"]})).await.0, "ERROR_NOT_READY");
    assert_eq!(
        c.err("control.pause", json!({"handler": "nas", "until": "2000-01-01T00:00:00Z"})).await.0,
        "E_INVALIDARG"
    );
    c.ok("control.resume", json!({})).await;
    assert_eq!(c.ok("handler.list", json!({})).await["handlers"][0]["paused"], false);
    c.session("nas", &["docs"]).await;
}
