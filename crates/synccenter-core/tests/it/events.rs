//! Events (Sync Results) through `SyncCenter<MemoryStore>`: behaviours 44–52 and 71 (`ReportEvent`, error
//! counts, enumeration, removal, retention, durability on return, handlers that declare their own store).

use std::time::Duration;

use synccenter_core::{
    CoreError, EventCursor, EventFilter, EventId, EventLevel, EventQuery, EventRetention, HResult, HandlerCapabilities,
    HandlerSpec, NewEvent, SessionId, Timestamp,
};

use crate::support::{ScFx, handler_spec, hid, iid};

fn ev(item: Option<&str>, level: EventLevel, name: &str) -> NewEvent {
    NewEvent {
        item: item.map(iid),
        level: Some(level),
        name: Some(name.into()),
        description: Some(format!("{name} description")),
        ..NewEvent::default()
    }
}

async fn report(fx: &mut ScFx, s: SessionId, e: NewEvent) -> Result<EventId, CoreError> {
    fx.sc.apply(|c| c.report_event(s, e)).await
}

fn all() -> EventFilter {
    EventFilter::default()
}

#[tokio::test]
async fn b44_report_event_stores_every_field_with_a_fresh_id_and_time() {
    let mut fx = ScFx::new(handler_spec("Handler H")).await;
    let s = fx.session("H", &["A"]).await;
    let t = Timestamp::from_millis(1_700_000_123_456);
    fx.clock.set(t);
    let e = NewEvent {
        item: Some(iid("A")),
        level: Some(EventLevel::Error),
        flags: 0,
        name: Some("n".into()),
        description: Some("d".into()),
        ..NewEvent::default()
    };
    let id = report(&mut fx, s, e.clone()).await.unwrap();
    assert!(!id.0.is_nil());
    let stored = fx.sc.event(id).await.unwrap();
    assert_eq!(stored.id, id);
    assert_eq!(stored.handler, hid("H"));
    assert_eq!(stored.item, Some(iid("A")));
    assert_eq!(stored.level, EventLevel::Error);
    assert_eq!(stored.level.number(), 3);
    assert_eq!((stored.name.as_str(), stored.description.as_str()), ("n", "d"));
    assert_eq!((stored.link_text.clone(), stored.link_reference.clone(), stored.context.clone()), (None, None, None));
    assert_eq!(stored.session, Some(s));
    assert_eq!(stored.time, t, "assigned by Sync Center at acceptance");
    let id2 = report(&mut fx, s, e).await.unwrap();
    assert_ne!(id2, id);
}

#[tokio::test]
async fn b45_only_error_events_count_as_errors() {
    let mut fx = ScFx::new(handler_spec("Handler H")).await;
    let s = fx.session("H", &["A"]).await;
    for level in [EventLevel::Error, EventLevel::Warning, EventLevel::Info] {
        report(&mut fx, s, ev(Some("A"), level, "e")).await.unwrap();
    }
    assert_eq!(fx.sc.error_count(&hid("H"), Some(&iid("A"))).await.unwrap(), 1);
    assert_eq!(fx.sc.error_count(&hid("H"), None).await.unwrap(), 1);
    assert_eq!(fx.sc.count_events(&all()).await.unwrap(), 3);
}

#[tokio::test]
async fn b46_link_text_reference_and_context_round_trip() {
    let mut fx = ScFx::new(handler_spec("Handler H")).await;
    let s = fx.session("H", &["A"]).await;
    let e = NewEvent {
        link_text: Some("Open log".into()),
        link_reference: Some("https://example.com/log".into()),
        context: Some("ctx".into()),
        ..ev(Some("A"), EventLevel::Warning, "n")
    };
    let id = report(&mut fx, s, e).await.unwrap();
    let stored = fx.sc.event(id).await.unwrap();
    assert_eq!(stored.link_text.as_deref(), Some("Open log"));
    assert_eq!(stored.link_reference.as_deref(), Some("https://example.com/log"));
    assert_eq!(stored.context.as_deref(), Some("ctx"));
}

#[tokio::test]
async fn b47_event_without_item_is_handler_level() {
    let mut fx = ScFx::new(handler_spec("Handler H")).await;
    let s = fx.session("H", &["A"]).await;
    let id = report(&mut fx, s, ev(None, EventLevel::Error, "h")).await.unwrap();
    let stored = fx.sc.event(id).await.unwrap();
    assert_eq!(stored.item, None);
    assert_eq!(stored.handler, hid("H"));
    let handler_level = EventFilter { handler: Some(hid("H")), handler_level_only: true, ..all() };
    assert_eq!(fx.sc.count_events(&handler_level).await.unwrap(), 1);
    assert_eq!(fx.sc.error_count(&hid("H"), None).await.unwrap(), 1);
    assert_eq!(fx.sc.error_count(&hid("H"), Some(&iid("A"))).await.unwrap(), 0);
}

#[tokio::test]
async fn b48_event_level_outside_1_to_3_is_invalidarg_and_nothing_is_stored() {
    let mut fx = ScFx::new(handler_spec("Handler H")).await;
    let s = fx.session("H", &["A"]).await;
    for n in [0, 4] {
        let before = fx.sc.center().state_fingerprint();
        let notices = fx.notices.lock().unwrap().len();
        let err = fx
            .sc
            .apply(|c| {
                let level = EventLevel::from_number(n)?;
                c.report_event(s, NewEvent { level: Some(level), ..ev(Some("A"), EventLevel::Info, "n") })
            })
            .await
            .unwrap_err();
        assert_eq!(err.hresult(), HResult::E_INVALIDARG);
        assert_eq!(fx.sc.center().state_fingerprint(), before);
        assert_eq!(fx.notices.lock().unwrap().len(), notices);
    }
    // Flags are `SYNCMGR_EF_NONE` only (§5.5).
    let err = report(&mut fx, s, NewEvent { flags: 1, ..ev(Some("A"), EventLevel::Info, "n") }).await.unwrap_err();
    assert_eq!(err.hresult().code, 0x8007_0057);
    assert_eq!(fx.sc.count_events(&all()).await.unwrap(), 0);
}

#[tokio::test]
async fn b49_paging_one_by_one_yields_exactly_the_count() {
    let mut fx = ScFx::new(handler_spec("Handler H")).await;
    let s = fx.session("H", &["A", "B"]).await;
    for (k, item) in [Some("A"), Some("B"), None, Some("A"), None].into_iter().enumerate() {
        if k % 2 == 0 {
            fx.clock.advance(Duration::from_millis(5));
        }
        report(&mut fx, s, ev(item, EventLevel::Info, &format!("e{k}"))).await.unwrap();
    }
    let count = fx.sc.count_events(&all()).await.unwrap();
    assert_eq!(count, 5);
    let mut seen = Vec::new();
    let mut after: Option<EventCursor> = None;
    loop {
        let page = fx.sc.events(&EventQuery { filter: all(), after, limit: 1 }).await.unwrap();
        match page.as_slice() {
            [] => break,
            [e] => {
                assert!(!seen.contains(&e.id), "an event came twice");
                seen.push(e.id);
                after = Some(EventCursor { time: e.time, id: e.id });
            }
            more => panic!("limit 1 returned {}", more.len()),
        }
    }
    assert_eq!(seen.len() as u64, count);
}

#[tokio::test]
async fn b50_remove_event_drops_count_and_error_count() {
    let mut fx = ScFx::new(handler_spec("Handler H")).await;
    let s = fx.session("H", &["A"]).await;
    let err_id = report(&mut fx, s, ev(Some("A"), EventLevel::Error, "bad")).await.unwrap();
    report(&mut fx, s, ev(Some("A"), EventLevel::Info, "fine")).await.unwrap();
    assert_eq!(fx.sc.count_events(&all()).await.unwrap(), 2);
    assert_eq!(fx.sc.error_count(&hid("H"), Some(&iid("A"))).await.unwrap(), 1);
    assert_eq!(fx.sc.remove_events(&[err_id]).await.unwrap(), 1);
    assert_eq!(fx.sc.count_events(&all()).await.unwrap(), 1);
    assert_eq!(fx.sc.event(err_id).await.unwrap_err().hresult(), HResult::E_INVALIDARG);
    assert_eq!(fx.sc.error_count(&hid("H"), Some(&iid("A"))).await.unwrap(), 0);
    assert_eq!(fx.sc.error_count(&hid("H"), None).await.unwrap(), 0);
    // Removing it again fails and removes nothing.
    assert_eq!(fx.sc.remove_events(&[err_id]).await.unwrap_err().hresult(), HResult::E_INVALIDARG);
    assert_eq!(fx.sc.count_events(&all()).await.unwrap(), 1);
}

#[tokio::test]
async fn b51_replace_on_sync_drops_previous_events_when_next_sync_starts() {
    let spec = HandlerSpec { retention: Some(EventRetention::ReplaceOnSync), ..handler_spec("Handler H") };
    let mut fx = ScFx::new(spec).await;
    fx.sc.apply(|c| c.register_handler(hid("K"), handler_spec("Keeper")).map(drop)).await.unwrap();
    fx.sc.apply(|c| c.register_item(&hid("K"), iid("X"), crate::support::item_spec("X")).map(drop)).await.unwrap();
    let s1 = fx.session("H", &["A"]).await;
    report(&mut fx, s1, ev(Some("A"), EventLevel::Error, "old")).await.unwrap();
    report(&mut fx, s1, ev(None, EventLevel::Warning, "old h")).await.unwrap();
    fx.sc.apply(|c| c.end_session(s1)).await.unwrap();
    let k = fx.session("K", &["X"]).await;
    report(&mut fx, k, ev(Some("X"), EventLevel::Info, "kept")).await.unwrap();
    let h_filter = EventFilter { handler: Some(hid("H")), ..all() };
    assert_eq!(fx.sc.count_events(&h_filter).await.unwrap(), 2, "still listed between syncs");
    fx.clock.advance(Duration::from_secs(1));
    let s2 = fx.session("H", &["A"]).await;
    assert_eq!(fx.sc.count_events(&h_filter).await.unwrap(), 0);
    assert_eq!(fx.sc.error_count(&hid("H"), None).await.unwrap(), 0);
    assert_eq!(fx.sc.count_events(&all()).await.unwrap(), 1, "other handlers keep theirs");
    let new = report(&mut fx, s2, ev(Some("A"), EventLevel::Info, "new")).await.unwrap();
    assert_eq!(fx.sc.count_events(&h_filter).await.unwrap(), 1);
    assert_eq!(fx.sc.event(new).await.unwrap().name, "new");
}

#[tokio::test]
async fn b51_keep_is_the_default_retention() {
    let mut fx = ScFx::new(handler_spec("Handler H")).await;
    let s1 = fx.session("H", &["A"]).await;
    report(&mut fx, s1, ev(Some("A"), EventLevel::Error, "old")).await.unwrap();
    fx.sc.apply(|c| c.end_session(s1)).await.unwrap();
    fx.clock.advance(Duration::from_secs(1));
    fx.session("H", &["A"]).await;
    assert_eq!(fx.sc.count_events(&all()).await.unwrap(), 1);
}

#[tokio::test]
async fn b52_event_is_listed_and_counted_when_the_call_returns() {
    // The nearest equivalent of `UpdateEvents(CF_WAIT)`: an acknowledged event is already in the store.
    let mut fx = ScFx::new(handler_spec("Handler H")).await;
    let s = fx.session("H", &["A"]).await;
    let id = report(&mut fx, s, ev(Some("A"), EventLevel::Error, "now")).await.unwrap();
    assert_eq!(fx.sc.count_events(&all()).await.unwrap(), 1);
    let page = fx.sc.events(&EventQuery { filter: all(), after: None, limit: 10 }).await.unwrap();
    assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), vec![id]);
    assert_eq!(fx.sc.error_count(&hid("H"), None).await.unwrap(), 1);
    // A store failure is reported (E_FAIL) and the event is written first by the next call, never lost.
    fx.sc.store().set_failing(true);
    let err = report(&mut fx, s, ev(Some("A"), EventLevel::Error, "late")).await.unwrap_err();
    assert_eq!(err.hresult(), HResult::E_FAIL);
    fx.sc.store().set_failing(false);
    fx.sc.flush().await.unwrap();
    assert_eq!(fx.sc.error_count(&hid("H"), None).await.unwrap(), 2);
}

#[tokio::test]
async fn b71_handler_declaring_its_own_store_still_uses_sync_centers() {
    let spec = HandlerSpec { capabilities: Some(HandlerCapabilities::EVENT_STORE), ..handler_spec("Handler H") };
    let mut fx = ScFx::new(spec).await;
    let s = fx.session("H", &["A"]).await;
    let id = report(&mut fx, s, ev(Some("A"), EventLevel::Error, "own")).await.unwrap();
    assert_eq!(fx.sc.event(id).await.unwrap().handler, hid("H"));
    assert_eq!(fx.sc.error_count(&hid("H"), Some(&iid("A"))).await.unwrap(), 1);
    assert_eq!(fx.sc.center().handler(&hid("H")).unwrap().capabilities, HandlerCapabilities::EVENT_STORE);
}
