//! Session bounds and endings beyond behaviours 36–43: the per-session item cap counts distinct items, a
//! context is taken only from its own handler's requests (§5.14), and a shutdown ends every live session.

use std::time::Duration;

use synccenter_core::{
    Center, CenterConfig, Change, Context, EndReason, HResult, HandlerCapabilities, HandlerSpec, IgnoreNotices,
    ManualClock, ProgressStatus, SequentialIds, SyncControlFlags, Timestamp,
};

use crate::support::{Fx, OWNER, T0, assert_refused, handler_spec, hid, ids, iid, item_spec};

#[test]
fn a_session_holds_at_most_the_configured_number_of_distinct_items() {
    let config = CenterConfig { max_items_per_session: 2, ..CenterConfig::default() };
    let mut c =
        Center::new(config, Box::new(ManualClock::new(T0)), Box::new(SequentialIds::new(1)), Box::new(IgnoreNotices));
    let spec = HandlerSpec {
        capabilities: Some(HandlerCapabilities::SUPPORTS_CONCURRENT_SESSIONS),
        ..handler_spec("Handler H")
    };
    c.register_handler(hid("H"), spec).unwrap();
    for i in ["A", "B", "C"] {
        c.register_item(&hid("H"), iid(i), item_spec(i)).unwrap();
    }
    c.create_session(OWNER, &hid("H"), &ids(&["A", "B"])).expect("exactly the cap");
    c.create_session(OWNER, &hid("H"), &ids(&["A", "B", "A"])).expect("a repeated ID counts once");
    let err = c.create_session(OWNER, &hid("H"), &ids(&["A", "B", "C"])).expect_err("over the cap");
    assert_eq!(err.hresult(), HResult::E_OUTOFMEMORY);
}

#[test]
fn a_context_is_taken_only_from_the_sessions_own_handler() {
    let mut fx = Fx::new();
    fx.add_handler("H2", handler_spec("Handler H2"), &["X"]);
    let ctx = Context("open this".into());
    fx.c.start_items(&hid("H2"), &[iid("X")], SyncControlFlags::empty(), Some(ctx.clone())).unwrap();
    fx.c.start_items(&hid("H"), &[iid("B")], SyncControlFlags::empty(), None).unwrap();
    let s = fx.session(&["A"]);
    let err = assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.add_context(s, Some(ctx.clone())));
    assert!(matches!(err, synccenter_core::CoreError::ContextNotPending), "{err}");

    let s2 = fx.c.create_session(OWNER, &hid("H2"), &[iid("X")]).unwrap();
    fx.c.add_context(s2, Some(ctx)).expect("H2's own session takes it");
}

#[test]
fn a_shutdown_ends_every_live_session_with_its_reason() {
    let mut fx = Fx::new();
    fx.add_handler("H2", handler_spec("Handler H2"), &["X"]);
    let s1 = fx.session(&["A"]);
    let s2 = fx.c.create_session(OWNER, &hid("H2"), &[iid("X")]).unwrap();
    let mut ended: Vec<_> =
        fx.c.end_all_sessions(EndReason::Shutdown).into_iter().map(|s| (s.session, s.reason)).collect();
    ended.sort_by_key(|(s, _)| *s);
    let mut want = vec![(s1, EndReason::Shutdown), (s2, EndReason::Shutdown)];
    want.sort_by_key(|(s, _)| *s);
    assert_eq!(ended, want);
    assert_eq!(fx.c.live_session_count(), 0);
}

fn finish(fx: &mut Fx, outcomes: &[(&str, ProgressStatus)]) {
    let items: Vec<&str> = outcomes.iter().map(|(i, _)| *i).collect();
    let s = fx.session(&items);
    for (i, status) in outcomes {
        fx.c.report_progress(s, &iid(i), *status, None, 0, 0).unwrap();
    }
    fx.c.end_session(s).unwrap();
}

fn recorded(fx: &Fx, item: &str) -> Option<Timestamp> {
    fx.c.item(&fx.h(), &iid(item)).unwrap().last_sync_recorded
}

#[test]
fn last_sync_is_recorded_for_succeeded_items_and_the_handler_takes_the_latest() {
    use ProgressStatus::{Failed, Succeeded};
    let mut fx = Fx::new();
    let t1 = fx.c.now();
    finish(&mut fx, &[("A", Succeeded), ("B", Failed)]);
    assert_eq!((recorded(&fx, "A"), recorded(&fx, "B")), (Some(t1), None));
    assert_eq!(fx.c.handler(&fx.h()).unwrap().last_sync_recorded, Some(t1));

    fx.clock.advance(Duration::from_secs(60));
    let t2 = fx.c.now();
    finish(&mut fx, &[("B", Succeeded)]);
    assert_eq!((recorded(&fx, "A"), recorded(&fx, "B")), (Some(t1), Some(t2)));
    assert_eq!(fx.c.handler(&fx.h()).unwrap().last_sync_recorded, Some(t2));

    fx.clock.advance(Duration::from_secs(60));
    fx.c.take_changes();
    finish(&mut fx, &[("C", Failed)]);
    assert_eq!(fx.c.handler(&fx.h()).unwrap().last_sync_recorded, Some(t2), "nothing newer succeeded");
    let saved =
        fx.c.take_changes()
            .into_iter()
            .filter(|c| matches!(c, Change::HandlerSaved(_) | Change::ItemSaved(..)))
            .count();
    assert_eq!(saved, 0, "an unchanged last-sync time is not saved again");
}

#[test]
fn exactly_the_configured_number_of_ended_sessions_is_remembered() {
    let config = CenterConfig { ended_session_memory: 2, ..CenterConfig::default() };
    let mut c =
        Center::new(config, Box::new(ManualClock::new(T0)), Box::new(SequentialIds::new(1)), Box::new(IgnoreNotices));
    c.register_handler(hid("H"), handler_spec("Handler H")).unwrap();
    c.register_item(&hid("H"), iid("A"), item_spec("A")).unwrap();
    let ended: Vec<_> = (0..3)
        .map(|_| {
            let s = c.create_session(OWNER, &hid("H"), &[iid("A")]).unwrap();
            c.end_session(s).unwrap();
            s
        })
        .collect();
    let late = |c: &mut Center, s| {
        c.report_progress(s, &iid("A"), ProgressStatus::Updating, None, 0, 0).expect_err("ended").hresult()
    };
    assert_eq!(late(&mut c, ended[0]), HResult::E_INVALIDARG, "forgotten");
    assert_eq!(late(&mut c, ended[1]), HResult::E_UNEXPECTED, "remembered");
    assert_eq!(late(&mut c, ended[2]), HResult::E_UNEXPECTED, "remembered");
}
