//! The `synccenter` binary against a real daemon running in the test process: every verb as a script would use
//! it, with its exit code and its `--json` output. Waits are on process exits, pushes and output lines; the
//! hang guard only stops a test that would otherwise hang.

// The crash loop kills the daemon process with SIGKILL at random moments: Unix only.
#[cfg(unix)]
mod crash;
// Run conditions against python3-dbusmock's upower and networkmanager on a private stand-in system bus.
#[cfg(unix)]
mod conditions;
mod db;
// `synccenter desktop` on a private dbus-daemon, driven by the real kioclient5 (Linux packages).
#[cfg(unix)]
mod desktop;
// synccenter's sessions published to a stand-in of Plasma's job view server on a private dbus-daemon.
#[cfg(unix)]
mod desktop_plasma;
// `synccenter desktop`'s sleep inhibitor (dbusmock's logind on a private stand-in system bus) and dock.
#[cfg(unix)]
mod desktop_surfaces;
// `synccenter desktop`'s tray icon and its menu, registered with a stand-in watcher on a private dbus-daemon.
#[cfg(unix)]
mod desktop_tray;
// `synccenter desktop`'s notifications on a private dbus-daemon: python3-dbusmock's notification daemon, dunst.
#[cfg(unix)]
mod notifications;
// Shell scripts, /dev/urandom and file modes.
#[cfg(unix)]
mod logs;
// systemd-notify, Python's sdnotify and FIFOs: sd_notify is supported on Linux only.
#[cfg(unix)]
mod notify;
// The dashboard's ping endpoint, driven by Debian's curl and borgmatic (Linux programs: not under Wine).
#[cfg(unix)]
mod ping;
#[cfg(unix)]
mod private_bus;
mod run_anywhere;
#[cfg(unix)]
mod seeded;
// The service definitions in contrib/, started as their service manager would and stopped with SIGTERM.
#[cfg(unix)]
mod services;

#[cfg(unix)]
use std::path::Path;
use std::process::{Output, Stdio};

use serde_json::{Value, json};
use synccenter_test_support::{HANG_GUARD, TestDaemon};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, Command};

// A private PostgreSQL server per test (`initdb`, `pg_ctl`): Unix only.
#[cfg(unix)]
mod fleet;
#[cfg(unix)]
mod fleet_outage;

const BIN: &str = env!("CARGO_BIN_EXE_synccenter");

/// The `synccenter` binary, without the machine's session bus: a daemon started by a test must never start
/// `synccenter desktop` on the person's own bus (the desktop tests give it a private one explicitly). Nor its
/// system bus: a desktop started by a test must never take the machine's sleep inhibitor.
fn bin() -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("DBUS_SESSION_BUS_ADDRESS");
    c.env("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/synccenter-tests-have-no-system-bus");
    c
}

fn command(d: &TestDaemon, args: &[&str]) -> Command {
    let mut c = bin();
    c.arg("--socket").arg(&d.socket).args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    c.env_remove("SYNCCENTER_SOCKET").kill_on_drop(true);
    c
}

fn spawn(d: &TestDaemon, args: &[&str]) -> Child {
    command(d, args).spawn().expect("spawn synccenter")
}

async fn finish(child: Child) -> Output {
    tokio::time::timeout(HANG_GUARD, child.wait_with_output()).await.expect("synccenter hung").expect("wait")
}

/// Runs `synccenter --socket … ARGS` to completion.
async fn cli(d: &TestDaemon, args: &[&str]) -> Output {
    finish(spawn(d, args)).await
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs a command that must succeed with `--json` and returns its one document.
async fn cli_json(d: &TestDaemon, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let o = cli(d, &all).await;
    assert_eq!(code(&o), 0, "{args:?}: {}{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert_eq!(text.lines().count(), 1, "one JSON document per command: {text}");
    serde_json::from_str(&text).expect("stdout is JSON")
}

/// Reads the log of a `synccenter daemon` process (its stderr, piped) until it says it is ready; returns the
/// rest of the log.
async fn wait_until_ready(daemon: &mut Child) -> Lines<BufReader<ChildStderr>> {
    let mut log = BufReader::new(daemon.stderr.take().expect("stderr piped")).lines();
    loop {
        let line = tokio::time::timeout(HANG_GUARD, log.next_line()).await.expect("the daemon started").expect("read");
        let line = line.expect("the daemon exited before it was ready");
        if line.contains("synccenter daemon ready") {
            return log;
        }
    }
}

/// Waits for a condition that has no event (a file written by another process).
#[cfg(unix)]
async fn poll_until(mut cond: impl FnMut() -> bool) {
    tokio::time::timeout(HANG_GUARD, async {
        while !cond() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("condition not reached");
}

/// Gone, or a zombie waiting for a reaper that is not ours.
#[cfg(unix)]
fn process_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

#[cfg(unix)]
fn read_pid(path: &Path) -> i32 {
    std::fs::read_to_string(path).expect("pid file").trim().parse().expect("a pid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_json_is_the_daemons_status() {
    let d = TestDaemon::start().await;
    let s = cli_json(&d, &["status"]).await;
    assert_eq!(s["protocol"], 1);
    assert_eq!(s["socket"], d.socket.display().to_string());
    assert_eq!(s["live_sessions"], 0);
    let human = cli(&d, &["status"]).await;
    assert_eq!(code(&human), 0);
    assert!(stdout(&human).contains("live sessions:  0"), "{}", stdout(&human));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_and_items_list_in_tables_and_json() {
    let d = TestDaemon::start().await;
    let mut c = d.raw().await;
    c.setup("nas", &["docs", "photos"], json!({})).await;
    let h = cli_json(&d, &["handlers"]).await;
    assert_eq!(h["handlers"][0]["handler"], "nas");
    assert_eq!(h["handlers"][0]["item_count"], 2);
    let human = cli(&d, &["handlers"]).await;
    let out = stdout(&human);
    assert!(out.starts_with("HANDLER"), "{out}");
    assert!(out.lines().nth(1).is_some_and(|l| l.starts_with("nas") && l.contains("Handler nas")), "{out}");
    let items = cli_json(&d, &["items", "nas"]).await;
    let ids: Vec<&str> = items["items"].as_array().expect("items").iter().filter_map(|i| i["item"].as_str()).collect();
    assert_eq!(ids, ["docs", "photos"]);
    let human = stdout(&cli(&d, &["items", "nas"]).await);
    assert!(human.contains("Item photos"), "{human}");
    // An unknown handler: the daemon's message and HRESULT name, exit 1.
    let o = cli(&d, &["items", "nope"]).await;
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).starts_with("synccenter: ") && stderr(&o).contains("(E_INVALIDARG)"), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_creates_handlers_and_items() {
    let d = TestDaemon::start().await;
    let r = cli_json(&d, &["register", "demo", "--name", "Demo", "--item", "files", "--item", "docs=Documents"]).await;
    assert_eq!(r["handler"]["name"], "Demo");
    assert_eq!(r["items"][1]["name"], "Documents");
    let mut c = d.raw().await;
    let items = c.ok("item.list", json!({"handler": "demo"})).await;
    assert_eq!(items["items"].as_array().map(Vec::len), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_reaches_the_owner_of_the_session() {
    let d = TestDaemon::start().await;
    let mut owner = d.raw().await;
    owner.setup("nas", &["docs", "photos"], json!({})).await;
    let s = owner.session("nas", &["docs", "photos"]).await;
    let o = cli(&d, &["stop", "nas", "docs"]).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let push = owner.next_push_of("session.cancel_requested").await;
    assert_eq!(push["params"], json!({"session": s, "item": "docs", "cancel": "cancel_item"}));
    assert_eq!(cli_json(&d, &["stop", "nas"]).await, json!({}));
    let push = owner.next_push_of("session.cancel_requested").await;
    assert_eq!(push["params"], json!({"session": s, "cancel": "cancel_all"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_wait_reaches_the_serving_handler_and_returns_its_result() {
    let d = TestDaemon::start().await;
    let mut handler = d.raw().await;
    handler.setup("nas", &["docs"], json!({})).await;
    handler.ok("handler.serve", json!({"handler": "nas"})).await;
    let waiting = spawn(&d, &["--json", "start", "nas", "--wait"]);
    let asked = handler.next_push_of("handler.sync_requested").await;
    assert_eq!(asked["params"]["items"], json!(["docs"]));
    let s = handler.session("nas", &["docs"]).await;
    handler.ok("session.report_progress", json!({"session": s, "item": "docs", "status": "succeeded"})).await;
    handler.ok("session.end", json!({"session": s})).await;
    let o = finish(waiting).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(r["results"][0]["status"], "succeeded", "{r}");
    assert_eq!(r["requests"][0], asked["params"]["request"]);
    // Without --wait, only the request IDs.
    let started = cli_json(&d, &["start", "nas"]).await;
    assert_eq!(started["requests"].as_array().map(Vec::len), Some(1), "{started}");
}

// The command is a POSIX shell script: Unix only.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_of_a_succeeding_command_records_a_succeeded_session() {
    let d = TestDaemon::start().await;
    d.raw().await.setup("demo", &["files"], json!({})).await;
    let o = cli(&d, &["run", "demo", "files", "--", "sh", "-c", "echo from-the-command; exit 0"]).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), "from-the-command\n", "the command's stdio is inherited");
    let h = cli_json(&d, &["sessions", "--history", "--handler", "demo"]).await;
    assert_eq!(h["sessions"][0]["status"], "succeeded", "{h}");
    assert_eq!(h["sessions"][0]["items"][0]["status"], "succeeded", "{h}");
}

// The command is a POSIX shell script: Unix only.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_of_a_failing_command_exits_10_with_an_error_event() {
    let d = TestDaemon::start().await;
    d.raw().await.setup("demo", &["files"], json!({})).await;
    let o = cli(&d, &["--json", "run", "demo", "files", "--", "sh", "-c", "exit 3"]).await;
    assert_eq!(code(&o), 10, "{}", stderr(&o));
    let r: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(r["status"], "failed");
    assert_eq!(r["exit_code"], 3);
    assert_eq!(r["errors"], 1);
    let results = cli_json(&d, &["results", "--handler", "demo"]).await;
    let e = &results["events"][0];
    assert_eq!(e["level"], "error", "{results}");
    assert_eq!(e["item"], "files");
    assert!(e["description"].as_str().is_some_and(|s| s.contains("exited with status 3")), "{e}");
}

// Shell, `/proc` and process groups: Unix only (the daemon's `transport` tests stop a whole tree everywhere).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_stopped_from_sync_center_kills_the_process_group() {
    let d = TestDaemon::start().await;
    d.raw().await.setup("demo", &["files"], json!({})).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let script = "sleep 1000 & echo $! > grandchild; echo $$ > pid.tmp; mv pid.tmp pidfile; exec sleep 1000";
    let mut cmd = command(&d, &["run", "demo", "files", "--grace", "5", "--", "sh", "-c", script]);
    cmd.current_dir(dir.path());
    let running = cmd.spawn().expect("spawn");
    let pidfile = dir.path().join("pidfile");
    poll_until(|| pidfile.exists()).await;
    let (pid, grandchild) = (read_pid(&pidfile), read_pid(&dir.path().join("grandchild")));
    let live = cli_json(&d, &["sessions"]).await;
    assert_eq!(live["sessions"][0]["items"][0]["status"], "updating_indeterminate", "{live}");
    let o = cli(&d, &["stop", "demo", "files"]).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = finish(running).await;
    assert_eq!(code(&o), 11, "{}", stderr(&o));
    assert!(process_gone(pid), "the command survived");
    // The grandchild got the same SIGTERM; it may take a moment to be gone.
    poll_until(|| process_gone(grandchild)).await;
    let h = cli_json(&d, &["sessions", "--history"]).await;
    assert_eq!(h["sessions"][0]["status"], "canceled", "{h}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_verbs_span_several_invocations() {
    let d = TestDaemon::start().await;
    d.raw().await.setup("nas", &["docs", "photos"], json!({})).await;
    let created = cli(&d, &["session", "create", "nas", "docs", "photos", "--lease", "120"]).await;
    assert_eq!(code(&created), 0, "{}", stderr(&created));
    let s = stdout(&created).trim().to_owned();
    // The creating invocation has exited; the session is still live.
    let live = cli_json(&d, &["sessions"]).await;
    assert_eq!(live["sessions"][0]["session"], s.as_str(), "{live}");
    let r = cli_json(
        &d,
        &["session", "progress", &s, "docs", "updating", "--text", "copying", "--step", "1", "--max", "2"],
    )
    .await;
    assert_eq!(r, json!({"cancel": "none"}));
    let o = cli(&d, &["session", "progress", &s, "docs", "succeeded"]).await;
    assert_eq!((code(&o), stdout(&o)), (0, "none\n".to_owned()));
    let e = cli_json(
        &d,
        &["session", "event", &s, "--level", "error", "--name", "n", "--description", "d", "--item", "docs"],
    )
    .await;
    assert!(e["event"].is_string());
    // A stop: the next report prints it and exits with the CANCELLED code.
    assert_eq!(code(&cli(&d, &["stop", "nas", "photos"]).await), 0);
    let o = cli(&d, &["session", "progress", &s, "photos", "updating"]).await;
    assert_eq!((code(&o), stdout(&o)), (11, "cancel_item\n".to_owned()));
    assert_eq!(code(&cli(&d, &["session", "progress", &s, "photos", "canceled"]).await), 11);
    let end = cli_json(&d, &["session", "end", &s]).await;
    assert_eq!(end, json!({"status": "canceled", "errors": 1, "conflicts": 0}));
    assert_eq!(cli_json(&d, &["sessions"]).await, json!({"sessions": []}));
}

/// Issue 20: a script reports bytes beyond 32 bits; `sessions` says them in GiB, `--json` keeps the raw numbers
/// and the unit; a unit that does not exist is refused by the command line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_progress_in_bytes_reads_in_gib_and_stays_raw_in_json() {
    let d = TestDaemon::start().await;
    d.raw().await.setup("nas", &["docs"], json!({})).await;
    let created = cli(&d, &["session", "create", "nas", "docs", "--lease", "120"]).await;
    let s = stdout(&created).trim().to_owned();
    let (done, total) = ((3_u64 << 30).to_string(), (8_u64 << 30).to_string());
    let args = ["session", "progress", &s, "docs", "updating", "--unit", "bytes", "--done", &done, "--total", &total];
    assert_eq!(cli_json(&d, &args).await, json!({"cancel": "none"}));
    let table = stdout(&cli(&d, &["sessions"]).await);
    assert!(table.contains("updating 3.0 GiB of 8.0 GiB"), "{table}");
    let live = cli_json(&d, &["sessions"]).await;
    let amount = &live["sessions"][0]["items"][0]["amount"];
    assert_eq!(amount, &json!({"unit": "bytes", "done": 3_u64 << 30, "total": 8_u64 << 30}), "{live}");
    let bad = cli(&d, &["session", "progress", &s, "docs", "updating", "--unit", "liters", "--done", "1"]).await;
    assert_eq!(code(&bad), 2, "{}", stderr(&bad));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_list_show_remove_and_clear() {
    let d = TestDaemon::start().await;
    let mut c = d.raw().await;
    c.setup("nas", &["docs"], json!({})).await;
    let s = c.session("nas", &["docs"]).await;
    let mut ids = Vec::new();
    for level in ["error", "warning", "info"] {
        let r = c
            .ok(
                "session.report_event",
                json!({"session": s, "item": "docs", "level": level, "name": level, "description": "d"}),
            )
            .await;
        ids.push(r["event"].as_str().expect("id").to_owned());
    }
    let all = cli_json(&d, &["results"]).await;
    assert_eq!(all["total"], 3);
    let errors = cli_json(&d, &["results", "--level", "error", "--handler", "nas", "--item", "docs"]).await;
    assert_eq!(errors["events"].as_array().map(Vec::len), Some(1), "{errors}");
    assert_eq!(errors["events"][0]["event"], ids[0].as_str());
    let one = cli_json(&d, &["results", "show", &ids[1]]).await;
    assert_eq!(one["level"], "warning");
    let human = stdout(&cli(&d, &["results", "show", &ids[1]]).await);
    assert!(human.contains("level:        warning"), "{human}");
    assert!(human.contains("item:         Item docs (docs)"), "the item's name beside its ID: {human}");
    let table = stdout(&cli(&d, &["results"]).await);
    assert_eq!(table.matches("Item docs (docs)").count(), 3, "{table}");
    assert_eq!(cli_json(&d, &["results", "rm", &ids[0]]).await, json!({"removed": 1}));
    let o = cli(&d, &["results", "rm", &ids[0]]).await;
    assert_eq!(code(&o), 1, "removing a removed event fails");
    assert_eq!(cli_json(&d, &["results", "clear", "--handler", "nas"]).await, json!({"removed": 2}));
    assert_eq!(cli_json(&d, &["results"]).await["total"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_list_show_and_resolve() {
    let d = TestDaemon::start().await;
    let mut owner = d.raw().await;
    owner.setup("nas", &["docs"], json!({})).await;
    owner.ok("handler.serve", json!({"handler": "nas"})).await;
    let s = owner.session("nas", &["docs"]).await;
    let versions = json!([
        {"location_short": "laptop", "location_full": "/home/u/a.txt", "types": ["updated"]},
        {"location_short": "nas", "location_full": "nas:/a.txt", "types": ["updated"]}
    ]);
    let r = owner
        .ok(
            "session.report_conflict",
            json!({"session": s, "item": "docs", "name": "a.txt", "description": "both changed", "versions": versions, "abilities": ["keep_recent"]}),
        )
        .await;
    let id = r["conflict"].as_str().expect("id").to_owned();
    let list = cli_json(&d, &["conflicts", "--handler", "nas"]).await;
    assert_eq!(list["conflicts"][0]["conflict"], id.as_str(), "{list}");
    let human = stdout(&cli(&d, &["conflicts"]).await);
    assert!(human.contains("a.txt"), "{human}");
    let shown = cli_json(&d, &["conflicts", "show", &id]).await;
    assert_eq!(shown["versions"][1]["location_short"], "nas");
    let human = stdout(&cli(&d, &["conflicts", "show", &id]).await);
    assert!(human.contains("/home/u/a.txt"), "{human}");
    // Keeping both versions needs an ability the conflict lacks: the daemon's refusal, exit 1.
    let o = cli(&d, &["conflicts", "resolve", &id, "--keep", "0", "--keep", "1"]).await;
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("(E_INVALIDARG)"), "{}", stderr(&o));
    let resolved = cli_json(&d, &["conflicts", "resolve", &id, "--keep-recent"]).await;
    assert_eq!(resolved["recorded"], json!([id]));
    let push = owner.next_push_of("conflict.resolution_requested").await;
    assert_eq!(push["params"]["choice"], "keep_recent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_json_streams_from_the_snapshot_until_idle() {
    let d = TestDaemon::start().await;
    let mut c = d.raw().await;
    c.setup("nas", &["docs"], json!({})).await;
    let s = c.session("nas", &["docs"]).await;
    let mut watch = spawn(&d, &["--json", "watch", "--exit-when-idle"]);
    let mut lines = BufReader::new(watch.stdout.take().expect("stdout")).lines();
    let next = async |lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>| {
        let l = tokio::time::timeout(HANG_GUARD, lines.next_line()).await.expect("no line").expect("read");
        l.map(|l| serde_json::from_str::<Value>(&l).expect("a JSON line"))
    };
    let hello = next(&mut lines).await.expect("hello");
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["format_version"], 1);
    assert_eq!(hello["snapshot"]["sessions"][0]["session"], s.as_str());
    c.notify(
        "session.report_progress",
        json!({"session": s, "item": "docs", "status": "updating", "step": 1, "max_step": 2}),
    )
    .await;
    // Progress is published coalesced, so wait for it to show before ending the session.
    let mut kinds = Vec::new();
    while !kinds.iter().any(|k| k == "progress") {
        let line = next(&mut lines).await.expect("an update");
        kinds.push(line["type"].as_str().expect("type").to_owned());
    }
    c.ok("session.report_progress", json!({"session": s, "item": "docs", "status": "succeeded"})).await;
    c.ok("session.end", json!({"session": s})).await;
    while let Some(line) = next(&mut lines).await {
        assert!(line["data"]["seq"].is_u64(), "{line}");
        kinds.push(line["type"].as_str().expect("type").to_owned());
    }
    assert_eq!(kinds.last().map(String::as_str), Some("session_ended"), "{kinds:?}");
    let status = tokio::time::timeout(HANG_GUARD, watch.wait()).await.expect("watch hung").expect("wait");
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_process_serves_the_platforms_endpoint() {
    // `synccenter daemon` as a process on the platform's endpoint (a named pipe on Windows), the CLI against it.
    let dir = tempfile::tempdir().expect("tempdir");
    let endpoint = synccenter_platform::transport::endpoint_in(dir.path(), "s");
    let mut daemon = bin()
        .arg("--socket")
        .arg(&endpoint)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(dir.path().join("config.toml"))
        .args(["--http", "off", "daemon"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the daemon");
    let _log = wait_until_ready(&mut daemon).await;
    let status = bin().arg("--socket").arg(&endpoint).args(["--json", "status"]).output();
    let o = tokio::time::timeout(HANG_GUARD, status).await.expect("status hung").expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(s["socket"], endpoint.display().to_string(), "{s}");
    // A second daemon on the same endpoint is refused.
    let second = bin()
        .arg("--socket")
        .arg(&endpoint)
        .arg("--data-dir")
        .arg(dir.path().join("data2"))
        .args(["--http", "off", "daemon"])
        .output();
    let o = tokio::time::timeout(HANG_GUARD, second).await.expect("second daemon hung").expect("run");
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("already serving"), "{}", stderr(&o));
    daemon.start_kill().expect("kill the daemon");
    let _ = daemon.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_daemon_exits_69_with_a_hint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("none.sock");
    let o = tokio::time::timeout(HANG_GUARD, bin().arg("--socket").arg(&socket).args(["--json", "status"]).output())
        .await
        .expect("hung")
        .expect("run");
    assert_eq!(o.status.code(), Some(69));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.starts_with("synccenter: ") && err.contains("is the daemon running?"), "{err}");
    assert!(o.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2() {
    let d = TestDaemon::start().await;
    assert_eq!(code(&cli(&d, &["conflicts", "resolve", "x"]).await), 2, "a resolution is required");
    assert_eq!(code(&cli(&d, &["run", "demo", "files"]).await), 2, "a command is required");
}

/// The `synccenter` binary with only `--socket`, `--data-dir` and `--config` of a directory, no daemon needed.
#[cfg(unix)]
fn binary(dir: &Path, args: &[&str]) -> Command {
    let mut c = bin();
    c.arg("--socket")
        .arg(dir.join("run/s.sock"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--config")
        .arg(dir.join("config.toml"))
        .args(["--http", "127.0.0.1:0"])
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    c
}

#[cfg(unix)]
const ONE_HANDLER: &str = r#"
[[handler]]
id = "notes"
name = "Notes"

[[handler.item]]
id = "notes"
name = "Notes"
kind = "script"
command = ["true"]
"#;

// SIGHUP and SIGTERM to the daemon process: Unix only.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_process_serves_checks_and_reloads_its_configuration_on_sighup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, ONE_HANDLER).expect("write config");
    let check = binary(dir.path(), &["daemon", "--check-config"]).output().await.expect("run");
    assert_eq!(code(&check), 0, "{}", stdout(&check));
    assert!(stdout(&check).contains("valid (1 handlers, 1 items)"), "{}", stdout(&check));

    let mut daemon = binary(dir.path(), &["daemon"]).stderr(Stdio::null()).spawn().expect("start the daemon");
    let pid = daemon.id().expect("pid") as i32;
    let socket = dir.path().join("run/s.sock");
    poll_until(|| socket.exists()).await;
    let handlers = |dir: &Path| {
        let out = std::process::Command::new(BIN)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .arg("--socket")
            .arg(dir.join("run/s.sock"))
            .args(["handlers", "--json"])
            .output()
            .expect("run");
        serde_json::from_slice::<Value>(&out.stdout).unwrap_or(Value::Null)
    };
    poll_until(|| handlers(dir.path())["handlers"].as_array().is_some_and(|h| h.len() == 1)).await;

    // A broken file is refused at --check-config and by a reload; the daemon keeps the last good one.
    std::fs::write(&config, ONE_HANDLER.replace("command =", "comand =")).expect("write config");
    let check = binary(dir.path(), &["daemon", "--check-config"]).output().await.expect("run");
    assert_eq!(code(&check), 1);
    assert!(stdout(&check).contains("config.toml:10:") && stdout(&check).contains("comand"), "{}", stdout(&check));
    let reload = binary(dir.path(), &["reload"]).output().await.expect("run");
    assert_eq!(code(&reload), 1, "{}", stderr(&reload));
    assert!(stderr(&reload).contains("comand"), "{}", stderr(&reload));

    // A good file with a second handler, applied by SIGHUP.
    let two = format!("{ONE_HANDLER}{}", ONE_HANDLER.replace("\"notes\"", "\"mail\"").replace("\"Notes\"", "\"Mail\""));
    std::fs::write(&config, two).expect("write config");
    rustix::process::kill_process(rustix::process::Pid::from_raw(pid).expect("pid"), rustix::process::Signal::HUP)
        .expect("SIGHUP");
    poll_until(|| handlers(dir.path())["handlers"].as_array().is_some_and(|h| h.len() == 2)).await;

    rustix::process::kill_process(rustix::process::Pid::from_raw(pid).expect("pid"), rustix::process::Signal::TERM)
        .expect("SIGTERM");
    let status = tokio::time::timeout(HANG_GUARD, daemon.wait()).await.expect("the daemon stops").expect("wait");
    assert!(status.success(), "a SIGTERM ends the daemon cleanly: {status}");
    assert!(!socket.exists(), "the socket is removed at exit");
}

/// One raw HTTP/1.1 request; returns the response head and body.
async fn http_get(addr: &str, path: &str, cookie: Option<&str>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect to the dashboard");
    let cookie = cookie.map(|c| format!("Cookie: {c}\r\n")).unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{cookie}Connection: close\r\n\r\n");
    s.write_all(request.as_bytes()).await.expect("write");
    let mut out = String::new();
    tokio::time::timeout(HANG_GUARD, s.read_to_string(&mut out)).await.expect("response").expect("read");
    out
}

/// `synccenter daemon` with only its `--socket`, `--data-dir` and `--config` in `dir`, and `http` (an `--http`
/// flag, or none to take `[daemon] http` of the configuration); returns its output once it exits.
async fn daemon_with_http(dir: &std::path::Path, http: Option<&str>) -> Output {
    let mut c = bin();
    c.arg("--socket")
        .arg(synccenter_platform::transport::endpoint_in(dir, "s"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--config")
        .arg(dir.join("config.toml"));
    if let Some(http) = http {
        c.args(["--http", http]);
    }
    let run = c.arg("daemon").stdin(Stdio::null()).kill_on_drop(true).output();
    tokio::time::timeout(HANG_GUARD, run).await.expect("a refused daemon exits").expect("run")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_loopback_dashboard_address_is_refused_and_the_daemon_does_not_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    for flag in ["0.0.0.0:0", "[::]:0", "192.0.2.1:7420"] {
        let o = daemon_with_http(dir.path(), Some(flag)).await;
        assert_ne!(o.status.code(), Some(0), "--http {flag} must be refused");
        let err = stderr(&o);
        assert!(
            err.contains(&format!("the dashboard listens on loopback only; {flag} is not a loopback address")),
            "--http {flag}: {err}"
        );
        assert!(!err.contains("synccenter daemon ready"), "--http {flag}: the daemon started: {err}");
        // Nothing is left behind: the address is checked before the socket is bound.
        let socket = synccenter_platform::transport::endpoint_in(dir.path(), "s");
        assert!(!socket.exists(), "--http {flag} left {socket:?} behind");
    }
    // The configuration's `[daemon] http` is held to the same rule.
    std::fs::write(dir.path().join("config.toml"), "[daemon]\nhttp = \"0.0.0.0:0\"\n").expect("write config");
    let o = daemon_with_http(dir.path(), None).await;
    assert_ne!(o.status.code(), Some(0), "[daemon] http = 0.0.0.0:0 must be refused");
    assert!(stderr(&o).contains("0.0.0.0:0 is not a loopback address"), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_link_logs_in_once_and_the_api_then_answers() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let d = TestDaemon::start_with(tempfile::tempdir().expect("tempdir"), |c| {
        c.http = Some(std::sync::Arc::new(listener));
    })
    .await;
    let mut raw = d.raw().await;
    raw.setup("nas", &["docs"], json!({})).await;
    let link = cli_json(&d, &["dashboard", "--json"]).await;
    let url = link["url"].as_str().expect("url");
    let addr = link["address"].as_str().expect("address").to_owned();
    let path = url.strip_prefix(&format!("http://{addr}")).expect("the link points at the dashboard");
    let token_file = d.data_dir.join("dashboard.token");
    #[cfg(unix)]
    {
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&token_file).expect("token").permissions());
        assert_eq!(mode & 0o777, 0o600, "the token file is private");
    }
    assert!(token_file.is_file());

    // Without the cookie the API refuses; /login sets it and redirects away from the token.
    assert!(http_get(&addr, "/api/v1/handlers", None).await.starts_with("HTTP/1.1 403"));
    let login = http_get(&addr, path, None).await;
    assert!(login.starts_with("HTTP/1.1 303"), "{login}");
    let cookie_line = login.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie:")).expect("a cookie");
    assert!(cookie_line.contains("HttpOnly") && cookie_line.contains("SameSite=Strict"), "{cookie_line}");
    let cookie = cookie_line.split_once(':').map(|(_, v)| v.trim()).and_then(|v| v.split(';').next()).expect("value");
    let handlers = http_get(&addr, "/api/v1/handlers", Some(cookie)).await;
    assert!(handlers.starts_with("HTTP/1.1 200") && handlers.contains("\"nas\""), "{handlers}");
    let page = http_get(&addr, "/", Some(cookie)).await;
    let header = |name: &str| {
        let head = page.split("\r\n\r\n").next().unwrap_or_default();
        let line = head.lines().find(|l| l.split(':').next().is_some_and(|n| n.trim().eq_ignore_ascii_case(name)));
        line.and_then(|l| l.split_once(':')).map(|(_, v)| v.trim().to_owned())
    };
    assert_eq!(header("x-frame-options").as_deref(), Some("DENY"), "{page}");
    assert_eq!(header("cross-origin-resource-policy").as_deref(), Some("same-origin"), "{page}");
}
