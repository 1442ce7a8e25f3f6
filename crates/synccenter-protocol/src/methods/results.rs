//! Live sessions, their history, Sync Results (events) and conflicts (`sessions.*`, `events.*`, `conflicts.*`).

use super::*;

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
    /// The amount in its unit, while the session is live and the last report gave one (an extension).
    pub amount: Option<AmountInfo>,
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
