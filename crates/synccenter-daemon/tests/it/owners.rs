//! Owners that disappear or hang: a closed connection, a process killed with SIGKILL and one that forks and
//! exits end their sessions as soon as the last holder of the connection is gone, every unfinished item failed
//! and a warning event saying why; an owner stopped with SIGSTOP is ended by its opt-in lease; a peer of
//! another user is refused.

use std::process::Stdio;

use serde_json::{Value, json};
use synccenter_test_support::{HANG_GUARD, RawConn, TestDaemon, require};
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
    // Needs root to act as a second user; CI runs as root, so it runs there.
    let uid = rustix::process::getuid();
    let root = if uid.is_root() { Ok(()) } else { Err(format!("running as uid {}", uid.as_raw())) };
    if require("root (to act as a second user)", root).is_none() {
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

/// An owner that forks and exits. `argv[2]` says what the child does with the inherited connection:
/// `exec` runs `sleep` (Python's sockets are close-on-exec, so the connection goes with the parent), `keep`
/// sleeps in Python, holding it. Prints the session and the child's pid, then the parent exits.
const PYTHON_FORKER: &str = r#"
import json, os, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
def call(i, m, p):
    f.write(json.dumps({"jsonrpc": "2.0", "id": i, "method": m, "params": p}) + "\n"); f.flush()
    return json.loads(f.readline())
call(1, "hello", {})
session = call(2, "session.create", {"handler": "nas", "items": ["docs"]})["result"]["session"]
pid = os.fork()
if pid == 0:
    # Let go of the test's output pipes, so only the socket is shared.
    devnull = os.open(os.devnull, os.O_RDWR); os.dup2(devnull, 1); os.dup2(devnull, 2)
    if sys.argv[2] == "exec":
        os.execvp("sleep", ["sleep", "3600"])
    time.sleep(3600)
    os._exit(0)
print(session, pid, flush=True)
os._exit(0)
"#;

/// Runs the forker; returns the session and the child's pid once the parent has exited.
async fn fork_and_exit(d: &TestDaemon, mode: &str) -> (String, i32) {
    let out = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(PYTHON_FORKER)
        .arg(&d.socket)
        .arg(mode)
        .stdout(Stdio::piped())
        .output();
    let out = tokio::time::timeout(HANG_GUARD, out).await.expect("the parent exited").expect("python3 runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let (session, pid) = text.trim().split_once(' ').expect("session and pid");
    (session.to_owned(), pid.parse().expect("pid"))
}

fn sigkill(pid: i32) {
    let pid = rustix::process::Pid::from_raw(pid).expect("pid");
    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
}

#[tokio::test]
async fn an_owner_that_forks_and_exits_ends_its_session_when_the_last_holder_of_the_connection_is_gone() {
    let d = TestDaemon::start().await;
    let mut watcher = d.raw().await;
    watcher.setup("nas", &["docs"], json!({"capabilities": ["supports_concurrent_sessions"]})).await;
    watcher.ok("subscribe", json!({})).await;

    // The child execs: the connection closes with the parent, so the session ends at once.
    let (session, child) = fork_and_exit(&d, "exec").await;
    let end = wait_for_end(&mut watcher, &session).await;
    assert_eq!(end["reason"], "owner_lost");
    assert_ended_as_lost(&mut watcher, &session).await;
    sigkill(child);

    // The child keeps the inherited connection: the kernel still has it open, so the session lives on
    // with the process that can still report on it, and ends the moment that process dies.
    let (session, child) = fork_and_exit(&d, "keep").await;
    let live = watcher.ok("sessions.list", json!({})).await;
    assert!(
        live["sessions"].as_array().expect("sessions").iter().any(|s| s["session"] == session.as_str()),
        "the child still holds the connection: {live}"
    );
    sigkill(child);
    let end = wait_for_end(&mut watcher, &session).await;
    assert_eq!(end["reason"], "owner_lost");
    assert_ended_as_lost(&mut watcher, &session).await;
}

const PYTHON_LEASED_OWNER: &str = r#"
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
def call(i, m, p):
    f.write(json.dumps({"jsonrpc": "2.0", "id": i, "method": m, "params": p}) + "\n"); f.flush()
    return json.loads(f.readline())
call(1, "hello", {})
r = call(2, "session.create", {"handler": "nas", "items": ["docs"], "lease_seconds": 1})
print(r["result"]["session"], flush=True)
while True:
    f.write(json.dumps({"jsonrpc": "2.0", "method": "session.report_progress", "params": {"session": r["result"]["session"], "item": "docs", "status": "updating_indeterminate"}}) + "\n"); f.flush()
    time.sleep(0.2)
"#;

#[tokio::test]
async fn an_owner_stopped_with_sigstop_is_ended_by_its_opt_in_lease_with_an_event_saying_why() {
    let d = TestDaemon::start().await;
    let mut watcher = d.raw().await;
    watcher.setup("nas", &["docs"], json!({})).await;
    watcher.ok("subscribe", json!({})).await;
    let mut child = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(PYTHON_LEASED_OWNER)
        .arg(&d.socket)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 is needed for this test");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let session = tokio::time::timeout(HANG_GUARD, lines.next_line()).await.expect("owner started").expect("read");
    let session = session.expect("the owner printed its session");
    // Reporting keeps the lease alive: the session is live while the owner runs.
    let progress = loop {
        let u = watcher.next_push_of("update").await;
        if u["params"]["type"] == "progress" && u["params"]["session"] == session.as_str() {
            break u;
        }
    };
    assert_eq!(progress["params"]["status"], "updating_indeterminate");
    let pid = rustix::process::Pid::from_raw(child.id().expect("pid") as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::STOP).expect("SIGSTOP");

    // Hung, not gone: the connection stays open, and the lease ends the session.
    let end = wait_for_end(&mut watcher, &session).await;
    assert_eq!(end["reason"], "lease_expired");
    let history = watcher.ok("sessions.history", json!({})).await;
    let record = history["sessions"].as_array().expect("sessions").iter().find(|r| r["session"] == session.as_str());
    assert_eq!(record.expect("in history")["end_reason"], "lease_expired");
    let events = watcher.ok("events.list", json!({"session": session, "levels": ["warning"]})).await;
    assert_eq!(events["total"], 1, "{events}");
    assert_eq!(events["events"][0]["name"], "Sync interrupted: owner went silent");
    assert!(events["events"][0]["description"].as_str().is_some_and(|d| d.contains("lease")), "{events}");
    let _ = rustix::process::kill_process(pid, rustix::process::Signal::CONT);
    child.start_kill().expect("SIGKILL");
    let _ = child.wait().await;
}
