//! What the model shows and how it finds things: IDs are compared case-sensitively (§5.7), a session that
//! never existed is not one that ended, the session summary counts every error, what a viewer draws for an
//! item (§5.5, §5.9), proposals, and the model's own accessors.

use std::time::Duration;

use synccenter_core::{
    Center, CenterConfig, ControlFlags, EventLevel, HResult, IgnoreNotices, ItemSpec, ManualClock, NewEvent,
    ProgressStatus, SequentialIds, SessionId, SyncControlFlags,
};

use crate::support::{Fx, OWNER, T0, assert_refused, error_event, hid, iid, sync_requests};

#[test]
fn ids_differing_only_by_case_name_nothing_registered() {
    let mut fx = Fx::new();
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.handler(&hid("h")).cloned());
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.item(&hid("H"), &iid("a")).cloned());
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| {
        c.start_items(&hid("H"), &[iid("a")], SyncControlFlags::empty(), None)
    });
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| {
        c.enable_handler(&hid("h"), false, ControlFlags::empty(), &mut synccenter_core::AlwaysConfirm)
    });
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.pause(Some(&hid("h")), None));
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.set_hidden(&hid("h"), None, true));
}

#[test]
fn a_session_that_never_existed_is_invalidarg_not_unexpected() {
    let mut fx = Fx::new();
    let never = SessionId(uuid::Uuid::from_u128(42));
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| {
        c.report_progress(never, &iid("A"), ProgressStatus::Updating, None, 0, 0)
    });
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.end_session(never));
}

#[test]
fn the_summary_counts_handler_and_item_errors_together() {
    let mut fx = Fx::new();
    let s = fx.session(&["A", "B"]);
    fx.c.report_event(s, error_event(None)).unwrap();
    fx.c.report_event(s, error_event(Some("A"))).unwrap();
    fx.c.report_event(s, error_event(Some("B"))).unwrap();
    fx.c.report_event(s, NewEvent { level: Some(EventLevel::Warning), ..error_event(Some("B")) }).unwrap();
    let summary = fx.c.end_session(s).unwrap();
    assert_eq!(summary.errors, 3);

    let s = fx.session(&["A"]);
    fx.c.report_event(s, error_event(None)).unwrap();
    fx.c.report_event(s, error_event(Some("A"))).unwrap();
    assert_eq!(fx.c.end_session(s).unwrap().errors, 2);
}

#[test]
fn an_updating_item_without_steps_is_drawn_as_a_marquee() {
    let mut fx = Fx::new();
    let s = fx.session(&["A", "B"]);
    fx.c.report_progress(s, &iid("A"), ProgressStatus::Updating, None, 0, 0).unwrap();
    fx.c.report_progress(s, &iid("B"), ProgressStatus::Updating, None, 2, 5).unwrap();
    let a = fx.c.item_display(&fx.h(), &iid("A")).unwrap().expect("syncing");
    assert!(a.indeterminate);
    assert_eq!(a.steps, None);
    let b = fx.c.item_display(&fx.h(), &iid("B")).unwrap().expect("syncing");
    assert!(!b.indeterminate);
    assert_eq!(b.steps, Some((2, 5)));
}

#[test]
fn every_live_session_is_listed() {
    let mut fx = Fx::new();
    fx.add_handler("H2", crate::support::handler_spec("Handler H2"), &["X"]);
    assert!(fx.c.sessions().is_empty());
    let s1 = fx.session(&["A"]);
    let s2 = fx.c.create_session(OWNER, &hid("H2"), &[iid("X")]).unwrap();
    let mut listed: Vec<SessionId> = fx.c.sessions().into_iter().map(|v| v.id).collect();
    listed.sort();
    let mut want = vec![s1, s2];
    want.sort();
    assert_eq!(listed, want);
    fx.c.end_session(s1).unwrap();
    assert_eq!(fx.c.sessions().into_iter().map(|v| v.id).collect::<Vec<_>>(), [s2]);
}

#[test]
fn an_item_that_finished_in_a_live_session_is_synchronized_again_when_asked() {
    let mut fx = Fx::new();
    let s = fx.session(&["A", "B"]);
    fx.c.report_progress(s, &iid("A"), ProgressStatus::Succeeded, None, 0, 0).unwrap();
    fx.c.start_items(&fx.h(), &[iid("A"), iid("B")], SyncControlFlags::IGNORE_IF_ALREADY_SYNCING, None).unwrap();
    fx.take_notices();
    fx.c.end_session(s).unwrap();
    let asked = sync_requests(&fx.take_notices());
    assert_eq!(asked, [("H".to_owned(), vec!["A".to_owned()])], "B was still syncing and was served; A was done");
}

#[test]
fn a_session_may_hold_several_proposals_and_registration_beside_them_works() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    let spec = |name: &str| ItemSpec { name: Some(name.into()), ..ItemSpec::default() };
    fx.c.propose_item(s, iid("N1"), spec("New 1")).expect("first proposal");
    fx.c.propose_item(s, iid("N2"), spec("New 2")).expect("a second, different proposal");
    fx.c.register_item(&fx.h(), iid("D"), spec("Item D")).expect("registering another ID");
    let h = fx.h();
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.register_item(&h, iid("n1"), spec("clash")));
}

#[test]
fn the_model_reports_its_configuration_changes_and_state() {
    let config = CenterConfig { handoff_timeout: Duration::from_secs(7), ..CenterConfig::default() };
    let mut c =
        Center::new(config, Box::new(ManualClock::new(T0)), Box::new(SequentialIds::new(1)), Box::new(IgnoreNotices));
    assert_eq!(c.config().handoff_timeout, Duration::from_secs(7));
    assert_eq!(c.now(), T0);
    assert!(!c.has_changes());
    let empty = c.state_fingerprint();
    assert_eq!(format!("{c:?}"), "Center { handlers: 0, live_sessions: 0, requests: 0, conflicts: 0, .. }");

    c.register_handler(hid("H"), crate::support::handler_spec("Handler H")).unwrap();
    assert!(c.has_changes());
    assert_ne!(c.state_fingerprint(), empty);
    assert!(c.state_fingerprint().contains("Handler H"));
    c.take_changes();
    assert!(!c.has_changes());
    assert!(format!("{c:?}").contains("handlers: 1"));
}
