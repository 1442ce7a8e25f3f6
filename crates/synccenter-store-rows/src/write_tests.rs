//! Records to rows: every value list fits its column list, and the SQL fragments built from them.

use super::*;

#[test]
fn value_lists_fit_their_columns() {
    let h = synccenter_core::Handler {
        id: HandlerId::new("nas").unwrap(),
        name: String::new(),
        handler_type: synccenter_core::HandlerType::Unspecified,
        type_label: String::new(),
        comment: String::new(),
        last_sync_reported: None,
        last_sync_recorded: None,
        active: false,
        enabled: false,
        connected: false,
        hidden: false,
        capabilities: Default::default(),
        policies: Default::default(),
        retention: synccenter_core::EventRetention::Keep,
        pause: None,
    };
    assert_eq!(handler(&h).len(), HANDLERS.columns.len());
    let progress = ItemProgress { status: None, step: 0, max_step: 0, text: String::new() };
    assert_eq!(crate::write::progress(&progress).len(), PROGRESS_COLUMNS.len());
    let end = session_end(Timestamp::from_micros(0), EndReason::Ended, ProgressStatus::Succeeded);
    assert_eq!(end.len(), SESSION_END_COLUMNS.len());
    for table in [HANDLERS, ITEMS, EVENTS, CONFLICTS] {
        assert!(table.key.iter().all(|k| table.columns.contains(k)), "{}", table.name);
    }
}

#[test]
fn sql_fragments() {
    assert_eq!(placeholders('?', 1, 3), "?1, ?2, ?3");
    assert_eq!(placeholders('$', 2, 2), "$2, $3");
    assert_eq!(placeholders('$', 2, 0), "");
    assert_eq!(assignments(&["a", "b"], '$', 4), "a = $4, b = $5");
    let t = Table { name: "t", columns: &["id", "x", "y"], key: &["id"] };
    assert_eq!(t.list(), "id, x, y");
    assert_eq!(t.set_excluded(), "x = excluded.x, y = excluded.y");
}

#[test]
fn numbers_times_and_owners_keep_every_bit() {
    assert_eq!(Param::owner(OwnerId(u64::MAX)), Param::Int(Some(-1)));
    assert_eq!(Param::number(u32::MAX), Param::Int(Some(i64::from(u32::MAX))));
    assert_eq!(Param::time(Timestamp::from_micros(i64::MIN)), Param::Int(Some(i64::MIN)));
    assert_eq!(Param::opt_time(None), Param::Int(None));
}
