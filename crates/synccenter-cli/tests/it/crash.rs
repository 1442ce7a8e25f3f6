//! The crash loop: the real `synccenter daemon` process, SIGKILLed at a seeded random moment while clients
//! report progress, events, conflicts and final statuses, then restarted on the same store, over and over. After
//! every kill the store passes `synccenter db check` (SQLite's full `integrity_check`), and after every
//! restart everything the daemon acknowledged before the kill is there exactly once, and every session that
//! was live at the kill is ended with reason `daemon_restarted` and one warning event.
//!
//! A kill moment is counted in acknowledgements, not in milliseconds: the kill comes right after the Nth
//! acknowledgement of an iteration (N from a seeded generator), which leaves the session of the client that
//! received it live (that client stops there), while the other clients are anywhere in their work. So every
//! kill interrupts at least one live session, and the choices a seed makes (kill points, finals, statuses)
//! do not depend on the machine's speed; only how far the other clients got is left to the scheduler. The
//! seed is printed, and `SYNCCENTER_CRASH_SEED=<seed>` replays a run. Waits are on the daemon's "ready" log
//! line, replies, the kill point and process exits.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use synccenter_test_support::HANG_GUARD;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

use super::seeded::{self, Rng};
use tokio::process::Child;

use super::{code, stderr, stdout};

const ITERATIONS: usize = 20;
const CLIENTS: usize = 3;
/// The kill comes after at most this many acknowledgements of an iteration (a session takes five or six).
const MAX_KILL_POINT: u64 = 60;
const ITEMS: [&str; 3] = ["a", "b", "c"];

/// What the daemon acknowledged (and what was merely sent) for one session.
#[derive(Debug, Default, Clone)]
struct SessionFacts {
    iteration: usize,
    finals: BTreeMap<String, String>,
    end_sent: bool,
    end_acked: bool,
}

/// Everything acknowledged so far, across iterations.
#[derive(Debug, Default)]
struct Ledger {
    sessions: BTreeMap<String, SessionFacts>,
    events: BTreeSet<String>,
    conflicts: BTreeSet<String>,
}

type Shared = Arc<Mutex<Ledger>>;

/// Where an iteration's kill comes: after the Nth acknowledgement that leaves a session live.
struct KillPoint {
    remaining: AtomicUsize,
    reached: tokio::sync::Notify,
}

impl KillPoint {
    fn new(n: u64) -> Arc<KillPoint> {
        let remaining = AtomicUsize::new(usize::try_from(n).expect("a small kill point"));
        Arc::new(KillPoint { remaining, reached: tokio::sync::Notify::new() })
    }

    /// Counts one acknowledgement; `true` for the one the kill comes after (its client must stop there).
    fn count(&self) -> bool {
        let before = self.remaining.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if before == Ok(1) {
            self.reached.notify_one();
            return true;
        }
        false
    }
}

fn with<T>(ledger: &Shared, f: impl FnOnce(&mut Ledger) -> T) -> T {
    f(&mut ledger.lock().expect("ledger lock"))
}

/// A protocol client that reports a dead daemon as `None` instead of panicking: the kill may come at any byte.
struct Client {
    read: Lines<BufReader<OwnedReadHalf>>,
    write: OwnedWriteHalf,
    next_id: i64,
}

impl Client {
    async fn connect(socket: &Path) -> Option<Client> {
        let (r, w) = UnixStream::connect(socket).await.ok()?.into_split();
        let mut c = Client { read: BufReader::new(r).lines(), write: w, next_id: 0 };
        c.call("hello", json!({})).await?.ok()?;
        Some(c)
    }

    async fn send(&mut self, v: &Value) -> Option<()> {
        let mut line = v.to_string();
        line.push('\n');
        self.write.write_all(line.as_bytes()).await.ok()
    }

    async fn notify(&mut self, method: &str, params: Value) -> Option<()> {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params})).await
    }

    /// `None` when the daemon went away before answering; otherwise its result or its error object.
    async fn call(&mut self, method: &str, params: Value) -> Option<Result<Value, Value>> {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await?;
        loop {
            let line =
                tokio::time::timeout(HANG_GUARD, self.read.next_line()).await.expect("reply within the hang guard");
            let m: Value = serde_json::from_str(&line.ok()??).expect("the daemon writes JSON");
            if m["id"] == json!(id) {
                return Some(match m.get("error") {
                    Some(e) => Err(e.clone()),
                    None => Ok(m["result"].clone()),
                });
            }
        }
    }

    /// A call that must not be refused; `None` only when the daemon died.
    async fn must(&mut self, method: &str, params: Value) -> Option<Value> {
        match self.call(method, params.clone()).await? {
            Ok(v) => Some(v),
            Err(e) => panic!("{method} {params} was refused: {e}"),
        }
    }

    /// Sends nothing more and waits for the kill to close the connection.
    async fn wait_for_the_kill(&mut self) {
        let closed = async { while let Ok(Some(_)) = self.read.next_line().await {} };
        tokio::time::timeout(HANG_GUARD, closed).await.expect("the daemon was killed in time");
    }
}

/// Counts an acknowledgement at the kill point; `None` (stop reporting) when the kill comes after this one.
async fn acked(c: &mut Client, kill: &KillPoint) -> Option<()> {
    if kill.count() {
        c.wait_for_the_kill().await;
        return None;
    }
    Some(())
}

/// One reporter: sessions with progress, an event, a conflict and final statuses, until the daemon dies.
async fn reporter(socket: PathBuf, ledger: Shared, kill: Arc<KillPoint>, iteration: usize, seed: u64) {
    let mut rng = Rng(seed);
    let Some(mut c) = Client::connect(&socket).await else { return };
    loop {
        let Some(created) = c.must("session.create", json!({"handler": "crash", "items": ITEMS})).await else { return };
        let s = created["session"].as_str().expect("session id").to_owned();
        with(&ledger, |l| l.sessions.insert(s.clone(), SessionFacts { iteration, ..SessionFacts::default() }));
        if acked(&mut c, &kill).await.is_none() {
            return;
        }
        for step in 1..=4 {
            for item in ITEMS {
                let p = json!({"session": s, "item": item, "status": "updating", "step": step, "max_step": 4});
                if c.notify("session.report_progress", p).await.is_none() {
                    return;
                }
            }
        }
        let event = json!({"session": s, "item": "a", "level": "error", "name": "copy failed",
            "description": format!("iteration {iteration}: one file could not be copied")});
        let Some(e) = c.must("session.report_event", event).await else { return };
        with(&ledger, |l| l.events.insert(e["event"].as_str().expect("event id").to_owned()));
        if acked(&mut c, &kill).await.is_none() {
            return;
        }
        let conflict = json!({"session": s, "item": "b", "name": "report.odt", "description": "changed on both sides",
            "versions": [{"location_short": "here", "types": ["updated"]}, {"location_short": "there", "types": ["updated"]}]});
        let Some(k) = c.must("session.report_conflict", conflict).await else { return };
        with(&ledger, |l| l.conflicts.insert(k["conflict"].as_str().expect("conflict id").to_owned()));
        if acked(&mut c, &kill).await.is_none() {
            return;
        }
        // Finals are requests, so each is acknowledged once durable; the last item is sometimes left open.
        let finals = 2 + rng.below(2) as usize;
        for item in &ITEMS[..finals] {
            let status = if rng.below(2) == 0 { "succeeded" } else { "failed" };
            let p = json!({"session": s, "item": item, "status": status, "step": 4, "max_step": 4});
            if c.must("session.report_progress", p).await.is_none() {
                return;
            }
            with(&ledger, |l| {
                l.sessions.entry(s.clone()).or_default().finals.insert((*item).to_owned(), status.into())
            });
            if acked(&mut c, &kill).await.is_none() {
                return;
            }
        }
        with(&ledger, |l| l.sessions.entry(s.clone()).or_default().end_sent = true);
        if c.must("session.end", json!({"session": s})).await.is_none() {
            return;
        }
        with(&ledger, |l| l.sessions.entry(s.clone()).or_default().end_acked = true);
    }
}

/// A `synccenter daemon` process on the test's directory.
struct Daemon {
    child: Child,
    socket: PathBuf,
}

impl Daemon {
    async fn start(dir: &Path) -> Daemon {
        let socket = dir.join("run/s.sock");
        let mut child = super::bin()
            .arg("--socket")
            .arg(&socket)
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("--config")
            .arg(dir.join("config.toml"))
            .args(["--http", "off", "daemon"])
            .env("SYNCCENTER_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the daemon");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let (ready_tx, ready) = tokio::sync::oneshot::channel::<Result<(), String>>();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut ready_tx = Some(ready_tx);
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("synccenter daemon ready")
                    && let Some(tx) = ready_tx.take()
                {
                    let _ = tx.send(Ok(()));
                }
                seen.push(line);
            }
            if let Some(tx) = ready_tx.take() {
                let _ = tx.send(Err(seen.join("\n")));
            }
        });
        match tokio::time::timeout(HANG_GUARD, ready).await.expect("the daemon got ready in time") {
            Ok(Ok(())) => Daemon { child, socket },
            Ok(Err(log)) => panic!("the daemon exited before it was ready:\n{log}"),
            Err(_) => panic!("the daemon's log ended without a word"),
        }
    }

    async fn kill(mut self) {
        self.child.start_kill().expect("SIGKILL");
        let status = tokio::time::timeout(HANG_GUARD, self.child.wait()).await.expect("killed in time").expect("wait");
        assert!(!status.success(), "the daemon was killed, not stopped: {status}");
    }
}

/// Every event of the handler, paging through `events.list`.
async fn all_events(c: &mut Client) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut p = json!({"handler": "crash", "limit": 10000});
        if let Some(a) = &after {
            p["after"] = json!(a);
        }
        let page = c.must("events.list", p).await.expect("daemon up");
        out.extend(page["events"].as_array().cloned().unwrap_or_default());
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_owned()),
            None => return out,
        }
    }
}

/// Checks everything acknowledged so far against the restarted daemon; `killed` is the iteration whose
/// sessions were live at the last kill.
async fn verify(socket: &Path, ledger: &Shared) {
    let mut c = Client::connect(socket).await.expect("connect to the restarted daemon");
    assert_eq!(
        c.must("sessions.list", json!({})).await.expect("up")["sessions"],
        json!([]),
        "nothing live after a restart"
    );
    let events = all_events(&mut c).await;
    let mut by_id: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &events {
        *by_id.entry(e["event"].as_str().unwrap_or_default()).or_default() += 1;
    }
    let history = c.must("sessions.history", json!({"handler": "crash", "limit": 10000})).await.expect("up");
    let records: BTreeMap<String, Value> = history["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .map(|r| (r["session"].as_str().unwrap_or_default().to_owned(), r.clone()))
        .collect();
    let conflicts = c.must("conflicts.list", json!({"handler": "crash"})).await.expect("up");
    let mut conflict_ids: BTreeMap<&str, usize> = BTreeMap::new();
    for k in conflicts["conflicts"].as_array().expect("conflicts") {
        *conflict_ids.entry(k["conflict"].as_str().unwrap_or_default()).or_default() += 1;
    }
    let l = ledger.lock().expect("ledger lock");
    for id in &l.events {
        assert_eq!(by_id.get(id.as_str()), Some(&1), "acknowledged event {id} is not there exactly once");
    }
    for id in &l.conflicts {
        assert_eq!(conflict_ids.get(id.as_str()), Some(&1), "acknowledged conflict {id} is not there exactly once");
    }
    for (s, facts) in &l.sessions {
        let r = records.get(s).unwrap_or_else(|| panic!("acknowledged session {s} is missing from history"));
        for (item, status) in &facts.finals {
            let got = r["items"].as_array().expect("items").iter().find(|i| i["item"] == item.as_str()).cloned();
            assert_eq!(got.map(|i| i["status"].clone()), Some(json!(status)), "acknowledged final of {s}/{item}");
        }
        let reason = r["end_reason"].as_str().unwrap_or("<live>");
        let restarted_warnings = events
            .iter()
            .filter(|e| e["session"] == s.as_str() && e["name"] == "Sync interrupted: daemon restarted")
            .count();
        if facts.end_acked {
            assert_eq!(reason, "ended", "session {s} (iteration {}) was ended and acknowledged", facts.iteration);
            assert_eq!(restarted_warnings, 0, "an ended session got a restart warning: {s}");
        } else if facts.end_sent && reason == "ended" {
            // The end was committed but the kill came before its reply: either outcome is honest.
            assert_eq!(restarted_warnings, 0, "{s}");
        } else {
            assert_eq!(reason, "daemon_restarted", "session {s} was live at the kill of iteration {}", facts.iteration);
            assert_eq!(restarted_warnings, 1, "session {s} needs exactly one warning saying why it ended");
            for i in r["items"].as_array().expect("items") {
                let st = i["status"].as_str().unwrap_or_default();
                assert!(matches!(st, "succeeded" | "failed"), "every item of {s} has a final status: {r}");
            }
        }
    }
}

/// Runs `synccenter db check FILE --json` on the stopped store.
async fn integrity_ok(db: &Path) {
    let out = super::bin().args(["--json", "db", "check"]).arg(db).stdin(Stdio::null()).output();
    let out = tokio::time::timeout(HANG_GUARD, out).await.expect("db check in time").expect("run db check");
    assert_eq!(code(&out), 0, "the store fails its integrity check: {}{}", stdout(&out), stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(report["ok"], true, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_records_survive_sigkill_at_random_moments() {
    let seed = seeded::seed("SYNCCENTER_CRASH_SEED", "crash loop");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("data").join("synccenter.sqlite");
    let ledger: Shared = Arc::default();
    let mut reported = 0;
    for iteration in 0..ITERATIONS {
        let daemon = Daemon::start(dir.path()).await;
        if iteration == 0 {
            let mut c = Client::connect(&daemon.socket).await.expect("connect");
            c.must(
                "handler.register",
                json!({"handler": "crash", "name": "Crash loop", "capabilities": ["supports_concurrent_sessions"]}),
            )
            .await
            .expect("up");
            for item in ITEMS {
                c.must("item.register", json!({"handler": "crash", "item": item, "name": item})).await.expect("up");
            }
        } else {
            verify(&daemon.socket, &ledger).await;
        }
        let kill = KillPoint::new(1 + rng.below(MAX_KILL_POINT));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let (socket, ledger, kill) = (daemon.socket.clone(), ledger.clone(), kill.clone());
                tokio::spawn(reporter(socket, ledger, kill, iteration, rng.next()))
            })
            .collect();
        let reached = tokio::time::timeout(HANG_GUARD, kill.reached.notified()).await;
        reached.unwrap_or_else(|_| panic!("iteration {iteration} never reached its kill point (seed {seed})"));
        daemon.kill().await;
        for c in clients {
            tokio::time::timeout(HANG_GUARD, c).await.expect("a client hung after the kill").expect("client panicked");
        }
        integrity_ok(&db).await;
        reported = with(&ledger, |l| l.sessions.len());
    }
    let daemon = Daemon::start(dir.path()).await;
    verify(&daemon.socket, &ledger).await;
    daemon.kill().await;
    let (events, interrupted) =
        with(&ledger, |l| (l.events.len(), l.sessions.values().filter(|f| !f.end_acked && !f.end_sent).count()));
    assert!(reported > ITERATIONS, "the clients did too little to test anything: {reported} sessions, {events} events");
    // One client stops with its session live at every kill point, so this holds for every seed.
    assert!(interrupted >= ITERATIONS, "only {interrupted} sessions were live at {ITERATIONS} kills (seed {seed})");
}
