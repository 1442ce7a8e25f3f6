//! Three hosts on one PostgreSQL, as separate daemon processes with their own sockets and data directories:
//! a session on one host seen and stopped from another's CLI, a host killed with SIGKILL and its sessions
//! ended by the survivors exactly once, and the database restarted under a live session with every
//! acknowledged event stored exactly once. The database is a private server (it is restarted here).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use synccenter_test_support::postgres::PgServer;
use synccenter_test_support::{HANG_GUARD, RawConn};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

/// The hosts' liveness bounds: generous for a loaded two-core machine (a healthy host would have to miss ten
/// heartbeats in a row to be judged down), short enough for a test.
const HEARTBEAT: &str = "300ms";
const DOWN_AFTER: &str = "3s";

/// One host: a `synccenter daemon` process with its own socket and data directory.
pub(super) struct Host {
    pub(super) name: &'static str,
    pub(super) child: Child,
    pub(super) socket: PathBuf,
    _dir: tempfile::TempDir,
    log: Arc<Mutex<String>>,
}

impl Host {
    pub(super) async fn start(name: &'static str, database: &str) -> Host {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("run/synccenter.sock");
        let mut child = super::bin()
            .args(["--socket"])
            .arg(&socket)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--config")
            .arg(dir.path().join("none.toml"))
            .args(["--database", database, "--host", name, "--http", "off"])
            .args(["daemon", "--heartbeat", HEARTBEAT, "--down-after", DOWN_AFTER])
            .env("SYNCCENTER_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the daemon");
        let log = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready) = tokio::sync::oneshot::channel();
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let sink = log.clone();
        tokio::spawn(async move {
            let mut ready_tx = Some(ready_tx);
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("synccenter daemon ready")
                    && let Some(tx) = ready_tx.take()
                {
                    let _ = tx.send(());
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        if !matches!(tokio::time::timeout(HANG_GUARD, ready).await, Ok(Ok(()))) {
            panic!("host {name} did not start:\n{}", log.lock().unwrap());
        }
        Host { name, child, socket, _dir: dir, log }
    }

    pub(super) fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub(super) async fn cli(&self, args: &[&str]) -> Value {
        let out = self.run(&[&["--json"], args].concat()).await;
        serde_json::from_slice(&out).expect("one JSON document")
    }

    /// A verb's human output (tables).
    async fn text(&self, args: &[&str]) -> String {
        String::from_utf8(self.run(args).await).expect("UTF-8")
    }

    /// Runs the CLI against this daemon; it must succeed. Returns its standard output.
    async fn run(&self, args: &[&str]) -> Vec<u8> {
        let out = super::bin()
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .env_remove("SYNCCENTER_HOST")
            .stdin(Stdio::null())
            .output();
        let out = tokio::time::timeout(HANG_GUARD, out).await.expect("the CLI hung").expect("run the CLI");
        assert!(
            out.status.success(),
            "{} {args:?}: {}{}\n--- daemon log ---\n{}",
            self.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        out.stdout
    }
}

/// Re-asks until `check` holds: these states (a heartbeat missed, a buffer replayed) have no event a test
/// could wait on from outside the daemons, so the CLI is polled, with the hang guard as the bound.
pub(super) async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + HANG_GUARD;
    while !check().await {
        assert!(Instant::now() < deadline, "not reached within the hang guard: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn by_host(v: &Value, key: &str) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in v[key].as_array().expect("a list") {
        out.entry(r["host"].as_str().expect("host").to_owned()).or_default().push(r.clone());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stderr, reason = "the phases' timings are the test's report (never asserted)")]
async fn three_hosts_share_one_database() {
    let t0 = Instant::now();
    let phase = |what: &str| eprintln!("[{:>6.2?}] {what}", t0.elapsed());
    let Some(mut pg) = PgServer::start_if_installed() else { return };
    phase("PostgreSQL up");
    let url = pg.url();
    let a = Host::start("host-a", &url).await;
    let b = Host::start("host-b", &url).await;
    let mut c = Host::start("host-c", &url).await;

    phase("three hosts up");
    // A live session on B and on C, owned by clients of their own daemons.
    let mut owner_b = RawConn::connect(&b.socket).await;
    owner_b.setup("backup", &["docs", "photos"], json!({})).await;
    let session_b = owner_b.session("backup", &["docs", "photos"]).await;
    owner_b
        .ok(
            "session.report_progress",
            json!({"session": session_b, "item": "docs", "status": "updating", "step": 1, "max_step": 4}),
        )
        .await;
    let mut owner_c = RawConn::connect(&c.socket).await;
    owner_c.setup("mail", &["inbox"], json!({})).await;
    let session_c = owner_c.session("mail", &["inbox"]).await;

    // A sees the whole fleet.
    let hosts = a.cli(&["status", "--all-hosts"]).await;
    assert_eq!(hosts["host"], "host-a");
    assert_eq!(hosts["shared"], true);
    let names: Vec<&str> = hosts["hosts"].as_array().unwrap().iter().map(|h| h["host"].as_str().unwrap()).collect();
    assert_eq!(names, ["host-a", "host-b", "host-c"]);
    assert!(hosts["hosts"].as_array().unwrap().iter().all(|h| h["up"] == true), "{hosts}");
    let live = by_host(&a.cli(&["sessions", "--all-hosts"]).await, "sessions");
    assert_eq!(live["host-b"].len(), 1);
    assert_eq!(live["host-b"][0]["session"], session_b.as_str());
    assert_eq!(live["host-c"][0]["session"], session_c.as_str());
    assert!(!live.contains_key("host-a"));
    let handlers = by_host(&a.cli(&["handlers", "--all-hosts"]).await, "handlers");
    assert_eq!(handlers["host-b"][0]["handler"], "backup");
    assert_eq!(handlers["host-b"][0]["syncing"], true);

    // A stops B's handler; B's owner gets the push.
    let asked = Instant::now();
    a.cli(&["--host", "host-b", "stop", "backup"]).await;
    let push = owner_b.next_push_of("session.cancel_requested").await;
    eprintln!("stop on host-a -> cancel pushed on host-b: {:?}", asked.elapsed());
    assert_eq!(push["params"]["session"], session_b.as_str(), "{push}");
    let r = owner_b.ok("session.can_continue", json!({"session": session_b, "item": "docs"})).await;
    assert_eq!(r["continue"], false, "{r}");
    let ended = owner_b.ok("session.end", json!({"session": session_b})).await;
    assert_eq!(ended["status"], "failed", "{ended}");

    // A call naming an unknown host is refused without waiting forever.
    let out = super::bin()
        .arg("--socket")
        .arg(&a.socket)
        .args(["--host", "no-such-host", "stop", "backup"])
        .output()
        .await
        .expect("run the CLI");
    assert!(!out.status.success());

    phase("stopped across hosts");
    // C dies without a word; the survivors end its session exactly once.
    c.child.start_kill().expect("SIGKILL host-c");
    c.child.wait().await.expect("reap host-c");
    eventually("host-c's session ended as host_lost", || async {
        let history = a.cli(&["sessions", "--all-hosts", "--history", "--host", "host-c"]).await;
        history["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["session"] == session_c.as_str() && s["end_reason"] == "host_lost")
    })
    .await;
    let status = a.cli(&["status", "--all-hosts"]).await;
    let host_c = status["hosts"].as_array().unwrap().iter().find(|h| h["host"] == "host-c").unwrap().clone();
    assert_eq!(host_c["up"], false, "{host_c}");
    assert!(host_c["down_since"].is_string(), "{host_c}");
    // Both survivors keep checking; give each several more beats, then count.
    for _ in 0..2 {
        b.cli(&["status"]).await;
        a.cli(&["status", "--all-hosts"]).await;
    }
    let events = a.cli(&["results", "--all-hosts", "--host", "host-c", "--session", &session_c]).await;
    let lost: Vec<&Value> =
        events["events"].as_array().unwrap().iter().filter(|e| e["name"] == "Sync interrupted: host lost").collect();
    assert_eq!(lost.len(), 1, "exactly one warning for the lost session: {events}");
    assert_eq!(lost[0]["level"], "warning");
    assert!(lost[0]["description"].as_str().unwrap().contains("host-c"), "{}", lost[0]);
    // The same as a table: the host first, then the columns of a local `results`.
    let table = a.text(&["results", "--all-hosts", "--host", "host-c", "--session", &session_c]).await;
    let header = table.lines().next().unwrap_or_default();
    assert!(
        header.split_whitespace().eq(["HOST", "EVENT", "TIME", "LEVEL", "HANDLER", "ITEM", "NAME", "DESCRIPTION"]),
        "{table}"
    );
    let lost_id = lost[0]["event"].as_str().expect("event ID");
    assert!(
        table.lines().any(|l| l.starts_with("host-c ") && l.contains(lost_id) && l.contains(" warning ")),
        "{table}"
    );

    phase("host-c's session ended by the survivors");
    // PostgreSQL restarts under a live session on B: every acknowledged event is stored exactly once.
    let session = owner_b.session("backup", &["docs"]).await;
    let mut acked = Vec::new();
    let report = |n: usize| {
        let session = session.clone();
        json!({"session": session, "item": "docs", "level": "info", "name": format!("event {n}"), "description": "fleet test"})
    };
    for n in 0..5 {
        let r = owner_b.ok("session.report_event", report(n)).await;
        acked.push(r["event"].as_str().unwrap().to_owned());
    }
    pg.stop().expect("stop PostgreSQL");
    phase("PostgreSQL stopped");
    for n in 5..10 {
        let r = owner_b.ok("session.report_event", report(n)).await;
        acked.push(r["event"].as_str().unwrap().to_owned());
    }
    phase("events reported during the outage");
    let degraded = b.cli(&["status"]).await;
    assert!(degraded["degraded"]["buffered_batches"].as_u64().unwrap() >= 1, "{degraded}");
    pg.start_again().expect("start PostgreSQL again");
    phase("PostgreSQL started again");
    for n in 10..12 {
        let r = owner_b.ok("session.report_event", report(n)).await;
        acked.push(r["event"].as_str().unwrap().to_owned());
    }
    eventually("host-b wrote its buffer", || async { b.cli(&["status"]).await.get("degraded").is_none() }).await;
    phase("buffer written");
    owner_b.ok("session.end", json!({"session": session})).await;
    let stored = a.cli(&["results", "--all-hosts", "--host", "host-b", "--session", &session, "--limit", "1000"]).await;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for e in stored["events"].as_array().unwrap() {
        *counts.entry(e["event"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    for id in &acked {
        assert_eq!(counts.get(id), Some(&1), "acknowledged event {id} stored once: {stored}");
    }
    assert_eq!(counts.len(), acked.len(), "nothing else was stored: {stored}");
    // B's own session survived the outage: it was never declared down.
    let hosts = a.cli(&["status", "--all-hosts"]).await;
    assert!(hosts["hosts"].as_array().unwrap().iter().any(|h| h["host"] == "host-b" && h["up"] == true), "{hosts}");
    phase("checked");
    drop(a);
    drop(b);
}
