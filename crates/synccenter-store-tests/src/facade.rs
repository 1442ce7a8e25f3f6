//! Facade-level conformance cases: `SyncCenter` over the backend, across a simulated restart.
//!
//! Each reopen uses a `SequentialIds` source with a new seed so IDs never collide with those already stored.

use std::sync::Arc;
use std::time::Duration;

use synccenter_core::{
    CenterConfig, ENDED_WITHOUT_RESULT, EndReason, EventFilter, EventLevel, EventQuery, EventRetention, HResult,
    HandlerSpec, IgnoreNotices, ItemSpec, ManualClock, NewConflict, NewEvent, OwnerId, ProgressStatus,
    ResolutionAbilities, ResolutionChoice, SequentialIds, SessionQuery, Store, SyncCenter, Timestamp,
};

use crate::StoreFixture;
use crate::sample::{hid, iid};

async fn center<S: Store>(store: S, clock: &Arc<ManualClock>, seed: u64) -> SyncCenter<S> {
    SyncCenter::open(
        store,
        CenterConfig::default(),
        Box::new(Arc::clone(clock)),
        Box::new(SequentialIds::new(seed)),
        Box::new(IgnoreNotices),
    )
    .await
    .expect("open SyncCenter")
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Timestamp::from_micros(1_700_000_000_000_000)))
}

async fn register<S: Store>(sc: &mut SyncCenter<S>, retention: Option<EventRetention>) {
    sc.apply(|c| {
        c.register_handler(hid("nas"), HandlerSpec { name: Some("NAS".into()), retention, ..HandlerSpec::default() })?;
        for i in ["docs", "photos"] {
            c.register_item(&hid("nas"), iid(i), ItemSpec { name: Some(i.to_uppercase()), ..ItemSpec::default() })?;
        }
        Ok(())
    })
    .await
    .expect("register");
}

fn new_event(item: Option<&str>, level: EventLevel, name: &str) -> NewEvent {
    NewEvent {
        item: item.map(iid),
        level: Some(level),
        name: Some(name.into()),
        description: Some(format!("{name} description")),
        ..NewEvent::default()
    }
}

fn all_events() -> EventQuery {
    EventQuery { filter: EventFilter::default(), after: None, limit: 1_000 }
}

/// THE restart test: a session live when the process stops is ended at the next open (reason `Restarted`),
/// its unfinished item failed, finished items kept, a warning logged; events survive.
pub async fn restart_ends_live_session<F: StoreFixture>() {
    let f = F::fresh().await;
    let clock = clock();
    let mut sc = center(f.open().await, &clock, 1).await;
    register(&mut sc, None).await;
    let (session, error_event, info_event) = sc
        .apply(|c| {
            let s = c.create_session(OwnerId(7), &hid("nas"), &[iid("docs"), iid("photos")])?;
            c.report_progress(s, &iid("docs"), ProgressStatus::Updating, Some("copying"), 3, 10)?;
            c.report_progress(s, &iid("photos"), ProgressStatus::Succeeded, None, 5, 5)?;
            let e = c.report_event(s, new_event(Some("docs"), EventLevel::Error, "disk full"))?;
            let i = c.report_event(s, new_event(None, EventLevel::Info, "hello"))?;
            Ok((s, e, i))
        })
        .await
        .expect("session");
    // The process "stops": the session is never ended.
    let store = f.reopen(sc.into_store()).await;
    clock.advance(Duration::from_secs(60));
    let sc = center(store, &clock, 2).await;

    assert!(sc.center().sessions().is_empty(), "no session is live after a restart");
    assert_eq!(sc.event(error_event).await.expect("error event kept").level, EventLevel::Error);
    assert_eq!(sc.event(info_event).await.expect("info event kept").item, None);
    let rec = sc.session_record(session).await.expect("session record");
    let end = rec.ended.expect("ended at open");
    assert_eq!(end.reason, EndReason::Restarted);
    assert_eq!(end.at, synccenter_core::Clock::now(&*clock));
    assert_eq!(end.status, ProgressStatus::Failed);
    let docs = rec.items.iter().find(|m| m.item == iid("docs")).expect("docs member");
    assert_eq!(docs.progress.status, Some(ProgressStatus::Failed));
    assert_eq!(docs.progress.text, ENDED_WITHOUT_RESULT);
    let photos = rec.items.iter().find(|m| m.item == iid("photos")).expect("photos member");
    assert_eq!(photos.progress.status, Some(ProgressStatus::Succeeded));
    let warnings = sc
        .events(&EventQuery {
            filter: EventFilter {
                handler: Some(hid("nas")),
                handler_level_only: true,
                levels: vec![EventLevel::Warning],
                session: Some(session),
                ..EventFilter::default()
            },
            after: None,
            limit: 10,
        })
        .await
        .expect("events");
    assert_eq!(warnings.len(), 1, "one restart warning: {warnings:?}");
    assert!(warnings[0].description.contains(&session.to_string()), "the warning names the session");

    // The outcome was written at open: a second restart finds nothing live and changes nothing.
    let store = f.reopen(sc.into_store()).await;
    assert!(store.load().await.expect("load").live_sessions.is_empty());
    assert_eq!(store.count_events(&EventFilter::default()).await.expect("count"), 3);
}

/// Error counts count ERROR events only; removing one lowers them; unknown IDs make `remove_events` remove
/// nothing and fail with `E_INVALIDARG`.
pub async fn error_counts_and_remove_events<F: StoreFixture>() {
    let f = F::fresh().await;
    let clock = clock();
    let mut sc = center(f.open().await, &clock, 1).await;
    register(&mut sc, None).await;
    let (error, warning, info) = sc
        .apply(|c| {
            let s = c.create_session(OwnerId(1), &hid("nas"), &[iid("docs")])?;
            let e = c.report_event(s, new_event(Some("docs"), EventLevel::Error, "e"))?;
            let w = c.report_event(s, new_event(Some("docs"), EventLevel::Warning, "w"))?;
            let i = c.report_event(s, new_event(Some("docs"), EventLevel::Info, "i"))?;
            c.end_session(s)?;
            Ok((e, w, i))
        })
        .await
        .expect("events");
    let (h, a) = (hid("nas"), iid("docs"));
    assert_eq!(sc.error_count(&h, Some(&a)).await.expect("count"), 1);
    assert_eq!(sc.error_count(&h, None).await.expect("count"), 1);

    let unknown = synccenter_core::EventId(crate::sample::uuid_from(0xDEAD));
    let err = sc.remove_events(&[warning, unknown]).await.expect_err("unknown ID");
    assert_eq!(err.hresult(), HResult::E_INVALIDARG);
    assert!(sc.event(warning).await.is_ok(), "nothing removed when one ID is unknown");

    assert_eq!(sc.remove_events(&[error]).await.expect("remove"), 1);
    assert_eq!(sc.error_count(&h, Some(&a)).await.expect("count"), 0);
    assert_eq!(sc.error_count(&h, None).await.expect("count"), 0);
    let gone = sc.event(error).await.expect_err("removed");
    assert_eq!(gone.hresult(), HResult::E_INVALIDARG);
    let store = f.reopen(sc.into_store()).await;
    assert_eq!(store.get_event(error).await.expect("get"), None);
    assert!(store.get_event(info).await.expect("get").is_some());
}

async fn two_sessions<F: StoreFixture>(retention: Option<EventRetention>) -> (usize, usize) {
    let f = F::fresh().await;
    let clock = clock();
    let mut sc = center(f.open().await, &clock, 1).await;
    register(&mut sc, retention).await;
    let first = sc
        .apply(|c| {
            let s = c.create_session(OwnerId(1), &hid("nas"), &[iid("docs")])?;
            c.report_event(s, new_event(Some("docs"), EventLevel::Error, "first error"))?;
            c.report_event(s, new_event(None, EventLevel::Info, "first info"))?;
            c.end_session(s)?;
            Ok(s)
        })
        .await
        .expect("session 1");
    let first_count = sc.count_events(&EventFilter { session: Some(first), ..EventFilter::default() }).await;
    assert_eq!(first_count.expect("count"), 2);
    clock.advance(Duration::from_secs(1));
    sc.apply(|c| {
        let s = c.create_session(OwnerId(1), &hid("nas"), &[iid("photos")])?;
        c.report_event(s, new_event(None, EventLevel::Info, "second info"))?;
        Ok(())
    })
    .await
    .expect("session 2");
    let store = f.reopen(sc.into_store()).await;
    let left = store.count_events(&EventFilter { session: Some(first), ..EventFilter::default() }).await;
    let total = store.list_events(&all_events()).await.expect("list").len();
    (left.expect("count") as usize, total)
}

/// With replace-on-sync retention, a new session of the handler deletes the previous session's events.
pub async fn replace_on_sync_drops_previous_events<F: StoreFixture>() {
    assert_eq!(two_sessions::<F>(Some(EventRetention::ReplaceOnSync)).await, (0, 1));
}

/// With the default `Keep` retention, events of earlier sessions stay.
pub async fn keep_retention_keeps_events<F: StoreFixture>() {
    assert_eq!(two_sessions::<F>(None).await, (2, 3));
}

/// The registry, conflicts with their resolution, session history and events survive a reopen.
pub async fn everything_durable_survives_reopen<F: StoreFixture>() {
    let f = F::fresh().await;
    let clock = clock();
    let mut sc = center(f.open().await, &clock, 1).await;
    register(&mut sc, Some(EventRetention::Keep)).await;
    let (session, conflict) = sc
        .apply(|c| {
            c.set_hidden(&hid("nas"), Some(&iid("photos")), true)?;
            let s = c.create_session(OwnerId(3), &hid("nas"), &[iid("docs")])?;
            c.report_manual_sync(s)?;
            c.report_progress(s, &iid("docs"), ProgressStatus::Succeeded, Some("ok"), 1, 1)?;
            c.report_event(s, new_event(Some("docs"), EventLevel::Warning, "w"))?;
            let conflict = c.report_conflict(
                s,
                NewConflict {
                    item: Some(iid("docs")),
                    key: Some("k1".into()),
                    name: "report.odt".into(),
                    description: "changed on both sides".into(),
                    versions: crate::sample::conflict(1, "nas", None).versions,
                    abilities: ResolutionAbilities::KEEP_RECENT,
                },
            )?;
            c.end_session(s)?;
            Ok((s, conflict))
        })
        .await
        .expect("work");
    sc.apply(|c| c.resolve_conflict(conflict, ResolutionChoice::KeepRecent, false)).await.expect("resolve");

    let handlers_before: Vec<_> = sc.center().handlers().cloned().collect();
    let items_before: Vec<_> = sc.center().items(&hid("nas")).expect("items").into_iter().cloned().collect();
    let conflict_before = sc.center().conflict(conflict).expect("conflict").clone();
    let record_before = sc.session_record(session).await.expect("record");
    let events_before = sc.events(&all_events()).await.expect("events");
    let history_before = sc
        .session_history(&SessionQuery { handler: Some(hid("nas")), started_before: None, limit: 10 })
        .await
        .expect("history");
    assert!(conflict_before.resolution.is_some());
    assert!(record_before.manual);
    assert!(record_before.ended.is_some());

    let store = f.reopen(sc.into_store()).await;
    clock.advance(Duration::from_secs(5));
    let sc = center(store, &clock, 2).await;
    assert_eq!(sc.center().handlers().cloned().collect::<Vec<_>>(), handlers_before);
    assert_eq!(sc.center().items(&hid("nas")).expect("items").into_iter().cloned().collect::<Vec<_>>(), items_before);
    assert_eq!(sc.center().conflict(conflict).expect("conflict"), &conflict_before);
    assert_eq!(sc.session_record(session).await.expect("record"), record_before);
    assert_eq!(sc.events(&all_events()).await.expect("events"), events_before);
    assert_eq!(
        sc.session_history(&SessionQuery { handler: Some(hid("nas")), started_before: None, limit: 10 })
            .await
            .expect("history"),
        history_before
    );
}
