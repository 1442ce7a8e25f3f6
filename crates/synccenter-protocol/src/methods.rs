//! Every method's parameters and result, and every server push. Parameters reject unknown fields (a typo is an
//! error, not a silent no-op); results may grow new fields, which clients ignore.
//!
//! IDs travel as strings and are validated by the daemon (1..=63 UTF-16 units, no control characters);
//! sessions, events and conflicts are UUIDs; times are RFC 3339 UTC strings.
//!
//! One file per family of methods (`session`, `registry`, `control`, `results`, `ping`, `logs`, `feed` for the live feed and
//! the pushes), all re-exported here; this file holds the names, `hello` and `status`.

// A field whose name says what it is has no doc comment; docs/protocol.md describes every field.
#![allow(missing_docs)]

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::wire::{CancelWire, ControlFlagWire, EventLevelWire, HandlerTypeWire, RetentionWire, StatusWire, UnitWire};

mod decode;
pub use decode::{decode_params, object_only};
mod control;
mod feed;
mod logs;
mod ping;
mod registry;
mod results;
mod session;

pub use control::*;
pub use feed::*;
pub use logs::*;
pub use ping::*;
pub use registry::*;
pub use results::*;
pub use session::*;

/// Method names, never reused for anything else.
pub mod names {
    /// Version negotiation.
    pub const HELLO: &str = "hello";
    /// Daemon status.
    pub const STATUS: &str = "status";
    /// `CreateSession`.
    pub const SESSION_CREATE: &str = "session.create";
    /// `ReportProgress`.
    pub const SESSION_REPORT_PROGRESS: &str = "session.report_progress";
    /// `SetHandlerProgressText`.
    pub const SESSION_SET_HANDLER_PROGRESS_TEXT: &str = "session.set_handler_progress_text";
    /// `ReportEvent`.
    pub const SESSION_REPORT_EVENT: &str = "session.report_event";
    /// `CanContinue`.
    pub const SESSION_CAN_CONTINUE: &str = "session.can_continue";
    /// `QueryForAdditionalItems`.
    pub const SESSION_QUERY_ADDITIONAL_ITEMS: &str = "session.query_additional_items";
    /// `AddItemToSession`.
    pub const SESSION_ADD_ITEM: &str = "session.add_item";
    /// `AddIUnknownToSession`.
    pub const SESSION_ADD_CONTEXT: &str = "session.add_context";
    /// `ProposeItem`.
    pub const SESSION_PROPOSE_ITEM: &str = "session.propose_item";
    /// `CommitItem`.
    pub const SESSION_COMMIT_ITEM: &str = "session.commit_item";
    /// `ReportManualSync`.
    pub const SESSION_REPORT_MANUAL_SYNC: &str = "session.report_manual_sync";
    /// Report a conflict found while syncing.
    pub const SESSION_REPORT_CONFLICT: &str = "session.report_conflict";
    /// End a session.
    pub const SESSION_END: &str = "session.end";
    /// A pause of the handler holds the session still.
    pub const SESSION_DECLARE_SUSPENDABLE: &str = "session.declare_suspendable";
    /// Register or update a handler.
    pub const HANDLER_REGISTER: &str = "handler.register";
    /// List handlers.
    pub const HANDLER_LIST: &str = "handler.list";
    /// Remove a handler.
    pub const HANDLER_REMOVE: &str = "handler.remove";
    /// Receive the handler's sync requests on this connection.
    pub const HANDLER_SERVE: &str = "handler.serve";
    /// The handler could not start a requested sync.
    pub const HANDLER_SYNC_FAILED: &str = "handler.sync_failed";
    /// Register or update an item.
    pub const ITEM_REGISTER: &str = "item.register";
    /// List a handler's items.
    pub const ITEM_LIST: &str = "item.list";
    /// Start syncs.
    pub const CONTROL_START: &str = "control.start";
    /// Stop syncs.
    pub const CONTROL_STOP: &str = "control.stop";
    /// Enable or disable.
    pub const CONTROL_ENABLE: &str = "control.enable";
    /// Activate or deactivate.
    pub const CONTROL_ACTIVATE: &str = "control.activate";
    /// Delete an item from the sync set.
    pub const CONTROL_DELETE_ITEM: &str = "control.delete_item";
    /// Re-read the configuration file.
    pub const CONTROL_RELOAD: &str = "control.reload";
    /// Pause a handler, or every handler.
    pub const CONTROL_PAUSE: &str = "control.pause";
    /// Resume a handler, or every paused handler.
    pub const CONTROL_RESUME: &str = "control.resume";
    /// Live sessions.
    pub const SESSIONS_LIST: &str = "sessions.list";
    /// Session history.
    pub const SESSIONS_HISTORY: &str = "sessions.history";
    /// List Sync Results.
    pub const EVENTS_LIST: &str = "events.list";
    /// One event.
    pub const EVENTS_GET: &str = "events.get";
    /// Remove events.
    pub const EVENTS_REMOVE: &str = "events.remove";
    /// Remove matching events.
    pub const EVENTS_CLEAR: &str = "events.clear";
    /// List conflicts.
    pub const CONFLICTS_LIST: &str = "conflicts.list";
    /// One conflict.
    pub const CONFLICTS_GET: &str = "conflicts.get";
    /// Choose a resolution.
    pub const CONFLICTS_RESOLVE: &str = "conflicts.resolve";
    /// The owner reports conflicts gone.
    pub const CONFLICTS_REMOVE: &str = "conflicts.remove";
    /// A live feed of changes.
    pub const SUBSCRIBE: &str = "subscribe";
    /// What a desktop part does, for `status`.
    pub const DESKTOP_REPORT: &str = "desktop.report";
    /// A Healthchecks-style ping for one item.
    pub const PING_REPORT: &str = "ping.report";
    /// An item's ping URLs.
    pub const PING_URL: &str = "ping.url";
    /// A page of a command run's log.
    pub const LOGS_READ: &str = "logs.read";
    /// Push: a stop was requested.
    pub const PUSH_CANCEL_REQUESTED: &str = "session.cancel_requested";
    /// Push: Sync Center asks the handler to sync.
    pub const PUSH_SYNC_REQUESTED: &str = "handler.sync_requested";
    /// Push: a start request finished.
    pub const PUSH_SYNC_RESULT: &str = "control.sync_result";
    /// Push: the user chose a conflict resolution.
    pub const PUSH_RESOLUTION_REQUESTED: &str = "conflict.resolution_requested";
    /// Push: one change of the live feed.
    pub const PUSH_UPDATE: &str = "update";
}

/// An empty object, `{}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// Versions a peer speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionRange {
    /// Oldest.
    pub min: u32,
    /// Newest.
    pub max: u32,
}

/// `hello` parameters.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelloParams {
    /// Versions the client speaks; absent means exactly the current one.
    pub protocol: Option<VersionRange>,
    /// The client's name and version, for logs.
    pub client: Option<String>,
}

/// `hello` result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloResult {
    /// The version both speak.
    pub protocol: u32,
    /// The server's name and version.
    pub server: String,
    /// Longest accepted line.
    pub max_line_bytes: usize,
}

/// `status` result.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusResult {
    /// The server's name and version.
    pub server: String,
    /// Protocol version.
    pub protocol: u32,
    /// Process ID.
    pub pid: u32,
    /// Socket path.
    pub socket: String,
    /// Data directory.
    pub data_dir: String,
    /// Store description, e.g. `sqlite:///…/synccenter.sqlite`.
    pub store: String,
    /// When the daemon started.
    pub started_at: String,
    /// Registered handlers.
    pub handlers: usize,
    pub live_sessions: usize,
    /// Open connections.
    pub connections: usize,
    /// Progress reports applied since start.
    pub reports_applied: u64,
    /// The configuration file, when one is used.
    pub config: Option<String>,
    /// Why the configuration file was refused; the last good configuration stays in force.
    pub config_error: Option<String>,
    /// Command items that have not succeeded within their freshness bound.
    #[serde(default)]
    pub overdue: Vec<String>,
    /// Command items whose due run waits for its run conditions, as `handler/item: reason`.
    #[serde(default)]
    pub waiting: Vec<String>,
    /// The next scheduled run of any command item.
    pub next_run: Option<String>,
    /// Paused handlers.
    #[serde(default)]
    pub paused: Vec<PausedInfo>,
    /// Where the dashboard listens (`127.0.0.1:7420`), when it runs.
    pub http: Option<String>,
    /// This daemon's host identity (its rows in a shared database carry it).
    #[serde(default)]
    pub host: String,
    /// Set while the store cannot be written and durable changes wait in the local buffer.
    pub degraded: Option<DegradedInfo>,
    /// What `synccenter desktop` does, while it is connected (`desktop.report`).
    pub desktop: Option<String>,
}

/// `desktop.report`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesktopReportParams {
    /// One line, e.g. `KDE job server (owns org.kde.JobViewServer)`; at most 1,000 characters.
    pub state: String,
}

/// The store's outage as `status` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DegradedInfo {
    /// Why (the last error).
    pub reason: String,
    /// Since when.
    pub since: String,
    /// Batches of changes buffered on local disk, written when the store returns.
    pub buffered_batches: u64,
    /// Their size in bytes.
    pub buffered_bytes: u64,
}

/// A paused handler in `status`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PausedInfo {
    pub handler: String,
    /// When the pause ends by itself; absent until resumed.
    pub until: Option<String>,
}

/// `control.reload` result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadResult {
    /// Command handlers now configured.
    pub handlers: usize,
}
