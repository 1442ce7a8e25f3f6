//! Every method's parameters and result, and every server push. Parameters reject unknown fields (a typo is an
//! error, not a silent no-op); results may grow new fields, which clients ignore.
//!
//! IDs travel as strings and are validated by the daemon (1..=63 UTF-16 units, no control characters);
//! sessions, events and conflicts are UUIDs; times are RFC 3339 UTC strings.

// A field whose name says what it is has no doc comment; docs/protocol.md describes every field.
#![allow(missing_docs)]

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::wire::{CancelWire, ControlFlagWire, EventLevelWire, HandlerTypeWire, RetentionWire, StatusWire};

mod decode;
pub use decode::{decode_params, object_only};

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

/// `session.create`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSessionParams {
    pub handler: String,
    /// Its items (at least one).
    pub items: Vec<String>,
    /// Keep the session when this connection closes (for shell scripts that span several invocations); a
    /// detached session always has a lease (default 600 s).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub detach: bool,
    /// End the session, with a warning event, if it reports nothing for this many seconds.
    pub lease_seconds: Option<u32>,
}

/// `session.create` result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateSessionResult {
    /// The new session.
    pub session: String,
}

/// Parameters naming only a session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionParams {
    pub session: String,
}

/// `session.report_progress`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportProgressParams {
    pub session: String,
    pub item: String,
    pub status: StatusWire,
    /// Absent keeps the text, `""` clears it; cut to 259 UTF-16 units.
    pub text: Option<String>,
    /// Current step (default 0).
    pub step: Option<u32>,
    /// Total steps (default 0).
    pub max_step: Option<u32>,
}

/// The cancel request in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelResult {
    /// `none`, `cancel_item` or `cancel_all`.
    pub cancel: CancelWire,
}

/// `session.set_handler_progress_text`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetHandlerProgressTextParams {
    pub session: String,
    /// Required.
    #[serde(default)]
    pub text: Option<String>,
}

/// `session.report_event`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportEventParams {
    pub session: String,
    /// The item; absent for a handler-level event.
    pub item: Option<String>,
    pub level: Option<EventLevelWire>,
    /// `SYNCMGR_EVENT_FLAGS`; must be 0 when present.
    pub flags: Option<u32>,
    /// Required, non-empty.
    pub name: Option<String>,
    /// Required.
    pub description: Option<String>,
    /// Hot-link text.
    pub link_text: Option<String>,
    /// Hot-link target.
    pub link_reference: Option<String>,
    /// Handler-private data.
    pub context: Option<String>,
}

/// `session.report_event` result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportEventResult {
    /// The new event's ID.
    pub event: String,
}

/// `session.can_continue`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanContinueParams {
    pub session: String,
    /// The item; absent or `""` asks about the handler as a whole.
    pub item: Option<String>,
}

/// `session.can_continue` result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanContinueResult {
    /// `false` once a stop applies.
    #[serde(rename = "continue")]
    pub proceed: bool,
}

/// `session.query_additional_items` result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PendingItemsResult {
    /// Pending item IDs.
    pub items: Vec<String>,
    /// Pending contexts.
    pub contexts: Vec<Value>,
}

/// `session.add_item` and `session.commit_item`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionItemParams {
    pub session: String,
    pub item: String,
}

/// `session.add_context`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddContextParams {
    pub session: String,
    /// A context that a pending start request carries.
    #[serde(default)]
    pub context: Option<Value>,
}

/// An item's attributes, for registration and `session.propose_item`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemFields {
    /// Display name (required when new).
    pub name: Option<String>,
    pub type_label: Option<String>,
    pub comment: Option<String>,
    /// Handler-supplied last sync time.
    pub last_sync: Option<String>,
    pub enabled: Option<bool>,
    pub connected: Option<bool>,
    /// Capability names.
    pub capabilities: Option<Vec<String>>,
    /// Policy names.
    pub policies: Option<Vec<String>>,
}

/// `session.propose_item`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposeItemParams {
    pub session: String,
    /// The new item.
    pub item: ProposedItem,
}

/// A proposed item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposedItem {
    pub id: String,
    /// Its attributes.
    #[serde(flatten)]
    pub fields: ItemFields,
}

/// One version of a conflict.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConflictVersionWire {
    /// Name; absent means the location's own.
    pub original_name: Option<String>,
    /// Name if several versions are kept.
    pub alternate_name: Option<String>,
    /// Short location.
    #[serde(default)]
    pub location_short: String,
    /// Full location.
    #[serde(default)]
    pub location_full: String,
    /// `updated` and/or `deleted`.
    #[serde(default)]
    pub types: Vec<String>,
    /// Last modification.
    pub modified: Option<String>,
    /// Size in bytes.
    pub size: Option<u64>,
}

/// `session.report_conflict`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConflictParams {
    pub session: String,
    pub item: Option<String>,
    /// The owner's key; the same key updates the conflict.
    pub key: Option<String>,
    /// Display name.
    pub name: String,
    /// Summary.
    #[serde(default)]
    pub description: String,
    /// At least two versions.
    pub versions: Vec<ConflictVersionWire>,
    /// Allowed resolutions by name.
    #[serde(default)]
    pub abilities: Vec<String>,
}

/// `session.report_conflict` result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportConflictResult {
    /// The conflict's ID.
    pub conflict: String,
}

/// `session.end` result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndResult {
    /// Aggregated status.
    pub status: StatusWire,
    /// ERROR events the session reported.
    pub errors: u32,
    /// The handler's conflict count.
    pub conflicts: u32,
}

/// `handler.register`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandlerRegisterParams {
    /// The handler ID.
    pub handler: String,
    /// Display name (required when new).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Kind of partner.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub handler_type: Option<HandlerTypeWire>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Handler-supplied last sync time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected: Option<bool>,
    /// Capability names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<String>>,
    /// Policy names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<String>>,
    /// Event retention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionWire>,
}

/// A handler as listed.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlerInfo {
    pub handler: String,
    pub name: String,
    #[serde(rename = "type")]
    pub handler_type: HandlerTypeWire,
    pub type_label: String,
    pub comment: String,
    /// What to show now: the progress text while syncing, else the comment.
    pub display_text: String,
    pub last_sync: Option<String>,
    pub active: bool,
    pub enabled: bool,
    pub connected: bool,
    pub hidden: bool,
    /// Capability names.
    pub capabilities: Vec<String>,
    /// Policy names.
    pub policies: Vec<String>,
    /// Event retention.
    pub retention: RetentionWire,
    /// A live session exists.
    pub syncing: bool,
    /// Paused by the user: nothing starts until resumed or `paused_until`.
    #[serde(default)]
    pub paused: bool,
    /// When the pause ends by itself.
    pub paused_until: Option<String>,
    /// Declared in the configuration file: the daemon runs its commands.
    #[serde(default)]
    pub command: bool,
    /// The next scheduled run of any of its items.
    pub next_run: Option<String>,
    /// Some item has not succeeded within its freshness bound.
    #[serde(default)]
    pub overdue: bool,
    /// Items.
    pub item_count: usize,
    /// ERROR events of the handler and its items.
    pub error_count: u64,
    /// Conflicts.
    pub conflict_count: u32,
}

/// `handler.list`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandlerListParams {
    /// Include hidden handlers.
    #[serde(default)]
    pub include_hidden: bool,
}

/// `handler.list` result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlerListResult {
    pub handlers: Vec<HandlerInfo>,
}

/// Parameters naming only a handler.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandlerParams {
    pub handler: String,
}

/// `handler.sync_failed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncFailedParams {
    /// The request from `handler.sync_requested`.
    pub request: String,
    /// Why.
    pub reason: String,
}

/// `item.register`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemRegisterParams {
    pub handler: String,
    /// The item ID.
    pub item: String,
    /// Attributes.
    #[serde(flatten)]
    pub fields: ItemFields,
}

/// Live progress of an item, as drawn.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressInfo {
    /// Last status.
    pub status: Option<StatusWire>,
    /// Step, absent when indeterminate.
    pub step: Option<u32>,
    /// Steps, absent when indeterminate.
    pub max_step: Option<u32>,
    pub text: String,
    /// Drawn as a marquee.
    pub indeterminate: bool,
}

/// An item as listed.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemInfo {
    pub item: String,
    pub name: String,
    pub type_label: String,
    pub comment: String,
    pub last_sync: Option<String>,
    pub enabled: bool,
    pub connected: bool,
    pub hidden: bool,
    /// Capability names.
    pub capabilities: Vec<String>,
    /// Policy names.
    pub policies: Vec<String>,
    /// ERROR events of the item.
    pub error_count: u64,
    /// Its next scheduled run (command items).
    pub next_run: Option<String>,
    /// It has not succeeded within its freshness bound.
    #[serde(default)]
    pub overdue: bool,
    /// Progress while a live session reports it.
    pub progress: Option<ProgressInfo>,
}

/// `item.list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemListParams {
    pub handler: String,
    /// Include hidden items.
    #[serde(default)]
    pub include_hidden: bool,
}

/// `item.list` result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemListResult {
    pub items: Vec<ItemInfo>,
}

/// `control.start` and `control.stop`: everything, a handler, or items of a handler.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlTargetParams {
    /// The host that carries it out, in a fleet; absent or this host's name: here. Another host's name
    /// forwards the call through the shared database and answers with that host's reply.
    pub host: Option<String>,
    /// The handler; absent means every handler.
    pub handler: Option<String>,
    /// Items of the handler; absent means all of them.
    pub items: Option<Vec<String>>,
    /// Flags (`ignore_if_already_syncing` for start).
    pub flags: Option<Vec<ControlFlagWire>>,
    /// A context for the start request, handed to the handler.
    pub context: Option<Value>,
}

/// `control.start` result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartResult {
    /// The start requests created; each ends with a `control.sync_result` push to this connection.
    pub requests: Vec<String>,
}

/// `control.enable`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnableParams {
    /// The host that carries it out, in a fleet; absent or this host's name: here. Another host's name
    /// forwards the call through the shared database and answers with that host's reply.
    pub host: Option<String>,
    pub handler: String,
    /// An item of it, to enable or disable the item.
    pub item: Option<String>,
    /// `true` enables.
    pub enable: bool,
    /// `noui` skips confirmations.
    pub flags: Option<Vec<ControlFlagWire>>,
}

/// `control.activate`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivateParams {
    /// The host that carries it out, in a fleet; absent or this host's name: here. Another host's name
    /// forwards the call through the shared database and answers with that host's reply.
    pub host: Option<String>,
    pub handler: String,
    /// `true` activates.
    pub activate: bool,
    /// `noui` skips confirmations.
    pub flags: Option<Vec<ControlFlagWire>>,
}

/// `control.delete_item`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteItemParams {
    /// The host that carries it out, in a fleet; absent or this host's name: here. Another host's name
    /// forwards the call through the shared database and answers with that host's reply.
    pub host: Option<String>,
    pub handler: String,
    pub item: String,
    /// `noui` skips confirmations.
    pub flags: Option<Vec<ControlFlagWire>>,
}

/// `control.pause`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PauseParams {
    /// The host that carries it out, in a fleet; absent or this host's name: here. Another host's name
    /// forwards the call through the shared database and answers with that host's reply.
    pub host: Option<String>,
    /// The handler; absent pauses every handler.
    pub handler: Option<String>,
    /// When the pause ends by itself (RFC 3339); absent: until resumed.
    pub until: Option<String>,
}

/// `control.resume`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeParams {
    /// The host that carries it out, in a fleet; absent or this host's name: here. Another host's name
    /// forwards the call through the shared database and answers with that host's reply.
    pub host: Option<String>,
    /// The handler; absent resumes every paused handler.
    pub handler: Option<String>,
}

/// One item of a session.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionItemInfo {
    pub item: String,
    /// Last status reported.
    pub status: Option<StatusWire>,
    pub step: u32,
    /// Steps.
    pub max_step: u32,
    pub text: String,
}

/// A live session.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub session: String,
    pub handler: String,
    /// Creation time.
    pub started_at: String,
    /// User-initiated.
    pub manual: bool,
    /// Handler-level progress text.
    pub handler_text: Option<String>,
    /// A handler-level stop is in force.
    pub stop_all: bool,
    /// Items with an item-level stop in force.
    pub stopped_items: Vec<String>,
    /// Members and their progress.
    pub items: Vec<SessionItemInfo>,
}

/// `sessions.list` result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionsListResult {
    /// Live sessions.
    pub sessions: Vec<SessionInfo>,
}

/// `sessions.history`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsHistoryParams {
    /// Only this handler's sessions.
    pub handler: Option<String>,
    /// Only sessions started before this time (the next page).
    pub before: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
}

/// A session from history.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecordInfo {
    pub session: String,
    pub handler: String,
    /// Creation time.
    pub started_at: String,
    /// User-initiated.
    pub manual: bool,
    /// End time; absent while live.
    pub ended_at: Option<String>,
    /// `ended`, `owner_lost`, `daemon_restarted`.
    pub end_reason: Option<String>,
    /// Aggregated status.
    pub status: Option<StatusWire>,
    /// Items and their last progress.
    pub items: Vec<SessionItemInfo>,
}

/// `sessions.history` result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionsHistoryResult {
    /// Newest first.
    pub sessions: Vec<SessionRecordInfo>,
}

/// Which events (`events.list`, `events.clear`).
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsFilterParams {
    pub handler: Option<String>,
    /// Item (with handler).
    pub item: Option<String>,
    /// Only handler-level events.
    #[serde(default)]
    pub handler_level_only: bool,
    /// Levels (any of).
    pub levels: Option<Vec<EventLevelWire>>,
    /// Reporting session.
    pub session: Option<String>,
    /// At or after.
    pub since: Option<String>,
    /// Before.
    pub until: Option<String>,
    /// `events.list` only: the `next` cursor of the previous page.
    pub after: Option<String>,
    /// `events.list` only: page size.
    pub limit: Option<u32>,
}

/// An event.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventInfo {
    pub event: String,
    pub handler: String,
    pub item: Option<String>,
    /// Reporting session.
    pub session: Option<String>,
    pub level: EventLevelWire,
    pub name: String,
    pub description: String,
    /// Hot-link text.
    pub link_text: Option<String>,
    /// Hot-link target.
    pub link_reference: Option<String>,
    /// Handler data.
    pub context: Option<String>,
    /// Creation time.
    pub time: String,
}

/// `events.list` result.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsListResult {
    /// Newest first.
    pub events: Vec<EventInfo>,
    /// Cursor of the next page, absent on the last.
    pub next: Option<String>,
    /// How many events match the filter in all.
    pub total: u64,
}

/// `events.get`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventParams {
    pub event: String,
}

/// `events.remove`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsRemoveParams {
    /// The events; all must exist, otherwise nothing is removed.
    pub events: Vec<String>,
}

/// How many were removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedResult {
    /// Count.
    pub removed: u64,
}

/// `conflicts.list`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConflictsListParams {
    pub handler: Option<String>,
    /// Item (with handler).
    pub item: Option<String>,
}

/// A version to keep.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeptWire {
    /// Index into the versions.
    pub index: usize,
    /// New name when several are kept.
    pub new_name: Option<String>,
}

/// A resolution choice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ChoiceWire {
    /// Keep these versions (`{"keep": [{"index": 0}]}`).
    Keep(Vec<KeptWire>),
    /// Keep the most recent version (`"keep_recent"`).
    KeepRecent,
    /// Keep a merged version at this location (`{"keep_other": "/path"}`).
    KeepOther(String),
    /// Stop syncing the item (`"remove_from_sync_set"`).
    RemoveFromSyncSet,
}

/// A recorded resolution.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolutionInfo {
    pub choice: ChoiceWire,
    /// When it was chosen.
    pub requested_at: String,
    /// The conflict whose "apply to all" chose it.
    pub applied_from: Option<String>,
}

/// A conflict.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictInfo {
    pub conflict: String,
    pub handler: String,
    pub item: Option<String>,
    /// Owner's key.
    pub key: Option<String>,
    pub name: String,
    /// Summary.
    pub description: String,
    pub versions: Vec<ConflictVersionWire>,
    /// Allowed resolutions.
    pub abilities: Vec<String>,
    /// Reported or last changed.
    pub detected_at: String,
    /// The user's choice, waiting for the owner.
    pub resolution: Option<ResolutionInfo>,
}

/// `conflicts.list` result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictsListResult {
    pub conflicts: Vec<ConflictInfo>,
}

/// `conflicts.get`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConflictParams {
    pub conflict: String,
}

/// `conflicts.resolve`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveParams {
    /// The host that carries it out, in a fleet; absent or this host's name: here. Another host's name
    /// forwards the call through the shared database and answers with that host's reply.
    pub host: Option<String>,
    pub conflict: String,
    pub choice: ChoiceWire,
    /// Apply to every other unresolved conflict of the handler with the same kind of versions.
    #[serde(default)]
    pub apply_to_all: bool,
}

/// `conflicts.resolve` result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveResult {
    /// Conflicts whose resolution was recorded.
    pub recorded: Vec<String>,
    /// Conflicts "apply to all" skipped because they do not allow the choice.
    pub needs_attention: Vec<String>,
}

/// `conflicts.remove`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConflictsRemoveParams {
    /// The conflicts; all must exist.
    pub conflicts: Vec<String>,
}

/// `subscribe` result: the state to start from; updates with a larger `seq` follow as `update` pushes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribeResult {
    /// The sequence number the snapshot reflects.
    pub seq: u64,
    pub handlers: Vec<HandlerInfo>,
    /// Live sessions.
    pub sessions: Vec<SessionInfo>,
}

/// One change of the live feed (`update` push).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    /// Increasing per daemon run.
    pub seq: u64,
    /// What changed.
    #[serde(flatten)]
    pub change: UpdateKind,
}

/// What an update says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UpdateKind {
    /// A session was created.
    SessionStarted {
        /// It.
        session: SessionInfo,
    },
    /// An item's progress (coalesced: the latest per item per publish interval).
    Progress {
        /// Session.
        session: String,
        /// Item.
        item: String,
        /// Status.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<StatusWire>,
        /// Step.
        step: u32,
        /// Steps.
        max_step: u32,
        /// Text.
        text: String,
    },
    /// Handler-level progress text.
    HandlerText {
        /// Session.
        session: String,
        /// Text.
        text: String,
    },
    /// A stop was requested.
    CancelRequested {
        /// Session.
        session: String,
        /// Item, for an item stop.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        item: Option<String>,
        /// Kind.
        cancel: CancelWire,
    },
    /// A session ended.
    SessionEnded {
        /// Session.
        session: String,
        /// Handler.
        handler: String,
        /// Status.
        status: StatusWire,
        /// Errors.
        errors: u32,
        /// Conflicts.
        conflicts: u32,
        /// `ended`, `owner_lost`, `daemon_restarted`.
        reason: String,
    },
    /// An event was reported.
    EventAdded {
        /// It.
        event: EventInfo,
    },
    /// Events were removed.
    EventsRemoved {
        /// How many.
        removed: u64,
    },
    /// A handler's conflicts changed.
    ConflictsChanged {
        /// Handler.
        handler: String,
    },
    /// A handler or its items changed.
    RegistryChanged {
        /// Handler.
        handler: String,
    },
}

/// Push `session.cancel_requested`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelRequestedPush {
    pub session: String,
    /// Item, for an item-level stop.
    pub item: Option<String>,
    pub cancel: CancelWire,
}

/// Push `handler.sync_requested`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncRequestedPush {
    /// The request; create a session over the items to serve it, or send `handler.sync_failed`.
    pub request: String,
    pub handler: String,
    pub items: Vec<String>,
    /// Contexts of the request.
    pub contexts: Vec<Value>,
}

/// Push `control.sync_result`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResultPush {
    /// The request from `control.start`.
    pub request: String,
    pub handler: String,
    /// Aggregated status.
    pub status: StatusWire,
    pub errors: u32,
    pub conflicts: u32,
}

/// Push `conflict.resolution_requested`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolutionRequestedPush {
    pub conflict: String,
    pub handler: String,
    pub item: Option<String>,
    /// The choice to carry out; then send `conflicts.remove`.
    pub choice: ChoiceWire,
}
