//! Cancellation: behaviours 13–23 (`StopItemSync`, `StopHandlerSync`, `StopSyncAll`, `CanContinue`, sticky
//! requests and their precedence, `PREVENT_STOP_SYNC`).

use synccenter_core::{CancelRequest, HResult, HandlerPolicies, Notice, ProgressStatus, SyncControlFlags};

use crate::support::{Fx, OWNER, assert_refused, handler_spec, hid, ids, iid};

use ProgressStatus::{Canceled, Updating};

#[test]
fn b13_stop_item_cancels_only_that_item() {
    let mut fx = Fx::new();
    let s = fx.session(&["A", "B"]);
    fx.c.stop_items(&fx.h(), &ids(&["A"])).unwrap();
    let pushed = fx.take_notices();
    assert_eq!(
        pushed,
        vec![Notice::CancelRequested {
            session: s,
            owner: OWNER,
            item: Some(iid("A")),
            cancel: CancelRequest::CancelItem
        }]
    );
    let cr_a = fx.c.report_progress(s, &iid("A"), Updating, None, 1, 10).unwrap();
    let cr_b = fx.c.report_progress(s, &iid("B"), Updating, None, 1, 10).unwrap();
    assert_eq!(cr_a, CancelRequest::CancelItem);
    assert_eq!(cr_a.number(), 1);
    assert_eq!(cr_b, CancelRequest::None);
}

#[test]
fn b14_can_continue_after_item_stop() {
    let mut fx = Fx::new();
    let s = fx.session(&["A", "B"]);
    fx.c.stop_items(&fx.h(), &ids(&["A"])).unwrap();
    assert!(!fx.c.can_continue(s, Some(&iid("A"))).unwrap(), "S_FALSE for A");
    assert!(fx.c.can_continue(s, Some(&iid("B"))).unwrap(), "S_OK for B");
    assert!(fx.c.can_continue(s, None).unwrap(), "S_OK for \"\": an item stop is not a handler stop");
}

#[test]
fn b15_handler_stop_cancels_all_and_can_continue_is_false_everywhere() {
    let mut fx = Fx::new();
    let s = fx.session(&["A", "B"]);
    fx.c.stop_handler(&fx.h()).unwrap();
    assert_eq!(
        fx.take_notices(),
        vec![Notice::CancelRequested { session: s, owner: OWNER, item: None, cancel: CancelRequest::CancelAll }]
    );
    for i in ["A", "B"] {
        let cr = fx.c.report_progress(s, &iid(i), Updating, None, 1, 10).unwrap();
        assert_eq!(cr, CancelRequest::CancelAll);
        assert_eq!(cr.number(), 2);
        assert!(!fx.c.can_continue(s, Some(&iid(i))).unwrap());
    }
    // NULL and "" are both `None`.
    assert!(!fx.c.can_continue(s, None).unwrap());
}

#[test]
fn b16_stop_sync_all_cancels_sessions_of_every_handler() {
    let mut fx = Fx::new();
    fx.add_handler("H2", handler_spec("Handler H2"), &["X"]);
    let s1 = fx.session(&["A"]);
    let s2 = fx.c.create_session(OWNER, &hid("H2"), &ids(&["X"])).unwrap();
    fx.c.stop_all();
    let pushed = fx.take_notices();
    assert_eq!(pushed.len(), 2, "{pushed:?}");
    assert_eq!(fx.c.report_progress(s1, &iid("A"), Updating, None, 1, 2).unwrap(), CancelRequest::CancelAll);
    assert_eq!(fx.c.report_progress(s2, &iid("X"), Updating, None, 1, 2).unwrap(), CancelRequest::CancelAll);
}

#[test]
fn b17_without_stop_can_continue_is_true() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    assert!(fx.c.can_continue(s, Some(&iid("A"))).unwrap());
    assert!(fx.c.can_continue(s, None).unwrap());
}

#[test]
fn b18_can_continue_for_unknown_or_foreign_item_is_invalidarg() {
    let mut fx = Fx::new();
    fx.add_handler("H2", handler_spec("Handler H2"), &["X"]);
    fx.c.take_changes();
    let s = fx.session(&["A"]);
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.can_continue(s, Some(&iid("no-such-item"))));
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.can_continue(s, Some(&iid("X"))));
}

#[test]
fn b19_canceled_item_can_be_restarted() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    fx.c.stop_items(&fx.h(), &ids(&["A"])).unwrap();
    let cr = fx.c.report_progress(s, &iid("A"), Canceled, Some(""), 0, 0).unwrap();
    assert_eq!(cr, CancelRequest::CancelItem);
    assert_eq!(fx.progress(s, "A").status, Some(Canceled));
    fx.take_notices();
    // Accepted while S is live (§5.12): queued, dispatched when S ends.
    let r = fx.c.start_items(&fx.h(), &ids(&["A"]), SyncControlFlags::empty(), None).unwrap();
    assert_eq!(fx.c.requests().iter().find(|v| v.id == r).unwrap().pending, ids(&["A"]));
    assert!(fx.take_notices().is_empty(), "queued behind the live session");
    let summary = fx.c.end_session(s).unwrap();
    assert_eq!(summary.status, Canceled);
    let after = fx.take_notices();
    assert!(
        after.iter().any(|n| matches!(n, Notice::SyncRequested { request, items, .. }
            if *request == r && *items == ids(&["A"]))),
        "{after:?}"
    );
}

#[test]
fn b20_stop_requests_are_sticky() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    fx.c.stop_items(&fx.h(), &ids(&["A"])).unwrap();
    for step in 1..=2 {
        assert_eq!(fx.c.report_progress(s, &iid("A"), Updating, None, step, 10).unwrap(), CancelRequest::CancelItem);
    }
}

#[test]
fn b21_cancel_all_takes_precedence_over_cancel_item() {
    let mut fx = Fx::new();
    let s = fx.session(&["A", "B"]);
    fx.c.stop_items(&fx.h(), &ids(&["A"])).unwrap();
    fx.c.stop_handler(&fx.h()).unwrap();
    assert_eq!(fx.c.report_progress(s, &iid("A"), Updating, None, 1, 2).unwrap(), CancelRequest::CancelAll);
    // And in the other order.
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    fx.c.stop_handler(&fx.h()).unwrap();
    fx.c.stop_items(&fx.h(), &ids(&["A"])).unwrap();
    assert_eq!(fx.c.report_progress(s, &iid("A"), Updating, None, 1, 2).unwrap(), CancelRequest::CancelAll);
}

#[test]
fn b22_handler_progress_text_reports_handler_stop() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    fx.c.stop_items(&fx.h(), &ids(&["A"])).unwrap();
    assert_eq!(
        fx.c.set_handler_progress_text(s, Some("t")).unwrap(),
        CancelRequest::None,
        "item stops are not reported"
    );
    fx.c.stop_handler(&fx.h()).unwrap();
    assert_eq!(fx.c.set_handler_progress_text(s, Some("t")).unwrap(), CancelRequest::CancelAll);
}

#[test]
fn b23_prevent_stop_sync_refuses_stop_and_records_nothing() {
    let spec = synccenter_core::HandlerSpec {
        policies: Some(HandlerPolicies::PREVENT_STOP_SYNC),
        ..handler_spec("Handler H")
    };
    let mut fx = Fx::with_handler(spec);
    let s = fx.session(&["A"]);
    let h = fx.h();
    assert_refused(&mut fx, HResult::E_ACCESSDENIED, |c| c.stop_handler(&h));
    assert_refused(&mut fx, HResult::E_ACCESSDENIED, |c| c.stop_items(&h, &ids(&["A"])));
    assert_eq!(fx.c.report_progress(s, &iid("A"), Updating, None, 1, 2).unwrap(), CancelRequest::None);
    assert!(fx.c.can_continue(s, None).unwrap());
    // StopSyncAll skips the handler as well.
    fx.c.stop_all();
    assert_eq!(fx.c.report_progress(s, &iid("A"), Updating, None, 2, 2).unwrap(), CancelRequest::None);
}
