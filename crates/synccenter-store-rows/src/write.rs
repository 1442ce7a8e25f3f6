//! Records to rows: the column lists of the shared tables and the values bound to them, in that order, so
//! no statement of either store can bind a value to the wrong column.

use synccenter_core::{
    Conflict, EndReason, Event, Handler, HandlerId, Item, ItemProgress, OwnerId, ProgressStatus, Timestamp,
};
use uuid::Uuid;

use crate::conflict_docs::{resolution_doc, versions_doc};

/// A value bound to one statement parameter, in the few types both SQL stores bind. Each store turns it into
/// its driver's type (a UUID as text on SQLite; text cleaned of U+0000 on PostgreSQL).
#[derive(Clone, Debug, PartialEq)]
pub enum Param<'a> {
    /// A 64-bit integer or NULL.
    Int(Option<i64>),
    /// Text or NULL.
    Text(Option<&'a str>),
    /// A boolean.
    Flag(bool),
    /// A UUID or NULL.
    Uuid(Option<Uuid>),
    /// A JSON document (a conflict's versions or resolution) or NULL, bound as its text.
    Json(Option<serde_json::Value>),
}

impl<'a> Param<'a> {
    /// Text.
    pub fn text(s: &'a str) -> Param<'a> {
        Param::Text(Some(s))
    }

    /// An enum number or a mask of the core (every one fits in a u32).
    pub fn number(n: u32) -> Param<'a> {
        Param::Int(Some(i64::from(n)))
    }

    /// A model time, as UTC microseconds.
    pub fn time(t: Timestamp) -> Param<'a> {
        Param::Int(Some(t.as_micros()))
    }

    /// An optional model time.
    pub fn opt_time(t: Option<Timestamp>) -> Param<'a> {
        Param::Int(t.map(Timestamp::as_micros))
    }

    /// An ID: a session's, an event's or a conflict's.
    pub fn uuid(u: Uuid) -> Param<'a> {
        Param::Uuid(Some(u))
    }

    /// An owner, stored bit for bit in a signed 64-bit column.
    pub fn owner(o: OwnerId) -> Param<'a> {
        Param::Int(Some(o.0 as i64))
    }
}

/// A table both stores have, and the columns its records are written to, in [`Param`] order. (PostgreSQL's
/// tables add a `host` column, which that store binds itself.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Table {
    /// The table's name.
    pub name: &'static str,
    /// Its record columns, in the order of the values this module gives for it.
    pub columns: &'static [&'static str],
    /// The columns that identify a row (beside `host`), left alone by an upsert.
    pub key: &'static [&'static str],
}

impl Table {
    /// The columns, comma-separated.
    pub fn list(&self) -> String {
        self.columns.join(", ")
    }

    /// `column = excluded.column` for every column but the key: the `SET` list of an upsert.
    pub fn set_excluded(&self) -> String {
        let set: Vec<String> =
            self.columns.iter().filter(|c| !self.key.contains(c)).map(|c| format!("{c} = excluded.{c}")).collect();
        set.join(", ")
    }
}

/// Placeholders `{sigil}{first}, {sigil}{first + 1}, ...`, `count` of them (`?1, ?2` or `$2, $3`).
pub fn placeholders(sigil: char, first: usize, count: usize) -> String {
    let all: Vec<String> = (first..first + count).map(|n| format!("{sigil}{n}")).collect();
    all.join(", ")
}

/// `handlers`.
pub const HANDLERS: Table = Table {
    name: "handlers",
    columns: &[
        "id",
        "name",
        "handler_type",
        "type_label",
        "comment",
        "last_sync_reported",
        "last_sync_recorded",
        "active",
        "enabled",
        "connected",
        "hidden",
        "capabilities",
        "policies",
        "retention",
        "paused_since",
        "paused_until",
    ],
    key: &["id"],
};

/// The values of a handler's row.
pub fn handler(h: &Handler) -> Vec<Param<'_>> {
    vec![
        Param::text(h.id.as_str()),
        Param::text(&h.name),
        Param::number(h.handler_type.number()),
        Param::text(&h.type_label),
        Param::text(&h.comment),
        Param::opt_time(h.last_sync_reported),
        Param::opt_time(h.last_sync_recorded),
        Param::Flag(h.active),
        Param::Flag(h.enabled),
        Param::Flag(h.connected),
        Param::Flag(h.hidden),
        Param::number(h.capabilities.bits()),
        Param::number(h.policies.bits()),
        Param::text(h.retention.name()),
        Param::opt_time(h.pause.map(|p| p.since)),
        Param::opt_time(h.pause.and_then(|p| p.until)),
    ]
}

/// `items`.
pub const ITEMS: Table = Table {
    name: "items",
    columns: &[
        "handler_id",
        "id",
        "name",
        "type_label",
        "comment",
        "last_sync_reported",
        "last_sync_recorded",
        "enabled",
        "connected",
        "hidden",
        "capabilities",
        "policies",
    ],
    key: &["handler_id", "id"],
};

/// The values of an item's row, under `handler`.
pub fn item<'a>(handler: &'a HandlerId, item: &'a Item) -> Vec<Param<'a>> {
    vec![
        Param::text(handler.as_str()),
        Param::text(item.id.as_str()),
        Param::text(&item.name),
        Param::text(&item.type_label),
        Param::text(&item.comment),
        Param::opt_time(item.last_sync_reported),
        Param::opt_time(item.last_sync_recorded),
        Param::Flag(item.enabled),
        Param::Flag(item.connected),
        Param::Flag(item.hidden),
        Param::number(item.capabilities.bits()),
        Param::number(item.policies.bits()),
    ]
}

/// `events`.
pub const EVENTS: Table = Table {
    name: "events",
    columns: &[
        "id",
        "handler_id",
        "item_id",
        "session_id",
        "level",
        "name",
        "description",
        "link_text",
        "link_reference",
        "context",
        "time",
    ],
    key: &["id"],
};

/// The values of an event's row.
pub fn event(e: &Event) -> Vec<Param<'_>> {
    vec![
        Param::uuid(e.id.0),
        Param::text(e.handler.as_str()),
        Param::Text(e.item.as_ref().map(|i| i.as_str())),
        Param::Uuid(e.session.map(|s| s.0)),
        Param::number(e.level.number()),
        Param::text(&e.name),
        Param::text(&e.description),
        Param::Text(e.link_text.as_deref()),
        Param::Text(e.link_reference.as_deref()),
        Param::Text(e.context.as_deref()),
        Param::time(e.time),
    ]
}

/// `conflicts`.
pub const CONFLICTS: Table = Table {
    name: "conflicts",
    columns: &[
        "id",
        "handler_id",
        "item_id",
        "key",
        "name",
        "description",
        "versions",
        "abilities",
        "detected_at",
        "resolution",
    ],
    key: &["id"],
};

/// The values of a conflict's row, its versions and resolution as JSON documents.
pub fn conflict(c: &Conflict) -> Result<Vec<Param<'_>>, serde_json::Error> {
    Ok(vec![
        Param::uuid(c.id.0),
        Param::text(c.handler.as_str()),
        Param::Text(c.item.as_ref().map(|i| i.as_str())),
        Param::Text(c.key.as_deref()),
        Param::text(&c.name),
        Param::text(&c.description),
        Param::Json(Some(versions_doc(&c.versions)?)),
        Param::number(c.abilities.bits()),
        Param::time(c.detected_at),
        Param::Json(c.resolution.as_ref().map(resolution_doc).transpose()?),
    ])
}

/// The progress columns of `session_items`, in the order of [`progress`].
pub const PROGRESS_COLUMNS: &[&str] = &["status", "step", "max_step", "text"];

/// The values of an item's progress.
pub fn progress(p: &ItemProgress) -> Vec<Param<'_>> {
    vec![
        Param::Int(p.status.map(|s| i64::from(s.number()))),
        Param::number(p.step),
        Param::number(p.max_step),
        Param::text(&p.text),
    ]
}

/// The end columns of `sessions`, in the order of [`session_end`].
pub const SESSION_END_COLUMNS: &[&str] = &["ended_at", "end_reason", "end_status"];

/// The values of a session's end.
pub fn session_end<'a>(at: Timestamp, reason: EndReason, status: ProgressStatus) -> Vec<Param<'a>> {
    vec![Param::time(at), Param::text(reason.name()), Param::number(status.number())]
}

/// `column = {sigil}{first}, ...` for `columns`: the `SET` list of an update binding them in order.
pub fn assignments(columns: &[&str], sigil: char, first: usize) -> String {
    let set: Vec<String> = columns.iter().enumerate().map(|(i, c)| format!("{c} = {sigil}{}", first + i)).collect();
    set.join(", ")
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
