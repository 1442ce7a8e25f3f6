//! How the core's records map to PostgreSQL rows: private `FromRow` structs, the values bound on the way in,
//! and the checks made on the way out.
//!
//! Reads trust nothing: a number outside an enum, a mask that does not fit, an ID the core would refuse or a
//! JSON document of the wrong shape becomes a [`Bad`], which the caller reports as `StoreError::Corrupt`.
//! The core's records are not serde types, so conflict versions and resolutions travel through private
//! document structs defined here.
//!
//! PostgreSQL text cannot hold U+0000 (neither can `jsonb` strings), which the core's free text may contain;
//! [`clean`] replaces it with U+FFFD on the way in. That is the one place where a value does not round-trip
//! exactly; IDs are never affected, since the core refuses control characters in them.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use synccenter_core::{
    Conflict, ConflictId, ConflictItemType, ConflictVersion, EndReason, Event, EventId, EventLevel, EventRetention,
    Handler, HandlerCapabilities, HandlerId, HandlerPolicies, HandlerType, Item, ItemCapabilities, ItemId,
    ItemPolicies, ItemProgress, KeptVersion, OwnerId, Pause, ProgressStatus, Resolution, ResolutionAbilities,
    ResolutionChoice, SessionEnd, SessionId, SessionItemRecord, SessionRecord, Timestamp,
};
use uuid::Uuid;

/// A stored value this build cannot interpret: what it was and why.
#[derive(Debug)]
pub(crate) struct Bad {
    pub(crate) what: &'static str,
    pub(crate) detail: String,
}

impl Bad {
    /// A value of kind `what` that could not be read, and why.
    pub(crate) fn new(what: &'static str, detail: impl std::fmt::Display) -> Bad {
        Bad { what, detail: detail.to_string() }
    }
}

fn bad(what: &'static str, detail: impl std::fmt::Display) -> Bad {
    Bad::new(what, detail)
}

type R<T> = Result<T, Bad>;

/// Text as PostgreSQL can store it: NUL characters become U+FFFD.
pub(crate) fn clean(s: &str) -> Cow<'_, str> {
    if s.contains('\0') { Cow::Owned(s.replace('\0', "\u{FFFD}")) } else { Cow::Borrowed(s) }
}

/// [`clean`] for optional text, owned (what `bind` wants for an `Option`).
pub(crate) fn clean_opt(s: Option<&str>) -> Option<String> {
    s.map(|s| clean(s).into_owned())
}

/// Cleans every string (and object key) of a JSON value, for `jsonb` columns.
pub(crate) fn clean_json(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(clean(s).into_owned()),
        Value::Array(a) => Value::Array(a.iter().map(clean_json).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (clean(k).into_owned(), clean_json(v))).collect()),
        other => other.clone(),
    }
}

/// A model time as stored.
pub(crate) fn ts(t: Timestamp) -> i64 {
    t.as_micros()
}

fn opt_ts(t: Option<i64>) -> Option<Timestamp> {
    t.map(Timestamp::from_micros)
}

/// A number for a BIGINT column (every enum number and mask of the core fits in a u32).
pub(crate) fn num(n: u32) -> i64 {
    i64::from(n)
}

/// Owners are opaque u64s, stored bit for bit in a signed BIGINT.
pub(crate) fn owner_value(o: OwnerId) -> i64 {
    o.0 as i64
}

fn u32_of(v: i64, what: &'static str) -> R<u32> {
    u32::try_from(v).map_err(|_| bad(what, v))
}

fn handler_id(s: String) -> R<HandlerId> {
    HandlerId::new(s).map_err(|e| bad("handler ID", e))
}

fn item_id(s: String) -> R<ItemId> {
    ItemId::new(s).map_err(|e| bad("item ID", e))
}

/// A stored progress status number.
pub(crate) fn status(n: i64) -> R<ProgressStatus> {
    u32::try_from(n).ok().and_then(|n| ProgressStatus::from_number(n).ok()).ok_or_else(|| bad("progress status", n))
}

/// A row of `handlers`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct HandlerRow {
    pub(crate) host: String,
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

/// The columns [`HandlerRow`] reads, in a `SELECT`.
pub(crate) const HANDLER_COLUMNS: &str = "host, id, name, handler_type, type_label, comment, last_sync_reported, \
     last_sync_recorded, active, enabled, connected, hidden, capabilities, policies, retention, paused_since, \
     paused_until";

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
            capabilities: HandlerCapabilities::from_mask_lenient(u32_of(self.capabilities, "handler capabilities")?),
            policies: HandlerPolicies::from_mask_lenient(u32_of(self.policies, "handler policies")?),
            retention: EventRetention::from_name(&self.retention)
                .ok_or_else(|| bad("event retention", &self.retention))?,
            pause: match (self.paused_since, self.paused_until) {
                (Some(since), until) => Some(Pause { since: Timestamp::from_micros(since), until: opt_ts(until) }),
                (None, None) => None,
                (None, Some(until)) => return Err(bad("handler pause", format!("an end ({until}) without a start"))),
            },
        })
    }
}

/// A row of `items`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ItemRow {
    pub(crate) host: String,
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

/// The columns [`ItemRow`] reads.
pub(crate) const ITEM_COLUMNS: &str = "host, handler_id, id, name, type_label, comment, last_sync_reported, \
     last_sync_recorded, enabled, connected, hidden, capabilities, policies";

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
            capabilities: ItemCapabilities::from_mask_lenient(u32_of(self.capabilities, "item capabilities")?),
            policies: ItemPolicies::from_mask_lenient(u32_of(self.policies, "item policies")?),
        })
    }
}

/// A row of `events`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EventRow {
    pub(crate) host: String,
    id: Uuid,
    handler_id: String,
    item_id: Option<String>,
    session_id: Option<Uuid>,
    level: i64,
    name: String,
    description: String,
    link_text: Option<String>,
    link_reference: Option<String>,
    context: Option<String>,
    time: i64,
}

/// The columns [`EventRow`] reads.
pub(crate) const EVENT_COLUMNS: &str = "host, id, handler_id, item_id, session_id, level, name, description, \
     link_text, link_reference, context, time";

impl EventRow {
    pub(crate) fn into_event(self) -> R<Event> {
        Ok(Event {
            id: EventId(self.id),
            handler: handler_id(self.handler_id)?,
            item: self.item_id.map(item_id).transpose()?,
            session: self.session_id.map(SessionId),
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
    pub(crate) host: String,
    pub(crate) id: Uuid,
    handler_id: String,
    owner: i64,
    started_at: i64,
    manual: bool,
    ended_at: Option<i64>,
    end_reason: Option<String>,
    end_status: Option<i64>,
}

/// The columns [`SessionRow`] reads.
pub(crate) const SESSION_COLUMNS: &str =
    "host, id, handler_id, owner, started_at, manual, ended_at, end_reason, end_status";

/// A row of `session_items`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SessionItemRow {
    pub(crate) session_id: Uuid,
    item_id: String,
    status: Option<i64>,
    step: i64,
    max_step: i64,
    text: String,
}

/// The columns [`SessionItemRow`] reads.
pub(crate) const SESSION_ITEM_COLUMNS: &str = "session_id, item_id, status, step, max_step, text";

impl SessionRow {
    /// The record, with `items` (this session's members, in position order).
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
            id: SessionId(self.id),
            handler: handler_id(self.handler_id)?,
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
                            step: u32_of(m.step, "progress step")?,
                            max_step: u32_of(m.max_step, "progress maximum")?,
                            text: m.text,
                        },
                    })
                })
                .collect::<R<Vec<_>>>()?,
        })
    }
}

/// A row of `conflicts`; the JSON columns are read as text.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ConflictRow {
    pub(crate) host: String,
    id: Uuid,
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

/// The columns [`ConflictRow`] reads.
pub(crate) const CONFLICT_COLUMNS: &str = "host, id, handler_id, item_id, key, name, description, \
     versions::text AS versions, abilities, detected_at, resolution::text AS resolution";

#[derive(Debug, Serialize, Deserialize)]
struct VersionDoc {
    original_name: Option<String>,
    alternate_name: Option<String>,
    location_short: String,
    location_full: String,
    item_type: u32,
    modified: Option<i64>,
    size: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct KeptDoc {
    index: u64,
    new_name: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "choice", rename_all = "snake_case")]
enum ChoiceDoc {
    KeepItems { keep: Vec<KeptDoc> },
    KeepRecent,
    KeepOther { location: String },
    RemoveFromSyncSet,
}

#[derive(Debug, Serialize, Deserialize)]
struct ResolutionDoc {
    #[serde(flatten)]
    choice: ChoiceDoc,
    requested_at: i64,
    applied_from: Option<String>,
}

/// The two JSON documents of a conflict, as text for a `::jsonb` cast: its versions and its resolution.
pub(crate) fn conflict_docs(c: &Conflict) -> Result<(String, Option<String>), serde_json::Error> {
    let versions: Vec<VersionDoc> = c
        .versions
        .iter()
        .map(|v| VersionDoc {
            original_name: clean_opt(v.original_name.as_deref()),
            alternate_name: clean_opt(v.alternate_name.as_deref()),
            location_short: clean(&v.location_short).into_owned(),
            location_full: clean(&v.location_full).into_owned(),
            item_type: v.item_type.bits(),
            modified: v.modified.map(ts),
            size: v.size,
        })
        .collect();
    let resolution = c.resolution.as_ref().map(|r| ResolutionDoc {
        choice: match &r.choice {
            ResolutionChoice::KeepItems(kept) => ChoiceDoc::KeepItems {
                keep: kept
                    .iter()
                    .map(|k| KeptDoc { index: k.index as u64, new_name: clean_opt(k.new_name.as_deref()) })
                    .collect(),
            },
            ResolutionChoice::KeepRecent => ChoiceDoc::KeepRecent,
            ResolutionChoice::KeepOther(location) => ChoiceDoc::KeepOther { location: clean(location).into_owned() },
            ResolutionChoice::RemoveFromSyncSet => ChoiceDoc::RemoveFromSyncSet,
        },
        requested_at: ts(r.requested_at),
        applied_from: r.applied_from.map(|c| c.0.hyphenated().to_string()),
    });
    Ok((serde_json::to_string(&versions)?, resolution.map(|r| serde_json::to_string(&r)).transpose()?))
}

impl ConflictRow {
    pub(crate) fn into_conflict(self) -> R<Conflict> {
        let versions: Vec<VersionDoc> =
            serde_json::from_str(&self.versions).map_err(|e| bad("conflict versions document", e))?;
        let resolution: Option<ResolutionDoc> = self
            .resolution
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| bad("conflict resolution document", e))?;
        Ok(Conflict {
            id: ConflictId(self.id),
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
            abilities: ResolutionAbilities::from_mask_lenient(u32_of(self.abilities, "resolution abilities")?),
            detected_at: Timestamp::from_micros(self.detected_at),
            resolution: resolution.map(resolution_from).transpose()?,
        })
    }
}

fn resolution_from(r: ResolutionDoc) -> R<Resolution> {
    Ok(Resolution {
        choice: match r.choice {
            ChoiceDoc::KeepItems { keep } => ResolutionChoice::KeepItems(
                keep.into_iter()
                    .map(|k| {
                        Ok(KeptVersion {
                            index: usize::try_from(k.index).map_err(|_| bad("kept version index", k.index))?,
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
        applied_from: r
            .applied_from
            .map(|s| Uuid::try_parse(&s).map(ConflictId).map_err(|e| bad("conflict ID", e)))
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_replaces_only_nul() {
        assert!(matches!(clean("plain ✓"), Cow::Borrowed("plain ✓")));
        assert_eq!(clean("a\0b\0"), "a\u{FFFD}b\u{FFFD}");
        assert_eq!(clean_opt(Some("x\0")), Some("x\u{FFFD}".to_owned()));
        assert_eq!(clean_opt(None), None);
    }

    #[test]
    fn clean_json_reaches_nested_strings_and_keys() {
        let v = serde_json::json!({"k\u{0}": ["a\u{0}", 1, null, {"n": "b\u{0}"}], "ok": true});
        let cleaned = clean_json(&v);
        assert_eq!(cleaned, serde_json::json!({"k\u{FFFD}": ["a\u{FFFD}", 1, null, {"n": "b\u{FFFD}"}], "ok": true}));
        assert!(!serde_json::to_string(&cleaned).unwrap().contains("\\u0000"));
    }

    fn row(ended_at: Option<i64>, reason: Option<&str>, status: Option<i64>) -> SessionRow {
        SessionRow {
            host: "h".into(),
            id: Uuid::from_u128(7),
            handler_id: "nas".into(),
            owner: -1,
            started_at: 5,
            manual: true,
            ended_at,
            end_reason: reason.map(str::to_owned),
            end_status: status,
        }
    }

    #[test]
    fn session_rows_decode_and_are_checked() {
        let rec = row(Some(9), Some("host_lost"), Some(4)).into_record(vec![]).unwrap();
        assert_eq!(rec.owner, OwnerId(u64::MAX), "owners round-trip bit for bit");
        let end = rec.ended.unwrap();
        assert_eq!(
            (end.at, end.reason, end.status),
            (Timestamp::from_micros(9), EndReason::HostLost, ProgressStatus::Failed)
        );
        assert!(row(None, None, None).into_record(vec![]).unwrap().ended.is_none());
        let e = row(Some(9), None, Some(4)).into_record(vec![]).unwrap_err();
        assert_eq!(e.what, "session end");
        let e = row(Some(9), Some("vanished"), Some(4)).into_record(vec![]).unwrap_err();
        assert_eq!(e.what, "session end reason");
        let e = row(Some(9), Some("ended"), Some(99)).into_record(vec![]).unwrap_err();
        assert_eq!(e.what, "progress status");
        let bad_item = SessionItemRow {
            session_id: Uuid::from_u128(7),
            item_id: "docs".into(),
            status: None,
            step: -1,
            max_step: 0,
            text: String::new(),
        };
        assert_eq!(row(None, None, None).into_record(vec![bad_item]).unwrap_err().what, "progress step");
    }

    #[test]
    fn damaged_conflict_documents_are_bad() {
        let conflict = |versions: &str, resolution: Option<&str>| ConflictRow {
            host: "h".into(),
            id: Uuid::from_u128(1),
            handler_id: "nas".into(),
            item_id: None,
            key: None,
            name: "c".into(),
            description: String::new(),
            versions: versions.into(),
            abilities: 0,
            detected_at: 0,
            resolution: resolution.map(str::to_owned),
        };
        assert!(conflict("[]", None).into_conflict().is_ok());
        assert_eq!(conflict("{}", None).into_conflict().unwrap_err().what, "conflict versions document");
        assert_eq!(
            conflict("[]", Some(r#"{"choice":"guess","requested_at":1}"#)).into_conflict().unwrap_err().what,
            "conflict resolution document"
        );
    }

    #[test]
    fn conflict_documents_round_trip() {
        let mut c = Conflict {
            id: ConflictId(Uuid::from_u128(3)),
            handler: HandlerId::new("nas").unwrap(),
            item: None,
            key: None,
            name: "c".into(),
            description: String::new(),
            versions: vec![ConflictVersion {
                original_name: Some("a\0.txt".into()),
                alternate_name: None,
                location_short: "here".into(),
                location_full: "/x".into(),
                item_type: ConflictItemType::UPDATED,
                modified: Some(Timestamp::from_micros(-3)),
                size: Some(u64::MAX),
            }],
            abilities: ResolutionAbilities::KEEP_RECENT,
            detected_at: Timestamp::from_micros(4),
            resolution: Some(Resolution {
                choice: ResolutionChoice::KeepItems(vec![KeptVersion { index: 0, new_name: Some("b".into()) }]),
                requested_at: Timestamp::from_micros(8),
                applied_from: Some(ConflictId(Uuid::from_u128(2))),
            }),
        };
        let (versions, resolution) = conflict_docs(&c).unwrap();
        let row = ConflictRow {
            host: "h".into(),
            id: c.id.0,
            handler_id: "nas".into(),
            item_id: None,
            key: None,
            name: "c".into(),
            description: String::new(),
            versions,
            abilities: i64::from(c.abilities.bits()),
            detected_at: 4,
            resolution,
        };
        c.versions[0].original_name = Some("a\u{FFFD}.txt".into());
        assert_eq!(row.into_conflict().unwrap(), c);
    }
}
