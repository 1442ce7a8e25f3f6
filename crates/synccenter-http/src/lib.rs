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
mod config;
mod connection;
mod error;
mod feed;
mod metrics;
mod openapi;
mod ping;
mod rate_limit;
mod route_doc;
mod routes;
mod security;
mod serve;
mod state;
mod stream;
mod timestamp;
mod token;

use std::sync::Arc;

use synccenter_client::Client;

pub use config::{COOKIE_NAME, DEFAULT_PORT, HttpConfig, loopback_hosts};
pub use error::{ApiError, ErrorDetail, HttpError};
pub use feed::FEED_CAPACITY;
pub use route_doc::RouteDoc;
pub use routes::route_table;
pub use serve::{HEADER_READ_TIMEOUT, ServeOptions, serve, serve_with};
pub use stream::KEEP_ALIVE;
pub use token::{TOKEN_FILE, TOKEN_LEN, constant_time_eq, generate_token, load_or_create_secret, load_or_create_token};

/// The running dashboard: a connection to the daemon, the live feed's ring buffer and its epoch. Cheap to
/// clone; the background feed task stops when the last clone (and every router made from it) is gone.
#[derive(Clone, Debug)]
pub struct Dashboard {
    state: Arc<state::AppState>,
}

impl Dashboard {
    /// Connects to the daemon, subscribes to its live feed and starts the task that keeps the feed (and
    /// reconnects, with backoff, when the daemon restarts).
    pub async fn connect(config: HttpConfig) -> Result<Dashboard, HttpError> {
        let state = connection::start(config).await?;
        Ok(Dashboard { state })
    }

    /// The router: assets, login, `/api/v1`, the stream and `/metrics`, behind the security layers.
    pub fn app(&self) -> axum::Router {
        routes::router(self.state.clone())
    }

    /// The current connection to the daemon, `None` while it is being re-established.
    pub fn client(&self) -> Option<Client> {
        self.state.client()
    }

    /// The current epoch of the live feed (changes when the daemon connection is re-established).
    pub fn epoch(&self) -> String {
        self.state.epoch()
    }
}
