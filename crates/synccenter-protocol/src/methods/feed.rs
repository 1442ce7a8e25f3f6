//! The live feed (`subscribe`, `update`) and the other server pushes.

use super::*;

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
        /// The amount in its unit, when the report gave one (an extension).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amount: Option<AmountInfo>,
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
