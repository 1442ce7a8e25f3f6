//! Rows to records. A store supplies only [`Columns`], how its driver decodes one column; every check on
//! what a value means is made here, so both SQL stores refuse the same stored values for the same reasons.

use synccenter_core::{
    Conflict, ConflictId, EndReason, Event, EventId, EventLevel, EventRetention, Handler, HandlerCapabilities,
    HandlerId, HandlerPolicies, HandlerType, Item, ItemCapabilities, ItemId, ItemPolicies, ItemProgress, OwnerId,
    Pause, ProgressStatus, ResolutionAbilities, SessionEnd, SessionId, SessionItemRecord, SessionRecord, Snapshot,
    Timestamp,
};
use uuid::Uuid;

use crate::conflict_docs::{resolution_from, versions_from};
use crate::{Bad, Read};

/// The type a column is read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A 64-bit integer (times, enum numbers, masks, owners).
    Int,
    /// Text (IDs, names, enum names, JSON documents).
    Text,
    /// A boolean.
    Flag,
    /// A UUID, natively or as its hyphenated text.
    Uuid,
}

/// One column's value as the driver decoded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
    /// A boolean.
    Flag(bool),
    /// A UUID.
    Uuid(Uuid),
}

/// A fetched row, read column by column by name.
pub trait Columns {
    /// The value of `column` decoded as `kind`, [`Cell::Null`] for NULL. A backend without a UUID type
    /// returns a [`Kind::Uuid`] column as [`Cell::Text`]; it is parsed here. A column the driver cannot
    /// decode as `kind` is a [`Bad`] naming the column.
    fn cell(&self, column: &'static str, kind: Kind) -> Read<Cell>;
}

fn unexpected(column: &'static str, kind: Kind, found: &Cell) -> Bad {
    Bad::new(column, format!("a {kind:?} column holds {found:?}"))
}

fn required<T>(column: &'static str, value: Option<T>) -> Read<T> {
    value.ok_or_else(|| Bad::new(column, "NULL where a value is required"))
}

/// `column` read as `kind`, `None` for NULL; `take` unwraps the cell of that kind (handing any other back).
fn opt<T>(
    c: &dyn Columns,
    column: &'static str,
    kind: Kind,
    take: impl Fn(Cell) -> Result<T, Cell>,
) -> Read<Option<T>> {
    match c.cell(column, kind)? {
        Cell::Null => Ok(None),
        cell => take(cell).map(Some).map_err(|other| unexpected(column, kind, &other)),
    }
}

fn opt_int(c: &dyn Columns, column: &'static str) -> Read<Option<i64>> {
    opt(c, column, Kind::Int, |cell| if let Cell::Int(v) = cell { Ok(v) } else { Err(cell) })
}

fn int(c: &dyn Columns, column: &'static str) -> Read<i64> {
    required(column, opt_int(c, column)?)
}

fn opt_text(c: &dyn Columns, column: &'static str) -> Read<Option<String>> {
    opt(c, column, Kind::Text, |cell| if let Cell::Text(v) = cell { Ok(v) } else { Err(cell) })
}

fn text(c: &dyn Columns, column: &'static str) -> Read<String> {
    required(column, opt_text(c, column)?)
}

fn flag(c: &dyn Columns, column: &'static str) -> Read<bool> {
    let flag = opt(c, column, Kind::Flag, |cell| if let Cell::Flag(v) = cell { Ok(v) } else { Err(cell) })?;
    required(column, flag)
}

/// A UUID, stored natively or as text (then parsed; `what` names it in the error).
fn opt_uuid(c: &dyn Columns, column: &'static str, what: &'static str) -> Read<Option<Uuid>> {
    let cell = opt(c, column, Kind::Uuid, |cell| match cell {
        Cell::Uuid(u) => Ok(Ok(u)),
        Cell::Text(s) => Ok(Uuid::try_parse(&s).map_err(|e| Bad::new(what, format!("{s:?}: {e}")))),
        other => Err(other),
    })?;
    cell.transpose()
}

fn uuid(c: &dyn Columns, column: &'static str, what: &'static str) -> Read<Uuid> {
    required(column, opt_uuid(c, column, what)?)
}

fn time(c: &dyn Columns, column: &'static str) -> Read<Timestamp> {
    int(c, column).map(Timestamp::from_micros)
}

fn opt_time(c: &dyn Columns, column: &'static str) -> Read<Option<Timestamp>> {
    Ok(opt_int(c, column)?.map(Timestamp::from_micros))
}

fn handler_id(c: &dyn Columns, column: &'static str) -> Read<HandlerId> {
    HandlerId::new(text(c, column)?).map_err(|e| Bad::new("handler ID", e))
}

fn opt_item_id(c: &dyn Columns, column: &'static str) -> Read<Option<ItemId>> {
    opt_text(c, column)?.map(|s| ItemId::new(s).map_err(|e| Bad::new("item ID", e))).transpose()
}

fn item_id(c: &dyn Columns, column: &'static str) -> Read<ItemId> {
    required(column, opt_item_id(c, column)?)
}

/// A stored mask: any bits of a u32 (unknown ones are dropped by the record's type).
fn mask(c: &dyn Columns, column: &'static str, what: &'static str) -> Read<u32> {
    let v = int(c, column)?;
    u32::try_from(v).map_err(|_| Bad::new(what, v))
}

/// A stored enum number, read with the enum's own `from_number`.
fn numbered<T, E>(n: i64, what: &'static str, from_number: impl Fn(u32) -> Result<T, E>) -> Read<T> {
    u32::try_from(n).ok().and_then(|v| from_number(v).ok()).ok_or_else(|| Bad::new(what, n))
}

/// A stored progress status number.
pub fn status(n: i64) -> Read<ProgressStatus> {
    numbered(n, "progress status", ProgressStatus::from_number)
}

/// A stored pause: a start with an optional end, or neither. An end without a start is no pause any build
/// wrote, so it is refused rather than read as "not paused".
pub fn pause(since: Option<i64>, until: Option<i64>) -> Read<Option<Pause>> {
    match (since, until) {
        (Some(since), until) => {
            Ok(Some(Pause { since: Timestamp::from_micros(since), until: until.map(Timestamp::from_micros) }))
        }
        (None, None) => Ok(None),
        (None, Some(until)) => Err(Bad::new("handler pause", format!("an end ({until}) without a start"))),
    }
}

/// A row of `handlers`.
pub fn handler(c: &dyn Columns) -> Read<Handler> {
    let retention = text(c, "retention")?;
    Ok(Handler {
        id: handler_id(c, "id")?,
        name: text(c, "name")?,
        handler_type: numbered(int(c, "handler_type")?, "handler type", HandlerType::from_number)?,
        type_label: text(c, "type_label")?,
        comment: text(c, "comment")?,
        last_sync_reported: opt_time(c, "last_sync_reported")?,
        last_sync_recorded: opt_time(c, "last_sync_recorded")?,
        active: flag(c, "active")?,
        enabled: flag(c, "enabled")?,
        connected: flag(c, "connected")?,
        hidden: flag(c, "hidden")?,
        capabilities: HandlerCapabilities::from_mask_lenient(mask(c, "capabilities", "handler capabilities")?),
        policies: HandlerPolicies::from_mask_lenient(mask(c, "policies", "handler policies")?),
        retention: EventRetention::from_name(&retention).ok_or_else(|| Bad::new("event retention", &retention))?,
        pause: pause(opt_int(c, "paused_since")?, opt_int(c, "paused_until")?)?,
    })
}

/// A row of `items`, with the handler it belongs to.
pub fn item(c: &dyn Columns) -> Read<(HandlerId, Item)> {
    let item = Item {
        id: item_id(c, "id")?,
        name: text(c, "name")?,
        type_label: text(c, "type_label")?,
        comment: text(c, "comment")?,
        last_sync_reported: opt_time(c, "last_sync_reported")?,
        last_sync_recorded: opt_time(c, "last_sync_recorded")?,
        enabled: flag(c, "enabled")?,
        connected: flag(c, "connected")?,
        hidden: flag(c, "hidden")?,
        capabilities: ItemCapabilities::from_mask_lenient(mask(c, "capabilities", "item capabilities")?),
        policies: ItemPolicies::from_mask_lenient(mask(c, "policies", "item policies")?),
    };
    Ok((handler_id(c, "handler_id")?, item))
}

/// A row of `events`.
pub fn event(c: &dyn Columns) -> Read<Event> {
    Ok(Event {
        id: EventId(uuid(c, "id", "event ID")?),
        handler: handler_id(c, "handler_id")?,
        item: opt_item_id(c, "item_id")?,
        session: opt_uuid(c, "session_id", "session ID")?.map(SessionId),
        level: numbered(int(c, "level")?, "event level", EventLevel::from_number)?,
        name: text(c, "name")?,
        description: text(c, "description")?,
        link_text: opt_text(c, "link_text")?,
        link_reference: opt_text(c, "link_reference")?,
        context: opt_text(c, "context")?,
        time: time(c, "time")?,
    })
}

/// The columns of `sessions` that [`session`] reads.
pub const SESSION_COLUMNS: &[&str] =
    &["id", "handler_id", "owner", "started_at", "manual", "ended_at", "end_reason", "end_status"];

/// The columns of `session_items` that [`session_item`] reads.
pub const SESSION_ITEM_COLUMNS: &[&str] = &["item_id", "status", "step", "max_step", "text"];

/// A row of `sessions`, without its items (see [`session_item`]).
pub fn session(c: &dyn Columns) -> Read<SessionRecord> {
    let ended = match (opt_int(c, "ended_at")?, opt_text(c, "end_reason")?, opt_int(c, "end_status")?) {
        (None, _, _) => None,
        (Some(at), Some(reason), Some(st)) => Some(SessionEnd {
            at: Timestamp::from_micros(at),
            reason: EndReason::from_name(&reason).ok_or_else(|| Bad::new("session end reason", &reason))?,
            status: status(st)?,
        }),
        (Some(_), reason, st) => return Err(Bad::new("session end", format!("reason {reason:?}, status {st:?}"))),
    };
    Ok(SessionRecord {
        id: SessionId(uuid(c, "id", "session ID")?),
        handler: handler_id(c, "handler_id")?,
        // Owners are opaque u64s stored bit for bit in a signed 64-bit column.
        owner: OwnerId(int(c, "owner")? as u64),
        started_at: time(c, "started_at")?,
        manual: flag(c, "manual")?,
        ended,
        items: Vec::new(),
    })
}

/// A row of `session_items`: one member of a session.
pub fn session_item(c: &dyn Columns) -> Read<SessionItemRecord> {
    let step = int(c, "step")?;
    let max_step = int(c, "max_step")?;
    Ok(SessionItemRecord {
        item: item_id(c, "item_id")?,
        progress: ItemProgress {
            status: opt_int(c, "status")?.map(status).transpose()?,
            step: u32::try_from(step).map_err(|_| Bad::new("progress step", step))?,
            max_step: u32::try_from(max_step).map_err(|_| Bad::new("progress maximum", max_step))?,
            text: text(c, "text")?,
        },
    })
}

/// A row of `conflicts`, its JSON columns read as text.
pub fn conflict(c: &dyn Columns) -> Read<Conflict> {
    Ok(Conflict {
        id: ConflictId(uuid(c, "id", "conflict ID")?),
        handler: handler_id(c, "handler_id")?,
        item: opt_item_id(c, "item_id")?,
        key: opt_text(c, "key")?,
        name: text(c, "name")?,
        description: text(c, "description")?,
        versions: versions_from(&text(c, "versions")?)?,
        abilities: ResolutionAbilities::from_mask_lenient(mask(c, "abilities", "resolution abilities")?),
        detected_at: time(c, "detected_at")?,
        resolution: opt_text(c, "resolution")?.map(|r| resolution_from(&r)).transpose()?,
    })
}

/// A [`Snapshot`] of decoded rows: `handlers` in order, each with its `items` (which keep their order); an
/// item whose handler is not among `handlers` is left out.
pub fn snapshot(
    handlers: Vec<Handler>,
    items: Vec<(HandlerId, Item)>,
    conflicts: Vec<Conflict>,
    live_sessions: Vec<SessionRecord>,
) -> Snapshot {
    let mut by_handler: std::collections::HashMap<HandlerId, Vec<Item>> = Default::default();
    for (handler, item) in items {
        by_handler.entry(handler).or_default().push(item);
    }
    let handlers = handlers
        .into_iter()
        .map(|h| {
            let items = by_handler.remove(&h.id).unwrap_or_default();
            (h, items)
        })
        .collect();
    Snapshot { handlers, conflicts, live_sessions }
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;
