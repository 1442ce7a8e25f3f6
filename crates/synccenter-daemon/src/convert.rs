//! Conversions between wire types and core types, written as exhaustive matches so that a new variant on
//! either side breaks the build until someone decides its form. Input conversions validate and return the
//! spec's error; nothing here touches state.

use serde_json::Value;
use synccenter_core as core;
use synccenter_core::{
    CancelRequest, ConflictItemType, CoreError, EventLevel, EventRetention, HResult, HandlerType, ProgressStatus,
    Timestamp,
};
use synccenter_protocol::methods::{
    AmountInfo, ChoiceWire, ConflictInfo, ConflictVersionWire, EventInfo, HandlerInfo, ItemFields, KeptWire,
    ProgressInfo, ResolutionInfo, SessionInfo, SessionItemInfo, SessionRecordInfo,
};
use synccenter_protocol::{
    CancelWire, ControlFlagWire, ErrorObject, EventLevelWire, HandlerTypeWire, RetentionWire, StatusWire, UnitWire,
    error_codes, format_time, parse_time,
};

/// A refusal on its way to the wire.
pub(crate) fn core_error(e: &CoreError) -> ErrorObject {
    let h = e.hresult();
    let code =
        if matches!(e, CoreError::Store(_)) { error_codes::INTERNAL_ERROR } else { error_codes::SYNC_CENTER_ERROR };
    ErrorObject::new(code, h.code, h.name, e.to_string())
}

/// [`core_error`] by value, for `map_err` (a refused ID or value, too).
pub(crate) fn refused(e: impl Into<CoreError>) -> ErrorObject {
    core_error(&e.into())
}

/// Bad parameters that never reached the core.
pub(crate) fn invalid(message: impl Into<String>) -> ErrorObject {
    ErrorObject::new(error_codes::INVALID_PARAMS, HResult::E_INVALIDARG.code, HResult::E_INVALIDARG.name, message)
}

/// A value read from the wire, or the error to answer instead.
pub(crate) type RpcResult<T> = Result<T, ErrorObject>;

pub(crate) fn handler_id(s: &str) -> RpcResult<core::HandlerId> {
    core::HandlerId::new(s).map_err(refused)
}

pub(crate) fn item_id(s: &str) -> RpcResult<core::ItemId> {
    core::ItemId::new(s).map_err(refused)
}

pub(crate) fn item_ids(list: &[String]) -> RpcResult<Vec<core::ItemId>> {
    if list.len() > synccenter_protocol::MAX_ITEMS_PER_REQUEST {
        return Err(invalid(format!(
            "{} items named; at most {} per request",
            list.len(),
            synccenter_protocol::MAX_ITEMS_PER_REQUEST
        )));
    }
    list.iter().map(|s| item_id(s)).collect()
}

/// `None` or `""` means "the handler as a whole".
pub(crate) fn optional_item(s: &Option<String>) -> RpcResult<Option<core::ItemId>> {
    match s.as_deref() {
        None | Some("") => Ok(None),
        Some(s) => item_id(s).map(Some),
    }
}

fn uuid(what: &str, s: &str) -> RpcResult<uuid_v4::Uuid> {
    uuid_v4::Uuid::try_parse(s).map_err(|_| invalid(format!("{what} {s:?} is not a UUID")))
}

pub(crate) fn session_id(s: &str) -> RpcResult<core::SessionId> {
    uuid("session", s).map(core::SessionId)
}

pub(crate) fn event_id(s: &str) -> RpcResult<core::EventId> {
    uuid("event", s).map(core::EventId)
}

pub(crate) fn conflict_id(s: &str) -> RpcResult<core::ConflictId> {
    uuid("conflict", s).map(core::ConflictId)
}

pub(crate) fn request_id(s: &str) -> RpcResult<core::RequestId> {
    s.strip_prefix("r-")
        .and_then(|n| n.parse().ok())
        .map(core::RequestId)
        .ok_or_else(|| invalid(format!("request {s:?} is not a request ID (r-N)")))
}

pub(crate) fn time(what: &str, s: &Option<String>) -> RpcResult<Option<Timestamp>> {
    match s {
        None => Ok(None),
        Some(s) => parse_time(s)
            .map(|t| Some(Timestamp::from_micros(t)))
            .ok_or_else(|| invalid(format!("{what} {s:?} is not an RFC 3339 time"))),
    }
}

pub(crate) fn ts(t: Timestamp) -> String {
    format_time(t.as_micros())
}

pub(crate) fn status(s: StatusWire) -> ProgressStatus {
    match s {
        StatusWire::Updating => ProgressStatus::Updating,
        StatusWire::UpdatingIndeterminate => ProgressStatus::UpdatingIndeterminate,
        StatusWire::Succeeded => ProgressStatus::Succeeded,
        StatusWire::Failed => ProgressStatus::Failed,
        StatusWire::Canceled => ProgressStatus::Canceled,
        StatusWire::Disconnected => ProgressStatus::Disconnected,
    }
}

pub(crate) fn status_wire(s: ProgressStatus) -> StatusWire {
    match s {
        ProgressStatus::Updating => StatusWire::Updating,
        ProgressStatus::UpdatingIndeterminate => StatusWire::UpdatingIndeterminate,
        ProgressStatus::Succeeded => StatusWire::Succeeded,
        ProgressStatus::Failed => StatusWire::Failed,
        ProgressStatus::Canceled => StatusWire::Canceled,
        ProgressStatus::Disconnected => StatusWire::Disconnected,
    }
}

pub(crate) fn cancel_wire(c: CancelRequest) -> CancelWire {
    match c {
        CancelRequest::None => CancelWire::None,
        CancelRequest::CancelItem => CancelWire::CancelItem,
        CancelRequest::CancelAll => CancelWire::CancelAll,
    }
}

pub(crate) fn level(l: EventLevelWire) -> EventLevel {
    match l {
        EventLevelWire::Info => EventLevel::Info,
        EventLevelWire::Warning => EventLevel::Warning,
        EventLevelWire::Error => EventLevel::Error,
    }
}

pub(crate) fn level_wire(l: EventLevel) -> EventLevelWire {
    match l {
        EventLevel::Info => EventLevelWire::Info,
        EventLevel::Warning => EventLevelWire::Warning,
        EventLevel::Error => EventLevelWire::Error,
    }
}

pub(crate) fn handler_type(t: HandlerTypeWire) -> HandlerType {
    match t {
        HandlerTypeWire::Unspecified => HandlerType::Unspecified,
        HandlerTypeWire::Application => HandlerType::Application,
        HandlerTypeWire::Device => HandlerType::Device,
        HandlerTypeWire::Folder => HandlerType::Folder,
        HandlerTypeWire::Service => HandlerType::Service,
        HandlerTypeWire::Computer => HandlerType::Computer,
    }
}

pub(crate) fn handler_type_wire(t: HandlerType) -> HandlerTypeWire {
    match t {
        HandlerType::Unspecified => HandlerTypeWire::Unspecified,
        HandlerType::Application => HandlerTypeWire::Application,
        HandlerType::Device => HandlerTypeWire::Device,
        HandlerType::Folder => HandlerTypeWire::Folder,
        HandlerType::Service => HandlerTypeWire::Service,
        HandlerType::Computer => HandlerTypeWire::Computer,
    }
}

pub(crate) fn retention(r: RetentionWire) -> EventRetention {
    match r {
        RetentionWire::Keep => EventRetention::Keep,
        RetentionWire::ReplaceOnSync => EventRetention::ReplaceOnSync,
    }
}

pub(crate) fn retention_wire(r: EventRetention) -> RetentionWire {
    match r {
        EventRetention::Keep => RetentionWire::Keep,
        EventRetention::ReplaceOnSync => RetentionWire::ReplaceOnSync,
    }
}

/// Control flags by name: `noui` and `ignore_if_already_syncing`.
pub(crate) fn flags(list: &Option<Vec<ControlFlagWire>>) -> (core::ControlFlags, core::SyncControlFlags) {
    let mut control = core::ControlFlags::empty();
    let mut sync = core::SyncControlFlags::empty();
    for f in list.iter().flatten() {
        match f {
            ControlFlagWire::NoUi => control |= core::ControlFlags::NOUI,
            ControlFlagWire::IgnoreIfAlreadySyncing => sync |= core::SyncControlFlags::IGNORE_IF_ALREADY_SYNCING,
        }
    }
    (control, sync)
}

fn names(list: &Option<Vec<String>>) -> impl Iterator<Item = &str> {
    list.iter().flatten().map(String::as_str)
}

pub(crate) fn item_spec(f: &ItemFields) -> RpcResult<core::ItemSpec> {
    Ok(core::ItemSpec {
        name: f.name.clone(),
        type_label: f.type_label.clone(),
        comment: f.comment.clone(),
        last_sync: time("last_sync", &f.last_sync)?,
        enabled: f.enabled,
        connected: f.connected,
        capabilities: f
            .capabilities
            .as_ref()
            .map(|_| core::ItemCapabilities::from_names(names(&f.capabilities)))
            .transpose()
            .map_err(refused)?,
        policies: f
            .policies
            .as_ref()
            .map(|_| core::ItemPolicies::from_names(names(&f.policies)))
            .transpose()
            .map_err(refused)?,
    })
}

pub(crate) fn handler_spec(p: &synccenter_protocol::methods::HandlerRegisterParams) -> RpcResult<core::HandlerSpec> {
    Ok(core::HandlerSpec {
        name: p.name.clone(),
        handler_type: p.handler_type.map(handler_type),
        type_label: p.type_label.clone(),
        comment: p.comment.clone(),
        last_sync: time("last_sync", &p.last_sync)?,
        active: p.active,
        enabled: p.enabled,
        connected: p.connected,
        capabilities: p
            .capabilities
            .as_ref()
            .map(|_| core::HandlerCapabilities::from_names(names(&p.capabilities)))
            .transpose()
            .map_err(refused)?,
        policies: p
            .policies
            .as_ref()
            .map(|_| core::HandlerPolicies::from_names(names(&p.policies)))
            .transpose()
            .map_err(refused)?,
        retention: p.retention.map(retention),
    })
}

pub(crate) fn context(v: &Value) -> core::Context {
    core::Context(v.to_string())
}

pub(crate) fn context_wire(c: &core::Context) -> Value {
    serde_json::from_str(&c.0).unwrap_or(Value::String(c.0.clone()))
}

pub(crate) fn progress_info(p: &core::DisplayProgress) -> ProgressInfo {
    ProgressInfo {
        status: p.status.map(status_wire),
        step: p.steps.map(|s| s.0),
        max_step: p.steps.map(|s| s.1),
        text: p.text.clone(),
        indeterminate: p.indeterminate,
        amount: p.amount.as_ref().map(amount_info),
    }
}

pub(crate) fn amount(a: AmountInfo) -> core::Amount {
    let unit = match a.unit {
        UnitWire::Steps => core::ProgressUnit::Steps,
        UnitWire::Bytes => core::ProgressUnit::Bytes,
        UnitWire::Files => core::ProgressUnit::Files,
    };
    core::Amount { unit, done: a.done, total: a.total }
}

pub(crate) fn amount_info(a: &core::Amount) -> AmountInfo {
    let unit = match a.unit {
        core::ProgressUnit::Steps => UnitWire::Steps,
        core::ProgressUnit::Bytes => UnitWire::Bytes,
        core::ProgressUnit::Files => UnitWire::Files,
    };
    AmountInfo { unit, done: a.done, total: a.total }
}

pub(crate) fn session_item_info(
    item: &core::ItemId,
    p: &core::ItemProgress,
    amount: Option<&core::Amount>,
) -> SessionItemInfo {
    SessionItemInfo {
        item: item.to_string(),
        status: p.status.map(status_wire),
        step: p.step,
        max_step: p.max_step,
        text: p.text.clone(),
        amount: amount.map(amount_info),
    }
}

pub(crate) fn session_info(v: &core::SessionView) -> SessionInfo {
    SessionInfo {
        session: v.id.to_string(),
        handler: v.handler.to_string(),
        started_at: ts(v.started_at),
        manual: v.manual,
        handler_text: v.handler_text.clone(),
        stop_all: v.stop_all,
        stopped_items: v.stopped_items.iter().map(ToString::to_string).collect(),
        items: v.items.iter().map(|(i, p)| session_item_info(i, p, v.amounts.get(i))).collect(),
    }
}

pub(crate) fn session_record_info(r: &core::SessionRecord) -> SessionRecordInfo {
    SessionRecordInfo {
        session: r.id.to_string(),
        handler: r.handler.to_string(),
        started_at: ts(r.started_at),
        manual: r.manual,
        ended_at: r.ended.map(|e| ts(e.at)),
        end_reason: r.ended.map(|e| e.reason.name().to_owned()),
        status: r.ended.map(|e| status_wire(e.status)),
        items: r.items.iter().map(|m| session_item_info(&m.item, &m.progress, None)).collect(),
    }
}

pub(crate) fn event_info(e: &core::Event) -> EventInfo {
    EventInfo {
        event: e.id.to_string(),
        handler: e.handler.to_string(),
        item: e.item.as_ref().map(ToString::to_string),
        session: e.session.map(|s| s.to_string()),
        level: level_wire(e.level),
        name: e.name.clone(),
        description: e.description.clone(),
        link_text: e.link_text.clone(),
        link_reference: e.link_reference.clone(),
        context: e.context.clone(),
        time: ts(e.time),
    }
}

pub(crate) fn version(v: &ConflictVersionWire) -> RpcResult<core::ConflictVersion> {
    Ok(core::ConflictVersion {
        original_name: v.original_name.clone(),
        alternate_name: v.alternate_name.clone(),
        location_short: v.location_short.clone(),
        location_full: v.location_full.clone(),
        item_type: ConflictItemType::from_names(v.types.iter().map(String::as_str)).map_err(refused)?,
        modified: time("modified", &v.modified)?,
        size: v.size,
    })
}

fn version_wire(v: &core::ConflictVersion) -> ConflictVersionWire {
    ConflictVersionWire {
        original_name: v.original_name.clone(),
        alternate_name: v.alternate_name.clone(),
        location_short: v.location_short.clone(),
        location_full: v.location_full.clone(),
        types: v.item_type.names().into_iter().map(str::to_owned).collect(),
        modified: v.modified.map(ts),
        size: v.size,
    }
}

pub(crate) fn choice(c: &ChoiceWire) -> core::ResolutionChoice {
    match c {
        ChoiceWire::Keep(kept) => core::ResolutionChoice::KeepItems(
            kept.iter().map(|k| core::KeptVersion { index: k.index, new_name: k.new_name.clone() }).collect(),
        ),
        ChoiceWire::KeepRecent => core::ResolutionChoice::KeepRecent,
        ChoiceWire::KeepOther(location) => core::ResolutionChoice::KeepOther(location.clone()),
        ChoiceWire::RemoveFromSyncSet => core::ResolutionChoice::RemoveFromSyncSet,
    }
}

pub(crate) fn choice_wire(c: &core::ResolutionChoice) -> ChoiceWire {
    match c {
        core::ResolutionChoice::KeepItems(kept) => {
            ChoiceWire::Keep(kept.iter().map(|k| KeptWire { index: k.index, new_name: k.new_name.clone() }).collect())
        }
        core::ResolutionChoice::KeepRecent => ChoiceWire::KeepRecent,
        core::ResolutionChoice::KeepOther(location) => ChoiceWire::KeepOther(location.clone()),
        core::ResolutionChoice::RemoveFromSyncSet => ChoiceWire::RemoveFromSyncSet,
    }
}

pub(crate) fn conflict_info(c: &core::Conflict) -> ConflictInfo {
    ConflictInfo {
        conflict: c.id.to_string(),
        handler: c.handler.to_string(),
        item: c.item.as_ref().map(ToString::to_string),
        key: c.key.clone(),
        name: c.name.clone(),
        description: c.description.clone(),
        versions: c.versions.iter().map(version_wire).collect(),
        abilities: c.abilities.names().into_iter().map(str::to_owned).collect(),
        detected_at: ts(c.detected_at),
        resolution: c.resolution.as_ref().map(|r| ResolutionInfo {
            choice: choice_wire(&r.choice),
            requested_at: ts(r.requested_at),
            applied_from: r.applied_from.map(|id| id.to_string()),
        }),
    }
}

/// A handler as its stored record shows it: the comment as display text, no session, no counts. The hub
/// fills in what only the owning daemon knows (progress text, schedules, counts).
pub(crate) fn stored_handler_info(h: &core::Handler, item_count: usize) -> HandlerInfo {
    HandlerInfo {
        handler: h.id.to_string(),
        name: h.name.clone(),
        handler_type: handler_type_wire(h.handler_type),
        type_label: h.type_label.clone(),
        comment: h.comment.clone(),
        display_text: h.comment.clone(),
        last_sync: h.last_sync().map(ts),
        active: h.active,
        enabled: h.enabled,
        connected: h.connected,
        hidden: h.hidden,
        capabilities: h.capabilities.names().into_iter().map(str::to_owned).collect(),
        policies: h.policies.names().into_iter().map(str::to_owned).collect(),
        retention: retention_wire(h.retention),
        syncing: false,
        paused: h.pause.is_some(),
        paused_until: h.pause.and_then(|p| p.until).map(ts),
        command: false,
        next_run: None,
        overdue: false,
        item_count,
        error_count: 0,
        conflict_count: 0,
        notify: None,
        inhibit_sleep: None,
        waiting: None,
    }
}
