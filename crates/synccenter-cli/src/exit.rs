//! The documented exit codes, in one place (`docs/cli.md` has the table). Scripts may rely on these; anything
//! unexpected is [`Exit::FAILURE`]. This module only names numbers; deciding which one applies is the
//! commands' job.

/// Documented exit codes.
#[derive(Debug)]
pub(crate) enum Exit {}

impl Exit {
    /// Success.
    pub(crate) const OK: u8 = 0;
    /// Any failure without a more specific code (the daemon refused a call, bad input the parser let through).
    pub(crate) const FAILURE: u8 = 1;
    /// Usage error (reported by clap).
    #[allow(dead_code, reason = "clap exits with 2 itself; named here so the table is complete")]
    pub(crate) const USAGE: u8 = 2;
    /// `run`, `start --wait`: the sync finished with a status other than `succeeded` (and not `canceled`).
    pub(crate) const SYNC_FAILED: u8 = 10;
    /// `run`, `start --wait`, `session progress`: the sync was cancelled (a stop was requested).
    pub(crate) const CANCELLED: u8 = 11;
    /// The daemon is not running (no socket, connection refused) — `EX_UNAVAILABLE`.
    pub(crate) const DAEMON_UNREACHABLE: u8 = 69;
}
