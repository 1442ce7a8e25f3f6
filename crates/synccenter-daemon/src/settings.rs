//! The daemon's tunables that the rest of it reads: caps per client and the timing of periodic work.

use std::time::Duration;

/// Caps that keep one client, slow or greedy, from starving the others. Each refusal is a clear JSON-RPC
/// error.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections open at once; one more gets an `E_OUTOFMEMORY` error line and is closed.
    pub max_connections: usize,
    /// Live sessions one connection may own (detached ones count while the connection that made them is
    /// open); one more is refused with `E_OUTOFMEMORY`.
    pub max_sessions_per_connection: usize,
    /// Time a client has to finish a line once its first byte arrived; a client that stalls mid-line
    /// (slowloris) gets an error line and is disconnected. Idle connections between lines are not affected.
    pub line_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_connections: 1024, max_sessions_per_connection: 1024, line_timeout: Duration::from_secs(30) }
    }
}

/// Timing of the hub's periodic work.
#[derive(Clone, Copy, Debug)]
pub struct Intervals {
    /// How often coalesced progress goes to watchers.
    pub publish: Duration,
    /// How often coalesced progress goes to the store when nothing durable carries it earlier.
    pub progress_flush: Duration,
    /// Default lease of a detached session.
    pub detached_lease: Duration,
}

impl Default for Intervals {
    fn default() -> Self {
        Self {
            publish: Duration::from_millis(100),
            progress_flush: Duration::from_millis(500),
            detached_lease: Duration::from_secs(600),
        }
    }
}
