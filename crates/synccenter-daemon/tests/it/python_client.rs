//! Runs `docs/examples/client.py` (standard-library Python 3) against a real daemon, so the documented client
//! keeps working, and checks through a raw connection that what it reported is in the daemon: the handler,
//! the ended session and the event; likewise `docs/examples/session.sh` through `socat`. It does not test
//! Python or socat: without them the tests fail under CI (`.ci/run` installs both) and are reported
//! `SKIPPED:` elsewhere (`synccenter_test_support::require`).

use std::path::PathBuf;
use std::process::Stdio;

use serde_json::json;
use synccenter_test_support::{HANG_GUARD, TestDaemon, require};

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples/client.py")
}

/// Whether `program` runs (`program ARG` succeeds): missing, it fails the test under CI and reports it
/// `SKIPPED:` elsewhere.
fn runs(program: &str, arg: &str) -> bool {
    let status = std::process::Command::new(program).arg(arg).stdout(Stdio::null()).stderr(Stdio::null()).status();
    let found = match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("`{program} {arg}` failed ({s})")),
        Err(e) => Err(format!("cannot run `{program}`: {e}")),
    };
    require(program, found).is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_python_client_runs_a_session() {
    if !runs("python3", "--version") {
        return;
    }
    let d = TestDaemon::start().await;
    let child = tokio::process::Command::new("python3")
        .arg(script())
        .arg(&d.socket)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn python3");
    let out = tokio::time::timeout(HANG_GUARD, child.wait_with_output())
        .await
        .expect("client.py did not finish within the hang guard")
        .expect("wait for client.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "client.py failed ({}):\n{stdout}\n{stderr}", out.status);
    assert!(stdout.contains("session ended: succeeded"), "{stdout}");

    let mut c = d.raw().await;
    let handlers = c.ok("handler.list", json!({})).await;
    assert_eq!(handlers["handlers"][0]["handler"], "pyexample", "{handlers}");
    let items = c.ok("item.list", json!({"handler": "pyexample"})).await;
    assert_eq!(items["items"].as_array().map(Vec::len), Some(2), "{items}");
    let history = c.ok("sessions.history", json!({"handler": "pyexample"})).await;
    let session = &history["sessions"][0];
    assert_eq!(session["status"], "succeeded", "{history}");
    assert_eq!(session["end_reason"], "ended", "{history}");
    assert!(session["ended_at"].is_string(), "{history}");
    let events = c.ok("events.list", json!({"handler": "pyexample"})).await;
    assert_eq!(events["total"], 1, "{events}");
    assert_eq!(events["events"][0]["name"], "Backup complete", "{events}");
    assert_eq!(events["events"][0]["session"], session["session"], "{events}");
    assert_eq!(c.ok("sessions.list", json!({})).await["sessions"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_socat_session_outlives_its_connections() {
    if !runs("socat", "-V") {
        return;
    }
    let d = TestDaemon::start().await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples/session.sh");
    let child = tokio::process::Command::new("sh")
        .arg(script)
        .arg(&d.socket)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn sh");
    let out = tokio::time::timeout(HANG_GUARD, child.wait_with_output())
        .await
        .expect("session.sh did not finish within the hang guard")
        .expect("wait for session.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "session.sh failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let mut c = d.raw().await;
    let history = c.ok("sessions.history", json!({"handler": "shell"})).await;
    assert_eq!(history["sessions"][0]["status"], "succeeded", "{history}");
    assert_eq!(history["sessions"][0]["end_reason"], "ended", "{history}");
    assert_eq!(history["sessions"][0]["items"][0]["step"], 3, "{history}");
}
