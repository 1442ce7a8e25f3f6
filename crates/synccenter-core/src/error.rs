//! One typed error for every rule the core enforces, each carrying the spec's HRESULT.
//!
//! Variants carry the facts (IDs, limits, values) so that messages are precise; `hresult()` is an exhaustive
//! match so that a new variant cannot ship without a decision about its wire code.

use std::fmt;

use crate::enums::{CancelRequest, ProgressStatus, ResolutionAbilities, ValueError};
use crate::hresult::HResult;
use crate::text::{ConflictId, EventId, HandlerId, IdError, ItemId, RequestId, SessionId};

/// A control action that policies and confirmations govern.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Activate a handler (*Setup*).
    Activate,
    /// Deactivate a handler (*Delete* in the Sync Center folder).
    Deactivate,
    /// Enable a handler or item.
    Enable,
    /// Disable a handler or item.
    Disable,
    /// Start a sync through control.
    StartSync,
    /// Stop a sync through control.
    StopSync,
    /// Delete an item from the sync set.
    Delete,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Activate => "activating",
            Action::Deactivate => "deactivating",
            Action::Enable => "enabling",
            Action::Disable => "disabling",
            Action::StartSync => "starting a sync",
            Action::StopSync => "stopping a sync",
            Action::Delete => "deleting",
        })
    }
}

/// Why a target cannot be synchronized (§5.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotReadyReason {
    /// The handler is inactive (in *Sync Setup*).
    Inactive,
    /// The handler or item is disabled.
    Disabled,
    /// The handler or item is disconnected.
    Disconnected,
    /// No item of the request is synchronizable.
    NothingToSync,
    /// The user paused the handler.
    Paused,
}

impl fmt::Display for NotReadyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NotReadyReason::Inactive => "inactive",
            NotReadyReason::Disabled => "disabled",
            NotReadyReason::Disconnected => "disconnected",
            NotReadyReason::NothingToSync => "left with no synchronizable item",
            NotReadyReason::Paused => "paused",
        })
    }
}

/// A handler, or an item of a handler: what an error or notice is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    /// The handler.
    pub handler: HandlerId,
    /// The item, when the target is an item.
    pub item: Option<ItemId>,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.item {
            Some(i) => write!(f, "item {i:?} of handler {:?}", self.handler),
            None => write!(f, "handler {:?}", self.handler),
        }
    }
}

/// A storage backend failure. Backends keep their driver errors out of this type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached or written (I/O, disk full, connection lost).
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// The store holds data this build cannot read (corrupt, or a newer schema).
    #[error("the store cannot be read: {0}")]
    Corrupt(String),
}

/// Every refusal of the core, with the spec's HRESULT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// An identifier breaks §5.7.
    #[error(transparent)]
    InvalidId(#[from] IdError),
    /// A value outside what it may be: a number outside its enumeration or range (§5.5), a mask with undefined
    /// bits (§5.23), a flag name no mask defines.
    #[error(transparent)]
    Value(#[from] ValueError),
    /// A required argument is missing (`E_POINTER`).
    #[error("{0} is required")]
    MissingArgument(&'static str),
    /// A required argument is empty.
    #[error("{0} must not be empty")]
    EmptyArgument(&'static str),
    /// An argument is longer than its limit and cannot be truncated.
    #[error("{what} is {len} units long; the limit is {max}")]
    TooLong {
        /// Which argument.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// No handler has this ID (IDs compare case-sensitively).
    #[error("no handler {0:?}")]
    UnknownHandler(HandlerId),
    /// The handler has no item with this ID.
    #[error("handler {handler:?} has no item {item:?}")]
    UnknownItem {
        /// The handler.
        handler: HandlerId,
        /// The unknown item.
        item: ItemId,
    },
    /// A handler ID equal, ignoring ASCII case, to a different registered one.
    #[error("handler ID {id:?} collides with registered {existing:?} (IDs differing only by case are refused)")]
    DuplicateHandler {
        /// The refused ID.
        id: HandlerId,
        /// The registered ID.
        existing: HandlerId,
    },
    /// An item ID equal, ignoring ASCII case, to another item or proposal of the handler.
    #[error("handler {handler:?} already has an item {existing:?}; {id:?} is refused")]
    DuplicateItem {
        /// The handler.
        handler: HandlerId,
        /// The refused ID.
        id: ItemId,
        /// The existing or proposed ID.
        existing: ItemId,
    },
    /// A session or request needs at least one item.
    #[error("at least one item is required")]
    NoItems,
    /// No session has this ID.
    #[error("no session {0}")]
    UnknownSession(SessionId),
    /// The session has ended; nothing changes (§5.1).
    #[error("session {0} has ended")]
    SessionEnded(SessionId),
    /// The item is neither a member nor a provisional member of the session (§5.9).
    #[error("item {item:?} is not part of session {session}")]
    NotMember {
        /// The session.
        session: SessionId,
        /// The item.
        item: ItemId,
    },
    /// The item is already a member of the session.
    #[error("item {item:?} is already part of session {session}")]
    AlreadyMember {
        /// The session.
        session: SessionId,
        /// The item.
        item: ItemId,
    },
    /// `commit_item` of an item that was not proposed in this session.
    #[error("item {item:?} was not proposed in session {session}")]
    NotProposed {
        /// The session.
        session: SessionId,
        /// The item.
        item: ItemId,
    },
    /// A report after a completion status other than `failed`; the item is now `failed` (§2.2.1).
    #[error(
        "item {item:?} already ended as {}; a report of {} is refused and the item is marked failed",
        .from.name(),
        .to.name()
    )]
    TransitionRefused {
        /// The item.
        item: ItemId,
        /// Its completion status before the report.
        from: ProgressStatus,
        /// The refused status.
        to: ProgressStatus,
        /// The cancel request in force, written even on this error (§5.11).
        cancel: CancelRequest,
    },
    /// A second live session for a handler without concurrent sessions (§5.9).
    #[error("handler {handler:?} already has live session {session} and does not support concurrent sessions")]
    HandlerBusy {
        /// The handler.
        handler: HandlerId,
        /// The live session.
        session: SessionId,
    },
    /// The item is being synchronized, so it cannot be removed now.
    #[error("{0} is synchronizing now")]
    TargetBusy(Target),
    /// The target cannot be synchronized (§5.8, §5.21).
    #[error("{target} cannot be synchronized: it is {reason}")]
    NotReady {
        /// What was refused.
        target: Target,
        /// Why.
        reason: NotReadyReason,
    },
    /// A policy forbids the action (§5.22).
    #[error("{target} forbids {action} by policy")]
    ForbiddenByPolicy {
        /// The target whose policy forbids it.
        target: Target,
        /// The action.
        action: Action,
    },
    /// The item does not declare `can_delete`.
    #[error("{0} cannot be deleted (it does not declare can_delete)")]
    NotDeletable(Target),
    /// A query-before confirmation was declined (§1.9).
    #[error("{action} {target} was declined by its confirmation")]
    Declined {
        /// The target.
        target: Target,
        /// The action.
        action: Action,
    },
    /// No event has this ID.
    #[error("no event {0}")]
    UnknownEvent(EventId),
    /// No conflict has this ID.
    #[error("no conflict {0}")]
    UnknownConflict(ConflictId),
    /// No start request has this ID.
    #[error("no start request {0}")]
    UnknownRequest(RequestId),
    /// `add_context` with a context that no queued request carries (§5.14).
    #[error("no queued start request of this handler carries that context")]
    ContextNotPending,
    /// The conflict's abilities do not allow this resolution (§2.18, behaviour 80).
    #[error("conflict {conflict} does not allow {choice}; it would need {}", .needs.names().join(" and "))]
    ResolutionNotAllowed {
        /// The conflict.
        conflict: ConflictId,
        /// The refused choice.
        choice: &'static str,
        /// The ability it needs.
        needs: ResolutionAbilities,
    },
    /// A version index outside the conflict's versions.
    #[error("conflict {conflict} has {count} versions; index {index} does not exist")]
    BadVersionIndex {
        /// The conflict.
        conflict: ConflictId,
        /// The refused index.
        index: usize,
        /// How many versions there are.
        count: usize,
    },
    /// A configured capacity is exhausted.
    #[error("{what} is limited to {limit}")]
    CapacityExceeded {
        /// What is limited.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The store failed; see §5.1 for what this means for in-memory state.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CoreError {
    /// The spec's code for this error.
    pub fn hresult(&self) -> HResult {
        match self {
            CoreError::InvalidId(_)
            | CoreError::Value(_)
            | CoreError::EmptyArgument(_)
            | CoreError::TooLong { .. }
            | CoreError::UnknownHandler(_)
            | CoreError::UnknownItem { .. }
            | CoreError::DuplicateHandler { .. }
            | CoreError::DuplicateItem { .. }
            | CoreError::NoItems
            | CoreError::UnknownSession(_)
            | CoreError::NotMember { .. }
            | CoreError::AlreadyMember { .. }
            | CoreError::NotProposed { .. }
            | CoreError::UnknownEvent(_)
            | CoreError::UnknownConflict(_)
            | CoreError::UnknownRequest(_)
            | CoreError::ContextNotPending
            | CoreError::ResolutionNotAllowed { .. }
            | CoreError::BadVersionIndex { .. } => HResult::E_INVALIDARG,
            CoreError::MissingArgument(_) => HResult::E_POINTER,
            CoreError::SessionEnded(_) => HResult::E_UNEXPECTED,
            CoreError::TransitionRefused { .. }
            | CoreError::ForbiddenByPolicy { .. }
            | CoreError::NotDeletable(_)
            | CoreError::Declined { .. } => HResult::E_ACCESSDENIED,
            CoreError::HandlerBusy { .. } | CoreError::TargetBusy(_) => HResult::ERROR_BUSY,
            CoreError::NotReady { .. } => HResult::ERROR_NOT_READY,
            CoreError::CapacityExceeded { .. } => HResult::E_OUTOFMEMORY,
            CoreError::Store(_) => HResult::E_FAIL,
        }
    }
}
