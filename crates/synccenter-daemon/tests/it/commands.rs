//! Command handlers end to end: handlers declared in `config.toml` run real rsync, restic, rclone and borg
//! commands and scripts on generated data in the test's temporary directory, through the real daemon.
//!
//! Each test starts a daemon with its own configuration and a subscribed watcher, and waits on what the
//! daemon pushes (`update`s, `control.sync_result`), never on the wall clock. Schedules, retries and
//! freshness use an injected [`ManualClock`]; to prove that a housekeeping tick happened (and issued no run),
//! some configurations carry a *probe*: an item with a freshness bound whose breach the tick reports as a
//! "Sync overdue" event once the test moves the clock past it. The tools are bandwidth-limited so that each
//! run lasts a few seconds and reports progress several times.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use synccenter_core::{Clock, ManualClock, Timestamp};
use synccenter_test_support::{HANG_GUARD, RawConn, TestDaemon, program, require};

/// 2030-01-01T00:00:00Z, where the injected clocks start.
pub(crate) const Y2030: i64 = 1_893_456_000;

/// A handler whose only item has a 30-minute freshness bound and never runs: moving the clock more than
/// 30 minutes past the daemon's start makes the next housekeeping tick report it.
pub(crate) const PROBE: &str = r#"
[[handler]]
id = "tick"
name = "Housekeeping probe"

[[handler.item]]
id = "probe"
name = "Probe"
kind = "script"
command = ["true"]
freshness = "30m"
"#;

/// A running daemon with a configuration, a subscribed watcher and a connection for control calls.
pub(crate) struct Rig {
    pub(crate) daemon: TestDaemon,
    /// Subscribed to the live feed.
    pub(crate) watch: RawConn,
    /// Starts and stops runs; receives their `control.sync_result`.
    pub(crate) ctl: RawConn,
}

/// Writes `config` to `config.toml` in `dir` and starts a daemon on `dir` that reads it, with `clock` when
/// given.
pub(crate) async fn start(dir: tempfile::TempDir, config: &str, clock: Option<&Arc<ManualClock>>) -> Rig {
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config).expect("write config.toml");
    let clock: Option<Arc<dyn Clock>> = clock.map(|c| c.clone() as Arc<dyn Clock>);
    let daemon = TestDaemon::start_with(dir, |cfg| {
        cfg.config_file = Some(path);
        cfg.clock = clock;
    })
    .await;
    let mut watch = daemon.raw().await;
    watch.ok("subscribe", json!({})).await;
    let ctl = daemon.raw().await;
    Rig { daemon, watch, ctl }
}

pub(crate) fn manual_clock(unix_seconds: i64) -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Timestamp::from_micros(unix_seconds * 1_000_000)))
}

/// A TOML basic string (JSON string escapes are valid TOML).
pub(crate) fn q(s: impl AsRef<str>) -> String {
    Value::from(s.as_ref()).to_string()
}

/// A TOML array of strings.
pub(crate) fn arr(items: &[&str]) -> String {
    format!("[{}]", items.iter().map(q).collect::<Vec<_>>().join(", "))
}

pub(crate) fn path_str(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

/// One `[[handler]]` with one `[[handler.item]]`; `extra` lines go into the item.
pub(crate) fn handler_toml(handler: &str, item: &str, kind: &str, command: &[&str], extra: &str) -> String {
    format!(
        "[[handler]]\nid = {h}\nname = {h}\n\n[[handler.item]]\nid = {i}\nname = {i}\nkind = {k}\ncommand = {c}\n{extra}\n",
        h = q(handler),
        i = q(item),
        k = q(kind),
        c = arr(command),
    )
}

/// Whether `tool` is on `PATH`: a missing tool fails the test under CI and reports it `SKIPPED:` elsewhere.
fn have(tool: &str) -> bool {
    require(tool, program(tool)).is_some()
}

/// Writes `files` files of `size` pseudo-random (incompressible) bytes under `root`, half of them in a
/// subdirectory.
fn generate_tree(root: &Path, files: usize, size: usize, seed: u64) {
    std::fs::create_dir_all(root.join("sub")).expect("mkdir");
    let mut x = seed | 1;
    for n in 0..files {
        let mut data = Vec::with_capacity(size + 8);
        while data.len() < size {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            data.extend_from_slice(&x.to_le_bytes());
        }
        data.truncate(size);
        let dir = if n % 2 == 0 { root.to_path_buf() } else { root.join("sub") };
        std::fs::write(dir.join(format!("file-{n}.bin")), data).expect("write a data file");
    }
}

/// Every regular file under `root`, by relative path.
fn read_tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("under root").to_path_buf();
                out.insert(rel, std::fs::read(&path).expect("read a file"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// The next `update` push's parameters.
pub(crate) async fn next_update(w: &mut RawConn) -> Value {
    w.next_push_of("update").await["params"].clone()
}

/// Waits for the update `pred` accepts; returns it and the updates seen before it.
pub(crate) async fn until_update(w: &mut RawConn, mut pred: impl FnMut(&Value) -> bool) -> (Value, Vec<Value>) {
    let mut before = Vec::new();
    loop {
        let u = next_update(w).await;
        if pred(&u) {
            return (u, before);
        }
        before.push(u);
    }
}

pub(crate) fn is_session_ended(u: &Value, handler: &str) -> bool {
    u["type"] == "session_ended" && u["handler"] == handler
}

pub(crate) fn is_session_started(u: &Value, handler: &str) -> bool {
    u["type"] == "session_started" && u["session"]["handler"] == handler
}

/// What one `control.start` of a handler produced.
struct Followed {
    /// The `control.sync_result` push.
    result: Value,
    /// The `session_ended` update.
    ended: Value,
    /// Every `progress` update before it.
    progress: Vec<Value>,
}

/// Starts `handler` by hand and follows the run to its end.
async fn start_and_follow(rig: &mut Rig, handler: &str) -> Followed {
    let started = rig.ctl.ok("control.start", json!({"handler": handler})).await;
    let request = started["requests"][0].as_str().expect("a request").to_owned();
    let (ended, before) = until_update(&mut rig.watch, |u| is_session_ended(u, handler)).await;
    let progress = before.into_iter().filter(|u| u["type"] == "progress").collect();
    let result = rig.ctl.next_push_of("control.sync_result").await["params"].clone();
    assert_eq!(result["request"], request.as_str(), "{result}");
    Followed { result, ended, progress }
}

/// The distinct progress values (step, steps, text) a tool reported while running: not final, and not the
/// command line the daemon shows when the item starts.
fn tool_progress(progress: &[Value], command: &[&str]) -> BTreeSet<(u64, u64, String)> {
    let start_text = command.join(" ");
    progress
        .iter()
        .filter(|u| u["status"] == "updating" || u["status"] == "updating_indeterminate")
        .filter(|u| u["text"] != start_text.as_str())
        .map(|u| {
            (
                u["step"].as_u64().unwrap_or_default(),
                u["max_step"].as_u64().unwrap_or_default(),
                u["text"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Checks that a tool's run reported progress several times, some of it with numbers.
fn assert_progress(run: &Followed, command: &[&str]) {
    let seen = tool_progress(&run.progress, command);
    assert!(seen.len() >= 3, "expected at least 3 distinct progress values, saw {seen:#?}");
    assert!(seen.iter().any(|(_, max, _)| *max > 0), "no progress with a known total: {seen:#?}");
    assert!(seen.iter().all(|(step, max, _)| *max == 0 || step <= max), "{seen:#?}");
}

/// Checks that a tool's progress reached watchers in bytes (issue 20), beside the steps.
fn assert_bytes(run: &Followed) {
    let in_bytes = |u: &&Value| u["amount"]["unit"] == "bytes" && u["amount"]["done"].is_u64();
    assert!(run.progress.iter().any(|u| in_bytes(&u)), "no progress in bytes: {:#?}", run.progress);
}

/// The events of an item, oldest first.
pub(crate) async fn item_events(c: &mut RawConn, handler: &str, item: &str) -> Vec<Value> {
    let r = c.ok("events.list", json!({"handler": handler, "item": item, "limit": 1000})).await;
    r["events"].as_array().cloned().unwrap_or_default()
}

/// The ended sessions of a handler in the store's history.
pub(crate) async fn ended_sessions(c: &mut RawConn, handler: &str) -> Vec<Value> {
    let r = c.ok("sessions.history", json!({"handler": handler})).await;
    r["sessions"].as_array().cloned().unwrap_or_default().into_iter().filter(|s| s["ended_at"].is_string()).collect()
}

/// Waits until `handler` has at least `n` ended sessions in history, whether they ended before the watcher
/// subscribed or after.
pub(crate) async fn wait_ended_sessions(rig: &mut Rig, handler: &str, n: usize) -> Vec<Value> {
    loop {
        let ended = ended_sessions(&mut rig.watch, handler).await;
        if ended.len() >= n {
            return ended;
        }
        until_update(&mut rig.watch, |u| is_session_ended(u, handler)).await;
    }
}

/// Moves the clock by `by` (past the probe's freshness bound) and waits for the housekeeping tick that
/// reports the probe overdue; returns the updates seen before that report. Starts are issued earlier in the
/// same tick than the freshness check, so a run that tick started shows among them.
pub(crate) async fn one_more_tick(rig: &mut Rig, clock: &ManualClock, by: Duration) -> Vec<Value> {
    clock.advance(by);
    let (_, before) = until_update(&mut rig.watch, |u| {
        u["type"] == "event_added" && u["event"]["handler"] == "tick" && u["event"]["name"] == "Sync overdue"
    })
    .await;
    before
}

async fn item_info(c: &mut RawConn, handler: &str, item: &str) -> Value {
    let r = c.ok("item.list", json!({"handler": handler})).await;
    let items = r["items"].as_array().cloned().unwrap_or_default();
    items.into_iter().find(|i| i["item"] == item).unwrap_or_else(|| panic!("{handler}/{item} not listed: {r}"))
}

async fn handler_info(c: &mut RawConn, handler: &str) -> Value {
    let r = c.ok("handler.list", json!({})).await;
    let handlers = r["handlers"].as_array().cloned().unwrap_or_default();
    handlers.into_iter().find(|h| h["handler"] == handler).unwrap_or_else(|| panic!("{handler} not listed: {r}"))
}

/// Whether `pid` is gone: no `/proc/PID`, or a zombie nobody reaped.
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => {
            let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next());
            matches!(state, Some('Z' | 'X'))
        }
    }
}

/// What `probe` finds, polling with a short backoff where no event tells; still nothing after [`HANG_GUARD`]
/// fails the test with `failure`.
async fn poll_until<T>(mut probe: impl FnMut() -> Option<T>, failure: impl FnOnce() -> String) -> T {
    let deadline = tokio::time::Instant::now() + HANG_GUARD;
    let mut pause = Duration::from_millis(5);
    loop {
        if let Some(found) = probe() {
            return found;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("{} (waited {HANG_GUARD:?})", failure());
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// Waits until `pid` (`what`) is gone after a stop; a process still there fails the test as a survivor.
async fn wait_gone(pid: u32, what: &str) {
    poll_until(|| gone(pid).then_some(()), || format!("{what} {pid} survived the stop")).await;
}

/// The pid a script wrote to `file` (no event tells when it is there).
async fn read_pid(file: &Path) -> u32 {
    poll_until(
        || std::fs::read_to_string(file).ok().and_then(|s| s.trim().parse().ok()),
        || format!("{} never got a pid", file.display()),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsync_of_a_generated_tree_succeeds_with_progress() {
    if !have("rsync") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    generate_tree(&src, 6, 800_000, 1);
    std::fs::create_dir(&dst).expect("mkdir dst");
    let (s, d) = (format!("{}/", path_str(&src)), format!("{}/", path_str(&dst)));
    let command =
        ["rsync", "-a", "--info=progress2", "--itemize-changes", "--stats", "--bwlimit=1500", s.as_str(), d.as_str()];
    let mut rig = start(dir, &handler_toml("usb", "docs", "rsync", &command, ""), None).await;

    let run = start_and_follow(&mut rig, "usb").await;
    assert_eq!(run.result["status"], "succeeded", "{}", run.result);
    assert_eq!(run.ended["status"], "succeeded", "{}", run.ended);
    assert_progress(&run, &command);
    assert_bytes(&run);
    assert_eq!(read_tree(&dst), read_tree(&src), "the destination differs from the source");
    let events = item_events(&mut rig.ctl, "usb", "docs").await;
    assert!(events.iter().any(|e| e["name"] == "Transfer summary" && e["level"] == "info"), "no summary: {events:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restic_backup_into_a_fresh_repository() {
    if !have("restic") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, repo) = (dir.path().join("src"), dir.path().join("repo"));
    // restic reads and chunks fast and then uploads at the limit; enough data keeps it busy for ~4 s, so
    // that its once-a-second status lines show.
    generate_tree(&src, 8, 1_200_000, 2);
    // The cache stays in the temporary directory, not in the user's home.
    let cache = dir.path().join("restic-cache");
    let restic = |args: &[&str]| {
        std::process::Command::new("restic")
            .args(args)
            .env("RESTIC_PASSWORD", "test")
            .env("RESTIC_CACHE_DIR", &cache)
            .output()
    };
    let init = restic(&["init", "--repo", path_str(&repo)]).expect("run restic init");
    assert!(init.status.success(), "restic init failed: {}", String::from_utf8_lossy(&init.stderr));
    let command = ["restic", "backup", "--json", "--limit-upload", "2000", path_str(&src)];
    let env = format!(
        "env = {{ RESTIC_PASSWORD = \"test\", RESTIC_REPOSITORY = {}, RESTIC_CACHE_DIR = {} }}",
        q(path_str(&repo)),
        q(path_str(&cache))
    );
    let mut rig = start(dir, &handler_toml("restic", "home", "restic", &command, &env), None).await;

    let run = start_and_follow(&mut rig, "restic").await;
    assert_eq!(run.result["status"], "succeeded", "{}", run.result);
    assert_progress(&run, &command);
    assert_bytes(&run);
    let events = item_events(&mut rig.ctl, "restic", "home").await;
    assert!(events.iter().any(|e| e["name"] == "Transfer summary"), "no summary: {events:#?}");
    let snapshots = restic(&["snapshots", "--json", "--repo", path_str(&repo)]).expect("run restic snapshots");
    assert!(snapshots.status.success(), "{}", String::from_utf8_lossy(&snapshots.stderr));
    let list: Value = serde_json::from_slice(&snapshots.stdout).expect("restic snapshots --json");
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclone_copy_between_local_directories() {
    if !have("rclone") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    generate_tree(&src, 5, 800_000, 3);
    let command = [
        "rclone",
        "copy",
        path_str(&src),
        path_str(&dst),
        "--use-json-log",
        "--stats",
        "1s",
        "--stats-log-level",
        "NOTICE",
        "-v",
        "--bwlimit",
        "1M",
    ];
    let config = handler_toml("cloud", "photos", "rclone", &command, "env = { RCLONE_CONFIG = \"/dev/null\" }");
    let mut rig = start(dir, &config, None).await;

    let run = start_and_follow(&mut rig, "cloud").await;
    assert_eq!(run.result["status"], "succeeded", "{}", run.result);
    assert_progress(&run, &command);
    assert_bytes(&run);
    assert_eq!(read_tree(&dst), read_tree(&src), "the destination differs from the source");
    let events = item_events(&mut rig.ctl, "cloud", "photos").await;
    assert!(events.iter().any(|e| e["name"] == "Transfer summary"), "no summary: {events:#?}");
    assert!(!events.iter().any(|e| e["level"] != "info"), "unexpected warnings or errors: {events:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_long_run_ends_canceled_with_no_process_left() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (shell_pid, sleep_pid) = (dir.path().join("shell.pid"), dir.path().join("sleep.pid"));
    let script =
        format!("echo $$ > '{}'; sleep 1000 & echo $! > '{}'; wait", path_str(&shell_pid), path_str(&sleep_pid));
    let config = format!(
        "[daemon]\ngrace_period = \"2s\"\n\n{}",
        handler_toml("long", "wait", "script", &["sh", "-c", &script], "")
    );
    let mut rig = start(dir, &config, None).await;

    let started = rig.ctl.ok("control.start", json!({"handler": "long"})).await;
    let request = started["requests"][0].clone();
    let sleeper = read_pid(&sleep_pid).await;
    let shell = read_pid(&shell_pid).await;
    rig.ctl.ok("control.stop", json!({"handler": "long"})).await;
    let (ended, _) = until_update(&mut rig.watch, |u| is_session_ended(u, "long")).await;
    assert_eq!(ended["status"], "canceled", "{ended}");
    let result = rig.ctl.next_push_of("control.sync_result").await["params"].clone();
    assert_eq!((&result["request"], &result["status"]), (&request, &json!("canceled")), "{result}");
    wait_gone(shell, "the shell").await;
    wait_gone(sleeper, "its child").await;
    let history = ended_sessions(&mut rig.ctl, "long").await;
    assert_eq!(history[0]["items"][0]["status"], "canceled", "{history:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_command_is_retried_with_backoff_then_fails_with_stderr_in_the_event() {
    let clock = manual_clock(Y2030);
    let dir = tempfile::tempdir().expect("tempdir");
    let command = ["sh", "-c", "echo boom-from-stderr >&2; exit 75"];
    let retry = "retry = { attempts = 2, initial = \"1s\", jitter = 0.0 }";
    let config = format!("{}{PROBE}", handler_toml("flaky", "job", "script", &command, retry));
    let mut rig = start(dir, &config, Some(&clock)).await;

    let first = start_and_follow(&mut rig, "flaky").await;
    assert_eq!(first.result["status"], "failed", "{}", first.result);
    assert_eq!(first.ended["status"], "failed", "{}", first.ended);
    // Exit 75 is retryable: the retry is due `initial` after the failure, exactly (no jitter).
    let info = item_info(&mut rig.ctl, "flaky", "job").await;
    assert_eq!(info["next_run"], "2030-01-01T00:00:01.000000Z", "{info}");

    // The daemon issues the retry itself once its clock reaches that time.
    clock.advance(Duration::from_secs(1));
    let (retry_started, _) = until_update(&mut rig.watch, |u| is_session_started(u, "flaky")).await;
    assert_eq!(retry_started["session"]["items"][0]["item"], "job", "{retry_started}");
    let (second, _) = until_update(&mut rig.watch, |u| is_session_ended(u, "flaky")).await;
    assert_eq!(second["status"], "failed", "{second}");
    assert_ne!(second["session"], first.ended["session"], "the retry is a new session");
    // Two attempts used: nothing is pending.
    let info = item_info(&mut rig.ctl, "flaky", "job").await;
    assert!(info["next_run"].is_null(), "no retry should be pending: {info}");

    let errors: Vec<Value> =
        item_events(&mut rig.ctl, "flaky", "job").await.into_iter().filter(|e| e["level"] == "error").collect();
    assert_eq!(errors.len(), 2, "one error event per attempt: {errors:#?}");
    for e in &errors {
        let description = e["description"].as_str().unwrap_or_default();
        assert!(description.contains("boom-from-stderr"), "stderr missing from the event: {e}");
    }

    // A later housekeeping tick, far past any delay, starts nothing more.
    let between = one_more_tick(&mut rig, &clock, Duration::from_secs(3600)).await;
    assert!(!between.iter().any(|u| is_session_started(u, "flaky")), "a third run started: {between:#?}");
    assert_eq!(ended_sessions(&mut rig.ctl, "flaky").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_target_is_reported_disconnected_and_not_retried() {
    let clock = manual_clock(Y2030);
    let dir = tempfile::tempdir().expect("tempdir");
    let absent = dir.path().join("not-mounted");
    let requires = format!("requires = {}", arr(&[path_str(&absent)]));
    let config = format!("{}{PROBE}", handler_toml("usb", "docs", "script", &["true"], &requires));
    let mut rig = start(dir, &config, Some(&clock)).await;

    let run = start_and_follow(&mut rig, "usb").await;
    assert_eq!(run.ended["status"], "disconnected", "{}", run.ended);
    let history = ended_sessions(&mut rig.ctl, "usb").await;
    assert_eq!(history.len(), 1, "{history:#?}");
    assert_eq!(history[0]["items"][0]["status"], "disconnected", "{history:#?}");
    let events = item_events(&mut rig.ctl, "usb", "docs").await;
    let warning = events.iter().find(|e| e["level"] == "warning").unwrap_or_else(|| panic!("no warning: {events:#?}"));
    assert!(warning["description"].as_str().unwrap_or_default().contains("not-mounted"), "{warning}");
    assert!(!events.iter().any(|e| e["level"] == "error"), "disconnected is not an error: {events:#?}");
    let info = item_info(&mut rig.ctl, "usb", "docs").await;
    assert!(info["next_run"].is_null(), "no retry should be pending: {info}");

    let between = one_more_tick(&mut rig, &clock, Duration::from_secs(3600)).await;
    assert!(!between.iter().any(|u| is_session_started(u, "usb")), "a retry started: {between:#?}");
    assert_eq!(ended_sessions(&mut rig.ctl, "usb").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cron_schedule_fires_at_the_injected_time() {
    let clock = manual_clock(Y2030 + 2 * 3600 + 59 * 60 + 30); // 02:59:30
    let dir = tempfile::tempdir().expect("tempdir");
    let config = handler_toml("nightly", "job", "script", &["true"], "schedule = { cron = \"0 3 * * *\" }");
    let mut rig = start(dir, &config, Some(&clock)).await;

    let h = handler_info(&mut rig.ctl, "nightly").await;
    assert_eq!(h["next_run"], "2030-01-01T03:00:00.000000Z", "{h}");
    let i = item_info(&mut rig.ctl, "nightly", "job").await;
    assert_eq!(i["next_run"], "2030-01-01T03:00:00.000000Z", "{i}");
    assert_eq!(rig.ctl.ok("sessions.list", json!({})).await["sessions"], json!([]));
    assert!(ended_sessions(&mut rig.ctl, "nightly").await.is_empty());

    clock.set(Timestamp::from_micros((Y2030 + 3 * 3600 + 1) * 1_000_000)); // 03:00:01
    let (started, _) = until_update(&mut rig.watch, |u| is_session_started(u, "nightly")).await;
    assert_eq!(started["session"]["manual"], false, "{started}");
    let (ended, _) = until_update(&mut rig.watch, |u| is_session_ended(u, "nightly")).await;
    assert_eq!(ended["status"], "succeeded", "{ended}");
    let i = item_info(&mut rig.ctl, "nightly", "job").await;
    assert_eq!(i["next_run"], "2030-01-02T03:00:00.000000Z", "{i}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_freshness_breach_raises_an_error_and_shows_overdue() {
    let clock = manual_clock(Y2030);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = handler_toml("fresh", "docs", "script", &["true"], "freshness = \"1h\"");
    let mut rig = start(dir, &config, Some(&clock)).await;
    let i = item_info(&mut rig.ctl, "fresh", "docs").await;
    assert_eq!(i["overdue"], false, "{i}");

    clock.advance(Duration::from_secs(2 * 3600));
    let (added, _) =
        until_update(&mut rig.watch, |u| u["type"] == "event_added" && u["event"]["handler"] == "fresh").await;
    let event = &added["event"];
    assert_eq!(
        (&event["level"], &event["name"], &event["item"]),
        (&json!("error"), &json!("Sync overdue"), &json!("docs"))
    );
    let status = rig.ctl.ok("status", json!({})).await;
    assert_eq!(status["overdue"], json!(["fresh/docs"]), "{status}");
    let i = item_info(&mut rig.ctl, "fresh", "docs").await;
    assert_eq!(i["overdue"], true, "{i}");
    assert_eq!(handler_info(&mut rig.ctl, "fresh").await["overdue"], true);
    assert!(ended_sessions(&mut rig.ctl, "fresh").await.is_empty(), "freshness does not start runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_configuration_is_refused_and_the_daemon_keeps_the_last_good_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    let good = handler_toml("notes", "sync", "script", &["true"], "");
    let mut rig = start(dir, &good, None).await;
    assert!(rig.ctl.ok("status", json!({})).await["config_error"].is_null());

    let bad = good.replace("command = ", "comand = ");
    let line = bad.lines().position(|l| l.starts_with("comand")).expect("the misspelt line") + 1;
    std::fs::write(&path, &bad).expect("rewrite config.toml");
    let refused = rig.ctl.call("control.reload", json!({})).await;
    assert_eq!(refused["error"]["data"]["name"], "E_INVALIDARG", "{refused}");
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    let location = format!("{}:{line}:", path.display());
    assert!(message.contains(&location), "no file and line {location:?} in {message:?}");
    assert!(message.contains("handler[0].item[0]") && message.contains("comand"), "no field in {message:?}");

    let status = rig.ctl.ok("status", json!({})).await;
    let config_error = status["config_error"].as_str().unwrap_or_default();
    assert!(config_error.contains("comand") && config_error.contains(&location), "{status}");
    assert_eq!(handler_info(&mut rig.ctl, "notes").await["command"], true);
    // The last good configuration still runs.
    let run = start_and_follow(&mut rig, "notes").await;
    assert_eq!(run.result["status"], "succeeded", "{}", run.result);

    std::fs::write(&path, &good).expect("restore config.toml");
    assert_eq!(rig.ctl.ok("control.reload", json!({})).await["handlers"], 1);
    assert!(rig.ctl.ok("status", json!({})).await["config_error"].is_null());
    assert_eq!(
        rig.daemon.raw().await.ok("handler.list", json!({})).await["handlers"].as_array().map(Vec::len),
        Some(1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_missed_while_the_daemon_was_down_runs_once_at_start() {
    let clock = manual_clock(Y2030);
    let dir = tempfile::tempdir().expect("tempdir");
    let config =
        format!("{}{PROBE}", handler_toml("hourly", "job", "script", &["true"], "schedule = { every = \"1h\" }"));
    // Never ran: due at start.
    let mut rig = start(dir, &config, Some(&clock)).await;
    let before = wait_ended_sessions(&mut rig, "hourly", 1).await;
    assert_eq!(before[0]["status"], "succeeded", "{before:#?}");
    let Rig { daemon, watch, ctl } = rig;
    drop((watch, ctl));
    let dir = daemon.stop().await;

    // Down for five due times: one run at start, not five.
    clock.advance(Duration::from_secs(5 * 3600));
    let mut rig = start(dir, &config, Some(&clock)).await;
    let after = wait_ended_sessions(&mut rig, "hourly", 2).await;
    assert_eq!(after.len(), 2, "{after:#?}");
    assert_eq!(after[0]["started_at"], "2030-01-01T05:00:00.000000Z", "{after:#?}");
    let i = item_info(&mut rig.ctl, "hourly", "job").await;
    assert_eq!(i["next_run"], "2030-01-01T06:00:00.000000Z", "the schedule continues from the run: {i}");

    // A later tick, still before the next due time, starts nothing. The feed may still hold the start of the run
    // already counted (history answered before the feed was read), so only an unknown session counts.
    let known: Vec<Value> = after.iter().map(|s| s["session"].clone()).collect();
    let between = one_more_tick(&mut rig, &clock, Duration::from_secs(31 * 60)).await;
    assert!(
        !between.iter().any(|u| is_session_started(u, "hourly") && !known.contains(&u["session"]["session"])),
        "a second run started: {between:#?}"
    );
    assert_eq!(ended_sessions(&mut rig.ctl, "hourly").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arguments_are_passed_literally_and_a_missing_program_gives_a_clear_event() {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");
    // No shell runs the command: metacharacters in arguments are file names here, not commands.
    let tricky = ["a; touch pwned", "$(touch pwned2)", "`touch pwned3`", "b | touch pwned4 && c", "*", "'\"\\"];
    let mut literal = vec!["touch", "--"];
    literal.extend_from_slice(&tricky);
    let workdir = format!("workdir = {}", q(path_str(&work)));
    let config = format!(
        "{}{}",
        handler_toml("literal", "files", "script", &literal, &workdir),
        handler_toml("ghost", "files", "script", &["synccenter-no-such-program", "--flag"], ""),
    );
    let mut rig = start(dir, &config, None).await;

    let run = start_and_follow(&mut rig, "literal").await;
    assert_eq!(run.ended["status"], "succeeded", "{}", run.ended);
    let mut made: Vec<String> =
        std::fs::read_dir(&work).expect("ls").map(|e| e.expect("entry").file_name().to_string_lossy().into()).collect();
    made.sort();
    let mut want: Vec<String> = tricky.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    assert_eq!(made, want, "each argument became one file, and nothing else ran");

    let run = start_and_follow(&mut rig, "ghost").await;
    assert_eq!(run.ended["status"], "failed", "{}", run.ended);
    let events = item_events(&mut rig.ctl, "ghost", "files").await;
    let error = events.iter().find(|e| e["level"] == "error").unwrap_or_else(|| panic!("no error event: {events:#?}"));
    assert_eq!(error["name"], "The command could not start", "{error}");
    let description = error["description"].as_str().unwrap_or_default();
    assert!(description.contains("synccenter-no-such-program") && description.contains("No such file"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsync_without_itemize_counts_the_files_it_sent() {
    if !have("rsync") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    generate_tree(&src, 40, 10_000, 5);
    let (s, d) = (format!("{}/", path_str(&src)), format!("{}/", path_str(&dst)));
    // Neither --itemize-changes nor --stats: only the progress lines' xfr#N count the files.
    let command = ["rsync", "-a", "--info=progress2", s.as_str(), d.as_str()];
    let mut rig = start(dir, &handler_toml("usb", "docs", "rsync", &command, ""), None).await;

    let run = start_and_follow(&mut rig, "usb").await;
    assert_eq!(run.ended["status"], "succeeded", "{}", run.ended);
    let events = item_events(&mut rig.ctl, "usb", "docs").await;
    let summary = events.iter().find(|e| e["name"] == "Transfer summary").expect("a summary");
    assert_eq!(summary["description"], "40 files transferred, 390.6 KiB", "{summary}");
}

/// Environment for borg runs kept in `dir`: the repository, a passphrase, and borg's own files.
fn borg_env(dir: &Path) -> Vec<(&'static str, String)> {
    let repo = dir.join("borg-repo");
    vec![
        ("BORG_REPO", path_str(&repo).to_owned()),
        ("BORG_PASSPHRASE", "test".to_owned()),
        ("BORG_BASE_DIR", path_str(&dir.join("borg-base")).to_owned()),
    ]
}

/// `borg init` of the repository of [`borg_env`]; the `env = {…}` line of an item that uses it.
fn borg_init(dir: &Path) -> String {
    let env = borg_env(dir);
    let init = std::process::Command::new("borg")
        .args(["init", "--encryption", "repokey"])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("run borg init");
    assert!(init.status.success(), "borg init failed: {}", String::from_utf8_lossy(&init.stderr));
    let pairs: Vec<String> = env.iter().map(|(k, v)| format!("{k} = {}", q(v))).collect();
    format!("env = {{ {} }}", pairs.join(", "))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn borg_create_reports_progress_and_the_archive_totals() {
    if !have("borg") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    generate_tree(&src, 6, 800_000, 6);
    let env = borg_init(dir.path());
    // lzma on incompressible data keeps borg busy for a few of its 0.2 s progress lines.
    let command = ["borg", "create", "--progress", "--log-json", "--json", "-C", "lzma,6", "::first", path_str(&src)];
    let mut rig = start(dir, &handler_toml("borg", "home", "borg", &command, &env), None).await;

    let run = start_and_follow(&mut rig, "borg").await;
    assert_eq!(run.result["status"], "succeeded", "{}", run.result);
    let seen = tool_progress(&run.progress, &command);
    assert!(seen.len() >= 3, "expected at least 3 distinct progress values, saw {seen:#?}");
    let events = item_events(&mut rig.ctl, "borg", "home").await;
    let summary = events.iter().find(|e| e["name"] == "Transfer summary").expect("a summary");
    let text = summary["description"].as_str().unwrap_or_default();
    assert!(text.starts_with("archive first: 6 files, 4.6 MiB read"), "{summary}");
    assert!(!events.iter().any(|e| e["level"] != "info"), "unexpected warnings or errors: {events:#?}");
}

/// A run of each real tool that lasts well beyond its first progress report: kind, command, `env` line.
fn long_runs(dir: &Path) -> Vec<(&'static str, Vec<String>, String)> {
    let (src, out) = (dir.join("src"), dir.join("out"));
    generate_tree(&src, 8, 1_000_000, 7);
    let s = path_str(&src).to_owned();
    let o = |name: &str| path_str(&out.join(name)).to_owned();
    let own = |v: &[&str]| v.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
    let mut runs = Vec::new();
    if have("rsync") {
        let c = own(&["rsync", "-a", "--info=progress2", "--itemize-changes", "--stats", "--bwlimit=300"]);
        runs.push(("rsync", [c, vec![format!("{s}/"), format!("{}/", o("rsync"))]].concat(), String::new()));
    }
    if have("rclone") {
        let c =
            own(&["rclone", "copy", &s, &o("rclone"), "--use-json-log", "--stats", "1s", "-v", "--bwlimit", "300k"]);
        runs.push(("rclone", c, "env = { RCLONE_CONFIG = \"/dev/null\" }".to_owned()));
    }
    if have("restic") {
        let (repo, cache) = (o("restic"), o("restic-cache"));
        let init = std::process::Command::new("restic")
            .args(["init", "--repo", &repo])
            .env("RESTIC_PASSWORD", "test")
            .env("RESTIC_CACHE_DIR", &cache)
            .output()
            .expect("run restic init");
        assert!(init.status.success(), "restic init failed: {}", String::from_utf8_lossy(&init.stderr));
        let env = format!(
            "env = {{ RESTIC_PASSWORD = \"test\", RESTIC_REPOSITORY = {}, RESTIC_CACHE_DIR = {} }}",
            q(&repo),
            q(&cache)
        );
        runs.push(("restic", own(&["restic", "backup", "--json", "--limit-upload", "300", &s]), env));
    }
    if have("borg") {
        let env = borg_init(dir);
        runs.push((
            "borg",
            own(&["borg", "create", "--progress", "--log-json", "--json", "-C", "lzma,9", "::a", &s]),
            env,
        ));
    }
    runs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_stopping_a_real_tool_gets_canceled_and_no_error_events() {
    let data = tempfile::tempdir().expect("tempdir");
    for (kind, command, env) in long_runs(data.path()) {
        let dir = tempfile::tempdir().expect("tempdir");
        let command: Vec<&str> = command.iter().map(String::as_str).collect();
        let mut rig = start(dir, &handler_toml("long", "data", kind, &command, &env), None).await;

        let started = rig.ctl.ok("control.start", json!({"handler": "long"})).await;
        let request = started["requests"][0].clone();
        // The tool is running and reporting before the person stops it.
        let start_text = command.join(" ");
        until_update(&mut rig.watch, |u| {
            let running = u["status"] == "updating" || u["status"] == "updating_indeterminate";
            u["type"] == "progress" && running && u["text"] != start_text.as_str()
        })
        .await;
        rig.ctl.ok("control.stop", json!({"handler": "long"})).await;
        let (ended, before) = until_update(&mut rig.watch, |u| is_session_ended(u, "long")).await;
        assert_eq!(ended["status"], "canceled", "{kind}: {ended}");
        let last = before.iter().rev().find(|u| u["type"] == "progress").expect("the item's final progress");
        assert_eq!(
            (&last["status"], &last["text"]),
            (&json!("canceled"), &json!(format!("{kind} was stopped at your request")))
        );
        let result = rig.ctl.next_push_of("control.sync_result").await["params"].clone();
        assert_eq!((&result["request"], &result["status"]), (&request, &json!("canceled")), "{kind}: {result}");
        let events = item_events(&mut rig.ctl, "long", "data").await;
        assert!(events.iter().all(|e| e["level"] == "info"), "{kind}: a stop is not an error: {events:#?}");
    }
}
