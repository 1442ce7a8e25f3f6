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
    pub const HELLO: &str = <crate::api::Hello as crate::api::Method>::NAME;
    /// Daemon status.
    pub const STATUS: &str = <crate::api::Status as crate::api::Method>::NAME;
    /// `CreateSession`.
    pub const SESSION_CREATE: &str = <crate::api::SessionCreate as crate::api::Method>::NAME;
    /// `ReportProgress`.
    pub const SESSION_REPORT_PROGRESS: &str = <crate::api::SessionReportProgress as crate::api::Method>::NAME;
    /// `SetHandlerProgressText`.
    pub const SESSION_SET_HANDLER_PROGRESS_TEXT: &str =
        <crate::api::SessionSetHandlerProgressText as crate::api::Method>::NAME;
    /// `ReportEvent`.
    pub const SESSION_REPORT_EVENT: &str = <crate::api::SessionReportEvent as crate::api::Method>::NAME;
    /// `CanContinue`.
    pub const SESSION_CAN_CONTINUE: &str = <crate::api::SessionCanContinue as crate::api::Method>::NAME;
    /// `QueryForAdditionalItems`.
    pub const SESSION_QUERY_ADDITIONAL_ITEMS: &str =
        <crate::api::SessionQueryAdditionalItems as crate::api::Method>::NAME;
    /// `AddItemToSession`.
    pub const SESSION_ADD_ITEM: &str = <crate::api::SessionAddItem as crate::api::Method>::NAME;
    /// `AddIUnknownToSession`.
    pub const SESSION_ADD_CONTEXT: &str = <crate::api::SessionAddContext as crate::api::Method>::NAME;
    /// `ProposeItem`.
    pub const SESSION_PROPOSE_ITEM: &str = <crate::api::SessionProposeItem as crate::api::Method>::NAME;
    /// `CommitItem`.
    pub const SESSION_COMMIT_ITEM: &str = <crate::api::SessionCommitItem as crate::api::Method>::NAME;
    /// `ReportManualSync`.
    pub const SESSION_REPORT_MANUAL_SYNC: &str = <crate::api::SessionReportManualSync as crate::api::Method>::NAME;
    /// Report a conflict found while syncing.
    pub const SESSION_REPORT_CONFLICT: &str = <crate::api::SessionReportConflict as crate::api::Method>::NAME;
    /// End a session.
    pub const SESSION_END: &str = <crate::api::SessionEnd as crate::api::Method>::NAME;
    /// Register or update a handler.
    pub const HANDLER_REGISTER: &str = <crate::api::HandlerRegister as crate::api::Method>::NAME;
    /// List handlers.
    pub const HANDLER_LIST: &str = <crate::api::HandlerList as crate::api::Method>::NAME;
    /// Remove a handler.
    pub const HANDLER_REMOVE: &str = <crate::api::HandlerRemove as crate::api::Method>::NAME;
    /// Receive the handler's sync requests on this connection.
    pub const HANDLER_SERVE: &str = <crate::api::HandlerServe as crate::api::Method>::NAME;
    /// The handler could not start a requested sync.
    pub const HANDLER_SYNC_FAILED: &str = <crate::api::HandlerSyncFailed as crate::api::Method>::NAME;
    /// Register or update an item.
    pub const ITEM_REGISTER: &str = <crate::api::ItemRegister as crate::api::Method>::NAME;
    /// List a handler's items.
    pub const ITEM_LIST: &str = <crate::api::ItemList as crate::api::Method>::NAME;
    /// Start syncs.
    pub const CONTROL_START: &str = <crate::api::ControlStart as crate::api::Method>::NAME;
    /// Stop syncs.
    pub const CONTROL_STOP: &str = <crate::api::ControlStop as crate::api::Method>::NAME;
    /// Enable or disable.
    pub const CONTROL_ENABLE: &str = <crate::api::ControlEnable as crate::api::Method>::NAME;
    /// Activate or deactivate.
    pub const CONTROL_ACTIVATE: &str = <crate::api::ControlActivate as crate::api::Method>::NAME;
    /// Delete an item from the sync set.
    pub const CONTROL_DELETE_ITEM: &str = <crate::api::ControlDeleteItem as crate::api::Method>::NAME;
    /// Re-read the configuration file.
    pub const CONTROL_RELOAD: &str = <crate::api::ControlReload as crate::api::Method>::NAME;
    /// Pause a handler, or every handler.
    pub const CONTROL_PAUSE: &str = <crate::api::ControlPause as crate::api::Method>::NAME;
    /// Resume a handler, or every paused handler.
    pub const CONTROL_RESUME: &str = <crate::api::ControlResume as crate::api::Method>::NAME;
    /// Live sessions.
    pub const SESSIONS_LIST: &str = <crate::api::SessionsList as crate::api::Method>::NAME;
    /// Session history.
    pub const SESSIONS_HISTORY: &str = <crate::api::SessionsHistory as crate::api::Method>::NAME;
    /// List Sync Results.
    pub const EVENTS_LIST: &str = <crate::api::EventsList as crate::api::Method>::NAME;
    /// One event.
    pub const EVENTS_GET: &str = <crate::api::EventsGet as crate::api::Method>::NAME;
    /// Remove events.
    pub const EVENTS_REMOVE: &str = <crate::api::EventsRemove as crate::api::Method>::NAME;
    /// Remove matching events.
    pub const EVENTS_CLEAR: &str = <crate::api::EventsClear as crate::api::Method>::NAME;
    /// List conflicts.
    pub const CONFLICTS_LIST: &str = <crate::api::ConflictsList as crate::api::Method>::NAME;
    /// One conflict.
    pub const CONFLICTS_GET: &str = <crate::api::ConflictsGet as crate::api::Method>::NAME;
    /// Choose a resolution.
    pub const CONFLICTS_RESOLVE: &str = <crate::api::ConflictsResolve as crate::api::Method>::NAME;
    /// The owner reports conflicts gone.
    pub const CONFLICTS_REMOVE: &str = <crate::api::ConflictsRemove as crate::api::Method>::NAME;
    /// A live feed of changes.
    pub const SUBSCRIBE: &str = <crate::api::Subscribe as crate::api::Method>::NAME;
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
