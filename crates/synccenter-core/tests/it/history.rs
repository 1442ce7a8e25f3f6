//! `SyncCenter`'s reads and clean-ups over the store: error counts stay per handler (§5.30), clearing says how
//! many events it removed, and ended sessions are in the history.

use synccenter_core::{EventFilter, SessionQuery};

use crate::support::{ScFx, error_event, handler_spec, hid, iid, item_spec};

/// `ScFx` with a second handler "H2" (item "X") and one error event in a session of each handler.
async fn two_handlers() -> ScFx {
    let mut fx = ScFx::new(handler_spec("Handler H")).await;
    fx.sc
        .apply(|c| {
            c.register_handler(hid("H2"), handler_spec("Handler H2"))?;
            c.register_item(&hid("H2"), iid("X"), item_spec("Item X")).map(|_| ())
        })
        .await
        .expect("H2");
    for (h, item) in [("H", "A"), ("H2", "X")] {
        let s = fx.session(h, &[item]).await;
        fx.sc.apply(|c| c.report_event(s, error_event(Some(item)))).await.expect("event");
        fx.sc.apply(|c| c.end_session(s)).await.expect("end");
    }
    fx
}

#[tokio::test]
async fn a_handlers_error_count_is_its_own() {
    let mut fx = two_handlers().await;
    let s = fx.session("H", &["B"]).await;
    fx.sc.apply(|c| c.report_event(s, error_event(None))).await.unwrap();
    assert_eq!(fx.sc.error_count(&hid("H"), None).await.unwrap(), 2);
    assert_eq!(fx.sc.error_count(&hid("H2"), None).await.unwrap(), 1);
    assert_eq!(fx.sc.error_count(&hid("H2"), Some(&iid("X"))).await.unwrap(), 1);
}

#[tokio::test]
async fn clearing_events_says_how_many_went() {
    let mut fx = two_handlers().await;
    let total = fx.sc.count_events(&EventFilter::default()).await.unwrap();
    assert!(total >= 2, "two errors and the sessions' own events: {total}");
    let h2 = EventFilter { handler: Some(hid("H2")), ..EventFilter::default() };
    let of_h2 = fx.sc.count_events(&h2).await.unwrap();
    assert_eq!(fx.sc.clear_events(&h2).await.unwrap(), of_h2);
    assert_eq!(fx.sc.clear_events(&h2).await.unwrap(), 0, "nothing left to clear");
    assert_eq!(fx.sc.clear_events(&EventFilter::default()).await.unwrap(), total - of_h2);
}

#[tokio::test]
async fn ended_sessions_are_in_the_history() {
    let fx = two_handlers().await;
    let all = fx.sc.session_history(&SessionQuery { handler: None, started_before: None, limit: 10 }).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|r| r.ended.is_some()));
    let mine = SessionQuery { handler: Some(hid("H2")), started_before: None, limit: 10 };
    let h2 = fx.sc.session_history(&mine).await.unwrap();
    assert_eq!(h2.iter().map(|r| r.handler.to_string()).collect::<Vec<_>>(), ["H2"]);
}
