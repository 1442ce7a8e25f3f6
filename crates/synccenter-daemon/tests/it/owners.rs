//! Owners that disappear: a closed connection and a process killed with SIGKILL end their sessions at once,
//! every unfinished item failed and a warning event saying why; a peer of another user is refused.

use std::process::Stdio;

use serde_json::{Value, json};
use synccenter_test_support::{HANG_GUARD, RawConn, TestDaemon};
use tokio::io::AsyncBufReadExt;

async fn wait_for_end(watcher: &mut RawConn, session: &str) -> Value {
    loop {
        let u = watcher.next_push_of("update").await;
        if u["params"]["type"] == "session_ended" && u["params"]["session"] == session {
            return u["params"].clone();
        }
    }
}

async fn assert_ended_as_lost(watcher: &mut RawConn, session: &str) {
    let history = watcher.ok("sessions.history", json!({})).await;
    let record = history["sessions"].as_array().expect("sessions").iter().find(|r| r["session"] == session).cloned();
    let record = record.expect("the session is in history");
    assert_eq!(record["end_reason"], "owner_lost");
    assert_eq!(record["items"][0]["status"], "failed");
    let events = watcher.ok("events.list", json!({"session": session, "levels": ["warning"]})).await;
    assert_eq!(events["total"], 1, "{events}");
    assert!(events["events"][0]["name"].as_str().unwrap_or_default().contains("owner disappeared"));
}

#[tokio::test]
async fn a_closed_connection_ends_its_sessions() {
    let d = TestDaemon::start().await;
    let mut owner = d.raw().await;
    owner.setup("nas", &["docs"], json!({})).await;
    let s = owner.session("nas", &["docs"]).await;
    let mut watcher = d.raw().await;
    watcher.ok("subscribe", json!({})).await;
    drop(owner);
    let end = wait_for_end(&mut watcher, &s).await;
    assert_eq!((end["reason"].as_str(), end["status"].as_str()), (Some("owner_lost"), Some("failed")));
    assert_ended_as_lost(&mut watcher, &s).await;
}

const PYTHON_OWNER: &str = r#"
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
def call(i, m, p):
    f.write(json.dumps({"jsonrpc": "2.0", "id": i, "method": m, "params": p}) + "\n"); f.flush()
    return json.loads(f.readline())
call(1, "hello", {})
r = call(2, "session.create", {"handler": "nas", "items": ["docs"]})
print(r["result"]["session"], flush=True)
time.sleep(3600)
"#;

#[tokio::test]
async fn an_owner_killed_with_sigkill_ends_its_session_at_once() {
    let d = TestDaemon::start().await;
    let mut watcher = d.raw().await;
    watcher.setup("nas", &["docs"], json!({})).await;
    watcher.ok("subscribe", json!({})).await;
    let mut child = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(PYTHON_OWNER)
        .arg(&d.socket)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 is needed for this test");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let session = tokio::time::timeout(HANG_GUARD, lines.next_line()).await.expect("owner started").expect("read");
    let session = session.expect("the owner printed its session");
    child.start_kill().expect("SIGKILL");
    let end = wait_for_end(&mut watcher, &session).await;
    assert_eq!(end["reason"], "owner_lost");
    assert_ended_as_lost(&mut watcher, &session).await;
    let _ = child.wait().await;
}

const PYTHON_PEER: &str = r#"
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
try:
    s.sendall((json.dumps({"jsonrpc": "2.0", "id": 1, "method": "status"}) + "\n").encode())
    data = s.recv(4096)
except (ConnectionResetError, BrokenPipeError):
    data = b""
print("REPLY " + data.decode() if data else "CLOSED")
"#;

#[tokio::test]
async fn a_peer_of_another_user_is_refused_even_with_the_socket_opened_up() {
    use std::os::unix::fs::PermissionsExt;
    if !rustix::process::getuid().is_root() {
        // Needs root to act as a second user; CI runs as root, so it runs there.
        assert!(std::env::var_os("CI").is_none(), "CI must run this test as root");
        return;
    }
    let d = TestDaemon::start().await;
    // Loosen everything so only the peer check stands between the other user and the daemon.
    for dir in [d.dir(), d.socket.parent().expect("dir")] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
    }
    std::fs::set_permissions(&d.socket, std::fs::Permissions::from_mode(0o777)).expect("chmod socket");
    let out = tokio::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", PYTHON_PEER])
        .arg(&d.socket)
        .output();
    let out = tokio::time::timeout(HANG_GUARD, out).await.expect("peer finished").expect("setpriv and python3 run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.trim(), "CLOSED", "stdout {stdout:?}, stderr {:?}", String::from_utf8_lossy(&out.stderr));
    // Our own user is still served.
    let mut c = d.raw().await;
    assert!(c.ok("status", json!({})).await.is_object());
}
