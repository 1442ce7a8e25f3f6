//! Measurements against the running daemon: the client's cost of a report, ingest from many owners, the
//! stop-to-push latency with and without load, durable events, and session creation and end.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};
use synccenter_client::{Client, StatusWire};

use crate::raw::{self, Raw};
use crate::report::Lat;

/// The handler every stop round targets (one item, `item`).
pub(crate) const STOP_HANDLER: &str = "h0";
/// A handler that allows concurrent sessions (one item, `item`): every other owner's sessions.
pub(crate) const MANY: &str = "many";

/// Registers the handlers the measurements use.
pub(crate) async fn setup(socket: &Path) -> anyhow::Result<()> {
    let mut c = Raw::hello(socket).await?;
    c.call("handler.register", json!({"handler": STOP_HANDLER, "name": "Stop target"})).await?;
    c.call("item.register", json!({"handler": STOP_HANDLER, "item": "item", "name": "Item"})).await?;
    c.call(
        "handler.register",
        json!({"handler": MANY, "name": "Many owners", "capabilities": ["supports_concurrent_sessions"]}),
    )
    .await?;
    c.call("item.register", json!({"handler": MANY, "item": "item", "name": "Item"})).await?;
    Ok(())
}

/// [`owner`] taking its socket path by value, for a task on another runtime.
async fn owner_at(socket: std::path::PathBuf, handler: &'static str) -> anyhow::Result<(Raw, String)> {
    owner(&socket, handler).await
}

/// A connection that said `hello` and owns a new session of `handler` over `item`.
pub(crate) async fn owner(socket: &Path, handler: &str) -> anyhow::Result<(Raw, String)> {
    let mut c = Raw::hello(socket).await?;
    let s = c.call("session.create", json!({"handler": handler, "items": ["item"]})).await?;
    let id = s["session"].as_str().context("session id")?.to_owned();
    Ok((c, id))
}

/// Notifications per second over `conns` (each with its session), `per` each, all connections at once. Each
/// line is formatted by `line` into a buffer written in chunks, so the sender, which shares the cores, does as
/// little as it can. A final request (`finish`) on each connection proves that every line before it was
/// applied. Returns the rate and the connections.
pub(crate) async fn notify_all(
    conns: Vec<(Raw, String)>,
    per: u32,
    line: fn(&mut String, &str, u32),
    finish: fn(&str) -> Value,
) -> anyhow::Result<(f64, Vec<(Raw, String)>)> {
    let total = conns.len() as f64 * f64::from(per);
    let start = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|(mut c, s)| {
            tokio::spawn(async move {
                let mut buf = String::with_capacity(64 * 1024);
                for n in 0..per {
                    line(&mut buf, &s, n);
                    if buf.len() > 60 * 1024 {
                        c.send_raw(buf.as_bytes()).await?;
                        buf.clear();
                    }
                }
                c.send_raw(buf.as_bytes()).await?;
                c.request(finish(&s)).await?;
                anyhow::Ok((c, s))
            })
        })
        .collect();
    let mut done = Vec::with_capacity(tasks.len());
    for t in tasks {
        done.push(t.await??);
    }
    Ok((total / start.elapsed().as_secs_f64(), done))
}

/// Requests per second over `conns` (each with its session), `per` each, all connections at once, with up to
/// `window` unanswered per connection; then a final request (`finish`) on each.
pub(crate) async fn request_all(
    conns: Vec<(Raw, String)>,
    per: u32,
    window: u32,
    message: fn(&str, u32) -> Value,
    finish: fn(&str) -> Value,
) -> anyhow::Result<f64> {
    let total = conns.len() as f64 * f64::from(per);
    let start = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|(mut c, s)| {
            tokio::spawn(async move {
                c.pipelined(per, window, |n| message(&s, n)).await?;
                c.request(finish(&s)).await?;
                anyhow::Ok(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    Ok(total / start.elapsed().as_secs_f64())
}

fn end_message(session: &str) -> Value {
    json!({"jsonrpc": "2.0", "method": "session.end", "params": {"session": session}})
}

/// Reports per second applied by the daemon from `owners` connections, each with its own session, sent as
/// notifications as fast as the connections can. Each connection's last request is `session.can_continue`,
/// answered once every report before it was applied (like the bare server's final request, it writes
/// nothing); the sessions end after the clock stops, as ending one is a commit, not ingest.
pub(crate) async fn ingest(socket: &Path, owners: usize, per: u32) -> anyhow::Result<f64> {
    let mut conns = Vec::with_capacity(owners);
    for _ in 0..owners {
        conns.push(owner(socket, MANY).await?);
    }
    let line = |buf: &mut String, s: &str, step| raw::progress_line(buf, s, "item", step);
    let (rate, conns) = notify_all(conns, per, line, can_continue_message).await?;
    for (mut c, s) in conns {
        c.request(end_message(&s)).await?;
    }
    Ok(rate)
}

fn can_continue_message(session: &str) -> Value {
    json!({"jsonrpc": "2.0", "method": "session.can_continue", "params": {"session": session}})
}

/// `session.report_progress` as a request, each awaited: the daemon's round trip.
pub(crate) async fn round_trips(socket: &Path, n: u32) -> anyhow::Result<Lat> {
    let (mut c, s) = owner(socket, MANY).await?;
    let mut lat = Vec::with_capacity(n as usize);
    for step in 0..n {
        let t = Instant::now();
        c.request(raw::progress(&s, "item", step)).await?;
        lat.push(t.elapsed());
    }
    c.request(end_message(&s)).await?;
    Ok(Lat::new(lat))
}

/// Client-side cost of `Session::report_progress` through the Rust client.
pub(crate) async fn client_cost(socket: &Path, n: u32) -> anyhow::Result<Lat> {
    let client = Client::connect(socket).await?;
    let session = client.create_session(MANY, ["item"]).await?;
    let mut lat = Vec::with_capacity(n as usize);
    for step in 0..n {
        let t = Instant::now();
        session.report_progress("item", StatusWire::Updating, None, step, n)?;
        lat.push(t.elapsed());
    }
    session.end().await?;
    Ok(Lat::new(lat))
}

/// Background load: connections sending progress notifications at a total rate, in 1 ms ticks, on a runtime
/// (and a thread) of its own: the chatty tools of a real machine are other processes, and their senders must
/// not queue the measuring client's tasks (the bench's runtime) behind theirs.
pub(crate) struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<f64>>>,
    runtime: tokio::runtime::Runtime,
}

impl Load {
    /// Opens `conns` connections with `connect` (each returns the connection and its session) and starts
    /// `rate` notifications per second in total over them; lets it reach its rate. Each connection ends with
    /// the request `finish` builds.
    pub(crate) async fn start<F, Fut>(
        conns: usize,
        connect: F,
        rate: f64,
        finish: fn(&str) -> Value,
    ) -> anyhow::Result<Load>
    where
        F: Fn(usize) -> Fut,
        Fut: Future<Output = anyhow::Result<(Raw, String)>> + Send + 'static,
    {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("bench-load")
            .enable_all()
            .build()?;
        let mut opened = Vec::with_capacity(conns);
        for c in 0..conns {
            opened.push(runtime.spawn(connect(c)).await??);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let per_ms = rate / conns.max(1) as f64 / 1000.0;
        let tasks: Vec<_> = opened
            .into_iter()
            .map(|(mut c, s)| {
                let stop = stop.clone();
                runtime.spawn(async move {
                    let start = Instant::now();
                    let mut sent = 0u64;
                    let mut buf = String::new();
                    while !stop.load(Ordering::Relaxed) {
                        let due = (start.elapsed().as_secs_f64() * 1000.0 * per_ms) as u64;
                        while sent < due {
                            raw::progress_line(&mut buf, &s, "item", sent as u32);
                            sent += 1;
                        }
                        c.send_raw(buf.as_bytes()).await?;
                        buf.clear();
                        c.flush().await?;
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    let rate = sent as f64 / start.elapsed().as_secs_f64();
                    c.request(finish(&s)).await?;
                    anyhow::Ok(rate)
                })
            })
            .collect();
        if !tasks.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(Load { stop, tasks, runtime })
    }

    /// Stops it; returns the rate achieved.
    pub(crate) async fn stop(self) -> anyhow::Result<f64> {
        self.stop.store(true, Ordering::Relaxed);
        let mut achieved = 0.0;
        for t in self.tasks {
            achieved += t.await??;
        }
        // Its connections are closed by now; its thread goes without blocking this one.
        self.runtime.shutdown_background();
        Ok(achieved)
    }
}

/// Time from `control.stop` on one connection to the cancel push on the owner's, with `chatty` connections
/// reporting `rate` reports per second in total meanwhile. Returns the latencies and the load achieved.
pub(crate) async fn stop_latency(socket: &Path, rounds: usize, chatty: usize, rate: f64) -> anyhow::Result<(Lat, f64)> {
    let path = socket.to_owned();
    let load = Load::start(chatty, |_| owner_at(path.clone(), MANY), rate, end_message).await?;
    let mut controller = Raw::hello(socket).await?;
    let mut lat = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let (mut own, s) = owner(socket, STOP_HANDLER).await?;
        let waiter = tokio::spawn(async move {
            own.next_push("session.cancel_requested").await?;
            anyhow::Ok((Instant::now(), own))
        });
        tokio::task::yield_now().await;
        let t = Instant::now();
        controller.call("control.stop", json!({"handler": STOP_HANDLER, "items": ["item"]})).await?;
        let (got, mut own) = waiter.await??;
        lat.push(got.saturating_duration_since(t));
        own.request(end_message(&s)).await?;
    }
    let achieved = load.stop().await?;
    Ok((Lat::new(lat), achieved))
}

fn event_message(session: &str, n: u32) -> Value {
    json!({"jsonrpc": "2.0", "method": "session.report_event",
           "params": {"session": session, "item": "item", "level": "info", "name": "copied", "description": format!("file {n}")}})
}

/// Acknowledged `session.report_event` calls per second from `reporters` connections, `per` each, with up to
/// `window` unanswered per connection: every acknowledgement means the event is committed (WAL,
/// `synchronous=FULL`); concurrent events share commits.
pub(crate) async fn durable_events(socket: &Path, reporters: usize, per: u32, window: u32) -> anyhow::Result<f64> {
    let mut conns = Vec::with_capacity(reporters);
    for _ in 0..reporters {
        conns.push(owner(socket, MANY).await?);
    }
    request_all(conns, per, window.max(1), event_message, end_message).await
}

/// `session.create` + `session.end` pairs per second from `conns` connections, `per` pairs each, one request
/// at a time per connection.
pub(crate) async fn create_end(socket: &Path, conns: usize, per: u32) -> anyhow::Result<f64> {
    let mut cs = Vec::with_capacity(conns);
    for _ in 0..conns {
        cs.push(Raw::hello(socket).await?);
    }
    let start = Instant::now();
    let tasks: Vec<_> = cs
        .into_iter()
        .map(|mut c| {
            tokio::spawn(async move {
                for _ in 0..per {
                    let s = c.call("session.create", json!({"handler": MANY, "items": ["item"]})).await?;
                    c.call("session.end", json!({"session": s["session"]})).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    Ok(conns as f64 * f64::from(per) / start.elapsed().as_secs_f64())
}
