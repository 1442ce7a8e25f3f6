//! What the dashboard is told at start: where the daemon is, the token, whom it serves and its limits. Kept
//! apart from the state built from it so that every module can read it without depending on the crate root.

use std::path::PathBuf;

/// The cookie that carries the token.
pub const COOKIE_NAME: &str = "synccenter_token";

/// The dashboard's port when the configuration names none (INTERFACE.md).
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
