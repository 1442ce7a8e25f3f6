//! Baselines measured in the same run, with nothing of synccenter in them: a Unix-socket echo for the round
//! trip, a relay for a push to an idle client, a JSON-lines ingest into a map without rules, and one SQLite
//! commit per event. Each runs on the bench's own runtime, like the in-process daemon it is compared with; the
//! relay also runs on a thread of its own ([`OwnThread`]), the floor for a daemon in its own process.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{UnixListener, UnixStream};

use crate::raw::{self, Raw};
use crate::report::Lat;

/// A server on a fresh socket in `dir`, each accepted connection served by `serve`, on the bench's runtime.
fn server<F, Fut>(dir: &Path, name: &str, serve: F) -> anyhow::Result<std::path::PathBuf>
where
    F: Fn(UnixStream) -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    server_on(&tokio::runtime::Handle::current(), dir, name, serve)
}

/// [`server`] on the runtime `on` (its accept loop and connections run there).
fn server_on<F, Fut>(
    on: &tokio::runtime::Handle,
    dir: &Path,
    name: &str,
    serve: F,
) -> anyhow::Result<std::path::PathBuf>
where
    F: Fn(UnixStream) -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let path = dir.join(name);
    let listener = std::os::unix::net::UnixListener::bind(&path)?;
    listener.set_nonblocking(true)?;
    on.spawn(async move {
        let Ok(listener) = UnixListener::from_std(listener) else { return };
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream));
        }
    });
    Ok(path)
}

/// A single-threaded runtime on a thread of its own, as the daemon's control lane is: a server there is
/// woken by the operating system for each line, as a server in another process is. Stops when dropped.
pub(crate) struct OwnThread {
    pub(crate) handle: tokio::runtime::Handle,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl OwnThread {
    pub(crate) fn start() -> anyhow::Result<OwnThread> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new().name("bench-relay".into()).spawn(move || {
            runtime.block_on(async {
                let _ = stopped.await;
            });
        })?;
        Ok(OwnThread { handle, _stop: stop })
    }
}

/// Request/response round trips of a progress-report-sized JSON line against a server that writes each line
/// straight back; the client does what it does against the daemon (build, send, read, parse).
pub(crate) async fn round_trip(dir: &Path, n: u32) -> anyhow::Result<Lat> {
    let path = server(dir, "echo.sock", |stream| async move {
        let (r, w) = stream.into_split();
        let mut lines = BufReader::new(r).lines();
        let mut w = BufWriter::new(w);
        while let Some(mut line) = lines.next_line().await? {
            line.push('\n');
            w.write_all(line.as_bytes()).await?;
            w.flush().await?;
        }
        Ok(())
    })?;
    let mut c = Raw::connect(&path).await?;
    let mut lat = Vec::with_capacity(n as usize);
    for step in 0..n {
        let t = Instant::now();
        c.request(raw::progress("00000000-0000-0000-0000-000000000000", "item", step)).await?;
        lat.push(t.elapsed());
    }
    Ok(Lat::new(lat))
}

/// A push to an idle client: a line from one connection makes the server write a line to another that is
/// blocked reading, and answer the first. The time is from the sender's write to the idle client's read.
pub(crate) async fn push(dir: &Path, name: &str, rounds: usize) -> anyhow::Result<Lat> {
    push_on(&tokio::runtime::Handle::current(), dir, name, rounds).await
}

/// [`push`] with the relay on `on`.
pub(crate) async fn push_on(on: &tokio::runtime::Handle, dir: &Path, name: &str, rounds: usize) -> anyhow::Result<Lat> {
    type Shared = Arc<tokio::sync::Mutex<Option<BufWriter<tokio::net::unix::OwnedWriteHalf>>>>;
    let idle: Shared = Arc::new(tokio::sync::Mutex::new(None));
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let path = server_on(on, dir, name, move |stream| {
        let idle = idle.clone();
        let first = first.clone();
        async move {
            let (r, w) = stream.into_split();
            if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
                // The first connection is the idle client.
                *idle.lock().await = Some(BufWriter::new(w));
                let mut lines = BufReader::new(r).lines();
                while lines.next_line().await?.is_some() {}
                return Ok(());
            }
            let mut lines = BufReader::new(r).lines();
            let mut w = BufWriter::new(w);
            while let Some(mut line) = lines.next_line().await? {
                if let Some(out) = idle.lock().await.as_mut() {
                    out.write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"session.cancel_requested\",\"params\":{\"session\":\"00000000-0000-0000-0000-000000000000\",\"cancel\":\"cancel_all\"}}\n").await?;
                    out.flush().await?;
                }
                line.push('\n');
                w.write_all(line.as_bytes()).await?;
                w.flush().await?;
            }
            Ok(())
        }
    })?;
    let mut idle_client = Raw::connect(&path).await?;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut sender = Raw::connect(&path).await?;
    let mut lat = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let waiter = tokio::spawn(async move {
            idle_client.next_push("session.cancel_requested").await?;
            anyhow::Ok((Instant::now(), idle_client))
        });
        tokio::task::yield_now().await;
        let t = Instant::now();
        sender.call("control.stop", json!({"handler": "h0"})).await?;
        let (got, back) = waiter.await??;
        idle_client = back;
        lat.push(got.saturating_duration_since(t));
    }
    Ok(Lat::new(lat))
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    #[allow(dead_code)] // Parsed like the daemon parses it; nothing to check.
    method: &'a str,
    #[serde(default)]
    id: Option<i64>,
    #[serde(borrow)]
    params: Option<Params<'a>>,
}

#[derive(Deserialize)]
struct Params<'a> {
    #[serde(borrow)]
    session: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    item: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    step: u32,
}

type Map = Arc<Mutex<HashMap<Box<str>, u32>>>;

/// The no-rules ingest server on a fresh socket, and its map.
fn ingest_server(dir: &Path, name: &str) -> anyhow::Result<(std::path::PathBuf, Map)> {
    let map: Map = Arc::default();
    let server_map = map.clone();
    let path = server(dir, name, move |stream| {
        let map = server_map.clone();
        async move {
            let (r, w) = stream.into_split();
            let mut r = BufReader::new(r);
            let mut w = BufWriter::new(w);
            let mut line = String::new();
            let mut key = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                let msg: Envelope<'_> = serde_json::from_str(&line)?;
                if let Some(p) = msg.params
                    && let (Some(s), Some(i)) = (p.session, p.item)
                {
                    key.clear();
                    key.push_str(&s);
                    key.push('/');
                    key.push_str(&i);
                    let mut m = map.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                    match m.get_mut(key.as_str()) {
                        Some(v) => *v = p.step,
                        None => {
                            m.insert(key.as_str().into(), p.step);
                        }
                    }
                }
                if let Some(id) = msg.id {
                    w.write_all(format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{}}}}\n").as_bytes()).await?;
                    w.flush().await?;
                }
            }
        }
    })?;
    Ok((path, map))
}

/// The bare push while 16 connections send `rate` lines per second in total into a bare ingest server:
/// how much of the daemon's tail under load the machine alone brings. The relay runs on `on`, the ingest
/// server on the bench's runtime. Returns the latencies and the load.
pub(crate) async fn push_under_load(
    on: &tokio::runtime::Handle,
    dir: &Path,
    name: &str,
    rounds: usize,
    chatty: usize,
    rate: f64,
) -> anyhow::Result<(Lat, f64)> {
    let (path, _map) = ingest_server(dir, &format!("load-{name}"))?;
    let connect = |c: usize| {
        let path = path.clone();
        async move { anyhow::Ok((Raw::connect(&path).await?, format!("00000000-0000-0000-0000-{c:012}"))) }
    };
    let load =
        crate::hot::Load::start(chatty, connect, rate, |_| json!({"jsonrpc": "2.0", "method": "sync", "params": {}}))
            .await?;
    let lat = push_on(on, dir, name, rounds).await?;
    Ok((lat, load.stop().await?))
}

/// The no-rules ingest: a server that parses each JSON line and stores its step in one shared map keyed by
/// session and item; a request is answered once everything before it on its connection is in the map.
/// Returns lines per second from `conns` connections sending `per` progress notifications each.
pub(crate) async fn ingest(dir: &Path, name: &str, conns: usize, per: u32) -> anyhow::Result<f64> {
    let (path, map) = ingest_server(dir, name)?;
    let mut senders = Vec::with_capacity(conns);
    for c in 0..conns {
        senders.push((Raw::connect(&path).await?, format!("00000000-0000-0000-0000-{c:012}")));
    }
    let (rate, _) = crate::hot::notify_all(
        senders,
        per,
        |buf, s, step| raw::progress_line(buf, s, "item", step),
        |_| json!({"jsonrpc": "2.0", "method": "sync", "params": {}}),
    )
    .await?;
    let stored = map.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.len();
    anyhow::ensure!(stored == conns, "the bare ingest stored {stored} keys for {conns} connections");
    Ok(rate)
}

/// One SQLite transaction per event: an autocommit `INSERT` of one row into the store's own `events` table,
/// on a single connection of a fresh file in WAL mode with `synchronous=FULL` (the store's settings), with one
/// prepared statement. No pool, no batching: what one durable event costs on this disk through this driver.
pub(crate) async fn commit_per_event(dir: &Path, n: u32) -> anyhow::Result<f64> {
    use sqlx::Connection;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    let path = dir.join("bare-commits.sqlite");
    // The schema, indexes included, exactly as the store creates it.
    drop(synccenter_store_sqlite::SqliteStore::open(&path).await?);
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
    let start = Instant::now();
    for i in 0..n {
        sqlx::query(
            "INSERT INTO events (id, handler_id, item_id, session_id, level, name, description, link_text, \
             link_reference, context, time) VALUES (?, 'bare', 'item', NULL, 0, 'copied', ?, NULL, NULL, NULL, ?)",
        )
        .bind(uuid::Uuid::from_u128(u128::from(i) + 1).hyphenated().to_string())
        .bind(format!("file {i}"))
        .bind(i64::from(i))
        .execute(&mut conn)
        .await?;
    }
    let rate = f64::from(n) / start.elapsed().as_secs_f64();
    conn.close().await?;
    Ok(rate)
}
