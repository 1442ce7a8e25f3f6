//! The daemon on each platform's local transport (a Unix socket here, the named pipe on Windows, where CI runs
//! these under Wine): a session with progress that a watcher sees, a stop from another connection pushed to the
//! owner, an owner process killed outright whose session ends as `owner_lost`, and a peer of a foreign user
//! refused by the transport's check. They use nothing but the protocol and this test binary, so they run
//! unchanged on every platform.

use std::process::Stdio;

use serde_json::{Value, json};
use synccenter_platform::peer::Identity;
use synccenter_test_support::{HANG_GUARD, RawConn, TestDaemon};
use tokio::io::AsyncBufReadExt;

/// The endpoint the owner helper connects to.
const OWNER_ENDPOINT: &str = "SYNCCENTER_TEST_OWNER_ENDPOINT";

/// The next `update` push of type `kind` about `session`.
async fn next_update(watcher: &mut RawConn, kind: &str, session: &str) -> Value {
    loop {
        let u = watcher.next_push_of("update").await;
        if u["params"]["type"] == kind && u["params"]["session"] == session {
            return u["params"].clone();
        }
    }
}

#[tokio::test]
async fn a_session_reports_progress_that_a_watcher_sees() {
    let d = TestDaemon::start().await;
    let mut owner = d.raw().await;
    owner.setup("nas", &["docs", "photos"], json!({})).await;
    let mut watcher = d.raw().await;
    watcher.ok("subscribe", json!({})).await;
    let s = owner.session("nas", &["docs", "photos"]).await;
    let r = owner
        .ok(
            "session.report_progress",
            json!({"session": s, "item": "docs", "status": "updating", "text": "copying", "step": 3, "max_step": 10}),
        )
        .await;
    assert_eq!(r, json!({"cancel": "none"}));
    let progress = next_update(&mut watcher, "progress", &s).await;
    assert_eq!((progress["item"].as_str(), progress["status"].as_str()), (Some("docs"), Some("updating")));
    // Notifications are applied in order, before the request that follows them.
    owner.notify("session.report_progress", json!({"session": s, "item": "docs", "status": "succeeded"})).await;
    owner.notify("session.report_progress", json!({"session": s, "item": "photos", "status": "failed"})).await;
    let end = owner.ok("session.end", json!({"session": s})).await;
    assert_eq!(end, json!({"status": "failed", "errors": 0, "conflicts": 0}));
    let ended = next_update(&mut watcher, "session_ended", &s).await;
    assert_eq!(ended["status"], "failed");
    let status = watcher.ok("status", json!({})).await;
    assert_eq!(status["socket"], d.socket.display().to_string(), "{status}");
}

#[tokio::test]
async fn a_stop_from_another_connection_is_pushed_to_the_owner() {
    let d = TestDaemon::start().await;
    let mut owner = d.raw().await;
    owner.setup("nas", &["docs"], json!({})).await;
    let s = owner.session("nas", &["docs"]).await;
    let waiting = tokio::spawn(async move {
        let push = owner.next_push_of("session.cancel_requested").await;
        (owner, push)
    });
    let mut user = d.raw().await;
    user.ok("control.stop", json!({"handler": "nas"})).await;
    let (mut owner, push) = tokio::time::timeout(HANG_GUARD, waiting).await.expect("no push").expect("task");
    assert_eq!(push["params"], json!({"session": s, "cancel": "cancel_all"}));
    let r = owner.ok("session.report_progress", json!({"session": s, "item": "docs", "status": "canceled"})).await;
    assert_eq!(r["cancel"], "cancel_all");
    assert_eq!(owner.ok("session.end", json!({"session": s})).await["status"], "canceled");
}

/// Not a test: the owner process of `an_owner_killed_outright_ends_its_session`, this test binary run again.
/// It creates a session on the endpoint it is given, prints it and waits to be killed.
#[tokio::test]
#[ignore = "a helper process of an_owner_killed_outright_ends_its_session"]
async fn owner_helper() {
    let Some(endpoint) = std::env::var_os(OWNER_ENDPOINT) else { return };
    let mut c = RawConn::connect(std::path::Path::new(&endpoint)).await;
    c.ok("hello", json!({})).await;
    let s = c.session("nas", &["docs"]).await;
    #[allow(clippy::print_stdout, reason = "the line the test reads")]
    {
        println!("SESSION {s}");
    }
    // Nothing to wait for but the kill.
    std::future::pending::<()>().await;
}

#[tokio::test]
async fn an_owner_killed_outright_ends_its_session() {
    let d = TestDaemon::start().await;
    let mut watcher = d.raw().await;
    watcher.setup("nas", &["docs"], json!({})).await;
    watcher.ok("subscribe", json!({})).await;
    let mut child = tokio::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "transport::owner_helper", "--ignored", "--nocapture", "--test-threads=1"])
        .env(OWNER_ENDPOINT, &d.socket)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run the owner");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let session = loop {
        let line = tokio::time::timeout(HANG_GUARD, lines.next_line()).await.expect("owner started").expect("read");
        let line = line.expect("the owner printed its session");
        // libtest prints the test's name on the same line first.
        if let Some((_, s)) = line.split_once("SESSION ") {
            break s.trim().to_owned();
        }
    };
    // SIGKILL on Unix, TerminateProcess on Windows: the owner gets no chance to say goodbye.
    child.start_kill().expect("kill the owner");
    let end = next_update(&mut watcher, "session_ended", &session).await;
    assert_eq!((end["reason"].as_str(), end["status"].as_str()), (Some("owner_lost"), Some("failed")));
    let events = watcher.ok("events.list", json!({"session": session, "levels": ["warning"]})).await;
    assert!(events["events"][0]["name"].as_str().unwrap_or_default().contains("owner disappeared"), "{events}");
    let _ = child.wait().await;
}

/// A user that is not this process's: the next uid, or a SID of a domain that does not exist.
fn foreign_user() -> Identity {
    match Identity::current().expect("identity") {
        Identity::Uid(uid) => Identity::Uid(uid.wrapping_add(1)),
        Identity::Sid(_) => Identity::Sid("S-1-5-21-1111111111-2222222222-3333333333-4242".parse().expect("sid")),
    }
}

#[tokio::test]
async fn a_peer_of_a_foreign_user_is_refused_by_the_transport() {
    // The socket's permissions and the pipe's security descriptor still name this user, so the connection
    // itself succeeds; the daemon admits only `foreign_user()`, so to it this process is the foreign peer
    // (on Windows: its SID, read from the client process's token, differs).
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = synccenter_platform::transport::endpoint_in(dir.path(), "s");
    let listener = synccenter_daemon::bind(&socket).expect("bind").admitting(foreign_user());
    let d = TestDaemon::start_on(dir, socket, listener, |_| {}).await;
    let mut c = RawConn::connect(&d.socket).await;
    // Nothing is written: the daemon may have closed the connection already, and a write would fail.
    assert_eq!(c.read_message_or_eof().await, None, "a foreign peer must be closed without an answer");
    let err = synccenter_client::Client::connect(&d.socket).await.expect_err("the client must be refused");
    assert!(matches!(err, synccenter_client::ClientError::Disconnected), "{err}");
}
