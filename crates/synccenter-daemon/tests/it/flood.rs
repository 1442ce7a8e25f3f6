//! Floods of running progress (issue 16): every connection has a bounded queue in which running reports are
//! latest-wins per item, and the hub drains the queues in turns. So a flood from many connections must not
//! keep a stop or a status from being answered, the last value of every item must still reach watchers and the
//! store, a final status must win over the running reports before it, and a flooding connection's own
//! requests must be answered in order. Nothing here measures time: every wait is on an event, under a hang
//! guard that fails the test saying what it waited for, and every flood is bounded by a count.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use synccenter_platform::transport::WriteHalf;
use synccenter_test_support::{HANG_GUARD, RawConn, TestDaemon};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// Just under the test support's hang guard, so a hang fails here, saying what was awaited, rather than inside
/// one of its reads.
const GUARD: Duration = Duration::from_secs(HANG_GUARD.as_secs() - 1);

/// The size of one write of a flooding client.
const CHUNK: usize = 64 * 1024;

/// The most chunks a flooder writes before it gives up on being told to stop: gigabytes, far more than the
/// daemon parses within the hang guard on any machine, so the bound is never what ends a flood in a passing run.
const MAX_CHUNKS: usize = 100_000;

async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(GUARD, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: did not happen within {GUARD:?} (hang guard)"),
    }
}

fn progress_line(session: &str, item: &str, status: &str, step: u32, max_step: u32) -> String {
    let params = json!({"session": session, "item": item, "status": status, "step": step, "max_step": max_step});
    format!("{}\n", json!({"jsonrpc": "2.0", "method": "session.report_progress", "params": params}))
}

fn request_line(id: u64, method: &str, params: Value) -> String {
    format!("{}\n", json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
}

/// Whole lines, repeated until the chunk is about [`CHUNK`] bytes.
fn chunk_of(lines: impl Iterator<Item = String>) -> Vec<u8> {
    let mut chunk = Vec::with_capacity(CHUNK + 512);
    for line in lines {
        if chunk.len() >= CHUNK {
            break;
        }
        chunk.extend_from_slice(line.as_bytes());
    }
    chunk
}

/// Writes `bytes` in big writes that cut lines anywhere (the daemon puts them back together).
async fn send_chunked(c: &mut RawConn, what: &str, bytes: &[u8]) {
    within(what, async {
        for chunk in bytes.chunks(CHUNK) {
            c.send_bytes(chunk).await;
        }
    })
    .await;
}

/// How a flooder's flood ended.
#[derive(Debug, PartialEq, Eq)]
enum Flooded {
    /// Told to stop, after this many chunks.
    Stopped(usize),
    /// Wrote [`MAX_CHUNKS`] without being told to stop.
    Exhausted,
    /// The daemon stopped taking its bytes.
    Failed(String),
}

/// Writes `chunk` again and again until `stop`; says on `started` once it has written `warm_up` chunks.
async fn flood(
    mut write: WriteHalf,
    chunk: Vec<u8>,
    warm_up: usize,
    started: mpsc::Sender<()>,
    stop: Arc<AtomicBool>,
) -> Flooded {
    for n in 0..MAX_CHUNKS {
        if stop.load(Ordering::SeqCst) {
            return Flooded::Stopped(n);
        }
        if let Err(e) = write.write_all(&chunk).await {
            return Flooded::Failed(e.to_string());
        }
        if n + 1 == warm_up {
            let _ = started.send(()).await;
        }
    }
    Flooded::Exhausted
}

/// `n` owners, each with its own handler `h{i}` of `items` and a live session over them.
async fn owners(d: &TestDaemon, n: usize, items: &[&str]) -> Vec<(RawConn, String)> {
    let mut owners = Vec::new();
    for i in 0..n {
        let mut owner = d.raw().await;
        let handler = format!("h{i}");
        owner.setup(&handler, items, json!({})).await;
        let session = owner.session(&handler, items).await;
        owners.push((owner, session));
    }
    owners
}

/// Sixteen owners flood running progress, each into its own session of its own handler, from their own tasks;
/// meanwhile a stop from another connection is answered and pushed to its owner, and an idle connection's
/// `status` is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_and_a_status_are_answered_under_a_flood_from_many_connections() {
    const OWNERS: usize = 16;
    const STOPPED: usize = 3;
    let d = TestDaemon::start().await;
    let mut idle = d.raw().await;
    let mut user = d.raw().await;
    let stop = Arc::new(AtomicBool::new(false));
    let (started_tx, mut started) = mpsc::channel(OWNERS);
    // Everybody is set up first, so no setup waits behind the flood.
    let owners = owners(&d, OWNERS, &["docs"]).await;
    let mut floods = Vec::new();
    let mut stopped_owner = None;
    for (i, (owner, session)) in owners.into_iter().enumerate() {
        let (reader, write) = owner.into_split();
        let chunk = chunk_of((0..).map(|step| progress_line(&session, "docs", "updating", step % 1000, 1000)));
        floods.push(tokio::spawn(flood(write, chunk, 4, started_tx.clone(), stop.clone())));
        if i == STOPPED {
            stopped_owner = Some((reader, session));
        }
    }
    let (mut stopped_reader, stopped_session) = stopped_owner.expect("the stopped owner");
    // Every owner has written several chunks (more than a socket buffer holds): the flood is on.
    for _ in 0..OWNERS {
        within("every owner flooding", started.recv()).await.expect("a flooder");
    }

    within("control.stop answered", user.ok("control.stop", json!({"handler": format!("h{STOPPED}")}))).await;
    let push = within("the cancel push reaching the flooding owner", async {
        stopped_reader.next_push_of("session.cancel_requested").await
    })
    .await;
    assert_eq!(push["params"], json!({"session": stopped_session, "cancel": "cancel_all"}));
    let status = within("status answered on an idle connection", idle.ok("status", json!({}))).await;
    assert_eq!(status["connections"], OWNERS + 2, "{status}");
    assert_eq!(status["live_sessions"], OWNERS, "{status}");

    // The stop is in force for that session only.
    let live = within("sessions.list answered", user.ok("sessions.list", json!({}))).await;
    let sessions = live["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), OWNERS, "{live}");
    let stopped: Vec<&Value> = sessions.iter().filter(|s| s["stop_all"] == true).collect();
    assert_eq!(stopped.len(), 1, "{live}");
    assert_eq!(stopped[0]["session"], stopped_session.as_str());

    stop.store(true, Ordering::SeqCst);
    for (i, f) in floods.into_iter().enumerate() {
        let flooded = within("a flooder stopping", f).await.expect("flooder task");
        assert!(
            matches!(flooded, Flooded::Stopped(n) if n >= 4),
            "owner {i} should have flooded until told to stop (the flood was on throughout): {flooded:?}"
        );
    }
}

/// Has every owner flood its session at once, each from its own task: running progress of each item, step by
/// step up to `last`, in big writes. Hands the owners back once the daemon has taken every byte.
async fn flood_items(owners: Vec<(RawConn, String)>, items: &[&str], last: u32) -> Vec<RawConn> {
    let mut tasks = Vec::new();
    for (mut owner, session) in owners {
        let mut all = Vec::new();
        for step in 0..=last {
            for item in items {
                all.extend_from_slice(progress_line(&session, item, "updating", step, last).as_bytes());
            }
        }
        tasks.push(tokio::spawn(async move {
            send_chunked(&mut owner, "the daemon taking an owner's flood", &all).await;
            owner
        }));
    }
    let mut done = Vec::new();
    for t in tasks {
        done.push(within("an owner's flood written", t).await.expect("owner task"));
    }
    done
}

/// Reads a watcher's updates until each of `items` items of `sessions` was shown at step `last`; a step never
/// goes back.
async fn watch_until(mut watcher: RawConn, sessions: Vec<String>, items: usize, last: u32) {
    let mut seen: BTreeMap<(String, String), u64> = BTreeMap::new();
    while seen.len() < items || seen.values().any(|s| *s != u64::from(last)) {
        let u = watcher.next_push_of("update").await;
        let p = &u["params"];
        if p["type"] != "progress" {
            continue;
        }
        let key =
            (p["session"].as_str().unwrap_or_default().to_owned(), p["item"].as_str().unwrap_or_default().to_owned());
        assert!(sessions.contains(&key.0), "progress of an unknown session: {u}");
        assert_eq!(p["status"], "updating", "{u}");
        let step = p["step"].as_u64().expect("step");
        let before = seen.insert(key, step).unwrap_or(0);
        assert!(step >= before, "a watcher saw an item's step go back from {before}: {u}");
    }
}

/// After a flood, watchers see every item's last step (and never a step going back), and the store and the
/// live list hold it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_value_of_every_item_reaches_watchers_and_the_store() {
    const OWNERS: usize = 8;
    const ITEMS: [&str; 4] = ["i0", "i1", "i2", "i3"];
    const LAST: u32 = 2000;
    let d = TestDaemon::start().await;
    let mut watcher = d.raw().await;
    watcher.ok("subscribe", json!({})).await;
    let owners = owners(&d, OWNERS, &ITEMS).await;
    let sessions: Vec<String> = owners.iter().map(|(_, s)| s.clone()).collect();
    // The watcher reads throughout, as a dashboard does.
    let watching = tokio::spawn(watch_until(watcher, sessions.clone(), OWNERS * ITEMS.len(), LAST));
    let mut owners = flood_items(owners, &ITEMS, LAST).await;
    within("the last step of every item reaching the watcher", watching).await.expect("watcher task");

    let mut user = d.raw().await;
    let live = user.ok("sessions.list", json!({})).await;
    let shown = live["sessions"].as_array().expect("sessions");
    assert_eq!(shown.len(), OWNERS, "{live}");
    for s in shown {
        for item in s["items"].as_array().expect("items") {
            assert_eq!(item["step"], LAST, "live list: {s}");
        }
    }
    for (i, session) in sessions.iter().enumerate() {
        let history = user.ok("sessions.history", json!({"handler": format!("h{i}")})).await;
        let stored = &history["sessions"][0];
        assert_eq!(stored["session"], session.as_str(), "{history}");
        let items = stored["items"].as_array().expect("items");
        assert_eq!(items.len(), ITEMS.len(), "{history}");
        for item in items {
            assert_eq!((&item["status"], &item["step"]), (&json!("updating"), &json!(LAST)), "store: {history}");
        }
    }
    // The sessions end; what the store keeps of them is still the last value.
    for (owner, session) in owners.iter_mut().zip(&sessions) {
        owner.ok("session.end", json!({"session": session})).await;
    }
    for i in 0..OWNERS {
        let history = user.ok("sessions.history", json!({"handler": format!("h{i}")})).await;
        for item in history["sessions"][0]["items"].as_array().expect("items") {
            assert_eq!(item["step"], LAST, "store after the end: {history}");
        }
    }
}

/// Running progress for both items, then a final status for each, in one burst of writes.
fn burst_then_final(session: &str, items: &[&str], steps: u32, last: &str) -> Vec<u8> {
    let mut all = Vec::new();
    for step in 0..steps {
        for item in items {
            all.extend_from_slice(progress_line(session, item, "updating", step, steps).as_bytes());
        }
    }
    for item in items {
        all.extend_from_slice(progress_line(session, item, last, steps, steps).as_bytes());
    }
    all
}

/// A final status right behind a burst of running reports wins: the session succeeds, watchers see the final
/// status last, the store keeps it, and a running report after it is refused as the spec says (b02, b41).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_final_status_right_after_a_burst_of_running_progress_wins() {
    const STEPS: u32 = 5000;
    let d = TestDaemon::start().await;
    let mut c = d.raw().await;
    c.setup("nas", &["docs", "photos"], json!({})).await;
    let mut watcher = d.raw().await;
    watcher.ok("subscribe", json!({})).await;
    let s = c.session("nas", &["docs", "photos"]).await;
    send_chunked(&mut c, "the daemon taking the burst", &burst_then_final(&s, &["docs", "photos"], STEPS, "succeeded"))
        .await;
    let end = within("session.end answered", c.ok("session.end", json!({"session": s}))).await;
    assert_eq!(end, json!({"status": "succeeded", "errors": 0, "conflicts": 0}));

    // Watchers: each item's last progress update before the end is its final status.
    let mut last: BTreeMap<String, Value> = BTreeMap::new();
    let ended = within("the session's end reaching the watcher", async {
        loop {
            let u = watcher.next_push_of("update").await;
            match u["params"]["type"].as_str() {
                Some("progress") if u["params"]["session"] == s.as_str() => {
                    let item = u["params"]["item"].as_str().unwrap_or_default().to_owned();
                    last.insert(item, u["params"]["status"].clone());
                }
                Some("session_ended") if u["params"]["session"] == s.as_str() => return u,
                _ => {}
            }
        }
    })
    .await;
    assert_eq!(ended["params"]["status"], "succeeded", "{ended}");
    let expected: BTreeMap<String, Value> =
        [("docs".to_owned(), json!("succeeded")), ("photos".to_owned(), json!("succeeded"))].into();
    assert_eq!(last, expected, "the last update of each item is its final status");

    // The store.
    let history = c.ok("sessions.history", json!({"handler": "nas"})).await;
    let stored = &history["sessions"][0];
    assert_eq!((&stored["session"], &stored["status"]), (&json!(s), &json!("succeeded")), "{history}");
    for item in stored["items"].as_array().expect("items") {
        assert_eq!(item["status"], "succeeded", "{history}");
    }
    // b41: the session is over.
    let late = json!({"session": s, "item": "docs", "status": "updating", "step": 1, "max_step": 1});
    assert_eq!(c.err("session.report_progress", late).await.0, "E_UNEXPECTED");

    // b02 in a live session: after a burst and `succeeded`, a running report is refused and the item fails.
    let s2 = c.session("nas", &["docs"]).await;
    send_chunked(&mut c, "the daemon taking the burst", &burst_then_final(&s2, &["docs"], STEPS, "succeeded")).await;
    let late = json!({"session": s2, "item": "docs", "status": "updating", "step": 1, "max_step": 1});
    assert_eq!(c.err("session.report_progress", late).await, ("E_ACCESSDENIED".into(), 0x8007_0005));
    let live = c.ok("sessions.list", json!({})).await;
    assert_eq!(live["sessions"][0]["items"][0]["status"], "failed", "{live}");
    assert_eq!(c.ok("session.end", json!({"session": s2})).await["status"], "failed");
}

/// A connection's own requests, spread among thousands of its progress notifications, are answered in the
/// order they were sent, including a durable one whose reply waits for a commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_connections_own_requests_are_answered_in_order() {
    const REQUESTS: u64 = 80;
    const BETWEEN: u32 = 150;
    let d = TestDaemon::start().await;
    let mut c = d.raw().await;
    c.setup("nas", &["docs"], json!({})).await;
    let s = c.session("nas", &["docs"]).await;
    let mut all = Vec::new();
    let mut step = 0;
    // The number of reports sent before each request.
    let mut reports_before = Vec::new();
    for id in 1..=REQUESTS {
        for _ in 0..BETWEEN {
            all.extend_from_slice(progress_line(&s, "docs", "updating", step, u32::MAX).as_bytes());
            step += 1;
        }
        reports_before.push(u64::from(step));
        let line = match id % 4 {
            0 => request_line(id, "session.can_continue", json!({"session": s, "item": "docs"})),
            1 => request_line(
                id,
                "session.report_event",
                json!({"session": s, "level": "info", "name": format!("e{id}"), "description": "d"}),
            ),
            2 => request_line(id, "status", json!({})),
            _ => {
                step += 1;
                let params = json!({"session": s, "item": "docs", "status": "updating", "step": step - 1});
                request_line(id, "session.report_progress", params)
            }
        };
        all.extend_from_slice(line.as_bytes());
    }
    send_chunked(&mut c, "the daemon taking the flood", &all).await;

    let mut ids = Vec::new();
    within("every reply", async {
        while ids.len() < REQUESTS as usize {
            let m = c.read_message().await;
            let Some(id) = m.get("id").and_then(Value::as_u64) else { continue };
            assert!(m.get("error").is_none(), "request {id} failed: {m}");
            let r = &m["result"];
            match id % 4 {
                0 => assert_eq!(*r, json!({"continue": true}), "{m}"),
                1 => assert!(r["event"].is_string(), "{m}"),
                2 => {
                    // Every report sent before it was taken in first.
                    let applied = r["reports_applied"].as_u64().expect("reports_applied");
                    let index = usize::try_from(id - 1).expect("index");
                    assert!(applied >= reports_before[index], "status {id} came before earlier reports: {m}");
                }
                _ => assert_eq!(*r, json!({"cancel": "none"}), "{m}"),
            }
            ids.push(id);
        }
    })
    .await;
    let expected: Vec<u64> = (1..=REQUESTS).collect();
    assert_eq!(ids, expected, "replies in the order of the requests");
    let live = c.ok("sessions.list", json!({})).await;
    assert_eq!(live["sessions"][0]["items"][0]["step"], step - 1, "{live}");
    let events = c.ok("events.list", json!({"handler": "nas"})).await;
    assert_eq!(events["total"], REQUESTS / 4, "{events}");
}

/// One connection writes running progress for thousands of distinct (unknown) sessions as fast as it can: far
/// more distinct items than its queue holds, so the daemon stops reading it whenever the queue is full. What a
/// client can see of that, without measuring time or the daemon's memory: its socket blocks, another
/// connection is served meanwhile, the daemon reads on once the hub has drained the queue, and the flooding
/// connection is still served afterwards, behind all it sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_flooding_distinct_items_is_held_back_by_its_socket_and_others_are_served() {
    const DISTINCT: u32 = 20_000;
    let d = TestDaemon::start().await;
    let mut idle = d.raw().await;
    let mut stream = synccenter_platform::transport::connect(&d.socket).await.expect("connect");
    let mut all = Vec::new();
    for n in 0..DISTINCT {
        let session = format!("{n:08x}-0000-4000-8000-000000000000");
        all.extend_from_slice(progress_line(&session, &format!("i{n}"), "updating", 1, 2).as_bytes());
    }
    let stop = Arc::new(AtomicBool::new(false));
    let (blocked_tx, mut blocked) = mpsc::channel::<()>(1);
    let flooder = tokio::spawn({
        let stop = stop.clone();
        async move {
            let (mut at, mut writes, mut would_block) = (0, 0usize, 0usize);
            while !stop.load(Ordering::SeqCst) && writes < MAX_CHUNKS {
                let end = all.len().min(at + CHUNK);
                let n = match stream.try_write(&all[at..end]) {
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        would_block += 1;
                        let _ = blocked_tx.try_send(());
                        // Wait until the socket takes bytes again.
                        stream.write(&all[at..end]).await.expect("the daemon takes the flood's bytes")
                    }
                    Err(e) => panic!("the daemon stopped taking the flood's bytes: {e}"),
                };
                writes += 1;
                at = (at + n) % all.len();
            }
            // Finish the line in progress, then ask something behind the whole flood.
            let line_end = all[at..].iter().position(|b| *b == b'\n').map_or(all.len(), |p| at + p + 1);
            stream.write_all(&all[at..line_end]).await.expect("finish the line");
            (stream, writes, would_block)
        }
    });
    within("the flooding client's socket blocking", blocked.recv()).await.expect("flooder");
    // The daemon is busy with the flood; another connection is served.
    let status = within("status answered on another connection", idle.ok("status", json!({}))).await;
    assert_eq!(status["connections"], 2, "{status}");
    stop.store(true, Ordering::SeqCst);
    // The flooder's last write completes once the daemon reads its socket again.
    let (mut stream, writes, would_block) =
        within("the daemon reading the flooding connection again", flooder).await.expect("flooder task");
    assert!(writes < MAX_CHUNKS, "the flood ended before the other connection was answered");
    assert!(would_block >= 1);

    stream.write_all(request_line(1, "status", json!({})).as_bytes()).await.expect("request");
    let mut reader = BufReader::new(&mut stream);
    let mut line = String::new();
    within("the flooding connection's own request answered", reader.read_line(&mut line)).await.expect("read");
    let reply: Value = serde_json::from_str(line.trim()).expect("one reply line");
    assert_eq!(reply["id"], 1, "refused progress notifications are not answered: {reply}");
    assert!(reply["result"]["reports_applied"].as_u64().is_some(), "{reply}");
}

/// The everyday face of a full queue: an owner whose session has more items than its connection's queue holds
/// (1,024) reports each item once, in one write, and then asks for the live list. The reports are one run of
/// distinct items that fills the queue; once the hub has taken the run, the connection must read again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_with_more_items_than_the_queue_holds_reports_each_of_them() {
    const ITEMS: usize = 1500;
    let d = TestDaemon::start().await;
    let mut c = d.raw().await;
    c.setup("nas", &[], json!({})).await;
    let items: Vec<String> = (0..ITEMS).map(|i| format!("i{i}")).collect();
    let mut register = String::new();
    for (id, item) in (1..).zip(&items) {
        register.push_str(&request_line(id, "item.register", json!({"handler": "nas", "item": item, "name": item})));
    }
    send_chunked(&mut c, "the daemon taking the registrations", register.as_bytes()).await;
    for id in 1..=ITEMS {
        let r = c.response(i64::try_from(id).expect("id")).await;
        assert!(r.get("error").is_none(), "{r}");
    }
    let s = c.ok("session.create", json!({"handler": "nas", "items": items})).await["session"]
        .as_str()
        .expect("session")
        .to_owned();
    let reports: String = items.iter().map(|item| progress_line(&s, item, "updating", 1, 2)).collect();
    send_chunked(&mut c, "the daemon taking one report per item", reports.as_bytes()).await;
    let live = within("sessions.list answered behind the reports", c.ok("sessions.list", json!({}))).await;
    let shown = live["sessions"][0]["items"].as_array().expect("items");
    assert_eq!(shown.len(), ITEMS);
    assert!(shown.iter().all(|i| i["status"] == "updating" && i["step"] == 1), "every item's report was applied");
}
