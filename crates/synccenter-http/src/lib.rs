//! # synccenter-http
//!
//! The dashboard and HTTP JSON API of synccenter (issue 6). It is a *client* of the daemon's own socket: every
//! API call becomes one protocol call through `synccenter-client`, and the live stream is fed by one
//! `subscribe` (the same feed as `synccenter watch`). It depends on the protocol and the client only, never on
//! the daemon or the core, so the daemon can host it and tests can drive it with `oneshot`.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use synccenter_http::{Dashboard, HttpConfig, load_or_create_token, serve};
//! let token = load_or_create_token("/home/me/.local/share/synccenter".as_ref())?;
//! let config = HttpConfig::loopback("/run/user/1000/synccenter/synccenter.sock".into(), token, 7420);
//! let dashboard = Dashboard::connect(config).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:7420").await?;
//! serve(listener, dashboard.app(), std::future::pending()).await?;
//! # Ok(()) }
//! ```
//!
//! See `docs/dashboard.md` for routes, the stream's resume rules, metrics and the security model.

mod api;
mod assets;
mod error;
mod feed;
mod metrics;
mod openapi;
mod routes;
mod security;
mod serve;
mod stream;
mod token;

use std::path::PathBuf;
use std::sync::Arc;

use synccenter_client::Client;

pub use error::{ApiError, ErrorDetail, HttpError};
pub use feed::{FEED_CAPACITY, KEEP_ALIVE};
pub use routes::{RouteDoc, route_table};
pub use serve::{HEADER_READ_TIMEOUT, ServeOptions, serve, serve_with};
pub use token::{TOKEN_FILE, TOKEN_LEN, generate_token, load_or_create_token};

/// The cookie that carries the token.
pub const COOKIE_NAME: &str = "synccenter_token";

/// The default dashboard port (INTERFACE.md).
pub const DEFAULT_PORT: u16 = 7420;

/// How the dashboard reaches the daemon and whom it serves.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// The daemon's socket.
    pub socket: PathBuf,
    /// The token every API request must carry (cookie or bearer).
    pub token: String,
    /// Accepted `Host` header values, e.g. `127.0.0.1:7420`, `localhost:7420`, `[::1]:7420`.
    pub allowed_hosts: Vec<String>,
    /// Largest request body in bytes.
    pub max_body: usize,
    /// Requests per second for the whole server (a token bucket with one second of burst).
    pub rate_per_second: u32,
}

impl HttpConfig {
    /// A configuration for a dashboard bound to loopback on `port`, with the default limits (64 KiB bodies,
    /// 50 requests per second).
    pub fn loopback(socket: PathBuf, token: String, port: u16) -> HttpConfig {
        HttpConfig { socket, token, allowed_hosts: loopback_hosts(port), max_body: 64 * 1024, rate_per_second: 50 }
    }
}

/// The `Host` values a loopback dashboard on `port` answers to (and the bare names for port 80).
pub fn loopback_hosts(port: u16) -> Vec<String> {
    let mut hosts: Vec<String> = ["127.0.0.1", "localhost", "[::1]"].iter().map(|h| format!("{h}:{port}")).collect();
    if port == 80 {
        hosts.extend(["127.0.0.1", "localhost", "[::1]"].map(str::to_owned));
    }
    hosts
}

/// The running dashboard: a connection to the daemon, the live feed's ring buffer and its epoch. Cheap to
/// clone; the background feed task stops when the last clone (and every router made from it) is gone.
#[derive(Clone, Debug)]
pub struct Dashboard {
    inner: Arc<feed::Inner>,
}

impl Dashboard {
    /// Connects to the daemon, subscribes to its live feed and starts the task that keeps the feed (and
    /// reconnects, with backoff, when the daemon restarts).
    pub async fn connect(config: HttpConfig) -> Result<Dashboard, HttpError> {
        let inner = feed::Inner::start(config).await?;
        Ok(Dashboard { inner })
    }

    /// The router: assets, login, `/api/v1`, the stream and `/metrics`, behind the security layers.
    pub fn app(&self) -> axum::Router {
        routes::router(self.inner.clone())
    }

    /// The current connection to the daemon, `None` while it is being re-established.
    pub fn client(&self) -> Option<Client> {
        self.inner.client()
    }

    /// The current epoch of the live feed (changes when the daemon connection is re-established).
    pub fn epoch(&self) -> String {
        self.inner.epoch()
    }
}
