//! Turns a method name and its JSON parameters into a typed call, on the connection's task so that the hub
//! only ever sees well-formed input. Unknown methods and ill-typed parameters are answered here.

use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;
use synccenter_core::{HResult, ItemId, SessionId};
use synccenter_protocol::fleet;
use synccenter_protocol::methods::{self as m, names};
use synccenter_protocol::{ErrorObject, StatusWire, error_codes};

use crate::convert as cv;

/// Every method the daemon serves, with its parameters.
#[derive(Debug)]
pub(crate) enum Call {
    Hello(m::HelloParams),
    Status,
    Create(m::CreateSessionParams),
    Progress(Progress),
    HandlerText(m::SetHandlerProgressTextParams),
    Event(m::ReportEventParams),
    CanContinue(m::CanContinueParams),
    QueryAdditional(m::SessionParams),
    AddItem(m::SessionItemParams),
    AddContext(m::AddContextParams),
    Propose(m::ProposeItemParams),
    Commit(m::SessionItemParams),
    ManualSync(m::SessionParams),
    ReportConflict(m::ReportConflictParams),
    End(m::SessionParams),
    HandlerRegister(m::HandlerRegisterParams),
    HandlerList(m::HandlerListParams),
    HandlerRemove(m::HandlerParams),
    HandlerServe(m::HandlerParams),
    SyncFailed(m::SyncFailedParams),
    ItemRegister(m::ItemRegisterParams),
    ItemList(m::ItemListParams),
    Start(m::ControlTargetParams),
    Stop(m::ControlTargetParams),
    Enable(m::EnableParams),
    Activate(m::ActivateParams),
    DeleteItem(m::DeleteItemParams),
    Pause(m::PauseParams),
    Reload,
    Resume(m::ResumeParams),
    SessionsList,
    SessionsHistory(m::SessionsHistoryParams),
    EventsList(m::EventsFilterParams),
    EventsGet(m::EventParams),
    EventsRemove(m::EventsRemoveParams),
    EventsClear(m::EventsFilterParams),
    ConflictsList(m::ConflictsListParams),
    ConflictsGet(m::ConflictParams),
    Resolve(m::ResolveParams),
    ConflictsRemove(m::ConflictsRemoveParams),
    Subscribe,
    FleetHosts,
    FleetHandlers(fleet::FleetHandlersParams),
    FleetSessions(fleet::FleetSessionsParams),
    FleetEvents(fleet::FleetEventsParams),
    FleetConflicts(fleet::FleetConflictsParams),
}

impl Call {
    /// For a call that may run on another host of a fleet: the host it names, the method, and its parameters
    /// without the host (so that the target runs it locally).
    pub(crate) fn forward_target(&self) -> Option<(&str, &'static str, Value)> {
        fn without_host<T: serde::Serialize>(p: &T) -> Value {
            let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
            if let Some(fields) = v.as_object_mut() {
                fields.remove("host");
            }
            v
        }
        let (host, method, params) = match self {
            Call::Start(p) => (p.host.as_deref()?, names::CONTROL_START, without_host(p)),
            Call::Stop(p) => (p.host.as_deref()?, names::CONTROL_STOP, without_host(p)),
            Call::Enable(p) => (p.host.as_deref()?, names::CONTROL_ENABLE, without_host(p)),
            Call::Activate(p) => (p.host.as_deref()?, names::CONTROL_ACTIVATE, without_host(p)),
            Call::DeleteItem(p) => (p.host.as_deref()?, names::CONTROL_DELETE_ITEM, without_host(p)),
            Call::Pause(p) => (p.host.as_deref()?, names::CONTROL_PAUSE, without_host(p)),
            Call::Resume(p) => (p.host.as_deref()?, names::CONTROL_RESUME, without_host(p)),
            Call::Resolve(p) => (p.host.as_deref()?, names::CONFLICTS_RESOLVE, without_host(p)),
            _ => return None,
        };
        Some((host, method, params))
    }
}

/// A progress report with its session and item IDs already read, on the connection's task (in parallel with
/// other connections) rather than on the hub, which applies every report one after another. A bad ID is kept
/// as the error to answer, in the report's place.
#[derive(Debug)]
pub(crate) struct Progress {
    pub(crate) target: Result<(SessionId, ItemId), ErrorObject>,
    pub(crate) status: StatusWire,
    pub(crate) text: Option<String>,
    pub(crate) step: Option<u32>,
    pub(crate) max_step: Option<u32>,
}

impl Progress {
    pub(crate) fn new(
        session: &str,
        item: &str,
        status: StatusWire,
        text: Option<String>,
        step: Option<u32>,
        max_step: Option<u32>,
    ) -> Progress {
        let target = cv::session_id(session).and_then(|s| cv::item_id(item).map(|i| (s, i)));
        Progress { target, status, text, step, max_step }
    }
}

fn params<T: DeserializeOwned>(method: &str, p: Option<&RawValue>) -> Result<T, ErrorObject> {
    m::decode_params(method, p)
}

fn no_params(method: &str, p: Option<&RawValue>) -> Result<(), ErrorObject> {
    params::<m::Empty>(method, p).map(|_| ())
}

/// Parses a call; unknown methods get `E_NOTIMPL`, a required string left out `E_POINTER`, other ill-typed
/// parameters `E_INVALIDARG`.
pub(crate) fn parse(method: &str, p: Option<&RawValue>) -> Result<Call, ErrorObject> {
    Ok(match method {
        names::HELLO => Call::Hello(params(method, p)?),
        names::STATUS => no_params(method, p).map(|_| Call::Status)?,
        names::SESSION_CREATE => Call::Create(params(method, p)?),
        names::SESSION_REPORT_PROGRESS => {
            let p: m::ReportProgressParams = params(method, p)?;
            Call::Progress(Progress::new(&p.session, &p.item, p.status, p.text, p.step, p.max_step))
        }
        names::SESSION_SET_HANDLER_PROGRESS_TEXT => Call::HandlerText(params(method, p)?),
        names::SESSION_REPORT_EVENT => Call::Event(params(method, p)?),
        names::SESSION_CAN_CONTINUE => Call::CanContinue(params(method, p)?),
        names::SESSION_QUERY_ADDITIONAL_ITEMS => Call::QueryAdditional(params(method, p)?),
        names::SESSION_ADD_ITEM => Call::AddItem(params(method, p)?),
        names::SESSION_ADD_CONTEXT => Call::AddContext(params(method, p)?),
        names::SESSION_PROPOSE_ITEM => Call::Propose(params(method, p)?),
        names::SESSION_COMMIT_ITEM => Call::Commit(params(method, p)?),
        names::SESSION_REPORT_MANUAL_SYNC => Call::ManualSync(params(method, p)?),
        names::SESSION_REPORT_CONFLICT => Call::ReportConflict(params(method, p)?),
        names::SESSION_END => Call::End(params(method, p)?),
        names::HANDLER_REGISTER => Call::HandlerRegister(params(method, p)?),
        names::HANDLER_LIST => Call::HandlerList(params(method, p)?),
        names::HANDLER_REMOVE => Call::HandlerRemove(params(method, p)?),
        names::HANDLER_SERVE => Call::HandlerServe(params(method, p)?),
        names::HANDLER_SYNC_FAILED => Call::SyncFailed(params(method, p)?),
        names::ITEM_REGISTER => Call::ItemRegister(params(method, p)?),
        names::ITEM_LIST => Call::ItemList(params(method, p)?),
        names::CONTROL_START => Call::Start(params(method, p)?),
        names::CONTROL_STOP => Call::Stop(params(method, p)?),
        names::CONTROL_ENABLE => Call::Enable(params(method, p)?),
        names::CONTROL_ACTIVATE => Call::Activate(params(method, p)?),
        names::CONTROL_DELETE_ITEM => Call::DeleteItem(params(method, p)?),
        names::CONTROL_PAUSE => Call::Pause(params(method, p)?),
        names::CONTROL_RELOAD => no_params(method, p).map(|_| Call::Reload)?,
        names::CONTROL_RESUME => Call::Resume(params(method, p)?),
        names::SESSIONS_LIST => no_params(method, p).map(|_| Call::SessionsList)?,
        names::SESSIONS_HISTORY => Call::SessionsHistory(params(method, p)?),
        names::EVENTS_LIST => Call::EventsList(params(method, p)?),
        names::EVENTS_GET => Call::EventsGet(params(method, p)?),
        names::EVENTS_REMOVE => Call::EventsRemove(params(method, p)?),
        names::EVENTS_CLEAR => Call::EventsClear(params(method, p)?),
        names::CONFLICTS_LIST => Call::ConflictsList(params(method, p)?),
        names::CONFLICTS_GET => Call::ConflictsGet(params(method, p)?),
        names::CONFLICTS_RESOLVE => Call::Resolve(params(method, p)?),
        names::CONFLICTS_REMOVE => Call::ConflictsRemove(params(method, p)?),
        names::SUBSCRIBE => no_params(method, p).map(|_| Call::Subscribe)?,
        fleet::FLEET_HOSTS => no_params(method, p).map(|_| Call::FleetHosts)?,
        fleet::FLEET_HANDLERS => Call::FleetHandlers(params(method, p)?),
        fleet::FLEET_SESSIONS => Call::FleetSessions(params(method, p)?),
        fleet::FLEET_EVENTS => Call::FleetEvents(params(method, p)?),
        fleet::FLEET_CONFLICTS => Call::FleetConflicts(params(method, p)?),
        other => {
            return Err(ErrorObject::new(
                error_codes::METHOD_NOT_FOUND,
                HResult::E_NOTIMPL.code,
                HResult::E_NOTIMPL.name,
                format!("unknown method {:?}", truncate(other)),
            ));
        }
    })
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
