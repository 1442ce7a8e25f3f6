//! Store-level conformance cases: `Change`s in, queries out, compared with the reference semantics of
//! `MemoryStore`. Most cases check again after a reopen, so durability is tested alongside behaviour.

use synccenter_core::{
    Change, EndReason, Event, EventCursor, EventFilter, EventLevel, EventQuery, ItemProgress, KeptVersion, Pause,
    ProgressStatus, Resolution, ResolutionChoice, SessionEnd, SessionItemRecord, SessionQuery, Store, StoreError,
};

use crate::sample::{cid, conflict, eid, event, handler, hid, iid, item, sid, started, t};
use crate::{Damage, StoreFixture};

// The retention cases live in their own module; the macro finds every case here.
pub use crate::retention::{
    prune_forever_and_zero_limit_remove_nothing, prune_keeps_the_newest_per_handler_and_level,
    prune_removes_ended_sessions_never_live_ones, prune_removes_events_by_age_per_level,
};

async fn apply<S: Store>(store: &S, changes: &[Change]) {
    store.apply(changes).await.expect("apply");
}

fn all(filter: EventFilter) -> EventQuery {
    EventQuery { filter, after: None, limit: 1_000 }
}

async fn list<S: Store>(store: &S, filter: EventFilter) -> Vec<Event> {
    store.list_events(&all(filter)).await.expect("list_events")
}

fn ids(events: &[Event]) -> Vec<u128> {
    events.iter().map(|e| e.id.0.as_u128() & 0xFFFF).collect()
}

fn all_sessions() -> SessionQuery {
    SessionQuery { handler: None, started_before: None, limit: 1_000 }
}

/// Handlers with every attribute, and their items, come back from `load` as saved, ordered by ID.
pub async fn registry_round_trip<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    let mut plain = handler("plain");
    plain.handler_type = synccenter_core::HandlerType::Unspecified;
    plain.last_sync_reported = None;
    plain.last_sync_recorded = None;
    plain.retention = synccenter_core::EventRetention::Keep;
    plain.capabilities = Default::default();
    plain.policies = Default::default();
    apply(
        &s,
        &[
            Change::HandlerSaved(handler("nas")),
            Change::ItemSaved(hid("nas"), item("photos")),
            Change::ItemSaved(hid("nas"), item("docs")),
            Change::HandlerSaved(plain.clone()),
        ],
    )
    .await;
    let s = f.reopen(s).await;
    let snap = s.load().await.expect("load");
    assert_eq!(
        snap.handlers,
        vec![(handler("nas"), vec![item("docs"), item("photos")]), (plain, vec![])],
        "handlers and items, sorted by ID"
    );
    assert!(snap.conflicts.is_empty());
    assert!(snap.live_sessions.is_empty());
}

/// Saving a handler again replaces its attributes and keeps its items; saving an item again replaces it.
pub async fn handler_saved_again_keeps_items<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    let mut changed = handler("nas");
    changed.name = "renamed".into();
    changed.enabled = true;
    let mut docs = item("docs");
    docs.comment = "new comment".into();
    apply(
        &s,
        &[
            Change::HandlerSaved(handler("nas")),
            Change::ItemSaved(hid("nas"), item("docs")),
            Change::HandlerSaved(changed.clone()),
            Change::ItemSaved(hid("nas"), docs.clone()),
        ],
    )
    .await;
    let s = f.reopen(s).await;
    assert_eq!(s.load().await.expect("load").handlers, vec![(changed, vec![docs])]);
}

/// An item saved for a handler that does not exist is ignored.
pub async fn item_of_unknown_handler_is_ignored<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    apply(&s, &[Change::ItemSaved(hid("ghost"), item("docs"))]).await;
    assert!(s.load().await.expect("load").handlers.is_empty());
}

/// A pause comes back as saved, open-ended or not, and no pause as none. A stored pause end without a start
/// is nothing a build writes: `load` refuses it as corrupt, naming it, rather than reading the handler as not
/// paused.
pub async fn pause_end_without_start_is_corrupt<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    let mut open_ended = handler("open");
    open_ended.pause = Some(Pause { since: t(7), until: None });
    let mut running = handler("running");
    running.pause = None;
    let timed = handler("timed");
    apply(
        &s,
        &[
            Change::HandlerSaved(open_ended.clone()),
            Change::HandlerSaved(running.clone()),
            Change::HandlerSaved(timed.clone()),
        ],
    )
    .await;
    let s = f.reopen(s).await;
    let handlers = s.load().await.expect("load").handlers;
    assert_eq!(handlers, vec![(open_ended, vec![]), (running, vec![]), (timed, vec![])]);
    match f.damage(&Damage::PauseEndWithoutStart(hid("timed"))).await {
        None => return,
        Some(rows) => assert_eq!(rows, 1, "one handler row damaged"),
    }
    let err = s.load().await.expect_err("a pause end without a start must be refused");
    let StoreError::Corrupt(msg) = &err else { panic!("expected Corrupt, got {err:?}") };
    assert!(msg.contains("handler pause") && msg.contains("without a start"), "the message names the value: {msg}");
}

/// Deleting an item keeps its events and the sessions it took part in.
pub async fn item_deleted_keeps_events_and_history<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    apply(
        &s,
        &[
            Change::HandlerSaved(handler("nas")),
            Change::ItemSaved(hid("nas"), item("docs")),
            Change::ItemSaved(hid("nas"), item("photos")),
            started(1, "nas", &["docs"], 10),
            Change::EventAdded(event(1, "nas", Some("docs"), EventLevel::Error, 11)),
            Change::ItemDeleted(hid("nas"), iid("docs")),
            Change::ItemDeleted(hid("nas"), iid("never-existed")),
        ],
    )
    .await;
    let s = f.reopen(s).await;
    let snap = s.load().await.expect("load");
    assert_eq!(snap.handlers, vec![(handler("nas"), vec![item("photos")])]);
    assert!(s.get_event(eid(1)).await.expect("get_event").is_some());
    let rec = s.get_session(sid(1)).await.expect("get_session").expect("session kept");
    assert_eq!(rec.items.len(), 1);
    assert_eq!(rec.items[0].item, iid("docs"));
}

/// Deleting a handler drops its items and conflicts, not other handlers' conflicts, and keeps its events and
/// session history.
pub async fn handler_deleted_keeps_events_and_history<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    apply(
        &s,
        &[
            Change::HandlerSaved(handler("nas")),
            Change::HandlerSaved(handler("phone")),
            Change::ItemSaved(hid("nas"), item("docs")),
            Change::ConflictSaved(conflict(1, "nas", Some("docs"))),
            Change::ConflictSaved(conflict(2, "phone", None)),
            started(1, "nas", &["docs"], 10),
            Change::SessionEnded {
                session: sid(1),
                at: t(20),
                reason: EndReason::Ended,
                status: ProgressStatus::Failed,
            },
            Change::EventAdded(event(1, "nas", None, EventLevel::Info, 11)),
            Change::HandlerDeleted(hid("nas")),
        ],
    )
    .await;
    let s = f.reopen(s).await;
    let snap = s.load().await.expect("load");
    assert_eq!(snap.handlers, vec![(handler("phone"), vec![])]);
    assert_eq!(snap.conflicts, vec![conflict(2, "phone", None)]);
    assert_eq!(s.get_event(eid(1)).await.expect("get_event"), Some(event(1, "nas", None, EventLevel::Info, 11)));
    assert!(s.get_session(sid(1)).await.expect("get_session").is_some());
    // Registering it again starts with no items.
    apply(&s, &[Change::HandlerSaved(handler("nas"))]).await;
    let snap = s.load().await.expect("load");
    assert_eq!(snap.handlers[0], (handler("nas"), vec![]));
}

/// An event comes back from `get_event` with every field; an unknown ID is `None`.
pub async fn event_insert_and_get<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    let mut full = event(1, "nas", Some("docs"), EventLevel::Warning, -7);
    full.session = Some(sid(9));
    full.context = Some("ctx ✓".into());
    let mut bare = event(2, "nas", None, EventLevel::Info, i64::MAX);
    bare.link_text = None;
    bare.link_reference = None;
    bare.description = String::new();
    apply(&s, &[Change::EventAdded(full.clone()), Change::EventAdded(bare.clone())]).await;
    let s = f.reopen(s).await;
    assert_eq!(s.get_event(eid(1)).await.expect("get_event"), Some(full));
    assert_eq!(s.get_event(eid(2)).await.expect("get_event"), Some(bare));
    assert_eq!(s.get_event(eid(3)).await.expect("get_event"), None);
}

/// Events list newest first; events of one instant list by ID descending.
pub async fn events_listed_newest_first<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    apply(
        &s,
        &[
            Change::EventAdded(event(1, "nas", None, EventLevel::Info, 100)),
            Change::EventAdded(event(5, "nas", None, EventLevel::Info, 50)),
            Change::EventAdded(event(3, "nas", None, EventLevel::Info, 100)),
            Change::EventAdded(event(4, "nas", None, EventLevel::Info, 300)),
            Change::EventAdded(event(2, "nas", None, EventLevel::Info, 100)),
        ],
    )
    .await;
    let s = f.reopen(s).await;
    assert_eq!(ids(&list(&s, EventFilter::default()).await), vec![4, 3, 2, 1, 5]);
    let page =
        s.list_events(&EventQuery { filter: EventFilter::default(), after: None, limit: 2 }).await.expect("list");
    assert_eq!(ids(&page), vec![4, 3]);
    let none =
        s.list_events(&EventQuery { filter: EventFilter::default(), after: None, limit: 0 }).await.expect("list");
    assert!(none.is_empty());
}

/// Paging through 25 events (with time ties) by 7 with a cursor yields every event exactly once, in order.
pub async fn events_paged_with_cursor<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    let changes: Vec<Change> =
        (1..=25u128).map(|n| Change::EventAdded(event(n, "nas", None, EventLevel::Info, (n as i64) / 3))).collect();
    apply(&s, &changes).await;
    let s = f.reopen(s).await;
    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = s.list_events(&EventQuery { filter: EventFilter::default(), after, limit: 7 }).await.expect("list");
        assert!(page.len() <= 7);
        pages += 1;
        let Some(last) = page.last() else { break };
        after = Some(EventCursor { time: last.time, id: last.id });
        seen.extend(ids(&page));
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 5, "4 pages of events and an empty one");
    assert_eq!(seen, (1..=25u128).rev().collect::<Vec<_>>());
}

fn filter_fixture() -> Vec<Event> {
    let mut v = vec![
        event(1, "nas", None, EventLevel::Info, 10),
        event(2, "nas", Some("docs"), EventLevel::Error, 20),
        event(3, "nas", Some("photos"), EventLevel::Warning, 30),
        event(4, "phone", Some("docs"), EventLevel::Error, 40),
        event(5, "phone", None, EventLevel::Warning, 50),
        event(6, "nas", Some("docs"), EventLevel::Info, 60),
    ];
    v[1].session = Some(sid(1));
    v[2].session = Some(sid(1));
    v[3].session = Some(sid(2));
    v
}

fn filters() -> Vec<(&'static str, EventFilter)> {
    vec![
        ("none", EventFilter::default()),
        ("handler", EventFilter { handler: Some(hid("nas")), ..Default::default() }),
        ("handler+item", EventFilter { handler: Some(hid("nas")), item: Some(iid("docs")), ..Default::default() }),
        ("item alone", EventFilter { item: Some(iid("docs")), ..Default::default() }),
        ("handler level", EventFilter { handler: Some(hid("nas")), handler_level_only: true, ..Default::default() }),
        ("handler level, all handlers", EventFilter { handler_level_only: true, ..Default::default() }),
        (
            "item wins over handler level",
            EventFilter {
                handler: Some(hid("nas")),
                item: Some(iid("docs")),
                handler_level_only: true,
                ..Default::default()
            },
        ),
        ("one level", EventFilter { levels: vec![EventLevel::Error], ..Default::default() }),
        ("two levels", EventFilter { levels: vec![EventLevel::Warning, EventLevel::Info], ..Default::default() }),
        ("session", EventFilter { session: Some(sid(1)), ..Default::default() }),
        ("unknown session", EventFilter { session: Some(sid(99)), ..Default::default() }),
        ("since", EventFilter { since: Some(t(30)), ..Default::default() }),
        ("until", EventFilter { until: Some(t(30)), ..Default::default() }),
        ("window", EventFilter { since: Some(t(20)), until: Some(t(50)), ..Default::default() }),
        (
            "everything",
            EventFilter {
                handler: Some(hid("nas")),
                item: Some(iid("docs")),
                handler_level_only: false,
                levels: vec![EventLevel::Error, EventLevel::Info],
                session: Some(sid(1)),
                since: Some(t(20)),
                until: Some(t(21)),
            },
        ),
    ]
}

/// Every filter field selects exactly what `EventFilter::matches` selects.
pub async fn event_filter_fields<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    let events = filter_fixture();
    apply(&s, &events.iter().cloned().map(Change::EventAdded).collect::<Vec<_>>()).await;
    let s = f.reopen(s).await;
    for (name, filter) in filters() {
        let mut expected: Vec<&Event> = events.iter().filter(|e| filter.matches(e)).collect();
        expected.sort_by_key(|e| std::cmp::Reverse((e.time, e.id)));
        let expected: Vec<Event> = expected.into_iter().cloned().collect();
        assert_eq!(list(&s, filter.clone()).await, expected, "filter {name}");
    }
}

/// `count_events` counts what the filter selects.
pub async fn count_events_matches_filter<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    let events = filter_fixture();
    apply(&s, &events.iter().cloned().map(Change::EventAdded).collect::<Vec<_>>()).await;
    let s = f.reopen(s).await;
    for (name, filter) in filters() {
        let expected = events.iter().filter(|e| filter.matches(e)).count() as u64;
        assert_eq!(s.count_events(&filter).await.expect("count"), expected, "filter {name}");
    }
}

/// `remove_events` deletes the listed events and returns how many existed (unknown and repeated IDs count
/// nothing).
pub async fn remove_events_returns_existing_count<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    let events = filter_fixture();
    apply(&s, &events.iter().cloned().map(Change::EventAdded).collect::<Vec<_>>()).await;
    assert_eq!(s.remove_events(&[eid(2), eid(99), eid(4), eid(2)]).await.expect("remove"), 2);
    assert_eq!(s.remove_events(&[]).await.expect("remove"), 0);
    let s = f.reopen(s).await;
    assert_eq!(ids(&list(&s, EventFilter::default()).await), vec![6, 5, 3, 1]);
    assert_eq!(s.get_event(eid(2)).await.expect("get"), None);
}

/// `clear_events` deletes what the filter selects and returns how many.
pub async fn clear_events_with_filter<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    let events = filter_fixture();
    apply(&s, &events.iter().cloned().map(Change::EventAdded).collect::<Vec<_>>()).await;
    let filter = EventFilter {
        handler: Some(hid("nas")),
        levels: vec![EventLevel::Error, EventLevel::Info],
        ..Default::default()
    };
    assert_eq!(s.clear_events(&filter).await.expect("clear"), 3);
    let s = f.reopen(s).await;
    assert_eq!(ids(&list(&s, EventFilter::default()).await), vec![5, 4, 3]);
    assert_eq!(s.clear_events(&EventFilter::default()).await.expect("clear"), 3);
    assert_eq!(s.count_events(&EventFilter::default()).await.expect("count"), 0);
}

/// `EventsPurged` deletes only that handler's events created strictly before the bound.
pub async fn events_purged_by_handler_and_time<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    let events = filter_fixture();
    apply(&s, &events.iter().cloned().map(Change::EventAdded).collect::<Vec<_>>()).await;
    apply(&s, &[Change::EventsPurged { handler: hid("nas"), before: t(30) }]).await;
    let s = f.reopen(s).await;
    assert_eq!(ids(&list(&s, EventFilter::default()).await), vec![6, 5, 4, 3]);
}

/// Conflicts are saved, replaced by a later save, and removed; unknown removals are harmless.
pub async fn conflict_save_update_remove<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    let mut changed = conflict(1, "nas", Some("docs"));
    changed.description = "changed again".into();
    changed.versions.pop();
    changed.detected_at = t(9_000);
    apply(
        &s,
        &[
            Change::HandlerSaved(handler("nas")),
            Change::ConflictSaved(conflict(1, "nas", Some("docs"))),
            Change::ConflictSaved(conflict(2, "nas", None)),
            Change::ConflictSaved(conflict(3, "other", None)),
        ],
    )
    .await;
    let s = f.reopen(s).await;
    assert_eq!(
        s.load().await.expect("load").conflicts,
        vec![conflict(1, "nas", Some("docs")), conflict(2, "nas", None), conflict(3, "other", None)]
    );
    apply(
        &s,
        &[Change::ConflictSaved(changed.clone()), Change::ConflictRemoved(cid(2)), Change::ConflictRemoved(cid(77))],
    )
    .await;
    let s = f.reopen(s).await;
    assert_eq!(s.load().await.expect("load").conflicts, vec![changed, conflict(3, "other", None)]);
}

/// Every kind of resolution is persisted with the conflict.
pub async fn conflict_resolutions_persist<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    let choices = [
        ResolutionChoice::KeepItems(vec![
            KeptVersion { index: 0, new_name: Some("a (1).txt".into()) },
            KeptVersion { index: 1, new_name: None },
        ]),
        ResolutionChoice::KeepRecent,
        ResolutionChoice::KeepOther("/merged/a.txt".into()),
        ResolutionChoice::RemoveFromSyncSet,
    ];
    let mut expected = Vec::new();
    for (n, choice) in choices.into_iter().enumerate() {
        let mut c = conflict(n as u128 + 1, "nas", None);
        c.resolution = Some(Resolution {
            choice,
            requested_at: t(5_000 + n as i64),
            applied_from: if n % 2 == 0 { None } else { Some(cid(1)) },
        });
        expected.push(c);
    }
    apply(&s, &expected.iter().cloned().map(Change::ConflictSaved).collect::<Vec<_>>()).await;
    let s = f.reopen(s).await;
    assert_eq!(s.load().await.expect("load").conflicts, expected);
}

/// A session's history follows its changes: members in order (duplicates ignored), latest progress, manual
/// flag, end.
pub async fn session_history_lifecycle<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    let progress =
        |status, step, max_step, text: &str| ItemProgress { status: Some(status), step, max_step, text: text.into() };
    apply(
        &s,
        &[
            started(1, "nas", &["docs", "photos"], 100),
            Change::SessionItemAdded { session: sid(1), item: iid("music") },
            Change::SessionItemAdded { session: sid(1), item: iid("docs") },
            Change::SessionItemAdded { session: sid(42), item: iid("docs") },
            Change::ItemProgressed {
                session: sid(1),
                item: iid("docs"),
                progress: progress(ProgressStatus::Updating, 1, 10, "first"),
            },
        ],
    )
    .await;
    let s = f.reopen(s).await;
    let rec = s.get_session(sid(1)).await.expect("get").expect("exists");
    assert_eq!(rec.id, sid(1));
    assert_eq!(rec.handler, hid("nas"));
    assert_eq!(rec.owner, synccenter_core::OwnerId(u64::MAX - 1));
    assert_eq!(rec.started_at, t(100));
    assert!(!rec.manual);
    assert_eq!(rec.ended, None);
    assert_eq!(
        rec.items,
        vec![
            SessionItemRecord { item: iid("docs"), progress: progress(ProgressStatus::Updating, 1, 10, "first") },
            SessionItemRecord { item: iid("photos"), progress: ItemProgress::default() },
            SessionItemRecord { item: iid("music"), progress: ItemProgress::default() },
        ]
    );
    assert_eq!(s.get_session(sid(42)).await.expect("get"), None, "adding to an unknown session creates nothing");
    apply(
        &s,
        &[
            Change::ItemProgressed {
                session: sid(1),
                item: iid("docs"),
                progress: progress(ProgressStatus::UpdatingIndeterminate, 1, 10, "second"),
            },
            Change::ItemProgressed {
                session: sid(1),
                item: iid("docs"),
                progress: progress(ProgressStatus::Succeeded, 10, 10, "done"),
            },
            Change::ItemProgressed {
                session: sid(1),
                item: iid("photos"),
                progress: progress(ProgressStatus::Disconnected, 0, 0, ""),
            },
            Change::ItemProgressed {
                session: sid(1),
                item: iid("not-a-member"),
                progress: progress(ProgressStatus::Failed, 0, 0, ""),
            },
            Change::SessionMarkedManual(sid(1)),
            Change::SessionEnded {
                session: sid(1),
                at: t(200),
                reason: EndReason::OwnerLost,
                status: ProgressStatus::Disconnected,
            },
        ],
    )
    .await;
    let s = f.reopen(s).await;
    let rec = s.get_session(sid(1)).await.expect("get").expect("exists");
    assert!(rec.manual);
    assert_eq!(
        rec.ended,
        Some(SessionEnd { at: t(200), reason: EndReason::OwnerLost, status: ProgressStatus::Disconnected })
    );
    assert_eq!(rec.items.len(), 3);
    assert_eq!(rec.items[0].progress, progress(ProgressStatus::Succeeded, 10, 10, "done"));
    assert_eq!(rec.items[1].progress, progress(ProgressStatus::Disconnected, 0, 0, ""));
    assert_eq!(rec.items[2].progress, ItemProgress::default());
    assert_eq!(s.list_sessions(&all_sessions()).await.expect("list"), vec![rec]);
}

/// Session history lists newest first (ties by ID descending), filtered by handler, continued with
/// `started_before`, limited.
pub async fn list_sessions_newest_first_with_filter_and_cursor<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    apply(
        &s,
        &[
            started(1, "nas", &["docs"], 100),
            started(2, "phone", &["a"], 200),
            started(3, "nas", &["docs"], 300),
            started(4, "nas", &[], 300),
            started(5, "nas", &["docs"], 400),
            Change::SessionEnded {
                session: sid(3),
                at: t(350),
                reason: EndReason::Ended,
                status: ProgressStatus::Succeeded,
            },
            Change::SessionEnded {
                session: sid(1),
                at: t(150),
                reason: EndReason::Restarted,
                status: ProgressStatus::Failed,
            },
        ],
    )
    .await;
    let s = f.reopen(s).await;
    let order = |v: Vec<synccenter_core::SessionRecord>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        order(s.list_sessions(&all_sessions()).await.expect("list")),
        vec![sid(5), sid(4), sid(3), sid(2), sid(1)]
    );
    let nas = SessionQuery { handler: Some(hid("nas")), started_before: None, limit: 2 };
    let first = s.list_sessions(&nas).await.expect("list");
    assert_eq!(order(first.clone()), vec![sid(5), sid(4)]);
    let next = SessionQuery { started_before: Some(first[1].started_at), ..nas.clone() };
    assert_eq!(order(s.list_sessions(&next).await.expect("list")), vec![sid(1)], "started_before is exclusive");
    let before = SessionQuery { handler: None, started_before: Some(t(300)), limit: 10 };
    assert_eq!(order(s.list_sessions(&before).await.expect("list")), vec![sid(2), sid(1)]);
    let unknown = SessionQuery { handler: Some(hid("ghost")), started_before: None, limit: 10 };
    assert!(s.list_sessions(&unknown).await.expect("list").is_empty());
}

/// `get_session` of an unknown ID is `None`.
pub async fn get_session_unknown_is_none<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    assert_eq!(s.get_session(sid(1)).await.expect("get"), None);
}

/// `load` returns exactly the sessions that have not ended, with their members and progress.
pub async fn load_returns_only_live_sessions<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    let p = ItemProgress { status: Some(ProgressStatus::Updating), step: 3, max_step: 10, text: "copying".into() };
    apply(
        &s,
        &[
            Change::HandlerSaved(handler("nas")),
            started(1, "nas", &["docs"], 100),
            started(2, "nas", &["docs", "photos"], 200),
            started(3, "phone", &["a"], 300),
            Change::ItemProgressed { session: sid(2), item: iid("photos"), progress: p.clone() },
            Change::SessionMarkedManual(sid(2)),
            Change::SessionEnded {
                session: sid(1),
                at: t(150),
                reason: EndReason::Ended,
                status: ProgressStatus::Succeeded,
            },
        ],
    )
    .await;
    let s = f.reopen(s).await;
    let live = s.load().await.expect("load").live_sessions;
    assert_eq!(live.iter().map(|r| r.id).collect::<Vec<_>>(), vec![sid(2), sid(3)]);
    assert!(live[0].manual);
    assert_eq!(
        live[0].items,
        vec![
            SessionItemRecord { item: iid("docs"), progress: ItemProgress::default() },
            SessionItemRecord { item: iid("photos"), progress: p },
        ]
    );
    assert_eq!(live[0], s.get_session(sid(2)).await.expect("get").expect("exists"));
}

/// Changes of one batch apply in order (a save then a delete leaves nothing); an empty batch changes nothing.
pub async fn apply_is_ordered_and_empty_apply_is_harmless<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    apply(
        &s,
        &[
            Change::HandlerSaved(handler("nas")),
            Change::ItemSaved(hid("nas"), item("docs")),
            Change::ItemDeleted(hid("nas"), iid("docs")),
            Change::EventAdded(event(1, "nas", None, EventLevel::Info, 1)),
            Change::EventsPurged { handler: hid("nas"), before: t(2) },
            Change::ConflictSaved(conflict(1, "nas", None)),
            Change::ConflictRemoved(cid(1)),
        ],
    )
    .await;
    apply(&s, &[]).await;
    let s = f.reopen(s).await;
    let snap = s.load().await.expect("load");
    assert_eq!(snap.handlers, vec![(handler("nas"), vec![])]);
    assert!(snap.conflicts.is_empty());
    assert_eq!(s.count_events(&EventFilter::default()).await.expect("count"), 0);
}

/// One large batch, as a group commit writes it: 300 events (one of them reported twice: the later copy wins)
/// and a session of 70 items among other changes, all in order and all there after a reopen.
pub async fn large_batch_keeps_order_and_replacements<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    let names: Vec<String> = (0..70).map(|i| format!("item{i:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut changes = vec![Change::HandlerSaved(handler("nas"))];
    changes.extend((1..=150u128).map(|n| Change::EventAdded(event(n, "nas", None, EventLevel::Info, n as i64))));
    changes.push(started(1, "nas", &refs, 1));
    changes.extend((151..=300u128).map(|n| Change::EventAdded(event(n, "nas", None, EventLevel::Info, n as i64))));
    let mut again = event(7, "nas", None, EventLevel::Error, 7);
    again.description = "reported again".into();
    changes.push(Change::EventAdded(again));
    apply(&s, &changes).await;
    let s = f.reopen(s).await;
    let events = list(&s, EventFilter::default()).await;
    assert_eq!(ids(&events), (1..=300u128).rev().collect::<Vec<_>>());
    let seventh = events.iter().find(|e| e.id == eid(7)).expect("event 7");
    assert_eq!((seventh.level, seventh.description.as_str()), (EventLevel::Error, "reported again"));
    let session = s.get_session(sid(1)).await.expect("get").expect("session 1");
    let items: Vec<String> = session.items.iter().map(|m| m.item.to_string()).collect();
    assert_eq!(items, names);
}

/// Totals stay equal to the matching events while events are rewritten (with another handler, item or level),
/// removed, purged and cleared.
pub async fn counts_follow_rewrites_and_deletes<F: StoreFixture>() {
    async fn check<S: Store>(s: &S, step: &str) {
        for (name, filter) in filters() {
            let expected = list(s, filter.clone()).await.len() as u64;
            assert_eq!(s.count_events(&filter).await.expect("count"), expected, "filter {name} after {step}");
        }
    }
    let f = F::fresh().await;
    let s = f.open().await;
    apply(&s, &filter_fixture().into_iter().map(Change::EventAdded).collect::<Vec<_>>()).await;
    check(&s, "insert").await;
    let mut moved = event(2, "phone", None, EventLevel::Info, 20);
    moved.session = Some(sid(1));
    apply(&s, &[Change::EventAdded(moved), Change::EventAdded(event(6, "nas", Some("photos"), EventLevel::Error, 60))])
        .await;
    check(&s, "rewrites").await;
    s.remove_events(&[eid(3)]).await.expect("remove");
    check(&s, "remove").await;
    apply(&s, &[Change::EventsPurged { handler: hid("phone"), before: t(45) }]).await;
    check(&s, "purge").await;
    s.clear_events(&EventFilter { levels: vec![EventLevel::Error], ..Default::default() }).await.expect("clear");
    let s = f.reopen(s).await;
    check(&s, "clear and reopen").await;
}
