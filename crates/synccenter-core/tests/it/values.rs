//! The model's small values keep their documented meaning: HRESULT lookups, timestamps and ID sources,
//! identifier rules (§5.7), stable names, "what to show" helpers, which changes are durable, the event
//! filter's bounds, and the words errors are made of.

use std::sync::Arc;

use synccenter_core::{
    Action, Change, ConflictItemType, ConflictVersion, Context, CoreError, EndReason, Event, EventFilter, EventId,
    EventLevel, FlagKind, HResult, IdSource, ItemId, ItemProgress, KeptVersion, NewConflict, NotReadyReason,
    PendingItems, PresenterChoice, ProgressStatus, RequestId, ResolutionAbilities, ResolutionChoice, SequentialIds,
    SessionId, Target, Timestamp, ValueError,
};

use crate::support::{Fx, hid, iid};

#[test]
fn hresults_are_found_by_number_and_only_failures_have_the_top_bit() {
    for h in HResult::ALL {
        assert_eq!(HResult::from_code(h.code), Some(h));
    }
    assert_eq!(HResult::from_code(0x8000_FFFF), Some(HResult::E_UNEXPECTED));
    assert_eq!(HResult::from_code(0x1234_5678), None);
    assert!(HResult::S_OK.is_success() && HResult::S_FALSE.is_success());
    for h in [HResult::E_INVALIDARG, HResult::E_UNEXPECTED, HResult::ERROR_BUSY, HResult::ERROR_NOT_READY] {
        assert!(!h.is_success(), "{h}");
    }
    assert_eq!(HResult::E_INVALIDARG.to_string(), "E_INVALIDARG (0x80070057)");
    assert_eq!(format!("{:?}", HResult::S_FALSE), "S_FALSE (0x00000001)");
}

#[test]
fn timestamps_count_microseconds() {
    assert_eq!(Timestamp::from_millis(3).as_micros(), 3_000);
    assert_eq!(Timestamp::from_millis(-2).as_micros(), -2_000);
    assert_eq!(format!("{:?}", Timestamp::from_millis(1)), "t+1000us");
}

#[test]
fn sequential_ids_from_different_seeds_never_collide_and_an_arc_shares_the_sequence() {
    let (a, b) = (SequentialIds::new(1), SequentialIds::new(2));
    let first: Vec<_> = (0..3).map(|_| a.next_uuid()).collect();
    let second: Vec<_> = (0..3).map(|_| b.next_uuid()).collect();
    assert!(first.iter().all(|u| !second.contains(u)), "{first:?} {second:?}");
    assert_eq!(first.iter().collect::<std::collections::BTreeSet<_>>().len(), 3);

    let shared = Arc::new(SequentialIds::new(1));
    let via_arc: Vec<_> = (0..3).map(|_| IdSource::next_uuid(&shared)).collect();
    assert_eq!(via_arc, first, "the same seed through an Arc gives the same sequence");
    assert_eq!(shared.next_uuid(), a.next_uuid(), "and advances the shared source");
}

#[test]
fn ids_may_hold_spaces_but_no_control_characters() {
    assert!(ItemId::new("My Documents").is_ok());
    assert!(ItemId::new(" ").is_ok());
    assert!(ItemId::new("a\u{1f}b").is_err());
}

#[test]
fn request_ids_read_as_r_and_their_number() {
    assert_eq!(RequestId(7).to_string(), "r-7");
}

#[test]
fn end_reasons_round_trip_through_their_distinct_stable_names() {
    let names = ["ended", "owner_lost", "daemon_restarted", "daemon_stopped", "lease_expired", "host_lost"];
    let reasons: Vec<EndReason> = names.iter().map(|n| EndReason::from_name(n).expect(n)).collect();
    assert_eq!(reasons.iter().map(|r| r.name()).collect::<Vec<_>>(), names);
    assert_eq!(reasons[5], EndReason::HostLost);
    assert_eq!(EndReason::from_name("xyzzy"), None);
    assert_eq!(EndReason::from_name(""), None);
}

#[test]
fn pending_items_are_empty_only_without_items_and_contexts() {
    assert!(PendingItems::default().is_empty());
    let contexts = PendingItems { items: Vec::new(), contexts: vec![Context("c".into())] };
    assert!(!contexts.is_empty());
    let items = PendingItems { items: vec![iid("A")], contexts: Vec::new() };
    assert!(!items.is_empty());
}

#[test]
fn last_sync_prefers_the_handlers_own_time_then_the_recorded_one() {
    let fx = Fx::new();
    let (t1, t2) = (Timestamp::from_millis(1), Timestamp::from_millis(2));
    let mut h = fx.c.handler(&fx.h()).unwrap().clone();
    let mut i = fx.c.item(&fx.h(), &iid("A")).unwrap().clone();
    assert_eq!((h.last_sync(), i.last_sync()), (None, None));
    h.last_sync_recorded = Some(t1);
    i.last_sync_recorded = Some(t1);
    assert_eq!((h.last_sync(), i.last_sync()), (Some(t1), Some(t1)));
    h.last_sync_reported = Some(t2);
    i.last_sync_reported = Some(t2);
    assert_eq!((h.last_sync(), i.last_sync()), (Some(t2), Some(t2)));
}

#[test]
fn a_conflict_answers_every_documented_property_and_its_kind() {
    let mut fx = Fx::new();
    let versions = vec![
        ConflictVersion { item_type: ConflictItemType::UPDATED, ..ConflictVersion::default() },
        ConflictVersion { item_type: ConflictItemType::DELETED, ..ConflictVersion::default() },
    ];
    let new = NewConflict {
        item: Some(iid("A")),
        key: None,
        name: "report.odt".into(),
        description: "edited on both sides".into(),
        versions,
        abilities: ResolutionAbilities::KEEP_RECENT,
    };
    let id = fx.c.add_conflict(&fx.h(), new).unwrap();
    let c = fx.c.conflict(id).unwrap();
    let micros = c.detected_at.as_micros().to_string();
    for (keys, want) in [
        (["System.ItemNameDisplay", "name"], Some("report.odt")),
        (["System.Sync.ConflictDescription", "description"], Some("edited on both sides")),
        (["System.Sync.HandlerID", "handler_id"], Some("H")),
        (["System.Sync.ItemID", "item_id"], Some("A")),
        (["System.DateModified", "date_modified"], Some(micros.as_str())),
        (["System.Size", "size"], None),
    ] {
        for k in keys {
            assert_eq!(c.property(k).as_deref(), want, "{k}");
        }
    }
    assert_eq!(c.kind(), [ConflictItemType::UPDATED, ConflictItemType::DELETED]);
}

#[test]
fn a_resolution_choice_maps_to_its_presenter_choice() {
    let keep =
        |n: usize| ResolutionChoice::KeepItems((0..n).map(|index| KeptVersion { index, new_name: None }).collect());
    assert_eq!(keep(1).presenter_choice(), PresenterChoice::KeepOne);
    assert_eq!(keep(2).presenter_choice(), PresenterChoice::KeepMultiple);
    assert_eq!(keep(3).presenter_choice(), PresenterChoice::KeepMultiple);
    assert_eq!(ResolutionChoice::KeepOther("x".into()).presenter_choice(), PresenterChoice::KeepOne);
    assert_eq!(ResolutionChoice::KeepRecent.presenter_choice(), PresenterChoice::KeepRecent);
    assert_eq!(ResolutionChoice::RemoveFromSyncSet.presenter_choice(), PresenterChoice::RemoveFromSyncSet);
}

#[test]
fn only_non_final_progress_may_wait_to_be_written() {
    let progressed = |status| Change::ItemProgressed {
        session: SessionId(uuid::Uuid::nil()),
        item: iid("A"),
        progress: ItemProgress { status: Some(status), step: 1, max_step: 2, text: String::new() },
    };
    assert!(!progressed(ProgressStatus::Updating).is_durable());
    assert!(progressed(ProgressStatus::Succeeded).is_durable());
    assert!(progressed(ProgressStatus::Failed).is_durable());
    assert!(Change::HandlerDeleted(hid("H")).is_durable());
}

fn event(item: Option<&str>, at: i64) -> Event {
    Event {
        id: EventId(uuid::Uuid::nil()),
        handler: hid("H"),
        item: item.map(iid),
        session: None,
        level: EventLevel::Info,
        name: "n".into(),
        description: String::new(),
        link_text: None,
        link_reference: None,
        context: None,
        time: Timestamp::from_millis(at),
    }
}

#[test]
fn the_event_filter_matches_its_item_its_session_and_the_half_open_time_range() {
    let item_a = EventFilter { handler: Some(hid("H")), item: Some(iid("A")), ..EventFilter::default() };
    assert!(item_a.matches(&event(Some("A"), 0)));
    assert!(!item_a.matches(&event(Some("B"), 0)));
    assert!(!item_a.matches(&event(None, 0)));

    let s1 = SessionId(uuid::Uuid::from_u128(1));
    let by_session = EventFilter { session: Some(s1), ..EventFilter::default() };
    assert!(by_session.matches(&Event { session: Some(s1), ..event(None, 0) }));
    assert!(!by_session.matches(&Event { session: Some(SessionId(uuid::Uuid::from_u128(2))), ..event(None, 0) }));
    assert!(!by_session.matches(&event(None, 0)), "an event no session reported");

    let range = EventFilter {
        since: Some(Timestamp::from_millis(10)),
        until: Some(Timestamp::from_millis(20)),
        ..EventFilter::default()
    };
    let inside: Vec<i64> = [9, 10, 15, 19, 20, 21].into_iter().filter(|t| range.matches(&event(None, *t))).collect();
    assert_eq!(inside, [10, 15, 19], "since is inclusive, until exclusive");
}

#[test]
fn errors_name_the_action_the_reason_the_target_and_the_flag_kind() {
    let handler = Target { handler: hid("H"), item: None };
    let item = Target { handler: hid("H"), item: Some(iid("A")) };
    assert_eq!(handler.to_string(), format!("handler {:?}", hid("H")));
    assert_eq!(item.to_string(), format!("item {:?} of handler {:?}", iid("A"), hid("H")));

    let forbidden = CoreError::ForbiddenByPolicy { target: handler.clone(), action: Action::Enable };
    assert!(forbidden.to_string().ends_with(" forbids enabling by policy"), "{forbidden}");
    let paused = CoreError::NotReady { target: handler, reason: NotReadyReason::Paused };
    assert!(paused.to_string().ends_with("cannot be synchronized: it is paused"), "{paused}");
    let flags = CoreError::from(ValueError::UndefinedFlags { kind: FlagKind::ItemPolicies, bits: 0x10 });
    assert_eq!(flags.to_string(), "the item policies mask has undefined bits 0x10");
}
