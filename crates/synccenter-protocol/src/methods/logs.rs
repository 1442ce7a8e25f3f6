//! Per-run logs (`logs.read`): the whole output of a command run, read back in pages by byte offset. The
//! daemon writes each run's log as the command prints; `docs/commands.md` ("Run logs") describes the format,
//! its bounds and retention.

use super::*;

/// The largest page `logs.read` answers, in bytes of log text.
pub const LOG_PAGE_MAX: u32 = 1024 * 1024;
/// A page's size when `limit` is absent.
pub const LOG_PAGE_DEFAULT: u32 = 256 * 1024;

/// `logs.read`: a page of a run's log, from `offset` (a byte offset in the log file; 0, or a `next_offset`).
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsReadParams {
    /// The run's session.
    pub session: String,
    /// Only this item's lines (and the run's own markers about it).
    pub item: Option<String>,
    pub offset: Option<u64>,
    /// At most this many bytes of the file are read (1 to [`LOG_PAGE_MAX`]; a line is never split).
    pub limit: Option<u32>,
}

/// `logs.read` result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogsReadResult {
    /// Whole lines, each ending in `\n`: `TIME STREAM ITEM<tab>TEXT`.
    pub text: String,
    /// Where the next page starts.
    pub next_offset: u64,
    /// The run has ended and `next_offset` is the end of its log: there will be nothing more.
    pub complete: bool,
}
