//! The records Sync Center keeps: handlers, items, events, conflicts, sessions, start-request results.
//!
//! These are plain data with public fields; the rules that create and change them live in `center`. They are
//! deliberately not `Serialize`: wire and row forms belong to the crates at the edges.

use crate::enums::{
    ConflictItemType, EventLevel, HandlerCapabilities, HandlerPolicies, HandlerType, ItemCapabilities, ItemPolicies,
    PresenterChoice, ProgressStatus, ResolutionAbilities,
};
use crate::text::{ConflictId, EventId, HandlerId, ItemId, OwnerId, RequestId, SessionId};
use crate::time::Timestamp;
use std::collections::BTreeMap;

/// What happens to a handler's events when it synchronizes again (§5.18).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum EventRetention {
    /// Events persist until the user removes them (the project default).
    #[default]
    Keep,
    /// Windows semantics: a new session of the handler deletes its previous events.
    ReplaceOnSync,
}

impl EventRetention {
    /// Every value.
    pub const ALL: [EventRetention; 2] = [EventRetention::Keep, EventRetention::ReplaceOnSync];

    /// Stable name for storage and configuration.
    pub fn name(self) -> &'static str {
        match self {
            EventRetention::Keep => "keep",
            EventRetention::ReplaceOnSync => "replace_on_sync",
        }
    }

    /// From the stable name.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == s)
    }
}

/// A registered handler (§1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Handler {
    /// Unique across Sync Center.
    pub id: HandlerId,
    /// Display name, at most 127 UTF-16 units, never empty.
    pub name: String,
    /// Kind of partner.
    pub handler_type: HandlerType,
    /// Label for the type, e.g. a device model.
    pub type_label: String,
    /// Summary shown when no sync runs, at most 127 units.
    pub comment: String,
    /// Last sync time supplied by the handler; overrides the recorded one (§5.25).
    pub last_sync_reported: Option<Timestamp>,
    /// Last sync time recorded by Sync Center when a session ended.
    pub last_sync_recorded: Option<Timestamp>,
    /// In the Sync Center folder (true) or Sync Setup (false).
    pub active: bool,
    /// Synchronizable.
    pub enabled: bool,
    /// Reachable (a device plugged in).
    pub connected: bool,
    /// Hidden unless hidden handlers are shown; initialised from `hidden_by_default` once.
    pub hidden: bool,
    /// Capabilities.
    pub capabilities: HandlerCapabilities,
    /// Policies.
    pub policies: HandlerPolicies,
    /// Event retention mode.
    pub retention: EventRetention,
    /// Set while the user has paused the handler: no run starts until it is resumed or the pause ends.
    pub pause: Option<Pause>,
}

/// A pause of a handler's syncs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Pause {
    /// When it was paused.
    pub since: Timestamp,
    /// When the pause ends by itself; `None` until resumed.
    pub until: Option<Timestamp>,
}

impl Handler {
    /// The last sync time to show: the handler's own when it supplies one.
    pub fn last_sync(&self) -> Option<Timestamp> {
        self.last_sync_reported.or(self.last_sync_recorded)
    }
}

/// A registered item of a handler (§1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Item {
    /// Unique within the handler; never changes.
    pub id: ItemId,
    /// Display name, at most 127 units, never empty.
    pub name: String,
    /// Label for the type.
    pub type_label: String,
    /// Summary, at most 127 units.
    pub comment: String,
    /// Last sync time supplied by the handler.
    pub last_sync_reported: Option<Timestamp>,
    /// Last sync time recorded by Sync Center.
    pub last_sync_recorded: Option<Timestamp>,
    /// Synchronizable.
    pub enabled: bool,
    /// Reachable.
    pub connected: bool,
    /// Hidden unless hidden items are shown.
    pub hidden: bool,
    /// Capabilities.
    pub capabilities: ItemCapabilities,
    /// Policies.
    pub policies: ItemPolicies,
}

impl Item {
    /// The last sync time to show.
    pub fn last_sync(&self) -> Option<Timestamp> {
        self.last_sync_reported.or(self.last_sync_recorded)
    }
}

/// Registration or update of a handler. `None` means "not supplied": on first registration the spec's default
/// applies (§2.4 failure rules), on update the last known value is kept (`E_NOTIMPL` semantics).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HandlerSpec {
    /// Display name; required on first registration. Longer than 127 units is truncated.
    pub name: Option<String>,
    /// Kind of partner; default `Unspecified`.
    pub handler_type: Option<HandlerType>,
    /// Type label; default empty.
    pub type_label: Option<String>,
    /// Comment; default empty.
    pub comment: Option<String>,
    /// Handler-supplied last sync time.
    pub last_sync: Option<Timestamp>,
    /// Default true.
    pub active: Option<bool>,
    /// Default true.
    pub enabled: Option<bool>,
    /// Default true (an unknown state reads as connected).
    pub connected: Option<bool>,
    /// Default none.
    pub capabilities: Option<HandlerCapabilities>,
    /// Default none.
    pub policies: Option<HandlerPolicies>,
    /// Default `Keep`.
    pub retention: Option<EventRetention>,
}

/// Registration or update of an item; `None` as in [`HandlerSpec`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ItemSpec {
    /// Display name; required on first registration.
    pub name: Option<String>,
    /// Type label; default empty.
    pub type_label: Option<String>,
    /// Comment; default empty.
    pub comment: Option<String>,
    /// Handler-supplied last sync time.
    pub last_sync: Option<Timestamp>,
    /// Default true.
    pub enabled: Option<bool>,
    /// Default true.
    pub connected: Option<bool>,
    /// Default none.
    pub capabilities: Option<ItemCapabilities>,
    /// Default none.
    pub policies: Option<ItemPolicies>,
}

/// An event in Sync Results (§1.7, §2.13).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Event {
    /// Unique, never nil.
    pub id: EventId,
    /// The handler it was logged for.
    pub handler: HandlerId,
    /// The item, or `None` for a handler-level event.
    pub item: Option<ItemId>,
    /// The session that reported it, if any.
    pub session: Option<SessionId>,
    /// Level.
    pub level: EventLevel,
    /// Name or short summary.
    pub name: String,
    /// Description.
    pub description: String,
    /// Hot-link text.
    pub link_text: Option<String>,
    /// Hot-link target.
    pub link_reference: Option<String>,
    /// Handler-private data.
    pub context: Option<String>,
    /// Creation time, assigned by Sync Center.
    pub time: Timestamp,
}

/// The arguments of `ReportEvent` (§2.2.3), before validation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewEvent {
    /// The item, or `None` for a handler-level event.
    pub item: Option<ItemId>,
    /// Level.
    pub level: Option<EventLevel>,
    /// `SYNCMGR_EVENT_FLAGS`; no bit is defined, so anything but 0 is refused.
    pub flags: u32,
    /// Required, non-empty.
    pub name: Option<String>,
    /// Required.
    pub description: Option<String>,
    /// Optional.
    pub link_text: Option<String>,
    /// Optional.
    pub link_reference: Option<String>,
    /// Optional.
    pub context: Option<String>,
}

/// One competing version in a conflict (`CONFIRM_CONFLICT_ITEM`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ConflictVersion {
    /// Its name; `None` means "use the location's own name".
    pub original_name: Option<String>,
    /// The name it must take if several versions are kept.
    pub alternate_name: Option<String>,
    /// Short location, e.g. "This computer".
    pub location_short: String,
    /// Full location, e.g. a path or URL.
    pub location_full: String,
    /// Updated and/or deleted.
    pub item_type: ConflictItemType,
    /// When this version was last modified, if known; `KeepRecent` needs it.
    pub modified: Option<Timestamp>,
    /// Its size in bytes, if known.
    pub size: Option<u64>,
}

/// A conflict reported by an owner (§2.18), before validation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewConflict {
    /// The item it concerns, or `None` for the handler.
    pub item: Option<ItemId>,
    /// The owner's own key; re-reporting the same key updates the conflict (`UpdateConflict` CHANGED).
    pub key: Option<String>,
    /// Display name of the conflicting thing (required).
    pub name: String,
    /// Summary.
    pub description: String,
    /// At least two versions.
    pub versions: Vec<ConflictVersion>,
    /// Which resolutions are allowed.
    pub abilities: ResolutionAbilities,
}

/// A conflict in the conflict store. It stays until its owner removes it, even after a resolution (§5.33).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Conflict {
    /// Opaque ID.
    pub id: ConflictId,
    /// The handler that reported it.
    pub handler: HandlerId,
    /// The item, if any.
    pub item: Option<ItemId>,
    /// The owner's key, if any.
    pub key: Option<String>,
    /// Display name.
    pub name: String,
    /// Summary.
    pub description: String,
    /// The competing versions.
    pub versions: Vec<ConflictVersion>,
    /// Allowed resolutions.
    pub abilities: ResolutionAbilities,
    /// When it was reported or last changed.
    pub detected_at: Timestamp,
    /// The user's decision, waiting for the owner to carry it out.
    pub resolution: Option<Resolution>,
}

impl Conflict {
    /// `ISyncMgrConflict::GetProperty`: a key the conflict lacks yields `None` (`VT_EMPTY`), never an error.
    pub fn property(&self, key: &str) -> Option<String> {
        match key {
            "System.ItemNameDisplay" | "name" => Some(self.name.clone()),
            "System.Sync.ConflictDescription" | "description" => Some(self.description.clone()),
            "System.Sync.HandlerID" | "handler_id" => Some(self.handler.to_string()),
            "System.Sync.ItemID" | "item_id" => self.item.as_ref().map(ToString::to_string),
            "System.DateModified" | "date_modified" => Some(self.detected_at.as_micros().to_string()),
            _ => None,
        }
    }

    /// A coarse "type" used by "apply to all": the kinds of change of its versions, in order.
    pub fn kind(&self) -> Vec<ConflictItemType> {
        self.versions.iter().map(|v| v.item_type).collect()
    }
}

/// What the user chose for a conflict (the `ISyncMgrResolutionHandler` methods).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ResolutionChoice {
    /// `KeepItems`: keep the versions at these indexes, each optionally renamed. More than one needs
    /// `keep_multiple`.
    KeepItems(Vec<KeptVersion>),
    /// `KeepRecent`: needs `keep_recent`.
    KeepRecent,
    /// `KeepOther`: keep a merged version at this location instead; needs `keep_other`.
    KeepOther(String),
    /// `RemoveFromSyncSet`: needs `remove_from_sync_set`.
    RemoveFromSyncSet,
}

impl ResolutionChoice {
    /// The presenter choice this corresponds to.
    pub fn presenter_choice(&self) -> PresenterChoice {
        match self {
            ResolutionChoice::KeepItems(v) if v.len() > 1 => PresenterChoice::KeepMultiple,
            ResolutionChoice::KeepItems(_) | ResolutionChoice::KeepOther(_) => PresenterChoice::KeepOne,
            ResolutionChoice::KeepRecent => PresenterChoice::KeepRecent,
            ResolutionChoice::RemoveFromSyncSet => PresenterChoice::RemoveFromSyncSet,
        }
    }
}

/// A version to keep (`CONFIRM_CONFLICT_RESULT_INFO`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct KeptVersion {
    /// Index into the conflict's versions.
    pub index: usize,
    /// New name, when several versions are kept.
    pub new_name: Option<String>,
}

/// A recorded resolution, waiting for the owner.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Resolution {
    /// The choice.
    pub choice: ResolutionChoice,
    /// When the user chose.
    pub requested_at: Timestamp,
    /// Set when the choice came from "apply to all" on another conflict.
    pub applied_from: Option<ConflictId>,
}

/// The outcome of resolving a selection of conflicts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResolveOutcome {
    /// Conflicts whose resolution was recorded.
    pub recorded: Vec<ConflictId>,
    /// Conflicts "apply to all" skipped because they do not allow the choice (`SYNCMGR_RF_REFRESH`).
    pub needs_attention: Vec<ConflictId>,
}

/// An opaque caller-supplied value carried by a start request (the `punk` of §5.14).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Context(pub String);

/// Progress of one item in one session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ItemProgress {
    /// `None` until the first report.
    pub status: Option<ProgressStatus>,
    /// Current step (clamped to `max_step`); kept from the last determinate report.
    pub step: u32,
    /// Total steps.
    pub max_step: u32,
    /// Progress text, at most 259 units.
    pub text: String,
}

impl ItemProgress {
    /// True once a completion status was reported.
    pub fn is_final(&self) -> bool {
        self.status.is_some_and(ProgressStatus::is_final)
    }
}

/// What a report's numbers count (an extension of the spec, whose steps have no unit): people read bytes and
/// files in their own units rather than as bare steps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ProgressUnit {
    /// The spec's plain steps.
    #[default]
    Steps,
    /// Bytes.
    Bytes,
    /// Files.
    Files,
}

/// A report's amount in its unit, beside the spec's `u32` steps (which it does not replace): `u64`, so that a
/// byte count above 4 GiB is exact. Live only: the change log and the stores keep the steps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Amount {
    /// What `done` and `total` count.
    pub unit: ProgressUnit,
    /// Done so far (clamped to `total` when `total` is known).
    pub done: u64,
    /// The whole, 0 when unknown.
    pub total: u64,
}

impl Amount {
    /// The amount with `done` clamped to a known `total`, as the steps are clamped.
    pub fn clamped(self) -> Amount {
        let done = if self.total == 0 { self.done } else { self.done.min(self.total) };
        Amount { done, ..self }
    }

    /// The spec's steps for this amount: the same numbers when they fit in `u32`, else both scaled down by the
    /// same power of two (a non-zero total stays non-zero).
    pub fn steps(self) -> (u32, u32) {
        let a = self.clamped();
        let shift = (u64::BITS - a.total.max(a.done).leading_zeros()).saturating_sub(u32::BITS);
        let scale = |v: u64| u32::try_from(v >> shift).unwrap_or(u32::MAX);
        let max = if a.total == 0 { 0 } else { scale(a.total).max(1) };
        (scale(a.done).min(if max == 0 { u32::MAX } else { max }), max)
    }
}

/// What a viewer should draw for an item (§5.5, §5.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayProgress {
    /// Last status reported.
    pub status: Option<ProgressStatus>,
    /// Steps, `None` when the display is indeterminate.
    pub steps: Option<(u32, u32)>,
    /// Text.
    pub text: String,
    /// Shown as a marquee: indeterminate status, `max_step == 0`, or two live sessions report the item.
    pub indeterminate: bool,
    /// The last report's amount in its unit, when it gave one and the item is not drawn for two sessions.
    pub amount: Option<Amount>,
}

/// Why a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum EndReason {
    /// Its owner ended it.
    Ended,
    /// Its owner disappeared (connection closed, process died).
    OwnerLost,
    /// It was live when Sync Center stopped; found and ended at the next start.
    Restarted,
    /// Sync Center was shut down while it was live.
    Shutdown,
    /// Its owner asked to be ended after a silence and reported nothing for that long.
    LeaseExpired,
    /// Its host stopped sending heartbeats to the shared database; another host of the fleet ended it.
    HostLost,
}

impl EndReason {
    /// Stable name for storage and the wire.
    pub fn name(self) -> &'static str {
        match self {
            EndReason::Ended => "ended",
            EndReason::OwnerLost => "owner_lost",
            EndReason::Restarted => "daemon_restarted",
            EndReason::Shutdown => "daemon_stopped",
            EndReason::LeaseExpired => "lease_expired",
            EndReason::HostLost => "host_lost",
        }
    }

    /// From the stable name.
    pub fn from_name(s: &str) -> Option<Self> {
        [
            EndReason::Ended,
            EndReason::OwnerLost,
            EndReason::Restarted,
            EndReason::Shutdown,
            EndReason::LeaseExpired,
            EndReason::HostLost,
        ]
        .into_iter()
        .find(|r| r.name() == s)
    }
}

/// One item of a session as stored in its history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionItemRecord {
    /// The item.
    pub item: ItemId,
    /// Its progress.
    pub progress: ItemProgress,
}

/// A session as stored: live (no `ended`) or history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// ID.
    pub id: SessionId,
    /// Handler.
    pub handler: HandlerId,
    /// Owner at creation.
    pub owner: OwnerId,
    /// When it was created.
    pub started_at: Timestamp,
    /// Declared user-initiated by `report_manual_sync`.
    pub manual: bool,
    /// Set once it ended.
    pub ended: Option<SessionEnd>,
    /// Full (non-provisional) members, in order.
    pub items: Vec<SessionItemRecord>,
}

/// How a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionEnd {
    /// When.
    pub at: Timestamp,
    /// Why.
    pub reason: EndReason,
    /// Aggregated status (§5.19 ranking over its items); `Succeeded` for a session with no final items.
    pub status: ProgressStatus,
}

/// What `end_session` returns (the wire's `{status, errors, conflicts}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionSummary {
    /// The session.
    pub session: SessionId,
    /// Aggregated status.
    pub status: ProgressStatus,
    /// ERROR-level events the session reported.
    pub errors: u32,
    /// The handler's current conflict count.
    pub conflicts: u32,
    /// Why it ended.
    pub reason: EndReason,
}

/// `ISyncMgrSyncResult::Result` of a start request (§5.19).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncResult {
    /// Aggregated status.
    pub status: ProgressStatus,
    /// ERROR events reported for the requested items or the handler by the sessions that served it.
    pub errors: u32,
    /// The handler's conflict count when the request finished.
    pub conflicts: u32,
}

/// What the owner sees from `query_additional_items` (§5.13); both empty means `S_FALSE`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PendingItems {
    /// Pending item IDs, unique, in first-request order.
    pub items: Vec<ItemId>,
    /// Pending contexts.
    pub contexts: Vec<Context>,
}

impl PendingItems {
    /// `S_FALSE`: nothing pending.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.contexts.is_empty()
    }
}

/// A live session as viewers see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionView {
    /// ID.
    pub id: SessionId,
    /// Handler.
    pub handler: HandlerId,
    /// Owner.
    pub owner: OwnerId,
    /// Creation time.
    pub started_at: Timestamp,
    /// User-initiated.
    pub manual: bool,
    /// Handler-level progress text.
    pub handler_text: Option<String>,
    /// The handler-level stop is in force.
    pub stop_all: bool,
    /// Full members and their progress, in order.
    pub items: Vec<(ItemId, ItemProgress)>,
    /// The amounts of the members whose last report gave one.
    pub amounts: BTreeMap<ItemId, Amount>,
    /// Items with an item-level stop in force.
    pub stopped_items: Vec<ItemId>,
    /// Contexts absorbed with `add_context`.
    pub contexts: Vec<Context>,
}

/// A start request's public state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestView {
    /// ID.
    pub id: RequestId,
    /// Handler.
    pub handler: HandlerId,
    /// Items still waiting for a session.
    pub pending: Vec<ItemId>,
    /// Dispatched (handed to the handler) rather than queued behind a live session.
    pub dispatched: bool,
}
