//! Rows to records: every record written by [`crate::write`] reads back equal, in both UUID styles, and
//! every kind of damage is a [`Bad`] naming the value.

use std::collections::BTreeMap;

use synccenter_core::{
    Conflict, ConflictId, ConflictItemType, ConflictVersion, Event, EventId, EventLevel, EventRetention, Handler,
    HandlerCapabilities, HandlerPolicies, HandlerType, Item, ItemCapabilities, ItemPolicies, KeptVersion, Resolution,
    ResolutionAbilities, ResolutionChoice,
};

use super::*;
use crate::write::{self, CONFLICTS, EVENTS, HANDLERS, ITEMS, Param};

/// A row as a map, standing in for a driver's.
struct MapRow(BTreeMap<&'static str, Cell>);

impl Columns for MapRow {
    fn cell(&self, column: &'static str, kind: Kind) -> Read<Cell> {
        let cell = self.0.get(column).cloned().ok_or_else(|| Bad::new(column, "no such column"))?;
        match (kind, &cell) {
            (_, Cell::Null) | (Kind::Int, Cell::Int(_)) | (Kind::Text, Cell::Text(_)) | (Kind::Flag, Cell::Flag(_)) => {
                Ok(cell)
            }
            (Kind::Uuid, Cell::Uuid(_) | Cell::Text(_)) => Ok(cell),
            _ => Err(Bad::new(column, format!("cannot decode {cell:?} as {kind:?}"))),
        }
    }
}

/// The row a store would hold for `params` under `columns`: UUIDs natively (PostgreSQL) or as text (SQLite).
fn row(columns: &[&'static str], params: Vec<Param<'_>>, uuid_text: bool) -> MapRow {
    assert_eq!(columns.len(), params.len());
    let cells = params.into_iter().map(|p| match p {
        Param::Int(v) => v.map_or(Cell::Null, Cell::Int),
        Param::Text(v) => v.map_or(Cell::Null, |s| Cell::Text(s.to_owned())),
        Param::Flag(v) => Cell::Flag(v),
        Param::Uuid(Some(u)) if uuid_text => Cell::Text(u.hyphenated().to_string()),
        Param::Uuid(v) => v.map_or(Cell::Null, Cell::Uuid),
        Param::Json(v) => v.map_or(Cell::Null, |j| Cell::Text(j.to_string())),
    });
    MapRow(columns.iter().copied().zip(cells).collect())
}

fn with(mut r: MapRow, column: &'static str, cell: Cell) -> MapRow {
    r.0.insert(column, cell);
    r
}

fn hid(s: &str) -> HandlerId {
    HandlerId::new(s).unwrap()
}

fn sample_handler() -> Handler {
    Handler {
        id: hid("nas"),
        name: "NAS \0 ✓".into(),
        handler_type: HandlerType::Device,
        type_label: "t".into(),
        comment: String::new(),
        last_sync_reported: Some(Timestamp::from_micros(-1)),
        last_sync_recorded: None,
        active: true,
        enabled: false,
        connected: true,
        hidden: false,
        capabilities: HandlerCapabilities::EVENT_STORE,
        policies: HandlerPolicies::HIDDEN_BY_DEFAULT,
        retention: EventRetention::ReplaceOnSync,
        pause: Some(Pause { since: Timestamp::from_micros(3), until: None }),
    }
}

fn sample_item() -> Item {
    Item {
        id: ItemId::new("docs").unwrap(),
        name: "Docs".into(),
        type_label: "folder".into(),
        comment: "c".into(),
        last_sync_reported: None,
        last_sync_recorded: Some(Timestamp::from_micros(i64::MAX)),
        enabled: true,
        connected: false,
        hidden: true,
        capabilities: ItemCapabilities::CAN_DELETE,
        policies: ItemPolicies::DISABLE_DELETE,
    }
}

fn sample_event() -> Event {
    Event {
        id: EventId(Uuid::from_u128(1)),
        handler: hid("nas"),
        item: Some(ItemId::new("docs").unwrap()),
        session: Some(SessionId(Uuid::from_u128(2))),
        level: EventLevel::Warning,
        name: "n".into(),
        description: "d".into(),
        link_text: None,
        link_reference: Some("r".into()),
        context: Some("ctx".into()),
        time: Timestamp::from_micros(i64::MIN),
    }
}

fn sample_conflict() -> Conflict {
    Conflict {
        id: ConflictId(Uuid::from_u128(3)),
        handler: hid("nas"),
        item: None,
        key: Some("k".into()),
        name: "c".into(),
        description: String::new(),
        versions: vec![ConflictVersion {
            original_name: Some("a.txt".into()),
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
    }
}

#[test]
fn records_round_trip_through_rows() {
    for uuid_text in [false, true] {
        let h = sample_handler();
        assert_eq!(handler(&row(HANDLERS.columns, write::handler(&h), uuid_text)).unwrap(), h);
        let i = sample_item();
        assert_eq!(item(&row(ITEMS.columns, write::item(&h.id, &i), uuid_text)).unwrap(), (h.id.clone(), i));
        let e = sample_event();
        assert_eq!(event(&row(EVENTS.columns, write::event(&e), uuid_text)).unwrap(), e);
        let c = sample_conflict();
        assert_eq!(conflict(&row(CONFLICTS.columns, write::conflict(&c).unwrap(), uuid_text)).unwrap(), c);
        let mut bare = sample_conflict();
        bare.resolution = None;
        assert_eq!(conflict(&row(CONFLICTS.columns, write::conflict(&bare).unwrap(), uuid_text)).unwrap(), bare);
    }
}

#[test]
fn a_pause_end_without_a_start_is_bad() {
    assert_eq!(pause(None, None), Ok(None));
    assert_eq!(pause(Some(1), Some(2)).unwrap().unwrap().until, Some(Timestamp::from_micros(2)));
    let damaged = with(row(HANDLERS.columns, write::handler(&sample_handler()), false), "paused_since", Cell::Null);
    let damaged = with(damaged, "paused_until", Cell::Int(9));
    let e = handler(&damaged).unwrap_err();
    assert_eq!((e.what, e.detail.as_str()), ("handler pause", "an end (9) without a start"));
}

#[test]
fn damaged_handler_values_are_bad() {
    let good = || row(HANDLERS.columns, write::handler(&sample_handler()), false);
    let cases = [
        ("handler_type", Cell::Int(99), "handler type"),
        ("capabilities", Cell::Int(-1), "handler capabilities"),
        ("policies", Cell::Int(1 << 40), "handler policies"),
        ("retention", Cell::Text("forever".into()), "event retention"),
        ("id", Cell::Text(String::new()), "handler ID"),
        ("name", Cell::Null, "name"),
        ("active", Cell::Int(1), "active"),
        ("last_sync_reported", Cell::Text("yesterday".into()), "last_sync_reported"),
    ];
    for (column, cell, what) in cases {
        let e = handler(&with(good(), column, cell)).unwrap_err();
        assert_eq!(e.what, what, "{column}: {e}");
    }
}

#[test]
fn damaged_ids_are_bad() {
    let e = event(&with(row(EVENTS.columns, write::event(&sample_event()), true), "id", Cell::Text("x".into())));
    assert_eq!(e.unwrap_err().what, "event ID");
    let e = event(&with(row(EVENTS.columns, write::event(&sample_event()), true), "level", Cell::Int(0)));
    assert_eq!(e.unwrap_err().what, "event level");
    let e = item(&with(row(ITEMS.columns, write::item(&hid("nas"), &sample_item()), true), "id", Cell::Null));
    assert_eq!(e.unwrap_err().what, "id");
}

fn session_row(ended_at: Option<i64>, reason: Option<&str>, status: Option<i64>) -> MapRow {
    let cells = [
        ("id", Cell::Uuid(Uuid::from_u128(7))),
        ("handler_id", Cell::Text("nas".into())),
        ("owner", Cell::Int(-1)),
        ("started_at", Cell::Int(5)),
        ("manual", Cell::Flag(true)),
        ("ended_at", ended_at.map_or(Cell::Null, Cell::Int)),
        ("end_reason", reason.map_or(Cell::Null, |r| Cell::Text(r.into()))),
        ("end_status", status.map_or(Cell::Null, Cell::Int)),
    ];
    assert_eq!(cells.iter().map(|(c, _)| *c).collect::<Vec<_>>(), SESSION_COLUMNS);
    MapRow(cells.into_iter().collect())
}

#[test]
fn session_rows_decode_and_are_checked() {
    let rec = session(&session_row(Some(9), Some("host_lost"), Some(4))).unwrap();
    assert_eq!(rec.owner, OwnerId(u64::MAX), "owners round-trip bit for bit");
    let end = rec.ended.unwrap();
    assert_eq!(
        (end.at, end.reason, end.status),
        (Timestamp::from_micros(9), EndReason::HostLost, ProgressStatus::Failed)
    );
    assert!(session(&session_row(None, None, None)).unwrap().ended.is_none());
    assert_eq!(session(&session_row(Some(9), None, Some(4))).unwrap_err().what, "session end");
    assert_eq!(session(&session_row(Some(9), Some("vanished"), Some(4))).unwrap_err().what, "session end reason");
    assert_eq!(session(&session_row(Some(9), Some("ended"), Some(99))).unwrap_err().what, "progress status");
}

#[test]
fn session_items_decode_and_are_checked() {
    let progress = ItemProgress { status: Some(ProgressStatus::Succeeded), step: 2, max_step: 3, text: "t".into() };
    let mut params = vec![Param::text("docs")];
    params.extend(crate::write::progress(&progress));
    let good = || row(SESSION_ITEM_COLUMNS, params.clone(), false);
    let expected = SessionItemRecord { item: ItemId::new("docs").unwrap(), progress: progress.clone() };
    assert_eq!(session_item(&good()).unwrap(), expected);
    assert_eq!(session_item(&with(good(), "step", Cell::Int(-1))).unwrap_err().what, "progress step");
    assert_eq!(session_item(&with(good(), "max_step", Cell::Int(1 << 33))).unwrap_err().what, "progress maximum");
    assert_eq!(session_item(&with(good(), "status", Cell::Int(42))).unwrap_err().what, "progress status");
}

#[test]
fn damaged_conflict_documents_are_bad() {
    let good = || row(CONFLICTS.columns, write::conflict(&sample_conflict()).unwrap(), false);
    let e = conflict(&with(good(), "versions", Cell::Text("{}".into()))).unwrap_err();
    assert_eq!(e.what, "conflict versions document");
    let e = conflict(&with(good(), "resolution", Cell::Text(r#"{"choice":"guess"}"#.into()))).unwrap_err();
    assert_eq!(e.what, "conflict resolution document");
}

#[test]
fn snapshots_group_items_under_their_handlers_in_order() {
    let a = Handler { id: hid("a"), ..sample_handler() };
    let b = Handler { id: hid("b"), ..sample_handler() };
    let item = |id: &str| Item { id: ItemId::new(id).unwrap(), ..sample_item() };
    let items = vec![(hid("a"), item("1")), (hid("ghost"), item("2")), (hid("b"), item("3")), (hid("a"), item("4"))];
    let snap = snapshot(vec![a.clone(), b.clone()], items, vec![sample_conflict()], vec![]);
    assert_eq!(snap.handlers, vec![(a, vec![item("1"), item("4")]), (b, vec![item("3")])]);
    assert_eq!(snap.conflicts, vec![sample_conflict()]);
}
