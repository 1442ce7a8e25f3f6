//! Sample records for the conformance cases: every field set to something distinguishable, so a backend that
//! drops or swaps a column fails a round trip.

use synccenter_core::{
    Change, Conflict, ConflictId, ConflictItemType, ConflictVersion, Event, EventId, EventLevel, EventRetention,
    Handler, HandlerCapabilities, HandlerId, HandlerPolicies, HandlerType, Item, ItemCapabilities, ItemId,
    ItemPolicies, OwnerId, ResolutionAbilities, SessionId, Timestamp,
};

/// A handler ID; panics on an invalid literal (test input).
pub fn hid(s: &str) -> HandlerId {
    HandlerId::new(s).expect("valid handler ID")
}

/// An item ID; panics on an invalid literal (test input).
pub fn iid(s: &str) -> ItemId {
    ItemId::new(s).expect("valid item ID")
}

/// A deterministic version-4-shaped UUID from a number (never nil).
pub fn uuid_from(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(0x1000_0000_0000_4000_8000_0000_0000_0000 | n)
}

/// An event ID from a number; IDs order as their numbers.
pub fn eid(n: u128) -> EventId {
    EventId(uuid_from(n))
}

/// A session ID from a number.
pub fn sid(n: u128) -> SessionId {
    SessionId(uuid_from(n))
}

/// A conflict ID from a number.
pub fn cid(n: u128) -> ConflictId {
    ConflictId(uuid_from(n))
}

/// Microseconds to a timestamp.
pub fn t(us: i64) -> Timestamp {
    Timestamp::from_micros(us)
}

/// A handler with every attribute set away from its default.
pub fn handler(id: &str) -> Handler {
    Handler {
        id: hid(id),
        name: format!("{id} name"),
        handler_type: HandlerType::Device,
        type_label: format!("{id} type"),
        comment: format!("{id} comment ✓ ünïcode"),
        last_sync_reported: Some(t(1_700_000_000_000_001)),
        last_sync_recorded: Some(t(1_700_000_000_000_002)),
        active: true,
        enabled: false,
        connected: true,
        hidden: true,
        capabilities: HandlerCapabilities::EVENT_STORE | HandlerCapabilities::QUERY_BEFORE_DISABLE,
        policies: HandlerPolicies::PREVENT_STOP_SYNC | HandlerPolicies::HIDDEN_BY_DEFAULT,
        retention: EventRetention::ReplaceOnSync,
        pause: Some(synccenter_core::Pause { since: t(1_700_000_000_000_003), until: Some(t(1_700_000_000_000_004)) }),
    }
}

/// An item with every attribute set away from its default.
pub fn item(id: &str) -> Item {
    Item {
        id: iid(id),
        name: format!("{id} name"),
        type_label: format!("{id} type"),
        comment: format!("{id} comment"),
        last_sync_reported: None,
        last_sync_recorded: Some(t(-5)),
        enabled: true,
        connected: false,
        hidden: true,
        capabilities: ItemCapabilities::CAN_DELETE | ItemCapabilities::QUERY_BEFORE_DELETE,
        policies: ItemPolicies::DISABLE_DELETE | ItemPolicies::HIDDEN_BY_DEFAULT,
    }
}

/// An event of `handler` (and `item`), at `time`, with ID `n`.
pub fn event(n: u128, handler: &str, item: Option<&str>, level: EventLevel, time: i64) -> Event {
    Event {
        id: eid(n),
        handler: hid(handler),
        item: item.map(iid),
        session: None,
        level,
        name: format!("event {n}"),
        description: format!("description of {n}"),
        link_text: Some("details".into()),
        link_reference: Some(format!("https://example.invalid/{n}")),
        context: None,
        time: t(time),
    }
}

/// A conflict of `handler` on `item` with two versions.
pub fn conflict(n: u128, handler: &str, item: Option<&str>) -> Conflict {
    Conflict {
        id: cid(n),
        handler: hid(handler),
        item: item.map(iid),
        key: Some(format!("key-{n}")),
        name: format!("conflict {n}"),
        description: "both changed".into(),
        versions: vec![
            ConflictVersion {
                original_name: Some("a.txt".into()),
                alternate_name: Some("a (this computer).txt".into()),
                location_short: "This computer".into(),
                location_full: "/home/u/a.txt".into(),
                item_type: ConflictItemType::UPDATED,
                modified: Some(t(1_000)),
                size: Some(u64::MAX),
            },
            ConflictVersion {
                original_name: None,
                alternate_name: None,
                location_short: "Server".into(),
                location_full: "https://example.invalid/a.txt".into(),
                item_type: ConflictItemType::UPDATED | ConflictItemType::DELETED,
                modified: None,
                size: None,
            },
        ],
        abilities: ResolutionAbilities::KEEP_RECENT | ResolutionAbilities::KEEP_MULTIPLE,
        detected_at: t(2_000),
        resolution: None,
    }
}

/// `SessionStarted` for session `n` of `handler` over `items`, started at `at`.
pub fn started(n: u128, handler: &str, items: &[&str], at: i64) -> Change {
    Change::SessionStarted {
        session: sid(n),
        handler: hid(handler),
        owner: OwnerId(u64::MAX - n as u64),
        started_at: t(at),
        items: items.iter().copied().map(iid).collect(),
    }
}
