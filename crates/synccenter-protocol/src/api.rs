//! One declaration per method. Each method is a marker type implementing [`Method`]: its name (the constant of
//! [`names`] or [`fleet`](crate::fleet) that spells it on the wire), its parameter
//! and result types, whether its changes must be stored before the reply, whether it may name another host of
//! a fleet, and which session it concerns. The daemon's dispatch, the client's typed calls and the method list
//! of `docs/protocol.md` (checked by a test) are all driven by [`for_each_method!`](crate::for_each_method), so adding a method means
//! declaring it here and writing its handler; a declared method without a handler does not compile.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::fleet::{
    FLEET_CONFLICTS, FLEET_EVENTS, FLEET_HANDLERS, FLEET_HOSTS, FLEET_SESSIONS, FleetConflictsParams,
    FleetConflictsResult, FleetEventsParams, FleetEventsResult, FleetHandlersParams, FleetHandlersResult,
    FleetHostsResult, FleetSessionsParams, FleetSessionsResult,
};
use crate::methods::*;

/// When a successful call's changes must be committed before its reply is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// The call changes only what lives in memory (or nothing); its reply leaves at once.
    Never,
    /// The call may change stored records; its reply waits for the commit, and it is refused while the store
    /// cannot write.
    Always,
    /// Only a report of a final status must be stored first (a running status is coalesced).
    WhenFinal,
}

/// A JSON-RPC method of the local protocol.
pub trait Method {
    /// The method's name on the wire.
    const NAME: &'static str;
    /// See [`Durability`].
    const DURABILITY: Durability;
    /// Whether the parameters may name another host of a fleet (`host`), which then runs the call.
    const FORWARDABLE: bool = false;
    /// What the client sends.
    type Params: Serialize + DeserializeOwned + Debug + Send + 'static;
    /// What a successful call answers.
    type Result: Serialize + DeserializeOwned + Debug + Send + 'static;

    /// The session the call reports into, if any (a detached session's lease is renewed by it).
    fn session(_params: &Self::Params) -> Option<&str> {
        None
    }

    /// The host the call names, for a forwardable method.
    fn host(_params: &Self::Params) -> Option<&str> {
        None
    }

    /// Whether this call's changes must be stored before the reply.
    fn durable(params: &Self::Params) -> bool;
}

/// A method's facts without its types, for listings and checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MethodInfo {
    /// The name on the wire.
    pub name: &'static str,
    /// See [`Method::DURABILITY`].
    pub durability: Durability,
    /// See [`Method::FORWARDABLE`].
    pub forwardable: bool,
}

macro_rules! durable_fn {
    (Never) => {
        fn durable(_: &Self::Params) -> bool {
            false
        }
    };
    (Always) => {
        fn durable(_: &Self::Params) -> bool {
            true
        }
    };
    (WhenFinal) => {
        fn durable(p: &Self::Params) -> bool {
            p.status.is_final()
        }
    };
}

macro_rules! concern {
    (session) => {
        fn session(p: &Self::Params) -> Option<&str> {
            Some(&p.session)
        }
    };
    (forward) => {
        const FORWARDABLE: bool = true;
        fn host(p: &Self::Params) -> Option<&str> {
            p.host.as_deref()
        }
    };
}

macro_rules! declare {
    ($($(#[$doc:meta])* $ty:ident = $name:path, $params:ty => $result:ty, $durability:ident $(, $concern:ident)?;)+) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Copy, Debug)]
            pub struct $ty;

            impl Method for $ty {
                const NAME: &'static str = $name;
                const DURABILITY: Durability = Durability::$durability;
                type Params = $params;
                type Result = $result;
                durable_fn!($durability);
                $(concern!($concern);)?
            }
        )+

        /// Every method, in the order of `docs/protocol.md`.
        pub const ALL: &[MethodInfo] = &[
            $(MethodInfo {
                name: $name,
                durability: Durability::$durability,
                forwardable: <$ty as Method>::FORWARDABLE,
            }),+
        ];

        /// Calls `$callback!` with every method's marker type, comma-separated: the way to generate code over
        /// all methods (a dispatch `match`, a table) so that none is forgotten.
        #[macro_export]
        macro_rules! for_each_method {
            ($callback:ident) => {
                $callback! { $($ty),+ }
            };
        }
    };
}

declare! {
    /// Version negotiation.
    Hello = names::HELLO, HelloParams => HelloResult, Never;
    /// The daemon's state.
    Status = names::STATUS, Empty => StatusResult, Never;
    /// `ISyncMgrSessionCreator::CreateSession`.
    SessionCreate = names::SESSION_CREATE, CreateSessionParams => CreateSessionResult, Always;
    /// `ISyncMgrSyncCallback::ReportProgress`; as a notification, the hot path.
    SessionReportProgress = names::SESSION_REPORT_PROGRESS, ReportProgressParams => CancelResult, WhenFinal, session;
    /// `SetHandlerProgressText`.
    SessionSetHandlerProgressText = names::SESSION_SET_HANDLER_PROGRESS_TEXT, SetHandlerProgressTextParams => CancelResult, Never, session;
    /// `ReportEvent`: a Sync Result.
    SessionReportEvent = names::SESSION_REPORT_EVENT, ReportEventParams => ReportEventResult, Always, session;
    /// `CanContinue`.
    SessionCanContinue = names::SESSION_CAN_CONTINUE, CanContinueParams => CanContinueResult, Never, session;
    /// `QueryForAdditionalItems`.
    SessionQueryAdditionalItems = names::SESSION_QUERY_ADDITIONAL_ITEMS, SessionParams => PendingItemsResult, Never, session;
    /// `AddItemToSession`.
    SessionAddItem = names::SESSION_ADD_ITEM, SessionItemParams => Empty, Always, session;
    /// `AddIUnknownToSession`: a context for the handler.
    SessionAddContext = names::SESSION_ADD_CONTEXT, AddContextParams => Empty, Never, session;
    /// `ProposeItem`.
    SessionProposeItem = names::SESSION_PROPOSE_ITEM, ProposeItemParams => Empty, Never, session;
    /// `CommitItem`.
    SessionCommitItem = names::SESSION_COMMIT_ITEM, SessionItemParams => Empty, Always, session;
    /// `ReportManualSync`.
    SessionReportManualSync = names::SESSION_REPORT_MANUAL_SYNC, SessionParams => Empty, Always, session;
    /// A conflict found while syncing.
    SessionReportConflict = names::SESSION_REPORT_CONFLICT, ReportConflictParams => ReportConflictResult, Always, session;
    /// Ends a session with its summary.
    SessionEnd = names::SESSION_END, SessionParams => EndResult, Always, session;
    /// A pause of the handler holds this session still instead of stopping it.
    SessionDeclareSuspendable = names::SESSION_DECLARE_SUSPENDABLE, SessionParams => Empty, Never, session;
    /// Registers or updates a handler.
    HandlerRegister = names::HANDLER_REGISTER, HandlerRegisterParams => HandlerInfo, Always;
    /// Handlers with their state and counts (reads the store for the counts).
    HandlerList = names::HANDLER_LIST, HandlerListParams => HandlerListResult, Never;
    /// Removes an idle handler.
    HandlerRemove = names::HANDLER_REMOVE, HandlerParams => Empty, Always;
    /// This connection receives the handler's sync requests.
    HandlerServe = names::HANDLER_SERVE, HandlerParams => Empty, Never;
    /// The handler could not start a requested sync.
    HandlerSyncFailed = names::HANDLER_SYNC_FAILED, SyncFailedParams => Empty, Always;
    /// Registers or updates an item.
    ItemRegister = names::ITEM_REGISTER, ItemRegisterParams => ItemInfo, Always;
    /// A handler's items (reads the store for the counts).
    ItemList = names::ITEM_LIST, ItemListParams => ItemListResult, Never;
    /// Starts syncs.
    ControlStart = names::CONTROL_START, ControlTargetParams => StartResult, Always, forward;
    /// Stops syncs; the owners are told at once.
    ControlStop = names::CONTROL_STOP, ControlTargetParams => Empty, Never, forward;
    /// Enables or disables a handler or an item.
    ControlEnable = names::CONTROL_ENABLE, EnableParams => Empty, Always, forward;
    /// Activates or deactivates a handler.
    ControlActivate = names::CONTROL_ACTIVATE, ActivateParams => Empty, Always, forward;
    /// Deletes an item from the sync set.
    ControlDeleteItem = names::CONTROL_DELETE_ITEM, DeleteItemParams => Empty, Always, forward;
    /// Re-reads the configuration file.
    ControlReload = names::CONTROL_RELOAD, Empty => ReloadResult, Always;
    /// Pauses a handler, or every handler.
    ControlPause = names::CONTROL_PAUSE, PauseParams => Empty, Always, forward;
    /// Resumes a handler, or every paused handler.
    ControlResume = names::CONTROL_RESUME, ResumeParams => Empty, Always, forward;
    /// Live sessions.
    SessionsList = names::SESSIONS_LIST, Empty => SessionsListResult, Never;
    /// Ended sessions, newest first (reads the store).
    SessionsHistory = names::SESSIONS_HISTORY, SessionsHistoryParams => SessionsHistoryResult, Never;
    /// A page of Sync Results (reads the store).
    EventsList = names::EVENTS_LIST, EventsFilterParams => EventsListResult, Never;
    /// One Sync Result (reads the store).
    EventsGet = names::EVENTS_GET, EventParams => EventInfo, Never;
    /// Removes the named events (all exist, or none is removed); frees space, so allowed while the store fails.
    EventsRemove = names::EVENTS_REMOVE, EventsRemoveParams => RemovedResult, Never;
    /// Removes the matching events.
    EventsClear = names::EVENTS_CLEAR, EventsFilterParams => RemovedResult, Never;
    /// Unresolved conflicts.
    ConflictsList = names::CONFLICTS_LIST, ConflictsListParams => ConflictsListResult, Never;
    /// One conflict.
    ConflictsGet = names::CONFLICTS_GET, ConflictParams => ConflictInfo, Never;
    /// Chooses a resolution; the handler is asked to apply it.
    ConflictsResolve = names::CONFLICTS_RESOLVE, ResolveParams => ResolveResult, Always, forward;
    /// The owner reports conflicts gone.
    ConflictsRemove = names::CONFLICTS_REMOVE, ConflictsRemoveParams => Empty, Always;
    /// What this connection's desktop part (`synccenter desktop`) does, shown by `status`.
    DesktopReport = names::DESKTOP_REPORT, DesktopReportParams => Empty, Never;
    /// The state now, then every change as an `update` push.
    Subscribe = names::SUBSCRIBE, Empty => SubscribeResult, Never;
    /// A Healthchecks-style ping for one item: a start opens a session the daemon owns, an end closes it.
    PingReport = names::PING_REPORT, PingReportParams => PingReportResult, Always;
    /// An item's ping UUID, its handler's ping key, and the URLs built from them.
    PingUrl = names::PING_URL, PingUrlParams => PingUrlResult, Never;
    /// A page of a command run's log (reads its file).
    LogsRead = names::LOGS_READ, LogsReadParams => LogsReadResult, Never;
    /// Every host of the fleet.
    FleetHosts = FLEET_HOSTS, Empty => FleetHostsResult, Never;
    /// Handlers of every host.
    FleetHandlers = FLEET_HANDLERS, FleetHandlersParams => FleetHandlersResult, Never;
    /// Session history of every host.
    FleetSessions = FLEET_SESSIONS, FleetSessionsParams => FleetSessionsResult, Never;
    /// Sync Results of every host.
    FleetEvents = FLEET_EVENTS, FleetEventsParams => FleetEventsResult, Never;
    /// Unresolved conflicts of every host.
    FleetConflicts = FLEET_CONFLICTS, FleetConflictsParams => FleetConflictsResult, Never;
}

/// The declaration named `name`, if any.
pub fn find(name: &str) -> Option<&'static MethodInfo> {
    ALL.iter().find(|m| m.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_spelled_as_on_the_wire() {
        let mut names: Vec<_> = ALL.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len(), "a method is declared twice");
        assert_eq!(SessionCreate::NAME, "session.create");
        assert_eq!(FleetConflicts::NAME, "fleet.conflicts");
        assert!(find("session.report_progress").is_some_and(|m| m.durability == Durability::WhenFinal));
        assert!(find("no.such").is_none());
    }

    #[test]
    fn forwardable_methods_name_their_host_and_sessions_their_session() {
        let p = ControlTargetParams { host: Some("b".into()), ..Default::default() };
        assert_eq!(ControlStop::host(&p), Some("b"));
        assert!(
            ALL.iter()
                .filter(|m| m.forwardable)
                .all(|m| m.name.starts_with("control.") || m.name == "conflicts.resolve")
        );
        let s = SessionParams { session: "s".into() };
        assert_eq!(SessionEnd::session(&s), Some("s"));
        assert_eq!(Status::session(&Empty {}), None);
    }
}
