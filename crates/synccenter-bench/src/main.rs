//! `cargo run --release -p synccenter-bench --bin bench`: measures the hot path against a real daemon on a
//! temporary socket and store, and prints each figure with its ratio to a baseline measured in the same run.
//! Results belong in `docs/performance.md`; tests never assert timings.

#![allow(clippy::print_stdout)] // A benchmark's output is its report.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use synccenter_client::{Client, StatusWire};
use synccenter_platform::transport::{ReadHalf, WriteHalf};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};

struct Raw {
    lines: tokio::io::Lines<BufReader<ReadHalf>>,
    write: BufWriter<WriteHalf>,
    next: i64,
}

impl Raw {
    async fn connect(socket: &Path) -> anyhow::Result<Raw> {
        let (r, w) = synccenter_platform::transport::connect(socket).await?.into_split();
        Ok(Raw { lines: BufReader::new(r).lines(), write: BufWriter::new(w), next: 0 })
    }

    async fn send(&mut self, v: serde_json::Value) -> anyhow::Result<()> {
        let mut line = v.to_string();
        line.push('\n');
        self.write.write_all(line.as_bytes()).await?;
        Ok(())
    }

    /// A request; returns its result, skipping pushes.
    async fn call(&mut self, method: &str, params: serde_json::Value) -> anyhow::Result<serde_json::Value> {
        self.request(json!({"jsonrpc": "2.0", "method": method, "params": params})).await
    }

    /// Sends `message` (a notification's shape) as a request with the next ID and returns its result.
    async fn request(&mut self, mut message: serde_json::Value) -> anyhow::Result<serde_json::Value> {
        self.next += 1;
        let id = self.next;
        message["id"] = json!(id);
        self.send(message).await?;
        self.write.flush().await?;
        loop {
            let line = self.lines.next_line().await?.context("daemon closed the connection")?;
            let v: serde_json::Value = serde_json::from_str(&line)?;
            if v["id"] == id {
                anyhow::ensure!(v.get("error").is_none(), "request failed: {v}");
                return Ok(v["result"].clone());
            }
        }
    }

    async fn next_push(&mut self, method: &str) -> anyhow::Result<serde_json::Value> {
        loop {
            let line = self.lines.next_line().await?.context("daemon closed the connection")?;
            let v: serde_json::Value = serde_json::from_str(&line)?;
            if v["method"] == method {
                return Ok(v);
            }
        }
    }

    fn progress(session: &str, item: &str, step: u32) -> serde_json::Value {
        json!({"jsonrpc": "2.0", "method": "session.report_progress",
               "params": {"session": session, "item": item, "status": "updating", "step": step, "max_step": u32::MAX}})
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

async fn setup(socket: &Path, handlers: usize) -> anyhow::Result<()> {
    let mut c = Raw::connect(socket).await?;
    c.call("hello", json!({})).await?;
    for h in 0..handlers {
        c.call("handler.register", json!({"handler": format!("h{h}"), "name": format!("Handler {h}")})).await?;
        c.call("item.register", json!({"handler": format!("h{h}"), "item": "item", "name": "Item"})).await?;
    }
    Ok(())
}

async fn owner(socket: &Path, handler: usize) -> anyhow::Result<(Raw, String)> {
    let mut c = Raw::connect(socket).await?;
    c.call("hello", json!({})).await?;
    let s = c.call("session.create", json!({"handler": format!("h{handler}"), "items": ["item"]})).await?;
    let id = s["session"].as_str().context("session id")?.to_owned();
    Ok((c, id))
}

/// Messages per second from `owners` connections, `per` each (built whole by `message`, so the sender does
/// as little as possible on the shared cores), sent concurrently: requests (each awaited) when `ack`, else
/// notifications; a final `session.end` request on each connection proves every message before it
/// was applied.
async fn concurrent_rate(
    socket: &Path,
    owners: usize,
    per: u32,
    ack: bool,
    message: fn(&str, u32) -> serde_json::Value,
) -> anyhow::Result<f64> {
    let mut conns = Vec::new();
    for h in 0..owners {
        conns.push(owner(socket, h).await?);
    }
    let start = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|(mut c, s)| {
            tokio::spawn(async move {
                for n in 0..per {
                    if ack {
                        c.request(message(&s, n)).await?;
                    } else {
                        c.send(message(&s, n)).await?;
                    }
                }
                c.call("session.end", json!({"session": s})).await?;
                anyhow::Ok(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    Ok(f64::from(per) * owners as f64 / start.elapsed().as_secs_f64())
}

/// Reports per second applied by the daemon, sent as notifications as fast as the connections can.
async fn ingest(socket: &Path, clients: usize, per_client: u32) -> anyhow::Result<f64> {
    concurrent_rate(socket, clients, per_client, false, |s, step| Raw::progress(s, "item", step)).await
}

/// The baseline: one request and its response per report.
async fn round_trips(socket: &Path, n: u32) -> anyhow::Result<(f64, Vec<Duration>)> {
    let (mut c, s) = owner(socket, 0).await?;
    let mut lat = Vec::with_capacity(n as usize);
    let start = Instant::now();
    for step in 0..n {
        let t = Instant::now();
        c.call(
            "session.report_progress",
            json!({"session": s, "item": "item", "status": "updating", "step": step, "max_step": n}),
        )
        .await?;
        lat.push(t.elapsed());
    }
    let rate = f64::from(n) / start.elapsed().as_secs_f64();
    c.call("session.end", json!({"session": s})).await?;
    lat.sort();
    Ok((rate, lat))
}

/// Client-side cost of `Session::report_progress` through the Rust client.
async fn client_cost(socket: &Path, n: u32) -> anyhow::Result<Vec<Duration>> {
    let client = Client::connect(socket).await?;
    let session = client.create_session("h0", ["item"]).await?;
    let mut lat = Vec::with_capacity(n as usize);
    for step in 0..n {
        let t = Instant::now();
        session.report_progress("item", StatusWire::Updating, None, step, n)?;
        lat.push(t.elapsed());
    }
    session.end().await?;
    lat.sort();
    Ok(lat)
}

/// Time from `control.stop` on one connection to the cancel push on the owner's, with `chatty` connections
/// reporting `rate` reports per second in total meanwhile.
async fn stop_latency(socket: &Path, rounds: usize, chatty: usize, rate: f64) -> anyhow::Result<Vec<Duration>> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut noise = Vec::new();
    for h in 0..chatty {
        let (mut c, s) = owner(socket, 1 + h).await?;
        let stop = stop.clone();
        let per_ms = rate / chatty as f64 / 1000.0;
        noise.push(tokio::spawn(async move {
            let start = Instant::now();
            let mut sent = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let due = (start.elapsed().as_secs_f64() * 1000.0 * per_ms) as u64;
                while sent < due {
                    c.send(Raw::progress(&s, "item", sent as u32)).await?;
                    sent += 1;
                }
                c.write.flush().await?;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            c.call("session.end", json!({"session": s})).await?;
            anyhow::Ok(sent as f64 / start.elapsed().as_secs_f64())
        }));
    }
    let mut controller = Raw::connect(socket).await?;
    controller.call("hello", json!({})).await?;
    let mut lat = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let (mut own, s) = owner(socket, 0).await?;
        let waiter = tokio::spawn(async move {
            own.next_push("session.cancel_requested").await?;
            anyhow::Ok((Instant::now(), own))
        });
        tokio::task::yield_now().await;
        let t = Instant::now();
        controller.call("control.stop", json!({"handler": "h0", "items": ["item"]})).await?;
        let (got, mut own) = waiter.await??;
        lat.push(got.saturating_duration_since(t));
        own.call("session.end", json!({"session": s})).await?;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut achieved = 0.0;
    for n in noise {
        achieved += n.await??;
    }
    if chatty > 0 {
        println!("    (background load achieved: {achieved:.0} reports/s from {chatty} connections)");
    }
    lat.sort();
    Ok(lat)
}

/// Acknowledged `session.report_event` calls per second from `reporters` connections, `per` each: every
/// acknowledgement means the event is committed (WAL, `synchronous=FULL`); concurrent reporters share commits.
async fn durable_events(socket: &Path, reporters: usize, per: u32) -> anyhow::Result<f64> {
    concurrent_rate(socket, reporters, per, true, |s, n| {
        json!({"jsonrpc": "2.0", "method": "session.report_event",
               "params": {"session": s, "item": "item", "level": "info", "name": "copied", "description": format!("file {n}")}})
    })
    .await
}

/// The baseline for durable events: one SQLite transaction per event, written directly to a fresh store.
async fn bare_commits(dir: &Path, n: u32) -> anyhow::Result<f64> {
    use synccenter_core::{Change, Event, EventId, EventLevel, HandlerId, Store, Timestamp};
    let store = synccenter_store_sqlite::SqliteStore::open(&dir.join("bare.sqlite")).await?;
    let handler = HandlerId::new("bare")?;
    let start = Instant::now();
    for i in 0..n {
        let id = EventId(uuid::Uuid::from_u128(u128::from(i) + 1));
        let event = Event {
            id,
            handler: handler.clone(),
            item: None,
            session: None,
            level: EventLevel::Info,
            name: "copied".into(),
            description: format!("file {i}"),
            link_text: None,
            link_reference: None,
            context: None,
            time: Timestamp::from_micros(i64::from(i)),
        };
        store.apply(&[Change::EventAdded(event)]).await?;
    }
    Ok(f64::from(n) / start.elapsed().as_secs_f64())
}

/// `session.create` + `session.end` pairs per second on one connection.
async fn create_end(socket: &Path, n: u32) -> anyhow::Result<f64> {
    let mut c = Raw::connect(socket).await?;
    c.call("hello", json!({})).await?;
    let start = Instant::now();
    for _ in 0..n {
        let s = c.call("session.create", json!({"handler": "h0", "items": ["item"]})).await?;
        c.call("session.end", json!({"session": s["session"]})).await?;
    }
    Ok(f64::from(n) / start.elapsed().as_secs_f64())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let socket: PathBuf = synccenter_platform::transport::endpoint_in(dir.path(), "s");
    let listener = synccenter_daemon::bind(&socket)?;
    let config = synccenter_daemon::Config::new(socket.clone(), dir.path().join("data"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(synccenter_daemon::run(config, listener, async move {
        let _ = rx.await;
    }));
    setup(&socket, 20).await?;

    println!("synccenter benchmark ({} cores)", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let (rtt_rate, rtt) = round_trips(&socket, 20_000).await?;
    println!("\nbaseline: request/response per report");
    println!("  {:<46} {:>12.0} reports/s", "round trip per report", rtt_rate);
    println!(
        "  {:<46} {:>9.1} µs median, {:.1} µs p99",
        "round trip latency",
        us(percentile(&rtt, 0.5)),
        us(percentile(&rtt, 0.99))
    );

    let cost = client_cost(&socket, 200_000).await?;
    let cost_med = percentile(&cost, 0.5);
    println!("\n1. client-side cost of Session::report_progress (Rust client)");
    println!(
        "  {:<46} {:>9.3} µs median, {:.3} µs p99   ({:.0}x cheaper than a round trip)",
        "report_progress",
        us(cost_med),
        us(percentile(&cost, 0.99)),
        us(percentile(&rtt, 0.5)) / us(cost_med).max(1e-9)
    );

    println!("\n2. reports per second applied by the daemon (notifications)");
    for clients in [1usize, 16] {
        let per = if clients == 1 { 400_000 } else { 50_000 };
        let rate = ingest(&socket, clients, per).await?;
        println!(
            "  {:<46} {:>12.0} reports/s   ({:.1}x the round-trip baseline)",
            format!("{clients} client(s)"),
            rate,
            rate / rtt_rate
        );
    }

    println!("\n3. control.stop -> cancel push at the owner");
    for (chatty, rate) in [(0usize, 0.0), (16, 100_000.0)] {
        let lat = stop_latency(&socket, 300, chatty, rate).await?;
        println!(
            "  {:<46} {:>9.1} µs p50, {:.1} µs p99, {:.1} µs max   (p99 {:.2}x a round trip)",
            format!("with {chatty} chatty clients"),
            us(percentile(&lat, 0.5)),
            us(percentile(&lat, 0.99)),
            us(percentile(&lat, 1.0)),
            us(percentile(&lat, 0.99)) / us(percentile(&rtt, 0.5)).max(1e-9)
        );
    }

    println!("\n4. durable events (acknowledged session.report_event; WAL, synchronous=FULL)");
    let bare = bare_commits(dir.path(), 2_000).await?;
    println!("  {:<46} {:>12.0} events/s", "baseline: one SQLite commit per event", bare);
    for reporters in [1usize, 16] {
        let per = if reporters == 1 { 2_000 } else { 500 };
        let rate = durable_events(&socket, reporters, per).await?;
        println!(
            "  {:<46} {:>12.0} events/s   ({:.1}x the bare commit)",
            format!("{reporters} reporter(s)"),
            rate,
            rate / bare
        );
    }

    println!("\n5. session.create + session.end");
    let pairs = create_end(&socket, 2_000).await?;
    println!(
        "  {:<46} {:>12.0} pairs/s   ({:.2}x a round trip per pair)",
        "one connection",
        pairs,
        pairs / (rtt_rate / 2.0)
    );

    let _ = tx.send(());
    daemon.await??;
    Ok(())
}
