//! # synccenter-daemon
//!
//! The Sync Center service: serves the local protocol on the per-user socket around one `Center` owned by the
//! hub task, persists through the store writer (durable changes committed before they are acknowledged,
//! progress coalesced into batches), and pushes cancellations to owners the moment they are recorded.
//!
//! Entry points take an already bound listener and a shutdown future, so tests run a real daemon in-process on
//! a temporary socket with nothing to wait for.

#![warn(missing_docs)]

mod calls;
mod conditions;
mod conn;
mod convert;
mod fleet;
mod health;
mod hub;
mod inbox;
mod lanes;
mod outbox;
mod queries;
mod ready;
mod retention;
mod runlog;
mod runtime;
mod scheduler;
mod settings;
mod store;
mod supervisor;
mod writer;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use synccenter_core::{Center, CenterConfig, Clock, StoreError};
use synccenter_store_sqlite::SqliteStore;
use tokio::sync::mpsc;

use crate::store::DaemonStore;
use synccenter_core::Store as _;

pub use conditions::TargetSources;
pub use fleet::FleetTimings;
pub use retention::Pruning;
pub use runlog::LogLimits;
pub use runtime::{RandomIds, SystemClock};
pub use settings::{Intervals, Limits};
pub use synccenter_platform::transport::{Listener, SocketError, bind};
pub use synccenter_store_sqlite::PageLimit;

/// What the daemon needs to run.
#[derive(Clone)]
pub struct Config {
    /// The socket path (for `status`; the listener is passed separately).
    pub socket: PathBuf,
    /// The data directory.
    pub data_dir: PathBuf,
    /// A database URL (`sqlite://PATH` or `postgres://…`); `None` means the SQLite file in the data directory.
    pub database: Option<String>,
    /// This daemon's host identity; the machine's host name when `None`.
    pub host: Option<String>,
    /// Heartbeats, the down bound and the outage buffer, for a shared database.
    pub fleet: FleetTimings,
    /// The model's tunables.
    pub center: CenterConfig,
    /// Timing of periodic work.
    pub intervals: Intervals,
    /// The configuration file with command handlers (read if it exists).
    pub config_file: Option<PathBuf>,
    /// Re-read the configuration on SIGHUP (the binary sets this; in-process tests do not).
    pub reload_on_sighup: bool,
    /// The clock the model and the schedules use; the system clock when `None` (tests inject one).
    pub clock: Option<Arc<dyn Clock>>,
    /// A bound loopback listener for the dashboard; no dashboard when `None`.
    pub http: Option<Arc<std::net::TcpListener>>,
    /// Fault injection for tests: a simulated disk size for the SQLite store (see [`PageLimit`]).
    pub store_page_limit: Option<PageLimit>,
    /// Caps on what one client may hold (items per session are `center.max_items_per_session`).
    pub limits: Limits,
    /// How much the command runs' logs (`logs/` in the data directory) keep.
    pub logs: LogLimits,
    /// Where run conditions' targets are read (the mount table; tests give their own).
    pub targets: TargetSources,
    /// When the history past `[retention]` is pruned in the background.
    pub pruning: Pruning,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("socket", &self.socket)
            .field("data_dir", &self.data_dir)
            .field("database", &self.database)
            .field("config_file", &self.config_file)
            .field("injected_clock", &self.clock.is_some())
            .field("http", &self.http.as_ref().and_then(|l| l.local_addr().ok()))
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Defaults for a socket and a data directory.
    pub fn new(socket: PathBuf, data_dir: PathBuf) -> Self {
        Self {
            socket,
            data_dir,
            database: None,
            host: None,
            fleet: FleetTimings::default(),
            center: CenterConfig::default(),
            intervals: Intervals::default(),
            config_file: None,
            reload_on_sighup: false,
            clock: None,
            http: None,
            store_page_limit: None,
            limits: Limits::default(),
            logs: LogLimits::default(),
            targets: TargetSources::default(),
            pruning: Pruning::default(),
        }
    }
}

/// Why the daemon could not run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The store could not be opened or read.
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    /// The background check (after a start that skipped it) found the store's file damaged.
    #[error("stopped: {0}")]
    Damaged(StoreError),
    /// The socket could not be set up.
    #[error(transparent)]
    Socket(#[from] SocketError),
    /// The database URL is not supported.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DATABASE")]
    UnsupportedDatabase(String),
    /// The machine's host name could not be read.
    #[error("cannot read this machine's host name: {0}; pass --host")]
    HostName(#[source] std::io::Error),
    /// The host identity is not usable.
    #[error("invalid host name {0:?}: use 1 to 253 letters, digits, '.', '-' or '_'")]
    InvalidHost(String),
    /// An I/O failure of the listener.
    #[error("the listener failed: {0}")]
    Io(#[from] std::io::Error),
    /// The dashboard could not be set up (its token file).
    #[error("cannot start the dashboard: {0}")]
    Dashboard(#[from] synccenter_http::HttpError),
}

/// The runtime the daemon is meant to run on, its bulk lane (see `lanes`): tokio's multi-threaded one, its
/// threads at a lower priority (nice 10 on Linux) so that the control lane's thread, which serves stops and
/// status, is preferred by the operating system's scheduler when both want a core (docs/performance.md,
/// `flood`).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .event_interval(16)
        .on_thread_start(synccenter_platform::priority::lower_this_thread)
        .build()
}

/// This daemon's host identity: the configured one, else the machine's host name.
pub fn host_name(config: &Config) -> Result<String, DaemonError> {
    let host = match &config.host {
        Some(h) => h.clone(),
        None => synccenter_platform::host_name().map_err(DaemonError::HostName)?,
    };
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if valid { Ok(host) } else { Err(DaemonError::InvalidHost(host)) }
}

/// Opens the store the configuration names: the SQLite file, or the shared PostgreSQL (for `host`) with its
/// outage buffer in the data directory.
async fn open_store(config: &Config, host: &str, clock: Arc<dyn Clock>) -> Result<DaemonStore, DaemonError> {
    let sqlite_options = || synccenter_store_sqlite::OpenOptions { page_limit: config.store_page_limit.clone() };
    match config.database.as_deref() {
        None => Ok(DaemonStore::Local(SqliteStore::open_in_dir_with(&config.data_dir, sqlite_options()).await?)),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let shared = fleet::connect(url, host, &config.data_dir, config.fleet, clock).await?;
            Ok(DaemonStore::Shared(Arc::new(shared)))
        }
        Some(url) => match url.strip_prefix("sqlite://") {
            Some(path) if !path.is_empty() => {
                Ok(DaemonStore::Local(SqliteStore::open_with(std::path::Path::new(path), sqlite_options()).await?))
            }
            _ => Err(DaemonError::UnsupportedDatabase(url.to_owned())),
        },
    }
}

/// Seeds each configured item's last run from the newest session of its handler that included it, so that
/// schedules continue where they were (a run missed while the daemon was down runs once), and the order between
/// syncs with those starts and the last ends that succeeded (an item after one that succeeded since its own
/// last start runs).
async fn seed_schedules(hub: &mut hub::Hub, store: &DaemonStore) {
    let mut order = Vec::new();
    for (handler, items) in hub.configured_items() {
        let query = synccenter_core::SessionQuery { handler: Some(handler.clone()), started_before: None, limit: 200 };
        let Ok(sessions) = store.list_sessions(&query).await else { continue };
        for item in items {
            let mut with_item = sessions.iter().filter(|r| r.items.iter().any(|m| m.item == item));
            if let Some(at) = with_item.next().map(|r| r.started_at) {
                hub.seed_last_run(&handler, &item, at);
                order.push((at, false, handler.clone(), item.clone()));
            }
            let last_end = sessions.iter().find_map(|r| {
                let member = r.items.iter().find(|m| m.item == item)?;
                Some((r.ended.as_ref()?.at, member.progress.status))
            });
            if let Some((at, Some(synccenter_core::ProgressStatus::Succeeded))) = last_end {
                order.push((at, true, handler.clone(), item.clone()));
            }
        }
    }
    hub.seed_order(order);
}

/// Serves the dashboard on `listener` as a client of the daemon's own socket until `stop` turns true.
async fn dashboard(
    listener: tokio::net::TcpListener,
    token: String,
    socket: PathBuf,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let Ok(addr) = listener.local_addr() else { return };
    let config = synccenter_http::HttpConfig::loopback(socket, token, addr.port());
    let dashboard = match synccenter_http::Dashboard::connect(config).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "the dashboard could not connect to the daemon");
            return;
        }
    };
    tracing::info!(%addr, "dashboard ready (synccenter dashboard prints its address with the login token)");
    let shutdown = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    if let Err(e) = synccenter_http::serve(listener, dashboard.app(), shutdown).await {
        tracing::error!(error = %e, "the dashboard stopped");
    }
}

/// The model as the store left it, with sessions that were live at the last stop ended (and that written).
async fn restore_center(
    config: &Config,
    store: &DaemonStore,
    clock: Arc<dyn Clock>,
) -> Result<(Center, std::sync::mpsc::Receiver<synccenter_core::Notice>), DaemonError> {
    let snapshot = synccenter_core::Store::load(store).await?;
    let (notice_tx, notice_rx) = std::sync::mpsc::channel();
    let mut center =
        Center::restore(snapshot, config.center.clone(), Box::new(clock), Box::new(RandomIds), Box::new(notice_tx));
    let recovered = center.take_changes();
    if !recovered.is_empty() {
        synccenter_core::Store::apply(store, &recovered).await?;
        tracing::warn!("ended sessions that were live when the daemon last stopped");
    }
    Ok((center, notice_rx))
}

/// The dashboard's listener and login token, when the configuration asks for a dashboard.
fn dashboard_listener(config: &Config) -> Result<Option<(tokio::net::TcpListener, String)>, DaemonError> {
    let Some(l) = &config.http else { return Ok(None) };
    let l = l.try_clone()?;
    l.set_nonblocking(true)?;
    let token = synccenter_http::load_or_create_token(&config.data_dir)?;
    Ok(Some((tokio::net::TcpListener::from_std(l)?, token)))
}

/// The hub's inbox, and the tasks to wait for at the end.
struct Running {
    hub: mpsc::Sender<inbox::HubMsg>,
    ready: Arc<ready::ReadyList>,
    hub_task: tokio::task::JoinHandle<()>,
    writer_task: tokio::task::JoinHandle<()>,
}

/// Builds the hub around the restored model and starts it and the store writer.
async fn start_hub(
    config: &Config,
    store: Arc<DaemonStore>,
    fleet: fleet::FleetLink,
    clock: Arc<dyn Clock>,
    http: Option<String>,
    control: &lanes::ControlLane,
) -> Result<Running, DaemonError> {
    let started_at = convert::ts(clock.now());
    let (center, notices) = restore_center(config, &store, clock.clone()).await?;
    // One batch in the channel: while a commit runs, the hub merges what follows into the next one.
    let (writer_tx, writer_rx) = mpsc::channel(1);
    let health = Arc::new(health::StoreHealth::default());
    // On the control lane: its acknowledgements (a session created or ended) must not wait behind a flood.
    let writer_task = control.spawn(writer::run(store.clone(), writer_rx, health.clone()));
    let (hub_tx, hub_rx) = mpsc::channel(8192);
    let (runs_tx, runs_rx) = mpsc::channel(1024);
    let setup = hub::HubSetup {
        whereabouts: hub::Whereabouts {
            socket: config.socket.display().to_string(),
            data_dir: config.data_dir.display().to_string(),
            store: store.describe(),
            started_at,
            http,
        },
        intervals: config.intervals,
        limits: config.limits,
        scheduler: {
            let mut scheduler = scheduler::Scheduler::new(config.config_file.clone(), clock.now());
            scheduler.keep_logs(runlog::LogSetup::new(&config.data_dir, config.logs));
            scheduler.read_targets_from(config.targets.clone());
            scheduler
        },
        fleet: fleet.clone(),
        health,
        runs: runs_tx,
    };
    let mut hub = hub::Hub::new(center, notices, setup);
    let ping_keys = hub::PingKeys::load(&config.data_dir);
    if let Err(e) = &ping_keys {
        tracing::error!(error = %e, "no ping secret; ping URLs are refused until it is fixed");
    }
    hub.set_ping_keys(ping_keys);
    match hub.reload() {
        Ok(n) if n > 0 => seed_schedules(&mut hub, &store).await,
        Ok(_) => {}
        Err(e) => tracing::error!("the configuration was refused; no command handlers run until it is fixed:\n{e}"),
    }
    hub.flush_startup();
    let queries = queries::QueryContext { store, fleet, hub: hub_tx.clone() };
    let bulk = tokio::runtime::Handle::current();
    let ready = Arc::new(ready::ReadyList::default());
    let io = hub::HubIo { inbox: hub_rx, ready: ready.clone(), runs: runs_rx, writer: writer_tx, queries, bulk };
    let hub_task = control.spawn(hub::run(hub, io));
    Ok(Running { hub: hub_tx, ready, hub_task, writer_task })
}

/// Re-reads the configuration on every SIGHUP.
fn reload_on_hangup(hub: mpsc::Sender<inbox::HubMsg>) {
    tokio::spawn(async move {
        let Ok(mut hangup) = synccenter_platform::process::ReloadSignal::install() else { return };
        while hangup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the configuration");
            if hub.send(inbox::HubMsg::Reload).await.is_err() {
                return;
            }
        }
    });
}

/// Runs the daemon on `listener` until `shutdown` completes; then ends live sessions (with a warning event
/// each) and writes everything to the store before returning.
pub async fn run(
    config: Config,
    listener: Listener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), DaemonError> {
    let clock: Arc<dyn Clock> = config.clock.clone().unwrap_or_else(|| Arc::new(SystemClock));
    let host = host_name(&config)?;
    let store = Arc::new(open_store(&config, &host, clock.clone()).await?);
    let fleet =
        fleet::FleetLink { shared: store.shared().cloned(), ..fleet::FleetLink::local(host.clone(), config.fleet) };
    let http = dashboard_listener(&config)?;
    let http_addr = http.as_ref().and_then(|(l, _)| l.local_addr().ok()).map(|a| a.to_string());
    let control = lanes::ControlLane::start()?;
    let running = start_hub(&config, store.clone(), fleet.clone(), clock.clone(), http_addr, &control).await?;
    if config.reload_on_sighup {
        reload_on_hangup(running.hub.clone());
    }
    let (http_stop, http_stopped) = tokio::sync::watch::channel(false);
    fleet::spawn(&fleet, running.hub.clone(), clock.clone(), http_stopped.clone());
    let pruner = retention::spawn(
        store.clone(),
        clock.clone(),
        config.config_file.clone(),
        config.pruning.clone(),
        http_stopped.clone(),
    );
    let dashboard =
        http.map(|(listener, token)| tokio::spawn(dashboard(listener, token, config.socket.clone(), http_stopped)));
    tracing::info!(socket = %config.socket.display(), store = %store.describe(), %host, "synccenter daemon ready");

    // Connections are closed once the store is flushed, so a stopped daemon leaves no endpoint open behind it
    // (a named pipe exists while any instance does, and a restart must be able to create it again).
    let (conns_stop, conns_stopping) = tokio::sync::watch::channel(false);
    let mut damage = tokio::spawn(damage_found(store.clone()));
    let mut damaged = None;
    let stop = async {
        tokio::select! {
            () = shutdown => {}
            found = &mut damage => damaged = found.ok(),
        }
    };
    let (accepting, stop_accepting) = tokio::sync::oneshot::channel::<()>();
    let acceptor = control.spawn(accept_until(
        config.clone(),
        listener,
        (running.hub.clone(), running.ready.clone()),
        conns_stopping,
        tokio::runtime::Handle::current(),
        async move {
            let _ = stop_accepting.await;
        },
    ));
    stop.await;
    let _ = accepting.send(());
    let Ok((listener, mut conns)) = acceptor.await else {
        return Err(DaemonError::Io(std::io::Error::other("the control lane stopped")));
    };
    damage.abort();
    tracing::info!("shutting down");
    let _ = http_stop.send(true);
    // Stops between two batches.
    let _ = pruner.await;
    if let Some(task) = dashboard {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), task).await;
    }
    listener.close();
    let _ = running.hub.send(inbox::HubMsg::Shutdown).await;
    drop(running.hub);
    let _ = running.hub_task.await;
    let _ = running.writer_task.await;
    let _ = conns_stop.send(true);
    if tokio::time::timeout(std::time::Duration::from_secs(10), async { while conns.join_next().await.is_some() {} })
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 10 s; leaving them");
    }
    if let Some(e) = damaged {
        // Not closed cleanly: the next start reads the whole file, and refuses it.
        return Err(DaemonError::Damaged(e));
    }
    if let Err(e) = store.close().await {
        tracing::warn!(error = %e, "the store did not close cleanly; the next start checks the whole file");
    }
    tracing::info!("store flushed; bye");
    Ok(())
}

/// The whole-file check that an open after a clean close left to the background: resolves with the damage it
/// finds, and never when the file is sound (or was read whole at open, or is a shared database).
async fn damage_found(store: Arc<DaemonStore>) -> StoreError {
    if store.needs_whole_file_check() {
        match store.check_whole_file().await {
            Err(e @ StoreError::Corrupt(_)) => {
                tracing::error!(error = %e, "the store's file is damaged; stopping");
                return e;
            }
            Err(e) => tracing::warn!(error = %e, "the background check of the store's file could not run"),
            Ok(()) => tracing::info!("the store's file passed its background check"),
        }
    }
    std::future::pending().await
}

/// Accepts connections (each served on its own task) until `shutdown` completes; returns the listener and the
/// open connections. Runs on the control lane, so the connections' sockets are registered with its driver.
async fn accept_until(
    config: Config,
    mut listener: Listener,
    hub: (mpsc::Sender<inbox::HubMsg>, Arc<ready::ReadyList>),
    stopping: tokio::sync::watch::Receiver<bool>,
    bulk: tokio::runtime::Handle,
    shutdown: impl Future<Output = ()> + Send,
) -> (Listener, tokio::task::JoinSet<()>) {
    let next_conn = AtomicU64::new(1);
    let slots = Arc::new(tokio::sync::Semaphore::new(config.limits.max_connections.max(1)));
    let refusals = conn::Refusals::new(config.limits.max_connections);
    let mut conns = tokio::task::JoinSet::new();
    let shared = conn::ConnShared::new(hub, config.limits.line_timeout, stopping, bulk);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => return (listener, conns),
        };
        let stream = match accepted {
            Ok(s) => s,
            Err(e @ synccenter_platform::transport::AcceptError::Io(_)) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "refused a connection from another user");
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refusals.refuse(stream);
            continue;
        };
        let conn = next_conn.fetch_add(1, Ordering::Relaxed);
        while conns.try_join_next().is_some() {}
        conns.spawn(conn::serve(stream, conn, shared.clone(), slot));
    }
}
