//! Row forms of the core's records: private `FromRow` structs and the conversions to and from them.
//!
//! The core's types are not `Serialize` (house style H3), so the JSON documents kept for conflict versions and
//! resolutions are private serde structs defined here. Every read validates what it decodes; a value this build
//! cannot interpret becomes a [`Bad`] that the caller turns into `StoreError::Corrupt`.

use serde::{Deserialize, Serialize};
use synccenter_core::{
    ConflictId, ConflictItemType, ConflictVersion, EndReason, Event, EventId, EventLevel, EventRetention, Handler,
    HandlerCapabilities, HandlerId, HandlerPolicies, HandlerType, Item, ItemCapabilities, ItemId, ItemPolicies,
    ItemProgress, KeptVersion, OwnerId, ProgressStatus, Resolution, ResolutionAbilities, ResolutionChoice, SessionEnd,
    SessionId, SessionItemRecord, SessionRecord, Timestamp,
};

/// A stored value this build cannot interpret: what it was and why.
#[derive(Debug)]
pub(crate) struct Bad {
    pub(crate) what: &'static str,
    pub(crate) detail: String,
}

fn bad(what: &'static str, detail: impl std::fmt::Display) -> Bad {
    Bad { what, detail: detail.to_string() }
}

type R<T> = Result<T, Bad>;

pub(crate) fn ts(t: Timestamp) -> i64 {
    t.as_micros()
}

fn opt_ts(t: Option<i64>) -> Option<Timestamp> {
    t.map(Timestamp::from_micros)
}

fn mask(v: i64, what: &'static str) -> R<u32> {
    u32::try_from(v).map_err(|_| bad(what, v))
}

fn handler_id(s: String) -> R<HandlerId> {
    HandlerId::new(s).map_err(|e| bad("handler ID", e))
}

fn item_id(s: String) -> R<ItemId> {
    ItemId::new(s).map_err(|e| bad("item ID", e))
}

fn uuid(s: &str, what: &'static str) -> R<uuid::Uuid> {
    uuid::Uuid::try_parse(s).map_err(|e| bad(what, e))
}

pub(crate) fn uuid_text(u: uuid::Uuid) -> String {
    u.hyphenated().to_string()
}

fn status(n: i64) -> R<ProgressStatus> {
    u32::try_from(n).ok().and_then(|n| ProgressStatus::from_number(n).ok()).ok_or_else(|| bad("progress status", n))
}

/// A row of `handlers`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct HandlerRow {
    id: String,
    name: String,
    handler_type: i64,
    type_label: String,
    comment: String,
    last_sync_reported: Option<i64>,
    last_sync_recorded: Option<i64>,
    active: bool,
    enabled: bool,
    connected: bool,
    hidden: bool,
    capabilities: i64,
    policies: i64,
    retention: String,
    paused_since: Option<i64>,
    paused_until: Option<i64>,
}

impl HandlerRow {
    pub(crate) fn into_handler(self) -> R<Handler> {
        Ok(Handler {
            id: handler_id(self.id)?,
            name: self.name,
            handler_type: u32::try_from(self.handler_type)
                .ok()
                .and_then(|n| HandlerType::from_number(n).ok())
                .ok_or_else(|| bad("handler type", self.handler_type))?,
            type_label: self.type_label,
            comment: self.comment,
            last_sync_reported: opt_ts(self.last_sync_reported),
            last_sync_recorded: opt_ts(self.last_sync_recorded),
            active: self.active,
            enabled: self.enabled,
            connected: self.connected,
            hidden: self.hidden,
            capabilities: HandlerCapabilities::from_mask_lenient(mask(self.capabilities, "handler capabilities")?),
            policies: HandlerPolicies::from_mask_lenient(mask(self.policies, "handler policies")?),
            retention: EventRetention::from_name(&self.retention)
                .ok_or_else(|| bad("event retention", &self.retention))?,
            pause: match (self.paused_since, self.paused_until) {
                (Some(since), until) => {
                    Some(synccenter_core::Pause { since: Timestamp::from_micros(since), until: opt_ts(until) })
                }
                (None, None) => None,
                (None, Some(until)) => return Err(bad("handler pause", format!("an end ({until}) without a start"))),
            },
        })
    }
}

/// A row of `items`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ItemRow {
    pub(crate) handler_id: String,
    id: String,
    name: String,
    type_label: String,
    comment: String,
    last_sync_reported: Option<i64>,
    last_sync_recorded: Option<i64>,
    enabled: bool,
    connected: bool,
    hidden: bool,
    capabilities: i64,
    policies: i64,
}

impl ItemRow {
    pub(crate) fn into_item(self) -> R<Item> {
        Ok(Item {
            id: item_id(self.id)?,
            name: self.name,
            type_label: self.type_label,
            comment: self.comment,
            last_sync_reported: opt_ts(self.last_sync_reported),
            last_sync_recorded: opt_ts(self.last_sync_recorded),
            enabled: self.enabled,
            connected: self.connected,
            hidden: self.hidden,
            capabilities: ItemCapabilities::from_mask_lenient(mask(self.capabilities, "item capabilities")?),
            policies: ItemPolicies::from_mask_lenient(mask(self.policies, "item policies")?),
        })
    }
}

/// A row of `events`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EventRow {
    id: String,
    handler_id: String,
    item_id: Option<String>,
    session_id: Option<String>,
    level: i64,
    name: String,
    description: String,
    link_text: Option<String>,
    link_reference: Option<String>,
    context: Option<String>,
    time: i64,
}

impl EventRow {
    pub(crate) fn into_event(self) -> R<Event> {
        Ok(Event {
            id: EventId(uuid(&self.id, "event ID")?),
            handler: handler_id(self.handler_id)?,
            item: self.item_id.map(item_id).transpose()?,
            session: self.session_id.map(|s| uuid(&s, "session ID").map(SessionId)).transpose()?,
            level: u32::try_from(self.level)
                .ok()
                .and_then(|n| EventLevel::from_number(n).ok())
                .ok_or_else(|| bad("event level", self.level))?,
            name: self.name,
            description: self.description,
            link_text: self.link_text,
            link_reference: self.link_reference,
            context: self.context,
            time: Timestamp::from_micros(self.time),
        })
    }
}

/// A row of `sessions`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SessionRow {
    pub(crate) id: String,
    handler_id: String,
    owner: i64,
    started_at: i64,
    manual: bool,
    ended_at: Option<i64>,
    end_reason: Option<String>,
    end_status: Option<i64>,
}

/// A row of `session_items`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SessionItemRow {
    item_id: String,
    status: Option<i64>,
    step: i64,
    max_step: i64,
    text: String,
}

impl SessionRow {
    pub(crate) fn into_record(self, items: Vec<SessionItemRow>) -> R<SessionRecord> {
        let ended = match (self.ended_at, self.end_reason, self.end_status) {
            (None, _, _) => None,
            (Some(at), Some(reason), Some(st)) => Some(SessionEnd {
                at: Timestamp::from_micros(at),
                reason: EndReason::from_name(&reason).ok_or_else(|| bad("session end reason", &reason))?,
                status: status(st)?,
            }),
            (Some(_), reason, st) => return Err(bad("session end", format!("reason {reason:?}, status {st:?}"))),
        };
        Ok(SessionRecord {
            id: SessionId(uuid(&self.id, "session ID")?),
            handler: handler_id(self.handler_id)?,
            // Owners are opaque u64s stored bit for bit in a signed INTEGER.
            owner: OwnerId(self.owner as u64),
            started_at: Timestamp::from_micros(self.started_at),
            manual: self.manual,
            ended,
            items: items
                .into_iter()
                .map(|m| {
                    Ok(SessionItemRecord {
                        item: item_id(m.item_id)?,
                        progress: ItemProgress {
                            status: m.status.map(status).transpose()?,
                            step: u32::try_from(m.step).map_err(|_| bad("progress step", m.step))?,
                            max_step: u32::try_from(m.max_step).map_err(|_| bad("progress max step", m.max_step))?,
                            text: m.text,
                        },
                    })
                })
                .collect::<R<Vec<_>>>()?,
        })
    }
}

/// Stores an owner ID bit for bit.
pub(crate) fn owner_value(o: OwnerId) -> i64 {
    o.0 as i64
}

/// A row of `conflicts`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ConflictRow {
    id: String,
    handler_id: String,
    item_id: Option<String>,
    key: Option<String>,
    name: String,
    description: String,
    versions: String,
    abilities: i64,
    detected_at: i64,
    resolution: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct VersionDoc {
    original_name: Option<String>,
    alternate_name: Option<String>,
    location_short: String,
    location_full: String,
    item_type: u32,
    modified: Option<i64>,
    size: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct KeptDoc {
    index: u64,
    new_name: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "choice", rename_all = "snake_case")]
enum ChoiceDoc {
    KeepItems { keep: Vec<KeptDoc> },
    KeepRecent,
    KeepOther { location: String },
    RemoveFromSyncSet,
}

#[derive(Serialize, Deserialize)]
struct ResolutionDoc {
    #[serde(flatten)]
    choice: ChoiceDoc,
    requested_at: i64,
    applied_from: Option<String>,
}

/// The JSON column values of a conflict: versions and resolution.
pub(crate) fn conflict_docs(
    versions: &[ConflictVersion],
    resolution: Option<&Resolution>,
) -> Result<(String, Option<String>), serde_json::Error> {
    let versions: Vec<VersionDoc> = versions
        .iter()
        .map(|v| VersionDoc {
            original_name: v.original_name.clone(),
            alternate_name: v.alternate_name.clone(),
            location_short: v.location_short.clone(),
            location_full: v.location_full.clone(),
            item_type: v.item_type.bits(),
            modified: v.modified.map(ts),
            size: v.size,
        })
        .collect();
    let resolution = resolution.map(|r| ResolutionDoc {
        choice: match &r.choice {
            ResolutionChoice::KeepItems(kept) => ChoiceDoc::KeepItems {
                keep: kept.iter().map(|k| KeptDoc { index: k.index as u64, new_name: k.new_name.clone() }).collect(),
            },
            ResolutionChoice::KeepRecent => ChoiceDoc::KeepRecent,
            ResolutionChoice::KeepOther(location) => ChoiceDoc::KeepOther { location: location.clone() },
            ResolutionChoice::RemoveFromSyncSet => ChoiceDoc::RemoveFromSyncSet,
        },
        requested_at: ts(r.requested_at),
        applied_from: r.applied_from.map(|c| uuid_text(c.0)),
    });
    Ok((serde_json::to_string(&versions)?, resolution.map(|r| serde_json::to_string(&r)).transpose()?))
}

impl ConflictRow {
    pub(crate) fn into_conflict(self) -> R<synccenter_core::Conflict> {
        let versions: Vec<VersionDoc> =
            serde_json::from_str(&self.versions).map_err(|e| bad("conflict versions document", e))?;
        let resolution: Option<ResolutionDoc> = self
            .resolution
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| bad("conflict resolution document", e))?;
        Ok(synccenter_core::Conflict {
            id: ConflictId(uuid(&self.id, "conflict ID")?),
            handler: handler_id(self.handler_id)?,
            item: self.item_id.map(item_id).transpose()?,
            key: self.key,
            name: self.name,
            description: self.description,
            versions: versions
                .into_iter()
                .map(|v| ConflictVersion {
                    original_name: v.original_name,
                    alternate_name: v.alternate_name,
                    location_short: v.location_short,
                    location_full: v.location_full,
                    item_type: ConflictItemType::from_mask_lenient(v.item_type),
                    modified: opt_ts(v.modified),
                    size: v.size,
                })
                .collect(),
            abilities: ResolutionAbilities::from_mask_lenient(mask(self.abilities, "resolution abilities")?),
            detected_at: Timestamp::from_micros(self.detected_at),
            resolution: resolution
                .map(|r| {
                    Ok::<_, Bad>(Resolution {
                        choice: match r.choice {
                            ChoiceDoc::KeepItems { keep } => ResolutionChoice::KeepItems(
                                keep.into_iter()
                                    .map(|k| {
                                        Ok(KeptVersion {
                                            index: usize::try_from(k.index)
                                                .map_err(|_| bad("kept version index", k.index))?,
                                            new_name: k.new_name,
                                        })
                                    })
                                    .collect::<R<Vec<_>>>()?,
                            ),
                            ChoiceDoc::KeepRecent => ResolutionChoice::KeepRecent,
                            ChoiceDoc::KeepOther { location } => ResolutionChoice::KeepOther(location),
                            ChoiceDoc::RemoveFromSyncSet => ResolutionChoice::RemoveFromSyncSet,
                        },
                        requested_at: Timestamp::from_micros(r.requested_at),
                        applied_from: r.applied_from.map(|s| uuid(&s, "conflict ID").map(ConflictId)).transpose()?,
                    })
                })
                .transpose()?,
        })
    }
}
