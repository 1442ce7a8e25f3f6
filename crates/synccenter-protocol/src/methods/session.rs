//! The session creator and its callback (`session.*`): what a sync handler sends while it syncs.

use super::*;

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
    /// Only announce the sync (`CreateSession` with a NULL callback, spec §5.2): the session is checked and
    /// created like any other and ended at once, with nothing recorded for its items. Not with `detach` or
    /// `lease_seconds`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub announce: bool,
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
    /// What `step`/`max_step`, or `done`/`total` when given, count (default `steps`). An extension.
    pub unit: Option<UnitWire>,
    /// Done so far in `unit`, beyond `u32` (an extension). With `done` or `total` and without `step` and
    /// `max_step`, the daemon derives the steps from them (scaled to fit `u32`).
    pub done: Option<u64>,
    /// The whole in `unit`, 0 when not known yet (an extension).
    pub total: Option<u64>,
}

impl ReportProgressParams {
    /// The report's amount in its unit, when it says one: `done`/`total` if either is given, else the steps
    /// if a unit other than `steps` is named; `None` for a plain report of the spec.
    pub fn amount(&self) -> Option<AmountInfo> {
        report_amount(self.unit, (self.step, self.max_step), (self.done, self.total))
    }
}

/// [`ReportProgressParams::amount`] over the fields themselves, for readers that borrow them.
pub fn report_amount(
    unit: Option<UnitWire>,
    (step, max_step): (Option<u32>, Option<u32>),
    (done, total): (Option<u64>, Option<u64>),
) -> Option<AmountInfo> {
    let unit = unit.unwrap_or(UnitWire::Steps);
    if done.is_some() || total.is_some() {
        return Some(AmountInfo { unit, done: done.unwrap_or(0), total: total.unwrap_or(0) });
    }
    (unit != UnitWire::Steps).then(|| AmountInfo {
        unit,
        done: u64::from(step.unwrap_or(0)),
        total: u64::from(max_step.unwrap_or(0)),
    })
}

/// An item's progress in its unit, beside the spec's steps (an extension: `docs/protocol.md`, Units).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmountInfo {
    /// What `done` and `total` count.
    pub unit: UnitWire,
    /// Done so far.
    pub done: u64,
    /// The whole, 0 when not known (yet).
    pub total: u64,
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
