//! Pause and resume (issue 5): a paused handler starts nothing and accepts no session, its live sessions are
//! asked to stop and its waiting requests dropped; the pause ends when resumed or when its time passes.

use std::time::Duration;

use synccenter_core::{
    CancelRequest, Change, HResult, HandlerCapabilities, HandlerPolicies, HandlerSpec, Notice, OwnerId,
    SyncControlFlags, Timestamp,
};

use crate::support::{Fx, assert_refused, handler_spec, ids};

#[test]
fn a_paused_handler_starts_nothing_and_accepts_no_session() {
    let mut fx = Fx::new();
    fx.c.pause(Some(&fx.h()), None).unwrap();
    let changes = fx.c.take_changes();
    assert!(matches!(&changes[..], [Change::HandlerSaved(h)] if h.pause.is_some()), "{changes:?}");
    let h = fx.h();
    assert_refused(&mut fx, HResult::ERROR_NOT_READY, |c| c.start_handler(&h, SyncControlFlags::empty(), None));
    assert_refused(&mut fx, HResult::ERROR_NOT_READY, |c| c.create_session(OwnerId(1), &h, &ids(&["A"])));
    assert!(fx.c.start_all().is_empty(), "start_all skips a paused handler");
    fx.c.resume(Some(&h)).unwrap();
    assert!(fx.c.handler(&h).unwrap().pause.is_none());
    assert!(fx.c.start_handler(&h, SyncControlFlags::empty(), None).is_ok());
}

#[test]
fn pausing_stops_live_sessions_and_drops_waiting_requests() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    let queued = fx.c.start_items(&fx.h(), &ids(&["B"]), SyncControlFlags::empty(), None).unwrap();
    fx.take_notices();
    fx.c.pause(None, None).unwrap();
    let notices = fx.take_notices();
    assert!(notices.iter().any(
        |n| matches!(n, Notice::CancelRequested { session, cancel: CancelRequest::CancelAll, .. } if *session == s)
    ));
    assert!(
        notices.iter().any(|n| matches!(n, Notice::RequestFinished { request, result, .. }
            if *request == queued && result.status == synccenter_core::ProgressStatus::Canceled)),
        "{notices:?}"
    );
    assert!(fx.c.query_additional_items(s).unwrap().is_empty());
}

#[test]
fn a_stop_forbidden_by_policy_lets_running_sessions_finish() {
    let mut fx = Fx::with_handler(HandlerSpec {
        policies: Some(HandlerPolicies::PREVENT_STOP_SYNC),
        ..handler_spec("Handler H")
    });
    let s = fx.session(&["A"]);
    fx.c.pause(Some(&fx.h()), None).unwrap();
    assert!(fx.c.can_continue(s, None).unwrap(), "the session is not asked to stop");
    assert!(fx.c.handler(&fx.h()).unwrap().pause.is_some(), "but nothing new starts");
}

#[test]
fn a_pause_with_an_end_ends_by_itself_and_one_in_the_past_is_refused() {
    let mut fx = Fx::new();
    let now = fx.c.now();
    let until = Timestamp::from_micros(now.as_micros() + 60_000_000);
    fx.c.pause(Some(&fx.h()), Some(until)).unwrap();
    assert_eq!(fx.c.next_deadline(), Some(until));
    fx.clock.advance(Duration::from_secs(59));
    fx.c.tick();
    assert!(fx.c.handler(&fx.h()).unwrap().pause.is_some());
    fx.clock.advance(Duration::from_secs(1));
    fx.c.tick();
    assert!(fx.c.handler(&fx.h()).unwrap().pause.is_none(), "the pause ended at its time");
    let h = fx.h();
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.pause(Some(&h), Some(now)));
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| {
        c.pause(Some(&synccenter_core::HandlerId::new("nope").unwrap()), None)
    });
}

#[test]
fn a_pause_holds_a_suspendable_session_still_instead_of_stopping_it() {
    let mut fx = Fx::with_handler(HandlerSpec {
        capabilities: Some(HandlerCapabilities::SUPPORTS_CONCURRENT_SESSIONS),
        ..handler_spec("Handler H")
    });
    let held = fx.session(&["A"]);
    fx.c.set_suspendable(held).unwrap();
    let stopped = fx.session(&["B"]);
    fx.take_notices();
    fx.c.pause(Some(&fx.h()), None).unwrap();
    let notices = fx.take_notices();
    let cancelled = |s| notices.iter().any(|n| matches!(n, Notice::CancelRequested { session, .. } if *session == s));
    assert!(!cancelled(held) && cancelled(stopped), "{notices:?}");
    assert!(fx.c.can_continue(held, None).unwrap(), "the suspendable session is not asked to stop");
    assert!(!fx.c.can_continue(stopped, None).unwrap());
    fx.c.resume(Some(&fx.h())).unwrap();
    assert!(fx.c.can_continue(held, None).unwrap());
    let gone = synccenter_core::SessionId::parse("00000000-0000-0000-0000-000000000007").unwrap();
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.set_suspendable(gone));
}
