//! # synccenter-core
//!
//! Sync Center as a library: handlers and items, sessions with per-item progress, cancellation that is
//! pushed the moment it is recorded, start requests queued behind live sessions, Sync Results (events), the
//! conflict store, and every policy of the Windows API (restated in `shared/syncmgr-spec.md`).
//!
//! It does no I/O: time and fresh IDs come in through [`Clock`] and [`IdSource`], persistence goes out as
//! [`Change`]s through the [`Store`] trait, and notices go to a [`NoticeSink`]. [`SyncCenter`] composes a
//! [`Center`] with a store for embedders; the daemon drives a [`Center`] directly with its own batching.

#![warn(missing_docs)]

mod center;
mod engine;
mod enums;
mod error;
mod hresult;
mod memory_store;
mod model;
mod notice;
pub mod retention;
mod store;
mod text;
mod time;

pub use center::{AlwaysConfirm, Center, CenterConfig, Confirm};
pub use center::{ENDED_WITHOUT_RESULT, MAX_CONFLICT_VERSIONS};
pub use engine::SyncCenter;
pub use enums::{
    CancelRequest, ConflictItemType, ControlFlags, EventLevel, FlagKind, HandlerCapabilities, HandlerPolicies,
    HandlerType, ItemCapabilities, ItemPolicies, PresenterChoice, ProgressStatus, ResolutionAbilities,
    ResolutionFeedback, SyncControlFlags, ValueError,
};
pub use error::{Action, CoreError, NotReadyReason, StoreError, Target};
pub use hresult::HResult;
pub use memory_store::MemoryStore;
pub use model::{
    Amount, Conflict, ConflictVersion, Context, DisplayProgress, EndReason, Event, EventRetention, Handler,
    HandlerSpec, Item, ItemProgress, ItemSpec, KeptVersion, NewConflict, NewEvent, Pause, PendingItems, ProgressUnit,
    RequestView, Resolution, ResolutionChoice, ResolveOutcome, SessionEnd, SessionItemRecord, SessionRecord,
    SessionSummary, SessionView, SyncResult,
};
pub use notice::{IgnoreNotices, Notice, NoticeSink};
pub use retention::{Keep, Pruned, RetentionPolicy};
pub use store::{Change, EventCursor, EventFilter, EventQuery, SessionQuery, Snapshot, Store};
pub use text::{
    ConflictId, EventId, HandlerId, IdError, IdKind, IdProblem, ItemId, MAX_EVENT_CONTEXT_UNITS,
    MAX_EVENT_DESCRIPTION_UNITS, MAX_EVENT_LINK_REFERENCE_UNITS, MAX_EVENT_LINK_TEXT_UNITS, MAX_EVENT_NAME_UNITS,
    MAX_ID_UNITS, MAX_NAME_UNITS, MAX_PROGRESS_TEXT_UNITS, OwnerId, RequestId, SessionId, truncate_marked,
    truncate_utf16, utf16_len,
};
pub use time::{Clock, IdSource, ManualClock, SequentialIds, Timestamp};
